//! One shared-memory segment: its bookkeeping, and the open/close hooks its attachments run.
//!
//! Mirrors `newseg()`, `__shm_open()`, `shm_close()`, `shm_may_destroy()`, `shmctl_stat()`,
//! `shmctl_down()` and `shmctl_do_lock()` of Linux `ipc/shm.c`.
//!
//! # Lifetime
//!
//! A segment holds its memory until it is destroyed: by `IPC_RMID` when nothing is attached,
//! else by the close of its last attachment once it is marked `SHM_DEST` (or, with
//! `shm_rmid_forced`, whenever its attach count drops to zero). Destruction takes the memory
//! out under the segment's lock, so every later attach finds it gone (`EIDRM`), and then
//! unlinks the segment from the registry. Attachments hold the memory too, so it is freed
//! when the last of them and the segment let go — and an attachment keeps `nattch` above
//! zero, so that never happens while one exists.
//!
//! # Locking
//!
//! Lock order: `Registry::table` → `Segment::state` → `ShmIds::locked`. Nothing under `state`
//! reads the clock, allocates memory or calls the embedder.
//!
//! # Invariants (whenever `state` is unlocked)
//!
//! - `nattch` counts the live mappings (attachments and their fragments) plus attaches in
//!   progress;
//! - `memory` is `None` exactly when the segment is destroyed, and then `nattch` is 0;
//! - `locked_by` is set exactly when `SHM_LOCKED` is in the mode, and names the user whose
//!   lock count holds the segment's pages.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::Errno;
use crate::abi;
use crate::cred::{Caller, Capabilities, Credentials};
use crate::ipc::{Access, Id, IpcObject, Key, Perm};
use crate::ns::Shared;
use crate::shm::memory::Memory;

/// A System V shared-memory segment, as `shmget(2)` creates it.
pub struct Segment {
    ns: Arc<Shared>,
    id: Id,
    /// `shm_segsz`: the size asked for, not rounded.
    segsz: u64,
    /// The size of the memory and of every mapping: `segsz` rounded up to (huge) pages.
    map_len: u64,
    /// The page size of its memory: `PAGE_SIZE`, or the huge page size of a `SHM_HUGETLB`
    /// segment (mappings are aligned to it).
    page_size: u64,
    /// Lock 2 of 3 (after the registry's table).
    state: Mutex<SegmentState>,
}

/// Huge pages reserved from the namespace's pool, returned when dropped.
pub(crate) struct HugePages {
    ns: Arc<Shared>,
    reserved: u64,
}

impl HugePages {
    /// Reserves `pages` huge pages (none with `SHM_NORESERVE`), or `ENOMEM`.
    pub(crate) fn reserve(ns: &Arc<Shared>, pages: u64) -> Result<Self, Errno> {
        if !ns.limits.reserve_hugepages(pages) {
            return Err(Errno::ENOMEM);
        }
        Ok(Self {
            ns: Arc::clone(ns),
            reserved: pages,
        })
    }
}

impl Drop for HugePages {
    fn drop(&mut self) {
        self.ns.limits.release_hugepages(self.reserved);
    }
}

struct SegmentState {
    perm: Perm,
    memory: Option<Arc<dyn Memory>>,
    nattch: u64,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: i32,
    lpid: i32,
    /// The thread that created the segment, until it exits (`shm_creator`).
    creator: Option<i32>,
    /// The real uid charged for `SHM_LOCK` (`mlock_user`).
    locked_by: Option<u32>,
    /// The huge pages a `SHM_HUGETLB` segment reserved, returned when it is destroyed.
    reserved: Option<HugePages>,
}

/// What a new segment is made of; checked and allocated by `newseg` before the id exists.
pub(crate) struct NewSegment {
    pub(crate) perm: Perm,
    pub(crate) segsz: u64,
    pub(crate) map_len: u64,
    pub(crate) page_size: u64,
    pub(crate) reserved: Option<HugePages>,
    pub(crate) memory: Arc<dyn Memory>,
    pub(crate) now: i64,
    pub(crate) pid: i32,
    pub(crate) tid: i32,
}

/// What a segment's memory is charged to while it is locked: pages by user.
pub(crate) type LockedPages = Mutex<std::collections::HashMap<u32, u64>>;

impl Segment {
    pub(crate) fn new(ns: Arc<Shared>, id: Id, new: NewSegment) -> Self {
        Self {
            ns,
            id,
            segsz: new.segsz,
            map_len: new.map_len,
            page_size: new.page_size,
            state: Mutex::new(SegmentState {
                perm: new.perm,
                memory: Some(new.memory),
                nattch: 0,
                atime: 0,
                dtime: 0,
                ctime: new.now,
                cpid: new.pid,
                lpid: 0,
                creator: Some(new.tid),
                locked_by: None,
                reserved: new.reserved,
            }),
        }
    }

    /// The segment's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// `shm_segsz`: the size it was created with.
    pub fn size(&self) -> u64 {
        self.segsz
    }

