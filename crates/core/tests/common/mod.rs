//! The differential harness shared by `differential_msg.rs` and `differential_sem.rs`: the
//! callers ([`Who`], [`Party`]), the host kernel and the emulation side by side ([`Harness`]),
//! the normalisation of pids ([`Pid`]) and times ([`Stamp`]), calls blocked on both sides
//! ([`Blocked`]), and a seeded generator ([`XorShift`]). Each test file wraps a [`Harness`] in
//! its own `Pair` with the calls of its mechanism; see those files' docs for the rules.
#![allow(dead_code)]

use std::cell::RefCell;
use std::fmt::Debug;
use std::panic::resume_unwind;
use std::sync::Arc;
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use sysvipc::abi::{self, IPC_NOWAIT};
use sysvipc::{Caller, Capabilities, Credentials, Errno, IpcNamespace, ManualBlocker, ManualClock};
use sysvipc_host::{HostCaller, HostError, HostJoin, HostNamespace};

pub const NW: i32 = IPC_NOWAIT;
/// The process id of every emulated caller (see the module docs).
pub const EMU_PID: i32 = 4242;
/// How long a thread may take to fall asleep, or to finish once woken, before the test fails
/// instead of hanging (only reached when host and emulation diverge).
pub const BLOCK_TIMEOUT: Duration = Duration::from_secs(20);
/// Where the emulation's wall clock starts.
pub const T0: i64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// Callers

/// The callers every test can use, with the same credentials on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// uid 0 with root's capabilities on this host, minus CAP_SYS_RESOURCE (which the hosts
    /// here lack, and which `msg_qbytes` above `msgmnb` needs).
    Root,
    /// uid 1000, gid 1000.
    User,
    /// uid 2000, gid 2000, in group 1000 through its supplementary groups.
    Member,
    /// uid 3000, egid 3000, fsgid 1000: in group 1000 only through its fsgid.
    FsGroup,
    /// Root without CAP_IPC_OWNER.
    RootNoIpcOwner,
    /// Root without CAP_SYS_ADMIN and CAP_IPC_OWNER.
    RootNoAdmin,
}

pub const EVERYONE: [Who; 6] = [
    Who::Root,
    Who::User,
    Who::Member,
    Who::FsGroup,
    Who::RootNoIpcOwner,
    Who::RootNoAdmin,
];

/// One caller, as the host sees it and as the emulation sees it.
pub struct Party {
    pub who: Who,
    pub host: HostCaller,
    pub emu: Caller,
}

pub const fn cap(n: u32) -> u64 {
    1 << n
}

pub fn parties(permitted: u64, clock: &Arc<ManualClock>) -> Vec<Party> {
    // Root gets exactly the capabilities the host lets it make effective, minus
    // CAP_SYS_RESOURCE (dropped explicitly, so every host runs the same scenario); the
    // emulation's caller gets the same set.
    let root = permitted & !cap(abi::CAP_SYS_RESOURCE);
    let no_owner = root & !cap(abi::CAP_IPC_OWNER);
    EVERYONE
        .iter()
        .map(|&who| {
            let (euid, egid, fsgid, groups, caps): (u32, u32, u32, &[u32], u64) = match who {
                Who::Root => (0, 0, 0, &[], root),
                Who::User => (1000, 1000, 1000, &[], 0),
                Who::Member => (2000, 2000, 2000, &[1000], 0),
                Who::FsGroup => (3000, 3000, 1000, &[], 0),
                Who::RootNoIpcOwner => (0, 0, 0, &[], no_owner),
                Who::RootNoAdmin => (0, 0, 0, &[], no_owner & !cap(abi::CAP_SYS_ADMIN)),
            };
            let host = HostCaller {
                euid,
                egid,
                fsgid: Some(fsgid),
                groups: groups.to_vec(),
                caps: Some(caps),
            };
            // Host callers switch only their effective ids: the real uid stays root's.
            let cred = Credentials {
                ruid: 0,
                euid,
                egid,
                fsgid,
                groups: groups.to_vec(),
                caps: Capabilities::from_bits_truncate(caps),
            };
            let blocker = Arc::new(ManualBlocker::new(Arc::clone(clock)));
            Party {
                who,
                host,
                emu: Caller::new(cred, EMU_PID, blocker),
            }
        })
        .collect()
}

/// A recorded process or thread id, normalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pid {
    Zero,
    /// The process every caller belongs to.
    Process,
    /// The thread (or child process) started under this name (`Harness::thread_caller`).
    Thread(&'static str),
    /// Anything else (a bug on one side): kept raw so the failure shows it.
    Other(i32),
}

/// A time field relative to the previous stat of the same object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    Zero,
    Unchanged,
    Advanced,
}

impl Stamp {
    pub fn of(prev: i64, now: i64) -> Option<Stamp> {
        match now {
            0 => Some(Stamp::Zero),
            n if n == prev => Some(Stamp::Unchanged),
            n if n > prev => Some(Stamp::Advanced),
            _ => None,
        }
    }
}

