//! Threads blocked in the host kernel: woken by a message, by removal, by a signal.
#![cfg(target_os = "linux")]

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{BLOCK_TIMEOUT, namespace};
use sysvipc_abi::{Errno, IPC_NOWAIT, IPC_STAT};
use sysvipc_host::{HostCaller, HostError};

#[test]
fn blocked_receiver_gets_a_message_sent_later() {
    let Some(ns) = namespace("blocked_receiver_gets_a_message_sent_later") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let receiver = ns.spawn(&root, move |t| t.msgrcv(id, 64, 0, 0));
    receiver.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    ns.msgsnd(&root, id, 42, b"wake up", 0).unwrap();
    assert_eq!(receiver.join(), Ok((42, b"wake up".to_vec())));
    // Handed over directly: never counted in the queue. msg_lrpid is the receiver's tid.
    let (_, ds) = ns.msgctl_stat(&root, id, IPC_STAT).unwrap();
    assert_eq!(ds.msg_qnum, 0);
}

#[test]
fn pipelined_receive_records_the_receiving_thread_id() {
    let Some(ns) = namespace("pipelined_receive_records_the_receiving_thread_id") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let receiver = ns.spawn(&root, move |t| t.msgrcv(id, 64, 0, 0));
    receiver.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    let tid = receiver.tid();
    ns.msgsnd(&root, id, 1, b"x", 0).unwrap();
    receiver.join().unwrap();
    let (_, ds) = ns.msgctl_stat(&root, id, IPC_STAT).unwrap();
    assert_eq!(ds.msg_lrpid, tid);
    assert_ne!(tid, std::process::id() as i32);
}

#[test]
fn blocked_receiver_gets_eidrm_when_the_queue_is_removed() {
    let Some(ns) = namespace("blocked_receiver_gets_eidrm_when_the_queue_is_removed") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let receiver = ns.spawn(&root, move |t| t.msgrcv(id, 64, 0, 0));
    receiver.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    ns.msgctl_rmid(&root, id).unwrap();
    assert_eq!(receiver.join(), Err(Errno::EIDRM));
}

#[test]
fn blocked_receiver_gets_eintr_when_interrupted() {
    let Some(ns) = namespace("blocked_receiver_gets_eintr_when_interrupted") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let receiver = ns.spawn(&HostCaller::user(0, 0), move |t| t.msgrcv(id, 64, 0, 0));
    receiver.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    receiver.interrupt().unwrap();
    assert_eq!(receiver.join(), Err(Errno::EINTR));
    // The queue is intact.
    assert_eq!(ns.msgctl_stat(&root, id, IPC_STAT).map(|r| r.0), Ok(0));
}

#[test]
fn blocked_sender_completes_when_space_is_freed() {
    let Some(ns) = namespace("blocked_sender_completes_when_space_is_freed") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let (_, mut ds) = ns.msgctl_stat(&root, id, IPC_STAT).unwrap();
    ds.msg_qbytes = 8;
    ns.msgctl_set(&root, id, &ds).unwrap();
    ns.msgsnd(&root, id, 1, b"12345678", 0).unwrap();
    assert_eq!(
        ns.msgsnd(&root, id, 2, b"9", IPC_NOWAIT),
        Err(Errno::EAGAIN)
    );
    let sender = ns.spawn(&root, move |t| t.msgsnd(id, 2, b"9", 0));
    sender.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    assert_eq!(
        ns.msgrcv(&root, id, 8, 0, IPC_NOWAIT),
        Ok((1, b"12345678".to_vec()))
    );
    assert_eq!(sender.join(), Ok(()));
    assert_eq!(
        ns.msgrcv(&root, id, 8, 0, IPC_NOWAIT),
        Ok((2, b"9".to_vec()))
    );
}

