//! Queries on appeals, re-rating requests and owners' replies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::Caller;
use crate::auth::scope::{scoped, scoped_first};
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{appeals, property_replies, rerating_requests};
use crate::error::{ApiError, ConflictOnDuplicate};
use crate::safety::appeals::model::*;

pub fn insert_appeal(conn: &mut Conn, row: &AppealRow) -> Result<(), ApiError> {
    diesel::insert_into(appeals::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| "This inspection already has an appeal waiting for a decision.".into())?;
    Ok(())
}

/// The status of the inspection's appeal, if it has one (an inspection is appealed once).
pub fn appeal_of(conn: &mut Conn, inspection_id: &str) -> Result<Option<AppealStatus>, ApiError> {
    Ok(appeals::table
        .filter(appeals::inspection_id.eq(inspection_id))
        .select(appeals::status)
        .order(appeals::created_at.desc())
        .first(conn)
        .optional()?)
}

/// An appeal on a property the caller may see.
pub fn find_appeal(conn: &mut Conn, caller: &Caller, id: &str) -> Result<AppealRow, ApiError> {
    Ok(scoped_first!(
        appeals::table
            .inner_join(properties::table)
            .filter(appeals::id.eq(id))
            .select(AppealRow::as_select()),
        caller,
        conn
    )?)
}

pub fn list_appeals(
    conn: &mut Conn,
    caller: &Caller,
    filter: &AppealFilter,
    page: &Page,
) -> Result<Vec<AppealRow>, ApiError> {
    let mut query = scoped!(
        appeals::table
            .inner_join(properties::table)
            .select(AppealRow::as_select())
            .into_boxed(),
        caller
    );
    if let Some(status) = filter.status {
        query = query.filter(appeals::status.eq(status));
    }
    if let Some(property_id) = &filter.property_id {
        query = query.filter(appeals::property_id.eq(property_id.clone()));
    }
    Ok(paged!(query, appeals, page).load(conn)?)
}

/// Records a decision on an open appeal at `version`; false when it was no longer open at that version.
pub fn decide_appeal(
    conn: &mut Conn,
    row: &AppealRow,
    status: AppealStatus,
    decided_by: &str,
    reason: Option<&str>,
    at: NaiveDateTime,
) -> Result<bool, ApiError> {
    let updated = diesel::update(
        appeals::table
            .find(&row.id)
            .filter(appeals::status.eq(AppealStatus::Open))
            .filter(appeals::version.eq(row.version)),
    )
    .set((
        appeals::status.eq(status),
        appeals::decided_by.eq(decided_by),
        appeals::decision_reason.eq(reason),
        appeals::decided_at.eq(at),
        appeals::updated_at.eq(at),
        appeals::version.eq(appeals::version + 1),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}

/// The property's upheld appeals still waiting for their new inspection are settled by `inspection_id`.
pub fn settle_upheld_appeals(
    conn: &mut Conn,
    property_id: &str,
    inspection_id: &str,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        appeals::table
            .filter(appeals::property_id.eq(property_id))
            .filter(appeals::status.eq(AppealStatus::Upheld))
            .filter(appeals::reinspected_by.is_null())
            .filter(appeals::inspection_id.ne(inspection_id)),
    )
    .set((
        appeals::reinspected_by.eq(inspection_id),
        appeals::updated_at.eq(at),
        appeals::version.eq(appeals::version + 1),
    ))
    .execute(conn)?)
}

pub fn insert_rerating(conn: &mut Conn, row: &ReratingRow) -> Result<(), ApiError> {
    diesel::insert_into(rerating_requests::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| "The property already has an open re-rating request.".into())?;
    Ok(())
}

/// The property's open re-rating request, if any.
pub fn open_rerating(conn: &mut Conn, property_id: &str) -> Result<Option<ReratingRow>, ApiError> {
    Ok(rerating_requests::table
        .filter(rerating_requests::property_id.eq(property_id))
        .filter(rerating_requests::status.eq(ReratingStatus::Open))
        .select(ReratingRow::as_select())
        .first(conn)
        .optional()?)
}

/// The property's re-rating requests, oldest first.
pub fn list_reratings(conn: &mut Conn, property_id: &str, page: &Page) -> Result<Vec<ReratingRow>, ApiError> {
    let query = rerating_requests::table
        .filter(rerating_requests::property_id.eq(property_id))
        .select(ReratingRow::as_select())
        .into_boxed();
    Ok(paged!(query, rerating_requests, page, created_at).load(conn)?)
}

/// Closes the property's open re-rating request with the inspection that answers it; how many were closed.
pub fn close_reratings(
    conn: &mut Conn,
    property_id: &str,
    inspection_id: &str,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    Ok(diesel::update(
        rerating_requests::table
            .filter(rerating_requests::property_id.eq(property_id))
            .filter(rerating_requests::status.eq(ReratingStatus::Open)),
    )
    .set((
        rerating_requests::status.eq(ReratingStatus::Closed),
        rerating_requests::closed_by_inspection_id.eq(inspection_id),
        rerating_requests::closed_at.eq(at),
    ))
    .execute(conn)?)
}

/// The owner's reply on a property, if any.
pub fn find_reply(conn: &mut Conn, property_id: &str) -> Result<Option<ReplyRow>, ApiError> {
    Ok(property_replies::table
        .find(property_id)
        .select(ReplyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the owner's reply, replacing any earlier one.
pub fn put_reply(conn: &mut Conn, row: &ReplyRow) -> Result<(), ApiError> {
    let updated = diesel::update(property_replies::table.find(&row.property_id))
        .set((
            property_replies::text.eq(&row.text),
            property_replies::author_id.eq(&row.author_id),
            property_replies::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(property_replies::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Removes the owner's reply; whether there was one.
pub fn delete_reply(conn: &mut Conn, property_id: &str) -> Result<bool, ApiError> {
    Ok(diesel::delete(property_replies::table.find(property_id)).execute(conn)? > 0)
}
