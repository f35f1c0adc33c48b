//! Probes for load balancers and orchestrators — alive, and ready (database answers, migrations applied) — and
//! the Prometheus metrics (counts only: nothing about any patient).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use crate::domain::notification::Channel;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers and this binary's migrations are applied.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "Database unreachable or migrations missing", body = super::error::Problem)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.check_ready().await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(Json(json!({"status": "ready", "database": state.store.backend()})))
}

/// Prometheus text exposition: the outbox backlog and its age, and messages sent or failed by channel. Derived
/// from the database, so every process reports the same totals.
#[utoipa::path(get, path = "/metrics", tag = "health", responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let now = state.clock.now();
    let stats = state.store.outbox_stats(now).await?;
    let oldest = stats.oldest_due.map_or(0.0, |due| (now - due).num_milliseconds().max(0) as f64 / 1000.0);
    let mut text = format!(
        "# HELP outbox_pending Messages due and not yet sent.\n# TYPE outbox_pending gauge\noutbox_pending {}\n\
         # HELP outbox_oldest_age_seconds How long the oldest due message has waited.\n\
         # TYPE outbox_oldest_age_seconds gauge\noutbox_oldest_age_seconds {oldest}\n\
         # HELP notifications_sent_total Messages sent, or given up (failed), by channel.\n\
         # TYPE notifications_sent_total counter\n",
        stats.backlog
    );
    for channel in Channel::ALL {
        for result in ["sent", "failed"] {
            let count =
                stats.outcomes.iter().find(|(c, r, _)| c == channel.as_str() && r == result).map_or(0, |(_, _, n)| *n);
            text.push_str(&format!(
                "notifications_sent_total{{channel=\"{}\",result=\"{result}\"}} {count}\n",
                channel.as_str()
            ));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}
