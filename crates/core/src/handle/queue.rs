//! [`MessageQueue`]: one message queue, bound to a namespace and a caller.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{existing, mode_flags};
use crate::Errno;
use crate::abi;
use crate::cred::Caller;
use crate::ipc::{Id, Key};
use crate::msg::{
    Message, Queue, RecvError, RecvTimeoutError, Selector, SendError, SendTimeoutError, Wait,
};
use crate::ns::IpcNamespace;

/// A message queue as a program uses it: found or created by key (or by name, through
/// [`Key::from_name`]), then sent to and received from as one caller.
///
/// Operations block by default, as `msgsnd(2)` and `msgrcv(2)` do without `IPC_NOWAIT`;
/// [`set_nonblocking`](Self::set_nonblocking) switches the handle to failing at once instead.
/// [`send_timeout`](Self::send_timeout) and [`recv_timeout`](Self::recv_timeout) wait at most
/// a given time, whatever the mode: Linux has no timed message operations, these are this
/// API's own.
///
/// Errors are typed per operation: a failed send gives its message back, and the timed
/// operations report the deadline as a variant of its own. Each error converts to the
/// [`Errno`] Linux would return.
///
/// A handle holds a clone of its [`Caller`]; see the [module docs](crate::handle) on sharing
/// one between threads.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sysvipc::{
///     Caller, Credentials, IpcNamespace, Key, Message, MessageQueue, RecvError,
///     RecvTimeoutError, Selector, ThreadBlocker,
/// };
///
/// let ns = Arc::new(IpcNamespace::new());
/// let me = Caller::new(Credentials::root(), 100, Arc::new(ThreadBlocker::new()));
/// let jobs = Key::from_name("jobs");
/// let mut q = MessageQueue::create(Arc::clone(&ns), me.clone(), jobs, 0o600)?;
/// q.send(Message::new(2, "low"))?;
/// q.send(Message::new(1, "urgent"))?;
///
/// // Another handle on the same queue, by the same name.
/// let other = MessageQueue::open(Arc::clone(&ns), me, jobs)?;
/// assert_eq!(other.recv(Selector::LessEqual(1))?.text, b"urgent");
/// assert_eq!(other.recv(Selector::Any)?.text, b"low");
///
/// q.set_nonblocking(true);
/// assert_eq!(q.recv(Selector::Any), Err(RecvError::NoMessage));
/// let waited = q.recv_timeout(Selector::Any, Duration::from_millis(5));
/// assert_eq!(waited, Err(RecvTimeoutError::Timeout));
///
/// q.destroy()?;
/// assert_eq!(q.recv(Selector::Any), Err(RecvError::Removed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MessageQueue {
    ns: Arc<IpcNamespace>,
    caller: Caller,
    queue: Arc<Queue>,
    nonblocking: bool,
}

impl MessageQueue {
    /// Opens the queue named by `key`, creating it with permission bits `mode` if it does not
    /// exist (`msgget(key, IPC_CREAT | mode)`). [`Key::PRIVATE`] always creates a new queue.
    ///
    /// `EINVAL` for `mode` bits outside `0o777`; `EACCES` if the queue exists and `mode` asks
    /// for access the caller lacks; `ENOSPC` at `msgmni` queues.
    pub fn create(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        mode: u32,
    ) -> Result<Self, Errno> {
        let flags = abi::IPC_CREAT | mode_flags(mode)?;
        Self::by_key(ns, caller, key, flags)
    }

    /// Creates a queue for `key` with permission bits `mode`, failing with `EEXIST` if one
    /// exists (`msgget(key, IPC_CREAT | IPC_EXCL | mode)`). Otherwise as
    /// [`create`](Self::create).
    pub fn create_new(
        ns: Arc<IpcNamespace>,
        caller: Caller,
        key: Key,
        mode: u32,
    ) -> Result<Self, Errno> {
        let flags = abi::IPC_CREAT | abi::IPC_EXCL | mode_flags(mode)?;
        Self::by_key(ns, caller, key, flags)
    }

    /// Opens the existing queue named by `key` (`msgget(key, 0)`): `ENOENT` if there is none,
    /// [`Key::PRIVATE`] included. Access is checked by each operation.
    pub fn open(ns: Arc<IpcNamespace>, caller: Caller, key: Key) -> Result<Self, Errno> {
        Self::by_key(ns, caller, existing(key)?, 0)
    }

    fn by_key(ns: Arc<IpcNamespace>, caller: Caller, key: Key, flags: i32) -> Result<Self, Errno> {
        let id = ns.msg().find_or_create(&caller, key, flags)?;
        let queue = ns.msg().find_by_id(id)?;
        Ok(Self {
            ns,
            caller,
            queue,
            nonblocking: false,
        })
    }

