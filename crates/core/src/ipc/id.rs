//! Keys and identifiers.
//!
//! A key names an object for `*get`; an id names it for every other call. Linux composes ids
//! as `seq * SEQ_MULTIPLIER + index` (`ipc/util.h`): the index is the object's slot in its
//! registry and the sequence number changes when indexes wrap around, so a stale id misses.

use std::fmt;

use crate::abi;

/// A System V IPC key (`key_t`). [`Key::PRIVATE`] always creates a new object.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key(pub i32);

impl Key {
    /// `IPC_PRIVATE`: never entered in the key table.
    pub const PRIVATE: Key = Key(abi::IPC_PRIVATE);

    /// Whether this is `IPC_PRIVATE`.
    pub fn is_private(self) -> bool {
        self == Self::PRIVATE
    }

    /// The key that names `name`, for programs that name their objects instead of keying them
    /// (as POSIX queues and the Go `mq` package do).
    ///
    /// The mapping is stable — it will not change between versions, so two programs agree on
    /// it: the 32-bit FNV-1a hash of the name's UTF-8 bytes, reduced modulo `2^31 - 1`, plus
    /// one. Keys therefore lie in `1..=i32::MAX`: positive, never [`Key::PRIVATE`]. Distinct
    /// names may share a key (about one pair in two billion); the object is then shared too.
    ///
    /// ```
    /// use sysvipc::Key;
    ///
    /// assert_eq!(Key::from_name("foobar"), Key(1_067_252_074));
    /// assert!(!Key::from_name("").is_private());
    /// ```
    pub fn from_name(name: &str) -> Key {
        const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
        const FNV_PRIME: u32 = 0x0100_0193;
        let hash = name.bytes().fold(FNV_OFFSET_BASIS, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(FNV_PRIME)
        });
        let folded = hash % (i32::MAX as u32) + 1;
        Key(folded as i32)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:#010x})", self.0)
    }
}

/// An object identifier as `msgget`/`semget`/`shmget` return it: `seq << 15 | index`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(i32);

impl Id {
    /// The id Linux composes from a sequence number and an index (`seq << 15` plus `index`,
    /// with the kernel's wrapping arithmetic on `int`).
    pub fn new(seq: u32, index: u32) -> Id {
        // `seq` never exceeds IPCID_SEQ_MAX, so the shift stays within an int; a restored
        // index beyond the table is added as the kernel adds it.
        Id((seq << abi::IPCMNI_SHIFT).wrapping_add(index) as i32)
    }

    /// An id as the caller passed it; lookups reject the ones that name nothing.
    pub const fn from_raw(raw: i32) -> Id {
        Id(raw)
    }

    /// The integer the caller sees.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The registry slot this id names (`ipcid_to_idx`).
    pub const fn index(self) -> usize {
        (self.0 & (abi::IPCMNI - 1)) as usize
    }

    /// The sequence number this id carries (`ipcid_to_seqx`).
    pub const fn seq(self) -> i32 {
        self.0 >> abi::IPCMNI_SHIFT
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_seq_times_32768_plus_index() {
        let id = Id::new(3, 7);
        assert_eq!(id.raw(), 3 * 32768 + 7);
        assert_eq!((id.seq(), id.index()), (3, 7));
    }

    #[test]
    fn negative_raw_id_has_negative_seq() {
        assert_eq!(Id::from_raw(-1).seq(), -1);
        assert_eq!(Id::from_raw(-1).index(), 32767);
    }

    #[test]
    fn name_keys_are_fnv1a_folded_into_positive_ints() {
        // FNV-1a vectors: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968; each
        // reduced modulo 2^31 - 1, plus one.
        let folded = |h: u32| Key((h % 0x7fff_ffff + 1) as i32);
        assert_eq!(Key::from_name(""), folded(0x811c_9dc5));
        assert_eq!(Key::from_name("a"), folded(0xe40c_292c));
        assert_eq!(Key::from_name("foobar"), folded(0xbf9c_f968));
        assert_eq!(Key::from_name("foobar"), Key(1_067_252_074));
        assert_eq!(Key::from_name("jobs"), Key(1_678_184_575));
        for name in ["", "a", "jobs", "/dev/shm/x", "\u{1f980}"] {
            assert!(Key::from_name(name).0 > 0, "{name:?}");
        }
    }

    #[test]
    fn private_key_is_zero() {
        assert!(Key(0).is_private());
        assert!(!Key(1).is_private());
    }
}
