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

/// The keys this process has recently seen valid, so that a request costs no database round trip to
/// authenticate (a search costs a fraction of a millisecond; the lookup cost as much as the search itself).
///
/// Only valid keys are kept, each for `ttl` after it was read (by the injected clock; a clock set back makes a
/// reading stale, never younger): a new key works at once everywhere (a miss asks
/// the database), a key revoked through this process is refused at once ([`KeyCache::forget`]), and one revoked
/// through another process sharing the database is refused here within `ttl`. A zero `ttl` turns the cache off.
pub struct KeyCache {
    ttl: chrono::Duration,
    entries: std::sync::Mutex<CachedKeys>,
}

#[derive(Default)]
struct CachedKeys {
    by_digest: std::collections::HashMap<String, (ApiKey, DateTime<Utc>)>,
    /// Bumped by each [`KeyCache::forget`]: a lookup that read the database before a revocation committed must
    /// not put the key back after it was forgotten.
    revocations: u64,
}

/// Beyond this many keys the expired ones are dropped, then all if none had expired: memory stays bounded
/// whatever keys are presented (only valid ones are stored, so this is a deployment's key count, not an attack's).
const KEY_CACHE_CAPACITY: usize = 10_000;

impl KeyCache {
    pub fn new(ttl: chrono::Duration) -> Self {
        KeyCache { ttl, entries: Default::default() }
    }

    /// Whether a key read at `read` may still vouch for itself at `now`.
    fn fresh(&self, read: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        read <= now && now - read < self.ttl
    }

    /// The valid key with this digest, from memory when read less than `ttl` before `now`, else from the store.
    pub async fn find(
        &self,
        store: &dyn Store,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, StoreError> {
        let revocations = {
            let cached = self.lock();
            if let Some((key, read)) = cached.by_digest.get(digest)
                && self.fresh(*read, now)
            {
                return Ok(Some(key.clone()));
            }
            cached.revocations
        };
        let key = store.find_api_key(digest).await?;
        let Some(key) = key else {
            self.lock().by_digest.remove(digest); // revoked: no earlier reading may vouch for it again
            return Ok(None);
        };
        if self.ttl > chrono::Duration::zero() {
            let mut cached = self.lock();
            if cached.revocations != revocations {
                return Ok(Some(key)); // valid when read; not kept, it may be the one just revoked
            }
            if cached.by_digest.len() >= KEY_CACHE_CAPACITY {
                cached.by_digest.retain(|_, (_, read)| self.fresh(*read, now));
                if cached.by_digest.len() >= KEY_CACHE_CAPACITY {
                    cached.by_digest.clear();
                }
            }
            cached.by_digest.insert(digest.to_string(), (key.clone(), now));
        }
        Ok(Some(key))
    }

    /// Drops the key with this id (revoked through this process): its next use asks the database.
    pub fn forget(&self, key_id: &str) {
        let mut cached = self.lock();
        cached.by_digest.retain(|_, (key, _)| key.id != key_id);
        cached.revocations += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CachedKeys> {
        // The map holds plain data, whole after any panic: a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
