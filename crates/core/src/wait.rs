//! Sleeping and waking: the [`Blocker`] trait and the wait protocol every mechanism follows.
//!
//! # The protocol
//!
//! 1. An operation that cannot complete publishes a [`WaitEntry`] on the object's wait list in
//!    the same critical section as the failed attempt, then releases every lock.
//! 2. It sleeps in [`Blocker::block`], with a deadline computed once before the first attempt.
//! 3. A completer (a sender, a removal, an `IPC_SET`) holds the object's lock, unlinks the
//!    entry, fills its write-once outcome slot with [`WaitEntry::complete`], and pushes the
//!    sleeper onto a [`WakeList`] that it delivers only after dropping the lock.
//! 4. The sleeper reads its slot. An empty slot after a timeout or an interruption means the
//!    sleeper must cancel: relock the object, read the slot again (a completer may have won
//!    meanwhile), and only if it is still empty unlink the entry and report the failure.
//!    [`WaitEntry::sleep`] runs steps 2 to 4.
//!
//! Entries on a wait list always have an empty slot; completed entries are unlinked by the
//! completer. A blocker may return [`Wakeup::Woken`] without a completed entry (a late wake-up
//! from an earlier wait): the sleeper then simply sleeps again.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::clock::{Clock, ManualClock, SystemClock};

/// Why [`Blocker::block`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wakeup {
    /// [`Blocker::wake`] was called.
    Woken,
    /// The deadline passed.
    TimedOut,
    /// The caller was interrupted (a signal was delivered to the task).
    Interrupted,
}

/// The only way the subsystem sleeps. An embedder implements it for its task type, turning
/// signal delivery into [`Wakeup::Interrupted`].
///
/// Deadlines are readings of [`Clock::monotonic`] of the namespace's clock.
pub trait Blocker: Send + Sync {
    /// Sleeps until [`wake`](Self::wake) is called, `deadline` passes, or the caller is
    /// interrupted. A wake-up or interruption that arrives before the call is not lost: the
    /// call returns at once. No IPC lock is held while this runs.
    fn block(&self, deadline: Option<Duration>) -> Wakeup;

    /// Ends the current or next [`block`](Self::block) with [`Wakeup::Woken`].
    fn wake(&self);
}

const WOKEN: u8 = 1;
const INTERRUPTED: u8 = 2;
const SLEEPING: u8 = 4;

/// A blocker for OS threads, on the machine's clock ([`SystemClock`]).
///
/// [`interrupt`](Self::interrupt) plays the role of a signal.
///
/// A sleeper first spins briefly, watching for its wake-up (the other party of a round trip
/// usually answers within a few hundred nanoseconds, much less than a park and an unpark
/// cost), and only then parks on a condition variable. The wake-up bits live in an atomic so
/// the spin reads no lock; a waker takes the lock and notifies only when the sleeper has
/// parked: both publish their bit (`SLEEPING`, `WOKEN`) before reading the other's, so at
/// least one of them sees the other and no wake-up is lost.
#[derive(Default)]
pub struct ThreadBlocker {
    flags: AtomicU8,
    lock: Mutex<()>,
    changed: Condvar,
}

/// Spin iterations before parking (`spin_loop` hints, then `yield_now` for the last ones):
/// a few microseconds at most.
const SPINS: u32 = 64;
const YIELDS_AFTER: u32 = 48;

impl ThreadBlocker {
    /// A blocker with no wake-up or interruption pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interrupts the current or next [`Blocker::block`].
    pub fn interrupt(&self) {
        self.signal(INTERRUPTED);
    }

    /// Whether a thread is parked in [`Blocker::block`] right now.
    pub fn is_sleeping(&self) -> bool {
        self.flags.load(Ordering::SeqCst) & SLEEPING != 0
    }

    /// Waits until a thread is parked in [`Blocker::block`] (for tests: no timing guesswork).
    pub fn wait_until_sleeping(&self) {
        let mut g = self.lock.lock();
        while !self.is_sleeping() {
            self.changed.wait(&mut g);
        }
    }

