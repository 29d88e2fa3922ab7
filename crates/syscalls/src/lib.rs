//! System V IPC syscalls as a sandbox receives them: raw arguments — integers and guest
//! addresses — in, the kernel's return value or errno out, over a [`sysvipc::IpcNamespace`].
//!
//! Each entry point takes the arguments with the types of the kernel's `SYSCALL_DEFINE`
//! (an `int` as `i32`, a `size_t` or pointer as `u64`, a `long` as `i64`) and decodes them as
//! Linux does: `msgbuf` (a `long` type, then the text), `sembuf` arrays, `union semun`,
//! `struct __kernel_timespec`, and the `*64_ds` / `*info` structures, copied through the
//! task's [`UserMemory`] in the kernel's order, so that a bad address gives `EFAULT` exactly
//! where Linux gives it and a fault part-way leaves the namespace as Linux leaves it (a
//! message received into a bad buffer is gone).
//!
//! [`syscall`] dispatches by syscall number (x86-64, the asm-generic numbering of aarch64
//! and riscv64, or i386 for a 32-bit task); [`ipc()`] is the `ipc(2)` multiplexer of a
//! 64-bit task. A 32-bit task (i386 under x86-64's IA32 emulation) has entry points of its
//! own, the `compat_*` functions (module docs of `compat.rs`, and `docs/embedding.md`):
//! 32-bit registers, the `compat_*` structures, the pre-2.4 ones through [`compat_ipc`].
//!
//! ```
//! use std::sync::Arc;
//! use sysvipc::{abi, AttachTable, Caller, Credentials, IpcNamespace, ThreadBlocker};
//! use sysvipc_syscalls::{Arch, HeapUserMemory, Task, syscall};
//!
//! let ns = IpcNamespace::new();
//! let caller = Caller::new(Credentials::root(), 100, Arc::new(ThreadBlocker::new()));
//! let memory = HeapUserMemory::new();
//! memory.map(0x1000, 64);
//! let mut space = AttachTable::new(100);
//! let mut task = Task::new(&caller, &memory, &mut space);
//! let nr = abi::arch::x86_64::nr::MSGGET;
//! let id = syscall(&ns, &mut task, Arch::X86_64, nr, [0, 0o1600, 0, 0, 0, 0]).unwrap();
//! let id = id.unwrap() as u64;
//! // msgsnd(id, 0x1000 = { mtype 5, "hi" }, 2, 0)
//! memory.write(0x1000, &5i64.to_ne_bytes()).unwrap();
//! memory.write(0x1008, b"hi").unwrap();
//! let snd = abi::arch::x86_64::nr::MSGSND;
//! assert_eq!(syscall(&ns, &mut task, Arch::X86_64, snd, [id, 0x1000, 2, 0, 0, 0]), Some(Ok(0)));
//! // msgrcv into a buffer that does not exist: EFAULT, and the message is gone.
//! let rcv = abi::arch::x86_64::nr::MSGRCV;
//! let lost = syscall(&ns, &mut task, Arch::X86_64, rcv, [id, 0x9000, 8, 0, 0, 0]);
//! assert_eq!(lost, Some(Err(abi::Errno::EFAULT)));
//! # use sysvipc_syscalls::UserMemory;
//! ```
//!
//! # Safety
//!
//! The only `unsafe` code views the padding-free ABI structures as bytes (`memory.rs`).
#![deny(unsafe_code)]

use sysvipc::IpcNamespace;
pub use sysvipc_abi as abi;
use sysvipc_abi::Errno;

mod compat;
mod ipc;
#[allow(unsafe_code)]
mod memory;
mod msg;
mod sem;
mod shm;
mod task;

pub use compat::{
    arm32_shmat, compat_ipc, compat_msgctl, compat_msgrcv, compat_msgsnd, compat_old_msgctl,
    compat_old_semctl, compat_old_shmctl, compat_semctl, compat_shmat, compat_shmctl,
    semtimedop_time32, semtimedop_time64,
};
pub use ipc::ipc;
pub use memory::{HeapUserMemory, IpcKludge, KernelTimespec, UserMemory};
pub use msg::{msgctl, msgget, msgrcv, msgsnd};
pub use sem::{semctl, semget, semop, semtimedop};
pub use shm::{shmat, shmctl, shmdt, shmget};
pub use task::Task;

/// What a syscall returns: its value, or the errno (as the kernel's `-errno`).
pub type SysResult = Result<i64, Errno>;

