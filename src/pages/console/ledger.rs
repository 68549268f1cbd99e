//! The ledger (台账) in the console, for auditors (their own village) and admins (any village): the API's streamed
//! CSV export as a download, and an upload that runs the API's import as a dry run, shows what it would create and
//! every rejected line, and imports on confirmation through the same function under the same rules. The confirmation
//! form carries the file's text back in a hidden field (a multipart form too, so the same size limit holds).

use std::collections::{BTreeSet, HashMap};

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::session::Current;
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::Page;
use crate::error::ApiError;
use crate::pages::error_page;
use crate::reports::handlers::{MAX_IMPORT_BYTES, ledger_download, report_village, run_import};
use crate::reports::ledger::COLUMNS;
use crate::reports::model::{ImportReport, Rejection};
use crate::state::AppState;
use crate::villages::model::VillageRow;
use crate::villages::repo as villages_repo;

/// Most villages an admin chooses from (a town has dozens).
const MAX_VILLAGES: i64 = 500;
/// Largest form field other than the ledger itself (the CSRF token, a village id, a flag).
const FIELD_MAX_BYTES: usize = 1024;
/// The field that holds the ledger: the file in the upload, its text in the confirmation.
const LEDGER_FIELD: &str = "ledger";

/// What the page shows besides its forms.
#[derive(Default)]
struct Shown {
    /// The village chosen in the last form (an admin's choice, kept selected).
    village_id: Option<String>,
    error: Option<Words>,
    checked: Option<Checked>,
    /// The counts of an import just committed, from the page's query.
    imported: Option<Value>,
}

/// An import's report, with the ledger's text to confirm it with.
struct Checked {
    report: ImportReport,
    text: String,
}

/// A message in both languages.
#[derive(Clone, Copy)]
struct Words {
    zh: &'static str,
    en: &'static str,
}

/// What is wrong with an uploaded file before any line of it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileProblem {
    Empty,
    TooLarge,
    NotText,
    /// The upload broke off: a dropped connection, or slower than the body deadline allows.
    Cut,
}

impl FileProblem {
    fn status(self) -> StatusCode {
        match self {
            FileProblem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            FileProblem::Cut => StatusCode::BAD_REQUEST,
            FileProblem::Empty | FileProblem::NotText => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn words(self) -> Words {
        match self {
            FileProblem::Empty => Words {
                zh: "没有选择文件，或文件是空的。",
                en: "No file was chosen, or the file is empty.",
            },
            FileProblem::TooLarge => Words {
                zh: "文件太大：最大 32 MiB。请按村或网格分成几个文件。",
                en: "The file is too large: at most 32 MiB. Split it by village or grid.",
            },
            FileProblem::NotText => Words {
                zh: "这不是 UTF-8 编码的 CSV 文件。请在表格软件中另存为“CSV UTF-8”后再上传。",
                en: "This is not a UTF-8 CSV file. Save it from the spreadsheet as \"CSV UTF-8\" and upload it again.",
            },
            FileProblem::Cut => Words {
                zh: "上传没有完整到达。请重试；网络慢时可把文件分小。",
                en: "The upload did not arrive whole. Try again; on a slow connection, split the file.",
            },
        }
    }
}

/// Said when a confirmed import wrote nothing (its file now has rejected lines and only the whole file was to go).
const NOT_IMPORTED: Words = Words {
    zh: "没有导入：文件中有被拒的行。可以只导入通过的行，或修改文件后重新上传。",
    en: "Nothing was imported: the file has rejected lines. Import only the accepted lines, or correct the file and upload it again.",
};

/// The fields of the ledger's two forms, as sent.
#[derive(Default)]
struct LedgerForm {
    csrf: String,
    village_id: Option<String>,
    partial: bool,
    ledger: Option<Result<web::Bytes, FileProblem>>,
}

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let count = |key: &str| query.get(key).and_then(|v| v.parse::<u64>().ok());
    let imported = count("imported").map(|accepted| {
        json!({"accepted": accepted, "properties": count("properties").unwrap_or(0),
               "units": count("units").unwrap_or(0), "landlords": count("landlords").unwrap_or(0)})
    });
    let shown = Shown {
        village_id: query.get("village_id").cloned(),
        imported,
        ..Shown::default()
    };
    show(&state, &current, shown, StatusCode::OK).await
}

/// The ledger as the API exports it: an auditor's village, or the village (or with none, the town) an admin chose.
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let requested = query.get("village_id").filter(|v| !v.is_empty()).cloned();
    export(&req, state, requested).await.unwrap_or_else(|answer| answer)
}

