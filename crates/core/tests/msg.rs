//! Message queues, one test per rule of Linux's behaviour (`ipc/msg.c`, `man 2 msgop`,
//! `man 2 msgctl`). Blocking tests use `ManualBlocker`: they wait until the other thread is
//! asleep instead of sleeping themselves.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sysvipc::abi::{self, Msqid64Ds};
use sysvipc::{
    Caller, Capabilities, Credentials, Errno, IpcNamespace, ManualBlocker, ManualClock, Message,
    MsgCtlCmd, ThreadBlocker,
};

const T0: i64 = 1_700_000_000;
const NOWAIT: i32 = abi::IPC_NOWAIT;

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

    fn root(&self) -> Caller {
        self.caller(Credentials::root(), 100).0
    }

    fn user(&self, uid: u32, gid: u32) -> Caller {
        self.caller(Credentials::user(uid, gid), 200 + uid as i32).0
    }

    fn later(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    fn queue(&self, c: &Caller, mode: i32) -> i32 {
        self.ns
            .msgget(c, abi::IPC_PRIVATE, abi::IPC_CREAT | mode)
            .unwrap()
    }

    fn send(&self, c: &Caller, id: i32, mtype: i64, text: &[u8]) -> Result<(), Errno> {
        self.ns
            .msgsnd(c, id, Message::new(mtype, text.to_vec()), NOWAIT)
    }

    fn recv(
        &self,
        c: &Caller,
        id: i32,
        size: i64,
        msgtyp: i64,
        flags: i32,
    ) -> Result<(i64, Vec<u8>), Errno> {
        self.ns
            .msgrcv(c, id, size, msgtyp, flags | NOWAIT)
            .map(|m| (m.mtype, m.text))
    }

    fn stat(&self, id: i32) -> Msqid64Ds {
        self.ns
            .msgctl_stat(&self.root(), id, MsgCtlCmd::Stat)
            .unwrap()
            .1
    }

    fn set(&self, c: &Caller, id: i32, edit: impl FnOnce(&mut Msqid64Ds)) -> Result<(), Errno> {
        let mut ds = self.stat(id);
        edit(&mut ds);
        self.ns.msgctl_set(c, id, &ds)
    }
}

fn no_caps(uid: u32, gid: u32) -> Credentials {
    Credentials::user(uid, gid)
}

// ---------------------------------------------------------------------------------------------
// msgget

#[test]
fn msgget_private_key_always_creates_a_new_queue() {
    let w = World::new();
    let r = w.root();
    let flags = abi::IPC_CREAT | abi::IPC_EXCL | 0o600;
    let a = w.ns.msgget(&r, abi::IPC_PRIVATE, flags).unwrap();
    let b = w.ns.msgget(&r, abi::IPC_PRIVATE, 0).unwrap();
    assert_eq!((a, b), (0, 1));
}

#[test]
fn msgget_missing_key_without_ipc_creat_is_enoent() {
    let w = World::new();
    assert_eq!(w.ns.msgget(&w.root(), 42, 0o600), Err(Errno::ENOENT));
    assert_eq!(
        w.ns.msgget(&w.root(), 42, abi::IPC_EXCL),
        Err(Errno::ENOENT)
    );
}

#[test]
fn msgget_existing_key_returns_its_id_and_ipc_excl_gives_eexist() {
    let w = World::new();
    let r = w.root();
    let id = w.ns.msgget(&r, 42, abi::IPC_CREAT | 0o600).unwrap();
    assert_eq!(w.ns.msgget(&r, 42, 0), Ok(id));
    assert_eq!(w.ns.msgget(&r, 42, abi::IPC_CREAT), Ok(id));
    assert_eq!(w.ns.msgget(&r, 42, abi::IPC_EXCL), Ok(id));
    assert_eq!(
        w.ns.msgget(&r, 42, abi::IPC_CREAT | abi::IPC_EXCL),
        Err(Errno::EEXIST)
    );
}

#[test]
fn msgget_eexist_precedes_eacces() {
    let w = World::new();
    w.ns.msgget(&w.root(), 42, abi::IPC_CREAT).unwrap();
    let u = w.user(1000, 1000);
    assert_eq!(
        w.ns.msgget(&u, 42, abi::IPC_CREAT | abi::IPC_EXCL | 0o600),
        Err(Errno::EEXIST)
    );
}

#[test]
fn msgget_existing_key_checks_requested_mode_bits() {
    let w = World::new();
    w.ns.msgget(&w.root(), 42, abi::IPC_CREAT | 0o640).unwrap();
    let other = w.user(1000, 1000);
    assert_eq!(w.ns.msgget(&other, 42, 0o400), Err(Errno::EACCES));
    assert_eq!(w.ns.msgget(&other, 42, 0o004), Err(Errno::EACCES));
    assert!(
        w.ns.msgget(&other, 42, 0).is_ok(),
        "flag 0 requests nothing"
    );
    let group = w.user(1000, 0);
    assert!(w.ns.msgget(&group, 42, 0o040).is_ok());
    assert_eq!(w.ns.msgget(&group, 42, 0o020), Err(Errno::EACCES));
}

#[test]
fn msgget_stores_low_nine_mode_bits_without_umask_and_caller_as_owner_and_creator() {
    let w = World::new();
    let c = w
        .caller(
            Credentials::user(1000, 2000).with_caps(Capabilities::empty()),
            7,
        )
        .0;
    let id = w.ns.msgget(&c, 42, abi::IPC_CREAT | 0o7777).unwrap();
    let p = w.stat(id).msg_perm;
    assert_eq!(
        (p.key, p.mode, p.uid, p.gid, p.cuid, p.cgid),
        (42, 0o777, 1000, 2000, 1000, 2000)
    );
}

