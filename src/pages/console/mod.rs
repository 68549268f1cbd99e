//! `/console/`: the association's web console, for every role, Chinese first. Server-rendered pages over the same
//! service and repository functions as the API. Signing in and out is here; each role's start page is `home`.

mod actions;
mod forgot;
mod home;
mod inspect;
mod ledger;
mod lists;
mod members;
mod notices;
mod patrol;
mod property;
mod record;
pub mod session;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use serde_json::{Value, json};

use crate::accounts::login::authenticate;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::AppState;
use session::{Current, LOGIN_CSRF_COOKIE, SESSION_COOKIE};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(|| async { see_other("/console/") }))
        .route("/console/", web::get().to(home::home))
        .route("/console/login", web::get().to(login_form))
        .route("/console/login", web::post().to(login))
        .route("/console/logout", web::post().to(logout))
        .route("/console/forgot", web::get().to(forgot::form))
        .route("/console/forgot", web::post().to(forgot::request))
        .route("/console/properties", web::get().to(lists::properties))
        .route("/console/rectifications", web::get().to(lists::rectifications))
        .route("/console/declarations/late", web::get().to(lists::late_declarations))
        .route("/console/units/overcrowded", web::get().to(lists::overcrowded))
        .route("/console/properties/{id}", web::get().to(property::property_page))
        .route("/console/properties/{id}/plaque", web::get().to(property::plaque))
        .route("/console/units/{id}/tenancies", web::post().to(property::declare))
        .route("/console/tenancies/{id}/move-out", web::post().to(actions::move_out))
        .route("/console/tenancies/{id}/identity", web::post().to(actions::reveal))
        .route(
            "/console/rectifications/{id}/report",
            web::post().to(actions::report_fix),
        )
        .route(
            "/console/rectifications/{id}/verify",
            web::post().to(actions::verify_fix),
        )
        .route("/console/patrols/new", web::get().to(patrol::form))
        .route("/console/grids/{id}/patrols", web::post().to(patrol::submit))
        .route("/console/properties/{id}/inspect", web::get().to(inspect::form))
        .route(
            "/console/properties/{id}/inspect/preview",
            web::post().to(inspect::preview),
        )
        .route("/console/units/{id}/tenancies/check", web::post().to(property::check))
        .route("/console/properties/{id}/inspections", web::post().to(inspect::submit))
        .route("/console/ledger", web::get().to(ledger::page))
        .route("/console/ledger", web::post().to(ledger::upload))
        .route("/console/ledger.csv", web::get().to(ledger::download))
        .route("/console/ledger/confirm", web::post().to(ledger::confirm))
        .route("/console/members", web::get().to(members::page))
        .route("/console/users/{id}/membership", web::post().to(members::decide))
        .route("/console/users/{id}/active", web::post().to(members::set_active))
        .route("/console/notices", web::get().to(notices::page))
        .route("/console/notices/{id}/retry", web::post().to(notices::retry));
}

/// A role in both languages.
pub(crate) fn role_words(role: Role) -> Value {
    let (zh, en) = match role {
        Role::Admin => ("管理员", "administrator"),
        Role::Auditor => ("审计员", "auditor"),
        Role::Inspector => ("检查员", "inspector"),
        Role::Landlord => ("房东", "landlord"),
    };
    json!({"zh": zh, "en": en})
}

/// The menu of a role: (address, Chinese, English).
fn menu(role: Role) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut links = vec![
        ("/console/", "首页", "Start"),
        ("/console/properties", "出租房", "Properties"),
    ];
    links.push(("/console/rectifications", "整改", "Rectifications"));
    match role {
        Role::Admin | Role::Auditor => links.extend([
            ("/console/declarations/late", "逾期申报", "Late declarations"),
            ("/console/units/overcrowded", "超员", "Overcrowded"),
            ("/console/notices", "通知", "Notices"),
            ("/console/ledger", "台账", "Ledger"),
            ("/console/members", "会员", "Members"),
        ]),
        Role::Inspector => links.push(("/console/patrols/new", "巡查", "Patrol")),
        Role::Landlord => links.push(("/console/notices", "我的通知", "My notices")),
    }
    links
}

