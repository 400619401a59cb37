//! Argon2id password hashing. Hashing is CPU-heavy by design, so it runs on the blocking pool
//! instead of stalling the async workers.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

/// Whether `password` matches `stored` (a PHC string). A malformed stored hash never matches.
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(Into::into)
}

/// A valid hash of a random password: verifying unknown accounts against it costs the same time
/// as a real check, so response times don't reveal which addresses have accounts.
pub async fn decoy_hash() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_init(|| async { hash(crate::auth::token::random_secret()).await.unwrap_or_default() }).await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let a = super::hash("correct horse battery".into()).await.expect("test input is valid");
        let b = super::hash("correct horse battery".into()).await.expect("test input is valid");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(super::verify("correct horse battery".into(), a.clone()).await.expect("test input is valid"));
        assert!(!super::verify("wrong".into(), a).await.expect("test input is valid"));
        assert!(!super::verify("x".into(), "not a hash".into()).await.expect("test input is valid"));
    }
}