#[test]
fn new_queue_has_ctime_now_and_msgmnb_capacity() {
    let w = World::new();
    w.ns.limits().set_msgmnb(4096).unwrap();
    let id = w.queue(&w.root(), 0o600);
    let ds = w.stat(id);
    assert_eq!((ds.msg_stime, ds.msg_rtime, ds.msg_ctime), (0, 0, T0));
    assert_eq!((ds.msg_qnum, ds.msg_cbytes, ds.msg_qbytes), (0, 0, 4096));
    assert_eq!((ds.msg_lspid, ds.msg_lrpid), (0, 0));
}

#[test]
fn msgget_enospc_at_msgmni_only_when_creating() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_msgmni(2).unwrap();
    w.ns.msgget(&r, 1, abi::IPC_CREAT).unwrap();
    w.ns.msgget(&r, abi::IPC_PRIVATE, 0).unwrap();
    assert_eq!(w.ns.msgget(&r, 2, abi::IPC_CREAT), Err(Errno::ENOSPC));
    assert_eq!(w.ns.msgget(&r, abi::IPC_PRIVATE, 0), Err(Errno::ENOSPC));
    w.ns.limits().set_msgmni(0).unwrap();
    assert!(
        w.ns.msgget(&r, 1, abi::IPC_CREAT).is_ok(),
        "lookups ignore msgmni"
    );
}

#[test]
fn msgget_honours_msg_next_id_once() {
    let w = World::new();
    let r = w.root();
    w.ns.set_msg_next_id(12345).unwrap();
    assert_eq!(w.queue(&r, 0), 12345);
    assert_eq!(w.ns.msg_next_id(), -1);
    assert_eq!(w.queue(&r, 0), 0);
}

#[test]
fn removed_key_can_be_created_again_with_a_new_id() {
    let w = World::new();
    let r = w.root();
    let a = w.ns.msgget(&r, 42, abi::IPC_CREAT).unwrap();
    w.ns.msgctl_rmid(&r, a).unwrap();
    assert_eq!(w.ns.msgget(&r, 42, 0), Err(Errno::ENOENT));
    let b = w.ns.msgget(&r, 42, abi::IPC_CREAT).unwrap();
    assert_ne!(a, b);
}

// ---------------------------------------------------------------------------------------------
// msgsnd

#[test]
fn msgsnd_type_below_one_is_einval() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    assert_eq!(w.send(&r, id, 0, b"x"), Err(Errno::EINVAL));
    assert_eq!(w.send(&r, id, -1, b"x"), Err(Errno::EINVAL));
}

#[test]
fn msgsnd_text_above_msgmax_is_einval_and_msgmax_itself_fits() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.ns.limits().set_msgmax(100).unwrap();
    assert_eq!(w.send(&r, id, 1, &[0; 101]), Err(Errno::EINVAL));
    assert_eq!(w.send(&r, id, 1, &[0; 100]), Ok(()));
}

#[test]
fn msgsnd_bad_ids_are_einval() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    assert_eq!(w.send(&r, -1, 1, b""), Err(Errno::EINVAL));
    assert_eq!(w.send(&r, id + 32768, 1, b""), Err(Errno::EINVAL));
    assert_eq!(w.send(&r, id + 1, 1, b""), Err(Errno::EINVAL));
}

#[test]
fn msgsnd_einval_for_size_precedes_lookup_and_permission() {
    let w = World::new();
    let id = w.queue(&w.root(), 0);
    let u = w.user(1000, 1000);
    assert_eq!(w.send(&u, id, 0, b""), Err(Errno::EINVAL));
    assert_eq!(w.send(&u, id, 1, b""), Err(Errno::EACCES));
}

#[test]
fn msgsnd_without_write_permission_is_eacces() {
    let w = World::new();
    let id = w.queue(&w.root(), 0o644);
    assert_eq!(w.send(&w.user(1000, 1000), id, 1, b"x"), Err(Errno::EACCES));
    let owner_ro = w.queue(&w.root(), 0o400);
    let root_without_override = w.caller(no_caps(0, 0), 1).0;
    assert_eq!(
        w.send(&root_without_override, owner_ro, 1, b"x"),
        Err(Errno::EACCES)
    );
}

#[test]
fn msgsnd_updates_lspid_stime_qnum_cbytes_but_not_ctime() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.later(5);
    let (sender, _) = w.caller(Credentials::root(), 4242);
    w.send(&sender, id, 1, &[7; 1024]).unwrap();
    let ds = w.stat(id);
    assert_eq!(
        (ds.msg_lspid, ds.msg_stime, ds.msg_ctime),
        (4242, T0 + 5, T0)
    );
    assert_eq!(
        (ds.msg_qnum, ds.msg_cbytes, ds.msg_rtime, ds.msg_lrpid),
        (1, 1024, 0, 0)
    );
}

#[test]
fn msgsnd_queue_full_by_bytes_with_nowait_is_eagain() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    for _ in 0..16 {
        w.send(&r, id, 1, &[0; 1024]).unwrap();
    }
    assert_eq!(w.send(&r, id, 1, &[0; 1]), Err(Errno::EAGAIN));
    assert_eq!(
        w.send(&r, id, 1, b""),
        Ok(()),
        "an empty message still fits: 17 messages <= qbytes"
    );
}

#[test]
fn msgsnd_message_count_is_capped_by_qbytes() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.set(&r, id, |ds| ds.msg_qbytes = 3).unwrap();
    for _ in 0..3 {
        w.send(&r, id, 1, b"").unwrap();
    }
    assert_eq!(w.send(&r, id, 1, b""), Err(Errno::EAGAIN));
}

#[test]
fn msgsnd_message_larger_than_qbytes_never_fits() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.set(&r, id, |ds| ds.msg_qbytes = 10).unwrap();
    assert_eq!(w.send(&r, id, 1, &[0; 11]), Err(Errno::EAGAIN));
    assert_eq!(w.send(&r, id, 1, &[0; 10]), Ok(()));
}

