//! The private namespace: empty, and independent of the process's and of other instances.
#![cfg(target_os = "linux")]

mod common;

use common::{current_ns_inode, namespace, unusual_key};
use sysvipc_abi::{Errno, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_STAT, MSG_INFO};
use sysvipc_host::HostCaller;

#[test]
fn new_namespace_is_empty() {
    let Some(ns) = namespace("new_namespace_is_empty") else {
        return;
    };
    let root = HostCaller::root();
    let (max_index, info) = ns.msgctl_info(&root, 0, MSG_INFO).unwrap();
    assert_eq!(
        (max_index, info.msgpool, info.msgmap, info.msgtql),
        (0, 0, 0, 0)
    );
    assert_eq!(ns.msgget(&root, unusual_key(1), 0), Err(Errno::ENOENT));
    assert_eq!(
        ns.msgctl_stat(&root, 0, IPC_STAT).map(|r| r.0),
        Err(Errno::EINVAL)
    );
    // Fresh limits, not the host's possibly tuned ones.
    assert_eq!(ns.sysctl("msg_next_id").unwrap(), "-1");
    assert_eq!(ns.sysctl("msgmni").unwrap(), "32000");
}

#[test]
fn namespace_thread_is_not_in_the_process_namespace() {
    let Some(ns) = namespace("namespace_thread_is_not_in_the_process_namespace") else {
        return;
    };
    let root = HostCaller::root();
    let inside = ns.run(&root, current_ns_inode);
    assert_eq!(Some(inside), ns.ns_inode());
    assert_ne!(
        inside,
        current_ns_inode(),
        "the namespace thread shares our namespace"
    );

    // A queue created inside is invisible to this (test) thread, which is in the process's
    // namespace; looking a key up with flags 0 changes nothing there.
    let key = unusual_key(2);
    ns.msgget(&root, key, IPC_CREAT | 0o600).unwrap();
    // SAFETY: msgget takes no pointers.
    let outside = unsafe { libc::syscall(libc::SYS_msgget, libc::c_long::from(key), 0) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    assert_eq!((outside, errno), (-1, Some(libc::ENOENT)));
}

#[test]
fn two_namespaces_are_independent() {
    let (Some(a), Some(b)) = (
        namespace("two_namespaces_are_independent"),
        namespace("two_namespaces_are_independent"),
    ) else {
        return;
    };
    let root = HostCaller::root();
    assert_ne!(a.ns_inode(), b.ns_inode());
    let key = unusual_key(3);
    let qa = a.msgget(&root, key, IPC_CREAT | IPC_EXCL | 0o600).unwrap();
    // The same key is free in B, and the first id handed out is the same in both.
    let qb = b.msgget(&root, key, IPC_CREAT | IPC_EXCL | 0o600).unwrap();
    assert_eq!(qa, qb);
    a.msgsnd(&root, qa, 1, b"only in a", IPC_NOWAIT).unwrap();
    assert_eq!(a.msgctl_stat(&root, qa, IPC_STAT).unwrap().1.msg_qnum, 1);
    assert_eq!(b.msgctl_stat(&root, qb, IPC_STAT).unwrap().1.msg_qnum, 0);
    a.msgctl_rmid(&root, qa).unwrap();
    assert_eq!(b.msgget(&root, key, 0), Ok(qb));
    assert_eq!(a.msgget(&root, key, 0), Err(Errno::ENOENT));
}

#[test]
fn spawned_thread_is_in_the_private_namespace() {
    let Some(ns) = namespace("spawned_thread_is_in_the_private_namespace") else {
        return;
    };
    let root = HostCaller::root();
    let key = unusual_key(4);
    let id = ns.msgget(&root, key, IPC_CREAT | 0o600).unwrap();
    let join = ns.spawn(&root, move |t| (current_ns_inode(), t.msgget(key, 0)));
    let (inode, found) = join.join();
    assert_eq!(Some(inode), ns.ns_inode());
    assert_eq!(found, Ok(id));
}

#[test]
fn message_round_trip_and_stat() {
    let Some(ns) = namespace("message_round_trip_and_stat") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o640).unwrap();
    ns.msgsnd(&root, id, 7, b"hello", 0).unwrap();
    ns.msgsnd(&root, id, 9, b"", 0).unwrap();
    let (_, ds) = ns.msgctl_stat(&root, id, IPC_STAT).unwrap();
    assert_eq!((ds.msg_qnum, ds.msg_cbytes, ds.msg_qbytes), (2, 5, 16384));
    assert_eq!(ds.msg_perm.mode, 0o640);
    assert_eq!(ds.msg_lspid, std::process::id() as i32);
    assert_eq!(ns.msgrcv(&root, id, 3, 0, IPC_NOWAIT), Err(Errno::E2BIG));
    assert_eq!(
        ns.msgrcv(&root, id, 3, 0, IPC_NOWAIT | sysvipc_abi::MSG_NOERROR),
        Ok((7, b"hel".to_vec()))
    );
    assert_eq!(
        ns.msgrcv(&root, id, 100, 9, IPC_NOWAIT),
        Ok((9, Vec::new()))
    );
    assert_eq!(ns.msgrcv(&root, id, 100, 0, IPC_NOWAIT), Err(Errno::ENOMSG));
}

#[test]
fn handles_can_be_shared_between_test_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<sysvipc_host::HostNamespace>();
    send_sync::<HostCaller>();
    send::<sysvipc_host::HostJoin<i32>>();
    let Some(ns) = namespace("handles_can_be_shared_between_test_threads") else {
        return;
    };
    let root = HostCaller::root();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    ns.msgget(&root, 0, 0o600).unwrap();
                }
            });
        }
    });
    assert_eq!(ns.msgctl_info(&root, 0, MSG_INFO).unwrap().1.msgpool, 100);
}
