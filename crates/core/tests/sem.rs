//! Semaphore sets, one test per rule of Linux's behaviour (`ipc/sem.c`, `man 2 semget`,
//! `man 2 semop`, `man 2 semctl`). Blocking tests use `ManualBlocker`: they wait until the other
//! thread is asleep instead of sleeping themselves, and drive deadlines with a `ManualClock`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use sysvipc::abi::{self, Ipc64Perm, Sembuf, Semid64Ds};
use sysvipc::{
    Blocker, Caller, Capabilities, Credentials, Errno, IpcNamespace, ManualBlocker, ManualClock,
    SemCtlCmd, ThreadBlocker, Timespec,
};

const T0: i64 = 1_700_000_000;
const NOWAIT: i32 = abi::IPC_NOWAIT;
const UNDO: i32 = abi::SEM_UNDO;
const VMX: i32 = abi::SEMVMX;

fn op(n: u16, o: i16, f: i32) -> Sembuf {
    Sembuf {
        sem_num: n,
        sem_op: o,
        sem_flg: f as i16,
    }
}

fn ts(sec: i64, nsec: i64) -> Option<Timespec> {
    Some(Timespec { sec, nsec })
}

struct World {
    clock: Arc<ManualClock>,
    ns: IpcNamespace,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let ns = IpcNamespace::with_clock(clock.clone());
        Self { clock, ns }
    }

    fn caller(&self, cred: Credentials, pid: i32) -> (Caller, Arc<ManualBlocker>) {
        let b = Arc::new(ManualBlocker::new(self.clock.clone()));
        (Caller::new(cred, pid, b.clone()), b)
    }

    /// A root process with its own undo list.
    fn proc(&self, pid: i32) -> Caller {
        self.caller(Credentials::root(), pid).0
    }

    fn root(&self) -> Caller {
        self.proc(100)
    }

    fn user(&self, uid: u32, gid: u32) -> Caller {
        self.caller(Credentials::user(uid, gid), 200 + uid as i32).0
    }

    fn later(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    fn set(&self, c: &Caller, nsems: i32, mode: i32) -> i32 {
        self.ns
            .semget(c, abi::IPC_PRIVATE, nsems, abi::IPC_CREAT | mode)
            .unwrap()
    }

    fn get(&self, id: i32, n: i32, cmd: SemCtlCmd) -> i32 {
        self.ns.semctl_get(&self.root(), id, n, cmd).unwrap()
    }

    fn val(&self, id: i32, n: i32) -> i32 {
        self.get(id, n, SemCtlCmd::GetVal)
    }

    fn pid(&self, id: i32, n: i32) -> i32 {
        self.get(id, n, SemCtlCmd::GetPid)
    }

    fn ncnt(&self, id: i32, n: i32) -> i32 {
        self.get(id, n, SemCtlCmd::GetNcnt)
    }

    fn zcnt(&self, id: i32, n: i32) -> i32 {
        self.get(id, n, SemCtlCmd::GetZcnt)
    }

    fn vals(&self, id: i32) -> Vec<u16> {
        self.ns.semctl_getall(&self.root(), id).unwrap()
    }

    fn setval(&self, id: i32, n: i32, v: i32) {
        self.ns.semctl_setval(&self.root(), id, n, v).unwrap();
    }

    fn stat(&self, id: i32) -> Semid64Ds {
        self.ns
            .semctl_stat(&self.root(), id, SemCtlCmd::Stat)
            .unwrap()
            .1
    }

    fn ipc_set(&self, c: &Caller, id: i32, edit: impl FnOnce(&mut Ipc64Perm)) -> Result<(), Errno> {
        let mut ds = self.stat(id);
        edit(&mut ds.sem_perm);
        self.ns.semctl_set(c, id, &ds)
    }

    fn semop(&self, c: &Caller, id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
        self.ns.semop(c, id, sops)
    }
}

/// Asserts what a waker must already have done when its call returns. On failure the sleepers
/// are interrupted first, so that a broken rule fails the test instead of hanging its join.
#[track_caller]
fn assert_served<T: PartialEq + std::fmt::Debug>(got: T, want: T, sleepers: &[&ManualBlocker]) {
    if got != want {
        for b in sleepers {
            b.interrupt();
        }
        panic!("after the waker returned: got {got:?}, want {want:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// semget

#[test]
fn semget_private_key_always_creates_a_new_set() {
    let w = World::new();
    let r = w.root();
    let flags = abi::IPC_CREAT | abi::IPC_EXCL | 0o600;
    let a = w.ns.semget(&r, abi::IPC_PRIVATE, 1, flags).unwrap();
    let b = w.ns.semget(&r, abi::IPC_PRIVATE, 2, 0).unwrap();
    assert_eq!((a, b), (0, 1));
    assert_eq!(w.stat(b).sem_nsems, 2);
}

#[test]
fn semget_missing_key_without_ipc_creat_is_enoent() {
    let w = World::new();
    let r = w.root();
    assert_eq!(w.ns.semget(&r, 42, 1, 0o600), Err(Errno::ENOENT));
    assert_eq!(w.ns.semget(&r, 42, 0, abi::IPC_EXCL), Err(Errno::ENOENT));
}

#[test]
fn semget_existing_key_returns_its_id_and_ipc_excl_gives_eexist() {
    let w = World::new();
    let r = w.root();
    let id = w.ns.semget(&r, 42, 2, abi::IPC_CREAT | 0o600).unwrap();
    assert_eq!(w.ns.semget(&r, 42, 2, 0), Ok(id));
    assert_eq!(w.ns.semget(&r, 42, 1, abi::IPC_CREAT), Ok(id));
    assert_eq!(w.ns.semget(&r, 42, 2, abi::IPC_EXCL), Ok(id));
    assert_eq!(
        w.ns.semget(&r, 42, 2, abi::IPC_CREAT | abi::IPC_EXCL),
        Err(Errno::EEXIST)
    );
}

#[test]
fn semget_nsems_out_of_range_is_einval_before_the_key_lookup() {
    let w = World::new();
    let r = w.root();
    // A missing key: EINVAL, not ENOENT.
    assert_eq!(w.ns.semget(&r, 42, 32001, 0), Err(Errno::EINVAL));
    assert_eq!(w.ns.semget(&r, 42, -1, 0), Err(Errno::EINVAL));
    assert_eq!(w.ns.semget(&r, 42, 32000, 0), Err(Errno::ENOENT));
    // An existing key: EINVAL, not EEXIST.
    w.ns.semget(&r, 42, 1, abi::IPC_CREAT).unwrap();
    assert_eq!(
        w.ns.semget(&r, 42, 32001, abi::IPC_CREAT | abi::IPC_EXCL),
        Err(Errno::EINVAL)
    );
    // semmsl is read on every semget, lookups included.
    w.ns.limits().set_sem([0, 100, 500, 32000]).unwrap();
    assert_eq!(w.ns.semget(&r, 42, 1, 0), Err(Errno::EINVAL));
    assert_eq!(w.ns.semget(&r, 42, 0, 0), Ok(0));
}

#[test]
fn semget_nsems_zero_is_allowed_only_for_lookups() {
    let w = World::new();
    let r = w.root();
    assert_eq!(
        w.ns.semget(&r, abi::IPC_PRIVATE, 0, abi::IPC_CREAT),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.ns.semget(&r, 42, 0, abi::IPC_CREAT), Err(Errno::EINVAL));
    let id = w.ns.semget(&r, 42, 3, abi::IPC_CREAT).unwrap();
    assert_eq!(w.ns.semget(&r, 42, 0, 0), Ok(id));
}

#[test]
fn semget_existing_set_with_fewer_semaphores_is_einval_after_eexist_and_before_eacces() {
    let w = World::new();
    let id =
        w.ns.semget(&w.root(), 42, 2, abi::IPC_CREAT | 0o600)
            .unwrap();
    let u = w.user(1000, 1000);
    let excl = abi::IPC_CREAT | abi::IPC_EXCL;
    assert_eq!(w.ns.semget(&u, 42, 3, excl | 0o600), Err(Errno::EEXIST));
    assert_eq!(w.ns.semget(&u, 42, 3, 0o600), Err(Errno::EINVAL));
    assert_eq!(w.ns.semget(&u, 42, 2, 0o600), Err(Errno::EACCES));
    assert_eq!(w.ns.semget(&u, 42, 2, 0), Ok(id), "flag 0 requests nothing");
}

#[test]
fn semget_existing_key_checks_requested_mode_bits() {
    let w = World::new();
    w.ns.semget(&w.root(), 42, 1, abi::IPC_CREAT | 0o640)
        .unwrap();
    let other = w.user(1000, 1000);
    assert_eq!(w.ns.semget(&other, 42, 1, 0o400), Err(Errno::EACCES));
    assert_eq!(w.ns.semget(&other, 42, 1, 0o004), Err(Errno::EACCES));
    let group = w.user(1000, 0);
    assert!(w.ns.semget(&group, 42, 1, 0o040).is_ok());
    assert_eq!(w.ns.semget(&group, 42, 1, 0o020), Err(Errno::EACCES));
}

#[test]
fn new_set_stores_low_nine_mode_bits_caller_as_owner_and_zeroed_semaphores() {
    let w = World::new();
    let c = w.caller(Credentials::user(1000, 2000), 7).0;
    w.later(3);
    let id = w.ns.semget(&c, 42, 3, abi::IPC_CREAT | 0o7777).unwrap();
    let expected = Semid64Ds {
        sem_perm: Ipc64Perm {
            key: 42,
            uid: 1000,
            gid: 2000,
            cuid: 1000,
            cgid: 2000,
            mode: 0o777,
            ..Ipc64Perm::default()
        },
        sem_otime: 0,
        sem_ctime: T0 + 3,
        sem_nsems: 3,
        ..Semid64Ds::default()
    };
    assert_eq!(w.stat(id), expected);
    assert_eq!(w.vals(id), [0, 0, 0]);
    assert_eq!((0..3).map(|n| w.pid(id, n)).collect::<Vec<_>>(), [0, 0, 0]);
}

#[test]
fn semget_enospc_at_semmns_only_when_creating() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_sem([32000, 5, 500, 32000]).unwrap();
    let a = w.ns.semget(&r, 1, 3, abi::IPC_CREAT).unwrap();
    assert_eq!(w.ns.semget(&r, abi::IPC_PRIVATE, 3, 0), Err(Errno::ENOSPC));
    w.ns.semget(&r, abi::IPC_PRIVATE, 2, 0).unwrap();
    assert_eq!(w.ns.semget(&r, 2, 1, abi::IPC_CREAT), Err(Errno::ENOSPC));
    // Checks that come first on the create path still win, and lookups ignore semmns.
    assert_eq!(w.ns.semget(&r, 2, 1, 0), Err(Errno::ENOENT));
    assert_eq!(w.ns.semget(&r, 2, 0, abi::IPC_CREAT), Err(Errno::EINVAL));
    assert_eq!(w.ns.semget(&r, 1, 3, abi::IPC_CREAT), Ok(a));
    // Removal gives the semaphores back.
    w.ns.semctl_rmid(&r, a).unwrap();
    assert!(w.ns.semget(&r, 2, 3, abi::IPC_CREAT).is_ok());
}

#[test]
fn semget_enospc_at_semmni_only_when_creating() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_sem([32000, 1000, 500, 2]).unwrap();
    let a = w.ns.semget(&r, 1, 1, abi::IPC_CREAT).unwrap();
    w.ns.semget(&r, abi::IPC_PRIVATE, 1, 0).unwrap();
    assert_eq!(w.ns.semget(&r, 2, 1, abi::IPC_CREAT), Err(Errno::ENOSPC));
    assert_eq!(w.ns.semget(&r, abi::IPC_PRIVATE, 1, 0), Err(Errno::ENOSPC));
    w.ns.limits().set_sem([32000, 1000, 500, 0]).unwrap();
    assert_eq!(
        w.ns.semget(&r, 1, 1, abi::IPC_CREAT),
        Ok(a),
        "lookups ignore semmni"
    );
}

#[test]
fn failed_semget_creation_counts_no_set_and_no_semaphore() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_sem([32000, 2, 500, 1]).unwrap();
    w.set(&r, 2, 0o600);
    assert_eq!(
        w.ns.semget(&r, abi::IPC_PRIVATE, 1, abi::IPC_CREAT),
        Err(Errno::ENOSPC)
    );
    let (_, info) = w.ns.semctl_info(0, SemCtlCmd::SemInfo).unwrap();
    assert_eq!(
        (info.semusz, info.semaem),
        (1, 2),
        "failed creations count nothing"
    );
}

