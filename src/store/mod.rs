//! Storage: the `Store` trait and its two implementations, SQLite (embedded default) and PostgreSQL (several
//! server processes on one database). The only module with SQL.
//!
//! Guarantees that must hold under concurrency live in the database, not in Rust: PostgreSQL refuses
//! overlapping slots with an exclusion constraint; SQLite checks inside a `BEGIN IMMEDIATE` transaction, which
//! serialises writers. Both map the refusal to [`StoreError::SlotOverlap`] naming the batch index.

mod postgres;
mod rows;
mod shared;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::config::DatabaseSettings;
use crate::domain::api_key::ApiKey;
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::slot::{Slot, SlotStatus};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Slot `index` of a batch overlaps another live slot of the same professional.
    #[error("slot {index} overlaps another slot of the same professional")]
    SlotOverlap { index: usize },
    /// The slot is not in a state that allows the change.
    #[error("slot is {}", .status.as_str())]
    SlotNotFree { status: SlotStatus },
    /// A uniqueness rule was broken (e.g. the RPPS number is already registered).
    #[error("{0}")]
    Conflict(String),
    /// A referenced row does not exist.
    #[error("{0}")]
    MissingReference(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("migrations: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database refused a value (e.g. a NUL character in text on PostgreSQL).
    #[error("{0}")]
    InvalidValue(String),
    #[error("database: {0}")]
    Database(sqlx::Error),
}

/// Every driver error goes through [`shared::map_error`], reads included: constraint violations and refused
/// values never surface as a 500.
impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        shared::map_error(error)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Default)]
pub struct PracticeFilter {
    pub departement: Option<String>,
    pub page: Page,
}

#[derive(Debug, Clone, Default)]
pub struct ProfessionalFilter {
    /// Only this professional (a professional key's own scope).
    pub professional_id: Option<String>,
    /// Only professionals working at a practice this API key is bound to (a publisher's scope).
    pub within_practices_of_key: Option<String>,
    pub practice_id: Option<String>,
    pub profession: Option<String>,
    pub skill: Option<String>,
    pub page: Page,
}

#[derive(Debug, Clone, Default)]
pub struct SlotFilter {
    pub professional_id: Option<String>,
    pub practice_id: Option<String>,
    /// Restricts to the practices this API key is bound to (a publisher's scope).
    pub within_practices_of_key: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub status: Option<SlotStatus>,
    pub page: Page,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations (safe to call from several processes at once).
    async fn migrate(&self) -> Result<(), StoreError>;
    /// The database answers and every migration of this binary is applied.
    async fn check_ready(&self) -> Result<(), StoreError>;
    /// Whether no practice exists yet (the demo seeds only an empty database).
    async fn is_empty(&self) -> Result<bool, StoreError>;

    async fn insert_practice(&self, practice: &Practice) -> Result<(), StoreError>;
    async fn get_practice(&self, id: &str) -> Result<Option<Practice>, StoreError>;
    async fn list_practices(&self, filter: &PracticeFilter) -> Result<Vec<Practice>, StoreError>;

    async fn insert_professional(&self, professional: &Professional) -> Result<(), StoreError>;
    async fn get_professional(&self, id: &str) -> Result<Option<Professional>, StoreError>;
    async fn list_professionals(&self, filter: &ProfessionalFilter) -> Result<Vec<Professional>, StoreError>;

    /// Inserts all slots or none; [`StoreError::SlotOverlap`] names the first slot that overlaps.
    async fn insert_slots(&self, slots: &[Slot]) -> Result<(), StoreError>;
    async fn get_slot(&self, id: &str) -> Result<Option<Slot>, StoreError>;
    async fn list_slots(&self, filter: &SlotFilter) -> Result<Vec<Slot>, StoreError>;
    /// Withdraws a free slot; [`StoreError::SlotNotFree`] when it is held, booked or already withdrawn.
    async fn withdraw_slot(&self, id: &str, now: DateTime<Utc>) -> Result<Slot, StoreError>;

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// The unrevoked key with this digest.
    async fn find_api_key(&self, digest: &str) -> Result<Option<ApiKey>, StoreError>;
    /// Every key, revoked ones included (digests, never secrets).
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes a key at once; [`StoreError::NotFound`] for an unknown id. Revoking twice is harmless.
    async fn revoke_api_key(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
}

/// Opens the store named by the URL's scheme.
pub async fn connect(settings: &DatabaseSettings) -> Result<Arc<dyn Store>, StoreError> {
    if settings.url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(settings).await?))
    } else {
        Ok(Arc::new(PostgresStore::connect(settings).await?))
    }
}
