//! HTTP handlers for `/auth/*`, `/me` and `/users*`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::Duration;
use rand::RngCore;
use serde_json::json;

use crate::accounts::model::*;
use crate::accounts::{password, repo};
use crate::audit::{self, Event};
use crate::db::Conn;
use crate::error::{ApiError, Problem};
use crate::http::auth::Caller;
use crate::http::etag::versioned;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::ids::{new_id, now};
use crate::startup::AppState;
use crate::{notices, villages};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(register))
        .route("/auth/login", web::post().to(login))
        .route("/auth/refresh", web::post().to(refresh))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/set-password", web::post().to(set_password))
        .route("/me", web::get().to(me))
        .route("/users", web::post().to(create_user))
        .route("/users", web::get().to(list_users))
        .route("/users/{id}", web::get().to(get_user))
        .route("/users/{id}/membership", web::post().to(change_membership));
}

/// A new user row with a hashed password; the hash is computed off the async threads.
pub async fn new_user_row(
    full_name: &str,
    email: &str,
    phone: Option<&str>,
    password_text: String,
    role: Role,
    village_id: Option<String>,
    membership: MembershipStatus,
) -> Result<UserRow, ApiError> {
    let password_hash = web::block(move || password::hash(&password_text)).await??;
    let at = now();
    Ok(UserRow {
        id: new_id(),
        full_name: full_name.trim().to_owned(),
        email: email.trim().to_lowercase(),
        phone: phone.map(str::to_owned),
        password_hash,
        role: role.as_str().into(),
        village_id,
        membership_status: membership.as_str().into(),
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

pub fn insert_user_audited(
    conn: &mut Conn,
    actor: Option<&Caller>,
    row: &UserRow,
    action: &str,
) -> Result<User, ApiError> {
    if let Some(village_id) = &row.village_id {
        villages::repo::require_exists(conn, village_id, "village_id")?;
    }
    repo::insert(conn, row)?;
    audit::record_by(
        conn,
        actor.map(|c| c.user_id.as_str()).or(Some(&row.id)),
        Event {
            action,
            entity_type: "user",
            entity_id: &row.id,
            village_id: row.village_id.as_deref(),
            detail: json!({"role": row.role, "membership_status": row.membership_status}),
        },
    )?;
    User::try_from(row.clone())
}

/// Register as a landlord; the membership starts `pending` until an admin approves it.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register(state: web::Data<AppState>, body: Json<RegisterRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let row = new_user_row(
        &body.full_name,
        &body.email,
        Some(&body.phone),
        body.password,
        Role::Landlord,
        Some(body.village_id),
        MembershipStatus::Pending,
    )
    .await?;
    let user = state
        .db
        .write(move |conn| insert_user_audited(conn, None, &row, "user.registered"))
        .await?;
    Ok(versioned(StatusCode::CREATED, &user))
}

use crate::accounts::repo::hash_token;

/// Issues an access token and a refresh token in `family_id` (a new family at login).
fn issue_session(conn: &mut Conn, state: &AppState, user: UserRow, family_id: &str) -> Result<TokenResponse, ApiError> {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let refresh_token = B64.encode(raw);
    let at = now();
    let expires_at = at + Duration::days(state.settings.refresh_token_ttl_days);
    repo::insert_refresh_token(conn, &user.id, family_id, &hash_token(&refresh_token), expires_at, at)?;
    let access_token = state.tokens.issue(&user.id, user.role()?, user.village_id.as_deref())?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_secs(),
        refresh_token,
        user: user.try_into()?,
    })
}

/// Log in with e-mail or phone. Repeated failures from one address or for one account answer 429.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let address = crate::http::client_ip(&req, &state.settings.trust_proxy);
    let address_key = format!("addr:{}", address.map(|a| a.to_string()).unwrap_or_default());
    let account_key = format!("login:{}", body.login.trim().to_lowercase());
    for (limiter, key) in [
        (&state.address_limiter, &address_key),
        (&state.login_limiter, &account_key),
    ] {
        if let Some(retry_after_secs) = limiter.blocked_for(key) {
            return Err(ApiError::RateLimited { retry_after_secs });
        }
    }

    let login = body.login.clone();
    let user = state.db.read(move |conn| repo::find_by_login(conn, &login)).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_text = body.password;
    let valid = web::block(move || password::verify(&password_text, stored_hash.as_deref())).await?;
    let Some(user) = user.filter(|_| valid) else {
        state.address_limiter.record_failure(&address_key);
        state.login_limiter.record_failure(&account_key);
        return Err(ApiError::Unauthorized("The login or the password is wrong.".into()));
    };
    state.login_limiter.clear(&account_key);

    let session_state = state.clone();
    let session = state
        .db
        .write(move |conn| issue_session(conn, &session_state, user, &new_id()))
        .await?;
    Ok(HttpResponse::Ok().json(session))
}