#[test]
fn semget_honours_sem_next_id_once_and_failed_creations_keep_it() {
    let w = World::new();
    let r = w.root();
    w.ns.set_sem_next_id(200).unwrap();
    assert_eq!(w.ns.sem_next_id(), 200);
    assert_eq!(
        w.ns.semget(&r, abi::IPC_PRIVATE, 0, abi::IPC_CREAT),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.ns.sem_next_id(), 200);
    w.ns.limits().set_sem([32000, 0, 500, 32000]).unwrap();
    assert_eq!(
        w.ns.semget(&r, abi::IPC_PRIVATE, 1, abi::IPC_CREAT),
        Err(Errno::ENOSPC)
    );
    assert_eq!(w.ns.sem_next_id(), 200);
    w.ns.limits().set_sem([32000, 1000, 500, 32000]).unwrap();
    assert_eq!(w.set(&r, 1, 0o600), 200);
    assert_eq!(w.ns.sem_next_id(), -1);
    assert_eq!(w.set(&r, 1, 0o600), 0);
    assert_eq!(w.ns.set_sem_next_id(-1), Err(Errno::EINVAL));
}

#[test]
fn sem_ids_follow_linux_numbering_and_a_removed_index_is_not_reused_at_once() {
    let w = World::new();
    let r = w.root();
    let ids: Vec<i32> = (0..3).map(|_| w.set(&r, 1, 0o600)).collect();
    assert_eq!(ids, [0, 1, 2]);
    w.ns.semctl_rmid(&r, 1).unwrap();
    assert_eq!(w.set(&r, 1, 0o600), 3);
    // Sem ids are independent of message queue ids.
    assert_eq!(w.ns.msgget(&r, abi::IPC_PRIVATE, abi::IPC_CREAT), Ok(0));
}

// ---------------------------------------------------------------------------------------------
// The `sem` sysctl

