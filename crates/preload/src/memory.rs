//! The program's memory as the syscall layer sees it.

use sysvipc::Errno;
use sysvipc_syscalls::UserMemory;

use crate::sys;

/// The own process's memory, copied with `process_vm_readv`/`process_vm_writev` on the own
/// pid (the field: the caller's `getpid()`, read once per call).
///
/// The kernel checks every page, so a buffer that is not mapped, or a write into read-only
/// memory, is `EFAULT` as in `copy_from_user`/`copy_to_user`, never a crash in the library.
/// The cost is one syscall per copy (plus the kernel pinning the pages), where a plain
/// `memcpy` would need a fault handler to be safe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OwnMemory(pub(crate) i32);

impl UserMemory for OwnMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        sys::read_own(self.0, addr, buf)
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        sys::write_own(self.0, addr, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> OwnMemory {
        OwnMemory(sys::getpid())
    }

    #[test]
    fn copies_read_and_write_the_own_memory() {
        let src = *b"hello";
        let mut dst = [0u8; 5];
        own().read(src.as_ptr() as u64, &mut dst).expect("readable");
        assert_eq!(&dst, b"hello");
        let mut target = [0u8; 3];
        own()
            .write(target.as_mut_ptr() as u64, b"abc")
            .expect("writable");
        assert_eq!(&target, b"abc");
    }

    #[test]
    fn unmapped_and_read_only_memory_is_efault_not_a_crash() {
        let mut buf = [0u8; 8];
        assert_eq!(own().read(8, &mut buf), Err(Errno::EFAULT));
        assert_eq!(own().write(8, &buf), Err(Errno::EFAULT));
        // A string literal lives in read-only memory.
        static RODATA: &[u8] = b"constant bytes";
        assert_eq!(
            own().write(RODATA.as_ptr() as u64, b"x"),
            Err(Errno::EFAULT)
        );
        assert_eq!(RODATA, b"constant bytes");
        // Nothing to copy is fine anywhere.
        own().read(8, &mut []).unwrap();
    }
}
