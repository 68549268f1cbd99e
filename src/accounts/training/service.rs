//! The rules of training records: admins and inspectors of the village record sessions and who attended (landlords
//! of the session's village, each once); every attendance counts until the session's date plus the validity in
//! force. A change and its audit event go in one transaction.

use std::collections::HashSet;

use chrono::{Months, NaiveDate};
use serde_json::json;

use crate::accounts::training::model::*;
use crate::accounts::training::repo;
use crate::audit::{self, Event};
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::error::{ApiError, FieldError};
use crate::http::etag::IfMatch;
use crate::ids::{new_id, now, today};

/// Until when attending a session held on `held_on` counts, with a validity of `months`.
pub fn valid_until(held_on: NaiveDate, months: u32) -> Result<NaiveDate, ApiError> {
    held_on
        .checked_add_months(Months::new(months))
        .ok_or_else(|| ApiError::invalid("held_on", "range", "the training's validity runs past the calendar"))
}

/// Records a session (and its attendees, if named) in the caller's transaction.
pub fn create(
    conn: &mut Conn,
    caller: &Caller,
    input: CreateSession,
    months: u32,
) -> Result<TrainingSession, ApiError> {
    caller.require(&[Role::Inspector, Role::Admin])?;
    if !caller.covers_village(&input.village_id) {
        return Err(ApiError::NotFound);
    }
    crate::villages::repo::require_exists(conn, &input.village_id, "village_id")?;
    let mut errors = Vec::new();
    if input.held_on > today() {
        errors.push(FieldError::new(
            "held_on",
            "future",
            "a session cannot be dated in the future",
        ));
    }
    errors.extend(attendee_refusals(conn, &input.village_id, &input.landlord_ids)?);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let at = now();
    let row = SessionRow {
        id: new_id(),
        village_id: input.village_id,
        title: input.title,
        held_on: input.held_on,
        trainer: input.trainer,
        recorded_by: caller.user_id.clone(),
        created_at: at,
        updated_at: at,
        version: 1,
    };
    repo::insert_session(conn, &row)?;
    let attendances = attendances(&row, input.landlord_ids, months)?;
    repo::replace_attendances(conn, &row.id, &attendances)?;
    audited(conn, caller, "training.recorded", &row, attendances.len())?;
    Ok(TrainingSession::from_rows(row, attendances))
}

/// Replaces who attended the session `id` (404 outside the caller's village; 422 for a list naming anyone but
/// the village's landlords, once; then 412 on a stale `If-Match`).
pub fn set_attendees(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    input: SetAttendees,
    months: u32,
) -> Result<TrainingSession, ApiError> {
    caller.require(&[Role::Inspector, Role::Admin, Role::Auditor])?;
    let row = repo::find_visible(conn, caller, id)?;
    caller.require(&[Role::Inspector, Role::Admin])?;
    // The list itself first: a list that could never be stored is 422 whatever the version (a fuzzer's malformed
    // ids with a malformed If-Match were answered 412, as if only the version were wrong).
    let errors = attendee_refusals(conn, &row.village_id, &input.landlord_ids)?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if_match.check(row.version)?;
    let attendances = attendances(&row, input.landlord_ids, months)?;
    repo::replace_attendances(conn, &row.id, &attendances)?;
    let row = repo::touch_session(conn, &row.id, now())?;
    audited(conn, caller, "training.attendees_set", &row, attendances.len())?;
    Ok(TrainingSession::from_rows(row, attendances))
}

fn attendances(row: &SessionRow, landlord_ids: Vec<String>, months: u32) -> Result<Vec<AttendanceRow>, ApiError> {
    let valid_until = valid_until(row.held_on, months)?;
    Ok(landlord_ids
        .into_iter()
        .map(|landlord_id| AttendanceRow {
            session_id: row.id.clone(),
            landlord_id,
            valid_until,
        })
        .collect())
}

fn audited(conn: &mut Conn, caller: &Caller, action: &str, row: &SessionRow, attendees: usize) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(caller),
        Event {
            action,
            entity_type: "training_session",
            entity_id: &row.id,
            village_id: Some(&row.village_id),
            detail: json!({"held_on": row.held_on, "attendees": attendees}),
        },
    )
}

/// Every attendee refused, each named by position: not a landlord of the village (another village's, a staff
/// member, nobody: the same answer, so that the list tells nothing of other villages), or listed twice.
fn attendee_refusals(conn: &mut Conn, village_id: &str, landlord_ids: &[String]) -> Result<Vec<FieldError>, ApiError> {
    let ids: Vec<&str> = landlord_ids.iter().map(String::as_str).collect();
    let known = repo::landlords_in_village(conn, village_id, &ids)?;
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if !known.contains(*id) {
            errors.push(FieldError::new(
                format!("landlord_ids[{i}]"),
                "unknown",
                "no landlord of the session's village has this id",
            ));
        } else if !seen.insert(*id) {
            errors.push(FieldError::new(
                format!("landlord_ids[{i}]"),
                "duplicate",
                "the landlord is already listed",
            ));
        }
    }
    Ok(errors)
}