enum RefreshOutcome {
    Issued(Box<TokenResponse>),
    Refused(&'static str),
}

/// Trade a refresh token for a new pair. Each refresh token works once; reusing one revokes its family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem)))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let token_hash = hash_token(&body.into_inner().refresh_token);
    let session_state = state.clone();
    // Revocation must commit even though the caller is refused, so refusals are values, not errors.
    let outcome = state
        .db
        .write(move |conn| {
            let at = now();
            let Some(token) = repo::find_refresh_token(conn, &token_hash)? else {
                return Ok(RefreshOutcome::Refused("The refresh token is not valid."));
            };
            if token.revoked_at.is_some() {
                return Ok(RefreshOutcome::Refused("The refresh token has been revoked."));
            }
            if token.used_at.is_some() || !repo::mark_refresh_token_used(conn, &token.id, at)? {
                repo::revoke_family(conn, &token.family_id, at)?;
                audit::record_by(
                    conn,
                    Some(&token.user_id),
                    Event {
                        action: "session.refresh_reused",
                        entity_type: "user",
                        entity_id: &token.user_id,
                        village_id: None,
                        detail: json!({"family_id": token.family_id}),
                    },
                )?;
                return Ok(RefreshOutcome::Refused(
                    "The refresh token was already used; the session is revoked.",
                ));
            }
            if token.expires_at <= at {
                return Ok(RefreshOutcome::Refused("The refresh token has expired."));
            }
            let user = repo::find(conn, &token.user_id)?;
            Ok(RefreshOutcome::Issued(Box::new(issue_session(
                conn,
                &session_state,
                user,
                &token.family_id,
            )?)))
        })
        .await?;
    match outcome {
        RefreshOutcome::Issued(session) => Ok(HttpResponse::Ok().json(session)),
        RefreshOutcome::Refused(reason) => Err(ApiError::Unauthorized(reason.into())),
    }
}

/// End a session: the refresh token's whole family is revoked.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn logout(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token_hash = hash_token(&body.into_inner().refresh_token);
    state
        .db
        .write(move |conn| {
            if let Some(token) = repo::find_refresh_token(conn, &token_hash)?.filter(|t| t.user_id == caller.user_id) {
                repo::revoke_family(conn, &token.family_id, now())?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own user.
#[utoipa::path(get, path = "/api/v1/me", tag = "users",
    responses((status = 200, body = User), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let row = state.db.lookup(move |conn| repo::find(conn, &caller.user_id)).await?;
    Ok(versioned(StatusCode::OK, &User::try_from(row)?))
}

/// Create a user of any role (admin). A landlord made so is `active`; staff need a village.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_user(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body.into_inner();
    if matches!(body.role, Role::Auditor | Role::Inspector | Role::Landlord) && body.village_id.is_none() {
        return Err(ApiError::invalid(
            "village_id",
            "required",
            "auditors, inspectors and landlords belong to a village",
        ));
    }
    let row = new_user_row(
        &body.full_name,
        &body.email,
        Some(&body.phone),
        body.password,
        body.role,
        body.village_id,
        MembershipStatus::Active,
    )
    .await?;
    let user = state
        .db
        .write(move |conn| insert_user_audited(conn, Some(&caller), &row, "user.created"))
        .await?;
    Ok(versioned(StatusCode::CREATED, &user))
}

/// List users: admins all, auditors their village.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserFilter, PageQuery),
    responses((status = 200, body = Paginated<User>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list_users(
    caller: Caller,
    state: web::Data<AppState>,
    filter: web::Query<UserFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let result = state
        .db
        .read(move |conn| {
            let rows = repo::list(conn, &caller, &filter, &page)?;
            page.finish_try(rows, |r| &r.id, User::try_from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// One user: admins any, auditors their village, anyone themself.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_user(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .lookup(move |conn| repo::find_visible(conn, &caller, &id))
        .await?;
    Ok(versioned(StatusCode::OK, &User::try_from(row)?))
}

/// Approve, suspend, reinstate or expel a landlord (admin). Moves the status does not allow answer 409.
#[utoipa::path(post, path = "/api/v1/users/{id}/membership", tag = "users", params(("id" = String, Path)),
    request_body = MembershipRequest,
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_membership(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: crate::http::etag::IfMatch,
    body: Json<MembershipRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body.into_inner();
    let user = state
        .db
        .write(move |conn| {
            let row = repo::find(conn, &id)?;
            if_match.check(row.version)?;
            if row.role()? != Role::Landlord {
                return Err(ApiError::Conflict(
                    "Membership decisions apply to landlords only.".into(),
                ));
            }
            let from = row.membership()?;
            let to = from.after(body.action).ok_or_else(|| {
                ApiError::Conflict(format!("A {from} membership cannot be changed by `{}`.", body.action))
            })?;
            let updated = repo::set_membership(conn, &row.id, to, now())?;
            notices::outbox::queue(
                conn,
                notices::outbox::NewNotice {
                    kind: notices::model::NoticeKind::MembershipChanged,
                    recipient: &updated,
                    property: None,
                    context: json!({"from": from, "to": to, "action": body.action, "reason": body.reason}),
                    dedupe_key: None,
                },
            )?;
            audit::record(
                conn,
                Some(&caller),
                Event {
                    action: "membership.changed",
                    entity_type: "user",
                    entity_id: &row.id,
                    village_id: row.village_id.as_deref(),
                    detail: json!({"from": from, "to": to, "action": body.action, "reason": body.reason}),
                },
            )?;
            User::try_from(updated)
        })
        .await?;
    Ok(versioned(StatusCode::OK, &user))
}

/// Set a password with the one-time link e-mailed to an account made from an imported ledger.
#[utoipa::path(post, path = "/api/v1/auth/set-password", tag = "auth", request_body = SetPasswordRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn set_password(
    state: web::Data<AppState>,
    body: Json<SetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let SetPasswordRequest {
        token,
        password: password_text,
    } = body.into_inner();
    let password_hash = web::block(move || password::hash(&password_text)).await??;
    let used = state
        .db
        .write(move |conn| {
            let at = now();
            let Some(user_id) = repo::consume_password_token(conn, &token, at)? else {
                return Ok(false);
            };
            repo::set_password_hash(conn, &user_id, &password_hash, at)?;
            audit::record_by(
                conn,
                Some(&user_id),
                Event {
                    action: "user.password_set",
                    entity_type: "user",
                    entity_id: &user_id,
                    village_id: None,
                    detail: json!({}),
                },
            )?;
            Ok(true)
        })
        .await?;
    if !used {
        return Err(ApiError::Unauthorized(
            "The link is not valid, was used already, or has expired.".into(),
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}
