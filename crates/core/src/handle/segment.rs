//! [`SharedSegment`]: a shared-memory segment, attached, read and written by offset.

use std::fmt;
use std::sync::Arc;

use crate::Errno;
use crate::abi::{self, Shmid64Ds};
use crate::cred::Caller;
use crate::ipc::{Id, Key};
use crate::ns::IpcNamespace;
use crate::shm::{AttachTable, Memory, ShmCtlCmd};

use super::{existing, mode_flags};

/// A segment attached for this handle: `shmget` and `shmat` in one call, `shmdt` on drop.
///
/// The handle has an address space of its own holding the one attachment, so it counts once
/// in `shm_nattch` and its drop is a detach recorded with its caller's pid. Bytes are read and
/// written by offset from the start of the segment, with the attachment's protection: a
/// read-only handle's writes fail with `EFAULT`, as a store through a `SHM_RDONLY` mapping
/// faults. Offsets up to the end of the last page are accessible, as on Linux.
///
/// ```
/// use std::sync::Arc;
/// use sysvipc::{Caller, Credentials, IpcNamespace, Key, SharedSegment, ThreadBlocker};
///
/// let ns = Arc::new(IpcNamespace::new());
/// let me = Caller::new(Credentials::root(), 100, Arc::new(ThreadBlocker::new()));
/// let key = Key::from_name("frames");
/// let writer = SharedSegment::create(ns.clone(), me.clone(), key, 4096, 0o600)?;
/// let reader = SharedSegment::open_read_only(ns.clone(), me, key)?;
/// writer.write(10, b"shared")?;
/// let mut buf = [0; 6];
/// reader.read(10, &mut buf)?;
/// assert_eq!(&buf, b"shared");
/// assert_eq!(reader.write(0, b"x"), Err(sysvipc::Errno::EFAULT));
/// assert_eq!(writer.stat()?.shm_nattch, 2);
/// # Ok::<(), sysvipc::Errno>(())
/// ```
pub struct SharedSegment {
    ns: Arc<IpcNamespace>,
    caller: Caller,
    id: Id,
    size: u64,
    addr: usize,
    space: AttachTable,
}

impl SharedSegment {
    /// Opens the segment named by `key`, creating it with `size` bytes and permission bits
    /// `mode` if it does not exist (`shmget(key, size, IPC_CREAT | mode)`), and attaches it
    /// read-write. [`Key::PRIVATE`] always creates a new segment.
    ///
    /// `EINVAL` for `mode` bits outside `0o777` and as `shmget` (a size outside
    /// `1..=shmmax`, or an existing segment smaller than `size`); `EACCES` as `shmget` and
    /// `shmat`; `ENOSPC` and `ENOMEM` as `shmget`.
    pub fn create(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        size: u64,
        mode: u32,
    ) -> Result<Self, Errno> {
        let flags = abi::IPC_CREAT | mode_flags(mode)?;
        Self::attach(ns, caller, key, size, flags, 0)
    }

    /// As [`create`](Self::create), but `EEXIST` if a segment for `key` exists.
    pub fn create_new(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        size: u64,
        mode: u32,
    ) -> Result<Self, Errno> {
        let flags = abi::IPC_CREAT | abi::IPC_EXCL | mode_flags(mode)?;
        Self::attach(ns, caller, key, size, flags, 0)
    }

    /// Attaches the existing segment named by `key` read-write: `ENOENT` if there is none
    /// ([`Key::PRIVATE`] included), `EACCES` without read and write permission.
    pub fn open(ns: Arc<IpcNamespace>, caller: Caller, key: Key) -> Result<Self, Errno> {
        Self::attach(ns, caller, existing(key)?, 0, 0, 0)
    }

    /// Attaches the existing segment named by `key` read-only (`SHM_RDONLY`): `ENOENT` if
    /// there is none, `EACCES` without read permission.
    pub fn open_read_only(ns: Arc<IpcNamespace>, caller: Caller, key: Key) -> Result<Self, Errno> {
        Self::attach(ns, caller, existing(key)?, 0, 0, abi::SHM_RDONLY)
    }

    fn attach(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        size: u64,
        get_flags: i32,
        at_flags: i32,
    ) -> Result<Self, Errno> {
        let id = ns.shm().find_or_create(&caller, key, size, get_flags)?;
        let mut space = AttachTable::new(caller.pid);
        let addr = ns.shmat(&caller, &mut space, id.raw(), 0, at_flags)?;
        let size = space.find(addr).map_or(0, |m| m.segment().size());
        Ok(Self {
            ns,
            caller,
            id,
            size,
            addr,
            space,
        })
    }

    /// Removes the segment named by `key` without attaching it (`ipcrm -M`): `ENOENT` if
    /// there is none, then as [`destroy`](Self::destroy).
    pub fn remove(ns: &IpcNamespace, caller: &Caller, key: Key) -> Result<(), Errno> {
        let id = ns.shm().find_or_create(caller, existing(key)?, 0, 0)?;
        ns.shm().remove(&caller.cred, id)
    }

    /// Removes the segment (`shmctl(IPC_RMID)`): its key is free at once, and it dies when
    /// its last attachment — this handle's included — is detached. `EPERM` unless the
    /// caller owns or created it or holds `CAP_SYS_ADMIN`.
    pub fn destroy(&self) -> Result<(), Errno> {
        self.ns.shm().remove(&self.caller.cred, self.id)
    }

    /// The segment's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The segment's size in bytes (`shm_segsz`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether this handle is attached read-only.
    pub fn is_read_only(&self) -> bool {
        self.space
            .find(self.addr)
            .is_none_or(|m| !m.protection().contains(crate::shm::Protection::WRITE))
    }

    /// Copies `buf.len()` bytes at `offset` into `buf` (`EFAULT` past the last page).
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.space.read(self.address(offset)?, buf)
    }

    /// Copies `data` to `offset` (`EFAULT` past the last page, or on a read-only handle;
    /// nothing is written then).
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), Errno> {
        self.space.write(self.address(offset)?, data)
    }

    /// The whole segment (`size()` bytes), copied out.
    pub fn to_vec(&self) -> Result<Vec<u8>, Errno> {
        let len = usize::try_from(self.size).map_err(|_| Errno::ENOMEM)?;
        let mut buf = vec![0; len];
        self.read(0, &mut buf)?;
        Ok(buf)
    }

    /// The segment's `shmid64_ds` (`shmctl(IPC_STAT)`; read permission).
    pub fn stat(&self) -> Result<Shmid64Ds, Errno> {
        self.ns
            .shmctl_stat(&self.caller, self.id.raw(), ShmCtlCmd::Stat)
            .map(|(_, ds)| ds)
    }

    /// The segment's memory, for an embedder that maps it itself.
    pub fn memory(&self) -> Option<&Arc<dyn Memory>> {
        self.space.find(self.addr).map(|m| m.memory())
    }

    fn address(&self, offset: u64) -> Result<usize, Errno> {
        usize::try_from(offset)
            .ok()
            .and_then(|o| self.addr.checked_add(o))
            .ok_or(Errno::EFAULT)
    }
}

impl fmt::Debug for SharedSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSegment")
            .field("id", &self.id)
            .field("size", &self.size)
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}
