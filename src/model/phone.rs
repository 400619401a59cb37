//! Phone numbers: parsed and validated with libphonenumber's metadata (the `phonenumber` crate)
//! and written in E.164 (`+442079460958`), so one number typed two ways (`+44 20 7946 0958`,
//! `(020) 7946 0958` in the UK) is one value, and a lead identified by it is one lead.

use phonenumber::{Mode, country};

/// Characters a typed number may hold; checked before the parser sees the text, which keeps
/// letters, `tel:` URIs and extensions (`ext. 12`) out of identities.
fn plausible(raw: &str) -> bool {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    raw.chars().count() <= 40
        && raw.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && (5..=20).contains(&digits)
}

/// A region code as forms store it (`defaultRegion`): ISO 3166 alpha-2, upper case, one that
/// libphonenumber knows.
pub fn region(code: &str) -> Result<country::Id, String> {
    let code = code.trim();
    let known = code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase());
    known
        .then(|| code.parse::<country::Id>().ok())
        .flatten()
        .ok_or_else(|| format!("{code:?} is not a region code like \"US\" or \"GB\" (ISO 3166 alpha-2)"))
}

/// The number in E.164, or why it isn't a number. Without `default_region` it must start with
/// `+` and its country code.
pub fn normalise(raw: &str, default_region: Option<&str>) -> Result<String, String> {
    let raw = raw.trim();
    if !plausible(raw) {
        return Err("is not a valid phone number".into());
    }
    // A stored region that no longer parses is treated as none: the number then needs its `+`.
    let region = default_region.and_then(|r| region(r).ok());
    if region.is_none() && !raw.starts_with('+') {
        return Err("is not a valid phone number: start it with + and the country code, e.g. +44 20 7946 0958".into());
    }
    match phonenumber::parse(region, raw) {
        Ok(number) if number.is_valid() => Ok(number.format().mode(Mode::E164).to_string()),
        _ => Err(match default_region.filter(|_| region.is_some() && !raw.starts_with('+')) {
            Some(r) => format!("is not a valid phone number in {r}"),
            None => "is not a valid phone number".into(),
        }),
    }
}

/// For numbers that only need to look like one (PHONE fields that don't identify the lead):
/// E.164 when the number is understood, otherwise the text as typed, as before.
pub fn normalise_if_possible(raw: &str, default_region: Option<&str>) -> String {
    normalise(raw, default_region).unwrap_or_else(|_| raw.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_typed_two_ways_is_one_value() {
        assert_eq!(normalise("+44 20 7946 0958", None).as_deref(), Ok("+442079460958"));
        assert_eq!(normalise("(020) 7946 0958", Some("GB")).as_deref(), Ok("+442079460958"));
        assert_eq!(normalise("+44 20 7946 0958", Some("US")).as_deref(), Ok("+442079460958"));
        assert_eq!(normalise("(201) 555-0123", Some("US")).as_deref(), Ok("+12015550123"));
    }

    #[test]
    fn bad_numbers_say_why() {
        assert!(normalise("020 7946 0958", None).unwrap_err().contains("start it with +"));
        assert_eq!(normalise("+44 20 7946", None), Err("is not a valid phone number".into()));
        assert_eq!(normalise("12", Some("GB")), Err("is not a valid phone number".into()));
        assert_eq!(normalise("0000 000000", Some("GB")), Err("is not a valid phone number in GB".into()));
        assert_eq!(normalise("call me", Some("GB")), Err("is not a valid phone number".into()));
        assert_eq!(normalise_if_possible(" 555-0100 ", None), "555-0100");
    }

    #[test]
    fn regions_are_iso_codes() {
        assert!(region("GB").is_ok());
        assert!(region("gb").is_err());
        assert!(region("XX").is_err());
        assert!(region("GBR").is_err());
    }
}
