//! The password policy: long enough (see [`validate::password`]) and not one of the passwords
//! attackers try first. The list ships inside the binary (`common_passwords.txt`), so the check
//! needs no network and no configuration.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::error::FieldError;
use crate::model::validate;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
    })
}

/// Checks a new password; the error names `field`.
pub fn check(field: &str, raw: &str) -> Result<(), FieldError> {
    validate::password(field, raw)?;
    // The list is lower case; "Password123" is as guessable as "password123".
    if common().contains(raw.trim().to_lowercase().as_str()) {
        return Err(FieldError::new(field, "is too common: it appears on lists of passwords attackers try first"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_short_and_common_passwords_in_any_case() {
        assert!(check("p", "short").is_err());
        assert!(check("p", "password123").is_err());
        assert!(check("p", "PassWord123").is_err());
        assert!(check("p", "qwertyuiop").is_err());
        assert!(check("p", "correct horse battery").is_ok());
        assert!(common().len() > 500, "the list loaded: {}", common().len());
        assert!(common().iter().all(|p| p.chars().count() >= validate::PASSWORD_MIN_LENGTH));
    }
}
