//! Semaphore calls on the host kernel: every semctl command, raw semop arguments, sleepers
//! woken by an increment, by a signal, by removal, by a timeout; SEM_UNDO applied when a
//! forked child process exits, or when a thread drops its own undo list.
#![cfg(target_os = "linux")]

mod common;

use common::{BLOCK_TIMEOUT, namespace};
use sysvipc_abi::{
    Errno, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_NOWAIT,
    IPC_PRIVATE, IPC_STAT, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SEM_UNDO, SEMOPM, SEMVMX, Sembuf,
};
use sysvipc_host::{HostCaller, HostChild};

fn op(num: u16, op: i16, flg: i32) -> Sembuf {
    Sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: flg as i16,
    }
}

#[test]
fn semget_semctl_commands_round_trip() {
    let Some(ns) = namespace("semget_semctl_commands_round_trip") else {
        return;
    };
    let root = HostCaller::root();
    let key = common::unusual_key(3);
    let id = ns
        .semget(&root, key, 3, IPC_CREAT | IPC_EXCL | 0o640)
        .unwrap();
    assert_eq!(ns.semget(&root, key, 0, 0), Ok(id));
    assert_eq!(ns.semget(&root, key, 4, 0), Err(Errno::EINVAL));
    assert_eq!(
        ns.semget(&root, key, 3, IPC_CREAT | IPC_EXCL),
        Err(Errno::EEXIST)
    );
    ns.semctl_setall(&root, id, &[1, 2, 3]).unwrap();
    assert_eq!(ns.semctl_getall(&root, id, 3), Ok(vec![1, 2, 3]));
    ns.semctl_setval(&root, id, 1, 7).unwrap();
    assert_eq!(ns.semctl_val(&root, id, 1, GETVAL), Ok(7));
    assert_eq!(
        ns.semctl_val(&root, id, 1, GETPID),
        Ok(std::process::id() as i32)
    );
    assert_eq!(ns.semctl_val(&root, id, 1, GETNCNT), Ok(0));
    assert_eq!(ns.semctl_val(&root, id, 1, GETZCNT), Ok(0));
    assert_eq!(ns.semctl_val(&root, id, 3, GETVAL), Err(Errno::EINVAL));
    assert_eq!(
        ns.semctl_setval(&root, id, 0, SEMVMX + 1),
        Err(Errno::ERANGE)
    );
    let (ret, mut ds) = ns.semctl_stat(&root, id, IPC_STAT).unwrap();
    assert_eq!((ret, ds.sem_nsems, ds.sem_perm.mode), (0, 3, 0o640));
    assert_eq!(ds.sem_otime, 0, "no semop yet");
    assert_ne!(ds.sem_ctime, 0);
    assert_eq!(
        ns.semctl_stat(&root, id & 0x7fff, SEM_STAT).map(|r| r.0),
        Ok(id)
    );
    assert_eq!(
        ns.semctl_stat(&root, id & 0x7fff, SEM_STAT_ANY)
            .map(|r| r.0),
        Ok(id)
    );
    ds.sem_perm.mode = 0o600;
    ns.semctl_set(&root, id, &ds).unwrap();
    assert_eq!(
        ns.semctl_stat(&root, id, IPC_STAT).unwrap().1.sem_perm.mode,
        0o600
    );
    let (max, info) = ns.semctl_info(&root, 0, SEM_INFO).unwrap();
    assert_eq!((max, info.semusz, info.semaem), (id & 0x7fff, 1, 3));
    let (_, info) = ns.semctl_info(&root, 0, IPC_INFO).unwrap();
    assert_eq!((info.semusz, info.semopm), (20, SEMOPM));
    ns.semctl_rmid(&root, id).unwrap();
    assert_eq!(ns.semctl_rmid(&root, id), Err(Errno::EINVAL));
}