#[test]
fn blocked_sender_gets_eintr_and_eidrm() {
    let Some(ns) = namespace("blocked_sender_gets_eintr_and_eidrm") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let (_, mut ds) = ns.msgctl_stat(&root, id, IPC_STAT).unwrap();
    ds.msg_qbytes = 0;
    ns.msgctl_set(&root, id, &ds).unwrap();
    let first = ns.spawn(&root, move |t| t.msgsnd(id, 1, b"", 0));
    first.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    first.interrupt().unwrap();
    assert_eq!(first.join(), Err(Errno::EINTR));
    let second = ns.spawn(&root, move |t| t.msgsnd(id, 1, b"", 0));
    second.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    ns.msgctl_rmid(&root, id).unwrap();
    assert_eq!(second.join(), Err(Errno::EIDRM));
}

#[test]
fn spawned_thread_runs_with_the_given_credentials() {
    let Some(ns) = namespace("spawned_thread_runs_with_the_given_credentials") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let denied = ns.spawn(&HostCaller::user(1000, 1000), move |t| {
        t.msgrcv(id, 8, 0, 0)
    });
    assert_eq!(denied.join(), Err(Errno::EACCES));
}

#[test]
fn wait_until_blocked_reports_a_thread_that_does_not_block_in_ipc() {
    let Some(ns) = namespace("wait_until_blocked_reports_a_thread_that_does_not_block_in_ipc")
    else {
        return;
    };
    let (tx, rx) = mpsc::channel::<()>();
    // Asleep, but in a futex, not in a System V IPC call.
    let waiter = ns.spawn(&HostCaller::root(), move |_| rx.recv().is_ok());
    let err = waiter
        .wait_until_blocked(Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(err, HostError::NotBlocked(_)), "{err}");
    tx.send(()).unwrap();
    assert!(waiter.join());

    let quick = ns.spawn(&HostCaller::root(), |_| 5);
    while !quick.is_finished() {
        std::thread::yield_now();
    }
    assert!(matches!(
        quick.wait_until_blocked(BLOCK_TIMEOUT),
        Err(HostError::NotBlocked(_))
    ));
    assert_eq!(quick.interrupt(), Err(Errno::ESRCH));
    assert_eq!(quick.join(), 5);
}

#[test]
fn a_panic_in_a_spawned_thread_reaches_join() {
    let Some(ns) = namespace("a_panic_in_a_spawned_thread_reaches_join") else {
        return;
    };
    let join = ns.spawn(&HostCaller::root(), |_| -> () { panic!("deliberate") });
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| join.join()));
    assert!(caught.is_err());
}

/// semop(2) of one `sem_op` on semaphore 0, on the calling thread.
fn semop_one(id: i32, op: i16) -> Result<(), Errno> {
    let mut sop = libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: 0,
    };
    // SAFETY: `sop` is one valid sembuf, and nsops is 1.
    let ret = unsafe { libc::semop(id, &mut sop, 1) };
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ))
    }
}

#[test]
fn threads_blocked_in_semop_are_seen_and_interrupted() {
    let Some(ns) = namespace("threads_blocked_in_semop_are_seen_and_interrupted") else {
        return;
    };
    let root = HostCaller::root();
    // SAFETY: semget takes no pointers.
    let id = ns.run(&root, || unsafe {
        libc::semget(libc::IPC_PRIVATE, 1, 0o600)
    });
    assert!(id >= 0);
    let waiter = ns.spawn(&root, move |_| semop_one(id, -1));
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    waiter.interrupt().unwrap();
    assert_eq!(waiter.join(), Err(Errno::EINTR));

    let waiter = ns.spawn(&root, move |_| semop_one(id, -1));
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    assert_eq!(ns.run(&root, move || semop_one(id, 1)), Ok(()));
    assert_eq!(waiter.join(), Ok(()));

    let waiter = ns.spawn(&root, move |_| semop_one(id, -1));
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    drop(ns);
    assert_eq!(
        waiter.join(),
        Err(Errno::EIDRM),
        "dropping the namespace removes semaphore sets"
    );
}