    /// The length of every mapping of it: the size rounded up to pages (huge pages for a
    /// `SHM_HUGETLB` segment).
    pub fn map_len(&self) -> u64 {
        self.map_len
    }

    /// Whether it is a `SHM_HUGETLB` segment.
    pub fn is_hugetlb(&self) -> bool {
        self.page_size != abi::PAGE_SIZE
    }

    /// The page size mappings of it are aligned to: `PAGE_SIZE`, or the huge page size.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// Pages counted in `shm_tot`: the size in (small) pages, rounded up.
    pub(crate) fn pages(&self) -> u64 {
        self.segsz.div_ceil(abi::PAGE_SIZE)
    }

    /// The current attach count (`shm_nattch`).
    pub fn nattch(&self) -> u64 {
        self.state.lock().nattch
    }

    /// `shm_more_checks` then `ipcperms` for `shmget` of an existing key.
    pub(crate) fn check_get(&self, cred: &Credentials, size: u64, flags: i32) -> Result<(), Errno> {
        if self.segsz < size {
            return Err(Errno::EINVAL);
        }
        self.state
            .lock()
            .perm
            .check(cred, Access::requested_by(flags))
    }

    /// The first half of `do_shmat` under the lock: `ipcperms` (`EACCES`), a segment being
    /// destroyed (`EIDRM`), then one more attach in progress. Returns the memory to map.
    pub(crate) fn begin_attach(
        &self,
        cred: &Credentials,
        access: Access,
    ) -> Result<Arc<dyn Memory>, Errno> {
        let mut st = self.state.lock();
        st.perm.check(cred, access)?;
        let memory = st.memory.clone().ok_or(Errno::EIDRM)?;
        st.nattch += 1;
        Ok(memory)
    }

    /// A mapping of an attach in progress was made: it becomes that mapping (`shm_open`'s
    /// stamps; the count is already there).
    pub(crate) fn finish_attach(&self, pid: i32, now: i64) {
        let mut st = self.state.lock();
        st.atime = now;
        st.lpid = pid;
    }

    /// `shm_open`: one more mapping (fork, or a mapping split in two).
    pub(crate) fn open(&self, pid: i32, now: i64) {
        let mut st = self.state.lock();
        st.atime = now;
        st.lpid = pid;
        st.nattch += 1;
    }

    /// `shm_close` (with `stamp`) or the end of a failed attach (without): one mapping fewer.
    /// Returns the memory when the segment must now be destroyed (`shm_may_destroy`); the
    /// caller then unlinks it.
    pub(crate) fn close(&self, stamp: Option<(i32, i64)>) -> Option<Arc<dyn Memory>> {
        let forced = self.ns.limits.shm_rmid_forced();
        let mut st = self.state.lock();
        if let Some((pid, now)) = stamp {
            st.lpid = pid;
            st.dtime = now;
        }
        st.nattch = st.nattch.saturating_sub(1);
        st.take_if_destroyable(forced)
    }

    /// `IPC_RMID` under the registry's write lock: ownership (`EPERM`), then `SHM_DEST` and a
    /// private key while attached (`Ok(None)`), or destruction (the memory).
    pub(crate) fn remove(&self, cred: &Credentials) -> Result<Option<Arc<dyn Memory>>, Errno> {
        let mut st = self.state.lock();
        if st.memory.is_none() {
            // Destroyed by a close that has not unlinked it yet: already gone.
            return Err(Errno::EINVAL);
        }
        st.perm.check_owner(cred)?;
        Ok(st.rmid())
    }

    /// Namespace teardown (`shm_exit_ns` → `do_shm_rmid` without the checks).
    pub(crate) fn remove_unchecked(&self) -> Option<Arc<dyn Memory>> {
        self.state.lock().rmid()
    }

    /// The creating thread `tid` exits (`exit_shm`): the segment is orphaned, and destroyed
    /// now if `shm_rmid_forced` allows it.
    pub(crate) fn creator_exits(&self, tid: i32) -> Option<Arc<dyn Memory>> {
        let forced = self.ns.limits.shm_rmid_forced();
        let mut st = self.state.lock();
        if st.creator != Some(tid) {
            return None;
        }
        st.creator = None;
        if forced {
            st.take_if_destroyable(true)
        } else {
            None
        }
    }

    /// `shm_try_destroy_orphaned`: an orphan with nothing attached is destroyed.
    pub(crate) fn destroy_if_orphan(&self) -> Option<Arc<dyn Memory>> {
        let mut st = self.state.lock();
        if st.creator.is_some() {
            return None;
        }
        st.take_if_destroyable(true)
    }

    /// Its memory, or `None` once destroyed (for `shm_rss`).
    pub(crate) fn memory(&self) -> Option<Arc<dyn Memory>> {
        self.state.lock().memory.clone()
    }

    /// What a destroyed segment still holds of the namespace: the user charged for its lock
    /// and its huge page reservation.
    pub(crate) fn take_charges(&self) -> (Option<u32>, Option<HugePages>) {
        let mut st = self.state.lock();
        (st.locked_by.take(), st.reserved.take())
    }

