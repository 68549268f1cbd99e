//! Rate limits: failures per key (an address, an account) in a fixed window, and requests per client address
//! for endpoints that are costly, say whether an account exists, or walk the public register. On SQLite one
//! process serves, and the counts are in its memory; on PostgreSQL any number of processes serve, and the
//! counts are in the database ([`SharedCounts`], table `rate_limits`), so that a limit holds across them.

pub mod repo;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::db::{Backend, Db};
use crate::error::ApiError;

/// Counts kept in the database, shared by every process on it.
#[derive(Clone)]
pub struct SharedCounts {
    db: Db,
}

impl SharedCounts {
    /// Counts in the database when it is PostgreSQL; none (count in memory) on SQLite.
    pub fn for_database(db: &Db, url: &str) -> Option<SharedCounts> {
        (Backend::of_url(url) == Backend::Postgres).then(|| SharedCounts { db: db.clone() })
    }

    /// Counts one for `key` in a window of `window`; when that makes more than `max`, gives it back and answers
    /// 429 with the seconds left in the window. The window's start otherwise.
    async fn take(&self, key: &str, window: Duration, max: u32, give_back: bool) -> Result<NaiveDateTime, ApiError> {
        let now = crate::ids::now();
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        let expired = now - window;
        let owned = key.to_owned();
        let counted = self
            .db
            .write(move |conn| repo::count(conn, &owned, now, expired))
            .await?;
        if i64::from(counted.count) <= i64::from(max) {
            return Ok(counted.window_start);
        }
        if give_back {
            self.give_back(key.to_owned(), counted.window_start).await;
        }
        Err(ApiError::RateLimited {
            retry_after_secs: (counted.window_start + window - now).num_seconds().max(1) as u64,
        })
    }

    async fn give_back(&self, key: String, window_start: NaiveDateTime) {
        if let Err(err) = self
            .db
            .write(move |conn| repo::give_back(conn, &key, window_start))
            .await
        {
            tracing::warn!(error = %err, "a rate limit's count could not be given back");
        }
    }

    async fn clear(&self, key: String) -> Result<(), ApiError> {
        self.db.write(move |conn| repo::clear(conn, &key)).await
    }
}

/// Forgets the database's counts of windows over a day old (the daily job).
pub async fn prune(db: &Db) -> Result<usize, ApiError> {
    let before = crate::ids::now() - chrono::Duration::days(1);
    db.write(move |conn| repo::prune(conn, before)).await
}

/// Counts failures per key in a window that starts with the first one. An attempt is *reserved* before
/// the slow work that decides it (a password hash), so parallel attempts can never evaluate more than
/// `max_failures` per key and window: the count already holds every attempt still running.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
    shared: Option<SharedCounts>,
}

/// Which window an attempt was counted in.
enum Window {
    Local(Instant),
    Shared(NaiveDateTime),
}

/// An attempt counted against a key. Dropped, it is given back (the attempt did not fail); [`keep`]
/// leaves it counted as a failure.
///
/// [`keep`]: Reservation::keep
#[must_use]
pub struct Reservation<'a> {
    limiter: &'a FailureLimiter,
    key: String,
    started: Window,
    kept: bool,
}

