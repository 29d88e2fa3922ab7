//! [`SemOps`]: an array of semaphore operations, built one operation at a time.

use crate::abi::Sembuf;
use crate::sem::SemFlags;

/// The operations of one `semop(2)` call, applied atomically and in order: all of them or
/// none. Run them with [`Semaphore::apply`](crate::Semaphore::apply), or pass
/// [`as_slice`](Self::as_slice) to [`IpcNamespace::semop`](crate::IpcNamespace::semop).
///
/// ```
/// use sysvipc::{SemFlags, SemOps};
///
/// // Take one unit of semaphore 0 and one of 1, or neither; undo both if the process exits.
/// let ops = SemOps::new().p(0, SemFlags::UNDO).p(1, SemFlags::UNDO);
/// assert_eq!(ops.len(), 2);
/// assert_eq!(ops.as_slice()[1].sem_op, -1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SemOps {
    sops: Vec<Sembuf>,
}

impl SemOps {
    /// No operations yet (applying none is `EINVAL`, as in Linux).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `sem_op` to semaphore `semnum`: a positive value adds, a negative one waits until
    /// it can subtract, zero waits until the semaphore is zero.
    pub fn op(mut self, semnum: u16, sem_op: i16, flags: SemFlags) -> Self {
        self.sops.push(Sembuf {
            sem_num: semnum,
            sem_op,
            sem_flg: flags.bits(),
        });
        self
    }

    /// P (wait, acquire): takes one unit of semaphore `semnum`, waiting until there is one.
    pub fn p(self, semnum: u16, flags: SemFlags) -> Self {
        self.op(semnum, -1, flags)
    }

    /// V (signal, release): gives one unit back to semaphore `semnum`.
    pub fn v(self, semnum: u16, flags: SemFlags) -> Self {
        self.op(semnum, 1, flags)
    }

    /// Waits until semaphore `semnum` is zero.
    pub fn wait_zero(self, semnum: u16, flags: SemFlags) -> Self {
        self.op(semnum, 0, flags)
    }

    /// The operations, in order.
    pub fn as_slice(&self) -> &[Sembuf] {
        &self.sops
    }

    /// The operations, in order.
    pub fn into_vec(self) -> Vec<Sembuf> {
        self.sops
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.sops.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sops.is_empty()
    }

    /// The operations that give back what these took and take back what they gave: each
    /// non-zero operation negated, keeping its `SEM_UNDO` (so the two adjustments cancel) and
    /// with `IPC_NOWAIT` added (so undoing never sleeps). Waits for zero have no inverse.
    pub(crate) fn inverse(&self) -> Vec<Sembuf> {
        let nowait = SemFlags::NOWAIT.bits();
        let undo = SemFlags::UNDO.bits();
        self.sops
            .iter()
            .filter(|s| s.sem_op != 0)
            .map(|s| Sembuf {
                sem_num: s.sem_num,
                // -32768 saturates to 32767; such a decrement can never succeed (values stop
                // at SEMVMX, 32767), so nothing ever needs its inverse.
                sem_op: s.sem_op.saturating_neg(),
                sem_flg: (s.sem_flg & undo) | nowait,
            })
            .collect()
    }
}

impl From<SemOps> for Vec<Sembuf> {
    fn from(ops: SemOps) -> Self {
        ops.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_negates_keeps_undo_adds_nowait_and_skips_waits_for_zero() {
        let ops = SemOps::new()
            .p(0, SemFlags::UNDO)
            .wait_zero(1, SemFlags::empty())
            .op(2, 3, SemFlags::NOWAIT)
            .op(3, i16::MIN, SemFlags::empty());
        let inv = ops.inverse();
        let got: Vec<(u16, i16, i16)> = inv
            .iter()
            .map(|s| (s.sem_num, s.sem_op, s.sem_flg))
            .collect();
        let (u, n) = (SemFlags::UNDO.bits(), SemFlags::NOWAIT.bits());
        assert_eq!(got, [(0, 1, u | n), (2, -3, n), (3, i16::MAX, n)]);
    }
}
