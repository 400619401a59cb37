//! Secrets at rest: values we must read back in clear (webhook signing secrets, integration
//! credentials) are sealed with AES-256-GCM under a key named by an id, so a key can be rotated
//! while rows sealed under the old one stay readable until they are re-sealed.
//!
//! The keyring comes from `INTAKEFLOW_SECRET_KEY` (`id:base64-of-32-bytes`, comma-separated; the
//! first key seals, all of them open). Without it, a key file in the data dir is used, created
//! with mode 0600 on first start. Each sealed value is bound to where it is stored (its
//! `context`, e.g. `webhook_endpoints.secret:<uuid>`) as associated data, so a ciphertext copied
//! into another row does not open.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Bytes of the nonce stored in front of each ciphertext.
const NONCE_BYTES: usize = 12;
/// The key file's name in the data dir.
pub const KEY_FILE: &str = "secret.key";

/// A value sealed under the key `key_id`: the nonce followed by the ciphertext and its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("no key with id `{0}` is configured (INTAKEFLOW_SECRET_KEY)")]
    UnknownKey(String),
    #[error("the sealed value does not open: wrong key, wrong place or tampered")]
    Corrupt,
    #[error("INTAKEFLOW_SECRET_KEY: {0}")]
    BadSpec(String),
}

/// Where the keyring came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    ExistingFile(std::path::PathBuf),
    CreatedFile(std::path::PathBuf),
}

