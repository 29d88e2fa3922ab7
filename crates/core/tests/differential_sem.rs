//! Differential tests of semaphore sets: every call runs twice, on the host kernel (in a private
//! IPC namespace, through `sysvipc-host`) and on the emulation (`sysvipc::IpcNamespace`), and the
//! two answers must agree — ids, return values, errno, values, counts, `semid64_ds` and
//! `seminfo` fields. The host is the oracle (DESIGN.md §2.2, §6.3); each test also pins what
//! Linux answers, so a test name reads as a rule of the ABI. The harness shared with
//! `differential_msg.rs` is in `common/mod.rs`.
//!
//! What legitimately differs is normalised, never ignored:
//!
//! - **Pids.** Linux records the caller's *process* id (tgid) in `sempid`, also for a sleeper's
//!   operation performed by the task that woke it. Every host caller is a thread of this test
//!   process, so `sempid` is this process's pid, except for child processes forked by
//!   `HostNamespace::fork_semops`. The emulation's callers all belong to one process
//!   (`EMU_PID`), and each child gets its own pid; GETPID answers map to [`Pid`].
//! - **Times.** `sem_otime` and `sem_ctime` are compared as [`Stamp`]s (zero, unchanged or
//!   advanced since the previous stat of the same set on the same side), as in
//!   `differential_msg.rs`.
//! - **Undo lists.** On the host, the namespace thread and every thread it spawns share one
//!   SEM_UNDO list (one process whose threads never all exit); so do all emulated callers
//!   here (one `SemUndo`). A separate process is either a forked child
//!   ([`Pair::child`], the emulation's counterpart a caller with its own list and pid that is
//!   dropped at the end) or a thread with its own list ([`Pair::process`]:
//!   `unshare(CLONE_SYSVSEM)` on the host, `Caller::unshare_undo` on the emulation) whose
//!   "exit" drops it.
//!
//! Calls that must not block run on the emulation with a blocker that refuses to sleep (a
//! divergence fails at once instead of hanging); blocking calls run in threads, watched with
//! `HostJoin::wait_until_blocked` and `ManualBlocker`. Nothing sleeps to synchronise. A test
//! skips (saying why) only where no private IPC namespace can be made.
#![cfg(target_os = "linux")]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, mpsc};
use std::thread::{self, Scope};
use std::time::Duration;

use common::{
    Blocked, EMU_PID, EVERYONE, Harness, NW, Pid, Stamp, Who, XorShift, host_second, wait_for,
};
use sysvipc::abi::{
    self, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_64, IPC_CREAT, IPC_EXCL, IPC_INFO,
    IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SETALL,
    SETVAL, Sembuf, Semid64Ds, Seminfo,
};
use sysvipc::{Blocker, Caller, Errno, SemCtlCmd, SemUndo, Timespec, Wakeup};
use sysvipc_host::HostJoin;

const UNDO: i32 = SEM_UNDO;
/// A timeout long enough never to expire while a test runs (the emulation's clock advances one
/// second per emulated call).
const FOREVER: Option<(i64, i64)> = Some((100_000, 0));

/// One `struct sembuf`.
fn op(num: u16, op: i16, flg: i32) -> Sembuf {
    Sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: flg as i16,
    }
}

fn timespec(t: Option<(i64, i64)>) -> Option<Timespec> {
    t.map(|(sec, nsec)| Timespec { sec, nsec })
}

/// The blocker of every emulated call that must not block: a call that would sleep without a
/// deadline fails the test at once; one with a deadline finds it passed (the host's thread
/// would have slept until its timeout and then failed with EAGAIN as well).
struct MustNotBlock;

impl Blocker for MustNotBlock {
    fn block(&self, deadline: Option<Duration>) -> Wakeup {
        assert!(
            deadline.is_some(),
            "an emulated call that must not block went to sleep"
        );
        Wakeup::TimedOut
    }

    fn wake(&self) {}
}

// ---------------------------------------------------------------------------------------------
// The harness

/// A successful IPC_STAT/SEM_STAT/SEM_STAT_ANY, after both sides were compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    /// The return value: 0, or the full id for the `*_STAT` index commands.
    ret: i32,
    /// The host's structure (equal to the emulation's except for the times).
    ds: Semid64Ds,
    /// `sem_otime`, `sem_ctime`.
    times: [Stamp; 2],
}

/// The time fields of the previous stat of a set, on both sides.
#[derive(Clone, Copy)]
struct Seen {
    host: [i64; 2],
    emu: [i64; 2],
    /// The host's second just before that stat.
    since: i64,
}

fn times(ds: &Semid64Ds) -> [i64; 2] {
    [ds.sem_otime, ds.sem_ctime]
}

fn without_times(ds: &Semid64Ds) -> Semid64Ds {
    Semid64Ds {
        sem_otime: 0,
        sem_ctime: 0,
        ..*ds
    }
}

/// The host kernel and the emulation side by side (the shared [`Harness`]), with the previous
/// stat of each set.
struct Pair {
    base: Harness,
    seen: RefCell<HashMap<i32, Seen>>,
}

impl std::ops::Deref for Pair {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.base
    }
}

impl Pair {
    /// See [`Harness::new`]; all emulated callers share one undo list, as all host callers do.
    fn new(test: &str) -> Option<Pair> {
        let mut base = Harness::new(test)?;
        let undo = SemUndo::new(EMU_PID);
        for p in &mut base.parties {
            p.emu.undo = undo.clone();
        }
        Some(Pair {
            base,
            seen: RefCell::new(HashMap::new()),
        })
    }

    /// `who`'s emulated caller for a call that must not block.
    fn nb(&self, who: Who) -> Caller {
        Caller {
            blocker: Arc::new(MustNotBlock),
            ..self.party(who).emu.clone()
        }
    }

    // --- semget / semop -----------------------------------------------------------------

