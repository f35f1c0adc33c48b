//! Issuing API keys, shared by `snp api-key create`, the HTTP API and the demo: draws 256 random bits, checks
//! the role's binding against the store, stores only the digest, and hands the secret back once.

use chrono::{DateTime, Utc};

use crate::domain::access::Role;
use crate::domain::api_key::{ApiKey, ApiKeySecret, check_binding};
use crate::domain::{Error, Validator};
use crate::store::{Store, StoreError};

/// What to issue.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    pub role: Role,
    pub name: String,
    pub professional_id: Option<String>,
    pub practice_ids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Invalid(#[from] Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the system's random source failed: {0}")]
    Entropy(String),
}

/// A stored key and its secret, which exists nowhere else after this returns.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: ApiKeySecret,
}

pub async fn issue(store: &dyn Store, request: KeyRequest, now: DateTime<Utc>) -> Result<IssuedKey, IssueError> {
    let mut v = Validator::new();
    let name = request.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        v.push("name", "a key needs a name of 1 to 100 characters (who or what uses it)");
    }
    if let Err(message) = check_binding(request.role, request.professional_id.as_deref(), &request.practice_ids) {
        v.push("role", message);
    }
    if let Some(id) = &request.professional_id
        && store.get_professional(id).await?.is_none()
    {
        v.push("professional_id", format!("no professional with id {id:?}"));
    }
    let mut practice_ids: Vec<String> = Vec::new();
    for (i, id) in request.practice_ids.iter().enumerate() {
        if store.get_practice(id).await?.is_none() {
            v.push(&format!("practice_ids[{i}]"), format!("no practice with id {id:?}"));
        } else if !practice_ids.contains(id) {
            practice_ids.push(id.clone());
        }
    }
    v.finish()?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| IssueError::Entropy(e.to_string()))?;
    let secret = ApiKeySecret::from_random_bytes(bytes);
    let key = ApiKey {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        role: request.role,
        professional_id: request.professional_id,
        practice_ids,
        key_digest: secret.digest(),
        created_at: now,
        revoked_at: None,
    };
    store.insert_api_key(&key).await?;
    Ok(IssuedKey { key, secret })
}
