//! The program's memory as the syscall layer sees it.

use sysvipc::Errno;
use sysvipc_syscalls::UserMemory;

use crate::sys;

/// The own process's memory, copied with `process_vm_readv`/`process_vm_writev` on the own
/// pid.
///
/// The kernel checks every page, so a buffer that is not mapped, or a write into read-only
/// memory, is `EFAULT` as in `copy_from_user`/`copy_to_user`, never a crash in the library.
/// The cost is one syscall per copy (plus the kernel pinning the pages), where a plain
/// `memcpy` would need a fault handler to be safe.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OwnMemory;

impl UserMemory for OwnMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        sys::read_own(addr, buf)
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        sys::write_own(addr, data)
    }
}
