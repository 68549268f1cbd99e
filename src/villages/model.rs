//! Villages and grids as stored and answered.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::{grids, villages};
use crate::http::etag::Versioned;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = villages, treat_none_as_default_value = false)]
pub struct VillageRow {
    pub id: String,
    pub name: String,
    pub code: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "name": "东湖村", "code": "DONGHU", "created_at": "2026-10-01T08:00:00Z", "updated_at": "2026-10-01T08:00:00Z", "version": 1}))]
pub struct Village {
    pub id: String,
    pub name: String,
    /// 2–8 upper-case letters; the prefix of every registration code in the village.
    pub code: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<VillageRow> for Village {
    fn from(row: VillageRow) -> Self {
        Village {
            id: row.id,
            name: row.name,
            code: row.code,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        }
    }
}

impl Versioned for Village {
    fn version(&self) -> i32 {
        self.version
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = grids, treat_none_as_default_value = false)]
pub struct GridRow {
    pub id: String,
    pub village_id: String,
    pub name: String,
    pub code: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Grid {
    pub id: String,
    pub village_id: String,
    pub name: String,
    pub code: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<GridRow> for Grid {
    fn from(row: GridRow) -> Self {
        Grid {
            id: row.id,
            village_id: row.village_id,
            name: row.name,
            code: row.code,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        }
    }
}

impl Versioned for Grid {
    fn version(&self) -> i32 {
        self.version
    }
}

fn validate_village_code(code: &str) -> Result<(), ValidationError> {
    if (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(ValidationError::new("format").with_message("must be 2 to 8 upper-case letters".into()))
    }
}

fn validate_grid_code(code: &str) -> Result<(), ValidationError> {
    if (1..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(ValidationError::new("format").with_message("must be 1 to 16 upper-case letters, digits or dashes".into()))
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "东湖村", "code": "DONGHU"}))]
pub struct CreateVillage {
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub name: String,
    #[validate(custom(function = "validate_village_code"))]
    #[schema(pattern = "^[A-Z]{2,8}$", example = "DONGHU")]
    pub code: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "第一网格", "code": "G-01"}))]
pub struct CreateGrid {
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub name: String,
    #[validate(custom(function = "validate_grid_code"))]
    #[schema(pattern = "^[A-Z0-9-]{1,16}$", example = "G-01")]
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn village_codes() {
        for good in ["HT", "HTK", "ABCDEFGH"] {
            assert!(validate_village_code(good).is_ok(), "{good}");
        }
        for bad in ["H", "ABCDEFGHI", "htk", "HT1", "HT-K", ""] {
            assert!(validate_village_code(bad).is_err(), "{bad}");
        }
    }
}
