//! Three `anzu serve` processes on one PostgreSQL behind a real nginx configured as `docs/nginx.conf` (issue 17):
//! the login throttle, the public look-up limit and the account request limit hold across them, a rating change
//! shows on every one at once, the daily jobs run once, and each process sees the client's own address through
//! the proxy (`ANZU_TRUST_PROXY`), whatever the client writes in `X-Forwarded-For`. On SQLite one process serves:
//! nothing to test there.
// A test fails by panicking: unwrapping is how it says what it expected.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, TcpListener};
use std::time::Duration;

use common::scene::{Scene, date};
use common::{Backend, ServerProcess};
use serde_json::{Value, json};

/// nginx running a copy of `docs/nginx.conf` in front of `upstreams`; stopped when dropped.
struct Nginx {
    child: std::process::Child,
    address: String,
    /// The arguments that name this nginx (binary, prefix and configuration), to signal it.
    command: Vec<String>,
}

impl Nginx {
    fn start(work: &std::path::Path, upstreams: &[&ServerProcess]) -> Option<Nginx> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists());
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs this test: nginx must be installed (.ci/run)"
            );
            eprintln!("nginx is not installed: skipped");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut conf = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/nginx.conf")).unwrap();
        for (n, upstream) in upstreams.iter().enumerate() {
            let documented = format!("server 127.0.0.1:808{};", n + 1);
            assert!(conf.contains(&documented), "docs/nginx.conf names three upstreams");
            conf = conf.replace(
                &documented,
                &format!("server {};", upstream.address.trim_start_matches("http://")),
            );
        }
        let here = work.display();
        conf = conf
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("/run/nginx-anzu.pid", &format!("{here}/nginx.pid"))
            .replace("/var/log/nginx/anzu-error.log", &format!("{here}/nginx-error.log"))
            .replace(
                "http {",
                &format!(
                    "http {{\n    client_body_temp_path {here}/nginx-body;\n    proxy_temp_path {here}/nginx-proxy;"
                ),
            );
        let path = work.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let command = vec![
            binary.to_owned(),
            "-p".into(),
            here.to_string(),
            "-c".into(),
            path.to_string_lossy().into_owned(),
        ];
        // Its output goes to its error log: a worker left behind must not hold the test's output open.
        let child = std::process::Command::new(&command[0])
            .args(&command[1..])
            .args(["-g", "daemon off;"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Some(Nginx {
            child,
            address: format!("http://127.0.0.1:{port}"),
            command,
        })
    }
}

impl Drop for Nginx {
    /// Stops nginx as its operator would (`-s quit`: the workers end too), killing it only if it lingers.
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.command[0])
            .args(&self.command[1..])
            .args(["-s", "quit"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client whose requests come from `source` (any 127.0.0.0/8 address is this machine).
fn client_from(source: [u8; 4]) -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().local_address(IpAddr::from(source)))
        .timeout(Duration::from_secs(30))
        .finish()
}

async fn status(client: &awc::Client, url: String, body: Option<Value>, forwarded: Option<&str>) -> (u16, Value) {
    let mut request = match body {
        Some(_) => client.post(url),
        None => client.get(url),
    };
    if let Some(forwarded) = forwarded {
        request = request.insert_header(("X-Forwarded-For", forwarded));
    }
    let mut answer = match body {
        Some(body) => request.send_json(&body).await.unwrap(),
        None => request.send().await.unwrap(),
    };
    let json = serde_json::from_slice(&answer.body().await.unwrap()).unwrap_or(Value::Null);
    (answer.status().as_u16(), json)
}

async fn three_processes_behind_nginx_behave_as_one(backend: Backend) {
    if backend == Backend::Sqlite {
        return;
    }
    let s = Scene::new(backend).await;
    s.inspect(&date(-1), &[]).await;
    let settings = [
        ("ANZU_TRUST_PROXY", "127.0.0.1"),
        ("ANZU_LOGIN_MAX_FAILURES", "3"),
        ("ANZU_PUBLIC_RATE_PER_MINUTE", "6"),
        ("ANZU_ACCOUNT_REQUESTS_PER_MINUTE", "4"),
    ];
    let processes = [
        s.app.spawn_process(&settings).await,
        s.app.spawn_process(&settings).await,
        s.app.spawn_process(&settings).await,
    ];
    let Some(nginx) = Nginx::start(s.app.work_dir.path(), &processes.iter().collect::<Vec<_>>()) else {
        return;
    };
    let url = |path: &str| format!("{}{path}", nginx.address);
    let first = client_from([127, 0, 0, 1]);
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(answer) = first.get(url("/healthz")).send().await
            && answer.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "nginx did not answer within 10 s");

    // Failed logins, round robin over the three processes: three in all.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let guess = json!({"login": "nobody@example.cn", "password": "not-the-password-1"});
        seen.push(status(&first, url("/api/v1/auth/login"), Some(guess), None).await.0);
    }
    assert_eq!(seen, [401, 401, 401, 429]);
    // Account requests: four a minute in all.
    seen.clear();
    for _ in 0..5 {
        let ask = json!({"login": "nobody@example.cn"});
        seen.push(
            status(&first, url("/api/v1/auth/forgot-password"), Some(ask), None)
                .await
                .0,
        );
    }
    assert_eq!(seen[4], 429, "{seen:?}");

    // Public look-ups from one client: six a minute in all; writing another address in X-Forwarded-For does not
    // buy more (nginx appends the real one, which anzu reads); another client has its own allowance.
    let walker = client_from([127, 0, 0, 2]);
    let lookup = url("/public/v1/ratings/NOPE0001");
    for _ in 0..6 {
        assert_eq!(status(&walker, lookup.clone(), None, None).await.0, 404);
    }
    assert_eq!(status(&walker, lookup.clone(), None, None).await.0, 429);
    assert_eq!(status(&walker, lookup.clone(), None, Some("10.9.9.9")).await.0, 429);
    assert_eq!(status(&client_from([127, 0, 0, 4]), lookup, None, None).await.0, 404);

    // A rating change shows on all three at once: each caches the 5 stars, then an inspection lowers them.
    let tenant = client_from([127, 0, 0, 3]);
    let rating = url(&format!("/public/v1/ratings/{}", s.code()));
    for _ in 0..3 {
        let (code, body) = status(&tenant, rating.clone(), None, None).await;
        assert_eq!((code, body["stars"].as_i64()), (200, Some(5)));
    }
    let lowered = s.inspect(&date(0), &["GAS-02"]).await["stars"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let (_, body) = status(&tenant, rating.clone(), None, None).await;
        assert_eq!(
            body["stars"].as_i64(),
            Some(lowered),
            "every process shows the new rating"
        );
    }

    // Today's sweep and purge, each run once by one of the three.
    for _ in 0..100 {
        if s.app.count("daily_runs WHERE finished_at IS NOT NULL") == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.app.count("daily_runs WHERE finished_at IS NOT NULL"), 2);
    assert_eq!(s.app.count("daily_runs"), 2);
    drop(nginx);
}

backend_tests!(three_processes_behind_nginx_behave_as_one);