/// A console page's context: its own values, with what every console page shows around them (who is signed in,
/// the role's menu with `here` marked, the session's CSRF token for its forms).
fn page_context(current: &Current, here: &str, mut own: Value) -> Value {
    let links: Vec<Value> = menu(current.caller.role)
        .into_iter()
        .map(|(href, zh, en)| json!({"href": href, "zh": zh, "en": en, "here": href == here}))
        .collect();
    if let Some(map) = own.as_object_mut() {
        map.insert("csrf".into(), json!(current.session.csrf_token));
        map.insert(
            "bar".into(),
            json!({"user_name": current.user.full_name, "role": role_words(current.caller.role), "links": links}),
        );
    }
    own
}

/// A redirect after a form or to the sign-in page (303: the next request is a GET).
fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The signed-in user, or the answer to give instead: the sign-in page, or an error page.
async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<session::Current, HttpResponse> {
    match session::current(req, state).await {
        Ok(Some(current)) => Ok(current),
        Ok(None) => Err(see_other("/console/login")),
        Err(err) => Err(super::error_page(err)),
    }
}

/// The signed-in user and their form, if the form came from their own page (its token sent back); otherwise the
/// answer to give instead: the sign-in page, or a refusal of a foreign form.
async fn posted<T>(
    req: &HttpRequest,
    state: &AppState,
    form: Result<web::Form<T>, actix_web::Error>,
    csrf_of: impl Fn(&T) -> &str,
) -> Result<(Current, T), HttpResponse> {
    let current = signed_in(req, state).await?;
    let Ok(form) = form else { return Err(foreign_form()) };
    let form = form.into_inner();
    if !from_own_page(req, state, csrf_of(&form), &current.session.csrf_token) {
        return Err(foreign_form());
    }
    Ok((current, form))
}

/// The CSRF token of a form read as a map of fields.
fn csrf_field(fields: &std::collections::HashMap<String, String>) -> &str {
    fields.get("csrf").map(String::as_str).unwrap_or_default()
}

/// Whether a form came from this console's own page: the browser names no other origin, and it carries the token
/// `expected` (the session's, or before sign-in the one in the form's cookie).
fn from_own_page(req: &HttpRequest, state: &AppState, sent: &str, expected: &str) -> bool {
    session::same_origin(req, state) && session::same_token(sent, expected)
}

/// A rendered console page as the answer (or the error page when it could not be rendered).
fn respond(rendered: Result<String, ApiError>, status: StatusCode) -> HttpResponse {
    match rendered {
        Ok(body) => {
            let mut response = super::page(status, body);
            no_store(&mut response);
            response
        }
        Err(err) => super::error_page(err),
    }
}

/// A refused action shown on its page above the list rather than as an error page: a conflict with the current
/// state (409) or a stale form (412), in Chinese with the API's own message beneath. None for any other error.
fn conflict_words(err: &ApiError) -> Option<Value> {
    let (zh, en) = match err {
        ApiError::Conflict(message) => ("当前状态不允许这项操作。", message),
        ApiError::PreconditionFailed(message) => ("页面已过期：记录已被别人修改。请看最新状态后再试。", message),
        _ => return None,
    };
    Some(json!({"zh": zh, "en": en}))
}

/// A form that did not come from this console's own page: another origin, or no (or a stale) CSRF token.
fn foreign_form() -> HttpResponse {
    super::error_page(ApiError::Forbidden(super::FOREIGN_FORM.into()))
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    csrf: String,
}

/// The sign-in form, with a fresh CSRF token in a cookie and in the form.
async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match session::current(&req, &state).await {
        Ok(Some(_)) => see_other("/console/"),
        Ok(None) => login_page(&state, StatusCode::OK, "", None),
        Err(err) => super::error_page(err),
    }
}