#[test]
fn msgsnd_failure_gives_the_message_back() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let q = w.ns.msg().find_by_id(sysvipc::Id::from_raw(id)).unwrap();
    let err = q
        .send(&r, Message::new(0, b"keep".to_vec()), NOWAIT)
        .unwrap_err();
    assert_eq!(Errno::from(err.clone_kind()), Errno::EINVAL);
    assert_eq!(err.into_inner(), Message::new(0, b"keep".to_vec()));
}

trait CloneKind {
    fn clone_kind(&self) -> sysvipc::SendError;
}

impl CloneKind for sysvipc::SendError {
    fn clone_kind(&self) -> sysvipc::SendError {
        use sysvipc::SendError::*;
        let m = Message::new(1, Vec::new());
        match self {
            Invalid(_) => Invalid(m),
            Denied(_) => Denied(m),
            Removed(_) => Removed(m),
            Full(_) => Full(m),
            Interrupted(_) => Interrupted(m),
            TimedOut(_) => TimedOut(m),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// msgrcv selectors

fn filled(w: &World, types: &[i64]) -> (Caller, i32) {
    let r = w.root();
    let id = w.queue(&r, 0o600);
    for (i, &t) in types.iter().enumerate() {
        w.send(&r, id, t, &[i as u8]).unwrap();
    }
    (r, id)
}

#[test]
fn msgrcv_type_zero_returns_oldest_message_of_any_type() {
    let w = World::new();
    let (r, id) = filled(&w, &[3, 1, 2]);
    assert_eq!(w.recv(&r, id, 8, 0, 0), Ok((3, vec![0])));
    assert_eq!(
        w.recv(&r, id, 8, 0, abi::MSG_EXCEPT),
        Ok((1, vec![1])),
        "MSG_EXCEPT ignored for 0"
    );
}

#[test]
fn msgrcv_positive_type_returns_oldest_message_of_that_type() {
    let w = World::new();
    let (r, id) = filled(&w, &[3, 1, 2, 1]);
    assert_eq!(w.recv(&r, id, 8, 1, 0), Ok((1, vec![1])));
    assert_eq!(w.recv(&r, id, 8, 1, 0), Ok((1, vec![3])));
    assert_eq!(w.recv(&r, id, 8, 1, 0), Err(Errno::ENOMSG));
}

#[test]
fn msgrcv_except_returns_oldest_message_of_another_type() {
    let w = World::new();
    let (r, id) = filled(&w, &[2, 2, 1, 3]);
    assert_eq!(w.recv(&r, id, 8, 2, abi::MSG_EXCEPT), Ok((1, vec![2])));
    assert_eq!(w.recv(&r, id, 8, 2, abi::MSG_EXCEPT), Ok((3, vec![3])));
    assert_eq!(w.recv(&r, id, 8, 2, abi::MSG_EXCEPT), Err(Errno::ENOMSG));
}

#[test]
fn msgrcv_negative_type_includes_equal() {
    let w = World::new();
    let (r, id) = filled(&w, &[121]);
    assert_eq!(
        w.recv(&r, id, 64, -121, abi::MSG_NOERROR),
        Ok((121, vec![0]))
    );
}

#[test]
fn msgrcv_negative_type_takes_lowest_type_then_oldest() {
    let w = World::new();
    let (r, id) = filled(&w, &[5, 2, 4, 2]);
    assert_eq!(w.recv(&r, id, 8, -1, 0), Err(Errno::ENOMSG));
    assert_eq!(w.recv(&r, id, 8, -4, 0), Ok((2, vec![1])));
    assert_eq!(w.recv(&r, id, 8, -4, 0), Ok((2, vec![3])));
    assert_eq!(w.recv(&r, id, 8, -4, 0), Ok((4, vec![2])));
    assert_eq!(w.recv(&r, id, 8, -4, 0), Err(Errno::ENOMSG));
}

#[test]
fn msgrcv_except_is_ignored_for_negative_type() {
    let w = World::new();
    let (r, id) = filled(&w, &[2]);
    assert_eq!(w.recv(&r, id, 8, -1, abi::MSG_EXCEPT), Err(Errno::ENOMSG));
    assert_eq!(w.recv(&r, id, 8, -2, abi::MSG_EXCEPT), Ok((2, vec![0])));
}

#[test]
fn msgrcv_long_min_type_means_any_type_up_to_long_max() {
    let w = World::new();
    let (r, id) = filled(&w, &[i64::MAX, 9]);
    assert_eq!(w.recv(&r, id, 8, i64::MIN, 0), Ok((9, vec![1])));
    assert_eq!(w.recv(&r, id, 8, i64::MIN, 0), Ok((i64::MAX, vec![0])));
}

#[test]
fn msgrcv_small_buffer_is_e2big_and_message_stays() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.send(&r, id, 1, &[1; 1024]).unwrap();
    assert_eq!(w.recv(&r, id, 1023, 0, 0), Err(Errno::E2BIG));
    assert_eq!(w.stat(id).msg_qnum, 1);
    assert_eq!(w.recv(&r, id, 1024, 0, 0).map(|m| m.1.len()), Ok(1024));
}

#[test]
fn msgrcv_noerror_truncates_and_removes_whole_message() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.send(&r, id, 1, b"messagetype1").unwrap();
    assert_eq!(
        w.recv(&r, id, 6, 0, abi::MSG_NOERROR),
        Ok((1, b"messag".to_vec()))
    );
    let ds = w.stat(id);
    assert_eq!((ds.msg_qnum, ds.msg_cbytes), (0, 0));
}

#[test]
fn msgrcv_nowait_without_match_is_enomsg() {
    let w = World::new();
    let (r, id) = filled(&w, &[2]);
    assert_eq!(w.recv(&r, id, 8, 3, 0), Err(Errno::ENOMSG));
}

#[test]
fn msgrcv_negative_size_and_bad_ids_are_einval() {
    let w = World::new();
    let (r, id) = filled(&w, &[1]);
    assert_eq!(w.recv(&r, id, -1, 0, 0), Err(Errno::EINVAL));
    assert_eq!(w.recv(&r, -1, 8, 0, 0), Err(Errno::EINVAL));
    assert_eq!(w.recv(&r, id + 32768, 8, 0, 0), Err(Errno::EINVAL));
}

#[test]
fn msgrcv_without_read_permission_is_eacces_before_enomsg() {
    let w = World::new();
    let id = w.queue(&w.root(), 0o622);
    assert_eq!(w.recv(&w.user(1000, 1000), id, 8, 0, 0), Err(Errno::EACCES));
}

#[test]
fn msgrcv_updates_lrpid_rtime_and_counts() {
    let w = World::new();
    let (_, id) = filled(&w, &[1, 1]);
    w.later(3);
    let (rcv, _) = w.caller(Credentials::root(), 777);
    w.recv(&rcv, id, 8, 0, 0).unwrap();
    let ds = w.stat(id);
    assert_eq!(
        (ds.msg_lrpid, ds.msg_rtime, ds.msg_qnum, ds.msg_cbytes),
        (777, T0 + 3, 1, 1)
    );
    assert_eq!(ds.msg_ctime, T0);
}

#[test]
fn zero_length_messages_are_queued_and_received() {
    let w = World::new();
    let (r, id) = filled(&w, &[]);
    w.send(&r, id, 4, b"").unwrap();
    assert_eq!(w.stat(id).msg_qnum, 1);
    assert_eq!(w.recv(&r, id, 0, 4, 0), Ok((4, vec![])));
}

// ---------------------------------------------------------------------------------------------
// MSG_COPY

#[test]
fn msg_copy_needs_ipc_nowait_and_refuses_msg_except() {
    let w = World::new();
    let (r, id) = filled(&w, &[1]);
    assert_eq!(
        w.ns.msgrcv(&r, id, 8, 0, abi::MSG_COPY).unwrap_err(),
        Errno::EINVAL
    );
    let flags = abi::MSG_COPY | abi::MSG_EXCEPT | NOWAIT;
    assert_eq!(w.ns.msgrcv(&r, id, 8, 0, flags).unwrap_err(), Errno::EINVAL);
}

#[test]
fn msg_copy_flag_errors_precede_lookup() {
    let w = World::new();
    let r = w.root();
    assert_eq!(
        w.ns.msgrcv(&r, 999, 8, 0, abi::MSG_COPY).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        w.ns.msgrcv(&r, 999, 8, 0, abi::MSG_COPY | NOWAIT)
            .unwrap_err(),
        Errno::EINVAL
    );
}

#[test]
fn msg_copy_takes_an_index_and_leaves_the_queue_untouched() {
    let w = World::new();
    let (r, id) = filled(&w, &[5, 3, 5]);
    let before = w.stat(id);
    w.later(9);
    let copy = |n| w.recv(&r, id, 8, n, abi::MSG_COPY);
    assert_eq!(copy(0), Ok((5, vec![0])));
    assert_eq!(copy(1), Ok((3, vec![1])));
    assert_eq!(copy(2), Ok((5, vec![2])));
    assert_eq!(copy(3), Err(Errno::ENOMSG));
    assert_eq!(copy(-1), Err(Errno::ENOMSG));
    assert_eq!(w.stat(id), before, "counts, times and pids unchanged");
}

#[test]
fn msg_copy_small_buffer_is_e2big_without_noerror_and_einval_with_it() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.send(&r, id, 1, &[0; 100]).unwrap();
    assert_eq!(w.recv(&r, id, 50, 0, abi::MSG_COPY), Err(Errno::E2BIG));
    assert_eq!(
        w.recv(&r, id, 50, 0, abi::MSG_COPY | abi::MSG_NOERROR),
        Err(Errno::EINVAL)
    );
}

