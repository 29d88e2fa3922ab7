//! The process's IPC state: one namespace, one `SEM_UNDO` list, one address space.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use sysvipc::abi;
use sysvipc::shm::{MemfdSource, TASK_SIZE};
use sysvipc::{
    AttachTable, Caller, Errno, Id, IpcNamespace, Protection, SemUndo, SystemClock,
    cred::DEFAULT_MEMLOCK_LIMIT,
};
use sysvipc_syscalls::{SysResult, Task};

use crate::memory::OwnMemory;
use crate::{blocker, config, sys};

/// How much address space `shmat` places free attachments in, tried from the largest down.
const WINDOWS: [usize; 4] = [1 << 40, 1 << 36, 1 << 32, 1 << 28];

/// Everything the library keeps for the process.
///
/// Locks: `undo` and `space` are never held together, and neither while a call runs in the
/// namespace, except `space` across `shmat` and `shmdt`, which never sleep.
pub(crate) struct Process {
    ns: IpcNamespace,
    /// The process's `SEM_UNDO` list, with the pid it belongs to (a forked child finds its
    /// parent's here and starts its own). `None` once applied at exit.
    undo: Mutex<(i32, Option<SemUndo>)>,
    /// The shm attachments of the address space.
    space: Mutex<Space>,
}

/// The address space's attachments and the reservation free placements go into.
struct Space {
    table: AttachTable,
    /// The reserved range `low..high`, made at the first `shmat`; `None` before, or if no
    /// reservation could be made (free placements then fail with `ENOMEM`).
    window: Option<(usize, usize)>,
    reserved: bool,
}

static PROCESS: OnceLock<Process> = OnceLock::new();

/// The process's state, created at the first call.
pub(crate) fn get() -> &'static Process {
    PROCESS.get_or_init(|| {
        let ns = IpcNamespace::with_clock_and_memory(Arc::new(SystemClock), Arc::new(MemfdSource));
        config::apply_env(ns.limits());
        let pid = sys::getpid();
        Process {
            ns,
            undo: Mutex::new((pid, Some(SemUndo::new(pid)))),
            space: Mutex::new(Space {
                table: AttachTable::with_window(pid, 0, 0),
                window: None,
                reserved: false,
            }),
        }
    })
}

/// Applies the process's `SEM_UNDO` list, as `exit_sem()` does when a process exits: runs
/// from the library's destructor, after the program's `atexit` handlers. A forked child that
/// never used its list leaves its parent's alone.
pub(crate) fn exit() {
    let Some(p) = PROCESS.get() else { return };
    let pid = sys::getpid();
    let taken = {
        let mut undo = p.undo.lock();
        if undo.0 == pid { undo.1.take() } else { None }
    };
    drop(taken);
}

impl Process {
    /// The calling thread as the kernel sees it now.
    fn caller(&self) -> Caller {
        let pid = sys::getpid();
        let (undo, forked) = {
            let mut u = self.undo.lock();
            let forked = u.0 != pid;
            if forked {
                // A forked child: the list it inherited is the parent's (the child's copy of
                // it must not be applied), and the kernel gives a child an empty one.
                std::mem::forget(u.1.take());
                *u = (pid, Some(SemUndo::new(pid)));
            }
            // After exit() has applied the list: a list for this call only, applied when it
            // ends, as the process is going away anyway.
            (u.1.clone().unwrap_or_else(|| SemUndo::new(pid)), forked)
        };
        if forked {
            self.space.lock().adopt(pid);
        }
        Caller {
            cred: sys::credentials(),
            pid,
            tid: thread_id(pid),
            blocker: blocker::current(),
            undo,
            // Only SHM_LOCK consults it: read by `shmctl` (one syscall fewer elsewhere).
            memlock_limit: DEFAULT_MEMLOCK_LIMIT,
        }
    }

