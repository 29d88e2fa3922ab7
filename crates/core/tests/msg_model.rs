//! Message queues checked against a reference model, one random operation at a time.
//!
//! Random sequences of non-blocking message operations (every send and receive carries
//! `IPC_NOWAIT`, so nothing sleeps) run on an [`IpcNamespace`] and on [`Model`], a deliberately
//! naive restatement of Linux's rules (`ipc/msg.c`, `ipc/util.c`; `linux-ipc.md` §1.2–1.8 and
//! §2): a queue is a `Vec` of `(type, text)` in arrival order, every search is a linear scan,
//! and ids come from a literal transcription of `ipc_idr_alloc()`. Every result — the return
//! value or errno, the received message, whole `msqid64_ds` and `msginfo` structures, times
//! included — must match the model, and the invariants of [`check_invariants`] must hold after
//! every step.
//!
//! Time runs on a [`ManualClock`] that only the operations move, so the model predicts every
//! `msg_stime`, `msg_rtime` and `msg_ctime` exactly.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sysvipc::abi::{self, Ipc64Perm, Msginfo, Msqid64Ds};
use sysvipc::{
    Caller, Capabilities, Credentials, Errno, IpcNamespace, ManualBlocker, ManualClock, Message,
    MsgCtlCmd,
};

/// The manual clock's wall time when a test starts.
const START: i64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// Callers
// ---------------------------------------------------------------------------------------------

/// A caller as the model sees it: identity, the three capabilities message queues consult, and
/// process/thread ids.
#[derive(Clone, Copy, Debug)]
struct Who {
    euid: u32,
    egid: u32,
    fsgid: u32,
    groups: &'static [u32],
    /// `CAP_IPC_OWNER`: bypasses `ipcperms`.
    ipc_owner: bool,
    /// `CAP_SYS_ADMIN`: `IPC_SET`/`IPC_RMID` without owning the queue.
    sys_admin: bool,
    /// `CAP_SYS_RESOURCE`: `msg_qbytes` above `msgmnb`.
    sys_resource: bool,
    pid: i32,
    tid: i32,
}

/// Root with every capability.
const ROOT: usize = 0;
/// Uid 0 without any capability.
const ROOT_NO_CAPS: usize = 1;

const WHO: [Who; 7] = [
    // 0: root with every capability.
    Who {
        euid: 0,
        egid: 0,
        fsgid: 0,
        groups: &[],
        ipc_owner: true,
        sys_admin: true,
        sys_resource: true,
        pid: 100,
        tid: 100,
    },
    // 1: uid 0 without any capability: owner of what root creates, nothing more.
    Who {
        euid: 0,
        egid: 0,
        fsgid: 0,
        groups: &[],
        ipc_owner: false,
        sys_admin: false,
        sys_resource: false,
        pid: 110,
        tid: 110,
    },
    // 2: alice, calling from thread 211 of process 210 (pids recorded are the tgid).
    Who {
        euid: 1000,
        egid: 1000,
        fsgid: 1000,
        groups: &[],
        ipc_owner: false,
        sys_admin: false,
        sys_resource: false,
        pid: 210,
        tid: 211,
    },
    // 3: bob, in another group.
    Who {
        euid: 2000,
        egid: 2000,
        fsgid: 2000,
        groups: &[],
        ipc_owner: false,
        sys_admin: false,
        sys_resource: false,
        pid: 310,
        tid: 310,
    },
    // 4: carol, with alice's group 1000 as a supplementary group.
    Who {
        euid: 3000,
        egid: 3000,
        fsgid: 3000,
        groups: &[1000],
        ipc_owner: false,
        sys_admin: false,
        sys_resource: false,
        pid: 410,
        tid: 410,
    },
    // 5: dave, egid 4000 but fsgid 2000: in bob's group for `in_group_p`, not in his own.
    Who {
        euid: 4000,
        egid: 4000,
        fsgid: 2000,
        groups: &[],
        ipc_owner: false,
        sys_admin: false,
        sys_resource: false,
        pid: 510,
        tid: 510,
    },
    // 6: erin, CAP_IPC_OWNER and CAP_SYS_RESOURCE without CAP_SYS_ADMIN.
    Who {
        euid: 5000,
        egid: 5000,
        fsgid: 5000,
        groups: &[],
        ipc_owner: true,
        sys_admin: false,
        sys_resource: true,
        pid: 610,
        tid: 610,
    },
];

/// The implementation's caller for `w`. A caller with all three capabilities that matter
/// gets every capability there is.
fn caller(w: &Who, blocker: &Arc<ManualBlocker>) -> Caller {
    let caps = if w.ipc_owner && w.sys_admin && w.sys_resource {
        Capabilities::all()
    } else {
        let mut caps = Capabilities::empty();
        caps.set(Capabilities::IPC_OWNER, w.ipc_owner);
        caps.set(Capabilities::SYS_ADMIN, w.sys_admin);
        caps.set(Capabilities::SYS_RESOURCE, w.sys_resource);
        caps
    };
    let cred = Credentials {
        ruid: w.euid,
        euid: w.euid,
        egid: w.egid,
        fsgid: w.fsgid,
        groups: w.groups.to_vec(),
        caps,
    };
    let blocker: Arc<dyn sysvipc::Blocker> = blocker.clone();
    Caller::new(cred, w.pid, blocker).with_tid(w.tid)
}

// ---------------------------------------------------------------------------------------------
// Operations: generated abstractly, resolved against the model into concrete calls
// ---------------------------------------------------------------------------------------------

/// How an operation names a queue. Resolved against the model's state when the operation
/// runs, so shrunk sequences still aim at real queues.
#[derive(Clone, Copy, Debug)]
enum IdRef {
    /// The n-th live queue (modulo their number), or 0 when there is none.
    Live(usize),
    /// The n-th id ever handed out: stale once its queue is gone.
    Seen(usize),
    /// The n-th live queue's id plus 32768: right index, next sequence number.
    NextSeq(usize),
    /// A literal: negative, a small index, index plus 32768, extremes.
    Raw(i32),
}

/// A message size.
#[derive(Clone, Copy, Debug)]
enum Size {
    Bytes(usize),
    /// Exactly the current `msgmax`.
    AtMsgmax,
    /// One more than the current `msgmax`.
    AboveMsgmax,
}

/// A uid or gid for `IPC_SET`.
#[derive(Clone, Copy, Debug)]
enum Owner {
    /// The queue's current value (as a program that did `IPC_STAT` first would pass).
    Keep,
    /// The euid / egid of one of the callers.
    Of(usize),
    /// `(uid_t)-1`: unmappable.
    Invalid,
    /// Somebody who is none of the callers.
    Stranger,
}

