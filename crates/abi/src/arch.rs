//! What differs between the architectures served: `struct semid64_ds` and the syscall
//! numbers.
//!
//! Both architectures' definitions exist on every compile target, so a sandbox can serve a
//! guest of another architecture than its own; [`native`] names the compile target's.

/// x86-64: `arch/x86/include/uapi/asm/sembuf.h` and `arch/x86/entry/syscalls/syscall_64.tbl`.
pub mod x86_64 {
    use crate::Ipc64Perm;

    /// `struct semid64_ds` of x86-64 (104 bytes): what `semctl(IPC_STAT)` returns. Unlike
    /// asm-generic, it keeps a padding word after each time field (`__unused1`,
    /// `__unused2`).
    #[repr(C, align(8))]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Semid64Ds {
        /// `sem_perm`: owner and permissions.
        pub sem_perm: Ipc64Perm,
        /// `sem_otime`: time of the last `semop`, in seconds.
        pub sem_otime: i64,
        /// `__unused1`.
        pub unused1: u64,
        /// `sem_ctime`: time of creation or the last change by `semctl`, in seconds.
        pub sem_ctime: i64,
        /// `__unused2`.
        pub unused2: u64,
        /// `sem_nsems`: number of semaphores in the set.
        pub sem_nsems: u64,
        /// `__unused3`.
        pub unused3: u64,
        /// `__unused4`.
        pub unused4: u64,
    }

    assert_layout!(Semid64Ds, size = 104, align = 8, {
        sem_perm @ 0,
        sem_otime @ 48,
        unused1 @ 56,
        sem_ctime @ 64,
        unused2 @ 72,
        sem_nsems @ 80,
        unused3 @ 88,
        unused4 @ 96,
    });

    /// System V IPC syscall numbers of x86-64 (`__NR_*` of `asm/unistd_64.h`).
    pub mod nr {
        /// `shmget`.
        pub const SHMGET: i64 = 29;
        /// `shmat`.
        pub const SHMAT: i64 = 30;
        /// `shmctl`.
        pub const SHMCTL: i64 = 31;
        /// `semget`.
        pub const SEMGET: i64 = 64;
        /// `semop`.
        pub const SEMOP: i64 = 65;
        /// `semctl`.
        pub const SEMCTL: i64 = 66;
        /// `shmdt`.
        pub const SHMDT: i64 = 67;
        /// `msgget`.
        pub const MSGGET: i64 = 68;
        /// `msgsnd`.
        pub const MSGSND: i64 = 69;
        /// `msgrcv`.
        pub const MSGRCV: i64 = 70;
        /// `msgctl`.
        pub const MSGCTL: i64 = 71;
        /// `semtimedop`.
        pub const SEMTIMEDOP: i64 = 220;
    }
}

/// asm-generic 64-bit, as used by aarch64 (and riscv64, loongarch64):
/// `include/uapi/asm-generic/sembuf.h` and `include/uapi/asm-generic/unistd.h`.
pub mod generic {
    use crate::Ipc64Perm;

    /// `struct semid64_ds` of asm-generic 64-bit architectures such as aarch64 (88 bytes):
    /// what `semctl(IPC_STAT)` returns. No padding words after the time fields.
    #[repr(C, align(8))]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Semid64Ds {
        /// `sem_perm`: owner and permissions.
        pub sem_perm: Ipc64Perm,
        /// `sem_otime`: time of the last `semop`, in seconds.
        pub sem_otime: i64,
        /// `sem_ctime`: time of creation or the last change by `semctl`, in seconds.
        pub sem_ctime: i64,
        /// `sem_nsems`: number of semaphores in the set.
        pub sem_nsems: u64,
        /// `__unused3`.
        pub unused3: u64,
        /// `__unused4`.
        pub unused4: u64,
    }

    assert_layout!(Semid64Ds, size = 88, align = 8, {
        sem_perm @ 0,
        sem_otime @ 48,
        sem_ctime @ 56,
        sem_nsems @ 64,
        unused3 @ 72,
        unused4 @ 80,
    });

    /// System V IPC syscall numbers of asm-generic architectures such as aarch64
    /// (`__NR_*` of `asm-generic/unistd.h`).
    pub mod nr {
        /// `msgget`.
        pub const MSGGET: i64 = 186;
        /// `msgctl`.
        pub const MSGCTL: i64 = 187;
        /// `msgrcv`.
        pub const MSGRCV: i64 = 188;
        /// `msgsnd`.
        pub const MSGSND: i64 = 189;
        /// `semget`.
        pub const SEMGET: i64 = 190;
        /// `semctl`.
        pub const SEMCTL: i64 = 191;
        /// `semtimedop`.
        pub const SEMTIMEDOP: i64 = 192;
        /// `semop`.
        pub const SEMOP: i64 = 193;
        /// `shmget`.
        pub const SHMGET: i64 = 194;
        /// `shmctl`.
        pub const SHMCTL: i64 = 195;
        /// `shmat`.
        pub const SHMAT: i64 = 196;
        /// `shmdt`.
        pub const SHMDT: i64 = 197;
    }
}

/// The compile target's architecture module: [`x86_64`] on x86-64, [`generic`] elsewhere.
#[cfg(not(target_arch = "x86_64"))]
pub use self::generic as native;
/// The compile target's architecture module: [`x86_64`] on x86-64, [`generic`] elsewhere.
#[cfg(target_arch = "x86_64")]
pub use self::x86_64 as native;
