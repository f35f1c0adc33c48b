//! Holds and bookings: the patient, the reason, and the life of a booking — confirmed, then cancelled, or after
//! the slot started attended / no-show. Every other transition is refused.
//!
//! Patient fields are personal health data: validated here, never logged anywhere.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::professional::check_email;
use super::{Validator, phone, required_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
    Attended,
    NoShow,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Attended => "attended",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Confirmed, Self::Cancelled, Self::Attended, Self::NoShow].into_iter().find(|s| s.as_str() == raw)
    }
}

/// The outcome a professional records after the slot started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Attended,
    NoShow,
}

impl Outcome {
    pub fn status(self) -> BookingStatus {
        match self {
            Self::Attended => BookingStatus::Attended,
            Self::NoShow => BookingStatus::NoShow,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientInput {
    pub first_name: String,
    pub last_name: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// E.164 or French national format; at least one of phone and email.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Patient {
    /// Validates the patient under the field prefix `patient.`, collecting every error.
    pub fn parse(input: &PatientInput, today: NaiveDate, v: &mut Validator) -> Option<Patient> {
        let first_name = v.check("patient.first_name", required_text(&input.first_name, 100));
        let last_name = v.check("patient.last_name", required_text(&input.last_name, 100));
        let birth_date = v.check("patient.birth_date", check_birth_date(&input.birth_date, today));
        let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(raw) => v.check("patient.phone", phone::normalize(raw)).map(Some),
            None => Some(None),
        };
        let email = match input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(raw) => v.check("patient.email", check_email(raw)).map(Some),
            None => Some(None),
        };
        if matches!((&phone, &email), (Some(None), Some(None))) {
            v.push("patient.phone", "give at least a phone number or an email address, so the patient is told");
        }
        Some(Patient {
            first_name: first_name?,
            last_name: last_name?,
            birth_date: birth_date?,
            phone: phone?,
            email: email?,
        })
    }

    /// Age in whole months on `day` (for the reason's and the professional's age bounds).
    pub fn age_in_months(&self, day: NaiveDate) -> i32 {
        age_in_months(self.birth_date, day)
    }
}

/// Age in whole months on `day` of someone born on `birth`.
pub fn age_in_months(birth: NaiveDate, day: NaiveDate) -> i32 {
    let mut months = (day.year() - birth.year()) * 12 + day.month() as i32 - birth.month() as i32;
    if day.day() < birth.day() {
        months -= 1;
    }
    months
}

/// A birth date: YYYY-MM-DD, not in the future, not before 1900.
pub fn check_birth_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10 && raw.bytes().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit()))
        .ok_or_else(|| format!("{raw:?} is not a date YYYY-MM-DD"))?;
    if date > today {
        return Err("is in the future".into());
    }
    if date.year() < 1900 {
        return Err("is before 1900".into());
    }
    Ok(date)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub id: String,
    pub slot_id: String,
    pub api_key_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub booking_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub id: String,
    pub slot_id: String,
    pub hold_id: Option<String>,
    pub status: BookingStatus,
    /// `None` once erased by the retention job (`patient_erased_at`).
    pub patient: Option<Patient>,
    pub motif: String,
    pub note: Option<String>,
    pub search_id: Option<String>,
    pub booked_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub outcome_at: Option<DateTime<Utc>>,
    /// When the patient's data (and the note, and the cancellation reason) was erased.
    pub patient_erased_at: Option<DateTime<Utc>>,
}

/// Optional free text (note, reason): trimmed, bounded, no control characters but line breaks.
pub fn optional_text(raw: Option<&str>, max_chars: usize) -> Result<Option<String>, String> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters".into());
    }
    Ok(Some(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn age_in_months_counts_whole_months() {
        let patient = Patient {
            first_name: "Léa".into(),
            last_name: "Martin".into(),
            birth_date: day(2026, 4, 10),
            phone: None,
            email: None,
        };
        assert_eq!(patient.age_in_months(day(2026, 5, 9)), 0);
        assert_eq!(patient.age_in_months(day(2026, 5, 10)), 1);
        assert_eq!(patient.age_in_months(day(2026, 11, 24)), 7);
        assert_eq!(patient.age_in_months(day(2029, 4, 9)), 35);
        assert_eq!(patient.age_in_months(day(2029, 4, 10)), 36);
    }
}