/// What `ktime_get_real_seconds()` reads, i.e. the seconds the host kernel stamps into
/// `msg_stime`/`msg_rtime`/`msg_ctime` and `sem_otime`/`sem_ctime`: CLOCK_REALTIME_COARSE
/// reads the same timekeeper seconds (the fine CLOCK_REALTIME may already be one second ahead
/// of it).
pub fn host_second() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec that outlives the call; clock_gettime(2)
    // writes only into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_REALTIME_COARSE) failed");
    ts.tv_sec
}

/// The errno a program sees for an emulated msgsnd/msgrcv. The emulation reports an
/// interrupted wait as ERESTARTNOHAND, Linux's internal code that the kernel turns into EINTR
/// when a signal handler runs (whatever SA_RESTART says) and restarts transparently when none
/// does. The host's interrupt signal has a handler, so its threads see EINTR: map explicitly.
pub fn as_seen_by_the_caller(e: Errno) -> Errno {
    if e == Errno::ERESTARTNOHAND {
        Errno::EINTR
    } else {
        e
    }
}

/// Polls `done` (yielding, never sleeping) until it holds; fails after `BLOCK_TIMEOUT`, which
/// only happens when one side blocks where the other did not.
pub fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not reached after {BLOCK_TIMEOUT:?}"
        );
        thread::yield_now();
    }
}

/// The host kernel and the emulation side by side, with the same callers on both.
pub struct Harness {
    pub host: HostNamespace,
    pub emu: IpcNamespace,
    pub clock: Arc<ManualClock>,
    pub parties: Vec<Party>,
    /// This process's pid: what the host records for every call made by one of its threads.
    pub host_pid: i32,
    /// Threads (or child processes) started under a name: name, host id, emulated id.
    pub threads: RefCell<Vec<(&'static str, i32, i32)>>,
    /// The host's second when the pair was made (the `since` of an object not stat'ed yet).
    pub start: i64,
    /// Printed with every failure: the random tests name their step here.
    pub context: RefCell<String>,
}

impl Harness {
    /// A fresh host namespace and a fresh emulated one; `None` (after saying why) only where
    /// the host cannot make a private IPC namespace.
    pub fn new(test: &str) -> Option<Harness> {
        let host = match HostNamespace::new() {
            Ok(host) => host,
            Err(HostError::Unsupported(why)) => {
                eprintln!("skipping {test}: {why}");
                return None;
            }
            Err(e) => panic!("{test}: HostNamespace::new failed: {e}"),
        };
        let clock = Arc::new(ManualClock::new(T0));
        let emu = IpcNamespace::with_clock(clock.clone());
        let parties = parties(host.permitted_caps(), &clock);
        Some(Harness {
            host,
            emu,
            clock,
            parties,
            host_pid: std::process::id() as i32,
            threads: RefCell::new(Vec::new()),
            start: host_second(),
            context: RefCell::new(String::new()),
        })
    }

    pub fn party(&self, who: Who) -> &Party {
        self.parties
            .iter()
            .find(|p| p.who == who)
            .expect("every Who has a party")
    }

    /// Runs `f` on the emulation, one second after the previous emulated call.
    pub fn emu<R>(&self, f: impl FnOnce(&IpcNamespace) -> R) -> R {
        self.clock.advance(Duration::from_secs(1));
        f(&self.emu)
    }

    /// Asserts that host and emulation agree about `call`; returns the host's answer.
    pub fn same<T: PartialEq + Debug>(&self, call: &str, host: T, emu: T) -> T {
        assert_eq!(
            host,
            emu,
            "{}{call}: host (left) and emulation (right) differ",
            self.context.borrow()
        );
        host
    }

    pub fn set_context(&self, text: String) {
        *self.context.borrow_mut() = text;
    }

    /// Compares one time field as a `Stamp` (see the module docs); returns the emulation's,
    /// which is exact.
    pub fn compare_time(
        &self,
        what: &str,
        (prev_h, now_h): (i64, i64),
        (prev_e, now_e): (i64, i64),
        (since, until): (i64, i64),
    ) -> Stamp {
        let emu = Stamp::of(prev_e, now_e);
        let host = Stamp::of(prev_h, now_h);
        let agree = match (host, emu) {
            (Some(Stamp::Advanced), Some(Stamp::Advanced)) => (since..=until).contains(&now_h),
            (Some(h), Some(e)) if h == e => true,
            // Stamped again within the second of the previous value.
            (Some(Stamp::Unchanged), Some(Stamp::Advanced)) => now_h >= since,
            _ => false,
        };
        assert!(
            agree,
            "{}{what}: host {prev_h} -> {now_h} ({host:?}), emulation {prev_e} -> {now_e} \
             ({emu:?}); host stamps since the previous stat lie in {since}..={until}",
            self.context.borrow()
        );
        emu.expect("checked above")
    }

