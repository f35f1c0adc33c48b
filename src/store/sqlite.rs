//! SQLite backend: the embedded default. WAL journal, a busy timeout, foreign keys on, `synchronous=FULL`
//! (an acknowledged write survives a power cut), and every write transaction opened with `BEGIN IMMEDIATE` so
//! writers queue on the lock up front instead of failing half-way with SQLITE_BUSY.
//!
//! SQLite has one writer at a time, and a writer that finds the lock taken waits in its busy handler — by
//! sleeping 1, 2, 5, 10… ms and trying again, leaving the lock idle meanwhile. So this process writes through a
//! single connection of its own: its writers queue in order on that connection (an async wait, handed over the
//! moment the previous transaction ends), and the busy handler only serves against other processes. Reads use
//! the other connections, which WAL never blocks.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::rows::{
    AbsenceRow, ApiKeyRow, AuditRow, BookableSlotRow, BookingRow, CancelLinkRow, CardPracticeRow, CardProfessionalRow,
    HoldRow, NotificationRow, PracticeRow, ProfessionalRow, RuleColumns, RuleRow, SessionRow, SlotInContextRow,
    SlotRow, UserRow, convert,
};
use super::shared::{ABANDONED_AFTER_SECONDS, bind_slot_columns, impl_store};
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
use crate::domain::slot::{Slot, SlotStatus};
use crate::domain::user::{Session, User};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    /// Reads (and nothing else: see the module's header).
    pool: SqlitePool,
    /// The one connection every write of this process goes through.
    writer: SqlitePool,
    /// Search statistics: committed without waiting for the disk (`synchronous=NORMAL`, durable at the next
    /// checkpoint). A power cut may lose the last of them — never a booking — and a search does not wait for
    /// an fsync.
    statistics: SqlitePool,
    /// A read-only connection used on the caller's thread, for [`Store::search_journal_head_at_hand`] only.
    journal_probe: Option<std::sync::Mutex<rusqlite::Connection>>,
}

impl SqliteStore {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StoreError> {
        create_parent_dir(&settings.url)?;
        let options = SqliteConnectOptions::from_str(&settings.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_millis(settings.busy_timeout_ms));
        // A connection to a local file does not go stale: no ping before each use (a hop to the connection's
        // thread, as dear as the query itself).
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // A write waits its turn as long as it would have waited for the lock itself.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_millis(settings.busy_timeout_ms))
            .connect_with(options.clone())
            .await?;
        let statistics = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_lazy_with(options.clone().synchronous(SqliteSynchronous::Normal));
        let journal_probe =
            open_journal_probe(options.get_filename(), settings.busy_timeout_ms).map(std::sync::Mutex::new);
        Ok(Self { pool, writer, statistics, journal_probe })
    }

    /// How a claim skips rows another worker is claiming: nothing to skip, writers are serialised.
    const SKIP_LOCKED: &'static str = "";

