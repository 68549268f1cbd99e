//! HTTP handlers for the bulk declaration of tenants by CSV.

use actix_web::{HttpResponse, post, web};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::http::json::CsvBody;
use crate::http::query::Query;
use crate::registry::import::model::{TenancyImportQuery, TenancyImportReport};
use crate::registry::import::service::{self, Target};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(import_unit_tenancies).service(import_property_tenancies);
}

/// Declare the workers of a CSV file (comma or tab separated, with or without a byte-order mark) as tenants
/// of a unit: each line by the single declaration's rules, in one transaction unless `partial`. At most
/// 2,000 lines (else 422 naming `body`) and 1 MiB (else 413). Bad lines are named by line and column.
#[utoipa::path(operation_id = "import_unit_tenancies", tag = "registry",
    params(("id" = String, Path), TenancyImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = TenancyImportReport), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/units/{id}/tenancies/import")]
pub async fn import_unit_tenancies(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: Query<TenancyImportQuery>,
    body: CsvBody,
) -> Result<HttpResponse, ApiError> {
    let target = Target::Unit(id.into_inner());
    let report = run_import(&state, caller, target, body.0, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Declare the workers of a CSV file as tenants of a property's units: as the unit's import, with a
/// `unit_label` column naming each line's unit.
#[utoipa::path(operation_id = "import_property_tenancies", tag = "registry",
    params(("id" = String, Path), TenancyImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = TenancyImportReport), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
#[post("/properties/{id}/tenancies/import")]
pub async fn import_property_tenancies(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: Query<TenancyImportQuery>,
    body: CsvBody,
) -> Result<HttpResponse, ApiError> {
    let target = Target::Property(id.into_inner());
    let report = run_import(&state, caller, target, body.0, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Reads and protects the file off the async threads, then declares it in one transaction, rolled back after
/// a dry run or, without `partial`, when a line is rejected. Who may declare there is decided first, so that
/// a file sent to a unit outside the caller's scope answers 404 whatever it holds.
async fn run_import(
    state: &AppState,
    caller: Caller,
    target: Target,
    file: web::Bytes,
    mode: TenancyImportQuery,
) -> Result<TenancyImportReport, ApiError> {
    let cipher = state.identity.clone();
    let per_property = matches!(target, Target::Property(_));
    let read = web::block(move || service::read_file(&cipher, &file, per_property)).await?;
    let settings = state.settings.clone();
    state
        .db
        .write_or_rollback(move |conn| {
            let place = service::authorize(conn, &caller, target)?;
            service::declare_all(conn, &caller, &settings, place, read?, &mode)
        })
        .await
}
