//! The exported C functions, with glibc's signatures and return conventions: the result, or
//! -1 (`(void *) -1` for `shmat`) with `errno` set.
//!
//! The commands of the ctl calls go to the syscall layer as the kernel receives them: glibc's
//! x86-64 and aarch64 wrappers call the `msgctl`/`semctl`/`shmctl` syscalls directly, and
//! on these architectures the kernel takes the 64-bit structures without `IPC_64` in the
//! command (a command with `IPC_64` set is `EINVAL` there, as here).
//!
//! No panic crosses into C: each entry point runs under `catch_unwind`, and a panic (a bug
//! in the library; guest input must never cause one) fails the call with `EFAULT`.

use std::ffi::{c_int, c_long, c_ulong, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use libc::{key_t, size_t, ssize_t};
use sysvipc::Errno;
use sysvipc_syscalls::SysResult;

use crate::process;
use crate::sys::set_errno;

/// Runs `f`, turning a panic into `EFAULT` and an error into -1 with `errno`.
fn run(f: impl FnOnce() -> SysResult) -> i64 {
    let r = catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(Errno::EFAULT));
    match r {
        Ok(v) => v,
        Err(e) => {
            set_errno(user_visible(e));
            -1
        }
    }
}

/// The errno a program sees: the kernel's restart codes never reach user space. A blocked
/// call here is interrupted only by a signal whose handler ran, and then Linux turns
/// `ERESTARTNOHAND` (msgsnd, msgrcv) into `EINTR`, whatever `SA_RESTART` says.
fn user_visible(e: Errno) -> Errno {
    if e == Errno::ERESTARTNOHAND || e.raw() >= 512 {
        Errno::EINTR
    } else {
        e
    }
}

/// `int msgget(key_t key, int msgflg)`: msgget(2).
#[unsafe(no_mangle)]
pub extern "C" fn msgget(key: key_t, msgflg: c_int) -> c_int {
    run(|| process::get().call(|ns, t| sysvipc_syscalls::msgget(ns, t, key, msgflg))) as c_int
}

/// `int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)`: msgop(2).
///
/// # Safety
///
/// As for glibc's: `msgp` must point to a `struct msgbuf` with `msgsz` bytes of text (a bad
/// pointer is `EFAULT`, but memory it happens to name is read).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn msgsnd(
    msqid: c_int,
    msgp: *const c_void,
    msgsz: size_t,
    msgflg: c_int,
) -> c_int {
    run(|| {
        process::get()
            .call(|ns, t| sysvipc_syscalls::msgsnd(ns, t, msqid, msgp as u64, msgsz as u64, msgflg))
    }) as c_int
}

/// `ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)`: msgop(2).
///
/// # Safety
///
/// `msgp` must point to a buffer of `sizeof(long) + msgsz` bytes the program lets be
/// overwritten.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn msgrcv(
    msqid: c_int,
    msgp: *mut c_void,
    msgsz: size_t,
    msgtyp: c_long,
    msgflg: c_int,
) -> ssize_t {
    run(|| {
        process::get().call(|ns, t| {
            sysvipc_syscalls::msgrcv(ns, t, msqid, msgp as u64, msgsz as u64, msgtyp, msgflg)
        })
    }) as ssize_t
}

/// `int msgctl(int msqid, int cmd, struct msqid_ds *buf)`: msgctl(2).
///
/// # Safety
///
/// `buf` must be valid for the command (a `msqid_ds` or `msginfo` to read or write).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn msgctl(msqid: c_int, cmd: c_int, buf: *mut c_void) -> c_int {
    run(|| process::get().call(|ns, t| sysvipc_syscalls::msgctl(ns, t, msqid, cmd, buf as u64)))
        as c_int
}

/// `int semget(key_t key, int nsems, int semflg)`: semget(2).
#[unsafe(no_mangle)]
pub extern "C" fn semget(key: key_t, nsems: c_int, semflg: c_int) -> c_int {
    run(|| process::get().call(|ns, t| sysvipc_syscalls::semget(ns, t, key, nsems, semflg)))
        as c_int
}

