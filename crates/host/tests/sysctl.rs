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

#[test]
fn shm_sysctls_are_per_namespace_and_checked_on_create() {
    let (Some(ns), Some(other)) = (
        namespace("shm_sysctls_are_per_namespace_and_checked_on_create"),
        namespace("shm_sysctls_are_per_namespace_and_checked_on_create"),
    ) else {
        return;
    };
    let root = HostCaller::root();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    for (name, default) in [
        ("shmmax", "18446744073692774399"),
        ("shmall", "18446744073692774399"),
        ("shmmni", "4096"),
        ("shm_rmid_forced", "0"),
        ("shm_next_id", "-1"),
    ] {
        assert_eq!(ns.sysctl(name).as_deref(), Ok(default), "{name}");
    }

    // shmmax: the largest size a new segment may have; lookups of bigger ones are unaffected.
    let big = ns.shmget(&root, 0x51, 3 * page, IPC_CREAT | 0o600).unwrap();
    ns.set_sysctl("shmmax", &page.to_string()).unwrap();
    assert_eq!(ns.shmget(&root, 0, page + 1, 0o600), Err(Errno::EINVAL));
    assert_eq!(ns.shmget(&root, 0x51, 3 * page, 0), Ok(big));
    ns.shmget(&root, 0, page, 0o600).unwrap();
    assert_eq!(other.shmget(&root, 0, page + 1, 0o600), Ok(0));

    // shmall: the namespace's total in pages (4 used now).
    ns.set_sysctl("shmall", "5").unwrap();
    assert_eq!(ns.shmget(&root, 0, 2, 0o600), Ok(2));
    assert_eq!(ns.shmget(&root, 0, 1, 0o600), Err(Errno::ENOSPC));

    // shmmni: the number of segments (3 exist).
    ns.set_sysctl("shmall", "100").unwrap();
    ns.set_sysctl("shmmni", "3").unwrap();
    assert_eq!(ns.shmget(&root, 0, 1, 0o600), Err(Errno::ENOSPC));
    assert_eq!(ns.shmget(&root, 0x51, 0, 0), Ok(big));

    let (_, info) = ns.shmctl_info(&root, 0, IPC_INFO).unwrap();
    assert_eq!(
        (info.shmmax, info.shmall, info.shmmni, info.shmseg),
        (page, 100, 3, 3)
    );
    assert_eq!(
        other.shmctl_info(&root, 0, IPC_INFO).unwrap().1.shmmni,
        4096
    );

    assert_eq!(ns.set_sysctl("shmmni", "32769"), Err(Errno::EINVAL));
    assert_eq!(ns.set_sysctl("shm_rmid_forced", "2"), Err(Errno::EINVAL));
    assert_eq!(ns.sysctl("shm_rmid_forced").as_deref(), Ok("0"));
}
