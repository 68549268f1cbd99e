//! HTTP handlers for training sessions and who attended them.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web::{get, post, put};

use crate::accounts::training::model::*;
use crate::accounts::training::{repo, service};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::state::AppState;

/// Staff who may read training records; only inspectors and admins record them.
const READERS: &[Role] = &[Role::Inspector, Role::Auditor, Role::Admin];

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_session)
        .service(list_sessions)
        .service(get_session)
        .service(set_attendees);
}

/// Record a training session held in a village, and who attended if known (inspectors of the village, admins).
/// Attendees must be landlords of that village (422 naming `landlord_ids[i]`).
#[utoipa::path(operation_id = "create_training_session", tag = "training", request_body = CreateSession,
    responses((status = 201, body = TrainingSession), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/training-sessions")]
pub async fn create_session(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<CreateSession>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let months = state.settings.training_valid_months;
    let session = state
        .db
        .write(move |conn| service::create(conn, &caller, input, months))
        .await?;
    Ok(versioned(StatusCode::CREATED, &session))
}

/// Training sessions: staff of a village theirs, admins any village's or all (auditors read only).
#[utoipa::path(operation_id = "list_training_sessions", tag = "training", params(SessionFilter, PageQuery),
    responses((status = 200, body = Paginated<TrainingSession>), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/training-sessions")]
pub async fn list_sessions(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<SessionFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list(conn, &caller, &filter, &page)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let mut attendances: HashMap<String, Vec<AttendanceRow>> = HashMap::new();
            for a in repo::attendances_of(conn, &ids)? {
                attendances.entry(a.session_id.clone()).or_default().push(a);
            }
            Ok(page.finish(
                rows,
                |r| &r.id,
                |r| {
                    let a = attendances.remove(&r.id).unwrap_or_default();
                    TrainingSession::from_rows(r, a)
                },
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One training session (staff of its village, admins).
#[utoipa::path(operation_id = "get_training_session", tag = "training", params(("id" = String, Path)),
    responses((status = 200, body = TrainingSession), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/training-sessions/{id}")]
pub async fn get_session(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READERS)?;
    let session = state
        .db
        .read(move |conn| {
            let row = repo::find_visible(conn, &caller, &id)?;
            let attendances = repo::attendances_of(conn, &[row.id.as_str()])?;
            Ok(TrainingSession::from_rows(row, attendances))
        })
        .await?;
    Ok(versioned(StatusCode::OK, &session))
}

/// Set who attended a session, replacing the list recorded before (inspectors of the village, admins). Takes
/// `If-Match`. A landlord removed from the list loses what the attendance counted for.
#[utoipa::path(operation_id = "set_training_attendees", tag = "training", params(("id" = String, Path)),
    request_body = SetAttendees,
    responses((status = 200, body = TrainingSession), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[put("/training-sessions/{id}/attendees")]
pub async fn set_attendees(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<SetAttendees>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let months = state.settings.training_valid_months;
    let session = state
        .db
        .write(move |conn| service::set_attendees(conn, &caller, &id, if_match, input, months))
        .await?;
    Ok(versioned(StatusCode::OK, &session))
}
