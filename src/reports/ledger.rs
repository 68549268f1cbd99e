//! The ledger (台账) as CSV: exported a row per unit, streamed in pages so a town-sized export never sits
//! in memory, and imported from the same layout so spreadsheets kept so far are not lost.

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::Rng;
use serde_json::json;
use validator::Validate;

use crate::accounts::model::{MembershipStatus, UserRow};
use crate::accounts::repo as accounts_repo;
use crate::auth::Role;
use crate::config::Settings;
use crate::csv_import::{
    Line, Rejection, add_new_columns, allowed, guard_formula, read_lines, reject, rule_rejections, settle, typed,
};
use crate::db::Conn;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::registry::model::*;
use crate::registry::repo as registry_repo;
use crate::reports::model::{Created, ImportReport};
use crate::reports::repo::LedgerRow;
use crate::villages::model::VillageRow;

/// The ledger's columns: English key and Chinese name; headers read `中文(english)`.
pub const COLUMNS: &[(&str, &str)] = &[
    ("registration_code", "登记号"),
    ("property_name", "房屋名称"),
    ("address", "地址"),
    ("grid", "网格"),
    ("kind", "房屋类型"),
    ("floors", "楼层数"),
    ("floor_area_m2", "建筑面积"),
    ("mixed_use_residence", "三合一"),
    ("owner_name", "房东姓名"),
    ("owner_phone", "房东电话"),
    ("owner_email", "房东邮箱"),
    ("stars", "星级"),
    ("status", "状态"),
    ("rating_valid_until", "评级有效期"),
    ("unit_label", "单元"),
    ("unit_floor", "所在楼层"),
    ("area_m2", "单元面积"),
    ("unit_kind", "单元类型"),
    ("max_occupants", "核定人数"),
    ("active_tenants", "在住人数"),
    ("overcrowded", "超员"),
    ("open_rectifications", "未完成整改"),
];

/// Columns an import needs; the rest are computed and ignored on import.
const REQUIRED: &[&str] = &[
    "property_name",
    "address",
    "kind",
    "floors",
    "floor_area_m2",
    "owner_name",
    "owner_phone",
    "owner_email",
    "unit_label",
    "unit_floor",
    "area_m2",
    "unit_kind",
];

pub fn header_line() -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(crate::csv_import::BOM.as_bytes().to_vec());
    writer
        .write_record(COLUMNS.iter().map(|(en, zh)| format!("{zh}({en})")))
        .map_err(ApiError::internal)?;
    writer.into_inner().map_err(|e| ApiError::internal(e.into_error()))
}

/// Writes ledger rows as CSV lines. No tenant data is in the ledger: no names, no identity numbers.
pub fn write_rows(
    rows: &[LedgerRow],
    open_orders: &HashMap<String, i64>,
    today: NaiveDate,
) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(rows.len() * 200));
    for (unit, property, grid_code, owner) in rows {
        let status = property.status_on(today);
        writer
            .write_record([
                guard_formula(&property.registration_code).as_ref(),
                &guard_formula(&property.name),
                &guard_formula(&property.address),
                &guard_formula(grid_code.as_deref().unwrap_or("")),
                property.kind.as_str(),
                &property.floors.to_string(),
                &property.floor_area_m2.to_string(),
                if property.mixed_use_residence { "true" } else { "false" },
                &guard_formula(&owner.full_name),
                &guard_formula(owner.phone.as_deref().unwrap_or("")),
                &guard_formula(&owner.email),
                &property.stars.map(|s| s.to_string()).unwrap_or_default(),
                status.as_str(),
                &property.rating_valid_until.map(|d| d.to_string()).unwrap_or_default(),
                &guard_formula(&unit.label),
                &unit.floor.to_string(),
                &unit.area_m2.to_string(),
                unit.kind.as_str(),
                &unit.max_occupants.to_string(),
                &unit.active_tenants.to_string(),
                if unit.active_tenants > unit.max_occupants {
                    "true"
                } else {
                    "false"
                },
                &open_orders.get(&property.id).copied().unwrap_or(0).to_string(),
            ])
            .map_err(ApiError::internal)?;
    }
    writer.into_inner().map_err(|e| ApiError::internal(e.into_error()))
}

