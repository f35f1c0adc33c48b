//! Extractors whose rejections speak our problem format: JSON bodies and query strings (with the failing field
//! named, via serde_path_to_error), and the authenticated caller (API key → role and scope).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::api_key;

/// A JSON body. Syntax errors → 400 `malformed_json`; wrong types, missing or unknown fields → 422 naming the
/// field (`slots[2].start`).
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let RawJson(bytes) = RawJson::from_request(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// 415 unless the body is declared as JSON (`application/json` or `application/…+json`).
pub fn require_json_content_type(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let is_json =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
            |mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            },
        );
    if is_json { Ok(()) } else { Err(ApiError::UnsupportedMediaType) }
}

/// A body read as bytes (to be hashed for idempotency) and parsed as JSON.
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_json_content_type(req.headers())?;
        Bytes::from_request(req, state).await.map(RawJson).map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })
    }
}

/// Deserialises a JSON document, classifying failures as the contract wants.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            // A shape error in a document that is not even valid JSON is still a syntax error.
            serde_json::error::Category::Data => match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => ApiError::Validation(vec![field_error(&path, &inner.to_string())]),
                Err(syntax) => ApiError::MalformedJson(syntax.to_string()),
            },
            _ => ApiError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    refuse_nul_characters(bytes)?;
    Ok(value)
}

/// A `\u0000` escape would put a NUL in stored text, which PostgreSQL refuses: reject it, naming the field.
/// The precise walk runs only when the cheap byte search finds a candidate.
fn refuse_nul_characters(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"u0000")) {
        return Ok(());
    }
    fn find(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(path),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, v)| find(v, format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if k.contains('\0') { Some(child) } else { find(v, child) }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    match find(&value, String::new()) {
        Some(field) => Err(ApiError::invalid(
            if field.is_empty() { "body".into() } else { field },
            "must not contain NUL characters",
        )),
        None => Ok(()),
    }
}

/// Turns serde's message into a field error, pointing at the missing or unknown field itself when serde names it.
fn field_error(path: &str, message: &str) -> FieldError {
    let message = message.split(" at line ").next().unwrap_or(message).to_string();
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let field = match (path, named) {
        // serde_path_to_error already ends the path with an unknown field's name.
        (_, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.to_string(),
        (".", Some(name)) => name.to_string(),
        (_, Some(name)) => format!("{path}.{name}"),
        (".", None) => "body".to_string(),
        (_, None) => path.to_string(),
    };
    FieldError::new(field, message)
}

/// Query parameters. Unknown parameters are refused (a misspelt filter must not silently return everything).
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(deserializer).map(Query).map_err(|error| {
            let path = error.path().to_string();
            ApiError::Validation(vec![field_error(&path, &error.into_inner().to_string())])
        })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The caller, authenticated by `Authorization: Bearer <api key>`; 401 otherwise.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|s| s.starts_with(api_key::KEY_PREFIX))
            .ok_or(ApiError::Unauthorized)?;
        let key = state
            .api_keys
            .find(state.store.as_ref(), &api_key::digest(secret), state.clock.now())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller {
            key_id: key.id,
            actor_kind: crate::domain::audit::ActorKind::ApiKey,
            role: key.role,
            professional_id: key.professional_id,
            practice_ids: key.practice_ids,
            request_id: parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string),
        })
    }
}
