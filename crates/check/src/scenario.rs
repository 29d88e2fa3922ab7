//! A parsed scenario: its lines and what each one asks for. Built by [`parse()`](crate::parse()).

use std::fmt;

/// One of the twelve System V IPC system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sys {
    /// `msgget(key, msgflg)`.
    MsgGet,
    /// `msgsnd(msqid, msgp, msgsz, msgflg)`.
    MsgSnd,
    /// `msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)`.
    MsgRcv,
    /// `msgctl(msqid, cmd, buf)`.
    MsgCtl,
    /// `semget(key, nsems, semflg)`.
    SemGet,
    /// `semop(semid, sops, nsops)`.
    SemOp,
    /// `semtimedop(semid, sops, nsops, timeout)`.
    SemTimedOp,
    /// `semctl(semid, semnum, cmd[, arg])`.
    SemCtl,
    /// `shmget(key, size, shmflg)`.
    ShmGet,
    /// `shmat(shmid, shmaddr, shmflg)`.
    ShmAt,
    /// `shmdt(shmaddr)`.
    ShmDt,
    /// `shmctl(shmid, cmd, buf)`.
    ShmCtl,
    /// `mprotect(addr, len, prot)`, on shm attachments only (splits them).
    Mprotect,
    /// `munmap(addr, len)`, on shm attachments only (splits or closes them).
    Munmap,
    /// `unshare(flags)`, `CLONE_SYSVSEM` only, in a forked process: a new, empty undo list
    /// (the old one applied if the process was its last holder).
    Unshare,
}

impl Sys {
    /// Every call, in the order of the man pages.
    pub const ALL: [Sys; 12] = [
        Sys::MsgGet,
        Sys::MsgSnd,
        Sys::MsgRcv,
        Sys::MsgCtl,
        Sys::SemGet,
        Sys::SemOp,
        Sys::SemTimedOp,
        Sys::SemCtl,
        Sys::ShmGet,
        Sys::ShmAt,
        Sys::ShmDt,
        Sys::ShmCtl,
    ];

    /// The other calls a scenario may make (not System V calls: the random generator and the
    /// call counts leave them out): the memory calls on attachments, and `unshare`.
    pub const OTHER: [Sys; 3] = [Sys::Mprotect, Sys::Munmap, Sys::Unshare];

    /// The call's name, as written in a scenario.
    pub fn name(self) -> &'static str {
        match self {
            Sys::MsgGet => "msgget",
            Sys::MsgSnd => "msgsnd",
            Sys::MsgRcv => "msgrcv",
            Sys::MsgCtl => "msgctl",
            Sys::SemGet => "semget",
            Sys::SemOp => "semop",
            Sys::SemTimedOp => "semtimedop",
            Sys::SemCtl => "semctl",
            Sys::ShmGet => "shmget",
            Sys::ShmAt => "shmat",
            Sys::ShmDt => "shmdt",
            Sys::ShmCtl => "shmctl",
            Sys::Mprotect => "mprotect",
            Sys::Munmap => "munmap",
            Sys::Unshare => "unshare",
        }
    }

    /// The call named `name`.
    pub fn from_name(name: &str) -> Option<Sys> {
        Sys::ALL
            .into_iter()
            .chain(Sys::OTHER)
            .find(|s| s.name() == name)
    }

    /// How many arguments the call takes: the least and the most (`semctl`'s fourth is
    /// optional).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Sys::ShmDt | Sys::Unshare => (1, 1),
            Sys::MsgGet | Sys::Munmap => (2, 2),
            Sys::MsgCtl
            | Sys::SemGet
            | Sys::SemOp
            | Sys::ShmGet
            | Sys::ShmAt
            | Sys::ShmCtl
            | Sys::Mprotect => (3, 3),
            Sys::SemCtl => (3, 4),
            Sys::MsgSnd | Sys::SemTimedOp => (4, 4),
            Sys::MsgRcv => (5, 5),
        }
    }

    /// The Linux syscall number on the compile target.
    pub fn number(self) -> i64 {
        use sysvipc_abi::arch::native::nr;
        match self {
            Sys::MsgGet => nr::MSGGET,
            Sys::MsgSnd => nr::MSGSND,
            Sys::MsgRcv => nr::MSGRCV,
            Sys::MsgCtl => nr::MSGCTL,
            Sys::SemGet => nr::SEMGET,
            Sys::SemOp => nr::SEMOP,
            Sys::SemTimedOp => nr::SEMTIMEDOP,
            Sys::SemCtl => nr::SEMCTL,
            Sys::ShmGet => nr::SHMGET,
            Sys::ShmAt => nr::SHMAT,
            Sys::ShmDt => nr::SHMDT,
            Sys::ShmCtl => nr::SHMCTL,
            Sys::Mprotect => i64::from(MPROTECT),
            Sys::Munmap => i64::from(MUNMAP),
            Sys::Unshare => i64::from(UNSHARE),
        }
    }
}

