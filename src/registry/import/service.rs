//! Reading a file of workers into declarations (before the transaction: it needs no database, and the
//! encryption need not hold the writer), then declaring them one by one by the single declaration's rules.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde_json::json;
use validator::Validate;

use crate::accounts::model::UserRow;
use crate::accounts::repo as accounts_repo;
use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::config::Settings;
use crate::crypto::IdentityCipher;
use crate::csv_import::{Columns, Line, Rejection, add_new_columns, allowed, read_lines, reject, rule_rejections};
use crate::db::Conn;
use crate::error::ApiError;
use crate::registry::import::model::{DeclarationsCreated, TenancyImportQuery, TenancyImportReport};
use crate::registry::model::{DeclareTenancy, IdType, PropertyRow, TenancyRow, TenantInput, UnitRow};
use crate::registry::repo;
use crate::registry::service::{self, PreparedTenant};
use crate::validation::to_nfc;

/// Most data lines in one file: a dormitory of a few hundred workers fits many times over, and a file
/// stays one transaction of a bounded length.
pub const MAX_LINES: usize = 2_000;

/// The columns of a file of workers: English key and the Chinese names a spreadsheet may give them.
pub const COLUMNS: Columns = &[
    ("unit_label", "单元"),
    ("unit_label", "房号"),
    ("unit_label", "房间"),
    ("full_name", "姓名"),
    ("full_name", "name"),
    ("id_type", "证件类型"),
    ("id_number", "证件号码"),
    ("id_number", "身份证号"),
    ("id_number", "身份证号码"),
    ("phone", "电话"),
    ("phone", "手机"),
    ("phone", "手机号"),
    ("phone", "联系电话"),
    ("origin", "籍贯"),
    ("origin", "户籍地"),
    ("employer", "工作单位"),
    ("move_in_date", "入住日期"),
];

/// Columns every file needs; a per-property file needs `unit_label` too.
fn required(per_property: bool) -> &'static [&'static str] {
    if per_property {
        &["unit_label", "full_name", "id_number", "move_in_date"]
    } else {
        &["full_name", "id_number", "move_in_date"]
    }
}

/// The column of each field of the single declaration's request.
const FIELD_COLUMNS: &[(&str, &str)] = &[
    ("tenant.full_name", "full_name"),
    ("tenant.id_type", "id_type"),
    ("tenant.id_number", "id_number"),
    ("tenant.phone", "phone"),
    ("tenant.origin", "origin"),
    ("tenant.employer", "employer"),
    ("move_in_date", "move_in_date"),
];

/// The document types by the names a spreadsheet may use besides the API's own.
const ID_TYPE_NAMES: &[(&str, IdType)] = &[
    ("身份证", IdType::ResidentId),
    ("居民身份证", IdType::ResidentId),
    ("护照", IdType::Passport),
    ("港澳通行证", IdType::HkMacauPermit),
    ("港澳居民来往内地通行证", IdType::HkMacauPermit),
    ("台胞证", IdType::TaiwanPermit),
    ("台湾居民来往大陆通行证", IdType::TaiwanPermit),
    ("外国人永久居留身份证", IdType::ForeignPermanentId),
    ("永久居留证", IdType::ForeignPermanentId),
];

/// The date forms a spreadsheet writes.
const DATE_FORMATS: [&str; 4] = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"];

/// Where a file declares: one unit, or the units of a property, each line naming its unit.
pub enum Target {
    Unit(String),
    Property(String),
}

/// A line checked and protected, ready to declare.
pub struct ReadyLine {
    number: u64,
    unit_label: Option<String>,
    tenant: PreparedTenant,
}

/// A file read: its good lines, and the rejections of the others.
pub struct ReadFile {
    lines: Vec<ReadyLine>,
    rejected: Vec<Rejection>,
}

/// Reads a file of workers by the single declaration's rules (`prepare_tenant`); a person on two lines is
/// rejected on the second. 422 naming `body` for a file of more than [`MAX_LINES`] lines.
pub fn read_file(cipher: &IdentityCipher, bytes: &[u8], per_property: bool) -> Result<ReadFile, ApiError> {
    let lines = match read_lines(bytes, COLUMNS, required(per_property)) {
        Ok(lines) => lines,
        Err(rejected) => {
            return Ok(ReadFile {
                lines: Vec::new(),
                rejected,
            });
        }
    };
    if lines.len() > MAX_LINES {
        return Err(ApiError::invalid(
            "body",
            "too_many_lines",
            format!("a file may hold at most {MAX_LINES} lines of workers; split it"),
        ));
    }
    let mut file = ReadFile {
        lines: Vec::with_capacity(lines.len()),
        rejected: Vec::new(),
    };
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    for line in &lines {
        match read_line(cipher, line, per_property)? {
            Ok(ready) => {
                if let Some(first) = first_line_of.get(ready.tenant.lookup()) {
                    let reason = format!("the same person is already on line {first}");
                    file.rejected.push(reject(line.number, "id_number", reason));
                } else {
                    first_line_of.insert(ready.tenant.lookup().to_owned(), line.number);
                    file.lines.push(ready);
                }
            }
            Err(mut rejections) => file.rejected.append(&mut rejections),
        }
    }
    Ok(file)
}