    fn semget(&self, who: Who, key: i32, nsems: i32, flags: i32) -> Result<i32, Errno> {
        let p = self.party(who);
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semget(&c, key, nsems, flags));
        let host = self.host.semget(&p.host, key, nsems, flags);
        self.same(
            &format!("semget({who:?}, {key:#x}, {nsems}, {flags:#o})"),
            host,
            emu,
        )
    }

    /// A new private set of `nsems` semaphores with mode `mode`, created by `who`.
    fn set(&self, who: Who, nsems: i32, mode: i32) -> i32 {
        self.semget(who, IPC_PRIVATE, nsems, IPC_CREAT | mode)
            .expect("creating a private set")
    }

    /// semop(2) that must not block (the emulation runs first and fails the test if it
    /// would).
    fn semop(&self, who: Who, id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semop(&c, id, sops));
        let host = self.host.semop(&self.party(who).host, id, sops);
        self.same(&format!("semop({who:?}, {id}, {sops:?})"), host, emu)
    }

    /// semtimedop(2) that must not block for long.
    fn semtimedop(
        &self,
        who: Who,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<(i64, i64)>,
    ) -> Result<(), Errno> {
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semtimedop(&c, id, sops, timespec(timeout)));
        let host = self
            .host
            .semtimedop(&self.party(who).host, id, sops, timeout);
        let call = format!("semtimedop({who:?}, {id}, {sops:?}, {timeout:?})");
        self.same(&call, host, emu)
    }

    /// semop(2) (or semtimedop(2) with `timeout`) of `nsops` operations of which only `sops`
    /// exist on the host (the kernel faults past them); the emulation gets `sops` padded to
    /// `nsops` with copies of the last one (its slice length is its nsops).
    fn semop_nsops(
        &self,
        who: Who,
        id: i32,
        sops: &[Sembuf],
        nsops: usize,
        timeout: Option<Option<(i64, i64)>>,
    ) -> Result<(), Errno> {
        let mut padded = sops.to_vec();
        padded.resize(nsops, sops.last().copied().unwrap_or_default());
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semtimedop(&c, id, &padded, timespec(timeout.flatten())));
        let host = self
            .host
            .semop_raw(&self.party(who).host, id, sops, nsops, timeout);
        let call = format!("semop_raw({who:?}, {id}, {sops:?}, nsops {nsops}, {timeout:?})");
        self.same(&call, host, emu)
    }

    // --- semctl -------------------------------------------------------------------------

    /// GETVAL, GETNCNT or GETZCNT (GETPID: [`getpid`](Self::getpid)).
    fn val(&self, who: Who, id: i32, semnum: i32, cmd: i32) -> Result<i32, Errno> {
        assert_ne!(cmd, GETPID, "use getpid");
        self.get(who, id, semnum, cmd)
    }

    fn get(&self, who: Who, id: i32, semnum: i32, cmd: i32) -> Result<i32, Errno> {
        let c = self.nb(who);
        let emu = self
            .emu(|ns| SemCtlCmd::try_from(cmd).and_then(|cmd| ns.semctl_get(&c, id, semnum, cmd)));
        let host = self.host.semctl_val(&self.party(who).host, id, semnum, cmd);
        match (host, emu) {
            // Pids are compared normalised.
            (Ok(h), Ok(e)) if cmd == GETPID => {
                let call = format!("GETPID({who:?}, {id}, {semnum}) (host {h}, emulation {e})");
                self.same(&call, self.pid(h, true), self.pid(e, false));
                Ok(h)
            }
            (host, emu) => self.same(
                &format!("semctl({who:?}, {id}, {semnum}, cmd {cmd})"),
                host,
                emu,
            ),
        }
    }

    /// GETPID, normalised.
    fn getpid(&self, who: Who, id: i32, semnum: i32) -> Result<Pid, Errno> {
        self.get(who, id, semnum, GETPID)
            .map(|raw| self.pid(raw, true))
    }

    /// The values and normalised pids of every semaphore of the set (as Root).
    fn sems(&self, id: i32, nsems: usize) -> (Vec<u16>, Vec<Pid>) {
        let values = self.getall(Who::Root, id, nsems).expect("GETALL");
        let pids = (0..nsems as i32)
            .map(|n| self.getpid(Who::Root, id, n).expect("GETPID"))
            .collect();
        (values, pids)
    }

    /// GETNCNT and GETZCNT of every semaphore of the set (as Root).
    fn counts(&self, id: i32, nsems: usize) -> Vec<(i32, i32)> {
        (0..nsems as i32)
            .map(|n| {
                (
                    self.val(Who::Root, id, n, GETNCNT).expect("GETNCNT"),
                    self.val(Who::Root, id, n, GETZCNT).expect("GETZCNT"),
                )
            })
            .collect()
    }

    fn setval(&self, who: Who, id: i32, semnum: i32, val: i32) -> Result<(), Errno> {
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semctl_setval(&c, id, semnum, val));
        let host = self
            .host
            .semctl_setval(&self.party(who).host, id, semnum, val);
        self.same(
            &format!("SETVAL({who:?}, {id}, {semnum}, {val})"),
            host,
            emu,
        )
    }

    /// GETALL into an array of `nsems` values (the host faults if the set has more).
    fn getall(&self, who: Who, id: i32, nsems: usize) -> Result<Vec<u16>, Errno> {
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semctl_getall(&c, id)).and_then(|mut v| {
            if v.len() > nsems {
                return Err(Errno::EFAULT);
            }
            v.resize(nsems, 0);
            Ok(v)
        });
        let host = self.host.semctl_getall(&self.party(who).host, id, nsems);
        self.same(&format!("GETALL({who:?}, {id}, {nsems})"), host, emu)
    }

    /// SETALL from `values` (the host faults if the set has more semaphores).
    fn setall(&self, who: Who, id: i32, values: &[u16]) -> Result<(), Errno> {
        let c = self.nb(who);
        let emu = self.emu(|ns| {
            ns.semctl_setall(&c, id, |n| {
                values.get(..n).map(<[u16]>::to_vec).ok_or(Errno::EFAULT)
            })
        });
        let host = self.host.semctl_setall(&self.party(who).host, id, values);
        self.same(&format!("SETALL({who:?}, {id}, {values:?})"), host, emu)
    }

    /// IPC_STAT, SEM_STAT or SEM_STAT_ANY: return value, structure, normalised times.
    fn stat(&self, who: Who, id: i32, cmd: i32) -> Result<Stat, Errno> {
        let call = format!("semctl({who:?}, {id}, cmd {cmd})");
        let c = self.nb(who);
        let emu =
            self.emu(|ns| SemCtlCmd::try_from(cmd).and_then(|cmd| ns.semctl_stat(&c, id, cmd)));
        let since = host_second();
        let host = self.host.semctl_stat(&self.party(who).host, id, cmd);
        let until = host_second();
        let ((ret, h), (emu_ret, e)) = match (host, emu) {
            (Ok(h), Ok(e)) => (h, e),
            (host, emu) => {
                let err = self.same(&call, host.map(|r| r.0), emu.map(|r| r.0));
                return Err(err.expect_err("one side failed"));
            }
        };
        self.same(&format!("{call} return value"), ret, emu_ret);
        self.same(
            &format!("{call} semid64_ds without times"),
            without_times(&h),
            without_times(&e),
        );
        let key = if cmd == IPC_STAT { id } else { ret };
        let prev = self.seen.borrow().get(&key).copied().unwrap_or(Seen {
            host: [0; 2],
            emu: [0; 2],
            since: self.start,
        });
        let (now_h, now_e) = (times(&h), times(&e));
        let mut stamps = [Stamp::Zero; 2];
        for (i, field) in ["sem_otime", "sem_ctime"].iter().enumerate() {
            stamps[i] = self.compare_time(
                &format!("{call} {field}"),
                (prev.host[i], now_h[i]),
                (prev.emu[i], now_e[i]),
                (prev.since, until),
            );
        }
        self.seen.borrow_mut().insert(
            key,
            Seen {
                host: now_h,
                emu: now_e,
                since,
            },
        );
        Ok(Stat {
            ret,
            ds: h,
            times: stamps,
        })
    }

    /// The times of the set as Stamps since the previous stat (as Root).
    fn stamps(&self, id: i32) -> [Stamp; 2] {
        self.stat(Who::Root, id, IPC_STAT).expect("IPC_STAT").times
    }

    /// IPC_SET with the set's current `semid64_ds` (read on the host as root, or zeroes)
    /// edited by `edit`.
    fn ipc_set(&self, who: Who, id: i32, edit: impl FnOnce(&mut Semid64Ds)) -> Result<(), Errno> {
        let root = &self.party(Who::Root).host;
        let mut ds = self
            .host
            .semctl_stat(root, id, IPC_STAT)
            .map(|r| r.1)
            .unwrap_or_default();
        edit(&mut ds);
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semctl_set(&c, id, &ds));
        let host = self.host.semctl_set(&self.party(who).host, id, &ds);
        let call = format!(
            "IPC_SET({who:?}, {id}, uid {} gid {} mode {:#o})",
            ds.sem_perm.uid, ds.sem_perm.gid, ds.sem_perm.mode
        );
        self.same(&call, host, emu)
    }

    fn rmid(&self, who: Who, id: i32) -> Result<(), Errno> {
        let c = self.nb(who);
        let emu = self.emu(|ns| ns.semctl_rmid(&c, id));
        let host = self.host.semctl_rmid(&self.party(who).host, id);
        let done = self.same(&format!("IPC_RMID({who:?}, {id})"), host, emu);
        if done.is_ok() {
            self.seen.borrow_mut().remove(&id);
        }
        done
    }

    /// IPC_INFO or SEM_INFO: the return value (highest used index) and `seminfo`.
    fn info(&self, id: i32, cmd: i32) -> Result<(i32, Seminfo), Errno> {
        let emu = self.emu(|ns| SemCtlCmd::try_from(cmd).and_then(|cmd| ns.semctl_info(id, cmd)));
        let host = self.host.semctl_info(&self.party(Who::Root).host, id, cmd);
        self.same(&format!("semctl({id}, info cmd {cmd})"), host, emu)
    }

    /// semctl with a command the emulation does not decode (the host gets a NULL argument).
    fn ctl_undecodable(&self, who: Who, id: i32, cmd: i32) -> Result<i32, Errno> {
        let host = self.host.semctl_val(&self.party(who).host, id, 0, cmd);
        let emu = self.emu(|_| -> Result<i32, Errno> {
            let cmd = SemCtlCmd::try_from(cmd)?;
            panic!("{cmd:?} is decodable: use its own method")
        });
        self.same(
            &format!("semctl({who:?}, {id}, 0, cmd {cmd:#x})"),
            host,
            emu,
        )
    }

    // --- sysctls ------------------------------------------------------------------------

    /// Writes `sem` (SEMMSL, SEMMNS, SEMOPM, SEMMNI) on both sides; compares the verdict and
    /// the values read back.
    fn sem_sysctl(&self, values: [i64; 4]) -> Result<(), Errno> {
        let text = values.map(|v| v.to_string()).join(" ");
        let host = self.host.set_sysctl("sem", &text);
        let emu = self.emu.limits().set_sem(values);
        let verdict = self.same(&format!("sysctl sem = {text}"), host, emu);
        self.read_sem_sysctl();
        verdict
    }

    fn read_sem_sysctl(&self) -> [i64; 4] {
        let text = self.host.sysctl("sem").expect("reading sem");
        let host: Vec<i64> = text
            .split_whitespace()
            .map(|v| v.parse().expect("sem holds numbers"))
            .collect();
        let l = self.emu.limits();
        let emu = [l.semmsl(), l.semmns(), l.semopm(), l.semmni()].map(i64::from);
        self.same("sysctl sem", &host[..], &emu[..]);
        emu
    }

    fn sem_next_id(&self, value: i64) -> Result<(), Errno> {
        let host = self.host.set_sysctl("sem_next_id", &value.to_string());
        let emu = self.emu.set_sem_next_id(value);
        let verdict = self.same(&format!("sysctl sem_next_id = {value}"), host, emu);
        self.read_sem_next_id();
        verdict
    }

    fn read_sem_next_id(&self) -> i64 {
        let host: i64 = self
            .host
            .sysctl("sem_next_id")
            .expect("reading sem_next_id")
            .trim()
            .parse()
            .expect("a number");
        self.same(
            "sysctl sem_next_id",
            host,
            i64::from(self.emu.sem_next_id()),
        )
    }

    // --- processes ----------------------------------------------------------------------

    /// A child process `name` of `who` that makes the semop calls `calls` and exits: forked on
    /// the host (its own pid, no undo list); on the emulation a caller with its own pid and
    /// undo list, dropped at the end. Returns each call's result.
    fn child(
        &self,
        name: &'static str,
        who: Who,
        calls: &[(i32, Vec<Sembuf>)],
    ) -> Vec<Result<(), Errno>> {
        let host = self.host.fork_semops(&self.party(who).host, calls);
        let pid = self.register(name, host.pid);
        let mut c = self.nb(who);
        c.pid = pid;
        c.tid = pid;
        c.undo = SemUndo::new(pid);
        let mut emu: Vec<Result<(), Errno>> = calls
            .iter()
            .map(|(id, sops)| self.emu(|ns| ns.semop(&c, *id, sops)))
            .collect();
        // Exit.
        self.emu(|_| drop(c));
        for (i, (h, e)) in host.results.iter().zip(&mut emu).enumerate() {
            let (id, sops) = &calls[i];
            self.same(&format!("{name}: semop({who:?}, {id}, {sops:?})"), h, e);
        }
        emu
    }

    /// A thread of `who` with an undo list of its own (a process of its own, as far as
    /// SEM_UNDO is concerned), whose calls are made one by one with [`Proc::semop`] and whose
    /// [`Proc::exit`] drops the list, applying it.
    fn process(&self, name: &'static str, who: Who) -> Proc<'_> {
        let (cmd_tx, cmd_rx) = mpsc::channel::<(i32, Vec<Sembuf>)>();
        let (res_tx, res_rx) = mpsc::channel::<Result<(), Errno>>();
        let host = self.host.spawn(&self.party(who).host, move |t| {
            t.unshare_sysvsem().expect("unshare(CLONE_SYSVSEM)");
            for (id, sops) in cmd_rx {
                let _ = res_tx.send(t.semop(id, &sops));
            }
            t.unshare_sysvsem().expect("unshare(CLONE_SYSVSEM) at exit");
        });
        let mut emu = self.nb(who);
        emu.unshare_undo();
        Proc {
            pair: self,
            name,
            who,
            host: Some((cmd_tx, res_rx, host)),
            emu: Some(emu),
        }
    }

    // --- blocking calls -----------------------------------------------------------------

    /// Starts a semtimedop (semop for `None`) that blocks, in thread `name` on both sides, and
    /// waits until both are asleep in it.
    fn spawn_semop<'scope, 'env>(
        &'env self,
        s: &'scope Scope<'scope, 'env>,
        name: &'static str,
        who: Who,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<(i64, i64)>,
    ) -> Blocked<'scope, ()> {
        let b = self.start_semop(s, name, who, id, sops, timeout, UndoList::Shared);
        b.wait_asleep(1);
        b
    }

    /// Starts a semtimedop in thread `name` on both sides without waiting for it to sleep;
    /// `list` says which undo list the thread uses and whether it drops it afterwards.
    #[allow(clippy::too_many_arguments)]
    fn start_semop<'scope, 'env>(
        &'env self,
        s: &'scope Scope<'scope, 'env>,
        name: &'static str,
        who: Who,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<(i64, i64)>,
        list: UndoList,
    ) -> Blocked<'scope, ()> {
        let call = format!(
            "{}{name}: semtimedop({who:?}, {id}, {sops:?}, {timeout:?}) ({list:?})",
            self.context.borrow()
        );
        let host_sops = sops.to_vec();
        let host: HostJoin<Result<(), Errno>> = self.host.spawn(&self.party(who).host, move |t| {
            if list == UndoList::Own {
                t.unshare_sysvsem().expect("unshare(CLONE_SYSVSEM)");
            }
            let result = t.semtimedop(id, &host_sops, timeout);
            if list != UndoList::Shared {
                t.unshare_sysvsem().expect("unshare(CLONE_SYSVSEM)");
            }
            result
        });
        let (mut caller, blocker) = self.thread_caller(who, name, host.tid());
        let ns = &self.emu;
        let sops = sops.to_vec();
        self.clock.advance(Duration::from_secs(1));
        let emu = s.spawn(move || {
            if list == UndoList::Own {
                caller.unshare_undo();
            }
            let result = ns.semtimedop(&caller, id, &sops, timespec(timeout));
            if list != UndoList::Shared {
                caller.unshare_undo();
            }
            result
        });
        Blocked {
            call,
            host: Some(host),
            emu: Some(emu),
            blocker,
        }
    }
}

/// The undo list of a thread started by [`Pair::start_semop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UndoList {
    /// The process's (shared by every caller).
    Shared,
    /// The process's; after its call the thread unshares it (`unshare(CLONE_SYSVSEM)`,
    /// `Caller::unshare_undo`), which applies nothing while others share it.
    UnshareAfter,
    /// Its own: unshared before the call, and dropped (applied) after it, as at the exit of a
    /// single-threaded process.
    Own,
}

/// A thread with an undo list of its own; see [`Pair::process`].
struct Proc<'p> {
    pair: &'p Pair,
    name: &'static str,
    who: Who,
    #[allow(clippy::type_complexity)]
    host: Option<(
        mpsc::Sender<(i32, Vec<Sembuf>)>,
        mpsc::Receiver<Result<(), Errno>>,
        HostJoin<()>,
    )>,
    emu: Option<Caller>,
}

impl Proc<'_> {
    /// semop(2) by this process; must not block.
    fn semop(&self, id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
        let (Some((tx, rx, _)), Some(c)) = (&self.host, &self.emu) else {
            unreachable!("exited")
        };
        let emu = self.pair.emu(|ns| ns.semop(c, id, sops));
        tx.send((id, sops.to_vec())).expect("process thread alive");
        let host = rx.recv().expect("process thread answers");
        let call = format!("{}: semop({:?}, {id}, {sops:?})", self.name, self.who);
        self.pair.same(&call, host, emu)
    }

    /// Drops the undo list (its adjustments are applied) and ends the thread.
    fn exit(mut self) {
        let (tx, rx, join) = self.host.take().expect("exits once");
        drop((tx, rx));
        join.join();
        let c = self.emu.take();
        self.pair.emu(|_| drop(c));
    }
}

impl Drop for Proc<'_> {
    fn drop(&mut self) {
        // A test that failed before `exit`: let the host thread end.
        drop(self.host.take());
    }
}

// ---------------------------------------------------------------------------------------------
// semget

