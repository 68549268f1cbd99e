//! Queries on properties, units and tenancies. Every lookup for a caller goes through
//! `scoped!`, so a row outside the caller's scope is simply not found.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::accounts::model::UserRow;
use crate::auth::Caller;
use crate::auth::scope::{scoped, scoped_first};
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{properties, tenancies, units, users, villages};
use crate::error::{ApiError, ConflictOnDuplicate};
use crate::registry::model::*;

/// Takes the next registration code of a village. The increment locks the village row until the
/// transaction ends, so concurrent registrations get consecutive codes with no gaps or repeats.
pub fn next_registration_code(conn: &mut Conn, village_id: &str) -> Result<String, ApiError> {
    let (code, next): (String, i32) = diesel::update(villages::table.find(village_id))
        .set(villages::next_registration_seq.eq(villages::next_registration_seq + 1))
        .returning((villages::code, villages::next_registration_seq))
        .get_result(conn)?;
    Ok(format!("{code}-{:06}", next - 1))
}

pub fn insert_property(conn: &mut Conn, row: &PropertyRow) -> Result<(), ApiError> {
    diesel::insert_into(properties::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_property(conn: &mut Conn, caller: &Caller, id: &str) -> Result<PropertyRow, ApiError> {
    Ok(scoped_first!(
        properties::table.find(id).select(PropertyRow::as_select()),
        caller,
        conn
    )?)
}

/// Properties the caller may see, filtered; `status` compares as read on `today`.
pub fn list_properties(
    conn: &mut Conn,
    caller: &Caller,
    filter: &PropertyFilter,
    page: &Page,
    today: NaiveDate,
) -> Result<Vec<PropertyRow>, ApiError> {
    let mut query = scoped!(properties::table.select(PropertyRow::as_select()).into_boxed(), caller);
    if let Some(village_id) = &filter.village_id {
        query = query.filter(properties::village_id.eq(village_id.clone()));
    }
    if let Some(grid_id) = &filter.grid_id {
        query = query.filter(properties::grid_id.eq(grid_id.clone()));
    }
    if let Some(owner_id) = &filter.owner_id {
        query = query.filter(properties::owner_id.eq(owner_id.clone()));
    }
    if let Some(stars) = filter.stars {
        query = query.filter(properties::stars.eq(stars));
    }
    if let Some(status) = filter.status {
        let rated = PropertyStatus::Rated.as_str();
        query = match status {
            PropertyStatus::Expired => query
                .filter(properties::status.eq(rated))
                .filter(properties::rating_valid_until.lt(today)),
            PropertyStatus::Rated => query.filter(properties::status.eq(rated)).filter(
                properties::rating_valid_until
                    .is_null()
                    .or(properties::rating_valid_until.ge(today)),
            ),
            other => query.filter(properties::status.eq(other)),
        };
    }
    if let Some(words) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", escape_like(&words.to_lowercase()));
        query = query.filter(
            lower(properties::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(properties::address).like(pattern).escape('\\')),
        );
    }
    if let Some(enterprise_id) = &filter.enterprise_id {
        query = query.filter(property_let_to(enterprise_id.clone()));
    }
    Ok(paged!(query, properties, page).load(conn)?)
}

/// Whether a property is let to the enterprise, wholly or a unit of it (a condition on `properties`).
#[diesel::dsl::auto_type(no_type_alias)]
pub fn property_let_to(enterprise_id: String) -> _ {
    let unit_of: String = enterprise_id.clone();
    properties::enterprise_id.eq(enterprise_id).or(properties::id.eq_any(
        units::table
            .filter(units::enterprise_id.eq(unit_of))
            .select(units::property_id),
    ))
}

/// Whether a unit is let to the enterprise: by its own lease, or by its property's when it has none (a condition
/// on `units` joined to `properties`).
#[diesel::dsl::auto_type(no_type_alias)]
pub fn unit_let_to(enterprise_id: String) -> _ {
    let whole: String = enterprise_id.clone();
    units::enterprise_id
        .eq(enterprise_id)
        .or(units::enterprise_id.is_null().and(properties::enterprise_id.eq(whole)))
}

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Writes a changed property if it is still at `expected_version`; 412 otherwise.
pub fn update_property(conn: &mut Conn, row: &PropertyRow, expected_version: i32) -> Result<(), ApiError> {
    let updated = diesel::update(
        properties::table
            .find(&row.id)
            .filter(properties::version.eq(expected_version)),
    )
    .set((
        properties::owner_id.eq(&row.owner_id),
        properties::grid_id.eq(&row.grid_id),
        properties::name.eq(&row.name),
        properties::address.eq(&row.address),
        properties::kind.eq(&row.kind),
        properties::floors.eq(row.floors),
        properties::floor_area_m2.eq(row.floor_area_m2),
        properties::mixed_use_residence.eq(row.mixed_use_residence),
        properties::updated_at.eq(row.updated_at),
        properties::version.eq(expected_version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::PreconditionFailed(
            "The property changed meanwhile; reload it and try again.".into(),
        ));
    }
    Ok(())
}

/// A change to a property's counters, which answers and summaries read without counting.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountChange {
    pub tenants: i32,
    pub capacity: i32,
    pub units: i32,
}

impl CountChange {
    /// Tenants moved in (positive) or out (negative).
    pub fn tenants(delta: i32) -> Self {
        CountChange {
            tenants: delta,
            ..Default::default()
        }
    }

    /// A unit's maximum occupancy changed by `delta`.
    pub fn capacity(delta: i32) -> Self {
        CountChange {
            capacity: delta,
            ..Default::default()
        }
    }

    /// A unit registered, for `max_occupants` people.
    pub fn unit_added(max_occupants: i32) -> Self {
        CountChange {
            capacity: max_occupants,
            units: 1,
            ..Default::default()
        }
    }
}

/// Applies `change` to a property's counters.
pub fn adjust_property_counts(
    conn: &mut Conn,
    property_id: &str,
    change: CountChange,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let update = diesel::update(properties::table.find(property_id)).set((
        properties::active_tenants.eq(properties::active_tenants + change.tenants),
        properties::capacity.eq(properties::capacity + change.capacity),
        properties::unit_count.eq(properties::unit_count + change.units),
        properties::updated_at.eq(now),
        properties::version.eq(properties::version + 1),
    ));
    // On the backend's own connection, as every statement of a declaration: found in the statement cache by
    // its type instead of by its SQL text, which diesel would write out again for each look-up.
    crate::per_backend!(conn, |c| update.execute(c))?;
    Ok(())
}

pub fn insert_unit(conn: &mut Conn, row: &UnitRow) -> Result<(), ApiError> {
    diesel::insert_into(units::table)
        .values(row)
        .execute(conn)
        .conflict_on_duplicate(|| format!("The property already has a unit labelled {}.", row.label))?;
    Ok(())
}

/// A unit and its property, if the caller may see them.
pub fn find_unit(conn: &mut Conn, caller: &Caller, id: &str) -> Result<(UnitRow, PropertyRow), ApiError> {
    Ok(scoped_first!(
        units::table
            .inner_join(properties::table)
            .filter(units::id.eq(id))
            .select((UnitRow::as_select(), PropertyRow::as_select())),
        caller,
        conn
    )?)
}

/// A unit with its property and the property's owner, if the caller may see them: what a declaration needs
/// (the owner's membership decides whether a landlord may declare, and the owner gets its notices), in one read.
pub fn find_unit_with_owner(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
) -> Result<(UnitRow, PropertyRow, UserRow), ApiError> {
    Ok(scoped_first!(
        units::table
            .inner_join(properties::table.inner_join(users::table))
            .filter(units::id.eq(id))
            .select((UnitRow::as_select(), PropertyRow::as_select(), UserRow::as_select())),
        caller,
        conn
    )?)
}

pub fn list_units(conn: &mut Conn, property_id: &str, page: &Page) -> Result<Vec<UnitRow>, ApiError> {
    let query = units::table
        .filter(units::property_id.eq(property_id))
        .select(UnitRow::as_select())
        .into_boxed();
    Ok(paged!(query, units, page).load(conn)?)
}

/// Every unit of a property (a bulk declaration finds its lines' units among them by label).
pub fn units_of_property(conn: &mut Conn, property_id: &str) -> Result<Vec<UnitRow>, ApiError> {
    Ok(units::table
        .filter(units::property_id.eq(property_id))
        .select(UnitRow::as_select())
        .load(conn)?)
}

/// Writes a changed unit if it is still at `expected_version`; 412 otherwise.
pub fn update_unit(conn: &mut Conn, row: &UnitRow, expected_version: i32) -> Result<(), ApiError> {
    let updated = diesel::update(units::table.find(&row.id).filter(units::version.eq(expected_version)))
        .set((
            units::label.eq(&row.label),
            units::floor.eq(row.floor),
            units::area_m2.eq(row.area_m2),
            units::kind.eq(&row.kind),
            units::max_occupants.eq(row.max_occupants),
            units::max_occupants_fixed.eq(row.max_occupants_fixed),
            units::updated_at.eq(row.updated_at),
            units::version.eq(expected_version + 1),
        ))
        .execute(conn)
        .conflict_on_duplicate(|| format!("The property already has a unit labelled {}.", row.label))?;
    if updated == 0 {
        return Err(ApiError::PreconditionFailed(
            "The unit changed meanwhile; reload it and try again.".into(),
        ));
    }
    Ok(())
}

fn adjust_unit_tenants(conn: &mut Conn, unit_id: &str, delta: i32, now: NaiveDateTime) -> Result<(), ApiError> {
    let update = diesel::update(units::table.find(unit_id)).set((
        units::active_tenants.eq(units::active_tenants + delta),
        units::updated_at.eq(now),
        units::version.eq(units::version + 1),
    ));
    // On the backend's own connection, as every statement of a declaration: found in the statement cache by
    // its type instead of by its SQL text, which diesel would write out again for each look-up.
    crate::per_backend!(conn, |c| update.execute(c))?;
    Ok(())
}

/// Moves the tenant counters of a unit and of its property by `delta`. On PostgreSQL one statement (the
/// unit's update in a `WITH`), as every statement there is a round trip to the server and a declaration's
/// cost is mostly its round trips; on SQLite, where a statement is a function call, the two updates above.
pub fn adjust_tenant_counts(
    conn: &mut Conn,
    unit_id: &str,
    property_id: &str,
    delta: i32,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    if let crate::db::DbConn::Pg(pg) = conn {
        MoveTenantCounts {
            delta,
            at: now,
            unit_id,
            property_id,
        }
        .execute(pg)?;
        return Ok(());
    }
    adjust_unit_tenants(conn, unit_id, delta, now)?;
    adjust_property_counts(conn, property_id, CountChange::tenants(delta), now)
}

/// PostgreSQL's statement for [`adjust_tenant_counts`]. Written out here rather than with `sql_query`, which
/// marks its statements as not to be kept (their text could be built at run time): this text never changes,
/// so it is prepared once per connection and kept in diesel's cache by this type, not parsed and planned by
/// the server at each declaration.
struct MoveTenantCounts<'a> {
    delta: i32,
    at: NaiveDateTime,
    unit_id: &'a str,
    property_id: &'a str,
}

