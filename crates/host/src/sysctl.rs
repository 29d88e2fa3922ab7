//! The IPC sysctls (`/proc/sys/kernel/msgmni` …) of the calling thread's IPC namespace.
//!
//! The IPC sysctl tables are per namespace: `/proc/sys/kernel/NAME` resolves, when opened, to
//! the table of the opening task's IPC namespace (`setup_ipc_sysctls()` / `set_lookup` in
//! `ipc/ipc_sysctl.c`). So these functions must run on a thread inside the namespace.

use std::fs;
use std::io::Write;

use crate::abi::Errno;

/// `/proc/sys/kernel/NAME` for a plain sysctl name (letters, digits, `_`); anything else could
/// escape the directory and is rejected with EINVAL.
fn path(name: &str) -> Result<String, Errno> {
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        Ok(format!("/proc/sys/kernel/{name}"))
    } else {
        Err(Errno::EINVAL)
    }
}

fn errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Reads the sysctl, without the trailing newline (`sem` keeps its tab separators).
pub(crate) fn read(name: &str) -> Result<String, Errno> {
    let text = fs::read_to_string(path(name)?).map_err(errno)?;
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned())
}

/// Writes `value` in one write(2), as `echo -n value >` would; the kernel's verdict (EINVAL
/// out of range, EACCES…) is returned.
pub(crate) fn write(name: &str, value: &str) -> Result<(), Errno> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(path(name)?)
        .map_err(errno)?;
    file.write_all(value.as_bytes()).map_err(errno)
}
