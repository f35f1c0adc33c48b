//! The catalogue of professions and skills, loaded from configuration so a territory can extend it.
//!
//! A profession has a French title (for people) and says whether an ADELI number is acceptable (paramedical
//! professions still registered there); a skill names the professions that may hold it.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfessionDef {
    /// French title read by regulators and patients: "Médecin généraliste".
    pub title: String,
    /// Whether an ADELI number may stand in for the RPPS number.
    #[serde(default)]
    pub adeli_allowed: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SkillDef {
    /// French label: "Kinésithérapie respiratoire du nourrisson (bronchiolite)".
    pub label: String,
    /// Professions that may hold this skill.
    pub professions: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Catalogue {
    #[serde(default)]
    pub professions: BTreeMap<String, ProfessionDef>,
    #[serde(default)]
    pub skills: BTreeMap<String, SkillDef>,
}

impl Catalogue {
    /// Checks the catalogue itself: names are lower-case identifiers, skills point at known professions.
    pub fn check(&self) -> Result<(), String> {
        if self.professions.is_empty() {
            return Err("professions: at least one profession must be configured".into());
        }
        for name in self.professions.keys().chain(self.skills.keys()) {
            if !is_identifier(name) {
                return Err(format!("{name:?}: names must be lower-case letters, digits and '_'"));
            }
        }
        for (skill, def) in &self.skills {
            for profession in &def.professions {
                if !self.professions.contains_key(profession) {
                    return Err(format!("skills.{skill}.professions: unknown profession {profession:?}"));
                }
            }
        }
        Ok(())
    }

    pub fn profession(&self, name: &str) -> Result<&ProfessionDef, String> {
        self.professions.get(name).ok_or_else(|| {
            format!(
                "unknown profession {name:?}; known: {}",
                self.professions.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// Checks that a skill exists and may be held by the profession.
    pub fn check_skill(&self, skill: &str, profession: &str) -> Result<(), String> {
        let def = self.skills.get(skill).ok_or_else(|| {
            format!("unknown skill {skill:?}; known: {}", self.skills.keys().cloned().collect::<Vec<_>>().join(", "))
        })?;
        if def.professions.iter().any(|p| p == profession) {
            Ok(())
        } else {
            Err(format!("skill {skill:?} is for {}, not {profession}", def.professions.join(", ")))
        }
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
