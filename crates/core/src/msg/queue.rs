//! One message queue: its state, and send, receive, copy, stat and set on it.
//!
//! Mirrors `do_msgsnd()`, `do_msgrcv()`, `msgctl_stat()`, `msgctl_down()` and `freeque()` of
//! Linux `ipc/msg.c`.
//!
//! # Locking
//!
//! Lock order: `Registry::table` → `Queue::state` → a wait entry's slot. Nothing under `state`
//! blocks, reads the clock or copies caller memory: times are read before locking and
//! wake-ups are delivered after unlocking.
//!
//! # Invariants (whenever `state` is unlocked)
//!
//! - `messages` holds the queued messages in arrival order; its totals are `q_qnum` and
//!   `q_cbytes`.
//! - every entry on `receivers` and `senders` has an empty outcome slot; completed entries
//!   have been unlinked by their completer.
//! - a waiting receiver matches no queued message (else it would have taken it).
//! - a removed queue has no messages and no waiters: those still waiting at removal were
//!   completed with `Removed`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::error::{RecvError, SendError};
use super::message::{Message, Selector};
use super::store::MessageStore;
use crate::Errno;
use crate::abi;
use crate::cred::{Caller, Capabilities, Credentials};
use crate::ipc::{Access, Id, IpcObject, Perm};
use crate::ns::Shared;
use crate::wait::{WaitEntry, WakeList, Wakeup};

/// A System V message queue, as `msgget(2)` creates it.
pub struct Queue {
    ns: Arc<Shared>,
    id: Id,
    /// Lock 2 of 2 (after the registry's table): everything that changes.
    state: Mutex<QueueState>,
}

struct QueueState {
    perm: Perm,
    removed: bool,
    stime: i64,
    rtime: i64,
    ctime: i64,
    qbytes: u64,
    lspid: i32,
    lrpid: i32,
    messages: MessageStore,
    receivers: VecDeque<Arc<Receiver>>,
    senders: VecDeque<Arc<Sender>>,
}

/// What a sleeping receiver waits for.
struct Want {
    selector: Selector,
    /// The longest text it accepts: its buffer, or `INT_MAX` with `MSG_NOERROR`.
    max_size: usize,
    /// Recorded as `msg_lrpid` when a sender hands it a message.
    tid: i32,
}

/// How a sleeping receiver's wait ended.
enum Received {
    /// A sender handed it this message.
    Message(Message),
    /// A sender had a matching message too long for it (`E2BIG`).
    TooBig,
    /// The queue was removed.
    Removed,
    /// `IPC_SET` changed the queue: run the whole receive again.
    Retry,
}

/// How a sleeping sender's wait ended.
enum Sent {
    /// Its message fits now (or `IPC_SET` changed the queue): run the whole send again.
    Retry,
    /// The queue was removed.
    Removed,
}

type Receiver = WaitEntry<Want, Received>;
/// A sleeping sender, with the size of its message.
type Sender = WaitEntry<usize, Sent>;

/// How long a blocking operation may wait.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// `IPC_NOWAIT`: fail instead of waiting.
    Never,
    /// Until woken, interrupted, or the monotonic deadline passes (`None`: no deadline).
    Until(Option<Duration>),
}

impl Wait {
    /// `IPC_NOWAIT` in `flags`: never wait; otherwise wait without a deadline.
    fn from_flags(flags: i32) -> Self {
        if flags & abi::IPC_NOWAIT != 0 {
            Wait::Never
        } else {
            Wait::Until(None)
        }
    }
}

impl Queue {
    pub(crate) fn new(ns: Arc<Shared>, id: Id, perm: Perm, now: i64) -> Self {
        let qbytes = ns.limits.msgmnb() as u64;
        Self {
            ns,
            id,
            state: Mutex::new(QueueState {
                perm,
                removed: false,
                stime: 0,
                rtime: 0,
                ctime: now,
                qbytes,
                lspid: 0,
                lrpid: 0,
                messages: MessageStore::default(),
                receivers: VecDeque::new(),
                senders: VecDeque::new(),
            }),
        }
    }

    /// The queue's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// `msgsnd(2)`: appends `msg`, or hands it straight to the first waiting receiver that
    /// wants it. Waits for room unless `flags` has `IPC_NOWAIT`.
    ///
    /// Checks in Linux's order: `EINVAL` (text above `msgmax`, type below 1), then on every
    /// attempt `EACCES` (write permission), `EIDRM`, and room: the text must fit in
    /// `msg_qbytes - msg_cbytes`, and the message count is capped by `msg_qbytes` as well.
    pub fn send(&self, caller: &Caller, msg: Message, flags: i32) -> Result<(), SendError> {
        let wait = Wait::from_flags(flags);
        self.send_with(caller, msg, wait)
    }

