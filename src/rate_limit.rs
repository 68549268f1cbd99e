//! Rate limits kept in memory (so per server instance): failures per key (an address, an account) in a
//! fixed window, and requests per client address for endpoints that are costly or say whether an account
//! exists.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Counts failures per key in a window that starts with the first one. An attempt is *reserved* before
/// the slow work that decides it (a password hash), so parallel attempts can never evaluate more than
/// `max_failures` per key and window: the count already holds every attempt still running.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

/// An attempt counted against a key. Dropped, it is given back (the attempt did not fail); [`keep`]
/// leaves it counted as a failure.
///
/// [`keep`]: Reservation::keep
#[must_use]
pub struct Reservation<'a> {
    limiter: &'a FailureLimiter,
    key: String,
    started: Instant,
    kept: bool,
}

impl Reservation<'_> {
    /// The attempt failed: it stays counted.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.limiter.release(&self.key, self.started);
        }
    }
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureLimiter {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `key`, or answers 429 with the seconds left in the window when the key has
    /// used up its failures (attempts still running included).
    pub fn reserve(&self, key: &str) -> Result<Reservation<'_>, ApiError> {
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
        Ok(Reservation {
            limiter: self,
            key: key.to_owned(),
            started: entry.0,
            kept: false,
        })
    }

    /// Gives back an attempt reserved in the window that started at `started` (not in a later one).
    fn release(&self, key: &str, started: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get_mut(key).filter(|(s, _)| *s == started) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    /// Forgets every failure of `key` (a successful login).
    pub fn clear(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// Addresses a [`RequestLimiter`] tracks before it forgets those at full allowance.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// Requests allowed per client address per minute, for each of a few named endpoints.
pub struct RequestLimiter(DefaultKeyedRateLimiter<(&'static str, IpAddr)>);

impl RequestLimiter {
    pub fn per_minute(requests: u32) -> Self {
        let per_minute = NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN);
        RequestLimiter(RateLimiter::keyed(Quota::per_minute(per_minute)))
    }

    /// Counts a request to `endpoint` from `address`; 429 with `Retry-After` past the limit.
    pub fn check(&self, endpoint: &'static str, address: Option<IpAddr>) -> Result<(), ApiError> {
        let address = address.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        // Addresses are cheap to rotate (IPv6): forget those whose allowance is whole again.
        if self.0.len() > MAX_TRACKED_ADDRESSES {
            self.0.retain_recent();
        }
        self.0.check_key(&(endpoint, address)).map_err(|not_until| {
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

    #[test]
    fn reservations_count_until_released() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60));
        let first = limiter.reserve("a").unwrap();
        let second = limiter.reserve("a").unwrap();
        assert!(
            matches!(limiter.reserve("a"), Err(ApiError::RateLimited { retry_after_secs }) if retry_after_secs <= 60),
            "two attempts running use up the key"
        );
        assert!(limiter.reserve("b").is_ok(), "other keys are not affected");
        drop(first);
        second.keep();
        limiter.reserve("a").unwrap().keep();
        assert!(limiter.reserve("a").is_err(), "two kept failures");
        limiter.clear("a");
        assert!(limiter.reserve("a").is_ok());
    }

    #[test]
    fn window_expires() {
        let limiter = FailureLimiter::new(1, Duration::from_millis(1));
        limiter.reserve("a").unwrap().keep();
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.reserve("a").is_ok());
    }

    #[test]
    fn requests_per_address_and_endpoint() {
        let limiter = RequestLimiter::per_minute(2);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(limiter.check("register", here).is_ok());
        assert!(limiter.check("register", here).is_ok());
        assert!(matches!(
            limiter.check("register", here),
            Err(ApiError::RateLimited { .. })
        ));
        assert!(limiter.check("forgot_password", here).is_ok());
        assert!(limiter.check("register", Some(IpAddr::from([10, 0, 0, 2]))).is_ok());
    }
}
