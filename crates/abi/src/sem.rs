//! Semaphore structures common to all architectures: `struct sembuf` and `struct seminfo`.
//!
//! Mirrors `include/uapi/linux/sem.h`. `struct semid64_ds` differs between architectures and
//! lives in [`crate::arch`].

/// `struct sembuf` (6 bytes, 2-aligned): one operation of a `semop`/`semtimedop` call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sembuf {
    /// `sem_num`: index of the semaphore in the set.
    pub sem_num: u16,
    /// `sem_op`: the operation (add if > 0, wait for zero if 0, subtract if < 0).
    pub sem_op: i16,
    /// `sem_flg`: `IPC_NOWAIT` and/or `SEM_UNDO`.
    pub sem_flg: i16,
}

assert_layout!(Sembuf, size = 6, align = 2, {
    sem_num @ 0,
    sem_op @ 2,
    sem_flg @ 4,
});

/// `struct seminfo` (40 bytes): what `semctl(IPC_INFO)` and `semctl(SEM_INFO)` return (with
/// different meanings of some fields).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Seminfo {
    /// `semmap`: `SEMMAP`.
    pub semmap: i32,
    /// `semmni`: maximum number of sets.
    pub semmni: i32,
    /// `semmns`: maximum number of semaphores in the namespace.
    pub semmns: i32,
    /// `semmnu`: `SEMMNU`.
    pub semmnu: i32,
    /// `semmsl`: maximum semaphores per set.
    pub semmsl: i32,
    /// `semopm`: maximum operations per `semop`.
    pub semopm: i32,
    /// `semume`: `SEMUME`.
    pub semume: i32,
    /// `semusz`: `SEMUSZ` (`IPC_INFO`) or the number of sets in use (`SEM_INFO`).
    pub semusz: i32,
    /// `semvmx`: `SEMVMX`.
    pub semvmx: i32,
    /// `semaem`: `SEMAEM` (`IPC_INFO`) or the number of semaphores in use (`SEM_INFO`).
    pub semaem: i32,
}

assert_layout!(Seminfo, size = 40, align = 4, {
    semmap @ 0,
    semmni @ 4,
    semmns @ 8,
    semmnu @ 12,
    semmsl @ 16,
    semopm @ 20,
    semume @ 24,
    semusz @ 28,
    semvmx @ 32,
    semaem @ 36,
});
