//! Compliance notices through the outbox, delivered to a real SMTP server over TCP, and the sweep.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::{Scene, date};
use common::{Backend, JsonExt, SmtpServer, TestApp, parse_mail, resident_id};
use diesel::prelude::*;
use serde_json::json;

async fn notices_reach_the_landlord_in_both_languages(backend: Backend) {
    let Some(smtp) = SmtpServer::start() else { return };
    let s = Scene::mailing_to(backend, Some(&smtp)).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "101", 5.0).await;
    let number = resident_id("19900101", 5);
    s.app
        .declare(&s.landlord, unit.id(), &number, &date(-10))
        .await
        .expect(201);
    s.app
        .declare(&s.landlord, unit.id(), &resident_id("19900101", 7), &date(0))
        .await
        .expect(201);
    // Overcrowded again in the same week: the week's notice is there already, and none is queued twice.
    s.app
        .declare(&s.landlord, unit.id(), &resident_id("19900101", 9), &date(0))
        .await
        .expect(201);
    s.inspect(&date(0), &["ESC-01", "OCC-01"]).await;

    let queued = s.notices("&status=queued").await;
    let mut kinds: Vec<&str> = queued.iter().map(|n| n.str("kind")).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["declaration_late", "inspection_result", "overcrowding"]);

    let report = s.app.delivery(300).drain().await.unwrap();
    assert_eq!(report.sent, 3);
    let mails: Vec<common::Mail> = smtp.messages().iter().map(|m| parse_mail(m)).collect();
    assert_eq!(mails.len(), 3);
    let landlord_email = s.landlord.user.str("email");
    for mail in &mails {
        assert_eq!(mail.to, vec![landlord_email.to_owned()]);
        assert!(
            mail.subject.starts_with(&format!("[{}] ", s.code())),
            "{}",
            mail.subject
        );
        assert!(
            mail.text.contains("您好") && mail.text.contains("Dear"),
            "both languages: {}",
            mail.text
        );
        assert!(mail.html.contains(s.code()));
        assert!(
            !mail.raw.contains(&number) && !mail.text.contains(&number) && !mail.html.contains(&number),
            "no identity number"
        );
        assert!(!mail.text.contains(&number[4..14]));
    }
    let result = mails.iter().find(|m| m.subject.contains("Inspection result")).unwrap();
    assert!(
        result.subject.contains("0 星") && result.text.contains("ESC-01") && result.text.contains(&date(1)),
        "{}",
        result.text
    );
    assert!(
        result.text.contains("suspends the property"),
        "says what happens if missed"
    );

    let sent = s.notices("&status=sent").await;
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|n| n["sent_at"].is_string() && n["attempts"] == 1 && n["last_error"].is_null())
    );
    assert_eq!(
        s.app.delivery(300).drain().await.unwrap().sent,
        0,
        "nothing is sent twice"
    );
    assert_eq!(smtp.messages().len(), 3);
}

async fn an_smtp_outage_delays_but_loses_nothing(backend: Backend) {
    let mut smtp = SmtpServer::stopped();
    let s = Scene::mailing_to(backend, Some(&smtp)).await;
    let membership = format!("/api/v1/users/{}/membership", s.landlord.id());
    s.app
        .post(
            &membership,
            Some(&s.admin.token),
            json!({"action": "suspend", "reason": "欠缴会费"}),
        )
        .await
        .expect(200);
    s.app
        .post(
            &membership,
            Some(&s.admin.token),
            json!({"action": "reinstate", "reason": "已缴清"}),
        )
        .await
        .expect(200);

    let report = s.app.delivery(300).drain().await.unwrap();
    assert_eq!((report.sent, report.retrying), (0, 2));
    let waiting = s.notices("&kind=membership_changed").await;
    assert!(
        waiting
            .iter()
            .all(|n| n["status"] == "queued" && n["attempts"] == 1 && n["last_error"].is_string())
    );
    let next: chrono::DateTime<chrono::Utc> = waiting[0].str("next_attempt_at").parse().unwrap();
    let wait = next - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::seconds(50) && wait <= chrono::Duration::seconds(60),
        "first retry after a minute: {wait}"
    );
    assert_eq!(
        s.app.delivery(300).drain().await.unwrap(),
        Default::default(),
        "not due yet"
    );

    if !smtp.resume() {
        return;
    }
    s.app.make_notices_due_now();
    let report = s.app.delivery(300).drain().await.unwrap();
    assert_eq!(report.sent, 2);
    s.app.make_notices_due_now();
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 0);
    assert_eq!(smtp.messages().len(), 2, "each delivered exactly once");
    let subjects: Vec<String> = smtp.messages().iter().map(|m| parse_mail(m).subject).collect();
    assert!(subjects.iter().all(|s| s.starts_with("会员资格变更")), "{subjects:?}");
}

