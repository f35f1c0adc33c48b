//! Slots: a professional's published time at a practice, how it is delivered (modality), who may book it
//! (visibility) and where it stands (status).
//!
//! Rules checked here, without I/O: start before end, a length between the configured bounds, whole minutes,
//! not in the past beyond a tolerance, not absurdly far ahead. That a professional's slots never overlap is
//! guaranteed by the database, where concurrent publishers meet.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Validator;
use super::time::is_whole_minute;

text_enum!(
    /// How the patient is seen.
    Modality { InPerson => "in_person", HomeVisit => "home_visit", Teleconsultation => "teleconsultation" }
);
text_enum!(
    /// Who may book: anyone, regulation (SNP/SAS) only, or the CPTS only.
    Visibility { Public => "public", Regulation => "regulation", Cpts => "cpts" }
);
text_enum!(
    /// Life of a slot: free → held → booked, or withdrawn by its professional.
    SlotStatus { Free => "free", Held => "held", Booked => "booked", Withdrawn => "withdrawn" }
);

/// Bounds on what may be published (from configuration).
#[derive(Debug, Clone, Copy)]
pub struct SlotRules {
    pub min_minutes: i64,
    pub max_minutes: i64,
    /// How far in the past a start may be (clock skew of agenda software).
    pub past_tolerance_minutes: i64,
    /// How far ahead a slot may start: a typo in the year should not publish a slot in 2062.
    pub max_days_ahead: i64,
}

