//! Raw System V message-queue syscalls made by the *calling thread*, in whatever IPC namespace
//! and with whatever credentials that thread has.
//!
//! These are the one implementation behind [`HostNamespace`](crate::HostNamespace) (which runs
//! them on its namespace thread) and [`HostThread`](crate::HostThread) (which runs them on a
//! thread spawned inside the namespace). They are deliberately not public: called from any
//! other thread they would act on the test process's own IPC namespace.
//!
//! Every call goes through `libc::syscall(SYS_…)`, never through glibc's `msgctl()` & co., so
//! `cmd`, flags and sizes reach the kernel exactly as given (glibc may add `IPC_64` or convert
//! structures on some targets). Errors are the kernel's errno, unchanged.
//!
//! Invariant: no buffer handed to the kernel is smaller than what the kernel may access for
//! the given arguments, except the caller-supplied ones of the `*_raw` calls, which are placed
//! against an inaccessible guard page ([`GuardedBuf`]) so that an overrun faults in the
//! kernel (`EFAULT`) instead of touching memory of this process.

use std::mem::size_of;
use std::ptr;

use libc::c_long;

use crate::abi::{
    Errno, IPC_RMID, MSG_INFO, MSG_STAT_ANY, Msginfo, Msqid64Ds, SEM_INFO, SEM_STAT_ANY, SHM_INFO,
    SHM_STAT_ANY,
};

// `struct msgbuf` starts with a C `long`; this crate supports 64-bit Linux only.
const _: () = assert!(
    size_of::<c_long>() == 8,
    "sysvipc-host supports 64-bit Linux only"
);

/// Size of the `long mtype` that starts every `struct msgbuf` (msgsnd(2)).
const MTYPE_LEN: usize = size_of::<c_long>();

/// The largest number of text bytes Linux can copy for one message: `msgmax` is an `int`
/// sysctl bounded by INT_MAX (`ipc/ipc_sysctl.c`), and a MSG_COPY buffer is capped at msgmax.
const MAX_TEXT: usize = i32::MAX as usize;

/// The errno the last failed libc call of this thread left behind.
fn last_errno() -> Errno {
    Errno::from_raw(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// Turns the `-1`/errno convention of `syscall(2)` into a `Result`.
fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(ret)
    }
}

/// The kernel thread id of the calling thread (`gettid(2)`).
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    // A tid is a pid_t, so it always fits.
    tid as i32
}

/// `msgget(2)`: `ksys_msgget()`.
pub(crate) fn msgget(key: i32, flags: i32) -> Result<i32, Errno> {
    // SAFETY: msgget takes no pointers.
    let ret = unsafe { libc::syscall(libc::SYS_msgget, c_long::from(key), c_long::from(flags)) };
    // A msqid is an int.
    check(ret).map(|id| id as i32)
}

/// `msgsnd(2)` of a well-formed `struct msgbuf` { mtype, text }: `do_msgsnd()`.
pub(crate) fn msgsnd(id: i32, mtype: i64, text: &[u8], flags: i32) -> Result<(), Errno> {
    let mut buf = Vec::with_capacity(MTYPE_LEN + text.len());
    buf.extend_from_slice(&mtype.to_ne_bytes());
    buf.extend_from_slice(text);
    // A slice never exceeds isize::MAX bytes, so the length fits a long.
    let msgsz = text.len() as c_long;
    // SAFETY: `buf` is readable for MTYPE_LEN + msgsz bytes (the long mtype, then the text),
    // which is all msgsnd(2) reads; the kernel does not write to it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_msgsnd,
            c_long::from(id),
            buf.as_ptr(),
            msgsz,
            c_long::from(flags),
        )
    };
    check(ret).map(drop)
}

/// `msgsnd(2)` with arbitrary arguments: `msgp` is `NULL` for `None`, otherwise a copy of the
/// given bytes (a native-endian `long` mtype, then the text) that ends right before an
/// inaccessible page, so a `msgsz` longer than the bytes given makes the kernel fault (EFAULT).
pub(crate) fn msgsnd_raw(
    id: i32,
    msgp: Option<&[u8]>,
    msgsz: i64,
    flags: i32,
) -> Result<(), Errno> {
    let guarded = msgp.map(GuardedBuf::new);
    let ptr = guarded.as_ref().map_or(ptr::null(), |g| g.as_ptr());
    // SAFETY: `ptr` is NULL or points at a private mapping that ends at a PROT_NONE page
    // (GuardedBuf), owned by `guarded`, which outlives the call. The kernel only reads
    // through `ptr` (mtype, then the text in ascending segments, stopping at the first
    // fault), so a read past the bytes hits the guard page and becomes EFAULT; nothing of
    // this process is written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_msgsnd,
            c_long::from(id),
            ptr,
            msgsz,
            c_long::from(flags),
        )
    };
    check(ret).map(drop)
}