/// A landlord as a ledger line names them, checked by the same field rules as a user the API registers.
#[derive(Debug, Clone, Validate)]
struct LedgerOwner {
    #[validate(custom(function = "crate::validation::person_name"))]
    full_name: String,
    #[validate(custom(function = "crate::validation::mobile"))]
    phone: String,
    #[validate(email(message = "must be an e-mail address"), length(max = 254))]
    email: String,
}

/// A line read into the API's own request types, which passed the same `validator` rules as the API.
struct Parsed {
    registration_code: Option<String>,
    property: CreateProperty,
    owner: LedgerOwner,
    unit: CreateUnit,
}

/// The ledger column of each field of the request types a line is read into.
const FIELD_COLUMNS: &[(&str, &str)] = &[
    ("property.name", "property_name"),
    ("property.address", "address"),
    ("property.kind", "kind"),
    ("property.floors", "floors"),
    ("property.floor_area_m2", "floor_area_m2"),
    ("owner.full_name", "owner_name"),
    ("owner.phone", "owner_phone"),
    ("owner.email", "owner_email"),
    ("unit.label", "unit_label"),
    ("unit.floor", "unit_floor"),
    ("unit.area_m2", "area_m2"),
    ("unit.kind", "unit_kind"),
    ("unit.max_occupants", "max_occupants"),
];

/// A number as JSON can carry it: `NaN` and infinities, which Rust reads from text, are not numbers here.
struct Finite(f64);

impl Finite {
    const EXPECTED: &str = "must be a number";
}

impl std::str::FromStr for Finite {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        text.parse::<f64>().ok().filter(|v| v.is_finite()).map(Finite).ok_or(())
    }
}

/// Reads a line into the API's request types and checks them with the API's rules: every bad cell is
/// rejected, each once, and no reason repeats the value.
fn parse_line(line: &Line, village: &VillageRow, grids: &HashMap<String, String>) -> Result<Parsed, Vec<Rejection>> {
    let missing: Vec<&'static str> = REQUIRED
        .iter()
        .copied()
        .filter(|key| line.get(key).is_empty())
        .collect();
    let mut rejected: Vec<Rejection> = missing
        .iter()
        .map(|key| reject(line.number, key, "missing value"))
        .collect();
    let registration_code = registration_code(line, village, &mut rejected);
    let grid_id = grid_id(line, grids, &mut rejected);
    let cells = Cells::read(line, &missing, &mut rejected);
    let parsed = cells.into_parsed(line, village, registration_code, grid_id);
    // The API's rules; a cell already rejected (missing, or not of its type) is not named twice.
    let rules = |part: &str, checked: Result<(), validator::ValidationErrors>| {
        rule_rejections(line.number, part, checked.map_err(ApiError::from), FIELD_COLUMNS)
    };
    for found in [
        rules("property", parsed.property.validate()),
        rules("owner", parsed.owner.validate()),
        rules("unit", parsed.unit.validate()),
    ] {
        add_new_columns(&mut rejected, found);
    }
    if rejected.is_empty() { Ok(parsed) } else { Err(rejected) }
}

/// The line's registration code, when it has one: the village's code, `-` and six digits.
fn registration_code(line: &Line, village: &VillageRow, rejected: &mut Vec<Rejection>) -> Option<String> {
    let code = Some(line.get("registration_code").to_owned()).filter(|c| !c.is_empty())?;
    let well_formed = code
        .strip_prefix(&format!("{}-", village.code))
        .is_some_and(|seq| seq.len() == 6 && seq.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        rejected.push(reject(
            line.number,
            "registration_code",
            format!("must be {}- and six digits", village.code),
        ));
    }
    Some(code)
}

