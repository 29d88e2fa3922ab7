//! Running a scenario on one backend: names resolved to that backend's values, one [`Step`]
//! per line with everything the comparison and the trace need.

use std::collections::HashMap;
use std::ops::Range;

use sysvipc_abi::{self as abi, Errno};

use crate::backend::{Backend, RunError, SysResult};
use crate::observe::{Decoded, StructKind, decode};
use crate::scenario::{Arg, Base, CallLine, Expect, Line, Stmt, Sys};

/// unshare(2)'s flag for a new SEM_UNDO list.
const CLONE_SYSVSEM: u64 = 0x0004_0000;

/// What a name is bound to on one backend.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Bound {
    Buffer {
        addr: u64,
        len: usize,
    },
    Value(i64),
    /// An attachment's address in `process` (`None`: the scenario's own); once detached, the
    /// name stands for an unmapped address.
    Attach {
        addr: u64,
        live: bool,
        process: Option<String>,
    },
}

/// How a call's return value is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultKind {
    /// Exactly.
    Plain,
    /// A process id (`semctl(GETPID)`).
    Pid,
    /// An address (`shmat`): only its page alignment.
    Address,
}

/// What running a line produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A declaration (caller, buffer) took effect, or a call was spawned.
    Declared,
    /// The line could not run.
    Refused(RunError),
    /// A call returned.
    Call {
        /// Its value or errno.
        result: SysResult,
        /// How to compare the value.
        kind: ResultKind,
    },
    /// A `put` wrote (or faulted).
    Put(Result<(), Errno>),
    /// A `show` read these bytes (or faulted).
    Show(Result<Vec<u8>, Errno>),
    /// A `sysctl` was written (or refused).
    Sysctl(Result<(), Errno>),
}

/// A structure a call wrote into a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Its fields.
    pub decoded: Decoded,
    /// The id of the object it describes (`*_ds` only).
    pub object: Option<i64>,
    /// The buffer (by index) and bytes it occupies, if it went into a buffer.
    pub place: Option<(usize, Range<usize>)>,
}

/// The result of one line on one backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What happened.
    pub outcome: Outcome,
    /// Every buffer's bytes before and after a call, a spawn or a join (empty for other
    /// lines); what spawned calls woken by the line copied out is included.
    pub buffers: Vec<(Vec<u8>, Vec<u8>)>,
    /// The structure a stat or info call wrote.
    pub stat: Option<Stat>,
    /// The backend's clock second just before the line ran.
    pub clock_before: i64,
    /// Set when the line's expectation was not met: what was expected.
    pub unmet: Option<Expect>,
}

/// A scenario being run on one backend.
#[derive(Debug)]
pub struct Session<B> {
    backend: B,
    bound: HashMap<String, Bound>,
    /// Buffers in declaration order: name, address, length.
    buffers: Vec<(String, u64, usize)>,
}

