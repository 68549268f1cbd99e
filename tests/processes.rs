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
use common::scene::{Scene, date};
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

/// A process that cached a property's public answer shows its new rating at once when another process on the
/// database records an inspection (PostgreSQL `LISTEN/NOTIFY`), not after its 60-second cache runs out. SQLite
/// serves from one process: nothing to share there.
async fn a_rating_change_shows_on_every_process_at_once(backend: Backend) {
    if backend == Backend::Sqlite {
        return;
    }
    let s = Scene::new(backend).await;
    s.inspect(&date(-1), &[]).await;
    let other = s.app.spawn_process(&[]).await;
    let public = format!("{}/public/v1/ratings/{}", other.address, s.code());
    let stars_there = async || -> i64 {
        let mut answer = s.app.client.get(public.as_str()).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let body: Value = serde_json::from_slice(&answer.body().await.unwrap()).unwrap();
        body["stars"].as_i64().unwrap()
    };
    assert_eq!(stars_there().await, 5, "now cached in the other process");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lowered = s.inspect(&date(0), &["GAS-02"]).await;
    let stars = lowered["stars"].as_i64().unwrap();
    assert!(stars < 5);
    let started = std::time::Instant::now();
    while stars_there().await != stars {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the other process still shows 5 stars"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!("the other process showed the change after {:?}", started.elapsed());
}

/// Sends a JSON request (or a GET without `body`) to `base` and answers the status.
async fn status_at(app: &TestApp, base: &str, path: &str, body: Option<Value>) -> u16 {
    let url = format!("{base}{path}");
    let answer = match body {
        Some(body) => app.client.post(url).send_json(&body).await,
        None => app.client.get(url).send().await,
    };
    answer.unwrap().status().as_u16()
}

/// On PostgreSQL the login throttle, the public look-up limit and the account request limits are counted in
/// the database: requests alternating between two processes use up one allowance, not one each. (SQLite serves
/// from one process, in whose memory they are counted.)
async fn rate_limits_hold_across_processes(backend: Backend) {
    if backend == Backend::Sqlite {
        return;
    }
    let limits = [
        ("ANZU_LOGIN_MAX_FAILURES", "3"),
        ("ANZU_PUBLIC_RATE_PER_MINUTE", "4"),
        ("ANZU_ACCOUNT_REQUESTS_PER_MINUTE", "4"),
    ];
    let app = TestApp::start_with(backend, &limits).await;
    let other = app.spawn_process(&limits).await;
    let bases = [app.address.clone(), other.address.clone()];
    let mut seen = Vec::new();
    for n in 0..4 {
        let guess = json!({"login": "nobody@example.cn", "password": "not-the-password-1"});
        seen.push(status_at(&app, &bases[n % 2], "/api/v1/auth/login", Some(guess)).await);
    }
    assert_eq!(
        seen,
        [401, 401, 401, 429],
        "three failures in all, not three per process"
    );
    seen.clear();
    for n in 0..5 {
        seen.push(status_at(&app, &bases[n % 2], "/public/v1/ratings/NOPE0001", None).await);
    }
    assert_eq!(seen, [404, 404, 404, 404, 429], "four look-ups a minute in all");
    seen.clear();
    for n in 0..5 {
        let ask = json!({"login": "nobody@example.cn"});
        seen.push(status_at(&app, &bases[n % 2], "/api/v1/auth/forgot-password", Some(ask)).await);
    }
    assert_eq!(&seen[4..], [429], "four account requests a minute in all: {seen:?}");
    assert!(seen[..4].iter().all(|s| *s != 429), "{seen:?}");
}

backend_tests!(
    rate_limits_hold_across_processes,
    a_daily_job_runs_once_across_processes,
    two_servers_share_the_daily_jobs,
    a_rating_change_shows_on_every_process_at_once,
);
