//! `msgget(2)`, `msgsnd(2)`, `msgrcv(2)`, `msgctl(2)`: `ksys_msg*` of Linux `ipc/msg.c`.

use sysvipc::abi::{self, MSG_COPY, MSG_EXCEPT};
use sysvipc::{Errno, IpcNamespace, Message, MsgCtlCmd};

use crate::task::Task;
use crate::{SysResult, Version};

/// `msgget(key, msgflg)`: the queue id.
pub fn msgget(ns: &IpcNamespace, task: &mut Task<'_>, key: i32, msgflg: i32) -> SysResult {
    ns.msgget(task.caller, key, msgflg).map(i64::from)
}

/// `msgsnd(msqid, msgp, msgsz, msgflg)`: 0.
///
/// In `ksys_msgsnd`'s order: the type is read from `msgp->mtype` (`EFAULT`); `EINVAL` for a
/// size above `msgmax` or negative as a `long`, a negative id, a type below 1; the text is
/// copied in (`EFAULT`); then the queue's own checks.
pub fn msgsnd(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    msgp: u64,
    msgsz: u64,
    msgflg: i32,
) -> SysResult {
    let mut mtype = [0u8; 8];
    task.read(msgp, &mut mtype)?;
    let mtype = i64::from_ne_bytes(mtype);
    send_typed(ns, task, msqid, mtype, msgp.wrapping_add(8), msgsz, msgflg)
}

/// `do_msgsnd`: the send once the type is read, the text at `text`.
pub(crate) fn send_typed(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    mtype: i64,
    text: u64,
    msgsz: u64,
    msgflg: i32,
) -> SysResult {
    let msgmax = ns.limits().msgmax().max(0) as u64;
    if msgsz > msgmax || (msgsz as i64) < 0 || msqid < 0 || mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut buf = vec![0; msgsz as usize];
    task.read(text, &mut buf)?;
    ns.msgsnd(task.caller, msqid, Message::new(mtype, buf), msgflg)?;
    Ok(0)
}

/// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)`: the length of the text received.
///
/// `EINVAL` for a negative id or a size negative as a `long`; with `MSG_COPY`, `EINVAL` with
/// `MSG_EXCEPT` or without `IPC_NOWAIT`, then the buffer (`min(msgsz, msgmax)` bytes) is read
/// as `prepare_copy` reads it (`EFAULT`); then the queue's checks. The message is removed
/// before it is copied out, so a fault then (`EFAULT`) loses it, as on Linux.
pub fn msgrcv(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    msgp: u64,
    msgsz: u64,
    msgtyp: i64,
    msgflg: i32,
) -> SysResult {
    receive(
        ns,
        task,
        msqid,
        msgp,
        msgsz,
        msgtyp,
        msgflg,
        MsgbufLayout::Native,
    )
}

/// `do_msgrcv` with the `msgbuf` layout of the caller (`do_msg_fill` or
/// `compat_do_msg_fill`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn receive(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    msgp: u64,
    msgsz: u64,
    msgtyp: i64,
    msgflg: i32,
    layout: MsgbufLayout,
) -> SysResult {
    if msqid < 0 || (msgsz as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if msgflg & MSG_COPY != 0 {
        if msgflg & MSG_EXCEPT != 0 || msgflg & abi::IPC_NOWAIT == 0 {
            return Err(Errno::EINVAL);
        }
        let len = msgsz.min(ns.limits().msgmax().max(0) as u64);
        let mut scratch = vec![0; len as usize];
        task.read(msgp, &mut scratch)?;
    }
    let msg = ns.msgrcv(task.caller, msqid, msgsz as i64, msgtyp, msgflg)?;
    match layout {
        MsgbufLayout::Native => {
            task.put(msgp, &msg.mtype.to_ne_bytes())?;
            task.write(msgp.wrapping_add(8), &msg.text)?;
        }
        // `compat_do_msg_fill`: the type truncated to a `compat_long_t`, the text after it.
        MsgbufLayout::Compat => {
            task.put(msgp, &(msg.mtype as i32).to_ne_bytes())?;
            let text = abi::compat::COMPAT_MSGBUF_MTEXT as u64;
            task.write(msgp.wrapping_add(text), &msg.text)?;
        }
    }
    Ok(msg.text.len() as i64)
}

/// Which `struct msgbuf` a receive fills: the native one (a 64-bit `long` type) or a 32-bit
/// task's `compat_msgbuf` (a 32-bit type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MsgbufLayout {
    /// `struct msgbuf`: `mtype` 8 bytes, the text at 8.
    Native,
    /// `struct compat_msgbuf`: `mtype` 4 bytes, the text at 4.
    Compat,
}

/// `msgctl(msqid, cmd, buf)` (`ksys_msgctl` with the 64-bit structures): `EINVAL` for a
/// negative id or command; `IPC_SET` copies `msqid64_ds` in first (`EFAULT`); the stat and
/// info commands copy out after success (`EFAULT`, the call having done its work).
pub fn msgctl(ns: &IpcNamespace, task: &mut Task<'_>, msqid: i32, cmd: i32, buf: u64) -> SysResult {
    msgctl_versioned(ns, task, msqid, cmd, buf, Version::Ipc64)
}

pub(crate) fn msgctl_versioned(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    cmd: i32,
    buf: u64,
    version: Version,
) -> SysResult {
    if msqid < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = MsgCtlCmd::try_from(cmd)?;
    version.supported()?;
    match cmd {
        MsgCtlCmd::IpcInfo | MsgCtlCmd::MsgInfo => {
            let (ret, info) = ns.msgctl_info(msqid, cmd)?;
            task.write_plain(buf, &info)?;
            Ok(i64::from(ret))
        }
        MsgCtlCmd::Stat | MsgCtlCmd::MsgStat | MsgCtlCmd::MsgStatAny => {
            let (ret, ds) = ns.msgctl_stat(task.caller, msqid, cmd)?;
            task.write_plain(buf, &ds)?;
            Ok(i64::from(ret))
        }
        MsgCtlCmd::Set => {
            let ds: abi::Msqid64Ds = task.read_plain(buf)?;
            ns.msgctl_set(task.caller, msqid, &ds)?;
            Ok(0)
        }
        MsgCtlCmd::Rmid => {
            ns.msgctl_rmid(task.caller, msqid)?;
            Ok(0)
        }
    }
}