#[test]
fn semget_nsems_out_of_range_is_einval_before_the_lookup() {
    let Some(p) = Pair::new("semget_nsems_out_of_range_is_einval_before_the_lookup") else {
        return;
    };
    let id = p.semget(Who::Root, 0x51, 3, IPC_CREAT | 0o600).unwrap();
    for key in [0x51, 0x52, IPC_PRIVATE] {
        for flags in [0, IPC_CREAT | 0o600, IPC_CREAT | IPC_EXCL | 0o600] {
            for nsems in [-1, i32::MIN, abi::SEMMSL + 1, i32::MAX] {
                assert_eq!(p.semget(Who::Root, key, nsems, flags), Err(Errno::EINVAL));
            }
        }
    }
    assert_eq!(
        p.semget(Who::Root, 0x51, abi::SEMMSL, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.semget(Who::Root, 0x51, 3, 0), Ok(id));
    assert_eq!(p.semget(Who::Root, 0x52, 3, 0), Err(Errno::ENOENT));
}

#[test]
fn semget_creating_zero_semaphores_is_einval_but_finding_with_zero_is_fine() {
    let Some(p) =
        Pair::new("semget_creating_zero_semaphores_is_einval_but_finding_with_zero_is_fine")
    else {
        return;
    };
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 0, IPC_CREAT | 0o600),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.semget(Who::Root, 0x51, 0, IPC_CREAT | 0o600),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.semget(Who::Root, 0x51, 0, 0), Err(Errno::ENOENT));
    let id = p.semget(Who::Root, 0x51, 2, IPC_CREAT | 0o600).unwrap();
    assert_eq!(p.semget(Who::Root, 0x51, 0, 0), Ok(id));
    assert_eq!(p.semget(Who::Root, 0x51, 0, IPC_CREAT), Ok(id));
}

#[test]
fn semget_existing_set_checks_eexist_then_size_then_eacces() {
    let Some(p) = Pair::new("semget_existing_set_checks_eexist_then_size_then_eacces") else {
        return;
    };
    let id = p.semget(Who::User, 0x51, 3, IPC_CREAT | 0o640).unwrap();
    let excl = IPC_CREAT | IPC_EXCL | 0o600;
    assert_eq!(p.semget(Who::Root, 0x51, 5, excl), Err(Errno::EEXIST));
    assert_eq!(
        p.semget(Who::RootNoAdmin, 0x51, 4, 0o666),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.semget(Who::RootNoAdmin, 0x51, 3, 0o004),
        Err(Errno::EACCES)
    );
    assert_eq!(
        p.semget(Who::RootNoAdmin, 0x51, 3, 0),
        Ok(id),
        "nothing asked"
    );
    assert_eq!(p.semget(Who::Member, 0x51, 2, 0o040), Ok(id));
    assert_eq!(p.semget(Who::Member, 0x51, 2, 0o020), Err(Errno::EACCES));
    assert_eq!(p.semget(Who::FsGroup, 0x51, 3, 0o440), Ok(id));
    assert_eq!(p.semget(Who::User, 0x51, 3, 0o600), Ok(id));
    assert_eq!(p.semget(Who::User, 0x51, 3, 0o700), Err(Errno::EACCES));
    assert_eq!(p.semget(Who::Root, 0x51, 3, 0o777), Ok(id), "CAP_IPC_OWNER");
    assert_eq!(p.semget(Who::Root, 0x52, 3, 0o600), Err(Errno::ENOENT));
}

#[test]
fn semget_creates_with_the_low_nine_mode_bits_and_the_caller_as_owner_and_creator() {
    let Some(p) =
        Pair::new("semget_creates_with_the_low_nine_mode_bits_and_the_caller_as_owner_and_creator")
    else {
        return;
    };
    let id = p
        .semget(Who::Member, 0x7eed, 4, IPC_CREAT | 0o7777)
        .unwrap();
    let st = p.stat(Who::Member, id, IPC_STAT).unwrap();
    let perm = st.ds.sem_perm;
    assert_eq!(
        (
            perm.key, perm.uid, perm.gid, perm.cuid, perm.cgid, perm.mode
        ),
        (0x7eed, 2000, 2000, 2000, 2000, 0o777)
    );
    assert_eq!(st.ds.sem_nsems, 4);
    assert_eq!(st.times, [Stamp::Zero, Stamp::Advanced]);
    // FsGroup creates with its egid, not its fsgid.
    let id = p.set(Who::FsGroup, 1, 0o600);
    let perm = p.stat(Who::Root, id, IPC_STAT).unwrap().ds.sem_perm;
    assert_eq!((perm.key, perm.gid, perm.cgid), (0, 3000, 3000));
}

#[test]
fn semget_enospc_at_semmni_only_on_the_create_path() {
    let Some(p) = Pair::new("semget_enospc_at_semmni_only_on_the_create_path") else {
        return;
    };
    p.sem_sysctl([32000, 1_024_000_000, 500, 2]).unwrap();
    let a = p.semget(Who::Root, 0x51, 1, IPC_CREAT | 0o600).unwrap();
    p.set(Who::Root, 1, 0o600);
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 1, IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    assert_eq!(
        p.semget(Who::Root, 0x52, 1, IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    assert_eq!(p.semget(Who::Root, 0x52, 1, 0), Err(Errno::ENOENT));
    assert_eq!(p.semget(Who::Root, 0x51, 1, IPC_CREAT | 0o600), Ok(a));
    p.sem_sysctl([32000, 1_024_000_000, 500, 0]).unwrap();
    assert_eq!(p.semget(Who::Root, 0x51, 1, 0), Ok(a), "lookups still work");
    p.rmid(Who::Root, a).unwrap();
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 1, IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    p.sem_sysctl([32000, 1_024_000_000, 500, 2]).unwrap();
    p.set(Who::Root, 1, 0o600);
}

#[test]
fn semget_enospc_at_semmns_counts_semaphores_on_the_create_path() {
    let Some(p) = Pair::new("semget_enospc_at_semmns_counts_semaphores_on_the_create_path") else {
        return;
    };
    p.sem_sysctl([32000, 10, 500, 32000]).unwrap();
    let a = p.semget(Who::Root, 0x51, 6, IPC_CREAT | 0o600).unwrap();
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 5, IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    // ENOSPC (semmns) comes after EINVAL (nsems 0) on the create path.
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 0, IPC_CREAT | 0o600),
        Err(Errno::EINVAL)
    );
    let b = p.set(Who::Root, 4, 0o600);
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 1, IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    assert_eq!(p.semget(Who::Root, 0x51, 6, IPC_CREAT), Ok(a));
    p.rmid(Who::Root, b).unwrap();
    p.set(Who::Root, 4, 0o600);
    let (_, info) = p.info(0, SEM_INFO).unwrap();
    assert_eq!((info.semusz, info.semaem, info.semmns), (2, 10, 10));
}

#[test]
fn semget_semmsl_is_checked_on_every_semget_also_lookups() {
    let Some(p) = Pair::new("semget_semmsl_is_checked_on_every_semget_also_lookups") else {
        return;
    };
    let id = p.semget(Who::Root, 0x51, 5, IPC_CREAT | 0o600).unwrap();
    p.sem_sysctl([3, 1_024_000_000, 500, 32000]).unwrap();
    assert_eq!(p.semget(Who::Root, 0x51, 4, 0), Err(Errno::EINVAL));
    assert_eq!(p.semget(Who::Root, 0x51, 3, 0), Ok(id));
    assert_eq!(p.semget(Who::Root, 0x52, 4, IPC_CREAT), Err(Errno::EINVAL));
    // The existing set keeps its 5 semaphores.
    p.semop(Who::Root, id, &[op(4, 1, 0)]).unwrap();
    // A negative SEMMSL refuses every semget.
    p.sem_sysctl([-1, 1_024_000_000, 500, 32000]).unwrap();
    assert_eq!(p.semget(Who::Root, 0x51, 0, 0), Err(Errno::EINVAL));
}

#[test]
fn sem_sysctl_accepts_and_rejects_the_same_values() {
    let Some(p) = Pair::new("sem_sysctl_accepts_and_rejects_the_same_values") else {
        return;
    };
    p.read_sem_sysctl();
    p.sem_sysctl([250, 32000, 32, 128]).unwrap();
    p.sem_sysctl([-5, -6, -7, 0]).unwrap();
    p.sem_sysctl([1, 2, 3, abi::IPCMNI as i64]).unwrap();
    // SEMMNI out of range: ERANGE, the other three written anyway.
    assert_eq!(
        p.sem_sysctl([4, 5, 6, abi::IPCMNI as i64 + 1]),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.sem_sysctl([7, 8, 9, -1]), Err(Errno::ERANGE));
    // Not an int: EINVAL, the values before it written.
    assert_eq!(p.sem_sysctl([1 << 31, 8, 9, 10]), Err(Errno::EINVAL));
    assert_eq!(p.sem_sysctl([1, 2, 3, 1 << 32]), Err(Errno::EINVAL));
    assert_eq!(p.sem_sysctl([4, -(1 << 31) - 1, 6, 7]), Err(Errno::EINVAL));
}

#[test]
fn sem_next_id_sets_the_next_id_once_and_a_failed_creation_keeps_it() {
    let Some(p) = Pair::new("sem_next_id_sets_the_next_id_once_and_a_failed_creation_keeps_it")
    else {
        return;
    };
    p.read_sem_next_id();
    assert_eq!(p.sem_next_id(-2), Err(Errno::EINVAL));
    p.sem_next_id(200).unwrap();
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 0, IPC_CREAT | 0o600),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.read_sem_next_id(), 200, "kept by a failed creation");
    assert_eq!(p.set(Who::Root, 1, 0o600), 200);
    assert_eq!(p.read_sem_next_id(), -1);
    assert_eq!(p.set(Who::Root, 1, 0o600), 0);
    p.sem_next_id(200).unwrap();
    assert_eq!(p.set(Who::Root, 1, 0o600), 201, "index 200 is busy");
    p.sem_next_id((3 << 15) | 7).unwrap();
    assert_eq!(p.set(Who::Root, 1, 0o600), (3 << 15) | 7);
    p.sem_sysctl([32000, 1_024_000_000, 500, 4]).unwrap();
    p.sem_next_id(300).unwrap();
    assert_eq!(
        p.semget(Who::Root, IPC_PRIVATE, 1, IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    assert_eq!(p.read_sem_next_id(), 300, "kept by ENOSPC");
}

#[test]
fn set_ids_follow_cyclic_allocation_and_wrap_to_seq_one_across_churn() {
    let Some(p) = Pair::new("set_ids_follow_cyclic_allocation_and_wrap_to_seq_one_across_churn")
    else {
        return;
    };
    let kept: Vec<i32> = (0..3).map(|_| p.set(Who::Root, 1, 0o600)).collect();
    assert_eq!(kept, [0, 1, 2]);
    let mut last = 0;
    for _ in 0..70 {
        last = p.set(Who::Root, 2, 0o600);
        p.rmid(Who::Root, last).unwrap();
    }
    // Indices 3..=63, then seq 1 from index 3 (0..=2 are busy).
    assert_eq!(last, (1 << 15) | 11);
    p.rmid(Who::Root, kept[1]).unwrap();
    assert_eq!(
        p.set(Who::Root, 1, 0o600),
        (1 << 15) | 12,
        "index 1 not reused yet"
    );
    let (max, _) = p.info(0, SEM_INFO).unwrap();
    assert_eq!(max, 12);
}

// ---------------------------------------------------------------------------------------------
// semop / semtimedop: argument errors in Linux's order

#[test]
fn semop_nsops_zero_is_einval_and_above_semopm_is_e2big_first() {
    let Some(p) = Pair::new("semop_nsops_zero_is_einval_and_above_semopm_is_e2big_first") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    assert_eq!(p.semop(Who::Root, id, &[]), Err(Errno::EINVAL));
    assert_eq!(p.semop(Who::Root, -1, &[]), Err(Errno::EINVAL));
    let many = vec![op(0, 0, 0); abi::SEMOPM as usize + 1];
    assert_eq!(p.semop(Who::Root, id, &many), Err(Errno::E2BIG));
    assert_eq!(p.semop(Who::Root, -1, &many), Err(Errno::E2BIG));
    assert_eq!(
        p.semtimedop(Who::Root, 99999, &many, Some((-1, 0))),
        Err(Errno::E2BIG),
        "before the timespec and the lookup"
    );
    let mut bad = many.clone();
    bad[0].sem_num = 7;
    assert_eq!(
        p.semop(Who::Root, id, &bad),
        Err(Errno::E2BIG),
        "before EFBIG"
    );
    assert_eq!(p.semop(Who::Root, id, &many[1..]), Ok(()), "exactly SEMOPM");
    p.sem_sysctl([32000, 1_024_000_000, 2, 32000]).unwrap();
    assert_eq!(p.semop(Who::Root, id, &many[..3]), Err(Errno::E2BIG));
    assert_eq!(p.semop(Who::Root, id, &many[..2]), Ok(()));
    // A negative SEMOPM is compared unsigned: no limit.
    p.sem_sysctl([32000, 1_024_000_000, -1, 32000]).unwrap();
    assert_eq!(p.semop(Who::Root, id, &many), Ok(()));
}

#[test]
fn semop_with_a_short_array_and_a_large_nsops_is_e2big_before_reading_it() {
    let Some(p) =
        Pair::new("semop_with_a_short_array_and_a_large_nsops_is_e2big_before_reading_it")
    else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    let one = [op(0, 1, 0)];
    for timeout in [None, Some(None), Some(Some((0, 0)))] {
        assert_eq!(
            p.semop_nsops(Who::Root, id, &one, 1024, timeout),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            p.semop_nsops(Who::Root, -1, &one, 1024, timeout),
            Err(Errno::E2BIG)
        );
    }
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(0));
}

