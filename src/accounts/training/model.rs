//! Training sessions and attendances as stored and answered.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::{training_attendances, training_sessions};
use crate::http::etag::Versioned;
use crate::text_enum;

text_enum! {
    /// Where a landlord's training stands today: never trained, past its validity, or valid.
    pub enum TrainingStanding {
        Untrained => "untrained",
        Lapsed => "lapsed",
        Valid => "valid",
    }
}

/// The checklist item a landlord's training record informs.
pub const TRAINING_ITEM: &str = "MGT-02";

/// A property owner's training as an inspection form shows it beside [`TRAINING_ITEM`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OwnerTraining {
    pub owner_id: String,
    pub standing: TrainingStanding,
    /// Until when it counts (or counted, when lapsed); null when never trained.
    pub valid_until: Option<NaiveDate>,
}

impl OwnerTraining {
    /// The standing on `today` of training valid until `valid_until`.
    pub fn of(owner_id: String, valid_until: Option<NaiveDate>, today: NaiveDate) -> OwnerTraining {
        let standing = match valid_until {
            None => TrainingStanding::Untrained,
            Some(until) if until < today => TrainingStanding::Lapsed,
            Some(_) => TrainingStanding::Valid,
        };
        OwnerTraining {
            owner_id,
            standing,
            valid_until,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = training_sessions, treat_none_as_default_value = false)]
pub struct SessionRow {
    pub id: String,
    pub village_id: String,
    pub title: String,
    pub held_on: NaiveDate,
    pub trainer: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = training_attendances, treat_none_as_default_value = false)]
pub struct AttendanceRow {
    pub session_id: String,
    pub landlord_id: String,
    /// The session's date plus the validity in force when the attendance was recorded.
    pub valid_until: NaiveDate,
}

/// A training session and who attended it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e30", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "title": "出租房消防安全培训", "held_on": "2026-11-20", "trainer": "陈埭镇消防站 林教官", "landlord_ids": ["01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e01"], "valid_until": "2028-11-20", "recorded_by": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e02", "created_at": "2026-11-20T08:00:00Z", "updated_at": "2026-11-20T08:00:00Z", "version": 1}))]
pub struct TrainingSession {
    pub id: String,
    pub village_id: String,
    pub title: String,
    pub held_on: NaiveDate,
    pub trainer: String,
    /// The landlords who attended, in the order recorded.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub landlord_ids: Vec<String>,
    /// Until when attending this session counts (null before anyone attended).
    pub valid_until: Option<NaiveDate>,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Versioned for TrainingSession {
    fn version(&self) -> i32 {
        self.version
    }
}

impl TrainingSession {
    pub fn from_rows(row: SessionRow, attendances: Vec<AttendanceRow>) -> TrainingSession {
        TrainingSession {
            valid_until: attendances.iter().map(|a| a.valid_until).max(),
            landlord_ids: attendances.into_iter().map(|a| a.landlord_id).collect(),
            id: row.id,
            village_id: row.village_id,
            title: row.title,
            held_on: row.held_on,
            trainer: row.trainer,
            recorded_by: row.recorded_by,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "出租房消防安全培训", "held_on": "2026-11-20", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "trainer": "陈埭镇消防站 林教官", "landlord_ids": ["01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e01"]}))]
pub struct CreateSession {
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub title: String,
    /// The day the session was held: not in the future.
    #[validate(custom(function = "crate::validation::date"))]
    #[schema(schema_with = crate::validation::schema::date)]
    pub held_on: NaiveDate,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: String,
    /// Who taught it (a person or an organisation).
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub trainer: String,
    /// Landlords of the village who attended; more can be recorded later.
    #[serde(default)]
    #[validate(length(max = 1000))]
    #[schema(max_items = 1000, value_type = Vec<uuid::Uuid>)]
    pub landlord_ids: Vec<String>,
}

/// Who attended a session: replaces the list recorded before.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"landlord_ids": ["01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e01", "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e03"]}))]
pub struct SetAttendees {
    #[validate(length(max = 1000))]
    #[schema(max_items = 1000, value_type = Vec<uuid::Uuid>)]
    pub landlord_ids: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    /// Staff see their own village's; admins any, or all when omitted.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
}
