//! Form field definitions and the values submitted for them: what a field may declare
//! (options, min/max, lengths, pattern) and whether a value satisfies it.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::error::FieldError;
use crate::model::enums::FieldType;
use crate::model::phone;

/// The rules a field declares, as stored in `form_fields.validation`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub min: Option<String>,
    pub max: Option<String>,
    pub min_length: Option<i32>,
    pub max_length: Option<i32>,
    pub pattern: Option<String>,
}

const TEXT_DEFAULT_MAX: usize = 1_000;
const TEXTAREA_DEFAULT_MAX: usize = 10_000;

impl Rules {
    pub fn to_json(&self, ty: FieldType) -> Value {
        let mut obj = serde_json::Map::new();
        let bound = |raw: &String| match ty {
            FieldType::Number => raw.parse::<f64>().map(|n| json!(n)).unwrap_or(Value::Null),
            _ => Value::String(raw.clone()),
        };
        if let Some(v) = &self.min {
            obj.insert("min".into(), bound(v));
        }
        if let Some(v) = &self.max {
            obj.insert("max".into(), bound(v));
        }
        if let Some(v) = self.min_length {
            obj.insert("minLength".into(), json!(v));
        }
        if let Some(v) = self.max_length {
            obj.insert("maxLength".into(), json!(v));
        }
        if let Some(v) = &self.pattern {
            obj.insert("pattern".into(), json!(v));
        }
        Value::Object(obj)
    }

    pub fn from_json(v: &Value) -> Rules {
        let text = |k: &str| match v.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Rules {
            min: text("min"),
            max: text("max"),
            min_length: v.get("minLength").and_then(Value::as_i64).map(|n| n as i32),
            max_length: v.get("maxLength").and_then(Value::as_i64).map(|n| n as i32),
            pattern: v.get("pattern").and_then(Value::as_str).map(str::to_owned),
        }
    }
}

fn is_texty(ty: FieldType) -> bool {
    matches!(ty, FieldType::Text | FieldType::Textarea | FieldType::Email | FieldType::Phone | FieldType::Url)
}

/// Checks a field definition; every problem is reported under `validation.*` or `options`.
pub fn check_definition(ty: FieldType, options: &[String], rules: &Rules) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, msg: String| problems.push(FieldError::new(field, msg));
    let choice = matches!(ty, FieldType::Select | FieldType::Multiselect);
    if choice && options.is_empty() {
        bad("options", format!("a {ty} field needs at least one option"));
    }
    if !choice && !options.is_empty() {
        bad("options", format!("only SELECT and MULTISELECT fields take options, not {ty}"));
    }
    let mut seen = std::collections::HashSet::new();
    for o in options {
        if o.trim().is_empty() {
            bad("options", "options must not be blank".into());
        } else if !seen.insert(o) {
            bad("options", format!("option {o:?} appears twice"));
        }
    }
    match ty {
        FieldType::Number => {
            let parse = |k: &str, v: &Option<String>| -> Result<Option<f64>, FieldError> {
                v.as_ref()
                    .map(|s| s.parse::<f64>().map_err(|_| FieldError::new(k, "must be a number for a NUMBER field")))
                    .transpose()
            };
            match (parse("validation.min", &rules.min), parse("validation.max", &rules.max)) {
                (Ok(Some(min)), Ok(Some(max))) if min > max => {
                    bad("validation.min", "must not be greater than max".into())
                }
                (a, b) => {
                    for e in [a.err(), b.err()].into_iter().flatten() {
                        problems_push(&mut bad, e);
                    }
                }
            }
        }
        FieldType::Date => {
            let parse = |k: &str, v: &Option<String>| -> Result<Option<NaiveDate>, FieldError> {
                v.as_ref()
                    .map(|s| {
                        NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .map_err(|_| FieldError::new(k, "must be a date like 2026-01-31"))
                    })
                    .transpose()
            };
            match (parse("validation.min", &rules.min), parse("validation.max", &rules.max)) {
                (Ok(Some(min)), Ok(Some(max))) if min > max => bad("validation.min", "must not be after max".into()),
                (a, b) => {
                    for e in [a.err(), b.err()].into_iter().flatten() {
                        problems_push(&mut bad, e);
                    }
                }
            }
        }
        _ => {
            if rules.min.is_some() {
                bad("validation.min", format!("min applies to NUMBER and DATE fields, not {ty}"));
            }
            if rules.max.is_some() {
                bad("validation.max", format!("max applies to NUMBER and DATE fields, not {ty}"));
            }
        }
    }
    let lengths = rules.min_length.is_some() || rules.max_length.is_some();
    if lengths && !is_texty(ty) {
        bad("validation.minLength", format!("length rules apply to text fields, not {ty}"));
    }
    for (k, v) in [("validation.minLength", rules.min_length), ("validation.maxLength", rules.max_length)] {
        if v.is_some_and(|n| n < 0) {
            bad(k, "must not be negative".into());
        }
    }
    if let (Some(min), Some(max)) = (rules.min_length, rules.max_length)
        && min > max
    {
        bad("validation.minLength", "must not be greater than maxLength".into());
    }
    if let Some(p) = &rules.pattern {
        if !is_texty(ty) {
            bad("validation.pattern", format!("patterns apply to text fields, not {ty}"));
        } else if let Err(e) = regex::Regex::new(&format!("^(?:{p})$")) {
            bad("validation.pattern", format!("is not a valid regular expression: {e}"));
        }
    }
    problems
}

