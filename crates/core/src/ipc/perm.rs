//! Permissions: the `ipc_perm` header every object carries and the rules Linux applies to it.
//!
//! - [`Perm::check`] is `ipcperms()` (`ipc/util.c`): the first matching class of owner
//!   (`uid`/`cuid`), group (`gid`/`cgid`) and other decides; `CAP_IPC_OWNER` bypasses it.
//! - [`Perm::check_owner`] is the `IPC_SET`/`IPC_RMID` authority of `ipcctl_obtain_check()`:
//!   owner, creator or `CAP_SYS_ADMIN`, else `EPERM`.
//! - [`Perm::update`] is `ipc_update_perm()`: `IPC_SET` changes `uid`, `gid` and the low nine
//!   mode bits, never the creator.

use crate::Errno;
use crate::abi;
use crate::cred::{Capabilities, Credentials};
use crate::ipc::{Id, Key};

bitflags::bitflags! {
    /// Access an operation requests, in `S_I*UGO` form: every class's bit of the kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Access: u32 {
        /// Read (`S_IRUGO`): receive, stat, wait for zero.
        const READ = 0o444;
        /// Write (`S_IWUGO`): send, alter.
        const WRITE = 0o222;
        /// Execute (`S_IXUGO`): `SHM_EXEC`.
        const EXEC = 0o111;
    }
}

impl Access {
    /// The access a `*get` flag word requests of an existing object: its permission bits.
    pub fn requested_by(flags: i32) -> Self {
        Self::from_bits_retain(flags as u32 & 0o777)
    }
}

/// The uid and gid Linux cannot map (`(uid_t)-1`): `IPC_SET` refuses them with `EINVAL`.
const INVALID_ID: u32 = u32::MAX;

/// The permission header of an object (`struct kern_ipc_perm`, without its id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perm {
    /// The key the object was created with (`IPC_PRIVATE` for private objects).
    pub key: Key,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Creator user id.
    pub cuid: u32,
    /// Creator group id.
    pub cgid: u32,
    /// Permission bits, plus state flags some mechanisms keep there (`SHM_DEST`).
    pub mode: u32,
}

impl Perm {
    /// The header of a new object: owner and creator are the caller, mode is `flags & 0777`
    /// (no umask, higher bits dropped), as `newque`/`newary`/`newseg` set it.
    pub fn new(key: Key, cred: &Credentials, flags: i32) -> Self {
        Self {
            key,
            uid: cred.euid,
            gid: cred.egid,
            cuid: cred.euid,
            cgid: cred.egid,
            mode: flags as u32 & 0o777,
        }
    }

