//! The register's rules between HTTP and the queries: who may register, change and declare what,
//! and what each change does to counters and the audit log. Each function runs inside one transaction.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::json;

use crate::accounts::model::{MembershipStatus, UserRow};
use crate::accounts::repo as accounts_repo;
use crate::audit::{self, Event};
use crate::auth::Caller;
use crate::auth::Role;
use crate::config::Settings;
use crate::crypto::{Binding, IdentityCipher};
use crate::db::Conn;
use crate::error::{ApiError, FieldError};
use crate::http::etag::IfMatch;
use crate::ids::{new_id, now, today};
use crate::registry::identity::{self, DocumentNumber};
use crate::registry::model::*;
use crate::registry::notices;
use crate::registry::repo::{self, CountChange};
use crate::villages::repo as villages_repo;

/// How far ahead a move-in may be declared.
const MAX_MOVE_IN_AHEAD_DAYS: i64 = 30;

/// Whether the caller may learn that a tenant lives in another unit too: auditors and admins only, so
/// that no landlord can declare a number to ask whether it lives elsewhere.
pub fn sees_duplicates(caller: &Caller) -> bool {
    matches!(caller.role, Role::Admin | Role::Auditor)
}

/// Refuses callers who may see a property but not change it (only its owner and admins may).
fn require_owner_or_admin(caller: &Caller, property: &PropertyRow) -> Result<(), ApiError> {
    if caller.is_admin() || (caller.role == Role::Landlord && caller.user_id == property.owner_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only the owner or an admin may change this.".into(),
        ))
    }
}

/// Who keeps their records up to date: declarations, move-outs, corrections to their properties and units,
/// and reports of fixed rectification orders.
/// A suspended landlord still does; an expelled or a pending one reads, and changes nothing.
pub const KEEPS_RECORDS: &[MembershipStatus] = &[MembershipStatus::Active, MembershipStatus::Suspended];

/// Refuses a landlord whose membership is not in `allowed` (403 `membership-inactive`).
pub fn require_membership(conn: &mut Conn, caller: &Caller, allowed: &[MembershipStatus]) -> Result<(), ApiError> {
    if caller.role != Role::Landlord {
        return Ok(());
    }
    let status = accounts_repo::find(conn, &caller.user_id)?.membership_status;
    require_status(status, allowed)
}

fn require_status(status: MembershipStatus, allowed: &[MembershipStatus]) -> Result<(), ApiError> {
    if allowed.contains(&status) {
        Ok(())
    } else {
        Err(ApiError::MembershipInactive(format!(
            "A {status} membership does not allow this."
        )))
    }
}

fn require_grid_in_village(conn: &mut Conn, grid_id: Option<&str>, village_id: &str) -> Result<(), ApiError> {
    if let Some(grid_id) = grid_id
        && !villages_repo::grid_in_village(conn, grid_id, village_id)?
    {
        return Err(ApiError::invalid(
            "grid_id",
            "unknown",
            "no grid with this id in the property's village",
        ));
    }
    Ok(())
}

pub fn register_property(conn: &mut Conn, caller: &Caller, input: CreateProperty) -> Result<PropertyRow, ApiError> {
    let owner_id = match caller.role {
        Role::Landlord => {
            if input.owner_id.as_ref().is_some_and(|id| *id != caller.user_id) {
                return Err(ApiError::invalid(
                    "owner_id",
                    "not_allowed",
                    "a landlord registers properties for themself",
                ));
            }
            require_membership(conn, caller, &[MembershipStatus::Active])?;
            caller.user_id.clone()
        }
        Role::Admin => input
            .owner_id
            .clone()
            .ok_or_else(|| ApiError::invalid("owner_id", "required", "name the landlord who owns the property"))?,
        Role::Auditor | Role::Inspector => {
            return Err(ApiError::Forbidden(
                "Only landlords and admins register properties.".into(),
            ));
        }
    };
    villages_repo::require_exists(conn, &input.village_id, "village_id")?;
    let owner = find_landlord(conn, &owner_id)?;
    if owner.role != Role::Landlord {
        return Err(ApiError::invalid("owner_id", "role", "the owner must be a landlord"));
    }
    if owner.village_id.as_deref() != Some(input.village_id.as_str()) {
        return Err(ApiError::invalid(
            "village_id",
            "mismatch",
            "a property is registered in its owner's village",
        ));
    }
    require_grid_in_village(conn, input.grid_id.as_deref(), &input.village_id)?;

    let registration_code = repo::next_registration_code(conn, &input.village_id)?;
    let row = PropertyRow::registered(input, registration_code, owner_id, now());
    repo::insert_property(conn, &row)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "property.registered",
            entity_type: "property",
            entity_id: &row.id,
            village_id: Some(&row.village_id),
            detail: json!({"registration_code": row.registration_code, "owner_id": row.owner_id}),
        },
    )?;
    Ok(row)
}

