//! The preload library against the host kernel: small C programs (in `tests/c/`) that call
//! every System V IPC function run natively in a private IPC namespace (`unshare -i`) and
//! under `LD_PRELOAD=libsysvipc_preload.so`, and must print the same thing. Each program
//! prints return values, errno names and normalised stat fields, never raw pids, times or
//! addresses.
//!
//! A test that needs something the machine lacks (a C compiler, `unshare -i`, `strace`)
//! prints why and passes without checking.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The programs, by file name in `tests/c/`.
const PROGRAMS: [&str; 8] = [
    "msg",
    "sem",
    "shm",
    "weird_addresses",
    "threads",
    "perm",
    "limits",
    "fork",
];

/// The syscalls that must never reach the host under the library.
const IPC_SYSCALLS: [&str; 12] = [
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
];

/// The same limits as sysctls (native) and as variables (preloaded), for `limits.c`.
const LIMITS: [(&str, &str, &str); 7] = [
    ("msgmax", "SYSVIPC_MSGMAX", "55"),
    ("msgmnb", "SYSVIPC_MSGMNB", "120"),
    ("msgmni", "SYSVIPC_MSGMNI", "1"),
    ("sem", "SYSVIPC_SEM", "4 100 2 10"),
    ("shmmax", "SYSVIPC_SHMMAX", "4096"),
    ("shmall", "SYSVIPC_SHMALL", "1000"),
    ("shmmni", "SYSVIPC_SHMMNI", "1"),
];

/// The built library: `target/<profile>/libsysvipc_preload.so`, next to this test's
/// `deps/` directory (cargo builds the package's cdylib before its tests), or built now.
fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(p) = std::env::var_os("SYSVIPC_PRELOAD_LIB") {
            let p = PathBuf::from(p);
            // A missing library would make ld.so warn and run every program natively.
            assert!(
                p.exists(),
                "SYSVIPC_PRELOAD_LIB={} does not exist",
                p.display()
            );
            return p;
        }
        let exe = std::env::current_exe().expect("test executable path");
        let deps = exe.parent().expect("deps directory");
        let profile = deps.parent().expect("profile directory");
        let candidates = [
            profile.join("libsysvipc_preload.so"),
            deps.join("libsysvipc_preload.so"),
        ];
        if let Some(p) = candidates.iter().find(|p| p.exists()) {
            return p.clone();
        }
        let target = profile.parent().expect("target directory");
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "sysvipc-preload"])
            .env("CARGO_TARGET_DIR", target)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p sysvipc-preload failed");
        candidates[0].clone()
    })
}

/// Whether `cmd` runs and succeeds.
fn works(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

/// Compiles `tests/c/<name>.c` once for all tests (they run in parallel and must not
/// overwrite a binary another one is running), or `None` (with the reason printed) without a
/// compiler.
fn compile(name: &str) -> Option<PathBuf> {
    static BUILT: Mutex<BTreeMap<String, Option<PathBuf>>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = built.get(name) {
        return done.clone();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("preload-c");
    std::fs::create_dir_all(&out_dir).expect("create the output directory");
    let out = out_dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let result = Command::new(&cc)
        .args(["-Wall", "-Werror", "-O1", "-pthread", "-o"])
        .arg(&out)
        .arg(src.join(format!("{name}.c")))
        .output();
    let done = match result {
        Err(e) => {
            eprintln!("skipped: no C compiler ({cc}: {e})");
            None
        }
        Ok(o) if !o.status.success() => panic!(
            "{name}.c does not compile:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Ok(_) => Some(out),
    };
    built.insert(name.to_owned(), done.clone());
    done
}

/// Whether private IPC namespaces can be made here.
fn can_unshare() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let ok = works(Command::new("unshare").args(["-i", "true"]));
        if !ok {
            eprintln!("skipped: `unshare -i` does not work here (not root?)");
        }
        ok
    })
}

/// A command that runs `argv` with a 60-second limit, in a private IPC namespace.
fn sandboxed(argv: &[&str]) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "unshare", "-i"]).args(argv);
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `argv` natively, after the shell commands `setup` (run in the same namespace).
fn native(argv: &[&str], setup: &str) -> Output {
    let script = format!("{setup} exec \"$@\"");
    let mut all = vec!["sh", "-c", &script, "sh"];
    all.extend_from_slice(argv);
    sandboxed(&all).output().expect("run natively")
}

/// Runs `argv` with the library preloaded and `env` set.
fn preloaded(argv: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = sandboxed(argv);
    cmd.env("LD_PRELOAD", library()).envs(env.iter().copied());
    cmd.output().expect("run preloaded")
}

/// Compiles and runs program `name` both ways and compares what they print.
fn differential(name: &str, setup: &str, env: &[(&str, &str)]) {
    let Some(prog) = compile(name) else { return };
    compare(name, &[prog.to_str().expect("UTF-8 path")], setup, env);
}

