//! The database: one connection type over PostgreSQL and SQLite, the pool, embedded migrations, and the
//! `read` / `write` helpers that run blocking diesel work off the async threads.

pub mod batch;
pub mod query;
pub mod schema;
mod writer;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use thread_local::ThreadLocal;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a request waits for a database connection before it is answered 503.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes let through to the SQLite writer at a time: a group being committed and the next one queueing
/// behind it (group commit, `writer.rs`); the rest wait their turn in order.
const SQLITE_QUEUED_WRITES: usize = 2 * writer::GROUP_MAX;

/// How long an SQLite connection waits for a lock held by another process before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How long opening a PostgreSQL connection may take, the server's answer included (libpq's
/// `connect_timeout`; it counts whole seconds, at least 2): a server that accepts and never answers must not
/// hold a request, a readiness probe or the start-up.
const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// How long data sent to PostgreSQL may stay unacknowledged before the connection counts as dead (libpq's
/// `tcp_user_timeout`, in milliseconds).
const PG_TCP_USER_TIMEOUT_MS: u32 = 10_000;

/// Pauses between attempts to reach the database at start-up: doubling from the first to the last.
const STARTUP_RETRY_FIRST: Duration = Duration::from_millis(250);
const STARTUP_RETRY_MAX: Duration = Duration::from_secs(4);

/// Runs `$body` with `$c` bound to the inner connection of either backend: for the few statements the
/// two-backend connection cannot express, such as multi-row inserts.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Conn = DbConn;

pub use crate::config::Backend;

/// How much of an SQLite database file connections read through a memory map rather than by reading into
/// their page cache: SQLite's page cache is small (2 MB a connection), a register of 10,000 properties is some
/// 270 MB, and reading its pages by system calls took more of the writer's time than any statement did.
/// Writes still go through SQLite's own file writes, so a full disk fails a write, never a read.
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;

/// A new SQLite connection with the settings every connection needs; `secure_delete` overwrites with zeros
/// what a change frees, so that erased personal data does not linger in free pages; `temp_store = MEMORY`
/// keeps temporary files in memory: above all the journal of savepoints, which only serves to undo part of a
/// transaction still open, never a commit. Each write of the group commit runs in a savepoint, and a group's
/// journal went to a temporary file, a tenth of the writer's time in a profile of declarations. (The other
/// temporary files are sorts without an index; the lists and the ledger export read in index order.)
fn open_sqlite(url: &str) -> Result<DbConn, r2d2::Error> {
    let mut conn = SqliteConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
    conn.batch_execute(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
         PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; \
         PRAGMA mmap_size = {SQLITE_MMAP_BYTES}; PRAGMA temp_store = MEMORY;"
    ))
    .map_err(r2d2::Error::QueryError)?;
    Ok(DbConn::Sqlite(conn))
}

/// Opens connections of the backend chosen from the URL, never by trial (SQLite accepts any string).
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                // Opening can meet "database is locked" at once, without the busy timeout, while another
                // connection closes (it checkpoints the WAL): try again, within the same timeout.
                let deadline = std::time::Instant::now() + Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS));
                loop {
                    match open_sqlite(&self.url) {
                        Err(r2d2::Error::QueryError(diesel::result::Error::DatabaseError(_, info)))
                            if info.message().contains("database is locked")
                                && std::time::Instant::now() < deadline =>
                        {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        other => return other,
                    }
                }
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// One connection per thread that asked for one, opened on first use.
type PerThread = ThreadLocal<RefCell<Option<DbConn>>>;

/// The pool plus, on SQLite, the one writer connection: writes queue for it and are committed in groups
/// (`writer.rs`), so concurrent writes never fail as "locked", many share a commit, and its page cache and
/// prepared statements stay warm between transactions.
/// Each server thread also keeps a read connection of its own for [`Db::lookup`].
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    writer: Option<Arc<writer::Writer>>,
    readers: Arc<PerThread>,
    /// Turns at the pool, one per connection, handed out in the order requests asked: a request waits here,
    /// not on the pool, whose waiters wake in no particular order (under load some waited seconds).
    pool_turns: Arc<Semaphore>,
    /// Turns for [`Db::read`] (lists, reports, exports), taken before a pool turn: no more reads at once
    /// than the database can run on its cores ([`Db::limit_reads`]). More only share the cores, so each
    /// takes longer and some much longer (at the town's size, with ten at once on two cores, the first list
    /// page with `q` had a p99 of 106–338 ms and its slowest took up to 1 s; with four, under 12 ms and 30 ms);
    /// in line here they are answered in turn.
    read_turns: Arc<Semaphore>,
    /// Turns at the connection writes use: on SQLite the one writer, on PostgreSQL the pool's turns.
    write_turns: Arc<Semaphore>,
    backend: Backend,
    url: Arc<str>,
    /// When a write last failed for want of storage (Unix seconds; 0: not since the last write that worked).
    storage_full_at: Arc<AtomicI64>,
}

