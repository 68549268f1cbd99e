//! The delivery worker: claims due notices, sends them, and records each outcome, retrying with
//! backoff. Runs in the server every few seconds and once from `anzu notices send`.
//!
//! Every send is bounded in time (a mail server that accepts and never answers cannot hold a notice in
//! `sending`, nor the notices behind it), at most as many run at once as the SMTP pool holds connections, and
//! each outcome is recorded as soon as that send ends: a crash re-sends only the messages then in flight.

use std::time::Duration as StdDuration;

use chrono::Duration;
use futures_util::StreamExt;
use lettre::message::Mailbox;
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;
use crate::notices::mailer::{self, Mailer};
use crate::notices::model::NoticeRow;
use crate::notices::outbox::{MAX_ATTEMPTS, backoff};
use crate::notices::repo;
use crate::notices::sealed::LinkSealer;

/// Notices claimed per round.
const BATCH: i64 = 64;

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// What the worker needs.
#[derive(Clone)]
pub struct Delivery {
    pub db: Db,
    pub mailer: Mailer,
    pub from: Mailbox,
    /// How long a claim lasts before another worker may take the notice over.
    pub claim_secs: i64,
    /// How long one send may take, connecting included.
    pub send_timeout: StdDuration,
    /// Opens the one-time links of notices that carry one.
    pub links: LinkSealer,
    /// Decides what is due and when a claim runs out.
    pub clock: Clock,
}

/// How one send ended.
enum Outcome {
    Sent,
    Retrying,
    Failed,
}

impl Delivery {
    /// The worker the settings describe: their mailer, sender, claim and send time-out.
    pub fn from_settings(db: Db, settings: &Settings) -> anyhow::Result<Self> {
        let (mailer, from) = Mailer::from_settings(settings)?;
        Ok(Delivery {
            db,
            mailer,
            from,
            claim_secs: settings.notice_claim_secs,
            send_timeout: StdDuration::from_secs(settings.smtp_timeout_secs),
            links: LinkSealer::new(&settings.data_key),
            clock: Clock::system(),
        })
    }

    /// Claims, sends and records one batch.
    pub async fn deliver_batch(&self) -> Result<DeliveryReport, ApiError> {
        let claim_secs = self.claim_secs;
        let clock = self.clock.clone();
        let claimed = self
            .db
            .write(move |conn| {
                let at = clock.now();
                repo::claim_due(conn, at, at + Duration::seconds(claim_secs), BATCH)
            })
            .await?;
        let mut outcomes = futures_util::stream::iter(claimed)
            .map(|notice| self.deliver(notice))
            .buffer_unordered(mailer::SMTP_POOL_SIZE as usize);
        let mut report = DeliveryReport::default();
        while let Some(outcome) = outcomes.next().await {
            match outcome? {
                Outcome::Sent => report.sent += 1,
                Outcome::Retrying => report.retrying += 1,
                Outcome::Failed => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Sends one claimed notice, within the time-out, and records how it went.
    async fn deliver(&self, notice: NoticeRow) -> Result<Outcome, ApiError> {
        let send = async {
            let ready = self.links.reveal(&notice)?;
            self.mailer.send(&self.from, &ready).await
        };
        let sent = match tokio::time::timeout(self.send_timeout, send).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer from the mail server within {} s",
                self.send_timeout.as_secs()
            )),
        };
        let (id, attempts) = (notice.id, notice.attempts);
        let clock = self.clock.clone();
        self.db
            .write(move |conn| {
                let at = clock.now();
                Ok(match sent {
                    Ok(()) => {
                        repo::mark_sent(conn, &id, at)?;
                        Outcome::Sent
                    }
                    Err(error) if attempts < MAX_ATTEMPTS => {
                        repo::mark_attempt_failed(conn, &id, &error, Some(at + backoff(attempts)), at)?;
                        Outcome::Retrying
                    }
                    Err(error) => {
                        repo::mark_attempt_failed(conn, &id, &error, None, at)?;
                        Outcome::Failed
                    }
                })
            })
            .await
    }

    /// Delivers batches until nothing is due.
    pub async fn drain(&self) -> Result<DeliveryReport, ApiError> {
        let mut total = DeliveryReport::default();
        loop {
            let report = self.deliver_batch().await?;
            if report == DeliveryReport::default() {
                return Ok(total);
            }
            total.sent += report.sent;
            total.retrying += report.retrying;
            total.failed += report.failed;
            if report.sent == 0 && report.failed == 0 {
                // Everything claimed is waiting for a retry: nothing more is due now.
                return Ok(total);
            }
        }
    }

    /// Runs in the server: delivers whatever is due every `poll` interval.
    pub async fn run(self, poll: StdDuration) {
        loop {
            match self.drain().await {
                Ok(report) if report != DeliveryReport::default() => {
                    tracing::info!(
                        sent = report.sent,
                        retrying = report.retrying,
                        failed = report.failed,
                        "notices delivered"
                    );
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "notice delivery round failed"),
            }
            tokio::time::sleep(poll).await;
        }
    }
}
