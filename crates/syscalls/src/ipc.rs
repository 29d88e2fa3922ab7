//! The `ipc(2)` multiplexer: `ksys_ipc` of Linux `ipc/syscall.c`, for a 64-bit task (the
//! native structures; `semtimedop`'s timeout is a 64-bit `timespec`).

use sysvipc::abi::ipc_call;
use sysvipc::{Errno, IpcNamespace};

use crate::memory::IpcKludge;
use crate::task::Task;
use crate::{SysResult, Version, msg, sem, shm};

/// `ipc(call, first, second, third, ptr, fifth)`, the six registers as given (`call` an
/// `unsigned int`, `first` an `int`, `second` and `third` `unsigned long`, `ptr` a pointer,
/// `fifth` a `long`).
///
/// The low 16 bits of `call` name the operation and the high 16 bits are a version: it
/// selects `msgrcv`'s calling convention (version 0 reads a `struct ipc_kludge` from `ptr`)
/// and refuses the old iBCS2 `shmat` (version 1, `EINVAL`). The ctl calls take `IPC_64` in
/// the command to mean the 64-bit structures. `shmat` stores the address at `*third` and
/// returns 0. Unknown operations are `ENOSYS`.
pub fn ipc(ns: &IpcNamespace, task: &mut Task<'_>, args: [u64; 6]) -> SysResult {
    let [call, first, second, third, ptr, fifth] = args;
    let (call, first, fifth) = (call as u32, first as i32, fifth as i64);
    let version = call >> ipc_call::VERSION_SHIFT;
    match (call & 0xffff) as i32 {
        ipc_call::SEMOP => sem::semtimedop(ns, task, first, ptr, second as u32, 0),
        ipc_call::SEMTIMEDOP => sem::semtimedop(ns, task, first, ptr, second as u32, fifth as u64),
        ipc_call::SEMGET => sem::semget(ns, task, first, second as i32, third as i32),
        ipc_call::SEMCTL => {
            if ptr == 0 {
                return Err(Errno::EINVAL);
            }
            let mut arg = [0u8; 8];
            task.read(ptr, &mut arg)?;
            let (cmd, v) = Version::parse(third as i32);
            sem::semctl_versioned(
                ns,
                task,
                first,
                second as i32,
                cmd,
                u64::from_ne_bytes(arg),
                v,
            )
        }
        ipc_call::MSGSND => msg::msgsnd(ns, task, first, ptr, second, third as i32),
        ipc_call::MSGRCV if version == 0 => {
            if ptr == 0 {
                return Err(Errno::EINVAL);
            }
            let k: IpcKludge = task.read_plain(ptr)?;
            msg::msgrcv(ns, task, first, k.msgp, second, k.msgtyp, third as i32)
        }
        ipc_call::MSGRCV => msg::msgrcv(ns, task, first, ptr, second, fifth, third as i32),
        ipc_call::MSGGET => msg::msgget(ns, task, first, second as i32),
        ipc_call::MSGCTL => {
            let (cmd, v) = Version::parse(second as i32);
            msg::msgctl_versioned(ns, task, first, cmd, ptr, v)
        }
        ipc_call::SHMAT if version == 1 => Err(Errno::EINVAL),
        ipc_call::SHMAT => {
            let addr = shm::shmat(ns, task, first, ptr, second as i32)?;
            // The attachment stays even if the address cannot be stored, as on Linux.
            task.put(third, &(addr as u64).to_ne_bytes())?;
            Ok(0)
        }
        ipc_call::SHMDT => shm::shmdt(ns, task, ptr),
        ipc_call::SHMGET => shm::shmget(ns, task, first, second, third as i32),
        ipc_call::SHMCTL => {
            let (cmd, v) = Version::parse(second as i32);
            shm::shmctl_versioned(ns, task, first, cmd, ptr, v)
        }
        _ => Err(Errno::ENOSYS),
    }
}
