//! The differential comparison: a scenario runs line by line on the host kernel and on the
//! emulation, and every difference is reported with its line.
//!
//! Compared exactly: return values and errno, bytes a call changed in a buffer, `show`
//! bytes, `put` and `sysctl` results, and every field of a `*_ds` or info structure except
//! these, which are normalised:
//!
//! - **times** (`*_stime`, `*_ctime`…) as zero / unchanged / advanced since the previous stat
//!   of the same object on the same side. The emulation's clock advances one second before
//!   every call, so on its side "advanced" means "stamped since"; the host stamps whole
//!   seconds, so a field it stamped again within the second of the previous stat reads
//!   "unchanged", which is accepted when its value lies in that second or later;
//! - **pids** as zero / the scenario's process / a process it forked (by name) / the thread
//!   of a spawned call (by name) / another number: the scenario's callers are credentials,
//!   and its own process is one pid on both sides (the host runs its calls on its namespace
//!   thread); each `fork NAME` is a pid of its own (a child process on the host);
//! - **shmat addresses** by page alignment only; a name bound to one stands for each side's
//!   own address afterwards.
//!
//! A difference that cannot be avoided is listed in [`ALLOWED`] with its reason (and in
//! `docs/conformance.md`): it is reported as allowed, never dropped.

use std::collections::HashMap;
use std::fmt;

use sysvipc_abi::Errno;

use crate::backend::{Backend, RunError, SysResult};
use crate::exec::{Outcome, ResultKind, Session, Step};
use crate::observe::{Class, Decoded, StructKind};
use crate::scenario::{Expect, Line, Scenario};

/// One difference between the host and the emulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// What differs: `result`, `buffer b[8..13]`, `msg_perm.mode`…
    pub what: String,
    /// The host's side of it.
    pub host: String,
    /// The emulation's side of it.
    pub emulation: String,
}

/// Something a line did wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Host and emulation differ.
    Divergence(Divergence),
    /// A side did not return what the line expects.
    Unmet {
        /// `host` or `emulation`.
        side: &'static str,
        /// What the line expects.
        expected: Expect,
        /// What it got.
        got: String,
    },
    /// A side could not run the line.
    Refused {
        /// `host` or `emulation`.
        side: &'static str,
        /// Why.
        why: RunError,
    },
}

/// A problem and the line it happened on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The scenario's file.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What went wrong.
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}\n    ", self.file, self.line, self.text)?;
        match &self.problem {
            Problem::Divergence(d) => {
                write!(f, "{}: host {}, emulation {}", d.what, d.host, d.emulation)
            }
            Problem::Unmet {
                side,
                expected,
                got,
            } => write!(f, "{side}: expected {expected}, got {got}"),
            Problem::Refused { side, why } => write!(f, "{side}: {why}"),
        }
    }
}

/// A known, unavoidable divergence: reported as allowed, with its reason.
#[derive(Clone, Copy, Debug)]
pub struct Allowance {
    /// A short name, also listed in `docs/conformance.md`.
    pub name: &'static str,
    /// Why it cannot be avoided (or "divergence under investigation").
    pub reason: &'static str,
    /// Whether it covers this divergence on this line, given what the line did on the host
    /// and on the emulation.
    pub applies: fn(&Line, &Divergence, &Step, &Step) -> bool,
}

/// The allow-list. Every entry is also a row of `docs/conformance.md`. Empty: every
/// divergence found so far was a difference the emulation could remove, and was removed.
pub const ALLOWED: &[Allowance] = &[];

/// The outcome of a differential run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// How many lines ran.
    pub lines: usize,
    /// Divergences, unmet expectations and refusals.
    pub findings: Vec<Finding>,
    /// Divergences covered by [`ALLOWED`], with the allowance's name.
    pub allowed: Vec<(&'static str, Finding)>,
}

impl Report {
    /// No divergence, unmet expectation or refusal.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether a line could not run on a side (as opposed to a disagreement).
    pub fn has_refusals(&self) -> bool {
        self.findings
            .iter()
            .any(|f| matches!(f.problem, Problem::Refused { .. }))
    }
}

/// A pid, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pid {
    Zero,
    Process,
    /// A process forked by the scenario.
    Forked(String),
    /// The thread of a spawned call (a pipelined receive records the receiver's tid).
    Task(String),
    Other(i64),
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pid::Zero => f.write_str("0"),
            Pid::Process => f.write_str("the process"),
            Pid::Forked(p) => write!(f, "process `{p}`"),
            Pid::Task(t) => write!(f, "the thread of `{t}`"),
            Pid::Other(p) => write!(f, "pid {p}"),
        }
    }
}

