//! Queries on the checklist, inspections and rectification orders.

use crate::registry::model::PropertyStatus;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::auth::scope::{scoped, scoped_first};
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{
    checklist_items, checklist_versions, inspection_results, inspections, properties, rectifications,
};
use crate::error::ApiError;
use crate::safety::model::*;

/// The newest checklist version and its items in order.
pub fn current_checklist(conn: &mut Conn) -> Result<(i32, Vec<ChecklistItemRow>), ApiError> {
    let version: i32 = checklist_versions::table
        .select(diesel::dsl::max(checklist_versions::version))
        .first::<Option<i32>>(conn)?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no checklist is seeded")))?;
    let items = checklist_items::table
        .filter(checklist_items::version.eq(version))
        .order(checklist_items::position.asc())
        .select(ChecklistItemRow::as_select())
        .load(conn)?;
    Ok((version, items))
}

pub fn insert_inspection(conn: &mut Conn, row: &InspectionRow, results: &[ResultRow]) -> Result<(), ApiError> {
    diesel::insert_into(inspections::table).values(row).execute(conn)?;
    crate::per_backend!(conn, |c| diesel::insert_into(inspection_results::table)
        .values(results)
        .execute(c))?;
    Ok(())
}

/// Whether the property has an inspection dated after `date`, which then stays the one it is rated by.
pub fn has_later_inspection(conn: &mut Conn, property_id: &str, date: NaiveDate) -> Result<bool, ApiError> {
    let later: i64 = inspections::table
        .filter(inspections::property_id.eq(property_id))
        .filter(inspections::inspected_on.gt(date))
        .count()
        .get_result(conn)?;
    Ok(later > 0)
}

/// An inspection of a property the caller may see.
pub fn find_inspection(conn: &mut Conn, caller: &Caller, id: &str) -> Result<InspectionRow, ApiError> {
    Ok(scoped_first!(
        inspections::table
            .inner_join(properties::table)
            .filter(inspections::id.eq(id))
            .select(InspectionRow::as_select()),
        caller,
        conn
    )?)
}

pub fn list_inspections(conn: &mut Conn, property_id: &str, page: &Page) -> Result<Vec<InspectionRow>, ApiError> {
    let query = inspections::table
        .filter(inspections::property_id.eq(property_id))
        .select(InspectionRow::as_select())
        .into_boxed();
    Ok(paged!(query, inspections, page, created_at).load(conn)?)
}

/// A property's latest `limit` inspections, the latest inspected first.
pub fn latest_inspections(conn: &mut Conn, property_id: &str, limit: i64) -> Result<Vec<InspectionRow>, ApiError> {
    Ok(inspections::table
        .filter(inspections::property_id.eq(property_id))
        .order((inspections::inspected_on.desc(), inspections::id.desc()))
        .limit(limit)
        .select(InspectionRow::as_select())
        .load(conn)?)
}

pub fn results_of(conn: &mut Conn, inspection_ids: &[&str]) -> Result<Vec<ResultRow>, ApiError> {
    Ok(inspection_results::table
        .filter(inspection_results::inspection_id.eq_any(inspection_ids))
        .order((
            inspection_results::inspection_id.asc(),
            inspection_results::position.asc(),
        ))
        .select(ResultRow::as_select())
        .load(conn)?)
}

pub fn rectifications_of_inspections(
    conn: &mut Conn,
    inspection_ids: &[&str],
) -> Result<Vec<RectificationRow>, ApiError> {
    Ok(rectifications::table
        .filter(rectifications::inspection_id.eq_any(inspection_ids))
        .order(rectifications::id.asc())
        .select(RectificationRow::as_select())
        .load(conn)?)
}

