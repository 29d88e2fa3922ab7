//! Layout of every `#[repr(C)]` structure against three independent descriptions of the
//! Linux ABI on the host: the `libc` crate's types, the kernel's UAPI headers
//! (`<linux/*.h>`, `<asm-generic/*.h>`: the authority) and glibc's `<sys/*.h>`, the last two
//! read by compiling a small C program with the system C compiler.
#![cfg(target_os = "linux")]

#[macro_use]
mod common;

use common::CProbe;
use core::mem::{align_of, offset_of, size_of, size_of_val};
use sysvipc_abi::{
    Ipc64Perm, Msginfo, Msqid64Ds, Sembuf, Semid64Ds, Seminfo, ShmInfo, Shmid64Ds, Shminfo64, arch,
};

/// Asserts that `$rust` and `$libc` have the same size and alignment, that each
/// `rust_field => libc_field` pair has the same offset and size, and that each pair after
/// `offset_only:` has the same offset.
macro_rules! same_as_libc {
    ($rust:ty, $libc:ty {
        $($rf:ident => $lf:ident),* $(,)?
    } $(offset_only: { $($orf:ident => $olf:ident),* $(,)? })?) => {{
        assert_eq!(size_of::<$rust>(), size_of::<$libc>(), "size of {}", stringify!($rust));
        assert_eq!(align_of::<$rust>(), align_of::<$libc>(), "align of {}", stringify!($rust));
        let ours = <$rust>::default();
        $(
            assert_eq!(
                offset_of!($rust, $rf),
                offset_of!($libc, $lf),
                "offset of {}.{}",
                stringify!($rust),
                stringify!($rf),
            );
            assert_eq!(
                size_of_val(&ours.$rf),
                field_size(|l: &$libc| &l.$lf),
                "size of {}.{}",
                stringify!($rust),
                stringify!($rf),
            );
        )*
        $($(
            assert_eq!(
                offset_of!($rust, $orf),
                offset_of!($libc, $olf),
                "offset of {}.{}",
                stringify!($rust),
                stringify!($orf),
            );
        )*)?
    }};
}

