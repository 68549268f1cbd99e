//! What a property's page shows of its record, read in the caller's scope: the inspections with their failed
//! items, the rectification orders (with the forms the caller may use on them), and for auditors and admins the
//! audit trail of the property, its units, tenancies and orders.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::lists::rectification_words;
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::Page;
use crate::error::ApiError;
use crate::registry::model::PropertyRow;
use crate::safety::model::{RectificationFilter, RectificationStatus};
use crate::safety::{repo, service};

/// Inspections a page shows, newest first.
const INSPECTIONS: i64 = 20;
/// Audit events a page shows, newest first.
const EVENTS: i64 = 50;

/// The property's latest inspections, newest first, each with its failed items named.
fn inspections_of(conn: &mut Conn, property_id: &str, title: &dyn Fn(&str) -> Value) -> Result<Vec<Value>, ApiError> {
    let rows = repo::latest_inspections(conn, property_id, INSPECTIONS)?;
    Ok(service::inspection_views(conn, rows)?
        .into_iter()
        .map(|i| {
            let failed: Vec<Value> = i.failed_items.iter().map(|c| title(c)).collect();
            json!({"id": i.id, "inspected_on": i.inspected_on, "score": i.score, "stars": i.stars,
                   "valid_until": i.valid_until, "failed": failed})
        })
        .collect())
}

/// The property's record as the page shows it; `entity_ids` are its units' and tenancies' ids.
pub fn record_of(
    conn: &mut Conn,
    caller: &Caller,
    property: &PropertyRow,
    mut entity_ids: Vec<String>,
) -> Result<Value, ApiError> {
    let (_, checklist) = repo::current_checklist(conn)?;
    let titles: HashMap<String, (String, String)> = checklist
        .into_iter()
        .map(|i| (i.code, (i.title_zh, i.title_en)))
        .collect();
    let title = |code: &str| {
        let (zh, en) = titles.get(code).cloned().unwrap_or_default();
        json!({"code": code, "zh": zh, "en": en})
    };
    let inspections = inspections_of(conn, &property.id, &title)?;
    let filter = RectificationFilter {
        property_id: Some(property.id.clone()),
        status: None,
    };
    let page = Page {
        limit: 200,
        after: None,
        updated_since: None,
    };
    let orders = repo::list_rectifications(conn, caller, &filter, &page)?;
    let owner = caller.role == Role::Landlord && caller.user_id == property.owner_id;
    let verifier = caller.role != Role::Landlord;
    let rectifications: Vec<Value> = orders
        .iter()
        .map(|r| {
            let (zh, en) = rectification_words(r.status);
            let can_report = owner && matches!(r.status, RectificationStatus::Open | RectificationStatus::Overdue);
            let can_verify = verifier && r.status == RectificationStatus::Reported;
            json!({"id": r.id, "item": title(&r.item_code), "severity": r.severity, "due_on": r.due_on,
                   "status": {"value": r.status.as_str(), "zh": zh, "en": en}, "version": r.version,
                   "report_note": r.report_note, "verify_note": r.verify_note,
                   "can_report": can_report, "can_verify": can_verify})
        })
        .collect();
    let audit = if matches!(caller.role, Role::Admin | Role::Auditor) {
        entity_ids.push(property.id.clone());
        entity_ids.extend(orders.iter().map(|r| r.id.clone()));
        let events: Vec<Value> = crate::audit::trail(conn, caller, &entity_ids, EVENTS)?
            .into_iter()
            .map(|e| {
                json!({"at": e.at.format("%Y-%m-%d %H:%M").to_string(), "action": e.action,
                             "entity_type": e.entity_type})
            })
            .collect();
        Some(events)
    } else {
        None
    };
    Ok(json!({"inspections": inspections, "rectifications": rectifications, "audit": audit}))
}
