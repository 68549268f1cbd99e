//! HTTP handlers for enterprises and the leases of units and properties.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web::{delete, get, post, put};

use crate::auth::Caller;
use crate::enterprises::model::*;
use crate::enterprises::repo;
use crate::enterprises::service::{self, Premises};
use crate::error::{ApiError, Problem};
use crate::http::etag::versioned;
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_enterprise)
        .service(list_enterprises)
        .service(get_enterprise)
        .service(let_unit)
        .service(get_unit_lease)
        .service(end_unit_lease)
        .service(let_property)
        .service(get_property_lease)
        .service(end_property_lease);
}

/// Register an enterprise (an active landlord, an inspector: in their village; an admin: in `village_id`). The
/// same unified social credit code twice in a village is 409.
#[utoipa::path(tag = "enterprises", request_body = CreateEnterprise,
    responses((status = 201, body = Enterprise), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/enterprises")]
pub async fn create_enterprise(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<CreateEnterprise>,
) -> Result<HttpResponse, ApiError> {
    let row = service::prepare(&state.identity, &caller, body.into_inner())?;
    let row = state
        .db
        .write(move |conn| service::register(conn, &caller, row))
        .await?;
    Ok(versioned(StatusCode::CREATED, &Enterprise::from(row)))
}

/// Enterprises in the caller's scope: staff their village's, admins all, a landlord those they registered or
/// that rent one of their properties or units.
#[utoipa::path(tag = "enterprises", params(EnterpriseFilter, PageQuery),
    responses((status = 200, body = Paginated<Enterprise>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
#[get("/enterprises")]
pub async fn list_enterprises(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<EnterpriseFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list(conn, &caller, &filter, &page)?;
            Ok(page.finish(rows, |r| &r.id, Enterprise::from))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(tag = "enterprises", params(("id" = String, Path)),
    responses((status = 200, body = Enterprise), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/enterprises/{id}")]
pub async fn get_enterprise(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .lookup(move |conn| repo::find_visible(conn, &caller, &id))
        .await?;
    Ok(versioned(StatusCode::OK, &Enterprise::from(row)))
}

async fn let_premises(
    caller: Caller,
    state: web::Data<AppState>,
    premises: Premises,
    id: String,
    request: LetRequest,
) -> Result<HttpResponse, ApiError> {
    let lease = state
        .db
        .write(move |conn| service::let_premises(conn, &caller, premises, &id, request))
        .await?;
    Ok(HttpResponse::Ok().json(lease))
}

async fn current_lease(
    caller: Caller,
    state: web::Data<AppState>,
    premises: Premises,
    id: String,
) -> Result<HttpResponse, ApiError> {
    let lease = state
        .db
        .read(move |conn| service::current_lease(conn, &caller, premises, &id))
        .await?;
    Ok(HttpResponse::Ok().json(lease))
}

async fn end_lease(
    caller: Caller,
    state: web::Data<AppState>,
    premises: Premises,
    id: String,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .write(move |conn| service::end_lease(conn, &caller, premises, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Let a unit to an enterprise of its village (the owner, an inspector of the village, an admin), replacing its
/// current lease; tenants declared in it from now on carry the enterprise. An enterprise the caller cannot see, or
/// of another village: 422.
#[utoipa::path(operation_id = "let_unit", tag = "enterprises", params(("id" = String, Path)),
    request_body = LetRequest,
    responses((status = 200, body = Lease), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[put("/units/{id}/lease")]
pub async fn let_unit(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<LetRequest>,
) -> Result<HttpResponse, ApiError> {
    let_premises(caller, state, Premises::Unit, id.into_inner(), body.into_inner()).await
}

/// A unit's own current lease (404 when it has none; its property's lease is at `/properties/{id}/lease`).
#[utoipa::path(operation_id = "get_unit_lease", tag = "enterprises", params(("id" = String, Path)),
    responses((status = 200, body = Lease), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/units/{id}/lease")]
pub async fn get_unit_lease(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    current_lease(caller, state, Premises::Unit, id.into_inner()).await
}

/// End a unit's own lease (404 when it has none). Tenancies declared under it keep their enterprise.
#[utoipa::path(operation_id = "end_unit_lease", tag = "enterprises", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[delete("/units/{id}/lease")]
pub async fn end_unit_lease(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    end_lease(caller, state, Premises::Unit, id.into_inner()).await
}

/// Let a whole property to an enterprise of its village: every unit without a lease of its own is let with it.
#[utoipa::path(operation_id = "let_property", tag = "enterprises", params(("id" = String, Path)),
    request_body = LetRequest,
    responses((status = 200, body = Lease), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[put("/properties/{id}/lease")]
pub async fn let_property(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<LetRequest>,
) -> Result<HttpResponse, ApiError> {
    let_premises(caller, state, Premises::Property, id.into_inner(), body.into_inner()).await
}

/// The lease of a whole property (404 when it has none).
#[utoipa::path(operation_id = "get_property_lease", tag = "enterprises", params(("id" = String, Path)),
    responses((status = 200, body = Lease), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/properties/{id}/lease")]
pub async fn get_property_lease(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    current_lease(caller, state, Premises::Property, id.into_inner()).await
}

/// End the lease of a whole property (404 when it has none); units' own leases stay.
#[utoipa::path(operation_id = "end_property_lease", tag = "enterprises", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[delete("/properties/{id}/lease")]
pub async fn end_property_lease(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    end_lease(caller, state, Premises::Property, id.into_inner()).await
}
