//! Pages for people without the app, served by this binary from the same service functions as the API (no second
//! copy of a rule, no HTTP call to itself): the public rating page behind a door plaque's QR code.
//!
//! Every page is server-rendered HTML from a minijinja template compiled into the binary, styled by one stylesheet
//! under a content-addressed URL (cached for a year), and served with a Content-Security-Policy that allows
//! nothing inline and nothing from elsewhere.

pub mod console;
pub mod public;

use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use minijinja::Environment;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("rating.html", include_str!("templates/rating.html")),
    ("problem.html", include_str!("templates/problem.html")),
    ("console_login.html", include_str!("templates/console_login.html")),
    ("console_forgot.html", include_str!("templates/console_forgot.html")),
    ("console_bar.html", include_str!("templates/console_bar.html")),
    ("console_home.html", include_str!("templates/console_home.html")),
    ("console_property.html", include_str!("templates/console_property.html")),
    ("console_inspect.html", include_str!("templates/console_inspect.html")),
    (
        "console_properties.html",
        include_str!("templates/console_properties.html"),
    ),
    (
        "console_rectifications.html",
        include_str!("templates/console_rectifications.html"),
    ),
    ("console_patrol.html", include_str!("templates/console_patrol.html")),
    ("console_plaque.html", include_str!("templates/console_plaque.html")),
    ("console_late.html", include_str!("templates/console_late.html")),
    (
        "console_overcrowded.html",
        include_str!("templates/console_overcrowded.html"),
    ),
    ("console_ledger.html", include_str!("templates/console_ledger.html")),
    ("console_members.html", include_str!("templates/console_members.html")),
    ("console_notices.html", include_str!("templates/console_notices.html")),
];

const STYLESHEET: &str = include_str!("static/anzu.css");
const CONSOLE_SCRIPT: &str = include_str!("static/console.js");

/// The policy of the console's pages: the same, and the console's own script, which may ask this server only.
const CONSOLE_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of every other page: its own stylesheet, nothing inline, no scripts, no frames, forms only to itself.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/r/{registration_code}", web::get().to(public::rating_page))
        .route("/static/{name}", web::get().to(static_file))
        .configure(console::routes);
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and every one is rendered by the tests; a broken one is a
            // build defect.
            env.add_template(name, source).expect("page templates parse");
        }
        env
    })
}

/// A file served under a content-addressed name (`/static/{stem}-{hash}.{extension}`), cached for good.
struct Asset {
    stem: &'static str,
    extension: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        stem: "anzu",
        extension: "css",
        content_type: "text/css; charset=utf-8",
        body: STYLESHEET,
    },
    Asset {
        stem: "console",
        extension: "js",
        content_type: "text/javascript; charset=utf-8",
        body: CONSOLE_SCRIPT,
    },
];

/// Each asset's address: its name carries a hash of its content.
fn asset_urls() -> &'static [String; 2] {
    static URLS: OnceLock<[String; 2]> = OnceLock::new();
    URLS.get_or_init(|| {
        ASSETS.map(|asset| {
            let digest = Sha256::digest(asset.body.as_bytes());
            format!(
                "/static/{}-{}.{}",
                asset.stem,
                hex::encode(&digest[..6]),
                asset.extension
            )
        })
    })
}

/// The stylesheet's address.
pub fn stylesheet_url() -> &'static str {
    &asset_urls()[0]
}

/// The console's script's address.
pub fn console_script_url() -> &'static str {
    &asset_urls()[1]
}

/// Renders the page `name` (HTML-escaped) with `context` and the values every page uses.
fn render(name: &str, context: impl Serialize) -> Result<String, ApiError> {
    let fail = |e: minijinja::Error| ApiError::internal(anyhow::anyhow!("rendering the page {name} failed: {e:#}"));
    // The stylesheet's address is this module's own text, not input: it needs no escaping (which would write its
    // slashes as entities).
    let stylesheet = minijinja::Value::from_safe_string(stylesheet_url().to_owned());
    let script = minijinja::Value::from_safe_string(console_script_url().to_owned());
    let context = minijinja::context! {
        stylesheet => stylesheet, script => script, ..minijinja::Value::from_serialize(context)
    };
    environment()
        .get_template(name)
        .map_err(fail)?
        .render(context)
        .map_err(fail)
}

/// A rendered page as an answer.
fn page(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .body(body)
}

/// What a refused form is (an `ApiError::Forbidden`'s text): another site's, or stale.
const FOREIGN_FORM: &str = "form";

/// An error as a page the reader can act on, Chinese first: the status stays what the API would answer, the
/// cause is never shown (an internal error gives the request id to quote).
fn error_page(err: ApiError) -> HttpResponse {
    let (title_zh, title_en, detail_zh, detail_en) = match &err {
        ApiError::NotFound => (
            "没有找到",
            "Not found",
            "没有这个登记号的出租房。请核对门牌上的登记号，或联系村房东协会。",
            "No rental has this registration code. Check the code on the door plaque, or ask the village landlord association.",
        ),
        ApiError::Forbidden(what) if what == FOREIGN_FORM => (
            "不允许",
            "Not allowed",
            "这个表单已失效或来自其他网站。请重新打开页面再试。",
            "This form has expired or came from another site. Open the page again and retry.",
        ),
        ApiError::Forbidden(_) => (
            "不允许",
            "Not allowed",
            "你的账号没有这项权限。",
            "Your account may not do this.",
        ),
        ApiError::RateLimited { .. } => (
            "查询太频繁",
            "Too many look-ups",
            "请稍等一分钟再试。",
            "Please wait a minute and try again.",
        ),
        ApiError::Unavailable(_) | ApiError::StorageFull => (
            "暂时无法查询",
            "Not available right now",
            "系统正忙，请稍后再试。",
            "The service is busy; please try again shortly.",
        ),
        _ => (
            "出错了",
            "Something went wrong",
            "请稍后再试；如果一直出错，请告诉村房东协会下面的编号。",
            "Please try again later; if it keeps failing, give the village landlord association the reference below.",
        ),
    };
    // The API's own answer decides the status and headers (Retry-After) and logs an internal cause.
    let api_answer = actix_web::ResponseError::error_response(&err);
    let request_id = matches!(err, ApiError::Internal(_))
        .then(crate::error::current_request_id)
        .flatten();
    let context = serde_json::json!({
        "title_zh": title_zh, "title_en": title_en, "detail_zh": detail_zh, "detail_en": detail_en,
        "request_id": request_id,
    });
    let mut response = match render("problem.html", context) {
        Ok(body) => page(api_answer.status(), body),
        Err(_) => return api_answer,
    };
    if let Some(retry_after) = api_answer.headers().get(header::RETRY_AFTER) {
        response.headers_mut().insert(header::RETRY_AFTER, retry_after.clone());
    }
    response
}

/// An asset under its content-addressed name; any other name is not found.
async fn static_file(name: web::Path<String>) -> HttpResponse {
    let path = format!("/static/{name}");
    let Some(index) = asset_urls().iter().position(|url| *url == path) else {
        return error_page(ApiError::NotFound);
    };
    HttpResponse::Ok()
        .content_type(ASSETS[index].content_type)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .body(ASSETS[index].body)
}
