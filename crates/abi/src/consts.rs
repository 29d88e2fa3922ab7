//! System V IPC constants: flags, commands, the id layout, default limits and capability
//! numbers.
//!
//! Mirrors the kernel's UAPI headers `include/uapi/linux/ipc.h`, `msg.h`, `sem.h`, `shm.h`
//! (with `include/uapi/asm-generic/hugetlb_encode.h`) and `capability.h`, plus the few
//! kernel-internal values an emulation must reproduce: `SHM_DEST`/`SHM_LOCKED` from
//! `include/linux/shm.h` and the id layout from `ipc/util.h`.
//!
//! Types follow the C types: flag words and commands are `int` (`i32`), keys are `key_t`
//! (`i32`), and each limit has the type the kernel computes it in.

/// `key_t`: a System V IPC key.
pub type KeyT = i32;

// ---------------------------------------------------------------------------------------
// include/uapi/linux/ipc.h
// ---------------------------------------------------------------------------------------

/// `IPC_PRIVATE`: the key that always creates a new object and is never looked up.
pub const IPC_PRIVATE: KeyT = 0;
/// `IPC_CREAT` (`*get` flag): create the object if the key does not exist.
pub const IPC_CREAT: i32 = 0o1000;
/// `IPC_EXCL` (`*get` flag): with `IPC_CREAT`, fail with `EEXIST` if the key exists.
pub const IPC_EXCL: i32 = 0o2000;
/// `IPC_NOWAIT`: fail with `EAGAIN`/`ENOMSG` instead of blocking.
pub const IPC_NOWAIT: i32 = 0o4000;

/// `IPC_RMID` (`*ctl` command): remove the object.
pub const IPC_RMID: i32 = 0;
/// `IPC_SET` (`*ctl` command): set owner, mode (and `msg_qbytes`).
pub const IPC_SET: i32 = 1;
/// `IPC_STAT` (`*ctl` command): read the `*id64_ds` structure.
pub const IPC_STAT: i32 = 2;
/// `IPC_INFO` (`*ctl` command): read the limits (`msginfo`, `seminfo`, `shminfo64`).
pub const IPC_INFO: i32 = 3;

/// `IPC_OLD`: the version selector of the old (16-bit uid) structures, for the ipc(2)
/// multiplexer and the `old_*ctl` entry points only.
pub const IPC_OLD: i32 = 0;
/// `IPC_64`: OR-ed into a `cmd` to select the 64-bit structures; only the ipc(2)
/// multiplexer and the `old_*ctl` entry points accept it (the direct `*ctl` syscalls of
/// x86-64 and aarch64 reject it with `EINVAL`).
pub const IPC_64: i32 = 0x100;

// ---------------------------------------------------------------------------------------
// include/uapi/linux/msg.h
// ---------------------------------------------------------------------------------------

/// `MSG_STAT` (`msgctl` command): `IPC_STAT` by index, returning the full id.
pub const MSG_STAT: i32 = 11;
/// `MSG_INFO` (`msgctl` command): `msginfo` with usage figures instead of limits.
pub const MSG_INFO: i32 = 12;
/// `MSG_STAT_ANY` (`msgctl` command): `MSG_STAT` without the read-permission check.
pub const MSG_STAT_ANY: i32 = 13;

/// `MSG_NOERROR` (`msgrcv` flag): truncate a message longer than the buffer.
pub const MSG_NOERROR: i32 = 0o10000;
/// `MSG_EXCEPT` (`msgrcv` flag): receive the first message whose type is not `msgtyp`.
pub const MSG_EXCEPT: i32 = 0o20000;
/// `MSG_COPY` (`msgrcv` flag): copy, without removing, the message at index `msgtyp`.
pub const MSG_COPY: i32 = 0o40000;

/// `MSGMNI`: default maximum number of message queues (sysctl `kernel.msgmni`).
pub const MSGMNI: i32 = 32000;
/// `MSGMAX`: default maximum size of one message in bytes (sysctl `kernel.msgmax`).
pub const MSGMAX: i32 = 8192;
/// `MSGMNB`: default maximum bytes in one queue (sysctl `kernel.msgmnb`).
pub const MSGMNB: i32 = 16384;
/// `MSGPOOL` = `MSGMNI * MSGMNB / 1024`: reported by `IPC_INFO` only.
pub const MSGPOOL: i32 = MSGMNI * MSGMNB / 1024;
/// `MSGTQL` = `MSGMNB`: reported by `IPC_INFO` only.
pub const MSGTQL: i32 = MSGMNB;
/// `MSGMAP` = `MSGMNB`: reported by `IPC_INFO` only.
pub const MSGMAP: i32 = MSGMNB;
/// `MSGSSZ`: message segment size, reported by `IPC_INFO` only.
pub const MSGSSZ: i32 = 16;
/// `MSGSEG`: `MSGPOOL * 1024 / MSGSSZ` capped at `0xffff` (the field is an
/// `unsigned short`); reported by `IPC_INFO` only.
pub const MSGSEG: u16 = {
    let segs = (MSGPOOL as i64) * 1024 / (MSGSSZ as i64);
    if segs <= 0xffff { segs as u16 } else { 0xffff }
};

