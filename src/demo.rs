//! The demo territory seeded by `snp serve --demo` into an empty database: two real-looking areas — Le Havre
//! (Seine-Maritime, 76) and the Châtillonnais around Mussy-sur-Seine (Aube 10, Côte-d'Or 21) — with MSPs and
//! cabinets, professionals of every profession, free one-off slots over the next 7 days in local time
//! (lunchtime, evening and weekend ones), recurring rules (GP lunchtime SNP slots, a bronchiolitis on-call rota
//! for two physios on weekends and public holidays in season, midwives' late-afternoon slots) materialised over
//! the horizon, and one API key per role, printed once.
//!
//! Coordinates are approximate town centres; names of people are invented; RPPS numbers are made valid with
//! their Luhn digit but belong to nobody.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use crate::api_keys::{KeyRequest, issue};
use crate::availability::horizon_slots;
use crate::config::Settings;
use crate::domain::access::Role;
use crate::domain::availability::{AvailabilityRule, RuleInput, SeasonInput};
use crate::domain::identifiers::with_luhn_check_digit;
use crate::domain::practice::{Practice, PracticeInput, PracticeKind};
use crate::domain::professional::{Professional, ProfessionalInput};
use crate::domain::recurrence::HolidayPolicy;
use crate::domain::slot::{Modality, Slot, Visibility};
use crate::store::Store;

struct DemoPractice {
    name: &'static str,
    kind: PracticeKind,
    address: &'static str,
    postal_code: &'static str,
    commune: &'static str,
    departement: &'static str,
    lat: f64,
    lon: f64,
    phone: &'static str,
}

const PRACTICES: &[DemoPractice] = &[
    DemoPractice {
        name: "MSP de Caucriauville",
        kind: PracticeKind::Msp,
        address: "12 rue Jules Vallès",
        postal_code: "76610",
        commune: "Le Havre",
        departement: "76",
        lat: 49.5107,
        lon: 0.1632,
        phone: "02 35 47 10 10",
    },
    DemoPractice {
        name: "Cabinet médical de Sanvic",
        kind: PracticeKind::Cabinet,
        address: "48 rue Louis Blanc",
        postal_code: "76620",
        commune: "Le Havre",
        departement: "76",
        lat: 49.5012,
        lon: 0.0951,
        phone: "02 35 46 22 31",
    },
    DemoPractice {
        name: "MSP d'Harfleur",
        kind: PracticeKind::Msp,
        address: "3 place Victor Hugo",
        postal_code: "76700",
        commune: "Harfleur",
        departement: "76",
        lat: 49.5066,
        lon: 0.1980,
        phone: "02 35 45 40 12",
    },
    DemoPractice {
        name: "Cabinet de kinésithérapie de Montivilliers",
        kind: PracticeKind::Cabinet,
        address: "15 rue René Coty",
        postal_code: "76290",
        commune: "Montivilliers",
        departement: "76",
        lat: 49.5450,
        lon: 0.1880,
        phone: "02 35 30 18 44",
    },
    DemoPractice {
        name: "Cabinet de sages-femmes de Sainte-Adresse",
        kind: PracticeKind::Cabinet,
        address: "7 rue Reine Elisabeth",
        postal_code: "76310",
        commune: "Sainte-Adresse",
        departement: "76",
        lat: 49.5086,
        lon: 0.0847,
        phone: "02 35 54 61 08",
    },
    DemoPractice {
        name: "Centre de santé de Gonfreville-l'Orcher",
        kind: PracticeKind::CentreDeSante,
        address: "1 rue Jean Jaurès",
        postal_code: "76700",
        commune: "Gonfreville-l'Orcher",
        departement: "76",
        lat: 49.5050,
        lon: 0.2330,
        phone: "02 35 13 16 00",
    },
    DemoPractice {
        name: "Cabinet infirmier d'Octeville-sur-Mer",
        kind: PracticeKind::Cabinet,
        address: "22 rue Gustave Flaubert",
        postal_code: "76930",
        commune: "Octeville-sur-Mer",
        departement: "76",
        lat: 49.5560,
        lon: 0.1110,
        phone: "02 35 46 70 27",
    },
    DemoPractice {
        name: "MSP de Mussy-sur-Seine",
        kind: PracticeKind::Msp,
        address: "2 rue du Pont",
        postal_code: "10250",
        commune: "Mussy-sur-Seine",
        departement: "10",
        lat: 47.9786,
        lon: 4.4997,
        phone: "03 25 38 40 40",
    },
    DemoPractice {
        name: "MSP du Châtillonnais",
        kind: PracticeKind::Msp,
        address: "5 rue de la Libération",
        postal_code: "21400",
        commune: "Châtillon-sur-Seine",
        departement: "21",
        lat: 47.8583,
        lon: 4.5733,
        phone: "03 80 91 12 50",
    },
    DemoPractice {
        name: "ESP du Pays Laignois",
        kind: PracticeKind::Esp,
        address: "9 place du Marché",
        postal_code: "21330",
        commune: "Laignes",
        departement: "21",
        lat: 47.8400,
        lon: 4.3630,
        phone: "03 80 81 41 02",
    },
    DemoPractice {
        name: "Cabinet de kinésithérapie de Bar-sur-Seine",
        kind: PracticeKind::Cabinet,
        address: "31 rue Gambetta",
        postal_code: "10110",
        commune: "Bar-sur-Seine",
        departement: "10",
        lat: 48.1131,
        lon: 4.3756,
        phone: "03 25 29 81 17",
    },
    DemoPractice {
        name: "Cabinet infirmier de Recey-sur-Ource",
        kind: PracticeKind::Cabinet,
        address: "4 Grande Rue",
        postal_code: "21290",
        commune: "Recey-sur-Ource",
        departement: "21",
        lat: 47.7820,
        lon: 4.8620,
        phone: "03 80 81 03 55",
    },
];

