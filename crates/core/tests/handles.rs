//! The in-process handles — `MessageQueue`, `Semaphore`, `SemGuard`, `SemOps`,
//! `SharedSegment` — and `ftok`.
//! Blocking tests use `ManualBlocker` on a `ManualClock`: they wait until the other thread is
//! asleep and move the clock past deadlines, never sleeping themselves.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sysvipc::abi::{self, Sembuf};
use sysvipc::{
    Caller, Credentials, Errno, IpcNamespace, Key, ManualBlocker, ManualClock, Message,
    MessageQueue, RecvError, RecvTimeoutError, Selector, SemFlags, SemGuard, SemOps,
    SemTimeoutError, Semaphore, SendError, SendTimeoutError, SharedSegment, ThreadBlocker,
};

const T0: i64 = 1_700_000_000;
const NONE: SemFlags = SemFlags::empty();

struct World {
    clock: Arc<ManualClock>,
    ns: Arc<IpcNamespace>,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let ns = Arc::new(IpcNamespace::with_clock(clock.clone()));
        Self { clock, ns }
    }

    fn caller(&self, cred: Credentials, pid: i32) -> (Caller, Arc<ManualBlocker>) {
        let b = Arc::new(ManualBlocker::new(self.clock.clone()));
        (Caller::new(cred, pid, b.clone()), b)
    }

    fn root(&self) -> Caller {
        self.caller(Credentials::root(), 100).0
    }

    /// A root process of its own (with its own undo list).
    fn root_process(&self, pid: i32) -> Caller {
        self.caller(Credentials::root(), pid).0
    }

    fn user(&self, uid: u32) -> Caller {
        self.caller(Credentials::user(uid, uid), uid as i32).0
    }

    fn queue(&self, key: Key) -> MessageQueue {
        MessageQueue::create(self.ns.clone(), self.root(), key, 0o600).unwrap()
    }

    fn sem(&self, nsems: usize) -> Semaphore {
        Semaphore::create(self.ns.clone(), self.root(), Key::PRIVATE, nsems, 0o600).unwrap()
    }

    fn later(&self, d: Duration) {
        self.clock.advance(d);
    }
}

/// A handle on the same object for a new thread, with the blocker to watch it by.
fn other_thread_q(q: &MessageQueue, w: &World, pid: i32) -> (MessageQueue, Arc<ManualBlocker>) {
    let (c, b) = w.caller(Credentials::root(), pid);
    (q.with_caller(c), b)
}

fn other_thread_s(s: &Semaphore, w: &World, pid: i32) -> (Semaphore, Arc<ManualBlocker>) {
    let (c, b) = w.caller(Credentials::root(), pid);
    (s.with_caller(c), b)
}

fn msg(mtype: i64, text: &str) -> Message {
    Message::new(mtype, text.as_bytes().to_vec())
}

/// Fills the queue: two messages of `msgmax` bytes use all of the default 16384 bytes.
fn fill(q: &MessageQueue) {
    let big = vec![0u8; abi::MSGMAX as usize];
    q.send(Message::new(9, big.clone())).unwrap();
    q.send(Message::new(9, big)).unwrap();
}

fn qnum(q: &MessageQueue) -> u64 {
    q.queue().stat_any().unwrap().msg_qnum
}

// ---------------------------------------------------------------------------------------------
// MessageQueue: create, open, remove

#[test]
fn queue_create_makes_a_queue_with_the_mode_and_the_caller_as_owner_then_finds_it_again() {
    let w = World::new();
    let me = w.user(1000);
    let key = Key(0x1234);
    let q = MessageQueue::create(w.ns.clone(), me.clone(), key, 0o640).unwrap();
    let perm = q.queue().stat(&me.cred).unwrap().msg_perm;
    assert_eq!(
        (perm.key, perm.mode, perm.uid, perm.cuid),
        (0x1234, 0o640, 1000, 1000)
    );
    let again = MessageQueue::create(w.ns.clone(), me, key, 0o640).unwrap();
    assert_eq!(again.id(), q.id());
    assert_eq!(w.ns.msg().len(), 1);
}

#[test]
fn queue_create_rejects_mode_bits_outside_0o777_with_einval() {
    let w = World::new();
    for mode in [0o1000, abi::IPC_EXCL as u32, u32::MAX] {
        let got = MessageQueue::create(w.ns.clone(), w.root(), Key(5), mode);
        assert_eq!(got.unwrap_err(), Errno::EINVAL, "{mode:o}");
        let got = MessageQueue::create_new(w.ns.clone(), w.root(), Key(5), mode);
        assert_eq!(got.unwrap_err(), Errno::EINVAL, "{mode:o}");
    }
    assert!(w.ns.msg().is_empty());
}

#[test]
fn queue_create_of_an_existing_queue_checks_the_requested_mode_with_eacces() {
    let w = World::new();
    MessageQueue::create(w.ns.clone(), w.root(), Key(7), 0o600).unwrap();
    let got = MessageQueue::create(w.ns.clone(), w.user(1000), Key(7), 0o200);
    assert_eq!(got.unwrap_err(), Errno::EACCES);
}

#[test]
fn queue_create_new_fails_with_eexist_when_the_key_is_taken() {
    let w = World::new();
    let q = MessageQueue::create_new(w.ns.clone(), w.root(), Key(7), 0o600).unwrap();
    let got = MessageQueue::create_new(w.ns.clone(), w.root(), Key(7), 0o600);
    assert_eq!(got.unwrap_err(), Errno::EEXIST);
    assert_eq!(w.ns.msg().len(), 1);
    q.destroy().unwrap();
    MessageQueue::create_new(w.ns.clone(), w.root(), Key(7), 0o600).unwrap();
}

#[test]
fn queue_private_key_creates_a_new_queue_every_time() {
    let w = World::new();
    let a = w.queue(Key::PRIVATE);
    let b = w.queue(Key::PRIVATE);
    assert_ne!(a.id(), b.id());
    let c = MessageQueue::create_new(w.ns.clone(), w.root(), Key::PRIVATE, 0o600).unwrap();
    assert_ne!(c.id(), b.id());
}

