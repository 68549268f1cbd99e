//! The rules between HTTP and the queries: who registers an enterprise and where, and who lets a unit or a whole
//! property to one. Each writing function runs inside one transaction.

use chrono::NaiveDate;
use serde_json::json;

use crate::accounts::model::MembershipStatus;
use crate::audit::{self, Event};
use crate::auth::{Caller, Role};
use crate::crypto::{Binding, IdentityCipher};
use crate::db::Conn;
use crate::enterprises::model::*;
use crate::enterprises::repo;
use crate::enterprises::uscc::CreditCode;
use crate::error::{ApiError, FieldError};
use crate::ids::{new_id, now};
use crate::registry::identity::mask_phone;
use crate::registry::model::{PropertyRow, UnitRow};
use crate::registry::repo as registry_repo;
use crate::registry::service::{KEEPS_RECORDS, require_membership};
use crate::villages::repo as villages_repo;

/// Who registers enterprises and lets premises to them: landlords (their own premises), inspectors (their
/// village) and admins. Auditors read.
const LETTERS: &[Role] = &[Role::Admin, Role::Inspector, Role::Landlord];

/// The village a new enterprise belongs to: an admin names it; anyone else registers in their own.
fn enterprise_village(caller: &Caller, requested: Option<String>) -> Result<String, ApiError> {
    match (caller.role, requested, caller.village_id.clone()) {
        (Role::Admin, Some(v), _) => Ok(v),
        (Role::Admin, None, _) => Err(ApiError::invalid(
            "village_id",
            "required",
            "name the enterprise's village",
        )),
        (_, Some(v), Some(own)) if v != own => Err(ApiError::invalid(
            "village_id",
            "mismatch",
            "an enterprise is registered in your own village",
        )),
        (_, _, Some(own)) => Ok(own),
        (_, _, None) => Err(ApiError::invalid("village_id", "required", "you belong to no village")),
    }
}

/// A unified social credit code as typed, checked; a 422 naming `unified_social_credit_code` otherwise.
fn credit_code(text: &str) -> Result<CreditCode, ApiError> {
    CreditCode::parse(text).map_err(|e| {
        ApiError::Validation(vec![FieldError::new(
            "unified_social_credit_code",
            e.code(),
            e.message(),
        )])
    })
}

/// Checks a registration and encrypts the contact phone: done before the transaction, as it needs no database.
pub fn prepare(cipher: &IdentityCipher, caller: &Caller, input: CreateEnterprise) -> Result<EnterpriseRow, ApiError> {
    caller.require(LETTERS)?;
    let code = credit_code(&input.unified_social_credit_code)?;
    let village_id = enterprise_village(caller, input.village_id)?;
    let id = new_id();
    let at = now();
    Ok(EnterpriseRow {
        contact_phone_encrypted: cipher.encrypt(&input.contact_phone, Binding::enterprise_contact_phone(&id)),
        contact_phone_masked: mask_phone(&input.contact_phone),
        id,
        village_id,
        name: input.name.trim().to_owned(),
        unified_social_credit_code: code.into_string(),
        contact_name: input.contact_name.trim().to_owned(),
        registered_by: caller.user_id.clone(),
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

/// Registers a prepared enterprise: an active landlord's, or staff's; the same code twice in a village is a 409.
pub fn register(conn: &mut Conn, caller: &Caller, row: EnterpriseRow) -> Result<EnterpriseRow, ApiError> {
    require_membership(conn, caller, &[MembershipStatus::Active])?;
    villages_repo::require_exists(conn, &row.village_id, "village_id")?;
    repo::insert(conn, &row)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "enterprise.registered",
            entity_type: "enterprise",
            entity_id: &row.id,
            village_id: Some(&row.village_id),
            detail: json!({"unified_social_credit_code": row.unified_social_credit_code}),
        },
    )?;
    Ok(row)
}

/// What a lease is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Premises {
    Unit,
    Property,
}

impl Premises {
    fn entity_type(self) -> &'static str {
        match self {
            Premises::Unit => "unit",
            Premises::Property => "property",
        }
    }
}

/// A unit (with its property) or a whole property, as the caller may see it.
struct Let {
    property: PropertyRow,
    unit: Option<UnitRow>,
}

impl Let {
    fn find(conn: &mut Conn, caller: &Caller, premises: Premises, id: &str) -> Result<Let, ApiError> {
        Ok(match premises {
            Premises::Unit => {
                let (unit, property) = registry_repo::find_unit(conn, caller, id)?;
                Let {
                    property,
                    unit: Some(unit),
                }
            }
            Premises::Property => Let {
                property: registry_repo::find_property(conn, caller, id)?,
                unit: None,
            },
        })
    }

