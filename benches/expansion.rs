//! Expansion throughput: 60,000 availability rules over a 14-day horizon (criterion):
//! `cargo bench --bench expansion`. Rules vary in weekdays, windows (some crossing midnight), slot lengths,
//! holiday policies, seasons and zones (mainland and overseas), as a national deployment would have them.

use std::hint::black_box;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use snp::domain::recurrence::{HolidayCalendar, HolidayPolicy, MonthDay, Recurrence, Season};

const RULES: usize = 60_000;
const ZONES: [(Tz, &str); 6] = [
    (Tz::Europe__Paris, "76"),
    (Tz::Europe__Paris, "67"),
    (Tz::America__Guadeloupe, "971"),
    (Tz::Indian__Reunion, "974"),
    (Tz::America__Cayenne, "973"),
    (Tz::America__Miquelon, "975"),
];

fn rules() -> Vec<(Recurrence, Tz, &'static str)> {
    let all = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
    (0..RULES)
        .map(|i| {
            let start_hour = [8, 12, 17, 18, 22][i % 5];
            let length_minutes = [30, 60, 120, 240, 660][i % 5];
            let start = NaiveTime::from_hms_opt(start_hour, 0, 0).unwrap();
            let end = start + chrono::Duration::minutes(length_minutes);
            let weekdays = match i % 3 {
                0 => all[..5].to_vec(),
                1 => all[5..].to_vec(),
                _ => all.to_vec(),
            };
            let rule = Recurrence {
                weekdays,
                start_time: start,
                end_time: end,
                slot_minutes: [15, 20, 30][i % 3],
                valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                valid_until: None,
                public_holidays: [HolidayPolicy::Skip, HolidayPolicy::Include, HolidayPolicy::Only][i % 3],
                season: (i % 4 == 0)
                    .then_some(Season { from: MonthDay { month: 11, day: 1 }, to: MonthDay { month: 3, day: 31 } }),
            };
            let (zone, departement) = ZONES[i % ZONES.len()];
            (rule, zone, departement)
        })
        .collect()
}

fn expansion(c: &mut Criterion) {
    let rules = rules();
    let from = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(); // over Christmas and the new year
    let to = from + chrono::Duration::days(13);
    let total: usize = rules
        .iter()
        .map(|(rule, zone, departement)| rule.expand(*zone, &mut HolidayCalendar::new(departement), from, to).len())
        .sum();
    eprintln!("{RULES} rules over 14 days yield {total} slots per iteration");
    let mut group = c.benchmark_group("expansion");
    group.throughput(Throughput::Elements(RULES as u64));
    group.sample_size(10);
    group.bench_function("60k_rules_14_days", |b| {
        b.iter(|| {
            let mut slots = 0;
            for (rule, zone, departement) in &rules {
                // As the horizon job does: one holiday calendar per rule's expansion.
                let mut holidays = HolidayCalendar::new(departement);
                slots += rule.expand(*zone, &mut holidays, from, to).len();
            }
            black_box(slots)
        })
    });
    group.finish();
}

criterion_group!(benches, expansion);
criterion_main!(benches);
