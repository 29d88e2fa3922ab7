//! Handles for programs that use System V IPC in-process, rather than serve it to a guest.
//!
//! The syscall-shaped methods of [`IpcNamespace`](crate::IpcNamespace) take raw ids and flag
//! words on every call. A handle binds the three things a program keeps passing — the
//! namespace, the [`Caller`](crate::Caller), and the object — and offers the operations by
//! name, with typed options and errors:
//!
//! - [`MessageQueue`]: create, open or remove a queue by [`Key`] (or by name, through
//!   [`Key::from_name`]); blocking or non-blocking `send` and `recv`; `send_timeout` and
//!   `recv_timeout`, which Linux does not have.
//! - [`Semaphore`]: a semaphore set; `p`, `v`, `wait_zero`, a timed `p`, `get`/`set`,
//!   `get_all`/`set_all`, atomic [`SemOps`] arrays, and [`SemGuard`], which undoes what it
//!   acquired when dropped, also while unwinding from a panic.
//! - [`SharedSegment`]: a segment created or opened and attached in one call, read and
//!   written by offset, detached when dropped.
//!
//! Every operation goes through the same code as the syscall-shaped methods, so it follows
//! the same rules: permissions are checked against the handle's caller on every call, and a
//! handle whose object was removed fails with `EIDRM`.
//!
//! # One sleeper per caller
//!
//! A blocking operation sleeps on the caller's [`Blocker`](crate::Blocker), and a blocker
//! serves one sleeping thread at a time. A handle may be shared between threads for
//! operations that do not block, but each thread that may block needs a handle with its own
//! blocker: [`MessageQueue::with_caller`] and [`Semaphore::with_caller`] make one.

mod queue;
mod segment;
mod sem_ops;
mod semaphore;

pub use queue::MessageQueue;
pub use segment::SharedSegment;
pub use sem_ops::SemOps;
pub use semaphore::{SemGuard, Semaphore};

use crate::Errno;
use crate::ipc::Key;

/// The permission bits of a new object: `EINVAL` for anything outside `0o777` (Linux would
/// silently read stray bits as flags, such as `IPC_EXCL`).
fn mode_flags(mode: u32) -> Result<i32, Errno> {
    if mode & !0o777 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(mode as i32)
}

/// A key that names an existing object: `IPC_PRIVATE` names none (given to `*get`, it would
/// create a new object), so opening or removing by it is `ENOENT`.
fn existing(key: Key) -> Result<Key, Errno> {
    if key.is_private() {
        return Err(Errno::ENOENT);
    }
    Ok(key)
}