#[test]
fn msg_copy_buffer_is_capped_by_msgmax() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.send(&r, id, 1, &[0; 100]).unwrap();
    w.ns.limits().set_msgmax(50).unwrap();
    assert_eq!(w.recv(&r, id, 200, 0, abi::MSG_COPY), Err(Errno::EINVAL));
    w.ns.limits().set_msgmax(100).unwrap();
    assert_eq!(
        w.recv(&r, id, 200, 0, abi::MSG_COPY).map(|m| m.1.len()),
        Ok(100)
    );
}

#[test]
fn msg_copy_needs_read_permission() {
    let w = World::new();
    let (_, id) = filled(&w, &[1]);
    assert_eq!(
        w.recv(&w.user(1000, 1000), id, 8, 0, abi::MSG_COPY),
        Err(Errno::EACCES)
    );
}

// ---------------------------------------------------------------------------------------------
// msgctl

#[test]
fn ipc_stat_needs_read_permission_and_returns_zero() {
    let w = World::new();
    let id = w.queue(&w.root(), 0o600);
    assert_eq!(
        w.ns.msgctl_stat(&w.user(1000, 1000), id, MsgCtlCmd::Stat)
            .unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        w.ns.msgctl_stat(&w.root(), id, MsgCtlCmd::Stat).unwrap().0,
        0
    );
}

#[test]
fn ipc_stat_reports_seq_and_zero_reserved_fields() {
    let w = World::new();
    let r = w.root();
    w.ns.set_msg_next_id(5 << 15 | 3).unwrap();
    let id = w.queue(&r, 0o600);
    let ds = w.stat(id);
    assert_eq!(ds.msg_perm.seq, 5);
    assert_eq!(
        (
            ds.unused4,
            ds.unused5,
            ds.msg_perm.unused1,
            ds.msg_perm.pad2
        ),
        (0, 0, 0, 0)
    );
}

