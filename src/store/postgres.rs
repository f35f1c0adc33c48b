//! PostgreSQL backend: how an installation grows to several `snp serve` processes on one database.
//!
//! The no-overlap rule is the exclusion constraint `slots_no_overlap` (btree_gist): two publishers racing with
//! overlapping batches cannot both commit; the loser's insert fails with SQLSTATE 23P01, mapped to
//! [`StoreError::SlotOverlap`] for the slot being inserted. Migrations take sqlx's advisory lock, so processes
//! starting together apply them once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::rows::{
    AbsenceRow, ApiKeyRow, BookingRow, CandidateRow, ContactRow, HoldRow, PracticeRow, ProfessionalRow, RuleColumns,
    RuleRow, SlotRow, convert,
};
use super::shared::{ABANDONED_AFTER_SECONDS, impl_store};
use super::{
    AbsenceEffects, BookingFilter, BoundingBox, Idempotency, PracticeFilter, ProfessionalFilter, RuleReplaced,
    ScopeFilter, SkipReason, SlotFilter, StoreError, sql,
};
use crate::config::DatabaseSettings;
use crate::domain::api_key::ApiKey;
use crate::domain::availability::{Absence, AvailabilityRule};
use crate::domain::booking::{Booking, BookingStatus, Hold, Outcome};
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::search::{Candidate, OverbookingContact, SearchRecord};
use crate::domain::slot::Slot;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const LOCK_PROFESSIONALS: &str = "SELECT id FROM professionals WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";

/// SQLSTATE of an exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&settings.url)
            .await?;
        Ok(Self { pool })
    }

    fn migrator(&self) -> &'static Migrator {
        &MIGRATOR
    }

    /// Serialises writers of the same professionals' slots, always in id order (no deadlock). FOR NO KEY
    /// UPDATE does not block the foreign-key checks of other writers.
    async fn lock_professionals(tx: &mut Transaction<'static, Postgres>, ids: &[&str]) -> Result<(), StoreError> {
        sqlx::query(LOCK_PROFESSIONALS).bind(ids).execute(&mut **tx).await?;
        Ok(())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

fn is_exclusion_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some(EXCLUSION_VIOLATION))
}

impl_store!(PostgresStore, Postgres, "postgres", {
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn insert_slots(&self, slots: &[Slot]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Publishers of the same professional queue here: without this, two batches inserting overlapping
        // slots in different orders wait on each other's exclusion checks and deadlock; with it, the second
        // simply meets the first's committed slots and fails with 23P01.
        let mut professionals: Vec<&str> = slots.iter().map(|s| s.professional_id.as_str()).collect();
        professionals.sort_unstable();
        professionals.dedup();
        Self::lock_professionals(&mut tx, &professionals).await?;
        for (index, slot) in slots.iter().enumerate() {
            if let Err(error) = Self::insert_slot(&mut tx, slot).await {
                return Err(if is_exclusion_violation(&error) {
                    StoreError::SlotOverlap { index }
                } else {
                    error.into()
                });
            }
        }
        tx.commit().await?;
        Ok(())
    }
});
