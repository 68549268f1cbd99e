//! Queries on patrols and their visits.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{grids, patrol_visits, patrols, properties};
use crate::error::ApiError;
use crate::patrols::model::{PatrolRow, VisitRow};

/// A grid's village, if the caller is staff of it or an admin; landlords and other villages see none.
pub fn grid_village(conn: &mut Conn, caller: &Caller, grid_id: &str) -> Result<String, ApiError> {
    let village_id: String = grids::table.find(grid_id).select(grids::village_id).first(conn)?;
    if caller.covers_village(&village_id) {
        Ok(village_id)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Which of `ids` are properties of the village.
pub fn properties_in_village(conn: &mut Conn, village_id: &str, ids: &[&str]) -> Result<HashSet<String>, ApiError> {
    let found: Vec<String> = properties::table
        .filter(properties::village_id.eq(village_id))
        .filter(properties::id.eq_any(ids))
        .select(properties::id)
        .load(conn)?;
    Ok(found.into_iter().collect())
}

pub fn insert(conn: &mut Conn, patrol: &PatrolRow, visits: &[VisitRow]) -> Result<(), ApiError> {
    diesel::insert_into(patrols::table).values(patrol).execute(conn)?;
    crate::per_backend!(conn, |c| diesel::insert_into(patrol_visits::table)
        .values(visits)
        .execute(c))?;
    Ok(())
}

pub fn list(conn: &mut Conn, grid_id: &str, page: &Page) -> Result<Vec<PatrolRow>, ApiError> {
    let query = patrols::table
        .filter(patrols::grid_id.eq(grid_id))
        .select(PatrolRow::as_select())
        .into_boxed();
    Ok(paged!(query, patrols, page, created_at).load(conn)?)
}

pub fn visits_of(conn: &mut Conn, patrol_ids: &[&str]) -> Result<Vec<VisitRow>, ApiError> {
    Ok(patrol_visits::table
        .filter(patrol_visits::patrol_id.eq_any(patrol_ids))
        .order((patrol_visits::patrol_id.asc(), patrol_visits::position.asc()))
        .select(VisitRow::as_select())
        .load(conn)?)
}
