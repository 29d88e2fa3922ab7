//! One semaphore set: its values, its sleepers in Linux's queues, and every operation on it.
//!
//! Mirrors `do_semtimedop()`, `perform_atomic_semop()`, `do_smart_update()`,
//! `update_queue()`, `wake_const_ops()`, `count_semcnt()`, `semctl_setval()`,
//! `semctl_main()`, `freeary()` and `exit_sem()` of Linux `ipc/sem.c`.
//!
//! # Queues
//!
//! Sleepers are queued where Linux queues them, because the order decides who is served:
//! a single-operation wait-for-zero on its semaphore's `pending_const`; a single-operation
//! alteration on its semaphore's `pending_alter`, or on the set's `pending_alter` while complex
//! (multi-operation) sleepers exist; a complex sleeper on the set's `pending_alter` or
//! `pending_const`, after the per-semaphore alter queues have been merged onto the front of the
//! set's (semaphore 0 first, so the highest-numbered semaphore's group ends up first). When the
//! last complex sleeper leaves, the set's alter queue is split back, in order
//! (`unmerge_queues`, at the end of the critical section).
//!
//! The task that changes a value performs the sleepers' operations for them: wait-for-zero
//! sleepers first, then alterations in queue order, where an operation that can complete does
//! so even if an earlier one stays blocked.
//!
//! # Locking
//!
//! Lock order: `Registry::table` → `SemSet::state` → a wait entry's slot. Nothing under
//! `state` blocks, reads the clock or takes an undo list's lock.
//!
//! # Invariants (whenever `state` is unlocked)
//!
//! - every value is in `0..=SEMVMX`, every adjustment in `-SEMAEM-1..=SEMAEM`;
//! - `queued` is the number of queued sleepers;
//! - `complex_count` is the number of queued sleepers with more than one operation, and when it
//!   is 0 the set's `pending_alter` is empty;
//! - every queued sleeper would still block: its `blocking` operation names the first one that
//!   cannot proceed, and its slot is empty;
//! - a removed set has no sleepers and no adjustments.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::Errno;
use crate::abi::{self, Sembuf};
use crate::cred::{Caller, Credentials};
use crate::ipc::{Access, Id, IpcObject, Perm};
use crate::ns::Shared;
use crate::wait::{WaitEntry, WakeList, Wakeup};

use super::SemTimeoutError;

/// A System V semaphore set, as `semget(2)` creates it.
pub struct SemSet {
    ns: Arc<Shared>,
    id: Id,
    nsems: usize,
    /// Lock 2 of 2 (after the registry's table).
    state: Mutex<SetState>,
}

struct Sem {
    val: i32,
    pid: i32,
    otime: i64,
    pending_alter: VecDeque<Queued>,
    pending_const: VecDeque<Queued>,
}

struct SetState {
    perm: Perm,
    removed: bool,
    ctime: i64,
    sems: Vec<Sem>,
    pending_alter: VecDeque<Queued>,
    pending_const: VecDeque<Queued>,
    complex_count: usize,
    /// How many sleepers are queued, in any list (so a change with none skips the scans).
    queued: usize,
    /// `semadj` of each undo list that has touched this set, by list key.
    undos: HashMap<u64, Vec<i16>>,
}

/// A sleeper's operations.
struct Request {
    sops: Vec<Sembuf>,
    undo: Option<u64>,
    pid: i32,
}

/// A queued sleeper and the operation it is blocked on (for `GETNCNT`/`GETZCNT`).
struct Queued {
    entry: Arc<Sleeper>,
    blocking: usize,
}

type Sleeper = WaitEntry<Request, Result<(), Errno>>;

/// The result of trying a whole operation array (`perform_atomic_semop`).
enum Attempt {
    /// Applied.
    Done,
    /// Operation `i` cannot proceed and has no `IPC_NOWAIT`.
    Block(usize),
    /// `ERANGE`, or `EAGAIN` from a blocking operation with `IPC_NOWAIT`.
    Fail(Errno),
}

/// The count `GETNCNT` or `GETZCNT` asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Sleepers blocked on a decrement of the semaphore.
    ForIncrease,
    /// Sleepers blocked on waiting for the semaphore to be zero.
    ForZero,
}

