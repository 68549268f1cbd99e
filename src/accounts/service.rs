//! The rules of accounts, on a connection: new users, sessions and their refresh tokens (each works once;
//! reuse revokes the family), the membership state machine, passwords set by link or changed, and
//! deactivation (with the server's revocation list, for the API and the console alike). Handlers, the console,
//! the command line, the seed example and the tests call these.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use serde_json::json;

use crate::accounts::model::*;
use crate::accounts::repo::{self, hash_token};
use crate::accounts::training::repo as training_repo;
use crate::audit::{self, Event};
use crate::auth::tokens::TokenKeys;
use crate::auth::{Caller, Role, password};
use crate::db::Conn;
use crate::error::ApiError;
use crate::http::etag::IfMatch;
use crate::ids::{new_id, now};
use crate::state::AppState;
use crate::{notices, villages};

/// A new user row with a hashed password; the hash is computed off the async threads. For the command
/// line and tests: request handlers hash through the [`password::HashGate`].
pub async fn new_user_row(
    full_name: &str,
    email: &str,
    phone: Option<&str>,
    password_text: String,
    role: Role,
    village_id: Option<String>,
    membership: MembershipStatus,
) -> Result<UserRow, ApiError> {
    let password_hash = tokio::task::spawn_blocking(move || password::hash(&password_text))
        .await
        .map_err(ApiError::internal)??;
    Ok(user_row(
        full_name,
        email,
        phone,
        password_hash,
        role,
        village_id,
        membership,
    ))
}

/// A new user row, its e-mail lower-cased and its name trimmed.
pub fn user_row(
    full_name: &str,
    email: &str,
    phone: Option<&str>,
    password_hash: String,
    role: Role,
    village_id: Option<String>,
    membership: MembershipStatus,
) -> UserRow {
    let at = now();
    UserRow {
        id: new_id(),
        full_name: full_name.trim().to_owned(),
        email: email.trim().to_lowercase(),
        phone: phone.map(str::to_owned),
        password_hash,
        role,
        village_id,
        membership_status: membership,
        created_at: at,
        updated_at: at,
        version: 1,
        active: true,
    }
}

/// Refuses a user whose village does not exist (422) or whose e-mail or phone is taken (409). Asked before a
/// password is hashed; the insert checks both again.
pub fn check_new_user(conn: &mut Conn, email: &str, phone: &str, village_id: Option<&str>) -> Result<(), ApiError> {
    if let Some(village_id) = village_id {
        villages::repo::require_exists(conn, village_id, "village_id")?;
    }
    if repo::contact_taken(conn, email, Some(phone))? {
        return Err(ApiError::Conflict(repo::DUPLICATE_CONTACT.into()));
    }
    Ok(())
}

/// Inserts a user and records `action` in the audit log, by `actor` or by the user themself.
pub fn insert_user_audited(
    conn: &mut Conn,
    actor: Option<&Caller>,
    row: &UserRow,
    action: &str,
) -> Result<User, ApiError> {
    if let Some(village_id) = &row.village_id {
        villages::repo::require_exists(conn, village_id, "village_id")?;
    }
    repo::insert(conn, row)?;
    audit::record_by(
        conn,
        actor.map(|c| c.user_id.as_str()).or(Some(&row.id)),
        Event {
            action,
            entity_type: "user",
            entity_id: &row.id,
            village_id: row.village_id.as_deref(),
            detail: json!({"role": row.role, "membership_status": row.membership_status}),
        },
    )?;
    User::try_from(row.clone())
}

/// The user as answered, with their training's validity read from the database.
pub fn answer(conn: &mut Conn, row: UserRow) -> Result<User, ApiError> {
    let until = training_repo::valid_until_of(conn, &[row.id.as_str()])?.remove(&row.id);
    Ok(User {
        training_valid_until: until,
        ..User::try_from(row)?
    })
}

/// Each of these users' training validity (absent: never trained), in one read, for a list of answers.
pub fn training_of(conn: &mut Conn, rows: &[UserRow]) -> Result<HashMap<String, NaiveDate>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    training_repo::valid_until_of(conn, &ids)
}

