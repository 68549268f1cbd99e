//! The queries of the purge: what is due, and erasing it in the tenancy, its notices and its audit events.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use crate::db::Conn;
use crate::db::schema::{audit_events, notices, properties, tenancies};
use crate::error::ApiError;

/// A tenancy whose personal data is due for erasure.
#[derive(Debug, Queryable)]
pub struct Due {
    pub id: String,
    pub village_id: String,
    pub birth_date: Option<NaiveDate>,
}

/// Up to `limit` tenancies that ended before `cutoff` and still hold personal data, the longest ended first.
pub fn due(conn: &mut Conn, cutoff: NaiveDate, limit: i64) -> Result<Vec<Due>, ApiError> {
    Ok(tenancies::table
        .inner_join(properties::table)
        .filter(tenancies::move_out_date.lt(cutoff))
        .filter(tenancies::erased_at.is_null())
        .order((tenancies::move_out_date, tenancies::id))
        .limit(limit)
        .select((tenancies::id, properties::village_id, tenancies::birth_date))
        .load(conn)?)
}

/// How many tenancies each village has that ended before `cutoff` and still hold personal data.
pub fn due_by_village(conn: &mut Conn, cutoff: NaiveDate) -> Result<Vec<(String, i64)>, ApiError> {
    Ok(tenancies::table
        .inner_join(properties::table)
        .filter(tenancies::move_out_date.lt(cutoff))
        .filter(tenancies::erased_at.is_null())
        .group_by(properties::village_id)
        .order(properties::village_id)
        .select((properties::village_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Erases the personal data of the tenancies `ids`, which share `birth_date` (already cut to its year):
/// name, identity number and its look-up hash, phone and employer. Returns how many rows changed.
pub fn erase_tenancies(
    conn: &mut Conn,
    ids: &[&str],
    birth_date: Option<NaiveDate>,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        tenancies::table
            .filter(tenancies::id.eq_any(ids))
            .filter(tenancies::erased_at.is_null()),
    )
    .set((
        tenancies::full_name.eq(""),
        tenancies::id_number_encrypted.eq(""),
        tenancies::id_lookup.eq(""),
        tenancies::id_number_masked.eq(""),
        tenancies::phone_encrypted.eq(None::<String>),
        tenancies::phone_masked.eq(None::<String>),
        tenancies::employer.eq(None::<String>),
        tenancies::birth_date.eq(birth_date),
        tenancies::erased_at.eq(Some(at)),
        tenancies::updated_at.eq(at),
        tenancies::version.eq(tenancies::version + 1),
    ))
    .execute(conn)?)
}

/// Replaces the bodies of the notices with these dedupe keys (they named the tenant); returns how many.
pub fn erase_notice_bodies(conn: &mut Conn, keys: &[String], text: &str, html: &str) -> Result<usize, ApiError> {
    Ok(diesel::update(notices::table.filter(notices::dedupe_key.eq_any(keys)))
        .set((notices::body_text.eq(text), notices::body_html.eq(html)))
        .execute(conn)?)
}

/// The audit events about these tenancies whose detail holds `key`: (event id, detail).
pub fn audit_details_with(conn: &mut Conn, tenancy_ids: &[&str], key: &str) -> Result<Vec<(String, String)>, ApiError> {
    let pattern = format!("%\"{key}\"%");
    Ok(audit_events::table
        .filter(audit_events::entity_type.eq("tenancy"))
        .filter(audit_events::entity_id.eq_any(tenancy_ids))
        .filter(audit_events::detail.like(pattern))
        .select((audit_events::id, audit_events::detail))
        .load(conn)?)
}

/// Rewrites one audit event's detail.
pub fn set_audit_detail(conn: &mut Conn, id: &str, detail: &Value) -> Result<(), ApiError> {
    diesel::update(audit_events::table.find(id))
        .set(audit_events::detail.eq(detail.to_string()))
        .execute(conn)?;
    Ok(())
}
