//! CONDITION rules: `all`/`any` of `{field, operator, value}` over the execution's data
//! (`lead.*`, `lead.custom.*`, `trigger.*`, `workspace.*`, `steps.<key>.*`).

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Contains,
    In,
    Exists,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub field: String,
    pub operator: Operator,
    #[serde(default)]
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    #[default]
    All,
    Any,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default, rename = "match")]
    pub mode: Match,
    pub rules: Vec<Rule>,
}

impl Condition {
    pub fn parse(v: &Value) -> Result<Condition, String> {
        let c: Condition = serde_json::from_value(v.clone()).map_err(|e| format!("invalid condition: {e}"))?;
        if c.rules.is_empty() {
            return Err("needs at least one rule".into());
        }
        for r in &c.rules {
            if r.field.trim().is_empty() {
                return Err("every rule needs a field".into());
            }
            if r.operator == Operator::In && !r.value.is_array() {
                return Err(format!("rule on `{}`: `in` needs a list value", r.field));
            }
        }
        Ok(c)
    }

    pub fn evaluate(&self, data: &Value) -> bool {
        let mut results = self.rules.iter().map(|r| r.evaluate(data));
        match self.mode {
            Match::All => results.all(|b| b),
            Match::Any => results.any(|b| b),
        }
    }
}

/// Looks up a dotted path; list items by index.
pub fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |cur, part| match cur {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Numbers compare as numbers, and so do numeric strings (a SELECT option "5000").
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Rule {
    pub fn evaluate(&self, data: &Value) -> bool {
        let actual = lookup(data, &self.field).filter(|v| !v.is_null());
        let Some(actual) = actual else { return false };
        let cmp = |f: fn(f64, f64) -> bool| match (as_number(actual), as_number(&self.value)) {
            (Some(a), Some(b)) => f(a, b),
            _ => match (actual.as_str(), self.value.as_str()) {
                (Some(a), Some(b)) => f(a.cmp(b) as i32 as f64, 0.0),
                _ => false,
            },
        };
        match self.operator {
            Operator::Exists => true,
            Operator::Eq => equal(actual, &self.value),
            Operator::Neq => !equal(actual, &self.value),
            Operator::Gt => cmp(|a, b| a > b),
            Operator::Gte => cmp(|a, b| a >= b),
            Operator::Lt => cmp(|a, b| a < b),
            Operator::Lte => cmp(|a, b| a <= b),
            Operator::Contains => match (actual, &self.value) {
                (Value::String(s), Value::String(needle)) => s.to_lowercase().contains(&needle.to_lowercase()),
                (Value::Array(items), v) => items.iter().any(|i| equal(i, v)),
                _ => false,
            },
            Operator::In => self.value.as_array().is_some_and(|items| items.iter().any(|i| equal(actual, i))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operators() {
        let data = json!({"lead": {"status": "NEW", "custom": {"budget": "5000", "tags": ["a", "b"]}}});
        let check = |field: &str, op: &str, value: Value| {
            Condition::parse(&json!({"rules": [{"field": field, "operator": op, "value": value}]}))
                .expect("test input is valid")
                .evaluate(&data)
        };
        assert!(check("lead.custom.budget", "gte", json!(5000)));
        assert!(!check("lead.custom.budget", "gt", json!(5000)));
        assert!(check("lead.custom.budget", "lt", json!(10000)));
        assert!(check("lead.status", "eq", json!("NEW")));
        assert!(check("lead.status", "neq", json!("WON")));
        assert!(check("lead.status", "in", json!(["NEW", "WON"])));
        assert!(check("lead.custom.tags", "contains", json!("b")));
        assert!(check("lead.custom.budget", "exists", Value::Null));
        assert!(!check("lead.custom.missing", "exists", Value::Null));
        let any = Condition::parse(&json!({"match": "any", "rules": [
            {"field": "lead.status", "operator": "eq", "value": "WON"},
            {"field": "lead.status", "operator": "eq", "value": "NEW"}]}))
        .expect("test input is valid");
        assert!(any.evaluate(&data));
        assert!(Condition::parse(&json!({"rules": []})).is_err());
    }
}
