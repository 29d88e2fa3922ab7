//! An IPC namespace: the registries of one sandbox, its limits, and its clock.
//!
//! Nothing is global: a process may host any number of namespaces, and they share nothing
//! (not even a clock, unless the embedder hands them the same one).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::Errno;
use crate::abi;
use crate::clock::{Clock, SystemClock};
use crate::msg::MsgQueues;
use crate::sem::SemSets;

/// The sysctls of one namespace (`/proc/sys/kernel/msg*` and `sem`), read at the moment of
/// use, as Linux reads them.
#[derive(Debug)]
pub struct Limits {
    msgmax: AtomicI32,
    msgmnb: AtomicI32,
    msgmni: AtomicI32,
    semmsl: AtomicI32,
    semmns: AtomicI32,
    semopm: AtomicI32,
    semmni: AtomicI32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            msgmax: AtomicI32::new(abi::MSGMAX),
            msgmnb: AtomicI32::new(abi::MSGMNB),
            msgmni: AtomicI32::new(abi::MSGMNI),
            semmsl: AtomicI32::new(abi::SEMMSL),
            semmns: AtomicI32::new(abi::SEMMNS),
            semopm: AtomicI32::new(abi::SEMOPM),
            semmni: AtomicI32::new(abi::SEMMNI),
        }
    }
}

/// Stores `value` if it lies in `min..=max`, as `proc_dointvec_minmax` does (else `EINVAL`).
fn store_in_range(cell: &AtomicI32, value: i64, min: i32, max: i32) -> Result<(), Errno> {
    let v = i32::try_from(value).map_err(|_| Errno::EINVAL)?;
    if !(min..=max).contains(&v) {
        return Err(Errno::EINVAL);
    }
    cell.store(v, Ordering::Relaxed);
    Ok(())
}

/// A `*_next_id` sysctl value: `0..=INT_MAX` (`proc_dointvec_minmax`), else `EINVAL`.
fn next_id_in_range(value: i64) -> Result<i32, Errno> {
    i32::try_from(value)
        .ok()
        .filter(|v| *v >= 0)
        .ok_or(Errno::EINVAL)
}

impl Limits {
    /// `msgmax`: the largest message `msgsnd` accepts (default 8192).
    pub fn msgmax(&self) -> i32 {
        self.msgmax.load(Ordering::Relaxed)
    }

    /// `msgmnb`: the `msg_qbytes` of a new queue, and the most `IPC_SET` may grant without
    /// `CAP_SYS_RESOURCE` (default 16384).
    pub fn msgmnb(&self) -> i32 {
        self.msgmnb.load(Ordering::Relaxed)
    }

    /// `msgmni`: how many queues may exist (default 32000).
    pub fn msgmni(&self) -> i32 {
        self.msgmni.load(Ordering::Relaxed)
    }

    /// Sets `msgmax`; `EINVAL` outside `0..=INT_MAX`.
    pub fn set_msgmax(&self, value: i64) -> Result<(), Errno> {
        store_in_range(&self.msgmax, value, 0, i32::MAX)
    }

    /// Sets `msgmnb`; `EINVAL` outside `0..=INT_MAX`. Existing queues keep their `msg_qbytes`.
    pub fn set_msgmnb(&self, value: i64) -> Result<(), Errno> {
        store_in_range(&self.msgmnb, value, 0, i32::MAX)
    }

    /// Sets `msgmni`; `EINVAL` outside `0..=32768`. Only creation is affected.
    pub fn set_msgmni(&self, value: i64) -> Result<(), Errno> {
        store_in_range(&self.msgmni, value, 0, abi::IPCMNI)
    }

    /// `SEMMSL` (`sem` field 1): most semaphores per set, checked on every `semget`.
    pub fn semmsl(&self) -> i32 {
        self.semmsl.load(Ordering::Relaxed)
    }

    /// `SEMMNS` (`sem` field 2): most semaphores in the namespace, checked on creation.
    pub fn semmns(&self) -> i32 {
        self.semmns.load(Ordering::Relaxed)
    }

    /// `SEMOPM` (`sem` field 3): most operations per `semop` (compared unsigned).
    pub fn semopm(&self) -> i32 {
        self.semopm.load(Ordering::Relaxed)
    }

    /// `SEMMNI` (`sem` field 4): most sets, checked on creation.
    pub fn semmni(&self) -> i32 {
        self.semmni.load(Ordering::Relaxed)
    }

