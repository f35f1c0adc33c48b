//! `/api/v1/absences`: a professional's time off. Free slots in the range disappear at once (rule slots are
//! removed so rules can fill the time again later; one-off slots are withdrawn), rules yield nothing there, and
//! held or booked slots are never cancelled silently: they are listed in the answer for the professional to
//! handle. Lifting an absence lets the rules fill the range again. Only the professional, coordinators and admins
//! manage absences: an absence acts on every practice of the professional, and its reason is personal.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query};
use super::rules::scoped_filter;
use super::views::{ClearedView, PageInfo};
use super::{ApiError, AppState, new_id, page};
use crate::availability::refresh;
use crate::domain::access::Caller;
use crate::domain::availability::{Absence, AbsenceInput, parse_date};
use crate::domain::recurrence::first_instant_reading;
use crate::domain::time::utc_rfc3339;
use crate::domain::{Validator, required_text};
use crate::store::StoreError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AbsenceView {
    id: String,
    professional_id: String,
    from: String,
    to: String,
    reason: Option<String>,
    created_at: String,
}

impl From<&Absence> for AbsenceView {
    fn from(a: &Absence) -> Self {
        AbsenceView {
            id: a.id.clone(),
            professional_id: a.professional_id.clone(),
            from: utc_rfc3339(a.start),
            to: utc_rfc3339(a.end),
            reason: a.reason.clone(),
            created_at: utc_rfc3339(a.created_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AbsenceCreated {
    #[serde(flatten)]
    absence: AbsenceView,
    /// The free slots of the range freed, and its held and booked ones, left for the professional to handle.
    #[serde(flatten)]
    cleared: ClearedView,
}

/// An instant (RFC 3339) or a date, read in `zone` as the start of that day — or, for `end_of_day`, the start
/// of the next one (so `to: 2026-12-31` covers the whole of the 31st).
fn parse_bound(raw: &str, zone: chrono_tz::Tz, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if raw.len() == 10 {
        let date = parse_date(raw)?;
        let date = if end_of_day { date + Duration::days(1) } else { date };
        return first_instant_reading(zone, date.and_hms_opt(0, 0, 0).expect("midnight"))
            .ok_or_else(|| format!("{raw:?} has no start of day in {}", zone.name()));
    }
    let instant = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| format!("{raw:?} is neither a date YYYY-MM-DD nor an RFC 3339 instant"))?
        .with_timezone(&Utc);
    if !(2000..=2999).contains(&chrono::Datelike::year(&instant)) {
        return Err(format!("{raw:?} is outside the years 2000–2999"));
    }
    Ok(instant)
}

#[utoipa::path(post, path = "/api/v1/absences", tag = "availability", request_body = AbsenceInput,
    security(("api_key" = [])),
    responses((status = 201, body = AbsenceCreated), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<AbsenceInput>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.may_manage_absences(None) {
        return Err(forbidden());
    }
    let Json(input) = body?;
    if !caller.may_manage_absences(Some(&input.professional_id)) {
        return Err(forbidden());
    }
    let Some(professional) = state.store.get_professional(&input.professional_id).await? else {
        return Err(ApiError::invalid("professional_id", "no such professional"));
    };
    // Dates are read in the zone of the professional's first practice.
    let practice = state.store.get_practice(&professional.practice_ids[0]).await?;
    let zone = practice.map(|p| p.timezone).unwrap_or(chrono_tz::Tz::Europe__Paris);
    let now = state.clock.now();
    let mut v = Validator::new();
    let start = v.check("from", parse_bound(&input.from, zone, false));
    let end = v.check("to", parse_bound(&input.to, zone, true));
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            v.push("to", "must be after from");
        } else if end <= now {
            v.push("to", "the absence is entirely in the past");
        } else if end - start > Duration::days(366) {
            v.push("to", "an absence lasts at most a year");
        }
    }
    let reason = match input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(raw) => v.check("reason", required_text(raw, 200)),
        None => None,
    };
    v.finish()?;
    let absence = Absence {
        id: new_id(),
        professional_id: professional.id.clone(),
        start: start.expect("checked"),
        end: end.expect("checked"),
        reason,
        created_at: now,
    };
    let effects = state.store.insert_absence(&absence, now).await?;
    tracing::info!(absence_id = %absence.id, kept = effects.kept.len(), "absence recorded");
    let change = Change { action: "absence.create", target_type: "absence", target_ids: &[&absence.id], detail: None };
    audit::changed(&state, &caller, change).await;
    let body = AbsenceCreated { absence: AbsenceView::from(&absence), cleared: ClearedView::from(&effects) };
    let location = format!("/api/v1/absences/{}", absence.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(body)))
}

fn forbidden() -> ApiError {
    ApiError::Forbidden(
        "Absences are managed by the professional, coordinators and admins (not by agenda software or regulators)."
            .into(),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    professional_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AbsenceList {
    absences: Vec<AbsenceView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(get, path = "/api/v1/absences", tag = "availability", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = AbsenceList), (status = 403, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<AbsenceList>, ApiError> {
    if !caller.may_manage_absences(None) {
        return Err(forbidden());
    }
    let page = page(params.limit, params.offset)?;
    let filter = scoped_filter(&caller, params.professional_id, page.clone())?;
    let absences = state.store.list_absences(&filter).await?;
    Ok(axum::Json(AbsenceList {
        page: PageInfo::after(page.limit, page.offset, absences.len()),
        absences: absences.iter().map(AbsenceView::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/absences/{id}", tag = "availability", security(("api_key" = [])),
    params(("id" = String, Path, description = "Absence id")),
    responses((status = 204, description = "Lifted; the professional's rules fill the range again"),
              (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound(format!("No absence with id {id:?}."));
    let absence = state.store.get_absence(&id).await?.ok_or_else(not_found)?;
    if !caller.may_manage_absences(Some(&absence.professional_id)) {
        return Err(forbidden());
    }
    let now = state.clock.now();
    state.store.delete_absence(&id, now).await.map_err(|e| match e {
        StoreError::NotFound => not_found(),
        other => other.into(),
    })?;
    let summary = refresh(state.store.as_ref(), now, state.horizon_days, Some(&absence.professional_id)).await?;
    tracing::info!(absence_id = %id, created = summary.created, "absence lifted");
    audit::changed(
        &state,
        &caller,
        Change { action: "absence.delete", target_type: "absence", target_ids: &[&id], detail: None },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
