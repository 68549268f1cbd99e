//! The narrow reads the plans are computed from: the properties in view (delisted ones are off the plans), and
//! per property its last inspection, whether it holds a pending critical order, its last patrol issue and its
//! last patrol visit. Each is one grouped query, whatever the number of properties.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::dsl::max;
use diesel::prelude::*;

use crate::db::Conn;
use crate::db::schema::{
    appeals, grids, inspections, patrol_visits, patrols, properties, rectifications, rerating_requests,
};
use crate::error::ApiError;
use crate::patrols::model::Finding;
use crate::planning::model::PlanPropertyRow;
use crate::rating::Severity;
use crate::registry::model::PropertyStatus;
use crate::safety::model::RectificationStatus;

/// Which properties a plan covers: a village or the whole town, optionally one grid, optionally only those let to
/// an enterprise (wholly or a unit of them).
#[derive(Debug, Clone, Copy)]
pub struct Coverage<'a> {
    pub village_id: Option<&'a str>,
    pub grid_id: Option<&'a str>,
    pub enterprise_id: Option<&'a str>,
}

/// Narrows a query joined to `properties` to the coverage.
macro_rules! covered {
    ($query:expr, $coverage:expr) => {{
        let coverage: Coverage<'_> = $coverage;
        let mut query = $query.into_boxed();
        if let Some(v) = coverage.village_id {
            query = query.filter(properties::village_id.eq(v.to_owned()));
        }
        if let Some(g) = coverage.grid_id {
            query = query.filter(properties::grid_id.eq(g.to_owned()));
        }
        if let Some(e) = coverage.enterprise_id {
            query = query.filter(crate::registry::repo::property_let_to(e.to_owned()));
        }
        query
    }};
}

/// The grid's village, if it exists.
pub fn grid_village(conn: &mut Conn, grid_id: &str) -> Result<Option<String>, ApiError> {
    Ok(grids::table
        .find(grid_id)
        .select(grids::village_id)
        .first(conn)
        .optional()?)
}

/// The properties covered, delisted ones left out.
pub fn properties_in(conn: &mut Conn, coverage: Coverage<'_>) -> Result<Vec<PlanPropertyRow>, ApiError> {
    Ok(covered!(
        properties::table
            .filter(properties::status.ne(PropertyStatus::Delisted))
            .select(PlanPropertyRow::as_select()),
        coverage
    )
    .load(conn)?)
}

/// Each covered property's latest inspection date.
pub fn last_inspections(conn: &mut Conn, coverage: Coverage<'_>) -> Result<HashMap<String, NaiveDate>, ApiError> {
    let rows: Vec<(String, Option<NaiveDate>)> = covered!(
        inspections::table
            .inner_join(properties::table)
            .group_by(inspections::property_id)
            .select((inspections::property_id, max(inspections::inspected_on))),
        coverage
    )
    .load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, on)| Some((id, on?))).collect())
}

/// The covered properties holding a pending critical order.
pub fn with_critical_orders(conn: &mut Conn, coverage: Coverage<'_>) -> Result<HashSet<String>, ApiError> {
    let ids: Vec<String> = covered!(
        rectifications::table
            .inner_join(properties::table)
            .filter(rectifications::severity.eq(Severity::Critical))
            .filter(rectifications::status.eq_any(RectificationStatus::PENDING))
            .select(rectifications::property_id)
            .distinct(),
        coverage
    )
    .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// The covered properties with an appeal upheld and not yet re-inspected.
pub fn with_upheld_appeals(conn: &mut Conn, coverage: Coverage<'_>) -> Result<HashSet<String>, ApiError> {
    let ids: Vec<String> = covered!(
        appeals::table
            .inner_join(properties::table)
            .filter(appeals::status.eq("upheld"))
            .filter(appeals::reinspected_by.is_null())
            .select(appeals::property_id)
            .distinct(),
        coverage
    )
    .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// The covered properties whose landlord asked for a re-rating not yet done.
pub fn with_rerating_requests(conn: &mut Conn, coverage: Coverage<'_>) -> Result<HashSet<String>, ApiError> {
    let ids: Vec<String> = covered!(
        rerating_requests::table
            .inner_join(properties::table)
            .filter(rerating_requests::status.eq("open"))
            .select(rerating_requests::property_id)
            .distinct(),
        coverage
    )
    .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// Each covered property's latest patrol visit, or (`issues_only`) latest visit that found an issue.
pub fn last_visits(
    conn: &mut Conn,
    coverage: Coverage<'_>,
    issues_only: bool,
) -> Result<HashMap<String, NaiveDate>, ApiError> {
    let query = covered!(
        patrol_visits::table
            .inner_join(patrols::table)
            .inner_join(properties::table)
            .group_by(patrol_visits::property_id)
            .select((patrol_visits::property_id, max(patrols::patrolled_on))),
        coverage
    );
    let query = if issues_only {
        query.filter(patrol_visits::finding.eq(Finding::Issue))
    } else {
        query
    };
    let rows: Vec<(String, Option<NaiveDate>)> = query.load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, on)| Some((id, on?))).collect())
}
