//! The `*_ds` and info structures decoded from a buffer after a stat or info call, field by
//! field, each field marked as a plain number, a time or a pid so that the comparison can
//! normalise the last two.

use std::fmt;

use sysvipc_abi as abi;

use crate::scenario::Sys;

/// Which structure a call wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StructKind {
    /// `struct msqid64_ds`.
    Msqid,
    /// `struct msginfo`.
    Msginfo,
    /// `struct semid64_ds`.
    Semid,
    /// `struct seminfo`.
    Seminfo,
    /// `struct shmid64_ds`.
    Shmid,
    /// `struct shminfo64`.
    Shminfo,
    /// `struct shm_info`.
    ShmInfo,
}

impl StructKind {
    /// The structure a successful `sys` with command `cmd` wrote to its buffer, if any.
    pub fn written_by(sys: Sys, cmd: i32) -> Option<StructKind> {
        Some(match (sys, cmd) {
            (Sys::MsgCtl, abi::IPC_STAT | abi::MSG_STAT | abi::MSG_STAT_ANY) => StructKind::Msqid,
            (Sys::MsgCtl, abi::IPC_INFO | abi::MSG_INFO) => StructKind::Msginfo,
            (Sys::SemCtl, abi::IPC_STAT | abi::SEM_STAT | abi::SEM_STAT_ANY) => StructKind::Semid,
            (Sys::SemCtl, abi::IPC_INFO | abi::SEM_INFO) => StructKind::Seminfo,
            (Sys::ShmCtl, abi::IPC_STAT | abi::SHM_STAT | abi::SHM_STAT_ANY) => StructKind::Shmid,
            (Sys::ShmCtl, abi::IPC_INFO) => StructKind::Shminfo,
            (Sys::ShmCtl, abi::SHM_INFO) => StructKind::ShmInfo,
            _ => return None,
        })
    }

    /// Its size in bytes.
    pub fn size(self) -> usize {
        use std::mem::size_of;
        match self {
            StructKind::Msqid => size_of::<abi::Msqid64Ds>(),
            StructKind::Msginfo => size_of::<abi::Msginfo>(),
            StructKind::Semid => size_of::<abi::Semid64Ds>(),
            StructKind::Seminfo => size_of::<abi::Seminfo>(),
            StructKind::Shmid => size_of::<abi::Shmid64Ds>(),
            StructKind::Shminfo => size_of::<abi::Shminfo64>(),
            StructKind::ShmInfo => size_of::<abi::ShmInfo>(),
        }
    }

    /// Whether it describes one object (and so has times and pids).
    pub fn is_ds(self) -> bool {
        matches!(
            self,
            StructKind::Msqid | StructKind::Semid | StructKind::Shmid
        )
    }
}

/// How a field is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Exactly.
    Plain,
    /// As zero / unchanged / advanced since the previous stat of the object.
    Time,
    /// As zero / this process / another number.
    Pid,
}

/// One decoded field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name, e.g. `msg_perm.uid`.
    pub name: &'static str,
    /// How it is compared.
    pub class: Class,
    /// Its value (unsigned fields of 64 bits as their bit pattern).
    pub value: i64,
}

/// A decoded structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Which structure.
    pub kind: StructKind,
    /// Every field, padding included, in memory order.
    pub fields: Vec<Field>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    fields: Vec<Field>,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        if let Some(src) = self.bytes.get(self.at..self.at + N) {
            out.copy_from_slice(src);
        }
        self.at += N;
        out
    }

    fn push(&mut self, name: &'static str, class: Class, value: i64) {
        self.fields.push(Field { name, class, value });
    }

    fn i32(&mut self, name: &'static str, class: Class) {
        let v = i32::from_ne_bytes(self.take());
        self.push(name, class, i64::from(v));
    }

    fn u32(&mut self, name: &'static str) {
        let v = u32::from_ne_bytes(self.take());
        self.push(name, Class::Plain, i64::from(v));
    }

    fn u16(&mut self, name: &'static str) {
        let v = u16::from_ne_bytes(self.take());
        self.push(name, Class::Plain, i64::from(v));
    }

    fn i64(&mut self, name: &'static str, class: Class) {
        let v = i64::from_ne_bytes(self.take());
        self.push(name, class, v);
    }

    fn perm(&mut self, p: [&'static str; 11]) {
        self.i32(p[0], Class::Plain);
        for name in &p[1..6] {
            self.u32(name);
        }
        self.u16(p[6]);
        self.u16(p[7]);
        self.u32(p[8]);
        self.i64(p[9], Class::Plain);
        self.i64(p[10], Class::Plain);
    }
}

macro_rules! perm {
    ($p:literal) => {
        [
            concat!($p, ".key"),
            concat!($p, ".uid"),
            concat!($p, ".gid"),
            concat!($p, ".cuid"),
            concat!($p, ".cgid"),
            concat!($p, ".mode"),
            concat!($p, ".seq"),
            concat!($p, ".pad2"),
            concat!($p, ".pad3"),
            concat!($p, ".unused1"),
            concat!($p, ".unused2"),
        ]
    };
}