// ---------------------------------------------------------------------------------------
// include/uapi/linux/sem.h
// ---------------------------------------------------------------------------------------

/// `SEM_UNDO` (`sembuf.sem_flg`): undo the operation when the process exits.
pub const SEM_UNDO: i32 = 0x1000;

/// `GETPID` (`semctl` command): pid of the last process to operate on the semaphore.
pub const GETPID: i32 = 11;
/// `GETVAL` (`semctl` command): the semaphore's value.
pub const GETVAL: i32 = 12;
/// `GETALL` (`semctl` command): all values of the set.
pub const GETALL: i32 = 13;
/// `GETNCNT` (`semctl` command): number of tasks waiting for the value to increase.
pub const GETNCNT: i32 = 14;
/// `GETZCNT` (`semctl` command): number of tasks waiting for the value to become zero.
pub const GETZCNT: i32 = 15;
/// `SETVAL` (`semctl` command): set one value.
pub const SETVAL: i32 = 16;
/// `SETALL` (`semctl` command): set all values of the set.
pub const SETALL: i32 = 17;
/// `SEM_STAT` (`semctl` command): `IPC_STAT` by index, returning the full id.
pub const SEM_STAT: i32 = 18;
/// `SEM_INFO` (`semctl` command): `seminfo` with usage figures instead of limits.
pub const SEM_INFO: i32 = 19;
/// `SEM_STAT_ANY` (`semctl` command): `SEM_STAT` without the read-permission check.
pub const SEM_STAT_ANY: i32 = 20;

/// `SEMMNI`: default maximum number of semaphore sets (sysctl `kernel.sem`, 4th field).
pub const SEMMNI: i32 = 32000;
/// `SEMMSL`: default maximum semaphores per set (sysctl `kernel.sem`, 1st field).
pub const SEMMSL: i32 = 32000;
/// `SEMMNS` = `SEMMNI * SEMMSL`: default maximum semaphores in the namespace (sysctl
/// `kernel.sem`, 2nd field).
pub const SEMMNS: i32 = SEMMNI * SEMMSL;
/// `SEMOPM`: default maximum operations per `semop` (sysctl `kernel.sem`, 3rd field).
pub const SEMOPM: i32 = 500;
/// `SEMVMX`: maximum semaphore value.
pub const SEMVMX: i32 = 32767;
/// `SEMAEM` = `SEMVMX`: maximum absolute value of an adjust-on-exit (`semadj`) value.
pub const SEMAEM: i32 = SEMVMX;
/// `SEMUME` = `SEMOPM`: reported by `IPC_INFO` only.
pub const SEMUME: i32 = SEMOPM;
/// `SEMMNU` = `SEMMNS`: reported by `IPC_INFO` only.
pub const SEMMNU: i32 = SEMMNS;
/// `SEMMAP` = `SEMMNS`: reported by `IPC_INFO` only.
pub const SEMMAP: i32 = SEMMNS;
/// `SEMUSZ`: reported by `IPC_INFO` only.
pub const SEMUSZ: i32 = 20;

// ---------------------------------------------------------------------------------------
// include/uapi/linux/shm.h, include/linux/shm.h
// ---------------------------------------------------------------------------------------

/// `SHMMIN`: minimum segment size in bytes.
pub const SHMMIN: u64 = 1;
/// `SHMMNI`: default maximum number of segments (sysctl `kernel.shmmni`).
pub const SHMMNI: i32 = 4096;
/// `SHMMAX` = `ULONG_MAX - (1 << 24)`: default maximum segment size in bytes (sysctl
/// `kernel.shmmax`).
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
/// `SHMALL` = `ULONG_MAX - (1 << 24)`: default maximum total of all segments, in pages
/// (sysctl `kernel.shmall`).
pub const SHMALL: u64 = u64::MAX - (1 << 24);
/// `SHMSEG` = `SHMMNI`: reported by `IPC_INFO` only (no per-process limit is enforced).
pub const SHMSEG: i32 = SHMMNI;