/// The id of the grid the line names by code, when it names one.
fn grid_id(line: &Line, grids: &HashMap<String, String>, rejected: &mut Vec<Rejection>) -> Option<String> {
    let grid = Some(line.get("grid")).filter(|g| !g.is_empty())?;
    let found = grids.get(grid).cloned();
    if found.is_none() {
        rejected.push(reject(line.number, "grid", "no grid with this code in this village"));
    }
    found
}

/// The cells of a line that are not text, read as their types; `None` where the cell is missing or was
/// rejected (the line is then rejected, and the placeholder values its request types get are never used).
struct Cells {
    kind: Option<PropertyKind>,
    floors: Option<i32>,
    floor_area_m2: Option<Finite>,
    unit_floor: Option<i32>,
    area_m2: Option<Finite>,
    unit_kind: Option<UnitKind>,
    max_occupants: Option<i32>,
    mixed_use_residence: Option<bool>,
}

impl Cells {
    fn read(line: &Line, missing: &[&'static str], rejected: &mut Vec<Rejection>) -> Cells {
        const WHOLE: &str = "must be a whole number";
        let present = |key: &'static str| (!missing.contains(&key)).then_some(key);
        Cells {
            kind: present("kind").and_then(|k| typed(line, k, &allowed(PropertyKind::ALL), rejected)),
            floors: present("floors").and_then(|k| typed(line, k, WHOLE, rejected)),
            floor_area_m2: present("floor_area_m2").and_then(|k| typed(line, k, Finite::EXPECTED, rejected)),
            unit_floor: present("unit_floor").and_then(|k| typed(line, k, WHOLE, rejected)),
            area_m2: present("area_m2").and_then(|k| typed(line, k, Finite::EXPECTED, rejected)),
            unit_kind: present("unit_kind").and_then(|k| typed(line, k, &allowed(UnitKind::ALL), rejected)),
            max_occupants: Some("max_occupants")
                .filter(|k| !line.get(k).is_empty())
                .and_then(|k| typed(line, k, WHOLE, rejected)),
            mixed_use_residence: match line.get("mixed_use_residence") {
                "" | "false" | "0" | "否" | "no" => Some(false),
                "true" | "1" | "是" | "yes" => Some(true),
                _ => {
                    rejected.push(reject(line.number, "mixed_use_residence", "must be true or false"));
                    None
                }
            },
        }
    }

    /// The API's request types the line stands for, its text in NFC as the API's JSON reader makes it.
    fn into_parsed(
        self,
        line: &Line,
        village: &VillageRow,
        registration_code: Option<String>,
        grid_id: Option<String>,
    ) -> Parsed {
        let text = |key: &str| crate::validation::to_nfc(line.get(key).to_owned());
        Parsed {
            registration_code,
            property: CreateProperty {
                name: text("property_name"),
                address: text("address"),
                village_id: village.id.clone(),
                grid_id,
                kind: self.kind.unwrap_or(PropertyKind::Apartment),
                floors: self.floors.unwrap_or(1),
                floor_area_m2: self.floor_area_m2.map_or(1.0, |a| a.0),
                mixed_use_residence: self.mixed_use_residence.unwrap_or(false),
                owner_id: None,
            },
            owner: LedgerOwner {
                full_name: text("owner_name"),
                phone: line.get("owner_phone").to_owned(),
                email: line.get("owner_email").to_lowercase(),
            },
            unit: CreateUnit {
                label: text("unit_label"),
                floor: self.unit_floor.unwrap_or(1),
                area_m2: self.area_m2.map_or(1.0, |a| a.0),
                kind: self.unit_kind.unwrap_or(UnitKind::Room),
                max_occupants: self.max_occupants,
            },
        }
    }
}

/// Imports ledger rows into a village. Returns the report and whether the work should be kept: a dry
/// run, or a file with rejected rows imported without `partial`, is rolled back by the caller.
pub fn import(
    conn: &mut Conn,
    actor_id: &str,
    settings: &Settings,
    village: &VillageRow,
    bytes: &[u8],
    dry_run: bool,
    partial: bool,
) -> Result<(ImportReport, bool), ApiError> {
    let mut import = Import {
        settings,
        village,
        grids: HashMap::new(),
        seen_units: HashMap::new(),
        properties: HashMap::new(),
        owners: HashMap::new(),
        report: ImportReport {
            accepted: 0,
            rejected: Vec::new(),
            created: Created::default(),
            dry_run,
            committed: false,
        },
    };
    let lines = match read_lines(bytes, COLUMNS, REQUIRED) {
        Ok(lines) => lines,
        Err(rejections) => {
            import.report.rejected = rejections;
            return Ok((import.report, false));
        }
    };
    import.grids = crate::villages::repo::grid_codes(conn, &village.id)?;
    for line in &lines {
        if let Err(mut rejections) = import.line(conn, line)? {
            import.report.rejected.append(&mut rejections);
        }
    }
    let mut report = import.report;
    let keep = settle(&mut report.rejected, dry_run, partial);
    report.committed = keep;
    if keep {
        crate::audit::record_by(
            conn,
            Some(actor_id),
            crate::audit::Event {
                action: "ledger.imported",
                entity_type: "village",
                entity_id: &village.id,
                village_id: Some(&village.id),
                detail: json!({"accepted": report.accepted, "rejected": report.rejected.len(), "created": report.created}),
            },
        )?;
    }
    Ok((report, keep))
}

/// An import under way: what the lines so far created or named, so that later lines find it.
struct Import<'a> {
    settings: &'a Settings,
    village: &'a VillageRow,
    /// Grid ids by code.
    grids: HashMap<String, String>,
    /// The first line of each (property, unit label).
    seen_units: HashMap<(String, String), u64>,
    properties: HashMap<String, PropertyRow>,
    /// Owners by phone.
    owners: HashMap<String, UserRow>,
    report: ImportReport,
}