impl SemSet {
    pub(crate) fn new(ns: Arc<Shared>, id: Id, perm: Perm, nsems: usize, now: i64) -> Self {
        let sems = (0..nsems)
            .map(|_| Sem {
                val: 0,
                pid: 0,
                otime: 0,
                pending_alter: VecDeque::new(),
                pending_const: VecDeque::new(),
            })
            .collect();
        Self {
            ns,
            id,
            nsems,
            state: Mutex::new(SetState {
                perm,
                removed: false,
                ctime: now,
                sems,
                pending_alter: VecDeque::new(),
                pending_const: VecDeque::new(),
                complex_count: 0,
                queued: 0,
                undos: HashMap::new(),
            }),
        }
    }

    /// The set's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// How many semaphores the set has.
    pub fn nsems(&self) -> usize {
        self.nsems
    }

    /// `semop(2)`/`semtimedop(2)` on this set (`do_semtimedop`): applies all of `sops`
    /// atomically, or sleeps until it can, the deadline passes (`EAGAIN`), the caller is
    /// interrupted (`EINTR`) or the set is removed (`EIDRM`).
    ///
    /// Checks in Linux's order: `EFBIG` for a `sem_num` beyond the set, `EACCES` (write
    /// permission if any operation alters, else read), `EIDRM`, then the operations in array
    /// order, all or none: the first that fails decides, `ERANGE` for a value above
    /// `SEMVMX` or an adjustment out of range, `EAGAIN` if the one that would block has
    /// `IPC_NOWAIT`.
    pub fn semop(
        self: &Arc<Self>,
        caller: &Caller,
        sops: &[Sembuf],
        deadline: Option<Duration>,
    ) -> Result<(), Errno> {
        self.semop_timed(caller, sops, deadline)
            .map_err(Errno::from)
    }

    /// [`semop`](Self::semop), with the expiry of the deadline told apart from the `EAGAIN`
    /// of an `IPC_NOWAIT` operation.
    pub(crate) fn semop_timed(
        self: &Arc<Self>,
        caller: &Caller,
        sops: &[Sembuf],
        deadline: Option<Duration>,
    ) -> Result<(), SemTimeoutError> {
        let undo = sops.iter().any(|s| s.sem_flg as i32 & abi::SEM_UNDO != 0);
        let undo = undo.then(|| {
            caller.undo.register(self);
            caller.undo.key()
        });
        let alter = sops.iter().any(|s| s.sem_op != 0);
        let now = self.ns.clock.realtime();
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        if let Some(key) = undo {
            if !st.removed {
                st.undos.entry(key).or_insert_with(|| vec![0; self.nsems]);
            }
        }
        if sops.iter().any(|s| usize::from(s.sem_num) >= self.nsems) {
            return Err(Errno::EFBIG.into());
        }
        st.perm.check(
            &caller.cred,
            if alter { Access::WRITE } else { Access::READ },
        )?;
        if st.removed {
            return Err(Errno::EIDRM.into());
        }
        let blocking = match st.attempt(sops, undo, caller.pid) {
            Attempt::Done => {
                if alter {
                    st.smart_update(Some(sops), true, now, &mut wake);
                } else {
                    st.set_otime(Some(sops), now);
                }
                st.end_critical_section();
                drop(st);
                wake.wake_all();
                return Ok(());
            }
            Attempt::Fail(e) => return Err(e.into()),
            Attempt::Block(i) => i,
        };
        let request = Request {
            sops: sops.to_vec(),
            undo,
            pid: caller.pid,
        };
        let entry = WaitEntry::new(request, Arc::clone(&caller.blocker));
        st.enqueue(Arc::clone(&entry), blocking, alter);
        drop(st);
        let (outcome, why) = entry.sleep(deadline, || {
            let mut st = self.state.lock();
            entry.take().or_else(|| {
                st.unlink(&entry);
                st.end_critical_section();
                None
            })
        });
        // A completed operation (or its error, or removal) wins over a timeout or a signal,
        // and an expired timeout over a signal (`if (timeout && jiffies_left == 0)` in
        // `do_semtimedop`, checked whatever woke the sleeper).
        let expired = || deadline.is_some_and(|d| self.ns.clock.monotonic() >= d);
        match (outcome, why) {
            (Some(result), _) => result.map_err(SemTimeoutError::Failed),
            (None, Wakeup::TimedOut) => Err(SemTimeoutError::Timeout),
            (None, _) if expired() => Err(SemTimeoutError::Timeout),
            (None, _) => Err(Errno::EINTR.into()),
        }
    }