#[test]
fn sem_sysctl_semmni_out_of_range_is_erange_and_the_other_three_stay_written() {
    let w = World::new();
    let l = w.ns.limits();
    assert_eq!(l.set_sem([10, 20, 30, 32769]), Err(Errno::ERANGE));
    assert_eq!(
        (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
        (10, 20, 30, 32000)
    );
    assert_eq!(l.set_sem([11, 21, 31, -1]), Err(Errno::ERANGE));
    assert_eq!(
        (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
        (11, 21, 31, 32000)
    );
    l.set_sem([1, 2, 3, 32768]).unwrap();
    assert_eq!(
        (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
        (1, 2, 3, 32768)
    );
    // A value that is not an int is EINVAL; proc_dointvec has stored the ones before it
    // (Linux 6.18: `5 5 2147483648 5` leaves `5 5 3 32768`).
    assert_eq!(
        l.set_sem([5, 5, i64::from(i32::MAX) + 1, 5]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
        (5, 5, 3, 32768)
    );
}

#[test]
fn sem_sysctl_defaults_are_linux_values_and_info_reports_written_ones() {
    let w = World::new();
    let l = w.ns.limits();
    assert_eq!(
        (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
        (32000, 1_024_000_000, 500, 32000)
    );
    l.set_sem([250, 64000, 32, 128]).unwrap();
    let (_, info) = w.ns.semctl_info(0, SemCtlCmd::IpcInfo).unwrap();
    assert_eq!(
        (info.semmsl, info.semmns, info.semopm, info.semmni),
        (250, 64000, 32, 128)
    );
}

#[test]
fn negative_semmsl_makes_every_semget_einval_and_negative_semmns_every_creation_enospc() {
    let w = World::new();
    let r = w.root();
    let id = w.ns.semget(&r, 42, 1, abi::IPC_CREAT).unwrap();
    w.ns.limits().set_sem([-1, 1000, 500, 32000]).unwrap();
    assert_eq!(w.ns.semget(&r, 42, 0, 0), Err(Errno::EINVAL));
    assert_eq!(w.ns.semget(&r, 7, 1, abi::IPC_CREAT), Err(Errno::EINVAL));
    w.ns.limits().set_sem([32000, -1, 500, 32000]).unwrap();
    assert_eq!(w.ns.semget(&r, 7, 1, abi::IPC_CREAT), Err(Errno::ENOSPC));
    assert_eq!(w.ns.semget(&r, 42, 1, 0), Ok(id));
}

#[test]
fn negative_semopm_means_unlimited_and_zero_means_e2big_always() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let many = [op(0, 0, 0); 2000];
    assert_eq!(w.semop(&r, id, &many), Err(Errno::E2BIG));
    w.ns.limits().set_sem([32000, 1000, -1, 32000]).unwrap();
    assert_eq!(w.semop(&r, id, &many), Ok(()));
    w.ns.limits().set_sem([32000, 1000, 0, 32000]).unwrap();
    assert_eq!(w.semop(&r, id, &[op(0, 1, 0)]), Err(Errno::E2BIG));
    assert_eq!(w.val(id, 0), 0);
}

// ---------------------------------------------------------------------------------------------
// semop / semtimedop: argument checks, in Linux's order

#[test]
fn semop_e2big_for_more_than_semopm_operations_precedes_every_einval() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    assert_eq!(w.semop(&r, id, &[op(0, 0, 0); 500]), Ok(()));
    let too_many = [op(0, 0, 0); 501];
    assert_eq!(w.semop(&r, id, &too_many), Err(Errno::E2BIG));
    assert_eq!(w.semop(&r, -1, &too_many), Err(Errno::E2BIG));
    assert_eq!(
        w.ns.semtimedop(&r, 12345, &too_many, ts(-1, 0)),
        Err(Errno::E2BIG)
    );
}

#[test]
fn semop_without_operations_or_with_negative_id_is_einval() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    assert_eq!(w.semop(&r, id, &[]), Err(Errno::EINVAL));
    assert_eq!(w.semop(&r, -1, &[op(0, 1, 0)]), Err(Errno::EINVAL));
    assert_eq!(w.val(id, 0), 0);
}

#[test]
fn semtimedop_invalid_timespec_is_einval_even_when_the_operation_would_not_block() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    for bad in [
        ts(-1, 0),
        ts(0, -1),
        ts(0, 1_000_000_000),
        ts(-1, 2_000_000_000),
    ] {
        assert_eq!(
            w.ns.semtimedop(&r, id, &[op(0, 1, 0)], bad),
            Err(Errno::EINVAL),
            "{bad:?}"
        );
    }
    assert_eq!(w.val(id, 0), 0, "nothing applied");
    // Before the lookup and before EFBIG.
    assert_eq!(
        w.ns.semtimedop(&r, id, &[op(9, 1, 0)], ts(0, -1)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.ns.semtimedop(&r, id, &[op(0, 1, 0)], ts(5, 999_999_999)),
        Ok(())
    );
    assert_eq!(w.val(id, 0), 1);
}

#[test]
fn semop_on_a_missing_or_removed_id_is_einval_before_efbig() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    assert_eq!(w.semop(&r, id + 1, &[op(9, 1, 0)]), Err(Errno::EINVAL));
    assert_eq!(w.semop(&r, id + 32768, &[op(0, 1, 0)]), Err(Errno::EINVAL));
    w.ns.semctl_rmid(&r, id).unwrap();
    assert_eq!(w.semop(&r, id, &[op(0, 1, 0)]), Err(Errno::EINVAL));
}

#[test]
fn semop_sem_num_beyond_the_set_is_efbig_before_eacces() {
    let w = World::new();
    let id = w.set(&w.root(), 3, 0o600);
    let u = w.user(1000, 1000);
    assert_eq!(w.semop(&u, id, &[op(0, 1, 0)]), Err(Errno::EACCES));
    assert_eq!(
        w.semop(&u, id, &[op(0, 1, 0), op(3, 1, 0)]),
        Err(Errno::EFBIG)
    );
    assert_eq!(w.semop(&u, id, &[op(65535, 0, 0)]), Err(Errno::EFBIG));
    let r = w.root();
    assert_eq!(w.semop(&r, id, &[op(65535, 1, NOWAIT)]), Err(Errno::EFBIG));
}

#[test]
fn semop_alteration_needs_write_and_wait_for_zero_needs_read_permission() {
    let w = World::new();
    let r = w.root();
    let read_only = w.set(&r, 2, 0o444);
    let write_only = w.set(&r, 2, 0o222);
    let u = w.user(1000, 1000);
    assert_eq!(w.semop(&u, read_only, &[op(0, 0, 0)]), Ok(()));
    assert_eq!(w.semop(&u, read_only, &[op(0, 1, 0)]), Err(Errno::EACCES));
    assert_eq!(
        w.semop(&u, read_only, &[op(0, 0, 0), op(1, 1, 0)]),
        Err(Errno::EACCES),
        "one alteration makes the whole array need write"
    );
    assert_eq!(w.semop(&u, write_only, &[op(0, 0, 0)]), Err(Errno::EACCES));
    assert_eq!(w.semop(&u, write_only, &[op(0, 1, 0)]), Ok(()));
    assert_eq!(w.val(write_only, 0), 1);
}

// ---------------------------------------------------------------------------------------------
// semop: evaluation (`perform_atomic_semop`)

#[test]
fn semop_applies_all_operations_or_none() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.later(1);
    assert_eq!(
        w.semop(&r, id, &[op(0, 1, 0), op(1, -1, NOWAIT)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(w.vals(id), [0, 0]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (0, 0));
    assert_eq!(w.stat(id).sem_otime, 0);
}

#[test]
fn semop_with_a_long_array_applies_every_operation_or_none() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 8, 0o600);
    let ups: Vec<Sembuf> = (0..8).map(|n| op(n, n as i16 + 1, 0)).collect();
    w.semop(&r, id, &ups).unwrap();
    assert_eq!(w.vals(id), [1, 2, 3, 4, 5, 6, 7, 8]);
    // Seven operations, the last of which cannot proceed: nothing changes.
    let mut downs: Vec<Sembuf> = (0..6).map(|n| op(n, -1, 0)).collect();
    downs.push(op(0, -1, NOWAIT));
    assert_eq!(w.semop(&r, id, &downs), Err(Errno::EAGAIN));
    assert_eq!(w.vals(id), [1, 2, 3, 4, 5, 6, 7, 8]);
    downs.pop();
    downs.push(op(7, -8, 0));
    w.semop(&r, id, &downs).unwrap();
    assert_eq!(w.vals(id), [0, 1, 2, 3, 4, 5, 7, 0]);
}

#[test]
fn semop_applies_duplicate_semaphores_in_array_order() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.semop(&r, id, &[op(0, 5, 0), op(0, -3, 0)]).unwrap();
    assert_eq!(w.val(id, 0), 2);
    assert_eq!(
        w.semop(&r, id, &[op(1, 5, 0), op(1, -6, NOWAIT)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(w.val(id, 1), 0);
    // Without IPC_NOWAIT it sleeps, blocked on its second operation, until one more unit.
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(1, 5, 0), op(1, -6, 0)]));
        b.wait_until_sleeping();
        assert_eq!((w.ncnt(id, 1), w.val(id, 1)), (1, 0));
        w.semop(&r, id, &[op(1, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!((w.val(id, 1), w.pid(id, 1)), (0, 1));
}

#[test]
fn semop_first_failing_operation_decides_between_eagain_and_erange() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 1, VMX);
    assert_eq!(
        w.semop(&r, id, &[op(0, -1, NOWAIT), op(1, 1, 0)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        w.semop(&r, id, &[op(1, 1, 0), op(0, -1, NOWAIT)]),
        Err(Errno::ERANGE)
    );
    assert_eq!(w.vals(id), [0, VMX as u16]);
}

#[test]
fn semop_result_above_semvmx_is_erange() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    w.setval(id, 0, VMX - 1);
    assert_eq!(w.semop(&r, id, &[op(0, 2, 0)]), Err(Errno::ERANGE));
    assert_eq!(w.semop(&r, id, &[op(0, 1, 0)]), Ok(()));
    assert_eq!(w.semop(&r, id, &[op(0, 1, NOWAIT)]), Err(Errno::ERANGE));
    assert_eq!(w.val(id, 0), VMX);
}

#[test]
fn semop_eagain_only_when_the_blocking_operation_itself_has_ipc_nowait() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    assert_eq!(
        w.semop(&r, id, &[op(0, 1, 0), op(1, -1, NOWAIT)]),
        Err(Errno::EAGAIN)
    );
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        // IPC_NOWAIT on an operation that can proceed does not stop the caller from sleeping.
        let t = s.spawn(|| w.semop(&c, id, &[op(0, 1, NOWAIT), op(1, -1, 0)]));
        b.wait_until_sleeping();
        assert_eq!(w.vals(id), [0, 0]);
        w.semop(&r, id, &[op(1, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.vals(id), [1, 0]);
}

#[test]
fn semop_sets_sempid_of_every_semaphore_it_names_including_wait_for_zero_and_only_those() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 3, 0o600);
    let c = w.proc(77);
    w.semop(&c, id, &[op(0, 1, 0), op(1, 0, 0)]).unwrap();
    assert_eq!([w.pid(id, 0), w.pid(id, 1), w.pid(id, 2)], [77, 77, 0]);
    w.semop(&w.proc(78), id, &[op(1, 0, 0)]).unwrap();
    assert_eq!([w.pid(id, 0), w.pid(id, 1), w.pid(id, 2)], [77, 78, 0]);
}

#[test]
fn semop_sets_otime_also_for_pure_wait_for_zero_but_never_ctime() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.later(4);
    w.semop(&r, id, &[op(1, 0, 0)]).unwrap();
    let ds = w.stat(id);
    assert_eq!((ds.sem_otime, ds.sem_ctime), (T0 + 4, T0));
    w.later(2);
    w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
    let ds = w.stat(id);
    assert_eq!((ds.sem_otime, ds.sem_ctime), (T0 + 6, T0));
}

// ---------------------------------------------------------------------------------------------
// Sleeping: timeouts, interruption, removal

#[test]
fn semtimedop_zero_timeout_polls_and_fails_with_eagain() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    assert_eq!(
        w.ns.semtimedop(&r, id, &[op(0, -1, 0)], ts(0, 0)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(w.ncnt(id, 0), 0, "it left the queue");
    assert_eq!(w.ns.semtimedop(&r, id, &[op(0, 1, 0)], ts(0, 0)), Ok(()));
}

#[test]
fn semtimedop_expired_timeout_wins_over_a_pending_interruption() {
    // do_semtimedop: `if (timeout && jiffies_left == 0) error = -EAGAIN`, whatever woke it.
    let w = World::new();
    let (c, b) = w.caller(Credentials::root(), 100);
    let id = w.set(&c, 1, 0o600);
    b.interrupt();
    assert_eq!(
        w.ns.semtimedop(&c, id, &[op(0, -1, 0)], ts(0, 0)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(w.ncnt(id, 0), 0, "it left the queue");
    b.interrupt();
    assert_eq!(
        w.ns.semtimedop(&c, id, &[op(0, -1, 0)], ts(5, 0)),
        Err(Errno::EINTR),
        "before its deadline a signal is EINTR"
    );
}

#[test]
fn semtimedop_times_out_with_eagain_when_the_clock_reaches_the_deadline() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.semtimedop(&c, id, &[op(0, -1, 0)], ts(2, 500_000_000)));
        b.wait_until_sleeping();
        w.clock.advance(Duration::from_secs(2));
        assert_eq!(w.ncnt(id, 0), 1);
        w.clock.advance(Duration::from_millis(500));
        assert_eq!(t.join().unwrap(), Err(Errno::EAGAIN));
    });
    assert_eq!(w.ncnt(id, 0), 0);
    // The timed-out sleeper took nothing and is not served later.
    w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
    assert_eq!(w.val(id, 0), 1);
}

