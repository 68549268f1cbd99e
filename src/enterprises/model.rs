//! Enterprises and leases: rows as stored, answers as the API shows them, and the requests.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::enterprises;
use crate::http::etag::Versioned;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enterprises, treat_none_as_default_value = false)]
pub struct EnterpriseRow {
    pub id: String,
    pub village_id: String,
    pub name: String,
    pub unified_social_credit_code: String,
    pub contact_name: String,
    pub contact_phone_encrypted: String,
    pub contact_phone_masked: String,
    pub registered_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// An enterprise that rents units or whole properties (often as worker dormitories).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e50", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "name": "晋江鞋业有限公司", "unified_social_credit_code": "91350100M000100Y43", "contact_name": "陈经理", "contact_phone_masked": "139******78", "registered_by": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e01", "created_at": "2026-11-30T08:00:00Z", "updated_at": "2026-11-30T08:00:00Z", "version": 1}))]
pub struct Enterprise {
    pub id: String,
    pub village_id: String,
    pub name: String,
    /// 统一社会信用代码 (GB 32100), unique in the village.
    pub unified_social_credit_code: String,
    pub contact_name: String,
    /// The first 3 and last 2 digits; the number is stored encrypted and in no answer.
    pub contact_phone_masked: String,
    pub registered_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<EnterpriseRow> for Enterprise {
    fn from(row: EnterpriseRow) -> Self {
        Enterprise {
            id: row.id,
            village_id: row.village_id,
            name: row.name,
            unified_social_credit_code: row.unified_social_credit_code,
            contact_name: row.contact_name,
            contact_phone_masked: row.contact_phone_masked,
            registered_by: row.registered_by,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        }
    }
}

impl Versioned for Enterprise {
    fn version(&self) -> i32 {
        self.version
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "晋江鞋业有限公司", "unified_social_credit_code": "91350100M000100Y43", "contact_name": "陈经理", "contact_phone": "13912345678"}))]
pub struct CreateEnterprise {
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub name: String,
    /// 18 characters from `0-9 A-H J-N P-R T-U W-Y` (capitals), the last the GB 32100 check character.
    #[schema(
        min_length = 18,
        max_length = 18,
        pattern = "^[0-9A-HJ-NP-RT-UW-Y]{18}$",
        example = "91350100M000100Y43"
    )]
    pub unified_social_credit_code: String,
    #[validate(custom(function = "crate::validation::person_name"))]
    #[schema(schema_with = crate::validation::schema::person_name)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub contact_name: String,
    /// Stored encrypted; answers show it masked.
    #[validate(custom(function = "crate::validation::mobile"))]
    #[schema(schema_with = crate::validation::schema::mobile)]
    pub contact_phone: String,
    /// Admins name the village; landlords and staff register in their own (another: 422).
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct EnterpriseFilter {
    /// Only enterprises of this village (within the caller's scope).
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
}

/// Lets a unit or a whole property to an enterprise of its village, named by id or by its code.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enterprise_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e50", "start_date": "2026-12-01"}))]
pub struct LetRequest {
    /// The enterprise (one the caller can see); or give `unified_social_credit_code` instead.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub enterprise_id: Option<String>,
    /// The enterprise's code, looked up in the property's village: a landlord may let to an enterprise someone
    /// else registered.
    #[schema(min_length = 18, max_length = 18, pattern = "^[0-9A-HJ-NP-RT-UW-Y]{18}$")]
    pub unified_social_credit_code: Option<String>,
    #[validate(custom(function = "crate::validation::date"))]
    #[schema(schema_with = crate::validation::schema::date)]
    pub start_date: NaiveDate,
}

/// The current lease of a unit or of a whole property.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    pub property_id: String,
    /// Null for a lease of the whole property.
    pub unit_id: Option<String>,
    pub enterprise_id: String,
    pub start_date: NaiveDate,
}
