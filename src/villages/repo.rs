//! Queries on villages and grids.

use diesel::prelude::*;

use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{grids, villages};
use crate::error::{ApiError, ConflictOnDuplicate};
use crate::villages::model::{GridRow, VillageRow};

pub fn insert(conn: &mut Conn, row: &VillageRow) -> Result<(), ApiError> {
    diesel::insert_into(villages::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| format!("The village code {} is taken.", row.code))?;
    Ok(())
}

pub fn find(conn: &mut Conn, id: &str) -> Result<VillageRow, ApiError> {
    Ok(villages::table.find(id).select(VillageRow::as_select()).first(conn)?)
}

/// Refuses with 422 on `field` when the village does not exist.
pub fn require_exists(conn: &mut Conn, id: &str, field: &str) -> Result<(), ApiError> {
    let found: i64 = villages::table.filter(villages::id.eq(id)).count().get_result(conn)?;
    if found == 0 {
        return Err(ApiError::invalid(field, "unknown", "no village has this id"));
    }
    Ok(())
}

pub fn list(conn: &mut Conn, page: &Page) -> Result<Vec<VillageRow>, ApiError> {
    let query = villages::table.select(VillageRow::as_select()).into_boxed();
    Ok(paged!(query, villages, page).load(conn)?)
}

pub fn insert_grid(conn: &mut Conn, row: &GridRow) -> Result<(), ApiError> {
    diesel::insert_into(grids::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| format!("The grid code {} is taken in this village.", row.code))?;
    Ok(())
}

pub fn list_grids(conn: &mut Conn, village_id: &str, page: &Page) -> Result<Vec<GridRow>, ApiError> {
    let query = grids::table
        .filter(grids::village_id.eq(village_id))
        .select(GridRow::as_select())
        .into_boxed();
    Ok(paged!(query, grids, page).load(conn)?)
}

/// Whether the grid exists and belongs to the village.
pub fn grid_in_village(conn: &mut Conn, grid_id: &str, village_id: &str) -> Result<bool, ApiError> {
    let found: i64 = grids::table
        .filter(grids::id.eq(grid_id))
        .filter(grids::village_id.eq(village_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// A village's grids, id by code.
pub fn grid_codes(conn: &mut Conn, village_id: &str) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let rows: Vec<(String, String)> = grids::table
        .filter(grids::village_id.eq(village_id))
        .select((grids::code, grids::id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}
