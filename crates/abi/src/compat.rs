//! The structures of a 32-bit task served by a 64-bit kernel (i386 under x86-64's IA32
//! emulation, arm32 under arm64's `COMPAT`): the `compat_*` layouts of
//! `arch/x86/include/asm/compat.h` and `include/linux/compat.h`, which repeat the i386 UAPI
//! (`asm-generic/{ipcbuf,msgbuf,sembuf,shmbuf}.h` with 32-bit `long`), and the pre-2.4
//! structures of `include/uapi/linux/{ipc,msg,sem,shm}.h` that a ctl command without
//! `IPC_64` selects (`IPC_OLD`). arm64's compat types (`arch/arm64/include/asm/compat.h`:
//! 16-bit `__compat_uid_t`, `compat_mode_t` and `compat_ipc_pid_t`) are x86's, so these
//! layouts serve arm32 tasks too.
//!
//! Every field is at most 4-aligned, `long`s and pointers are 32 bits, and the 64-bit times
//! are split into a low and a high word. `struct msginfo`, `struct seminfo` and `struct
//! sembuf` are made of `int`s and `short`s only and keep their 64-bit layouts
//! ([`crate::Msginfo`], [`crate::Seminfo`], [`crate::Sembuf`]). The sizes and offsets below are
//! those `gcc -m32` gives for the kernel's UAPI headers.

/// `struct compat_ipc64_perm` = i386 `struct ipc64_perm` (36 bytes).
///
/// `__kernel_mode_t` is an `unsigned short` on i386 and arm, so `mode` is 16 bits and
/// `__pad1` fills the rest of its word.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatIpc64Perm {
    /// `key`.
    pub key: i32,
    /// `uid` (32 bits).
    pub uid: u32,
    /// `gid`.
    pub gid: u32,
    /// `cuid`.
    pub cuid: u32,
    /// `cgid`.
    pub cgid: u32,
    /// `mode` (16 bits: the permission bits and the mechanism flags fit).
    pub mode: u16,
    /// `__pad1`.
    pub pad1: u16,
    /// `seq`.
    pub seq: u16,
    /// `__pad2`.
    pub pad2: u16,
    /// `__unused1`.
    pub unused1: u32,
    /// `__unused2`.
    pub unused2: u32,
}

assert_layout!(CompatIpc64Perm, size = 36, align = 4, {
    key @ 0, uid @ 4, gid @ 8, cuid @ 12, cgid @ 16, mode @ 20, pad1 @ 22, seq @ 24,
    pad2 @ 26, unused1 @ 28, unused2 @ 32,
});

/// `struct compat_msqid64_ds` = i386 `struct msqid64_ds` (88 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatMsqid64Ds {
    /// `msg_perm`.
    pub msg_perm: CompatIpc64Perm,
    /// `msg_stime`: low 32 bits of the time of the last `msgsnd`.
    pub msg_stime: u32,
    /// `msg_stime_high`: its high 32 bits.
    pub msg_stime_high: u32,
    /// `msg_rtime`: low 32 bits of the time of the last `msgrcv`.
    pub msg_rtime: u32,
    /// `msg_rtime_high`.
    pub msg_rtime_high: u32,
    /// `msg_ctime`: low 32 bits of the time of the last change.
    pub msg_ctime: u32,
    /// `msg_ctime_high`.
    pub msg_ctime_high: u32,
    /// `msg_cbytes` (truncated to 32 bits).
    pub msg_cbytes: u32,
    /// `msg_qnum`.
    pub msg_qnum: u32,
    /// `msg_qbytes`.
    pub msg_qbytes: u32,
    /// `msg_lspid`.
    pub msg_lspid: i32,
    /// `msg_lrpid`.
    pub msg_lrpid: i32,
    /// `__unused4`.
    pub unused4: u32,
    /// `__unused5`.
    pub unused5: u32,
}