    fn id(&self) -> &str {
        self.unit.as_ref().map_or(&self.property.id, |u| &u.id)
    }

    /// Its own current lease: a unit's, not its property's.
    fn lease(&self) -> Option<Lease> {
        let (enterprise_id, since) = match &self.unit {
            Some(unit) => (&unit.enterprise_id, unit.enterprise_since),
            None => (&self.property.enterprise_id, self.property.enterprise_since),
        };
        Some(Lease {
            property_id: self.property.id.clone(),
            unit_id: self.unit.as_ref().map(|u| u.id.clone()),
            enterprise_id: enterprise_id.clone()?,
            start_date: since?,
        })
    }

    fn write(&self, conn: &mut Conn, lease: Option<(&str, NaiveDate)>) -> Result<(), ApiError> {
        match &self.unit {
            Some(unit) => repo::set_unit_lease(conn, &unit.id, lease, now()),
            None => repo::set_property_lease(conn, &self.property.id, lease, now()),
        }
    }
}

/// Refuses callers who may see the premises but not let them: auditors, and landlords who may not keep records.
/// (A landlord sees only their own premises.)
fn require_letter(conn: &mut Conn, caller: &Caller) -> Result<(), ApiError> {
    caller.require(LETTERS)?;
    require_membership(conn, caller, KEEPS_RECORDS)
}

/// The enterprise a let request names: one the caller can see, by id, or one of the property's village, by code;
/// any other (unknown, out of scope, another village) is a 422 naming the field, never telling which.
fn enterprise_named(
    conn: &mut Conn,
    caller: &Caller,
    village_id: &str,
    request: &LetRequest,
) -> Result<EnterpriseRow, ApiError> {
    match (&request.enterprise_id, &request.unified_social_credit_code) {
        (Some(id), None) => match repo::find_visible(conn, caller, id) {
            Ok(enterprise) if enterprise.village_id == village_id => Ok(enterprise),
            Ok(_) | Err(ApiError::NotFound) => Err(ApiError::invalid(
                "enterprise_id",
                "unknown",
                "no enterprise of the property's village with this id",
            )),
            Err(other) => Err(other),
        },
        (None, Some(code)) => {
            let code = credit_code(code)?;
            repo::find_by_code(conn, village_id, code.as_str())?.ok_or_else(|| {
                ApiError::invalid(
                    "unified_social_credit_code",
                    "unknown",
                    "no enterprise of the property's village has this code",
                )
            })
        }
        _ => Err(ApiError::invalid(
            "enterprise_id",
            "required",
            "name the enterprise by enterprise_id or by unified_social_credit_code (one of them)",
        )),
    }
}

/// Lets a unit or a whole property to an enterprise of its village from `start_date`, replacing any current
/// lease. Tenancies declared there from now on carry the enterprise.
pub fn let_premises(
    conn: &mut Conn,
    caller: &Caller,
    premises: Premises,
    id: &str,
    request: LetRequest,
) -> Result<Lease, ApiError> {
    let target = Let::find(conn, caller, premises, id)?;
    require_letter(conn, caller)?;
    let enterprise = enterprise_named(conn, caller, &target.property.village_id, &request)?;
    target.write(conn, Some((&enterprise.id, request.start_date)))?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "lease.started",
            entity_type: premises.entity_type(),
            entity_id: target.id(),
            village_id: Some(&target.property.village_id),
            detail: json!({"enterprise_id": enterprise.id, "start_date": request.start_date}),
        },
    )?;
    Ok(Lease {
        property_id: target.property.id.clone(),
        unit_id: target.unit.as_ref().map(|u| u.id.clone()),
        enterprise_id: enterprise.id,
        start_date: request.start_date,
    })
}

/// Ends the current lease of a unit or a whole property (404 when it has none of its own).
pub fn end_lease(conn: &mut Conn, caller: &Caller, premises: Premises, id: &str) -> Result<(), ApiError> {
    let target = Let::find(conn, caller, premises, id)?;
    require_letter(conn, caller)?;
    let lease = target.lease().ok_or(ApiError::NotFound)?;
    target.write(conn, None)?;
    audit::record(
        conn,
        Some(caller),
        Event {
            action: "lease.ended",
            entity_type: premises.entity_type(),
            entity_id: target.id(),
            village_id: Some(&target.property.village_id),
            detail: json!({"enterprise_id": lease.enterprise_id}),
        },
    )
}

/// The current lease of a unit or a whole property the caller may see (404 when it has none of its own).
pub fn current_lease(conn: &mut Conn, caller: &Caller, premises: Premises, id: &str) -> Result<Lease, ApiError> {
    Let::find(conn, caller, premises, id)?.lease().ok_or(ApiError::NotFound)
}
