//! The rules of appeals, re-rating requests and owners' replies. Each function runs inside one transaction.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use crate::accounts::repo as accounts_repo;
use crate::audit::{self, Event};
use crate::auth::{Caller, Role};
use crate::db::Conn;
use crate::error::ApiError;
use crate::http::etag::IfMatch;
use crate::ids::{new_id, now, today};
use crate::notices::model::NoticeKind;
use crate::notices::outbox::{self, NewNotice};
use crate::registry::model::PropertyRow;
use crate::registry::repo as registry_repo;
use crate::registry::service as registry_service;
use crate::safety::appeals::model::*;
use crate::safety::appeals::repo;
use crate::safety::model::{InspectionRow, RectificationStatus};
use crate::safety::repo as safety_repo;

/// Refuses anyone but the property's owner (403), and an owner whose membership keeps no records.
fn require_owner(conn: &mut Conn, caller: &Caller, property: &PropertyRow, what: &str) -> Result<(), ApiError> {
    if !(caller.role == Role::Landlord && caller.user_id == property.owner_id) {
        return Err(ApiError::Forbidden(format!("Only the property's owner {what}.")));
    }
    registry_service::require_membership(conn, caller, registry_service::KEEPS_RECORDS)
}

fn event<'a>(action: &'a str, entity_type: &'a str, entity_id: &'a str, property: &'a PropertyRow) -> Event<'a> {
    Event {
        action,
        entity_type,
        entity_id,
        village_id: Some(&property.village_id),
        detail: json!({"property_id": property.id}),
    }
}

