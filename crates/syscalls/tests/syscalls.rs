//! The syscall layer: argument decoding and the place of every copy in Linux's check order,
//! each pinned by a test named for it (the orders were observed on Linux 6.18 with raw
//! syscalls in a private IPC namespace).

use std::sync::Arc;

use sysvipc::abi::{self, Errno};
use sysvipc::{AttachTable, Caller, Credentials, IpcNamespace, ThreadBlocker};
use sysvipc_syscalls::{
    Arch, HeapUserMemory, Task, UserMemory, compat_ipc, compat_shmat, ipc, msgctl, msgget, msgrcv,
    msgsnd, semctl, semget, semop, semtimedop, shmat, shmctl, shmdt, shmget, syscall,
};

const BUF: u64 = 0x10_0000;
const BAD: u64 = 0xdead_0000;

struct World {
    ns: IpcNamespace,
    caller: Caller,
    memory: HeapUserMemory,
    space: AttachTable,
}

impl World {
    fn new() -> Self {
        let memory = HeapUserMemory::new();
        memory.map(BUF, 1 << 16);
        Self {
            ns: IpcNamespace::new(),
            caller: Caller::new(Credentials::root(), 100, Arc::new(ThreadBlocker::new())),
            memory,
            space: AttachTable::new(100),
        }
    }

    fn task(&mut self) -> (&IpcNamespace, Task<'_>) {
        (
            &self.ns,
            Task::new(&self.caller, &self.memory, &mut self.space),
        )
    }

    /// Writes a `msgbuf` (type, then text) at `addr`.
    fn msgbuf(&self, addr: u64, mtype: i64, text: &[u8]) {
        self.memory.write(addr, &mtype.to_ne_bytes()).unwrap();
        self.memory.write(addr + 8, text).unwrap();
    }

    fn queue(&mut self) -> i32 {
        let (ns, mut t) = self.task();
        msgget(ns, &mut t, 0, 0o1600).unwrap() as i32
    }
}

fn sembuf(num: u16, op: i16, flg: i16) -> Vec<u8> {
    [num.to_ne_bytes(), op.to_ne_bytes(), flg.to_ne_bytes()].concat()
}

// ---- msgsnd / msgrcv ----

#[test]
fn msgsnd_reads_the_type_before_any_other_check() {
    let mut w = World::new();
    let (ns, mut t) = w.task();
    assert_eq!(msgsnd(ns, &mut t, -1, BAD, 10, 0), Err(Errno::EFAULT));
}

#[test]
fn msgsnd_size_id_and_type_are_einval_before_the_text_is_read() {
    let mut w = World::new();
    let top = BUF + (1 << 16) - 8;
    w.msgbuf(top, 1, b"");
    let (ns, mut t) = w.task();
    assert_eq!(
        msgsnd(ns, &mut t, 0, top, 8193, 0),
        Err(Errno::EINVAL),
        "above msgmax"
    );
    assert_eq!(
        msgsnd(ns, &mut t, 0, top, u64::MAX, 0),
        Err(Errno::EINVAL),
        "negative long"
    );
    assert_eq!(msgsnd(ns, &mut t, -1, top, 10, 0), Err(Errno::EINVAL));
    w.msgbuf(top, 0, b"");
    let (ns, mut t) = w.task();
    assert_eq!(
        msgsnd(ns, &mut t, 0, top, 10, 0),
        Err(Errno::EINVAL),
        "type 0"
    );
}

#[test]
fn msgsnd_text_is_read_before_the_lookup() {
    let mut w = World::new();
    let top = BUF + (1 << 16) - 8;
    w.msgbuf(top, 1, b"");
    let (ns, mut t) = w.task();
    assert_eq!(
        msgsnd(ns, &mut t, 99, top, 10, 0),
        Err(Errno::EFAULT),
        "the text runs off"
    );
    assert_eq!(
        msgsnd(ns, &mut t, 99, top, 0, 0),
        Err(Errno::EINVAL),
        "then the lookup"
    );
}