/// Runs `argv` natively and preloaded (in private IPC namespaces) and compares the output.
fn compare(name: &str, argv: &[&str], setup: &str, env: &[(&str, &str)]) {
    if !can_unshare() {
        return;
    }
    let host = native(argv, setup);
    let ours = preloaded(argv, env);
    assert!(
        host.status.success(),
        "{name} failed natively: {:?}\n{}{}",
        host.status,
        text(&host.stdout),
        text(&host.stderr)
    );
    assert!(
        ours.status.success(),
        "{name} failed preloaded: {:?}\n{}{}",
        ours.status,
        text(&ours.stdout),
        text(&ours.stderr)
    );
    let (h, o) = (text(&host.stdout), text(&ours.stdout));
    if h != o {
        let first = h
            .lines()
            .zip(o.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(h.lines().count().min(o.lines().count()));
        panic!(
            "{name}: output differs from line {}\n--- native\n{h}\n--- preloaded\n{o}",
            first + 1
        );
    }
    assert!(h.lines().count() > 10, "{name} printed too little:\n{h}");
}

/// `perl` and the IPC::SysV modules, or `None` with the reason printed.
fn perl_script() -> Option<String> {
    let ok = works(Command::new("perl").args([
        "-MIPC::Msg",
        "-MIPC::Semaphore",
        "-MIPC::SharedMem",
        "-e1",
    ]));
    if !ok {
        eprintln!("skipped: perl with IPC::SysV is missing");
        return None;
    }
    Some(format!(
        "{}/tests/c/ipc_sysv.pl",
        env!("CARGO_MANIFEST_DIR")
    ))
}

#[test]
fn message_queues_match_the_kernel() {
    differential("msg", "", &[]);
}

#[test]
fn semaphores_match_the_kernel() {
    differential("sem", "", &[]);
}

#[test]
fn shared_memory_maps_and_matches_the_kernel() {
    differential("shm", "", &[]);
}

#[test]
fn fixed_addresses_at_the_ends_of_the_address_space_match_the_kernel() {
    differential("weird_addresses", "", &[]);
}

#[test]
fn blocking_across_threads_and_signals_match_the_kernel() {
    differential("threads", "", &[]);
}

#[test]
fn per_thread_credentials_match_the_kernel() {
    differential("perm", "", &[]);
}

#[test]
fn a_forked_child_sees_the_state_from_before_the_fork() {
    differential("fork", "", &[]);
}

#[test]
fn perl_ipc_sysv_modules_match_the_kernel() {
    let Some(script) = perl_script() else { return };
    compare("ipc_sysv.pl", &["perl", &script], "", &[]);
}

#[test]
fn environment_limits_match_the_sysctls() {
    let setup: String = LIMITS
        .iter()
        .map(|(sysctl, _, v)| format!("echo '{v}' > /proc/sys/kernel/{sysctl} &&"))
        .collect();
    let env: Vec<(&str, &str)> = LIMITS.iter().map(|(_, var, v)| (*var, *v)).collect();
    differential("limits", &setup, &env);
}

#[test]
fn a_malformed_limit_aborts_with_a_message() {
    let Some(prog) = compile("limits") else {
        return;
    };
    for (var, value) in [("SYSVIPC_SEM", "1 2"), ("SYSVIPC_MSGMNB", "big")] {
        let out = Command::new(&prog)
            .env("LD_PRELOAD", library())
            .env(var, value)
            .output()
            .expect("run preloaded");
        let err = text(&out.stderr);
        assert!(
            !out.status.success(),
            "{var}={value} ran: {}",
            text(&out.stdout)
        );
        assert!(
            err.contains(&format!("sysvipc-preload: {var}=")),
            "{var}={value}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{var}={value} printed {:?}",
            text(&out.stdout)
        );
    }
}

#[test]
fn nothing_reaches_the_host_kernel() {
    if !works(Command::new("strace").args(["-o", "/dev/null", "true"])) {
        eprintln!("skipped: strace is missing or cannot trace here");
        return;
    }
    let filter = format!("trace=ipc,{}", IPC_SYSCALLS.join(","));
    let mut runs: Vec<(&str, Vec<String>)> = Vec::new();
    for name in PROGRAMS {
        let Some(prog) = compile(name) else { return };
        runs.push((name, vec![prog.to_str().expect("UTF-8 path").to_owned()]));
    }
    if let Some(script) = perl_script() {
        runs.push(("ipc_sysv.pl", vec!["perl".to_owned(), script]));
    }
    for (name, argv) in runs {
        let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("preload-c/{name}.strace"));
        let lib = format!("LD_PRELOAD={}", library().display());
        let mut cmd = if can_unshare() {
            sandboxed(&["strace"])
        } else {
            let mut c = Command::new("timeout");
            c.args(["60", "strace"]);
            c
        };
        cmd.args(["-f", "-qq", "-e", &filter, "-E", &lib, "-o"])
            .arg(&log)
            .args(&argv);
        if name == "limits" {
            for (_, var, v) in LIMITS {
                cmd.env(var, v);
            }
        }
        let out = cmd.output().expect("run strace");
        assert!(
            out.status.success(),
            "{name} under strace: {:?}\n{}",
            out.status,
            text(&out.stderr)
        );
        let trace = std::fs::read_to_string(&log).expect("read the strace log");
        let leaked: Vec<&str> = trace
            .lines()
            .filter(|l| {
                IPC_SYSCALLS
                    .iter()
                    .chain(&["ipc"])
                    .any(|s| l.contains(&format!("{s}(")))
            })
            .collect();
        assert!(
            leaked.is_empty(),
            "{name} reached the host:\n{}",
            leaked.join("\n")
        );
    }
}

#[test]
fn the_strace_check_sees_native_calls() {
    // The check above would pass vacuously if strace printed nothing: a native run must
    // show up in the same filter.
    if !works(Command::new("strace").args(["-o", "/dev/null", "true"])) || !can_unshare() {
        eprintln!("skipped: strace or unshare -i unavailable");
        return;
    }
    let Some(prog) = compile("sem") else { return };
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("preload-c/native.strace");
    let filter = format!("trace=ipc,{}", IPC_SYSCALLS.join(","));
    let out = sandboxed(&["strace", "-f", "-qq", "-e", &filter, "-o"])
        .arg(&log)
        .arg(&prog)
        .output()
        .expect("run strace");
    assert!(out.status.success());
    let trace = std::fs::read_to_string(&log).expect("read the strace log");
    assert!(trace.contains("semget("), "{trace}");
}
