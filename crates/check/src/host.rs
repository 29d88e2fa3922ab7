//! The host backend: raw System V IPC syscalls made by the host kernel in a private IPC
//! namespace ([`HostNamespace`]), under callers with the scenario's credentials.
//!
//! # Safety
//!
//! The kernel reads and writes this process's memory through the pointers a scenario passes,
//! so every pointer argument is checked before the call ([`Host::check_pointers`]) to be
//! harmless: `NULL` or below `mmap_min_addr`, outside any user address space, inside the
//! `BAD` reservation (mapped `PROT_NONE`), inside a buffer (each buffer ends where a
//! `PROT_NONE` guard begins, so a copy running past its end faults there — the kernel copies
//! in ascending order and stops at the first fault), or inside a live attachment with room
//! for everything the call may write. `put` and `show` never touch an attachment backed by
//! huge pages (a fault without a page in the pool raises SIGBUS). Fixed `shmat` addresses are allowed only where the
//! kernel refuses them (inside a live attachment, without `SHM_REMAP`; page 0, which no
//! scenario caller may map without CAP_SYS_RAWIO), and `shmdt` only of this scenario's own
//! attachments or of addresses where none can start (it would detach another user's). `put` and `show`
//! touch only buffers and live attachments (readable, writable ones for `put`); a forked
//! process's attachments are read and written by that child itself, through a page it
//! shares with this process ([`HostProcess::read`], [`HostProcess::write`]), after the same
//! checks against the record of its attachments. `mprotect` and `munmap` run only over ranges wholly covered by the
//! scenario's attachments (or unaligned, which the kernel refuses); the record of attachments
//! follows their splits, so `put` and `show` never touch a page they unmapped or protected.
//!
//! Forked processes (`fork NAME`) are children of the namespace thread
//! ([`HostNamespace::fork`], and [`HostProcess::fork`] for `fork NAME from PARENT`) that make
//! the calls they are sent. A call there can change only that child's address space, except
//! through the mappings it shares with this process: the buffers are `MAP_SHARED` (so what a
//! child copies out is seen here), and the pointer checks above apply to its calls with its
//! own attachments.

use std::collections::HashMap;
use std::time::Duration;

use sysvipc_abi::{self as abi, Errno};
use sysvipc_host::{ChildCall, HostCaller, HostError, HostJoin, HostNamespace, HostProcess};

use crate::backend::{Backend, HIGH_ADDRESSES, LOW_ADDRESSES, RunError, SysResult, pointer_args};
use crate::scenario::{CallerSpec, Sys};
use crate::symbols;

const PAGE: usize = 4096;
/// The `PROT_NONE` pages after each buffer.
const GUARD: usize = 16 * PAGE;
/// The size of the `BAD` reservation.
const RESERVATION: usize = 64 * PAGE;
/// How long a call may take to either finish or fall asleep.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// An anonymous private mapping of this process, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    base: usize,
    len: usize,
}

impl Mapping {
    /// `len` bytes (a multiple of the page size) of `prot` memory.
    fn new(len: usize, prot: libc::c_int) -> Result<Mapping, RunError> {
        Mapping::with_flags(len, prot, libc::MAP_PRIVATE)
    }

    /// `len` bytes of `prot` memory, `MAP_SHARED` (a forked process writes into the same
    /// pages) or `MAP_PRIVATE`.
    fn with_flags(len: usize, prot: libc::c_int, share: libc::c_int) -> Result<Mapping, RunError> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing replaces
        // nothing; the arguments are plain values.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                share | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(RunError::Unsupported(format!(
                "mmap of {len} bytes failed: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Mapping {
            base: p as usize,
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the range is exactly the mapping this value made, and nothing else refers to
        // it once the backend (its only owner) is dropped.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.len);
        }
    }
}

/// A buffer: `len` bytes at `addr`, ending where the guard pages begin.
#[derive(Debug)]
struct Buffer {
    addr: u64,
    len: u64,
    _mapping: Mapping,
}

