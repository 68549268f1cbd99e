//! The ledger (台账) as CSV: exported a row per unit, streamed in pages so a town-sized export never sits
//! in memory, and imported from the same layout so spreadsheets kept so far are not lost.

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::RngCore;
use serde_json::json;

use crate::accounts::model::{MembershipStatus, Role, UserRow};
use crate::accounts::repo as accounts_repo;
use crate::config::Settings;
use crate::db::Conn;
use crate::error::ApiError;
use crate::ids::{new_id, now};
use crate::registry::model::*;
use crate::registry::repo as registry_repo;
use crate::reports::model::{Created, ImportReport, Rejection};
use crate::reports::repo::LedgerRow;
use crate::villages::model::VillageRow;

/// The byte-order mark that makes spreadsheet programs read the file as UTF-8.
pub const BOM: &str = "\u{feff}";

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
    let mut writer = csv::Writer::from_writer(BOM.as_bytes().to_vec());
    writer
        .write_record(COLUMNS.iter().map(|(en, zh)| format!("{zh}({en})")))
        .map_err(ApiError::internal)?;
    writer
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))
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
        let status = property.status_on(today)?;
        writer
            .write_record([
                property.registration_code.as_str(),
                &property.name,
                &property.address,
                grid_code.as_deref().unwrap_or(""),
                &property.kind,
                &property.floors.to_string(),
                &property.floor_area_m2.to_string(),
                if property.mixed_use_residence { "true" } else { "false" },
                &owner.full_name,
                owner.phone.as_deref().unwrap_or(""),
                &owner.email,
                &property.stars.map(|s| s.to_string()).unwrap_or_default(),
                status.as_str(),
                &property.rating_valid_until.map(|d| d.to_string()).unwrap_or_default(),
                &unit.label,
                &unit.floor.to_string(),
                &unit.area_m2.to_string(),
                &unit.kind,
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
    writer
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))
}

/// One data line of an imported file, by column key.
struct Line {
    number: u64,
    fields: HashMap<&'static str, String>,
}

impl Line {
    fn get(&self, key: &str) -> &str {
        self.fields.get(key).map(|s| s.trim()).unwrap_or("")
    }
}

fn reject(line: u64, column: &str, reason: impl Into<String>) -> Rejection {
    Rejection {
        line,
        column: column.into(),
        reason: reason.into(),
    }
}

/// Finds each column's position from the header: `中文(english)`, the English key or the Chinese name.
fn column_positions(header: &csv::StringRecord) -> HashMap<&'static str, usize> {
    let mut positions = HashMap::new();
    for (index, title) in header.iter().enumerate() {
        let title = title.trim().trim_start_matches('\u{feff}').trim();
        let inner = title
            .rsplit_once(['(', '（'])
            .map(|(_, rest)| rest.trim_end_matches([')', '）']).trim())
            .unwrap_or(title);
        if let Some((key, _)) = COLUMNS
            .iter()
            .find(|(en, zh)| *en == inner || *en == title || *zh == title)
        {
            positions.insert(*key, index);
        }
    }
    positions
}

/// Parses the file into lines, or rejects it whole when columns are missing.
fn read_lines(bytes: &[u8]) -> Result<Vec<Line>, Vec<Rejection>> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| vec![reject(1, "header", format!("unreadable header: {e}"))])?
        .clone();
    let positions = column_positions(&header);
    let missing: Vec<Rejection> = REQUIRED
        .iter()
        .filter(|c| !positions.contains_key(*c))
        .map(|c| reject(1, c, "the header lacks this column"))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut lines = Vec::new();
    let mut rejections = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let number = record.position().map(|p| p.line()).unwrap_or(0);
                let mut fields = HashMap::new();
                for (key, index) in &positions {
                    if let Some(value) = record.get(*index) {
                        fields.insert(*key, value.to_owned());
                    }
                }
                lines.push(Line { number, fields });
            }
            Err(e) => {
                let number = e.position().map(|p| p.line()).unwrap_or(0);
                rejections.push(reject(number, "row", format!("unreadable row: {e}")));
            }
        }
    }
    if rejections.is_empty() {
        Ok(lines)
    } else {
        Err(rejections)
    }
}