#[test]
fn ipc_set_changes_owner_mode_qbytes_and_ctime_only() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.later(2);
    w.set(&r, id, |ds| {
        ds.msg_perm.uid = 1000;
        ds.msg_perm.gid = 1001;
        ds.msg_perm.cuid = 5;
        ds.msg_perm.mode = 0o1666;
        ds.msg_qbytes = 100;
        ds.msg_stime = 99;
    })
    .unwrap();
    let ds = w.stat(id);
    let p = ds.msg_perm;
    assert_eq!(
        (p.uid, p.gid, p.cuid, p.cgid, p.mode),
        (1000, 1001, 0, 0, 0o666)
    );
    assert_eq!(
        (ds.msg_qbytes, ds.msg_ctime, ds.msg_stime),
        (100, T0 + 2, 0)
    );
}

#[test]
fn ipc_set_by_neither_owner_nor_creator_is_eperm() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o666);
    let u = w.user(1000, 0);
    assert_eq!(w.set(&u, id, |_| {}), Err(Errno::EPERM));
    let ipc_owner = w
        .caller(no_caps(1000, 0).with_caps(Capabilities::IPC_OWNER), 1)
        .0;
    assert_eq!(w.set(&ipc_owner, id, |_| {}), Err(Errno::EPERM));
    let admin = w
        .caller(no_caps(1000, 0).with_caps(Capabilities::SYS_ADMIN), 1)
        .0;
    assert_eq!(w.set(&admin, id, |_| {}), Ok(()));
}

#[test]
fn new_owner_and_creator_may_both_set_after_uid_change() {
    let w = World::new();
    let creator = w.caller(no_caps(500, 500), 1).0;
    let id = w.queue(&creator, 0o600);
    w.set(&creator, id, |ds| ds.msg_perm.uid = 1000).unwrap();
    assert_eq!(w.set(&w.user(1000, 1), id, |_| {}), Ok(()));
    assert_eq!(w.set(&creator, id, |_| {}), Ok(()));
    assert_eq!(w.ns.msgctl_rmid(&w.user(1000, 1), id), Ok(()));
}

#[test]
fn ipc_set_qbytes_above_msgmnb_needs_cap_sys_resource() {
    let w = World::new();
    let no_resource = w
        .caller(
            Credentials::root().with_caps(Capabilities::all() - Capabilities::SYS_RESOURCE),
            1,
        )
        .0;
    let id = w.queue(&no_resource, 0o600);
    assert_eq!(
        w.set(&no_resource, id, |ds| ds.msg_qbytes = 16385),
        Err(Errno::EPERM)
    );
    assert_eq!(w.set(&no_resource, id, |ds| ds.msg_qbytes = 16384), Ok(()));
    assert_eq!(w.set(&w.root(), id, |ds| ds.msg_qbytes = 1 << 20), Ok(()));
    assert_eq!(w.stat(id).msg_qbytes, 1 << 20);
}

#[test]
fn ipc_set_qbytes_passes_through_an_int() {
    let w = World::new();
    let plain = w
        .caller(Credentials::root().with_caps(Capabilities::SYS_ADMIN), 1)
        .0;
    let id = w.queue(&plain, 0o600);
    assert_eq!(
        w.set(&plain, id, |ds| ds.msg_qbytes = 0x1_0000_0005),
        Ok(())
    );
    assert_eq!(w.stat(id).msg_qbytes, 5);
    assert_eq!(
        w.set(&plain, id, |ds| ds.msg_qbytes = 0xFFFF_FFFF),
        Err(Errno::EPERM)
    );
    assert_eq!(
        w.set(&w.root(), id, |ds| ds.msg_qbytes = 0xFFFF_FFFF),
        Ok(())
    );
    assert_eq!(w.stat(id).msg_qbytes, u64::MAX, "stored sign-extended");
}

