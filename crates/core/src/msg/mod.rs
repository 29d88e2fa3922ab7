//! System V message queues: `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)`.
//! Mirrors Linux `ipc/msg.c`.
//!
//! Two levels of API:
//!
//! - [`MsgQueues`], the namespace's registry of queues (`find_or_create`, `find_by_id`,
//!   `remove`, `ipc_info`, `msg_info`, `stat_index`), and [`Queue`], a handle on one queue
//!   (`send`, `receive`, `copy`, `stat`, `stat_any`, `set`) with typed errors;
//! - the syscall-shaped methods of [`IpcNamespace`] (`msgget`, `msgsnd`, `msgrcv`,
//!   `msgctl_*`), which take the arguments as the kernel receives them (raw ids, sizes and
//!   flag words), check them in the kernel's order, and return its errno.

mod error;
mod message;
mod queue;
mod store;

use std::sync::Arc;

pub use error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError};
pub use message::{Message, Selector};
pub use queue::Queue;
pub(crate) use queue::Wait;

use crate::Errno;
use crate::abi;
use crate::cred::{Caller, Credentials};
use crate::ipc::{Id, Key, Perm, Registry};
use crate::ns::{IpcNamespace, Shared};

bitflags::bitflags! {
    /// The flag word of `msgsnd` and `msgrcv`. Linux ignores bits it does not know, so
    /// decoding keeps them (`from_bits_retain`) and nothing rejects them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MsgFlags: i32 {
        /// Fail with `EAGAIN`/`ENOMSG` instead of waiting.
        const NOWAIT = abi::IPC_NOWAIT;
        /// Truncate a long message instead of failing with `E2BIG`.
        const NOERROR = abi::MSG_NOERROR;
        /// With a positive type: any message of another type.
        const EXCEPT = abi::MSG_EXCEPT;
        /// Copy the message at an index instead of receiving (checkpoint/restore).
        const COPY = abi::MSG_COPY;
    }
}

/// The `msgctl` commands, decoded once at the edge (unknown values, `IPC_64` among them, are
/// `EINVAL`: the direct syscalls of x86-64 and arm64 do not parse it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsgCtlCmd {
    /// `IPC_STAT`: the queue named by an id.
    Stat,
    /// `IPC_SET`.
    Set,
    /// `IPC_RMID`.
    Rmid,
    /// `IPC_INFO`: the limits.
    IpcInfo,
    /// `MSG_INFO`: the limits, with usage in three of the fields.
    MsgInfo,
    /// `MSG_STAT`: the queue in a slot, by index; read permission needed.
    MsgStat,
    /// `MSG_STAT_ANY`: as `MSG_STAT` without the permission check.
    MsgStatAny,
}

impl TryFrom<i32> for MsgCtlCmd {
    type Error = Errno;

    fn try_from(cmd: i32) -> Result<Self, Errno> {
        Ok(match cmd {
            abi::IPC_STAT => Self::Stat,
            abi::IPC_SET => Self::Set,
            abi::IPC_RMID => Self::Rmid,
            abi::IPC_INFO => Self::IpcInfo,
            abi::MSG_INFO => Self::MsgInfo,
            abi::MSG_STAT => Self::MsgStat,
            abi::MSG_STAT_ANY => Self::MsgStatAny,
            _ => return Err(Errno::EINVAL),
        })
    }
}

/// The message queues of one namespace (`msg_ids(ns)`).
pub struct MsgQueues {
    ns: Arc<Shared>,
    ids: Registry<Queue>,
}

impl MsgQueues {
    pub(crate) fn new(ns: Arc<Shared>) -> Self {
        Self {
            ns,
            ids: Registry::default(),
        }
    }