    /// `GETVAL`: read permission, then the semaphore number (`EINVAL`).
    pub fn get_value(&self, cred: &Credentials, semnum: i32) -> Result<i32, Errno> {
        self.read_sem(cred, semnum, |_, s| s.val)
    }

    /// `GETPID`: the process that last changed the semaphore (0 if none).
    pub fn get_pid(&self, cred: &Credentials, semnum: i32) -> Result<i32, Errno> {
        self.read_sem(cred, semnum, |_, s| s.pid)
    }

    /// `GETNCNT` / `GETZCNT` (`count_semcnt`): sleepers whose blocking operation is a decrement
    /// of, or a wait for zero on, this semaphore.
    pub(crate) fn count_waiting(
        &self,
        cred: &Credentials,
        semnum: i32,
        what: Waiting,
    ) -> Result<i32, Errno> {
        self.read_sem(cred, semnum, |st, _| {
            st.count_waiting(semnum as usize, what)
        })
    }

    fn read_sem(
        &self,
        cred: &Credentials,
        semnum: i32,
        f: impl FnOnce(&SetState, &Sem) -> i32,
    ) -> Result<i32, Errno> {
        let st = self.state.lock();
        st.perm.check(cred, Access::READ)?;
        if st.removed {
            return Err(Errno::EIDRM);
        }
        let sem = usize::try_from(semnum)
            .ok()
            .and_then(|n| st.sems.get(n))
            .ok_or(Errno::EINVAL)?;
        Ok(f(&st, sem))
    }

    /// `GETALL`: every value; read permission.
    pub fn get_all(&self, cred: &Credentials) -> Result<Vec<u16>, Errno> {
        let st = self.state.lock();
        st.perm.check(cred, Access::READ)?;
        if st.removed {
            return Err(Errno::EIDRM);
        }
        Ok(st.sems.iter().map(|s| s.val as u16).collect())
    }

    /// `SETVAL` (`semctl_setval`): semaphore number (`EINVAL`), then write permission; sets the
    /// value and `sempid`, zeroes every process's adjustment of it, sets `sem_ctime`, and
    /// serves the sleepers. The caller has range-checked `value`.
    pub fn set_value(&self, caller: &Caller, semnum: i32, value: i32) -> Result<(), Errno> {
        let now = self.ns.clock.realtime();
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        let n = usize::try_from(semnum)
            .ok()
            .filter(|n| *n < self.nsems)
            .ok_or(Errno::EINVAL)?;
        st.perm.check(&caller.cred, Access::WRITE)?;
        if st.removed {
            return Err(Errno::EIDRM);
        }
        for adj in st.undos.values_mut() {
            adj[n] = 0;
        }
        st.sems[n].val = value;
        st.sems[n].pid = caller.pid;
        st.ctime = now;
        st.smart_update(None, false, now, &mut wake);
        st.end_critical_section();
        drop(st);
        wake.wake_all();
        Ok(())
    }

