//! Response bodies: how domain objects look on the wire. Instants in UTC (`…Z`); where a person reads a time,
//! its local form and zone beside it.

use serde::Serialize;

use crate::domain::catalogue::Catalogue;
use crate::domain::practice::{Practice, PracticeKind};
use crate::domain::professional::Professional;
use crate::domain::slot::{Modality, Slot, SlotStatus, Visibility};
use crate::domain::time::{local_rfc3339, utc_rfc3339};
use crate::store::ClearedSlots;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PracticeView {
    pub id: String,
    pub name: String,
    pub kind: PracticeKind,
    pub address: String,
    pub postal_code: String,
    pub commune: String,
    pub departement: String,
    pub lat: f64,
    pub lon: f64,
    pub timezone: String,
    pub phone: Option<String>,
    pub created_at: String,
    /// False once deactivated: nothing of it is offered, published or materialised.
    pub active: bool,
    pub deactivated_at: Option<String>,
}

impl From<&Practice> for PracticeView {
    fn from(p: &Practice) -> Self {
        PracticeView {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind,
            address: p.address.clone(),
            postal_code: p.postal_code.clone(),
            commune: p.commune.clone(),
            departement: p.departement.clone(),
            lat: p.lat,
            lon: p.lon,
            timezone: p.timezone.name().to_string(),
            phone: p.phone.clone(),
            created_at: utc_rfc3339(p.created_at),
            active: p.is_active(),
            deactivated_at: p.deactivated_at.map(utc_rfc3339),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfessionalView {
    pub id: String,
    pub rpps: Option<String>,
    pub adeli: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub profession: String,
    /// The profession's French title, as people read it.
    pub profession_title: String,
    pub skills: Vec<String>,
    pub practice_ids: Vec<String>,
    pub accepts_new_patients: bool,
    pub accepts_overbooking: bool,
    pub home_visit_radius_km: Option<f64>,
    pub min_patient_age_months: Option<u32>,
    pub max_patient_age_months: Option<u32>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: String,
    /// False once deactivated: nothing of theirs is offered, published or materialised.
    pub active: bool,
    pub deactivated_at: Option<String>,
}

impl ProfessionalView {
    pub fn new(p: &Professional, catalogue: &Catalogue) -> Self {
        ProfessionalView {
            id: p.id.clone(),
            rpps: p.rpps.clone(),
            adeli: p.adeli.clone(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            profession: p.profession.clone(),
            profession_title: catalogue
                .professions
                .get(&p.profession)
                .map(|d| d.title.clone())
                .unwrap_or_else(|| p.profession.clone()),
            skills: p.skills.clone(),
            practice_ids: p.practice_ids.clone(),
            accepts_new_patients: p.accepts_new_patients,
            accepts_overbooking: p.accepts_overbooking,
            home_visit_radius_km: p.home_visit_radius_km,
            min_patient_age_months: p.min_patient_age_months,
            max_patient_age_months: p.max_patient_age_months,
            email: p.email.clone(),
            phone: p.phone.clone(),
            created_at: utc_rfc3339(p.created_at),
            active: p.is_active(),
            deactivated_at: p.deactivated_at.map(utc_rfc3339),
        }
    }
}

/// What an absence, a deactivation or leaving a practice did to the future slots it covers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClearedView {
    /// Free slots removed or withdrawn.
    pub slots_freed: u64,
    /// Booked slots and live holds, left as they are: a person decides what becomes of them.
    pub bookings_to_handle: Vec<SlotView>,
}

impl From<&ClearedSlots> for ClearedView {
    fn from(c: &ClearedSlots) -> Self {
        ClearedView {
            slots_freed: c.rule_slots_removed + c.other_slots_withdrawn,
            bookings_to_handle: c.kept.iter().map(SlotView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    pub id: String,
    pub professional_id: String,
    pub practice_id: String,
    /// UTC instant.
    pub start: String,
    pub end: String,
    /// The same instants in the practice's zone, e.g. `2026-11-27T18:00:00+01:00`.
    pub start_local: String,
    pub end_local: String,
    pub timezone: String,
    pub duration_minutes: i64,
    pub modality: Modality,
    pub visibility: Visibility,
    pub status: SlotStatus,
    /// The availability rule that produced this slot, if any.
    pub rule_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Slot> for SlotView {
    fn from(s: &Slot) -> Self {
        SlotView {
            id: s.id.clone(),
            professional_id: s.professional_id.clone(),
            practice_id: s.practice_id.clone(),
            start: utc_rfc3339(s.start),
            end: utc_rfc3339(s.end),
            start_local: local_rfc3339(s.start, s.timezone),
            end_local: local_rfc3339(s.end, s.timezone),
            timezone: s.timezone.name().to_string(),
            duration_minutes: (s.end - s.start).num_minutes(),
            modality: s.modality,
            visibility: s.visibility,
            status: s.status,
            rule_id: s.rule_id.clone(),
            created_at: utc_rfc3339(s.created_at),
            updated_at: utc_rfc3339(s.updated_at),
        }
    }
}

/// Offset pagination: `next_offset` is set while more items may follow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageInfo {
    pub limit: i64,
    pub offset: i64,
    pub next_offset: Option<i64>,
}

impl PageInfo {
    pub fn after(limit: i64, offset: i64, returned: usize) -> Self {
        let next_offset = if returned as i64 == limit { offset.checked_add(limit) } else { None };
        PageInfo { limit, offset, next_offset }
    }
}