async fn export(
    req: &HttpRequest,
    state: web::Data<AppState>,
    requested: Option<String>,
) -> Result<HttpResponse, HttpResponse> {
    let current = super::signed_in(req, &state).await?;
    let village = report_village(&current.caller, requested, true).map_err(error_page)?;
    let mut response = ledger_download(state, village, None).await.map_err(error_page)?;
    // Landlords' names and phones: kept by no cache.
    let no_store = header::HeaderValue::from_static("no-store");
    response.headers_mut().insert(header::CACHE_CONTROL, no_store);
    Ok(response)
}

/// The uploaded file run through the import as a dry run: the page again with what it would do.
pub async fn upload(req: HttpRequest, state: web::Data<AppState>, multipart: Multipart) -> HttpResponse {
    let run = match run(&req, &state, multipart, true).await {
        Ok(run) => run,
        Err(answer) => return answer,
    };
    let shown = Shown {
        village_id: run.village_id,
        checked: Some(run.checked),
        ..Shown::default()
    };
    show(&state, &run.current, shown, StatusCode::OK).await
}

/// The confirmed import: the same file (as sent back), the same function and rules, this time written. Afterwards
/// the page with the counts; when nothing could be written, the report again.
pub async fn confirm(req: HttpRequest, state: web::Data<AppState>, multipart: Multipart) -> HttpResponse {
    let run = match run(&req, &state, multipart, false).await {
        Ok(run) => run,
        Err(answer) => return answer,
    };
    let report = &run.checked.report;
    if report.committed {
        let created = &report.created;
        return super::see_other(&format!(
            "/console/ledger?imported={}&properties={}&units={}&landlords={}",
            report.accepted, created.properties, created.units, created.landlords
        ));
    }
    let shown = Shown {
        village_id: run.village_id,
        error: Some(NOT_IMPORTED),
        checked: Some(run.checked),
        ..Shown::default()
    };
    show(&state, &run.current, shown, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// A ledger form's file run through the API's import.
struct Run {
    current: Current,
    village_id: Option<String>,
    checked: Checked,
}

/// Runs the file of a ledger form through the API's import (a dry run, or for real: `partial` as the form says); or
/// the answer to give instead.
async fn run(req: &HttpRequest, state: &AppState, multipart: Multipart, dry_run: bool) -> Result<Run, HttpResponse> {
    let current = super::signed_in(req, state).await?;
    let (form, text) = received(req, state, &current, multipart).await?;
    let file = web::Bytes::from(text.clone());
    let caller = current.caller.clone();
    let village_id = form.village_id;
    let report = run_import(state, caller, village_id.clone(), file, dry_run, form.partial)
        .await
        .map_err(error_page)?;
    Ok(Run {
        current,
        village_id,
        checked: Checked { report, text },
    })
}

/// The form and the ledger's text, once the user may import and the form came from this console's own page; or the
/// answer to give instead (a refusal, or the page again saying what is wrong with the file).
async fn received(
    req: &HttpRequest,
    state: &AppState,
    current: &Current,
    multipart: Multipart,
) -> Result<(LedgerForm, String), HttpResponse> {
    current
        .caller
        .require(&[Role::Admin, Role::Auditor])
        .map_err(error_page)?;
    let mut form = match read_form(multipart).await {
        Ok(form) => form,
        Err(None) => return Err(super::foreign_form()),
        Err(Some(problem)) => return Err(refused_file(state, current, None, problem).await),
    };
    if !super::from_own_page(req, state, &form.csrf, &current.session.csrf_token) {
        return Err(super::foreign_form());
    }
    match ledger_text(form.ledger.take()) {
        Ok(text) => Ok((form, text)),
        Err(problem) => Err(refused_file(state, current, form.village_id, problem).await),
    }
}

/// The page again, saying what is wrong with the file.
async fn refused_file(
    state: &AppState,
    current: &Current,
    village_id: Option<String>,
    problem: FileProblem,
) -> HttpResponse {
    let shown = Shown {
        village_id,
        error: Some(problem.words()),
        ..Shown::default()
    };
    show(state, current, shown, problem.status()).await
}

/// Reads the form's fields; an error when the upload broke off, or `Err(None)` when the body is not a multipart
/// form (so not one of this page's). The ledger is read up to the API's limit (beyond it, the rest is read and
/// dropped, so the page can still answer), other fields up to a few bytes, unknown ones dropped.
async fn read_form(mut multipart: Multipart) -> Result<LedgerForm, Option<FileProblem>> {
    let mut form = LedgerForm::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(unreadable)?;
        let name = field.name().unwrap_or_default().to_owned();
        let limit = if name == LEDGER_FIELD {
            MAX_IMPORT_BYTES
        } else {
            FIELD_MAX_BYTES
        };
        let value = match field.bytes(limit).await {
            Ok(read) => Ok(read.map_err(unreadable)?),
            Err(_limit_exceeded) => Err(FileProblem::TooLarge),
        };
        let text = || {
            value
                .clone()
                .ok()
                .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
                .unwrap_or_default()
        };
        match name.as_str() {
            LEDGER_FIELD => form.ledger = Some(value),
            "csrf" => form.csrf = text(),
            "village_id" => form.village_id = Some(text()).filter(|v| !v.is_empty()),
            "partial" => form.partial = text() == "true",
            _ => {}
        }
    }
    Ok(form)
}

/// Why a form could not be read: not a multipart form at all (`None`), or an upload that broke off.
fn unreadable(err: MultipartError) -> Option<FileProblem> {
    match err {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => None,
        _ => Some(FileProblem::Cut),
    }
}

/// The ledger as text: UTF-8 without NUL characters (no binary file, no spreadsheet's own format), the byte-order
/// mark removed, not empty.
fn ledger_text(sent: Option<Result<web::Bytes, FileProblem>>) -> Result<String, FileProblem> {
    let bytes = sent.unwrap_or(Err(FileProblem::Empty))?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| FileProblem::NotText)?;
    if text.contains('\0') {
        return Err(FileProblem::NotText);
    }
    let text = text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FileProblem::Empty);
    }
    Ok(text)
}

