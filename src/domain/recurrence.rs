//! Recurring availability: a wall-clock window on chosen days, cut into slots in *real* elapsed time.
//!
//! The expansion policy, exact on daylight-saving days and in every zone:
//!
//! - a window runs from the first instant the practice's clock reads `start_time` until the first instant after
//!   it that the clock reads `end_time` (the next day's when the window crosses midnight);
//! - a wall-clock time that does not exist (spring-forward gap) is clamped to the first instant after the gap,
//!   so no slot ever starts at a local time that does not exist;
//! - the window is cut into consecutive slots of exactly `slot_minutes` of real time; a remainder shorter than
//!   one slot at the end of the window stays unpublished.
//!
//! So in Europe/Paris a 01:30–03:30 window yields one real hour on the spring-forward day (2 slots of 30 min)
//! and three on the fall-back day (6 slots). Every loop here is bounded by the number of days asked for and the
//! number of minutes in a day: nothing can spin on an odd zone.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::holidays::public_holidays;

/// What a rule does on public holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HolidayPolicy {
    /// No slots on public holidays.
    #[default]
    Skip,
    /// Also on public holidays that fall on other weekdays (on-call rotas: weekends plus holidays).
    Include,
    /// Only on public holidays (among the rule's weekdays).
    Only,
}

impl HolidayPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Include => "include",
            Self::Only => "only",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Skip, Self::Include, Self::Only].into_iter().find(|p| p.as_str() == raw)
    }
}

/// A (month, day) of the year, e.g. 11-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    /// Parses `MM-DD`; 02-29 is accepted (it exists in leap years), 02-30 is not.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || format!("{raw:?} is not a day of the year as MM-DD (e.g. 11-01)");
        let (m, d) = raw.split_once('-').ok_or_else(invalid)?;
        if m.len() != 2 || d.len() != 2 || !(m.bytes().chain(d.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let (month, day) = (m.parse().map_err(|_| invalid())?, d.parse().map_err(|_| invalid())?);
        NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(invalid)?;
        Ok(Self { month, day })
    }

    pub fn of(date: NaiveDate) -> Self {
        Self { month: date.month(), day: date.day() }
    }

    pub fn format(self) -> String {
        format!("{:02}-{:02}", self.month, self.day)
    }
}

/// A season within each year, inclusive at both ends; it may wrap the new year (11-01 → 03-31).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Season {
    pub from: MonthDay,
    pub to: MonthDay,
}

impl Season {
    /// Whether any day of `from..=to` (looking at most a year ahead) is in the season.
    pub fn meets(self, from: NaiveDate, to: NaiveDate) -> bool {
        let last = to.min(from + Duration::days(366));
        from.iter_days().take_while(|d| *d <= last).any(|d| self.contains(d))
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        let day = MonthDay::of(date);
        if self.from <= self.to { self.from <= day && day <= self.to } else { day >= self.from || day <= self.to }
    }
}

/// The timing part of an availability rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Recurrence {
    /// Days of the week the window opens on (Monday first).
    pub weekdays: Vec<Weekday>,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub slot_minutes: i64,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub public_holidays: HolidayPolicy,
    pub season: Option<Season>,
}

/// One slot a rule yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Public holidays by year, computed once per expansion.
#[derive(Default)]
pub struct HolidayCalendar {
    departement: String,
    years: HashMap<i32, Vec<NaiveDate>>,
}

impl HolidayCalendar {
    pub fn new(departement: &str) -> Self {
        Self { departement: departement.to_string(), years: HashMap::new() }
    }

    pub fn is_holiday(&mut self, day: NaiveDate) -> bool {
        let departement = &self.departement;
        self.years
            .entry(day.year())
            .or_insert_with(|| public_holidays(day.year(), departement).into_iter().map(|(d, _)| d).collect())
            .contains(&day)
    }
}

pub fn parse_weekday(raw: &str) -> Result<Weekday, String> {
    match raw {
        "mon" => Ok(Weekday::Mon),
        "tue" => Ok(Weekday::Tue),
        "wed" => Ok(Weekday::Wed),
        "thu" => Ok(Weekday::Thu),
        "fri" => Ok(Weekday::Fri),
        "sat" => Ok(Weekday::Sat),
        "sun" => Ok(Weekday::Sun),
        _ => Err(format!("{raw:?} is not a weekday: mon, tue, wed, thu, fri, sat or sun")),
    }
}

pub fn weekday_name(day: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][day.num_days_from_monday() as usize]
}