/// Text bytes to provide behind the mtype for a receive of `msgsz` bytes: the kernel never
/// copies more than `min(msgsz, msgmax)` bytes, and msgmax <= INT_MAX.
fn receive_capacity(msgsz: u64) -> usize {
    usize::try_from(msgsz).map_or(MAX_TEXT, |n| n.min(MAX_TEXT))
}

/// Receive buffers up to this size live on the heap; larger ones are mapped with
/// MAP_NORESERVE, so that a test asking for a buffer of INT_MAX bytes neither commits nor
/// accounts that memory (the kernel writes only the message).
const HEAP_RECEIVE_MAX: usize = 1 << 16;

/// A zeroed receive buffer, or none (NULL).
enum RecvBuf {
    Null,
    Heap(Vec<u8>),
    Mapped(GuardedBuf),
}

impl RecvBuf {
    fn zeroed(len: usize) -> RecvBuf {
        if len <= HEAP_RECEIVE_MAX {
            RecvBuf::Heap(vec![0; len])
        } else {
            RecvBuf::Mapped(GuardedBuf::zeroed(len))
        }
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        match self {
            RecvBuf::Null => ptr::null_mut(),
            RecvBuf::Heap(v) => v.as_mut_ptr(),
            RecvBuf::Mapped(g) => g.as_mut_ptr(),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            RecvBuf::Null => &[],
            RecvBuf::Heap(v) => v,
            RecvBuf::Mapped(g) => g.as_slice(),
        }
    }
}

/// Runs `msgrcv(2)` with a zeroed buffer of `MTYPE_LEN + receive_capacity(msgsz)` bytes, or
/// NULL; returns the syscall's result and the buffer.
fn msgrcv_into(
    id: i32,
    buffer: bool,
    msgsz: c_long,
    msgtyp: i64,
    flags: i32,
) -> (Result<c_long, Errno>, RecvBuf) {
    let mut buf = if buffer {
        // Negative sizes are rejected by the kernel before it touches the buffer.
        let cap = receive_capacity(u64::try_from(msgsz).unwrap_or(0));
        RecvBuf::zeroed(MTYPE_LEN + cap)
    } else {
        RecvBuf::Null
    };
    let ptr = buf.as_mut_ptr();
    // SAFETY: `ptr` is NULL (the kernel reports EFAULT if it needs it) or `buf`, which holds
    // MTYPE_LEN + min(msgsz, INT_MAX) bytes. The kernel writes the long mtype and at most
    // min(msgsz, message size) <= min(msgsz, msgmax) <= min(msgsz, INT_MAX) text bytes after
    // it, and for MSG_COPY reads at most min(msgsz, msgmax) bytes from the start: all inside.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_msgrcv,
            c_long::from(id),
            ptr,
            msgsz,
            msgtyp as c_long,
            c_long::from(flags),
        )
    };
    (check(ret), buf)
}

/// `msgrcv(2)` into a buffer of 8 + `size` bytes: `do_msgrcv()`. Returns the received mtype
/// and the text bytes the kernel reported (truncated with MSG_NOERROR).
pub(crate) fn msgrcv(
    id: i32,
    size: usize,
    msgtyp: i64,
    flags: i32,
) -> Result<(i64, Vec<u8>), Errno> {
    // Sizes above LONG_MAX arrive as negative longs, as they would from C.
    let (ret, buf) = msgrcv_into(id, true, size as c_long, msgtyp, flags);
    let len = ret?;
    let buf = buf.bytes();
    let mut mtype = [0u8; MTYPE_LEN];
    mtype.copy_from_slice(buf.get(..MTYPE_LEN).unwrap_or(&[0; MTYPE_LEN]));
    let len = usize::try_from(len).unwrap_or(0);
    let text = buf.get(MTYPE_LEN..MTYPE_LEN + len).unwrap_or(&[]).to_vec();
    Ok((i64::from_ne_bytes(mtype), text))
}