#[test]
fn semtimedop_with_the_largest_timeout_sleeps_on_the_system_clock_until_served() {
    // sec = i64::MAX puts the deadline beyond any `Instant`: it must wait, not panic.
    let ns = IpcNamespace::new();
    let r = Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()));
    let id = ns.semget(&r, abi::IPC_PRIVATE, 1, 0o600).unwrap();
    let b = Arc::new(ThreadBlocker::new());
    let c = Caller::new(Credentials::root(), 2, b.clone());
    thread::scope(|s| {
        let t = s.spawn(|| ns.semtimedop(&c, id, &[op(0, -1, 0)], ts(i64::MAX, 999_999_999)));
        while !b.is_sleeping() {
            assert!(
                !t.is_finished(),
                "the sleeper returned (or panicked) instead of waiting"
            );
            thread::yield_now();
        }
        ns.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

#[test]
fn semtimedop_keeps_its_deadline_across_a_wake_up_that_does_not_complete_it() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.semtimedop(&c, id, &[op(0, -2, 0)], ts(10, 0)));
        b.wait_until_sleeping();
        w.later(6);
        // A unit that is not enough: the sleeper is re-evaluated but not woken.
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!((b.sleeps(), w.ncnt(id, 0)), (1, 1));
        // A spurious wake-up: it sleeps again, towards the same deadline.
        b.wake();
        b.wait_for_sleep(2);
        w.later(4);
        assert_eq!(t.join().unwrap(), Err(Errno::EAGAIN));
    });
    assert_eq!((w.val(id, 0), w.ncnt(id, 0)), (1, 0));
}

#[test]
fn interrupted_semop_gets_eintr_and_leaves_the_queue() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0), op(1, 1, 0)]));
        b.wait_until_sleeping();
        b.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
    });
    assert_eq!(w.ncnt(id, 0), 0);
    w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
    assert_eq!(
        w.vals(id),
        [1, 0],
        "the interrupted operation is not performed later"
    );
}

#[test]
fn completed_operation_wins_against_a_late_interruption() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0)]));
        b.wait_until_sleeping();
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        b.interrupt();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.val(id, 0), 0);
}

#[test]
fn ipc_rmid_wakes_every_sleeper_with_eidrm() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 1, 1);
    let (c1, b1) = w.caller(Credentials::root(), 1);
    let (c2, b2) = w.caller(Credentials::root(), 2);
    let (c3, b3) = w.caller(Credentials::root(), 3);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.semop(&c1, id, &[op(0, -1, 0)]));
        b1.wait_until_sleeping();
        let t2 = s.spawn(|| w.semop(&c2, id, &[op(1, 0, 0)]));
        b2.wait_until_sleeping();
        let t3 = s.spawn(|| w.semop(&c3, id, &[op(1, 0, 0), op(0, -1, UNDO)]));
        b3.wait_until_sleeping();
        w.ns.semctl_rmid(&r, id).unwrap();
        for t in [t1, t2, t3] {
            assert_eq!(t.join().unwrap(), Err(Errno::EIDRM));
        }
    });
    assert_eq!(w.semop(&r, id, &[op(0, 1, 0)]), Err(Errno::EINVAL));
}

// ---------------------------------------------------------------------------------------------
// Wake-ups in Linux's order: the waker performs the sleepers' operations

#[test]
fn waker_performs_the_sleepers_operation_with_its_pid_and_sets_otime() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c, b) = w.caller(Credentials::root(), 7);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0)]));
        b.wait_until_sleeping();
        w.later(5);
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        // Already applied before the sleeper runs again.
        assert_eq!((w.val(id, 0), w.pid(id, 0), w.ncnt(id, 0)), (0, 7, 0));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.stat(id).sem_otime, T0 + 5);
}

#[test]
fn altering_sleepers_are_served_in_arrival_order() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c1, b1) = w.caller(Credentials::root(), 1);
    let (c2, b2) = w.caller(Credentials::root(), 2);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.semop(&c1, id, &[op(0, -1, 0)]));
        b1.wait_until_sleeping();
        let t2 = s.spawn(|| w.semop(&c2, id, &[op(0, -1, 0)]));
        b2.wait_until_sleeping();
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_served((w.pid(id, 0), w.ncnt(id, 0)), (1, 1), &[&b1, &b2]);
        assert_eq!(t1.join().unwrap(), Ok(()));
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(t2.join().unwrap(), Ok(()));
    });
    assert_eq!((w.val(id, 0), w.pid(id, 0)), (0, 2));
}

#[test]
fn a_later_sleeper_overtakes_an_earlier_one_that_still_cannot_proceed() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c1, b1) = w.caller(Credentials::root(), 1);
    let (c2, b2) = w.caller(Credentials::root(), 2);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.semop(&c1, id, &[op(0, -2, 0)]));
        b1.wait_until_sleeping();
        let t2 = s.spawn(|| w.semop(&c2, id, &[op(0, -1, 0)]));
        b2.wait_until_sleeping();
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        let state = (w.val(id, 0), w.pid(id, 0), w.ncnt(id, 0));
        assert_served(state, (0, 2, 1), &[&b1, &b2]);
        assert_eq!(t2.join().unwrap(), Ok(()));
        assert_eq!(b1.sleeps(), 1, "the earlier sleeper was not woken");
        w.semop(&r, id, &[op(0, 2, 0)]).unwrap();
        assert_eq!(t1.join().unwrap(), Ok(()));
    });
    assert_eq!((w.val(id, 0), w.pid(id, 0)), (0, 1));
}

#[test]
fn wait_for_zero_sleepers_are_served_before_altering_sleepers() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 0, 1);
    let (cz, bz) = w.caller(Credentials::root(), 1);
    let (ca, ba) = w.caller(Credentials::root(), 2);
    thread::scope(|s| {
        let tz = s.spawn(|| w.semop(&cz, id, &[op(0, 0, 0)]));
        bz.wait_until_sleeping();
        // Takes sem 1 and gives sem 0 back: served second, it makes sem 0 nonzero again.
        let ta = s.spawn(|| w.semop(&ca, id, &[op(1, -1, 0), op(0, 1, 0)]));
        ba.wait_until_sleeping();
        assert_eq!((w.zcnt(id, 0), w.ncnt(id, 1)), (1, 1));
        w.semop(&r, id, &[op(0, -1, 0), op(1, 1, 0)]).unwrap();
        let state = (w.zcnt(id, 0), w.ncnt(id, 1), w.vals(id));
        assert_served(state, (0, 0, vec![1, 0]), &[&bz, &ba]);
        assert_eq!(tz.join().unwrap(), Ok(()));
        assert_eq!(ta.join().unwrap(), Ok(()));
    });
    assert_eq!(w.vals(id), [1, 0]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (2, 2));
}

#[test]
fn complex_sleeper_is_served_only_when_every_operation_can_proceed() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let (c, b) = w.caller(Credentials::root(), 5);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0), op(1, -1, 0)]));
        b.wait_until_sleeping();
        assert_eq!((w.ncnt(id, 0), w.ncnt(id, 1)), (1, 0));
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        // Re-evaluated by the waker: now blocked on its second operation, nothing taken.
        assert_eq!((w.ncnt(id, 0), w.ncnt(id, 1)), (0, 1));
        assert_eq!((w.vals(id), b.sleeps()), (vec![1, 0], 1));
        w.semop(&r, id, &[op(1, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.vals(id), [0, 0]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (5, 5));
}

#[test]
fn an_earlier_sleeper_enabled_by_a_later_complex_one_is_served_by_the_same_waker() {
    // check_restart(): after a complex sleeper completes, the scan starts over, so a sleeper
    // queued before it and skipped a moment ago now gets what the complex one gave.
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let (c1, b1) = w.caller(Credentials::root(), 1);
    let (c2, b2) = w.caller(Credentials::root(), 2);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.semop(&c1, id, &[op(1, -1, 0)]));
        b1.wait_until_sleeping();
        let t2 = s.spawn(|| w.semop(&c2, id, &[op(0, -1, 0), op(1, 1, 0)]));
        b2.wait_until_sleeping();
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        let state = (w.vals(id), w.ncnt(id, 0), w.ncnt(id, 1));
        assert_served(state, (vec![0, 0], 0, 0), &[&b1, &b2]);
        assert_eq!(t2.join().unwrap(), Ok(()));
        assert_eq!(t1.join().unwrap(), Ok(()));
    });
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (2, 1));
}

#[test]
fn single_sleepers_keep_their_arrival_order_when_a_complex_sleeper_leaves() {
    // w1 sleeps on sem 0's queue; the complex sleeper merges it into the set's queue, where w2
    // then queues too; when the complex one gives up, both go back to sem 0's queue in order.
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let (c1, b1) = w.caller(Credentials::root(), 1);
    let (cc, bc) = w.caller(Credentials::root(), 2);
    let (c2, b2) = w.caller(Credentials::root(), 3);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.semop(&c1, id, &[op(0, -1, 0)]));
        b1.wait_until_sleeping();
        let tc = s.spawn(|| w.semop(&cc, id, &[op(0, -1, 0), op(1, -1, 0)]));
        bc.wait_until_sleeping();
        let t2 = s.spawn(|| w.semop(&c2, id, &[op(0, -1, 0)]));
        b2.wait_until_sleeping();
        assert_eq!(w.ncnt(id, 0), 3);
        bc.interrupt();
        assert_eq!(tc.join().unwrap(), Err(Errno::EINTR));
        assert_eq!((w.ncnt(id, 0), w.ncnt(id, 1)), (2, 0));
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_served((w.pid(id, 0), w.ncnt(id, 0)), (1, 1), &[&b1, &b2]);
        assert_eq!(t1.join().unwrap(), Ok(()));
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(t2.join().unwrap(), Ok(()));
    });
    assert_eq!((w.vals(id), w.pid(id, 0)), (vec![0, 0], 3));
}