#[test]
fn msgrcv_writes_type_and_text_and_returns_the_length() {
    let mut w = World::new();
    let id = w.queue();
    w.msgbuf(BUF, 7, b"hello world");
    let (ns, mut t) = w.task();
    assert_eq!(msgsnd(ns, &mut t, id, BUF, 11, 0), Ok(0));
    assert_eq!(
        msgrcv(ns, &mut t, id, BUF + 100, 5, 0, abi::MSG_NOERROR),
        Ok(5)
    );
    assert_eq!(
        w.memory.bytes(BUF + 100, 13).unwrap(),
        [&7i64.to_ne_bytes()[..], b"hello"].concat()
    );
}

#[test]
fn msgrcv_stores_the_type_whole_or_not_at_all_and_the_text_up_to_the_fault() {
    // `put_user` of the type is one store; `copy_to_user` of the text leaves the bytes before
    // the fault written (as observed on Linux 6.18 with a buffer before an unmapped page).
    const EDGE: u64 = 0x20_0000;
    let mut w = World::new();
    let id = w.queue();
    w.msgbuf(BUF, 7, b"0123456789");
    w.memory.map(EDGE, 12);
    w.memory.map(EDGE + 0x100, 4);
    let (ns, mut t) = w.task();
    msgsnd(ns, &mut t, id, BUF, 10, 0).unwrap();
    msgsnd(ns, &mut t, id, BUF, 10, 0).unwrap();
    assert_eq!(msgrcv(ns, &mut t, id, EDGE, 10, 0, 0), Err(Errno::EFAULT));
    assert_eq!(
        w.memory.bytes(EDGE, 12).unwrap(),
        [&7i64.to_ne_bytes()[..], b"0123"].concat()
    );
    let (ns, mut t) = w.task();
    assert_eq!(
        msgrcv(ns, &mut t, id, EDGE + 0x100, 10, 0, 0),
        Err(Errno::EFAULT)
    );
    // Both messages were taken.
    assert_eq!(
        msgrcv(ns, &mut t, id, BUF, 10, 0, abi::IPC_NOWAIT),
        Err(Errno::ENOMSG)
    );
    assert_eq!(w.memory.bytes(EDGE + 0x100, 4).unwrap(), [0; 4]);
}

#[test]
fn msgrcv_that_faults_on_the_copy_out_loses_the_message() {
    let mut w = World::new();
    let id = w.queue();
    w.msgbuf(BUF, 1, b"gone");
    let (ns, mut t) = w.task();
    msgsnd(ns, &mut t, id, BUF, 4, 0).unwrap();
    assert_eq!(msgrcv(ns, &mut t, id, BAD, 4, 0, 0), Err(Errno::EFAULT));
    assert_eq!(
        msgrcv(ns, &mut t, id, BUF, 4, 0, abi::IPC_NOWAIT),
        Err(Errno::ENOMSG)
    );
}

#[test]
fn msgrcv_negative_id_or_size_is_einval_and_msg_copy_reads_the_buffer_first() {
    let mut w = World::new();
    let id = w.queue();
    let (ns, mut t) = w.task();
    assert_eq!(msgrcv(ns, &mut t, -1, BAD, 1, 0, 0), Err(Errno::EINVAL));
    assert_eq!(
        msgrcv(ns, &mut t, id, BAD, u64::MAX, 0, 0),
        Err(Errno::EINVAL)
    );
    let copy = abi::MSG_COPY | abi::IPC_NOWAIT;
    assert_eq!(msgrcv(ns, &mut t, 99, BAD, 8, 0, copy), Err(Errno::EFAULT));
    assert_eq!(msgrcv(ns, &mut t, 99, BUF, 8, 0, copy), Err(Errno::EINVAL));
    assert_eq!(msgrcv(ns, &mut t, id, BUF, 8, 0, copy), Err(Errno::ENOMSG));
}