/// `msgrcv(2)` with a NULL buffer or a zeroed one of 8 + `msgsz` bytes (at most 8 + INT_MAX);
/// returns the raw result (number of text bytes).
pub(crate) fn msgrcv_raw(
    id: i32,
    null_buffer: bool,
    msgsz: i64,
    msgtyp: i64,
    flags: i32,
) -> Result<i64, Errno> {
    msgrcv_into(id, !null_buffer, msgsz, msgtyp, flags).0
}

/// Scratch space for every `msgctl`/`semctl`/`shmctl` structure this module passes: at least
/// as large and as aligned as the largest of them, so no command can write past it.
#[repr(C, align(8))]
struct CtlBuf([u8; 128]);

const _: () = assert!(size_of::<Msqid64Ds>() <= size_of::<CtlBuf>());
const _: () = assert!(size_of::<crate::abi::Semid64Ds>() <= size_of::<CtlBuf>());
const _: () = assert!(size_of::<crate::abi::Seminfo>() <= size_of::<CtlBuf>());
const _: () = assert!(size_of::<crate::abi::Shmid64Ds>() <= size_of::<CtlBuf>());
const _: () = assert!(size_of::<crate::abi::ShmInfo>() <= size_of::<CtlBuf>());

/// Whether a `T` fits, suitably aligned, at the start of a [`CtlBuf`].
const fn fits_ctl_buf<T>() -> bool {
    size_of::<T>() <= size_of::<CtlBuf>() && align_of::<T>() <= align_of::<CtlBuf>()
}

impl CtlBuf {
    fn zeroed() -> Self {
        CtlBuf([0; 128])
    }

    /// A copy of the plain-integer structure `T` at the start of the buffer.
    fn read<T: Copy + PlainData>(&self) -> T {
        const { assert!(fits_ctl_buf::<T>()) };
        // SAFETY: T fits in the buffer and is no more aligned than it (checked at compile
        // time above); PlainData types are #[repr(C)] structs of integers with explicit
        // padding fields, for which every byte pattern is valid.
        unsafe { ptr::read(self.0.as_ptr().cast::<T>()) }
    }

    /// Stores `value` at the start of the buffer.
    fn write<T: Copy + PlainData>(&mut self, value: T) {
        const { assert!(fits_ctl_buf::<T>()) };
        // SAFETY: as in `read`: T fits and is suitably aligned at the start of the buffer.
        unsafe { ptr::write(self.0.as_mut_ptr().cast::<T>(), value) }
    }
}

/// `#[repr(C)]` structures made only of integers (any byte pattern is a valid value).
trait PlainData {}
impl PlainData for Msqid64Ds {}
impl PlainData for Msginfo {}

/// `msgctl(2)` with a pointer to `buf`.
fn msgctl_buf(id: i32, cmd: i32, buf: &mut CtlBuf) -> Result<i32, Errno> {
    // SAFETY: `buf` is valid for reads and writes of 128 bytes, more than any msgctl command
    // reads or writes (msqid64_ds: 120 bytes, msginfo: 32).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_msgctl,
            c_long::from(id),
            c_long::from(cmd),
            buf.0.as_mut_ptr(),
        )
    };
    // msgctl returns an int (0, an id or an index).
    check(ret).map(|r| r as i32)
}

/// `msgctl(2)` IPC_STAT / MSG_STAT / MSG_STAT_ANY (or any other `cmd`): the return value and
/// the `msqid64_ds` the kernel wrote (zeroed where it wrote nothing). `msgctl_stat()` in
/// `ipc/msg.c`.
pub(crate) fn msgctl_stat(id: i32, cmd: i32) -> Result<(i32, Msqid64Ds), Errno> {
    let mut buf = CtlBuf::zeroed();
    let ret = msgctl_buf(id, cmd, &mut buf)?;
    Ok((ret, buf.read::<Msqid64Ds>()))
}

/// `msgctl(2)` IPC_SET with a copy of `ds`: `msgctl_down()`.
pub(crate) fn msgctl_set(id: i32, ds: &Msqid64Ds) -> Result<(), Errno> {
    let mut buf = CtlBuf::zeroed();
    buf.write(*ds);
    msgctl_buf(id, crate::abi::IPC_SET, &mut buf).map(drop)
}

/// `msgctl(2)` IPC_RMID (NULL buffer): `msgctl_down()` → `freeque()`.
pub(crate) fn msgctl_rmid(id: i32) -> Result<(), Errno> {
    msgctl_raw(id, IPC_RMID, None).map(drop)
}