#[test]
fn cancelled_complex_wait_for_zero_sleeper_leaves_the_queue() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 0, 1);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| {
            w.ns.semtimedop(&c, id, &[op(1, 0, 0), op(0, 0, 0)], ts(1, 0))
        });
        b.wait_until_sleeping();
        assert_eq!(w.zcnt(id, 0), 1);
        w.later(1);
        assert_eq!(t.join().unwrap(), Err(Errno::EAGAIN));
    });
    assert_eq!(w.zcnt(id, 0), 0);
    w.setval(id, 0, 0);
    assert_eq!(
        (w.pid(id, 0), w.pid(id, 1)),
        (100, 0),
        "not performed later"
    );
    assert_eq!(w.stat(id).sem_otime, 0);
}

#[test]
fn complex_wait_for_zero_sleeper_moves_its_blocking_operation_as_values_change() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.ns.semctl_setall(&r, id, |_| Ok(vec![1, 1])).unwrap();
    let (c, b) = w.caller(Credentials::root(), 5);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, 0, 0), op(1, 0, 0)]));
        b.wait_until_sleeping();
        assert_eq!((w.zcnt(id, 0), w.zcnt(id, 1)), (1, 0));
        w.setval(id, 0, 0);
        assert_served((w.zcnt(id, 0), w.zcnt(id, 1)), (0, 1), &[&b]);
        w.setval(id, 1, 0);
        assert_served(w.zcnt(id, 1), 0, &[&b]);
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (5, 5));
}

#[test]
fn getncnt_and_getzcnt_count_a_sleeper_only_on_its_blocking_operation() {
    // w1 {0,-1}, w2 {1,0}, w3 {{1,0},{0,-1}} with sem 1 = 1: NCNT(0) = 1, ZCNT(1) = 2; after
    // SETVAL(1, 0) w2 is done and w3 blocks on sem 0: NCNT(0) = 2.
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 1, 1);
    let (c1, b1) = w.caller(Credentials::root(), 1);
    let (c2, b2) = w.caller(Credentials::root(), 2);
    let (c3, b3) = w.caller(Credentials::root(), 3);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.semop(&c1, id, &[op(0, -1, 0)]));
        b1.wait_until_sleeping();
        let t2 = s.spawn(|| w.semop(&c2, id, &[op(1, 0, 0)]));
        b2.wait_until_sleeping();
        let t3 = s.spawn(|| w.semop(&c3, id, &[op(1, 0, 0), op(0, -1, 0)]));
        b3.wait_until_sleeping();
        let counts = |w: &World| [w.ncnt(id, 0), w.zcnt(id, 0), w.ncnt(id, 1), w.zcnt(id, 1)];
        assert_eq!(counts(&w), [1, 0, 0, 2]);
        w.setval(id, 1, 0);
        assert_served(counts(&w), [2, 0, 0, 0], &[&b1, &b2, &b3]);
        assert_eq!(t2.join().unwrap(), Ok(()));
        w.semop(&r, id, &[op(0, 2, 0)]).unwrap();
        assert_served(counts(&w), [0, 0, 0, 0], &[&b1, &b3]);
        assert_eq!(t1.join().unwrap(), Ok(()));
        assert_eq!(t3.join().unwrap(), Ok(()));
    });
    assert_eq!(w.vals(id), [0, 0]);
}

#[test]
fn sleeper_whose_operation_now_overflows_fails_with_erange() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0), op(1, 1, 0)]));
        b.wait_until_sleeping();
        w.setval(id, 1, VMX);
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Err(Errno::ERANGE));
    });
    assert_eq!(w.vals(id), [1, VMX as u16]);
    assert_eq!(w.ncnt(id, 0), 0);
}

#[test]
fn sleeper_whose_later_ipc_nowait_operation_now_blocks_fails_with_eagain() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 1, 1);
    let (c, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0), op(1, -1, NOWAIT)]));
        b.wait_until_sleeping();
        w.setval(id, 1, 0);
        assert_eq!(b.sleeps(), 1, "still blocked on its first operation");
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Err(Errno::EAGAIN));
    });
    assert_eq!(w.vals(id), [1, 0]);
}

#[test]
fn setval_serves_sleepers_and_sets_otime_only_when_one_completes() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.later(2);
    w.setval(id, 1, 3);
    assert_eq!(w.stat(id).sem_otime, 0, "SETVAL alone does not set otime");
    let (c, b) = w.caller(Credentials::root(), 9);
    let (z, bz) = w.caller(Credentials::root(), 10);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0)]));
        b.wait_until_sleeping();
        let tz = s.spawn(|| w.semop(&z, id, &[op(1, 0, 0)]));
        bz.wait_until_sleeping();
        w.later(4);
        w.setval(id, 0, 3);
        assert_served(w.ncnt(id, 0), 0, &[&b, &bz]);
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(w.stat(id).sem_otime, T0 + 6);
        w.later(1);
        w.setval(id, 1, 0);
        assert_served(w.zcnt(id, 1), 0, &[&bz]);
        assert_eq!(tz.join().unwrap(), Ok(()));
    });
    assert_eq!(w.vals(id), [2, 0]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (9, 10));
    let ds = w.stat(id);
    assert_eq!((ds.sem_otime, ds.sem_ctime), (T0 + 7, T0 + 7));
}

#[test]
fn setall_serves_sleepers() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let (c, b) = w.caller(Credentials::root(), 9);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -2, 0), op(1, -1, 0)]));
        b.wait_until_sleeping();
        w.ns.semctl_setall(&r, id, |_| Ok(vec![2, 3])).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.vals(id), [0, 2]);
}

// ---------------------------------------------------------------------------------------------
// SEM_UNDO

#[test]
fn undo_is_applied_when_the_last_clone_of_the_caller_is_dropped() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let main = w.proc(30);
    let thread2 = main.clone().with_tid(31);
    w.semop(&main, id, &[op(0, 3, UNDO)]).unwrap();
    w.semop(&thread2, id, &[op(0, -1, UNDO)]).unwrap();
    w.semop(&r, id, &[op(0, 4, 0)]).unwrap();
    drop(main);
    assert_eq!(w.val(id, 0), 6, "a thread exiting applies nothing");
    w.later(7);
    drop(thread2);
    assert_eq!(w.val(id, 0), 4, "the shared adjustment is -2");
    assert_eq!(w.pid(id, 0), 30);
    assert_eq!(w.stat(id).sem_otime, T0 + 7);
}

#[test]
fn a_new_caller_does_not_share_the_undo_list() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let parent = w.proc(30);
    let child = w.proc(31);
    w.semop(&parent, id, &[op(0, 3, UNDO)]).unwrap();
    w.semop(&child, id, &[op(0, -1, UNDO)]).unwrap();
    drop(child);
    assert_eq!(w.val(id, 0), 3);
    assert_eq!(w.pid(id, 0), 31);
    drop(parent);
    assert_eq!(w.val(id, 0), 0);
    assert_eq!(w.pid(id, 0), 30);
}

#[test]
fn exit_undo_clamps_values_to_zero_and_semvmx_and_sets_pid_only_where_adjusted() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 3, 0o600);
    let p = w.proc(40);
    // sem 0: +5 with undo, then someone else takes 4: undoing -5 would go below zero.
    w.semop(&p, id, &[op(0, 5, UNDO)]).unwrap();
    w.semop(&r, id, &[op(0, -4, 0)]).unwrap();
    // sem 1: -10 with undo, then someone else fills it: undoing +10 would exceed SEMVMX.
    w.semop(&r, id, &[op(1, 10, 0)]).unwrap();
    w.semop(&p, id, &[op(1, -10, UNDO)]).unwrap();
    w.semop(&r, id, &[op(1, VMX as i16, 0)]).unwrap();
    // sem 2: adjustments that cancel out.
    w.semop(&p, id, &[op(2, 1, UNDO), op(2, -1, UNDO)]).unwrap();
    w.semop(&r, id, &[op(2, 0, 0)]).unwrap();
    w.later(3);
    drop(p);
    assert_eq!(w.vals(id), [0, VMX as u16, 0]);
    assert_eq!([w.pid(id, 0), w.pid(id, 1), w.pid(id, 2)], [40, 40, 100]);
    assert_eq!(w.stat(id).sem_otime, T0 + 3);
}

#[test]
fn exit_undo_serves_sleepers() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    w.setval(id, 0, 1);
    let holder = w.proc(40);
    w.semop(&holder, id, &[op(0, -1, UNDO)]).unwrap();
    let (c, b) = w.caller(Credentials::root(), 41);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, 0)]));
        b.wait_until_sleeping();
        drop(holder);
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!((w.val(id, 0), w.pid(id, 0)), (0, 41));
}