    /// `IPC_SET` (`shmctl_down`): ownership (`EPERM`), the new ids (`EINVAL`), then the owner
    /// and the low mode bits change and `shm_ctime` is stamped.
    pub(crate) fn set(
        &self,
        cred: &Credentials,
        new: &abi::Ipc64Perm,
        now: i64,
    ) -> Result<(), Errno> {
        let mut st = self.state.lock();
        if st.memory.is_none() {
            return Err(Errno::EINVAL);
        }
        st.perm.check_owner(cred)?;
        st.perm.update(new)?;
        st.ctime = now;
        Ok(())
    }

    /// `SHM_LOCK` / `SHM_UNLOCK` (`shmctl_do_lock`): a segment being destroyed is `EIDRM`;
    /// without `CAP_IPC_LOCK` the caller must be owner or creator (`EPERM`) and, to lock,
    /// have a non-zero `RLIMIT_MEMLOCK` (`EPERM`). Locking charges the whole segment to the
    /// caller's real uid, up to the limit (`ENOMEM`; `user_shm_lock` on `current_ucounts()`);
    /// a `SHM_HUGETLB` segment is left as it is.
    pub(crate) fn lock(
        &self,
        caller: &Caller,
        lock: bool,
        charges: &LockedPages,
    ) -> Result<(), Errno> {
        let cred = &caller.cred;
        let privileged = cred.has(Capabilities::IPC_LOCK);
        let mut st = self.state.lock();
        if st.memory.is_none() {
            return Err(Errno::EIDRM);
        }
        if !privileged {
            if cred.euid != st.perm.uid && cred.euid != st.perm.cuid {
                return Err(Errno::EPERM);
            }
            if lock && caller.memlock_limit == 0 {
                return Err(Errno::EPERM);
            }
        }
        if self.is_hugetlb() {
            return Ok(());
        }
        let pages = self.map_len / abi::PAGE_SIZE;
        if lock {
            if st.locked_by.is_none() {
                let mut charged = charges.lock();
                let held = charged.entry(cred.ruid).or_default();
                let limit = caller.memlock_limit / abi::PAGE_SIZE;
                let total = held.saturating_add(pages);
                if total > limit && caller.memlock_limit != u64::MAX && !privileged {
                    return Err(Errno::ENOMEM);
                }
                *held = total;
                st.locked_by = Some(cred.ruid);
                st.perm.mode |= abi::SHM_LOCKED as u32;
            }
        } else if let Some(uid) = st.locked_by.take() {
            uncharge(charges, uid, pages);
            st.perm.mode &= !(abi::SHM_LOCKED as u32);
        }
        Ok(())
    }
}

/// Gives back `pages` locked by `uid`.
pub(crate) fn uncharge(charges: &LockedPages, uid: u32, pages: u64) {
    let mut charged = charges.lock();
    if let Some(held) = charged.get_mut(&uid) {
        *held = held.saturating_sub(pages);
        if *held == 0 {
            charged.remove(&uid);
        }
    }
}

impl SegmentState {
    /// `do_shm_rmid`: attached, the segment is marked `SHM_DEST` and its key made private;
    /// otherwise its memory is taken (destroyed).
    fn rmid(&mut self) -> Option<Arc<dyn Memory>> {
        if self.nattch > 0 {
            self.perm.mode |= abi::SHM_DEST as u32;
            self.perm.key = Key::PRIVATE;
            return None;
        }
        self.memory.take()
    }

    /// `shm_may_destroy`: nothing attached, and removed (or `forced`); takes the memory.
    fn take_if_destroyable(&mut self, forced: bool) -> Option<Arc<dyn Memory>> {
        let removed = self.perm.mode & abi::SHM_DEST as u32 != 0;
        if self.nattch == 0 && (forced || removed) {
            self.memory.take()
        } else {
            None
        }
    }
}

impl IpcObject for Segment {
    type Stat = abi::Shmid64Ds;

    fn id(&self) -> Id {
        self.id
    }

    fn stat_as(&self, cred: Option<&Credentials>) -> Result<abi::Shmid64Ds, Errno> {
        let st = self.state.lock();
        if let Some(cred) = cred {
            st.perm.check(cred, Access::READ)?;
        }
        if st.memory.is_none() {
            return Err(Errno::EIDRM);
        }
        Ok(abi::Shmid64Ds {
            shm_perm: st.perm.to_abi(self.id),
            shm_segsz: self.segsz,
            shm_atime: st.atime,
            shm_dtime: st.dtime,
            shm_ctime: st.ctime,
            shm_cpid: st.cpid,
            shm_lpid: st.lpid,
            shm_nattch: st.nattch,
            ..abi::Shmid64Ds::default()
        })
    }
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.lock();
        f.debug_struct("Segment")
            .field("id", &self.id)
            .field("size", &self.segsz)
            .field("nattch", &st.nattch)
            .field("mode", &format_args!("{:o}", st.perm.mode))
            .finish_non_exhaustive()
    }
}
