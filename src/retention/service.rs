//! The purge: what is due, and erasing it a batch per transaction so that other writes go on meanwhile.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::json;

use super::repo;
use crate::audit::{self, Event};
use crate::db::{Conn, Db};
use crate::error::ApiError;

/// Tenancies erased in one transaction.
pub const BATCH: i64 = 2_000;

/// What the notices that named an erased tenant say instead.
const ERASED_TEXT: &str = "此通知中租客的个人信息已按保存期限删除。\n\
    The tenant's personal data in this notice was erased after the retention period.";
const ERASED_HTML: &str = "<p>此通知中租客的个人信息已按保存期限删除。<br>\
    The tenant's personal data in this notice was erased after the retention period.</p>";

/// The key of an audit event's detail that held the tenant's masked number.
const MASKED_KEY: &str = "id_number_masked";

/// What a purge erased, or (a dry run) would erase: counts only, never personal data.
#[derive(Debug, Default, Serialize)]
pub struct PurgeReport {
    /// Tenancies that ended before this day are due.
    pub ended_before: NaiveDate,
    pub dry_run: bool,
    /// Tenancies erased (or due, in a dry run).
    pub tenancies: usize,
    /// Notices whose body named an erased tenant (not counted in a dry run).
    pub notices: usize,
    /// Tenancies by village id.
    pub villages: BTreeMap<String, usize>,
}

/// The first day whose move-outs are kept: a tenancy that ended before it ended more than `retention_days` ago.
pub fn ended_before(today: NaiveDate, retention_days: i64) -> NaiveDate {
    today - Duration::days(retention_days)
}

/// Runs the purge for `today` (a dry run counts what is due and writes nothing).
pub async fn run(db: &Db, retention_days: i64, today: NaiveDate, dry_run: bool) -> Result<PurgeReport, ApiError> {
    let cutoff = ended_before(today, retention_days);
    let mut report = PurgeReport {
        ended_before: cutoff,
        dry_run,
        ..PurgeReport::default()
    };
    if dry_run {
        for (village, due) in db.read(move |conn| repo::due_by_village(conn, cutoff)).await? {
            let due = usize::try_from(due).unwrap_or_default();
            report.tenancies += due;
            report.villages.insert(village, due);
        }
        return Ok(report);
    }
    loop {
        let batch = db
            .write(move |conn| erase_batch(conn, cutoff, retention_days, crate::ids::now()))
            .await?;
        report.tenancies += batch.tenancies;
        report.notices += batch.notices;
        for (village, erased) in batch.villages {
            *report.villages.entry(village).or_default() += erased;
        }
        if batch.tenancies < BATCH as usize {
            break;
        }
    }
    if report.tenancies > 0 {
        // On SQLite the erased pages leave the write-ahead log for the database file, whose freed space
        // `secure_delete` has zeroed.
        db.checkpoint().await?;
    }
    Ok(report)
}

/// Erases up to [`BATCH`] due tenancies with their notices' bodies and audit details, and records one audit
/// event per village with the count.
fn erase_batch(
    conn: &mut Conn,
    cutoff: NaiveDate,
    retention_days: i64,
    at: NaiveDateTime,
) -> Result<PurgeReport, ApiError> {
    let due = repo::due(conn, cutoff, BATCH)?;
    let mut by_birth_year: BTreeMap<Option<NaiveDate>, Vec<&str>> = BTreeMap::new();
    let mut report = PurgeReport {
        ended_before: cutoff,
        ..PurgeReport::default()
    };
    for tenancy in &due {
        let year_only = tenancy.birth_date.and_then(|d| NaiveDate::from_ymd_opt(d.year(), 1, 1));
        by_birth_year.entry(year_only).or_default().push(&tenancy.id);
        *report.villages.entry(tenancy.village_id.clone()).or_default() += 1;
    }
    for (birth_date, ids) in &by_birth_year {
        report.tenancies += repo::erase_tenancies(conn, ids, *birth_date, at)?;
    }
    let ids: Vec<&str> = due.iter().map(|t| t.id.as_str()).collect();
    let keys: Vec<String> = ids
        .iter()
        .map(|id| crate::registry::notices::declaration_late_key(id))
        .collect();
    report.notices = repo::erase_notice_bodies(conn, &keys, ERASED_TEXT, ERASED_HTML)?;
    for (event_id, detail) in repo::audit_details_with(conn, &ids, MASKED_KEY)? {
        let mut detail: serde_json::Value = serde_json::from_str(&detail).unwrap_or_else(|_| json!({}));
        if let Some(fields) = detail.as_object_mut() {
            fields.remove(MASKED_KEY);
            fields.insert("personal_data_erased".into(), json!(true));
        }
        repo::set_audit_detail(conn, &event_id, &detail)?;
    }
    for (village_id, erased) in &report.villages {
        audit::record(
            conn,
            None,
            Event {
                action: "tenancies.personal_data_erased",
                entity_type: "village",
                entity_id: village_id,
                village_id: Some(village_id),
                detail: json!({"tenancies": erased, "ended_before": cutoff, "retention_days": retention_days}),
            },
        )?;
    }
    Ok(report)
}