    pub(crate) fn send_with(
        &self,
        caller: &Caller,
        mut msg: Message,
        wait: Wait,
    ) -> Result<(), SendError> {
        if !self.valid(&msg) {
            return Err(SendError::Invalid(msg));
        }
        loop {
            let now = self.ns.clock.realtime();
            let mut wake = WakeList::default();
            let mut st = self.state.lock();
            msg = match st.try_send(caller, msg, now, &mut wake) {
                Ok(()) => {
                    drop(st);
                    wake.wake_all();
                    return Ok(());
                }
                Err(SendError::Full(msg)) => msg,
                Err(e) => return Err(e),
            };
            let Wait::Until(deadline) = wait else {
                return Err(SendError::Full(msg));
            };
            let entry = WaitEntry::new(msg.len(), Arc::clone(&caller.blocker));
            st.senders.push_back(Arc::clone(&entry));
            drop(st);
            let (outcome, why) = entry.sleep(deadline, || {
                let mut st = self.state.lock();
                entry.take().or_else(|| {
                    st.senders.retain(|s| !Arc::ptr_eq(s, &entry));
                    None
                })
            });
            // Removal wins over a pending signal, which wins over a retry.
            match (outcome, why) {
                (Some(Sent::Removed), _) => return Err(SendError::Removed(msg)),
                (_, Wakeup::Interrupted) => return Err(SendError::Interrupted(msg)),
                (Some(Sent::Retry), _) => continue,
                (None, _) => return Err(SendError::TimedOut(msg)),
            }
        }
    }

    /// Whether `msg` escapes `EINVAL` (a text above `msgmax`, a type below 1): checked once
    /// per `msgsnd`.
    fn valid(&self, msg: &Message) -> bool {
        msg.len() <= self.ns.limits.msgmax().max(0) as usize && msg.mtype >= 1
    }

    /// `msgrcv(2)`: removes and returns the message `selector` picks. Waits for one unless
    /// `flags` has `IPC_NOWAIT`; with `MSG_NOERROR` a longer message is truncated to
    /// `max_size`, otherwise it stays queued and the receive fails with `E2BIG`.
    pub fn receive(
        &self,
        caller: &Caller,
        selector: Selector,
        max_size: usize,
        flags: i32,
    ) -> Result<Message, RecvError> {
        let wait = Wait::from_flags(flags);
        self.receive_with(
            caller,
            selector,
            max_size,
            flags & abi::MSG_NOERROR != 0,
            wait,
        )
    }

    pub(crate) fn receive_with(
        &self,
        caller: &Caller,
        selector: Selector,
        max_size: usize,
        truncate: bool,
        wait: Wait,
    ) -> Result<Message, RecvError> {
        let mut msg = loop {
            let now = self.ns.clock.realtime();
            let mut wake = WakeList::default();
            let mut st = self.state.lock();
            match st.try_receive(caller, selector, max_size, truncate, now, &mut wake) {
                Ok(msg) => {
                    drop(st);
                    wake.wake_all();
                    break msg;
                }
                Err(RecvError::NoMessage) => {}
                Err(e) => return Err(e),
            }
            let Wait::Until(deadline) = wait else {
                return Err(RecvError::NoMessage);
            };
            let want = Want {
                selector,
                max_size: if truncate {
                    i32::MAX as usize
                } else {
                    max_size
                },
                tid: caller.tid,
            };
            let entry = WaitEntry::new(want, Arc::clone(&caller.blocker));
            st.receivers.push_back(Arc::clone(&entry));
            drop(st);
            let (outcome, why) = entry.sleep(deadline, || {
                let mut st = self.state.lock();
                entry.take().or_else(|| {
                    st.receivers.retain(|r| !Arc::ptr_eq(r, &entry));
                    None
                })
            });
            // A message handed over (or a verdict) wins over a pending signal, which wins
            // over a retry.
            match (outcome, why) {
                (Some(Received::Message(msg)), _) => break msg,
                (Some(Received::TooBig), _) => return Err(RecvError::TooBig),
                (Some(Received::Removed), _) => return Err(RecvError::Removed),
                (_, Wakeup::Interrupted) => return Err(RecvError::Interrupted),
                (Some(Received::Retry), _) => continue,
                (None, _) => return Err(RecvError::TimedOut),
            }
        };
        msg.text.truncate(max_size);
        Ok(msg)
    }

