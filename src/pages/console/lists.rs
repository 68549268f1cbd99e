//! The console's lists, each read in the caller's scope by the same repository functions as the API: properties
//! (searched and filtered), rectification orders (overdue first), late declarations and overcrowded units.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

use super::session::Current;
use crate::auth::Role;
use crate::db::query::Page;
use crate::error::{ApiError, FieldError};
use crate::ids::today;
use crate::pages::public::status_words;
use crate::registry::model::{PropertyFilter, PropertyStatus, TenancyFilter};
use crate::safety::model::RectificationStatus;
use crate::state::AppState;

/// Rows a list page shows at once.
const PAGE_ROWS: i64 = 50;
/// Rows the lists without paging show (the most urgent first).
const LIST_ROWS: i64 = 200;

/// The property list's filters as the form sends them: every field text, empty when not chosen.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PropertySearch {
    q: String,
    status: String,
    stars: String,
    grid: String,
    after: String,
}

impl PropertySearch {
    /// The API's filter, or the fields that do not parse or break the API's rules.
    fn filter(&self) -> Result<PropertyFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        let chosen = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let status = chosen(&self.status).and_then(|s| {
            s.parse::<PropertyStatus>()
                .map_err(|_| errors.push(FieldError::new("status", "unknown", "choose a status")))
                .ok()
        });
        let stars = chosen(&self.stars).and_then(|s| {
            s.parse::<i32>()
                .map_err(|_| errors.push(FieldError::new("stars", "format", "must be 0 to 5")))
                .ok()
        });
        let filter = PropertyFilter {
            village_id: None,
            grid_id: chosen(&self.grid),
            status,
            stars,
            owner_id: None,
            q: chosen(&self.q),
            enterprise_id: None,
        };
        if let Err(invalid) = filter.validate()
            && let ApiError::Validation(mut fields) = ApiError::from(invalid)
        {
            errors.append(&mut fields);
        }
        if errors.is_empty() { Ok(filter) } else { Err(errors) }
    }
}

/// `GET /console/properties`: the properties the caller may see, searched by name or address and filtered by
/// status, stars and grid, fifty at a time.
pub async fn properties(
    req: HttpRequest,
    state: web::Data<AppState>,
    search: web::Query<PropertySearch>,
) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let search = search.into_inner();
    let (rendered, status) = match search.filter() {
        Ok(filter) => (
            properties_page(&state, &current, &search, Some(filter), HashMap::new()).await,
            StatusCode::OK,
        ),
        Err(errors) => {
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            (
                properties_page(&state, &current, &search, None, errors).await,
                StatusCode::BAD_REQUEST,
            )
        }
    };
    super::respond(rendered, status)
}

/// The properties found (one more than a page tells there are more), and the grids the caller may filter by.
fn find_properties(
    conn: &mut crate::db::Conn,
    caller: &crate::auth::Caller,
    filter: Option<PropertyFilter>,
    after: Option<String>,
    today: chrono::NaiveDate,
) -> Result<
    (
        Vec<crate::registry::model::PropertyRow>,
        Vec<crate::villages::model::GridRow>,
    ),
    ApiError,
> {
    let found = match filter {
        Some(filter) => {
            let page = Page {
                limit: PAGE_ROWS,
                after,
                updated_since: None,
            };
            crate::registry::repo::list_properties(conn, caller, &filter, &page, today)?
        }
        None => Vec::new(),
    };
    let grids = match (&caller.village_id, caller.role) {
        (Some(village), Role::Auditor | Role::Inspector) => {
            let page = Page {
                limit: LIST_ROWS,
                after: None,
                updated_since: None,
            };
            crate::villages::repo::list_grids(conn, village, &page)?
        }
        _ => Vec::new(),
    };
    Ok((found, grids))
}

