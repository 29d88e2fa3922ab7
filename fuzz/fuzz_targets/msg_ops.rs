//! `msg_ops`: sequences of message-queue operations on one [`IpcNamespace`].
//!
//! The input decodes (with `arbitrary`) into a starting wall-clock time, three callers with
//! arbitrary credentials and capabilities (a fourth, root with every capability, is always
//! there), and up to [`MAX_OPS`] operations: `msgget`, `msgsnd`, `msgrcv`, `msgctl` (the command
//! decoded from a raw `i32` through `MsgCtlCmd::try_from`), sysctl changes (`msgmax`, `msgmnb`,
//! `msgmni`, `msg_next_id`) and clock moves. Argument values are biased towards the boundaries
//! that matter (small values, `msgmax`/`msgmnb`, `INT_MAX`, `LONG_MIN`…) but reach every value.
//!
//! # No hangs: every send and receive is non-blocking
//!
//! The target is single-threaded, so a call that blocked would never be woken and libFuzzer
//! would report a timeout. Every `msgsnd` and `msgrcv` therefore has `IPC_NOWAIT` OR-ed into its
//! flags, whatever the input asked for; the wait paths are left to the concurrency tests. The
//! callers sleep on a `ManualBlocker` of the namespace's `ManualClock`, so a call that blocked
//! despite `IPC_NOWAIT` would hang and be reported (run with `-timeout=N`).
//!
//! # Bounded memory
//!
//! At most [`MAX_OPS`] operations run per input, a message is at most [`MAX_MSG_SIZE`] bytes,
//! and all the texts one input sends total at most [`SEND_BUDGET`] bytes (beyond it, sends carry
//! empty texts): `IPC_SET` with `CAP_SYS_RESOURCE` can raise `msg_qbytes` to 2^64 - 1, so the
//! queues' own limits do not bound what one input could queue.
//!
//! # What is checked
//!
//! Besides "no panic, no hang", every operation is compared with a small reference model of
//! the namespace (the live queues with their `msqid64_ds` fields and their messages in arrival
//! order, and the key table), written from Linux's `ipc/msg.c` and `ipc/util.c`: the exact
//! result or errno, and the message a receive picks (FIFO per selector, lowest type for a
//! negative `msgtyp`, `MSG_EXCEPT`, `MSG_COPY` by index, `MSG_NOERROR` truncation, `E2BIG`).
//! After every operation the sysctls, `IPC_INFO`, the queue count and the `IPC_STAT` of the
//! queue the operation named are checked; every [`FULL_CHECK_EVERY`] operations and at the end,
//! every queue's `IPC_STAT`, the `MSG_INFO` totals (`msgpool`, `msgmap`, `msgtql`) and highest
//! index, and a `MSG_STAT_ANY` sweep of the indexes (see [`SWEEP_MAX`]).
//!
//! The model also covers `msg_next_id`: it is consumed by the next allocation, which takes the
//! first free index from the knob's up to `IPCMNI - 1` or fails with `ENOSPC` (Linux
//! fa0b9b2b7ae3; no queue may ever sit at an index its id cannot name).
//!
//! Set `SYSVIPC_FUZZ_TRACE=1` to print each operation, with its resolved arguments and its
//! result, to stderr (for example with `cargo fuzz run msg_ops <artifact>`).

#![no_main]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sysvipc::abi::{self, Ipc64Perm, Msginfo, Msqid64Ds};
use sysvipc::{
    Caller, Capabilities, Clock, Credentials, Errno, Id, IpcNamespace, ManualBlocker, ManualClock,
    Message, MsgCtlCmd,
};

/// Operations run per input, at most.
const MAX_OPS: usize = 256;
/// The longest text one `msgsnd` carries: one byte above the default `msgmax`.
const MAX_MSG_SIZE: usize = abi::MSGMAX as usize + 1;
/// The total text bytes one input may send.
const SEND_BUDGET: usize = 64 * 1024;
/// Every this many operations (and at the end of the input) every queue is checked, not only
/// the one the operation named, and so are `MSG_INFO` and a `MSG_STAT_ANY` sweep.
const FULL_CHECK_EVERY: usize = 8;
/// The full checks sweep every index with `MSG_STAT_ANY` while the highest is at most this;
/// above it (`msg_next_id` can put a queue at any index) they visit only the indexes of the
/// ids `msgget` returned.
const SWEEP_MAX: i32 = 256;
/// The `msgctl` commands `MsgCtlCmd::try_from` accepts.
const KNOWN_CMDS: [i32; 7] = [
    abi::IPC_RMID,
    abi::IPC_SET,
    abi::IPC_STAT,
    abi::IPC_INFO,
    abi::MSG_INFO,
    abi::MSG_STAT,
    abi::MSG_STAT_ANY,
];
/// The callers decoded from the input; one more, root, is appended.
const CALLERS: usize = 3;

// ---------------------------------------------------------------------------------------------
// Input decoding: argument types biased towards interesting values.
// ---------------------------------------------------------------------------------------------

/// Values an `i64` argument takes often (besides small ones and arbitrary ones).
const SPECIAL: [i64; 26] = [
    0,
    1,
    -1,
    2,
    i64::MIN,
    i64::MIN + 1,
    i64::MAX,
    i32::MIN as i64,
    i32::MAX as i64,
    i32::MAX as i64 + 1,
    u32::MAX as i64,
    u32::MAX as i64 + 1,
    8191,
    8192,
    8193,
    16383,
    16384,
    16385,
    32000,
    32767,
    32768,
    32769,
    65535,
    65536,
    (1 << 15) | 1,
    (abi::IPCID_SEQ_MAX as i64) << 15,
];

/// An `i64`: usually small (-4..=11) or one of [`SPECIAL`], sometimes anything.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Int(i64);

