//! Professionals: who they are (RPPS/ADELI), what they do (profession, skills), where (practices), and what they
//! accept (new patients, an extra patient beyond their slots, home visits within a radius).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::catalogue::Catalogue;
use super::identifiers::{Adeli, Rpps};
use super::practice::Practice;
use super::slot::Modality;
use super::{Error, Validator, phone, present, required_text};

/// What a client sends to create a professional.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfessionalInput {
    /// 11-digit RPPS number (Luhn check digit); exactly one of `rpps` and `adeli`.
    #[serde(default)]
    pub rpps: Option<String>,
    /// 9-digit ADELI number, for professions still registered there.
    #[serde(default)]
    pub adeli: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// A profession of the catalogue: gp, midwife, physio, nurse, dentist, pharmacist, …
    pub profession: String,
    #[serde(default)]
    pub skills: Vec<String>,
    pub practice_ids: Vec<String>,
    #[serde(default = "yes")]
    pub accepts_new_patients: bool,
    #[serde(default)]
    pub accepts_overbooking: bool,
    /// How far the professional travels for home visits, in km (1–100).
    #[serde(default)]
    pub home_visit_radius_km: Option<f64>,
    /// Youngest patient the professional sees, in months (optional).
    #[serde(default)]
    pub min_patient_age_months: Option<u32>,
    /// Age limit in months, exclusive (optional): 216 means "under 18".
    #[serde(default)]
    pub max_patient_age_months: Option<u32>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq)]
pub struct Professional {
    pub id: String,
    pub rpps: Option<String>,
    pub adeli: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub profession: String,
    pub skills: Vec<String>,
    pub practice_ids: Vec<String>,
    pub accepts_new_patients: bool,
    pub accepts_overbooking: bool,
    pub home_visit_radius_km: Option<f64>,
    pub min_patient_age_months: Option<u32>,
    pub max_patient_age_months: Option<u32>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set while the professional is out of the directory's offer (never deleted: bookings name them).
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// What a client sends to change a professional: only the fields present change; `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfessionalPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub rpps: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub adeli: Option<Option<String>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub profession: Option<String>,
    pub skills: Option<Vec<String>>,
    /// The full list of practices (free slots at a practice left are withdrawn).
    pub practice_ids: Option<Vec<String>>,
    pub accepts_new_patients: Option<bool>,
    pub accepts_overbooking: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub home_visit_radius_km: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub min_patient_age_months: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub max_patient_age_months: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
}

impl Professional {
    /// Validates the input against the catalogue. Whether the practices exist is the caller's check (it needs
    /// the store); the ids are only de-duplicated here.
    pub fn create(
        id: String,
        input: ProfessionalInput,
        catalogue: &Catalogue,
        now: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let mut v = Validator::new();
        let first_name = v.check("first_name", required_text(&input.first_name, 100));
        let last_name = v.check("last_name", required_text(&input.last_name, 100));
        let profession = v.check("profession", catalogue.profession(&input.profession));
        let (rpps, adeli) = check_identifier(&mut v, &input, profession.map(|p| p.adeli_allowed));
        let mut skills = Vec::new();
        for (i, skill) in input.skills.iter().enumerate() {
            if profession.is_some()
                && v.check(&format!("skills[{i}]"), catalogue.check_skill(skill, &input.profession)).is_some()
                && !skills.contains(skill)
            {
                skills.push(skill.clone());
            }
        }
        skills.sort();
        let mut practice_ids: Vec<String> = Vec::new();
        if input.practice_ids.is_empty() {
            v.push("practice_ids", "a professional works in at least one practice");
        }
        for pid in &input.practice_ids {
            if !practice_ids.contains(pid) {
                practice_ids.push(pid.clone());
            }
        }
        if let Some(radius) = input.home_visit_radius_km
            && !(radius.is_finite() && (1.0..=100.0).contains(&radius))
        {
            v.push("home_visit_radius_km", "must be between 1 and 100 km");
        }
        if input.min_patient_age_months.is_some_and(|m| m > 1500) {
            v.push("min_patient_age_months", "must be at most 1500 months");
        }
        match (input.min_patient_age_months, input.max_patient_age_months) {
            (_, Some(max)) if max == 0 || max > 1500 => {
                v.push("max_patient_age_months", "must be between 1 and 1500 months")
            }
            (Some(min), Some(max)) if min >= max => {
                v.push("max_patient_age_months", "must be greater than min_patient_age_months")
            }
            _ => {}
        }
        let email = match input.email.as_deref() {
            Some(raw) => v.check("email", check_email(raw)).map(Some),
            None => Some(None),
        };
        let phone = match input.phone.as_deref() {
            Some(raw) => v.check("phone", phone::normalize(raw)).map(Some),
            None => Some(None),
        };
        v.finish()?;
        Ok(Professional {
            id,
            rpps,
            adeli,
            first_name: first_name.unwrap(),
            last_name: last_name.unwrap(),
            profession: input.profession,
            skills,
            practice_ids,
            accepts_new_patients: input.accepts_new_patients,
            accepts_overbooking: input.accepts_overbooking,
            home_visit_radius_km: input.home_visit_radius_km,
            min_patient_age_months: input.min_patient_age_months,
            max_patient_age_months: input.max_patient_age_months,
            email: email.unwrap(),
            phone: phone.unwrap(),
            created_at: now,
            deactivated_at: None,
        })
    }