fn pid(raw: i64, side: &impl Backend) -> Pid {
    match raw {
        0 => Pid::Zero,
        p if p == i64::from(side.process_pid()) => Pid::Process,
        p => match i32::try_from(p) {
            Ok(p32) => side
                .process_of(p32)
                .map(Pid::Forked)
                .or_else(|| side.task_of(p32).map(Pid::Task))
                .unwrap_or(Pid::Other(p)),
            Err(_) => Pid::Other(p),
        },
    }
}

/// A time field relative to the previous stat of its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stamp {
    Zero,
    Unchanged,
    Advanced,
    Backwards,
}

fn stamp(prev: i64, now: i64) -> Stamp {
    match now {
        0 => Stamp::Zero,
        n if n == prev => Stamp::Unchanged,
        n if n > prev => Stamp::Advanced,
        _ => Stamp::Backwards,
    }
}

/// The previous stat of an object on one side: its time fields by name, and (host) the
/// clock second just before that stat.
#[derive(Clone, Debug, Default)]
struct Seen {
    times: HashMap<&'static str, i64>,
    since: i64,
}

/// Renders a call result; `side` maps pids.
fn show_result(result: &SysResult, kind: ResultKind, side: &impl Backend) -> String {
    match (result, kind) {
        (Ok(v), ResultKind::Plain) => v.to_string(),
        (Ok(v), ResultKind::Pid) => pid(*v, side).to_string(),
        (Ok(v), ResultKind::Address) if (*v as u64) % sysvipc_abi::PAGE_SIZE == 0 => {
            "a page-aligned address".into()
        }
        (Ok(v), ResultKind::Address) => format!("the unaligned address {v:#x}"),
        (Err(e), _) => errno(*e),
    }
}

fn errno(e: Errno) -> String {
    format!("-1 {}", e.name().unwrap_or("E?"))
}

fn hex(bytes: &[u8]) -> String {
    let mut s: Vec<String> = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 32 {
        s.push("…".into());
    }
    format!("[{}]", s.join(" "))
}

/// Runs a scenario on two backends side by side and compares every line.
#[derive(Debug)]
pub struct Differ<H, E> {
    host: Session<H>,
    emu: Session<E>,
    seen_host: HashMap<(StructKind, i64), Seen>,
    seen_emu: HashMap<(StructKind, i64), Seen>,
    /// The host's clock second when the run started (the `since` of an object not stat'ed).
    start: i64,
    report: Report,
}

impl<H: Backend, E: Backend> Differ<H, E> {
    /// A differential run of `host` (the oracle) beside `emu`.
    pub fn new(host: H, emu: E) -> Differ<H, E> {
        let start = host.now();
        Differ {
            host: Session::new(host),
            emu: Session::new(emu),
            seen_host: HashMap::new(),
            seen_emu: HashMap::new(),
            start,
            report: Report::default(),
        }
    }

    /// The host side's session.
    pub fn host(&self) -> &Session<H> {
        &self.host
    }

    /// The emulation side's session.
    pub fn emulation(&self) -> &Session<E> {
        &self.emu
    }

    /// Runs every line of `scenario`.
    pub fn run(&mut self, scenario: &Scenario) {
        for line in &scenario.lines {
            self.line(&scenario.file, line);
        }
    }

    /// What was found so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Ends the run.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// Runs one line on both sides and records what differs; returns how many findings
    /// (allowed ones excluded) it added.
    pub fn line(&mut self, file: &str, line: &Line) -> usize {
        let h = self.host.exec(line);
        let e = self.emu.exec(line);
        self.report.lines += 1;
        let before = self.report.findings.len();
        let finding = |problem| Finding {
            file: file.to_owned(),
            line: line.number,
            text: line.text.clone(),
            problem,
        };
        for (side, step) in [("host", &h), ("emulation", &e)] {
            if let Outcome::Refused(why) = &step.outcome {
                self.report.findings.push(finding(Problem::Refused {
                    side,
                    why: why.clone(),
                }));
            }
            if let (Some(expected), Outcome::Call { result, kind }) = (step.unmet, &step.outcome) {
                let got = if side == "host" {
                    show_result(result, *kind, self.host.backend())
                } else {
                    show_result(result, *kind, self.emu.backend())
                };
                self.report.findings.push(finding(Problem::Unmet {
                    side,
                    expected,
                    got,
                }));
            }
        }
        for d in self.compare(&h, &e) {
            let allowance = ALLOWED.iter().find(|a| (a.applies)(line, &d, &h, &e));
            let f = finding(Problem::Divergence(d));
            match allowance {
                Some(a) => self.report.allowed.push((a.name, f)),
                None => self.report.findings.push(f),
            }
        }
        self.report.findings.len() - before
    }