async fn show(state: &AppState, current: &Current, shown: Shown, status: StatusCode) -> HttpResponse {
    super::respond(render(state, current, shown).await, status)
}

async fn render(state: &AppState, current: &Current, shown: Shown) -> Result<String, ApiError> {
    current.caller.require(&[Role::Admin, Role::Auditor])?;
    let caller = current.caller.clone();
    let villages = state.db.read(move |conn| choosable_villages(conn, &caller)).await?;
    let chosen = shown.village_id.as_deref();
    let villages: Vec<Value> = villages
        .into_iter()
        .map(|v| json!({"id": v.id, "name": v.name, "code": v.code, "selected": Some(v.id.as_str()) == chosen}))
        .collect();
    let (report, confirm) = match shown.checked {
        Some(checked) => {
            let confirm = (checked.report.accepted > 0 && !checked.report.committed).then(|| {
                json!({"village_id": shown.village_id, "text": checked.text,
                       "partial": !checked.report.rejected.is_empty()})
            });
            (Some(report_context(checked.report)), confirm)
        }
        None => (None, None),
    };
    crate::pages::render(
        "console_ledger.html",
        super::page_context(
            current,
            "/console/ledger",
            json!({
                "is_admin": current.caller.role == Role::Admin,
                "villages": villages,
                "error": shown.error.map(|w| json!({"zh": w.zh, "en": w.en})),
                "imported": shown.imported,
                "report": report,
                "confirm": confirm,
            }),
        ),
    )
}

/// The villages the user imports into: every village for an admin, their own for an auditor.
fn choosable_villages(conn: &mut Conn, caller: &Caller) -> Result<Vec<VillageRow>, ApiError> {
    match (caller.role, &caller.village_id) {
        (Role::Admin, _) => {
            let page = Page {
                limit: MAX_VILLAGES,
                after: None,
                updated_since: None,
            };
            villages_repo::list(conn, &page)
        }
        (_, Some(own)) => Ok(vec![villages_repo::find(conn, own)?]),
        (_, None) => Err(ApiError::NotFound),
    }
}

/// An import's report as the page shows it: each rejection's column named in both languages.
fn report_context(report: ImportReport) -> Value {
    let rejected_lines = report.rejected.iter().map(|r| r.line).collect::<BTreeSet<_>>().len();
    let rejected: Vec<Value> = report
        .rejected
        .iter()
        .map(|Rejection { line, column, reason }| {
            json!({"line": line, "column": column, "column_zh": column_zh(column), "reason": reason})
        })
        .collect();
    json!({
        "accepted": report.accepted,
        "created": report.created,
        "committed": report.committed,
        "rejected": rejected,
        "rejected_lines": rejected_lines,
    })
}

/// A ledger column's Chinese name (the header and a whole row are named too).
fn column_zh(column: &str) -> &'static str {
    match column {
        "header" => "表头",
        "row" => "整行",
        _ => COLUMNS.iter().find(|(en, _)| *en == column).map_or("", |(_, zh)| *zh),
    }
}
