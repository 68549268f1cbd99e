//! The claims of the daily jobs.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::Conn;
use crate::db::schema::daily_runs;
use crate::error::{ApiError, ConflictOnDuplicate};

/// A job's claim on a day, as stored.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = daily_runs, treat_none_as_default_value = false)]
pub struct DailyRunRow {
    pub job: String,
    pub day: NaiveDate,
    pub runner: String,
    pub claimed_until: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub report: Option<String>,
}

pub fn find(conn: &mut Conn, job: &str, day: NaiveDate) -> Result<Option<DailyRunRow>, ApiError> {
    Ok(daily_runs::table
        .find((job, day))
        .select(DailyRunRow::as_select())
        .first(conn)
        .optional()?)
}

/// A first claim; a 409 when another process made it meanwhile.
pub fn insert(conn: &mut Conn, row: &DailyRunRow) -> Result<(), ApiError> {
    diesel::insert_into(daily_runs::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| "another process claimed this day's run".into())?;
    Ok(())
}

/// Takes over a claim that ran out before `at` unfinished; false when there is none (it is finished, still
/// held, or someone else took it first).
pub fn take_over_expired(
    conn: &mut Conn,
    job: &str,
    day: NaiveDate,
    at: NaiveDateTime,
    runner: &str,
    until: NaiveDateTime,
) -> Result<bool, ApiError> {
    let taken = diesel::update(
        daily_runs::table
            .find((job, day))
            .filter(daily_runs::finished_at.is_null())
            .filter(daily_runs::claimed_until.lt(at)),
    )
    .set((daily_runs::runner.eq(runner), daily_runs::claimed_until.eq(until)))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Marks the run done with its report, or (no report) gives the claim back for another process to take.
pub fn finish(
    conn: &mut Conn,
    job: &str,
    day: NaiveDate,
    runner: &str,
    at: NaiveDateTime,
    report: Option<&str>,
) -> Result<(), ApiError> {
    let mine = daily_runs::table.find((job, day)).filter(daily_runs::runner.eq(runner));
    match report {
        Some(report) => diesel::update(mine)
            .set((
                daily_runs::finished_at.eq(Some(at)),
                daily_runs::report.eq(Some(report)),
            ))
            .execute(conn)?,
        None => diesel::update(mine)
            .set(daily_runs::claimed_until.eq(at))
            .execute(conn)?,
    };
    Ok(())
}