impl Recurrence {
    /// Wall-clock length of the window in minutes (a window crossing midnight wraps; end = start is invalid).
    pub fn window_minutes(&self) -> i64 {
        let minutes = (self.end_time - self.start_time).num_minutes();
        if minutes > 0 { minutes } else { minutes + 24 * 60 }
    }

    /// Whether the window opens on this local date.
    pub fn opens_on(&self, day: NaiveDate, holidays: &mut HolidayCalendar) -> bool {
        if day < self.valid_from || self.valid_until.is_some_and(|until| day > until) {
            return false;
        }
        if self.season.is_some_and(|season| !season.contains(day)) {
            return false;
        }
        let on_weekday = self.weekdays.contains(&day.weekday());
        match self.public_holidays {
            HolidayPolicy::Skip => on_weekday && !holidays.is_holiday(day),
            HolidayPolicy::Include => on_weekday || holidays.is_holiday(day),
            HolidayPolicy::Only => on_weekday && holidays.is_holiday(day),
        }
    }

    /// The real-time window opening on `day`, or `None` when the clock never covers it (e.g. 02:30–03:00 on a
    /// spring-forward day).
    pub fn window(&self, day: NaiveDate, zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = first_instant_reading(zone, day.and_time(self.start_time))?;
        let end_day = if self.end_time > self.start_time { day } else { day.succ_opt()? };
        let end = first_instant_reading(zone, end_day.and_time(self.end_time))?;
        (end > start).then_some((start, end))
    }