/// A `msg_qbytes` for `IPC_SET`.
#[derive(Clone, Copy, Debug)]
enum Qbytes {
    /// The queue's current value.
    Keep,
    Small(u64),
    /// `msgmnb` plus -1, 0 or 1.
    NearMsgmnb(i64),
    Raw(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    Msgmax,
    Msgmnb,
    Msgmni,
}

#[derive(Clone, Debug)]
enum Op {
    Get {
        who: usize,
        key: i32,
        mode: u32,
        creat: bool,
        excl: bool,
        stray: i32,
    },
    Send {
        who: usize,
        id: IdRef,
        mtype: i64,
        size: Size,
        stray: i32,
    },
    Recv {
        who: usize,
        id: IdRef,
        msgsz: i64,
        msgtyp: i64,
        noerror: bool,
        except: bool,
        copy: bool,
        /// Only ever false together with `copy` (which then fails with `EINVAL` at once).
        nowait: bool,
    },
    Stat {
        who: usize,
        id: IdRef,
        cmd: MsgCtlCmd,
    },
    Set {
        who: usize,
        id: IdRef,
        uid: Owner,
        gid: Owner,
        mode: u32,
        qbytes: Qbytes,
    },
    /// Several sends in a row by one caller to one queue: builds deep queues, with several
    /// messages of a type, for typed receives and `MSG_COPY` indexes.
    Burst {
        who: usize,
        id: IdRef,
        msgs: Vec<(i64, usize)>,
    },
    Rmid {
        who: usize,
        id: IdRef,
    },
    Info {
        id: i32,
        cmd: MsgCtlCmd,
    },
    SetLimit(Limit, i64),
    SetNextId(i64),
    /// Moves the clock forward by this many milliseconds.
    Advance(u64),
    /// Sets the clock's wall time (it may go backwards).
    SetRealtime(i64),
    /// Creates and removes this many private queues, one after the other (as root): drives the
    /// index allocator around its cycle.
    Churn(usize),
}

/// An operation with every argument concrete, as both sides execute it.
#[derive(Clone, Debug)]
enum Call {
    Get {
        who: usize,
        key: i32,
        flags: i32,
    },
    Send {
        who: usize,
        id: i32,
        mtype: i64,
        text: Vec<u8>,
        flags: i32,
    },
    Recv {
        who: usize,
        id: i32,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    },
    Stat {
        who: usize,
        id: i32,
        cmd: MsgCtlCmd,
    },
    Set {
        who: usize,
        id: i32,
        ds: Box<Msqid64Ds>,
    },
    Rmid {
        who: usize,
        id: i32,
    },
    Info {
        id: i32,
        cmd: MsgCtlCmd,
    },
    SetLimit(Limit, i64),
    SetNextId(i64),
    Advance(u64),
    SetRealtime(i64),
    Churn(usize),
    /// These calls, one after the other.
    Many(Vec<Call>),
}

/// What one call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Id(Result<i32, Errno>),
    Unit(Result<(), Errno>),
    /// The received message: its type and text (the syscall returns the text's length).
    Msg(Result<(i64, Vec<u8>), Errno>),
    Stat(Result<(i32, Msqid64Ds), Errno>),
    Info(Result<(i32, Msginfo), Errno>),
    Done,
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// One queue of the model (`struct msg_queue` with its `kern_ipc_perm`).
#[derive(Clone, Debug)]
struct MQueue {
    idx: usize,
    seq: u32,
    key: i32,
    uid: u32,
    gid: u32,
    cuid: u32,
    cgid: u32,
    mode: u32,
    qbytes: u64,
    /// The queued messages, oldest first.
    msgs: Vec<(i64, Vec<u8>)>,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
}

impl MQueue {
    fn id(&self) -> i32 {
        ((i64::from(self.seq) << 15) + self.idx as i64) as i32
    }

    fn qnum(&self) -> u64 {
        self.msgs.len() as u64
    }

    fn cbytes(&self) -> u64 {
        self.msgs.iter().map(|(_, text)| text.len() as u64).sum()
    }

    /// What `IPC_STAT` reports (`msgctl_stat`: the struct is zeroed first).
    fn ds(&self) -> Msqid64Ds {
        Msqid64Ds {
            msg_perm: Ipc64Perm {
                key: self.key,
                uid: self.uid,
                gid: self.gid,
                cuid: self.cuid,
                cgid: self.cgid,
                mode: self.mode,
                seq: self.seq as u16,
                pad2: 0,
                pad3: 0,
                unused1: 0,
                unused2: 0,
            },
            msg_stime: self.stime,
            msg_rtime: self.rtime,
            msg_ctime: self.ctime,
            msg_cbytes: self.cbytes(),
            msg_qnum: self.qnum(),
            msg_qbytes: self.qbytes,
            msg_lspid: self.lspid,
            msg_lrpid: self.lrpid,
            unused4: 0,
            unused5: 0,
        }
    }
}

/// `in_group_p()`: the fsgid or a supplementary group (the egid does not count).
fn in_group(w: &Who, gid: u32) -> bool {
    w.fsgid == gid || w.groups.contains(&gid)
}

/// `ipcperms()`: whether `w` gets the access `flag` asks for. The rwx bits requested are the
/// union of the three triads of `flag`; only the first class that matches the caller (owner,
/// then group, then other) is consulted; `CAP_IPC_OWNER` overrides.
fn ipcperms(q: &MQueue, w: &Who, flag: u32) -> bool {
    let wanted = (flag | (flag >> 3) | (flag >> 6)) & 0o7;
    let granted = if w.euid == q.cuid || w.euid == q.uid {
        (q.mode >> 6) & 0o7
    } else if in_group(w, q.cgid) || in_group(w, q.gid) {
        (q.mode >> 3) & 0o7
    } else {
        q.mode & 0o7
    };
    let missing = wanted & !granted;
    missing == 0 || w.ipc_owner
}

/// `ipcctl_obtain_check()`: who may `IPC_SET` and `IPC_RMID`.
fn may_change(q: &MQueue, w: &Who) -> bool {
    w.euid == q.cuid || w.euid == q.uid || w.sys_admin
}

/// The message `msgrcv` picks (`convert_mode` + `find_msg`), as a position in `msgs`.
fn pick(msgs: &[(i64, Vec<u8>)], msgtyp: i64, flags: i32) -> Option<usize> {
    if flags & abi::MSG_COPY != 0 {
        // msgtyp is an index counted from the oldest message.
        let n = usize::try_from(msgtyp).ok()?;
        return (n < msgs.len()).then_some(n);
    }
    if msgtyp == 0 {
        return if msgs.is_empty() { None } else { Some(0) };
    }
    if msgtyp < 0 {
        // The lowest type not above |msgtyp|, the oldest of that type; -LONG_MIN is LONG_MAX.
        let limit = if msgtyp == i64::MIN {
            i64::MAX
        } else {
            -msgtyp
        };
        let lowest = msgs.iter().map(|(t, _)| *t).filter(|t| *t <= limit).min()?;
        return msgs.iter().position(|(t, _)| *t == lowest);
    }
    if flags & abi::MSG_EXCEPT != 0 {
        msgs.iter().position(|(t, _)| *t != msgtyp)
    } else {
        msgs.iter().position(|(t, _)| *t == msgtyp)
    }
}

/// Linux's message queues of one namespace, written plainly.
#[derive(Debug)]
struct Model {
    /// The clock's wall time, and its monotonic time in milliseconds.
    now: i64,
    mono_ms: u64,
    msgmax: i32,
    msgmnb: i32,
    msgmni: i32,
    /// Live queues, in creation order.
    queues: Vec<MQueue>,
    /// Every id ever handed out.
    seen: Vec<i32>,
    /// `ids->seq`, `ids->last_idx`, the idr's cyclic cursor (`idr_next`), `ids->next_id`.
    seq: u32,
    last_idx: i64,
    idr_next: usize,
    next_id: i32,
    /// Makes every message text distinct.
    serial: u32,
}

impl Model {
    fn new() -> Self {
        Self {
            now: START,
            mono_ms: 0,
            msgmax: 8192,
            msgmnb: 16384,
            msgmni: 32000,
            queues: Vec::new(),
            seen: Vec::new(),
            seq: 0,
            last_idx: -1,
            idr_next: 0,
            next_id: -1,
            serial: 0,
        }
    }

