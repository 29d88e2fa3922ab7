//! The bytes of a segment: the [`Memory`] trait and its two backings.
//!
//! Linux backs a segment with a shmem file whose pages are allocated when first touched, so it
//! accepts segments far larger than the machine (a `SHM_NORESERVE` segment of 2^50 bytes is
//! fine until it is written). Both backings here do the same: [`HeapMemory`] keeps only the
//! pages touched so far, [`MemfdMemory`] is a sparse memfd that an embedder can `mmap` into a
//! real address space. A new segment reads as zeros either way.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::{RwLock, RwLockWriteGuard};

use crate::Errno;
use crate::abi;
use crate::ipc::Key;

/// The memory of one segment, shared by all its attachments.
///
/// Offsets are bytes from the start of the segment; an access that does not lie entirely in
/// `0..len()` fails with `EFAULT` and changes nothing.
pub trait Memory: Send + Sync + fmt::Debug {
    /// The length in bytes: the segment's size rounded up to whole pages.
    fn len(&self) -> u64;

    /// Whether the memory is empty (never, for a segment: sizes start at one page).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`. The pages read become resident, as
    /// the shmem pages a mapping faults in by reading them do (Linux counts them in
    /// `shm_rss`).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Errno>;

    /// Copies `data` to `offset`.
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Errno>;

    /// Pages that hold memory (`shm_rss`): those read or written so far.
    fn resident_pages(&self) -> u64;

    /// The file an embedder maps to see these bytes, if there is one.
    #[cfg(target_os = "linux")]
    fn as_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

/// Where new segments get their memory.
pub trait MemorySource: Send + Sync {
    /// Zero-filled memory of `len` bytes (a multiple of the page size) for the segment with
    /// `key`. Allocates nothing eagerly: `len` may be far larger than the machine.
    fn allocate(&self, key: Key, len: u64) -> Result<Arc<dyn Memory>, Errno>;
}

/// Checks that `offset..offset + count` lies in `0..len`.
fn check_range(len: u64, offset: u64, count: usize) -> Result<(), Errno> {
    match offset.checked_add(count as u64) {
        Some(end) if end <= len => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Heap memory: portable and deterministic, one page-sized allocation per page touched.
pub struct HeapMemory {
    len: u64,
    pages: RwLock<HashMap<u64, Box<[u8]>>>,
}

impl HeapMemory {
    /// `len` bytes of zeros, none of them allocated yet.
    pub fn new(len: u64) -> Self {
        Self {
            len,
            pages: RwLock::new(HashMap::new()),
        }
    }
}

/// A page of zeros.
fn zero_page() -> Box<[u8]> {
    vec![0; abi::PAGE_SIZE as usize].into_boxed_slice()
}

/// Splits `offset..offset + count` into per-page pieces: (page, offset in page, length).
fn pieces(offset: u64, count: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let page = abi::PAGE_SIZE;
    let mut at = offset;
    let end = offset + count as u64;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let within = at % page;
        let n = (page - within).min(end - at);
        let piece = (at / page, within as usize, n as usize);
        at += n;
        Some(piece)
    })
}

impl Memory for HeapMemory {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Errno> {
        check_range(self.len, offset, buf.len())?;
        let mut pages = self.pages.read();
        if pieces(offset, buf.len()).any(|(page, _, _)| !pages.contains_key(&page)) {
            // A page read for the first time becomes resident (zeros), as Linux faults it in.
            drop(pages);
            let mut all = self.pages.write();
            for (page, _, _) in pieces(offset, buf.len()) {
                all.entry(page).or_insert_with(zero_page);
            }
            pages = RwLockWriteGuard::downgrade(all);
        }
        let mut done = 0;
        for (page, within, n) in pieces(offset, buf.len()) {
            let out = &mut buf[done..done + n];
            match pages.get(&page) {
                Some(bytes) => out.copy_from_slice(&bytes[within..within + n]),
                None => out.fill(0),
            }
            done += n;
        }
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Errno> {
        check_range(self.len, offset, data.len())?;
        let mut pages = self.pages.write();
        let mut done = 0;
        for (page, within, n) in pieces(offset, data.len()) {
            let bytes = pages.entry(page).or_insert_with(zero_page);
            bytes[within..within + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    fn resident_pages(&self) -> u64 {
        self.pages.read().len() as u64
    }
}

impl fmt::Debug for HeapMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeapMemory")
            .field("len", &self.len)
            .field("resident_pages", &self.resident_pages())
            .finish()
    }
}

/// Segments in [`HeapMemory`]: the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapSource;

impl MemorySource for HeapSource {
    fn allocate(&self, _key: Key, len: u64) -> Result<Arc<dyn Memory>, Errno> {
        Ok(Arc::new(HeapMemory::new(len)))
    }
}

#[cfg(target_os = "linux")]
pub use memfd::{MemfdMemory, MemfdSource};

#[cfg(target_os = "linux")]
mod memfd {
    use std::fmt;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::sync::Arc;

    use rustix::fs::{FallocateFlags, MemfdFlags, fallocate, fstat, ftruncate, memfd_create};
    use rustix::io::{pread, pwrite};

    use super::{Memory, MemorySource, check_range};
    use crate::Errno;
    use crate::abi;
    use crate::ipc::Key;

    /// A sparse memfd named `SYSV<key>` as Linux names a segment's file: pages are allocated
    /// by the kernel when first touched, and an embedder can `mmap` [`as_fd`](Memory::as_fd)
    /// `MAP_SHARED` to give a guest the very same bytes.
    pub struct MemfdMemory {
        len: u64,
        fd: OwnedFd,
    }

