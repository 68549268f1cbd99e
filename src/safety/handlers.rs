//! HTTP handlers for the checklist, inspections, rectification orders, delisting and reinstating.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web::{get, post};

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::registry::model::Property;
use crate::registry::repo as registry_repo;
use crate::safety::model::*;
use crate::safety::public::PublicRatings;
use crate::safety::{repo, service};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_checklist)
        .service(get_inspection_form)
        .service(create_inspection)
        .service(list_inspections)
        .service(get_inspection)
        .service(list_rectifications)
        .service(report_fix)
        .service(verify_fix)
        .service(delist)
        .service(reinstate);
}

/// The safety checklist in force and the rating rules.
#[utoipa::path(tag = "safety",
    responses((status = 200, body = Checklist), (status = 401, body = Problem)), security(("bearer" = [])))]
#[get("/checklist")]
pub async fn get_checklist(_caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let checklist = state
        .db
        .read(move |conn| service::checklist(conn, &settings.rating_rules))
        .await?;
    Ok(HttpResponse::Ok().json(checklist))
}

/// The inspection form of a property (inspectors and auditors of its village, admins): the checklist items that
/// apply to it, and the owner's training record beside MGT-02.
#[utoipa::path(tag = "safety", params(("id" = String, Path)),
    responses((status = 200, body = InspectionForm), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/properties/{id}/inspection-form")]
pub async fn get_inspection_form(
    caller: Caller,
    state: web::Data<AppState>,
    property_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    let today = crate::ids::today();
    let form = state
        .db
        .read(move |conn| service::inspection_form(conn, &caller, &property_id, today))
        .await?;
    Ok(HttpResponse::Ok().json(form))
}

/// Record an inspection (inspectors and auditors of the village, admins): rates the property and opens
/// an order for every failed item.
#[utoipa::path(tag = "safety", params(("id" = String, Path)),
    request_body = CreateInspection,
    responses((status = 201, body = Inspection), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties/{id}/inspections")]
pub async fn create_inspection(
    caller: Caller,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    property_id: web::Path<String>,
    body: Json<CreateInspection>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let property_id = property_id.into_inner();
    let rated = property_id.clone();
    let inspection = state
        .db
        .write(move |conn| service::record_inspection(conn, &caller, &settings.rating_rules, &rated, body.into_inner()))
        .await?;
    public.forget(&property_id);
    Ok(HttpResponse::Created().json(inspection))
}

#[utoipa::path(tag = "safety", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paginated<Inspection>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/properties/{id}/inspections")]
pub async fn list_inspections(
    caller: Caller,
    state: web::Data<AppState>,
    property_id: web::Path<String>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let property = registry_repo::find_property(conn, &caller, &property_id)?;
            let rows = repo::list_inspections(conn, &property.id, &page)?;
            let more = page.finish(rows, |r| &r.id, |r| r);
            Ok(crate::http::pagination::Paginated {
                items: service::inspection_views(conn, more.items)?,
                next_cursor: more.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(tag = "safety", params(("id" = String, Path)),
    responses((status = 200, body = Inspection), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}")]
pub async fn get_inspection(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let inspection = state
        .db
        .read(move |conn| {
            let row = repo::find_inspection(conn, &caller, &id)?;
            service::inspection_views(conn, vec![row])?
                .pop()
                .ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(HttpResponse::Ok().json(inspection))
}

/// Orders in the caller's scope; `superseded` ones only when asked for by status.
#[utoipa::path(tag = "safety", params(RectificationFilter, PageQuery),
    responses((status = 200, body = Paginated<Rectification>)), security(("bearer" = [])))]
#[get("/rectifications")]
pub async fn list_rectifications(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<RectificationFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list_rectifications(conn, &caller, &filter, &page)?;
            page.finish_try(rows, |r| &r.id, Rectification::try_from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The owner reports an order fixed.
#[utoipa::path(operation_id = "report_rectification_fixed", tag = "safety", params(("id" = String, Path)),
    request_body = ReportFix,
    responses((status = 200, body = Rectification), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/rectifications/{id}/report")]
pub async fn report_fix(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<ReportFix>,
) -> Result<HttpResponse, ApiError> {
    let note = body.into_inner().note;
    let row = state
        .db
        .write(move |conn| service::report_fix(conn, &caller, &id, if_match, &note))
        .await?;
    Ok(versioned(StatusCode::OK, &Rectification::try_from(row)?))
}

/// An inspector verifies a fix: `resolved`, or back to `open` with the note.
#[utoipa::path(operation_id = "verify_rectification", tag = "safety", params(("id" = String, Path)),
    request_body = VerifyFix,
    responses((status = 200, body = Rectification), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/rectifications/{id}/verify")]
pub async fn verify_fix(
    caller: Caller,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<VerifyFix>,
) -> Result<HttpResponse, ApiError> {
    let VerifyFix { resolved, note } = body.into_inner();
    let row = state
        .db
        .write(move |conn| service::verify_fix(conn, &caller, &id, if_match, resolved, &note))
        .await?;
    public.forget(&row.property_id);
    Ok(versioned(StatusCode::OK, &Rectification::try_from(row)?))
}

/// Delist a property that will not be made safe (auditors of the village, admins).
#[utoipa::path(operation_id = "delist_property", tag = "safety", params(("id" = String, Path)),
    request_body = Reason,
    responses((status = 200, body = Property), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties/{id}/delist")]
pub async fn delist(
    caller: Caller,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<Reason>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    let row = state
        .db
        .write(move |conn| service::delist(conn, &caller, &id, if_match, &reason))
        .await?;
    public.forget(&row.id);
    Ok(versioned(
        StatusCode::OK,
        &Property::from_row(row, crate::ids::today())?,
    ))
}

/// Lift a delisting; the status goes back to what the rating says.
#[utoipa::path(operation_id = "reinstate_property", tag = "safety", params(("id" = String, Path)),
    request_body = Reason,
    responses((status = 200, body = Property), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties/{id}/reinstate")]
pub async fn reinstate(
    caller: Caller,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<Reason>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    let row = state
        .db
        .write(move |conn| service::reinstate(conn, &caller, &id, if_match, &reason))
        .await?;
    public.forget(&row.id);
    Ok(versioned(
        StatusCode::OK,
        &Property::from_row(row, crate::ids::today())?,
    ))
}