    /// The live queue `id` names (index and sequence number must both match).
    fn lookup(&self, id: i32) -> Option<usize> {
        if id < 0 {
            return None;
        }
        let (idx, seq) = ((id & 0x7fff) as usize, (id >> 15) as u32);
        self.queues
            .iter()
            .position(|q| q.idx == idx && q.seq == seq)
    }

    /// The live queue in slot `index & 0x7fff`, whatever its sequence number (`*_STAT`).
    fn in_slot(&self, index: i32) -> Option<usize> {
        let idx = (index & 0x7fff) as usize;
        self.queues.iter().position(|q| q.idx == idx)
    }

    fn used(&self, idx: usize) -> bool {
        self.queues.iter().any(|q| q.idx == idx)
    }

    /// `ipc_idr_alloc()`: the sequence number and index of a new queue.
    fn alloc(&mut self) -> (u32, usize) {
        let next_id = std::mem::replace(&mut self.next_id, -1);
        if next_id >= 0 {
            // idr_alloc(start = the knob's index, no end); seq from the knob; the cyclic
            // state is untouched.
            let mut idx = (next_id & 0x7fff) as usize;
            while self.used(idx) {
                idx += 1;
            }
            return ((next_id >> 15) as u32, idx);
        }
        // idr_alloc_cyclic(start 0, end max(in_use * 3 / 2, 64) capped at IPCMNI).
        let end = (self.queues.len() * 3 / 2).clamp(64, 32768);
        let idx = (self.idr_next..end)
            .find(|i| !self.used(*i))
            .or_else(|| (0..end).find(|i| !self.used(*i)))
            .expect("fewer queues than the cycle length");
        self.idr_next = idx + 1;
        if idx as i64 <= self.last_idx {
            self.seq += 1;
            if self.seq >= 65535 {
                self.seq = 0;
            }
        }
        self.last_idx = idx as i64;
        (self.seq, idx)
    }

    /// `newque()` + `ipc_addid()`.
    fn create(&mut self, w: &Who, key: i32, flags: i32) -> Result<i32, Errno> {
        if self.queues.len() >= self.msgmni.clamp(0, 32768) as usize {
            return Err(Errno::ENOSPC);
        }
        let (seq, idx) = self.alloc();
        let q = MQueue {
            idx,
            seq,
            key,
            uid: w.euid,
            gid: w.egid,
            cuid: w.euid,
            cgid: w.egid,
            mode: flags as u32 & 0o777,
            qbytes: self.msgmnb as u64,
            msgs: Vec::new(),
            stime: 0,
            rtime: 0,
            ctime: self.now,
            lspid: 0,
            lrpid: 0,
        };
        let id = q.id();
        self.seen.push(id);
        self.queues.push(q);
        Ok(id)
    }

    /// The value `IPC_INFO`/`MSG_INFO` return: the highest used index, 0 when there is none.
    fn max_idx_ret(&self) -> i32 {
        if self.queues.len() == 32768 {
            return 32767;
        }
        self.queues.iter().map(|q| q.idx as i32).max().unwrap_or(0)
    }

    fn info(&self, cmd: MsgCtlCmd) -> Msginfo {
        let cap = |n: u64| n.min(i32::MAX as u64) as i32;
        let (pool, map, tql) = if cmd == MsgCtlCmd::MsgInfo {
            (
                cap(self.queues.len() as u64),
                cap(self.queues.iter().map(MQueue::qnum).sum()),
                cap(self.queues.iter().map(MQueue::cbytes).sum()),
            )
        } else {
            (512_000, 16_384, 16_384)
        };
        Msginfo {
            msgpool: pool,
            msgmap: map,
            msgmax: self.msgmax,
            msgmnb: self.msgmnb,
            msgmni: self.msgmni,
            msgssz: 16,
            msgtql: tql,
            msgseg: 65535,
            pad: 0,
        }
    }

    /// A queue the abstract reference names, as a raw id.
    fn resolve_id(&self, r: IdRef) -> i32 {
        let live = |n: usize| {
            self.queues
                .get(n % self.queues.len().max(1))
                .map(MQueue::id)
        };
        match r {
            IdRef::Live(n) => live(n).unwrap_or(0),
            IdRef::Seen(n) => self
                .seen
                .get(n % self.seen.len().max(1))
                .copied()
                .unwrap_or(0),
            IdRef::NextSeq(n) => live(n).unwrap_or(0).wrapping_add(32768),
            IdRef::Raw(id) => id,
        }
    }

    /// A fresh message text of `len` bytes, different from the previous ones.
    fn text(&mut self, len: usize) -> Vec<u8> {
        self.serial += 1;
        let s = self.serial;
        (0..len)
            .map(|i| (s as u8).wrapping_mul(31) ^ (s >> 8) as u8 ^ (i as u8))
            .collect()
    }

