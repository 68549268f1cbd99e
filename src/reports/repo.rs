//! Aggregate queries for the summary and the ledger's paged read. Counts are computed by the database,
//! never by loading rows.

use crate::safety::model::RectificationStatus;
use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::accounts::model::UserRow;
use crate::db::Conn;
use crate::db::schema::{grids, patrol_visits, patrols, properties, rectifications, tenancies, units, users};
use crate::error::ApiError;
use crate::registry::model::{PropertyRow, PropertyStatus, UnitRow};
use crate::registry::repo::{property_let_to, unit_let_to};
use crate::reports::model::*;

/// Narrows a query on `properties` to a village when one is named.
macro_rules! in_village {
    ($query:expr, $village:expr) => {
        match $village {
            Some(v) => $query.filter(properties::village_id.eq(v.to_owned())).into_boxed(),
            None => $query.into_boxed(),
        }
    };
}

/// Narrows a boxed query to what is let to an enterprise, when one is named: by default the properties (on
/// `properties` or joined to it) with a unit let to it, wholly or in part; with `unit_let_to`, the units (on
/// `units` joined to `properties`).
macro_rules! let_to {
    ($query:expr, $enterprise:expr) => {
        let_to!($query, $enterprise, property_let_to)
    };
    ($query:expr, $enterprise:expr, $predicate:ident) => {
        match $enterprise {
            Some(e) => $query.filter($predicate(e.to_owned())),
            None => $query,
        }
    };
}

/// The counts of a village or the town, or (`enterprise`) of what is let to an enterprise there: the properties
/// with a unit let to it, its units, and the tenancies declared under its leases; `inspections_overdue` as the
/// inspection plan (`rules`) counts them.
pub fn summary(
    conn: &mut Conn,
    village: Option<&str>,
    enterprise: Option<&str>,
    rules: &crate::risk::PlanRules,
    today: NaiveDate,
) -> Result<Summary, ApiError> {
    let properties = property_counts(conn, village, enterprise, today)?;
    let (units, active_tenancies) = match enterprise {
        None => counted_by_properties(conn, village)?,
        Some(e) => (
            units_let_to(conn, village, e)?,
            active_tenancies_let_to(conn, village, e)?,
        ),
    };
    let overcrowded_units: i64 = let_to!(
        in_village!(
            units::table
                .inner_join(properties::table)
                .filter(units::active_tenants.gt(units::max_occupants))
                .select(count_star()),
            village
        ),
        enterprise,
        unit_let_to
    )
    .first(conn)?;
    let ratings_expiring_30d: i64 = let_to!(
        in_village!(
            properties::table
                .filter(properties::status.eq(PropertyStatus::Rated))
                .filter(properties::rating_valid_until.between(today, today + Duration::days(30)))
                .select(count_star()),
            village
        ),
        enterprise
    )
    .first(conn)?;
    let coverage = crate::planning::repo::Coverage {
        village_id: village,
        grid_id: None,
        enterprise_id: enterprise,
    };
    Ok(Summary {
        village_id: village.map(str::to_owned),
        properties,
        units,
        active_tenancies,
        late_declarations: late_declarations(conn, village, enterprise)?,
        overcrowded_units,
        rectifications: rectification_counts(conn, village, enterprise)?,
        ratings_expiring_30d,
        inspections_overdue: crate::planning::service::inspections_overdue(conn, rules, coverage, today)?,
        // Landlords are the village's whatever the enterprise: the enterprise filter leaves these counts alone.
        landlord_training: training_counts(conn, village, today)?,
        grids: patrol_gaps(conn, village, enterprise, today)?,
    })
}

/// Units and active tenancies of a village or the town: the properties keep both counted, so summing them
/// reads one row per property, not every unit and tenancy.
fn counted_by_properties(conn: &mut Conn, village: Option<&str>) -> Result<(i64, i64), ApiError> {
    let (units, tenants): (Option<i64>, Option<i64>) = in_village!(
        properties::table.select((
            diesel::dsl::sum(properties::unit_count),
            diesel::dsl::sum(properties::active_tenants)
        )),
        village
    )
    .first(conn)?;
    Ok((units.unwrap_or(0), tenants.unwrap_or(0)))
}

