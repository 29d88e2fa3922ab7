//! Per-call credentials: switched on the executing thread only, and restored after each call.
#![cfg(target_os = "linux")]

mod common;

use std::sync::mpsc;

use common::{BLOCK_TIMEOUT, ids, namespace, thread_creds};
use sysvipc_abi::{
    CAP_IPC_OWNER, CAP_SYS_ADMIN, Errno, IPC_CREAT, IPC_NOWAIT, IPC_STAT, MSG_STAT_ANY,
};
use sysvipc_host::HostCaller;

#[test]
fn unprivileged_caller_is_denied_a_root_0600_queue() {
    let Some(ns) = namespace("unprivileged_caller_is_denied_a_root_0600_queue") else {
        return;
    };
    let root = HostCaller::root();
    let user = HostCaller::user(1000, 1000);
    let id = ns.msgget(&root, 0x1234, IPC_CREAT | 0o600).unwrap();
    ns.msgsnd(&root, id, 1, b"x", IPC_NOWAIT).unwrap();

    assert_eq!(ns.msgget(&user, 0x1234, 0o400), Err(Errno::EACCES));
    // Requesting no permission is always allowed (ipcperms with flag 0).
    assert_eq!(ns.msgget(&user, 0x1234, 0), Ok(id));
    assert_eq!(
        ns.msgsnd(&user, id, 1, b"y", IPC_NOWAIT),
        Err(Errno::EACCES)
    );
    assert_eq!(ns.msgrcv(&user, id, 10, 0, IPC_NOWAIT), Err(Errno::EACCES));
    assert_eq!(
        ns.msgctl_stat(&user, id, IPC_STAT).map(|r| r.0),
        Err(Errno::EACCES)
    );
    assert_eq!(ns.msgctl_stat(&user, 0, MSG_STAT_ANY).map(|r| r.0), Ok(id));
    assert_eq!(ns.msgctl_rmid(&user, id), Err(Errno::EPERM));

    // Root again, right after: the switch was undone.
    assert_eq!(
        ns.msgrcv(&root, id, 10, 0, IPC_NOWAIT),
        Ok((1, b"x".to_vec()))
    );
    assert_eq!(ns.msgctl_rmid(&root, id), Ok(()));
}