impl QueryId for MoveTenantCounts<'_> {
    type QueryId = MoveTenantCounts<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for MoveTenantCounts<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH unit AS (UPDATE units SET active_tenants = active_tenants + ");
        out.push_bind_param::<Integer, _>(&self.delta)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", version = version + 1 WHERE id = ");
        out.push_bind_param::<Text, _>(self.unit_id)?;
        out.push_sql(") UPDATE properties SET active_tenants = active_tenants + ");
        out.push_bind_param::<Integer, _>(&self.delta)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", version = version + 1 WHERE id = ");
        out.push_bind_param::<Text, _>(self.property_id)
    }
}

impl RunQueryDsl<PgConnection> for MoveTenantCounts<'_> {}

/// A declaration ready to be stored by [`store_declarations`]: its tenancy (new: never moved out or
/// erased, created when declared) and the audit event that records it.
pub struct NewDeclaration {
    pub tenancy: TenancyRow,
    pub event: crate::audit::AuditEventRow,
}

/// Stores declarations on PostgreSQL in one statement (one round trip, one commit): the tenancies, the
/// counters of their units and properties, and their audit events. A person already living in the unit is
/// skipped, as the unique index on active tenants decides, with nothing else of theirs written, and answered
/// 409; a unit gone since its look-up fails the statement with 404. Answers, in the declarations' order, the unit's number of active tenants after the statement.
pub fn store_declarations(conn: &mut Conn, batch: &[NewDeclaration]) -> Result<Vec<Result<i32, ApiError>>, ApiError> {
    let crate::db::DbConn::Pg(pg) = conn else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "declarations are batched on PostgreSQL only"
        )));
    };
    let stored: std::collections::HashMap<String, i32> = InsertDeclarations::of(batch)
        .load::<(String, i32)>(pg)
        .map_err(|err| match err {
            // A unit or property removed after the declaration's look-up.
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _) => {
                ApiError::NotFound
            }
            other => other.into(),
        })?
        .into_iter()
        .collect();
    Ok(batch
        .iter()
        .map(|d| {
            stored
                .get(&d.tenancy.id)
                .copied()
                .ok_or_else(|| ApiError::Conflict(LIVING_HERE.into()))
        })
        .collect())
}

