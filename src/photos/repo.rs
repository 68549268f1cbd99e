//! Queries on photos' descriptions (their bytes are the store's).

use diesel::prelude::*;

use super::model::{PhotoKind, PhotoRow};
use crate::auth::Caller;
use crate::auth::scope::scoped_first;
use crate::db::Conn;
use crate::db::schema::{inspection_results, photos, rectifications};
use crate::error::ApiError;

pub fn insert(conn: &mut Conn, row: &PhotoRow) -> Result<(), ApiError> {
    crate::per_backend!(conn, |c| diesel::insert_into(photos::table).values(row).execute(c))?;
    Ok(())
}

/// A photo of a property the caller may see.
pub fn find(conn: &mut Conn, caller: &Caller, id: &str) -> Result<PhotoRow, ApiError> {
    Ok(scoped_first!(
        photos::table
            .inner_join(properties::table)
            .filter(photos::id.eq(id))
            .select(PhotoRow::as_select()),
        caller,
        conn
    )?)
}

/// An inspection's deficiency photos, by item, oldest first.
pub fn of_inspection(conn: &mut Conn, inspection_id: &str) -> Result<Vec<PhotoRow>, ApiError> {
    Ok(photos::table
        .filter(photos::inspection_id.eq(inspection_id))
        .filter(photos::kind.eq(PhotoKind::Deficiency))
        .order((photos::item_code.asc(), photos::created_at.asc(), photos::id.asc()))
        .select(PhotoRow::as_select())
        .load(conn)?)
}

/// What an order's verifier looks at: the item's deficiency photos, then the order's own `after` photos.
pub fn of_order(
    conn: &mut Conn,
    inspection_id: &str,
    item_code: &str,
    rectification_id: &str,
) -> Result<Vec<PhotoRow>, ApiError> {
    let mut rows: Vec<PhotoRow> = photos::table
        .filter(
            photos::inspection_id
                .eq(inspection_id)
                .and(photos::item_code.eq(item_code))
                .and(photos::kind.eq(PhotoKind::Deficiency))
                .or(photos::rectification_id.eq(rectification_id)),
        )
        .order((photos::created_at.asc(), photos::id.asc()))
        .select(PhotoRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|row| row.kind != PhotoKind::Deficiency);
    Ok(rows)
}

/// Photos already on an item (deficiency) or an order (after).
pub fn count_on_item(conn: &mut Conn, inspection_id: &str, item_code: &str) -> Result<i64, ApiError> {
    Ok(photos::table
        .filter(photos::inspection_id.eq(inspection_id))
        .filter(photos::item_code.eq(item_code))
        .filter(photos::kind.eq(PhotoKind::Deficiency))
        .count()
        .get_result(conn)?)
}

pub fn count_on_order(conn: &mut Conn, rectification_id: &str) -> Result<i64, ApiError> {
    Ok(photos::table
        .filter(photos::rectification_id.eq(rectification_id))
        .count()
        .get_result(conn)?)
}

/// Takes the item's row lock (PostgreSQL; SQLite has one writer) so that two uploads at once count each other.
pub fn lock_item(conn: &mut Conn, inspection_id: &str, item_code: &str) -> Result<(), ApiError> {
    diesel::update(inspection_results::table.find((inspection_id, item_code)))
        .set(inspection_results::position.eq(inspection_results::position))
        .execute(conn)?;
    Ok(())
}

/// The same for an order.
pub fn lock_order(conn: &mut Conn, rectification_id: &str) -> Result<(), ApiError> {
    diesel::update(rectifications::table.find(rectification_id))
        .set(rectifications::version.eq(rectifications::version))
        .execute(conn)?;
    Ok(())
}