/// The size of the field that `project` borrows, without needing a value.
fn field_size<T, F>(_project: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

#[test]
fn ipc64_perm_matches_libc_ipc_perm_layout() {
    // The libc crate declares x86-64's `mode` as `c_ushort` followed by a private `__pad1`
    // (the kernel and glibc have a 32-bit mode), so only its offset is compared here; the C
    // probes below pin its size.
    same_as_libc!(Ipc64Perm, libc::ipc_perm {
        key => __key,
        uid => uid,
        gid => gid,
        cuid => cuid,
        cgid => cgid,
        seq => __seq,
    } offset_only: { mode => mode });
}

#[test]
fn msqid64_ds_matches_libc_msqid_ds_layout() {
    same_as_libc!(Msqid64Ds, libc::msqid_ds {
        msg_perm => msg_perm,
        msg_stime => msg_stime,
        msg_rtime => msg_rtime,
        msg_ctime => msg_ctime,
        msg_cbytes => __msg_cbytes,
        msg_qnum => msg_qnum,
        msg_qbytes => msg_qbytes,
        msg_lspid => msg_lspid,
        msg_lrpid => msg_lrpid,
    });
}

#[test]
fn semid64_ds_matches_libc_semid_ds_layout() {
    same_as_libc!(Semid64Ds, libc::semid_ds {
        sem_perm => sem_perm,
        sem_otime => sem_otime,
        sem_ctime => sem_ctime,
        sem_nsems => sem_nsems,
    });
}

#[test]
fn shmid64_ds_matches_libc_shmid_ds_layout() {
    same_as_libc!(Shmid64Ds, libc::shmid_ds {
        shm_perm => shm_perm,
        shm_segsz => shm_segsz,
        shm_atime => shm_atime,
        shm_dtime => shm_dtime,
        shm_ctime => shm_ctime,
        shm_cpid => shm_cpid,
        shm_lpid => shm_lpid,
        shm_nattch => shm_nattch,
    });
}

#[test]
fn sembuf_matches_libc_sembuf_layout() {
    same_as_libc!(Sembuf, libc::sembuf {
        sem_num => sem_num,
        sem_op => sem_op,
        sem_flg => sem_flg,
    });
}

#[test]
fn msginfo_matches_libc_msginfo_layout() {
    same_as_libc!(Msginfo, libc::msginfo {
        msgpool => msgpool,
        msgmap => msgmap,
        msgmax => msgmax,
        msgmnb => msgmnb,
        msgmni => msgmni,
        msgssz => msgssz,
        msgtql => msgtql,
        msgseg => msgseg,
    });
}

#[cfg(target_env = "gnu")]
#[test]
fn seminfo_matches_libc_seminfo_layout() {
    same_as_libc!(Seminfo, libc::seminfo {
        semmap => semmap,
        semmni => semmni,
        semmns => semmns,
        semmnu => semmnu,
        semmsl => semmsl,
        semopm => semopm,
        semume => semume,
        semusz => semusz,
        semvmx => semvmx,
        semaem => semaem,
    });
}

/// The structures common to all architectures, against the kernel's own names.
fn common_kernel_structs(p: &mut CProbe) {
    c_struct!(p, Ipc64Perm => "struct ipc64_perm" {
        key => "key",
        uid => "uid",
        gid => "gid",
        cuid => "cuid",
        cgid => "cgid",
        mode => "mode",
        seq => "seq",
        pad2 => "__pad2",
        unused1 => "__unused1",
        unused2 => "__unused2",
    });
    // `__pad1` is `unsigned char[4 - sizeof(__kernel_mode_t)]`: empty where mode is 32-bit.
    p.int(
        "sizeof ipc64_perm.__pad1",
        "sizeof(((struct ipc64_perm *)0)->__pad1)",
        0,
    );
    c_struct!(p, Msqid64Ds => "struct msqid64_ds" {
        msg_perm => "msg_perm",
        msg_stime => "msg_stime",
        msg_rtime => "msg_rtime",
        msg_ctime => "msg_ctime",
        msg_cbytes => "msg_cbytes",
        msg_qnum => "msg_qnum",
        msg_qbytes => "msg_qbytes",
        msg_lspid => "msg_lspid",
        msg_lrpid => "msg_lrpid",
        unused4 => "__unused4",
        unused5 => "__unused5",
    });
    c_struct!(p, Msginfo => "struct msginfo" {
        msgpool => "msgpool",
        msgmap => "msgmap",
        msgmax => "msgmax",
        msgmnb => "msgmnb",
        msgmni => "msgmni",
        msgssz => "msgssz",
        msgtql => "msgtql",
        msgseg => "msgseg",
    });
    c_struct!(p, Seminfo => "struct seminfo" {
        semmap => "semmap",
        semmni => "semmni",
        semmns => "semmns",
        semmnu => "semmnu",
        semmsl => "semmsl",
        semopm => "semopm",
        semume => "semume",
        semusz => "semusz",
        semvmx => "semvmx",
        semaem => "semaem",
    });
    c_struct!(p, Sembuf => "struct sembuf" {
        sem_num => "sem_num",
        sem_op => "sem_op",
        sem_flg => "sem_flg",
    });
    c_struct!(p, Shmid64Ds => "struct shmid64_ds" {
        shm_perm => "shm_perm",
        shm_segsz => "shm_segsz",
        shm_atime => "shm_atime",
        shm_dtime => "shm_dtime",
        shm_ctime => "shm_ctime",
        shm_cpid => "shm_cpid",
        shm_lpid => "shm_lpid",
        shm_nattch => "shm_nattch",
        unused4 => "__unused4",
        unused5 => "__unused5",
    });
    c_struct!(p, Shminfo64 => "struct shminfo64" {
        shmmax => "shmmax",
        shmmin => "shmmin",
        shmmni => "shmmni",
        shmseg => "shmseg",
        shmall => "shmall",
        unused1 => "__unused1",
        unused2 => "__unused2",
        unused3 => "__unused3",
        unused4 => "__unused4",
    });
    c_struct!(p, ShmInfo => "struct shm_info" {
        used_ids => "used_ids",
        shm_tot => "shm_tot",
        shm_rss => "shm_rss",
        shm_swp => "shm_swp",
        swap_attempts => "swap_attempts",
        swap_successes => "swap_successes",
    });
}

/// `<linux/{ipc,msg,sem,shm}.h>` pull in the host architecture's `asm/{ipcbuf,msgbuf,
/// sembuf,shmbuf}.h`.
const KERNEL_UAPI_PRELUDE: &str = "\
#include <linux/types.h>
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>
#include <linux/shm.h>
";

#[test]
fn structs_match_kernel_uapi_headers() {
    let mut p = CProbe::new("layout_kernel_uapi", KERNEL_UAPI_PRELUDE);
    common_kernel_structs(&mut p);
    #[cfg(target_arch = "x86_64")]
    c_struct!(p, arch::x86_64::Semid64Ds => "struct semid64_ds" {
        sem_perm => "sem_perm",
        sem_otime => "sem_otime",
        unused1 => "__unused1",
        sem_ctime => "sem_ctime",
        unused2 => "__unused2",
        sem_nsems => "sem_nsems",
        unused3 => "__unused3",
        unused4 => "__unused4",
    });
    #[cfg(target_arch = "aarch64")]
    c_struct!(p, arch::generic::Semid64Ds => "struct semid64_ds" {
        sem_perm => "sem_perm",
        sem_otime => "sem_otime",
        sem_ctime => "sem_ctime",
        sem_nsems => "sem_nsems",
        unused3 => "__unused3",
        unused4 => "__unused4",
    });
    p.run();
}

/// `asm-generic/sembuf.h` read directly, so the aarch64 layout is checked on any 64-bit
/// host.
#[cfg(target_pointer_width = "64")]
#[test]
fn generic_semid64_ds_matches_asm_generic_sembuf_h() {
    let mut p = CProbe::new(
        "layout_asm_generic_sembuf",
        "#include <linux/types.h>\n#include <asm-generic/sembuf.h>\n",
    );
    c_struct!(p, arch::generic::Semid64Ds => "struct semid64_ds" {
        sem_perm => "sem_perm",
        sem_otime => "sem_otime",
        sem_ctime => "sem_ctime",
        sem_nsems => "sem_nsems",
        unused3 => "__unused3",
        unused4 => "__unused4",
    });
    p.run();
}

/// glibc's structures are the kernel's 64-bit ones under other field names.
#[cfg(target_env = "gnu")]
#[test]
fn structs_match_glibc_sys_headers() {
    let mut p = CProbe::new(
        "layout_glibc",
        "#define _GNU_SOURCE\n#include <sys/ipc.h>\n#include <sys/msg.h>\n\
         #include <sys/sem.h>\n#include <sys/shm.h>\n",
    );
    c_struct!(p, Ipc64Perm => "struct ipc_perm" {
        key => "__key",
        uid => "uid",
        gid => "gid",
        cuid => "cuid",
        cgid => "cgid",
        mode => "mode",
        seq => "__seq",
        pad2 => "__pad2",
        unused1 => "__glibc_reserved1",
        unused2 => "__glibc_reserved2",
    });
    c_struct!(p, Msqid64Ds => "struct msqid_ds" {
        msg_perm => "msg_perm",
        msg_stime => "msg_stime",
        msg_rtime => "msg_rtime",
        msg_ctime => "msg_ctime",
        msg_cbytes => "__msg_cbytes",
        msg_qnum => "msg_qnum",
        msg_qbytes => "msg_qbytes",
        msg_lspid => "msg_lspid",
        msg_lrpid => "msg_lrpid",
        unused4 => "__glibc_reserved4",
        unused5 => "__glibc_reserved5",
    });
    #[cfg(target_arch = "x86_64")]
    c_struct!(p, Semid64Ds => "struct semid_ds" {
        sem_perm => "sem_perm",
        sem_otime => "sem_otime",
        unused1 => "__sem_otime_high",
        sem_ctime => "sem_ctime",
        unused2 => "__sem_ctime_high",
        sem_nsems => "sem_nsems",
        unused3 => "__glibc_reserved3",
        unused4 => "__glibc_reserved4",
    });
    #[cfg(not(target_arch = "x86_64"))]
    c_struct!(p, Semid64Ds => "struct semid_ds" {
        sem_perm => "sem_perm",
        sem_otime => "sem_otime",
        sem_ctime => "sem_ctime",
        sem_nsems => "sem_nsems",
        unused3 => "__glibc_reserved3",
        unused4 => "__glibc_reserved4",
    });
    c_struct!(p, Shmid64Ds => "struct shmid_ds" {
        shm_perm => "shm_perm",
        shm_segsz => "shm_segsz",
        shm_atime => "shm_atime",
        shm_dtime => "shm_dtime",
        shm_ctime => "shm_ctime",
        shm_cpid => "shm_cpid",
        shm_lpid => "shm_lpid",
        shm_nattch => "shm_nattch",
        unused4 => "__glibc_reserved5",
        unused5 => "__glibc_reserved6",
    });
    c_struct!(p, Shminfo64 => "struct shminfo" {
        shmmax => "shmmax",
        shmmin => "shmmin",
        shmmni => "shmmni",
        shmseg => "shmseg",
        shmall => "shmall",
        unused1 => "__glibc_reserved1",
        unused2 => "__glibc_reserved2",
        unused3 => "__glibc_reserved3",
        unused4 => "__glibc_reserved4",
    });
    c_struct!(p, ShmInfo => "struct shm_info" {
        used_ids => "used_ids",
        shm_tot => "shm_tot",
        shm_rss => "shm_rss",
        shm_swp => "shm_swp",
        swap_attempts => "swap_attempts",
        swap_successes => "swap_successes",
    });
    c_struct!(p, Msginfo => "struct msginfo" {
        msgpool => "msgpool",
        msgmap => "msgmap",
        msgmax => "msgmax",
        msgmnb => "msgmnb",
        msgmni => "msgmni",
        msgssz => "msgssz",
        msgtql => "msgtql",
        msgseg => "msgseg",
    });
    c_struct!(p, Seminfo => "struct seminfo" {
        semmap => "semmap",
        semmni => "semmni",
        semmns => "semmns",
        semmnu => "semmnu",
        semmsl => "semmsl",
        semopm => "semopm",
        semume => "semume",
        semusz => "semusz",
        semvmx => "semvmx",
        semaem => "semaem",
    });
    c_struct!(p, Sembuf => "struct sembuf" {
        sem_num => "sem_num",
        sem_op => "sem_op",
        sem_flg => "sem_flg",
    });
    p.run();
}

#[test]
fn default_structs_are_all_zero_words() {
    // IPC_STAT must write zeros into every unused and padding word; Default provides them.
    let perm = Ipc64Perm::default();
    assert_eq!(
        (perm.pad2, perm.pad3, perm.unused1, perm.unused2),
        (0, 0, 0, 0)
    );
    let x = arch::x86_64::Semid64Ds::default();
    assert_eq!((x.unused1, x.unused2, x.unused3, x.unused4), (0, 0, 0, 0));
    let i = ShmInfo::default();
    assert_eq!((i.used_ids, i.pad), (0, 0));
    assert_eq!(Msginfo::default().pad, 0);
}

#[test]
fn root_semid64_ds_is_the_compile_targets() {
    #[cfg(target_arch = "x86_64")]
    let expected = size_of::<arch::x86_64::Semid64Ds>();
    #[cfg(not(target_arch = "x86_64"))]
    let expected = size_of::<arch::generic::Semid64Ds>();
    assert_eq!(size_of::<Semid64Ds>(), expected);
    assert_eq!(size_of::<arch::x86_64::Semid64Ds>(), 104);
    assert_eq!(size_of::<arch::generic::Semid64Ds>(), 88);
}
