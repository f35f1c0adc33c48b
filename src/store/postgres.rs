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
    AbsenceRow, ApiKeyRow, AuditRow, BookableSlotRow, BookingRow, CancelLinkRow, CardPracticeRow, CardProfessionalRow,
    HoldRow, NotificationRow, PracticeRow, ProfessionalRow, RuleColumns, RuleRow, SessionRow, SlotInContextRow,
    SlotRow, UserRow, convert,
};
use super::shared::{ABANDONED_AFTER_SECONDS, impl_store};
use super::{
    BookingFilter, Cancellation, ClearedSlots, Idempotency, JournalCursor, JournalEntry, OutboxStats, PracticeFilter,
    ProfessionalFilter, RuleReplaced, ScopeFilter, SkipReason, SlotFilter, SlotInContext, StoreError, sql,
};
use crate::config::DatabaseSettings;
use crate::domain::access::Role;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::{AuditEvent, AuditFilter};
use crate::domain::availability::{Absence, AvailabilityRule};
use crate::domain::booking::{Booking, BookingStatus, Hold, Outcome};
use crate::domain::cancel_link::CancelLink;
use crate::domain::notification::{Attempt, Notification, RecordedAttempt};
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::search::{SearchRecord, SearchSnapshot};
use crate::domain::slot::Slot;
use crate::domain::user::{Session, User};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const LOCK_PROFESSIONALS: &str = "SELECT id FROM professionals WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";

/// A connection idle longer than this is pinged before use (the server may have restarted, or a firewall dropped
/// it); one in steady use is not — a ping is a round trip, as dear as the query it would precede.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

async fn ping_if_idle(
    conn: &mut sqlx::PgConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    if meta.idle_for >= PING_AFTER_IDLE {
        sqlx::Connection::ping(conn).await?;
    }
    Ok(true)
}

/// A setting of a side pool's sessions, made when each connection opens.
async fn session_setting(conn: &mut sqlx::PgConnection, statement: &'static str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, statement).await?;
    Ok(())
}

/// SQLSTATE of an exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";

pub struct PostgresStore {
    pool: PgPool,
    /// Search statistics: committed without waiting for the WAL flush (`synchronous_commit = off`). A crash may
    /// lose the last fraction of a second of them — never a booking — and a search does not wait for the disk.
    statistics: PgPool,
    /// The search index's reads (`routing::live`): the journal, read before searches — thousands of times a
    /// second under load — and the snapshots it reloads. Connections of their own, not queued behind bookings,
    /// on which every statement keeps the plan made when it was first prepared (`plan_cache_mode =
    /// force_generic_plan`): PostgreSQL planned the journal's read again at every execution — its generic
    /// plan looked dearer on paper than one made for the values — and planning took a third of its CPU while
    /// searching. A reload's statements read by key whatever the values (see `sql::SNAPSHOT_SLOTS_OF`); a full
    /// load's joins read every row either way (checked with `EXPLAIN` at national scale: the same hash joins).
    index_reads: PgPool,
}

impl PostgresStore {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let pool = Self::pool_options(settings.max_connections).connect(&settings.url).await?;
        let statistics = Self::pool_options(2)
            .after_connect(|conn, _| Box::pin(session_setting(conn, "SET synchronous_commit = off")))
            .connect_lazy(&settings.url)?;
        let index_reads = Self::pool_options(2)
            .after_connect(|conn, _| Box::pin(session_setting(conn, "SET plan_cache_mode = force_generic_plan")))
            .connect_lazy(&settings.url)?;
        Ok(Self { pool, statistics, index_reads })
    }

    fn pool_options(max_connections: u32) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(ping_if_idle(conn, meta)))
    }

    /// How a claim skips rows another worker is claiming: row locks, skipped rather than waited for.
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn migrator(&self) -> &'static Migrator {
        &MIGRATOR
    }

    /// Serialises writers of the same professionals' slots, always in id order (no deadlock). FOR NO KEY
    /// UPDATE does not block the foreign-key checks of other writers.
    async fn lock_professionals(tx: &mut Transaction<'static, Postgres>, ids: &[&str]) -> Result<(), StoreError> {
        sqlx::query(LOCK_PROFESSIONALS).bind(ids).execute(&mut **tx).await?;
        Ok(())
    }

    /// Membership in a list of ids bound as `$n`: a `text[]`. (A JSON text expanded by a set-returning function
    /// was parsed again each time the planner put it on the inner side of a nested loop — once per row of a
    /// growing table while its statistics still said it was small: a fifth of the database's CPU when
    /// publishing.)
    fn id_list_test(n: usize) -> String {
        format!("= ANY(${n}::text[])")
    }

    /// The value bound for [`Self::id_list_test`].
    fn id_list(ids: &[String]) -> Vec<String> {
        ids.to_vec()
    }

    /// A read transaction on one snapshot (READ COMMITTED would give each statement its own), for the search
    /// index.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.index_reads.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A transaction for search statistics, on their own connections (`synchronous_commit = off`).
    async fn begin_statistics(&self) -> Result<((), Transaction<'static, Postgres>), StoreError> {
        Ok(((), self.statistics.begin().await?))
    }

    /// Where a single write statement outside a transaction goes: any connection (PostgreSQL queues writers
    /// on the rows they touch).
    fn write_pool(&self) -> &PgPool {
        &self.pool
    }
}

