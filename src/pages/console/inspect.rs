//! The inspection form: the checklist items that apply to the property, grouped by category, each marked pass,
//! fail or n.a. with a note. The answer builds the API's `CreateInspection` and records it with the API's service
//! (rating, orders, notices, audit); the public answer cache is forgotten, so the plaque's page shows the new stars
//! at once. What the server refuses is shown beside the item or field it names.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde_json::{Value, json};
use validator::Validate;

use super::session::{self, Current};
use crate::accounts::training::model::{TRAINING_ITEM, TrainingStanding};
use crate::error::{ApiError, FieldError};
use crate::ids::today;
use crate::rating::Outcome;
use crate::registry::model::PropertyRow;
use crate::safety::model::{ChecklistItemRow, CreateInspection, ItemResultInput};
use crate::safety::public::PublicRatings;
use crate::state::AppState;

/// What the form shows again after a refusal: the values sent, and the errors by item code or field.
#[derive(Default)]
struct Sent {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
}

pub async fn form(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    super::respond(
        render(&state, &current, id.into_inner(), Sent::default()).await,
        StatusCode::OK,
    )
}

/// The property (in the caller's scope) and the checklist items that apply to it, in checklist order.
async fn applicable(
    state: &AppState,
    current: &Current,
    property_id: String,
) -> Result<(PropertyRow, Vec<ChecklistItemRow>), ApiError> {
    let caller = current.caller.clone();
    state
        .db
        .read(move |conn| {
            let property = crate::registry::repo::find_property(conn, &caller, &property_id)?;
            let (_, items) = crate::safety::repo::current_checklist(conn)?;
            let items = items
                .into_iter()
                .filter(|i| i.applies(property.kind, property.mixed_use_residence))
                .collect();
            Ok((property, items))
        })
        .await
}

/// The owner's training as the form shows it beside [`TRAINING_ITEM`]: valid until a date, lapsed on one, or never.
async fn owner_training(state: &AppState, owner_id: String) -> Result<Value, ApiError> {
    let today = today();
    let training = state
        .db
        .read(move |conn| crate::accounts::training::repo::owner_training(conn, &owner_id, today))
        .await?;
    let (zh, en) = match training.valid_until {
        None => ("房东未参加过培训".to_owned(), "Owner never trained".to_owned()),
        Some(until) if training.standing == TrainingStanding::Lapsed => (
            format!("房东培训已于 {until} 过期"),
            format!("Owner's training lapsed on {until}"),
        ),
        Some(until) => (
            format!("房东培训有效至 {until}"),
            format!("Owner's training valid until {until}"),
        ),
    };
    Ok(json!({"standing": training.standing, "zh": zh, "en": en}))
}

async fn render(state: &AppState, current: &Current, property_id: String, sent: Sent) -> Result<String, ApiError> {
    let (property, items) = applicable(state, current, property_id).await?;
    let training = owner_training(state, property.owner_id.clone()).await?;
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for item in items {
        let shown = json!({
            "code": item.code, "title_zh": item.title_zh, "title_en": item.title_en, "severity": item.severity,
            "outcome": sent.values.get(&format!("outcome.{}", item.code)).cloned().unwrap_or_default(),
            "note": sent.values.get(&format!("note.{}", item.code)).cloned().unwrap_or_default(),
            "error": sent.errors.get(&item.code),
            "training": (item.code == TRAINING_ITEM).then_some(&training),
        });
        match groups.last_mut() {
            Some((category, list)) if *category == item.category => list.push(shown),
            _ => groups.push((item.category, vec![shown])),
        }
    }
    let value = |key: &str, default: String| sent.values.get(key).cloned().unwrap_or(default);
    let error = |key: &str| json!(sent.errors.get(key));
    crate::pages::render(
        "console_inspect.html",
        super::page_context(
            current,
            "",
            json!({
                "property": {"id": property.id, "registration_code": property.registration_code,
                             "name": property.name, "address": property.address},
                "groups": groups.into_iter().map(|(category, items)| json!({"category": category, "items": items}))
                    .collect::<Vec<_>>(),
                "outcomes": [{"value": "pass", "zh": "合格", "en": "pass"}, {"value": "fail", "zh": "不合格", "en": "fail"},
                             {"value": "na", "zh": "不适用", "en": "n.a."}],
                "values": {"inspected_on": value("inspected_on", today().to_string()),
                           "summary": value("summary", String::new())},
                "errors": {"form": error("form"), "inspected_on": error("inspected_on"), "summary": error("summary")},
                "form_id": value("form_id", session::random_token()),
            }),
        ),
    )
}

/// `POST /console/properties/{id}/inspect/preview`: the score and stars the items marked so far would earn, by
/// the rating rules, recording nothing (`{"score", "stars", "stars_text", "marked", "of"}`), for the form to show
/// as the inspector marks items.
pub async fn preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Result<web::Form<HashMap<String, String>>, actix_web::Error>,
) -> HttpResponse {
    let (current, values) = match super::posted(&req, &state, form, super::csrf_field).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let (_, items) = match applicable(&state, &current, id.into_inner()).await {
        Ok(found) => found,
        Err(err) => return crate::pages::error_page(err),
    };
    let answer = match request_of(&values, &items) {
        Ok((request, _)) => match crate::safety::service::preview(&state.settings.rating_rules, &items, &request) {
            Ok(rating) => {
                let (lit, unlit) = crate::safety::public::star_glyphs(Some(i32::from(rating.stars)));
                json!({"score": rating.score, "stars": rating.stars, "stars_text": format!("{lit}{unlit}"),
                       "marked": request.results.len(), "of": items.len()})
            }
            Err(err) => return crate::pages::error_page(err),
        },
        Err(errors) => json!({"errors": errors}),
    };
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(answer)
}