#[test]
fn semop_applies_atomically_and_semtimedop_checks_its_timespec() {
    let Some(ns) = namespace("semop_applies_atomically_and_semtimedop_checks_its_timespec") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 2, 0o600).unwrap();
    ns.semop(&root, id, &[op(0, 5, 0), op(0, -3, 0), op(1, 1, 0)])
        .unwrap();
    assert_eq!(ns.semctl_getall(&root, id, 2), Ok(vec![2, 1]));
    // The second operation cannot proceed: nothing is applied.
    assert_eq!(
        ns.semop(&root, id, &[op(1, 1, 0), op(0, -3, IPC_NOWAIT)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(ns.semctl_getall(&root, id, 2), Ok(vec![2, 1]));
    assert_eq!(
        ns.semtimedop(&root, id, &[op(0, 1, 0)], Some((0, 1_000_000_000))),
        Err(Errno::EINVAL),
        "invalid even though the operation would not block"
    );
    assert_eq!(
        ns.semtimedop(&root, id, &[op(0, -3, 0)], Some((0, 0))),
        Err(Errno::EAGAIN)
    );
    assert_eq!(ns.semtimedop(&root, id, &[op(0, -2, 0)], None), Ok(()));
}

#[test]
fn raw_semop_nsops_is_e2big_before_the_array_is_read_and_efault_within_semopm() {
    let Some(ns) =
        namespace("raw_semop_nsops_is_e2big_before_the_array_is_read_and_efault_within_semopm")
    else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let one = [op(0, 1, 0)];
    assert_eq!(ns.semop_raw(&root, id, &one, 1024, None), Err(Errno::E2BIG));
    assert_eq!(
        ns.semop_raw(&root, id, &one, 1024, Some(None)),
        Err(Errno::E2BIG)
    );
    assert_eq!(ns.semop_raw(&root, id, &one, 2, None), Err(Errno::EFAULT));
    assert_eq!(ns.semop_raw(&root, id, &one, 0, None), Err(Errno::EINVAL));
    assert_eq!(ns.semop_raw(&root, id, &one, 1, Some(Some((0, 0)))), Ok(()));
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(1));
}

#[test]
fn getall_and_setall_buffers_shorter_than_the_set_fault() {
    let Some(ns) = namespace("getall_and_setall_buffers_shorter_than_the_set_fault") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 4, 0o600).unwrap();
    assert_eq!(ns.semctl_getall(&root, id, 3), Err(Errno::EFAULT));
    assert_eq!(ns.semctl_setall(&root, id, &[1, 2, 3]), Err(Errno::EFAULT));
    assert_eq!(ns.semctl_getall(&root, id, 4), Ok(vec![0; 4]));
    // A NULL buffer (the 0 argument of semctl_val) is EFAULT too.
    assert_eq!(ns.semctl_val(&root, id, 0, GETALL), Err(Errno::EFAULT));
}

#[test]
fn blocked_semop_is_completed_by_an_increment() {
    let Some(ns) = namespace("blocked_semop_is_completed_by_an_increment") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let waiter = ns.spawn(&root, move |t| t.semop(id, &[op(0, -2, 0)]));
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    assert_eq!(ns.semctl_val(&root, id, 0, GETNCNT), Ok(1));
    ns.semop(&root, id, &[op(0, 3, 0)]).unwrap();
    assert_eq!(waiter.join(), Ok(()));
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(1));
    assert_eq!(ns.semctl_val(&root, id, 0, GETNCNT), Ok(0));
}

#[test]
fn blocked_semop_gets_eintr_when_interrupted() {
    let Some(ns) = namespace("blocked_semop_gets_eintr_when_interrupted") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    ns.semctl_setval(&root, id, 0, 1).unwrap();
    let waiter = ns.spawn(&root, move |t| t.semop(id, &[op(0, 0, 0)]));
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    assert_eq!(ns.semctl_val(&root, id, 0, GETZCNT), Ok(1));
    waiter.interrupt().unwrap();
    assert_eq!(waiter.join(), Err(Errno::EINTR));
    assert_eq!(ns.semctl_val(&root, id, 0, GETZCNT), Ok(0));
}

#[test]
fn blocked_semop_gets_eidrm_when_the_set_is_removed() {
    let Some(ns) = namespace("blocked_semop_gets_eidrm_when_the_set_is_removed") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 2, 0o600).unwrap();
    let waiter = ns.spawn(&root, move |t| {
        t.semtimedop(id, &[op(1, 1, 0), op(0, -1, 0)], Some((1000, 0)))
    });
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    ns.semctl_rmid(&root, id).unwrap();
    assert_eq!(waiter.join(), Err(Errno::EIDRM));
}