pub fn change_property(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    patch: PatchProperty,
) -> Result<PropertyRow, ApiError> {
    let mut row = repo::find_property(conn, caller, id)?;
    require_owner_or_admin(caller, &row)?;
    require_membership(conn, caller, KEEPS_RECORDS)?;
    if_match.check(row.version)?;
    refuse_forbidden_changes(caller, &row, &patch)?;
    if let Some(owner_id) = &patch.owner_id {
        require_landlord_of_village(conn, owner_id, &row.village_id)?;
    }
    if let Some(grid_id) = &patch.grid_id {
        require_grid_in_village(conn, grid_id.as_deref(), &row.village_id)?;
    }
    row.apply(patch, now());
    let previous_version = row.version;
    repo::update_property(conn, &row, previous_version)?;
    row.version = previous_version + 1;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "property.changed",
            entity_type: "property",
            entity_id: &row.id,
            village_id: Some(&row.village_id),
            detail: json!({"version": row.version}),
        },
    )?;
    Ok(row)
}

/// A change only an admin may make, or none may: every such field named at once.
fn refuse_forbidden_changes(caller: &Caller, row: &PropertyRow, patch: &PatchProperty) -> Result<(), ApiError> {
    let mut refused = Vec::new();
    if patch.owner_id.is_some() && !caller.is_admin() {
        refused.push(FieldError::new(
            "owner_id",
            "not_allowed",
            "only an admin may change the owner",
        ));
    }
    if patch.village_id.as_ref().is_some_and(|v| *v != row.village_id) {
        refused.push(FieldError::new(
            "village_id",
            "immutable",
            "a property cannot move to another village",
        ));
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(refused))
    }
}

/// The user an `owner_id` names: 422 when there is none (only then: any other failure stays what it is).
fn find_landlord(conn: &mut Conn, owner_id: &str) -> Result<crate::accounts::model::UserRow, ApiError> {
    accounts_repo::find(conn, owner_id).map_err(|e| match e {
        ApiError::NotFound => ApiError::invalid("owner_id", "unknown", "no landlord has this id"),
        other => other,
    })
}

/// A new owner must be a landlord of the property's village.
fn require_landlord_of_village(conn: &mut Conn, owner_id: &str, village_id: &str) -> Result<(), ApiError> {
    let owner = find_landlord(conn, owner_id)?;
    if owner.role != Role::Landlord || owner.village_id.as_deref() != Some(village_id) {
        return Err(ApiError::invalid(
            "owner_id",
            "role",
            "the owner must be a landlord of the property's village",
        ));
    }
    Ok(())
}

pub fn add_unit(
    conn: &mut Conn,
    caller: &Caller,
    settings: &Settings,
    property_id: &str,
    input: CreateUnit,
) -> Result<UnitRow, ApiError> {
    let property = repo::find_property(conn, caller, property_id)?;
    require_owner_or_admin(caller, &property)?;
    require_membership(conn, caller, &[MembershipStatus::Active])?;
    if property.status == PropertyStatus::Delisted {
        return Err(ApiError::Conflict("A delisted property cannot get new units.".into()));
    }
    let at = now();
    let row = UnitRow::new(&property.id, input, settings.min_area_per_person_m2, at);
    repo::insert_unit(conn, &row)?;
    repo::adjust_property_counts(conn, &property.id, CountChange::unit_added(row.max_occupants), at)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "unit.created",
            entity_type: "unit",
            entity_id: &row.id,
            village_id: Some(&property.village_id),
            detail: json!({"property_id": property.id, "label": row.label, "max_occupants": row.max_occupants}),
        },
    )?;
    Ok(row)
}

