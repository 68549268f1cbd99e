//! HTTP handlers for properties, units and tenancies.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web::{get, patch, post};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::ids::today;
use crate::registry::declare::{self, Declarations};
use crate::registry::model::*;
use crate::registry::{repo, service};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_property)
        .service(list_properties)
        .service(get_property)
        .service(patch_property)
        .service(create_unit)
        .service(list_units)
        .service(get_unit)
        .service(patch_unit)
        .service(declare_tenancy)
        .service(list_tenancies)
        .service(get_tenancy)
        .service(move_out)
        .service(get_identity);
}

fn property_answer(status: StatusCode, row: PropertyRow) -> Result<HttpResponse, ApiError> {
    Ok(versioned(status, &Property::from_row(row, today())?))
}

fn unit_answer(status: StatusCode, row: UnitRow) -> Result<HttpResponse, ApiError> {
    Ok(versioned(status, &Unit::try_from(row)?))
}

fn tenancy_answer(
    status: StatusCode,
    row: TenancyRow,
    duplicate_elsewhere: Option<bool>,
) -> Result<HttpResponse, ApiError> {
    Ok(versioned(status, &Tenancy::from_row(row, duplicate_elsewhere)?))
}

/// Register a property: an active landlord for themself, or an admin for a landlord (`owner_id`).
#[utoipa::path(tag = "registry", request_body = CreateProperty,
    responses((status = 201, body = Property), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties")]
pub async fn create_property(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<CreateProperty>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .write(move |conn| service::register_property(conn, &caller, body.into_inner()))
        .await?;
    property_answer(StatusCode::CREATED, row)
}

/// Properties in the caller's scope, filtered.
#[utoipa::path(tag = "registry", params(PropertyFilter, PageQuery),
    responses((status = 200, body = Paginated<Property>), (status = 400, body = Problem)), security(("bearer" = [])))]
#[get("/properties")]
pub async fn list_properties(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<PropertyFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let today = today();
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list_properties(conn, &caller, &filter, &page, today)?;
            page.finish_try(rows, |r| &r.id, |r| Property::from_row(r, today))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Property), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/properties/{id}")]
pub async fn get_property(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .lookup(move |conn| repo::find_property(conn, &caller, &id))
        .await?;
    property_answer(StatusCode::OK, row)
}

