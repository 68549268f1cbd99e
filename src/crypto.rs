//! Protecting identity document numbers at rest: authenticated encryption for the stored number,
//! and a keyed hash that lets the service find records of the same person without decrypting
//! anything.
//!
//! Stored format: `v2:` followed by standard base64 (with padding, no line breaks) of
//! `nonce (12 bytes) || ciphertext || tag (16 bytes)`, produced by AES-256-GCM under the data key
//! with associated data naming the table, column and row the value belongs to ([`Binding`]): a
//! ciphertext copied into another row or column fails authentication there instead of decrypting
//! as that row's number. `v1:` values (a fixed associated data, [`V1_ASSOCIATED_DATA`]) stay
//! readable until start-up has re-encrypted them (`registry::service::upgrade_identity_ciphertexts`).

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

pub const VERSION_PREFIX: &str = "v2:";
const V1_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The associated data of every `v1:` ciphertext: the same for every row, which is why v2 replaced it.
pub const V1_ASSOCIATED_DATA: &[u8] = b"anzu-identity-v1";

/// Where an encrypted value lives. Bound into its ciphertext as associated data, so that it decrypts
/// only there.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub table: &'static str,
    pub column: &'static str,
    pub row_id: &'a str,
}

impl<'a> Binding<'a> {
    /// Where a tenancy's encrypted identity number lives.
    pub fn tenancy_id_number(tenancy_id: &'a str) -> Self {
        Binding {
            table: "tenancies",
            column: "id_number_encrypted",
            row_id: tenancy_id,
        }
    }

    /// Where a tenancy's encrypted phone number lives.
    pub fn tenancy_phone(tenancy_id: &'a str) -> Self {
        Binding {
            table: "tenancies",
            column: "phone_encrypted",
            row_id: tenancy_id,
        }
    }

    /// Where an enterprise's encrypted contact phone lives.
    pub fn enterprise_contact_phone(enterprise_id: &'a str) -> Self {
        Binding {
            table: "enterprises",
            column: "contact_phone_encrypted",
            row_id: enterprise_id,
        }
    }

    /// `anzu-identity-v2`, table, column and row id, each ended by NUL (no part contains one).
    fn associated_data(&self) -> Vec<u8> {
        [
            b"anzu-identity-v2",
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.row_id.as_bytes(),
        ]
        .iter()
        .flat_map(|part| part.iter().copied().chain([0]))
        .collect()
    }
}

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
    pub fn encrypt(&self, plaintext: &str, binding: Binding<'_>) -> String {
        let nonce = Nonce::<Aes256Gcm>::generate();
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &binding.associated_data(),
                },
            )
            // AES-GCM only refuses plaintexts over 64 GiB; an identity number cannot reach that.
            .expect("AES-256-GCM encryption of a short plaintext cannot fail");
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{VERSION_PREFIX}{}", BASE64.encode(blob))
    }

    /// Decrypts a value produced by [`IdentityCipher::encrypt`] under the same data key for the same
    /// place, or a `v1:` value (bound to no place).
    pub fn decrypt(&self, stored: &str, binding: Binding<'_>) -> Result<String, CryptoError> {
        if let Some(encoded) = stored.strip_prefix(V1_PREFIX) {
            return self.open(encoded, V1_ASSOCIATED_DATA);
        }
        let encoded = stored
            .strip_prefix(VERSION_PREFIX)
            .ok_or(CryptoError::UnsupportedVersion)?;
        self.open(encoded, &binding.associated_data())
    }

    /// Whether `stored` is in an older format that start-up re-encrypts.
    pub fn is_outdated(stored: &str) -> bool {
        !stored.starts_with(VERSION_PREFIX)
    }

    fn open(&self, encoded: &str, aad: &[u8]) -> Result<String, CryptoError> {
        let blob = BASE64.decode(encoded).map_err(|_| CryptoError::Encoding)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::TooShort);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| CryptoError::TooShort)?;
        let plain = self
            .aead
            .decrypt(&nonce, Payload { msg: sealed, aad })
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
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
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
    const HERE: Binding<'static> = Binding {
        table: "tenancies",
        column: "id_number_encrypted",
        row_id: "row-1",
    };

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
        let stored = cipher.encrypt(NUMBER, HERE);
        assert!(stored.starts_with("v2:"));
        assert!(!stored.contains(NUMBER));
        assert_eq!(cipher.decrypt(&stored, HERE).unwrap(), NUMBER);
        assert_eq!(cipher.clone().decrypt(&stored, HERE).unwrap(), NUMBER);
        assert_eq!(cipher.decrypt(&cipher.encrypt("", HERE), HERE).unwrap(), "");
        assert_eq!(
            cipher.decrypt(&cipher.encrypt("护照 E1234567", HERE), HERE).unwrap(),
            "护照 E1234567"
        );
    }

    #[test]
    fn layout_is_nonce_ciphertext_tag() {
        let stored = cipher().encrypt(NUMBER, HERE);
        let blob = BASE64.decode(stored.strip_prefix("v2:").unwrap()).unwrap();
        assert_eq!(blob.len(), NONCE_LEN + NUMBER.len() + TAG_LEN);
        assert!(!stored.contains('\n'));
    }

    #[test]
    fn encryptions_of_the_same_text_differ() {
        let cipher = cipher();
        let first = cipher.encrypt(NUMBER, HERE);
        let second = cipher.encrypt(NUMBER, HERE);
        assert_ne!(first, second);
        assert_ne!(first[3..19], second[3..19], "nonces must differ");
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let cipher = cipher();
        let stored = cipher.encrypt(NUMBER, HERE);
        let blob = BASE64.decode(&stored[3..]).unwrap();
        for index in [0, NONCE_LEN, blob.len() - 1] {
            let mut tampered = blob.clone();
            tampered[index] ^= 0x01;
            let tampered = format!("v2:{}", BASE64.encode(&tampered));
            assert_eq!(
                cipher.decrypt(&tampered, HERE),
                Err(CryptoError::Authentication),
                "byte {index}"
            );
        }
        let truncated = format!("v2:{}", BASE64.encode(&blob[..blob.len() - 1]));
        assert_eq!(cipher.decrypt(&truncated, HERE), Err(CryptoError::Authentication));
    }

    #[test]
    fn different_key_fails() {
        let stored = cipher().encrypt(NUMBER, HERE);
        assert_eq!(
            IdentityCipher::new(&OTHER_KEY).decrypt(&stored, HERE),
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
        assert_eq!(cipher().decrypt(&stored, HERE), Err(CryptoError::Authentication));
    }

    #[test]
    fn malformed_stored_values_are_rejected() {
        let cipher = cipher();
        let stored = cipher.encrypt(NUMBER, HERE);
        assert_eq!(cipher.decrypt(&stored[3..], HERE), Err(CryptoError::UnsupportedVersion));
        assert_eq!(
            cipher.decrypt(&stored.replacen("v2:", "v3:", 1), HERE),
            Err(CryptoError::UnsupportedVersion)
        );
        assert_eq!(cipher.decrypt(NUMBER, HERE), Err(CryptoError::UnsupportedVersion));
        assert_eq!(cipher.decrypt("v2:not base64!", HERE), Err(CryptoError::Encoding));
        assert_eq!(cipher.decrypt("v2:", HERE), Err(CryptoError::TooShort));
        assert_eq!(
            cipher.decrypt(&format!("v2:{}", BASE64.encode([0u8; 27])), HERE),
            Err(CryptoError::TooShort)
        );
        assert_eq!(
            cipher.decrypt(&format!("v2:{}", BASE64.encode([0u8; 28])), HERE),
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