assert_layout!(CompatMsqid64Ds, size = 88, align = 4, {
    msg_perm @ 0, msg_stime @ 36, msg_stime_high @ 40, msg_rtime @ 44, msg_rtime_high @ 48,
    msg_ctime @ 52, msg_ctime_high @ 56, msg_cbytes @ 60, msg_qnum @ 64, msg_qbytes @ 68,
    msg_lspid @ 72, msg_lrpid @ 76, unused4 @ 80, unused5 @ 84,
});

/// `struct compat_semid64_ds` = i386 `struct semid64_ds` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatSemid64Ds {
    /// `sem_perm`.
    pub sem_perm: CompatIpc64Perm,
    /// `sem_otime`: low 32 bits of the time of the last `semop`.
    pub sem_otime: u32,
    /// `sem_otime_high`.
    pub sem_otime_high: u32,
    /// `sem_ctime`: low 32 bits of the time of the last change.
    pub sem_ctime: u32,
    /// `sem_ctime_high`.
    pub sem_ctime_high: u32,
    /// `sem_nsems`.
    pub sem_nsems: u32,
    /// `__unused3`.
    pub unused3: u32,
    /// `__unused4`.
    pub unused4: u32,
}

assert_layout!(CompatSemid64Ds, size = 64, align = 4, {
    sem_perm @ 0, sem_otime @ 36, sem_otime_high @ 40, sem_ctime @ 44, sem_ctime_high @ 48,
    sem_nsems @ 52, unused3 @ 56, unused4 @ 60,
});

/// `struct compat_shmid64_ds` = i386 `struct shmid64_ds` (84 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatShmid64Ds {
    /// `shm_perm`.
    pub shm_perm: CompatIpc64Perm,
    /// `shm_segsz` (`compat_size_t`: truncated to 32 bits).
    pub shm_segsz: u32,
    /// `shm_atime`: low 32 bits.
    pub shm_atime: u32,
    /// `shm_atime_high`.
    pub shm_atime_high: u32,
    /// `shm_dtime`: low 32 bits.
    pub shm_dtime: u32,
    /// `shm_dtime_high`.
    pub shm_dtime_high: u32,
    /// `shm_ctime`: low 32 bits.
    pub shm_ctime: u32,
    /// `shm_ctime_high`.
    pub shm_ctime_high: u32,
    /// `shm_cpid`.
    pub shm_cpid: i32,
    /// `shm_lpid`.
    pub shm_lpid: i32,
    /// `shm_nattch`.
    pub shm_nattch: u32,
    /// `__unused4`.
    pub unused4: u32,
    /// `__unused5`.
    pub unused5: u32,
}

assert_layout!(CompatShmid64Ds, size = 84, align = 4, {
    shm_perm @ 0, shm_segsz @ 36, shm_atime @ 40, shm_atime_high @ 44, shm_dtime @ 48,
    shm_dtime_high @ 52, shm_ctime @ 56, shm_ctime_high @ 60, shm_cpid @ 64, shm_lpid @ 68,
    shm_nattch @ 72, unused4 @ 76, unused5 @ 80,
});

/// `struct compat_shminfo64` = i386 `struct shminfo64` (36 bytes): `IPC_INFO` with
/// `IPC_64`. `shmmax` is capped at `INT_MAX` for every compat caller.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatShminfo64 {
    /// `shmmax` (at most `INT_MAX`).
    pub shmmax: u32,
    /// `shmmin`.
    pub shmmin: u32,
    /// `shmmni`.
    pub shmmni: u32,
    /// `shmseg`.
    pub shmseg: u32,
    /// `shmall` (truncated to 32 bits).
    pub shmall: u32,
    /// `__unused1`.
    pub unused1: u32,
    /// `__unused2`.
    pub unused2: u32,
    /// `__unused3`.
    pub unused3: u32,
    /// `__unused4`.
    pub unused4: u32,
}

