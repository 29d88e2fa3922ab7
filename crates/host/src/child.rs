//! Child *processes* forked from the namespace thread: the [`ChildStep`]s they run, the
//! [`HostProcess`] handle that keeps one alive until told to exit, and the bookkeeping that
//! keeps the shared-memory attachments of *other* namespaces out of them.
//!
//! Soundness in a multi-threaded process: after fork(2) only the forking thread exists in the
//! child, and locks other threads held (the allocator's, stdio's…) may never be released, so
//! the child may only do what is async-signal-safe (signal-safety(7)). The child here runs
//! nothing but raw syscalls on memory prepared before the fork (the steps, a shared result
//! page, a pipe and a socket) or on its stack (the call records [`HostProcess::call`] sends it
//! later, and the descriptors a [`HostProcess::fork`] record passes), allocates nothing,
//! cannot panic, and leaves with `_exit(2)`. A process it forks (raw clone(2), not glibc's
//! fork, whose atfork handlers take locks) runs the same loop.
//!
//! Isolation: fork(2) copies every shared mapping of the process, System V attachments
//! included, and each copy counts (`shm_open()`: `shm_nattch`+1, `shm_atim`, `shm_lprid`; at
//! the child's exit `shm_close()`: `shm_lprid` = the child, `shm_dtim`). Tests run in parallel
//! threads of one process, each with its own namespace, so a fork made for one namespace
//! would change the segments of the others. Hence:
//! - every attachment made through this crate is recorded in [`ATTACHED`] with the namespace
//!   that made it ([`Attachments`]), from its shmat(2) to its shmdt(2);
//! - shmat(2) and shmdt(2) through this crate hold [`FORK_LOCK`] shared, a fork holds it
//!   exclusively: while a fork is prepared no recorded attachment appears or goes away;
//! - a fork looks up the `[start, end)` of every attachment recorded for *other* namespaces in
//!   `/proc/self/maps`, marks those ranges `MADV_DONTFORK` (the kernel does not copy them,
//!   `VM_DONTCOPY`), forks, and clears the mark again.
//!
//! Only System V mappings are ever marked (their shmem file names them in `/proc/self/maps`),
//! never memory the child itself runs on, and only those starting at a recorded address, so
//! that a range is marked only while the lock keeps it from being unmapped and reused.
//! Attachments made some other way (raw calls inside [`HostNamespace::run`]) are not
//! recorded, and every fork copies them, as a plain fork(2) would; one recorded by this crate
//! but detached some other way leaves a stale record, which could make a later fork hide
//! another attachment made at the same address: detach through this crate what was attached
//! through it.
//!
//! [`HostNamespace::run`]: crate::HostNamespace::run

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use libc::c_long;

use crate::abi::{Errno, Sembuf};
use crate::sys::{self, check, last_errno, page_size};

/// How long a child may take to run its steps, and to exit once told to, before it is killed.
pub(crate) const CHILD_TIMEOUT: Duration = Duration::from_secs(20);

/// Held exclusively while a child is forked, shared while this crate makes a shmat(2) or
/// shmdt(2).
static FORK_LOCK: RwLock<()> = RwLock::new(());

/// Every attachment made through this crate and not yet detached through it: its start
/// address and the [`Attachments::owner`] of the namespace that made it.
static ATTACHED: Mutex<BTreeMap<usize, u64>> = Mutex::new(BTreeMap::new());

fn attached() -> MutexGuard<'static, BTreeMap<usize, u64>> {
    ATTACHED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One namespace's side of [`ATTACHED`] (shared by the namespace thread and the threads it
/// spawns): the attachments its forked children inherit.
#[derive(Debug)]
pub(crate) struct Attachments {
    /// Distinguishes this namespace's records from the others'.
    owner: u64,
}