/// PostgreSQL's statement for [`store_declarations`]: each column of the batch bound as one array, so the
/// text is the same for any number of declarations and is prepared once per connection.
struct InsertDeclarations {
    ids: Vec<String>,
    unit_ids: Vec<String>,
    property_ids: Vec<String>,
    full_names: Vec<String>,
    id_types: Vec<IdType>,
    id_numbers_encrypted: Vec<String>,
    id_lookups: Vec<String>,
    id_numbers_masked: Vec<String>,
    phones_encrypted: Vec<Option<String>>,
    phones_masked: Vec<Option<String>>,
    genders: Vec<Option<Gender>>,
    birth_dates: Vec<Option<NaiveDate>>,
    origins: Vec<Option<String>>,
    employers: Vec<Option<String>>,
    move_in_dates: Vec<NaiveDate>,
    declared_ats: Vec<NaiveDateTime>,
    lates: Vec<bool>,
    enterprise_ids: Vec<Option<String>>,
    event_ids: Vec<String>,
    actor_ids: Vec<Option<String>>,
    actions: Vec<String>,
    entity_types: Vec<String>,
    village_ids: Vec<Option<String>>,
    event_ats: Vec<NaiveDateTime>,
    details: Vec<String>,
}

impl InsertDeclarations {
    fn of(batch: &[NewDeclaration]) -> Self {
        debug_assert!(batch.iter().all(|d| d.event.entity_id == d.tenancy.id));
        InsertDeclarations {
            ids: column(batch, |d| d.tenancy.id.clone()),
            unit_ids: column(batch, |d| d.tenancy.unit_id.clone()),
            property_ids: column(batch, |d| d.tenancy.property_id.clone()),
            full_names: column(batch, |d| d.tenancy.full_name.clone()),
            id_types: column(batch, |d| d.tenancy.id_type),
            id_numbers_encrypted: column(batch, |d| d.tenancy.id_number_encrypted.clone()),
            id_lookups: column(batch, |d| d.tenancy.id_lookup.clone()),
            id_numbers_masked: column(batch, |d| d.tenancy.id_number_masked.clone()),
            phones_encrypted: column(batch, |d| d.tenancy.phone_encrypted.clone()),
            phones_masked: column(batch, |d| d.tenancy.phone_masked.clone()),
            genders: column(batch, |d| d.tenancy.gender),
            birth_dates: column(batch, |d| d.tenancy.birth_date),
            origins: column(batch, |d| d.tenancy.origin.clone()),
            employers: column(batch, |d| d.tenancy.employer.clone()),
            move_in_dates: column(batch, |d| d.tenancy.move_in_date),
            declared_ats: column(batch, |d| d.tenancy.declared_at),
            lates: column(batch, |d| d.tenancy.late),
            enterprise_ids: column(batch, |d| d.tenancy.enterprise_id.clone()),
            event_ids: column(batch, |d| d.event.id.clone()),
            actor_ids: column(batch, |d| d.event.actor_id.clone()),
            actions: column(batch, |d| d.event.action.clone()),
            entity_types: column(batch, |d| d.event.entity_type.clone()),
            village_ids: column(batch, |d| d.event.village_id.clone()),
            event_ats: column(batch, |d| d.event.at),
            details: column(batch, |d| d.event.detail.clone()),
        }
    }
}