/// What issuing a session needs: the token keys and how long a refresh token lives.
pub struct SessionKeys<'a> {
    pub tokens: &'a TokenKeys,
    pub refresh_ttl_days: i64,
}

/// Issues an access token and a refresh token in `family_id` (a new family at login).
pub fn issue_session(
    conn: &mut Conn,
    keys: &SessionKeys<'_>,
    user: UserRow,
    family_id: &str,
) -> Result<TokenResponse, ApiError> {
    let refresh_token = repo::new_token();
    let at = now();
    let expires_at = at + Duration::days(keys.refresh_ttl_days);
    repo::insert_refresh_token(conn, &user.id, family_id, &hash_token(&refresh_token), expires_at, at)?;
    let access_token =
        keys.tokens
            .issue_in_session(&user.id, user.role, user.village_id.as_deref(), Some(family_id))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: keys.tokens.ttl_secs(),
        refresh_token,
        user: answer(conn, user)?,
    })
}

/// A refresh either issues a new pair or is refused. Refusals are values, not errors, because the revocation
/// of a reused token's family must commit although the caller is refused.
pub enum RefreshOutcome {
    Issued(Box<TokenResponse>),
    Refused(&'static str),
}

/// Trades a refresh token for a new pair. Each works once: a second use revokes its whole family.
pub fn refresh(conn: &mut Conn, keys: &SessionKeys<'_>, refresh_token: &str) -> Result<RefreshOutcome, ApiError> {
    let at = now();
    let Some(token) = repo::find_refresh_token(conn, &hash_token(refresh_token))? else {
        return Ok(RefreshOutcome::Refused("The refresh token is not valid."));
    };
    if token.revoked_at.is_some() {
        return Ok(RefreshOutcome::Refused("The refresh token has been revoked."));
    }
    if token.used_at.is_some() || !repo::mark_refresh_token_used(conn, &token.id, at)? {
        repo::revoke_family(conn, &token.family_id, at)?;
        audit::record_by(
            conn,
            Some(&token.user_id),
            Event {
                action: "session.refresh_reused",
                entity_type: "user",
                entity_id: &token.user_id,
                village_id: None,
                detail: json!({"family_id": token.family_id}),
            },
        )?;
        return Ok(RefreshOutcome::Refused(
            "The refresh token was already used; the session is revoked.",
        ));
    }
    if token.expires_at <= at {
        return Ok(RefreshOutcome::Refused("The refresh token has expired."));
    }
    let user = repo::find(conn, &token.user_id)?;
    if !user.active {
        return Ok(RefreshOutcome::Refused("The refresh token has been revoked."));
    }
    let session = issue_session(conn, keys, user, &token.family_id)?;
    Ok(RefreshOutcome::Issued(Box::new(session)))
}

/// Ends the caller's session that `refresh_token` belongs to; a token of someone else's is ignored.
pub fn logout(conn: &mut Conn, caller: &Caller, refresh_token: &str) -> Result<(), ApiError> {
    if let Some(token) =
        repo::find_refresh_token(conn, &hash_token(refresh_token))?.filter(|t| t.user_id == caller.user_id)
    {
        repo::revoke_family(conn, &token.family_id, now())?;
    }
    Ok(())
}

/// Moves a landlord's membership as `request` asks, if the state machine allows it (else 409); the landlord
/// is e-mailed.
pub fn change_membership(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    request: MembershipRequest,
) -> Result<User, ApiError> {
    caller.require(&[Role::Admin])?;
    let row = repo::find(conn, id)?;
    if_match.check(row.version)?;
    if row.role != Role::Landlord {
        return Err(ApiError::Conflict(
            "Membership decisions apply to landlords only.".into(),
        ));
    }
    let from = row.membership_status;
    let to = from.after(request.action).ok_or_else(|| {
        ApiError::Conflict(format!(
            "A {from} membership cannot be changed by `{}`.",
            request.action
        ))
    })?;
    let updated = repo::set_membership(conn, &row.id, to, now())?;
    let detail = json!({"from": from, "to": to, "action": request.action, "reason": request.reason});
    notices::outbox::queue(
        conn,
        notices::outbox::NewNotice {
            kind: notices::model::NoticeKind::MembershipChanged,
            recipient: (&updated).into(),
            property: None,
            context: detail.clone(),
            dedupe_key: None,
        },
    )?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "membership.changed",
            entity_type: "user",
            entity_id: &row.id,
            village_id: row.village_id.as_deref(),
            detail,
        },
    )?;
    answer(conn, updated)
}