#[test]
fn semop_bad_and_stale_ids_are_einval_for_every_call() {
    let Some(p) = Pair::new("semop_bad_and_stale_ids_are_einval_for_every_call") else {
        return;
    };
    let live = p.set(Who::Root, 2, 0o600);
    let dead = p.set(Who::Root, 2, 0o600);
    p.rmid(Who::Root, dead).unwrap();
    for id in [-1, i32::MIN, 99999, dead, live + (1 << 15), 5] {
        assert_eq!(p.semop(Who::Root, id, &[op(0, 1, 0)]), Err(Errno::EINVAL));
        assert_eq!(
            p.semtimedop(Who::Root, id, &[op(0, 1, 0)], Some((0, 0))),
            Err(Errno::EINVAL)
        );
        assert_eq!(p.semop(Who::Root, id, &[op(9, 1, 0)]), Err(Errno::EINVAL));
        assert_eq!(
            p.semop(Who::Root, id, &[op(0, 1, UNDO)]),
            Err(Errno::EINVAL)
        );
        for cmd in [GETVAL, GETNCNT, GETZCNT] {
            assert_eq!(p.val(Who::Root, id, 0, cmd), Err(Errno::EINVAL));
        }
        assert_eq!(p.getpid(Who::Root, id, 0), Err(Errno::EINVAL));
        assert_eq!(p.setval(Who::Root, id, 0, 1), Err(Errno::EINVAL));
        assert_eq!(p.getall(Who::Root, id, 2), Err(Errno::EINVAL));
        assert_eq!(p.setall(Who::Root, id, &[1, 1]), Err(Errno::EINVAL));
        assert_eq!(p.stat(Who::Root, id, IPC_STAT), Err(Errno::EINVAL));
        assert_eq!(
            p.ipc_set(Who::Root, id, |ds| ds.sem_perm.mode = 0o600),
            Err(Errno::EINVAL)
        );
        assert_eq!(p.rmid(Who::Root, id), Err(Errno::EINVAL));
    }
    assert_eq!(
        p.rmid(Who::Root, dead),
        Err(Errno::EINVAL),
        "second IPC_RMID"
    );
}

#[test]
fn semtimedop_invalid_timespec_is_einval_even_if_the_operation_would_not_block() {
    let Some(p) =
        Pair::new("semtimedop_invalid_timespec_is_einval_even_if_the_operation_would_not_block")
    else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    for bad in [
        (-1, 0),
        (0, -1),
        (0, 1_000_000_000),
        (i64::MIN, 0),
        (5, i64::MAX),
    ] {
        assert_eq!(
            p.semtimedop(Who::Root, id, &[op(0, 1, 0)], Some(bad)),
            Err(Errno::EINVAL)
        );
        // Before EFBIG and EACCES (checked on the set).
        assert_eq!(
            p.semtimedop(Who::User, id, &[op(3, 1, 0)], Some(bad)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.semtimedop(Who::User, id, &[op(0, 1, 0)], Some(bad)),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(0), "nothing applied");
    assert_eq!(p.stamps(id)[0], Stamp::Zero);
    assert_eq!(
        p.semtimedop(Who::Root, id, &[op(0, 1, 0)], Some((0, 999_999_999))),
        Ok(())
    );
    assert_eq!(
        p.semtimedop(Who::Root, id, &[op(0, 1, 0)], Some((0, 0))),
        Ok(())
    );
    assert_eq!(p.semtimedop(Who::Root, id, &[op(0, 1, 0)], None), Ok(()));
    assert_eq!(
        p.semtimedop(Who::Root, id, &[op(0, 1, 0)], Some((i64::MAX, 999_999_999))),
        Ok(()),
        "valid however long"
    );
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(4));
}

#[test]
fn semop_sem_num_beyond_the_set_is_efbig_before_eacces() {
    let Some(p) = Pair::new("semop_sem_num_beyond_the_set_is_efbig_before_eacces") else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    for who in [Who::Root, Who::User] {
        for num in [3, 11, 65535] {
            assert_eq!(p.semop(who, id, &[op(num, 1, 0)]), Err(Errno::EFBIG));
            assert_eq!(p.semop(who, id, &[op(num, 0, 0)]), Err(Errno::EFBIG));
            assert_eq!(
                p.semop(who, id, &[op(0, 1, 0), op(num, -1, UNDO)]),
                Err(Errno::EFBIG)
            );
        }
    }
    assert_eq!(p.semop(Who::User, id, &[op(2, 1, 0)]), Err(Errno::EACCES));
    assert_eq!(p.getall(Who::Root, id, 3), Ok(vec![0, 0, 0]));
}

#[test]
fn semop_alter_needs_write_permission_and_wait_for_zero_needs_read() {
    let Some(p) = Pair::new("semop_alter_needs_write_permission_and_wait_for_zero_needs_read")
    else {
        return;
    };
    let id = p.set(Who::User, 2, 0o640);
    let zero = [op(0, 0, NW)];
    let alter = [op(0, 1, 0)];
    let both = [op(1, 0, NW), op(0, 1, 0)];
    for (who, read, write) in [
        (Who::User, true, true),
        (Who::Member, true, false),
        (Who::FsGroup, true, false),
        (Who::RootNoIpcOwner, false, false),
        (Who::RootNoAdmin, false, false),
        (Who::Root, true, true),
    ] {
        let want = |ok: bool| if ok { Ok(()) } else { Err(Errno::EACCES) };
        assert_eq!(p.semop(who, id, &zero).map(|_| ()), want(read), "{who:?}");
        assert_eq!(p.semop(who, id, &alter), want(write), "{who:?}");
        assert_eq!(p.semop(who, id, &both), want(write), "{who:?}");
        if write {
            p.setval(Who::User, id, 0, 0).unwrap();
        }
    }
    // A decrement is an alteration too, and is refused before it could block.
    assert_eq!(
        p.semop(Who::Member, id, &[op(0, -1, 0)]),
        Err(Errno::EACCES)
    );
    // Write permission alone: alterations only.
    p.ipc_set(Who::User, id, |ds| ds.sem_perm.mode = 0o620)
        .unwrap();
    assert_eq!(p.semop(Who::Member, id, &alter), Ok(()));
    assert_eq!(p.semop(Who::Member, id, &both), Ok(()));
    assert_eq!(p.semop(Who::Member, id, &zero), Err(Errno::EACCES));
    assert_eq!(p.val(Who::Member, id, 0, GETVAL), Err(Errno::EACCES));
    assert_eq!(p.setval(Who::Member, id, 0, 0), Ok(()));
    // Mode 0 locks out even the owner.
    p.ipc_set(Who::User, id, |ds| ds.sem_perm.mode = 0).unwrap();
    assert_eq!(p.semop(Who::User, id, &zero), Err(Errno::EACCES));
    assert_eq!(p.semop(Who::Root, id, &zero), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// semop: evaluation

#[test]
fn semop_result_above_semvmx_is_erange() {
    let Some(p) = Pair::new("semop_result_above_semvmx_is_erange") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setval(Who::Root, id, 0, 1).unwrap();
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, i16::MAX, 0)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.semop(Who::Root, id, &[op(0, 32766, 0)]), Ok(()));
    assert_eq!(p.semop(Who::Root, id, &[op(0, 1, NW)]), Err(Errno::ERANGE));
    assert_eq!(
        p.semop(Who::Root, id, &[op(1, i16::MIN, NW)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        p.semop(
            Who::Root,
            id,
            &[op(0, -32767, 0), op(0, 32767, 0), op(0, 1, 0)]
        ),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![32767, 0]));
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Advanced]);
}

#[test]
fn semop_first_failing_operation_decides_between_eagain_and_erange() {
    let Some(p) = Pair::new("semop_first_failing_operation_decides_between_eagain_and_erange")
    else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setall(Who::Root, id, &[0, 32767]).unwrap();
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -1, NW), op(1, 1, 0)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        p.semop(Who::Root, id, &[op(1, 1, 0), op(0, -1, NW)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 0, 0), op(1, 1, NW)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![0, 32767]));
}

#[test]
fn semop_ipc_nowait_counts_only_on_the_operation_that_blocks() {
    let Some(p) = Pair::new("semop_ipc_nowait_counts_only_on_the_operation_that_blocks") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    assert_eq!(
        p.semop(Who::Root, id, &[op(1, 1, 0), op(0, -1, NW)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        p.semtimedop(Who::Root, id, &[op(0, 0, 0), op(0, -1, NW)], Some((0, 0))),
        Err(Errno::EAGAIN)
    );
    thread::scope(|s| {
        // IPC_NOWAIT only on the operation that could proceed: it sleeps.
        let w = p.spawn_semop(s, "w", Who::Root, id, &[op(1, 1, NW), op(0, -1, 0)], None);
        assert_eq!(p.counts(id, 2), [(1, 0), (0, 0)]);
        p.setval(Who::Root, id, 0, 1).unwrap();
        assert_eq!(p.join(w), Ok(()));
    });
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![0, 1]));
}

#[test]
fn semop_applies_all_operations_or_none() {
    let Some(p) = Pair::new("semop_applies_all_operations_or_none") else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    p.stamps(id);
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 1, UNDO), op(2, 2, 0), op(1, -1, NW)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        p.sems(id, 3),
        (vec![0, 0, 0], vec![Pid::Zero, Pid::Zero, Pid::Zero])
    );
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Unchanged]);
    // ERANGE leaves everything as it was, too.
    p.setval(Who::Root, id, 1, 32767).unwrap();
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 1, 0), op(1, 1, 0)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        p.sems(id, 3),
        (vec![0, 32767, 0], vec![Pid::Zero, Pid::Process, Pid::Zero])
    );
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Advanced]);
}

#[test]
fn semop_ignores_unknown_sem_flg_bits() {
    let Some(p) = Pair::new("semop_ignores_unknown_sem_flg_bits") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    // -1 has every bit: IPC_NOWAIT and SEM_UNDO among them.
    assert_eq!(p.semop(Who::Root, id, &[op(0, -1, -1)]), Err(Errno::EAGAIN));
    assert_eq!(p.semop(Who::Root, id, &[op(0, 2, 0x2000 | 0x0400)]), Ok(()));
    assert_eq!(p.semop(Who::Root, id, &[op(0, -2, -1)]), Ok(()));
    // The -2 was recorded with SEM_UNDO (adjustment +2): another -32766 overflows it.
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 32767, 0), op(0, -32766, UNDO)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(0));
}

