//! The plans, computed in memory from the narrow reads of `repo` (a few grouped queries, then one pass over the
//! properties): most urgent first, that is by due date (the most overdue first, then those due today, then the
//! soonest), then by the most pressing reason or the worst grade, then by registration code.

use chrono::{Days, NaiveDate};

use crate::db::Conn;
use crate::error::ApiError;
use crate::planning::model::{PatrolLine, PlanLine, PlanProperty};
use crate::planning::repo::{self, Coverage};
use crate::registry::model::PropertyStatus;
use crate::risk::{self, PlanRules, Standing};

/// A line of a plan with the key that orders it (and that a cursor names).
pub struct Keyed<T> {
    pub key: String,
    pub line: T,
}

fn key(due_on: NaiveDate, rank: usize, code: &str) -> String {
    format!("{due_on}|{rank}|{code}")
}

/// The inspection plan as of `today`: every covered property due by `today` + the horizon, in order.
pub fn inspection_plan(
    conn: &mut Conn,
    rules: &PlanRules,
    coverage: Coverage<'_>,
    today: NaiveDate,
) -> Result<Vec<Keyed<PlanLine>>, ApiError> {
    let last = repo::last_inspections(conn, coverage)?;
    let critical = repo::with_critical_orders(conn, coverage)?;
    let issues = repo::last_visits(conn, coverage, true)?;
    let upheld = repo::with_upheld_appeals(conn, coverage)?;
    let rerating = repo::with_rerating_requests(conn, coverage)?;
    let horizon = today
        .checked_add_days(Days::new(u64::from(rules.horizon_days)))
        .unwrap_or(NaiveDate::MAX);
    let mut lines: Vec<Keyed<PlanLine>> = repo::properties_in(conn, coverage)?
        .into_iter()
        .filter_map(|row| {
            let standing = Standing {
                stars: row.stars,
                rating_valid_until: row.rating_valid_until,
                last_inspected_on: last.get(&row.id).copied(),
                critical_order_open: critical.contains(&row.id),
                appeal_upheld: upheld.contains(&row.id),
                rerating_requested: rerating.contains(&row.id),
                last_patrol_issue_on: issues.get(&row.id).copied(),
            };
            let due = risk::next_inspection(rules, &standing, today);
            (due.due_on <= horizon).then(|| Keyed {
                key: key(due.due_on, due.reasons[0] as usize, &row.registration_code),
                line: PlanLine {
                    overdue_days: (today - due.due_on).num_days().max(0),
                    due_on: due.due_on,
                    reasons: due.reasons,
                    last_inspected_on: standing.last_inspected_on,
                    property: PlanProperty::of(row, today),
                },
            })
        })
        .collect();
    lines.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(lines)
}

/// How many covered properties are overdue for inspection: the plan's lines with `overdue_days` > 0, counted
/// without building the plan. The plan's triggers (critical orders, patrol issues, appeals, re-rating requests) make
/// a property due today at the latest, never overdue, so they are not read.
pub fn inspections_overdue(
    conn: &mut Conn,
    rules: &PlanRules,
    coverage: Coverage<'_>,
    today: NaiveDate,
) -> Result<i64, ApiError> {
    let last = repo::last_inspections(conn, coverage)?;
    let overdue = repo::properties_in(conn, coverage)?
        .into_iter()
        .filter(|row| {
            let standing = Standing {
                stars: row.stars,
                rating_valid_until: row.rating_valid_until,
                last_inspected_on: last.get(&row.id).copied(),
                critical_order_open: false,
                appeal_upheld: false,
                rerating_requested: false,
                last_patrol_issue_on: None,
            };
            risk::next_inspection(rules, &standing, today).due_on < today
        })
        .count();
    Ok(overdue as i64)
}

/// A grid's patrol plan as of `today`: its properties whose last visit is as old as their grade's frequency, or
/// never visited, in order.
pub fn patrol_plan(
    conn: &mut Conn,
    rules: &PlanRules,
    grid_id: &str,
    today: NaiveDate,
) -> Result<Vec<Keyed<PatrolLine>>, ApiError> {
    let coverage = Coverage {
        village_id: None,
        grid_id: Some(grid_id),
        enterprise_id: None,
    };
    let visits = repo::last_visits(conn, coverage, false)?;
    let mut lines: Vec<Keyed<PatrolLine>> = repo::properties_in(conn, coverage)?
        .into_iter()
        .filter_map(|row| {
            let property = PlanProperty::of(row, today);
            let grade = risk::patrol_grade(property.stars, property.status == PropertyStatus::Suspended);
            let every = rules.patrol_visit_days.of(grade);
            let last = visits.get(&property.id).copied();
            let due_on = last
                .and_then(|l| l.checked_add_days(Days::new(u64::from(every))))
                .unwrap_or(today);
            (due_on <= today).then(|| Keyed {
                key: key(due_on, grade as usize, &property.registration_code),
                line: PatrolLine {
                    overdue_days: (today - due_on).num_days(),
                    visit_every_days: every,
                    last_visited_on: last,
                    due_on,
                    grade,
                    property,
                },
            })
        })
        .collect();
    lines.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    Ok(lines)
}
