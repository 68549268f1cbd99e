//! The audit-event writer. Called inside the same transaction as the change it records, so an event
//! exists exactly when its change does.

use actix_web::get;
use diesel::prelude::*;
use serde_json::Value;

use crate::auth::Caller;
use crate::auth::Role;
use crate::db::Conn;
use crate::db::query::paged;
use crate::db::schema::audit_events;
use crate::error::ApiError;
use crate::http::pagination::{Page, PageQuery, Paginated};
use validator::Validate;

/// What happened, to what, and where.
pub struct Event<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub village_id: Option<&'a str>,
    pub detail: Value,
}

std::thread_local! {
    /// While noting: the first entity recorded on this thread since `note_first_entity`.
    static FIRST_ENTITY: std::cell::RefCell<Option<Option<(String, String)>>> = const { std::cell::RefCell::new(None) };
}

/// Starts noting the first entity this thread's transaction records (what a request made or changed).
pub fn note_first_entity() {
    FIRST_ENTITY.with(|noted| *noted.borrow_mut() = Some(None));
}

/// The first entity recorded since `note_first_entity`, as `(entity_type, entity_id)`; stops noting.
pub fn noted_entity() -> Option<(String, String)> {
    FIRST_ENTITY.with(|noted| noted.borrow_mut().take().flatten())
}

/// Records `event` as done by `actor` (none for the public or the system).
pub fn record(conn: &mut Conn, actor: Option<&Caller>, event: Event<'_>) -> Result<(), ApiError> {
    record_by(conn, actor.map(|c| c.user_id.as_str()), event)
}

pub fn record_by(conn: &mut Conn, actor_id: Option<&str>, event: Event<'_>) -> Result<(), ApiError> {
    let row = row_of(actor_id, event);
    // On the backend's own connection: the statement is found in the cache by its type (every write is audited).
    crate::per_backend!(conn, |c| diesel::insert_into(audit_events::table)
        .values(&row)
        .execute(c))?;
    Ok(())
}

/// The row that records `event`, with a new id and the time now, for a write that stores it itself (the
/// batched declarations, whose events go in with their tenancies in one statement).
pub fn row_of(actor_id: Option<&str>, event: Event<'_>) -> AuditEventRow {
    FIRST_ENTITY.with(|noted| {
        if let Some(first @ None) = &mut *noted.borrow_mut() {
            *first = Some((event.entity_type.to_owned(), event.entity_id.to_owned()));
        }
    });
    AuditEventRow {
        id: crate::ids::new_id(),
        actor_id: actor_id.map(str::to_owned),
        action: event.action.to_owned(),
        entity_type: event.entity_type.to_owned(),
        entity_id: event.entity_id.to_owned(),
        village_id: event.village_id.map(str::to_owned),
        at: crate::ids::now(),
        detail: event.detail.to_string(),
    }
}

/// An audit event as listed.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditEventRow {
    pub id: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub village_id: Option<String>,
    pub at: chrono::NaiveDateTime,
    pub detail: String,
}

/// An audit event as the API shows it.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub detail: Value,
}

impl From<AuditEventRow> for AuditEvent {
    fn from(row: AuditEventRow) -> Self {
        AuditEvent {
            id: row.id,
            actor_id: row.actor_id,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            at: row.at.and_utc(),
            detail: serde_json::from_str(&row.detail).unwrap_or(Value::Null),
        }
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub entity_id: Option<String>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub actor_id: Option<String>,
}

pub fn list(
    conn: &mut Conn,
    caller: &Caller,
    filter: &AuditFilter,
    page: &crate::db::query::Page,
) -> Result<Vec<AuditEventRow>, ApiError> {
    let mut query = audit_events::table.select(AuditEventRow::as_select()).into_boxed();
    if !caller.is_admin() {
        query = query.filter(audit_events::village_id.eq(caller.village_id.clone().unwrap_or_default()));
    }
    if let Some(entity_type) = &filter.entity_type {
        query = query.filter(audit_events::entity_type.eq(entity_type.clone()));
    }
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(entity_id.clone()));
    }
    if let Some(actor_id) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor_id.clone()));
    }
    Ok(paged!(query, audit_events, page, at).load(conn)?)
}

/// The latest events about any of `entity_ids` that the caller may read (admins all, auditors their village's),
/// newest first.
pub fn trail(
    conn: &mut Conn,
    caller: &Caller,
    entity_ids: &[String],
    limit: i64,
) -> Result<Vec<AuditEventRow>, ApiError> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let mut query = audit_events::table
        .select(AuditEventRow::as_select())
        .filter(audit_events::entity_id.eq_any(entity_ids.to_vec()))
        .into_boxed();
    if !caller.is_admin() {
        query = query.filter(audit_events::village_id.eq(caller.village_id.clone().unwrap_or_default()));
    }
    Ok(query
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit)
        .load(conn)?)
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events);
}

/// The audit log: admins all of it, auditors their village's.
#[utoipa::path(operation_id = "list_audit_events", tag = "audit", params(AuditFilter, PageQuery),
    responses((status = 200, body = Paginated<AuditEvent>), (status = 403, body = crate::error::Problem)),
    security(("bearer" = [])))]
#[get("/audit-events")]
pub async fn list_events(
    caller: Caller,
    state: actix_web::web::Data<crate::state::AppState>,
    filter: crate::http::query::Query<AuditFilter>,
    page: Page,
) -> Result<actix_web::HttpResponse, ApiError> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let page = state
        .db
        .read(move |conn| Ok(page.finish(list(conn, &caller, &filter, &page)?, |e| &e.id, AuditEvent::from)))
        .await?;
    Ok(actix_web::HttpResponse::Ok().json(page))
}
