//! Report answers and parameters.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PropertyCounts {
    pub total: i64,
    /// By status as read today (`expired` derived).
    pub by_status: BTreeMap<String, i64>,
    /// By stars: "0" to "5", and "unrated".
    pub by_stars: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RectificationCounts {
    pub open: i64,
    pub overdue: i64,
}

/// A grid's rectification orders still to carry out (`grid_code` none for properties in no grid).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct GridRectifications {
    pub grid_code: Option<String>,
    pub grid_name: Option<String>,
    pub open: i64,
    pub overdue: i64,
}

/// Approved members (active landlords) whose training does not count today.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct TrainingCounts {
    /// Never attended a training session.
    pub untrained: i64,
    /// Trained, but the latest training's validity has passed.
    pub lapsed: i64,
}

/// A grid and how many of its properties nobody visited on patrol in the last 30 days.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct GridPatrolGap {
    pub grid_id: String,
    pub code: String,
    pub name: String,
    pub properties_not_visited_30d: i64,
}

/// The counts of a village, or of the whole town when no village is named.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Summary {
    pub village_id: Option<String>,
    pub properties: PropertyCounts,
    pub units: i64,
    pub active_tenancies: i64,
    /// Active tenancies declared late.
    pub late_declarations: i64,
    pub overcrowded_units: i64,
    pub rectifications: RectificationCounts,
    pub ratings_expiring_30d: i64,
    /// Properties overdue for inspection: the lines of `GET /inspections/plan` with `overdue_days` > 0.
    pub inspections_overdue: i64,
    /// Approved members whose training is missing or lapsed (`GET /users?training=untrained|lapsed` lists them).
    pub landlord_training: TrainingCounts,
    pub grids: Vec<GridPatrolGap>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct VillageQuery {
    /// Required for auditors (their own village); admins may omit it for the whole town.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
    /// Only what is let to this enterprise: properties with a unit let to it, its units, the tenancies declared
    /// under its leases (an enterprise outside the village: nothing).
    #[validate(custom(function = "crate::validation::uuid"))]
    pub enterprise_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The village the ledger belongs to; auditors import into their own.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
    /// Validate and report without writing.
    #[serde(default)]
    pub dry_run: bool,
    /// Write the accepted rows even when others are rejected.
    #[serde(default)]
    pub partial: bool,
}

pub use crate::csv_import::Rejection;

#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Created {
    pub properties: usize,
    pub units: usize,
    pub landlords: usize,
}

/// What an import did (or, on a dry run or a refused file, would have done).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ImportReport {
    pub accepted: usize,
    pub rejected: Vec<Rejection>,
    pub created: Created,
    pub dry_run: bool,
    /// Whether anything was written.
    pub committed: bool,
}

/// Declarations made in one week (China-local, from Monday), and how many of them were late.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WeekOfDeclarations {
    pub week_start: NaiveDate,
    pub declared: i64,
    pub late: i64,
}
