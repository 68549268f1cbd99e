//! HTTP handlers for `/auth/*`, `/me` and `/users*`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web::{get, post};

use crate::accounts::login::authenticate;
use crate::accounts::model::*;
use crate::accounts::repo;
use crate::accounts::service::{self, RefreshOutcome, SessionKeys};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::ids::{new_id, now};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(set_password)
        .service(forgot_password)
        .service(me)
        .service(change_password)
        .service(create_user)
        .service(list_users)
        .service(get_user)
        .service(change_membership)
        .service(deactivate_user)
        .service(activate_user);
}

/// Refuses, before any password is hashed, a user whose village does not exist or whose contact is taken.
async fn check_new_user(state: &AppState, email: &str, phone: &str, village_id: Option<&str>) -> Result<(), ApiError> {
    let (email, phone, village_id) = (email.to_owned(), phone.to_owned(), village_id.map(str::to_owned));
    state
        .db
        .read(move |conn| service::check_new_user(conn, &email, &phone, village_id.as_deref()))
        .await
}

fn session_keys(state: &AppState) -> SessionKeys<'_> {
    SessionKeys {
        tokens: &state.tokens,
        refresh_ttl_days: state.settings.refresh_token_ttl_days,
    }
}

/// Register as a landlord; the membership starts `pending` until an admin approves it. Rate limited per
/// client address.
#[utoipa::path(operation_id = "register_landlord", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)))]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .account_limiter
        .check("register", crate::http::client_ip(&req, &state.settings.trust_proxy))
        .await?;
    let body = body.into_inner();
    check_new_user(&state, &body.email, &body.phone, Some(&body.village_id)).await?;
    let password_hash = state.hashing.hash(body.password).await?;
    let row = service::user_row(
        &body.full_name,
        &body.email,
        Some(&body.phone),
        password_hash,
        Role::Landlord,
        Some(body.village_id),
        MembershipStatus::Pending,
    );
    let user = state
        .db
        .write(move |conn| service::insert_user_audited(conn, None, &row, "user.registered"))
        .await?;
    Ok(versioned(StatusCode::CREATED, &user))
}

/// Log in with e-mail or phone. Failures are counted per account (its e-mail and phone together) and per
/// client address; past either limit the answer is 429.
#[utoipa::path(tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem), (status = 429, body = Problem),
        (status = 503, body = Problem)))]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let address = crate::http::client_ip(&req, &state.settings.trust_proxy);
    let user = authenticate(&state, address, body.login, body.password).await?;
    let session_state = state.clone();
    let session = state
        .db
        .write(move |conn| service::issue_session(conn, &session_keys(&session_state), user, &new_id()))
        .await?;
    Ok(HttpResponse::Ok().json(session))
}

/// Trade a refresh token for a new pair. Each refresh token works once; reusing one revokes its family.
#[utoipa::path(operation_id = "refresh_session", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem)))]
#[post("/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    let refresh_token = body.into_inner().refresh_token;
    let session_state = state.clone();
    let outcome = state
        .db
        .write(move |conn| service::refresh(conn, &session_keys(&session_state), &refresh_token))
        .await?;
    match outcome {
        RefreshOutcome::Issued(session) => Ok(HttpResponse::Ok().json(session)),
        RefreshOutcome::Refused(reason) => Err(ApiError::Unauthorized(reason.into())),
    }
}

/// End a session: the refresh token's whole family is revoked.
#[utoipa::path(tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 401, body = Problem)), security(("bearer" = [])))]
#[post("/auth/logout")]
pub async fn logout(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let refresh_token = body.into_inner().refresh_token;
    state
        .db
        .write(move |conn| service::logout(conn, &caller, &refresh_token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own user.
#[utoipa::path(operation_id = "get_me", tag = "users",
    responses((status = 200, body = User), (status = 401, body = Problem)), security(("bearer" = [])))]
#[get("/me")]
pub async fn me(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let user = state
        .db
        .lookup(move |conn| {
            let row = repo::find(conn, &caller.user_id)?;
            service::answer(conn, row)
        })
        .await?;
    Ok(versioned(StatusCode::OK, &user))
}

/// Create a user of any role (admin). A landlord made so is `active`; staff need a village.
#[utoipa::path(tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/users")]
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
    check_new_user(&state, &body.email, &body.phone, body.village_id.as_deref()).await?;
    let password_hash = state.hashing.hash(body.password).await?;
    let row = service::user_row(
        &body.full_name,
        &body.email,
        Some(&body.phone),
        password_hash,
        body.role,
        body.village_id,
        MembershipStatus::Active,
    );
    let user = state
        .db
        .write(move |conn| service::insert_user_audited(conn, Some(&caller), &row, "user.created"))
        .await?;
    Ok(versioned(StatusCode::CREATED, &user))
}

