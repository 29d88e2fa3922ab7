//! Scenarios of System V IPC calls, run on the emulation and on the host kernel and compared
//! line by line.
//!
//! # The scenario language
//!
//! A scenario is a text file, one statement per line; `#` starts a comment.
//!
//! ```text
//! # callers: `root` exists (uid 0, CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_IPC_LOCK)
//! caller alice uid=1000 gid=1000 groups=1000,2000 caps=
//! buffer b 64                        # 64 zero bytes, mapped on both sides, unmapped after
//! put b 0 i64:7 bytes:"hello"        # items: i8…u64:N, bytes:"…", zero:N, sembuf:N,OP,FLG
//! q = msgget(IPC_PRIVATE, IPC_CREAT|0600)
//! msgsnd(q, b, 5, 0) = 0             # an expected result: a value, an errno name or `ok`
//! alice: msgrcv(q, b, 64, 0, IPC_NOWAIT) = EACCES
//! msgctl(q, IPC_STAT, b)             # the msqid64_ds in b is decoded and compared
//! put b perm.mode u32:0640           # fields by name: perm.uid, perm.gid, perm.mode, msg_qbytes…
//! msgctl(q, IPC_SET, b) = 0
//! a = shmat(s, 0, 0)                 # an address: each side's own; `shmdt(a)`, `put a 0 …`
//! show a 16                          # reads bytes (compared)
//! sysctl msgmni 4                    # an IPC sysctl of the namespace
//! spawn r msgrcv(q, b, 64, 0, 0)     # a call on a thread of its own; runs on once it sleeps
//! msgsnd(q, b, 5, IPC_NOWAIT) = 0    # ... wakes it (each line lets woken calls settle)
//! join r = 5                         # its result (interrupted first if still asleep: EINTR)
//! spawn t semtimedop(s, b, 1, ts)    # with a timeout in ts; `expire t` lets it run out
//! fork p2                            # a child process (`fork p3 from p2`): own pid, copies of
//! alice@p2: semop(s, b, 1) = 0       #   the attachments, no SEM_UNDO list; alice calls in it
//! exit p2                            # its undo list applied, its attachments closed
//! mprotect(a, PAGE_SIZE, PROT_READ)  # mprotect / munmap of attachments (they split)
//! ```
//!
//! Arguments are numbers (decimal, `0x`, `0o` or C's leading-`0` octal), constants
//! (`IPC_CREAT`, `GETVAL`, `SHM_RND`… see [`symbols::CONSTANTS`]) joined with `|`, `+`, `-`,
//! names bound by `NAME = call(…)` or declared by `buffer`, plus an offset (`b+8`), and
//! `BAD`, an address with nothing mapped around it on either side. A name bound to a failed
//! call holds -1; an attachment's name, once detached, stands for an unmapped address.
//!
//! A caller is a set of credentials. Its calls run in the scenario's own process (one pid,
//! one address space, one `SEM_UNDO` list: the host runs them on one thread) unless they name
//! a process forked with `fork NAME` (`CALLER@NAME:`; on the host, a child process that makes
//! the calls it is sent). A call that would sleep (no
//! `IPC_NOWAIT`) is interrupted at once on both sides and returns `EINTR`, unless it is
//! `spawn`ed: then it sleeps on a thread of its own (another thread of the same process)
//! until a later line wakes it or `join` interrupts it. After every line, the runner waits
//! until each spawned call sleeps again or has returned, so what it copies out is seen at
//! the line that woke it.
//!
//! # Running
//!
//! - [`Session`] runs a scenario on one [`Backend`]: [`Emulation`] (`sysvipc-syscalls` over
//!   an `IpcNamespace`) or `Host` (raw syscalls in a private IPC namespace of the host kernel,
//!   Linux only);
//! - [`Differ`] runs both side by side and reports each divergence with its line (see
//!   [`diff`](mod@diff) for what is compared and how times, pids and addresses are normalised);
//! - [`random::generate`] writes a seeded random scenario (non-blocking calls, spawned calls
//!   that sleep until later lines wake them, forked processes that make calls and exit);
//! - [`trace::render`] prints a line strace-style; [`ipcs::ipcs`] lists a namespace's objects
//!   like util-linux `ipcs`.
//!
//! The `sysvipc` binary (`crates/cli`) puts these on the command line.
#![deny(unsafe_code)]

pub mod backend;
pub mod diff;
mod emu;
pub mod exec;
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod host;
pub mod ipcs;
pub mod observe;
pub mod parse;
pub mod random;
pub mod scenario;
pub mod symbols;
pub mod trace;

pub use backend::{Backend, RunError, SysResult};
pub use diff::{Differ, Finding, Problem, Report};
pub use emu::{EMU_PID, Emulation};
pub use exec::{Session, Step};
#[cfg(target_os = "linux")]
pub use host::Host;
pub use parse::{ParseError, Parser, parse};
pub use scenario::{Line, Scenario, Stmt, Sys};
