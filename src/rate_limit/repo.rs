//! Fixed-window counts in the database, for rate limits shared by every process on it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::db::Conn;
use crate::db::schema::rate_limits;
use crate::error::ApiError;

#[derive(QueryableByName)]
pub struct Counted {
    #[diesel(sql_type = Timestamp)]
    pub window_start: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    pub count: i32,
}

/// Counts one for `key` in its current window, which starts anew at `now` when the stored one began at or
/// before `expired`; the window and the count after counting. One statement, atomic under the row's lock.
pub fn count(conn: &mut Conn, key: &str, now: NaiveDateTime, expired: NaiveDateTime) -> Result<Counted, ApiError> {
    Ok(diesel::sql_query(
        "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $3 THEN excluded.window_start \
                               ELSE rate_limits.window_start END \
         RETURNING window_start, count",
    )
    .bind::<Text, _>(key)
    .bind::<Timestamp, _>(now)
    .bind::<Timestamp, _>(expired)
    .get_result(conn)?)
}

/// Gives one back to `key`'s window that started at `window_start` (not to a later one).
pub fn give_back(conn: &mut Conn, key: &str, window_start: NaiveDateTime) -> Result<(), ApiError> {
    diesel::update(
        rate_limits::table
            .find(key)
            .filter(rate_limits::window_start.eq(window_start))
            .filter(rate_limits::count.gt(0)),
    )
    .set(rate_limits::count.eq(rate_limits::count - 1))
    .execute(conn)?;
    Ok(())
}

/// Forgets `key` (a successful login clears its failures).
pub fn clear(conn: &mut Conn, key: &str) -> Result<(), ApiError> {
    diesel::delete(rate_limits::table.find(key)).execute(conn)?;
    Ok(())
}

/// Forgets every window that began before `before`.
pub fn prune(conn: &mut Conn, before: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(before))).execute(conn)?)
}
