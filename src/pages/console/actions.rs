//! The forms on a property's page that act on one of its tenancies or orders: a move-out, an auditor's reading
//! of a tenant's identity document (audited), a landlord's report that an order is fixed, an inspector's
//! verification. Each reads the form as the API's own request (the same parser and rules), runs the API's
//! service, and answers with the property's page: confirmed, or with the refusal above the form it concerns.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Value, json};

use super::property::{View, render};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::etag::IfMatch;
use crate::registry::model::MoveOut;
use crate::safety::model::{ReportFix, VerifyFix};
use crate::safety::public::PublicRatings;
use crate::state::AppState;

type Fields = HashMap<String, String>;

/// What a form did: the page confirms it (`done`), or shows a tenant's document (`Revealed`).
enum Acted {
    Done(&'static str),
    Revealed(String, String),
}

/// Signs in, checks the form came from the console, finds the property the object belongs to (in the caller's
/// scope: another's is not found), runs `act`, and answers with that property's page.
async fn on_property<F, Fut>(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<web::Form<Fields>, actix_web::Error>,
    form_key: String,
    property_of: impl FnOnce(&mut crate::db::Conn, &Caller) -> Result<String, ApiError> + Send + 'static,
    act: F,
) -> HttpResponse
where
    F: FnOnce(Caller, Fields) -> Fut,
    Fut: std::future::Future<Output = Result<Acted, ApiError>>,
{
    let (current, fields) = match super::posted(&req, &state, form, super::csrf_field).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let caller = current.caller.clone();
    let property_id = match state.db.read(move |conn| property_of(conn, &caller)).await {
        Ok(id) => id,
        Err(err) => return crate::pages::error_page(err),
    };
    let acted = act(current.caller.clone(), fields).await;
    match acted {
        Ok(Acted::Done(done)) => super::see_other(&format!("/console/properties/{property_id}?done={done}")),
        Ok(Acted::Revealed(tenancy, number)) => {
            let view = View::revealed(tenancy, number);
            super::respond(render(&state, &current, property_id, view).await, StatusCode::OK)
        }
        Err(
            err @ (ApiError::Validation(_)
            | ApiError::Conflict(_)
            | ApiError::PreconditionFailed(_)
            | ApiError::Forbidden(_)
            | ApiError::MembershipInactive(_)),
        ) => {
            let status = err.status_code();
            let view = View::failed(form_key, refusal_words(&err));
            super::respond(render(&state, &current, property_id, view).await, status)
        }
        Err(err) => crate::pages::error_page(err),
    }
}

/// A refusal in words for the page, Chinese first: the console's own words for a conflict or a stale form, each
/// field's message for a refused field, the API's message otherwise.
fn refusal_words(err: &ApiError) -> Value {
    if let Some(words) = super::conflict_words(err) {
        return words;
    }
    let en = match err {
        ApiError::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        ApiError::Forbidden(m) | ApiError::MembershipInactive(m) => m.clone(),
        other => other.to_string(),
    };
    let zh = match err {
        ApiError::Validation(_) => "请检查填写的内容。",
        _ => "你的账号不能做这项操作。",
    };
    json!({"zh": zh, "en": en})
}

/// The form's fields as the API's JSON request, read by the API's own parser and rules.
fn request<T: serde::de::DeserializeOwned + validator::Validate>(body: Value) -> Result<T, ApiError> {
    crate::http::json::parse(body.to_string().as_bytes())
}

/// The version the form was drawn at: the API's `If-Match`.
fn version(fields: &Fields) -> IfMatch {
    match fields.get("version").and_then(|v| v.trim().parse::<i32>().ok()) {
        Some(v) => IfMatch::Version(v),
        None => IfMatch::Foreign,
    }
}

fn field(fields: &Fields, name: &str) -> String {
    fields.get(name).cloned().unwrap_or_default()
}

/// `POST /console/tenancies/{id}/move-out` (`move_out_date`, `version`).
pub async fn move_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<Fields>, actix_web::Error>,
) -> HttpResponse {
    let id = id.into_inner();
    let work = state.clone();
    let (key, lookup) = (format!("move-out-{id}"), tenancy_property(id.clone()));
    let act = |caller: Caller, fields: Fields| async move {
        let body: MoveOut = request(json!({"move_out_date": field(&fields, "move_out_date").trim()}))?;
        let if_match = version(&fields);
        work.db
            .write(move |conn| crate::registry::service::move_out(conn, &caller, &id, if_match, body.move_out_date))
            .await?;
        Ok(Acted::Done("moved_out"))
    };
    on_property(req, state, form, key, lookup, act).await
}