/// Reads one line into the single declaration's request and prepares it as a single declaration is
/// prepared: every bad cell is rejected, each once, and no reason repeats the value.
fn read_line(
    cipher: &IdentityCipher,
    line: &Line,
    per_property: bool,
) -> Result<Result<ReadyLine, Vec<Rejection>>, ApiError> {
    let mut rejected: Vec<Rejection> = required(per_property)
        .iter()
        .filter(|key| line.get(key).is_empty())
        .map(|key| reject(line.number, key, "missing value"))
        .collect();
    let id_type = id_type(line, &mut rejected);
    let move_in_date = move_in_date(line, &mut rejected);
    let optional = |key: &str| Some(line.get(key)).filter(|v| !v.is_empty()).map(str::to_owned);
    let request = DeclareTenancy {
        tenant: TenantInput {
            full_name: to_nfc(line.get("full_name").to_owned()),
            id_type: id_type.unwrap_or(IdType::ResidentId),
            id_number: line.get("id_number").to_owned(),
            phone: optional("phone"),
            origin: optional("origin").map(to_nfc),
            employer: optional("employer").map(to_nfc),
        },
        // A placeholder where the date was rejected: the line is then rejected, and it is never used.
        move_in_date: move_in_date.unwrap_or_else(crate::ids::today),
    };
    let rules = request.validate().map_err(ApiError::from);
    add_new_columns(&mut rejected, rule_rejections(line.number, "", rules, FIELD_COLUMNS));
    let prepared = match service::prepare_tenant(cipher, request) {
        Ok(prepared) => Some(prepared),
        Err(err @ ApiError::Validation(_)) => {
            // A number read as the wrong type of document is no second fault of the line.
            let found = rule_rejections(line.number, "", Err(err), FIELD_COLUMNS)
                .into_iter()
                .filter(|r| id_type.is_some() || r.column != "id_number")
                .collect();
            add_new_columns(&mut rejected, found);
            None
        }
        Err(other) => return Err(other),
    };
    Ok(match prepared {
        Some(tenant) if rejected.is_empty() => Ok(ReadyLine {
            number: line.number,
            unit_label: Some(to_nfc(line.get("unit_label").to_owned())).filter(|_| per_property),
            tenant,
        }),
        _ => Err(rejected),
    })
}

/// The line's document type: the API's name or a Chinese one; a resident ID when the cell is empty.
fn id_type(line: &Line, rejected: &mut Vec<Rejection>) -> Option<IdType> {
    let cell = line.get("id_type");
    if cell.is_empty() {
        return Some(IdType::ResidentId);
    }
    let found = cell.parse::<IdType>().ok().or_else(|| {
        ID_TYPE_NAMES
            .iter()
            .find(|(name, _)| *name == cell)
            .map(|(_, id_type)| *id_type)
    });
    if found.is_none() {
        rejected.push(reject(line.number, "id_type", allowed(IdType::ALL)));
    }
    found
}

fn move_in_date(line: &Line, rejected: &mut Vec<Rejection>) -> Option<NaiveDate> {
    let cell = line.get("move_in_date");
    if cell.is_empty() {
        return None;
    }
    let found = DATE_FORMATS
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(cell, format).ok());
    if found.is_none() {
        rejected.push(reject(line.number, "move_in_date", "must be a date: YYYY-MM-DD"));
    }
    found
}

/// Where the lines go: the property and its units by label (one unit for a unit's file).
pub struct Place {
    target: Target,
    property: PropertyRow,
    owner: UserRow,
    units: HashMap<String, UnitRow>,
}

impl Place {
    /// The label a line's unit is known by here.
    fn label_of(&self, line: &ReadyLine) -> String {
        match &self.target {
            Target::Unit(_) => self.units.keys().next().cloned().unwrap_or_default(),
            Target::Property(_) => line.unit_label.clone().unwrap_or_default(),
        }
    }
}

