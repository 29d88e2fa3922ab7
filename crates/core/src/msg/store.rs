//! The messages of one queue, indexed so that every selector costs O(log n).
//!
//! Messages are kept in one FIFO per type, ordered by type (`by_type`), plus, while two or
//! more types are queued, the set of FIFO heads ordered by arrival (`heads`):
//!
//! - [`Selector::Any`]: the first head (the oldest message), or the only queued type's.
//! - [`Selector::Equal`]: the head of that type's FIFO.
//! - [`Selector::NotEqual`]: the first or second head, whichever has another type.
//! - [`Selector::LessEqual`]: the head of the lowest non-empty type's FIFO, if low enough.
//!
//! Most queues carry one type at a time, so that case touches no ordered set: with a single
//! non-empty FIFO (`sole`), `heads` is empty, and it is built (two entries) only when a second
//! type arrives. The FIFO emptied last stays in `by_type` (`kept_empty`), so a queue that
//! oscillates between empty and a few messages of one type neither rebalances a tree nor
//! allocates anything but the message text.
//!
//! Invariants: `by_type` holds the non-empty FIFOs (`nonempty` of them) plus at most one
//! empty one, `kept_empty`; `sole` is the type of the only non-empty FIFO when `nonempty ==
//! 1`; `heads` holds `(seq of the FIFO's first message, type)` for each non-empty FIFO when
//! `nonempty >= 2` and is empty otherwise; `count` and `bytes` total the messages.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::message::{Message, Selector};

/// The most entries an emptied FIFO keeps room for.
const KEPT_CAPACITY: usize = 64;

/// A message with its arrival number.
type Entry = (u64, Message);

/// The queued messages of one queue.
#[derive(Default)]
pub(crate) struct MessageStore {
    by_type: BTreeMap<i64, VecDeque<Entry>>,
    heads: BTreeSet<(u64, i64)>,
    nonempty: usize,
    sole: i64,
    kept_empty: Option<i64>,
    next_seq: u64,
    count: usize,
    bytes: usize,
}

impl MessageStore {
    /// How many messages are queued (`q_qnum`).
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// How many bytes of text are queued (`q_cbytes`).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends `msg` at the tail of the queue.
    pub(crate) fn push(&mut self, msg: Message) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.count += 1;
        self.bytes += msg.len();
        let mtype = msg.mtype;
        let fifo = self.by_type.entry(mtype).or_default();
        let was_empty = fifo.is_empty();
        fifo.push_back((seq, msg));
        if !was_empty {
            return;
        }
        if self.kept_empty == Some(mtype) {
            self.kept_empty = None;
        }
        self.nonempty += 1;
        match self.nonempty {
            1 => self.sole = mtype,
            2 => {
                let sole_seq = self.by_type[&self.sole][0].0;
                self.heads.insert((sole_seq, self.sole));
                self.heads.insert((seq, mtype));
            }
            _ => {
                self.heads.insert((seq, mtype));
            }
        }
    }

    /// The message `selector` picks, with its type, if any.
    pub(crate) fn find(&self, selector: Selector) -> Option<(i64, &Message)> {
        let mtype = match selector {
            Selector::Any => self.oldest_type()?,
            Selector::Equal(t) => t,
            Selector::NotEqual(t) => match self.nonempty {
                0 => return None,
                1 => Some(self.sole).filter(|s| *s != t)?,
                _ => self.heads.iter().find(|(_, mtype)| *mtype != t)?.1,
            },
            Selector::LessEqual(t) => {
                let (&lowest, _) = self.by_type.iter().find(|(_, f)| !f.is_empty())?;
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
        let next = fifo.front().map(|(next, _)| *next);
        if next.is_none() && fifo.capacity() > KEPT_CAPACITY {
            // An emptied FIFO is kept for reuse, but not the room a burst made.
            fifo.shrink_to(KEPT_CAPACITY);
        }
        self.count -= 1;
        self.bytes -= msg.len();
        if self.nonempty >= 2 {
            self.heads.remove(&(seq, mtype));
            if let Some(next) = next {
                self.heads.insert((next, mtype));
            }
        }
        if next.is_none() {
            self.nonempty -= 1;
            if self.nonempty == 1 {
                // Back to one type: it is the head left.
                self.sole = self.heads.pop_first().map_or(0, |(_, t)| t);
                self.heads.clear();
            }
            if let Some(old) = self.kept_empty.replace(mtype) {
                self.by_type.remove(&old);
            }
        }
        Some(msg)
    }

    /// The `n`th message in arrival order (0 is the oldest), for `MSG_COPY`: a k-way merge of
    /// the FIFOs, O(n log k).
    pub(crate) fn nth(&self, n: usize) -> Option<&Message> {
        if n >= self.count {
            return None;
        }
        if self.nonempty == 1 {
            return self.by_type.get(&self.sole)?.get(n).map(|(_, m)| m);
        }
        let mut cursors: std::collections::BinaryHeap<std::cmp::Reverse<(u64, i64, usize)>> = self
            .heads
            .iter()
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

    /// Drops every message.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// The type of the oldest message.
    fn oldest_type(&self) -> Option<i64> {
        match self.nonempty {
            0 => None,
            1 => Some(self.sole),
            _ => self.heads.first().map(|(_, t)| *t),
        }
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
