//! Landlord training (issue 16, part 2): sessions and who attended, `training_valid_until` on a landlord's answer,
//! the untrained and lapsed in the summary and the members list, the reminder before training lapses, and the
//! owner's training beside MGT-02 on the console's inspection form.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Months, NaiveDate};
use common::scene::{Scene, date};
use common::visitor::Visitor;
use common::{Answer, Backend, JsonExt, PASSWORD, Session};
use diesel::prelude::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/training-sessions";

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn plus_months(text: &str, months: u32) -> String {
    day(text).checked_add_months(Months::new(months)).unwrap().to_string()
}

/// Records a session in the scene's village held on `held_on`, attended by `landlords`.
async fn record(s: &Scene, by: &Session, held_on: &str, landlords: &[&str]) -> Answer {
    s.app
        .post(
            SESSIONS,
            Some(&by.token),
            json!({"title": "出租房消防安全培训", "held_on": held_on, "village_id": s.village_id,
                   "trainer": "陈埭镇消防站", "landlord_ids": landlords}),
        )
        .await
}

async fn set_attendees(s: &Scene, by: Option<&str>, session: &Value, landlords: &[&str]) -> Answer {
    let etag = format!("\"{}\"", session["version"]);
    s.app
        .call(
            "PUT",
            &format!("{SESSIONS}/{}/attendees", session.id()),
            by,
            &[("If-Match", etag.as_str())],
            Some(&json!({"landlord_ids": landlords})),
        )
        .await
}

async fn valid_until(s: &Scene, landlord: &Session) -> Value {
    s.app.get("/api/v1/me", Some(&landlord.token)).await.expect(200).body["training_valid_until"].clone()
}