#[test]
fn queue_open_finds_an_existing_queue_and_is_enoent_otherwise() {
    let w = World::new();
    let err = MessageQueue::open(w.ns.clone(), w.root(), Key(9)).unwrap_err();
    assert_eq!(err, Errno::ENOENT);
    let q = w.queue(Key(9));
    let opened = MessageQueue::open(w.ns.clone(), w.user(1000), Key(9)).unwrap();
    assert_eq!(opened.id(), q.id());
    // Opening asks for no access; the operations check it.
    assert!(matches!(
        opened.send(msg(1, "x")),
        Err(SendError::Denied(_))
    ));
    assert_eq!(opened.recv(Selector::Any), Err(RecvError::Denied));
}

#[test]
fn queue_open_by_the_private_key_is_enoent_and_creates_nothing() {
    let w = World::new();
    let err = MessageQueue::open(w.ns.clone(), w.root(), Key::PRIVATE).unwrap_err();
    assert_eq!(err, Errno::ENOENT);
    assert!(w.ns.msg().is_empty());
}

#[test]
fn queue_by_name_uses_the_stable_name_key() {
    let w = World::new();
    let q = w.queue(Key::from_name("jobs"));
    assert_eq!(q.queue().stat_any().unwrap().msg_perm.key, 1_678_184_575);
    let opened = MessageQueue::open(w.ns.clone(), w.root(), Key::from_name("jobs")).unwrap();
    assert_eq!(opened.id(), q.id());
    let err = MessageQueue::open(w.ns.clone(), w.root(), Key::from_name("Jobs")).unwrap_err();
    assert_eq!(err, Errno::ENOENT);
}

#[test]
fn queue_remove_by_key_or_name_removes_it_and_is_enoent_when_missing() {
    let w = World::new();
    let root = w.root();
    let q = w.queue(Key::from_name("jobs"));
    MessageQueue::remove(&w.ns, &root, Key::from_name("jobs")).unwrap();
    assert!(w.ns.msg().is_empty());
    assert!(matches!(q.send(msg(1, "x")), Err(SendError::Removed(_))));
    let err = MessageQueue::remove(&w.ns, &root, Key::from_name("jobs"));
    assert_eq!(err, Err(Errno::ENOENT));
    assert_eq!(
        MessageQueue::remove(&w.ns, &root, Key::PRIVATE),
        Err(Errno::ENOENT)
    );
    w.queue(Key(3));
    MessageQueue::remove(&w.ns, &root, Key(3)).unwrap();
}

#[test]
fn queue_remove_and_destroy_need_owner_creator_or_cap_sys_admin() {
    let w = World::new();
    let q = MessageQueue::create(w.ns.clone(), w.root(), Key(3), 0o666).unwrap();
    let stranger = w.user(1000);
    assert_eq!(
        MessageQueue::remove(&w.ns, &stranger, Key(3)),
        Err(Errno::EPERM)
    );
    assert_eq!(q.with_caller(stranger).destroy(), Err(Errno::EPERM));
    assert_eq!(w.ns.msg().len(), 1);
}

#[test]
fn queue_destroy_fails_later_operations_with_eidrm_and_a_second_destroy_with_einval() {
    let w = World::new();
    let q = w.queue(Key(3));
    q.send(msg(1, "lost")).unwrap();
    q.destroy().unwrap();
    assert_eq!(q.recv(Selector::Any), Err(RecvError::Removed));
    assert_eq!(
        q.send(msg(1, "x")),
        Err(SendError::Removed(msg(1, "x"))),
        "the message comes back"
    );
    assert_eq!(q.destroy(), Err(Errno::EINVAL));
    let err = MessageQueue::open(w.ns.clone(), w.root(), Key(3)).unwrap_err();
    assert_eq!(err, Errno::ENOENT);
}

#[test]
fn queue_destroy_wakes_a_blocked_receiver_with_removed() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let (r, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| r.recv(Selector::Any));
        b.wait_until_sleeping();
        q.destroy().unwrap();
        assert_eq!(t.join().unwrap(), Err(RecvError::Removed));
    });
}

#[test]
fn queue_accessors_name_the_queue_the_caller_and_the_namespace() {
    let w = World::new();
    let q = w.queue(Key(4));
    let id = w.ns.msgget(&w.root(), 4, 0).unwrap();
    assert_eq!(q.id().raw(), id);
    assert_eq!(q.queue().id(), q.id());
    assert_eq!(q.caller().pid, 100);
    assert!(Arc::ptr_eq(q.namespace(), &w.ns));
    let other = q.with_caller(w.user(7));
    assert_eq!((other.caller().pid, other.id()), (7, q.id()));
    assert!(format!("{q:?}").contains("MessageQueue"));
}

// ---------------------------------------------------------------------------------------------
// MessageQueue: send and recv

#[test]
fn queue_recv_takes_what_each_selector_picks() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    for (t, text) in [(3, "a"), (1, "b"), (2, "c"), (3, "d"), (5, "e")] {
        q.send(msg(t, text)).unwrap();
    }
    assert_eq!(q.recv(Selector::Equal(3)).unwrap(), msg(3, "a"));
    assert_eq!(q.recv(Selector::NotEqual(1)).unwrap(), msg(2, "c"));
    assert_eq!(q.recv(Selector::LessEqual(5)).unwrap(), msg(1, "b"));
    assert_eq!(q.recv(Selector::Any).unwrap(), msg(3, "d"));
    assert_eq!(q.recv(Selector::Any).unwrap(), msg(5, "e"));
}

#[test]
fn queue_recv_returns_the_whole_message_however_long() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let text = vec![7u8; abi::MSGMAX as usize];
    q.send(Message::new(1, text.clone())).unwrap();
    assert_eq!(q.recv(Selector::Any).unwrap().text, text);
}

#[test]
fn queue_send_of_an_invalid_message_gives_it_back_with_einval() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let err = q.send(msg(0, "typeless")).unwrap_err();
    assert_eq!(Errno::from(SendError::Invalid(msg(0, ""))), Errno::EINVAL);
    assert_eq!(err.into_inner(), msg(0, "typeless"));
    let long = Message::new(1, vec![0u8; abi::MSGMAX as usize + 1]);
    assert!(matches!(q.send(long), Err(SendError::Invalid(_))));
}

