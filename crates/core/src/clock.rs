//! Time sources.
//!
//! The subsystem reads time in two ways: wall-clock seconds for the `*_stime`, `*_rtime` and
//! `*_ctime` fields Linux reports (`ktime_get_real_seconds`), and a monotonic reading for the
//! deadlines of timed waits. Both come from a [`Clock`], so tests can drive time by hand with
//! [`ManualClock`] and never sleep.

use std::sync::OnceLock;
use std::time::{Duration, Instant};
#[cfg(not(target_os = "linux"))]
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex};

/// A source of wall-clock and monotonic time for one namespace.
///
/// A [`Blocker`](crate::wait::Blocker) measures deadlines on the monotonic axis of the clock of
/// the namespace it waits in, so a namespace and the blockers used with it must agree:
/// [`SystemClock`] goes with [`ThreadBlocker`](crate::wait::ThreadBlocker), [`ManualClock`] with
/// [`ManualBlocker`](crate::wait::ManualBlocker).
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, as `ktime_get_real_seconds()` returns them.
    fn realtime(&self) -> i64;
    /// Time elapsed on this clock's monotonic axis, from an arbitrary fixed origin.
    fn monotonic(&self) -> Duration;
}

/// The machine's clocks: `SystemTime` for wall time, `Instant` for deadlines.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The origin of the monotonic axis, shared by every `SystemClock` of the process.
    fn origin() -> Instant {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }

    /// Converts a reading of [`Clock::monotonic`] back into an `Instant`.
    ///
    /// # Panics
    ///
    /// If the reading lies beyond what an `Instant` can represent; see
    /// [`checked_instant_at`](Self::checked_instant_at).
    pub fn instant_at(at: Duration) -> Instant {
        Self::origin() + at
    }

    /// Converts a reading of [`Clock::monotonic`] back into an `Instant`, or `None` if it lies
    /// beyond what an `Instant` can represent (a deadline centuries away).
    pub fn checked_instant_at(at: Duration) -> Option<Instant> {
        Self::origin().checked_add(at)
    }
}

impl Clock for SystemClock {
    /// `CLOCK_REALTIME_COARSE` on Linux: the tick-granular wall clock behind
    /// `ktime_get_real_seconds()`, which is what the kernel stamps, and several times cheaper
    /// to read than the precise one.
    #[cfg(target_os = "linux")]
    fn realtime(&self) -> i64 {
        rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
    }

    #[cfg(not(target_os = "linux"))]
    fn realtime(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }

    fn monotonic(&self) -> Duration {
        Instant::now().saturating_duration_since(Self::origin())
    }
}

/// A clock that moves only when told to: deterministic time for tests.
///
/// Waiters of [`ManualBlocker`](crate::wait::ManualBlocker)s built on this clock re-check
/// their deadlines whenever it advances.
#[derive(Debug, Default)]
pub struct ManualClock {
    pub(crate) state: Mutex<ManualTime>,
    pub(crate) changed: Condvar,
}

/// The readings of a [`ManualClock`], and the wake flags of the blockers that wait on it.
#[derive(Debug, Default)]
pub(crate) struct ManualTime {
    pub(crate) realtime: i64,
    pub(crate) monotonic: Duration,
    /// Bumped by every wake-up or interruption of a blocker of this clock.
    pub(crate) epoch: u64,
}

impl ManualClock {
    /// A clock reading `realtime` seconds of wall time and zero monotonic time.
    pub fn new(realtime: i64) -> Self {
        Self {
            state: Mutex::new(ManualTime {
                realtime,
                ..ManualTime::default()
            }),
            changed: Condvar::new(),
        }
    }

    /// Moves both readings forward by `by` (wall time by whole seconds elapsed).
    pub fn advance(&self, by: Duration) {
        let mut t = self.state.lock();
        let before = t.monotonic.as_secs();
        t.monotonic += by;
        let secs = t.monotonic.as_secs() - before;
        t.realtime = t
            .realtime
            .saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
        drop(t);
        self.changed.notify_all();
    }

    /// Sets the wall-clock reading, leaving monotonic time alone (like `settimeofday`).
    pub fn set_realtime(&self, secs: i64) {
        self.state.lock().realtime = secs;
    }
}

impl Clock for ManualClock {
    fn realtime(&self) -> i64 {
        self.state.lock().realtime
    }

    fn monotonic(&self) -> Duration {
        self.state.lock().monotonic
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let c = ManualClock::new(1_000);
        assert_eq!((c.realtime(), c.monotonic()), (1_000, Duration::ZERO));
        c.advance(Duration::from_millis(1_500));
        assert_eq!(
            (c.realtime(), c.monotonic()),
            (1_001, Duration::from_millis(1_500))
        );
        c.advance(Duration::from_millis(500));
        assert_eq!(c.realtime(), 1_002);
        c.set_realtime(5);
        assert_eq!((c.realtime(), c.monotonic()), (5, Duration::from_secs(2)));
    }

    #[test]
    fn system_clock_monotonic_maps_back_to_instants() {
        let c = SystemClock;
        let m = c.monotonic();
        let back = SystemClock::instant_at(m);
        assert!(back <= Instant::now());
        assert!(c.realtime() > 1_600_000_000);
    }
}
