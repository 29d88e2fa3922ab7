//! A 32-bit task's System V IPC, on the host kernel and on the emulation, call by call: the
//! same i386 syscalls (`int $0x80` on the host, through `sysvipc_host::int80`, in a private
//! IPC namespace; [`syscall`] with [`Arch::I386`] on the emulation, over a
//! [`HeapUserMemory`] mapped at the same addresses), compared by return value, errno and
//! every byte of what they copy out. Times are compared as zero / non-zero, pids exactly
//! (the emulated caller has this process's pid); attach addresses by their form (non-zero,
//! page-aligned, below 4 GiB), since each side places them its own way.
//!
//! Skipped, saying why, where `int $0x80` is not served (no IA32 emulation) or no private
//! IPC namespace can be made. Every host object lives in the test's own namespace, which
//! disappears with it; attachments are detached before the end.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::sync::{Arc, OnceLock};

use sysvipc::abi::{self, ipc_call};
use sysvipc::{AttachTable, Caller, Capabilities, Credentials, IpcNamespace, ThreadBlocker};
use sysvipc_host::int80::{self, LowMemory};
use sysvipc_host::{HostCaller, HostError, HostNamespace};
use sysvipc_syscalls::{Arch, HeapUserMemory, Task, UserMemory, syscall};

use abi::compat::i386;

const LEN: usize = 0x1_0000;
/// Where each kind of argument lives in the shared buffer.
const MSG: usize = 0x0000;
const RCV: usize = 0x1000;
const DS: usize = 0x2000;
const KLUDGE: usize = 0x3000;
const SOPS: usize = 0x3100;
const TS: usize = 0x3200;
const SEMUN: usize = 0x3300;
const ARR: usize = 0x3400;
const OUT: usize = 0x3500;

const IPC: i64 = i386::IPC;
const NOWAIT: u32 = abi::IPC_NOWAIT as u32;
const IPC64: u32 = abi::IPC_64 as u32;

/// `ipc(2)`'s first argument: the call and its version.
fn call(op: i32, version: u32) -> u32 {
    (version << ipc_call::VERSION_SHIFT) | op as u32
}

fn cap(n: u32) -> u64 {
    1 << n
}

/// The two sides of one scenario.
struct Pair {
    host: HostNamespace,
    root_host: HostCaller,
    user_host: HostCaller,
    low: LowMemory,
    ns: IpcNamespace,
    root: Caller,
    user: Caller,
    memory: HeapUserMemory,
    space: AttachTable,
    as_user: bool,
}

/// Whether `int $0x80` works here: asked once, before any test attaches a segment (the
/// probe forks, and a fork would copy attachments).
fn int80_available() -> &'static Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE.get_or_init(int80::available)
}

impl Pair {
    fn new(test: &str) -> Option<Pair> {
        if let Err(why) = int80_available() {
            eprintln!("SKIP {test}: {why}");
            return None;
        }
        let host = match HostNamespace::new() {
            Ok(h) => h,
            Err(HostError::Unsupported(why)) => {
                eprintln!("SKIP {test}: {why}");
                return None;
            }
            Err(e) => panic!("{test}: {e}"),
        };
        // Root as the host lets it be, without CAP_SYS_RESOURCE (not every host grants it);
        // the emulated root gets the same set.
        let caps = host.permitted_caps() & !cap(abi::CAP_SYS_RESOURCE);
        let low = LowMemory::new(LEN).expect("map memory below 4 GiB");
        let memory = HeapUserMemory::new();
        memory.map(u64::from(low.at(0)), LEN);
        let pid = std::process::id() as i32;
        let blocker = || Arc::new(ThreadBlocker::new());
        let root_cred = Credentials::root().with_caps(Capabilities::from_bits_truncate(caps));
        Some(Pair {
            root_host: HostCaller::root().with_caps(caps),
            user_host: HostCaller::user(1000, 1000),
            host,
            low,
            ns: IpcNamespace::new(),
            root: Caller::new(root_cred, pid, blocker()),
            user: Caller::new(Credentials::user(1000, 1000), pid, blocker()),
            memory,
            space: AttachTable::with_window(pid, 0x1000_0000, abi::compat::IA32_TASK_SIZE as usize),
            as_user: false,
        })
    }

    /// The address of buffer offset `off` (the same on both sides).
    fn at(&self, off: usize) -> u32 {
        self.low.at(off)
    }

    /// Writes `bytes` at `off` on both sides.
    fn put(&self, off: usize, bytes: &[u8]) {
        self.low.write(off, bytes);
        self.memory
            .write(u64::from(self.at(off)), bytes)
            .expect("emulation buffer");
    }

    /// Fills `len` bytes at `off` with 0xaa on both sides, so bytes a call leaves alone
    /// compare too.
    fn clear(&self, off: usize, len: usize) {
        self.put(off, &vec![0xaa; len]);
    }

    /// Runs i386 syscall `nr` on the host and on the emulation, each with its own
    /// arguments, and returns both results (`eax`: a value or `-errno`).
    fn run_split(&mut self, nr: i64, host_args: [u32; 6], emu_args: [u32; 6]) -> (i32, i32) {
        let host_caller = if self.as_user {
            self.user_host.clone()
        } else {
            self.root_host.clone()
        };
        // SAFETY: every pointer argument of these tests names `self.low` (alive for the
        // call), an unmapped low page (the kernel answers EFAULT), or an attachment this test
        // made; the one call that maps at a fixed address (SHM_REMAP) replaces pages of a
        // `LowMemory` reservation kept for it, which nothing reads as its own.
        let host = self.host.run(&host_caller, move || unsafe {
            int80::syscall(nr as u32, host_args)
        });
        let caller = if self.as_user { &self.user } else { &self.root };
        let mut task = Task::new(caller, &self.memory, &mut self.space);
        let emu = match syscall(&self.ns, &mut task, Arch::I386, nr, emu_args.map(u64::from)) {
            Some(Ok(v)) => v as i32,
            Some(Err(e)) => -e.raw(),
            None => panic!("syscall {nr} is not an i386 IPC call of the emulation"),
        };
        (host, emu)
    }

    /// Runs `nr(args)` on both sides and asserts the same result.
    fn both(&mut self, what: &str, nr: i64, args: [u32; 6]) -> i32 {
        let (host, emu) = self.run_split(nr, args, args);
        assert_eq!(emu, host, "{what}: emulation (left) vs Linux (right)");
        host
    }

