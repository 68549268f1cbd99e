//! The test harness: `TestApp` spawns the real server on a fresh database (an SQLite file in a temp
//! folder, or a new PostgreSQL database that is dropped afterwards) and offers typed helpers.
//!
//! Every integration test is an `async fn name(backend: Backend)` listed once in `backend_tests!`,
//! which runs it on SQLite and, when `ANZU_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![allow(dead_code)]

pub mod browser;
pub mod scene;
pub mod visitor;

use std::collections::HashMap;
use std::net::TcpListener;

use actix_web::dev::ServerHandle;
use actix_web::{HttpServer, web};
use anzu::clock::{Clock, ClockShift};
use anzu::config::Settings;
pub use anzu::db::Backend;
use anzu::db::Db;
use anzu::startup::{Shared, build_app, metrics};
use anzu::state::AppState;
use diesel::prelude::*;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct-horse-battery";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const DATA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Runs each named `async fn(Backend)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name(anzu::db::Backend::Sqlite).await
            }

            #[actix_web::test]
            async fn postgres() {
                if $crate::common::postgres_url().is_some() {
                    super::$name(anzu::db::Backend::Postgres).await
                } else if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("CI must test PostgreSQL: set ANZU_TEST_POSTGRES_URL");
                } else {
                    eprintln!("ANZU_TEST_POSTGRES_URL is not set: PostgreSQL variant not run");
                }
            }
        })+
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("ANZU_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

/// A fresh database that is removed when dropped.
enum Scratch {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Scratch::Postgres { admin_url, name } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn);
        }
    }
}

fn scratch_database(backend: Backend) -> (Scratch, String, tempfile::TempDir) {
    let work_dir = tempfile::tempdir().expect("temp dir");
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = dir.path().join("anzu.db").to_string_lossy().into_owned();
            (Scratch::Sqlite(dir), url, work_dir)
        }
        Backend::Postgres => {
            let admin_url = postgres_url().expect("ANZU_TEST_POSTGRES_URL");
            let name = format!("anzu_test_{}", uuid::Uuid::now_v7().simple());
            let mut conn = PgConnection::establish(&admin_url)
                .unwrap_or_else(|e| panic!("PostgreSQL at ANZU_TEST_POSTGRES_URL is not reachable: {e}"));
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create database");
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin_url.clone());
            let url = format!("{base}/{name}");
            (Scratch::Postgres { admin_url, name }, url, work_dir)
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub db: Db,
    pub state: web::Data<AppState>,
    /// The declarations' batcher (PostgreSQL), for its counts.
    pub declarations: web::Data<anzu::registry::declare::Declarations>,
    pub client: awc::Client,
    pub work_dir: tempfile::TempDir,
    /// Moves the clock the server and `delivery()` read.
    clock: ClockShift,
    handle: ServerHandle,
    _scratch: Scratch,
}

/// An answer: status, headers and the body parsed as JSON (Null when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: Value,
}

impl Answer {
    /// The body as text (a page, a plaque, a CSV).
    #[track_caller]
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).expect("a UTF-8 body")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self
    }

    /// Asserts a problem+json answer with this status; returns the problem.
    #[track_caller]
    pub fn problem(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].is_string() && self.body["title"].is_string() && self.body["detail"].is_string());
        self.body
    }

    /// The fields named by a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
            .unwrap_or_default()
    }
}

/// Reads of a JSON answer's fields that, when a field is missing or of another type, fail naming it.
pub trait JsonExt {
    /// The string at `key`.
    fn str(&self, key: &str) -> &str;

    /// The array at `key`.
    fn array(&self, key: &str) -> &Vec<Value>;

    /// The `id` string.
    #[track_caller]
    fn id(&self) -> &str {
        self.str("id")
    }
}