impl Import<'_> {
    /// Takes one line: its unit is created (with its property and owner where they are new), or the line is
    /// rejected with its reasons.
    fn line(&mut self, conn: &mut Conn, line: &Line) -> Result<Result<(), Vec<Rejection>>, ApiError> {
        let parsed = match parse_line(line, self.village, &self.grids) {
            Ok(parsed) => parsed,
            Err(rejections) => return Ok(Err(rejections)),
        };
        // A property is known by its registration code, or by name and address when it has none yet.
        let property_key = parsed
            .registration_code
            .clone()
            .unwrap_or_else(|| format!("{}\u{0}{}", parsed.property.name, parsed.property.address));
        let unit_key = (property_key.clone(), parsed.unit.label.clone());
        if let Some(first) = self.seen_units.insert(unit_key, line.number) {
            let reason = format!("this unit is already on line {first}");
            return Ok(Err(vec![reject(line.number, "unit_label", reason)]));
        }
        let owner = match self.owner(conn, &parsed.owner)? {
            Ok(owner) => owner,
            Err(rejection) => {
                return Ok(Err(vec![Rejection {
                    line: line.number,
                    ..rejection
                }]));
            }
        };
        let property = self.property(conn, property_key, &parsed, &owner)?;
        if property.owner_id != owner.id {
            let reason = "the property belongs to another landlord";
            return Ok(Err(vec![reject(line.number, "owner_phone", reason)]));
        }
        if !registry_repo::unit_label_exists(conn, &property.id, &parsed.unit.label)? {
            let at = now();
            let unit = UnitRow::new(&property.id, parsed.unit, self.settings.min_area_per_person_m2, at);
            registry_repo::insert_unit(conn, &unit)?;
            registry_repo::adjust_property_counts(
                conn,
                &property.id,
                registry_repo::CountChange::unit_added(unit.max_occupants),
                at,
            )?;
            self.report.created.units += 1;
        }
        self.report.accepted += 1;
        Ok(Ok(()))
    }

    fn owner(&mut self, conn: &mut Conn, owner: &LedgerOwner) -> Result<Result<UserRow, Rejection>, ApiError> {
        if let Some(known) = self.owners.get(&owner.phone) {
            return Ok(Ok(known.clone()));
        }
        let found = find_or_invite_owner(conn, self.settings, self.village, owner, &mut self.report.created)?;
        if let Ok(user) = &found {
            self.owners.insert(owner.phone.clone(), user.clone());
        }
        Ok(found)
    }

    fn property(
        &mut self,
        conn: &mut Conn,
        key: String,
        parsed: &Parsed,
        owner: &UserRow,
    ) -> Result<PropertyRow, ApiError> {
        if let Some(known) = self.properties.get(&key) {
            return Ok(known.clone());
        }
        let property = find_or_create_property(conn, self.village, parsed, owner, &mut self.report.created)?;
        self.properties.insert(key, property.clone());
        Ok(property)
    }
}

