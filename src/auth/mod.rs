//! Credentials: password hashing, bearer tokens, and the principal a request acts as.

pub mod password;
pub mod policy;
pub mod principal;
pub mod token;

pub use principal::{Principal, authenticate};