    /// `msgget(2)` (`ksys_msgget`, `ipcget`, `newque`): the id of the queue named by `key`,
    /// created if needed. `ENOENT` without `IPC_CREAT`, `EEXIST` with `IPC_CREAT|IPC_EXCL`,
    /// `EACCES` when the mode bits of `flags` are not granted, `ENOSPC` at `msgmni` queues.
    pub fn find_or_create(&self, caller: &Caller, key: Key, flags: i32) -> Result<Id, Errno> {
        let limit = self.ns.limits.msgmni();
        self.ids.get_or_create(
            key,
            flags,
            limit,
            |q| q.check_get(&caller.cred, flags),
            || {
                let perm = Perm::new(key, &caller.cred, flags);
                let now = self.ns.clock.realtime();
                let ns = Arc::clone(&self.ns);
                Ok(move |id| Queue::new(ns, id, perm, now))
            },
        )
    }

    /// The queue named by `id`: `EINVAL` if there is none (a stale id included).
    pub fn find_by_id(&self, id: Id) -> Result<Arc<Queue>, Errno> {
        self.ids.get(id)
    }

    /// `msgctl(IPC_RMID)`: removes the queue if the caller is its owner, its creator, or holds
    /// `CAP_SYS_ADMIN` (else `EPERM`). Waiting senders and receivers fail with `EIDRM`; the id
    /// names nothing afterwards (`EINVAL`).
    pub fn remove(&self, cred: &Credentials, id: Id) -> Result<(), Errno> {
        let wake = self.ids.remove(id, |q| q.remove_locked(cred))?;
        wake.wake_all();
        Ok(())
    }

    /// `msgctl(IPC_INFO)`: the highest used index and the limits.
    pub fn ipc_info(&self) -> (i32, abi::Msginfo) {
        let info = abi::Msginfo {
            msgpool: abi::MSGPOOL,
            msgmap: abi::MSGMAP,
            msgtql: abi::MSGTQL,
            ..self.limits_info()
        };
        (self.ids.max_index(), info)
    }

    /// `msgctl(MSG_INFO)`: as [`ipc_info`](Self::ipc_info), but `msgpool` is the number of
    /// queues, `msgmap` the number of queued messages and `msgtql` their total bytes (both
    /// capped at `INT_MAX`).
    pub fn msg_info(&self) -> (i32, abi::Msginfo) {
        let (mut messages, mut bytes) = (0usize, 0usize);
        self.ids.for_each(|_, q| {
            let (m, b) = q.totals();
            messages += m;
            bytes += b;
        });
        let cap = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let info = abi::Msginfo {
            msgpool: cap(self.ids.len()),
            msgmap: cap(messages),
            msgtql: cap(bytes),
            ..self.limits_info()
        };
        (self.ids.max_index(), info)
    }

    /// `msgctl(MSG_STAT)` (`any == false`, read permission needed) or `MSG_STAT_ANY`: the queue
    /// in slot `index` (only its low 15 bits count; no sequence check), with its full id.
    pub fn stat_index(
        &self,
        cred: &Credentials,
        index: i32,
        any: bool,
    ) -> Result<(Id, abi::Msqid64Ds), Errno> {
        self.ids.stat_index(cred, index, any)
    }

    /// How many queues exist.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no queue exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn next_id(&self) -> i32 {
        self.ids.next_id()
    }

    pub(crate) fn set_next_id(&self, id: i32) {
        self.ids.set_next_id(id);
    }

    fn limits_info(&self) -> abi::Msginfo {
        let l = &self.ns.limits;
        abi::Msginfo {
            msgmax: l.msgmax(),
            msgmnb: l.msgmnb(),
            msgmni: l.msgmni(),
            msgssz: abi::MSGSSZ,
            msgseg: abi::MSGSEG,
            ..abi::Msginfo::default()
        }
    }
}

/// The syscall-shaped surface: raw arguments in, the kernel's result or errno out.
impl IpcNamespace {
    /// `msgget(2)`; see [`MsgQueues::find_or_create`].
    pub fn msgget(&self, caller: &Caller, key: i32, flags: i32) -> Result<i32, Errno> {
        self.msg()
            .find_or_create(caller, Key(key), flags)
            .map(Id::raw)
    }

