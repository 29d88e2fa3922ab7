//! 32-bit tasks served by a 64-bit kernel: i386 programs under x86-64's IA32 emulation,
//! and arm32 (EABI) programs under arm64's `COMPAT`. Mirrors the `compat_ksys_*` paths of
//! Linux `ipc/{syscall,msg,sem,shm}.c` and `ipc/compat.c`.
//!
//! What differs from a 64-bit task:
//! - every register is 32 bits: pointers are `compat_uptr_t` (zero-extended), sizes are
//!   `compat_ssize_t` and a message type is a `compat_long_t` (both sign-extended), so a
//!   `msgsz` of `0x8000_0000` is negative (`EINVAL`) and a `msgtyp` of `0xffff_fffe` is -2;
//! - a `msgbuf` starts with a 4-byte type ([`abi::compat::COMPAT_MSGBUF_MTEXT`]), and a type
//!   received is truncated to 32 bits;
//! - the ctl structures are the `compat_*64_ds` layouts (times split in two words, counters
//!   truncated to 32 bits) or, through `ipc(2)` without `IPC_64`, the pre-2.4 ones
//!   (`compat_ipc_perm` with 16-bit ids, 16-bit counters); `shmctl(IPC_INFO)` caps `shmmax`
//!   at `INT_MAX`;
//! - `ipc(2)`'s `SEMTIMEDOP` reads an `old_timespec32`; the direct `semtimedop_time64` reads
//!   the 64-bit one;
//! - `shmat` must return an address below 4 GiB: the task's [`sysvipc::AttachTable`] must end
//!   at [`abi::compat::IA32_TASK_SIZE`] or [`abi::compat::ARM32_TASK_SIZE`]
//!   (`AttachTable::with_task_size`), which also makes a fixed attach past it `ENOMEM`, as
//!   the kernel's `TASK_SIZE` of a 32-bit process does.
//!
//! On arm32 there is no `ipc(2)`; the direct ctl calls parse the version themselves
//! ([`compat_old_msgctl`], [`compat_old_semctl`], [`compat_old_shmctl`]), and `shmat`
//! rounds with `SHM_RND` to four pages ([`arm32_shmat`]).
//!
//! On i386 the direct ctl syscalls (`semctl` 394, `shmctl` 396, `msgctl` 402) always use the
//! 64 layouts (`version = IPC_64`); only `ipc(2)` parses the version (x86 selects
//! `ARCH_WANT_COMPAT_IPC_PARSE_VERSION`): a command without `IPC_64` there selects the old
//! layouts. The direct `msgctl` and `semctl` accept `IPC_64` in the command but pass it on
//! to the command's own code, which then no longer recognises the command (see
//! [`DirectFlag`]); the direct `shmctl` refuses it (`EINVAL`).

use sysvipc::abi::compat::{
    CompatIpc64Perm, CompatIpcKludge, CompatIpcPerm, CompatMsqid64Ds, CompatMsqidDs,
    CompatSemid64Ds, CompatSemidDs, CompatShmInfo, CompatShmid64Ds, CompatShmidDs, CompatShminfo64,
    OldShminfo, OldTimespec32,
};
use sysvipc::abi::{self, ipc_call};
use sysvipc::{Caller, Errno, IpcNamespace, MsgCtlCmd, SemCtlCmd, ShmCtlCmd, Timespec};

use crate::memory::KernelTimespec;
use crate::msg::{self, MsgbufLayout};
use crate::sem;
use crate::shm;
use crate::task::Task;
use crate::{SysResult, Version};

/// `overflowuid` / `overflowgid`: what a 16-bit id field shows for an id above 65535
/// (`high2lowuid`; the sysctl's default).
const OVERFLOW_ID: u16 = 65534;

/// `compat_ptr`: a 32-bit guest pointer as an address.
fn ptr(p: u32) -> u64 {
    u64::from(p)
}

/// `compat_ssize_t` / `compat_long_t` widened as the kernel widens them: sign-extended.
fn signed(v: u32) -> i64 {
    i64::from(v as i32)
}

