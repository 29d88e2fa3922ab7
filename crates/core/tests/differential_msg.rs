//! Differential tests: every call runs twice, on the host kernel (in a private IPC namespace,
//! through `sysvipc-host`) and on the emulation (`sysvipc::IpcNamespace`), and the two answers
//! must agree — ids, return values, errno, received type and text, `msqid64_ds` and `msginfo`
//! fields. The host is the oracle (DESIGN.md §2.2, §6.3); each test also pins what Linux
//! answers, so a test name reads as a rule of the ABI.
//!
//! What legitimately differs is normalised, never ignored:
//!
//! - **Pids.** The host records real ids: every host caller is a thread of this test process,
//!   so `msg_lspid` and a normal receive's `msg_lrpid` are this process's pid, and a pipelined
//!   receive records the kernel tid of the receiving thread. The emulation's callers therefore
//!   all belong to one process (`EMU_PID`), and each blocking thread gets its own tid. Both
//!   sides map to [`Pid`]: zero, "the process", or "the tid of thread NAME".
//! - **Times.** Each `*_time` field is compared as a [`Stamp`] — zero, unchanged or advanced
//!   since the previous stat of the same queue on the same side — never as a value. The
//!   emulation runs on a `ManualClock` that advances one second before every emulated call, so
//!   on its side "advanced" means exactly "stamped since the previous stat". The host stamps
//!   whole seconds, so a field it stamped again within the same second reads "unchanged"; that
//!   is accepted only when the value lies in the second of the previous stat or later, and
//!   every value the host advanced to must lie between that second and now.
//! - **Interruption.** The emulation returns `ERESTARTNOHAND` for an interrupted msgsnd/msgrcv;
//!   see [`common::as_seen_by_the_caller`].
//!
//! Blocking calls run in threads: on the host in `HostNamespace::spawn` threads, watched with
//! `HostJoin::wait_until_blocked`; on the emulation in `std::thread::scope` threads with a
//! `ManualBlocker`, watched through `ManualBlocker::is_sleeping`/`sleeps`. Nothing sleeps to
//! synchronise. A test skips (saying why) only where no private IPC namespace can be made.
#![cfg(target_os = "linux")]

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::thread::{self, Scope};
use std::time::Duration;

use common::{Blocked, EVERYONE, Harness, NW, Pid, Stamp, Who, XorShift, host_second};
use sysvipc::abi::{
    self, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_PRIVATE, IPC_STAT, MSG_COPY, MSG_EXCEPT, MSG_INFO,
    MSG_NOERROR, MSG_STAT, MSG_STAT_ANY, Msginfo, Msqid64Ds,
};
use sysvipc::{Errno, Message, MsgCtlCmd};

// ---------------------------------------------------------------------------------------------
// The harness (the parts common to every mechanism are in `common/mod.rs`)

/// A successful IPC_STAT/MSG_STAT/MSG_STAT_ANY, after both sides were compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    /// The return value: 0, or the full id for the `*_STAT` index commands.
    ret: i32,
    /// The host's structure (equal to the emulation's except for times and pids).
    ds: Msqid64Ds,
    /// `msg_stime`, `msg_rtime`, `msg_ctime`.
    times: [Stamp; 3],
    lspid: Pid,
    lrpid: Pid,
}

/// The time fields of the previous stat of a queue, on both sides.
#[derive(Clone, Copy)]
struct Seen {
    host: [i64; 3],
    emu: [i64; 3],
    /// The host's second (CLOCK_REALTIME_COARSE) just before that stat: every host stamp made
    /// after it is at least this.
    since: i64,
}

fn times(ds: &Msqid64Ds) -> [i64; 3] {
    [ds.msg_stime, ds.msg_rtime, ds.msg_ctime]
}

/// `ds` without the fields that are compared normalised (times and pids).
fn without_times_and_pids(ds: &Msqid64Ds) -> Msqid64Ds {
    Msqid64Ds {
        msg_stime: 0,
        msg_rtime: 0,
        msg_ctime: 0,
        msg_lspid: 0,
        msg_lrpid: 0,
        ..*ds
    }
}

/// The host kernel and the emulation side by side (the shared [`Harness`]), with the previous
/// stat of each queue.
struct Pair {
    base: Harness,
    /// The previous stat of each queue, by id.
    seen: RefCell<HashMap<i32, Seen>>,
}

impl std::ops::Deref for Pair {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.base
    }
}

impl Pair {
    /// See [`Harness::new`].
    fn new(test: &str) -> Option<Pair> {
        Harness::new(test).map(|base| Pair {
            base,
            seen: RefCell::new(HashMap::new()),
        })
    }

    // --- msgget / msgsnd / msgrcv -------------------------------------------------------

    fn msgget(&self, who: Who, key: i32, flags: i32) -> Result<i32, Errno> {
        let p = self.party(who);
        let host = self.host.msgget(&p.host, key, flags);
        let emu = self.emu(|ns| ns.msgget(&p.emu, key, flags));
        self.same(&format!("msgget({who:?}, {key:#x}, {flags:#o})"), host, emu)
    }

    /// A new private queue with mode `mode`, created by `who`.
    fn queue(&self, who: Who, mode: i32) -> i32 {
        self.msgget(who, IPC_PRIVATE, IPC_CREAT | mode)
            .expect("creating a private queue")
    }

    /// msgsnd that cannot block (`flags` must hold IPC_NOWAIT; see `spawn_send`).
    fn msgsnd(&self, who: Who, id: i32, mtype: i64, text: &[u8], flags: i32) -> Result<(), Errno> {
        assert!(flags & NW != 0, "a send that may block needs spawn_send");
        let p = self.party(who);
        let host = self.host.msgsnd(&p.host, id, mtype, text, flags);
        let emu = self.emu(|ns| ns.msgsnd(&p.emu, id, Message::new(mtype, text.to_vec()), flags));
        let call = format!(
            "msgsnd({who:?}, {id}, type {mtype}, {} bytes, {flags:#o})",
            text.len()
        );
        self.same(&call, host, emu)
    }

    /// msgrcv that cannot block (`flags` must hold IPC_NOWAIT or MSG_COPY, which without
    /// IPC_NOWAIT fails at once; see `spawn_recv`): the type and text received.
    fn msgrcv(
        &self,
        who: Who,
        id: i32,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    ) -> Result<(i64, Vec<u8>), Errno> {
        assert!(
            flags & (NW | MSG_COPY) != 0,
            "a receive that may block needs spawn_recv"
        );
        let p = self.party(who);
        let host = match usize::try_from(msgsz) {
            Ok(size) => self.host.msgrcv(&p.host, id, size, msgtyp, flags),
            // A negative size needs the raw call; it cannot succeed, but if it did the text
            // length is what would be compared.
            Err(_) => self
                .host
                .msgrcv_raw(&p.host, id, false, msgsz, msgtyp, flags)
                .map(|n| (0, vec![0; usize::try_from(n).unwrap_or(0)])),
        };
        let emu = self.emu(|ns| {
            ns.msgrcv(&p.emu, id, msgsz, msgtyp, flags)
                .map(|m| (m.mtype, m.text))
        });
        let call = format!("msgrcv({who:?}, {id}, {msgsz}, {msgtyp}, {flags:#o})");
        self.same(&call, host, emu)
    }

    // --- msgctl -------------------------------------------------------------------------

    /// IPC_STAT, MSG_STAT or MSG_STAT_ANY: return value, structure, normalised pids and times.
    fn stat(&self, who: Who, id: i32, cmd: i32) -> Result<Stat, Errno> {
        let p = self.party(who);
        let call = format!("msgctl({who:?}, {id}, cmd {cmd})");
        let since = host_second();
        let host = self.host.msgctl_stat(&p.host, id, cmd);
        let until = host_second();
        let emu =
            self.emu(|ns| MsgCtlCmd::try_from(cmd).and_then(|cmd| ns.msgctl_stat(&p.emu, id, cmd)));
        let ((ret, h), (emu_ret, e)) = match (host, emu) {
            (Ok(h), Ok(e)) => (h, e),
            (host, emu) => {
                // At least one failed: they agree only if both failed alike.
                let err = self.same(&call, host.map(|r| r.0), emu.map(|r| r.0));
                return Err(err.expect_err("one side failed"));
            }
        };
        self.same(&format!("{call} return value"), ret, emu_ret);
        self.same(
            &format!("{call} msqid64_ds without times and pids"),
            without_times_and_pids(&h),
            without_times_and_pids(&e),
        );
        let lspid = self.same(
            &format!(
                "{call} msg_lspid (host {}, emulation {})",
                h.msg_lspid, e.msg_lspid
            ),
            self.pid(h.msg_lspid, true),
            self.pid(e.msg_lspid, false),
        );
        let lrpid = self.same(
            &format!(
                "{call} msg_lrpid (host {}, emulation {})",
                h.msg_lrpid, e.msg_lrpid
            ),
            self.pid(h.msg_lrpid, true),
            self.pid(e.msg_lrpid, false),
        );
        // The *_STAT commands name a queue by index: key the record by the full id.
        let key = if cmd == IPC_STAT { id } else { ret };
        let prev = self.seen.borrow().get(&key).copied().unwrap_or(Seen {
            host: [0; 3],
            emu: [0; 3],
            since: self.start,
        });
        let (now_h, now_e) = (times(&h), times(&e));
        let mut stamps = [Stamp::Zero; 3];
        for (i, field) in ["msg_stime", "msg_rtime", "msg_ctime"].iter().enumerate() {
            stamps[i] = self.compare_time(
                &format!("{call} {field}"),
                (prev.host[i], now_h[i]),
                (prev.emu[i], now_e[i]),
                (prev.since, until),
            );
        }
        self.seen.borrow_mut().insert(
            key,
            Seen {
                host: now_h,
                emu: now_e,
                since,
            },
        );
        Ok(Stat {
            ret,
            ds: h,
            times: stamps,
            lspid,
            lrpid,
        })
    }