#[test]
fn blocked_semtimedop_times_out_with_eagain() {
    let Some(ns) = namespace("blocked_semtimedop_times_out_with_eagain") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let waiter = ns.spawn(&root, move |t| {
        t.semtimedop(id, &[op(0, -1, 0)], Some((0, 10_000_000)))
    });
    assert_eq!(waiter.join(), Err(Errno::EAGAIN));
    assert_eq!(ns.semctl_val(&root, id, 0, GETNCNT), Ok(0));
}

#[test]
fn forked_child_undo_is_applied_when_it_exits() {
    let Some(ns) = namespace("forked_child_undo_is_applied_when_it_exits") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 2, 0o600).unwrap();
    ns.semctl_setall(&root, id, &[1, 0]).unwrap();
    let HostChild { pid, results } = ns.fork_semops(
        &root,
        &[
            (id, vec![op(0, -1, SEM_UNDO), op(1, 5, SEM_UNDO)]),
            (id, vec![op(1, -1, IPC_NOWAIT | SEM_UNDO)]),
            (id, vec![op(0, -1, IPC_NOWAIT)]),
            (-1, vec![op(0, 1, 0)]),
        ],
    );
    assert_ne!(pid, std::process::id() as i32);
    assert_eq!(
        results,
        vec![Ok(()), Ok(()), Err(Errno::EAGAIN), Err(Errno::EINVAL)]
    );
    // Exit adjustments: sem0 +1 (back to 1), sem1 -4 (back to 0); sempid is the child's.
    assert_eq!(ns.semctl_getall(&root, id, 2), Ok(vec![1, 0]));
    assert_eq!(ns.semctl_val(&root, id, 0, GETPID), Ok(pid));
    assert_eq!(ns.semctl_val(&root, id, 1, GETPID), Ok(pid));
}

#[test]
fn exit_undo_is_clamped_at_zero_and_wakes_a_sleeper() {
    let Some(ns) = namespace("exit_undo_is_clamped_at_zero_and_wakes_a_sleeper") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 2, 0o600).unwrap();
    ns.semctl_setall(&root, id, &[0, 3]).unwrap();
    let waiter = ns.spawn(&root, move |t| t.semop(id, &[op(0, -1, 0)]));
    waiter.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    // A first child takes 2 of sem1; its exit gives them back.
    let child = ns.fork_semops(&root, &[(id, vec![op(1, -2, SEM_UNDO)])]);
    assert_eq!(child.results, vec![Ok(())]);
    assert_eq!(ns.semctl_getall(&root, id, 2), Ok(vec![0, 3]));
    assert_eq!(ns.semctl_val(&root, id, 1, GETPID), Ok(child.pid));
    // A second adds 3 to sem0 (adjustment -3); the waiter takes 1 of them at once.
    let child = ns.fork_semops(&root, &[(id, vec![op(0, 3, SEM_UNDO)])]);
    assert_eq!(child.results, vec![Ok(())]);
    assert_eq!(ns.semctl_val(&root, id, 0, GETPID), Ok(child.pid));
    assert_eq!(waiter.join(), Ok(()));
    // At the second child's exit 3 - 1 (waiter) - 3 (undo) clamps at 0.
    assert_eq!(ns.semctl_getall(&root, id, 2), Ok(vec![0, 3]));
}

#[test]
fn undo_of_threads_sharing_the_list_is_not_applied_at_thread_exit() {
    let Some(ns) = namespace("undo_of_threads_sharing_the_list_is_not_applied_at_thread_exit")
    else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let t = ns.spawn(&root, move |t| t.semop(id, &[op(0, 2, SEM_UNDO)]));
    assert_eq!(t.join(), Ok(()));
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(2));
    // The namespace thread shares that list: its -2 with SEM_UNDO brings the adjustment to 0.
    ns.semop(&root, id, &[op(0, -2, SEM_UNDO)]).unwrap();
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(0));
}