/// The unit or property a file declares into, if the caller may declare there: as the single declaration
/// decides it (404 outside the caller's scope, 403 for a caller who sees it but may not declare).
pub fn authorize(conn: &mut Conn, caller: &Caller, target: Target) -> Result<Place, ApiError> {
    let (property, owner, units) = match &target {
        Target::Unit(id) => {
            let service::Site { unit, property, owner } = service::declarable_unit(conn, caller, id)?;
            (property, owner, vec![unit])
        }
        Target::Property(id) => {
            let property = repo::find_property(conn, caller, id)?;
            let owner = accounts_repo::find(conn, &property.owner_id)?;
            service::require_declarer(caller, &property, &owner)?;
            let units = repo::units_of_property(conn, &property.id)?;
            (property, owner, units)
        }
    };
    Ok(Place {
        target,
        property,
        owner,
        units: units.into_iter().map(|u| (u.label.clone(), u)).collect(),
    })
}

/// Declares the file's good lines, each by the single declaration's rules, and reports; answers whether
/// the work is kept (as the ledger import: not on a dry run, nor with a rejected line unless `partial`).
pub fn declare_all(
    conn: &mut Conn,
    caller: &Caller,
    settings: &Settings,
    mut place: Place,
    file: ReadFile,
    mode: &TenancyImportQuery,
) -> Result<(TenancyImportReport, bool), ApiError> {
    let mut rejected = file.rejected;
    let mut declared: Vec<(u64, TenancyRow)> = Vec::with_capacity(file.lines.len());
    let mut touched = BTreeSet::new();
    for line in file.lines {
        let label = place.label_of(&line);
        let Some(unit) = place.units.get(&label).cloned() else {
            rejected.push(reject(
                line.number,
                "unit_label",
                "no unit with this label in the property",
            ));
            continue;
        };
        // Checked first, line by line: the unique index would refuse the insert too, but on PostgreSQL that
        // failure ends the whole import's transaction.
        if repo::is_active_in_unit(conn, &unit.id, line.tenant.lookup())? {
            rejected.push(reject(
                line.number,
                "id_number",
                "this person already lives in this unit",
            ));
            continue;
        }
        let done = service::record_declaration(conn, settings, unit, &place.property, &place.owner, line.tenant)?;
        declared.push((line.number, done.tenancy));
        touched.insert(label.clone());
        place.units.insert(label, done.unit);
    }
    let keep = crate::csv_import::settle(&mut rejected, mode.dry_run, mode.partial);
    let report = TenancyImportReport {
        accepted: declared.len(),
        rejected,
        created: DeclarationsCreated {
            tenancies: if keep { declared.len() } else { 0 },
        },
        late_lines: declared.iter().filter(|(_, t)| t.late).map(|(n, _)| *n).collect(),
        overcrowded_units: touched
            .iter()
            .filter_map(|label| place.units.get(label))
            .filter(|u| u.active_tenants > u.max_occupants)
            .map(|u| u.id.clone())
            .collect(),
        duplicate_elsewhere_lines: duplicate_elsewhere_lines(conn, caller, &declared)?,
        dry_run: mode.dry_run,
        committed: keep,
    };
    if keep {
        audit_import(conn, caller, &place, &report)?;
    }
    Ok((report, keep))
}

/// The lines whose person also lives in another unit, for the callers who may know it (as a tenancy's
/// `duplicate_elsewhere`).
fn duplicate_elsewhere_lines(
    conn: &mut Conn,
    caller: &Caller,
    declared: &[(u64, TenancyRow)],
) -> Result<Option<Vec<u64>>, ApiError> {
    if !service::sees_duplicates(caller) {
        return Ok(None);
    }
    let mut lines = Vec::new();
    for chunk in declared.chunks(500) {
        let rows: Vec<TenancyRow> = chunk.iter().map(|(_, t)| t.clone()).collect();
        let found = repo::duplicated_elsewhere(conn, &rows)?;
        lines.extend(chunk.iter().filter(|(_, t)| found.contains(&t.id)).map(|(n, _)| *n));
    }
    Ok(Some(lines))
}

/// One audit event for the whole file, with its counts and no personal data.
fn audit_import(conn: &mut Conn, caller: &Caller, place: &Place, report: &TenancyImportReport) -> Result<(), ApiError> {
    let (entity_type, entity_id) = match &place.target {
        Target::Unit(_) => ("unit", place.units.values().next().map_or("", |u| u.id.as_str())),
        Target::Property(_) => ("property", place.property.id.as_str()),
    };
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "tenancies.imported",
            entity_type,
            entity_id,
            village_id: Some(&place.property.village_id),
            detail: json!({"accepted": report.accepted, "rejected": report.rejected.len(),
                           "late": report.late_lines.len(), "overcrowded_units": report.overcrowded_units.len()}),
        },
    )
}
