//! Counts failures per key (an address, an account) in a fixed window and says when a key must wait.
//! Kept in memory: limits are per server instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (Instant, u32)>>,
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        FailureLimiter {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait if `key` has used up its failures in the current window.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (started, count) = entries.get(key)?;
        let elapsed = started.elapsed();
        if elapsed < self.window && *count >= self.max_failures {
            Some((self.window - elapsed).as_secs().max(1))
        } else {
            None
        }
    }

    pub fn record_failure(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() > 100_000 {
            let window = self.window;
            entries.retain(|_, (started, _)| now.duration_since(*started) < window);
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn clear(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_then_clears() {
        let limiter = FailureLimiter::new(2, Duration::from_secs(60));
        limiter.record_failure("a");
        assert!(limiter.blocked_for("a").is_none());
        limiter.record_failure("a");
        assert!(limiter.blocked_for("a").unwrap() <= 60);
        assert!(limiter.blocked_for("b").is_none());
        limiter.clear("a");
        assert!(limiter.blocked_for("a").is_none());
    }

    #[test]
    fn window_expires() {
        let limiter = FailureLimiter::new(1, Duration::from_millis(1));
        limiter.record_failure("a");
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.blocked_for("a").is_none());
    }
}
