//! Keeps this process's search index coherent with the database — and so with every other `snp serve` process
//! on it. The database triggers write a journal entry for each change that can alter a search, in the changing
//! transaction (migration 0006). Before each search, [`LiveIndex::refresh`] reads the entries after its cursor
//! and reloads the professionals they name; a search therefore sees every change committed before it began,
//! whichever process made it.
//!
//! Where the store can read the journal's end on the caller's thread (SQLite), a search reads it itself and,
//! when the index already stands there, goes on at once: no database round trip, and no waiting on the other
//! searches. Otherwise concurrent searches share one refresh: a search waits for a pass that started after it
//! arrived, and does not start another; when a pass ends, every search waiting on it goes on at once (queued on
//! a lock, they were let go one after the other, each waiting for the one before it to be scheduled). The first
//! refresh loads the whole index; so does one after a long outage (the journal keeps an hour).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use super::index::SearchIndex;
use crate::clock::Clock;
use crate::store::{JournalCursor, Store, StoreError};

/// Journal entries read per query.
const JOURNAL_PAGE: u32 = 5_000;
/// Professionals reloaded per snapshot query.
const RELOAD_CHUNK: usize = 500;
/// Beyond this without a successful pass, the journal may have been pruned under us: load everything again.
const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// How far back slots are kept: a search never looks before now + its lead time, but a clock set a little back
/// (or a slow pass) must not lose slots.
const SLOTS_BEFORE_NOW: chrono::Duration = chrono::Duration::days(1);
/// The fairness tie-break counts bookings of the last 7 days; a day more for the window sliding until reload.
const BOOKINGS_BEFORE_NOW: chrono::Duration = chrono::Duration::days(8);

#[derive(Default)]
struct SyncState {
    /// Every entry up to here is reflected. `None`: nothing loaded yet.
    cursor: Option<JournalCursor>,
    /// Entries past the cursor already applied (visible but not yet settled): not reloaded twice.
    applied_ahead: HashSet<JournalCursor>,
    /// When the last successful pass started.
    last_pass: Option<Instant>,
}

pub struct LiveIndex {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    index: RwLock<SearchIndex>,
    /// The pass's own state: only the search running the pass (see [`Passes`]) takes it.
    sync: tokio::sync::Mutex<SyncState>,
    passes: Mutex<Passes>,
    /// Told when a pass ends, well or not: the searches waiting on it look again.
    pass_ended: tokio::sync::Notify,
    /// Where the index stands when nothing is applied ahead of its cursor, for searches that read the journal's
    /// end at hand (see [`LiveIndex::settled_at_hand`]).
    settled: Mutex<Option<Settled>>,
}

/// Who runs the pass, and what the searches waiting on one need to know.
#[derive(Default)]
struct Passes {
    /// A search is running a pass (it holds the [`PassTurn`]).
    running: bool,
    /// When the last pass that ended well started.
    last_started: Option<Instant>,
}

/// The turn of the search running a pass: however the pass ends — well, with an error, or dropped with its
/// search — the searches waiting on it are told, and one of them runs the next pass if they still need one.
struct PassTurn<'a>(&'a LiveIndex);

impl Drop for PassTurn<'_> {
    fn drop(&mut self) {
        self.0.passes_mut().running = false;
        self.0.pass_ended.notify_waiters();
    }
}

/// The index reflects every journal entry up to `cursor` and none after; `confirmed`: when a pass or a search
/// last found the journal ending there.
#[derive(Clone, Copy)]
struct Settled {
    cursor: JournalCursor,
    confirmed: Instant,
}

