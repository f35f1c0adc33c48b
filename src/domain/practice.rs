//! Practices: where professionals receive patients (solo cabinet, MSP/ESP team, health centre).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::geo::{Departement, check_latitude, check_longitude, parse_timezone};
use super::{Error, Validator, phone, present, required_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PracticeKind {
    /// Cabinet libéral (solo or group practice).
    Cabinet,
    /// Maison de santé pluriprofessionnelle.
    Msp,
    /// Équipe de soins primaires.
    Esp,
    /// Centre de santé.
    CentreDeSante,
}

impl PracticeKind {
    pub const ALL: [PracticeKind; 4] = [Self::Cabinet, Self::Msp, Self::Esp, Self::CentreDeSante];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cabinet => "cabinet",
            Self::Msp => "msp",
            Self::Esp => "esp",
            Self::CentreDeSante => "centre_de_sante",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// What a client sends to create a practice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticeInput {
    pub name: String,
    pub kind: PracticeKind,
    pub address: String,
    pub postal_code: String,
    pub commune: String,
    /// Département code: `76`, `2A`, `974`, …
    pub departement: String,
    pub lat: f64,
    pub lon: f64,
    /// IANA zone; defaults to the département's (Europe/Paris in mainland France and Corsica).
    #[serde(default)]
    pub timezone: Option<String>,
    /// The practice's phone, given to regulators (e.g. to ask for an extra patient).
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Practice {
    pub id: String,
    pub name: String,
    pub kind: PracticeKind,
    pub address: String,
    pub postal_code: String,
    pub commune: String,
    pub departement: String,
    pub lat: f64,
    pub lon: f64,
    pub timezone: Tz,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set while the practice is closed to new slots and searches (it is never deleted: bookings name it).
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// What a client sends to change a practice: only the fields present change; `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticePatch {
    pub name: Option<String>,
    pub kind: Option<PracticeKind>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub commune: Option<String>,
    pub departement: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// IANA zone; `null` for the département's. A new département without a zone takes the département's.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
}

impl Practice {
    /// Validates every field of the input at once and builds the practice.
    pub fn create(id: String, input: PracticeInput, now: DateTime<Utc>) -> Result<Practice, Error> {
        let mut v = Validator::new();
        let name = v.check("name", required_text(&input.name, 200));
        let address = v.check("address", required_text(&input.address, 300));
        let commune = v.check("commune", required_text(&input.commune, 100));
        let postal_code = v.check("postal_code", check_postal_code(&input.postal_code));
        let departement = v.check("departement", Departement::parse(&input.departement));
        let lat = v.check("lat", check_latitude(input.lat));
        let lon = v.check("lon", check_longitude(input.lon));
        let timezone = match (&input.timezone, &departement) {
            (Some(raw), _) => v.check("timezone", parse_timezone(raw)),
            (None, Some(dep)) => Some(dep.default_timezone()),
            (None, None) => None,
        };
        let phone = match input.phone.as_deref() {
            Some(raw) => v.check("phone", phone::normalize(raw)).map(Some),
            None => Some(None),
        };
        v.finish()?;
        // Every field is Some once the validator is empty.
        Ok(Practice {
            id,
            name: name.unwrap(),
            kind: input.kind,
            address: address.unwrap(),
            postal_code: postal_code.unwrap(),
            commune: commune.unwrap(),
            departement: departement.unwrap().as_str().to_string(),
            lat: lat.unwrap(),
            lon: lon.unwrap(),
            timezone: timezone.unwrap(),
            phone: phone.unwrap(),
            created_at: now,
            deactivated_at: None,
        })
    }

    /// The practice with a change applied, validated as a whole like a new one.
    pub fn edit(&self, patch: PracticePatch) -> Result<Practice, Error> {
        // A move to another département without a zone takes the new département's.
        let moved = patch
            .departement
            .as_deref()
            .is_some_and(|raw| Departement::parse(raw).map_or(true, |dep| dep.as_str() != self.departement));
        let timezone = match patch.timezone {
            Some(zone) => zone,
            None if moved => None,
            None => Some(self.timezone.name().to_string()),
        };
        let input = PracticeInput {
            name: patch.name.unwrap_or_else(|| self.name.clone()),
            kind: patch.kind.unwrap_or(self.kind),
            address: patch.address.unwrap_or_else(|| self.address.clone()),
            postal_code: patch.postal_code.unwrap_or_else(|| self.postal_code.clone()),
            commune: patch.commune.unwrap_or_else(|| self.commune.clone()),
            departement: patch.departement.unwrap_or_else(|| self.departement.clone()),
            lat: patch.lat.unwrap_or(self.lat),
            lon: patch.lon.unwrap_or(self.lon),
            timezone,
            phone: patch.phone.unwrap_or_else(|| self.phone.clone()),
        };
        let edited = Practice::create(self.id.clone(), input, self.created_at)?;
        Ok(Practice { deactivated_at: self.deactivated_at, ..edited })
    }

    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

/// French postal codes have five digits (overseas ones start with 97 or 98).
fn check_postal_code(raw: &str) -> Result<String, String> {
    let code = raw.trim();
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err("a postal code has exactly 5 digits".into())
    }
}
