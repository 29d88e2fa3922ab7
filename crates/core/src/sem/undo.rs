//! `SEM_UNDO`: the per-process undo list (`struct sem_undo_list` of Linux `ipc/sem.c`).
//!
//! The adjustments themselves (`semadj`) live in each set's state, keyed by the list's
//! identity, so a `semop` touches no lock besides the set's, and `SETVAL`, `SETALL` and
//! `IPC_RMID` reach every process's adjustments of a set under that same lock. The list only
//! remembers which sets it has adjustments in.
//!
//! Threads of one process share a list ([`SemUndo::clone`], Linux's `CLONE_SYSVSEM`); a forked
//! child gets a new one ([`SemUndo::new`]); a process created with `CLONE_SYSVSEM` but not
//! `CLONE_THREAD` shares its parent's ([`SemUndo::share_with`]). When the last holder drops
//! it — the process exits, or its last sharer unshares — the adjustments are applied as
//! `exit_sem()` applies them: each value clamped to `0..=SEMVMX`, `sempid` set to the process
//! that dropped it last, waiters served, sets removed meanwhile skipped.
//!
//! Lock order: the list's `sets` lock is never held together with a set's lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::set::SemSet;

/// A holder's share of a `SEM_UNDO` list. Cloning shares the list within the same process, as
/// threads do.
#[derive(Clone)]
pub struct SemUndo {
    /// `None` only while dropping.
    list: Option<Arc<UndoList>>,
    /// The holder's process: `sempid` of the semaphores adjusted if this holder is the last.
    pid: i32,
}

pub(crate) struct UndoList {
    id: u64,
    /// The sets this list has (or had) adjustments in.
    sets: Mutex<Vec<Weak<SemSet>>>,
}

impl SemUndo {
    /// A new, empty list for process `pid` (its id goes into `sempid` when the list is applied).
    pub fn new(pid: i32) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let list = UndoList {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            sets: Mutex::new(Vec::new()),
        };
        Self {
            list: Some(Arc::new(list)),
            pid,
        }
    }

    /// A share of this list held by another process `pid` (`clone(CLONE_SYSVSEM)` without
    /// `CLONE_THREAD`).
    pub fn share_with(&self, pid: i32) -> Self {
        Self {
            list: self.list.clone(),
            pid,
        }
    }

    fn list(&self) -> &UndoList {
        // Set at construction and taken only by `drop`.
        self.list
            .as_deref()
            .expect("undo list present until dropped")
    }

    /// The key of this list's adjustments in each set.
    pub(crate) fn key(&self) -> u64 {
        self.list().id
    }

    /// How many holders share this list.
    pub fn sharers(&self) -> usize {
        self.list.as_ref().map_or(0, Arc::strong_count)
    }

    /// Remembers that this list has adjustments in `set` (once), and forgets sets that are
    /// gone.
    pub(crate) fn register(&self, set: &Arc<SemSet>) {
        let mut sets = self.list().sets.lock();
        if sets
            .iter()
            .any(|s| std::ptr::eq(s.as_ptr(), Arc::as_ptr(set)))
        {
            return;
        }
        sets.retain(|s| s.strong_count() > 0);
        sets.push(Arc::downgrade(set));
    }
}

impl std::fmt::Debug for SemUndo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemUndo")
            .field("id", &self.list.as_ref().map(|l| l.id))
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl Drop for SemUndo {
    /// `exit_sem()`: if this was the last holder, the adjustments are applied, in its name.
    fn drop(&mut self) {
        let Some(list) = self.list.take().and_then(Arc::into_inner) else {
            return;
        };
        for set in list.sets.into_inner().iter().filter_map(Weak::upgrade) {
            set.apply_undo(list.id, self.pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::abi::{self, Sembuf};
    use crate::{Caller, Credentials, IpcNamespace, SemCtlCmd, ThreadBlocker};

    fn caller(pid: i32) -> Caller {
        Caller::new(Credentials::root(), pid, Arc::new(ThreadBlocker::new()))
    }

    #[test]
    fn list_shared_by_two_processes_is_applied_in_the_name_of_the_last_to_drop_it() {
        // clone(CLONE_SYSVSEM) without CLONE_THREAD, then the parent unshares and the child
        // exits: Linux records the child as sempid (checked on Linux 6.18).
        let ns = IpcNamespace::new();
        let root = caller(1);
        let id = ns.semget(&root, abi::IPC_PRIVATE, 1, 0o600).unwrap();
        let mut parent = caller(100);
        let up = Sembuf {
            sem_num: 0,
            sem_op: 1,
            sem_flg: abi::SEM_UNDO as i16,
        };
        ns.semop(&parent, id, &[up]).unwrap();
        let mut child = caller(200);
        child.undo = parent.undo.share_with(200);
        assert_eq!(parent.undo.sharers(), 2);
        parent.unshare_undo();
        assert_eq!(
            ns.semctl_get(&root, id, 0, SemCtlCmd::GetVal),
            Ok(1),
            "a sharer remains"
        );
        drop(child);
        assert_eq!(ns.semctl_get(&root, id, 0, SemCtlCmd::GetVal), Ok(0));
        assert_eq!(ns.semctl_get(&root, id, 0, SemCtlCmd::GetPid), Ok(200));
    }
}