/// Whether a direct ctl call's command still carries `IPC_64` when it reaches the
/// command's own code (`compat_ksys_msgctl` and `compat_ksys_semctl` switch on
/// `cmd & ~IPC_64` but pass `cmd` on unchanged). With the flag, the command's code sees no
/// command it knows: `MSG_INFO`/`SEM_INFO` report the `IPC_INFO` figures, the `*_STAT`
/// commands look up by id with the read-permission check and return the id, `GETVAL`,
/// `GETPID`, `GETNCNT`, `GETZCNT`, `GETALL`, `SETALL` check read permission and fail with
/// `EINVAL`, `IPC_SET` and `IPC_RMID` check ownership and fail with `EINVAL`; `SETVAL` works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DirectFlag {
    /// The command as the command's code expects it.
    Clean,
    /// `IPC_64` left in the command.
    Ipc64,
}

/// Splits a direct ctl call's command (`cmd & ~IPC_64` selects the command).
fn direct_cmd(cmd: i32) -> (i32, DirectFlag) {
    if cmd & abi::IPC_64 != 0 {
        (cmd & !abi::IPC_64, DirectFlag::Ipc64)
    } else {
        (cmd, DirectFlag::Clean)
    }
}

// ---- ipc(2) ---------------------------------------------------------------------------------

/// `ipc(call, first, second, third, ptr, fifth)` of a 32-bit task (`compat_ksys_ipc`): the
/// six registers, each 32 bits (`call`, `third`, `ptr`, `fifth` unsigned, `first`, `second`
/// `int`).
///
/// As the 64-bit multiplexer ([`crate::ipc()`]), with the compat rules: `SEMTIMEDOP` reads an
/// `old_timespec32`; `SEMCTL` reads a 32-bit `semun` from `*ptr`; `MSGRCV` is `EINVAL` for a
/// negative `first` or `second` before anything is read, and version 0 reads a
/// `compat_ipc_kludge` (`EINVAL` for a null `ptr`, `EFAULT`); `SHMAT` version 1 is `EINVAL`
/// and the others store the address as 32 bits at `*third`; the ctl calls take `IPC_64` to
/// mean the 64 layouts and its absence the old ones (`compat_ipc_parse_version`).
pub fn compat_ipc(ns: &IpcNamespace, task: &mut Task<'_>, args: [u32; 6]) -> SysResult {
    let [call, first, second, third, p, fifth] = args;
    let (first, second) = (first as i32, second as i32);
    let version = call >> ipc_call::VERSION_SHIFT;
    match (call & 0xffff) as i32 {
        ipc_call::SEMOP => sem::semtimedop_with(ns, task, first, ptr(p), second as u32, None),
        ipc_call::SEMTIMEDOP => semtimedop_time32(ns, task, first, p, second as u32, fifth),
        ipc_call::SEMGET => sem::semget(ns, task, first, second, third as i32),
        ipc_call::SEMCTL => {
            if p == 0 {
                return Err(Errno::EINVAL);
            }
            let mut pad = [0u8; 4];
            task.read(ptr(p), &mut pad)?;
            let (cmd, v) = Version::parse(third as i32);
            semctl_compat(ns, task, first, second, cmd, u32::from_ne_bytes(pad), v)
        }
        ipc_call::MSGSND => compat_msgsnd(ns, task, first, p, second as u32, third as i32),
        ipc_call::MSGRCV => {
            if first < 0 || second < 0 {
                return Err(Errno::EINVAL);
            }
            let (msgp, msgtyp) = if version == 0 {
                if p == 0 {
                    return Err(Errno::EINVAL);
                }
                let k: CompatIpcKludge = task.read_plain(ptr(p))?;
                (k.msgp, k.msgtyp as u32)
            } else {
                (p, fifth)
            };
            compat_msgrcv(ns, task, first, msgp, second as u32, msgtyp, third as i32)
        }
        ipc_call::MSGGET => msg::msgget(ns, task, first, second),
        ipc_call::MSGCTL => {
            let (cmd, v) = Version::parse(second);
            msgctl_compat(ns, task, first, cmd, p, v, DirectFlag::Clean)
        }
        ipc_call::SHMAT if version == 1 => Err(Errno::EINVAL),
        ipc_call::SHMAT => {
            let addr = compat_shmat(ns, task, first, p, second)?;
            // The attachment stays even if the address cannot be stored, as on Linux.
            task.put(ptr(third), &(addr as u32).to_ne_bytes())?;
            Ok(0)
        }
        ipc_call::SHMDT => shm::shmdt(ns, task, ptr(p)),
        ipc_call::SHMGET => shm::shmget(ns, task, first, u64::from(second as u32), third as i32),
        ipc_call::SHMCTL => {
            let (cmd, v) = Version::parse(second);
            shmctl_compat(ns, task, first, cmd, p, v)
        }
        _ => Err(Errno::ENOSYS),
    }
}

