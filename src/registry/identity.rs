//! Tenant identity document numbers: checks a resident ID number (GB 11643) or another document
//! number before it is stored, normalises it, and masks it for display.
//!
//! Nothing in this module ever puts a document number into an error, a `Debug` string or a log
//! line: error messages describe what is wrong, and `ResidentId`'s `Debug` is masked.

use std::fmt;

use chrono::NaiveDate;

pub use crate::registry::model::{Gender, IdType};

/// Why a document number was rejected.
///
/// Variants carry no data on purpose: an error may end up in a response body or a log, and must not
/// leak the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum IdNumberError {
    /// A resident ID number is not 18 characters long.
    ResidentIdLength,
    /// The first 17 characters are not all digits, or the last is neither a digit nor `X`.
    ResidentIdFormat,
    /// The first two digits are not a province-level region code.
    Region,
    /// Characters 7 to 14 are not a real calendar date.
    BirthDateInvalid,
    /// The birth date is before 1900-01-01 or after today.
    BirthDateOutOfRange,
    /// The check character does not match the first 17 digits.
    Checksum,
    /// A non-resident document number is shorter than 5 or longer than 32 characters.
    DocumentLength,
    /// A non-resident document number contains something other than ASCII letters and digits.
    DocumentFormat,
}

impl IdNumberError {
    /// Stable machine-readable code for API clients; several variants share a code where a client
    /// needs no finer split.
    pub fn code(&self) -> &'static str {
        match self {
            IdNumberError::ResidentIdLength | IdNumberError::DocumentLength => "length",
            IdNumberError::ResidentIdFormat | IdNumberError::DocumentFormat => "format",
            IdNumberError::Region => "region",
            IdNumberError::BirthDateInvalid | IdNumberError::BirthDateOutOfRange => "birth_date",
            IdNumberError::Checksum => "checksum",
        }
    }

    /// Human-readable explanation in English, safe to show to the user and to log.
    pub fn message(&self) -> &'static str {
        match self {
            IdNumberError::ResidentIdLength => "a resident ID number must be 18 characters long",
            IdNumberError::ResidentIdFormat => {
                "a resident ID number must be 17 digits followed by a digit or the letter X"
            }
            IdNumberError::Region => {
                "the first two digits of a resident ID number must be a province-level region code"
            }
            IdNumberError::BirthDateInvalid => {
                "the birth date in a resident ID number (characters 7 to 14) is not a real date"
            }
            IdNumberError::BirthDateOutOfRange => {
                "the birth date in a resident ID number must be between 1900-01-01 and today"
            }
            IdNumberError::Checksum => "the check character of the resident ID number is wrong; look for a typo",
            IdNumberError::DocumentLength => "a document number must be 5 to 32 characters long",
            IdNumberError::DocumentFormat => "a document number may contain only the letters A to Z and digits",
        }
    }
}

/// A resident ID number that passed every check, held in normalised form (18 characters, upper-case
/// `X`).
///
/// `Debug` is masked so the number cannot slip into logs through `{:?}`; there is deliberately no
/// `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

const RESIDENT_ID_LEN: usize = 18;
const CHECK_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
const PROVINCE_CODES: &[u32] = &[
    11, 12, 13, 14, 15, // North
    21, 22, 23, // Northeast
    31, 32, 33, 34, 35, 36, 37, // East
    41, 42, 43, 44, 45, 46, // Central and South
    50, 51, 52, 53, 54, // Southwest
    61, 62, 63, 64, 65, // Northwest
    71, // Taiwan
    81, 82, 83, // Hong Kong, Macau and Taiwan residents' residence permits
    91, // Foreigners' permanent residence cards in the 18-digit layout
];
// Nobody registering a tenancy was born earlier; an earlier date is a typo in the year.
const EARLIEST_BIRTH_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a valid date"),
};