    /// Turns a generated operation into a concrete call, given the current state.
    fn resolve(&mut self, op: &Op) -> Call {
        match *op {
            Op::Get {
                who,
                key,
                mode,
                creat,
                excl,
                stray,
            } => {
                let mut flags = mode as i32 | stray;
                if creat {
                    flags |= abi::IPC_CREAT;
                }
                if excl {
                    flags |= abi::IPC_EXCL;
                }
                Call::Get { who, key, flags }
            }
            Op::Send {
                who,
                id,
                mtype,
                size,
                stray,
            } => {
                let msgmax = usize::try_from(self.msgmax).unwrap_or(0);
                let len = match size {
                    Size::Bytes(n) => n,
                    // Keep allocations small when msgmax is huge.
                    Size::AtMsgmax if msgmax <= 65536 => msgmax,
                    Size::AboveMsgmax if msgmax <= 65536 => msgmax + 1,
                    _ => 40,
                };
                Call::Send {
                    who,
                    id: self.resolve_id(id),
                    mtype,
                    text: self.text(len),
                    flags: abi::IPC_NOWAIT | stray,
                }
            }
            Op::Burst { who, id, ref msgs } => {
                let id = self.resolve_id(id);
                Call::Many(
                    msgs.iter()
                        .map(|&(mtype, len)| Call::Send {
                            who,
                            id,
                            mtype,
                            text: self.text(len),
                            flags: abi::IPC_NOWAIT,
                        })
                        .collect(),
                )
            }
            Op::Recv {
                who,
                id,
                msgsz,
                msgtyp,
                noerror,
                except,
                copy,
                nowait,
            } => {
                let mut flags = 0;
                for (on, bit) in [
                    (nowait || !copy, abi::IPC_NOWAIT),
                    (noerror, abi::MSG_NOERROR),
                    (except, abi::MSG_EXCEPT),
                    (copy, abi::MSG_COPY),
                ] {
                    if on {
                        flags |= bit;
                    }
                }
                Call::Recv {
                    who,
                    id: self.resolve_id(id),
                    msgsz,
                    msgtyp,
                    flags,
                }
            }
            Op::Stat { who, id, cmd } => Call::Stat {
                who,
                id: self.resolve_id(id),
                cmd,
            },
            Op::Set {
                who,
                id,
                uid,
                gid,
                mode,
                qbytes,
            } => {
                let id = self.resolve_id(id);
                let current = self.lookup(id).map(|i| self.queues[i].clone());
                let owner = |o: Owner, pick_uid: bool| match o {
                    Owner::Keep => current
                        .as_ref()
                        .map_or(0, |q| if pick_uid { q.uid } else { q.gid }),
                    Owner::Of(i) if pick_uid => WHO[i].euid,
                    Owner::Of(i) => WHO[i].egid,
                    Owner::Invalid => u32::MAX,
                    Owner::Stranger => 7777,
                };
                let qbytes = match qbytes {
                    Qbytes::Keep => current.as_ref().map_or(0, |q| q.qbytes),
                    Qbytes::Small(n) => n,
                    Qbytes::NearMsgmnb(d) => (i64::from(self.msgmnb) + d) as u64,
                    Qbytes::Raw(n) => n,
                };
                // Fields IPC_SET ignores carry junk.
                let ds = Msqid64Ds {
                    msg_perm: Ipc64Perm {
                        key: 0x5555,
                        uid: owner(uid, true),
                        gid: owner(gid, false),
                        cuid: 4242,
                        cgid: 4343,
                        mode,
                        seq: 77,
                        ..Ipc64Perm::default()
                    },
                    msg_stime: 1,
                    msg_rtime: 2,
                    msg_ctime: 3,
                    msg_cbytes: 4,
                    msg_qnum: 5,
                    msg_qbytes: qbytes,
                    msg_lspid: 6,
                    msg_lrpid: 7,
                    ..Msqid64Ds::default()
                };
                Call::Set {
                    who,
                    id,
                    ds: Box::new(ds),
                }
            }
            Op::Rmid { who, id } => Call::Rmid {
                who,
                id: self.resolve_id(id),
            },
            Op::Info { id, cmd } => Call::Info { id, cmd },
            Op::SetLimit(which, value) => Call::SetLimit(which, value),
            Op::SetNextId(value) => Call::SetNextId(value),
            Op::Advance(ms) => Call::Advance(ms),
            Op::SetRealtime(secs) => Call::SetRealtime(secs),
            Op::Churn(n) => Call::Churn(n),
        }
    }

    /// Runs `call` as Linux would.
    fn apply(&mut self, call: &Call) -> Vec<Outcome> {
        let one = match call {
            Call::Get { who, key, flags } => Outcome::Id(self.msgget(&WHO[*who], *key, *flags)),
            Call::Send {
                who,
                id,
                mtype,
                text,
                ..
            } => Outcome::Unit(self.msgsnd(&WHO[*who], *id, *mtype, text)),
            Call::Recv {
                who,
                id,
                msgsz,
                msgtyp,
                flags,
            } => Outcome::Msg(self.msgrcv(&WHO[*who], *id, *msgsz, *msgtyp, *flags)),
            Call::Stat { who, id, cmd } => Outcome::Stat(self.stat(&WHO[*who], *id, *cmd)),
            Call::Set { who, id, ds } => Outcome::Unit(self.set(&WHO[*who], *id, ds)),
            Call::Rmid { who, id } => Outcome::Unit(self.rmid(&WHO[*who], *id)),
            Call::Info { id, cmd } => Outcome::Info(if *id < 0 {
                Err(Errno::EINVAL)
            } else {
                Ok((self.max_idx_ret(), self.info(*cmd)))
            }),
            Call::SetLimit(which, value) => {
                let max = if *which == Limit::Msgmni {
                    32768
                } else {
                    i32::MAX
                };
                Outcome::Unit(match i32::try_from(*value) {
                    Ok(v) if (0..=max).contains(&v) => {
                        match which {
                            Limit::Msgmax => self.msgmax = v,
                            Limit::Msgmnb => self.msgmnb = v,
                            Limit::Msgmni => self.msgmni = v,
                        }
                        Ok(())
                    }
                    _ => Err(Errno::EINVAL),
                })
            }
            Call::SetNextId(value) => Outcome::Unit(match i32::try_from(*value) {
                Ok(v) if v >= 0 => {
                    self.next_id = v;
                    Ok(())
                }
                _ => Err(Errno::EINVAL),
            }),
            Call::Advance(ms) => {
                let before = self.mono_ms / 1000;
                self.mono_ms += ms;
                let whole_seconds = (self.mono_ms / 1000 - before) as i64;
                self.now = self.now.saturating_add(whole_seconds);
                Outcome::Done
            }
            Call::SetRealtime(secs) => {
                self.now = *secs;
                Outcome::Done
            }
            Call::Churn(n) => {
                let mut out = Vec::new();
                for _ in 0..*n {
                    let got = self.msgget(&WHO[ROOT], abi::IPC_PRIVATE, abi::IPC_CREAT | 0o600);
                    out.push(Outcome::Id(got));
                    if let Ok(id) = got {
                        out.push(Outcome::Unit(self.rmid(&WHO[ROOT], id)));
                    }
                }
                return out;
            }
            Call::Many(calls) => return calls.iter().flat_map(|c| self.apply(c)).collect(),
        };
        vec![one]
    }

    /// `msgget(2)` (`ipcget`).
    fn msgget(&mut self, w: &Who, key: i32, flags: i32) -> Result<i32, Errno> {
        let creat = flags & abi::IPC_CREAT != 0;
        let excl = flags & abi::IPC_EXCL != 0;
        if key == abi::IPC_PRIVATE {
            return self.create(w, key, flags);
        }
        match self.queues.iter().find(|q| q.key == key) {
            Some(_) if creat && excl => Err(Errno::EEXIST),
            Some(q) if !ipcperms(q, w, flags as u32) => Err(Errno::EACCES),
            Some(q) => Ok(q.id()),
            None if !creat => Err(Errno::ENOENT),
            None => self.create(w, key, flags),
        }
    }