    /// `SETALL`: write permission (`EACCES`), then `values` reads the caller's array of
    /// `nsems` values (outside the lock: `EFAULT`), then `ERANGE` for any value above
    /// `SEMVMX`; sets every value and `sempid`, zeroes every adjustment, sets `sem_ctime`,
    /// and serves the sleepers.
    pub fn set_all(
        &self,
        caller: &Caller,
        values: impl FnOnce(usize) -> Result<Vec<u16>, Errno>,
    ) -> Result<(), Errno> {
        {
            let st = self.state.lock();
            st.perm.check(&caller.cred, Access::WRITE)?;
            if st.removed {
                return Err(Errno::EIDRM);
            }
        }
        let values = values(self.nsems)?;
        if values.len() != self.nsems {
            return Err(Errno::EINVAL);
        }
        if values.iter().any(|v| i32::from(*v) > abi::SEMVMX) {
            return Err(Errno::ERANGE);
        }
        let now = self.ns.clock.realtime();
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        if st.removed {
            return Err(Errno::EIDRM);
        }
        for adj in st.undos.values_mut() {
            adj.fill(0);
        }
        for (sem, v) in st.sems.iter_mut().zip(values) {
            sem.val = i32::from(v);
            sem.pid = caller.pid;
        }
        st.ctime = now;
        st.smart_update(None, false, now, &mut wake);
        st.end_critical_section();
        drop(st);
        wake.wake_all();
        Ok(())
    }

    /// `IPC_STAT`: the set's `semid64_ds` (`sem_otime` is the latest over its semaphores);
    /// read permission.
    pub fn stat(&self, cred: &Credentials) -> Result<abi::Semid64Ds, Errno> {
        self.stat_as(Some(cred))
    }

    /// `SEM_STAT_ANY`: as [`stat`](Self::stat) without the permission check.
    pub fn stat_any(&self) -> Result<abi::Semid64Ds, Errno> {
        self.stat_as(None)
    }

    /// `IPC_SET`: owner, creator or `CAP_SYS_ADMIN` (`EPERM`), then the uid/gid (`EINVAL`);
    /// new owner and mode bits, `sem_ctime` now.
    pub fn set(&self, cred: &Credentials, perm: &abi::Ipc64Perm) -> Result<(), Errno> {
        let now = self.ns.clock.realtime();
        let mut st = self.state.lock();
        if st.removed {
            return Err(Errno::EIDRM);
        }
        st.perm.check_owner(cred)?;
        st.perm.update(perm)?;
        st.ctime = now;
        Ok(())
    }

    /// The `semget` check on an existing set: `EINVAL` if it has fewer semaphores than asked,
    /// then `ipcperms` with the requested mode bits.
    pub(crate) fn check_get(
        &self,
        cred: &Credentials,
        nsems: usize,
        flags: i32,
    ) -> Result<(), Errno> {
        if nsems > self.nsems {
            return Err(Errno::EINVAL);
        }
        self.state
            .lock()
            .perm
            .check(cred, Access::requested_by(flags))
    }

    /// The `IPC_RMID` step under the registry's write lock (`freeary`): ownership, then every
    /// sleeper fails with `EIDRM` and every adjustment is discarded.
    pub(crate) fn remove_locked(&self, cred: &Credentials) -> Result<WakeList, Errno> {
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        st.perm.check_owner(cred)?;
        st.removed = true;
        st.undos.clear();
        let SetState {
            sems,
            pending_alter,
            pending_const,
            ..
        } = &mut *st;
        let per_sem = sems
            .iter_mut()
            .flat_map(|s| s.pending_alter.drain(..).chain(s.pending_const.drain(..)));
        for q in per_sem
            .chain(pending_alter.drain(..))
            .chain(pending_const.drain(..))
        {
            q.entry.complete(Err(Errno::EIDRM), &mut wake);
        }
        st.complex_count = 0;
        st.queued = 0;
        Ok(wake)
    }

    /// `exit_sem()` for one set: applies and forgets the adjustments of undo list `key`, each
    /// value clamped to `0..=SEMVMX`, `sempid` set for those that had an adjustment; then the
    /// sleepers are served and `sem_otime` set.
    pub(crate) fn apply_undo(&self, key: u64, pid: i32) {
        let now = self.ns.clock.realtime();
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        if st.removed {
            return;
        }
        let Some(adj) = st.undos.remove(&key) else {
            return;
        };
        for (sem, a) in st.sems.iter_mut().zip(adj) {
            if a != 0 {
                sem.val = (sem.val + i32::from(a)).clamp(0, abi::SEMVMX);
                sem.pid = pid;
            }
        }
        st.smart_update(None, true, now, &mut wake);
        st.end_critical_section();
        drop(st);
        wake.wake_all();
    }
}

