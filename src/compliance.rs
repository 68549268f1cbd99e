//! The daily compliance sweep: marks orders past due `overdue`, suspends properties with an overdue
//! critical order, and queues the reminders. Every notice carries a dedupe key (kind + subject +
//! period) under a unique index, so a sweep run twice, or by two instances at once, queues nothing twice.

use crate::rating::Severity;
use actix_web::post;
use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{HttpResponse, web};
use chrono::{Duration, NaiveDate, NaiveTime};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::accounts::model::{MembershipStatus, UserRow};
use crate::accounts::repo as accounts_repo;
use crate::accounts::training::repo as training_repo;
use crate::auth::{Caller, Role};
use crate::config::{ReminderStages, Settings};
use crate::db::{Conn, Db};
use crate::error::{ApiError, Problem};
use crate::ids::{local_date, now};
use crate::notices::model::NoticeKind;
use crate::notices::outbox::{self, NewNotice};
use crate::notices::repo;
use crate::registry::model::{PropertyRow, PropertyStatus, UnitRow};
use crate::registry::notices as registry_notices;
use crate::registry::repo as registry_repo;
use crate::registry::repo::LateDeclaration;
use crate::safety::model::RectificationRow;
use crate::safety::{notices as safety_notices, repo as safety_repo, service as safety_service};
use crate::state::AppState;

/// Late declarations are notified when declared; the sweep catches up on those of this many days that
/// were not (imported, or queued while the outbox was unavailable), not on the register's whole history.
const LATE_DECLARATION_LOOKBACK_DAYS: i64 = 30;

/// What a sweep did.
#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct SweepReport {
    pub notices_queued: usize,
    pub rectifications_overdue: usize,
    pub properties_suspended: usize,
    pub due_soon_notices: usize,
    pub overdue_notices: usize,
    pub late_declaration_notices: usize,
    pub overcrowding_notices: usize,
    pub rating_expiring_notices: usize,
    pub training_expiring_notices: usize,
}

/// Properties and their owners, loaded once for a whole sweep.
struct Owners {
    properties: HashMap<String, PropertyRow>,
    users: HashMap<String, UserRow>,
}

impl Owners {
    fn load(conn: &mut Conn, property_ids: HashSet<&str>) -> Result<Owners, ApiError> {
        let ids: Vec<&str> = property_ids.into_iter().collect();
        let properties: HashMap<String, PropertyRow> = registry_repo::properties_by_ids(conn, &ids)?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let owner_ids: HashSet<&str> = properties.values().map(|p| p.owner_id.as_str()).collect();
        let owner_ids: Vec<&str> = owner_ids.into_iter().collect();
        let users = accounts_repo::find_many(conn, &owner_ids)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        Ok(Owners { properties, users })
    }

    fn of(&self, property_id: &str) -> Option<(&PropertyRow, &UserRow)> {
        let property = self.properties.get(property_id)?;
        Some((property, self.users.get(&property.owner_id)?))
    }
}

/// Checklist titles by item code, for naming items in notices.
fn item_titles(conn: &mut Conn) -> Result<HashMap<String, (String, String)>, ApiError> {
    let (_, items) = safety_repo::current_checklist(conn)?;
    Ok(items.into_iter().map(|i| (i.code, (i.title_zh, i.title_en))).collect())
}

