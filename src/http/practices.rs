//! `/api/v1/practices`: create, edit, deactivate and reactivate (admin, coordinator), read and list (every role).
//! A practice is never deleted — bookings name it; a deactivated one offers nothing (see migration 0016).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query};
use super::views::{ClearedView, PageInfo, PracticeView};
use super::{ApiError, AppState, directory_manager, found_or, new_id, page};
use crate::availability::refresh;
use crate::domain::access::Caller;
use crate::domain::geo::Departement;
use crate::domain::practice::{Practice, PracticeInput, PracticePatch};
use crate::store::{PracticeFilter, ProfessionalFilter};

#[utoipa::path(post, path = "/api/v1/practices", tag = "practices", request_body = PracticeInput,
    security(("api_key" = [])),
    responses((status = 201, body = PracticeView), (status = 400, body = super::error::Problem),
              (status = 403, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PracticeInput>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.may_manage_directory() {
        return Err(ApiError::Forbidden("Only admins and coordinators create practices.".into()));
    }
    let Json(input) = body?;
    let practice = Practice::create(new_id(), input, state.clock.now())?;
    state.store.insert_practice(&practice).await?;
    tracing::info!(practice_id = %practice.id, "practice created");
    let change =
        Change { action: "practice.create", target_type: "practice", target_ids: &[&practice.id], detail: None };
    audit::changed(&state, &caller, change).await;
    let location = format!("/api/v1/practices/{}", practice.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(PracticeView::from(&practice))))
}

#[utoipa::path(get, path = "/api/v1/practices/{id}", tag = "practices", security(("api_key" = [])),
    params(("id" = String, Path, description = "Practice id")),
    responses((status = 200, body = PracticeView), (status = 404, body = super::error::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<PracticeView>, ApiError> {
    let practice = state.store.get_practice(&id).await?.ok_or_else(|| not_found(&id))?;
    Ok(axum::Json(PracticeView::from(&practice)))
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("No practice with id {id:?}."))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only practices of this département.
    departement: Option<String>,
    /// Only active (`true`) or deactivated (`false`) practices; both when absent.
    active: Option<bool>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PracticeList {
    practices: Vec<PracticeView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(get, path = "/api/v1/practices", tag = "practices", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = PracticeList), (status = 422, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<PracticeList>, ApiError> {
    let page = page(params.limit, params.offset)?;
    let departement = match params.departement {
        Some(raw) => {
            Some(Departement::parse(&raw).map_err(|m| ApiError::invalid("departement", m))?.as_str().to_string())
        }
        None => None,
    };
    let filter = PracticeFilter { departement, active: params.active, page: page.clone() };
    let practices = state.store.list_practices(&filter).await?;
    Ok(axum::Json(PracticeList {
        page: PageInfo::after(page.limit, page.offset, practices.len()),
        practices: practices.iter().map(PracticeView::from).collect(),
    }))
}

#[utoipa::path(patch, path = "/api/v1/practices/{id}", tag = "practices", request_body = PracticePatch,
    security(("api_key" = [])), params(("id" = String, Path, description = "Practice id")),
    responses((status = 200, body = PracticeView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<PracticePatch>, ApiError>,
) -> Result<axum::Json<PracticeView>, ApiError> {
    directory_manager(&caller, "practices")?;
    let Json(patch) = body?;
    let current = state.store.get_practice(&id).await?.ok_or_else(|| not_found(&id))?;
    let edited = current.edit(patch)?;
    state.store.update_practice(&edited).await.map_err(|e| found_or(e, || not_found(&id)))?;
    tracing::info!(practice_id = %id, "practice updated");
    let change = Change { action: "practice.update", target_type: "practice", target_ids: &[&id], detail: None };
    audit::changed(&state, &caller, change).await;
    Ok(axum::Json(PracticeView::from(&edited)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PracticeDeactivated {
    practice: PracticeView,
    /// Its future free slots withdrawn, and its bookings still to come, left to be honoured or cancelled.
    #[serde(flatten)]
    cleared: ClearedView,
}

#[utoipa::path(post, path = "/api/v1/practices/{id}/deactivate", tag = "practices", security(("api_key" = [])),
    params(("id" = String, Path, description = "Practice id")),
    responses((status = 200, body = PracticeDeactivated), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<PracticeDeactivated>, ApiError> {
    directory_manager(&caller, "practices")?;
    let cleared =
        state.store.deactivate_practice(&id, state.clock.now()).await.map_err(|e| found_or(e, || not_found(&id)))?;
    let practice = state.store.get_practice(&id).await?.ok_or_else(|| not_found(&id))?;
    let cleared = ClearedView::from(&cleared);
    tracing::info!(practice_id = %id, freed = cleared.slots_freed, "practice deactivated");
    let detail = Some(deactivation_detail(&cleared));
    let change = Change { action: "practice.deactivate", target_type: "practice", target_ids: &[&id], detail };
    audit::changed(&state, &caller, change).await;
    Ok(axum::Json(PracticeDeactivated { practice: PracticeView::from(&practice), cleared }))
}

/// What the audit trail keeps of a deactivation: counts, never whom the bookings are for.
pub fn deactivation_detail(cleared: &ClearedView) -> String {
    format!("{} free slots withdrawn, {} bookings to handle", cleared.slots_freed, cleared.bookings_to_handle.len())
}

#[utoipa::path(post, path = "/api/v1/practices/{id}/reactivate", tag = "practices", security(("api_key" = [])),
    params(("id" = String, Path, description = "Practice id")),
    responses((status = 200, body = PracticeView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<PracticeView>, ApiError> {
    directory_manager(&caller, "practices")?;
    state.store.reactivate_practice(&id).await.map_err(|e| found_or(e, || not_found(&id)))?;
    let practice = state.store.get_practice(&id).await?.ok_or_else(|| not_found(&id))?;
    // The rules of everyone working there fill the horizon again now, not at the job's next pass.
    let staff = ProfessionalFilter {
        practice_id: Some(id.clone()),
        page: crate::store::Page { limit: i64::from(u16::MAX), offset: 0 },
        ..ProfessionalFilter::default()
    };
    for professional in state.store.list_professionals(&staff).await? {
        refresh(state.store.as_ref(), state.clock.now(), state.horizon_days, Some(&professional.id)).await?;
    }
    tracing::info!(practice_id = %id, "practice reactivated");
    let change = Change { action: "practice.reactivate", target_type: "practice", target_ids: &[&id], detail: None };
    audit::changed(&state, &caller, change).await;
    Ok(axum::Json(PracticeView::from(&practice)))
}
