//! Per-thread credential switching with raw syscalls.
//!
//! Linux keeps credentials per task (thread). glibc's `setresuid()`, `setgroups()` & co.
//! broadcast every change to all threads of the process (the "setxid" signal dance, as POSIX
//! requires); `syscall(SYS_setresuid, …)` changes only the calling thread. This module uses
//! only the raw syscalls, so a switch made on a namespace thread never touches the other
//! threads of the test process.
//!
//! A switch keeps the real and saved uid/gid of the base credentials (root), so switching back
//! needs no capability: `setresuid(2)` lets an unprivileged task set its effective uid to its
//! real or saved one, and `capset(2)` lets any task raise its effective set up to its permitted
//! set, which a switch never changes (the kernel clears permitted capabilities only when real,
//! effective and saved uid all become non-zero; `cap_emulate_setxuid()` in
//! `security/commoncap.c`).
//!
//! Kernel side effects to know about (`commoncap.c`, `kernel/cred.c`):
//! - an effective uid change 0 → non-zero clears the effective capability set, non-zero → 0
//!   sets it to the permitted set; an fsuid change 0 → non-zero clears the file-system
//!   capabilities from it (that is why [`HostCaller::caps`] `None` means "what the kernel
//!   leaves": full for euid 0, empty otherwise);
//! - `commit_creds()` marks the *process* non-dumpable (`suid_dumpable`, normally 0) whenever
//!   a thread's euid/egid/fsuid/fsgid changes, and that stays after switching back: core dumps
//!   are off and `/proc/self/*` files become owned by root for the rest of the process.

use std::mem::size_of;

use libc::c_long;

use crate::HostCaller;
use crate::abi::{CAP_SETGID, CAP_SETUID};

/// `struct __user_cap_header_struct` of `<linux/capability.h>`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct` of `<linux/capability.h>`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets as two `CapData`.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// Complete credentials of one thread, as far as System V IPC can see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ThreadCreds {
    pub(crate) ruid: u32,
    pub(crate) euid: u32,
    pub(crate) suid: u32,
    pub(crate) rgid: u32,
    pub(crate) egid: u32,
    pub(crate) sgid: u32,
    pub(crate) fsgid: u32,
    pub(crate) groups: Vec<u32>,
    pub(crate) effective: u64,
    pub(crate) permitted: u64,
    pub(crate) inheritable: u64,
}

/// Which parts of the credentials a switch changed (and a restore must put back).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Switched {
    gid: bool,
    groups: bool,
    uid: bool,
    caps: bool,
}

fn os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Runs a credential syscall that returns 0 or -1/errno.
fn call0(what: &str, ret: c_long) -> Result<(), String> {
    if ret == 0 {
        Ok(())
    } else {
        Err(os_error(what))
    }
}

fn getresuid() -> Result<(u32, u32, u32), String> {
    let (mut r, mut e, mut s) = (0u32, 0u32, 0u32);
    // SAFETY: the three pointers are valid for writing one uid_t (u32) each.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_getresuid,
            &mut r as *mut u32,
            &mut e as *mut u32,
            &mut s as *mut u32,
        )
    };
    call0("getresuid", ret).map(|()| (r, e, s))
}

fn getresgid() -> Result<(u32, u32, u32), String> {
    let (mut r, mut e, mut s) = (0u32, 0u32, 0u32);
    // SAFETY: the three pointers are valid for writing one gid_t (u32) each.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_getresgid,
            &mut r as *mut u32,
            &mut e as *mut u32,
            &mut s as *mut u32,
        )
    };
    call0("getresgid", ret).map(|()| (r, e, s))
}

/// The calling thread's fsgid: `setfsgid(-1)` changes nothing (-1 is not a valid gid) and
/// returns the current value.
fn fsgid() -> u32 {
    // SAFETY: setfsgid takes no pointers; an invalid gid leaves the credentials unchanged.
    let ret = unsafe { libc::syscall(libc::SYS_setfsgid, c_long::from(u32::MAX)) };
    // setfsgid returns the previous fsgid, a gid_t.
    ret as u32
}

fn setfsgid(gid: u32) -> Result<(), String> {
    // SAFETY: setfsgid takes no pointers and affects only the calling thread.
    unsafe { libc::syscall(libc::SYS_setfsgid, c_long::from(gid)) };
    // setfsgid reports no error; read the value back.
    let now = fsgid();
    if now == gid {
        Ok(())
    } else {
        Err(format!("setfsgid({gid}) left fsgid at {now}"))
    }
}

fn getgroups() -> Result<Vec<u32>, String> {
    // SAFETY: a size of 0 with NULL asks only for the count.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getgroups,
            0 as c_long,
            std::ptr::null_mut::<u32>(),
        )
    };
    let n = usize::try_from(n).map_err(|_| os_error("getgroups"))?;
    let mut groups = vec![0u32; n];
    // SAFETY: `groups` has room for `n` gid_t values.
    let got = unsafe { libc::syscall(libc::SYS_getgroups, n as c_long, groups.as_mut_ptr()) };
    let got = usize::try_from(got).map_err(|_| os_error("getgroups"))?;
    groups.truncate(got);
    Ok(groups)
}

fn setgroups(groups: &[u32]) -> Result<(), String> {
    // SAFETY: the pointer is valid for reading groups.len() gid_t values (a slice's length
    // always fits a long); the kernel only reads. Raw syscall: this thread only.
    let ret =
        unsafe { libc::syscall(libc::SYS_setgroups, groups.len() as c_long, groups.as_ptr()) };
    call0("setgroups", ret)
}