pub struct Keyring {
    /// The first key seals; every key opens.
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `id:base64,id:base64,...` (the first key is the one that seals).
    pub fn parse(spec: &str) -> Result<Keyring, SecretError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, encoded) = entry
                .split_once(':')
                .ok_or_else(|| SecretError::BadSpec("each key is written `id:base64-of-32-bytes`".into()))?;
            let id = id.trim();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(SecretError::BadSpec(format!("key id `{id}` must be letters, digits, - or _")));
            }
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| SecretError::BadSpec(format!("key `{id}` is not base64")))?;
            if bytes.len() != 32 {
                return Err(SecretError::BadSpec(format!("key `{id}` is {} bytes; AES-256 needs 32", bytes.len())));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(SecretError::BadSpec(format!("key id `{id}` appears twice")));
            }
            keys.push((id.to_owned(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes))));
        }
        if keys.is_empty() {
            return Err(SecretError::BadSpec("no key given".into()));
        }
        Ok(Keyring { keys })
    }

    /// A new random key written as a one-key spec, with the id `id`.
    pub fn generate_spec(id: &str) -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        format!("{id}:{}", STANDARD.encode(key))
    }

    /// The keyring from `INTAKEFLOW_SECRET_KEY` when given, else from the key file in `data_dir`,
    /// created (mode 0600) when missing. Two processes starting at once agree on one file: the
    /// file is written under a temporary name and linked into place only if none exists.
    pub fn load(env_spec: Option<&str>, data_dir: &Path) -> anyhow::Result<(Keyring, KeySource)> {
        if let Some(spec) = env_spec.filter(|s| !s.trim().is_empty()) {
            return Ok((Keyring::parse(spec)?, KeySource::Environment));
        }
        let path = data_dir.join(KEY_FILE);
        if let Ok(spec) = std::fs::read_to_string(&path) {
            return Ok((Keyring::parse(&spec)?, KeySource::ExistingFile(path)));
        }
        std::fs::create_dir_all(data_dir)?;
        let temp = data_dir.join(format!(".{KEY_FILE}.{}.{}", std::process::id(), uuid::Uuid::new_v4()));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
            writeln!(file, "{}", Keyring::generate_spec("k1"))?;
            file.sync_all()?;
        }
        let linked = std::fs::hard_link(&temp, &path);
        let _ = std::fs::remove_file(&temp);
        let spec = std::fs::read_to_string(&path)?;
        let source = match linked {
            Ok(()) => KeySource::CreatedFile(path),
            Err(_) => KeySource::ExistingFile(path),
        };
        Ok((Keyring::parse(&spec)?, source))
    }

    /// One random key for this process, shared by every caller: what tests and tools that don't
    /// read configuration get. Nothing sealed with it outlives the process usefully.
    pub fn ephemeral() -> Arc<Keyring> {
        static EPHEMERAL: OnceLock<Arc<Keyring>> = OnceLock::new();
        EPHEMERAL
            .get_or_init(|| {
                let spec = Keyring::generate_spec("ephemeral");
                Arc::new(Keyring::parse(&spec).expect("a generated spec parses"))
            })
            .clone()
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let (id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(OsRng);
        // Encryption fails only for inputs over 64 GiB, which nothing here produces.
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("AES-GCM encrypts any input under 64 GiB");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        Sealed { key_id: id.clone(), bytes }
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SecretError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| SecretError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.bytes.len() < NONCE_BYTES {
            return Err(SecretError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_BYTES);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| SecretError::Corrupt)
    }

    /// Opens a value that must be UTF-8 text.
    pub fn open_text(&self, sealed: &Sealed, context: &str) -> Result<String, SecretError> {
        String::from_utf8(self.open(sealed, context)?).map_err(|_| SecretError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_in_its_context() {
        let ring = Keyring::parse(&Keyring::generate_spec("a")).expect("spec");
        let sealed = ring.seal(b"hunter2", "t.c:1");
        assert_eq!(sealed.key_id, "a");
        assert!(!sealed.bytes.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(ring.open(&sealed, "t.c:1").expect("opens"), b"hunter2");
        assert_eq!(ring.open(&sealed, "t.c:2"), Err(SecretError::Corrupt));
        let mut tampered = sealed.clone();
        let last = tampered.bytes.len() - 1;
        tampered.bytes[last] ^= 1;
        assert_eq!(ring.open(&tampered, "t.c:1"), Err(SecretError::Corrupt));
    }

    #[test]
    fn old_keys_open_and_the_first_seals() {
        let old = Keyring::generate_spec("old");
        let sealed = Keyring::parse(&old).expect("spec").seal(b"x", "c");
        let rotated = Keyring::parse(&format!("{},{old}", Keyring::generate_spec("new"))).expect("spec");
        assert_eq!(rotated.current_id(), "new");
        assert_eq!(rotated.open(&sealed, "c").expect("old key opens"), b"x");
        assert_eq!(rotated.seal(b"x", "c").key_id, "new");
        let without_old = Keyring::parse(&Keyring::generate_spec("new")).expect("spec");
        assert_eq!(without_old.open(&sealed, "c"), Err(SecretError::UnknownKey("old".into())));
    }

    #[test]
    fn bad_specs_say_why() {
        for (spec, says) in [
            ("", "no key"),
            ("k1", "id:base64"),
            ("k1:!!", "not base64"),
            ("k1:AAAA", "32"),
            ("bad id:AAAA", "letters"),
        ] {
            let Err(SecretError::BadSpec(message)) = Keyring::parse(spec) else { panic!("{spec} parsed") };
            assert!(message.contains(says), "{spec}: {message}");
        }
        let k = Keyring::generate_spec("k");
        assert!(Keyring::parse(&format!("{k},{k}")).is_err());
    }

    #[test]
    fn creates_a_private_key_file_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("intakeflow-keys-{}", uuid::Uuid::new_v4()));
        let (first, source) = Keyring::load(None, &dir).expect("created");
        assert!(matches!(source, KeySource::CreatedFile(_)));
        let mode = std::fs::metadata(dir.join(KEY_FILE)).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (second, source) = Keyring::load(None, &dir).expect("read");
        assert!(matches!(source, KeySource::ExistingFile(_)));
        let sealed = first.seal(b"same key", "c");
        assert_eq!(second.open(&sealed, "c").expect("same key"), b"same key");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
