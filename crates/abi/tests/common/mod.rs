//! Shared by the integration tests: a C probe that compiles a small program against the
//! system headers with the system C compiler, runs it, and compares what it prints with the
//! values this crate defines.
//!
//! If no C compiler is installed, or the headers a probe needs are missing, the probe prints
//! the reason to stderr and reports "skipped" instead of failing.
#![allow(dead_code, unused_macros)] // each test binary uses a different part of this module

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// What a probe expects one C expression to evaluate to.
enum Expected {
    Int(i128),
    Str(String),
}

/// One C program: headers, then one `printf` per check.
pub struct CProbe {
    name: &'static str,
    prelude: String,
    flags: Vec<String>,
    checks: Vec<(String, String, Expected)>,
}

impl CProbe {
    /// A probe called `name` (unique per test: it names the files) whose program starts with
    /// `prelude` (defines and `#include`s).
    pub fn new(name: &'static str, prelude: &str) -> Self {
        CProbe {
            name,
            prelude: prelude.to_owned(),
            flags: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The same probe compiled with extra compiler flags, e.g. `-m32` for the i386 ABI.
    pub fn with_flags(mut self, flags: &[&str]) -> Self {
        self.flags = flags.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    /// Expects the integer C expression `c_expr` to equal `rust`.
    pub fn int(&mut self, label: impl Into<String>, c_expr: impl Into<String>, rust: i128) {
        self.checks
            .push((label.into(), c_expr.into(), Expected::Int(rust)));
    }

    /// Expects the C string expression `c_expr` (a `const char *`, NULL printed as
    /// `(null)`) to equal `rust`.
    pub fn string(&mut self, label: impl Into<String>, c_expr: impl Into<String>, rust: &str) {
        self.checks
            .push((label.into(), c_expr.into(), Expected::Str(rust.to_owned())));
    }

    /// Number of checks queued.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    fn source(&self) -> String {
        let mut src = String::new();
        src.push_str(&self.prelude);
        src.push_str("\n#include <stdio.h>\n#include <stddef.h>\n\n");
        src.push_str("static const char *nn(const char *s) { return s ? s : \"(null)\"; }\n\n");
        src.push_str("int main(void) {\n");
        for (_, expr, expected) in &self.checks {
            match expected {
                Expected::Int(v) if *v < 0 => {
                    writeln!(src, "    printf(\"%lld\\n\", (long long)({expr}));").unwrap();
                }
                Expected::Int(_) => {
                    writeln!(
                        src,
                        "    printf(\"%llu\\n\", (unsigned long long)({expr}));"
                    )
                    .unwrap();
                }
                Expected::Str(_) => {
                    writeln!(src, "    printf(\"%s\\n\", nn({expr}));").unwrap();
                }
            }
        }
        src.push_str("    (void)nn;\n    return 0;\n}\n");
        src
    }

    /// Compiles and runs the program and asserts every check, reporting all mismatches at
    /// once. Returns `false` (after printing why) if the probe could not run here.
    pub fn run(self) -> bool {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-probes");
        std::fs::create_dir_all(&dir).expect("create probe directory");
        let src_path = dir.join(format!("{}.c", self.name));
        let exe_path = dir.join(self.name);
        let source = self.source();
        std::fs::write(&src_path, &source).expect("write probe source");

        let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".to_owned());
        let compiled = match Command::new(&cc)
            .arg("-std=gnu11")
            .args(&self.flags)
            .arg("-o")
            .arg(&exe_path)
            .arg(&src_path)
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                eprintln!("SKIP {}: cannot run C compiler `{cc}`: {e}", self.name);
                return false;
            }
        };
        if !compiled.status.success() {
            let stderr = String::from_utf8_lossy(&compiled.stderr);
            if stderr.contains("fatal error") && stderr.contains("No such file or directory") {
                eprintln!("SKIP {}: headers not installed:\n{stderr}", self.name);
                return false;
            }
            // A probe for another target (`-m32`) also needs that target's start files and
            // libraries, which a system may have without the headers or the other way round.
            if !self.flags.is_empty() && stderr.contains("cannot find") {
                eprintln!(
                    "SKIP {}: no {:?} toolchain:\n{stderr}",
                    self.name, self.flags
                );
                return false;
            }
            panic!(
                "probe {} did not compile ({}):\n{stderr}\n--- source ---\n{source}",
                self.name,
                src_path.display()
            );
        }
        let ran = Command::new(&exe_path).output().expect("run probe");
        assert!(ran.status.success(), "probe {} failed: {ran:?}", self.name);
        let stdout = String::from_utf8(ran.stdout).expect("probe output is UTF-8");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines.len(),
            self.checks.len(),
            "probe {} printed {} lines for {} checks",
            self.name,
            lines.len(),
            self.checks.len()
        );