/// List users: admins all, auditors their village.
#[utoipa::path(tag = "users", params(UserFilter, PageQuery),
    responses((status = 200, body = Paginated<User>), (status = 403, body = Problem)), security(("bearer" = [])))]
#[get("/users")]
pub async fn list_users(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<UserFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let result = state
        .db
        .read(move |conn| {
            let rows = repo::list(conn, &caller, &filter, &page)?;
            let trained = service::training_of(conn, &rows)?;
            page.finish_try(
                rows,
                |r| &r.id,
                |r| {
                    let until = trained.get(&r.id).copied();
                    User::try_from(r).map(|user| User {
                        training_valid_until: until,
                        ..user
                    })
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// One user: admins any, auditors their village, anyone themself.
#[utoipa::path(tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/users/{id}")]
pub async fn get_user(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .db
        .lookup(move |conn| {
            let row = repo::find_visible(conn, &caller, &id)?;
            service::answer(conn, row)
        })
        .await?;
    Ok(versioned(StatusCode::OK, &user))
}

/// Approve, suspend, reinstate or expel a landlord (admin). Moves the status does not allow answer 409.
#[utoipa::path(tag = "users", params(("id" = String, Path)),
    request_body = MembershipRequest,
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/users/{id}/membership")]
pub async fn change_membership(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<MembershipRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .db
        .write(move |conn| service::change_membership(conn, &caller, &id, if_match, body.into_inner()))
        .await?;
    Ok(versioned(StatusCode::OK, &user))
}

/// Set a password with a one-time link: the invitation of an account made from an imported ledger, or a
/// reset link. Every session of the user is revoked. Rate limited per client address.
#[utoipa::path(tag = "auth", request_body = SetPasswordRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)))]
#[post("/auth/set-password")]
pub async fn set_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<SetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .account_limiter
        .check(
            "set_password",
            crate::http::client_ip(&req, &state.settings.trust_proxy),
        )
        .await?;
    let SetPasswordRequest {
        token,
        password: password_text,
    } = body.into_inner();
    let refused = || ApiError::Unauthorized("The link is not valid, was used already, or has expired.".into());
    // A made-up or spent token costs one indexed read, never a password hash.
    let lookup_hash = repo::hash_token(&token);
    if !state
        .db
        .lookup(move |conn| repo::password_token_is_live(conn, &lookup_hash, now()))
        .await?
    {
        return Err(refused());
    }
    let password_hash = state.hashing.hash(password_text).await?;
    let used = state
        .db
        .write(move |conn| service::set_password_by_link(conn, &token, &password_hash))
        .await?;
    if !used {
        return Err(refused());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a password reset link. Always 202, whether or not the login exists; for an active user a
/// one-time link valid for an hour is e-mailed (at most one per ten minutes). Rate limited per address.
#[utoipa::path(tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/auth/forgot-password")]
pub async fn forgot_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<ForgotPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = crate::http::client_ip(&req, &state.settings.trust_proxy);
    crate::accounts::login::request_reset(state.into_inner(), address, body.into_inner().login).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Change the caller's password. A wrong current password answers 422 naming `current_password` (the
/// access token is fine, so not 401), and counts as a failed login of the account. Every other session
/// of the user (refresh-token family) is revoked; the caller's own stays.
#[utoipa::path(tag = "users", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
#[post("/me/password")]
pub async fn change_password(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    let user_id = caller.user_id.clone();
    let row = state.db.lookup(move |conn| repo::find(conn, &user_id)).await?;
    let account_key = format!("user:{}", row.id);
    let attempt = state.login_limiter.reserve(&account_key).await?;
    if !state
        .hashing
        .verify(current_password, Some(row.password_hash.clone()))
        .await?
    {
        attempt.keep();
        return Err(ApiError::invalid(
            "current_password",
            "mismatch",
            "is not the current password",
        ));
    }
    attempt.give_back().await;
    state.login_limiter.clear(&account_key).await?;
    let password_hash = state.hashing.hash(new_password).await?;
    state
        .db
        .write(move |conn| service::change_password(conn, &caller, &password_hash))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deactivate a user of any role (admin): no login or refresh any more, and every access token they hold
/// is refused within seconds on every server. Their sessions are revoked.
#[utoipa::path(tag = "users", params(("id" = String, Path)),
    request_body = ReasonRequest,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/users/{id}/deactivate")]
pub async fn deactivate_user(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    let user = service::change_active(&state, caller, id.into_inner(), if_match, reason, false).await?;
    Ok(versioned(StatusCode::OK, &user))
}

/// Activate a deactivated user again (admin). They sign in anew: their old sessions stay revoked.
#[utoipa::path(tag = "users", params(("id" = String, Path)),
    request_body = ReasonRequest,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/users/{id}/activate")]
pub async fn activate_user(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    let user = service::change_active(&state, caller, id.into_inner(), if_match, reason, true).await?;
    Ok(versioned(StatusCode::OK, &user))
}