impl<'a> Arbitrary<'a> for Int {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u8::arbitrary(u)?;
        Ok(Int(match tag {
            0..=127 => i64::from(tag % 16) - 4,
            128..=191 => SPECIAL[usize::from(tag) % SPECIAL.len()],
            _ => i64::arbitrary(u)?,
        }))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(9))
    }
}

impl fmt::Debug for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A uid or gid: usually 0..=3 (so that owner, group and other classes collide), sometimes
/// anything, sometimes `(uid_t)-1` (which `IPC_SET` refuses).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Ugid(u32);

impl<'a> Arbitrary<'a> for Ugid {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u8::arbitrary(u)?;
        Ok(Ugid(match tag {
            0..=239 => u32::from(tag % 4),
            240..=253 => u32::arbitrary(u)?,
            _ => u32::MAX,
        }))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(5))
    }
}

impl fmt::Debug for Ugid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A key: usually 0 (`IPC_PRIVATE`) to 4, sometimes anything.
#[derive(Clone, Copy)]
struct KeyArg(i32);

impl<'a> Arbitrary<'a> for KeyArg {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u8::arbitrary(u)?;
        Ok(KeyArg(match tag {
            0..=229 => i32::from(tag % 5),
            _ => i32::arbitrary(u)?,
        }))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(5))
    }
}

impl fmt::Debug for KeyArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// An id (or an index, for `MSG_STAT`): usually one `msgget` returned earlier, else a small
/// integer (negatives included) or anything.
#[derive(Clone, Copy, Debug)]
enum IdArg {
    /// The `n % len`-th id `msgget` returned in this input (0 if none yet).
    Known(u8),
    /// This raw value.
    Raw(i32),
}

impl<'a> Arbitrary<'a> for IdArg {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u8::arbitrary(u)?;
        Ok(match tag {
            0..=199 => IdArg::Known(tag),
            200..=229 => IdArg::Raw(i32::from(tag) - 215),
            _ => IdArg::Raw(i32::arbitrary(u)?),
        })
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(5))
    }
}

/// A `msgctl` command word: usually a known command, sometimes a near miss, sometimes anything.
#[derive(Clone, Copy)]
struct CmdArg(i32);

impl<'a> Arbitrary<'a> for CmdArg {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const NEAR: [i32; 8] = [
            -1,
            4,
            10,
            14,
            abi::IPC_64,
            abi::IPC_64 | abi::IPC_STAT,
            abi::IPC_64 | abi::MSG_STAT,
            i32::MIN,
        ];
        let tag = u8::arbitrary(u)?;
        Ok(CmdArg(match tag {
            0..=223 => KNOWN_CMDS[usize::from(tag) % KNOWN_CMDS.len()],
            224..=247 => NEAR[usize::from(tag) % NEAR.len()],
            _ => i32::arbitrary(u)?,
        }))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(5))
    }
}

impl fmt::Debug for CmdArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A text size: usually 0..=31, sometimes anything up to [`MAX_MSG_SIZE`].
#[derive(Clone, Copy)]
struct SizeArg(usize);

impl<'a> Arbitrary<'a> for SizeArg {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag = u8::arbitrary(u)?;
        Ok(SizeArg(match tag {
            0..=199 => usize::from(tag % 32),
            200..=219 => [
                abi::MSGMAX as usize - 1,
                abi::MSGMAX as usize,
                abi::MSGMAX as usize + 1,
                4096,
            ][usize::from(tag) % 4],
            _ => usize::from(u16::arbitrary(u)?) % (MAX_MSG_SIZE + 1),
        }))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(3))
    }
}

impl fmt::Debug for SizeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `msgget` flags: creation bits, mode bits (often a common mode), and rarely arbitrary
/// extra bits.
#[derive(Clone, Copy)]
struct GetFlags(i32);

impl<'a> Arbitrary<'a> for GetFlags {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const MODES: [i32; 8] = [0o600, 0o666, 0o644, 0o640, 0o400, 0o200, 0o000, 0o777];
        let b = u8::arbitrary(u)?;
        let mut f = if b & 0x08 != 0 {
            i32::from(u16::arbitrary(u)?) & 0o777
        } else {
            MODES[usize::from(b >> 4) % MODES.len()]
        };
        if b & 0x01 != 0 {
            f |= abi::IPC_CREAT;
        }
        if b & 0x06 == 0x06 {
            f |= abi::IPC_EXCL;
        }
        if b >= 0xf0 {
            f |= i32::arbitrary(u)?;
        }
        Ok(GetFlags(f))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(7))
    }
}

impl fmt::Debug for GetFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#o}", self.0)
    }
}

/// `msgsnd`/`msgrcv` flags: `MSG_NOERROR` half the time, `MSG_EXCEPT` and `MSG_COPY` a quarter
/// of the time each, arbitrary extra bits rarely. `IPC_NOWAIT` is always added (see the module
/// docs).
#[derive(Clone, Copy)]
struct XferFlags(i32);

impl<'a> Arbitrary<'a> for XferFlags {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let b = u8::arbitrary(u)?;
        let mut f = abi::IPC_NOWAIT;
        if b & 0x01 != 0 {
            f |= abi::MSG_NOERROR;
        }
        if b & 0x06 == 0x06 {
            f |= abi::MSG_EXCEPT;
        }
        if b & 0x18 == 0x18 {
            f |= abi::MSG_COPY;
        }
        if b >= 0xf0 {
            f |= i32::arbitrary(u)?;
        }
        Ok(XferFlags(f))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(5))
    }
}

impl fmt::Debug for XferFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#o}", self.0)
    }
}

