//! The audit-event writer. Called inside the same transaction as the change it records, so an event
//! exists exactly when its change does.

use diesel::prelude::*;
use serde_json::Value;

use crate::db::Conn;
use crate::db::schema::audit_events;
use crate::error::ApiError;
use crate::http::auth::Caller;

/// What happened, to what, and where.
pub struct Event<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub village_id: Option<&'a str>,
    pub detail: Value,
}

/// Records `event` as done by `actor` (none for the public or the system).
pub fn record(conn: &mut Conn, actor: Option<&Caller>, event: Event<'_>) -> Result<(), ApiError> {
    record_by(conn, actor.map(|c| c.user_id.as_str()), event)
}

pub fn record_by(
    conn: &mut Conn,
    actor_id: Option<&str>,
    event: Event<'_>,
) -> Result<(), ApiError> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(crate::ids::new_id()),
            audit_events::actor_id.eq(actor_id),
            audit_events::action.eq(event.action),
            audit_events::entity_type.eq(event.entity_type),
            audit_events::entity_id.eq(event.entity_id),
            audit_events::village_id.eq(event.village_id),
            audit_events::at.eq(crate::ids::now()),
            audit_events::detail.eq(event.detail.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}
