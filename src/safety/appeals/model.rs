//! Appeals, re-rating requests and owners' replies: rows, answers and requests.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::{appeals, property_replies, rerating_requests};
use crate::http::etag::Versioned;
use crate::text_enum;

/// How many days after `inspected_on` (inclusive) its landlord may appeal an inspection.
pub const APPEAL_WINDOW_DAYS: i64 = 14;

text_enum! {
    /// Where an appeal stands. `upheld`: the property is to be inspected again.
    pub enum AppealStatus {
        Open => "open",
        Upheld => "upheld",
        Rejected => "rejected",
    }
}

text_enum! {
    /// A decision on an appeal.
    pub enum AppealDecision {
        Upheld => "upheld",
        Rejected => "rejected",
    }
}

text_enum! {
    /// Where a re-rating request stands: `closed` once the property was inspected again.
    pub enum ReratingStatus {
        Open => "open",
        Closed => "closed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = appeals, treat_none_as_default_value = false)]
pub struct AppealRow {
    pub id: String,
    pub inspection_id: String,
    pub property_id: String,
    pub appellant_id: String,
    pub reason: String,
    pub status: AppealStatus,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub reinspected_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// A landlord's appeal against an inspection.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Appeal {
    pub id: String,
    pub inspection_id: String,
    pub property_id: String,
    pub appellant_id: String,
    pub reason: String,
    pub status: AppealStatus,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The inspection that followed an upheld appeal, once there is one.
    pub reinspected_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<AppealRow> for Appeal {
    fn from(row: AppealRow) -> Self {
        Appeal {
            id: row.id,
            inspection_id: row.inspection_id,
            property_id: row.property_id,
            appellant_id: row.appellant_id,
            reason: row.reason,
            status: row.status,
            decided_by: row.decided_by,
            decision_reason: row.decision_reason,
            decided_at: row.decided_at.map(|t| t.and_utc()),
            reinspected_by: row.reinspected_by,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        }
    }
}

impl Versioned for Appeal {
    fn version(&self) -> i32 {
        self.version
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "检查当日灭火器已在检修，次日即放回原处"}))]
pub struct CreateAppeal {
    /// Why the inspection's result is wrong.
    #[validate(custom(function = "crate::validation::note"))]
    #[schema(schema_with = crate::validation::schema::note)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub reason: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "rejected", "reason": "检查照片显示灭火器缺失"}))]
pub struct DecideAppeal {
    pub decision: AppealDecision,
    /// Why; required when the appeal is rejected.
    #[validate(custom(function = "crate::validation::remark"))]
    #[schema(schema_with = crate::validation::schema::remark_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct AppealFilter {
    pub status: Option<AppealStatus>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub property_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rerating_requests, treat_none_as_default_value = false)]
pub struct ReratingRow {
    pub id: String,
    pub property_id: String,
    pub requested_by: String,
    pub note: Option<String>,
    pub status: ReratingStatus,
    pub closed_by_inspection_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
}

/// A landlord's request to be inspected again after fixing what failed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReratingRequest {
    pub id: String,
    pub property_id: String,
    pub requested_by: String,
    pub note: Option<String>,
    pub status: ReratingStatus,
    /// The inspection that closed the request.
    pub closed_by_inspection_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<ReratingRow> for ReratingRequest {
    fn from(row: ReratingRow) -> Self {
        ReratingRequest {
            id: row.id,
            property_id: row.property_id,
            requested_by: row.requested_by,
            note: row.note,
            status: row.status,
            closed_by_inspection_id: row.closed_by_inspection_id,
            created_at: row.created_at.and_utc(),
            closed_at: row.closed_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "配电箱已加装漏电保护器，消防通道已清理"}))]
pub struct CreateRerating {
    /// What was fixed.
    #[validate(custom(function = "crate::validation::remark"))]
    #[schema(schema_with = crate::validation::schema::remark_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = property_replies, treat_none_as_default_value = false)]
pub struct ReplyRow {
    pub property_id: String,
    pub text: String,
    pub author_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The owner's reply beside the public rating: the owner's words, not the association's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OwnerReply {
    pub text: String,
    pub updated_at: DateTime<Utc>,
}

impl From<ReplyRow> for OwnerReply {
    fn from(row: ReplyRow) -> Self {
        OwnerReply {
            text: row.text,
            updated_at: row.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "检查后已全部整改完毕，欢迎租客随时查看。"}))]
pub struct SetReply {
    /// Up to 300 characters, shown publicly as the owner's words.
    #[validate(custom(function = "crate::validation::reply"))]
    #[schema(schema_with = crate::validation::schema::reply)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub text: String,
}
