//! Shared memory structures: `struct shmid64_ds`, `struct shminfo64` and `struct shm_info`.
//!
//! Mirrors `include/uapi/asm-generic/shmbuf.h` (the 64-bit branch, used by x86-64's
//! `arch/x86/include/uapi/asm/shmbuf.h` and by aarch64) and `include/uapi/linux/shm.h`.

use crate::Ipc64Perm;

/// `struct shmid64_ds` (112 bytes): what `shmctl(IPC_STAT)` returns.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shmid64Ds {
    /// `shm_perm`: owner, permissions, `SHM_DEST`/`SHM_LOCKED`.
    pub shm_perm: Ipc64Perm,
    /// `shm_segsz`: size in bytes, as requested (not rounded to pages).
    pub shm_segsz: u64,
    /// `shm_atime`: time of the last `shmat`, in seconds.
    pub shm_atime: i64,
    /// `shm_dtime`: time of the last `shmdt`, in seconds.
    pub shm_dtime: i64,
    /// `shm_ctime`: time of creation or the last `IPC_SET`, in seconds.
    pub shm_ctime: i64,
    /// `shm_cpid`: pid of the creator.
    pub shm_cpid: i32,
    /// `shm_lpid`: pid of the last `shmat`/`shmdt`.
    pub shm_lpid: i32,
    /// `shm_nattch`: number of current attaches.
    pub shm_nattch: u64,
    /// `__unused4`.
    pub unused4: u64,
    /// `__unused5`.
    pub unused5: u64,
}

assert_layout!(Shmid64Ds, size = 112, align = 8, {
    shm_perm @ 0,
    shm_segsz @ 48,
    shm_atime @ 56,
    shm_dtime @ 64,
    shm_ctime @ 72,
    shm_cpid @ 80,
    shm_lpid @ 84,
    shm_nattch @ 88,
    unused4 @ 96,
    unused5 @ 104,
});

/// `struct shminfo64` (72 bytes): what `shmctl(IPC_INFO)` returns (glibc's `struct
/// shminfo`).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shminfo64 {
    /// `shmmax`: maximum segment size in bytes.
    pub shmmax: u64,
    /// `shmmin`: minimum segment size in bytes (`SHMMIN`).
    pub shmmin: u64,
    /// `shmmni`: maximum number of segments.
    pub shmmni: u64,
    /// `shmseg`: `SHMSEG`.
    pub shmseg: u64,
    /// `shmall`: maximum total size of all segments, in pages.
    pub shmall: u64,
    /// `__unused1`.
    pub unused1: u64,
    /// `__unused2`.
    pub unused2: u64,
    /// `__unused3`.
    pub unused3: u64,
    /// `__unused4`.
    pub unused4: u64,
}

assert_layout!(Shminfo64, size = 72, align = 8, {
    shmmax @ 0,
    shmmin @ 8,
    shmmni @ 16,
    shmseg @ 24,
    shmall @ 32,
    unused1 @ 40,
    unused2 @ 48,
    unused3 @ 56,
    unused4 @ 64,
});

/// `struct shm_info` (48 bytes): what `shmctl(SHM_INFO)` returns.
///
/// The C compiler pads `used_ids` with 4 bytes to align `shm_tot`; they are `pad`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ShmInfo {
    /// `used_ids`: number of segments in use (a count, not an index).
    pub used_ids: i32,
    /// Implicit C padding before `shm_tot`.
    pub pad: u32,
    /// `shm_tot`: total size of all segments, in pages.
    pub shm_tot: u64,
    /// `shm_rss`: resident pages.
    pub shm_rss: u64,
    /// `shm_swp`: swapped pages.
    pub shm_swp: u64,
    /// `swap_attempts`: unused, always 0.
    pub swap_attempts: u64,
    /// `swap_successes`: unused, always 0.
    pub swap_successes: u64,
}

assert_layout!(ShmInfo, size = 48, align = 8, {
    used_ids @ 0,
    pad @ 4,
    shm_tot @ 8,
    shm_rss @ 16,
    shm_swp @ 24,
    swap_attempts @ 32,
    swap_successes @ 40,
});