/// A line checked into what it describes.
struct Parsed {
    registration_code: Option<String>,
    name: String,
    address: String,
    grid_id: Option<String>,
    kind: PropertyKind,
    floors: i32,
    floor_area_m2: f64,
    mixed_use_residence: bool,
    owner_name: String,
    owner_phone: String,
    owner_email: String,
    unit_label: String,
    unit_floor: i32,
    area_m2: f64,
    unit_kind: UnitKind,
    max_occupants: Option<i32>,
}

fn parse_line(line: &Line, village: &VillageRow, grids: &HashMap<String, String>) -> Result<Parsed, Rejection> {
    let n = line.number;
    for key in REQUIRED {
        if line.get(key).is_empty() {
            return Err(reject(n, key, "missing value"));
        }
    }
    let number = |key: &str| line.get(key).parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0);
    let whole = |key: &str| line.get(key).parse::<i32>().ok();
    let code = Some(line.get("registration_code").to_owned()).filter(|c| !c.is_empty());
    if let Some(code) = &code
        && !code
            .strip_prefix(&format!("{}-", village.code))
            .is_some_and(|seq| seq.len() == 6 && seq.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(reject(
            n,
            "registration_code",
            format!("must be {}- and six digits", village.code),
        ));
    }
    let grid_id = match line.get("grid") {
        "" => None,
        grid => Some(
            grids
                .get(grid)
                .cloned()
                .ok_or_else(|| reject(n, "grid", format!("no grid {grid} in this village")))?,
        ),
    };
    let phone = line.get("owner_phone").to_owned();
    if crate::validation::mobile(&phone).is_err() {
        return Err(reject(n, "owner_phone", "must be 11 digits starting with 1"));
    }
    let email = line.get("owner_email").to_lowercase();
    if !validator::ValidateEmail::validate_email(&email) {
        return Err(reject(n, "owner_email", "must be an e-mail address"));
    }
    Ok(Parsed {
        registration_code: code,
        name: line.get("property_name").to_owned(),
        address: line.get("address").to_owned(),
        grid_id,
        kind: line
            .get("kind")
            .parse()
            .map_err(|_| reject(n, "kind", "unknown property kind"))?,
        floors: whole("floors")
            .filter(|f| (1..=100).contains(f))
            .ok_or_else(|| reject(n, "floors", "must be 1 to 100"))?,
        floor_area_m2: number("floor_area_m2")
            .ok_or_else(|| reject(n, "floor_area_m2", "must be a positive number"))?,
        mixed_use_residence: matches!(line.get("mixed_use_residence"), "true" | "1" | "是" | "yes"),
        owner_name: line.get("owner_name").to_owned(),
        owner_phone: phone,
        owner_email: email,
        unit_label: line.get("unit_label").to_owned(),
        unit_floor: whole("unit_floor")
            .filter(|f| (-5..=200).contains(f))
            .ok_or_else(|| reject(n, "unit_floor", "must be -5 to 200"))?,
        area_m2: number("area_m2").ok_or_else(|| reject(n, "area_m2", "must be a positive number"))?,
        unit_kind: line
            .get("unit_kind")
            .parse()
            .map_err(|_| reject(n, "unit_kind", "unknown unit kind"))?,
        max_occupants: match line.get("max_occupants") {
            "" => None,
            text => Some(
                text.parse::<i32>()
                    .ok()
                    .filter(|m| *m >= 1)
                    .ok_or_else(|| reject(n, "max_occupants", "must be a whole number of at least 1"))?,
            ),
        },
    })
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
    let mut report = ImportReport {
        accepted: 0,
        rejected: Vec::new(),
        created: Created::default(),
        dry_run,
        committed: false,
    };
    let lines = match read_lines(bytes) {
        Ok(lines) => lines,
        Err(rejections) => {
            report.rejected = rejections;
            return Ok((report, false));
        }
    };
    let grids: HashMap<String, String> = crate::villages::repo::grid_codes(conn, &village.id)?;
    let mut seen_units: HashMap<(String, String), u64> = HashMap::new();
    let mut properties_by_key: HashMap<String, PropertyRow> = HashMap::new();
    let mut owners: HashMap<String, UserRow> = HashMap::new();
    for line in &lines {
        let parsed = match parse_line(line, village, &grids) {
            Ok(parsed) => parsed,
            Err(rejection) => {
                report.rejected.push(rejection);
                continue;
            }
        };
        // A property is known by its registration code, or by name and address when it has none yet.
        let property_key = parsed
            .registration_code
            .clone()
            .unwrap_or_else(|| format!("{}\u{0}{}", parsed.name, parsed.address));
        if let Some(first) = seen_units.insert((property_key.clone(), parsed.unit_label.clone()), line.number) {
            report.rejected.push(reject(
                line.number,
                "unit_label",
                format!("unit {} is already on line {first}", parsed.unit_label),
            ));
            continue;
        }
        let owner = match owners.get(&parsed.owner_phone) {
            Some(owner) => owner.clone(),
            None => match find_or_invite_owner(conn, settings, village, &parsed, &mut report.created)? {
                Ok(owner) => {
                    owners.insert(parsed.owner_phone.clone(), owner.clone());
                    owner
                }
                Err(rejection) => {
                    report.rejected.push(Rejection {
                        line: line.number,
                        ..rejection
                    });
                    continue;
                }
            },
        };
        let property = match properties_by_key.get(&property_key) {
            Some(p) => p.clone(),
            None => {
                let property = find_or_create_property(conn, village, &parsed, &owner, &mut report.created)?;
                properties_by_key.insert(property_key, property.clone());
                property
            }
        };
        if property.owner_id != owner.id {
            report.rejected.push(reject(
                line.number,
                "owner_phone",
                "the property belongs to another landlord",
            ));
            continue;
        }
        if !registry_repo::unit_label_exists(conn, &property.id, &parsed.unit_label)? {
            let at = now();
            let input = CreateUnit {
                label: parsed.unit_label.clone(),
                floor: parsed.unit_floor,
                area_m2: parsed.area_m2,
                kind: parsed.unit_kind,
                max_occupants: parsed.max_occupants,
            };
            let unit = UnitRow::new(&property.id, input, settings.min_area_per_person_m2, at);
            registry_repo::insert_unit(conn, &unit)?;
            registry_repo::adjust_property_counts(conn, &property.id, 0, unit.max_occupants, at)?;
            report.created.units += 1;
        }
        report.accepted += 1;
    }
    let keep = !dry_run && (partial || report.rejected.is_empty());
    report.committed = keep;
    report.rejected.sort_by_key(|r| r.line);
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

