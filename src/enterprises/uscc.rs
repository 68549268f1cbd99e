//! The unified social credit code (统一社会信用代码, GB 32100): 18 characters from `0-9 A-H J-N P-R T-U W-Y`
//! (no I, O, S, V, Z), the last a check character over the first 17 with position weights 3^i mod 31.

/// The code's characters, each worth its position (0 to 30).
pub const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The position weights of the first 17 characters: 3^i mod 31.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A code's length.
pub const LENGTH: usize = 18;

/// Why a text is not a unified social credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    Length,
    Character,
    Checksum,
}

impl CodeError {
    /// The error code of the field error.
    pub fn code(self) -> &'static str {
        match self {
            CodeError::Length => "length",
            CodeError::Character => "format",
            CodeError::Checksum => "checksum",
        }
    }

    /// What was expected (never the value received).
    pub fn message(self) -> &'static str {
        match self {
            CodeError::Length => "must be 18 characters",
            CodeError::Character => "must use only 0-9 and the capital letters A-H, J-N, P-R, T-U, W-Y",
            CodeError::Checksum => "the check character (the 18th) does not match the first 17",
        }
    }
}

/// A checked unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    /// The code if `text` is one: exact length, alphabet (capitals only) and check character.
    pub fn parse(text: &str) -> Result<CreditCode, CodeError> {
        if text.chars().count() != LENGTH {
            return Err(CodeError::Length);
        }
        let values: Vec<u32> = text
            .chars()
            .map(value_of)
            .collect::<Option<_>>()
            .ok_or(CodeError::Character)?;
        let (first17, check) = values.split_at(LENGTH - 1);
        if check_value(first17) != check[0] {
            return Err(CodeError::Checksum);
        }
        Ok(CreditCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A character's value, if it is in the alphabet.
fn value_of(c: char) -> Option<u32> {
    ALPHABET.chars().position(|a| a == c).map(|p| p as u32)
}

/// `31 - (Σ value × weight mod 31)`, where 31 is written 0.
fn check_value(first17: &[u32]) -> u32 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

/// The check character of 17 characters of the alphabet, or `None` if they are not.
pub fn check_character(first17: &str) -> Option<char> {
    let values: Vec<u32> = first17.chars().map(value_of).collect::<Option<_>>()?;
    if values.len() != LENGTH - 1 {
        return None;
    }
    ALPHABET.chars().nth(check_value(&values) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_powers_of_three() {
        let mut w = 1;
        for weight in WEIGHTS {
            assert_eq!(weight, w);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn published_codes_pass() {
        for code in ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
        assert_eq!(CreditCode::parse("91350100M000100Y4"), Err(CodeError::Length));
        assert_eq!(CreditCode::parse("91350100m000100Y43"), Err(CodeError::Character));
        assert_eq!(CreditCode::parse("91350100M000100Y44"), Err(CodeError::Checksum));
    }
}
