//! The shared API machinery: problem+json errors, pagination, idempotent replays, request ids and
//! the operations endpoints.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

async fn client_mistakes_answer_problem_json(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let token = Some(admin.token.as_str());

    let malformed = app
        .send_raw(
            "POST",
            "/api/v1/villages",
            token,
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    malformed.problem(400);
    let wrong_type = app
        .send_raw("POST", "/api/v1/villages", token, "text/plain", b"name=x".to_vec())
        .await;
    wrong_type.problem(415);
    let huge = format!("{{\"name\": \"{}\", \"code\": \"BIG\"}}", "x".repeat(1_100_000));
    app.send_raw("POST", "/api/v1/villages", token, "application/json", huge.into_bytes())
        .await
        .problem(413);
    let unknown = app.get("/api/v1/no-such-thing", token).await.problem(404);
    assert!(unknown["request_id"].is_string());
    let shape = app.post("/api/v1/villages", token, json!({"name": 5})).await;
    assert_eq!(shape.error_fields(), vec!["code", "name"], "every bad field, in one answer");
    shape.problem(422);
    let missing = app.post("/api/v1/villages", token, json!({"name": "Huatingkou"})).await;
    assert_eq!(missing.error_fields(), vec!["code"]);
    missing.problem(422);
    let rules = app
        .post("/api/v1/villages", token, json!({"name": "", "code": "htk"}))
        .await;
    assert_eq!(rules.error_fields(), vec!["code", "name"]);
    rules.problem(422);
    let unknown_field = app
        .post(
            "/api/v1/villages",
            token,
            json!({"name": "A", "code": "AB", "owner": "me"}),
        )
        .await;
    unknown_field.problem(422);
    app.get("/api/v1/users?limit=abc", token).await.problem(400);
    assert_eq!(app.count("villages"), 0, "nothing was written by refused requests");
}

async fn village_codes_are_unique_and_refusals_leave_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app
        .post(
            "/api/v1/villages",
            Some(&admin.token),
            json!({"name": "花厅口村", "code": "HTK"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(village["code"], "HTK");
    app.post(
        "/api/v1/villages",
        Some(&admin.token),
        json!({"name": "Again", "code": "HTK"}),
    )
    .await
    .problem(409);

    let grids = format!("/api/v1/villages/{}/grids", village["id"].as_str().unwrap());
    app.post(&grids, Some(&admin.token), json!({"name": "第一网格", "code": "G1"}))
        .await
        .expect(201);
    let (grid_rows, events) = (app.count("grids"), app.count("audit_events"));
    app.post(&grids, Some(&admin.token), json!({"name": "Duplicate", "code": "G1"}))
        .await
        .problem(409);
    assert_eq!(
        (app.count("grids"), app.count("audit_events")),
        (grid_rows, events),
        "a refused write leaves no partial rows"
    );
    app.post(
        "/api/v1/villages/missing/grids",
        Some(&admin.token),
        json!({"name": "X", "code": "G2"}),
    )
    .await
    .problem(404);

    let landlord = app.user(&admin, "landlord", village["id"].as_str()).await;
    app.post(
        "/api/v1/villages",
        Some(&landlord.token),
        json!({"name": "Mine", "code": "MINE"}),
    )
    .await
    .problem(403);
    app.post(&grids, Some(&landlord.token), json!({"name": "Mine", "code": "G9"}))
        .await
        .problem(403);
    let listed = app.get(&grids, Some(&landlord.token)).await.expect(200).body;
    assert_eq!(listed["items"][0]["code"], "G1");
    app.get(&grids, None).await.problem(401);
    let public = app.get("/api/v1/villages", None).await.expect(200).body;
    assert_eq!(public["items"][0]["name"], "花厅口村");
}

async fn pagination_loses_and_repeats_nothing_while_rows_are_added(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let mut expected = Vec::new();
    for _ in 0..7 {
        expected.push(app.village(&admin).await["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/villages?limit=3&cursor={c}"),
            None => "/api/v1/villages?limit=3".into(),
        };
        let page = app.get(&path, None).await.expect(200).body;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        // Someone registers a village between pages.
        if expected.len() < 12 {
            expected.push(app.village(&admin).await["id"].as_str().unwrap().to_owned());
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no village repeated");
    assert_eq!(seen, expected, "every village seen once, oldest first");

    let first = app.get("/api/v1/villages?limit=2", None).await.expect(200).body;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (id_part, signature) = cursor.split_once('.').unwrap();
    let forged = format!(
        "{}.{signature}",
        if id_part.starts_with('A') {
            id_part.replacen('A', "B", 1)
        } else {
            format!("A{}", &id_part[1..])
        }
    );
    let answer = app.get(&format!("/api/v1/villages?cursor={forged}"), None).await;
    assert_eq!(answer.error_fields(), vec!["cursor"]);
    answer.problem(400);
    app.get("/api/v1/villages?limit=0", None).await.problem(400);
    app.get("/api/v1/villages?limit=201", None).await.problem(400);
    app.get("/api/v1/villages?updated_since=yesterday", None)
        .await
        .problem(400);

    let since = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let newest = app.village(&admin).await;
    let changed = app
        .get(
            &format!("/api/v1/villages?updated_since={}", common::encode(&since)),
            None,
        )
        .await
        .expect(200)
        .body;
    let ids: Vec<&Value> = changed["items"].as_array().unwrap().iter().map(|v| &v["id"]).collect();
    assert_eq!(ids, vec![&newest["id"]]);
}

async fn idempotent_posts_replay_the_first_answer(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let body = json!({"name": "Huatingkou", "code": "HTK"});
    let key = [("Idempotency-Key", "phone-retry-42")];
    let first = app
        .call("POST", "/api/v1/villages", Some(&admin.token), &key, Some(&body))
        .await
        .expect(201);
    let again = app
        .call("POST", "/api/v1/villages", Some(&admin.token), &key, Some(&body))
        .await
        .expect(201);
    assert_eq!(first.body, again.body);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(app.count("villages"), 1);

    let other_body = json!({"name": "Another", "code": "ANO"});
    let mismatch = app
        .call("POST", "/api/v1/villages", Some(&admin.token), &key, Some(&other_body))
        .await;
    assert_eq!(mismatch.error_fields(), vec!["Idempotency-Key"]);
    mismatch.problem(422);

    // Keys are per user: another admin's identical key is a new request.
    let other_admin = app.admin().await;
    app.call(
        "POST",
        "/api/v1/villages",
        Some(&other_admin.token),
        &key,
        Some(&other_body),
    )
    .await
    .expect(201);
    assert_eq!(app.count("villages"), 2);

    // A refusal is final too; a retry gets the same 409 without a second attempt.
    let dup = [("Idempotency-Key", "dup")];
    app.call("POST", "/api/v1/villages", Some(&admin.token), &dup, Some(&body))
        .await
        .problem(409);
    let replay = app
        .call("POST", "/api/v1/villages", Some(&admin.token), &dup, Some(&body))
        .await;
    assert_eq!(replay.header("idempotent-replayed").as_deref(), Some("true"));
    replay.problem(409);

    let too_long = "k".repeat(256);
    app.call(
        "POST",
        "/api/v1/villages",
        Some(&admin.token),
        &[("Idempotency-Key", &too_long)],
        Some(&other_body),
    )
    .await
    .problem(400);
}

async fn operations_endpoints(backend: Backend) {
    let app = TestApp::start(backend).await;
    assert_eq!(app.get("/healthz", None).await.expect(200).body["status"], "ok");
    let ready = app.get("/readyz", None).await.expect(200);
    assert!(ready.header("x-request-id").is_some());

    let admin = app.admin().await;
    app.get("/api/v1/me", Some(&admin.token)).await.expect(200);
    let metrics = app.get("/metrics", None).await.expect(200);
    let text = String::from_utf8(metrics.bytes).unwrap();
    assert!(
        text.contains("anzu_http_requests_total{endpoint=\"/api/v1/me\",method=\"GET\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("anzu_http_requests_duration_seconds_bucket{endpoint=\"/api/v1/me\""));

    let spec = app.get("/api/openapi.json", None).await.expect(200).body;
    for path in [
        "/api/v1/auth/login",
        "/api/v1/users/{id}/membership",
        "/api/v1/villages/{id}/grids",
        "/readyz",
    ] {
        assert!(spec["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    let docs = app.get("/docs/", None).await.expect(200);
    assert!(String::from_utf8_lossy(&docs.bytes).contains("swagger"));
}

#[actix_web::test]
async fn readiness_fails_when_the_database_is_unreachable() {
    use actix_web::{test, web};
    let vars = [
        ("ANZU_JWT_SECRET", common::JWT_SECRET),
        ("ANZU_DATA_KEY", common::DATA_KEY),
        ("ANZU_DATABASE_URL", "postgres://127.0.0.1:1/none"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = anzu::config::Settings::from_vars(&vars).unwrap();
    let db = anzu::db::Db::connect(&settings.database_url, 1).unwrap();
    let state = web::Data::new(anzu::startup::AppState::new(settings, db).unwrap());
    let app = test::init_service(anzu::startup::build_app(state, anzu::startup::metrics().unwrap())).await;
    let response = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
}

backend_tests!(
    client_mistakes_answer_problem_json,
    village_codes_are_unique_and_refusals_leave_nothing,
    pagination_loses_and_repeats_nothing_while_rows_are_added,
    idempotent_posts_replay_the_first_answer,
    operations_endpoints,
);

async fn concurrent_writes_all_succeed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let village = app.village(&admin).await;
    let village_id = village["id"].as_str().unwrap().to_owned();
    let requests = (0..24).map(|_| {
        let (phone, email) = common::unique_contact();
        let body = json!({"full_name": "并发", "phone": phone, "email": email, "password": common::PASSWORD, "village_id": village_id});
        app.post("/api/v1/auth/register", None, body)
    });
    let answers = futures_util::future::join_all(requests).await;
    for answer in answers {
        answer.expect(201);
    }
    assert_eq!(app.count("users"), 25);
}

backend_tests!(concurrent_writes_all_succeed);

/// PostgreSQL may drop connections (a restart, an administrator): each pooled connection it dropped fails
/// at most one request, with 503 rather than 500, and is then replaced; nothing needs a restart.
#[actix_web::test]
async fn connections_postgresql_dropped_are_replaced() {
    use diesel::prelude::*;

    let Some(server_url) = common::postgres_url() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must test PostgreSQL: set ANZU_TEST_POSTGRES_URL"
        );
        return;
    };
    common::capture_logs();
    let app = TestApp::start(Backend::Postgres).await;
    let admin = app.admin().await;
    let token = Some(admin.token.as_str());
    // Open every pooled connection.
    let warm = futures_util::future::join_all((0..8).map(|_| app.get("/api/v1/me", token))).await;
    assert!(warm.iter().all(|a| a.status == 200));

    let database = app.state.settings.database_url.rsplit('/').next().unwrap().to_owned();
    let mut admin_conn = diesel::PgConnection::establish(&server_url).unwrap();
    let dropped = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    ))
    .execute(&mut admin_conn)
    .unwrap();
    assert!(dropped >= 1, "no connection to drop");

    let mut statuses = Vec::new();
    for _ in 0..dropped + 4 {
        statuses.push(app.get("/api/v1/me", token).await.status);
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?} {}",
        common::captured_logs()
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= dropped,
        "{statuses:?}"
    );
    assert!(statuses[dropped..].iter().all(|s| *s == 200), "{statuses:?}");
}
