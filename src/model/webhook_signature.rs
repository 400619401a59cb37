//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): secrets are `whsec_` and
//! base64 bytes; a signature is `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. During a
//! secret rotation a delivery carries one signature per live secret, space-separated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret.
const SECRET_BYTES: usize = 32;
/// What the spec allows a secret's key to be.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A new `whsec_…` secret.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_…` secret (base64 of 24 to 64 bytes), or `None` if it isn't one.
pub fn secret_bytes(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok().filter(|b| KEY_BYTES.contains(&b.len()))
}

fn mac(key: &[u8], message_id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in [message_id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
        mac.update(part);
    }
    mac
}

/// `v1,<base64>` for one secret's key bytes.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(key, message_id, &timestamp.to_string(), body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(digest))
}

/// Whether any `v1,` entry of a `webhook-signature` header signs this message with `key`
/// (compared in constant time). The timestamp is checked for freshness by the caller.
pub fn verify(key: &[u8], message_id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let expected = mac(key, message_id, timestamp, body);
    header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .any(|sig| expected.clone().verify_slice(&sig).is_ok())
}

/// The `webhook-signature` header value: one signature per key, space-separated.
pub fn signature_header(keys: &[Vec<u8>], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter().map(|k| sign(k, message_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's published test vector.
    #[test]
    fn matches_the_specification_example() {
        let key = secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let header = "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(verify(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, header));
        assert!(!verify(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265331", body, header));
    }

    #[test]
    fn secrets_round_trip() {
        let secret = generate_secret();
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(secret_bytes(&secret).map(|b| b.len()), Some(SECRET_BYTES));
        assert_eq!(secret_bytes("nope"), None);
    }
}