/// One slot as a client publishes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotInput {
    pub professional_id: String,
    pub practice_id: String,
    /// RFC 3339 with any offset.
    #[schema(value_type = String, format = DateTime)]
    pub start: DateTime<chrono::FixedOffset>,
    #[schema(value_type = String, format = DateTime)]
    pub end: DateTime<chrono::FixedOffset>,
    pub modality: Modality,
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub id: String,
    pub professional_id: String,
    pub practice_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub modality: Modality,
    pub visibility: Visibility,
    pub status: SlotStatus,
    /// The practice's zone, for the local times people read.
    pub timezone: Tz,
    /// The availability rule this slot was materialised from; `None` for a one-off slot.
    pub rule_id: Option<String>,
    /// The version of that rule which produced it.
    pub rule_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Slot {
    /// A new free, in-person slot open to regulation, produced by no rule; callers change what differs with
    /// struct update syntax (`Slot { modality, ..Slot::free(…) }`).
    pub fn free(
        id: String,
        professional_id: &str,
        practice_id: &str,
        timezone: Tz,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Slot {
        Slot {
            id,
            professional_id: professional_id.to_string(),
            practice_id: practice_id.to_string(),
            start,
            end,
            modality: Modality::InPerson,
            visibility: Visibility::Regulation,
            status: SlotStatus::Free,
            timezone,
            rule_id: None,
            rule_version: None,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Slot {
    /// Whether this slot, as read, can no longer be booked however the race for it ends: booked or withdrawn,
    /// or started. (A held slot may be free again once its hold lapses: only the store can say.)
    pub fn taken_or_past(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status, SlotStatus::Booked | SlotStatus::Withdrawn) || self.start <= now
    }
}

/// The first index of `batch` whose slot overlaps an earlier one of the same batch (same professional, live
/// times crossing), as a one-by-one insert would meet it. Sorted by start per professional, so only slots that
/// really overlap are compared.
pub fn first_overlap_within(batch: &[Slot]) -> Option<usize> {
    let mut order: Vec<usize> = (0..batch.len()).filter(|&i| batch[i].status != SlotStatus::Withdrawn).collect();
    order.sort_by(|&a, &b| {
        (batch[a].professional_id.as_str(), batch[a].start).cmp(&(batch[b].professional_id.as_str(), batch[b].start))
    });
    let mut first: Option<usize> = None;
    for (k, &a) in order.iter().enumerate() {
        for &b in &order[k + 1..] {
            if batch[b].professional_id != batch[a].professional_id || batch[b].start >= batch[a].end {
                break;
            }
            let later = a.max(b);
            first = Some(first.map_or(later, |f| f.min(later)));
        }
    }
    first
}

/// Checks the timing rules of one slot, recording errors under the validator's prefix.
pub fn check_times(v: &mut Validator, start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>, rules: &SlotRules) {
    if !is_whole_minute(start) {
        v.push("start", "must fall on a whole minute");
    }
    if !is_whole_minute(end) {
        v.push("end", "must fall on a whole minute");
    }
    if end <= start {
        v.push("end", "must be after start");
    } else {
        let minutes = (end - start).num_minutes();
        if minutes < rules.min_minutes {
            v.push("end", format!("a slot lasts at least {} minutes", rules.min_minutes));
        } else if (end - start) > Duration::minutes(rules.max_minutes) {
            v.push("end", format!("a slot lasts at most {} hours", rules.max_minutes as f64 / 60.0));
        }
    }
    if start < now - Duration::minutes(rules.past_tolerance_minutes) {
        v.push("start", "is in the past");
    } else if start > now + Duration::days(rules.max_days_ahead) {
        v.push("start", format!("is more than {} days ahead", rules.max_days_ahead));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_first_overlap_within_a_batch_is_the_later_slot_as_one_by_one_inserts_would_meet_it() {
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, 25, h, m, 0).unwrap();
        let slot = |pro: &str, start: DateTime<Utc>, minutes: i64| {
            Slot::free(
                "s".into(),
                pro,
                "c",
                chrono_tz::Tz::Europe__Paris,
                start,
                start + chrono::Duration::minutes(minutes),
                at(0, 0),
            )
        };
        let clean = [slot("a", at(9, 0), 15), slot("a", at(9, 15), 15), slot("b", at(9, 0), 15)];
        assert_eq!(first_overlap_within(&clean), None, "touching and other professionals' slots do not overlap");
        // A long slot at index 3 covers index 1 (9:15) and index 0 (9:00), not adjacent once sorted.
        let batch =
            [slot("a", at(9, 0), 15), slot("a", at(9, 15), 15), slot("b", at(9, 0), 60), slot("a", at(8, 0), 120)];
        assert_eq!(first_overlap_within(&batch), Some(3));
        let batch =
            [slot("a", at(10, 0), 15), slot("a", at(9, 0), 15), slot("a", at(10, 10), 15), slot("a", at(9, 5), 5)];
        assert_eq!(first_overlap_within(&batch), Some(2));
        let mut withdrawn = slot("a", at(9, 0), 15);
        withdrawn.status = SlotStatus::Withdrawn;
        assert_eq!(
            first_overlap_within(&[withdrawn, slot("a", at(9, 0), 15)]),
            None,
            "a withdrawn slot frees its time"
        );
    }

    const RULES: SlotRules =
        SlotRules { min_minutes: 5, max_minutes: 720, past_tolerance_minutes: 5, max_days_ahead: 365 };

    fn errors(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Vec<String> {
        let mut v = Validator::new();
        check_times(&mut v, start, end, now, &RULES);
        match v.finish() {
            Ok(()) => vec![],
            Err(super::super::Error::Invalid(e)) => {
                e.into_iter().map(|e| format!("{}: {}", e.field, e.message)).collect()
            }
        }
    }

    #[test]
    fn length_bounds_are_inclusive() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let start = now + Duration::hours(1);
        assert!(errors(start, start + Duration::minutes(5), now).is_empty());
        assert!(errors(start, start + Duration::hours(12), now).is_empty());
        assert_eq!(errors(start, start + Duration::minutes(4), now), ["end: a slot lasts at least 5 minutes"]);
        assert_eq!(errors(start, start + Duration::minutes(721), now), ["end: a slot lasts at most 12 hours"]);
        assert_eq!(errors(start, start, now), ["end: must be after start"]);
    }

    #[test]
    fn past_starts_are_refused_beyond_the_tolerance() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        assert!(errors(now - Duration::minutes(5), now + Duration::minutes(10), now).is_empty());
        assert_eq!(errors(now - Duration::minutes(6), now + Duration::minutes(10), now), ["start: is in the past"]);
    }
}