// ---- msg ------------------------------------------------------------------------------------

/// `msgsnd(msqid, msgp, msgsz, msgflg)` of a 32-bit task (`compat_ksys_msgsnd`): the type is
/// the first 4 bytes of `msgp` (`EFAULT`), sign-extended; `msgsz` is sign-extended, so one
/// of 2 GiB or more is negative (`EINVAL`); then as [`crate::msgsnd`].
pub fn compat_msgsnd(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    msgp: u32,
    msgsz: u32,
    msgflg: i32,
) -> SysResult {
    let mut mtype = [0u8; 4];
    task.read(ptr(msgp), &mut mtype)?;
    let mtype = i64::from(i32::from_ne_bytes(mtype));
    let text = ptr(msgp) + abi::compat::COMPAT_MSGBUF_MTEXT as u64;
    msg::send_typed(ns, task, msqid, mtype, text, signed(msgsz) as u64, msgflg)
}

/// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)` of a 32-bit task (`compat_ksys_msgrcv`):
/// `msgsz` and `msgtyp` sign-extended (`0xffff_fffd` is the selector -3), the message
/// written as a `compat_msgbuf` (the type truncated to 32 bits, the text at 4); otherwise as
/// [`crate::msgrcv`].
pub fn compat_msgrcv(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    msgp: u32,
    msgsz: u32,
    msgtyp: u32,
    msgflg: i32,
) -> SysResult {
    msg::receive(
        ns,
        task,
        msqid,
        ptr(msgp),
        signed(msgsz) as u64,
        signed(msgtyp),
        msgflg,
        MsgbufLayout::Compat,
    )
}

/// `msgctl(msqid, cmd, buf)` of an i386 task, the direct syscall (`compat_ksys_msgctl`
/// with `IPC_64`): the `compat_msqid64_ds` layout. `IPC_64` in `cmd` is accepted and
/// misleads the command's code: `MSG_INFO` reports the `IPC_INFO` figures, the `*_STAT`
/// commands look up an id (with the read check) and return it, `IPC_SET` and `IPC_RMID`
/// fail with `EINVAL` after the lookup and the ownership check (`EPERM`).
pub fn compat_msgctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    cmd: i32,
    buf: u32,
) -> SysResult {
    let (cmd, flag) = direct_cmd(cmd);
    msgctl_compat(ns, task, msqid, cmd, buf, Version::Ipc64, flag)
}

fn msgctl_compat(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    cmd: i32,
    buf: u32,
    version: Version,
    flag: DirectFlag,
) -> SysResult {
    if msqid < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = MsgCtlCmd::try_from(cmd)?;
    let buf = ptr(buf);
    match cmd {
        MsgCtlCmd::IpcInfo | MsgCtlCmd::MsgInfo => {
            let asked = if flag == DirectFlag::Ipc64 {
                MsgCtlCmd::IpcInfo
            } else {
                cmd
            };
            // `struct msginfo` is made of `int`s: one layout for every task.
            let (ret, info) = ns.msgctl_info(msqid, asked)?;
            task.write_plain(buf, &info)?;
            Ok(i64::from(ret))
        }
        MsgCtlCmd::Stat | MsgCtlCmd::MsgStat | MsgCtlCmd::MsgStatAny => {
            let (ret, ds) = if flag == DirectFlag::Ipc64 {
                let (_, ds) = ns.msgctl_stat(task.caller, msqid, MsgCtlCmd::Stat)?;
                (msqid, ds)
            } else {
                ns.msgctl_stat(task.caller, msqid, cmd)?
            };
            match version {
                Version::Ipc64 => task.write_plain(buf, &msqid64_to_compat(&ds))?,
                Version::Old => task.write_plain(buf, &msqid_to_old(&ds))?,
            }
            Ok(i64::from(ret))
        }
        MsgCtlCmd::Set => {
            let mut ds = abi::Msqid64Ds::default();
            match version {
                Version::Ipc64 => {
                    let perm: CompatIpc64Perm = task.read_plain(buf)?;
                    ds.msg_perm = perm_from_compat64(&perm);
                    let mut qbytes = [0u8; 4];
                    task.read(buf + 68, &mut qbytes)?;
                    ds.msg_qbytes = u64::from(u32::from_ne_bytes(qbytes));
                }
                Version::Old => {
                    let perm: CompatIpcPerm = task.read_plain(buf)?;
                    ds.msg_perm = perm_from_old(&perm);
                    let mut qbytes = [0u8; 2];
                    task.read(buf + 48, &mut qbytes)?;
                    ds.msg_qbytes = u64::from(u16::from_ne_bytes(qbytes));
                }
            }
            if flag == DirectFlag::Ipc64 {
                return down_refused(ns, task.caller, msqid, Kind::Msg);
            }
            ns.msgctl_set(task.caller, msqid, &ds)?;
            Ok(0)
        }
        MsgCtlCmd::Rmid => {
            if flag == DirectFlag::Ipc64 {
                return down_refused(ns, task.caller, msqid, Kind::Msg);
            }
            ns.msgctl_rmid(task.caller, msqid)?;
            Ok(0)
        }
    }
}

