//! System V shared memory: `shmget(2)`, `shmat(2)`, `shmdt(2)`, `shmctl(2)`.
//! Mirrors Linux `ipc/shm.c`.
//!
//! In-process there is no MMU, so the subsystem owns what the kernel's memory manager would:
//! a segment's bytes ([`Memory`], from the namespace's [`MemorySource`]) and each address
//! space's mappings ([`AttachTable`]). `shmat` records a [`Mapping`] that says what to map
//! (memory, offset, length, protection); an embedder with a real address space maps it
//! (a memfd through [`Memory::as_fd`]), others read and write through the table.
//!
//! Three levels, as for the other mechanisms: [`ShmSegments`] (the namespace's registry),
//! [`Segment`] (one segment), and the syscall-shaped methods of [`IpcNamespace`].

mod attach;
mod memory;
mod segment;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

pub use attach::{AddressSpace, AttachTable, MMAP_MIN_ADDR, Mapping, Protection, TASK_SIZE};
pub use memory::{HeapMemory, HeapSource, Memory, MemorySource};
#[cfg(target_os = "linux")]
pub use memory::{MemfdMemory, MemfdSource};
pub use segment::Segment;

use crate::Errno;
use crate::abi;
use crate::cred::{Caller, Capabilities, Credentials};
use crate::ipc::{Access, Id, Key, Perm, Registry, Removal};
use crate::ns::{IpcNamespace, Shared};
use segment::{HugePages, LockedPages, NewSegment, uncharge};

/// The `shmctl` commands, decoded once at the edge (unknown values and `IPC_64` are `EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShmCtlCmd {
    /// `IPC_STAT`.
    Stat,
    /// `IPC_SET`.
    Set,
    /// `IPC_RMID`.
    Rmid,
    /// `IPC_INFO`.
    IpcInfo,
    /// `SHM_INFO`.
    ShmInfo,
    /// `SHM_STAT`: by index, read permission needed.
    ShmStat,
    /// `SHM_STAT_ANY`: by index, no permission check.
    ShmStatAny,
    /// `SHM_LOCK`.
    Lock,
    /// `SHM_UNLOCK`.
    Unlock,
}

impl TryFrom<i32> for ShmCtlCmd {
    type Error = Errno;

    fn try_from(cmd: i32) -> Result<Self, Errno> {
        Ok(match cmd {
            abi::IPC_STAT => Self::Stat,
            abi::IPC_SET => Self::Set,
            abi::IPC_RMID => Self::Rmid,
            abi::IPC_INFO => Self::IpcInfo,
            abi::SHM_INFO => Self::ShmInfo,
            abi::SHM_STAT => Self::ShmStat,
            abi::SHM_STAT_ANY => Self::ShmStatAny,
            abi::SHM_LOCK => Self::Lock,
            abi::SHM_UNLOCK => Self::Unlock,
            _ => return Err(Errno::EINVAL),
        })
    }
}

/// The huge page sizes `SHM_HUGETLB` accepts, as log2 (x86-64: 2 MiB, the default, and 1 GiB).
const HUGE_PAGE_SHIFTS: [u32; 2] = [21, 30];

/// The largest file shmem accepts (`MAX_LFS_FILESIZE` on 64-bit).
const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

/// What the segments of a namespace share, and what their mappings keep alive.
pub(crate) struct ShmIds {
    ns: Arc<Shared>,
    source: Arc<dyn MemorySource>,
    registry: Registry<Segment>,
    /// `shm_tot`: pages of all segments. Raised under the registry's write lock.
    tot: AtomicU64,
    /// Pages locked by `SHM_LOCK`, by user (`UCOUNT_RLIMIT_MEMLOCK`). Lock 3 of 3.
    locked: LockedPages,
    /// Names each successful `shmat` (Linux's per-attach file), shared by its fragments and
    /// fork copies, so `shmdt` knows which mappings belong together.
    attaches: AtomicU64,
}

impl ShmIds {
    /// `shm_destroy` after a segment's memory was taken: unlinks it and gives back what it
    /// held of the namespace.
    fn destroy(&self, seg: &Segment, memory: Arc<dyn Memory>) {
        let _ = self.registry.remove(seg.id(), |s| {
            if std::ptr::eq(s, seg) {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            }
        });
        self.release(seg);
        drop(memory);
    }