    /// Slots of the windows opening on local dates `from..=to`, in time order.
    pub fn expand(&self, zone: Tz, holidays: &mut HolidayCalendar, from: NaiveDate, to: NaiveDate) -> Vec<Occurrence> {
        let length = Duration::minutes(self.slot_minutes);
        let mut occurrences = Vec::new();
        let mut day = from.max(self.valid_from);
        let last = self.valid_until.map_or(to, |until| until.min(to));
        while day <= last {
            if self.opens_on(day, holidays)
                && let Some((start, end)) = self.window(day, zone)
            {
                let mut slot_start = start;
                while slot_start + length <= end {
                    occurrences.push(Occurrence { start: slot_start, end: slot_start + length });
                    slot_start += length;
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        occurrences
    }
}

/// The first instant at which the zone's clock reads `local`, or — when that reading does not exist (a gap) —
/// the first instant after the gap.
pub fn first_instant_reading(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earliest, _) => Some(earliest.with_timezone(&Utc)),
        LocalResult::None => {
            // Gaps are whole minutes long and at most a day (a zone skipping a date); probe minute by minute.
            let mut probe = local;
            for _ in 0..(26 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return Some(t.with_timezone(&Utc));
                }
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn every_day(start: NaiveTime, end: NaiveTime, slot_minutes: i64) -> Recurrence {
        Recurrence {
            weekdays: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
            start_time: start,
            end_time: end,
            slot_minutes,
            valid_from: date(2026, 1, 1),
            valid_until: None,
            public_holidays: HolidayPolicy::Include,
            season: None,
        }
    }

    fn local_starts(rule: &Recurrence, zone: Tz, day: NaiveDate) -> Vec<String> {
        rule.expand(zone, &mut HolidayCalendar::new("76"), day, day)
            .iter()
            .map(|o| o.start.with_timezone(&zone).format("%H:%M%:z").to_string())
            .collect()
    }

    #[test]
    fn spring_forward_window_is_one_real_hour_and_fall_back_three() {
        let rule = every_day(time(1, 30), time(3, 30), 30);
        let paris = Tz::Europe__Paris;
        // 2027-03-28 is both the spring-forward day and Easter Sunday.
        assert_eq!(local_starts(&rule, paris, date(2027, 3, 28)), ["01:30+01:00", "03:00+02:00"]);
        assert_eq!(
            local_starts(&rule, paris, date(2027, 10, 31)),
            ["01:30+02:00", "02:00+02:00", "02:30+02:00", "02:00+01:00", "02:30+01:00", "03:00+01:00"]
        );
    }

    #[test]
    fn a_window_ending_inside_the_gap_ends_when_the_clock_jumps() {
        let rule = every_day(time(0, 30), time(2, 30), 30);
        let paris = Tz::Europe__Paris;
        assert_eq!(local_starts(&rule, paris, date(2027, 3, 28)), ["00:30+01:00", "01:00+01:00", "01:30+01:00"]);
        // On the fall-back day the window ends the first time the clock reads 02:30.
        assert_eq!(
            local_starts(&rule, paris, date(2027, 10, 31)),
            ["00:30+02:00", "01:00+02:00", "01:30+02:00", "02:00+02:00"]
        );
        // A window entirely inside the gap yields nothing, without looping.
        let inside = every_day(time(2, 0), time(2, 45), 15);
        assert!(local_starts(&inside, paris, date(2027, 3, 28)).is_empty());
    }

    #[test]
    fn overnight_window_crosses_both_transitions_exactly() {
        let rule = every_day(time(22, 0), time(2, 0), 60);
        let paris = Tz::Europe__Paris;
        // 27 → 28 March 2027: 22:00 CET to 02:00... which does not exist: clamped to 03:00 CEST = 4 real hours.
        assert_eq!(
            local_starts(&rule, paris, date(2027, 3, 27)),
            ["22:00+01:00", "23:00+01:00", "00:00+01:00", "01:00+01:00"]
        );
        // 30 → 31 October 2027: 22:00 CEST to the first 02:00 (CEST) = 4 real hours.
        assert_eq!(
            local_starts(&rule, paris, date(2027, 10, 30)),
            ["22:00+02:00", "23:00+02:00", "00:00+02:00", "01:00+02:00"]
        );
    }

    #[test]
    fn the_remainder_shorter_than_a_slot_stays_unpublished() {
        let rule = every_day(time(12, 0), time(12, 40), 15);
        assert_eq!(local_starts(&rule, Tz::Europe__Paris, date(2026, 12, 1)), ["12:00+01:00", "12:15+01:00"]);
    }

    #[test]
    fn seasons_may_wrap_the_new_year() {
        let season = Season { from: MonthDay::parse("11-01").unwrap(), to: MonthDay::parse("03-31").unwrap() };
        assert!(season.contains(date(2026, 11, 1)));
        assert!(season.contains(date(2027, 1, 15)));
        assert!(season.contains(date(2027, 3, 31)));
        assert!(!season.contains(date(2027, 4, 1)));
        assert!(!season.contains(date(2026, 10, 31)));
        assert!(MonthDay::parse("02-30").is_err());
        assert!(MonthDay::parse("13-01").is_err());
        assert!(MonthDay::parse("2-01").is_err());
        assert!(MonthDay::parse("02-29").is_ok());
        assert!(MonthDay::parse("+1-01").is_err());
        assert!(MonthDay::parse("01-+1").is_err());
    }

    #[test]
    fn holiday_policies_skip_include_and_only() {
        // Wednesday 11 November 2026 (Armistice) and Saturday 14 November.
        let mut weekends = every_day(time(8, 0), time(9, 0), 60);
        weekends.weekdays = vec![Weekday::Sat, Weekday::Sun];
        let days = |rule: &Recurrence, dep: &str| -> Vec<NaiveDate> {
            rule.expand(Tz::Europe__Paris, &mut HolidayCalendar::new(dep), date(2026, 11, 9), date(2026, 11, 15))
                .iter()
                .map(|o| o.start.with_timezone(&Tz::Europe__Paris).date_naive())
                .collect()
        };
        assert_eq!(days(&weekends, "76"), [date(2026, 11, 11), date(2026, 11, 14), date(2026, 11, 15)]);
        weekends.public_holidays = HolidayPolicy::Skip;
        assert_eq!(days(&weekends, "76"), [date(2026, 11, 14), date(2026, 11, 15)]);
        let mut weekdays = every_day(time(8, 0), time(9, 0), 60);
        weekdays.public_holidays = HolidayPolicy::Skip;
        assert!(!days(&weekdays, "76").contains(&date(2026, 11, 11)));
        weekdays.public_holidays = HolidayPolicy::Only;
        assert_eq!(days(&weekdays, "76"), [date(2026, 11, 11)]);
        // Saint-Étienne in Alsace, the abolition day in La Réunion.
        let mut alsace = every_day(time(8, 0), time(9, 0), 60);
        alsace.public_holidays = HolidayPolicy::Only;
        let dec = |rule: &Recurrence, dep: &str| {
            rule.expand(Tz::Europe__Paris, &mut HolidayCalendar::new(dep), date(2026, 12, 19), date(2026, 12, 27)).len()
        };
        assert_eq!(dec(&alsace, "67"), 2, "25 and 26 December");
        assert_eq!(dec(&alsace, "76"), 1, "25 December only");
        assert_eq!(dec(&alsace, "974"), 2, "20 and 25 December");
    }
}