fn problems_push(bad: &mut impl FnMut(&str, String), e: FieldError) {
    bad(&e.field, e.message);
}

/// A field as the validator needs it.
pub struct FieldSpec<'a> {
    pub key: &'a str,
    pub ty: FieldType,
    pub required: bool,
    pub options: Vec<String>,
    pub rules: Rules,
    /// The field that identifies the lead: a PHONE value must then be a real number.
    pub identifies_lead: bool,
    /// The form's `defaultRegion`, for phone numbers written without a country code.
    pub default_region: Option<&'a str>,
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Checks one submitted value; returns the normalised value to store, `None` for an absent
/// optional value, or what is wrong.
pub fn check_value(spec: &FieldSpec<'_>, value: Option<&Value>) -> Result<Option<Value>, String> {
    let value = match value {
        Some(v) if !is_blank(v) => v,
        _ if spec.required => return Err("is required".into()),
        _ => return Ok(None),
    };
    let text = || value.as_str().map(str::trim).ok_or_else(|| "must be a string".to_owned());
    let rules = &spec.rules;
    let check_length = |s: &str, default_max: usize| -> Result<(), String> {
        let len = s.chars().count();
        let max = rules.max_length.map(|n| n as usize).unwrap_or(default_max);
        if let Some(min) = rules.min_length.filter(|m| len < *m as usize) {
            return Err(format!("must be at least {min} characters"));
        }
        if len > max {
            return Err(format!("must be at most {max} characters"));
        }
        if let Some(p) = &rules.pattern {
            let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|_| "has an invalid pattern".to_owned())?;
            if !re.is_match(s) {
                return Err(format!("does not match the pattern {p}"));
            }
        }
        Ok(())
    };
    let normalised = match spec.ty {
        FieldType::Text | FieldType::Textarea => {
            let s = text()?;
            check_length(s, if spec.ty == FieldType::Text { TEXT_DEFAULT_MAX } else { TEXTAREA_DEFAULT_MAX })?;
            json!(s)
        }
        FieldType::Email => {
            let s = crate::model::validate::email(spec.key, text()?).map_err(|e| e.message)?;
            check_length(&s, 320)?;
            json!(s)
        }
        FieldType::Phone => {
            let s = text()?;
            check_length(s, 40)?;
            if spec.identifies_lead {
                // The lead is found by this value: it must be a number, written one way.
                json!(phone::normalise(s, spec.default_region)?)
            } else {
                let digits = s.chars().filter(char::is_ascii_digit).count();
                let allowed = s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
                if !allowed || !(5..=20).contains(&digits) {
                    return Err("is not a valid phone number".into());
                }
                // Stored in E.164 when understood, so the lead's phone matches the same number
                // typed into a form that identifies by phone; anything else is kept as typed.
                json!(phone::normalise_if_possible(s, spec.default_region))
            }
        }
        FieldType::Url => {
            let s = text()?;
            match url::Url::parse(s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => return Err("is not a valid http(s) URL".into()),
            }
            check_length(s, 2_000)?;
            json!(s)
        }
        FieldType::Number => {
            let n = value.as_f64().filter(|n| n.is_finite()).ok_or("must be a number")?;
            if let Some(min) = rules.min.as_ref().and_then(|m| m.parse::<f64>().ok()).filter(|m| n < *m) {
                return Err(format!("must be at least {min}"));
            }
            if let Some(max) = rules.max.as_ref().and_then(|m| m.parse::<f64>().ok()).filter(|m| n > *m) {
                return Err(format!("must be at most {max}"));
            }
            value.clone()
        }
        FieldType::Date => {
            let s = text()?;
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "must be a date like 2026-01-31")?;
            let bound = |b: &Option<String>| b.as_ref().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
            if let Some(min) = bound(&rules.min).filter(|m| d < *m) {
                return Err(format!("must be on or after {min}"));
            }
            if let Some(max) = bound(&rules.max).filter(|m| d > *m) {
                return Err(format!("must be on or before {max}"));
            }
            json!(d.to_string())
        }
        FieldType::Select => {
            let s = text()?;
            if !spec.options.iter().any(|o| o == s) {
                return Err(format!("must be one of: {}", spec.options.join(", ")));
            }
            json!(s)
        }
        FieldType::Multiselect => {
            let items = value.as_array().ok_or("must be a list of options")?;
            let mut chosen: Vec<&str> = Vec::new();
            for item in items {
                let s = item.as_str().ok_or("must be a list of strings")?;
                if !spec.options.iter().any(|o| o == s) {
                    return Err(format!("{s:?} is not one of: {}", spec.options.join(", ")));
                }
                if chosen.contains(&s) {
                    return Err(format!("{s:?} is chosen twice"));
                }
                chosen.push(s);
            }
            json!(chosen)
        }
        FieldType::Checkbox => {
            let b = value.as_bool().ok_or("must be true or false")?;
            if spec.required && !b {
                return Err("must be checked".into());
            }
            json!(b)
        }
    };
    Ok(Some(normalised))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ty: FieldType) -> FieldSpec<'static> {
        FieldSpec {
            key: "f",
            ty,
            required: false,
            options: vec!["a".into(), "b".into()],
            rules: Rules::default(),
            identifies_lead: false,
            default_region: None,
        }
    }

    #[test]
    fn definitions_are_checked() {
        let bad_pattern = Rules { pattern: Some("(".into()), ..Rules::default() };
        assert_eq!(check_definition(FieldType::Text, &[], &bad_pattern)[0].field, "validation.pattern");
        let inverted = Rules { min: Some("5".into()), max: Some("1".into()), ..Rules::default() };
        assert_eq!(check_definition(FieldType::Number, &[], &inverted)[0].field, "validation.min");
        assert!(!check_definition(FieldType::Select, &[], &Rules::default()).is_empty());
        assert!(
            check_definition(FieldType::Date, &[], &Rules { min: Some("2026-01-01".into()), ..Rules::default() })
                .is_empty()
        );
    }

    #[test]
    fn values_are_checked_by_type() {
        assert_eq!(
            check_value(&spec(FieldType::Number), Some(&json!(3))).expect("test input is valid"),
            Some(json!(3))
        );
        assert!(check_value(&spec(FieldType::Number), Some(&json!("3"))).is_err());
        assert!(check_value(&spec(FieldType::Select), Some(&json!("c"))).is_err());
        assert!(check_value(&spec(FieldType::Multiselect), Some(&json!(["a", "a"]))).is_err());
        assert!(check_value(&spec(FieldType::Date), Some(&json!("2026-02-30"))).is_err());
        assert!(check_value(&spec(FieldType::Url), Some(&json!("ftp://x.io"))).is_err());
        assert!(check_value(&spec(FieldType::Phone), Some(&json!("+1 (555) 010-9999"))).is_ok());
        let phone = |spec: &FieldSpec<'_>, v: &str| check_value(spec, Some(&json!(v)));
        assert_eq!(phone(&spec(FieldType::Phone), "+44 20 7946 0958"), Ok(Some(json!("+442079460958"))));
        assert_eq!(phone(&spec(FieldType::Phone), "020 7946 0958"), Ok(Some(json!("020 7946 0958"))));
        let identifying = FieldSpec { identifies_lead: true, default_region: Some("GB"), ..spec(FieldType::Phone) };
        assert_eq!(phone(&identifying, "(020) 7946 0958"), Ok(Some(json!("+442079460958"))));
        assert!(phone(&identifying, "0000 000000").is_err());
        assert_eq!(check_value(&spec(FieldType::Text), Some(&json!("  "))).expect("test input is valid"), None);
        let required = FieldSpec { required: true, ..spec(FieldType::Checkbox) };
        assert!(check_value(&required, Some(&json!(false))).is_err());
        assert!(check_value(&required, None).is_err());
    }
}