    /// Removes the queue named by `key` without holding a handle on it (`ipcrm -Q`): `ENOENT`
    /// if there is none, then as [`destroy`](Self::destroy).
    pub fn remove(ns: &IpcNamespace, caller: &Caller, key: Key) -> Result<(), Errno> {
        let id = ns.msg().find_or_create(caller, existing(key)?, 0)?;
        ns.msg().remove(&caller.cred, id)
    }

    /// Removes the queue (`msgctl(IPC_RMID)`): `EPERM` unless the caller owns or created it or
    /// holds `CAP_SYS_ADMIN`, `EINVAL` if it is already gone. Blocked senders and receivers
    /// fail with `EIDRM`, as does every later operation on any handle of it.
    pub fn destroy(&self) -> Result<(), Errno> {
        self.ns.msg().remove(&self.caller.cred, self.queue.id())
    }

    /// The same queue, used by `caller` (for instance another thread, with its own blocker),
    /// in this handle's mode.
    pub fn with_caller(&self, caller: Caller) -> Self {
        Self {
            caller,
            ..self.clone()
        }
    }

    /// Makes [`send`](Self::send) and [`recv`](Self::recv) fail at once with
    /// [`SendError::Full`] and [`RecvError::NoMessage`] instead of waiting (`IPC_NOWAIT`), or
    /// wait again. The timed operations are not affected.
    pub fn set_nonblocking(&mut self, nonblocking: bool) {
        self.nonblocking = nonblocking;
    }

    /// Whether [`send`](Self::send) and [`recv`](Self::recv) fail instead of waiting.
    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking
    }

    /// `msgsnd(2)`: queues `msg`, or hands it straight to a waiting receiver. When the queue
    /// is full, waits for room or, in non-blocking mode, fails with [`SendError::Full`].
    ///
    /// Never [`SendError::TimedOut`]; every other failure gives the message back.
    pub fn send(&self, msg: Message) -> Result<(), SendError> {
        let wait = if self.nonblocking {
            Wait::Never
        } else {
            Wait::Until(None)
        };
        self.queue.send_with(&self.caller, msg, wait)
    }

    /// `msgrcv(2)`: removes and returns the message `selector` picks, whole. When there is
    /// none, waits for one or, in non-blocking mode, fails with [`RecvError::NoMessage`].
    ///
    /// Never [`RecvError::TimedOut`] nor [`RecvError::TooBig`].
    pub fn recv(&self, selector: Selector) -> Result<Message, RecvError> {
        let wait = if self.nonblocking {
            Wait::Never
        } else {
            Wait::Until(None)
        };
        self.queue
            .receive_with(&self.caller, selector, usize::MAX, false, wait)
    }

    /// As [`send`](Self::send), but waits for room at most `timeout` (measured on the
    /// namespace's clock), in either mode; then fails with [`SendTimeoutError::Timeout`],
    /// which gives the message back. A zero timeout only tries.
    pub fn send_timeout(&self, msg: Message, timeout: Duration) -> Result<(), SendTimeoutError> {
        let wait = Wait::Until(Some(self.deadline(timeout)));
        self.queue
            .send_with(&self.caller, msg, wait)
            .map_err(SendTimeoutError::from)
    }

    /// As [`recv`](Self::recv), but waits for a message at most `timeout` (measured on the
    /// namespace's clock), in either mode; then fails with [`RecvTimeoutError::Timeout`].
    pub fn recv_timeout(
        &self,
        selector: Selector,
        timeout: Duration,
    ) -> Result<Message, RecvTimeoutError> {
        let wait = Wait::Until(Some(self.deadline(timeout)));
        self.queue
            .receive_with(&self.caller, selector, usize::MAX, false, wait)
            .map_err(RecvTimeoutError::from)
    }

    /// The queue's id, as `msgget` returns it.
    pub fn id(&self) -> Id {
        self.queue.id()
    }

    /// The queue itself, for the operations the handle does not wrap (`stat`, `set`, `copy`).
    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }

    /// The caller every operation runs as.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The namespace the queue lives in.
    pub fn namespace(&self) -> &Arc<IpcNamespace> {
        &self.ns
    }

    /// The monotonic reading `timeout` from now, saturating: `Duration::MAX` is never reached.
    fn deadline(&self, timeout: Duration) -> Duration {
        self.ns.clock().monotonic().saturating_add(timeout)
    }
}

impl fmt::Debug for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageQueue")
            .field("id", &self.queue.id())
            .field("caller", &self.caller)
            .field("nonblocking", &self.nonblocking)
            .finish_non_exhaustive()
    }
}
