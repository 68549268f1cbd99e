//! The rules of a patrol: an inspector of the grid's village records the properties visited, each once,
//! with a note for every issue found; the record and its audit event go in one transaction.

use std::collections::HashSet;

use serde_json::json;

use crate::audit::{self, Event};
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::error::{ApiError, FieldError};
use crate::ids::{new_id, now, today};
use crate::patrols::model::*;
use crate::patrols::repo;

/// Records a patrol of `grid_id` by `caller`, inside the caller's transaction.
pub fn record(conn: &mut Conn, caller: &Caller, grid_id: &str, input: CreatePatrol) -> Result<Patrol, ApiError> {
    caller.require(&[Role::Inspector, Role::Admin])?;
    let village_id = repo::grid_village(conn, caller, grid_id)?;
    let ids: Vec<&str> = input.visits.iter().map(|v| v.property_id.as_str()).collect();
    let known = repo::properties_in_village(conn, &village_id, &ids)?;
    let errors = refusals(&input, &known);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = PatrolRow {
        id: new_id(),
        grid_id: grid_id.to_owned(),
        inspector_id: caller.user_id.clone(),
        patrolled_on: input.patrolled_on,
        created_at: now(),
    };
    let visits: Vec<VisitRow> = input
        .visits
        .into_iter()
        .enumerate()
        .map(|(i, v)| VisitRow {
            patrol_id: row.id.clone(),
            property_id: v.property_id,
            position: i as i32,
            finding: v.finding,
            note: v.note,
        })
        .collect();
    repo::insert(conn, &row, &visits)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "patrol.recorded",
            entity_type: "grid",
            entity_id: &row.grid_id,
            village_id: Some(&village_id),
            detail: json!({"patrol_id": row.id, "visits": visits.len(),
                           "issues": visits.iter().filter(|v| v.finding == Finding::Issue).count()}),
        },
    )?;
    Patrol::from_rows(row, visits)
}

/// Every reason to refuse the patrol, each naming its field: a date in the future, no visit, a property
/// not of the village or listed twice, an issue without a note.
fn refusals(input: &CreatePatrol, known: &HashSet<String>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if input.patrolled_on > today() {
        errors.push(FieldError::new(
            "patrolled_on",
            "future",
            "a patrol cannot be dated in the future",
        ));
    }
    if input.visits.is_empty() {
        errors.push(FieldError::new(
            "visits",
            "required",
            "name at least one property visited",
        ));
    }
    let mut seen = HashSet::new();
    for (i, visit) in input.visits.iter().enumerate() {
        if !known.contains(&visit.property_id) {
            errors.push(FieldError::new(
                format!("visits[{i}].property_id"),
                "unknown",
                "no property of this village has this id",
            ));
        } else if !seen.insert(visit.property_id.as_str()) {
            errors.push(FieldError::new(
                format!("visits[{i}].property_id"),
                "duplicate",
                "the property is already listed",
            ));
        }
        if visit.finding == Finding::Issue && visit.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
            errors.push(FieldError::new(
                format!("visits[{i}].note"),
                "required",
                "say what the issue is",
            ));
        }
    }
    errors
}