    fn migrator(&self) -> &'static Migrator {
        &MIGRATOR
    }

    /// Nothing to do: `BEGIN IMMEDIATE` already made this transaction the only writer.
    async fn lock_professionals(_tx: &mut Transaction<'static, Sqlite>, _ids: &[&str]) -> Result<(), StoreError> {
        Ok(())
    }

    /// A direct booking in one round trip to the writer connection ([`sql::SQLITE_BOOK_FREE_SLOT_SCRIPT`]): each
    /// statement is a hop to the connection's thread, and the writer is what every booking queues for.
    async fn book_free_slot(
        &self,
        b: &Booking,
        now: DateTime<Utc>,
        messages: &[Notification],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        if b.patient.is_none() {
            return Err(StoreError::InvalidValue("a booking needs its patient".into()));
        }
        // In a task of its own: the script holds its transaction open from its first statement to its last, and
        // a caller dropped half-way (a client gone) would stop it there — on the connection every write uses. The
        // booking therefore completes even if its client has gone (as with an Idempotency-Key).
        let (writer, booking) = (self.writer.clone(), b.clone());
        let (outbox, events) = (outbox_as_json(messages), audit_as_json(audit));
        let written = tokio::spawn(async move { run_booking_script(&writer, &booking, now, outbox, events).await })
            .await
            .map_err(|e| StoreError::Database(sqlx::Error::Protocol(format!("booking task: {e}"))))??;
        match written {
            Some(1) => Ok(()),
            _ => Err(self.slot_refusal(&b.slot_id).await),
        }
    }

    /// A booking's outbox rows, inside the caller's transaction: one statement, however many messages (each
    /// statement is a round trip while this process's only writer waits).
    async fn insert_outbox(
        tx: &mut Transaction<'static, Sqlite>,
        messages: &[Notification],
    ) -> Result<(), sqlx::Error> {
        if messages.is_empty() {
            return Ok(());
        }
        sqlx::query(sql::SQLITE_INSERT_OUTBOX_JSON).bind(outbox_as_json(messages)).execute(&mut **tx).await?;
        Ok(())
    }

    /// A batch of search records in a few multi-row statements with bound values (see
    /// [`sql::SQLITE_ROWS_PER_STATEMENT`]): a round trip to the connection per statement, not per search.
    async fn insert_searches(
        tx: &mut Transaction<'static, Sqlite>,
        records: &[SearchRecord],
    ) -> Result<(), sqlx::Error> {
        for chunk in statement_chunks(records) {
            let mut query = sqlx::query(sql::sqlite_insert_searches(chunk.len()));
            for r in chunk {
                query = query
                    .bind(&r.id)
                    .bind(r.created_at)
                    .bind(&r.api_key_id)
                    .bind(&r.motif)
                    .bind(&r.profession)
                    .bind(r.age_band)
                    .bind(&r.departement)
                    .bind(r.delay_band)
                    .bind(r.modality.map(|m| m.as_str()))
                    .bind(r.radius_km)
                    .bind(i64::from(r.widened))
                    .bind(r.result_count as i64);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The index of the first live slot of the batch that overlaps a live slot already stored.
    async fn first_overlap_with_stored(
        tx: &mut Transaction<'static, Sqlite>,
        slots: &[Slot],
    ) -> Result<Option<usize>, sqlx::Error> {
        let live: Vec<(usize, &Slot)> =
            slots.iter().enumerate().filter(|(_, s)| s.status != SlotStatus::Withdrawn).collect();
        // In the batch's order: the first chunk that finds one has the first.
        for chunk in statement_chunks(&live) {
            let mut query = sqlx::query_scalar(sql::sqlite_first_overlap(chunk.len()));
            for (index, slot) in chunk {
                query = query.bind(*index as i64).bind(&slot.professional_id).bind(slot.start).bind(slot.end);
            }
            let found: Option<i64> = query.fetch_optional(&mut **tx).await?;
            if let Some(index) = found.and_then(|i| usize::try_from(i).ok()) {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }

    /// A batch of slots in a few multi-row statements with bound values (see [`sql::SQLITE_ROWS_PER_STATEMENT`]).
    async fn insert_slot_rows(tx: &mut Transaction<'static, Sqlite>, slots: &[Slot]) -> Result<(), sqlx::Error> {
        for chunk in statement_chunks(slots) {
            let mut query = sqlx::query(sql::sqlite_insert_slots(chunk.len()));
            for slot in chunk {
                query = bind_slot_columns!(query, slot);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Membership in a list of ids bound as `$n`: a JSON array.
    fn id_list_test(n: usize) -> String {
        format!("IN (SELECT value FROM json_each(${n}))")
    }

    /// The value bound for [`Self::id_list_test`].
    fn id_list(ids: &[String]) -> String {
        serde_json::Value::from(ids.to_vec()).to_string()
    }

    /// A read transaction: in WAL mode it reads one snapshot from its first read to its end.
    async fn begin_snapshot(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A write transaction that takes the database's write lock at once, on this process's writer connection.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A transaction for search statistics: on their own connection (`synchronous=NORMAL`), but in this
    /// process's turn for writing — the writer connection is held meanwhile, so that the two never meet in
    /// SQLite's busy handler (where the writer, and every write queued behind it, would sleep).
    async fn begin_statistics(&self) -> Result<(PoolConnection<Sqlite>, Transaction<'static, Sqlite>), StoreError> {
        let turn = self.writer.acquire().await?;
        let tx = self.statistics.begin_with("BEGIN IMMEDIATE").await?;
        Ok((turn, tx))
    }

    /// Where a single write statement outside a transaction goes.
    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }
}

/// The journal probe's connection: read-only, on the file the pools opened (an in-memory database has none).
/// It goes through the same SQLite library as sqlx's connections, which is what keeps their file locks sound
/// (SQLite tracks every connection of the process to a file; a file opened behind its back would not be).
fn open_journal_probe(database: &Path, busy_timeout_ms: u64) -> Option<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    if database == Path::new(":memory:") {
        return None;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = rusqlite::Connection::open_with_flags(database, flags).ok()?;
    connection.busy_timeout(Duration::from_millis(busy_timeout_ms)).ok()?;
    Some(connection)
}

/// `sqlite://data/snp.db` → creates `data/` so a first run needs no set-up.
fn create_parent_dir(url: &str) -> Result<(), StoreError> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(()); // in-memory database
    }
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Database(sqlx::Error::Configuration(format!("cannot create {}: {e}", parent.display()).into()))
        })?;
    }
    Ok(())
}

impl_store!(SqliteStore, Sqlite, "sqlite", {
    /// `seq` grows in commit order (one writer at a time), so the largest is where the journal ends.
    fn search_journal_head_at_hand(&self) -> Option<JournalCursor> {
        let probe = self.journal_probe.as_ref()?.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let seq: i64 = probe
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM search_journal")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .ok()?;
        Some(JournalCursor { txid: 0, seq })
    }

    async fn search_journal_head(&self) -> Result<JournalCursor, StoreError> {
        let seq: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM search_journal").fetch_one(&self.pool).await?;
        Ok(JournalCursor { txid: 0, seq })
    }

    /// One writer at a time: `seq` grows in commit order, so every entry is settled.
    async fn read_search_journal(&self, after: JournalCursor, limit: u32) -> Result<Vec<JournalEntry>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, professional_id FROM search_journal WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after.seq)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(seq, professional_id)| JournalEntry {
                cursor: JournalCursor { txid: 0, seq },
                professional_id,
                settled: true,
            })
            .collect())
    }

    /// Deletes what the journal already held at a mark taken over an hour ago, then marks where it ends now.
    async fn prune_search_journal(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM search_journal WHERE seq <= (SELECT MAX(seq) FROM search_journal_marks \
             WHERE taken_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour'))",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO search_journal_marks (taken_at, seq) \
             SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), COALESCE(MAX(seq), 0) FROM search_journal",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM search_journal_marks WHERE taken_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 hours')",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    /// SQLite has one writer at a time: inside `BEGIN IMMEDIATE`, checking for an overlap and inserting cannot
    /// interleave with another publisher, so the check is as good as a constraint.
    async fn insert_slots(&self, slots: &[Slot]) -> Result<(), StoreError> {
        // The whole batch in a few statements (the check against the table, then the insert), not two per slot:
        // a statement costs a round trip to the connection's thread, and a national publish is millions of slots.
        let mut tx = self.begin_write().await?;
        Self::refuse_deactivated(&mut tx, slots).await?;
        let against_table = Self::first_overlap_with_stored(&mut tx, slots).await?;
        let within = crate::domain::slot::first_overlap_within(slots);
        let first = match (against_table, within) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(index) = first {
            return Err(StoreError::SlotOverlap { index });
        }
        Self::insert_slot_rows(&mut tx, slots).await?;
        tx.commit().await?;
        Ok(())
    }
});