    /// The namespace-wide accounting of a destroyed segment, already unlinked.
    fn release(&self, seg: &Segment) {
        self.tot.fetch_sub(seg.pages(), Ordering::Relaxed);
        let (locked_by, reserved) = seg.take_charges();
        if let Some(uid) = locked_by {
            uncharge(&self.locked, uid, seg.map_len() / abi::PAGE_SIZE);
        }
        drop(reserved);
    }
}

/// The shared-memory segments of one namespace (`shm_ids(ns)`).
pub struct ShmSegments {
    ids: Arc<ShmIds>,
}

impl ShmSegments {
    pub(crate) fn new(ns: Arc<Shared>, source: Arc<dyn MemorySource>) -> Self {
        Self {
            ids: Arc::new(ShmIds {
                ns,
                source,
                registry: Registry::default(),
                tot: AtomicU64::new(0),
                locked: Mutex::new(HashMap::new()),
                attaches: AtomicU64::new(0),
            }),
        }
    }

    /// `shmget(2)` (`ksys_shmget` → `ipcget`, `newseg`, `shm_more_checks`).
    ///
    /// An existing key: `EEXIST` with `IPC_CREAT | IPC_EXCL`, `EINVAL` if the segment is
    /// smaller than `size`, `EACCES`. A new segment, in `newseg`'s order: `EINVAL` for a size
    /// outside `SHMMIN..=shmmax`; `ENOSPC` if the size in pages overflows or would take the
    /// namespace past `shmall` pages; for `SHM_HUGETLB`, `EINVAL` for an unknown huge page
    /// size, `EPERM` without `CAP_IPC_LOCK` or membership of `hugetlb_shm_group`, `ENOMEM`
    /// when the pool cannot reserve the pages (not asked with `SHM_NORESERVE`); otherwise
    /// `EINVAL` past `MAX_LFS_FILESIZE` and `ENOMEM` past the commit limit (not asked with
    /// `SHM_NORESERVE`); then `ENOSPC` once `shmmni` segments exist.
    pub fn find_or_create(
        &self,
        caller: &Caller,
        key: Key,
        size: u64,
        flags: i32,
    ) -> Result<Id, Errno> {
        let ids = &self.ids;
        let limits = &ids.ns.limits;
        ids.registry.get_or_create(
            key,
            flags,
            limits.shmmni(),
            |s| s.check_get(&caller.cred, size, flags),
            || {
                if size < abi::SHMMIN || size > limits.shmmax() {
                    return Err(Errno::EINVAL);
                }
                if size > u64::MAX - (abi::PAGE_SIZE - 1) {
                    return Err(Errno::ENOSPC);
                }
                let pages = size.div_ceil(abi::PAGE_SIZE);
                let tot = ids.tot.load(Ordering::Relaxed);
                match tot.checked_add(pages) {
                    Some(t) if t <= limits.shmall() => {}
                    _ => return Err(Errno::ENOSPC),
                }
                let noreserve = flags & abi::SHM_NORESERVE != 0;
                let (map_len, page_size, reserved) = if flags & abi::SHM_HUGETLB != 0 {
                    hugetlb_setup(&ids.ns, &caller.cred, size, flags)?
                } else {
                    if size > MAX_LFS_FILESIZE {
                        return Err(Errno::EINVAL);
                    }
                    if !noreserve && pages > limits.commit_limit() {
                        return Err(Errno::ENOMEM);
                    }
                    (pages * abi::PAGE_SIZE, abi::PAGE_SIZE, None)
                };
                let memory = ids.source.allocate(key, map_len)?;
                let new = NewSegment {
                    perm: Perm::new(key, &caller.cred, flags),
                    segsz: size,
                    map_len,
                    page_size,
                    reserved,
                    memory,
                    now: ids.ns.clock.realtime(),
                    pid: caller.pid,
                    tid: caller.tid,
                };
                let ns = Arc::clone(&ids.ns);
                let tot = &ids.tot;
                Ok(move |id| {
                    tot.fetch_add(pages, Ordering::Relaxed);
                    Segment::new(ns, id, new)
                })
            },
        )
    }

    /// The segment named by `id` (`EINVAL` if none).
    pub fn find_by_id(&self, id: Id) -> Result<Arc<Segment>, Errno> {
        self.ids.registry.get(id)
    }

