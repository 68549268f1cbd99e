//! Jobs that run once a day across every process on the database (the compliance sweep, then the purge).
//! Several identical processes may serve one PostgreSQL (docs/deployment.md): each one's timer fires, the first
//! to claim the job's day in `daily_runs` runs it and the others skip it. A process that dies mid-run leaves
//! its claim unfinished; after [`CLAIM_MINUTES`] another process takes it over (a sweep and a purge may run
//! again: neither does anything twice).

pub mod repo;

use std::future::Future;
use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::db::Db;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use repo::DailyRunRow;

/// How long a claim holds before another process may take over an unfinished run.
pub const CLAIM_MINUTES: i64 = 30;

/// This process, as it signs its claims.
fn runner() -> &'static str {
    static RUNNER: OnceLock<String> = OnceLock::new();
    RUNNER.get_or_init(|| format!("pid {} ({})", std::process::id(), new_id()))
}

/// Claims `job` for `day` for this process: true when it is this process's to run. Each step is one write
/// statement first in its transaction (no read before it), so on SQLite it waits for the write lock instead of
/// failing to upgrade a read.
pub async fn claim(db: &Db, job: &'static str, day: NaiveDate) -> Result<bool, ApiError> {
    let first = db
        .write(move |conn| {
            let until = now() + Duration::minutes(CLAIM_MINUTES);
            repo::insert(
                conn,
                &DailyRunRow {
                    job: job.to_owned(),
                    day,
                    runner: runner().to_owned(),
                    claimed_until: until,
                    finished_at: None,
                    report: None,
                },
            )
        })
        .await;
    match first {
        Ok(()) => Ok(true),
        // Claimed already (by another process, or by this one on an earlier day's timer): take it over only
        // when that claim ran out unfinished.
        Err(ApiError::Conflict(_)) => {
            db.write(move |conn| {
                let at = now();
                repo::take_over_expired(conn, job, day, at, runner(), at + Duration::minutes(CLAIM_MINUTES))
            })
            .await
        }
        Err(err) => Err(err),
    }
}

/// Runs `work` as `job` of `day` when this process claims it, and records its report (a failed run gives
/// its claim back at once, for the next timer of any process); `None` when another process has it.
pub async fn once<T, F, Fut>(db: &Db, job: &'static str, day: NaiveDate, work: F) -> Result<Option<T>, ApiError>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    if !claim(db, job, day).await? {
        return Ok(None);
    }
    let result = work().await;
    let report = match &result {
        Ok(report) => Some(serde_json::to_string(report).map_err(|e| ApiError::internal(anyhow::Error::from(e)))?),
        Err(_) => None,
    };
    db.write(move |conn| repo::finish(conn, job, day, runner(), now(), report.as_deref()))
        .await?;
    result.map(Some)
}
