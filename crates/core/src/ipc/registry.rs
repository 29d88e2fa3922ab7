//! The table of one kind of object in one namespace: keys, ids, and Linux's index allocation.
//!
//! `Registry<T>` is the `struct ipc_ids` of `ipc/util.c`, generic over the object type.
//!
//! # Ids
//!
//! An object lives in slot `index`, and its id is `seq << 15 | index`. Indexes come from a
//! cyclic allocator over `[0, max(in_use * 3 / 2, 64))` that resumes after the last index it
//! handed out (`idr_alloc_cyclic`), and `seq` advances only when the allocator wraps around, so
//! the ids equal the ones Linux hands out for the same sequence of calls in a fresh namespace.
//! A `next_id` set by the checkpoint/restore knob overrides one allocation.
//!
//! # Locking
//!
//! Lock order: `Registry::table` → a lookup slot → the object's own lock. Objects are lent to
//! closures, so the extent of a lock is visible at every call site and no guard escapes; a
//! closure may lock the object but must not block, call back into this registry, or read a
//! clock.
//!
//! Lookups by id ([`Registry::with`], [`Registry::get`]: every `msgsnd`, `semop`, `shmat`…)
//! do not touch the table's lock: they read-lock the object's own slot in `lookup`, a second
//! index by slot number whose entries are published and withdrawn under the table's write
//! lock. So operations on different objects share no lock and no written cache line, and
//! scale with threads. Creation, removal, key lookups and the `*_STAT`/`*_INFO` walks take
//! the table's lock; removal also write-locks the slot, so its veto and the unlinking are
//! exclusive with every lookup of that object.
//!
//! # Invariants (whenever `table` is unlocked)
//!
//! - `slots[i]` is occupied exactly when bit `i` of `used` is set; `in_use` counts them.
//! - `keys` maps each non-private key of a live object to its slot; `IPC_PRIVATE` never
//!   appears in it.
//! - `max_idx` is the highest occupied index, or -1 when the table is empty.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use crate::Errno;
use crate::abi;
use crate::cred::Credentials;
use crate::ipc::{Id, Key};

/// What the registry needs of an object beyond storing it: its id and its `*_ds`.
pub(crate) trait IpcObject {
    /// The structure `IPC_STAT` fills (`msqid64_ds`, `semid64_ds`, …).
    type Stat;

    /// The object's id.
    fn id(&self) -> Id;

    /// The object's `*_ds`, after a read-permission check when `cred` is given (`IPC_STAT`,
    /// `*_STAT`) and without one otherwise (`*_STAT_ANY`).
    fn stat_as(&self, cred: Option<&Credentials>) -> Result<Self::Stat, Errno>;
}

/// What `IPC_RMID` does to an object that passed its checks.
pub(crate) enum Removal {
    /// Takes it out of the table: its id and key name nothing afterwards.
    Unlink,
    /// Keeps it under its id but takes its key out of the key index.
    HideKey,
}

/// Objects of one kind in one namespace, by key and by id.
pub(crate) struct Registry<T> {
    table: RwLock<Table<T>>,
    /// The live objects by slot, for lookups by id (lock 2, after `table`).
    lookup: Lookup<T>,
}

/// A lookup slot: the id and the object living at its index.
type Entry<T> = RwLock<Option<(Id, Arc<T>)>>;

/// Slots per lazily allocated chunk of [`Lookup`].
const CHUNK: usize = 64;

/// A chunk of [`CHUNK`] lookup slots, allocated on first use.
type Chunk<T> = OnceLock<Box<[Entry<T>; CHUNK]>>;

/// Slots by index, in chunks allocated on first use. An empty registry allocates nothing; the
/// first chunk (indexes 0..64, where the cyclic allocator stays until some 40 objects exist)
/// is its own field, and the table of the other chunks is allocated only when an index
/// reaches past it. Entries only change under the table's write lock.
struct Lookup<T> {
    first: Chunk<T>,
    rest: OnceLock<Box<[Chunk<T>]>>,
}