/// The `msqid64_ds` an `IPC_SET` passes: the fields Linux reads, plus noise in the others.
#[derive(Arbitrary, Clone, Copy, Debug)]
struct DsArg {
    uid: Ugid,
    gid: Ugid,
    mode: u16,
    qbytes: Int,
    noise: [u32; 3],
}

impl DsArg {
    fn ds(self) -> Msqid64Ds {
        let [a, b, c] = self.noise;
        Msqid64Ds {
            msg_perm: Ipc64Perm {
                key: a as i32,
                uid: self.uid.0,
                gid: self.gid.0,
                cuid: b,
                cgid: c,
                mode: u32::from(self.mode),
                seq: a as u16,
                ..Ipc64Perm::default()
            },
            msg_stime: i64::from(a),
            msg_rtime: i64::from(b),
            msg_ctime: i64::from(c),
            msg_cbytes: u64::from(a),
            msg_qnum: u64::from(b),
            msg_qbytes: self.qbytes.0 as u64,
            msg_lspid: a as i32,
            msg_lrpid: b as i32,
            ..Msqid64Ds::default()
        }
    }
}

/// One caller's identity.
#[derive(Arbitrary, Clone, Debug)]
struct CallerSpec {
    euid: Ugid,
    egid: Ugid,
    /// `None`: the fsgid is the egid.
    fsgid: Option<Ugid>,
    groups: [Ugid; 2],
    ngroups: u8,
    /// Bit n grants the n-th capability of [`CAPS`].
    caps: u8,
    pid: i32,
    /// `None`: the tid is the pid.
    tid: Option<i32>,
}

const CAPS: [Capabilities; 5] = [
    Capabilities::IPC_OWNER,
    Capabilities::SYS_ADMIN,
    Capabilities::SYS_RESOURCE,
    Capabilities::IPC_LOCK,
    Capabilities::CHECKPOINT_RESTORE,
];

impl CallerSpec {
    fn caller(&self, blocker: Arc<ManualBlocker>) -> Caller {
        let mut cred = Credentials::user(self.euid.0, self.egid.0);
        if let Some(g) = self.fsgid {
            cred.fsgid = g.0;
        }
        cred.groups = self.groups[..usize::from(self.ngroups % 3)]
            .iter()
            .map(|g| g.0)
            .collect();
        for (i, cap) in CAPS.iter().enumerate() {
            if self.caps & (1 << i) != 0 {
                cred.caps |= *cap;
            }
        }
        Caller::new(cred, self.pid, blocker).with_tid(self.tid.unwrap_or(self.pid))
    }
}

/// Which sysctl a `Limit` operation writes.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum LimitKind {
    Msgmax,
    Msgmnb,
    Msgmni,
    MsgNextId,
}

/// One operation. `who` picks a caller (`who % 4`; 3 is root).
#[derive(Arbitrary, Clone, Debug)]
enum Op {
    Get {
        who: u8,
        key: KeyArg,
        flags: GetFlags,
    },
    Snd {
        who: u8,
        id: IdArg,
        mtype: Int,
        size: SizeArg,
        flags: XferFlags,
    },
    Rcv {
        who: u8,
        id: IdArg,
        msgsz: Int,
        msgtyp: Int,
        flags: XferFlags,
    },
    Ctl {
        who: u8,
        id: IdArg,
        cmd: CmdArg,
        ds: DsArg,
        /// Also call the `msgctl_*` method that does not take this command (must be `EINVAL`).
        misroute: bool,
    },
    Limit {
        which: LimitKind,
        value: Int,
    },
    Advance {
        millis: u32,
    },
    SetRealtime {
        secs: Int,
    },
}

/// A whole fuzz input.
#[derive(Arbitrary, Debug)]
struct Input {
    start: Int,
    callers: [CallerSpec; CALLERS],
    ops: Vec<Op>,
}

// ---------------------------------------------------------------------------------------------
// The reference model.
// ---------------------------------------------------------------------------------------------

/// A queued message of the model: the text is `pattern(tag, len)`.
#[derive(Clone, Copy, Debug)]
struct Msg {
    tag: u32,
    mtype: i64,
    len: usize,
}

/// The text a send with tag `tag` carries: distinct per send, so a corrupted, duplicated or
/// misrouted text is noticed.
fn pattern(tag: u32, len: usize) -> Vec<u8> {
    let seed = tag.wrapping_mul(0x9e37_79b9).to_le_bytes();
    (0..len)
        .map(|i| seed[i % 4].wrapping_add((i / 4) as u8))
        .collect()
}

/// One queue as Linux would have it.
#[derive(Clone, Debug)]
struct QModel {
    key: i32,
    uid: u32,
    gid: u32,
    cuid: u32,
    cgid: u32,
    mode: u32,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
    msgs: VecDeque<Msg>,
}

impl QModel {
    fn cbytes(&self) -> u64 {
        self.msgs.iter().map(|m| m.len as u64).sum()
    }

    /// `msg_fits_inqueue()`.
    fn fits(&self, size: usize) -> bool {
        size as u64 + self.cbytes() <= self.qbytes && (self.msgs.len() as u64) < self.qbytes
    }

    /// What `IPC_STAT` reports for this queue under `id`.
    fn ds(&self, id: i32) -> Msqid64Ds {
        Msqid64Ds {
            msg_perm: Ipc64Perm {
                key: self.key,
                uid: self.uid,
                gid: self.gid,
                cuid: self.cuid,
                cgid: self.cgid,
                mode: self.mode,
                seq: (id >> abi::IPCMNI_SHIFT) as u16,
                ..Ipc64Perm::default()
            },
            msg_stime: self.stime,
            msg_rtime: self.rtime,
            msg_ctime: self.ctime,
            msg_cbytes: self.cbytes(),
            msg_qnum: self.msgs.len() as u64,
            msg_qbytes: self.qbytes,
            msg_lspid: self.lspid,
            msg_lrpid: self.lrpid,
            ..Msqid64Ds::default()
        }
    }