    /// `msgrcv(2)` with `MSG_COPY`: a copy of the message at `index` (0 is the oldest), left
    /// in the queue; no time or pid changes. The copy buffer holds `min(max_size, msgmax)`
    /// bytes and a longer message is `EINVAL`, except that without `MSG_NOERROR` a message
    /// longer than `max_size` is `E2BIG` first. `ENOMSG` for an index out of range.
    pub fn copy(
        &self,
        caller: &Caller,
        index: i64,
        max_size: usize,
        flags: i32,
    ) -> Result<Message, RecvError> {
        let buffer = max_size.min(self.ns.limits.msgmax().max(0) as usize);
        let st = self.state.lock();
        st.perm
            .check(&caller.cred, Access::READ)
            .map_err(|_| RecvError::Denied)?;
        if st.removed {
            return Err(RecvError::Removed);
        }
        let found = usize::try_from(index)
            .ok()
            .and_then(|n| st.messages.nth(n))
            .ok_or(RecvError::NoMessage)?;
        if found.len() > max_size && flags & abi::MSG_NOERROR == 0 {
            return Err(RecvError::TooBig);
        }
        if found.len() > buffer {
            return Err(RecvError::Invalid);
        }
        Ok(found.clone())
    }

    /// `msgctl(IPC_STAT)`: the queue's `msqid64_ds`; needs read permission.
    pub fn stat(&self, cred: &Credentials) -> Result<abi::Msqid64Ds, Errno> {
        self.stat_as(Some(cred))
    }

    /// `msgctl(MSG_STAT_ANY)`: the queue's `msqid64_ds` without a permission check.
    pub fn stat_any(&self) -> Result<abi::Msqid64Ds, Errno> {
        self.stat_as(None)
    }

    /// `msgctl(IPC_SET)`: new owner, mode bits and `msg_qbytes` from `ds`.
    ///
    /// Order as in `msgctl_down()`: `EPERM` unless owner, creator or `CAP_SYS_ADMIN`; `EPERM`
    /// for `msg_qbytes` above `msgmnb` without `CAP_SYS_RESOURCE`; `EINVAL` for an unmappable
    /// uid or gid. Linux passes `msg_qbytes` through an `int`: only its low 32 bits count, and
    /// they are compared unsigned but stored sign-extended. Every waiting receiver retries
    /// (its permission may be gone), and every waiting sender whose message now fits.
    pub fn set(&self, cred: &Credentials, ds: &abi::Msqid64Ds) -> Result<(), Errno> {
        let now = self.ns.clock.realtime();
        let qbytes = ds.msg_qbytes as i32;
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        if st.removed {
            return Err(Errno::EIDRM);
        }
        st.perm.check_owner(cred)?;
        if qbytes as u32 > self.ns.limits.msgmnb() as u32 && !cred.has(Capabilities::SYS_RESOURCE) {
            return Err(Errno::EPERM);
        }
        st.perm.update(&ds.msg_perm)?;
        st.qbytes = i64::from(qbytes) as u64;
        st.ctime = now;
        for r in st.receivers.drain(..) {
            r.complete(Received::Retry, &mut wake);
        }
        st.wake_senders_that_fit(&mut wake);
        drop(st);
        wake.wake_all();
        Ok(())
    }

    /// The `IPC_RMID` step that runs under the registry's write lock: the ownership check,
    /// then `freeque()`: every waiter is completed with `EIDRM` and the messages are freed.
    pub(crate) fn remove_locked(&self, cred: &Credentials) -> Result<WakeList, Errno> {
        let mut wake = WakeList::default();
        let mut st = self.state.lock();
        st.perm.check_owner(cred)?;
        st.removed = true;
        for r in st.receivers.drain(..) {
            r.complete(Received::Removed, &mut wake);
        }
        for s in st.senders.drain(..) {
            s.complete(Sent::Removed, &mut wake);
        }
        st.messages.clear();
        Ok(wake)
    }

    /// The `msgget` check on an existing queue: `ipcperms` with the requested mode bits.
    pub(crate) fn check_get(&self, cred: &Credentials, flags: i32) -> Result<(), Errno> {
        self.state
            .lock()
            .perm
            .check(cred, Access::requested_by(flags))
    }

    /// The message and byte totals for `MSG_INFO`.
    pub(crate) fn totals(&self) -> (usize, usize) {
        let st = self.state.lock();
        (st.messages.count(), st.messages.bytes())
    }
}

impl IpcObject for Queue {
    type Stat = abi::Msqid64Ds;

    fn id(&self) -> Id {
        self.id
    }