    /// IPC_SET with the queue's current `msqid64_ds` (read on the host as root, or zeroes if
    /// that fails) edited by `edit`; the same structure goes to both sides.
    fn set(&self, who: Who, id: i32, edit: impl FnOnce(&mut Msqid64Ds)) -> Result<(), Errno> {
        let root = &self.party(Who::Root).host;
        let mut ds = self
            .host
            .msgctl_stat(root, id, IPC_STAT)
            .map(|r| r.1)
            .unwrap_or_default();
        edit(&mut ds);
        let p = self.party(who);
        let host = self.host.msgctl_set(&p.host, id, &ds);
        let emu = self.emu(|ns| ns.msgctl_set(&p.emu, id, &ds));
        let call = format!(
            "IPC_SET({who:?}, {id}, uid {} gid {} mode {:#o} qbytes {:#x})",
            ds.msg_perm.uid, ds.msg_perm.gid, ds.msg_perm.mode, ds.msg_qbytes
        );
        self.same(&call, host, emu)
    }

    fn set_qbytes(&self, who: Who, id: i32, qbytes: u64) -> Result<(), Errno> {
        self.set(who, id, |ds| ds.msg_qbytes = qbytes)
    }

    fn rmid(&self, who: Who, id: i32) -> Result<(), Errno> {
        let p = self.party(who);
        let host = self.host.msgctl_rmid(&p.host, id);
        let emu = self.emu(|ns| ns.msgctl_rmid(&p.emu, id));
        let done = self.same(&format!("IPC_RMID({who:?}, {id})"), host, emu);
        if done.is_ok() {
            self.seen.borrow_mut().remove(&id);
        }
        done
    }

    /// IPC_INFO or MSG_INFO: the return value (highest used index) and `msginfo`.
    fn info(&self, id: i32, cmd: i32) -> Result<(i32, Msginfo), Errno> {
        let root = self.party(Who::Root);
        let host = self.host.msgctl_info(&root.host, id, cmd);
        let emu = self.emu(|ns| MsgCtlCmd::try_from(cmd).and_then(|cmd| ns.msgctl_info(id, cmd)));
        self.same(&format!("msgctl({id}, info cmd {cmd})"), host, emu)
    }

    /// msgctl with a command the emulation does not decode: its answer is the decoding's.
    fn ctl_undecodable(&self, who: Who, id: i32, cmd: i32) -> Result<i32, Errno> {
        let p = self.party(who);
        let host = self.host.msgctl_stat(&p.host, id, cmd).map(|r| r.0);
        let emu = self.emu(|_| -> Result<i32, Errno> {
            if id < 0 {
                return Err(Errno::EINVAL);
            }
            let cmd = MsgCtlCmd::try_from(cmd)?;
            panic!("{cmd:?} is decodable: use its own method")
        });
        self.same(&format!("msgctl({who:?}, {id}, cmd {cmd:#x})"), host, emu)
    }

    // --- sysctls ------------------------------------------------------------------------

    /// Writes a msg sysctl on both sides; compares the verdict and the value read back.
    fn sysctl(&self, name: &str, value: i64) -> Result<(), Errno> {
        let host = self.host.set_sysctl(name, &value.to_string());
        let l = self.emu.limits();
        let emu = match name {
            "msgmax" => l.set_msgmax(value),
            "msgmnb" => l.set_msgmnb(value),
            "msgmni" => l.set_msgmni(value),
            "msg_next_id" => self.emu.set_msg_next_id(value),
            _ => panic!("no such msg sysctl: {name}"),
        };
        let verdict = self.same(&format!("sysctl {name} = {value}"), host, emu);
        self.read_sysctl(name);
        verdict
    }

    fn read_sysctl(&self, name: &str) -> i64 {
        let host = self
            .host
            .sysctl(name)
            .expect("reading a msg sysctl")
            .trim()
            .parse::<i64>()
            .expect("a msg sysctl is a number");
        let l = self.emu.limits();
        let emu = match name {
            "msgmax" => l.msgmax(),
            "msgmnb" => l.msgmnb(),
            "msgmni" => l.msgmni(),
            "msg_next_id" => self.emu.msg_next_id(),
            _ => panic!("no such msg sysctl: {name}"),
        };
        self.same(&format!("sysctl {name}"), host, i64::from(emu))
    }

    // --- blocking calls -----------------------------------------------------------------

    /// Starts a msgsnd without IPC_NOWAIT in thread `name` on both sides and waits until both
    /// are asleep in it.
    fn spawn_send<'scope, 'env>(
        &'env self,
        s: &'scope Scope<'scope, 'env>,
        name: &'static str,
        who: Who,
        id: i32,
        mtype: i64,
        text: &[u8],
    ) -> Blocked<'scope, ()> {
        let call = format!(
            "{name}: msgsnd({who:?}, {id}, type {mtype}, {} bytes, 0)",
            text.len()
        );
        let bytes = text.to_vec();
        let host = self.host.spawn(&self.party(who).host, move |t| {
            t.msgsnd(id, mtype, &bytes, 0)
        });
        let (caller, blocker) = self.thread_caller(who, name, host.tid());
        let msg = Message::new(mtype, text.to_vec());
        let ns = &self.emu;
        self.clock.advance(Duration::from_secs(1));
        let emu = s.spawn(move || ns.msgsnd(&caller, id, msg, 0));
        self.blocked(call, host, emu, blocker)
    }

    /// Starts a msgrcv without IPC_NOWAIT in thread `name` on both sides and waits until both
    /// are asleep in it.
    #[allow(clippy::too_many_arguments)] // msgrcv's arguments, plus the thread and its scope
    fn spawn_recv<'scope, 'env>(
        &'env self,
        s: &'scope Scope<'scope, 'env>,
        name: &'static str,
        who: Who,
        id: i32,
        msgsz: usize,
        msgtyp: i64,
        flags: i32,
    ) -> Blocked<'scope, (i64, Vec<u8>)> {
        let call = format!("{name}: msgrcv({who:?}, {id}, {msgsz}, {msgtyp}, {flags:#o})");
        let host = self.host.spawn(&self.party(who).host, move |t| {
            t.msgrcv(id, msgsz, msgtyp, flags)
        });
        let (caller, blocker) = self.thread_caller(who, name, host.tid());
        let ns = &self.emu;
        self.clock.advance(Duration::from_secs(1));
        let emu = s.spawn(move || {
            ns.msgrcv(&caller, id, msgsz as i64, msgtyp, flags)
                .map(|m| (m.mtype, m.text))
        });
        self.blocked(call, host, emu, blocker)
    }
}

// ---------------------------------------------------------------------------------------------
// msgget

#[test]
fn msgget_missing_key_without_ipc_creat_is_enoent() {
    let Some(p) = Pair::new("msgget_missing_key_without_ipc_creat_is_enoent") else {
        return;
    };
    assert_eq!(p.msgget(Who::Root, 0x51, 0o600), Err(Errno::ENOENT));
    assert_eq!(p.msgget(Who::Root, 0x51, IPC_EXCL), Err(Errno::ENOENT));
    assert_eq!(p.msgget(Who::User, 0x51, 0), Err(Errno::ENOENT));
    let id = p.msgget(Who::Root, 0x51, IPC_CREAT | 0o600).unwrap();
    p.rmid(Who::Root, id).unwrap();
    assert_eq!(
        p.msgget(Who::Root, 0x51, 0),
        Err(Errno::ENOENT),
        "a removed queue's key is free"
    );
}

#[test]
fn msgget_existing_key_returns_its_id_and_ipc_excl_gives_eexist_before_eacces() {
    let Some(p) =
        Pair::new("msgget_existing_key_returns_its_id_and_ipc_excl_gives_eexist_before_eacces")
    else {
        return;
    };
    let id = p.msgget(Who::Root, 0x52, IPC_CREAT | 0o600).unwrap();
    assert_eq!(p.msgget(Who::Root, 0x52, 0), Ok(id));
    assert_eq!(p.msgget(Who::Root, 0x52, IPC_CREAT), Ok(id));
    assert_eq!(p.msgget(Who::Root, 0x52, IPC_EXCL), Ok(id));
    assert_eq!(
        p.msgget(Who::Root, 0x52, IPC_CREAT | IPC_EXCL),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        p.msgget(Who::User, 0x52, IPC_CREAT | IPC_EXCL | 0o600),
        Err(Errno::EEXIST),
        "EEXIST comes before the permission check"
    );
    assert_eq!(
        p.msgget(Who::User, 0x52, IPC_CREAT | 0o600),
        Err(Errno::EACCES)
    );
}

#[test]
fn msgget_existing_key_checks_requested_mode_bits_with_eacces() {
    let Some(p) = Pair::new("msgget_existing_key_checks_requested_mode_bits_with_eacces") else {
        return;
    };
    // Owned by uid 1000 / gid 1000: owner rw-, group r--, other -w-.
    let id = p.msgget(Who::User, 0x53, IPC_CREAT | 0o642).unwrap();
    for who in EVERYONE {
        assert_eq!(p.msgget(who, 0x53, 0), Ok(id), "flag 0 requests nothing");
    }
    assert_eq!(p.msgget(Who::User, 0x53, 0o600), Ok(id));
    assert_eq!(p.msgget(Who::User, 0x53, 0o100), Err(Errno::EACCES));
    // The requested bits of all three classes are merged: 0o004 asks for read.
    assert_eq!(p.msgget(Who::Member, 0x53, 0o004), Ok(id));
    assert_eq!(p.msgget(Who::Member, 0x53, 0o200), Err(Errno::EACCES));
    assert_eq!(p.msgget(Who::FsGroup, 0x53, 0o040), Ok(id));
    assert_eq!(p.msgget(Who::FsGroup, 0x53, 0o020), Err(Errno::EACCES));
    assert_eq!(p.msgget(Who::RootNoIpcOwner, 0x53, 0o002), Ok(id));
    assert_eq!(
        p.msgget(Who::RootNoIpcOwner, 0x53, 0o400),
        Err(Errno::EACCES)
    );
    assert_eq!(p.msgget(Who::RootNoAdmin, 0x53, 0o004), Err(Errno::EACCES));
    assert_eq!(p.msgget(Who::Root, 0x53, 0o777), Ok(id), "CAP_IPC_OWNER");
}

