//! National identifiers of health professionals: RPPS (11 digits, Luhn check digit) and ADELI (9 digits).
//!
//! The RPPS number is the 11-digit identifier of the *Répertoire partagé des professionnels de santé*; its last
//! digit is a Luhn check digit over the first ten. ADELI is the older 9-digit register still used by some
//! paramedical professions. Malformed numbers are refused with a message a coordinator can act on.

/// A valid RPPS number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpps(String);

impl Rpps {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 11 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("an RPPS number has exactly 11 digits".into());
        }
        if !luhn_valid(&digits) {
            return Err("this RPPS number's check digit is wrong (Luhn): check for a typing error".into());
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A well-formed ADELI number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adeli(String);

impl Adeli {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("an ADELI number has exactly 9 digits".into());
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Luhn checksum over a string of ASCII digits (the last digit is the check digit).
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Completes ten digits with their Luhn check digit: used by the demo and tests to make valid RPPS numbers.
pub fn with_luhn_check_digit(first_ten: &str) -> String {
    (0..=9)
        .map(|d| format!("{first_ten}{d}"))
        .find(|candidate| luhn_valid(candidate))
        .expect("one of ten check digits always satisfies Luhn")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_valid_rpps_and_rejects_a_wrong_check_digit() {
        let valid = with_luhn_check_digit("1000123456");
        assert!(Rpps::parse(&valid).is_ok());
        let last = valid.chars().last().unwrap().to_digit(10).unwrap();
        let wrong = format!("{}{}", &valid[..10], (last + 1) % 10);
        assert!(Rpps::parse(&wrong).unwrap_err().contains("Luhn"));
    }

    #[test]
    fn rejects_rpps_of_wrong_length_or_with_letters() {
        assert!(Rpps::parse("1234567890").is_err());
        assert!(Rpps::parse("1234567890A").is_err());
        assert!(Adeli::parse("12345678").is_err());
        assert!(Adeli::parse("123456789").is_ok());
    }
}