    impl MemfdMemory {
        /// A memfd of `len` bytes of zeros (`ENOMEM`, `EMFILE` and the like from the kernel).
        pub fn new(key: Key, len: u64) -> Result<Self, Errno> {
            let name = format!("SYSV{:08x}", key.0 as u32);
            let fd = memfd_create(name.as_str(), MemfdFlags::CLOEXEC).map_err(to_errno)?;
            ftruncate(&fd, len).map_err(to_errno)?;
            Ok(Self { len, fd })
        }
    }

    fn to_errno(e: rustix::io::Errno) -> Errno {
        Errno::from_raw(e.raw_os_error())
    }

    impl Memory for MemfdMemory {
        fn len(&self) -> u64 {
            self.len
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Errno> {
            check_range(self.len, offset, buf.len())?;
            if buf.is_empty() {
                return Ok(());
            }
            // `pread` of a hole allocates nothing, where a mapping's read fault would: allocate
            // the pages read, as the fault does.
            let page = abi::PAGE_SIZE;
            let start = offset / page * page;
            let end = (offset + buf.len() as u64).div_ceil(page) * page;
            fallocate(&self.fd, FallocateFlags::KEEP_SIZE, start, end - start).map_err(to_errno)?;
            let mut done = 0;
            while done < buf.len() {
                let n =
                    pread(&self.fd, &mut buf[done..], offset + done as u64).map_err(to_errno)?;
                if n == 0 {
                    // Cannot happen below the file's length; fail rather than spin.
                    return Err(Errno::EIO);
                }
                done += n;
            }
            Ok(())
        }

        fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Errno> {
            check_range(self.len, offset, data.len())?;
            let mut done = 0;
            while done < data.len() {
                let n = pwrite(&self.fd, &data[done..], offset + done as u64).map_err(to_errno)?;
                if n == 0 {
                    return Err(Errno::EIO);
                }
                done += n;
            }
            Ok(())
        }

        fn resident_pages(&self) -> u64 {
            fstat(&self.fd).map_or(0, |st| st.st_blocks as u64 * 512 / abi::PAGE_SIZE)
        }

        fn as_fd(&self) -> Option<BorrowedFd<'_>> {
            Some(self.fd.as_fd())
        }
    }

    impl fmt::Debug for MemfdMemory {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("MemfdMemory")
                .field("len", &self.len)
                .field("fd", &self.fd)
                .finish()
        }
    }

    /// Segments in [`MemfdMemory`], for embedders that map them.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct MemfdSource;

    impl MemorySource for MemfdSource {
        fn allocate(&self, key: Key, len: u64) -> Result<Arc<dyn Memory>, Errno> {
            Ok(Arc::new(MemfdMemory::new(key, len)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<Arc<dyn MemorySource>> {
        let mut v: Vec<Arc<dyn MemorySource>> = vec![Arc::new(HeapSource)];
        #[cfg(target_os = "linux")]
        v.push(Arc::new(MemfdSource));
        v
    }

    #[test]
    fn new_memory_holds_nothing_and_the_pages_read_become_resident_zeros() {
        for src in sources() {
            let m = src.allocate(Key(1), 3 * abi::PAGE_SIZE).unwrap();
            assert_eq!(m.resident_pages(), 0, "{m:?}");
            let mut buf = [0xffu8; 100];
            m.read_at(abi::PAGE_SIZE - 50, &mut buf).unwrap();
            assert_eq!(buf, [0; 100]);
            // As a mapping's read faults fault shmem pages in: the two pages read.
            assert_eq!(m.resident_pages(), 2, "{m:?}");
            m.read_at(abi::PAGE_SIZE, &mut buf).unwrap();
            assert_eq!(m.resident_pages(), 2, "{m:?}");
        }
    }

    #[test]
    fn writes_across_a_page_boundary_read_back_and_count_both_pages() {
        for src in sources() {
            let m = src.allocate(Key(1), 3 * abi::PAGE_SIZE).unwrap();
            let data: Vec<u8> = (0..200).map(|i| i as u8).collect();
            m.write_at(abi::PAGE_SIZE - 100, &data).unwrap();
            let mut back = vec![0; 200];
            m.read_at(abi::PAGE_SIZE - 100, &mut back).unwrap();
            assert_eq!(back, data);
            assert_eq!(m.resident_pages(), 2, "{m:?}");
        }
    }

    #[test]
    fn access_past_the_end_is_efault_and_writes_nothing() {
        for src in sources() {
            let m = src.allocate(Key(1), abi::PAGE_SIZE).unwrap();
            assert_eq!(m.write_at(abi::PAGE_SIZE - 1, &[1, 2]), Err(Errno::EFAULT));
            assert_eq!(m.write_at(u64::MAX, &[1]), Err(Errno::EFAULT));
            assert_eq!(m.read_at(abi::PAGE_SIZE, &mut [0]), Err(Errno::EFAULT));
            assert_eq!(m.resident_pages(), 0);
            m.read_at(abi::PAGE_SIZE, &mut []).unwrap();
        }
    }

    #[test]
    fn huge_sparse_memory_costs_only_what_is_written() {
        for src in sources() {
            let m = src.allocate(Key(0), 1 << 50).unwrap();
            m.write_at((1 << 50) - 1, &[7]).unwrap();
            let mut b = [0];
            m.read_at((1 << 50) - 1, &mut b).unwrap();
            assert_eq!((b[0], m.resident_pages()), (7, 1));
        }
    }
}