    fn signal(&self, bit: u8) {
        let before = self.flags.fetch_or(bit, Ordering::SeqCst);
        if before & SLEEPING != 0 {
            // Taking the lock orders the notification after the sleeper's check-then-wait.
            let _g = self.lock.lock();
            self.changed.notify_all();
        }
    }

    /// The pending wake-up, if any.
    fn pending(&self) -> Option<Wakeup> {
        let f = self.flags.load(Ordering::SeqCst);
        if f & WOKEN != 0 {
            Some(Wakeup::Woken)
        } else if f & INTERRUPTED != 0 {
            Some(Wakeup::Interrupted)
        } else {
            None
        }
    }
}

impl Blocker for ThreadBlocker {
    fn block(&self, deadline: Option<Duration>) -> Wakeup {
        let why = self.wait(deadline);
        self.flags
            .fetch_and(!(WOKEN | INTERRUPTED | SLEEPING), Ordering::SeqCst);
        why
    }

    fn wake(&self) {
        self.signal(WOKEN);
    }
}

impl ThreadBlocker {
    fn wait(&self, deadline: Option<Duration>) -> Wakeup {
        let timed_out = || deadline.is_some_and(|d| SystemClock.monotonic() >= d);
        for i in 0..SPINS {
            if let Some(why) = self.pending() {
                return why;
            }
            if i < YIELDS_AFTER {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        // A deadline too far away for an `Instant` is never reached: park without one.
        let until = deadline.and_then(SystemClock::checked_instant_at);
        let mut g = self.lock.lock();
        self.flags.fetch_or(SLEEPING, Ordering::SeqCst);
        // Wake a test waiting in `wait_until_sleeping`.
        self.changed.notify_all();
        loop {
            if let Some(why) = self.pending() {
                return why;
            }
            if timed_out() {
                return Wakeup::TimedOut;
            }
            match until {
                Some(t) => {
                    self.changed.wait_until(&mut g, t);
                }
                None => self.changed.wait(&mut g),
            }
        }
    }
}

impl fmt::Debug for ThreadBlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadBlocker")
            .field("flags", &self.flags.load(Ordering::Relaxed))
            .finish()
    }
}

/// A deterministic blocker for tests, on a [`ManualClock`]: deadlines pass only when the test
/// advances the clock, and [`wait_until_sleeping`](Self::wait_until_sleeping) tells when a
/// thread has gone to sleep, so tests never sleep to synchronise.
pub struct ManualBlocker {
    clock: Arc<ManualClock>,
    flags: AtomicU8,
    sleeps: AtomicU64,
}

impl ManualBlocker {
    /// A blocker whose deadlines are measured on `clock`.
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            clock,
            flags: AtomicU8::new(0),
            sleeps: AtomicU64::new(0),
        }
    }

    /// Interrupts the current or next [`Blocker::block`].
    pub fn interrupt(&self) {
        self.signal(INTERRUPTED);
    }

    /// Whether a thread is asleep in [`Blocker::block`] right now.
    pub fn is_sleeping(&self) -> bool {
        self.flags.load(Ordering::SeqCst) & SLEEPING != 0
    }

    /// Waits until a thread is asleep in [`Blocker::block`].
    pub fn wait_until_sleeping(&self) {
        self.wait_for_sleep(1);
    }

    /// How many times a thread has gone to sleep in [`Blocker::block`].
    pub fn sleeps(&self) -> u64 {
        self.sleeps.load(Ordering::SeqCst)
    }

    /// Waits until a thread is asleep for at least the `n`th time, counting from 1: after a
    /// wake-up that should send the sleeper back to sleep, wait for `sleeps() + 1`.
    pub fn wait_for_sleep(&self, n: u64) {
        let mut t = self.clock.state.lock();
        while !(self.is_sleeping() && self.sleeps() >= n) {
            self.clock.changed.wait(&mut t);
        }
    }

    fn signal(&self, bit: u8) {
        // Taking the clock's lock orders this flag change before or after the sleeper's
        // check-then-wait, never between the two, so the notification cannot be lost.
        let mut t = self.clock.state.lock();
        self.flags.fetch_or(bit, Ordering::SeqCst);
        t.epoch = t.epoch.wrapping_add(1);
        drop(t);
        self.clock.changed.notify_all();
    }
}