    /// Runs a call that does not map memory: copies go straight to the process's memory,
    /// where any attached segment is really mapped.
    pub(crate) fn call(
        &self,
        f: impl FnOnce(&IpcNamespace, &mut Task<'_>) -> SysResult,
    ) -> SysResult {
        self.call_as(self.caller(), f)
    }

    /// `shmctl`: as [`call`](Self::call), with the process's `RLIMIT_MEMLOCK` for `SHM_LOCK`.
    pub(crate) fn shmctl(&self, shmid: i32, cmd: i32, buf: u64) -> SysResult {
        let mut caller = self.caller();
        if let Some(limit) = sys::memlock_limit() {
            caller.memlock_limit = limit;
        }
        self.call_as(caller, |ns, t| {
            sysvipc_syscalls::shmctl(ns, t, shmid, cmd, buf)
        })
    }

    fn call_as(
        &self,
        caller: Caller,
        f: impl FnOnce(&IpcNamespace, &mut Task<'_>) -> SysResult,
    ) -> SysResult {
        let mut none = AttachTable::with_window(caller.pid, 0, 0);
        let memory = OwnMemory(caller.pid);
        let mut task = Task::new(&caller, &memory, &mut none);
        f(&self.ns, &mut task)
    }

    /// `shmat(shmid, shmaddr, shmflg)`: attaches in the table, then maps the segment's memfd
    /// there for real. The table and the mappings change together under the space's lock.
    pub(crate) fn shmat(&self, shmid: i32, shmaddr: usize, shmflg: i32) -> Result<usize, Errno> {
        let caller = self.caller();
        let mut space = self.space.lock();
        space.adopt(caller.pid);
        space.reserve();
        // A fixed address outside the reservation may hold the program's own mappings, which
        // the table does not know: claim the range first, as the kernel's overlap check
        // would refuse it (EINVAL), unless SHM_REMAP asks to replace them.
        let fixed_len = fixed_address(shmaddr, shmflg)
            .filter(|_| shmflg & abi::SHM_REMAP == 0)
            .and_then(|at| {
                let seg = self.ns.shm().find_by_id(Id::from_raw(shmid)).ok()?;
                Some((at, seg.map_len() as usize))
            })
            // A range that wraps or ends past the address space is the syscall layer's to
            // refuse (EINVAL, ENOMEM), as the kernel refuses it before any mapping.
            .filter(|&(at, len)| at.checked_add(len).is_some_and(|end| end <= TASK_SIZE))
            .filter(|&(at, len)| !space.inside(at, len));
        let mut claimed = None;
        if let Some((at, len)) = fixed_len {
            match sys::placeholder(at, len) {
                Ok(()) => claimed = Some((at, len)),
                Err(Errno::EEXIST) => return Err(Errno::EINVAL),
                // What mmap refuses (below mmap_min_addr: EPERM), the kernel's shmat
                // refuses alike.
                Err(e) => return Err(e),
            }
        }
        let attached = {
            let memory = OwnMemory(caller.pid);
            let mut task = Task::new(&caller, &memory, &mut space.table);
            sysvipc_syscalls::shmat(&self.ns, &mut task, shmid, shmaddr as u64, shmflg)
        };
        let at = match attached {
            Ok(at) => at as usize,
            Err(e) => {
                if let Some((a, l)) = claimed {
                    sys::unmap(a, l);
                }
                return Err(e);
            }
        };
        let mapped = match space.table.find(at) {
            Some(m) => match m.memory().as_fd() {
                Some(fd) => sys::map_shared(at, m.len(), prot(m.protection()), fd, m.offset()),
                None => Err(Errno::ENOMEM),
            },
            None => Err(Errno::ENOMEM),
        };
        if let Err(e) = mapped {
            // Undo the attachment: the table must not list what is not mapped.
            let before = space.ranges();
            let _ = self.ns.shmdt(&mut space.table, at);
            space.release(&before);
            if let Some((a, l)) = claimed {
                sys::unmap(a, l);
            }
            return Err(e);
        }
        Ok(at)
    }

    /// `shmdt(shmaddr)`: detaches in the table, then unmaps what the table no longer lists
    /// (putting the reservation back inside the window).
    pub(crate) fn shmdt(&self, shmaddr: usize) -> SysResult {
        let caller = self.caller();
        let mut space = self.space.lock();
        space.adopt(caller.pid);
        let before = space.ranges();
        let r = {
            let memory = OwnMemory(caller.pid);
            let mut task = Task::new(&caller, &memory, &mut space.table);
            sysvipc_syscalls::shmdt(&self.ns, &mut task, shmaddr as u64)
        };
        space.release(&before);
        r
    }
}

impl Space {
    /// A forked child's first call (any call): the table it inherited is its parent's; it becomes the
    /// child's own copy (each attachment opened once more, as the kernel's fork does).
    fn adopt(&mut self, pid: i32) {
        if self.table.pid() != pid {
            let child = self.table.fork(pid);
            // The parent's entries belong to the parent's namespace copy: closing them here
            // would count detaches that never happened.
            std::mem::forget(std::mem::replace(&mut self.table, child));
        }
    }

    /// Makes the reservation, once.
    fn reserve(&mut self) {
        if self.reserved {
            return;
        }
        self.reserved = true;
        let page = abi::PAGE_SIZE as usize;
        for len in WINDOWS {
            if let Ok(low) = sys::reserve(len) {
                // Shrink the window by a page at each end so no placement touches its edge.
                let (lo, hi) = (low + page, low + len - page);
                self.window = Some((lo, hi));
                // The table is empty: nothing is attached before the first reservation.
                self.table = AttachTable::with_window(self.table.pid(), lo, hi);
                return;
            }
        }
    }

    fn inside(&self, at: usize, len: usize) -> bool {
        self.window
            .is_some_and(|(lo, hi)| at >= lo && at.checked_add(len).is_some_and(|end| end <= hi))
    }

    /// The table's mappings, as (start, length).
    fn ranges(&self) -> Vec<(usize, usize)> {
        self.table
            .mappings()
            .map(|m| (m.start(), m.len()))
            .collect()
    }

    /// Unmaps the ranges of `before` that the table no longer lists: reserved again inside
    /// the window, unmapped outside it.
    fn release(&self, before: &[(usize, usize)]) {
        let now: HashSet<(usize, usize)> = self.ranges().into_iter().collect();
        for &(start, len) in before.iter().filter(|r| !now.contains(r)) {
            if self.inside(start, len) {
                let _ = sys::reserve_at(start, len);
            } else {
                sys::unmap(start, len);
            }
        }
    }
}

thread_local! {
    /// The calling thread's (pid, tid) as last read: a thread's id never changes, but a
    /// forked child's only thread inherits its parent thread's copy, hence the pid.
    static IDS: std::cell::Cell<(i32, i32)> = const { std::cell::Cell::new((0, 0)) };
}

/// The calling thread's id in process `pid` (`gettid`, once per thread).
fn thread_id(pid: i32) -> i32 {
    IDS.try_with(|ids| match ids.get() {
        (p, tid) if p == pid => tid,
        _ => {
            let tid = sys::gettid();
            ids.set((pid, tid));
            tid
        }
    })
    .unwrap_or_else(|_| sys::gettid())
}

/// The address a fixed `shmat` maps at, as `do_shmat` computes it, or `None` for a free
/// placement or an address the syscall layer refuses anyway.
fn fixed_address(shmaddr: usize, shmflg: i32) -> Option<usize> {
    let lba = abi::SHMLBA as usize;
    match shmaddr {
        0 => None,
        a if a % lba == 0 => Some(a),
        a if shmflg & abi::SHM_RND != 0 && a & !(lba - 1) != 0 => Some(a & !(lba - 1)),
        _ => None,
    }
}

/// `PROT_*` for an attachment's protection.
fn prot(p: Protection) -> i32 {
    let mut prot = libc::PROT_NONE;
    if p.contains(Protection::READ) {
        prot |= libc::PROT_READ;
    }
    if p.contains(Protection::WRITE) {
        prot |= libc::PROT_WRITE;
    }
    if p.contains(Protection::EXEC) {
        prot |= libc::PROT_EXEC;
    }
    prot
}
