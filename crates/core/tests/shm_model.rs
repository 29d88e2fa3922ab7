//! Random sequences of shmget / shmat / shmdt / fork / exit / IPC_RMID / IPC_STAT / memory
//! accesses, checked step by step against a reference model of segments and attachments.
//!
//! After every step: each live segment's `shm_nattch` equals the number of mappings the model
//! holds of it, `SHM_INFO` counts exactly the live segments and their pages, the memory of
//! every destroyed segment is freed, and every attachment still reads what was last written.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use proptest::prelude::*;
use sysvipc::abi;
use sysvipc::{
    AttachTable, Caller, Credentials, Errno, IpcNamespace, Memory, ShmCtlCmd, ThreadBlocker,
};

const PAGE: u64 = abi::PAGE_SIZE;
const PROCS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    /// shmget with key `key` (0 = IPC_PRIVATE) of `size` bytes, `IPC_CREAT` unless `!creat`.
    Get {
        key: i32,
        size: u64,
        creat: bool,
        excl: bool,
    },
    /// shmat of the `seg`-th segment ever created by process `proc`.
    Attach {
        proc: usize,
        seg: usize,
        rdonly: bool,
    },
    /// shmdt of process `proc`'s `which`-th attachment (by address order).
    Detach { proc: usize, which: usize },
    /// shmdt of an address that is no attachment.
    DetachNothing { proc: usize },
    /// IPC_RMID of the `seg`-th segment.
    Rmid { seg: usize },
    /// Process `proc` is replaced by a fork of process `parent`.
    Fork { parent: usize, proc: usize },
    /// Process `proc` exits.
    Exit { proc: usize },
    /// Process `proc` writes `byte` at the start of its `which`-th attachment.
    Write { proc: usize, which: usize, byte: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PROCS;
    prop_oneof![
        3 => (0..4i32, 1..3 * PAGE, any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(key, size, c, excl)| Op::Get { key, size, creat: c || key == 0, excl }),
        4 => (p.clone(), 0..8usize, prop::bool::weighted(0.3))
            .prop_map(|(proc, seg, rdonly)| Op::Attach { proc, seg, rdonly }),
        3 => (p.clone(), 0..4usize).prop_map(|(proc, which)| Op::Detach { proc, which }),
        1 => p.clone().prop_map(|proc| Op::DetachNothing { proc }),
        2 => (0..8usize).prop_map(|seg| Op::Rmid { seg }),
        1 => (p.clone(), p.clone()).prop_map(|(parent, proc)| Op::Fork { parent, proc }),
        1 => p.clone().prop_map(|proc| Op::Exit { proc }),
        2 => (p, 0..4usize, any::<u8>()).prop_map(|(proc, which, byte)| Op::Write { proc, which, byte }),
    ]
}

/// A segment as the model sees it.
struct ModelSeg {
    key: i32,
    size: u64,
    /// Set by IPC_RMID while attached: the key is hidden and the last detach destroys it.
    dest: bool,
    /// The first byte of its memory.
    byte: u8,
}

struct Model {
    segs: BTreeMap<i32, ModelSeg>,
    /// Per process: its attachments as (address, id, writable).
    maps: Vec<Vec<(usize, i32, bool)>>,
}

impl Model {
    fn nattch(&self, id: i32) -> u64 {
        self.maps.iter().flatten().filter(|m| m.1 == id).count() as u64
    }

    fn by_key(&self, key: i32) -> Option<i32> {
        self.segs
            .iter()
            .find(|(_, s)| key != 0 && s.key == key && !s.dest)
            .map(|(id, _)| *id)
    }

