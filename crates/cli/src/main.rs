//! `sysvipc`: System V IPC scenarios on the command line.
//!
//! ```text
//! sysvipc run FILE                     run on the emulation, print an strace-like trace
//! sysvipc diff FILE                    run on the host kernel beside the emulation
//! sysvipc diff --random N [--seed S]   the same for N seeded random calls
//! sysvipc gen --random N [--seed S]    print that random scenario
//! sysvipc ipcs [--after FILE]          the emulation's objects, as util-linux ipcs lists them
//! sysvipc shell                        read statements from stdin, run each on the emulation
//! sysvipc bench [--all] [--filter TEXT] the emulation beside the host kernel and a baseline
//! ```
//!
//! Exit status: 0 when everything agreed (and every expectation held), 1 on a divergence,
//! an unmet expectation or a refused line, 2 on a usage, file or parse error, 3 when `diff`
//! cannot make a private IPC namespace on this host (not root, no IPC namespaces…).

use std::io::BufRead;
use std::process::ExitCode;

use sysvipc_check::diff::DiffError;
use sysvipc_check::exec::Outcome;
use sysvipc_check::{Emulation, ParseError, Parser, Scenario, Session, parse, random, trace};

mod bench;

const USAGE: &str = "\
usage: sysvipc run FILE
       sysvipc diff FILE
       sysvipc diff --random N [--seed S]
       sysvipc gen --random N [--seed S]
       sysvipc ipcs [--after FILE]
       sysvipc shell
       sysvipc bench [--all] [--filter TEXT]

Scenarios: one statement per line (see scenarios/README.md).
Exit status: 0 all agreed, 1 divergence / unmet expectation / refused line,
2 usage or parse error, 3 no private IPC namespace on this host.";

/// Exit statuses.
const DIVERGED: u8 = 1;
const USAGE_ERROR: u8 = 2;
const NO_NAMESPACE: u8 = 3;

/// Why the command stopped early.
enum Fail {
    Usage(String),
    Parse(ParseError),
    Io(String),
}

impl From<ParseError> for Fail {
    fn from(e: ParseError) -> Fail {
        Fail::Parse(e)
    }
}

/// The scenario to run: a file, or a seeded random one.
enum Source {
    File(String),
    Random { calls: usize, seed: u64 },
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<T, Fail> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Fail::Usage(format!("{flag} needs a number")))
}

fn source(args: &[String]) -> Result<Source, Fail> {
    let mut calls = None;
    let mut seed = 0u64;
    let mut file = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "--random" => {
                calls = Some(number("--random", args.get(i + 1))?);
                i += 1;
            }
            "--seed" => {
                seed = number("--seed", args.get(i + 1))?;
                i += 1;
            }
            f if !f.starts_with('-') && file.is_none() => file = Some(f.to_owned()),
            other => return Err(Fail::Usage(format!("unexpected argument `{other}`"))),
        }
        i += 1;
    }
    match (file, calls) {
        (Some(f), None) => Ok(Source::File(f)),
        (None, Some(calls)) => Ok(Source::Random { calls, seed }),
        _ => Err(Fail::Usage("give a FILE or --random N".into())),
    }
}

fn load(src: &Source) -> Result<Scenario, Fail> {
    match src {
        Source::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Fail::Io(format!("cannot read {path}: {e}")))?;
            Ok(parse(path, &text)?)
        }
        Source::Random { calls, seed } => Ok(parse(
            &format!("random(seed={seed})"),
            &random::generate(*seed, *calls),
        )?),
    }
}

/// Runs `scenario` on a fresh emulation, printing each line; returns whether every line ran
/// and met its expectation.
fn run_emulated(scenario: &Scenario, session: &mut Session<Emulation>, print: bool) -> bool {
    let mut ok = true;
    let names = |s: &Session<Emulation>| s.buffer_names().map(str::to_owned).collect::<Vec<_>>();
    for line in &scenario.lines {
        let step = session.exec(line);
        if step.unmet.is_some() || matches!(step.outcome, Outcome::Refused(_)) {
            ok = false;
            if !print {
                eprintln!(
                    "{}:{}: {}",
                    scenario.file,
                    line.number,
                    trace::render(line, &step, &names(session))
                );
            }
        }
        if print {
            println!("{}", trace::render(line, &step, &names(session)));
        }
    }
    ok
}

fn cmd_run(args: &[String]) -> Result<u8, Fail> {
    let scenario = load(&source(args)?)?;
    let mut session = Session::new(Emulation::new());
    Ok(if run_emulated(&scenario, &mut session, true) {
        0
    } else {
        DIVERGED
    })
}