/// How long after a write failed for want of storage readiness reports it, unless a write succeeds first.
const STORAGE_FULL_REPORT_SECS: i64 = 30;

/// Creates the SQLite database file 0600 before SQLite does (SQLite gives its WAL and shared-memory files the
/// database file's permissions), and takes group and other access from files an older version left readable.
fn make_sqlite_files_private(path: &str) -> anyhow::Result<()> {
    if path.starts_with("file:") || path.starts_with(':') {
        return Ok(());
    }
    let file = std::path::Path::new(path);
    crate::private_file::touch(file).with_context(|| format!("cannot open the database file {}", file.display()))?;
    for suffix in ["-wal", "-shm"] {
        let name = std::path::PathBuf::from(format!("{path}{suffix}"));
        crate::private_file::restrict(&name)
            .with_context(|| format!("cannot restrict the permissions of {}", name.display()))?;
    }
    Ok(())
}

impl Db {
    pub fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let backend = Backend::of_url(url);
        let sqlite = backend == Backend::Sqlite;
        if sqlite {
            make_sqlite_files_private(url)?;
        }
        let url: &str = &match backend {
            Backend::Postgres => with_timeouts(url),
            Backend::Sqlite => url.to_owned(),
        };
        let pool = Pool::builder()
            .max_size(max_connections)
            .connection_timeout(CONNECTION_TIMEOUT)
            // No round trip to check every connection before use (it cost PostgreSQL reads a third of their
            // throughput): a connection the server dropped fails one request with 503 and is then replaced
            // (`with_pooled`); an SQLite file cannot go away under an open connection.
            .test_on_check_out(false)
            .error_handler(Box::new(QuietPoolErrors))
            .build_unchecked(Manager {
                url: url.to_owned(),
                backend,
            });
        let pool_turns = Arc::new(Semaphore::new(max_connections as usize));
        Ok(Db {
            pool,
            writer: sqlite.then(|| Arc::new(writer::Writer::default())),
            readers: Arc::new(PerThread::new()),
            write_turns: if sqlite {
                Arc::new(Semaphore::new(SQLITE_QUEUED_WRITES))
            } else {
                pool_turns.clone()
            },
            pool_turns,
            read_turns: Arc::new(Semaphore::new(max_connections as usize)),
            backend,
            url: url.into(),
            storage_full_at: Arc::new(AtomicI64::new(0)),
        })
    }

    pub fn get(&self) -> Result<PooledConnection<Manager>, r2d2::PoolError> {
        self.pool.get()
    }

    /// Waits, up to `wait`, until a connection opens: a database started alongside the service (a container, a
    /// systemd unit) may not be up yet. One log line per failed attempt; at the end one error naming where the
    /// database was looked for and why it could not be reached.
    pub fn wait_until_reachable(&self, wait: Duration) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let target = crate::config::database_target(&self.url);
        let mut pause = STARTUP_RETRY_FIRST;
        for attempt in 1.. {
            let cause = match self.manager().connect() {
                Ok(_) => return Ok(()),
                Err(err) => err.to_string(),
            };
            let waited = started.elapsed();
            if waited + pause > wait {
                anyhow::bail!(
                    "cannot reach the database at {target} (waited {} s, {attempt} attempts; ANZU_DB_WAIT_SECS): {}",
                    waited.as_secs(),
                    cause.trim()
                );
            }
            tracing::warn!(%target, attempt, cause = cause.trim(), retry_in_ms = pause.as_millis() as u64, "the database is not reachable yet");
            std::thread::sleep(pause);
            pause = (pause * 2).min(STARTUP_RETRY_MAX);
        }
        unreachable!("the attempts never run out")
    }

    /// Whether the database answers, on a connection of its own: a readiness probe must not queue behind
    /// requests for the pool, nor wait for it.
    pub fn check_fresh(&self) -> Result<(), String> {
        let mut conn = self.manager().connect().map_err(|e| e.to_string())?;
        conn.batch_execute("SELECT 1").map_err(|e| e.to_string())
    }

    fn manager(&self) -> Manager {
        Manager {
            url: self.url.to_string(),
            backend: self.backend,
        }
    }

    /// Applies every pending embedded migration of this backend.
    pub fn migrate(&self) -> anyhow::Result<()> {
        /// Held while migrating, so instances starting together take turns.
        const MIGRATION_LOCK: i64 = 0x616e_7a75;
        let mut conn = self.get()?;
        let applied = match &mut *conn {
            DbConn::Pg(c) => {
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
                let applied = c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
                applied
            }
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        }
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        if applied > 0 {
            tracing::info!(count = applied, "applied database migrations");
        }
        Ok(())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// At most `reads` of [`Db::read`] at once (never more than the pool holds); by default as many as the
    /// pool holds.
    pub fn limit_reads(mut self, reads: u32) -> Self {
        let reads = reads.clamp(1, self.pool.max_size());
        self.read_turns = Arc::new(Semaphore::new(reads as usize));
        self
    }

    /// Runs read-only work on a pooled connection, off the async threads, at most as many at once as
    /// [`Db::limit_reads`] allows (the rest wait their turn in order).
    pub async fn read<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
    {
        // One deadline for both turns: a read waits no longer than any other request before answering 503.
        let deadline = tokio::time::Instant::now() + CONNECTION_TIMEOUT;
        let _read_turn = turn_until(&self.read_turns, deadline).await?;
        let _turn = turn_until(&self.pool_turns, deadline).await?;
        let db = self.clone();
        actix_web::web::block(move || db.with_pooled(work)).await?
    }

    /// Runs a short read-only look-up, such as one row by its key, right here on this thread's own connection:
    /// handing work to the blocking pool and back costs several times more than the look-up itself (on
    /// PostgreSQL, most of a point read's CPU went to the threads' hand-offs). Only for work whose cost is
    /// bounded by an index, never for lists or scans: it holds up the thread it runs on. On PostgreSQL the
    /// thread's connection is opened on the blocking pool (a slow connect never holds up this thread), and
    /// one that failed is closed, so the next look-up opens another.
    pub async fn lookup<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
    {
        let cell = self.readers.get_or(|| RefCell::new(None));
        if self.backend == Backend::Postgres && cell.try_borrow().is_ok_and(|slot| slot.is_none()) {
            let db = self.clone();
            let opened = actix_web::web::block(move || db.open()).await??;
            // Back on this thread (a request's future stays on its worker): keep it, unless another request
            // of this thread kept one meanwhile.
            if let Ok(mut slot) = cell.try_borrow_mut() {
                slot.get_or_insert(opened);
            }
        }
        // No connection of this thread's to use (borrowed: not reachable, as `work` cannot call back in; or,
        // on PostgreSQL, none kept): a pooled connection does.
        let usable = cell
            .try_borrow()
            .is_ok_and(|slot| slot.is_some() || self.backend == Backend::Sqlite);
        if !usable {
            return self.read(work).await;
        }
        let mut slot = cell.borrow_mut();
        let result = self.in_slot(&mut slot, work);
        if matches!(result, Err(ApiError::Unavailable(_))) {
            *slot = None;
        }
        result
    }

    /// Runs `work` in one transaction (all or nothing), answered once it is committed; on SQLite writes queue
    /// for the one writer and share commits (each in a savepoint of its own).
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
    {
        self.write_or_rollback(move |c| work(c).map(|value| (value, true)))
            .await
    }

    /// Like [`Db::write`], but `work` decides whether its changes are kept: `(value, false)` rolls back
    /// and still answers `value` (a dry run, or a refused import).
    pub async fn write_or_rollback<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<(T, bool), ApiError> + Send + 'static,
    {
        let _turn = turn(&self.write_turns).await?;
        let hook = commit_hook();
        let db = self.clone();
        let Some(writer) = &self.writer else {
            return actix_web::web::block(move || db.with_writer(|conn| transaction(conn, hook.as_deref(), work)))
                .await?;
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        if writer.push(writer::job(hook, work, reply)) {
            // Nobody serves the queue: serve it on the blocking pool, and wait only for this write's own answer
            // (the serving thread goes on while writes keep coming).
            drop(actix_web::rt::task::spawn_blocking(move || db.serve_writes()));
        }
        // No answer: the group could not begin (the database could not be opened), and nothing was written.
        answer
            .await
            .unwrap_or_else(|_| Err(ApiError::Unavailable(crate::error::DATABASE_UNAVAILABLE.into())))
    }

    /// Commits queued writes in groups until none is left; run by the one thread serving the queue
    /// ([`writer::Writer::push`]). A write that panics loses its group (rolled back with its connection,
    /// every write of it answered as unavailable), not the queue.
    fn serve_writes(&self) {
        let Some(writer) = &self.writer else { return };
        let mut held = None;
        loop {
            let group = writer.next_group();
            if group.is_empty() {
                return;
            }
            // A blocking write (`with_writer`) may hold the connection: its turn ends first.
            let slot = held.get_or_insert_with(|| writer.conn());
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.in_slot(slot, |conn| Ok(writer.commit_group(conn, group)))
            }))
            .unwrap_or_else(|_| {
                // Closing the connection rolls back whatever the group had begun.
                **slot = None;
                Err(ApiError::internal(anyhow::anyhow!(
                    "a write panicked; its group was rolled back"
                )))
            });
            self.note_write_outcome(match &outcome {
                Ok(None) => Ok(()),
                Ok(Some(err)) | Err(err) => Err(err),
            });
        }
    }

    /// Groups committed on the SQLite writer and the writes they held, since the start (`(0, 0)` on
    /// PostgreSQL, which commits each write by itself).
    pub fn group_commit_stats(&self) -> (u64, u64) {
        self.writer.as_ref().map_or((0, 0), |w| w.stats())
    }

    /// The blocking form of [`Db::write`], for the command line and background workers.
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Conn) -> Result<T, ApiError>,
    {
        self.with_writer(|conn| transaction(conn, None, |c| work(c).map(|value| (value, true))))
    }

    /// Runs `work` on the connection writes use: on SQLite the one writer connection, held for the whole
    /// of `work`; on PostgreSQL any pooled connection.
    fn with_writer<T>(&self, work: impl FnOnce(&mut DbConn) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let result = match &self.writer {
            None => self.with_pooled(work),
            // Writes queued meanwhile wait: the thread serving them waits for the connection.
            Some(writer) => self.in_slot(&mut writer.conn(), work),
        };
        self.note_write_outcome(result.as_ref().map(|_| ()));
        result
    }

    /// Keeps readiness's view of storage: full since a write failed for want of it, until a write works.
    fn note_write_outcome(&self, outcome: Result<(), &ApiError>) {
        match outcome {
            Err(ApiError::StorageFull) => self
                .storage_full_at
                .store(chrono::Utc::now().timestamp(), Ordering::Relaxed),
            Ok(()) => self.storage_full_at.store(0, Ordering::Relaxed),
            Err(_) => {}
        }
    }

    /// Writes a consistent copy of a live SQLite database to `path` (`VACUUM INTO`: one read transaction, so
    /// writers go on and the copy holds exactly what was committed when it began). `path` must not exist.
    /// PostgreSQL has its own tools (`pg_dump`, base backups): see docs/deployment.md.
    pub fn backup_to(&self, path: &std::path::Path) -> Result<(), ApiError> {
        if self.writer.is_none() {
            return Err(ApiError::BadRequest(
                "anzu backup copies an SQLite database; back up PostgreSQL with pg_dump or a base backup (docs/deployment.md)".into(),
            ));
        }
        if path.exists() {
            return Err(ApiError::Conflict(format!(
                "{} exists already: a backup never overwrites a file",
                path.display()
            )));
        }
        let target = path.to_string_lossy().into_owned();
        self.with_pooled(|conn| match conn {
            DbConn::Sqlite(c) => {
                diesel::sql_query("VACUUM INTO ?")
                    .bind::<diesel::sql_types::Text, _>(target)
                    .execute(c)?;
                Ok(())
            }
            DbConn::Pg(_) => Ok(()),
        })
    }

    /// On SQLite, moves every page in the write-ahead log into the database file and empties the log, so
    /// that nothing overwritten lingers there (personal data erased by the purge); nothing on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), ApiError> {
        if self.writer.is_none() {
            return Ok(());
        }
        let _turn = turn(&self.write_turns).await?;
        let db = self.clone();
        actix_web::web::block(move || {
            db.with_writer(|conn| {
                if let DbConn::Sqlite(c) = conn {
                    c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
                }
                Ok(())
            })
        })
        .await?
    }

    /// Whether a write failed for want of storage lately, with no write working since.
    pub fn storage_full(&self) -> bool {
        let at = self.storage_full_at.load(Ordering::Relaxed);
        at != 0 && chrono::Utc::now().timestamp() - at < STORAGE_FULL_REPORT_SECS
    }

    /// Runs `work` on the connection kept in `slot`, opened there first if there is none; a connection
    /// left broken (in a transaction it could not end) is closed, and the next use opens another.
    fn in_slot<T>(
        &self,
        slot: &mut Option<DbConn>,
        work: impl FnOnce(&mut DbConn) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let conn = match slot.take() {
            Some(conn) => conn,
            None => self.open()?,
        };
        let conn = slot.insert(conn);
        let result = work(conn);
        if conn.is_broken() {
            *slot = None;
        }
        result
    }

    /// Runs `work` on a pooled connection. A connection the server dropped (a restart, an administrator)
    /// fails its request with 503 and is then replaced by a new one in the pool, so the next request
    /// finds a live one; while the server cannot be reached it stays, and the next request tries again.
    fn with_pooled<T>(&self, work: impl FnOnce(&mut DbConn) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let mut conn = self.get()?;
        let result = work(&mut conn);
        if matches!(result, Err(ApiError::Unavailable(_)))
            && conn.ping().is_err()
            && let Ok(fresh) = self.open()
        {
            *conn = fresh;
        }
        result
    }

    /// A new connection outside the pool.
    fn open(&self) -> Result<DbConn, ApiError> {
        self.manager().connect().map_err(|e| {
            tracing::warn!(error = %e, "cannot open a database connection");
            ApiError::Unavailable(crate::error::DATABASE_UNAVAILABLE.into())
        })
    }
}

