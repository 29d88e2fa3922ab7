//! Every constant against the `libc` crate (where it has it), the kernel's UAPI headers (the
//! authority, read by compiling a small C program) and glibc's headers.
#![cfg(target_os = "linux")]

#[macro_use]
mod common;

use common::CProbe;
use sysvipc_abi as abi;
use sysvipc_abi::{Errno, arch, ipc_call};

/// Queues `C_NAME == abi::NAME` for each name (the same spelling in C and in this crate).
macro_rules! c_consts {
    ($probe:expr, $module:ident; $($name:ident),+ $(,)?) => {{
        $($probe.int(
            concat!(stringify!($module), "::", stringify!($name)),
            stringify!($name),
            i128::from($module::$name),
        );)+
    }};
}

/// Asserts `abi::NAME == libc::NAME` for each name.
macro_rules! same_as_libc {
    ($($name:ident),+ $(,)?) => {
        $(assert_eq!(
            i128::from(abi::$name),
            i128::from(libc::$name),
            concat!("abi::", stringify!($name), " != libc::", stringify!($name)),
        );)+
    }
}

#[test]
fn ipc_constants_match_libc() {
    same_as_libc! {
        IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO,
        MSG_STAT, MSG_INFO, MSG_NOERROR, MSG_EXCEPT, SEM_UNDO, GETPID, GETVAL, GETALL, GETNCNT,
        GETZCNT, SETVAL, SETALL, SEM_STAT, SEM_INFO, SEM_STAT_ANY, SHM_R, SHM_W, SHM_RDONLY,
        SHM_RND, SHM_REMAP, SHM_LOCK, SHM_UNLOCK, SHM_HUGETLB, SHM_NORESERVE,
    }
}

/// Asserts `Errno::NAME.raw() == libc::NAME` for each name and returns the names checked.
macro_rules! errno_same_as_libc {
    ($($name:ident),+ $(,)?) => {{
        $(assert_eq!(
            Errno::$name.raw(),
            libc::$name,
            concat!("Errno::", stringify!($name), " != libc::", stringify!($name)),
        );)+
        [$(stringify!($name)),+]
    }};
}

#[test]
fn errno_constants_match_libc() {
    let checked = errno_same_as_libc! {
        EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM,
        EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE,
        EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE,
        EDEADLK, ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ECHRNG,
        EL2NSYNC, EL3HLT, EL3RST, ELNRNG, EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR, EXFULL, ENOANO,
        EBADRQC, EBADSLT, EBFONT, ENOSTR, ENODATA, ETIME, ENOSR, ENONET, ENOPKG, EREMOTE,
        ENOLINK, EADV, ESRMNT, ECOMM, EPROTO, EMULTIHOP, EDOTDOT, EBADMSG, EOVERFLOW, ENOTUNIQ,
        EBADFD, EREMCHG, ELIBACC, ELIBBAD, ELIBSCN, ELIBMAX, ELIBEXEC, EILSEQ, ERESTART,
        ESTRPIPE, EUSERS, ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT,
        EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE,
        EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS,
        EISCONN, ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN,
        EHOSTUNREACH, EALREADY, EINPROGRESS, ESTALE, EUCLEAN, ENOTNAM, ENAVAIL, EISNAM,
        EREMOTEIO, EDQUOT, ENOMEDIUM, EMEDIUMTYPE, ECANCELED, ENOKEY, EKEYEXPIRED, EKEYREVOKED,
        EKEYREJECTED, EOWNERDEAD, ENOTRECOVERABLE, ERFKILL, EHWPOISON,
        // aliases
        EWOULDBLOCK, EDEADLOCK, ENOTSUP,
    };
    // Every user-visible number this crate names was compared (the restart codes 512..=516
    // are kernel-internal and not in libc).
    for e in Errno::ALL.iter().filter(|e| e.raw() < 512) {
        let name = e.name().unwrap();
        assert!(checked.contains(&name), "{name} not compared with libc");
    }
}

#[test]
fn syscall_numbers_match_libc_sys_for_the_compile_target() {
    use arch::native::nr;
    assert_eq!(nr::MSGGET, libc::SYS_msgget);
    assert_eq!(nr::MSGSND, libc::SYS_msgsnd);
    assert_eq!(nr::MSGRCV, libc::SYS_msgrcv);
    assert_eq!(nr::MSGCTL, libc::SYS_msgctl);
    assert_eq!(nr::SEMGET, libc::SYS_semget);
    assert_eq!(nr::SEMOP, libc::SYS_semop);
    assert_eq!(nr::SEMCTL, libc::SYS_semctl);
    assert_eq!(nr::SEMTIMEDOP, libc::SYS_semtimedop);
    assert_eq!(nr::SHMGET, libc::SYS_shmget);
    assert_eq!(nr::SHMAT, libc::SYS_shmat);
    assert_eq!(nr::SHMDT, libc::SYS_shmdt);
    assert_eq!(nr::SHMCTL, libc::SYS_shmctl);
}