        let mut mismatches = Vec::new();
        for ((label, expr, expected), line) in self.checks.iter().zip(lines) {
            let ok = match expected {
                Expected::Int(v) => line.parse::<i128>().ok() == Some(*v),
                Expected::Str(s) => line == s,
            };
            if !ok {
                let want = match expected {
                    Expected::Int(v) => v.to_string(),
                    Expected::Str(s) => format!("{s:?}"),
                };
                mismatches.push(format!("{label}: rust {want}, C `{expr}` = {line}"));
            }
        }
        assert!(
            mismatches.is_empty(),
            "probe {}: {} of {} checks differ:\n  {}",
            self.name,
            mismatches.len(),
            self.checks.len(),
            mismatches.join("\n  ")
        );
        eprintln!("probe {}: {} checks agree", self.name, self.checks.len());
        true
    }
}

/// Signedness of a field's type, for comparison with the C field's.
pub trait Signedness {
    /// `Some(true)` for signed integers, `Some(false)` for unsigned, `None` for aggregates.
    const SIGNED: Option<bool>;
}

macro_rules! impl_signedness {
    ($($t:ty => $s:expr),* $(,)?) => { $(impl Signedness for $t { const SIGNED: Option<bool> = $s; })* };
}

impl_signedness! {
    i16 => Some(true), i32 => Some(true), i64 => Some(true),
    u16 => Some(false), u32 => Some(false), u64 => Some(false),
    sysvipc_abi::Ipc64Perm => None,
    sysvipc_abi::compat::CompatIpc64Perm => None,
    sysvipc_abi::compat::CompatIpcPerm => None,
}

/// The signedness of the type a reference points to.
pub fn signedness_of<T: Signedness>(_: &T) -> Option<bool> {
    T::SIGNED
}

/// Queues, on a [`CProbe`], the size and alignment of `$rust` against the C type `$c`, and
/// for each `rust_field => "c_field"` pair its offset, size and signedness.
macro_rules! c_struct {
    ($probe:expr, $rust:ty => $c:literal { $($rf:ident => $cf:literal),+ $(,)? }) => {{
        let value = <$rust>::default();
        $probe.int(
            concat!("size_of ", stringify!($rust)),
            concat!("sizeof(", $c, ")"),
            core::mem::size_of::<$rust>() as i128,
        );
        $probe.int(
            concat!("align_of ", stringify!($rust)),
            concat!("_Alignof(", $c, ")"),
            core::mem::align_of::<$rust>() as i128,
        );
        $(
            $probe.int(
                concat!("offset_of ", stringify!($rust), ".", stringify!($rf)),
                concat!("offsetof(", $c, ", ", $cf, ")"),
                core::mem::offset_of!($rust, $rf) as i128,
            );
            $probe.int(
                concat!("size_of ", stringify!($rust), ".", stringify!($rf)),
                concat!("sizeof(((", $c, " *)0)->", $cf, ")"),
                core::mem::size_of_val(&value.$rf) as i128,
            );
            if let Some(signed) = $crate::common::signedness_of(&value.$rf) {
                $probe.int(
                    concat!("signedness ", stringify!($rust), ".", stringify!($rf)),
                    concat!("((__typeof__(((", $c, " *)0)->", $cf, "))-1 < 0)"),
                    i128::from(signed),
                );
            }
        )+
    }};
}
