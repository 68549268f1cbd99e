//! Inspections, rectification orders and exit: the rules between HTTP and the queries. Each function
//! runs inside one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::accounts::repo as accounts_repo;
use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::auth::Role;
use crate::db::Conn;
use crate::error::{ApiError, FieldError};
use crate::http::etag::IfMatch;
use crate::ids::{new_id, now, today};
use crate::notices::model::NoticeKind;
use crate::notices::outbox::{self, NewNotice};
use crate::rating::{self, ItemResult, Outcome, RatingRules, Severity};
use crate::registry::model::{PropertyKind, PropertyRow, PropertyStatus};
use crate::registry::repo as registry_repo;
use crate::registry::service as registry_service;
use crate::safety::model::*;
use crate::safety::repo;

/// The checklist item that the register itself can contradict: the per-person area rule.
const AREA_RULE_ITEM: &str = "OCC-01";

pub fn checklist(conn: &mut Conn, rules: &RatingRules) -> Result<Checklist, ApiError> {
    let (version, rows) = repo::current_checklist(conn)?;
    let items = rows
        .into_iter()
        .map(ChecklistItem::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Checklist {
        version,
        items,
        rules: rules.clone(),
    })
}

/// The inspection form of a property in the caller's scope: the items that apply to its kind, in checklist order,
/// and the owner's training on `today`.
pub fn inspection_form(
    conn: &mut Conn,
    caller: &Caller,
    property_id: &str,
    today: NaiveDate,
) -> Result<InspectionForm, ApiError> {
    let property = registry_repo::find_property(conn, caller, property_id)?;
    let (version, rows) = repo::current_checklist(conn)?;
    let items = rows
        .into_iter()
        .filter(|i| i.applies(property.kind, property.mixed_use_residence))
        .map(ChecklistItem::try_from)
        .collect::<Result<_, _>>()?;
    Ok(InspectionForm {
        property_id: property.id,
        checklist_version: version,
        items,
        training_item: crate::accounts::training::model::TRAINING_ITEM.to_owned(),
        owner_training: crate::accounts::training::repo::owner_training(conn, &property.owner_id, today)?,
    })
}

/// The status a property's rating and orders give it, `today`. `expired` is derived when read.
pub fn derive_status(property: &PropertyRow, pending: &[RectificationRow], today: NaiveDate) -> PropertyStatus {
    let pending_critical: Vec<&RectificationRow> =
        pending.iter().filter(|r| r.severity == Severity::Critical).collect();
    if property.status == PropertyStatus::Delisted {
        PropertyStatus::Delisted
    } else if pending_critical.iter().any(|r| r.due_on < today) {
        PropertyStatus::Suspended
    } else if property.stars == Some(0) || !pending_critical.is_empty() {
        PropertyStatus::Rectification
    } else if property.stars.is_none() {
        PropertyStatus::Registered
    } else {
        PropertyStatus::Rated
    }
}

/// Recomputes and stores a property's status from its rating and pending orders.
pub fn refresh_status(conn: &mut Conn, property_id: &str) -> Result<PropertyStatus, ApiError> {
    let property = registry_repo::find_property_unscoped(conn, property_id)?;
    let pending = repo::pending_rectifications(conn, property_id)?;
    let status = derive_status(&property, &pending, today());
    repo::set_property_status(conn, property_id, status.as_str(), now())?;
    Ok(status)
}

/// Checks that every applicable item has exactly one result, and no other item has one.
fn check_results(
    input: &CreateInspection,
    applicable: &[ChecklistItemRow],
    all_codes: &HashSet<&str>,
    register_overcrowded: bool,
) -> Vec<FieldError> {
    let applicable_codes: HashSet<&str> = applicable.iter().map(|i| i.code.as_str()).collect();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (index, result) in input.results.iter().enumerate() {
        let code = result.item_code.as_str();
        let field = format!("results[{index}].item_code");
        if !all_codes.contains(code) {
            errors.push(FieldError::new(field, "unknown", "is not on the checklist"));
        } else if !applicable_codes.contains(code) {
            errors.push(FieldError::new(
                field,
                "not_applicable",
                "does not apply to this property",
            ));
        } else if !seen.insert(code) {
            errors.push(FieldError::new(
                field,
                "duplicate",
                "has more than one result for this item",
            ));
        } else if code == AREA_RULE_ITEM && result.outcome != Outcome::Fail && register_overcrowded {
            errors.push(FieldError::new(
                format!("results[{index}].outcome"),
                "contradicts_register",
                "the register shows an overcrowded unit, so the per-person area rule is not met",
            ));
        }
    }
    for item in applicable {
        if !seen.contains(item.code.as_str()) {
            errors.push(FieldError::new(
                format!("results.{}", item.code),
                "missing",
                format!("{} needs a result", item.code),
            ));
        }
    }
    errors
}

