//! Protecting identity document numbers at rest: authenticated encryption for the stored number,
//! and a keyed hash that lets the service find records of the same person without decrypting
//! anything.
//!
//! Stored format: `v1:` followed by standard base64 (with padding, no line breaks) of
//! `nonce (12 bytes) || ciphertext || tag (16 bytes)`, produced by AES-256-GCM under the data key
//! with the fixed associated data [`ASSOCIATED_DATA`]. The version prefix leaves room to change
//! algorithm or key later while old rows still decrypt.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

const VERSION_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Associated data bound into every ciphertext, so that a blob encrypted under the same key for
/// some other purpose (or a future format version) fails authentication instead of being accepted
/// as an identity number.
pub const ASSOCIATED_DATA: &[u8] = b"anzu-identity-v1";

/// Label for deriving the lookup key; changing it changes every lookup hash.
const LOOKUP_KEY_LABEL: &[u8] = b"anzu identity lookup key v1";

/// Why a stored identity ciphertext could not be decrypted. Messages describe the failure only,
/// never any content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("stored identity ciphertext has a missing or unsupported version prefix")]
    UnsupportedVersion,
    #[error("stored identity ciphertext is not valid base64")]
    Encoding,
    #[error("stored identity ciphertext is too short to hold a nonce and an authentication tag")]
    TooShort,
    #[error("stored identity ciphertext failed authentication: wrong key or tampered data")]
    Authentication,
    #[error("decrypted identity data is not valid UTF-8")]
    Utf8,
}

/// Encrypts identity numbers for storage and computes their lookup hashes.
///
/// Cloning is cheap enough to share one per worker; it holds the expanded AES key and the derived
/// lookup key.
#[derive(Clone)]
pub struct IdentityCipher {
    aead: Aes256Gcm,
    lookup_key: [u8; 32],
}

impl IdentityCipher {
    pub fn new(data_key: &[u8; 32]) -> Self {
        // A separate key for the hash means a leak of lookup hashes, or a weakness in how they are
        // used, says nothing about the encryption key, and the two uses cannot interfere.
        let lookup_key = hmac_sha256(data_key, &[LOOKUP_KEY_LABEL]);
        IdentityCipher {
            aead: Aes256Gcm::new(&(*data_key).into()),
            lookup_key,
        }
    }

    /// Encrypts `plaintext` under a fresh random nonce, so equal numbers give unrelated
    /// ciphertexts.
    ///
    /// With random 96-bit nonces NIST SP 800-38D allows 2^32 encryptions per key; a rental
    /// registry stays far below that, so no nonce counter is needed.
    ///
    /// # Panics
    ///
    /// Only if the operating system's random number generator fails, when no safe nonce exists.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let nonce = Nonce::<Aes256Gcm>::generate();
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: ASSOCIATED_DATA,
                },
            )
            // AES-GCM only refuses plaintexts over 64 GiB; an identity number cannot reach that.
            .expect("AES-256-GCM encryption of a short plaintext cannot fail");
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{VERSION_PREFIX}{}", BASE64.encode(blob))
    }

    /// Decrypts a value produced by [`IdentityCipher::encrypt`] under the same data key.
    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let encoded = stored
            .strip_prefix(VERSION_PREFIX)
            .ok_or(CryptoError::UnsupportedVersion)?;
        let blob = BASE64.decode(encoded).map_err(|_| CryptoError::Encoding)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::TooShort);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| CryptoError::TooShort)?;
        let plain = self
            .aead
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: ASSOCIATED_DATA,
                },
            )
            .map_err(|_| CryptoError::Authentication)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Utf8)
    }

    /// Lower-case hex HMAC-SHA-256, under the derived lookup key, of
    /// `id_type || 0x00 || normalised_number`.
    ///
    /// Deterministic, so an index on it finds every record of the same document. The id type is
    /// included because a passport and a permit may share a number. The NUL separator is
    /// unambiguous because neither an id type name nor a normalised number contains NUL. Callers
    /// must pass the normalised number, or equal documents will not match.
    ///
    /// Resident ID numbers are few enough to enumerate, so whoever holds the data key can recover
    /// a number from its hash: treat the hash as personal data protected by that key, not as
    /// anonymised.
    pub fn lookup_hash(&self, id_type: &str, normalised_number: &str) -> String {
        hex::encode(hmac_sha256(
            &self.lookup_key,
            &[id_type.as_bytes(), &[0], normalised_number.as_bytes()],
        ))
    }
}

impl fmt::Debug for IdentityCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityCipher").finish_non_exhaustive()
    }
}

fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const OTHER_KEY: [u8; 32] = [8; 32];
    const NUMBER: &str = "35052419900715123X";

    fn cipher() -> IdentityCipher {
        IdentityCipher::new(&KEY)
    }

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn is_send_sync_and_clone() {
        assert_send_sync_clone::<IdentityCipher>();
    }

    #[test]
    fn round_trip() {
        let cipher = cipher();
        let stored = cipher.encrypt(NUMBER);
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains(NUMBER));
        assert_eq!(cipher.decrypt(&stored).unwrap(), NUMBER);
        assert_eq!(cipher.clone().decrypt(&stored).unwrap(), NUMBER);
        assert_eq!(cipher.decrypt(&cipher.encrypt("")).unwrap(), "");
        assert_eq!(
            cipher.decrypt(&cipher.encrypt("护照 E1234567")).unwrap(),
            "护照 E1234567"
        );
    }

    #[test]
    fn layout_is_nonce_ciphertext_tag() {
        let stored = cipher().encrypt(NUMBER);
        let blob = BASE64.decode(stored.strip_prefix("v1:").unwrap()).unwrap();
        assert_eq!(blob.len(), NONCE_LEN + NUMBER.len() + TAG_LEN);
        assert!(!stored.contains('\n'));
    }

    #[test]
    fn encryptions_of_the_same_text_differ() {
        let cipher = cipher();
        let first = cipher.encrypt(NUMBER);
        let second = cipher.encrypt(NUMBER);
        assert_ne!(first, second);
        assert_ne!(first[3..19], second[3..19], "nonces must differ");
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let cipher = cipher();
        let stored = cipher.encrypt(NUMBER);
        let blob = BASE64.decode(&stored[3..]).unwrap();
        for index in [0, NONCE_LEN, blob.len() - 1] {
            let mut tampered = blob.clone();
            tampered[index] ^= 0x01;
            let tampered = format!("v1:{}", BASE64.encode(&tampered));
            assert_eq!(
                cipher.decrypt(&tampered),
                Err(CryptoError::Authentication),
                "byte {index}"
            );
        }
        let truncated = format!("v1:{}", BASE64.encode(&blob[..blob.len() - 1]));
        assert_eq!(cipher.decrypt(&truncated), Err(CryptoError::Authentication));
    }

    #[test]
    fn different_key_fails() {
        let stored = cipher().encrypt(NUMBER);
        assert_eq!(
            IdentityCipher::new(&OTHER_KEY).decrypt(&stored),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn different_associated_data_fails() {
        // Same key and layout, but sealed without the label: must not be accepted as an identity
        // ciphertext.
        let aead = Aes256Gcm::new(&KEY.into());
        let nonce = Nonce::<Aes256Gcm>::generate();
        let sealed = aead.encrypt(&nonce, NUMBER.as_bytes()).unwrap();
        let stored = format!("v1:{}", BASE64.encode([nonce.as_slice(), &sealed].concat()));
        assert_eq!(cipher().decrypt(&stored), Err(CryptoError::Authentication));
    }

    #[test]
    fn malformed_stored_values_are_rejected() {
        let cipher = cipher();
        let stored = cipher.encrypt(NUMBER);
        assert_eq!(cipher.decrypt(&stored[3..]), Err(CryptoError::UnsupportedVersion));
        assert_eq!(
            cipher.decrypt(&stored.replacen("v1:", "v2:", 1)),
            Err(CryptoError::UnsupportedVersion)
        );
        assert_eq!(cipher.decrypt(NUMBER), Err(CryptoError::UnsupportedVersion));
        assert_eq!(cipher.decrypt("v1:not base64!"), Err(CryptoError::Encoding));
        assert_eq!(cipher.decrypt("v1:"), Err(CryptoError::TooShort));
        assert_eq!(
            cipher.decrypt(&format!("v1:{}", BASE64.encode([0u8; 27]))),
            Err(CryptoError::TooShort)
        );
        assert_eq!(
            cipher.decrypt(&format!("v1:{}", BASE64.encode([0u8; 28]))),
            Err(CryptoError::Authentication)
        );
    }

    #[test]
    fn debug_prints_no_key_material() {
        let debug = format!("{:?}", cipher());
        assert_eq!(debug, "IdentityCipher { .. }");
    }

    #[test]
    fn lookup_hash_is_deterministic() {
        let first = cipher().lookup_hash("resident_id", NUMBER);
        let second = IdentityCipher::new(&KEY).lookup_hash("resident_id", NUMBER);
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn lookup_hash_differs_by_id_type_number_and_key() {
        let cipher = cipher();
        let resident = cipher.lookup_hash("resident_id", NUMBER);
        assert_ne!(resident, cipher.lookup_hash("passport", NUMBER));
        assert_ne!(resident, cipher.lookup_hash("resident_id", "35052419900715124X"));
        assert_ne!(
            resident,
            IdentityCipher::new(&OTHER_KEY).lookup_hash("resident_id", NUMBER)
        );
        // The separator keeps the split between type and number from being shifted.
        assert_ne!(
            cipher.lookup_hash("passport", "E1234"),
            cipher.lookup_hash("passportE", "1234")
        );
    }

    #[test]
    fn lookup_hash_uses_a_derived_key_and_hides_the_number() {
        let hash = cipher().lookup_hash("resident_id", NUMBER);
        assert!(!hash.contains(NUMBER));
        assert!(!hash.to_ascii_uppercase().contains(&NUMBER[..8]));
        let under_data_key = hex::encode(hmac_sha256(&KEY, &[b"resident_id", &[0], NUMBER.as_bytes()]));
        assert_ne!(hash, under_data_key);
    }
}