pub fn change_unit(
    conn: &mut Conn,
    caller: &Caller,
    settings: &Settings,
    id: &str,
    if_match: IfMatch,
    patch: PatchUnit,
) -> Result<UnitRow, ApiError> {
    let (mut row, property) = repo::find_unit(conn, caller, id)?;
    require_owner_or_admin(caller, &property)?;
    require_membership(conn, caller, KEEPS_RECORDS)?;
    if_match.check(row.version)?;
    let old_max = row.max_occupants;
    if let Some(label) = patch.label {
        row.label = label.trim().to_owned();
    }
    if let Some(floor) = patch.floor {
        row.floor = floor;
    }
    if let Some(kind) = patch.kind {
        row.kind = kind;
    }
    if let Some(area) = patch.area_m2 {
        row.area_m2 = area;
    }
    if let Some(max) = patch.max_occupants {
        row.max_occupants = max;
        row.max_occupants_fixed = true;
    } else if !row.max_occupants_fixed {
        row.max_occupants = default_max_occupants(row.area_m2, settings.min_area_per_person_m2);
    }
    row.updated_at = now();
    let previous_version = row.version;
    repo::update_unit(conn, &row, previous_version)?;
    row.version = previous_version + 1;
    if row.max_occupants != old_max {
        repo::adjust_property_counts(
            conn,
            &property.id,
            CountChange::capacity(row.max_occupants - old_max),
            row.updated_at,
        )?;
    }
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "unit.changed",
            entity_type: "unit",
            entity_id: &row.id,
            village_id: Some(&property.village_id),
            detail: json!({"version": row.version, "max_occupants": row.max_occupants}),
        },
    )?;
    Ok(row)
}

/// A declaration checked and protected, ready to store: done before the transaction, as it needs no
/// database and the encryption need not hold the writer.
#[derive(Clone)]
pub struct PreparedTenant {
    /// The tenancy's id, chosen here because its ciphertexts are bound to it.
    id: String,
    full_name: String,
    id_type: IdType,
    id_number_encrypted: String,
    id_lookup: String,
    id_number_masked: String,
    phone_encrypted: Option<String>,
    phone_masked: Option<String>,
    gender: Option<Gender>,
    birth_date: Option<NaiveDate>,
    origin: Option<String>,
    employer: Option<String>,
    move_in_date: NaiveDate,
}

impl PreparedTenant {
    /// The keyed hash of the person's document: the same person, whatever the declaration.
    pub fn lookup(&self) -> &str {
        &self.id_lookup
    }

    /// The tenancy this declaration records in `unit`, under the unit's current lease (its own, else its
    /// property's): every declaration path builds its row here.
    fn into_row(self, unit: &UnitRow, property: &PropertyRow, late: bool, at: NaiveDateTime) -> TenancyRow {
        TenancyRow {
            id: self.id,
            unit_id: unit.id.clone(),
            property_id: property.id.clone(),
            full_name: self.full_name,
            id_type: self.id_type,
            id_number_encrypted: self.id_number_encrypted,
            id_lookup: self.id_lookup,
            id_number_masked: self.id_number_masked,
            phone_encrypted: self.phone_encrypted,
            phone_masked: self.phone_masked,
            gender: self.gender,
            birth_date: self.birth_date,
            origin: self.origin,
            employer: self.employer,
            move_in_date: self.move_in_date,
            move_out_date: None,
            declared_at: at,
            late,
            created_at: at,
            updated_at: at,
            version: 1,
            enterprise_id: unit.enterprise_id.clone().or_else(|| property.enterprise_id.clone()),
            erased_at: None,
        }
    }
}

/// Checks the identity number and dates of a declaration, and encrypts what must be protected.
pub fn prepare_tenant(cipher: &IdentityCipher, input: DeclareTenancy) -> Result<PreparedTenant, ApiError> {
    let today = today();
    let tenant = input.tenant;
    let mut errors = Vec::new();
    let number = match DocumentNumber::parse(tenant.id_type, &tenant.id_number, today) {
        Ok(number) => Some(number),
        Err(err) => {
            errors.push(FieldError::new("tenant.id_number", err.code(), err.message()));
            None
        }
    };
    if input.move_in_date > today + Duration::days(MAX_MOVE_IN_AHEAD_DAYS) {
        errors.push(FieldError::new(
            "move_in_date",
            "too_far_ahead",
            format!("a move-in may be declared at most {MAX_MOVE_IN_AHEAD_DAYS} days ahead"),
        ));
    }
    let Some(number) = number.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let id = new_id();
    Ok(PreparedTenant {
        full_name: tenant.full_name.trim().to_owned(),
        id_type: tenant.id_type,
        id_number_encrypted: cipher.encrypt(number.as_str(), Binding::tenancy_id_number(&id)),
        id_lookup: cipher.lookup_hash(tenant.id_type.as_str(), number.as_str()),
        id_number_masked: identity::mask_document(tenant.id_type, number.as_str()),
        phone_masked: tenant.phone.as_deref().map(identity::mask_phone),
        phone_encrypted: tenant
            .phone
            .as_deref()
            .map(|p| cipher.encrypt(p, Binding::tenancy_phone(&id))),
        gender: number.gender(),
        birth_date: number.birth_date(),
        origin: tenant.origin.map(|o| o.trim().to_owned()),
        employer: tenant.employer.map(|e| e.trim().to_owned()),
        move_in_date: input.move_in_date,
        id,
    })
}

