//! `/api/v1/bookings`: book a slot (directly or through a hold), read and list bookings, cancel, record the
//! outcome. The patient's details are personal health data: returned to those who may see them, never logged.
//!
//! The state machine: `confirmed` → `cancelled` (by the regulator or the professional; a slot still to come is
//! free again), or, once the slot has started, `confirmed` → `attended` / `no_show`. Anything else is 409
//! `invalid_transition` (or `too_early`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query, RawJson, parse_json};
use super::views::{PageInfo, SlotView};
use super::{ApiError, AppState, Lookups, idempotency, new_id, page};
use crate::domain::Validator;
use crate::domain::access::{Caller, Role};
use crate::domain::booking::{Booking, BookingStatus, Outcome, Patient, PatientInput, optional_text};
use crate::domain::notification::{self, Appointment};
use crate::domain::professional::Professional;
use crate::domain::slot::{Slot, SlotStatus, Visibility};
use crate::domain::time::utc_rfc3339;
use crate::store::{BookingFilter, Cancellation, SlotInContext, StoreError};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    /// Book this free slot directly…
    #[serde(default)]
    slot_id: Option<String>,
    /// …or the slot of this live hold.
    #[serde(default)]
    hold_id: Option<String>,
    patient: PatientInput,
    /// A reason of the catalogue (`GET /api/v1/motifs`).
    motif: String,
    /// Free text for the professional (never sent by SMS or email).
    #[serde(default)]
    note: Option<String>,
    /// The search this booking came from, for unmet-demand statistics.
    #[serde(default)]
    search_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatientView {
    first_name: String,
    last_name: String,
    birth_date: String,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfessionalSummary {
    id: String,
    name: String,
    profession: String,
    profession_title: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PracticeSummary {
    id: String,
    name: String,
    address: String,
    phone: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BookingView {
    id: String,
    status: BookingStatus,
    slot: SlotView,
    professional: ProfessionalSummary,
    practice: PracticeSummary,
    /// `null` once erased by the retention job (see `patient_erased_at`).
    patient: Option<PatientView>,
    /// When the patient's data, the note and the cancellation reason were erased (retention).
    patient_erased_at: Option<String>,
    motif: String,
    note: Option<String>,
    search_id: Option<String>,
    hold_id: Option<String>,
    created_at: String,
    cancelled_at: Option<String>,
    /// Who cancelled: an API key's id, or `patient` (through the link of their messages).
    cancelled_by: Option<String>,
    cancel_reason: Option<String>,
    outcome_at: Option<String>,
}

/// Renders a booking with its slot, professional and practice (read once per request through `lookups`).
async fn view(state: &AppState, lookups: &mut Lookups, booking: &Booking) -> Result<BookingView, ApiError> {
    let missing = || ApiError::Internal(format!("booking {} refers to missing rows", booking.id));
    let slot = state.store.get_slot(&booking.slot_id).await?.ok_or_else(missing)?;
    view_with_slot(state, lookups, booking, slot).await
}

/// Renders a booking whose slot is already known.
async fn view_with_slot(
    state: &AppState,
    lookups: &mut Lookups,
    booking: &Booking,
    slot: Slot,
) -> Result<BookingView, ApiError> {
    let missing = || ApiError::Internal(format!("booking {} refers to missing rows", booking.id));
    let professional = lookups.professional(state, &slot.professional_id).await?.ok_or_else(missing)?;
    let practice = lookups.practice(state, &slot.practice_id).await?.ok_or_else(missing)?;
    Ok(BookingView {
        id: booking.id.clone(),
        status: booking.status,
        slot: SlotView::from(&slot),
        professional: ProfessionalSummary {
            id: professional.id.clone(),
            name: professional.display_name(),
            profession_title: state
                .catalogue
                .professions
                .get(&professional.profession)
                .map(|d| d.title.clone())
                .unwrap_or_default(),
            profession: professional.profession,
        },
        practice: PracticeSummary {
            id: practice.id,
            name: practice.name,
            address: format!("{}, {} {}", practice.address, practice.postal_code, practice.commune),
            phone: practice.phone,
        },
        patient: booking.patient.as_ref().map(|p| PatientView {
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            birth_date: p.birth_date.format("%Y-%m-%d").to_string(),
            phone: p.phone.clone(),
            email: p.email.clone(),
        }),
        patient_erased_at: booking.patient_erased_at.map(utc_rfc3339),
        motif: booking.motif.clone(),
        note: booking.note.clone(),
        search_id: booking.search_id.clone(),
        hold_id: booking.hold_id.clone(),
        created_at: utc_rfc3339(booking.created_at),
        cancelled_at: booking.cancelled_at.map(utc_rfc3339),
        cancelled_by: booking.cancelled_by.clone(),
        cancel_reason: booking.cancel_reason.clone(),
        outcome_at: booking.outcome_at.map(utc_rfc3339),
    })
}

#[utoipa::path(post, path = "/api/v1/bookings", tag = "booking", request_body = BookingInput, security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same body")),
    responses((status = 201, body = BookingView), (status = 403, body = super::error::Problem),
              (status = 409, description = "slot_unavailable, hold_expired, hold_used", body = super::error::Problem),
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
    let input: BookingInput = parse_json(&bytes)?;
    let (task_state, task_caller) = (state.clone(), caller.clone());
    let response = idempotency::run(&state, &caller, "POST /api/v1/bookings", key, &bytes, move || async move {
        book(&task_state, &task_caller, input).await
    })
    .await?;
    trace_replayed_booking(&state, &caller, response).await
}

/// A replayed answer shows the patient's details again: that view is traced like any other.
async fn trace_replayed_booking(state: &AppState, caller: &Caller, response: Response) -> Result<Response, ApiError> {
    if !response.headers().contains_key("idempotent-replayed") || !response.status().is_success() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::Internal(format!("reading a stored answer: {e}")))?;
    let stored: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let Some(id) = stored["id"].as_str() {
        let change =
            Change { action: "booking.view", target_type: "booking", target_ids: &[id], detail: Some("replay".into()) };
        audit::viewed(state, caller, change).await?;
    }
    Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
}

async fn book(
    state: &AppState,
    caller: &Caller,
    input: BookingInput,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    // Direct bookings of one slot take turns in this process (see `turns`); a hold already makes its slot ours.
    match (&input.slot_id, &input.hold_id) {
        (Some(slot_id), None) => {
            let slot_id = slot_id.clone();
            let take = |taken_while_waiting| async move {
                let outcome = book_in_turn(state, caller, input, taken_while_waiting).await;
                let took = outcome.is_ok();
                (outcome, took)
            };
            state.slot_turns.run(&slot_id, take).await
        }
        _ => book_in_turn(state, caller, input, false).await,
    }
}

async fn book_in_turn(
    state: &AppState,
    caller: &Caller,
    input: BookingInput,
    taken_while_waiting: bool,
) -> Result<(StatusCode, serde_json::Value), ApiError> {
    let now = state.clock.now();
    let mut v = Validator::new();
    let patient = Patient::parse(&input.patient, now.date_naive(), &mut v);
    let note = v.check("note", optional_text(input.note.as_deref(), 1000)).flatten();
    let search_id = v.check("search_id", optional_text(input.search_id.as_deref(), 100)).flatten();
    let motif = state.motifs.get(&input.motif);
    if motif.is_none() {
        v.push("motif", format!("unknown motif {:?} (see GET /api/v1/motifs)", input.motif));
    }
    // Another request of this process booked or held the slot while this one waited for its turn: refused
    // without a read, as the conditional UPDATE would refuse it (unless the request is invalid anyway).
    if taken_while_waiting && v.is_empty() {
        return Err(StoreError::SlotUnavailable.into());
    }
    // The slot, with its professional and practice in the same read: named directly, or through a hold of this
    // caller.
    let context: Option<SlotInContext> = match (&input.slot_id, &input.hold_id) {
        (Some(_), Some(_)) | (None, None) => {
            v.push("slot_id", "give either slot_id or hold_id");
            None
        }
        (Some(slot_id), None) => {
            let context = state.store.get_slot_in_context(slot_id).await?;
            if context.is_none() {
                v.push("slot_id", format!("no slot with id {slot_id:?}"));
            }
            context
        }
        (None, Some(hold_id)) => match state.store.get_hold(hold_id).await? {
            None => {
                v.push("hold_id", format!("no hold with id {hold_id:?}"));
                None
            }
            Some(hold) if hold.api_key_id != caller.key_id && caller.role != Role::Admin => {
                return Err(ApiError::Forbidden("A hold is used by the caller who made it.".into()));
            }
            Some(hold) => {
                let context = state.store.get_slot_in_context(&hold.slot_id).await?;
                if context.is_none() {
                    v.push("hold_id", "the held slot no longer exists: search again");
                }
                context
            }
        },
    };
    // A slot already taken is refused at once — most racers for a hot slot lose — without the database's writer
    // (the conditional UPDATE would refuse it the same way). So for such a slot a 409 comes before the checks
    // of the reason and the age: the slot is gone either way.
    if input.hold_id.is_none() && v.is_empty() && context.as_ref().is_some_and(|c| c.slot.taken_or_past(now)) {
        return Err(StoreError::SlotUnavailable.into());
    }
    // The slot must suit the reason: profession, skills, and the patient's age on the day.
    if let (Some(SlotInContext { slot, professional, .. }), Some(motif), Some(patient)) = (&context, motif, &patient) {
        let age = patient.age_in_months(slot.start.with_timezone(&slot.timezone).date_naive());
        let fits = motif.professions.contains(&professional.profession)
            && motif.skills.iter().all(|s| professional.skills.contains(s));
        if !fits {
            v.push("motif", "this slot's professional does not see patients for this reason");
        }
        if !professional.sees_age(age) {
            v.push("patient.birth_date", "this professional does not see patients of this age");
        }
        let too_young = motif.min_age_months.is_some_and(|min| age < min as i32);
        let too_old = motif.max_age_months.is_some_and(|max| age >= max as i32);
        if too_young || too_old {
            v.push("patient.birth_date", "the patient's age is outside this reason's bounds");
        }
    }
    v.finish()?;
    let SlotInContext { slot, professional, practice } = context.expect("checked");
    if slot.visibility == Visibility::Cpts && caller.role != Role::Admin {
        return Err(StoreError::SlotUnavailable.into());
    }
    let booking = Booking {
        id: new_id(),
        slot_id: slot.id.clone(),
        hold_id: input.hold_id.clone(),
        status: BookingStatus::Confirmed,
        patient: Some(patient.expect("checked")),
        motif: input.motif,
        note,
        search_id,
        booked_by: caller.key_id.clone(),
        created_at: now,
        updated_at: now,
        cancelled_at: None,
        cancelled_by: None,
        cancel_reason: None,
        outcome_at: None,
        patient_erased_at: None,
    };
    let appointment = appointment(&booking, &slot, Some(&professional));
    let messages = notification::on_booking(&appointment, &state.reminders, now, new_id);
    if booking.search_id.is_some() {
        // The search's record may still be queued: written first, so that the booking links to it.
        state.search_log.flush().await;
    }
    let change = Change { action: "booking.create", target_type: "booking", target_ids: &[&booking.id], detail: None };
    state.store.create_booking(&booking, now, &messages, &audit::events(state, caller, &change)).await?;
    tracing::info!(booking_id = %booking.id, slot_id = %booking.slot_id, "booking confirmed");
    // The booking as committed, its slot now booked: nothing to read back.
    let slot = Slot { status: SlotStatus::Booked, updated_at: now, ..slot };
    let mut lookups = Lookups::default();
    lookups.know_professional(&slot.professional_id, Some(professional));
    lookups.know_practice(&slot.practice_id, Some(practice));
    let view = view_with_slot(state, &mut lookups, &booking, slot).await?;
    Ok((StatusCode::CREATED, serde_json::to_value(view).expect("serialisable")))
}

/// The booked appointment as its messages need it.
pub(super) fn appointment<'a>(
    booking: &'a Booking,
    slot: &Slot,
    professional: Option<&'a Professional>,
) -> Appointment<'a> {
    Appointment {
        booking,
        start: slot.start,
        timezone: slot.timezone,
        professional_email: professional.and_then(|p| p.email.as_deref()),
        professional_phone: professional.and_then(|p| p.phone.as_deref()),
    }
}

