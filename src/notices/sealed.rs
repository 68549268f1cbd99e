//! One-time links in notices, kept unusable at rest. A notice that carries a link (a set-password or
//! reset link) is rendered with [`PLACEHOLDER`] where the link goes; the link itself is stored beside it
//! encrypted like an identity number (`crypto`, AES-256-GCM bound to the notice's row) but under a
//! key derived from the data key, and put into the message only when it is sent. After delivery the sealed
//! link is erased.

use sha2::{Digest, Sha256};

use crate::crypto::{Binding, IdentityCipher};
use crate::notices::model::NoticeRow;

/// Stands for the link in a rendered notice until delivery.
pub const PLACEHOLDER: &str = "[[anzu-link]]";

const KEY_LABEL: &[u8] = b"anzu notice link key v1";

/// Seals links at queueing and opens them at delivery.
#[derive(Clone)]
pub struct LinkSealer {
    cipher: IdentityCipher,
}

/// Where a notice's sealed link lives.
fn binding(notice_id: &str) -> Binding<'_> {
    Binding {
        table: "notices",
        column: "sealed_link",
        row_id: notice_id,
    }
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
            cipher: IdentityCipher::new(&key),
        }
    }

    /// Encrypts `link` for the notice `notice_id`.
    pub fn seal(&self, notice_id: &str, link: &str) -> String {
        self.cipher.encrypt(link, binding(notice_id))
    }

    /// Decrypts a link sealed for `notice_id`.
    pub fn open(&self, notice_id: &str, sealed: &str) -> Result<String, String> {
        self.cipher
            .decrypt(sealed, binding(notice_id))
            .map_err(|_| "the sealed link cannot be opened with this data key".to_owned())
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
