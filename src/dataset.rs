//! A synthetic national territory, deterministic from a seed, for benchmarks (and, later, load tests): every
//! département of the official SAS table with a barycentre, practices spread around it within its search radius,
//! professionals of every profession in proportion, and free slots over the coming days in local time.
//!
//! Nothing here is real: names are generated, RPPS numbers only pass the Luhn check.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::geo::Departement;
use crate::domain::identifiers::with_luhn_check_digit;
use crate::domain::practice::{Practice, PracticeKind};
use crate::domain::professional::Professional;
use crate::domain::slot::{Modality, Slot};
use crate::routing::radius::RadiusTable;

/// A small deterministic generator (xorshift64*): reproducible datasets without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

pub struct Dataset {
    pub practices: Vec<Practice>,
    pub professionals: Vec<Professional>,
    pub slots: Vec<Slot>,
}

/// The professions' shares of the generated professionals, and whether physios get the bronchiolitis skill.
const PROFESSIONS: &[(&str, f64)] =
    &[("gp", 0.40), ("nurse", 0.25), ("physio", 0.18), ("midwife", 0.07), ("dentist", 0.10)];

/// Generates `professionals` professionals (≈ 3 per practice) with slots over `days` days from `now`.
pub fn generate(seed: u64, professionals: usize, days: i64, now: DateTime<Utc>) -> Dataset {
    let mut rng = Rng::new(seed);
    let table = RadiusTable::official();
    let mut departements: Vec<_> = table.rows().filter(|r| r.barycentre.is_some()).collect();
    departements.sort_by(|a, b| a.departement.cmp(&b.departement));
    // Weight each département by its radius (rural ones are wide and sparse, cities narrow and dense: the radius
    // table already encodes that), which spreads professionals over the whole territory.
    let weights: Vec<f64> = departements.iter().map(|r| 1.0 + r.default_radius_km / 10.0).collect();
    let total: f64 = weights.iter().sum();
    let practice_count = professionals.div_ceil(3);
    let mut practices = Vec::with_capacity(practice_count);
    for i in 0..practice_count {
        let mut pick = rng.unit() * total;
        let mut index = 0;
        while pick > weights[index] && index + 1 < weights.len() {
            pick -= weights[index];
            index += 1;
        }
        let row = departements[index];
        let centre = row.barycentre.expect("filtered");
        let departement = Departement::parse(&row.departement).expect("table codes are valid");
        let zone: Tz = departement.default_timezone();
        // Uniform in a disc of the département's default radius around its barycentre.
        let distance = row.default_radius_km * 1.5 * rng.unit().sqrt();
        let angle = rng.unit() * std::f64::consts::TAU;
        let lat = centre.lat + distance * angle.sin() / 110.574;
        let lon = centre.lon + distance * angle.cos() / (111.320 * centre.lat.to_radians().cos());
        practices.push(Practice {
            id: format!("prac-{i:06}"),
            name: format!("Cabinet {i}"),
            kind: if i % 4 == 0 { PracticeKind::Msp } else { PracticeKind::Cabinet },
            address: format!("{} rue de la Santé", 1 + i % 200),
            postal_code: format!("{:0<5}", departement.as_str().replace(['A', 'B'], "0")),
            commune: row.name.clone(),
            departement: departement.as_str().to_string(),
            lat: lat.clamp(-90.0, 90.0),
            lon: lon.clamp(-180.0, 180.0),
            timezone: zone,
            phone: None,
            created_at: now,
            deactivated_at: None,
        });
    }
    let mut people = Vec::with_capacity(professionals);
    let mut slots = Vec::new();
    for i in 0..professionals {
        let practice = &practices[i % practices.len()];
        let mut share = rng.unit();
        let profession = PROFESSIONS
            .iter()
            .find(|(_, s)| {
                share -= s;
                share < 0.0
            })
            .map_or("gp", |(p, _)| p);
        let skills = if profession == "physio" && i % 3 == 0 { vec!["bronchiolitis".to_string()] } else { vec![] };
        let professional = Professional {
            id: format!("pro-{i:06}"),
            rpps: Some(with_luhn_check_digit(&format!("19{i:08}"))),
            adeli: None,
            first_name: "Camille".into(),
            last_name: format!("Praticien {i}"),
            profession: profession.to_string(),
            skills,
            practice_ids: vec![practice.id.clone()],
            accepts_new_patients: true,
            accepts_overbooking: i % 10 == 0,
            home_visit_radius_km: (profession == "nurse").then_some(10.0),
            min_patient_age_months: None,
            max_patient_age_months: None,
            email: None,
            phone: None,
            created_at: now,
            deactivated_at: None,
        };
        slots.extend(week_of(&professional, practice, days, now, &mut rng));
        people.push(professional);
    }
    Dataset { practices, professionals: people, slots }
}

/// About 24 slots per professional per week: lunchtime, evening and some weekend ones, in local time.
fn week_of(p: &Professional, practice: &Practice, days: i64, now: DateTime<Utc>, rng: &mut Rng) -> Vec<Slot> {
    let zone = practice.timezone;
    let today = now.with_timezone(&zone).date_naive();
    let mut slots = Vec::new();
    for d in 0..days {
        let day = today + Duration::days(d);
        let weekend = matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun);
        let windows: &[(u32, usize)] = if weekend { &[(9, 2)] } else { &[(12, 1), (18, 3)] };
        for (hour, count) in windows {
            let minute = 15 * rng.below(4) as u32;
            let Some(first) = zone
                .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(*hour, minute, 0).expect("valid")))
                .earliest()
            else {
                continue;
            };
            for k in 0..*count {
                let start = first.with_timezone(&Utc) + Duration::minutes(15 * k as i64);
                if start <= now {
                    continue;
                }
                let id = format!("{}-{}-{hour}-{k}", p.id, d);
                let end = start + Duration::minutes(15);
                slots.push(Slot {
                    modality: if p.profession == "nurse" { Modality::HomeVisit } else { Modality::InPerson },
                    ..Slot::free(id, &p.id, &practice.id, zone, start, end, now)
                });
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_is_deterministic_national_and_without_overlaps() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let data = generate(3, 900, 7, now);
        assert_eq!(data.professionals.len(), 900);
        assert_eq!(data.practices.len(), 300);
        assert!(data.slots.len() > 900 * 15, "{}", data.slots.len());
        assert_eq!(generate(3, 900, 7, now).slots, data.slots, "same seed, same dataset");
        let departements: std::collections::HashSet<&str> =
            data.practices.iter().map(|p| p.departement.as_str()).collect();
        assert!(departements.len() > 80, "spread over the territory: {}", departements.len());
        assert!(data.practices.iter().any(|p| p.timezone != Tz::Europe__Paris), "overseas zones included");
        for p in &data.practices {
            assert_eq!(p.timezone, Departement::parse(&p.departement).unwrap().default_timezone());
        }
        let mut by_professional: std::collections::HashMap<&str, Vec<&Slot>> = Default::default();
        for s in &data.slots {
            assert!(s.start > now && s.end - s.start == Duration::minutes(15));
            by_professional.entry(&s.professional_id).or_default().push(s);
        }
        for slots in by_professional.values_mut() {
            slots.sort_by_key(|s| s.start);
            assert!(slots.windows(2).all(|w| w[0].end <= w[1].start), "no overlap");
        }
    }
}
