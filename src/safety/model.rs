//! Checklist items, inspections and rectification orders: rows, answers and requests.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::{checklist_items, inspection_results, inspections, rectifications};
use crate::http::etag::Versioned;
use crate::rating::{Outcome, RatingRules, Severity};
use crate::registry::model::PropertyKind;
use crate::text_enum;

text_enum! {
    /// Where a rectification order stands. `superseded`: a later inspection opened a new order for the item.
    pub enum RectificationStatus {
        Open => "open",
        Reported => "reported",
        Resolved => "resolved",
        Overdue => "overdue",
        Superseded => "superseded",
    }
}

impl RectificationStatus {
    /// Still waiting to be fixed.
    pub const PENDING: [RectificationStatus; 3] = [
        RectificationStatus::Open,
        RectificationStatus::Reported,
        RectificationStatus::Overdue,
    ];
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = checklist_items)]
pub struct ChecklistItemRow {
    pub version: i32,
    pub code: String,
    pub position: i32,
    pub category: String,
    pub severity: Severity,
    pub weight: i32,
    pub title_zh: String,
    pub title_en: String,
    pub applies_to: String,
}

impl ChecklistItemRow {
    /// Whether the item is checked on this property. 三合一 premises (people sleeping where goods are
    /// made or stored) get the mixed-use items whatever their kind.
    pub fn applies(&self, kind: PropertyKind, mixed_use_residence: bool) -> bool {
        self.applies_to.trim().is_empty()
            || self
                .kinds()
                .any(|k| k == kind.as_str() || (mixed_use_residence && k == PropertyKind::MixedUse.as_str()))
    }

    fn kinds(&self) -> impl Iterator<Item = &str> {
        self.applies_to.split(',').map(str::trim).filter(|k| !k.is_empty())
    }
}

/// One item of the safety checklist.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChecklistItem {
    pub code: String,
    pub category: String,
    pub severity: Severity,
    pub weight: i32,
    pub title_zh: String,
    pub title_en: String,
    /// Property kinds the item is checked on; empty means all.
    pub applies_to: Vec<PropertyKind>,
}

impl TryFrom<ChecklistItemRow> for ChecklistItem {
    type Error = crate::error::ApiError;
    fn try_from(row: ChecklistItemRow) -> Result<Self, Self::Error> {
        Ok(ChecklistItem {
            severity: row.severity,
            applies_to: row.kinds().map(crate::text_enum::from_db).collect::<Result<_, _>>()?,
            code: row.code,
            category: row.category,
            weight: row.weight,
            title_zh: row.title_zh,
            title_en: row.title_en,
        })
    }
}

/// The checklist in force and the rules that turn results into a rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct Checklist {
    pub version: i32,
    pub items: Vec<ChecklistItem>,
    #[schema(value_type = Object)]
    pub rules: RatingRules,
}

/// What an inspector fills in for one property: the checklist items that apply to it, and beside
/// `training_item` (MGT-02) the owner's training record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InspectionForm {
    pub property_id: String,
    pub checklist_version: i32,
    pub items: Vec<ChecklistItem>,
    /// The item the owner's training informs: `MGT-02`.
    pub training_item: String,
    pub owner_training: crate::accounts::training::model::OwnerTraining,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspections, treat_none_as_default_value = false)]
pub struct InspectionRow {
    pub id: String,
    pub property_id: String,
    pub inspector_id: String,
    pub checklist_version: i32,
    pub inspected_on: NaiveDate,
    pub score: i32,
    pub stars: i32,
    pub valid_until: Option<NaiveDate>,
    pub summary: Option<String>,
    pub next_star: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = inspection_results, treat_none_as_default_value = false)]
pub struct ResultRow {
    pub inspection_id: String,
    pub item_code: String,
    pub position: i32,
    pub outcome: Outcome,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rectifications, treat_none_as_default_value = false)]
