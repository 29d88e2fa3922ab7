//! `libsysvipc_preload.so`: run an unmodified program's System V IPC on sysvipc.
//!
//! Loaded with `LD_PRELOAD`, the library defines glibc's `msgget`, `msgsnd`, `msgrcv`,
//! `msgctl`, `semget`, `semop`, `semtimedop`, `semctl`, `shmget`, `shmat`, `shmdt` and
//! `shmctl`, so the dynamic linker binds the program's calls to them instead of to glibc's
//! wrappers. Each call goes through `sysvipc-syscalls` to one process-wide
//! [`sysvipc::IpcNamespace`], and nothing reaches the host kernel's System V IPC.
//!
//! The calls behave as the kernel's do for the calling thread:
//!
//! - **Who calls** is read from the thread at each call with raw syscalls (`getresuid`,
//!   `getresgid`, `setfsgid(-1)`, `getgroups`, `capget`), so a thread that changed its own
//!   credentials with a raw `setresuid` or `capset` is seen as the kernel would see it; the
//!   pid is `getpid()` and the tid `gettid()`.
//! - **Blocking** sleeps in `futex(FUTEX_WAIT)`: a signal whose handler runs ends the sleep,
//!   and `msgsnd`/`msgrcv`/`semop` fail with `EINTR` as the kernel's do (whatever
//!   `SA_RESTART` says).
//! - **Memory** is the process's own: buffers are copied with `process_vm_readv`/
//!   `process_vm_writev` on the own pid, so a bad pointer is `EFAULT`, not a crash; `shmat`
//!   maps the segment's memfd `MAP_SHARED` with the attachment's protection.
//! - **`SEM_UNDO`**: one undo list per process, applied when the process exits through
//!   `exit()` (the library's `.fini_array` destructor).
//!
//! Limits come from `SYSVIPC_*` environment variables ([`config`]).
//!
//! What cannot work is listed in `docs/conformance.md`: the namespace lives in the process, so
//! a forked child gets a copy of it, not a share, and other processes do not see it at all.
#![deny(unsafe_code)]

// The entry points assume the LP64 Linux ABI (`long`, pointers and `unsigned long` are 64
// bits, variadic arguments in the fixed-argument registers).
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
compile_error!("sysvipc-preload supports 64-bit Linux (x86-64, aarch64) only");

mod blocker;
mod config;
#[allow(unsafe_code)]
mod ffi;
mod memory;
mod process;
#[allow(unsafe_code)]
mod sys;