#[test]
fn msgget_creates_with_low_nine_mode_bits_and_the_caller_as_owner_and_creator() {
    let Some(p) =
        Pair::new("msgget_creates_with_low_nine_mode_bits_and_the_caller_as_owner_and_creator")
    else {
        return;
    };
    let a = p
        .msgget(Who::FsGroup, IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0o7777)
        .unwrap();
    let b = p.msgget(Who::Member, IPC_PRIVATE, 0o640).unwrap();
    assert_eq!((a, b), (0, 1), "IPC_PRIVATE always creates");
    let s = p.stat(Who::Root, a, IPC_STAT).unwrap();
    let m = s.ds.msg_perm;
    // The egid, not the fsgid, becomes the group.
    assert_eq!(
        (m.key, m.uid, m.gid, m.cuid, m.cgid, m.mode, m.seq),
        (0, 3000, 3000, 3000, 3000, 0o777, 0)
    );
    assert_eq!(s.times, [Stamp::Zero, Stamp::Zero, Stamp::Advanced]);
    assert_eq!((s.lspid, s.lrpid), (Pid::Zero, Pid::Zero));
    assert_eq!(
        (s.ds.msg_qnum, s.ds.msg_cbytes, s.ds.msg_qbytes),
        (0, 0, 16384)
    );
    let m = p.stat(Who::Root, b, IPC_STAT).unwrap().ds.msg_perm;
    assert_eq!((m.uid, m.gid, m.mode), (2000, 2000, 0o640));
}

#[test]
fn msgget_enospc_at_msgmni_only_on_the_create_path() {
    let Some(p) = Pair::new("msgget_enospc_at_msgmni_only_on_the_create_path") else {
        return;
    };
    p.sysctl("msgmni", 2).unwrap();
    let a = p.msgget(Who::Root, 0x54, IPC_CREAT | 0o600).unwrap();
    p.queue(Who::User, 0o600);
    assert_eq!(p.msgget(Who::Root, 0x55, IPC_CREAT), Err(Errno::ENOSPC));
    assert_eq!(p.msgget(Who::Root, IPC_PRIVATE, 0o600), Err(Errno::ENOSPC));
    assert_eq!(
        p.msgget(Who::Root, 0x55, 0),
        Err(Errno::ENOENT),
        "ENOENT first"
    );
    p.sysctl("msgmni", 0).unwrap();
    assert_eq!(
        p.msgget(Who::Root, 0x54, IPC_CREAT),
        Ok(a),
        "lookups ignore msgmni"
    );
    // A creation refused with ENOSPC leaves msg_next_id for the next one.
    p.sysctl("msg_next_id", 100).unwrap();
    assert_eq!(p.msgget(Who::Root, IPC_PRIVATE, 0), Err(Errno::ENOSPC));
    assert_eq!(p.read_sysctl("msg_next_id"), 100);
    p.sysctl("msgmni", 3).unwrap();
    assert_eq!(p.msgget(Who::Root, IPC_PRIVATE, 0), Ok(100));
    assert_eq!(p.msgget(Who::Root, IPC_PRIVATE, 0), Err(Errno::ENOSPC));
    p.rmid(Who::Root, a).unwrap();
    assert_eq!(p.msgget(Who::Root, IPC_PRIVATE, 0), Ok(2));
}

#[test]
fn ids_follow_cyclic_allocation_and_wrap_to_seq_one_across_churn() {
    let Some(p) = Pair::new("ids_follow_cyclic_allocation_and_wrap_to_seq_one_across_churn") else {
        return;
    };
    let kept: Vec<i32> = (0..3).map(|_| p.queue(Who::Root, 0o600)).collect();
    assert_eq!(kept, [0, 1, 2]);
    let churn: Vec<i32> = (0..70)
        .map(|_| {
            let id = p.queue(Who::Root, 0o600);
            p.rmid(Who::Root, id).unwrap();
            id
        })
        .collect();
    let expected: Vec<i32> = (3..64).chain((3..12).map(|idx| 1 << 15 | idx)).collect();
    assert_eq!(churn, expected, "the wrap at index 64 bumps seq to 1");
    // Stale ids are refused because of their seq; an id with another seq is refused too.
    assert_eq!(p.stat(Who::Root, 3, IPC_STAT), Err(Errno::EINVAL));
    assert_eq!(p.stat(Who::Root, 1 << 15, IPC_STAT), Err(Errno::EINVAL));
    p.rmid(Who::Root, 1).unwrap();
    assert_eq!(
        p.queue(Who::Root, 0o600),
        32780,
        "index 1 is not reused yet: the cyclic search continues at 12"
    );
    assert_eq!(p.info(0, MSG_INFO).unwrap().0, 12);
}

#[test]
fn msg_next_id_sets_the_next_id_once_and_skips_busy_indices() {
    let Some(p) = Pair::new("msg_next_id_sets_the_next_id_once_and_skips_busy_indices") else {
        return;
    };
    assert_eq!(p.read_sysctl("msg_next_id"), -1);
    p.sysctl("msg_next_id", 100).unwrap();
    assert_eq!(p.queue(Who::Root, 0o600), 100);
    assert_eq!(p.read_sysctl("msg_next_id"), -1, "consumed");
    assert_eq!(p.queue(Who::Root, 0o600), 0);
    p.sysctl("msg_next_id", 3 << 15 | 7).unwrap();
    let id = p.queue(Who::Root, 0o600);
    assert_eq!(id, 98311);
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).unwrap().ds.msg_perm.seq, 3);
    p.sysctl("msg_next_id", 100).unwrap();
    assert_eq!(p.queue(Who::Root, 0o600), 101, "index 100 is busy");
    assert_eq!(p.queue(Who::Root, 0o600), 1);
    assert_eq!(p.sysctl("msg_next_id", -1), Err(Errno::EINVAL));
    assert_eq!(p.sysctl("msg_next_id", 1 << 31), Err(Errno::EINVAL));
}

#[test]
fn msg_sysctls_accept_and_reject_the_same_values() {
    let Some(p) = Pair::new("msg_sysctls_accept_and_reject_the_same_values") else {
        return;
    };
    for name in ["msgmax", "msgmnb", "msgmni"] {
        p.read_sysctl(name);
        assert_eq!(p.sysctl(name, -1), Err(Errno::EINVAL), "{name}");
        assert_eq!(p.sysctl(name, 1 << 31), Err(Errno::EINVAL), "{name}");
        assert_eq!(p.sysctl(name, 0), Ok(()), "{name}");
    }
    assert_eq!(p.sysctl("msgmni", 32768), Ok(()));
    assert_eq!(p.sysctl("msgmni", 32769), Err(Errno::EINVAL));
    assert_eq!(p.sysctl("msgmax", i64::from(i32::MAX)), Ok(()));
    assert_eq!(p.info(0, IPC_INFO).unwrap().1.msgmax, i32::MAX);
}

// ---------------------------------------------------------------------------------------------
// msgsnd

#[test]
fn msgsnd_without_write_permission_is_eacces() {
    let Some(p) = Pair::new("msgsnd_without_write_permission_is_eacces") else {
        return;
    };
    // Owned by uid 1000 / gid 1000: owner r--, group -w-, other r--.
    let id = p.queue(Who::User, 0o424);
    assert_eq!(p.msgsnd(Who::User, id, 1, b"x", NW), Err(Errno::EACCES));
    assert_eq!(p.msgsnd(Who::Member, id, 1, b"x", NW), Ok(()));
    assert_eq!(p.msgsnd(Who::FsGroup, id, 1, b"x", NW), Ok(()));
    assert_eq!(
        p.msgsnd(Who::RootNoIpcOwner, id, 1, b"x", NW),
        Err(Errno::EACCES)
    );
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"x", NW), Ok(()));
    // EACCES comes before the fit check.
    p.set_qbytes(Who::Root, id, 0).unwrap();
    assert_eq!(p.msgsnd(Who::User, id, 1, b"x", NW), Err(Errno::EACCES));
    assert_eq!(p.msgsnd(Who::Member, id, 1, b"x", NW), Err(Errno::EAGAIN));
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).unwrap().ds.msg_qnum, 3);
}

#[test]
fn bad_and_stale_ids_are_einval_for_every_call() {
    let Some(p) = Pair::new("bad_and_stale_ids_are_einval_for_every_call") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, b"x", NW).unwrap();
    let live = p.queue(Who::Root, 0o600);
    p.rmid(Who::Root, id).unwrap();
    for bad in [-1, i32::MIN, id, live + (1 << 15), 12345] {
        assert_eq!(
            p.msgsnd(Who::Root, bad, 1, b"x", NW),
            Err(Errno::EINVAL),
            "{bad}"
        );
        assert_eq!(
            p.msgrcv(Who::Root, bad, 8, 0, NW),
            Err(Errno::EINVAL),
            "{bad}"
        );
        assert_eq!(
            p.msgrcv(Who::Root, bad, 8, 0, NW | MSG_COPY),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.stat(Who::Root, bad, IPC_STAT),
            Err(Errno::EINVAL),
            "{bad}"
        );
        assert_eq!(p.set(Who::Root, bad, |_| {}), Err(Errno::EINVAL), "{bad}");
        assert_eq!(p.rmid(Who::Root, bad), Err(Errno::EINVAL), "{bad}");
    }
    assert_eq!(
        p.rmid(Who::Root, id),
        Err(Errno::EINVAL),
        "a second IPC_RMID"
    );
    // MSG_STAT takes an index: the removed queue's index is free, the live one's is not.
    assert_eq!(p.stat(Who::Root, id, MSG_STAT), Err(Errno::EINVAL));
    assert_eq!(p.stat(Who::Root, -1, MSG_STAT_ANY), Err(Errno::EINVAL));
    assert_eq!(
        p.stat(Who::Root, live + (1 << 15), MSG_STAT).map(|s| s.ret),
        Ok(live)
    );
}

#[test]
fn msgsnd_type_below_one_is_einval_before_the_lookup() {
    let Some(p) = Pair::new("msgsnd_type_below_one_is_einval_before_the_lookup") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    for mtype in [0, -1, i64::MIN] {
        assert_eq!(p.msgsnd(Who::Root, id, mtype, b"x", NW), Err(Errno::EINVAL));
        assert_eq!(p.msgsnd(Who::User, id, mtype, b"x", NW), Err(Errno::EINVAL));
    }
    assert_eq!(p.msgsnd(Who::Root, id, i64::MAX, b"x", NW), Ok(()));
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, -i64::MAX, NW),
        Ok((i64::MAX, b"x".to_vec()))
    );
}