/// The owner appeals an inspection of their property, within [`APPEAL_WINDOW_DAYS`] of its date; the
/// inspector is told.
pub fn lodge_appeal(
    conn: &mut Conn,
    caller: &Caller,
    inspection_id: &str,
    reason: &str,
) -> Result<AppealRow, ApiError> {
    let inspection = safety_repo::find_inspection(conn, caller, inspection_id)?;
    let property = registry_repo::find_property_unscoped(conn, &inspection.property_id)?;
    require_owner(conn, caller, &property, "appeals its inspection")?;
    let last_day = inspection.inspected_on + Duration::days(APPEAL_WINDOW_DAYS);
    if today() > last_day {
        return Err(ApiError::Conflict(format!(
            "The appeal window closed on {last_day}: an inspection may be appealed within {APPEAL_WINDOW_DAYS} days of its date."
        )));
    }
    match repo::appeal_of(conn, &inspection.id)? {
        None => {}
        Some(AppealStatus::Open) => {
            return Err(ApiError::Conflict(
                "This inspection already has an appeal waiting for a decision.".into(),
            ));
        }
        Some(decided) => {
            return Err(ApiError::Conflict(format!(
                "This inspection's appeal was {decided}: an inspection is appealed once; after fixing what failed, request a re-rating."
            )));
        }
    }
    let at = now();
    let row = AppealRow {
        id: new_id(),
        inspection_id: inspection.id.clone(),
        property_id: property.id.clone(),
        appellant_id: caller.user_id.clone(),
        reason: reason.to_owned(),
        status: AppealStatus::Open,
        decided_by: None,
        decision_reason: None,
        decided_at: None,
        reinspected_by: None,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    repo::insert_appeal(conn, &row)?;
    audit::record(conn, Some(caller), event("appeal.lodged", "appeal", &row.id, &property))?;
    let inspector = accounts_repo::find(conn, &inspection.inspector_id)?;
    outbox::queue(
        conn,
        NewNotice {
            kind: NoticeKind::AppealLodged,
            recipient: (&inspector).into(),
            property: Some((&property).into()),
            context: json!({"inspected_on": inspection.inspected_on, "stars": inspection.stars,
                            "appeal_reason": reason}),
            dedupe_key: None,
        },
    )?;
    Ok(row)
}

/// An auditor of the village or an admin who did not carry out the inspection decides an open appeal; the
/// owner and the inspector are told. `upheld` marks the property for a new inspection (the appeal stays
/// `upheld` with `reinspected_by` empty until the next inspection).
pub fn decide_appeal(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    if_match: IfMatch,
    input: DecideAppeal,
) -> Result<AppealRow, ApiError> {
    let appeal = repo::find_appeal(conn, caller, id)?;
    caller.require(&[Role::Auditor, Role::Admin])?;
    let inspection = safety_repo::find_inspection(conn, caller, &appeal.inspection_id)?;
    if inspection.inspector_id == caller.user_id {
        return Err(ApiError::Forbidden(
            "The inspector who carried out the inspection may not decide its appeal.".into(),
        ));
    }
    if_match.check(appeal.version)?;
    if appeal.status != AppealStatus::Open {
        return Err(ApiError::Conflict(format!("The appeal is already {}.", appeal.status)));
    }
    let reason = input.reason.filter(|r| !r.trim().is_empty());
    let status = match input.decision {
        AppealDecision::Upheld => AppealStatus::Upheld,
        AppealDecision::Rejected if reason.is_none() => {
            return Err(ApiError::invalid("reason", "required", "a rejection needs a reason"));
        }
        AppealDecision::Rejected => AppealStatus::Rejected,
    };
    let at = now();
    if !repo::decide_appeal(conn, &appeal, status, &caller.user_id, reason.as_deref(), at)? {
        return Err(ApiError::PreconditionFailed(
            "The appeal changed meanwhile; reload it and try again.".into(),
        ));
    }
    let property = registry_repo::find_property_unscoped(conn, &appeal.property_id)?;
    let mut audited = event("appeal.decided", "appeal", &appeal.id, &property);
    audited.detail = json!({"property_id": property.id, "inspection_id": inspection.id, "decision": status,
                            "reason": reason});
    audit::record(conn, Some(caller), audited)?;
    announce_decision(conn, &appeal, &inspection, &property, status, reason.as_deref())?;
    repo::find_appeal(conn, caller, id)
}

/// Tells the owner and the inspector how an appeal was decided.
fn announce_decision(
    conn: &mut Conn,
    appeal: &AppealRow,
    inspection: &InspectionRow,
    property: &PropertyRow,
    status: AppealStatus,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    for recipient_id in [&appeal.appellant_id, &inspection.inspector_id] {
        let recipient = accounts_repo::find(conn, recipient_id)?;
        outbox::queue(
            conn,
            NewNotice {
                kind: NoticeKind::AppealDecided,
                recipient: (&recipient).into(),
                property: Some(property.into()),
                context: json!({"inspected_on": inspection.inspected_on, "decision": status, "reason": reason,
                                "appeal_reason": appeal.reason}),
                dedupe_key: Some(format!("appeal_decided:{}:{}", appeal.id, recipient.id)),
            },
        )?;
    }
    Ok(())
}

/// The owner asks to be inspected again after fixing what failed: one open request per property.
pub fn request_rerating(
    conn: &mut Conn,
    caller: &Caller,
    property_id: &str,
    note: Option<String>,
) -> Result<ReratingRow, ApiError> {
    let property = registry_repo::find_property(conn, caller, property_id)?;
    require_owner(conn, caller, &property, "requests a re-rating")?;
    let unreported = safety_repo::pending_rectifications(conn, &property.id)?
        .iter()
        .filter(|order| order.status != RectificationStatus::Reported)
        .count();
    if unreported > 0 {
        return Err(ApiError::Conflict(format!(
            "{unreported} rectification order(s) of this property are not yet reported fixed: report each fix first, then request the re-rating."
        )));
    }
    if repo::open_rerating(conn, &property.id)?.is_some() {
        return Err(ApiError::Conflict(
            "The property already has an open re-rating request.".into(),
        ));
    }
    let row = ReratingRow {
        id: new_id(),
        property_id: property.id.clone(),
        requested_by: caller.user_id.clone(),
        note,
        status: ReratingStatus::Open,
        closed_by_inspection_id: None,
        created_at: now(),
        closed_at: None,
    };
    repo::insert_rerating(conn, &row)?;
    audit::record(
        conn,
        Some(caller),
        event("rerating.requested", "rerating_request", &row.id, &property),
    )?;
    Ok(row)
}

/// What an inspection of a property settles here: its open re-rating request is closed and its upheld appeals
/// are marked re-inspected. Called by the inspection service in the inspection's transaction.
pub fn settle_after_inspection(
    conn: &mut Conn,
    property_id: &str,
    inspection_id: &str,
    at: NaiveDateTime,
) -> Result<(), ApiError> {
    repo::close_reratings(conn, property_id, inspection_id, at)?;
    repo::settle_upheld_appeals(conn, property_id, inspection_id, at)?;
    Ok(())
}

/// How the stars moved from the rating before an inspection: `raised`, `lowered` or `unchanged`; none when
/// there was no rating before.
pub fn rating_change(previous: Option<i32>, stars: i32) -> Option<&'static str> {
    previous.map(|before| match stars.cmp(&before) {
        std::cmp::Ordering::Greater => "raised",
        std::cmp::Ordering::Less => "lowered",
        std::cmp::Ordering::Equal => "unchanged",
    })
}

/// The owner publishes (or replaces) their reply beside the public rating.
pub fn set_reply(conn: &mut Conn, caller: &Caller, property_id: &str, text: &str) -> Result<ReplyRow, ApiError> {
    let property = registry_repo::find_property(conn, caller, property_id)?;
    require_owner(conn, caller, &property, "replies to its rating")?;
    let at = now();
    let created_at = repo::find_reply(conn, &property.id)?.map_or(at, |r| r.created_at);
    let row = ReplyRow {
        property_id: property.id.clone(),
        text: text.to_owned(),
        author_id: caller.user_id.clone(),
        created_at,
        updated_at: at,
    };
    repo::put_reply(conn, &row)?;
    let mut audited = event("reply.published", "property", &property.id, &property);
    audited.detail = json!({"text": text});
    audit::record(conn, Some(caller), audited)?;
    Ok(row)
}

/// The owner removes their reply; 404 when there is none.
pub fn remove_reply(conn: &mut Conn, caller: &Caller, property_id: &str) -> Result<String, ApiError> {
    let property = registry_repo::find_property(conn, caller, property_id)?;
    require_owner(conn, caller, &property, "removes its reply")?;
    if !repo::delete_reply(conn, &property.id)? {
        return Err(ApiError::NotFound);
    }
    audit::record(
        conn,
        Some(caller),
        event("reply.removed", "property", &property.id, &property),
    )?;
    Ok(property.id)
}