/// `PAGE_SIZE`: the unit segments are rounded to and counted in (4 KiB on x86-64 and on
/// arm64 with 4 KiB pages).
pub const PAGE_SIZE: u64 = 4096;
/// `SHMLBA`: the alignment `shmat` requires of an address (`PAGE_SIZE` on x86-64 and arm64).
pub const SHMLBA: u64 = PAGE_SIZE;
/// `HPAGE_SIZE`: the default huge page size of `SHM_HUGETLB` segments (2 MiB, log2 21).
pub const HPAGE_SIZE: u64 = 1 << 21;

/// `SHM_R`: read permission bit of the mode (`0400`).
pub const SHM_R: i32 = 0o400;
/// `SHM_W`: write permission bit of the mode (`0200`).
pub const SHM_W: i32 = 0o200;

/// `SHM_HUGETLB` (`shmget` flag): back the segment with huge pages.
pub const SHM_HUGETLB: i32 = 0o4000;
/// `SHM_NORESERVE` (`shmget` flag): do not reserve swap space.
pub const SHM_NORESERVE: i32 = 0o10000;
/// `SHM_HUGE_SHIFT`: bit position of the log2 huge page size in `shmget` flags.
pub const SHM_HUGE_SHIFT: i32 = 26;
/// `SHM_HUGE_MASK`: mask of the log2 huge page size, after shifting by `SHM_HUGE_SHIFT`.
pub const SHM_HUGE_MASK: i32 = 0x3f;

/// `SHM_RDONLY` (`shmat` flag): attach read-only.
pub const SHM_RDONLY: i32 = 0o10000;
/// `SHM_RND` (`shmat` flag): round the attach address down to `SHMLBA`.
pub const SHM_RND: i32 = 0o20000;
/// `SHM_REMAP` (`shmat` flag): replace any mapping at the address.
pub const SHM_REMAP: i32 = 0o40000;
/// `SHM_EXEC` (`shmat` flag): attach with execute permission.
pub const SHM_EXEC: i32 = 0o100000;

/// `SHM_LOCK` (`shmctl` command): lock the segment in memory.
pub const SHM_LOCK: i32 = 11;
/// `SHM_UNLOCK` (`shmctl` command): unlock the segment.
pub const SHM_UNLOCK: i32 = 12;
/// `SHM_STAT` (`shmctl` command): `IPC_STAT` by index, returning the full id.
pub const SHM_STAT: i32 = 13;
/// `SHM_INFO` (`shmctl` command): fills `shm_info`.
pub const SHM_INFO: i32 = 14;
/// `SHM_STAT_ANY` (`shmctl` command): `SHM_STAT` without the read-permission check.
pub const SHM_STAT_ANY: i32 = 15;

/// `SHM_DEST` (in `shm_perm.mode`): the segment is removed and dies at its last detach
/// (`include/linux/shm.h`).
pub const SHM_DEST: i32 = 0o1000;
/// `SHM_LOCKED` (in `shm_perm.mode`): the segment is locked by `SHM_LOCK`
/// (`include/linux/shm.h`).
pub const SHM_LOCKED: i32 = 0o2000;

// ---------------------------------------------------------------------------------------
// ipc/util.h, include/linux/ipc.h: id layout (without the ipc_mni_extend boot option)
// ---------------------------------------------------------------------------------------

/// `IPCMNI_SHIFT`: number of index bits in an id; the sequence number sits above them.
pub const IPCMNI_SHIFT: u32 = 15;
/// `IPCMNI` = `1 << IPCMNI_SHIFT`: number of index slots per mechanism, the upper bound of
/// `msgmni`/`semmni`/`shmmni`.
pub const IPCMNI: i32 = 1 << IPCMNI_SHIFT;
/// `IPCMNI_IDX_MASK`: mask extracting the index from an id.
pub const IPCMNI_IDX_MASK: i32 = IPCMNI - 1;
/// `SEQ_MULTIPLIER` = `IPCMNI`: `id = seq * SEQ_MULTIPLIER + index`.
pub const SEQ_MULTIPLIER: i32 = IPCMNI;
/// `ipcid_seq_max()` = `INT_MAX >> IPCMNI_SHIFT` (65535): when the sequence counter is
/// incremented to this value it wraps to 0, so sequence numbers run `0..IPCID_SEQ_MAX`.
pub const IPCID_SEQ_MAX: i32 = i32::MAX >> IPCMNI_SHIFT;
/// `ipc_min_cycle` = `RADIX_TREE_MAP_SIZE` (64): ids are allocated cyclically below
/// `max(in_use * 3 / 2, IPC_MIN_CYCLE)` (capped at `IPCMNI`).
pub const IPC_MIN_CYCLE: i32 = 64;