fn is_exclusion_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some(EXCLUSION_VIOLATION))
}

impl_store!(PostgresStore, Postgres, "postgres", {
    /// Every transaction older than the oldest still running is over: a full load that starts now sees them.
    async fn search_journal_head(&self) -> Result<JournalCursor, StoreError> {
        let horizon: String = sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
            .fetch_one(&self.index_reads)
            .await?;
        let horizon: i64 = horizon.parse().map_err(|_| StoreError::Corrupt(format!("transaction id {horizon:?}")))?;
        // Just before the first entry of `horizon`.
        Ok(JournalCursor { txid: horizon - 1, seq: i64::MAX })
    }

    /// In (txid, seq) order; an entry is settled when its transaction is older than the oldest one running in
    /// the same snapshot, since then no entry can appear before it. (The order names the table's columns: the
    /// output column `txid` is the id as text, and sorted as text 10 came before 9 — a page ending on 11 left
    /// 9 behind the next page's cursor, unread.)
    async fn read_search_journal(&self, after: JournalCursor, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let rows: Vec<(String, i64, String, bool)> = sqlx::query_as(
            "SELECT j.txid::text, j.seq, j.professional_id, j.txid < pg_snapshot_xmin(pg_current_snapshot()) \
             FROM search_journal j WHERE (j.txid, j.seq) > (($1::text)::xid8, $2) ORDER BY j.txid, j.seq LIMIT $3",
        )
        .bind(after.txid.to_string())
        .bind(after.seq)
        .bind(i64::from(limit))
        .fetch_all(&self.index_reads)
        .await?;
        rows.into_iter()
            .map(|(txid, seq, professional_id, settled)| {
                let txid = txid.parse().map_err(|_| StoreError::Corrupt(format!("transaction id {txid:?}")))?;
                Ok(JournalEntry { cursor: JournalCursor { txid, seq }, professional_id, settled })
            })
            .collect()
    }

    /// Deletes the rows of transactions older than the horizon marked over an hour ago (all over for an hour at
    /// least, so replayed by every live process), then marks the horizon now.
    async fn prune_search_journal(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM search_journal WHERE txid < (SELECT MAX(horizon) FROM search_journal_marks \
             WHERE taken_at < clock_timestamp() - interval '1 hour')",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO search_journal_marks (taken_at, horizon) \
             VALUES (clock_timestamp(), pg_snapshot_xmin(pg_current_snapshot()))",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM search_journal_marks WHERE taken_at < clock_timestamp() - interval '3 hours'")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn insert_slots(&self, slots: &[Slot]) -> Result<(), StoreError> {
        match self.insert_slots_at_once(slots).await {
            // Which slot overlapped? The constraint does not say: insert one by one to find it (and to insert
            // after all if the overlapping slot has gone meanwhile).
            Err(StoreError::SlotOverlap { .. }) => self.insert_slots_one_by_one(slots).await,
            other => other,
        }
    }
});

