//! Password hashing with argon2id. Verification of an unknown user runs against a fixed hash so that it
//! takes as long as a wrong password.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

pub fn hash(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// Checks `password` against `stored`, or against a dummy hash when there is no user, in equal time.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let hash_text = stored.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(hash_text) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && stored.is_some()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password-for-timing").unwrap_or_default())
}

/// Computes the dummy hash ahead of the first login.
pub fn warm_up() {
    dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("wrong password", Some(&h)));
        assert!(!verify("not-a-real-password-for-timing", None));
    }
}
