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

/// An owner's public reply beside their rating: 1 to 300 characters, on one line.
pub fn reply(value: &str) -> Result<(), ValidationError> {
    text(value, 1, 300)
}

/// An inspection's summary: at most 4000 characters.
pub fn summary(value: &str) -> Result<(), ValidationError> {
    text(value, 0, 4000)
}

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A password: 10 to 256 characters (a passphrase is welcome; the hash takes any text).
pub fn password(value: &str) -> Result<(), ValidationError> {
    if (MIN_PASSWORD_CHARS..=256).contains(&value.chars().count()) {
        Ok(())
    } else {
        Err(ValidationError::new("length").with_message("must be 10 to 256 characters".into()))
    }
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

/// An id: a UUID in its hyphenated form, as every id of the API is written.
pub fn uuid(value: &str) -> Result<(), ValidationError> {
    if value.len() == 36 && uuid::Uuid::try_parse(value).is_ok() {
        Ok(())
    } else {
        Err(ValidationError::new("format").with_message("must be a UUID".into()))
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

/// A whole number as JSON Schema's `integer` admits it: `133` or `133.0`, which a client holding numbers as
/// doubles sends. A fraction, or a number outside `i32`, is refused as serde refuses it for an `i32`.
pub fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    deserializer.deserialize_any(WholeVisitor)
}

/// [`whole`], for an optional field (with `#[serde(default)]`).
pub fn whole_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|whole| whole.0))
}

struct Whole(i32);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        whole(deserializer).map(Whole)
    }
}

struct WholeVisitor;

impl serde::de::Visitor<'_> for WholeVisitor {
    type Value = i32;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        // serde's name of the type, which the JSON layer turns into "a whole number from ... to ...".
        formatter.write_str("i32")
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i32, E> {
        i32::try_from(value).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i32, E> {
        i32::try_from(value).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<i32, E> {
        if value.fract() == 0.0 && (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&value) {
            Ok(value as i32)
        } else {
            Err(E::invalid_type(serde::de::Unexpected::Float(value), &self))
        }
    }
}

/// The same rules as they appear in the OpenAPI document, for `#[schema(schema_with = ...)]`: lengths in
/// characters, and patterns (ECMA-262, as JSON Schema reads them) that refuse the characters free text
/// refuses and, where text is required, a blank value. Each rule has a nullable twin for optional fields.
pub mod schema {
    use utoipa::openapi::KnownFormat;
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaFormat, SchemaType, Type};

    /// The characters [`super::is_refused`] refuses, as the inside of a character class.
    const REFUSED: &str = r"\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff";
    /// Whitespace that is not refused: a required text needs one character that is neither.
    const BLANK: &str = r" \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000";

    fn string(nullable: bool) -> ObjectBuilder {
        let types = if nullable {
            SchemaType::from_iter([Type::String, Type::Null])
        } else {
            SchemaType::new(Type::String)
        };
        ObjectBuilder::new().schema_type(types)
    }

    fn text(min_chars: usize, max_chars: usize, nullable: bool) -> Object {
        let pattern = if min_chars > 0 {
            format!("^[^{REFUSED}]*[^{REFUSED}{BLANK}][^{REFUSED}]*$")
        } else {
            format!("^[^{REFUSED}]*$")
        };
        string(nullable)
            .min_length((min_chars > 0).then_some(min_chars))
            .max_length(Some(max_chars))
            .pattern(Some(pattern))
            .build()
    }

    macro_rules! text_rules {
        ($($(#[$doc:meta])* $required:ident, $optional:ident: $min:literal to $max:literal;)*) => {$(
            $(#[$doc])*
            pub fn $required() -> Object {
                text($min, $max, false)
            }
            $(#[$doc])*
            pub fn $optional() -> Object {
                text($min, $max, true)
            }
        )*};
    }

    text_rules! {
        /// [`super::person_name`].
        person_name, person_name_or_null: 1 to 64;
        /// [`super::short_text`].
        short_text, short_text_or_null: 1 to 100;
        /// [`super::address`].
        address, address_or_null: 1 to 200;
        /// [`super::label`].
        label, label_or_null: 1 to 32;
        /// [`super::note`].
        note, note_or_null: 1 to 1000;
        /// [`super::remark`].
        remark, remark_or_null: 0 to 1000;
        /// [`super::summary`].
        summary, summary_or_null: 0 to 4000;
        /// [`super::reply`].
        reply, reply_or_null: 1 to 300;
    }

    fn mobile_of(nullable: bool) -> Object {
        string(nullable).pattern(Some("^1[0-9]{10}$")).build()
    }

    /// [`super::mobile`].
    pub fn mobile() -> Object {
        mobile_of(false)
    }

    /// [`super::mobile`], optional.
    pub fn mobile_or_null() -> Object {
        mobile_of(true)
    }

    /// A valid calendar date from 1900-01-01 to 2100-12-31 ([`super::date`]); the pattern knows month
    /// lengths and leap years, so that what it admits the server accepts.
    pub const DATE_PATTERN: &str = concat!(
        r"^(((19|20)[0-9]{2}|2100)-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)",
        r"|02-(0[1-9]|1[0-9]|2[0-8]))|((19|20)(0[48]|[2468][048]|[13579][26])|2000)-02-29)$"
    );

    fn date_of(nullable: bool) -> Object {
        string(nullable)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(DATE_PATTERN))
            .build()
    }

    /// [`super::date`].
    pub fn date() -> Object {
        date_of(false)
    }

    /// [`super::date`], optional.
    pub fn date_or_null() -> Object {
        date_of(true)
    }
}
