//! The shared API machinery: problem+json errors, pagination, idempotent replays, request ids and
//! the operations endpoints.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use common::scene::date;
use common::{Backend, JsonExt, TestApp, resident_id};
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
    assert_eq!(
        shape.error_fields(),
        vec!["code", "name"],
        "every bad field, in one answer"
    );
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

    let grids = format!("/api/v1/villages/{}/grids", village.id());
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
        expected.push(app.village(&admin).await.id().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/villages?limit=3&cursor={c}"),
            None => "/api/v1/villages?limit=3".into(),
        };
        let page = app.get(&path, None).await.expect(200).body;
        let items = page.array("items");
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|v| v.id().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        // Someone registers a village between pages.
        if expected.len() < 12 {
            expected.push(app.village(&admin).await.id().to_owned());
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no village repeated");
    assert_eq!(seen, expected, "every village seen once, oldest first");

    let first = app.get("/api/v1/villages?limit=2", None).await.expect(200).body;
    let cursor = first.str("next_cursor");
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
    let ancient = app
        .get(
            &format!(
                "/api/v1/villages?updated_since={}",
                common::encode("0000-01-01T00:00:00Z")
            ),
            None,
        )
        .await;
    assert_eq!(ancient.error_fields(), vec!["updated_since"]);
    ancient.problem(400);

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
    let ids: Vec<&Value> = changed.array("items").iter().map(|v| &v["id"]).collect();
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
    assert_eq!(
        again.header("etag"),
        first.header("etag"),
        "a replay is the first answer, headers too"
    );
    assert!(again.header("etag").is_some());
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

/// `/metrics` keeps a closed set of series whatever clients send, logs nothing per scrape, and can require a
/// token; every answer carries the protective headers, and nothing authenticated may be cached.
async fn operations_surfaces_are_bounded_and_protected(backend: Backend) {
    common::capture_logs();
    let app = TestApp::start_with(backend, &[("ANZU_METRICS_TOKEN", "scrape-secret-0123456789")]).await;
    let admin = app.admin().await;
    for n in 0..40 {
        app.call(&format!("BREW{n}"), &format!("/random/{n}/path"), None, &[], None)
            .await;
        app.call("GET", &format!("/api/v1/nothing-{n}"), None, &[], None).await;
        app.get(&format!("/api/v1/users/{n}"), Some(&admin.token))
            .await
            .problem(404);
    }
    app.get("/metrics", None).await.problem(401);
    app.get("/metrics", Some("wrong-token")).await.problem(401);
    let scrape = || app.get("/metrics", Some("scrape-secret-0123456789"));
    let text = String::from_utf8(scrape().await.expect(200).bytes).unwrap();
    assert!(
        !text.contains("BREW") && !text.contains("random") && !text.contains("nothing-"),
        "{text}"
    );
    assert!(text.contains("endpoint=\"unmatched\",method=\"OTHER\""), "{text}");
    assert!(
        text.contains("endpoint=\"/api/v1/users/{id}\",method=\"GET\",status=\"404\""),
        "{text}"
    );
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("anzu_http_requests_total{"))
            .count()
    };
    let before = series(&text);
    assert!(before <= 8, "{text}");
    for n in 40..80 {
        app.call(&format!("BREW{n}"), &format!("/random/{n}"), None, &[], None)
            .await;
    }
    let again = String::from_utf8(scrape().await.expect(200).bytes).unwrap();
    assert!(
        series(&again) <= before + 1,
        "series grew with random requests: {again}"
    );
    let scrape_errors = common::captured_logs()
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\"") && l.contains("/metrics"))
        .count();
    assert_eq!(scrape_errors, 0, "a scrape logged an error");

    let health = app.get("/healthz", None).await.expect(200);
    assert_eq!(health.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(health.header("referrer-policy").as_deref(), Some("no-referrer"));
    let page = app.get("/docs/", None).await.expect(200);
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        app.get("/set-password", None)
            .await
            .expect(200)
            .header("x-frame-options")
            .as_deref(),
        Some("DENY")
    );
    for path in ["/api/v1/me", "/api/v1/users", "/api/v1/checklist", "/api/v1/users/none"] {
        let answer = app.get(path, Some(&admin.token)).await;
        assert_eq!(answer.header("cache-control").as_deref(), Some("no-store"), "{path}");
        assert_eq!(
            answer.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn readiness_fails_when_the_database_is_unreachable() {
    let (status, headers, body, _) = common::readiness_of("postgres://127.0.0.1:1/none", 1).await.remove(0);
    assert_eq!(status, 503);
    assert_eq!(headers.get("content-type").unwrap(), "application/problem+json");
    assert!(headers.get("retry-after").is_some());
    // A fixed sentence: no host, port or driver text.
    assert_eq!(body["detail"], anzu::error::DATABASE_UNAVAILABLE);
}

/// A TCP port that takes connections and never answers: a hung database server.
fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A port that refuses connections until `delay` has passed, then forwards each to `upstream`.
fn forward_later(delay: std::time::Duration, upstream: String) -> u16 {
    use std::net::{TcpListener, TcpStream};
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(&upstream).unwrap();
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || std::io::copy(&mut from, &mut to));
            }
        }
    });
    port
}

