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
use crate::domain::access::Role;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::{AuditEvent, AuditFilter};
use crate::domain::availability::{Absence, AvailabilityRule};
use crate::domain::booking::{Booking, BookingStatus, Hold, Outcome};
use crate::domain::cancel_link::CancelLink;
use crate::domain::notification::{Notification, RecordedAttempt};
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::search::{SearchRecord, SearchSnapshot};
use crate::domain::slot::{Slot, SlotStatus};
use crate::domain::user::{Session, User};

pub use postgres::PostgresStore;
/// The booking's conditional UPDATE: the load benchmark's raw baseline runs it alone, to compare.
pub use sql::BOOK_FREE_SLOT;
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
    /// Slot `index` of a batch names a deactivated professional or practice, or a practice the professional has
    /// just left (changed while the batch was checked).
    #[error("slot {index} names a deactivated professional or practice, or a practice left")]
    Deactivated { index: usize },
    /// The slot is not free (held, booked, withdrawn, started, or its professional is absent).
    #[error("slot unavailable")]
    SlotUnavailable,
    /// The hold lapsed (or was released, or the slot was taken after it lapsed).
    #[error("hold expired")]
    HoldExpired,
    /// The hold was already used for a booking.
    #[error("hold already used")]
    HoldUsed,
    /// The booking is not in a state that allows this change.
    #[error("booking is {}", .status.as_str())]
    InvalidTransition { status: BookingStatus },
    /// The patient's cancel link was used already, or the appointment has started.
    #[error("the cancel link is used or expired")]
    LinkSpent,
    /// An outcome before the slot started.
    #[error("too early")]
    TooEarly,
    /// The rule changed or was deleted since it was read: nothing was written.
    #[error("the rule changed meanwhile")]
    RuleChanged,
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

/// Who cancels a booking, and how.
#[derive(Debug, Clone, Copy)]
pub struct Cancellation<'a> {
    pub booking_id: &'a str,
    /// The API key's id, or `patient` for the patient's link.
    pub by: &'a str,
    pub reason: Option<&'a str>,
    /// The digest of the patient's link, used by this cancellation (and unusable after it).
    pub link_digest: Option<&'a str>,
}

/// A slot with the professional who offers it and the practice it is at.
#[derive(Debug, Clone)]
pub struct SlotInContext {
    pub slot: Slot,
    pub professional: Professional,
    pub practice: Practice,
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
    /// Only active (`true`) or deactivated (`false`) practices.
    pub active: Option<bool>,
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
    /// Only active (`true`) or deactivated (`false`) professionals.
    pub active: Option<bool>,
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
    /// Only the slots materialised from this availability rule.
    pub rule_id: Option<String>,
    pub page: Page,
}

/// Rules or absences of one professional, or of the professionals an API key's practices employ.
#[derive(Debug, Clone, Default)]
pub struct ScopeFilter {
    pub professional_id: Option<String>,
    pub within_practices_of_key: Option<String>,
    pub page: Page,
}

/// Why a slot of a rule was not materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The rule already produced this slot (re-running the horizon changes nothing).
    AlreadyPresent,
    /// Another live slot of the professional overlaps it.
    Overlap,
    /// The professional is absent then.
    Absence,
    /// The professional or the practice is deactivated.
    Deactivated,
}

#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub professional_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub status: Option<BookingStatus>,
    pub page: Page,
}

/// The outbox in numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxStats {
    /// Messages due and not yet sent.
    pub backlog: i64,
    /// When the oldest of them became due.
    pub oldest_due: Option<DateTime<Utc>>,
    /// (channel, `sent` or `failed`, count).
    pub outcomes: Vec<(String, String, i64)>,
}

/// A position in the search journal. SQLite: `seq` only (`txid` is 0). PostgreSQL: (transaction id, seq),
/// the order in which entries become final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct JournalCursor {
    pub txid: i64,
    pub seq: i64,
}

/// One journal entry: something about this professional changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub cursor: JournalCursor,
    pub professional_id: String,
    /// No entry can appear before this one any more (its transaction and all older ones are over): a reader
    /// may move its cursor past it. Always true on SQLite.
    pub settled: bool,
}

