//! What a search looks at: bookable slots with their professional and practice, and the professionals who
//! accept an extra patient — as the store reads them into the search index (`routing::index`) and as the
//! ranking (`routing`) sees them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::geo::Coordinates;
use super::slot::{Modality, Visibility};

/// What a search shows and checks of a professional. Shared (`Arc`) by every candidate of that professional.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfessionalCard {
    pub id: String,
    /// "First Last".
    pub name: String,
    pub profession: String,
    pub skills: Vec<String>,
    pub home_visit_radius_km: Option<f64>,
    /// The ages the professional sees (months; upper bound exclusive).
    pub min_patient_age_months: Option<u32>,
    pub max_patient_age_months: Option<u32>,
    pub accepts_overbooking: bool,
}

/// What a search shows and checks of a practice.
#[derive(Debug, Clone, PartialEq)]
pub struct PracticeCard {
    pub id: String,
    pub name: String,
    /// "12 rue X, 76000 Rouen".
    pub address: String,
    pub phone: Option<String>,
    pub location: Coordinates,
    pub departement: String,
    pub timezone: Tz,
}

/// A slot that is free, or held (possibly lapsed), as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookableSlot {
    pub id: Arc<str>,
    pub professional_id: String,
    pub practice_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub modality: Modality,
    pub visibility: Visibility,
    /// `Some` while a hold exists: the slot is bookable again once the clock passes it.
    pub held_until: Option<DateTime<Utc>>,
}

impl BookableSlot {
    pub fn is_bookable(&self, now: DateTime<Utc>) -> bool {
        self.held_until.is_none_or(|until| until <= now)
    }
}

/// Everything the search needs about some professionals, read by the store in one go: the index replaces what
/// it knew about each of them with this.
#[derive(Debug, Clone, Default)]
pub struct SearchSnapshot {
    /// The professionals that exist (an asked id missing here no longer exists).
    pub professionals: Vec<ProfessionalCard>,
    /// Their practices, and those of their slots.
    pub practices: Vec<PracticeCard>,
    /// (professional id, practice id).
    pub links: Vec<(String, String)>,
    /// Free and held slots from the start of the loaded window, outside any absence.
    pub slots: Vec<BookableSlot>,
    /// (professional id, start, end) of absences not yet over.
    pub absences: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// (professional id, when) of bookings not cancelled, from the start of the fairness window.
    pub bookings: Vec<(String, DateTime<Utc>)>,
}

/// A slot's id as the search index keeps it: the 16 bytes of the UUID this server gives every slot, or the
/// text of any other id. Text costs a pointer and a heap block per slot: over the national 1.4 M slots, the
/// bytes save ≈ 80 MB. It compares, prints and reads back exactly as its text.
#[derive(Debug, Clone)]
pub struct SlotId(SlotIdRepr);

#[derive(Debug, Clone)]
enum SlotIdRepr {
    Uuid([u8; 16]),
    Text(Arc<str>),
}

impl SlotId {
    pub fn new(id: Arc<str>) -> SlotId {
        let mut buffer = uuid::Uuid::encode_buffer();
        SlotId(match uuid::Uuid::try_parse(&id) {
            // Only when the text is exactly the UUID's lower-case hyphenated form: it must read back the same.
            Ok(uuid) if *uuid.hyphenated().encode_lower(&mut buffer) == *id => SlotIdRepr::Uuid(uuid.into_bytes()),
            _ => SlotIdRepr::Text(id),
        })
    }

    /// The text, written into `buffer` when it is a UUID's.
    fn text<'a>(&'a self, buffer: &'a mut [u8; 45]) -> &'a str {
        match &self.0 {
            SlotIdRepr::Uuid(bytes) => uuid::Uuid::from_bytes(*bytes).hyphenated().encode_lower(buffer),
            SlotIdRepr::Text(text) => text,
        }
    }
}

impl std::fmt::Display for SlotId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text(&mut uuid::Uuid::encode_buffer()))
    }
}

/// The order of the texts.
impl Ord for SlotId {
    fn cmp(&self, other: &SlotId) -> std::cmp::Ordering {
        // Lower-case hex of the same bytes, hyphens at the same places: the bytes' order is the texts'.
        if let (SlotIdRepr::Uuid(mine), SlotIdRepr::Uuid(theirs)) = (&self.0, &other.0) {
            return mine.cmp(theirs);
        }
        let (mut mine, mut theirs) = (uuid::Uuid::encode_buffer(), uuid::Uuid::encode_buffer());
        self.text(&mut mine).cmp(other.text(&mut theirs))
    }
}

impl PartialOrd for SlotId {
    fn partial_cmp(&self, other: &SlotId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SlotId {
    fn eq(&self, other: &SlotId) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for SlotId {}

/// A bookable slot with its professional and practice: what the ranking ranks.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub slot_id: SlotId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub modality: Modality,
    pub visibility: Visibility,
    pub professional: Arc<ProfessionalCard>,
    pub practice: Arc<PracticeCard>,
}

/// A professional who accepts an extra patient beyond their slots (surnuméraire), at one of their practices.
#[derive(Debug, Clone, PartialEq)]
pub struct OverbookingContact {
    pub professional: Arc<ProfessionalCard>,
    pub practice: Arc<PracticeCard>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ids_read_back_as_given_and_keep_their_text_order() {
        let ids = [
            "0194f3c2-7b1e-7c3a-9f00-0123456789ab", // a UUID as this server writes them: kept as its bytes
            "0194f3c2-7b1e-7c3a-9f00-f123456789ab", // another, ordered against the first by its bytes
            "0194f3c2-7b1e-7c3a-af00-0123456789ab",
            "0194F3C2-7B1E-7C3A-9F00-0123456789AB", // upper case: kept as text, so it reads back the same
            "0194f3c27b1e7c3a9f000123456789ab",     // no hyphens: text
            "slot-1",
            "",
        ];
        let keys: Vec<SlotId> = ids.iter().map(|id| SlotId::new(Arc::from(*id))).collect();
        assert!(keys[..3].iter().all(|k| matches!(k.0, SlotIdRepr::Uuid(_))));
        assert!(keys[3..].iter().all(|k| matches!(k.0, SlotIdRepr::Text(_))));
        for (key, id) in keys.iter().zip(ids) {
            assert_eq!(key.to_string(), id);
            for (other, other_id) in keys.iter().zip(ids) {
                assert_eq!(key.cmp(other), id.cmp(other_id), "{id} vs {other_id}");
            }
        }
    }
}