#[test]
fn ipc_set_unmappable_uid_or_gid_is_einval_after_eperm_checks() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    assert_eq!(
        w.set(&r, id, |ds| ds.msg_perm.uid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.set(&r, id, |ds| ds.msg_perm.gid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.set(&w.user(9, 9), id, |ds| ds.msg_perm.uid = u32::MAX),
        Err(Errno::EPERM)
    );
    assert_eq!(w.stat(id).msg_perm.uid, 0, "nothing changed");
}

#[test]
fn lowering_qbytes_below_cbytes_keeps_messages() {
    let w = World::new();
    let (r, id) = filled(&w, &[1, 1, 1]);
    w.set(&r, id, |ds| ds.msg_qbytes = 1).unwrap();
    assert_eq!(w.stat(id).msg_qnum, 3);
    assert_eq!(w.send(&r, id, 1, b""), Err(Errno::EAGAIN));
    assert_eq!(w.recv(&r, id, 8, 0, 0), Ok((1, vec![0])));
}

#[test]
fn ipc_rmid_needs_owner_creator_or_cap_sys_admin() {
    let w = World::new();
    let id = w.queue(&w.root(), 0o666);
    assert_eq!(w.ns.msgctl_rmid(&w.user(1000, 0), id), Err(Errno::EPERM));
    let ipc_owner = w
        .caller(no_caps(1000, 0).with_caps(Capabilities::IPC_OWNER), 1)
        .0;
    assert_eq!(w.ns.msgctl_rmid(&ipc_owner, id), Err(Errno::EPERM));
    let admin = w
        .caller(no_caps(1000, 0).with_caps(Capabilities::SYS_ADMIN), 1)
        .0;
    assert_eq!(w.ns.msgctl_rmid(&admin, id), Ok(()));
}

#[test]
fn second_ipc_rmid_is_einval_and_so_is_every_later_use() {
    let w = World::new();
    let (r, id) = filled(&w, &[1]);
    w.ns.msgctl_rmid(&r, id).unwrap();
    assert_eq!(w.ns.msgctl_rmid(&r, id), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.msgctl_stat(&r, id, MsgCtlCmd::Stat).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(w.send(&r, id, 1, b""), Err(Errno::EINVAL));
    assert_eq!(w.recv(&r, id, 8, 0, 0), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.msgctl_stat(&r, id, MsgCtlCmd::MsgStat).unwrap_err(),
        Errno::EINVAL
    );
}

#[test]
fn ipc_info_reports_limits_and_highest_used_index() {
    let w = World::new();
    let r = w.root();
    assert_eq!(w.ns.msgctl_info(0, MsgCtlCmd::IpcInfo).unwrap().0, 0);
    for _ in 0..3 {
        w.queue(&r, 0);
    }
    w.ns.msgctl_rmid(&r, 0).unwrap();
    w.ns.limits().set_msgmax(4000).unwrap();
    let (max, i) = w.ns.msgctl_info(0, MsgCtlCmd::IpcInfo).unwrap();
    assert_eq!(max, 2);
    assert_eq!(
        (
            i.msgpool, i.msgmap, i.msgmax, i.msgmnb, i.msgmni, i.msgssz, i.msgtql, i.msgseg
        ),
        (512000, 16384, 4000, 16384, 32000, 16, 16384, 65535)
    );
}

#[test]
fn msg_info_reports_queue_message_and_byte_counts() {
    let w = World::new();
    let r = w.root();
    let a = w.queue(&r, 0o600);
    w.queue(&r, 0o600);
    w.send(&r, a, 1, b"hello").unwrap();
    w.send(&r, a, 2, b"abc").unwrap();
    let (max, i) = w.ns.msgctl_info(0, MsgCtlCmd::MsgInfo).unwrap();
    assert_eq!((max, i.msgpool, i.msgmap, i.msgtql), (1, 2, 2, 8));
    assert_eq!(
        (i.msgmax, i.msgmnb, i.msgmni, i.msgssz, i.msgseg),
        (8192, 16384, 32000, 16, 65535)
    );
}

#[test]
fn info_commands_ignore_the_id_but_refuse_negative_ones() {
    let w = World::new();
    assert!(w.ns.msgctl_info(12345, MsgCtlCmd::MsgInfo).is_ok());
    assert_eq!(
        w.ns.msgctl_info(-1, MsgCtlCmd::IpcInfo).unwrap_err(),
        Errno::EINVAL
    );
}

#[test]
fn msg_stat_takes_an_index_and_returns_the_full_id() {
    let w = World::new();
    let r = w.root();
    w.ns.set_msg_next_id(7 << 15 | 4).unwrap();
    let id = w.queue(&r, 0o600);
    assert_eq!(id, 7 << 15 | 4);
    let (got, ds) = w.ns.msgctl_stat(&r, 4, MsgCtlCmd::MsgStat).unwrap();
    assert_eq!((got, ds.msg_perm.seq), (id, 7));
    assert_eq!(
        w.ns.msgctl_stat(&r, 4 + 32768, MsgCtlCmd::MsgStat)
            .unwrap()
            .0,
        id,
        "only index bits count"
    );
    assert_eq!(
        w.ns.msgctl_stat(&r, 5, MsgCtlCmd::MsgStat).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(
        w.ns.msgctl_stat(&r, -1, MsgCtlCmd::MsgStatAny).unwrap_err(),
        Errno::EINVAL
    );
}

#[test]
fn msg_stat_needs_read_permission_and_msg_stat_any_does_not() {
    let w = World::new();
    let id = w.queue(&w.root(), 0o600);
    let u = w.user(1000, 1000);
    assert_eq!(
        w.ns.msgctl_stat(&u, id, MsgCtlCmd::MsgStat).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(
        w.ns.msgctl_stat(&u, id, MsgCtlCmd::MsgStatAny).unwrap().0,
        id
    );
}

#[test]
fn msgctl_unknown_commands_and_ipc_64_are_einval() {
    for cmd in [-1, 4, 10, 14, 99, abi::IPC_64 | abi::IPC_STAT] {
        assert_eq!(MsgCtlCmd::try_from(cmd), Err(Errno::EINVAL), "cmd {cmd}");
    }
    assert_eq!(
        MsgCtlCmd::try_from(abi::MSG_STAT_ANY),
        Ok(MsgCtlCmd::MsgStatAny)
    );
}

// ---------------------------------------------------------------------------------------------
// Blocking

#[test]
fn blocked_receiver_is_handed_a_message_sent_later() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (rcv, b) = w.caller(Credentials::root(), 300);
    let rcv = rcv.with_tid(301);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 64, 0, 0));
        b.wait_until_sleeping();
        w.later(4);
        let (snd, _) = w.caller(Credentials::root(), 400);
        w.ns.msgsnd(&snd, id, Message::new(9, b"direct".to_vec()), 0)
            .unwrap();
        assert_eq!(t.join().unwrap(), Ok(Message::new(9, b"direct".to_vec())));
    });
    let ds = w.stat(id);
    assert_eq!(
        (ds.msg_qnum, ds.msg_cbytes),
        (0, 0),
        "handed over, never queued"
    );
    assert_eq!(
        (ds.msg_lspid, ds.msg_lrpid),
        (400, 301),
        "lrpid is the receiver's thread id"
    );
    assert_eq!((ds.msg_stime, ds.msg_rtime), (T0 + 4, T0 + 4));
}

#[test]
fn blocked_negative_type_receiver_gets_first_matching_message_sent() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (rcv, b) = w.caller(Credentials::root(), 300);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 64, -5, 0));
        b.wait_until_sleeping();
        w.send(&r, id, 6, b"no").unwrap();
        w.send(&r, id, 4, b"four").unwrap();
        w.send(&r, id, 1, b"one").unwrap();
        assert_eq!(t.join().unwrap().map(|m| m.mtype), Ok(4));
    });
    assert_eq!(w.stat(id).msg_qnum, 2);
}