impl IpcObject for SemSet {
    type Stat = abi::Semid64Ds;

    fn id(&self) -> Id {
        self.id
    }

    fn stat_as(&self, cred: Option<&Credentials>) -> Result<abi::Semid64Ds, Errno> {
        let st = self.state.lock();
        if let Some(cred) = cred {
            st.perm.check(cred, Access::READ)?;
        }
        if st.removed {
            return Err(Errno::EIDRM);
        }
        Ok(abi::Semid64Ds {
            sem_perm: st.perm.to_abi(self.id),
            sem_otime: st.sems.iter().map(|s| s.otime).max().unwrap_or(0),
            sem_ctime: st.ctime,
            sem_nsems: self.nsems as u64,
            ..abi::Semid64Ds::default()
        })
    }
}

impl SetState {
    /// `perform_atomic_semop_slow()`: the operations in array order, each applied in place as
    /// it passes (so an array that names a semaphore twice sees its own earlier operations);
    /// at the first that cannot proceed, those applied are reverted, last first, and its
    /// verdict returned. On success `sempid` is set for each operation's semaphore.
    fn attempt(&mut self, sops: &[Sembuf], undo: Option<u64>, pid: i32) -> Attempt {
        let Self { sems, undos, .. } = self;
        let mut adjs = undo.and_then(|k| undos.get_mut(&k));
        for (i, sop) in sops.iter().enumerate() {
            let n = usize::from(sop.sem_num);
            let adj = adjs.as_deref().map_or(0, |a| i32::from(a[n]));
            match step(sems[n].val, adj, sop, i) {
                Ok((val, adj)) => {
                    sems[n].val = val;
                    if let Some(a) = adjs.as_deref_mut() {
                        // In range: `step` checked it against SEMAEM.
                        a[n] = adj as i16;
                    }
                }
                Err(verdict) => {
                    for sop in sops[..i].iter().rev() {
                        let n = usize::from(sop.sem_num);
                        let op = i32::from(sop.sem_op);
                        sems[n].val -= op;
                        if sop.sem_flg as i32 & abi::SEM_UNDO != 0 {
                            if let Some(a) = adjs.as_deref_mut() {
                                a[n] = (i32::from(a[n]) + op) as i16;
                            }
                        }
                    }
                    return verdict;
                }
            }
        }
        for sop in sops {
            sems[usize::from(sop.sem_num)].pid = pid;
        }
        Attempt::Done
    }

    /// `set_semotime()`: the first operation's semaphore, or semaphore 0 when the change came
    /// from `semctl` or an exit.
    #[inline]
    fn set_otime(&mut self, sops: Option<&[Sembuf]>, now: i64) {
        let n = sops
            .and_then(|s| s.first())
            .map_or(0, |s| usize::from(s.sem_num));
        if let Some(sem) = self.sems.get_mut(n) {
            sem.otime = now;
        }
    }

    /// `do_smart_update()`: serve the sleepers after the values changed (`sops` says which
    /// changed; `None` means any may have).
    #[inline]
    fn smart_update(
        &mut self,
        sops: Option<&[Sembuf]>,
        mut otime: bool,
        now: i64,
        wake: &mut WakeList,
    ) {
        if self.queued == 0 {
            if otime {
                self.set_otime(sops, now);
            }
            return;
        }
        otime |= self.wake_zero_waiters(sops, wake);
        if !self.pending_alter.is_empty() {
            otime |= self.update_queue(None, wake);
        } else if let Some(sops) = sops {
            // Only increments can let a sleeping decrement proceed.
            for sop in sops.iter().filter(|s| s.sem_op > 0) {
                otime |= self.update_queue(Some(usize::from(sop.sem_num)), wake);
            }
        } else {
            for n in 0..self.sems.len() {
                otime |= self.update_queue(Some(n), wake);
            }
        }
        if otime {
            self.set_otime(sops, now);
        }
    }

