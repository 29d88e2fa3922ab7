//! The messages of one queue, indexed so that every selector costs O(log n).
//!
//! Messages are kept in one FIFO per type, ordered by type (`by_type`), plus the set of FIFO
//! heads ordered by arrival (`heads`):
//!
//! - [`Selector::Any`]: the first head: the oldest message.
//! - [`Selector::Equal`]: the head of that type's FIFO.
//! - [`Selector::NotEqual`]: the first or second head, whichever has another type.
//! - [`Selector::LessEqual`]: the head of the lowest type's FIFO, if that type is low enough.
//!
//! Invariants: `by_type` holds exactly the non-empty FIFOs, besides the permanent empty
//! `SENTINEL_TYPE` entry; `heads` holds `(seq of the FIFO's first message, type)` for each of
//! them, besides `SENTINEL_HEAD`; `count` and `bytes` total the messages. The sentinels keep
//! both trees from ever becoming empty, and `spare` keeps the buffer of the last emptied FIFO,
//! so a queue that oscillates between empty and a few messages of one type allocates nothing
//! but the message text.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::message::{Message, Selector};

/// Never a valid message type: types are at least 1.
const SENTINEL_TYPE: i64 = 0;
/// Sorts after every real head.
const SENTINEL_HEAD: (u64, i64) = (u64::MAX, SENTINEL_TYPE);

/// A message with its arrival number.
type Entry = (u64, Message);

/// The queued messages of one queue.
pub(crate) struct MessageStore {
    by_type: BTreeMap<i64, VecDeque<Entry>>,
    heads: BTreeSet<(u64, i64)>,
    spare: VecDeque<Entry>,
    next_seq: u64,
    count: usize,
    bytes: usize,
}

impl Default for MessageStore {
    fn default() -> Self {
        Self {
            by_type: BTreeMap::from([(SENTINEL_TYPE, VecDeque::new())]),
            heads: BTreeSet::from([SENTINEL_HEAD]),
            spare: VecDeque::new(),
            next_seq: 0,
            count: 0,
            bytes: 0,
        }
    }
}

