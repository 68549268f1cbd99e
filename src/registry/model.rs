//! Properties, units and tenancies: rows as stored, answers as the API shows them, and the requests.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::db::schema::{properties, tenancies, units};
use crate::http::etag::Versioned;
use crate::text_enum;

text_enum! {
    /// What kind of premises a property is.
    pub enum PropertyKind {
        Apartment => "apartment",
        SharedHouse => "shared_house",
        Factory => "factory",
        Shop => "shop",
        MixedUse => "mixed_use",
    }
}

text_enum! {
    /// A property's standing: `expired` is derived when read from a `rated` property past its validity.
    pub enum PropertyStatus {
        Registered => "registered",
        Rated => "rated",
        Expired => "expired",
        Rectification => "rectification",
        Suspended => "suspended",
        Delisted => "delisted",
    }
}

text_enum! {
    /// What kind of space a unit is.
    pub enum UnitKind {
        Room => "room",
        Apartment => "apartment",
        Dormitory => "dormitory",
        Workshop => "workshop",
    }
}

text_enum! {
    /// The document that identifies a tenant.
    pub enum IdType {
        ResidentId => "resident_id",
        Passport => "passport",
        HkMacauPermit => "hk_macau_permit",
        TaiwanPermit => "taiwan_permit",
        ForeignPermanentId => "foreign_permanent_id",
    }
}

text_enum! {
    /// Derived from a resident ID number.
    pub enum Gender {
        Male => "male",
        Female => "female",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = properties, treat_none_as_default_value = false)]
pub struct PropertyRow {
    pub id: String,
    pub registration_code: String,
    pub owner_id: String,
    pub village_id: String,
    pub grid_id: Option<String>,
    pub name: String,
    pub address: String,
    pub kind: PropertyKind,
    pub floors: i32,
    pub floor_area_m2: f64,
    pub mixed_use_residence: bool,
    pub status: PropertyStatus,
    pub stars: Option<i32>,
    pub score: Option<i32>,
    pub rating_valid_until: Option<NaiveDate>,
    pub active_tenants: i32,
    pub capacity: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The enterprise the whole property is let to, and since when (`enterprises`).
    pub enterprise_id: Option<String>,
    pub enterprise_since: Option<NaiveDate>,
    /// Its units, counted as they are registered (units are never deleted), beside `capacity`.
    pub unit_count: i32,
}

impl PropertyRow {
    /// A newly registered property, not yet rated and with no units.
    pub fn registered(input: CreateProperty, registration_code: String, owner_id: String, at: NaiveDateTime) -> Self {
        PropertyRow {
            id: crate::ids::new_id(),
            registration_code,
            owner_id,
            village_id: input.village_id,
            grid_id: input.grid_id,
            name: input.name.trim().to_owned(),
            address: input.address.trim().to_owned(),
            kind: input.kind,
            floors: input.floors,
            floor_area_m2: input.floor_area_m2,
            mixed_use_residence: input.mixed_use_residence,
            status: PropertyStatus::Registered,
            stars: None,
            score: None,
            rating_valid_until: None,
            active_tenants: 0,
            capacity: 0,
            created_at: at,
            updated_at: at,
            version: 1,
            enterprise_id: None,
            enterprise_since: None,
            unit_count: 0,
        }
    }

    /// The property with a checked change applied (its version is the repository's to raise).
    pub fn apply(&mut self, patch: PatchProperty, at: NaiveDateTime) {
        if let Some(owner_id) = patch.owner_id {
            self.owner_id = owner_id;
        }
        if let Some(grid_id) = patch.grid_id {
            self.grid_id = grid_id;
        }
        if let Some(name) = patch.name {
            self.name = name.trim().to_owned();
        }
        if let Some(address) = patch.address {
            self.address = address.trim().to_owned();
        }
        if let Some(kind) = patch.kind {
            self.kind = kind;
        }
        self.floors = patch.floors.unwrap_or(self.floors);
        self.floor_area_m2 = patch.floor_area_m2.unwrap_or(self.floor_area_m2);
        self.mixed_use_residence = patch.mixed_use_residence.unwrap_or(self.mixed_use_residence);
        self.updated_at = at;
    }

    /// The status as of `today`: a rated property past its validity is `expired`.
    pub fn status_on(&self, today: NaiveDate) -> PropertyStatus {
        match (self.status, self.rating_valid_until) {
            (PropertyStatus::Rated, Some(until)) if until < today => PropertyStatus::Expired,
            (status, _) => status,
        }
    }
}