/// Records the inspection; on refusal the form again with every problem beside its item or field.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    public: web::Data<PublicRatings>,
    id: web::Path<String>,
    form: Result<web::Form<HashMap<String, String>>, actix_web::Error>,
) -> HttpResponse {
    let (current, values) = match super::posted(&req, &state, form, super::csrf_field).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let property_id = id.into_inner();
    let (_, items) = match applicable(&state, &current, property_id.clone()).await {
        Ok(found) => found,
        Err(err) => return crate::pages::error_page(err),
    };
    let (request, codes) = match request_of(&values, &items) {
        Ok(built) => built,
        Err(errors) => return refused(&state, &current, property_id, values, errors).await,
    };
    let mut errors = Vec::new();
    if let Err(invalid) = request.validate()
        && let ApiError::Validation(fields) = ApiError::from(invalid)
    {
        errors = fields;
    }
    if errors.is_empty() {
        let form_id = values.get("form_id").cloned().unwrap_or_default();
        let recorded = record(&state, &current, property_id.clone(), form_id, request).await;
        match recorded {
            Ok(_) => {
                public.forget(&property_id);
                return super::see_other(&format!("/console/properties/{property_id}?done=inspected"));
            }
            Err(ApiError::Validation(fields)) => errors = fields,
            Err(ApiError::Forbidden(message) | ApiError::Conflict(message)) => {
                errors = vec![FieldError::new("form", "refused", message)]
            }
            Err(other) => return crate::pages::error_page(other),
        }
    }
    let errors = by_item(errors, &codes);
    refused(&state, &current, property_id, values, errors).await
}

/// Records the inspection once per form: a second submit of the same form changes nothing.
async fn record(
    state: &AppState,
    current: &Current,
    property_id: String,
    form_id: String,
    request: CreateInspection,
) -> Result<(), ApiError> {
    let (caller, settings, now) = (current.caller.clone(), state.settings.clone(), state.clock.now());
    state
        .db
        .write(move |conn| {
            if !form_id.is_empty() && !crate::idempotency::take_form_once(conn, &caller.user_id, &form_id, now)? {
                return Ok(());
            }
            crate::safety::service::record_inspection(conn, &caller, &settings.rating_rules, &property_id, request)
                .map(|_| ())
        })
        .await
}

async fn refused(
    state: &AppState,
    current: &Current,
    property_id: String,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
) -> HttpResponse {
    let page = render(state, current, property_id, Sent { values, errors }).await;
    super::respond(page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The API's request from the form: a result for every item marked (an unmarked item is left out, so the API
/// names it missing), and the codes in the order of the results.
fn request_of(
    values: &HashMap<String, String>,
    items: &[ChecklistItemRow],
) -> Result<(CreateInspection, Vec<String>), HashMap<String, String>> {
    let inspected_on = values.get("inspected_on").map(|d| d.trim()).unwrap_or_default();
    let Ok(inspected_on) = NaiveDate::parse_from_str(inspected_on, "%Y-%m-%d") else {
        return Err(HashMap::from([(
            "inspected_on".to_owned(),
            "must be a date".to_owned(),
        )]));
    };
    let mut results = Vec::new();
    let mut codes = Vec::new();
    for item in items {
        let Some(outcome) = values.get(&format!("outcome.{}", item.code)) else {
            continue;
        };
        let Ok(outcome) = outcome.parse::<Outcome>() else {
            continue;
        };
        let note = values
            .get(&format!("note.{}", item.code))
            .map(|n| crate::validation::to_nfc(n.trim().to_owned()))
            .filter(|n| !n.is_empty());
        results.push(ItemResultInput {
            item_code: item.code.clone(),
            outcome,
            note,
        });
        codes.push(item.code.clone());
    }
    let summary = values
        .get("summary")
        .map(|s| crate::validation::to_nfc(s.trim().to_owned()))
        .filter(|s| !s.is_empty());
    Ok((
        CreateInspection {
            inspected_on,
            results,
            summary,
        },
        codes,
    ))
}

/// The API's field errors by what the form shows them beside: `results.<CODE>` and `results[i].…` by item code,
/// `inspected_on` and `summary` by field, anything else above the form.
fn by_item(errors: Vec<FieldError>, codes: &[String]) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for error in errors {
        let field = &error.field;
        let key = if let Some(code) = field.strip_prefix("results.") {
            code.to_owned()
        } else if let Some(index) = field
            .strip_prefix("results[")
            .and_then(|rest| rest.split(']').next())
            .and_then(|i| i.parse::<usize>().ok())
        {
            codes.get(index).cloned().unwrap_or_else(|| "form".to_owned())
        } else if field == "inspected_on" || field == "summary" {
            field.clone()
        } else {
            "form".to_owned()
        };
        found.entry(key).or_insert(error.message);
    }
    found
}