#[test]
fn semop_same_semaphore_several_times_applies_in_array_order() {
    let Some(p) = Pair::new("semop_same_semaphore_several_times_applies_in_array_order") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    assert_eq!(p.semop(Who::Root, id, &[op(0, 5, 0), op(0, -3, 0)]), Ok(()));
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(2));
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 5, 0), op(0, -8, NW)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        p.semop(
            Who::Root,
            id,
            &[op(0, -2, 0), op(0, 0, 0), op(0, 4, 0), op(0, -1, 0)]
        ),
        Ok(())
    );
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -3, 0), op(0, 0, NW)]),
        Ok(())
    );
    p.setval(Who::Root, id, 0, 3).unwrap();
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -2, 0), op(0, 0, NW)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![3, 0]));
    assert_eq!(
        p.semop(
            Who::Root,
            id,
            &[op(0, 32000, 0), op(0, -32000, 0), op(0, 32764, 0)]
        ),
        Ok(()),
        "intermediate values are checked one by one"
    );
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(32767));
}

#[test]
fn semop_sets_sempid_of_every_semaphore_it_names_also_for_wait_for_zero_and_only_those() {
    let Some(p) = Pair::new(
        "semop_sets_sempid_of_every_semaphore_it_names_also_for_wait_for_zero_and_only_those",
    ) else {
        return;
    };
    let id = p.set(Who::Root, 4, 0o600);
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Advanced]);
    p.semop(Who::Root, id, &[op(0, 1, 0), op(2, 0, 0)]).unwrap();
    assert_eq!(
        p.sems(id, 4),
        (
            vec![1, 0, 0, 0],
            vec![Pid::Process, Pid::Zero, Pid::Process, Pid::Zero]
        )
    );
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Unchanged]);
    // A failed semop changes neither.
    assert_eq!(
        p.semop(Who::Root, id, &[op(3, 0, 0), op(1, -1, NW)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(p.getpid(Who::Root, id, 3), Ok(Pid::Zero));
    assert_eq!(p.stamps(id), [Stamp::Unchanged, Stamp::Unchanged]);
}

#[test]
fn sem_otime_is_set_by_a_pure_wait_for_zero_semop() {
    let Some(p) = Pair::new("sem_otime_is_set_by_a_pure_wait_for_zero_semop") else {
        return;
    };
    let id = p.set(Who::User, 3, 0o644);
    p.stamps(id);
    assert_eq!(p.semop(Who::Member, id, &[op(2, 0, 0)]), Ok(()));
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Unchanged]);
    assert_eq!(p.getpid(Who::Root, id, 2), Ok(Pid::Process));
    assert_eq!(
        p.semop(Who::Member, id, &[op(1, 0, 0), op(0, 0, 0)]),
        Ok(())
    );
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Unchanged]);
}

#[test]
fn setval_and_setall_set_ctime_and_sempid_but_not_otime() {
    let Some(p) = Pair::new("setval_and_setall_set_ctime_and_sempid_but_not_otime") else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    p.stamps(id);
    p.setval(Who::Root, id, 1, 5).unwrap();
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Advanced]);
    assert_eq!(
        p.sems(id, 3),
        (vec![0, 5, 0], vec![Pid::Zero, Pid::Process, Pid::Zero])
    );
    p.setall(Who::Root, id, &[1, 2, 3]).unwrap();
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Advanced]);
    assert_eq!(
        p.sems(id, 3),
        (
            vec![1, 2, 3],
            vec![Pid::Process, Pid::Process, Pid::Process]
        )
    );
    // Reads change nothing.
    p.getall(Who::Root, id, 3).unwrap();
    p.val(Who::Root, id, 0, GETNCNT).unwrap();
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Unchanged]);
}

// ---------------------------------------------------------------------------------------------
// semctl: errors in Linux's order

#[test]
fn setval_out_of_range_is_erange_before_the_lookup() {
    let Some(p) = Pair::new("setval_out_of_range_is_erange_before_the_lookup") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    for val in [-1, 32768, 65535, i32::MIN, i32::MAX] {
        for target in [id, 99999, id + (1 << 15)] {
            assert_eq!(p.setval(Who::User, target, 7, val), Err(Errno::ERANGE));
        }
        // A negative id is refused before any command is looked at.
        assert_eq!(p.setval(Who::User, -1, 7, val), Err(Errno::EINVAL));
    }
    assert_eq!(p.setval(Who::Root, -1, 0, 1), Err(Errno::EINVAL));
    assert_eq!(p.setval(Who::Root, id, 0, 32767), Ok(()));
    assert_eq!(p.setval(Who::Root, id, 0, 0), Ok(()));
}

#[test]
fn get_commands_check_read_permission_before_the_semaphore_number() {
    let Some(p) = Pair::new("get_commands_check_read_permission_before_the_semaphore_number")
    else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    for cmd in [GETVAL, GETNCNT, GETZCNT] {
        for semnum in [0, 2, 9, -1] {
            assert_eq!(p.val(Who::User, id, semnum, cmd), Err(Errno::EACCES));
        }
        assert_eq!(p.val(Who::Root, id, 2, cmd), Err(Errno::EINVAL));
        assert_eq!(p.val(Who::Root, id, -1, cmd), Err(Errno::EINVAL));
        assert_eq!(p.val(Who::Root, id, 1, cmd), Ok(0));
    }
    assert_eq!(p.getpid(Who::User, id, 9), Err(Errno::EACCES));
    assert_eq!(p.getpid(Who::Root, id, 9), Err(Errno::EINVAL));
    assert_eq!(p.getall(Who::User, id, 2), Err(Errno::EACCES));
    assert_eq!(p.getall(Who::Member, id, 2), Err(Errno::EACCES));
    assert_eq!(
        p.getall(Who::RootNoIpcOwner, id, 2),
        Ok(vec![0, 0]),
        "the owner"
    );
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![0, 0]));
}

#[test]
fn setval_checks_the_semaphore_number_before_write_permission() {
    let Some(p) = Pair::new("setval_checks_the_semaphore_number_before_write_permission") else {
        return;
    };
    let id = p.set(Who::User, 2, 0o644);
    assert_eq!(p.setval(Who::Member, id, 9, 1), Err(Errno::EINVAL));
    assert_eq!(p.setval(Who::Member, id, -1, 1), Err(Errno::EINVAL));
    assert_eq!(p.setval(Who::Member, id, 1, 1), Err(Errno::EACCES));
    assert_eq!(p.setval(Who::User, id, 2, 1), Err(Errno::EINVAL));
    assert_eq!(p.setval(Who::User, id, 1, 1), Ok(()));
    assert_eq!(p.setall(Who::Member, id, &[1, 1]), Err(Errno::EACCES));
}

#[test]
fn setall_checks_write_permission_then_reads_then_erange_and_changes_nothing_on_error() {
    let Some(p) = Pair::new(
        "setall_checks_write_permission_then_reads_then_erange_and_changes_nothing_on_error",
    ) else {
        return;
    };
    let id = p.set(Who::User, 3, 0o644);
    p.setall(Who::User, id, &[1, 2, 3]).unwrap();
    p.stamps(id);
    assert_eq!(
        p.setall(Who::Member, id, &[1, 1, 40000]),
        Err(Errno::EACCES)
    );
    assert_eq!(p.setall(Who::User, id, &[4, 5, 32768]), Err(Errno::ERANGE));
    assert_eq!(p.setall(Who::User, id, &[65535, 5, 6]), Err(Errno::ERANGE));
    // Too short an array faults (EFAULT) before the values are checked.
    assert_eq!(p.setall(Who::User, id, &[40000, 5]), Err(Errno::EFAULT));
    assert_eq!(p.setall(Who::Member, id, &[4]), Err(Errno::EACCES));
    assert_eq!(p.getall(Who::User, id, 3), Ok(vec![1, 2, 3]));
    assert_eq!(p.stamps(id), [Stamp::Zero, Stamp::Unchanged]);
    // Longer arrays are read only as far as the set goes.
    assert_eq!(p.setall(Who::User, id, &[7, 8, 9, 40000]), Ok(()));
    assert_eq!(p.getall(Who::User, id, 3), Ok(vec![7, 8, 9]));
    assert_eq!(p.getall(Who::User, id, 2), Err(Errno::EFAULT));
    assert_eq!(p.getall(Who::User, id, 5), Ok(vec![7, 8, 9, 0, 0]));
}

#[test]
fn semctl_unknown_commands_and_ipc_64_are_einval() {
    let Some(p) = Pair::new("semctl_unknown_commands_and_ipc_64_are_einval") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    for cmd in [-1, 4, 10, 21, 99, i32::MIN, i32::MAX] {
        assert_eq!(p.ctl_undecodable(Who::Root, id, cmd), Err(Errno::EINVAL));
    }
    for cmd in [
        IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, GETVAL, GETALL, SETVAL, SETALL, SEM_STAT,
    ] {
        assert_eq!(
            p.ctl_undecodable(Who::Root, id, cmd | IPC_64),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).map(|s| s.ret), Ok(0));
}

#[test]
fn ipc_set_changes_owner_mode_and_ctime_only() {
    let Some(p) = Pair::new("ipc_set_changes_owner_mode_and_ctime_only") else {
        return;
    };
    let id = p.set(Who::User, 2, 0o600);
    p.semop(Who::User, id, &[op(0, 1, 0)]).unwrap();
    p.stamps(id);
    p.ipc_set(Who::User, id, |ds| {
        ds.sem_perm.uid = 2000;
        ds.sem_perm.gid = 3000;
        ds.sem_perm.mode = 0o7664;
        ds.sem_perm.cuid = 5;
        ds.sem_perm.key = 77;
        ds.sem_nsems = 99;
        ds.sem_otime = 1;
    })
    .unwrap();
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    let perm = st.ds.sem_perm;
    assert_eq!(
        (
            perm.uid, perm.gid, perm.cuid, perm.cgid, perm.mode, perm.key
        ),
        (2000, 3000, 1000, 1000, 0o664, 0)
    );
    assert_eq!(st.ds.sem_nsems, 2);
    assert_eq!(st.times, [Stamp::Unchanged, Stamp::Advanced]);
    // The creator keeps the right to change it; the new owner has it too.
    p.ipc_set(Who::User, id, |ds| ds.sem_perm.mode = 0o640)
        .unwrap();
    p.ipc_set(Who::Member, id, |ds| ds.sem_perm.mode = 0o600)
        .unwrap();
}

#[test]
fn ipc_set_and_ipc_rmid_by_non_owner_without_cap_sys_admin_are_eperm() {
    let Some(p) = Pair::new("ipc_set_and_ipc_rmid_by_non_owner_without_cap_sys_admin_are_eperm")
    else {
        return;
    };
    let id = p.set(Who::User, 1, 0o666);
    for who in [Who::Member, Who::FsGroup, Who::RootNoAdmin] {
        assert_eq!(
            p.ipc_set(who, id, |ds| ds.sem_perm.mode = 0o600),
            Err(Errno::EPERM)
        );
        assert_eq!(p.rmid(who, id), Err(Errno::EPERM));
    }
    assert_eq!(
        p.ipc_set(Who::RootNoIpcOwner, id, |ds| ds.sem_perm.mode = 0o644),
        Ok(())
    );
    assert_eq!(p.rmid(Who::RootNoIpcOwner, id), Ok(()));
}

#[test]
fn ipc_set_unmappable_uid_or_gid_is_einval_after_the_eperm_check() {
    let Some(p) = Pair::new("ipc_set_unmappable_uid_or_gid_is_einval_after_the_eperm_check") else {
        return;
    };
    let id = p.set(Who::User, 1, 0o600);
    assert_eq!(
        p.ipc_set(Who::Member, id, |ds| ds.sem_perm.uid = u32::MAX),
        Err(Errno::EPERM)
    );
    assert_eq!(
        p.ipc_set(Who::User, id, |ds| ds.sem_perm.uid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.ipc_set(Who::User, id, |ds| ds.sem_perm.gid = u32::MAX),
        Err(Errno::EINVAL)
    );
    let st = p.stat(Who::User, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.sem_perm.uid, st.ds.sem_perm.gid), (1000, 1000));
}

#[test]
fn ipc_stat_and_sem_stat_need_read_permission_and_sem_stat_any_does_not() {
    let Some(p) = Pair::new("ipc_stat_and_sem_stat_need_read_permission_and_sem_stat_any_does_not")
    else {
        return;
    };
    p.set(Who::Root, 1, 0o600);
    let id = p.set(Who::User, 3, 0o600);
    let index = id & abi::IPCMNI_IDX_MASK;
    for who in EVERYONE {
        p.stat(who, id, IPC_STAT).ok();
        p.stat(who, index, SEM_STAT).ok();
        assert_eq!(p.stat(who, index, SEM_STAT_ANY).map(|s| s.ret), Ok(id));
    }
    assert_eq!(p.stat(Who::Member, id, IPC_STAT), Err(Errno::EACCES));
    assert_eq!(p.stat(Who::Member, index, SEM_STAT), Err(Errno::EACCES));
}