#[cfg(target_os = "linux")]
fn cmd_diff(args: &[String]) -> Result<u8, Fail> {
    let src = source(args)?;
    let scenario = load(&src)?;
    let mut differ = match sysvipc_check::diff::new_differ() {
        Ok(d) => d,
        Err(DiffError::Unsupported(why)) => {
            eprintln!("sysvipc diff: no private IPC namespace can be made here: {why}");
            return Ok(NO_NAMESPACE);
        }
        Err(e) => return Err(Fail::Io(e.to_string())),
    };
    differ.run(&scenario);
    let report = differ.into_report();
    for f in &report.findings {
        println!("{f}");
    }
    let mut allowed: Vec<&str> = report.allowed.iter().map(|a| a.0).collect();
    allowed.sort_unstable();
    allowed.dedup();
    for name in &allowed {
        let n = report.allowed.iter().filter(|a| a.0 == *name).count();
        let reason = sysvipc_check::diff::ALLOWED
            .iter()
            .find(|a| a.name == *name)
            .map_or("", |a| a.reason);
        println!("allowed: {name} ({n}x): {reason}");
    }
    println!(
        "{}: {} lines, {} findings, {} allowed divergences",
        scenario.file,
        report.lines,
        report.findings.len(),
        report.allowed.len()
    );
    if !report.is_clean() {
        if let Source::Random { calls, seed } = src {
            println!(
                "reproduce: sysvipc gen --random {calls} --seed {seed} > case.scn && sysvipc diff case.scn"
            );
        }
        return Ok(DIVERGED);
    }
    Ok(0)
}

#[cfg(not(target_os = "linux"))]
fn cmd_diff(_args: &[String]) -> Result<u8, Fail> {
    eprintln!("sysvipc diff: the host backend needs Linux");
    Ok(NO_NAMESPACE)
}

fn cmd_gen(args: &[String]) -> Result<u8, Fail> {
    match source(args)? {
        Source::Random { calls, seed } => {
            print!("{}", random::generate(seed, calls));
            Ok(0)
        }
        Source::File(_) => Err(Fail::Usage("gen takes --random N [--seed S]".into())),
    }
}

fn cmd_ipcs(args: &[String]) -> Result<u8, Fail> {
    let mut session = Session::new(Emulation::new());
    let mut status = 0;
    match args {
        [] => {}
        [flag, file] if flag == "--after" => {
            let scenario = load(&Source::File(file.clone()))?;
            if !run_emulated(&scenario, &mut session, false) {
                status = DIVERGED;
            }
        }
        _ => return Err(Fail::Usage("ipcs takes [--after FILE]".into())),
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let text = sysvipc_check::ipcs::ipcs(session.backend_mut(), &passwd)
        .map_err(|e| Fail::Io(e.to_string()))?;
    print!("{text}");
    Ok(status)
}

fn cmd_shell(args: &[String]) -> Result<u8, Fail> {
    if !args.is_empty() {
        return Err(Fail::Usage("shell takes no arguments".into()));
    }
    let mut parser = Parser::new("<stdin>");
    let mut session = Session::new(Emulation::new());
    let stdin = std::io::stdin();
    for (i, text) in stdin.lock().lines().enumerate() {
        let text = text.map_err(|e| Fail::Io(e.to_string()))?;
        match parser.line(i + 1, &text) {
            Ok(Some(line)) => {
                let step = session.exec(&line);
                let names: Vec<String> = session.buffer_names().map(str::to_owned).collect();
                println!("{}", trace::render(&line, &step, &names));
            }
            Ok(None) => {}
            Err(e) => println!("error: {e}"),
        }
    }
    Ok(0)
}

/// `sysvipc bench`: a short comparison (the quick families; every family with `--all`),
/// optionally only the cases whose name contains `--filter`'s text.
fn cmd_bench(args: &[String]) -> Result<u8, Fail> {
    let mut all = false;
    let mut filter = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--all" => all = true,
            "--filter" => {
                let text = it
                    .next()
                    .ok_or_else(|| Fail::Usage("--filter takes a text".into()))?;
                filter = Some(text.clone());
            }
            other => return Err(Fail::Usage(format!("bench: unknown argument `{other}`"))),
        }
    }
    println!("Per iteration (median of 5 samples of at least 20 ms each):\n");
    print!("{}", bench::run(all, filter.as_deref()));
    Ok(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => ("--help", &[][..]),
    };
    let result = match cmd {
        "run" => cmd_run(rest),
        "diff" => cmd_diff(rest),
        "gen" => cmd_gen(rest),
        "ipcs" => cmd_ipcs(rest),
        "shell" => cmd_shell(rest),
        "bench" => cmd_bench(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => Err(Fail::Usage(format!("unknown command `{other}`"))),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(Fail::Usage(why)) => {
            eprintln!("sysvipc: {why}\n\n{USAGE}");
            ExitCode::from(USAGE_ERROR)
        }
        Err(Fail::Parse(e)) => {
            eprintln!("sysvipc: {e}");
            ExitCode::from(USAGE_ERROR)
        }
        Err(Fail::Io(why)) => {
            eprintln!("sysvipc: {why}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}
