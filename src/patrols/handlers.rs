//! HTTP handlers for grid patrols.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::auth::Role;
use crate::error::{ApiError, FieldError, Problem};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::ids::{new_id, now, today};
use crate::patrols::model::*;
use crate::patrols::repo;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/grids/{id}/patrols", web::post().to(create_patrol))
        .route("/grids/{id}/patrols", web::get().to(list_patrols));
}

/// Record a patrol of a grid (inspectors of its village, admins).
#[utoipa::path(post, path = "/api/v1/grids/{id}/patrols", tag = "patrols", params(("id" = String, Path)),
    request_body = CreatePatrol,
    responses((status = 201, body = Patrol), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_patrol(
    caller: Caller,
    state: web::Data<AppState>,
    grid_id: web::Path<String>,
    body: Json<CreatePatrol>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Inspector, Role::Admin])?;
    let input = body.into_inner();
    let patrol = state
        .db
        .write(move |conn| {
            let village_id = repo::grid_village(conn, &caller, &grid_id)?;
            let ids: Vec<&str> = input.visits.iter().map(|v| v.property_id.as_str()).collect();
            let known = repo::properties_in_village(conn, &village_id, &ids)?;
            let mut errors = Vec::new();
            if input.patrolled_on > today() {
                errors.push(FieldError::new(
                    "patrolled_on",
                    "future",
                    "a patrol cannot be dated in the future",
                ));
            }
            if input.visits.is_empty() {
                errors.push(FieldError::new(
                    "visits",
                    "required",
                    "name at least one property visited",
                ));
            }
            let mut seen = HashSet::new();
            for (i, visit) in input.visits.iter().enumerate() {
                if !known.contains(&visit.property_id) {
                    errors.push(FieldError::new(
                        format!("visits[{i}].property_id"),
                        "unknown",
                        "no property of this village has this id",
                    ));
                } else if !seen.insert(visit.property_id.as_str()) {
                    errors.push(FieldError::new(
                        format!("visits[{i}].property_id"),
                        "duplicate",
                        "the property is already listed",
                    ));
                }
                if visit.finding == Finding::Issue && visit.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                    errors.push(FieldError::new(
                        format!("visits[{i}].note"),
                        "required",
                        "say what the issue is",
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let row = PatrolRow {
                id: new_id(),
                grid_id: grid_id.clone(),
                inspector_id: caller.user_id.clone(),
                patrolled_on: input.patrolled_on,
                created_at: now(),
            };
            let visits: Vec<VisitRow> = input
                .visits
                .into_iter()
                .enumerate()
                .map(|(i, v)| VisitRow {
                    patrol_id: row.id.clone(),
                    property_id: v.property_id,
                    position: i as i32,
                    finding: v.finding.as_str().into(),
                    note: v.note,
                })
                .collect();
            repo::insert(conn, &row, &visits)?;
            audit::record(
                conn,
                Some(&caller),
                Event {
                    action: "patrol.recorded",
                    entity_type: "grid",
                    entity_id: &row.grid_id,
                    village_id: Some(&village_id),
                    detail: json!({"patrol_id": row.id, "visits": visits.len(),
                                   "issues": visits.iter().filter(|v| v.finding == "issue").count()}),
                },
            )?;
            Patrol::from_rows(row, visits)
        })
        .await?;
    Ok(HttpResponse::Created().json(patrol))
}

/// A grid's patrols (staff of its village, admins).
#[utoipa::path(get, path = "/api/v1/grids/{id}/patrols", tag = "patrols", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paginated<Patrol>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
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