    /// `ipcperms()` (written out again here, independently of the crate): whether `cred` may
    /// have the access `flag` asks for (`S_I*UGO` bits, or `msgget` flags).
    fn permits(&self, cred: &Credentials, flag: u32) -> bool {
        let flag = flag & 0o777;
        let requested = (flag >> 6 | flag >> 3 | flag) & 0o7;
        let in_group = |g: u32| cred.fsgid == g || cred.groups.contains(&g);
        let granted = if cred.euid == self.cuid || cred.euid == self.uid {
            self.mode >> 6
        } else if in_group(self.cgid) || in_group(self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        requested & !granted & 0o7 == 0 || cred.caps.contains(Capabilities::IPC_OWNER)
    }

    /// The `IPC_SET`/`IPC_RMID` authority: owner, creator, or `CAP_SYS_ADMIN`.
    fn owned_by(&self, cred: &Credentials) -> bool {
        cred.euid == self.cuid
            || cred.euid == self.uid
            || cred.caps.contains(Capabilities::SYS_ADMIN)
    }

    /// `find_msg()` for a receive (not `MSG_COPY`): the position of the message picked.
    fn select(&self, msgtyp: i64, except: bool) -> Option<usize> {
        if msgtyp == 0 {
            return (!self.msgs.is_empty()).then_some(0);
        }
        if msgtyp > 0 {
            return self.msgs.iter().position(|m| (m.mtype == msgtyp) != except);
        }
        // SEARCH_LESSEQUAL; LONG_MIN stands for LONG_MAX.
        let limit = msgtyp.checked_neg().unwrap_or(i64::MAX);
        let lowest = self
            .msgs
            .iter()
            .map(|m| m.mtype)
            .filter(|t| *t <= limit)
            .min()?;
        self.msgs.iter().position(|m| m.mtype == lowest)
    }
}

/// The namespace's queues (by id) and key table.
#[derive(Default, Debug)]
struct Model {
    queues: BTreeMap<i32, QModel>,
    keys: HashMap<i32, i32>,
}

impl Model {
    fn queue_at_index(&self, index: i32) -> Option<(i32, &QModel)> {
        self.queues
            .iter()
            .find(|(id, _)| **id & abi::IPCMNI_IDX_MASK == index)
            .map(|(id, q)| (*id, q))
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------------------------

fn tracing() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("SYSVIPC_FUZZ_TRACE").is_some_and(|v| v != "0"))
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

struct Harness {
    ns: IpcNamespace,
    clock: Arc<ManualClock>,
    callers: Vec<Caller>,
    /// Ids `msgget` returned, oldest first, without repeats.
    known: Vec<i32>,
    /// The same ids, for lookups.
    known_set: HashSet<i32>,
    /// The id the last `msgget` returned, if it succeeded.
    last_get: Option<i32>,
    /// What the namespace should hold.
    model: Model,
    budget: usize,
    next_tag: u32,
    msgmax: i32,
    msgmnb: i32,
    msgmni: i32,
    next_id: i32,
}

impl Harness {
    fn new(input: &Input) -> Self {
        let clock = Arc::new(ManualClock::new(input.start.0));
        let ns = IpcNamespace::with_clock(clock.clone());
        let blocker = Arc::new(ManualBlocker::new(clock.clone()));
        let mut callers: Vec<Caller> = input
            .callers
            .iter()
            .map(|c| c.caller(blocker.clone()))
            .collect();
        callers.push(Caller::new(Credentials::root(), 1, blocker));
        trace!("start at {}; callers {callers:#?}", input.start.0);
        Self {
            ns,
            clock,
            callers,
            known: Vec::new(),
            known_set: HashSet::new(),
            last_get: None,
            model: Model::default(),
            budget: SEND_BUDGET,
            next_tag: 0,
            msgmax: abi::MSGMAX,
            msgmnb: abi::MSGMNB,
            msgmni: abi::MSGMNI,
            next_id: -1,
        }
    }

    fn caller(&self, who: u8) -> Caller {
        self.callers[usize::from(who) % self.callers.len()].clone()
    }

    fn resolve(&self, id: IdArg) -> i32 {
        match id {
            IdArg::Known(n) if !self.known.is_empty() => {
                self.known[usize::from(n) % self.known.len()]
            }
            IdArg::Known(_) => 0,
            IdArg::Raw(v) => v,
        }
    }

    /// Runs `op` and checks its outcome; returns the id it named, if any.
    fn run(&mut self, op: &Op) -> Option<i32> {
        let id = match *op {
            Op::Get { .. } | Op::Limit { .. } | Op::Advance { .. } | Op::SetRealtime { .. } => None,
            Op::Snd { id, .. } | Op::Rcv { id, .. } | Op::Ctl { id, .. } => Some(self.resolve(id)),
        };
        match *op {
            Op::Get { who, key, flags } => self.msgget(who, key.0, flags.0),
            Op::Snd {
                who,
                id,
                mtype,
                size,
                flags,
            } => self.msgsnd(who, self.resolve(id), mtype.0, size.0, flags.0),
            Op::Rcv {
                who,
                id,
                msgsz,
                msgtyp,
                flags,
            } => self.msgrcv(who, self.resolve(id), msgsz.0, msgtyp.0, flags.0),
            Op::Ctl {
                who,
                id,
                cmd,
                ds,
                misroute,
            } => self.msgctl(who, self.resolve(id), cmd.0, &ds.ds(), misroute),
            Op::Limit { which, value } => self.limit(which, value.0),
            Op::Advance { millis } => {
                trace!("advance {millis} ms");
                self.clock.advance(Duration::from_millis(u64::from(millis)));
            }
            Op::SetRealtime { secs } => {
                trace!("set_realtime {}", secs.0);
                self.clock.set_realtime(secs.0);
            }
        }
        match op {
            Op::Get { .. } => self.last_get,
            _ => id,
        }
    }