/// Work that rides along with every write transaction of one request: begun on the transaction's thread, and run
/// inside the transaction just before it commits (an `Idempotency-Key` marked committed together with the write
/// it guards).
pub trait OnCommit: Send + Sync {
    fn begin(&self);
    fn before_commit(&self, conn: &mut DbConn) -> Result<(), ApiError>;
}

tokio::task_local! {
    static ON_COMMIT: Arc<dyn OnCommit>;
}

/// Runs `future` (a request) with `hook` joining each of its write transactions.
pub async fn with_commit_hook<F: std::future::Future>(hook: Arc<dyn OnCommit>, future: F) -> F::Output {
    ON_COMMIT.scope(hook, future).await
}

/// Whether this request's writes carry work of its own into their transaction (an idempotency key's mark):
/// such a write must go through [`Db::write`], not a batch.
pub fn request_joins_commits() -> bool {
    commit_hook().is_some()
}

fn commit_hook() -> Option<Arc<dyn OnCommit>> {
    ON_COMMIT.try_with(Arc::clone).ok()
}

/// Runs `work` in one transaction, kept when it answers `(value, true)`, rolled back when it answers
/// `(value, false)` or an error. The work's own answer wins over a failed rollback: SQLite ends a transaction
/// by itself on some errors (a full disk among them), and diesel's rollback then fails as well.
fn transaction<T>(
    conn: &mut DbConn,
    hook: Option<&dyn OnCommit>,
    work: impl FnOnce(&mut DbConn) -> Result<(T, bool), ApiError>,
) -> Result<T, ApiError> {
    let mut rolled_back: Option<Result<T, ApiError>> = None;
    if let Some(hook) = hook {
        hook.begin();
    }
    let outcome = conn.transaction(|c| match work(c) {
        Ok((value, true)) => match hook.map_or(Ok(()), |hook| hook.before_commit(c)) {
            Ok(()) => Ok(value),
            Err(err) => {
                rolled_back = Some(Err(err));
                Err(diesel::result::Error::RollbackTransaction)
            }
        },
        Ok((value, false)) => {
            rolled_back = Some(Ok(value));
            Err(diesel::result::Error::RollbackTransaction)
        }
        Err(err) => {
            rolled_back = Some(Err(err));
            Err(diesel::result::Error::RollbackTransaction)
        }
    });
    match outcome {
        Ok(value) => Ok(value),
        Err(err) => rolled_back.unwrap_or_else(|| Err(err.into())),
    }
}