assert_layout!(CompatShminfo64, size = 36, align = 4, {
    shmmax @ 0, shmmin @ 4, shmmni @ 8, shmseg @ 12, shmall @ 16, unused1 @ 20,
    unused2 @ 24, unused3 @ 28, unused4 @ 32,
});

/// `struct compat_shm_info` = i386 `struct shm_info` (24 bytes): `SHM_INFO`, whatever the
/// version.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatShmInfo {
    /// `used_ids`.
    pub used_ids: i32,
    /// `shm_tot` (pages, truncated to 32 bits).
    pub shm_tot: u32,
    /// `shm_rss`.
    pub shm_rss: u32,
    /// `shm_swp`.
    pub shm_swp: u32,
    /// `swap_attempts`.
    pub swap_attempts: u32,
    /// `swap_successes`.
    pub swap_successes: u32,
}

assert_layout!(CompatShmInfo, size = 24, align = 4, {
    used_ids @ 0, shm_tot @ 4, shm_rss @ 8, shm_swp @ 12, swap_attempts @ 16,
    swap_successes @ 20,
});

/// `struct compat_ipc_perm` = i386 `struct ipc_perm` (16 bytes): the old record with 16-bit
/// ids. Ids above 65535 read as the overflow id (`high2lowuid`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatIpcPerm {
    /// `key`.
    pub key: i32,
    /// `uid` (16 bits).
    pub uid: u16,
    /// `gid`.
    pub gid: u16,
    /// `cuid`.
    pub cuid: u16,
    /// `cgid`.
    pub cgid: u16,
    /// `mode`.
    pub mode: u16,
    /// `seq`.
    pub seq: u16,
}

assert_layout!(CompatIpcPerm, size = 16, align = 4, {
    key @ 0, uid @ 4, gid @ 6, cuid @ 8, cgid @ 10, mode @ 12, seq @ 14,
});

/// `struct compat_msqid_ds` = i386 `struct msqid_ds` (56 bytes): `IPC_STAT` without
/// `IPC_64`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatMsqidDs {
    /// `msg_perm`.
    pub msg_perm: CompatIpcPerm,
    /// `msg_first`: a kernel pointer once, always 0.
    pub msg_first: u32,
    /// `msg_last`: always 0.
    pub msg_last: u32,
    /// `msg_stime` (`old_time32_t`).
    pub msg_stime: i32,
    /// `msg_rtime`.
    pub msg_rtime: i32,
    /// `msg_ctime`.
    pub msg_ctime: i32,
    /// `msg_lcbytes`: left 0 by the compat copy (only the native one fills it).
    pub msg_lcbytes: u32,
    /// `msg_lqbytes`: left 0 by the compat copy.
    pub msg_lqbytes: u32,
    /// `msg_cbytes`: the low 16 bits.
    pub msg_cbytes: u16,
    /// `msg_qnum`: the low 16 bits.
    pub msg_qnum: u16,
    /// `msg_qbytes`: the low 16 bits; what `IPC_SET` reads.
    pub msg_qbytes: u16,
    /// `msg_lspid` (`compat_ipc_pid_t`: the low 16 bits).
    pub msg_lspid: u16,
    /// `msg_lrpid`.
    pub msg_lrpid: u16,
    /// Implicit C tail padding.
    pub pad: u16,
}

assert_layout!(CompatMsqidDs, size = 56, align = 4, {
    msg_perm @ 0, msg_first @ 16, msg_last @ 20, msg_stime @ 24, msg_rtime @ 28,
    msg_ctime @ 32, msg_lcbytes @ 36, msg_lqbytes @ 40, msg_cbytes @ 44, msg_qnum @ 46,
    msg_qbytes @ 48, msg_lspid @ 50, msg_lrpid @ 52, pad @ 54,
});