    /// `shmctl(IPC_RMID)` (`do_shm_rmid`): ownership (`EPERM`); a segment still attached is
    /// marked `SHM_DEST`, loses its key and dies at its last detach (its id keeps working
    /// until then, a second `IPC_RMID` included); an unattached one is destroyed at once.
    pub fn remove(&self, cred: &Credentials, id: Id) -> Result<(), Errno> {
        let ids = &self.ids;
        let memory = ids.registry.remove_with(id, |s| match s.remove(cred)? {
            None => Ok((Removal::HideKey, None)),
            Some(memory) => {
                ids.release(s);
                Ok((Removal::Unlink, Some(memory)))
            }
        })?;
        // Freed here, outside the registry's lock.
        drop(memory);
        Ok(())
    }

    /// `shmctl(IPC_INFO)`: the highest used index and the `shminfo64`.
    pub fn ipc_info(&self) -> (i32, abi::Shminfo64) {
        let l = &self.ids.ns.limits;
        let mni = l.shmmni() as u64;
        let info = abi::Shminfo64 {
            shmmax: l.shmmax(),
            shmmin: abi::SHMMIN,
            shmmni: mni,
            shmseg: mni,
            shmall: l.shmall(),
            ..abi::Shminfo64::default()
        };
        (self.ids.registry.max_index(), info)
    }

    /// `shmctl(SHM_INFO)`: the highest used index and the `shm_info` (`used_ids` counts
    /// segments, removed but attached ones included; `shm_rss` counts the pages read or written through mappings).
    pub fn shm_info(&self) -> (i32, abi::ShmInfo) {
        let mut memories = Vec::new();
        let mut used = 0;
        self.ids.registry.for_each(|_, s| {
            used += 1;
            memories.extend(s.memory());
        });
        let info = abi::ShmInfo {
            used_ids: used,
            shm_tot: self.ids.tot.load(Ordering::Relaxed),
            shm_rss: memories.iter().map(|m| m.resident_pages()).sum(),
            ..abi::ShmInfo::default()
        };
        (self.ids.registry.max_index(), info)
    }

    /// `shmctl(SHM_STAT)` (read permission) or `SHM_STAT_ANY`: the segment in slot `index`,
    /// with its full id.
    pub fn stat_index(
        &self,
        cred: &Credentials,
        index: i32,
        any: bool,
    ) -> Result<(Id, abi::Shmid64Ds), Errno> {
        self.ids.registry.stat_index(cred, index, any)
    }

    /// `shm_tot`: pages of all segments.
    pub fn total_pages(&self) -> u64 {
        self.ids.tot.load(Ordering::Relaxed)
    }

    /// How many segments exist, removed but attached ones included.
    pub fn len(&self) -> usize {
        self.ids.registry.len()
    }

    /// Whether no segment exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn next_id(&self) -> i32 {
        self.ids.registry.next_id()
    }

    pub(crate) fn set_next_id(&self, id: i32) {
        self.ids.registry.set_next_id(id);
    }

    /// Destroys every segment with nothing attached whose creating thread has exited
    /// (`shm_destroy_orphaned`).
    pub(crate) fn destroy_orphans(&self) {
        self.destroy_each(Segment::destroy_if_orphan);
    }

    /// Runs `decide` on every segment and destroys those it takes the memory of.
    fn destroy_each(&self, mut decide: impl FnMut(&Segment) -> Option<Arc<dyn Memory>>) {
        let mut doomed = Vec::new();
        self.ids.registry.for_each(|id, s| {
            if let Some(memory) = decide(s) {
                doomed.push((id, memory));
            }
        });
        for (id, memory) in doomed {
            if let Ok(seg) = self.ids.registry.get(id) {
                self.ids.destroy(&seg, memory);
            }
        }
    }
}

/// The `SHM_HUGETLB` half of `newseg` (`hugetlb_file_setup`): the mapping length, rounded to
/// the huge page size, that page size, and the pages reserved.
fn hugetlb_setup(
    ns: &Arc<Shared>,
    cred: &Credentials,
    size: u64,
    flags: i32,
) -> Result<(u64, u64, Option<HugePages>), Errno> {
    let log = ((flags >> abi::SHM_HUGE_SHIFT) & abi::SHM_HUGE_MASK) as u32;
    let shift = if log == 0 { HUGE_PAGE_SHIFTS[0] } else { log };
    if !HUGE_PAGE_SHIFTS.contains(&shift) {
        return Err(Errno::EINVAL);
    }
    let limits = &ns.limits;
    if !cred.has(Capabilities::IPC_LOCK) && !cred.in_group(limits.hugetlb_shm_group()) {
        return Err(Errno::EPERM);
    }
    let len = size
        .checked_next_multiple_of(1 << shift)
        .ok_or(Errno::ENOMEM)?;
    if flags & abi::SHM_NORESERVE != 0 {
        return Ok((len, 1 << shift, None));
    }
    // Only the default size has a pool; 1 GiB pages are never free.
    if shift != HUGE_PAGE_SHIFTS[0] {
        return Err(Errno::ENOMEM);
    }
    let reserved = HugePages::reserve(ns, len >> shift)?;
    Ok((len, 1 << shift, Some(reserved)))
}

