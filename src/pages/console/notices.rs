//! Notices (`/console/notices`): the e-mails the outbox sent or is sending, newest first, in the API's scope (an
//! admin sees all, everyone else their own), with a status filter. An admin puts a failed one back in the queue
//! with the API's own rule (`notices::service::retry_failed`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::session::Current;
use crate::error::ApiError;
use crate::notices::model::{NoticeFilter, NoticeKind, NoticeRow, NoticeStatus};
use crate::notices::{repo, service};
use crate::state::AppState;

/// How many notices the page lists, newest first.
const LISTED: i64 = 200;

#[derive(Deserialize, Default)]
pub struct NoticesQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    done: String,
}

pub async fn page(req: HttpRequest, state: web::Data<AppState>, query: web::Query<NoticesQuery>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    super::respond(render(&state, &current, &query, None).await, StatusCode::OK)
}

async fn render(
    state: &AppState,
    current: &Current,
    query: &NoticesQuery,
    refused: Option<Value>,
) -> Result<String, ApiError> {
    let filter = NoticeFilter {
        status: query.status.parse().ok(),
        kind: None,
    };
    let caller = current.caller.clone();
    let rows = state
        .db
        .read(move |conn| repo::newest(conn, &caller, &filter, LISTED + 1))
        .await?;
    let can_retry = current.caller.is_admin();
    let more = rows.len() as i64 > LISTED;
    let notices: Vec<Value> = rows
        .iter()
        .take(LISTED as usize)
        .map(|row| notice_row(row, can_retry))
        .collect();
    let statuses: Vec<Value> = NoticeStatus::ALL
        .iter()
        .map(|s| json!({"value": s, "words": status_words(*s), "selected": s.as_str() == query.status}))
        .collect();
    let (heading_zh, heading_en) = if current.caller.is_admin() {
        ("通知", "Notices")
    } else {
        ("我的通知", "My notices")
    };
    let done =
        (query.done == "retried").then(|| json!({"zh": "已重新排队发送。", "en": "The notice is queued again."}));
    let context = json!({
        "heading": {"zh": heading_zh, "en": heading_en},
        "notices": notices,
        "statuses": statuses,
        "more": more,
        "done": done,
        "refused": refused,
    });
    crate::pages::render(
        "console_notices.html",
        super::page_context(current, "/console/notices", context),
    )
}

/// A notice as the page shows it: what and to whom (the address the API shows), where it is in delivery.
fn notice_row(row: &NoticeRow, can_retry: bool) -> Value {
    let created = crate::ids::local_time(row.created_at)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    json!({
        "id": row.id, "kind": kind_words(row.kind), "kind_key": row.kind, "subject": row.subject,
        "recipient": row.recipient_email, "status_key": row.status, "status": status_words(row.status),
        "attempts": row.attempts, "last_error": row.last_error, "created": created,
        "retry": can_retry && row.status == NoticeStatus::Failed,
    })
}

fn status_words(status: NoticeStatus) -> Value {
    let (zh, en) = match status {
        NoticeStatus::Queued => ("等待发送", "queued"),
        NoticeStatus::Sending => ("发送中", "sending"),
        NoticeStatus::Sent => ("已发送", "sent"),
        NoticeStatus::Failed => ("发送失败", "failed"),
    };
    json!({"zh": zh, "en": en})
}

fn kind_words(kind: NoticeKind) -> Value {
    let (zh, en) = match kind {
        NoticeKind::MembershipChanged => ("会籍变更", "membership changed"),
        NoticeKind::InspectionResult => ("检查结果", "inspection result"),
        NoticeKind::RectificationDueSoon => ("整改即将到期", "rectification due soon"),
        NoticeKind::RectificationOverdue => ("整改逾期", "rectification overdue"),
        NoticeKind::DeclarationLate => ("逾期申报", "late declaration"),
        NoticeKind::Overcrowding => ("超员", "overcrowding"),
        NoticeKind::RatingExpiring => ("评级即将到期", "rating expiring"),
        NoticeKind::PropertyDelisted => ("出租房被除名", "property delisted"),
        NoticeKind::AccountInvitation => ("账号邀请", "account invitation"),
        NoticeKind::PasswordReset => ("重设密码", "password reset"),
        NoticeKind::AppealLodged => ("检查申诉", "appeal lodged"),
        NoticeKind::AppealDecided => ("申诉决定", "appeal decided"),
        NoticeKind::TrainingExpiring => ("培训即将到期", "training lapsing"),
    };
    json!({"zh": zh, "en": en})
}

#[derive(Deserialize)]
pub struct RetryForm {
    csrf: String,
}

/// Puts a failed notice back in the queue; a notice that is not failed shows the conflict above the list (409),
/// anyone but an admin gets the API's refusal as a page.
pub async fn retry(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<RetryForm>, actix_web::Error>,
) -> HttpResponse {
    let current = match super::posted(&req, &state, form, |f: &RetryForm| &f.csrf).await {
        Ok((current, _)) => current,
        Err(answer) => return answer,
    };
    let (caller, id) = (current.caller.clone(), id.into_inner());
    let retried = state
        .db
        .write(move |conn| service::retry_failed(conn, &caller, &id))
        .await;
    match retried {
        Ok(_) => super::see_other("/console/notices?done=retried"),
        Err(err) => match super::conflict_words(&err) {
            Some(words) => {
                let page = render(&state, &current, &NoticesQuery::default(), Some(words)).await;
                super::respond(page, err.status_code())
            }
            None => crate::pages::error_page(err),
        },
    }
}