pub fn record_inspection(
    conn: &mut Conn,
    caller: &Caller,
    rules: &RatingRules,
    property_id: &str,
    input: CreateInspection,
) -> Result<Inspection, ApiError> {
    let property = registry_repo::find_property(conn, caller, property_id)?;
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    let (version, items) = repo::current_checklist(conn)?;
    let kind: PropertyKind = property.kind;
    let applicable: Vec<ChecklistItemRow> = items
        .iter()
        .filter(|i| i.applies(kind, property.mixed_use_residence))
        .cloned()
        .collect();
    let all_codes: HashSet<&str> = items.iter().map(|i| i.code.as_str()).collect();
    let overcrowded = registry_repo::count_overcrowded_units(conn, &property.id)? > 0;
    let errors = check_results(&input, &applicable, &all_codes, overcrowded);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let results = item_results(&input, &applicable)?;
    let at = now();
    let (inspection, result_rows) = inspection_rows(rules, caller, &property.id, version, &input, &results, at);
    repo::insert_inspection(conn, &inspection, &result_rows)?;
    let latest = settle_earlier_orders(conn, &property.id, &input, at)?;
    let orders = new_orders(rules, &inspection, &results, at);
    repo::insert_rectifications(conn, &orders)?;
    if latest {
        repo::set_property_rating(
            conn,
            &property.id,
            inspection.score,
            inspection.stars,
            inspection.valid_until,
            at,
        )?;
    }
    crate::safety::appeals::service::settle_after_inspection(conn, &property.id, &inspection.id, at)?;
    let status = refresh_status(conn, &property.id)?;
    let change = if latest {
        crate::safety::appeals::service::rating_change(property.stars, inspection.stars)
    } else {
        None
    };
    announce_inspection(conn, caller, &property, &inspection, &orders, &items, (status, change))?;
    inspection_view(inspection, result_rows, orders)
}

/// The results as the rating engine reads them (the checks above made every code applicable).
fn item_results<'i>(
    input: &'i CreateInspection,
    applicable: &[ChecklistItemRow],
) -> Result<Vec<ItemResult<'i>>, ApiError> {
    let by_code: HashMap<&str, &ChecklistItemRow> = applicable.iter().map(|i| (i.code.as_str(), i)).collect();
    let severities: HashMap<&str, Severity> = applicable.iter().map(|i| (i.code.as_str(), i.severity)).collect();
    Ok(input
        .results
        .iter()
        .map(|r| ItemResult {
            code: &r.item_code,
            severity: severities[r.item_code.as_str()],
            weight: by_code[r.item_code.as_str()].weight.max(0) as u32,
            outcome: r.outcome,
        })
        .collect())
}

/// The rating the results marked so far would earn, recording nothing: the inspection form's preview. Every
/// result must be of an `applicable` item.
pub fn preview(
    rules: &RatingRules,
    applicable: &[ChecklistItemRow],
    input: &CreateInspection,
) -> Result<rating::Rating, ApiError> {
    let results = item_results(input, applicable)?;
    Ok(rating::rate(rules, &results, input.inspected_on))
}

