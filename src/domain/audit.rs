//! The audit trail: who did or saw what, when, in which request — every state change (API, console, patient
//! link) and every view of a booking's patient details. Events name people and records by pseudonymous ids
//! only (an API key's or a user's id, a booking's id), never a name or a reason, so the trail is kept after the
//! patient's contact data is erased; the store never updates or deletes them.

use chrono::{DateTime, Utc};

use super::access::Role;

text_enum!(
    /// Who acted: an API key, a console user, a patient through their link, or the engine itself.
    ActorKind { ApiKey => "api_key", User => "user", Patient => "patient", System => "system" }
);

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub role: Option<Role>,
    /// `booking.create`, `booking.view`, `slots.publish`… (`target.verb`).
    pub action: String,
    /// `booking`, `slot`, `practice`…
    pub target_type: String,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    /// A short non-personal precision (e.g. "12 slots").
    pub detail: Option<String>,
}

impl AuditEvent {
    /// Something the engine or its operator's command line did (`snp purge`, `snp user create`): no request.
    pub fn by_system(
        at: DateTime<Utc>,
        action: &str,
        target_type: &str,
        target_id: Option<&str>,
        detail: String,
    ) -> Self {
        AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            actor_kind: ActorKind::System,
            actor_id: None,
            role: None,
            action: action.into(),
            target_type: target_type.into(),
            target_id: target_id.map(str::to_string),
            request_id: None,
            detail: Some(detail),
        }
    }
}

/// Which events to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}
