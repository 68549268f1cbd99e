//! HTTP handlers for the inspection plan and a grid's patrol plan.

use actix_web::get;
use actix_web::{HttpResponse, web};

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::pagination::{Page, Paginated};
use crate::http::query::Query;
use crate::ids::today;
use crate::planning::model::*;
use crate::planning::repo::{self, Coverage};
use crate::planning::service::{self, Keyed};
use crate::state::AppState;
use crate::villages::repo as villages_repo;

/// Mounted before the safety routes: `/inspections/plan` is not an inspection's id.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(inspection_plan).service(patrol_plan);
}

/// The village a plan is about: inspectors' and auditors' own (another answers 404), an admin's choice or the
/// whole town; landlords 403.
fn plan_village(caller: &Caller, requested: Option<String>) -> Result<Option<String>, ApiError> {
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    match requested {
        _ if caller.is_admin() => Ok(requested),
        None => caller.village_id.clone().map(Some).ok_or(ApiError::NotFound),
        Some(v) if caller.covers_village(&v) => Ok(Some(v)),
        Some(_) => Err(ApiError::NotFound),
    }
}

/// The page of `lines` after the cursor.
fn page_of<T>(page: &Page, lines: Vec<Keyed<T>>) -> Paginated<T> {
    let rows: Vec<Keyed<T>> = lines
        .into_iter()
        .filter(|l| page.after.as_deref().is_none_or(|after| l.key.as_str() > after))
        .take(page.fetch_limit() as usize)
        .collect();
    page.finish(rows, |l| &l.key, |l| l.line)
}

/// The properties to inspect next, by risk (inspectors and auditors of the village, admins): never rated,
/// expired, past the interval for their stars, holding a pending critical order or with a patrol issue since
/// the last inspection, and those due within the horizon (30 days); the most overdue first, then those due
/// today, then by due date.
#[utoipa::path(operation_id = "get_inspection_plan", tag = "safety", params(PlanQuery, PlanPageQuery),
    responses((status = 200, body = Paginated<PlanLine>), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/inspections/plan")]
pub async fn inspection_plan(
    caller: Caller,
    state: web::Data<AppState>,
    query: Query<PlanQuery>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let PlanQuery { village_id, grid_id } = query.into_inner();
    let village_id = plan_village(&caller, village_id)?;
    let rules = state.settings.inspection_plan.clone();
    let today = today();
    let answer = state
        .db
        .read(move |conn| {
            if let Some(v) = &village_id {
                villages_repo::find(conn, v)?;
            }
            if let Some(g) = &grid_id {
                let grid_village = repo::grid_village(conn, g)?.ok_or(ApiError::NotFound)?;
                if village_id.as_ref().is_some_and(|v| *v != grid_village) {
                    return Err(ApiError::NotFound);
                }
            }
            let coverage = Coverage {
                village_id: village_id.as_deref(),
                grid_id: grid_id.as_deref(),
                enterprise_id: None,
            };
            Ok(page_of(&page, service::inspection_plan(conn, &rules, coverage, today)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// A grid's properties that need a patrol visit (staff of its village, admins), by colour grade: red (0–1 stars,
/// suspended, or never rated), orange (2), yellow (3), green (4–5), each with its visit frequency; due when the
/// last visit is that many days old, or never visited; the most overdue first.
#[utoipa::path(operation_id = "get_patrol_plan", tag = "patrols", params(("id" = String, Path), PlanPageQuery),
    responses((status = 200, body = Paginated<PatrolLine>), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/grids/{id}/patrol-plan")]
pub async fn patrol_plan(
    caller: Caller,
    state: web::Data<AppState>,
    grid_id: web::Path<String>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    let rules = state.settings.inspection_plan.clone();
    let today = today();
    let answer = state
        .db
        .read(move |conn| {
            crate::patrols::repo::grid_village(conn, &caller, &grid_id)?;
            Ok(page_of(&page, service::patrol_plan(conn, &rules, &grid_id, today)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
