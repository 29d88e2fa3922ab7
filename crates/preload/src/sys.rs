//! The raw syscalls the library makes: credentials, futexes, copies of the process's own
//! memory and mappings. Every `unsafe` block of the crate that is not an FFI entry point is
//! here.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use sysvipc::{Capabilities, Credentials, Errno};

/// The calling thread's `errno` after a failed libc call.
fn last_errno() -> Errno {
    Errno::from_raw(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Sets the calling thread's `errno`.
pub(crate) fn set_errno(e: Errno) {
    // SAFETY: `__errno_location` returns the calling thread's errno slot, valid for the
    // thread's lifetime.
    unsafe { *libc::__errno_location() = e.raw() };
}

/// The process id (`getpid`).
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { libc::getpid() }
}

/// The calling thread's id (`gettid`).
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// The calling thread's credentials, as the kernel's `current_cred()` holds them.
///
/// Every value is read with a raw syscall, which reports the calling thread's own
/// credentials (glibc's `set*id` wrappers change all threads, a raw syscall only one).
/// The filesystem gid comes from `setfsgid(-1)`: -1 is not a valid gid, so the call changes
/// nothing and returns the current fsgid; it needs no `/proc` and is one syscall.
pub(crate) fn credentials() -> Credentials {
    let (mut r, mut e, mut s) = (0u32, 0u32, 0u32);
    // SAFETY: the three pointers are valid for writes of a `uid_t` each.
    unsafe { libc::syscall(libc::SYS_getresuid, &mut r, &mut e, &mut s) };
    let ruid = r;
    let euid = e;
    // SAFETY: as above, for `gid_t`s.
    unsafe { libc::syscall(libc::SYS_getresgid, &mut r, &mut e, &mut s) };
    let egid = e;
    // SAFETY: setfsgid with an invalid gid changes nothing and returns the current fsgid.
    let fsgid = unsafe { libc::syscall(libc::SYS_setfsgid, -1i32) } as u32;
    Credentials {
        ruid,
        euid,
        egid,
        fsgid,
        groups: groups(),
        caps: Capabilities::from_bits_truncate(effective_caps()),
    }
}

/// The supplementary groups of the calling thread (raw `getgroups`).
fn groups() -> Vec<u32> {
    // Another thread cannot change this thread's groups, but a signal handler could between
    // the two calls: ask again a few times, then go without.
    for _ in 0..8 {
        // SAFETY: a size of 0 only asks for the count and writes nothing.
        let n = unsafe { libc::syscall(libc::SYS_getgroups, 0, std::ptr::null_mut::<u32>()) };
        if n <= 0 {
            return Vec::new();
        }
        let mut v = vec![0u32; n as usize];
        // SAFETY: `v` has room for `n` gids.
        let got = unsafe { libc::syscall(libc::SYS_getgroups, n, v.as_mut_ptr()) };
        if got >= 0 {
            v.truncate(got as usize);
            return v;
        }
        // The groups changed in between (EINVAL): ask again.
    }
    Vec::new()
}

/// The process's `RLIMIT_MEMLOCK` soft limit (`u64::MAX` for unlimited), which `SHM_LOCK`
/// charges.
pub(crate) fn memlock_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to write; a null new limit only reads.
    let r = unsafe { libc::prlimit(0, libc::RLIMIT_MEMLOCK, std::ptr::null(), &mut lim) };
    (r == 0).then_some(lim.rlim_cur)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two `CapData`.
const CAP_V3: u32 = 0x2008_0522;

/// The calling thread's effective capability set (`capget` on pid 0, the caller).
fn effective_caps() -> u64 {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: the header and two data structures are the layout capget expects for
    // version 3.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if r != 0 {
        return 0;
    }
    u64::from(data[0].effective) | (u64::from(data[1].effective) << 32)
}

