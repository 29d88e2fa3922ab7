//! `ftok(3)`: a key derived from a file's identity, computed as glibc computes it, so that a
//! program using the emulation and one using the host's libc derive the same key for the same
//! file.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::Errno;
use crate::ipc::Key;

/// `ftok(3)`: the key for the file at `path` (symbolic links followed, as `stat(2)` does) and
/// the low 8 bits of `proj_id`, by glibc's formula:
/// `(proj_id & 0xff) << 24 | (st_dev & 0xff) << 16 | (st_ino & 0xffff)`.
///
/// Files on different devices, or with inode numbers 65536 apart, may share a key, and a
/// `proj_id` whose low 8 bits are 0 may give [`Key::PRIVATE`]: `ftok(3)` leaves those cases
/// to the caller, as here.
///
/// The error is `stat`'s (`ENOENT`, `EACCES`, `ENOTDIR`, `ELOOP`, `ENAMETOOLONG`, …), as the
/// host numbers it (Linux's numbers on Linux); `EINVAL` for a path the host cannot even pass
/// to `stat`, such as one containing a NUL byte.
///
/// ```
/// use sysvipc::ftok;
///
/// let key = ftok("/", i32::from(b'A'))?;
/// assert_eq!(key.0 as u32 >> 24, u32::from(b'A'));
/// assert_eq!(ftok("/no/such/file", 1), Err(sysvipc::Errno::ENOENT));
/// # Ok::<(), sysvipc::Errno>(())
/// ```
pub fn ftok(path: impl AsRef<Path>, proj_id: i32) -> Result<Key, Errno> {
    let meta = std::fs::metadata(path)
        .map_err(|e| e.raw_os_error().map_or(Errno::EINVAL, Errno::from_raw))?;
    let key = (proj_id as u32 & 0xff) << 24
        | (meta.dev() as u32 & 0xff) << 16
        | (meta.ino() as u32 & 0xffff);
    // key_t is an int: the bits as they are, negative when proj_id's bit 7 is set.
    Ok(Key(key as i32))
}