/// `msgctl(2)` IPC_INFO / MSG_INFO (or any other `cmd`): the return value (highest used
/// index) and the `msginfo` the kernel wrote. `msgctl_info()` in `ipc/msg.c`.
pub(crate) fn msgctl_info(id: i32, cmd: i32) -> Result<(i32, Msginfo), Errno> {
    let mut buf = CtlBuf::zeroed();
    let ret = msgctl_buf(id, cmd, &mut buf)?;
    Ok((ret, buf.read::<Msginfo>()))
}

/// `msgctl(2)` with `buf` NULL (`None`) or a copy of the given bytes that ends right before an
/// inaccessible page (so the kernel faults on anything past them); the bytes the kernel left
/// there are copied back into `buf`.
pub(crate) fn msgctl_raw(id: i32, cmd: i32, buf: Option<&mut [u8]>) -> Result<i32, Errno> {
    match buf {
        None => {
            // SAFETY: a NULL buffer is never dereferenced by this process; the kernel
            // reports EFAULT if the command needs one.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_msgctl,
                    c_long::from(id),
                    c_long::from(cmd),
                    ptr::null_mut::<u8>(),
                )
            };
            check(ret).map(|r| r as i32)
        }
        Some(bytes) => {
            let mut guarded = GuardedBuf::new(bytes);
            // SAFETY: the mapping behind `guarded` holds exactly bytes.len() accessible bytes
            // followed by a PROT_NONE page. No msgctl command accesses more than 120 bytes
            // (msqid64_ds), less than a page, and the kernel copies in ascending order, so an
            // access past the bytes lands in the guard page and faults (EFAULT) without
            // touching other memory. `guarded` outlives the call.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_msgctl,
                    c_long::from(id),
                    c_long::from(cmd),
                    guarded.as_mut_ptr(),
                )
            };
            bytes.copy_from_slice(guarded.as_slice());
            check(ret).map(|r| r as i32)
        }
    }
}

/// Removes every message queue, semaphore set and shared-memory segment of the calling
/// thread's IPC namespace (`IPC_RMID` on each id found by `*_STAT_ANY` up to the highest index
/// `*_INFO` reports). Waiters blocked in them wake with EIDRM. Needs CAP_SYS_ADMIN (or
/// ownership of every object). Segments still attached live on until their last detach.
pub(crate) fn remove_all_objects() {
    let kinds: [(c_long, i32, i32); 3] = [
        (libc::SYS_msgctl, MSG_INFO, MSG_STAT_ANY),
        (libc::SYS_semctl, SEM_INFO, SEM_STAT_ANY),
        (libc::SYS_shmctl, SHM_INFO, SHM_STAT_ANY),
    ];
    for (nr, info, stat_any) in kinds {
        let mut buf = CtlBuf::zeroed();
        let mut call = |id: i32, cmd: i32| -> Result<c_long, Errno> {
            let p = buf.0.as_mut_ptr();
            let (id, cmd) = (c_long::from(id), c_long::from(cmd));
            // SAFETY: `p` points at 128 writable bytes, more than any of these commands
            // writes (semid64_ds 104, seminfo 40, shmid64_ds 112, shm_info 48, msqid64_ds
            // 120, msginfo 32 bytes); IPC_RMID uses no buffer. semctl(2) takes
            // (semid, semnum, cmd, union semun) and reads the pointer member of the union.
            let ret = unsafe {
                if nr == libc::SYS_semctl {
                    libc::syscall(nr, id, 0 as c_long, cmd, p)
                } else {
                    libc::syscall(nr, id, cmd, p)
                }
            };
            check(ret)
        };
        let Ok(max_index) = call(0, info) else {
            continue;
        };
        for index in 0..=max_index {
            // An index may be free: *_STAT_ANY then fails with EINVAL. Ids and indices are ints.
            if let Ok(id) = call(index as i32, stat_any) {
                let _ = call(id as i32, IPC_RMID);
            }
        }
    }
}