async fn properties_page(
    state: &AppState,
    current: &Current,
    search: &PropertySearch,
    filter: Option<PropertyFilter>,
    errors: HashMap<String, String>,
) -> Result<String, ApiError> {
    let caller = current.caller.clone();
    let after = Some(search.after.clone()).filter(|a| !a.is_empty());
    let today = today();
    let (found, grids) = state
        .db
        .read(move |conn| find_properties(conn, &caller, filter, after, today))
        .await?;
    let more = found.len() as i64 > PAGE_ROWS;
    let shown = &found[..found.len().min(PAGE_ROWS as usize)];
    let next = more.then(|| shown.last().map(|p| p.id.clone())).flatten();
    let statuses: Vec<Value> = PropertyStatus::ALL
        .iter()
        .map(|s| {
            let words = status_words(*s);
            json!({"value": s.as_str(), "zh": words.zh, "en": words.en})
        })
        .collect();
    let grids: Vec<Value> = grids
        .iter()
        .map(|g| json!({"value": g.id, "label": format!("{} {}", g.code, g.name)}))
        .collect();
    let own = json!({
        "search": {"q": search.q, "status": search.status, "stars": search.stars, "grid": search.grid},
        "errors": {"q": errors.get("q"), "status": errors.get("status"), "stars": errors.get("stars"),
                   "grid": errors.get("grid_id")},
        "statuses": statuses,
        "grids": grids,
        "properties": super::home::rows(shown, today),
        "next": next,
    });
    crate::pages::render(
        "console_properties.html",
        super::page_context(current, "/console/properties", own),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusChoice {
    status: String,
}

/// A rectification status in plain words.
pub fn rectification_words(status: RectificationStatus) -> (&'static str, &'static str) {
    match status {
        RectificationStatus::Open => ("待整改", "open"),
        RectificationStatus::Reported => ("已报整改，待复查", "reported fixed, to verify"),
        RectificationStatus::Resolved => ("已整改", "resolved"),
        RectificationStatus::Overdue => ("逾期未整改", "overdue"),
        RectificationStatus::Superseded => ("已由新检查取代", "superseded by a later inspection"),
    }
}

/// `GET /console/rectifications`: the orders the caller may see, overdue first, then by due date; the pending
/// ones unless a status is chosen.
pub async fn rectifications(
    req: HttpRequest,
    state: web::Data<AppState>,
    choice: web::Query<StatusChoice>,
) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let chosen = choice.status.trim().to_owned();
    let status = match chosen.as_str() {
        "" => Ok(None),
        text => text.parse::<RectificationStatus>().map(Some),
    };
    let (status, error) = match status {
        Ok(status) => (status, None),
        Err(_) => (None, Some("choose a status")),
    };
    let caller = current.caller.clone();
    let rows = if error.is_some() {
        Ok(Vec::new())
    } else {
        state
            .db
            .read(move |conn| crate::safety::repo::rectifications_for_review(conn, &caller, status, LIST_ROWS))
            .await
    };
    let rendered = rows.and_then(|rows| {
        let today = today();
        let orders: Vec<Value> = rows
            .iter()
            .map(|(r, code)| {
                let (zh, en) = rectification_words(r.status);
                let late = r.status == RectificationStatus::Overdue
                    || (RectificationStatus::PENDING.contains(&r.status) && r.due_on < today);
                json!({"id": r.id, "property_id": r.property_id, "code": code, "item_code": r.item_code,
                       "severity": r.severity, "due_on": r.due_on, "status": {"value": r.status.as_str(), "zh": zh, "en": en},
                       "late": late})
            })
            .collect();
        let statuses: Vec<Value> = RectificationStatus::ALL
            .iter()
            .map(|s| {
                let (zh, en) = rectification_words(*s);
                json!({"value": s.as_str(), "zh": zh, "en": en})
            })
            .collect();
        let own = json!({"orders": orders, "statuses": statuses, "chosen": chosen, "error": error});
        crate::pages::render(
            "console_rectifications.html",
            super::page_context(&current, "/console/rectifications", own),
        )
    });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    super::respond(rendered, status)
}

/// `GET /console/declarations/late`: tenants living in the caller's scope who were declared late.
pub async fn late_declarations(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let caller = current.caller.clone();
    let rows = state
        .db
        .read(move |conn| {
            let filter = TenancyFilter {
                property_id: None,
                unit_id: None,
                active: Some(true),
                late: Some(true),
                enterprise_id: None,
            };
            let page = Page {
                limit: LIST_ROWS,
                after: None,
                updated_since: None,
            };
            let tenancies = crate::registry::repo::list_tenancies(conn, &caller, &filter, &page)?;
            let ids: Vec<&str> = tenancies.iter().map(|t| t.property_id.as_str()).collect();
            let codes: HashMap<String, String> = crate::registry::repo::properties_by_ids(conn, &ids)?
                .into_iter()
                .map(|p| (p.id, p.registration_code))
                .collect();
            Ok(tenancies
                .into_iter()
                .take(LIST_ROWS as usize)
                .map(|t| {
                    json!({"property_id": t.property_id, "code": codes.get(&t.property_id),
                           "full_name": t.full_name, "id_number_masked": t.id_number_masked,
                           "move_in_date": t.move_in_date, "declared_on": t.declared_at.date()})
                })
                .collect::<Vec<Value>>())
        })
        .await;
    let rendered = rows.and_then(|rows| {
        crate::pages::render(
            "console_late.html",
            super::page_context(&current, "/console/declarations/late", json!({"tenants": rows})),
        )
    });
    super::respond(rendered, StatusCode::OK)
}

/// `GET /console/units/overcrowded`: units in the caller's scope with more tenants than they may hold.
pub async fn overcrowded(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let caller = current.caller.clone();
    let rows = state
        .db
        .read(move |conn| crate::registry::repo::overcrowded_units_seen_by(conn, &caller, LIST_ROWS))
        .await;
    let rendered = rows.and_then(|rows| {
        let units: Vec<Value> = rows
            .iter()
            .map(|(u, code)| {
                json!({"property_id": u.property_id, "code": code, "label": u.label, "area_m2": u.area_m2,
                       "active_tenants": u.active_tenants, "max_occupants": u.max_occupants})
            })
            .collect();
        crate::pages::render(
            "console_overcrowded.html",
            super::page_context(&current, "/console/units/overcrowded", json!({"units": units})),
        )
    });
    super::respond(rendered, StatusCode::OK)
}