/// The inspection's row, rated, and one row per result.
fn inspection_rows(
    rules: &RatingRules,
    caller: &Caller,
    property_id: &str,
    checklist_version: i32,
    input: &CreateInspection,
    results: &[ItemResult<'_>],
    at: NaiveDateTime,
) -> (InspectionRow, Vec<ResultRow>) {
    let rating = rating::rate(rules, results, input.inspected_on);
    let next_star = rating::next_star(rules, results, input.inspected_on).map(|n| NextStarView {
        stars: i32::from(n.stars),
        fix_items: n.fix_items,
    });
    let inspection = InspectionRow {
        id: new_id(),
        property_id: property_id.to_owned(),
        inspector_id: caller.user_id.clone(),
        checklist_version,
        inspected_on: input.inspected_on,
        score: i32::from(rating.score),
        stars: i32::from(rating.stars),
        valid_until: rating.valid_until,
        summary: input.summary.clone(),
        next_star: next_star.as_ref().map(|n| json!(n).to_string()),
        created_at: at,
    };
    let result_rows = input
        .results
        .iter()
        .enumerate()
        .map(|(index, r)| ResultRow {
            inspection_id: inspection.id.clone(),
            item_code: r.item_code.clone(),
            position: index as i32,
            outcome: r.outcome,
            note: r.note.clone(),
        })
        .collect();
    (inspection, result_rows)
}

/// The latest inspection settles the earlier orders for the items it looked at: a failed item gets a new
/// order that supersedes the old one; an item no longer failing has its order resolved. An inspection
/// entered late, dated before another, leaves the newer state alone. True when this one is the latest.
fn settle_earlier_orders(
    conn: &mut Conn,
    property_id: &str,
    input: &CreateInspection,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    if repo::has_later_inspection(conn, property_id, input.inspected_on)? {
        return Ok(false);
    }
    let outcomes: HashMap<&str, Outcome> = input
        .results
        .iter()
        .map(|r| (r.item_code.as_str(), r.outcome))
        .collect();
    for earlier in repo::pending_rectifications(conn, property_id)? {
        let (status, note) = match outcomes.get(earlier.item_code.as_str()) {
            Some(Outcome::Fail) => (RectificationStatus::Superseded, None),
            Some(outcome) => (
                RectificationStatus::Resolved,
                Some(format!(
                    "recorded as {outcome} at the inspection of {}",
                    input.inspected_on
                )),
            ),
            None => continue,
        };
        repo::set_rectification_status(conn, &earlier.id, status, None, note.as_deref(), at)?;
    }
    Ok(true)
}

/// An open order, due by the rules' deadline for its severity, for every failed item.
fn new_orders(
    rules: &RatingRules,
    inspection: &InspectionRow,
    results: &[ItemResult<'_>],
    at: NaiveDateTime,
) -> Vec<RectificationRow> {
    results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| RectificationRow {
            id: new_id(),
            property_id: inspection.property_id.clone(),
            inspection_id: inspection.id.clone(),
            item_code: r.code.to_owned(),
            severity: r.severity,
            due_on: rating::due_on(rules, r.severity, inspection.inspected_on),
            status: RectificationStatus::Open,
            report_note: None,
            verify_note: None,
            created_at: at,
            updated_at: at,
            version: 1,
        })
        .collect()
}

/// Tells the owner the result (with the orders to carry out) and writes the audit event.
fn announce_inspection(
    conn: &mut Conn,
    caller: &Caller,
    property: &PropertyRow,
    inspection: &InspectionRow,
    orders: &[RectificationRow],
    items: &[ChecklistItemRow],
    (status, change): (PropertyStatus, Option<&str>),
) -> Result<(), ApiError> {
    let owner = accounts_repo::find(conn, &property.owner_id)?;
    let order_refs: Vec<&RectificationRow> = orders.iter().collect();
    let titles = items
        .iter()
        .map(|i| (i.code.clone(), (i.title_zh.clone(), i.title_en.clone())))
        .collect();
    outbox::queue(
        conn,
        NewNotice {
            kind: NoticeKind::InspectionResult,
            recipient: (&owner).into(),
            property: Some(property.into()),
            context: json!({"inspected_on": inspection.inspected_on, "score": inspection.score, "stars": inspection.stars,
                            "valid_until": inspection.valid_until, "previous_stars": property.stars, "change": change,
                            "items": crate::safety::notices::describe_orders(&order_refs, &titles)}),
            dedupe_key: None,
        },
    )?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "inspection.recorded",
            entity_type: "property",
            entity_id: &property.id,
            village_id: Some(&property.village_id),
            detail: json!({"inspection_id": inspection.id, "score": inspection.score, "stars": inspection.stars,
                           "orders": orders.len(), "status": status}),
        },
    )?;
    Ok(())
}

/// An inspection as answered, from its rows.
pub fn inspection_view(
    row: InspectionRow,
    results: Vec<ResultRow>,
    orders: Vec<RectificationRow>,
) -> Result<Inspection, ApiError> {
    let results: Vec<ItemResultView> = results
        .into_iter()
        .map(|r| {
            Ok(ItemResultView {
                outcome: r.outcome,
                item_code: r.item_code,
                note: r.note,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let failed_items = results
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.item_code.clone())
        .collect();
    let next_star = match &row.next_star {
        Some(text) => Some(serde_json::from_str(text).map_err(ApiError::internal)?),
        None => None,
    };
    Ok(Inspection {
        id: row.id,
        property_id: row.property_id,
        inspector_id: row.inspector_id,
        checklist_version: row.checklist_version,
        inspected_on: row.inspected_on,
        score: row.score,
        stars: row.stars,
        valid_until: row.valid_until,
        summary: row.summary,
        failed_items,
        results,
        rectifications: orders
            .into_iter()
            .map(Rectification::try_from)
            .collect::<Result<_, _>>()?,
        next_star,
        created_at: row.created_at.and_utc(),
    })
}

/// Inspections as answered, with their results and orders loaded in two queries.
pub fn inspection_views(conn: &mut Conn, rows: Vec<InspectionRow>) -> Result<Vec<Inspection>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut results: HashMap<String, Vec<ResultRow>> = HashMap::new();
    for r in repo::results_of(conn, &ids)? {
        results.entry(r.inspection_id.clone()).or_default().push(r);
    }
    let mut orders: HashMap<String, Vec<RectificationRow>> = HashMap::new();
    for o in repo::rectifications_of_inspections(conn, &ids)? {
        orders.entry(o.inspection_id.clone()).or_default().push(o);
    }
    rows.into_iter()
        .map(|row| {
            let r = results.remove(&row.id).unwrap_or_default();
            let o = orders.remove(&row.id).unwrap_or_default();
            inspection_view(row, r, o)
        })
        .collect()
}

/// The owner says an order is done.
pub fn report_fix(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    note: &str,
) -> Result<RectificationRow, ApiError> {
    let (order, owner_id, village_id) = repo::find_rectification(conn, caller, id)?;
    if !(caller.role == Role::Landlord && caller.user_id == owner_id) {
        return Err(ApiError::Forbidden("Only the property's owner reports a fix.".into()));
    }
    registry_service::require_membership(conn, caller, registry_service::KEEPS_RECORDS)?;
    if_match.check(order.version)?;
    let status: RectificationStatus = order.status;
    if !matches!(status, RectificationStatus::Open | RectificationStatus::Overdue) {
        return Err(ApiError::Conflict(format!(
            "A {status} order cannot be reported fixed."
        )));
    }
    let at = now();
    repo::set_rectification_status(conn, &order.id, RectificationStatus::Reported, Some(note), None, at)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "rectification.reported",
            entity_type: "rectification",
            entity_id: &order.id,
            village_id: Some(&village_id),
            detail: json!({"note": note}),
        },
    )?;
    repo::find_rectification(conn, caller, id).map(|(row, _, _)| row)
}