/// The pool's own reports of failed connection attempts, at debug level: the request that could not get a
/// connection logs the cause once, and r2d2 would log an ERROR per background retry.
#[derive(Debug)]
struct QuietPoolErrors;

impl r2d2::HandleError<r2d2::Error> for QuietPoolErrors {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::debug!(%error, "database pool: connection attempt failed");
    }
}

/// A PostgreSQL URL with libpq's `connect_timeout` and `tcp_user_timeout`, unless it names them itself: a server
/// that stops answering mid-request (a network that drops everything) fails the request after that long, rather
/// than holding its thread — a server thread itself, for [`Db::lookup`].
fn with_timeouts(url: &str) -> String {
    let mut url = url.to_owned();
    for (name, value) in [
        ("connect_timeout", PG_CONNECT_TIMEOUT_SECS.to_string()),
        ("tcp_user_timeout", PG_TCP_USER_TIMEOUT_MS.to_string()),
    ] {
        if !url.contains(&format!("{name}=")) {
            let separator = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{separator}{name}={value}");
        }
    }
    url
}

/// Waits for a turn, as long as the pool would wait for a connection (then 503).
async fn turn(turns: &Semaphore) -> Result<SemaphorePermit<'_>, ApiError> {
    turn_until(turns, tokio::time::Instant::now() + CONNECTION_TIMEOUT).await
}