impl<T> Lookup<T> {
    /// The chunk holding index `index`, if allocated.
    fn chunk(&self, index: usize) -> Option<&[Entry<T>; CHUNK]> {
        match index / CHUNK {
            0 => self.first.get(),
            c => self.rest.get()?.get(c - 1)?.get(),
        }
        .map(|b| &**b)
    }

    /// The slot at `index`, if its chunk exists.
    fn slot(&self, index: usize) -> Option<&Entry<T>> {
        Some(&self.chunk(index)?[index % CHUNK])
    }

    /// The slot at `index` (< `IPCMNI`), allocating its chunk if needed.
    fn slot_or_init(&self, index: usize) -> &Entry<T> {
        let chunk = match index / CHUNK {
            0 => &self.first,
            c => {
                let rest = self.rest.get_or_init(|| {
                    (1..abi::IPCMNI as usize / CHUNK)
                        .map(|_| OnceLock::new())
                        .collect()
                });
                &rest[c - 1]
            }
        };
        let chunk = chunk.get_or_init(|| Box::new(std::array::from_fn(|_| RwLock::new(None))));
        &chunk[index % CHUNK]
    }
}

struct Slot<T> {
    id: Id,
    key: Key,
    obj: Arc<T>,
}

struct Table<T> {
    slots: Vec<Option<Slot<T>>>,
    used: IndexSet,
    keys: HashMap<Key, usize>,
    in_use: usize,
    /// Sequence number of the next wrap-around allocation (`ids->seq`).
    seq: u32,
    /// Index of the last cyclic allocation, -1 before the first (`ids->last_idx`).
    last_idx: isize,
    /// Highest occupied index, -1 when empty (`ids->max_idx`).
    max_idx: isize,
    /// Where the cyclic allocator resumes (`idr->idr_next`).
    cursor: usize,
    /// The checkpoint/restore knob (`ids->next_id`), -1 when unset.
    next_id: i32,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self {
            table: RwLock::new(Table {
                slots: Vec::new(),
                used: IndexSet::default(),
                keys: HashMap::new(),
                in_use: 0,
                seq: 0,
                last_idx: -1,
                max_idx: -1,
                cursor: 0,
                next_id: -1,
            }),
            lookup: Lookup {
                first: OnceLock::new(),
                rest: OnceLock::new(),
            },
        }
    }
}

impl<T> Registry<T> {
    /// `ipcget()`: finds the object named by `key` or creates one.
    ///
    /// Check order as in `ipc/util.c`: for an existing key `EEXIST` (both `IPC_CREAT` and
    /// `IPC_EXCL`), then `existing` (the type's `more_checks` and `ipcperms`); for a missing key
    /// `ENOENT` without `IPC_CREAT`; when creating, `prepare` (the type's own checks, which may
    /// fail with `EINVAL`, `ENOSPC`, `ENOMEM`), then `ENOSPC` once `limit` objects exist, then
    /// the id is allocated and the object built by the constructor `prepare` returned.
    pub(crate) fn get_or_create<B>(
        &self,
        key: Key,
        flags: i32,
        limit: i32,
        existing: impl FnOnce(&T) -> Result<(), Errno>,
        prepare: impl FnOnce() -> Result<B, Errno>,
    ) -> Result<Id, Errno>
    where
        B: FnOnce(Id) -> T,
    {
        if !key.is_private() {
            // Lookups of existing keys only read the table.
            let table = self.table.read();
            if let Some(slot) = table.by_key(key) {
                return Table::check_existing(slot, flags, existing);
            }
            if flags & abi::IPC_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
        }
        let mut table = self.table.write();
        if !key.is_private() {
            // Somebody may have created the key between the two locks.
            if let Some(slot) = table.by_key(key) {
                return Table::check_existing(slot, flags, existing);
            }
        }
        let build = prepare()?;
        let id = table.insert(key, limit, build)?;
        if let Some(slot) = table.slots.get(id.index()).and_then(Option::as_ref) {
            *self.lookup.slot_or_init(id.index()).write() = Some((id, Arc::clone(&slot.obj)));
        }
        Ok(id)
    }