    /// `msgsnd(2)` (`ksys_msgsnd`, `do_msgsnd`) with the message already copied in.
    ///
    /// `EINVAL` for a negative id, a text above `msgmax` or a type below 1, before the id is
    /// looked up (`EINVAL`); then as [`Queue::send`]. Interruption is `ERESTARTNOHAND`.
    pub fn msgsnd(&self, caller: &Caller, id: i32, msg: Message, flags: i32) -> Result<(), Errno> {
        // The size and type checks of `Queue::send` come before its permission check, and a
        // failed lookup is the same EINVAL, so checking them once after the lookup keeps
        // Linux's order.
        let q = self.msg().find_by_id(Id::from_raw(id))?;
        q.send(caller, msg, flags).map_err(Errno::from)
    }

    /// `msgrcv(2)` (`ksys_msgrcv`, `do_msgrcv`) before the copy-out: the message, its text cut
    /// to at most `msgsz` bytes (the syscall returns the text's length).
    ///
    /// `EINVAL` for a negative id or size, and for `MSG_COPY` with `MSG_EXCEPT` or without
    /// `IPC_NOWAIT`; then the lookup (`EINVAL`), then as [`Queue::receive`] or [`Queue::copy`].
    pub fn msgrcv(
        &self,
        caller: &Caller,
        id: i32,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    ) -> Result<Message, Errno> {
        let f = MsgFlags::from_bits_retain(flags);
        if id < 0 || msgsz < 0 {
            return Err(Errno::EINVAL);
        }
        let copy = f.contains(MsgFlags::COPY);
        if copy && (f.contains(MsgFlags::EXCEPT) || !f.contains(MsgFlags::NOWAIT)) {
            return Err(Errno::EINVAL);
        }
        let max_size = usize::try_from(msgsz).map_err(|_| Errno::EINVAL)?;
        let q = self.msg().find_by_id(Id::from_raw(id))?;
        let got = if copy {
            q.copy(caller, msgtyp, max_size, flags)
        } else {
            q.receive(
                caller,
                Selector::from_msgtyp(msgtyp, flags),
                max_size,
                flags,
            )
        };
        got.map_err(Errno::from)
    }

    /// `msgctl(2)` with `IPC_STAT`, `MSG_STAT` or `MSG_STAT_ANY`: the return value (0, or the
    /// full id for the `*_STAT` commands, which take an index) and the queue's `msqid64_ds`.
    pub fn msgctl_stat(
        &self,
        caller: &Caller,
        id: i32,
        cmd: MsgCtlCmd,
    ) -> Result<(i32, abi::Msqid64Ds), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            MsgCtlCmd::Stat => {
                let q = self.msg().find_by_id(Id::from_raw(id))?;
                Ok((0, q.stat(&caller.cred)?))
            }
            MsgCtlCmd::MsgStat | MsgCtlCmd::MsgStatAny => {
                let any = cmd == MsgCtlCmd::MsgStatAny;
                let (id, ds) = self.msg().stat_index(&caller.cred, id, any)?;
                Ok((id.raw(), ds))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// `msgctl(IPC_SET)`; see [`Queue::set`]. The lookup (`EINVAL`) comes first.
    pub fn msgctl_set(&self, caller: &Caller, id: i32, ds: &abi::Msqid64Ds) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.msg()
            .find_by_id(Id::from_raw(id))?
            .set(&caller.cred, ds)
    }

    /// `msgctl(IPC_RMID)`; see [`MsgQueues::remove`].
    pub fn msgctl_rmid(&self, caller: &Caller, id: i32) -> Result<(), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.msg().remove(&caller.cred, Id::from_raw(id))
    }

    /// `msgctl(2)` with `IPC_INFO` or `MSG_INFO`: the highest used index and the `msginfo`.
    /// The id is ignored, but a negative one is `EINVAL`.
    pub fn msgctl_info(&self, id: i32, cmd: MsgCtlCmd) -> Result<(i32, abi::Msginfo), Errno> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        match cmd {
            MsgCtlCmd::IpcInfo => Ok(self.msg().ipc_info()),
            MsgCtlCmd::MsgInfo => Ok(self.msg().msg_info()),
            _ => Err(Errno::EINVAL),
        }
    }
}
