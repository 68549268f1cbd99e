//! Ids and clock: UUIDv7 ids (time-ordered, so ordering by id is creation order) and UTC timestamps
//! truncated to microseconds, the precision both databases keep.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
}

/// The association's local date (China Standard Time, UTC+8, no daylight saving): deadlines, move-in
/// dates and rating validity are local dates.
pub fn today() -> NaiveDate {
    local_date(Utc::now().naive_utc())
}

/// China Standard Time's offset from UTC.
const CHINA_OFFSET_SECS: i32 = 8 * 3600;

/// The local date of a UTC time.
pub fn local_date(utc: NaiveDateTime) -> NaiveDate {
    let offset = FixedOffset::east_opt(CHINA_OFFSET_SECS).expect("a valid offset");
    utc.and_utc().with_timezone(&offset).date_naive()
}

/// The local time (China Standard Time) of a UTC time, as people read it.
pub fn local_time(utc: NaiveDateTime) -> NaiveDateTime {
    utc + chrono::Duration::seconds(i64::from(CHINA_OFFSET_SECS))
}

/// The UTC time at which a local date begins.
pub fn local_midnight(date: NaiveDate) -> NaiveDateTime {
    date.and_time(chrono::NaiveTime::MIN) - chrono::Duration::seconds(i64::from(CHINA_OFFSET_SECS))
}