// ---- sem ------------------------------------------------------------------------------------

/// `semtimedop(semid, sops, nsops, timeout)` with a 32-bit `old_timespec32` timeout
/// (`compat_ksys_semtimedop`, what `ipc(SEMTIMEDOP)` calls): the timeout is read first
/// (`EFAULT`), its seconds sign-extended; then as [`crate::semtimedop`].
pub fn semtimedop_time32(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    sops: u32,
    nsops: u32,
    timeout: u32,
) -> SysResult {
    let timeout = if timeout != 0 {
        let ts: OldTimespec32 = task.read_plain(ptr(timeout))?;
        Some(Timespec {
            sec: i64::from(ts.tv_sec),
            nsec: i64::from(ts.tv_nsec),
        })
    } else {
        None
    };
    sem::semtimedop_with(ns, task, semid, ptr(sops), nsops, timeout)
}

/// `semtimedop_time64(semid, sops, nsops, timeout)` of a 32-bit task: the native call with
/// 32-bit pointers (a 64-bit `__kernel_timespec`).
pub fn semtimedop_time64(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    sops: u32,
    nsops: u32,
    timeout: u32,
) -> SysResult {
    let timeout = if timeout != 0 {
        let ts: KernelTimespec = task.read_plain(ptr(timeout))?;
        Some(Timespec {
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
        })
    } else {
        None
    };
    sem::semtimedop_with(ns, task, semid, ptr(sops), nsops, timeout)
}

/// `semctl(semid, semnum, cmd, arg)` of an i386 task, the direct syscall
/// (`compat_ksys_semctl` with `IPC_64`): `arg` is a 32-bit `semun` (`val` for `SETVAL`, a
/// pointer otherwise); the `compat_semid64_ds` layout. `IPC_64` in `cmd` is accepted and
/// misleads the command's code: `SEM_INFO` reports the `IPC_INFO` figures, the `*_STAT`
/// commands look up an id (with the read check) and return it, `GETVAL`, `GETPID`,
/// `GETNCNT`, `GETZCNT`, `GETALL` and `SETALL` fail with `EINVAL` after the lookup and the
/// read check, `IPC_SET` and `IPC_RMID` after the lookup and the ownership check; `SETVAL`
/// works.
pub fn compat_semctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    semnum: i32,
    cmd: i32,
    arg: u32,
) -> SysResult {
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let (cmd, flag) = direct_cmd(cmd);
    let parsed = SemCtlCmd::try_from(cmd)?;
    if flag == DirectFlag::Ipc64 {
        match parsed {
            SemCtlCmd::IpcInfo | SemCtlCmd::SemInfo => {
                let (ret, info) = ns.semctl_info(semid, SemCtlCmd::IpcInfo)?;
                task.write_plain(ptr(arg), &info)?;
                return Ok(i64::from(ret));
            }
            SemCtlCmd::Stat | SemCtlCmd::SemStat | SemCtlCmd::SemStatAny => {
                let (_, ds) = ns.semctl_stat(task.caller, semid, SemCtlCmd::Stat)?;
                task.write_plain(ptr(arg), &semid64_to_compat(&ds))?;
                return Ok(i64::from(semid));
            }
            SemCtlCmd::GetVal
            | SemCtlCmd::GetPid
            | SemCtlCmd::GetNcnt
            | SemCtlCmd::GetZcnt
            | SemCtlCmd::GetAll
            | SemCtlCmd::SetAll => {
                // `semctl_main`: the lookup and the read-permission check, then no command
                // matches.
                ns.semctl_get(task.caller, semid, 0, SemCtlCmd::GetVal)?;
                return Err(Errno::EINVAL);
            }
            SemCtlCmd::Set => {
                let _: CompatIpc64Perm = task.read_plain(ptr(arg))?;
                return down_refused(ns, task.caller, semid, Kind::Sem);
            }
            SemCtlCmd::Rmid => return down_refused(ns, task.caller, semid, Kind::Sem),
            SemCtlCmd::SetVal => {}
        }
    }
    semctl_compat(ns, task, semid, semnum, cmd, arg, Version::Ipc64)
}