impl<B: Backend> Session<B> {
    /// A session on `backend`, which knows only the caller `root`.
    pub fn new(backend: B) -> Session<B> {
        Session {
            backend,
            bound: HashMap::new(),
            buffers: Vec::new(),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutably.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The declared buffers' names, in the order of [`Step::buffers`].
    pub fn buffer_names(&self) -> impl Iterator<Item = &str> {
        self.buffers.iter().map(|b| b.0.as_str())
    }

    /// The value an argument has on this backend.
    fn resolve(&self, arg: &Arg) -> u64 {
        match arg {
            Arg::Int(v) => *v as u64,
            Arg::Ref { base, offset } => {
                let base = match base {
                    Base::Bad => self.backend.bad_address(),
                    Base::Name(n) => match self.bound.get(n) {
                        Some(Bound::Buffer { addr, .. }) => *addr,
                        Some(Bound::Value(v)) => *v as u64,
                        Some(Bound::Attach {
                            addr, live: true, ..
                        }) => *addr,
                        Some(Bound::Attach { live: false, .. }) | None => {
                            self.backend.bad_address()
                        }
                    },
                };
                base.wrapping_add(*offset as u64)
            }
        }
    }

    /// The forked process whose live attachment `target` names, if it is not the scenario's
    /// own.
    fn foreign_attachment(&self, target: &Arg) -> Option<&str> {
        match target {
            Arg::Ref {
                base: Base::Name(n),
                ..
            } => match self.bound.get(n) {
                Some(Bound::Attach {
                    process: Some(p),
                    live: true,
                    ..
                }) => Some(p),
                _ => None,
            },
            _ => None,
        }
    }

    /// Runs `f` on the backend, recording every buffer before and after it in `step`.
    fn around(
        &mut self,
        step: &mut Step,
        f: impl FnOnce(&mut B) -> Result<(), RunError>,
    ) -> Outcome {
        let before = self.snapshot();
        let done = f(&mut self.backend).and_then(|()| self.backend.settle());
        step.buffers = before.into_iter().zip(self.snapshot()).collect();
        match done {
            Ok(()) => Outcome::Declared,
            Err(e) => Outcome::Refused(e),
        }
    }

    /// Runs one line.
    pub fn exec(&mut self, line: &Line) -> Step {
        let clock_before = self.backend.now();
        let mut step = Step {
            outcome: Outcome::Declared,
            buffers: Vec::new(),
            stat: None,
            clock_before,
            unmet: None,
        };
        step.outcome = match &line.stmt {
            Stmt::Caller { name, spec } => match self.backend.add_caller(name, spec) {
                Ok(()) => Outcome::Declared,
                Err(e) => Outcome::Refused(e),
            },
            Stmt::Buffer { name, len } => match self.backend.add_buffer(*len) {
                Ok(addr) => {
                    self.bound
                        .insert(name.clone(), Bound::Buffer { addr, len: *len });
                    self.buffers.push((name.clone(), addr, *len));
                    Outcome::Declared
                }
                Err(e) => Outcome::Refused(e),
            },
            Stmt::Put { target, items } if self.foreign_attachment(target).is_some() => {
                let process = self
                    .foreign_attachment(target)
                    .unwrap_or_default()
                    .to_owned();
                let mut at = self.resolve(target);
                let mut result = Ok(Ok(()));
                for item in items {
                    let bytes = item.bytes();
                    result = self.backend.write_in(&process, at, &bytes);
                    if !matches!(result, Ok(Ok(()))) {
                        break;
                    }
                    at = at.wrapping_add(bytes.len() as u64);
                }
                match result {
                    Ok(r) => Outcome::Put(r),
                    Err(e) => Outcome::Refused(e),
                }
            }
            Stmt::Show { target, len } if self.foreign_attachment(target).is_some() => {
                let process = self
                    .foreign_attachment(target)
                    .unwrap_or_default()
                    .to_owned();
                let at = self.resolve(target);
                match self.backend.read_in(&process, at, *len) {
                    Ok(r) => Outcome::Show(r),
                    Err(e) => Outcome::Refused(e),
                }
            }
            Stmt::Fork { name, from } => {
                let (name, from) = (name.clone(), from.clone());
                self.around(&mut step, |b| b.fork(&name, from.as_deref()))
            }
            Stmt::Exit { name } => {
                let name = name.clone();
                let outcome = self.around(&mut step, |b| b.exit(&name));
                for b in self.bound.values_mut() {
                    if let Bound::Attach {
                        live,
                        process: Some(p),
                        ..
                    } = b
                    {
                        if *p == name {
                            *live = false;
                        }
                    }
                }
                outcome
            }
            Stmt::Expire { name } => {
                let name = name.clone();
                self.around(&mut step, |b| b.expire(&name))
            }
            Stmt::Put { target, items } => {
                let mut at = self.resolve(target);
                let mut result = Ok(());
                for item in items {
                    let bytes = item.bytes();
                    result = self.backend.write(at, &bytes);
                    if result.is_err() {
                        break;
                    }
                    at = at.wrapping_add(bytes.len() as u64);
                }
                Outcome::Put(result)
            }
            Stmt::Show { target, len } => {
                Outcome::Show(self.backend.read(self.resolve(target), *len))
            }
            Stmt::Sysctl { name, value } => Outcome::Sysctl(self.backend.sysctl(name, value)),
            Stmt::Call(call) => return self.call(call, step),
            Stmt::Spawn { name, call } => {
                let mut args = [0u64; 6];
                for (slot, arg) in args.iter_mut().zip(&call.args) {
                    *slot = self.resolve(arg);
                }
                let before = self.snapshot();
                let started = self.backend.spawn(name, &call.caller, call.sys, args);
                step.buffers = before.into_iter().zip(self.snapshot()).collect();
                match started {
                    Ok(()) => Outcome::Declared,
                    Err(e) => Outcome::Refused(e),
                }
            }
            Stmt::Join { name, expect } => {
                let before = self.snapshot();
                let joined = self.backend.join(name);
                let settled = self.backend.settle();
                step.buffers = before.into_iter().zip(self.snapshot()).collect();
                match (joined, settled) {
                    (Ok(result), Ok(())) => {
                        step.unmet = expect.filter(|e| !meets(*e, result));
                        Outcome::Call {
                            result,
                            kind: ResultKind::Plain,
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => Outcome::Refused(e),
                }
            }
        };
        step
    }

    fn snapshot(&self) -> Vec<Vec<u8>> {
        self.buffers
            .iter()
            .map(|(_, addr, len)| self.backend.read(*addr, *len).unwrap_or_default())
            .collect()
    }

    /// Whether the call lacks `IPC_NOWAIT` where it could sleep.
    fn may_block(&self, sys: Sys, args: &[u64; 6]) -> bool {
        let nowait = |flags: u64| (flags as i32) & abi::IPC_NOWAIT != 0;
        match sys {
            Sys::MsgSnd => !nowait(args[3]),
            Sys::MsgRcv => !nowait(args[4]),
            Sys::SemOp | Sys::SemTimedOp => {
                let n = args[2] as u32 as usize;
                if n == 0 || n > 1 << 16 {
                    return false;
                }
                match self.backend.read(args[1], n * 6) {
                    Ok(sops) => sops
                        .chunks_exact(6)
                        .any(|s| i16::from_ne_bytes([s[4], s[5]]) as i32 & abi::IPC_NOWAIT == 0),
                    Err(_) => false,
                }
            }
            _ => false,
        }
    }

    fn call(&mut self, call: &CallLine, mut step: Step) -> Step {
        let mut args = [0u64; 6];
        for (slot, arg) in args.iter_mut().zip(&call.args) {
            *slot = self.resolve(arg);
        }
        if call.sys == Sys::Unshare && (call.process.is_none() || args[0] != CLONE_SYSVSEM) {
            step.outcome = Outcome::Refused(RunError::Unsupported(
                "unshare takes CLONE_SYSVSEM alone, in a forked process (`p2: unshare(…)`)".into(),
            ));
            return step;
        }
        let sys = call.sys;
        let may_block = self.may_block(sys, &args);
        let before = self.snapshot();
        // Then let every spawned call this one woke run until it sleeps again or returns.
        let result = match self
            .backend
            .call(&call.caller, call.process.as_deref(), sys, args, may_block)
            .and_then(|r| self.backend.settle().map(|()| r))
        {
            Ok(r) => r,
            Err(e) => {
                step.outcome = Outcome::Refused(e);
                return step;
            }
        };
        let after = self.snapshot();
        step.buffers = before.into_iter().zip(after).collect();
        let (cmd, ptr) = match sys {
            Sys::MsgCtl | Sys::ShmCtl => (args[1] as i32, args[2]),
            Sys::SemCtl => (args[2] as i32, args[3]),
            _ => (-1, 0),
        };
        if let (Ok(ret), Some(kind)) = (result, StructKind::written_by(sys, cmd)) {
            if let Ok(bytes) = self.backend.read(ptr, kind.size()) {
                let object = match cmd {
                    abi::IPC_STAT => Some(i64::from(args[0] as i32)),
                    _ if kind.is_ds() => Some(ret),
                    _ => None,
                };
                let place = self
                    .buffers
                    .iter()
                    .enumerate()
                    .find_map(|(i, (_, addr, len))| {
                        let start = ptr.checked_sub(*addr)? as usize;
                        (start + kind.size() <= *len).then_some((i, start..start + kind.size()))
                    });
                step.stat = Some(Stat {
                    decoded: decode(kind, &bytes),
                    object,
                    place,
                });
            }
        }
        let kind = match sys {
            Sys::SemCtl if cmd == abi::GETPID => ResultKind::Pid,
            Sys::ShmAt => ResultKind::Address,
            _ => ResultKind::Plain,
        };
        if let Some(name) = &call.bind {
            let bound = match (sys, result) {
                (Sys::ShmAt, Ok(addr)) => Bound::Attach {
                    addr: addr as u64,
                    live: true,
                    process: call.process.clone(),
                },
                (_, Ok(v)) => Bound::Value(v),
                (_, Err(_)) => Bound::Value(-1),
            };
            self.bound.insert(name.clone(), bound);
        }
        if sys == Sys::ShmDt && result.is_ok() {
            for b in self.bound.values_mut() {
                if let Bound::Attach {
                    addr,
                    live,
                    process,
                } = b
                {
                    if *addr == args[0] && *process == call.process {
                        *live = false;
                    }
                }
            }
        }
        step.unmet = call.expect.filter(|e| !meets(*e, result));
        step.outcome = Outcome::Call { result, kind };
        step
    }
}

/// Whether `result` is what `expect` asks for.
pub fn meets(expect: Expect, result: SysResult) -> bool {
    match (expect, result) {
        (Expect::Ok, Ok(_)) => true,
        (Expect::Value(v), Ok(r)) => v == r,
        (Expect::Errno(e), Err(r)) => e == r,
        _ => false,
    }
}