/// Runs [`sql::SQLITE_BOOK_FREE_SLOT_SCRIPT`]; answers its count of bookings written (1, or 0: slot not bookable).
async fn run_booking_script(
    writer: &SqlitePool,
    b: &Booking,
    now: DateTime<Utc>,
    outbox: String,
    events: String,
) -> Result<Option<i64>, StoreError> {
    let patient = b.patient.as_ref().ok_or_else(|| StoreError::InvalidValue("a booking needs its patient".into()))?;
    let mut connection = writer.acquire().await?;
    let script = sqlx::query(sql::SQLITE_BOOK_FREE_SLOT_SCRIPT).bind(&b.slot_id).bind(now);
    let written = SqliteStore::bind_booking(script, b, patient)
        .bind(outbox)
        .bind(events)
        .fetch_all(&mut *connection)
        .await
        .map(|rows| rows.first().map(|row| sqlx::Row::get::<i64, _>(row, 0)));
    match written {
        Ok(count) => Ok(count),
        Err(error) => {
            // A statement failed half-way: the script's transaction is still open on the connection. A connection
            // that cannot even roll back is not given back to the pool.
            if sqlx::query("ROLLBACK").execute(&mut *connection).await.is_err() {
                connection.detach();
            }
            Err(match StoreError::from(error) {
                // The partial unique index: another active booking of this slot exists.
                StoreError::Conflict(_) => StoreError::SlotUnavailable,
                other => other,
            })
        }
    }
}

/// A booking's messages as the JSON array the outbox statements read.
fn outbox_as_json(messages: &[Notification]) -> String {
    let rows: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id, "booking_id": m.booking_id, "channel": m.channel.as_str(),
                "recipient": m.recipient.as_str(), "kind": m.kind.as_str(), "address": m.address,
                "due_at": as_bound(m.due_at), "status": m.status.as_str(), "attempts": m.attempts,
                "created_at": as_bound(m.created_at),
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Audit events as the JSON array the booking script reads.
fn audit_as_json(events: &[AuditEvent]) -> String {
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "at": as_bound(e.at), "actor_kind": e.actor_kind.as_str(), "actor_id": e.actor_id,
                "role": e.role.map(|r| r.as_str()), "action": e.action, "target_type": e.target_type,
                "target_id": e.target_id, "request_id": e.request_id, "detail": e.detail,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// An instant in JSON exactly as sqlx binds one (RFC 3339, `+00:00`), so that it compares and sorts with the
/// stored ones.
fn as_bound(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// `items` in consecutive chunks of the sizes of [`sql::SQLITE_ROWS_PER_STATEMENT`], largest first.
fn statement_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        let size = sql::SQLITE_ROWS_PER_STATEMENT.into_iter().find(|&n| n <= rest.len())?;
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    })
}
