//! A property's page in the console: its units and who lives there (identity numbers masked, as everywhere), and
//! for its landlord (or an admin) a form per unit to declare a tenant. The form builds the API's own request type
//! and runs the API's rules and service; what the server refuses is shown beside the field it names.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

use super::session::Current;
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::Page;
use crate::error::{ApiError, FieldError};
use crate::ids::today;
use crate::pages::public::status_words;
use crate::registry::identity::DocumentNumber;
use crate::registry::model::{DeclareTenancy, IdType, PropertyRow, TenancyFilter, TenantInput};
use crate::registry::{repo, service};
use crate::state::AppState;

/// The fields of the declaration form, as the page names them.
const FIELDS: [&str; 5] = ["full_name", "id_type", "id_number", "phone", "move_in_date"];

/// What the page shows beyond the property's record: what a form just did (the query's `done` says), a
/// declaration form the server refused, another form's refusal, an identity the auditor asked to see.
#[derive(Default)]
pub(super) struct View {
    done: Option<String>,
    refused: Option<Refused>,
    /// The form (its kind and the id it acts on, as `verify-<id>`) and the server's refusal.
    failed: Option<(String, Value)>,
    /// The tenancy whose identity was read, and its document number.
    revealed: Option<(String, String)>,
}

impl View {
    /// The page with the refusal of a form (`verify-<id>`...) above that form.
    pub(super) fn failed(form: String, words: Value) -> View {
        View {
            failed: Some((form, words)),
            ..View::default()
        }
    }

    /// The page with a tenancy's document number shown.
    pub(super) fn revealed(tenancy_id: String, id_number: String) -> View {
        View {
            revealed: Some((tenancy_id, id_number)),
            ..View::default()
        }
    }
}

/// What a form that succeeded did, as the page confirms it.
fn done_words(done: &str) -> Option<(&'static str, &'static str)> {
    Some(match done {
        "declared" => ("已申报入住。", "The tenant is declared."),
        "inspected" => ("检查已记录。", "The inspection is recorded."),
        "moved_out" => ("已登记退租。", "The move-out is recorded."),
        "reported" => (
            "已报告整改完成，等待复查。",
            "The fix is reported; an inspector will verify it.",
        ),
        "verified" => ("复查已记录。", "The verification is recorded."),
        _ => return None,
    })
}

/// What a unit's form shows again after the server refused it.
struct Refused {
    unit_id: String,
    /// The refused form's one-time id, kept: it was not used.
    form_id: String,
    values: HashMap<&'static str, String>,
    errors: HashMap<String, String>,
}

pub async fn property_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let view = View {
        done: query.get("done").cloned(),
        ..View::default()
    };
    super::respond(render(&state, &current, id.into_inner(), view).await, StatusCode::OK)
}

/// `GET /console/properties/{id}/plaque`: the door plaque to print (the public plaque, with its QR code).
pub async fn plaque(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let current = match super::signed_in(&req, &state).await {
        Ok(current) => current,
        Err(answer) => return answer,
    };
    let (caller, id) = (current.caller.clone(), id.into_inner());
    let rendered = match state.db.read(move |conn| repo::find_property(conn, &caller, &id)).await {
        Ok(property) => crate::pages::render(
            "console_plaque.html",
            super::page_context(
                &current,
                "",
                json!({"property": {"id": property.id, "registration_code": property.registration_code,
                                    "name": property.name}}),
            ),
        ),
        Err(err) => Err(err),
    };
    super::respond(rendered, StatusCode::OK)
}

