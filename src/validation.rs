//! Field rules shared by the request types of several domains, for `validator`'s `custom` checks.

use validator::ValidationError;

/// Printable text, not blank, at most `max_chars` characters.
fn printable(text: &str, max_chars: usize) -> Result<(), ValidationError> {
    if text.trim().is_empty() || text.chars().count() > max_chars || text.chars().any(char::is_control) {
        Err(ValidationError::new("length")
            .with_message(format!("must be 1 to {max_chars} printable characters").into()))
    } else {
        Ok(())
    }
}

/// A person's name: 1 to 64 printable characters.
pub fn person_name(name: &str) -> Result<(), ValidationError> {
    printable(name, 64)
}

/// A short label such as a property's name, a tenant's origin or employer: 1 to 100 characters.
pub fn short_text(text: &str) -> Result<(), ValidationError> {
    printable(text, 100)
}

/// A postal address: 1 to 200 characters.
pub fn address(text: &str) -> Result<(), ValidationError> {
    printable(text, 200)
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
        assert!(short_text("a\u{7}b").is_err());
        assert!(address(&"路".repeat(200)).is_ok());
    }
}
