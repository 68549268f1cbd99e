//! Several processes on one database behave as one (issue 17, part 1): the daily jobs run once a day across
//! them.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anzu::daily;
use anzu::db::Db;
use anzu::error::ApiError;
use common::{Backend, TestApp};
use serde_json::{Value, json};

/// One row of `daily_runs`: (runner, finished, report), or None.
fn run_of(app: &TestApp, job: &str) -> Option<(String, bool, Option<String>)> {
    let mut conn = app.db.get().unwrap();
    daily::repo::find(&mut conn, job, anzu::ids::today())
        .unwrap()
        .map(|r| (r.runner, r.finished_at.is_some(), r.report))
}

/// Two processes' timers fire together (two pools on one database): one runs the job, the other skips it;
/// later calls skip it too; a failed run gives its claim back and the next call runs it; a claim left by a
/// process that died is taken over once it runs out.
async fn a_daily_job_runs_once_across_processes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let url = app.state.settings.database_url.clone();
    let (one, other) = (Db::connect(&url, 2).unwrap(), Db::connect(&url, 2).unwrap());
    let today = anzu::ids::today();
    let runs = AtomicUsize::new(0);
    let work = || async {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<Value, ApiError>(json!({"done": true}))
    };
    let (a, b) = futures_util::future::join(
        daily::once(&one, "test_job", today, work),
        daily::once(&other, "test_job", today, work),
    )
    .await;
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(a.is_some() != b.is_some(), "{a:?} {b:?}");
    let (_, finished, report) = run_of(&app, "test_job").unwrap();
    assert!(finished);
    assert_eq!(report.as_deref(), Some(r#"{"done":true}"#));
    assert!(daily::once(&other, "test_job", today, work).await.unwrap().is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let failing = || async { Err::<Value, ApiError>(ApiError::Unavailable("the database went away".into())) };
    assert!(daily::once(&one, "flaky_job", today, failing).await.is_err());
    assert_eq!(run_of(&app, "flaky_job").map(|r| r.1), Some(false));
    assert!(daily::once(&other, "flaky_job", today, work).await.unwrap().is_some());
    assert_eq!(run_of(&app, "flaky_job").map(|r| r.1), Some(true));

    let dead = daily::repo::DailyRunRow {
        job: "orphaned_job".into(),
        day: today,
        runner: "a process that died".into(),
        claimed_until: anzu::ids::now() + chrono::Duration::minutes(5),
        finished_at: None,
        report: None,
    };
    daily::repo::insert(&mut app.db.get().unwrap(), &dead).unwrap();
    assert!(
        daily::once(&one, "orphaned_job", today, work).await.unwrap().is_none(),
        "its claim still holds"
    );
    {
        use diesel::prelude::*;
        let past = anzu::ids::now() - chrono::Duration::minutes(1);
        diesel::update(anzu::db::schema::daily_runs::table.find(("orphaned_job", today)))
            .set(anzu::db::schema::daily_runs::claimed_until.eq(past))
            .execute(&mut *app.db.get().unwrap())
            .unwrap();
    }
    assert!(daily::once(&one, "orphaned_job", today, work).await.unwrap().is_some());
    let (runner, finished, _) = run_of(&app, "orphaned_job").unwrap();
    assert!(finished && runner != "a process that died");
}

/// Two `anzu serve` processes started on one database run today's sweep and purge at start-up: each job once.
async fn two_servers_share_the_daily_jobs(backend: Backend) {
    let app = TestApp::start(backend).await;
    let _first = app.spawn_process(&[]).await;
    let _second = app.spawn_process(&[]).await;
    for _ in 0..300 {
        let jobs = ["compliance_sweep", "personal_data_purge"].map(|job| run_of(&app, job));
        if jobs.iter().all(|run| matches!(run, Some((_, true, _)))) {
            assert_eq!(app.count("daily_runs"), 2);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the daily jobs did not finish within 30 s");
}

backend_tests!(a_daily_job_runs_once_across_processes, two_servers_share_the_daily_jobs);