#[test]
fn operation_performed_for_a_sleeper_records_its_undo() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let (c, b) = w.caller(Credentials::root(), 41);
    thread::scope(|s| {
        let t = s.spawn(|| w.semop(&c, id, &[op(0, -1, UNDO)]));
        b.wait_until_sleeping();
        w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.val(id, 0), 0);
    drop(c);
    assert_eq!((w.val(id, 0), w.pid(id, 0)), (1, 41));
}

#[test]
fn failed_undo_operation_leaves_the_adjustment_alone() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.setval(id, 0, 5);
    let p = w.proc(40);
    assert_eq!(
        w.semop(&p, id, &[op(0, -1, UNDO), op(1, -1, UNDO | NOWAIT)]),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        w.semop(&p, id, &[op(0, VMX as i16, UNDO)]),
        Err(Errno::ERANGE)
    );
    drop(p);
    assert_eq!(w.vals(id), [5, 0]);
    assert_eq!(w.pid(id, 0), 100);
}

#[test]
fn semadj_is_bounded_by_semaem_after_the_semvmx_check() {
    // Linux's sequence: +32767 UNDO (adj -32767); +1 UNDO -> ERANGE (SEMVMX); -1 without
    // UNDO; +1 UNDO -> ok (adj -32768); -1 without UNDO; +1 UNDO -> ERANGE (adj -32769).
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let p = w.proc(40);
    assert_eq!(w.semop(&p, id, &[op(0, VMX as i16, UNDO)]), Ok(()));
    assert_eq!(w.semop(&p, id, &[op(0, 1, UNDO)]), Err(Errno::ERANGE));
    w.semop(&r, id, &[op(0, -1, 0)]).unwrap();
    assert_eq!(w.semop(&p, id, &[op(0, 1, UNDO)]), Ok(()));
    assert_eq!(w.val(id, 0), VMX);
    w.semop(&r, id, &[op(0, -1, 0)]).unwrap();
    assert_eq!(w.semop(&p, id, &[op(0, 1, UNDO)]), Err(Errno::ERANGE));
    assert_eq!(w.val(id, 0), VMX - 1);
    drop(p);
    assert_eq!(w.val(id, 0), 0, "32766 - 32768 clamps to 0");
}

#[test]
fn semadj_above_semaem_is_erange() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    w.setval(id, 0, VMX);
    let p = w.proc(40);
    assert_eq!(w.semop(&p, id, &[op(0, -(VMX as i16), UNDO)]), Ok(()));
    w.semop(&r, id, &[op(0, 1, 0)]).unwrap();
    assert_eq!(w.semop(&p, id, &[op(0, -1, UNDO)]), Err(Errno::ERANGE));
    assert_eq!(
        w.semop(&p, id, &[op(0, -1, 0)]),
        Ok(()),
        "without undo it fits"
    );
    drop(p);
    assert_eq!(w.val(id, 0), VMX, "0 + 32767");
}

#[test]
fn setval_zeroes_that_semaphores_adjustment_in_every_process() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let p1 = w.proc(31);
    let p2 = w.proc(32);
    w.semop(&p1, id, &[op(0, 2, UNDO), op(1, 2, UNDO)]).unwrap();
    w.semop(&p2, id, &[op(0, 3, UNDO)]).unwrap();
    w.setval(id, 0, 4);
    drop(p1);
    drop(p2);
    assert_eq!(w.vals(id), [4, 0]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (100, 31));
}

#[test]
fn setall_zeroes_every_adjustment() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let p = w.proc(31);
    w.semop(&p, id, &[op(0, 2, UNDO), op(1, 2, UNDO)]).unwrap();
    w.ns.semctl_setall(&r, id, |_| Ok(vec![7, 7])).unwrap();
    drop(p);
    assert_eq!(w.vals(id), [7, 7]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (100, 100));
}

#[test]
fn ipc_rmid_discards_adjustments_and_a_new_set_with_the_same_id_does_not_inherit_them() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    let p = w.proc(31);
    w.semop(&p, id, &[op(0, 5, UNDO)]).unwrap();
    w.ns.semctl_rmid(&r, id).unwrap();
    w.ns.set_sem_next_id(i64::from(id)).unwrap();
    assert_eq!(w.set(&r, 1, 0o600), id);
    w.setval(id, 0, 5);
    drop(p);
    assert_eq!((w.val(id, 0), w.pid(id, 0)), (5, 100));
}

#[test]
fn unshare_undo_applies_the_list_only_if_the_caller_was_its_last_sharer() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    w.setval(id, 0, 10);
    let mut p = w.proc(40);
    let sibling = p.clone().with_tid(41);
    w.semop(&p, id, &[op(0, 2, UNDO)]).unwrap();
    assert_eq!(p.undo.sharers(), 2);
    p.unshare_undo();
    assert_eq!(w.val(id, 0), 12, "the sibling still holds the list");
    assert_eq!(p.undo.sharers(), 1);
    w.semop(&p, id, &[op(0, 1, UNDO)]).unwrap();
    drop(sibling);
    assert_eq!(w.val(id, 0), 11, "the old list: -2");
    p.unshare_undo();
    assert_eq!(w.val(id, 0), 10, "the new list, sole sharer: -1");
}

// ---------------------------------------------------------------------------------------------
// semctl

#[test]
fn get_commands_check_read_permission_before_the_semaphore_number() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    let u = w.user(1000, 1000);
    for cmd in [
        SemCtlCmd::GetVal,
        SemCtlCmd::GetPid,
        SemCtlCmd::GetNcnt,
        SemCtlCmd::GetZcnt,
    ] {
        assert_eq!(
            w.ns.semctl_get(&u, id, 9, cmd),
            Err(Errno::EACCES),
            "{cmd:?}"
        );
        assert_eq!(
            w.ns.semctl_get(&r, id, 2, cmd),
            Err(Errno::EINVAL),
            "{cmd:?}"
        );
        assert_eq!(
            w.ns.semctl_get(&r, id, -1, cmd),
            Err(Errno::EINVAL),
            "{cmd:?}"
        );
        assert_eq!(w.ns.semctl_get(&r, id, 1, cmd), Ok(0), "{cmd:?}");
        assert_eq!(w.ns.semctl_get(&r, id + 1, 0, cmd), Err(Errno::EINVAL));
    }
}

#[test]
fn setval_range_is_checked_before_the_lookup() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    assert_eq!(w.ns.semctl_setval(&r, 99999, 0, 32768), Err(Errno::ERANGE));
    assert_eq!(w.ns.semctl_setval(&r, 99999, 0, -1), Err(Errno::ERANGE));
    assert_eq!(w.ns.semctl_setval(&r, 99999, 0, 1), Err(Errno::EINVAL));
    assert_eq!(w.ns.semctl_setval(&r, id, 0, VMX + 1), Err(Errno::ERANGE));
    assert_eq!(w.ns.semctl_setval(&r, id, 0, VMX), Ok(()));
    assert_eq!(w.ns.semctl_setval(&r, id, 0, 0), Ok(()));
}

#[test]
fn semctl_negative_id_is_einval_before_every_other_check() {
    let w = World::new();
    let r = w.root();
    assert_eq!(w.ns.semctl_setval(&r, -1, 0, 32768), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.semctl_get(&r, -1, 0, SemCtlCmd::GetVal),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.ns.semctl_getall(&r, -1), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.semctl_setall(&r, -1, |_| Ok(vec![40000])),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.ns.semctl_rmid(&r, -1), Err(Errno::EINVAL));
    for cmd in [SemCtlCmd::Stat, SemCtlCmd::SemStat, SemCtlCmd::SemStatAny] {
        assert_eq!(
            w.ns.semctl_stat(&r, -1, cmd).map(|x| x.0),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(
        w.ns.semctl_set(&r, -1, &Semid64Ds::default()),
        Err(Errno::EINVAL)
    );
}

#[test]
fn setval_checks_the_semaphore_number_before_write_permission() {
    let w = World::new();
    let id = w.set(&w.root(), 1, 0o644);
    let u = w.user(1000, 1000);
    assert_eq!(w.ns.semctl_setval(&u, id, 9, 1), Err(Errno::EINVAL));
    assert_eq!(w.ns.semctl_setval(&u, id, -1, 1), Err(Errno::EINVAL));
    assert_eq!(w.ns.semctl_setval(&u, id, 0, 1), Err(Errno::EACCES));
}

#[test]
fn setval_sets_value_pid_and_ctime_but_not_otime() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o600);
    w.later(3);
    w.ns.semctl_setval(&w.proc(55), id, 1, 9).unwrap();
    assert_eq!(w.vals(id), [0, 9]);
    assert_eq!((w.pid(id, 0), w.pid(id, 1)), (0, 55));
    let ds = w.stat(id);
    assert_eq!((ds.sem_otime, ds.sem_ctime), (0, T0 + 3));
}

#[test]
fn getall_returns_every_value_and_needs_read_permission() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 3, 0o600);
    w.semop(&r, id, &[op(0, 1, 0), op(2, 3, 0)]).unwrap();
    assert_eq!(w.ns.semctl_getall(&r, id), Ok(vec![1, 0, 3]));
    assert_eq!(
        w.ns.semctl_getall(&w.user(1000, 1000), id),
        Err(Errno::EACCES)
    );
    assert_eq!(w.ns.semctl_getall(&r, id + 1), Err(Errno::EINVAL));
}