/// Uses a one-time link to set a password (already hashed); every session of its user is revoked. `false`
/// when the link is not live (unknown, used, or expired).
pub fn set_password_by_link(conn: &mut Conn, link_token: &str, password_hash: &str) -> Result<bool, ApiError> {
    let at = now();
    let Some(user_id) = repo::consume_password_token(conn, &hash_token(link_token), at)? else {
        return Ok(false);
    };
    repo::set_password_hash(conn, &user_id, password_hash, at)?;
    let revoked = repo::revoke_sessions(conn, &user_id, None, at)?;
    audit::record_by(
        conn,
        Some(&user_id),
        Event {
            action: "user.password_set",
            entity_type: "user",
            entity_id: &user_id,
            village_id: None,
            detail: json!({"sessions_revoked": revoked}),
        },
    )?;
    Ok(true)
}

/// Sets the caller's new password (already hashed, the current one checked); every other session is revoked.
pub fn change_password(conn: &mut Conn, caller: &Caller, password_hash: &str) -> Result<(), ApiError> {
    let at = now();
    repo::set_password_hash(conn, &caller.user_id, password_hash, at)?;
    let revoked = repo::revoke_sessions(conn, &caller.user_id, caller.session_id.as_deref(), at)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "user.password_changed",
            entity_type: "user",
            entity_id: &caller.user_id,
            village_id: caller.village_id.as_deref(),
            detail: json!({"sessions_revoked": revoked, "kept_current_session": caller.session_id.is_some()}),
        },
    )?;
    Ok(())
}

/// Deactivates (revoking every session) or activates a user (admin); not oneself, not to the state they are in.
pub fn set_active(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    reason: &str,
    active: bool,
) -> Result<User, ApiError> {
    caller.require(&[Role::Admin])?;
    let row = repo::find(conn, id)?;
    if_match.check(row.version)?;
    if row.id == caller.user_id {
        return Err(ApiError::Conflict(
            "Administrators cannot deactivate or activate themselves.".into(),
        ));
    }
    if row.active == active {
        let state = if active { "active" } else { "deactivated" };
        return Err(ApiError::Conflict(format!("The user is already {state}.")));
    }
    let at = now();
    let updated = repo::set_active(conn, &row.id, active, at)?;
    let revoked = if active {
        0
    } else {
        repo::revoke_sessions(conn, &row.id, None, at)?
    };
    audit::record(
        conn,
        Some(caller),
        Event {
            action: if active { "user.activated" } else { "user.deactivated" },
            entity_type: "user",
            entity_id: &row.id,
            village_id: row.village_id.as_deref(),
            detail: json!({"reason": reason, "sessions_revoked": revoked}),
        },
    )?;
    answer(conn, updated)
}

/// Deactivates or activates a user (admin) as [`set_active`] does, and updates this server's revocation list at
/// once: a deactivated user's access tokens and console sessions stop now, not at the list's next refresh. The API
/// and the console both deactivate through this.
pub async fn change_active(
    state: &AppState,
    caller: Caller,
    id: String,
    if_match: IfMatch,
    reason: String,
    active: bool,
) -> Result<User, ApiError> {
    let user = state
        .db
        .write(move |conn| set_active(conn, &caller, &id, if_match, &reason, active))
        .await?;
    if active {
        state.revoked.remove(&user.id);
    } else {
        state.revoked.insert(&user.id);
    }
    Ok(user)
}