/// (first name, last name, profession, skills, practice indexes)
type DemoPro = (&'static str, &'static str, &'static str, &'static [&'static str], &'static [usize]);

const PROFESSIONALS: &[DemoPro] = &[
    ("Claire", "Lefebvre", "gp", &["gynaecology"], &[0]),
    ("Thomas", "Duval", "gp", &[], &[0]),
    ("Nadia", "Benali", "gp", &["ivg"], &[1]),
    ("Julien", "Marchand", "gp", &["paediatrics"], &[2]),
    ("Sophie", "Lemaire", "gp", &[], &[5]),
    ("Marc", "Girard", "gp", &[], &[7]),
    ("Hélène", "Roussel", "gp", &[], &[8]),
    ("Patrick", "Charpentier", "gp", &[], &[9]),
    ("Élodie", "Vasseur", "midwife", &["ivg", "gynaecology"], &[4]),
    ("Camille", "Hébert", "midwife", &[], &[4, 0]),
    ("Laure", "Poulain", "midwife", &[], &[8]),
    ("Antoine", "Lebrun", "physio", &["bronchiolitis"], &[3]),
    ("Manon", "Delamare", "physio", &["bronchiolitis", "paediatrics"], &[3]),
    ("Yannick", "Legros", "physio", &[], &[3]),
    ("Inès", "Caron", "physio", &["bronchiolitis"], &[2]),
    ("Bruno", "Thiébaut", "physio", &[], &[10]),
    ("Pauline", "Mercier", "physio", &["bronchiolitis"], &[10, 7]),
    ("Olivier", "Renaud", "physio", &[], &[8]),
    ("Sandrine", "Leroux", "nurse", &[], &[6]),
    ("Karim", "Haddad", "nurse", &["ipa"], &[6, 0]),
    ("Virginie", "Lecomte", "nurse", &[], &[5]),
    ("Stéphanie", "Morel", "nurse", &[], &[11]),
    ("Damien", "Perrin", "nurse", &[], &[7]),
    ("Aurélie", "Guillot", "nurse", &["paediatrics"], &[9]),
    ("François", "Lemoine", "dentist", &[], &[1]),
    ("Isabelle", "Fontaine", "dentist", &[], &[8]),
    ("Mathieu", "Bertin", "pharmacist", &[], &[2]),
    ("Gaëlle", "Jacquot", "pharmacist", &[], &[9]),
    ("Lucas", "Dumont", "gp", &[], &[2]),
    ("Chloé", "Blanchard", "physio", &["bronchiolitis"], &[0]),
    ("Rémi", "Collin", "nurse", &[], &[2]),
    ("Anne", "Bouvier", "midwife", &[], &[7]),
];

/// One recurring window of a profession's demo week: weekdays, local start, number of slots, minutes each.
struct Window {
    days: &'static [Weekday],
    start: (u32, u32),
    count: u32,
    minutes: i64,
    modality: Modality,
    visibility: Visibility,
}

const WEEKDAYS: &[Weekday] = &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
const WEEKEND: &[Weekday] = &[Weekday::Sat, Weekday::Sun];
const EVERY_DAY: &[Weekday] =
    &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// Physios on the bronchiolitis on-call rota (indexes in `PROFESSIONALS`): their weekends come from a rule.
const ROTA_PHYSIOS: [usize; 2] = [11, 16];

fn windows(profession: &str, skills: &[&str], on_rota: bool) -> Vec<Window> {
    use Modality::*;
    use Visibility::*;
    let w = |days, start, count, minutes, modality, visibility| Window {
        days,
        start,
        count,
        minutes,
        modality,
        visibility,
    };
    match profession {
        "gp" => vec![
            w(WEEKDAYS, (12, 0), 2, 15, InPerson, Regulation),
            w(WEEKDAYS, (18, 30), 4, 15, InPerson, Regulation),
            w(&[Weekday::Sat], (9, 0), 4, 20, InPerson, Public),
            w(&[Weekday::Wed], (20, 0), 2, 15, Teleconsultation, Regulation),
        ],
        "midwife" => vec![
            w(WEEKDAYS, (14, 0), 3, 30, InPerson, Regulation),
            w(&[Weekday::Sat], (10, 0), 2, 30, InPerson, Public),
        ],
        "physio" if on_rota => vec![w(WEEKDAYS, (18, 0), 2, 30, InPerson, Regulation)],
        "physio" if skills.contains(&"bronchiolitis") => {
            vec![w(WEEKEND, (9, 0), 6, 30, InPerson, Regulation), w(WEEKDAYS, (18, 0), 2, 30, InPerson, Regulation)]
        }
        "physio" => vec![w(WEEKDAYS, (17, 30), 2, 30, InPerson, Public)],
        "nurse" => {
            vec![w(EVERY_DAY, (7, 30), 3, 20, HomeVisit, Regulation), w(WEEKDAYS, (19, 0), 2, 20, InPerson, Public)]
        }
        "dentist" => vec![
            w(WEEKDAYS, (17, 0), 2, 30, InPerson, Regulation),
            w(&[Weekday::Sun], (9, 0), 4, 30, InPerson, Regulation),
        ],
        _ => vec![w(WEEKDAYS, (11, 0), 2, 15, Teleconsultation, Public)],
    }
}

/// Seeds the territory if the store has no practice yet; prints the API keys. Returns whether it seeded.
pub async fn seed_if_empty(store: &dyn Store, now: DateTime<Utc>, settings: &Settings) -> Result<bool, String> {
    if !store.is_empty().await.map_err(|e| e.to_string())? {
        println!("Demo: the database already has data; nothing seeded (keys printed at first seeding stay valid).");
        return Ok(false);
    }
    let practices = seed_practices(store, now).await?;
    let professionals = seed_professionals(store, now, settings, &practices).await?;
    let mut slot_count = 0;
    for (i, professional) in professionals.iter().enumerate() {
        let slots = week_of_slots(professional, &practices, now, ROTA_PHYSIOS.contains(&i));
        slot_count += slots.len();
        store.insert_slots(&slots).await.map_err(|e| format!("slots of {}: {e}", professional.display_name()))?;
    }
    let (rules, rule_slots) = seed_rules(store, now, settings, &professionals, &practices).await?;
    let keys = seed_keys(store, now, &professionals, &practices).await?;
    let users = seed_users(store, now, &professionals).await?;
    print_welcome(settings, practices.len(), professionals.len(), slot_count + rule_slots, rules, &keys, &users);
    Ok(true)
}

async fn seed_practices(store: &dyn Store, now: DateTime<Utc>) -> Result<Vec<Practice>, String> {
    let mut practices = Vec::new();
    for p in PRACTICES {
        let input = PracticeInput {
            name: p.name.into(),
            kind: p.kind,
            address: p.address.into(),
            postal_code: p.postal_code.into(),
            commune: p.commune.into(),
            departement: p.departement.into(),
            lat: p.lat,
            lon: p.lon,
            timezone: None,
            phone: Some(p.phone.into()),
        };
        let practice = Practice::create(uuid::Uuid::now_v7().to_string(), input, now).map_err(|e| e.to_string())?;
        store.insert_practice(&practice).await.map_err(|e| e.to_string())?;
        practices.push(practice);
    }
    Ok(practices)
}

async fn seed_professionals(
    store: &dyn Store,
    now: DateTime<Utc>,
    settings: &Settings,
    practices: &[Practice],
) -> Result<Vec<Professional>, String> {
    let catalogue = settings.catalogue();
    let mut professionals = Vec::new();
    for (i, (first, last, profession, skills, practice_indexes)) in PROFESSIONALS.iter().enumerate() {
        let input = ProfessionalInput {
            rpps: Some(with_luhn_check_digit(&format!("1010{:06}", 4217 + i * 37))),
            adeli: None,
            first_name: (*first).into(),
            last_name: (*last).into(),
            profession: (*profession).into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            practice_ids: practice_indexes.iter().map(|&p| practices[p].id.clone()).collect(),
            accepts_new_patients: i % 4 != 0,
            accepts_overbooking: i % 3 == 0,
            home_visit_radius_km: matches!(*profession, "nurse" | "gp").then_some(if i % 2 == 0 { 10.0 } else { 15.0 }),
            // The paediatric physio sees children only.
            min_patient_age_months: None,
            max_patient_age_months: (i == 12).then_some(216),
            email: Some(format!("{}.{}@demo.snp.test", ascii_lower(first), ascii_lower(last))),
            phone: Some(format!("06 {:02} {:02} {:02} {:02}", 10 + i, 20 + i, 30 + i, 40 + i)),
        };
        let professional = Professional::create(uuid::Uuid::now_v7().to_string(), input, &catalogue, now)
            .map_err(|e| e.to_string())?;
        store.insert_professional(&professional).await.map_err(|e| e.to_string())?;
        professionals.push(professional);
    }
    Ok(professionals)
}

fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'é' | 'è' | 'ë' | 'É' => 'e',
            'ï' | 'î' => 'i',
            'ç' => 'c',
            other => other.to_ascii_lowercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Free slots of the next 7 local days, at the professional's first practice, from 15 minutes from now.
fn week_of_slots(professional: &Professional, practices: &[Practice], now: DateTime<Utc>, on_rota: bool) -> Vec<Slot> {
    let practice = practices.iter().find(|p| p.id == professional.practice_ids[0]).expect("seeded practice");
    let zone = practice.timezone;
    let today = now.with_timezone(&zone).date_naive();
    let skills: Vec<&str> = professional.skills.iter().map(String::as_str).collect();
    let mut slots = Vec::new();
    for offset in 0..7 {
        let day = today + Duration::days(offset);
        for window in windows(&professional.profession, &skills, on_rota) {
            if !window.days.contains(&day.weekday()) {
                continue;
            }
            let Some(first_start) = local_instant(zone, day, window.start) else { continue };
            for k in 0..window.count {
                let start = first_start + Duration::minutes(window.minutes * i64::from(k));
                if start < now + Duration::minutes(15) {
                    continue;
                }
                let end = start + Duration::minutes(window.minutes);
                let id = uuid::Uuid::now_v7().to_string();
                slots.push(Slot {
                    modality: window.modality,
                    visibility: window.visibility,
                    ..Slot::free(id, &professional.id, &practice.id, zone, start, end, now)
                });
            }
        }
    }
    slots
}

/// A local wall-clock time as an instant; `None` when that time does not exist (spring-forward gap).
fn local_instant(zone: Tz, day: NaiveDate, (hour, minute): (u32, u32)) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(hour, minute, 0)?;
    zone.from_local_datetime(&day.and_time(time)).earliest().map(|t| t.with_timezone(&Utc))
}