impl Default for Attachments {
    fn default() -> Attachments {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Attachments {
            owner: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Attachments {
    /// Runs `shmat` (a shmat(2) call) while no fork is being prepared and records the new
    /// attachment as this namespace's.
    pub(crate) fn attach(
        &self,
        shmat: impl FnOnce() -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let _no_fork = FORK_LOCK.read().unwrap_or_else(PoisonError::into_inner);
        let addr = shmat()?;
        attached().insert(addr, self.owner);
        Ok(addr)
    }

    /// Runs `shmdt` (a shmdt(2) call at `addr`) while no fork is being prepared, after
    /// dropping the record of the attachment at `addr` (whichever namespace made it).
    ///
    /// The record goes first: once shmdt(2) has returned, another thread may attach at the
    /// same address and record that new attachment, which a later removal would drop. If
    /// shmdt(2) fails, no attachment started at `addr`, so the record was stale anyway.
    pub(crate) fn detach(
        &self,
        addr: usize,
        shmdt: impl FnOnce() -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        let _no_fork = FORK_LOCK.read().unwrap_or_else(PoisonError::into_inner);
        attached().remove(&addr);
        shmdt()
    }
}

/// One step of a child process made by [`HostNamespace::fork`](crate::HostNamespace::fork): a
/// raw syscall whose result is recorded in [`HostProcess::results`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildStep {
    /// semop(2) of `sops` on set `id` (`do_semtimedop()`); result 0. It must not block for
    /// long (set `IPC_NOWAIT` where it could): a child still busy after 20 s is killed.
    Semop {
        /// The set's id.
        id: i32,
        /// The operations (nsops = `sops.len()`).
        sops: Vec<Sembuf>,
    },
    /// shmat(2) of segment `id` at `addr` with `flags` (`do_shmat()`) in the child's own
    /// address space; result: the address. The same rule as
    /// [`HostNamespace::shmat`](crate::HostNamespace::shmat): SHM_REMAP at a fixed address
    /// panics (in the parent, before the fork).
    Shmat {
        /// The segment's id.
        id: i32,
        /// The address asked for (0: the kernel chooses).
        addr: usize,
        /// SHM_RDONLY, SHM_RND, SHM_EXEC… as given.
        flags: i32,
    },
    /// shmdt(2) at `addr` (`ksys_shmdt()`) in the child; result 0. Detaching an inherited
    /// attachment counts for the child (`shm_lprid`, `shm_dtim`), not the parent.
    Shmdt {
        /// The attachment's address.
        addr: usize,
    },
}

impl ChildStep {
    /// The step's syscall. Allocates nothing and cannot panic (the child calls it).
    fn run(&self) -> Result<usize, Errno> {
        match self {
            ChildStep::Semop { id, sops } => sys::semop(*id, sops).map(|()| 0),
            ChildStep::Shmat { id, addr, flags } => {
                // SAFETY: `fork` refused every Shmat step that would replace mappings before
                // forking (`shmat_replaces_mappings`).
                unsafe { sys::shmat_unchecked(*id, *addr, *flags) }
            }
            ChildStep::Shmdt { addr } => sys::shmdt(*addr).map(|()| 0),
        }
    }
}

/// A `MAP_SHARED` anonymous page range made before a child is forked, through which the
/// child copies bytes from and to its own memory ([`HostProcess::read`],
/// [`HostProcess::write`]); shared by the processes forked from that child too.
#[derive(Debug)]
struct Scratch {
    map: *mut u8,
}

/// The bytes of a [`Scratch`] a copy may use (one copy moves at most this many); the word
/// after them is the child's "in a call" flag.
const SCRATCH_LEN: usize = 64 * 1024;
/// The whole mapping: the copy area and a page holding the flag.
const SCRATCH_MAP: usize = SCRATCH_LEN + 4096;

// SAFETY: the mapping is plain memory owned by the `Scratch`; it is only read or written
// through `&mut HostProcess` (one copy at a time, while the child is waiting for the reply).
unsafe impl Send for Scratch {}
// SAFETY: as above: `&Scratch` gives no access to the memory.
unsafe impl Sync for Scratch {}

impl Scratch {
    /// The child's "in a call" flag: 1 from just before its syscall until just after.
    fn in_call(&self) -> bool {
        // SAFETY: the flag word lies in the mapping, aligned; the child writes it.
        unsafe { self.map.add(SCRATCH_LEN).cast::<u64>().read_volatile() == 1 }
    }

    fn new() -> Scratch {
        // SAFETY: a fresh shared anonymous mapping at an address of the kernel's choosing
        // aliases no existing memory.
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                SCRATCH_MAP,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            map != libc::MAP_FAILED,
            "sysvipc-host: mmap of {SCRATCH_MAP} shared bytes failed: {}",
            std::io::Error::last_os_error()
        );
        Scratch { map: map.cast() }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: `map` is the mapping made in `new`, unmapped only here.
        unsafe { libc::munmap(self.map.cast(), SCRATCH_MAP) };
    }
}

/// Result slots shared with a forked child: a `MAP_SHARED` anonymous mapping with two words
/// per step, `[state, value]` (state 0: not run, [`RAN_OK`]: value is the result,
/// [`RAN_ERR`]: value is the errno).
struct SharedSlots {
    map: *mut i64,
    map_len: usize,
    len: usize,
}

const RAN_OK: i64 = 1;
const RAN_ERR: i64 = 2;

impl SharedSlots {
    fn new(len: usize) -> SharedSlots {
        let map_len = (len.max(1) * 2 * size_of::<i64>()).div_ceil(page_size()) * page_size();
        // SAFETY: a fresh shared anonymous mapping at an address of the kernel's choosing
        // aliases no existing memory. It starts zeroed: every slot "not run".
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            map != libc::MAP_FAILED,
            "sysvipc-host: mmap of {map_len} shared bytes failed: {}",
            std::io::Error::last_os_error()
        );
        SharedSlots {
            map: map.cast(),
            map_len,
            len,
        }
    }

    /// Records the result of step `i` (ignored past the end). Allocates nothing, cannot panic.
    fn set(&self, i: usize, result: Result<usize, Errno>) {
        if i >= self.len {
            return;
        }
        let (state, value) = match result {
            Ok(v) => (RAN_OK, v as i64),
            Err(e) => (RAN_ERR, i64::from(e.raw())),
        };
        // SAFETY: words 2i and 2i+1 lie inside the mapping, which is writable and aligned for
        // i64; volatile writes, because the reader is another process (which reads only after
        // a pipe write or the writer's exit that follows these writes).
        unsafe {
            self.map.add(2 * i + 1).write_volatile(value);
            self.map.add(2 * i).write_volatile(state);
        }
    }

    /// The result of step `i`, `None` if the child did not get to it.
    fn get(&self, i: usize) -> Option<Result<usize, Errno>> {
        assert!(i < self.len);
        // SAFETY: as in `set`.
        let (state, value) = unsafe {
            (
                self.map.add(2 * i).read_volatile(),
                self.map.add(2 * i + 1).read_volatile(),
            )
        };
        match state {
            RAN_OK => Some(Ok(value as usize)),
            // An errno was stored from an i32.
            RAN_ERR => Some(Err(Errno::from_raw(value as i32))),
            _ => None,
        }
    }

    fn all(&self) -> Vec<Option<Result<usize, Errno>>> {
        (0..self.len).map(|i| self.get(i)).collect()
    }
}