/// `futex(FUTEX_WAIT_PRIVATE)` on `word` while it holds `expected`, for at most `timeout`.
/// `Err(EINTR)` if a signal handler ran; `Ok` on a wake-up, a timeout or a changed word.
///
/// A timeout is always given: without one the kernel restarts the wait after a handler that
/// has `SA_RESTART` (`-ERESTARTSYS`), with one it returns `EINTR` after any handler
/// (`-ERESTART_RESTARTBLOCK`), which is what `msgrcv` and `semop` must report.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) -> Result<(), Errno> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: `word` is a live, aligned u32 and `ts` a valid timespec for the duration of
    // the call; the other arguments are unused by FUTEX_WAIT.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            &ts,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
    match r {
        0 => Ok(()),
        _ => match last_errno() {
            Errno::EINTR => Err(Errno::EINTR),
            _ => Ok(()),
        },
    }
}

/// `futex(FUTEX_WAKE_PRIVATE)`: wakes one sleeper on `word`.
pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, aligned u32; FUTEX_WAKE reads nothing else.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        )
    };
}

/// Copies `buf.len()` bytes at `addr` of the own process (`pid`, the caller's `getpid()`)
/// into `buf` (`process_vm_readv`): `EFAULT` where the memory is not readable, instead of a
/// crash.
pub(crate) fn read_own(pid: i32, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    if buf.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, which is writable for its length; the kernel checks
    // `remote` and reports EFAULT for what is not mapped readable.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    transferred(n, buf.len())
}

/// Copies `data` to `addr` of the own process (`pid`) (`process_vm_writev`): `EFAULT` where
/// the memory is not writable (a read-only mapping included); a prefix may have been written.
pub(crate) fn write_own(pid: i32, addr: u64, data: &[u8]) -> Result<(), Errno> {
    if data.is_empty() {
        return Ok(());
    }
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: `local` describes `data`, which the kernel only reads; the kernel checks
    // `remote` and reports EFAULT for what is not mapped writable.
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    transferred(n, data.len())
}

fn transferred(n: isize, want: usize) -> Result<(), Errno> {
    match n {
        n if n < 0 => match last_errno() {
            Errno::ENOMEM => Err(Errno::ENOMEM),
            _ => Err(Errno::EFAULT),
        },
        n if n as usize == want => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

fn mmap(addr: usize, len: usize, prot: i32, flags: i32, fd: i32, off: u64) -> Result<usize, Errno> {
    // SAFETY: callers pass either no address or one inside a range this library owns (its
    // reservation or a placeholder it created), or ask for what the program asked for
    // (`SHM_REMAP`), as the kernel's shmat would map.
    let p = unsafe { libc::mmap(addr as *mut libc::c_void, len, prot, flags, fd, off as i64) };
    if p == libc::MAP_FAILED {
        Err(last_errno())
    } else {
        Ok(p as usize)
    }
}

/// Reserves `len` bytes of address space anywhere, inaccessible and uncommitted.
pub(crate) fn reserve(len: usize) -> Result<usize, Errno> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    mmap(0, len, libc::PROT_NONE, flags, -1, 0)
}

/// Puts the reservation back over `addr..addr + len` (after a detach inside it).
pub(crate) fn reserve_at(addr: usize, len: usize) -> Result<(), Errno> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED;
    mmap(addr, len, libc::PROT_NONE, flags, -1, 0).map(drop)
}

/// Claims `addr..addr + len` with an inaccessible placeholder if nothing is mapped there
/// (`MAP_FIXED_NOREPLACE`): `EEXIST` if something is.
pub(crate) fn placeholder(addr: usize, len: usize) -> Result<(), Errno> {
    let flags =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
    let at = mmap(addr, len, libc::PROT_NONE, flags, -1, 0)?;
    if at != addr {
        // A kernel older than 4.17 treats the flag as a hint: give the range back.
        unmap(at, len);
        return Err(Errno::EEXIST);
    }
    Ok(())
}

/// Maps `len` bytes of `fd` at `offset` shared at exactly `addr`, with `prot`.
pub(crate) fn map_shared(
    addr: usize,
    len: usize,
    prot: i32,
    fd: std::os::fd::BorrowedFd<'_>,
    offset: u64,
) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    let flags = libc::MAP_SHARED | libc::MAP_FIXED;
    mmap(addr, len, prot, flags, fd.as_raw_fd(), offset).map(drop)
}

/// Unmaps `addr..addr + len`.
pub(crate) fn unmap(addr: usize, len: usize) {
    // SAFETY: the range is one this library mapped (an attachment or a placeholder).
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}