    pub fn pid(&self, raw: i32, host: bool) -> Pid {
        let process = if host { self.host_pid } else { EMU_PID };
        if raw == 0 {
            return Pid::Zero;
        }
        if raw == process {
            return Pid::Process;
        }
        self.threads
            .borrow()
            .iter()
            .find(|t| raw == if host { t.1 } else { t.2 })
            .map_or(Pid::Other(raw), |t| Pid::Thread(t.0))
    }

    /// Records a thread or child process `name` whose id is `host_id` on the host; returns the
    /// id it gets on the emulation, which [`pid`](Self::pid) maps to the same name.
    pub fn register(&self, name: &'static str, host_id: i32) -> i32 {
        let mut threads = self.threads.borrow_mut();
        assert!(
            threads.iter().all(|t| t.0 != name),
            "thread name {name} used twice"
        );
        let id = EMU_PID + 1 + threads.len() as i32;
        threads.push((name, host_id, id));
        id
    }

    /// An emulated caller for a new thread `name`, with its own blocker and tid.
    pub fn thread_caller(
        &self,
        who: Who,
        name: &'static str,
        host_tid: i32,
    ) -> (Caller, Arc<ManualBlocker>) {
        let tid = self.register(name, host_tid);
        let blocker = Arc::new(ManualBlocker::new(Arc::clone(&self.clock)));
        let caller = Caller {
            blocker: blocker.clone(),
            ..self.party(who).emu.clone()
        }
        .with_tid(tid);
        (caller, blocker)
    }

    pub fn blocked<'scope, T>(
        &self,
        call: String,
        host: HostJoin<Result<T, Errno>>,
        emu: ScopedJoinHandle<'scope, Result<T, Errno>>,
        blocker: Arc<ManualBlocker>,
    ) -> Blocked<'scope, T> {
        let call = format!("{}{call}", self.context.borrow());
        let b = Blocked {
            call,
            host: Some(host),
            emu: Some(emu),
            blocker,
        };
        b.wait_asleep(1);
        b
    }

    /// Waits for the thread to finish on both sides and compares what the call returned.
    pub fn join<T: PartialEq + Debug>(&self, mut b: Blocked<'_, T>) -> Result<T, Errno> {
        let (host, emu) = (b.host.take(), b.emu.take());
        let (Some(host), Some(emu)) = (host, emu) else {
            unreachable!("joined once")
        };
        wait_for(&format!("{}: host thread finishing", b.call), || {
            host.is_finished()
        });
        wait_for(&format!("{}: emulated thread finishing", b.call), || {
            emu.is_finished()
        });
        let host = host.join();
        let emu = emu
            .join()
            .unwrap_or_else(|panic| resume_unwind(panic))
            .map_err(as_seen_by_the_caller);
        self.same(&b.call, host, emu)
    }
}

/// A call blocked on both sides. When a test fails before or during `Harness::join`, dropping it
/// interrupts the emulated thread so that the scope can end; the host thread wakes with EIDRM
/// when the `HostNamespace` is dropped.
pub struct Blocked<'scope, T> {
    /// The call, for failure messages.
    pub call: String,
    /// The host thread (taken by `Harness::join`).
    pub host: Option<HostJoin<Result<T, Errno>>>,
    /// The emulated thread (taken by `Harness::join`).
    pub emu: Option<ScopedJoinHandle<'scope, Result<T, Errno>>>,
    /// The emulated thread's blocker.
    pub blocker: Arc<ManualBlocker>,
}

impl<T> Blocked<'_, T> {
    /// Waits until the call is asleep on both sides, for at least the `n`th time on the
    /// emulation (after a wake-up that should send it back to sleep, pass `sleeps() + 1`).
    pub fn wait_asleep(&self, n: u64) {
        let (Some(host), Some(emu)) = (&self.host, &self.emu) else {
            unreachable!("not joined yet")
        };
        if let Err(e) = host.wait_until_blocked(BLOCK_TIMEOUT) {
            panic!("{}: the host call did not block: {e}", self.call);
        }
        let b = &self.blocker;
        wait_for(
            &format!("{}: emulated call asleep ({n})", self.call),
            || {
                assert!(
                    !emu.is_finished(),
                    "{}: the emulated call returned instead of blocking",
                    self.call
                );
                b.is_sleeping() && b.sleeps() >= n
            },
        );
    }

    /// How often the emulated call has gone to sleep.
    pub fn sleeps(&self) -> u64 {
        self.blocker.sleeps()
    }

    /// Interrupts the call on both sides, as a signal with a handler would.
    pub fn interrupt(&self) {
        if let Some(host) = &self.host {
            host.interrupt().expect("signalling the host thread");
        }
        self.blocker.interrupt();
    }
}

impl<T> Drop for Blocked<'_, T> {
    fn drop(&mut self) {
        // Also after a failed `join`, which has taken the handle: the scope must end. After a
        // successful one the thread is gone and the interruption reaches nobody.
        self.blocker.interrupt();
    }
}

/// xorshift64: deterministic and good enough to pick operations.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}
