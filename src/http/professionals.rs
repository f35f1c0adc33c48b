//! `/api/v1/professionals`: create, edit, deactivate and reactivate (admin, coordinator); read and list — everyone for admins, coordinators and
//! regulators, a professional key itself only, a publisher key the professionals of its practices.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query};
use super::practices::deactivation_detail;
use super::views::{ClearedView, PageInfo, ProfessionalView};
use super::{ApiError, AppState, directory_manager, found_or, new_id, page};
use crate::availability::refresh;
use crate::domain::FieldError;
use crate::domain::access::{Caller, Scope};
use crate::domain::professional::{Professional, ProfessionalInput, ProfessionalPatch};
use crate::store::ProfessionalFilter;

#[utoipa::path(post, path = "/api/v1/professionals", tag = "professionals", request_body = ProfessionalInput,
    security(("api_key" = [])),
    responses((status = 201, body = ProfessionalView), (status = 403, body = super::error::Problem),
              (status = 409, description = "RPPS or ADELI number already registered", body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ProfessionalInput>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.may_manage_directory() {
        return Err(ApiError::Forbidden("Only admins and coordinators register professionals.".into()));
    }
    let Json(input) = body?;
    let requested_practices = input.practice_ids.clone();
    let created = Professional::create(new_id(), input, &state.catalogue, state.clock.now());
    let professional = with_known_practices(&state, created, &requested_practices, &[]).await?;
    state.store.insert_professional(&professional).await?;
    tracing::info!(professional_id = %professional.id, "professional registered");
    let ids = [professional.id.as_str()];
    let change = Change { action: "professional.create", target_type: "professional", target_ids: &ids, detail: None };
    audit::changed(&state, &caller, change).await;
    let location = format!("/api/v1/professionals/{}", professional.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(ProfessionalView::new(&professional, &state.catalogue)),
    ))
}