/// One column of a batch: `f` of each declaration, in order.
fn column<T>(batch: &[NewDeclaration], f: impl Fn(&NewDeclaration) -> T) -> Vec<T> {
    batch.iter().map(f).collect()
}

impl QueryId for InsertDeclarations {
    type QueryId = InsertDeclarations;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for InsertDeclarations {
    type SqlType = (Text, Integer);
}

impl QueryFragment<Pg> for InsertDeclarations {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH t AS (SELECT * FROM unnest(");
        self.walk_tenancy_columns(&mut out)?;
        out.push_sql(
            ") AS t (id, unit_id, property_id, full_name, id_type, id_number_encrypted, id_lookup, \
             id_number_masked, phone_encrypted, phone_masked, gender, birth_date, origin, employer, move_in_date, \
             declared_at, late, enterprise_id)), \
             ins AS (INSERT INTO tenancies (id, unit_id, property_id, full_name, id_type, id_number_encrypted, \
             id_lookup, id_number_masked, phone_encrypted, phone_masked, gender, birth_date, origin, employer, \
             move_in_date, declared_at, late, created_at, updated_at, version, enterprise_id) \
             SELECT id, unit_id, property_id, full_name, id_type, id_number_encrypted, id_lookup, \
             id_number_masked, phone_encrypted, phone_masked, gender, birth_date, origin, employer, move_in_date, \
             declared_at, late, declared_at, declared_at, 1, enterprise_id FROM t \
             ON CONFLICT (unit_id, id_lookup) WHERE move_out_date IS NULL DO NOTHING \
             RETURNING id, unit_id, property_id, declared_at), \
             unit AS (UPDATE units SET active_tenants = units.active_tenants + c.n, updated_at = c.at, \
             version = units.version + c.n \
             FROM (SELECT unit_id, count(*)::int AS n, max(declared_at) AS at FROM ins GROUP BY unit_id) c \
             WHERE units.id = c.unit_id RETURNING units.id, units.active_tenants), \
             property AS (UPDATE properties SET active_tenants = properties.active_tenants + c.n, \
             updated_at = c.at, version = properties.version + c.n \
             FROM (SELECT property_id, count(*)::int AS n, max(declared_at) AS at FROM ins GROUP BY property_id) c \
             WHERE properties.id = c.property_id), \
             event AS (INSERT INTO audit_events (id, actor_id, action, entity_type, entity_id, village_id, at, \
             detail) SELECT e.* FROM unnest(",
        );
        self.walk_event_columns(&mut out)?;
        out.push_sql(
            ") AS e (id, actor_id, action, entity_type, entity_id, village_id, at, detail) \
             JOIN ins ON ins.id = e.entity_id) \
             SELECT ins.id, unit.active_tenants FROM ins JOIN unit ON unit.id = ins.unit_id",
        );
        Ok(())
    }
}

impl InsertDeclarations {
    fn walk_tenancy_columns<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Bool, Date, Nullable};
        out.push_bind_param::<Array<Text>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.unit_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.property_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.full_names)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.id_types)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.id_numbers_encrypted)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.id_lookups)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.id_numbers_masked)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.phones_encrypted)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.phones_masked)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.genders)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Date>>, _>(&self.birth_dates)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.origins)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.employers)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Date>, _>(&self.move_in_dates)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.declared_ats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.lates)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.enterprise_ids)?;
        Ok(())
    }

    fn walk_event_columns<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, Nullable};
        out.push_bind_param::<Array<Text>, _>(&self.event_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.actor_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.actions)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.entity_types)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.village_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamp>, _>(&self.event_ats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.details)?;
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for InsertDeclarations {}

