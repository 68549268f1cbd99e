//! One-time links in notices, kept unusable at rest. A notice that carries a link (a set-password or
//! reset link) is rendered with [`PLACEHOLDER`] where the link goes; the link itself is stored beside it
//! encrypted with AES-256-GCM under a key derived from the data key, bound to the notice's id, and put
//! into the message only when it is sent. After delivery the sealed link is erased.
//!
//! Stored format: `s1:` + base64 of `nonce (12 bytes) || ciphertext || tag`.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::notices::model::NoticeRow;

/// Stands for the link in a rendered notice until delivery.
pub const PLACEHOLDER: &str = "[[anzu-link]]";

const PREFIX: &str = "s1:";
const NONCE_LEN: usize = 12;
const KEY_LABEL: &[u8] = b"anzu notice link key v1";

/// Seals links at queueing and opens them at delivery.
#[derive(Clone)]
pub struct LinkSealer {
    aead: Aes256Gcm,
}

impl LinkSealer {
    pub fn new(data_key: &[u8; 32]) -> Self {
        // A key of its own: a sealed link never decrypts as an identity number, nor one as a link.
        let key: [u8; 32] = Sha256::new()
            .chain_update(KEY_LABEL)
            .chain_update(data_key)
            .finalize()
            .into();
        LinkSealer {
            aead: Aes256Gcm::new(&key.into()),
        }
    }

    /// Encrypts `link` for the notice `notice_id`.
    pub fn seal(&self, notice_id: &str, link: &str) -> String {
        let nonce = Nonce::<Aes256Gcm>::generate();
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: link.as_bytes(),
                    aad: notice_id.as_bytes(),
                },
            )
            // AES-GCM only refuses plaintexts over 64 GiB.
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{PREFIX}{}", BASE64.encode(blob))
    }

    /// Decrypts a link sealed for `notice_id`.
    pub fn open(&self, notice_id: &str, sealed: &str) -> Result<String, String> {
        let refused = || "the sealed link cannot be opened with this data key".to_owned();
        let blob = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| BASE64.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(refused)?;
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| refused())?;
        let plain = self
            .aead
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: notice_id.as_bytes(),
                },
            )
            .map_err(|_| refused())?;
        String::from_utf8(plain).map_err(|_| refused())
    }

    /// The notice as it is to be sent: its sealed link, if any, opened into the bodies.
    pub fn reveal(&self, notice: &NoticeRow) -> Result<NoticeRow, String> {
        let mut ready = notice.clone();
        if let Some(sealed) = &notice.sealed_link {
            let link = self.open(&notice.id, sealed)?;
            ready.body_text = notice.body_text.replace(PLACEHOLDER, &link);
            ready.body_html = notice.body_html.replace(PLACEHOLDER, &escape_html(&link));
            ready.sealed_link = None;
        }
        Ok(ready)
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_for_one_notice_only() {
        let sealer = LinkSealer::new(&[7; 32]);
        let sealed = sealer.seal("n1", "https://anzu.example/set-password?token=abc");
        assert!(!sealed.contains("token=abc"));
        assert_eq!(
            sealer.open("n1", &sealed).unwrap(),
            "https://anzu.example/set-password?token=abc"
        );
        assert!(sealer.open("n2", &sealed).is_err(), "bound to the notice id");
        assert!(
            LinkSealer::new(&[8; 32]).open("n1", &sealed).is_err(),
            "bound to the key"
        );
    }
}