/// What went wrong at sign-in, in both languages.
struct SignInError {
    zh: &'static str,
    en: &'static str,
}

fn login_page(state: &AppState, status: StatusCode, login: &str, error: Option<SignInError>) -> HttpResponse {
    let context = json!({
        "login": login,
        "error": error.map(|e| json!({"zh": e.zh, "en": e.en})),
    });
    signed_out_page(state, "console_login.html", status, context)
}

/// A page with a form for someone not signed in (signing in, a forgotten password): a fresh CSRF token in the
/// form and in a cookie, which [`signed_out_form`] compares.
fn signed_out_page(state: &AppState, template: &str, status: StatusCode, mut context: Value) -> HttpResponse {
    let csrf = session::random_token();
    context["csrf"] = json!(csrf);
    match super::render(template, context) {
        Ok(body) => {
            let mut response = super::page(status, body);
            let _ = response.add_cookie(&session::cookie(state, LOGIN_CSRF_COOKIE, csrf));
            no_store(&mut response);
            response
        }
        Err(err) => super::error_page(err),
    }
}

/// The form of a page for someone not signed in, if it came from that page (its origin, and the token its cookie
/// holds); none for a form to refuse ([`foreign_form`]).
fn signed_out_form<T>(
    req: &HttpRequest,
    state: &AppState,
    form: Result<web::Form<T>, actix_web::Error>,
    csrf_of: impl Fn(&T) -> &str,
) -> Option<T> {
    let expected = req.cookie(LOGIN_CSRF_COOKIE)?.value().to_owned();
    let form = form.ok()?.into_inner();
    from_own_page(req, state, csrf_of(&form), &expected).then_some(form)
}

/// A console page's own headers: never stored; and `Referrer-Policy: same-origin`, under which a browser names
/// the origin of the page's forms (under `no-referrer` it sends `Origin: null`, as a page of another site would).
fn no_store(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(super::CONSOLE_SECURITY_POLICY),
    );
}

/// Signs in with the API's own rule (the same throttles, the same hash); a session cookie replaces the form's.
async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<web::Form<LoginForm>, actix_web::Error>,
) -> HttpResponse {
    let Some(LoginForm { login, password, .. }) = signed_out_form(&req, &state, form, |f: &LoginForm| &f.csrf) else {
        return foreign_form();
    };
    let address = crate::http::client_ip(&req, &state.settings.trust_proxy);
    let user = match authenticate(&state, address, login.clone(), password).await {
        Ok(user) => user,
        Err(ApiError::Unauthorized(_)) => {
            let error = SignInError {
                zh: "账号或密码不对。",
                en: "The login or the password is wrong.",
            };
            return login_page(&state, StatusCode::UNAUTHORIZED, &login, Some(error));
        }
        Err(err) => return super::error_page(err),
    };
    match session::start(&state, user).await {
        Ok((_, token)) => {
            let mut response = see_other("/console/");
            let _ = response.add_cookie(&session::cookie(&state, SESSION_COOKIE, token));
            let _ = response.add_cookie(&session::removal(&state, LOGIN_CSRF_COOKIE));
            response
        }
        Err(err) => super::error_page(err),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// Signs out: the session ends on the server and its cookie is removed.
async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<web::Form<CsrfForm>, actix_web::Error>,
) -> HttpResponse {
    let current = match session::current(&req, &state).await {
        Ok(current) => current,
        Err(err) => return super::error_page(err),
    };
    if let Some(current) = current {
        let sent = form.map(|f| f.into_inner().csrf).unwrap_or_default();
        if !from_own_page(&req, &state, &sent, &current.session.csrf_token) {
            return foreign_form();
        }
        if let Err(err) = session::end(&state, &current.session).await {
            return super::error_page(err);
        }
    }
    let mut response = see_other("/console/login");
    let _ = response.add_cookie(&session::removal(&state, SESSION_COOKIE));
    response
}