    /// No queue sits at an index at or beyond `IPCMNI`: its id would name another slot (Linux
    /// fa0b9b2b7ae3 bounds the `msg_next_id` allocation; the cyclic one is bounded anyway).
    fn check_indexes(&self) {
        let (max, _) = self
            .ns
            .msgctl_info(0, MsgCtlCmd::IpcInfo)
            .expect("IPC_INFO");
        assert!(max < abi::IPCMNI, "highest index {max} >= IPCMNI");
    }

    fn msgget(&mut self, who: u8, key: i32, flags: i32) {
        self.last_get = None;
        let caller = self.caller(who);
        let now = self.clock.realtime();
        let m = &self.model;
        // What Linux does (ipcget, newque, ipc_addid, ipc_idr_alloc): Ok(Some(id)) for an
        // existing queue, Ok(None) for a new queue with a cyclically allocated id.
        let existing = if key == abi::IPC_PRIVATE {
            None
        } else {
            m.keys.get(&key).copied()
        };
        let mut next_id = self.next_id;
        let expected = match existing {
            Some(_) if flags & abi::IPC_CREAT != 0 && flags & abi::IPC_EXCL != 0 => {
                Err(Errno::EEXIST)
            }
            Some(id) if !m.queues[&id].permits(&caller.cred, flags as u32) => Err(Errno::EACCES),
            Some(id) => Ok(Some(id)),
            None if key != abi::IPC_PRIVATE && flags & abi::IPC_CREAT == 0 => Err(Errno::ENOENT),
            None if m.queues.len() >= self.msgmni.clamp(0, abi::IPCMNI) as usize => {
                Err(Errno::ENOSPC)
            }
            None if next_id >= 0 => {
                // msg_next_id is consumed by this allocation, and its index is bounded by
                // IPCMNI (Linux fa0b9b2b7ae3): the first free index from its own, or ENOSPC.
                let seq = next_id >> abi::IPCMNI_SHIFT;
                let from = next_id & abi::IPCMNI_IDX_MASK;
                next_id = -1;
                (from..abi::IPCMNI)
                    .find(|i| m.queue_at_index(*i).is_none())
                    .map(|i| Some((seq << abi::IPCMNI_SHIFT) + i))
                    .ok_or(Errno::ENOSPC)
            }
            None => Ok(None),
        };
        let before = self.ns.msg().len();
        let r = self.ns.msgget(&caller, key, flags);
        trace!("msgget(who {who}, key {key:#x}, flags {flags:#o}) = {r:?}");
        let after = self.ns.msg().len();
        self.next_id = next_id;
        if let Ok(id) = r {
            self.last_get = Some(id);
            if self.known_set.insert(id) {
                self.known.push(id);
            }
        }
        let m = &mut self.model;
        let created = match (expected, r) {
            (Ok(Some(want)), Ok(id)) if existing.is_some() => {
                assert_eq!(id, want, "msgget of an existing key");
                false
            }
            (Ok(Some(want)), Ok(id)) => {
                assert_eq!(id, want, "msgget with msg_next_id {}", self.next_id);
                true
            }
            (Ok(None), Ok(id)) => {
                assert!(id >= 0, "new queue with negative id {id}");
                assert!(!m.queues.contains_key(&id), "new queue reuses live id {id}");
                true
            }
            (Err(want), Err(got)) => {
                assert_eq!(got, want, "msgget errno");
                false
            }
            (want, got) => {
                panic!("msgget(key {key:#x}, flags {flags:#o}) = {got:?}, model says {want:?}")
            }
        };
        assert_eq!(
            after,
            before + usize::from(created),
            "queue count after msgget"
        );
        if let (true, Ok(id)) = (created, r) {
            let cred = &caller.cred;
            m.queues.insert(
                id,
                QModel {
                    key,
                    uid: cred.euid,
                    gid: cred.egid,
                    cuid: cred.euid,
                    cgid: cred.egid,
                    mode: flags as u32 & 0o777,
                    qbytes: self.msgmnb as u64,
                    stime: 0,
                    rtime: 0,
                    ctime: now,
                    lspid: 0,
                    lrpid: 0,
                    msgs: VecDeque::new(),
                },
            );
            if key != abi::IPC_PRIVATE {
                m.keys.insert(key, id);
            }
        }
    }

    fn msgsnd(&mut self, who: u8, id: i32, mtype: i64, size: usize, flags: i32) {
        let caller = self.caller(who);
        let size = size.min(self.budget);
        self.budget -= size;
        let tag = self.next_tag;
        self.next_tag += 1;
        let now = self.clock.realtime();
        let msgmax = self.msgmax;
        let r = self
            .ns
            .msgsnd(&caller, id, Message::new(mtype, pattern(tag, size)), flags);
        trace!("msgsnd(who {who}, id {id}, mtype {mtype}, size {size}, flags {flags:#o}) = {r:?}");
        let invalid = id < 0 || mtype < 1 || size > msgmax as usize;
        if invalid {
            assert_eq!(r, Err(Errno::EINVAL), "msgsnd with invalid arguments");
        }
        assert!(
            matches!(
                r,
                Ok(()) | Err(Errno::EINVAL | Errno::EACCES | Errno::EAGAIN)
            ),
            "msgsnd with IPC_NOWAIT in one thread returned {r:?}"
        );
        let m = &mut self.model;
        let q = m.queues.get_mut(&id);
        let expected = match &q {
            _ if invalid => Err(Errno::EINVAL),
            None => Err(Errno::EINVAL),
            Some(q) if !q.permits(&caller.cred, 0o222) => Err(Errno::EACCES),
            Some(q) if !q.fits(size) => Err(Errno::EAGAIN),
            Some(_) => Ok(()),
        };
        assert_eq!(r, expected, "msgsnd result");
        if let (Ok(()), Some(q)) = (r, q) {
            q.msgs.push_back(Msg {
                tag,
                mtype,
                len: size,
            });
            q.stime = now;
            q.lspid = caller.pid;
        }
    }