/// A private anonymous mapping whose data ends exactly where an inaccessible (PROT_NONE) page
/// begins: the kernel's accesses past the data fault and become EFAULT.
pub(crate) struct GuardedBuf {
    map: *mut u8,
    map_len: usize,
    offset: usize,
    len: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

impl GuardedBuf {
    /// `len` zero bytes in a fresh mapping, right before its guard page. The mapping is
    /// MAP_NORESERVE: pages cost memory only once written. Panics if the process cannot map
    /// memory (a harness failure, not a kernel answer to report as an errno).
    pub(crate) fn zeroed(len: usize) -> GuardedBuf {
        let page = page_size();
        let data_pages = len.div_ceil(page);
        let map_len = (data_pages + 1) * page;
        // SAFETY: a fresh private anonymous mapping at an address of the kernel's choosing
        // aliases no existing memory.
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert!(
            map != libc::MAP_FAILED,
            "sysvipc-host: mmap of {map_len} bytes failed: {}",
            std::io::Error::last_os_error()
        );
        let map = map.cast::<u8>();
        let guard_off = data_pages * page;
        let buf = GuardedBuf {
            map,
            map_len,
            offset: guard_off - len,
            len,
        };
        // SAFETY: [map + guard_off, map + map_len) is the last page of the mapping just made.
        let rc = unsafe { libc::mprotect(map.add(guard_off).cast(), page, libc::PROT_NONE) };
        assert!(
            rc == 0,
            "sysvipc-host: mprotect of a guard page failed: {}",
            std::io::Error::last_os_error()
        );
        buf
    }

    /// A copy of `data` in a fresh mapping, right before its guard page.
    pub(crate) fn new(data: &[u8]) -> GuardedBuf {
        let mut buf = GuardedBuf::zeroed(data.len());
        // SAFETY: the destination is the buffer's `len == data.len()` accessible bytes, which
        // nothing else references; the source is a distinct, live slice.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), buf.as_mut_ptr(), data.len()) };
        buf
    }

    /// Start of the data (one past it is the guard page).
    pub(crate) fn as_ptr(&self) -> *const u8 {
        // SAFETY: offset <= map_len - page: still inside the mapping.
        unsafe { self.map.add(self.offset) }
    }

    /// Mutable start of the data.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: as in `as_ptr`.
        unsafe { self.map.add(self.offset) }
    }

    /// The data as it is now (the kernel may have written to it).
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes from `as_ptr()` are mapped readable and owned by `self`; no
        // mutable access exists while `&self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len) }
    }
}

impl Drop for GuardedBuf {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` describe the mapping made in `new`, unmapped only here.
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
    }
}

/// The real-time signal [`interrupt`] sends; its handler is a no-op installed once.
pub(crate) fn interrupt_signal() -> i32 {
    libc::SIGRTMIN() + 3
}

extern "C" fn ignore_signal(_sig: libc::c_int) {}

/// Installs the no-op handler for [`interrupt_signal`] without SA_RESTART (idempotent: the
/// first call installs, later ones do nothing). A handler that *runs* is what turns
/// msgsnd/msgrcv's ERESTARTNOHAND into EINTR, and semop's EINTR needs one not to kill us.
pub(crate) fn install_interrupt_handler() -> Result<(), Errno> {
    static ONCE: std::sync::OnceLock<Result<(), Errno>> = std::sync::OnceLock::new();
    *ONCE.get_or_init(|| {
        // SAFETY: an all-zero sigaction is a valid value (no handler, no flags, empty mask
        // before sigemptyset).
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = 0; // deliberately no SA_RESTART
        // SAFETY: `sa.sa_mask` is a valid sigset_t to initialise; the handler is an
        // async-signal-safe no-op; a NULL old-action pointer is allowed.
        let rc = unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(interrupt_signal(), &sa, ptr::null_mut())
        };
        if rc == 0 { Ok(()) } else { Err(last_errno()) }
    })
}

/// Unblocks [`interrupt_signal`] for the calling thread only (`pthread_sigmask(3)`).
pub(crate) fn unblock_interrupt_signal() {
    // SAFETY: `set` is initialised by sigemptyset before use; a NULL old-set is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, interrupt_signal());
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
    }
}

/// Sends [`interrupt_signal`] to thread `tid` of this process (`tgkill(2)`).
pub(crate) fn interrupt(tid: i32) -> Result<(), Errno> {
    // SAFETY: tgkill takes no pointers; the signal's handler is the installed no-op.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            c_long::from(libc::getpid()),
            c_long::from(tid),
            c_long::from(interrupt_signal()),
        )
    };
    check(ret).map(drop)
}

/// `unshare(CLONE_NEWIPC)` for the calling thread only.
pub(crate) fn unshare_ipc() -> Result<(), Errno> {
    // SAFETY: unshare takes no pointers; CLONE_NEWIPC (which implies CLONE_SYSVSEM) changes
    // only the calling task's namespace and undo list.
    let ret = unsafe { libc::syscall(libc::SYS_unshare, c_long::from(libc::CLONE_NEWIPC)) };
    check(ret).map(drop)
}
