//! Input checks shared by the domain services. Each returns the normalised value or a
//! [`FieldError`] naming the offending field.

use crate::error::FieldError;

pub fn email(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim().to_lowercase();
    let valid = value.len() <= 320
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
                && value.matches('@').count() == 1
        });
    if valid { Ok(value) } else { Err(FieldError::new(field, "is not a valid email address")) }
}

pub fn name(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        Err(FieldError::new(field, "must not be blank"))
    } else if value.chars().count() > max {
        Err(FieldError::new(field, format!("must be at most {max} characters")))
    } else {
        Ok(value.to_owned())
    }
}

/// URL-safe identifiers: lower-case letters, digits and inner hyphens, 1-63 characters.
pub fn slug(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    let ok_chars = value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok_shape = !value.is_empty() && value.len() <= 63 && !value.starts_with('-') && !value.ends_with('-');
    if ok_chars && ok_shape {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(field, "must be 1-63 lower-case letters, digits or inner hyphens (like `acme-law`)"))
    }
}

/// An IANA time zone name like `Europe/London`.
pub fn time_zone(field: &str, raw: &str) -> Result<chrono_tz::Tz, FieldError> {
    raw.trim().parse().map_err(|_| FieldError::new(field, "must be an IANA time zone like `Europe/London`"))
}

/// Length limits of a password (counted in characters).
pub const PASSWORD_MIN_LENGTH: usize = 10;
pub const PASSWORD_MAX_LENGTH: usize = 256;

pub fn password(field: &str, raw: &str) -> Result<(), FieldError> {
    let len = raw.chars().count();
    if len < PASSWORD_MIN_LENGTH {
        Err(FieldError::new(field, format!("must be at least {} characters", PASSWORD_MIN_LENGTH)))
    } else if len > PASSWORD_MAX_LENGTH {
        Err(FieldError::new(field, format!("must be at most {} characters", PASSWORD_MAX_LENGTH)))
    } else {
        Ok(())
    }
}

/// Whether `given` lists exactly the ids of `current`, each once, in any order (a reorder's
/// input).
pub fn same_ids(current: &[uuid::Uuid], given: &[uuid::Uuid]) -> bool {
    let (mut a, mut b) = (current.to_vec(), given.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Collects field errors so every problem in an input is reported at once.
#[derive(Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn into_result(self) -> Result<(), crate::error::AppError> {
        if self.0.is_empty() { Ok(()) } else { Err(crate::error::AppError::BadUserInput(self.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("e", "  Ada@Example.COM ").expect("test input is valid"), "ada@example.com");
        for bad in ["", "ada", "ada@", "@x.io", "a@b", "a b@x.io", "a@@x.io", "a@x."] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("s", "acme-law").expect("test input is valid"), "acme-law");
        for bad in ["", "-a", "a-", "Acme", "a_b", &"a".repeat(64)] {
            assert!(slug("s", bad).is_err(), "{bad}");
        }
    }
}
