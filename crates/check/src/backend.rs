//! The [`Backend`] trait: what a scenario needs from a System V IPC implementation — callers,
//! guest buffers, raw syscalls — implemented by the emulation ([`crate::Emulation`]) and the
//! host kernel (`crate::Host`).

use sysvipc_abi::{self as abi, Errno};
use thiserror::Error;

use crate::scenario::{CallerSpec, Sys};

/// What a raw call returns: its value or the errno.
pub type SysResult = Result<i64, Errno>;

/// Why a line could not be run at all (as opposed to a call that failed with an errno).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RunError {
    /// The backend cannot provide what the line asks (e.g. a capability the host's root lacks).
    #[error("not supported here: {0}")]
    Unsupported(String),
    /// Running the line could damage the process (e.g. a pointer the host backend cannot
    /// prove harmless): refused.
    #[error("refused: {0}")]
    Refused(String),
}

/// A System V IPC implementation a scenario can run on.
///
/// Addresses are the backend's own: a buffer or an attachment has a different address on
/// each backend, and the runner keeps the names.
pub trait Backend {
    /// `"host"` or `"emulation"`, for reports.
    fn label(&self) -> &'static str;

    /// Declares a caller with these credentials (a caller is credentials only: it calls in
    /// the scenario's process or in a forked one).
    fn add_caller(&mut self, name: &str, spec: &CallerSpec) -> Result<(), RunError>;

    /// Maps a zeroed buffer of `len` bytes followed by unmapped memory; returns its address.
    fn add_buffer(&mut self, len: usize) -> Result<u64, RunError>;

    /// An address with nothing mapped around it (`BAD`).
    fn bad_address(&self) -> u64;

    /// Reads `len` bytes at `addr` as the process would (`EFAULT` where nothing readable is).
    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno>;

    /// Writes `data` at `addr` as the process would (`EFAULT` where nothing writable is;
    /// nothing written then).
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno>;

    /// Reads `len` bytes at `addr` in forked process `process` (`EFAULT` where no readable
    /// attachment of it is: only attachments are read there).
    fn read_in(
        &mut self,
        process: &str,
        addr: u64,
        len: usize,
    ) -> Result<Result<Vec<u8>, Errno>, RunError>;

    /// Writes `data` at `addr` in forked process `process` (`EFAULT`, nothing written, where
    /// no writable attachment of it is).
    fn write_in(
        &mut self,
        process: &str,
        addr: u64,
        data: &[u8],
    ) -> Result<Result<(), Errno>, RunError>;

    /// The shm attachment covering `addr`: its start and length.
    fn attachment_at(&self, addr: u64) -> Option<(u64, u64)>;

    /// Makes system call `sys` as `caller` with raw register arguments, in forked process
    /// `process` (`None`: the scenario's own process). `may_block` tells that the call lacks
    /// `IPC_NOWAIT` and could sleep: a call that sleeps is interrupted at once and returns
    /// `EINTR`.
    fn call(
        &mut self,
        caller: &str,
        process: Option<&str>,
        sys: Sys,
        args: [u64; 6],
        may_block: bool,
    ) -> Result<SysResult, RunError>;

    /// Forks process `name` from forked process `from` (`None`: the scenario's process): a
    /// pid of its own, a copy of each attachment of the parent (each counted as an attach by
    /// the parent), no `SEM_UNDO` adjustments.
    fn fork(&mut self, name: &str, from: Option<&str>) -> Result<(), RunError>;

    /// Ends forked process `name`: its attachments are detached in its name and its
    /// `SEM_UNDO` adjustments applied; returns once both are done (and every woken spawned
    /// call has settled).
    fn exit(&mut self, name: &str) -> Result<(), RunError>;

    /// Lets the timeout of spawned `task` (a semtimedop asleep with a timeout) pass and waits
    /// until it has returned.
    fn expire(&mut self, task: &str) -> Result<(), RunError>;

    /// The forked process whose pid is `pid` (also after it exited).
    fn process_of(&self, pid: i32) -> Option<String>;

    /// Starts `sys` as `caller` on a thread of its own (same process), named `task`; returns
    /// once the call sleeps or has returned.
    fn spawn(&mut self, task: &str, caller: &str, sys: Sys, args: [u64; 6])
    -> Result<(), RunError>;

    /// Takes the result of spawned `task`, interrupting it first if it is asleep (as a
    /// signal with a handler would: EINTR).
    fn join(&mut self, task: &str) -> Result<SysResult, RunError>;

    /// Waits until every spawned call that has not returned sleeps again.
    fn settle(&mut self) -> Result<(), RunError>;

    /// The spawned call whose thread has id `tid` (what a pipelined receive records as
    /// `msg_lrpid`).
    fn task_of(&self, tid: i32) -> Option<String>;

    /// Writes an IPC sysctl of the namespace.
    fn sysctl(&mut self, name: &str, value: &str) -> Result<(), Errno>;

    /// The process id every caller records (`msg_lspid`, `sempid`, `shm_lpid`…).
    fn process_pid(&self) -> i32;

    /// The second of the clock that stamps `*_time` fields, now.
    fn now(&self) -> i64;
}

/// Addresses below this are never mapped (`mmap_min_addr`), on either side.
pub const LOW_ADDRESSES: u64 = 0x1_0000;
/// Addresses from here on are outside every user address space (x86-64 and aarch64 with 48
/// bits).
pub const HIGH_ADDRESSES: u64 = 0x8000_0000_0000;

/// The most bytes a `*_ds` or info structure takes.
pub const MAX_STRUCT: u64 = 128;

/// The pointer arguments of a call: (argument index, how many bytes the kernel may *write*
/// there, 0 for a pointer it only reads or never dereferences).
pub fn pointer_args(sys: Sys, args: &[u64; 6]) -> Vec<(usize, u64)> {
    let cmd = (args.get(2).copied().unwrap_or(0) as i32) & !abi::IPC_64;
    match sys {
        Sys::MsgSnd => vec![(1, 0)],
        Sys::MsgRcv => vec![(1, 8u64.saturating_add(args[2]))],
        Sys::MsgCtl => vec![(2, ctl_extent(args[1] as i32))],
        Sys::ShmCtl => vec![(2, ctl_extent(args[1] as i32))],
        Sys::SemOp => vec![(1, 0)],
        Sys::SemTimedOp => vec![(1, 0), (3, 0)],
        Sys::SemCtl => match cmd {
            abi::SETVAL
            | abi::GETVAL
            | abi::GETPID
            | abi::GETNCNT
            | abi::GETZCNT
            | abi::IPC_RMID => Vec::new(),
            abi::GETALL => vec![(3, 2 * abi::SEMMSL as u64)],
            abi::SETALL | abi::IPC_SET => vec![(3, 0)],
            _ => vec![(3, MAX_STRUCT)],
        },
        Sys::MsgGet
        | Sys::SemGet
        | Sys::ShmGet
        | Sys::ShmAt
        | Sys::ShmDt
        | Sys::Mprotect
        | Sys::Munmap
        | Sys::Unshare => Vec::new(),
    }
}

fn ctl_extent(cmd: i32) -> u64 {
    match cmd {
        abi::IPC_RMID | abi::IPC_SET | abi::SHM_LOCK | abi::SHM_UNLOCK => 0,
        _ => MAX_STRUCT,
    }
}