/// A registered rental premises.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e10", "registration_code": "DONGHU-000001", "owner_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e01", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "grid_id": null, "name": "陈氏出租楼", "address": "东湖村中路12号", "kind": "apartment", "floors": 5, "floor_area_m2": 600.0, "mixed_use_residence": false, "status": "rated", "stars": 4, "score": 86, "rating_valid_until": "2027-11-20", "active_tenants": 12, "capacity": 30, "enterprise_id": null, "enterprise_since": null, "created_at": "2026-11-01T08:00:00Z", "updated_at": "2026-11-20T10:30:00Z", "version": 3}))]
pub struct Property {
    pub id: String,
    /// Village code, a dash and a six-digit sequence, as on the door plaque (`HTK-000123`).
    pub registration_code: String,
    pub owner_id: String,
    pub village_id: String,
    pub grid_id: Option<String>,
    pub name: String,
    pub address: String,
    pub kind: PropertyKind,
    pub floors: i32,
    pub floor_area_m2: f64,
    /// People sleep where goods are made or stored (三合一).
    pub mixed_use_residence: bool,
    pub status: PropertyStatus,
    pub stars: Option<i32>,
    pub score: Option<i32>,
    pub rating_valid_until: Option<NaiveDate>,
    pub active_tenants: i32,
    /// The sum of its units' `max_occupants`.
    pub capacity: i32,
    /// The enterprise the whole property is let to (`PUT /properties/{id}/lease`), else null.
    pub enterprise_id: Option<String>,
    /// The day that lease began.
    pub enterprise_since: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl Property {
    pub fn from_row(row: PropertyRow, today: NaiveDate) -> Result<Self, crate::error::ApiError> {
        Ok(Property {
            status: row.status_on(today),
            kind: row.kind,
            id: row.id,
            registration_code: row.registration_code,
            owner_id: row.owner_id,
            village_id: row.village_id,
            grid_id: row.grid_id,
            name: row.name,
            address: row.address,
            floors: row.floors,
            floor_area_m2: row.floor_area_m2,
            mixed_use_residence: row.mixed_use_residence,
            stars: row.stars,
            score: row.score,
            rating_valid_until: row.rating_valid_until,
            active_tenants: row.active_tenants,
            capacity: row.capacity,
            enterprise_id: row.enterprise_id,
            enterprise_since: row.enterprise_since,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        })
    }
}

impl Versioned for Property {
    fn version(&self) -> i32 {
        self.version
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = units, treat_none_as_default_value = false)]
pub struct UnitRow {
    pub id: String,
    pub property_id: String,
    pub label: String,
    pub floor: i32,
    pub area_m2: f64,
    pub kind: UnitKind,
    pub max_occupants: i32,
    pub max_occupants_fixed: bool,
    pub active_tenants: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The enterprise the unit itself is let to, and since when; its property's lease applies otherwise.
    pub enterprise_id: Option<String>,
    pub enterprise_since: Option<NaiveDate>,
}

impl UnitRow {
    /// A new, empty unit; without an explicit `max_occupants` it follows the area rule.
    pub fn new(property_id: &str, input: CreateUnit, min_area_per_person_m2: f64, at: NaiveDateTime) -> Self {
        UnitRow {
            id: crate::ids::new_id(),
            property_id: property_id.to_owned(),
            label: input.label.trim().to_owned(),
            floor: input.floor,
            area_m2: input.area_m2,
            kind: input.kind,
            max_occupants: input
                .max_occupants
                .unwrap_or_else(|| default_max_occupants(input.area_m2, min_area_per_person_m2)),
            max_occupants_fixed: input.max_occupants.is_some(),
            active_tenants: 0,
            created_at: at,
            updated_at: at,
            version: 1,
            enterprise_id: None,
            enterprise_since: None,
        }
    }
}

/// A room, apartment, dormitory or workshop that tenants occupy. Named `RentalUnit` in the document: `Unit` is a
/// type of its own in Kotlin and Swift.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = RentalUnit)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e20", "property_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e10", "label": "301", "floor": 3, "area_m2": 18.5, "kind": "room", "max_occupants": 2, "active_tenants": 1, "overcrowded": false, "enterprise_id": null, "enterprise_since": null, "created_at": "2026-11-01T08:05:00Z", "updated_at": "2026-11-02T09:00:00Z", "version": 2}))]
pub struct Unit {
    pub id: String,
    pub property_id: String,
    pub label: String,
    pub floor: i32,
    pub area_m2: f64,
    pub kind: UnitKind,
    pub max_occupants: i32,
    pub active_tenants: i32,
    /// More active tenants than `max_occupants`.
    pub overcrowded: bool,
    /// The enterprise the unit itself is let to (`PUT /units/{id}/lease`), else null; a unit with no lease of
    /// its own is let with its property.
    pub enterprise_id: Option<String>,
    /// The day that lease began.
    pub enterprise_since: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl TryFrom<UnitRow> for Unit {
    type Error = crate::error::ApiError;
    fn try_from(row: UnitRow) -> Result<Self, Self::Error> {
        Ok(Unit {
            kind: row.kind,
            overcrowded: row.active_tenants > row.max_occupants,
            id: row.id,
            property_id: row.property_id,
            label: row.label,
            floor: row.floor,
            area_m2: row.area_m2,
            max_occupants: row.max_occupants,
            active_tenants: row.active_tenants,
            enterprise_id: row.enterprise_id,
            enterprise_since: row.enterprise_since,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
        })
    }
}

impl Versioned for Unit {
    fn version(&self) -> i32 {
        self.version
    }
}

/// The most occupants a unit may be given, so that a property's capacity (their sum) stays far from
/// overflowing its column.
pub const MAX_OCCUPANTS: i32 = 10_000;

/// The default occupancy of a unit: its area over the minimum area per person, at least one and at most
/// `MAX_OCCUPANTS`.
pub fn default_max_occupants(area_m2: f64, min_area_per_person_m2: f64) -> i32 {
    ((area_m2 / min_area_per_person_m2).floor() as i32).clamp(1, MAX_OCCUPANTS)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenancies, treat_none_as_default_value = false)]
pub struct TenancyRow {
    pub id: String,
    pub unit_id: String,
    pub property_id: String,
    pub full_name: String,
    pub id_type: IdType,
    pub id_number_encrypted: String,
    pub id_lookup: String,
    pub id_number_masked: String,
    pub phone_encrypted: Option<String>,
    pub phone_masked: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub origin: Option<String>,
    pub employer: Option<String>,
    pub move_in_date: NaiveDate,
    pub move_out_date: Option<NaiveDate>,
    pub declared_at: NaiveDateTime,
    pub late: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The enterprise whose lease covered the unit when the tenancy was declared.
    pub enterprise_id: Option<String>,
    /// When the personal data was erased after the retention period (`crate::retention`).
    pub erased_at: Option<NaiveDateTime>,
}

/// A tenant as every answer but `/identity` shows them: the identity number masked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    pub full_name: String,
    pub id_type: IdType,
    /// A resident ID's first 3 and last 2 characters, any other document's last 2; the rest as `*`.
    pub id_number_masked: String,
    /// The first 3 and last 2 digits.
    pub phone_masked: Option<String>,
    /// From a resident ID, else null.
    pub gender: Option<Gender>,
    /// From a resident ID, else null. The full birth date is only in `/identity`.
    pub birth_year: Option<i32>,
    pub origin: Option<String>,
    pub employer: Option<String>,
}

