//! `/api/v1/api-keys`: admins issue, list and revoke keys over HTTP, as `snp api-key …` does on the command
//! line. Secrets are returned once, at creation; listings show metadata only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
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
    only_admins(&caller)?;
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
    let detail = Some(issued.key.role.as_str().to_string());
    let change = Change { action: "api_key.create", target_type: "api_key", target_ids: &[&issued.key.id], detail };
    audit::changed(&state, &caller, change).await;
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

/// A key as listed: never its secret nor its digest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    id: String,
    role: Role,
    name: String,
    professional_id: Option<String>,
    practice_ids: Vec<String>,
    created_at: String,
    revoked_at: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
}

fn only_admins(caller: &Caller) -> Result<(), ApiError> {
    if caller.may_manage_api_keys() { Ok(()) } else { Err(ApiError::Forbidden("Only admins manage API keys.".into())) }
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", security(("api_key" = [])),
    responses((status = 200, body = ApiKeyList), (status = 403, body = super::error::Problem)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<axum::Json<ApiKeyList>, ApiError> {
    only_admins(&caller)?;
    let keys = state.store.list_api_keys().await?;
    let api_keys = keys
        .into_iter()
        .map(|k| ApiKeyView {
            id: k.id,
            role: k.role,
            name: k.name,
            professional_id: k.professional_id,
            practice_ids: k.practice_ids,
            created_at: utc_rfc3339(k.created_at),
            revoked_at: k.revoked_at.map(utc_rfc3339),
        })
        .collect();
    Ok(axum::Json(ApiKeyList { api_keys }))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", security(("api_key" = [])),
    params(("id" = String, Path, description = "API key id (not the secret)")),
    responses((status = 204, description = "Revoked: refused from now on by this server, and within http.api_key_cache_secs (2 s) by other servers sharing the database"),
              (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    only_admins(&caller)?;
    state.store.revoke_api_key(&id, state.clock.now()).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound(format!("No API key with id {id:?}.")),
        other => other.into(),
    })?;
    state.api_keys.forget(&id);
    tracing::info!(api_key_id = %id, revoked_by = %caller.key_id, "API key revoked");
    audit::changed(
        &state,
        &caller,
        Change { action: "api_key.revoke", target_type: "api_key", target_ids: &[&id], detail: None },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