    /// Destroys `id` if it is removed and nothing maps it.
    fn reap(&mut self, id: i32) {
        if self.segs.get(&id).is_some_and(|s| s.dest) && self.nattch(id) == 0 {
            self.segs.remove(&id);
        }
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let ns = IpcNamespace::new();
    let root = Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()));
    let mut tables: Vec<AttachTable> = (0..PROCS).map(|p| AttachTable::new(p as i32 + 1)).collect();
    let mut model = Model {
        segs: BTreeMap::new(),
        maps: vec![Vec::new(); PROCS],
    };
    // Every id ever created, in creation order, and a weak handle on its memory.
    let mut created: Vec<i32> = Vec::new();
    let mut memories: BTreeMap<i32, Weak<dyn Memory>> = BTreeMap::new();

    for op in ops {
        match op {
            Op::Get {
                key,
                size,
                creat,
                excl,
            } => {
                let flags = 0o600
                    | if creat { abi::IPC_CREAT } else { 0 }
                    | if excl { abi::IPC_EXCL } else { 0 };
                let got = ns.shmget(&root, key, size, flags);
                let expected = match model.by_key(key) {
                    Some(_) if creat && excl => Err(Errno::EEXIST),
                    Some(id) if model.segs[&id].size < size => Err(Errno::EINVAL),
                    Some(id) => Ok(id),
                    None if !creat => Err(Errno::ENOENT),
                    None => Ok(-1),
                };
                match (expected, got) {
                    (Ok(-1), Ok(id)) => {
                        prop_assert!(!model.segs.contains_key(&id), "id {id} reused while alive");
                        model.segs.insert(
                            id,
                            ModelSeg {
                                key,
                                size,
                                dest: false,
                                byte: 0,
                            },
                        );
                        created.push(id);
                    }
                    (e, g) => prop_assert_eq!(e, g),
                }
            }
            Op::Attach { proc, seg, rdonly } => {
                let Some(&id) = created.get(seg) else {
                    continue;
                };
                let flags = if rdonly { abi::SHM_RDONLY } else { 0 };
                let got = ns.shmat(&root, &mut tables[proc], id, 0, flags);
                if model.segs.contains_key(&id) {
                    let addr = got.map_err(|e| TestCaseError::fail(format!("shmat {id}: {e}")))?;
                    prop_assert_eq!(addr as u64 % PAGE, 0);
                    model.maps[proc].push((addr, id, !rdonly));
                    model.maps[proc].sort();
                    memories.entry(id).or_insert_with(|| {
                        Arc::downgrade(tables[proc].find(addr).unwrap().memory())
                    });
                } else {
                    prop_assert_eq!(got, Err(Errno::EINVAL));
                }
            }
            Op::Detach { proc, which } => {
                if which >= model.maps[proc].len() {
                    continue;
                }
                let (addr, id, _) = model.maps[proc].remove(which);
                prop_assert_eq!(ns.shmdt(&mut tables[proc], addr), Ok(()));
                model.reap(id);
            }
            Op::DetachNothing { proc } => {
                prop_assert_eq!(ns.shmdt(&mut tables[proc], 0x1000_0000), Err(Errno::EINVAL));
            }
            Op::Rmid { seg } => {
                let Some(&id) = created.get(seg) else {
                    continue;
                };
                let got = ns.shmctl_rmid(&root, id);
                match model.segs.get_mut(&id) {
                    Some(s) => {
                        prop_assert_eq!(got, Ok(()));
                        s.dest = true;
                        model.reap(id);
                    }
                    None => prop_assert_eq!(got, Err(Errno::EINVAL)),
                }
            }
            Op::Fork { parent, proc } => {
                let child = tables[parent].fork(proc as i32 + 1);
                let old = std::mem::replace(&mut tables[proc], child);
                drop(old);
                let ids: Vec<i32> = model.maps[proc].iter().map(|m| m.1).collect();
                model.maps[proc] = model.maps[parent].clone();
                for id in ids {
                    model.reap(id);
                }
            }
            Op::Exit { proc } => {
                tables[proc].clear();
                let ids: Vec<i32> = model.maps[proc].drain(..).map(|m| m.1).collect();
                for id in ids {
                    model.reap(id);
                }
            }
            Op::Write { proc, which, byte } => {
                let Some(&(addr, id, writable)) = model.maps[proc].get(which) else {
                    continue;
                };
                let got = tables[proc].write(addr, &[byte]);
                if writable {
                    prop_assert_eq!(got, Ok(()));
                    model.segs.get_mut(&id).unwrap().byte = byte;
                } else {
                    prop_assert_eq!(got, Err(Errno::EFAULT));
                }
            }
        }
        check(&ns, &root, &tables, &model, &memories)?;
    }
    drop(tables);
    for (id, s) in &model.segs {
        if !s.dest {
            ns.shmctl_rmid(&root, *id).unwrap();
        }
    }
    prop_assert_eq!(
        ns.shm().len(),
        0,
        "a segment leaked after removal and last detach"
    );
    prop_assert!(
        memories.values().all(|m| m.upgrade().is_none()),
        "memory leaked"
    );
    Ok(())
}

fn check(
    ns: &IpcNamespace,
    root: &Caller,
    tables: &[AttachTable],
    model: &Model,
    memories: &BTreeMap<i32, Weak<dyn Memory>>,
) -> Result<(), TestCaseError> {
    let (_, info) = ns.shmctl_shm_info(0).unwrap();
    prop_assert_eq!(info.used_ids as usize, model.segs.len());
    let pages: u64 = model.segs.values().map(|s| s.size.div_ceil(PAGE)).sum();
    prop_assert_eq!(info.shm_tot, pages);
    for (id, s) in &model.segs {
        let (_, ds) = ns.shmctl_stat(root, *id, ShmCtlCmd::Stat).unwrap();
        prop_assert_eq!(ds.shm_nattch, model.nattch(*id), "nattch of {}", id);
        prop_assert_eq!(ds.shm_perm.mode & abi::SHM_DEST as u32 != 0, s.dest);
        prop_assert_eq!(ds.shm_perm.key, if s.dest { 0 } else { s.key });
    }
    for (id, memory) in memories {
        prop_assert_eq!(
            memory.upgrade().is_some(),
            model.segs.contains_key(id),
            "memory of {}",
            id
        );
    }
    for (proc, maps) in model.maps.iter().enumerate() {
        prop_assert_eq!(tables[proc].len(), maps.len());
        for (addr, id, _) in maps {
            let mut b = [0xaa];
            tables[proc].read(*addr, &mut b).unwrap();
            prop_assert_eq!(
                b[0],
                model.segs[id].byte,
                "byte of {} through process {}",
                id,
                proc
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn shm_matches_the_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
