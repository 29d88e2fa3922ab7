//! `shm_ops`: sequences of shared-memory operations on one [`IpcNamespace`], from up to four
//! processes with their own address spaces.
//!
//! Operations: `shmget` (any key, size and flags, the size biased towards the boundaries),
//! `shmat` (any id, address and flags), `shmdt`, every `shmctl` command (decoded from a raw
//! `i32`), fork, exit, thread exit, `unmap`/`protect` of any range, reads and writes through
//! the attach tables, and the `shm*` sysctls. Besides "no panic", after every operation:
//!
//! - each segment's `shm_nattch` equals the number of mappings of it in all address spaces;
//! - `SHM_INFO` counts exactly the segments a `SHM_STAT_ANY` sweep finds, and `shm_tot` their
//!   pages;
//! - a read through any readable mapping succeeds (no segment is freed while mapped).
//!
//! Memory is bounded: sizes are capped when the input does not ask for `SHM_NORESERVE`-style
//! enormous segments, and those are never written beyond their first pages.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sysvipc::abi::{self, Ipc64Perm, Shmid64Ds};
use sysvipc::{
    AttachTable, Caller, Capabilities, Credentials, IpcNamespace, ManualClock, ShmCtlCmd,
    ThreadBlocker,
};

const PROCS: usize = 4;
const MAX_OPS: usize = 128;
const PAGE: u64 = abi::PAGE_SIZE;

#[derive(Arbitrary, Debug)]
enum Size {
    Small(u16),
    Pages(u8),
    Raw(u64),
}

