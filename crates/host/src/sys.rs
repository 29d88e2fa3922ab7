//! Raw System V message-queue, semaphore and shared-memory syscalls made by the *calling
//! thread*, in whatever IPC namespace and with whatever credentials that thread has.
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
    Errno, GETALL, IPC_RMID, IPC_SET, MSG_INFO, MSG_STAT_ANY, Msginfo, Msqid64Ds, SEM_INFO,
    SEM_STAT_ANY, SETALL, SETVAL, SHM_INFO, SHM_REMAP, SHM_RND, SHM_STAT_ANY, Sembuf, Semid64Ds,
    Seminfo, ShmInfo, Shmid64Ds, Shminfo64,
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
pub(crate) fn last_errno() -> Errno {
    Errno::from_raw(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// Turns the `-1`/errno convention of `syscall(2)` into a `Result`.
pub(crate) fn check(ret: c_long) -> Result<c_long, Errno> {
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
const _: () = assert!(size_of::<crate::abi::Shminfo64>() <= size_of::<CtlBuf>());

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
impl PlainData for Semid64Ds {}
impl PlainData for Seminfo {}
impl PlainData for Shmid64Ds {}
impl PlainData for Shminfo64 {}
impl PlainData for ShmInfo {}

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

// --- semaphores ----------------------------------------------------------------------------

/// `semget(2)`: `ksys_semget()`; returns the set's id.
pub(crate) fn semget(key: i32, nsems: i32, flags: i32) -> Result<i32, Errno> {
    // SAFETY: semget takes no pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_semget,
            c_long::from(key),
            c_long::from(nsems),
            c_long::from(flags),
        )
    };
    // A semid is an int.
    check(ret).map(|id| id as i32)
}

/// `struct __kernel_timespec`, what semtimedop(2) reads on 64-bit Linux.
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// Which of the two entry points of `do_semtimedop()` to call.
#[derive(Clone, Copy)]
enum SemEntry {
    /// `semop(2)` (no timeout argument at all).
    Semop,
    /// `semtimedop(2)` with a relative timeout `(tv_sec, tv_nsec)`, or NULL for `None`.
    Semtimedop(Option<(i64, i64)>),
}

/// semop(2)/semtimedop(2) of `nsops` operations at `sops`. Allocates nothing (a forked child
/// calls it, see `crate::child`).
///
/// # Safety
///
/// `sops` must be readable for `min(nsops, semopm)` `struct sembuf`s (the kernel reads them
/// all before it evaluates any), or end right before an inaccessible page.
unsafe fn semtimedop_at(
    id: i32,
    sops: *const u8,
    nsops: usize,
    entry: SemEntry,
) -> Result<(), Errno> {
    // nsops is an `unsigned int` in the kernel: a larger usize arrives truncated, as from C.
    let nsops = nsops as c_long;
    let ret = match entry {
        // SAFETY: the caller guarantees `sops`; the kernel only reads through it.
        SemEntry::Semop => unsafe { libc::syscall(libc::SYS_semop, c_long::from(id), sops, nsops) },
        SemEntry::Semtimedop(timeout) => {
            let ts = timeout.map(|(tv_sec, tv_nsec)| KernelTimespec { tv_sec, tv_nsec });
            let ts_ptr = ts
                .as_ref()
                .map_or(ptr::null(), |t| t as *const KernelTimespec);
            // SAFETY: the caller guarantees `sops`; `ts_ptr` is NULL or points at a live
            // `__kernel_timespec` on this stack frame. The kernel only reads through both.
            unsafe { libc::syscall(libc::SYS_semtimedop, c_long::from(id), sops, nsops, ts_ptr) }
        }
    };
    check(ret).map(drop)
}

/// `semop(2)` of `sops` (nsops = `sops.len()`): `do_semtimedop()` without a timeout.
pub(crate) fn semop(id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
    // SAFETY: `sops` is a live slice of exactly `sops.len()` sembufs.
    unsafe { semtimedop_at(id, sops.as_ptr().cast(), sops.len(), SemEntry::Semop) }
}

/// `semtimedop(2)` of `sops` with a relative timeout `(tv_sec, tv_nsec)`, or a NULL timeout
/// for `None` (the same as semop(2)).
pub(crate) fn semtimedop(
    id: i32,
    sops: &[Sembuf],
    timeout: Option<(i64, i64)>,
) -> Result<(), Errno> {
    // SAFETY: `sops` is a live slice of exactly `sops.len()` sembufs.
    unsafe {
        semtimedop_at(
            id,
            sops.as_ptr().cast(),
            sops.len(),
            SemEntry::Semtimedop(timeout),
        )
    }
}

/// The native bytes of `sops` (`struct sembuf` has no padding).
fn sembuf_bytes(sops: &[Sembuf]) -> Vec<u8> {
    sops.iter()
        .flat_map(|s| {
            let mut b = [0u8; 6];
            b[..2].copy_from_slice(&s.sem_num.to_ne_bytes());
            b[2..4].copy_from_slice(&s.sem_op.to_ne_bytes());
            b[4..].copy_from_slice(&s.sem_flg.to_ne_bytes());
            b
        })
        .collect()
}

/// semop(2) (`timeout` `None`) or semtimedop(2) (`Some(t)`, `t` `None` = NULL) with an explicit
/// `nsops`: a copy of `sops` is placed right before an inaccessible page, so an `nsops` larger
/// than the slice (but within `semopm`) makes the kernel fault (EFAULT), and one above `semopm`
/// shows that E2BIG comes before the array is read.
pub(crate) fn semop_raw(
    id: i32,
    sops: &[Sembuf],
    nsops: usize,
    timeout: Option<Option<(i64, i64)>>,
) -> Result<(), Errno> {
    let guarded = GuardedBuf::new(&sembuf_bytes(sops));
    let entry = timeout.map_or(SemEntry::Semop, SemEntry::Semtimedop);
    // SAFETY: the copy ends right before a PROT_NONE page and `guarded` outlives the call; the
    // kernel reads the array in one ascending copy, so reading past the copy faults (EFAULT)
    // without touching other memory.
    unsafe { semtimedop_at(id, guarded.as_ptr(), nsops, entry) }
}

/// `semctl(2)` whose 4th argument (`union semun`, an unsigned long) is the number `arg`.
///
/// Private: only [`semctl_val`] (arg 0, a NULL pointer for the commands that take one) and
/// [`semctl_setval`] (cmd SETVAL, which never dereferences it) call it.
fn semctl_plain(id: i32, semnum: i32, cmd: i32, arg: libc::c_ulong) -> Result<i32, Errno> {
    // SAFETY: `arg` is 0 (NULL: the kernel reports EFAULT for commands that need a buffer) or
    // the value of SETVAL, which the kernel never uses as an address.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_semctl,
            c_long::from(id),
            c_long::from(semnum),
            c_long::from(cmd),
            arg,
        )
    };
    // semctl returns an int (0, a value, a count, a pid, an id or an index).
    check(ret).map(|r| r as i32)
}