    /// `msgsnd(2)` with `IPC_NOWAIT` (`do_msgsnd`).
    fn msgsnd(&mut self, w: &Who, id: i32, mtype: i64, text: &[u8]) -> Result<(), Errno> {
        if text.len() > self.msgmax as usize || id < 0 {
            return Err(Errno::EINVAL);
        }
        if mtype < 1 {
            return Err(Errno::EINVAL);
        }
        let now = self.now;
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let q = &mut self.queues[i];
        if !ipcperms(q, w, 0o222) {
            return Err(Errno::EACCES);
        }
        // msg_fits_inqueue(): `msgsz + q_cbytes <= q_qbytes && 1 + q_qnum <= q_qbytes`: room
        // for the bytes, and the message count is capped by msg_qbytes too.
        let fits = text.len() as u64 + q.cbytes() <= q.qbytes && q.qnum() < q.qbytes;
        if !fits {
            return Err(Errno::EAGAIN);
        }
        q.lspid = w.pid;
        q.stime = now;
        q.msgs.push((mtype, text.to_vec()));
        Ok(())
    }

    /// `msgrcv(2)` without sleeping (`do_msgrcv`).
    fn msgrcv(
        &mut self,
        w: &Who,
        id: i32,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    ) -> Result<(i64, Vec<u8>), Errno> {
        if id < 0 || msgsz < 0 {
            return Err(Errno::EINVAL);
        }
        let copy = flags & abi::MSG_COPY != 0;
        if copy && (flags & abi::MSG_EXCEPT != 0 || flags & abi::IPC_NOWAIT == 0) {
            return Err(Errno::EINVAL);
        }
        let now = self.now;
        let msgmax = self.msgmax as u64;
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let q = &mut self.queues[i];
        if !ipcperms(q, w, 0o444) {
            return Err(Errno::EACCES);
        }
        assert!(flags & abi::IPC_NOWAIT != 0, "the model never sleeps");
        let pos = pick(&q.msgs, msgtyp, flags).ok_or(Errno::ENOMSG)?;
        let size = q.msgs[pos].1.len() as u64;
        let bufsz = msgsz as u64;
        if bufsz < size && flags & abi::MSG_NOERROR == 0 {
            return Err(Errno::E2BIG);
        }
        if copy {
            // copy_msg() into a buffer of min(msgsz, msgmax) bytes; nothing changes.
            if size > bufsz.min(msgmax) {
                return Err(Errno::EINVAL);
            }
            return Ok(q.msgs[pos].clone());
        }
        let (mtype, mut text) = q.msgs.remove(pos);
        q.rtime = now;
        q.lrpid = w.pid;
        text.truncate(bufsz.min(size) as usize);
        Ok((mtype, text))
    }

    /// `msgctl(IPC_STAT | MSG_STAT | MSG_STAT_ANY)`.
    fn stat(&self, w: &Who, id: i32, cmd: MsgCtlCmd) -> Result<(i32, Msqid64Ds), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            MsgCtlCmd::Stat => {
                let q = &self.queues[self.lookup(id).ok_or(Errno::EINVAL)?];
                if !ipcperms(q, w, 0o444) {
                    return Err(Errno::EACCES);
                }
                Ok((0, q.ds()))
            }
            MsgCtlCmd::MsgStat | MsgCtlCmd::MsgStatAny => {
                let q = &self.queues[self.in_slot(id).ok_or(Errno::EINVAL)?];
                if cmd == MsgCtlCmd::MsgStat && !ipcperms(q, w, 0o444) {
                    return Err(Errno::EACCES);
                }
                Ok((q.id(), q.ds()))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `msgctl(IPC_SET)` (`msgctl_down`).
    fn set(&mut self, w: &Who, id: i32, ds: &Msqid64Ds) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let now = self.now;
        let msgmnb = self.msgmnb as u32;
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        let q = &mut self.queues[i];
        if !may_change(q, w) {
            return Err(Errno::EPERM);
        }
        // msgctl_down() takes msg_qbytes as an int and compares it with the unsigned msgmnb.
        let qbytes = ds.msg_qbytes as i32;
        if qbytes as u32 > msgmnb && !w.sys_resource {
            return Err(Errno::EPERM);
        }
        if ds.msg_perm.uid == u32::MAX || ds.msg_perm.gid == u32::MAX {
            return Err(Errno::EINVAL);
        }
        q.uid = ds.msg_perm.uid;
        q.gid = ds.msg_perm.gid;
        q.mode = (q.mode & !0o777) | (ds.msg_perm.mode & 0o777);
        q.qbytes = i64::from(qbytes) as u64;
        q.ctime = now;
        Ok(())
    }

    /// `msgctl(IPC_RMID)`.
    fn rmid(&mut self, w: &Who, id: i32) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let i = self.lookup(id).ok_or(Errno::EINVAL)?;
        if !may_change(&self.queues[i], w) {
            return Err(Errno::EPERM);
        }
        self.queues.remove(i);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The system under test
// ---------------------------------------------------------------------------------------------

struct Sut {
    clock: Arc<ManualClock>,
    blocker: Arc<ManualBlocker>,
    ns: IpcNamespace,
    callers: Vec<Caller>,
}

impl Sut {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let blocker = Arc::new(ManualBlocker::new(Arc::clone(&clock)));
        let ns = IpcNamespace::with_clock(clock.clone());
        let callers = WHO.iter().map(|w| caller(w, &blocker)).collect();
        Self {
            clock,
            blocker,
            ns,
            callers,
        }
    }