/// Units let to an enterprise (wholly or with their property), of a village or the town.
fn units_let_to(conn: &mut Conn, village: Option<&str>, enterprise: &str) -> Result<i64, ApiError> {
    Ok(
        in_village!(units::table.inner_join(properties::table).select(count_star()), village)
            .filter(unit_let_to(enterprise.to_owned()))
            .first(conn)?,
    )
}

/// Active tenancies declared under an enterprise's leases, of a village or the town.
fn active_tenancies_let_to(conn: &mut Conn, village: Option<&str>, enterprise: &str) -> Result<i64, ApiError> {
    Ok(in_village!(
        tenancies::table
            .inner_join(properties::table)
            .filter(tenancies::enterprise_id.eq(enterprise.to_owned()))
            .filter(tenancies::move_out_date.is_null())
            .select(count_star()),
        village
    )
    .first(conn)?)
}

/// Active tenancies declared late: of a village or the town, or declared under an enterprise's leases.
fn late_declarations(conn: &mut Conn, village: Option<&str>, enterprise: Option<&str>) -> Result<i64, ApiError> {
    // Written to match the partial index on late, active tenancies (literal conditions, no binds).
    let query = in_village!(
        tenancies::table
            .inner_join(properties::table)
            .filter(tenancies::late)
            .filter(tenancies::move_out_date.is_null())
            .select(count_star()),
        village
    );
    Ok(match enterprise {
        Some(e) => query.filter(tenancies::enterprise_id.eq(e.to_owned())),
        None => query,
    }
    .first(conn)?)
}

fn training_counts(conn: &mut Conn, village: Option<&str>, today: NaiveDate) -> Result<TrainingCounts, ApiError> {
    let (untrained, lapsed) = crate::accounts::training::repo::untrained_and_lapsed(conn, village, today)?;
    Ok(TrainingCounts { untrained, lapsed })
}

/// Declarations per week for the `weeks` weeks ending with the current one (China-local weeks from Monday), oldest
/// first: two counts a week over the index on `declared_at`.
pub fn declarations_by_week(
    conn: &mut Conn,
    village: Option<&str>,
    today: NaiveDate,
    weeks: u32,
) -> Result<Vec<WeekOfDeclarations>, ApiError> {
    use chrono::Datelike;
    let this_week = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    (0..i64::from(weeks))
        .rev()
        .map(|back| {
            let week_start = this_week - Duration::weeks(back);
            let (from, to) = (
                crate::ids::local_midnight(week_start),
                crate::ids::local_midnight(week_start + Duration::weeks(1)),
            );
            let count = |conn: &mut Conn, late_only: bool| -> Result<i64, ApiError> {
                let query = in_village!(
                    tenancies::table
                        .inner_join(properties::table)
                        .filter(tenancies::declared_at.ge(from))
                        .filter(tenancies::declared_at.lt(to))
                        .select(count_star()),
                    village
                );
                let query = if late_only {
                    query.filter(tenancies::late.eq(true))
                } else {
                    query
                };
                Ok(query.first(conn)?)
            };
            Ok(WeekOfDeclarations {
                week_start,
                declared: count(conn, false)?,
                late: count(conn, true)?,
            })
        })
        .collect()
}