/// `semctl(2)` with a 4th argument of 0: GETVAL, GETPID, GETNCNT, GETZCNT (`semctl_main()`),
/// IPC_RMID, or any other `cmd` (one that needs a buffer gets NULL: EFAULT).
pub(crate) fn semctl_val(id: i32, semnum: i32, cmd: i32) -> Result<i32, Errno> {
    semctl_plain(id, semnum, cmd, 0)
}

/// `semctl(2)` SETVAL (`semctl_setval()`): the 4th argument is `val` zero-extended, as from a
/// zeroed `union semun` whose `int val` was set (the kernel uses its low 32 bits).
pub(crate) fn semctl_setval(id: i32, semnum: i32, val: i32) -> Result<(), Errno> {
    semctl_plain(id, semnum, SETVAL, libc::c_ulong::from(val as u32)).map(drop)
}

/// `semctl(2)` IPC_RMID (`freeary()`): sleepers wake with EIDRM.
pub(crate) fn semctl_rmid(id: i32) -> Result<(), Errno> {
    semctl_plain(id, 0, IPC_RMID, 0).map(drop)
}

/// `semctl(2)` with a pointer to a copy of `data` that ends right before an inaccessible page:
/// the result, and the bytes the kernel left in the copy. Whatever `cmd` is (GETALL writes
/// `nsems` shorts, SETALL reads them), an access past the copy faults (EFAULT).
fn semctl_guarded(id: i32, semnum: i32, cmd: i32, data: &[u8]) -> (Result<i32, Errno>, Vec<u8>) {
    let mut guarded = GuardedBuf::new(data);
    // SAFETY: the pointer (passed as the `union semun` unsigned long) is the start of the
    // copy, which ends at a PROT_NONE page; the kernel copies to and from user memory in
    // ascending order, so any access past the copy faults there instead of touching other
    // memory. `guarded` outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_semctl,
            c_long::from(id),
            c_long::from(semnum),
            c_long::from(cmd),
            guarded.as_mut_ptr(),
        )
    };
    (check(ret).map(|r| r as i32), guarded.as_slice().to_vec())
}

