//! Availability rules ("weekdays 12:00–12:30, two 15-minute slots") and absences, as professionals state them.
//! How a rule becomes slots is [`super::recurrence`]; this module validates what people send.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::recurrence::{HolidayPolicy, MonthDay, Recurrence, Season, parse_weekday};
use super::slot::{Modality, SlotRules, Visibility};
use super::{Error, Validator};

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonInput {
    /// First day of the season, MM-DD (e.g. 11-01).
    pub from: String,
    /// Last day of the season, MM-DD; may be earlier in the year than `from` (the season wraps the new year).
    pub to: String,
}

/// What a client sends to create or replace a rule.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub professional_id: String,
    pub practice_id: String,
    /// mon, tue, wed, thu, fri, sat, sun.
    pub weekdays: Vec<String>,
    /// HH:MM, wall clock in the practice's zone.
    pub start_time: String,
    /// HH:MM; earlier than `start_time` means the window ends the next day (22:00–02:00).
    pub end_time: String,
    pub slot_minutes: i64,
    pub modality: Modality,
    pub visibility: Visibility,
    /// YYYY-MM-DD.
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: Option<String>,
    #[serde(default)]
    pub public_holidays: HolidayPolicy,
    #[serde(default)]
    pub season: Option<SeasonInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AvailabilityRule {
    pub id: String,
    pub professional_id: String,
    pub practice_id: String,
    pub recurrence: Recurrence,
    pub modality: Modality,
    pub visibility: Visibility,
    /// Bumped by every change or deletion (see `store::Store::materialize_rule_slots`).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    let valid_shape = raw.len() == 5
        && raw.as_bytes()[2] == b':'
        && raw.bytes().enumerate().all(|(i, b)| i == 2 || b.is_ascii_digit());
    valid_shape
        .then(|| NaiveTime::parse_from_str(raw, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("{raw:?} is not a wall-clock time HH:MM (00:00–23:59)"))
}

pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| raw.len() == 10 && (2000..=2999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| format!("{raw:?} is not a date YYYY-MM-DD"))
}

impl AvailabilityRule {
    /// Validates every field at once. The professional/practice checks that need the store are the caller's.
    pub fn create(id: String, input: RuleInput, rules: &SlotRules, now: DateTime<Utc>) -> Result<Self, Error> {
        let mut v = Validator::new();
        let mut weekdays = Vec::new();
        if input.weekdays.is_empty() {
            v.push("weekdays", "name at least one weekday");
        }
        for (i, raw) in input.weekdays.iter().enumerate() {
            if let Some(day) = v.check(&format!("weekdays[{i}]"), parse_weekday(raw))
                && !weekdays.contains(&day)
            {
                weekdays.push(day);
            }
        }
        weekdays.sort_by_key(|d| d.num_days_from_monday());
        let start_time = v.check("start_time", parse_time(&input.start_time));
        let end_time = v.check("end_time", parse_time(&input.end_time));
        let valid_from = v.check("valid_from", parse_date(&input.valid_from));
        let valid_until = match &input.valid_until {
            Some(raw) => v.check("valid_until", parse_date(raw)).map(Some),
            None => Some(None),
        };
        if let (Some(from), Some(Some(until))) = (valid_from, valid_until) {
            if until < from {
                v.push("valid_until", "must not be before valid_from");
            } else if until < (now - chrono::Duration::days(1)).date_naive() {
                v.push("valid_until", "is in the past: the rule would never yield a slot");
            }
        }
        let season = match &input.season {
            Some(s) => {
                let from = v.check("season.from", MonthDay::parse(&s.from));
                let to = v.check("season.to", MonthDay::parse(&s.to));
                from.zip(to).map(|(from, to)| Some(Season { from, to }))
            }
            None => Some(None),
        };
        if let (Some(Some(season)), Some(from), Some(until)) = (season, valid_from, valid_until)
            && !season.meets(from, until.unwrap_or(from + chrono::Duration::days(366)))
        {
            v.push("season", "the season never meets the rule's validity dates");
        }
        if !(rules.min_minutes..=rules.max_minutes).contains(&input.slot_minutes) {
            v.push("slot_minutes", format!("must be between {} and {}", rules.min_minutes, rules.max_minutes));
        }
        if let (Some(start), Some(end)) = (start_time, end_time) {
            if start == end {
                v.push("end_time", "must differ from start_time (a window lasts less than a day)");
            } else {
                let window = if end > start { (end - start).num_minutes() } else { (end - start).num_minutes() + 1440 };
                if input.slot_minutes > window {
                    v.push(
                        "slot_minutes",
                        format!("a slot of {} min does not fit in a {window}-min window", input.slot_minutes),
                    );
                }
            }
        }
        v.finish()?;
        Ok(AvailabilityRule {
            id,
            professional_id: input.professional_id,
            practice_id: input.practice_id,
            recurrence: Recurrence {
                weekdays,
                start_time: start_time.unwrap(),
                end_time: end_time.unwrap(),
                slot_minutes: input.slot_minutes,
                valid_from: valid_from.unwrap(),
                valid_until: valid_until.unwrap(),
                public_holidays: input.public_holidays,
                season: season.unwrap(),
            },
            modality: input.modality,
            visibility: input.visibility,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    pub fn public_holidays_str(&self) -> &'static str {
        self.recurrence.public_holidays.as_str()
    }

    /// Minutes at the end of each window too short for one more slot (they stay unpublished).
    pub fn unused_minutes_per_window(&self) -> i64 {
        self.recurrence.window_minutes() % self.recurrence.slot_minutes
    }
}

/// What a client sends to declare an absence.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceInput {
    pub professional_id: String,
    /// RFC 3339 instant, or a date YYYY-MM-DD meaning the start of that day in the practice's zone.
    pub from: String,
    /// RFC 3339 instant, or a date YYYY-MM-DD meaning the end of that day (inclusive) in the practice's zone.
    pub to: String,
    /// Free text for the professional's own records ("congés"); never shown to patients.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Absence {
    pub id: String,
    pub professional_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}
