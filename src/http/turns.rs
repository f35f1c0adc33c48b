//! Takes of one slot (a hold, a direct booking) one at a time within this process.
//!
//! When regulators race for a hot slot (the same first candidate offered to several of them), each racer used
//! to read the slot and queue for the database's writer, and all but one were refused there, then read the
//! slot again to say why. Here racers of this process queue per slot instead: the first goes to the database;
//! those that waited behind a take that succeeded are answered `409 slot_unavailable` at once, with no read or
//! write (the slot was taken while they waited). Takes from other processes are still arbitrated by the
//! database's conditional UPDATE, which stays the only guard against double booking; this only spares work.
//!
//! The map holds a slot only while someone holds or waits for its turn. Whether a take happened "while they
//! waited" is decided by arrival order (a counter), never by whether an entry exists, so an entry lingering
//! for any reason cannot refuse a request that came after the take.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The arrival number at which the slot was last taken through this process, if it was while queued.
type Turn = Arc<tokio::sync::Mutex<Option<u64>>>;

#[derive(Default)]
pub struct SlotTurns {
    turns: Mutex<HashMap<String, Turn>>,
    arrivals: AtomicU64,
}

/// Someone holding or waiting for a slot's turn; leaving (however: done, failed, cancelled) forgets the slot
/// once no one else is queued for it.
struct Ticket<'a> {
    turns: &'a SlotTurns,
    slot_id: &'a str,
    turn: Option<Turn>,
    arrival: u64,
}

impl SlotTurns {
    /// Runs `take` in the slot's turn. `take` is told whether the slot was taken by a request that went before
    /// it in this process while it waited (then it should refuse at once), and says whether it took the slot.
    pub async fn run<T, F, Fut>(&self, slot_id: &str, take: F) -> T
    where
        F: FnOnce(bool) -> Fut,
        Fut: Future<Output = (T, bool)>,
    {
        let ticket = self.enter(slot_id);
        let turn = ticket.turn.as_ref().expect("held until the ticket is dropped");
        let mut taken_at = turn.lock().await;
        let taken_while_waiting = taken_at.is_some_and(|at| at > ticket.arrival);
        let (outcome, took) = take(taken_while_waiting).await;
        if took {
            *taken_at = Some(self.arrivals.fetch_add(1, Ordering::SeqCst) + 1);
        }
        outcome
    }

    /// How many slots have someone holding or waiting for their turn.
    #[cfg(test)]
    fn queued_slots(&self) -> usize {
        self.map().len()
    }

    fn enter<'a>(&'a self, slot_id: &'a str) -> Ticket<'a> {
        let mut map = self.map();
        let turn = map.entry(slot_id.to_string()).or_default().clone();
        let arrival = self.arrivals.fetch_add(1, Ordering::SeqCst) + 1;
        Ticket { turns: self, slot_id, turn: Some(turn), arrival }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Turn>> {
        // The map is consistent after every statement: a panic elsewhere leaves nothing half-done.
        self.turns.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // Every clone of a turn is made and dropped under the map's lock, so the count below is exact.
        let mut map = self.turns.map();
        drop(self.turn.take());
        if map.get(self.slot_id).is_some_and(|turn| Arc::strong_count(turn) == 1) {
            map.remove(self.slot_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_racer_that_waited_behind_a_take_is_told_and_a_later_one_is_not() {
        let turns = Arc::new(SlotTurns::default());
        let (entered, wait_for_entry) = tokio::sync::oneshot::channel();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let turns = turns.clone();
            async move {
                turns
                    .run("s", |taken| async move {
                        let _ = entered.send(());
                        let _ = released.await;
                        (taken, true)
                    })
                    .await
            }
        });
        wait_for_entry.await.unwrap();
        let second = tokio::spawn({
            let turns = turns.clone();
            async move { turns.run("s", |taken| async move { (taken, false) }).await }
        });
        // The second is queued behind the first before the first takes the slot.
        while Arc::strong_count(&turns.map()["s"]) < 3 {
            tokio::task::yield_now().await;
        }
        release.send(()).unwrap();
        assert!(!first.await.unwrap(), "nobody went before the first");
        assert!(second.await.unwrap(), "the second waited while the first took the slot");
        assert_eq!(turns.queued_slots(), 0, "nobody queued: the slot is forgotten");
        let later = turns.run("s", |taken| async move { (taken, false) }).await;
        assert!(!later, "a request arriving after the take reads the database");
    }

    #[tokio::test]
    async fn a_failed_take_lets_the_next_racer_try() {
        let turns = SlotTurns::default();
        let (a, b) = tokio::join!(
            turns.run("s", |taken| async move { (taken, false) }),
            turns.run("s", |taken| async move { (taken, false) }),
        );
        assert!(!a && !b);
        assert_eq!(turns.queued_slots(), 0);
    }

    #[tokio::test]
    async fn a_racer_cancelled_while_waiting_leaves_nothing_behind() {
        let turns = Arc::new(SlotTurns::default());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let turns = turns.clone();
            async move {
                turns
                    .run("s", |_| async move {
                        let _ = released.await;
                        ((), true)
                    })
                    .await
            }
        });
        while turns.queued_slots() == 0 {
            tokio::task::yield_now().await;
        }
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.run("s", |_| async move { ((), false) }).await }
        });
        while Arc::strong_count(&turns.map()["s"]) < 3 {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();
        first.await.unwrap();
        assert_eq!(turns.queued_slots(), 0);
    }
}
