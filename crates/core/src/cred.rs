//! Who is calling: credentials, capabilities and the caller context every operation takes.
//!
//! Nothing here is ambient: each call names its caller explicitly, so one process can serve
//! many tasks of many sandboxes.

use std::sync::Arc;

use crate::abi;
use crate::sem::SemUndo;
use crate::wait::Blocker;

bitflags::bitflags! {
    /// The capabilities System V IPC consults (`include/uapi/linux/capability.h`), as held in
    /// the user namespace that owns the IPC namespace.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Capabilities: u64 {
        /// Bypasses `ipcperms` (`CAP_IPC_OWNER`).
        const IPC_OWNER = 1 << abi::CAP_IPC_OWNER;
        /// Locks segments without owning them (`CAP_IPC_LOCK`).
        const IPC_LOCK = 1 << abi::CAP_IPC_LOCK;
        /// `IPC_SET`/`IPC_RMID` without owning the object (`CAP_SYS_ADMIN`).
        const SYS_ADMIN = 1 << abi::CAP_SYS_ADMIN;
        /// Raises `msg_qbytes` above `msgmnb` (`CAP_SYS_RESOURCE`, checked in the initial user
        /// namespace by Linux: grant it only to callers that hold it there).
        const SYS_RESOURCE = 1 << abi::CAP_SYS_RESOURCE;
        /// Maps below `vm.mmap_min_addr` (`CAP_SYS_RAWIO`, checked in the initial user
        /// namespace by Linux).
        const SYS_RAWIO = 1 << abi::CAP_SYS_RAWIO;
        /// Writes the `*_next_id` knobs (`CAP_CHECKPOINT_RESTORE`).
        const CHECKPOINT_RESTORE = 1 << abi::CAP_CHECKPOINT_RESTORE;
    }
}

/// The identity a permission check looks at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Real user id: the user `SHM_LOCK` charges (`current_ucounts()` is keyed by it).
    pub ruid: u32,
    /// Effective user id: decides the owner class and ownership.
    pub euid: u32,
    /// Effective group id: becomes the `gid`/`cgid` of objects the caller creates.
    pub egid: u32,
    /// Filesystem group id: the group Linux's `in_group_p` tests (normally equal to `egid`).
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Effective capabilities.
    pub caps: Capabilities,
}

impl Credentials {
    /// Root with every capability.
    pub fn root() -> Self {
        Self {
            caps: Capabilities::all(),
            ..Self::user(0, 0)
        }
    }

    /// An unprivileged user: `uid` as real and effective uid, `gid` as egid and fsgid, no
    /// groups, no capabilities.
    pub fn user(uid: u32, gid: u32) -> Self {
        Self {
            ruid: uid,
            euid: uid,
            egid: gid,
            fsgid: gid,
            groups: Vec::new(),
            caps: Capabilities::empty(),
        }
    }

    /// These credentials with `ruid` as the real uid (a set-uid program, or a task that
    /// changed only its effective uid).
    pub fn with_ruid(mut self, ruid: u32) -> Self {
        self.ruid = ruid;
        self
    }

    /// These credentials with `caps` as the capability set.
    pub fn with_caps(mut self, caps: Capabilities) -> Self {
        self.caps = caps;
        self
    }

    /// These credentials with supplementary `groups`.
    pub fn with_groups(mut self, groups: Vec<u32>) -> Self {
        self.groups = groups;
        self
    }

    /// Whether the caller is in group `gid` (`in_group_p`: the fsgid or a supplementary group).
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }

    /// Whether the caller holds every capability of `caps`.
    pub fn has(&self, caps: Capabilities) -> bool {
        self.caps.contains(caps)
    }
}

/// Linux's default `RLIMIT_MEMLOCK` (`MLOCK_LIMIT`, 8 MiB).
pub const DEFAULT_MEMLOCK_LIMIT: u64 = 8 << 20;

/// The task making a call: its credentials, its process and thread ids, and the blocker it
/// sleeps on. Linux records the process id (tgid) everywhere except where noted.
#[derive(Clone)]
pub struct Caller {
    /// Credentials for permission checks and for objects the caller creates.
    pub cred: Credentials,
    /// Process id (tgid): `msg_lspid`, `msg_lrpid`, `sempid`, `shm_cpid`, `shm_lpid`.
    pub pid: i32,
    /// Thread id: the `msg_lrpid` of a message handed straight to this receiver.
    pub tid: i32,
    /// Where the caller sleeps when an operation blocks.
    pub blocker: Arc<dyn Blocker>,
    /// The process's `SEM_UNDO` list, shared by its threads (clones of this caller). It is
    /// applied when its last holder drops it: when the process exits, or when the caller
    /// [unshares](Self::unshare_undo) it as the last sharer.
    pub undo: SemUndo,
    /// `RLIMIT_MEMLOCK` in bytes (`u64::MAX` for unlimited): how much `SHM_LOCK` may lock for
    /// the caller's user without `CAP_IPC_LOCK`; 0 forbids it. Linux's default is 8 MiB.
    pub memlock_limit: u64,
}

impl Caller {
    /// A single-threaded process's caller (`tid == pid`).
    pub fn new(cred: Credentials, pid: i32, blocker: Arc<dyn Blocker>) -> Self {
        Self {
            cred,
            pid,
            tid: pid,
            blocker,
            undo: SemUndo::new(pid),
            memlock_limit: DEFAULT_MEMLOCK_LIMIT,
        }
    }

    /// Gives the caller a new, empty undo list (`unshare(CLONE_SYSVSEM)`), dropping its share
    /// of the old one, which is applied if no one else holds it.
    pub fn unshare_undo(&mut self) {
        self.undo = SemUndo::new(self.pid);
    }

    /// This caller with `RLIMIT_MEMLOCK` at `bytes`.
    pub fn with_memlock_limit(mut self, bytes: u64) -> Self {
        self.memlock_limit = bytes;
        self
    }

    /// This caller as thread `tid` of the same process.
    pub fn with_tid(mut self, tid: i32) -> Self {
        self.tid = tid;
        self
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("cred", &self.cred)
            .field("pid", &self.pid)
            .field("tid", &self.tid)
            .finish_non_exhaustive()
    }
}
