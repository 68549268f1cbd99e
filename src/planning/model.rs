//! The plans as answered, the narrow rows they are computed from, and their query parameters.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::properties;
use crate::registry::model::PropertyStatus;
use crate::risk::{PatrolGrade, PlanReason};

/// The columns of a property the plans read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = properties)]
pub struct PlanPropertyRow {
    pub id: String,
    pub registration_code: String,
    pub name: String,
    pub grid_id: Option<String>,
    pub stars: Option<i32>,
    pub status: PropertyStatus,
    pub rating_valid_until: Option<NaiveDate>,
}

/// The property a line of a plan is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanProperty {
    pub id: String,
    pub registration_code: String,
    pub name: String,
    pub grid_id: Option<String>,
    pub stars: Option<i32>,
    /// As read today (`expired` derived).
    pub status: PropertyStatus,
}

impl PlanProperty {
    pub fn of(row: PlanPropertyRow, today: NaiveDate) -> Self {
        let status = match (row.status, row.rating_valid_until) {
            (PropertyStatus::Rated, Some(until)) if until < today => PropertyStatus::Expired,
            (status, _) => status,
        };
        PlanProperty {
            id: row.id,
            registration_code: row.registration_code,
            name: row.name,
            grid_id: row.grid_id,
            stars: row.stars,
            status,
        }
    }
}

/// A property whose next inspection is due, overdue or due soon.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanLine {
    pub property: PlanProperty,
    /// The day the inspection is due by; today for a reason that makes it due now.
    pub due_on: NaiveDate,
    /// Days past `due_on`; 0 when not overdue.
    pub overdue_days: i64,
    /// Why, most pressing first.
    pub reasons: Vec<PlanReason>,
    pub last_inspected_on: Option<NaiveDate>,
}

/// A property a grid's patrol should visit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PatrolLine {
    pub property: PlanProperty,
    pub grade: PatrolGrade,
    /// The visit frequency of the grade, in days.
    pub visit_every_days: u32,
    /// Null when never visited (then due today).
    pub last_visited_on: Option<NaiveDate>,
    pub due_on: NaiveDate,
    /// Days past `due_on`; 0 when due today.
    pub overdue_days: i64,
}

/// The inspection plan's filters.
#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Inspectors and auditors: their own village (implied); admins: any, or none for the whole town.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
    /// Only properties of this grid (of the village).
    #[validate(custom(function = "crate::validation::uuid"))]
    pub grid_id: Option<String>,
}

/// The plans' paging (read by `http::pagination::Page`; without `updated_since`: a plan is computed as of now).
#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PlanPageQuery {
    /// Lines per page, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (empty: the first page, as for every list).
    pub cursor: Option<String>,
}