#[test]
fn sem_stat_takes_an_index_and_returns_the_full_id() {
    let Some(p) = Pair::new("sem_stat_takes_an_index_and_returns_the_full_id") else {
        return;
    };
    p.sem_next_id((5 << 15) | 3).unwrap();
    let id = p.set(Who::Root, 2, 0o600);
    assert_eq!(id, (5 << 15) | 3);
    for cmd in [SEM_STAT, SEM_STAT_ANY] {
        assert_eq!(p.stat(Who::Root, 3, cmd).map(|s| s.ret), Ok(id));
        let st = p.stat(Who::Root, 3, cmd).unwrap();
        assert_eq!((st.ds.sem_perm.seq, st.ds.sem_nsems), (5, 2));
        for index in [0, 4, -1, 40000] {
            assert_eq!(p.stat(Who::Root, index, cmd), Err(Errno::EINVAL));
        }
        // Only the index bits count: no sequence check.
        for index in [id, 3 + (1 << 15), 3 + (9 << 15)] {
            assert_eq!(p.stat(Who::Root, index, cmd).map(|s| s.ret), Ok(id));
        }
    }
    assert_eq!(p.stat(Who::Root, 3, IPC_STAT), Err(Errno::EINVAL));
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).map(|s| s.ret), Ok(0));
}

#[test]
fn ipc_info_and_sem_info_report_limits_usage_and_the_highest_index() {
    let Some(p) = Pair::new("ipc_info_and_sem_info_report_limits_usage_and_the_highest_index")
    else {
        return;
    };
    let empty = p.info(0, SEM_INFO).unwrap();
    assert_eq!((empty.0, empty.1.semusz, empty.1.semaem), (0, 0, 0));
    p.set(Who::Root, 3, 0o600);
    let b = p.set(Who::User, 4, 0o600);
    let (max, info) = p.info(0, SEM_INFO).unwrap();
    assert_eq!((max, info.semusz, info.semaem), (1, 2, 7));
    let (max, info) = p.info(12345, IPC_INFO).unwrap();
    assert_eq!(
        (max, info.semusz, info.semaem, info.semvmx, info.semmni),
        (1, abi::SEMUSZ, abi::SEMAEM, abi::SEMVMX, abi::SEMMNI)
    );
    p.sem_sysctl([10, 20, 30, 40]).unwrap();
    let (_, info) = p.info(0, IPC_INFO).unwrap();
    assert_eq!(
        (
            info.semmsl,
            info.semmns,
            info.semopm,
            info.semmni,
            info.semume
        ),
        (10, 20, 30, 40, abi::SEMUME)
    );
    p.rmid(Who::User, b).unwrap();
    assert_eq!(p.info(0, SEM_INFO).map(|r| (r.0, r.1.semaem)), Ok((0, 3)));
    assert_eq!(p.info(-1, SEM_INFO), Err(Errno::EINVAL));
    assert_eq!(p.info(-1, IPC_INFO), Err(Errno::EINVAL));
}

// ---------------------------------------------------------------------------------------------
// SEM_UNDO

#[test]
fn semadj_stays_within_bounds_and_semvmx_is_checked_first() {
    let Some(p) = Pair::new("semadj_stays_within_bounds_and_semvmx_is_checked_first") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    // Reference §3.7, verified on Linux 6.18.
    assert_eq!(p.semop(Who::Root, id, &[op(0, 32767, UNDO)]), Ok(()));
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 1, UNDO)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.semop(Who::Root, id, &[op(0, -1, 0)]), Ok(()));
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 1, UNDO)]),
        Ok(()),
        "adj -32768"
    );
    assert_eq!(p.semop(Who::Root, id, &[op(0, -1, 0)]), Ok(()));
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, 1, UNDO)]),
        Err(Errno::ERANGE),
        "adj would be -32769"
    );
    assert_eq!(p.semop(Who::Root, id, &[op(0, 1, 0)]), Ok(()));
    // The other direction: adj +32767 at most.
    assert_eq!(p.semop(Who::Root, id, &[op(1, 32767, 0)]), Ok(()));
    assert_eq!(p.semop(Who::Root, id, &[op(1, -32767, UNDO)]), Ok(()));
    assert_eq!(p.semop(Who::Root, id, &[op(1, 1, 0)]), Ok(()));
    assert_eq!(
        p.semop(Who::Root, id, &[op(1, -1, UNDO)]),
        Err(Errno::ERANGE)
    );
    // Every caller here shares one undo list: another user's adjustment adds up.
    p.ipc_set(Who::Root, id, |ds| ds.sem_perm.mode = 0o666)
        .unwrap();
    assert_eq!(
        p.semop(Who::User, id, &[op(1, -1, UNDO)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(p.semop(Who::User, id, &[op(1, 1, UNDO)]), Ok(()));
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![32767, 2]));
}

#[test]
fn undo_is_applied_when_the_process_exits() {
    let Some(p) = Pair::new("undo_is_applied_when_the_process_exits") else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o666);
    p.setall(Who::Root, id, &[5, 5, 5]).unwrap();
    p.stamps(id);
    let results = p.child(
        "child",
        Who::User,
        &[
            (id, vec![op(0, -2, UNDO), op(1, 3, UNDO)]),
            (id, vec![op(0, 1, UNDO), op(2, -1, 0)]),
            (id, vec![op(0, -9, UNDO | NW)]),
            (id, vec![op(7, 1, UNDO)]),
        ],
    );
    assert_eq!(
        results,
        [Ok(()), Ok(()), Err(Errno::EAGAIN), Err(Errno::EFBIG)]
    );
    // Exit: sem0 4 + 1, sem1 8 - 3; sem2 kept its -1 (no UNDO).
    assert_eq!(
        p.sems(id, 3),
        (
            vec![5, 5, 4],
            vec![
                Pid::Thread("child"),
                Pid::Thread("child"),
                Pid::Thread("child")
            ]
        )
    );
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Unchanged]);
}

#[test]
fn exit_undo_only_touches_semaphores_with_an_adjustment() {
    let Some(p) = Pair::new("exit_undo_only_touches_semaphores_with_an_adjustment") else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    let results = p.child(
        "child",
        Who::Root,
        &[(id, vec![op(0, 2, UNDO), op(1, 1, UNDO), op(1, -1, UNDO)])],
    );
    assert_eq!(results, [Ok(())]);
    p.semop(Who::Root, id, &[op(2, 1, 0)]).unwrap();
    assert_eq!(
        p.sems(id, 3),
        (
            vec![0, 0, 1],
            vec![Pid::Thread("child"), Pid::Thread("child"), Pid::Process]
        )
    );
    // A set only read from (a wait for zero with SEM_UNDO) is stamped at exit all the same.
    let other = p.set(Who::Root, 1, 0o600);
    p.stamps(other);
    assert_eq!(
        p.child("reader", Who::Root, &[(other, vec![op(0, 0, UNDO)])]),
        [Ok(())]
    );
    assert_eq!(p.getpid(Who::Root, other, 0), Ok(Pid::Thread("reader")));
    assert_eq!(p.stamps(other), [Stamp::Advanced, Stamp::Unchanged]);
}

#[test]
fn exit_undo_is_clamped_to_zero_and_semvmx() {
    let Some(p) = Pair::new("exit_undo_is_clamped_to_zero_and_semvmx") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setall(Who::Root, id, &[0, 5]).unwrap();
    let results = p.child(
        "child",
        Who::Root,
        &[
            (id, vec![op(0, 3, UNDO), op(1, -5, UNDO)]),
            (id, vec![op(0, -2, 0), op(1, 32767, 0)]),
        ],
    );
    assert_eq!(results, [Ok(()), Ok(())]);
    // 1 - 3 clamps at 0; 32767 + 5 clamps at 32767.
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![0, 32767]));
}

#[test]
fn exit_undo_wakes_sleepers() {
    let Some(p) = Pair::new("exit_undo_wakes_sleepers") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setall(Who::Root, id, &[0, 1]).unwrap();
    let a = p.process("a", Who::Root);
    a.semop(id, &[op(0, 1, UNDO)]).unwrap();
    a.semop(id, &[op(1, -1, UNDO)]).unwrap();
    p.stamps(id);
    thread::scope(|s| {
        let zero = p.spawn_semop(s, "zero", Who::Root, id, &[op(0, 0, 0)], None);
        let down = p.spawn_semop(s, "down", Who::Root, id, &[op(1, -1, 0)], None);
        assert_eq!(p.counts(id, 2), [(0, 1), (1, 0)]);
        // Its exit brings sem0 to 0 and sem1 to 1: both sleepers complete.
        a.exit();
        assert_eq!(p.join(zero), Ok(()));
        assert_eq!(p.join(down), Ok(()));
    });
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![0, 0]));
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Unchanged]);
    assert_eq!(p.counts(id, 2), [(0, 0), (0, 0)]);
}

#[test]
fn setval_and_setall_clear_the_adjustments_of_every_process() {
    let Some(p) = Pair::new("setval_and_setall_clear_the_adjustments_of_every_process") else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    let a = p.process("a", Who::Root);
    let b = p.process("b", Who::Root);
    a.semop(id, &[op(0, 5, UNDO), op(1, 5, UNDO), op(2, 5, UNDO)])
        .unwrap();
    b.semop(id, &[op(0, 1, UNDO), op(1, 1, UNDO)]).unwrap();
    p.setval(Who::Root, id, 1, 10).unwrap();
    a.exit();
    // sem0: 6 - 5 = 1; sem1: SETVAL cleared a's -5; sem2: 5 - 5 = 0.
    assert_eq!(p.getall(Who::Root, id, 3), Ok(vec![1, 10, 0]));
    p.setall(Who::Root, id, &[3, 3, 3]).unwrap();
    b.exit();
    assert_eq!(p.getall(Who::Root, id, 3), Ok(vec![3, 3, 3]));
    // An adjustment made after SETVAL counts again.
    let c = p.process("c", Who::Root);
    c.semop(id, &[op(1, 2, UNDO)]).unwrap();
    p.setval(Who::Root, id, 0, 7).unwrap();
    c.exit();
    assert_eq!(p.getall(Who::Root, id, 3), Ok(vec![7, 3, 3]));
}

#[test]
fn ipc_rmid_drops_adjustments_and_a_set_reusing_the_id_does_not_inherit_them() {
    let Some(p) =
        Pair::new("ipc_rmid_drops_adjustments_and_a_set_reusing_the_id_does_not_inherit_them")
    else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    let a = p.process("a", Who::Root);
    a.semop(id, &[op(0, 1, UNDO), op(1, 4, UNDO)]).unwrap();
    p.rmid(Who::Root, id).unwrap();
    p.sem_next_id(i64::from(id)).unwrap();
    assert_eq!(p.set(Who::Root, 2, 0o600), id, "same id again");
    p.setall(Who::Root, id, &[9, 9]).unwrap();
    a.exit();
    assert_eq!(
        p.sems(id, 2),
        (vec![9, 9], vec![Pid::Process, Pid::Process])
    );
    // A new process's adjustments in the new set work as usual.
    let b = p.process("b", Who::Root);
    b.semop(id, &[op(0, -9, UNDO)]).unwrap();
    b.exit();
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![9, 9]));
}

#[test]
fn threads_share_the_undo_list_and_a_thread_exit_or_unshare_does_not_apply_it() {
    let Some(p) =
        Pair::new("threads_share_the_undo_list_and_a_thread_exit_or_unshare_does_not_apply_it")
    else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    p.setval(Who::Root, id, 0, 1).unwrap();
    thread::scope(|s| {
        // A thread of the process: its +3 stays after it unshares the list and returns.
        let t = p.start_semop(
            s,
            "thread",
            Who::Root,
            id,
            &[op(0, 3, UNDO)],
            None,
            UndoList::UnshareAfter,
        );
        assert_eq!(p.join(t), Ok(()));
    });
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(4));
    // The shared list holds its -3: another -32766 overflows it (alone it would fit).
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -4, 0), op(0, 32766, UNDO)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -3, UNDO)]),
        Ok(()),
        "adj back to 0"
    );
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -1, 0), op(0, 32767, UNDO)]),
        Ok(())
    );
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(32767));
}