fn setresuid(r: u32, e: u32, s: u32) -> Result<(), String> {
    // SAFETY: setresuid takes no pointers. Raw syscall: this thread only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_setresuid,
            c_long::from(r),
            c_long::from(e),
            c_long::from(s),
        )
    };
    call0(&format!("setresuid({r}, {e}, {s})"), ret)
}

fn setresgid(r: u32, e: u32, s: u32) -> Result<(), String> {
    // SAFETY: setresgid takes no pointers. Raw syscall: this thread only.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_setresgid,
            c_long::from(r),
            c_long::from(e),
            c_long::from(s),
        )
    };
    call0(&format!("setresgid({r}, {e}, {s})"), ret)
}

/// (effective, permitted, inheritable) of the calling thread.
fn capget() -> Result<(u64, u64, u64), String> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 makes the kernel write two CapData entries, which `data` holds;
    // `header` is a valid header (pid 0 = calling thread).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    call0("capget", ret)?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), String> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // Splitting a u64 into its 32-bit halves.
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: version 3 makes the kernel read two CapData entries, which `data` holds; pid 0
    // is the calling thread (capset may only change the caller's own sets).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    call0(&format!("capset(effective={effective:#x})"), ret)
}

impl ThreadCreds {
    /// The calling thread's credentials.
    pub(crate) fn current() -> Result<ThreadCreds, String> {
        let (ruid, euid, suid) = getresuid()?;
        let (rgid, egid, sgid) = getresgid()?;
        let (effective, permitted, inheritable) = capget()?;
        Ok(ThreadCreds {
            ruid,
            euid,
            suid,
            rgid,
            egid,
            sgid,
            fsgid: fsgid(),
            groups: getgroups()?,
            effective,
            permitted,
            inheritable,
        })
    }

    /// Why these credentials cannot serve as the base of per-call switches, if they cannot.
    pub(crate) fn unsuitable_as_base(&self) -> Option<String> {
        let needed = (1u64 << CAP_SETUID) | (1u64 << CAP_SETGID);
        if self.ruid != 0 || self.suid != 0 || self.euid != 0 {
            Some(format!(
                "switching credentials per call needs real, effective and saved uid 0; this \
                 thread has {}/{}/{}",
                self.ruid, self.euid, self.suid
            ))
        } else if self.permitted & self.effective & needed != needed {
            Some(format!(
                "switching credentials per call needs CAP_SETUID and CAP_SETGID; effective set \
                 is {:#x}",
                self.effective
            ))
        } else {
            None
        }
    }
}

const _: () = assert!(size_of::<libc::gid_t>() == size_of::<u32>());
const _: () = assert!(size_of::<libc::uid_t>() == size_of::<u32>());

/// Switches the calling thread from `base` (its current credentials) to `caller`. Only what
/// differs is changed, in an order that keeps the needed capabilities until they are used:
/// gids and groups (CAP_SETGID), then the uids (CAP_SETUID), then the effective capability set.
/// On failure, whatever was changed is put back and the error says what failed.
pub(crate) fn switch_to(base: &ThreadCreds, caller: &HostCaller) -> Result<Switched, String> {
    let mut done = Switched::default();
    match switch_steps(base, caller, &mut done) {
        Ok(()) => Ok(done),
        Err(e) => match restore(base, done) {
            Ok(()) => Err(e),
            Err(r) => Err(format!("{e}; then restoring failed too: {r}")),
        },
    }
}

fn switch_steps(
    base: &ThreadCreds,
    caller: &HostCaller,
    done: &mut Switched,
) -> Result<(), String> {
    let fsgid = caller.fsgid.unwrap_or(caller.egid);
    if caller.egid != base.egid || fsgid != base.fsgid {
        done.gid = true;
        // Real and saved gid stay: only egid and fsgid take part in ipcperms().
        setresgid(base.rgid, caller.egid, base.sgid)?;
        // setresgid() set fsgid = egid.
        if fsgid != caller.egid {
            setfsgid(fsgid)?;
        }
    }
    if caller.groups != base.groups {
        done.groups = true;
        setgroups(&caller.groups)?;
    }
    if caller.euid != base.euid {
        done.uid = true;
        setresuid(base.ruid, caller.euid, base.suid)?;
    }
    if let Some(mask) = caller.caps {
        // Only capabilities the thread is permitted to have can become effective.
        let effective = mask & base.permitted;
        if done.uid || effective != base.effective {
            done.caps = true;
            capset(effective, base.permitted, base.inheritable)?;
        }
    }
    Ok(())
}

/// Puts back what `switch_to` changed: uids first (allowed without capabilities, since real
/// and saved uid were kept), then the capability sets, then gids and groups.
pub(crate) fn restore(base: &ThreadCreds, done: Switched) -> Result<(), String> {
    if done.uid {
        setresuid(base.ruid, base.euid, base.suid)?;
    }
    if done.uid || done.caps {
        capset(base.effective, base.permitted, base.inheritable)?;
    }
    if done.gid {
        setresgid(base.rgid, base.egid, base.sgid)?;
        if base.fsgid != base.egid {
            setfsgid(base.fsgid)?;
        }
    }
    if done.groups {
        setgroups(&base.groups)?;
    }
    Ok(())
}

/// Whether `switch_to` changed anything.
impl Switched {
    pub(crate) fn any(self) -> bool {
        self.gid || self.groups || self.uid || self.caps
    }
}
