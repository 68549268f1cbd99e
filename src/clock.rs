//! The clock read where a test must move time rather than wait for it: access-token expiry, notice claims and
//! idempotency leases. It is the system clock, shifted by an offset that only the `ClockShift` made with it can
//! change; the server makes `Clock::system()`, which has none, so nothing in it can move its own time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, NaiveDateTime};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    shift_ms: Option<Arc<AtomicI64>>,
}

/// Moves the clock it was made with forward.
#[derive(Debug)]
pub struct ClockShift(Arc<AtomicI64>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that runs with the system clock, and the handle that moves it ahead: for tests.
    pub fn shiftable() -> (Clock, ClockShift) {
        let shift_ms = Arc::new(AtomicI64::new(0));
        let clock = Clock {
            shift_ms: Some(shift_ms.clone()),
        };
        (clock, ClockShift(shift_ms))
    }

    /// UTC now, to the microsecond, as `ids::now` reads it.
    pub fn now(&self) -> NaiveDateTime {
        let now = crate::ids::now();
        match &self.shift_ms {
            Some(shift_ms) => now + Duration::milliseconds(shift_ms.load(Ordering::Relaxed)),
            None => now,
        }
    }
}

impl ClockShift {
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_moves_only_its_own_clock() {
        let (shifted, shift) = Clock::shiftable();
        let system = Clock::system();
        shift.advance(Duration::hours(1));
        let ahead = shifted.now() - system.now();
        assert!(ahead > Duration::minutes(59) && ahead <= Duration::hours(1), "{ahead}");
    }
}