/// `semctl(2)` with a buffer the size of a [`CtlBuf`] (guarded): the result and the buffer.
fn semctl_ctl_buf(id: i32, cmd: i32, buf: &CtlBuf) -> Result<(i32, CtlBuf), Errno> {
    let (ret, bytes) = semctl_guarded(id, 0, cmd, &buf.0);
    let mut out = CtlBuf::zeroed();
    out.0.copy_from_slice(&bytes);
    ret.map(|r| (r, out))
}

/// `semctl(2)` IPC_STAT / SEM_STAT / SEM_STAT_ANY (or any other `cmd`): the return value (0,
/// or the full id for the index commands) and the `semid64_ds` the kernel wrote.
pub(crate) fn semctl_stat(id: i32, cmd: i32) -> Result<(i32, Semid64Ds), Errno> {
    let (ret, buf) = semctl_ctl_buf(id, cmd, &CtlBuf::zeroed())?;
    Ok((ret, buf.read::<Semid64Ds>()))
}

/// `semctl(2)` IPC_SET with a copy of `ds` (`semctl_down()`): uid, gid and mode are used.
pub(crate) fn semctl_set(id: i32, ds: &Semid64Ds) -> Result<(), Errno> {
    let mut buf = CtlBuf::zeroed();
    buf.write(*ds);
    semctl_ctl_buf(id, IPC_SET, &buf).map(drop)
}

/// `semctl(2)` IPC_INFO / SEM_INFO (`semctl_info()`): the highest used index and `seminfo`.
pub(crate) fn semctl_info(id: i32, cmd: i32) -> Result<(i32, Seminfo), Errno> {
    let (ret, buf) = semctl_ctl_buf(id, cmd, &CtlBuf::zeroed())?;
    Ok((ret, buf.read::<Seminfo>()))
}

/// `semctl(2)` GETALL into a (guarded) array of `nsems` shorts: a set with more semaphores
/// makes the kernel fault (EFAULT).
pub(crate) fn semctl_getall(id: i32, nsems: usize) -> Result<Vec<u16>, Errno> {
    let (ret, bytes) = semctl_guarded(id, 0, GETALL, &vec![0; nsems * 2]);
    ret?;
    Ok(bytes
        .chunks_exact(2)
        .map(|c| u16::from_ne_bytes([c[0], c[1]]))
        .collect())
}

/// `semctl(2)` SETALL from a (guarded) copy of `values`: a set with more semaphores makes the
/// kernel fault (EFAULT).
pub(crate) fn semctl_setall(id: i32, values: &[u16]) -> Result<(), Errno> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    semctl_guarded(id, 0, SETALL, &bytes).0.map(drop)
}

/// `unshare(CLONE_SYSVSEM)` for the calling thread: it drops its reference to its undo list
/// (`exit_sem()`, which applies the list if that was the last reference) and starts with none.
pub(crate) fn unshare_sysvsem() -> Result<(), Errno> {
    // SAFETY: unshare takes no pointers; CLONE_SYSVSEM changes only the calling task's undo
    // list.
    let ret = unsafe { libc::syscall(libc::SYS_unshare, c_long::from(libc::CLONE_SYSVSEM)) };
    check(ret).map(drop)
}

