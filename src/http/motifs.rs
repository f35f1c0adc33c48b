//! `GET /api/v1/motifs`: the reason catalogue, as the regulator's intake form and regulation software use it.

use axum::extract::State;
use serde::Serialize;

use super::{ApiError, AppState};
use crate::domain::access::Caller;
use crate::domain::slot::Modality;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfessionRef {
    name: String,
    title: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MotifView {
    name: String,
    label: String,
    professions: Vec<ProfessionRef>,
    skills: Vec<String>,
    min_age_months: Option<u32>,
    /// Exclusive: 36 means "under 3 years".
    max_age_months: Option<u32>,
    within_hours: u32,
    modality: Option<Modality>,
    prescription_required: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MotifList {
    motifs: Vec<MotifView>,
}

#[utoipa::path(get, path = "/api/v1/motifs", tag = "search", security(("api_key" = [])),
    responses((status = 200, body = MotifList)))]
pub async fn list(State(state): State<AppState>, _caller: Caller) -> Result<axum::Json<MotifList>, ApiError> {
    let motifs = state
        .motifs
        .iter()
        .map(|(name, m)| MotifView {
            name: name.clone(),
            label: m.label.clone(),
            professions: m
                .professions
                .iter()
                .map(|p| ProfessionRef {
                    name: p.clone(),
                    title: state.catalogue.professions.get(p).map(|d| d.title.clone()).unwrap_or_default(),
                })
                .collect(),
            skills: m.skills.clone(),
            min_age_months: m.min_age_months,
            max_age_months: m.max_age_months,
            within_hours: m.within_hours,
            modality: m.modality,
            prescription_required: m.prescription_required,
        })
        .collect();
    Ok(axum::Json(MotifList { motifs }))
}