pub fn insert_rectifications(conn: &mut Conn, rows: &[RectificationRow]) -> Result<(), ApiError> {
    if !rows.is_empty() {
        crate::per_backend!(conn, |c| diesel::insert_into(rectifications::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// The property's orders still waiting to be fixed.
pub fn pending_rectifications(conn: &mut Conn, property_id: &str) -> Result<Vec<RectificationRow>, ApiError> {
    Ok(rectifications::table
        .filter(rectifications::property_id.eq(property_id))
        .filter(rectifications::status.eq_any(RectificationStatus::PENDING))
        .select(RectificationRow::as_select())
        .load(conn)?)
}

/// Moves an order to `status` with an optional note, bumping its version.
pub fn set_rectification_status(
    conn: &mut Conn,
    id: &str,
    status: RectificationStatus,
    report_note: Option<&str>,
    verify_note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let target = rectifications::table.find(id);
    diesel::update(target)
        .set((
            rectifications::status.eq(status),
            rectifications::updated_at.eq(now),
            rectifications::version.eq(rectifications::version + 1),
        ))
        .execute(conn)?;
    if let Some(note) = report_note {
        diesel::update(target)
            .set(rectifications::report_note.eq(note))
            .execute(conn)?;
    }
    if let Some(note) = verify_note {
        diesel::update(target)
            .set(rectifications::verify_note.eq(note))
            .execute(conn)?;
    }
    Ok(())
}

/// An order on a property the caller may see, with the property's owner and village.
pub fn find_rectification(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
) -> Result<(RectificationRow, String, String), ApiError> {
    Ok(scoped_first!(
        rectifications::table
            .inner_join(properties::table)
            .filter(rectifications::id.eq(id))
            .select((
                RectificationRow::as_select(),
                properties::owner_id,
                properties::village_id,
            )),
        caller,
        conn
    )?)
}

pub fn list_rectifications(
    conn: &mut Conn,
    caller: &Caller,
    filter: &RectificationFilter,
    page: &Page,
) -> Result<Vec<RectificationRow>, ApiError> {
    let mut query = scoped!(
        rectifications::table
            .inner_join(properties::table)
            .select(RectificationRow::as_select())
            .into_boxed(),
        caller
    );
    if let Some(property_id) = &filter.property_id {
        query = query.filter(rectifications::property_id.eq(property_id.clone()));
    }
    query = match filter.status {
        Some(status) => query.filter(rectifications::status.eq(status)),
        None => query.filter(rectifications::status.ne(RectificationStatus::Superseded)),
    };
    Ok(paged!(query, rectifications, page).load(conn)?)
}

/// For each of `property_ids` with orders still to carry out: how many, and the earliest due date.
pub fn next_due_by_property(
    conn: &mut Conn,
    property_ids: &[&str],
) -> Result<Vec<(String, i64, Option<NaiveDate>)>, ApiError> {
    Ok(rectifications::table
        .filter(rectifications::property_id.eq_any(property_ids))
        .filter(rectifications::status.eq_any(RectificationStatus::PENDING))
        .group_by(rectifications::property_id)
        .select((
            rectifications::property_id,
            diesel::dsl::count_star(),
            diesel::dsl::min(rectifications::due_on),
        ))
        .load(conn)?)
}

/// Orders for review, each with its property's registration code: overdue first, then by due date. `status`
/// none lists the pending ones (open, reported, overdue).
pub fn rectifications_for_review(
    conn: &mut Conn,
    caller: &Caller,
    status: Option<RectificationStatus>,
    limit: i64,
) -> Result<Vec<(RectificationRow, String)>, ApiError> {
    let mut query = scoped!(
        rectifications::table
            .inner_join(properties::table)
            .select((RectificationRow::as_select(), properties::registration_code))
            .into_boxed(),
        caller
    );
    query = match status {
        Some(status) => query.filter(rectifications::status.eq(status)),
        None => query.filter(rectifications::status.eq_any(RectificationStatus::PENDING)),
    };
    Ok(query
        .order((
            rectifications::status.eq(RectificationStatus::Overdue).desc(),
            rectifications::due_on.asc(),
            rectifications::id.asc(),
        ))
        .limit(limit)
        .load(conn)?)
}

/// Records the rating of a property's latest inspection.
pub fn set_property_rating(
    conn: &mut Conn,
    property_id: &str,
    score: i32,
    stars: i32,
    valid_until: Option<NaiveDate>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    diesel::update(properties::table.find(property_id))
        .set((
            properties::score.eq(score),
            properties::stars.eq(stars),
            properties::rating_valid_until.eq(valid_until),
            properties::updated_at.eq(now),
            properties::version.eq(properties::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a property's status if it changed.
pub fn set_property_status(
    conn: &mut Conn,
    property_id: &str,
    status: &str,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    let updated = diesel::update(
        properties::table
            .find(property_id)
            .filter(properties::status.ne(status)),
    )
    .set((
        properties::status.eq(status),
        properties::updated_at.eq(now),
        properties::version.eq(properties::version + 1),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}

/// A property by registration code, for the public (no scope: only public fields are answered).
pub fn find_by_code(conn: &mut Conn, code: &str) -> Result<(crate::registry::model::PropertyRow, String), ApiError> {
    use crate::db::schema::villages;
    Ok(properties::table
        .inner_join(villages::table)
        .filter(properties::registration_code.eq(code))
        .select((crate::registry::model::PropertyRow::as_select(), villages::name))
        .first(conn)?)
}

/// The date of the property's last inspection.
pub fn last_inspected_on(conn: &mut Conn, property_id: &str) -> Result<Option<NaiveDate>, ApiError> {
    Ok(inspections::table
        .filter(inspections::property_id.eq(property_id))
        .select(diesel::dsl::max(inspections::inspected_on))
        .first(conn)?)
}

/// Marks open orders past their due date `overdue`; returns how many.
pub fn mark_overdue(conn: &mut Conn, today: NaiveDate, now: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::update(
        rectifications::table
            .filter(rectifications::status.eq(RectificationStatus::Open))
            .filter(rectifications::due_on.lt(today)),
    )
    .set((
        rectifications::status.eq(RectificationStatus::Overdue),
        rectifications::updated_at.eq(now),
        rectifications::version.eq(rectifications::version + 1),
    ))
    .execute(conn)?)
}

/// Properties not yet suspended or delisted that hold a critical order past its due date.
pub fn properties_to_suspend(conn: &mut Conn, today: NaiveDate) -> Result<Vec<String>, ApiError> {
    Ok(rectifications::table
        .inner_join(properties::table)
        .filter(rectifications::severity.eq(crate::rating::Severity::Critical))
        .filter(rectifications::status.eq_any(RectificationStatus::PENDING))
        .filter(rectifications::due_on.lt(today))
        .filter(properties::status.ne_all([PropertyStatus::Suspended, PropertyStatus::Delisted]))
        .select(properties::id)
        .distinct()
        .load(conn)?)
}

/// Pending orders due from `from` to `to`, both included.
pub fn pending_due_between(conn: &mut Conn, from: NaiveDate, to: NaiveDate) -> Result<Vec<RectificationRow>, ApiError> {
    Ok(rectifications::table
        .filter(rectifications::status.eq_any([RectificationStatus::Open, RectificationStatus::Reported]))
        .filter(rectifications::due_on.between(from, to))
        .order(rectifications::id.asc())
        .select(RectificationRow::as_select())
        .load(conn)?)
}

/// Orders in `overdue`.
pub fn overdue_rectifications(conn: &mut Conn) -> Result<Vec<RectificationRow>, ApiError> {
    Ok(rectifications::table
        .filter(rectifications::status.eq(RectificationStatus::Overdue))
        .order(rectifications::id.asc())
        .select(RectificationRow::as_select())
        .load(conn)?)
}