// ---------------------------------------------------------------------------------------
// include/uapi/linux/capability.h: capability bit numbers
// ---------------------------------------------------------------------------------------

/// `CAP_CHOWN` (0).
pub const CAP_CHOWN: u32 = 0;
/// `CAP_DAC_OVERRIDE` (1).
pub const CAP_DAC_OVERRIDE: u32 = 1;
/// `CAP_DAC_READ_SEARCH` (2).
pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// `CAP_FOWNER` (3).
pub const CAP_FOWNER: u32 = 3;
/// `CAP_FSETID` (4).
pub const CAP_FSETID: u32 = 4;
/// `CAP_KILL` (5).
pub const CAP_KILL: u32 = 5;
/// `CAP_SETGID` (6).
pub const CAP_SETGID: u32 = 6;
/// `CAP_SETUID` (7).
pub const CAP_SETUID: u32 = 7;
/// `CAP_SETPCAP` (8).
pub const CAP_SETPCAP: u32 = 8;
/// `CAP_LINUX_IMMUTABLE` (9).
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
/// `CAP_NET_BIND_SERVICE` (10).
pub const CAP_NET_BIND_SERVICE: u32 = 10;
/// `CAP_NET_BROADCAST` (11).
pub const CAP_NET_BROADCAST: u32 = 11;
/// `CAP_NET_ADMIN` (12).
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW` (13).
pub const CAP_NET_RAW: u32 = 13;
/// `CAP_IPC_LOCK` (14): `SHM_LOCK`/`SHM_UNLOCK` beyond `RLIMIT_MEMLOCK`.
pub const CAP_IPC_LOCK: u32 = 14;
/// `CAP_IPC_OWNER` (15): bypass System V IPC permission checks.
pub const CAP_IPC_OWNER: u32 = 15;
/// `CAP_SYS_MODULE` (16).
pub const CAP_SYS_MODULE: u32 = 16;
/// `CAP_SYS_RAWIO` (17).
pub const CAP_SYS_RAWIO: u32 = 17;
/// `CAP_SYS_CHROOT` (18).
pub const CAP_SYS_CHROOT: u32 = 18;
/// `CAP_SYS_PTRACE` (19).
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_PACCT` (20).
pub const CAP_SYS_PACCT: u32 = 20;
/// `CAP_SYS_ADMIN` (21): `IPC_SET`/`IPC_RMID` on objects the caller does not own.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_BOOT` (22).
pub const CAP_SYS_BOOT: u32 = 22;
/// `CAP_SYS_NICE` (23).
pub const CAP_SYS_NICE: u32 = 23;
/// `CAP_SYS_RESOURCE` (24): raise `msg_qbytes` above `msgmnb`.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// `CAP_SYS_TIME` (25).
pub const CAP_SYS_TIME: u32 = 25;
/// `CAP_SYS_TTY_CONFIG` (26).
pub const CAP_SYS_TTY_CONFIG: u32 = 26;
/// `CAP_MKNOD` (27).
pub const CAP_MKNOD: u32 = 27;
/// `CAP_LEASE` (28).
pub const CAP_LEASE: u32 = 28;
/// `CAP_AUDIT_WRITE` (29).
pub const CAP_AUDIT_WRITE: u32 = 29;
/// `CAP_AUDIT_CONTROL` (30).
pub const CAP_AUDIT_CONTROL: u32 = 30;
/// `CAP_SETFCAP` (31).
pub const CAP_SETFCAP: u32 = 31;
/// `CAP_MAC_OVERRIDE` (32).
pub const CAP_MAC_OVERRIDE: u32 = 32;
/// `CAP_MAC_ADMIN` (33).
pub const CAP_MAC_ADMIN: u32 = 33;
/// `CAP_SYSLOG` (34).
pub const CAP_SYSLOG: u32 = 34;
/// `CAP_WAKE_ALARM` (35).
pub const CAP_WAKE_ALARM: u32 = 35;
/// `CAP_BLOCK_SUSPEND` (36).
pub const CAP_BLOCK_SUSPEND: u32 = 36;
/// `CAP_AUDIT_READ` (37).
pub const CAP_AUDIT_READ: u32 = 37;
/// `CAP_PERFMON` (38).
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF` (39).
pub const CAP_BPF: u32 = 39;
/// `CAP_CHECKPOINT_RESTORE` (40): write the `msg_next_id`/`sem_next_id`/`shm_next_id`
/// sysctls (as does `CAP_SYS_ADMIN`).
pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
/// `CAP_LAST_CAP`: the highest capability number defined.
pub const CAP_LAST_CAP: u32 = CAP_CHECKPOINT_RESTORE;
