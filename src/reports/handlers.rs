//! HTTP handlers for the summary, the ledger export and the ledger import.

use actix_web::{get, post};
use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use futures_util::{StreamExt, stream};

use crate::auth::Caller;
use crate::auth::Role;
use crate::error::{ApiError, Problem};
use crate::http::json::CsvBody;
use crate::http::query::Query;
use crate::ids::today;
use crate::reports::model::*;
use crate::reports::{ledger, repo};
use crate::state::AppState;
use crate::villages::repo as villages_repo;

/// Largest ledger file accepted for import.
pub const MAX_IMPORT_BYTES: usize = 32 << 20;
/// Where the ledger import is served, under `/api/v1`.
pub const IMPORT_PATH: &str = "/api/v1/imports/ledger";
/// Units read per page of a streamed export. Each page runs on whichever blocking thread is free, and glibc
/// keeps what a thread's arena once held: pages of 2,000 units grew a server's memory by 31 MB over its first
/// exports (about 9 MB a page, kept by several threads), pages of 500 by 9 MB, at the same rows/s
/// (docs/performance.md, "Sixth pass").
const EXPORT_PAGE: i64 = 500;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(summary).service(ledger_csv).service(
        utoipa_actix_web::scope("/imports")
            .app_data(web::PayloadConfig::new(MAX_IMPORT_BYTES))
            .service(import_ledger),
    );
}

/// The village a report is about: auditors their own (another answers 404), admins any or the whole town.
pub fn report_village(
    caller: &Caller,
    requested: Option<String>,
    town_allowed: bool,
) -> Result<Option<String>, ApiError> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    match (caller.role, requested) {
        (Role::Admin, None) if town_allowed => Ok(None),
        (Role::Admin, None) => Err(ApiError::MalformedQuery(vec![crate::error::FieldError::new(
            "village_id",
            "required",
            "name the village",
        )])),
        (Role::Admin, Some(v)) => Ok(Some(v)),
        (_, None) => Ok(caller.village_id.clone()),
        (_, Some(v)) if caller.village_id.as_deref() == Some(v.as_str()) => Ok(Some(v)),
        _ => Err(ApiError::NotFound),
    }
}

/// Counts for a village (auditors, admins), or for the whole town (admins, no `village_id`).
#[utoipa::path(operation_id = "get_summary_report", tag = "reports", params(VillageQuery),
    responses((status = 200, body = Summary), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/reports/summary")]
pub async fn summary(
    caller: Caller,
    state: web::Data<AppState>,
    query: Query<VillageQuery>,
) -> Result<HttpResponse, ApiError> {
    let VillageQuery {
        village_id,
        enterprise_id,
    } = query.into_inner();
    let village = report_village(&caller, village_id, true)?;
    let today = today();
    let rules = state.settings.inspection_plan.clone();
    let summary = state
        .db
        .read(move |conn| {
            if let Some(v) = &village {
                villages_repo::find(conn, v)?;
            }
            repo::summary(conn, village.as_deref(), enterprise_id.as_deref(), &rules, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// The ledger as CSV, a row per unit, streamed page by page. UTF-8 with a byte-order mark.
#[utoipa::path(operation_id = "export_ledger_csv", tag = "reports", params(VillageQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
#[get("/reports/ledger.csv")]
pub async fn ledger_csv(
    caller: Caller,
    state: web::Data<AppState>,
    query: Query<VillageQuery>,
) -> Result<HttpResponse, ApiError> {
    let VillageQuery {
        village_id,
        enterprise_id,
    } = query.into_inner();
    let village = report_village(&caller, village_id, true)?;
    ledger_download(state, village, enterprise_id).await
}

/// The ledger of a village (of the whole town for `None`) as a CSV download, streamed page by page: the API's
/// export and the console's download. Only the units let to `enterprise` when one is named.
pub async fn ledger_download(
    state: web::Data<AppState>,
    village: Option<String>,
    enterprise: Option<String>,
) -> Result<HttpResponse, ApiError> {
    if let Some(v) = village.clone() {
        state.db.read(move |conn| villages_repo::find(conn, &v)).await?;
    }
    let header = ledger::header_line()?;
    let today = today();
    // Each step reads one page after the last unit written; memory stays flat whatever the size.
    let pages = stream::unfold(Some(None::<repo::LedgerCursor>), move |cursor| {
        let state = state.clone();
        let village = village.clone();
        let enterprise = enterprise.clone();
        async move {
            let after = cursor?;
            let page = state
                .db
                .read(move |conn| {
                    let rows = repo::ledger_page(
                        conn,
                        village.as_deref(),
                        enterprise.as_deref(),
                        after.as_ref(),
                        EXPORT_PAGE,
                    )?;
                    let ids: Vec<&str> = rows.iter().map(|(_, p, _, _)| p.id.as_str()).collect();
                    let open: HashMap<String, i64> =
                        repo::pending_orders_by_property(conn, &ids)?.into_iter().collect();
                    let last = rows.last().map(|(u, _, _, _)| repo::LedgerCursor {
                        property_id: u.property_id.clone(),
                        label: u.label.clone(),
                    });
                    let more = rows.len() as i64 == EXPORT_PAGE;
                    Ok((ledger::write_rows(&rows, &open, today)?, last.filter(|_| more)))
                })
                .await;
            match page {
                Ok((bytes, next)) => Some((Ok::<_, ApiError>(web::Bytes::from(bytes)), next.map(Some))),
                Err(err) => {
                    tracing::error!(error = %err, "ledger export stopped");
                    Some((Err(err), None))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<_, ApiError>(web::Bytes::from(header)) }).chain(pages);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"ledger.csv\""))
        .streaming(body))
}

/// Import a ledger CSV (comma or tab separated, with or without a byte-order mark) into a village.
#[utoipa::path(operation_id = "import_ledger_csv", tag = "reports", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem)),
    security(("bearer" = [])))]
#[post("/ledger")]
pub async fn import_ledger(
    caller: Caller,
    state: web::Data<AppState>,
    query: Query<ImportQuery>,
    body: CsvBody,
) -> Result<HttpResponse, ApiError> {
    let ImportQuery {
        village_id,
        dry_run,
        partial,
    } = query.into_inner();
    let report = run_import(&state, caller, village_id, body.0, dry_run, partial).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Imports a ledger file into the village `requested` names (an auditor's own, any for an admin), in one
/// transaction that is rolled back after a dry run or, without `partial`, when a line is rejected: the API's
/// import and the console's.
pub async fn run_import(
    state: &AppState,
    caller: Caller,
    requested: Option<String>,
    file: web::Bytes,
    dry_run: bool,
    partial: bool,
) -> Result<ImportReport, ApiError> {
    let village_id = report_village(&caller, requested, false)?.ok_or(ApiError::NotFound)?;
    let settings = state.settings.clone();
    state
        .db
        .write_or_rollback(move |conn| {
            let village = villages_repo::find(conn, &village_id)?;
            ledger::import(conn, &caller.user_id, &settings, &village, &file, dry_run, partial)
        })
        .await
}