/// Which structures an old-style ctl call (`ipc(2)`'s `*CTL`) asked for
/// (`ipc_parse_version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// `IPC_64` in the command: the `*64_ds` structures.
    Ipc64,
    /// No `IPC_64`: the pre-2.4 `msqid_ds` / `semid_ds` / `shmid_ds` / `shminfo` layouts.
    Old,
}

impl Version {
    /// Splits `IPC_64` off a command.
    pub(crate) fn parse(cmd: i32) -> (i32, Version) {
        if cmd & abi::IPC_64 != 0 {
            (cmd ^ abi::IPC_64, Version::Ipc64)
        } else {
            (cmd, Version::Old)
        }
    }

    /// A 64-bit task's `ipc(2)` has no old layouts here (they are those of the 64-bit
    /// architectures that still have the multiplexer, none of which is served): such a call
    /// fails with `EINVAL` after the checks that come before the copy (listed in
    /// docs/conformance.md). A 32-bit task's old layouts are served by `compat.rs`.
    pub(crate) fn supported(self) -> Result<(), Errno> {
        match self {
            Version::Ipc64 => Ok(()),
            Version::Old => Err(Errno::EINVAL),
        }
    }
}

/// A syscall numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86-64 (`arch/x86/entry/syscalls/syscall_64.tbl`).
    X86_64,
    /// asm-generic (`include/uapi/asm-generic/unistd.h`): aarch64, riscv64, loongarch64.
    Generic,
    /// i386 (`arch/x86/entry/syscalls/syscall_32.tbl`), a 32-bit task under x86-64's IA32
    /// emulation: each register is truncated to 32 bits (`(unsigned int)regs->bx` …) and the
    /// compat entry points run.
    I386,
    /// arm32 EABI (`arch/arm/tools/syscall.tbl`), a 32-bit task under arm64's `COMPAT`:
    /// 32-bit registers, no `ipc(2)`, ctl calls that parse `IPC_64`.
    Arm32,
}

/// Runs syscall `nr` of `arch` with the raw register arguments, truncated to the types the
/// kernel declares. `None` if `nr` is not a System V IPC syscall.
pub fn syscall(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    arch: Arch,
    nr: i64,
    args: [u64; 6],
) -> Option<SysResult> {
    use abi::arch::{generic, x86_64};
    let call = match arch {
        Arch::I386 => return syscall_i386(ns, task, nr, args.map(|r| r as u32)),
        Arch::Arm32 => return syscall_arm32(ns, task, nr, args.map(|r| r as u32)),
        Arch::X86_64 => match nr {
            x86_64::nr::MSGGET => Call::MsgGet,
            x86_64::nr::MSGSND => Call::MsgSnd,
            x86_64::nr::MSGRCV => Call::MsgRcv,
            x86_64::nr::MSGCTL => Call::MsgCtl,
            x86_64::nr::SEMGET => Call::SemGet,
            x86_64::nr::SEMOP => Call::SemOp,
            x86_64::nr::SEMTIMEDOP => Call::SemTimedOp,
            x86_64::nr::SEMCTL => Call::SemCtl,
            x86_64::nr::SHMGET => Call::ShmGet,
            x86_64::nr::SHMAT => Call::ShmAt,
            x86_64::nr::SHMDT => Call::ShmDt,
            x86_64::nr::SHMCTL => Call::ShmCtl,
            _ => return None,
        },
        Arch::Generic => match nr {
            generic::nr::MSGGET => Call::MsgGet,
            generic::nr::MSGSND => Call::MsgSnd,
            generic::nr::MSGRCV => Call::MsgRcv,
            generic::nr::MSGCTL => Call::MsgCtl,
            generic::nr::SEMGET => Call::SemGet,
            generic::nr::SEMOP => Call::SemOp,
            generic::nr::SEMTIMEDOP => Call::SemTimedOp,
            generic::nr::SEMCTL => Call::SemCtl,
            generic::nr::SHMGET => Call::ShmGet,
            generic::nr::SHMAT => Call::ShmAt,
            generic::nr::SHMDT => Call::ShmDt,
            generic::nr::SHMCTL => Call::ShmCtl,
            _ => return None,
        },
    };
    let [a, b, c, d, e, _] = args;
    let int = |v: u64| v as i32;
    Some(match call {
        Call::MsgGet => msgget(ns, task, int(a), int(b)),
        Call::MsgSnd => msgsnd(ns, task, int(a), b, c, int(d)),
        Call::MsgRcv => msgrcv(ns, task, int(a), b, c, d as i64, int(e)),
        Call::MsgCtl => msgctl(ns, task, int(a), int(b), c),
        Call::SemGet => semget(ns, task, int(a), int(b), int(c)),
        Call::SemOp => semop(ns, task, int(a), b, c as u32),
        Call::SemTimedOp => semtimedop(ns, task, int(a), b, c as u32, d),
        Call::SemCtl => semctl(ns, task, int(a), int(b), int(c), d),
        Call::ShmGet => shmget(ns, task, int(a), b, int(c)),
        Call::ShmAt => shmat(ns, task, int(a), b, int(c)),
        Call::ShmDt => shmdt(ns, task, a),
        Call::ShmCtl => shmctl(ns, task, int(a), int(b), c),
    })
}