pub(super) async fn render(
    state: &AppState,
    current: &Current,
    property_id: String,
    view: View,
) -> Result<String, ApiError> {
    let caller = current.caller.clone();
    let today = today();
    let (property, units, record) = state
        .db
        .read(move |conn| {
            let (property, units, ids) = units_of(conn, &caller, &property_id)?;
            let record = super::record::record_of(conn, &caller, &property, ids)?;
            Ok((property, units, record))
        })
        .await?;
    let refused = view.refused;
    let can_declare = current.caller.role == Role::Admin || property.owner_id == current.caller.user_id;
    let units: Vec<Value> = units
        .into_iter()
        .map(|unit| with_form(unit, refused.as_ref(), today))
        .collect();
    let (lit, unlit) = crate::safety::public::star_glyphs(property.stars);
    let id_types: Vec<Value> = IdType::ALL
        .iter()
        .map(|t| {
            let (zh, en) = id_type_words(*t);
            json!({"value": t.as_str(), "zh": zh, "en": en})
        })
        .collect();
    crate::pages::render(
        "console_property.html",
        super::page_context(
            current,
            "",
            json!({
                "property": {"id": property.id, "registration_code": property.registration_code, "name": property.name,
                             "address": property.address},
                "stars_text": format!("{lit}{unlit}"),
                "status": status_words(property.status_on(today)),
                "units": units,
                "can_declare": can_declare,
                "id_types": id_types,
                "done": view.done.as_deref().and_then(|key| done_words(key).map(|(zh, en)| json!({"key": key, "zh": zh, "en": en}))),
                "failed": view.failed.map(|(form, words)| json!({"form": form, "zh": words["zh"], "en": words["en"]})),
                "revealed": view.revealed.map(|(id, number)| json!({"tenancy_id": id, "id_number": number})),
                "can_inspect": current.caller.role != Role::Landlord,
                "can_reveal": matches!(current.caller.role, Role::Admin | Role::Auditor),
                "today": today,
                "record": record,
            }),
        ),
    )
}

/// A unit with its declaration form's values and errors: empty (today's date, a resident ID) unless this unit's
/// form was just refused.
fn with_form(mut unit: Value, refused: Option<&Refused>, today: NaiveDate) -> Value {
    let id = unit["id"].as_str().unwrap_or_default().to_owned();
    let mine = refused.filter(|r| r.unit_id == id);
    let value = |field: &str| mine.and_then(|r| r.values.get(field).cloned());
    let form: serde_json::Map<String, Value> = FIELDS
        .iter()
        .map(|f| {
            let default = match *f {
                "id_type" => IdType::ResidentId.as_str().to_owned(),
                "move_in_date" => today.to_string(),
                _ => String::new(),
            };
            ((*f).to_owned(), Value::from(value(f).unwrap_or(default)))
        })
        .collect();
    let errors: serde_json::Map<String, Value> = FIELDS
        .iter()
        .chain(&["form"])
        .map(|f| ((*f).to_owned(), json!(mine.and_then(|r| r.errors.get(*f).cloned()))))
        .collect();
    let mut form = form;
    let form_id = mine
        .map(|r| r.form_id.clone())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(super::session::random_token);
    form.insert("form_id".into(), Value::from(form_id));
    unit["form"] = Value::Object(form);
    unit["errors"] = Value::Object(errors);
    unit["open"] = json!(mine.is_some());
    unit
}

fn id_type_words(id_type: IdType) -> (&'static str, &'static str) {
    match id_type {
        IdType::ResidentId => ("居民身份证", "resident ID"),
        IdType::Passport => ("护照", "passport"),
        IdType::HkMacauPermit => ("港澳通行证", "Hong Kong / Macau permit"),
        IdType::TaiwanPermit => ("台湾通行证", "Taiwan permit"),
        IdType::ForeignPermanentId => ("外国人永久居留证", "foreign permanent resident ID"),
    }
}