/// An inspector checks a fix: resolved, or back to open with the note.
pub fn verify_fix(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    resolved: bool,
    note: &str,
) -> Result<RectificationRow, ApiError> {
    let (order, _, village_id) = repo::find_rectification(conn, caller, id)?;
    caller.require(&[Role::Inspector, Role::Auditor, Role::Admin])?;
    if_match.check(order.version)?;
    let status: RectificationStatus = order.status;
    if !matches!(
        status,
        RectificationStatus::Open | RectificationStatus::Reported | RectificationStatus::Overdue
    ) {
        return Err(ApiError::Conflict(format!("A {status} order cannot be verified.")));
    }
    let to = if resolved {
        RectificationStatus::Resolved
    } else if order.due_on < today() {
        RectificationStatus::Overdue
    } else {
        RectificationStatus::Open
    };
    repo::set_rectification_status(conn, &order.id, to, None, Some(note), now())?;
    let property_status = refresh_status(conn, &order.property_id)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "rectification.verified",
            entity_type: "rectification",
            entity_id: &order.id,
            village_id: Some(&village_id),
            detail: json!({"resolved": resolved, "status": to, "property_status": property_status, "note": note}),
        },
    )?;
    repo::find_rectification(conn, caller, id).map(|(row, _, _)| row)
}

/// Delists a property that will not be made safe (auditors of its village, admins).
pub fn delist(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    reason: &str,
) -> Result<PropertyRow, ApiError> {
    let property = registry_repo::find_property(conn, caller, id)?;
    caller.require(&[Role::Auditor, Role::Admin])?;
    if_match.check(property.version)?;
    if property.status == PropertyStatus::Delisted {
        return Err(ApiError::Conflict("The property is already delisted.".into()));
    }
    repo::set_property_status(conn, &property.id, PropertyStatus::Delisted.as_str(), now())?;
    let owner = accounts_repo::find(conn, &property.owner_id)?;
    outbox::queue(
        conn,
        NewNotice {
            kind: NoticeKind::PropertyDelisted,
            recipient: (&owner).into(),
            property: Some((&property).into()),
            context: json!({"reason": reason}),
            dedupe_key: None,
        },
    )?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "property.delisted",
            entity_type: "property",
            entity_id: &property.id,
            village_id: Some(&property.village_id),
            detail: json!({"reason": reason, "from": property.status}),
        },
    )?;
    registry_repo::find_property_unscoped(conn, &property.id)
}

/// Lifts a delisting; the status returns to what the rating and orders say.
pub fn reinstate(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    reason: &str,
) -> Result<PropertyRow, ApiError> {
    let mut property = registry_repo::find_property(conn, caller, id)?;
    caller.require(&[Role::Auditor, Role::Admin])?;
    if_match.check(property.version)?;
    if property.status != PropertyStatus::Delisted {
        return Err(ApiError::Conflict("Only a delisted property can be reinstated.".into()));
    }
    property.status = PropertyStatus::Registered;
    let pending = repo::pending_rectifications(conn, &property.id)?;
    let status = derive_status(&property, &pending, today());
    repo::set_property_status(conn, &property.id, status.as_str(), now())?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "property.reinstated",
            entity_type: "property",
            entity_id: &property.id,
            village_id: Some(&property.village_id),
            detail: json!({"reason": reason, "to": status}),
        },
    )?;
    registry_repo::find_property_unscoped(conn, &property.id)
}
