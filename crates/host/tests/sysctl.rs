//! The namespace's own IPC sysctls.
#![cfg(target_os = "linux")]

mod common;

use common::namespace;
use sysvipc_abi::{Errno, IPC_CREAT, IPC_INFO};
use sysvipc_host::HostCaller;

fn host_value(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/kernel/{name}"))
        .unwrap()
        .trim_end()
        .to_owned()
}

#[test]
fn sysctl_write_changes_only_the_private_namespace() {
    let (Some(ns), Some(other)) = (
        namespace("sysctl_write_changes_only_the_private_namespace"),
        namespace("sysctl_write_changes_only_the_private_namespace"),
    ) else {
        return;
    };
    let root = HostCaller::root();
    let host_before = host_value("msgmni");
    ns.set_sysctl("msgmni", "2").unwrap();
    assert_eq!(ns.sysctl("msgmni").unwrap(), "2");
    assert_eq!(
        host_value("msgmni"),
        host_before,
        "the process namespace's msgmni changed"
    );
    assert_eq!(other.sysctl("msgmni").unwrap(), "32000");

    // The limit is enforced in the namespace, and reported by IPC_INFO.
    assert_eq!(ns.msgctl_info(&root, 0, IPC_INFO).unwrap().1.msgmni, 2);
    ns.msgget(&root, 0, IPC_CREAT | 0o600).unwrap();
    ns.msgget(&root, 0, IPC_CREAT | 0o600).unwrap();
    assert_eq!(ns.msgget(&root, 0, IPC_CREAT | 0o600), Err(Errno::ENOSPC));
    other.msgget(&root, 0, IPC_CREAT | 0o600).unwrap();
}

#[test]
fn msg_next_id_picks_the_next_id() {
    let Some(ns) = namespace("msg_next_id_picks_the_next_id") else {
        return;
    };
    let root = HostCaller::root();
    ns.set_sysctl("msg_next_id", "98305").unwrap();
    assert_eq!(ns.msgget(&root, 0, 0o600), Ok(98305));
    assert_eq!(ns.sysctl("msg_next_id").unwrap(), "-1");
}

#[test]
fn sysctl_errors_are_the_kernels() {
    let Some(ns) = namespace("sysctl_errors_are_the_kernels") else {
        return;
    };
    assert_eq!(ns.set_sysctl("msgmni", "40000"), Err(Errno::EINVAL));
    assert_eq!(ns.set_sysctl("msgmax", "-1"), Err(Errno::EINVAL));
    assert_eq!(ns.sysctl("msgmni").unwrap(), "32000");
    assert_eq!(ns.sysctl("no_such_knob"), Err(Errno::ENOENT));
    assert_eq!(ns.sysctl("../kernel/msgmni"), Err(Errno::EINVAL));
    assert_eq!(ns.sysctl(""), Err(Errno::EINVAL));
    ns.set_sysctl("msgmax", "100").unwrap();
    assert_eq!(ns.sysctl("msgmax").unwrap(), "100");
    assert_eq!(ns.sysctl("sem").unwrap(), "32000\t1024000000\t500\t32000");
}
