//! The `sysvipc` binary: commands, output and exit statuses.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn sysvipc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sysvipc"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
        .display()
        .to_string()
}

/// A scenario file in the target directory's temp space, removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, text: &str) -> Temp {
        let path = std::env::temp_dir().join(format!("sysvipc-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("temp file");
        Temp(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_prints_an_strace_like_trace_and_exits_zero() {
    let o = sysvipc(&["run", &scenario("msg_basics.scn")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("q = msgget(IPC_PRIVATE, IPC_CREAT|0600) = 0\n"),
        "{out}"
    );
    assert!(
        out.contains("msgrcv(q, b, 2, 7, IPC_NOWAIT) = -1 E2BIG (Argument list too long)"),
        "{out}"
    );
    assert!(out.contains("msg_qnum=2"), "{out}");
}

#[test]
fn run_exits_one_on_an_unmet_expectation() {
    let t = Temp::new("unmet.scn", "msgget(0x5, 0) = 0\n");
    let o = sysvipc(&["run", t.path()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("= -1 ENOENT (No such file or directory)  # expected 0"));
}

#[test]
fn a_malformed_line_is_reported_with_file_line_and_column_and_exits_two() {
    let t = Temp::new("bad.scn", "buffer b 8\nmsgsnd(b, b, 1 0)\n");
    let o = sysvipc(&["run", t.path()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.scn:2:16: expected `,` or `)`, found number 0"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(sysvipc(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(sysvipc(&["diff"]).status.code(), Some(2));
    assert_eq!(sysvipc(&["diff", "--random", "x"]).status.code(), Some(2));
    assert_eq!(sysvipc(&["--help"]).status.code(), Some(0));
}

#[test]
fn ipcs_lists_the_objects_left_by_a_scenario() {
    let t = Temp::new(
        "ipcs.scn",
        "msgget(0x1234, IPC_CREAT|0644)\nshmget(IPC_PRIVATE, 100, 0600)\nsemget(7, 3, IPC_CREAT|0600)\n",
    );
    let o = sysvipc(&["ipcs", "--after", t.path()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("\n------ Message Queues --------\n"),
        "{out}"
    );
    assert!(out.contains("\n0x00001234 0          "), "{out}");
    assert!(out.contains("600        100        0          "), "{out}");
    assert!(out.contains("\n0x00000007 0          "), "{out}");
}

#[test]
fn gen_is_deterministic_and_shell_runs_stdin() {
    let a = stdout(&sysvipc(&["gen", "--random", "50", "--seed", "9"]));
    assert_eq!(
        a,
        stdout(&sysvipc(&["gen", "--random", "50", "--seed", "9"]))
    );
    assert!(a.starts_with("# sysvipc random scenario: seed 9, 50 calls\n"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sysvipc"))
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the shell starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"q = msgget(IPC_PRIVATE, 0600)\nmsgctl(q, nope, 0)\nmsgctl(q, IPC_RMID, 0)\n")
        .expect("written");
    let o = child.wait_with_output().expect("the shell ends");
    let out = stdout(&o);
    assert!(out.contains("q = msgget(IPC_PRIVATE, 0600) = 0\n"), "{out}");
    assert!(
        out.contains("error: <stdin>:2:11: unknown name or constant `nope`"),
        "{out}"
    );
    assert!(out.contains("msgctl(q, IPC_RMID, 0) = 0\n"), "{out}");
}

/// `diff` exits 0 when host and emulation agree, or 3 (saying why) where no private IPC
/// namespace can be made.
#[test]
fn diff_of_a_corpus_file_and_of_random_calls_agrees_or_says_why_not() {
    for args in [
        vec!["diff".to_owned(), scenario("msg_perms.scn")],
        vec![
            "diff".into(),
            "--random".into(),
            "300".into(),
            "--seed".into(),
            "3".into(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = sysvipc(&args);
        match o.status.code() {
            Some(0) => assert!(stdout(&o).contains("0 findings"), "{}", stdout(&o)),
            Some(3) => {
                assert!(
                    stderr(&o).contains("no private IPC namespace"),
                    "{}",
                    stderr(&o)
                );
                println!("skipping: {}", stderr(&o));
            }
            other => panic!("{other:?}: {}{}", stdout(&o), stderr(&o)),
        }
    }
}

#[test]
fn diff_exits_one_on_an_unmet_expectation() {
    let t = Temp::new("diff-unmet.scn", "msgget(IPC_PRIVATE, 0600) = 5\n");
    let o = sysvipc(&["diff", t.path()]);
    match o.status.code() {
        Some(1) => assert!(
            stdout(&o).contains("host: expected 5, got 0"),
            "{}",
            stdout(&o)
        ),
        Some(3) => println!("skipping: {}", stderr(&o)),
        other => panic!("{other:?}"),
    }
}

/// Without the rights to make an IPC namespace, `diff` says so and exits with status 3.
/// Runs the binary as `nobody` through setpriv(1) where this test runs as root; skips
/// otherwise.
#[test]
fn diff_without_an_ipc_namespace_says_why_and_exits_three() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !root || !setpriv {
        println!("skipping: needs root and setpriv(1) to drop to an unprivileged user");
        return;
    }
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sysvipc"))
        .args(["diff", "--random", "10"])
        .current_dir("/")
        .output()
        .expect("setpriv runs");
    assert_eq!(o.status.code(), Some(3), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("no private IPC namespace can be made here"));
}

#[test]
fn bench_prints_the_comparison_table_for_the_cases_asked() {
    let o = sysvipc(&["bench", "--filter", "shm_cycle"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("| benchmark | emulation | host kernel | baseline |"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("| shm_cycle/4KiB |"))
        .unwrap_or_else(|| panic!("no shm_cycle row in:\n{out}"));
    // Seven cells between the bars; the emulation's is a time.
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells.len(), 8, "{row}");
    assert!(
        cells[2].ends_with("ns") || cells[2].ends_with("µs"),
        "{row}"
    );
    assert!(!out.contains("msg_pair"), "filtered out: {out}");
}

#[test]
fn bench_refuses_an_unknown_argument() {
    let o = sysvipc(&["bench", "--fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown argument `--fast`"),
        "{}",
        stderr(&o)
    );
}