/// Runs the sweep for `today` in one transaction.
pub fn run(conn: &mut Conn, settings: &Settings, today: NaiveDate) -> Result<SweepReport, ApiError> {
    let at = now();
    let mut report = SweepReport {
        rectifications_overdue: safety_repo::mark_overdue(conn, today, at)?,
        ..Default::default()
    };
    for property_id in safety_repo::properties_to_suspend(conn, today)? {
        if safety_service::refresh_status(conn, &property_id)? == PropertyStatus::Suspended {
            report.properties_suspended += 1;
        }
    }
    let stages = &settings.reminder_stages;
    let due = Due::find(conn, stages, today)?;
    let owners = Owners::load(conn, due.properties())?;
    let titles = item_titles(conn)?;
    let orders = Orders {
        owners: &owners,
        titles: &titles,
        today,
    };
    let before =
        |due_on: NaiveDate| ReminderStages::before(&stages.rectification_before_days, (due_on - today).num_days());
    report.due_soon_notices = orders.queue(conn, NoticeKind::RectificationDueSoon, &due.due_soon, before)?;
    let after =
        |due_on: NaiveDate| ReminderStages::after(&stages.rectification_after_days, (today - due_on).num_days());
    report.overdue_notices = orders.queue(conn, NoticeKind::RectificationOverdue, &due.overdue, after)?;
    queue_registry_notices(conn, settings, &due, &owners, today, &mut report)?;
    report.rating_expiring_notices = queue_expiring_notices(conn, stages, &due.expiring, &owners, today)?;
    report.training_expiring_notices = queue_training_notices(conn, stages, today)?;
    report.notices_queued = report.due_soon_notices
        + report.overdue_notices
        + report.late_declaration_notices
        + report.overcrowding_notices
        + report.rating_expiring_notices
        + report.training_expiring_notices;
    Ok(report)
}

/// Reminds owners of declarations still late and units still overcrowded.
fn queue_registry_notices(
    conn: &mut Conn,
    settings: &Settings,
    due: &Due,
    owners: &Owners,
    today: NaiveDate,
    report: &mut SweepReport,
) -> Result<(), ApiError> {
    for tenancy in &due.late {
        let Some((property, owner)) = owners.of(&tenancy.property_id) else {
            continue;
        };
        let declared_on = local_date(tenancy.declared_at);
        if registry_notices::queue_declaration_late(
            conn,
            settings,
            owner,
            property,
            &tenancy.id,
            &tenancy.unit_label,
            &tenancy.full_name,
            tenancy.move_in_date,
            declared_on,
        )? {
            report.late_declaration_notices += 1;
        }
    }
    for unit in &due.crowded {
        if let Some((property, owner)) = owners.of(&unit.property_id)
            && registry_notices::queue_overcrowding(conn, owner, property, unit, today)?
        {
            report.overcrowding_notices += 1;
        }
    }
    Ok(())
}

/// What a sweep reminds owners of.
struct Due {
    due_soon: Vec<RectificationRow>,
    overdue: Vec<RectificationRow>,
    /// Late declarations not yet notified.
    late: Vec<LateDeclaration>,
    crowded: Vec<UnitRow>,
    expiring: Vec<PropertyRow>,
}

/// The furthest stage of a list (0 when it is empty).
fn furthest(stages: &[u32]) -> i64 {
    stages.iter().copied().max().map_or(0, i64::from)
}

impl Due {
    fn find(conn: &mut Conn, stages: &ReminderStages, today: NaiveDate) -> Result<Due, ApiError> {
        let since = (today - Duration::days(LATE_DECLARATION_LOOKBACK_DAYS)).and_time(NaiveTime::MIN);
        let late_sent = repo::existing_keys(conn, "declaration_late:")?;
        let late = registry_repo::late_active_declarations(conn, since)?
            .into_iter()
            .filter(|t| !late_sent.contains(&format!("declaration_late:{}", t.id)))
            .collect();
        Ok(Due {
            due_soon: safety_repo::pending_due_between(
                conn,
                today,
                today + Duration::days(furthest(&stages.rectification_before_days)),
            )?,
            overdue: safety_repo::overdue_rectifications(conn)?,
            late,
            crowded: registry_repo::overcrowded_units(conn)?,
            expiring: registry_repo::ratings_expiring(
                conn,
                today,
                today + Duration::days(furthest(&stages.rating_expiry_before_days)),
            )?,
        })
    }

