//! HTTP handlers for grid patrols.

use actix_web::{get, post};
use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::auth::Role;
use crate::error::{ApiError, Problem};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::patrols::model::*;
use crate::patrols::{repo, service};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_patrol).service(list_patrols);
}

/// Record a patrol of a grid (inspectors of its village, admins).
#[utoipa::path(tag = "patrols", params(("id" = String, Path)),
    request_body = CreatePatrol,
    responses((status = 201, body = Patrol), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/grids/{id}/patrols")]
pub async fn create_patrol(
    caller: Caller,
    state: web::Data<AppState>,
    grid_id: web::Path<String>,
    body: Json<CreatePatrol>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let patrol = state
        .db
        .write(move |conn| service::record(conn, &caller, &grid_id, input))
        .await?;
    Ok(HttpResponse::Created().json(patrol))
}

/// A grid's patrols (staff of its village, admins).
#[utoipa::path(tag = "patrols", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paginated<Patrol>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/grids/{id}/patrols")]
pub async fn list_patrols(
    caller: Caller,
    state: web::Data<AppState>,
    grid_id: web::Path<String>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    let page = state
        .db
        .read(move |conn| {
            repo::grid_village(conn, &caller, &grid_id)?;
            let rows = repo::list(conn, &grid_id, &page)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let mut visits: HashMap<String, Vec<VisitRow>> = HashMap::new();
            for v in repo::visits_of(conn, &ids)? {
                visits.entry(v.patrol_id.clone()).or_default().push(v);
            }
            page.finish_try(
                rows,
                |r| &r.id,
                |r| {
                    let v = visits.remove(&r.id).unwrap_or_default();
                    Patrol::from_rows(r, v)
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