/// `struct compat_semid_ds` = i386 `struct semid_ds` (44 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatSemidDs {
    /// `sem_perm`.
    pub sem_perm: CompatIpcPerm,
    /// `sem_otime`.
    pub sem_otime: i32,
    /// `sem_ctime`.
    pub sem_ctime: i32,
    /// `sem_base`: always 0.
    pub sem_base: u32,
    /// `sem_pending`: always 0.
    pub sem_pending: u32,
    /// `sem_pending_last`: always 0.
    pub sem_pending_last: u32,
    /// `undo`: always 0.
    pub undo: u32,
    /// `sem_nsems` (16 bits).
    pub sem_nsems: u16,
    /// Implicit C tail padding.
    pub pad: u16,
}

assert_layout!(CompatSemidDs, size = 44, align = 4, {
    sem_perm @ 0, sem_otime @ 16, sem_ctime @ 20, sem_base @ 24, sem_pending @ 28,
    sem_pending_last @ 32, undo @ 36, sem_nsems @ 40, pad @ 42,
});

/// `struct compat_shmid_ds` = i386 `struct shmid_ds` (48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatShmidDs {
    /// `shm_perm`.
    pub shm_perm: CompatIpcPerm,
    /// `shm_segsz` (`int`).
    pub shm_segsz: i32,
    /// `shm_atime`.
    pub shm_atime: i32,
    /// `shm_dtime`.
    pub shm_dtime: i32,
    /// `shm_ctime`.
    pub shm_ctime: i32,
    /// `shm_cpid` (16 bits).
    pub shm_cpid: u16,
    /// `shm_lpid` (16 bits).
    pub shm_lpid: u16,
    /// `shm_nattch` (16 bits).
    pub shm_nattch: u16,
    /// `shm_unused`.
    pub shm_unused: u16,
    /// `shm_unused2`.
    pub shm_unused2: u32,
    /// `shm_unused3`.
    pub shm_unused3: u32,
}

assert_layout!(CompatShmidDs, size = 48, align = 4, {
    shm_perm @ 0, shm_segsz @ 16, shm_atime @ 20, shm_dtime @ 24, shm_ctime @ 28,
    shm_cpid @ 32, shm_lpid @ 34, shm_nattch @ 36, shm_unused @ 38, shm_unused2 @ 40,
    shm_unused3 @ 44,
});

/// `struct shminfo` (20 bytes): `IPC_INFO` without `IPC_64`, five `int`s.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OldShminfo {
    /// `shmmax` (at most `INT_MAX`).
    pub shmmax: i32,
    /// `shmmin`.
    pub shmmin: i32,
    /// `shmmni`.
    pub shmmni: i32,
    /// `shmseg`.
    pub shmseg: i32,
    /// `shmall`.
    pub shmall: i32,
}

assert_layout!(OldShminfo, size = 20, align = 4, {
    shmmax @ 0, shmmin @ 4, shmmni @ 8, shmseg @ 12, shmall @ 16,
});

/// `struct old_timespec32` (8 bytes): the timeout of `semtimedop` through `ipc(2)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OldTimespec32 {
    /// `tv_sec` (`old_time32_t`).
    pub tv_sec: i32,
    /// `tv_nsec`.
    pub tv_nsec: i32,
}

assert_layout!(OldTimespec32, size = 8, align = 4, { tv_sec @ 0, tv_nsec @ 4 });

/// `struct compat_ipc_kludge` (8 bytes): what `ipc(MSGRCV)` version 0 reads from `ptr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompatIpcKludge {
    /// `msgp` (`compat_uptr_t`).
    pub msgp: u32,
    /// `msgtyp` (`compat_long_t`).
    pub msgtyp: i32,
}

assert_layout!(CompatIpcKludge, size = 8, align = 4, { msgp @ 0, msgtyp @ 4 });

/// `struct compat_msgbuf`: a 32-bit `mtype`, then the text at this offset.
pub const COMPAT_MSGBUF_MTEXT: usize = 4;

