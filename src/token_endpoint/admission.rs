//! Admission to password verification: a concurrency bound, a capped queue with a
//! bounded wait, and two lanes so that a flood of failing logins cannot starve others.
//!
//! # How a flood of bad logins is kept from starving good ones
//!
//! - **Bounded**: at most `max_concurrency` verifications run; at most `max_waiting`
//!   logins wait in each of the two lanes below, each at most `max_wait`. A login that
//!   finds its lane full, or whose wait runs out, is answered `503
//!   temporarily_unavailable` with `Retry-After` instead of queueing without end. So
//!   any login is answered within `max_wait` plus one verification.
//! - **Two lanes**: a login for a username that failed recently on this node (wrong
//!   password, unknown user; tracked by a keyed hash of the username, so unknown and
//!   known usernames are treated alike and nothing reveals which exist) waits in the
//!   *suspect* lane, every other login in the *clean* lane. A freed slot goes to the
//!   clean lane first; the suspect lane gets every fourth slot while both wait, so it is
//!   slowed, never starved; and suspect logins never run in every slot at once (with
//!   two slots or more, one is kept for the clean lane), so a valid login does not
//!   wait for the flood's verifications to finish. Password guessing repeats usernames, so after its first
//!   failure per username a flood queues behind the users who have not failed: a valid
//!   login waits for about one verification, not for the flood. The flood's own
//!   requests are parked in their lane (up to `max_wait`) rather than refused at once,
//!   which also keeps a client that retries without pause from spinning on `503`s.
//! - **What it does not do**: a flood of always-new usernames is clean on each first
//!   try and shares the clean lane first-come first-served; then the bound is what
//!   holds (an answer within `max_wait`). A flood against one username slows that
//!   user's own logins too; a per-username lockout (the demo's `LOGIN_LIMIT`) is the
//!   tool for that.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// One slot in four goes to the suspect lane while both lanes wait.
const SUSPECT_SHARE: u32 = 4;
/// How long a failed login marks its username as suspect.
const SUSPECT_FOR: Duration = Duration::from_secs(300);
/// Usernames remembered as suspect, at most.
const MAX_TRACKED: usize = 65_536;

/// Why a login was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The queue was full or the wait ran out.
    Busy,
}

pub(crate) struct Admission {
    state: Mutex<State>,
    max_waiting: usize,
    max_wait: Duration,
    /// Suspect logins verified at once, at most: one slot fewer than all (when there
    /// are two or more), so a valid login never waits for the flood's verifications.
    suspect_limit: usize,
    failures: Mutex<Failures>,
}

struct State {
    free: usize,
    suspect_running: usize,
    clean: VecDeque<oneshot::Sender<()>>,
    suspect: VecDeque<oneshot::Sender<()>>,
    /// Slots handed to the clean lane since the suspect lane last got one.
    clean_in_a_row: u32,
}