/// A live attachment made by a scenario, or a fragment of one left by `mprotect` / `munmap`.
#[derive(Clone, Debug)]
struct Attached {
    /// The process whose address space holds it (`None`: this one).
    process: Option<String>,
    /// Where the attachment began (what shmdt(2) takes: it detaches every fragment).
    origin: u64,
    start: u64,
    len: u64,
    readable: bool,
    writable: bool,
    /// Backed by huge pages: never touched from here (with no page in the pool, a fault
    /// raises SIGBUS).
    huge: bool,
}

/// Whether the mapping at `start` uses pages larger than 4 KiB (`KernelPageSize` in
/// `/proc/self/smaps`); true when unknown, so that it is never touched.
fn huge_pages_at(start: u64) -> bool {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return true;
    };
    let head = format!("{start:x}-");
    let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
    if lines.next().is_none() {
        return true;
    }
    lines
        .take_while(|l| !l.contains('-') || l.contains(':'))
        .find_map(|l| l.strip_prefix("KernelPageSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .is_none_or(|kb| kb > 4)
}

/// The host kernel, as a scenario sees it.
pub struct Host {
    ns: HostNamespace,
    callers: HashMap<String, HostCaller>,
    buffers: Vec<Buffer>,
    bad: Mapping,
    attached: Vec<Attached>,
    /// Spawned calls: thread id, and the thread until joined.
    tasks: HashMap<String, (i32, Option<HostJoin<SysResult>>)>,
    /// Spawned semtimedop calls with a timeout (what `expire` may wait for).
    timed: Vec<String>,
    /// Joined calls' thread ids (still named in `msg_lrpid`).
    joined: HashMap<i32, String>,
    /// Forked processes that have not exited.
    processes: HashMap<String, HostProcess>,
    /// Every forked process's pid, also after its exit.
    pids: HashMap<i32, String>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("ns", &self.ns)
            .finish_non_exhaustive()
    }
}

/// A raw syscall on the calling thread.
fn raw(nr: i64, a: [u64; 6]) -> SysResult {
    // SAFETY: a System V IPC syscall whose pointer arguments were checked by
    // `Host::check_pointers` (see the module docs): the kernel validates every user address
    // and only reads or writes memory this backend owns for that purpose.
    let r = unsafe { libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        Err(Errno::from_raw(e))
    } else {
        Ok(r)
    }
}

fn host_caller(spec: &CallerSpec) -> HostCaller {
    HostCaller {
        euid: spec.uid,
        egid: spec.gid,
        fsgid: Some(spec.fsgid),
        groups: spec.groups.clone(),
        caps: Some(spec.caps),
    }
}

impl Host {
    /// A fresh private IPC namespace of the host kernel with the predefined caller `root`.
    /// [`HostError::Unsupported`] says why the host cannot make one.
    pub fn new() -> Result<Host, HostError> {
        let ns = HostNamespace::new()?;
        let bad = Mapping::new(RESERVATION, libc::PROT_NONE)
            .map_err(|e| HostError::Setup(e.to_string()))?;
        let mut host = Host {
            ns,
            callers: HashMap::new(),
            buffers: Vec::new(),
            bad,
            attached: Vec::new(),
            tasks: HashMap::new(),
            timed: Vec::new(),
            joined: HashMap::new(),
            processes: HashMap::new(),
            pids: HashMap::new(),
        };
        host.add_caller("root", &CallerSpec::root())
            .map_err(|e| HostError::Unsupported(e.to_string()))?;
        Ok(host)
    }

