//! The credentials a host call runs with.

/// Credentials of one host call: what Linux's `ipcperms()` (`ipc/util.c`), the IPC_SET/IPC_RMID
/// ownership check (`ipcctl_obtain_check()`) and `capable()` look at.
///
/// Before a call the executing thread switches its own credentials to these with raw per-thread
/// syscalls (`setresgid`, `setfsgid`, `setgroups`, `setresuid` keeping real and saved uid 0,
/// `capset` of the effective set only), and afterwards switches back to root. See
/// credentials(7), setresuid(2), setfsgid(2), capabilities(7).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostCaller {
    /// Effective uid: the owner class of `ipcperms()`, new objects' `uid`/`cuid`.
    pub euid: u32,
    /// Effective gid: new objects' `gid`/`cgid`.
    pub egid: u32,
    /// File-system gid, which `in_group_p()` compares for the group class; `None` = `egid`
    /// (as after any `setresgid(2)`).
    pub fsgid: Option<u32>,
    /// Supplementary groups (setgroups(2)); also considered by `in_group_p()`.
    pub groups: Vec<u32>,
    /// Effective capability set as a bit mask (bit `n` = capability number `n`, e.g.
    /// `1 << CAP_IPC_OWNER`). Only capabilities in the host thread's permitted set can be
    /// effective; others are silently absent (on a host whose root lacks CAP_SYS_RESOURCE, it
    /// stays absent). `None` leaves the set as setresuid(2) makes it: everything permitted for
    /// euid 0, nothing for any other euid (capabilities(7), "Effect of user ID changes").
    pub caps: Option<u64>,
}

impl HostCaller {
    /// uid 0, gid 0, no supplementary groups, root's capabilities.
    pub fn root() -> HostCaller {
        HostCaller::user(0, 0)
    }

    /// An ordinary caller: effective uid `euid`, effective and file-system gid `egid`, no
    /// supplementary groups; no capabilities unless `euid` is 0.
    pub fn user(euid: u32, egid: u32) -> HostCaller {
        HostCaller {
            euid,
            egid,
            fsgid: None,
            groups: Vec::new(),
            caps: None,
        }
    }

    /// The same caller with supplementary groups `groups`.
    pub fn with_groups(mut self, groups: &[u32]) -> HostCaller {
        self.groups = groups.to_vec();
        self
    }

    /// The same caller with file-system gid `fsgid` (setfsgid(2)).
    pub fn with_fsgid(mut self, fsgid: u32) -> HostCaller {
        self.fsgid = Some(fsgid);
        self
    }

    /// The same caller with exactly the capabilities in `mask` effective (bit `n` =
    /// capability `n`), as far as the host permits them.
    pub fn with_caps(mut self, mask: u64) -> HostCaller {
        self.caps = Some(mask);
        self
    }

    /// The same caller without capability number `cap` (e.g. `CAP_IPC_OWNER`), keeping every
    /// other capability it would have had. For a non-root `euid` with `caps == None` this
    /// changes nothing (it has none).
    pub fn without_cap(mut self, cap: u32) -> HostCaller {
        let bit = 1u64.checked_shl(cap).unwrap_or(0);
        self.caps = match self.caps {
            Some(mask) => Some(mask & !bit),
            None if self.euid == 0 => Some(!bit),
            None => None,
        };
        self
    }
}

impl Default for HostCaller {
    /// [`HostCaller::root`].
    fn default() -> HostCaller {
        HostCaller::root()
    }
}