impl Reservation<'_> {
    /// The attempt failed: it stays counted.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// The attempt did not fail: its count is given back before this returns (dropping it gives it back too,
    /// but in the database only a moment later, which the next attempt might not see).
    pub async fn give_back(mut self) {
        self.kept = true;
        match (&self.started, &self.limiter.shared) {
            (Window::Local(started), _) => self.limiter.release(&self.key, *started),
            (Window::Shared(started), Some(shared)) => shared.give_back(self.key.clone(), *started).await,
            (Window::Shared(_), None) => {}
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        match (&self.started, &self.limiter.shared) {
            (Window::Local(started), _) => self.limiter.release(&self.key, *started),
            (Window::Shared(started), Some(shared)) => {
                let (shared, key, started) = (shared.clone(), std::mem::take(&mut self.key), *started);
                actix_web::rt::spawn(async move { shared.give_back(key, started).await });
            }
            (Window::Shared(_), None) => {}
        }
    }
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration, shared: Option<SharedCounts>) -> Self {
        FailureLimiter {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// Counts an attempt for `key`, or answers 429 with the seconds left in the window when the key has
    /// used up its failures (attempts still running included).
    pub async fn reserve(&self, key: &str) -> Result<Reservation<'_>, ApiError> {
        let started = match &self.shared {
            Some(shared) => Window::Shared(shared.take(key, self.window, self.max_failures, true).await?),
            None => Window::Local(self.reserve_here(key)?),
        };
        Ok(Reservation {
            limiter: self,
            key: key.to_owned(),
            started,
            kept: false,
        })
    }

    fn reserve_here(&self, key: &str) -> Result<Instant, ApiError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() > 100_000 {
            let window = self.window;
            entries.retain(|_, (started, _)| now.duration_since(*started) < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        let elapsed = now.duration_since(entry.0);
        if elapsed >= self.window {
            *entry = (now, 0);
        } else if entry.1 >= self.max_failures {
            return Err(ApiError::RateLimited {
                retry_after_secs: (self.window - elapsed).as_secs().max(1),
            });
        }
        entry.1 += 1;
        Ok(entry.0)
    }

    /// Gives back an attempt reserved in the window that started at `started` (not in a later one).
    fn release(&self, key: &str, started: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get_mut(key).filter(|(s, _)| *s == started) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    /// Forgets every failure of `key` (a successful login).
    pub async fn clear(&self, key: &str) -> Result<(), ApiError> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        match &self.shared {
            Some(shared) => shared.clear(key.to_owned()).await,
            None => Ok(()),
        }
    }
}

/// Addresses a [`RequestLimiter`] tracks before it forgets those at full allowance.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// Requests allowed per client address per minute, for each of a few named endpoints.
pub struct RequestLimiter {
    here: DefaultKeyedRateLimiter<(&'static str, IpAddr)>,
    per_minute: u32,
    shared: Option<SharedCounts>,
}

impl RequestLimiter {
    pub fn per_minute(requests: u32, shared: Option<SharedCounts>) -> Self {
        let per_minute = NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN);
        RequestLimiter {
            here: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_minute: per_minute.get(),
            shared,
        }
    }

    /// Counts a request to `endpoint` from `address`; 429 with `Retry-After` past the limit. In memory, the
    /// allowance comes back a request at a time (GCRA); shared, it is whole again a minute after a window began.
    pub async fn check(&self, endpoint: &'static str, address: Option<IpAddr>) -> Result<(), ApiError> {
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if let Some(shared) = &self.shared {
            let key = format!("{endpoint}:{address}");
            return shared
                .take(&key, Duration::from_secs(60), self.per_minute, false)
                .await
                .map(|_| ());
        }
        // Addresses are cheap to rotate (IPv6): forget those whose allowance is whole again.
        if self.here.len() > MAX_TRACKED_ADDRESSES {
            self.here.retain_recent();
        }
        self.here.check_key(&(endpoint, address)).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn reservations_count_until_released() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60), None);
        let first = limiter.reserve("a").await.unwrap();
        let second = limiter.reserve("a").await.unwrap();
        assert!(
            matches!(limiter.reserve("a").await, Err(ApiError::RateLimited { retry_after_secs }) if retry_after_secs <= 60),
            "two attempts running use up the key"
        );
        assert!(limiter.reserve("b").await.is_ok(), "other keys are not affected");
        drop(first);
        second.keep();
        limiter.reserve("a").await.unwrap().keep();
        assert!(limiter.reserve("a").await.is_err(), "two kept failures");
        limiter.clear("a").await.unwrap();
        assert!(limiter.reserve("a").await.is_ok());
    }

    #[actix_web::test]
    async fn window_expires() {
        let limiter = FailureLimiter::new(1, Duration::from_millis(1), None);
        limiter.reserve("a").await.unwrap().keep();
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.reserve("a").await.is_ok());
    }

    #[actix_web::test]
    async fn requests_per_address_and_endpoint() {
        let limiter = RequestLimiter::per_minute(2, None);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(limiter.check("register", here).await.is_ok());
        assert!(limiter.check("register", here).await.is_ok());
        assert!(matches!(
            limiter.check("register", here).await,
            Err(ApiError::RateLimited { .. })
        ));
        assert!(limiter.check("forgot_password", here).await.is_ok());
        assert!(
            limiter
                .check("register", Some(IpAddr::from([10, 0, 0, 2])))
                .await
                .is_ok()
        );
    }
}
