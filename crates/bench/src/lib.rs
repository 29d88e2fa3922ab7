//! The workloads that compare the emulation with the host kernel and with a plain baseline
//! (DESIGN.md §7), shared by the criterion benchmark (`cargo bench -p sysvipc-bench`) and
//! the `sysvipc bench` command.
//!
//! A [`Case`] is one benchmark: the same work done up to three ways ([`Column`]), each a
//! [`Runner`] that does `iters` iterations and returns how long they took:
//!
//! - **emulation**: [`IpcNamespace`](sysvipc::IpcNamespace) calls with root callers;
//! - **host**: the raw syscalls in a private IPC namespace of the host kernel ([`Host`]),
//!   looped on its thread, so only the syscalls are timed;
//! - **baseline**: the same work on plain data structures — a `parking_lot::Mutex<VecDeque>`
//!   (with a `Condvar` where threads wait) for queues, `Mutex<i32>`s for semaphores, a
//!   `Mutex<HashMap>` for lookups.
//!
//! [`suites`] lists them by family; building a family sets up its objects (30,000 queues for
//! the lookups, 100,000 queued messages for the deepest typed receive), so callers build only
//! the families they run. [`memory`] measures the bytes the emulation holds, with
//! [`Counting`] installed as the global allocator.
#![deny(unsafe_code)]

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod host;
#[allow(unsafe_code)]
mod memory;
mod report;
mod workloads;

use std::time::Duration;

#[cfg(target_os = "linux")]
pub use host::{Host, open as open_host};
pub use memory::{Counting, memory};
pub use report::{Row, format_duration, table};
pub use workloads::suites;

/// The host side where there is no host kernel to compare with.
#[cfg(not(target_os = "linux"))]
pub struct Host;

/// No host kernel here: always `None`.
#[cfg(not(target_os = "linux"))]
pub fn open_host() -> Option<Host> {
    None
}

/// One way of doing a case's work: `iters` iterations, their duration.
pub type Runner = Box<dyn FnMut(u64) -> Duration + Send>;

/// Which implementation a runner measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// The emulation.
    Emulation,
    /// The host kernel.
    Host,
    /// Plain data structures.
    Baseline,
}

impl Column {
    /// The column's name in reports and benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Column::Emulation => "emulation",
            Column::Host => "host",
            Column::Baseline => "baseline",
        }
    }
}

/// One benchmark: a name and its runners.
pub struct Case {
    /// The benchmark's name, e.g. `msg_pair/64B`.
    pub name: String,
    /// The runners, emulation first.
    pub runners: Vec<(Column, Runner)>,
}

impl Case {
    fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            runners: Vec::new(),
        }
    }

    fn with(
        mut self,
        column: Column,
        runner: impl FnMut(u64) -> Duration + Send + 'static,
    ) -> Self {
        self.runners.push((column, Box::new(runner)));
        self
    }
}

/// A family of cases, built on demand.
pub struct Suite {
    /// The family's name (`msg_pair`, `typed_recv`, …).
    pub name: &'static str,
    /// Whether the short run of `sysvipc bench` includes it.
    pub quick: bool,
    /// Sets up the family's objects and returns its cases.
    pub build: fn(Option<&std::sync::Arc<Host>>) -> Vec<Case>,
}