impl Admission {
    pub(crate) fn new(max_concurrency: usize, max_waiting: usize, max_wait: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                free: max_concurrency,
                suspect_running: 0,
                clean: VecDeque::new(),
                suspect: VecDeque::new(),
                clean_in_a_row: 0,
            }),
            max_waiting,
            max_wait,
            suspect_limit: max_concurrency.saturating_sub(1).max(1),
            failures: Mutex::new(Failures::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot, in the lane `username`'s recent failures choose.
    pub(crate) async fn admit(self: &Arc<Self>, username: &str) -> Result<Permit, Refused> {
        let suspect = self.is_suspect(username);
        let rx = match self.take_turn(suspect)? {
            Turn::Now(permit) => return Ok(permit),
            Turn::Wait(rx) => rx,
        };
        let mut waiter = Waiter {
            rx,
            admission: Arc::clone(self),
            suspect,
            granted: false,
        };
        match tokio::time::timeout(self.max_wait, &mut waiter.rx).await {
            Ok(Ok(())) => {
                waiter.granted = true;
                Ok(self.permit(suspect))
            }
            // The sender is only dropped unsent when the queue is dropped: not here.
            Ok(Err(_)) => Err(Refused::Busy),
            Err(_) => {
                // A slot may have been handed over just as the wait ran out: take it.
                waiter.rx.close();
                if waiter.rx.try_recv().is_ok() {
                    waiter.granted = true;
                    Ok(self.permit(suspect))
                } else {
                    Err(Refused::Busy)
                }
            }
        }
    }

    /// A slot now if one is free and no one of a lane with priority waits, else a
    /// place in `suspect`'s lane (none when it is full).
    fn take_turn(self: &Arc<Self>, suspect: bool) -> Result<Turn, Refused> {
        let mut state = self.lock();
        state.clean.retain(|tx| !tx.is_closed());
        state.suspect.retain(|tx| !tx.is_closed());
        // Suspects waiting while a slot is free are held by their limit: a clean
        // login takes the slot.
        let may_run = if suspect {
            state.clean.is_empty()
                && state.suspect.is_empty()
                && state.suspect_running < self.suspect_limit
        } else {
            state.clean.is_empty()
        };
        if state.free > 0 && may_run {
            state.free -= 1;
            if suspect {
                state.suspect_running += 1;
            }
            return Ok(Turn::Now(self.permit(suspect)));
        }
        let lane = if suspect {
            &state.suspect
        } else {
            &state.clean
        };
        if lane.len() >= self.max_waiting {
            return Err(Refused::Busy);
        }
        let (tx, rx) = oneshot::channel();
        if suspect {
            state.suspect.push_back(tx);
        } else {
            state.clean.push_back(tx);
        }
        Ok(Turn::Wait(rx))
    }

    fn permit(self: &Arc<Self>, suspect: bool) -> Permit {
        Permit {
            admission: Arc::clone(self),
            suspect,
        }
    }

    /// Hands a freed slot (of a suspect login if `suspect`) to the next live waiter
    /// allowed to run, or puts it back.
    fn release(&self, suspect: bool) {
        let mut state = self.lock();
        if suspect {
            state.suspect_running = state.suspect_running.saturating_sub(1);
        }
        loop {
            let suspect_may_run =
                !state.suspect.is_empty() && state.suspect_running < self.suspect_limit;
            let take_suspect = suspect_may_run
                && (state.clean.is_empty() || state.clean_in_a_row + 1 >= SUSPECT_SHARE);
            let next = if take_suspect {
                state.suspect.pop_front()
            } else {
                state.clean.pop_front()
            };
            let Some(tx) = next else {
                state.free += 1;
                return;
            };
            if tx.send(()).is_ok() {
                if take_suspect {
                    state.clean_in_a_row = 0;
                    state.suspect_running += 1;
                } else {
                    state.clean_in_a_row = state.clean_in_a_row.saturating_add(1);
                }
                return;
            }
        }
    }

    fn failures(&self) -> MutexGuard<'_, Failures> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_suspect(&self, username: &str) -> bool {
        let mut failures = self.failures();
        let key = failures.key(username);
        failures.is_suspect(key, Instant::now())
    }

    /// Records a verification's outcome for `username`.
    pub(crate) fn record(&self, username: &str, matched: bool) {
        let mut failures = self.failures();
        let key = failures.key(username);
        if matched {
            failures.last.remove(&key);
        } else {
            failures.failed(key, Instant::now());
        }
    }

    pub(crate) fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    pub(crate) fn max_wait(&self) -> Duration {
        self.max_wait
    }
}

/// A slot for one verification; handed on when dropped.
pub(crate) struct Permit {
    admission: Arc<Admission>,
    suspect: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.release(self.suspect);
    }
}

/// A queued login. Dropped unanswered (the client went away), it gives back a slot
/// that was handed to it meanwhile.
struct Waiter {
    rx: oneshot::Receiver<()>,
    admission: Arc<Admission>,
    suspect: bool,
    granted: bool,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if !self.granted {
            self.rx.close();
            if self.rx.try_recv().is_ok() {
                self.admission.release(self.suspect);
            }
        }
    }
}

/// Recently failed usernames, by a keyed hash (the key is random per process, so the
/// table cannot be flooded with colliding names).
#[derive(Default)]
struct Failures {
    hasher: std::collections::hash_map::RandomState,
    last: HashMap<u64, Instant>,
}

impl Failures {
    fn key(&self, username: &str) -> u64 {
        self.hasher.hash_one(username)
    }

    fn is_suspect(&mut self, key: u64, now: Instant) -> bool {
        match self.last.get(&key) {
            Some(at) if now.duration_since(*at) < SUSPECT_FOR => true,
            Some(_) => {
                self.last.remove(&key);
                false
            }
            None => false,
        }
    }

