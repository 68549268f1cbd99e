//! The notices the register queues when a declaration comes late or a unit is overcrowded (also queued
//! again by the daily sweep, `compliance`).

use chrono::{Datelike, NaiveDate};
use serde_json::json;

use crate::accounts::model::UserRow;
use crate::config::Settings;
use crate::db::Conn;
use crate::error::ApiError;
use crate::notices::model::NoticeKind;
use crate::notices::outbox::{self, NewNotice};
use crate::registry::model::{PropertyRow, UnitRow};

/// Queues the overcrowding notice for a unit, once per unit per ISO week.
pub fn queue_overcrowding(
    conn: &mut Conn,
    owner: &UserRow,
    property: &PropertyRow,
    unit: &UnitRow,
    today: NaiveDate,
) -> Result<bool, ApiError> {
    outbox::queue_unless_queued(
        conn,
        NewNotice {
            kind: NoticeKind::Overcrowding,
            recipient: owner.into(),
            property: Some(property.into()),
            context: json!({"unit_label": unit.label, "area_m2": unit.area_m2, "active_tenants": unit.active_tenants,
                            "max_occupants": unit.max_occupants}),
            dedupe_key: Some(overcrowding_key(&unit.id, today)),
        },
    )
}

/// Whether the unit's overcrowding notice of the week of `today` is queued (or was sent).
pub fn overcrowding_noticed(conn: &mut Conn, unit_id: &str, today: NaiveDate) -> Result<bool, ApiError> {
    crate::notices::repo::has_dedupe_key(conn, &overcrowding_key(unit_id, today))
}

/// The dedupe key of a unit's overcrowding notice: one a week.
fn overcrowding_key(unit_id: &str, today: NaiveDate) -> String {
    let week = today.iso_week();
    format!("overcrowding:{unit_id}:{}-W{:02}", week.year(), week.week())
}

/// Queues the late-declaration notice for a tenancy, once.
#[allow(clippy::too_many_arguments)]
pub fn queue_declaration_late(
    conn: &mut Conn,
    settings: &Settings,
    owner: &UserRow,
    property: &PropertyRow,
    tenancy_id: &str,
    unit_label: &str,
    tenant_name: &str,
    move_in_date: NaiveDate,
    declared_on: NaiveDate,
) -> Result<bool, ApiError> {
    outbox::queue(
        conn,
        NewNotice {
            kind: NoticeKind::DeclarationLate,
            recipient: owner.into(),
            property: Some(property.into()),
            context: json!({"unit_label": unit_label, "tenant_name": tenant_name, "move_in_date": move_in_date,
                            "declared_on": declared_on, "deadline_days": settings.declaration_deadline_days}),
            dedupe_key: Some(declaration_late_key(tenancy_id)),
        },
    )
}

/// The dedupe key of a tenancy's late-declaration notice, by which the purge also finds it.
pub fn declaration_late_key(tenancy_id: &str) -> String {
    format!("declaration_late:{tenancy_id}")
}
