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

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    use super::*;

    fn deadline_in(d: Duration) -> Duration {
        SystemClock.monotonic() + d
    }

    #[test]
    fn a_wake_before_the_block_is_not_lost() {
        let b = FutexBlocker::default();
        b.wake();
        assert_eq!(b.block(None), Wakeup::Woken);
    }

    #[test]
    fn the_deadline_ends_the_sleep() {
        let b = FutexBlocker::default();
        let start = Instant::now();
        assert_eq!(
            b.block(Some(deadline_in(Duration::from_millis(30)))),
            Wakeup::TimedOut
        );
        assert!(start.elapsed() >= Duration::from_millis(30));
        // A deadline already past returns at once.
        assert_eq!(b.block(Some(Duration::ZERO)), Wakeup::TimedOut);
    }

    #[test]
    fn another_thread_wakes_the_sleeper() {
        let b = Arc::new(FutexBlocker::default());
        let waker = {
            let b = Arc::clone(&b);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                b.wake();
            })
        };
        assert_eq!(b.block(None), Wakeup::Woken);
        waker.join().unwrap();
    }

    static HANDLED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(_: libc::c_int) {
        HANDLED.store(true, Ordering::SeqCst);
    }

    #[test]
    fn a_handler_with_sa_restart_still_interrupts() {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut()), 0);
        }
        // SAFETY: pthread_self cannot fail.
        let me = unsafe { libc::pthread_self() } as usize;
        let done = Arc::new(AtomicBool::new(false));
        let signaller = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    // SAFETY: the target thread is alive until `done` is set.
                    unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR2) };
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        let b = FutexBlocker::default();
        let why = b.block(Some(deadline_in(Duration::from_secs(10))));
        done.store(true, Ordering::SeqCst);
        signaller.join().unwrap();
        assert_eq!(why, Wakeup::Interrupted);
        assert!(HANDLED.load(Ordering::SeqCst));
    }
}
