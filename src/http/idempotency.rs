//! `Idempotency-Key` for `POST /holds` and `POST /bookings`: the same key and body replay the first answer —
//! also after a restart, since answers are stored — and the same key with another body is refused (422
//! `idempotency_key_reused`). A regulator whose network dropped mid-request retries safely.
//!
//! The key is reserved before the work is done (a concurrent duplicate gets 409 `idempotency_key_in_progress`
//! rather than doing it twice); answers are stored except server errors, which free the key for a retry.

use std::future::Future;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use crate::domain::access::Caller;
use crate::store::Idempotency;

pub const HEADER: &str = "idempotency-key";

/// The validated key of a request, if it has one.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255);
    match key {
        Some(k) if k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_string())),
        _ => Err(ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters.".into())),
    }
}

/// The request's fingerprint: its JSON re-serialised with sorted keys, so formatting does not matter.
fn fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body).map(|v| v.to_string()).unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let content_type = if status.is_success() { "application/json" } else { "application/problem+json" };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Runs `work` at most once per (caller, endpoint, key), replaying its stored answer afterwards.
///
/// With a key, the work and the storing of its answer run in a task of their own: if the client disconnects or
/// the request times out, the booking still completes and its answer is stored, so the retry replays it.
pub async fn run<F, Fut>(
    state: &AppState,
    caller: &Caller,
    endpoint: &'static str,
    key: Option<String>,
    body: &[u8],
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(StatusCode, serde_json::Value), ApiError>> + Send + 'static,
{
    let Some(key) = key else {
        let (status, value) = work().await?;
        return Ok(json_response(status, value.to_string()));
    };
    let hash = fingerprint(body);
    let now = state.clock.now();
    match state.store.reserve_idempotency_key(&caller.key_id, endpoint, &key, &hash, now).await? {
        Idempotency::Done { request_hash, status, body } if request_hash == hash => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = json_response(status, body);
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Idempotency::InProgress { request_hash } if request_hash == hash => Err(ApiError::State {
            code: "idempotency_key_in_progress",
            detail: "A request with this Idempotency-Key is still being processed; retry in a moment.".into(),
        }),
        Idempotency::Done { .. } | Idempotency::InProgress { .. } => Err(ApiError::IdempotencyKeyReused),
        Idempotency::New => {
            let store = state.store.clone();
            let caller_key = caller.key_id.clone();
            let task = tokio::spawn(async move {
                let outcome = work().await;
                let (status, stored) = match &outcome {
                    Ok((status, value)) => (*status, value.to_string()),
                    Err(error) => {
                        let (status, problem) = error.problem();
                        (status, serde_json::to_string(&problem).unwrap_or_default())
                    }
                };
                if status.is_server_error() {
                    store.forget_idempotency_key(&caller_key, endpoint, &key).await?;
                } else {
                    store.complete_idempotency_key(&caller_key, endpoint, &key, status.as_u16(), &stored).await?;
                }
                outcome
            });
            // A panic inside the work surfaces here; the key is then taken over after a while (store).
            let (status, value) =
                task.await.map_err(|e| ApiError::Internal(format!("idempotent work failed: {e}")))??;
            Ok(json_response(status, value.to_string()))
        }
    }
}
