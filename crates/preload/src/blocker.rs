//! How a calling thread sleeps: a futex word per thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sysvipc::{Blocker, Clock, Errno, SystemClock, Wakeup};

use crate::sys;

/// The word's value once [`Blocker::wake`] has been called.
const WOKEN: u32 = 1;

/// The longest single futex sleep without a deadline: the wait loops after it, so it only
/// bounds how long one `FUTEX_WAIT` lasts.
const LONGEST_SLEEP: Duration = Duration::from_secs(3600);

/// A thread's blocker: sleeps in `futex(FUTEX_WAIT)` on its word, and
/// [`wake`](Blocker::wake) sets the word and calls `FUTEX_WAKE`.
///
/// A signal whose handler runs during the sleep makes the futex call fail with `EINTR`
/// (the wait always has a timeout, so the kernel does not restart it under `SA_RESTART`):
/// that is [`Wakeup::Interrupted`]. A signal without a handler (a stop and continue) is
/// restarted by the kernel and goes unnoticed, as for the kernel's own IPC waits.
#[derive(Debug, Default)]
pub(crate) struct FutexBlocker {
    word: AtomicU32,
}

impl Blocker for FutexBlocker {
    fn block(&self, deadline: Option<Duration>) -> Wakeup {
        loop {
            if self.word.swap(0, Ordering::AcqRel) == WOKEN {
                return Wakeup::Woken;
            }
            let sleep = match deadline {
                Some(d) => {
                    let now = SystemClock.monotonic();
                    if now >= d {
                        return Wakeup::TimedOut;
                    }
                    (d - now).min(LONGEST_SLEEP)
                }
                None => LONGEST_SLEEP,
            };
            if sys::futex_wait(&self.word, 0, sleep) == Err(Errno::EINTR) {
                return Wakeup::Interrupted;
            }
        }
    }

    fn wake(&self) {
        self.word.store(WOKEN, Ordering::Release);
        sys::futex_wake(&self.word);
    }
}

thread_local! {
    static THREAD_BLOCKER: Arc<FutexBlocker> = Arc::new(FutexBlocker::default());
}

/// The calling thread's blocker (a fresh one while the thread is being torn down).
pub(crate) fn current() -> Arc<FutexBlocker> {
    THREAD_BLOCKER
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(FutexBlocker::default()))
}
