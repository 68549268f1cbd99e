//! A real browser for the page tests: Debian's Chromium, headless, driven over the W3C WebDriver protocol by
//! `chromedriver` (plain JSON over HTTP, spoken here with the test client: no WebDriver crate needed).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub struct Browser {
    client: awc::Client,
    session: String,
    driver: Child,
}

impl Browser {
    /// A headless Chromium that lays pages out as a phone `width` CSS pixels wide. `None` when Chromium or its
    /// driver is not installed (`apt-get install chromium chromium-driver`), except under `CI=true`, where that
    /// fails the test.
    pub async fn phone(width: u32) -> Option<Browser> {
        let installed = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .iter()
            .all(|path| std::path::Path::new(path).exists());
        if !installed {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI must run the browser tests: install chromium and chromium-driver"
            );
            eprintln!("Chromium or chromedriver is not installed: browser test not run");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let client = awc::Client::builder().timeout(Duration::from_secs(60)).finish();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--lang=zh-CN", "--hide-scrollbars"],
                "mobileEmulation": {"deviceMetrics": {"width": width, "height": 780, "pixelRatio": 2.0}}
            }
        }}});
        let mut browser = Browser {
            client,
            session: String::new(),
            driver,
        };
        let created = browser.command("POST", &format!("{base}/session"), capabilities).await;
        browser.session = format!("{base}/session/{}", created["sessionId"].as_str().expect("a session"));
        Some(browser)
    }

    async fn command(&self, method: &str, url: &str, body: Value) -> Value {
        let request = match method {
            "GET" => self.client.get(url),
            "DELETE" => self.client.delete(url),
            _ => self.client.post(url),
        };
        let mut response = if method == "POST" {
            request.send_json(&body).await
        } else {
            request.send().await
        }
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
        let answer: Value = response
            .json()
            .limit(64 * 1024 * 1024)
            .await
            .expect("WebDriver answers JSON");
        assert!(response.status().is_success(), "WebDriver {method} {url}: {answer}");
        answer["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.command("POST", &format!("{}/url", self.session), json!({"url": url}))
            .await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                "POST",
                &format!("{}/element", self.session),
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    /// Types `text` into the field `css` selects.
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.command(
            "POST",
            &format!("{}/element/{id}/value", self.session),
            json!({"text": text}),
        )
        .await;
    }

    /// Clicks what `css` selects (and waits for the page it opens).
    pub async fn click(&self, css: &str) {
        // WebDriver scrolls an element only until it shows at the bottom edge, where a fixed bar (the inspection
        // form's preview) may cover it and take the click: bring it to the middle first.
        let selector = serde_json::to_string(css).unwrap();
        self.eval(&format!(
            "document.querySelector({selector}).scrollIntoView({{block: 'center'}}); return true;"
        ))
        .await;
        let id = self.element(css).await;
        self.command("POST", &format!("{}/element/{id}/click", self.session), json!({}))
            .await;
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        let url = self.command("GET", &format!("{}/url", self.session), Value::Null).await;
        url.as_str().unwrap_or_default().to_owned()
    }

    /// Waits (up to 5 s) for the page shown to be at an address ending in `suffix`; whether it is.
    pub async fn arrives_at(&self, suffix: &str) -> bool {
        for _ in 0..50 {
            if self.url().await.ends_with(suffix) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Signs in through the console's form at `address` and waits for the start page.
    pub async fn sign_in(&self, address: &str, email: &str) {
        self.open(&format!("{address}/console/login")).await;
        self.fill("#login", email).await;
        self.fill("#password", super::PASSWORD).await;
        self.click("#sign-in").await;
        assert!(self.arrives_at("/console/").await, "{email} signed in");
    }

    /// Waits (up to 15 s) for `script` to return something other than null or an empty string; that value.
    pub async fn wait_for(&self, script: &str) -> Option<Value> {
        for _ in 0..150 {
            let value = self.eval(script).await;
            if !value.is_null() && value != "" {
                return Some(value);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Clears the field `css` selects.
    pub async fn clear(&self, css: &str) {
        let id = self.element(css).await;
        self.command("POST", &format!("{}/element/{id}/clear", self.session), json!({}))
            .await;
    }

    /// Runs `script` (a function body; `return` what to read back) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.command(
            "POST",
            &format!("{}/execute/sync", self.session),
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Runs `script`, which ends by calling `done(value)`, and reads `value` back (for promises: image loading).
    pub async fn eval_async(&self, script: &str) -> Value {
        let script = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.command(
            "POST",
            &format!("{}/execute/async", self.session),
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// The visible page as a PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self
            .command("GET", &format!("{}/screenshot", self.session), Value::Null)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64"))
            .expect("a PNG")
    }

    /// Saves a screenshot under `target/screenshots/` (the documentation's pictures come from there).
    pub async fn save_screenshot(&self, name: &str) {
        save(name, &self.screenshot().await);
    }

    pub async fn close(mut self) {
        self.command("DELETE", &self.session.clone(), Value::Null).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Saves a picture under `target/screenshots/`.
fn save(name: &str, bytes: &[u8]) {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(name), bytes).unwrap();
}

/// Saves a `data:image/png;base64,...` URL (a canvas drawn in the page) as a picture.
pub fn save_data_url(name: &str, data_url: &str) {
    use base64::Engine;
    let encoded = data_url.split_once("base64,").expect("a base64 data URL").1;
    save(
        name,
        &base64::engine::general_purpose::STANDARD.decode(encoded).unwrap(),
    );
}