#[test]
fn msgctl_ipc_set_copies_in_before_the_lookup_and_stat_copies_out_after_success() {
    let mut w = World::new();
    let id = w.queue();
    let (ns, mut t) = w.task();
    assert_eq!(
        msgctl(ns, &mut t, 99, abi::IPC_SET, BAD),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        msgctl(ns, &mut t, -1, abi::IPC_SET, BAD),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        msgctl(ns, &mut t, id, abi::IPC_STAT, BAD),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        msgctl(ns, &mut t, id, abi::IPC_STAT | abi::IPC_64, BUF),
        Err(Errno::EINVAL)
    );
    assert_eq!(msgctl(ns, &mut t, id, abi::IPC_STAT, BUF), Ok(0));
    // msqid64_ds.msg_perm.mode is at offset 20.
    let mode = w.memory.bytes(BUF + 20, 4).unwrap();
    assert_eq!(u32::from_ne_bytes(mode.try_into().unwrap()), 0o600);
    let (ns, mut t) = w.task();
    assert_eq!(
        msgctl(ns, &mut t, 0, abi::MSG_INFO, BUF),
        Ok(0),
        "highest index"
    );
    assert_eq!(msgctl(ns, &mut t, id, abi::IPC_RMID, 0), Ok(0));
}

// ---- semaphores ----

#[test]
fn semtimedop_reads_the_timeout_first_then_e2big_einval_efault_then_the_id() {
    let mut w = World::new();
    w.memory.write(BUF, &sembuf(0, 1, 0)).unwrap();
    let bad_ts = [(-1i64).to_ne_bytes(), 0i64.to_ne_bytes()].concat();
    w.memory.write(BUF + 64, &bad_ts).unwrap();
    let (ns, mut t) = w.task();
    let set = semget(ns, &mut t, 0, 1, 0o1600).unwrap() as i32;
    assert_eq!(semtimedop(ns, &mut t, -1, BUF, 0, BAD), Err(Errno::EFAULT));
    assert_eq!(semtimedop(ns, &mut t, -1, BAD, 1000, 0), Err(Errno::E2BIG));
    assert_eq!(semtimedop(ns, &mut t, set, BAD, 0, 0), Err(Errno::EINVAL));
    assert_eq!(semtimedop(ns, &mut t, -1, BAD, 1, 0), Err(Errno::EFAULT));
    assert_eq!(
        semtimedop(ns, &mut t, set, BAD, 1, BUF + 64),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        semtimedop(ns, &mut t, -1, BUF, 1, BUF + 64),
        Err(Errno::EINVAL)
    );
    assert_eq!(semop(ns, &mut t, set, BUF, 1), Ok(0));
    assert_eq!(semctl(ns, &mut t, set, 0, abi::GETVAL, 0), Ok(1));
}

#[test]
fn semop_array_past_kvmalloc_limit_is_enomem_when_semopm_allows_it() {
    let mut w = World::new();
    w.ns.limits().set_sem([250, 32000, -1, 32000]).unwrap();
    let (ns, mut t) = w.task();
    let set = semget(ns, &mut t, 0, 1, 0o1600).unwrap() as i32;
    assert_eq!(semop(ns, &mut t, set, BAD, 0x2000_0000), Err(Errno::ENOMEM));
    assert_eq!(semop(ns, &mut t, set, BAD, 1000), Err(Errno::EFAULT));
}

#[test]
fn semctl_setval_takes_the_low_32_bits_of_the_argument() {
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let set = semget(ns, &mut t, 0, 2, 0o1600).unwrap() as i32;
    assert_eq!(
        semctl(ns, &mut t, set, 1, abi::SETVAL, (1 << 32) | 5),
        Ok(0)
    );
    assert_eq!(semctl(ns, &mut t, set, 1, abi::GETVAL, 0), Ok(5));
}

