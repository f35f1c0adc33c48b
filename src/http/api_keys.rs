//! `/api/v1/api-keys`: admins issue keys over HTTP as `snp api-key create` does on the command line.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::extract::Json;
use super::{ApiError, AppState};
use crate::api_keys::{IssueError, KeyRequest, issue};
use crate::domain::access::{Caller, Role};
use crate::domain::time::utc_rfc3339;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    role: Role,
    /// Who or what uses the key ("Logiciel Doctolib MSP Caucriauville", "SAS 76 poste 3").
    name: String,
    /// Required for the `professional` role.
    #[serde(default)]
    professional_id: Option<String>,
    /// Required for the `publisher` role.
    #[serde(default)]
    practice_ids: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedKeyView {
    id: String,
    /// The secret, shown this once: only its digest is stored.
    key: String,
    role: Role,
    name: String,
    professional_id: Option<String>,
    practice_ids: Vec<String>,
    created_at: String,
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = KeyInput, security(("api_key" = [])),
    responses((status = 201, body = IssuedKeyView), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<KeyInput>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.may_manage_api_keys() {
        return Err(ApiError::Forbidden("Only admins issue API keys.".into()));
    }
    let Json(input) = body?;
    let request = KeyRequest {
        role: input.role,
        name: input.name,
        professional_id: input.professional_id,
        practice_ids: input.practice_ids,
    };
    let issued = issue(state.store.as_ref(), request, state.clock.now()).await.map_err(|e| match e {
        IssueError::Invalid(e) => ApiError::from(e),
        IssueError::Store(e) => ApiError::from(e),
        IssueError::Entropy(m) => ApiError::Internal(m),
    })?;
    tracing::info!(api_key_id = %issued.key.id, role = issued.key.role.as_str(), issued_by = %caller.key_id, "API key issued");
    let key = issued.key;
    Ok((
        StatusCode::CREATED,
        axum::Json(IssuedKeyView {
            id: key.id,
            key: issued.secret.expose().to_string(),
            role: key.role,
            name: key.name,
            professional_id: key.professional_id,
            practice_ids: key.practice_ids,
            created_at: utc_rfc3339(key.created_at),
        }),
    ))
}
