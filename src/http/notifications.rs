//! Messages across bookings, for the people who watch over delivery (coordinators, admins): the ones that gave
//! up (`GET /api/v1/notifications?status=failed`) and sending one again (`POST …/{id}/retry`) once the cause is
//! fixed — a mail server back, a number corrected at the practice. A message whose address was erased by
//! retention cannot be sent again.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::error::ApiError;
use super::extract::Query;
use super::{AppState, page};
use crate::domain::access::Caller;
use crate::domain::notification::{self, Notification};
use crate::domain::time::utc_rfc3339;
use crate::store::StoreError;

/// One message about a booking, as the regulator, the professional and the coordinator see it (not its address).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    id: String,
    booking_id: String,
    channel: notification::Channel,
    recipient: notification::Recipient,
    kind: notification::Kind,
    status: notification::Delivery,
    /// Not sent before this instant (UTC).
    due_at: String,
    attempts: u32,
    last_error: Option<String>,
    sent_at: Option<String>,
}

impl From<&Notification> for NotificationView {
    fn from(m: &Notification) -> Self {
        NotificationView {
            id: m.id.clone(),
            booking_id: m.booking_id.clone(),
            channel: m.channel,
            recipient: m.recipient,
            kind: m.kind,
            status: m.status,
            due_at: utc_rfc3339(m.due_at),
            attempts: m.attempts,
            last_error: m.last_error.clone(),
            sent_at: m.sent_at.map(utc_rfc3339),
        }
    }
}

impl NotificationView {
    /// Without the provider's explanation, which may quote the address: its first word (a code) stays. Across
    /// bookings, whoever reads the list has not opened the booking (no `booking.view` event).
    fn redacted(mut self) -> Self {
        self.last_error = self.last_error.and_then(|e| e.split_whitespace().next().map(str::to_string));
        self
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `failed` (the only list kept across bookings: the others are read per booking).
    status: Option<String>,
    limit: Option<i64>,
}

fn check_role(caller: &Caller) -> Result<(), ApiError> {
    if caller.may_oversee_delivery() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Failed messages are followed by coordinators and admins.".into()))
    }
}

/// Messages that gave up, newest first (coordinators, admins).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "booking", security(("api_key" = [])), params(ListParams),
    responses((status = 200, body = [NotificationView]), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<Vec<NotificationView>>, ApiError> {
    check_role(&caller)?;
    if params.status.as_deref().unwrap_or("failed") != "failed" {
        return Err(ApiError::invalid("status", "only failed messages are listed across bookings"));
    }
    let page = page(params.limit, None)?;
    let messages = state.store.list_failed_notifications(page.limit).await?;
    Ok(axum::Json(messages.iter().map(|m| NotificationView::from(m).redacted()).collect()))
}

/// Sends a failed message again, now, with a fresh count of attempts.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/retry", tag = "booking", security(("api_key" = [])),
    params(("id" = String, Path, description = "Message id")),
    responses((status = 200, body = NotificationView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, description = "invalid_transition: not failed, or its address was erased",
               body = super::error::Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<NotificationView>, ApiError> {
    check_role(&caller)?;
    let not_found = || ApiError::NotFound(format!("No message with id {id:?}."));
    state.store.get_notification(&id).await?.ok_or_else(not_found)?;
    state.store.retry_notification(&id, state.clock.now()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::State {
            code: "invalid_transition",
            detail: "Only a failed message that still has its address, and whose booking still stands (or that \
                     tells of its cancellation), can be sent again."
                .into(),
        },
        other => other.into(),
    })?;
    audit::changed(
        &state,
        &caller,
        Change { action: "notification.retry", target_type: "notification", target_ids: &[&id], detail: None },
    )
    .await;
    let message = state.store.get_notification(&id).await?.ok_or_else(not_found)?;
    Ok(axum::Json(NotificationView::from(&message)))
}