fn semctl_compat(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    semnum: i32,
    cmd: i32,
    arg: u32,
    version: Version,
) -> SysResult {
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let parsed = SemCtlCmd::try_from(cmd)?;
    let p = ptr(arg);
    match parsed {
        SemCtlCmd::Stat | SemCtlCmd::SemStat | SemCtlCmd::SemStatAny => {
            let (ret, ds) = ns.semctl_stat(task.caller, semid, parsed)?;
            match version {
                Version::Ipc64 => task.write_plain(p, &semid64_to_compat(&ds))?,
                Version::Old => task.write_plain(p, &semid_to_old(&ds))?,
            }
            Ok(i64::from(ret))
        }
        SemCtlCmd::Set => {
            let perm = read_set_perm(task, p, version)?;
            let ds = abi::Semid64Ds {
                sem_perm: perm,
                ..abi::Semid64Ds::default()
            };
            ns.semctl_set(task.caller, semid, &ds)?;
            Ok(0)
        }
        // `semun.val` is the 32-bit register itself; the other commands use the pointer or
        // nothing, and their structures (`seminfo`, `unsigned short` arrays) have one layout.
        _ => sem::semctl_versioned(ns, task, semid, semnum, cmd, u64::from(arg), Version::Ipc64),
    }
}

// ---- shm ------------------------------------------------------------------------------------

/// `shmat(shmid, shmaddr, shmflg)` of an i386 task (`compat_shmat`): as [`crate::shmat`]
/// with a 32-bit address.
///
/// The placement is the attach table's: it must lie below 4 GiB (a table made with
/// `AttachTable::with_task_size(IA32_TASK_SIZE)`, which also refuses a fixed address whose
/// range passes it, `ENOMEM`). If the table places the attachment where a 32-bit task
/// cannot reach it, the attachment is undone and the call fails with `ENOMEM`, as a full
/// 32-bit address space would.
pub fn compat_shmat(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    shmaddr: u32,
    shmflg: i32,
) -> SysResult {
    shmat_below_4g(ns, task, shmid, u64::from(shmaddr), shmflg)
}

/// `shmat(shmid, shmaddr, shmflg)` of an arm32 task under arm64: as [`compat_shmat`], with
/// `SHM_RND` rounding down to `COMPAT_SHMLBA`, four pages. Without `SHM_RND` any
/// page-aligned address is taken, as `do_shmat` does where `__ARCH_FORCE_SHMLBA` is not
/// defined (arm64).
pub fn arm32_shmat(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    shmaddr: u32,
    shmflg: i32,
) -> SysResult {
    let lba = abi::SHMLBA * abi::compat::ARM32_SHMLBA_PAGES;
    let mut addr = u64::from(shmaddr);
    if addr % lba != 0 && shmflg & abi::SHM_RND != 0 {
        // The namespace rounds to a page; hand it an address that rounds where
        // `COMPAT_SHMLBA` does. Rounding down to 0 stays a fixed address 0 there (`EPERM`,
        // or `EINVAL` with `SHM_REMAP`): 1 rounds to it.
        addr = match addr & !(lba - 1) {
            0 => 1,
            rounded => rounded,
        };
    }
    shmat_below_4g(ns, task, shmid, addr, shmflg)
}

fn shmat_below_4g(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    shmaddr: u64,
    shmflg: i32,
) -> SysResult {
    let addr = shm::shmat(ns, task, shmid, shmaddr, shmflg)?;
    let end = task
        .attach
        .find(addr as usize)
        .map_or(addr as u64, |m| m.end() as u64);
    if end > 1 << 32 {
        shm::shmdt(ns, task, addr as u64)?;
        return Err(Errno::ENOMEM);
    }
    Ok(addr)
}

