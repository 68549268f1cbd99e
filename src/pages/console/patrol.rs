//! Recording a grid patrol: the inspector chooses a grid, marks each property visited as fine or with an issue
//! (an issue needs a note), and the API's request is built from the form and recorded by the API's service, once
//! per form (its one-time id). The server's refusals are shown beside the property or field they name.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::session::{self, Current};
use crate::auth::Role;
use crate::db::query::Page;
use crate::error::{ApiError, FieldError};
use crate::ids::{now, today};
use crate::patrols::model::CreatePatrol;
use crate::registry::model::PropertyFilter;
use crate::state::AppState;

type Fields = HashMap<String, String>;

/// Properties a patrol form lists at the most.
const LISTED: i64 = 500;

/// `GET /console/patrols/new[?grid=…]`: the grids of the caller's village; with one chosen, its properties.
pub async fn form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<Fields>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    if !matches!(current.caller.role, Role::Inspector | Role::Admin) {
        return crate::pages::error_page(ApiError::Forbidden("patrols".into()));
    }
    let grid = query.get("grid").cloned().unwrap_or_default();
    let done = query.contains_key("done");
    super::respond(
        render(&state, &current, grid, Fields::new(), HashMap::new(), done).await,
        StatusCode::OK,
    )
}

/// The grids the caller may patrol, and the properties of the chosen one (none if it is not among them).
fn grids_and_properties(
    conn: &mut crate::db::Conn,
    caller: &crate::auth::Caller,
    chosen: String,
) -> Result<
    (
        Vec<crate::villages::model::GridRow>,
        Vec<crate::registry::model::PropertyRow>,
    ),
    ApiError,
> {
    let page = Page {
        limit: LISTED,
        after: None,
        updated_since: None,
    };
    let villages = match &caller.village_id {
        Some(village) => vec![village.clone()],
        None => crate::villages::repo::list(conn, &page)?
            .into_iter()
            .map(|v| v.id)
            .collect(),
    };
    let mut grids = Vec::new();
    for village in villages {
        grids.extend(crate::villages::repo::list_grids(conn, &village, &page)?);
    }
    let properties = if grids.iter().any(|g| g.id == chosen) {
        let filter = PropertyFilter {
            village_id: None,
            grid_id: Some(chosen),
            status: None,
            stars: None,
            owner_id: None,
            q: None,
            enterprise_id: None,
        };
        crate::registry::repo::list_properties(conn, caller, &filter, &page, today())?
    } else {
        Vec::new()
    };
    Ok((grids, properties))
}

async fn render(
    state: &AppState,
    current: &Current,
    grid: String,
    values: Fields,
    errors: HashMap<String, String>,
    done: bool,
) -> Result<String, ApiError> {
    let caller = current.caller.clone();
    let chosen = grid.clone();
    let (grids, properties) = state
        .db
        .read(move |conn| grids_and_properties(conn, &caller, chosen))
        .await?;
    let grids: Vec<Value> = grids
        .iter()
        .map(|g| json!({"id": g.id, "label": format!("{} {}", g.code, g.name)}))
        .collect();
    let properties: Vec<Value> = properties
        .iter()
        .map(|p| {
            json!({"id": p.id, "code": p.registration_code, "name": p.name, "address": p.address,
                   "finding": values.get(&format!("finding.{}", p.id)).cloned().unwrap_or_default(),
                   "note": values.get(&format!("note.{}", p.id)).cloned().unwrap_or_default(),
                   "error": errors.get(&p.id)})
        })
        .collect();
    let value = |key: &str, default: String| values.get(key).cloned().unwrap_or(default);
    let own = json!({
        "grids": grids,
        "grid": grid,
        "properties": properties,
        "done": done,
        "values": {"patrolled_on": value("patrolled_on", today().to_string())},
        "errors": {"form": errors.get("form"), "patrolled_on": errors.get("patrolled_on")},
        "form_id": value("form_id", session::random_token()),
    });
    crate::pages::render(
        "console_patrol.html",
        super::page_context(current, "/console/patrols/new", own),
    )
}

/// The API's request from the form: every property marked visited, in the form's order; and the property each
/// visit stands for.
fn request_of(values: &Fields) -> (Value, Vec<String>) {
    let mut visited: Vec<(&str, &str)> = values
        .iter()
        .filter_map(|(key, finding)| Some((key.strip_prefix("finding.")?, finding.as_str())))
        .filter(|(_, finding)| !finding.is_empty())
        .collect();
    visited.sort();
    let ids = visited.iter().map(|(id, _)| (*id).to_owned()).collect();
    let visits: Vec<Value> = visited
        .into_iter()
        .map(|(id, finding)| {
            let note = values
                .get(&format!("note.{id}"))
                .map(|n| n.trim())
                .filter(|n| !n.is_empty());
            json!({"property_id": id, "finding": finding, "note": note})
        })
        .collect();
    let date = values.get("patrolled_on").map(|d| d.trim()).unwrap_or_default();
    (json!({"patrolled_on": date, "visits": visits}), ids)
}

/// Each refusal by where the form shows it: a visit's beside its property, the rest by field or above the form.
fn placed(errors: Vec<FieldError>, ids: &[String]) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for error in errors {
        let place = match error.field.strip_prefix("visits[") {
            Some(rest) => rest
                .split(']')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| ids.get(i).cloned())
                .unwrap_or_else(|| "form".to_owned()),
            None if error.field == "patrolled_on" => error.field.clone(),
            None => "form".to_owned(),
        };
        found.entry(place).or_insert(error.message);
    }
    found
}

/// `POST /console/grids/{id}/patrols`: records the patrol once; on refusal the form again, the entries kept.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    grid: web::Path<String>,
    form: Result<web::Form<Fields>, actix_web::Error>,
) -> HttpResponse {
    let (current, values) = match super::posted(&req, &state, form, super::csrf_field).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let grid_id = grid.into_inner();
    let (body, ids) = request_of(&values);
    let recorded = match crate::http::json::parse::<CreatePatrol>(body.to_string().as_bytes()) {
        Ok(input) => record(&state, &current, grid_id.clone(), values.get("form_id").cloned(), input).await,
        Err(err) => Err(err),
    };
    let errors = match recorded {
        Ok(()) => return super::see_other(&format!("/console/patrols/new?grid={grid_id}&done=1")),
        Err(ApiError::Validation(fields)) => placed(fields, &ids),
        Err(ApiError::Conflict(message)) => HashMap::from([("form".to_owned(), message)]),
        Err(err) => return crate::pages::error_page(err),
    };
    let page = render(&state, &current, grid_id, values, errors, false).await;
    super::respond(page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// Records the patrol with the API's service, unless this form was recorded already (a second click).
async fn record(
    state: &AppState,
    current: &Current,
    grid_id: String,
    form_id: Option<String>,
    input: CreatePatrol,
) -> Result<(), ApiError> {
    let caller = current.caller.clone();
    let form_id = form_id.filter(|f| !f.is_empty()).unwrap_or_else(session::random_token);
    state
        .db
        .write(move |conn| {
            if crate::idempotency::take_form_once(conn, &caller.user_id, &form_id, now())? {
                crate::patrols::service::record(conn, &caller, &grid_id, input)?;
            }
            Ok(())
        })
        .await
}
