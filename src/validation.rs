//! Field rules shared by the request types of every domain, for `validator`'s `custom` checks and serde's
//! `deserialize_with`: free text (names, addresses, labels, notes, reasons), phones and dates. The ledger
//! import builds the same request types from its rows, so a file meets the same rules as the API.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Deserializer};
use unicode_normalization::{UnicodeNormalization, is_nfc};
use validator::ValidationError;

/// The earliest date any request may carry.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a valid date"),
};
/// The latest date any request may carry.
pub const LATEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(date) => date,
    None => panic!("2100-12-31 is a valid date"),
};
/// How far back an inspection may be dated: a paper form entered late is fine, a rating born expired is not.
pub const INSPECTION_MAX_AGE_DAYS: i64 = 366;

/// Characters free text refuses: control characters (C0, DEL, C1, line breaks included), bidirectional
/// overrides, isolates and marks (which can make text read differently from what it holds), and invisible
/// zero-width characters (which make two names look the same).
fn is_refused(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Free text of `min_chars` to `max_chars` characters (not blank when required) without refused characters.
fn text(text: &str, min_chars: usize, max_chars: usize) -> Result<(), ValidationError> {
    if text.chars().any(is_refused) {
        return Err(ValidationError::new("characters")
            .with_message("must not contain control, bidirectional-override or zero-width characters".into()));
    }
    let count = text.chars().count();
    if (min_chars > 0 && text.trim().is_empty()) || count < min_chars || count > max_chars {
        let message = if min_chars == 0 {
            format!("must be at most {max_chars} characters")
        } else {
            format!("must be {min_chars} to {max_chars} characters")
        };
        return Err(ValidationError::new("length").with_message(message.into()));
    }
    Ok(())
}

/// A person's name: 1 to 64 characters.
pub fn person_name(name: &str) -> Result<(), ValidationError> {
    text(name, 1, 64)
}

/// A short name such as a property's, a village's or a grid's, a tenant's origin or employer: 1 to 100.
pub fn short_text(value: &str) -> Result<(), ValidationError> {
    text(value, 1, 100)
}

/// A postal address: 1 to 200 characters.
pub fn address(value: &str) -> Result<(), ValidationError> {
    text(value, 1, 200)
}

/// A unit's label as on its door: 1 to 32 characters.
pub fn label(value: &str) -> Result<(), ValidationError> {
    text(value, 1, 32)
}

/// A required note or reason: 1 to 1000 characters, on one line.
pub fn note(value: &str) -> Result<(), ValidationError> {
    text(value, 1, 1000)
}

/// An optional remark: at most 1000 characters.
pub fn remark(value: &str) -> Result<(), ValidationError> {
    text(value, 0, 1000)
}

/// An inspection's summary: at most 4000 characters.
pub fn summary(value: &str) -> Result<(), ValidationError> {
    text(value, 0, 4000)
}

/// A mainland mobile number: 11 digits starting with 1.
pub fn mobile(phone: &str) -> Result<(), ValidationError> {
    if phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ValidationError::new("phone")
            .with_message("must be a mainland mobile number: 11 digits starting with 1".into()))
    }
}

/// Any date a request carries: 1900-01-01 to 2100-12-31. Outside that it is a typo, and some of those
/// dates are not even storable.
pub fn date(value: &NaiveDate) -> Result<(), ValidationError> {
    if (EARLIEST_DATE..=LATEST_DATE).contains(value) {
        Ok(())
    } else {
        Err(ValidationError::new("range").with_message("must be between 1900-01-01 and 2100-12-31".into()))
    }
}

/// An inspection's date: not in the future, and at most `INSPECTION_MAX_AGE_DAYS` back.
pub fn inspection_date(value: &NaiveDate) -> Result<(), ValidationError> {
    let today = crate::ids::today();
    if *value > today {
        Err(ValidationError::new("future").with_message("an inspection cannot be dated in the future".into()))
    } else if *value < today - Duration::days(INSPECTION_MAX_AGE_DAYS) {
        Err(ValidationError::new("too_old")
            .with_message(format!("an inspection may be dated at most {INSPECTION_MAX_AGE_DAYS} days back").into()))
    } else {
        Ok(())
    }
}

/// Text in Unicode normalisation form C, as every free-text field is stored: the same name typed on two
/// phones is then the same string.
pub fn to_nfc(text: String) -> String {
    if is_nfc(&text) { text } else { text.nfc().collect() }
}

/// `deserialize_with` for free text: NFC-normalised as it is read.
pub fn nfc<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(to_nfc)
}

/// `deserialize_with` for optional free text (with `#[serde(default)]`).
pub fn nfc_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|text| text.map(to_nfc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers() {
        assert!(mobile("13800138000").is_ok());
        for bad in ["23800138000", "1380013800", "138001380001", "1380013800a"] {
            assert!(mobile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_bounds() {
        assert!(person_name("王").is_ok());
        assert!(person_name(" ").is_err());
        assert!(person_name(&"名".repeat(65)).is_err());
        assert!(address(&"路".repeat(200)).is_ok());
        assert!(remark("").is_ok());
        assert!(note("").is_err());
        assert!(label(&"1".repeat(33)).is_err());
    }

    #[test]
    fn invisible_and_reordering_characters_are_refused() {
        for bad in [
            "a\u{7}b",
            "a\nb",
            "a\r\nb",
            "a\tb",
            "a\u{85}b",
            "evil\u{202E}gnp.exe",
            "a\u{2066}b\u{2069}",
            "a\u{200B}b",
            "a\u{200D}b",
            "\u{FEFF}a",
            "a\u{2060}b",
            "a\u{2028}b",
        ] {
            let err = short_text(bad).unwrap_err();
            assert_eq!(err.code, "characters", "{bad:?}");
            assert!(remark(bad).is_err() && person_name(bad).is_err(), "{bad:?}");
        }
        assert!(short_text("陈氏出租楼 No.3 (东)").is_ok());
    }

    #[test]
    fn text_is_normalised_to_nfc() {
        let decomposed = "Jose\u{301}";
        assert_eq!(to_nfc(decomposed.to_owned()), "Jos\u{e9}");
        assert_eq!(to_nfc("陈".to_owned()), "陈");
    }

    #[test]
    fn dates_stay_within_two_centuries() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(date(&day(1900, 1, 1)).is_ok() && date(&day(2100, 12, 31)).is_ok());
        for bad in [day(0, 1, 1), day(-4713, 1, 1), day(1899, 12, 31), day(2101, 1, 1)] {
            assert_eq!(date(&bad).unwrap_err().code, "range", "{bad}");
        }
        let today = crate::ids::today();
        assert!(inspection_date(&today).is_ok());
        assert!(inspection_date(&(today - Duration::days(366))).is_ok());
        assert_eq!(
            inspection_date(&(today - Duration::days(367))).unwrap_err().code,
            "too_old"
        );
        assert_eq!(
            inspection_date(&(today + Duration::days(1))).unwrap_err().code,
            "future"
        );
    }
}