/// A tenant declaration.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e30", "unit_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e20", "property_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e10", "tenant": {"full_name": "李四", "id_type": "resident_id", "id_number_masked": "110*************39", "phone_masked": "139******78", "gender": "male", "birth_year": 1990, "origin": "四川省", "employer": "晋江鞋业"}, "move_in_date": "2026-11-01", "move_out_date": null, "declared_at": "2026-11-02T09:00:00Z", "late": false, "duplicate_elsewhere": false, "enterprise_id": null, "created_at": "2026-11-02T09:00:00Z", "updated_at": "2026-11-02T09:00:00Z", "version": 1, "erased_at": null}))]
pub struct Tenancy {
    pub id: String,
    pub unit_id: String,
    pub property_id: String,
    pub tenant: TenantView,
    pub move_in_date: NaiveDate,
    pub move_out_date: Option<NaiveDate>,
    pub declared_at: DateTime<Utc>,
    /// Declared more than the deadline after moving in.
    pub late: bool,
    /// The same person is an active tenant in another unit too. Only in auditors' and admins'
    /// answers: to anyone else the key is absent, so that nobody can ask where a number lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_elsewhere: Option<bool>,
    /// The enterprise the unit was let to when the tenant was declared (a company dormitory), else null.
    pub enterprise_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// When the tenant's personal data was erased, the tenancy having ended more than the retention period
    /// ago (`ANZU_RETENTION_DAYS`): `full_name` and `id_number_masked` are then empty and the phone and
    /// employer null; the birth year, gender, origin and dates stay for the statistics. Null until then.
    pub erased_at: Option<DateTime<Utc>>,
}