/// The i386 numbers, with the argument types of `syscall_32.tbl`'s compat entries.
fn syscall_i386(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    nr: i64,
    args: [u32; 6],
) -> Option<SysResult> {
    use abi::compat::i386;
    let [a, b, c, d, e, _] = args;
    let int = |v: u32| v as i32;
    Some(match nr {
        i386::IPC => compat_ipc(ns, task, args),
        i386::SEMGET => semget(ns, task, int(a), int(b), int(c)),
        i386::SEMCTL => compat_semctl(ns, task, int(a), int(b), int(c), d),
        // `size_t`: the register zero-extended.
        i386::SHMGET => shmget(ns, task, int(a), u64::from(b), int(c)),
        i386::SHMCTL => compat_shmctl(ns, task, int(a), int(b), c),
        i386::SHMAT => compat_shmat(ns, task, int(a), b, int(c)),
        i386::SHMDT => shmdt(ns, task, u64::from(a)),
        i386::MSGGET => msgget(ns, task, int(a), int(b)),
        i386::MSGSND => compat_msgsnd(ns, task, int(a), b, c, int(d)),
        i386::MSGRCV => compat_msgrcv(ns, task, int(a), b, c, d, int(e)),
        i386::MSGCTL => compat_msgctl(ns, task, int(a), int(b), c),
        i386::SEMTIMEDOP_TIME64 => semtimedop_time64(ns, task, int(a), b, c, d),
        _ => return None,
    })
}

/// The arm32 numbers, as arm64 serves them to a `COMPAT` task.
fn syscall_arm32(
    ns: &IpcNamespace,
    task: &mut Task<'_>,
    nr: i64,
    args: [u32; 6],
) -> Option<SysResult> {
    use abi::compat::arm32;
    let [a, b, c, d, e, _] = args;
    let int = |v: u32| v as i32;
    Some(match nr {
        arm32::SEMOP => semop(ns, task, int(a), u64::from(b), c),
        arm32::SEMGET => semget(ns, task, int(a), int(b), int(c)),
        arm32::SEMCTL => compat_old_semctl(ns, task, int(a), int(b), int(c), d),
        arm32::MSGSND => compat_msgsnd(ns, task, int(a), b, c, int(d)),
        arm32::MSGRCV => compat_msgrcv(ns, task, int(a), b, c, d, int(e)),
        arm32::MSGGET => msgget(ns, task, int(a), int(b)),
        arm32::MSGCTL => compat_old_msgctl(ns, task, int(a), int(b), c),
        arm32::SHMAT => arm32_shmat(ns, task, int(a), b, int(c)),
        arm32::SHMDT => shmdt(ns, task, u64::from(a)),
        arm32::SHMGET => shmget(ns, task, int(a), u64::from(b), int(c)),
        arm32::SHMCTL => compat_old_shmctl(ns, task, int(a), int(b), c),
        arm32::SEMTIMEDOP => semtimedop_time32(ns, task, int(a), b, c, d),
        arm32::SEMTIMEDOP_TIME64 => semtimedop_time64(ns, task, int(a), b, c, d),
        _ => return None,
    })
}

/// The twelve calls, whatever their numbering.
#[derive(Clone, Copy)]
enum Call {
    MsgGet,
    MsgSnd,
    MsgRcv,
    MsgCtl,
    SemGet,
    SemOp,
    SemTimedOp,
    SemCtl,
    ShmGet,
    ShmAt,
    ShmDt,
    ShmCtl,
}