impl Drop for SharedSlots {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` describe the mapping made in `new`, unmapped only here.
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
    }
}

/// A pipe whose both ends are close-on-exec: `(read end, write end)`.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert!(
        rc == 0,
        "sysvipc-host: pipe2 failed: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: both descriptors were just created and are owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A connected pair of Unix stream sockets, both close-on-exec: `(child's end, parent's end)`.
/// The parent writes call records on its end and can pass descriptors with them.
fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert!(
        rc == 0,
        "sysvipc-host: socketpair failed: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: both descriptors were just created and are owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// The `[start, end)` of a `/proc/self/maps` line that maps a System V segment: its path is
/// the segment's shmem file, `/SYSV` and the key in 8 hex digits, unlinked (`newseg()` in
/// `ipc/shm.c`).
fn sysv_mapping(line: &str) -> Option<(usize, usize)> {
    // address perms offset dev inode, then (after padding) the path, which may hold spaces.
    let mut rest = line;
    let mut range = "";
    for field in 0..5 {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap_or(rest.len());
        if field == 0 {
            range = &rest[..end];
        }
        rest = &rest[end..];
    }
    let key = rest
        .trim_start_matches(' ')
        .strip_suffix(" (deleted)")?
        .strip_prefix("/SYSV")?;
    if key.len() != 8 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    Some((
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    ))
}

/// Every System V attachment of this process, as `[start, end)` ranges.
fn sysv_mappings() -> Vec<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps")
        .unwrap_or_else(|e| panic!("sysvipc-host: cannot read /proc/self/maps: {e}"));
    maps.lines().filter_map(sysv_mapping).collect()
}

/// madvise(2) `advice` on `[start, end)`. For MADV_DONTFORK/MADV_DOFORK the range is one whole
/// VMA, so the VMA is not split (a split would count as a new attachment, `shm_open()`).
fn madvise(start: usize, end: usize, advice: libc::c_int) -> Result<(), Errno> {
    let addr = ptr::with_exposed_provenance_mut::<libc::c_void>(start);
    // SAFETY: MADV_DONTFORK/MADV_DOFORK change only whether fork(2) copies the mapping into a
    // child; contents and access rights in this process stay as they are.
    let rc = unsafe { libc::madvise(addr, end - start, advice) };
    if rc == 0 { Ok(()) } else { Err(last_errno()) }
}

/// Closes every descriptor from 3 up except the two in `keep` (close_range(2), Linux 5.9;
/// older kernels: nothing is closed). Allocates nothing.
fn close_other_fds(keep: [RawFd; 2]) {
    let (a, b) = (keep[0].min(keep[1]), keep[0].max(keep[1]));
    let mut next: libc::c_uint = 3;
    for fd in [a, b] {
        let Ok(fd) = libc::c_uint::try_from(fd) else {
            continue;
        };
        if fd >= next {
            if fd > next {
                // SAFETY: close_range takes no pointers; it only closes descriptors of this
                // (child) process, none of which it uses.
                unsafe { libc::syscall(libc::SYS_close_range, next, fd - 1, 0 as libc::c_uint) };
            }
            next = fd + 1;
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            next,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        )
    };
}

/// What the forked child runs: the steps, a byte on `done`, then it waits until `go` reaches
/// end-of-file (the parent closed its end, or died) and exits. Async-signal-safe only (see
/// the module docs): raw syscalls on memory that existed before the fork.
fn child_main(
    steps: &[ChildStep],
    slots: &SharedSlots,
    scratch: usize,
    done: RawFd,
    go: RawFd,
) -> ! {
    // SAFETY: prctl takes no pointers here. PR_SET_PDEATHSIG: if the namespace thread (the
    // forking thread, which is alive: it waits for `done`) ends, the child is killed.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    // Copies of other children's pipe ends would delay their end-of-file.
    close_other_fds([done, go]);
    for (i, step) in steps.iter().enumerate() {
        slots.set(i, step.run());
    }
    let byte = 1u8;
    // SAFETY: write reads one byte from `byte`, which is alive.
    while unsafe { libc::write(done, ptr::from_ref(&byte).cast(), 1) } < 0
        && last_errno() == Errno::EINTR
    {}
    serve(scratch, done, go)
}

/// The loop of a live child: runs each call record read from `go` and answers on `done`,
/// until end-of-file on `go`; then exits. A fork record makes a grandchild that serves the
/// two descriptors passed with it. Async-signal-safe only, as `child_main`.
fn serve(scratch: usize, mut done: RawFd, mut go: RawFd) -> ! {
    let in_call = ptr::with_exposed_provenance_mut::<u64>(scratch + SCRATCH_LEN);
    // Children of this child (forks from a forked process) are reaped by the kernel.
    // SAFETY: signal(2) with SIG_IGN takes no handler code; this process has one thread.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let base = BaseCreds::current();
    let mut record = [0u64; RECORD_WORDS];
    loop {
        let mut passed = [-1 as RawFd; 2];
        if !recv_record(go, &mut record, &mut passed) {
            break;
        }
        let (state, value) = if record[0] == COPY_RECORD {
            let (dst, src, len) = (record[1] as usize, record[2] as usize, record[3] as usize);
            // SAFETY: the parent vouched that both ranges are mapped in this child, readable
            // and writable as needed (`HostProcess::read` / `write`), and they do not overlap
            // (one is the scratch, never an attachment).
            unsafe {
                ptr::copy_nonoverlapping(
                    ptr::with_exposed_provenance::<u8>(src),
                    ptr::with_exposed_provenance_mut::<u8>(dst),
                    len,
                );
            }
            (RAN_OK, 0)
        } else if record[0] == FORK_RECORD {
            match passed {
                [new_done, new_go] if new_done >= 0 && new_go >= 0 => {
                    // SAFETY: clone(2) with only SIGCHLD is fork(2) without glibc's handlers
                    // (whose locks another thread of the original process may have held); it
                    // takes no pointers here.
                    let pid = unsafe {
                        libc::syscall(libc::SYS_clone, libc::SIGCHLD as c_long, 0, 0, 0, 0)
                    };
                    if pid == 0 {
                        // The grandchild: it serves the new channel only.
                        close_other_fds([new_done, new_go]);
                        done = new_done;
                        go = new_go;
                        let byte = 1u8;
                        write_all(done, std::slice::from_ref(&byte));
                        continue;
                    }
                    close_fd(new_done);
                    close_fd(new_go);
                    match check(pid) {
                        Ok(pid) => (RAN_OK, pid),
                        Err(e) => (RAN_ERR, i64::from(e.raw())),
                    }
                }
                _ => (RAN_HARNESS, 0),
            }
        } else {
            for fd in passed {
                close_fd(fd);
            }
            match base {
                Some(base) => {
                    // SAFETY: the flag word of the scratch, shared with the parent, which
                    // only reads it.
                    unsafe { in_call.write_volatile(1) };
                    let r = run_record(&base, &record);
                    // SAFETY: as above.
                    unsafe { in_call.write_volatile(0) };
                    r
                }
                None => (RAN_HARNESS, 0),
            }
        };
        let reply = [state as u64, value as u64];
        write_all(done, words_as_bytes(&reply));
    }
    // SAFETY: _exit(2) is async-signal-safe and ends the child without running any handler
    // or destructor of the parent's state.
    unsafe { libc::_exit(0) }
}

/// The words of a call record sent to a live child: the syscall number, its six arguments,
/// then the credentials (euid, egid, fsgid, capabilities or [`KEEP_CAPS`], the number of
/// groups and up to [`MAX_GROUPS`] groups).
const RECORD_WORDS: usize = 12 + MAX_GROUPS;
/// The most supplementary groups a call in a live child can have.
pub const MAX_GROUPS: usize = 16;
/// In a record's capability word: leave what the kernel leaves after the uid switch.
const KEEP_CAPS: u64 = u64::MAX;
/// A reply's state: the credentials could not be switched (a harness failure).
const RAN_HARNESS: i64 = 3;
/// In a record's first word: fork a grandchild that serves the two descriptors passed with
/// the record (the write end of its answers, its end of the call socket).
const FORK_RECORD: u64 = u64::MAX;
/// In a record's first word: copy `record[3]` bytes from `record[2]` to `record[1]`, within
/// the child's memory (one side is the scratch shared with the parent).
const COPY_RECORD: u64 = u64::MAX - 1;

fn close_fd(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: close takes no pointers; `fd` was received for this process and is not
        // used afterwards.
        unsafe { libc::close(fd) };
    }
}

/// Reads one record from socket `go`, and up to two descriptors passed with it into
/// `passed`; `false` at end-of-file or on an error. Allocates nothing.
fn recv_record(go: RawFd, record: &mut [u64; RECORD_WORDS], passed: &mut [RawFd; 2]) -> bool {
    let bytes = words_as_bytes_mut(record);
    // Room for one SCM_RIGHTS message of two ints, aligned for cmsghdr.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: bytes.len(),
    };
    // SAFETY: an all-zero msghdr is valid; the fields set below point at live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: `msg` describes `bytes` and `control`, both alive and writable.
        let n = unsafe { libc::recvmsg(go, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && last_errno() == Errno::EINTR {
            continue;
        }
        break n;
    };
    if n <= 0 {
        return false;
    }
    // SAFETY: the kernel filled `control` with `msg_controllen` bytes of cmsghdrs; the CMSG
    // macros stay inside it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for (i, slot) in passed.iter_mut().enumerate().take(count) {
                    *slot = data.add(i).read_unaligned();
                }
                // Any more than two are closed at once.
                for i in 2..count {
                    close_fd(data.add(i).read_unaligned());
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let got = usize::try_from(n).unwrap_or(0);
    got == bytes.len() || read_exact(go, &mut bytes[got..])
}

/// Sends `bytes` on socket `fd` with the descriptors `fds` attached (SCM_RIGHTS).
fn send_with_fds(fd: RawFd, bytes: &[u8], fds: [RawFd; 2]) -> bool {
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: an all-zero msghdr is valid; the fields set below point at live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a size computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(8) } as _;
    // SAFETY: `control` has room for one cmsghdr with two ints (CMSG_SPACE(8) <= 64 bytes).
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(8) as _;
        let data = libc::CMSG_DATA(c).cast::<RawFd>();
        data.write_unaligned(fds[0]);
        data.add(1).write_unaligned(fds[1]);
    }
    // SAFETY: `msg` describes `bytes` and `control`, both alive.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
    let sent = usize::try_from(n).unwrap_or(0);
    n > 0 && (sent == bytes.len() || write_all(fd, &bytes[sent..]))
}

/// The credentials the child was forked with, read once (raw syscalls, no allocation), to
/// which it returns after each call.
#[derive(Clone, Copy)]
struct BaseCreds {
    uid: [u32; 3],
    gid: [u32; 3],
    groups: [u32; MAX_GROUPS],
    ngroups: usize,
    caps: [u32; 6],
}

impl BaseCreds {
    fn current() -> Option<BaseCreds> {
        let mut b = BaseCreds {
            uid: [0; 3],
            gid: [0; 3],
            groups: [0; MAX_GROUPS],
            ngroups: 0,
            caps: [0; 6],
        };
        let [r, e, s] = &mut b.uid;
        // SAFETY: getresuid writes one uid through each pointer, all alive.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_getresuid,
                r as *mut u32,
                e as *mut u32,
                s as *mut u32,
            )
        };
        check(rc).ok()?;
        let [r, e, s] = &mut b.gid;
        // SAFETY: as above, gids.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_getresgid,
                r as *mut u32,
                e as *mut u32,
                s as *mut u32,
            )
        };
        check(rc).ok()?;
        // SAFETY: getgroups writes at most MAX_GROUPS gids into `groups`, which has room.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getgroups,
                MAX_GROUPS as c_long,
                b.groups.as_mut_ptr(),
            )
        };
        b.ngroups = usize::try_from(check(n).ok()?).ok()?;
        let mut header = [0x2008_0522u32, 0];
        // SAFETY: version 3: the kernel writes two {effective, permitted, inheritable}
        // triples, six u32s, which `caps` holds.
        let rc =
            unsafe { libc::syscall(libc::SYS_capget, header.as_mut_ptr(), b.caps.as_mut_ptr()) };
        check(rc).ok()?;
        Some(b)
    }
}

fn capset_raw(caps: &[u32; 6]) -> bool {
    let mut header = [0x2008_0522u32, 0];
    // SAFETY: version 3: the kernel reads two triples (six u32s) from `caps`.
    let rc = unsafe { libc::syscall(libc::SYS_capset, header.as_mut_ptr(), caps.as_ptr()) };
    rc == 0
}

fn setres(nr: c_long, ids: [u32; 3]) -> bool {
    // SAFETY: setresuid/setresgid take no pointers; this process has one thread.
    let rc = unsafe {
        libc::syscall(
            nr,
            c_long::from(ids[0]),
            c_long::from(ids[1]),
            c_long::from(ids[2]),
        )
    };
    rc == 0
}

fn setgroups_raw(groups: &[u32]) -> bool {
    // SAFETY: the kernel reads `groups.len()` gids from the slice.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len() as c_long, groups.as_ptr()) };
    rc == 0
}

fn setfsgid_raw(gid: u32) {
    // SAFETY: setfsgid takes no pointers.
    unsafe { libc::syscall(libc::SYS_setfsgid, c_long::from(gid)) };
}

/// Runs the call of `record` as its credentials and back: `(state, value)` of a reply.
/// Allocates nothing (the child is a fork of a multi-threaded process).
fn run_record(base: &BaseCreds, record: &[u64; RECORD_WORDS]) -> (i64, i64) {
    let [
        nr,
        a0,
        a1,
        a2,
        a3,
        a4,
        a5,
        euid,
        egid,
        fsgid,
        caps,
        ngroups,
        ..,
    ] = *record;
    let groups = &record[12..];
    let mut gids = [0u32; MAX_GROUPS];
    let n = (ngroups as usize).min(MAX_GROUPS);
    for (g, w) in gids.iter_mut().zip(groups).take(n) {
        *g = *w as u32;
    }
    let switched = setres(libc::SYS_setresgid, [base.gid[0], egid as u32, base.gid[2]])
        && {
            setfsgid_raw(fsgid as u32);
            setgroups_raw(&gids[..n])
        }
        && setres(libc::SYS_setresuid, [base.uid[0], euid as u32, base.uid[2]])
        && (caps == KEEP_CAPS || {
            let mut c = base.caps;
            // Effective: the mask, within the permitted set.
            c[0] = (caps as u32) & base.caps[1];
            c[3] = ((caps >> 32) as u32) & base.caps[4];
            capset_raw(&c)
        });
    let reply = if switched {
        // SAFETY: the parent vouched for the pointers (`HostProcess::call`); whatever the
        // call does, it does in this child's own address space.
        let r = unsafe { libc::syscall(nr as c_long, a0, a1, a2, a3, a4, a5) };
        match check(r) {
            Ok(v) => (RAN_OK, v),
            Err(e) => (RAN_ERR, i64::from(e.raw())),
        }
    } else {
        (RAN_HARNESS, i64::from(last_errno().raw()))
    };
    let back = setres(libc::SYS_setresuid, base.uid)
        && capset_raw(&base.caps)
        && setres(libc::SYS_setresgid, base.gid)
        && setgroups_raw(&base.groups[..base.ngroups.min(MAX_GROUPS)]);
    setfsgid_raw(base.gid[1]);
    if back { reply } else { (RAN_HARNESS, 0) }
}

fn words_as_bytes<const N: usize>(w: &[u64; N]) -> &[u8] {
    // SAFETY: any u64 array is readable as its bytes; the length is exact.
    unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<u8>(), N * 8) }
}

fn words_as_bytes_mut<const N: usize>(w: &mut [u64; N]) -> &mut [u8] {
    // SAFETY: every byte pattern is a valid u64; the length is exact.
    unsafe { std::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u8>(), N * 8) }
}

/// Reads exactly `buf.len()` bytes; `false` at end-of-file or on an error.
fn read_exact(fd: RawFd, buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: read writes at most `rest.len()` bytes into `rest`.
        let n = unsafe { libc::read(fd, rest.as_mut_ptr().cast(), rest.len()) };
        if n == 0 || (n < 0 && last_errno() != Errno::EINTR) {
            return false;
        }
        done += usize::try_from(n).unwrap_or(0);
    }
    true
}

/// Writes all of `buf`; `false` on an error.
fn write_all(fd: RawFd, buf: &[u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let rest = &buf[done..];
        // SAFETY: write reads `rest.len()` bytes from `rest`.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n < 0 && last_errno() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        done += usize::try_from(n).unwrap_or(0);
    }
    true
}

/// How the wait for a child's "done" byte ended.
enum Ready {
    Done,
    Died,
    TimedOut,
}

/// Waits until the child writes its byte on `done` (or dies, or `timeout` passes).
fn wait_ready(done: &OwnedFd, timeout: Duration) -> Ready {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        let mut pfd = libc::pollfd {
            fd: done.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd that outlives the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 && last_errno() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return Ready::TimedOut;
        }
        let mut byte = 0u8;
        // SAFETY: read writes at most one byte into `byte`, which is alive.
        let r = unsafe { libc::read(done.as_raw_fd(), ptr::from_mut(&mut byte).cast(), 1) };
        match r {
            1 => return Ready::Done,
            0 => return Ready::Died,
            _ if last_errno() == Errno::EINTR => continue,
            _ => return Ready::Died,
        }
    }
}

/// Forks a child that only runs `child` and exits with its value, with every attachment this
/// crate recorded hidden from it (`MADV_DONTFORK`), so that the fork touches no segment's
/// `shm_nattch`, `shm_atime` or `shm_lpid`. `child` must be async-signal-safe: raw syscalls
/// on memory that existed before the fork. Returns the child's pid.
#[cfg(target_arch = "x86_64")]
pub(crate) fn fork_probe(child: fn() -> i32) -> Result<libc::pid_t, Errno> {
    let _exclusive = FORK_LOCK.write().unwrap_or_else(PoisonError::into_inner);
    let all: Vec<usize> = attached().keys().copied().collect();
    let hidden: Vec<(usize, usize)> = if all.is_empty() {
        Vec::new()
    } else {
        sysv_mappings()
            .into_iter()
            .filter(|(start, _)| all.binary_search(start).is_ok())
            .filter(|&(start, end)| madvise(start, end, libc::MADV_DONTFORK).is_ok())
            .collect()
    };
    // SAFETY: the child branch runs only `child`, which the caller vouches makes raw syscalls
    // alone, then `_exit`s without returning into the parent's code.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = child();
        // SAFETY: ends the child at once, running no atexit handlers or destructors.
        unsafe { libc::_exit(code) };
    }
    let fork_error = (pid < 0).then(last_errno);
    for (start, end) in hidden {
        let _ = madvise(start, end, libc::MADV_DOFORK);
    }
    match fork_error {
        Some(e) => Err(e),
        None => Ok(pid),
    }
}

/// Forks the calling thread into a child process that runs `steps` and then waits to be told
/// to exit; returns once the steps have run. The child inherits the calling thread's IPC
/// namespace and credentials, no semaphore undo list (fork(2) without CLONE_SYSVSEM), and a
/// copy of every System V attachment except those recorded for namespaces other than `ours`
/// (see the module docs).
///
/// Panics (a harness failure, not a kernel answer) if a step is a SHM_REMAP shmat at a fixed
/// address, if the fork fails, if the child dies before finishing, or if it is still running
/// its steps after `timeout` (it is killed then).
pub(crate) fn fork(ours: &Attachments, steps: &[ChildStep], timeout: Duration) -> HostProcess {
    for step in steps {
        if let ChildStep::Shmat { addr, flags, .. } = *step {
            assert!(
                !sys::shmat_replaces_mappings(addr, flags),
                "sysvipc-host: a child's shmat(2) with SHM_REMAP at {addr:#x} would replace \
                 memory it runs on"
            );
        }
    }
    let slots = SharedSlots::new(steps.len());
    let scratch = std::sync::Arc::new(Scratch::new());
    let scratch_addr = scratch.map as usize;
    let (done_rd, done_wr) = pipe();
    let (go_rd, go_wr) = socketpair();
    let pid = {
        let _exclusive = FORK_LOCK.write().unwrap_or_else(PoisonError::into_inner);
        let foreign: Vec<usize> = attached()
            .iter()
            .filter(|&(_, &owner)| owner != ours.owner)
            .map(|(&start, _)| start)
            .collect();
        let hidden: Vec<(usize, usize)> = if foreign.is_empty() {
            Vec::new()
        } else {
            sysv_mappings()
                .into_iter()
                .filter(|(start, _)| foreign.binary_search(start).is_ok())
                .filter(|&(start, end)| madvise(start, end, libc::MADV_DONTFORK).is_ok())
                .collect()
        };
        let (done_fd, go_fd) = (done_wr.as_raw_fd(), go_rd.as_raw_fd());
        // SAFETY: see the module docs: the child branch only runs `child_main`, which makes
        // raw syscalls on memory that existed before the fork and never returns.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            child_main(steps, &slots, scratch_addr, done_fd, go_fd);
        }
        let fork_error = (pid < 0).then(last_errno);
        for (start, end) in hidden {
            let _ = madvise(start, end, libc::MADV_DOFORK);
        }
        // The child's ends, closed before any other fork can copy them: the parent sees
        // end-of-file on `done` as soon as the child is gone.
        drop((done_wr, go_rd));
        if let Some(e) = fork_error {
            panic!("sysvipc-host: fork failed: {e}");
        }
        pid
    };
    let mut process = HostProcess {
        pid,
        results: Vec::new(),
        go: Some(go_wr),
        done: None,
        pidfd: None,
        scratch,
    };
    match wait_ready(&done_rd, timeout) {
        Ready::Done => {
            process.done = Some(done_rd);
            process.results = slots
                .all()
                .into_iter()
                .map(|r| r.expect("the child reported every step done"))
                .collect();
            process
        }
        Ready::TimedOut => {
            process.kill();
            panic!(
                "sysvipc-host: the forked child (pid {pid}) blocked for {timeout:?} and was \
                 killed; results so far: {:?}",
                slots.all()
            );
        }
        Ready::Died => {
            let status = process.kill();
            panic!(
                "sysvipc-host: the forked child (pid {pid}) died before finishing its steps \
                 (wait status {status:#x}); results so far: {:?}",
                slots.all()
            );
        }
    }
}

/// A child process forked from the namespace thread by
/// [`HostNamespace::fork`](crate::HostNamespace::fork), alive after running its steps until
/// [`exit`](HostProcess::exit) (or drop). While it lives it holds copies of the attachments it
/// inherited and those its steps made, each counted in `shm_nattch`; its exit detaches them
/// (`exit_mm()` → `shm_close()`: `shm_lprid` = its pid, `shm_dtim` = now) and applies its
/// SEM_UNDO adjustments (`exit_sem()`). If the [`HostNamespace`](crate::HostNamespace) goes
/// first, the child is killed (`PR_SET_PDEATHSIG`).
#[derive(Debug)]
pub struct HostProcess {
    pid: i32,
    results: Vec<Result<usize, Errno>>,
    /// The write end of the pipe the child waits on; `None` once it has been told to exit.
    go: Option<OwnedFd>,
    /// The read end of the pipe the child answers on.
    done: Option<OwnedFd>,
    /// For a process forked by a child (not this process's child, so its pid may be reused
    /// once it is gone): a pidfd that signals it and nobody else.
    pidfd: Option<OwnedFd>,
    /// Shared with the child (and the processes forked from it) for copies.
    scratch: std::sync::Arc<Scratch>,
}

/// A raw system call for a live child ([`HostProcess::call`]) and the credentials to make it
/// with.
#[derive(Clone, Debug)]
pub struct ChildCall {
    /// The syscall number.
    pub nr: i64,
    /// Its six register arguments.
    pub args: [u64; 6],
    /// Who makes it: at most [`MAX_GROUPS`] supplementary groups.
    pub caller: crate::HostCaller,
    /// The call may sleep: if it does, interrupt it (as a signal with a handler would: EINTR).
    pub interrupt_if_asleep: bool,
}

impl HostProcess {
    /// The child's process id (what `shm_lprid`, `sempid`… record for it).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The result of each step, in order: the address for [`ChildStep::Shmat`], 0 for the
    /// others, or the errno.
    pub fn results(&self) -> &[Result<usize, Errno>] {
        &self.results
    }

    /// Makes `call` in the child (after its steps, it waits for calls) as `call.caller`, and
    /// returns its value or errno. A call that sleeps is interrupted if
    /// `call.interrupt_if_asleep` (the crate's signal, whose no-op handler the child
    /// inherited); otherwise, or if it neither returns nor sleeps within 20 s, the child is
    /// killed and [`HostError::Setup`](crate::HostError::Setup) says so, as it does when the
    /// child cannot switch credentials or has died.
    ///
    /// # Safety
    ///
    /// The call runs in the child's address space, a copy of this process's made at the fork:
    /// it cannot change this process's private memory, but it can write through shared
    /// mappings the child inherited (`MAP_SHARED`, System V attachments). Every pointer the
    /// call may write through must lie in memory that this process's code does not use as
    /// Rust objects (a buffer kept for such calls, or unmapped memory).
    pub unsafe fn call(
        &mut self,
        call: &ChildCall,
    ) -> Result<Result<i64, Errno>, crate::HostError> {
        let fail = |why: String| crate::HostError::Setup(why);
        if call.caller.groups.len() > MAX_GROUPS {
            return Err(fail(format!(
                "at most {MAX_GROUPS} groups in a child's call"
            )));
        }
        let (Some(go), Some(_)) = (&self.go, &self.done) else {
            return Err(fail(format!("the child {} was told to exit", self.pid)));
        };
        let mut record = [0u64; RECORD_WORDS];
        record[0] = call.nr as u64;
        record[1..7].copy_from_slice(&call.args);
        record[7] = u64::from(call.caller.euid);
        record[8] = u64::from(call.caller.egid);
        record[9] = u64::from(call.caller.fsgid.unwrap_or(call.caller.egid));
        record[10] = call.caller.caps.unwrap_or(KEEP_CAPS);
        record[11] = call.caller.groups.len() as u64;
        for (w, g) in record[12..].iter_mut().zip(&call.caller.groups) {
            *w = u64::from(*g);
        }
        if !write_all(go.as_raw_fd(), words_as_bytes(&record)) {
            return Err(fail(format!("the child {} is gone", self.pid)));
        }
        match self.reply(call.interrupt_if_asleep)? {
            (RAN_OK, v) => Ok(Ok(v)),
            (RAN_ERR, e) => Ok(Err(Errno::from_raw(e as i32))),
            (_, e) => Err(fail(format!(
                "the child {} could not switch its credentials (errno {e})",
                self.pid
            ))),
        }
    }

    /// Reads `len` bytes at `addr` of the child's memory.
    ///
    /// # Safety
    ///
    /// `addr..addr + len` must be mapped readable in the child (else it dies of SIGSEGV, and
    /// this returns an error).
    pub unsafe fn read(&mut self, addr: usize, len: usize) -> Result<Vec<u8>, crate::HostError> {
        let mut out = Vec::with_capacity(len);
        let mut done = 0;
        while done < len {
            let n = (len - done).min(SCRATCH_LEN);
            self.copy(self.scratch.map as usize, addr + done, n)?;
            // SAFETY: the child has written `n` bytes into the scratch and waits; nothing
            // else writes it.
            out.extend_from_slice(unsafe { std::slice::from_raw_parts(self.scratch.map, n) });
            done += n;
        }
        Ok(out)
    }

    /// Writes `data` at `addr` of the child's memory.
    ///
    /// # Safety
    ///
    /// `addr..addr + data.len()` must be mapped writable in the child, and hold nothing the
    /// child runs on (an attachment of a segment).
    pub unsafe fn write(&mut self, addr: usize, data: &[u8]) -> Result<(), crate::HostError> {
        for (i, chunk) in data.chunks(SCRATCH_LEN).enumerate() {
            // SAFETY: the scratch holds SCRATCH_LEN bytes; the child is waiting for a record.
            unsafe { ptr::copy_nonoverlapping(chunk.as_ptr(), self.scratch.map, chunk.len()) };
            self.copy(
                addr + i * SCRATCH_LEN,
                self.scratch.map as usize,
                chunk.len(),
            )?;
        }
        Ok(())
    }

    /// Makes the child copy `len` bytes from `src` to `dst`, both its addresses.
    fn copy(&mut self, dst: usize, src: usize, len: usize) -> Result<(), crate::HostError> {
        let fail = |why: String| crate::HostError::Setup(why);
        let Some(go) = &self.go else {
            return Err(fail(format!("the child {} was told to exit", self.pid)));
        };
        let mut record = [0u64; RECORD_WORDS];
        record[0] = COPY_RECORD;
        record[1] = dst as u64;
        record[2] = src as u64;
        record[3] = len as u64;
        if !write_all(go.as_raw_fd(), words_as_bytes(&record)) {
            return Err(fail(format!("the child {} is gone", self.pid)));
        }
        match self.reply(false)? {
            (RAN_OK, _) => Ok(()),
            (_, e) => Err(fail(format!(
                "the child {} could not copy (errno {e})",
                self.pid
            ))),
        }
    }

    /// Waits for the child's answer to a record: `(state, value)`. If `interrupt`, a call
    /// found asleep in an IPC wait is sent the interrupt signal (once).
    fn reply(&mut self, interrupt: bool) -> Result<(i64, i64), crate::HostError> {
        let fail = |why: String| crate::HostError::Setup(why);
        let Some(done) = &self.done else {
            return Err(fail(format!("the child {} was told to exit", self.pid)));
        };
        let done = done.as_raw_fd();
        let deadline = Instant::now() + CHILD_TIMEOUT;
        let mut interrupted = false;
        loop {
            let mut pfd = libc::pollfd {
                fd: done,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `pfd` is one valid pollfd that outlives the call.
            let n = unsafe { libc::poll(&mut pfd, 1, 1) };
            if n > 0 {
                break;
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(fail(format!(
                    "the child {} neither returned nor slept in its call; killed",
                    self.pid
                )));
            }
            if interrupt
                && !interrupted
                && self.scratch.in_call()
                && crate::thread::process_asleep_in_ipc(self.pid)
            {
                self.signal(sys::interrupt_signal());
                interrupted = true;
            }
        }
        let mut reply = [0u64; 2];
        if !read_exact(done, words_as_bytes_mut(&mut reply)) {
            self.kill();
            return Err(fail(format!("the child {} died in its call", self.pid)));
        }
        Ok((reply[0] as i64, reply[1] as i64))
    }

    /// Forks the child itself (fork(2) in the child): the new process has a copy of the
    /// child's attachments (each counted as an attach by the child) and no undo list, and
    /// makes the calls sent to it, as the child does. It is not this process's child: when
    /// its handle tells it to exit, the kernel reaps it (its parent ignores SIGCHLD), and if
    /// its parent exits first it lives on, reparented.
    pub fn fork(&mut self) -> Result<HostProcess, crate::HostError> {
        let fail = |why: String| crate::HostError::Setup(why);
        let Some(go) = &self.go else {
            return Err(fail(format!("the child {} was told to exit", self.pid)));
        };
        let (done_rd, done_wr) = pipe();
        let (go_theirs, go_ours) = socketpair();
        let mut record = [0u64; RECORD_WORDS];
        record[0] = FORK_RECORD;
        let sent = send_with_fds(
            go.as_raw_fd(),
            words_as_bytes(&record),
            [done_wr.as_raw_fd(), go_theirs.as_raw_fd()],
        );
        drop((done_wr, go_theirs));
        if !sent {
            return Err(fail(format!("the child {} is gone", self.pid)));
        }
        let pid = match self.reply(false)? {
            (RAN_OK, pid) => pid as i32,
            (_, e) => {
                return Err(fail(format!(
                    "the child {} could not fork (errno {e})",
                    self.pid
                )));
            }
        };
        // It cannot exit before `go_ours` is closed: its pid is still its own here.
        // SAFETY: pidfd_open takes no pointers.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, c_long::from(pid), 0 as c_long) };
        let Ok(fd) = check(fd) else {
            drop(go_ours);
            return Err(fail(format!(
                "pidfd_open of process {pid} failed (Linux 5.3 or later is needed); it exits \
                 as its call socket is closed"
            )));
        };
        // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
        let pidfd = Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        let mut process = HostProcess {
            pid,
            results: Vec::new(),
            go: Some(go_ours),
            done: None,
            pidfd,
            scratch: std::sync::Arc::clone(&self.scratch),
        };
        match wait_ready(&done_rd, CHILD_TIMEOUT) {
            Ready::Done => {
                process.done = Some(done_rd);
                Ok(process)
            }
            _ => {
                process.kill();
                Err(fail(format!(
                    "the process {pid} forked by {} did not start",
                    self.pid
                )))
            }
        }
    }

    /// Tells the child to exit (it has been waiting since its last step) and returns once it
    /// has exited and been reaped, i.e. after the kernel detached its attachments and applied
    /// its undo list. Panics if it has not exited 20 s later (it is killed then).
    pub fn exit(mut self) {
        if let Err(pid) = self.finish() {
            panic!("sysvipc-host: the forked child (pid {pid}) did not exit and was killed");
        }
    }

    /// Closes `go` and waits for the exit; `Err(pid)` if it had to be killed.
    fn finish(&mut self) -> Result<(), i32> {
        let Some(go) = self.go.take() else {
            return Ok(());
        };
        drop(go);
        if let Some(fd) = &self.pidfd {
            // Not our child: the kernel reaps it; its pid may already be another's.
            return if wait_pidfd(fd, CHILD_TIMEOUT) {
                Ok(())
            } else {
                self.kill();
                Err(self.pid)
            };
        }
        if wait_exited(self.pid, CHILD_TIMEOUT) {
            reap(self.pid);
            Ok(())
        } else {
            self.kill();
            Err(self.pid)
        }
    }

    /// Sends `sig` to the process: through its pidfd if it has one, else by pid (our
    /// unreaped child, so the id cannot have been reused).
    fn signal(&self, sig: libc::c_int) {
        match &self.pidfd {
            // SAFETY: pidfd_send_signal with a null siginfo takes no other pointer.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    c_long::from(fd.as_raw_fd()),
                    c_long::from(sig),
                    0 as c_long,
                    0 as c_long,
                );
            },
            // SAFETY: kill takes no pointers; see above.
            None => unsafe {
                libc::kill(self.pid, sig);
            },
        }
    }

    /// Kills the child with SIGKILL and reaps it; returns the wait status (0 for a process
    /// forked by a child: the kernel reaps it).
    fn kill(&mut self) -> i32 {
        self.go = None;
        self.done = None;
        self.signal(libc::SIGKILL);
        if self.pidfd.is_some() {
            0
        } else {
            reap(self.pid)
        }
    }
}

impl Drop for HostProcess {
    /// Makes the child exit, as [`HostProcess::exit`] does, but kills it instead of panicking
    /// if it does not.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Waits until child `pid` has exited (is a zombie), for at most `timeout`; `false` on
/// timeout. Without pidfd_open(2) (Linux < 5.3) it does not wait at all: [`reap`] will.
///
/// A zombie has run all of `do_exit()` up to `exit_notify()`: `exit_mm()` (its attachments
/// detached), `exit_sem()` (its undo list applied).
fn wait_exited(pid: i32, timeout: Duration) -> bool {
    // SAFETY: pidfd_open takes no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, c_long::from(pid), 0 as c_long) };
    let Ok(fd) = check(fd) else {
        return true;
    };
    // SAFETY: pidfd_open returned a new descriptor (an int) that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    wait_pidfd(&fd, timeout)
}

/// Waits until the process of pidfd `fd` has exited, for at most `timeout`; `false` on
/// timeout.
fn wait_pidfd(fd: &OwnedFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd that outlives the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n >= 0 || last_errno() != Errno::EINTR {
            return n > 0;
        }
    }
}

/// Reaps child `pid` (waitpid(2), retried on EINTR; ECHILD if SIGCHLD is ignored and the
/// kernel reaped it already, which also means it has exited). Returns the wait status (0 if
/// there was none to collect). Any thread of the process may reap a child of another.
fn reap(pid: i32) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid int to write.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 || last_errno() != Errno::EINTR {
            return status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysv_mappings_are_recognised_by_their_unlinked_shmem_file() {
        assert_eq!(
            sysv_mapping(
                "7ffb2cece000-7ffb2ced0000 rw-s 00000000 00:01 32768                      \
                 /SYSV0000abcd (deleted)"
            ),
            Some((0x7ffb_2cec_e000, 0x7ffb_2ced_0000))
        );
        assert_eq!(
            sysv_mapping("1000-2000 r--s 00000000 00:01 0 /SYSV00000000 (deleted)"),
            Some((0x1000, 0x2000))
        );
        assert_eq!(
            sysv_mapping("1000-2000 rw-s 00000000 00:01 5 /SYSV00000000"),
            None
        );
        assert_eq!(
            sysv_mapping("1000-2000 rw-s 00000000 08:01 5 /tmp/SYSV00000000 (deleted)"),
            None
        );
        assert_eq!(
            sysv_mapping("1000-2000 rw-s 00000000 00:01 5 /SYSVxyz (deleted)"),
            None
        );
        assert_eq!(sysv_mapping("1000-2000 rw-p 00000000 00:00 0"), None);
        assert_eq!(sysv_mapping(""), None);
    }

    #[test]
    fn result_slots_round_trip() {
        let slots = SharedSlots::new(3);
        slots.set(0, Ok(0x7f00_0000_1000));
        slots.set(1, Err(Errno::EINVAL));
        slots.set(7, Ok(1));
        assert_eq!(
            slots.all(),
            vec![Some(Ok(0x7f00_0000_1000)), Some(Err(Errno::EINVAL)), None]
        );
    }
}