/// Where a request with an `Idempotency-Key` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// First time: the key is now reserved for this request.
    New,
    /// Another request with this key is being processed.
    InProgress { request_hash: String },
    /// Already answered: replay this (if the request is the same).
    Done { request_hash: String, status: u16, body: String },
}

/// What replacing a rule did.
#[derive(Debug, Clone, Default)]
pub struct RuleReplaced {
    pub removed: u64,
    pub version: i64,
    pub outcome: Vec<Option<SkipReason>>,
}

/// What an absence or a deactivation did to the slots it covers.
#[derive(Debug, Clone, Default)]
pub struct ClearedSlots {
    pub rule_slots_removed: u64,
    pub other_slots_withdrawn: u64,
    /// Held and booked slots in the absence: left as they are, for the professional to handle.
    pub kept: Vec<Slot>,
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
    /// Replaces a practice's details (the search journal tells every index); [`StoreError::NotFound`] if unknown.
    async fn update_practice(&self, practice: &Practice) -> Result<(), StoreError>;
    /// Closes a practice: in one transaction, marks it deactivated (keeping the first instant), removes its
    /// future free rule slots, withdraws its other future free slots, and reports the booked and held ones left.
    async fn deactivate_practice(&self, id: &str, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError>;
    /// Opens a practice again (rules fill it again at their next pass).
    async fn reactivate_practice(&self, id: &str) -> Result<(), StoreError>;

    async fn insert_professional(&self, professional: &Professional) -> Result<(), StoreError>;
    async fn get_professional(&self, id: &str) -> Result<Option<Professional>, StoreError>;
    async fn list_professionals(&self, filter: &ProfessionalFilter) -> Result<Vec<Professional>, StoreError>;
    /// Replaces a professional's details, skills and practices in one transaction. Future free slots at a
    /// practice left are cleared (as by a deactivation); leaving a practice an undeleted rule publishes at is
    /// [`StoreError::Conflict`], and nothing is written.
    async fn update_professional(
        &self,
        professional: &Professional,
        now: DateTime<Utc>,
    ) -> Result<ClearedSlots, StoreError>;
    /// Takes a professional out of the offer, like [`Store::deactivate_practice`] for a practice.
    async fn deactivate_professional(&self, id: &str, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError>;
    async fn reactivate_professional(&self, id: &str) -> Result<(), StoreError>;

    /// Inserts all slots or none; [`StoreError::SlotOverlap`] names the first slot that overlaps,
    /// [`StoreError::Deactivated`] the first whose professional or practice is deactivated.
    async fn insert_slots(&self, slots: &[Slot]) -> Result<(), StoreError>;
    async fn get_slot(&self, id: &str) -> Result<Option<Slot>, StoreError>;
    /// A slot with its professional and practice, read together (one round trip where a booking needs all three).
    async fn get_slot_in_context(&self, id: &str) -> Result<Option<SlotInContext>, StoreError>;
    async fn list_slots(&self, filter: &SlotFilter) -> Result<Vec<Slot>, StoreError>;
    /// Withdraws a free slot; [`StoreError::SlotNotFree`] when it is held, booked or already withdrawn.
    async fn withdraw_slot(&self, id: &str, now: DateTime<Utc>) -> Result<Slot, StoreError>;

    /// Inserts a rule and its first slots in one transaction; the answer is aligned with `slots`.
    async fn insert_rule(&self, rule: &AvailabilityRule, slots: &[Slot])
    -> Result<Vec<Option<SkipReason>>, StoreError>;
    /// A rule that has not been deleted.
    async fn get_rule(&self, id: &str) -> Result<Option<AvailabilityRule>, StoreError>;
    async fn list_rules(&self, filter: &ScopeFilter) -> Result<Vec<AvailabilityRule>, StoreError>;
    async fn list_active_rule_ids(&self) -> Result<Vec<String>, StoreError>;
    /// Replaces a rule (bumping its version) with the slots of the new version, in one transaction: free future
    /// slots the new version would not produce identically are removed, held and booked ones stay. Returns how
    /// many were removed, the new version, and the outcome per slot.
    async fn replace_rule(
        &self,
        rule: &AvailabilityRule,
        now: DateTime<Utc>,
        slots: &[Slot],
    ) -> Result<RuleReplaced, StoreError>;
    /// Deletes a rule (kept for the record) and removes its free future slots; returns how many.
    async fn delete_rule(&self, id: &str, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Inserts slots of version `version` of a rule, in one transaction serialised per professional, each
    /// inserted or skipped with its reason (aligned with `slots`); [`StoreError::RuleChanged`] if that version
    /// is no longer current.
    async fn materialize_rule_slots(
        &self,
        rule_id: &str,
        version: i64,
        slots: &[Slot],
    ) -> Result<Vec<Option<SkipReason>>, StoreError>;

    /// Records an absence; in the same transaction removes free rule slots and withdraws free one-off slots in
    /// its range, and reports the held and booked ones it leaves alone.
    async fn insert_absence(&self, absence: &Absence, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError>;
    async fn get_absence(&self, id: &str) -> Result<Option<Absence>, StoreError>;
    async fn list_absences(&self, filter: &ScopeFilter) -> Result<Vec<Absence>, StoreError>;
    async fn delete_absence(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Holds a bookable slot: [`StoreError::SlotUnavailable`] otherwise, [`StoreError::NotFound`] for no slot.
    async fn create_hold(&self, hold: &Hold, now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn get_hold(&self, id: &str) -> Result<Option<Hold>, StoreError>;
    /// Releases a live hold (its slot is free again); releasing twice is harmless, a used hold is
    /// [`StoreError::HoldUsed`].
    async fn release_hold(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Books the booking's slot — through its hold when it names one — in one transaction.
    /// Books, and writes the booking's messages to the outbox and its audit events in the same transaction:
    /// one commit (one fsync) per booking, and no booking without its trail.
    async fn create_booking(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
        messages: &[Notification],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError>;
    async fn get_booking(&self, id: &str) -> Result<Option<Booking>, StoreError>;
    async fn list_bookings(&self, filter: &BookingFilter) -> Result<Vec<Booking>, StoreError>;
    /// Cancels a confirmed booking; its slot is free again if it is still to come. Cancels, uses the patient's
    /// link (when the cancellation comes through one), withdraws the reminders still pending and writes the
    /// cancellation's messages, in one transaction.
    async fn cancel_booking(
        &self,
        cancellation: &Cancellation<'_>,
        now: DateTime<Utc>,
        messages: &[Notification],
    ) -> Result<(), StoreError>;
    /// Stores the digest of a cancel link the worker is about to send.
    async fn create_cancel_link(&self, link: &CancelLink) -> Result<(), StoreError>;
    async fn get_cancel_link(&self, token_digest: &str) -> Result<Option<CancelLink>, StoreError>;
    /// Creates a console account; a login already taken is [`StoreError::Conflict`].
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// Counts a login attempt before its password is checked and returns the attempts in a row, or `None` while
    /// the account is locked at `now`. The attempt that makes `max_failures` in a row locks it until
    /// `lock_until` (a lock found expired restarts the count); a right password then clears the count and the
    /// lock ([`Store::record_login_success`]).
    async fn claim_login_attempt(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError>;
    /// A successful login clears the failures and the lock.
    async fn record_login_success(&self, user_id: &str) -> Result<(), StoreError>;
    /// Every console account, by login.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Changes a user's role (and professional), with its principal's, in one transaction.
    async fn update_user_access(&self, id: &str, role: Role, professional_id: Option<&str>) -> Result<(), StoreError>;
    /// Disables (`Some`: every session ends at once) or enables (`None`) an account.
    async fn set_user_disabled(
        &self,
        id: &str,
        disabled_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Sets a new password, lifts any lock-out, and ends the user's sessions but `keep_session` (the one that
    /// changed it; `""` ends them all, as after a reset); [`StoreError::NotFound`] for an unknown user.
    async fn set_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep_session: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn get_session(&self, id_digest: &str) -> Result<Option<Session>, StoreError>;
    async fn touch_session(&self, id_digest: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn end_session(&self, id_digest: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Appends events to the audit trail (there is no way to change or remove them).
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;
    /// Retention: erases the patient data of bookings whose slot ended before an instant, and the addresses of
    /// their messages; returns how many bookings.
    async fn erase_patient_data(
        &self,
        slots_ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Deletes the links that expired before an instant (they can no longer cancel anything); returns how many.
    async fn purge_cancel_links(&self, expired_before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Claims up to `limit` due messages until `lease_until` (each claim counts an attempt); due reminders of
    /// appointments that have started are withdrawn instead.
    async fn claim_due_notifications(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        claim_token: &str,
    ) -> Result<Vec<Notification>, StoreError>;
    /// Extends the lease of a claimed message before it is sent; `false` when it is no longer this claim's
    /// (another worker took it over after the lease ended, or it was settled).
    async fn renew_claim(&self, id: &str, claim_token: &str, lease_until: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Records the outcomes of attempts, all in one transaction — each only while its message is still this
    /// claim's (a message taken over by another worker keeps that worker's outcome).
    async fn record_attempts(&self, claim_token: &str, attempts: &[RecordedAttempt]) -> Result<(), StoreError>;
    /// The outbox as the metrics show it (counts only, no message).
    async fn outbox_stats(&self, now: DateTime<Utc>) -> Result<OutboxStats, StoreError>;
    /// A booking's messages, in the order they are due.
    async fn list_notifications(&self, booking_id: &str) -> Result<Vec<Notification>, StoreError>;
    /// Messages that gave up, newest first.
    async fn list_failed_notifications(&self, limit: i64) -> Result<Vec<Notification>, StoreError>;
    async fn get_notification(&self, id: &str) -> Result<Option<Notification>, StoreError>;
    /// Sends a failed message again (due now, attempts counted afresh); [`StoreError::NotFound`] unless it is
    /// failed and still has its address.
    async fn retry_notification(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records attended / no-show on a confirmed booking whose slot has started.
    async fn record_outcome(&self, id: &str, outcome: Outcome, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Reserves an idempotency key for a request, or says what became of an earlier one.
    async fn reserve_idempotency_key(
        &self,
        api_key_id: &str,
        endpoint: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Idempotency, StoreError>;
    /// Stores the answer to replay.
    async fn complete_idempotency_key(
        &self,
        api_key_id: &str,
        endpoint: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;
    /// Deletes stored answers older than an instant (they contain patient data); returns how many.
    async fn purge_idempotency_keys(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Frees the key after a server error, so the client may retry.
    async fn forget_idempotency_key(&self, api_key_id: &str, endpoint: &str, key: &str) -> Result<(), StoreError>;

    /// Where the search journal ends now, read on the caller's thread where the backend can do that in
    /// microseconds (SQLite: a read-only connection of its own), so that a search finding nothing new costs no
    /// round trip. `None`: it cannot (PostgreSQL), or that read failed: read the journal itself.
    fn search_journal_head_at_hand(&self) -> Option<JournalCursor> {
        None
    }
    /// Where the search journal ends now: a full load of the search index that starts after this call
    /// reflects every change before the returned cursor.
    async fn search_journal_head(&self) -> Result<JournalCursor, StoreError>;
    /// Journal entries after `after`, in cursor order (at most `limit`).
    async fn read_search_journal(&self, after: JournalCursor, limit: u32) -> Result<Vec<JournalEntry>, StoreError>;
    /// Journal entries committed over an hour ago (by the marks of earlier passes): every live process has
    /// replayed them long ago.
    async fn prune_search_journal(&self) -> Result<u64, StoreError>;
    /// What the search index needs about these professionals (all of them with `None`): their slots starting
    /// from `slots_from`, their bookings made from `bookings_from`.
    async fn load_search_snapshot(
        &self,
        professional_ids: Option<&[String]>,
        slots_from: DateTime<Utc>,
        bookings_from: DateTime<Utc>,
    ) -> Result<SearchSnapshot, StoreError>;
    /// Search statistics, several at once (one transaction).
    async fn record_searches(&self, records: &[SearchRecord]) -> Result<(), StoreError>;

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
