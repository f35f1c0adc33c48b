//! Roles and what each may do: the one place where permissions are decided.
//!
//! Handlers ask questions of a [`Caller`] ("may this caller write slots of that professional at that practice?")
//! rather than matching on roles themselves, so the role matrix of the contract lives here and nowhere else.

use serde::{Deserialize, Serialize};

use super::audit::ActorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Coordinator,
    Regulator,
    Professional,
    Publisher,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Admin, Self::Coordinator, Self::Regulator, Self::Professional, Self::Publisher];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Coordinator => "coordinator",
            Self::Regulator => "regulator",
            Self::Professional => "professional",
            Self::Publisher => "publisher",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// Who is calling: software with its API key, or a person logged in to the console (whose principal row in
/// `api_keys` carries the user's id, so holds and bookings name them the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The API key's id, or the console user's id.
    pub key_id: String,
    /// `api_key` or `user`: how the audit trail names the actor.
    pub actor_kind: ActorKind,
    pub role: Role,
    /// Set for the `professional` role: the one professional this key acts for.
    pub professional_id: Option<String>,
    /// Set for the `publisher` role: the practices whose professionals it publishes for.
    pub practice_ids: Vec<String>,
    /// The request this caller makes (its `x-request-id`), for the audit trail.
    pub request_id: Option<String>,
}

/// What part of the directory (professionals) and of the slots a caller may see: professional keys their own,
/// publisher keys those of their practices, everyone else all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Professional(String),
    Practices(Vec<String>),
}

impl Caller {
    /// Read the audit trail (coordinators oversee the territory's regulation: they answer for who saw what).
    pub fn may_read_audit(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }

    /// Follow failed messages across bookings and send them again.
    pub fn may_oversee_delivery(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }

    /// Create practices and professionals.
    pub fn may_manage_directory(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Coordinator)
    }

    /// Create API keys.
    pub fn may_manage_api_keys(&self) -> bool {
        self.role == Role::Admin
    }

    /// Publish or withdraw a slot of `professional_id` at `practice_id`.
    pub fn may_write_slot(&self, professional_id: &str, practice_id: &str) -> bool {
        match self.role {
            Role::Admin | Role::Coordinator => true,
            Role::Professional => self.professional_id.as_deref() == Some(professional_id),
            Role::Publisher => self.practice_ids.iter().any(|p| p == practice_id),
            Role::Regulator => false,
        }
    }

    /// Declare, list or lift absences of a professional: admins and coordinators, and the professional itself.
    /// Not publishers: an absence acts on all of a professional's practices, and its reason is personal.
    pub fn may_manage_absences(&self, professional_id: Option<&str>) -> bool {
        match self.role {
            Role::Admin | Role::Coordinator => true,
            Role::Professional => professional_id.is_none() || self.professional_id.as_deref() == professional_id,
            Role::Publisher | Role::Regulator => false,
        }
    }

    /// Hold and book slots: regulators (and admins). Professionals and agenda software publish; they do not book.
    pub fn may_book(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Regulator)
    }

    /// Read bookings (with the patient's details) of this professional.
    pub fn may_read_bookings(&self, professional_id: &str) -> bool {
        match self.role {
            Role::Admin | Role::Coordinator | Role::Regulator => true,
            Role::Professional => self.professional_id.as_deref() == Some(professional_id),
            Role::Publisher => false,
        }
    }

    /// Cancel a booking of this professional: the regulator (for the patient) or the professional.
    pub fn may_cancel_booking(&self, professional_id: &str) -> bool {
        match self.role {
            Role::Admin | Role::Regulator => true,
            Role::Professional => self.professional_id.as_deref() == Some(professional_id),
            Role::Coordinator | Role::Publisher => false,
        }
    }

    /// Record attended / no-show: the professional who saw (or waited for) the patient.
    pub fn may_record_outcome(&self, professional_id: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Professional => self.professional_id.as_deref() == Some(professional_id),
            _ => false,
        }
    }

    /// May this role publish slots at all (before looking at which ones)?
    pub fn may_publish_slots(&self) -> bool {
        self.role != Role::Regulator
    }

    /// Professionals and slots this caller may see.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Professional => Scope::Professional(self.professional_id.clone().unwrap_or_default()),
            Role::Publisher => Scope::Practices(self.practice_ids.clone()),
            _ => Scope::All,
        }
    }

    /// May this caller see this professional (who works at `practice_ids`)?
    pub fn may_see_professional(&self, professional_id: &str, practice_ids: &[String]) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Professional(own) => own == professional_id,
            Scope::Practices(mine) => practice_ids.iter().any(|p| mine.contains(p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            key_id: "k".into(),
            actor_kind: ActorKind::ApiKey,
            role,
            professional_id: (role == Role::Professional).then(|| "pro-1".into()),
            practice_ids: if role == Role::Publisher { vec!["prac-1".into()] } else { vec![] },
            request_id: None,
        }
    }

    #[test]
    fn slot_writes_follow_the_role_matrix() {
        assert!(caller(Role::Admin).may_write_slot("pro-2", "prac-2"));
        assert!(caller(Role::Coordinator).may_write_slot("pro-2", "prac-2"));
        assert!(!caller(Role::Regulator).may_write_slot("pro-1", "prac-1"));
        assert!(caller(Role::Professional).may_write_slot("pro-1", "prac-9"));
        assert!(!caller(Role::Professional).may_write_slot("pro-2", "prac-1"));
        assert!(caller(Role::Publisher).may_write_slot("pro-7", "prac-1"));
        assert!(!caller(Role::Publisher).may_write_slot("pro-7", "prac-2"));
    }
}