#[test]
fn queue_operations_run_as_the_handles_caller() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let stranger = q.with_caller(w.user(7));
    assert_eq!(
        stranger.send(msg(1, "x")),
        Err(SendError::Denied(msg(1, "x")))
    );
    q.with_caller(w.root_process(42)).send(msg(1, "x")).unwrap();
    assert_eq!(q.queue().stat_any().unwrap().msg_lspid, 42);
    q.with_caller(w.root_process(43))
        .recv(Selector::Any)
        .unwrap();
    assert_eq!(q.queue().stat_any().unwrap().msg_lrpid, 43);
}

#[test]
fn queue_is_blocking_until_set_nonblocking() {
    let w = World::new();
    let mut q = w.queue(Key::PRIVATE);
    assert!(!q.is_nonblocking());
    q.set_nonblocking(true);
    assert!(q.is_nonblocking());
    assert!(q.clone().is_nonblocking(), "clones keep the mode");
    assert!(q.with_caller(w.root()).is_nonblocking());
    q.set_nonblocking(false);
    assert!(!q.is_nonblocking());
}

#[test]
fn nonblocking_queue_fails_at_once_full_or_empty() {
    let w = World::new();
    let mut q = w.queue(Key::PRIVATE);
    q.set_nonblocking(true);
    assert_eq!(q.recv(Selector::Any), Err(RecvError::NoMessage));
    assert_eq!(Errno::from(RecvError::NoMessage), Errno::ENOMSG);
    fill(&q);
    let err = q.send(msg(1, "overflow")).unwrap_err();
    assert_eq!(err, SendError::Full(msg(1, "overflow")));
    assert_eq!(Errno::from(err), Errno::EAGAIN);
    assert_eq!(qnum(&q), 2);
}

#[test]
fn blocking_recv_waits_for_a_send() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let (r, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| r.recv(Selector::Equal(4)));
        b.wait_until_sleeping();
        q.send(msg(3, "not this")).unwrap();
        q.send(msg(4, "this")).unwrap();
        assert_eq!(t.join().unwrap(), Ok(msg(4, "this")));
    });
    assert_eq!(qnum(&q), 1);
}

#[test]
fn blocking_send_waits_for_room() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    fill(&q);
    let (s_q, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| s_q.send(msg(1, "waited")));
        b.wait_until_sleeping();
        q.recv(Selector::Any).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(qnum(&q), 2);
}

#[test]
fn interrupted_blocking_recv_and_send_report_interrupted() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let (r, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| r.recv(Selector::Any));
        b.wait_until_sleeping();
        b.interrupt();
        let err = t.join().unwrap().unwrap_err();
        assert_eq!(err, RecvError::Interrupted);
        assert_eq!(Errno::from(err), Errno::ERESTARTNOHAND);
    });
    fill(&q);
    let (snd, b) = other_thread_q(&q, &w, 3);
    thread::scope(|s| {
        let t = s.spawn(|| snd.send(msg(1, "kept")));
        b.wait_until_sleeping();
        b.interrupt();
        assert_eq!(
            t.join().unwrap(),
            Err(SendError::Interrupted(msg(1, "kept")))
        );
    });
}

// ---------------------------------------------------------------------------------------------
// MessageQueue: timeouts

#[test]
fn recv_timeout_expires_when_the_clock_passes_the_deadline() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let (r, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| r.recv_timeout(Selector::Any, Duration::from_secs(2)));
        b.wait_until_sleeping();
        w.later(Duration::from_millis(1_999));
        assert!(
            b.is_sleeping() && !t.is_finished(),
            "not before the deadline"
        );
        w.later(Duration::from_millis(1));
        let err = t.join().unwrap().unwrap_err();
        assert_eq!(err, RecvTimeoutError::Timeout);
        assert!(err.is_timeout());
        assert_eq!(Errno::from(err), Errno::ENOMSG);
    });
    // The timed-out receiver left the queue: a later message stays queued.
    q.send(msg(1, "later")).unwrap();
    assert_eq!(qnum(&q), 1);
}

#[test]
fn recv_timeout_returns_a_message_sent_before_the_deadline() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let (r, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| r.recv_timeout(Selector::Equal(2), Duration::from_secs(5)));
        b.wait_until_sleeping();
        w.later(Duration::from_secs(4));
        q.send(msg(2, "in time")).unwrap();
        assert_eq!(t.join().unwrap(), Ok(msg(2, "in time")));
    });
}

#[test]
fn send_timeout_expires_when_the_clock_passes_the_deadline_and_gives_the_message_back() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    fill(&q);
    let (snd, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| snd.send_timeout(msg(1, "late"), Duration::from_secs(3)));
        b.wait_until_sleeping();
        w.later(Duration::from_secs(2));
        assert!(
            b.is_sleeping() && !t.is_finished(),
            "not before the deadline"
        );
        w.later(Duration::from_secs(1));
        let err = t.join().unwrap().unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(err, SendTimeoutError::Timeout(msg(1, "late")));
        assert_eq!(err.into_inner(), msg(1, "late"));
    });
    assert_eq!(qnum(&q), 2);
    assert_eq!(
        Errno::from(SendTimeoutError::Timeout(msg(1, ""))),
        Errno::EAGAIN
    );
}

#[test]
fn send_timeout_succeeds_when_room_is_made_before_the_deadline() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    fill(&q);
    let (snd, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| snd.send_timeout(msg(1, "fits"), Duration::from_secs(3)));
        b.wait_until_sleeping();
        w.later(Duration::from_secs(2));
        q.recv(Selector::Any).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(qnum(&q), 2);
}

