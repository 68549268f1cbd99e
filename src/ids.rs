//! Ids and clock: UUIDv7 ids (time-ordered, so ordering by id is creation order) and UTC timestamps
//! truncated to microseconds, the precision both databases keep.

use chrono::{NaiveDateTime, Timelike, Utc};

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}
