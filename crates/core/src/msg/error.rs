//! Why a message operation failed, as typed errors that convert to Linux's errno.
//!
//! A failed send gives its message back, so nothing is lost at the typed API; the syscall
//! layer converts to [`Errno`] with `From`. The timed operations of
//! [`MessageQueue`](crate::MessageQueue) report the deadline as a variant of its own
//! ([`SendTimeoutError`], [`RecvTimeoutError`]), as `crossbeam-channel` does.

use crate::Errno;

use super::message::Message;

/// Why [`Queue::send`](super::Queue::send) failed. Every variant carries the unsent message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// `EINVAL`: the type is below 1 or the text is longer than `msgmax`.
    #[error("invalid message (type below 1 or text above msgmax)")]
    Invalid(Message),
    /// `EACCES`: the caller may not write to the queue.
    #[error("permission denied")]
    Denied(Message),
    /// `EIDRM`: the queue was removed.
    #[error("queue removed")]
    Removed(Message),
    /// `EAGAIN`: the queue is full and the caller asked not to wait.
    #[error("queue full")]
    Full(Message),
    /// `ERESTARTNOHAND`: the caller was interrupted while waiting for room. Linux restarts the
    /// call when no signal handler runs and fails it with `EINTR` when one does.
    #[error("interrupted")]
    Interrupted(Message),
    /// `EAGAIN`: the deadline of a timed send passed (an extension: Linux has no timed send).
    #[error("timed out")]
    TimedOut(Message),
}

impl SendError {
    /// The message that was not sent.
    pub fn into_inner(self) -> Message {
        match self {
            Self::Invalid(m)
            | Self::Denied(m)
            | Self::Removed(m)
            | Self::Full(m)
            | Self::Interrupted(m)
            | Self::TimedOut(m) => m,
        }
    }
}

impl From<SendError> for Errno {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Invalid(_) => Errno::EINVAL,
            SendError::Denied(_) => Errno::EACCES,
            SendError::Removed(_) => Errno::EIDRM,
            SendError::Full(_) | SendError::TimedOut(_) => Errno::EAGAIN,
            SendError::Interrupted(_) => Errno::ERESTARTNOHAND,
        }
    }
}

/// Why [`Queue::receive`](super::Queue::receive) or [`Queue::copy`](super::Queue::copy) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// `EINVAL`: a bad argument, or a `MSG_COPY` buffer smaller than the message.
    #[error("invalid argument")]
    Invalid,
    /// `EACCES`: the caller may not read the queue.
    #[error("permission denied")]
    Denied,
    /// `EIDRM`: the queue was removed.
    #[error("queue removed")]
    Removed,
    /// `ENOMSG`: no matching message and the caller asked not to wait.
    #[error("no message")]
    NoMessage,
    /// `E2BIG`: the matching message is longer than the buffer and `MSG_NOERROR` was not given;
    /// the message stays queued.
    #[error("message too long for the buffer")]
    TooBig,
    /// `ERESTARTNOHAND`: interrupted while waiting (see [`SendError::Interrupted`]).
    #[error("interrupted")]
    Interrupted,
    /// `ENOMSG`: the deadline of a timed receive passed (an extension).
    #[error("timed out")]
    TimedOut,
}

impl From<RecvError> for Errno {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Invalid => Errno::EINVAL,
            RecvError::Denied => Errno::EACCES,
            RecvError::Removed => Errno::EIDRM,
            RecvError::NoMessage | RecvError::TimedOut => Errno::ENOMSG,
            RecvError::TooBig => Errno::E2BIG,
            RecvError::Interrupted => Errno::ERESTARTNOHAND,
        }
    }
}

/// Why [`MessageQueue::send_timeout`](crate::MessageQueue::send_timeout) failed. Both variants
/// carry the unsent message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendTimeoutError {
    /// The queue stayed full until the deadline.
    #[error("timed out")]
    Timeout(Message),
    /// Any other failure (never [`SendError::TimedOut`] nor [`SendError::Full`]: a timed send
    /// waits for room).
    #[error(transparent)]
    Failed(SendError),
}

impl SendTimeoutError {
    /// The message that was not sent.
    pub fn into_inner(self) -> Message {
        match self {
            Self::Timeout(m) => m,
            Self::Failed(e) => e.into_inner(),
        }
    }

    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }
}

impl From<SendError> for SendTimeoutError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::TimedOut(m) => Self::Timeout(m),
            e => Self::Failed(e),
        }
    }
}

impl From<SendTimeoutError> for Errno {
    /// `EAGAIN` for the deadline, as for a full queue under `IPC_NOWAIT`.
    fn from(e: SendTimeoutError) -> Self {
        match e {
            SendTimeoutError::Timeout(_) => Errno::EAGAIN,
            SendTimeoutError::Failed(e) => e.into(),
        }
    }
}

/// Why [`MessageQueue::recv_timeout`](crate::MessageQueue::recv_timeout) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecvTimeoutError {
    /// No matching message arrived before the deadline.
    #[error("timed out")]
    Timeout,
    /// Any other failure (never [`RecvError::TimedOut`] nor [`RecvError::NoMessage`]: a timed
    /// receive waits for a message).
    #[error(transparent)]
    Failed(RecvError),
}

impl RecvTimeoutError {
    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::TimedOut => Self::Timeout,
            e => Self::Failed(e),
        }
    }
}

impl From<RecvTimeoutError> for Errno {
    /// `ENOMSG` for the deadline, as for an empty queue under `IPC_NOWAIT`.
    fn from(e: RecvTimeoutError) -> Self {
        match e {
            RecvTimeoutError::Timeout => Errno::ENOMSG,
            RecvTimeoutError::Failed(e) => e.into(),
        }
    }
}
