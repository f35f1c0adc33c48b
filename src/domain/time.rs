//! Instants and the local wall-clock people read: conversions only, no clock reads.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// RFC 3339 in UTC with a `Z`, as every response gives instants.
pub fn utc_rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// RFC 3339 with the zone's offset at that instant (`2026-11-27T18:00:00+01:00`).
pub fn local_rfc3339(instant: DateTime<Utc>, zone: Tz) -> String {
    instant.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// The first instant of a local day (midnight, or the first minute after a gap where midnight does not exist).
pub fn local_day_start(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    (0..=180)
        .find_map(|minutes| {
            let local = day.and_hms_opt(0, 0, 0).expect("midnight") + chrono::Duration::minutes(minutes);
            zone.from_local_datetime(&local).earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
}

/// Whether an instant falls on a whole minute: slots are "correct to the minute", never to the second.
pub fn is_whole_minute(instant: DateTime<Utc>) -> bool {
    instant.second() == 0 && instant.nanosecond() == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_starts_at_its_first_existing_minute() {
        let paris = chrono_tz::Europe::Paris;
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(utc_rfc3339(local_day_start(day, paris)), "2026-03-28T23:00:00Z");
        // Santiago skips midnight in September: the day starts at 01:00 local.
        let skipped = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(utc_rfc3339(local_day_start(skipped, chrono_tz::America::Santiago)), "2026-09-06T04:00:00Z");
    }
}