    fn apply(&self, call: &Call) -> Vec<Outcome> {
        // A safety net: were a call to sleep after all, it would be interrupted at once and
        // fail the comparison instead of hanging the test.
        self.blocker.interrupt();
        let ns = &self.ns;
        let one = match call {
            Call::Get { who, key, flags } => {
                Outcome::Id(ns.msgget(&self.callers[*who], *key, *flags))
            }
            Call::Send {
                who,
                id,
                mtype,
                text,
                flags,
            } => Outcome::Unit(ns.msgsnd(
                &self.callers[*who],
                *id,
                Message::new(*mtype, text.clone()),
                *flags,
            )),
            Call::Recv {
                who,
                id,
                msgsz,
                msgtyp,
                flags,
            } => Outcome::Msg(
                ns.msgrcv(&self.callers[*who], *id, *msgsz, *msgtyp, *flags)
                    .map(|m| (m.mtype, m.text)),
            ),
            Call::Stat { who, id, cmd } => {
                Outcome::Stat(ns.msgctl_stat(&self.callers[*who], *id, *cmd))
            }
            Call::Set { who, id, ds } => Outcome::Unit(ns.msgctl_set(&self.callers[*who], *id, ds)),
            Call::Rmid { who, id } => Outcome::Unit(ns.msgctl_rmid(&self.callers[*who], *id)),
            Call::Info { id, cmd } => Outcome::Info(ns.msgctl_info(*id, *cmd)),
            Call::SetLimit(which, value) => Outcome::Unit(match which {
                Limit::Msgmax => ns.limits().set_msgmax(*value),
                Limit::Msgmnb => ns.limits().set_msgmnb(*value),
                Limit::Msgmni => ns.limits().set_msgmni(*value),
            }),
            Call::SetNextId(value) => Outcome::Unit(ns.set_msg_next_id(*value)),
            Call::Advance(ms) => {
                self.clock.advance(Duration::from_millis(*ms));
                Outcome::Done
            }
            Call::SetRealtime(secs) => {
                self.clock.set_realtime(*secs);
                Outcome::Done
            }
            Call::Churn(n) => {
                let root = &self.callers[ROOT];
                let mut out = Vec::new();
                for _ in 0..*n {
                    let got = ns.msgget(root, abi::IPC_PRIVATE, abi::IPC_CREAT | 0o600);
                    out.push(Outcome::Id(got));
                    if let Ok(id) = got {
                        out.push(Outcome::Unit(ns.msgctl_rmid(root, id)));
                    }
                }
                return out;
            }
            Call::Many(calls) => return calls.iter().flat_map(|c| self.apply(c)).collect(),
        };
        vec![one]
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

/// What must hold after every step, besides the step's own result:
///
/// - live ids are unique, and so are their indexes;
/// - every queue's `IPC_STAT` (by id) and `MSG_STAT_ANY` (by index) match the model, and
///   every slot without a queue is `EINVAL` for `MSG_STAT_ANY`;
/// - `MSG_INFO`'s totals (queues, messages, bytes) equal the sums over the implementation's
///   own per-queue `msg_qnum`/`msg_cbytes`, and the model's;
/// - `IPC_INFO` and `MSG_INFO` return the highest used index (0 when there is none);
/// - the limits and `msg_next_id` read back as the model has them; nothing ever slept.
///
/// In every comparison the implementation's value is on the left, the model's on the right.
fn check_invariants(sut: &Sut, m: &Model) -> Result<(), TestCaseError> {
    let ns = &sut.ns;
    let root = &sut.callers[ROOT];

    let mut ids: Vec<i32> = m.queues.iter().map(MQueue::id).collect();
    let mut idxs: Vec<usize> = m.queues.iter().map(|q| q.idx).collect();
    ids.sort_unstable();
    ids.dedup();
    idxs.sort_unstable();
    idxs.dedup();
    prop_assert_eq!(ids.len(), m.queues.len(), "duplicate ids in {:?}", m.queues);
    prop_assert_eq!(
        idxs.len(),
        m.queues.len(),
        "duplicate indexes in {:?}",
        m.queues
    );
    prop_assert_eq!(ns.msg().len(), m.queues.len());

    let (mut qnum, mut cbytes) = (0u64, 0u64);
    for q in &m.queues {
        let want = q.ds();
        prop_assert_eq!(
            ns.msgctl_stat(root, q.id(), MsgCtlCmd::Stat),
            Ok((0, want)),
            "IPC_STAT of queue {}",
            q.id()
        );
        let got = ns.msgctl_stat(root, q.idx as i32, MsgCtlCmd::MsgStatAny);
        prop_assert_eq!(got, Ok((q.id(), want)), "MSG_STAT_ANY of index {}", q.idx);
        if let Ok((_, ds)) = got {
            qnum += ds.msg_qnum;
            cbytes += ds.msg_cbytes;
        }
    }
    let top = m.queues.iter().map(|q| q.idx).max().unwrap_or(0);
    for idx in (0..=(top + 1).min(100)).chain([top + 1]) {
        if !m.used(idx) {
            prop_assert_eq!(
                ns.msgctl_stat(root, idx as i32, MsgCtlCmd::MsgStatAny),
                Err(Errno::EINVAL),
                "MSG_STAT_ANY of free index {}",
                idx
            );
        }
    }

    let (ret, info) = ns
        .msgctl_info(0, MsgCtlCmd::MsgInfo)
        .map_err(|e| TestCaseError::fail(format!("MSG_INFO failed: {e:?}")))?;
    prop_assert_eq!(info.msgpool as usize, ns.msg().len(), "MSG_INFO queues");
    prop_assert_eq!(
        info.msgmap as u64,
        qnum,
        "MSG_INFO messages vs sum of msg_qnum"
    );
    prop_assert_eq!(
        info.msgtql as u64,
        cbytes,
        "MSG_INFO bytes vs sum of msg_cbytes"
    );
    prop_assert_eq!(
        (ret, info),
        (m.max_idx_ret(), m.info(MsgCtlCmd::MsgInfo)),
        "MSG_INFO"
    );
    prop_assert_eq!(
        ns.msgctl_info(0, MsgCtlCmd::IpcInfo),
        Ok((m.max_idx_ret(), m.info(MsgCtlCmd::IpcInfo))),
        "IPC_INFO"
    );

    let l = ns.limits();
    prop_assert_eq!(
        (l.msgmax(), l.msgmnb(), l.msgmni()),
        (m.msgmax, m.msgmnb, m.msgmni)
    );
    prop_assert_eq!(ns.msg_next_id(), m.next_id);
    prop_assert_eq!(sut.blocker.sleeps(), 0, "a non-blocking operation slept");
    Ok(())
}

/// Runs `ops` on a fresh namespace and a fresh model, comparing every result.
fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let sut = Sut::new();
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let call = model.resolve(op);
        let want = model.apply(&call);
        let got = sut.apply(&call);
        // Left: the implementation; right: the model.
        prop_assert_eq!(got, want, "step {}: {:?}", step, call);
        check_invariants(&sut, &model)
            .map_err(|e| TestCaseError::fail(format!("after step {step} ({call:?}): {e}")))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// A caller, root and alice (who own most queues) more often than the others.
fn who() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => Just(0usize),
        1 => Just(1usize),
        3 => Just(2usize),
        2 => Just(3usize),
        2 => Just(4usize),
        1 => Just(5usize),
        1 => Just(6usize),
    ]
}

fn id_ref() -> impl Strategy<Value = IdRef> {
    prop_oneof![
        // Mostly the first queues, so that messages pile up where receivers look.
        14 => prop_oneof![4 => Just(0usize), 2 => Just(1usize), 2 => 0..8usize].prop_map(IdRef::Live),
        2 => (0..16usize).prop_map(IdRef::Seen),
        1 => (0..8usize).prop_map(IdRef::NextSeq),
        2 => prop_oneof![
            Just(-1),
            Just(i32::MIN),
            Just(i32::MAX),
            0..70i32,
            32768..32840i32,
        ]
        .prop_map(IdRef::Raw),
    ]
}

fn get() -> impl Strategy<Value = Op> {
    let key = prop_oneof![4 => Just(abi::IPC_PRIVATE), 1 => Just(0x10), 1 => Just(0x11), 1 => Just(0x12), 1 => Just(-1)];
    let mode = prop_oneof![
        6 => Just(0o666),
        3 => Just(0o600),
        2 => Just(0o660),
        1 => Just(0),
        1 => Just(0o644),
        1 => Just(0o640),
        1 => Just(0o604),
        1 => Just(0o060),
        1 => Just(0o400),
        1 => Just(0o200),
        1 => Just(0o004),
        2 => 0..0o1000u32,
    ];
    // Bits msgget ignores (IPC_NOWAIT, bits above the mode, the sign bit).
    let stray = prop_oneof![6 => Just(0), 1 => Just(abi::IPC_NOWAIT), 1 => Just(0o170000), 1 => Just(i32::MIN)];
    (
        who(),
        key,
        mode,
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.2),
        stray,
    )
        .prop_map(|(who, key, mode, creat, excl, stray)| Op::Get {
            who,
            key,
            mode,
            creat,
            excl,
            stray,
        })
}

