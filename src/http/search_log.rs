//! Search statistics written behind the answer. A search records who asked for what (bands only) for the
//! unmet-demand statistics; writing that row before answering put a database write — on SQLite, a wait for
//! the single writer lock behind every booking's fsync — in front of every regulator. Records go to a
//! background task instead, which writes them in batches, one transaction per batch, at most every
//! [`LINGER`] unless a flush asks sooner.
//!
//! What that costs: a crash loses the statistics of the last moments (never a booking); a clean stop of
//! `snp serve` flushes them first. A booking naming its
//! search flushes first ([`SearchLog::flush`]), so the link to a search of this process is never lost; a
//! booking on another process within the same instant may miss it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use crate::domain::search::SearchRecord;
use crate::store::Store;

/// Records waiting at most; beyond, new ones are dropped (and counted in the log) rather than slow searches.
const QUEUE: usize = 20_000;
/// Records per transaction at most.
const BATCH: usize = 1_000;
/// How long a batch waits for more records, unless it fills up or a flush asks for it: written as fast as
/// searches came, batches took the writer's turn (and, on SQLite, a hop to its thread) hundreds of times a
/// second, a twentieth of the CPU of a busy search phase. A booking naming its search flushes, so it waits
/// for at most one batch.
const LINGER: std::time::Duration = std::time::Duration::from_millis(50);
/// Under overload every search would drop its record: the log says so on the first and then every this many.
const DROPS_PER_WARNING: u64 = 1_000;
/// A batch that fails is written again record by record, so that one bad record costs only itself — unless this
/// many fail in a row: then the database is down, and the rest is not tried one by one.
const FAILURES_BEFORE_GIVING_UP: usize = 3;

enum Message {
    Record(Box<SearchRecord>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct SearchLog {
    sender: mpsc::Sender<Message>,
    dropped: Arc<AtomicU64>,
}

impl SearchLog {
    /// Starts the writer (on the current tokio runtime); it ends when the last handle is dropped, after
    /// writing what it holds.
    pub fn start(store: Arc<dyn Store>) -> SearchLog {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, receiver));
        SearchLog { sender, dropped: Arc::default() }
    }

    /// Queues a record; never waits.
    pub fn record(&self, record: SearchRecord) {
        let Err(error) = self.sender.try_send(Message::Record(Box::new(record))) else { return };
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped % DROPS_PER_WARNING != 1 {
            return;
        }
        match error {
            TrySendError::Full(_) => {
                tracing::warn!(dropped, "search statistics queue full: search records dropped")
            }
            TrySendError::Closed(_) => {
                tracing::error!(dropped, "search statistics writer stopped: search records dropped")
            }
        }
    }

    /// Waits until every record queued before this call is written (or could not be).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_batches(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<Message>) {
    let mut records = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = receiver.recv().await {
        let until = tokio::time::Instant::now() + LINGER;
        let mut next = first;
        // What comes within the linger joins this batch. A flush ends the lingering: what is already queued
        // joins (records and other flushes — concurrent bookings then wait for one write, not one each), and
        // the batch is written (what was queued before the flush is in it: the channel keeps order).
        let mut flushing = false;
        loop {
            match next {
                Message::Record(record) => records.push(*record),
                Message::Flush(done) => {
                    waiting.push(done);
                    flushing = true;
                }
            }
            if records.len() >= BATCH {
                break;
            }
            let message = if flushing {
                receiver.try_recv().ok()
            } else {
                tokio::time::timeout_at(until, receiver.recv()).await.ok().flatten()
            };
            match message {
                Some(message) => next = message,
                None => break,
            }
        }
        write(store.as_ref(), &records).await;
        records.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Writes a batch in one transaction; if that fails, record by record (see [`FAILURES_BEFORE_GIVING_UP`]).
async fn write(store: &dyn Store, records: &[SearchRecord]) {
    if records.is_empty() {
        return;
    }
    let Err(error) = store.record_searches(records).await else { return };
    if records.len() == 1 {
        tracing::error!(%error, lost = 1, "search statistics not written");
        return;
    }
    let (mut lost, mut failures_in_a_row) = (0, 0);
    for (i, record) in records.iter().enumerate() {
        if failures_in_a_row == FAILURES_BEFORE_GIVING_UP {
            lost += records.len() - i;
            break;
        }
        if store.record_searches(std::slice::from_ref(record)).await.is_ok() {
            failures_in_a_row = 0;
        } else {
            failures_in_a_row += 1;
            lost += 1;
        }
    }
    if lost > 0 {
        tracing::error!(%error, lost, of = records.len(), "search statistics not written");
    }
}
