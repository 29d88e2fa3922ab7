//! System V IPC calls executed by the **host** Linux kernel inside a private, empty IPC
//! namespace: the oracle the emulation is compared with (DESIGN.md §2.2, §6.3).
//!
//! - [`HostNamespace::new`] starts a dedicated thread that calls `unshare(CLONE_NEWIPC)`
//!   (ipc_namespaces(7)); every call of that `HostNamespace` runs on that thread, so it sees only
//!   the private namespace and never the test process's own.
//! - Each call takes a [`HostCaller`]: the thread switches *its own* credentials with raw
//!   per-thread syscalls for the call and back to root afterwards (glibc's wrappers would
//!   change every thread of the process).
//! - [`HostNamespace::spawn`] starts further threads inside the namespace for calls that block;
//!   [`HostJoin::wait_until_blocked`] watches them fall asleep in the kernel and
//!   [`HostJoin::interrupt`] interrupts them with a signal.
//! - [`HostNamespace::sysctl`]/[`HostNamespace::set_sysctl`] read and write the namespace's
//!   own IPC limits in `/proc/sys/kernel`: `msg*`, `sem`, `shmmax`, `shmall`, `shmmni`,
//!   `shm_rmid_forced` and the `*_next_id` knobs.
//! - Shared memory: [`HostNamespace::shmat`] attaches a segment in *this* process (the
//!   namespace thread shares the test's address space) and returns the address;
//!   [`read_mem`]/[`write_mem`] (unsafe: the address must be a live attachment) read and write
//!   its bytes; [`HostNamespace::shmdt`] detaches it.
//! - Child processes: [`HostNamespace::fork`] forks one from the namespace thread that runs
//!   [`ChildStep`]s (semop, shmat, shmdt) and stays alive, holding the attachments it
//!   inherited or made, until [`HostProcess::exit`]; its exit detaches them (`shm_lpid`,
//!   `shm_dtime`) and applies its SEM_UNDO adjustments. Once its steps have run, it makes the
//!   raw calls [`HostProcess::call`] sends it, each as the given credentials, and
//!   [`HostProcess::fork`] forks it in turn. [`HostNamespace::fork_semops`] is the
//!   short form for semop(2) calls that exits at once; [`HostThread::unshare_sysvsem`] gives a
//!   spawned thread an undo list of its own.
//!
//! - i386 calls: [`int80`] (x86-64 only) makes the 32-bit (compat) calls with `int $0x80`,
//!   on buffers below 4 GiB; run them inside [`HostNamespace::run`].
//!
//! Nothing is process-wide except one no-op handler for `SIGRTMIN + 3`, installed once, a lock
//! that keeps forks and attachments apart (a fork copies none of the attachments other
//! `HostNamespace`s made with their `shmat`), the children of
//! [`HostNamespace::fork`] (reaped by [`HostProcess::exit`] or its drop, killed if their
//! namespace goes first; their exit sends this process a SIGCHLD, ignored by default), and a
//! side effect of the kernel: the first credential switch (already in
//! [`HostNamespace::new`], which probes one) marks the process non-dumpable
//! (`commit_creds()` applies `fs.suid_dumpable`, normally 0: no core dumps, `/proc/self/*`
//! owned by root). Several `HostNamespace`s may be used in parallel, from any threads.
//!
//! Each [`HostNamespace`] call is a round trip to its thread (tens of µs); a [`HostThread`]
//! call, or a loop inside [`HostNamespace::run`], costs what the syscall costs.
//!
//! Calls return the kernel's errno unchanged, as `sysvipc_abi::Errno`. Failures of the
//! harness itself (cannot switch credentials, thread died) panic with a message, since they
//! are bugs or host misconfiguration rather than answers to compare.
#![cfg(target_os = "linux")]
#![deny(unsafe_code)]

use sysvipc_abi as abi;

mod caller;
#[allow(unsafe_code)]
mod child;
#[allow(unsafe_code)]
mod creds;
mod error;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub mod int80;
#[allow(unsafe_code)]
mod mem;
mod namespace;
#[allow(unsafe_code)]
mod sys;
mod sysctl;
mod thread;

pub use caller::HostCaller;
pub use child::{ChildCall, ChildStep, HostProcess, MAX_GROUPS};
pub use error::HostError;
pub use mem::{read_mem, write_mem};
pub use namespace::{HostChild, HostNamespace};
pub use thread::{HostJoin, HostThread};
