//! [`Semaphore`]: one semaphore set, bound to a namespace and a caller, and [`SemGuard`], which
//! gives back what it acquired.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{SemOps, existing, mode_flags};
use crate::Errno;
use crate::abi::{self, Sembuf};
use crate::cred::Caller;
use crate::ipc::{Id, Key};
use crate::ns::IpcNamespace;
use crate::sem::{SemFlags, SemSet, SemTimeoutError, check_nsops};

/// A semaphore set as a program uses it: found or created by key (or by name, through
/// [`Key::from_name`]), then operated on as one caller.
///
/// Every operation is a `semop(2)` or `semctl(2)` on the set and follows Linux's rules: the
/// operations of one call apply atomically, [`SemFlags::NOWAIT`] fails with `EAGAIN` instead
/// of waiting, and [`SemFlags::UNDO`] records the inverse in the caller's undo list, applied
/// when its process exits. The handle holds a clone of its [`Caller`], so it counts as one of
/// the process's holders of that list: the adjustments are applied once the caller and every
/// handle made from it are dropped. See the [module docs](crate::handle) on sharing a handle
/// between threads.
///
/// ```
/// use std::sync::Arc;
/// use sysvipc::{Caller, Credentials, IpcNamespace, Key, SemFlags, SemOps, Semaphore, ThreadBlocker};
///
/// let ns = Arc::new(IpcNamespace::new());
/// let me = Caller::new(Credentials::root(), 100, Arc::new(ThreadBlocker::new()));
/// let sem = Semaphore::create(ns, me, Key::from_name("printer"), 2, 0o600)?;
/// sem.set_all(&[1, 0])?;
///
/// {
///     let _held = sem.acquire(0, SemFlags::empty())?; // P on semaphore 0
///     assert_eq!(sem.get(0)?, 0);
/// } // released here, even if the block had panicked
/// assert_eq!(sem.get(0)?, 1);
///
/// sem.v(1, SemFlags::empty())?;
/// sem.apply(&SemOps::new().p(0, SemFlags::empty()).p(1, SemFlags::empty()))?; // both or neither
/// assert_eq!(sem.get_all()?, [0, 0]);
/// # Ok::<(), sysvipc::Errno>(())
/// ```
#[derive(Clone)]
pub struct Semaphore {
    ns: Arc<IpcNamespace>,
    caller: Caller,
    set: Arc<SemSet>,
}

impl Semaphore {
    /// Opens the set named by `key`, creating it with `nsems` semaphores (all 0) and
    /// permission bits `mode` if it does not exist (`semget(key, nsems, IPC_CREAT | mode)`).
    /// [`Key::PRIVATE`] always creates a new set.
    ///
    /// `EINVAL` for `mode` bits outside `0o777`, for `nsems` above `semmsl`, for a new set of
    /// 0 semaphores and for an existing set of fewer than `nsems`; `EACCES` if the set exists
    /// and `mode` asks for access the caller lacks; `ENOSPC` past `semmns` or `semmni`.
    pub fn create(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        nsems: usize,
        mode: u32,
    ) -> Result<Self, Errno> {
        let flags = abi::IPC_CREAT | mode_flags(mode)?;
        Self::by_key(ns, caller, key, nsems, flags)
    }

    /// Creates a set for `key`, failing with `EEXIST` if one exists
    /// (`semget(key, nsems, IPC_CREAT | IPC_EXCL | mode)`). Otherwise as
    /// [`create`](Self::create).
    pub fn create_new(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        nsems: usize,
        mode: u32,
    ) -> Result<Self, Errno> {
        let flags = abi::IPC_CREAT | abi::IPC_EXCL | mode_flags(mode)?;
        Self::by_key(ns, caller, key, nsems, flags)
    }

    /// Opens the existing set named by `key` (`semget(key, 0, 0)`): `ENOENT` if there is none,
    /// [`Key::PRIVATE`] included. Access is checked by each operation.
    pub fn open(ns: Arc<IpcNamespace>, caller: Caller, key: Key) -> Result<Self, Errno> {
        Self::by_key(ns, caller, existing(key)?, 0, 0)
    }

