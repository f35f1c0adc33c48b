//! The reason catalogue ("motifs"): what a regulator picks — bronchiolitis, unscheduled GP consultation, … —
//! and what it implies: eligible professions and required skills, patient age bounds, default delay and
//! modality, whether a prescription is required. Loaded from `config/motifs.toml`, checked against the
//! profession/skill catalogue at start-up.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::catalogue::Catalogue;
use super::slot::Modality;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MotifDef {
    /// French label read by regulators.
    pub label: String,
    /// Professions that may see the patient for this reason.
    pub professions: Vec<String>,
    /// Skills the professional must all hold.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Youngest patient, in months (inclusive).
    #[serde(default)]
    pub min_age_months: Option<u32>,
    /// Age limit in months (exclusive): 36 means "under 3 years".
    #[serde(default)]
    pub max_age_months: Option<u32>,
    /// Default delay: slots starting within this many hours.
    pub within_hours: u32,
    /// Default modality; none means any.
    #[serde(default)]
    pub modality: Option<Modality>,
    /// The regulator must confirm a prescription (the search answer says so).
    #[serde(default)]
    pub prescription_required: bool,
}

/// Checks every motif against the profession and skill catalogue; the message names the entry.
pub fn check_motifs(motifs: &BTreeMap<String, MotifDef>, catalogue: &Catalogue) -> Result<(), String> {
    if motifs.is_empty() {
        return Err("motifs: at least one motif must be configured".into());
    }
    for (name, motif) in motifs {
        let at = |what: &str| format!("motifs.{name}.{what}");
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') || name.is_empty() {
            return Err(format!("motifs.{name}: names are lower-case letters, digits and '_'"));
        }
        if motif.label.trim().is_empty() {
            return Err(format!("{}: must not be empty", at("label")));
        }
        if motif.professions.is_empty() {
            return Err(format!("{}: name at least one profession", at("professions")));
        }
        for profession in &motif.professions {
            if !catalogue.professions.contains_key(profession) {
                return Err(format!("{}: unknown profession {profession:?}", at("professions")));
            }
        }
        for skill in &motif.skills {
            let Some(def) = catalogue.skills.get(skill) else {
                return Err(format!("{}: unknown skill {skill:?}", at("skills")));
            };
            if !motif.professions.iter().any(|p| def.professions.contains(p)) {
                return Err(format!("{}: no profession of this motif may hold skill {skill:?}", at("skills")));
            }
        }
        if let (Some(min), Some(max)) = (motif.min_age_months, motif.max_age_months)
            && min >= max
        {
            return Err(format!("{}: must be greater than min_age_months", at("max_age_months")));
        }
        if !(1..=720).contains(&motif.within_hours) {
            return Err(format!("{}: must be between 1 and 720 hours", at("within_hours")));
        }
    }
    Ok(())
}