impl Tenancy {
    /// `duplicate_elsewhere` is `None` for callers who may not see it.
    pub fn from_row(row: TenancyRow, duplicate_elsewhere: Option<bool>) -> Result<Self, crate::error::ApiError> {
        Ok(Tenancy {
            tenant: TenantView {
                id_type: row.id_type,
                gender: row.gender,
                full_name: row.full_name,
                id_number_masked: row.id_number_masked,
                phone_masked: row.phone_masked,
                birth_year: row.birth_date.map(|d| d.year()),
                origin: row.origin,
                employer: row.employer,
            },
            id: row.id,
            unit_id: row.unit_id,
            property_id: row.property_id,
            move_in_date: row.move_in_date,
            move_out_date: row.move_out_date,
            declared_at: row.declared_at.and_utc(),
            late: row.late,
            duplicate_elsewhere,
            enterprise_id: row.enterprise_id,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            version: row.version,
            erased_at: row.erased_at.map(|at| at.and_utc()),
        })
    }
}

impl Versioned for Tenancy {
    fn version(&self) -> i32 {
        self.version
    }
}

/// The full identity document of a tenant, for auditors and admins only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    pub id_type: IdType,
    pub id_number: String,
    /// From a resident ID, else null.
    pub birth_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "陈氏出租楼", "address": "东湖村中路12号", "village_id": "01934b2e-8f3a-7c41-9d2e-5b6a7c8d9e0f", "kind": "apartment", "floors": 5, "floor_area_m2": 600.0, "mixed_use_residence": false}))]
pub struct CreateProperty {
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub name: String,
    #[validate(custom(function = "crate::validation::address"))]
    #[schema(schema_with = crate::validation::schema::address)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub address: String,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: String,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub grid_id: Option<String>,
    pub kind: PropertyKind,
    #[validate(range(min = 1, max = 100, message = "must be 1 to 100"))]
    #[schema(minimum = 1, maximum = 100)]
    #[serde(deserialize_with = "crate::validation::whole")]
    pub floors: i32,
    #[validate(range(
        exclusive_min = 0.0,
        max = 1_000_000.0,
        message = "must be more than 0 and at most 1,000,000"
    ))]
    #[schema(exclusive_minimum = 0.0, maximum = 1_000_000.0)]
    pub floor_area_m2: f64,
    #[serde(default)]
    pub mixed_use_residence: bool,
    /// The landlord who owns it; admins only (a landlord registers for themself).
    #[validate(custom(function = "crate::validation::uuid"))]
    pub owner_id: Option<String>,
}

/// A change to a property: any of the create fields. `status`, `stars`, `score` and
/// `registration_code` are never accepted; `owner_id` only from an admin.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "陈氏公寓", "floors": 6}))]
pub struct PatchProperty {
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub name: Option<String>,
    #[validate(custom(function = "crate::validation::address"))]
    #[schema(schema_with = crate::validation::schema::address_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub address: Option<String>,
    /// Must be the property's own village: registration codes belong to a village.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
    #[validate(custom(function = "crate::validation::uuid"))]
    #[serde(default, deserialize_with = "crate::http::json::double_option")]
    #[schema(value_type = Option<String>)]
    pub grid_id: Option<Option<String>>,
    pub kind: Option<PropertyKind>,
    #[validate(range(min = 1, max = 100, message = "must be 1 to 100"))]
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "crate::validation::whole_option")]
    pub floors: Option<i32>,
    #[validate(range(
        exclusive_min = 0.0,
        max = 1_000_000.0,
        message = "must be more than 0 and at most 1,000,000"
    ))]
    #[schema(exclusive_minimum = 0.0, maximum = 1_000_000.0)]
    pub floor_area_m2: Option<f64>,
    pub mixed_use_residence: Option<bool>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub owner_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "301", "floor": 3, "area_m2": 18.5, "kind": "room", "max_occupants": 2}))]
pub struct CreateUnit {
    #[validate(custom(function = "crate::validation::label"))]
    #[schema(schema_with = crate::validation::schema::label)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub label: String,
    #[validate(range(min = -5, max = 200, message = "must be -5 to 200"))]
    #[schema(minimum = -5, maximum = 200)]
    #[serde(deserialize_with = "crate::validation::whole")]
    pub floor: i32,
    #[validate(range(
        exclusive_min = 0.0,
        max = 100_000.0,
        message = "must be more than 0 and at most 100,000"
    ))]
    #[schema(exclusive_minimum = 0.0, maximum = 100_000.0)]
    pub area_m2: f64,
    pub kind: UnitKind,
    #[validate(range(min = 1, max = MAX_OCCUPANTS, message = "must be 1 to 10,000"))]
    #[schema(minimum = 1, maximum = 10_000)]
    #[serde(default, deserialize_with = "crate::validation::whole_option")]
    pub max_occupants: Option<i32>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"area_m2": 20.0, "max_occupants": 2}))]