/// `int semop(int semid, struct sembuf *sops, size_t nsops)`: semop(2).
///
/// # Safety
///
/// `sops` must point to `nsops` `struct sembuf`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn semop(semid: c_int, sops: *mut c_void, nsops: size_t) -> c_int {
    // The kernel's `nsops` is an `unsigned int`: the register's upper half is ignored.
    run(|| {
        process::get()
            .call(|ns, t| sysvipc_syscalls::semop(ns, t, semid, sops as u64, nsops as u32))
    }) as c_int
}

/// `int semtimedop(int semid, struct sembuf *sops, size_t nsops,
/// const struct timespec *timeout)`: semop(2).
///
/// # Safety
///
/// `sops` must point to `nsops` `struct sembuf`s and `timeout` be null or point to a
/// `timespec`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn semtimedop(
    semid: c_int,
    sops: *mut c_void,
    nsops: size_t,
    timeout: *const c_void,
) -> c_int {
    run(|| {
        process::get().call(|ns, t| {
            sysvipc_syscalls::semtimedop(ns, t, semid, sops as u64, nsops as u32, timeout as u64)
        })
    }) as c_int
}

/// `int semctl(int semid, int semnum, int cmd, ...)`: semctl(2).
///
/// The C function is variadic; the optional fourth argument is a `union semun` (an `int` or
/// a pointer). It is declared here as a fixed `unsigned long`, which is ABI-correct on
/// x86-64 and on aarch64 Linux: both pass variadic integer and pointer arguments in the same
/// registers as fixed ones (`rcx`, `x3`), and the callee of a variadic call on x86-64 may
/// ignore `al`. An 8-byte union is passed as one integer register. glibc's own wrapper does
/// the same (`va_arg(ap, union semun)` and passes the register on). When the caller passed
/// no fourth argument the register holds garbage, which the commands that take none ignore.
///
/// # Safety
///
/// `arg` must be what the command expects: a value, or a pointer to a `semid_ds`,
/// `seminfo` or array of `unsigned short`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn semctl(semid: c_int, semnum: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    run(|| process::get().call(|ns, t| sysvipc_syscalls::semctl(ns, t, semid, semnum, cmd, arg)))
        as c_int
}

/// `int shmget(key_t key, size_t size, int shmflg)`: shmget(2).
#[unsafe(no_mangle)]
pub extern "C" fn shmget(key: key_t, size: size_t, shmflg: c_int) -> c_int {
    run(|| process::get().call(|ns, t| sysvipc_syscalls::shmget(ns, t, key, size as u64, shmflg)))
        as c_int
}

/// `void *shmat(int shmid, const void *shmaddr, int shmflg)`: shmop(2). The address, or
/// `(void *) -1`.
///
/// # Safety
///
/// As for the kernel's: with `SHM_REMAP`, whatever the program had mapped at the range is
/// replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shmat(shmid: c_int, shmaddr: *const c_void, shmflg: c_int) -> *mut c_void {
    let r = run(|| {
        process::get()
            .shmat(shmid, shmaddr as usize, shmflg)
            .map(|a| a as i64)
    });
    r as usize as *mut c_void
}

/// `int shmdt(const void *shmaddr)`: shmop(2).
///
/// # Safety
///
/// The program must not use the attachment's memory afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shmdt(shmaddr: *const c_void) -> c_int {
    run(|| process::get().shmdt(shmaddr as usize)) as c_int
}

/// `int shmctl(int shmid, int cmd, struct shmid_ds *buf)`: shmctl(2).
///
/// # Safety
///
/// `buf` must be valid for the command (a `shmid_ds`, `shminfo` or `shm_info`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn shmctl(shmid: c_int, cmd: c_int, buf: *mut c_void) -> c_int {
    run(|| process::get().shmctl(shmid, cmd, buf as u64)) as c_int
}

/// Applies the process's `SEM_UNDO` list when the process exits: the dynamic linker runs
/// `.fini_array` entries of loaded libraries after the program's `atexit` handlers.
extern "C" fn at_exit() {
    let _ = catch_unwind(process::exit);
}

#[used]
#[unsafe(link_section = ".fini_array")]
static AT_EXIT: extern "C" fn() = at_exit;
