//! Queues notices: called by the domains inside the transaction of the event a notice is about, so a
//! notice exists exactly when its cause does. Rendering happens here, once.

use chrono::Duration;
use serde_json::{Value, json};

use crate::db::Conn;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::notices::model::{NoticeKind, NoticeRow, NoticeStatus};
use crate::notices::sealed::{LinkSealer, PLACEHOLDER};
use crate::notices::{repo, templates};

/// Who a notice goes to (the domains make one from their user row).
pub struct Recipient<'a> {
    pub id: &'a str,
    pub full_name: &'a str,
    pub phone: Option<&'a str>,
    pub email: &'a str,
}

/// The property a notice is about (the domains make one from their property row).
pub struct About<'a> {
    pub id: &'a str,
    pub registration_code: &'a str,
    pub name: &'a str,
    pub address: &'a str,
}

/// A notice to queue: plain data, so that the outbox knows no domain.
pub struct NewNotice<'a> {
    pub kind: NoticeKind,
    pub recipient: Recipient<'a>,
    pub property: Option<About<'a>>,
    /// What the kind's template needs beyond the recipient and the property.
    pub context: Value,
    /// kind + subject + period; a second notice with the same key is not queued.
    pub dedupe_key: Option<String>,
}

/// Renders and queues a notice; false when its dedupe key was already used.
pub fn queue(conn: &mut Conn, notice: NewNotice<'_>) -> Result<bool, ApiError> {
    queue_sealed(conn, notice, None)
}

/// Queues a notice that recurs (the same unit overcrowded at each declaration of a week) unless its dedupe key
/// was used already: looked up before the notice is rendered, which the repeats then never are.
pub fn queue_unless_queued(conn: &mut Conn, notice: NewNotice<'_>) -> Result<bool, ApiError> {
    if let Some(key) = &notice.dedupe_key
        && repo::has_dedupe_key(conn, key)?
    {
        return Ok(false);
    }
    queue(conn, notice)
}

/// Queues a notice that carries a one-time `link`: the template gets `link` as a placeholder, and the
/// link is stored sealed under `sealer`, to be put in only when the notice is sent (`notices::sealed`).
pub fn queue_with_link(
    conn: &mut Conn,
    mut notice: NewNotice<'_>,
    sealer: &LinkSealer,
    link: &str,
) -> Result<bool, ApiError> {
    if let Value::Object(extra) = &mut notice.context {
        extra.insert("link".into(), Value::from(PLACEHOLDER));
    }
    queue_sealed(conn, notice, Some((sealer, link)))
}

fn queue_sealed(conn: &mut Conn, notice: NewNotice<'_>, link: Option<(&LinkSealer, &str)>) -> Result<bool, ApiError> {
    let mut context = json!({
        "recipient": {"full_name": notice.recipient.full_name, "phone": notice.recipient.phone},
        "property": notice.property.as_ref().map(|p| json!({
            "registration_code": p.registration_code, "name": p.name, "address": p.address,
        })),
    });
    if let (Some(target), Value::Object(extra)) = (context.as_object_mut(), notice.context) {
        target.extend(extra);
    }
    let rendered = templates::render(notice.kind, &context)?;
    let at = now();
    let id = new_id();
    let row = NoticeRow {
        sealed_link: link.map(|(sealer, link)| sealer.seal(&id, link)),
        id,
        kind: notice.kind,
        recipient_id: notice.recipient.id.to_owned(),
        recipient_email: notice.recipient.email.to_owned(),
        property_id: notice.property.map(|p| p.id.to_owned()),
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        status: NoticeStatus::Queued,
        attempts: 0,
        last_error: None,
        next_attempt_at: at,
        claimed_until: None,
        dedupe_key: notice.dedupe_key,
        created_at: at,
        updated_at: at,
        sent_at: None,
    };
    repo::insert(conn, &row)
}

/// Waits after a failed attempt: one minute, doubling each time, at most six hours.
pub fn backoff(attempts: i32) -> Duration {
    const FIRST_SECS: i64 = 60;
    const MAX_SECS: i64 = 6 * 3600;
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    Duration::seconds((FIRST_SECS << doublings).min(MAX_SECS))
}

/// Attempts after which a notice is given up as `failed`.
pub const MAX_ATTEMPTS: i32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_six_hours() {
        let minutes: Vec<i64> = (1..=10).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 360]);
    }
}
