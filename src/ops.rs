//! Operations endpoints: liveness, readiness, the OpenAPI document and the browsable reference.
//! (`/metrics` is `http::metrics::export`.)

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, DATABASE_UNAVAILABLE, Problem};
use crate::openapi::ApiDoc;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/set-password", web::get().to(set_password_page))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        )
        .route("/api/openapi.json", web::get().to(openapi_json))
        .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/api/openapi.json")));
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database answers and its storage took the last write; 503 otherwise, within a second: on a connection of its own, so that a probe never
/// waits behind requests for the pool.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem)))]
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

/// The OpenAPI document, generated from the code on first request and kept.
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let json = DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()));
    HttpResponse::Ok().content_type("application/json").body(json.as_str())
}
