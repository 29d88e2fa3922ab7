//! Semaphore sets, one test per rule of Linux's behaviour (`ipc/sem.c`, `man 2 semop`, `man 2 semctl`).

use std::sync::Arc;
use std::thread;
use sysvipc::abi::{self, Sembuf};
use sysvipc::*;

fn op(n: u16, o: i16, f: i32) -> Sembuf {
    Sembuf {
        sem_num: n,
        sem_op: o,
        sem_flg: f as i16,
    }
}

#[test]
fn semop_getncnt_undo_info_and_removal_round_trip() {
    let ns = IpcNamespace::new();
    let b = Arc::new(ThreadBlocker::new());
    let c = Caller::new(Credentials::root(), 10, b);
    let id = ns.semget(&c, 5, 3, abi::IPC_CREAT | 0o600).unwrap();
    assert_eq!(ns.semget(&c, 5, 4, 0), Err(Errno::EINVAL));
    ns.semop(&c, id, &[op(0, 2, 0), op(0, -1, 0)]).unwrap();
    assert_eq!(ns.semctl_get(&c, id, 0, SemCtlCmd::GetVal), Ok(1));
    assert_eq!(
        ns.semop(&c, id, &[op(1, -1, abi::IPC_NOWAIT)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(ns.semop(&c, id, &[op(3, -1, 0)]), Err(Errno::EFBIG));
    let w = Arc::new(ThreadBlocker::new());
    let waiter = Caller::new(Credentials::root(), 20, w.clone());
    thread::scope(|s| {
        let t = s.spawn(|| ns.semop(&waiter, id, &[op(1, -1, 0), op(2, 0, 0)]));
        w.wait_until_sleeping();
        assert_eq!(ns.semctl_get(&c, id, 1, SemCtlCmd::GetNcnt), Ok(1));
        ns.semop(&c, id, &[op(1, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(ns.semctl_get(&c, id, 1, SemCtlCmd::GetPid), Ok(20));
    {
        let u = Caller::new(Credentials::root(), 30, Arc::new(ThreadBlocker::new()));
        ns.semop(&u, id, &[op(2, 5, abi::SEM_UNDO)]).unwrap();
        assert_eq!(ns.semctl_get(&c, id, 2, SemCtlCmd::GetVal), Ok(5));
    }
    assert_eq!(
        ns.semctl_get(&c, id, 2, SemCtlCmd::GetVal),
        Ok(0),
        "undone at exit"
    );
    assert_eq!(ns.semctl_get(&c, id, 2, SemCtlCmd::GetPid), Ok(30));
    let (max, info) = ns.semctl_info(0, SemCtlCmd::SemInfo).unwrap();
    assert_eq!((max, info.semusz, info.semaem), (0, 1, 3));
    ns.semctl_rmid(&c, id).unwrap();
    assert_eq!(ns.semctl_rmid(&c, id), Err(Errno::EINVAL));
}