#[test]
fn start_up_waits_for_the_database_then_names_it() {
    let Some(admin_url) = common::postgres_url() else {
        assert!(std::env::var("CI").is_err(), "CI must test PostgreSQL");
        return;
    };
    let wait = |url: &str, secs: u64| {
        let started = std::time::Instant::now();
        let db = anzu::db::Db::connect(url, 1).unwrap();
        let result = db.wait_until_reachable(std::time::Duration::from_secs(secs));
        (result, started.elapsed())
    };
    // Nothing listens: one clear error after the wait, naming host, port and cause.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (result, took) = wait(&format!("postgres://postgres:secret@127.0.0.1:{closed}/anzu"), 2);
    let message = format!("{:#}", result.unwrap_err());
    assert!(
        message.contains(&format!("127.0.0.1:{closed}")) && message.contains("refused"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
    assert!(
        took >= std::time::Duration::from_millis(1500) && took < std::time::Duration::from_secs(4),
        "{took:?}"
    );
    // A server that never answers: the same, bounded by the connect timeout, with a cause.
    let (_silent, port) = silent_server();
    let (result, took) = wait(&format!("postgres://postgres@127.0.0.1:{port}/anzu"), 1);
    let message = format!("{:#}", result.unwrap_err());
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("timeout"),
        "{message}"
    );
    assert!(took < std::time::Duration::from_secs(9), "{took:?}");
    // A database that comes up during the wait is used.
    let upstream = anzu::config::database_target(&admin_url);
    let port = forward_later(std::time::Duration::from_millis(1200), upstream);
    let database = admin_url.rsplit_once('/').map(|(_, name)| name).unwrap_or("postgres");
    let (result, took) = wait(&format!("postgres://postgres@127.0.0.1:{port}/{database}"), 30);
    result.unwrap();
    assert!(took >= std::time::Duration::from_millis(1200), "{took:?}");
}

#[actix_web::test]
async fn readiness_answers_within_a_second_when_the_database_hangs() {
    let (_silent, port) = silent_server();
    for (status, _, _, took) in common::readiness_of(&format!("postgres://postgres@127.0.0.1:{port}/none"), 2).await {
        assert_eq!(status, 503);
        assert!(took < std::time::Duration::from_millis(1500), "{took:?}");
    }
}

/// `anzu sweep` prints its report alone on stdout (logs go to stderr), so that it can be piped into a tool.
async fn command_output_is_clean_json(backend: Backend) {
    let app = TestApp::start(backend).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_anzu"))
        .arg("sweep")
        .env("ANZU_DATABASE_URL", &app.state.settings.database_url)
        // No JWT secret: one is generated, and that is logged.
        .env("ANZU_DATA_DIR", app.work_dir.path())
        .env("ANZU_DATA_KEY", common::DATA_KEY)
        .env("ANZU_MAIL_DIR", app.work_dir.path().join("outbox"))
        .env("ANZU_LOG", "debug")
        .output()
        .expect("anzu runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert!(report["notices_queued"].is_number(), "{report}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("generated a JWT secret"),
        "the logs went to stderr"
    );
}

/// A tablespace on a 1 MiB tmpfs of its own, for a PostgreSQL table to run out of disk (needs root to mount).
struct TinyTablespace {
    dir: std::path::PathBuf,
    name: String,
    admin_url: String,
}

impl TinyTablespace {
    fn create(admin_url: &str) -> Option<TinyTablespace> {
        use diesel::prelude::*;
        let name = format!("anzu_full_{}", uuid::Uuid::now_v7().simple());
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let run = |program: &str, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let path = dir.to_str().unwrap();
        if !run("mount", &["-t", "tmpfs", "-o", "size=1m", "tmpfs", path]) {
            assert!(
                std::env::var("CI").is_err(),
                "CI must test a full disk: mount a tmpfs as root"
            );
            eprintln!("cannot mount a tmpfs (not root?): the full-disk test on PostgreSQL is not run");
            return None;
        }
        assert!(run("chown", &["postgres:postgres", path]), "chown the tmpfs");
        let mut conn = PgConnection::establish(admin_url).unwrap();
        diesel::sql_query(format!("CREATE TABLESPACE {name} LOCATION '{path}'"))
            .execute(&mut conn)
            .unwrap();
        Some(TinyTablespace {
            dir,
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// Takes every free byte of the tmpfs.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.dir.join("filler")).unwrap();
        while filler.write_all(&[0u8; 4096]).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.join("filler")).unwrap();
    }
}

impl Drop for TinyTablespace {
    fn drop(&mut self) {
        use diesel::prelude::*;
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!("DROP TABLESPACE IF EXISTS {}", self.name)).execute(&mut conn);
        }
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// With the database's storage full, writes answer 503 `storage-full` with `Retry-After` (not 500), reads go on,
/// `/readyz` says so, and all recovers by itself once space is freed, with the database intact.
async fn a_full_disk_answers_503_and_recovers(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let property_path = format!("/api/v1/properties/{}", property.id());
    let unit = app.unit(&landlord, property.id(), "dorm", 2000.0).await;
    let unit_id = unit.id().to_owned();
    let tablespace = match backend {
        Backend::Sqlite => {
            // The writer may not grow the file past its current pages: SQLite's own "disk is full".
            app.db
                .write_blocking(|c| Ok(c.batch_execute("PRAGMA max_page_count = 1")?))
                .unwrap();
            None
        }
        Backend::Postgres => {
            let Some(tablespace) = TinyTablespace::create(&common::postgres_url().unwrap()) else {
                return;
            };
            let name = tablespace.name.clone();
            app.db
                .write_blocking(move |c| Ok(c.batch_execute(&format!("ALTER TABLE tenancies SET TABLESPACE {name}"))?))
                .unwrap();
            tablespace.fill();
            Some(tablespace)
        }
    };
    let mut seq = 0;
    let full = loop {
        seq += 1;
        assert!(seq < 2000, "the storage never filled");
        let answer = app
            .declare(&landlord, &unit_id, &resident_id("19900101", seq), &date(0))
            .await;
        if answer.status != 201 {
            break answer;
        }
    };
    assert!(full.header("retry-after").is_some(), "{} {}", full.status, full.body);
    let problem = full.problem(503);
    assert!(problem.str("type").ends_with("storage-full"), "{problem}");
    assert!(
        !problem.to_string().contains("disk is full") && !problem.to_string().contains("No space"),
        "{problem}"
    );
    app.get(&property_path, Some(&landlord.token)).await.expect(200);
    let ready = app.get("/readyz", None).await.problem(503);
    assert!(ready.str("type").ends_with("storage-full"), "{ready}");

    match &tablespace {
        None => app
            .db
            .write_blocking(|c| Ok(c.batch_execute("PRAGMA max_page_count = 1073741823")?))
            .unwrap(),
        Some(tablespace) => tablespace.free(),
    }
    app.declare(&landlord, &unit_id, &resident_id("19900101", seq), &date(0))
        .await
        .expect(201);
    app.get("/readyz", None).await.expect(200);
    let unit = app
        .get(&format!("/api/v1/units/{unit_id}"), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        unit["active_tenants"], seq,
        "the refused declaration left nothing behind"
    );
    if backend == Backend::Sqlite {
        let intact = app
            .db
            .write_blocking(|c| {
                use diesel::prelude::*;
                #[derive(QueryableByName)]
                struct Check {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    integrity_check: String,
                }
                Ok(diesel::sql_query("PRAGMA integrity_check")
                    .get_result::<Check>(c)?
                    .integrity_check)
            })
            .unwrap();
        assert_eq!(intact, "ok");
    } else {
        app.db
            .write_blocking(|c| Ok(c.batch_execute("ALTER TABLE tenancies SET TABLESPACE pg_default")?))
            .unwrap();
    }
}

/// A body trickled a byte at a time cannot hold a connection: past `ANZU_BODY_TIMEOUT_SECS` the request answers
/// 408 and the connection is closed.
async fn a_slow_body_is_cut_off(backend: Backend) {
    let app = TestApp::start_with(backend, &[("ANZU_BODY_TIMEOUT_SECS", "1")]).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
        stream
            .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: anzu\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
            .unwrap();
        let mut answer = Vec::new();
        for _ in 0..50 {
            // One byte every 200 ms: the head came at once, the body never ends.
            if stream.write_all(b" ").is_err() {
                break;
            }
            let mut buffer = [0u8; 4096];
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
                Err(_) => {}
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// With or without an `Idempotency-Key`, a route refuses a body past its own limit (1 MiB but for the ledger
/// import), before reading it when its length is declared.
async fn a_key_does_not_raise_the_body_limit(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    let big = format!("{{\"name\": \"{}\", \"code\": \"BIG\"}}", "x".repeat(2 << 20));
    for key in [None, Some("big-body")] {
        let mut request = app
            .client
            .post(app.url("/api/v1/villages"))
            .insert_header(("Authorization", format!("Bearer {}", admin.token)))
            .insert_header(("Content-Type", "application/json"));
        if let Some(key) = key {
            request = request.insert_header(("Idempotency-Key", key));
        }
        let declared = request.send_body(big.clone()).await.unwrap();
        assert_eq!(declared.status(), 413, "{key:?}");
    }
    // A streamed body of no declared length is cut off at the limit too.
    let chunks = futures_util::stream::iter(
        (0..40).map(|_| Ok::<_, std::io::Error>(actix_web::web::Bytes::from(vec![b' '; 64 << 10]))),
    );
    let streamed = app
        .client
        .post(app.url("/api/v1/villages"))
        .insert_header(("Authorization", format!("Bearer {}", admin.token)))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Idempotency-Key", "streamed"))
        .send_stream(chunks)
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
}

/// A key whose request committed but whose answer was lost (the process died in between) answers 303 with the
/// made resource's address; a real kill -9 in the middle of declarations ends, after retries with the same keys,
/// in exactly one tenancy per declaration and an answer naming each.
async fn idempotency_keys_survive_a_crash(backend: Backend) {
    use anzu::db::schema::idempotency_keys as keys;
    use diesel::prelude::*;
    const DECLARATIONS: u32 = 40;
    let lease = [("ANZU_IDEMPOTENCY_LEASE_SECS", "2")];
    let app = TestApp::start_with(backend, &lease).await;
    let v = app.setup_village().await;
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let property = app.property(&landlord, &v.id).await;
    let unit = app.unit(&landlord, property.id(), "dorm", 1000.0).await;
    let path = format!("/api/v1/units/{}/tenancies", unit.id());
    let body = |seq: u32| {
        json!({
            "tenant": {"full_name": "重试", "id_type": "resident_id", "id_number": resident_id("19900101", 500 + seq)},
            "move_in_date": date(0),
        })
    };
    let client = awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    let send = |base: String, seq: u32| {
        let request = client
            .post(format!("{base}{path}"))
            .insert_header(("Authorization", format!("Bearer {}", landlord.token)))
            .insert_header(("Idempotency-Key", format!("declare-{seq}")));
        let body = body(seq);
        async move {
            let mut response = request.send_json(&body).await.ok()?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let json: Value = response.json().await.unwrap_or(Value::Null);
            Some((status, location, json))
        }
    };

    // The answer of the first declaration is lost after its commit, as a crash there would lose it.
    let (status, _, first) = send(app.address.clone(), 0).await.unwrap();
    assert_eq!(status, 201);
    let user_id = landlord.id();
    app.db
        .write_blocking(move |conn| {
            diesel::update(keys::table.filter(keys::user_id.eq(user_id)))
                .set((
                    keys::status_code.eq(None::<i32>),
                    keys::response_body.eq(None::<Vec<u8>>),
                ))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    let (status, location, _) = send(app.address.clone(), 0).await.unwrap();
    assert_eq!(status, 303);
    assert_eq!(location.unwrap(), format!("/api/v1/tenancies/{}", first.id()));

    // kill -9 of a server process while it declares.
    let mut process = app.spawn_process(&lease).await;
    let in_flight = futures_util::future::join_all((1..=DECLARATIONS).map(|seq| send(process.address.clone(), seq)));
    let kill = async {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        process.kill();
    };
    let (answered, ()) = futures_util::future::join(in_flight, kill).await;
    let before_kill = answered
        .iter()
        .flatten()
        .filter(|(status, _, _)| *status == 201)
        .count();
    // The leases (2 s) of the requests it never finished run out.
    app.advance_clock(chrono::Duration::seconds(3));
    let mut outcomes = std::collections::BTreeMap::new();
    for seq in 1..=DECLARATIONS {
        let mut retried = send(app.address.clone(), seq).await.unwrap();
        // The killed process's last claim may still be committing on the server's side: "in progress", retry.
        for _ in 0..20 {
            if retried.0 != 409
                || !retried.2["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("still being processed")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            retried = send(app.address.clone(), seq).await.unwrap();
        }
        let (status, location, json) = retried;
        let named = match status {
            201 => json["id"].as_str().map(str::to_owned),
            303 => location.and_then(|l| l.strip_prefix("/api/v1/tenancies/").map(str::to_owned)),
            other => panic!("declaration {seq}: {other} {json}"),
        };
        let id = named.unwrap_or_else(|| panic!("declaration {seq}: no tenancy named"));
        app.get(&format!("/api/v1/tenancies/{id}"), Some(&landlord.token))
            .await
            .expect(200);
        *outcomes.entry(status).or_insert(0) += 1;
    }
    eprintln!("kill -9 with {before_kill} of {DECLARATIONS} answered; retries answered {outcomes:?}");
    let unit = app
        .get(&format!("/api/v1/units/{}", unit.id()), Some(&landlord.token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        unit["active_tenants"],
        DECLARATIONS + 1,
        "exactly one tenancy per declaration"
    );
}

/// A NUL character anywhere a client can put one is bad input, never a 500 (PostgreSQL cannot store one) and
/// never stored (SQLite would): 404 in a path, 400 naming the parameter in a query, 422 naming the field in a body.
async fn a_nul_character_is_refused_at_the_edge(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    app.get("/public/v1/ratings/a%00b", None).await.problem(404);
    app.get("/api/v1/properties/0190%00", Some(&admin.token))
        .await
        .problem(404);
    let query = app.get("/api/v1/properties?q=a%00b&limit=5", Some(&admin.token)).await;
    assert_eq!(query.error_fields(), vec!["q"]);
    query.problem(400);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"login": "a\u{0}b@example.cn", "password": "x\u{0}yyyyyyyyyy"}),
        )
        .await;
    assert_eq!(login.error_fields(), vec!["login", "password"]);
    login.problem(422);
    let village = app
        .post(
            "/api/v1/villages",
            Some(&admin.token),
            json!({"name": "村\u{0}", "code": "NUL"}),
        )
        .await;
    assert_eq!(village.error_fields(), vec!["name"]);
    village.problem(422);
    assert_eq!(app.count("villages"), 0);
}

/// What the document states, the server holds to (schemathesis found each of these): ids in a query are UUIDs
/// (400 naming the parameter, not an empty list); ids in a body too (422); a whole number may come as `3.0`,
/// as JSON Schema's `integer` allows, but not as `2.5`; a request without a token is 401 whatever else is
/// wrong with it; a bad body or an unknown resource answers for itself before a foreign `If-Match` (412);
/// an `Idempotency-Key` is 1 to 255 visible ASCII characters.
async fn requests_the_document_allows_are_served_and_others_named(backend: Backend) {
    let app = TestApp::start(backend).await;
    let village = app.setup_village().await;
    let landlord = app.user(&village.admin, "landlord", Some(&village.id)).await;
    let admin = &village.admin.token;

    for (query, field) in [
        ("/api/v1/properties?village_id=abc", "village_id"),
        ("/api/v1/properties?stars=9", "stars"),
        ("/api/v1/tenancies?unit_id=01a228c9", "unit_id"),
        ("/api/v1/audit-events?entity_id=x", "entity_id"),
        ("/api/v1/users?village_id=1", "village_id"),
    ] {
        let answer = app.get(query, Some(admin)).await;
        assert_eq!(answer.error_fields(), vec![field], "{query}");
        answer.problem(400);
    }
    app.get(
        &format!("/api/v1/properties?village_id={}&stars=0", village.id),
        Some(admin),
    )
    .await
    .expect(200);

    let misplaced = app
        .post(
            "/api/v1/properties",
            Some(&landlord.token),
            json!({"name": "楼", "address": "路1号", "village_id": "not-a-uuid", "kind": "apartment",
                   "floors": 2, "floor_area_m2": 80.0}),
        )
        .await;
    assert_eq!(misplaced.error_fields(), vec!["village_id"]);
    misplaced.problem(422);

    let property = app.property(&landlord, &village.id).await;
    let property_id = property.id();
    let units = format!("/api/v1/properties/{property_id}/units");
    let whole = app
        .post(
            &units,
            Some(&landlord.token),
            json!({"label": "301", "floor": 3.0, "area_m2": 20.0, "kind": "room"}),
        )
        .await
        .expect(201);
    assert_eq!(whole.body["floor"], 3);
    let fraction = app
        .post(
            &units,
            Some(&landlord.token),
            json!({"label": "302", "floor": 2.5, "area_m2": 20.0, "kind": "room"}),
        )
        .await;
    assert_eq!(fraction.error_fields(), vec!["floor"]);
    fraction.problem(422);
    // The double just above the maximum is read as itself, not rounded down onto the maximum.
    let unit_id = whole.body.id();
    let above = app
        .call(
            "PATCH",
            &format!("/api/v1/units/{unit_id}"),
            Some(&landlord.token),
            &[],
            Some(&serde_json::from_str::<Value>(r#"{"area_m2": 100000.00000000001}"#).unwrap()),
        )
        .await;
    assert_eq!(above.error_fields(), vec!["area_m2"]);
    above.problem(422);

    let foreign = [("If-Match", "W/\"not-ours\"")];
    let delist = format!("/api/v1/properties/{property_id}/delist");
    let bad_body = app
        .call("POST", &delist, Some(admin), &foreign, Some(&json!({"reason": ""})))
        .await;
    assert_eq!(bad_body.error_fields(), vec!["reason"]);
    bad_body.problem(422);
    app.call(
        "POST",
        "/api/v1/properties/01a228c9-0000-7000-8000-000000000000/delist",
        Some(admin),
        &foreign,
        Some(&json!({"reason": "危房"})),
    )
    .await
    .problem(404);
    app.call("POST", &delist, Some(admin), &foreign, Some(&json!({"reason": "危房"})))
        .await
        .problem(412);

    for key in ["", "a\tb", &"k".repeat(256)] {
        let headers = [("Idempotency-Key", key)];
        app.call("POST", "/api/v1/compliance/sweep", None, &headers, None)
            .await
            .problem(401);
        let refused = app
            .call("POST", "/api/v1/compliance/sweep", Some(admin), &headers, None)
            .await
            .problem(400);
        assert!(refused.str("detail").contains("Idempotency-Key"), "{refused}");
    }
    app.call(
        "POST",
        "/api/v1/compliance/sweep",
        Some(admin),
        &[("Idempotency-Key", "sweep 1")],
        None,
    )
    .await
    .expect(200);
}

/// A method a path does not have answers 405 with `Allow` (as clients and proxies expect); an unknown path 404.
async fn other_methods_answer_405_with_allow(backend: Backend) {
    let app = TestApp::start(backend).await;
    let admin = app.admin().await;
    for (method, path, allow) in [
        (
            "DELETE",
            "/api/v1/properties/0190aaaa-0000-7000-8000-000000000000",
            "GET, PATCH",
        ),
        ("PUT", "/api/v1/villages", "GET, POST"),
        ("GET", "/api/v1/auth/login", "POST"),
        ("POST", "/public/v1/ratings/HTK-000001", "GET"),
    ] {
        let answer = app.call(method, path, Some(&admin.token), &[], None).await;
        assert_eq!(answer.header("allow").as_deref(), Some(allow), "{method} {path}");
        answer.problem(405);
    }
    app.call("DELETE", "/api/v1/no-such-thing", Some(&admin.token), &[], None)
        .await
        .problem(404);
}

backend_tests!(
    requests_the_document_allows_are_served_and_others_named,
    other_methods_answer_405_with_allow,
    a_nul_character_is_refused_at_the_edge,
    a_key_does_not_raise_the_body_limit,
    idempotency_keys_survive_a_crash,
    a_slow_body_is_cut_off,
    a_full_disk_answers_503_and_recovers,
    command_output_is_clean_json,
    operations_surfaces_are_bounded_and_protected,
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
    let village_id = village.id().to_owned();
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

const ID_NUMBER: &str = "350524198001014256";

/// Every value of a body to send wrongly: the whole body's leaves and its objects and lists, by path.
fn paths_of(value: &Value, prefix: Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    if !prefix.is_empty() {
        out.push(prefix.clone());
    }
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let mut path = prefix.clone();
                path.push(PathStep::Key(key.clone()));
                paths_of(inner, path, out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                let mut path = prefix.clone();
                path.push(PathStep::Index(index));
                paths_of(inner, path, out);
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn field_of(path: &[PathStep]) -> String {
    let mut name = String::new();
    for step in path {
        match step {
            PathStep::Key(k) if name.is_empty() => name.push_str(k),
            PathStep::Key(k) => name.push_str(&format!(".{k}")),
            PathStep::Index(i) => name.push_str(&format!("[{i}]")),
        }
    }
    name
}

fn replaced(body: &Value, path: &[PathStep], with: Value) -> Value {
    let mut body = body.clone();
    let mut at = &mut body;
    for step in path {
        at = match step {
            PathStep::Key(k) => &mut at[k.as_str()],
            PathStep::Index(i) => &mut at[*i],
        };
    }
    *at = with;
    body
}

/// Every six-digit run of the number.
fn runs_of_six(number: &str) -> Vec<&str> {
    (0..=number.len() - 6).map(|at| &number[at..at + 6]).collect()
}

/// An identity number sent in every field of every body shape, as a JSON number and, where a string is the
/// wrong type or is checked, as a string: each answer is a 422 naming the field, and neither the answer
/// nor the server's log holds the number or any six-digit run of it.
async fn no_answer_or_log_line_echoes_a_value(backend: Backend) {
    common::capture_logs();
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let admin = &v.admin;
    let landlord = app.user(admin, "landlord", Some(&v.id)).await;
    let inspector = app.user(admin, "inspector", Some(&v.id)).await;
    let grid = app
        .post(
            &format!("/api/v1/villages/{}/grids", v.id),
            Some(&admin.token),
            json!({"name": "一组", "code": "G1"}),
        )
        .await
        .expect(201)
        .body;
    let grid_id = grid.id();
    let property = app.property(&landlord, &v.id).await;
    let pid = property.id();
    let unit = app.unit(&landlord, pid, "101", 30.0).await;
    let uid = unit.id();
    let today = anzu::ids::today().to_string();
    let tenancy = app
        .declare(&landlord, uid, &common::resident_id("19900101", 11), &today)
        .await
        .expect(201)
        .body;
    let tid = tenancy.id();
    let inspection = app
        .inspect(&inspector, pid, "apartment", &today, &["ESC-02"])
        .await
        .expect(201)
        .body;
    let rid = inspection["rectifications"][0].id();
    let lid = landlord.id();
    let (phone, email) = common::unique_contact();

    let shapes: Vec<(&str, String, &common::Session, Value)> = vec![
        (
            "POST",
            "/api/v1/auth/register".into(),
            admin,
            json!({"full_name": "王五", "phone": phone, "email": email, "password": common::PASSWORD, "village_id": v.id}),
        ),
        (
            "POST",
            "/api/v1/auth/login".into(),
            admin,
            json!({"login": email, "password": common::PASSWORD}),
        ),
        (
            "POST",
            "/api/v1/auth/refresh".into(),
            admin,
            json!({"refresh_token": landlord.refresh_token}),
        ),
        (
            "POST",
            "/api/v1/auth/logout".into(),
            &landlord,
            json!({"refresh_token": landlord.refresh_token}),
        ),
        (
            "POST",
            format!("/api/v1/users/{lid}/deactivate"),
            admin,
            json!({"reason": "moved away"}),
        ),
        (
            "POST",
            format!("/api/v1/users/{lid}/activate"),
            admin,
            json!({"reason": "came back"}),
        ),
        (
            "POST",
            "/api/v1/me/password".into(),
            &landlord,
            json!({"current_password": common::PASSWORD, "new_password": "another-long-password"}),
        ),
        (
            "POST",
            "/api/v1/auth/forgot-password".into(),
            admin,
            json!({"login": email}),
        ),
        (
            "POST",
            "/api/v1/auth/set-password".into(),
            admin,
            json!({"token": "abc", "password": common::PASSWORD}),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            admin,
            json!({"full_name": "赵六", "email": email, "phone": phone, "password": common::PASSWORD, "role": "inspector", "village_id": v.id}),
        ),
        (
            "POST",
            format!("/api/v1/users/{lid}/membership"),
            admin,
            json!({"action": "suspend", "reason": "欠费"}),
        ),
        (
            "POST",
            "/api/v1/villages".into(),
            admin,
            json!({"name": "新村", "code": "XC"}),
        ),
        (
            "POST",
            format!("/api/v1/villages/{}/grids", v.id),
            admin,
            json!({"name": "二组", "code": "G2"}),
        ),
        (
            "POST",
            "/api/v1/properties".into(),
            &landlord,
            json!({"name": "楼", "address": "路1号", "village_id": v.id, "grid_id": grid_id, "kind": "apartment",
                "floors": 3, "floor_area_m2": 100.0, "mixed_use_residence": false, "owner_id": lid}),
        ),
        (
            "PATCH",
            format!("/api/v1/properties/{pid}"),
            &landlord,
            json!({"name": "楼", "address": "路1号", "village_id": v.id, "grid_id": grid_id, "kind": "apartment",
                "floors": 3, "floor_area_m2": 100.0, "mixed_use_residence": false, "owner_id": lid}),
        ),
        (
            "POST",
            format!("/api/v1/properties/{pid}/units"),
            &landlord,
            json!({"label": "102", "floor": 1, "area_m2": 12.5, "kind": "room", "max_occupants": 2}),
        ),
        (
            "PATCH",
            format!("/api/v1/units/{uid}"),
            &landlord,
            json!({"label": "102", "floor": 1, "area_m2": 12.5, "kind": "room", "max_occupants": 2}),
        ),
        (
            "POST",
            format!("/api/v1/units/{uid}/tenancies"),
            &landlord,
            json!({"tenant": {"full_name": "李四", "id_type": "resident_id", "id_number": common::resident_id("19900101", 13),
                           "phone": "13912345678", "origin": "四川省", "employer": "晋江鞋业"}, "move_in_date": today}),
        ),
        (
            "POST",
            format!("/api/v1/tenancies/{tid}/move-out"),
            &landlord,
            json!({"move_out_date": today}),
        ),
        (
            "POST",
            format!("/api/v1/properties/{pid}/inspections"),
            &inspector,
            json!({"inspected_on": today, "results": [{"item_code": "ESC-01", "outcome": "pass", "note": "好"}], "summary": "例行"}),
        ),
        (
            "POST",
            format!("/api/v1/rectifications/{rid}/report"),
            &landlord,
            json!({"note": "已整改"}),
        ),
        (
            "POST",
            format!("/api/v1/rectifications/{rid}/verify"),
            &inspector,
            json!({"resolved": true, "note": "已复查"}),
        ),
        (
            "POST",
            format!("/api/v1/properties/{pid}/delist"),
            admin,
            json!({"reason": "拒不整改"}),
        ),
        (
            "POST",
            format!("/api/v1/properties/{pid}/reinstate"),
            admin,
            json!({"reason": "已整改"}),
        ),
        (
            "POST",
            format!("/api/v1/grids/{grid_id}/patrols"),
            &inspector,
            json!({"patrolled_on": today, "visits": [{"property_id": pid, "finding": "issue", "note": "杂物"}]}),
        ),
    ];
    // Strings are the wrong type for everything but text; enums, dates and document numbers are checked.
    let checked_strings = [
        "kind",
        "id_type",
        "role",
        "action",
        "outcome",
        "finding",
        "id_number",
        "item_code",
    ];
    let mut request_ids = Vec::new();
    let mut sent = 0;
    for (method, path, session, body) in &shapes {
        let mut paths = Vec::new();
        paths_of(body, Vec::new(), &mut paths);
        for field_path in paths {
            let field = field_of(&field_path);
            let original = {
                let mut at = body;
                for step in &field_path {
                    at = match step {
                        PathStep::Key(k) => &at[k.as_str()],
                        PathStep::Index(i) => &at[*i],
                    };
                }
                at
            };
            let last_key = match field_path.last() {
                Some(PathStep::Key(k)) => k.as_str(),
                _ => "",
            };
            let is_date = original
                .as_str()
                .is_some_and(|s| s.len() == 10 && s.as_bytes()[4] == b'-');
            let mut wrong = vec![json!(350524198001014256u64)];
            if !original.is_string() || is_date || checked_strings.contains(&last_key) {
                wrong.push(json!(ID_NUMBER));
            }
            for value in wrong {
                let sent_body = replaced(body, &field_path, value.clone());
                let answer = app
                    .call(method, path, Some(&session.token), &[], Some(&sent_body))
                    .await;
                let text = String::from_utf8_lossy(&answer.bytes).into_owned();
                assert_eq!(answer.status, 422, "{method} {path} {field} = {value}: {text}");
                assert!(
                    answer.error_fields().contains(&field),
                    "{method} {path}: {field} is named: {text}"
                );
                for run in runs_of_six(ID_NUMBER) {
                    assert!(!text.contains(run), "{method} {path} {field} = {value}: {text}");
                }
                request_ids.push(answer.body.str("request_id").to_owned());
                sent += 1;
            }
        }
    }
    assert!(sent > 100, "{sent} bodies sent");

    // An unknown enum value is named with the values allowed, and not repeated.
    let castle = app
        .post(
            "/api/v1/properties",
            Some(&landlord.token),
            json!({"name": "楼", "address": "路1号", "village_id": v.id, "kind": "castle-350524198001014256",
                   "floors": 3, "floor_area_m2": 100.0}),
        )
        .await;
    let text = String::from_utf8_lossy(&castle.bytes).into_owned();
    let kind = castle.problem(422)["errors"][0].clone();
    assert_eq!(kind["field"], "kind");
    assert_eq!(
        kind["message"],
        "must be one of: apartment, shared_house, factory, shop, mixed_use"
    );
    assert!(!text.contains("castle") && !text.contains("350524"), "{text}");

    let logs = common::captured_logs();
    assert!(!logs.contains(ID_NUMBER), "a log line holds the number");
    let ours: Vec<&str> = logs
        .lines()
        .filter(|line| request_ids.iter().any(|id| line.contains(id.as_str())))
        .collect();
    assert!(ours.len() >= request_ids.len(), "the requests are logged");
    // Timings and ids are the server's own digits: six of them in a row may match by chance.
    let own_digits = regex::Regex::new(
        r#""latency_ms":[0-9.e+-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|127\.0\.0\.1:[0-9]+"#,
    )
    .unwrap();
    for line in ours {
        let line = own_digits.replace_all(line, "");
        for run in runs_of_six(ID_NUMBER) {
            assert!(!line.contains(run), "{line}");
        }
    }
}

backend_tests!(no_answer_or_log_line_echoes_a_value);

/// The free-text rules hold in every domain's requests, not only the register's.
async fn free_text_is_clean_in_every_domain(backend: Backend) {
    let app = TestApp::start(backend).await;
    let v = app.setup_village().await;
    let admin = Some(v.admin.token.as_str());
    let landlord = app.user(&v.admin, "landlord", Some(&v.id)).await;
    let (phone, email) = common::unique_contact();
    let cases = [
        (
            "/api/v1/villages".to_owned(),
            json!({"name": "花厅\u{202E}口", "code": "HTQ"}),
            "name",
        ),
        (
            format!("/api/v1/villages/{}/grids", v.id),
            json!({"name": "一\u{200B}组", "code": "G1"}),
            "name",
        ),
        (
            "/api/v1/users".to_owned(),
            json!({"full_name": "王\n五", "email": email, "phone": phone, "password": common::PASSWORD,
                   "role": "auditor", "village_id": v.id}),
            "full_name",
        ),
        (
            format!("/api/v1/users/{}/membership", landlord.id()),
            json!({"action": "suspend", "reason": "欠费\u{2066}"}),
            "reason",
        ),
    ];
    for (path, body, field) in cases {
        let answer = app.post(&path, admin, body).await;
        assert_eq!(answer.error_fields(), vec![field], "{path}");
        assert_eq!(answer.body["errors"][0]["code"], "characters");
        answer.problem(422);
    }
    let village = app
        .post(
            "/api/v1/villages",
            admin,
            json!({"name": "Jose\u{301}村", "code": "JSC"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(village["name"], "Jos\u{e9}村", "stored NFC-normalised");
}

backend_tests!(free_text_is_clean_in_every_domain);
