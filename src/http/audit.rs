//! Writing and reading the audit trail from the HTTP layer: handlers record each state change after it is done
//! ([`changed`]) and each view of patient details before it is shown ([`viewed`]: nothing is shown that could
//! not be traced); `GET /api/v1/audit` lists events for admins.
//!
//! A booking is recorded inside its own transaction ([`events`] handed to the store): one commit, and no
//! booking without its trail. Other changes are recorded after their transaction: if the trail cannot be
//! written then, the change stands and the failure is logged as an error (with the event, which holds ids
//! only). A view whose trail cannot be written is refused instead (503).

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::Query;
use super::views::PageInfo;
use super::{AppState, new_id, page};
use crate::domain::Validator;
use crate::domain::access::{Caller, Role};
use crate::domain::audit::{ActorKind, AuditEvent, AuditFilter};
use crate::domain::time::utc_rfc3339;

/// What was done to which records (one event per target).
pub struct Change<'a> {
    /// `booking.cancel`, `slots.publish`…
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_ids: &'a [&'a str],
    pub detail: Option<String>,
}

/// The events of a change, for a store method that writes them in the change's own transaction.
pub fn events(state: &AppState, caller: &Caller, change: &Change<'_>) -> Vec<AuditEvent> {
    let at = state.clock.now();
    change
        .target_ids
        .iter()
        .map(|target| AuditEvent {
            id: new_id(),
            at,
            actor_kind: caller.actor_kind,
            actor_id: Some(caller.key_id.clone()),
            role: Some(caller.role),
            action: change.action.to_string(),
            target_type: change.target_type.to_string(),
            target_id: Some(target.to_string()),
            request_id: caller.request_id.clone(),
            detail: change.detail.clone(),
        })
        .collect()
}

/// Records a change already made.
pub async fn changed(state: &AppState, caller: &Caller, change: Change<'_>) {
    append(state, events(state, caller, &change)).await;
}

/// Records several changes made by one request, in one write.
pub async fn changed_all(state: &AppState, caller: &Caller, changes: &[Change<'_>]) {
    append(state, changes.iter().flat_map(|change| events(state, caller, change)).collect()).await;
}

/// Records that patient details are about to be shown; refuses to show them if it cannot.
pub async fn viewed(state: &AppState, caller: &Caller, change: Change<'_>) -> Result<(), ApiError> {
    let events = events(state, caller, &change);
    state.store.append_audit(&events).await.map_err(|error| {
        tracing::error!(%error, action = change.action, "audit trail unavailable: patient details withheld");
        ApiError::Unavailable("The audit trail cannot be written: patient details are not shown.".into())
    })
}

/// Appends events of a change already made; a failure is logged, never returned.
pub async fn append(state: &AppState, events: Vec<AuditEvent>) {
    if let Err(error) = state.store.append_audit(&events).await {
        for event in &events {
            tracing::error!(%error, action = %event.action, target_type = %event.target_type,
                target_id = ?event.target_id, actor_id = ?event.actor_id, request_id = ?event.request_id,
                "audit event lost");
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Events of this actor (an API key's or a user's id).
    actor_id: Option<String>,
    /// `booking.view`, `booking.cancel`…
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    /// From this instant (RFC 3339), included.
    from: Option<String>,
    /// Until this instant, excluded.
    to: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    id: String,
    at: String,
    actor_kind: ActorKind,
    actor_id: Option<String>,
    role: Option<Role>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditList {
    events: Vec<AuditEventView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The audit trail, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = AuditList), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<AuditList>, ApiError> {
    if !caller.may_read_audit() {
        return Err(ApiError::Forbidden("The audit trail is read by admins.".into()));
    }
    let page = page(params.limit, params.offset)?;
    let mut v = Validator::new();
    let from = params.from.as_deref().and_then(|raw| v.check("from", super::slots::parse_instant(raw)));
    let to = params.to.as_deref().and_then(|raw| v.check("to", super::slots::parse_instant(raw)));
    v.finish()?;
    let filter = AuditFilter {
        actor_id: params.actor_id,
        action: params.action,
        target_type: params.target_type,
        target_id: params.target_id,
        from,
        to,
        limit: page.limit,
        offset: page.offset,
    };
    let events = state.store.list_audit(&filter).await?;
    Ok(axum::Json(AuditList {
        page: PageInfo::after(page.limit, page.offset, events.len()),
        events: events
            .into_iter()
            .map(|e| AuditEventView {
                id: e.id,
                at: utc_rfc3339(e.at),
                actor_kind: e.actor_kind,
                actor_id: e.actor_id,
                role: e.role,
                action: e.action,
                target_type: e.target_type,
                target_id: e.target_id,
                request_id: e.request_id,
                detail: e.detail,
            })
            .collect(),
    }))
}