impl MessageStore {
    /// Number of queued messages (`q_qnum`).
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Total text bytes queued (`q_cbytes`).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends `msg` (its type is at least 1).
    pub(crate) fn push(&mut self, msg: Message) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.count += 1;
        self.bytes += msg.len();
        let mtype = msg.mtype;
        let fifo = self
            .by_type
            .entry(mtype)
            .or_insert_with(|| std::mem::take(&mut self.spare));
        if fifo.is_empty() {
            self.heads.insert((seq, mtype));
        }
        fifo.push_back((seq, msg));
    }

    /// The type of the message `selector` picks, if any.
    pub(crate) fn find(&self, selector: Selector) -> Option<(i64, &Message)> {
        let mtype = match selector {
            Selector::Any => self.first_head()?,
            Selector::Equal(t) => t,
            Selector::NotEqual(t) => {
                let mut real = self.heads.iter().filter(|h| **h != SENTINEL_HEAD);
                real.find(|(_, mtype)| *mtype != t)?.1
            }
            Selector::LessEqual(t) => {
                let (&lowest, _) = self.by_type.range(SENTINEL_TYPE + 1..).next()?;
                if lowest > t {
                    return None;
                }
                lowest
            }
        };
        let (_, msg) = self.by_type.get(&mtype)?.front()?;
        Some((mtype, msg))
    }

    /// Removes and returns the oldest message of type `mtype`.
    pub(crate) fn pop(&mut self, mtype: i64) -> Option<Message> {
        let fifo = self.by_type.get_mut(&mtype)?;
        let (seq, msg) = fifo.pop_front()?;
        self.heads.remove(&(seq, mtype));
        match fifo.front() {
            Some(&(next, _)) => {
                self.heads.insert((next, mtype));
            }
            None => {
                if let Some(empty) = self.by_type.remove(&mtype) {
                    self.spare = empty;
                }
            }
        }
        self.count -= 1;
        self.bytes -= msg.len();
        Some(msg)
    }

    /// The `n`th message in arrival order, counting from 0 (for `MSG_COPY`). Costs O(n log k)
    /// for k types: it merges the FIFOs.
    pub(crate) fn nth(&self, n: usize) -> Option<&Message> {
        if n >= self.count {
            return None;
        }
        let mut cursors: std::collections::BinaryHeap<std::cmp::Reverse<(u64, i64, usize)>> = self
            .heads
            .iter()
            .filter(|h| **h != SENTINEL_HEAD)
            .map(|&(seq, t)| std::cmp::Reverse((seq, t, 0)))
            .collect();
        let mut left = n;
        while let Some(std::cmp::Reverse((_, t, pos))) = cursors.pop() {
            let fifo = self.by_type.get(&t)?;
            if left == 0 {
                return fifo.get(pos).map(|(_, m)| m);
            }
            left -= 1;
            if let Some((seq, _)) = fifo.get(pos + 1) {
                cursors.push(std::cmp::Reverse((*seq, t, pos + 1)));
            }
        }
        None
    }

    /// Removes every message (queue removal).
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    fn first_head(&self) -> Option<i64> {
        let &(_, mtype) = self.heads.first()?;
        (mtype != SENTINEL_TYPE).then_some(mtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(types: &[i64]) -> MessageStore {
        let mut s = MessageStore::default();
        for (i, &t) in types.iter().enumerate() {
            s.push(Message::new(t, vec![i as u8]));
        }
        s
    }

    /// Takes what `sel` selects, returning the text byte (the arrival index).
    fn take(s: &mut MessageStore, sel: Selector) -> Option<u8> {
        let (t, _) = s.find(sel)?;
        Some(s.pop(t)?.text[0])
    }

    #[test]
    fn any_selector_takes_messages_in_arrival_order() {
        let mut s = store(&[3, 1, 2, 1]);
        let got: Vec<_> = std::iter::from_fn(|| take(&mut s, Selector::Any)).collect();
        assert_eq!(got, [0, 1, 2, 3]);
        assert_eq!((s.count(), s.bytes()), (0, 0));
    }

    #[test]
    fn equal_selector_takes_oldest_of_type() {
        let mut s = store(&[3, 1, 2, 1]);
        assert_eq!(take(&mut s, Selector::Equal(1)), Some(1));
        assert_eq!(take(&mut s, Selector::Equal(1)), Some(3));
        assert_eq!(take(&mut s, Selector::Equal(1)), None);
    }

    #[test]
    fn except_selector_takes_oldest_of_other_types() {
        let mut s = store(&[3, 3, 1, 2]);
        assert_eq!(take(&mut s, Selector::NotEqual(3)), Some(2));
        assert_eq!(take(&mut s, Selector::NotEqual(3)), Some(3));
        assert_eq!(take(&mut s, Selector::NotEqual(3)), None);
        assert_eq!(take(&mut s, Selector::NotEqual(1)), Some(0));
    }

    #[test]
    fn less_equal_selector_takes_lowest_type_oldest_first() {
        let mut s = store(&[5, 2, 4, 2]);
        assert_eq!(take(&mut s, Selector::LessEqual(1)), None);
        assert_eq!(take(&mut s, Selector::LessEqual(4)), Some(1));
        assert_eq!(take(&mut s, Selector::LessEqual(4)), Some(3));
        assert_eq!(take(&mut s, Selector::LessEqual(4)), Some(2));
        assert_eq!(take(&mut s, Selector::LessEqual(4)), None);
        assert_eq!(take(&mut s, Selector::LessEqual(5)), Some(0));
    }

    #[test]
    fn nth_counts_in_arrival_order_across_types() {
        let s = store(&[3, 1, 2, 1, 3]);
        let got: Vec<_> = (0..6).map(|n| s.nth(n).map(|m| m.text[0])).collect();
        assert_eq!(got, [Some(0), Some(1), Some(2), Some(3), Some(4), None]);
    }

    #[test]
    fn counts_and_bytes_follow_push_and_pop() {
        let mut s = MessageStore::default();
        s.push(Message::new(1, vec![0; 10]));
        s.push(Message::new(2, Vec::new()));
        assert_eq!((s.count(), s.bytes()), (2, 10));
        s.pop(1);
        assert_eq!((s.count(), s.bytes()), (1, 0));
        s.clear();
        assert_eq!((s.count(), s.find(Selector::Any)), (0, None));
    }
}
