//! Layout of the 32-bit (compat and `IPC_OLD`) structures against the kernel's UAPI headers
//! compiled for i386 (`gcc -m32`, which needs the multilib headers; the probe is skipped,
//! saying why, without them), and against the numbers that compiler gave on Linux 6.18
//! headers, pinned so they are checked everywhere.
#![cfg(target_os = "linux")]

#[macro_use]
mod common;

use common::CProbe;
use core::mem::{align_of, offset_of, size_of};
use sysvipc_abi::compat::{
    CompatIpc64Perm, CompatIpcKludge, CompatIpcPerm, CompatMsqid64Ds, CompatMsqidDs,
    CompatSemid64Ds, CompatSemidDs, CompatShmInfo, CompatShmid64Ds, CompatShmidDs, CompatShminfo64,
    OldShminfo, OldTimespec32,
};
use sysvipc_abi::{Msginfo, Sembuf, Seminfo};

const PRELUDE: &str = "#include <linux/types.h>\n#include <linux/ipc.h>\n#include <linux/msg.h>\n\
#include <linux/sem.h>\n#include <linux/shm.h>\n#include <linux/time_types.h>\n";

#[test]
fn compat_structs_match_i386_uapi_headers() {
    let mut p = CProbe::new("layout_i386_uapi", PRELUDE).with_flags(&["-m32"]);
    c_struct!(p, CompatIpc64Perm => "struct ipc64_perm" {
        key => "key", uid => "uid", gid => "gid", cuid => "cuid", cgid => "cgid",
        mode => "mode", seq => "seq", pad2 => "__pad2",
        unused1 => "__unused1", unused2 => "__unused2",
    });
    c_struct!(p, CompatMsqid64Ds => "struct msqid64_ds" {
        msg_perm => "msg_perm", msg_stime => "msg_stime", msg_stime_high => "msg_stime_high",
        msg_rtime => "msg_rtime", msg_rtime_high => "msg_rtime_high",
        msg_ctime => "msg_ctime", msg_ctime_high => "msg_ctime_high",
        msg_cbytes => "msg_cbytes", msg_qnum => "msg_qnum", msg_qbytes => "msg_qbytes",
        msg_lspid => "msg_lspid", msg_lrpid => "msg_lrpid",
        unused4 => "__unused4", unused5 => "__unused5",
    });
    c_struct!(p, CompatSemid64Ds => "struct semid64_ds" {
        sem_perm => "sem_perm", sem_otime => "sem_otime", sem_otime_high => "sem_otime_high",
        sem_ctime => "sem_ctime", sem_ctime_high => "sem_ctime_high",
        sem_nsems => "sem_nsems", unused3 => "__unused3", unused4 => "__unused4",
    });
    c_struct!(p, CompatShmid64Ds => "struct shmid64_ds" {
        shm_perm => "shm_perm", shm_segsz => "shm_segsz",
        shm_atime => "shm_atime", shm_atime_high => "shm_atime_high",
        shm_dtime => "shm_dtime", shm_dtime_high => "shm_dtime_high",
        shm_ctime => "shm_ctime", shm_ctime_high => "shm_ctime_high",
        shm_cpid => "shm_cpid", shm_lpid => "shm_lpid", shm_nattch => "shm_nattch",
        unused4 => "__unused4", unused5 => "__unused5",
    });
    c_struct!(p, CompatShminfo64 => "struct shminfo64" {
        shmmax => "shmmax", shmmin => "shmmin", shmmni => "shmmni", shmseg => "shmseg",
        shmall => "shmall", unused1 => "__unused1", unused2 => "__unused2",
        unused3 => "__unused3", unused4 => "__unused4",
    });
    c_struct!(p, CompatShmInfo => "struct shm_info" {
        used_ids => "used_ids", shm_tot => "shm_tot", shm_rss => "shm_rss",
        shm_swp => "shm_swp", swap_attempts => "swap_attempts",
        swap_successes => "swap_successes",
    });
    c_struct!(p, CompatIpcPerm => "struct ipc_perm" {
        key => "key", uid => "uid", gid => "gid", cuid => "cuid", cgid => "cgid",
        mode => "mode", seq => "seq",
    });
    c_struct!(p, CompatMsqidDs => "struct msqid_ds" {
        msg_perm => "msg_perm", msg_first => "msg_first", msg_last => "msg_last",
        msg_stime => "msg_stime", msg_rtime => "msg_rtime", msg_ctime => "msg_ctime",
        msg_lcbytes => "msg_lcbytes", msg_lqbytes => "msg_lqbytes",
        msg_cbytes => "msg_cbytes", msg_qnum => "msg_qnum", msg_qbytes => "msg_qbytes",
        msg_lspid => "msg_lspid", msg_lrpid => "msg_lrpid",
    });
    c_struct!(p, CompatSemidDs => "struct semid_ds" {
        sem_perm => "sem_perm", sem_otime => "sem_otime", sem_ctime => "sem_ctime",
        sem_base => "sem_base", sem_pending => "sem_pending",
        sem_pending_last => "sem_pending_last", undo => "undo", sem_nsems => "sem_nsems",
    });
    c_struct!(p, CompatShmidDs => "struct shmid_ds" {
        shm_perm => "shm_perm", shm_segsz => "shm_segsz", shm_atime => "shm_atime",
        shm_dtime => "shm_dtime", shm_ctime => "shm_ctime", shm_cpid => "shm_cpid",
        shm_lpid => "shm_lpid", shm_nattch => "shm_nattch", shm_unused => "shm_unused",
        shm_unused2 => "shm_unused2", shm_unused3 => "shm_unused3",
    });
    c_struct!(p, OldShminfo => "struct shminfo" {
        shmmax => "shmmax", shmmin => "shmmin", shmmni => "shmmni", shmseg => "shmseg",
        shmall => "shmall",
    });
    c_struct!(p, OldTimespec32 => "struct __kernel_old_timespec" {
        tv_sec => "tv_sec", tv_nsec => "tv_nsec",
    });
    c_struct!(p, CompatIpcKludge => "struct ipc_kludge" {
        msgp => "msgp", msgtyp => "msgtyp",
    });
    c_struct!(p, Msginfo => "struct msginfo" {
        msgpool => "msgpool", msgmap => "msgmap", msgmax => "msgmax", msgmnb => "msgmnb",
        msgmni => "msgmni", msgssz => "msgssz", msgtql => "msgtql", msgseg => "msgseg",
    });
    c_struct!(p, Seminfo => "struct seminfo" {
        semmap => "semmap", semmni => "semmni", semmns => "semmns", semmnu => "semmnu",
        semmsl => "semmsl", semopm => "semopm", semume => "semume", semusz => "semusz",
        semvmx => "semvmx", semaem => "semaem",
    });
    c_struct!(p, Sembuf => "struct sembuf" {
        sem_num => "sem_num", sem_op => "sem_op", sem_flg => "sem_flg",
    });
    // `__pad1` is a `char` array, whose signedness C cannot be asked: offset and size only.
    p.int(
        "offset_of CompatIpc64Perm.pad1",
        "offsetof(struct ipc64_perm, __pad1)",
        offset_of!(CompatIpc64Perm, pad1) as i128,
    );
    p.int(
        "size_of CompatIpc64Perm.pad1",
        "sizeof(((struct ipc64_perm *)0)->__pad1)",
        2,
    );
    p.int(
        "offset_of compat msgbuf.mtext",
        "offsetof(struct msgbuf, mtext)",
        sysvipc_abi::compat::COMPAT_MSGBUF_MTEXT as i128,
    );
    p.run();
}