    /// This process's `RLIMIT_MEMLOCK` in bytes (`u64::MAX` if unlimited).
    pub fn memlock_limit() -> u64 {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit(2) writes only into `r`, a valid rlimit that outlives the call.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) };
        if rc != 0 || r.rlim_cur == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            r.rlim_cur
        }
    }

    fn in_bad(&self, addr: u64) -> bool {
        let base = self.bad.base as u64;
        (base..base + self.bad.len as u64).contains(&addr)
    }

    /// Whether the kernel may be given `addr` as a pointer it writes up to `extent` bytes
    /// through in `process` (see the module docs).
    fn harmless(&self, process: Option<&str>, addr: u64, extent: u64) -> bool {
        if !(LOW_ADDRESSES..HIGH_ADDRESSES).contains(&addr) || self.in_bad(addr) {
            return true;
        }
        if self
            .buffers
            .iter()
            .any(|b| (b.addr..=b.addr + b.len).contains(&addr))
        {
            return true;
        }
        self.attachments(process)
            .any(|a| addr >= a.start && addr.saturating_add(extent) <= a.start + a.len)
    }

    /// The attachments (and fragments) of `process`.
    fn attachments<'a>(&'a self, process: Option<&'a str>) -> impl Iterator<Item = &'a Attached> {
        self.attached
            .iter()
            .filter(move |a| a.process.as_deref() == process)
    }

    /// Whether `addr..addr + len` is wholly covered by attachments of `process` (what
    /// mprotect(2) and munmap(2) may change).
    fn covered(&self, process: Option<&str>, addr: u64, len: u64) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        let mut at = addr;
        while at < end {
            match self
                .attachments(process)
                .find(|a| (a.start..a.start + a.len).contains(&at))
            {
                Some(a) => at = a.start + a.len,
                None => return false,
            }
        }
        true
    }

    fn check_pointers(
        &self,
        process: Option<&str>,
        sys: Sys,
        args: &[u64; 6],
    ) -> Result<(), RunError> {
        if matches!(sys, Sys::Mprotect | Sys::Munmap) {
            let (addr, len) = (args[0], args[1]);
            let refused_by_kernel = addr % PAGE as u64 != 0 || (sys == Sys::Munmap && len == 0);
            if !refused_by_kernel && !self.covered(process, addr, len.next_multiple_of(PAGE as u64))
            {
                return Err(RunError::Refused(format!(
                    "{sys}({addr:#x}, {len:#x}): the range is not wholly inside attachments of \
                     the scenario; it could change memory the process runs on"
                )));
            }
        }
        for (i, extent) in pointer_args(sys, args) {
            let addr = args[i];
            if !self.harmless(process, addr, extent) {
                return Err(RunError::Refused(format!(
                    "{sys} argument {} ({addr:#x}) is not a buffer, BAD, an attachment with \
                     room for {extent} bytes, or an address that cannot be mapped",
                    i + 1
                )));
            }
        }
        // In a forked process, shmdt(2) can only detach that process's own mappings.
        if sys == Sys::ShmDt && process.is_none() {
            // shmdt(2) unmaps whatever System V attachment starts there, also one another
            // user of this process made: only ours, or addresses the kernel refuses.
            let addr = args[0];
            let ours = addr % PAGE as u64 != 0
                || !(LOW_ADDRESSES..HIGH_ADDRESSES).contains(&addr)
                || self.in_bad(addr)
                || self.attachments(process).any(|a| a.origin == addr)
                || self
                    .buffers
                    .iter()
                    .any(|b| (b.addr..b.addr + b.len).contains(&addr));
            if !ours {
                return Err(RunError::Refused(format!(
                    "shmdt({addr:#x}): not an attachment of this scenario; it could detach \
                     another one of this process"
                )));
            }
        }
        if sys == Sys::ShmAt {
            let (addr, flags) = (args[1], args[2] as i32);
            let unaligned = addr % abi::SHMLBA != 0 && flags & abi::SHM_RND == 0;
            let fixed = if flags & abi::SHM_RND != 0 {
                addr & !(abi::SHMLBA - 1)
            } else {
                addr
            };
            // A fixed 0 (an address below SHMLBA rounded down) maps page 0, which mmap refuses
            // without CAP_SYS_RAWIO: no scenario caller can hold it (see `symbols`).
            let rawio = self
                .callers
                .values()
                .any(|c| c.caps.is_none_or(|m| m & (1 << abi::CAP_SYS_RAWIO) != 0));
            let refused_by_kernel = unaligned
                || (fixed == 0 && (addr == 0 || !rawio))
                || (flags & abi::SHM_REMAP == 0
                    && self
                        .attachments(process)
                        .any(|a| (a.start..a.start + a.len).contains(&fixed)));
            if !refused_by_kernel {
                return Err(RunError::Refused(format!(
                    "shmat at the fixed address {fixed:#x}: only NULL, or an address inside a \
                     live attachment without SHM_REMAP, can run on the host"
                )));
            }
        }
        Ok(())
    }

    /// The range `addr..addr + len` lies in one buffer or one live attachment (`writable`
    /// for a write).
    fn accessible(&self, addr: u64, len: usize, write: bool) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = addr.checked_add(len as u64) else {
            return false;
        };
        self.buffers
            .iter()
            .any(|b| addr >= b.addr && end <= b.addr + b.len)
            || self.attached_range(None, addr, end, write)
    }

    /// Whether `addr..end` lies in touching attachment fragments of `process`, each readable
    /// (and writable for a write), none backed by huge pages.
    fn attached_range(&self, process: Option<&str>, addr: u64, end: u64, write: bool) -> bool {
        let mut at = addr;
        while at < end {
            let Some(a) = self
                .attachments(process)
                .find(|a| (a.start..a.start + a.len).contains(&at))
            else {
                return false;
            };
            if !a.readable || (write && !a.writable) || a.huge {
                return false;
            }
            at = a.start + a.len;
        }
        true
    }

    fn track_attach(&mut self, process: Option<&str>, id: u64, flags: i32, start: u64) {
        let root = HostCaller::root();
        let size = self
            .ns
            .shmctl_stat(&root, id as i32, abi::IPC_STAT)
            .map_or(0, |(_, ds)| ds.shm_segsz);
        let len = size.next_multiple_of(PAGE as u64);
        // A child's attachment is never touched from here: its page size does not matter.
        let huge = process.is_none() && huge_pages_at(start);
        self.attached.push(Attached {
            process: process.map(str::to_owned),
            origin: start,
            start,
            len,
            readable: true,
            writable: flags & abi::SHM_RDONLY == 0,
            huge,
        });
    }

    /// Splits the fragments of `process` at `addr..end` and returns the indices of those
    /// inside it.
    fn split_fragments(&mut self, process: Option<&str>, addr: u64, end: u64) -> Vec<usize> {
        let mut pieces = Vec::new();
        for a in std::mem::take(&mut self.attached) {
            let theirs = a.process.as_deref() == process;
            let (s, e) = (a.start, a.start + a.len);
            if !theirs || e <= addr || s >= end {
                pieces.push(a);
                continue;
            }
            for (from, to) in [(s, addr.max(s)), (addr.max(s), end.min(e)), (end.min(e), e)] {
                if from < to {
                    pieces.push(Attached {
                        start: from,
                        len: to - from,
                        ..a.clone()
                    });
                }
            }
        }
        self.attached = pieces;
        self.attached
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.process.as_deref() == process && a.start >= addr && a.start + a.len <= end
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Keeps the record of attachments in step with a call that succeeded in `process`.
    fn track(&mut self, process: Option<&str>, sys: Sys, args: &[u64; 6], ret: i64) {
        match sys {
            Sys::ShmAt => self.track_attach(process, args[0], args[2] as i32, ret as u64),
            Sys::ShmDt => self
                .attached
                .retain(|a| !(a.process.as_deref() == process && a.origin == args[0])),
            Sys::Munmap | Sys::Mprotect => {
                let end = args[0].saturating_add(args[1].next_multiple_of(PAGE as u64));
                let inside = self.split_fragments(process, args[0], end);
                if sys == Sys::Munmap {
                    let mut i = 0;
                    self.attached.retain(|_| {
                        i += 1;
                        !inside.contains(&(i - 1))
                    });
                } else {
                    let prot = args[2] as i32;
                    for i in inside {
                        if let Some(a) = self.attached.get_mut(i) {
                            a.readable = prot & libc::PROT_READ != 0;
                            a.writable = prot & libc::PROT_WRITE != 0;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Settled state of a spawned call: `Some(None)` returned, `Some(Some(n))` asleep in an IPC
/// wait after `n` voluntary context switches, `None` neither.
type TaskState = Option<Option<u64>>;

/// `voluntary_ctxt_switches` of thread `tid` of this process (proc(5)).
fn voluntary_switches(tid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
}

impl Host {
    /// The state of every spawned call not joined yet, in name order.
    fn task_states(&self) -> Vec<(String, TaskState)> {
        let mut out: Vec<(String, TaskState)> = self
            .tasks
            .iter()
            .filter_map(|(name, (tid, join))| {
                let join = join.as_ref()?;
                let state = if join.is_finished() {
                    Some(None)
                } else if join.wait_until_blocked(Duration::ZERO).is_ok() {
                    voluntary_switches(*tid).map(Some)
                } else if join.is_finished() {
                    Some(None)
                } else {
                    None
                };
                Some((name.clone(), state))
            })
            .collect();
        out.sort();
        out
    }
}

impl Backend for Host {
    fn label(&self) -> &'static str {
        "host"
    }

    fn add_caller(&mut self, name: &str, spec: &CallerSpec) -> Result<(), RunError> {
        let missing = spec.caps & !self.ns.permitted_caps();
        if missing != 0 {
            let names: Vec<String> = (0..64)
                .filter(|n| missing & (1 << n) != 0)
                .map(|n| {
                    symbols::capability_name(n).map_or(format!("cap {n}"), |s| format!("CAP_{s}"))
                })
                .collect();
            return Err(RunError::Unsupported(format!(
                "the host does not permit {} for caller `{name}`",
                names.join(", ")
            )));
        }
        self.callers.insert(name.to_owned(), host_caller(spec));
        Ok(())
    }

    fn add_buffer(&mut self, len: usize) -> Result<u64, RunError> {
        let usable = len.next_multiple_of(PAGE).max(PAGE);
        // Shared, so that a forked process's calls write into the pages this process reads.
        let mapping = Mapping::with_flags(
            usable + GUARD,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
        )?;
        // SAFETY: the range is the tail of the mapping just made, owned by nobody else.
        let rc = unsafe {
            libc::mprotect(
                (mapping.base + usable) as *mut libc::c_void,
                GUARD,
                libc::PROT_NONE,
            )
        };
        if rc != 0 {
            return Err(RunError::Unsupported(format!(
                "mprotect of a guard failed: {}",
                std::io::Error::last_os_error()
            )));
        }
        let addr = (mapping.base + usable - len) as u64;
        self.buffers.push(Buffer {
            addr,
            len: len as u64,
            _mapping: mapping,
        });
        Ok(addr)
    }

    fn bad_address(&self) -> u64 {
        (self.bad.base + RESERVATION / 2) as u64
    }

    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        if !self.accessible(addr, len, false) {
            return Err(Errno::EFAULT);
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut out = vec![0; len];
        // SAFETY: `accessible` checked that the range lies in a buffer mapping or a live
        // attachment of this process, both readable and not Rust-owned objects.
        unsafe {
            std::ptr::copy_nonoverlapping(addr as usize as *const u8, out.as_mut_ptr(), len);
        }
        Ok(out)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        if !self.accessible(addr, data.len(), true) {
            return Err(Errno::EFAULT);
        }
        if data.is_empty() {
            return Ok(());
        }
        // SAFETY: `accessible` checked that the range lies in a buffer mapping or a writable
        // live attachment of this process, neither of which is a Rust-owned object.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), addr as usize as *mut u8, data.len());
        }
        Ok(())
    }

    fn read_in(
        &mut self,
        process: &str,
        addr: u64,
        len: usize,
    ) -> Result<Result<Vec<u8>, Errno>, RunError> {
        let end = addr.checked_add(len as u64);
        if !end.is_some_and(|end| self.attached_range(Some(process), addr, end, false)) {
            return Ok(Err(Errno::EFAULT));
        }
        let child = self
            .processes
            .get_mut(process)
            .ok_or_else(|| RunError::Unsupported(format!("no live process `{process}`")))?;
        // SAFETY: the range lies in readable attachments of that child (checked above).
        let bytes = unsafe { child.read(addr as usize, len) }
            .map_err(|e| RunError::Unsupported(format!("process `{process}`: {e}")))?;
        Ok(Ok(bytes))
    }

    fn write_in(
        &mut self,
        process: &str,
        addr: u64,
        data: &[u8],
    ) -> Result<Result<(), Errno>, RunError> {
        let end = addr.checked_add(data.len() as u64);
        if !end.is_some_and(|end| self.attached_range(Some(process), addr, end, true)) {
            return Ok(Err(Errno::EFAULT));
        }
        let child = self
            .processes
            .get_mut(process)
            .ok_or_else(|| RunError::Unsupported(format!("no live process `{process}`")))?;
        // SAFETY: the range lies in writable attachments of that child (checked above):
        // segment memory, nothing the child runs on.
        unsafe { child.write(addr as usize, data) }
            .map_err(|e| RunError::Unsupported(format!("process `{process}`: {e}")))?;
        Ok(Ok(()))
    }

    fn attachment_at(&self, addr: u64) -> Option<(u64, u64)> {
        self.attachments(None)
            .find(|a| (a.start..a.start + a.len).contains(&addr))
            .map(|a| (a.start, a.len))
    }

    fn call(
        &mut self,
        caller: &str,
        process: Option<&str>,
        sys: Sys,
        args: [u64; 6],
        may_block: bool,
    ) -> Result<SysResult, RunError> {
        let who = self
            .callers
            .get(caller)
            .ok_or_else(|| RunError::Unsupported(format!("no caller `{caller}`")))?
            .clone();
        self.check_pointers(process, sys, &args)?;
        let nr = sys.number();
        let result = if let Some(name) = process {
            let child = self
                .processes
                .get_mut(name)
                .ok_or_else(|| RunError::Unsupported(format!("no live process `{name}`")))?;
            let call = ChildCall {
                nr,
                args,
                caller: who,
                interrupt_if_asleep: may_block,
            };
            // SAFETY: `check_pointers` allowed only pointers into this backend's buffers
            // (shared mappings kept for the calls' copies), the BAD reservation, addresses
            // that cannot be mapped, or the child's own attachments of this namespace's
            // segments; memory the test process uses as Rust objects is none of these.
            unsafe { child.call(&call) }
                .map_err(|e| RunError::Unsupported(format!("process `{name}`: {e}")))?
        } else if sys == Sys::ShmAt {
            // Through the host crate, which records the attachment: a fork made for another
            // namespace of this process leaves it out of its child.
            self.ns
                .shmat(&who, args[0] as i32, args[1] as usize, args[2] as i32)
                .map(|a| a as i64)
        } else if sys == Sys::ShmDt {
            self.ns.shmdt(&who, args[0] as usize).map(|()| 0)
        } else if may_block {
            let join = self.ns.spawn(&who, move |_| raw(nr, args));
            match join.wait_until_blocked(BLOCK_TIMEOUT) {
                Ok(()) => {
                    join.interrupt()
                        .map_err(|e| RunError::Unsupported(format!("cannot interrupt: {e}")))?;
                    join.join()
                }
                Err(_) if join.is_finished() => join.join(),
                Err(e) => {
                    return Err(RunError::Unsupported(format!(
                        "{sys} neither returned nor slept: {e}"
                    )));
                }
            }
        } else {
            self.ns.run(&who, move || raw(nr, args))
        };
        if let Ok(ret) = result {
            self.track(process, sys, &args, ret);
        }
        Ok(result)
    }

    fn fork(&mut self, name: &str, from: Option<&str>) -> Result<(), RunError> {
        let child = match from {
            None => self.ns.fork(&HostCaller::root(), &[]),
            Some(parent) => self
                .processes
                .get_mut(parent)
                .ok_or_else(|| RunError::Unsupported(format!("no live process `{parent}`")))?
                .fork()
                .map_err(|e| RunError::Unsupported(format!("fork from `{parent}`: {e}")))?,
        };
        let copies: Vec<Attached> = self
            .attachments(from)
            .map(|a| Attached {
                process: Some(name.to_owned()),
                ..a.clone()
            })
            .collect();
        self.attached.extend(copies);
        self.pids.insert(child.pid(), name.to_owned());
        self.processes.insert(name.to_owned(), child);
        Ok(())
    }

    fn exit(&mut self, name: &str) -> Result<(), RunError> {
        let child = self
            .processes
            .remove(name)
            .ok_or_else(|| RunError::Unsupported(format!("no live process `{name}`")))?;
        child.exit();
        self.attached.retain(|a| a.process.as_deref() != Some(name));
        Ok(())
    }

    fn expire(&mut self, task: &str) -> Result<(), RunError> {
        let (_, join) = self
            .tasks
            .get(task)
            .ok_or_else(|| RunError::Unsupported(format!("no spawned call `{task}`")))?;
        let Some(join) = join else {
            return Ok(());
        };
        if !join.is_finished() && !self.timed.iter().any(|t| t == task) {
            return Err(RunError::Unsupported(format!(
                "`{task}` is not a semtimedop with a timeout"
            )));
        }
        // Real time: the timeout runs out on its own.
        let deadline = std::time::Instant::now() + BLOCK_TIMEOUT;
        while !join.is_finished() {
            if std::time::Instant::now() > deadline {
                return Err(RunError::Unsupported(format!("`{task}` did not time out")));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
    }

    fn process_of(&self, pid: i32) -> Option<String> {
        self.pids.get(&pid).cloned()
    }

    fn spawn(
        &mut self,
        task: &str,
        caller: &str,
        sys: Sys,
        args: [u64; 6],
    ) -> Result<(), RunError> {
        let who = self
            .callers
            .get(caller)
            .ok_or_else(|| RunError::Unsupported(format!("no caller `{caller}`")))?
            .clone();
        self.check_pointers(None, sys, &args)?;
        let nr = sys.number();
        let join = self.ns.spawn(&who, move |_| raw(nr, args));
        if sys == Sys::SemTimedOp && args[3] != 0 {
            self.timed.push(task.to_owned());
        }
        self.tasks.insert(task.to_owned(), (join.tid(), Some(join)));
        self.settle()
    }

    fn join(&mut self, task: &str) -> Result<SysResult, RunError> {
        let (tid, join) = self
            .tasks
            .remove(task)
            .and_then(|(tid, join)| Some((tid, join?)))
            .ok_or_else(|| RunError::Unsupported(format!("no spawned call `{task}` to join")))?;
        self.joined.insert(tid, task.to_owned());
        if !join.is_finished() {
            join.interrupt()
                .map_err(|e| RunError::Unsupported(format!("cannot interrupt `{task}`: {e}")))?;
        }
        let deadline = std::time::Instant::now() + BLOCK_TIMEOUT;
        while !join.is_finished() {
            if std::time::Instant::now() > deadline {
                return Err(RunError::Unsupported(format!("`{task}` did not return")));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        Ok(join.join())
    }

    fn settle(&mut self) -> Result<(), RunError> {
        let deadline = std::time::Instant::now() + BLOCK_TIMEOUT;
        loop {
            // Two passes that see every call asleep in an IPC wait (with the same count of
            // voluntary context switches) or returned: a call woken meanwhile would be
            // running, or have slept again (one more switch), or have returned (and so
            // finished its work).
            let first = self.task_states();
            if first.iter().all(|s| s.1.is_some()) && first == self.task_states() {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                let busy: Vec<&str> = first
                    .iter()
                    .filter(|s| s.1.is_none())
                    .map(|s| s.0.as_str())
                    .collect();
                return Err(RunError::Unsupported(format!(
                    "spawned calls neither slept nor returned: {}",
                    busy.join(", ")
                )));
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    fn task_of(&self, tid: i32) -> Option<String> {
        self.joined.get(&tid).cloned().or_else(|| {
            self.tasks
                .iter()
                .find(|(_, t)| t.0 == tid)
                .map(|(n, _)| n.clone())
        })
    }

    fn sysctl(&mut self, name: &str, value: &str) -> Result<(), Errno> {
        let value = if name == "sem" {
            value.split_whitespace().collect::<Vec<_>>().join("\t")
        } else {
            value.to_owned()
        };
        self.ns.set_sysctl(name, &value)
    }

    fn process_pid(&self) -> i32 {
        std::process::id() as i32
    }

    fn now(&self) -> i64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime(2) writes only into `ts`, which outlives the call.
        unsafe {
            libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts);
        }
        ts.tv_sec
    }
}

impl Drop for Host {
    /// Ends the forked processes, then detaches what the scenario left attached (the
    /// mappings are this process's), before the namespace and the buffers go.
    fn drop(&mut self) {
        // A HostProcess's drop makes it exit (killing it if it does not), never panics.
        self.processes.clear();
        let root = HostCaller::root();
        let mut origins: Vec<u64> = self.attachments(None).map(|a| a.origin).collect();
        origins.sort_unstable();
        origins.dedup();
        self.attached.clear();
        for origin in origins {
            let _ = self.ns.shmdt(&root, origin as usize);
        }
    }
}
