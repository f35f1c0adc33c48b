//! API keys: 256 random bits shown once, stored as a SHA-256 digest.
//!
//! A digest (not a slow password hash) is the right tool here: the secret has 256 bits of entropy, so it cannot
//! be guessed from its digest, and a fast lookup by digest keeps every request cheap.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::access::Role;

/// Prefix that makes keys recognisable in logs and secret scanners.
pub const KEY_PREFIX: &str = "snp_";

/// A freshly generated secret, to be shown once.
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// Builds the secret from 32 random bytes supplied by the caller (the domain does not read entropy).
    pub fn from_random_bytes(bytes: [u8; 32]) -> Self {
        Self(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// The stored form of a presented key.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub professional_id: Option<String>,
    pub practice_ids: Vec<String>,
    pub key_digest: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Checks the binding a role requires: a professional key names one professional, a publisher key at least
/// one practice, other roles neither.
pub fn check_binding(role: Role, professional_id: Option<&str>, practice_ids: &[String]) -> Result<(), String> {
    match role {
        Role::Professional if professional_id.is_none() => Err("a professional key must name its professional".into()),
        Role::Publisher if practice_ids.is_empty() => Err("a publisher key must name at least one practice".into()),
        Role::Professional | Role::Publisher => {
            if role == Role::Professional && !practice_ids.is_empty() {
                return Err("a professional key is bound to a professional, not to practices".into());
            }
            if role == Role::Publisher && professional_id.is_some() {
                return Err("a publisher key is bound to practices, not to a professional".into());
            }
            Ok(())
        }
        _ if professional_id.is_some() || !practice_ids.is_empty() => {
            Err(format!("a {} key is not bound to a professional or practices", role.as_str()))
        }
        _ => Ok(()),
    }
}