#[test]
fn pipelined_send_fails_small_buffer_receiver_with_e2big_and_serves_the_next() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (small, b1) = w.caller(Credentials::root(), 1);
    let (big, b2) = w.caller(Credentials::root(), 2);
    thread::scope(|s| {
        let t1 = s.spawn(|| w.ns.msgrcv(&small, id, 2, 0, 0));
        b1.wait_until_sleeping();
        let t2 = s.spawn(|| w.ns.msgrcv(&big, id, 64, 0, 0));
        b2.wait_until_sleeping();
        w.send(&r, id, 1, b"longer").unwrap();
        assert_eq!(t1.join().unwrap(), Err(Errno::E2BIG));
        assert_eq!(t2.join().unwrap().map(|m| m.text), Ok(b"longer".to_vec()));
    });
}

#[test]
fn pipelined_send_truncates_for_a_noerror_receiver() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (rcv, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 3, 0, abi::MSG_NOERROR));
        b.wait_until_sleeping();
        w.send(&r, id, 1, b"abcdef").unwrap();
        assert_eq!(t.join().unwrap().map(|m| m.text), Ok(b"abc".to_vec()));
    });
}

#[test]
fn blocked_sender_is_woken_when_a_receive_makes_room() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.set(&r, id, |ds| ds.msg_qbytes = 4).unwrap();
    w.send(&r, id, 1, b"full").unwrap();
    let (snd, b) = w.caller(Credentials::root(), 500);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgsnd(&snd, id, Message::new(2, b"next".to_vec()), 0));
        b.wait_until_sleeping();
        assert_eq!(w.recv(&r, id, 8, 0, 0), Ok((1, b"full".to_vec())));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    let ds = w.stat(id);
    assert_eq!((ds.msg_qnum, ds.msg_lspid), (1, 500));
}

#[test]
fn raising_qbytes_with_ipc_set_wakes_blocked_senders() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.set(&r, id, |ds| ds.msg_qbytes = 4).unwrap();
    w.send(&r, id, 1, b"full").unwrap();
    let (snd, b) = w.caller(Credentials::root(), 500);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgsnd(&snd, id, Message::new(2, b"more".to_vec()), 0));
        b.wait_until_sleeping();
        // Still too small: the sender is not woken (ss_wakeup wakes only senders that fit).
        w.set(&r, id, |ds| ds.msg_qbytes = 5).unwrap();
        assert_eq!(b.sleeps(), 1);
        w.set(&r, id, |ds| ds.msg_qbytes = 8).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(w.stat(id).msg_qnum, 2);
}

#[test]
fn ipc_rmid_wakes_blocked_receiver_with_eidrm() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (rcv, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 8, 0, 0));
        b.wait_until_sleeping();
        w.ns.msgctl_rmid(&r, id).unwrap();
        assert_eq!(t.join().unwrap(), Err(Errno::EIDRM));
    });
}

#[test]
fn ipc_rmid_wakes_blocked_sender_with_eidrm() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.set(&r, id, |ds| ds.msg_qbytes = 0).unwrap();
    let (snd, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgsnd(&snd, id, Message::new(1, b"x".to_vec()), 0));
        b.wait_until_sleeping();
        w.ns.msgctl_rmid(&r, id).unwrap();
        assert_eq!(t.join().unwrap(), Err(Errno::EIDRM));
    });
}

#[test]
fn interrupted_receiver_gets_erestartnohand() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (rcv, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 8, 0, 0));
        b.wait_until_sleeping();
        b.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::ERESTARTNOHAND));
    });
    // The cancelled receiver is gone: a later message is queued, not handed to it.
    w.send(&r, id, 1, b"x").unwrap();
    assert_eq!(w.stat(id).msg_qnum, 1);
}

#[test]
fn interrupted_sender_gets_erestartnohand_and_its_message_back() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    w.set(&r, id, |ds| ds.msg_qbytes = 0).unwrap();
    let (snd, b) = w.caller(Credentials::root(), 1);
    let q = w.ns.msg().find_by_id(sysvipc::Id::from_raw(id)).unwrap();
    thread::scope(|s| {
        let t = s.spawn(|| q.send(&snd, Message::new(3, b"mine".to_vec()), 0));
        b.wait_until_sleeping();
        b.interrupt();
        let err = t.join().unwrap().unwrap_err();
        assert!(matches!(err, sysvipc::SendError::Interrupted(_)));
        assert_eq!(err.into_inner(), Message::new(3, b"mine".to_vec()));
    });
}

#[test]
fn ipc_set_makes_blocked_receivers_recheck_permission() {
    let w = World::new();
    let owner = w.caller(no_caps(1000, 1000), 1).0;
    let id = w.queue(&owner, 0o666);
    let (rcv, b) = w.caller(no_caps(2000, 2000), 2);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 8, 0, 0));
        b.wait_until_sleeping();
        w.set(&owner, id, |ds| ds.msg_perm.mode = 0o664).unwrap();
        b.wait_for_sleep(2); // still readable: it retried and sleeps again
        w.set(&owner, id, |ds| ds.msg_perm.mode = 0o600).unwrap();
        assert_eq!(t.join().unwrap(), Err(Errno::EACCES));
    });
}

#[test]
fn message_handed_over_wins_against_a_late_interruption() {
    let w = World::new();
    let r = w.root();
    let id = w.queue(&r, 0o600);
    let (rcv, b) = w.caller(Credentials::root(), 1);
    thread::scope(|s| {
        let t = s.spawn(|| w.ns.msgrcv(&rcv, id, 8, 0, 0));
        b.wait_until_sleeping();
        w.send(&r, id, 1, b"mine").unwrap();
        b.interrupt();
        assert_eq!(t.join().unwrap().map(|m| m.text), Ok(b"mine".to_vec()));
    });
}