#[test]
fn msgsnd_text_above_msgmax_is_einval_and_msgmax_itself_fits() {
    let Some(p) = Pair::new("msgsnd_text_above_msgmax_is_einval_and_msgmax_itself_fits") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    assert_eq!(
        p.msgsnd(Who::Root, id, 1, &[7; 8193], NW),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.msgsnd(Who::Root, id, 1, &[7; 8192], NW), Ok(()));
    p.sysctl("msgmax", 50).unwrap();
    assert_eq!(p.msgsnd(Who::Root, id, 1, &[7; 51], NW), Err(Errno::EINVAL));
    assert_eq!(
        p.msgsnd(Who::User, id, 1, &[7; 51], NW),
        Err(Errno::EINVAL),
        "before EACCES"
    );
    assert_eq!(
        p.msgsnd(Who::Root, 99999, 1, &[7; 51], NW),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.msgsnd(Who::Root, id, 1, &[7; 50], NW), Ok(()));
    p.sysctl("msgmax", 0).unwrap();
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"", NW), Ok(()));
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes), (3, 8242));
}

#[test]
fn msgsnd_queue_full_by_bytes_with_ipc_nowait_is_eagain() {
    let Some(p) = Pair::new("msgsnd_queue_full_by_bytes_with_ipc_nowait_is_eagain") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, &[1; 8192], NW).unwrap();
    p.msgsnd(Who::Root, id, 1, &[2; 8000], NW).unwrap();
    assert_eq!(
        p.msgsnd(Who::Root, id, 1, &[3; 193], NW),
        Err(Errno::EAGAIN)
    );
    assert_eq!(p.msgsnd(Who::Root, id, 1, &[3; 192], NW), Ok(()));
    assert_eq!(
        p.msgsnd(Who::Root, id, 1, b"", NW),
        Ok(()),
        "zero bytes still fit"
    );
    // A message longer than msg_qbytes never fits.
    let small = p.queue(Who::Root, 0o600);
    p.set_qbytes(Who::Root, small, 10).unwrap();
    assert_eq!(
        p.msgsnd(Who::Root, small, 1, &[0; 11], NW),
        Err(Errno::EAGAIN)
    );
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes), (4, 16384));
    assert_eq!(p.info(0, MSG_INFO).unwrap().1.msgtql, 16384);
}

#[test]
fn msgsnd_queue_full_by_message_count_with_ipc_nowait_is_eagain() {
    let Some(p) = Pair::new("msgsnd_queue_full_by_message_count_with_ipc_nowait_is_eagain") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.set_qbytes(Who::Root, id, 3).unwrap();
    for _ in 0..3 {
        p.msgsnd(Who::Root, id, 1, b"", NW).unwrap();
    }
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"", NW), Err(Errno::EAGAIN));
    p.msgrcv(Who::Root, id, 0, 0, NW).unwrap();
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"", NW), Ok(()));
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes), (3, 0));
}

#[test]
fn send_and_receive_update_pids_times_and_counts_but_not_ctime() {
    let Some(p) = Pair::new("send_and_receive_update_pids_times_and_counts_but_not_ctime") else {
        return;
    };
    let id = p.queue(Who::Root, 0o666);
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(s.times, [Stamp::Zero, Stamp::Zero, Stamp::Advanced]);
    p.msgsnd(Who::User, id, 3, b"hello", NW).unwrap();
    p.msgsnd(Who::Member, id, 4, b"abc", NW).unwrap();
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(s.times, [Stamp::Advanced, Stamp::Zero, Stamp::Unchanged]);
    assert_eq!((s.lspid, s.lrpid), (Pid::Process, Pid::Zero));
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes), (2, 8));
    assert_eq!(
        p.msgrcv(Who::FsGroup, id, 64, 0, NW),
        Ok((3, b"hello".to_vec()))
    );
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        s.times,
        [Stamp::Unchanged, Stamp::Advanced, Stamp::Unchanged]
    );
    assert_eq!((s.lspid, s.lrpid), (Pid::Process, Pid::Process));
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes), (1, 3));
    // Failed calls change nothing.
    assert_eq!(p.msgrcv(Who::Root, id, 1, 0, NW), Err(Errno::E2BIG));
    assert_eq!(p.msgrcv(Who::Root, id, 8, 9, NW), Err(Errno::ENOMSG));
    assert_eq!(p.msgsnd(Who::Root, id, 0, b"", NW), Err(Errno::EINVAL));
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(s.times, [Stamp::Unchanged; 3]);
}

// ---------------------------------------------------------------------------------------------
// msgrcv

/// A queue holding one message per type in `types`, in order, each text one byte: its index.
fn filled(p: &Pair, types: &[i64]) -> i32 {
    let id = p.queue(Who::Root, 0o600);
    for (i, &t) in types.iter().enumerate() {
        p.msgsnd(Who::Root, id, t, &[i as u8], NW).unwrap();
    }
    id
}

#[test]
fn msgrcv_every_selector_picks_the_message_linux_picks() {
    let Some(p) = Pair::new("msgrcv_every_selector_picks_the_message_linux_picks") else {
        return;
    };
    // Each text is the message's position: 5₀ 3₁ 7₂ 3₃ 1₄ 5₅ 9₆ 8₇.
    let id = filled(&p, &[5, 3, 7, 3, 1, 5, 9, 8]);
    let take = |msgtyp, flags| p.msgrcv(Who::Root, id, 8, msgtyp, flags | NW);
    assert_eq!(take(3, 0), Ok((3, vec![1])), "> 0: oldest of that type");
    assert_eq!(
        take(3, MSG_EXCEPT),
        Ok((5, vec![0])),
        "MSG_EXCEPT: oldest of another type"
    );
    assert_eq!(take(-4, 0), Ok((1, vec![4])), "< 0: lowest type <= |t|");
    assert_eq!(take(0, 0), Ok((7, vec![2])), "0: oldest of any type");
    assert_eq!(take(-3, 0), Ok((3, vec![3])), "< 0: equality included");
    assert_eq!(
        take(-5, MSG_EXCEPT),
        Ok((5, vec![5])),
        "MSG_EXCEPT ignored for < 0"
    );
    assert_eq!(
        take(i64::MIN, 0),
        Ok((8, vec![7])),
        "LONG_MIN means up to LONG_MAX"
    );
    assert_eq!(
        take(0, MSG_EXCEPT),
        Ok((9, vec![6])),
        "MSG_EXCEPT ignored for 0"
    );
    let id = filled(&p, &[4, 2, 2, 4]);
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, -4, NW),
        Ok((2, vec![1])),
        "lowest, then oldest"
    );
    assert_eq!(p.msgrcv(Who::Root, id, 8, -4, NW), Ok((2, vec![2])));
    assert_eq!(p.msgrcv(Who::Root, id, 8, -4, NW), Ok((4, vec![0])));
}

#[test]
fn msgrcv_without_a_match_and_ipc_nowait_is_enomsg_for_each_selector() {
    let Some(p) = Pair::new("msgrcv_without_a_match_and_ipc_nowait_is_enomsg_for_each_selector")
    else {
        return;
    };
    let empty = p.queue(Who::Root, 0o600);
    assert_eq!(p.msgrcv(Who::Root, empty, 8, 0, NW), Err(Errno::ENOMSG));
    let id = filled(&p, &[2, 2]);
    assert_eq!(p.msgrcv(Who::Root, id, 8, 3, NW), Err(Errno::ENOMSG), "> 0");
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, 2, NW | MSG_EXCEPT),
        Err(Errno::ENOMSG)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, -1, NW),
        Err(Errno::ENOMSG),
        "< 0"
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, -1, NW | MSG_EXCEPT),
        Err(Errno::ENOMSG)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, 2, NW | MSG_COPY),
        Err(Errno::ENOMSG)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, -1, NW | MSG_COPY),
        Err(Errno::ENOMSG)
    );
    assert_eq!(
        p.msgrcv(Who::Root, empty, 8, 0, NW | MSG_COPY),
        Err(Errno::ENOMSG)
    );
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).unwrap().ds.msg_qnum, 2);
}

#[test]
fn msgrcv_and_msg_copy_without_read_permission_are_eacces_before_enomsg() {
    let Some(p) = Pair::new("msgrcv_and_msg_copy_without_read_permission_are_eacces_before_enomsg")
    else {
        return;
    };
    // Owned by uid 1000 / gid 1000: owner -w-, group r--, other r--; but the group class
    // matches first, so only its bits count for members.
    let id = p.queue(Who::User, 0o244);
    p.msgsnd(Who::User, id, 1, b"x", NW).unwrap();
    let empty = p.queue(Who::User, 0o200);
    assert_eq!(p.msgrcv(Who::User, id, 8, 0, NW), Err(Errno::EACCES));
    assert_eq!(
        p.msgrcv(Who::User, id, 8, 0, NW | MSG_COPY),
        Err(Errno::EACCES)
    );
    assert_eq!(p.msgrcv(Who::User, empty, 8, 0, NW), Err(Errno::EACCES));
    assert_eq!(
        p.msgrcv(Who::RootNoIpcOwner, empty, 8, 0, NW),
        Err(Errno::EACCES)
    );
    assert_eq!(p.msgrcv(Who::Root, empty, 8, 0, NW), Err(Errno::ENOMSG));
    assert_eq!(
        p.msgrcv(Who::FsGroup, id, 8, 0, NW | MSG_COPY),
        Ok((1, b"x".to_vec()))
    );
    assert_eq!(p.msgrcv(Who::Member, id, 8, 0, NW), Ok((1, b"x".to_vec())));
    p.set(Who::User, id, |ds| ds.msg_perm.mode = 0o204).unwrap();
    p.msgsnd(Who::User, id, 1, b"y", NW).unwrap();
    assert_eq!(
        p.msgrcv(Who::Member, id, 8, 0, NW),
        Err(Errno::EACCES),
        "group class first"
    );
    assert_eq!(
        p.msgrcv(Who::RootNoAdmin, id, 8, 0, NW),
        Ok((1, b"y".to_vec())),
        "other"
    );
}

