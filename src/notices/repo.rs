//! Queries on the notice outbox: insert (never twice for one dedupe key), claim due rows for delivery,
//! record the outcome.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use crate::auth::Caller;
use crate::db::query::Page;
use crate::db::schema::notices;
use crate::db::{Conn, DbConn, MultiBackend};
use crate::error::ApiError;
use crate::notices::model::{NoticeFilter, NoticeRow, NoticeStatus};

/// Inserts a notice unless one with the same dedupe key exists; true when inserted.
pub fn insert(conn: &mut Conn, row: &NoticeRow) -> Result<bool, ApiError> {
    let inserted = crate::per_backend!(conn, |c| diesel::insert_into(notices::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted > 0)
}

/// Whether a notice with this dedupe key exists.
pub fn has_dedupe_key(conn: &mut Conn, key: &str) -> Result<bool, ApiError> {
    Ok(crate::per_backend!(conn, |c| diesel::select(diesel::dsl::exists(
        notices::table.filter(notices::dedupe_key.eq(key))
    ))
    .get_result(c))?)
}

/// The dedupe keys already used that start with `prefix`.
pub fn existing_keys(conn: &mut Conn, prefix: &str) -> Result<HashSet<String>, ApiError> {
    let keys: Vec<Option<String>> = notices::table
        .filter(notices::dedupe_key.like(format!("{prefix}%")))
        .select(notices::dedupe_key)
        .load(conn)?;
    Ok(keys.into_iter().flatten().collect())
}

/// Claims up to `limit` notices that are due (queued and due, or `sending` whose claim expired),
/// marking them `sending` until `claim_until`. On PostgreSQL, rows claimed by another instance are
/// skipped, not waited for; on SQLite the single writer serialises claims.
pub fn claim_due(
    conn: &mut Conn,
    now: NaiveDateTime,
    claim_until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<NoticeRow>, ApiError> {
    const CLAIM: &str = "UPDATE notices SET status = 'sending', claimed_until = $1, attempts = attempts + 1, \
        updated_at = $2 WHERE id IN (SELECT id FROM notices WHERE (status = 'queued' AND next_attempt_at <= $2) \
        OR (status = 'sending' AND claimed_until < $2) ORDER BY next_attempt_at, id LIMIT $3 {LOCK}) RETURNING *";
    let sql = match conn {
        DbConn::Pg(_) => CLAIM.replace("{LOCK}", "FOR UPDATE SKIP LOCKED"),
        DbConn::Sqlite(_) => CLAIM.replace("{LOCK}", ""),
    };
    Ok(diesel::sql_query(sql)
        .bind::<Timestamp, _>(claim_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// Records a delivery, if the notice is still claimed for sending.
pub fn mark_sent(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(
        notices::table
            .find(id)
            .filter(notices::status.eq(NoticeStatus::Sending)),
    )
    .set((
        notices::status.eq(NoticeStatus::Sent),
        notices::sent_at.eq(now),
        // A delivered one-time link is kept nowhere, not even sealed.
        notices::sealed_link.eq(None::<String>),
        notices::claimed_until.eq(None::<NaiveDateTime>),
        notices::last_error.eq(None::<String>),
        notices::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: back to `queued` for `retry_at`, or `failed` for good when `retry_at` is None.
pub fn mark_attempt_failed(
    conn: &mut Conn,
    id: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let status = if retry_at.is_some() {
        NoticeStatus::Queued
    } else {
        NoticeStatus::Failed
    };
    diesel::update(
        notices::table
            .find(id)
            .filter(notices::status.eq(NoticeStatus::Sending)),
    )
    .set((
        notices::status.eq(status),
        notices::last_error.eq(error),
        notices::next_attempt_at.eq(retry_at.unwrap_or(now)),
        notices::claimed_until.eq(None::<NaiveDateTime>),
        notices::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Puts a failed notice back in the queue with fresh attempts; false if it was not failed.
pub fn requeue_failed(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<bool, ApiError> {
    let updated = diesel::update(notices::table.find(id).filter(notices::status.eq(NoticeStatus::Failed)))
        .set((
            notices::status.eq(NoticeStatus::Queued),
            notices::attempts.eq(0),
            notices::next_attempt_at.eq(now),
            notices::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn find(conn: &mut Conn, id: &str) -> Result<NoticeRow, ApiError> {
    Ok(notices::table.find(id).select(NoticeRow::as_select()).first(conn)?)
}

/// What the notice queries select: whole rows.
type Selected = diesel::dsl::AsSelect<NoticeRow, MultiBackend>;

/// The notices the caller may see (admins all, everyone else their own), filtered.
fn visible<'a>(caller: &Caller, filter: &NoticeFilter) -> notices::BoxedQuery<'a, MultiBackend, Selected> {
    let mut query = notices::table.select(NoticeRow::as_select()).into_boxed();
    if !caller.is_admin() {
        query = query.filter(notices::recipient_id.eq(caller.user_id.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(notices::status.eq(status));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(notices::kind.eq(kind));
    }
    query
}

/// Notices for the caller: admins all, everyone else their own; paged by id.
pub fn list(conn: &mut Conn, caller: &Caller, filter: &NoticeFilter, page: &Page) -> Result<Vec<NoticeRow>, ApiError> {
    Ok(crate::db::query::paged!(visible(caller, filter), notices, page).load(conn)?)
}

/// The caller's `limit` newest notices, newest first (the console's list), in the same scope as [`list`].
pub fn newest(conn: &mut Conn, caller: &Caller, filter: &NoticeFilter, limit: i64) -> Result<Vec<NoticeRow>, ApiError> {
    Ok(visible(caller, filter)
        .order(notices::id.desc())
        .limit(limit)
        .load(conn)?)
}
