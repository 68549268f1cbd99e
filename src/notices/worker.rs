//! The delivery worker: claims due notices, sends them, and records each outcome, retrying with
//! backoff. Runs in the server every few seconds and once from `anzu notices send`.

use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::Mailbox;
use serde::Serialize;

use crate::db::Db;
use crate::error::ApiError;
use crate::ids::now;
use crate::notices::mailer::Mailer;
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
    /// Opens the one-time links of notices that carry one.
    pub links: LinkSealer,
}

impl Delivery {
    /// Claims, sends and records one batch.
    pub async fn deliver_batch(&self) -> Result<DeliveryReport, ApiError> {
        let claim_secs = self.claim_secs;
        let claimed = self
            .db
            .write(move |conn| {
                let at = now();
                repo::claim_due(conn, at, at + Duration::seconds(claim_secs), BATCH)
            })
            .await?;
        if claimed.is_empty() {
            return Ok(DeliveryReport::default());
        }
        let sends = claimed.iter().map(|notice| async move {
            let ready = self.links.reveal(notice)?;
            self.mailer.send(&self.from, &ready).await
        });
        let outcomes = futures_util::future::join_all(sends).await;
        let results: Vec<(String, i32, Result<(), String>)> = claimed
            .into_iter()
            .zip(outcomes)
            .map(|(n, outcome)| (n.id, n.attempts, outcome))
            .collect();
        self.db
            .write(move |conn| {
                let at = now();
                let mut report = DeliveryReport::default();
                for (id, attempts, outcome) in &results {
                    match outcome {
                        Ok(()) => {
                            repo::mark_sent(conn, id, at)?;
                            report.sent += 1;
                        }
                        Err(error) if *attempts < MAX_ATTEMPTS => {
                            repo::mark_attempt_failed(conn, id, error, Some(at + backoff(*attempts)), at)?;
                            report.retrying += 1;
                        }
                        Err(error) => {
                            repo::mark_attempt_failed(conn, id, error, None, at)?;
                            report.failed += 1;
                        }
                    }
                }
                Ok(report)
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