fn send() -> impl Strategy<Value = Op> {
    let mtype = prop_oneof![
        40 => 1..=4i64,
        1 => Just(0i64),
        1 => Just(-1i64),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(i64::MAX - 1),
    ];
    let size = prop_oneof![
        // Tiny messages too, so that the message count cap (qnum < qbytes) is reached.
        4 => (0..=3usize).prop_map(Size::Bytes),
        10 => (0..=40usize).prop_map(Size::Bytes),
        1 => Just(Size::AtMsgmax),
        1 => Just(Size::AboveMsgmax),
    ];
    // Bits msgsnd ignores.
    let stray = prop_oneof![6 => Just(0), 1 => Just(abi::MSG_NOERROR | abi::MSG_EXCEPT), 1 => Just(abi::MSG_COPY)];
    (who(), id_ref(), mtype, size, stray).prop_map(|(who, id, mtype, size, stray)| Op::Send {
        who,
        id,
        mtype,
        size,
        stray,
    })
}

fn burst() -> impl Strategy<Value = Op> {
    let msg = (prop_oneof![3 => 1..=2i64, 1 => 1..=4i64], 0..=12usize);
    (who(), id_ref(), prop::collection::vec(msg, 2..=8)).prop_map(|(who, id, msgs)| Op::Burst {
        who,
        id,
        msgs,
    })
}

fn recv() -> impl Strategy<Value = Op> {
    let msgsz = prop_oneof![
        30 => 0..=45i64,
        1 => Just(-1i64),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(8192i64),
    ];
    let msgtyp = prop_oneof![
        12 => -5..=5i64,
        1 => Just(i64::MIN),
        1 => Just(i64::MIN + 1),
        1 => Just(i64::MAX),
        1 => Just(i64::MAX - 1),
    ];
    // With MSG_COPY, msgtyp is an index into the queue.
    let index = prop_oneof![
        12 => 0..=3i64,
        2 => 4..=8i64,
        2 => -2..0i64,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
    ];
    (
        who(),
        id_ref(),
        msgsz,
        msgtyp,
        index,
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(who, id, msgsz, msgtyp, index, noerror, except, copy, nowait)| Op::Recv {
                who,
                id,
                msgsz,
                msgtyp: if copy { index } else { msgtyp },
                noerror,
                except,
                copy,
                nowait: nowait || !copy,
            },
        )
}

fn stat() -> impl Strategy<Value = Op> {
    let cmd = prop_oneof![
        Just(MsgCtlCmd::Stat),
        Just(MsgCtlCmd::MsgStat),
        Just(MsgCtlCmd::MsgStatAny),
    ];
    (who(), id_ref(), cmd).prop_map(|(who, id, cmd)| Op::Stat { who, id, cmd })
}

fn set() -> impl Strategy<Value = Op> {
    let owner = || {
        prop_oneof![
            6 => Just(Owner::Keep),
            4 => who().prop_map(Owner::Of),
            1 => Just(Owner::Invalid),
            1 => Just(Owner::Stranger),
        ]
    };
    let mode = prop_oneof![
        Just(0o600),
        Just(0o666),
        Just(0o640),
        Just(0o604),
        Just(0o060),
        Just(0o006),
        Just(0),
        Just(0o7777),
        any::<u32>(),
    ];
    let qbytes = prop_oneof![
        4 => Just(Qbytes::Keep),
        6 => prop_oneof![0..=6u64, 0..=60u64].prop_map(Qbytes::Small),
        2 => (-1..=1i64).prop_map(Qbytes::NearMsgmnb),
        2 => prop_oneof![
            Just(0x1_0000_0005u64),
            Just(0xFFFF_FFFF),
            Just(u64::MAX),
            Just(0x8000_0000),
            Just(0x7FFF_FFFF),
            Just(0x1_0000_0000),
            Just(16384),
            Just(16385),
        ]
        .prop_map(Qbytes::Raw),
    ];
    (who(), id_ref(), owner(), owner(), mode, qbytes).prop_map(
        |(who, id, uid, gid, mode, qbytes)| Op::Set {
            who,
            id,
            uid,
            gid,
            mode,
            qbytes,
        },
    )
}

fn limit() -> impl Strategy<Value = Op> {
    let which = prop_oneof![
        2 => Just(Limit::Msgmax),
        1 => Just(Limit::Msgmnb),
        1 => Just(Limit::Msgmni),
    ];
    let value = prop_oneof![
        4 => 0..=60i64,
        1 => Just(-1i64),
        1 => Just(8192i64),
        1 => Just(16384i64),
        1 => Just(32000i64),
        1 => Just(32768i64),
        1 => Just(32769i64),
        1 => Just(i64::from(i32::MAX)),
        1 => Just(i64::from(i32::MAX) + 1),
    ];
    (which, value).prop_map(|(which, value)| Op::SetLimit(which, value))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => get(),
        32 => send(),
        4 => burst(),
        22 => recv(),
        8 => stat(),
        8 => set(),
        4 => (who(), id_ref()).prop_map(|(who, id)| Op::Rmid { who, id }),
        2 => (
            prop_oneof![4 => 0..3i32, 1 => Just(-1), 1 => Just(99_999)],
            prop_oneof![Just(MsgCtlCmd::IpcInfo), Just(MsgCtlCmd::MsgInfo)],
        )
            .prop_map(|(id, cmd)| Op::Info { id, cmd }),
        3 => limit(),
        1 => prop_oneof![
            Just(-1i64),
            (0..4i64, 0..80i64).prop_map(|(seq, idx)| seq << 15 | idx),
            Just(i64::from(i32::MAX) + 1),
        ]
        .prop_map(Op::SetNextId),
        6 => (0..3000u64).prop_map(Op::Advance),
        1 => prop_oneof![Just(0i64), Just(-5i64), Just(i64::MAX), 1_000..2_000i64]
            .prop_map(Op::SetRealtime),
        1 => (1..=80usize).prop_map(Op::Churn),
    ]
}