#[test]
fn semctl_getall_and_setall_go_through_user_memory() {
    let mut w = World::new();
    let values: Vec<u8> = [3u16, 9].iter().flat_map(|v| v.to_ne_bytes()).collect();
    w.memory.write(BUF, &values).unwrap();
    let (ns, mut t) = w.task();
    let set = semget(ns, &mut t, 0, 2, 0o1600).unwrap() as i32;
    assert_eq!(
        semctl(ns, &mut t, 99, 0, abi::SETALL, BAD),
        Err(Errno::EINVAL),
        "lookup first"
    );
    assert_eq!(
        semctl(ns, &mut t, set, 0, abi::SETALL, BAD),
        Err(Errno::EFAULT)
    );
    assert_eq!(semctl(ns, &mut t, set, 0, abi::SETALL, BUF), Ok(0));
    assert_eq!(
        semctl(ns, &mut t, set, 0, abi::GETALL, BAD),
        Err(Errno::EFAULT)
    );
    assert_eq!(semctl(ns, &mut t, set, 0, abi::GETALL, BUF + 8), Ok(0));
    assert_eq!(w.memory.bytes(BUF + 8, 4).unwrap(), values);
    let (ns, mut t) = w.task();
    assert_eq!(
        semctl(ns, &mut t, 99, 0, abi::IPC_SET, BAD),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        semctl(ns, &mut t, set, 0, abi::IPC_STAT | abi::IPC_64, BUF),
        Err(Errno::EINVAL)
    );
}

// ---- shared memory ----

#[test]
fn buffers_inside_an_attached_segment_are_read_and_written_through_it() {
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let id = msgget(ns, &mut t, 0, 0o1600).unwrap() as i32;
    let seg = shmget(ns, &mut t, 0, 4096, 0o1600).unwrap() as i32;
    let at = shmat(ns, &mut t, seg, 0, 0).unwrap() as u64;
    t.write(at, &3i64.to_ne_bytes()).unwrap();
    t.write(at + 8, b"from shm").unwrap();
    assert_eq!(msgsnd(ns, &mut t, id, at, 8, 0), Ok(0));
    assert_eq!(msgrcv(ns, &mut t, id, BUF, 8, 0, 0), Ok(8));
    assert_eq!(w.memory.bytes(BUF + 8, 8).unwrap(), b"from shm");
    let (ns, mut t) = w.task();
    assert_eq!(
        shmctl(ns, &mut t, seg, abi::IPC_STAT, at + 100),
        Ok(0),
        "stat into the segment"
    );
    let mut nattch = [0u8; 8];
    t.read(at + 100 + 88, &mut nattch).unwrap();
    assert_eq!(u64::from_ne_bytes(nattch), 1);
    assert_eq!(shmdt(ns, &mut t, at), Ok(0));
    assert_eq!(t.read(at, &mut [0]), Err(Errno::EFAULT), "detached");
    assert_eq!(
        shmctl(ns, &mut t, seg, abi::SHM_INFO, BAD),
        Err(Errno::EFAULT)
    );
    assert_eq!(shmctl(ns, &mut t, -1, abi::IPC_RMID, 0), Err(Errno::EINVAL));
    assert_eq!(shmctl(ns, &mut t, seg, abi::IPC_RMID, 0), Ok(0));
}

// ---- dispatch and ipc(2) ----

#[test]
fn syscall_dispatches_both_numberings_and_ignores_other_numbers() {
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let x = abi::arch::x86_64::nr::SEMGET;
    let g = abi::arch::generic::nr::SEMGET;
    assert_eq!(
        syscall(ns, &mut t, Arch::X86_64, x, [0, 1, 0o1600, 0, 0, 0]),
        Some(Ok(0))
    );
    assert_eq!(
        syscall(ns, &mut t, Arch::Generic, g, [0, 1, 0o1600, 0, 0, 0]),
        Some(Ok(1))
    );
    assert_eq!(syscall(ns, &mut t, Arch::X86_64, 0, [0; 6]), None);
    // Registers are truncated to the kernel's types: the high half of an int is ignored.
    let getval = [0, 0, (1 << 32) | abi::GETVAL as u64, 0, 0, 0];
    let ctl = abi::arch::x86_64::nr::SEMCTL;
    assert_eq!(syscall(ns, &mut t, Arch::X86_64, ctl, getval), Some(Ok(0)));
}