    fn msgrcv(&mut self, who: u8, id: i32, msgsz: i64, msgtyp: i64, flags: i32) {
        let caller = self.caller(who);
        let now = self.clock.realtime();
        let noerror = flags & abi::MSG_NOERROR != 0;
        let except = flags & abi::MSG_EXCEPT != 0;
        let copy = flags & abi::MSG_COPY != 0;
        let r = self.ns.msgrcv(&caller, id, msgsz, msgtyp, flags);
        trace!(
            "msgrcv(who {who}, id {id}, msgsz {msgsz}, msgtyp {msgtyp}, flags {flags:#o}) = {:?}",
            r.as_ref().map(|m| (m.mtype, m.text.len()))
        );
        let invalid = id < 0 || msgsz < 0 || (copy && except);
        if invalid {
            assert_eq!(r, Err(Errno::EINVAL), "msgrcv with invalid arguments");
        }
        match &r {
            Ok(msg) => {
                assert!(
                    msgsz >= 0 && msg.text.len() as u64 <= msgsz as u64,
                    "text above msgsz"
                );
                assert!(msg.mtype >= 1, "received type {}", msg.mtype);
                if !copy {
                    let ok = match msgtyp {
                        0 => true,
                        t if t < 0 => msg.mtype <= t.checked_neg().unwrap_or(i64::MAX),
                        t => (msg.mtype == t) != except,
                    };
                    assert!(ok, "type {} does not match msgtyp {msgtyp}", msg.mtype);
                }
            }
            Err(e) => assert!(
                matches!(
                    *e,
                    Errno::EINVAL | Errno::EACCES | Errno::ENOMSG | Errno::E2BIG
                ),
                "msgrcv with IPC_NOWAIT in one thread returned {e:?}"
            ),
        }
        let msgmax = self.msgmax;
        let m = &mut self.model;
        let q = m.queues.get_mut(&id);
        let expected: Result<Message, Errno> = match q {
            _ if invalid => Err(Errno::EINVAL),
            None => Err(Errno::EINVAL),
            Some(q) if !q.permits(&caller.cred, 0o444) => Err(Errno::EACCES),
            Some(q) if copy => {
                let size = msgsz as u64;
                match usize::try_from(msgtyp).ok().and_then(|n| q.msgs.get(n)) {
                    None => Err(Errno::ENOMSG),
                    Some(m) if m.len as u64 > size && !noerror => Err(Errno::E2BIG),
                    Some(m) if m.len as u64 > size.min(msgmax as u64) => Err(Errno::EINVAL),
                    Some(m) => Ok(Message::new(m.mtype, pattern(m.tag, m.len))),
                }
            }
            Some(q) => match q.select(msgtyp, except) {
                None => Err(Errno::ENOMSG),
                Some(i) if q.msgs[i].len as u64 > msgsz as u64 && !noerror => Err(Errno::E2BIG),
                Some(i) => {
                    let Some(m) = q.msgs.remove(i) else {
                        unreachable!()
                    };
                    q.rtime = now;
                    q.lrpid = caller.pid;
                    let kept = (m.len as u64).min(msgsz as u64) as usize;
                    let mut text = pattern(m.tag, m.len);
                    text.truncate(kept);
                    Ok(Message::new(m.mtype, text))
                }
            },
        };
        assert_eq!(r, expected, "msgrcv result");
    }