async fn a_notice_claimed_by_a_dead_worker_is_sent_once_after_the_claim_expires(backend: Backend) {
    let Some(smtp) = SmtpServer::start() else { return };
    let s = Scene::mailing_to(backend, Some(&smtp)).await;
    s.app
        .post(
            &format!("/api/v1/properties/{}/delist", s.pid()),
            Some(&s.admin.token),
            json!({"reason": "拒不整改"}),
        )
        .await
        .expect(200);
    // A worker claims it for one second and dies without sending.
    let claimed = s
        .app
        .db
        .write_blocking(|conn| {
            let now = anzu::ids::now();
            anzu::notices::repo::claim_due(conn, now, now + chrono::Duration::seconds(1), 10)
        })
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 0, "the claim holds");
    s.app.advance_clock(chrono::Duration::seconds(3));
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 1);
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 0);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    let mail = parse_mail(&mails[0]);
    assert!(mail.subject.contains("Property delisted") && mail.text.contains("拒不整改"));
}

async fn without_smtp_mail_is_written_as_files(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(0), &[]).await;
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 1);
    let outbox = s.app.work_dir.path().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let mail = parse_mail(&std::fs::read(files[0].path()).unwrap());
    assert!(mail.subject.contains("5 stars"));
    // Names and addresses at rest are the service user's alone: the e-mails, and on SQLite the database.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&files[0].path()), 0o600);
    assert_eq!(mode(&outbox), 0o700);
    if backend == Backend::Sqlite {
        let database = s.app.state.settings.database_url.clone();
        for file in [database.clone(), format!("{database}-wal"), format!("{database}-shm")] {
            assert_eq!(mode(std::path::Path::new(&file)), 0o600, "{file}");
        }
    }
}