/// Stores a declaration. The unique index on (unit, person) among active tenancies refuses a second active
/// tenancy of one person in one unit, also when two declarations arrive at the same moment: 409.
pub fn insert_tenancy(conn: &mut Conn, row: &TenancyRow) -> Result<(), ApiError> {
    crate::per_backend!(conn, |c| diesel::insert_into(tenancies::table).values(row).execute(c))
        .conflict_on_duplicate(|| LIVING_HERE.into())?;
    Ok(())
}

const LIVING_HERE: &str = "This person is already declared as living in this unit.";

/// A tenancy and its property, if the caller may see them.
pub fn find_tenancy(conn: &mut Conn, caller: &Caller, id: &str) -> Result<(TenancyRow, PropertyRow), ApiError> {
    Ok(scoped_first!(
        tenancies::table
            .inner_join(properties::table)
            .filter(tenancies::id.eq(id))
            .select((TenancyRow::as_select(), PropertyRow::as_select())),
        caller,
        conn
    )?)
}

pub fn list_tenancies(
    conn: &mut Conn,
    caller: &Caller,
    filter: &TenancyFilter,
    page: &Page,
) -> Result<Vec<TenancyRow>, ApiError> {
    let mut query = scoped!(
        tenancies::table
            .inner_join(properties::table)
            .select(TenancyRow::as_select())
            .into_boxed(),
        caller
    );
    if let Some(property_id) = &filter.property_id {
        query = query.filter(tenancies::property_id.eq(property_id.clone()));
    }
    if let Some(unit_id) = &filter.unit_id {
        query = query.filter(tenancies::unit_id.eq(unit_id.clone()));
    }
    match filter.active {
        Some(true) => query = query.filter(tenancies::move_out_date.is_null()),
        Some(false) => query = query.filter(tenancies::move_out_date.is_not_null()),
        None => {}
    }
    if let Some(late) = filter.late {
        query = query.filter(tenancies::late.eq(late));
    }
    if let Some(enterprise_id) = &filter.enterprise_id {
        query = query.filter(tenancies::enterprise_id.eq(enterprise_id.clone()));
    }
    Ok(paged!(query, tenancies, page).load(conn)?)
}

