//! `raw_syscalls`: hostile register values through `sysvipc_syscalls::syscall`, the entry a
//! sandbox hands its guest's registers to.
//!
//! The input decodes (with `arbitrary`) into up to [`MAX_STEPS`] steps: a call (a 64-bit task
//! under the x86-64 or asm-generic numbering, or a 32-bit task under i386 or arm32, any of the
//! System V IPC numbers, six registers), a write of guest memory, or a change of the caller's
//! credentials. Registers are built from pieces biased towards what matters — the mapped
//! guest buffer, an address inside one of the task's attachments, small ids and sizes, the sign
//! boundaries, `IPC_64` and `ipc(2)` version bits, garbage in the high half — but reach every
//! value.
//!
//! Every caller's blocker reports an interruption at once, so a call that would sleep returns
//! (`EINTR`, `ERESTARTNOHAND`, or `EAGAIN` for an expired timeout) and nothing hangs.
//!
//! # What is checked
//!
//! Besides "no panic, no hang", after every call the namespace must agree with itself:
//! - `MSG_INFO`'s queue count, message count and bytes equal what a `MSG_STAT_ANY` sweep of
//!   the indexes up to its highest index finds;
//! - `SEM_INFO`'s set and semaphore counts equal a `SEM_STAT_ANY` sweep's;
//! - `SHM_INFO`'s segment count and pages equal a `SHM_STAT_ANY` sweep's, and each segment's
//!   `shm_nattch` equals its mappings in the two tasks' attach tables (and no mapping names a
//!   segment the sweep did not find); every readable mapping reads.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sysvipc::abi;
use sysvipc::{
    AttachTable, Blocker, Caller, Capabilities, Credentials, IpcNamespace, MsgCtlCmd, Protection,
    SemCtlCmd, ShmCtlCmd, Wakeup,
};
use sysvipc_syscalls::{Arch, HeapUserMemory, Task, UserMemory, syscall};

/// Steps run per input, at most.
const MAX_STEPS: usize = 200;
/// Where the guest buffer is mapped, and its size.
const BUF: u64 = 0x1000_0000;
const BUF_LEN: u64 = 1 << 16;
/// Bytes one write step writes, at most.
const MAX_WRITE: usize = 256;
/// The highest index the consistency sweeps visit.
const SWEEP_MAX: i32 = 1024;
const PAGE: u64 = abi::PAGE_SIZE as u64;

/// A task whose every sleep is cut short by a signal.
struct AlwaysInterrupted;

impl Blocker for AlwaysInterrupted {
    fn block(&self, _deadline: Option<Duration>) -> Wakeup {
        Wakeup::Interrupted
    }

    fn wake(&self) {}
}

/// One piece of a register.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Reg {
    /// A small number: ids, counts, commands, flags.
    Small(u8),
    /// An address in the guest buffer.
    Buf(u16),
    /// An address in the `n`th mapping of the calling task's attach table.
    Attached(u8, u16),
    /// Near a sign boundary: `0x7fff_ffff + d`, `u32::MAX - d`, `u64::MAX - d`.
    Boundary(u8, u8),
    /// A command with `IPC_64`, or an `ipc(2)` call with a version.
    Versioned(u8, u8),
    /// A key or mode word.
    Word(u32),
    /// Anything.
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
enum Step {
    Call {
        /// The 32-bit task (i386 or arm32) rather than the 64-bit one.
        compat: bool,
        /// Which of the task's two numberings.
        numbering: bool,
        nr: u8,
        regs: [Reg; 6],
        /// Garbage OR-ed into the high halves of the registers whose bit is set.
        high: u8,
    },
    Write {
        at: u16,
        bytes: Vec<u8>,
    },
    /// Calls from now on are made by caller `n % 3`: root, a user, a user with
    /// `CAP_IPC_OWNER`.
    Become(u8),
}

/// The System V IPC numbers of every numbering (x86-64, asm-generic, i386, arm32).
fn numbers() -> Vec<i64> {
    [abi::compat::i386::IPC, abi::compat::i386::SEMTIMEDOP_TIME64]
        .into_iter()
        .chain(393..=402)
        .chain(298..=312)
        .chain(29..=31)
        .chain(64..=71)
        .chain([220])
        .chain(186..=197)
        .collect()
}

fn register(reg: Reg, table: &AttachTable) -> u64 {
    match reg {
        Reg::Small(v) => u64::from(v),
        Reg::Buf(off) => BUF + u64::from(off),
        Reg::Attached(n, off) => {
            let count = table.len().max(1);
            table
                .mappings()
                .nth(usize::from(n) % count)
                .map_or(0, |m| m.start() as u64 + u64::from(off))
        }
        Reg::Boundary(which, d) => {
            let d = u64::from(d % 4);
            match which % 3 {
                0 => 0x7fff_ffff + d,
                1 => u64::from(u32::MAX) - d,
                _ => u64::MAX - d,
            }
        }
        Reg::Versioned(low, version) => {
            u64::from(low % 25) | (u64::from(version % 3) << 16) | ((u64::from(low) >> 5) << 8)
        }
        Reg::Word(w) => u64::from(w),
        Reg::Raw(v) => v,
    }
}

