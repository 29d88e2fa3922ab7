//! The namespace's limits from the environment.
//!
//! | variable | sysctl | value |
//! |---|---|---|
//! | `SYSVIPC_MSGMAX` | `kernel.msgmax` | an int |
//! | `SYSVIPC_MSGMNB` | `kernel.msgmnb` | an int |
//! | `SYSVIPC_MSGMNI` | `kernel.msgmni` | an int, at most 32768 |
//! | `SYSVIPC_SEM` | `kernel.sem` | four ints: SEMMSL SEMMNS SEMOPM SEMMNI |
//! | `SYSVIPC_SHMMAX` | `kernel.shmmax` | an unsigned long |
//! | `SYSVIPC_SHMALL` | `kernel.shmall` | an unsigned long (pages) |
//! | `SYSVIPC_SHMMNI` | `kernel.shmmni` | an int, at most 32768 |
//!
//! A value the sysctl would refuse stops the program: a message on stderr and `abort()`,
//! since running with other limits than asked would give wrong answers silently.

use sysvipc::{Errno, Limits};

/// Reads the variables that are set and applies them to `limits`; on a malformed value,
/// prints what is wrong and aborts.
pub(crate) fn apply_env(limits: &Limits) {
    if let Err(msg) = apply(limits, |name| std::env::var_os(name)) {
        eprintln!("sysvipc-preload: {msg}");
        std::process::abort();
    }
}

/// A sysctl setter that range-checks an int.
type IntSetter = fn(&Limits, i64) -> Result<(), Errno>;

/// A sysctl setter that takes any `unsigned long`.
type UlongSetter = fn(&Limits, u64);

/// Applies the variables `get` returns to `limits`, or says which one is wrong.
fn apply(limits: &Limits, get: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<(), String> {
    let read = |name: &str| -> Result<Option<String>, String> {
        match get(name) {
            None => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|v| format!("{name}={v:?}: not UTF-8")),
        }
    };
    let int = |name: &str, v: &str| -> Result<i64, String> {
        v.trim()
            .parse::<i64>()
            .map_err(|_| format!("{name}={v:?}: not an integer"))
    };
    let range = |name: &str, v: &str, r: Result<(), Errno>| -> Result<(), String> {
        r.map_err(|e| format!("{name}={v:?}: refused by the sysctl ({e})"))
    };
    let ints: [(&str, IntSetter); 4] = [
        ("SYSVIPC_MSGMAX", Limits::set_msgmax),
        ("SYSVIPC_MSGMNB", Limits::set_msgmnb),
        ("SYSVIPC_MSGMNI", Limits::set_msgmni),
        ("SYSVIPC_SHMMNI", Limits::set_shmmni),
    ];
    for (name, set) in ints {
        if let Some(v) = read(name)? {
            range(name, &v, set(limits, int(name, &v)?))?;
        }
    }
    let ulongs: [(&str, UlongSetter); 2] = [
        ("SYSVIPC_SHMMAX", Limits::set_shmmax),
        ("SYSVIPC_SHMALL", Limits::set_shmall),
    ];
    for (name, set) in ulongs {
        if let Some(v) = read(name)? {
            let n = v
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{name}={v:?}: not an unsigned integer"))?;
            set(limits, n);
        }
    }
    let name = "SYSVIPC_SEM";
    if let Some(v) = read(name)? {
        let fields: Vec<&str> = v.split_whitespace().collect();
        let [a, b, c, d] = fields[..] else {
            return Err(format!(
                "{name}={v:?}: want four integers (SEMMSL SEMMNS SEMOPM SEMMNI)"
            ));
        };
        let values = [int(name, a)?, int(name, b)?, int(name, c)?, int(name, d)?];
        range(name, &v, limits.set_sem(values))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn run(vars: &[(&str, &str)]) -> (Limits, Result<(), String>) {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let limits = Limits::default();
        let r = apply(&limits, |n| map.get(n).cloned());
        (limits, r)
    }

    #[test]
    fn variables_set_the_limits() {
        let (l, r) = run(&[
            ("SYSVIPC_MSGMNB", "100"),
            ("SYSVIPC_MSGMAX", " 50 "),
            ("SYSVIPC_MSGMNI", "3"),
            ("SYSVIPC_SEM", "10 20\t30 40"),
            ("SYSVIPC_SHMMAX", "8192"),
            ("SYSVIPC_SHMALL", "18446744073709551615"),
            ("SYSVIPC_SHMMNI", "7"),
        ]);
        r.unwrap();
        assert_eq!((l.msgmnb(), l.msgmax(), l.msgmni()), (100, 50, 3));
        assert_eq!(
            (l.semmsl(), l.semmns(), l.semopm(), l.semmni()),
            (10, 20, 30, 40)
        );
        assert_eq!((l.shmmax(), l.shmall(), l.shmmni()), (8192, u64::MAX, 7));
    }

    #[test]
    fn nothing_set_keeps_the_defaults() {
        let (l, r) = run(&[]);
        r.unwrap();
        assert_eq!(l.msgmnb(), 16384);
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (k, v) in [
            ("SYSVIPC_MSGMNB", "lots"),
            ("SYSVIPC_MSGMNI", "40000"),
            ("SYSVIPC_SEM", "1 2 3"),
            ("SYSVIPC_SEM", "1 2 3 x"),
            ("SYSVIPC_SEM", "1 2 3 99999"),
            ("SYSVIPC_SHMMAX", "-1"),
        ] {
            let err = run(&[(k, v)]).1.unwrap_err();
            assert!(err.starts_with(k), "{err}");
        }
    }
}