/// Whether the person with this lookup hash already lives in the unit.
pub fn is_active_in_unit(conn: &mut Conn, unit_id: &str, id_lookup: &str) -> Result<bool, ApiError> {
    let found: i64 = tenancies::table
        .filter(tenancies::unit_id.eq(unit_id))
        .filter(tenancies::id_lookup.eq(id_lookup))
        .filter(tenancies::move_out_date.is_null())
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The ids among `rows` whose person is also an active tenant of another unit.
pub fn duplicated_elsewhere(conn: &mut Conn, rows: &[TenancyRow]) -> Result<HashSet<String>, ApiError> {
    let lookups: Vec<&str> = rows
        .iter()
        .filter(|r| r.move_out_date.is_none())
        .map(|r| r.id_lookup.as_str())
        .collect();
    if lookups.is_empty() {
        return Ok(HashSet::new());
    }
    let active: Vec<(String, String)> = tenancies::table
        .filter(tenancies::id_lookup.eq_any(&lookups))
        .filter(tenancies::move_out_date.is_null())
        .select((tenancies::id_lookup, tenancies::unit_id))
        .load(conn)?;
    Ok(rows
        .iter()
        .filter(|r| r.move_out_date.is_none())
        .filter(|r| {
            active
                .iter()
                .any(|(lookup, unit)| *lookup == r.id_lookup && *unit != r.unit_id)
        })
        .map(|r| r.id.clone())
        .collect())
}

/// Ends a tenancy that is still active; false if it had already ended.
pub fn move_out(conn: &mut Conn, id: &str, date: NaiveDate, now: NaiveDateTime) -> Result<bool, ApiError> {
    let updated = diesel::update(tenancies::table.find(id).filter(tenancies::move_out_date.is_null()))
        .set((
            tenancies::move_out_date.eq(date),
            tenancies::updated_at.eq(now),
            tenancies::version.eq(tenancies::version + 1),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn find_tenancy_by_id(conn: &mut Conn, id: &str) -> Result<TenancyRow, ApiError> {
    Ok(tenancies::table.find(id).select(TenancyRow::as_select()).first(conn)?)
}

/// A property by id whatever the caller, for work that already checked scope.
pub fn find_property_unscoped(conn: &mut Conn, id: &str) -> Result<PropertyRow, ApiError> {
    Ok(properties::table
        .find(id)
        .select(PropertyRow::as_select())
        .first(conn)?)
}

/// How many of a property's units hold more tenants than they may.
pub fn count_overcrowded_units(conn: &mut Conn, property_id: &str) -> Result<i64, ApiError> {
    Ok(units::table
        .filter(units::property_id.eq(property_id))
        .filter(units::active_tenants.gt(units::max_occupants))
        .count()
        .get_result(conn)?)
}

/// Properties by id, read in chunks that stay under both databases' parameter limits.
pub fn properties_by_ids(conn: &mut Conn, ids: &[&str]) -> Result<Vec<PropertyRow>, ApiError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        rows.extend(
            properties::table
                .filter(properties::id.eq_any(chunk))
                .select(PropertyRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// Units holding more tenants than they may.
pub fn overcrowded_units(conn: &mut Conn) -> Result<Vec<UnitRow>, ApiError> {
    Ok(units::table
        .filter(units::active_tenants.gt(units::max_occupants))
        .order(units::id.asc())
        .select(UnitRow::as_select())
        .load(conn)?)
}

/// Overcrowded units the caller may see, each with its property's registration code, the most crowded first.
pub fn overcrowded_units_seen_by(
    conn: &mut Conn,
    caller: &Caller,
    limit: i64,
) -> Result<Vec<(UnitRow, String)>, ApiError> {
    let query = scoped!(
        units::table
            .inner_join(properties::table)
            .filter(units::active_tenants.gt(units::max_occupants))
            .select((UnitRow::as_select(), properties::registration_code))
            .into_boxed(),
        caller
    );
    Ok(query
        .order(((units::active_tenants - units::max_occupants).desc(), units::id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// What a late-declaration notice needs of an active, late tenancy.
#[derive(Debug, Queryable)]
pub struct LateDeclaration {
    pub id: String,
    pub property_id: String,
    pub unit_label: String,
    pub full_name: String,
    pub move_in_date: NaiveDate,
    pub declared_at: NaiveDateTime,
}

/// Active tenancies declared late since `declared_since`.
pub fn late_active_declarations(
    conn: &mut Conn,
    declared_since: NaiveDateTime,
) -> Result<Vec<LateDeclaration>, ApiError> {
    Ok(tenancies::table
        .inner_join(units::table)
        .filter(tenancies::late.eq(true))
        .filter(tenancies::declared_at.ge(declared_since))
        .filter(tenancies::move_out_date.is_null())
        .order(tenancies::id.asc())
        .select((
            tenancies::id,
            tenancies::property_id,
            units::label,
            tenancies::full_name,
            tenancies::move_in_date,
            tenancies::declared_at,
        ))
        .load(conn)?)
}

/// Properties the caller may see whose rating runs out between `from` and `to`, the soonest first.
pub fn ratings_expiring_seen_by(
    conn: &mut Conn,
    caller: &Caller,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<PropertyRow>, ApiError> {
    let query = scoped!(
        properties::table
            .filter(properties::status.eq(PropertyStatus::Rated))
            .filter(properties::rating_valid_until.between(from, to))
            .select(PropertyRow::as_select())
            .into_boxed(),
        caller
    );
    Ok(query
        .order((properties::rating_valid_until.asc(), properties::id.asc()))
        .limit(limit)
        .load(conn)?)
}

/// Rated, listed properties whose rating runs out between `from` and `to`.
pub fn ratings_expiring(conn: &mut Conn, from: NaiveDate, to: NaiveDate) -> Result<Vec<PropertyRow>, ApiError> {
    Ok(properties::table
        .filter(properties::status.eq(PropertyStatus::Rated))
        .filter(properties::rating_valid_until.between(from, to))
        .order(properties::id.asc())
        .select(PropertyRow::as_select())
        .load(conn)?)
}

pub fn unit_label_exists(conn: &mut Conn, property_id: &str, label: &str) -> Result<bool, ApiError> {
    let found: i64 = units::table
        .filter(units::property_id.eq(property_id))
        .filter(units::label.eq(label))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// An imported line's property already in the village: by registration code, else by name and address.
pub fn find_for_import(
    conn: &mut Conn,
    village_id: &str,
    registration_code: Option<&str>,
    name: &str,
    address: &str,
) -> Result<Option<PropertyRow>, ApiError> {
    let mut query = properties::table
        .filter(properties::village_id.eq(village_id))
        .select(PropertyRow::as_select())
        .into_boxed();
    query = match registration_code {
        Some(code) => query.filter(properties::registration_code.eq(code.to_owned())),
        None => query
            .filter(properties::name.eq(name.to_owned()))
            .filter(properties::address.eq(address.to_owned())),
    };
    Ok(query.first(conn).optional()?)
}

/// Keeps a village's sequence past an imported registration code, so new codes never collide with it.
pub fn reserve_registration_code(conn: &mut Conn, village_id: &str, code: &str) -> Result<(), ApiError> {
    let sequence: i32 = code.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
    diesel::update(
        villages::table
            .find(village_id)
            .filter(villages::next_registration_seq.le(sequence)),
    )
    .set(villages::next_registration_seq.eq(sequence + 1))
    .execute(conn)?;
    Ok(())
}

/// Whether this tenancy is active and its person also an active tenant of another unit: the one-row form of
/// [`duplicated_elsewhere`], a single cached statement.
pub fn is_duplicated_elsewhere(conn: &mut Conn, row: &TenancyRow) -> Result<bool, ApiError> {
    if row.move_out_date.is_some() {
        return Ok(false);
    }
    let found: i64 = tenancies::table
        .filter(tenancies::id_lookup.eq(&row.id_lookup))
        .filter(tenancies::move_out_date.is_null())
        .filter(tenancies::unit_id.ne(&row.unit_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Tenancies whose identity number or phone is still in an older ciphertext format:
/// `(id, id_number_encrypted, phone_encrypted)`.
pub fn outdated_identity_ciphertexts(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<(String, String, Option<String>)>, ApiError> {
    let current = format!("{}%", crate::crypto::VERSION_PREFIX);
    Ok(tenancies::table
        .filter(tenancies::erased_at.is_null())
        .filter(
            tenancies::id_number_encrypted
                .not_like(current.clone())
                .or(tenancies::phone_encrypted.not_like(current)),
        )
        .select((
            tenancies::id,
            tenancies::id_number_encrypted,
            tenancies::phone_encrypted,
        ))
        .order(tenancies::id)
        .limit(limit)
        .load(conn)?)
}

pub fn set_identity_ciphertexts(
    conn: &mut Conn,
    id: &str,
    id_number_encrypted: &str,
    phone_encrypted: Option<&str>,
) -> Result<(), ApiError> {
    diesel::update(tenancies::table.find(id))
        .set((
            tenancies::id_number_encrypted.eq(id_number_encrypted),
            tenancies::phone_encrypted.eq(phone_encrypted),
        ))
        .execute(conn)?;
    Ok(())
}