// --- shared memory -------------------------------------------------------------------------

/// `shmget(2)`: `ksys_shmget()`; returns the segment's id. `size` is the `size_t` argument.
pub(crate) fn shmget(key: i32, size: u64, flags: i32) -> Result<i32, Errno> {
    // SAFETY: shmget takes no pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_shmget,
            c_long::from(key),
            size as libc::c_ulong,
            c_long::from(flags),
        )
    };
    // A shmid is an int.
    check(ret).map(|id| id as i32)
}

/// Whether shmat(2) with these arguments would map `MAP_FIXED` over whatever is mapped at the
/// address (SHM_REMAP with an address that survives the checks of `do_shmat()`): a non-NULL
/// address that is page aligned, or that SHM_RND rounds down to a non-NULL one (SHMLBA is
/// the page size on x86-64 and aarch64). Every other SHM_REMAP call fails with EINVAL before
/// it maps anything, and without SHM_REMAP a fixed address overlapping a mapping is EINVAL.
pub(crate) fn shmat_replaces_mappings(addr: usize, flags: i32) -> bool {
    if flags & SHM_REMAP == 0 || addr == 0 {
        return false;
    }
    let shmlba = page_size();
    if addr % shmlba == 0 {
        true
    } else {
        flags & SHM_RND != 0 && addr & !(shmlba - 1) != 0
    }
}

/// `shmat(2)` without the check of [`shmat`]: `do_shmat()`; returns the mapping's address.
///
/// # Safety
///
/// If [`shmat_replaces_mappings`] holds for `addr` and `flags`, the kernel replaces whatever
/// this process has mapped in `[addr rounded down to SHMLBA, + PAGE_ALIGN(shm_segsz))`: the
/// caller must guarantee that nothing in the process uses memory there (e.g. it holds only
/// attachments the caller made and no longer reads through).
pub(crate) unsafe fn shmat_unchecked(id: i32, addr: usize, flags: i32) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the SHM_REMAP case; otherwise the kernel maps only where
    // nothing is mapped (a NULL address: an area of its choice; a fixed one: EINVAL if it
    // overlaps any mapping, checked under the mmap lock in `do_shmat()`), so no memory this
    // process uses changes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_shmat,
            c_long::from(id),
            addr as libc::c_ulong,
            c_long::from(flags),
        )
    };
    // On success the return value is the address (never in the errno range -4095..-1).
    check(ret).map(|a| a as usize)
}

/// `shmat(2)`: `do_shmat()`; returns the mapping's address. Panics instead of calling the
/// kernel when the call would map over existing memory of this process
/// ([`shmat_replaces_mappings`]): that needs [`shmat_unchecked`].
pub(crate) fn shmat(id: i32, addr: usize, flags: i32) -> Result<usize, Errno> {
    assert!(
        !shmat_replaces_mappings(addr, flags),
        "sysvipc-host: shmat(2) with SHM_REMAP at {addr:#x} would replace memory of this \
         process; use shmat_unchecked"
    );
    // SAFETY: the SHM_REMAP case was excluded just above.
    unsafe { shmat_unchecked(id, addr, flags) }
}

/// `shmdt(2)`: `ksys_shmdt()`. Only ever unmaps System V shared-memory mappings (the kernel
/// looks for a VMA with the shm operations starting at `addr`, EINVAL if there is none), so it
/// cannot take away memory that anything but an attachment uses.
pub(crate) fn shmdt(addr: usize) -> Result<(), Errno> {
    // SAFETY: shmdt dereferences nothing; it unmaps only shm attachments (see above), which no
    // safe code of this crate reads or writes.
    let ret = unsafe { libc::syscall(libc::SYS_shmdt, addr as libc::c_ulong) };
    check(ret).map(drop)
}