/// The demo's recurring rules; returns how many rules and how many slots they produced.
async fn seed_rules(
    store: &dyn Store,
    now: DateTime<Utc>,
    settings: &Settings,
    professionals: &[Professional],
    practices: &[Practice],
) -> Result<(usize, usize), String> {
    let today = now.with_timezone(&chrono_tz::Tz::Europe__Paris).date_naive().format("%Y-%m-%d").to_string();
    let rule =
        |who: usize, weekdays: &[&str], start: &str, end: &str, minutes: i64, holidays: HolidayPolicy, season: bool| {
            let professional = &professionals[who];
            RuleInput {
                professional_id: professional.id.clone(),
                practice_id: professional.practice_ids[0].clone(),
                weekdays: weekdays.iter().map(|d| d.to_string()).collect(),
                start_time: start.into(),
                end_time: end.into(),
                slot_minutes: minutes,
                modality: Modality::InPerson,
                visibility: Visibility::Regulation,
                valid_from: today.clone(),
                valid_until: None,
                public_holidays: holidays,
                season: season.then(|| SeasonInput { from: "11-01".into(), to: "03-31".into() }),
            }
        };
    let weekdays = ["mon", "tue", "wed", "thu", "fri"];
    let mut inputs = Vec::new();
    // GP lunchtime SNP slots: "weekdays 12:30–13:00, two 15-minute slots".
    for gp in [0, 1, 2, 3, 4] {
        inputs.push(rule(gp, &weekdays, "12:30", "13:00", 15, HolidayPolicy::Skip, false));
    }
    // Bronchiolitis on-call rota: weekends and public holidays 08:00–19:00, 30-minute slots, November to March.
    for physio in ROTA_PHYSIOS {
        inputs.push(rule(physio, &["sat", "sun"], "08:00", "19:00", 30, HolidayPolicy::Include, true));
    }
    // Midwives' late-afternoon slots.
    for midwife in [8, 9, 10, 31] {
        inputs.push(rule(midwife, &weekdays, "17:00", "18:00", 30, HolidayPolicy::Skip, false));
    }
    let mut created = 0;
    for input in &inputs {
        let rule =
            AvailabilityRule::create(uuid::Uuid::now_v7().to_string(), input.clone(), &settings.slot_rules(), now)
                .map_err(|e| e.to_string())?;
        let practice = practices.iter().find(|p| p.id == rule.practice_id).expect("seeded practice");
        let (slots, _) = horizon_slots(&rule, practice, now, settings.availability.horizon_days);
        let outcome = store.insert_rule(&rule, &slots).await.map_err(|e| e.to_string())?;
        created += outcome.iter().filter(|o| o.is_none()).count();
    }
    Ok((inputs.len(), created))
}

