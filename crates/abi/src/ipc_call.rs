//! Call numbers of the ipc(2) multiplexer (`ipc(call, first, second, third, ptr, fifth)`).
//!
//! Mirrors `include/uapi/linux/ipc.h`; dispatched by `ksys_ipc()`/`compat_ksys_ipc()` in
//! `ipc/syscall.c`. x86-64 and aarch64 have no native ipc(2); it serves i386 and 32-bit
//! compat tasks. The low 16 bits of `call` are the call number, the high 16 bits a version
//! ([`VERSION_SHIFT`]); any other call number gives `ENOSYS`.

/// `SEMOP`: `semtimedop(first, ptr, second, NULL)`.
pub const SEMOP: i32 = 1;
/// `SEMGET`: `semget(first, second, third)`.
pub const SEMGET: i32 = 2;
/// `SEMCTL`: `semctl(first, second, third, *ptr)` (old `semctl`, IPC_64 parsed).
pub const SEMCTL: i32 = 3;
/// `SEMTIMEDOP`: `semtimedop(first, ptr, second, fifth)` (32-bit `timespec`).
pub const SEMTIMEDOP: i32 = 4;
/// `MSGSND`: `msgsnd(first, ptr, second, third)`.
pub const MSGSND: i32 = 11;
/// `MSGRCV`: `msgrcv(first, …, second, …, third)`; version 0 reads `struct ipc_kludge`
/// from `ptr`.
pub const MSGRCV: i32 = 12;
/// `MSGGET`: `msgget(first, second)`.
pub const MSGGET: i32 = 13;
/// `MSGCTL`: `msgctl(first, second, ptr)` (old `msgctl`, IPC_64 parsed).
pub const MSGCTL: i32 = 14;
/// `SHMAT`: `shmat(first, ptr, second)`, the address stored at `*third`.
pub const SHMAT: i32 = 21;
/// `SHMDT`: `shmdt(ptr)`.
pub const SHMDT: i32 = 22;
/// `SHMGET`: `shmget(first, second, third)`.
pub const SHMGET: i32 = 23;
/// `SHMCTL`: `shmctl(first, second, ptr)` (old `shmctl`, IPC_64 parsed).
pub const SHMCTL: i32 = 24;

/// `IPCCALL(version, op)` = `version << VERSION_SHIFT | op`.
pub const VERSION_SHIFT: u32 = 16;