/// Loads a booking and its slot, checking the caller may see it.
async fn readable(state: &AppState, caller: &Caller, id: &str) -> Result<(Booking, Slot), ApiError> {
    let not_found = || ApiError::NotFound(format!("No booking with id {id:?}."));
    let booking = state.store.get_booking(id).await?.ok_or_else(not_found)?;
    let slot = state.store.get_slot(&booking.slot_id).await?.ok_or_else(not_found)?;
    if !caller.may_read_bookings(&slot.professional_id) {
        return Err(ApiError::Forbidden("This key may not see this booking.".into()));
    }
    Ok((booking, slot))
}

#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "booking", security(("api_key" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<BookingView>, ApiError> {
    let (booking, _) = readable(&state, &caller, &id).await?;
    let change = Change { action: "booking.view", target_type: "booking", target_ids: &[&id], detail: None };
    audit::viewed(&state, &caller, change).await?;
    Ok(axum::Json(view(&state, &mut Lookups::default(), &booking).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    professional_id: Option<String>,
    /// Bookings whose slot starts at or after this instant (RFC 3339).
    from: Option<String>,
    /// … and before this one.
    to: Option<String>,
    /// confirmed, cancelled, attended or no_show.
    status: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BookingList {
    bookings: Vec<BookingView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(get, path = "/api/v1/bookings", tag = "booking", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = BookingList), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<BookingList>, ApiError> {
    let page = page(params.limit, params.offset)?;
    let mut v = Validator::new();
    let from = params.from.as_deref().and_then(|raw| v.check("from", super::slots::parse_instant(raw)));
    let to = params.to.as_deref().and_then(|raw| v.check("to", super::slots::parse_instant(raw)));
    let status = params.status.as_deref().and_then(|raw| {
        v.check(
            "status",
            BookingStatus::parse(raw).ok_or_else(|| "expected confirmed, cancelled, attended or no_show".into()),
        )
    });
    v.finish()?;
    let professional_id = match caller.role {
        Role::Admin | Role::Coordinator | Role::Regulator => params.professional_id,
        Role::Professional => {
            let own = caller.professional_id.clone();
            if params.professional_id.is_some() && params.professional_id != own {
                return Err(ApiError::Forbidden("A professional key lists its own bookings only.".into()));
            }
            own
        }
        Role::Publisher => return Err(ApiError::Forbidden("Agenda software does not read bookings.".into())),
    };
    let filter = BookingFilter { professional_id, from, to, status, page: page.clone() };
    let bookings = state.store.list_bookings(&filter).await?;
    let ids: Vec<&str> = bookings.iter().map(|b| b.id.as_str()).collect();
    let change =
        Change { action: "booking.view", target_type: "booking", target_ids: &ids, detail: Some("list".into()) };
    audit::viewed(&state, &caller, change).await?;
    let mut views = Vec::with_capacity(bookings.len());
    let mut lookups = Lookups::default();
    for booking in &bookings {
        views.push(view(&state, &mut lookups, booking).await?);
    }
    Ok(axum::Json(BookingList { page: PageInfo::after(page.limit, page.offset, bookings.len()), bookings: views }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "booking", request_body = CancelInput,
    security(("api_key" = [])), params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, description = "invalid_transition", body = super::error::Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<CancelInput>, ApiError>,
) -> Result<axum::Json<BookingView>, ApiError> {
    let (booking, slot) = readable(&state, &caller, &id).await?;
    if !caller.may_cancel_booking(&slot.professional_id) {
        return Err(ApiError::Forbidden("Bookings are cancelled by the regulator or the professional.".into()));
    }
    let Json(input) = body?;
    let reason = optional_text(input.reason.as_deref(), 500).map_err(|m| ApiError::invalid("reason", m))?;
    let now = state.clock.now();
    let professional = state.store.get_professional(&slot.professional_id).await?;
    let appointment = appointment(&booking, &slot, professional.as_ref());
    let messages = notification::on_cancellation(&appointment, now, new_id);
    let cancellation =
        Cancellation { booking_id: &id, by: &caller.key_id, reason: reason.as_deref(), link_digest: None };
    state.store.cancel_booking(&cancellation, now, &messages).await?;
    tracing::info!(booking_id = %id, "booking cancelled");
    audit::changed(
        &state,
        &caller,
        Change { action: "booking.cancel", target_type: "booking", target_ids: &[&id], detail: None },
    )
    .await;
    let booking = state.store.get_booking(&id).await?.ok_or_else(|| ApiError::Internal("booking vanished".into()))?;
    Ok(axum::Json(view(&state, &mut Lookups::default(), &booking).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    outcome: Outcome,
}

#[utoipa::path(post, path = "/api/v1/bookings/{id}/outcome", tag = "booking", request_body = OutcomeInput,
    security(("api_key" = [])), params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = BookingView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, description = "invalid_transition or too_early", body = super::error::Problem)))]
pub async fn outcome(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<OutcomeInput>, ApiError>,
) -> Result<axum::Json<BookingView>, ApiError> {
    let (_, slot) = readable(&state, &caller, &id).await?;
    if !caller.may_record_outcome(&slot.professional_id) {
        return Err(ApiError::Forbidden("The outcome is recorded by the professional.".into()));
    }
    let Json(input) = body?;
    state.store.record_outcome(&id, input.outcome, state.clock.now()).await?;
    tracing::info!(booking_id = %id, "booking outcome recorded");
    let detail = Some(input.outcome.status().as_str().to_string());
    audit::changed(
        &state,
        &caller,
        Change { action: "booking.outcome", target_type: "booking", target_ids: &[&id], detail },
    )
    .await;
    let booking = state.store.get_booking(&id).await?.ok_or_else(|| ApiError::Internal("booking vanished".into()))?;
    Ok(axum::Json(view(&state, &mut Lookups::default(), &booking).await?))
}

#[utoipa::path(get, path = "/api/v1/bookings/{id}/notifications", tag = "booking", security(("api_key" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses((status = 200, body = [super::notifications::NotificationView]), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn notifications(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<super::notifications::NotificationView>>, ApiError> {
    readable(&state, &caller, &id).await?;
    let messages = state.store.list_notifications(&id).await?;
    Ok(axum::Json(messages.iter().map(super::notifications::NotificationView::from).collect()))
}
