//! A message, and the ways `msgrcv` selects one.

use crate::abi;

/// A message exchanged through a queue by `msgsnd(2)` and `msgrcv(2)`: a positive type and an
/// untyped block of bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    /// The type the sender gave (`mtype`), always at least 1 once queued.
    pub mtype: i64,
    /// The text (`mtext`).
    pub text: Vec<u8>,
}

impl Message {
    /// A message of type `mtype` carrying `text`.
    pub fn new(mtype: i64, text: impl Into<Vec<u8>>) -> Self {
        Self {
            mtype,
            text: text.into(),
        }
    }

    /// The size of the text in bytes (`m_ts`).
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Which message a receiver wants (`convert_mode` and `testmsg` in `ipc/msg.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// `msgtyp == 0`: the oldest message.
    Any,
    /// `msgtyp > 0`: the oldest message of this type.
    Equal(i64),
    /// `msgtyp > 0` with `MSG_EXCEPT`: the oldest message of any other type.
    NotEqual(i64),
    /// `msgtyp < 0`: the oldest message of the lowest type at most `|msgtyp|`.
    LessEqual(i64),
}

impl Selector {
    /// Decodes `msgtyp` and the receive flags as Linux does: `MSG_EXCEPT` only counts for a
    /// positive type, and `LONG_MIN` (whose negation overflows) means `LONG_MAX`.
    pub fn from_msgtyp(msgtyp: i64, flags: i32) -> Self {
        match msgtyp {
            0 => Self::Any,
            t if t < 0 => Self::LessEqual(t.checked_neg().unwrap_or(i64::MAX)),
            t if flags & abi::MSG_EXCEPT != 0 => Self::NotEqual(t),
            t => Self::Equal(t),
        }
    }

    /// Whether a message of type `mtype` satisfies this selector (`testmsg`).
    pub fn matches(self, mtype: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Equal(t) => mtype == t,
            Self::NotEqual(t) => mtype != t,
            Self::LessEqual(t) => mtype <= t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgtyp_decoding_follows_convert_mode() {
        assert_eq!(Selector::from_msgtyp(0, abi::MSG_EXCEPT), Selector::Any);
        assert_eq!(Selector::from_msgtyp(3, 0), Selector::Equal(3));
        assert_eq!(
            Selector::from_msgtyp(3, abi::MSG_EXCEPT),
            Selector::NotEqual(3)
        );
        assert_eq!(
            Selector::from_msgtyp(-3, abi::MSG_EXCEPT),
            Selector::LessEqual(3)
        );
        assert_eq!(
            Selector::from_msgtyp(i64::MIN, 0),
            Selector::LessEqual(i64::MAX)
        );
    }

    #[test]
    fn negative_selector_includes_equal_type() {
        assert!(Selector::LessEqual(5).matches(5));
        assert!(Selector::LessEqual(5).matches(1));
        assert!(!Selector::LessEqual(5).matches(6));
    }
}