impl JsonExt for Value {
    #[track_caller]
    fn str(&self, key: &str) -> &str {
        self[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{key}` in {}", shortened(self)))
    }

    #[track_caller]
    fn array(&self, key: &str) -> &Vec<Value> {
        self[key]
            .as_array()
            .unwrap_or_else(|| panic!("no array `{key}` in {}", shortened(self)))
    }
}

/// A JSON value as text, cut short enough for a panic message.
fn shortened(value: &Value) -> String {
    const MAX_CHARS: usize = 500;
    let text = value.to_string();
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub refresh_token: String,
    pub user: Value,
}

impl Session {
    pub fn id(&self) -> String {
        self.user.id().to_owned()
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A phone number and e-mail no other test user has.
pub fn unique_contact() -> (String, String) {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = (std::process::id() as u64 % 1000) * 100_000 + n;
    (
        format!("139{:08}", seed % 100_000_000),
        format!("user{seed}@example.cn"),
    )
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, &[]).await
    }

    /// Starts with extra `ANZU_*` settings.
    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        let (scratch, url, work_dir) = scratch_database(backend);
        let mut vars: HashMap<String, String> = [
            ("ANZU_DATABASE_URL", url.as_str()),
            ("ANZU_JWT_SECRET", JWT_SECRET),
            ("ANZU_DATA_KEY", DATA_KEY),
            ("ANZU_MAIL_DIR", &work_dir.path().join("outbox").to_string_lossy()),
            ("ANZU_DATA_DIR", &work_dir.path().to_string_lossy()),
            ("ANZU_DB_MAX_CONNECTIONS", "4"),
            // Tests register many users from one address; the limit's own test sets it low.
            ("ANZU_ACCOUNT_REQUESTS_PER_MINUTE", "1000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let settings = Settings::from_vars(&vars).expect("test settings");
        let db = Db::connect(&settings.database_url, settings.db_max_connections)
            .expect("pool")
            .limit_reads(settings.db_max_reads);
        anzu::startup::prepare_database(&db, &settings).expect("migrations");
        let (clock, shift) = Clock::shiftable();
        let shared = Shared::with_clock(settings, db.clone(), clock).expect("state");
        let state = shared.state.clone();
        let declarations = shared.declarations.clone();
        actix_web::rt::spawn(state.revocation_task());
        let listener = TcpListener::bind("127.0.0.1:0").expect("port");
        let address = format!("http://{}", listener.local_addr().unwrap());
        let metrics = metrics(&state.settings).expect("metrics");
        let server = HttpServer::new(move || build_app(shared.clone(), metrics.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .finish();
        TestApp {
            backend,
            address,
            db,
            state,
            declarations,
            client,
            work_dir,
            clock: shift,
            handle,
            _scratch: scratch,
        }
    }

    /// Moves this app's clock ahead, as if `by` had passed: access tokens, notice claims and idempotency leases
    /// then run out without a wait. Another process on the same database keeps the real time.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        self.call_at(&self.address, method, path, token, headers, body).await
    }

    /// Sends a request to the server at `base` (another process on this app's database, say).
    pub async fn call_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let response = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        };
        read_answer(response.expect("request sent")).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Answer {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, self.url(path))
            .insert_header(("Content-Type", content_type));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        read_answer(request.send_body(bytes).await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call("GET", path, token, &[], None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call("POST", path, token, &[], Some(&body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call("PATCH", path, token, &[], Some(&body)).await
    }

    pub async fn login(&self, login: &str, password: &str) -> Answer {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"login": login, "password": password}),
        )
        .await
    }

    async fn session(&self, login: &str) -> Session {
        let body = self.login(login, PASSWORD).await.expect(200).body;
        Session {
            token: body.str("access_token").to_owned(),
            refresh_token: body.str("refresh_token").to_owned(),
            user: body["user"].clone(),
        }
    }

    /// An administrator, created as `anzu admin create` does, and signed in.
    pub async fn admin(&self) -> Session {
        let (_, email) = unique_contact();
        let row = anzu::accounts::service::new_user_row(
            "Admin",
            &email,
            None,
            PASSWORD.into(),
            anzu::auth::Role::Admin,
            None,
            anzu::accounts::model::MembershipStatus::Active,
        )
        .await
        .unwrap();
        self.db
            .write_blocking(|conn| anzu::accounts::service::insert_user_audited(conn, None, &row, "user.created"))
            .unwrap();
        self.session(&email).await
    }

    /// A village with a unique code.
    pub async fn village(&self, admin: &Session) -> Value {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let code: String = format!("{n:04}")
            .chars()
            .map(|c| (b'A' + (c as u8 - b'0')) as char)
            .collect();
        self.post(
            "/api/v1/villages",
            Some(&admin.token),
            json!({"name": format!("Village {code}"), "code": format!("V{code}")}),
        )
        .await
        .expect(201)
        .body
    }

    /// A user of `role` made by the admin (landlords so made are active), signed in.
    pub async fn user(&self, admin: &Session, role: &str, village_id: Option<&str>) -> Session {
        let (phone, email) = unique_contact();
        self.post(
            "/api/v1/users",
            Some(&admin.token),
            json!({"full_name": format!("Test {role}"), "email": email, "phone": phone, "password": PASSWORD, "role": role, "village_id": village_id}),
        )
        .await
        .expect(201);
        self.session(&email).await
    }

    /// A landlord who registered themself (membership `pending`), signed in.
    pub async fn registered_landlord(&self, village_id: &str) -> Session {
        let (phone, email) = unique_contact();
        self.post(
            "/api/v1/auth/register",
            None,
            json!({"full_name": "王房东", "phone": phone, "email": email, "password": PASSWORD, "village_id": village_id}),
        )
        .await
        .expect(201);
        self.session(&email).await
    }

    /// Counts rows of a table straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db.get().unwrap();
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(&mut *conn)
            .unwrap()
            .n
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Starts the `anzu` binary as a second server process on this app's database, with its secrets, and waits
    /// until it answers. Extra `ANZU_*` settings as given.
    pub async fn spawn_process(&self, extra: &[(&str, &str)]) -> ServerProcess {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(self.work_dir.path().join(format!("process-{port}.log"))).unwrap();
        let mut command = self.anzu_command(&["serve"], extra);
        command
            .env("ANZU_BIND", format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(log);
        let child = command.spawn().expect("anzu starts");
        let process = ServerProcess {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if let Ok(response) = self.client.get(format!("{}/healthz", process.address)).send().await
                && response.status() == 200
            {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the second anzu process did not answer within 30 s");
    }
}

impl TestApp {
    /// The `anzu` binary with `args`, set up for this app's database and secrets, plus `extra` settings.
    pub fn anzu_command(&self, args: &[&str], extra: &[(&str, &str)]) -> std::process::Command {
        let work = self.work_dir.path();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_anzu"));
        command
            .args(args)
            .env("ANZU_DATABASE_URL", &self.state.settings.database_url)
            .env("ANZU_JWT_SECRET", JWT_SECRET)
            .env("ANZU_DATA_KEY", DATA_KEY)
            .env("ANZU_MAIL_DIR", work.join("outbox"))
            .env("ANZU_DATA_DIR", work)
            .env("ANZU_LOG", "warn");
        for (name, value) in extra {
            command.env(name, value);
        }
        command
    }
}

/// An `anzu serve` process started by a test; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
}

impl ServerProcess {
    /// Ends the process at once, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server and close the pool before the scratch database is dropped.
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

async fn read_answer<S>(mut response: awc::ClientResponse<S>) -> Answer
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let bytes = response.body().limit(64 << 20).await.expect("body").to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        bytes,
        body,
    }
}

/// `/readyz` asked `times` times of the app, run in this process without a server on a database that may be down
/// (a `TestApp` needs one it can migrate): each answer's status, headers, body and how long it took.
pub async fn readiness_of(
    database_url: &str,
    times: usize,
) -> Vec<(u16, actix_web::http::header::HeaderMap, Value, std::time::Duration)> {
    use actix_web::test;
    let vars = [
        ("ANZU_JWT_SECRET", JWT_SECRET),
        ("ANZU_DATA_KEY", DATA_KEY),
        ("ANZU_DATABASE_URL", database_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let settings = anzu::config::Settings::from_vars(&vars).unwrap();
    let db = anzu::db::Db::connect(&settings.database_url, 1).unwrap();
    let shared = anzu::startup::Shared::new(settings, db).unwrap();
    let metrics = anzu::startup::metrics(&shared.state.settings).unwrap();
    let app = test::init_service(anzu::startup::build_app(shared, metrics)).await;
    let mut answers = Vec::new();
    for _ in 0..times {
        let started = std::time::Instant::now();
        let response = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let body = test::read_body_json(response).await;
        answers.push((status, headers, body, started.elapsed()));
    }
    answers
}

/// A valid resident ID number (Jinjiang region code) born on `birth` (YYYYMMDD) with sequence `seq`.
pub fn resident_id(birth: &str, seq: u32) -> String {
    let first17 = format!("350582{birth}{seq:03}");
    let check = anzu::registry::identity::check_character(&first17).expect("17 digits");
    format!("{first17}{check}")
}

/// A village with an active landlord in it, and an admin.
pub struct Village {
    pub admin: Session,
    pub id: String,
    pub code: String,
}

impl TestApp {
    pub async fn setup_village(&self) -> Village {
        let admin = self.admin().await;
        let village = self.village(&admin).await;
        Village {
            id: village.id().to_owned(),
            code: village.str("code").to_owned(),
            admin,
        }
    }

    /// Registers a property for the landlord; returns its answer.
    pub async fn property(&self, landlord: &Session, village_id: &str) -> Value {
        self.post(
            "/api/v1/properties",
            Some(&landlord.token),
            json!({"name": "陈氏出租楼", "address": "花厅口村中路12号", "village_id": village_id, "kind": "apartment",
                   "floors": 5, "floor_area_m2": 600.0, "mixed_use_residence": false}),
        )
        .await
        .expect(201)
        .body
    }

    /// Adds a unit of `area_m2` to a property; returns its answer.
    pub async fn unit(&self, session: &Session, property_id: &str, label: &str, area_m2: f64) -> Value {
        self.post(
            &format!("/api/v1/properties/{property_id}/units"),
            Some(&session.token),
            json!({"label": label, "floor": 2, "area_m2": area_m2, "kind": "room"}),
        )
        .await
        .expect(201)
        .body
    }

    /// Declares a tenant with a resident ID; returns the answer (any status).
    pub async fn declare(&self, session: &Session, unit_id: &str, id_number: &str, move_in_date: &str) -> Answer {
        self.post(
            &format!("/api/v1/units/{unit_id}/tenancies"),
            Some(&session.token),
            json!({"tenant": {"full_name": "李四", "id_type": "resident_id", "id_number": id_number,
                              "phone": "13912345678", "origin": "四川省", "employer": "晋江鞋业"},
                   "move_in_date": move_in_date}),
        )
        .await
    }
}

/// Everything the server logged in this test binary (the subscriber is installed on first use).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOG_BUFFER.lock().unwrap()).into_owned()
}

static LOG_BUFFER: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct BufferWriter;

impl std::io::Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG_BUFFER.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the server's logs, at debug level, to the buffer `captured_logs` reads.
pub fn capture_logs() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .json()
            .with_current_span(true)
            .with_writer(|| BufferWriter)
            .try_init();
    });
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A real SMTP server (Python's aiosmtpd) on a free loopback port, keeping what it receives as files.
pub struct SmtpServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl SmtpServer {
    /// Starts one; None when aiosmtpd is not installed outside CI (`.ci/run` installs it).
    pub fn start() -> Option<SmtpServer> {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = SmtpServer {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        if !server.resume() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI must test mail against a real SMTP server: pip install aiosmtpd");
            }
            eprintln!("aiosmtpd is not installed: SMTP test not run");
            return None;
        }
        Some(server)
    }

    /// A port nobody listens on yet, for a server started later.
    pub fn stopped() -> SmtpServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        SmtpServer {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        }
    }

    /// Starts (again) on the same port; false if aiosmtpd is missing.
    pub fn resume(&mut self) -> bool {
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            // aiosmtpd's Maildir makes its folders only when the path does not exist yet.
            .arg(self.dir.path().join("maildir"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let new = self.dir.path().join("maildir").join("new");
        let mut files: Vec<_> = std::fs::read_dir(new)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A received message's subject, recipients and decoded text and HTML bodies.
pub struct Mail {
    pub subject: String,
    pub to: Vec<String>,
    pub text: String,
    pub html: String,
    pub raw: String,
}

pub fn parse_mail(raw: &[u8]) -> Mail {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a MIME message");
    Mail {
        subject: message.subject().unwrap_or_default().to_owned(),
        to: message
            .to()
            .map(|a| a.iter().filter_map(|x| x.address().map(str::to_owned)).collect())
            .unwrap_or_default(),
        text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        html: message.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        raw: String::from_utf8_lossy(raw).into_owned(),
    }
}

impl TestApp {
    /// Moves every queued notice's next attempt to now, as if the backoff had passed.
    pub fn make_notices_due_now(&self) {
        use anzu::db::schema::notices;
        let mut conn = self.db.get().unwrap();
        diesel::update(notices::table.filter(notices::status.eq("queued")))
            .set(notices::next_attempt_at.eq(anzu::ids::now()))
            .execute(&mut *conn)
            .unwrap();
    }

    /// The notice worker, as the server runs it, with this app's mail settings.
    pub fn delivery(&self, claim_secs: i64) -> anzu::notices::worker::Delivery {
        let mut delivery =
            anzu::notices::worker::Delivery::from_settings(self.db.clone(), &self.state.settings).unwrap();
        delivery.claim_secs = claim_secs;
        delivery.clock = self.state.clock.clone();
        delivery
    }
}

impl TestApp {
    /// A result for every checklist item that applies to `kind`, passing except `failing`.
    pub async fn results(&self, session: &Session, kind: &str, failing: &[&str]) -> Vec<Value> {
        let checklist = self
            .get("/api/v1/checklist", Some(&session.token))
            .await
            .expect(200)
            .body;
        checklist["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| {
                let kinds = i.array("applies_to");
                kinds.is_empty() || kinds.contains(&json!(kind))
            })
            .map(|i| {
                let code = i.str("code");
                json!({"item_code": code, "outcome": if failing.contains(&code) { "fail" } else { "pass" }})
            })
            .collect()
    }

    /// Inspects a property of `kind` on a date, failing the named items; returns the answer.
    pub async fn inspect(
        &self,
        inspector: &Session,
        property_id: &str,
        kind: &str,
        on: &str,
        failing: &[&str],
    ) -> Answer {
        let results = self.results(inspector, kind, failing).await;
        self.post(
            &format!("/api/v1/properties/{property_id}/inspections"),
            Some(&inspector.token),
            json!({"inspected_on": on, "results": results, "summary": "例行检查"}),
        )
        .await
    }
}

/// A `multipart/form-data` body with one file field; its content type and bytes.
pub fn file_form(field: &str, file_name: &str, declared_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "anzu-test-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
         Content-Type: {declared_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A small JPEG made with the `image` crate (a gradient, like a photo's detail).
pub fn small_jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .unwrap();
    out
}

impl TestApp {
    /// Uploads `bytes` as the form field `photo`, named and typed as given.
    pub async fn upload_photo(
        &self,
        token: Option<&str>,
        path: &str,
        (file_name, declared_type): (&str, &str),
        bytes: &[u8],
    ) -> Answer {
        let (content_type, body) = file_form("photo", file_name, declared_type, bytes);
        self.send_raw("POST", path, token, &content_type, body).await
    }
}