/// A sequence: one to three `msgget(IPC_CREAT)` calls, so that most operations find a queue,
/// then up to 60 random operations.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    let create = get().prop_map(|mut op| {
        if let Op::Get { creat, .. } = &mut op {
            *creat = true;
        }
        op
    });
    (
        prop::collection::vec(create, 1..=3),
        prop::collection::vec(op(), 0..61),
    )
        .prop_map(|(mut setup, rest)| {
            setup.extend(rest);
            setup
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every result of a random sequence of non-blocking message operations, by several
    /// callers on several queues, equals what Linux's rules predict, and the invariants hold
    /// after every step.
    #[test]
    fn msg_ops_match_reference_model(ops in ops()) {
        run(&ops)?;
    }
}

// ---------------------------------------------------------------------------------------------
// The model itself against what was observed on Linux
// ---------------------------------------------------------------------------------------------

/// Runs `ops` as the property does (model and implementation compared at every step,
/// invariants checked after each) and returns the model's outcomes, for comparison with what
/// Linux was seen to do.
fn replay(ops: &[Op]) -> Vec<Outcome> {
    let sut = Sut::new();
    let mut model = Model::new();
    let mut outcomes = Vec::new();
    for op in ops {
        let call = model.resolve(op);
        let want = model.apply(&call);
        assert_eq!(sut.apply(&call), want, "{call:?}");
        if let Err(e) = check_invariants(&sut, &model) {
            panic!("after {call:?}: {e}");
        }
        outcomes.extend(want);
    }
    outcomes
}

fn create(who: usize) -> Op {
    Op::Get {
        who,
        key: abi::IPC_PRIVATE,
        mode: 0o600,
        creat: true,
        excl: false,
        stray: 0,
    }
}

fn send_bytes(len: usize) -> Op {
    Op::Send {
        who: ROOT,
        id: IdRef::Live(0),
        mtype: 1,
        size: Size::Bytes(len),
        stray: 0,
    }
}

fn set_qbytes(who: usize, qbytes: u64) -> Op {
    Op::Set {
        who,
        id: IdRef::Live(0),
        uid: Owner::Keep,
        gid: Owner::Keep,
        mode: 0o600,
        qbytes: Qbytes::Raw(qbytes),
    }
}

/// The id sequence of `linux-ipc.md` §1.3, observed on Linux 6.18 in a fresh namespace:
/// three queues kept, 70 created and removed one after the other, then index 1 freed and one
/// more created.
#[test]
fn reference_model_reproduces_ids_observed_on_linux() {
    let mut ops = vec![create(ROOT); 3];
    ops.push(Op::Churn(70));
    ops.push(Op::Rmid {
        who: ROOT,
        id: IdRef::Raw(1),
    });
    ops.push(create(ROOT));
    let ids: Vec<i32> = replay(&ops)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Id(Ok(id)) => Some(id),
            _ => None,
        })
        .collect();
    let mut expected: Vec<i32> = (0..64).collect();
    expected.extend(32771..=32779);
    expected.push(32780);
    assert_eq!(ids, expected);
}

/// `linux-ipc.md` §2.6: `MSG_INFO` on one queue holding "hello" and "abc" reports one queue,
/// two messages and eight bytes.
#[test]
fn reference_model_reports_msg_info_usage_observed_on_linux() {
    let out = replay(&[
        create(ROOT),
        send_bytes(5),
        send_bytes(3),
        Op::Info {
            id: 0,
            cmd: MsgCtlCmd::MsgInfo,
        },
    ]);
    let Some(Outcome::Info(Ok((0, info)))) = out.last() else {
        panic!("{out:?}");
    };
    assert_eq!((info.msgpool, info.msgmap, info.msgtql), (1, 2, 8));
}

/// `linux-ipc.md` §2.4, verified on Linux 6.18: a 100-byte message, msgmax lowered to 50,
/// `MSG_COPY` into a 200-byte buffer → `EINVAL`; an ordinary receive still gets it.
#[test]
fn reference_model_copy_einval_when_msgmax_drops_below_message_size() {
    let recv = |copy| Op::Recv {
        who: ROOT,
        id: IdRef::Live(0),
        msgsz: 200,
        msgtyp: 0,
        noerror: false,
        except: false,
        copy,
        nowait: true,
    };
    let out = replay(&[
        create(ROOT),
        send_bytes(100),
        Op::SetLimit(Limit::Msgmax, 50),
        recv(true),
        recv(false),
    ]);
    assert_eq!(out[3], Outcome::Msg(Err(Errno::EINVAL)));
    assert!(matches!(&out[4], Outcome::Msg(Ok((1, text))) if text.len() == 100));
}

/// `linux-ipc.md` §2.3, verified: `msg_qbytes` caps the message count as well as the bytes
/// (there with 16384 empty messages; here with `msg_qbytes` 3).
#[test]
fn reference_model_caps_message_count_by_qbytes() {
    let out = replay(&[
        create(ROOT),
        set_qbytes(ROOT, 3),
        send_bytes(0),
        send_bytes(1),
        send_bytes(0),
        send_bytes(0),
    ]);
    assert_eq!(
        out[2..5],
        [
            Outcome::Unit(Ok(())),
            Outcome::Unit(Ok(())),
            Outcome::Unit(Ok(()))
        ]
    );
    assert_eq!(out[5], Outcome::Unit(Err(Errno::EAGAIN)));
}

/// `linux-ipc.md` §2.5, verified: without `CAP_SYS_RESOURCE`, `msg_qbytes` 0x1_0000_0005 is
/// accepted as 5 (only the low 32 bits count) and 0xFFFF_FFFF (-1, compared unsigned) is
/// `EPERM`; with it, -1 is stored sign-extended.
#[test]
fn reference_model_truncates_qbytes_to_int_like_linux() {
    let stat = Op::Stat {
        who: ROOT,
        id: IdRef::Live(0),
        cmd: MsgCtlCmd::Stat,
    };
    let out = replay(&[
        create(ROOT),
        set_qbytes(ROOT_NO_CAPS, 0x1_0000_0005),
        stat.clone(),
        set_qbytes(ROOT_NO_CAPS, 0xFFFF_FFFF),
        set_qbytes(ROOT, 0xFFFF_FFFF),
        stat,
    ]);
    assert_eq!(out[1], Outcome::Unit(Ok(())));
    assert!(matches!(&out[2], Outcome::Stat(Ok((0, ds))) if ds.msg_qbytes == 5));
    assert_eq!(out[3], Outcome::Unit(Err(Errno::EPERM)));
    assert_eq!(out[4], Outcome::Unit(Ok(())));
    assert!(matches!(&out[5], Outcome::Stat(Ok((0, ds))) if ds.msg_qbytes == u64::MAX));
}
