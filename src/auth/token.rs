//! Opaque bearer tokens, as authentication sees them: the scheme itself (prefix + 256 random bits,
//! stored only as a SHA-256 digest) is shared vocabulary in [`crate::model::token`], so the engine
//! can issue tokens (portal links) without importing this layer.

pub use crate::model::token::*;
