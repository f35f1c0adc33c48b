//! The API's one error type and its one mapping to HTTP: RFC 9457 `application/problem+json` with a stable
//! machine `code`, a human `detail`, and for validation failures the list of fields.
//!
//! Server errors get a generic body; their detail goes to the log, inside the request's span (which carries the
//! request id that the response's `x-request-id` header gives back to the client).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{self, FieldError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("slot overlap")]
    SlotOverlap(Vec<FieldError>),
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A 409 with its own stable code: slot_unavailable, hold_expired, hold_used, invalid_transition, too_early,
    /// idempotency_key_in_progress.
    #[error("{code}: {detail}")]
    State { code: &'static str, detail: String },
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem document (RFC 9457) with our extensions `code` and `errors`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable: validation_failed, not_found, conflict, slot_overlap, unauthorized, …
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON"),
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request", "Bad request"),
            UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Unsupported media type")
            }
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large"),
            Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Validation failed"),
            SlotOverlap(_) => (StatusCode::UNPROCESSABLE_ENTITY, "slot_overlap", "Overlapping slots"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            State { code, .. } => (StatusCode::CONFLICT, code, "Conflict"),
            IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", "Idempotency key reused")
            }
            Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error"),
        }
    }

    fn detail(&self) -> String {
        use ApiError::*;
        match self {
            MalformedJson(m) => format!("The request body is not valid JSON: {m}"),
            BadRequest(m) | Forbidden(m) | NotFound(m) | Conflict(m) => m.clone(),
            State { detail, .. } => detail.clone(),
            IdempotencyKeyReused => "This Idempotency-Key was used with another request body: use a new key.".into(),
            UnsupportedMediaType => "Send the body as JSON with Content-Type: application/json.".into(),
            PayloadTooLarge => "The request body is larger than this server accepts.".into(),
            Validation(_) => "Some fields are invalid; see errors.".into(),
            SlotOverlap(_) => "A slot overlaps another slot of the same professional; nothing was published.".into(),
            Unauthorized => "A valid API key is required: Authorization: Bearer <key>.".into(),
            MethodNotAllowed => "This method is not allowed on this resource.".into(),
            // Never leak internals: the log has them.
            Unavailable(_) => "The service cannot answer right now; try again shortly.".into(),
            Internal(_) => "An unexpected error occurred; it has been logged with this request's id.".into(),
        }
    }

    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }
}

impl ApiError {
    /// The status and problem document of this error (what `into_response` sends; idempotency stores it).
    pub fn problem(&self) -> (StatusCode, Problem) {
        let (status, code, title) = self.parts();
        let errors = match self {
            ApiError::Validation(e) | ApiError::SlotOverlap(e) => Some(e.clone()),
            _ => None,
        };
        let problem = Problem {
            kind: format!("https://snp.dev/problems/{code}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            code,
            errors,
        };
        (status, problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.problem();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<domain::Error> for ApiError {
    fn from(error: domain::Error) -> Self {
        match error {
            domain::Error::Invalid(errors) => ApiError::Validation(errors),
        }
    }
}

/// Account errors (the console's account pages): refusals as field errors, a taken login as a conflict.
impl From<crate::accounts::AccountError> for ApiError {
    fn from(error: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        match error {
            AccountError::Invalid(error) => error.into(),
            AccountError::Store(StoreError::Conflict(_)) => {
                ApiError::Conflict("An account with this login exists already.".into())
            }
            AccountError::Store(error) => error.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound("No such resource.".into()),
            StoreError::SlotOverlap { index } => ApiError::SlotOverlap(vec![FieldError::new(
                format!("slots[{index}]"),
                "overlaps another slot of this professional",
            )]),
            StoreError::Deactivated { index } => ApiError::Validation(vec![FieldError::new(
                format!("slots[{index}]"),
                "its professional or practice has just been deactivated, or the professional left the practice",
            )]),
            StoreError::SlotNotFree { status } => {
                ApiError::Conflict(format!("The slot is {} and cannot be changed this way.", status.as_str()))
            }
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::MissingReference(message) => ApiError::invalid("body", message),
            StoreError::InvalidValue(message) => ApiError::BadRequest(message),
            StoreError::SlotUnavailable => ApiError::State {
                code: "slot_unavailable",
                detail: "This slot is no longer available (held, booked, withdrawn or already started): search again."
                    .into(),
            },
            StoreError::HoldExpired => ApiError::State {
                code: "hold_expired",
                detail: "The hold lapsed or was released: hold the slot again if it is still free.".into(),
            },
            StoreError::HoldUsed => {
                ApiError::State { code: "hold_used", detail: "This hold was already used for a booking.".into() }
            }
            StoreError::InvalidTransition { status } => ApiError::State {
                code: "invalid_transition",
                detail: format!("The booking is {}: this change is not possible.", status.as_str()),
            },
            StoreError::TooEarly => ApiError::State {
                code: "too_early",
                detail: "An outcome is recorded once the appointment has started.".into(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}