/// A turn at `turns`, or 503 once `deadline` has passed.
async fn turn_until(turns: &Semaphore, deadline: tokio::time::Instant) -> Result<SemaphorePermit<'_>, ApiError> {
    match tokio::time::timeout_at(deadline, turns.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(closed)) => Err(ApiError::internal(anyhow::anyhow!("database turns closed: {closed}"))),
        Err(_) => Err(ApiError::Unavailable(
            "The database is busy; try again in a moment.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use diesel::dsl::sql;
    use diesel::sql_types::{Integer, Text};

    use super::*;

    fn sqlite_db(dir: &tempfile::TempDir) -> Db {
        let url = dir.path().join("anzu.db").to_string_lossy().into_owned();
        Db::connect(&url, 2).unwrap()
    }

    fn value(conn: &mut Conn) -> Result<i32, ApiError> {
        Ok(diesel::select(sql::<Integer>("(SELECT x FROM t)")).get_result(conn)?)
    }

    /// Without the query planner stability guarantee SQLite re-prepares every cached statement with a bound
    /// `LIMIT` at each run, which made single-row reads several times slower (docs/performance.md).
    #[test]
    fn sqlite_is_built_with_a_stable_planner_and_no_memory_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = sqlite_db(&dir).get().unwrap();
        let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(options.iter().any(|o| o == "ENABLE_QPSG"), "{options:?}");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    }

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }

    /// Reads beyond the limit wait for a turn, though the pool has connections for them; at most that many
    /// run at once, and every one runs.
    #[test]
    fn reads_beyond_the_limit_wait_their_turn() {
        use std::sync::atomic::AtomicUsize;
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("anzu.db").to_string_lossy().into_owned();
        let db = Db::connect(&url, 8).unwrap().limit_reads(2);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        actix_web::rt::System::new().block_on(async {
            let reads = (0..8).map(|_| {
                let (running, most) = (running.clone(), most.clone());
                db.read(move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
            });
            let results = futures_util::future::join_all(reads).await;
            assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 8);
        });
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} at once");
    }

    /// A read's two turns share one deadline: a turn waited for after another ends when the first would have.
    #[test]
    fn a_turn_ends_at_its_deadline() {
        actix_web::rt::System::new().block_on(async {
            let none = Semaphore::new(0);
            let started = tokio::time::Instant::now();
            let waited = turn_until(&none, started + Duration::from_millis(50)).await;
            assert!(matches!(waited, Err(ApiError::Unavailable(_))), "{waited:?}");
            assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        });
    }

    /// r2d2 wakes its waiters in no particular order; requests must get connections in the order they asked.
    #[test]
    fn requests_get_connections_in_the_order_they_asked() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("anzu.db").to_string_lossy().into_owned();
        let db = Db::connect(&url, 1).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        actix_web::rt::System::new().block_on(async {
            let reads = (0..16).map(|i| {
                let order = order.clone();
                db.read(move |_| {
                    order.lock().unwrap().push(i);
                    // The first holds the only connection while the others line up.
                    std::thread::sleep(Duration::from_millis(if i == 0 { 100 } else { 2 }));
                    Ok(())
                })
            });
            for result in futures_util::future::join_all(reads).await {
                result.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), (0..16).collect::<Vec<_>>());
    }

    #[test]
    fn lookups_keep_one_connection_per_thread_and_see_every_committed_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_db(&dir);
        db.write_blocking(|c| Ok(c.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")?))
            .unwrap();
        let marked = |db: &Db| {
            actix_web::rt::System::new().block_on(db.lookup(|c| {
                // A temporary table lives as long as the connection that made it.
                let again = c.batch_execute("CREATE TEMP TABLE mark (y INTEGER)").is_err();
                Ok((again, value(c)?))
            }))
        };
        assert_eq!(marked(&db).unwrap(), (false, 1));
        db.write_blocking(|c| Ok(c.batch_execute("UPDATE t SET x = 2")?))
            .unwrap();
        // The same thread's connection again, and no stale snapshot: it reads the new value.
        assert_eq!(marked(&db).unwrap(), (true, 2));
        // Another thread has a connection of its own.
        let other = db.clone();
        let elsewhere = std::thread::spawn(move || marked(&other)).join().unwrap();
        assert_eq!(elsewhere.unwrap(), (false, 2));
    }

    fn rows(db: &Db) -> Vec<i32> {
        let mut conn = db.get().unwrap();
        diesel::sql_query("SELECT x FROM t ORDER BY x")
            .load::<Row>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|r| r.x)
            .collect()
    }

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Integer)]
        x: i32,
    }

    /// Runs `writes` (value to insert, or the error the work answers instead) while another thread holds the
    /// writer connection, so that all of them queue and go into the groups after it; answers in their order.
    fn queued_while_busy(db: &Db, writes: Vec<Result<i32, ApiError>>) -> Vec<Result<(), ApiError>> {
        let holder = db.clone();
        let (holding, held) = std::sync::mpsc::channel();
        let busy = std::thread::spawn(move || {
            holder.write_blocking(|_| {
                holding.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
        });
        // Queue only once the writer connection is held (a fixed pause was outlasted on a loaded machine: the
        // first write then took the connection itself and committed alone).
        held.recv().unwrap();
        let answers =
            actix_web::rt::System::new().block_on(futures_util::future::join_all(writes.into_iter().map(|write| {
                db.write(move |c| {
                    let x = write?;
                    c.batch_execute(&format!("INSERT INTO t VALUES ({x})"))?;
                    Ok(())
                })
            })));
        busy.join().unwrap().unwrap();
        answers
    }

    fn table_t(dir: &tempfile::TempDir) -> Db {
        let db = sqlite_db(dir);
        db.write_blocking(|c| Ok(c.batch_execute("CREATE TABLE t (x INTEGER UNIQUE)")?))
            .unwrap();
        db
    }

    #[test]
    fn queued_writes_share_one_commit_and_each_is_answered_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = table_t(&dir);
        let answers = queued_while_busy(&db, (1..=10).map(Ok).collect());
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(rows(&db), (1..=10).collect::<Vec<_>>());
        assert_eq!(
            db.group_commit_stats(),
            (1, 10),
            "ten writes queued behind a busy writer, one commit"
        );
    }

    #[test]
    fn a_refused_write_rolls_back_alone_within_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let db = table_t(&dir);
        // The second is refused by the work, the third meets the unique index: only they are rolled back.
        let answers = queued_while_busy(&db, vec![Ok(1), Err(ApiError::Conflict("no".into())), Ok(1), Ok(4)]);
        assert!(answers[0].is_ok() && answers[3].is_ok(), "{answers:?}");
        assert!(matches!(answers[1], Err(ApiError::Conflict(_))), "{answers:?}");
        assert!(matches!(answers[2], Err(ApiError::Conflict(_))), "{answers:?}");
        assert_eq!(rows(&db), vec![1, 4]);
        assert_eq!(db.group_commit_stats(), (1, 4));
    }

    #[test]
    fn a_write_that_may_have_ended_the_transaction_rolls_back_its_group_and_the_rest_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = table_t(&dir);
        let answers = queued_while_busy(&db, vec![Ok(1), Ok(2), Err(ApiError::StorageFull), Ok(4), Ok(5)]);
        // The two before it were rolled back with it, and say so (nothing of theirs was kept); the two after
        // it went into the next group.
        assert!(matches!(answers[0], Err(ApiError::StorageFull)), "{answers:?}");
        assert!(matches!(answers[1], Err(ApiError::StorageFull)), "{answers:?}");
        assert!(matches!(answers[2], Err(ApiError::StorageFull)), "{answers:?}");
        assert!(answers[3].is_ok() && answers[4].is_ok(), "{answers:?}");
        assert_eq!(rows(&db), vec![4, 5]);
        assert_eq!(db.group_commit_stats(), (2, 5));
    }

    /// The write that starts serving the queue is answered once its own group is committed, not when the
    /// queue runs dry: under steady load that could be never (before, its answer waited for every group after).
    #[test]
    fn the_write_that_serves_the_queue_is_answered_after_its_own_group() {
        let dir = tempfile::tempdir().unwrap();
        let db = table_t(&dir);
        let started = std::time::Instant::now();
        let insert = |x: i32, pause_ms: u64, running: Option<tokio::sync::oneshot::Sender<()>>| {
            db.write(move |c| {
                if let Some(running) = running {
                    let _ = running.send(());
                }
                std::thread::sleep(Duration::from_millis(pause_ms));
                c.batch_execute(&format!("INSERT INTO t VALUES ({x})"))?;
                Ok(started.elapsed())
            })
        };
        let (running, first_runs) = tokio::sync::oneshot::channel();
        let (first, others) = actix_web::rt::System::new().block_on(async {
            let first = async { insert(1, 200, Some(running)).await.map(|_| started.elapsed()) };
            let others = async {
                // Queued once the first one's group runs: the next group, 10 x 30 ms.
                first_runs.await.unwrap();
                futures_util::future::join_all((2..=11).map(|x| insert(x, 30, None))).await
            };
            futures_util::future::join(first, others).await
        });
        let first = first.unwrap();
        let last = others.into_iter().map(Result::unwrap).max().unwrap();
        assert!(
            last > first + Duration::from_millis(150),
            "first answered at {first:?}, the last write ran at {last:?}"
        );
        assert_eq!(rows(&db), (1..=11).collect::<Vec<_>>());
        assert_eq!(db.group_commit_stats(), (2, 11));
    }

    /// A write that panics loses its group (the connection is closed, which rolls back what the group began)
    /// and is answered as unavailable; the queue goes on, and later writes commit for real.
    #[test]
    fn a_write_that_panics_loses_its_group_and_later_writes_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = table_t(&dir);
        let (panicked, after) = actix_web::rt::System::new().block_on(async {
            let panicked = db
                .write(|c| -> Result<(), ApiError> {
                    c.batch_execute("INSERT INTO t VALUES (1)")?;
                    panic!("a bug in a write")
                })
                .await;
            let after = db.write(|c| Ok(c.batch_execute("INSERT INTO t VALUES (2)")?)).await;
            (panicked, after)
        });
        assert!(matches!(panicked, Err(ApiError::Unavailable(_))), "{panicked:?}");
        after.unwrap();
        assert_eq!(
            rows(&db),
            vec![2],
            "the panicked write's insert was rolled back, the next one committed"
        );
    }
}