    fn compare(&mut self, h: &Step, e: &Step) -> Vec<Divergence> {
        let mut out = Vec::new();
        let mut differ = |what: &str, host: String, emulation: String| {
            if host != emulation {
                out.push(Divergence {
                    what: what.to_owned(),
                    host,
                    emulation,
                });
            }
        };
        let (hp, ep) = (self.host.backend(), self.emu.backend());
        match (&h.outcome, &e.outcome) {
            (Outcome::Refused(_), _) | (_, Outcome::Refused(_)) => return out,
            (Outcome::Call { result: hr, kind }, Outcome::Call { result: er, .. }) => {
                differ(
                    "result",
                    show_result(hr, *kind, hp),
                    show_result(er, *kind, ep),
                );
            }
            (Outcome::Put(hr), Outcome::Put(er)) | (Outcome::Sysctl(hr), Outcome::Sysctl(er)) => {
                let show = |r: &Result<(), Errno>| r.map_or_else(errno, |()| "0".into());
                differ("result", show(hr), show(er));
            }
            (Outcome::Show(hr), Outcome::Show(er)) => {
                let show = |r: &Result<Vec<u8>, Errno>| match r {
                    Ok(b) => hex(b),
                    Err(e) => errno(*e),
                };
                differ("bytes", show(hr), show(er));
            }
            _ => {}
        }
        // Bytes changed in buffers, on either side, outside the structure a stat wrote.
        let names: Vec<String> = self.host.buffer_names().map(str::to_owned).collect();
        let masked = |step: &Step, i: usize, p: usize| {
            step.stat
                .as_ref()
                .and_then(|s| s.place.as_ref())
                .is_some_and(|(b, r)| *b == i && r.contains(&p))
        };
        for (i, ((hb, ha), (eb, ea))) in h.buffers.iter().zip(&e.buffers).enumerate() {
            let changed: Vec<usize> = (0..ha.len().min(ea.len()))
                .filter(|&p| hb.get(p) != ha.get(p) || eb.get(p) != ea.get(p))
                .filter(|&p| !masked(h, i, p) && !masked(e, i, p))
                .filter(|&p| ha.get(p) != ea.get(p))
                .collect();
            if let (Some(&first), Some(&last)) = (changed.first(), changed.last()) {
                let name = names.get(i).map_or("?", String::as_str);
                differ(
                    &format!("buffer {name}[{first}..{}]", last + 1),
                    hex(&ha[first..=last]),
                    hex(&ea[first..=last]),
                );
            }
        }
        match (&h.stat, &e.stat) {
            (Some(hs), Some(es)) => {
                let hs_seen = hs.object.map(|id| (hs.decoded.kind, id));
                let es_seen = es.object.map(|id| (es.decoded.kind, id));
                let prev_h = hs_seen.and_then(|k| self.seen_host.get(&k)).cloned();
                let prev_e = es_seen.and_then(|k| self.seen_emu.get(&k)).cloned();
                let since = prev_h.as_ref().map_or(self.start, |s| s.since);
                for (hf, ef) in hs.decoded.fields.iter().zip(&es.decoded.fields) {
                    match hf.class {
                        Class::Plain => differ(hf.name, hf.value.to_string(), ef.value.to_string()),
                        Class::Pid => differ(
                            hf.name,
                            pid(hf.value, hp).to_string(),
                            pid(ef.value, ep).to_string(),
                        ),
                        Class::Time => {
                            let ph = prev_h.as_ref().and_then(|s| s.times.get(hf.name)).copied();
                            let pe = prev_e.as_ref().and_then(|s| s.times.get(ef.name)).copied();
                            let sh = stamp(ph.unwrap_or(0), hf.value);
                            let se = stamp(pe.unwrap_or(0), ef.value);
                            let agree = match (sh, se) {
                                (Stamp::Advanced, Stamp::Advanced) => hf.value >= since,
                                (Stamp::Unchanged, Stamp::Advanced) => hf.value >= since,
                                (a, b) => a == b && a != Stamp::Backwards,
                            };
                            if !agree {
                                differ(
                                    hf.name,
                                    format!("{sh:?} ({} -> {})", ph.unwrap_or(0), hf.value),
                                    format!("{se:?} ({} -> {})", pe.unwrap_or(0), ef.value),
                                );
                            }
                        }
                    }
                }
                let times = |d: &Decoded| {
                    d.fields
                        .iter()
                        .filter(|f| f.class == Class::Time)
                        .map(|f| (f.name, f.value))
                        .collect::<HashMap<_, _>>()
                };
                if let Some(k) = hs_seen {
                    self.seen_host.insert(
                        k,
                        Seen {
                            times: times(&hs.decoded),
                            since: h.clock_before,
                        },
                    );
                }
                if let Some(k) = es_seen {
                    self.seen_emu.insert(
                        k,
                        Seen {
                            times: times(&es.decoded),
                            since: e.clock_before,
                        },
                    );
                }
            }
            (None, None) => {}
            (hs, es) => differ(
                "structure",
                hs.as_ref().map_or("none".into(), |s| s.decoded.to_string()),
                es.as_ref().map_or("none".into(), |s| s.decoded.to_string()),
            ),
        }
        out
    }
}

