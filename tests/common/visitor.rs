//! A browser-like visitor of the console over plain HTTP: a cookie jar, redirects seen rather than followed.

use std::cell::RefCell;
use std::collections::HashMap;

use super::TestApp;

/// A visitor with a cookie jar, who sees redirects rather than follows them.
pub struct Visitor {
    pub client: awc::Client,
    pub base: String,
    pub cookies: RefCell<HashMap<String, String>>,
    /// The `Set-Cookie` lines of the last answer.
    pub last_set_cookies: RefCell<Vec<String>>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            client: awc::Client::builder().disable_redirects().finish(),
            base: app.address.clone(),
            cookies: RefCell::default(),
            last_set_cookies: RefCell::default(),
        }
    }

    pub fn cookie_header(&self) -> String {
        let jar = self.cookies.borrow();
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(
        &self,
        response: awc::ClientResponse<
            impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
        >,
    ) -> Page {
        let mut response = response;
        let mut set = Vec::new();
        for line in response.headers().get_all("set-cookie") {
            let line = line.to_str().unwrap().to_owned();
            let (pair, attributes) = line.split_once(';').unwrap_or((&line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.borrow_mut().remove(name);
            } else {
                self.cookies.borrow_mut().insert(name.to_owned(), value.to_owned());
            }
            set.push(line);
        }
        *self.last_set_cookies.borrow_mut() = set;
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = String::from_utf8(response.body().limit(4 << 20).await.unwrap().to_vec()).unwrap();
        Page {
            status: response.status().as_u16(),
            location,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .send()
            .await
            .unwrap();
        self.read(response).await
    }

    pub async fn post(&self, path: &str, fields: &impl serde::Serialize, headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let response = request.send_form(fields).await.unwrap();
        self.read(response).await
    }

    /// Posts a `multipart/form-data` form, as a browser sends a form with a file input: `fields` as text parts, then
    /// `file` (field name, file name, content) when given.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
        headers: &[(&str, &str)],
    ) -> Page {
        const BOUNDARY: &str = "----anzu-test-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            let part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
            body.extend_from_slice(part.as_bytes());
        }
        if let Some((name, file_name, content)) = file {
            let head = format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            );
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            // A large upload takes a while through an unoptimised multipart parser.
            .timeout(std::time::Duration::from_secs(120))
            .insert_header(("Cookie", self.cookie_header()))
            .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let response = request.send_body(body).await.unwrap();
        self.read(response).await
    }

    /// Opens the sign-in page and signs in; the answer to the form.
    pub async fn sign_in(&self, login: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = csrf_of(&form.body);
        self.post(
            "/console/login",
            &[("login", login), ("password", password), ("csrf", &csrf)],
            &[],
        )
        .await
    }
}

/// The CSRF token a page's form carries.
pub fn csrf_of(html: &str) -> String {
    regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
        .unwrap()
        .captures(html)
        .expect("a form with a CSRF token")[1]
        .to_owned()
}
