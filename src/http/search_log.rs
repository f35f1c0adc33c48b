//! Search statistics written behind the answer. A search records who asked for what (bands only) for the
//! unmet-demand statistics; writing that row before answering put a database write — on SQLite, a wait for
//! the single writer lock behind every booking's fsync — in front of every regulator. Records go to a
//! background task instead, which writes them in batches, one transaction per batch.
//!
//! What that costs: a crash loses the statistics of the last moments (never a booking); a clean stop of
//! `snp serve` flushes them first. A booking naming its
//! search flushes first ([`SearchLog::flush`]), so the link to a search of this process is never lost; a
//! booking on another process within the same instant may miss it.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::domain::search::SearchRecord;
use crate::store::Store;

/// Records waiting at most; beyond, new ones are dropped (and counted in the log) rather than slow searches.
const QUEUE: usize = 20_000;
/// Records per transaction at most.
const BATCH: usize = 1_000;

enum Message {
    Record(Box<SearchRecord>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct SearchLog {
    sender: mpsc::Sender<Message>,
}

impl SearchLog {
    /// Starts the writer (on the current tokio runtime); it ends when the last handle is dropped, after
    /// writing what it holds.
    pub fn start(store: Arc<dyn Store>) -> SearchLog {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, receiver));
        SearchLog { sender }
    }

    /// Queues a record; never waits.
    pub fn record(&self, record: SearchRecord) {
        if self.sender.try_send(Message::Record(Box::new(record))).is_err() {
            tracing::warn!("search statistics queue full: a search record was dropped");
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
        let mut next = Some(first);
        // Everything already queued joins this batch.
        while let Some(message) = next {
            match message {
                Message::Record(record) => records.push(*record),
                Message::Flush(done) => waiting.push(done),
            }
            next = if records.len() < BATCH { receiver.try_recv().ok() } else { None };
        }
        if !records.is_empty()
            && let Err(error) = store.record_searches(&records).await
        {
            tracing::error!(%error, lost = records.len(), "search statistics not written");
        }
        records.clear();
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
