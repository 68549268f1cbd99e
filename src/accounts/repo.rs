//! Queries on users and refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::model::{ConsoleSessionRow, MembershipStatus, UserFilter, UserRow};
use crate::accounts::training::model::TrainingStanding;
use crate::auth::Caller;
use crate::auth::Role;
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{console_sessions, password_tokens, refresh_tokens, training_attendances, users};
use crate::error::{ApiError, ConflictOnDuplicate};

pub const DUPLICATE_CONTACT: &str = "A user with this e-mail or phone already exists.";

pub fn insert(conn: &mut Conn, row: &UserRow) -> Result<(), ApiError> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| DUPLICATE_CONTACT.into())?;
    Ok(())
}

pub fn find(conn: &mut Conn, id: &str) -> Result<UserRow, ApiError> {
    // On the backend's own connection, so the statement is found in the cache by its type: this runs in
    // most writes (the caller's membership).
    Ok(crate::per_backend!(conn, |c| users::table
        .find(id)
        .select(UserRow::as_select())
        .first(c))?)
}

/// The user `id` if the caller may see them: admins everyone, auditors their village, anyone themself.
pub fn find_visible(conn: &mut Conn, caller: &Caller, id: &str) -> Result<UserRow, ApiError> {
    let mut query = users::table.find(id).select(UserRow::as_select()).into_boxed();
    match caller.role {
        Role::Admin => {}
        Role::Auditor => {
            query = query.filter(
                users::id
                    .eq(&caller.user_id)
                    .or(users::village_id.eq(caller.village_id.clone())),
            );
        }
        _ => query = query.filter(users::id.eq(&caller.user_id)),
    }
    Ok(query.first(conn)?)
}

