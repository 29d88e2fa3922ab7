//! Semaphore sets checked against a reference model, one random operation at a time.
//!
//! Random sequences of non-blocking semaphore operations (every `sembuf` carries
//! `IPC_NOWAIT`, so nothing sleeps: what would block is `EAGAIN`) run on an [`IpcNamespace`]
//! and on [`Model`], a deliberately naive restatement of Linux's rules (`ipc/sem.c`,
//! `ipc/util.c`; `linux-ipc.md` §1, §3 and §6): a set is plain `Vec`s of values, pids and
//! per-semaphore `sem_otime`, the `SEM_UNDO` adjustments are one `Vec` per (undo list, set),
//! and ids come from a literal transcription of `ipc_idr_alloc()`. Every result — the return
//! value or errno, whole `semid64_ds` and `seminfo` structures, times included — must match the
//! model, and the invariants of [`check_invariants`] must hold after every step.
//!
//! Callers are processes with one or more threads. A process can exit (every thread's
//! [`Caller`] is dropped, which applies its undo list as `exit_sem()` does) and come back with
//! the same credentials and a new pid; a thread can be cloned (sharing the undo list, as
//! `CLONE_SYSVSEM` threads do), exit on its own, or unshare its list.
//!
//! Time runs on a [`ManualClock`] that only the operations move.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sysvipc::abi::{self, Ipc64Perm, Sembuf, Semid64Ds, Seminfo};
use sysvipc::{
    Caller, Capabilities, Credentials, Errno, IpcNamespace, ManualBlocker, ManualClock, SemCtlCmd,
    Timespec,
};

/// The manual clock's wall time when a test starts.
const START: i64 = 1_700_000_000;
const SEMVMX: i32 = abi::SEMVMX;
const SEMAEM: i32 = abi::SEMAEM;

// ---------------------------------------------------------------------------------------------
// Callers
// ---------------------------------------------------------------------------------------------

/// A process's identity as the model sees it.
#[derive(Clone, Copy, Debug)]
struct Who {
    euid: u32,
    egid: u32,
    fsgid: u32,
    groups: &'static [u32],
    /// `CAP_IPC_OWNER`: bypasses `ipcperms`.
    ipc_owner: bool,
    /// `CAP_SYS_ADMIN`: `IPC_SET`/`IPC_RMID` without owning the set.
    sys_admin: bool,
    /// The pid of the first incarnation of the process.
    pid: i32,
}

/// Root with every capability.
const ROOT: usize = 0;

const fn who_(
    euid: u32,
    egid: u32,
    fsgid: u32,
    groups: &'static [u32],
    caps: (bool, bool),
    pid: i32,
) -> Who {
    Who {
        euid,
        egid,
        fsgid,
        groups,
        ipc_owner: caps.0,
        sys_admin: caps.1,
        pid,
    }
}

const WHO: [Who; 7] = [
    // 0: root with every capability.
    who_(0, 0, 0, &[], (true, true), 100),
    // 1: uid 0 without any capability.
    who_(0, 0, 0, &[], (false, false), 110),
    // 2: alice.
    who_(1000, 1000, 1000, &[], (false, false), 210),
    // 3: bob, in another group.
    who_(2000, 2000, 2000, &[], (false, false), 310),
    // 4: carol, with alice's group as a supplementary group.
    who_(3000, 3000, 3000, &[1000], (false, false), 410),
    // 5: dave, egid 4000 but fsgid 2000.
    who_(4000, 4000, 2000, &[], (false, false), 510),
    // 6: erin, CAP_IPC_OWNER without CAP_SYS_ADMIN.
    who_(5000, 5000, 5000, &[], (true, false), 610),
];