    /// The professional with a change applied, validated as a whole like a new one (practices' existence is the
    /// caller's check, as for creation).
    pub fn edit(&self, patch: ProfessionalPatch, catalogue: &Catalogue) -> Result<Self, Error> {
        let input = ProfessionalInput {
            rpps: patch.rpps.unwrap_or_else(|| self.rpps.clone()),
            adeli: patch.adeli.unwrap_or_else(|| self.adeli.clone()),
            first_name: patch.first_name.unwrap_or_else(|| self.first_name.clone()),
            last_name: patch.last_name.unwrap_or_else(|| self.last_name.clone()),
            profession: patch.profession.unwrap_or_else(|| self.profession.clone()),
            skills: patch.skills.unwrap_or_else(|| self.skills.clone()),
            practice_ids: patch.practice_ids.unwrap_or_else(|| self.practice_ids.clone()),
            accepts_new_patients: patch.accepts_new_patients.unwrap_or(self.accepts_new_patients),
            accepts_overbooking: patch.accepts_overbooking.unwrap_or(self.accepts_overbooking),
            home_visit_radius_km: patch.home_visit_radius_km.unwrap_or(self.home_visit_radius_km),
            min_patient_age_months: patch.min_patient_age_months.unwrap_or(self.min_patient_age_months),
            max_patient_age_months: patch.max_patient_age_months.unwrap_or(self.max_patient_age_months),
            email: patch.email.unwrap_or_else(|| self.email.clone()),
            phone: patch.phone.unwrap_or_else(|| self.phone.clone()),
        };
        let edited = Professional::create(self.id.clone(), input, catalogue, self.created_at)?;
        Ok(Professional { deactivated_at: self.deactivated_at, ..edited })
    }

    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }

    /// Why this professional cannot offer slots of this modality at this practice (slots and rules alike):
    /// `(field, message)` pairs, empty when they can.
    pub fn publishing_obstacles(&self, practice: &Practice, modality: Modality) -> Vec<(&'static str, &'static str)> {
        let mut obstacles = Vec::new();
        if !self.is_active() {
            obstacles.push(("professional_id", "this professional is deactivated"));
        }
        if !practice.is_active() {
            obstacles.push(("practice_id", "this practice is deactivated"));
        }
        if !self.practice_ids.contains(&practice.id) {
            obstacles.push(("practice_id", "this professional does not work at this practice"));
        }
        if modality == Modality::HomeVisit && self.home_visit_radius_km.is_none() {
            obstacles.push(("modality", "this professional has no home-visit radius (home_visit_radius_km)"));
        }
        obstacles
    }

    /// Whether the professional sees a patient of this age (months).
    pub fn sees_age(&self, months: i32) -> bool {
        self.min_patient_age_months.is_none_or(|min| months >= min as i32)
            && self.max_patient_age_months.is_none_or(|max| months < max as i32)
    }

    /// "Dr Claire Martin" style display name is left to templates; this is the neutral form.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// Exactly one of RPPS and ADELI; ADELI only where the profession allows it.
fn check_identifier(
    v: &mut Validator,
    input: &ProfessionalInput,
    adeli_allowed: Option<bool>,
) -> (Option<String>, Option<String>) {
    match (&input.rpps, &input.adeli) {
        (Some(_), Some(_)) => {
            v.push("adeli", "give either an RPPS or an ADELI number, not both");
            (None, None)
        }
        (None, None) => {
            v.push("rpps", "an RPPS number (or, for some professions, an ADELI number) is required");
            (None, None)
        }
        (Some(raw), None) => (v.check("rpps", Rpps::parse(raw)).map(|r| r.as_str().to_string()), None),
        (None, Some(raw)) => {
            if adeli_allowed == Some(false) {
                v.push("adeli", format!("{} are identified by their RPPS number, not ADELI", input.profession));
                return (None, None);
            }
            (None, v.check("adeli", Adeli::parse(raw)).map(|a| a.as_str().to_string()))
        }
    }
}

/// A pragmatic address check: one `@`, a dotted domain, no spaces. Deliverability is the mail server's call.
pub fn check_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    let valid = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid { Ok(email.to_string()) } else { Err(format!("{raw:?} is not an email address")) }
}
