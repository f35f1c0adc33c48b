//! What a search looks at: bookable slots with their professional and practice, and the professionals who
//! accept an extra patient. Built by the store, ranked by `routing`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::geo::Coordinates;
use super::slot::{Modality, Visibility};

/// A bookable slot with what the search needs to know about its professional and practice.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub slot_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub timezone: Tz,
    pub modality: Modality,
    pub visibility: Visibility,
    pub professional_id: String,
    pub professional_name: String,
    pub profession: String,
    pub skills: Vec<String>,
    pub home_visit_radius_km: Option<f64>,
    /// The ages the professional sees (months; upper bound exclusive).
    pub min_patient_age_months: Option<u32>,
    pub max_patient_age_months: Option<u32>,
    pub practice_id: String,
    pub practice_name: String,
    pub practice_address: String,
    pub practice_phone: Option<String>,
    pub practice_location: Coordinates,
    pub practice_departement: String,
}

/// A professional who accepts an extra patient beyond their slots (surnuméraire), at one of their practices.
#[derive(Debug, Clone, PartialEq)]
pub struct OverbookingContact {
    pub professional_id: String,
    pub professional_name: String,
    pub profession: String,
    pub practice_id: String,
    pub practice_name: String,
    pub practice_phone: Option<String>,
    pub practice_location: Coordinates,
}

/// The pseudonymous record of a search: bands, never patient data.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRecord {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub api_key_id: String,
    pub motif: Option<String>,
    pub profession: Option<String>,
    pub age_band: Option<&'static str>,
    pub departement: Option<String>,
    pub delay_band: &'static str,
    pub modality: Option<Modality>,
    pub radius_km: f64,
    pub widened: bool,
    pub result_count: usize,
}

/// The national platform's delay bands.
pub fn delay_band(within_hours: u32) -> &'static str {
    match within_hours {
        0..=4 => "0-4h",
        5..=8 => "4-8h",
        9..=12 => "8-12h",
        13..=24 => "12-24h",
        25..=48 => "24-48h",
        49..=72 => "48-72h",
        _ => "72h+",
    }
}

/// Age bands for statistics (months in, a band out).
pub fn age_band(months: i32) -> &'static str {
    match months {
        ..12 => "0-1y",
        12..36 => "1-3y",
        36..72 => "3-6y",
        72..216 => "6-18y",
        216..780 => "18-65y",
        _ => "65y+",
    }
}
