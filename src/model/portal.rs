//! The client portal's shared vocabulary: its token prefix, where its links point and how long
//! they may live. Used by the domain (`createPortalLink`) and by the engine (SEND_PORTAL_LINK).

use crate::error::FieldError;

/// The kind prefix of portal tokens (`crate::model::token`'s scheme: prefix + 256 random bits).
pub const TOKEN_PREFIX: &str = "ifp_";
/// Where a portal link points in the web app at `INTAKEFLOW_PUBLIC_URL`; its page reads the
/// portal with `portal(token)`.
pub const PATH: &str = "/portal";
pub const DEFAULT_EXPIRES_IN_DAYS: i32 = 30;
pub const MAX_EXPIRES_IN_DAYS: i32 = 365;

/// The link a client opens: `{public_url}/portal?token=…` (the token is URL-safe base64).
pub fn portal_url(public_url: &str, token: &str) -> String {
    format!("{}{PATH}?token={token}", public_url.trim_end_matches('/'))
}

/// Checks a link's lifetime in days (1 to 365); the problem is named on `field`.
pub fn check_expires_in_days(field: &str, days: i32) -> Result<i32, FieldError> {
    if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(FieldError::new(field, format!("must be between 1 and {MAX_EXPIRES_IN_DAYS} days")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_lifetimes() {
        assert_eq!(portal_url("https://app.example.com/", "ifp_abc"), "https://app.example.com/portal?token=ifp_abc");
        assert!(check_expires_in_days("expiresInDays", 1).is_ok());
        assert!(check_expires_in_days("expiresInDays", 365).is_ok());
        for bad in [0, -1, 366] {
            assert_eq!(check_expires_in_days("expiresInDays", bad).map_err(|e| e.field), Err("expiresInDays".into()));
        }
    }
}