/// `msgctl(msqid, cmd, buf)` of an arm32 task under arm64 (`compat_ksys_old_msgctl`): the
/// version is parsed, `IPC_64` selecting the compat 64 layout and its absence the old one.
pub fn compat_old_msgctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    msqid: i32,
    cmd: i32,
    buf: u32,
) -> SysResult {
    let (cmd, v) = Version::parse(cmd);
    msgctl_compat(ns, task, msqid, cmd, buf, v, DirectFlag::Clean)
}

/// `semctl(semid, semnum, cmd, arg)` of an arm32 task under arm64
/// (`compat_ksys_old_semctl`): the version is parsed from `cmd`.
pub fn compat_old_semctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    semnum: i32,
    cmd: i32,
    arg: u32,
) -> SysResult {
    let (cmd, v) = Version::parse(cmd);
    semctl_compat(ns, task, semid, semnum, cmd, arg, v)
}

/// `shmctl(shmid, cmd, buf)` of an arm32 task under arm64 (`compat_ksys_old_shmctl`): the
/// version is parsed from `cmd`.
pub fn compat_old_shmctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    cmd: i32,
    buf: u32,
) -> SysResult {
    let (cmd, v) = Version::parse(cmd);
    shmctl_compat(ns, task, shmid, cmd, buf, v)
}

/// `shmctl(shmid, cmd, buf)` of an i386 task, the direct syscall (`compat_ksys_shmctl`
/// with `IPC_64`): the `compat_shmid64_ds`, `compat_shminfo64` (`shmmax` capped at
/// `INT_MAX`) and `compat_shm_info` layouts. `IPC_64` in `cmd` is `EINVAL` (unlike
/// `msgctl` and `semctl`, the switch does not mask it).
pub fn compat_shmctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    cmd: i32,
    buf: u32,
) -> SysResult {
    shmctl_compat(ns, task, shmid, cmd, buf, Version::Ipc64)
}

fn shmctl_compat(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    cmd: i32,
    buf: u32,
    version: Version,
) -> SysResult {
    if cmd < 0 || shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let parsed = ShmCtlCmd::try_from(cmd)?;
    let p = ptr(buf);
    match parsed {
        ShmCtlCmd::IpcInfo => {
            let (ret, info) = ns.shmctl_ipc_info(shmid)?;
            let shmmax = info.shmmax.min(i32::MAX as u64);
            match version {
                Version::Ipc64 => task.write_plain(
                    p,
                    &CompatShminfo64 {
                        shmmax: shmmax as u32,
                        shmmin: info.shmmin as u32,
                        shmmni: info.shmmni as u32,
                        shmseg: info.shmseg as u32,
                        shmall: info.shmall as u32,
                        ..CompatShminfo64::default()
                    },
                )?,
                Version::Old => task.write_plain(
                    p,
                    &OldShminfo {
                        shmmax: shmmax as i32,
                        shmmin: info.shmmin as i32,
                        shmmni: info.shmmni as i32,
                        shmseg: info.shmseg as i32,
                        shmall: info.shmall as i32,
                    },
                )?,
            }
            Ok(i64::from(ret))
        }
        ShmCtlCmd::ShmInfo => {
            // One layout whatever the version (`put_compat_shm_info`).
            let (ret, info) = ns.shmctl_shm_info(shmid)?;
            task.write_plain(
                p,
                &CompatShmInfo {
                    used_ids: info.used_ids,
                    shm_tot: info.shm_tot as u32,
                    shm_rss: info.shm_rss as u32,
                    shm_swp: info.shm_swp as u32,
                    swap_attempts: info.swap_attempts as u32,
                    swap_successes: info.swap_successes as u32,
                },
            )?;
            Ok(i64::from(ret))
        }
        ShmCtlCmd::Stat | ShmCtlCmd::ShmStat | ShmCtlCmd::ShmStatAny => {
            let (ret, ds) = ns.shmctl_stat(task.caller, shmid, parsed)?;
            match version {
                Version::Ipc64 => task.write_plain(p, &shmid64_to_compat(&ds))?,
                Version::Old => task.write_plain(p, &shmid_to_old(&ds))?,
            }
            Ok(i64::from(ret))
        }
        ShmCtlCmd::Set => {
            let perm = read_set_perm(task, p, version)?;
            let ds = abi::Shmid64Ds {
                shm_perm: perm,
                ..abi::Shmid64Ds::default()
            };
            ns.shmctl_set(task.caller, shmid, &ds)?;
            Ok(0)
        }
        ShmCtlCmd::Rmid | ShmCtlCmd::Lock | ShmCtlCmd::Unlock => {
            shm::shmctl_versioned(ns, task, shmid, cmd, p, Version::Ipc64)
        }
    }
}

