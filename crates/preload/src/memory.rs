//! The program's memory as the syscall layer sees it.

use sysvipc::Errno;
use sysvipc::abi;
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

    /// `put_user`: nothing written if any byte faults. A page is writable or not as a whole,
    /// so the pages after the first are proven writable before anything changes, each by
    /// writing its own bytes back; then one copy writes it all.
    fn put(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let end = addr.checked_add(data.len() as u64).ok_or(Errno::EFAULT)?;
        let page = abi::PAGE_SIZE;
        let mut at = (addr / page + 1) * page;
        while at < end {
            let len = (end - at).min(page) as usize;
            let mut current = vec![0; len];
            sys::read_own(self.0, at, &mut current)?;
            sys::write_own(self.0, at, &current)?;
            at += page;
        }
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
    fn a_put_across_into_a_read_only_page_writes_nothing() {
        use sysvipc::Key;
        use sysvipc::shm::{MemfdSource, MemorySource};
        let page = abi::PAGE_SIZE as usize;
        // Two pages of a memfd: the first mapped writable, the second read-only.
        let memory = MemfdSource.allocate(Key(0), 2 * page as u64).unwrap();
        let fd = memory.as_fd().unwrap();
        let base = sys::reserve(2 * page).unwrap();
        sys::map_shared(base, page, libc::PROT_READ | libc::PROT_WRITE, fd, 0).unwrap();
        sys::map_shared(base + page, page, libc::PROT_READ, fd, page as u64).unwrap();
        let edge = (base + page - 4) as u64;
        assert_eq!(own().put(edge, &[7; 8]), Err(Errno::EFAULT));
        let mut back = [1u8; 8];
        own().read(edge, &mut back).unwrap();
        assert_eq!(back, [0; 8], "nothing written");
        // `write` is copy_to_user: the bytes before the fault are written.
        assert_eq!(own().write(edge, &[7; 8]), Err(Errno::EFAULT));
        own().read(edge, &mut back).unwrap();
        assert_eq!(back, [7, 7, 7, 7, 0, 0, 0, 0]);
        // Within one writable page, a put is a plain store.
        own().put(edge - 8, &[9; 8]).unwrap();
        own().read(edge - 8, &mut back).unwrap();
        assert_eq!(back, [9; 8]);
        sys::unmap(base, 2 * page);
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