    /// Asserts that `len` bytes at `off` are the same on both sides, the 4-byte time fields
    /// at the offsets in `times` compared as zero / non-zero.
    fn same(&self, what: &str, off: usize, len: usize, times: &[usize]) -> Vec<u8> {
        let mut host = self.low.read(off, len);
        let mut emu = self
            .memory
            .bytes(u64::from(self.at(off)), len)
            .expect("emulation buffer");
        for &t in times {
            for side in [&mut host, &mut emu] {
                let v = u32::from_ne_bytes(side[t..t + 4].try_into().unwrap());
                side[t..t + 4].copy_from_slice(&u32::from(v != 0).to_ne_bytes());
            }
        }
        assert_eq!(
            emu, host,
            "{what}: bytes at {off:#x} (emulation left, Linux right)"
        );
        host
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}

/// A `compat_msgbuf`: a 4-byte type, then the text.
fn msgbuf(mtype: u32, text: &[u8]) -> Vec<u8> {
    [&mtype.to_ne_bytes()[..], text].concat()
}

fn sembuf(num: u16, op: i16, flg: i16) -> Vec<u8> {
    [num.to_ne_bytes(), op.to_ne_bytes(), flg.to_ne_bytes()].concat()
}

// Time fields (their low words) of each structure.
const MSQID64_TIMES: &[usize] = &[36, 44, 52];
const MSQID_OLD_TIMES: &[usize] = &[24, 28, 32];
const SEMID64_TIMES: &[usize] = &[36, 44];
const SEMID_OLD_TIMES: &[usize] = &[16, 20];
const SHMID64_TIMES: &[usize] = &[40, 48, 56];
const SHMID_OLD_TIMES: &[usize] = &[20, 24, 28];

// ---- message queues -------------------------------------------------------------------------

#[test]
fn compat_msgsnd_and_msgrcv_use_a_32_bit_mtype_through_both_entry_points() {
    let Some(mut p) = Pair::new("compat_msgsnd_and_msgrcv_use_a_32_bit_mtype") else {
        return;
    };
    let q = p.both("msgget direct", i386::MSGGET, [0, 0o1600, 0, 0, 0, 0]) as u32;
    let q2 = p.both(
        "ipc MSGGET",
        IPC,
        [call(ipc_call::MSGGET, 0), 0, 0o1600, 0, 0, 0],
    );
    assert_ne!(q2, q as i32);
    let (msg, rcv, kl) = (p.at(MSG), p.at(RCV), p.at(KLUDGE));

    // Types 5, 2, 7, 3 by the direct call and by ipc(2) (second = size, third = flags).
    for (i, (t, text)) in [
        (5u32, &b"five"[..]),
        (2, b"two"),
        (7, b"seven"),
        (3, b"three"),
    ]
    .into_iter()
    .enumerate()
    {
        p.put(MSG, &msgbuf(t, text));
        let len = text.len() as u32;
        if i % 2 == 0 {
            assert_eq!(
                p.both("msgsnd direct", i386::MSGSND, [q, msg, len, 0, 0, 0]),
                0
            );
        } else {
            let args = [call(ipc_call::MSGSND, 0), q, len, 0, msg, 0];
            assert_eq!(p.both("ipc MSGSND", IPC, args), 0);
        }
    }
    // A type read as 32 bits: 0xffff_ffff is -1 (EINVAL), not 4294967295.
    p.put(MSG, &msgbuf(u32::MAX, b"x"));
    assert_eq!(
        p.both("msgsnd type -1", i386::MSGSND, [q, msg, 1, 0, 0, 0]),
        -abi::Errno::EINVAL.raw()
    );
    // A size of 2 GiB or more is negative as a compat_ssize_t.
    p.put(MSG, &msgbuf(1, b"x"));
    assert_eq!(
        p.both(
            "msgsnd size 0x8000_0000",
            i386::MSGSND,
            [q, msg, 0x8000_0000, 0, 0, 0]
        ),
        -abi::Errno::EINVAL.raw()
    );
    // The mtype pointer itself faults first.
    assert_eq!(
        p.both(
            "msgsnd unmapped msgp",
            i386::MSGSND,
            [q, 0x1000, 1, 0, 0, 0]
        ),
        -abi::Errno::EFAULT.raw()
    );

    // msgtyp 0xffff_fffd is -3: the lowest type <= 3, i.e. 2.
    p.clear(RCV, 64);
    let n = p.both(
        "msgrcv -3",
        i386::MSGRCV,
        [q, rcv, 64, 0xffff_fffd, NOWAIT, 0],
    );
    assert_eq!(n, 3);
    let got = p.same("msgrcv -3 buffer", RCV, 64, &[]);
    assert_eq!(u32_at(&got, 0), 2);
    assert_eq!(&got[4..7], b"two");

    // ipc(MSGRCV) version 0 reads a compat_ipc_kludge { msgp, msgtyp }: type 7.
    p.put(KLUDGE, &[rcv.to_ne_bytes(), 7u32.to_ne_bytes()].concat());
    p.clear(RCV, 64);
    let args = [call(ipc_call::MSGRCV, 0), q, 64, NOWAIT, kl, 0];
    assert_eq!(p.both("ipc MSGRCV v0", IPC, args), 5);
    p.same("ipc MSGRCV v0 buffer", RCV, 64, &[]);

    // Version 1 takes msgp and msgtyp from ptr and fifth; MSG_NOERROR truncates, without
    // it a short buffer is E2BIG and the message stays.
    let args = [call(ipc_call::MSGRCV, 1), q, 2, NOWAIT, rcv, 0];
    assert_eq!(
        p.both("ipc MSGRCV v1 short", IPC, args),
        -abi::Errno::E2BIG.raw()
    );
    p.clear(RCV, 64);
    let flags = NOWAIT | abi::MSG_NOERROR as u32;
    let args = [call(ipc_call::MSGRCV, 1), q, 2, flags, rcv, 0];
    assert_eq!(p.both("ipc MSGRCV v1 MSG_NOERROR", IPC, args), 2);
    p.same("ipc MSGRCV v1 truncated", RCV, 64, &[]);

    // MSG_EXCEPT with type 3: the oldest message of another type (none left but 3).
    let flags = NOWAIT | abi::MSG_EXCEPT as u32;
    assert_eq!(
        p.both("msgrcv except 3", i386::MSGRCV, [q, rcv, 64, 3, flags, 0]),
        -abi::Errno::ENOMSG.raw()
    );
    // compat_ksys_ipc's own checks: a negative id or size, a null kludge.
    for (what, first, second, ptr) in [
        ("negative id", u32::MAX, 64, kl),
        ("negative size", q, u32::MAX, kl),
        ("null kludge", q, 64, 0),
    ] {
        let args = [call(ipc_call::MSGRCV, 0), first, second, NOWAIT, ptr, 0];
        assert_eq!(p.both(what, IPC, args), -abi::Errno::EINVAL.raw(), "{what}");
    }
    let args = [call(ipc_call::MSGRCV, 0), q, 64, NOWAIT, 0x1000, 0];
    assert_eq!(
        p.both("unmapped kludge", IPC, args),
        -abi::Errno::EFAULT.raw()
    );
    assert_eq!(
        p.both("unknown ipc call", IPC, [call(99, 0), 0, 0, 0, 0, 0]),
        -abi::Errno::ENOSYS.raw()
    );

    // MSG_COPY: the message at an index, copied and left queued; the buffer is read first.
    p.clear(RCV, 64);
    let copy = NOWAIT | abi::MSG_COPY as u32;
    assert_eq!(
        p.both("msgrcv MSG_COPY 0", i386::MSGRCV, [q, rcv, 64, 0, copy, 0]),
        5
    );
    p.same("MSG_COPY buffer", RCV, 64, &[]);
    assert_eq!(
        p.both("msgrcv MSG_COPY 1", i386::MSGRCV, [q, rcv, 64, 1, copy, 0]),
        -abi::Errno::ENOMSG.raw()
    );
    assert_eq!(
        p.both(
            "msgrcv MSG_COPY unmapped",
            i386::MSGRCV,
            [q, 0x1000, 64, 0, copy, 0]
        ),
        -abi::Errno::EFAULT.raw()
    );
    assert_eq!(
        p.both(
            "msgrcv size -1",
            i386::MSGRCV,
            [q, rcv, u32::MAX, 0, NOWAIT, 0]
        ),
        -abi::Errno::EINVAL.raw()
    );
    // A fault on the copy-out loses the message, as on Linux.
    p.put(MSG, &msgbuf(4, b"lost"));
    p.both("msgsnd", i386::MSGSND, [q, msg, 4, 0, 0, 0]);
    p.clear(RCV, 64);
    assert_eq!(
        p.both("msgrcv 0", i386::MSGRCV, [q, rcv, 64, 0, NOWAIT, 0]),
        5
    );
    p.same("msgrcv 0 buffer", RCV, 64, &[]);
    assert_eq!(
        p.both(
            "msgrcv into unmapped",
            i386::MSGRCV,
            [q, 0x1000, 64, 0, NOWAIT, 0]
        ),
        -abi::Errno::EFAULT.raw()
    );
    assert_eq!(
        p.both(
            "msgrcv after the fault",
            i386::MSGRCV,
            [q, rcv, 64, 0, NOWAIT, 0]
        ),
        -abi::Errno::ENOMSG.raw()
    );
}

#[test]
fn compat_msgctl_gives_the_compat_64_and_the_old_layouts() {
    let Some(mut p) = Pair::new("compat_msgctl_gives_the_compat_64_and_the_old_layouts") else {
        return;
    };
    // A removed queue first (a stale id), then one whose id carries a sequence number:
    // index 5, sequence 3.
    let gone = p.both("msgget", i386::MSGGET, [0, 0o1600, 0, 0, 0, 0]) as u32;
    assert_eq!(p.both("rmid", i386::MSGCTL, [gone, 0, 0, 0, 0, 0]), 0);
    let next = 3 * abi::IPCMNI + 5;
    p.host
        .set_sysctl("msg_next_id", &next.to_string())
        .expect("msg_next_id sysctl");
    p.ns.set_msg_next_id(i64::from(next)).unwrap();
    let q = p.both("msgget", i386::MSGGET, [0, 0o1640, 0, 0, 0, 0]) as u32;
    assert_eq!(q as i32, next);
    let (msg, ds) = (p.at(MSG), p.at(DS));
    p.put(MSG, &msgbuf(9, b"abcdefgh"));
    p.both("msgsnd", i386::MSGSND, [q, msg, 8, 0, 0, 0]);

    let stat = abi::IPC_STAT as u32;
    p.clear(DS, 128);
    assert_eq!(
        p.both("direct IPC_STAT", i386::MSGCTL, [q, stat, ds, 0, 0, 0]),
        0
    );
    let b = p.same("direct IPC_STAT", DS, 128, MSQID64_TIMES);
    assert_eq!(
        (u32_at(&b, 60), u32_at(&b, 64), u32_at(&b, 68)),
        (8, 1, 16384)
    );

    // IPC_64 in the direct call's command: accepted, and IPC_STAT then returns the id.
    p.clear(DS, 128);
    let r = p.both(
        "direct IPC_STAT|IPC_64",
        i386::MSGCTL,
        [q, stat | IPC64, ds, 0, 0, 0],
    );
    assert_eq!(r, q as i32);
    p.same("direct IPC_STAT|IPC_64", DS, 128, MSQID64_TIMES);

    // Through ipc(2) without IPC_64: the old msqid_ds.
    p.clear(DS, 128);
    let args = [call(ipc_call::MSGCTL, 0), q, stat, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_STAT old", IPC, args), 0);
    let b = p.same("ipc IPC_STAT old", DS, 128, MSQID_OLD_TIMES);
    assert_eq!((u16_at(&b, 44), u16_at(&b, 48)), (8, 16384));
    assert_eq!(
        (u32_at(&b, 36), u32_at(&b, 40)),
        (0, 0),
        "msg_lcbytes, msg_lqbytes"
    );
    p.clear(DS, 128);
    let args = [call(ipc_call::MSGCTL, 0), q, stat | IPC64, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_STAT|IPC_64", IPC, args), 0);
    p.same("ipc IPC_STAT|IPC_64", DS, 128, MSQID64_TIMES);

    // MSG_STAT (by index) and MSG_STAT_ANY, old and 64.
    for cmd in [abi::MSG_STAT, abi::MSG_STAT_ANY] {
        for v in [0, IPC64] {
            p.clear(DS, 128);
            let args = [call(ipc_call::MSGCTL, 0), 5, cmd as u32 | v, 0, ds, 0];
            assert_eq!(p.both("ipc MSG_STAT", IPC, args), q as i32);
            let times = if v == 0 {
                MSQID_OLD_TIMES
            } else {
                MSQID64_TIMES
            };
            p.same("ipc MSG_STAT", DS, 128, times);
        }
    }
    // Direct MSG_STAT|IPC_64 looks up an id, not an index.
    p.clear(DS, 128);
    let cmd = abi::MSG_STAT as u32 | IPC64;
    assert_eq!(
        p.both(
            "direct MSG_STAT|IPC_64 index",
            i386::MSGCTL,
            [5, cmd, ds, 0, 0, 0]
        ),
        -abi::Errno::EINVAL.raw()
    );
    assert_eq!(
        p.both(
            "direct MSG_STAT|IPC_64 id",
            i386::MSGCTL,
            [q, cmd, ds, 0, 0, 0]
        ),
        q as i32
    );

    // IPC_INFO and MSG_INFO (one msginfo layout); MSG_INFO|IPC_64 on the direct call reports
    // the IPC_INFO figures.
    for (what, nr, args) in [
        (
            "direct IPC_INFO",
            i386::MSGCTL,
            [0, abi::IPC_INFO as u32, ds, 0, 0, 0],
        ),
        (
            "direct MSG_INFO",
            i386::MSGCTL,
            [0, abi::MSG_INFO as u32, ds, 0, 0, 0],
        ),
        (
            "direct MSG_INFO|IPC_64",
            i386::MSGCTL,
            [0, abi::MSG_INFO as u32 | IPC64, ds, 0, 0, 0],
        ),
        (
            "ipc MSG_INFO old",
            IPC,
            [call(ipc_call::MSGCTL, 0), 0, abi::MSG_INFO as u32, 0, ds, 0],
        ),
    ] {
        p.clear(DS, 64);
        assert_eq!(p.both(what, nr, args), 5, "{what}: highest index");
        p.same(what, DS, 64, &[]);
    }

    // IPC_SET from the old layout: 16-bit ids, mode, and the 16-bit msg_qbytes.
    let mut old = [0u8; 56];
    old[4..6].copy_from_slice(&0u16.to_ne_bytes());
    old[12..14].copy_from_slice(&0o600u16.to_ne_bytes());
    old[36..40].copy_from_slice(&9999u32.to_ne_bytes()); // msg_lqbytes: not read
    old[48..50].copy_from_slice(&1000u16.to_ne_bytes());
    p.put(DS, &old);
    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_SET as u32, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_SET old", IPC, args), 0);
    p.clear(DS, 128);
    p.both("direct IPC_STAT", i386::MSGCTL, [q, stat, ds, 0, 0, 0]);
    let b = p.same("after IPC_SET old", DS, 128, MSQID64_TIMES);
    assert_eq!((u16_at(&b, 20), u32_at(&b, 68)), (0o600, 1000));

    // IPC_SET from the compat 64 layout: msg_qbytes is the 32-bit word at 68.
    let mut new = [0u8; 88];
    new[20..22].copy_from_slice(&0o644u16.to_ne_bytes());
    new[68..72].copy_from_slice(&2000u32.to_ne_bytes());
    p.put(DS, &new);
    assert_eq!(
        p.both(
            "direct IPC_SET",
            i386::MSGCTL,
            [q, abi::IPC_SET as u32, ds, 0, 0, 0]
        ),
        0
    );
    p.clear(DS, 128);
    p.both("direct IPC_STAT", i386::MSGCTL, [q, stat, ds, 0, 0, 0]);
    let b = p.same("after IPC_SET 64", DS, 128, MSQID64_TIMES);
    assert_eq!((u16_at(&b, 20), u32_at(&b, 68)), (0o644, 2000));

    // IPC_SET and IPC_RMID with IPC_64 on the direct call: refused after the lookup and the
    // ownership check, nothing changed.
    p.put(DS, &new);
    let set64 = abi::IPC_SET as u32 | IPC64;
    let rmid64 = abi::IPC_RMID as u32 | IPC64;
    for (what, args) in [
        ("IPC_SET|IPC_64", [q, set64, ds, 0, 0, 0]),
        ("IPC_RMID|IPC_64", [q, rmid64, 0, 0, 0, 0]),
        ("IPC_RMID|IPC_64 stale id", [gone, rmid64, 0, 0, 0, 0]),
    ] {
        assert_eq!(
            p.both(what, i386::MSGCTL, args),
            -abi::Errno::EINVAL.raw(),
            "{what}"
        );
    }
    p.as_user = true;
    assert_eq!(
        p.both(
            "IPC_RMID|IPC_64 by a non-owner",
            i386::MSGCTL,
            [q, rmid64, 0, 0, 0, 0]
        ),
        -abi::Errno::EPERM.raw()
    );
    p.as_user = false;
    // Faults: the IPC_SET copy-in comes before the lookup; IPC_STAT copies out after.
    assert_eq!(
        p.both(
            "IPC_SET unmapped",
            i386::MSGCTL,
            [gone, abi::IPC_SET as u32, 0x1000, 0, 0, 0]
        ),
        -abi::Errno::EFAULT.raw()
    );
    assert_eq!(
        p.both(
            "IPC_STAT unmapped",
            i386::MSGCTL,
            [q, stat, 0x1000, 0, 0, 0]
        ),
        -abi::Errno::EFAULT.raw()
    );
    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_RMID as u32, 0, 0, 0];
    assert_eq!(p.both("ipc IPC_RMID", IPC, args), 0);
}

#[test]
fn compat_msgctl_old_stat_truncates_counters_to_u16_and_leaves_the_long_ones_zero() {
    let Some(mut p) = Pair::new("compat_msgctl_old_stat_truncates_counters_to_u16") else {
        return;
    };
    // A msg_qbytes above 65535, within msgmnb so no capability is needed.
    p.host
        .set_sysctl("msgmnb", "100000")
        .expect("msgmnb sysctl");
    p.ns.limits().set_msgmnb(100_000).unwrap();
    let q = p.both("msgget", i386::MSGGET, [0, 0o1600, 0, 0, 0, 0]) as u32;
    let ds = p.at(DS);
    let mut new = [0u8; 88];
    new[20..22].copy_from_slice(&0o600u16.to_ne_bytes());
    new[68..72].copy_from_slice(&70_000u32.to_ne_bytes());
    p.put(DS, &new);
    assert_eq!(
        p.both(
            "IPC_SET 70000",
            i386::MSGCTL,
            [q, abi::IPC_SET as u32, ds, 0, 0, 0]
        ),
        0
    );
    p.clear(DS, 64);
    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_STAT as u32, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_STAT old", IPC, args), 0);
    let b = p.same("old msqid_ds", DS, 64, MSQID_OLD_TIMES);
    assert_eq!(
        u16_at(&b, 48),
        (70_000 % 65_536) as u16,
        "msg_qbytes truncated"
    );
    assert_eq!(u32_at(&b, 40), 0, "msg_lqbytes left 0 by the compat copy");
    // IPC_SET from the old layout reads only the 16-bit msg_qbytes: 0 there is 0, whatever
    // msg_lqbytes says (the native old path would take msg_lqbytes).
    let mut old = [0u8; 56];
    old[12..14].copy_from_slice(&0o600u16.to_ne_bytes());
    old[40..44].copy_from_slice(&5000u32.to_ne_bytes());
    p.put(DS, &old);
    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_SET as u32, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_SET old qbytes 0", IPC, args), 0);
    p.clear(DS, 96);
    p.both(
        "IPC_STAT 64",
        i386::MSGCTL,
        [q, abi::IPC_STAT as u32, ds, 0, 0, 0],
    );
    let b = p.same("after IPC_SET qbytes 0", DS, 96, MSQID64_TIMES);
    assert_eq!(u32_at(&b, 68), 0, "msg_qbytes");
}

// ---- semaphores -----------------------------------------------------------------------------

#[test]
fn compat_semop_semtimedop_and_every_semctl_command_agree_with_linux() {
    let Some(mut p) = Pair::new("compat_semop_semtimedop_and_every_semctl_command") else {
        return;
    };
    let gone = p.both("semget", i386::SEMGET, [0, 1, 0o1600, 0, 0, 0]) as u32;
    p.both(
        "rmid",
        i386::SEMCTL,
        [gone, 0, abi::IPC_RMID as u32, 0, 0, 0],
    );
    let args = [call(ipc_call::SEMGET, 0), 0, 3, 0o1640, 0, 0];
    let s = p.both("ipc SEMGET", IPC, args) as u32;
    let (sops, ts, ds, semun, arr) = (p.at(SOPS), p.at(TS), p.at(DS), p.at(SEMUN), p.at(ARR));

    // semop through ipc(2); semtimedop with an old_timespec32 through ipc(2) and with a
    // 64-bit one through the direct call: a wait that cannot succeed times out (EAGAIN).
    p.put(SOPS, &[sembuf(0, 2, 0), sembuf(2, 1, 0)].concat());
    assert_eq!(
        p.both(
            "ipc SEMOP",
            IPC,
            [call(ipc_call::SEMOP, 0), s, 2, 0, sops, 0]
        ),
        0
    );
    p.put(SOPS, &sembuf(1, -1, 0));
    p.put(TS, &[0i32.to_ne_bytes(), 1000i32.to_ne_bytes()].concat());
    let args = [call(ipc_call::SEMTIMEDOP, 0), s, 1, 0, sops, ts];
    assert_eq!(
        p.both("ipc SEMTIMEDOP", IPC, args),
        -abi::Errno::EAGAIN.raw()
    );
    p.put(TS, &[0i32.to_ne_bytes(), (-1i32).to_ne_bytes()].concat());
    assert_eq!(
        p.both("ipc SEMTIMEDOP bad nsec", IPC, args),
        -abi::Errno::EINVAL.raw()
    );
    p.put(TS, &[0i64.to_ne_bytes(), 1000i64.to_ne_bytes()].concat());
    let args = [s, sops, 1, ts, 0, 0];
    assert_eq!(
        p.both("semtimedop_time64", i386::SEMTIMEDOP_TIME64, args),
        -abi::Errno::EAGAIN.raw()
    );
    p.put(SOPS, &sembuf(0, -1, 0));
    assert_eq!(
        p.both(
            "semtimedop_time64 ok",
            i386::SEMTIMEDOP_TIME64,
            [s, sops, 1, ts, 0, 0]
        ),
        0
    );
    let args = [call(ipc_call::SEMTIMEDOP, 0), s, 1, 0, sops, 0x1000];
    assert_eq!(
        p.both("ipc SEMTIMEDOP unmapped", IPC, args),
        -abi::Errno::EFAULT.raw()
    );
    for (what, nsops, ret) in [
        ("ipc SEMOP no operations", 0, abi::Errno::EINVAL),
        ("ipc SEMOP past semopm", 501, abi::Errno::E2BIG),
        ("ipc SEMOP nsops -1", u32::MAX, abi::Errno::E2BIG),
    ] {
        let args = [call(ipc_call::SEMOP, 0), s, nsops, 0, sops, 0];
        assert_eq!(p.both(what, IPC, args), -ret.raw(), "{what}");
    }
    let args = [call(ipc_call::SEMOP, 0), s, 1, 0, 0x1000, 0];
    assert_eq!(
        p.both("ipc SEMOP unmapped", IPC, args),
        -abi::Errno::EFAULT.raw()
    );

    // The direct semctl, every command, the 32-bit semun in the fourth register.
    for (cmd, num) in [
        (abi::GETVAL, 0),
        (abi::GETVAL, 2),
        (abi::GETPID, 0),
        (abi::GETNCNT, 1),
        (abi::GETZCNT, 1),
    ] {
        let r = p.both("semctl get", i386::SEMCTL, [s, num, cmd as u32, 0, 0, 0]);
        assert!(r >= 0, "semctl {cmd} {num}: {r}");
    }
    assert_eq!(
        p.both("SETVAL", i386::SEMCTL, [s, 1, abi::SETVAL as u32, 7, 0, 0]),
        0
    );
    p.clear(ARR, 16);
    assert_eq!(
        p.both(
            "GETALL",
            i386::SEMCTL,
            [s, 0, abi::GETALL as u32, arr, 0, 0]
        ),
        0
    );
    let b = p.same("GETALL", ARR, 16, &[]);
    assert_eq!((u16_at(&b, 0), u16_at(&b, 2), u16_at(&b, 4)), (1, 7, 1));
    p.put(
        ARR,
        &[4u16.to_ne_bytes(), 5u16.to_ne_bytes(), 6u16.to_ne_bytes()].concat(),
    );
    assert_eq!(
        p.both(
            "SETALL",
            i386::SEMCTL,
            [s, 0, abi::SETALL as u32, arr, 0, 0]
        ),
        0
    );
    for (what, cmd, id, ret) in [
        ("IPC_STAT", abi::IPC_STAT, s, 0),
        ("SEM_STAT", abi::SEM_STAT, 1, s as i32),
        ("SEM_STAT_ANY", abi::SEM_STAT_ANY, 1, s as i32),
        ("IPC_STAT|IPC_64", abi::IPC_STAT | abi::IPC_64, s, s as i32),
    ] {
        p.clear(DS, 96);
        assert_eq!(
            p.both(what, i386::SEMCTL, [id, 0, cmd as u32, ds, 0, 0]),
            ret,
            "{what}"
        );
        let b = p.same(what, DS, 96, SEMID64_TIMES);
        assert_eq!(u32_at(&b, 52), 3, "{what}: sem_nsems");
    }
    for (what, cmd) in [
        ("IPC_INFO", abi::IPC_INFO),
        ("SEM_INFO", abi::SEM_INFO),
        ("SEM_INFO|IPC_64", abi::SEM_INFO | abi::IPC_64),
    ] {
        p.clear(DS, 64);
        assert_eq!(
            p.both(what, i386::SEMCTL, [0, 0, cmd as u32, ds, 0, 0]),
            1,
            "{what}"
        );
        p.same(what, DS, 64, &[]);
    }
    // IPC_64 left in the command: SETVAL works, the other commands of semctl_main and
    // semctl_down fail after their lookup.
    let r = p.both(
        "SETVAL|IPC_64",
        i386::SEMCTL,
        [s, 0, abi::SETVAL as u32 | IPC64, 3, 0, 0],
    );
    assert_eq!(r, 0);
    for (what, cmd) in [
        ("GETVAL|IPC_64", abi::GETVAL),
        ("GETALL|IPC_64", abi::GETALL),
        ("SETALL|IPC_64", abi::SETALL),
        ("IPC_SET|IPC_64", abi::IPC_SET),
        ("IPC_RMID|IPC_64", abi::IPC_RMID),
    ] {
        let args = [s, 0, cmd as u32 | IPC64, arr, 0, 0];
        assert_eq!(
            p.both(what, i386::SEMCTL, args),
            -abi::Errno::EINVAL.raw(),
            "{what}"
        );
    }
    let args = [gone, 0, abi::GETVAL as u32 | IPC64, 0, 0, 0];
    assert_eq!(
        p.both("GETVAL|IPC_64 stale", i386::SEMCTL, args),
        -abi::Errno::EINVAL.raw()
    );
    // A caller without permission: EACCES before the EINVAL of GETVAL|IPC_64; a non-owner's
    // IPC_RMID|IPC_64 is EPERM.
    p.as_user = true;
    let args = [s, 0, abi::GETVAL as u32 | IPC64, 0, 0, 0];
    assert_eq!(
        p.both("GETVAL|IPC_64 as user", i386::SEMCTL, args),
        -abi::Errno::EACCES.raw()
    );
    let args = [s, 0, abi::IPC_RMID as u32 | IPC64, 0, 0, 0];
    assert_eq!(
        p.both("IPC_RMID|IPC_64 as user", i386::SEMCTL, args),
        -abi::Errno::EPERM.raw()
    );
    let args = [s, 0, abi::SEM_STAT_ANY as u32 | IPC64, ds, 0, 0];
    assert_eq!(
        p.both("SEM_STAT_ANY|IPC_64 as user", i386::SEMCTL, args),
        -abi::Errno::EACCES.raw()
    );
    p.as_user = false;

    // Through ipc(2): the semun read from *ptr as 32 bits; the old semid_ds without IPC_64.
    p.put(SEMUN, &ds.to_ne_bytes());
    p.clear(DS, 96);
    let args = [
        call(ipc_call::SEMCTL, 0),
        s,
        0,
        abi::IPC_STAT as u32,
        semun,
        0,
    ];
    assert_eq!(p.both("ipc SEMCTL IPC_STAT old", IPC, args), 0);
    let b = p.same("ipc SEMCTL IPC_STAT old", DS, 96, SEMID_OLD_TIMES);
    assert_eq!((u16_at(&b, 12), u16_at(&b, 40)), (0o640, 3));
    p.clear(DS, 96);
    let args = [
        call(ipc_call::SEMCTL, 0),
        s,
        0,
        abi::IPC_STAT as u32 | IPC64,
        semun,
        0,
    ];
    assert_eq!(p.both("ipc SEMCTL IPC_STAT 64", IPC, args), 0);
    p.same("ipc SEMCTL IPC_STAT 64", DS, 96, SEMID64_TIMES);
    p.put(SEMUN, &9u32.to_ne_bytes());
    let args = [
        call(ipc_call::SEMCTL, 0),
        s,
        2,
        abi::SETVAL as u32,
        semun,
        0,
    ];
    assert_eq!(p.both("ipc SEMCTL SETVAL", IPC, args), 0);
    let args = [call(ipc_call::SEMCTL, 0), s, 2, abi::GETVAL as u32, 0, 0];
    assert_eq!(
        p.both("ipc SEMCTL null ptr", IPC, args),
        -abi::Errno::EINVAL.raw()
    );

    // IPC_SET from the old layout (16-bit ids), then from the 64 one.
    let mut old = [0u8; 44];
    old[12..14].copy_from_slice(&0o604u16.to_ne_bytes());
    p.put(DS, &old);
    p.put(SEMUN, &ds.to_ne_bytes());
    let args = [
        call(ipc_call::SEMCTL, 0),
        s,
        0,
        abi::IPC_SET as u32,
        semun,
        0,
    ];
    assert_eq!(p.both("ipc SEMCTL IPC_SET old", IPC, args), 0);
    let mut new = [0u8; 64];
    new[20..22].copy_from_slice(&0o660u16.to_ne_bytes());
    p.put(DS, &new);
    assert_eq!(
        p.both(
            "IPC_SET 64",
            i386::SEMCTL,
            [s, 0, abi::IPC_SET as u32, ds, 0, 0]
        ),
        0
    );
    p.clear(DS, 96);
    p.both(
        "IPC_STAT",
        i386::SEMCTL,
        [s, 0, abi::IPC_STAT as u32, ds, 0, 0],
    );
    let b = p.same("after IPC_SET", DS, 96, SEMID64_TIMES);
    assert_eq!(u16_at(&b, 20), 0o660);
    assert_eq!(
        p.both(
            "IPC_RMID",
            i386::SEMCTL,
            [s, 0, abi::IPC_RMID as u32, 0, 0, 0]
        ),
        0
    );
}

// ---- shared memory --------------------------------------------------------------------------

#[test]
fn compat_shmat_shmdt_and_shmctl_agree_with_linux() {
    let Some(mut p) = Pair::new("compat_shmat_shmdt_and_shmctl_agree_with_linux") else {
        return;
    };
    let gone = p.both("shmget", i386::SHMGET, [0, 4096, 0o1600, 0, 0, 0]) as u32;
    p.both(
        "rmid",
        i386::SHMCTL,
        [gone, abi::IPC_RMID as u32, 0, 0, 0, 0],
    );
    let args = [call(ipc_call::SHMGET, 0), 0, 10_000, 0o1640, 0, 0];
    let h = p.both("ipc SHMGET", IPC, args) as u32;
    let (ds, out) = (p.at(DS), p.at(OUT));

    // ipc(SHMAT) version 1 is the old iBCS2 entry: EINVAL.
    let args = [call(ipc_call::SHMAT, 1), h, 0, out, 0, 0];
    assert_eq!(p.both("ipc SHMAT v1", IPC, args), -abi::Errno::EINVAL.raw());
    // Version 0 stores the address, 32 bits, at *third and returns 0.
    p.clear(OUT, 8);
    let args = [
        call(ipc_call::SHMAT, 0),
        h,
        abi::SHM_RDONLY as u32,
        out,
        0,
        0,
    ];
    assert_eq!(p.both("ipc SHMAT", IPC, args), 0);
    let host_addr = u32_at(&p.low.read(OUT, 8), 0);
    let emu = p.memory.bytes(u64::from(out), 8).unwrap();
    let emu_addr = u32_at(&emu, 0);
    for (side, addr, rest) in [
        ("Linux", host_addr, p.low.read(OUT + 4, 4)),
        ("emulation", emu_addr, emu[4..].to_vec()),
    ] {
        assert!(addr != 0 && addr % 4096 == 0, "{side}: {addr:#x}");
        assert_eq!(rest, [0xaa; 4], "{side}: only 4 bytes stored");
    }
    // The direct shmat returns the address.
    let (host_direct, emu_direct) =
        p.run_split(i386::SHMAT, [h, 0, 0, 0, 0, 0], [h, 0, 0, 0, 0, 0]);
    for addr in [host_direct as u32, emu_direct as u32] {
        assert!(addr != 0 && addr % 4096 == 0, "{addr:#x}");
    }

    p.clear(DS, 96);
    assert_eq!(
        p.both(
            "IPC_STAT",
            i386::SHMCTL,
            [h, abi::IPC_STAT as u32, ds, 0, 0, 0]
        ),
        0
    );
    let b = p.same("IPC_STAT", DS, 96, SHMID64_TIMES);
    assert_eq!(
        (u32_at(&b, 36), u32_at(&b, 72)),
        (10_000, 2),
        "segsz, nattch"
    );
    for (what, cmd) in [
        ("IPC_STAT|IPC_64", abi::IPC_STAT),
        ("IPC_INFO|IPC_64", abi::IPC_INFO),
    ] {
        let args = [h, cmd as u32 | IPC64, ds, 0, 0, 0];
        assert_eq!(
            p.both(what, i386::SHMCTL, args),
            -abi::Errno::EINVAL.raw(),
            "{what}"
        );
    }
    for (what, v, times) in [("old", 0, SHMID_OLD_TIMES), ("64", IPC64, SHMID64_TIMES)] {
        p.clear(DS, 96);
        let args = [
            call(ipc_call::SHMCTL, 0),
            h,
            abi::IPC_STAT as u32 | v,
            0,
            ds,
            0,
        ];
        assert_eq!(p.both(what, IPC, args), 0, "ipc SHMCTL IPC_STAT {what}");
        p.same(what, DS, 96, times);
        p.clear(DS, 96);
        let args = [
            call(ipc_call::SHMCTL, 0),
            1,
            abi::SHM_STAT as u32 | v,
            0,
            ds,
            0,
        ];
        assert_eq!(
            p.both(what, IPC, args),
            h as i32,
            "ipc SHMCTL SHM_STAT {what}"
        );
        p.same(what, DS, 96, times);
        p.clear(DS, 96);
        let args = [
            call(ipc_call::SHMCTL, 0),
            0,
            abi::IPC_INFO as u32 | v,
            0,
            ds,
            0,
        ];
        assert_eq!(p.both(what, IPC, args), 1, "ipc SHMCTL IPC_INFO {what}");
        let b = p.same(what, DS, 96, &[]);
        assert_eq!(
            u32_at(&b, 0),
            i32::MAX as u32,
            "shmmax capped at INT_MAX ({what})"
        );
        p.clear(DS, 96);
        let args = [
            call(ipc_call::SHMCTL, 0),
            0,
            abi::SHM_INFO as u32 | v,
            0,
            ds,
            0,
        ];
        assert_eq!(p.both(what, IPC, args), 1, "ipc SHMCTL SHM_INFO {what}");
        let b = p.same(what, DS, 96, &[]);
        assert_eq!(
            (u32_at(&b, 0), u32_at(&b, 4)),
            (1, 3),
            "used_ids, shm_tot ({what})"
        );
    }

    // IPC_SET, old and 64.
    let mut old = [0u8; 48];
    old[12..14].copy_from_slice(&0o604u16.to_ne_bytes());
    p.put(DS, &old);
    let args = [call(ipc_call::SHMCTL, 0), h, abi::IPC_SET as u32, 0, ds, 0];
    assert_eq!(p.both("ipc SHMCTL IPC_SET old", IPC, args), 0);
    let mut new = [0u8; 84];
    new[20..22].copy_from_slice(&0o660u16.to_ne_bytes());
    p.put(DS, &new);
    assert_eq!(
        p.both(
            "IPC_SET 64",
            i386::SHMCTL,
            [h, abi::IPC_SET as u32, ds, 0, 0, 0]
        ),
        0
    );

    // Detach: ipc(SHMDT) for the first, the direct shmdt for the second, each side its own
    // address; then IPC_RMID.
    let args = |addr: u32| [call(ipc_call::SHMDT, 0), 0, 0, 0, addr, 0];
    let (a, b) = p.run_split(IPC, args(host_addr), args(emu_addr));
    assert_eq!((a, b), (0, 0), "ipc SHMDT");
    let (a, b) = p.run_split(
        i386::SHMDT,
        [host_direct as u32, 0, 0, 0, 0, 0],
        [emu_direct as u32, 0, 0, 0, 0, 0],
    );
    assert_eq!((a, b), (0, 0), "shmdt");
    assert_eq!(
        p.both("shmdt again", i386::SHMDT, [0x1000_0000, 0, 0, 0, 0, 0]),
        -abi::Errno::EINVAL.raw()
    );
    p.clear(DS, 96);
    p.both(
        "IPC_STAT",
        i386::SHMCTL,
        [h, abi::IPC_STAT as u32, ds, 0, 0, 0],
    );
    let b = p.same("after detaching", DS, 96, SHMID64_TIMES);
    assert_eq!((u16_at(&b, 20), u32_at(&b, 72)), (0o660, 0));
    assert_eq!(
        p.both(
            "IPC_RMID",
            i386::SHMCTL,
            [h, abi::IPC_RMID as u32, 0, 0, 0, 0]
        ),
        0
    );
}

#[test]
fn compat_msgrcv_truncates_a_64_bit_type_to_32_bits() {
    let Some(mut p) = Pair::new("compat_msgrcv_truncates_a_64_bit_type_to_32_bits") else {
        return;
    };
    let q = p.both("msgget", i386::MSGGET, [0, 0o1600, 0, 0, 0, 0]) as u32;
    // A 64-bit task sends type 2^32 + 5.
    let mtype = (1i64 << 32) + 5;
    let root_host = p.root_host.clone();
    p.host
        .msgsnd(&root_host, q as i32, mtype, b"wide", 0)
        .expect("host msgsnd");
    p.ns.msgsnd(
        &p.root,
        q as i32,
        sysvipc::Message::new(mtype, &b"wide"[..]),
        0,
    )
    .expect("emulation msgsnd");
    let rcv = p.at(RCV);
    // The selector 5 (a 32-bit long) does not match it; type 0 does, and the type written
    // back is its low 32 bits.
    assert_eq!(
        p.both("msgrcv 5", i386::MSGRCV, [q, rcv, 64, 5, NOWAIT, 0]),
        -abi::Errno::ENOMSG.raw()
    );
    p.clear(RCV, 16);
    assert_eq!(
        p.both("msgrcv 0", i386::MSGRCV, [q, rcv, 64, 0, NOWAIT, 0]),
        4
    );
    let b = p.same("received", RCV, 16, &[]);
    assert_eq!(u32_at(&b, 0), 5);
}

#[test]
fn compat_old_ipc_perm_shows_ids_above_65535_as_the_overflow_id() {
    let Some(mut p) = Pair::new("compat_old_ipc_perm_shows_ids_above_65535") else {
        return;
    };
    // Created by uid 70000: the old structure cannot hold it.
    p.user_host = HostCaller::user(70_000, 70_000);
    p.user = Caller::new(
        Credentials::user(70_000, 70_000),
        std::process::id() as i32,
        Arc::new(ThreadBlocker::new()),
    );
    p.as_user = true;
    let q = p.both("msgget as 70000", i386::MSGGET, [0, 0o1666, 0, 0, 0, 0]) as u32;
    let ds = p.at(DS);
    p.clear(DS, 64);
    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_STAT as u32, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_STAT old", IPC, args), 0);
    let b = p.same("old ipc_perm", DS, 64, MSQID_OLD_TIMES);
    assert_eq!(
        (u16_at(&b, 4), u16_at(&b, 8)),
        (65_534, 65_534),
        "uid, cuid"
    );
    p.clear(DS, 96);
    assert_eq!(
        p.both(
            "IPC_STAT 64",
            i386::MSGCTL,
            [q, abi::IPC_STAT as u32, ds, 0, 0, 0]
        ),
        0
    );
    let b = p.same("compat ipc64_perm", DS, 96, MSQID64_TIMES);
    assert_eq!(u32_at(&b, 4), 70_000);
    // IPC_SET from the old layout takes 65535 as 65535 (zero-extended), not as -1.
    p.as_user = false;
    let mut old = [0u8; 56];
    old[4..6].copy_from_slice(&65_535u16.to_ne_bytes());
    old[6..8].copy_from_slice(&65_535u16.to_ne_bytes());
    old[12..14].copy_from_slice(&0o600u16.to_ne_bytes());
    old[48..50].copy_from_slice(&100u16.to_ne_bytes());
    p.put(DS, &old);
    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_SET as u32, 0, ds, 0];
    assert_eq!(p.both("ipc IPC_SET old uid 65535", IPC, args), 0);
    p.clear(DS, 96);
    p.both(
        "IPC_STAT 64",
        i386::MSGCTL,
        [q, abi::IPC_STAT as u32, ds, 0, 0, 0],
    );
    let b = p.same("after IPC_SET", DS, 96, MSQID64_TIMES);
    assert_eq!((u32_at(&b, 4), u32_at(&b, 8)), (65_535, 65_535));
}

#[test]
fn compat_shm_lock_and_unlock_pass_through_both_entry_points() {
    let Some(mut p) = Pair::new("compat_shm_lock_and_unlock_pass_through") else {
        return;
    };
    let h = p.both("shmget", i386::SHMGET, [0, 4096, 0o1600, 0, 0, 0]) as u32;
    let ds = p.at(DS);
    assert_eq!(
        p.both(
            "SHM_LOCK",
            i386::SHMCTL,
            [h, abi::SHM_LOCK as u32, 0, 0, 0, 0]
        ),
        0
    );
    p.clear(DS, 96);
    let args = [call(ipc_call::SHMCTL, 0), h, abi::IPC_STAT as u32, 0, ds, 0];
    p.both("ipc IPC_STAT old", IPC, args);
    let b = p.same("locked", DS, 96, SHMID_OLD_TIMES);
    assert_eq!(
        u16_at(&b, 12) & abi::SHM_LOCKED as u16,
        abi::SHM_LOCKED as u16
    );
    let args = [
        call(ipc_call::SHMCTL, 0),
        h,
        abi::SHM_UNLOCK as u32,
        0,
        0,
        0,
    ];
    assert_eq!(p.both("ipc SHM_UNLOCK", IPC, args), 0);
    let args = [h, abi::SHM_LOCK as u32 | IPC64, 0, 0, 0, 0];
    assert_eq!(
        p.both("SHM_LOCK|IPC_64", i386::SHMCTL, args),
        -abi::Errno::EINVAL.raw()
    );
    // A 3 GiB segment: shm_segsz is a u32 in the compat 64 layout and an int (negative) in
    // the old one.
    let big = p.both(
        "shmget 3 GiB",
        i386::SHMGET,
        [0, 0xc000_0000, 0o1600, 0, 0, 0],
    ) as u32;
    p.clear(DS, 96);
    let args = [
        call(ipc_call::SHMCTL, 0),
        big,
        abi::IPC_STAT as u32,
        0,
        ds,
        0,
    ];
    assert_eq!(p.both("ipc IPC_STAT old 3 GiB", IPC, args), 0);
    let b = p.same("old shmid_ds 3 GiB", DS, 96, SHMID_OLD_TIMES);
    assert_eq!(u32_at(&b, 16) as i32, 0xc000_0000u32 as i32);
    p.clear(DS, 96);
    let args = [big, abi::IPC_STAT as u32, ds, 0, 0, 0];
    assert_eq!(p.both("IPC_STAT 64 3 GiB", i386::SHMCTL, args), 0);
    let b = p.same("compat shmid64_ds 3 GiB", DS, 96, SHMID64_TIMES);
    assert_eq!(u32_at(&b, 36), 0xc000_0000);
    p.both(
        "rmid 3 GiB",
        i386::SHMCTL,
        [big, abi::IPC_RMID as u32, 0, 0, 0, 0],
    );
    // shmget's size is a zero-extended register through the direct call and through ipc(2).
    let args = [0, 0xffff_f000, 0o1600, 0, 0, 0];
    p.both("shmget 4 GiB - 4 KiB", i386::SHMGET, args);
    let args = [call(ipc_call::SHMGET, 0), 0, 0xffff_f000, 0o1600, 0, 0];
    p.both("ipc SHMGET 4 GiB - 4 KiB", IPC, args);
}

// ---- random sequences -----------------------------------------------------------------------

/// xorshift64*: a fixed, seeded sequence, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u32 {
        (self.next() % n) as u32
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// How one random ctl call is compared: its layout's length and time fields.
fn layout(
    stat: bool,
    ipc64: bool,
    len64: usize,
    len_old: usize,
    t64: &'static [usize],
    t_old: &'static [usize],
) -> (usize, &'static [usize]) {
    match (stat, ipc64) {
        (true, true) => (len64, t64),
        (true, false) => (len_old, t_old),
        (false, _) => (96, &[]),
    }
}

#[test]
fn compat_random_calls_agree_with_linux() {
    let Some(mut p) = Pair::new("compat_random_calls_agree_with_linux") else {
        return;
    };
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let queues: Vec<u32> = (0..3)
        .map(|_| p.both("msgget", i386::MSGGET, [0, 0o1600, 0, 0, 0, 0]) as u32)
        .collect();
    let sets: Vec<u32> = (0..2)
        .map(|_| p.both("semget", i386::SEMGET, [0, 3, 0o1600, 0, 0, 0]) as u32)
        .collect();
    let seg = p.both("shmget", i386::SHMGET, [0, 5000, 0o1600, 0, 0, 0]) as u32;
    let (msg, rcv, ds, kl, sops, ts, semun, arr) = (
        p.at(MSG),
        p.at(RCV),
        p.at(DS),
        p.at(KLUDGE),
        p.at(SOPS),
        p.at(TS),
        p.at(SEMUN),
        p.at(ARR),
    );
    let bogus = 12_345u32;
    for step in 0..3000 {
        let what = format!("step {step}");
        let q = if rng.below(20) == 0 {
            bogus
        } else {
            rng.pick(&queues)
        };
        let s = if rng.below(20) == 0 {
            bogus
        } else {
            rng.pick(&sets)
        };
        let via_ipc = rng.below(2) == 0;
        match rng.below(7) {
            0 => {
                let mtype = rng.pick(&[1u32, 2, 3, 4, 5, 0, u32::MAX, 0x7fff_ffff]);
                let len = rng.below(48);
                let text: Vec<u8> = (0..len).map(|i| (i as u8) ^ (step as u8)).collect();
                p.put(MSG, &msgbuf(mtype, &text));
                let args = if via_ipc {
                    (IPC, [call(ipc_call::MSGSND, 0), q, len, NOWAIT, msg, 0])
                } else {
                    (i386::MSGSND, [q, msg, len, NOWAIT, 0, 0])
                };
                p.both(&what, args.0, args.1);
            }
            1 => {
                let msgtyp = (rng.below(13) as i32 - 6) as u32;
                let size = rng.below(48);
                let mut flags = NOWAIT;
                if rng.below(3) == 0 {
                    flags |= abi::MSG_NOERROR as u32;
                }
                if rng.below(4) == 0 {
                    flags |= abi::MSG_EXCEPT as u32;
                }
                p.clear(RCV, 64);
                let args = match (via_ipc, rng.below(2)) {
                    (true, 0) => {
                        p.put(KLUDGE, &[rcv.to_ne_bytes(), msgtyp.to_ne_bytes()].concat());
                        (IPC, [call(ipc_call::MSGRCV, 0), q, size, flags, kl, 0])
                    }
                    (true, _) => (
                        IPC,
                        [call(ipc_call::MSGRCV, 1), q, size, flags, rcv, msgtyp],
                    ),
                    (false, _) => (i386::MSGRCV, [q, rcv, size, msgtyp, flags, 0]),
                };
                p.both(&what, args.0, args.1);
                p.same(&what, RCV, 64, &[]);
            }
            2 => {
                let cmd = rng.pick(&[
                    abi::IPC_STAT,
                    abi::MSG_STAT,
                    abi::MSG_STAT_ANY,
                    abi::IPC_INFO,
                    abi::MSG_INFO,
                ]);
                let ipc64 = rng.below(2) == 0;
                let id = if cmd == abi::MSG_STAT || cmd == abi::MSG_STAT_ANY {
                    rng.below(4)
                } else {
                    q
                };
                let raw = cmd as u32 | if ipc64 { IPC64 } else { 0 };
                p.clear(DS, 96);
                let stat = !matches!(cmd, abi::IPC_INFO | abi::MSG_INFO);
                let (len, times) = if via_ipc {
                    p.both(&what, IPC, [call(ipc_call::MSGCTL, 0), id, raw, 0, ds, 0]);
                    layout(stat, ipc64, 88, 56, MSQID64_TIMES, MSQID_OLD_TIMES)
                } else {
                    p.both(&what, i386::MSGCTL, [id, raw, ds, 0, 0, 0]);
                    layout(stat, true, 88, 56, MSQID64_TIMES, MSQID_OLD_TIMES)
                };
                p.same(&what, DS, len, times);
            }
            3 => {
                let n = 1 + rng.below(2) as usize;
                let ops: Vec<u8> = (0..n)
                    .flat_map(|_| {
                        let num = rng.below(4) as u16;
                        let op = rng.below(5) as i16 - 2;
                        let flg = if rng.below(4) == 0 {
                            abi::SEM_UNDO as i16
                        } else {
                            0
                        };
                        sembuf(num, op, flg | abi::IPC_NOWAIT as i16)
                    })
                    .collect();
                p.put(SOPS, &ops);
                p.put(TS, &[0i64.to_ne_bytes(), 1000i64.to_ne_bytes()].concat());
                let args = match rng.below(3) {
                    0 => (IPC, [call(ipc_call::SEMOP, 0), s, n as u32, 0, sops, 0]),
                    1 => {
                        p.put(TS, &[0i32.to_ne_bytes(), 1000i32.to_ne_bytes()].concat());
                        (
                            IPC,
                            [call(ipc_call::SEMTIMEDOP, 0), s, n as u32, 0, sops, ts],
                        )
                    }
                    _ => (i386::SEMTIMEDOP_TIME64, [s, sops, n as u32, ts, 0, 0]),
                };
                p.both(&what, args.0, args.1);
            }
            4 => {
                let cmd = rng.pick(&[
                    abi::GETVAL,
                    abi::GETPID,
                    abi::GETNCNT,
                    abi::GETZCNT,
                    abi::GETALL,
                    abi::SETVAL,
                    abi::SETALL,
                    abi::IPC_STAT,
                    abi::SEM_STAT,
                    abi::IPC_INFO,
                    abi::SEM_INFO,
                ]);
                let num = rng.below(4);
                let ipc64 = rng.below(2) == 0;
                let id = if cmd == abi::SEM_STAT {
                    rng.below(3)
                } else {
                    s
                };
                let vals: Vec<u8> = (0..3)
                    .flat_map(|_| (rng.below(4) as u16).to_ne_bytes())
                    .collect();
                p.put(ARR, &vals);
                p.clear(DS, 96);
                let target = match cmd {
                    abi::GETALL | abi::SETALL => arr,
                    abi::SETVAL => rng.below(4),
                    _ => ds,
                };
                let stat = matches!(cmd, abi::IPC_STAT | abi::SEM_STAT);
                let raw = cmd as u32 | if ipc64 && via_ipc { IPC64 } else { 0 };
                let (len, times) = if via_ipc {
                    p.put(SEMUN, &target.to_ne_bytes());
                    p.both(
                        &what,
                        IPC,
                        [call(ipc_call::SEMCTL, 0), id, num, raw, semun, 0],
                    );
                    layout(stat, ipc64, 64, 44, SEMID64_TIMES, SEMID_OLD_TIMES)
                } else {
                    p.both(&what, i386::SEMCTL, [id, num, raw, target, 0, 0]);
                    layout(stat, true, 64, 44, SEMID64_TIMES, SEMID_OLD_TIMES)
                };
                p.same(&what, DS, len, times);
                p.same(&what, ARR, 6, &[]);
            }
            5 => {
                let cmd = rng.pick(&[abi::IPC_STAT, abi::SHM_STAT, abi::IPC_INFO, abi::SHM_INFO]);
                let ipc64 = rng.below(2) == 0;
                let id = if cmd == abi::SHM_STAT {
                    rng.below(2)
                } else {
                    seg
                };
                let raw = cmd as u32 | if ipc64 && via_ipc { IPC64 } else { 0 };
                p.clear(DS, 96);
                let stat = matches!(cmd, abi::IPC_STAT | abi::SHM_STAT);
                let (len, times) = if via_ipc {
                    p.both(&what, IPC, [call(ipc_call::SHMCTL, 0), id, raw, 0, ds, 0]);
                    layout(stat, ipc64, 84, 48, SHMID64_TIMES, SHMID_OLD_TIMES)
                } else {
                    p.both(&what, i386::SHMCTL, [id, raw, ds, 0, 0, 0]);
                    layout(stat, true, 84, 48, SHMID64_TIMES, SHMID_OLD_TIMES)
                };
                p.same(&what, DS, len, times);
            }
            _ => {
                // IPC_SET of a queue's mode and msg_qbytes, old or 64.
                let mode = rng.pick(&[0o600u16, 0o644, 0o400]);
                let qbytes = rng.pick(&[0u32, 10, 100, 16384]);
                if via_ipc && rng.below(2) == 0 {
                    let mut old = [0u8; 56];
                    old[12..14].copy_from_slice(&mode.to_ne_bytes());
                    old[48..50].copy_from_slice(&(qbytes as u16).to_ne_bytes());
                    p.put(DS, &old);
                    let args = [call(ipc_call::MSGCTL, 0), q, abi::IPC_SET as u32, 0, ds, 0];
                    p.both(&what, IPC, args);
                } else {
                    let mut new = [0u8; 88];
                    new[20..22].copy_from_slice(&mode.to_ne_bytes());
                    new[68..72].copy_from_slice(&qbytes.to_ne_bytes());
                    p.put(DS, &new);
                    p.both(&what, i386::MSGCTL, [q, abi::IPC_SET as u32, ds, 0, 0, 0]);
                }
            }
        }
    }
}

#[test]
fn compat_fixed_shmat_rounds_with_shm_rnd_and_stores_the_same_address() {
    let Some(mut p) = Pair::new("compat_fixed_shmat_rounds_with_shm_rnd") else {
        return;
    };
    // A reservation below 4 GiB whose pages the fixed attach may replace (SHM_REMAP): the
    // host maps over it, the emulation's table has nothing there.
    let reserve = LowMemory::new(0x10000).expect("reservation below 4 GiB");
    let base = reserve.at(0);
    let h = p.both("shmget", i386::SHMGET, [0, 4096, 0o1600, 0, 0, 0]) as u32;
    let out = p.at(OUT);
    let rnd_remap = (abi::SHM_RND | abi::SHM_REMAP) as u32;
    // Not page-aligned without SHM_RND: EINVAL; with it, rounded down.
    let args = [
        call(ipc_call::SHMAT, 0),
        h,
        abi::SHM_REMAP as u32,
        out,
        base + 0x1234,
        0,
    ];
    assert_eq!(
        p.both("fixed unaligned", IPC, args),
        -abi::Errno::EINVAL.raw()
    );
    p.clear(OUT, 8);
    let args = [
        call(ipc_call::SHMAT, 0),
        h,
        rnd_remap,
        out,
        base + 0x1234,
        0,
    ];
    assert_eq!(p.both("fixed SHM_RND", IPC, args), 0);
    let b = p.same("stored address", OUT, 8, &[]);
    assert_eq!(u32_at(&b, 0), base + 0x1000);
    // SHM_RND rounding down to 0 with SHM_REMAP: EINVAL; a null address with SHM_REMAP too.
    let args = [call(ipc_call::SHMAT, 0), h, rnd_remap, out, 0x0800, 0];
    assert_eq!(p.both("SHM_RND to 0", IPC, args), -abi::Errno::EINVAL.raw());
    let args = [h, 0, abi::SHM_REMAP as u32, 0, 0, 0];
    assert_eq!(
        p.both("null SHM_REMAP", i386::SHMAT, args),
        -abi::Errno::EINVAL.raw()
    );
    let ds = p.at(DS);
    p.clear(DS, 96);
    p.both(
        "IPC_STAT",
        i386::SHMCTL,
        [h, abi::IPC_STAT as u32, ds, 0, 0, 0],
    );
    let b = p.same("attached once", DS, 96, SHMID64_TIMES);
    assert_eq!(u32_at(&b, 72), 1);
    assert_eq!(
        p.both("shmdt", i386::SHMDT, [base + 0x1000, 0, 0, 0, 0, 0]),
        0
    );
    assert_eq!(
        p.both(
            "IPC_RMID",
            i386::SHMCTL,
            [h, abi::IPC_RMID as u32, 0, 0, 0, 0]
        ),
        0
    );
    drop(reserve);
}
