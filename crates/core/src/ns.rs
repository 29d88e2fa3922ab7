//! An IPC namespace: the registries of one sandbox, its limits, and its clock.
//!
//! Nothing is global: a process may host any number of namespaces, and they share nothing
//! (not even a clock, unless the embedder hands them the same one).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};

use crate::Errno;
use crate::abi;
use crate::clock::{Clock, SystemClock};
use crate::msg::MsgQueues;
use crate::sem::SemSets;
use crate::shm::{HeapSource, MemorySource, ShmSegments};

/// The sysctls of one namespace (`/proc/sys/kernel/msg*`, `sem` and `shm*`), and the few
/// `vm.*` settings segment creation consults, read at the moment of use, as Linux reads them.
#[derive(Debug)]
pub struct Limits {
    msgmax: AtomicI32,
    msgmnb: AtomicI32,
    msgmni: AtomicI32,
    semmsl: AtomicI32,
    semmns: AtomicI32,
    semopm: AtomicI32,
    semmni: AtomicI32,
    shmmax: AtomicU64,
    shmall: AtomicU64,
    shmmni: AtomicI32,
    shm_rmid_forced: AtomicBool,
    commit_limit: AtomicU64,
    hugetlb_shm_group: AtomicU32,
    nr_hugepages: AtomicU64,
    mmap_min_addr: AtomicU64,
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
            shmmax: AtomicU64::new(abi::SHMMAX),
            shmall: AtomicU64::new(abi::SHMALL),
            shmmni: AtomicI32::new(abi::SHMMNI),
            shm_rmid_forced: AtomicBool::new(false),
            commit_limit: AtomicU64::new(machine_commit_limit()),
            hugetlb_shm_group: AtomicU32::new(0),
            nr_hugepages: AtomicU64::new(0),
            mmap_min_addr: AtomicU64::new(machine_mmap_min_addr()),
        }
    }
}

/// This machine's `vm.mmap_min_addr`, or 65536 (the common distribution default) where it
/// cannot be read.
fn machine_mmap_min_addr() -> u64 {
    std::fs::read_to_string("/proc/sys/vm/mmap_min_addr")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65536)
}

/// The pages the overcommit heuristic allows in one request: RAM plus swap
/// (`__vm_enough_memory` with `vm.overcommit_memory = 0`), or no limit where unknown.
fn machine_commit_limit() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let info = rustix::system::sysinfo();
        let unit = u64::from(info.mem_unit.max(1));
        let bytes = (info.totalram as u64)
            .saturating_add(info.totalswap as u64)
            .saturating_mul(unit);
        bytes / abi::PAGE_SIZE
    }
    #[cfg(not(target_os = "linux"))]
    {
        u64::MAX
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

impl Limits {
    /// `shmmax`: the largest segment `shmget` creates, in bytes (default `ULONG_MAX - 2^24`).
    pub fn shmmax(&self) -> u64 {
        self.shmmax.load(Ordering::Relaxed)
    }

    /// `shmall`: the most pages all segments may hold together (default `ULONG_MAX - 2^24`).
    pub fn shmall(&self) -> u64 {
        self.shmall.load(Ordering::Relaxed)
    }

    /// `shmmni`: how many segments may exist (default 4096).
    pub fn shmmni(&self) -> i32 {
        self.shmmni.load(Ordering::Relaxed)
    }

    /// `shm_rmid_forced`: whether a segment dies as soon as nothing is attached to it (and
    /// with its creating thread), as if removed (default off). Set it with
    /// [`IpcNamespace::set_shm_rmid_forced`], which also destroys the orphans.
    pub fn shm_rmid_forced(&self) -> bool {
        self.shm_rmid_forced.load(Ordering::Relaxed)
    }

    /// Sets `shmmax`. Any `unsigned long` is accepted (`proc_doulongvec_minmax` without
    /// bounds); existing segments keep their size.
    pub fn set_shmmax(&self, value: u64) {
        self.shmmax.store(value, Ordering::Relaxed);
    }

    /// Sets `shmall` (pages; any `unsigned long`).
    pub fn set_shmall(&self, value: u64) {
        self.shmall.store(value, Ordering::Relaxed);
    }

    /// Sets `shmmni`; `EINVAL` outside `0..=32768`. Only creation is affected.
    pub fn set_shmmni(&self, value: i64) -> Result<(), Errno> {
        store_in_range(&self.shmmni, value, 0, abi::IPCMNI)
    }

    /// The pages one normal segment may reserve: `vm.overcommit_memory = 0`'s heuristic
    /// refuses (`ENOMEM`) a segment larger than the machine's RAM plus swap, unless it is
    /// created with `SHM_NORESERVE`. Defaults to this machine's RAM plus swap; `u64::MAX`
    /// turns the check off (`vm.overcommit_memory = 1`).
    pub fn commit_limit(&self) -> u64 {
        self.commit_limit.load(Ordering::Relaxed)
    }

    /// Sets [`commit_limit`](Self::commit_limit), in pages.
    pub fn set_commit_limit(&self, pages: u64) {
        self.commit_limit.store(pages, Ordering::Relaxed);
    }

    /// `vm.hugetlb_shm_group`: the group whose members may create `SHM_HUGETLB` segments
    /// without `CAP_IPC_LOCK` (default 0).
    pub fn hugetlb_shm_group(&self) -> u32 {
        self.hugetlb_shm_group.load(Ordering::Relaxed)
    }

    /// Sets `vm.hugetlb_shm_group`.
    pub fn set_hugetlb_shm_group(&self, gid: u32) {
        self.hugetlb_shm_group.store(gid, Ordering::Relaxed);
    }

    /// `vm.nr_hugepages`: huge pages (2 MiB) free for `SHM_HUGETLB` segments to reserve
    /// (default 0, so only `SHM_NORESERVE` ones can be created).
    pub fn nr_hugepages(&self) -> u64 {
        self.nr_hugepages.load(Ordering::Relaxed)
    }

    /// Sets `vm.nr_hugepages`: the pool reservations draw from.
    pub fn set_nr_hugepages(&self, pages: u64) {
        self.nr_hugepages.store(pages, Ordering::Relaxed);
    }

    /// `vm.mmap_min_addr`: the lowest address a caller without `CAP_SYS_RAWIO` may attach a
    /// segment at (`EPERM` below). Defaults to this machine's value.
    pub fn mmap_min_addr(&self) -> u64 {
        self.mmap_min_addr.load(Ordering::Relaxed)
    }

    /// Sets `vm.mmap_min_addr`.
    pub fn set_mmap_min_addr(&self, addr: u64) {
        self.mmap_min_addr.store(addr, Ordering::Relaxed);
    }

    /// Takes `pages` huge pages from the pool, or `false` if fewer are free.
    pub(crate) fn reserve_hugepages(&self, pages: u64) -> bool {
        self.nr_hugepages
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |free| {
                free.checked_sub(pages)
            })
            .is_ok()
    }

    /// Returns `pages` huge pages to the pool.
    pub(crate) fn release_hugepages(&self, pages: u64) {
        self.nr_hugepages.fetch_add(pages, Ordering::Relaxed);
    }

    pub(crate) fn store_shm_rmid_forced(&self, on: bool) {
        self.shm_rmid_forced.store(on, Ordering::Relaxed);
    }
}

