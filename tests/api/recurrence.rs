//! Property tests of the recurrence expansion over random rules, every French zone plus zones whose clocks
//! change at midnight, and dates 2026–2030.

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;
use snp::domain::recurrence::{HolidayCalendar, HolidayPolicy, MonthDay, Recurrence, Season};

const ZONES: &[Tz] = &[
    Tz::Europe__Paris,
    Tz::America__Guadeloupe,
    Tz::America__Martinique,
    Tz::America__Cayenne,
    Tz::Indian__Reunion,
    Tz::Indian__Mayotte,
    Tz::Pacific__Noumea,
    Tz::Pacific__Tahiti,
    Tz::America__Miquelon,
    // Clocks change at midnight here: the local date itself starts at 01:00 on some days.
    Tz::America__Havana,
    Tz::America__Santiago,
    Tz::Asia__Beirut,
];

const WEEKDAYS: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

const DEPARTEMENTS: &[&str] = &["76", "67", "971", "972", "973", "974", "976", "2A"];

fn rule_strategy() -> impl Strategy<Value = (Recurrence, Tz, &'static str, NaiveDate, u32)> {
    (
        1u8..128,
        0u32..24 * 60,
        1u32..24 * 60,
        prop::sample::select(vec![5i64, 10, 15, 20, 30, 45, 60, 90, 120, 240]),
        0usize..3,
        prop::option::of((1u32..13, 1u32..29, 1u32..13, 1u32..29)),
        prop::sample::select(ZONES.to_vec()),
        0i64..(5 * 365),
        1u32..60,
        prop::option::of(0i64..90),
        prop::sample::select(DEPARTEMENTS.to_vec()),
    )
        .prop_map(|(mask, start, length, slot, policy, season, zone, offset, days, until, departement)| {
            let start_time = NaiveTime::from_hms_opt(start / 60, start % 60, 0).unwrap();
            let end_minutes = (start + length) % (24 * 60);
            let end_time = NaiveTime::from_hms_opt(end_minutes / 60, end_minutes % 60, 0).unwrap();
            let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(offset);
            let rule = Recurrence {
                weekdays: WEEKDAYS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, d)| *d).collect(),
                start_time,
                end_time,
                slot_minutes: slot,
                valid_from: from,
                valid_until: until.map(|d| from + Duration::days(d)),
                public_holidays: [HolidayPolicy::Skip, HolidayPolicy::Include, HolidayPolicy::Only][policy],
                season: season.map(|(fm, fd, tm, td)| Season {
                    from: MonthDay { month: fm, day: fd },
                    to: MonthDay { month: tm, day: td },
                }),
            };
            (rule, zone, departement, from, days)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn expansion_is_exact_in_every_zone((rule, zone, departement, from, days) in rule_strategy()) {
        let to = from + Duration::days(i64::from(days));
        let mut holidays = HolidayCalendar::new(departement);
        let occurrences = rule.expand(zone, &mut holidays, from, to);
        let length = Duration::minutes(rule.slot_minutes);
        for pair in occurrences.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "slots overlap or are unordered: {:?}", pair);
        }
        for o in &occurrences {
            prop_assert_eq!(o.end - o.start, length, "every slot lasts exactly its length");
            let local = o.start.with_timezone(&zone).naive_local();
            prop_assert!(local.date() >= from - Duration::days(1) && local.date() <= to + Duration::days(1));
        }
        // Per window, against figures computed independently of the code under test: the window's first slot
        // starts when the clock reads start_time (or, if that reading does not exist, at the end of the gap), and
        // when neither end falls in a gap the real length is the wall-clock length minus the change of offset.
        let mut expected = 0i64;
        let mut day = from;
        let mut remaining = occurrences.clone();
        while day <= to {
            if !rule.opens_on(day, &mut holidays) {
                day = day.succ_opt().unwrap();
                continue;
            }
            let wall_start = day.and_time(rule.start_time);
            let wall_end = if rule.end_time > rule.start_time { day } else { day.succ_opt().unwrap() }.and_time(rule.end_time);
            let start_offset = zone.offset_from_local_datetime(&wall_start).earliest();
            let end_offset = zone.offset_from_local_datetime(&wall_end).earliest();
            if let (Some(start_offset), Some(end_offset)) = (start_offset, end_offset) {
                use chrono::Offset;
                let shift = i64::from(end_offset.fix().local_minus_utc() - start_offset.fix().local_minus_utc()) / 60;
                let real = (wall_end - wall_start).num_minutes() - shift;
                let count = if real > 0 { real / rule.slot_minutes } else { 0 };
                expected += count;
                if count > 0 {
                    let first = remaining.first().expect("a slot of this window");
                    prop_assert_eq!(first.start.with_timezone(&zone).naive_local(), wall_start, "window opens at start_time");
                }
                remaining.drain(..count as usize);
            } else {
                // An end in a gap: fall back to the window the code computes, and check it opens no earlier
                // than the clock reads start_time.
                if let Some((start, end)) = rule.window(day, zone) {
                    let count = (end - start).num_minutes() / rule.slot_minutes;
                    expected += count;
                    prop_assert!(start.with_timezone(&zone).naive_local() >= wall_start);
                    remaining.drain(..(count as usize).min(remaining.len()));
                }
            }
            day = day.succ_opt().unwrap();
        }
        prop_assert!(remaining.is_empty(), "slots outside any window: {:?}", remaining.len());
        prop_assert_eq!(occurrences.len() as i64, expected);
    }
}