    fn by_key(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        nsems: usize,
        flags: i32,
    ) -> Result<Self, Errno> {
        let nsems = i32::try_from(nsems).map_err(|_| Errno::EINVAL)?;
        let id = ns.sem().find_or_create(&caller, key, nsems, flags)?;
        let set = ns.sem().find_by_id(id)?;
        Ok(Self { ns, caller, set })
    }

    /// Removes the set named by `key` without holding a handle on it (`ipcrm -S`): `ENOENT` if
    /// there is none, then as [`destroy`](Self::destroy).
    pub fn remove(ns: &IpcNamespace, caller: &Caller, key: Key) -> Result<(), Errno> {
        let id = ns.sem().find_or_create(caller, existing(key)?, 0, 0)?;
        ns.sem().remove(&caller.cred, id)
    }

    /// Removes the set (`semctl(IPC_RMID)`): `EPERM` unless the caller owns or created it or
    /// holds `CAP_SYS_ADMIN`, `EINVAL` if it is already gone. Sleepers fail with `EIDRM`, as
    /// does every later operation on any handle of it.
    pub fn destroy(&self) -> Result<(), Errno> {
        self.ns.sem().remove(&self.caller.cred, self.set.id())
    }

    /// The same set, used by `caller` (another thread with its own blocker, or another
    /// process with its own undo list).
    pub fn with_caller(&self, caller: Caller) -> Self {
        Self {
            caller,
            ..self.clone()
        }
    }

    /// P: takes one unit of semaphore `semnum`, waiting until there is one (or, with
    /// [`SemFlags::NOWAIT`], failing with `EAGAIN`). `EFBIG` for a semaphore beyond the set;
    /// `EINTR` if the caller is interrupted; `EIDRM` if the set is removed meanwhile.
    pub fn p(&self, semnum: u16, flags: SemFlags) -> Result<(), Errno> {
        self.apply(&SemOps::new().p(semnum, flags))
    }

    /// V: gives one unit back to semaphore `semnum`; `ERANGE` above `SEMVMX`.
    pub fn v(&self, semnum: u16, flags: SemFlags) -> Result<(), Errno> {
        self.apply(&SemOps::new().v(semnum, flags))
    }

    /// Waits until semaphore `semnum` is zero (or, with [`SemFlags::NOWAIT`], fails with
    /// `EAGAIN` if it is not).
    pub fn wait_zero(&self, semnum: u16, flags: SemFlags) -> Result<(), Errno> {
        self.apply(&SemOps::new().wait_zero(semnum, flags))
    }

    /// As [`p`](Self::p), waiting at most `timeout` (`semtimedop(2)`, measured on the
    /// namespace's clock); then fails with [`SemTimeoutError::Timeout`]. A zero timeout only
    /// tries.
    pub fn p_timeout(
        &self,
        semnum: u16,
        flags: SemFlags,
        timeout: Duration,
    ) -> Result<(), SemTimeoutError> {
        self.apply_timeout(&SemOps::new().p(semnum, flags), timeout)
    }

    /// `semop(2)`: applies all of `ops` atomically, waiting until they can all proceed.
    /// `E2BIG` for more than `semopm` operations, `EINVAL` for none; then as [`p`](Self::p).
    pub fn apply(&self, ops: &SemOps) -> Result<(), Errno> {
        self.semop(ops.as_slice(), None).map_err(Errno::from)
    }

    /// `semtimedop(2)`: as [`apply`](Self::apply), waiting at most `timeout`; then fails with
    /// [`SemTimeoutError::Timeout`], having applied nothing.
    pub fn apply_timeout(&self, ops: &SemOps, timeout: Duration) -> Result<(), SemTimeoutError> {
        let deadline = self.ns.clock().monotonic().saturating_add(timeout);
        self.semop(ops.as_slice(), Some(deadline))
    }

    fn semop(&self, sops: &[Sembuf], deadline: Option<Duration>) -> Result<(), SemTimeoutError> {
        check_nsops(self.ns.limits(), sops.len())?;
        self.set.semop_timed(&self.caller, sops, deadline)
    }