impl Drop for ShmSegments {
    /// The namespace dies (`shm_exit_ns`): unattached segments are destroyed, attached ones
    /// marked `SHM_DEST` to die at their last detach.
    fn drop(&mut self) {
        self.destroy_each(Segment::remove_unchecked);
    }
}

/// The syscall-shaped surface of shared memory.
impl IpcNamespace {
    /// `shmget(2)`; see [`ShmSegments::find_or_create`]. `size` is the `size_t` argument.
    pub fn shmget(&self, caller: &Caller, key: i32, size: u64, flags: i32) -> Result<i32, Errno> {
        self.shm()
            .find_or_create(caller, Key(key), size, flags)
            .map(Id::raw)
    }

    /// `shmat(2)` (`do_shmat`) into the address space `table`: returns the address.
    ///
    /// In order: `EINVAL` for a negative id; the address: a non-null one not `SHMLBA`-aligned
    /// is rounded down with `SHM_RND` (`EINVAL` if that gives 0 with `SHM_REMAP`) and is
    /// `EINVAL` without it, a null one is `EINVAL` with `SHM_REMAP`; the lookup (`EINVAL`);
    /// read permission, plus write unless `SHM_RDONLY`, plus execute with `SHM_EXEC`
    /// (`EACCES`); a segment being destroyed (`EIDRM`); then the placement: a fixed address
    /// not aligned to a `SHM_HUGETLB` segment's huge page size is `EINVAL`, a fixed range
    /// that overlaps a mapping without `SHM_REMAP` or wraps around is `EINVAL`, one past the
    /// address space `ENOMEM`, one below `mmap_min_addr` `EPERM` unless the caller holds
    /// `CAP_SYS_RAWIO` (so `SHM_RND` rounding down to 0 is `EPERM` for most), and no room for a
    /// free placement `ENOMEM`. A segment removed
    /// while attached can still be attached by its id.
    pub fn shmat(
        &self,
        caller: &Caller,
        table: &mut AttachTable,
        id: i32,
        addr: usize,
        flags: i32,
    ) -> Result<usize, Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let remap = flags & abi::SHM_REMAP != 0;
        let lba = abi::SHMLBA as usize;
        let fixed = if addr != 0 {
            let mut addr = addr;
            if addr % lba != 0 {
                if flags & abi::SHM_RND == 0 {
                    return Err(Errno::EINVAL);
                }
                addr &= !(lba - 1);
                if addr == 0 && remap {
                    return Err(Errno::EINVAL);
                }
            }
            Some(addr)
        } else if remap {
            return Err(Errno::EINVAL);
        } else {
            None
        };
        let (prot, access) = attach_protection(flags);
        let ids = &self.shm().ids;
        let seg = ids.registry.get(Id::from_raw(id))?;
        let memory = seg.begin_attach(&caller.cred, access)?;
        let (len, align) = (seg.map_len() as usize, seg.page_size() as usize);
        let lowest = if caller.cred.has(Capabilities::SYS_RAWIO) {
            0
        } else {
            usize::try_from(ids.ns.limits.mmap_min_addr()).unwrap_or(usize::MAX)
        };
        // A fixed address of 0 (from SHM_RND) maps without the overlap check, as Linux's.
        let place = match fixed {
            Some(a) => table.place_fixed(a, len, align, remap || a == 0, lowest),
            None => table.place_free(len, align),
        };
        match place {
            Ok(start) => {
                let now = ids.ns.clock.realtime();
                seg.finish_attach(caller.pid, now);
                let attach = ids.attaches.fetch_add(1, Ordering::Relaxed);
                table.insert(Mapping::new(
                    Arc::clone(ids),
                    seg,
                    memory,
                    start,
                    prot,
                    attach,
                    table.pid(),
                ));
                Ok(start)
            }
            Err(e) => {
                drop(memory);
                if let Some(memory) = seg.close(None) {
                    ids.destroy(&seg, memory);
                }
                Err(e)
            }
        }
    }

    /// `shmdt(2)` (`ksys_shmdt`) from the address space `table`: `EINVAL` for an address not
    /// page-aligned, or where no attachment starts; otherwise the attachment at `addr` and
    /// every fragment of it within the segment's size are unmapped.
    pub fn shmdt(&self, table: &mut AttachTable, addr: usize) -> Result<(), Errno> {
        table.detach(addr)
    }

    /// `shmctl(2)` with `IPC_STAT` (returns 0), `SHM_STAT` or `SHM_STAT_ANY` (take an index,
    /// return the full id).
    pub fn shmctl_stat(
        &self,
        caller: &Caller,
        id: i32,
        cmd: ShmCtlCmd,
    ) -> Result<(i32, abi::Shmid64Ds), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            ShmCtlCmd::Stat => {
                let seg = self.shm().find_by_id(Id::from_raw(id))?;
                Ok((
                    0,
                    crate::ipc::IpcObject::stat_as(&*seg, Some(&caller.cred))?,
                ))
            }
            ShmCtlCmd::ShmStat | ShmCtlCmd::ShmStatAny => {
                let any = cmd == ShmCtlCmd::ShmStatAny;
                let (id, ds) = self.shm().stat_index(&caller.cred, id, any)?;
                Ok((id.raw(), ds))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `shmctl(IPC_SET)`: the lookup (`EINVAL`), ownership (`EPERM`), the new ids (`EINVAL`);
    /// then uid, gid and the low nine mode bits change and `shm_ctime` is stamped.
    pub fn shmctl_set(&self, caller: &Caller, id: i32, ds: &abi::Shmid64Ds) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let now = self.clock().realtime();
        self.shm()
            .ids
            .registry
            .with(Id::from_raw(id), |s| s.set(&caller.cred, &ds.shm_perm, now))
    }

    /// `shmctl(IPC_RMID)`; see [`ShmSegments::remove`].
    pub fn shmctl_rmid(&self, caller: &Caller, id: i32) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.shm().remove(&caller.cred, Id::from_raw(id))
    }

    /// `shmctl(SHM_LOCK)` or `shmctl(SHM_UNLOCK)` (`shmctl_do_lock`): the lookup (`EINVAL`),
    /// then as the segment's lock check — no permission bits are consulted.
    pub fn shmctl_lock(&self, caller: &Caller, id: i32, cmd: ShmCtlCmd) -> Result<(), Errno> {
        let lock = match cmd {
            ShmCtlCmd::Lock => true,
            ShmCtlCmd::Unlock => false,
            _ => return Err(Errno::EINVAL),
        };
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let ids = &self.shm().ids;
        let seg = ids.registry.get(Id::from_raw(id))?;
        seg.lock(caller, lock, &ids.locked)
    }

    /// `shmctl(2)` with `IPC_INFO`: the highest used index and the `shminfo64`. The id is
    /// ignored, but a negative one is `EINVAL`.
    pub fn shmctl_ipc_info(&self, id: i32) -> Result<(i32, abi::Shminfo64), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(self.shm().ipc_info())
    }

    /// `shmctl(2)` with `SHM_INFO`: the highest used index and the `shm_info`. The id is
    /// ignored, but a negative one is `EINVAL`.
    pub fn shmctl_shm_info(&self, id: i32) -> Result<(i32, abi::ShmInfo), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(self.shm().shm_info())
    }

    /// Thread `caller.tid` exits (`exit_shm`): the segments it created become orphans, and
    /// with `shm_rmid_forced` those with nothing attached are destroyed. Its process's
    /// mappings go when its [`AttachTable`] is cleared or dropped.
    pub fn shm_exit_thread(&self, caller: &Caller) {
        self.shm().destroy_each(|s| s.creator_exits(caller.tid));
    }
}

/// The protection and the access `shmat`'s flags ask for.
fn attach_protection(flags: i32) -> (Protection, Access) {
    let (mut prot, mut access) = if flags & abi::SHM_RDONLY != 0 {
        (Protection::READ, Access::READ)
    } else {
        (
            Protection::READ | Protection::WRITE,
            Access::READ | Access::WRITE,
        )
    };
    if flags & abi::SHM_EXEC != 0 {
        prot |= Protection::EXEC;
        access |= Access::EXEC;
    }
    (prot, access)
}