#[test]
fn zero_timeouts_only_try() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    assert_eq!(
        q.recv_timeout(Selector::Any, Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    q.send_timeout(msg(1, "room"), Duration::ZERO).unwrap();
    assert_eq!(
        q.recv_timeout(Selector::Any, Duration::ZERO),
        Ok(msg(1, "room"))
    );
    fill(&q);
    let err = q.send_timeout(msg(1, "full"), Duration::ZERO).unwrap_err();
    assert_eq!(err, SendTimeoutError::Timeout(msg(1, "full")));
}

#[test]
fn timed_operations_wait_even_on_a_nonblocking_handle() {
    let w = World::new();
    let mut q = w.queue(Key::PRIVATE);
    q.set_nonblocking(true);
    let (r, b) = other_thread_q(&q, &w, 2);
    assert!(r.is_nonblocking());
    thread::scope(|s| {
        let t = s.spawn(|| r.recv_timeout(Selector::Any, Duration::from_secs(1)));
        b.wait_until_sleeping();
        q.send(msg(1, "waited for")).unwrap();
        assert_eq!(t.join().unwrap(), Ok(msg(1, "waited for")));
    });
}

#[test]
fn timed_operations_report_other_failures_as_failed() {
    let w = World::new();
    let q = w.queue(Key::PRIVATE);
    let err = q
        .send_timeout(msg(0, "bad"), Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(
        err,
        SendTimeoutError::Failed(SendError::Invalid(msg(0, "bad")))
    );
    assert!(!err.is_timeout());
    assert_eq!(err.into_inner(), msg(0, "bad"));
    let (r, b) = other_thread_q(&q, &w, 2);
    thread::scope(|s| {
        let t = s.spawn(|| r.recv_timeout(Selector::Any, Duration::from_secs(9)));
        b.wait_until_sleeping();
        b.interrupt();
        let err = t.join().unwrap().unwrap_err();
        assert_eq!(err, RecvTimeoutError::Failed(RecvError::Interrupted));
        assert_eq!(Errno::from(err), Errno::ERESTARTNOHAND);
    });
    q.destroy().unwrap();
    let err = q
        .send_timeout(msg(1, "gone"), Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(Errno::from(err), Errno::EIDRM);
    assert_eq!(
        q.recv_timeout(Selector::Any, Duration::from_secs(1)),
        Err(RecvTimeoutError::Failed(RecvError::Removed))
    );
}

#[test]
fn the_longest_timeout_on_the_system_clock_waits_without_panicking() {
    let ns = Arc::new(IpcNamespace::new());
    let me = Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()));
    let q = MessageQueue::create(ns, me, Key::PRIVATE, 0o600).unwrap();
    let b = Arc::new(ThreadBlocker::new());
    let r = q.with_caller(Caller::new(Credentials::root(), 2, b.clone()));
    thread::scope(|s| {
        let t = s.spawn(|| r.recv_timeout(Selector::Any, Duration::MAX));
        while !b.is_sleeping() {
            assert!(
                !t.is_finished(),
                "returned (or panicked) instead of waiting"
            );
            thread::yield_now();
        }
        q.send(msg(1, "eventually")).unwrap();
        assert_eq!(t.join().unwrap(), Ok(msg(1, "eventually")));
    });
}

// ---------------------------------------------------------------------------------------------
// Semaphore: create, open, remove

#[test]
fn semaphore_create_makes_a_set_of_zeros_then_finds_it_again() {
    let w = World::new();
    let me = w.user(1000);
    let s = Semaphore::create(w.ns.clone(), me.clone(), Key(0x5e4), 3, 0o640).unwrap();
    assert_eq!(s.nsems(), 3);
    assert_eq!(s.get_all(), Ok(vec![0, 0, 0]));
    let perm = s.sem_set().stat(&me.cred).unwrap().sem_perm;
    assert_eq!((perm.key, perm.mode, perm.uid), (0x5e4, 0o640, 1000));
    let again = Semaphore::create(w.ns.clone(), me.clone(), Key(0x5e4), 2, 0o640).unwrap();
    assert_eq!((again.id(), again.nsems()), (s.id(), 3));
    let err = Semaphore::create(w.ns.clone(), me, Key(0x5e4), 4, 0o640).unwrap_err();
    assert_eq!(err, Errno::EINVAL, "fewer semaphores than asked");
}

#[test]
fn semaphore_create_checks_nsems_and_mode() {
    let w = World::new();
    let create = |nsems, mode| Semaphore::create(w.ns.clone(), w.root(), Key(1), nsems, mode);
    assert_eq!(create(0, 0o600).unwrap_err(), Errno::EINVAL);
    assert_eq!(
        create(abi::SEMMSL as usize + 1, 0o600).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(create(usize::MAX, 0o600).unwrap_err(), Errno::EINVAL);
    assert_eq!(create(1, 0o4600).unwrap_err(), Errno::EINVAL);
    assert!(w.ns.sem().is_empty());
}

#[test]
fn semaphore_create_new_fails_with_eexist_when_the_key_is_taken() {
    let w = World::new();
    Semaphore::create_new(w.ns.clone(), w.root(), Key(2), 1, 0o600).unwrap();
    let err = Semaphore::create_new(w.ns.clone(), w.root(), Key(2), 1, 0o600).unwrap_err();
    assert_eq!(err, Errno::EEXIST);
}

#[test]
fn semaphore_open_finds_an_existing_set_and_is_enoent_otherwise() {
    let w = World::new();
    let open = |key| Semaphore::open(w.ns.clone(), w.root(), key);
    assert_eq!(open(Key(2)).unwrap_err(), Errno::ENOENT);
    assert_eq!(open(Key::PRIVATE).unwrap_err(), Errno::ENOENT);
    let name = Key::from_name("printer");
    let s = Semaphore::create(w.ns.clone(), w.root(), name, 2, 0o600).unwrap();
    let opened = open(name).unwrap();
    assert_eq!((opened.id(), opened.nsems()), (s.id(), 2));
    assert_eq!(w.ns.sem().len(), 1);
}

#[test]
fn semaphore_remove_by_key_and_destroy_remove_the_set() {
    let w = World::new();
    let root = w.root();
    let name = Key::from_name("printer");
    let s = Semaphore::create(w.ns.clone(), root.clone(), name, 1, 0o666).unwrap();
    assert_eq!(
        Semaphore::remove(&w.ns, &w.user(1000), name),
        Err(Errno::EPERM)
    );
    Semaphore::remove(&w.ns, &root, name).unwrap();
    assert_eq!(s.v(0, NONE), Err(Errno::EIDRM));
    assert_eq!(Semaphore::remove(&w.ns, &root, name), Err(Errno::ENOENT));
    assert_eq!(
        Semaphore::remove(&w.ns, &root, Key::PRIVATE),
        Err(Errno::ENOENT)
    );
    let t = w.sem(1);
    assert_eq!(t.with_caller(w.user(1000)).destroy(), Err(Errno::EPERM));
    t.destroy().unwrap();
    assert_eq!(t.destroy(), Err(Errno::EINVAL));
    assert_eq!(t.get(0), Err(Errno::EIDRM));
    assert!(w.ns.sem().is_empty());
}

#[test]
fn semaphore_destroy_wakes_a_sleeper_with_eidrm() {
    let w = World::new();
    let s = w.sem(1);
    let (p, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| p.p(0, NONE));
        b.wait_until_sleeping();
        s.destroy().unwrap();
        assert_eq!(t.join().unwrap(), Err(Errno::EIDRM));
    });
}