/// Properties by status (a rated one past its validity counted as `expired`) and by stars.
fn property_counts(
    conn: &mut Conn,
    village: Option<&str>,
    enterprise: Option<&str>,
    today: NaiveDate,
) -> Result<PropertyCounts, ApiError> {
    let statuses: Vec<(String, i64)> = let_to!(
        in_village!(
            properties::table
                .group_by(properties::status)
                .select((properties::status, count_star())),
            village
        ),
        enterprise
    )
    .load(conn)?;
    let expired: i64 = let_to!(
        in_village!(
            properties::table
                .filter(properties::status.eq(PropertyStatus::Rated))
                .filter(properties::rating_valid_until.lt(today))
                .select(count_star()),
            village
        ),
        enterprise
    )
    .first(conn)?;
    let mut by_status: BTreeMap<String, i64> = statuses.into_iter().collect();
    if expired > 0 {
        *by_status.entry(PropertyStatus::Rated.to_string()).or_default() -= expired;
        by_status.insert(PropertyStatus::Expired.to_string(), expired);
    }
    let stars: Vec<(Option<i32>, i64)> = let_to!(
        in_village!(
            properties::table
                .group_by(properties::stars)
                .select((properties::stars, count_star())),
            village
        ),
        enterprise
    )
    .load(conn)?;
    let by_stars = stars
        .into_iter()
        .map(|(s, n)| (s.map(|s| s.to_string()).unwrap_or_else(|| "unrated".into()), n))
        .collect();
    Ok(PropertyCounts {
        total: by_status.values().sum(),
        by_status,
        by_stars,
    })
}

/// Orders still to carry out: open (or reported) and overdue.
fn rectification_counts(
    conn: &mut Conn,
    village: Option<&str>,
    enterprise: Option<&str>,
) -> Result<RectificationCounts, ApiError> {
    let orders: Vec<(RectificationStatus, i64)> = let_to!(
        in_village!(
            rectifications::table
                .inner_join(properties::table)
                .filter(rectifications::status.eq_any(RectificationStatus::PENDING))
                .group_by(rectifications::status)
                .select((rectifications::status, count_star())),
            village
        ),
        enterprise
    )
    .load(conn)?;
    Ok(RectificationCounts {
        overdue: orders
            .iter()
            .filter(|(s, _)| *s == RectificationStatus::Overdue)
            .map(|(_, n)| n)
            .sum(),
        open: orders
            .iter()
            .filter(|(s, _)| *s != RectificationStatus::Overdue)
            .map(|(_, n)| n)
            .sum(),
    })
}

/// Per grid, its orders still to carry out, open (or reported) and overdue; grids with none are left out.
pub fn rectifications_by_grid(conn: &mut Conn, village: Option<&str>) -> Result<Vec<GridRectifications>, ApiError> {
    let mut count = |statuses: &[RectificationStatus]| -> Result<Vec<(Option<String>, i64)>, ApiError> {
        Ok(in_village!(
            rectifications::table
                .inner_join(properties::table)
                .filter(rectifications::status.eq_any(statuses.to_vec()))
                .group_by(properties::grid_id)
                .select((properties::grid_id, count_star())),
            village
        )
        .load(conn)?)
    };
    let overdue = count(&[RectificationStatus::Overdue])?;
    let open = count(&[RectificationStatus::Open, RectificationStatus::Reported])?;
    let ids: Vec<String> = overdue.iter().chain(&open).filter_map(|(g, _)| g.clone()).collect();
    let names: BTreeMap<String, (String, String)> = grids::table
        .filter(grids::id.eq_any(ids))
        .select((grids::id, grids::code, grids::name))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    // Grids in code order, then the properties in no grid.
    let mut by_grid: BTreeMap<(bool, Option<String>), GridRectifications> = BTreeMap::new();
    for (overdue, (grid_id, n)) in overdue
        .into_iter()
        .map(|c| (true, c))
        .chain(open.into_iter().map(|c| (false, c)))
    {
        let (code, name) = grid_id.and_then(|id| names.get(&id).cloned()).unzip();
        let grid = by_grid
            .entry((code.is_none(), code.clone()))
            .or_insert(GridRectifications {
                grid_code: code,
                grid_name: name,
                open: 0,
                overdue: 0,
            });
        if overdue {
            grid.overdue += n;
        } else {
            grid.open += n;
        }
    }
    Ok(by_grid.into_values().collect())
}