#[utoipa::path(get, path = "/api/v1/professionals/{id}", tag = "professionals", security(("api_key" = [])),
    params(("id" = String, Path, description = "Professional id")),
    responses((status = 200, body = ProfessionalView), (status = 404, body = super::error::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ProfessionalView>, ApiError> {
    let professional = state.store.get_professional(&id).await?.ok_or_else(|| not_found(&id))?;
    if !caller.may_see_professional(&professional.id, &professional.practice_ids) {
        return Err(ApiError::Forbidden("This key may not read this professional.".into()));
    }
    Ok(axum::Json(ProfessionalView::new(&professional, &state.catalogue)))
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("No professional with id {id:?}."))
}

/// Unknown practices are reported with the other field errors, in one answer. A practice the professional
/// works at already may stay even if deactivated; a new one must be active.
async fn with_known_practices(
    state: &AppState,
    validated: Result<Professional, crate::domain::Error>,
    requested: &[String],
    already: &[String],
) -> Result<Professional, ApiError> {
    let mut errors = match &validated {
        Err(crate::domain::Error::Invalid(errors)) => errors.clone(),
        Ok(_) => Vec::new(),
    };
    for (i, practice_id) in requested.iter().enumerate() {
        match state.store.get_practice(practice_id).await? {
            None => errors
                .push(FieldError::new(format!("practice_ids[{i}]"), format!("no practice with id {practice_id:?}"))),
            Some(practice) if !practice.is_active() && !already.contains(practice_id) => {
                errors.push(FieldError::new(format!("practice_ids[{i}]"), "this practice is deactivated"))
            }
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(validated?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only professionals working at this practice.
    practice_id: Option<String>,
    /// Only this profession (gp, midwife, physio, …).
    profession: Option<String>,
    /// Only professionals holding this skill.
    skill: Option<String>,
    /// Only active (`true`) or deactivated (`false`) professionals; both when absent.
    active: Option<bool>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfessionalList {
    professionals: Vec<ProfessionalView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(get, path = "/api/v1/professionals", tag = "professionals", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = ProfessionalList), (status = 422, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<ProfessionalList>, ApiError> {
    let page = page(params.limit, params.offset)?;
    if let Some(profession) = &params.profession {
        state.catalogue.profession(profession).map_err(|m| ApiError::invalid("profession", m))?;
    }
    if let Some(skill) = &params.skill
        && !state.catalogue.skills.contains_key(skill)
    {
        return Err(ApiError::invalid("skill", format!("unknown skill {skill:?}")));
    }
    let (professional_id, within_practices_of_key) = match caller.scope() {
        Scope::All => (None, None),
        Scope::Professional(own) => (Some(own), None),
        Scope::Practices(mine) => {
            if params.practice_id.as_ref().is_some_and(|asked| !mine.contains(asked)) {
                return Err(ApiError::Forbidden(
                    "A publisher key lists the professionals of its practices only.".into(),
                ));
            }
            (None, Some(caller.key_id.clone()))
        }
    };
    let filter = ProfessionalFilter {
        professional_id,
        within_practices_of_key,
        practice_id: params.practice_id,
        profession: params.profession,
        skill: params.skill,
        active: params.active,
        page: page.clone(),
    };
    let professionals = state.store.list_professionals(&filter).await?;
    Ok(axum::Json(ProfessionalList {
        page: PageInfo::after(page.limit, page.offset, professionals.len()),
        professionals: professionals.iter().map(|p| ProfessionalView::new(p, &state.catalogue)).collect(),
    }))
}

/// A professional after a change: leaving a practice frees the slots there, like a deactivation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfessionalChanged {
    professional: ProfessionalView,
    #[serde(flatten)]
    cleared: ClearedView,
}

#[utoipa::path(patch, path = "/api/v1/professionals/{id}", tag = "professionals", request_body = ProfessionalPatch,
    security(("api_key" = [])), params(("id" = String, Path, description = "Professional id")),
    responses((status = 200, body = ProfessionalChanged), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, description = "RPPS or ADELI number taken, or a rule still publishes at a practice left",
               body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<ProfessionalPatch>, ApiError>,
) -> Result<axum::Json<ProfessionalChanged>, ApiError> {
    directory_manager(&caller, "professionals")?;
    let Json(patch) = body?;
    let current = state.store.get_professional(&id).await?.ok_or_else(|| not_found(&id))?;
    let requested = patch.practice_ids.clone().unwrap_or_default();
    let edited = current.edit(patch, &state.catalogue);
    let edited = with_known_practices(&state, edited, &requested, &current.practice_ids).await?;
    let cleared = state
        .store
        .update_professional(&edited, state.clock.now())
        .await
        .map_err(|e| found_or(e, || not_found(&id)))?;
    tracing::info!(professional_id = %id, "professional updated");
    let change =
        Change { action: "professional.update", target_type: "professional", target_ids: &[&id], detail: None };
    audit::changed(&state, &caller, change).await;
    Ok(axum::Json(ProfessionalChanged {
        professional: ProfessionalView::new(&edited, &state.catalogue),
        cleared: ClearedView::from(&cleared),
    }))
}

#[utoipa::path(post, path = "/api/v1/professionals/{id}/deactivate", tag = "professionals", security(("api_key" = [])),
    params(("id" = String, Path, description = "Professional id")),
    responses((status = 200, body = ProfessionalChanged), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ProfessionalChanged>, ApiError> {
    directory_manager(&caller, "professionals")?;
    let cleared = state
        .store
        .deactivate_professional(&id, state.clock.now())
        .await
        .map_err(|e| found_or(e, || not_found(&id)))?;
    let professional = state.store.get_professional(&id).await?.ok_or_else(|| not_found(&id))?;
    let cleared = ClearedView::from(&cleared);
    tracing::info!(professional_id = %id, freed = cleared.slots_freed, "professional deactivated");
    let detail = Some(deactivation_detail(&cleared));
    let change = Change { action: "professional.deactivate", target_type: "professional", target_ids: &[&id], detail };
    audit::changed(&state, &caller, change).await;
    Ok(axum::Json(ProfessionalChanged {
        professional: ProfessionalView::new(&professional, &state.catalogue),
        cleared,
    }))
}

#[utoipa::path(post, path = "/api/v1/professionals/{id}/reactivate", tag = "professionals", security(("api_key" = [])),
    params(("id" = String, Path, description = "Professional id")),
    responses((status = 200, body = ProfessionalView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ProfessionalView>, ApiError> {
    directory_manager(&caller, "professionals")?;
    state.store.reactivate_professional(&id).await.map_err(|e| found_or(e, || not_found(&id)))?;
    let professional = state.store.get_professional(&id).await?.ok_or_else(|| not_found(&id))?;
    // Their rules fill the horizon again now, not at the job's next pass.
    refresh(state.store.as_ref(), state.clock.now(), state.horizon_days, Some(&id)).await?;
    tracing::info!(professional_id = %id, "professional reactivated");
    let change =
        Change { action: "professional.reactivate", target_type: "professional", target_ids: &[&id], detail: None };
    audit::changed(&state, &caller, change).await;
    Ok(axum::Json(ProfessionalView::new(&professional, &state.catalogue)))
}
