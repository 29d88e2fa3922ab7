//! System V semaphore sets: `semget(2)`, `semop(2)`, `semtimedop(2)`, `semctl(2)`.
//! Mirrors Linux `ipc/sem.c`.
//!
//! As for message queues, two levels: [`SemSets`] (the namespace's registry) and [`SemSet`]
//! (a handle on one set), and the syscall-shaped methods of [`IpcNamespace`].

mod set;
mod undo;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub use set::SemSet;
pub use undo::SemUndo;

use crate::Errno;
use crate::abi::{self, Sembuf};
use crate::cred::{Caller, Credentials};
use crate::ipc::{Id, Key, Perm, Registry};
use crate::ns::{IpcNamespace, Limits, Shared};
use set::Waiting;

/// The `semctl` commands, decoded once at the edge (unknown values and `IPC_64` are `EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SemCtlCmd {
    /// `IPC_STAT`.
    Stat,
    /// `IPC_SET`.
    Set,
    /// `IPC_RMID`.
    Rmid,
    /// `IPC_INFO`.
    IpcInfo,
    /// `SEM_INFO`.
    SemInfo,
    /// `SEM_STAT`: by index, read permission needed.
    SemStat,
    /// `SEM_STAT_ANY`: by index, no permission check.
    SemStatAny,
    /// `GETVAL`.
    GetVal,
    /// `GETPID`.
    GetPid,
    /// `GETNCNT`.
    GetNcnt,
    /// `GETZCNT`.
    GetZcnt,
    /// `GETALL`.
    GetAll,
    /// `SETVAL`.
    SetVal,
    /// `SETALL`.
    SetAll,
}

impl TryFrom<i32> for SemCtlCmd {
    type Error = Errno;

    fn try_from(cmd: i32) -> Result<Self, Errno> {
        Ok(match cmd {
            abi::IPC_STAT => Self::Stat,
            abi::IPC_SET => Self::Set,
            abi::IPC_RMID => Self::Rmid,
            abi::IPC_INFO => Self::IpcInfo,
            abi::SEM_INFO => Self::SemInfo,
            abi::SEM_STAT => Self::SemStat,
            abi::SEM_STAT_ANY => Self::SemStatAny,
            abi::GETVAL => Self::GetVal,
            abi::GETPID => Self::GetPid,
            abi::GETNCNT => Self::GetNcnt,
            abi::GETZCNT => Self::GetZcnt,
            abi::GETALL => Self::GetAll,
            abi::SETVAL => Self::SetVal,
            abi::SETALL => Self::SetAll,
            _ => return Err(Errno::EINVAL),
        })
    }
}

bitflags::bitflags! {
    /// The flags of one semaphore operation (`sem_flg` of a `struct sembuf`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct SemFlags: i16 {
        /// Fail with `EAGAIN` instead of waiting.
        const NOWAIT = abi::IPC_NOWAIT as i16;
        /// Record the inverse in the caller's undo list, applied when its process exits.
        const UNDO = abi::SEM_UNDO as i16;
    }
}

/// Why a timed semaphore operation failed: the deadline, told apart from every other failure
/// (`semtimedop` reports both as `EAGAIN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SemTimeoutError {
    /// The deadline passed before the operations could be applied (`EAGAIN` for
    /// `semtimedop`).
    #[error("timed out")]
    Timeout,
    /// Any other failure, with Linux's errno (`EINTR` for an interruption, `EIDRM` for a
    /// removal, `EAGAIN` for an `IPC_NOWAIT` operation that would block, …).
    #[error(transparent)]
    Failed(Errno),
}

impl From<Errno> for SemTimeoutError {
    fn from(e: Errno) -> Self {
        Self::Failed(e)
    }
}

impl From<SemTimeoutError> for Errno {
    fn from(e: SemTimeoutError) -> Self {
        match e {
            SemTimeoutError::Timeout => Errno::EAGAIN,
            SemTimeoutError::Failed(e) => e,
        }
    }
}

/// The operation count checks of `do_semtimedop`: `E2BIG` above `semopm` (compared unsigned,
/// so a negative `semopm` means no limit), then `EINVAL` for none.
pub(crate) fn check_nsops(limits: &Limits, nsops: usize) -> Result<(), Errno> {
    if nsops as u64 > u64::from(limits.semopm() as u32) {
        return Err(Errno::E2BIG);
    }
    if nsops == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// A `semtimedop` timeout as the caller passed it (`struct timespec`, relative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000` to be valid.
    pub nsec: i64,
}

impl Timespec {
    /// The duration, or `EINVAL` for a negative or denormal timespec (`timespec64_valid`).
    pub fn to_duration(self) -> Result<Duration, Errno> {
        if self.sec < 0 || !(0..1_000_000_000).contains(&self.nsec) {
            return Err(Errno::EINVAL);
        }
        Ok(Duration::new(self.sec as u64, self.nsec as u32))
    }
}

