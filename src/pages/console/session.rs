//! The console's sign-in: a session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when the service is reached
//! over HTTPS, `Path=/console`) whose token is stored hashed; a CSRF token per session that every form sends back;
//! an idle expiry and an absolute one; and a refusal of any form posted from another origin.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};
use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::accounts::model::{ConsoleSessionRow, UserRow};
use crate::accounts::repo;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids::new_id;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "anzu_console";
/// The sign-in form's CSRF cookie (before there is a session, the form and this cookie must carry one value).
pub const LOGIN_CSRF_COOKIE: &str = "anzu_login_csrf";
/// A session ends this long after sign-in, however active.
const ABSOLUTE_HOURS: i64 = 12;
/// Activity is written at most this often (a page view is otherwise a read).
const TOUCH_EVERY_SECS: i64 = 60;

/// The signed-in user of a console request.
pub struct Current {
    pub session: ConsoleSessionRow,
    pub user: UserRow,
    pub caller: Caller,
}

/// A random token for a cookie or a form.
pub fn random_token() -> String {
    repo::new_token()
}

/// Whether two tokens are equal, compared as digests so the time taken says nothing about a prefix.
pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// A cookie of the console: HTTP only, same-site strict, under `/console`, `Secure` behind HTTPS.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.public_base_url.starts_with("https://"))
        .finish()
}

/// The cookie that removes `name`.
pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut gone = cookie(state, name, String::new());
    gone.set_max_age(time::Duration::ZERO);
    gone
}

/// Refuses a form posted from another origin: a browser names the origin of every POST it sends (`null` for a
/// page that hides it, a `data:` page or a sandbox: refused too). A client that sends no `Origin` (not a browser)
/// still needs the form's CSRF token.
pub fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|o| o.to_str().ok()) else {
        return true;
    };
    // The address the public uses (behind a TLS proxy the connection itself is plain HTTP), or the one this
    // request reached.
    let info = req.connection_info();
    origin == origin_of(&state.settings.public_base_url) || origin == format!("{}://{}", info.scheme(), info.host())
}

/// The origin (scheme, host and port) of a base URL such as `https://anzu.example.cn/anzu`.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(path) => &url[..after_scheme + path],
        None => url,
    }
}

/// Starts a session for `user`; returns it and the cookie's token.
pub async fn start(state: &AppState, user: UserRow) -> Result<(ConsoleSessionRow, String), ApiError> {
    let token = random_token();
    let now = state.clock.now();
    let row = ConsoleSessionRow {
        id: new_id(),
        user_id: user.id,
        token_hash: repo::hash_token(&token),
        csrf_token: random_token(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(ABSOLUTE_HOURS),
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| repo::insert_console_session(conn, &stored))
        .await?;
    Ok((row, token))
}

/// The signed-in user of this request, if its cookie names a live session of an active user; a session past its
/// idle or absolute time is ended.
pub async fn current(req: &HttpRequest, state: &AppState) -> Result<Option<Current>, ApiError> {
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let token_hash = repo::hash_token(&token);
    let Some((session, user)) = state
        .db
        .lookup(move |conn| repo::find_console_session(conn, &token_hash))
        .await?
    else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = Duration::minutes(state.settings.console_idle_minutes);
    let live = now < session.expires_at && now - session.last_seen_at < idle;
    if !live || !user.active || state.revoked.contains(&user.id) {
        let id = session.id.clone();
        state
            .db
            .write(move |conn| repo::delete_console_session(conn, &id))
            .await?;
        return Ok(None);
    }
    if now - session.last_seen_at > Duration::seconds(TOUCH_EVERY_SECS) {
        let id = session.id.clone();
        state
            .db
            .write(move |conn| repo::touch_console_session(conn, &id, now))
            .await?;
    }
    let caller = Caller {
        user_id: user.id.clone(),
        role: user.role,
        village_id: user.village_id.clone(),
        session_id: None,
    };
    Ok(Some(Current { session, user, caller }))
}

/// Ends a session (sign-out).
pub async fn end(state: &AppState, session: &ConsoleSessionRow) -> Result<(), ApiError> {
    let id = session.id.clone();
    state
        .db
        .write(move |conn| repo::delete_console_session(conn, &id))
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_of_a_base_url_drops_its_path() {
        assert_eq!(
            super::origin_of("https://anzu.example.cn/anzu"),
            "https://anzu.example.cn"
        );
        assert_eq!(super::origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(super::origin_of("https://a.example:8443/"), "https://a.example:8443");
    }
}
