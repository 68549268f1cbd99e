//! Patrols as stored and answered.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::{patrol_visits, patrols};
use crate::text_enum;

text_enum! {
    /// What a visit found.
    pub enum Finding {
        Ok => "ok",
        Issue => "issue",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = patrols, treat_none_as_default_value = false)]
pub struct PatrolRow {
    pub id: String,
    pub grid_id: String,
    pub inspector_id: String,
    pub patrolled_on: NaiveDate,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = patrol_visits, treat_none_as_default_value = false)]
pub struct VisitRow {
    pub patrol_id: String,
    pub property_id: String,
    pub position: i32,
    pub finding: Finding,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    #[validate(custom(function = "crate::validation::uuid"))]
    pub property_id: String,
    pub finding: Finding,
    #[validate(custom(function = "crate::validation::remark"))]
    #[schema(schema_with = crate::validation::schema::remark_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"patrolled_on": "2026-11-28", "visits": [{"property_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e10", "finding": "ok"}, {"property_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e11", "finding": "issue", "note": "楼道堆放电动车"}]}))]
pub struct CreatePatrol {
    #[validate(custom(function = "crate::validation::date"))]
    #[schema(schema_with = crate::validation::schema::date)]
    pub patrolled_on: NaiveDate,
    #[validate(nested)]
    #[schema(min_items = 1)]
    pub visits: Vec<VisitInput>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Visit {
    pub property_id: String,
    pub finding: Finding,
    pub note: Option<String>,
}

/// A patrol round and its visits.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Patrol {
    pub id: String,
    pub grid_id: String,
    pub inspector_id: String,
    pub patrolled_on: NaiveDate,
    pub visits: Vec<Visit>,
    pub created_at: DateTime<Utc>,
}

impl Patrol {
    pub fn from_rows(row: PatrolRow, visits: Vec<VisitRow>) -> Result<Self, crate::error::ApiError> {
        Ok(Patrol {
            visits: visits
                .into_iter()
                .map(|v| {
                    Ok(Visit {
                        finding: v.finding,
                        property_id: v.property_id,
                        note: v.note,
                    })
                })
                .collect::<Result<_, crate::error::ApiError>>()?,
            id: row.id,
            grid_id: row.grid_id,
            inspector_id: row.inspector_id,
            patrolled_on: row.patrolled_on,
            created_at: row.created_at.and_utc(),
        })
    }
}