async fn the_sweep_finds_overdue_work_once(backend: Backend) {
    let s = Scene::new(backend).await;
    // Rated long ago: the rating runs out within 30 days, and a minor order is long overdue. An inspection
    // may be entered at most 366 days back, so the validity of a rating born 23 months ago is set directly.
    s.inspect(&date(-340), &["MGT-01"]).await;
    {
        use anzu::db::schema::properties;
        use diesel::prelude::*;
        let mut conn = s.app.db.get().unwrap();
        diesel::update(properties::table.filter(properties::id.eq(s.pid())))
            .set(properties::rating_valid_until.eq(anzu::ids::today() + chrono::Duration::days(10)))
            .execute(&mut *conn)
            .unwrap();
    }
    // Another property with a critical order due tomorrow, and one overdue since yesterday.
    let village_id = s.property.str("village_id").to_owned();
    let other = s.app.property(&s.landlord, &village_id).await;
    s.inspect_property(other.id(), &date(0), &["ESC-03"]).await;
    let third = s.app.property(&s.landlord, &village_id).await;
    s.inspect_property(third.id(), &date(-2), &["STR-01"]).await;
    let unit = s.app.unit(&s.landlord, other.id(), "1", 4.0).await;
    for seq in [1, 3] {
        s.app
            .declare(&s.landlord, unit.id(), &resident_id("19700101", seq), &date(-20))
            .await
            .expect(201);
    }
    let before = s.notices("").await.len();

    let first = s
        .app
        .post("/api/v1/compliance/sweep", Some(&s.admin.token), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(first["rectifications_overdue"], 2, "{first}");
    assert_eq!(first["due_soon_notices"], 1);
    assert_eq!(first["overdue_notices"], 2);
    assert_eq!(first["rating_expiring_notices"], 1);
    assert_eq!(first["late_declaration_notices"], 0, "already queued when declared");
    assert_eq!(
        first["overcrowding_notices"], 0,
        "already queued this week when declared"
    );
    assert_eq!(first["notices_queued"], 4);
    let third_now = s
        .app
        .get(&format!("/api/v1/properties/{}", third.id()), Some(&s.landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(third_now["status"], "suspended");
    assert_eq!(s.notices("").await.len(), before + 4);

    let second = s
        .app
        .post("/api/v1/compliance/sweep", Some(&s.admin.token), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(second["notices_queued"], 0, "{second}");
    assert_eq!(second["rectifications_overdue"], 0);
    assert_eq!(s.notices("").await.len(), before + 4);

    s.app
        .post("/api/v1/compliance/sweep", Some(&s.landlord.token), json!({}))
        .await
        .problem(403);
    let own = s
        .app
        .get("/api/v1/notices?kind=rectification_overdue", Some(&s.landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(own.array("items").len(), 2);
    let inspector_sees = s
        .app
        .get("/api/v1/notices", Some(&s.inspector.token))
        .await
        .expect(200)
        .body;
    assert!(inspector_sees.array("items").is_empty(), "others' notices stay private");
}

backend_tests!(
    notices_reach_the_landlord_in_both_languages,
    an_smtp_outage_delays_but_loses_nothing,
    a_notice_claimed_by_a_dead_worker_is_sent_once_after_the_claim_expires,
    without_smtp_mail_is_written_as_files,
    the_sweep_finds_overdue_work_once,
);

/// Runs the sweep as if today were `day`; the notices it queued.
async fn sweep_on(s: &Scene, day: chrono::NaiveDate) -> u64 {
    let settings = s.app.state.settings.clone();
    let report = s
        .app
        .db
        .write(move |conn| anzu::compliance::run(conn, &settings, day))
        .await
        .unwrap();
    report.notices_queued as u64
}

/// The notices of `kind` about `property_id`.
fn notices_about(s: &Scene, kind: &str, property_id: &str) -> i64 {
    use anzu::db::schema::notices;
    let mut conn = s.app.db.get().unwrap();
    notices::table
        .filter(notices::kind.eq(kind))
        .filter(notices::property_id.eq(property_id))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

/// A deadline is reminded 3 days and 1 day before and the day after it is missed, each stage once however often
/// the sweep runs (two at once included); a rating 60, 30 and 7 days before it expires; a settled order is not.
async fn each_reminder_stage_is_sent_once(backend: Backend) {
    let s = Scene::new(backend).await;
    let inspection = s.inspect(&date(0), &["MGT-01"]).await;
    let due_on: chrono::NaiveDate = inspection["rectifications"][0]["due_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A second block whose order is settled (reported and verified) before any stage: never reminded.
    let village_id = s.property.str("village_id").to_owned();
    let settled = s.app.property(&s.landlord, &village_id).await;
    let order = s.inspect_property(settled.id(), &date(0), &["MGT-01"]).await["rectifications"][0].clone();
    let reported = s
        .app
        .call(
            "POST",
            &format!("/api/v1/rectifications/{}/report", order.id()),
            Some(&s.landlord.token),
            &[],
            Some(&json!({"note": "整改完成"})),
        )
        .await
        .expect(200)
        .body;
    s.app
        .call(
            "POST",
            &format!("/api/v1/rectifications/{}/verify", order.id()),
            Some(&s.inspector.token),
            &[("If-Match", &format!("\"{}\"", reported["version"]))],
            Some(&json!({"resolved": true, "note": "好"})),
        )
        .await
        .expect(200);
    let day = |offset: i64| due_on + chrono::Duration::days(offset);
    let mut soon = Vec::new();
    for offset in [-20, -4, -3, -3, -2, -1, 0] {
        sweep_on(&s, day(offset)).await;
        soon.push(notices_about(&s, "rectification_due_soon", s.pid()));
    }
    assert_eq!(soon, [0, 0, 1, 1, 1, 2, 2], "3 days and 1 day before, once each");
    let (a, b) = futures_util::future::join(sweep_on(&s, day(1)), sweep_on(&s, day(1))).await;
    assert_eq!(a + b, 1, "the day after, once, however many sweeps at once");
    sweep_on(&s, day(5)).await;
    assert_eq!(notices_about(&s, "rectification_overdue", s.pid()), 1);
    assert_eq!(
        notices_about(&s, "rectification_due_soon", settled.id()),
        0,
        "settled before any stage"
    );
    assert_eq!(notices_about(&s, "rectification_overdue", settled.id()), 0);

    // The rating of the settled block runs out in 70 days.
    let today = anzu::ids::today();
    {
        use anzu::db::schema::properties;
        let mut conn = s.app.db.get().unwrap();
        diesel::update(properties::table.filter(properties::id.eq(settled.id())))
            .set((
                properties::status.eq("rated"),
                properties::rating_valid_until.eq(today + chrono::Duration::days(70)),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    let mut expiring = Vec::new();
    for offset in [0, 10, 25, 40, 60, 63, 70, 71] {
        sweep_on(&s, today + chrono::Duration::days(offset)).await;
        expiring.push(notices_about(&s, "rating_expiring", settled.id()));
    }
    assert_eq!(
        expiring,
        [0, 1, 1, 2, 2, 3, 3, 3],
        "60, 30 and 7 days before, once each"
    );
}

/// The stages are a setting.
async fn reminder_stages_are_a_setting(backend: Backend) {
    let stages =
        r#"{"rectification_before_days": [5], "rectification_after_days": [2], "rating_expiry_before_days": []}"#;
    let s = Scene::with(backend, &[("ANZU_REMINDER_STAGES", stages)]).await;
    let inspection = s.inspect(&date(0), &["MGT-01"]).await;
    let due_on: chrono::NaiveDate = inspection["rectifications"][0]["due_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut counts = Vec::new();
    for offset in [-6, -5, -1, 1, 2] {
        sweep_on(&s, due_on + chrono::Duration::days(offset)).await;
        counts.push((
            notices_about(&s, "rectification_due_soon", s.pid()),
            notices_about(&s, "rectification_overdue", s.pid()),
        ));
    }
    assert_eq!(counts, [(0, 0), (1, 0), (1, 0), (1, 0), (1, 1)]);
}

async fn two_sweeps_at_once_queue_nothing_twice(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(-10), &["MGT-01", "ESC-04"]).await;
    let village_id = s.property.str("village_id").to_owned();
    for _ in 0..3 {
        let p = s.app.property(&s.landlord, &village_id).await;
        s.inspect_property(p.id(), &date(0), &["ESC-01"]).await;
    }
    let before = s.notices("").await.len();
    let sweep = || s.app.post("/api/v1/compliance/sweep", Some(&s.admin.token), json!({}));
    let (a, b) = futures_util::future::join(sweep(), sweep()).await;
    let (a, b) = (a.expect(200).body, b.expect(200).body);
    let queued = a["notices_queued"].as_u64().unwrap() + b["notices_queued"].as_u64().unwrap();
    assert_eq!(
        queued, 4,
        "one overdue notice and three due-soon notices, once: {a} {b}"
    );
    assert_eq!(
        a["rectifications_overdue"].as_u64().unwrap() + b["rectifications_overdue"].as_u64().unwrap(),
        1
    );
    assert_eq!(s.notices("").await.len() as u64, before as u64 + queued);
}

async fn admins_retry_failed_notices(backend: Backend) {
    let s = Scene::new(backend).await;
    s.inspect(&date(0), &[]).await;
    let notice = s.notices("").await.pop().unwrap();
    let retry = format!("/api/v1/notices/{}/retry", notice.id());
    s.app.post(&retry, Some(&s.admin.token), json!({})).await.problem(409);
    {
        use anzu::db::schema::notices;
        let mut conn = s.app.db.get().unwrap();
        diesel::update(notices::table)
            .set((
                notices::status.eq("failed"),
                notices::attempts.eq(10),
                notices::last_error.eq("mailbox full"),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    s.app
        .post(&retry, Some(&s.landlord.token), json!({}))
        .await
        .problem(403);
    let retried = s
        .app
        .post(&retry, Some(&s.admin.token), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_i64()),
        (Some("queued"), Some(0))
    );
    s.app
        .post("/api/v1/notices/nope/retry", Some(&s.admin.token), json!({}))
        .await
        .problem(404);
    assert_eq!(s.app.delivery(300).drain().await.unwrap().sent, 1);
}

/// A mail server that takes connections and never says a word; notes when it accepted each.
struct SilentSmtp {
    port: u16,
    accepted: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

impl SilentSmtp {
    fn start() -> SilentSmtp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let noted = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                noted.lock().unwrap().push(std::time::Instant::now());
                // Reads until the client gives up and closes; answers nothing.
                std::thread::spawn(move || std::io::copy(&mut &stream, &mut std::io::sink()));
            }
        });
        SilentSmtp { port, accepted }
    }

    /// Connections opened before any send could have timed out (within `window` of the first): at most
    /// as many as run at once.
    fn first_wave(&self, window: std::time::Duration) -> usize {
        let accepted = self.accepted.lock().unwrap();
        let Some(first) = accepted.first().copied() else {
            return 0;
        };
        accepted.iter().filter(|at| at.duration_since(first) < window).count()
    }
}

/// Queues `count` notices to the scene's landlord.
fn queue_notices(app: &TestApp, recipient_id: &str, count: usize) {
    let recipient_id = recipient_id.to_owned();
    app.db
        .write_blocking(move |conn| {
            let recipient = anzu::accounts::repo::find(conn, &recipient_id)?;
            for n in 0..count {
                anzu::notices::outbox::queue(
                    conn,
                    anzu::notices::outbox::NewNotice {
                        kind: anzu::notices::model::NoticeKind::MembershipChanged,
                        recipient: (&recipient).into(),
                        property: None,
                        context: json!({"from": "active", "to": "suspended", "action": "suspend", "reason": format!("n{n}")}),
                        dedupe_key: None,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
}

/// A mail server that accepts and never answers costs each send its time-out, recorded as a failed attempt,
/// and never more connections at once than the pool holds; nothing stays `sending`.
async fn a_silent_mail_server_cannot_stop_delivery(backend: Backend) {
    let silent = SilentSmtp::start();
    let url = format!("smtp://127.0.0.1:{}", silent.port);
    let app = TestApp::start_with(backend, &[("ANZU_SMTP_URL", &url), ("ANZU_SMTP_TIMEOUT_SECS", "1")]).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    queue_notices(&app, &landlord.id(), 20);
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(std::time::Duration::from_secs(30), app.delivery(300).drain())
        .await
        .expect("delivery ends although the server never answers")
        .unwrap();
    assert_eq!((report.sent, report.retrying, report.failed), (0, 20, 0));
    // 20 sends of at most 1 s each, 8 at a time: three rounds.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Sends time out after 1 s: what opened within 0.8 s of the first ran at once.
    let at_once = silent.first_wave(std::time::Duration::from_millis(800));
    assert!((1..=8).contains(&at_once), "{at_once} connections at once");
    let notices = app
        .get("/api/v1/notices?limit=200", Some(&v.admin.token))
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notices.len(), 20);
    for notice in &notices {
        assert_eq!(notice["status"], "queued", "{notice}");
        assert_eq!(notice["attempts"], 1, "{notice}");
        assert!(!notice["last_error"].as_str().unwrap_or("").is_empty(), "{notice}");
    }
}

/// kill -9 of a server in the middle of delivery re-sends at most the messages then in flight (each notice is
/// marked sent as its own send ends), and every notice is delivered.
async fn a_crash_during_delivery_resends_at_most_the_sends_in_flight(backend: Backend) {
    const NOTICES: usize = 150;
    let Some(smtp) = SmtpServer::start() else { return };
    let url = smtp.url();
    let app = TestApp::start_with(backend, &[("ANZU_SMTP_URL", &url)]).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    queue_notices(&app, &landlord.id(), NOTICES);
    let mut process = app
        .spawn_process(&[
            ("ANZU_SMTP_URL", &url),
            ("ANZU_NOTICE_POLL_SECS", "1"),
            ("ANZU_NOTICE_CLAIM_SECS", "2"),
            ("ANZU_SMTP_TIMEOUT_SECS", "1"),
        ])
        .await;
    let started = std::time::Instant::now();
    while smtp.messages().len() < 20 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the process delivers nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    process.kill();
    let before_restart = smtp.messages().len();
    // Its claims (2 s) run out; another worker takes over.
    app.advance_clock(chrono::Duration::seconds(3));
    app.delivery(2).drain().await.unwrap();
    let messages = smtp.messages();
    let mut ids: Vec<String> = messages
        .iter()
        .map(|raw| {
            let text = String::from_utf8_lossy(raw);
            let line = text
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .expect("a Message-ID");
            line["message-id:".len()..].trim().to_owned()
        })
        .collect();
    let received = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), NOTICES, "every notice delivered");
    let duplicates = received - NOTICES;
    eprintln!("kill -9 after {before_restart} of {NOTICES} delivered: {duplicates} sent twice");
    assert!(
        duplicates <= anzu::notices::mailer::SMTP_POOL_SIZE as usize,
        "{duplicates} duplicates"
    );
}

backend_tests!(
    two_sweeps_at_once_queue_nothing_twice,
    each_reminder_stage_is_sent_once,
    reminder_stages_are_a_setting,
    admins_retry_failed_notices,
    a_silent_mail_server_cannot_stop_delivery,
    a_crash_during_delivery_resends_at_most_the_sends_in_flight
);

async fn the_sweep_catches_up_on_late_declarations_not_yet_notified(backend: Backend) {
    let s = Scene::new(backend).await;
    let unit = s.app.unit(&s.landlord, s.pid(), "1", 40.0).await;
    for seq in [1, 3] {
        s.app
            .declare(&s.landlord, unit.id(), &resident_id("19700101", seq), &date(-20))
            .await
            .expect(201);
    }
    {
        // As if the notices had been lost, or the tenancies imported.
        use anzu::db::schema::notices;
        let mut conn = s.app.db.get().unwrap();
        diesel::delete(notices::table.filter(notices::kind.eq("declaration_late")))
            .execute(&mut *conn)
            .unwrap();
    }
    let first = s
        .app
        .post("/api/v1/compliance/sweep", Some(&s.admin.token), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(first["late_declaration_notices"], 2);
    let second = s
        .app
        .post("/api/v1/compliance/sweep", Some(&s.admin.token), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(second["late_declaration_notices"], 0);
    let notices = s.notices("&kind=declaration_late").await;
    assert!(
        notices
            .iter()
            .all(|n| n.str("subject").starts_with(&format!("[{}]", s.code())))
    );
}

backend_tests!(the_sweep_catches_up_on_late_declarations_not_yet_notified);