impl ResidentId {
    /// Checks `text` as a resident ID number. Surrounding whitespace is ignored and a lower-case
    /// `x` is accepted.
    ///
    /// `today` is passed in rather than read from the clock so that validation is reproducible in
    /// tests and agrees with whatever time zone the caller considers "today".
    pub fn parse(text: &str, today: NaiveDate) -> Result<ResidentId, IdNumberError> {
        let text = text.trim();
        if text.chars().count() != RESIDENT_ID_LEN {
            return Err(IdNumberError::ResidentIdLength);
        }
        // Length was counted in chars, so a multi-byte character makes the byte length differ and
        // fails here too.
        let bytes = text.as_bytes();
        if bytes.len() != RESIDENT_ID_LEN
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !matches!(bytes[17], b'0'..=b'9' | b'X' | b'x')
        {
            return Err(IdNumberError::ResidentIdFormat);
        }
        let normalised = text.to_ascii_uppercase();

        let province = digits_value(&bytes[0..2]);
        if !PROVINCE_CODES.contains(&province) {
            return Err(IdNumberError::Region);
        }

        let birth_date = birth_date_of(&normalised).ok_or(IdNumberError::BirthDateInvalid)?;
        if birth_date < EARLIEST_BIRTH_DATE || birth_date > today {
            return Err(IdNumberError::BirthDateOutOfRange);
        }

        if check_character(&normalised[..17]) != Some(char::from(bytes[17].to_ascii_uppercase())) {
            return Err(IdNumberError::Checksum);
        }
        Ok(ResidentId(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        // `parse` only constructs a `ResidentId` whose date parsed, so the fallback is unreachable;
        // it keeps this accessor panic-free rather than trusting that invariant with an unwrap.
        birth_date_of(&self.0).unwrap_or(EARLIEST_BIRTH_DATE)
    }

    pub fn gender(&self) -> Gender {
        // The 17th character is the last digit of the sequence number: odd for men, even for women.
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId")
            .field(&mask_document(IdType::ResidentId, &self.0))
            .finish()
    }
}

/// Value of a run of ASCII digits; callers have already checked that they are digits.
fn digits_value(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
}

/// Birth date from characters 7 to 14 of an already format-checked number, or `None` if it is not a
/// real date.
fn birth_date_of(number: &str) -> Option<NaiveDate> {
    let bytes = number.as_bytes();
    let year = i32::try_from(digits_value(&bytes[6..10])).ok()?;
    NaiveDate::from_ymd_opt(year, digits_value(&bytes[10..12]), digits_value(&bytes[12..14]))
}

/// Computes the ISO 7064 MOD 11-2 check character for the first 17 digits of a resident ID number.
///
/// Returns `None` unless `first17` is exactly 17 ASCII digits. Seed scripts and tests use this to
/// build valid numbers.
pub fn check_character(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(CHECK_WEIGHTS)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// A checked, normalised document number: a resident ID with what it encodes, or another document's number.
/// `Debug` is masked, as for [`ResidentId`].
#[derive(Clone, PartialEq, Eq)]
pub enum DocumentNumber {
    Resident(ResidentId),
    Other(String),
}

impl DocumentNumber {
    /// Checks and normalises a document number of the given type, once: the result carries what the
    /// declaration needs from it (the text, and a resident ID's gender and birth date).
    ///
    /// Resident ID numbers get the full GB 11643 check. Other documents vary too much by issuing
    /// country and year to validate structurally, so they are only trimmed, upper-cased and limited to
    /// 5 to 32 ASCII letters and digits.
    pub fn parse(id_type: IdType, text: &str, today: NaiveDate) -> Result<DocumentNumber, IdNumberError> {
        match id_type {
            IdType::ResidentId => ResidentId::parse(text, today).map(DocumentNumber::Resident),
            IdType::Passport | IdType::HkMacauPermit | IdType::TaiwanPermit | IdType::ForeignPermanentId => {
                let text = text.trim();
                if !(5..=32).contains(&text.chars().count()) {
                    return Err(IdNumberError::DocumentLength);
                }
                if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(IdNumberError::DocumentFormat);
                }
                Ok(DocumentNumber::Other(text.to_ascii_uppercase()))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            DocumentNumber::Resident(id) => id.as_str(),
            DocumentNumber::Other(text) => text,
        }
    }

    /// The gender a resident ID encodes; other documents do not say.
    pub fn gender(&self) -> Option<Gender> {
        match self {
            DocumentNumber::Resident(id) => Some(id.gender()),
            DocumentNumber::Other(_) => None,
        }
    }

    /// The birth date a resident ID encodes; other documents do not say.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        match self {
            DocumentNumber::Resident(id) => Some(id.birth_date()),
            DocumentNumber::Other(_) => None,
        }
    }
}

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentNumber::Resident(id) => id.fmt(f),
            DocumentNumber::Other(text) => f
                .debug_tuple("DocumentNumber")
                .field(&mask_document(IdType::Passport, text))
                .finish(),
        }
    }
}

