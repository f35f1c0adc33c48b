//! A synthetic national territory, deterministic from a seed, for the benchmarks and the load benchmark: every
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
use crate::routing::radius::{RadiusRow, RadiusTable};

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

/// The practices and professionals of a territory, without their slots: those are drawn per professional by
/// [`Territory::slots_of`], so a national week (≈ 1.4 M slots) can be streamed instead of held in memory.
pub struct Territory {
    pub practices: Vec<Practice>,
    pub professionals: Vec<Professional>,
    seed: u64,
}

/// The professions' shares of the generated professionals (a third of physios have the bronchiolitis skill).
const PROFESSIONS: &[(&str, f64)] =
    &[("gp", 0.40), ("nurse", 0.25), ("physio", 0.18), ("midwife", 0.07), ("dentist", 0.10)];

/// Generates `professionals` professionals (≈ 3 per practice) with slots over `days` days from `now`.
pub fn generate(seed: u64, professionals: usize, days: i64, now: DateTime<Utc>) -> Dataset {
    let territory = Territory::generate(seed, professionals, now);
    let slots = (0..professionals).flat_map(|i| territory.slots_of(i, days, now)).collect();
    Dataset { practices: territory.practices, professionals: territory.professionals, slots }
}

/// How many practices a département gets, relatively. The SAS sized each radius so that a search reaches
/// enough professionals: density goes as 1 / radius², and a département's share as its area / radius²
/// (Rhône 130, Gironde 102, Lozère 2). Every département keeps at least one practice once there are enough.
fn weight(row: &RadiusRow) -> f64 {
    row.area_km2 / (row.default_radius_km * row.default_radius_km)
}

impl Territory {
    pub fn generate(seed: u64, professionals: usize, now: DateTime<Utc>) -> Territory {
        let mut rng = Rng::new(seed);
        let table = RadiusTable::official();
        let mut departements: Vec<&RadiusRow> = table.rows().filter(|r| r.barycentre.is_some()).collect();
        departements.sort_by(|a, b| a.departement.cmp(&b.departement));
        let weights: Vec<f64> = departements.iter().map(|r| weight(r)).collect();
        let total: f64 = weights.iter().sum();
        let practice_count = professionals.div_ceil(3);
        let practices = (0..practice_count)
            .map(|i| {
                // One practice per département first (when there are enough), then by weight.
                let index = if practice_count >= departements.len() && i < departements.len() {
                    i
                } else {
                    pick(&weights, rng.unit() * total)
                };
                practice(i, departements[index], &mut rng, now)
            })
            .collect::<Vec<_>>();
        let people =
            (0..professionals).map(|i| professional(i, &practices[i % practices.len()], &mut rng, now)).collect();
        Territory { practices, professionals: people, seed }
    }

    /// The free slots of professional `index` over `days` days from `now`, in their practice's local time:
    /// about 24 a week (lunchtime, evening and a few at weekends), none before `now`. The same for the same
    /// seed, whatever the order in which professionals are asked for.
    pub fn slots_of(&self, index: usize, days: i64, now: DateTime<Utc>) -> Vec<Slot> {
        let p = &self.professionals[index];
        let practice = &self.practices[index % self.practices.len()];
        let mut rng = Rng::new(self.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        week_of(p, practice, days, now, &mut rng)
    }
}

/// The index of the weight that `point` (in `[0, sum of weights)`) falls in.
fn pick(weights: &[f64], mut point: f64) -> usize {
    for (index, weight) in weights.iter().enumerate() {
        if point < *weight {
            return index;
        }
        point -= weight;
    }
    weights.len() - 1
}

/// A practice in the département's disc (the disc of its area), denser towards the barycentre as populations
/// are: the distance is uniform, so the density falls as 1 / distance.
fn practice(i: usize, row: &RadiusRow, rng: &mut Rng, now: DateTime<Utc>) -> Practice {
    let centre = row.barycentre.expect("filtered");
    let departement = Departement::parse(&row.departement).expect("table codes are valid");
    let zone: Tz = departement.default_timezone();
    let spread_km = (row.area_km2 / std::f64::consts::PI).sqrt();
    let distance = spread_km * rng.unit();
    let angle = rng.unit() * std::f64::consts::TAU;
    let lat = centre.lat + distance * angle.sin() / 110.574;
    let lon = centre.lon + distance * angle.cos() / (111.320 * centre.lat.to_radians().cos());
    Practice {
        id: format!("prac-{i:06}"),
        name: format!("Cabinet {i}"),
        kind: if i.is_multiple_of(4) { PracticeKind::Msp } else { PracticeKind::Cabinet },
        address: format!("{} rue de la Santé", 1 + i % 200),
        postal_code: postal_code(departement.as_str()),
        commune: row.name.clone(),
        departement: departement.as_str().to_string(),
        lat: lat.clamp(-90.0, 90.0),
        lon: lon.clamp(-180.0, 180.0),
        timezone: zone,
        phone: None,
        created_at: now,
        deactivated_at: None,
    }
}

/// The département's prefecture-style postal code: `76000`, `2A` → `20000`, `974` → `97400`.
fn postal_code(departement: &str) -> String {
    format!("{:0<5}", departement.replace(['A', 'B'], "0"))
}

fn professional(i: usize, practice: &Practice, rng: &mut Rng, now: DateTime<Utc>) -> Professional {
    let mut share = rng.unit();
    let profession = PROFESSIONS
        .iter()
        .find(|(_, s)| {
            share -= s;
            share < 0.0
        })
        .map_or("gp", |(p, _)| p);
    let skills = if profession == "physio" && i.is_multiple_of(3) { vec!["bronchiolitis".to_string()] } else { vec![] };
    Professional {
        id: format!("pro-{i:06}"),
        rpps: Some(with_luhn_check_digit(&format!("19{i:08}"))),
        adeli: None,
        first_name: "Camille".into(),
        last_name: format!("Praticien {i}"),
        profession: profession.to_string(),
        skills,
        practice_ids: vec![practice.id.clone()],
        accepts_new_patients: true,
        accepts_overbooking: i.is_multiple_of(10),
        home_visit_radius_km: (profession == "nurse").then_some(10.0),
        min_patient_age_months: None,
        max_patient_age_months: None,
        email: None,
        phone: None,
        created_at: now,
        deactivated_at: None,
    }
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
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap()
    }