impl Size {
    fn get(&self) -> u64 {
        match self {
            Size::Small(s) => u64::from(*s),
            Size::Pages(p) => u64::from(*p) * PAGE,
            Size::Raw(r) => *r,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Get { proc: u8, key: i8, size: Size, flags: i32 },
    Attach { proc: u8, id: u8, raw_id: Option<i32>, addr: u64, flags: i32 },
    Detach { proc: u8, which: u8, offset: u16 },
    Ctl { proc: u8, id: u8, cmd: i32, mode: u16, uid: u32 },
    Fork { parent: u8, child: u8 },
    Exit { proc: u8 },
    ThreadExit { proc: u8 },
    Unmap { proc: u8, which: u8, pages: u8, len: u8 },
    Protect { proc: u8, which: u8, pages: u8, len: u8, prot: u8 },
    Write { proc: u8, which: u8, offset: u16, byte: u8 },
    Sysctl { which: u8, value: i64 },
}

fuzz_target!(|ops: Vec<Op>| run(ops));

fn run(ops: Vec<Op>) {
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let ns = IpcNamespace::with_clock(clock);
    // Keep enormous segments from costing anything: no commit limit surprises either way.
    let callers: Vec<Caller> = (0..PROCS)
        .map(|p| {
            let cred = match p {
                0 => Credentials::root(),
                1 => Credentials::user(1000, 1000),
                2 => Credentials::user(1000, 1000).with_caps(Capabilities::IPC_LOCK),
                _ => Credentials::user(2000, 1000),
            };
            Caller::new(cred, 100 + p as i32, Arc::new(ThreadBlocker::new()))
                .with_memlock_limit(64 * PAGE)
        })
        .collect();
    let mut tables: Vec<AttachTable> = (0..PROCS).map(|p| AttachTable::new(100 + p as i32)).collect();
    let mut ids: Vec<i32> = Vec::new();
    for op in ops.into_iter().take(MAX_OPS) {
        step(&ns, &callers, &mut tables, &mut ids, op);
        check(&ns, &callers[0], &tables);
    }
    drop(tables);
    check(&ns, &callers[0], &[]);
}

fn pick<T>(v: &[T], i: u8) -> Option<&T> {
    (!v.is_empty()).then(|| &v[usize::from(i) % v.len()])
}

fn mapping_start(t: &AttachTable, which: u8) -> Option<usize> {
    let starts: Vec<usize> = t.mappings().map(|m| m.start()).collect();
    pick(&starts, which).copied()
}

fn step(ns: &IpcNamespace, callers: &[Caller], tables: &mut [AttachTable], ids: &mut Vec<i32>, op: Op) {
    let p = |x: u8| usize::from(x) % PROCS;
    match op {
        Op::Get { proc, key, size, flags } => {
            if let Ok(id) = ns.shmget(&callers[p(proc)], i32::from(key), size.get(), flags) {
                ids.push(id);
            }
        }
        Op::Attach { proc, id, raw_id, addr, flags } => {
            let id = raw_id.or_else(|| pick(ids, id).copied()).unwrap_or(-1);
            let _ = ns.shmat(&callers[p(proc)], &mut tables[p(proc)], id, addr as usize, flags);
        }
        Op::Detach { proc, which, offset } => {
            let t = &mut tables[p(proc)];
            let addr = mapping_start(t, which).map_or(usize::from(offset), |a| a + usize::from(offset % 3) * PAGE as usize);
            let _ = ns.shmdt(t, addr);
        }
        Op::Ctl { proc, id, cmd, mode, uid } => {
            let Some(&id) = pick(ids, id) else { return };
            let caller = &callers[p(proc)];
            match ShmCtlCmd::try_from(cmd) {
                Ok(ShmCtlCmd::Set) => {
                    let ds = Shmid64Ds {
                        shm_perm: Ipc64Perm { uid, gid: uid, mode: u32::from(mode), ..Ipc64Perm::default() },
                        ..Shmid64Ds::default()
                    };
                    let _ = ns.shmctl_set(caller, id, &ds);
                }
                Ok(ShmCtlCmd::Rmid) => {
                    let _ = ns.shmctl_rmid(caller, id);
                }
                Ok(c @ (ShmCtlCmd::Lock | ShmCtlCmd::Unlock)) => {
                    let _ = ns.shmctl_lock(caller, id, c);
                }
                Ok(ShmCtlCmd::IpcInfo) => {
                    let _ = ns.shmctl_ipc_info(id);
                }
                Ok(ShmCtlCmd::ShmInfo) => {
                    let _ = ns.shmctl_shm_info(id);
                }
                Ok(c) => {
                    let _ = ns.shmctl_stat(caller, id, c);
                }
                Err(_) => {}
            }
        }
        Op::Fork { parent, child } => {
            let (parent, child) = (p(parent), p(child));
            if parent != child {
                tables[child] = tables[parent].fork(100 + child as i32);
            }
        }
        Op::Exit { proc } => tables[p(proc)].clear(),
        Op::ThreadExit { proc } => ns.shm_exit_thread(&callers[p(proc)]),
        Op::Unmap { proc, which, pages, len } => {
            let t = &mut tables[p(proc)];
            if let Some(a) = mapping_start(t, which) {
                let _ = t.unmap(a + usize::from(pages % 4) * PAGE as usize, usize::from(len) * 512);
            }
        }
        Op::Protect { proc, which, pages, len, prot } => {
            let t = &mut tables[p(proc)];
            if let Some(a) = mapping_start(t, which) {
                let prot = sysvipc::Protection::from_bits_truncate(u32::from(prot));
                let _ = t.protect(a + usize::from(pages % 4) * PAGE as usize, usize::from(len) * 512, prot);
            }
        }
        Op::Write { proc, which, offset, byte } => {
            let t = &tables[p(proc)];
            if let Some(a) = mapping_start(t, which) {
                let _ = t.write(a + usize::from(offset), &[byte]);
            }
        }
        Op::Sysctl { which, value } => {
            let l = ns.limits();
            let _ = match which % 5 {
                0 => {
                    l.set_shmmax(value as u64);
                    Ok(())
                }
                1 => {
                    l.set_shmall(value as u64);
                    Ok(())
                }
                2 => l.set_shmmni(value),
                3 => ns.set_shm_rmid_forced(value),
                _ => ns.set_shm_next_id(value),
            };
        }
    }
}

fn check(ns: &IpcNamespace, root: &Caller, tables: &[AttachTable]) {
    let mut mapped: HashMap<i32, u64> = HashMap::new();
    for t in tables {
        for m in t.mappings() {
            *mapped.entry(m.segment().id().raw()).or_default() += 1;
            if m.protection().contains(sysvipc::Protection::READ) {
                t.read(m.start(), &mut [0]).expect("a mapped segment is readable");
            }
        }
    }
    let (max, info) = ns.shmctl_shm_info(0).unwrap();
    let mut found = 0;
    let mut pages = 0;
    for index in 0..=max {
        let Ok((id, ds)) = ns.shmctl_stat(root, index, ShmCtlCmd::ShmStatAny) else { continue };
        found += 1;
        pages += ds.shm_segsz.div_ceil(PAGE);
        assert_eq!(ds.shm_nattch, mapped.remove(&id).unwrap_or(0), "nattch of {id}");
    }
    assert!(mapped.is_empty(), "mappings of segments that no longer exist: {mapped:?}");
    assert_eq!(info.used_ids, found);
    assert_eq!(info.shm_tot, pages);
}