    /// Runs `f` on the object named by `id` (`ipc_obtain_object_check`): `EINVAL` when `id` is
    /// negative, names an empty slot, or carries another sequence number.
    pub(crate) fn with<R>(
        &self,
        id: Id,
        f: impl FnOnce(&Arc<T>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        if id.raw() < 0 {
            return Err(Errno::EINVAL);
        }
        let entry = self.lookup.slot(id.index()).ok_or(Errno::EINVAL)?.read();
        match &*entry {
            Some((live, obj)) if *live == id => f(obj),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Runs `f` on the object in slot `index` whatever its sequence number
    /// (`ipc_obtain_object_idr`, for `*_STAT`): `EINVAL` when negative or empty. Only the index
    /// bits of `index` count, as in Linux.
    pub(crate) fn with_index<R>(
        &self,
        index: i32,
        f: impl FnOnce(Id, &Arc<T>) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        if index < 0 {
            return Err(Errno::EINVAL);
        }
        let table = self.table.read();
        let slot = table.slot(Id::from_raw(index).index())?;
        f(slot.id, &slot.obj)
    }

    /// `ipc_rmid()` after a veto: runs `f` on the object named by `id` with the table
    /// write-locked, and removes the object only if `f` succeeds, so the check (ownership) and
    /// the removal cannot be split by another call.
    pub(crate) fn remove<R>(
        &self,
        id: Id,
        f: impl FnOnce(&T) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        self.remove_with(id, |obj| Ok((Removal::Unlink, f(obj)?)))
    }

    /// As [`remove`](Self::remove), but `f` decides what becomes of the object: unlinked, or
    /// kept under its id with its key made private (`ipc_set_key_private`, for a segment that
    /// is still attached).
    pub(crate) fn remove_with<R>(
        &self,
        id: Id,
        f: impl FnOnce(&T) -> Result<(Removal, R), Errno>,
    ) -> Result<R, Errno> {
        let mut table = self.table.write();
        let index = id.index();
        let obj = Arc::clone(&table.by_id(id)?.obj);
        // Exclusive with every lookup of this object while the veto runs.
        let mut entry = self.lookup.slot_or_init(index).write();
        let (removal, r) = f(&obj)?;
        match removal {
            Removal::Unlink => {
                table.unlink(index);
                *entry = None;
            }
            Removal::HideKey => table.hide_key(index),
        }
        Ok(r)
    }

    /// Visits every object in index order, with the table read-locked.
    pub(crate) fn for_each(&self, mut f: impl FnMut(Id, &T)) {
        let table = self.table.read();
        for slot in table.slots.iter().flatten() {
            f(slot.id, &slot.obj);
        }
    }

    /// The number of objects (`ids->in_use`).
    pub(crate) fn len(&self) -> usize {
        self.table.read().in_use
    }

    /// The highest used index as `IPC_INFO` and `*_INFO` return it: 0 when empty
    /// (`ipc_get_maxidx`, clamped as the `*ctl_info` functions clamp it).
    pub(crate) fn max_index(&self) -> i32 {
        let table = self.table.read();
        if table.in_use == abi::IPCMNI as usize {
            return abi::IPCMNI - 1;
        }
        table.max_idx.max(0) as i32
    }

    /// The checkpoint/restore knob: the id the next creation will get, or -1.
    pub(crate) fn next_id(&self) -> i32 {
        self.table.read().next_id
    }

    /// Sets the checkpoint/restore knob (-1 clears it). The caller validates the range.
    pub(crate) fn set_next_id(&self, id: i32) {
        self.table.write().next_id = id;
    }
}

impl<T: IpcObject> Registry<T> {
    /// The object named by `id`, as a handle that outlives the table's lock (`EINVAL` if none).
    pub(crate) fn get(&self, id: Id) -> Result<Arc<T>, Errno> {
        self.with(id, |obj| Ok(Arc::clone(obj)))
    }

    /// `*_STAT` (read permission) or `*_STAT_ANY` (`any`): the object in slot `index`, with its
    /// full id.
    pub(crate) fn stat_index(
        &self,
        cred: &Credentials,
        index: i32,
        any: bool,
    ) -> Result<(Id, T::Stat), Errno> {
        let obj = self.with_index(index, |_, obj| Ok(Arc::clone(obj)))?;
        let ds = obj.stat_as((!any).then_some(cred))?;
        Ok((obj.id(), ds))
    }
}

impl<T> Table<T> {
    fn slot(&self, index: usize) -> Result<&Slot<T>, Errno> {
        self.slots
            .get(index)
            .and_then(Option::as_ref)
            .ok_or(Errno::EINVAL)
    }

    fn by_id(&self, id: Id) -> Result<&Slot<T>, Errno> {
        if id.raw() < 0 {
            return Err(Errno::EINVAL);
        }
        let slot = self.slot(id.index())?;
        if slot.id.seq() != id.seq() {
            return Err(Errno::EINVAL);
        }
        Ok(slot)
    }

    fn by_key(&self, key: Key) -> Option<&Slot<T>> {
        let index = *self.keys.get(&key)?;
        self.slots.get(index)?.as_ref()
    }

    fn check_existing(
        slot: &Slot<T>,
        flags: i32,
        existing: impl FnOnce(&T) -> Result<(), Errno>,
    ) -> Result<Id, Errno> {
        if flags & abi::IPC_CREAT != 0 && flags & abi::IPC_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        existing(&slot.obj)?;
        Ok(slot.id)
    }

    /// `ipc_addid()`: the limit check, then the id (`ipc_idr_alloc`), then the object.
    fn insert<B: FnOnce(Id) -> T>(&mut self, key: Key, limit: i32, build: B) -> Result<Id, Errno> {
        let limit = limit.clamp(0, abi::IPCMNI) as usize;
        if self.in_use >= limit {
            return Err(Errno::ENOSPC);
        }
        let (seq, index) = if self.next_id >= 0 {
            // The knob is consumed only here, after the checks that may still fail.
            // The index is bounded by IPCMNI (Linux fa0b9b2b7ae3, "ipc: limit next_id
            // allocation to the valid ID range"): past it the id would name another slot.
            let next = Id::from_raw(std::mem::replace(&mut self.next_id, -1));
            let index = self
                .used
                .first_free(next.index(), abi::IPCMNI as usize)
                .ok_or(Errno::ENOSPC)?;
            (next.seq() as u32, index)
        } else {
            let end = (self.in_use * 3 / 2)
                .max(abi::IPC_MIN_CYCLE as usize)
                .min(abi::IPCMNI as usize);
            let index = self
                .used
                .first_free(self.cursor, end)
                .or_else(|| self.used.first_free(0, end))
                .ok_or(Errno::ENOSPC)?;
            self.cursor = index + 1;
            if index as isize <= self.last_idx {
                self.seq += 1;
                if self.seq >= abi::IPCID_SEQ_MAX as u32 {
                    self.seq = 0;
                }
            }
            self.last_idx = index as isize;
            (self.seq, index)
        };
        let id = Id::new(seq, index as u32);
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        self.slots[index] = Some(Slot {
            id,
            key,
            obj: Arc::new(build(id)),
        });
        self.used.insert(index);
        if !key.is_private() {
            self.keys.insert(key, index);
        }
        self.in_use += 1;
        self.max_idx = self.max_idx.max(index as isize);
        Ok(id)
    }

    fn hide_key(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if !slot.key.is_private() {
            self.keys.remove(&slot.key);
            slot.key = Key::PRIVATE;
        }
    }

    fn unlink(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        if !slot.key.is_private() {
            self.keys.remove(&slot.key);
        }
        self.used.remove(index);
        self.in_use -= 1;
        if index as isize == self.max_idx {
            self.max_idx = self.used.last().map_or(-1, |i| i as isize);
        }
    }
}

/// A set of small integers as a bitmap, with "first absent at or after" search.
#[derive(Default)]
struct IndexSet {
    words: Vec<u64>,
}

impl IndexSet {
    fn insert(&mut self, i: usize) {
        let w = i / 64;
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (i % 64);
    }

    fn remove(&mut self, i: usize) {
        if let Some(word) = self.words.get_mut(i / 64) {
            *word &= !(1 << (i % 64));
        }
    }

    /// The first index in `[from, end)` that is not in the set.
    fn first_free(&self, from: usize, end: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut mask = !0u64 << (from % 64);
        while w < self.words.len() {
            let free = !self.words[w] & mask;
            if free != 0 {
                let i = w * 64 + free.trailing_zeros() as usize;
                return (i < end).then_some(i);
            }
            w += 1;
            mask = !0;
        }
        let i = from.max(self.words.len() * 64);
        (i < end).then_some(i)
    }

    /// The highest index in the set.
    fn last(&self) -> Option<usize> {
        let (w, word) = self
            .words
            .iter()
            .enumerate()
            .rev()
            .find(|(_, w)| **w != 0)?;
        Some(w * 64 + 63 - word.leading_zeros() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(r: &Registry<u32>, key: i32) -> Result<Id, Errno> {
        r.get_or_create(
            Key(key),
            abi::IPC_CREAT,
            abi::MSGMNI,
            |_| Ok(()),
            || Ok(|_| 0),
        )
    }

    fn rm(r: &Registry<u32>, id: Id) {
        r.remove(id, |_| Ok(())).unwrap();
    }

    #[test]
    fn first_ids_in_a_fresh_registry_are_0_1_2() {
        let r = Registry::default();
        let ids: Vec<i32> = (0..3).map(|_| create(&r, 0).unwrap().raw()).collect();
        assert_eq!(ids, [0, 1, 2]);
    }

    #[test]
    fn removed_index_is_not_reused_until_allocator_wraps() {
        // The sequence observed on Linux 6.18 in a fresh namespace.
        let r = Registry::default();
        for _ in 0..3 {
            create(&r, 0).unwrap();
        }
        let mut seen = Vec::new();
        for _ in 0..70 {
            let id = create(&r, 0).unwrap();
            seen.push(id.raw());
            rm(&r, id);
        }
        assert_eq!(seen[..61], (3..64).collect::<Vec<_>>()[..]);
        assert_eq!(
            seen[61..],
            [
                32771, 32772, 32773, 32774, 32775, 32776, 32777, 32778, 32779
            ]
        );
        rm(&r, Id::from_raw(1));
        assert_eq!(create(&r, 0).unwrap().raw(), 32780);
    }

    #[test]
    fn stale_id_with_old_sequence_is_einval() {
        let r = Registry::default();
        let id = create(&r, 0).unwrap();
        assert!(r.with(id, |_| Ok(())).is_ok());
        assert_eq!(
            r.with(Id::from_raw(id.raw() + 32768), |_| Ok(())),
            Err(Errno::EINVAL)
        );
        assert_eq!(r.with(Id::from_raw(-1), |_| Ok(())), Err(Errno::EINVAL));
    }

    #[test]
    fn index_lookup_ignores_sequence_bits() {
        let r = Registry::default();
        let id = create(&r, 0).unwrap();
        assert_eq!(r.with_index(32768, |got, _| Ok(got)), Ok(id));
        assert_eq!(r.with_index(1, |got, _| Ok(got)), Err(Errno::EINVAL));
        assert_eq!(r.with_index(-1, |got, _| Ok(got)), Err(Errno::EINVAL));
    }

    #[test]
    fn key_lookup_order_is_eexist_then_checks_then_enoent() {
        let r = Registry::default();
        let id = create(&r, 5).unwrap();
        let flags = abi::IPC_CREAT | abi::IPC_EXCL;
        assert_eq!(
            r.get_or_create(Key(5), flags, 10, |_| Err(Errno::EACCES), || Ok(|_| 0)),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            r.get_or_create(Key(5), 0, 10, |_| Err(Errno::EACCES), || Ok(|_| 0)),
            Err(Errno::EACCES)
        );
        assert_eq!(
            r.get_or_create(Key(5), 0, 10, |_| Ok(()), || Ok(|_| 0)),
            Ok(id)
        );
        assert_eq!(
            r.get_or_create(Key(6), abi::IPC_EXCL, 10, |_| Ok(()), || Ok(|_| 0)),
            Err(Errno::ENOENT)
        );
    }

    #[test]
    fn private_key_always_creates_and_is_never_found() {
        let r = Registry::default();
        let flags = abi::IPC_CREAT | abi::IPC_EXCL;
        let a = r
            .get_or_create(Key::PRIVATE, flags, 10, |_| Ok(()), || Ok(|_| 0))
            .unwrap();
        let b = r
            .get_or_create(Key::PRIVATE, 0, 10, |_| Ok(()), || Ok(|_| 0))
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn limit_is_checked_after_type_checks_and_only_when_creating() {
        let r = Registry::default();
        create(&r, 1).unwrap();
        let prepare_fails = || Err::<fn(Id) -> u32, _>(Errno::EINVAL);
        assert_eq!(
            r.get_or_create(Key(2), abi::IPC_CREAT, 1, |_| Ok(()), prepare_fails),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            r.get_or_create(Key(2), abi::IPC_CREAT, 1, |_| Ok(()), || Ok(|_| 0)),
            Err(Errno::ENOSPC)
        );
        assert!(
            r.get_or_create(Key(1), abi::IPC_CREAT, 0, |_| Ok(()), || Ok(|_| 0))
                .is_ok()
        );
    }

    #[test]
    fn next_id_sets_seq_and_first_free_index_then_resets() {
        let r = Registry::default();
        r.set_next_id(100);
        assert_eq!(create(&r, 0).unwrap().raw(), 100);
        assert_eq!(r.next_id(), -1);
        assert_eq!(create(&r, 0).unwrap().raw(), 0);
        r.set_next_id(3 << 15 | 7);
        assert_eq!(create(&r, 0).unwrap().raw(), 98311);
        r.set_next_id(100);
        assert_eq!(create(&r, 0).unwrap().raw(), 101);
        assert_eq!(create(&r, 0).unwrap().raw(), 1);
    }

    #[test]
    fn next_id_survives_a_failed_creation() {
        let r = Registry::default();
        r.set_next_id(100);
        assert_eq!(
            r.get_or_create(Key::PRIVATE, 0, 0, |_| Ok(()), || Ok(|_| 0)),
            Err(Errno::ENOSPC)
        );
        assert_eq!(r.next_id(), 100);
    }

    #[test]
    fn max_index_tracks_highest_used_slot() {
        let r = Registry::default();
        assert_eq!(r.max_index(), 0);
        let ids: Vec<Id> = (0..4).map(|_| create(&r, 0).unwrap()).collect();
        assert_eq!(r.max_index(), 3);
        rm(&r, ids[3]);
        rm(&r, ids[2]);
        assert_eq!(r.max_index(), 1);
        rm(&r, ids[1]);
        rm(&r, ids[0]);
        assert_eq!(r.max_index(), 0);
    }

    #[test]
    fn removal_veto_keeps_the_object() {
        let r = Registry::default();
        let id = create(&r, 9).unwrap();
        assert_eq!(
            r.remove(id, |_| Err::<(), _>(Errno::EPERM)),
            Err(Errno::EPERM)
        );
        assert_eq!(
            r.get_or_create(Key(9), 0, 10, |_| Ok(()), || Ok(|_| 0)),
            Ok(id)
        );
        rm(&r, id);
        assert_eq!(
            r.get_or_create(Key(9), 0, 10, |_| Ok(()), || Ok(|_| 0)),
            Err(Errno::ENOENT)
        );
        assert_eq!(r.remove(id, |_| Ok(())), Err(Errno::EINVAL));
    }

    #[test]
    fn index_set_finds_first_free() {
        let mut s = IndexSet::default();
        for i in 0..130 {
            s.insert(i);
        }
        s.remove(70);
        assert_eq!(s.first_free(0, 200), Some(70));
        assert_eq!(s.first_free(71, 200), Some(130));
        assert_eq!(s.first_free(71, 130), None);
        assert_eq!(s.last(), Some(129));
    }
}