#[test]
fn msgrcv_negative_size_is_einval() {
    let Some(p) = Pair::new("msgrcv_negative_size_is_einval") else {
        return;
    };
    let id = filled(&p, &[1]);
    assert_eq!(p.msgrcv(Who::Root, id, -1, 0, NW), Err(Errno::EINVAL));
    assert_eq!(
        p.msgrcv(Who::Root, id, i64::MIN, 0, NW | MSG_NOERROR),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, -1, 0, NW | MSG_COPY),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.msgrcv(Who::User, 99999, -1, 0, NW), Err(Errno::EINVAL));
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).unwrap().ds.msg_qnum, 1);
}

#[test]
fn msgrcv_small_buffer_is_e2big_and_the_message_stays_queued() {
    let Some(p) = Pair::new("msgrcv_small_buffer_is_e2big_and_the_message_stays_queued") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, b"abcdef", NW).unwrap();
    p.msgsnd(Who::Root, id, 2, b"", NW).unwrap();
    assert_eq!(p.msgrcv(Who::Root, id, 5, 0, NW), Err(Errno::E2BIG));
    assert_eq!(p.msgrcv(Who::Root, id, 0, 1, NW), Err(Errno::E2BIG));
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (s.ds.msg_qnum, s.ds.msg_cbytes, s.times[1]),
        (2, 6, Stamp::Zero)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 0, 2, NW),
        Ok((2, vec![])),
        "zero-length fits"
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 6, 0, NW),
        Ok((1, b"abcdef".to_vec()))
    );
}

#[test]
fn msgrcv_noerror_truncates_and_removes_the_whole_message() {
    let Some(p) = Pair::new("msgrcv_noerror_truncates_and_removes_the_whole_message") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, b"abcdef", NW).unwrap();
    p.msgsnd(Who::Root, id, 1, b"ghi", NW).unwrap();
    assert_eq!(
        p.msgrcv(Who::Root, id, 2, 0, NW | MSG_NOERROR),
        Ok((1, b"ab".to_vec()))
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 0, 0, NW | MSG_NOERROR),
        Ok((1, vec![]))
    );
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes), (0, 0));
    assert_eq!(p.info(0, MSG_INFO).unwrap().1.msgmap, 0);
}

// ---------------------------------------------------------------------------------------------
// MSG_COPY

#[test]
fn msg_copy_reads_by_index_and_leaves_the_queue_untouched() {
    let Some(p) = Pair::new("msg_copy_reads_by_index_and_leaves_the_queue_untouched") else {
        return;
    };
    let id = filled(&p, &[5, 3, 5]);
    let before = p.stat(Who::Root, id, IPC_STAT).unwrap();
    let copy = |n| p.msgrcv(Who::Root, id, 8, n, NW | MSG_COPY);
    assert_eq!(copy(0), Ok((5, vec![0])));
    assert_eq!(copy(2), Ok((5, vec![2])));
    assert_eq!(copy(1), Ok((3, vec![1])));
    assert_eq!(copy(3), Err(Errno::ENOMSG), "index out of range");
    assert_eq!(copy(-1), Err(Errno::ENOMSG));
    // MSG_EXCEPT is refused, MSG_NOERROR is allowed.
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, 1, NW | MSG_COPY | MSG_NOERROR),
        Ok((3, vec![1]))
    );
    let after = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        after.times,
        [Stamp::Unchanged, Stamp::Zero, Stamp::Unchanged],
        "no time changes"
    );
    assert_eq!((after.ds, after.lrpid), (before.ds, Pid::Zero));
}

#[test]
fn msg_copy_flag_errors_are_einval_before_the_lookup() {
    let Some(p) = Pair::new("msg_copy_flag_errors_are_einval_before_the_lookup") else {
        return;
    };
    let id = filled(&p, &[1]);
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, 0, MSG_COPY),
        Err(Errno::EINVAL),
        "no IPC_NOWAIT"
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 8, 0, MSG_COPY | MSG_EXCEPT | NW),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.msgrcv(Who::User, id, 8, 0, MSG_COPY),
        Err(Errno::EINVAL),
        "before EACCES"
    );
    let empty = p.queue(Who::Root, 0o600);
    assert_eq!(
        p.msgrcv(Who::Root, empty, 8, 0, MSG_COPY),
        Err(Errno::EINVAL),
        "before ENOMSG"
    );
    assert_eq!(
        p.msgrcv(Who::Root, 99999, 8, 0, MSG_COPY),
        Err(Errno::EINVAL)
    );
}

#[test]
fn msg_copy_small_buffer_is_e2big_without_noerror_and_einval_with_it() {
    let Some(p) = Pair::new("msg_copy_small_buffer_is_e2big_without_noerror_and_einval_with_it")
    else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, &[9; 100], NW).unwrap();
    assert_eq!(
        p.msgrcv(Who::Root, id, 50, 0, NW | MSG_COPY),
        Err(Errno::E2BIG)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 50, 0, NW | MSG_COPY | MSG_NOERROR),
        Err(Errno::EINVAL),
        "the copy buffer never truncates"
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 100, 0, NW | MSG_COPY | MSG_NOERROR)
            .map(|m| m.1.len()),
        Ok(100)
    );
}

#[test]
fn msg_copy_buffer_is_capped_by_msgmax() {
    let Some(p) = Pair::new("msg_copy_buffer_is_capped_by_msgmax") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, &[9; 100], NW).unwrap();
    p.sysctl("msgmax", 50).unwrap();
    assert_eq!(
        p.msgrcv(Who::Root, id, 200, 0, NW | MSG_COPY),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.msgrcv(Who::Root, id, 200, 0, NW | MSG_COPY | MSG_NOERROR),
        Err(Errno::EINVAL)
    );
    // A normal receive is not capped by msgmax.
    assert_eq!(
        p.msgrcv(Who::Root, id, 200, 0, NW).map(|m| m.1.len()),
        Ok(100)
    );
}

// ---------------------------------------------------------------------------------------------
// msgctl

#[test]
fn ipc_stat_and_msg_stat_need_read_permission_and_msg_stat_any_does_not() {
    let Some(p) = Pair::new("ipc_stat_and_msg_stat_need_read_permission_and_msg_stat_any_does_not")
    else {
        return;
    };
    // Owned by uid 1000 / gid 1000: owner r--, group ---, other r--.
    let id = p.queue(Who::User, 0o404);
    for (who, ok) in [
        (Who::Root, true),
        (Who::User, true),
        (Who::Member, false),
        (Who::FsGroup, false),
        (Who::RootNoIpcOwner, true),
        (Who::RootNoAdmin, true),
    ] {
        let want = if ok { Ok(0) } else { Err(Errno::EACCES) };
        assert_eq!(p.stat(who, id, IPC_STAT).map(|s| s.ret), want, "{who:?}");
        let want = want.map(|_| id);
        assert_eq!(p.stat(who, id, MSG_STAT).map(|s| s.ret), want, "{who:?}");
        assert_eq!(
            p.stat(who, id, MSG_STAT_ANY).map(|s| s.ret),
            Ok(id),
            "{who:?}"
        );
    }
    p.set(Who::User, id, |ds| ds.msg_perm.mode = 0).unwrap();
    assert_eq!(
        p.stat(Who::User, id, IPC_STAT),
        Err(Errno::EACCES),
        "owner with mode 0"
    );
    assert_eq!(p.stat(Who::RootNoAdmin, id, MSG_STAT), Err(Errno::EACCES));
    assert_eq!(
        p.stat(Who::Root, id, IPC_STAT).map(|s| s.ds.msg_perm.mode),
        Ok(0)
    );
}

#[test]
fn msg_stat_takes_an_index_and_returns_the_full_id() {
    let Some(p) = Pair::new("msg_stat_takes_an_index_and_returns_the_full_id") else {
        return;
    };
    p.sysctl("msg_next_id", 7 << 15 | 4).unwrap();
    let id = p.queue(Who::Root, 0o600);
    assert_eq!(id, 7 << 15 | 4);
    let s = p.stat(Who::Root, 4, MSG_STAT).unwrap();
    assert_eq!((s.ret, s.ds.msg_perm.seq), (id, 7));
    assert_eq!(
        p.stat(Who::Root, 4 + (1 << 15), MSG_STAT).map(|s| s.ret),
        Ok(id)
    );
    assert_eq!(p.stat(Who::Root, id, MSG_STAT_ANY).map(|s| s.ret), Ok(id));
    assert_eq!(
        p.stat(Who::Root, 4, IPC_STAT),
        Err(Errno::EINVAL),
        "IPC_STAT wants the id"
    );
    assert_eq!(
        p.stat(Who::Root, 5, MSG_STAT),
        Err(Errno::EINVAL),
        "free index"
    );
    assert_eq!(p.stat(Who::Root, 0, MSG_STAT_ANY), Err(Errno::EINVAL));
    assert_eq!(p.stat(Who::Root, -4, MSG_STAT), Err(Errno::EINVAL));
}

#[test]
fn ipc_info_and_msg_info_report_limits_usage_and_the_highest_index() {
    let Some(p) = Pair::new("ipc_info_and_msg_info_report_limits_usage_and_the_highest_index")
    else {
        return;
    };
    assert_eq!(p.info(0, IPC_INFO).unwrap().0, 0, "0 when empty");
    assert_eq!(p.info(0, MSG_INFO).unwrap().0, 0);
    let a = p.queue(Who::Root, 0o600);
    let b = p.queue(Who::User, 0o600);
    let c = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, a, 1, b"hello", NW).unwrap();
    p.msgsnd(Who::Root, a, 2, b"abc", NW).unwrap();
    p.msgsnd(Who::Root, c, 2, &[0; 100], NW).unwrap();
    p.sysctl("msgmax", 4000).unwrap();
    p.sysctl("msgmnb", 5000).unwrap();
    p.sysctl("msgmni", 77).unwrap();
    let (max, i) = p.info(12345, IPC_INFO).unwrap();
    assert_eq!(max, 2);
    assert_eq!(
        (
            i.msgpool, i.msgmap, i.msgmax, i.msgmnb, i.msgmni, i.msgssz, i.msgtql, i.msgseg
        ),
        (512000, 16384, 4000, 5000, 77, 16, 16384, 65535)
    );
    let (max, i) = p.info(0, MSG_INFO).unwrap();
    assert_eq!((max, i.msgpool, i.msgmap, i.msgtql), (2, 3, 3, 108));
    p.rmid(Who::Root, c).unwrap();
    let (max, i) = p.info(0, MSG_INFO).unwrap();
    assert_eq!(
        (max, i.msgpool, i.msgmap, i.msgtql),
        (1, 2, 2, 8),
        "recomputed"
    );
    p.rmid(Who::User, b).unwrap();
    assert_eq!(p.info(0, IPC_INFO).unwrap().0, 0, "only index 0 left");
    // Queues made after the change start with the new msgmnb.
    let d = p.queue(Who::Root, 0o600);
    assert_eq!(p.stat(Who::Root, d, IPC_STAT).unwrap().ds.msg_qbytes, 5000);
    assert_eq!(p.stat(Who::Root, a, IPC_STAT).unwrap().ds.msg_qbytes, 16384);
}

