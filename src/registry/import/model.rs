//! The bulk declaration's parameters and report.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::csv_import::Rejection;

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct TenancyImportQuery {
    /// Check and report without writing.
    #[serde(default)]
    pub dry_run: bool,
    /// Declare the accepted lines even when others are rejected.
    #[serde(default)]
    pub partial: bool,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct DeclarationsCreated {
    pub tenancies: usize,
}

/// What a bulk declaration did (or, on a dry run or a refused file, would have done). No line is named by
/// its person: lines are named by number, and a rejection by column and what was expected.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"accepted": 2, "rejected": [{"line": 3, "column": "id_number", "reason": "the check character does not match"}],
    "created": {"tenancies": 2}, "late_lines": [4], "overcrowded_units": [], "dry_run": false, "committed": true}))]
pub struct TenancyImportReport {
    /// Lines declared (or, when nothing was written, that would have been).
    pub accepted: usize,
    pub rejected: Vec<Rejection>,
    pub created: DeclarationsCreated,
    /// Accepted lines declared more than the deadline after their move-in date.
    pub late_lines: Vec<u64>,
    /// Ids of the units holding more tenants than they may once the file is declared.
    pub overcrowded_units: Vec<String>,
    /// Accepted lines whose person is an active tenant of another unit too. Only in auditors' and admins'
    /// answers, as `duplicate_elsewhere` on a tenancy: to anyone else the key is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_elsewhere_lines: Option<Vec<u64>>,
    pub dry_run: bool,
    /// Whether anything was written.
    pub committed: bool,
}
