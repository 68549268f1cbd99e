//! HTTP handlers for `/villages` and their grids.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web::{get, post};
use serde_json::json;

use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::auth::Role;
use crate::error::{ApiError, Problem};
use crate::http::etag::versioned;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::ids::{new_id, now};
use crate::state::AppState;
use crate::villages::model::*;
use crate::villages::repo;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_village)
        .service(list_villages)
        .service(create_grid)
        .service(list_grids);
}

/// Found a village (admin). Its code prefixes every registration code there.
#[utoipa::path(tag = "villages", request_body = CreateVillage,
    responses((status = 201, body = Village), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/villages")]
pub async fn create_village(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<CreateVillage>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body.into_inner();
    let at = now();
    let row = VillageRow {
        id: new_id(),
        name: body.name.trim().to_owned(),
        code: body.code,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let village = state
        .db
        .write(move |conn| {
            repo::insert(conn, &row)?;
            audit::record(
                conn,
                Some(&caller),
                Event {
                    action: "village.created",
                    entity_type: "village",
                    entity_id: &row.id,
                    village_id: Some(&row.id),
                    detail: json!({"code": row.code}),
                },
            )?;
            Ok(Village::from(row))
        })
        .await?;
    Ok(versioned(StatusCode::CREATED, &village))
}

/// All villages; public, so that a new landlord can pick theirs when registering.
#[utoipa::path(tag = "villages", params(PageQuery),
    responses((status = 200, body = Paginated<Village>)))]
#[get("/villages")]
pub async fn list_villages(state: web::Data<AppState>, page: Page) -> Result<HttpResponse, ApiError> {
    let result = state
        .db
        .read(move |conn| Ok(page.finish(repo::list(conn, &page)?, |r| &r.id, Village::from)))
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Add a grid to a village (admin).
#[utoipa::path(tag = "villages", params(("id" = String, Path)), request_body = CreateGrid,
    responses((status = 201, body = Grid), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/villages/{id}/grids")]
pub async fn create_grid(
    caller: Caller,
    state: web::Data<AppState>,
    village_id: web::Path<String>,
    body: Json<CreateGrid>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body.into_inner();
    let grid = state
        .db
        .write(move |conn| {
            let village = repo::find(conn, &village_id)?;
            let at = now();
            let row = GridRow {
                id: new_id(),
                village_id: village.id,
                name: body.name.trim().to_owned(),
                code: body.code,
                created_at: at,
                updated_at: at,
                version: 1,
            };
            repo::insert_grid(conn, &row)?;
            audit::record(
                conn,
                Some(&caller),
                Event {
                    action: "grid.created",
                    entity_type: "grid",
                    entity_id: &row.id,
                    village_id: Some(&row.village_id),
                    detail: json!({"code": row.code}),
                },
            )?;
            Ok(Grid::from(row))
        })
        .await?;
    Ok(versioned(StatusCode::CREATED, &grid))
}

/// The grids of a village (any signed-in user).
#[utoipa::path(tag = "villages", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paginated<Grid>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/villages/{id}/grids")]
pub async fn list_grids(
    _caller: Caller,
    state: web::Data<AppState>,
    village_id: web::Path<String>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .db
        .read(move |conn| {
            repo::find(conn, &village_id)?;
            Ok(page.finish(repo::list_grids(conn, &village_id, &page)?, |r| &r.id, Grid::from))
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