/// An attendance makes a landlord's training valid until the session's date plus the setting, on `/me`, the user
/// answer and the members list; a later session renews it; taking the landlord off the list takes it away.
async fn attendance_sets_training_valid_until(backend: Backend) {
    let s = Scene::with(backend, &[("ANZU_TRAINING_VALID_MONTHS", "6")]).await;
    assert_eq!(valid_until(&s, &s.landlord).await, Value::Null, "never trained");
    let held_on = date(-10);
    let session = record(&s, &s.inspector, &held_on, &[&s.landlord.id()])
        .await
        .expect(201);
    assert_eq!(session.header("etag").as_deref(), Some("\"1\""));
    let session = session.body;
    let expected = plus_months(&held_on, 6);
    assert_eq!(session["valid_until"], expected.as_str());
    assert_eq!(session["landlord_ids"], json!([s.landlord.id()]));
    assert_eq!(valid_until(&s, &s.landlord).await, expected.as_str());
    let user = s
        .app
        .get(&format!("/api/v1/users/{}", s.landlord.id()), Some(&s.admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(user["training_valid_until"], expected.as_str());
    let members = s
        .app
        .get("/api/v1/users?role=landlord", Some(&s.auditor.token))
        .await
        .expect(200)
        .body;
    let listed = members
        .array("items")
        .iter()
        .find(|u| u.id() == s.landlord.id())
        .unwrap();
    assert_eq!(listed["training_valid_until"], expected.as_str());
    let staff = s.app.get("/api/v1/me", Some(&s.inspector.token)).await.expect(200).body;
    assert_eq!(staff["training_valid_until"], Value::Null);

    // A later session renews; an earlier one recorded afterwards does not shorten it.
    let later = date(-2);
    record(&s, &s.admin, &later, &[&s.landlord.id()]).await.expect(201);
    record(&s, &s.admin, &date(-300), &[&s.landlord.id()]).await.expect(201);
    assert_eq!(valid_until(&s, &s.landlord).await, plus_months(&later, 6).as_str());

    // The first session's list, replaced (a list naming no landlord of the village is refused first, then a stale
    // If-Match).
    let stale = json!({"id": session.id(), "version": 7});
    let refused = set_attendees(&s, Some(&s.inspector.token), &stale, &["not-an-id"])
        .await
        .problem(422);
    assert_eq!(refused["errors"][0]["field"], "landlord_ids[0]", "{refused}");
    set_attendees(&s, Some(&s.inspector.token), &stale, &[])
        .await
        .problem(412);
    let replaced = set_attendees(&s, Some(&s.inspector.token), &session, &[])
        .await
        .expect(200);
    assert_eq!(replaced.body["version"], 2);
    assert_eq!(replaced.body["landlord_ids"], json!([]));
    assert_eq!(replaced.body["valid_until"], Value::Null);
    let read = s
        .app
        .get(&format!("{SESSIONS}/{}", session.id()), Some(&s.auditor.token))
        .await
        .expect(200);
    assert_eq!(read.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(read.body["title"], "出租房消防安全培训");
    let list = s.app.get(SESSIONS, Some(&s.auditor.token)).await.expect(200).body;
    assert_eq!(list.array("items").len(), 3);
    assert_eq!(list.array("items")[0].id(), session.id(), "oldest first");
}

/// Approved members never trained or lapsed are counted in the summary and listed by `?training=`.
async fn untrained_and_lapsed_are_counted_and_listed(backend: Backend) {
    let s = Scene::new(backend).await;
    let lapsed = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let trained = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    let pending = s.app.registered_landlord(&s.village_id).await;
    record(&s, &s.inspector, &date(-800), &[&lapsed.id()]).await.expect(201);
    record(&s, &s.inspector, &date(-30), &[&trained.id()]).await.expect(201);
    let summary = s.summary().await;
    assert_eq!(
        summary["landlord_training"],
        json!({"untrained": 1, "lapsed": 1}),
        "the pending one is no member"
    );
    let town = s
        .app
        .get("/api/v1/reports/summary", Some(&s.admin.token))
        .await
        .expect(200)
        .body;
    assert_eq!(town["landlord_training"], json!({"untrained": 1, "lapsed": 1}));

    let listed = |standing: &'static str| {
        let app = &s.app;
        let token = s.auditor.token.clone();
        async move {
            let body = app
                .get(&format!("/api/v1/users?training={standing}"), Some(&token))
                .await
                .expect(200)
                .body;
            let mut ids: Vec<String> = body.array("items").iter().map(|u| u.id().to_owned()).collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(listed("untrained").await, sorted(vec![s.landlord.id(), pending.id()]));
    assert_eq!(listed("lapsed").await, vec![lapsed.id()]);
    assert_eq!(listed("valid").await, vec![trained.id()]);
    let bad = s
        .app
        .get("/api/v1/users?training=sometimes", Some(&s.auditor.token))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}

/// The training reminders sent to `user_id`.
fn reminders_of(s: &Scene, user_id: &str) -> Vec<(String, String)> {
    use anzu::db::schema::notices;
    let mut conn = s.app.db.get().unwrap();
    notices::table
        .filter(notices::kind.eq("training_expiring"))
        .filter(notices::recipient_id.eq(user_id))
        .order(notices::created_at.asc())
        .select((notices::subject, notices::body_text))
        .load(&mut *conn)
        .unwrap()
}

/// The reminder goes at each stage before training lapses, once however often the sweep runs; a renewal stops it.
async fn the_reminder_is_sent_once_per_stage_until_renewed(backend: Backend) {
    let s = Scene::with(
        backend,
        &[("ANZU_REMINDER_STAGES", r#"{"training_expiry_before_days": [30, 7]}"#)],
    )
    .await;
    let renewing = s.app.user(&s.admin, "landlord", Some(&s.village_id)).await;
    // Trained a year and a month ago: the training lapses in about eleven months.
    let held_on = date(-400);
    record(&s, &s.inspector, &held_on, &[&s.landlord.id(), &renewing.id()])
        .await
        .expect(201);
    let lapses = day(&plus_months(&held_on, 24));
    let before = |days: i64| lapses - chrono::Duration::days(days);
    let mut counts = Vec::new();
    for days in [60, 31, 30, 30, 20, 8] {
        s.sweep_on(before(days)).await;
        counts.push(reminders_of(&s, &s.landlord.id()).len());
    }
    assert_eq!(counts, [0, 0, 1, 1, 1, 1], "the 30-day stage, once");
    let (subject, text) = &reminders_of(&s, &s.landlord.id())[0];
    assert!(
        subject.contains("培训") && subject.contains(&lapses.to_string()),
        "{subject}"
    );
    assert!(
        text.find("您好").unwrap() < text.find("Dear").unwrap(),
        "Chinese first: {text}"
    );

    // The renewing landlord attends again (today): the 7-day stage of the old date never comes for them.
    record(&s, &s.admin, &date(0), &[&renewing.id()]).await.expect(201);
    for days in [7, 7, 3, 0] {
        s.sweep_on(before(days)).await;
    }
    assert_eq!(reminders_of(&s, &s.landlord.id()).len(), 2, "the 7-day stage, once");
    assert_eq!(
        reminders_of(&s, &renewing.id()).len(),
        1,
        "only the 30-day one, before the renewal"
    );
    s.sweep_on(lapses + chrono::Duration::days(1)).await;
    assert_eq!(reminders_of(&s, &s.landlord.id()).len(), 2, "nothing once lapsed");
}

/// Bad input is refused with 422, each bad field named, and nothing is recorded.
async fn bad_input_is_named(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = s.app.village(&s.admin).await;
    let foreign = s.app.user(&s.admin, "landlord", Some(other.id())).await;
    let good = json!({"title": "培训", "held_on": date(-1), "village_id": s.village_id, "trainer": "林教官"});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        match value {
            Value::Null => body.as_object_mut().unwrap().remove(key),
            value => body.as_object_mut().unwrap().insert(key.to_owned(), value),
        };
        body
    };
    let cases = [
        (with("title", Value::Null), "title"),
        (with("title", json!("  ")), "title"),
        (with("trainer", json!("a\u{202e}b")), "trainer"),
        (with("held_on", json!("2026-02-30")), "held_on"),
        (with("held_on", json!("1899-12-31")), "held_on"),
        (with("held_on", json!(date(1))), "held_on"),
        (with("village_id", json!("not-a-uuid")), "village_id"),
        (
            with("village_id", json!("01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f")),
            "village_id",
        ),
    ];
    for (body, field) in cases {
        let answer = s.app.post(SESSIONS, Some(&s.admin.token), body.clone()).await;
        let fields = answer.error_fields();
        answer.problem(422);
        assert_eq!(fields, [field], "{body}");
    }
    let people = [
        s.inspector.id(),
        foreign.id(),
        s.landlord.id(),
        s.landlord.id(),
        "nobody".to_owned(),
    ];
    let ids: Vec<&str> = people.iter().map(String::as_str).collect();
    let answer = record(&s, &s.inspector, &date(-1), &ids).await;
    let fields = answer.error_fields();
    let problem = answer.problem(422);
    assert_eq!(
        fields,
        [
            "landlord_ids[0]",
            "landlord_ids[1]",
            "landlord_ids[3]",
            "landlord_ids[4]"
        ]
    );
    assert!(!problem.to_string().contains(&foreign.id()), "no id echoed");
    assert_eq!(s.app.count("training_sessions"), 0);

    let session = record(&s, &s.inspector, &date(-1), &[]).await.expect(201).body;
    let answer = set_attendees(&s, Some(&s.inspector.token), &session, &[&foreign.id()]).await;
    assert_eq!(answer.error_fields(), ["landlord_ids[0]"]);
    answer.problem(422);
    assert_eq!(s.app.count("training_attendances"), 0);

    // A retried POST with its Idempotency-Key records the session once.
    let key = [("Idempotency-Key", "training-session-1")];
    let token = Some(s.inspector.token.as_str());
    let first = s
        .app
        .call("POST", SESSIONS, token, &key, Some(&good))
        .await
        .expect(201)
        .body;
    let again = s.app.call("POST", SESSIONS, token, &key, Some(&good)).await.expect(201);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body.id(), first.id());
    assert_eq!(s.app.count("training_sessions"), 2);
}

/// Who may do what: admins and inspectors of the village record; auditors read; landlords nothing; staff of
/// another village find nothing (404); no token is a 401.
async fn each_role_may_do_what_it_should(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = s.app.village(&s.admin).await;
    let foreign_inspector = s.app.user(&s.admin, "inspector", Some(other.id())).await;
    let foreign_auditor = s.app.user(&s.admin, "auditor", Some(other.id())).await;
    let foreign_landlord = s.app.user(&s.admin, "landlord", Some(other.id())).await;
    let landlord = s.landlord.id();

    record(&s, &s.admin, &date(-1), &[&landlord]).await.expect(201);
    let session = record(&s, &s.inspector, &date(-1), &[&landlord]).await.expect(201).body;
    record(&s, &s.auditor, &date(-1), &[]).await.problem(403);
    record(&s, &s.landlord, &date(-1), &[]).await.problem(403);
    record(&s, &foreign_landlord, &date(-1), &[]).await.problem(403);
    record(&s, &foreign_inspector, &date(-1), &[]).await.problem(404);
    let body = json!({"title": "培训", "held_on": date(-1), "village_id": s.village_id, "trainer": "林教官"});
    s.app.post(SESSIONS, None, body).await.problem(401);

    let one = format!("{SESSIONS}/{}", session.id());
    for reader in [&s.admin, &s.inspector, &s.auditor] {
        s.app.get(&one, Some(&reader.token)).await.expect(200);
        let list = s.app.get(SESSIONS, Some(&reader.token)).await.expect(200).body;
        assert_eq!(list.array("items").len(), 2);
    }
    for landlord in [&s.landlord, &foreign_landlord] {
        s.app.get(&one, Some(&landlord.token)).await.problem(403);
        s.app.get(SESSIONS, Some(&landlord.token)).await.problem(403);
    }
    for stranger in [&foreign_inspector, &foreign_auditor] {
        s.app.get(&one, Some(&stranger.token)).await.problem(404);
        let theirs = s.app.get(SESSIONS, Some(&stranger.token)).await.expect(200).body;
        assert!(
            theirs.array("items").is_empty(),
            "another village's sessions are not listed"
        );
        let asked = format!("{SESSIONS}?village_id={}", s.village_id);
        s.app.get(&asked, Some(&stranger.token)).await.problem(404);
    }
    s.app.get(&one, None).await.problem(401);
    s.app.get(SESSIONS, None).await.problem(401);

    let session = set_attendees(&s, Some(&s.inspector.token), &session, &[&landlord])
        .await
        .expect(200)
        .body;
    let session = set_attendees(&s, Some(&s.admin.token), &session, &[&landlord])
        .await
        .expect(200)
        .body;
    set_attendees(&s, Some(&s.auditor.token), &session, &[])
        .await
        .problem(403);
    set_attendees(&s, Some(&s.landlord.token), &session, &[])
        .await
        .problem(403);
    set_attendees(&s, Some(&foreign_landlord.token), &session, &[])
        .await
        .problem(403);
    set_attendees(&s, Some(&foreign_inspector.token), &session, &[])
        .await
        .problem(404);
    set_attendees(&s, Some(&foreign_auditor.token), &session, &[])
        .await
        .problem(404);
    set_attendees(&s, None, &session, &[]).await.problem(401);

    // The members list's filter keeps its scope: another village's auditor does not see this one's landlords.
    let listed = s
        .app
        .get("/api/v1/users?training=valid", Some(&foreign_auditor.token))
        .await
        .expect(200)
        .body;
    assert!(listed.array("items").is_empty());
    s.app
        .get("/api/v1/users?training=valid", Some(&s.landlord.token))
        .await
        .problem(403);
    s.app.get("/api/v1/users?training=valid", None).await.problem(401);
}

/// The console's inspection form shows, beside MGT-02, whether the owner's training is valid.
async fn the_inspection_form_shows_the_owners_training(backend: Backend) {
    let s = Scene::new(backend).await;
    let visitor = Visitor::new(&s.app);
    visitor.sign_in(s.inspector.user.str("email"), PASSWORD).await;
    let path = format!("/console/properties/{}/inspect", s.pid());
    let training_of = |html: &str| {
        let at = html.find(r#"id="item-MGT-02""#).expect("the MGT-02 item");
        let item = &html[at..at + html[at..].find("</div>\n    </div>").unwrap_or(html.len() - at)];
        regex::Regex::new(r#"data-owner-training="([a-z]+)">([^<]*)"#)
            .unwrap()
            .captures(item)
            .map(|c| (c[1].to_owned(), c[2].trim().to_owned()))
    };
    let form = visitor.get(&path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(
        training_of(&form.body),
        Some(("untrained".into(), "房东未参加过培训".into()))
    );
    assert_eq!(
        form.body.matches("data-owner-training").count(),
        1,
        "beside MGT-02 only"
    );

    let held_on = date(-3);
    record(&s, &s.inspector, &held_on, &[&s.landlord.id()])
        .await
        .expect(201);
    let form = visitor.get(&path).await;
    let until = plus_months(&held_on, 24);
    assert_eq!(
        training_of(&form.body),
        Some(("valid".into(), format!("房东培训有效至 {until}")))
    );
    assert!(form.body.contains(&format!("training valid until {until}")));
}

/// The API's inspection form of a property carries the owner's training beside MGT-02, for staff of the village.
async fn the_api_inspection_form_carries_the_owners_training(backend: Backend) {
    let s = Scene::new(backend).await;
    let other = s.app.village(&s.admin).await;
    let foreign_inspector = s.app.user(&s.admin, "inspector", Some(other.id())).await;
    let path = format!("/api/v1/properties/{}/inspection-form", s.pid());
    let form = s.app.get(&path, Some(&s.inspector.token)).await.expect(200).body;
    assert_eq!(form["training_item"], "MGT-02");
    assert!(form.array("items").iter().any(|i| i["code"] == "MGT-02"));
    let applicable = s.results(&[]).await.len();
    assert_eq!(
        form.array("items").len(),
        applicable,
        "the items that apply to the property"
    );
    assert_eq!(
        form["owner_training"],
        json!({"owner_id": s.landlord.id(), "standing": "untrained", "valid_until": null})
    );

    let session = record(&s, &s.inspector, &date(-800), &[&s.landlord.id()])
        .await
        .expect(201)
        .body;
    let form = s.app.get(&path, Some(&s.auditor.token)).await.expect(200).body;
    assert_eq!(form["owner_training"]["standing"], "lapsed");
    assert_eq!(form["owner_training"]["valid_until"], session["valid_until"]);
    record(&s, &s.inspector, &date(-1), &[&s.landlord.id()])
        .await
        .expect(201);
    let form = s.app.get(&path, Some(&s.admin.token)).await.expect(200).body;
    assert_eq!(form["owner_training"]["standing"], "valid");
    assert_eq!(
        form["owner_training"]["valid_until"],
        plus_months(&date(-1), 24).as_str()
    );

    s.app.get(&path, Some(&s.landlord.token)).await.problem(403);
    s.app.get(&path, Some(&foreign_inspector.token)).await.problem(404);
    s.app.get(&path, None).await.problem(401);
    let nowhere = "/api/v1/properties/01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f/inspection-form";
    s.app.get(nowhere, Some(&s.inspector.token)).await.problem(404);
}

backend_tests!(
    the_api_inspection_form_carries_the_owners_training,
    attendance_sets_training_valid_until,
    untrained_and_lapsed_are_counted_and_listed,
    the_reminder_is_sent_once_per_stage_until_renewed,
    bad_input_is_named,
    each_role_may_do_what_it_should,
    the_inspection_form_shows_the_owners_training,
);

/// The figure of docs/training.md: the summary's training counts over 10,000 landlords of one village, half of them
/// trained (a quarter lapsed), timed in the database and over HTTP. Run it alone: `cargo test --test training
/// summary_time -- --ignored --nocapture` (with `ANZU_TEST_POSTGRES_URL` for PostgreSQL too).
async fn summary_time(backend: Backend) {
    const LANDLORDS: usize = 10_000;
    const RUNS: usize = 20;
    let s = Scene::new(backend).await;
    let session = record(&s, &s.inspector, &date(-1), &[]).await.expect(201).body;
    let old = record(&s, &s.inspector, &date(-800), &[]).await.expect(201).body;
    let mut conn = s.app.db.get().unwrap();
    for chunk in 0..LANDLORDS / 500 {
        let mut users = Vec::new();
        let mut attendances = Vec::new();
        for n in chunk * 500..(chunk + 1) * 500 {
            let id = format!("01934b2e-0000-7000-8000-{n:012}");
            users.push(format!(
                "('{id}', 'L{n}', 'l{n}@example.cn', NULL, 'x', 'landlord', '{}', 'active', \
                 '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, TRUE)",
                s.village_id
            ));
            let (from, until) = match n % 4 {
                0 => (&session, "2099-01-01"),
                1 => (&old, "2020-01-01"),
                _ => continue,
            };
            attendances.push(format!("('{}', '{id}', '{until}')", from.id()));
        }
        diesel::sql_query(format!("INSERT INTO users VALUES {}", users.join(", ")))
            .execute(&mut *conn)
            .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO training_attendances (session_id, landlord_id, valid_until) VALUES {}",
            attendances.join(", ")
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    let village = s.village_id.clone();
    let today = anzu::ids::today();
    let started = std::time::Instant::now();
    for _ in 0..RUNS {
        anzu::accounts::training::repo::untrained_and_lapsed(&mut conn, Some(&village), today).unwrap();
    }
    let counts_alone = started.elapsed() / RUNS as u32;
    drop(conn);
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = std::time::Instant::now();
        let summary = s.summary().await;
        times.push(started.elapsed());
        assert_eq!(summary["landlord_training"], json!({"untrained": 5001, "lapsed": 2500}));
    }
    times.sort();
    println!(
        "{backend:?}: {LANDLORDS} landlords: training counts alone {counts_alone:?}; GET /reports/summary median {:?}, \
         slowest {:?} of {RUNS}",
        times[RUNS / 2],
        times[RUNS - 1]
    );
}

mod timing {
    #[actix_web::test]
    #[ignore = "a measurement for docs/training.md, not a check"]
    async fn summary_time_sqlite() {
        super::summary_time(anzu::db::Backend::Sqlite).await
    }

    #[actix_web::test]
    #[ignore = "a measurement for docs/training.md, not a check"]
    async fn summary_time_postgres() {
        if crate::common::postgres_url().is_some() {
            super::summary_time(anzu::db::Backend::Postgres).await
        }
    }
}