    /// Writes the `sem` sysctl: `[semmsl, semmns, semopm, semmni]`. As Linux's
    /// `proc_ipc_sem_dointvec`, any int is accepted for the first three (negative ones
    /// included), and only `semmni` is range-checked afterwards: outside `0..=32768` it keeps
    /// its old value and the write fails with `ERANGE`, the other three staying written.
    /// A value that is not an int is `EINVAL`: `proc_dointvec` stores the values one by one as
    /// it parses them, so the ones before it stay written (checked on Linux 6.18:
    /// `4 5 6 4294967296` → EINVAL with `4 5 6` stored).
    pub fn set_sem(&self, values: [i64; 4]) -> Result<(), Errno> {
        let [msl, mns, opm, mni] = values.map(|v| i32::try_from(v).map_err(|_| Errno::EINVAL));
        self.semmsl.store(msl?, Ordering::Relaxed);
        self.semmns.store(mns?, Ordering::Relaxed);
        self.semopm.store(opm?, Ordering::Relaxed);
        let mni = mni?;
        if !(0..=abi::IPCMNI).contains(&mni) {
            return Err(Errno::ERANGE);
        }
        self.semmni.store(mni, Ordering::Relaxed);
        Ok(())
    }
}

/// What every object of a namespace may consult: its limits and its clock.
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
}

/// One IPC namespace: message queues (and, as they arrive, semaphore sets and segments),
/// their limits and their clock.
pub struct IpcNamespace {
    shared: Arc<Shared>,
    msg: MsgQueues,
    sem: SemSets,
}

impl Default for IpcNamespace {
    fn default() -> Self {
        Self::new()
    }
}

impl IpcNamespace {
    /// An empty namespace with Linux's default limits, on the machine's clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty namespace with Linux's default limits, on `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let shared = Arc::new(Shared {
            limits: Limits::default(),
            clock,
        });
        Self {
            msg: MsgQueues::new(Arc::clone(&shared)),
            sem: SemSets::new(Arc::clone(&shared)),
            shared,
        }
    }

    /// The namespace's sysctls.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The namespace's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The message queues.
    pub fn msg(&self) -> &MsgQueues {
        &self.msg
    }

    /// The semaphore sets.
    pub fn sem(&self) -> &SemSets {
        &self.sem
    }

    /// `msg_next_id`: the id the next queue will get, or -1.
    pub fn msg_next_id(&self) -> i32 {
        self.msg.next_id()
    }

    /// Sets `msg_next_id` (`EINVAL` outside `0..=INT_MAX`). It is consumed by the next queue
    /// creation that gets as far as allocating an id.
    pub fn set_msg_next_id(&self, value: i64) -> Result<(), Errno> {
        let v = next_id_in_range(value)?;
        self.msg.set_next_id(v);
        Ok(())
    }
}

impl IpcNamespace {
    /// `sem_next_id`: the id the next semaphore set will get, or -1.
    pub fn sem_next_id(&self) -> i32 {
        self.sem.next_id()
    }

    /// Sets `sem_next_id` (`EINVAL` outside `0..=INT_MAX`).
    pub fn set_sem_next_id(&self, value: i64) -> Result<(), Errno> {
        let v = next_id_in_range(value)?;
        self.sem.set_next_id(v);
        Ok(())
    }
}

impl fmt::Debug for IpcNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpcNamespace")
            .field("limits", &self.shared.limits)
            .field("queues", &self.msg.len())
            .field("semaphore_sets", &self.sem.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_linux_values() {
        let ns = IpcNamespace::new();
        let l = ns.limits();
        assert_eq!((l.msgmax(), l.msgmnb(), l.msgmni()), (8192, 16384, 32000));
        assert_eq!(ns.msg_next_id(), -1);
    }

    #[test]
    fn limits_reject_values_out_of_sysctl_range() {
        let ns = IpcNamespace::new();
        let l = ns.limits();
        assert_eq!(l.set_msgmni(32769), Err(Errno::EINVAL));
        assert_eq!(l.set_msgmni(-1), Err(Errno::EINVAL));
        assert_eq!(l.set_msgmax(i64::from(i32::MAX) + 1), Err(Errno::EINVAL));
        assert_eq!(l.set_msgmnb(-5), Err(Errno::EINVAL));
        assert_eq!(ns.set_msg_next_id(-1), Err(Errno::EINVAL));
        l.set_msgmni(32768).unwrap();
        l.set_msgmax(0).unwrap();
        assert_eq!((l.msgmni(), l.msgmax()), (32768, 0));
    }

    #[test]
    fn namespaces_share_nothing() {
        let a = IpcNamespace::new();
        let b = IpcNamespace::new();
        a.limits().set_msgmax(10).unwrap();
        assert_eq!(b.limits().msgmax(), 8192);
    }
}