pub struct PatchUnit {
    #[validate(custom(function = "crate::validation::label"))]
    #[schema(schema_with = crate::validation::schema::label_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub label: Option<String>,
    #[validate(range(min = -5, max = 200, message = "must be -5 to 200"))]
    #[schema(minimum = -5, maximum = 200)]
    #[serde(default, deserialize_with = "crate::validation::whole_option")]
    pub floor: Option<i32>,
    #[validate(range(
        exclusive_min = 0.0,
        max = 100_000.0,
        message = "must be more than 0 and at most 100,000"
    ))]
    #[schema(exclusive_minimum = 0.0, maximum = 100_000.0)]
    pub area_m2: Option<f64>,
    pub kind: Option<UnitKind>,
    #[validate(range(min = 1, max = MAX_OCCUPANTS, message = "must be 1 to 10,000"))]
    #[schema(minimum = 1, maximum = 10_000)]
    #[serde(default, deserialize_with = "crate::validation::whole_option")]
    pub max_occupants: Option<i32>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    #[validate(custom(function = "crate::validation::person_name"))]
    #[schema(schema_with = crate::validation::schema::person_name)]
    #[serde(deserialize_with = "crate::validation::nfc")]
    pub full_name: String,
    pub id_type: IdType,
    /// Checked by its type's rules (a resident ID: 18 characters with its check character); stored encrypted.
    #[schema(min_length = 5, max_length = 32, pattern = "^[0-9A-Za-z]+$", example = "E12345678")]
    pub id_number: String,
    #[validate(custom(function = "crate::validation::mobile"))]
    #[schema(schema_with = crate::validation::schema::mobile_or_null)]
    pub phone: Option<String>,
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub origin: Option<String>,
    #[validate(custom(function = "crate::validation::short_text"))]
    #[schema(schema_with = crate::validation::schema::short_text_or_null)]
    #[serde(default, deserialize_with = "crate::validation::nfc_option")]
    pub employer: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": {"full_name": "李四", "id_type": "resident_id", "id_number": "110105199003071239", "phone": "13912345678", "origin": "四川省", "employer": "晋江鞋业"}, "move_in_date": "2026-11-01"}))]
pub struct DeclareTenancy {
    #[validate(nested)]
    pub tenant: TenantInput,
    #[validate(custom(function = "crate::validation::date"))]
    #[schema(schema_with = crate::validation::schema::date)]
    pub move_in_date: NaiveDate,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"move_out_date": "2026-12-31"}))]
pub struct MoveOut {
    #[validate(custom(function = "crate::validation::date"))]
    #[schema(schema_with = crate::validation::schema::date)]
    pub move_out_date: NaiveDate,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PropertyFilter {
    #[validate(custom(function = "crate::validation::uuid"))]
    pub village_id: Option<String>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub grid_id: Option<String>,
    pub status: Option<PropertyStatus>,
    #[validate(range(min = 0, max = 5, message = "must be 0 to 5"))]
    #[param(minimum = 0, maximum = 5)]
    pub stars: Option<i32>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub owner_id: Option<String>,
    /// Words to find in the name or address.
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Only properties let to this enterprise, wholly or a unit of them.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub enterprise_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct TenancyFilter {
    #[validate(custom(function = "crate::validation::uuid"))]
    pub property_id: Option<String>,
    #[validate(custom(function = "crate::validation::uuid"))]
    pub unit_id: Option<String>,
    /// Only tenancies not yet ended (true) or only ended ones (false).
    pub active: Option<bool>,
    pub late: Option<bool>,
    /// Only tenancies declared under this enterprise's lease.
    #[validate(custom(function = "crate::validation::uuid"))]
    pub enterprise_id: Option<String>,
}

impl<'a> From<&'a PropertyRow> for crate::notices::outbox::About<'a> {
    fn from(property: &'a PropertyRow) -> Self {
        crate::notices::outbox::About {
            id: &property.id,
            registration_code: &property.registration_code,
            name: &property.name,
            address: &property.address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_occupancy_follows_area() {
        assert_eq!(default_max_occupants(12.0, 5.0), 2);
        assert_eq!(default_max_occupants(4.9, 5.0), 1);
        assert_eq!(default_max_occupants(25.0, 5.0), 5);
        assert_eq!(default_max_occupants(0.5, 5.0), 1);
        assert_eq!(default_max_occupants(100_000.0, 5.0), MAX_OCCUPANTS);
    }
}