#[test]
fn info_commands_ignore_the_id_but_refuse_negative_ones() {
    let Some(p) = Pair::new("info_commands_ignore_the_id_but_refuse_negative_ones") else {
        return;
    };
    p.queue(Who::Root, 0o600);
    for cmd in [IPC_INFO, MSG_INFO] {
        assert_eq!(p.info(-1, cmd), Err(Errno::EINVAL));
        assert_eq!(p.info(i32::MIN, cmd), Err(Errno::EINVAL));
        assert!(p.info(i32::MAX, cmd).is_ok());
    }
}

#[test]
fn msgctl_unknown_commands_and_ipc_64_are_einval() {
    let Some(p) = Pair::new("msgctl_unknown_commands_and_ipc_64_are_einval") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    for cmd in [
        -1,
        4,
        5,
        10,
        14,
        15,
        99,
        i32::MIN,
        abi::IPC_64 | IPC_STAT,
        abi::IPC_64 | IPC_INFO,
    ] {
        assert_eq!(
            p.ctl_undecodable(Who::Root, id, cmd),
            Err(Errno::EINVAL),
            "cmd {cmd}"
        );
        assert_eq!(
            p.ctl_undecodable(Who::Root, -1, cmd),
            Err(Errno::EINVAL),
            "cmd {cmd}"
        );
    }
    assert!(
        p.stat(Who::Root, id, IPC_STAT).is_ok(),
        "the queue is untouched"
    );
}

#[test]
fn ipc_set_changes_owner_mode_qbytes_and_ctime_only() {
    let Some(p) = Pair::new("ipc_set_changes_owner_mode_qbytes_and_ctime_only") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.msgsnd(Who::Root, id, 1, b"x", NW).unwrap();
    p.stat(Who::Root, id, IPC_STAT).unwrap();
    p.set(Who::Root, id, |ds| {
        ds.msg_perm.uid = 1000;
        ds.msg_perm.gid = 1001;
        ds.msg_perm.cuid = 5;
        ds.msg_perm.cgid = 6;
        ds.msg_perm.key = 77;
        ds.msg_perm.seq = 9;
        ds.msg_perm.mode = 0o7666;
        ds.msg_qbytes = 100;
        ds.msg_stime = 99;
        ds.msg_qnum = 40;
        ds.msg_lspid = 3;
    })
    .unwrap();
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    let m = s.ds.msg_perm;
    assert_eq!(
        (m.key, m.uid, m.gid, m.cuid, m.cgid, m.mode, m.seq),
        (0, 1000, 1001, 0, 0, 0o666, 0)
    );
    assert_eq!(
        (s.ds.msg_qbytes, s.ds.msg_qnum, s.lspid),
        (100, 1, Pid::Process)
    );
    assert_eq!(s.times, [Stamp::Unchanged, Stamp::Zero, Stamp::Advanced]);
    // The new owner may set, and so may the creator.
    assert_eq!(p.set(Who::User, id, |ds| ds.msg_perm.uid = 2000), Ok(()));
    assert_eq!(
        p.set(Who::User, id, |_| {}),
        Err(Errno::EPERM),
        "no longer the owner"
    );
    assert_eq!(p.set(Who::Member, id, |_| {}), Ok(()));
    assert_eq!(
        p.set(Who::RootNoAdmin, id, |_| {}),
        Ok(()),
        "the creator (uid 0)"
    );
}

#[test]
fn ipc_set_unmappable_uid_or_gid_is_einval_after_the_eperm_checks() {
    let Some(p) = Pair::new("ipc_set_unmappable_uid_or_gid_is_einval_after_the_eperm_checks")
    else {
        return;
    };
    let id = p.queue(Who::User, 0o600);
    p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        p.set(Who::User, id, |ds| ds.msg_perm.uid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.set(Who::User, id, |ds| ds.msg_perm.gid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.set(Who::Member, id, |ds| ds.msg_perm.uid = u32::MAX),
        Err(Errno::EPERM)
    );
    assert_eq!(
        p.set(Who::User, id, |ds| {
            ds.msg_perm.uid = u32::MAX;
            ds.msg_qbytes = 16385;
        }),
        Err(Errno::EPERM),
        "msg_qbytes is checked before the ids"
    );
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (s.ds.msg_perm.uid, s.times[2]),
        (1000, Stamp::Unchanged),
        "nothing changed"
    );
}

#[test]
fn ipc_set_and_ipc_rmid_by_non_owner_without_cap_sys_admin_are_eperm() {
    let Some(p) = Pair::new("ipc_set_and_ipc_rmid_by_non_owner_without_cap_sys_admin_are_eperm")
    else {
        return;
    };
    let id = p.queue(Who::User, 0o666);
    for who in [Who::Member, Who::FsGroup, Who::RootNoAdmin] {
        assert_eq!(p.set(who, id, |_| {}), Err(Errno::EPERM), "{who:?}");
        assert_eq!(p.rmid(who, id), Err(Errno::EPERM), "{who:?}");
    }
    // CAP_SYS_ADMIN is enough; CAP_IPC_OWNER is not needed.
    assert_eq!(
        p.set(Who::RootNoIpcOwner, id, |ds| ds.msg_perm.uid = 2000),
        Ok(())
    );
    assert_eq!(p.rmid(Who::RootNoAdmin, id), Err(Errno::EPERM));
    assert_eq!(p.rmid(Who::User, id), Ok(()), "the creator");
    let id = p.queue(Who::RootNoAdmin, 0o600);
    assert_eq!(p.rmid(Who::User, id), Err(Errno::EPERM));
    assert_eq!(p.rmid(Who::RootNoAdmin, id), Ok(()), "euid 0 owns it");
}

#[test]
fn ipc_set_qbytes_above_msgmnb_without_cap_sys_resource_is_eperm() {
    let Some(p) = Pair::new("ipc_set_qbytes_above_msgmnb_without_cap_sys_resource_is_eperm") else {
        return;
    };
    let id = p.queue(Who::User, 0o600);
    assert_eq!(p.set_qbytes(Who::Root, id, 16385), Err(Errno::EPERM));
    assert_eq!(p.set_qbytes(Who::User, id, 16385), Err(Errno::EPERM));
    assert_eq!(p.set_qbytes(Who::User, id, 16384), Ok(()));
    p.sysctl("msgmnb", 100).unwrap();
    assert_eq!(
        p.set_qbytes(Who::User, id, 16384),
        Err(Errno::EPERM),
        "msgmnb is read now"
    );
    assert_eq!(p.set_qbytes(Who::User, id, 100), Ok(()));
    assert_eq!(p.set_qbytes(Who::User, id, 0), Ok(()));
    assert_eq!(p.stat(Who::User, id, IPC_STAT).unwrap().ds.msg_qbytes, 0);
}

#[test]
fn ipc_set_qbytes_passes_through_an_int() {
    let Some(p) = Pair::new("ipc_set_qbytes_passes_through_an_int") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    assert_eq!(p.set_qbytes(Who::Root, id, 0x1_0000_0005), Ok(()));
    assert_eq!(p.stat(Who::Root, id, IPC_STAT).unwrap().ds.msg_qbytes, 5);
    assert_eq!(p.msgsnd(Who::Root, id, 1, &[0; 6], NW), Err(Errno::EAGAIN));
    assert_eq!(
        p.set_qbytes(Who::Root, id, 0xFFFF_FFFF),
        Err(Errno::EPERM),
        "-1 as unsigned"
    );
    assert_eq!(p.set_qbytes(Who::Root, id, 0x8000_0000), Err(Errno::EPERM));
    assert_eq!(p.set_qbytes(Who::Root, id, 0xFFFF_FFFF_0000_4000), Ok(()));
    assert_eq!(
        p.stat(Who::Root, id, IPC_STAT).unwrap().ds.msg_qbytes,
        16384
    );
}

#[test]
fn lowering_qbytes_below_cbytes_keeps_the_messages() {
    let Some(p) = Pair::new("lowering_qbytes_below_cbytes_keeps_the_messages") else {
        return;
    };
    let id = filled(&p, &[1, 2, 3]);
    p.set_qbytes(Who::Root, id, 1).unwrap();
    let s = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((s.ds.msg_qnum, s.ds.msg_cbytes, s.ds.msg_qbytes), (3, 3, 1));
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"", NW), Err(Errno::EAGAIN));
    assert_eq!(p.msgrcv(Who::Root, id, 8, 0, NW), Ok((1, vec![0])));
    assert_eq!(p.msgrcv(Who::Root, id, 8, 0, NW), Ok((2, vec![1])));
    assert_eq!(
        p.msgsnd(Who::Root, id, 1, b"", NW),
        Err(Errno::EAGAIN),
        "1 + 1 > 1 message"
    );
    assert_eq!(p.msgrcv(Who::Root, id, 8, 0, NW), Ok((3, vec![2])));
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"", NW), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Blocking