/// The end of a compat task's address space on x86-64 (`IA32_PAGE_OFFSET` without
/// `ADDR_LIMIT_3GB`): its `TASK_SIZE`.
pub const IA32_TASK_SIZE: u64 = 0xffff_e000;

/// The end of an arm32 task's address space under arm64 (`TASK_SIZE_32` with 4 KiB or
/// 16 KiB pages): all of its 4 GiB.
pub const ARM32_TASK_SIZE: u64 = 0x1_0000_0000;

/// System V IPC syscall numbers of i386 (`arch/x86/entry/syscalls/syscall_32.tbl`). There is
/// no direct `semop` and no 32-bit-time `semtimedop`: those go through [`IPC`](i386::IPC).
pub mod i386 {
    /// `ipc` (`compat_sys_ipc`).
    pub const IPC: i64 = 117;
    /// `semget`.
    pub const SEMGET: i64 = 393;
    /// `semctl` (`compat_sys_semctl`: always the 64 layouts).
    pub const SEMCTL: i64 = 394;
    /// `shmget`.
    pub const SHMGET: i64 = 395;
    /// `shmctl` (`compat_sys_shmctl`).
    pub const SHMCTL: i64 = 396;
    /// `shmat` (`compat_sys_shmat`).
    pub const SHMAT: i64 = 397;
    /// `shmdt`.
    pub const SHMDT: i64 = 398;
    /// `msgget`.
    pub const MSGGET: i64 = 399;
    /// `msgsnd` (`compat_sys_msgsnd`).
    pub const MSGSND: i64 = 400;
    /// `msgrcv` (`compat_sys_msgrcv`).
    pub const MSGRCV: i64 = 401;
    /// `msgctl` (`compat_sys_msgctl`).
    pub const MSGCTL: i64 = 402;
    /// `semtimedop_time64` (`sys_semtimedop`: a 64-bit `__kernel_timespec`).
    pub const SEMTIMEDOP_TIME64: i64 = 420;
}

/// System V IPC syscall numbers of arm32 EABI (`arch/arm/tools/syscall.tbl`), as arm64
/// serves them to a `COMPAT` task. There is no `ipc(2)` (it was OABI's); the ctl calls are
/// the `old_*ctl` ones, which parse `IPC_64` in the command.
pub mod arm32 {
    /// `semop`.
    pub const SEMOP: i64 = 298;
    /// `semget`.
    pub const SEMGET: i64 = 299;
    /// `semctl` (`compat_sys_old_semctl`).
    pub const SEMCTL: i64 = 300;
    /// `msgsnd` (`compat_sys_msgsnd`).
    pub const MSGSND: i64 = 301;
    /// `msgrcv` (`compat_sys_msgrcv`).
    pub const MSGRCV: i64 = 302;
    /// `msgget`.
    pub const MSGGET: i64 = 303;
    /// `msgctl` (`compat_sys_old_msgctl`).
    pub const MSGCTL: i64 = 304;
    /// `shmat` (`compat_sys_shmat`, aligned to `COMPAT_SHMLBA`).
    pub const SHMAT: i64 = 305;
    /// `shmdt`.
    pub const SHMDT: i64 = 306;
    /// `shmget`.
    pub const SHMGET: i64 = 307;
    /// `shmctl` (`compat_sys_old_shmctl`).
    pub const SHMCTL: i64 = 308;
    /// `semtimedop` (`sys_semtimedop_time32`: an `old_timespec32`).
    pub const SEMTIMEDOP: i64 = 312;
    /// `semtimedop_time64` (`sys_semtimedop`).
    pub const SEMTIMEDOP_TIME64: i64 = 420;
}

/// `COMPAT_SHMLBA` of arm64: an arm32 task's `shmat` with `SHM_RND` rounds down to four
/// pages (the arm32 cache-aliasing rule).
pub const ARM32_SHMLBA_PAGES: u64 = 4;