#[test]
fn semaphore_accessors_name_the_set_the_caller_and_the_namespace() {
    let w = World::new();
    let s = w.sem(2);
    assert_eq!(s.sem_set().id(), s.id());
    assert_eq!(s.caller().pid, 100);
    assert!(Arc::ptr_eq(s.namespace(), &w.ns));
    let other = s.with_caller(w.user(7));
    assert_eq!((other.caller().pid, other.id()), (7, s.id()));
    assert!(format!("{s:?}").contains("Semaphore"));
}

// ---------------------------------------------------------------------------------------------
// Semaphore: operations

#[test]
fn p_and_v_take_and_give_one_unit_as_the_handles_process() {
    let w = World::new();
    let s = w.sem(2);
    let (other, _) = other_thread_s(&s, &w, 55);
    other.v(1, NONE).unwrap();
    other.v(1, NONE).unwrap();
    assert_eq!(s.get_all(), Ok(vec![0, 2]));
    s.p(1, NONE).unwrap();
    assert_eq!(s.get(1), Ok(1));
    assert_eq!(s.sem_set().get_pid(&s.caller().cred, 1), Ok(100));
    other.p(1, NONE).unwrap();
    assert_eq!(s.sem_set().get_pid(&s.caller().cred, 1), Ok(55));
}

#[test]
fn p_with_nowait_on_zero_is_eagain_and_blocking_p_waits_for_a_v() {
    let w = World::new();
    let s = w.sem(1);
    assert_eq!(s.p(0, SemFlags::NOWAIT), Err(Errno::EAGAIN));
    let (p, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| p.p(0, NONE));
        b.wait_until_sleeping();
        s.v(0, NONE).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(s.get(0), Ok(0));
}

#[test]
fn interrupted_p_is_eintr() {
    let w = World::new();
    let s = w.sem(1);
    let (p, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| p.p(0, NONE));
        b.wait_until_sleeping();
        b.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
    });
}

#[test]
fn p_with_undo_is_reverted_when_the_caller_and_its_handles_are_gone() {
    let w = World::new();
    let s = w.sem(1);
    s.set(0, 2).unwrap();
    let worker = s.with_caller(w.root_process(300));
    worker.p(0, SemFlags::UNDO).unwrap();
    assert_eq!(s.get(0), Ok(1));
    drop(worker);
    assert_eq!(s.get(0), Ok(2));
}

#[test]
fn v_above_semvmx_is_erange_and_a_semaphore_beyond_the_set_is_efbig() {
    let w = World::new();
    let s = w.sem(1);
    s.set(0, abi::SEMVMX).unwrap();
    assert_eq!(s.v(0, NONE), Err(Errno::ERANGE));
    assert_eq!(s.p(1, NONE), Err(Errno::EFBIG));
    assert_eq!(s.v(u16::MAX, NONE), Err(Errno::EFBIG));
    assert_eq!(s.wait_zero(1, NONE), Err(Errno::EFBIG));
}

#[test]
fn wait_zero_returns_at_zero_fails_with_nowait_and_otherwise_waits() {
    let w = World::new();
    let s = w.sem(1);
    s.wait_zero(0, NONE).unwrap();
    s.set(0, 1).unwrap();
    assert_eq!(s.wait_zero(0, SemFlags::NOWAIT), Err(Errno::EAGAIN));
    let (z, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| z.wait_zero(0, NONE));
        b.wait_until_sleeping();
        s.p(0, NONE).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

#[test]
fn get_and_set_read_and_write_one_value_in_range() {
    let w = World::new();
    let s = w.sem(2);
    s.set(1, 7).unwrap();
    assert_eq!((s.get(0), s.get(1)), (Ok(0), Ok(7)));
    assert_eq!(s.set(0, -1), Err(Errno::ERANGE));
    assert_eq!(s.set(0, abi::SEMVMX + 1), Err(Errno::ERANGE));
    assert_eq!(s.set(2, 1), Err(Errno::EINVAL));
    assert_eq!(s.get(2), Err(Errno::EINVAL));
    let reader = s.with_caller(w.user(1000));
    assert_eq!(reader.get(1), Err(Errno::EACCES));
    assert_eq!(reader.set(1, 1), Err(Errno::EACCES));
}

#[test]
fn set_wakes_the_sleepers_it_lets_through() {
    let w = World::new();
    let s = w.sem(1);
    let (p, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| p.p(0, NONE));
        b.wait_until_sleeping();
        s.set(0, 3).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(s.get(0), Ok(2));
}

#[test]
fn get_all_and_set_all_cover_every_semaphore() {
    let w = World::new();
    let s = w.sem(3);
    s.set_all(&[1, 2, 3]).unwrap();
    assert_eq!(s.get_all(), Ok(vec![1, 2, 3]));
    assert_eq!(s.set_all(&[1, 2]), Err(Errno::EINVAL));
    assert_eq!(s.set_all(&[1, 2, 3, 4]), Err(Errno::EINVAL));
    assert_eq!(
        s.set_all(&[0, 0, abi::SEMVMX as u16 + 1]),
        Err(Errno::ERANGE)
    );
    assert_eq!(s.get_all(), Ok(vec![1, 2, 3]));
    assert_eq!(s.with_caller(w.user(1000)).get_all(), Err(Errno::EACCES));
}

#[test]
fn p_timeout_expires_when_the_clock_passes_the_deadline() {
    let w = World::new();
    let s = w.sem(1);
    let (p, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| p.p_timeout(0, NONE, Duration::from_secs(2)));
        b.wait_until_sleeping();
        w.later(Duration::from_secs(1));
        assert!(
            b.is_sleeping() && !t.is_finished(),
            "not before the deadline"
        );
        w.later(Duration::from_secs(1));
        let err = t.join().unwrap().unwrap_err();
        assert_eq!(err, SemTimeoutError::Timeout);
        assert_eq!(Errno::from(err), Errno::EAGAIN);
    });
    // It took nothing and left the queue: a later V stays.
    s.v(0, NONE).unwrap();
    assert_eq!(s.get(0), Ok(1));
}