/// A user by e-mail (any case) or phone.
pub fn find_by_login(conn: &mut Conn, login: &str) -> Result<Option<UserRow>, ApiError> {
    let login = login.trim();
    Ok(users::table
        .filter(users::email.eq(login.to_lowercase()).or(users::phone.eq(login)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Users in the caller's scope (auditors: their village only), filtered and paged.
pub fn list(conn: &mut Conn, caller: &Caller, filter: &UserFilter, page: &Page) -> Result<Vec<UserRow>, ApiError> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if !caller.is_admin() {
        query = query.filter(users::village_id.eq(caller.village_id.clone()));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(status) = filter.membership_status {
        query = query.filter(users::membership_status.eq(status));
    }
    if let Some(village_id) = &filter.village_id {
        query = query.filter(users::village_id.eq(village_id));
    }
    if let Some(standing) = filter.training {
        let valid = training_attendances::table
            .filter(training_attendances::valid_until.ge(crate::ids::today()))
            .select(training_attendances::landlord_id);
        let any = training_attendances::table.select(training_attendances::landlord_id);
        query = query.filter(users::role.eq(Role::Landlord));
        query = match standing {
            TrainingStanding::Valid => query.filter(users::id.eq_any(valid)),
            TrainingStanding::Lapsed => query
                .filter(users::id.eq_any(any))
                .filter(diesel::dsl::not(users::id.eq_any(valid))),
            TrainingStanding::Untrained => query.filter(diesel::dsl::not(users::id.eq_any(any))),
        };
    }
    Ok(paged!(query, users, page).load(conn)?)
}

/// Moves a user to `status`, bumping the version.
pub fn set_membership(
    conn: &mut Conn,
    id: &str,
    status: MembershipStatus,
    now: NaiveDateTime,
) -> Result<UserRow, ApiError> {
    diesel::update(users::table.find(id))
        .set((
            users::membership_status.eq(status),
            users::updated_at.eq(now),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    find(conn, id)
}

/// A stored refresh token: only its hash is kept.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_refresh_token(
    conn: &mut Conn,
    user_id: &str,
    family_id: &str,
    token_hash: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(crate::ids::new_id()),
            refresh_tokens::user_id.eq(user_id),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh_token(conn: &mut Conn, token_hash: &str) -> Result<Option<RefreshTokenRow>, ApiError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a token used; false if another request used it first.
pub fn mark_refresh_token_used(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let updated = diesel::update(refresh_tokens::table.find(id).filter(refresh_tokens::used_at.is_null()))
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn revoke_family(conn: &mut Conn, family_id: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Users by id, read in chunks that stay under both databases' parameter limits.
pub fn find_many(conn: &mut Conn, ids: &[&str]) -> Result<Vec<UserRow>, ApiError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        rows.extend(
            users::table
                .filter(users::id.eq_any(chunk))
                .select(UserRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// A new secret token: 32 random bytes, URL-safe base64 (refresh tokens, set-password links, console sessions).
pub fn new_token() -> String {
    use base64::Engine;
    use rand::Rng;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The stored form of a secret token: only its SHA-256 is kept.
pub fn hash_token(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a one-time set-password token for a user, valid for `valid_for`; returns the token (only its
/// hash is stored).
pub fn issue_password_token(
    conn: &mut Conn,
    user_id: &str,
    now: NaiveDateTime,
    valid_for: chrono::Duration,
) -> Result<String, ApiError> {
    let token = new_token();
    diesel::insert_into(password_tokens::table)
        .values((
            password_tokens::token_hash.eq(hash_token(&token)),
            password_tokens::user_id.eq(user_id),
            password_tokens::expires_at.eq(now + valid_for),
            password_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Whether a set-password token (by its hash) is unused, unexpired and for an active user: checked
/// before the costly password hash, so that made-up tokens cost one indexed read.
pub fn password_token_is_live(conn: &mut Conn, token_hash: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let found: Option<String> = password_tokens::table
        .inner_join(users::table.on(users::id.eq(password_tokens::user_id)))
        .filter(password_tokens::token_hash.eq(token_hash))
        .filter(password_tokens::used_at.is_null())
        .filter(password_tokens::expires_at.gt(now))
        .filter(users::active.eq(true))
        .select(password_tokens::user_id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Uses up a set-password token with one conditional update, so that of concurrent uses exactly one
/// wins; the user it was for, if this use won and the user is active.
pub fn consume_password_token(
    conn: &mut Conn,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, ApiError> {
    let won = diesel::update(
        password_tokens::table
            .filter(password_tokens::token_hash.eq(token_hash))
            .filter(password_tokens::used_at.is_null())
            .filter(password_tokens::expires_at.gt(now)),
    )
    .set(password_tokens::used_at.eq(now))
    .execute(conn)?;
    if won != 1 {
        return Ok(None);
    }
    let user_id: String = password_tokens::table
        .find(token_hash)
        .select(password_tokens::user_id)
        .first(conn)?;
    // Checked in the same transaction: a user deactivated since the link was sent gets no password.
    let active: bool = users::table.find(&user_id).select(users::active).first(conn)?;
    Ok(active.then_some(user_id))
}

pub fn set_password_hash(
    conn: &mut Conn,
    user_id: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether an e-mail (any case) or phone is already some user's: checked before hashing a password.
pub fn contact_taken(conn: &mut Conn, email: &str, phone: Option<&str>) -> Result<bool, ApiError> {
    let email = email.trim().to_lowercase();
    let mut query = users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .into_boxed();
    if let Some(phone) = phone {
        query = query.or_filter(users::phone.eq(phone));
    }
    Ok(query.first::<String>(conn).optional()?.is_some())
}

/// Deactivates or activates a user, bumping the version.
pub fn set_active(conn: &mut Conn, id: &str, active: bool, now: NaiveDateTime) -> Result<UserRow, ApiError> {
    diesel::update(users::table.find(id))
        .set((
            users::active.eq(active),
            users::updated_at.eq(now),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    find(conn, id)
}

/// Revokes every refresh-token family of a user but `keep` (the session making the change, if known);
/// the number of tokens revoked.
pub fn revoke_sessions(
    conn: &mut Conn,
    user_id: &str,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> Result<usize, ApiError> {
    let mut query = diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(family_id) = keep {
        query = query.filter(refresh_tokens::family_id.ne(family_id));
    }
    let revoked = query.set(refresh_tokens::revoked_at.eq(now)).execute(conn)?;
    // The console's sessions are other sessions too.
    end_console_sessions(conn, user_id)?;
    Ok(revoked)
}

pub fn insert_console_session(conn: &mut Conn, row: &ConsoleSessionRow) -> Result<(), ApiError> {
    diesel::insert_into(console_sessions::table).values(row).execute(conn)?;
    Ok(())
}

/// The console session with this token hash and its user, if any.
pub fn find_console_session(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<(ConsoleSessionRow, UserRow)>, ApiError> {
    Ok(console_sessions::table
        .inner_join(users::table)
        .filter(console_sessions::token_hash.eq(token_hash))
        .select((ConsoleSessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Records activity on a console session (its idle time starts again).
pub fn touch_console_session(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(console_sessions::table.find(id))
        .set(console_sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn delete_console_session(conn: &mut Conn, id: &str) -> Result<(), ApiError> {
    diesel::delete(console_sessions::table.find(id)).execute(conn)?;
    Ok(())
}

/// Ends every console session of the user.
pub fn end_console_sessions(conn: &mut Conn, user_id: &str) -> Result<usize, ApiError> {
    Ok(diesel::delete(console_sessions::table.filter(console_sessions::user_id.eq(user_id))).execute(conn)?)
}
