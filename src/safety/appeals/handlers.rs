//! HTTP handlers for appeals, re-rating requests and owners' replies.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web::{delete, get, post, put};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::http::etag::{IfMatch, versioned};
use crate::http::json::Json;
use crate::http::pagination::{Page, PageQuery, Paginated};
use crate::http::query::Query;
use crate::registry::repo as registry_repo;
use crate::safety::appeals::model::*;
use crate::safety::appeals::{repo, service};
use crate::safety::public::PublicRatings;
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(lodge_appeal)
        .service(list_appeals)
        .service(get_appeal)
        .service(decide_appeal)
        .service(request_rerating)
        .service(list_reratings)
        .service(set_reply)
        .service(remove_reply);
}

/// The owner appeals an inspection of their property, within 14 days of its date (409 after, or while
/// another appeal of it is open). The inspector is told by e-mail.
#[utoipa::path(tag = "appeals", params(("id" = String, Path)),
    request_body = CreateAppeal,
    responses((status = 201, body = Appeal), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/inspections/{id}/appeals")]
pub async fn lodge_appeal(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<CreateAppeal>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    let row = state
        .db
        .write(move |conn| service::lodge_appeal(conn, &caller, &id, &reason))
        .await?;
    Ok(versioned(StatusCode::CREATED, &Appeal::from(row)))
}

/// Appeals in the caller's scope: a landlord's own, an auditor's or inspector's village, everything for admins.
#[utoipa::path(tag = "appeals", params(AppealFilter, PageQuery),
    responses((status = 200, body = Paginated<Appeal>), (status = 422, body = Problem)), security(("bearer" = [])))]
#[get("/appeals")]
pub async fn list_appeals(
    caller: Caller,
    state: web::Data<AppState>,
    filter: Query<AppealFilter>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let rows = repo::list_appeals(conn, &caller, &filter, &page)?;
            Ok(page.finish(rows, |r| &r.id, Appeal::from))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(tag = "appeals", params(("id" = String, Path)),
    responses((status = 200, body = Appeal), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/appeals/{id}")]
pub async fn get_appeal(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state.db.read(move |conn| repo::find_appeal(conn, &caller, &id)).await?;
    Ok(versioned(StatusCode::OK, &Appeal::from(row)))
}

/// An auditor of the village or an admin who did not carry out the inspection decides: `upheld` (the property
/// is to be inspected again) or `rejected` (with a reason). The owner and the inspector are told by e-mail.
#[utoipa::path(operation_id = "decide_appeal", tag = "appeals", params(("id" = String, Path)),
    request_body = DecideAppeal,
    responses((status = 200, body = Appeal), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/appeals/{id}/decision")]
pub async fn decide_appeal(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<DecideAppeal>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let row = state
        .db
        .write(move |conn| service::decide_appeal(conn, &caller, &id, if_match, input))
        .await?;
    Ok(versioned(StatusCode::OK, &Appeal::from(row)))
}

/// The owner asks for a re-rating after fixing what failed; one open request per property (409). The next
/// inspection of the property closes it.
#[utoipa::path(tag = "appeals", params(("id" = String, Path)),
    request_body = CreateRerating,
    responses((status = 201, body = ReratingRequest), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties/{id}/rerating-requests")]
pub async fn request_rerating(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<CreateRerating>,
) -> Result<HttpResponse, ApiError> {
    let note = body.into_inner().note;
    let row = state
        .db
        .write(move |conn| service::request_rerating(conn, &caller, &id, note))
        .await?;
    Ok(HttpResponse::Created().json(ReratingRequest::from(row)))
}

/// A property's re-rating requests, oldest first.
#[utoipa::path(tag = "appeals", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paginated<ReratingRequest>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/properties/{id}/rerating-requests")]
pub async fn list_reratings(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: Page,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .db
        .read(move |conn| {
            let property = registry_repo::find_property(conn, &caller, &id)?;
            let rows = repo::list_reratings(conn, &property.id, &page)?;
            Ok(page.finish(rows, |r| &r.id, ReratingRequest::from))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The owner publishes their reply beside the public rating (replacing any earlier one).
#[utoipa::path(operation_id = "set_owner_reply", tag = "appeals", params(("id" = String, Path)),
    request_body = SetReply,
    responses((status = 200, body = OwnerReply), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[put("/properties/{id}/reply")]
pub async fn set_reply(
    caller: Caller,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
    body: Json<SetReply>,
) -> Result<HttpResponse, ApiError> {
    let text = body.into_inner().text;
    let row = state
        .db
        .write(move |conn| service::set_reply(conn, &caller, &id, &text))
        .await?;
    public.forget(&row.property_id);
    Ok(HttpResponse::Ok().json(OwnerReply::from(row)))
}

/// The owner removes their reply (404 when there is none).
#[utoipa::path(operation_id = "remove_owner_reply", tag = "appeals", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[delete("/properties/{id}/reply")]
pub async fn remove_reply(
    caller: Caller,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let property_id = state
        .db
        .write(move |conn| service::remove_reply(conn, &caller, &id))
        .await?;
    public.forget(&property_id);
    Ok(HttpResponse::NoContent().finish())
}
