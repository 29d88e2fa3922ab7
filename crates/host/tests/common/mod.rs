//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use sysvipc_host::{HostError, HostNamespace};

/// How long a test waits for a thread to fall asleep in the kernel before failing.
pub const BLOCK_TIMEOUT: Duration = Duration::from_secs(20);

/// A fresh private namespace, or `None` (after saying why) where the host cannot provide one.
pub fn namespace(test: &str) -> Option<HostNamespace> {
    match HostNamespace::new() {
        Ok(ns) => Some(ns),
        Err(HostError::Unsupported(why)) => {
            eprintln!("skipping {test}: {why}");
            None
        }
        Err(e) => panic!("HostNamespace::new failed: {e}"),
    }
}

/// The fields of a `Name:\tvalue…` line of `/proc/thread-self/status` of the calling thread.
pub fn status_field(name: &str) -> Vec<String> {
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("read status");
    let prefix = format!("{name}:");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in /proc/thread-self/status"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Uid (real, effective, saved, fs), Gid (same), Groups and CapEff of the calling thread.
pub fn thread_creds() -> (Vec<String>, Vec<String>, Vec<String>, u64) {
    let cap = status_field("CapEff");
    let cap = u64::from_str_radix(&cap[0], 16).expect("CapEff is hex");
    (
        status_field("Uid"),
        status_field("Gid"),
        status_field("Groups"),
        cap,
    )
}

/// The IPC namespace inode of the calling thread.
pub fn current_ns_inode() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/ipc")
        .expect("stat ns/ipc")
        .ino()
}

/// A key unlikely to be used by anyone else on this host.
pub fn unusual_key(salt: i32) -> i32 {
    0x5E00_0000 | ((std::process::id() as i32 & 0xFFFF) << 8) | (salt & 0xFF)
}

/// Strings for `Uid:`/`Gid:` comparisons.
pub fn ids(v: &[u32]) -> Vec<String> {
    v.iter().map(u32::to_string).collect()
}
