//! `/api/v1/slots`: publish a batch (all or nothing), list with filters, read one, withdraw a free one.
//!
//! Who may write: admins and coordinators anything; a professional key its own slots; a publisher key the
//! slots of its practices. Overlaps are refused by the store (database-guaranteed), reported as
//! 422 `slot_overlap` naming the slot's index.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query};
use super::views::{PageInfo, SlotView};
use super::{ApiError, AppState, Lookups, new_id, page};
use crate::domain::Validator;
use crate::domain::access::{Caller, Scope};
use crate::domain::slot::{Slot, SlotInput, SlotStatus, check_times};
use crate::store::SlotFilter;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    slots: Vec<SlotInput>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotBatch {
    slots: Vec<SlotView>,
}

#[utoipa::path(post, path = "/api/v1/slots", tag = "slots", request_body = PublishRequest, security(("api_key" = [])),
    responses((status = 201, body = SlotBatch), (status = 403, body = super::error::Problem),
              (status = 422, description = "validation_failed or slot_overlap; `errors[].field` names the slot index",
               body = super::error::Problem)))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PublishRequest>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.may_publish_slots() {
        return Err(ApiError::Forbidden("Regulators search and book slots; they do not publish them.".into()));
    }
    let Json(request) = body?;
    if request.slots.is_empty() {
        return Err(ApiError::invalid("slots", "publish at least one slot"));
    }
    if request.slots.len() > state.max_batch {
        return Err(ApiError::invalid("slots", format!("at most {} slots per request", state.max_batch)));
    }
    let now = state.clock.now();
    let mut lookups = Lookups::default();
    let mut v = Validator::new();
    let mut slots = Vec::with_capacity(request.slots.len());
    for (i, input) in request.slots.into_iter().enumerate() {
        let mut item = Validator::with_prefix(format!("slots[{i}]."));
        // Permission first, on the ids as sent: a key learns nothing about professionals it may not touch.
        if !caller.may_write_slot(&input.professional_id, &input.practice_id) {
            return Err(ApiError::Forbidden(format!(
                "slots[{i}]: this key may not publish slots for this professional at this practice."
            )));
        }
        let (start, end) = (input.start.with_timezone(&Utc), input.end.with_timezone(&Utc));
        check_times(&mut item, start, end, now, &state.slot_rules);
        let professional = lookups.professional(&state, &input.professional_id).await?;
        let practice = lookups.practice(&state, &input.practice_id).await?;
        if professional.is_none() {
            item.push("professional_id", format!("no professional with id {:?}", input.professional_id));
        }
        if practice.is_none() {
            item.push("practice_id", format!("no practice with id {:?}", input.practice_id));
        }
        let (Some(professional), Some(practice)) = (professional, practice) else {
            v.absorb(item);
            continue;
        };
        for (field, message) in professional.publishing_obstacles(&practice, input.modality) {
            item.push(field, message);
        }
        slots.push(Slot {
            modality: input.modality,
            visibility: input.visibility,
            ..Slot::free(new_id(), &professional.id, &practice.id, practice.timezone, start, end, now)
        });
        v.absorb(item);
    }
    v.finish()?;
    state.store.insert_slots(&slots).await?;
    tracing::info!(count = slots.len(), "slots published");
    // One event per professional of the batch (a batch may carry a thousand slots).
    let mut per_professional: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for slot in &slots {
        *per_professional.entry(slot.professional_id.as_str()).or_default() += 1;
    }
    let targets: Vec<([&str; 1], usize)> = per_professional.into_iter().map(|(id, count)| ([id], count)).collect();
    let changes: Vec<Change> = targets
        .iter()
        .map(|(ids, count)| Change {
            action: "slots.publish",
            target_type: "professional",
            target_ids: ids,
            detail: Some(format!("{count} slots")),
        })
        .collect();
    audit::changed_all(&state, &caller, &changes).await;
    Ok((StatusCode::CREATED, axum::Json(SlotBatch { slots: slots.iter().map(SlotView::from).collect() })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    professional_id: Option<String>,
    practice_id: Option<String>,
    /// Slots starting at or after this instant (RFC 3339).
    from: Option<String>,
    /// Slots starting before this instant (RFC 3339).
    to: Option<String>,
    /// free, held, booked or withdrawn.
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotList {
    slots: Vec<SlotView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(get, path = "/api/v1/slots", tag = "slots", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = SlotList), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<SlotList>, ApiError> {
    let page = page(params.limit, params.offset)?;
    let mut v = Validator::new();
    let from = params.from.as_deref().and_then(|raw| v.check("from", parse_instant(raw)));
    let to = params.to.as_deref().and_then(|raw| v.check("to", parse_instant(raw)));
    let status = params.status.as_deref().and_then(|raw| {
        v.check("status", SlotStatus::parse(raw).ok_or_else(|| format!("expected one of {}", SlotStatus::expected())))
    });
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        v.push("to", "must be after from");
    }
    v.finish()?;
    let mut filter = SlotFilter {
        professional_id: params.professional_id,
        practice_id: params.practice_id,
        within_practices_of_key: None,
        from,
        to,
        status,
        rule_id: None,
        page: page.clone(),
    };
    match caller.scope() {
        Scope::All => {}
        Scope::Professional(own) => {
            if filter.professional_id.as_ref().is_some_and(|asked| *asked != own) {
                return Err(ApiError::Forbidden("A professional key lists its own slots only.".into()));
            }
            filter.professional_id = Some(own);
        }
        Scope::Practices(practices) => {
            if filter.practice_id.as_ref().is_some_and(|asked| !practices.contains(asked)) {
                return Err(ApiError::Forbidden("A publisher key lists the slots of its own practices only.".into()));
            }
            filter.within_practices_of_key = Some(caller.key_id.clone());
        }
    }
    let slots = state.store.list_slots(&filter).await?;
    Ok(axum::Json(SlotList {
        page: PageInfo::after(page.limit, page.offset, slots.len()),
        slots: slots.iter().map(SlotView::from).collect(),
    }))
}

/// RFC 3339 with any offset. A `+` that arrived as a space (an unencoded query string) is put back.
/// Years are bounded to 1900–9999 in UTC: beyond, the instant means nothing here, and SQLite's text form of
/// instants (whose order is time order only for four-digit years) must never see one.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    let instant = DateTime::parse_from_rfc3339(&raw.replace(' ', "+"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{raw:?} is not an RFC 3339 instant (e.g. 2026-11-27T18:00:00+01:00)"))?;
    if !(1900..=9999).contains(&instant.year()) {
        return Err(format!("{raw:?} is outside the years 1900–9999"));
    }
    Ok(instant)
}

#[utoipa::path(get, path = "/api/v1/slots/{id}", tag = "slots", security(("api_key" = [])),
    params(("id" = String, Path, description = "Slot id")),
    responses((status = 200, body = SlotView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<SlotView>, ApiError> {
    let slot = state.store.get_slot(&id).await?.ok_or_else(|| not_found(&id))?;
    let visible = match caller.scope() {
        Scope::All => true,
        Scope::Professional(own) => slot.professional_id == own,
        Scope::Practices(practices) => practices.contains(&slot.practice_id),
    };
    if !visible {
        return Err(ApiError::Forbidden("This key may not read this slot.".into()));
    }
    Ok(axum::Json(SlotView::from(&slot)))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("No slot with id {id:?}."))
}

#[utoipa::path(delete, path = "/api/v1/slots/{id}", tag = "slots", security(("api_key" = [])),
    params(("id" = String, Path, description = "Slot id")),
    responses((status = 204, description = "Withdrawn"), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, description = "The slot is held, booked or already withdrawn", body = super::error::Problem)))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let slot = state.store.get_slot(&id).await?.ok_or_else(|| not_found(&id))?;
    if !caller.may_write_slot(&slot.professional_id, &slot.practice_id) {
        return Err(ApiError::Forbidden("This key may not withdraw this slot.".into()));
    }
    state.store.withdraw_slot(&id, state.clock.now()).await?;
    tracing::info!(slot_id = %id, "slot withdrawn");
    audit::changed(
        &state,
        &caller,
        Change { action: "slot.withdraw", target_type: "slot", target_ids: &[&id], detail: None },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
