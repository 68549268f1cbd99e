//! One-time set-password links, e-mailed through the outbox: the invitation of an account made from an
//! imported ledger, and the reset link asked for with `POST /auth/forgot-password`. Both are used with
//! `POST /auth/set-password`. Only the token's hash is stored; the link itself travels sealed in its notice
//! until delivery (`notices::sealed`).

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;

use crate::accounts::model::UserRow;
use crate::accounts::repo;
use crate::config::Settings;
use crate::db::Conn;
use crate::db::schema::password_tokens;
use crate::error::ApiError;
use crate::ids::{local_date, now};
use crate::notices::model::NoticeKind;
use crate::notices::outbox::{self, NewNotice};
use crate::notices::sealed::LinkSealer;

/// Days an invitation link stays valid.
pub const INVITATION_VALID_DAYS: i64 = 7;
/// Minutes a reset link stays valid.
pub const RESET_VALID_MINUTES: i64 = 60;
/// At most one reset link per account is e-mailed in each such period, whoever asks.
const RESET_PERIOD_MINUTES: i64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The first password of an account made from an imported ledger.
    Invitation,
    /// A forgotten password.
    Reset,
}

/// Issues a token for `user` and queues the e-mail carrying its link; false (and no token) when such an
/// e-mail was queued already (an invitation once per account, a reset once per ten minutes).
pub fn queue_link(
    conn: &mut Conn,
    settings: &Settings,
    user: &UserRow,
    purpose: LinkPurpose,
) -> Result<bool, ApiError> {
    let at = now();
    let (kind, valid_for, dedupe_key, context) = match purpose {
        LinkPurpose::Invitation => {
            let valid_for = Duration::days(INVITATION_VALID_DAYS);
            (
                NoticeKind::AccountInvitation,
                valid_for,
                format!("account_invitation:{}", user.id),
                json!({"expires_on": local_date(at + valid_for).to_string()}),
            )
        }
        LinkPurpose::Reset => {
            let valid_for = Duration::minutes(RESET_VALID_MINUTES);
            let china_time = at + valid_for + Duration::hours(8);
            (
                NoticeKind::PasswordReset,
                valid_for,
                format!(
                    "password_reset:{}:{}",
                    user.id,
                    at.and_utc().timestamp() / (RESET_PERIOD_MINUTES * 60)
                ),
                json!({"expires_at": format!("{} (UTC+8)", china_time.format("%Y-%m-%d %H:%M"))}),
            )
        }
    };
    let token = repo::issue_password_token(conn, &user.id, at, valid_for)?;
    let link = format!("{}/set-password?token={token}", settings.public_base_url);
    let queued = outbox::queue_with_link(
        conn,
        NewNotice {
            kind,
            recipient: user.into(),
            property: None,
            context,
            dedupe_key: Some(dedupe_key),
        },
        &LinkSealer::new(&settings.data_key),
        &link,
    )?;
    if !queued {
        diesel::delete(password_tokens::table.find(repo::hash_token(&token))).execute(conn)?;
    }
    Ok(queued)
}