    /// `do_smart_wakeup_zero()`: wait-for-zero sleepers of the semaphores that are 0 now, then
    /// the complex ones if any semaphore is.
    fn wake_zero_waiters(&mut self, sops: Option<&[Sembuf]>, wake: &mut WakeList) -> bool {
        let mut completed = false;
        let mut got_zero = false;
        let count = sops.map_or(self.sems.len(), <[Sembuf]>::len);
        for i in 0..count {
            let n = sops.map_or(i, |s| usize::from(s[i].sem_num));
            if self.sems[n].val == 0 {
                got_zero = true;
                completed |= self.wake_const(Some(n), wake);
            }
        }
        if got_zero {
            completed |= self.wake_const(None, wake);
        }
        completed
    }

    fn list(&mut self, semnum: Option<usize>, alter: bool) -> &mut VecDeque<Queued> {
        match (semnum, alter) {
            (Some(n), true) => &mut self.sems[n].pending_alter,
            (Some(n), false) => &mut self.sems[n].pending_const,
            (None, true) => &mut self.pending_alter,
            (None, false) => &mut self.pending_const,
        }
    }

    /// `wake_const_ops()`: every wait-for-zero sleeper of the queue that can complete does.
    fn wake_const(&mut self, semnum: Option<usize>, wake: &mut WakeList) -> bool {
        let mut completed = false;
        let mut i = 0;
        while let Some(q) = self.list(semnum, false).get(i) {
            let entry = Arc::clone(&q.entry);
            let r = &entry.data;
            match self.attempt(&r.sops, r.undo, r.pid) {
                Attempt::Block(b) => {
                    self.list(semnum, false)[i].blocking = b;
                    i += 1;
                }
                done => {
                    self.unlink_at(semnum, false, i);
                    completed |= matches!(done, Attempt::Done);
                    entry.complete(done.into_result(), wake);
                }
            }
        }
        completed
    }

    /// `update_queue()`: every altering sleeper of the queue that can complete does, in queue
    /// order; after a completion that may enable earlier sleepers the scan restarts.
    fn update_queue(&mut self, semnum: Option<usize>, wake: &mut WakeList) -> bool {
        let mut completed = false;
        let mut i = 0;
        loop {
            // A decrement on a semaphore that is 0 cannot proceed, nor can later ones.
            if semnum.is_some_and(|n| self.sems[n].val == 0) {
                break;
            }
            let Some(q) = self.list(semnum, true).get(i) else {
                break;
            };
            let entry = Arc::clone(&q.entry);
            let r = &entry.data;
            match self.attempt(&r.sops, r.undo, r.pid) {
                Attempt::Block(b) => {
                    self.list(semnum, true)[i].blocking = b;
                    i += 1;
                }
                Attempt::Fail(e) => {
                    self.unlink_at(semnum, true, i);
                    entry.complete(Err(e), wake);
                }
                Attempt::Done => {
                    self.unlink_at(semnum, true, i);
                    completed = true;
                    self.wake_zero_waiters(Some(&r.sops), wake);
                    // check_restart(): complex sleepers are too hard to analyse.
                    let restart = !self.pending_alter.is_empty() || r.sops.len() > 1;
                    entry.complete(Ok(()), wake);
                    if restart {
                        i = 0;
                    }
                }
            }
        }
        completed
    }

    fn unlink_at(&mut self, semnum: Option<usize>, alter: bool, i: usize) {
        if let Some(q) = self.list(semnum, alter).remove(i) {
            self.queued -= 1;
            if q.entry.data.sops.len() > 1 {
                self.complex_count -= 1;
            }
        }
    }

    /// Unlinks a sleeper that gave up (timeout or interruption), wherever it is queued.
    fn unlink(&mut self, entry: &Arc<Sleeper>) {
        let nums: Vec<usize> = entry
            .data
            .sops
            .iter()
            .map(|s| usize::from(s.sem_num))
            .collect();
        let places = nums
            .iter()
            .flat_map(|&n| [(Some(n), true), (Some(n), false)])
            .chain([(None, true), (None, false)]);
        for (semnum, alter) in places {
            if let Some(i) = self
                .list(semnum, alter)
                .iter()
                .position(|q| Arc::ptr_eq(&q.entry, entry))
            {
                self.unlink_at(semnum, alter, i);
                return;
            }
        }
    }