#[test]
fn root_without_cap_ipc_owner_is_denied() {
    let Some(ns) = namespace("root_without_cap_ipc_owner_is_denied") else {
        return;
    };
    let root = HostCaller::root();
    let owner = HostCaller::user(1000, 1000);
    let weak_root = HostCaller::root().without_cap(CAP_IPC_OWNER);
    let id = ns.msgget(&owner, 0, 0o600).unwrap();

    assert_eq!(
        ns.msgctl_stat(&weak_root, id, IPC_STAT).map(|r| r.0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        ns.msgsnd(&weak_root, id, 1, b"x", IPC_NOWAIT),
        Err(Errno::EACCES)
    );
    // Root keeps CAP_SYS_ADMIN, which is what IPC_RMID of another user's queue needs...
    let no_admin = weak_root.clone().without_cap(CAP_SYS_ADMIN);
    assert_eq!(ns.msgctl_rmid(&no_admin, id), Err(Errno::EPERM));
    // ...and full root passes both checks.
    assert_eq!(
        ns.msgctl_stat(&root, id, IPC_STAT)
            .map(|r| r.1.msg_perm.uid),
        Ok(1000)
    );
    assert_eq!(ns.msgctl_rmid(&root, id), Ok(()));

    // A non-root euid with CAP_IPC_OWNER made effective bypasses the mode.
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let strong_user = HostCaller::user(1000, 1000).with_caps(1 << CAP_IPC_OWNER);
    assert_eq!(
        ns.msgctl_stat(&strong_user, id, IPC_STAT).map(|r| r.0),
        Ok(0)
    );
}

#[test]
fn new_queue_records_the_callers_ids() {
    let Some(ns) = namespace("new_queue_records_the_callers_ids") else {
        return;
    };
    let id = ns.msgget(&HostCaller::user(1000, 2000), 0, 0o600).unwrap();
    let (_, ds) = ns.msgctl_stat(&HostCaller::root(), id, IPC_STAT).unwrap();
    let p = ds.msg_perm;
    assert_eq!((p.uid, p.gid, p.cuid, p.cgid), (1000, 2000, 1000, 2000));
}

#[test]
fn group_class_uses_fsgid_and_supplementary_groups() {
    let Some(ns) = namespace("group_class_uses_fsgid_and_supplementary_groups") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let (_, mut ds) = ns.msgctl_stat(&root, id, IPC_STAT).unwrap();
    ds.msg_perm.gid = 3000;
    ds.msg_perm.mode = 0o040;
    ns.msgctl_set(&root, id, &ds).unwrap();

    let stat = |caller: &HostCaller| ns.msgctl_stat(caller, id, IPC_STAT).map(|r| r.0);
    let plain = HostCaller::user(1000, 2000);
    assert_eq!(stat(&plain), Err(Errno::EACCES));
    assert_eq!(stat(&plain.clone().with_fsgid(3000)), Ok(0));
    assert_eq!(stat(&plain.clone().with_groups(&[5, 3000])), Ok(0));
    // egid alone does not count when fsgid differs.
    assert_eq!(
        stat(&HostCaller::user(1000, 3000).with_fsgid(2000)),
        Err(Errno::EACCES)
    );
}

#[test]
fn thread_credentials_are_switched_for_the_call_and_restored() {
    let Some(ns) = namespace("thread_credentials_are_switched_for_the_call_and_restored") else {
        return;
    };
    let root = HostCaller::root();
    let (uid0, gid0, groups0, cap0) = ns.run(&root, thread_creds);
    assert_eq!(
        (uid0.clone(), gid0.clone()),
        (ids(&[0, 0, 0, 0]), ids(&[0, 0, 0, 0]))
    );
    assert_eq!(cap0, ns.permitted_caps());

    let caller = HostCaller::user(1000, 2000)
        .with_fsgid(3000)
        .with_groups(&[5, 6]);
    let (uid, gid, groups, cap) = ns.run(&caller, thread_creds);
    assert_eq!(uid, ids(&[0, 1000, 0, 1000]));
    assert_eq!(gid, ids(&[0, 2000, 0, 3000]));
    assert_eq!(groups, ids(&[5, 6]));
    assert_eq!(cap, 0, "a non-root euid has no effective capabilities");

    let weak = HostCaller::root().without_cap(CAP_IPC_OWNER);
    let (_, _, _, cap) = ns.run(&weak, thread_creds);
    assert_eq!(cap, ns.permitted_caps() & !(1 << CAP_IPC_OWNER));

    let restored = ns.run(&root, thread_creds);
    assert_eq!(restored, (uid0, gid0, groups0, cap0));
}

#[test]
fn a_panicking_call_still_restores_credentials() {
    let Some(ns) = namespace("a_panicking_call_still_restores_credentials") else {
        return;
    };
    let caller = HostCaller::user(1000, 1000);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.run(&caller, || panic!("deliberate"))
    }));
    assert!(result.is_err());
    let (uid, _, _, _) = ns.run(&HostCaller::root(), thread_creds);
    assert_eq!(uid, ids(&[0, 0, 0, 0]));
}

#[test]
fn switching_never_affects_other_threads_of_the_process() {
    let Some(ns) = namespace("switching_never_affects_other_threads_of_the_process") else {
        return;
    };
    let before = thread_creds();
    let id = ns.msgget(&HostCaller::root(), 0, 0o666).unwrap();
    // One thread stays switched to user 1000 (asleep in msgrcv) while the namespace thread
    // switches back and forth.
    let (tx, rx) = mpsc::channel();
    let receiver = ns.spawn(&HostCaller::user(1000, 1000), move |t| {
        tx.send(thread_creds()).unwrap();
        t.msgrcv(id, 10, 0, 0)
    });
    receiver.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    for uid in 1..50 {
        ns.msgget(&HostCaller::user(uid, uid), 0, 0o600).unwrap();
    }
    assert_eq!(
        thread_creds(),
        before,
        "this test thread's credentials changed"
    );
    let (uid, _, _, _) = rx.recv().unwrap();
    assert_eq!(uid, ids(&[0, 1000, 0, 1000]));
    assert_eq!(
        ns.run(&HostCaller::root(), thread_creds).0,
        ids(&[0, 0, 0, 0])
    );
    ns.msgsnd(&HostCaller::root(), id, 3, b"bye", 0).unwrap();
    assert_eq!(receiver.join(), Ok((3, b"bye".to_vec())));
    assert_eq!(thread_creds(), before);
}