fn caller(w: &Who, pid: i32, blocker: &Arc<ManualBlocker>) -> Caller {
    let caps = if w.ipc_owner && w.sys_admin {
        Capabilities::all()
    } else {
        let mut caps = Capabilities::empty();
        caps.set(Capabilities::IPC_OWNER, w.ipc_owner);
        caps.set(Capabilities::SYS_ADMIN, w.sys_admin);
        caps
    };
    let cred = Credentials {
        ruid: w.euid,
        euid: w.euid,
        egid: w.egid,
        fsgid: w.fsgid,
        groups: w.groups.to_vec(),
        caps,
    };
    let blocker: Arc<dyn sysvipc::Blocker> = blocker.clone();
    Caller::new(cred, pid, blocker)
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// How an operation names a set (resolved against the model when it runs).
#[derive(Clone, Copy, Debug)]
enum IdRef {
    /// The n-th live set (modulo their number), or 0 when there is none.
    Live(usize),
    /// The n-th id ever handed out: stale once its set is gone.
    Seen(usize),
    /// The n-th live set's id plus 32768.
    NextSeq(usize),
    Raw(i32),
}

/// `nsems` for `semget`.
#[derive(Clone, Copy, Debug)]
enum Nsems {
    Lit(i32),
    /// Exactly `semmsl` (when it is small).
    AtSemmsl,
    AboveSemmsl,
    /// One more than the set with this key has.
    AboveExisting,
}

/// A semaphore number.
#[derive(Clone, Copy, Debug)]
enum SemNum {
    /// The n-th semaphore of the set (modulo its size).
    In(usize),
    /// The set's size: one past the end.
    AtNsems,
    Raw(i32),
}

/// A `sem_op`.
#[derive(Clone, Copy, Debug)]
enum SemOp {
    Lit(i16),
    /// Brings the current value to exactly `SEMVMX`.
    ToMax,
    /// One past `SEMVMX`.
    PastMax,
    /// Brings the current value to 0.
    ToZero,
    /// One below 0.
    BelowZero,
}

#[derive(Clone, Copy, Debug)]
struct SopGen {
    num: SemNum,
    op: SemOp,
    undo: bool,
}

/// A `kernel.sem` field: keep the current value or write this one.
#[derive(Clone, Copy, Debug)]
enum Field {
    Keep,
    Val(i64),
}

#[derive(Clone, Copy, Debug)]
enum Owner {
    Keep,
    Of(usize),
    Invalid,
    Stranger,
}

#[derive(Clone, Debug)]
enum Op {
    Get {
        who: usize,
        key: i32,
        nsems: Nsems,
        mode: u32,
        creat: bool,
        excl: bool,
    },
    Semop {
        who: usize,
        thread: usize,
        id: IdRef,
        sops: Vec<SopGen>,
        /// `None`: `semop`; else `semtimedop` with this timeout.
        timeout: Option<Timespec>,
    },
    GetCtl {
        who: usize,
        id: IdRef,
        semnum: SemNum,
        cmd: SemCtlCmd,
    },
    GetAll {
        who: usize,
        id: IdRef,
    },
    SetVal {
        who: usize,
        id: IdRef,
        semnum: SemNum,
        value: i32,
    },
    SetAll {
        who: usize,
        id: IdRef,
        /// Values cycled over the set's size.
        values: Vec<u16>,
        fault: bool,
    },
    Stat {
        who: usize,
        id: IdRef,
        cmd: SemCtlCmd,
    },
    Set {
        who: usize,
        id: IdRef,
        uid: Owner,
        gid: Owner,
        mode: u32,
    },
    Rmid {
        who: usize,
        id: IdRef,
    },
    Info {
        id: i32,
        cmd: SemCtlCmd,
    },
    SetSem([Field; 4]),
    SetNextId(i64),
    Advance(u64),
    SetRealtime(i64),
    /// The whole process exits and is started again with a new pid.
    Exit(usize),
    /// A thread of the process clones a new thread sharing its undo list.
    Spawn {
        who: usize,
        thread: usize,
    },
    /// One thread exits (the whole process if it is the last).
    ThreadExit {
        who: usize,
        thread: usize,
    },
    /// `unshare(CLONE_SYSVSEM)` by one thread.
    Unshare {
        who: usize,
        thread: usize,
    },
    /// Creates and removes this many private one-semaphore sets (as root).
    Churn(usize),
}

/// An operation with every argument concrete.
#[derive(Clone, Debug)]
enum Call {
    Get {
        who: usize,
        key: i32,
        nsems: i32,
        flags: i32,
    },
    Semop {
        who: usize,
        thread: usize,
        id: i32,
        sops: Vec<Sembuf>,
        timeout: Option<Timespec>,
    },
    GetCtl {
        who: usize,
        id: i32,
        semnum: i32,
        cmd: SemCtlCmd,
    },
    GetAll {
        who: usize,
        id: i32,
    },
    SetVal {
        who: usize,
        id: i32,
        semnum: i32,
        value: i32,
    },
    SetAll {
        who: usize,
        id: i32,
        values: Vec<u16>,
        fault: bool,
    },
    Stat {
        who: usize,
        id: i32,
        cmd: SemCtlCmd,
    },
    Set {
        who: usize,
        id: i32,
        ds: Box<Semid64Ds>,
    },
    Rmid {
        who: usize,
        id: i32,
    },
    Info {
        id: i32,
        cmd: SemCtlCmd,
    },
    SetSem([i64; 4]),
    SetNextId(i64),
    Advance(u64),
    SetRealtime(i64),
    Exit(usize),
    Spawn {
        who: usize,
        thread: usize,
    },
    ThreadExit {
        who: usize,
        thread: usize,
    },
    Unshare {
        who: usize,
        thread: usize,
    },
    Churn(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Id(Result<i32, Errno>),
    Unit(Result<(), Errno>),
    Val(Result<i32, Errno>),
    All(Result<Vec<u16>, Errno>),
    Stat(Result<(i32, Semid64Ds), Errno>),
    Info(Result<(i32, Seminfo), Errno>),
    Done,
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// One set of the model (`struct sem_array`).
#[derive(Clone, Debug)]
struct MSet {
    idx: usize,
    seq: u32,
    key: i32,
    uid: u32,
    gid: u32,
    cuid: u32,
    cgid: u32,
    mode: u32,
    ctime: i64,
    vals: Vec<i32>,
    pids: Vec<i32>,
    otimes: Vec<i64>,
    /// `semadj` of each undo list that has an entry for this set.
    undos: BTreeMap<u64, Vec<i32>>,
}

impl MSet {
    fn id(&self) -> i32 {
        ((i64::from(self.seq) << 15) + self.idx as i64) as i32
    }

    fn nsems(&self) -> usize {
        self.vals.len()
    }

    fn ds(&self) -> Semid64Ds {
        Semid64Ds {
            sem_perm: Ipc64Perm {
                key: self.key,
                uid: self.uid,
                gid: self.gid,
                cuid: self.cuid,
                cgid: self.cgid,
                mode: self.mode,
                seq: self.seq as u16,
                ..Ipc64Perm::default()
            },
            // get_semotime(): the latest over the semaphores.
            sem_otime: self.otimes.iter().copied().max().unwrap_or(0),
            sem_ctime: self.ctime,
            sem_nsems: self.nsems() as u64,
            ..Semid64Ds::default()
        }
    }
}

fn in_group(w: &Who, gid: u32) -> bool {
    w.fsgid == gid || w.groups.contains(&gid)
}

/// `ipcperms()`.
fn ipcperms(s: &MSet, w: &Who, flag: u32) -> bool {
    let wanted = (flag | (flag >> 3) | (flag >> 6)) & 0o7;
    let granted = if w.euid == s.cuid || w.euid == s.uid {
        (s.mode >> 6) & 0o7
    } else if in_group(w, s.cgid) || in_group(w, s.gid) {
        (s.mode >> 3) & 0o7
    } else {
        s.mode & 0o7
    };
    wanted & !granted == 0 || w.ipc_owner
}

/// `ipcctl_obtain_check()`.
fn may_change(s: &MSet, w: &Who) -> bool {
    w.euid == s.cuid || w.euid == s.uid || w.sys_admin
}

/// A process of the model: its pid and, per thread, the undo list it holds.
#[derive(Clone, Debug)]
struct MProc {
    pid: i32,
    threads: Vec<u64>,
}

/// An undo list: the pid it records at exit and how many threads hold it.
#[derive(Clone, Debug)]
struct MList {
    pid: i32,
    refs: usize,
}

#[derive(Debug)]
struct Model {
    now: i64,
    mono_ms: u64,
    semmsl: i32,
    semmns: i32,
    semopm: i32,
    semmni: i32,
    sets: Vec<MSet>,
    seen: Vec<i32>,
    seq: u32,
    last_idx: i64,
    idr_next: usize,
    next_id: i32,
    procs: Vec<MProc>,
    lists: BTreeMap<u64, MList>,
    next_list: u64,
    next_pid: i32,
}

impl Model {
    fn new() -> Self {
        let mut m = Self {
            now: START,
            mono_ms: 0,
            semmsl: abi::SEMMSL,
            semmns: abi::SEMMNS,
            semopm: abi::SEMOPM,
            semmni: abi::SEMMNI,
            sets: Vec::new(),
            seen: Vec::new(),
            seq: 0,
            last_idx: -1,
            idr_next: 0,
            next_id: -1,
            procs: Vec::new(),
            lists: BTreeMap::new(),
            next_list: 1,
            next_pid: 10_000,
        };
        for w in &WHO {
            let list = m.new_list(w.pid);
            m.procs.push(MProc {
                pid: w.pid,
                threads: vec![list],
            });
        }
        m
    }

    fn new_list(&mut self, pid: i32) -> u64 {
        let id = self.next_list;
        self.next_list += 1;
        self.lists.insert(id, MList { pid, refs: 1 });
        id
    }

    /// A thread lets go of `list`; the last one applies it (`exit_sem()`): for every set that
    /// still exists and has an entry for the list, each non-zero adjustment is added, the value
    /// clamped to `0..=SEMVMX` and `sempid` set; then `do_smart_update(otime = 1)` with no
    /// sops sets `sem_otime` of semaphore 0, whatever the adjustments were.
    fn drop_list(&mut self, list: u64) {
        let l = self.lists.get_mut(&list).expect("known list");
        l.refs -= 1;
        if l.refs > 0 {
            return;
        }
        let pid = l.pid;
        self.lists.remove(&list);
        let now = self.now;
        for s in &mut self.sets {
            let Some(adj) = s.undos.remove(&list) else {
                continue;
            };
            for (n, a) in adj.into_iter().enumerate() {
                if a != 0 {
                    s.vals[n] = (s.vals[n] + a).clamp(0, SEMVMX);
                    s.pids[n] = pid;
                }
            }
            s.otimes[0] = now;
        }
    }

    fn lookup(&self, id: i32) -> Option<usize> {
        if id < 0 {
            return None;
        }
        let (idx, seq) = ((id & 0x7fff) as usize, (id >> 15) as u32);
        self.sets.iter().position(|s| s.idx == idx && s.seq == seq)
    }

    fn in_slot(&self, index: i32) -> Option<usize> {
        let idx = (index & 0x7fff) as usize;
        self.sets.iter().position(|s| s.idx == idx)
    }

    fn used(&self, idx: usize) -> bool {
        self.sets.iter().any(|s| s.idx == idx)
    }

    fn used_sems(&self) -> i64 {
        self.sets.iter().map(|s| s.nsems() as i64).sum()
    }

    /// `ipc_idr_alloc()`.
    fn alloc(&mut self) -> (u32, usize) {
        let next_id = std::mem::replace(&mut self.next_id, -1);
        if next_id >= 0 {
            let mut idx = (next_id & 0x7fff) as usize;
            while self.used(idx) {
                idx += 1;
            }
            return ((next_id >> 15) as u32, idx);
        }
        let end = (self.sets.len() * 3 / 2).clamp(64, 32768);
        let idx = (self.idr_next..end)
            .find(|i| !self.used(*i))
            .or_else(|| (0..end).find(|i| !self.used(*i)))
            .expect("fewer sets than the cycle length");
        self.idr_next = idx + 1;
        if idx as i64 <= self.last_idx {
            self.seq += 1;
            if self.seq >= 65535 {
                self.seq = 0;
            }
        }
        self.last_idx = idx as i64;
        (self.seq, idx)
    }

    /// `newary()` + `ipc_addid()`.
    fn create(&mut self, w: &Who, key: i32, nsems: i32, flags: i32) -> Result<i32, Errno> {
        if nsems == 0 {
            return Err(Errno::EINVAL);
        }
        if self.used_sems() + i64::from(nsems) > i64::from(self.semmns) {
            return Err(Errno::ENOSPC);
        }
        if self.sets.len() >= self.semmni.clamp(0, 32768) as usize {
            return Err(Errno::ENOSPC);
        }
        let (seq, idx) = self.alloc();
        let n = nsems as usize;
        let s = MSet {
            idx,
            seq,
            key,
            uid: w.euid,
            gid: w.egid,
            cuid: w.euid,
            cgid: w.egid,
            mode: flags as u32 & 0o777,
            ctime: self.now,
            vals: vec![0; n],
            pids: vec![0; n],
            otimes: vec![0; n],
            undos: BTreeMap::new(),
        };
        let id = s.id();
        self.seen.push(id);
        self.sets.push(s);
        Ok(id)
    }

    fn max_idx_ret(&self) -> i32 {
        if self.sets.len() == 32768 {
            return 32767;
        }
        self.sets.iter().map(|s| s.idx as i32).max().unwrap_or(0)
    }

    fn info(&self, cmd: SemCtlCmd) -> Seminfo {
        let (semusz, semaem) = if cmd == SemCtlCmd::SemInfo {
            (self.sets.len() as i32, self.used_sems() as i32)
        } else {
            (abi::SEMUSZ, abi::SEMAEM)
        };
        Seminfo {
            semmap: abi::SEMMAP,
            semmni: self.semmni,
            semmns: self.semmns,
            semmnu: abi::SEMMNU,
            semmsl: self.semmsl,
            semopm: self.semopm,
            semume: abi::SEMUME,
            semusz,
            semvmx: SEMVMX,
            semaem,
        }
    }

    fn resolve_id(&self, r: IdRef) -> i32 {
        let live = |n: usize| self.sets.get(n % self.sets.len().max(1)).map(MSet::id);
        match r {
            IdRef::Live(n) => live(n).unwrap_or(0),
            IdRef::Seen(n) => self
                .seen
                .get(n % self.seen.len().max(1))
                .copied()
                .unwrap_or(0),
            IdRef::NextSeq(n) => live(n).unwrap_or(0).wrapping_add(32768),
            IdRef::Raw(id) => id,
        }
    }

    /// The set `id` names, if any (for resolving semaphore numbers and values).
    fn target(&self, id: i32) -> Option<&MSet> {
        self.lookup(id).map(|i| &self.sets[i])
    }

    fn resolve_num(&self, id: i32, n: SemNum) -> i32 {
        let nsems = self.target(id).map_or(1, MSet::nsems);
        match n {
            SemNum::In(k) => (k % nsems) as i32,
            SemNum::AtNsems => nsems as i32,
            SemNum::Raw(v) => v,
        }
    }

    fn resolve(&self, op: &Op) -> Call {
        match *op {
            Op::Get {
                who,
                key,
                nsems,
                mode,
                creat,
                excl,
            } => {
                let small = |n: i32| if (0..=64).contains(&n) { n } else { 5 };
                let nsems = match nsems {
                    Nsems::Lit(n) => n,
                    Nsems::AtSemmsl => small(self.semmsl),
                    Nsems::AboveSemmsl => small(self.semmsl.saturating_add(1)),
                    Nsems::AboveExisting => self
                        .sets
                        .iter()
                        .find(|s| s.key == key && key != abi::IPC_PRIVATE)
                        .map_or(3, |s| s.nsems() as i32 + 1),
                };
                let mut flags = mode as i32;
                if creat {
                    flags |= abi::IPC_CREAT;
                }
                if excl {
                    flags |= abi::IPC_EXCL;
                }
                Call::Get {
                    who,
                    key,
                    nsems,
                    flags,
                }
            }
            Op::Semop {
                who,
                thread,
                id,
                ref sops,
                timeout,
            } => {
                let id = self.resolve_id(id);
                let vals = self.target(id).map(|s| s.vals.clone());
                let sops = sops
                    .iter()
                    .map(|g| {
                        let num = self.resolve_num(id, g.num);
                        let cur = usize::try_from(num)
                            .ok()
                            .and_then(|n| vals.as_ref()?.get(n).copied())
                            .unwrap_or(0);
                        let op = match g.op {
                            SemOp::Lit(v) => i32::from(v),
                            SemOp::ToMax => SEMVMX - cur,
                            SemOp::PastMax => SEMVMX - cur + 1,
                            SemOp::ToZero => -cur,
                            SemOp::BelowZero => -cur - 1,
                        };
                        let mut flg = abi::IPC_NOWAIT;
                        if g.undo {
                            flg |= abi::SEM_UNDO;
                        }
                        Sembuf {
                            sem_num: num as u16,
                            sem_op: op.clamp(-32768, 32767) as i16,
                            sem_flg: flg as i16,
                        }
                    })
                    .collect();
                Call::Semop {
                    who,
                    thread: thread % self.procs[who].threads.len(),
                    id,
                    sops,
                    timeout,
                }
            }
            Op::GetCtl {
                who,
                id,
                semnum,
                cmd,
            } => {
                let id = self.resolve_id(id);
                Call::GetCtl {
                    who,
                    id,
                    semnum: self.resolve_num(id, semnum),
                    cmd,
                }
            }
            Op::GetAll { who, id } => Call::GetAll {
                who,
                id: self.resolve_id(id),
            },
            Op::SetVal {
                who,
                id,
                semnum,
                value,
            } => {
                let id = self.resolve_id(id);
                Call::SetVal {
                    who,
                    id,
                    semnum: self.resolve_num(id, semnum),
                    value,
                }
            }
            Op::SetAll {
                who,
                id,
                ref values,
                fault,
            } => {
                let id = self.resolve_id(id);
                let n = self.target(id).map_or(1, MSet::nsems);
                Call::SetAll {
                    who,
                    id,
                    values: values.iter().copied().cycle().take(n).collect(),
                    fault,
                }
            }
            Op::Stat { who, id, cmd } => Call::Stat {
                who,
                id: self.resolve_id(id),
                cmd,
            },
            Op::Set {
                who,
                id,
                uid,
                gid,
                mode,
            } => {
                let id = self.resolve_id(id);
                let current = self.target(id);
                let owner = |o: Owner, pick_uid: bool| match o {
                    Owner::Keep => current.map_or(0, |s| if pick_uid { s.uid } else { s.gid }),
                    Owner::Of(i) if pick_uid => WHO[i].euid,
                    Owner::Of(i) => WHO[i].egid,
                    Owner::Invalid => u32::MAX,
                    Owner::Stranger => 7777,
                };
                // Fields IPC_SET ignores carry junk.
                let ds = Semid64Ds {
                    sem_perm: Ipc64Perm {
                        key: 0x5555,
                        uid: owner(uid, true),
                        gid: owner(gid, false),
                        cuid: 4242,
                        cgid: 4343,
                        mode,
                        seq: 77,
                        ..Ipc64Perm::default()
                    },
                    sem_otime: 1,
                    sem_ctime: 2,
                    sem_nsems: 99,
                    ..Semid64Ds::default()
                };
                Call::Set {
                    who,
                    id,
                    ds: Box::new(ds),
                }
            }
            Op::Rmid { who, id } => Call::Rmid {
                who,
                id: self.resolve_id(id),
            },
            Op::Info { id, cmd } => Call::Info { id, cmd },
            Op::SetSem(fields) => {
                let cur = [self.semmsl, self.semmns, self.semopm, self.semmni];
                let mut v = [0i64; 4];
                for i in 0..4 {
                    v[i] = match fields[i] {
                        Field::Keep => i64::from(cur[i]),
                        Field::Val(x) => x,
                    };
                }
                Call::SetSem(v)
            }
            Op::SetNextId(v) => Call::SetNextId(v),
            Op::Advance(ms) => Call::Advance(ms),
            Op::SetRealtime(s) => Call::SetRealtime(s),
            Op::Exit(who) => Call::Exit(who),
            Op::Spawn { who, thread } => Call::Spawn {
                who,
                thread: thread % self.procs[who].threads.len(),
            },
            Op::ThreadExit { who, thread } => Call::ThreadExit {
                who,
                thread: thread % self.procs[who].threads.len(),
            },
            Op::Unshare { who, thread } => Call::Unshare {
                who,
                thread: thread % self.procs[who].threads.len(),
            },
            Op::Churn(n) => Call::Churn(n),
        }
    }

    fn apply(&mut self, call: &Call) -> Vec<Outcome> {
        let one = match call {
            Call::Get {
                who,
                key,
                nsems,
                flags,
            } => Outcome::Id(self.semget(&WHO[*who], *key, *nsems, *flags)),
            Call::Semop {
                who,
                thread,
                id,
                sops,
                timeout,
            } => Outcome::Unit(self.semop(*who, *thread, *id, sops, *timeout)),
            Call::GetCtl {
                who,
                id,
                semnum,
                cmd,
            } => Outcome::Val(self.get_ctl(&WHO[*who], *id, *semnum, *cmd)),
            Call::GetAll { who, id } => Outcome::All(self.get_all(&WHO[*who], *id)),
            Call::SetVal {
                who,
                id,
                semnum,
                value,
            } => Outcome::Unit(self.setval(*who, *id, *semnum, *value)),
            Call::SetAll {
                who,
                id,
                values,
                fault,
            } => Outcome::Unit(self.setall(*who, *id, values, *fault)),
            Call::Stat { who, id, cmd } => Outcome::Stat(self.stat(&WHO[*who], *id, *cmd)),
            Call::Set { who, id, ds } => Outcome::Unit(self.set(&WHO[*who], *id, ds)),
            Call::Rmid { who, id } => Outcome::Unit(self.rmid(&WHO[*who], *id)),
            Call::Info { id, cmd } => Outcome::Info(if *id < 0 {
                Err(Errno::EINVAL)
            } else {
                Ok((self.max_idx_ret(), self.info(*cmd)))
            }),
            Call::SetSem(v) => Outcome::Unit(self.set_sem(*v)),
            Call::SetNextId(value) => Outcome::Unit(match i32::try_from(*value) {
                Ok(v) if v >= 0 => {
                    self.next_id = v;
                    Ok(())
                }
                _ => Err(Errno::EINVAL),
            }),
            Call::Advance(ms) => {
                let before = self.mono_ms / 1000;
                self.mono_ms += ms;
                self.now = self
                    .now
                    .saturating_add((self.mono_ms / 1000 - before) as i64);
                Outcome::Done
            }
            Call::SetRealtime(secs) => {
                self.now = *secs;
                Outcome::Done
            }
            Call::Exit(who) => {
                self.exit(*who);
                Outcome::Done
            }
            Call::Spawn { who, thread } => {
                let list = self.procs[*who].threads[*thread];
                self.lists.get_mut(&list).expect("list").refs += 1;
                self.procs[*who].threads.push(list);
                Outcome::Done
            }
            Call::ThreadExit { who, thread } => {
                if self.procs[*who].threads.len() == 1 {
                    self.exit(*who);
                } else {
                    let list = self.procs[*who].threads.remove(*thread);
                    self.drop_list(list);
                }
                Outcome::Done
            }
            Call::Unshare { who, thread } => {
                let pid = self.procs[*who].pid;
                // The new list exists before the old one is let go of.
                let new = self.new_list(pid);
                let old = std::mem::replace(&mut self.procs[*who].threads[*thread], new);
                self.drop_list(old);
                Outcome::Done
            }
            Call::Churn(n) => {
                let mut out = Vec::new();
                for _ in 0..*n {
                    let got = self.semget(&WHO[ROOT], abi::IPC_PRIVATE, 1, abi::IPC_CREAT | 0o600);
                    out.push(Outcome::Id(got));
                    if let Ok(id) = got {
                        out.push(Outcome::Unit(self.rmid(&WHO[ROOT], id)));
                    }
                }
                return out;
            }
        };
        vec![one]
    }

    /// Every thread of the process lets go of its list, in thread order; the process comes
    /// back with a new pid and one thread.
    fn exit(&mut self, who: usize) {
        let threads = std::mem::take(&mut self.procs[who].threads);
        for list in threads {
            self.drop_list(list);
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        let list = self.new_list(pid);
        self.procs[who] = MProc {
            pid,
            threads: vec![list],
        };
    }

    /// `semget(2)`.
    fn semget(&mut self, w: &Who, key: i32, nsems: i32, flags: i32) -> Result<i32, Errno> {
        if nsems < 0 || nsems > self.semmsl {
            return Err(Errno::EINVAL);
        }
        if key == abi::IPC_PRIVATE {
            return self.create(w, key, nsems, flags);
        }
        let creat = flags & abi::IPC_CREAT != 0;
        let excl = flags & abi::IPC_EXCL != 0;
        match self.sets.iter().find(|s| s.key == key) {
            Some(_) if creat && excl => Err(Errno::EEXIST),
            Some(s) if nsems as usize > s.nsems() => Err(Errno::EINVAL),
            Some(s) if !ipcperms(s, w, flags as u32) => Err(Errno::EACCES),
            Some(s) => Ok(s.id()),
            None if !creat => Err(Errno::ENOENT),
            None => self.create(w, key, nsems, flags),
        }
    }

    /// `semtimedop(2)` with `IPC_NOWAIT` on every operation (`do_semtimedop`).
    fn semop(
        &mut self,
        who: usize,
        thread: usize,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<Timespec>,
    ) -> Result<(), Errno> {
        let w = &WHO[who];
        if sops.len() as u64 > u64::from(self.semopm as u32) {
            return Err(Errno::E2BIG);
        }
        if sops.is_empty() || id < 0 {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = timeout {
            if t.sec < 0 || !(0..1_000_000_000).contains(&t.nsec) {
                return Err(Errno::EINVAL);
            }
        }
        let list = self.procs[who].threads[thread];
        let pid = self.procs[who].pid;
        let now = self.now;
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let s = &mut self.sets[i];
        let nsems = s.nsems();
        // find_alloc_undo() comes before every other check on the set.
        let undo = sops
            .iter()
            .any(|b| i32::from(b.sem_flg) & abi::SEM_UNDO != 0);
        if undo {
            s.undos.entry(list).or_insert_with(|| vec![0; nsems]);
        }
        if sops.iter().any(|b| usize::from(b.sem_num) >= nsems) {
            return Err(Errno::EFBIG);
        }
        let alter = sops.iter().any(|b| b.sem_op != 0);
        if !ipcperms(s, w, if alter { 0o222 } else { 0o444 }) {
            return Err(Errno::EACCES);
        }
        let mut vals = s.vals.clone();
        let mut adj = s
            .undos
            .get(&list)
            .cloned()
            .unwrap_or_else(|| vec![0; nsems]);
        for b in sops {
            let n = usize::from(b.sem_num);
            let op = i32::from(b.sem_op);
            assert!(
                i32::from(b.sem_flg) & abi::IPC_NOWAIT != 0,
                "the model never sleeps"
            );
            if (op == 0 && vals[n] != 0) || vals[n] + op < 0 {
                return Err(Errno::EAGAIN);
            }
            if vals[n] + op > SEMVMX {
                return Err(Errno::ERANGE);
            }
            if i32::from(b.sem_flg) & abi::SEM_UNDO != 0 {
                let a = adj[n] - op;
                if !(-SEMAEM - 1..=SEMAEM).contains(&a) {
                    return Err(Errno::ERANGE);
                }
                adj[n] = a;
            }
            vals[n] += op;
        }
        s.vals = vals;
        if undo {
            s.undos.insert(list, adj);
        }
        for b in sops {
            s.pids[usize::from(b.sem_num)] = pid;
        }
        // set_semotime(sma, sops): the first operation's semaphore, altering or not.
        s.otimes[usize::from(sops[0].sem_num)] = now;
        Ok(())
    }

    fn get_ctl(&self, w: &Who, id: i32, semnum: i32, cmd: SemCtlCmd) -> Result<i32, Errno> {
        let s = &self.sets[self.lookup(id).ok_or(Errno::EINVAL)?];
        if !ipcperms(s, w, 0o444) {
            return Err(Errno::EACCES);
        }
        let n = usize::try_from(semnum)
            .ok()
            .filter(|n| *n < s.nsems())
            .ok_or(Errno::EINVAL)?;
        Ok(match cmd {
            SemCtlCmd::GetVal => s.vals[n],
            SemCtlCmd::GetPid => s.pids[n],
            // Nothing ever sleeps.
            SemCtlCmd::GetNcnt | SemCtlCmd::GetZcnt => 0,
            _ => unreachable!(),
        })
    }

    fn get_all(&self, w: &Who, id: i32) -> Result<Vec<u16>, Errno> {
        let s = &self.sets[self.lookup(id).ok_or(Errno::EINVAL)?];
        if !ipcperms(s, w, 0o444) {
            return Err(Errno::EACCES);
        }
        Ok(s.vals.iter().map(|v| *v as u16).collect())
    }

    /// `semctl_setval()`.
    fn setval(&mut self, who: usize, id: i32, semnum: i32, value: i32) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        if !(0..=SEMVMX).contains(&value) {
            return Err(Errno::ERANGE);
        }
        let (pid, now) = (self.procs[who].pid, self.now);
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let s = &mut self.sets[i];
        let n = usize::try_from(semnum)
            .ok()
            .filter(|n| *n < s.nsems())
            .ok_or(Errno::EINVAL)?;
        if !ipcperms(s, &WHO[who], 0o222) {
            return Err(Errno::EACCES);
        }
        for adj in s.undos.values_mut() {
            adj[n] = 0;
        }
        s.vals[n] = value;
        s.pids[n] = pid;
        s.ctime = now;
        Ok(())
    }

    /// `semctl_main(SETALL)`.
    fn setall(&mut self, who: usize, id: i32, values: &[u16], fault: bool) -> Result<(), Errno> {
        let (pid, now) = (self.procs[who].pid, self.now);
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let s = &mut self.sets[i];
        if !ipcperms(s, &WHO[who], 0o222) {
            return Err(Errno::EACCES);
        }
        if fault {
            return Err(Errno::EFAULT);
        }
        if values.iter().any(|v| i32::from(*v) > SEMVMX) {
            return Err(Errno::ERANGE);
        }
        for (n, v) in values.iter().enumerate() {
            s.vals[n] = i32::from(*v);
            s.pids[n] = pid;
        }
        for adj in s.undos.values_mut() {
            adj.fill(0);
        }
        s.ctime = now;
        Ok(())
    }

    fn stat(&self, w: &Who, id: i32, cmd: SemCtlCmd) -> Result<(i32, Semid64Ds), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            SemCtlCmd::Stat => {
                let s = &self.sets[self.lookup(id).ok_or(Errno::EINVAL)?];
                if !ipcperms(s, w, 0o444) {
                    return Err(Errno::EACCES);
                }
                Ok((0, s.ds()))
            }
            SemCtlCmd::SemStat | SemCtlCmd::SemStatAny => {
                let s = &self.sets[self.in_slot(id).ok_or(Errno::EINVAL)?];
                if cmd == SemCtlCmd::SemStat && !ipcperms(s, w, 0o444) {
                    return Err(Errno::EACCES);
                }
                Ok((s.id(), s.ds()))
            }
            _ => unreachable!(),
        }
    }

    /// `semctl_down(IPC_SET)`.
    fn set(&mut self, w: &Who, id: i32, ds: &Semid64Ds) -> Result<(), Errno> {
        let now = self.now;
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let s = &mut self.sets[i];
        if !may_change(s, w) {
            return Err(Errno::EPERM);
        }
        if ds.sem_perm.uid == u32::MAX || ds.sem_perm.gid == u32::MAX {
            return Err(Errno::EINVAL);
        }
        s.uid = ds.sem_perm.uid;
        s.gid = ds.sem_perm.gid;
        s.mode = (s.mode & !0o777) | (ds.sem_perm.mode & 0o777);
        s.ctime = now;
        Ok(())
    }

    /// `semctl_down(IPC_RMID)` (`freeary`): the undo entries go with the set.
    fn rmid(&mut self, w: &Who, id: i32) -> Result<(), Errno> {
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        if !may_change(&self.sets[i], w) {
            return Err(Errno::EPERM);
        }
        self.sets.remove(i);
        Ok(())
    }

    /// The `kernel.sem` write: `proc_dointvec` stores the ints one by one (a non-int stops it
    /// with `EINVAL`), then `semmni` outside `0..=IPCMNI` is restored and the write fails with
    /// `ERANGE`.
    fn set_sem(&mut self, v: [i64; 4]) -> Result<(), Errno> {
        let mut ints = [0i32; 4];
        for (i, x) in v.iter().enumerate() {
            ints[i] = i32::try_from(*x).map_err(|_| Errno::EINVAL)?;
            match i {
                0 => self.semmsl = ints[0],
                1 => self.semmns = ints[1],
                2 => self.semopm = ints[2],
                _ => {}
            }
        }
        if !(0..=32768).contains(&ints[3]) {
            return Err(Errno::ERANGE);
        }
        self.semmni = ints[3];
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The system under test
// ---------------------------------------------------------------------------------------------

struct Sut {
    clock: Arc<ManualClock>,
    blocker: Arc<ManualBlocker>,
    ns: IpcNamespace,
    /// Each process's threads.
    procs: Vec<Vec<Caller>>,
    next_pid: i32,
    next_tid: i32,
}

impl Sut {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let blocker = Arc::new(ManualBlocker::new(Arc::clone(&clock)));
        let ns = IpcNamespace::with_clock(clock.clone());
        let procs = WHO
            .iter()
            .map(|w| vec![caller(w, w.pid, &blocker)])
            .collect();
        Self {
            clock,
            blocker,
            ns,
            procs,
            next_pid: 10_000,
            next_tid: 50_000,
        }
    }

    fn main(&self, who: usize) -> &Caller {
        &self.procs[who][0]
    }

    fn apply(&mut self, call: &Call) -> Vec<Outcome> {
        // A safety net: a call that slept after all is interrupted instead of hanging.
        self.blocker.interrupt();
        let ns = &self.ns;
        let one = match call {
            Call::Get {
                who,
                key,
                nsems,
                flags,
            } => Outcome::Id(ns.semget(self.main(*who), *key, *nsems, *flags)),
            Call::Semop {
                who,
                thread,
                id,
                sops,
                timeout,
            } => {
                let c = &self.procs[*who][*thread];
                Outcome::Unit(match timeout {
                    None => ns.semop(c, *id, sops),
                    Some(t) => ns.semtimedop(c, *id, sops, Some(*t)),
                })
            }
            Call::GetCtl {
                who,
                id,
                semnum,
                cmd,
            } => Outcome::Val(ns.semctl_get(self.main(*who), *id, *semnum, *cmd)),
            Call::GetAll { who, id } => Outcome::All(ns.semctl_getall(self.main(*who), *id)),
            Call::SetVal {
                who,
                id,
                semnum,
                value,
            } => Outcome::Unit(ns.semctl_setval(self.main(*who), *id, *semnum, *value)),
            Call::SetAll {
                who,
                id,
                values,
                fault,
            } => Outcome::Unit(ns.semctl_setall(self.main(*who), *id, |n| {
                if *fault {
                    return Err(Errno::EFAULT);
                }
                assert_eq!(n, values.len(), "SETALL reads nsems values");
                Ok(values.clone())
            })),
            Call::Stat { who, id, cmd } => {
                Outcome::Stat(ns.semctl_stat(self.main(*who), *id, *cmd))
            }
            Call::Set { who, id, ds } => Outcome::Unit(ns.semctl_set(self.main(*who), *id, ds)),
            Call::Rmid { who, id } => Outcome::Unit(ns.semctl_rmid(self.main(*who), *id)),
            Call::Info { id, cmd } => Outcome::Info(ns.semctl_info(*id, *cmd)),
            Call::SetSem(v) => Outcome::Unit(ns.limits().set_sem(*v)),
            Call::SetNextId(v) => Outcome::Unit(ns.set_sem_next_id(*v)),
            Call::Advance(ms) => {
                self.clock.advance(Duration::from_millis(*ms));
                Outcome::Done
            }
            Call::SetRealtime(secs) => {
                self.clock.set_realtime(*secs);
                Outcome::Done
            }
            Call::Exit(who) => {
                self.exit(*who);
                Outcome::Done
            }
            Call::Spawn { who, thread } => {
                let tid = self.next_tid;
                self.next_tid += 1;
                let t = self.procs[*who][*thread].clone().with_tid(tid);
                self.procs[*who].push(t);
                Outcome::Done
            }
            Call::ThreadExit { who, thread } => {
                if self.procs[*who].len() == 1 {
                    self.exit(*who);
                } else {
                    drop(self.procs[*who].remove(*thread));
                }
                Outcome::Done
            }
            Call::Unshare { who, thread } => {
                self.procs[*who][*thread].unshare_undo();
                Outcome::Done
            }
            Call::Churn(n) => {
                let root = &self.procs[ROOT][0];
                let mut out = Vec::new();
                for _ in 0..*n {
                    let got = ns.semget(root, abi::IPC_PRIVATE, 1, abi::IPC_CREAT | 0o600);
                    out.push(Outcome::Id(got));
                    if let Ok(id) = got {
                        out.push(Outcome::Unit(ns.semctl_rmid(root, id)));
                    }
                }
                return out;
            }
        };
        vec![one]
    }

    /// Drops every thread of the process, first to last, and starts it again with a new pid.
    fn exit(&mut self, who: usize) {
        let threads = std::mem::take(&mut self.procs[who]);
        for t in threads {
            drop(t);
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        self.procs[who] = vec![caller(&WHO[who], pid, &self.blocker)];
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

/// What must hold after every step:
///
/// - live ids and indexes are unique; the registry holds as many sets as the model;
/// - every set's `IPC_STAT` and `SEM_STAT_ANY` match the model, `GETALL` equals its values
///   (all within `0..=SEMVMX`), `GETPID` its pids, and `GETNCNT`/`GETZCNT` are 0;
///   free slots are `EINVAL` for `SEM_STAT_ANY`;
/// - `SEM_INFO` counts the sets and the sum of their `sem_nsems`; `IPC_INFO` and `SEM_INFO`
///   return the highest used index;
/// - every model adjustment is within `-SEMAEM-1..=SEMAEM`;
/// - limits and `sem_next_id` read back as the model has them; the processes' pids and
///   undo-list sharing agree; nothing ever slept.
fn check_invariants(sut: &Sut, m: &Model) -> Result<(), TestCaseError> {
    let ns = &sut.ns;
    let root = &sut.procs[ROOT][0];

    let mut ids: Vec<i32> = m.sets.iter().map(MSet::id).collect();
    let mut idxs: Vec<usize> = m.sets.iter().map(|s| s.idx).collect();
    ids.sort_unstable();
    ids.dedup();
    idxs.sort_unstable();
    idxs.dedup();
    prop_assert_eq!(ids.len(), m.sets.len(), "duplicate ids");
    prop_assert_eq!(idxs.len(), m.sets.len(), "duplicate indexes");
    prop_assert_eq!(ns.sem().len(), m.sets.len());

    let mut nsems_total = 0u64;
    for s in &m.sets {
        let id = s.id();
        let want = s.ds();
        prop_assert_eq!(
            ns.semctl_stat(root, id, SemCtlCmd::Stat),
            Ok((0, want)),
            "IPC_STAT of set {}",
            id
        );
        let got = ns.semctl_stat(root, s.idx as i32, SemCtlCmd::SemStatAny);
        prop_assert_eq!(got, Ok((id, want)), "SEM_STAT_ANY of index {}", s.idx);
        if let Ok((_, ds)) = got {
            nsems_total += ds.sem_nsems;
        }
        let all = ns.semctl_getall(root, id);
        prop_assert_eq!(
            &all,
            &Ok(s.vals.iter().map(|v| *v as u16).collect::<Vec<_>>()),
            "GETALL of set {}",
            id
        );
        for v in all.unwrap_or_default() {
            prop_assert!(i32::from(v) <= SEMVMX, "value {} above SEMVMX", v);
        }
        for n in 0..s.nsems() {
            let n32 = n as i32;
            prop_assert_eq!(
                ns.semctl_get(root, id, n32, SemCtlCmd::GetPid),
                Ok(s.pids[n]),
                "GETPID of set {} sem {}",
                id,
                n
            );
            for cmd in [SemCtlCmd::GetNcnt, SemCtlCmd::GetZcnt] {
                prop_assert_eq!(ns.semctl_get(root, id, n32, cmd), Ok(0), "{:?}", cmd);
            }
        }
        for adj in s.undos.values() {
            prop_assert!(adj.iter().all(|a| (-SEMAEM - 1..=SEMAEM).contains(a)));
        }
    }
    let top = m.sets.iter().map(|s| s.idx).max().unwrap_or(0);
    for idx in (0..=(top + 1).min(100)).chain([top + 1]) {
        if !m.used(idx) {
            prop_assert_eq!(
                ns.semctl_stat(root, idx as i32, SemCtlCmd::SemStatAny),
                Err(Errno::EINVAL),
                "SEM_STAT_ANY of free index {}",
                idx
            );
        }
    }

    let (ret, info) = ns
        .semctl_info(0, SemCtlCmd::SemInfo)
        .map_err(|e| TestCaseError::fail(format!("SEM_INFO failed: {e:?}")))?;
    prop_assert_eq!(info.semusz as usize, ns.sem().len(), "SEM_INFO semusz");
    prop_assert_eq!(
        info.semaem as u64,
        nsems_total,
        "SEM_INFO semaem vs sum of sem_nsems"
    );
    prop_assert_eq!(
        (ret, info),
        (m.max_idx_ret(), m.info(SemCtlCmd::SemInfo)),
        "SEM_INFO"
    );
    prop_assert_eq!(
        ns.semctl_info(0, SemCtlCmd::IpcInfo),
        Ok((m.max_idx_ret(), m.info(SemCtlCmd::IpcInfo))),
        "IPC_INFO"
    );

    let l = ns.limits();
    prop_assert_eq!(
        (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
        (m.semmsl, m.semmns, m.semopm, m.semmni)
    );
    prop_assert_eq!(ns.sem_next_id(), m.next_id);

    for (p, threads) in sut.procs.iter().enumerate() {
        let mp = &m.procs[p];
        prop_assert_eq!(threads.len(), mp.threads.len(), "threads of process {}", p);
        for (t, c) in threads.iter().enumerate() {
            prop_assert_eq!(c.pid, mp.pid, "pid of process {}", p);
            let refs = m.lists[&mp.threads[t]].refs;
            prop_assert_eq!(c.undo.sharers(), refs, "sharers of thread {} of {}", t, p);
        }
    }
    prop_assert_eq!(sut.blocker.sleeps(), 0, "a non-blocking operation slept");
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut sut = Sut::new();
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let call = model.resolve(op);
        let want = model.apply(&call);
        let got = sut.apply(&call);
        // Left: the implementation; right: the model.
        prop_assert_eq!(got, want, "step {}: {:?}", step, call);
        check_invariants(&sut, &model)
            .map_err(|e| TestCaseError::fail(format!("after step {step} ({call:?}): {e}")))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn who() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => Just(0usize),
        1 => Just(1usize),
        3 => Just(2usize),
        2 => Just(3usize),
        2 => Just(4usize),
        1 => Just(5usize),
        1 => Just(6usize),
    ]
}

fn id_ref() -> impl Strategy<Value = IdRef> {
    prop_oneof![
        14 => prop_oneof![4 => Just(0usize), 2 => Just(1usize), 2 => 0..8usize].prop_map(IdRef::Live),
        2 => (0..16usize).prop_map(IdRef::Seen),
        1 => (0..8usize).prop_map(IdRef::NextSeq),
        2 => prop_oneof![Just(-1), Just(i32::MIN), Just(i32::MAX), 0..70i32, 32768..32840i32]
            .prop_map(IdRef::Raw),
    ]
}

fn key() -> impl Strategy<Value = i32> {
    prop_oneof![4 => Just(abi::IPC_PRIVATE), 1 => Just(0x10), 1 => Just(0x11), 1 => Just(0x12), 1 => Just(-1)]
}

fn mode() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => Just(0o666),
        3 => Just(0o600),
        2 => Just(0o660),
        1 => Just(0),
        1 => Just(0o644),
        1 => Just(0o640),
        1 => Just(0o604),
        1 => Just(0o060),
        1 => Just(0o400),
        1 => Just(0o200),
        1 => Just(0o004),
        2 => 0..0o1000u32,
    ]
}

fn nsems() -> impl Strategy<Value = Nsems> {
    prop_oneof![
        12 => (1..=4i32).prop_map(Nsems::Lit),
        2 => (5..=9i32).prop_map(Nsems::Lit),
        2 => Just(Nsems::Lit(0)),
        1 => Just(Nsems::Lit(-1)),
        1 => Just(Nsems::Lit(i32::MIN)),
        1 => Just(Nsems::Lit(i32::MAX)),
        1 => Just(Nsems::AtSemmsl),
        1 => Just(Nsems::AboveSemmsl),
        2 => Just(Nsems::AboveExisting),
    ]
}

fn get() -> impl Strategy<Value = Op> {
    (
        who(),
        key(),
        nsems(),
        mode(),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(who, key, nsems, mode, creat, excl)| Op::Get {
            who,
            key,
            nsems,
            mode,
            creat,
            excl,
        })
}

fn sem_num() -> impl Strategy<Value = SemNum> {
    prop_oneof![
        20 => prop_oneof![3 => Just(0usize), 2 => Just(1usize), 2 => 0..8usize].prop_map(SemNum::In),
        1 => Just(SemNum::AtNsems),
        1 => prop_oneof![Just(65535), Just(8), Just(-1), Just(i32::MIN), Just(32768)].prop_map(SemNum::Raw),
    ]
}

fn sem_op() -> impl Strategy<Value = SemOp> {
    prop_oneof![
        12 => (0..=3i16).prop_map(SemOp::Lit),
        6 => (-3..=-1i16).prop_map(SemOp::Lit),
        3 => Just(SemOp::ToMax),
        2 => Just(SemOp::PastMax),
        3 => Just(SemOp::ToZero),
        1 => Just(SemOp::BelowZero),
        3 => prop_oneof![
            Just(i16::MAX),
            Just(i16::MIN),
            Just(-i16::MAX),
            Just(i16::MAX - 1),
            Just(16384i16),
            Just(-16384i16),
        ]
        .prop_map(SemOp::Lit),
    ]
}

fn sop() -> impl Strategy<Value = SopGen> {
    // Mostly in range: one bad number fails the whole call.
    let num = prop_oneof![12 => (0..4usize).prop_map(SemNum::In), 1 => sem_num()];
    (num, sem_op(), prop::bool::weighted(0.45)).prop_map(|(num, op, undo)| SopGen { num, op, undo })
}

fn timeout() -> impl Strategy<Value = Option<Timespec>> {
    let ts = |sec, nsec| Timespec { sec, nsec };
    prop_oneof![
        24 => Just(None),
        6 => Just(Some(ts(0, 0))),
        2 => Just(Some(ts(1, 5))),
        2 => Just(Some(ts(0, 999_999_999))),
        1 => Just(Some(ts(-1, 0))),
        1 => Just(Some(ts(0, 1_000_000_000))),
        1 => Just(Some(ts(0, -1))),
    ]
}

fn semop() -> impl Strategy<Value = Op> {
    let sops = prop_oneof![
        30 => prop::collection::vec(sop(), 1..=4),
        1 => Just(Vec::new()),
    ];
    // Mostly live sets: the interesting part is what happens to the values.
    let id = prop_oneof![6 => (0..3usize).prop_map(IdRef::Live), 1 => id_ref()];
    // Mostly the owners of most sets, whose operations get through.
    let who = prop_oneof![3 => Just(ROOT), 2 => Just(2usize), 3 => who()];
    (who, 0..4usize, id, sops, timeout()).prop_map(|(who, thread, id, sops, timeout)| Op::Semop {
        who,
        thread,
        id,
        sops,
        timeout,
    })
}

fn get_ctl() -> impl Strategy<Value = Op> {
    let cmd = prop_oneof![
        Just(SemCtlCmd::GetVal),
        Just(SemCtlCmd::GetPid),
        Just(SemCtlCmd::GetNcnt),
        Just(SemCtlCmd::GetZcnt),
    ];
    (who(), id_ref(), sem_num(), cmd).prop_map(|(who, id, semnum, cmd)| Op::GetCtl {
        who,
        id,
        semnum,
        cmd,
    })
}

fn setval() -> impl Strategy<Value = Op> {
    let value = prop_oneof![
        12 => 0..=3i32,
        2 => Just(SEMVMX),
        1 => Just(SEMVMX - 1),
        1 => Just(SEMVMX + 1),
        1 => Just(-1),
        1 => Just(i32::MIN),
        1 => Just(i32::MAX),
    ];
    (who(), id_ref(), sem_num(), value).prop_map(|(who, id, semnum, value)| Op::SetVal {
        who,
        id,
        semnum,
        value,
    })
}

fn setall() -> impl Strategy<Value = Op> {
    let v = prop_oneof![
        12 => 0..=3u16,
        2 => Just(32767u16),
        1 => Just(32766u16),
        1 => Just(32768u16),
        1 => Just(65535u16),
    ];
    (
        who(),
        id_ref(),
        prop::collection::vec(v, 1..=4),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(who, id, values, fault)| Op::SetAll {
            who,
            id,
            values,
            fault,
        })
}

fn stat() -> impl Strategy<Value = Op> {
    let cmd = prop_oneof![
        Just(SemCtlCmd::Stat),
        Just(SemCtlCmd::SemStat),
        Just(SemCtlCmd::SemStatAny),
    ];
    (who(), id_ref(), cmd).prop_map(|(who, id, cmd)| Op::Stat { who, id, cmd })
}

fn set() -> impl Strategy<Value = Op> {
    let owner = || {
        prop_oneof![
            6 => Just(Owner::Keep),
            4 => who().prop_map(Owner::Of),
            1 => Just(Owner::Invalid),
            1 => Just(Owner::Stranger),
        ]
    };
    let mode = prop_oneof![
        Just(0o600),
        Just(0o666),
        Just(0o640),
        Just(0o604),
        Just(0o060),
        Just(0o006),
        Just(0),
        Just(0o7777),
        any::<u32>(),
    ];
    (who(), id_ref(), owner(), owner(), mode).prop_map(|(who, id, uid, gid, mode)| Op::Set {
        who,
        id,
        uid,
        gid,
        mode,
    })
}

fn set_sem() -> impl Strategy<Value = Op> {
    let big = i64::from(i32::MAX) + 1;
    let msl = prop_oneof![
        6 => Just(Field::Keep),
        3 => (0..=10i64).prop_map(Field::Val),
        1 => Just(Field::Val(-1)),
        1 => Just(Field::Val(64)),
        1 => Just(Field::Val(32000)),
        1 => Just(Field::Val(big)),
    ];
    let mns = prop_oneof![
        6 => Just(Field::Keep),
        3 => (0..=40i64).prop_map(Field::Val),
        1 => Just(Field::Val(-1)),
        1 => Just(Field::Val(i64::from(abi::SEMMNS))),
        1 => Just(Field::Val(-big - 1)),
    ];
    let opm = prop_oneof![
        16 => Just(Field::Keep),
        3 => (0..=4i64).prop_map(Field::Val),
        1 => Just(Field::Val(-1)),
        1 => Just(Field::Val(500)),
    ];
    let mni = prop_oneof![
        6 => Just(Field::Keep),
        3 => (0..=6i64).prop_map(Field::Val),
        1 => Just(Field::Val(-1)),
        1 => Just(Field::Val(32768)),
        1 => Just(Field::Val(32769)),
        1 => Just(Field::Val(32000)),
        1 => Just(Field::Val(big)),
    ];
    (msl, mns, opm, mni).prop_map(|(a, b, c, d)| Op::SetSem([a, b, c, d]))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => get(),
        36 => semop(),
        6 => get_ctl(),
        2 => (who(), id_ref()).prop_map(|(who, id)| Op::GetAll { who, id }),
        6 => setval(),
        3 => setall(),
        4 => stat(),
        3 => set(),
        2 => (who(), id_ref()).prop_map(|(who, id)| Op::Rmid { who, id }),
        2 => (
            prop_oneof![4 => 0..3i32, 1 => Just(-1), 1 => Just(99_999)],
            prop_oneof![Just(SemCtlCmd::IpcInfo), Just(SemCtlCmd::SemInfo)],
        )
            .prop_map(|(id, cmd)| Op::Info { id, cmd }),
        3 => set_sem(),
        1 => prop_oneof![
            Just(-1i64),
            (0..4i64, 0..80i64).prop_map(|(seq, idx)| seq << 15 | idx),
            Just(i64::from(i32::MAX) + 1),
        ]
        .prop_map(Op::SetNextId),
        6 => (0..3000u64).prop_map(Op::Advance),
        1 => prop_oneof![Just(0i64), Just(-5i64), Just(i64::MAX), 1_000..2_000i64]
            .prop_map(Op::SetRealtime),
        5 => who().prop_map(Op::Exit),
        3 => (who(), 0..4usize).prop_map(|(who, thread)| Op::Spawn { who, thread }),
        2 => (who(), 0..4usize).prop_map(|(who, thread)| Op::ThreadExit { who, thread }),
        2 => (who(), 0..4usize).prop_map(|(who, thread)| Op::Unshare { who, thread }),
        1 => (1..=80usize).prop_map(Op::Churn),
    ]
}

/// One to three creations, so that most operations find a set, then up to 60 operations.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    let mode = prop_oneof![3 => Just(0o666), 1 => Just(0o600), 1 => Just(0o660), 1 => mode()];
    let create = (who(), key(), 1..=4i32, mode).prop_map(|(who, key, n, mode)| Op::Get {
        who,
        key,
        nsems: Nsems::Lit(n),
        mode,
        creat: true,
        excl: false,
    });
    (
        prop::collection::vec(create, 1..=3),
        prop::collection::vec(op(), 0..61),
    )
        .prop_map(|(mut setup, rest)| {
            setup.extend(rest);
            setup
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every result of a random sequence of non-blocking semaphore operations, by several
    /// processes and threads on several sets, with exits applying `SEM_UNDO` adjustments,
    /// equals what Linux's rules predict, and the invariants hold after every step.
    #[test]
    fn sem_ops_match_reference_model(ops in ops()) {
        run(&ops)?;
    }
}

// ---------------------------------------------------------------------------------------------
// The model itself against what was observed on Linux
// ---------------------------------------------------------------------------------------------

/// Runs `ops` as the property does and returns the model's outcomes.
fn replay(ops: &[Op]) -> Vec<Outcome> {
    let mut sut = Sut::new();
    let mut model = Model::new();
    let mut outcomes = Vec::new();
    for op in ops {
        let call = model.resolve(op);
        let want = model.apply(&call);
        assert_eq!(sut.apply(&call), want, "{call:?}");
        if let Err(e) = check_invariants(&sut, &model) {
            panic!("after {call:?}: {e}");
        }
        outcomes.extend(want);
    }
    outcomes
}

fn create(nsems: i32) -> Op {
    Op::Get {
        who: ROOT,
        key: abi::IPC_PRIVATE,
        nsems: Nsems::Lit(nsems),
        mode: 0o600,
        creat: true,
        excl: false,
    }
}

fn semop1(who: usize, num: SemNum, op: i16, undo: bool) -> Op {
    Op::Semop {
        who,
        thread: 0,
        id: IdRef::Live(0),
        sops: vec![SopGen {
            num,
            op: SemOp::Lit(op),
            undo,
        }],
        timeout: None,
    }
}

fn stat_live() -> Op {
    Op::Stat {
        who: ROOT,
        id: IdRef::Live(0),
        cmd: SemCtlCmd::Stat,
    }
}

/// `linux-ipc.md` §3.7, verified on Linux 6.18: with `SEM_UNDO` increments alone the value
/// hits `SEMVMX` first; adj -32768 is reachable through a non-undo decrement, and one more
/// undo increment is `ERANGE` for the adjustment.
#[test]
fn reference_model_semadj_boundaries_observed_on_linux() {
    let num = SemNum::In(0);
    let out = replay(&[
        create(1),
        semop1(ROOT, num, 32767, true),
        semop1(ROOT, num, 1, true),
        semop1(ROOT, num, -1, false),
        semop1(ROOT, num, 1, true),
        semop1(ROOT, num, -1, false),
        semop1(ROOT, num, 1, true),
    ]);
    let units: Vec<Outcome> = out[1..].to_vec();
    let ok = Outcome::Unit(Ok(()));
    let erange = Outcome::Unit(Err(Errno::ERANGE));
    assert_eq!(
        units,
        [
            ok.clone(),
            erange.clone(),
            ok.clone(),
            ok.clone(),
            ok,
            erange
        ]
    );
}

/// Verified on Linux 6.18 (a forked child's `SEM_UNDO` semop failing with `EFBIG`, `EACCES`
/// or `EAGAIN`, then `_exit`): the failed call still allocated the undo entry, so the exit
/// sets `sem_otime` (of semaphore 0) though no value or pid changes.
#[test]
fn reference_model_failed_undo_semop_still_sets_otime_at_exit() {
    let out = replay(&[
        create(2),
        Op::Advance(5_000),
        semop1(3, SemNum::In(1), 1, true), // bob: EACCES on a 0600 set of root's
        stat_live(),
        Op::Exit(3),
        stat_live(),
        Op::GetAll {
            who: ROOT,
            id: IdRef::Live(0),
        },
    ]);
    assert_eq!(out[2], Outcome::Unit(Err(Errno::EACCES)));
    assert!(matches!(&out[3], Outcome::Stat(Ok((0, ds))) if ds.sem_otime == 0));
    assert!(matches!(&out[5], Outcome::Stat(Ok((0, ds))) if ds.sem_otime == START + 5));
    assert_eq!(out[6], Outcome::All(Ok(vec![0, 0])));
}