#[test]
fn senders_and_receivers_on_threads_account_for_every_message_once() {
    const SENDERS: usize = 4;
    const RECEIVERS: usize = 4;
    const PER_SENDER: usize = 2000;
    let ns = IpcNamespace::new();
    let caller = |pid| Caller::new(Credentials::root(), pid, Arc::new(ThreadBlocker::new()));
    let id = ns
        .msgget(&caller(1), abi::IPC_PRIVATE, abi::IPC_CREAT | 0o600)
        .unwrap();
    ns.msgctl_set(
        &caller(1),
        id,
        &Msqid64Ds {
            msg_qbytes: 256,
            msg_perm: ns
                .msgctl_stat(&caller(1), id, MsgCtlCmd::Stat)
                .unwrap()
                .1
                .msg_perm,
            ..Default::default()
        },
    )
    .unwrap();
    let total = SENDERS * PER_SENDER;
    let per_receiver = total / RECEIVERS;
    let seen: Vec<Vec<u32>> = thread::scope(|s| {
        for p in 0..SENDERS {
            let (ns, c) = (&ns, caller(10 + p as i32));
            s.spawn(move || {
                for i in 0..PER_SENDER {
                    let n = (p * PER_SENDER + i) as u32;
                    // Types 1..=3 so typed receivers see traffic too.
                    let msg = Message::new(1 + i64::from(n % 3), n.to_le_bytes().to_vec());
                    ns.msgsnd(&c, id, msg, 0).unwrap();
                }
            });
        }
        let handles: Vec<_> = (0..RECEIVERS)
            .map(|r| {
                let (ns, c) = (&ns, caller(100 + r as i32));
                s.spawn(move || {
                    (0..per_receiver)
                        .map(|_| {
                            let m = ns.msgrcv(&c, id, 4, -3, 0).unwrap();
                            u32::from_le_bytes(m.text.try_into().unwrap())
                        })
                        .collect::<Vec<u32>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u32> = seen.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (0..total as u32).collect::<Vec<_>>());
    let ds = ns.msgctl_stat(&caller(1), id, MsgCtlCmd::Stat).unwrap().1;
    assert_eq!((ds.msg_qnum, ds.msg_cbytes), (0, 0));
}

#[test]
fn interrupting_receivers_at_random_loses_and_duplicates_nothing() {
    const MESSAGES: u32 = 3000;
    const RECEIVERS: usize = 3;
    let ns = IpcNamespace::new();
    let blockers: Vec<Arc<ThreadBlocker>> = (0..RECEIVERS)
        .map(|_| Arc::new(ThreadBlocker::new()))
        .collect();
    let root = Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()));
    let id = ns
        .msgget(&root, abi::IPC_PRIVATE, abi::IPC_CREAT | 0o600)
        .unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (received, interrupted): (Vec<u32>, usize) = thread::scope(|s| {
        let receivers: Vec<_> = blockers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let c = Caller::new(Credentials::root(), 10 + i as i32, b.clone());
                let ns = &ns;
                s.spawn(move || {
                    let (mut got, mut interrupted) = (Vec::new(), 0);
                    loop {
                        match ns.msgrcv(&c, id, 4, 0, 0) {
                            Ok(m) => got.push(u32::from_le_bytes(m.text.try_into().unwrap())),
                            Err(Errno::ERESTARTNOHAND) => interrupted += 1,
                            // Removed while asleep (EIDRM), or between two calls (EINVAL).
                            Err(Errno::EIDRM | Errno::EINVAL) => break,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    (got, interrupted)
                })
            })
            .collect();
        let chaos = s.spawn(|| {
            let mut n = 0u64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                blockers[(n >> 33) as usize % RECEIVERS].interrupt();
                thread::yield_now();
            }
        });
        for n in 0..MESSAGES {
            ns.msgsnd(&root, id, Message::new(1, n.to_le_bytes().to_vec()), 0)
                .unwrap();
        }
        // Wait until the queue has drained to the receivers, then stop the chaos and remove
        // the queue, which ends every receiver with EIDRM.
        while ns
            .msgctl_stat(&root, id, MsgCtlCmd::Stat)
            .unwrap()
            .1
            .msg_qnum
            > 0
        {
            thread::yield_now();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        chaos.join().unwrap();
        ns.msgctl_rmid(&root, id).unwrap();
        receivers.into_iter().map(|h| h.join().unwrap()).fold(
            (Vec::new(), 0),
            |(mut all, n), (got, i)| {
                all.extend(got);
                (all, n + i)
            },
        )
    });
    let mut received = received;
    received.sort_unstable();
    assert_eq!(received, (0..MESSAGES).collect::<Vec<_>>());
    println!("{interrupted} interruptions");
}

#[test]
fn msg_next_id_never_allocates_an_index_at_or_beyond_ipcmni() {
    // Linux fa0b9b2b7ae3 ("ipc: limit next_id allocation to the valid ID range"), as 6.18
    // behaves: when every index from msg_next_id's up to IPCMNI - 1 is taken, msgget fails with
    // ENOSPC (the knob is consumed) instead of spilling into a slot its id cannot name.
    let w = World::new();
    let r = w.root();
    w.ns.set_msg_next_id(i64::from(i32::MAX)).unwrap();
    assert_eq!(w.queue(&r, 0o600), i32::MAX, "seq 65535, index 32767");
    w.ns.set_msg_next_id(i64::from(i32::MAX)).unwrap();
    assert_eq!(
        w.ns.msgget(&r, abi::IPC_PRIVATE, abi::IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    assert_eq!(w.ns.msg_next_id(), -1, "consumed");
    assert_eq!(w.ns.msg().len(), 1);
    w.ns.set_msg_next_id(32766).unwrap();
    assert_eq!(w.queue(&r, 0o600), 32766);
    w.ns.set_msg_next_id(32766).unwrap();
    assert_eq!(
        w.ns.msgget(&r, 7, abi::IPC_CREAT | 0o600),
        Err(Errno::ENOSPC)
    );
    let (max, info) = w.ns.msgctl_info(0, MsgCtlCmd::MsgInfo).unwrap();
    assert_eq!((max, info.msgpool), (abi::IPCMNI - 1, 2));
    // Both queues can still be removed by their ids.
    w.ns.msgctl_rmid(&r, i32::MAX).unwrap();
    w.ns.msgctl_rmid(&r, 32766).unwrap();
    assert!(w.ns.msg().is_empty());
}