impl LiveIndex {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        LiveIndex {
            store,
            clock,
            index: RwLock::default(),
            sync: tokio::sync::Mutex::default(),
            passes: Mutex::default(),
            pass_ended: tokio::sync::Notify::new(),
            settled: Mutex::default(),
        }
    }

    /// The index as it stands (call [`LiveIndex::refresh`] first, which also rebuilds it after a panic).
    pub fn read(&self) -> RwLockReadGuard<'_, SearchIndex> {
        self.index.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a search holds the turn to run a pass now. Once a pass ends — well, with an error, or dropped with
    /// its search — the turn is free again: a turn kept would leave every later search waiting.
    pub fn pass_running(&self) -> bool {
        self.passes_mut().running
    }

    /// Brings the index up to every change committed before this call.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        if self.settled_at_hand() {
            return Ok(());
        }
        let arrived = Instant::now();
        loop {
            let pass_ended = {
                let mut passes = self.passes_mut();
                if passes.last_started.is_some_and(|started| started >= arrived) {
                    return Ok(()); // a pass that started after we arrived has ended well
                }
                if !passes.running {
                    passes.running = true;
                    None
                } else {
                    // Registered before the lock is let go, so that the running pass's end cannot be missed.
                    Some(self.pass_ended.notified())
                }
            };
            match pass_ended {
                Some(pass_ended) => pass_ended.await,
                None => {
                    let _turn = PassTurn(self);
                    return self.pass().await;
                }
            }
        }
    }

    /// One pass: the journal's entries since the cursor replayed (or everything loaded), by the one search whose
    /// turn it is.
    async fn pass(&self) -> Result<(), StoreError> {
        let mut sync = self.sync.lock().await;
        let started = Instant::now();
        if self.index.is_poisoned() {
            // A panic while applying a change may have left the index half-changed: rebuild it.
            self.index.clear_poison();
            sync.cursor = None;
        }
        // A search that found the journal where the index stands confirmed it as a pass would have.
        let confirmed = self.settled().map(|s| s.confirmed).max(sync.last_pass);
        let stale = confirmed.is_none_or(|last| started.duration_since(last) > STALE_AFTER);
        // Searches wait on this pass from here: none may take the index as settled meanwhile.
        *self.settled_mut() = None;
        if stale || sync.cursor.is_none() {
            self.load_everything(&mut sync).await?;
        } else if self.journal_moved(&sync) {
            self.replay_journal(&mut sync).await?;
        }
        sync.last_pass = Some(started);
        // Published after the index changed: a search that reads this cursor reads the index as it stands here.
        *self.settled_mut() = match sync.cursor {
            Some(cursor) if sync.applied_ahead.is_empty() => Some(Settled { cursor, confirmed: started }),
            _ => None,
        };
        // Before the turn ends and the waiting searches look.
        self.passes_mut().last_started = Some(started);
        Ok(())
    }

    /// Whether the index already reflects every change committed before this call, as read at hand: the
    /// journal's end, read now (after the call began), is where the index settled, with nothing applied ahead
    /// of it, within [`STALE_AFTER`] of the last confirmation, and the index is whole. Stores without a
    /// reading at hand (PostgreSQL: a round trip) always answer no.
    fn settled_at_hand(&self) -> bool {
        let Some(head) = self.store.search_journal_head_at_hand() else { return false };
        let mut settled = self.settled_mut();
        match settled.as_mut() {
            Some(s) if s.cursor == head && s.confirmed.elapsed() <= STALE_AFTER && !self.index.is_poisoned() => {
                s.confirmed = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// Whether the journal may hold entries not applied yet: yes, unless the store can read where it ends at
    /// hand and that is the cursor, with nothing applied ahead of it.
    fn journal_moved(&self, sync: &SyncState) -> bool {
        match (self.store.search_journal_head_at_hand(), sync.cursor) {
            (Some(head), Some(cursor)) => head > cursor || !sync.applied_ahead.is_empty(),
            _ => true,
        }
    }

    fn passes_mut(&self) -> std::sync::MutexGuard<'_, Passes> {
        self.passes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn settled(&self) -> Option<Settled> {
        *self.settled_mut()
    }

    fn settled_mut(&self) -> std::sync::MutexGuard<'_, Option<Settled>> {
        self.settled.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn load_everything(&self, sync: &mut SyncState) -> Result<(), StoreError> {
        let began = Instant::now();
        let head = self.store.search_journal_head().await?;
        let now = self.clock.now();
        let snapshot = self.store.load_search_snapshot(None, now - SLOTS_BEFORE_NOW, now - BOOKINGS_BEFORE_NOW).await?;
        let mut index = self.index.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        index.replace_all(snapshot);
        let (slots, professionals) = index.size();
        drop(index);
        *sync = SyncState { cursor: Some(head), ..SyncState::default() };
        tracing::info!(slots, professionals, elapsed_ms = began.elapsed().as_millis() as u64, "search index loaded");
        Ok(())
    }

    async fn replay_journal(&self, sync: &mut SyncState) -> Result<(), StoreError> {
        let Some(mut cursor) = sync.cursor else { return Ok(()) };
        // Worked on a copy, saved only on success: after an error, the next pass starts from what held before.
        let mut ahead = sync.applied_ahead.clone();
        let mut read_from = cursor;
        // Each page is read in its own snapshot. Once an entry is not settled, an older transaction was still
        // running: a later page may find entries settled meanwhile that lie *after* entries of that transaction
        // this pass never read. So the cursor stops at the first unsettled entry of the pass.
        let mut blocked = false;
        let mut changed = BTreeSet::new();
        loop {
            let entries = self.store.read_search_journal(read_from, JOURNAL_PAGE).await?;
            for entry in &entries {
                let fresh = if entry.settled && !blocked {
                    cursor = entry.cursor;
                    !ahead.remove(&entry.cursor)
                } else {
                    blocked = true;
                    ahead.insert(entry.cursor)
                };
                if fresh {
                    changed.insert(entry.professional_id.clone());
                }
            }
            match entries.last() {
                Some(last) if entries.len() == JOURNAL_PAGE as usize => read_from = last.cursor,
                _ => break,
            }
        }
        let changed: Vec<String> = changed.into_iter().collect();
        self.reload(&changed).await?;
        sync.cursor = Some(cursor);
        sync.applied_ahead = ahead;
        Ok(())
    }

    async fn reload(&self, professionals: &[String]) -> Result<(), StoreError> {
        let now = self.clock.now();
        for ids in professionals.chunks(RELOAD_CHUNK) {
            let snapshot =
                self.store.load_search_snapshot(Some(ids), now - SLOTS_BEFORE_NOW, now - BOOKINGS_BEFORE_NOW).await?;
            self.index.write().unwrap_or_else(|poisoned| poisoned.into_inner()).apply(ids, snapshot);
        }
        Ok(())
    }
}

/// How often `snp serve` replays the journal between searches: a quiet night must not end with a full reload
/// in front of the first regulator of the morning, and each search then has little left to replay.
const BACKGROUND_REFRESH: Duration = Duration::from_secs(5);

/// The background refresh of `snp serve`. Errors are logged; the next search or tick tries again.
pub fn spawn_refresher(index: Arc<LiveIndex>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(BACKGROUND_REFRESH);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = index.refresh().await {
                tracing::error!(%error, "search index refresh failed; retrying");
            }
        }
    })
}