/// The property (in the caller's scope: another landlord's is not found) and its units, each with its active
/// tenants as the API shows them (masked); and the ids of those units and tenancies.
fn units_of(
    conn: &mut Conn,
    caller: &Caller,
    property_id: &str,
) -> Result<(PropertyRow, Vec<Value>, Vec<String>), ApiError> {
    let property = repo::find_property(conn, caller, property_id)?;
    let page = Page {
        limit: 200,
        after: None,
        updated_since: None,
    };
    let filter = TenancyFilter {
        property_id: Some(property.id.clone()),
        unit_id: None,
        active: Some(true),
        late: None,
        enterprise_id: None,
    };
    let tenancies = repo::list_tenancies(conn, caller, &filter, &page)?;
    let units = repo::list_units(conn, &property.id, &page)?;
    let ids = units
        .iter()
        .map(|u| u.id.clone())
        .chain(tenancies.iter().map(|t| t.id.clone()))
        .collect();
    let units = units
        .into_iter()
        .map(|unit| {
            let tenants: Vec<Value> = tenancies
                .iter()
                .filter(|t| t.unit_id == unit.id)
                .map(|t| {
                    json!({"id": t.id, "version": t.version, "full_name": t.full_name,
                           "id_number_masked": t.id_number_masked, "move_in_date": t.move_in_date, "late": t.late})
                })
                .collect();
            json!({"id": unit.id, "label": unit.label, "floor": unit.floor, "area_m2": unit.area_m2,
                   "active_tenants": unit.active_tenants, "max_occupants": unit.max_occupants,
                   "tenants": tenants})
        })
        .collect();
    Ok((property, units, ids))
}

#[derive(Deserialize)]
pub struct DeclareForm {
    csrf: String,
    /// The rendered form's one-time id: a second send declares nothing more.
    #[serde(default)]
    form_id: String,
    full_name: String,
    id_type: String,
    id_number: String,
    phone: String,
    move_in_date: String,
}

impl DeclareForm {
    fn values(&self) -> HashMap<&'static str, String> {
        HashMap::from([
            ("full_name", self.full_name.clone()),
            ("id_type", self.id_type.clone()),
            ("id_number", self.id_number.clone()),
            ("phone", self.phone.clone()),
            ("move_in_date", self.move_in_date.clone()),
        ])
    }

    /// The API's request, or the fields that do not even parse.
    fn request(&self) -> Result<DeclareTenancy, Vec<FieldError>> {
        let id_type = self.id_type.parse::<IdType>();
        let move_in_date = NaiveDate::parse_from_str(self.move_in_date.trim(), "%Y-%m-%d");
        match (id_type, move_in_date) {
            (Ok(id_type), Ok(move_in_date)) => Ok(DeclareTenancy {
                tenant: TenantInput {
                    full_name: crate::validation::to_nfc(self.full_name.clone()),
                    id_type,
                    id_number: self.id_number.clone(),
                    phone: Some(self.phone.trim().to_owned()).filter(|p| !p.is_empty()),
                    origin: None,
                    employer: None,
                },
                move_in_date,
            }),
            (id_type, date) => {
                let mut errors = Vec::new();
                if id_type.is_err() {
                    errors.push(FieldError::new("id_type", "unknown", "choose a document"));
                }
                if date.is_err() {
                    errors.push(FieldError::new("move_in_date", "format", "must be a date"));
                }
                Err(errors)
            }
        }
    }
}

