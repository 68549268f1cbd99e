//! Operations endpoints: liveness, readiness and the set-password page. (`/metrics` is
//! `http::metrics::export`; the OpenAPI document and its browsable reference are `openapi::routes`.)

use actix_web::get;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, DATABASE_UNAVAILABLE, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz)
        .service(readyz)
        .route("/set-password", web::get().to(set_password_page));
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is alive.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers and its storage took the last write; 503 otherwise, within a second: on a connection of its own, so that a probe never
/// waits behind requests for the pool.
#[utoipa::path(tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.db.storage_full() {
        return Err(ApiError::StorageFull);
    }
    let db = state.db.clone();
    let check = tokio::time::timeout(READINESS_TIMEOUT, web::block(move || db.check_fresh())).await;
    let cause = match check {
        Ok(Ok(Ok(()))) => return Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Ok(Ok(Err(cause))) => cause,
        Ok(Err(blocking)) => blocking.to_string(),
        Err(_) => format!("no answer within {} ms", READINESS_TIMEOUT.as_millis()),
    };
    tracing::warn!(cause = cause.trim(), "readiness: the database does not answer");
    Err(ApiError::Unavailable(DATABASE_UNAVAILABLE.into()))
}

/// How long a readiness probe waits for the database.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The page an invitation e-mail links to: a form that sends the one-time token and the new password to
/// `POST /api/v1/auth/set-password`. Self-contained: nothing is loaded from elsewhere.
pub async fn set_password_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(include_str!("ops/set_password.html"))
}