    fn msgctl(&mut self, who: u8, id: i32, raw: i32, ds: &Msqid64Ds, misroute: bool) {
        let caller = self.caller(who);
        let now = self.clock.realtime();
        let cmd = MsgCtlCmd::try_from(raw);
        assert_eq!(
            cmd.is_ok(),
            KNOWN_CMDS.contains(&raw),
            "MsgCtlCmd::try_from({raw}) = {cmd:?}"
        );
        let Ok(cmd) = cmd else {
            assert_eq!(cmd, Err(Errno::EINVAL));
            trace!("msgctl(cmd {raw}) = EINVAL (unknown command)");
            return;
        };
        match cmd {
            MsgCtlCmd::Stat | MsgCtlCmd::MsgStat | MsgCtlCmd::MsgStatAny => {
                if misroute {
                    assert_eq!(self.ns.msgctl_info(id, cmd), Err(Errno::EINVAL));
                }
                let r = self.ns.msgctl_stat(&caller, id, cmd);
                trace!("msgctl(who {who}, {id}, {cmd:?}) = {:?}", r.map(|(i, _)| i));
                if id < 0 {
                    assert_eq!(r, Err(Errno::EINVAL));
                }
                let m = &self.model;
                let found = if id < 0 {
                    None
                } else if cmd == MsgCtlCmd::Stat {
                    m.queues.get(&id).map(|q| (0, id, q))
                } else {
                    m.queue_at_index(id & abi::IPCMNI_IDX_MASK)
                        .map(|(qid, q)| (qid, qid, q))
                };
                let expected = match found {
                    None => Err(Errno::EINVAL),
                    Some((_, _, q))
                        if cmd != MsgCtlCmd::MsgStatAny && !q.permits(&caller.cred, 0o444) =>
                    {
                        Err(Errno::EACCES)
                    }
                    Some((ret, qid, q)) => Ok((ret, q.ds(qid))),
                };
                assert_eq!(r, expected, "msgctl {cmd:?}");
            }
            MsgCtlCmd::Set => {
                if misroute {
                    assert_eq!(self.ns.msgctl_info(id, cmd), Err(Errno::EINVAL));
                    assert_eq!(self.ns.msgctl_stat(&caller, id, cmd), Err(Errno::EINVAL));
                }
                let r = self.ns.msgctl_set(&caller, id, ds);
                trace!(
                    "msgctl(who {who}, {id}, IPC_SET uid {} gid {} mode {:#o} qbytes {:#x}) = {r:?}",
                    ds.msg_perm.uid, ds.msg_perm.gid, ds.msg_perm.mode, ds.msg_qbytes
                );
                if id < 0 {
                    assert_eq!(r, Err(Errno::EINVAL));
                }
                let msgmnb = self.msgmnb;
                let m = &mut self.model;
                // msgctl_down() passes msg_qbytes through an int.
                let qbytes = ds.msg_qbytes as i32;
                let q = if id < 0 { None } else { m.queues.get_mut(&id) };
                let expected = match &q {
                    None => Err(Errno::EINVAL),
                    Some(q) if !q.owned_by(&caller.cred) => Err(Errno::EPERM),
                    Some(_)
                        if qbytes as u32 > msgmnb as u32
                            && !caller.cred.caps.contains(Capabilities::SYS_RESOURCE) =>
                    {
                        Err(Errno::EPERM)
                    }
                    Some(_) if ds.msg_perm.uid == u32::MAX || ds.msg_perm.gid == u32::MAX => {
                        Err(Errno::EINVAL)
                    }
                    Some(_) => Ok(()),
                };
                assert_eq!(r, expected, "msgctl IPC_SET");
                if let (Ok(()), Some(q)) = (r, q) {
                    q.uid = ds.msg_perm.uid;
                    q.gid = ds.msg_perm.gid;
                    q.mode = (q.mode & !0o777) | (ds.msg_perm.mode & 0o777);
                    q.qbytes = i64::from(qbytes) as u64;
                    q.ctime = now;
                }
            }
            MsgCtlCmd::Rmid => {
                if misroute {
                    assert_eq!(self.ns.msgctl_info(id, cmd), Err(Errno::EINVAL));
                    assert_eq!(self.ns.msgctl_stat(&caller, id, cmd), Err(Errno::EINVAL));
                }
                let before = self.ns.msg().len();
                let r = self.ns.msgctl_rmid(&caller, id);
                trace!("msgctl(who {who}, {id}, IPC_RMID) = {r:?}");
                let after = self.ns.msg().len();
                match r {
                    Ok(()) => assert_eq!(after + 1, before, "IPC_RMID removed nothing"),
                    Err(e) => {
                        assert_eq!(after, before, "failed IPC_RMID removed a queue");
                        assert!(matches!(e, Errno::EINVAL | Errno::EPERM), "IPC_RMID: {e:?}");
                    }
                }
                if id < 0 {
                    assert_eq!(r, Err(Errno::EINVAL));
                }
                let m = &mut self.model;
                let expected = match m.queues.get(&id) {
                    _ if id < 0 => Err(Errno::EINVAL),
                    None => Err(Errno::EINVAL),
                    Some(q) if !q.owned_by(&caller.cred) => Err(Errno::EPERM),
                    Some(_) => Ok(()),
                };
                assert_eq!(r, expected, "msgctl IPC_RMID");
                if r.is_ok() {
                    if let Some(q) = m.queues.remove(&id)
                        && q.key != abi::IPC_PRIVATE
                    {
                        m.keys.remove(&q.key);
                    }
                    assert!(self.ns.msg().find_by_id(Id::from_raw(id)).is_err());
                }
            }
            MsgCtlCmd::IpcInfo | MsgCtlCmd::MsgInfo => {
                if misroute {
                    assert_eq!(self.ns.msgctl_stat(&caller, id, cmd), Err(Errno::EINVAL));
                }
                let r = self.ns.msgctl_info(id, cmd);
                trace!("msgctl({id}, {cmd:?}) = {r:?}");
                if id < 0 {
                    assert_eq!(r, Err(Errno::EINVAL));
                    return;
                }
                let (max, info) = r.expect("msgctl info with a valid id");
                self.check_info(cmd, max, &info);
            }
        }
    }

    /// The fields of `IPC_INFO`/`MSG_INFO` against the sysctls and the model.
    fn check_info(&self, cmd: MsgCtlCmd, max: i32, info: &Msginfo) {
        assert_eq!(
            (info.msgmax, info.msgmnb, info.msgmni),
            (self.msgmax, self.msgmnb, self.msgmni),
            "{cmd:?} limits"
        );
        assert_eq!((info.msgssz, info.msgseg), (abi::MSGSSZ, abi::MSGSEG));
        assert!(max >= 0);
        if cmd == MsgCtlCmd::IpcInfo {
            assert_eq!(
                (info.msgpool, info.msgmap, info.msgtql),
                (abi::MSGPOOL, abi::MSGMAP, abi::MSGTQL),
                "IPC_INFO constants"
            );
            return;
        }
        assert_eq!(
            info.msgpool as usize,
            self.ns.msg().len(),
            "MSG_INFO msgpool"
        );
        assert!(
            info.msgtql as usize <= SEND_BUDGET - self.budget,
            "MSG_INFO: {} bytes queued, only {} sent",
            info.msgtql,
            SEND_BUDGET - self.budget
        );
        assert!(
            info.msgmap as u32 <= self.next_tag,
            "more messages queued than sent"
        );
        {
            let m = &self.model;
            let msgs: usize = m.queues.values().map(|q| q.msgs.len()).sum();
            let bytes: u64 = m.queues.values().map(QModel::cbytes).sum();
            assert_eq!(
                (
                    info.msgpool as usize,
                    info.msgmap as usize,
                    info.msgtql as u64
                ),
                (m.queues.len(), msgs, bytes),
                "MSG_INFO totals"
            );
            let want_max = m
                .queues
                .keys()
                .map(|id| id & abi::IPCMNI_IDX_MASK)
                .max()
                .unwrap_or(0);
            assert_eq!(max, want_max, "MSG_INFO highest index");
        }
    }