#[test]
fn p_timeout_succeeds_when_a_v_comes_before_the_deadline() {
    let w = World::new();
    let s = w.sem(1);
    let (p, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| p.p_timeout(0, NONE, Duration::from_secs(2)));
        b.wait_until_sleeping();
        w.later(Duration::from_secs(1));
        s.v(0, NONE).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(s.get(0), Ok(0));
}

#[test]
fn p_timeout_tells_nowait_and_other_failures_apart_from_the_deadline() {
    let w = World::new();
    let s = w.sem(1);
    assert_eq!(
        s.p_timeout(0, NONE, Duration::ZERO),
        Err(SemTimeoutError::Timeout)
    );
    assert_eq!(
        s.p_timeout(0, SemFlags::NOWAIT, Duration::from_secs(1)),
        Err(SemTimeoutError::Failed(Errno::EAGAIN))
    );
    assert_eq!(
        s.p_timeout(4, NONE, Duration::from_secs(1)),
        Err(SemTimeoutError::Failed(Errno::EFBIG))
    );
    s.v(0, NONE).unwrap();
    s.p_timeout(0, NONE, Duration::ZERO).unwrap();
}

// ---------------------------------------------------------------------------------------------
// SemOps and apply

#[test]
fn sem_ops_build_the_sembuf_array_in_order() {
    let ops = SemOps::new()
        .p(0, SemFlags::UNDO)
        .v(1, NONE)
        .wait_zero(2, SemFlags::NOWAIT)
        .op(3, -4, SemFlags::UNDO | SemFlags::NOWAIT);
    let want = [
        (0, -1, abi::SEM_UNDO),
        (1, 1, 0),
        (2, 0, abi::IPC_NOWAIT),
        (3, -4, abi::SEM_UNDO | abi::IPC_NOWAIT),
    ]
    .map(|(n, o, f)| Sembuf {
        sem_num: n,
        sem_op: o,
        sem_flg: f as i16,
    });
    assert_eq!(ops.as_slice(), want);
    assert_eq!((ops.len(), ops.is_empty()), (4, false));
    assert!(SemOps::new().is_empty());
    assert_eq!(Vec::<Sembuf>::from(ops.clone()), want);
    assert_eq!(ops.into_vec(), want);
}

#[test]
fn sem_ops_run_through_the_namespace_as_well() {
    let w = World::new();
    let root = w.root();
    let id = w.ns.semget(&root, abi::IPC_PRIVATE, 2, 0o600).unwrap();
    let ops = SemOps::new().v(0, NONE).op(1, 5, NONE);
    w.ns.semop(&root, id, ops.as_slice()).unwrap();
    assert_eq!(w.ns.semctl_getall(&root, id), Ok(vec![1, 5]));
}

#[test]
fn apply_is_all_or_nothing() {
    let w = World::new();
    let s = w.sem(3);
    s.set_all(&[1, 0, 0]).unwrap();
    let both = SemOps::new().p(0, NONE).p(1, SemFlags::NOWAIT);
    assert_eq!(s.apply(&both), Err(Errno::EAGAIN));
    assert_eq!(s.get_all(), Ok(vec![1, 0, 0]), "nothing applied");
    // The same semaphore twice, and a wait for zero after an operation that makes it zero.
    let ops = SemOps::new()
        .v(2, NONE)
        .v(2, NONE)
        .p(0, NONE)
        .wait_zero(0, NONE);
    s.apply(&ops).unwrap();
    assert_eq!(s.get_all(), Ok(vec![0, 0, 2]));
}

#[test]
fn apply_checks_the_operation_count_like_semop() {
    let w = World::new();
    let s = w.sem(1);
    assert_eq!(s.apply(&SemOps::new()), Err(Errno::EINVAL));
    let mut many = SemOps::new();
    for _ in 0..=abi::SEMOPM {
        many = many.v(0, NONE);
    }
    assert_eq!(s.apply(&many), Err(Errno::E2BIG));
    assert_eq!(
        s.apply_timeout(&SemOps::new(), Duration::ZERO),
        Err(SemTimeoutError::Failed(Errno::EINVAL))
    );
    assert_eq!(s.get(0), Ok(0));
}

#[test]
fn apply_waits_until_every_operation_can_proceed() {
    let w = World::new();
    let s = w.sem(2);
    let (a, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let t = sc.spawn(|| a.apply(&SemOps::new().p(0, NONE).p(1, NONE)));
        b.wait_until_sleeping();
        s.v(0, NONE).unwrap();
        assert!(
            b.is_sleeping() && !t.is_finished(),
            "one of two is not enough"
        );
        s.v(1, NONE).unwrap();
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(s.get_all(), Ok(vec![0, 0]));
}

#[test]
fn apply_timeout_expires_having_applied_nothing() {
    let w = World::new();
    let s = w.sem(2);
    s.set(0, 1).unwrap();
    let (a, b) = other_thread_s(&s, &w, 2);
    thread::scope(|sc| {
        let ops = SemOps::new().p(0, NONE).p(1, NONE);
        let t = sc.spawn(move || a.apply_timeout(&ops, Duration::from_secs(5)));
        b.wait_until_sleeping();
        w.later(Duration::from_secs(5));
        assert_eq!(t.join().unwrap(), Err(SemTimeoutError::Timeout));
    });
    assert_eq!(s.get_all(), Ok(vec![1, 0]));
}

// ---------------------------------------------------------------------------------------------
// SemGuard

#[test]
fn guard_gives_back_what_it_acquired_when_dropped() {
    let w = World::new();
    let s = w.sem(1);
    s.set(0, 2).unwrap();
    {
        let g = s.acquire(0, NONE).unwrap();
        assert_eq!(s.get(0), Ok(1));
        assert_eq!(g.inverse().len(), 1);
        assert!(format!("{g:?}").contains("SemGuard"));
    }
    assert_eq!(s.get(0), Ok(2));
}

#[test]
fn guard_that_could_not_acquire_holds_nothing() {
    let w = World::new();
    let s = w.sem(1);
    assert_eq!(s.acquire(0, SemFlags::NOWAIT).unwrap_err(), Errno::EAGAIN);
    assert_eq!(s.get(0), Ok(0));
}

#[test]
fn guard_releases_when_its_holder_panics() {
    let w = World::new();
    let s = w.sem(2);
    s.set_all(&[1, 1]).unwrap();
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        let _g: SemGuard<'_> = s.acquire_ops(SemOps::new().p(0, NONE).p(1, NONE)).unwrap();
        assert_eq!(s.get_all(), Ok(vec![0, 0]));
        panic!("the holder fails");
    }));
    assert!(caught.is_err());
    assert_eq!(s.get_all(), Ok(vec![1, 1]));
}