/// Masks a normalised document number for display, so that with the other fields of an answer it
/// never narrows the number to a guessable few: a resident ID keeps its first 3 characters (the
/// province and city) and its last 2; any other document only its last 2. A resident ID's digits
/// 7 to 14 are the birth date and its last character a check over the rest, so showing more of
/// either end (the old 4 + 4) left about ten candidates once the birth date was known.
pub fn mask_document(id_type: IdType, normalised: &str) -> String {
    match id_type {
        IdType::ResidentId => mask_keeping(normalised, 3, 2),
        IdType::Passport | IdType::HkMacauPermit | IdType::TaiwanPermit | IdType::ForeignPermanentId => {
            mask_keeping(normalised, 0, 2)
        }
    }
}

/// Masks a phone number for display: its first 3 and last 2 digits (`139******78`).
pub fn mask_phone(phone: &str) -> String {
    mask_keeping(phone, 3, 2)
}

/// Keeps the first `keep_start` and last `keep_end` characters and stars the rest. A text too short
/// to hide at least as many characters as it shows is starred completely, so the output never
/// reveals the whole input or most of it.
fn mask_keeping(text: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    let (keep_start, keep_end) = if len < 2 * (keep_start + keep_end) {
        (0, 0)
    } else {
        (keep_start, keep_end)
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i < keep_start || i >= len - keep_end { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    /// Completes 17 digits into a valid 18-character number.
    fn valid(first17: &str) -> String {
        format!("{first17}{}", check_character(first17).unwrap())
    }

    /// A first-17 prefix whose check character is `X`, found by varying the sequence digits.
    fn prefix_with_x_check() -> String {
        (0..1000)
            .map(|seq| format!("35052419900101{seq:03}"))
            .find(|p| check_character(p) == Some('X'))
            .unwrap()
    }

    #[test]
    fn check_character_matches_known_number() {
        // Widely published sample numbers.
        assert_eq!(check_character("11010519491231002"), Some('X'));
        assert_eq!(check_character("44052418800101001"), Some('4'));
    }

    #[test]
    fn check_character_rejects_bad_input() {
        assert_eq!(check_character("1101051949123100"), None);
        assert_eq!(check_character("110105194912310021"), None);
        assert_eq!(check_character("1101051949123100a"), None);
        assert_eq!(check_character(""), None);
    }

    #[test]
    fn valid_numbers_parse_with_birth_date_and_gender() {
        let male = ResidentId::parse(&valid("35052419900715123"), today()).unwrap();
        assert_eq!(male.birth_date(), NaiveDate::from_ymd_opt(1990, 7, 15).unwrap());
        assert_eq!(male.gender(), Gender::Male);
        assert_eq!(male.as_str(), valid("35052419900715123"));

        let female = ResidentId::parse(&valid("11010520000229002"), today()).unwrap();
        assert_eq!(female.birth_date(), NaiveDate::from_ymd_opt(2000, 2, 29).unwrap());
        assert_eq!(female.gender(), Gender::Female);
        assert_eq!(Gender::Female.as_str(), "female");
        assert_eq!(Gender::Male.as_str(), "male");
    }

    #[test]
    fn every_province_code_is_accepted() {
        for code in PROVINCE_CODES {
            let number = valid(&format!("{code}010119800101001"));
            assert!(ResidentId::parse(&number, today()).is_ok(), "province {code}");
        }
    }

    #[test]
    fn lower_case_x_is_accepted_and_upper_cased() {
        let upper = valid(&prefix_with_x_check());
        assert!(upper.ends_with('X'));
        let lower = upper.to_ascii_lowercase();
        let parsed = ResidentId::parse(&lower, today()).unwrap();
        assert_eq!(parsed.as_str(), upper);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let number = valid("35052419900715123");
        let parsed = ResidentId::parse(&format!("  {number}\n"), today()).unwrap();
        assert_eq!(parsed.as_str(), number);
    }

    #[test]
    fn wrong_check_character_is_rejected() {
        let number = valid("35052419900715123");
        let wrong = if number.ends_with('0') { '1' } else { '0' };
        let tampered = format!("{}{wrong}", &number[..17]);
        assert_eq!(ResidentId::parse(&tampered, today()), Err(IdNumberError::Checksum));
        // A transposed pair of digits is the typical typo the check character exists to catch.
        let transposed = format!("35052419900715213{}", &number[17..]);
        assert_eq!(ResidentId::parse(&transposed, today()).unwrap_err().code(), "checksum");
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for first17 in [
            "35052419900231123",
            "35052419901301123",
            "35052419900100123",
            "35052419010229123",
        ] {
            assert_eq!(
                ResidentId::parse(&valid(first17), today()),
                Err(IdNumberError::BirthDateInvalid),
                "{first17}"
            );
        }
        assert_eq!(IdNumberError::BirthDateInvalid.code(), "birth_date");
    }

    #[test]
    fn future_and_too_old_birth_dates_are_rejected() {
        let tomorrow = valid("35052420250616123");
        assert_eq!(
            ResidentId::parse(&tomorrow, today()),
            Err(IdNumberError::BirthDateOutOfRange)
        );
        let born_today = valid("35052420250615123");
        assert!(ResidentId::parse(&born_today, today()).is_ok());
        let too_old = valid("35052418991231123");
        assert_eq!(
            ResidentId::parse(&too_old, today()),
            Err(IdNumberError::BirthDateOutOfRange)
        );
        let oldest = valid("35052419000101123");
        assert!(ResidentId::parse(&oldest, today()).is_ok());
        assert_eq!(IdNumberError::BirthDateOutOfRange.code(), "birth_date");
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        let number = valid("35052419900715123");
        assert_eq!(
            ResidentId::parse(&number[..17], today()),
            Err(IdNumberError::ResidentIdLength)
        );
        assert_eq!(
            ResidentId::parse(&format!("{number}1"), today()),
            Err(IdNumberError::ResidentIdLength)
        );
        assert_eq!(ResidentId::parse("", today()), Err(IdNumberError::ResidentIdLength));
        assert_eq!(IdNumberError::ResidentIdLength.code(), "length");
    }

    #[test]
    fn bad_region_is_rejected() {
        for first17 in [
            "99052419900715123",
            "00052419900715123",
            "10052419900715123",
            "84052419900715123",
        ] {
            assert_eq!(
                ResidentId::parse(&valid(first17), today()),
                Err(IdNumberError::Region),
                "{first17}"
            );
        }
        assert_eq!(IdNumberError::Region.code(), "region");
    }

    #[test]
    fn letters_and_symbols_inside_are_rejected() {
        for text in [
            "3505241990A715123X",
            "35052419900715123Y",
            "3505241990-715123X",
            "35052419900715 23X",
        ] {
            assert_eq!(
                ResidentId::parse(text, today()),
                Err(IdNumberError::ResidentIdFormat),
                "{text}"
            );
        }
        // 18 characters, one of them multi-byte: still a format error, not a panic on slicing.
        assert_eq!(
            ResidentId::parse("3505241990071512３X", today()),
            Err(IdNumberError::ResidentIdFormat)
        );
        assert_eq!(IdNumberError::ResidentIdFormat.code(), "format");
    }

    #[test]
    fn debug_and_errors_do_not_reveal_the_number() {
        let number = valid("35052419900715123");
        let parsed = ResidentId::parse(&number, today()).unwrap();
        let debug = format!("{parsed:?}");
        assert!(!debug.contains(&number));
        assert!(debug.contains(&mask_document(IdType::ResidentId, &number)));

        let error = ResidentId::parse(&format!("{}0", &number[..16]), today()).unwrap_err();
        assert!(!error.to_string().contains(&number[..16]));
        assert_eq!(error.to_string(), error.message());
    }

    #[test]
    fn masking_examples() {
        assert_eq!(
            mask_document(IdType::ResidentId, "35052419900715123X"),
            "350*************3X"
        );
        assert_eq!(mask_document(IdType::Passport, "E12345678"), "*******78");
        assert_eq!(mask_document(IdType::HkMacauPermit, "C1234"), "***34");
        assert_eq!(mask_document(IdType::Passport, "AB"), "**");
        assert_eq!(mask_document(IdType::Passport, ""), "");
        assert_eq!(mask_phone("13912345678"), "139******78");
        assert_eq!(mask_phone("1391"), "****");
    }

    #[test]
    fn masking_an_old_mask_gives_the_new_one() {
        // The old mask showed the first 4 and last 4: a superset of what the new one shows.
        assert_eq!(
            mask_document(IdType::ResidentId, "3505**********123X"),
            "350*************3X"
        );
        assert_eq!(mask_phone("1391***5678"), "139******78");
    }

    #[test]
    fn mask_never_returns_a_long_number_unchanged() {
        let number = valid("35052419900715123");
        for len in 1..=number.len() {
            for masked in [
                mask_document(IdType::ResidentId, &number[..len]),
                mask_document(IdType::Passport, &number[..len]),
                mask_phone(&number[..len]),
            ] {
                assert_ne!(masked, number[..len]);
                assert_eq!(masked.chars().count(), len);
                let shown = masked.chars().filter(|c| *c != '*').count();
                assert!(shown <= 5 && shown * 2 <= len, "{masked}");
            }
        }
    }

    #[test]
    fn document_number_dispatches_resident_id() {
        let upper = valid(&prefix_with_x_check());
        let normalised = DocumentNumber::parse(IdType::ResidentId, &upper.to_ascii_lowercase(), today()).unwrap();
        assert_eq!(normalised.as_str(), upper);
        assert!(normalised.gender().is_some() && normalised.birth_date().is_some());
        assert_eq!(
            DocumentNumber::parse(IdType::ResidentId, "E12345678", today()),
            Err(IdNumberError::ResidentIdLength)
        );
    }

    #[test]
    fn other_documents_are_trimmed_and_upper_cased() {
        for id_type in [
            IdType::Passport,
            IdType::HkMacauPermit,
            IdType::TaiwanPermit,
            IdType::ForeignPermanentId,
        ] {
            assert_eq!(
                DocumentNumber::parse(id_type, " e12345678 ", today()).unwrap().as_str(),
                "E12345678"
            );
        }
        assert_eq!(
            DocumentNumber::parse(IdType::Passport, "ab123", today())
                .unwrap()
                .as_str(),
            "AB123"
        );
        let longest = "A".repeat(32);
        assert_eq!(
            DocumentNumber::parse(IdType::Passport, &longest, today())
                .unwrap()
                .as_str(),
            longest
        );
    }

    #[test]
    fn other_documents_check_length_and_charset() {
        let passport = IdType::Passport;
        assert_eq!(
            DocumentNumber::parse(passport, "A123", today()),
            Err(IdNumberError::DocumentLength)
        );
        assert_eq!(
            DocumentNumber::parse(passport, "   ", today()),
            Err(IdNumberError::DocumentLength)
        );
        assert_eq!(
            DocumentNumber::parse(passport, &"A".repeat(33), today()),
            Err(IdNumberError::DocumentLength)
        );
        for text in ["E1234-5678", "E1234 5678", "护照12345", "E12345678é"] {
            assert_eq!(
                DocumentNumber::parse(passport, text, today()),
                Err(IdNumberError::DocumentFormat),
                "{text}"
            );
        }
        assert_eq!(IdNumberError::DocumentLength.code(), "length");
        assert_eq!(IdNumberError::DocumentFormat.code(), "format");
    }

    #[test]
    fn id_type_text_forms() {
        for &id_type in IdType::ALL {
            assert_eq!(id_type.as_str().parse::<IdType>(), Ok(id_type));
            assert_eq!(id_type.to_string(), id_type.as_str());
            let json = serde_json::to_string(&id_type).unwrap();
            assert_eq!(json, format!("\"{}\"", id_type.as_str()));
            assert_eq!(serde_json::from_str::<IdType>(&json).unwrap(), id_type);
        }
        assert_eq!(IdType::HkMacauPermit.as_str(), "hk_macau_permit");
        assert_eq!(IdType::ForeignPermanentId.as_str(), "foreign_permanent_id");
        assert!("ResidentId".parse::<IdType>().is_err());
    }
}
