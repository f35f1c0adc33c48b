//! The search engine alone, in memory (criterion): `cargo bench --bench ranking`. Builds the search index from
//! the national synthetic dataset of `snp::dataset` (60,000 professionals, 20,000 practices, ≈ 1.44 M slots over
//! 7 days, every département of the SAS table) without any database, then measures one search per reason —
//! gathering from the index, widening, ranking — from places near random practices, cycling over 200 places.
//! What a search costs beyond this (the journal replay, the statistics row, HTTP) is measured by the `search`
//! bench; the database's own naive query over the same rows is measured there too.

use std::collections::HashMap;
use std::hint::black_box;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use snp::dataset::{Rng, generate};
use snp::domain::geo::Coordinates;
use snp::domain::search::{BookableSlot, PracticeCard, ProfessionalCard, SearchSnapshot};
use snp::routing::index::SearchIndex;
use snp::routing::{Query, rank};

fn index_of_the_nation(now: chrono::DateTime<Utc>) -> (SearchIndex, Vec<Coordinates>) {
    let data = generate(42, 60_000, 7, now);
    let snapshot = SearchSnapshot {
        professionals: data
            .professionals
            .iter()
            .map(|p| ProfessionalCard {
                id: p.id.clone(),
                name: format!("{} {}", p.first_name, p.last_name),
                profession: p.profession.clone(),
                skills: p.skills.clone(),
                home_visit_radius_km: p.home_visit_radius_km,
                min_patient_age_months: p.min_patient_age_months,
                max_patient_age_months: p.max_patient_age_months,
                accepts_overbooking: p.accepts_overbooking,
            })
            .collect(),
        practices: data
            .practices
            .iter()
            .map(|p| PracticeCard {
                id: p.id.clone(),
                name: p.name.clone(),
                address: format!("{}, {} {}", p.address, p.postal_code, p.commune),
                phone: p.phone.clone(),
                location: Coordinates { lat: p.lat, lon: p.lon },
                departement: p.departement.clone(),
                timezone: p.timezone,
            })
            .collect(),
        links: data
            .professionals
            .iter()
            .flat_map(|p| p.practice_ids.iter().map(|practice| (p.id.clone(), practice.clone())))
            .collect(),
        slots: data
            .slots
            .iter()
            .map(|s| BookableSlot {
                id: s.id.as_str().into(),
                professional_id: s.professional_id.clone(),
                practice_id: s.practice_id.clone(),
                start: s.start,
                end: s.end,
                modality: s.modality,
                visibility: s.visibility,
                held_until: None,
            })
            .collect(),
        absences: Vec::new(),
        bookings: Vec::new(),
    };
    let mut index = SearchIndex::default();
    index.replace_all(snapshot);
    let mut rng = Rng::new(7);
    let places = (0..200)
        .map(|_| {
            let p = &data.practices[rng.below(data.practices.len())];
            Coordinates { lat: p.lat + 0.02, lon: p.lon - 0.02 }
        })
        .collect();
    (index, places)
}

/// (reason, profession, skills, delay in hours, patient's birth date)
type Reason = (&'static str, &'static str, &'static [&'static str], i64, Option<NaiveDate>);

/// The same week at two moments: a Wednesday morning, when most professionals have a slot within the hour,
/// and a Friday at 19:00 in Paris, when the next slots of most are the next morning (the time of day decides how
/// far out a search must read, so a fixed instant keeps runs comparable).
fn searches(c: &mut Criterion) {
    for (moment, now) in [
        ("Wednesday 10:00", Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()),
        ("Friday 19:00", Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap()),
    ] {
        searches_at(c, moment, now);
    }
}

fn searches_at(c: &mut Criterion, moment: &str, now: chrono::DateTime<Utc>) {
    let (index, places) = index_of_the_nation(now);
    let table = snp::routing::radius::RadiusTable::official();
    let reasons: &[Reason] = &[
        ("gp_unscheduled", "gp", &[], 48, None),
        ("bronchiolitis", "physio", &["bronchiolitis"], 24, NaiveDate::from_ymd_opt(2026, 4, 10)),
        ("midwife_unscheduled", "midwife", &[], 48, None),
        ("nursing_care", "nurse", &[], 24, None),
        ("dental_emergency", "dentist", &[], 24, None),
    ];
    let mut group = c.benchmark_group(format!("search in memory, national territory, {moment}"));
    for (name, profession, skills, hours, birth_date) in reasons {
        let mut next = 0usize;
        group.bench_function(*name, |b| {
            b.iter(|| {
                let location = places[next % places.len()];
                next += 1;
                // The département's default radius and step, as the API settles them.
                let row = table.nearest(location);
                let mut q = Query {
                    now,
                    professions: vec![profession.to_string()],
                    skills: skills.iter().map(|s| s.to_string()).collect(),
                    birth_date: *birth_date,
                    min_age_months: None,
                    max_age_months: None,
                    location: Some(location),
                    modality: None,
                    earliest: now + Duration::minutes(15),
                    latest: now + Duration::hours(*hours),
                    radius_km: row.map_or(30.0, |r| r.default_radius_km),
                    widening_step_km: Some(row.map_or(10.0, |r| r.enlargement_km)),
                    max_radius_km: 100.0,
                    min_professionals: 5,
                    usual_professional_id: None,
                    usual_practice_id: None,
                    prescription_required: false,
                    limit: 10,
                    max_per_professional: 2,
                    recent_bookings: HashMap::new(),
                };
                black_box(rank(&index, &mut q).ranked.len())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = searches
}
criterion_main!(benches);