/// The landlord with this phone, or a new active landlord who is e-mailed a one-time link to set a password.
fn find_or_invite_owner(
    conn: &mut Conn,
    settings: &Settings,
    village: &VillageRow,
    owner: &LedgerOwner,
    created: &mut Created,
) -> Result<Result<UserRow, Rejection>, ApiError> {
    if let Some(user) = accounts_repo::find_by_login(conn, &owner.phone)? {
        let is_local_landlord = user.role == Role::Landlord && user.village_id.as_deref() == Some(village.id.as_str());
        return Ok(if is_local_landlord {
            Ok(user)
        } else {
            Err(reject(
                0,
                "owner_phone",
                "this phone belongs to a user who is not a landlord of this village",
            ))
        });
    }
    if accounts_repo::find_by_login(conn, &owner.email)?.is_some() {
        return Ok(Err(reject(0, "owner_email", "this e-mail belongs to another user")));
    }
    let at = now();
    // No password anyone knows: the owner sets one through the e-mailed link.
    let mut unguessable = [0u8; 32];
    rand::rng().fill_bytes(&mut unguessable);
    let user = UserRow {
        id: new_id(),
        full_name: owner.full_name.trim().to_owned(),
        email: owner.email.clone(),
        phone: Some(owner.phone.clone()),
        password_hash: format!("!unset:{}", hex::encode(unguessable)),
        role: Role::Landlord,
        village_id: Some(village.id.clone()),
        membership_status: MembershipStatus::Active,
        created_at: at,
        updated_at: at,
        version: 1,
        active: true,
    };
    accounts_repo::insert(conn, &user)?;
    crate::accounts::links::queue_link(conn, settings, &user, crate::accounts::links::LinkPurpose::Invitation)?;
    created.landlords += 1;
    Ok(Ok(user))
}

fn find_or_create_property(
    conn: &mut Conn,
    village: &VillageRow,
    parsed: &Parsed,
    owner: &UserRow,
    created: &mut Created,
) -> Result<PropertyRow, ApiError> {
    if let Some(existing) = registry_repo::find_for_import(
        conn,
        &village.id,
        parsed.registration_code.as_deref(),
        &parsed.property.name,
        &parsed.property.address,
    )? {
        return Ok(existing);
    }
    let registration_code = match &parsed.registration_code {
        Some(code) => {
            registry_repo::reserve_registration_code(conn, &village.id, code)?;
            code.clone()
        }
        None => registry_repo::next_registration_code(conn, &village.id)?,
    };
    let row = PropertyRow::registered(parsed.property.clone(), registration_code, owner.id.clone(), now());
    registry_repo::insert_property(conn, &row)?;
    created.properties += 1;
    Ok(row)
}