#[test]
fn guard_held_by_a_thread_that_panics_lets_a_waiting_thread_through() {
    let w = World::new();
    let s = w.sem(1);
    s.set(0, 1).unwrap();
    let (holder, _) = other_thread_s(&s, &w, 2);
    let (waiter, b) = other_thread_s(&s, &w, 3);
    thread::scope(|sc| {
        let g = holder.acquire(0, NONE).unwrap();
        let t = sc.spawn(|| waiter.p(0, NONE));
        b.wait_until_sleeping();
        let h = sc.spawn(move || {
            let _g = g;
            panic!("the holder fails");
        });
        assert!(h.join().is_err());
        assert_eq!(t.join().unwrap(), Ok(()));
    });
    assert_eq!(s.get(0), Ok(0));
}

#[test]
fn guard_release_reports_failures_that_drop_cannot() {
    let w = World::new();
    let s = w.sem(1);
    s.set(0, 1).unwrap();
    let g = s.acquire(0, NONE).unwrap();
    g.release().unwrap();
    assert_eq!(s.get(0), Ok(1));
    let g = s.acquire(0, NONE).unwrap();
    s.destroy().unwrap();
    assert_eq!(g.release(), Err(Errno::EIDRM));
}

#[test]
fn guard_over_an_increment_takes_it_back_without_waiting() {
    let w = World::new();
    let s = w.sem(1);
    let g = s.acquire_ops(SemOps::new().v(0, NONE)).unwrap();
    assert_eq!(s.get(0), Ok(1));
    s.p(0, NONE).unwrap();
    // The unit is gone: taking it back would wait, so the release fails instead.
    assert_eq!(g.release(), Err(Errno::EAGAIN));
    let g = s.acquire_ops(SemOps::new().op(0, 3, NONE)).unwrap();
    drop(g);
    assert_eq!(s.get(0), Ok(0));
}

#[test]
fn guard_with_undo_leaves_no_adjustment_behind() {
    let w = World::new();
    let s = w.sem(1);
    s.set(0, 1).unwrap();
    let worker = s.with_caller(w.root_process(300));
    drop(worker.acquire(0, SemFlags::UNDO).unwrap());
    assert_eq!(s.get(0), Ok(1));
    drop(worker); // the process exits: its undo list is applied, and holds nothing
    assert_eq!(s.get(0), Ok(1));
}

#[test]
fn guard_of_waits_for_zero_only_has_nothing_to_give_back() {
    let w = World::new();
    let s = w.sem(1);
    let g = s.acquire_ops(SemOps::new().wait_zero(0, NONE)).unwrap();
    assert!(g.inverse().is_empty());
    assert_eq!(g.release(), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// ftok

#[cfg(unix)]
mod ftok {
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use sysvipc::{Errno, Key, ftok};

    const PROJ_IDS: [i32; 9] = [1, 0x41, 0x7f, 0x80, 0xff, 0x100, 0x1ff, -1, 0];

    fn paths() -> Vec<PathBuf> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        vec![
            PathBuf::from("/"),
            manifest.to_path_buf(),
            manifest.join("Cargo.toml"),
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
            PathBuf::from("/dev/null"),
        ]
    }

    #[test]
    fn ftok_follows_the_glibc_formula() {
        for path in paths() {
            let m = std::fs::metadata(&path).unwrap();
            for id in PROJ_IDS {
                let want = (id as u32 & 0xff) << 24
                    | (m.dev() as u32 & 0xff) << 16
                    | (m.ino() as u32 & 0xffff);
                assert_eq!(ftok(&path, id), Ok(Key(want as i32)), "{path:?} {id}");
            }
        }
    }

    #[test]
    fn ftok_agrees_with_the_hosts_glibc() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ftok-glibc");
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("ftok.c");
        let bin = dir.join("ftok");
        std::fs::write(
            &src,
            "#include <stdio.h>\n#include <stdlib.h>\n#include <sys/ipc.h>\n\
             int main(int argc, char **argv) {\n\
             \tfor (int i = 2; i < argc; i++)\n\
             \t\tprintf(\"%d\\n\", (int)ftok(argv[1], atoi(argv[i])));\n\
             \treturn 0;\n}\n",
        )
        .unwrap();
        let built = Command::new("gcc").arg("-o").arg(&bin).arg(&src).status();
        match built {
            Err(e) => {
                eprintln!("skipping the glibc comparison: gcc: {e}");
                return;
            }
            Ok(s) => assert!(s.success(), "gcc failed on {src:?}"),
        }
        for path in paths().into_iter().chain([src.clone()]) {
            let out = Command::new(&bin)
                .arg(&path)
                .args(PROJ_IDS.map(|id| id.to_string()))
                .output()
                .unwrap();
            assert!(out.status.success());
            let glibc: Vec<i32> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect();
            let ours: Vec<i32> = PROJ_IDS.map(|id| ftok(&path, id).unwrap().0).to_vec();
            assert_eq!(ours, glibc, "{path:?}");
        }
    }

    #[test]
    fn ftok_passes_stat_errors_through() {
        assert_eq!(ftok("/no/such/file", 1), Err(Errno::ENOENT));
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        assert_eq!(ftok(format!("{file}/below"), 1), Err(Errno::ENOTDIR));
        assert_eq!(ftok("", 1), Err(Errno::ENOENT));
        let long = "x".repeat(5000);
        assert_eq!(ftok(&long, 1), Err(Errno::ENAMETOOLONG));
        assert_eq!(ftok("nul\0inside", 1), Err(Errno::EINVAL));
    }
}