/// The semaphore sets of one namespace (`sem_ids(ns)`), with the namespace's total of
/// semaphores (`used_sems`).
pub struct SemSets {
    ns: Arc<Shared>,
    ids: Registry<SemSet>,
    /// Changed only under the registry's write lock (creation and removal).
    used_sems: AtomicI64,
}

impl SemSets {
    pub(crate) fn new(ns: Arc<Shared>) -> Self {
        Self {
            ns,
            ids: Registry::default(),
            used_sems: AtomicI64::new(0),
        }
    }

    /// `semget(2)` (`ksys_semget`, `newary`): `EINVAL` for `nsems` outside `0..=semmsl` before
    /// the lookup; an existing set: `EEXIST`, `EINVAL` if it has fewer than `nsems`, `EACCES`;
    /// a new one: `EINVAL` for `nsems == 0`, `ENOSPC` past `semmns` semaphores, then past
    /// `semmni` sets.
    pub fn find_or_create(
        &self,
        caller: &Caller,
        key: Key,
        nsems: i32,
        flags: i32,
    ) -> Result<Id, Errno> {
        let limits = &self.ns.limits;
        if nsems < 0 || nsems > limits.semmsl() {
            return Err(Errno::EINVAL);
        }
        let nsems = nsems as usize;
        self.ids.get_or_create(
            key,
            flags,
            limits.semmni(),
            |s| s.check_get(&caller.cred, nsems, flags),
            || {
                if nsems == 0 {
                    return Err(Errno::EINVAL);
                }
                let used = self.used_sems.load(Ordering::Relaxed);
                if used + nsems as i64 > i64::from(limits.semmns()) {
                    return Err(Errno::ENOSPC);
                }
                let perm = Perm::new(key, &caller.cred, flags);
                let now = self.ns.clock.realtime();
                let ns = Arc::clone(&self.ns);
                let used_sems = &self.used_sems;
                Ok(move |id| {
                    used_sems.fetch_add(nsems as i64, Ordering::Relaxed);
                    SemSet::new(ns, id, perm, nsems, now)
                })
            },
        )
    }

    /// The set named by `id` (`EINVAL` if none).
    pub fn find_by_id(&self, id: Id) -> Result<Arc<SemSet>, Errno> {
        self.ids.get(id)
    }

    /// `semctl(IPC_RMID)`: ownership (`EPERM`); every sleeper fails with `EIDRM`, every
    /// adjustment is dropped, and the id names nothing afterwards.
    pub fn remove(&self, cred: &Credentials, id: Id) -> Result<(), Errno> {
        let wake = self.ids.remove(id, |s| {
            let wake = s.remove_locked(cred)?;
            self.used_sems
                .fetch_sub(s.nsems() as i64, Ordering::Relaxed);
            Ok(wake)
        })?;
        wake.wake_all();
        Ok(())
    }

    /// `semctl(IPC_INFO)` or, with `usage`, `SEM_INFO` (`semusz` = sets, `semaem` =
    /// semaphores): the highest used index and the `seminfo`.
    pub fn info(&self, usage: bool) -> (i32, abi::Seminfo) {
        let l = &self.ns.limits;
        let (semusz, semaem) = if usage {
            let used = self.used_sems.load(Ordering::Relaxed);
            (
                i32::try_from(self.ids.len()).unwrap_or(i32::MAX),
                i32::try_from(used).unwrap_or(i32::MAX),
            )
        } else {
            (abi::SEMUSZ, abi::SEMAEM)
        };
        let info = abi::Seminfo {
            semmap: abi::SEMMAP,
            semmni: l.semmni(),
            semmns: l.semmns(),
            semmnu: abi::SEMMNU,
            semmsl: l.semmsl(),
            semopm: l.semopm(),
            semume: abi::SEMUME,
            semusz,
            semvmx: abi::SEMVMX,
            semaem,
        };
        (self.ids.max_index(), info)
    }

    /// `semctl(SEM_STAT)` (read permission) or `SEM_STAT_ANY`: the set in slot `index`, with
    /// its full id.
    pub fn stat_index(
        &self,
        cred: &Credentials,
        index: i32,
        any: bool,
    ) -> Result<(Id, abi::Semid64Ds), Errno> {
        self.ids.stat_index(cred, index, any)
    }

    /// How many sets exist.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no set exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn next_id(&self) -> i32 {
        self.ids.next_id()
    }

    pub(crate) fn set_next_id(&self, id: i32) {
        self.ids.set_next_id(id);
    }
}

/// The syscall-shaped surface of semaphores.
impl IpcNamespace {
    /// `semget(2)`; see [`SemSets::find_or_create`].
    pub fn semget(&self, caller: &Caller, key: i32, nsems: i32, flags: i32) -> Result<i32, Errno> {
        self.sem()
            .find_or_create(caller, Key(key), nsems, flags)
            .map(Id::raw)
    }

