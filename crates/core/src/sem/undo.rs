//! `SEM_UNDO`: the per-process undo list (`struct sem_undo_list` of Linux `ipc/sem.c`).
//!
//! The adjustments themselves (`semadj`) live in each set's state, keyed by the list's
//! identity, so a `semop` touches no lock besides the set's, and `SETVAL`, `SETALL` and
//! `IPC_RMID` reach every process's adjustments of a set under that same lock. The list only
//! remembers which sets it has adjustments in.
//!
//! Threads of one process share a list ([`SemUndo::clone`], Linux's `CLONE_SYSVSEM`); a forked
//! child gets a new one ([`SemUndo::new`]). When the last holder drops it — the process exits,
//! or its last sharer unshares — the adjustments are applied as `exit_sem()` applies them:
//! each value clamped to `0..=SEMVMX`, waiters served, sets removed meanwhile skipped.
//!
//! Lock order: the list's `sets` lock is never held together with a set's lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::set::SemSet;

/// A process's `SEM_UNDO` adjustments. Cloning shares the list, as threads of a process do.
#[derive(Clone)]
pub struct SemUndo(Arc<UndoList>);

pub(crate) struct UndoList {
    id: u64,
    pid: i32,
    /// The sets this list has (or had) adjustments in.
    sets: Mutex<Vec<Weak<SemSet>>>,
}

impl SemUndo {
    /// A new, empty list for process `pid` (its id goes into `sempid` when the list is applied).
    pub fn new(pid: i32) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(Arc::new(UndoList {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            pid,
            sets: Mutex::new(Vec::new()),
        }))
    }

    /// The key of this list's adjustments in each set.
    pub(crate) fn key(&self) -> u64 {
        self.0.id
    }

    /// How many holders share this list.
    pub fn sharers(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// Remembers that this list has adjustments in `set` (once), and forgets sets that are
    /// gone.
    pub(crate) fn register(&self, set: &Arc<SemSet>) {
        let mut sets = self.0.sets.lock();
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
            .field("id", &self.0.id)
            .field("pid", &self.0.pid)
            .finish_non_exhaustive()
    }
}

impl Drop for UndoList {
    /// `exit_sem()`: the last holder is gone, so the adjustments are applied.
    fn drop(&mut self) {
        let sets = std::mem::take(self.sets.get_mut());
        for set in sets.iter().filter_map(Weak::upgrade) {
            set.apply_undo(self.id, self.pid);
        }
    }
}