    /// The properties any reminder is about.
    fn properties(&self) -> HashSet<&str> {
        let mut involved: HashSet<&str> = HashSet::new();
        involved.extend(
            self.due_soon
                .iter()
                .chain(&self.overdue)
                .map(|r| r.property_id.as_str()),
        );
        involved.extend(self.late.iter().map(|t| t.property_id.as_str()));
        involved.extend(self.crowded.iter().map(|u| u.property_id.as_str()));
        involved.extend(self.expiring.iter().map(|p| p.id.as_str()));
        involved
    }
}

/// What order reminders are written with.
struct Orders<'a> {
    owners: &'a Owners,
    titles: &'a HashMap<String, (String, String)>,
    today: NaiveDate,
}

impl Orders<'_> {
    /// One notice per property, due date and reminder stage (`stage_of` the due date: none when no stage is
    /// reached), listing the orders due that day; how many were queued. A stage already reminded is not again.
    fn queue(
        &self,
        conn: &mut Conn,
        kind: NoticeKind,
        orders: &[RectificationRow],
        stage_of: impl Fn(NaiveDate) -> Option<u32>,
    ) -> Result<usize, ApiError> {
        let mut groups: BTreeMap<(&str, NaiveDate), Vec<&RectificationRow>> = BTreeMap::new();
        for order in orders {
            groups
                .entry((order.property_id.as_str(), order.due_on))
                .or_default()
                .push(order);
        }
        let mut queued = 0;
        for ((property_id, due_on), group) in groups {
            let (Some((property, owner)), Some(stage)) = (self.owners.of(property_id), stage_of(due_on)) else {
                continue;
            };
            let suspended = property.status == PropertyStatus::Suspended
                || safety_repo::pending_rectifications(conn, property_id)?
                    .iter()
                    .any(|r| r.severity == Severity::Critical && r.due_on < self.today);
            let notice = NewNotice {
                kind,
                recipient: owner.into(),
                property: Some(property.into()),
                context: json!({"items": safety_notices::describe_orders(&group, self.titles), "suspended": suspended,
                                "stage_days": stage}),
                dedupe_key: Some(format!("{kind}:{property_id}:{due_on}:{stage}d")),
            };
            if outbox::queue(conn, notice)? {
                queued += 1;
            }
        }
        Ok(queued)
    }
}