#[test]
fn undo_of_a_sleeper_completed_by_its_waker_is_applied_when_it_exits() {
    let Some(p) = Pair::new("undo_of_a_sleeper_completed_by_its_waker_is_applied_when_it_exits")
    else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    thread::scope(|s| {
        // A process of its own that sleeps in a -2 with SEM_UNDO, then exits.
        let w = p.start_semop(
            s,
            "sleeper",
            Who::Root,
            id,
            &[op(0, -2, UNDO)],
            None,
            UndoList::Own,
        );
        w.wait_asleep(1);
        // The waker performs the -2 and records +2 in the sleeper's list.
        p.semop(Who::Root, id, &[op(0, 5, 0)]).unwrap();
        assert_eq!(p.join(w), Ok(()));
    });
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(5));
    assert_eq!(p.getpid(Who::Root, id, 0), Ok(Pid::Process));
}

// ---------------------------------------------------------------------------------------------
// Sleeping and waking

#[test]
fn blocked_decrement_is_completed_by_an_increment_for_its_sleeper() {
    let Some(p) = Pair::new("blocked_decrement_is_completed_by_an_increment_for_its_sleeper")
    else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o666);
    p.stamps(id);
    thread::scope(|s| {
        let w = p.spawn_semop(s, "w", Who::User, id, &[op(1, -3, 0)], None);
        assert_eq!(p.counts(id, 2), [(0, 0), (1, 0)]);
        p.semop(Who::Root, id, &[op(1, 2, 0)]).unwrap();
        w.wait_asleep(1);
        assert_eq!(w.sleeps(), 1, "not woken by a +2 that does not suffice");
        p.semop(Who::Root, id, &[op(1, 2, 0)]).unwrap();
        assert_eq!(p.join(w), Ok(()));
    });
    assert_eq!(p.sems(id, 2), (vec![0, 1], vec![Pid::Zero, Pid::Process]));
    assert_eq!(p.counts(id, 2), [(0, 0), (0, 0)]);
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Unchanged]);
}

#[test]
fn an_earlier_sleeper_that_still_cannot_proceed_is_overtaken() {
    let Some(p) = Pair::new("an_earlier_sleeper_that_still_cannot_proceed_is_overtaken") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    thread::scope(|s| {
        let w1 = p.spawn_semop(s, "w1", Who::Root, id, &[op(0, -2, 0)], None);
        let w2 = p.spawn_semop(s, "w2", Who::Root, id, &[op(0, -1, 0)], None);
        assert_eq!(p.val(Who::Root, id, 0, GETNCNT), Ok(2));
        p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(p.join(w2), Ok(()));
        assert_eq!(p.val(Who::Root, id, 0, GETNCNT), Ok(1));
        p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
        w1.wait_asleep(1);
        p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(p.join(w1), Ok(()));
    });
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(0));
}

#[test]
fn sleepers_are_served_in_arrival_order_when_all_could_proceed() {
    let Some(p) = Pair::new("sleepers_are_served_in_arrival_order_when_all_could_proceed") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    thread::scope(|s| {
        let first = p.spawn_semop(s, "first", Who::Root, id, &[op(0, -2, 0)], None);
        let second = p.spawn_semop(s, "second", Who::Root, id, &[op(0, -2, 0)], None);
        p.semop(Who::Root, id, &[op(0, 3, 0)]).unwrap();
        assert_eq!(p.join(first), Ok(()));
        second.wait_asleep(1);
        assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(1));
        p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(p.join(second), Ok(()));
    });
}

#[test]
fn getncnt_and_getzcnt_count_a_sleeper_only_on_its_blocking_operation() {
    let Some(p) = Pair::new("getncnt_and_getzcnt_count_a_sleeper_only_on_its_blocking_operation")
    else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setval(Who::Root, id, 1, 1).unwrap();
    thread::scope(|s| {
        // Reference §3.6.
        let w1 = p.spawn_semop(s, "w1", Who::Root, id, &[op(0, -1, 0)], None);
        let w2 = p.spawn_semop(s, "w2", Who::Root, id, &[op(1, 0, 0)], None);
        let w3 = p.spawn_semop(s, "w3", Who::Root, id, &[op(1, 0, 0), op(0, -1, 0)], None);
        assert_eq!(p.counts(id, 2), [(1, 0), (0, 2)]);
        p.setval(Who::Root, id, 1, 0).unwrap();
        assert_eq!(p.join(w2), Ok(()));
        w3.wait_asleep(1);
        assert_eq!(p.counts(id, 2), [(2, 0), (0, 0)]);
        p.setval(Who::Root, id, 0, 2).unwrap();
        assert_eq!(p.join(w1), Ok(()));
        assert_eq!(p.join(w3), Ok(()));
    });
    assert_eq!(p.counts(id, 2), [(0, 0), (0, 0)]);
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![0, 0]));
}

#[test]
fn wait_for_zero_sleepers_are_served_before_altering_ones() {
    let Some(p) = Pair::new("wait_for_zero_sleepers_are_served_before_altering_ones") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setval(Who::Root, id, 0, 1).unwrap();
    thread::scope(|s| {
        let alter = p.spawn_semop(
            s,
            "alter",
            Who::Root,
            id,
            &[op(1, -1, 0), op(0, 1, 0)],
            None,
        );
        let zero = p.spawn_semop(s, "zero", Who::Root, id, &[op(0, 0, 0)], None);
        // sem0 1 -> 0 and sem1 0 -> 1 at once: the zero waiter goes first, then the other
        // takes sem1 and raises sem0 again.
        p.semop(Who::Root, id, &[op(0, -1, 0), op(1, 1, 0)])
            .unwrap();
        assert_eq!(p.join(zero), Ok(()));
        assert_eq!(p.join(alter), Ok(()));
    });
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![1, 0]));
}

#[test]
fn single_operations_queue_behind_a_sleeping_complex_one() {
    let Some(p) = Pair::new("single_operations_queue_behind_a_sleeping_complex_one") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    thread::scope(|s| {
        let complex = p.spawn_semop(
            s,
            "complex",
            Who::Root,
            id,
            &[op(0, -1, 0), op(1, -1, 0)],
            None,
        );
        let a = p.spawn_semop(s, "a", Who::Root, id, &[op(0, -1, 0)], None);
        let b = p.spawn_semop(s, "b", Who::Root, id, &[op(1, -1, 0)], None);
        assert_eq!(p.counts(id, 2), [(2, 0), (1, 0)]);
        // One unit of each: the complex sleeper, first in the set's queue, takes both.
        p.semop(Who::Root, id, &[op(0, 1, 0), op(1, 1, 0)]).unwrap();
        assert_eq!(p.join(complex), Ok(()));
        assert_eq!(p.counts(id, 2), [(1, 0), (1, 0)]);
        p.semop(Who::Root, id, &[op(1, 1, 0)]).unwrap();
        assert_eq!(p.join(b), Ok(()));
        p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(p.join(a), Ok(()));
    });
}

#[test]
fn a_sleeping_complex_operation_queues_behind_earlier_single_ones() {
    let Some(p) = Pair::new("a_sleeping_complex_operation_queues_behind_earlier_single_ones")
    else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    thread::scope(|s| {
        let a = p.spawn_semop(s, "a", Who::Root, id, &[op(0, -1, 0)], None);
        let b = p.spawn_semop(s, "b", Who::Root, id, &[op(1, -1, 0)], None);
        let complex = p.spawn_semop(
            s,
            "complex",
            Who::Root,
            id,
            &[op(0, -1, 0), op(1, -1, 0)],
            None,
        );
        // The single sleepers came first: each takes its unit, the complex one keeps waiting.
        p.semop(Who::Root, id, &[op(0, 1, 0), op(1, 1, 0)]).unwrap();
        assert_eq!(p.join(a), Ok(()));
        assert_eq!(p.join(b), Ok(()));
        complex.wait_asleep(1);
        assert_eq!(p.counts(id, 3), [(1, 0), (0, 0), (0, 0)]);
        // Later single sleepers queue behind the complex one (in the set's queue).
        let c = p.spawn_semop(s, "c", Who::Root, id, &[op(1, -1, 0)], None);
        p.semop(Who::Root, id, &[op(0, 1, 0), op(1, 1, 0)]).unwrap();
        assert_eq!(p.join(complex), Ok(()));
        c.wait_asleep(1);
        assert_eq!(p.counts(id, 3), [(0, 0), (1, 0), (0, 0)]);
        p.semop(Who::Root, id, &[op(1, 1, 0)]).unwrap();
        assert_eq!(p.join(c), Ok(()));
    });
    assert_eq!(p.getall(Who::Root, id, 3), Ok(vec![0, 0, 0]));
}

#[test]
fn setval_and_setall_wake_sleepers_that_can_now_proceed() {
    let Some(p) = Pair::new("setval_and_setall_wake_sleepers_that_can_now_proceed") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    p.setval(Who::Root, id, 1, 1).unwrap();
    p.stamps(id);
    thread::scope(|s| {
        let down = p.spawn_semop(s, "down", Who::Root, id, &[op(0, -2, 0)], None);
        let zero = p.spawn_semop(s, "zero", Who::Root, id, &[op(1, 0, 0)], None);
        p.setval(Who::Root, id, 0, 2).unwrap();
        assert_eq!(p.join(down), Ok(()));
        assert_eq!(
            p.stamps(id),
            [Stamp::Advanced, Stamp::Advanced],
            "a sleeper completed"
        );
        p.setall(Who::Root, id, &[0, 0]).unwrap();
        assert_eq!(p.join(zero), Ok(()));
    });
    assert_eq!(p.stamps(id), [Stamp::Advanced, Stamp::Advanced]);
    // Without a sleeper to complete, SETVAL leaves sem_otime alone.
    p.setval(Who::Root, id, 0, 2).unwrap();
    assert_eq!(p.stamps(id), [Stamp::Unchanged, Stamp::Advanced]);
}

#[test]
fn a_woken_operation_that_now_overflows_fails_with_erange() {
    let Some(p) = Pair::new("a_woken_operation_that_now_overflows_fails_with_erange") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    thread::scope(|s| {
        let w = p.spawn_semop(s, "w", Who::Root, id, &[op(0, -1, 0), op(1, 2, 0)], None);
        p.setval(Who::Root, id, 1, 32766).unwrap();
        w.wait_asleep(1);
        p.setval(Who::Root, id, 0, 1).unwrap();
        assert_eq!(p.join(w), Err(Errno::ERANGE));
    });
    assert_eq!(p.getall(Who::Root, id, 2), Ok(vec![1, 32766]));
}

#[test]
fn a_woken_operation_that_now_blocks_on_an_ipc_nowait_operation_fails_with_eagain() {
    let Some(p) =
        Pair::new("a_woken_operation_that_now_blocks_on_an_ipc_nowait_operation_fails_with_eagain")
    else {
        return;
    };
    let id = p.set(Who::Root, 3, 0o600);
    p.setall(Who::Root, id, &[0, 1, 1]).unwrap();
    thread::scope(|s| {
        let w = p.spawn_semop(s, "w", Who::Root, id, &[op(0, -1, 0), op(1, -1, NW)], None);
        let zero = p.spawn_semop(s, "zero", Who::Root, id, &[op(1, 0, 0), op(2, 0, NW)], None);
        assert_eq!(p.counts(id, 3), [(1, 0), (0, 1), (0, 0)]);
        p.setval(Who::Root, id, 1, 0).unwrap();
        // The zero waiter's second operation would now block: EAGAIN, not another sleep.
        assert_eq!(p.join(zero), Err(Errno::EAGAIN));
        w.wait_asleep(1);
        p.setval(Who::Root, id, 0, 1).unwrap();
        assert_eq!(p.join(w), Err(Errno::EAGAIN));
    });
    assert_eq!(p.getall(Who::Root, id, 3), Ok(vec![1, 0, 1]));
    assert_eq!(p.counts(id, 3), [(0, 0), (0, 0), (0, 0)]);
}