    fn stat_as(&self, cred: Option<&Credentials>) -> Result<abi::Msqid64Ds, Errno> {
        let st = self.state.lock();
        if let Some(cred) = cred {
            st.perm.check(cred, Access::READ)?;
        }
        if st.removed {
            return Err(Errno::EIDRM);
        }
        Ok(abi::Msqid64Ds {
            msg_perm: st.perm.to_abi(self.id),
            msg_stime: st.stime,
            msg_rtime: st.rtime,
            msg_ctime: st.ctime,
            msg_cbytes: st.messages.bytes() as u64,
            msg_qnum: st.messages.count() as u64,
            msg_qbytes: st.qbytes,
            msg_lspid: st.lspid,
            msg_lrpid: st.lrpid,
            ..abi::Msqid64Ds::default()
        })
    }
}

impl QueueState {
    /// `msg_fits_inqueue()`: room for `size` more bytes and one more message.
    /// The checks and the work of one `msgsnd` attempt, under the lock: `EACCES`, `EIDRM`,
    /// then the message is handed to a receiver or queued, or `Full` gives it back.
    fn try_send(
        &mut self,
        caller: &Caller,
        msg: Message,
        now: i64,
        wake: &mut WakeList,
    ) -> Result<(), SendError> {
        if self.perm.check(&caller.cred, Access::WRITE).is_err() {
            return Err(SendError::Denied(msg));
        }
        if self.removed {
            return Err(SendError::Removed(msg));
        }
        if !self.fits(msg.len()) {
            return Err(SendError::Full(msg));
        }
        self.lspid = caller.pid;
        self.stime = now;
        if self.receivers.is_empty() {
            self.messages.push(msg);
        } else if let Some(msg) = self.hand_to_receiver(msg, now, wake) {
            self.messages.push(msg);
        }
        Ok(())
    }

    /// The checks and the work of one `msgrcv` attempt, under the lock: `EACCES`, `EIDRM`,
    /// then the matching message (`E2BIG` if too long without truncation), or `NoMessage`.
    fn try_receive(
        &mut self,
        caller: &Caller,
        selector: Selector,
        max_size: usize,
        truncate: bool,
        now: i64,
        wake: &mut WakeList,
    ) -> Result<Message, RecvError> {
        if self.perm.check(&caller.cred, Access::READ).is_err() {
            return Err(RecvError::Denied);
        }
        if self.removed {
            return Err(RecvError::Removed);
        }
        let (mtype, found) = self.messages.find(selector).ok_or(RecvError::NoMessage)?;
        if found.len() > max_size && !truncate {
            return Err(RecvError::TooBig);
        }
        let msg = self.messages.pop(mtype).ok_or(RecvError::NoMessage)?;
        self.rtime = now;
        self.lrpid = caller.pid;
        self.wake_senders_that_fit(wake);
        Ok(msg)
    }

    fn fits(&self, size: usize) -> bool {
        let cbytes = self.messages.bytes() as u64;
        let qnum = self.messages.count() as u64;
        (size as u64).saturating_add(cbytes) <= self.qbytes && qnum < self.qbytes
    }

    /// `pipelined_send()`: gives `msg` to the first waiting receiver that wants it. Receivers
    /// that want it but whose buffer is too small fail with `E2BIG` on the way. Returns the
    /// message if nobody took it.
    fn hand_to_receiver(&mut self, msg: Message, now: i64, wake: &mut WakeList) -> Option<Message> {
        let mut i = 0;
        while i < self.receivers.len() {
            if !self.receivers[i].data.selector.matches(msg.mtype) {
                i += 1;
                continue;
            }
            let Some(r) = self.receivers.remove(i) else {
                break;
            };
            if r.data.max_size < msg.len() {
                r.complete(Received::TooBig, wake);
                continue;
            }
            self.lrpid = r.data.tid;
            self.rtime = now;
            r.complete(Received::Message(msg), wake);
            return None;
        }
        Some(msg)
    }

    /// `ss_wakeup(.., false)`: every waiting sender whose message fits now retries; the others
    /// keep waiting, in their order.
    fn wake_senders_that_fit(&mut self, wake: &mut WakeList) {
        if self.senders.is_empty() {
            return;
        }
        let free_bytes = self.qbytes.saturating_sub(self.messages.bytes() as u64);
        let has_slot = (self.messages.count() as u64) < self.qbytes;
        self.senders.retain(|s| {
            let fits = has_slot && s.data as u64 <= free_bytes;
            if fits {
                s.complete(Sent::Retry, wake);
            }
            !fits
        });
    }
}
