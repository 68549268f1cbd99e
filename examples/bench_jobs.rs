//! Benchmarks of the background jobs, against the database named by ANZU_DATABASE_URL (seed it with
//! `examples/seed.rs` first):
//!
//! - `bench_jobs notices --count 10000 --smtp smtp://127.0.0.1:2525`: queues COUNT notices, then times
//!   their delivery through the pooled SMTP transport (the same worker the server runs).
//! - `bench_jobs sweep`: times one compliance sweep over everything in the database.
//! - `bench_jobs purge --end-all`: ends every tenancy, then times the dry run and the purge of their personal
//!   data (`anzu purge`'s work).
//!
//! Run with `cargo run --release --example bench_jobs -- …`; see docs/performance.md.

use std::sync::Arc;
use std::time::Instant;

use anzu::auth::Role;
use anzu::config::Settings;
use anzu::db::Db;
use anzu::notices::model::NoticeKind;
use anzu::notices::outbox::{self, NewNotice};
use clap::{Parser, Subcommand};
use diesel::prelude::*;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    job: Job,
}

#[derive(Subcommand)]
enum Job {
    /// Queue and deliver notices to an SMTP server.
    Notices {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long)]
        smtp: String,
    },
    /// Run the compliance sweep once.
    Sweep,
    /// Time the purge of expired personal data; `--end-all` first ends every active tenancy on its move-in
    /// date, so that everything seeded is an ended tenancy (the purge's figure is over ended tenancies).
    Purge {
        #[arg(long, default_value_t = 30)]
        retention_days: i64,
        #[arg(long)]
        end_all: bool,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut settings = Settings::from_env()?;
    let db = Db::connect(&settings.database_url, 4)?;
    db.migrate()?;
    match args.job {
        Job::Notices { count, smtp } => {
            settings.smtp_url = Some(smtp);
            let recipient = {
                use anzu::db::schema::users;
                let mut conn = db.get()?;
                users::table
                    .filter(users::role.eq(Role::Landlord.as_str()))
                    .select(anzu::accounts::model::UserRow::as_select())
                    .first(&mut *conn)?
            };
            let started = Instant::now();
            db.write_blocking(|conn| {
                for n in 0..count {
                    outbox::queue(
                        conn,
                        NewNotice {
                            kind: NoticeKind::MembershipChanged,
                            recipient: (&recipient).into(),
                            property: None,
                            context: json!({"from": "active", "to": "suspended", "action": "suspend",
                                            "reason": format!("benchmark {n}")}),
                            dedupe_key: None,
                        },
                    )?;
                }
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("queued {count} notices in {:.2} s", started.elapsed().as_secs_f64());
            let delivery = anzu::notices::worker::Delivery::from_settings(db.clone(), &settings)?;
            let started = Instant::now();
            let report = delivery.drain().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "delivered {} (retrying {}, failed {}) in {secs:.2} s: {:.0} notices/s",
                report.sent,
                report.retrying,
                report.failed,
                report.sent as f64 / secs
            );
        }
        Job::Sweep => {
            let settings = Arc::new(settings);
            let started = Instant::now();
            let report = anzu::compliance::run_now(&db, settings)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("sweep took {:.2} s: {report:?}", started.elapsed().as_secs_f64());
        }
        Job::Purge {
            retention_days,
            end_all,
        } => purge(&db, retention_days, end_all).await?,
    }
    Ok(())
}

async fn purge(db: &Db, retention_days: i64, end_all: bool) -> anyhow::Result<()> {
    use anzu::db::schema::tenancies;
    let today = anzu::ids::today();
    if end_all {
        let mut conn = db.get()?;
        let ended = diesel::update(tenancies::table.filter(tenancies::move_out_date.is_null()))
            .set(tenancies::move_out_date.eq(tenancies::move_in_date.nullable()))
            .execute(&mut *conn)?;
        println!("ended {ended} active tenancies on their move-in date");
    }
    let started = Instant::now();
    let due = anzu::retention::service::run(db, retention_days, today, true)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "dry run took {:.2} s: {} tenancies due in {} villages",
        started.elapsed().as_secs_f64(),
        due.tenancies,
        due.villages.len()
    );
    let started = Instant::now();
    let done = anzu::retention::service::run(db, retention_days, today, false)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "purge took {secs:.2} s: {} tenancies erased ({:.0}/s), {} notices",
        done.tenancies,
        done.tenancies as f64 / secs,
        done.notices
    );
    Ok(())
}