    fn failed(&mut self, key: u64, now: Instant) {
        if self.last.len() >= MAX_TRACKED && !self.last.contains_key(&key) {
            self.last
                .retain(|_, at| now.duration_since(*at) < SUSPECT_FOR);
            if self.last.len() >= MAX_TRACKED {
                // Still full of fresh failures: forget the oldest one.
                if let Some(oldest) = self.last.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k) {
                    self.last.remove(&oldest);
                }
            }
        }
        self.last.insert(key, now);
    }
}

/// What [`Admission::take_turn`] gives: a slot now, or a place in line.
enum Turn {
    Now(Permit),
    Wait(oneshot::Receiver<()>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_queue_and_long_wait_are_refused() {
        let admission = Arc::new(Admission::new(1, 2, Duration::from_millis(100)));
        let running = admission.admit("a").await.unwrap();
        let first = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("b").await.map(drop) }
        });
        let second = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("c").await.map(drop) }
        });
        tokio::task::yield_now().await;
        // Two wait: the queue is full.
        assert_eq!(admission.admit("d").await.err(), Some(Refused::Busy));
        // The wait runs out.
        assert_eq!(first.await.unwrap(), Err(Refused::Busy));
        assert_eq!(second.await.unwrap(), Err(Refused::Busy));
        drop(running);
        // The slot came back.
        assert!(admission.admit("e").await.is_ok());
    }

    #[tokio::test]
    async fn clean_lane_goes_first_suspect_lane_is_not_starved() {
        let admission = Arc::new(Admission::new(1, 64, Duration::from_secs(60)));
        admission.record("bad", false);
        let running = admission.admit("x").await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Suspects queue first, then clean logins.
        for name in ["bad", "bad", "good1", "good2", "good3", "good4", "good5"] {
            let admission = Arc::clone(&admission);
            let order = Arc::clone(&order);
            tasks.push(tokio::spawn(async move {
                let permit = admission.admit(name).await.unwrap();
                order.lock().unwrap().push(name);
                drop(permit);
            }));
            tokio::task::yield_now().await;
        }
        drop(running);
        for task in tasks {
            task.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order,
            ["good1", "good2", "good3", "bad", "good4", "good5", "bad"]
        );
    }

    #[tokio::test]
    async fn each_lane_is_capped() {
        let admission = Arc::new(Admission::new(1, 2, Duration::from_secs(60)));
        admission.record("bad", false);
        let _running = admission.admit("x").await.unwrap();
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let admission = Arc::clone(&admission);
            waiting.push(tokio::spawn(async move {
                admission.admit("bad").await.map(drop)
            }));
            tokio::task::yield_now().await;
        }
        // The suspect lane is full; the clean lane still has room.
        assert_eq!(admission.admit("bad").await.err(), Some(Refused::Busy));
        // A success clears the mark: into the clean lane.
        admission.record("bad", true);
        let clean = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("bad").await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!clean.is_finished());
        for task in waiting {
            task.abort();
        }
        clean.abort();
    }

    #[tokio::test]
    async fn suspects_never_take_the_last_slot() {
        let admission = Arc::new(Admission::new(2, 8, Duration::from_secs(60)));
        admission.record("bad", false);
        let first = admission.admit("bad").await.unwrap();
        // One slot is free, but it is kept for clean logins.
        let second = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("bad").await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        let clean = admission.admit("good").await.unwrap();
        drop(clean);
        // The suspect's slot comes back: the waiting suspect runs.
        drop(first);
        let waited = tokio::time::timeout(Duration::from_secs(10), second).await;
        assert!(matches!(waited, Ok(Ok(Ok(())))));
        // With a single slot suspects still run.
        let single = Arc::new(Admission::new(1, 8, Duration::from_secs(60)));
        single.record("bad", false);
        assert!(single.admit("bad").await.is_ok());
    }

    #[tokio::test]
    async fn an_abandoned_waiter_gives_its_slot_back() {
        let admission = Arc::new(Admission::new(1, 4, Duration::from_secs(60)));
        let running = admission.admit("a").await.unwrap();
        let abandoned = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("b").await.map(drop) }
        });
        tokio::task::yield_now().await;
        abandoned.abort();
        let _ = abandoned.await;
        drop(running);
        let permit = tokio::time::timeout(Duration::from_secs(1), admission.admit("c")).await;
        assert!(matches!(permit, Ok(Ok(_))));
    }
}