/// Kernel UAPI headers. `<limits.h>` first: `<linux/shm.h>` uses `ULONG_MAX` without it.
const KERNEL_UAPI_PRELUDE: &str = "\
#include <limits.h>
#include <linux/types.h>
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>
#include <linux/shm.h>
#include <linux/capability.h>
#include <linux/errno.h>
#include <asm/unistd.h>
";

#[test]
fn constants_match_kernel_uapi_headers() {
    let mut p = CProbe::new("consts_kernel_uapi", KERNEL_UAPI_PRELUDE);
    c_consts!(p, abi;
        IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO,
        IPC_OLD, IPC_64,
        MSG_STAT, MSG_INFO, MSG_STAT_ANY, MSG_NOERROR, MSG_EXCEPT, MSG_COPY,
        MSGMNI, MSGMAX, MSGMNB, MSGPOOL, MSGTQL, MSGMAP, MSGSSZ, MSGSEG,
        SEM_UNDO, GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL, SEM_STAT, SEM_INFO,
        SEM_STAT_ANY,
        SEMMNI, SEMMSL, SEMMNS, SEMOPM, SEMVMX, SEMAEM, SEMUME, SEMMNU, SEMMAP, SEMUSZ,
        SHMMIN, SHMMNI, SHMMAX, SHMALL, SHMSEG,
        SHM_R, SHM_W, SHM_HUGETLB, SHM_NORESERVE, SHM_HUGE_SHIFT, SHM_HUGE_MASK,
        SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC,
        SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY,
        CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_KILL,
        CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_LINUX_IMMUTABLE, CAP_NET_BIND_SERVICE,
        CAP_NET_BROADCAST, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_IPC_OWNER,
        CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_CHROOT, CAP_SYS_PTRACE, CAP_SYS_PACCT,
        CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_NICE, CAP_SYS_RESOURCE, CAP_SYS_TIME,
        CAP_SYS_TTY_CONFIG, CAP_MKNOD, CAP_LEASE, CAP_AUDIT_WRITE, CAP_AUDIT_CONTROL,
        CAP_SETFCAP, CAP_MAC_OVERRIDE, CAP_MAC_ADMIN, CAP_SYSLOG, CAP_WAKE_ALARM,
        CAP_BLOCK_SUSPEND, CAP_AUDIT_READ, CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE,
        CAP_LAST_CAP,
    );
    c_consts!(p, ipc_call;
        SEMOP, SEMGET, SEMCTL, SEMTIMEDOP, MSGSND, MSGRCV, MSGGET, MSGCTL, SHMAT, SHMDT,
        SHMGET, SHMCTL,
    );
    p.int(
        "IPCCALL(1, 0)",
        "IPCCALL(1, 0)",
        1 << ipc_call::VERSION_SHIFT,
    );
    // The user-visible errno numbers (<asm/errno.h>; 512..=516 are kernel-internal).
    for e in Errno::ALL.iter().filter(|e| e.raw() < 512) {
        let name = e.name().unwrap();
        p.int(format!("Errno::{name}"), name, i128::from(e.raw()));
    }
    p.int(
        "Errno::EWOULDBLOCK",
        "EWOULDBLOCK",
        Errno::EWOULDBLOCK.raw().into(),
    );
    p.int(
        "Errno::EDEADLOCK",
        "EDEADLOCK",
        Errno::EDEADLOCK.raw().into(),
    );
    native_syscall_numbers(&mut p);
    p.run();
}

/// `__NR_*` of the host's `<asm/unistd.h>` against [`arch::native::nr`].
fn native_syscall_numbers(p: &mut CProbe) {
    use arch::native::nr;
    for (c, rust) in [
        ("__NR_msgget", nr::MSGGET),
        ("__NR_msgsnd", nr::MSGSND),
        ("__NR_msgrcv", nr::MSGRCV),
        ("__NR_msgctl", nr::MSGCTL),
        ("__NR_semget", nr::SEMGET),
        ("__NR_semop", nr::SEMOP),
        ("__NR_semctl", nr::SEMCTL),
        ("__NR_semtimedop", nr::SEMTIMEDOP),
        ("__NR_shmget", nr::SHMGET),
        ("__NR_shmat", nr::SHMAT),
        ("__NR_shmdt", nr::SHMDT),
        ("__NR_shmctl", nr::SHMCTL),
    ] {
        p.int(format!("arch::native::nr for {c}"), c, rust.into());
    }
}