/// Declares a tenant through the API's rules and service; on refusal the page again, each error beside its field.
pub async fn declare(
    req: HttpRequest,
    state: web::Data<AppState>,
    unit_id: web::Path<String>,
    form: Result<web::Form<DeclareForm>, actix_web::Error>,
) -> HttpResponse {
    let (current, form) = match super::posted(&req, &state, form, |f: &DeclareForm| &f.csrf).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let unit_id = unit_id.into_inner();
    let caller = current.caller.clone();
    let lookup = unit_id.clone();
    let property_id = match state.db.read(move |conn| repo::find_unit(conn, &caller, &lookup)).await {
        Ok((_, property)) => property.id,
        Err(err) => return crate::pages::error_page(err),
    };
    match record(&state, &current, &unit_id, &form).await {
        Ok(()) => super::see_other(&format!("/console/properties/{property_id}?done=declared")),
        Err(DeclareError::Page(err)) => crate::pages::error_page(err),
        Err(DeclareError::Fields(errors)) => {
            let refused = Refused {
                unit_id,
                form_id: form.form_id.clone(),
                values: form.values(),
                errors,
            };
            let view = View {
                refused: Some(refused),
                ..View::default()
            };
            let page = render(&state, &current, property_id, view).await;
            super::respond(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

enum DeclareError {
    /// Shown beside the form's fields (by field name; `form` for the whole form).
    Fields(HashMap<String, String>),
    /// Shown as a page (not found, unavailable...).
    Page(ApiError),
}

/// The API's request from the form, checked by the API's field rules (a bad document number named with them).
fn checked(form: &DeclareForm) -> Result<DeclareTenancy, DeclareError> {
    let request = form
        .request()
        .map_err(|errors| DeclareError::Fields(by_field(errors)))?;
    if let Err(errors) = request.validate() {
        // The field rules failed: name a bad document number with them, not on the next try.
        let mut fields = match ApiError::from(errors) {
            ApiError::Validation(fields) => fields,
            other => return Err(DeclareError::Page(other)),
        };
        let tenant = &request.tenant;
        if let Err(e) = DocumentNumber::parse(tenant.id_type, &tenant.id_number, today()) {
            fields.push(FieldError::new("tenant.id_number", e.code(), e.message()));
        }
        return Err(DeclareError::Fields(by_field(fields)));
    }
    Ok(request)
}

async fn record(state: &AppState, current: &Current, unit_id: &str, form: &DeclareForm) -> Result<(), DeclareError> {
    let tenant = service::prepare_tenant(&state.identity, checked(form)?).map_err(refusal)?;
    let (caller, settings, unit_id) = (current.caller.clone(), state.settings.clone(), unit_id.to_owned());
    let form_id = Some(form.form_id.clone())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(super::session::random_token);
    state
        .db
        .write(move |conn| {
            if crate::idempotency::take_form_once(conn, &caller.user_id, &form_id, crate::ids::now())? {
                service::declare_tenancy(conn, &caller, &settings, &unit_id, tenant)?;
            }
            Ok(())
        })
        .await
        .map_err(refusal)?;
    Ok(())
}

/// `POST /console/units/{id}/tenancies/check`: the declaration form as typed so far, checked by the API's rules
/// without declaring anything; the answer names each field's problem (`{"errors": {"id_number": "…"}}`), for the
/// page to show beside the field as the landlord types.
pub async fn check(
    req: HttpRequest,
    state: web::Data<AppState>,
    unit_id: web::Path<String>,
    form: Result<web::Form<DeclareForm>, actix_web::Error>,
) -> HttpResponse {
    let (current, form) = match super::posted(&req, &state, form, |f: &DeclareForm| &f.csrf).await {
        Ok(posted) => posted,
        Err(answer) => return answer,
    };
    let (caller, unit_id) = (current.caller.clone(), unit_id.into_inner());
    if let Err(err) = state
        .db
        .read(move |conn| repo::find_unit(conn, &caller, &unit_id))
        .await
    {
        return crate::pages::error_page(err);
    }
    let errors =
        match checked(&form).and_then(|request| service::prepare_tenant(&state.identity, request).map_err(refusal)) {
            Ok(_) => HashMap::new(),
            Err(DeclareError::Fields(errors)) => errors,
            Err(DeclareError::Page(err)) => return crate::pages::error_page(err),
        };
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({"errors": errors}))
}

/// Where a refusal goes: field errors beside their fields, a conflict or a refusal of the role above the form,
/// anything else as a page.
fn refusal(err: ApiError) -> DeclareError {
    match err {
        ApiError::Validation(fields) => DeclareError::Fields(by_field(fields)),
        ApiError::Conflict(message) | ApiError::Forbidden(message) | ApiError::MembershipInactive(message) => {
            DeclareError::Fields(HashMap::from([("form".to_owned(), message)]))
        }
        other => DeclareError::Page(other),
    }
}

/// The API's field errors by the form's field names (`tenant.id_number` is the form's `id_number`).
fn by_field(errors: Vec<FieldError>) -> HashMap<String, String> {
    let mut found = HashMap::new();
    for error in errors {
        let field = error.field.strip_prefix("tenant.").unwrap_or(&error.field);
        let field = if FIELDS.contains(&field) { field } else { "form" };
        found.entry(field.to_owned()).or_insert(error.message);
    }
    found
}