#[test]
fn a_woken_operation_whose_adjustment_would_overflow_fails_with_erange() {
    let Some(p) = Pair::new("a_woken_operation_whose_adjustment_would_overflow_fails_with_erange")
    else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    // The (shared) adjustment of sem0 becomes +32767.
    p.semop(Who::Root, id, &[op(0, 32767, 0), op(0, -32767, UNDO)])
        .unwrap();
    thread::scope(|s| {
        // Blocking is decided before the adjustment is checked: it sleeps...
        let w = p.spawn_semop(s, "w", Who::Root, id, &[op(0, -1, UNDO)], None);
        // ...and fails once it could proceed.
        p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(p.join(w), Err(Errno::ERANGE));
    });
    assert_eq!(p.val(Who::Root, id, 0, GETVAL), Ok(1));
    assert_eq!(
        p.semop(Who::Root, id, &[op(0, -1, UNDO)]),
        Err(Errno::ERANGE)
    );
}

#[test]
fn interrupted_sleeper_gets_eintr_and_leaves_the_queue() {
    let Some(p) = Pair::new("interrupted_sleeper_gets_eintr_and_leaves_the_queue") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o600);
    thread::scope(|s| {
        let single = p.spawn_semop(s, "single", Who::Root, id, &[op(0, -1, 0)], FOREVER);
        let complex = p.spawn_semop(
            s,
            "complex",
            Who::Root,
            id,
            &[op(1, 1, 0), op(0, 0, 0), op(0, -1, 0)],
            None,
        );
        assert_eq!(p.counts(id, 2), [(2, 0), (0, 0)]);
        single.interrupt();
        assert_eq!(p.join(single), Err(Errno::EINTR));
        complex.interrupt();
        assert_eq!(p.join(complex), Err(Errno::EINTR));
    });
    assert_eq!(p.counts(id, 2), [(0, 0), (0, 0)]);
    p.semop(Who::Root, id, &[op(0, 1, 0)]).unwrap();
    assert_eq!(p.sems(id, 2), (vec![1, 0], vec![Pid::Process, Pid::Zero]));
}

#[test]
fn ipc_rmid_wakes_every_sleeper_with_eidrm() {
    let Some(p) = Pair::new("ipc_rmid_wakes_every_sleeper_with_eidrm") else {
        return;
    };
    let id = p.set(Who::Root, 2, 0o666);
    thread::scope(|s| {
        let a = p.spawn_semop(s, "a", Who::User, id, &[op(0, -1, UNDO)], None);
        let b = p.spawn_semop(
            s,
            "b",
            Who::Member,
            id,
            &[op(1, 1, 0), op(0, -1, 0)],
            FOREVER,
        );
        p.setval(Who::Root, id, 1, 1).unwrap();
        let c = p.spawn_semop(s, "c", Who::Root, id, &[op(1, 0, 0)], None);
        let d = p.spawn_semop(s, "d", Who::User, id, &[op(0, 0, 0), op(1, 0, 0)], None);
        assert_eq!(p.counts(id, 2), [(2, 0), (0, 2)]);
        p.rmid(Who::Root, id).unwrap();
        assert_eq!(p.join(a), Err(Errno::EIDRM));
        assert_eq!(p.join(b), Err(Errno::EIDRM));
        assert_eq!(p.join(c), Err(Errno::EIDRM));
        assert_eq!(p.join(d), Err(Errno::EIDRM));
    });
    assert_eq!(p.semop(Who::Root, id, &[op(0, 1, 0)]), Err(Errno::EINVAL));
}

#[test]
fn semtimedop_timeout_is_eagain_and_leaves_the_queue() {
    let Some(p) = Pair::new("semtimedop_timeout_is_eagain_and_leaves_the_queue") else {
        return;
    };
    let id = p.set(Who::Root, 1, 0o600);
    thread::scope(|s| {
        let b = p.start_semop(
            s,
            "timed",
            Who::Root,
            id,
            &[op(0, -1, 0)],
            Some((0, 20_000_000)),
            UndoList::Shared,
        );
        // The emulation's deadline passes when its clock is advanced past it.
        let blocker = Arc::clone(&b.blocker);
        wait_for("emulated timed wait asleep", || blocker.is_sleeping());
        p.clock.advance(Duration::from_secs(1));
        assert_eq!(p.join(b), Err(Errno::EAGAIN));
    });
    assert_eq!(p.counts(id, 1), [(0, 0)]);
    assert_eq!(p.stamps(id)[0], Stamp::Zero);
}

// ---------------------------------------------------------------------------------------------
// A seeded random sequence

#[derive(Debug)]
enum Step {
    Get {
        who: Who,
        key: i32,
        nsems: i32,
        flags: i32,
    },
    Op {
        who: Who,
        id: i32,
        sops: Vec<Sembuf>,
        timeout: Option<(i64, i64)>,
    },
    Val {
        who: Who,
        id: i32,
        semnum: i32,
        cmd: i32,
    },
    SetVal {
        who: Who,
        id: i32,
        semnum: i32,
        val: i32,
    },
    GetAll {
        who: Who,
        id: i32,
    },
    SetAll {
        who: Who,
        id: i32,
        values: Vec<u16>,
    },
    Stat {
        who: Who,
        id: i32,
        cmd: i32,
    },
    Set {
        who: Who,
        id: i32,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    Rmid {
        who: Who,
        id: i32,
    },
    Info {
        id: i32,
        cmd: i32,
    },
}

/// Runs `steps` random calls that cannot block from `seed` on a fresh pair; every call is
/// compared as it happens, and a failure names the seed, the step and the call.
fn random_sequence(test: &str, seed: u64, steps: usize) {
    let Some(p) = Pair::new(test) else {
        return;
    };
    let mut rng = XorShift(seed);
    let mut live: Vec<(i32, usize)> = (1..=3)
        .map(|n| (p.set(Who::Root, n, 0o666), n as usize))
        .collect();
    let mut dead: Vec<i32> = Vec::new();
    for step in 0..steps {
        let who = rng.pick(&EVERYONE);
        let (id, nsems) = if live.is_empty() || rng.chance(4) {
            let stale = dead.last().copied().unwrap_or(7);
            (
                rng.pick(&[
                    -1,
                    99999,
                    stale,
                    live.first().map_or(5, |l| l.0 + (1 << 15)),
                ]),
                2,
            )
        } else {
            rng.pick(&live)
        };
        let step_op = match rng.below(100) {
            0..6 => Step::Get {
                who,
                key: if live.len() < 6 {
                    rng.pick(&[IPC_PRIVATE, 0x61, 0x62, 0x63])
                } else {
                    rng.pick(&[0x61, 0x62, 0x63])
                },
                nsems: rng.pick(&[0, 1, 2, 3, 4, -1]),
                flags: rng.pick(&[0, IPC_CREAT, IPC_CREAT, IPC_CREAT | IPC_EXCL])
                    | rng.pick(&[0, 0o600, 0o640, 0o604, 0o666, 0o622, 0o400, 0o044]),
            },
            6..50 => {
                let n = match rng.below(40) {
                    0 => 0,
                    1 => abi::SEMOPM as usize + 1,
                    k => 1 + (k as usize % 3),
                };
                let sops = (0..n)
                    .map(|_| {
                        let num = if rng.chance(2) {
                            rng.pick(&[4, 9, 65535])
                        } else {
                            rng.below(nsems.max(1) as u64) as u16
                        };
                        let sem_op = rng.pick(&[0, 0, 1, 1, 2, -1, -1, -2, -3, 5, 32767, -32768]);
                        let mut flg = rng.pick(&[NW, NW, NW, 0]);
                        if rng.chance(30) {
                            flg |= UNDO;
                        }
                        op(num, sem_op, flg)
                    })
                    .collect::<Vec<_>>();
                // Without IPC_NOWAIT on every operation the call could sleep: poll instead.
                let all_nowait = sops.iter().all(|s| i32::from(s.sem_flg) & NW != 0);
                let timeout = if !all_nowait || rng.chance(10) {
                    Some(rng.pick(&[
                        (0, 0),
                        (0, 0),
                        (0, 0),
                        (0, 0),
                        (0, 0),
                        (0, 0),
                        (-1, 0),
                        (0, 1_000_000_000),
                    ]))
                } else {
                    None
                };
                Step::Op {
                    who,
                    id,
                    sops,
                    timeout,
                }
            }
            50..62 => Step::Val {
                who,
                id,
                semnum: rng.pick(&[0, 0, 1, 2, 3, -1]),
                cmd: rng.pick(&[GETVAL, GETPID, GETNCNT, GETZCNT]),
            },
            62..70 => Step::SetVal {
                who,
                id,
                semnum: rng.pick(&[0, 0, 1, 2, 3, -1]),
                val: rng.pick(&[0, 1, 2, 3, 32767, 32768, -1]),
            },
            70..75 => Step::GetAll { who, id },
            75..80 => Step::SetAll {
                who,
                id,
                values: (0..nsems)
                    .map(|_| rng.pick(&[0, 1, 2, 5, 32767, 32768]))
                    .collect(),
            },
            80..88 => {
                let cmd = rng.pick(&[IPC_STAT, SEM_STAT, SEM_STAT_ANY]);
                let id = if cmd != IPC_STAT && rng.chance(30) {
                    rng.below(12) as i32
                } else {
                    id
                };
                Step::Stat { who, id, cmd }
            }
            88..94 => Step::Set {
                who,
                id,
                uid: rng.pick(&[0, 1000, 1000, 2000, 3000]),
                gid: rng.pick(&[0, 1000, 1000, 2000]),
                mode: rng.pick(&[0o600, 0o640, 0o604, 0o666, 0o666, 0o666, 0o622, 0o444, 0]),
            },
            94..97 => Step::Rmid { who, id },
            _ => Step::Info {
                id: rng.pick(&[0, 0, 3, -1]),
                cmd: rng.pick(&[IPC_INFO, SEM_INFO]),
            },
        };
        p.set_context(format!("seed {seed:#x}, step {step}: {step_op:?}: "));
        match step_op {
            Step::Get {
                who,
                key,
                nsems,
                flags,
            } => {
                if let Ok(id) = p.semget(who, key, nsems, flags) {
                    if !live.iter().any(|l| l.0 == id) {
                        live.push((id, nsems as usize));
                    }
                }
            }
            Step::Op {
                who,
                id,
                sops,
                timeout,
            } => {
                let _ = match timeout {
                    None => p.semop(who, id, &sops),
                    Some(t) => p.semtimedop(who, id, &sops, Some(t)),
                };
            }
            Step::Val {
                who,
                id,
                semnum,
                cmd,
            } => {
                let _ = p.get(who, id, semnum, cmd);
            }
            Step::SetVal {
                who,
                id,
                semnum,
                val,
            } => {
                let _ = p.setval(who, id, semnum, val);
            }
            Step::GetAll { who, id } => {
                let _ = p.getall(who, id, nsems);
            }
            Step::SetAll { who, id, values } => {
                let _ = p.setall(who, id, &values);
            }
            Step::Stat { who, id, cmd } => {
                let _ = p.stat(who, id, cmd);
            }
            Step::Set {
                who,
                id,
                uid,
                gid,
                mode,
            } => {
                let _ = p.ipc_set(who, id, |ds| {
                    ds.sem_perm.uid = uid;
                    ds.sem_perm.gid = gid;
                    ds.sem_perm.mode = mode;
                });
            }
            Step::Rmid { who, id } => {
                if p.rmid(who, id).is_ok() {
                    live.retain(|l| l.0 != id);
                    dead.push(id);
                }
            }
            Step::Info { id, cmd } => {
                let _ = p.info(id, cmd);
            }
        }
    }
    p.set_context(format!("seed {seed:#x}, after {steps} steps: "));
    for &(id, nsems) in &live {
        p.stat(Who::Root, id, IPC_STAT).unwrap();
        p.sems(id, nsems);
        p.counts(id, nsems);
    }
    p.info(0, SEM_INFO).unwrap();
    p.info(0, IPC_INFO).unwrap();
}

#[test]
fn seeded_random_nonblocking_sequences_match_step_by_step() {
    for seed in [
        0x5EED_0F15_7E3F_C0DE,
        0x0DDB_A11C_AFE0_1234,
        0x9E37_79B9_7F4A_7C15,
        0x0123_4567_89AB_CDEF,
    ] {
        random_sequence(
            "seeded_random_nonblocking_sequences_match_step_by_step",
            seed,
            600,
        );
    }
}