/// Change a property (owner or admin). `status`, `stars`, `score` and `registration_code` are refused
/// with 422, as is `owner_id` from anyone but an admin.
#[utoipa::path(tag = "registry", params(("id" = String, Path)),
    request_body = PatchProperty,
    responses((status = 200, body = Property), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[patch("/properties/{id}")]
pub async fn patch_property(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<PatchProperty>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .write(move |conn| service::change_property(conn, &caller, &id, if_match, body.into_inner()))
        .await?;
    property_answer(StatusCode::OK, row)
}

/// Add a unit to a property (its active owner, or an admin).
#[utoipa::path(tag = "registry", params(("id" = String, Path)),
    request_body = CreateUnit,
    responses((status = 201, body = Unit), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties/{id}/units")]
pub async fn create_unit(
    caller: Caller,
    state: web::Data<AppState>,
    property_id: web::Path<String>,
    body: Json<CreateUnit>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let row = state
        .db
        .write(move |conn| service::add_unit(conn, &caller, &settings, &property_id, body.into_inner()))
        .await?;
    unit_answer(StatusCode::CREATED, row)
}

#[utoipa::path(tag = "registry", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paginated<Unit>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/properties/{id}/units")]
pub async fn list_units(
    caller: Caller,
    state: web::Data<AppState>,
    property_id: web::Path<String>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let property = repo::find_property(conn, &caller, &property_id)?;
            let rows = repo::list_units(conn, &property.id, &page)?;
            page.finish_try(rows, |r| &r.id, Unit::try_from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Unit), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/units/{id}")]
pub async fn get_unit(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, _) = state.db.lookup(move |conn| repo::find_unit(conn, &caller, &id)).await?;
    unit_answer(StatusCode::OK, row)
}

/// Change a unit (owner or admin). Without an explicit `max_occupants`, it follows the area.
#[utoipa::path(tag = "registry", params(("id" = String, Path)), request_body = PatchUnit,
    responses((status = 200, body = Unit), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[patch("/units/{id}")]
pub async fn patch_unit(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<PatchUnit>,
) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    let row = state
        .db
        .write(move |conn| service::change_unit(conn, &caller, &settings, &id, if_match, body.into_inner()))
        .await?;
    unit_answer(StatusCode::OK, row)
}

/// Declare a tenant moving in. Never refused for overcrowding; a person already living in this unit is 409.
#[utoipa::path(tag = "registry", params(("id" = String, Path)),
    request_body = DeclareTenancy,
    responses((status = 201, body = Tenancy), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/units/{id}/tenancies")]
pub async fn declare_tenancy(
    caller: Caller,
    state: web::Data<AppState>,
    unit_id: web::Path<String>,
    declarations: web::Data<Declarations>,
    body: Json<DeclareTenancy>,
) -> Result<HttpResponse, ApiError> {
    let tenant = service::prepare_tenant(&state.identity, body.into_inner())?;
    let (row, duplicate) = declare::declare(&state, &declarations, caller, unit_id.into_inner(), tenant).await?;
    tenancy_answer(StatusCode::CREATED, row, duplicate)
}

/// Declare a tenant moved out (owner or admin): 422 before the move-in, 409 when already out.
#[utoipa::path(operation_id = "move_out_tenancy", tag = "registry", params(("id" = String, Path)),
    request_body = MoveOut,
    responses((status = 200, body = Tenancy), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/tenancies/{id}/move-out")]
pub async fn move_out(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<MoveOut>,
) -> Result<HttpResponse, ApiError> {
    let date = body.into_inner().move_out_date;
    let (row, duplicate) = state
        .db
        .write(move |conn| {
            let row = service::move_out(conn, &caller, &id, if_match, date)?;
            let duplicate = if service::sees_duplicates(&caller) {
                Some(repo::is_duplicated_elsewhere(conn, &row)?)
            } else {
                None
            };
            Ok((row, duplicate))
        })
        .await?;
    tenancy_answer(StatusCode::OK, row, duplicate)
}

/// Tenancies in the caller's scope, filtered.
#[utoipa::path(tag = "registry", params(TenancyFilter, PageQuery),
    responses((status = 200, body = Paginated<Tenancy>)), security(("bearer" = [])))]
#[get("/tenancies")]
pub async fn list_tenancies(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<TenancyFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list_tenancies(conn, &caller, &filter, &page)?;
            let duplicates = if service::sees_duplicates(&caller) {
                Some(repo::duplicated_elsewhere(conn, &rows)?)
            } else {
                None
            };
            page.finish_try(
                rows,
                |r| &r.id,
                |r| {
                    let duplicate = duplicates.as_ref().map(|d| d.contains(&r.id));
                    Tenancy::from_row(r, duplicate)
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Tenancy), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/tenancies/{id}")]
pub async fn get_tenancy(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, duplicate) = state
        .db
        .lookup(move |conn| {
            let (row, _) = repo::find_tenancy(conn, &caller, &id)?;
            let duplicate = if service::sees_duplicates(&caller) {
                Some(repo::is_duplicated_elsewhere(conn, &row)?)
            } else {
                None
            };
            Ok((row, duplicate))
        })
        .await?;
    tenancy_answer(StatusCode::OK, row, duplicate)
}

/// The tenant's full identity document (auditors of the village, admins). Every read is audited.
#[utoipa::path(operation_id = "get_tenancy_identity", tag = "registry", params(("id" = String, Path)),
    responses((status = 200, body = Identity), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/tenancies/{id}/identity")]
pub async fn get_identity(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cipher = state.identity.clone();
    let identity = state
        .db
        .write(move |conn| service::read_identity(conn, &caller, &cipher, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(identity))
}
