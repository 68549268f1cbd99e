//! Batched writes on PostgreSQL: many requests' rows in one statement.
//!
//! On PostgreSQL most of a small write's cost is per statement, not per row: each statement is a round trip,
//! an executor start, its locks and, at the end, a commit that waits for the log to reach the disk. A batcher
//! takes the items that queue while its previous batch runs and hands them to one function that writes them
//! all at once (one statement over arrays: one commit for all), and answers each request with its own
//! outcome, only after that statement has committed — nothing is acknowledged before it is in the database.
//!
//! Items go to one of a few lanes by a key (for declarations, the property), each lane served by at most one
//! thread at a time: two batches running at once never touch the same rows, so they cannot deadlock on each
//! other, and a busy server runs as many batches at once as it has lanes. A lane's thread stops when it finds
//! its queue empty; that check and the next item's look at whether anybody serves are made under the lane's
//! lock, so no queued item is left behind (as the SQLite writer's group commit, `writer.rs`).

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::writer::group_failed;
use super::{Db, DbConn};
use crate::error::{ApiError, DATABASE_UNAVAILABLE};

/// Most items written by one statement: a busy server's queue in one go, a statement still quick to run.
pub const BATCH_MAX: usize = 64;

/// Writes a batch: one outcome per item, in the items' order; an error for the whole batch (the connection
/// failed) is every item's answer.
pub type Run<I, O> = fn(&mut DbConn, Vec<I>) -> Result<Vec<Result<O, ApiError>>, ApiError>;

/// A queued item and where its answer goes.
type Queued<I, O> = (I, tokio::sync::oneshot::Sender<Result<O, ApiError>>);

struct Lane<I, O> {
    queue: VecDeque<Queued<I, O>>,
    /// A thread serves this lane's queue.
    serving: bool,
}

/// Batches items of one kind, written by `run`.
pub struct Batcher<I, O> {
    db: Db,
    lanes: Vec<Mutex<Lane<I, O>>>,
    run: Run<I, O>,
    /// Batches written and the items they held, since the start.
    batches: AtomicU64,
    items: AtomicU64,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher with `lanes` lanes (at least one) on `db`'s pool.
    pub fn new(db: Db, lanes: usize, run: Run<I, O>) -> Arc<Self> {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                Mutex::new(Lane {
                    queue: VecDeque::new(),
                    serving: false,
                })
            })
            .collect();
        Arc::new(Batcher {
            db,
            lanes,
            run,
            batches: AtomicU64::new(0),
            items: AtomicU64::new(0),
        })
    }

    /// Queues `item` in the lane of `key` and waits for its outcome, given once its batch has committed.
    pub async fn submit(self: &Arc<Self>, key: &str, item: I) -> Result<O, ApiError> {
        let lane = self.lane_of(key);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let start = {
            let mut queued = self.lock(lane);
            queued.queue.push_back((item, reply));
            !std::mem::replace(&mut queued.serving, true)
        };
        if start {
            let batcher = Arc::clone(self);
            drop(actix_web::rt::task::spawn_blocking(move || batcher.serve(lane)));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ApiError::Unavailable(DATABASE_UNAVAILABLE.into())))
    }

    /// Batches written and the items they held, since the start.
    pub fn stats(&self) -> (u64, u64) {
        (self.batches.load(Ordering::Relaxed), self.items.load(Ordering::Relaxed))
    }

    fn lane_of(&self, key: &str) -> usize {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        (hasher.finish() % self.lanes.len() as u64) as usize
    }

    fn lock(&self, lane: usize) -> MutexGuard<'_, Lane<I, O>> {
        // A panic never happens while the lock is held (only queue operations run under it).
        self.lanes[lane].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the lane's queue in batches until it is empty. A batch whose work panics is answered as an
    /// internal error (its statement did not commit), not the lane's later items.
    fn serve(&self, lane: usize) {
        loop {
            let batch: Vec<Queued<I, O>> = {
                let mut queued = self.lock(lane);
                if queued.queue.is_empty() {
                    queued.serving = false;
                    return;
                }
                let take = queued.queue.len().min(BATCH_MAX);
                queued.queue.drain(..take).collect()
            };
            let (items, replies): (Vec<I>, Vec<_>) = batch.into_iter().unzip();
            let count = replies.len();
            self.batches.fetch_add(1, Ordering::Relaxed);
            self.items.fetch_add(count as u64, Ordering::Relaxed);
            let outcomes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.db.with_pooled(|conn| (self.run)(conn, items))
            }))
            .unwrap_or_else(|_| Err(ApiError::internal(anyhow::anyhow!("a batched write panicked"))));
            self.db.note_write_outcome(outcomes.as_ref().map(|_| ()));
            let outcomes = match outcomes {
                Ok(outcomes) if outcomes.len() == count => outcomes,
                Ok(outcomes) => {
                    let err = anyhow::anyhow!("a batch of {count} answered {} outcomes", outcomes.len());
                    vec_of_failures(&ApiError::internal(err), count)
                }
                Err(err) => {
                    tracing::error!(error = %err, count, "a batched write failed as a whole");
                    vec_of_failures(&err, count)
                }
            };
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The request may have gone (its client left): nothing to answer then.
                let _ = reply.send(outcome);
            }
        }
    }
}

/// Every item's answer when its batch failed as a whole (as a failed group's on SQLite).
fn vec_of_failures<O>(cause: &ApiError, count: usize) -> Vec<Result<O, ApiError>> {
    (0..count).map(|_| Err(group_failed(cause))).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    static STARTED: AtomicBool = AtomicBool::new(false);
    static RELEASED: AtomicBool = AtomicBool::new(false);

    /// Doubles each item; refuses 13; holds the batch with item 0 until released.
    fn double(_: &mut DbConn, items: Vec<u32>) -> Result<Vec<Result<u32, ApiError>>, ApiError> {
        if items.contains(&0) {
            STARTED.store(true, Ordering::SeqCst);
            while !RELEASED.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(items
            .into_iter()
            .map(|i| if i == 13 { Err(ApiError::NotFound) } else { Ok(i * 2) })
            .collect())
    }

    #[actix_web::test]
    async fn items_queued_while_a_batch_runs_share_the_next_and_each_gets_its_own_answer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&dir.path().join("batch.db").to_string_lossy(), 2).unwrap();
        let batcher = Batcher::new(db, 1, double);
        let first = actix_web::rt::spawn({
            let batcher = Arc::clone(&batcher);
            async move { batcher.submit("one lane", 0).await }
        });
        while !STARTED.load(Ordering::SeqCst) {
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        let rest: Vec<_> = (10..20)
            .map(|i| {
                let batcher = Arc::clone(&batcher);
                actix_web::rt::spawn(async move { batcher.submit("one lane", i).await })
            })
            .collect();
        // The tasks queue their items when first run, while the first batch is held.
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        RELEASED.store(true, Ordering::SeqCst);
        assert_eq!(first.await.unwrap().unwrap(), 0);
        for (i, task) in (10..20).zip(rest) {
            match (i, task.await.unwrap()) {
                (13, outcome) => assert!(matches!(outcome, Err(ApiError::NotFound)), "{outcome:?}"),
                (i, outcome) => assert_eq!(outcome.unwrap(), i * 2),
            }
        }
        assert_eq!(batcher.stats(), (2, 11), "the ten queued items went in one batch");
    }
}