/// `POST /console/tenancies/{id}/identity`: the tenant's document number, for auditors and admins; the read is
/// audited by the API's service, as the API's own read is.
pub async fn reveal(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<Fields>, actix_web::Error>,
) -> HttpResponse {
    let id = id.into_inner();
    let work = state.clone();
    let (key, lookup) = (format!("reveal-{id}"), tenancy_property(id.clone()));
    let act = |caller: Caller, _: Fields| async move {
        let cipher = work.identity.clone();
        work.db
            .write(move |conn| crate::registry::service::read_identity(conn, &caller, &cipher, &id).map(|i| (id, i)))
            .await
            .map(|(id, identity)| Acted::Revealed(id, identity.id_number))
    };
    on_property(req, state, form, key, lookup, act).await
}

/// The property of a tenancy the caller may see.
fn tenancy_property(id: String) -> impl FnOnce(&mut crate::db::Conn, &Caller) -> Result<String, ApiError> {
    move |conn, caller| Ok(crate::registry::repo::find_tenancy(conn, caller, &id)?.1.id)
}

/// The property of an order the caller may see.
fn order_property(id: String) -> impl FnOnce(&mut crate::db::Conn, &Caller) -> Result<String, ApiError> {
    move |conn, caller| {
        Ok(crate::safety::repo::find_rectification(conn, caller, &id)?
            .0
            .property_id)
    }
}

/// `POST /console/rectifications/{id}/report` (`note`, `version`): the owner reports the order fixed.
pub async fn report_fix(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<Fields>, actix_web::Error>,
) -> HttpResponse {
    let id = id.into_inner();
    let work = state.clone();
    let (key, lookup) = (format!("report-{id}"), order_property(id.clone()));
    let act = |caller: Caller, fields: Fields| async move {
        let body: ReportFix = request(json!({"note": field(&fields, "note")}))?;
        let if_match = version(&fields);
        work.db
            .write(move |conn| crate::safety::service::report_fix(conn, &caller, &id, if_match, &body.note))
            .await?;
        Ok(Acted::Done("reported"))
    };
    on_property(req, state, form, key, lookup, act).await
}

/// `POST /console/rectifications/{id}/verify` (`resolved` yes or no, `note`, `version`): an inspector's
/// verification; the public page shows its effect at once.
pub async fn verify_fix(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
    form: Result<web::Form<Fields>, actix_web::Error>,
) -> HttpResponse {
    let id = id.into_inner();
    let work = state.clone();
    let (key, lookup) = (format!("verify-{id}"), order_property(id.clone()));
    let act = |caller: Caller, fields: Fields| async move {
        let resolved = match field(&fields, "resolved").as_str() {
            "yes" => json!(true),
            "no" => json!(false),
            _ => Value::Null,
        };
        let body: VerifyFix = request(json!({"resolved": resolved, "note": field(&fields, "note")}))?;
        let if_match = version(&fields);
        let row = work
            .db
            .write(move |conn| {
                crate::safety::service::verify_fix(conn, &caller, &id, if_match, body.resolved, &body.note)
            })
            .await?;
        public.forget(&row.property_id);
        Ok(Acted::Done("verified"))
    };
    on_property(req, state, form, key, lookup, act).await
}