#[test]
fn blocked_receiver_is_handed_a_message_sent_later_and_its_tid_becomes_lrpid() {
    let Some(p) =
        Pair::new("blocked_receiver_is_handed_a_message_sent_later_and_its_tid_becomes_lrpid")
    else {
        return;
    };
    let id = p.queue(Who::Root, 0o666);
    p.stat(Who::Root, id, IPC_STAT).unwrap();
    thread::scope(|s| {
        let r = p.spawn_recv(s, "receiver", Who::User, id, 64, 0, 0);
        assert_eq!(p.msgsnd(Who::Member, id, 9, b"direct", NW), Ok(()));
        assert_eq!(p.join(r), Ok((9, b"direct".to_vec())));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (st.ds.msg_qnum, st.ds.msg_cbytes),
        (0, 0),
        "handed over, never queued"
    );
    assert_eq!(
        (st.lspid, st.lrpid),
        (Pid::Process, Pid::Thread("receiver"))
    );
    assert_eq!(
        st.times,
        [Stamp::Advanced, Stamp::Advanced, Stamp::Unchanged]
    );
    assert_eq!(p.info(0, MSG_INFO).unwrap().1.msgmap, 0);
}

#[test]
fn blocked_negative_type_receiver_gets_the_first_matching_message_sent() {
    let Some(p) = Pair::new("blocked_negative_type_receiver_gets_the_first_matching_message_sent")
    else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    thread::scope(|s| {
        let r = p.spawn_recv(s, "receiver", Who::Root, id, 64, -5, 0);
        p.msgsnd(Who::Root, id, 6, b"six", NW).unwrap();
        p.msgsnd(Who::Root, id, 4, b"four", NW).unwrap();
        p.msgsnd(Who::Root, id, 1, b"one", NW).unwrap();
        assert_eq!(p.join(r), Ok((4, b"four".to_vec())), "not the lowest type");
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.msg_qnum, st.lrpid), (2, Pid::Thread("receiver")));
    assert_eq!(p.msgrcv(Who::Root, id, 8, -6, NW), Ok((1, b"one".to_vec())));
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        st.lrpid,
        Pid::Process,
        "a normal receive records the process"
    );
}

#[test]
fn pipelined_send_fails_a_small_buffer_receiver_with_e2big_and_serves_the_next() {
    let Some(p) =
        Pair::new("pipelined_send_fails_a_small_buffer_receiver_with_e2big_and_serves_the_next")
    else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    thread::scope(|s| {
        let other = p.spawn_recv(s, "other type", Who::Root, id, 64, 2, 0);
        let small = p.spawn_recv(s, "small", Who::Root, id, 2, 0, 0);
        let big = p.spawn_recv(s, "big", Who::Root, id, 64, -1, 0);
        p.msgsnd(Who::Root, id, 1, b"longer", NW).unwrap();
        assert_eq!(p.join(small), Err(Errno::E2BIG));
        assert_eq!(p.join(big), Ok((1, b"longer".to_vec())));
        other.wait_asleep(1);
        assert_eq!(other.sleeps(), 1, "a receiver of another type is not woken");
        p.msgsnd(Who::Root, id, 2, b"two", NW).unwrap();
        assert_eq!(p.join(other), Ok((2, b"two".to_vec())));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.msg_qnum, st.lrpid), (0, Pid::Thread("other type")));
}