// ---- IPC_SET / IPC_RMID with IPC_64 left in the command ----------------------------------------

/// The mechanism of a refused `IPC_SET` / `IPC_RMID`.
#[derive(Clone, Copy)]
enum Kind {
    Msg,
    Sem,
}

/// `msgctl_down` / `semctl_down` reached with `IPC_64` still in the command:
/// `ipcctl_obtain_check` runs (the lookup, `EINVAL`; ownership, `EPERM`), then no command
/// matches (`EINVAL`). Nothing changes.
fn down_refused(ns: &IpcNamespace, caller: &Caller, id: i32, kind: Kind) -> SysResult {
    let index = id & (abi::IPCMNI - 1);
    // The `*_STAT_ANY` commands read the object without a permission check; the id they
    // return must be the one given (otherwise the id is stale: `EINVAL`).
    let (found, perm) = match kind {
        Kind::Msg => {
            let (found, ds) = ns.msgctl_stat(caller, index, MsgCtlCmd::MsgStatAny)?;
            (found, ds.msg_perm)
        }
        Kind::Sem => {
            let (found, ds) = ns.semctl_stat(caller, index, SemCtlCmd::SemStatAny)?;
            (found, ds.sem_perm)
        }
    };
    if found != id {
        return Err(Errno::EINVAL);
    }
    let cred = &caller.cred;
    if cred.euid == perm.uid || cred.euid == perm.cuid || cred.has(sysvipc::Capabilities::SYS_ADMIN)
    {
        Err(Errno::EINVAL)
    } else {
        Err(Errno::EPERM)
    }
}

// ---- structure conversions ------------------------------------------------------------------

/// `to_compat_ipc64_perm`: 32-bit ids, a 16-bit mode.
fn perm_to_compat64(p: &abi::Ipc64Perm) -> CompatIpc64Perm {
    CompatIpc64Perm {
        key: p.key,
        uid: p.uid,
        gid: p.gid,
        cuid: p.cuid,
        cgid: p.cgid,
        mode: p.mode as u16,
        seq: p.seq,
        ..CompatIpc64Perm::default()
    }
}

/// `high2lowuid`: an id that does not fit 16 bits shows as the overflow id.
fn low_id(id: u32) -> u16 {
    u16::try_from(id).unwrap_or(OVERFLOW_ID)
}

/// `to_compat_ipc_perm`: 16-bit ids (`high2lowuid`), a 16-bit mode.
fn perm_to_old(p: &abi::Ipc64Perm) -> CompatIpcPerm {
    CompatIpcPerm {
        key: p.key,
        uid: low_id(p.uid),
        gid: low_id(p.gid),
        cuid: low_id(p.cuid),
        cgid: low_id(p.cgid),
        mode: p.mode as u16,
        seq: p.seq,
    }
}

/// The `ipc_perm` an `IPC_SET` structure of a semaphore set or a segment starts with, in the
/// layout `version` selects.
fn read_set_perm(task: &Task, p: u64, version: Version) -> Result<abi::Ipc64Perm, Errno> {
    Ok(match version {
        Version::Ipc64 => perm_from_compat64(&task.read_plain(p)?),
        Version::Old => perm_from_old(&task.read_plain(p)?),
    })
}

/// `get_compat_ipc64_perm`: the three fields `IPC_SET` uses.
fn perm_from_compat64(p: &CompatIpc64Perm) -> abi::Ipc64Perm {
    abi::Ipc64Perm {
        uid: p.uid,
        gid: p.gid,
        mode: u32::from(p.mode),
        ..abi::Ipc64Perm::default()
    }
}

/// `get_compat_ipc_perm`: the 16-bit ids zero-extended (65535 stays 65535).
fn perm_from_old(p: &CompatIpcPerm) -> abi::Ipc64Perm {
    abi::Ipc64Perm {
        uid: u32::from(p.uid),
        gid: u32::from(p.gid),
        mode: u32::from(p.mode),
        ..abi::Ipc64Perm::default()
    }
}

fn lo(t: i64) -> u32 {
    t as u32
}

fn hi(t: i64) -> u32 {
    (t >> 32) as u32
}

