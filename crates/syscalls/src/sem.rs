//! `semget(2)`, `semop(2)`, `semtimedop(2)`, `semctl(2)`: `ksys_sem*` of Linux `ipc/sem.c`.

use sysvipc::abi::{self, Sembuf};
use sysvipc::{Errno, IpcNamespace, SemCtlCmd, Timespec};

use crate::memory::{KernelTimespec, slice_bytes_mut};
use crate::task::Task;
use crate::{SysResult, Version};

/// `kvmalloc` refuses more than `INT_MAX` bytes: a larger `sembuf` array is `ENOMEM`.
const KVMALLOC_MAX: u64 = i32::MAX as u64;

/// `semget(key, nsems, semflg)`: the set id.
pub fn semget(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    key: i32,
    nsems: i32,
    semflg: i32,
) -> SysResult {
    ns.semget(task.caller, key, nsems, semflg).map(i64::from)
}

/// `semop(semid, sops, nsops)`: `semtimedop` without a timeout.
pub fn semop(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    sops: u64,
    nsops: u32,
) -> SysResult {
    semtimedop(ns, task, semid, sops, nsops, 0)
}

/// `semtimedop(semid, sops, nsops, timeout)`: 0.
///
/// In Linux's order: the timeout is read (`EFAULT`) before anything else; `E2BIG` for more
/// operations than `semopm` (unsigned), `EINVAL` for none, `ENOMEM` for an array past
/// `kvmalloc`'s limit; the operations are copied in (`EFAULT`); then the id, the timeout's
/// validity and the set's own checks. Interruption is `EINTR` (never restarted).
pub fn semtimedop(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    sops: u64,
    nsops: u32,
    timeout: u64,
) -> SysResult {
    let timeout = if timeout != 0 {
        let ts: KernelTimespec = task.read_plain(timeout)?;
        Some(Timespec {
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
        })
    } else {
        None
    };
    semtimedop_with(ns, task, semid, sops, nsops, timeout)
}

/// `do_semtimedop`: the call once the timeout, whatever its layout, is read.
pub(crate) fn semtimedop_with(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    sops: u64,
    nsops: u32,
    timeout: Option<Timespec>,
) -> SysResult {
    if u64::from(nsops) > u64::from(ns.limits().semopm() as u32) {
        return Err(Errno::E2BIG);
    }
    if nsops < 1 {
        return Err(Errno::EINVAL);
    }
    if u64::from(nsops) * std::mem::size_of::<Sembuf>() as u64 > KVMALLOC_MAX {
        return Err(Errno::ENOMEM);
    }
    let mut ops = vec![Sembuf::default(); nsops as usize];
    task.read(sops, slice_bytes_mut(&mut ops))?;
    ns.semtimedop(task.caller, semid, &ops, timeout)?;
    Ok(0)
}

/// `semctl(semid, semnum, cmd, arg)` (`ksys_semctl` with the 64-bit structures): `arg` is the
/// `union semun` as the register holds it: `val` for `SETVAL` (its low 32 bits), a pointer
/// for the others.
///
/// `EINVAL` for a negative id; `IPC_SET` copies `semid64_ds` in before the lookup
/// (`EFAULT`); `GETALL` and the stat and info commands copy out after success; `SETALL`
/// reads the values after the lookup and the permission check, as many as the set has.
pub fn semctl(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    semnum: i32,
    cmd: i32,
    arg: u64,
) -> SysResult {
    semctl_versioned(ns, task, semid, semnum, cmd, arg, Version::Ipc64)
}

pub(crate) fn semctl_versioned(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    semid: i32,
    semnum: i32,
    cmd: i32,
    arg: u64,
    version: Version,
) -> SysResult {
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = SemCtlCmd::try_from(cmd)?;
    version.supported()?;
    match cmd {
        SemCtlCmd::IpcInfo | SemCtlCmd::SemInfo => {
            let (ret, info) = ns.semctl_info(semid, cmd)?;
            task.write_plain(arg, &info)?;
            Ok(i64::from(ret))
        }
        SemCtlCmd::Stat | SemCtlCmd::SemStat | SemCtlCmd::SemStatAny => {
            let (ret, ds) = ns.semctl_stat(task.caller, semid, cmd)?;
            task.write_plain(arg, &ds)?;
            Ok(i64::from(ret))
        }
        SemCtlCmd::GetVal | SemCtlCmd::GetPid | SemCtlCmd::GetNcnt | SemCtlCmd::GetZcnt => ns
            .semctl_get(task.caller, semid, semnum, cmd)
            .map(i64::from),
        SemCtlCmd::GetAll => {
            let values = ns.semctl_getall(task.caller, semid)?;
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
            task.write(arg, &bytes)?;
            Ok(0)
        }
        SemCtlCmd::SetAll => {
            let task = &*task;
            ns.semctl_setall(task.caller, semid, |nsems| {
                let mut bytes = vec![0u8; nsems * 2];
                task.read(arg, &mut bytes)?;
                Ok(bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                    .collect())
            })?;
            Ok(0)
        }
        SemCtlCmd::SetVal => {
            ns.semctl_setval(task.caller, semid, semnum, arg as u32 as i32)?;
            Ok(0)
        }
        SemCtlCmd::Set => {
            let ds: abi::Semid64Ds = task.read_plain(arg)?;
            ns.semctl_set(task.caller, semid, &ds)?;
            Ok(0)
        }
        SemCtlCmd::Rmid => {
            ns.semctl_rmid(task.caller, semid)?;
            Ok(0)
        }
    }
}