#[test]
fn pipelined_send_truncates_for_a_noerror_receiver() {
    let Some(p) = Pair::new("pipelined_send_truncates_for_a_noerror_receiver") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    thread::scope(|s| {
        let r = p.spawn_recv(s, "receiver", Who::Root, id, 3, 0, MSG_NOERROR);
        p.msgsnd(Who::Root, id, 1, b"abcdef", NW).unwrap();
        assert_eq!(p.join(r), Ok((1, b"abc".to_vec())));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (st.ds.msg_qnum, st.ds.msg_cbytes, st.lrpid),
        (0, 0, Pid::Thread("receiver"))
    );
}

#[test]
fn blocked_sender_is_woken_when_a_receive_makes_room() {
    let Some(p) = Pair::new("blocked_sender_is_woken_when_a_receive_makes_room") else {
        return;
    };
    let id = p.queue(Who::Root, 0o666);
    p.set_qbytes(Who::Root, id, 4).unwrap();
    p.msgsnd(Who::Root, id, 1, b"full", NW).unwrap();
    assert_eq!(p.msgsnd(Who::User, id, 2, b"next", NW), Err(Errno::EAGAIN));
    p.stat(Who::Root, id, IPC_STAT).unwrap();
    thread::scope(|s| {
        let w = p.spawn_send(s, "sender", Who::User, id, 2, b"next");
        assert_eq!(p.msgrcv(Who::Root, id, 8, 0, NW), Ok((1, b"full".to_vec())));
        assert_eq!(p.join(w), Ok(()));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.msg_qnum, st.ds.msg_cbytes), (1, 4));
    assert_eq!((st.lspid, st.lrpid), (Pid::Process, Pid::Process));
    assert_eq!(
        st.times,
        [Stamp::Advanced, Stamp::Advanced, Stamp::Unchanged]
    );
    assert_eq!(p.msgrcv(Who::Root, id, 8, 0, NW), Ok((2, b"next".to_vec())));
}

#[test]
fn raising_qbytes_with_ipc_set_wakes_blocked_senders_that_now_fit() {
    let Some(p) = Pair::new("raising_qbytes_with_ipc_set_wakes_blocked_senders_that_now_fit")
    else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.set_qbytes(Who::Root, id, 4).unwrap();
    p.msgsnd(Who::Root, id, 1, b"full", NW).unwrap();
    thread::scope(|s| {
        let w = p.spawn_send(s, "sender", Who::Root, id, 2, b"more");
        // Still too small: ss_wakeup wakes only the senders whose message fits.
        p.set_qbytes(Who::Root, id, 7).unwrap();
        w.wait_asleep(1);
        assert_eq!(w.sleeps(), 1, "not woken");
        p.set_qbytes(Who::Root, id, 8).unwrap();
        assert_eq!(p.join(w), Ok(()));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (st.ds.msg_qnum, st.ds.msg_cbytes, st.ds.msg_qbytes),
        (2, 8, 8)
    );
}

#[test]
fn blocked_sender_sleeps_through_ipc_set_until_it_fits_then_rechecks_permission() {
    let Some(p) =
        Pair::new("blocked_sender_sleeps_through_ipc_set_until_it_fits_then_rechecks_permission")
    else {
        return;
    };
    let id = p.queue(Who::User, 0o666);
    p.set_qbytes(Who::User, id, 0).unwrap();
    thread::scope(|s| {
        let w = p.spawn_send(s, "sender", Who::Member, id, 1, b"abc");
        // Permission gone, but the message still does not fit: not woken, no re-check.
        p.set(Who::User, id, |ds| ds.msg_perm.mode = 0o600).unwrap();
        w.wait_asleep(1);
        assert_eq!(w.sleeps(), 1, "not woken");
        // Now it fits: woken, it retries from the permission check.
        p.set_qbytes(Who::User, id, 100).unwrap();
        assert_eq!(p.join(w), Err(Errno::EACCES));
    });
    let st = p.stat(Who::User, id, IPC_STAT).unwrap();
    assert_eq!(
        (st.ds.msg_qnum, st.lspid, st.times[0]),
        (0, Pid::Zero, Stamp::Zero)
    );
}

#[test]
fn a_blocked_sender_that_does_not_fit_does_not_hold_back_one_that_does() {
    let Some(p) = Pair::new("a_blocked_sender_that_does_not_fit_does_not_hold_back_one_that_does")
    else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.set_qbytes(Who::Root, id, 10).unwrap();
    p.msgsnd(Who::Root, id, 1, b"aaaaa", NW).unwrap();
    p.msgsnd(Who::Root, id, 2, b"bbbbb", NW).unwrap();
    thread::scope(|s| {
        let big = p.spawn_send(s, "big", Who::Root, id, 3, b"cccccccc");
        let small = p.spawn_send(s, "small", Who::Root, id, 4, b"dddd");
        // 5 bytes free: only the later, smaller sender fits and is woken.
        assert_eq!(
            p.msgrcv(Who::Root, id, 8, 1, NW),
            Ok((1, b"aaaaa".to_vec()))
        );
        assert_eq!(p.join(small), Ok(()));
        big.wait_asleep(1);
        assert_eq!(big.sleeps(), 1, "not woken");
        // 6 bytes free: still not enough.
        assert_eq!(
            p.msgrcv(Who::Root, id, 8, 2, NW),
            Ok((2, b"bbbbb".to_vec()))
        );
        big.wait_asleep(1);
        assert_eq!(big.sleeps(), 1, "not woken");
        assert_eq!(p.msgrcv(Who::Root, id, 8, 0, NW), Ok((4, b"dddd".to_vec())));
        assert_eq!(p.join(big), Ok(()));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.msg_qnum, st.ds.msg_cbytes), (1, 8));
}

#[test]
fn blocked_except_receiver_is_handed_only_another_type() {
    let Some(p) = Pair::new("blocked_except_receiver_is_handed_only_another_type") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    thread::scope(|s| {
        let r = p.spawn_recv(s, "except", Who::Root, id, 8, 3, MSG_EXCEPT);
        p.msgsnd(Who::Root, id, 3, b"x", NW).unwrap();
        p.msgsnd(Who::Root, id, 4, b"y", NW).unwrap();
        assert_eq!(p.join(r), Ok((4, b"y".to_vec())));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.msg_qnum, st.lrpid), (1, Pid::Thread("except")));
}

#[test]
fn ipc_rmid_wakes_a_blocked_receiver_with_eidrm() {
    let Some(p) = Pair::new("ipc_rmid_wakes_a_blocked_receiver_with_eidrm") else {
        return;
    };
    let id = p.queue(Who::Root, 0o666);
    thread::scope(|s| {
        let a = p.spawn_recv(s, "any", Who::User, id, 8, 0, 0);
        let b = p.spawn_recv(s, "typed", Who::Member, id, 8, -3, MSG_NOERROR);
        p.rmid(Who::Root, id).unwrap();
        assert_eq!(p.join(a), Err(Errno::EIDRM));
        assert_eq!(p.join(b), Err(Errno::EIDRM));
    });
    assert_eq!(
        p.stat(Who::Root, id, IPC_STAT),
        Err(Errno::EINVAL),
        "then EINVAL"
    );
}

#[test]
fn ipc_rmid_wakes_a_blocked_sender_with_eidrm() {
    let Some(p) = Pair::new("ipc_rmid_wakes_a_blocked_sender_with_eidrm") else {
        return;
    };
    let id = p.queue(Who::Root, 0o666);
    p.set_qbytes(Who::Root, id, 0).unwrap();
    thread::scope(|s| {
        let w = p.spawn_send(s, "sender", Who::User, id, 1, b"");
        p.rmid(Who::Root, id).unwrap();
        assert_eq!(p.join(w), Err(Errno::EIDRM));
    });
    assert_eq!(p.msgsnd(Who::Root, id, 1, b"", NW), Err(Errno::EINVAL));
}

#[test]
fn interrupted_receiver_gets_eintr_and_leaves_the_wait_list() {
    let Some(p) = Pair::new("interrupted_receiver_gets_eintr_and_leaves_the_wait_list") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    thread::scope(|s| {
        let r = p.spawn_recv(s, "receiver", Who::Root, id, 8, 0, 0);
        r.interrupt();
        assert_eq!(p.join(r), Err(Errno::EINTR));
    });
    // Nobody waits any more: the next message is queued, not handed over.
    p.msgsnd(Who::Root, id, 1, b"x", NW).unwrap();
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (st.ds.msg_qnum, st.lrpid, st.times[1]),
        (1, Pid::Zero, Stamp::Zero)
    );
}

#[test]
fn interrupted_sender_gets_eintr_and_sends_nothing() {
    let Some(p) = Pair::new("interrupted_sender_gets_eintr_and_sends_nothing") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    p.set_qbytes(Who::Root, id, 0).unwrap();
    thread::scope(|s| {
        let w = p.spawn_send(s, "sender", Who::Root, id, 3, b"mine");
        w.interrupt();
        assert_eq!(p.join(w), Err(Errno::EINTR));
    });
    p.set_qbytes(Who::Root, id, 100).unwrap();
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!(
        (st.ds.msg_qnum, st.lspid, st.times[0]),
        (0, Pid::Zero, Stamp::Zero)
    );
}

#[test]
fn ipc_set_makes_blocked_receivers_recheck_permission() {
    let Some(p) = Pair::new("ipc_set_makes_blocked_receivers_recheck_permission") else {
        return;
    };
    let id = p.queue(Who::User, 0o666);
    thread::scope(|s| {
        let r = p.spawn_recv(s, "member", Who::Member, id, 8, 0, 0);
        let other = p.spawn_recv(s, "other", Who::RootNoAdmin, id, 8, 0, 0);
        // Both may still read: each retries, from the permission check, and sleeps again.
        p.set(Who::User, id, |ds| ds.msg_perm.mode = 0o644).unwrap();
        r.wait_asleep(2);
        other.wait_asleep(2);
        // Now only the owner may read: both retry and fail.
        p.set(Who::User, id, |ds| ds.msg_perm.mode = 0o600).unwrap();
        assert_eq!(p.join(r), Err(Errno::EACCES));
        assert_eq!(p.join(other), Err(Errno::EACCES));
    });
}

#[test]
fn blocked_receivers_are_served_in_arrival_order() {
    let Some(p) = Pair::new("blocked_receivers_are_served_in_arrival_order") else {
        return;
    };
    let id = p.queue(Who::Root, 0o600);
    thread::scope(|s| {
        let first = p.spawn_recv(s, "first", Who::Root, id, 8, -9, 0);
        let second = p.spawn_recv(s, "second", Who::Root, id, 8, 0, 0);
        p.msgsnd(Who::Root, id, 5, b"a", NW).unwrap();
        p.msgsnd(Who::Root, id, 6, b"b", NW).unwrap();
        assert_eq!(p.join(first), Ok((5, b"a".to_vec())));
        assert_eq!(p.join(second), Ok((6, b"b".to_vec())));
    });
    let st = p.stat(Who::Root, id, IPC_STAT).unwrap();
    assert_eq!((st.ds.msg_qnum, st.lrpid), (0, Pid::Thread("second")));
}

// ---------------------------------------------------------------------------------------------
// A seeded random sequence

#[derive(Debug)]
enum Op {
    Get {
        who: Who,
        key: i32,
        flags: i32,
    },
    Send {
        who: Who,
        id: i32,
        mtype: i64,
        len: usize,
    },
    Recv {
        who: Who,
        id: i32,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    },
    Stat {
        who: Who,
        id: i32,
        cmd: i32,
    },
    Set {
        who: Who,
        id: i32,
        uid: u32,
        gid: u32,
        mode: u32,
        qbytes: u64,
    },
    Rmid {
        who: Who,
        id: i32,
    },
    Info {
        id: i32,
        cmd: i32,
    },
}

/// Runs `steps` random non-blocking calls from `seed` on a fresh pair; every call is compared
/// as it happens, and a failure names the seed, the step and the call.
fn random_sequence(test: &str, seed: u64, steps: usize) {
    let Some(p) = Pair::new(test) else {
        return;
    };
    let mut rng = XorShift(seed);
    p.sysctl("msgmax", 64).unwrap();
    let mut live: Vec<i32> = (0..3).map(|_| p.queue(Who::Root, 0o666)).collect();
    let mut dead: Vec<i32> = Vec::new();
    for step in 0..steps {
        let who = rng.pick(&EVERYONE);
        let id = if live.is_empty() || rng.chance(8) {
            let stale = dead.last().copied().unwrap_or(7);
            rng.pick(&[-1, 99999, stale, live.first().map_or(5, |l| l + (1 << 15))])
        } else {
            rng.pick(&live)
        };
        let op = match rng.below(100) {
            0..10 => Op::Get {
                who,
                // Private keys always create: keep the number of queues small.
                key: if live.len() < 5 {
                    rng.pick(&[IPC_PRIVATE, 0x61, 0x62, 0x63])
                } else {
                    rng.pick(&[0x61, 0x62, 0x63])
                },
                flags: rng.pick(&[0, IPC_CREAT, IPC_CREAT, IPC_CREAT | IPC_EXCL])
                    | rng.pick(&[0, 0o600, 0o640, 0o604, 0o666, 0o622, 0o400, 0o044]),
            },
            10..45 => Op::Send {
                who,
                id,
                mtype: rng.pick(&[1, 1, 2, 2, 3, 3, 5, 8, 0, -2]),
                len: if rng.chance(4) {
                    65
                } else {
                    rng.below(41) as usize
                },
            },
            45..72 => {
                let mut flags = NW;
                if rng.chance(25) {
                    flags |= MSG_NOERROR;
                }
                if rng.chance(20) {
                    flags |= MSG_COPY;
                    if rng.chance(10) {
                        flags &= !NW; // EINVAL at once, never blocks
                    }
                }
                if rng.chance(if flags & MSG_COPY != 0 { 5 } else { 20 }) {
                    flags |= MSG_EXCEPT;
                }
                let msgtyp = if flags & MSG_COPY != 0 {
                    rng.below(6) as i64 - 1
                } else if rng.chance(3) {
                    i64::MIN
                } else {
                    rng.below(19) as i64 - 9
                };
                Op::Recv {
                    who,
                    id,
                    msgsz: rng.pick(&[-1, 0, 1, 4, 16, 40, 40, 64, 64, 100]),
                    msgtyp,
                    flags,
                }
            }
            72..84 => {
                let cmd = rng.pick(&[IPC_STAT, MSG_STAT, MSG_STAT_ANY]);
                let id = if cmd != IPC_STAT && rng.chance(30) {
                    rng.below(12) as i32
                } else {
                    id
                };
                Op::Stat { who, id, cmd }
            }
            84..92 => Op::Set {
                who,
                id,
                uid: rng.pick(&[0, 1000, 1000, 2000, 3000]),
                gid: rng.pick(&[0, 1000, 1000, 2000]),
                mode: rng.pick(&[0o600, 0o640, 0o604, 0o666, 0o666, 0o622, 0o444, 0]),
                qbytes: rng.pick(&[0, 3, 40, 100, 300, 16384, 16385, 0x1_0000_0005]),
            },
            92..96 => Op::Rmid { who, id },
            _ => Op::Info {
                id: rng.pick(&[0, 0, 3, -1]),
                cmd: rng.pick(&[IPC_INFO, MSG_INFO]),
            },
        };
        p.set_context(format!("seed {seed:#x}, step {step}: {op:?}: "));
        match op {
            Op::Get { who, key, flags } => {
                if let Ok(id) = p.msgget(who, key, flags) {
                    if !live.contains(&id) {
                        live.push(id);
                    }
                }
            }
            Op::Send {
                who,
                id,
                mtype,
                len,
            } => {
                let text: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let _ = p.msgsnd(who, id, mtype, &text, NW);
            }
            Op::Recv {
                who,
                id,
                msgsz,
                msgtyp,
                flags,
            } => {
                let _ = p.msgrcv(who, id, msgsz, msgtyp, flags);
            }
            Op::Stat { who, id, cmd } => {
                let _ = p.stat(who, id, cmd);
            }
            Op::Set {
                who,
                id,
                uid,
                gid,
                mode,
                qbytes,
            } => {
                let _ = p.set(who, id, |ds| {
                    ds.msg_perm.uid = uid;
                    ds.msg_perm.gid = gid;
                    ds.msg_perm.mode = mode;
                    ds.msg_qbytes = qbytes;
                });
            }
            Op::Rmid { who, id } => {
                if p.rmid(who, id).is_ok() {
                    live.retain(|&l| l != id);
                    dead.push(id);
                }
            }
            Op::Info { id, cmd } => {
                let _ = p.info(id, cmd);
            }
        }
    }
    p.set_context(format!("seed {seed:#x}, after {steps} steps: "));
    for &id in &live {
        p.stat(Who::Root, id, IPC_STAT).unwrap();
        while p.msgrcv(Who::Root, id, 64, 0, NW | MSG_NOERROR).is_ok() {}
    }
    p.info(0, MSG_INFO).unwrap();
    p.info(0, IPC_INFO).unwrap();
}

#[test]
fn seeded_random_nonblocking_sequences_match_step_by_step() {
    for seed in [
        0x5EED_0F15_7E3F_C0DE,
        0x0DDB_A11C_AFE0_1234,
        0x9E37_79B9_7F4A_7C15,
    ] {
        random_sequence(
            "seeded_random_nonblocking_sequences_match_step_by_step",
            seed,
            500,
        );
    }
}
