//! `shmget(2)`, `shmat(2)`, `shmdt(2)`, `shmctl(2)`: `ksys_shm*` and `do_shmat` of Linux
//! `ipc/shm.c`.

use sysvipc::abi;
use sysvipc::{Errno, IpcNamespace, ShmCtlCmd};

use crate::task::Task;
use crate::{SysResult, Version};

/// `shmget(key, size, shmflg)`: the segment id.
pub fn shmget(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    key: i32,
    size: u64,
    shmflg: i32,
) -> SysResult {
    ns.shmget(task.caller, key, size, shmflg).map(i64::from)
}

/// `shmat(shmid, shmaddr, shmflg)`: the address of the new attachment in the task's address
/// space. The embedder maps what `task.attach.find(address)` describes.
pub fn shmat(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    shmaddr: u64,
    shmflg: i32,
) -> SysResult {
    let addr = usize::try_from(shmaddr).map_err(|_| Errno::EINVAL)?;
    let at = ns.shmat(task.caller, task.attach, shmid, addr, shmflg)?;
    Ok(at as i64)
}

/// `shmdt(shmaddr)`: 0, or `EINVAL` where no attachment starts.
pub fn shmdt(ns: &IpcNamespace, task: &mut Task<'_>, shmaddr: u64) -> SysResult {
    let addr = usize::try_from(shmaddr).map_err(|_| Errno::EINVAL)?;
    ns.shmdt(task.attach, addr)?;
    Ok(0)
}

/// `shmctl(shmid, cmd, buf)` (`ksys_shmctl` with the 64-bit structures): `EINVAL` for a
/// negative command or id; `IPC_SET` copies `shmid64_ds` in first (`EFAULT`); the stat and
/// info commands copy out after success.
pub fn shmctl(ns: &IpcNamespace, task: &mut Task<'_>, shmid: i32, cmd: i32, buf: u64) -> SysResult {
    shmctl_versioned(ns, task, shmid, cmd, buf, Version::Ipc64)
}

pub(crate) fn shmctl_versioned(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    shmid: i32,
    cmd: i32,
    buf: u64,
    version: Version,
) -> SysResult {
    if cmd < 0 || shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let cmd = ShmCtlCmd::try_from(cmd)?;
    version.supported()?;
    match cmd {
        ShmCtlCmd::IpcInfo => {
            let (ret, info) = ns.shmctl_ipc_info(shmid)?;
            task.write_plain(buf, &info)?;
            Ok(i64::from(ret))
        }
        ShmCtlCmd::ShmInfo => {
            let (ret, info) = ns.shmctl_shm_info(shmid)?;
            task.write_plain(buf, &info)?;
            Ok(i64::from(ret))
        }
        ShmCtlCmd::Stat | ShmCtlCmd::ShmStat | ShmCtlCmd::ShmStatAny => {
            let (ret, ds) = ns.shmctl_stat(task.caller, shmid, cmd)?;
            task.write_plain(buf, &ds)?;
            Ok(i64::from(ret))
        }
        ShmCtlCmd::Set => {
            let ds: abi::Shmid64Ds = task.read_plain(buf)?;
            ns.shmctl_set(task.caller, shmid, &ds)?;
            Ok(0)
        }
        ShmCtlCmd::Rmid => {
            ns.shmctl_rmid(task.caller, shmid)?;
            Ok(0)
        }
        ShmCtlCmd::Lock | ShmCtlCmd::Unlock => {
            ns.shmctl_lock(task.caller, shmid, cmd)?;
            Ok(0)
        }
    }
}