    /// `semtimedop(2)` (`semop(2)` without a timeout), with the operations already copied in.
    ///
    /// `E2BIG` for more operations than `semopm` (compared unsigned, so a negative `semopm`
    /// means no limit), `EINVAL` for none, for a negative id and for an invalid timeout (even
    /// if the operation would not block), then the lookup (`EINVAL`), then as
    /// [`SemSet::semop`]. The deadline is fixed once, before the first attempt.
    pub fn semtimedop(
        &self,
        caller: &Caller,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<Timespec>,
    ) -> Result<(), Errno> {
        check_nsops(self.limits(), sops.len())?;
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let timeout = timeout.map(Timespec::to_duration).transpose()?;
        let deadline = timeout.map(|t| self.clock().monotonic().saturating_add(t));
        let set = self.sem().find_by_id(Id::from_raw(id))?;
        set.semop(caller, sops, deadline)
    }

    /// `semop(2)`: [`semtimedop`](Self::semtimedop) without a timeout.
    pub fn semop(&self, caller: &Caller, id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
        self.semtimedop(caller, id, sops, None)
    }

    /// `semctl(2)` with `GETVAL`, `GETPID`, `GETNCNT` or `GETZCNT`: the value asked for.
    /// Read permission (`EACCES`) is checked before the semaphore number (`EINVAL`).
    pub fn semctl_get(
        &self,
        caller: &Caller,
        id: i32,
        semnum: i32,
        cmd: SemCtlCmd,
    ) -> Result<i32, Errno> {
        let set = self.sem_by_id(id)?;
        match cmd {
            SemCtlCmd::GetVal => set.get_value(&caller.cred, semnum),
            SemCtlCmd::GetPid => set.get_pid(&caller.cred, semnum),
            SemCtlCmd::GetNcnt => set.count_waiting(&caller.cred, semnum, Waiting::ForIncrease),
            SemCtlCmd::GetZcnt => set.count_waiting(&caller.cred, semnum, Waiting::ForZero),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `semctl(SETVAL)`: `EINVAL` for a negative id (`ksys_semctl` checks it first), then
    /// `ERANGE` for a value outside `0..=SEMVMX` before the lookup (`semctl_setval`); then as
    /// [`SemSet::set_value`]. Linux takes the low 32 bits of the argument.
    pub fn semctl_setval(
        &self,
        caller: &Caller,
        id: i32,
        semnum: i32,
        value: i32,
    ) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        if !(0..=abi::SEMVMX).contains(&value) {
            return Err(Errno::ERANGE);
        }
        self.sem_by_id(id)?.set_value(caller, semnum, value)
    }

    /// `semctl(GETALL)`: every value (read permission).
    pub fn semctl_getall(&self, caller: &Caller, id: i32) -> Result<Vec<u16>, Errno> {
        self.sem_by_id(id)?.get_all(&caller.cred)
    }

    /// `semctl(SETALL)`; see [`SemSet::set_all`].
    pub fn semctl_setall(
        &self,
        caller: &Caller,
        id: i32,
        values: impl FnOnce(usize) -> Result<Vec<u16>, Errno>,
    ) -> Result<(), Errno> {
        self.sem_by_id(id)?.set_all(caller, values)
    }

    /// `semctl(2)` with `IPC_STAT` (returns 0), `SEM_STAT` or `SEM_STAT_ANY` (take an index,
    /// return the full id).
    pub fn semctl_stat(
        &self,
        caller: &Caller,
        id: i32,
        cmd: SemCtlCmd,
    ) -> Result<(i32, abi::Semid64Ds), Errno> {
        match cmd {
            SemCtlCmd::Stat => Ok((0, self.sem_by_id(id)?.stat(&caller.cred)?)),
            SemCtlCmd::SemStat | SemCtlCmd::SemStatAny if id >= 0 => {
                let any = cmd == SemCtlCmd::SemStatAny;
                let (id, ds) = self.sem().stat_index(&caller.cred, id, any)?;
                Ok((id.raw(), ds))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `semctl(IPC_SET)`: the lookup, then as [`SemSet::set`].
    pub fn semctl_set(&self, caller: &Caller, id: i32, ds: &abi::Semid64Ds) -> Result<(), Errno> {
        self.sem_by_id(id)?.set(&caller.cred, &ds.sem_perm)
    }

    /// `semctl(IPC_RMID)`; see [`SemSets::remove`].
    pub fn semctl_rmid(&self, caller: &Caller, id: i32) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.sem().remove(&caller.cred, Id::from_raw(id))
    }

    /// `semctl(2)` with `IPC_INFO` or `SEM_INFO`: the highest used index and the `seminfo`.
    /// The id is ignored, but a negative one is `EINVAL`.
    pub fn semctl_info(&self, id: i32, cmd: SemCtlCmd) -> Result<(i32, abi::Seminfo), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            SemCtlCmd::IpcInfo => Ok(self.sem().info(false)),
            SemCtlCmd::SemInfo => Ok(self.sem().info(true)),
            _ => Err(Errno::EINVAL),
        }
    }

    fn sem_by_id(&self, id: i32) -> Result<Arc<SemSet>, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.sem().find_by_id(Id::from_raw(id))
    }
}
