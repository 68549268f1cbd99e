//! Queries on training sessions and attendances, and on landlords' training as of a day.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, max, not};
use diesel::prelude::*;

use crate::accounts::model::MembershipStatus;
use crate::accounts::training::model::{AttendanceRow, OwnerTraining, SessionFilter, SessionRow};
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::db::query::{Page, paged};
use crate::db::schema::{training_attendances, training_sessions, users};
use crate::error::ApiError;

pub fn insert_session(conn: &mut Conn, row: &SessionRow) -> Result<(), ApiError> {
    diesel::insert_into(training_sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Replaces the session's attendances with `rows`.
pub fn replace_attendances(conn: &mut Conn, session_id: &str, rows: &[AttendanceRow]) -> Result<(), ApiError> {
    diesel::delete(training_attendances::table.filter(training_attendances::session_id.eq(session_id)))
        .execute(conn)?;
    if !rows.is_empty() {
        crate::per_backend!(conn, |c| diesel::insert_into(training_attendances::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

/// Bumps the session's version after a change of its attendees.
pub fn touch_session(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<SessionRow, ApiError> {
    diesel::update(training_sessions::table.find(id))
        .set((
            training_sessions::updated_at.eq(now),
            training_sessions::version.eq(training_sessions::version + 1),
        ))
        .execute(conn)?;
    Ok(training_sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)?)
}

/// The session `id` if the caller is staff of its village or an admin; else not found.
pub fn find_visible(conn: &mut Conn, caller: &Caller, id: &str) -> Result<SessionRow, ApiError> {
    let row: SessionRow = training_sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)?;
    if caller.covers_village(&row.village_id) {
        Ok(row)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Sessions of a village (staff: theirs; admins: the one named, or all), paged.
pub fn list(
    conn: &mut Conn,
    caller: &Caller,
    filter: &SessionFilter,
    page: &Page,
) -> Result<Vec<SessionRow>, ApiError> {
    let mut query = training_sessions::table.select(SessionRow::as_select()).into_boxed();
    match (&filter.village_id, caller.role) {
        (Some(v), _) if caller.covers_village(v) => query = query.filter(training_sessions::village_id.eq(v.clone())),
        (Some(_), _) => return Err(ApiError::NotFound),
        (None, Role::Admin) => {}
        (None, _) => {
            query = query.filter(training_sessions::village_id.eq(caller.village_id.clone().unwrap_or_default()))
        }
    }
    Ok(paged!(query, training_sessions, page).load(conn)?)
}

/// The attendances of these sessions, in the order recorded.
pub fn attendances_of(conn: &mut Conn, session_ids: &[&str]) -> Result<Vec<AttendanceRow>, ApiError> {
    Ok(training_attendances::table
        .filter(training_attendances::session_id.eq_any(session_ids))
        .select(AttendanceRow::as_select())
        .load(conn)?)
}

/// Which of `ids` are landlords of the village.
pub fn landlords_in_village(conn: &mut Conn, village_id: &str, ids: &[&str]) -> Result<HashSet<String>, ApiError> {
    let found: Vec<String> = users::table
        .filter(users::role.eq(Role::Landlord))
        .filter(users::village_id.eq(village_id))
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)?;
    Ok(found.into_iter().collect())
}

/// Each of these users' training validity: the latest `valid_until` of their attendances (absent: never trained).
pub fn valid_until_of(conn: &mut Conn, user_ids: &[&str]) -> Result<HashMap<String, NaiveDate>, ApiError> {
    let rows: Vec<(String, Option<NaiveDate>)> = training_attendances::table
        .filter(training_attendances::landlord_id.eq_any(user_ids))
        .group_by(training_attendances::landlord_id)
        .select((
            training_attendances::landlord_id,
            max(training_attendances::valid_until),
        ))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, until)| Some((id, until?))).collect())
}

/// A property owner's training standing on `today`.
pub fn owner_training(conn: &mut Conn, owner_id: &str, today: NaiveDate) -> Result<OwnerTraining, ApiError> {
    let until = valid_until_of(conn, &[owner_id])?.remove(owner_id);
    Ok(OwnerTraining::of(owner_id.to_owned(), until, today))
}

/// Landlords holding an attendance valid until `from` or later whose latest one lapses by `to`: the training
/// reminders' subjects, with that latest date.
pub fn lapsing_between(conn: &mut Conn, from: NaiveDate, to: NaiveDate) -> Result<Vec<(String, NaiveDate)>, ApiError> {
    let soon: Vec<String> = training_attendances::table
        .filter(training_attendances::valid_until.between(from, to))
        .select(training_attendances::landlord_id)
        .distinct()
        .load(conn)?;
    let ids: Vec<&str> = soon.iter().map(String::as_str).collect();
    let mut lapsing: Vec<(String, NaiveDate)> = valid_until_of(conn, &ids)?
        .into_iter()
        .filter(|(_, until)| *until <= to)
        .collect();
    lapsing.sort();
    Ok(lapsing)
}

/// The session a landlord's current validity comes from (its date and title), for the reminder's text.
pub fn latest_session_of(conn: &mut Conn, landlord_id: &str) -> Result<Option<SessionRow>, ApiError> {
    Ok(training_attendances::table
        .inner_join(training_sessions::table)
        .filter(training_attendances::landlord_id.eq(landlord_id))
        .order((
            training_attendances::valid_until.desc(),
            training_sessions::held_on.desc(),
        ))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Approved members (active landlords with an active account) of the village, or of the town, who were never
/// trained, and whose training has lapsed, on `today`.
pub fn untrained_and_lapsed(conn: &mut Conn, village: Option<&str>, today: NaiveDate) -> Result<(i64, i64), ApiError> {
    let members = || {
        let query = users::table
            .filter(users::role.eq(Role::Landlord))
            .filter(users::membership_status.eq(MembershipStatus::Active))
            .filter(users::active)
            .select(count_star())
            .into_boxed();
        match village {
            Some(v) => query.filter(users::village_id.eq(v.to_owned())),
            None => query,
        }
    };
    let valid = training_attendances::table
        .filter(training_attendances::valid_until.ge(today))
        .select(training_attendances::landlord_id);
    let any = training_attendances::table.select(training_attendances::landlord_id);
    let untrained: i64 = members().filter(not(users::id.eq_any(any))).first(conn)?;
    let lapsed: i64 = members()
        .filter(users::id.eq_any(any))
        .filter(not(users::id.eq_any(valid)))
        .first(conn)?;
    Ok((untrained, lapsed))
}