struct DemoKey {
    role: Role,
    who: String,
    secret: String,
}

async fn seed_keys(
    store: &dyn Store,
    now: DateTime<Utc>,
    professionals: &[Professional],
    practices: &[Practice],
) -> Result<Vec<DemoKey>, String> {
    let gp = &professionals[0];
    let requests = [
        (Role::Admin, "Administrateur démo".to_string(), None, vec![]),
        (Role::Coordinator, "Coordination CPTS Le Havre".to_string(), None, vec![]),
        (Role::Regulator, "SAS 76 — poste de régulation".to_string(), None, vec![]),
        (Role::Professional, format!("Dr {}", gp.display_name()), Some(gp.id.clone()), vec![]),
        (Role::Publisher, format!("Logiciel d'agenda — {}", practices[0].name), None, vec![practices[0].id.clone()]),
    ];
    let mut keys = Vec::new();
    for (role, name, professional_id, practice_ids) in requests {
        let request = KeyRequest { role, name: name.clone(), professional_id, practice_ids };
        let issued = issue(store, request, now).await.map_err(|e| e.to_string())?;
        keys.push(DemoKey { role, who: name, secret: issued.secret.expose().to_string() });
    }
    Ok(keys)
}

/// A console login of the demo, with its password (printed once).
struct DemoUser {
    role: Role,
    email: String,
    password: String,
}