/// The grids of a village or the town: `(id, code, name)` in id order.
fn grids_of(conn: &mut Conn, village: Option<&str>) -> Result<Vec<(String, String, String)>, ApiError> {
    let mut query = grids::table
        .select((grids::id, grids::code, grids::name))
        .order(grids::id.asc())
        .into_boxed();
    if let Some(v) = village {
        query = query.filter(grids::village_id.eq(v.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Per grid, the properties nobody visited on patrol in the last 30 days (of those let to `enterprise`, when one
/// is named).
fn patrol_gaps(
    conn: &mut Conn,
    village: Option<&str>,
    enterprise: Option<&str>,
    today: NaiveDate,
) -> Result<Vec<GridPatrolGap>, ApiError> {
    let since = today - Duration::days(30);
    let all_grids = grids_of(conn, village)?;
    let totals: Vec<(Option<String>, i64)> = let_to!(
        in_village!(
            properties::table
                .filter(properties::grid_id.is_not_null())
                .group_by(properties::grid_id)
                .select((properties::grid_id, count_star())),
            village
        ),
        enterprise
    )
    .load(conn)?;
    let visited: Vec<(Option<String>, i64)> = let_to!(
        in_village!(
            properties::table
                .filter(properties::grid_id.is_not_null())
                .filter(
                    properties::id.eq_any(
                        patrol_visits::table
                            .inner_join(patrols::table)
                            .filter(patrols::patrolled_on.ge(since))
                            .select(patrol_visits::property_id),
                    ),
                )
                .group_by(properties::grid_id)
                .select((properties::grid_id, count_star())),
            village
        ),
        enterprise
    )
    .load(conn)?;
    let count_of = |list: &[(Option<String>, i64)], id: &str| {
        list.iter()
            .find(|(g, _)| g.as_deref() == Some(id))
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    Ok(all_grids
        .into_iter()
        .map(|(id, code, name)| GridPatrolGap {
            properties_not_visited_30d: count_of(&totals, &id) - count_of(&visited, &id),
            grid_id: id,
            code,
            name,
        })
        .collect())
}

/// One ledger row: a unit with its property, the property's grid code and owner, and open orders.
pub type LedgerRow = (UnitRow, PropertyRow, Option<String>, UserRow);

/// The next `limit` units of a village's ledger after the unit id `after`, in unit id order; only those let to
/// `enterprise` when one is named.
pub fn ledger_page(
    conn: &mut Conn,
    village: Option<&str>,
    enterprise: Option<&str>,
    after: Option<&LedgerCursor>,
    limit: i64,
) -> Result<Vec<LedgerRow>, ApiError> {
    // Property by property (a village's through its index on (village_id, id)), each property's units by label
    // (their unique index): every page starts where the last ended and reads only its own rows. In unit-id order,
    // a village's pages read the town's other units too (1.1 s for one page of a town of 500,000 units).
    let mut query = units::table
        .inner_join(properties::table.inner_join(users::table).left_join(grids::table))
        .select((
            UnitRow::as_select(),
            PropertyRow::as_select(),
            grids::code.nullable(),
            UserRow::as_select(),
        ))
        .order((units::property_id.asc(), units::label.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(v) = village {
        query = query.filter(properties::village_id.eq(v.to_owned()));
    }
    if let Some(LedgerCursor { property_id, label }) = after {
        // The first condition is implied by the second; spelt out for both tables, it bounds their index scans.
        query = query
            .filter(properties::id.ge(property_id.clone()))
            .filter(units::property_id.ge(property_id.clone()))
            .filter(
                units::property_id
                    .gt(property_id.clone())
                    .or(units::label.gt(label.clone())),
            );
    }
    if let Some(e) = enterprise {
        query = query.filter(unit_let_to(e.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Where a ledger page ends: its last unit's property and label.
#[derive(Clone, Debug)]
pub struct LedgerCursor {
    pub property_id: String,
    pub label: String,
}

/// Pending orders per property, for the given properties.
pub fn pending_orders_by_property(conn: &mut Conn, property_ids: &[&str]) -> Result<BTreeMap<String, i64>, ApiError> {
    let counts: Vec<(String, i64)> = rectifications::table
        .filter(rectifications::property_id.eq_any(property_ids))
        .filter(rectifications::status.eq_any(RectificationStatus::PENDING))
        .group_by(rectifications::property_id)
        .select((rectifications::property_id, count_star()))
        .load(conn)?;
    Ok(counts.into_iter().collect())
}
