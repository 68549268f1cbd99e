//! Delivery through lettre: the pooled async SMTP transport when `ANZU_SMTP_URL` is set (`smtp://`,
//! `smtps://`, `smtp://…?tls=required`, credentials in the URL), else `.eml` files under `ANZU_MAIL_DIR`.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use std::path::PathBuf;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::notices::model::NoticeRow;

/// SMTP connections kept open for delivery; also the most sends the worker runs at once.
pub const SMTP_POOL_SIZE: u32 = 8;

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// A folder of `.eml` files, each readable by the service's user only (they hold names and addresses).
    Files(PathBuf),
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<(Mailer, Mailbox)> {
        let from: Mailbox = settings.mail_from.parse().map_err(|e| {
            anyhow::anyhow!("ANZU_MAIL_FROM must be an address such as `anzu <no-reply@example.cn>`: {e}")
        })?;
        let mailer = match &settings.smtp_url {
            Some(url) => {
                let transport: AsyncSmtpTransport<Tokio1Executor> = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("ANZU_SMTP_URL is not a usable SMTP URL: {e}"))?
                    .pool_config(PoolConfig::new().max_size(SMTP_POOL_SIZE))
                    .timeout(Some(std::time::Duration::from_secs(settings.smtp_timeout_secs)))
                    .build();
                Mailer::Smtp(transport)
            }
            None => {
                crate::private_file::create_dir(&settings.mail_dir).map_err(|e| {
                    anyhow::anyhow!("cannot create the mail folder {}: {e}", settings.mail_dir.display())
                })?;
                Mailer::Files(settings.mail_dir.clone())
            }
        };
        Ok((mailer, from))
    }

    /// Sends one notice; the error text is kept on the notice (it never holds personal data).
    pub async fn send(&self, from: &Mailbox, notice: &NoticeRow) -> Result<(), String> {
        let to: Mailbox = notice
            .recipient_email
            .parse()
            .map_err(|e| format!("bad recipient address: {e}"))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(notice.subject.clone())
            .message_id(Some(format!("<{}@anzu>", notice.id)))
            .multipart(MultiPart::alternative_plain_html(
                notice.body_text.clone(),
                notice.body_html.clone(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match self {
            Mailer::Smtp(transport) => transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Files(folder) => {
                let path = folder.join(format!("{}.eml", notice.id));
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || crate::private_file::write_atomically(&path, &bytes))
                    .await
                    .map_err(|e| format!("cannot write the e-mail file: {e}"))?
                    .map_err(|e| format!("cannot write the e-mail file: {e}"))
            }
        }
    }
}