    /// P on semaphore `semnum`, as [`p`](Self::p), returning a guard that gives the unit back
    /// when dropped.
    pub fn acquire(&self, semnum: u16, flags: SemFlags) -> Result<SemGuard<'_>, Errno> {
        self.acquire_ops(SemOps::new().p(semnum, flags))
    }

    /// Applies `ops` as [`apply`](Self::apply) does, returning a guard that applies their
    /// inverse when dropped (see [`SemGuard`]).
    pub fn acquire_ops(&self, ops: SemOps) -> Result<SemGuard<'_>, Errno> {
        self.apply(&ops)?;
        Ok(SemGuard {
            sem: self,
            inverse: ops.inverse(),
        })
    }

    /// `GETVAL`: the value of semaphore `semnum` (read permission, then `EINVAL` beyond the
    /// set).
    pub fn get(&self, semnum: u16) -> Result<i32, Errno> {
        self.set.get_value(&self.caller.cred, i32::from(semnum))
    }

    /// `SETVAL`: sets semaphore `semnum` to `value` and wakes the sleepers it lets through.
    /// `ERANGE` outside `0..=SEMVMX`, `EINVAL` beyond the set, `EACCES` without write
    /// permission. Every process's undo adjustment of the semaphore is cleared.
    pub fn set(&self, semnum: u16, value: i32) -> Result<(), Errno> {
        if !(0..=abi::SEMVMX).contains(&value) {
            return Err(Errno::ERANGE);
        }
        self.set.set_value(&self.caller, i32::from(semnum), value)
    }

    /// `GETALL`: every value, semaphore 0 first.
    pub fn get_all(&self) -> Result<Vec<u16>, Errno> {
        self.set.get_all(&self.caller.cred)
    }

    /// `SETALL`: sets every value, semaphore 0 first. `EINVAL` unless `values` has one value
    /// per semaphore, `ERANGE` for one above `SEMVMX`; every undo adjustment of the set is
    /// cleared.
    pub fn set_all(&self, values: &[u16]) -> Result<(), Errno> {
        self.set.set_all(&self.caller, |_| Ok(values.to_vec()))
    }

    /// How many semaphores the set has.
    pub fn nsems(&self) -> usize {
        self.set.nsems()
    }

    /// The set's id, as `semget` returns it.
    pub fn id(&self) -> Id {
        self.set.id()
    }

    /// The set itself, for the operations the handle does not wrap (`stat`, `set`, `get_pid`).
    pub fn sem_set(&self) -> &Arc<SemSet> {
        &self.set
    }

    /// The caller every operation runs as.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The namespace the set lives in.
    pub fn namespace(&self) -> &Arc<IpcNamespace> {
        &self.ns
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("id", &self.set.id())
            .field("nsems", &self.set.nsems())
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

/// What a [`Semaphore::acquire`] or [`Semaphore::acquire_ops`] took, given back when the guard
/// is dropped — at the end of its scope, or while unwinding from a panic — so a holder that
/// fails cannot keep the semaphore forever.
///
/// Release applies the inverse of each non-zero operation as one `semop`: negated, with the
/// original's `SEM_UNDO` (so the two undo adjustments cancel) and with `IPC_NOWAIT`, so that
/// releasing never sleeps (only the inverse of an increment could). Drop cannot report a
/// failure (the set was removed, say); [`release`](Self::release) does.
#[must_use = "dropping the guard releases what it acquired at once"]
pub struct SemGuard<'a> {
    sem: &'a Semaphore,
    inverse: Vec<Sembuf>,
}

impl SemGuard<'_> {
    /// Releases now, reporting a failure: `EIDRM` or `EINVAL` if the set is gone, `ERANGE`
    /// if giving back would exceed `SEMVMX`, `EAGAIN` if taking back would have to wait.
    pub fn release(mut self) -> Result<(), Errno> {
        self.release_now()
    }

    /// The operations the release will apply.
    pub fn inverse(&self) -> &[Sembuf] {
        &self.inverse
    }

    fn release_now(&mut self) -> Result<(), Errno> {
        let inverse = std::mem::take(&mut self.inverse);
        if inverse.is_empty() {
            return Ok(());
        }
        self.sem.semop(&inverse, None).map_err(Errno::from)
    }
}

impl Drop for SemGuard<'_> {
    fn drop(&mut self) {
        // Drop has no one to report a failure to; `release` does.
        let _ = self.release_now();
    }
}

impl fmt::Debug for SemGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemGuard")
            .field("set", &self.sem.set.id())
            .field("inverse", &self.inverse)
            .finish()
    }
}