    /// Queues a sleeper where `do_semtimedop` queues it.
    fn enqueue(&mut self, entry: Arc<Sleeper>, blocking: usize, alter: bool) {
        self.queued += 1;
        let q = Queued { entry, blocking };
        let sops = &q.entry.data.sops;
        if let [sop] = sops[..] {
            let n = usize::from(sop.sem_num);
            match (alter, self.complex_count > 0) {
                (true, true) => self.pending_alter.push_back(q),
                (true, false) => self.sems[n].pending_alter.push_back(q),
                (false, _) => self.sems[n].pending_const.push_back(q),
            }
            return;
        }
        if self.complex_count == 0 {
            // merge_queues(): each semaphore's queue goes onto the front of the set's.
            for n in 0..self.sems.len() {
                let mut merged = std::mem::take(&mut self.sems[n].pending_alter);
                merged.append(&mut self.pending_alter);
                self.pending_alter = merged;
            }
        }
        if alter {
            self.pending_alter.push_back(q);
        } else {
            self.pending_const.push_back(q);
        }
        self.complex_count += 1;
    }

    /// What `sem_unlock()` does with the global lock: once no complex sleeper is left, the
    /// set's alter queue goes back to the per-semaphore queues, in order (`unmerge_queues`).
    #[inline]
    fn end_critical_section(&mut self) {
        if self.complex_count > 0 || self.pending_alter.is_empty() {
            return;
        }
        for q in std::mem::take(&mut self.pending_alter) {
            let n = usize::from(q.entry.data.sops[0].sem_num);
            self.sems[n].pending_alter.push_back(q);
        }
    }

    /// `count_semcnt()`: single-operation sleepers of the semaphore's own queue, plus complex
    /// sleepers whose blocking operation is on it and of the asked kind.
    fn count_waiting(&self, n: usize, what: Waiting) -> i32 {
        let sem = &self.sems[n];
        let own = match what {
            Waiting::ForIncrease => sem.pending_alter.len(),
            Waiting::ForZero => sem.pending_const.len(),
        };
        let blocked_here = |q: &&Queued| {
            let sop = q.entry.data.sops[q.blocking];
            usize::from(sop.sem_num) == n
                && match what {
                    Waiting::ForIncrease => sop.sem_op < 0,
                    Waiting::ForZero => sop.sem_op == 0,
                }
        };
        let mut count = own + self.pending_alter.iter().filter(blocked_here).count();
        if what == Waiting::ForZero {
            count += self.pending_const.iter().filter(blocked_here).count();
        }
        i32::try_from(count).unwrap_or(i32::MAX)
    }
}

/// Operation `sop` (the `index`th of its array) on a semaphore at `val` whose caller's
/// adjustment is `adj`: the new value and adjustment, or the verdict of the whole attempt
/// (`perform_atomic_semop`'s checks, in its order).
fn step(val: i32, adj: i32, sop: &Sembuf, index: usize) -> Result<(i32, i32), Attempt> {
    let op = i32::from(sop.sem_op);
    if (op == 0 && val != 0) || val + op < 0 {
        return Err(if sop.sem_flg as i32 & abi::IPC_NOWAIT != 0 {
            Attempt::Fail(Errno::EAGAIN)
        } else {
            Attempt::Block(index)
        });
    }
    if val + op > abi::SEMVMX {
        return Err(Attempt::Fail(Errno::ERANGE));
    }
    let mut new_adj = adj;
    if sop.sem_flg as i32 & abi::SEM_UNDO != 0 {
        new_adj = adj - op;
        if !(-abi::SEMAEM - 1..=abi::SEMAEM).contains(&new_adj) {
            return Err(Attempt::Fail(Errno::ERANGE));
        }
    }
    Ok((val + op, new_adj))
}

impl Attempt {
    fn into_result(self) -> Result<(), Errno> {
        match self {
            Attempt::Done => Ok(()),
            Attempt::Fail(e) => Err(e),
            Attempt::Block(_) => Err(Errno::EAGAIN),
        }
    }
}