    fn limit(&mut self, which: LimitKind, value: i64) {
        let l = self.ns.limits();
        let in_range = |min: i64, max: i64| (min..=max).contains(&value);
        let (r, ok) = match which {
            LimitKind::Msgmax => (l.set_msgmax(value), in_range(0, i32::MAX.into())),
            LimitKind::Msgmnb => (l.set_msgmnb(value), in_range(0, i32::MAX.into())),
            LimitKind::Msgmni => (l.set_msgmni(value), in_range(0, abi::IPCMNI.into())),
            LimitKind::MsgNextId => (self.ns.set_msg_next_id(value), in_range(0, i32::MAX.into())),
        };
        trace!("set {which:?} {value} = {r:?}");
        assert_eq!(r.is_ok(), ok, "{which:?} = {value}: {r:?}");
        if r.is_err() {
            assert_eq!(r, Err(Errno::EINVAL));
            return;
        }
        let v = value as i32;
        match which {
            LimitKind::Msgmax => self.msgmax = v,
            LimitKind::Msgmnb => self.msgmnb = v,
            LimitKind::Msgmni => self.msgmni = v,
            LimitKind::MsgNextId => self.next_id = v,
        }
    }

    /// The invariants that hold between any two operations.
    ///
    /// Always: the sysctls, `IPC_INFO`, the number of queues, and the `IPC_STAT` of the queue
    /// `touched` names. With `full`, every queue's `IPC_STAT`, the `MSG_INFO` totals, and a
    /// `MSG_STAT_ANY` sweep of the indexes (see [`SWEEP_MAX`]).
    fn check(&mut self, touched: Option<i32>, full: bool) {
        self.check_indexes();
        let l = self.ns.limits();
        assert_eq!(
            (l.msgmax(), l.msgmnb(), l.msgmni(), self.ns.msg_next_id()),
            (self.msgmax, self.msgmnb, self.msgmni, self.next_id),
            "sysctls"
        );
        let (ipc_max, ipc_info) = self
            .ns
            .msgctl_info(0, MsgCtlCmd::IpcInfo)
            .expect("IPC_INFO");
        self.check_info(MsgCtlCmd::IpcInfo, ipc_max, &ipc_info);
        {
            let m = &self.model;
            assert_eq!(self.ns.msg().len(), m.queues.len(), "queue count");
            let stat = |id: i32| {
                self.ns
                    .msg()
                    .find_by_id(Id::from_raw(id))
                    .and_then(|queue| queue.stat_any())
            };
            if full {
                for (&id, q) in &m.queues {
                    assert_eq!(stat(id), Ok(q.ds(id)), "IPC_STAT of queue {id}");
                }
            } else if let Some(id) = touched.filter(|id| *id >= 0) {
                let want = m.queues.get(&id).map(|q| q.ds(id)).ok_or(Errno::EINVAL);
                assert_eq!(stat(id), want, "IPC_STAT of queue {id}");
            }
        }
        if !full {
            return;
        }
        let (max, info) = self
            .ns
            .msgctl_info(0, MsgCtlCmd::MsgInfo)
            .expect("MSG_INFO");
        assert_eq!(
            max, ipc_max,
            "IPC_INFO and MSG_INFO disagree on the highest index"
        );
        self.check_info(MsgCtlCmd::MsgInfo, max, &info);
        // MSG_STAT_ANY takes an index: visit every index up to the highest used one, or, when
        // that is too many, the indexes of the ids msgget returned and the highest.
        let every = max <= SWEEP_MAX;
        let indexes: Vec<i32> = if every {
            (0..=max).collect()
        } else {
            let mut v: Vec<i32> = self
                .known
                .iter()
                .map(|id| id & abi::IPCMNI_IDX_MASK)
                .collect();
            v.push(max.min(abi::IPCMNI - 1));
            v.sort_unstable();
            v.dedup();
            v
        };
        let root = &self.callers[CALLERS];
        let (mut queues, mut msgs, mut bytes) = (0usize, 0u64, 0u64);
        for index in indexes {
            match self.ns.msgctl_stat(root, index, MsgCtlCmd::MsgStatAny) {
                Ok((id, ds)) => {
                    queues += 1;
                    msgs += ds.msg_qnum;
                    bytes += ds.msg_cbytes;
                    assert!(
                        self.known_set.contains(&id),
                        "MSG_STAT_ANY found unknown id {id}"
                    );
                    {
                        let m = &self.model;
                        assert_eq!(id & abi::IPCMNI_IDX_MASK, index, "id {id} at index {index}");
                        let want = m.queues.get(&id).map(|q| q.ds(id));
                        assert_eq!(want, Some(ds), "MSG_STAT_ANY {index}");
                    }
                }
                Err(e) => assert_eq!(e, Errno::EINVAL, "MSG_STAT_ANY {index}"),
            }
        }
        if every {
            assert_eq!(
                (queues, msgs, bytes),
                (
                    info.msgpool as usize,
                    info.msgmap as u64,
                    info.msgtql as u64
                ),
                "MSG_STAT_ANY sweep against MSG_INFO"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let mut h = Harness::new(&input);
    for (n, op) in input.ops.iter().take(MAX_OPS).enumerate() {
        let touched = h.run(op);
        h.check(touched, n % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1);
    }
    h.check(None, true);
});