/// Re-encrypts every identity value still in an older ciphertext format (v1: one associated data for all
/// rows) in the current, row-bound one, a batch per transaction; returns how many tenancies changed.
/// Run at start-up: until it has finished, old values stay readable.
pub fn upgrade_identity_ciphertexts(db: &crate::db::Db, cipher: &IdentityCipher) -> Result<usize, ApiError> {
    const BATCH: i64 = 500;
    let mut upgraded = 0;
    loop {
        let changed = db.write_blocking(|conn| {
            let rows = repo::outdated_identity_ciphertexts(conn, BATCH)?;
            for (id, number, phone) in &rows {
                let reseal = |stored: &str, binding: Binding<'_>| {
                    cipher
                        .decrypt(stored, binding)
                        .map(|plain| cipher.encrypt(&plain, binding))
                        .map_err(|e| ApiError::internal(anyhow::anyhow!("tenancy {id}: {}: {e}", binding.column)))
                };
                let number = reseal(number, Binding::tenancy_id_number(id))?;
                let phone = phone
                    .as_deref()
                    .map(|p| reseal(p, Binding::tenancy_phone(id)))
                    .transpose()?;
                repo::set_identity_ciphertexts(conn, id, &number, phone.as_deref())?;
            }
            Ok(rows.len())
        })?;
        upgraded += changed;
        if changed < BATCH as usize {
            return Ok(upgraded);
        }
    }
}

/// Records a tenant moving in. Reality is never refused: an overcrowded or delisted unit still gets
/// the declaration; only a person already living in this very unit is a conflict.
pub fn declare_tenancy(
    conn: &mut Conn,
    caller: &Caller,
    settings: &Settings,
    unit_id: &str,
    tenant: PreparedTenant,
) -> Result<(TenancyRow, Option<bool>), ApiError> {
    let Site { unit, property, owner } = declarable_unit(conn, caller, unit_id)?;
    let Declared {
        tenancy: row,
        overcrowded,
        ..
    } = record_declaration(conn, settings, unit, &property, &owner, tenant)?;
    audit::record(conn, Some(caller), declared_event(&row, &property, overcrowded))?;
    let duplicate = if sees_duplicates(caller) {
        Some(repo::is_duplicated_elsewhere(conn, &row)?)
    } else {
        None
    };
    Ok((row, duplicate))
}

/// The audit event of a declaration stored.
pub fn declared_event<'a>(row: &'a TenancyRow, property: &'a PropertyRow, overcrowded: bool) -> Event<'a> {
    Event {
        action: "tenancy.declared",
        entity_type: "tenancy",
        entity_id: &row.id,
        village_id: Some(&property.village_id),
        detail: json!({"unit_id": row.unit_id, "late": row.late, "overcrowded": overcrowded,
                       "property_delisted": property.status == PropertyStatus::Delisted,
                       "id_number_masked": row.id_number_masked}),
    }
}

/// Whether a tenant moving in on `move_in_date` and declared at `at` is declared late.
pub fn is_late(settings: &Settings, move_in_date: NaiveDate, at: NaiveDateTime) -> bool {
    crate::ids::local_date(at) - move_in_date > Duration::days(settings.declaration_deadline_days)
}

/// Where a declaration goes, and whether it would overcrowd its unit and if so whether the unit's overcrowding
/// notice of the week is already queued.
pub struct Destination {
    pub site: Site,
    pub overcrowds: bool,
    pub noticed: bool,
}

