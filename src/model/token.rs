//! Opaque bearer tokens. A token is a kind prefix plus 256 random bits; only its SHA-256 digest is
//! stored, so a database leak yields no usable credential. (A slow hash is unnecessary here:
//! unlike passwords, the tokens have full entropy.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_PREFIX: &str = "ifs_";
pub const API_KEY_PREFIX: &str = "ifk_";
pub const WEBHOOK_PREFIX: &str = "ifw_";
pub const INVITATION_PREFIX: &str = "ifi_";

pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh token with the given kind prefix, and its digest for storage.
pub fn generate(prefix: &str) -> (String, Vec<u8>) {
    let token = format!("{prefix}{}", random_secret());
    let digest = digest(&token);
    (token, digest)
}

pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// What a listing may show of a key: its kind prefix and first characters.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(API_KEY_PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_digest_is_stable() {
        let (a, da) = generate(SESSION_PREFIX);
        let (b, _) = generate(SESSION_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_PREFIX));
        assert_eq!(digest(&a), da);
        assert_eq!(da.len(), 32);
        assert_eq!(display_prefix("ifk_abcdefghijk"), "ifk_abcdef");
    }
}
