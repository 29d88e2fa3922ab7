//! The strace-like rendering of a line run on one backend:
//! `msgget(IPC_PRIVATE, IPC_CREAT|0600) = 0`.

use std::fmt::Write;

use crate::exec::{Outcome, ResultKind, Step};
use crate::scenario::{Line, Stmt};

/// Renders what `line` did as `step` shows it; `buffers` names the buffers in the order of
/// [`Step::buffers`]. Several lines for a call that wrote into buffers or filled a structure.
pub fn render(line: &Line, step: &Step, buffers: &[String]) -> String {
    let mut out = String::new();
    let head = match &line.stmt {
        Stmt::Call(call) => {
            let mut s = String::new();
            match (&call.process, call.caller.as_str()) {
                (Some(p), "root") => {
                    let _ = write!(s, "{p}: ");
                }
                (Some(p), caller) => {
                    let _ = write!(s, "{caller}@{p}: ");
                }
                (None, "root") => {}
                (None, caller) => {
                    let _ = write!(s, "{caller}: ");
                }
            }
            if let Some(b) = &call.bind {
                let _ = write!(s, "{b} = ");
            }
            let _ = write!(s, "{}({})", call.sys, call.arg_text.join(", "));
            s
        }
        Stmt::Join { name, .. } => format!("join {name}"),
        _ => line.text.clone(),
    };
    out.push_str(&head);
    match &step.outcome {
        Outcome::Declared => {}
        Outcome::Refused(e) => {
            let _ = write!(out, "  # {e}");
        }
        Outcome::Call { result, kind } => match result {
            Ok(v) if *kind == ResultKind::Address => {
                let _ = write!(out, " = {v:#x}");
            }
            Ok(v) => {
                let _ = write!(out, " = {v}");
            }
            Err(e) => {
                let _ = write!(
                    out,
                    " = -1 {} ({})",
                    e.name().unwrap_or("E?"),
                    e.description().unwrap_or("unknown error")
                );
            }
        },
        Outcome::Put(r) | Outcome::Sysctl(r) => {
            if let Err(e) = r {
                let _ = write!(out, "  # {}", e.name().unwrap_or("E?"));
            }
        }
        Outcome::Show(r) => match r {
            Ok(bytes) => {
                let _ = write!(out, " = {}", dump(bytes));
            }
            Err(e) => {
                let _ = write!(out, " = {}", e.name().unwrap_or("E?"));
            }
        },
    }
    if let Some(expected) = step.unmet {
        let _ = write!(out, "  # expected {expected}");
    }
    if let Some(stat) = &step.stat {
        let _ = write!(out, "\n    {}", stat.decoded);
    }
    for (i, (before, after)) in step.buffers.iter().enumerate() {
        let masked = step.stat.as_ref().and_then(|s| s.place.clone());
        let changed: Vec<usize> = (0..after.len())
            .filter(|&p| before.get(p) != after.get(p))
            .filter(|&p| {
                !masked
                    .as_ref()
                    .is_some_and(|(b, r)| *b == i && r.contains(&p))
            })
            .collect();
        if let (Some(&first), Some(&last)) = (changed.first(), changed.last()) {
            let name = buffers.get(i).map_or("?", String::as_str);
            let _ = write!(
                out,
                "\n    {name}[{first}..{}] = {}",
                last + 1,
                dump(&after[first..=last])
            );
        }
    }
    out
}

/// Bytes as hex, with the printable text beside them.
pub fn dump(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(64)];
    let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = shown
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let more = if bytes.len() > shown.len() {
        " …"
    } else {
        ""
    };
    format!("{}{more} \"{text}\"", hex.join(" "))
}
