//! The gate: how many expensive database reads run at once in this process,
//! whichever org asks, with the orgs waiting taking turns.
//!
//! Shares ([`super::Admission`]) stop one org or one viewer from holding
//! everything, but each org's share is several heavy statements, and a
//! database has only so many cores: eight searches that walk half a million
//! rows each leave nothing for another org's ingestion or anyone's sign-in.
//! So expensive reads (searches, counts, export batches) also pass this
//! gate, which lets a fixed number through (by default half the machine's
//! cores, the rest kept for writes, sign-in and cheap reads). A read that
//! finds it full waits its turn for a little while rather than being refused
//! at once: a page asks for a few things together and each is short. Orgs
//! take turns, so an org with twenty reads queued does not make another
//! org's one read wait behind all twenty.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use uuid::Uuid;

/// Expensive reads running at once when nobody says otherwise: half the
/// cores this process may use, at least one.
pub fn default_slots() -> usize {
    std::thread::available_parallelism().map(|n| n.get() / 2).unwrap_or(1).max(1)
}

#[derive(Clone)]
pub struct Gate {
    state: Arc<Mutex<State>>,
    slots: usize,
}

#[derive(Default)]
struct State {
    free: usize,
    /// Orgs with someone waiting, in the order they are served.
    turns: VecDeque<Uuid>,
    waiting: HashMap<Uuid, VecDeque<oneshot::Sender<()>>>,
}

/// A place inside the gate, given back when dropped.
pub struct Pass {
    state: Arc<Mutex<State>>,
}

/// The gate stayed full for as long as the caller would wait.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

impl Default for Gate {
    fn default() -> Gate {
        Gate::new(default_slots())
    }
}

impl Gate {
    pub fn new(slots: usize) -> Gate {
        let slots = slots.max(1);
        Gate { state: Arc::new(Mutex::new(State { free: slots, ..State::default() })), slots }
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// A place for `org`, waiting at most `wait` for one.
    pub async fn enter(&self, org: Uuid, wait: Duration) -> Result<Pass, Full> {
        let mut rx = {
            let mut state = lock(&self.state);
            // Whenever a place is free nobody is waiting: a place given
            // back goes to a waiter first.
            if state.free > 0 {
                state.free -= 1;
                return Ok(self.pass());
            }
            let (tx, rx) = oneshot::channel();
            let queue = state.waiting.entry(org).or_default();
            let first_of_org = queue.is_empty();
            queue.push_back(tx);
            if first_of_org {
                state.turns.push_back(org);
            }
            rx
        };
        if let Ok(Ok(())) = tokio::time::timeout(wait, &mut rx).await {
            return Ok(self.pass());
        }
        // Given up. A place handed over while we took the lock is ours all
        // the same (taken, then given back by the caller when it drops it).
        let mut state = lock(&self.state);
        if rx.try_recv().is_ok() {
            return Ok(self.pass());
        }
        drop(rx);
        // Our sender is now closed; forget it (and any other waiter's that
        // was cancelled) so the queue holds only the living.
        if let Some(queue) = state.waiting.get_mut(&org) {
            queue.retain(|tx| !tx.is_closed());
            if queue.is_empty() {
                state.waiting.remove(&org);
                state.turns.retain(|o| *o != org);
            }
        }
        Err(Full)
    }

    /// How many places are taken now (for tests and metrics).
    pub fn taken(&self) -> usize {
        self.slots - lock(&self.state).free
    }

    fn pass(&self) -> Pass {
        Pass { state: self.state.clone() }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        // Hand the place to the next org in turn; a waiter that went away
        // (its request was cancelled) is skipped.
        while let Some(org) = state.turns.pop_front() {
            let Some(queue) = state.waiting.get_mut(&org) else { continue };
            let next = queue.pop_front();
            if queue.is_empty() {
                state.waiting.remove(&org);
            } else {
                state.turns.push_back(org);
            }
            if let Some(tx) = next
                && tx.send(()).is_ok()
            {
                return;
            }
        }
        state.free += 1;
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A poisoned lock only means a holder panicked; the counts are whole.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Uuid = Uuid::from_u128(1);
    const B: Uuid = Uuid::from_u128(2);

    #[tokio::test(start_paused = true)]
    async fn lets_slots_through_and_the_rest_wait_their_turn() {
        let gate = Gate::new(2);
        let first = gate.enter(A, Duration::ZERO).await.unwrap();
        let _second = gate.enter(A, Duration::ZERO).await.unwrap();
        assert_eq!(gate.enter(B, Duration::from_millis(50)).await.err(), Some(Full));
        assert_eq!(gate.taken(), 2);
        // A waiter gets the place the moment one is given back.
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(B, Duration::from_secs(5)).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(first);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(gate.taken(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn orgs_take_turns() {
        let gate = Gate::new(1);
        let held = gate.enter(A, Duration::ZERO).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Org A queues five reads, then org B one.
        for (i, org) in [A, A, A, A, A, B].into_iter().enumerate() {
            let (gate, order) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _pass = gate.enter(org, Duration::from_secs(60)).await.unwrap();
                order.lock().unwrap().push(i);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // B's one read went second, not sixth.
        assert_eq!(order, vec![0, 5, 1, 2, 3, 4]);
        assert_eq!(gate.taken(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_and_timed_out_waiters_give_nothing_away() {
        let gate = Gate::new(1);
        let held = gate.enter(A, Duration::ZERO).await.unwrap();
        let cancelled = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(B, Duration::from_secs(60)).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        cancelled.abort();
        assert!(gate.enter(A, Duration::from_millis(5)).await.is_err());
        drop(held);
        // The place came back, not lost to the waiters who left.
        assert_eq!(gate.taken(), 0);
        let _again = gate.enter(B, Duration::ZERO).await.unwrap();
        assert_eq!(gate.taken(), 1);
    }
}