/// A reminder per property whose rating expires soon, once per stage; how many were queued.
fn queue_expiring_notices(
    conn: &mut Conn,
    stages: &ReminderStages,
    expiring: &[PropertyRow],
    owners: &Owners,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    let mut queued = 0;
    for property in expiring {
        let (Some((_, owner)), Some(valid_until)) = (owners.of(&property.id), property.rating_valid_until) else {
            continue;
        };
        let days_left = (valid_until - today).num_days();
        let Some(stage) = ReminderStages::before(&stages.rating_expiry_before_days, days_left) else {
            continue;
        };
        let notice = NewNotice {
            kind: NoticeKind::RatingExpiring,
            recipient: owner.into(),
            property: Some(property.into()),
            context: json!({"valid_until": valid_until, "stars": property.stars, "stage_days": stage}),
            dedupe_key: Some(format!("rating_expiring:{}:{valid_until}:{stage}d", property.id)),
        };
        if outbox::queue(conn, notice)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// A reminder to each landlord whose training lapses soon, once per stage and validity date (a new attendance
/// moves the date, and with it the key); how many were queued. Expelled members and deactivated accounts are left
/// alone.
fn queue_training_notices(conn: &mut Conn, stages: &ReminderStages, today: NaiveDate) -> Result<usize, ApiError> {
    let until = today + Duration::days(furthest(&stages.training_expiry_before_days));
    let lapsing = training_repo::lapsing_between(conn, today, until)?;
    let ids: Vec<&str> = lapsing.iter().map(|(id, _)| id.as_str()).collect();
    let landlords: HashMap<String, UserRow> = accounts_repo::find_many(conn, &ids)?
        .into_iter()
        .filter(|u| u.active && u.membership_status != MembershipStatus::Expelled)
        .map(|u| (u.id.clone(), u))
        .collect();
    let mut queued = 0;
    for (landlord_id, valid_until) in &lapsing {
        let Some(landlord) = landlords.get(landlord_id) else {
            continue;
        };
        let days_left = (*valid_until - today).num_days();
        let Some(stage) = ReminderStages::before(&stages.training_expiry_before_days, days_left) else {
            continue;
        };
        let Some(session) = training_repo::latest_session_of(conn, landlord_id)? else {
            continue;
        };
        let notice = NewNotice {
            kind: NoticeKind::TrainingExpiring,
            recipient: landlord.into(),
            property: None,
            context: json!({"valid_until": valid_until, "held_on": session.held_on, "title": session.title,
                            "stage_days": stage}),
            dedupe_key: Some(format!("training_expiring:{landlord_id}:{valid_until}:{stage}d")),
        };
        if outbox::queue(conn, notice)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Runs a sweep for the association's today.
pub async fn run_now(db: &Db, settings: std::sync::Arc<Settings>) -> Result<SweepReport, ApiError> {
    let today = crate::ids::today();
    db.write(move |conn| run(conn, &settings, today)).await
}

/// How long until the next daily sweep at `at` (China Standard Time).
pub fn until_next(at: NaiveTime, now_utc: chrono::NaiveDateTime) -> std::time::Duration {
    const CHINA_OFFSET_HOURS: i64 = 8;
    let local_now = now_utc + Duration::hours(CHINA_OFFSET_HOURS);
    let mut next = local_now.date().and_time(at);
    if next <= local_now {
        next += Duration::days(1);
    }
    (next - local_now).to_std().unwrap_or_default()
}

/// Runs the sweep, then the purge of expired personal data (`crate::retention`), at start-up, so a day
/// missed while the server was down is caught up, then every day at `at`, inside the server; each once a
/// day across every process on the database (`crate::daily`; were both to run twice, a sweep queues nothing
/// twice and a purge erases nothing twice).
pub async fn run_daily(db: Db, settings: std::sync::Arc<Settings>, at: NaiveTime) {
    loop {
        let today = crate::ids::today();
        let sweep = crate::daily::once(&db, "compliance_sweep", today, || run_now(&db, settings.clone()));
        match sweep.await {
            Ok(Some(report)) => tracing::info!(?report, "compliance sweep done"),
            Ok(None) => tracing::info!("today's compliance sweep is another process's"),
            Err(err) => tracing::error!(error = %err, "compliance sweep failed"),
        }
        let purge = crate::daily::once(&db, "personal_data_purge", today, || {
            crate::retention::service::run(&db, settings.retention_days, today, false)
        });
        match purge.await {
            Ok(Some(report)) => tracing::info!(?report, "personal data purge done"),
            Ok(None) => tracing::info!("today's personal data purge is another process's"),
            Err(err) => tracing::error!(error = %err, "personal data purge failed"),
        }
        if let Err(err) = crate::rate_limit::prune(&db).await {
            tracing::warn!(error = %err, "old rate limit counts could not be forgotten");
        }
        tokio::time::sleep(until_next(at, chrono::Utc::now().naive_utc())).await;
    }
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(run_sweep);
}

/// Run the compliance sweep now (admin). Running it again the same day queues nothing new.
#[utoipa::path(tag = "notices",
    responses((status = 200, body = SweepReport), (status = 403, body = Problem)), security(("bearer" = [])))]
#[post("/compliance/sweep")]
pub async fn run_sweep(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let report = run_now(&state.db, state.settings.clone()).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_sweep_is_later_today_or_tomorrow_in_china_time() {
        let six = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        // 21:00 UTC is 05:00 in China: one hour to go.
        let utc = NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_opt(21, 0, 0)
            .unwrap();
        assert_eq!(until_next(six, utc).as_secs(), 3600);
        // 23:00 UTC is 07:00 in China: 23 hours to go.
        let utc = NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_opt(23, 0, 0)
            .unwrap();
        assert_eq!(until_next(six, utc).as_secs(), 23 * 3600);
    }
}
