//! `/api/v1/holds`: a short hold on a slot while the regulator talks to the patient. Expiry is a comparison with
//! the injected clock — no background job is needed for correctness: a lapsed hold simply stops counting.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{RawJson, parse_json};
use super::views::SlotView;
use super::{ApiError, AppState, idempotency, new_id};
use crate::domain::access::Caller;
use crate::domain::booking::Hold;
use crate::domain::slot::{Slot, SlotStatus, Visibility};
use crate::domain::time::{local_rfc3339, utc_rfc3339};
use crate::store::StoreError;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    slot_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoldView {
    id: String,
    slot_id: String,
    expires_at: String,
    /// The expiry in the practice's local time.
    expires_at_local: String,
    slot: SlotView,
}

#[utoipa::path(post, path = "/api/v1/holds", tag = "booking", request_body = HoldInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same body")),
    responses((status = 201, body = HoldView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, description = "slot_unavailable", body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<RawJson, ApiError>,
) -> Result<Response, ApiError> {
    if !caller.may_book() {
        return Err(ApiError::Forbidden("Only regulators hold and book slots.".into()));
    }
    let key = idempotency::key(&headers)?;
    let RawJson(bytes) = body?;
    let input: HoldInput = parse_json(&bytes)?;
    let (task_state, task_caller) = (state.clone(), caller.clone());
    idempotency::run(&state, &caller, "POST /api/v1/holds", key, &bytes, move || async move {
        let (state, caller) = (&task_state, &task_caller);
        let slot_id = input.slot_id.clone();
        let take = |taken_while_waiting| async move {
            let outcome = hold(state, caller, input, taken_while_waiting).await;
            let took = outcome.is_ok();
            (outcome, took)
        };
        state.slot_turns.run(&slot_id, take).await
    })
    .await
}

/// Holds the slot, in its turn among this process's holds and bookings of it (see `turns`).
async fn hold(
    state: &AppState,
    caller: &Caller,
    input: HoldInput,
    taken_while_waiting: bool,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    if taken_while_waiting {
        return Err(StoreError::SlotUnavailable.into());
    }
    let slot = state
        .store
        .get_slot(&input.slot_id)
        .await?
        .ok_or_else(|| ApiError::invalid("slot_id", format!("no slot with id {:?}", input.slot_id)))?;
    if slot.visibility == Visibility::Cpts && caller.role != crate::domain::access::Role::Admin {
        return Err(StoreError::SlotUnavailable.into());
    }
    let now = state.clock.now();
    let hold = Hold {
        id: new_id(),
        slot_id: slot.id.clone(),
        api_key_id: caller.key_id.clone(),
        created_at: now,
        expires_at: now + Duration::seconds(state.hold_seconds),
        released_at: None,
        booking_id: None,
    };
    state.store.create_hold(&hold, now).await?;
    // The slot as the hold left it: nothing to read back.
    let slot = Slot { status: SlotStatus::Held, updated_at: now, ..slot };
    tracing::info!(hold_id = %hold.id, slot_id = %slot.id, "slot held");
    audit::changed(
        state,
        caller,
        Change { action: "hold.create", target_type: "hold", target_ids: &[&hold.id], detail: None },
    )
    .await;
    let view = HoldView {
        id: hold.id,
        slot_id: slot.id.clone(),
        expires_at: utc_rfc3339(hold.expires_at),
        expires_at_local: local_rfc3339(hold.expires_at, slot.timezone),
        slot: SlotView::from(&slot),
    };
    Ok((StatusCode::CREATED, serde_json::to_value(view).expect("serialisable")))
}

#[utoipa::path(delete, path = "/api/v1/holds/{id}", tag = "booking", security(("api_key" = [])),
    params(("id" = String, Path, description = "Hold id")),
    responses((status = 204, description = "Released: the slot is free again"),
              (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, description = "hold_used", body = super::error::Problem)))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound(format!("No hold with id {id:?}."));
    let hold = state.store.get_hold(&id).await?.ok_or_else(not_found)?;
    if hold.api_key_id != caller.key_id && caller.role != crate::domain::access::Role::Admin {
        return Err(ApiError::Forbidden("A hold is released by the caller who made it.".into()));
    }
    state.store.release_hold(&id, state.clock.now()).await.map_err(|e| match e {
        StoreError::NotFound => not_found(),
        other => other.into(),
    })?;
    tracing::info!(hold_id = %id, "hold released");
    audit::changed(
        &state,
        &caller,
        Change { action: "hold.release", target_type: "hold", target_ids: &[&id], detail: None },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
