//! Property tests of the recurrence expansion over random rules, every French zone plus zones whose clocks
//! change at midnight, and dates 2026–2030.

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
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

fn rule_strategy() -> impl Strategy<Value = (Recurrence, Tz, NaiveDate, u32)> {
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
    )
        .prop_map(|(mask, start, length, slot, policy, season, zone, offset, days)| {
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
                valid_until: None,
                public_holidays: [HolidayPolicy::Skip, HolidayPolicy::Include, HolidayPolicy::Only][policy],
                season: season.map(|(fm, fd, tm, td)| Season {
                    from: MonthDay { month: fm, day: fd },
                    to: MonthDay { month: tm, day: td },
                }),
            };
            (rule, zone, from, days)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn expansion_is_exact_in_every_zone((rule, zone, from, days) in rule_strategy()) {
        let to = from + Duration::days(i64::from(days));
        let mut holidays = HolidayCalendar::new("971");
        let occurrences = rule.expand(zone, &mut holidays, from, to);
        let length = Duration::minutes(rule.slot_minutes);
        for pair in occurrences.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "slots overlap or are unordered: {:?}", pair);
        }
        for o in &occurrences {
            prop_assert_eq!(o.end - o.start, length, "every slot lasts exactly its length");
            // The local start exists: reading the clock at that instant and converting back gives the instant.
            let local = o.start.with_timezone(&zone).naive_local();
            let back: Vec<_> = match zone.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
                chrono::LocalResult::Ambiguous(a, b) => vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
                chrono::LocalResult::None => vec![],
            };
            prop_assert!(back.contains(&o.start), "slot starts at a local time that does not exist: {}", local);
        }
        // Per window: the count is the real elapsed time divided by the length, and the window opens at the
        // first instant the clock reads (or passes) the start time.
        let mut expected = 0i64;
        let mut day = from;
        while day <= to {
            if rule.opens_on(day, &mut holidays) && let Some((start, end)) = rule.window(day, zone) {
                expected += (end - start).num_minutes() / rule.slot_minutes;
                let wanted = day.and_time(rule.start_time);
                prop_assert!(start.with_timezone(&zone).naive_local() >= wanted);
                prop_assert!((start - Duration::minutes(1)).with_timezone(&zone).naive_local() < wanted);
                prop_assert!(end - start <= Duration::hours(26), "a window is at most a day plus a DST hour");
            }
            day = day.succ_opt().unwrap();
        }
        prop_assert_eq!(occurrences.len() as i64, expected);
    }
}
