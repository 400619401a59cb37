//! Verifying the signatures of inbound events: the Standard Webhooks scheme (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64>`) and Stripe's (`Stripe-Signature:
//! t=...,v1=<hex>`). Both are HMAC-SHA256 over the timestamp and the exact body bytes, with a
//! five-minute tolerance on the timestamp so a captured request can't be replayed later.
//! Comparisons are constant-time (`Mac::verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::integrations::standard_secret_bytes;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from our clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// Why a request's signature was not accepted. The messages are safe to show the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// A header the scheme needs is absent or unreadable.
    MissingHeader(&'static str),
    /// The signed timestamp is not a number of seconds.
    BadTimestamp,
    /// The timestamp is more than [`TOLERANCE_SECS`] from now: a replay, or a wrong clock.
    Stale,
    /// No signature matches.
    Mismatch,
}

impl SignatureError {
    pub fn message(&self) -> String {
        match self {
            SignatureError::MissingHeader(h) => format!("the `{h}` header is missing"),
            SignatureError::BadTimestamp => "the signed timestamp is not a number of seconds".into(),
            SignatureError::Stale => {
                format!("the signed timestamp is more than {TOLERANCE_SECS} seconds from now (a replay?)")
            }
            SignatureError::Mismatch => "no signature matches this body".into(),
        }
    }
}

fn timestamp_within_tolerance(timestamp: &str, now: i64) -> Result<i64, SignatureError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(ts)
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Standard Webhooks: `secret` is `whsec_<base64>`; `signatures` is the `webhook-signature`
/// header, space-separated `v1,<base64>` entries (any one matching is enough, so a sender can
/// rotate its secret with two signatures).
pub fn verify_standard(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let key = standard_secret_bytes(secret).ok_or(SignatureError::Mismatch)?;
    timestamp_within_tolerance(timestamp, now)?;
    if crate::model::webhook_signature::verify(&key, id, timestamp.trim(), body, signatures) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Stripe: `header` is `Stripe-Signature` (`t=<secs>,v1=<hex>[,v1=...][,v0=...]`); the key is
/// the whole `whsec_...` string, as Stripe uses it; only `v1` signatures count.
pub fn verify_stripe(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::BadTimestamp)?;
    timestamp_within_tolerance(timestamp, now)?;
    let expected = mac(secret.as_bytes(), &[timestamp.as_bytes(), b".", body]);
    let matched = signatures
        .into_iter()
        .filter_map(|sig| hex::decode(sig).ok())
        .any(|sig| expected.clone().verify_slice(&sig).is_ok());
    if matched { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    fn secret() -> String {
        format!("whsec_{}", STANDARD.encode([7u8; 32]))
    }

    fn sign_standard(secret: &str, id: &str, ts: i64, body: &[u8]) -> String {
        let key = standard_secret_bytes(secret).expect("valid secret");
        let sig = mac(&key, &[id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body]).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(sig))
    }

    #[test]
    fn standard_webhooks_accepts_any_matching_v1_and_refuses_the_rest() {
        let (s, now, body) = (secret(), 1_700_000_000, br#"{"type":"x"}"#.as_slice());
        let good = sign_standard(&s, "msg_1", now, body);
        let header = format!("v1,AAAA {good} v2,zzz");
        assert_eq!(verify_standard(&s, "msg_1", &now.to_string(), &header, body, now), Ok(()));
        assert_eq!(verify_standard(&s, "msg_2", &now.to_string(), &good, body, now), Err(SignatureError::Mismatch));
        assert_eq!(verify_standard(&s, "msg_1", &now.to_string(), &good, b"{}", now), Err(SignatureError::Mismatch));
        let stale = now + TOLERANCE_SECS + 1;
        assert_eq!(verify_standard(&s, "msg_1", &now.to_string(), &good, body, stale), Err(SignatureError::Stale));
        assert_eq!(verify_standard(&s, "msg_1", "soon", &good, body, now), Err(SignatureError::BadTimestamp));
    }

    #[test]
    fn stripe_scheme() {
        let (s, now, body) = ("whsec_test", 1_700_000_000i64, br#"{"id":"evt_1"}"#.as_slice());
        let sig = hex::encode(mac(s.as_bytes(), &[now.to_string().as_bytes(), b".", body]).finalize().into_bytes());
        let header = format!("t={now},v1=deadbeef,v1={sig},v0=abc");
        assert_eq!(verify_stripe(s, &header, body, now), Ok(()));
        assert_eq!(verify_stripe("whsec_other", &header, body, now), Err(SignatureError::Mismatch));
        assert_eq!(verify_stripe(s, &header, body, now + 301), Err(SignatureError::Stale));
        assert_eq!(verify_stripe(s, &format!("v1={sig}"), body, now), Err(SignatureError::BadTimestamp));
    }
}