#[test]
fn setall_checks_permission_then_reads_the_values_then_their_range() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 2, 0o644);
    let u = w.user(1000, 1000);
    let mut read = false;
    assert_eq!(
        w.ns.semctl_setall(&u, id, |_| {
            read = true;
            Ok(vec![1, 1])
        }),
        Err(Errno::EACCES)
    );
    assert!(!read, "the array is not read without permission");
    assert_eq!(
        w.ns.semctl_setall(&r, id, |_| Err(Errno::EFAULT)),
        Err(Errno::EFAULT)
    );
    let mut asked = 0;
    assert_eq!(
        w.ns.semctl_setall(&r, id, |n| {
            asked = n;
            Ok(vec![1, 32768])
        }),
        Err(Errno::ERANGE)
    );
    assert_eq!(asked, 2, "the closure is told nsems");
    assert_eq!(w.vals(id), [0, 0]);
    assert_eq!(w.stat(id).sem_ctime, T0, "nothing changed");
}

#[test]
fn setall_sets_every_value_pid_and_ctime_but_not_otime() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 3, 0o600);
    w.later(2);
    w.ns.semctl_setall(&w.proc(66), id, |_| Ok(vec![1, VMX as u16, 0]))
        .unwrap();
    assert_eq!(w.vals(id), [1, VMX as u16, 0]);
    assert_eq!([w.pid(id, 0), w.pid(id, 1), w.pid(id, 2)], [66, 66, 66]);
    let ds = w.stat(id);
    assert_eq!((ds.sem_otime, ds.sem_ctime), (0, T0 + 2));
}

#[test]
fn ipc_stat_reports_latest_otime_of_any_semaphore_ctime_nsems_and_zero_reserved_fields() {
    let w = World::new();
    let r = w.root();
    w.later(1);
    let id = w.ns.semget(&r, 42, 3, abi::IPC_CREAT | 0o640).unwrap();
    w.later(1);
    w.semop(&r, id, &[op(2, 1, 0)]).unwrap();
    w.later(2);
    w.semop(&r, id, &[op(1, 1, 0), op(0, 1, 0)]).unwrap();
    w.later(1);
    w.semop(&r, id, &[op(2, -1, 0)]).unwrap();
    let (ret, ds) = w.ns.semctl_stat(&r, id, SemCtlCmd::Stat).unwrap();
    assert_eq!(ret, 0);
    let expected = Semid64Ds {
        sem_perm: Ipc64Perm {
            key: 42,
            mode: 0o640,
            ..Ipc64Perm::default()
        },
        sem_otime: T0 + 5,
        sem_ctime: T0 + 1,
        sem_nsems: 3,
        ..Semid64Ds::default()
    };
    assert_eq!(ds, expected);
    assert_eq!(
        w.ns.semctl_stat(&w.user(1000, 1000), id, SemCtlCmd::Stat)
            .map(|x| x.0),
        Err(Errno::EACCES)
    );
    assert!(
        w.ns.semctl_stat(&w.user(1000, 0), id, SemCtlCmd::Stat)
            .is_ok()
    );
}

#[test]
fn ipc_set_changes_owner_group_mode_and_ctime_only() {
    let w = World::new();
    let owner = w.caller(Credentials::user(1000, 1000), 1).0;
    let id = w.ns.semget(&owner, 42, 1, abi::IPC_CREAT | 0o600).unwrap();
    w.later(5);
    w.ipc_set(&owner, id, |p| {
        p.uid = 2000;
        p.gid = 3000;
        p.mode = 0o7664;
        p.cuid = 9;
        p.key = 9;
    })
    .unwrap();
    let ds = w.stat(id);
    let p = ds.sem_perm;
    assert_eq!(
        (p.key, p.uid, p.gid, p.cuid, p.cgid, p.mode),
        (42, 2000, 3000, 1000, 1000, 0o664)
    );
    assert_eq!((ds.sem_ctime, ds.sem_otime, ds.sem_nsems), (T0 + 5, 0, 1));
}

