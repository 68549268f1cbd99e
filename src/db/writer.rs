//! The SQLite writer: its one connection, and group commit on it.
//!
//! SQLite has one writer at a time, and each commit costs the same whatever it holds (the log's frames and
//! header). So writes that queue up while a transaction runs go into the next one together: each in a savepoint
//! of its own (one write's failure rolls back only that write), all committed at once, and each answered only
//! after that commit — nothing is acknowledged before it is in the database. One thread at a time serves the
//! queue: the write that finds nobody serving starts it, the others only queue their work (no hand-off to another
//! thread each); the server stops when it finds the queue empty, and that check and the next write's look at
//! whether anybody serves are made under the queue's one lock, so no queued write is left behind.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use diesel::Connection;

use super::{DbConn, OnCommit, transaction};
use crate::error::{ApiError, DATABASE_UNAVAILABLE};

/// Most writes committed in one transaction: enough to take the queue of a busy server in one go, few enough
/// that one slow write does not hold many answers back.
pub(super) const GROUP_MAX: usize = 64;

/// A queued write: runs its work in a savepoint of the group's transaction.
pub(super) type Job = Box<dyn FnOnce(&mut DbConn) -> Ran + Send>;

/// What a queued write did, and how to answer it once the group's commit is known.
pub(super) struct Ran {
    /// The work failed in a way that may have ended the whole transaction (storage full, a broken connection,
    /// an internal error): the group stops and rolls back, and this is what the others are told.
    stops_group: Option<ApiError>,
    answer: Answer,
}

/// Sends a queued write its answer, given why its group did not commit (`None`: it did).
type Answer = Box<dyn FnOnce(Option<&ApiError>) + Send>;

/// A write for the queue: `work` decides whether its changes are kept (as in [`super::Db::write_or_rollback`]);
/// the answer goes to `reply` after the group's commit (or its failure).
pub(super) fn job<T, F>(
    hook: Option<Arc<dyn OnCommit>>,
    work: F,
    reply: tokio::sync::oneshot::Sender<Result<T, ApiError>>,
) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<(T, bool), ApiError> + Send + 'static,
{
    Box::new(move |conn: &mut DbConn| {
        // Inside the group's transaction, diesel makes this a savepoint.
        let result = transaction(conn, hook.as_deref(), work);
        let stops_group = match &result {
            Err(err @ (ApiError::StorageFull | ApiError::Unavailable(_) | ApiError::Internal(_))) => {
                Some(group_failed(err))
            }
            _ => None,
        };
        Ran {
            stops_group,
            answer: Box::new(move |group_failure| {
                let answer = match (group_failure, result) {
                    // Committed: the write's own answer. Not committed: a write that failed says why; one that
                    // worked was rolled back with the group and says so.
                    (None, result) | (Some(_), result @ Err(_)) => result,
                    (Some(cause), Ok(_)) => Err(group_failed(cause)),
                };
                // The request may have gone (its client left): nothing to answer then.
                let _ = reply.send(answer);
            }),
        }
    })
}

/// What a write is told when its group could not commit: storage full stays storage full; anything else is the
/// database being unavailable for a moment (nothing of the write was kept, so trying again is safe).
pub(super) fn group_failed(cause: &ApiError) -> ApiError {
    match cause {
        ApiError::StorageFull => ApiError::StorageFull,
        _ => ApiError::Unavailable(DATABASE_UNAVAILABLE.into()),
    }
}

/// The writes waiting, and whether a thread is serving them.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    serving: bool,
}

/// The writer connection and the writes waiting for it.
#[derive(Default)]
pub(super) struct Writer {
    conn: Mutex<Option<DbConn>>,
    queue: Mutex<Queue>,
    groups: AtomicU64,
    grouped_writes: AtomicU64,
}

/// How a group ended: `None` committed, or why it did not.
pub(super) type GroupOutcome = Option<ApiError>;

impl Writer {
    /// Queues `job`. True when nobody was serving the queue: the caller now does, and must serve it until
    /// [`Writer::next_group`] finds it empty.
    #[must_use]
    pub(super) fn push(&self, job: Job) -> bool {
        let mut queue = lock(&self.queue);
        queue.jobs.push_back(job);
        !std::mem::replace(&mut queue.serving, true)
    }

    /// The connection, waiting for it.
    pub(super) fn conn(&self) -> MutexGuard<'_, Option<DbConn>> {
        lock(&self.conn)
    }

    /// Up to [`GROUP_MAX`] queued writes, oldest first, for the serving thread. None when the queue is empty:
    /// the serving thread stops then, and the next write queued starts serving again.
    pub(super) fn next_group(&self) -> Vec<Job> {
        let mut queue = lock(&self.queue);
        let count = queue.jobs.len().min(GROUP_MAX);
        if count == 0 {
            queue.serving = false;
        }
        queue.jobs.drain(..count).collect()
    }

    /// Puts writes a stopped group did not run back at the head of the queue, in their order.
    fn requeue(&self, jobs: Vec<Job>) {
        let mut queue = lock(&self.queue);
        for job in jobs.into_iter().rev() {
            queue.jobs.push_front(job);
        }
    }

    /// Runs `group` in one transaction on `conn` and answers each write. A write that stops the group rolls it
    /// back; the writes after it go back to the queue for the next group.
    pub(super) fn commit_group(&self, conn: &mut DbConn, group: Vec<Job>) -> GroupOutcome {
        let count = group.len();
        let mut jobs = group.into_iter();
        let mut answers = Vec::with_capacity(count);
        let mut stopped: Option<ApiError> = None;
        let outcome = conn.transaction::<(), diesel::result::Error, _>(|c| {
            for job in jobs.by_ref() {
                let ran = job(c);
                answers.push(ran.answer);
                if let Some(cause) = ran.stops_group {
                    stopped = Some(cause);
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok(())
        });
        let failure = match (outcome, stopped) {
            (Ok(()), _) => None,
            (Err(_), Some(cause)) => Some(cause),
            (Err(err), None) => Some(group_failed(&ApiError::from(err))),
        };
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.grouped_writes.fetch_add(answers.len() as u64, Ordering::Relaxed);
        for answer in answers {
            answer(failure.as_ref());
        }
        // Writes never run: after a stop they wait for the next group. (When the transaction could not even
        // begin, none ran; dropping them answers each as unavailable, rather than retrying in a loop.)
        let left: Vec<Job> = jobs.collect();
        if failure.is_some() && left.len() < count {
            self.requeue(left);
        }
        failure
    }

    /// Groups committed and the writes they held, since the start.
    pub(super) fn stats(&self) -> (u64, u64) {
        (
            self.groups.load(Ordering::Relaxed),
            self.grouped_writes.load(Ordering::Relaxed),
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
