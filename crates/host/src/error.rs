//! Errors of the harness itself (never the kernel's answer to an IPC call, which is an `Errno`).

use std::fmt;

/// Why a [`HostNamespace`](crate::HostNamespace) could not be set up, or why a harness step
/// failed. The kernel's answers to the IPC calls themselves are `Errno` values, not this.
#[derive(Debug)]
pub enum HostError {
    /// This host cannot provide a private System V IPC namespace with per-call credentials;
    /// the text says why (unshare(2) `CLONE_NEWIPC` refused, SysV IPC not compiled in, not
    /// running as root…). Tests print it and skip.
    Unsupported(String),
    /// Setting the namespace up failed although the host supports it (e.g. unshare(2) hit the
    /// `/proc/sys/user/max_ipc_namespaces` limit: ENOSPC, or ENOMEM); not a reason to skip.
    Setup(String),
    /// The operating system refused to start a thread.
    Spawn(std::io::Error),
    /// [`HostJoin::wait_until_blocked`](crate::HostJoin::wait_until_blocked) gave up: the
    /// thread was not seen asleep in msgsnd/msgrcv/semop/semtimedop in time (or it finished).
    /// The text gives the last state observed in `/proc`.
    NotBlocked(String),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Unsupported(why) => write!(f, "host SysV IPC namespace unsupported: {why}"),
            HostError::Setup(why) => write!(f, "host SysV IPC namespace setup failed: {why}"),
            HostError::Spawn(e) => write!(f, "cannot start a host thread: {e}"),
            HostError::NotBlocked(why) => write!(f, "host thread did not block: {why}"),
        }
    }
}

impl std::error::Error for HostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HostError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}
