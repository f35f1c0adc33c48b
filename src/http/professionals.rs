//! `/api/v1/professionals`: create (admin, coordinator); read and list — everyone for admins, coordinators and
//! regulators, a professional key itself only, a publisher key the professionals of its practices.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query};
use super::views::{PageInfo, ProfessionalView};
use super::{ApiError, AppState, new_id, page};
use crate::domain::FieldError;
use crate::domain::access::{Caller, Scope};
use crate::domain::professional::{Professional, ProfessionalInput};
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
    // Unknown practices are reported with the other field errors, in one answer.
    let mut errors = match &created {
        Err(crate::domain::Error::Invalid(errors)) => errors.clone(),
        Ok(_) => Vec::new(),
    };
    for (i, practice_id) in requested_practices.iter().enumerate() {
        if state.store.get_practice(practice_id).await?.is_none() {
            errors.push(FieldError::new(format!("practice_ids[{i}]"), format!("no practice with id {practice_id:?}")));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let professional = created?;
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only professionals working at this practice.
    practice_id: Option<String>,
    /// Only this profession (gp, midwife, physio, …).
    profession: Option<String>,
    /// Only professionals holding this skill.
    skill: Option<String>,
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
        page: page.clone(),
    };
    let professionals = state.store.list_professionals(&filter).await?;
    Ok(axum::Json(ProfessionalList {
        page: PageInfo::after(page.limit, page.offset, professionals.len()),
        professionals: professionals.iter().map(|p| ProfessionalView::new(p, &state.catalogue)).collect(),
    }))
}
