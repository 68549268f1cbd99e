//! Queries on enterprises and on the leases held on units and properties. Every look-up for a caller goes
//! through `visible!`, so an enterprise outside the caller's scope is simply not found.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{enterprises, properties, units};
use crate::enterprises::model::*;
use crate::error::{ApiError, ConflictOnDuplicate};

/// Narrows a boxed query on `enterprises` to what `caller` may see: admins everything, staff their village,
/// a landlord the enterprises they registered or that rent one of their properties or units.
macro_rules! visible {
    ($query:expr, $caller:expr) => {{
        let caller: &Caller = $caller;
        match caller.role {
            Role::Admin => $query,
            Role::Auditor | Role::Inspector => {
                $query.filter(enterprises::village_id.eq(caller.village_id.clone().unwrap_or_default()))
            }
            Role::Landlord => $query.filter(
                enterprises::registered_by
                    .eq(caller.user_id.clone())
                    .or(enterprises::id.nullable().eq_any(
                        units::table
                            .inner_join(properties::table)
                            .filter(properties::owner_id.eq(caller.user_id.clone()))
                            .select(units::enterprise_id),
                    ))
                    .or(enterprises::id.nullable().eq_any(
                        properties::table
                            .filter(properties::owner_id.eq(caller.user_id.clone()))
                            .select(properties::enterprise_id),
                    )),
            ),
        }
    }};
}

/// Stores a new enterprise; the same code twice in a village is a 409.
pub fn insert(conn: &mut Conn, row: &EnterpriseRow) -> Result<(), ApiError> {
    diesel::insert_into(enterprises::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| {
            "An enterprise with this unified social credit code is already registered in the village.".into()
        })?;
    Ok(())
}

/// An enterprise, if the caller may see it.
pub fn find_visible(conn: &mut Conn, caller: &Caller, id: &str) -> Result<EnterpriseRow, ApiError> {
    let query = enterprises::table
        .filter(enterprises::id.eq(id.to_owned()))
        .select(EnterpriseRow::as_select())
        .into_boxed();
    Ok(visible!(query, caller).first(conn)?)
}

/// The enterprise of a village with this code, if any.
pub fn find_by_code(conn: &mut Conn, village_id: &str, code: &str) -> Result<Option<EnterpriseRow>, ApiError> {
    Ok(enterprises::table
        .filter(enterprises::village_id.eq(village_id))
        .filter(enterprises::unified_social_credit_code.eq(code))
        .select(EnterpriseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Enterprises the caller may see, filtered, in creation order.
pub fn list(
    conn: &mut Conn,
    caller: &Caller,
    filter: &EnterpriseFilter,
    page: &Page,
) -> Result<Vec<EnterpriseRow>, ApiError> {
    let mut query = visible!(
        enterprises::table.select(EnterpriseRow::as_select()).into_boxed(),
        caller
    );
    if let Some(village_id) = &filter.village_id {
        query = query.filter(enterprises::village_id.eq(village_id.clone()));
    }
    Ok(paged!(query, enterprises, page).load(conn)?)
}

/// Sets (or, with `None`, ends) a unit's own lease.
pub fn set_unit_lease(
    conn: &mut Conn,
    unit_id: &str,
    lease: Option<(&str, NaiveDate)>,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let (enterprise_id, since) = lease.unzip();
    diesel::update(units::table.find(unit_id))
        .set((
            units::enterprise_id.eq(enterprise_id),
            units::enterprise_since.eq(since),
            units::updated_at.eq(at),
            units::version.eq(units::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets (or, with `None`, ends) the lease of a whole property.
pub fn set_property_lease(
    conn: &mut Conn,
    property_id: &str,
    lease: Option<(&str, NaiveDate)>,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    let (enterprise_id, since) = lease.unzip();
    diesel::update(properties::table.find(property_id))
        .set((
            properties::enterprise_id.eq(enterprise_id),
            properties::enterprise_since.eq(since),
            properties::updated_at.eq(at),
            properties::version.eq(properties::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}