#[test]
fn compat_struct_sizes_are_those_gcc_m32_gave() {
    let sizes = [
        ("ipc64_perm", size_of::<CompatIpc64Perm>(), 36),
        ("msqid64_ds", size_of::<CompatMsqid64Ds>(), 88),
        ("semid64_ds", size_of::<CompatSemid64Ds>(), 64),
        ("shmid64_ds", size_of::<CompatShmid64Ds>(), 84),
        ("shminfo64", size_of::<CompatShminfo64>(), 36),
        ("shm_info", size_of::<CompatShmInfo>(), 24),
        ("ipc_perm", size_of::<CompatIpcPerm>(), 16),
        ("msqid_ds", size_of::<CompatMsqidDs>(), 56),
        ("semid_ds", size_of::<CompatSemidDs>(), 44),
        ("shmid_ds", size_of::<CompatShmidDs>(), 48),
        ("shminfo", size_of::<OldShminfo>(), 20),
        ("old_timespec32", size_of::<OldTimespec32>(), 8),
        ("ipc_kludge", size_of::<CompatIpcKludge>(), 8),
        ("msginfo", size_of::<Msginfo>(), 32),
        ("seminfo", size_of::<Seminfo>(), 40),
    ];
    for (name, ours, gcc) in sizes {
        assert_eq!(ours, gcc, "size of {name}");
    }
    for align in [
        align_of::<CompatIpc64Perm>(),
        align_of::<CompatMsqid64Ds>(),
        align_of::<CompatSemid64Ds>(),
        align_of::<CompatShmid64Ds>(),
        align_of::<CompatMsqidDs>(),
        align_of::<CompatShmidDs>(),
    ] {
        assert_eq!(align, 4);
    }
}

#[test]
fn old_msqid_ds_keeps_the_16_bit_counters_after_the_32_bit_ones() {
    assert_eq!(offset_of!(CompatMsqidDs, msg_lcbytes), 36);
    assert_eq!(offset_of!(CompatMsqidDs, msg_lqbytes), 40);
    assert_eq!(offset_of!(CompatMsqidDs, msg_cbytes), 44);
    assert_eq!(offset_of!(CompatMsqidDs, msg_qbytes), 48);
    assert_eq!(offset_of!(CompatMsqidDs, msg_lspid), 50);
    assert_eq!(offset_of!(CompatMsqidDs, msg_lrpid), 52);
}

#[test]
fn compat_64_structures_split_each_time_into_two_words() {
    assert_eq!(offset_of!(CompatMsqid64Ds, msg_stime), 36);
    assert_eq!(offset_of!(CompatMsqid64Ds, msg_stime_high), 40);
    assert_eq!(offset_of!(CompatSemid64Ds, sem_ctime_high), 48);
    assert_eq!(offset_of!(CompatShmid64Ds, shm_ctime_high), 60);
    assert_eq!(offset_of!(CompatShmid64Ds, shm_nattch), 72);
}