// ---- SharedSegment ----

#[test]
fn shared_segment_attaches_on_creation_and_detaches_when_dropped() {
    let w = World::new();
    let me = w.caller(Credentials::root(), 321).0;
    let seg = SharedSegment::create(w.ns.clone(), me, Key(0x51), 100, 0o640).unwrap();
    let ds = seg.stat().unwrap();
    assert_eq!(
        (ds.shm_segsz, ds.shm_nattch, ds.shm_lpid, ds.shm_perm.mode),
        (100, 1, 321, 0o640)
    );
    assert_eq!(seg.size(), 100);
    let id = seg.id().raw();
    w.clock.advance(Duration::from_secs(2));
    drop(seg);
    let (_, ds) =
        w.ns.shmctl_stat(&w.root(), id, sysvipc::ShmCtlCmd::Stat)
            .unwrap();
    assert_eq!((ds.shm_nattch, ds.shm_dtime), (0, T0 + 2));
}

#[test]
fn shared_segment_create_new_open_and_modes_follow_shmget() {
    let w = World::new();
    let key = Key::from_name("segment");
    let a = SharedSegment::create_new(w.ns.clone(), w.root(), key, 64, 0o600).unwrap();
    let again = SharedSegment::create_new(w.ns.clone(), w.root(), key, 64, 0o600);
    assert_eq!(again.unwrap_err(), Errno::EEXIST);
    let bigger = SharedSegment::create(w.ns.clone(), w.root(), key, 65, 0o600);
    assert_eq!(
        bigger.unwrap_err(),
        Errno::EINVAL,
        "an existing segment smaller than asked"
    );
    let b = SharedSegment::open(w.ns.clone(), w.root(), key).unwrap();
    assert_eq!((b.id(), b.size()), (a.id(), 64));
    let missing = SharedSegment::open(w.ns.clone(), w.root(), Key(77));
    assert_eq!(missing.unwrap_err(), Errno::ENOENT);
    let private = SharedSegment::open(w.ns.clone(), w.root(), Key::PRIVATE);
    assert_eq!(private.unwrap_err(), Errno::ENOENT);
    let odd = SharedSegment::create(w.ns.clone(), w.root(), Key(9), 1, 0o1000);
    assert_eq!(odd.unwrap_err(), Errno::EINVAL);
}

#[test]
fn shared_segment_reads_and_writes_by_offset_up_to_the_end_of_the_last_page() {
    let w = World::new();
    let seg = SharedSegment::create(w.ns.clone(), w.root(), Key::PRIVATE, 100, 0o600).unwrap();
    assert_eq!(seg.to_vec().unwrap(), vec![0; 100]);
    seg.write(98, b"xyz").unwrap();
    seg.write(4095, b"!").unwrap();
    assert_eq!(seg.write(4095, b"!!"), Err(Errno::EFAULT));
    assert_eq!(seg.read(4096, &mut [0]), Err(Errno::EFAULT));
    assert_eq!(seg.read(u64::MAX, &mut [0]), Err(Errno::EFAULT));
    assert_eq!(&seg.to_vec().unwrap()[98..], b"xy");
}

#[test]
fn read_only_shared_segment_needs_only_read_permission_and_cannot_write() {
    let w = World::new();
    let key = Key(0x52);
    let _owner = SharedSegment::create(w.ns.clone(), w.root(), key, 10, 0o644).unwrap();
    let user = w.caller(Credentials::user(1000, 1000), 2000).0;
    let rw = SharedSegment::open(w.ns.clone(), user.clone(), key);
    assert_eq!(rw.unwrap_err(), Errno::EACCES);
    let ro = SharedSegment::open_read_only(w.ns.clone(), user, key).unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.write(0, b"x"), Err(Errno::EFAULT));
    assert_eq!(ro.to_vec().unwrap(), vec![0; 10]);
}

#[test]
fn destroyed_shared_segment_frees_its_key_and_lives_until_its_last_handle_drops() {
    let w = World::new();
    let key = Key(0x53);
    let seg = SharedSegment::create(w.ns.clone(), w.root(), key, 10, 0o600).unwrap();
    seg.write(0, b"kept").unwrap();
    let memory = Arc::downgrade(seg.memory().unwrap());
    seg.destroy().unwrap();
    assert_eq!(seg.stat().unwrap().shm_perm.mode, 0o1600);
    let other = SharedSegment::create(w.ns.clone(), w.root(), key, 10, 0o600).unwrap();
    assert_ne!(other.id(), seg.id());
    let mut buf = [0; 4];
    seg.read(0, &mut buf).unwrap();
    assert_eq!(&buf, b"kept");
    drop(seg);
    assert!(memory.upgrade().is_none());
    SharedSegment::remove(&w.ns, &w.root(), key).unwrap();
    assert_eq!(
        other.stat().unwrap().shm_perm.mode,
        0o1600,
        "removed, still attached"
    );
    assert_eq!(
        SharedSegment::remove(&w.ns, &w.root(), key),
        Err(Errno::ENOENT)
    );
}

#[test]
fn shared_segment_handles_in_two_threads_see_each_others_writes() {
    let w = World::new();
    let key = Key(0x54);
    let seg = SharedSegment::create(w.ns.clone(), w.root(), key, 256, 0o600).unwrap();
    let ns = w.ns.clone();
    let me = w.root();
    thread::spawn(move || {
        let seg = SharedSegment::open(ns, me, key).unwrap();
        let bytes: Vec<u8> = (0..=255).collect();
        seg.write(0, &bytes).unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(seg.to_vec().unwrap(), (0..=255).collect::<Vec<u8>>());
    assert_eq!(seg.stat().unwrap().shm_nattch, 1);
}