impl PostgresStore {
    /// Takes the professionals' locks, in a stable order. Publishers of the same professional queue here:
    /// without this, two batches inserting overlapping slots in different orders wait on each other's
    /// exclusion checks and deadlock; with it, the second simply meets the first's committed slots (23P01).
    async fn begin_publishing(&self, slots: &[Slot]) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut professionals: Vec<&str> = slots.iter().map(|s| s.professional_id.as_str()).collect();
        professionals.sort_unstable();
        professionals.dedup();
        Self::lock_professionals(&mut tx, &professionals).await?;
        Self::refuse_deactivated(&mut tx, slots).await?;
        Ok(tx)
    }

    /// A direct booking: the slot's conditional UPDATE, then the booking's rows, in one transaction.
    async fn book_free_slot(
        &self,
        b: &Booking,
        now: DateTime<Utc>,
        messages: &[Notification],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let booked: Option<String> =
            sqlx::query_scalar(sql::BOOK_FREE_SLOT).bind(&b.slot_id).bind(now).fetch_optional(&mut *tx).await?;
        if booked.is_none() {
            drop(tx);
            return Err(self.slot_refusal(&b.slot_id).await);
        }
        Self::write_booking_records(&mut tx, b, messages, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A booking's outbox rows, inside the caller's transaction: one statement, however many messages.
    async fn insert_outbox(
        tx: &mut Transaction<'static, Postgres>,
        messages: &[Notification],
    ) -> Result<(), sqlx::Error> {
        if messages.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&Notification) -> String| messages.iter().map(f).collect::<Vec<String>>();
        let instants = |f: fn(&Notification) -> DateTime<Utc>| messages.iter().map(f).collect::<Vec<DateTime<Utc>>>();
        sqlx::query(sql::POSTGRES_INSERT_OUTBOX_UNNEST)
            .bind(column(|m| m.id.clone()))
            .bind(column(|m| m.booking_id.clone()))
            .bind(column(|m| m.channel.as_str().to_string()))
            .bind(column(|m| m.recipient.as_str().to_string()))
            .bind(column(|m| m.kind.as_str().to_string()))
            .bind(column(|m| m.address.clone()))
            .bind(instants(|m| m.due_at))
            .bind(column(|m| m.status.as_str().to_string()))
            .bind(messages.iter().map(|m| i32::try_from(m.attempts).unwrap_or(i32::MAX)).collect::<Vec<i32>>())
            .bind(instants(|m| m.created_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// A batch of search records in one statement, from column arrays.
    async fn insert_searches(
        tx: &mut Transaction<'static, Postgres>,
        records: &[SearchRecord],
    ) -> Result<(), sqlx::Error> {
        let text = |f: fn(&SearchRecord) -> Option<String>| records.iter().map(f).collect::<Vec<Option<String>>>();
        sqlx::query(sql::POSTGRES_INSERT_SEARCHES_UNNEST)
            .bind(records.iter().map(|r| r.id.clone()).collect::<Vec<String>>())
            .bind(records.iter().map(|r| r.created_at).collect::<Vec<DateTime<Utc>>>())
            .bind(records.iter().map(|r| r.api_key_id.clone()).collect::<Vec<String>>())
            .bind(text(|r| r.motif.clone()))
            .bind(text(|r| r.profession.clone()))
            .bind(text(|r| r.age_band.map(str::to_string)))
            .bind(text(|r| r.departement.clone()))
            .bind(records.iter().map(|r| r.delay_band.to_string()).collect::<Vec<String>>())
            .bind(text(|r| r.modality.map(|m| m.as_str().to_string())))
            .bind(records.iter().map(|r| r.radius_km).collect::<Vec<f64>>())
            .bind(records.iter().map(|r| r.widened).collect::<Vec<bool>>())
            .bind(records.iter().map(|r| i32::try_from(r.result_count).unwrap_or(i32::MAX)).collect::<Vec<i32>>())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The whole batch in one statement, from column arrays. An overlap is reported without its index.
    async fn insert_slots_at_once(&self, slots: &[Slot]) -> Result<(), StoreError> {
        let mut tx = self.begin_publishing(slots).await?;
        let column = |f: fn(&Slot) -> String| slots.iter().map(f).collect::<Vec<String>>();
        let instants = |f: fn(&Slot) -> DateTime<Utc>| slots.iter().map(f).collect::<Vec<DateTime<Utc>>>();
        let inserted = sqlx::query(sql::POSTGRES_INSERT_SLOTS_UNNEST)
            .bind(column(|s| s.id.clone()))
            .bind(column(|s| s.professional_id.clone()))
            .bind(column(|s| s.practice_id.clone()))
            .bind(instants(|s| s.start))
            .bind(instants(|s| s.end))
            .bind(column(|s| s.modality.as_str().to_string()))
            .bind(column(|s| s.visibility.as_str().to_string()))
            .bind(column(|s| s.status.as_str().to_string()))
            .bind(instants(|s| s.created_at))
            .bind(instants(|s| s.updated_at))
            .bind(slots.iter().map(|s| s.rule_id.clone()).collect::<Vec<Option<String>>>())
            .bind(
                slots.iter().map(|s| s.rule_version.map(|v| i32::try_from(v).unwrap_or(i32::MAX))).collect::<Vec<_>>(),
            )
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(error) if is_exclusion_violation(&error) => Err(StoreError::SlotOverlap { index: 0 }),
            Err(error) => Err(error.into()),
            Ok(_) => Ok(tx.commit().await?),
        }
    }

    async fn insert_slots_one_by_one(&self, slots: &[Slot]) -> Result<(), StoreError> {
        let mut tx = self.begin_publishing(slots).await?;
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
}