impl Blocker for ManualBlocker {
    fn block(&self, deadline: Option<Duration>) -> Wakeup {
        let mut t = self.clock.state.lock();
        let why = loop {
            let f = self.flags.load(Ordering::SeqCst);
            if f & WOKEN != 0 {
                break Wakeup::Woken;
            }
            if f & INTERRUPTED != 0 {
                break Wakeup::Interrupted;
            }
            if deadline.is_some_and(|d| t.monotonic >= d) {
                break Wakeup::TimedOut;
            }
            if f & SLEEPING == 0 {
                self.flags.fetch_or(SLEEPING, Ordering::SeqCst);
                self.sleeps.fetch_add(1, Ordering::SeqCst);
                self.clock.changed.notify_all();
            }
            self.clock.changed.wait(&mut t);
        };
        self.flags
            .fetch_and(!(WOKEN | INTERRUPTED | SLEEPING), Ordering::SeqCst);
        drop(t);
        why
    }

    fn wake(&self) {
        self.signal(WOKEN);
    }
}

impl fmt::Debug for ManualBlocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualBlocker")
            .field("flags", &self.flags.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

/// Sleepers to wake once the lock that decided their fate has been released.
#[must_use = "call wake_all() after the guard is dropped"]
#[derive(Default)]
pub(crate) struct WakeList {
    // The common case is a single sleeper (one receiver handed one message): no allocation.
    first: Option<Arc<dyn Blocker>>,
    rest: Vec<Arc<dyn Blocker>>,
}

impl WakeList {
    pub(crate) fn push(&mut self, b: Arc<dyn Blocker>) {
        match self.first {
            None => self.first = Some(b),
            Some(_) => self.rest.push(b),
        }
    }

    /// Wakes everyone collected. Call with no IPC lock held.
    #[inline]
    pub(crate) fn wake_all(self) {
        // Most operations wake no one: only the test is on their path.
        if let Some(b) = self.first {
            Self::wake_each(b, self.rest);
        }
    }

    #[cold]
    fn wake_each(first: Arc<dyn Blocker>, rest: Vec<Arc<dyn Blocker>>) {
        first.wake();
        for b in rest {
            b.wake();
        }
    }
}

/// A sleeper published on an object's wait list: what it waits for (`D`), whom to wake, and a
/// write-once slot for the outcome (`O`) that a completer fills under the object's lock.
pub(crate) struct WaitEntry<D, O> {
    pub(crate) data: D,
    blocker: Arc<dyn Blocker>,
    slot: Mutex<Option<O>>,
}

impl<D, O> WaitEntry<D, O> {
    pub(crate) fn new(data: D, blocker: Arc<dyn Blocker>) -> Arc<Self> {
        Arc::new(Self {
            data,
            blocker,
            slot: Mutex::new(None),
        })
    }

    /// Fills the slot and schedules the wake-up. The caller holds the object's lock and has
    /// unlinked the entry, so no other completer can reach it.
    pub(crate) fn complete(&self, outcome: O, wake: &mut WakeList) {
        *self.slot.lock() = Some(outcome);
        wake.push(Arc::clone(&self.blocker));
    }

    /// Takes the outcome, if a completer has filled the slot.
    pub(crate) fn take(&self) -> Option<O> {
        self.slot.lock().take()
    }

    /// Sleeps until the entry is completed, the deadline passes, or the caller is interrupted,
    /// and returns the outcome (if any) with the reason the last sleep ended, so that each
    /// mechanism can rank an outcome against an interruption as Linux does.
    ///
    /// `cancel` runs after a timeout or interruption: under the object's lock it takes the
    /// outcome if a completer won the race, and otherwise unlinks the entry and returns `None`.
    pub(crate) fn sleep(
        &self,
        deadline: Option<Duration>,
        cancel: impl FnOnce() -> Option<O>,
    ) -> (Option<O>, Wakeup) {
        loop {
            let why = self.blocker.block(deadline);
            if let Some(outcome) = self.take() {
                return (Some(outcome), why);
            }
            if why != Wakeup::Woken {
                return (cancel(), why);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn wake_before_block_is_not_lost() {
        let b = ThreadBlocker::new();
        b.wake();
        assert_eq!(b.block(None), Wakeup::Woken);
    }

    #[test]
    fn interrupt_before_block_is_not_lost() {
        let b = ThreadBlocker::new();
        b.interrupt();
        assert_eq!(b.block(None), Wakeup::Interrupted);
    }

    #[test]
    fn thread_blocker_times_out_at_deadline() {
        let b = ThreadBlocker::new();
        let d = SystemClock.monotonic() + Duration::from_millis(5);
        assert_eq!(b.block(Some(d)), Wakeup::TimedOut);
        assert!(SystemClock.monotonic() >= d);
    }

    #[test]
    fn thread_blocker_accepts_a_deadline_beyond_any_instant() {
        let b = Arc::new(ThreadBlocker::new());
        let t = thread::spawn({
            let b = Arc::clone(&b);
            move || b.block(Some(Duration::MAX))
        });
        b.wait_until_sleeping();
        b.wake();
        assert_eq!(t.join().unwrap(), Wakeup::Woken);
    }

    #[test]
    fn thread_blocker_wakes_a_sleeping_thread() {
        let b = Arc::new(ThreadBlocker::new());
        let t = thread::spawn({
            let b = Arc::clone(&b);
            move || b.block(None)
        });
        b.wait_until_sleeping();
        b.wake();
        assert_eq!(t.join().unwrap(), Wakeup::Woken);
        assert!(!b.is_sleeping());
    }

    #[test]
    fn manual_blocker_times_out_only_when_clock_reaches_deadline() {
        let clock = Arc::new(ManualClock::new(0));
        let b = Arc::new(ManualBlocker::new(Arc::clone(&clock)));
        let t = thread::spawn({
            let b = Arc::clone(&b);
            move || b.block(Some(Duration::from_secs(2)))
        });
        b.wait_until_sleeping();
        clock.advance(Duration::from_secs(1));
        assert!(!t.is_finished() || b.is_sleeping());
        clock.advance(Duration::from_secs(1));
        assert_eq!(t.join().unwrap(), Wakeup::TimedOut);
    }

    #[test]
    fn manual_blocker_reports_interruption() {
        let clock = Arc::new(ManualClock::new(0));
        let b = Arc::new(ManualBlocker::new(clock));
        let t = thread::spawn({
            let b = Arc::clone(&b);
            move || b.block(None)
        });
        b.wait_until_sleeping();
        b.interrupt();
        assert_eq!(t.join().unwrap(), Wakeup::Interrupted);
    }

    #[test]
    fn sleep_returns_outcome_that_won_against_a_timeout() {
        let b: Arc<dyn Blocker> = Arc::new(ThreadBlocker::new());
        let e = WaitEntry::new((), Arc::clone(&b));
        let mut wake = WakeList::default();
        e.complete(7, &mut wake);
        wake.wake_all();
        assert_eq!(
            e.sleep(Some(Duration::ZERO), || None),
            (Some(7), Wakeup::Woken)
        );
    }

    #[test]
    fn sleep_cancels_after_timeout() {
        let b: Arc<dyn Blocker> = Arc::new(ThreadBlocker::new());
        let e: Arc<WaitEntry<(), i32>> = WaitEntry::new((), b);
        assert_eq!(
            e.sleep(Some(Duration::ZERO), || None),
            (None, Wakeup::TimedOut)
        );
        assert_eq!(
            e.sleep(Some(Duration::ZERO), || Some(3)),
            (Some(3), Wakeup::TimedOut)
        );
    }
}