fn check(ns: &IpcNamespace, root: &Caller, tables: &[&AttachTable]) {
    let (max, info) = ns.msgctl_info(0, MsgCtlCmd::MsgInfo).unwrap();
    let (mut queues, mut messages, mut bytes) = (0i64, 0i64, 0i64);
    for index in 0..=max.min(SWEEP_MAX) {
        if let Ok((_, ds)) = ns.msgctl_stat(root, index, MsgCtlCmd::MsgStatAny) {
            queues += 1;
            messages += ds.msg_qnum as i64;
            bytes += ds.msg_cbytes as i64;
        }
    }
    let cap = |n: i64| n.min(i64::from(i32::MAX)) as i32;
    assert_eq!(info.msgpool, cap(queues), "MSG_INFO queues");
    assert_eq!(info.msgmap, cap(messages), "MSG_INFO messages");
    assert_eq!(info.msgtql, cap(bytes), "MSG_INFO bytes");

    let (max, info) = ns.semctl_info(0, SemCtlCmd::SemInfo).unwrap();
    let (mut sets, mut sems) = (0, 0);
    for index in 0..=max.min(SWEEP_MAX) {
        if let Ok((_, ds)) = ns.semctl_stat(root, index, SemCtlCmd::SemStatAny) {
            sets += 1;
            sems += ds.sem_nsems as i32;
        }
    }
    assert_eq!((info.semusz, info.semaem), (sets, sems), "SEM_INFO");

    let mut mapped: HashMap<i32, u64> = HashMap::new();
    for table in tables {
        for m in table.mappings() {
            *mapped.entry(m.segment().id().raw()).or_default() += 1;
            if m.protection().contains(Protection::READ) {
                table
                    .read(m.start(), &mut [0])
                    .expect("a readable mapping reads");
            }
        }
    }
    let (max, info) = ns.shmctl_shm_info(0).unwrap();
    let (mut segments, mut pages) = (0, 0);
    for index in 0..=max.min(SWEEP_MAX) {
        if let Ok((id, ds)) = ns.shmctl_stat(root, index, ShmCtlCmd::ShmStatAny) {
            segments += 1;
            pages += ds.shm_segsz.div_ceil(PAGE);
            assert_eq!(
                ds.shm_nattch,
                mapped.remove(&id).unwrap_or(0),
                "nattch of {id}"
            );
        }
    }
    assert!(mapped.is_empty(), "mappings of segments not found: {mapped:?}");
    assert_eq!((info.used_ids, info.shm_tot), (segments, pages), "SHM_INFO");
}

fuzz_target!(|steps: Vec<Step>| {
    let ns = IpcNamespace::new();
    let blocker: Arc<dyn Blocker> = Arc::new(AlwaysInterrupted);
    let callers = [
        Caller::new(Credentials::root(), 100, Arc::clone(&blocker)),
        Caller::new(Credentials::user(1000, 1000), 100, Arc::clone(&blocker)),
        Caller::new(
            Credentials::user(2000, 2000).with_caps(Capabilities::IPC_OWNER),
            100,
            Arc::clone(&blocker),
        ),
    ];
    let memory = HeapUserMemory::new();
    memory.map(BUF, BUF_LEN as usize);
    let mut wide = AttachTable::new(100);
    let mut narrow = AttachTable::new(100).with_task_size(abi::compat::IA32_TASK_SIZE as usize);
    let numbers = numbers();
    let mut who = 0;
    for step in steps.into_iter().take(MAX_STEPS) {
        match step {
            Step::Call {
                compat,
                numbering,
                nr,
                regs,
                high,
            } => {
                let (table, arch) = match (compat, numbering) {
                    (false, false) => (&mut wide, Arch::X86_64),
                    (false, true) => (&mut wide, Arch::Generic),
                    (true, false) => (&mut narrow, Arch::I386),
                    (true, true) => (&mut narrow, Arch::Arm32),
                };
                let mut args = [0u64; 6];
                for (i, (arg, reg)) in args.iter_mut().zip(regs).enumerate() {
                    *arg = register(reg, table);
                    if high & (1 << i) != 0 {
                        *arg |= 0xdead_beef_0000_0000;
                    }
                }
                let nr = numbers[usize::from(nr) % numbers.len()];
                let mut task = Task::new(&callers[who], &memory, table);
                let _ = syscall(&ns, &mut task, arch, nr, args);
                check(&ns, &callers[0], &[&wide, &narrow]);
            }
            Step::Write { at, mut bytes } => {
                bytes.truncate(MAX_WRITE);
                let at = u64::from(at).min(BUF_LEN - bytes.len() as u64);
                memory.write(BUF + at, &bytes).expect("the buffer is mapped");
            }
            Step::Become(n) => who = usize::from(n) % callers.len(),
        }
    }
});