/// Why a differential run could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The host cannot make a private IPC namespace (not root, no CONFIG_IPC_NS…); tests
    /// skip, the CLI exits with its own status.
    #[error("the host cannot make a private IPC namespace: {0}")]
    Unsupported(String),
    /// The host could but failed.
    #[error("setting up the host failed: {0}")]
    Setup(String),
}

/// Runs `scenario` on a fresh host namespace beside a fresh emulation.
#[cfg(target_os = "linux")]
pub fn diff(scenario: &Scenario) -> Result<Report, DiffError> {
    let mut differ = new_differ()?;
    differ.run(scenario);
    Ok(differ.into_report())
}

/// A fresh host namespace beside a fresh emulation whose callers have the host process's
/// `RLIMIT_MEMLOCK`.
#[cfg(target_os = "linux")]
pub fn new_differ() -> Result<Differ<crate::Host, crate::Emulation>, DiffError> {
    use sysvipc_host::HostError;
    let host = crate::Host::new().map_err(|e| match e {
        HostError::Unsupported(why) => DiffError::Unsupported(why),
        other => DiffError::Setup(other.to_string()),
    })?;
    let mut emu = crate::Emulation::new();
    emu.set_memlock_limit(crate::Host::memlock_limit());
    Ok(Differ::new(host, emu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Sys;
    use crate::{Emulation, parse};

    fn report(first: Emulation, scenario: &str) -> Report {
        let s = parse("t", scenario).expect("parses");
        let mut d = Differ::new(first, Emulation::new());
        d.run(&s);
        d.into_report()
    }

    #[test]
    fn identical_backends_agree_and_times_and_pids_are_normalised() {
        let r = report(
            Emulation::new(),
            "buffer st 128\nq = msgget(IPC_PRIVATE, 0600)\nmsgctl(q, IPC_STAT, st)\n\
             put st 0 i64:1\nmsgsnd(q, st, 0, IPC_NOWAIT)\nmsgctl(q, IPC_STAT, st)\n",
        );
        assert!(r.is_clean(), "{:?}", r.findings);
        assert_eq!(r.lines, 6);
    }

    #[test]
    fn different_ids_results_and_stat_fields_are_reported_with_their_line() {
        let mut first = Emulation::new();
        let created = first.call("root", None, Sys::MsgGet, [0, 0o600, 0, 0, 0, 0], false);
        assert_eq!(created, Ok(Ok(0)));
        let r = report(
            first,
            "buffer st 128\nq = msgget(IPC_PRIVATE, 0640)\nmsgctl(0, MSG_STAT, st) = 0\n",
        );
        let text: Vec<String> = r.findings.iter().map(ToString::to_string).collect();
        assert!(text[0].starts_with("t:2: q = msgget"), "{text:?}");
        assert!(text[0].contains("result: host 1, emulation 0"), "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.contains("msg_perm.mode: host 384, emulation 416")),
            "{text:?}"
        );
    }

    #[test]
    fn unmet_expectations_are_reported_per_side() {
        let r = report(Emulation::new(), "msgget(1, 0) = 0\n");
        assert_eq!(r.findings.len(), 2);
        assert!(
            r.findings[0]
                .to_string()
                .contains("expected 0, got -1 ENOENT")
        );
    }
}
