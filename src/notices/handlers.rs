//! HTTP handlers for notices.

use actix_web::{HttpResponse, web};
use actix_web::{get, post};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::notices::model::{Notice, NoticeFilter};
use crate::notices::{repo, service};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_notices).service(retry_notice);
}

/// Notices: admins all, everyone else their own.
#[utoipa::path(tag = "notices", params(NoticeFilter, PageQuery),
    responses((status = 200, body = Paginated<Notice>)), security(("bearer" = [])))]
#[get("/notices")]
pub async fn list_notices(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<NoticeFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list(conn, &caller, &filter, &page)?;
            page.finish_try(rows, |r| &r.id, Notice::try_from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Put a failed notice back in the queue (admin).
#[utoipa::path(tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Notice), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
#[post("/notices/{id}/retry")]
pub async fn retry_notice(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .write(move |conn| service::retry_failed(conn, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(Notice::try_from(row)?))
}