/// What every object of a namespace may consult: its limits and its clock.
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
}

/// One IPC namespace: message queues, semaphore sets and shared-memory segments, their
/// limits, their clock, and where segments get their memory.
pub struct IpcNamespace {
    shared: Arc<Shared>,
    msg: MsgQueues,
    sem: SemSets,
    shm: ShmSegments,
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

    /// An empty namespace with Linux's default limits, on `clock`, with segments in heap
    /// memory.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::with_clock_and_memory(clock, Arc::new(HeapSource))
    }

    /// An empty namespace with Linux's default limits, on `clock`, taking each segment's
    /// memory from `memory` (heap memory, or memfds an embedder can map).
    pub fn with_clock_and_memory(clock: Arc<dyn Clock>, memory: Arc<dyn MemorySource>) -> Self {
        let shared = Arc::new(Shared {
            limits: Limits::default(),
            clock,
        });
        Self {
            msg: MsgQueues::new(Arc::clone(&shared)),
            sem: SemSets::new(Arc::clone(&shared)),
            shm: ShmSegments::new(Arc::clone(&shared), memory),
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

    /// The shared-memory segments.
    pub fn shm(&self) -> &ShmSegments {
        &self.shm
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

impl IpcNamespace {
    /// `shm_next_id`: the id the next segment will get, or -1.
    pub fn shm_next_id(&self) -> i32 {
        self.shm.next_id()
    }

    /// Sets `shm_next_id` (`EINVAL` outside `0..=INT_MAX`).
    pub fn set_shm_next_id(&self, value: i64) -> Result<(), Errno> {
        let v = next_id_in_range(value)?;
        self.shm.set_next_id(v);
        Ok(())
    }

    /// Writes `shm_rmid_forced` (`EINVAL` outside `0..=1`). A write that leaves it on (also
    /// 1 → 1) destroys every orphan: each segment with nothing attached whose creating thread
    /// has [exited](Self::shm_exit_thread) (`shm_destroy_orphaned`).
    pub fn set_shm_rmid_forced(&self, value: i64) -> Result<(), Errno> {
        let on = match value {
            0 => false,
            1 => true,
            _ => return Err(Errno::EINVAL),
        };
        self.limits().store_shm_rmid_forced(on);
        if on {
            self.shm.destroy_orphans();
        }
        Ok(())
    }
}

impl fmt::Debug for IpcNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpcNamespace")
            .field("limits", &self.shared.limits)
            .field("queues", &self.msg.len())
            .field("semaphore_sets", &self.sem.len())
            .field("segments", &self.shm.len())
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