    fn assert_no_overlap(slots: &[Slot]) {
        let mut by_professional: HashMap<&str, Vec<&Slot>> = HashMap::new();
        for s in slots {
            assert!(s.start > now() && s.end - s.start == Duration::minutes(15));
            by_professional.entry(&s.professional_id).or_default().push(s);
        }
        for slots in by_professional.values_mut() {
            slots.sort_by_key(|s| s.start);
            assert!(slots.windows(2).all(|w| w[0].end <= w[1].start), "no overlap");
        }
    }

    #[test]
    fn the_dataset_is_deterministic_and_without_overlaps() {
        let data = generate(3, 900, 7, now());
        assert_eq!(data.professionals.len(), 900);
        assert_eq!(data.practices.len(), 300);
        assert!(data.slots.len() > 900 * 20, "{}", data.slots.len());
        assert_eq!(generate(3, 900, 7, now()).slots, data.slots, "same seed, same dataset");
        assert_ne!(generate(4, 900, 7, now()).slots, data.slots, "another seed, another dataset");
        assert_no_overlap(&data.slots);
        let territory = Territory::generate(3, 900, now());
        assert_eq!(territory.slots_of(899, 7, now()), territory.slots_of(899, 7, now()), "order does not matter");
    }

    #[test]
    fn the_national_territory_covers_every_departement_with_its_zone_and_enough_slots() {
        let territory = Territory::generate(42, 60_000, now());
        assert_eq!((territory.practices.len(), territory.professionals.len()), (20_000, 60_000));
        let table = RadiusTable::official();
        let mut practices_per_departement: HashMap<&str, usize> = HashMap::new();
        for p in &territory.practices {
            *practices_per_departement.entry(p.departement.as_str()).or_default() += 1;
            assert_eq!(p.timezone, Departement::parse(&p.departement).unwrap().default_timezone());
            let row = table.get(&p.departement).unwrap();
            let centre = row.barycentre.unwrap();
            let km =
                crate::domain::geo::distance_km(centre, crate::domain::geo::Coordinates { lat: p.lat, lon: p.lon });
            // The disc is drawn on a flat approximation: 1 % of slack against the great-circle distance.
            assert!(km <= (row.area_km2 / std::f64::consts::PI).sqrt() * 1.01, "{} is {km} km out", p.id);
        }
        assert_eq!(practices_per_departement.len(), 101, "every département of the SAS table");
        let zones: HashSet<Tz> = territory.practices.iter().map(|p| p.timezone).collect();
        for zone in [
            Tz::Europe__Paris,
            Tz::America__Guadeloupe,
            Tz::America__Martinique,
            Tz::America__Cayenne,
            Tz::Indian__Reunion,
            Tz::Indian__Mayotte,
        ] {
            assert!(zones.contains(&zone), "{zone} included");
        }
        // Dense départements get more practices than wide rural ones.
        assert!(practices_per_departement["69"] > 10 * practices_per_departement["48"]);
        let professions: HashSet<&str> = territory.professionals.iter().map(|p| p.profession.as_str()).collect();
        assert_eq!(professions, HashSet::from(["gp", "nurse", "physio", "midwife", "dentist"]));
        let bronchiolitis = territory.professionals.iter().filter(|p| p.skills.contains(&"bronchiolitis".into()));
        assert!(bronchiolitis.count() > 3_000);
        let physios_without =
            territory.professionals.iter().filter(|p| p.profession == "physio" && p.skills.is_empty()).count();
        assert!(physios_without > 3_000);
        let mut slots = 0;
        for i in 0..territory.professionals.len() {
            let own = territory.slots_of(i, 7, now());
            if i % 97 == 0 {
                assert_no_overlap(&own);
            }
            slots += own.len();
        }
        assert!(slots >= 1_200_000, "{slots} free slots over 7 days");
    }
}