/// The mprotect(2) syscall number on the compile target.
#[cfg(target_arch = "x86_64")]
const MPROTECT: i32 = 10;
/// The munmap(2) syscall number on the compile target.
#[cfg(target_arch = "x86_64")]
const MUNMAP: i32 = 11;
/// The unshare(2) syscall number on the compile target.
#[cfg(target_arch = "x86_64")]
const UNSHARE: i32 = 272;
#[cfg(not(target_arch = "x86_64"))]
const UNSHARE: i32 = 97;
#[cfg(not(target_arch = "x86_64"))]
const MPROTECT: i32 = 226;
#[cfg(not(target_arch = "x86_64"))]
const MUNMAP: i32 = 215;

impl fmt::Display for Sys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a name stands for. Names are declared before they are used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A caller (`caller NAME …`, or the predefined `root`).
    Caller,
    /// A guest buffer (`buffer NAME LEN`): its address on each side.
    Buffer,
    /// The result of a call (`NAME = call(…)`): a number, e.g. an id, on each side.
    Value,
    /// The address `shmat` returned (`NAME = shmat(…)`): each side's own.
    Attachment,
    /// A call started in the background (`spawn NAME …`), until `join NAME`.
    Task,
    /// A process forked from the scenario's process (`fork NAME`), until `exit NAME`.
    Process,
}

/// The base of an argument that names something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// A declared name.
    Name(String),
    /// `BAD`: an address that is not mapped on either side.
    Bad,
}

/// An argument of a call: a number, or a name or `BAD` plus a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A number (constants and `|` already folded).
    Int(i64),
    /// A name or `BAD`, plus `offset`.
    Ref {
        /// What is named.
        base: Base,
        /// Added to the named value (an address or a number).
        offset: i64,
    },
}

/// What a call line expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// This return value.
    Value(i64),
    /// This errno.
    Errno(sysvipc_abi::Errno),
    /// Success, whatever the value (`= ok`).
    Ok,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Value(v) => write!(f, "{v}"),
            Expect::Errno(e) => write!(f, "{}", e.name().unwrap_or("E?")),
            Expect::Ok => f.write_str("ok"),
        }
    }
}

/// A call line: `[CALLER[@PROCESS]:] [NAME =] call(ARGS) [= EXPECTED]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLine {
    /// Who calls (`root` when not given).
    pub caller: String,
    /// The process the call runs in: `None` for the scenario's own process.
    pub process: Option<String>,
    /// The name the result is bound to.
    pub bind: Option<String>,
    /// The call.
    pub sys: Sys,
    /// The arguments, in order.
    pub args: Vec<Arg>,
    /// The arguments as written, for traces.
    pub arg_text: Vec<String>,
    /// The expected result, if given.
    pub expect: Option<Expect>,
}

/// A caller's credentials (`caller NAME uid=… gid=… fsgid=… groups=… caps=…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerSpec {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// File-system gid (the group class of `ipcperms`); the gid unless given.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Effective capabilities, bit `n` = capability `n`.
    pub caps: u64,
}