/// The landlord with this phone, or a new active landlord who is e-mailed a one-time link to set a password.
fn find_or_invite_owner(
    conn: &mut Conn,
    settings: &Settings,
    village: &VillageRow,
    parsed: &Parsed,
    created: &mut Created,
) -> Result<Result<UserRow, Rejection>, ApiError> {
    if let Some(user) = accounts_repo::find_by_login(conn, &parsed.owner_phone)? {
        let is_local_landlord =
            user.role()? == Role::Landlord && user.village_id.as_deref() == Some(village.id.as_str());
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
    if accounts_repo::find_by_login(conn, &parsed.owner_email)?.is_some() {
        return Ok(Err(reject(0, "owner_email", "this e-mail belongs to another user")));
    }
    let at = now();
    // No password anyone knows: the owner sets one through the e-mailed link.
    let mut unguessable = [0u8; 32];
    rand::rng().fill_bytes(&mut unguessable);
    let user = UserRow {
        id: new_id(),
        full_name: parsed.owner_name.clone(),
        email: parsed.owner_email.clone(),
        phone: Some(parsed.owner_phone.clone()),
        password_hash: format!("!unset:{}", hex::encode(unguessable)),
        role: Role::Landlord.as_str().into(),
        village_id: Some(village.id.clone()),
        membership_status: MembershipStatus::Active.as_str().into(),
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
        &parsed.name,
        &parsed.address,
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
    let input = CreateProperty {
        name: parsed.name.clone(),
        address: parsed.address.clone(),
        village_id: village.id.clone(),
        grid_id: parsed.grid_id.clone(),
        kind: parsed.kind,
        floors: parsed.floors,
        floor_area_m2: parsed.floor_area_m2,
        mixed_use_residence: parsed.mixed_use_residence,
        owner_id: None,
    };
    let row = PropertyRow::registered(input, registration_code, owner.id.clone(), now());
    registry_repo::insert_property(conn, &row)?;
    created.properties += 1;
    Ok(row)
}