/// `asm-generic/unistd.h` read directly, so aarch64's numbers are checked on any host.
#[test]
fn generic_syscall_numbers_match_asm_generic_unistd_h() {
    use arch::generic::nr;
    let mut p = CProbe::new(
        "consts_asm_generic_unistd",
        "#include <linux/types.h>\n#include <asm-generic/unistd.h>\n",
    );
    for (c, rust) in [
        ("__NR_msgget", nr::MSGGET),
        ("__NR_msgctl", nr::MSGCTL),
        ("__NR_msgrcv", nr::MSGRCV),
        ("__NR_msgsnd", nr::MSGSND),
        ("__NR_semget", nr::SEMGET),
        ("__NR_semctl", nr::SEMCTL),
        ("__NR_semtimedop", nr::SEMTIMEDOP),
        ("__NR_semop", nr::SEMOP),
        ("__NR_shmget", nr::SHMGET),
        ("__NR_shmctl", nr::SHMCTL),
        ("__NR_shmat", nr::SHMAT),
        ("__NR_shmdt", nr::SHMDT),
    ] {
        p.int(format!("arch::generic::nr for {c}"), c, rust.into());
    }
    p.run();
}

/// glibc's `<sys/*.h>`, which also carry the kernel-internal `SHM_DEST` and `SHM_LOCKED`
/// (from `include/linux/shm.h`, absent from the UAPI headers) and the `SYS_*` numbers.
#[cfg(target_env = "gnu")]
#[test]
fn constants_match_glibc_headers() {
    let mut p = CProbe::new(
        "consts_glibc",
        "#define _GNU_SOURCE\n#include <sys/ipc.h>\n#include <sys/msg.h>\n\
         #include <sys/sem.h>\n#include <sys/shm.h>\n#include <sys/syscall.h>\n\
         #include <errno.h>\n",
    );
    c_consts!(p, abi;
        IPC_PRIVATE, IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO,
        MSG_STAT, MSG_INFO, MSG_STAT_ANY, MSG_NOERROR, MSG_EXCEPT, MSG_COPY,
        SEM_UNDO, GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL, SEM_STAT, SEM_INFO,
        SEM_STAT_ANY,
        SHM_R, SHM_W, SHM_HUGETLB, SHM_NORESERVE, SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC,
        SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO, SHM_STAT_ANY, SHM_DEST, SHM_LOCKED,
    );
    p.int("Errno::ENOTSUP", "ENOTSUP", Errno::ENOTSUP.raw().into());
    native_syscall_numbers(&mut p);
    p.run();
}

#[test]
fn id_layout_matches_ipc_util_h() {
    // ipc/util.h without ipc_mni_extend: bits 0-14 index, bits 15-30 sequence number.
    assert_eq!(abi::IPCMNI, 32768);
    assert_eq!(abi::IPCMNI, 1 << abi::IPCMNI_SHIFT);
    assert_eq!(abi::SEQ_MULTIPLIER, abi::IPCMNI);
    assert_eq!(abi::IPCMNI_IDX_MASK, 0x7fff);
    // ipcid_seq_max() = INT_MAX >> ipcmni_seq_shift(); ipc_idr_alloc() wraps seq to 0 when it
    // reaches that value, so the largest id is (65534 << 15) + 32767, a positive int.
    assert_eq!(abi::IPCID_SEQ_MAX, 65535);
    let largest_id = i64::from(abi::IPCID_SEQ_MAX - 1) * i64::from(abi::SEQ_MULTIPLIER)
        + i64::from(abi::IPCMNI_IDX_MASK);
    assert!(largest_id <= i64::from(i32::MAX));
    // RADIX_TREE_MAP_SIZE with CONFIG_BASE_SMALL=0.
    assert_eq!(abi::IPC_MIN_CYCLE, 64);
    // The namespace limits stay below the index space.
    const {
        assert!(abi::MSGMNI <= abi::IPCMNI);
        assert!(abi::SEMMNI <= abi::IPCMNI);
        assert!(abi::SHMMNI <= abi::IPCMNI);
    }
}

#[test]
fn derived_limits_have_the_kernels_values() {
    assert_eq!(abi::MSGPOOL, 512_000);
    assert_eq!(abi::MSGSEG, 0xffff); // __MSGSEG = 32_768_000, capped
    assert_eq!(abi::SEMMNS, 1_024_000_000);
    assert_eq!(abi::SEMMNU, abi::SEMMNS);
    assert_eq!(abi::SEMMAP, abi::SEMMNS);
    assert_eq!(abi::SEMAEM, 32767);
    assert_eq!(abi::SEMUME, 500);
    assert_eq!(abi::SHMMAX, 18_446_744_073_692_774_399);
    assert_eq!(abi::SHMALL, abi::SHMMAX);
    assert_eq!(abi::SHMSEG, 4096);
}
