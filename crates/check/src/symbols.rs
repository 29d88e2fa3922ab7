//! The symbolic names a scenario may use: constants (`IPC_CREAT`…), capabilities
//! (`IPC_OWNER` or `CAP_IPC_OWNER`) and the fields of the `*_ds` structures that `put` can
//! address by name. Every value comes from `sysvipc-abi`.

use std::mem::offset_of;

use sysvipc_abi as abi;

/// Every constant a scenario may name, with its value.
pub const CONSTANTS: &[(&str, i64)] = &[
    ("IPC_PRIVATE", abi::IPC_PRIVATE as i64),
    ("IPC_CREAT", abi::IPC_CREAT as i64),
    ("IPC_EXCL", abi::IPC_EXCL as i64),
    ("IPC_NOWAIT", abi::IPC_NOWAIT as i64),
    ("IPC_RMID", abi::IPC_RMID as i64),
    ("IPC_SET", abi::IPC_SET as i64),
    ("IPC_STAT", abi::IPC_STAT as i64),
    ("IPC_INFO", abi::IPC_INFO as i64),
    ("IPC_64", abi::IPC_64 as i64),
    ("MSG_STAT", abi::MSG_STAT as i64),
    ("MSG_INFO", abi::MSG_INFO as i64),
    ("MSG_STAT_ANY", abi::MSG_STAT_ANY as i64),
    ("MSG_NOERROR", abi::MSG_NOERROR as i64),
    ("MSG_EXCEPT", abi::MSG_EXCEPT as i64),
    ("MSG_COPY", abi::MSG_COPY as i64),
    ("MSGMAX", abi::MSGMAX as i64),
    ("MSGMNB", abi::MSGMNB as i64),
    ("SEM_UNDO", abi::SEM_UNDO as i64),
    ("GETPID", abi::GETPID as i64),
    ("GETVAL", abi::GETVAL as i64),
    ("GETALL", abi::GETALL as i64),
    ("GETNCNT", abi::GETNCNT as i64),
    ("GETZCNT", abi::GETZCNT as i64),
    ("SETVAL", abi::SETVAL as i64),
    ("SETALL", abi::SETALL as i64),
    ("SEM_STAT", abi::SEM_STAT as i64),
    ("SEM_INFO", abi::SEM_INFO as i64),
    ("SEM_STAT_ANY", abi::SEM_STAT_ANY as i64),
    ("SEMOPM", abi::SEMOPM as i64),
    ("SEMVMX", abi::SEMVMX as i64),
    ("SEMMSL", abi::SEMMSL as i64),
    ("SHM_R", abi::SHM_R as i64),
    ("SHM_W", abi::SHM_W as i64),
    ("SHM_HUGETLB", abi::SHM_HUGETLB as i64),
    ("SHM_NORESERVE", abi::SHM_NORESERVE as i64),
    ("SHM_RDONLY", abi::SHM_RDONLY as i64),
    ("SHM_RND", abi::SHM_RND as i64),
    ("SHM_REMAP", abi::SHM_REMAP as i64),
    ("SHM_EXEC", abi::SHM_EXEC as i64),
    ("SHM_LOCK", abi::SHM_LOCK as i64),
    ("SHM_UNLOCK", abi::SHM_UNLOCK as i64),
    ("SHM_STAT", abi::SHM_STAT as i64),
    ("SHM_INFO", abi::SHM_INFO as i64),
    ("SHM_STAT_ANY", abi::SHM_STAT_ANY as i64),
    ("SHM_DEST", abi::SHM_DEST as i64),
    ("SHM_LOCKED", abi::SHM_LOCKED as i64),
    ("SHMLBA", abi::SHMLBA as i64),
    ("PAGE_SIZE", abi::PAGE_SIZE as i64),
    ("NULL", 0),
    ("PROT_NONE", 0),
    ("PROT_READ", 1),
    ("PROT_WRITE", 2),
    ("PROT_EXEC", 4),
    ("CLONE_SYSVSEM", 0x0004_0000),
];

/// The value of constant `name`.
pub fn constant(name: &str) -> Option<i64> {
    CONSTANTS.iter().find(|c| c.0 == name).map(|c| c.1)
}

/// Capabilities a caller may be given, by name without the `CAP_` prefix.
pub const CAPABILITIES: &[(&str, u32)] = &[
    ("IPC_LOCK", abi::CAP_IPC_LOCK),
    ("IPC_OWNER", abi::CAP_IPC_OWNER),
    ("SYS_ADMIN", abi::CAP_SYS_ADMIN),
    ("SYS_RESOURCE", abi::CAP_SYS_RESOURCE),
];

/// The capability called `name` (`IPC_OWNER` or `CAP_IPC_OWNER`).
pub fn capability(name: &str) -> Option<u32> {
    let bare = name.strip_prefix("CAP_").unwrap_or(name);
    CAPABILITIES.iter().find(|c| c.0 == bare).map(|c| c.1)
}

/// The name of capability bit `n`, if a scenario can name it.
pub fn capability_name(n: u32) -> Option<&'static str> {
    CAPABILITIES.iter().find(|c| c.1 == n).map(|c| c.0)
}

const PERM_MSG: usize = offset_of!(abi::Msqid64Ds, msg_perm);

/// Byte offsets `put` accepts by name: the `ipc64_perm` fields (the same offset in every
/// `*id64_ds`) and `msg_qbytes`, the fields `IPC_SET` reads.
pub const FIELDS: &[(&str, usize)] = &[
    ("perm.key", PERM_MSG + offset_of!(abi::Ipc64Perm, key)),
    ("perm.uid", PERM_MSG + offset_of!(abi::Ipc64Perm, uid)),
    ("perm.gid", PERM_MSG + offset_of!(abi::Ipc64Perm, gid)),
    ("perm.cuid", PERM_MSG + offset_of!(abi::Ipc64Perm, cuid)),
    ("perm.cgid", PERM_MSG + offset_of!(abi::Ipc64Perm, cgid)),
    ("perm.mode", PERM_MSG + offset_of!(abi::Ipc64Perm, mode)),
    ("msg_qbytes", offset_of!(abi::Msqid64Ds, msg_qbytes)),
];

/// The offset of field `name`.
pub fn field(name: &str) -> Option<usize> {
    FIELDS.iter().find(|f| f.0 == name).map(|f| f.1)
}

/// The sizes `put` items may have: `i8`…`u64` give 1…8 bytes.
pub fn int_width(name: &str) -> Option<usize> {
    Some(match name {
        "i8" | "u8" => 1,
        "i16" | "u16" => 2,
        "i32" | "u32" => 4,
        "i64" | "u64" => 8,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perm_fields_sit_at_the_same_offset_in_every_ds() {
        assert_eq!(offset_of!(abi::Msqid64Ds, msg_perm), 0);
        assert_eq!(offset_of!(abi::Semid64Ds, sem_perm), 0);
        assert_eq!(offset_of!(abi::Shmid64Ds, shm_perm), 0);
        assert_eq!(field("perm.mode"), Some(20));
    }

    #[test]
    fn capabilities_take_either_spelling() {
        assert_eq!(capability("CAP_IPC_OWNER"), Some(abi::CAP_IPC_OWNER));
        assert_eq!(capability("IPC_OWNER"), Some(abi::CAP_IPC_OWNER));
        assert_eq!(capability("CAP_NOPE"), None);
    }
}