pub struct RectificationRow {
    pub id: String,
    pub property_id: String,
    pub inspection_id: String,
    pub item_code: String,
    pub severity: Severity,
    pub due_on: NaiveDate,
    pub status: RectificationStatus,
    pub report_note: Option<String>,
    pub verify_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// An order to fix one failed checklist item by a date.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Rectification {
    pub id: String,
    pub property_id: String,
    pub inspection_id: String,
    pub item_code: String,
    pub severity: Severity,
    pub due_on: NaiveDate,
    pub status: RectificationStatus,
    pub report_note: Option<String>,
    pub verify_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl TryFrom<RectificationRow> for Rectification {
    type Error = crate::error::ApiError;
    fn try_from(row: RectificationRow) -> Result<Self, Self::Error> {
        Ok(Rectification {
            severity: row.severity,
            status: row.status,
            id: row.id,
            property_id: row.property_id,
            inspection_id: row.inspection_id,
            item_code: row.item_code,
            due_on: row.due_on,
            report_note: row.report_note,
            verify_note: row.verify_note,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        })
    }
}

impl Versioned for Rectification {
    fn version(&self) -> i32 {
        self.version
    }
}

/// What to fix to gain a star.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NextStarView {
    /// The stars the property would reach.
    pub stars: i32,
    /// The smallest set of failed items to fix, most severe first.
    pub fix_items: Vec<String>,
}

/// One item's result as recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemResultView {
    pub item_code: String,
    pub outcome: Outcome,
    pub note: Option<String>,
}

/// An inspection and the rating it gave.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Inspection {
    pub id: String,
    pub property_id: String,
    pub inspector_id: String,
    pub checklist_version: i32,
    pub inspected_on: NaiveDate,
    pub score: i32,
    pub stars: i32,
    pub valid_until: Option<NaiveDate>,
    pub summary: Option<String>,
    /// Codes of the failed items.
    pub failed_items: Vec<String>,
    pub results: Vec<ItemResultView>,
    /// The orders this inspection opened.
    pub rectifications: Vec<Rectification>,
    pub next_star: Option<NextStarView>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemResultInput {
    pub item_code: String,
    pub outcome: Outcome,
    #[validate(custom(function = "crate::validation::remark"))]
    #[schema(schema_with = crate::validation::schema::remark_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"inspected_on": "2026-11-20", "results": [{"item_code": "ELEC-03", "outcome": "fail", "note": "配电箱无漏电保护"}, {"item_code": "ESC-01", "outcome": "pass"}], "summary": "整体良好，限期整改配电箱"}))]
pub struct CreateInspection {
    /// Not in the future, and at most 366 days back.
    #[validate(custom(function = "crate::validation::inspection_date"))]
    #[schema(schema_with = crate::validation::schema::date)]
    pub inspected_on: NaiveDate,
    #[validate(nested, length(min = 1, max = 200, message = "give one result per applicable item"))]
    #[schema(min_items = 1, max_items = 200)]
    pub results: Vec<ItemResultInput>,
    #[validate(custom(function = "crate::validation::summary"))]
    #[schema(schema_with = crate::validation::schema::summary_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub summary: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "已加装漏电保护器"}))]
pub struct ReportFix {
    /// What was done.
    #[validate(custom(function = "crate::validation::note"))]
    #[schema(schema_with = crate::validation::schema::note)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub note: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolved": true, "note": "复查合格"}))]
pub struct VerifyFix {
    pub resolved: bool,
    #[validate(custom(function = "crate::validation::note"))]
    #[schema(schema_with = crate::validation::schema::note)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub note: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "消防通道长期堵塞"}))]
pub struct Reason {
    #[validate(custom(function = "crate::validation::note"))]
    #[schema(schema_with = crate::validation::schema::note)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct RectificationFilter {
    #[validate(custom(function = "crate::validation::uuid"))]
    pub property_id: Option<String>,
    pub status: Option<RectificationStatus>,
}