/// `shmctl(2)` with a pointer to `buf`.
fn shmctl_buf(id: i32, cmd: i32, buf: &mut CtlBuf) -> Result<i32, Errno> {
    // SAFETY: `buf` is valid for reads and writes of 128 bytes, more than any shmctl command
    // reads or writes (shmid64_ds: 112 bytes, shminfo64: 72, shm_info: 48).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_shmctl,
            c_long::from(id),
            c_long::from(cmd),
            buf.0.as_mut_ptr(),
        )
    };
    // shmctl returns an int (0, an id or an index).
    check(ret).map(|r| r as i32)
}

/// `shmctl(2)` IPC_STAT / SHM_STAT / SHM_STAT_ANY (or any other `cmd`): the return value (0,
/// or the full id for the index commands) and the `shmid64_ds` the kernel wrote (zeroed where
/// it wrote nothing). `shmctl_stat()` in `ipc/shm.c`.
pub(crate) fn shmctl_stat(id: i32, cmd: i32) -> Result<(i32, Shmid64Ds), Errno> {
    let mut buf = CtlBuf::zeroed();
    let ret = shmctl_buf(id, cmd, &mut buf)?;
    Ok((ret, buf.read::<Shmid64Ds>()))
}

/// `shmctl(2)` IPC_SET with a copy of `ds`: `shmctl_down()` (uid, gid and the low 9 mode bits
/// are used).
pub(crate) fn shmctl_set(id: i32, ds: &Shmid64Ds) -> Result<(), Errno> {
    let mut buf = CtlBuf::zeroed();
    buf.write(*ds);
    shmctl_buf(id, IPC_SET, &mut buf).map(drop)
}

/// `shmctl(2)` IPC_RMID (NULL buffer): `shmctl_down()` → `do_shm_rmid()`.
pub(crate) fn shmctl_rmid(id: i32) -> Result<(), Errno> {
    shmctl_raw(id, IPC_RMID, None).map(drop)
}

/// `shmctl(2)` SHM_LOCK / SHM_UNLOCK (or any other `cmd`) with a NULL buffer:
/// `shmctl_do_lock()`.
pub(crate) fn shmctl_lock(id: i32, cmd: i32) -> Result<(), Errno> {
    shmctl_raw(id, cmd, None).map(drop)
}

/// `shmctl(2)` IPC_INFO (or any other `cmd`): the return value (highest used index) and the
/// `shminfo64` the kernel wrote. `shmctl_ipc_info()` in `ipc/shm.c`.
pub(crate) fn shmctl_info(id: i32, cmd: i32) -> Result<(i32, Shminfo64), Errno> {
    let mut buf = CtlBuf::zeroed();
    let ret = shmctl_buf(id, cmd, &mut buf)?;
    Ok((ret, buf.read::<Shminfo64>()))
}

/// `shmctl(2)` SHM_INFO: the return value (highest used index) and the `shm_info` the kernel
/// wrote. `shmctl_shm_info()` in `ipc/shm.c`.
pub(crate) fn shmctl_shm_info(id: i32) -> Result<(i32, ShmInfo), Errno> {
    let mut buf = CtlBuf::zeroed();
    let ret = shmctl_buf(id, SHM_INFO, &mut buf)?;
    Ok((ret, buf.read::<ShmInfo>()))
}

/// `shmctl(2)` with `buf` NULL (`None`) or a copy of the given bytes that ends right before an
/// inaccessible page (so the kernel faults on anything past them); the bytes the kernel left
/// there are copied back into `buf`.
pub(crate) fn shmctl_raw(id: i32, cmd: i32, buf: Option<&mut [u8]>) -> Result<i32, Errno> {
    match buf {
        None => {
            // SAFETY: a NULL buffer is never dereferenced by this process; the kernel
            // reports EFAULT if the command needs one.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_shmctl,
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
            // followed by a PROT_NONE page. No shmctl command accesses more than 112 bytes
            // (shmid64_ds), less than a page, and the kernel copies in ascending order, so an
            // access past the bytes lands in the guard page and faults (EFAULT) without
            // touching other memory. `guarded` outlives the call.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_shmctl,
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

pub(crate) fn page_size() -> usize {
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