/// [`declarable_unit`] for a declaration that may go into a batch: also whether it needs the week's
/// overcrowding notice.
pub fn destination(conn: &mut Conn, caller: &Caller, unit_id: &str) -> Result<Destination, ApiError> {
    let site = declarable_unit(conn, caller, unit_id)?;
    let overcrowds = site.unit.active_tenants + 1 > site.unit.max_occupants;
    let noticed = overcrowds && notices::overcrowding_noticed(conn, &site.unit.id, today())?;
    Ok(Destination {
        site,
        overcrowds,
        noticed,
    })
}

/// A declaration that needs no notice of its own (not late; into a unit with room, or whose overcrowding
/// notice of the week is queued), as the batched path stores it: the tenancy and its audit event. `None` when
/// it needs a notice, which is queued in the declaration's own transaction ([`declare_tenancy`]).
pub fn plain_declaration(
    settings: &Settings,
    caller: &Caller,
    destination: &Destination,
    tenant: &PreparedTenant,
) -> Option<repo::NewDeclaration> {
    let at = now();
    if (destination.overcrowds && !destination.noticed) || is_late(settings, tenant.move_in_date, at) {
        return None;
    }
    let Site { unit, property, .. } = &destination.site;
    let tenancy = tenant.clone().into_row(unit, property, false, at);
    let event = audit::row_of(
        Some(&caller.user_id),
        declared_event(&tenancy, property, destination.overcrowds),
    );
    Some(repo::NewDeclaration { tenancy, event })
}

/// Stores a batch of declarations ([`crate::db::batch`]): all in one statement; when that statement fails
/// for one of them (its unit removed meanwhile), each again alone, so that only that one fails. A person
/// already living in the unit is 409, as for a single declaration.
pub fn store_declarations(
    conn: &mut Conn,
    batch: Vec<repo::NewDeclaration>,
) -> Result<Vec<Result<i32, ApiError>>, ApiError> {
    match repo::store_declarations(conn, &batch) {
        Err(err @ (ApiError::NotFound | ApiError::Internal(_)))
            if batch.len() > 1 && matches!(conn, crate::db::DbConn::Pg(_)) =>
        {
            tracing::warn!(error = %err, count = batch.len(), "a batch of declarations failed; storing each alone");
            Ok(batch
                .chunks(1)
                .map(|one| repo::store_declarations(conn, one).and_then(|mut outcome| outcome.remove(0)))
                .collect())
        }
        outcome => outcome,
    }
}

/// Refuses a caller who may not declare tenants in a property they can see: only its owner, with a
/// membership that keeps records, and admins may. `owner` is the property's owner as read with it (for a
/// landlord let through, the caller).
pub fn require_declarer(caller: &Caller, property: &PropertyRow, owner: &UserRow) -> Result<(), ApiError> {
    require_owner_or_admin(caller, property)?;
    if caller.role == Role::Landlord {
        require_status(owner.membership_status, KEEPS_RECORDS)?;
    }
    Ok(())
}

/// Where a declaration goes: the unit as it is now, its property, and the property's owner (who gets the
/// declaration's notices).
pub struct Site {
    pub unit: UnitRow,
    pub property: PropertyRow,
    pub owner: UserRow,
}

/// A unit the caller may declare tenants in, read in one query with its property and owner: 404 outside
/// the caller's scope, 403 for a caller who sees it but may not declare.
pub fn declarable_unit(conn: &mut Conn, caller: &Caller, unit_id: &str) -> Result<Site, ApiError> {
    let (unit, property, owner) = repo::find_unit_with_owner(conn, caller, unit_id)?;
    require_declarer(caller, &property, &owner)?;
    Ok(Site { unit, property, owner })
}

/// A declaration stored: the tenancy, its unit as it is now (with the new tenant counted), and whether
/// the unit is now overcrowded.
pub struct Declared {
    pub tenancy: TenancyRow,
    pub unit: UnitRow,
    pub overcrowded: bool,
}