    /// `ipcperms()`: whether `cred` may have `access`. The requested bits of all three classes
    /// are merged, then compared with the caller's class only.
    pub fn check(&self, cred: &Credentials, access: Access) -> Result<(), Errno> {
        let flag = access.bits();
        let requested = (flag >> 6 | flag >> 3 | flag) & 0o7;
        let granted = if cred.euid == self.cuid || cred.euid == self.uid {
            self.mode >> 6
        } else if cred.in_group(self.cgid) || cred.in_group(self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        if requested & !granted & 0o7 != 0 && !cred.has(Capabilities::IPC_OWNER) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// Whether `cred` may `IPC_SET` or `IPC_RMID` the object: its owner, its creator, or a
    /// holder of `CAP_SYS_ADMIN`.
    pub fn check_owner(&self, cred: &Credentials) -> Result<(), Errno> {
        if cred.euid == self.cuid || cred.euid == self.uid || cred.has(Capabilities::SYS_ADMIN) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// Validates the `IPC_SET` fields of `new` (`EINVAL` for an unmappable uid or gid) without
    /// changing anything, so a caller can finish its other checks before committing.
    pub fn validate_update(new: &abi::Ipc64Perm) -> Result<(), Errno> {
        if new.uid == INVALID_ID || new.gid == INVALID_ID {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// `ipc_update_perm()`: takes `uid`, `gid` and the low nine mode bits from `new`.
    pub fn update(&mut self, new: &abi::Ipc64Perm) -> Result<(), Errno> {
        Self::validate_update(new)?;
        self.uid = new.uid;
        self.gid = new.gid;
        self.mode = (self.mode & !0o777) | (new.mode & 0o777);
        Ok(())
    }

    /// The header as `IPC_STAT` reports it (`kernel_to_ipc64_perm`), reserved fields zero.
    pub fn to_abi(&self, id: Id) -> abi::Ipc64Perm {
        abi::Ipc64Perm {
            key: self.key.0,
            uid: self.uid,
            gid: self.gid,
            cuid: self.cuid,
            cgid: self.cgid,
            mode: self.mode,
            seq: id.seq() as u16,
            ..abi::Ipc64Perm::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(uid: u32, gid: u32, mode: u32) -> Perm {
        Perm {
            key: Key(1),
            uid,
            gid,
            cuid: 0,
            cgid: 0,
            mode,
        }
    }

    #[test]
    fn owner_class_is_first_match_even_when_others_may() {
        let p = perm(1000, 100, 0o077);
        let owner = Credentials::user(1000, 100);
        assert_eq!(p.check(&owner, Access::READ), Err(Errno::EACCES));
        assert_eq!(p.check(&Credentials::user(2000, 100), Access::READ), Ok(()));
        assert_eq!(p.check(&Credentials::user(2000, 200), Access::READ), Ok(()));
    }

    #[test]
    fn creator_uid_counts_as_owner() {
        let p = perm(1000, 100, 0o600);
        assert_eq!(
            p.check(
                &Credentials::user(0, 0).with_caps(Capabilities::empty()),
                Access::WRITE
            ),
            Ok(())
        );
    }

    #[test]
    fn creator_gid_and_supplementary_groups_count_as_group() {
        let p = perm(1000, 100, 0o040);
        assert_eq!(p.check(&Credentials::user(2000, 0), Access::READ), Ok(()));
        let member = Credentials::user(2000, 7).with_groups(vec![100]);
        assert_eq!(p.check(&member, Access::READ), Ok(()));
        assert_eq!(
            p.check(&Credentials::user(2000, 7), Access::READ),
            Err(Errno::EACCES)
        );
    }

    #[test]
    fn group_test_uses_fsgid_not_egid() {
        let p = perm(1000, 3000, 0o040);
        let mut c = Credentials::user(2000, 2000);
        c.fsgid = 3000;
        assert_eq!(p.check(&c, Access::READ), Ok(()));
        c.fsgid = 2000;
        assert_eq!(p.check(&c, Access::READ), Err(Errno::EACCES));
    }

    #[test]
    fn requested_bits_of_every_class_are_merged() {
        // msgget(key, 0004) asks for read although only the "other" bit was given.
        let p = perm(1000, 100, 0o200);
        let owner = Credentials::user(1000, 100);
        assert_eq!(
            p.check(&owner, Access::from_bits_retain(0o004)),
            Err(Errno::EACCES)
        );
        assert_eq!(p.check(&owner, Access::from_bits_retain(0o002)), Ok(()));
    }

    #[test]
    fn nothing_requested_is_always_allowed() {
        let p = perm(1000, 100, 0);
        assert_eq!(p.check(&Credentials::user(5, 5), Access::empty()), Ok(()));
    }

    #[test]
    fn cap_ipc_owner_bypasses_permission_bits() {
        let p = perm(1000, 100, 0);
        let c = Credentials::user(5, 5).with_caps(Capabilities::IPC_OWNER);
        assert_eq!(p.check(&c, Access::READ | Access::WRITE), Ok(()));
    }

    #[test]
    fn ownership_needs_owner_creator_or_sys_admin() {
        let p = perm(1000, 100, 0o777);
        assert_eq!(p.check_owner(&Credentials::user(1000, 1)), Ok(()));
        assert_eq!(
            p.check_owner(&Credentials::user(0, 1).with_caps(Capabilities::empty())),
            Ok(())
        );
        assert_eq!(p.check_owner(&Credentials::user(5, 100)), Err(Errno::EPERM));
        let ipc_owner = Credentials::user(5, 100).with_caps(Capabilities::IPC_OWNER);
        assert_eq!(p.check_owner(&ipc_owner), Err(Errno::EPERM));
        let admin = Credentials::user(5, 100).with_caps(Capabilities::SYS_ADMIN);
        assert_eq!(p.check_owner(&admin), Ok(()));
    }

    #[test]
    fn update_changes_owner_and_low_mode_bits_only() {
        let mut p = perm(1000, 100, 0o1600);
        let new = abi::Ipc64Perm {
            uid: 7,
            gid: 8,
            mode: 0o7777,
            cuid: 99,
            ..Default::default()
        };
        p.update(&new).unwrap();
        assert_eq!((p.uid, p.gid, p.cuid, p.mode), (7, 8, 0, 0o1777));
        let bad = abi::Ipc64Perm {
            uid: u32::MAX,
            ..Default::default()
        };
        assert_eq!(p.update(&bad), Err(Errno::EINVAL));
    }
}