#[test]
fn ipc_multiplexer_dispatches_by_call_and_version() {
    use abi::ipc_call::*;
    let mut w = World::new();
    w.msgbuf(BUF, 4, b"kludge");
    // struct ipc_kludge { msgp = BUF + 256, msgtyp = 0 }
    let kludge = [(BUF + 256).to_ne_bytes(), 0i64.to_ne_bytes()].concat();
    w.memory.write(BUF + 128, &kludge).unwrap();
    let (ns, mut t) = w.task();
    let c = |call: i32, version: u32| u64::from(version << VERSION_SHIFT | call as u32);
    let q = ipc(ns, &mut t, [c(MSGGET, 0), 0, 0o1600, 0, 0, 0]).unwrap();
    assert_eq!(
        ipc(ns, &mut t, [c(MSGSND, 0), q as u64, 6, 0, BUF, 0]),
        Ok(0)
    );
    assert_eq!(
        ipc(ns, &mut t, [c(MSGRCV, 0), q as u64, 6, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ipc(ns, &mut t, [c(MSGRCV, 0), q as u64, 6, 0, BUF + 128, 0]),
        Ok(6)
    );
    assert_eq!(w.memory.bytes(BUF + 256 + 8, 6).unwrap(), b"kludge");
    let (ns, mut t) = w.task();
    let seg = ipc(ns, &mut t, [c(SHMGET, 0), 0, 100, 0o1600, 0, 0]).unwrap() as u64;
    assert_eq!(
        ipc(ns, &mut t, [c(SHMAT, 1), seg, 0, BUF + 512, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ipc(ns, &mut t, [c(SHMAT, 0), seg, 0, BUF + 512, 0, 0]),
        Ok(0)
    );
    let addr = u64::from_ne_bytes(w.memory.bytes(BUF + 512, 8).unwrap().try_into().unwrap());
    assert_eq!(addr % 4096, 0);
    let (ns, mut t) = w.task();
    assert_eq!(t.attach.len(), 1);
    let stat64 = (abi::IPC_STAT | abi::IPC_64) as u64;
    assert_eq!(
        ipc(ns, &mut t, [c(SHMCTL, 0), seg, stat64, 0, BUF + 1024, 0]),
        Ok(0)
    );
    let old_stat = abi::IPC_STAT as u64;
    assert_eq!(
        ipc(ns, &mut t, [c(SHMCTL, 0), seg, old_stat, 0, BUF + 1024, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(ipc(ns, &mut t, [c(SHMDT, 0), 0, 0, 0, addr, 0]), Ok(0));
    assert_eq!(
        ipc(ns, &mut t, [c(SEMCTL, 0), 0, 0, abi::GETVAL as u64, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(ipc(ns, &mut t, [99, 0, 0, 0, 0, 0]), Err(Errno::ENOSYS));
}

// ---- 32-bit tasks (the differential tests against Linux are in compat_differential.rs) ----

#[test]
fn i386_dispatch_truncates_every_register_to_32_bits() {
    use abi::compat::i386;
    let mut w = World::new();
    let high = 0xdead_beef_0000_0000u64;
    let (ns, mut t) = w.task();
    let q = syscall(
        ns,
        &mut t,
        Arch::I386,
        i386::MSGGET,
        [high, high | 0o1600, 0, 0, 0, 0],
    );
    assert_eq!(q, Some(Ok(0)));
    // A compat msgbuf: a 4-byte type, then the text at 4.
    w.memory.write(BUF, &7u32.to_ne_bytes()).unwrap();
    w.memory.write(BUF + 4, b"low").unwrap();
    let (ns, mut t) = w.task();
    let snd = [high, high | BUF, high | 3, high, 0, 0];
    assert_eq!(
        syscall(ns, &mut t, Arch::I386, i386::MSGSND, snd),
        Some(Ok(0))
    );
    // msgtyp 0xffff_fff9 with high garbage is -7 for a 32-bit task.
    let rcv = [
        high,
        high | (BUF + 64),
        high | 16,
        high | 0xffff_fff9,
        high,
        0,
    ];
    assert_eq!(
        syscall(ns, &mut t, Arch::I386, i386::MSGRCV, rcv),
        Some(Ok(3))
    );
    assert_eq!(w.memory.bytes(BUF + 64, 7).unwrap(), b"\x07\0\0\0low");
    let (ns, mut t) = w.task();
    assert_eq!(
        syscall(
            ns,
            &mut t,
            Arch::I386,
            abi::arch::x86_64::nr::MSGGET,
            [0; 6]
        ),
        None
    );
}

#[test]
fn compat_shmat_placed_above_4_gib_is_enomem_and_undone() {
    // A table whose window reaches past 4 GiB: the embedder forgot `with_window`.
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let seg = shmget(ns, &mut t, 0, 4096, 0o1600).unwrap() as i32;
    assert_eq!(compat_shmat(ns, &mut t, seg, 0, 0), Err(Errno::ENOMEM));
    assert!(t.attach.is_empty());
    let (_, ds) = ns
        .shmctl_stat(t.caller, seg, sysvipc::ShmCtlCmd::Stat)
        .unwrap();
    assert_eq!(ds.shm_nattch, 0);
    // Below 4 GiB it lands in the window.
    let mut space = AttachTable::with_window(100, 0x1000_0000, 0xffff_e000);
    let mut t = Task::new(&w.caller, &w.memory, &mut space);
    let at = compat_shmat(&w.ns, &mut t, seg, 0, 0).unwrap();
    assert!((0x1000_0000..0xffff_e000).contains(&at), "{at:#x}");
}

#[test]
fn compat_fixed_shmat_past_the_32_bit_task_size_is_enomem() {
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let seg = shmget(ns, &mut t, 0, 8192, 0o1600).unwrap() as i32;
    let task_size = abi::compat::IA32_TASK_SIZE as usize;
    let mut space = AttachTable::new(100).with_task_size(task_size);
    let mut t = Task::new(&w.caller, &w.memory, &mut space);
    // 0xffff_d000 + 8 KiB ends at 0xffff_f000, past 0xffff_e000.
    assert_eq!(
        compat_shmat(&w.ns, &mut t, seg, 0xffff_d000, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        compat_shmat(&w.ns, &mut t, seg, 0xffff_c000, 0),
        Ok(0xffff_c000)
    );
    // A free placement stays below the task size too.
    let at = compat_shmat(&w.ns, &mut t, seg, 0, 0).unwrap();
    assert_eq!(at, 0xffff_a000);
}

#[test]
fn arm32_ctl_calls_parse_ipc_64_and_serve_the_old_layouts() {
    use abi::compat::arm32;
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let q = syscall(
        ns,
        &mut t,
        Arch::Arm32,
        arm32::MSGGET,
        [0, 0o1600, 0, 0, 0, 0],
    );
    let q = q.unwrap().unwrap() as u64;
    w.memory.write(BUF, &3u32.to_ne_bytes()).unwrap();
    w.memory.write(BUF + 4, b"arm").unwrap();
    let (ns, mut t) = w.task();
    let snd = [q, BUF, 3, 0, 0, 0];
    assert_eq!(
        syscall(ns, &mut t, Arch::Arm32, arm32::MSGSND, snd),
        Some(Ok(0))
    );
    // Without IPC_64: the old msqid_ds (16-bit counters at 44 and 48).
    let stat = abi::IPC_STAT as u64;
    let old = [q, stat, BUF + 256, 0, 0, 0];
    assert_eq!(
        syscall(ns, &mut t, Arch::Arm32, arm32::MSGCTL, old),
        Some(Ok(0))
    );
    let b = w.memory.bytes(BUF + 256, 56).unwrap();
    assert_eq!(u16::from_ne_bytes([b[44], b[45]]), 3);
    assert_eq!(u16::from_ne_bytes([b[48], b[49]]), 16384);
    // With IPC_64: the compat msqid64_ds, and IPC_STAT returns 0 (the flag is parsed off,
    // unlike i386's direct msgctl).
    let (ns, mut t) = w.task();
    let new = [q, stat | abi::IPC_64 as u64, BUF + 512, 0, 0, 0];
    assert_eq!(
        syscall(ns, &mut t, Arch::Arm32, arm32::MSGCTL, new),
        Some(Ok(0))
    );
    let b = w.memory.bytes(BUF + 512, 88).unwrap();
    assert_eq!(u32::from_ne_bytes(b[60..64].try_into().unwrap()), 3);
    assert_eq!(u32::from_ne_bytes(b[68..72].try_into().unwrap()), 16384);
}

#[test]
fn arm32_shmat_rounds_to_four_pages_with_shm_rnd() {
    use abi::compat::arm32;
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let seg = shmget(ns, &mut t, 0, 4096, 0o1600).unwrap() as u64;
    let mut space = AttachTable::new(100).with_task_size(abi::compat::ARM32_TASK_SIZE as usize);
    let mut t = Task::new(&w.caller, &w.memory, &mut space);
    let rnd = abi::SHM_RND as u64;
    let at = |t: &mut Task<'_>, addr: u64, flg: u64| {
        syscall(
            &w.ns,
            t,
            Arch::Arm32,
            arm32::SHMAT,
            [seg, addr, flg, 0, 0, 0],
        )
        .unwrap()
    };
    assert_eq!(at(&mut t, 0x4000_3000, rnd), Ok(0x4000_0000));
    // Page-aligned without SHM_RND: taken as is.
    assert_eq!(at(&mut t, 0x4000_5000, 0), Ok(0x4000_5000));
    assert_eq!(at(&mut t, 0x4000_5800, 0), Err(Errno::EINVAL));
    // Rounded down to 0 with SHM_REMAP: EINVAL.
    let remap = abi::SHM_REMAP as u64;
    assert_eq!(at(&mut t, 0x2000, rnd | remap), Err(Errno::EINVAL));
}

#[test]
fn arm32_semop_and_semtimedop_time32_have_direct_numbers() {
    use abi::compat::arm32;
    let mut w = World::new();
    let (ns, mut t) = w.task();
    let s = semget(ns, &mut t, 0, 1, 0o1600).unwrap() as u64;
    w.memory.write(BUF, &sembuf(0, 1, 0)).unwrap();
    w.memory.write(BUF + 16, &sembuf(0, -2, 0)).unwrap();
    // old_timespec32 { 0 s, 1000 ns }.
    let ts = [0i32.to_ne_bytes(), 1000i32.to_ne_bytes()].concat();
    w.memory.write(BUF + 32, &ts).unwrap();
    let (ns, mut t) = w.task();
    let op = [s, BUF, 1, 0, 0, 0];
    assert_eq!(
        syscall(ns, &mut t, Arch::Arm32, arm32::SEMOP, op),
        Some(Ok(0))
    );
    let timed = [s, BUF + 16, 1, BUF + 32, 0, 0];
    assert_eq!(
        syscall(ns, &mut t, Arch::Arm32, arm32::SEMTIMEDOP, timed),
        Some(Err(Errno::EAGAIN))
    );
}

/// A task whose every sleep is cut short by a signal: a blocking call returns at once.
struct AlwaysInterrupted;

impl sysvipc::Blocker for AlwaysInterrupted {
    fn block(&self, _deadline: Option<std::time::Duration>) -> sysvipc::Wakeup {
        sysvipc::Wakeup::Interrupted
    }

    fn wake(&self) {}
}

/// Random raw registers through every numbering: `(calls that succeeded, calls made)`.
fn random_raw_calls(seed: u64, calls: usize) -> (usize, usize) {
    // Registers biased towards the interesting values: small ids and sizes, the mapped
    // buffer, the sign boundaries, IPC_64 and version bits, garbage in the high halves.
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let memory = HeapUserMemory::new();
    memory.map(BUF, 1 << 16);
    let ns = IpcNamespace::new();
    let caller = Caller::new(Credentials::root(), 100, Arc::new(AlwaysInterrupted));
    let mut space = AttachTable::new(100).with_task_size(abi::compat::IA32_TASK_SIZE as usize);
    let archs = [Arch::X86_64, Arch::Generic, Arch::I386, Arch::Arm32];
    let numbers: Vec<i64> = [abi::compat::i386::IPC, abi::compat::i386::SEMTIMEDOP_TIME64]
        .into_iter()
        .chain(393..=402)
        .chain(298..=312)
        .chain(29..=31)
        .chain(64..=71)
        .chain([220])
        .chain(186..=197)
        .collect();
    let mut ok = 0;
    for _ in 0..calls {
        let mut reg = || -> u64 {
            let r = next();
            let v = match r % 9 {
                0 => r >> 40,
                1 => BUF + (r >> 48) % 0x1_0000,
                2 => u64::from(u32::MAX - (r >> 60) as u32),
                3 => 0x8000_0000,
                4 => ((r >> 32) % 16) | abi::IPC_64 as u64,
                5 => (((r >> 32) % 4) << 16) | ((r >> 40) % 25),
                6 => 0,
                7 => r,
                _ => (r >> 50) % 8,
            };
            if next() % 5 == 0 {
                v | 0xffff_ffff_0000_0000
            } else {
                v
            }
        };
        let args = [reg(), reg(), reg(), reg(), reg(), reg()];
        let arch = archs[(next() % 4) as usize];
        let nr = numbers[(next() % numbers.len() as u64) as usize];
        let mut task = Task::new(&caller, &memory, &mut space);
        if let Some(Ok(_)) = syscall(&ns, &mut task, arch, nr, args) {
            ok += 1;
        }
    }
    (ok, calls)
}

#[test]
fn random_raw_registers_never_panic_under_any_numbering() {
    let (ok, calls) = random_raw_calls(0x9e37_79b9_7f4a_7c15, 50_000);
    // Not only errors: the run reaches the operations themselves.
    assert!(ok > calls / 100, "{ok} of {calls} calls succeeded");
}

#[test]
fn compat_ipc_shmat_keeps_the_attachment_when_third_is_unwritable() {
    use abi::ipc_call::*;
    let w = World::new();
    let mut space = AttachTable::new(100).with_task_size(abi::compat::IA32_TASK_SIZE as usize);
    let mut t = Task::new(&w.caller, &w.memory, &mut space);
    let seg = shmget(&w.ns, &mut t, 0, 4096, 0o1600).unwrap() as u32;
    let args = [SHMAT as u32, seg, 0, BAD as u32, 0, 0];
    assert_eq!(compat_ipc(&w.ns, &mut t, args), Err(Errno::EFAULT));
    assert_eq!(t.attach.len(), 1);
    // The address lands in 4 bytes, the next ones untouched.
    w.memory.write(BUF, &[0xaa; 8]).unwrap();
    let args = [SHMAT as u32, seg, 0, BUF as u32, 0, 0];
    assert_eq!(compat_ipc(&w.ns, &mut t, args), Ok(0));
    let out = w.memory.bytes(BUF, 8).unwrap();
    let addr = u32::from_ne_bytes(out[..4].try_into().unwrap());
    assert!(t.attach.find(addr as usize).is_some());
    assert_eq!(out[4..], [0xaa; 4]);
}
