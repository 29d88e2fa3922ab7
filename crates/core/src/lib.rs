//! In-process emulation of the Linux System V IPC subsystem.
//!
//! An [`IpcNamespace`] answers the message-queue (`msg*`), semaphore (`sem*`) and
//! shared-memory (`shm*`) calls exactly as Linux would — the same ids, return values, errno
//! and `*_ds` fields — for callers that the embedder describes explicitly ([`Caller`]): a user-space kernel serving a guest, a test
//! suite, a fuzzer. Linux's `ipc/` sources are the specification; each entry point names the
//! kernel function it mirrors.
//!
//! Programs that use System V IPC themselves, in-process, have handles that keep the
//! namespace and the caller for them: [`MessageQueue`] and [`Semaphore`] (see [`handle`]),
//! and [`ftok`] to derive keys from files as glibc does.
//!
//! ```
//! use std::sync::Arc;
//! use sysvipc::{Caller, Credentials, IpcNamespace, Message, ThreadBlocker, abi};
//!
//! let ns = IpcNamespace::new();
//! let me = Caller::new(Credentials::root(), 100, Arc::new(ThreadBlocker::new()));
//! let id = ns.msgget(&me, 0x1234, abi::IPC_CREAT | 0o600)?;
//! ns.msgsnd(&me, id, Message::new(7, b"hello".to_vec()), 0)?;
//! let got = ns.msgrcv(&me, id, 64, -10, abi::IPC_NOWAIT)?;
//! assert_eq!((got.mtype, &got.text[..]), (7, &b"hello"[..]));
//! # Ok::<(), sysvipc::Errno>(())
//! ```
//!
//! # Lock order
//!
//! `Registry::table` → the object's state → a wait entry's slot (or, for segments, the
//! namespace's lock accounting). No lock is held while a caller sleeps, while the clock is
//! read, while wake-ups are delivered, or while segment memory is allocated or freed.
#![forbid(unsafe_code)]

pub use sysvipc_abi as abi;
pub use sysvipc_abi::Errno;

pub mod clock;
pub mod cred;
#[cfg(unix)]
mod ftok;
pub mod handle;
pub mod ipc;
pub mod msg;
pub mod ns;
pub mod sem;
pub mod shm;
pub mod wait;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;

pub use clock::{Clock, ManualClock, SystemClock};
pub use cred::{Caller, Capabilities, Credentials};
#[cfg(unix)]
pub use ftok::ftok;
pub use handle::{MessageQueue, SemGuard, SemOps, Semaphore, SharedSegment};
pub use ipc::{Id, Key};
pub use msg::{
    Message, MsgCtlCmd, MsgFlags, MsgQueues, Queue, RecvError, RecvTimeoutError, Selector,
    SendError, SendTimeoutError,
};
pub use ns::{IpcNamespace, Limits};
pub use sem::{SemCtlCmd, SemFlags, SemSet, SemSets, SemTimeoutError, SemUndo, Timespec};
pub use shm::{
    AddressSpace, AttachTable, Mapping, Memory, MemorySource, Protection, Segment, ShmCtlCmd,
    ShmSegments,
};
pub use wait::{Blocker, ManualBlocker, ThreadBlocker, Wakeup};