impl CallerSpec {
    /// The predefined `root`: uid and gid 0 with CAP_IPC_OWNER, CAP_SYS_ADMIN and
    /// CAP_IPC_LOCK (not CAP_SYS_RESOURCE, which many hosts' root lacks).
    pub fn root() -> CallerSpec {
        use sysvipc_abi::{CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_SYS_ADMIN};
        CallerSpec {
            uid: 0,
            gid: 0,
            fsgid: 0,
            groups: Vec::new(),
            caps: (1 << CAP_IPC_OWNER) | (1 << CAP_SYS_ADMIN) | (1 << CAP_IPC_LOCK),
        }
    }
}

/// One item written by `put`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// An integer of `size` bytes (1, 2, 4 or 8), native byte order, truncated.
    Int {
        /// Width in bytes.
        size: usize,
        /// The value.
        value: i64,
    },
    /// Bytes as given.
    Bytes(Vec<u8>),
}

impl Item {
    /// The bytes the item writes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Item::Int { size, value } => value.to_ne_bytes()[..*size].to_vec(),
            Item::Bytes(b) => b.clone(),
        }
    }
}

/// What a line does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// Declares a caller.
    Caller {
        /// Its name.
        name: String,
        /// Its credentials.
        spec: CallerSpec,
    },
    /// Declares a buffer of `len` zero bytes, mapped on both sides.
    Buffer {
        /// Its name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// Writes items one after the other at `target + offset`.
    Put {
        /// A buffer or attachment, with an offset.
        target: Arg,
        /// The items.
        items: Vec<Item>,
    },
    /// Reads `len` bytes at `target` (compared between the sides).
    Show {
        /// A buffer or attachment, with an offset.
        target: Arg,
        /// How many bytes.
        len: usize,
    },
    /// Sets an IPC sysctl of the namespace (`/proc/sys/kernel/NAME`).
    Sysctl {
        /// `msgmax`, `msgmnb`, `msgmni`, `sem`, `shmmax`, `shmall`, `shmmni`,
        /// `shm_rmid_forced`, `msg_next_id`, `sem_next_id` or `shm_next_id`.
        name: String,
        /// The value as written to the file (`sem` takes four numbers).
        value: String,
    },
    /// A system call.
    Call(CallLine),
    /// Starts a call on a thread of its own (that may sleep); runs on once it sleeps or
    /// returns.
    Spawn {
        /// The name `join` uses.
        name: String,
        /// The call (its `expect` is `None`: the result is checked by `join`).
        call: CallLine,
    },
    /// Forks a new process from the scenario's process or a forked one: its own pid, a copy
    /// of each attachment of its parent (opened by the parent), an empty `SEM_UNDO` list.
    Fork {
        /// Its name (`CALLER@NAME: call(…)` calls in it).
        name: String,
        /// The forked process it is forked from (`fork NAME from PARENT`); `None` for the
        /// scenario's own.
        from: Option<String>,
    },
    /// Ends a forked process: its attachments close and its `SEM_UNDO` list is applied.
    Exit {
        /// The process.
        name: String,
    },
    /// Lets the timeout of a spawned `semtimedop` pass (the host waits for it; the
    /// emulation's manual clock moves past the deadline).
    Expire {
        /// The spawned call.
        name: String,
    },
    /// Waits for a spawned call to return (interrupting it if it is still asleep after a
    /// while) and takes its result.
    Join {
        /// The spawned call.
        name: String,
        /// The expected result, if given.
        expect: Option<Expect>,
    },
}

/// A line of a scenario with what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The line as written (without the comment).
    pub text: String,
    /// What it does.
    pub stmt: Stmt,
}

/// A parsed scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scenario {
    /// Where it came from (a path, or a label such as `random(seed=1)`).
    pub file: String,
    /// Its statements, without blank and comment lines.
    pub lines: Vec<Line>,
}

/// Names a scenario may not declare: keywords and the predefined caller.
pub const RESERVED: &[&str] = &[
    "BAD", "root", "caller", "buffer", "put", "show", "sysctl", "ok", "fork", "from", "exit",
    "expire", "spawn", "join",
];

/// The sysctls a `sysctl` line may set.
pub const SYSCTLS: &[&str] = &[
    "msgmax",
    "msgmnb",
    "msgmni",
    "sem",
    "shmmax",
    "shmall",
    "shmmni",
    "shm_rmid_forced",
    "msg_next_id",
    "sem_next_id",
    "shm_next_id",
];
