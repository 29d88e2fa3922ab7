//! Message queue structures: `struct msqid64_ds` and `struct msginfo`.
//!
//! Mirrors `include/uapi/asm-generic/msgbuf.h` (the 64-bit branch, used by x86-64's
//! `arch/x86/include/uapi/asm/msgbuf.h` and by aarch64) and `include/uapi/linux/msg.h`.

use crate::Ipc64Perm;

/// `struct msqid64_ds` (120 bytes): what `msgctl(IPC_STAT)` returns.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Msqid64Ds {
    /// `msg_perm`: owner and permissions.
    pub msg_perm: Ipc64Perm,
    /// `msg_stime`: time of the last `msgsnd`, in seconds.
    pub msg_stime: i64,
    /// `msg_rtime`: time of the last `msgrcv`, in seconds.
    pub msg_rtime: i64,
    /// `msg_ctime`: time of creation or the last `IPC_SET`, in seconds.
    pub msg_ctime: i64,
    /// `msg_cbytes`: bytes currently queued.
    pub msg_cbytes: u64,
    /// `msg_qnum`: messages currently queued.
    pub msg_qnum: u64,
    /// `msg_qbytes`: maximum bytes in the queue.
    pub msg_qbytes: u64,
    /// `msg_lspid`: pid of the last `msgsnd`.
    pub msg_lspid: i32,
    /// `msg_lrpid`: pid of the last `msgrcv`.
    pub msg_lrpid: i32,
    /// `__unused4`.
    pub unused4: u64,
    /// `__unused5`.
    pub unused5: u64,
}

assert_layout!(Msqid64Ds, size = 120, align = 8, {
    msg_perm @ 0,
    msg_stime @ 48,
    msg_rtime @ 56,
    msg_ctime @ 64,
    msg_cbytes @ 72,
    msg_qnum @ 80,
    msg_qbytes @ 88,
    msg_lspid @ 96,
    msg_lrpid @ 100,
    unused4 @ 104,
    unused5 @ 112,
});

/// `struct msginfo` (32 bytes): what `msgctl(IPC_INFO)` and `msgctl(MSG_INFO)` return (with
/// different meanings of some fields).
///
/// The C compiler pads `msgseg` with 2 bytes to the `int` alignment; they are `pad`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Msginfo {
    /// `msgpool`: `MSGPOOL` (`IPC_INFO`) or the number of queues in use (`MSG_INFO`).
    pub msgpool: i32,
    /// `msgmap`: `MSGMAP` (`IPC_INFO`) or the number of queued messages (`MSG_INFO`).
    pub msgmap: i32,
    /// `msgmax`: maximum message size.
    pub msgmax: i32,
    /// `msgmnb`: default maximum bytes per queue.
    pub msgmnb: i32,
    /// `msgmni`: maximum number of queues.
    pub msgmni: i32,
    /// `msgssz`: `MSGSSZ`.
    pub msgssz: i32,
    /// `msgtql`: `MSGTQL` (`IPC_INFO`) or the number of queued bytes (`MSG_INFO`).
    pub msgtql: i32,
    /// `msgseg`: `MSGSEG`.
    pub msgseg: u16,
    /// Implicit C tail padding.
    pub pad: u16,
}

assert_layout!(Msginfo, size = 32, align = 4, {
    msgpool @ 0,
    msgmap @ 4,
    msgmax @ 8,
    msgmnb @ 12,
    msgmni @ 16,
    msgssz @ 20,
    msgtql @ 24,
    msgseg @ 28,
    pad @ 30,
});