/// Decodes `bytes` (at least `kind.size()` of them; missing bytes read as zero).
pub fn decode(kind: StructKind, bytes: &[u8]) -> Decoded {
    decode_counting(kind, bytes).0
}

/// [`decode`], and how many bytes the fields covered.
fn decode_counting(kind: StructKind, bytes: &[u8]) -> (Decoded, usize) {
    use Class::{Pid, Plain, Time};
    let mut r = Reader {
        bytes,
        at: 0,
        fields: Vec::new(),
    };
    match kind {
        StructKind::Msqid => {
            r.perm(perm!("msg_perm"));
            r.i64("msg_stime", Time);
            r.i64("msg_rtime", Time);
            r.i64("msg_ctime", Time);
            r.i64("msg_cbytes", Plain);
            r.i64("msg_qnum", Plain);
            r.i64("msg_qbytes", Plain);
            r.i32("msg_lspid", Pid);
            r.i32("msg_lrpid", Pid);
            r.i64("unused4", Plain);
            r.i64("unused5", Plain);
        }
        StructKind::Msginfo => {
            for name in [
                "msgpool", "msgmap", "msgmax", "msgmnb", "msgmni", "msgssz", "msgtql",
            ] {
                r.i32(name, Plain);
            }
            r.u16("msgseg");
            r.u16("pad");
        }
        StructKind::Semid => {
            r.perm(perm!("sem_perm"));
            r.i64("sem_otime", Time);
            #[cfg(target_arch = "x86_64")]
            r.i64("unused1", Plain);
            r.i64("sem_ctime", Time);
            #[cfg(target_arch = "x86_64")]
            r.i64("unused2", Plain);
            r.i64("sem_nsems", Plain);
            r.i64("unused3", Plain);
            r.i64("unused4", Plain);
        }
        StructKind::Seminfo => {
            for name in [
                "semmap", "semmni", "semmns", "semmnu", "semmsl", "semopm", "semume", "semusz",
                "semvmx", "semaem",
            ] {
                r.i32(name, Plain);
            }
        }
        StructKind::Shmid => {
            r.perm(perm!("shm_perm"));
            r.i64("shm_segsz", Plain);
            r.i64("shm_atime", Time);
            r.i64("shm_dtime", Time);
            r.i64("shm_ctime", Time);
            r.i32("shm_cpid", Pid);
            r.i32("shm_lpid", Pid);
            r.i64("shm_nattch", Plain);
            r.i64("unused4", Plain);
            r.i64("unused5", Plain);
        }
        StructKind::Shminfo => {
            for name in [
                "shmmax", "shmmin", "shmmni", "shmseg", "shmall", "unused1", "unused2", "unused3",
                "unused4",
            ] {
                r.i64(name, Plain);
            }
        }
        StructKind::ShmInfo => {
            r.i32("used_ids", Plain);
            r.u32("pad");
            for name in [
                "shm_tot",
                "shm_rss",
                "shm_swp",
                "swap_attempts",
                "swap_successes",
            ] {
                r.i64(name, Plain);
            }
        }
    }
    let covered = r.at;
    (
        Decoded {
            kind,
            fields: r.fields,
        },
        covered,
    )
}

impl Decoded {
    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<i64> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value)
    }
}

impl fmt::Display for Decoded {
    /// `{msg_perm.key=0, msg_perm.uid=0, …}`: modes in octal, padding left out when zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        let mut first = true;
        for field in &self.fields {
            let padding = field.name.contains("pad") || field.name.contains("unused");
            if padding && field.value == 0 {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            if field.name.ends_with(".mode") {
                write!(f, "{}={:#o}", field.name, field.value)?;
            } else if field.name.ends_with(".key") {
                write!(f, "{}={:#x}", field.name, field.value as i32)?;
            } else {
                write!(f, "{}={}", field.name, field.value)?;
            }
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_covers_every_byte_of_every_structure() {
        for kind in [
            StructKind::Msqid,
            StructKind::Msginfo,
            StructKind::Semid,
            StructKind::Seminfo,
            StructKind::Shmid,
            StructKind::Shminfo,
            StructKind::ShmInfo,
        ] {
            let bytes = vec![0u8; kind.size()];
            let (_, covered) = decode_counting(kind, &bytes);
            assert_eq!(covered, kind.size(), "{kind:?}");
        }
    }

    #[test]
    fn msqid_fields_land_on_the_abi_offsets() {
        let ds = abi::Msqid64Ds {
            msg_qbytes: 77,
            msg_lspid: 5,
            ..Default::default()
        };
        let mut bytes = vec![0u8; StructKind::Msqid.size()];
        let off = std::mem::offset_of!(abi::Msqid64Ds, msg_qbytes);
        bytes[off..off + 8].copy_from_slice(&ds.msg_qbytes.to_ne_bytes());
        let off = std::mem::offset_of!(abi::Msqid64Ds, msg_lspid);
        bytes[off..off + 4].copy_from_slice(&ds.msg_lspid.to_ne_bytes());
        let d = decode(StructKind::Msqid, &bytes);
        assert_eq!(d.get("msg_qbytes"), Some(77));
        assert_eq!(d.get("msg_lspid"), Some(5));
    }
}