#[test]
fn unshare_sysvsem_gives_a_thread_its_own_list_applied_when_it_is_dropped() {
    let Some(ns) =
        namespace("unshare_sysvsem_gives_a_thread_its_own_list_applied_when_it_is_dropped")
    else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    // The shared list holds +4 (adj -4): the unsharing thread must not apply it.
    ns.semop(&root, id, &[op(0, 4, SEM_UNDO)]).unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<(), Errno>>();
    let t = ns.spawn(&root, move |t| {
        t.unshare_sysvsem()?;
        done_tx.send(t.semop(id, &[op(0, 3, SEM_UNDO)])).unwrap();
        go_rx.recv().expect("go on");
        t.unshare_sysvsem()
    });
    assert_eq!(done_rx.recv().unwrap(), Ok(()));
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(7));
    go_tx.send(()).unwrap();
    assert_eq!(t.join(), Ok(()));
    assert_eq!(
        ns.semctl_val(&root, id, 0, GETVAL),
        Ok(4),
        "its +3 was undone"
    );
}

#[test]
fn a_live_child_makes_calls_sent_later_as_each_callers_credentials() {
    let Some(ns) = namespace("a_live_child_makes_calls_sent_later_as_each_callers_credentials")
    else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let mut child = ns.fork(&root, &[]);
    let getval = |caller: HostCaller| sysvipc_host::ChildCall {
        nr: libc::SYS_semctl,
        args: [id as u64, 0, GETVAL as u64, 0, 0, 0],
        caller,
        interrupt_if_asleep: false,
    };
    // SAFETY: semctl(GETVAL) takes no pointer.
    let as_root = unsafe { child.call(&getval(root.clone())) }.unwrap();
    assert_eq!(as_root, Ok(0));
    // SAFETY: as above.
    let as_user = unsafe { child.call(&getval(HostCaller::user(1000, 1000))) }.unwrap();
    assert_eq!(as_user, Err(Errno::EACCES));
    // Back to root after the user's call.
    // SAFETY: as above.
    assert_eq!(unsafe { child.call(&getval(root.clone())) }.unwrap(), Ok(0));
    child.exit();
}

#[test]
fn a_live_childs_call_that_sleeps_is_interrupted_with_eintr() {
    let Some(ns) = namespace("a_live_childs_call_that_sleeps_is_interrupted_with_eintr") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    // The sembuf lives in a shared mapping the child sees (it is forked after it exists).
    let sops = Box::new(op(0, -1, SEM_UNDO));
    let mut child = ns.fork(&root, &[]);
    let call = sysvipc_host::ChildCall {
        nr: libc::SYS_semop,
        args: [id as u64, &*sops as *const Sembuf as u64, 1, 0, 0, 0],
        caller: root.clone(),
        interrupt_if_asleep: true,
    };
    // SAFETY: semop only reads the sembuf, which the child has a copy of (made at the fork).
    assert_eq!(unsafe { child.call(&call) }.unwrap(), Err(Errno::EINTR));
    assert_eq!(ns.semctl_val(&root, id, 0, GETNCNT), Ok(0));
    child.exit();
}

#[test]
fn a_process_forked_by_a_child_has_its_own_undo_list_and_outlives_its_parent() {
    let Some(ns) =
        namespace("a_process_forked_by_a_child_has_its_own_undo_list_and_outlives_its_parent")
    else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.semget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let sops = Box::new(op(0, 1, SEM_UNDO | IPC_NOWAIT));
    let mut child = ns.fork(&root, &[]);
    let semop = sysvipc_host::ChildCall {
        nr: libc::SYS_semop,
        args: [id as u64, &*sops as *const Sembuf as u64, 1, 0, 0, 0],
        caller: root.clone(),
        interrupt_if_asleep: false,
    };
    // SAFETY: semop only reads the sembuf, copied into the child at the fork.
    assert_eq!(unsafe { child.call(&semop) }.unwrap(), Ok(0));
    let mut grandchild = child.fork().unwrap();
    assert_ne!(grandchild.pid(), child.pid());
    // SAFETY: as above; the grandchild has the child's copy.
    assert_eq!(unsafe { grandchild.call(&semop) }.unwrap(), Ok(0));
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(2));
    child.exit();
    // Only the child's +1 is undone; the grandchild lives on.
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(1));
    // SAFETY: as above.
    assert_eq!(unsafe { grandchild.call(&semop) }.unwrap(), Ok(0));
    let pid = grandchild.pid();
    grandchild.exit();
    assert_eq!(ns.semctl_val(&root, id, 0, GETVAL), Ok(0));
    assert_eq!(ns.semctl_val(&root, id, 0, GETPID), Ok(pid));
}