#[test]
fn ipc_set_by_neither_owner_nor_creator_is_eperm_and_cap_sys_admin_may() {
    let w = World::new();
    let owner = w.caller(Credentials::user(1000, 1000), 1).0;
    let id = w.ns.semget(&owner, 42, 1, abi::IPC_CREAT | 0o666).unwrap();
    // CAP_IPC_OWNER bypasses permission checks, not ownership.
    let other = w
        .caller(
            Credentials::user(2000, 1000).with_caps(Capabilities::IPC_OWNER),
            2,
        )
        .0;
    assert_eq!(w.ipc_set(&other, id, |p| p.mode = 0o600), Err(Errno::EPERM));
    assert_eq!(
        w.ipc_set(&other, id, |p| p.uid = u32::MAX),
        Err(Errno::EPERM),
        "EPERM before the uid check"
    );
    assert_eq!(
        w.ipc_set(&owner, id, |p| p.uid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.ipc_set(&owner, id, |p| p.gid = u32::MAX),
        Err(Errno::EINVAL)
    );
    let admin = w
        .caller(
            Credentials::user(3000, 3000).with_caps(Capabilities::SYS_ADMIN),
            3,
        )
        .0;
    w.ipc_set(&admin, id, |p| p.uid = 2000).unwrap();
    // Now the new owner and the creator may both.
    w.ipc_set(&other, id, |p| p.mode = 0o640).unwrap();
    w.ipc_set(&owner, id, |p| p.mode = 0o600).unwrap();
    assert_eq!(w.stat(id).sem_perm.mode, 0o600);
}

#[test]
fn ipc_rmid_needs_owner_creator_or_cap_sys_admin() {
    let w = World::new();
    let owner = w.caller(Credentials::user(1000, 1000), 1).0;
    let a = w.set(&owner, 1, 0o666);
    let b = w.set(&owner, 1, 0o666);
    let other = w.user(2000, 1000);
    assert_eq!(w.ns.semctl_rmid(&other, a), Err(Errno::EPERM));
    w.ns.semctl_rmid(&owner, a).unwrap();
    let admin = w
        .caller(
            Credentials::user(3000, 3000).with_caps(Capabilities::SYS_ADMIN),
            3,
        )
        .0;
    w.ns.semctl_rmid(&admin, b).unwrap();
    assert!(w.ns.sem().is_empty());
}

#[test]
fn second_ipc_rmid_is_einval_and_so_is_every_later_use() {
    let w = World::new();
    let r = w.root();
    let id = w.ns.semget(&r, 42, 2, abi::IPC_CREAT | 0o600).unwrap();
    w.ns.semctl_rmid(&r, id).unwrap();
    assert_eq!(w.ns.semctl_rmid(&r, id), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.semctl_get(&r, id, 0, SemCtlCmd::GetVal),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.ns.semctl_setval(&r, id, 0, 1), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.semctl_stat(&r, id, SemCtlCmd::Stat).map(|x| x.0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.ns.semget(&r, 42, 1, 0),
        Err(Errno::ENOENT),
        "the key is free"
    );
    let (_, info) = w.ns.semctl_info(0, SemCtlCmd::SemInfo).unwrap();
    assert_eq!((info.semusz, info.semaem), (0, 0));
}

#[test]
fn ipc_info_reports_limits_and_highest_used_index() {
    let w = World::new();
    let r = w.root();
    let expected = abi::Seminfo {
        semmap: 1_024_000_000,
        semmni: 32000,
        semmns: 1_024_000_000,
        semmnu: 1_024_000_000,
        semmsl: 32000,
        semopm: 500,
        semume: 500,
        semusz: 20,
        semvmx: 32767,
        semaem: 32767,
    };
    assert_eq!(w.ns.semctl_info(0, SemCtlCmd::IpcInfo), Ok((0, expected)));
    w.set(&r, 3, 0o600);
    w.ns.set_sem_next_id(7).unwrap();
    w.set(&r, 4, 0o600);
    assert_eq!(w.ns.semctl_info(0, SemCtlCmd::IpcInfo), Ok((7, expected)));
    w.ns.semctl_rmid(&r, 7).unwrap();
    assert_eq!(w.ns.semctl_info(0, SemCtlCmd::IpcInfo), Ok((0, expected)));
}

#[test]
fn sem_info_reports_set_and_semaphore_counts_in_semusz_and_semaem() {
    let w = World::new();
    let r = w.root();
    let a = w.set(&r, 3, 0o600);
    let b = w.set(&r, 4, 0o600);
    let (max, info) = w.ns.semctl_info(0, SemCtlCmd::SemInfo).unwrap();
    assert_eq!((max, info.semusz, info.semaem), (1, 2, 7));
    assert_eq!(
        (info.semmap, info.semmni, info.semmns, info.semmnu),
        (1_024_000_000, 32000, 1_024_000_000, 1_024_000_000)
    );
    assert_eq!(
        (info.semmsl, info.semopm, info.semume, info.semvmx),
        (32000, 500, 500, 32767)
    );
    w.ns.semctl_rmid(&r, b).unwrap();
    let (max, info) = w.ns.semctl_info(0, SemCtlCmd::SemInfo).unwrap();
    assert_eq!((max, info.semusz, info.semaem), (a, 1, 3));
}

#[test]
fn info_commands_ignore_the_id_but_refuse_negative_ones() {
    let w = World::new();
    for cmd in [SemCtlCmd::IpcInfo, SemCtlCmd::SemInfo] {
        assert!(w.ns.semctl_info(123_456, cmd).is_ok());
        assert_eq!(w.ns.semctl_info(-1, cmd).map(|x| x.0), Err(Errno::EINVAL));
    }
}

#[test]
fn sem_stat_takes_an_index_and_returns_the_full_id() {
    let w = World::new();
    let r = w.root();
    let full = (2 << 15) | 5;
    w.ns.set_sem_next_id(i64::from(full)).unwrap();
    assert_eq!(w.set(&r, 2, 0o600), full);
    let (id, ds) = w.ns.semctl_stat(&r, 5, SemCtlCmd::SemStat).unwrap();
    assert_eq!((id, ds.sem_perm.seq, ds.sem_nsems), (full, 2, 2));
    assert_eq!(ds, w.stat(full));
    assert_eq!(
        w.ns.semctl_stat(&r, full, SemCtlCmd::SemStat).map(|x| x.0),
        Ok(full),
        "only the index bits count"
    );
    assert_eq!(
        w.ns.semctl_stat(&r, 5, SemCtlCmd::Stat).map(|x| x.0),
        Err(Errno::EINVAL),
        "IPC_STAT takes an id"
    );
    assert_eq!(
        w.ns.semctl_stat(&r, 4, SemCtlCmd::SemStat).map(|x| x.0),
        Err(Errno::EINVAL)
    );
}

#[test]
fn sem_stat_needs_read_permission_and_sem_stat_any_does_not() {
    let w = World::new();
    let id = w.set(&w.root(), 1, 0o600);
    let u = w.user(1000, 1000);
    assert_eq!(
        w.ns.semctl_stat(&u, id, SemCtlCmd::SemStat).map(|x| x.0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        w.ns.semctl_stat(&u, id, SemCtlCmd::SemStatAny).map(|x| x.0),
        Ok(id)
    );
}

#[test]
fn semctl_unknown_commands_and_ipc_64_are_einval() {
    for cmd in [
        -1,
        4,
        5,
        10,
        21,
        99,
        abi::IPC_64 | abi::IPC_STAT,
        abi::IPC_64 | abi::GETVAL,
    ] {
        assert_eq!(SemCtlCmd::try_from(cmd), Err(Errno::EINVAL), "cmd {cmd}");
    }
    let known = [
        (abi::IPC_RMID, SemCtlCmd::Rmid),
        (abi::IPC_SET, SemCtlCmd::Set),
        (abi::IPC_STAT, SemCtlCmd::Stat),
        (abi::IPC_INFO, SemCtlCmd::IpcInfo),
        (abi::GETPID, SemCtlCmd::GetPid),
        (abi::GETVAL, SemCtlCmd::GetVal),
        (abi::GETALL, SemCtlCmd::GetAll),
        (abi::GETNCNT, SemCtlCmd::GetNcnt),
        (abi::GETZCNT, SemCtlCmd::GetZcnt),
        (abi::SETVAL, SemCtlCmd::SetVal),
        (abi::SETALL, SemCtlCmd::SetAll),
        (abi::SEM_STAT, SemCtlCmd::SemStat),
        (abi::SEM_INFO, SemCtlCmd::SemInfo),
        (abi::SEM_STAT_ANY, SemCtlCmd::SemStatAny),
    ];
    for (cmd, want) in known {
        assert_eq!(SemCtlCmd::try_from(cmd), Ok(want), "cmd {cmd}");
    }
}

#[test]
fn semctl_entry_points_refuse_commands_of_another_kind() {
    let w = World::new();
    let r = w.root();
    let id = w.set(&r, 1, 0o600);
    assert_eq!(
        w.ns.semctl_get(&r, id, 0, SemCtlCmd::SetVal),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.ns.semctl_stat(&r, id, SemCtlCmd::GetAll).map(|x| x.0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.ns.semctl_info(0, SemCtlCmd::Stat).map(|x| x.0),
        Err(Errno::EINVAL)
    );
}

// ---------------------------------------------------------------------------------------------
// Round trip and threads

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

/// A tiny xorshift generator: deterministic, no dependency.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn p_and_v_on_threads_lose_no_unit_and_keep_mutual_exclusion() {
    const WORKERS: i32 = 6;
    const ROUNDS: usize = 1500;
    let ns = IpcNamespace::new();
    let process = |pid| Caller::new(Credentials::root(), pid, Arc::new(ThreadBlocker::new()));
    let owner = process(1);
    let id = ns
        .semget(&owner, abi::IPC_PRIVATE, 4, abi::IPC_CREAT | 0o600)
        .unwrap();
    // sem 0: a mutex; sem 1 and sem 3: pools of 2 and 3 taken together; sem 2: a counter that
    // producers raise and consumers lower.
    ns.semctl_setall(&owner, id, |_| Ok(vec![1, 2, 0, 3]))
        .unwrap();
    let in_mutex = AtomicUsize::new(0);
    let in_pool = AtomicUsize::new(0);
    thread::scope(|s| {
        for i in 0..WORKERS {
            let (ns, in_mutex, in_pool) = (&ns, &in_mutex, &in_pool);
            s.spawn(move || {
                let c = process(10 + i);
                let undo = if i % 3 == 0 { UNDO } else { 0 };
                let mut seed = 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1);
                for _ in 0..ROUNDS {
                    ns.semop(&c, id, &[op(0, -1, undo)]).unwrap();
                    assert_eq!(in_mutex.fetch_add(1, Ordering::SeqCst), 0);
                    if next(&mut seed) % 4 == 0 {
                        thread::yield_now();
                    }
                    in_mutex.fetch_sub(1, Ordering::SeqCst);
                    ns.semop(&c, id, &[op(0, 1, undo)]).unwrap();

                    ns.semop(&c, id, &[op(1, -1, undo), op(3, -1, undo)])
                        .unwrap();
                    assert!(in_pool.fetch_add(1, Ordering::SeqCst) < 2);
                    in_pool.fetch_sub(1, Ordering::SeqCst);
                    ns.semop(&c, id, &[op(3, 1, undo), op(1, 1, undo)]).unwrap();

                    // Even workers produce, odd ones consume (and may sleep).
                    let delta = if i % 2 == 0 { 1 } else { -1 };
                    ns.semop(&c, id, &[op(2, delta, 0)]).unwrap();
                }
                if undo != 0 {
                    // Exit holding a unit of the pool: SEM_UNDO gives it back, waking whoever
                    // waits for it.
                    ns.semop(&c, id, &[op(1, -1, UNDO)]).unwrap();
                }
            });
        }
    });
    assert_eq!(ns.semctl_getall(&owner, id), Ok(vec![1, 2, 0, 3]));
    for n in 0..4 {
        assert_eq!(ns.semctl_get(&owner, id, n, SemCtlCmd::GetNcnt), Ok(0));
        assert_eq!(ns.semctl_get(&owner, id, n, SemCtlCmd::GetZcnt), Ok(0));
    }
}

#[test]
fn interrupting_sleepers_at_random_loses_and_duplicates_no_unit() {
    const UNITS: u32 = 3000;
    const CONSUMERS: usize = 3;
    let ns = IpcNamespace::new();
    let blockers: Vec<Arc<ThreadBlocker>> = (0..CONSUMERS)
        .map(|_| Arc::new(ThreadBlocker::new()))
        .collect();
    let root = Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()));
    let id = ns
        .semget(&root, abi::IPC_PRIVATE, 2, abi::IPC_CREAT | 0o600)
        .unwrap();
    let done = AtomicBool::new(false);
    let (taken, interrupted): (u32, usize) = thread::scope(|s| {
        let consumers: Vec<_> = blockers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let c = Caller::new(Credentials::root(), 10 + i as i32, b.clone());
                let ns = &ns;
                s.spawn(move || {
                    // Odd consumers take a unit with a complex operation (sem 1 stays 0).
                    let sops = if i % 2 == 0 {
                        vec![op(0, -1, 0)]
                    } else {
                        vec![op(1, 0, 0), op(0, -1, 0)]
                    };
                    let (mut taken, mut interrupted) = (0u32, 0usize);
                    loop {
                        match ns.semop(&c, id, &sops) {
                            Ok(()) => taken += 1,
                            Err(Errno::EINTR) => interrupted += 1,
                            Err(Errno::EIDRM | Errno::EINVAL) => break,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    (taken, interrupted)
                })
            })
            .collect();
        let chaos = s.spawn(|| {
            let mut seed = 0x2545_f491_4f6c_dd1d_u64;
            while !done.load(Ordering::SeqCst) {
                blockers[next(&mut seed) as usize % CONSUMERS].interrupt();
                thread::yield_now();
            }
        });
        let mut given = 0;
        let mut seed = 7u64;
        let queued = || ns.semctl_get(&root, id, 0, SemCtlCmd::GetNcnt).unwrap();
        while given < UNITS {
            // Mostly give to sleepers, so that interruptions race with completions.
            for _ in 0..1000 {
                if queued() > 0 {
                    break;
                }
                thread::yield_now();
            }
            let n = (1 + next(&mut seed) % 3).min(u64::from(UNITS - given)) as i16;
            ns.semop(&root, id, &[op(0, n, 0)]).unwrap();
            given += n as u32;
        }
        // Every unit has been taken once the value is back to 0; then stop the chaos and
        // remove the set, which ends every consumer.
        while ns.semctl_get(&root, id, 0, SemCtlCmd::GetVal) != Ok(0) {
            thread::yield_now();
        }
        done.store(true, Ordering::SeqCst);
        chaos.join().unwrap();
        ns.semctl_rmid(&root, id).unwrap();
        consumers
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |(t, n), (tk, i)| (t + tk, n + i))
    });
    assert_eq!(taken, UNITS);
    println!("{interrupted} interruptions");
}