/// One console user per role a person logs in with; the professional is the first GP.
async fn seed_users(
    store: &dyn Store,
    now: DateTime<Utc>,
    professionals: &[Professional],
) -> Result<Vec<DemoUser>, String> {
    let gp = &professionals[0];
    let logins = [
        (Role::Admin, "admin@demo.snp.invalid", None),
        (Role::Coordinator, "coordination@demo.snp.invalid", None),
        (Role::Regulator, "regulation@demo.snp.invalid", None),
        (Role::Professional, "medecin@demo.snp.invalid", Some(gp.id.clone())),
    ];
    let mut users = Vec::new();
    for (role, email, professional_id) in logins {
        let password = crate::accounts::generated_password().map_err(|e| e.to_string())?;
        let request =
            crate::accounts::UserRequest { email: email.into(), role, professional_id, password: password.clone() };
        crate::accounts::create_user_by_system(store, request, now).await.map_err(|e| e.to_string())?;
        users.push(DemoUser { role, email: email.into(), password });
    }
    Ok(users)
}

fn print_logins(settings: &Settings, users: &[DemoUser]) {
    println!("Console logins at http://{}/console — passwords shown this once:", settings.http.bind);
    for user in users {
        println!("  {:<12} {:<32} {}", user.role.as_str(), user.email, user.password);
    }
    println!();
}

fn print_welcome(
    settings: &Settings,
    practices: usize,
    professionals: usize,
    slots: usize,
    rules: usize,
    keys: &[DemoKey],
    users: &[DemoUser],
) {
    println!();
    println!(
        "Demo territory seeded: {practices} practices, {professionals} professionals, {rules} recurring rules, {slots} free slots"
    );
    println!("(Le Havre 76; Mussy-sur-Seine 10 and the Châtillonnais 21).");
    println!();
    println!("API keys — shown this once, only their digests are stored:");
    for key in keys {
        println!("  {:<12} {:<45} {}", key.role.as_str(), key.who, key.secret);
    }
    println!();
    print_logins(settings, users);
    let regulator = keys.iter().find(|k| k.role == Role::Regulator).map(|k| k.secret.as_str()).unwrap_or_default();
    println!(
        "Try:  curl -H 'Authorization: Bearer {regulator}' http://{}/api/v1/slots?status=free",
        settings.http.bind
    );
    println!();
}