/// Stores a declaration in `unit` (as it is now) by the rules every declaration follows, single or
/// imported: a person already living in the unit is refused (409, by the unique index on active tenants,
/// with no look-up before: one round trip less on PostgreSQL; an import checks each line first); lateness is
/// flagged; the counters move; the owner is notified of a late declaration or an overcrowded unit. The caller
/// audits.
pub fn record_declaration(
    conn: &mut Conn,
    settings: &Settings,
    unit: UnitRow,
    property: &PropertyRow,
    owner: &UserRow,
    tenant: PreparedTenant,
) -> Result<Declared, ApiError> {
    let at = now();
    let late = is_late(settings, tenant.move_in_date, at);
    let row = tenant.into_row(&unit, property, late, at);
    repo::insert_tenancy(conn, &row)?;
    repo::adjust_tenant_counts(conn, &unit.id, &property.id, 1, at)?;
    let unit_now = UnitRow {
        active_tenants: unit.active_tenants + 1,
        ..unit
    };
    let overcrowded = unit_now.active_tenants > unit_now.max_occupants;
    notify_declaration(conn, settings, property, owner, &unit_now, &row, overcrowded)?;
    Ok(Declared {
        tenancy: row,
        unit: unit_now,
        overcrowded,
    })
}

/// Reality is recorded, and what is wrong with it notified to the owner: a late declaration, an overcrowded
/// unit (`unit` as it is now, with the new tenant).
fn notify_declaration(
    conn: &mut Conn,
    settings: &Settings,
    property: &PropertyRow,
    owner: &UserRow,
    unit: &UnitRow,
    tenancy: &TenancyRow,
    overcrowded: bool,
) -> Result<(), ApiError> {
    let declared_on = crate::ids::local_date(tenancy.declared_at);
    if tenancy.late {
        notices::queue_declaration_late(
            conn,
            settings,
            owner,
            property,
            &tenancy.id,
            &unit.label,
            &tenancy.full_name,
            tenancy.move_in_date,
            declared_on,
        )?;
    }
    if overcrowded {
        notices::queue_overcrowding(conn, owner, property, unit, declared_on)?;
    }
    Ok(())
}

pub fn move_out(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    date: NaiveDate,
) -> Result<TenancyRow, ApiError> {
    let (tenancy, property) = repo::find_tenancy(conn, caller, id)?;
    require_owner_or_admin(caller, &property)?;
    require_membership(conn, caller, KEEPS_RECORDS)?;
    if_match.check(tenancy.version)?;
    if tenancy.move_out_date.is_some() {
        return Err(ApiError::Conflict("This tenant has already moved out.".into()));
    }
    if date < tenancy.move_in_date {
        return Err(ApiError::invalid(
            "move_out_date",
            "before_move_in",
            "the move-out cannot be before the move-in",
        ));
    }
    if date > today() {
        return Err(ApiError::invalid(
            "move_out_date",
            "future",
            "declare a move-out once it has happened",
        ));
    }
    let at = now();
    if !repo::move_out(conn, &tenancy.id, date, at)? {
        return Err(ApiError::Conflict("This tenant has already moved out.".into()));
    }
    repo::adjust_tenant_counts(conn, &tenancy.unit_id, &property.id, -1, at)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "tenancy.moved_out",
            entity_type: "tenancy",
            entity_id: &tenancy.id,
            village_id: Some(&property.village_id),
            detail: json!({"unit_id": tenancy.unit_id, "move_out_date": date}),
        },
    )?;
    repo::find_tenancy_by_id(conn, &tenancy.id)
}

/// The full identity document, for auditors of the village and admins; the read is audited.
pub fn read_identity(
    conn: &mut Conn,
    caller: &Caller,
    cipher: &IdentityCipher,
    id: &str,
) -> Result<Identity, ApiError> {
    let (tenancy, property) = repo::find_tenancy(conn, caller, id)?;
    caller.require(&[Role::Admin, Role::Auditor])?;
    if let Some(at) = tenancy.erased_at {
        return Err(ApiError::Conflict(format!(
            "The tenant's personal data was erased on {} after the retention period: there is no identity to read.",
            at.date()
        )));
    }
    let id_number = cipher
        .decrypt(&tenancy.id_number_encrypted, Binding::tenancy_id_number(&tenancy.id))
        .map_err(|e| {
            ApiError::internal(anyhow::anyhow!(
                "identity number of tenancy {} unreadable: {e}",
                tenancy.id
            ))
        })?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "tenancy.identity_read",
            entity_type: "tenancy",
            entity_id: &tenancy.id,
            village_id: Some(&property.village_id),
            detail: json!({"id_type": tenancy.id_type}),
        },
    )?;
    Ok(Identity {
        id_type: tenancy.id_type,
        id_number,
        birth_date: tenancy.birth_date,
    })
}