/// `copy_compat_msqid_to_user`, `IPC_64`.
fn msqid64_to_compat(ds: &abi::Msqid64Ds) -> CompatMsqid64Ds {
    CompatMsqid64Ds {
        msg_perm: perm_to_compat64(&ds.msg_perm),
        msg_stime: lo(ds.msg_stime),
        msg_stime_high: hi(ds.msg_stime),
        msg_rtime: lo(ds.msg_rtime),
        msg_rtime_high: hi(ds.msg_rtime),
        msg_ctime: lo(ds.msg_ctime),
        msg_ctime_high: hi(ds.msg_ctime),
        msg_cbytes: ds.msg_cbytes as u32,
        msg_qnum: ds.msg_qnum as u32,
        msg_qbytes: ds.msg_qbytes as u32,
        msg_lspid: ds.msg_lspid,
        msg_lrpid: ds.msg_lrpid,
        ..CompatMsqid64Ds::default()
    }
}

/// `copy_compat_msqid_to_user`, `IPC_OLD`: the counters are truncated to 16 bits (not
/// clamped, unlike the native old copy) and `msg_lcbytes` / `msg_lqbytes` stay 0.
fn msqid_to_old(ds: &abi::Msqid64Ds) -> CompatMsqidDs {
    CompatMsqidDs {
        msg_perm: perm_to_old(&ds.msg_perm),
        msg_stime: ds.msg_stime as i32,
        msg_rtime: ds.msg_rtime as i32,
        msg_ctime: ds.msg_ctime as i32,
        msg_cbytes: ds.msg_cbytes as u16,
        msg_qnum: ds.msg_qnum as u16,
        msg_qbytes: ds.msg_qbytes as u16,
        msg_lspid: ds.msg_lspid as u16,
        msg_lrpid: ds.msg_lrpid as u16,
        ..CompatMsqidDs::default()
    }
}

/// `copy_compat_semid_to_user`, `IPC_64`.
fn semid64_to_compat(ds: &abi::Semid64Ds) -> CompatSemid64Ds {
    CompatSemid64Ds {
        sem_perm: perm_to_compat64(&ds.sem_perm),
        sem_otime: lo(ds.sem_otime),
        sem_otime_high: hi(ds.sem_otime),
        sem_ctime: lo(ds.sem_ctime),
        sem_ctime_high: hi(ds.sem_ctime),
        sem_nsems: ds.sem_nsems as u32,
        ..CompatSemid64Ds::default()
    }
}

/// `copy_compat_semid_to_user`, `IPC_OLD`.
fn semid_to_old(ds: &abi::Semid64Ds) -> CompatSemidDs {
    CompatSemidDs {
        sem_perm: perm_to_old(&ds.sem_perm),
        sem_otime: ds.sem_otime as i32,
        sem_ctime: ds.sem_ctime as i32,
        sem_nsems: ds.sem_nsems as u16,
        ..CompatSemidDs::default()
    }
}

/// `copy_compat_shmid_to_user`, `IPC_64`.
fn shmid64_to_compat(ds: &abi::Shmid64Ds) -> CompatShmid64Ds {
    CompatShmid64Ds {
        shm_perm: perm_to_compat64(&ds.shm_perm),
        shm_segsz: ds.shm_segsz as u32,
        shm_atime: lo(ds.shm_atime),
        shm_atime_high: hi(ds.shm_atime),
        shm_dtime: lo(ds.shm_dtime),
        shm_dtime_high: hi(ds.shm_dtime),
        shm_ctime: lo(ds.shm_ctime),
        shm_ctime_high: hi(ds.shm_ctime),
        shm_cpid: ds.shm_cpid,
        shm_lpid: ds.shm_lpid,
        shm_nattch: ds.shm_nattch as u32,
        ..CompatShmid64Ds::default()
    }
}

/// `copy_compat_shmid_to_user`, `IPC_OLD`: 16-bit pids and attach count.
fn shmid_to_old(ds: &abi::Shmid64Ds) -> CompatShmidDs {
    CompatShmidDs {
        shm_perm: perm_to_old(&ds.shm_perm),
        shm_segsz: ds.shm_segsz as i32,
        shm_atime: ds.shm_atime as i32,
        shm_dtime: ds.shm_dtime as i32,
        shm_ctime: ds.shm_ctime as i32,
        shm_cpid: ds.shm_cpid as u16,
        shm_lpid: ds.shm_lpid as u16,
        shm_nattch: ds.shm_nattch as u16,
        ..CompatShmidDs::default()
    }
}
