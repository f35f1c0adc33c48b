//! Phone numbers normalised to E.164, for mainland France and the overseas territories.
//!
//! People type numbers the French way (`06 12 34 56 78`, `0690 12 34 56`); SMS providers need E.164
//! (`+33612345678`, `+590690123456`). Overseas numbers dialled nationally start with a territory prefix that
//! decides their country code.

/// National prefixes (after the leading 0) of the overseas territories that share the French numbering plan.
const OVERSEAS_PREFIXES: &[(&str, &str)] = &[
    ("590", "+590"), // Guadeloupe, Saint-Barthélemy, Saint-Martin (fixed)
    ("690", "+590"), // … mobiles
    ("691", "+590"),
    ("594", "+594"), // Guyane
    ("694", "+594"),
    ("596", "+596"), // Martinique
    ("696", "+596"),
    ("697", "+596"),
    ("262", "+262"), // La Réunion
    ("263", "+262"),
    ("692", "+262"),
    ("693", "+262"),
    ("269", "+262"), // Mayotte shares La Réunion's country code
    ("639", "+262"),
];

/// Normalises a phone number to E.164 or says why it cannot be.
pub fn normalize(raw: &str) -> Result<String, String> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}')).collect();
    let international = if let Some(rest) = compact.strip_prefix("00") {
        Some(rest.to_string())
    } else {
        compact.strip_prefix('+').map(str::to_string)
    };
    let invalid = || format!("{raw:?} is not a phone number (e.g. 06 12 34 56 78 or +590 690 12 34 56)");
    if let Some(digits) = international {
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        // "+33 0 6…" is a frequent slip: the trunk 0 is dropped after a country code.
        let digits = match digits.strip_prefix("330") {
            Some(rest) if rest.len() == 9 => format!("33{rest}"),
            _ => digits,
        };
        if digits.starts_with("33") && digits.len() != 11 {
            return Err(invalid());
        }
        return Ok(format!("+{digits}"));
    }
    if !compact.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    match compact.len() {
        10 if compact.starts_with('0') => {
            let national = &compact[1..];
            if let Some(rest) = compact.strip_prefix("0508") {
                // Saint-Pierre-et-Miquelon: +508 and six digits.
                return Ok(format!("+508{rest}"));
            }
            let code = OVERSEAS_PREFIXES.iter().find(|(p, _)| national.starts_with(p)).map(|(_, c)| *c);
            Ok(format!("{}{national}", code.unwrap_or("+33")))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalises_mainland_and_overseas_numbers() {
        assert_eq!(normalize("06 12 34 56 78").unwrap(), "+33612345678");
        assert_eq!(normalize("+33 (0)6 12 34 56 78").unwrap(), "+33612345678");
        assert_eq!(normalize("0033612345678").unwrap(), "+33612345678");
        assert_eq!(normalize("0690 12 34 56").unwrap(), "+590690123456");
        assert_eq!(normalize("0692.12.34.56").unwrap(), "+262692123456");
        assert_eq!(normalize("0639 01 02 03").unwrap(), "+262639010203");
        assert_eq!(normalize("0508 41 23 45").unwrap(), "+508412345");
        assert_eq!(normalize("+687 12 34 56").unwrap(), "+687123456");
        assert_eq!(normalize("+689 87 12 34 56").unwrap(), "+68987123456");
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for bad in ["", "12", "06 12 34 56", "+33 6 12", "06-12-AB-56-78", "+1234567890123456"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }
}
