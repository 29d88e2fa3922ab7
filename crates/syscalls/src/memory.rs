//! Guest memory: the [`UserMemory`] trait every copy goes through, a heap-backed
//! implementation for tests, and the byte views of the ABI structures.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use sysvipc::Errno;
use sysvipc::abi;

/// The caller's memory, as `copy_from_user` / `copy_to_user` / `put_user` see it.
///
/// An address range that is not (entirely) accessible gives `EFAULT`.
pub trait UserMemory {
    /// Copies `buf.len()` bytes at `addr` into `buf`.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;

    /// Copies `data` to `addr` (`copy_to_user`). As in the kernel, a write that faults
    /// part-way leaves the bytes before the fault written.
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno>;

    /// Stores one scalar, a message type or an address (`put_user`): a single store, so
    /// nothing is written if any byte of it faults.
    ///
    /// The default writes through [`write`](Self::write), which is exact unless the scalar
    /// straddles the end of what is writable; memory that can fault in the middle of a
    /// scalar overrides it.
    fn put(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.write(addr, data)
    }
}

/// Plain memory regions on the heap: what a test hands the syscall layer as guest memory.
/// Regions are mapped read-write or read-only; everything else faults.
#[derive(Debug, Default)]
pub struct HeapUserMemory {
    regions: Mutex<BTreeMap<u64, Region>>,
}

#[derive(Debug)]
struct Region {
    bytes: Vec<u8>,
    writable: bool,
}

impl HeapUserMemory {
    /// No memory at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `len` zero bytes at `addr`, writable; replaces any region starting there.
    pub fn map(&self, addr: u64, len: usize) {
        self.map_bytes(addr, &vec![0; len], true);
    }

    /// Maps a copy of `bytes` at `addr`, writable or not.
    pub fn map_bytes(&self, addr: u64, bytes: &[u8], writable: bool) {
        self.regions.lock().insert(
            addr,
            Region {
                bytes: bytes.to_vec(),
                writable,
            },
        );
    }

    /// Unmaps the region starting at `addr`.
    pub fn unmap(&self, addr: u64) {
        self.regions.lock().remove(&addr);
    }

    /// A copy of `len` bytes at `addr` (`EFAULT` if unmapped).
    pub fn bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0; len];
        self.read(addr, &mut buf)?;
        Ok(buf)
    }

    /// Runs `f` on each region piece covering `addr..addr + len`, in order, up to the first
    /// byte that is not mapped (or not writable, for a write): `EFAULT` there, after the
    /// pieces before it, as `copy_to_user` leaves the bytes before a fault written.
    fn each(
        &self,
        addr: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(&mut Vec<u8>, usize, usize, usize),
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut regions = self.regions.lock();
        let mut at = addr;
        while at < end {
            let (start, r) = regions.range_mut(..=at).next_back().ok_or(Errno::EFAULT)?;
            let within = (at - start) as usize;
            if within >= r.bytes.len() || (write && !r.writable) {
                return Err(Errno::EFAULT);
            }
            let n = (r.bytes.len() - within).min((end - at) as usize);
            f(&mut r.bytes, within, (at - addr) as usize, n);
            at += n as u64;
        }
        Ok(())
    }
}

impl UserMemory for HeapUserMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.each(addr, buf.len(), false, |bytes, within, done, n| {
            buf[done..done + n].copy_from_slice(&bytes[within..within + n]);
        })
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.each(addr, data.len(), true, |bytes, within, done, n| {
            bytes[within..within + n].copy_from_slice(&data[done..done + n]);
        })
    }

    fn put(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        // Nothing is written unless all of it can be: a dry run first.
        self.each(addr, data.len(), true, |_, _, _, _| {})?;
        self.write(addr, data)
    }
}

/// A `struct __kernel_timespec` as `semtimedop` reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelTimespec {
    /// `tv_sec`.
    pub tv_sec: i64,
    /// `tv_nsec`.
    pub tv_nsec: i64,
}

/// `struct ipc_kludge`: what `ipc(MSGRCV)` version 0 reads from `ptr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpcKludge {
    /// The `msgbuf` to receive into.
    pub msgp: u64,
    /// The `msgtyp` argument.
    pub msgtyp: i64,
}

/// Structures whose every byte is a field and every bit pattern a valid value, so they can be
/// copied to and from guest memory as bytes.
///
/// # Safety
///
/// Implement only for `#[repr(C)]` types made of integers, with no implicit padding (the
/// abi crate's `assert_layout!` checks that for its structures).
pub(crate) unsafe trait Plain: Copy + Default {}

// SAFETY: every type below is `#[repr(C)]`, made of integer fields only, and has no implicit
// padding (asserted by `assert_layout!` in sysvipc-abi, or evident for the two local ones).
unsafe impl Plain for abi::Msqid64Ds {}
// SAFETY: as above.
unsafe impl Plain for abi::Msginfo {}
// SAFETY: as above.
unsafe impl Plain for abi::Semid64Ds {}
// SAFETY: as above.
unsafe impl Plain for abi::Seminfo {}
// SAFETY: as above.
unsafe impl Plain for abi::Sembuf {}
// SAFETY: as above.
unsafe impl Plain for abi::Shmid64Ds {}
// SAFETY: as above.
unsafe impl Plain for abi::Shminfo64 {}
// SAFETY: as above.
unsafe impl Plain for abi::ShmInfo {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatIpc64Perm {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatMsqid64Ds {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatSemid64Ds {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatShmid64Ds {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatShminfo64 {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatShmInfo {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatIpcPerm {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatMsqidDs {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatSemidDs {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatShmidDs {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::OldShminfo {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::OldTimespec32 {}
// SAFETY: as above.
unsafe impl Plain for abi::compat::CompatIpcKludge {}
// SAFETY: two `i64`s, 16 bytes, no padding.
unsafe impl Plain for KernelTimespec {}
// SAFETY: a `u64` and an `i64`, 16 bytes, no padding.
unsafe impl Plain for IpcKludge {}

/// The bytes of `value`.
pub(crate) fn bytes_of<T: Plain>(value: &T) -> &[u8] {
    // SAFETY: `T: Plain` has no padding, so all `size_of::<T>()` bytes are initialised, and
    // the slice borrows `value` for its lifetime.
    unsafe {
        std::slice::from_raw_parts((value as *const T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

/// The bytes of `value`, writable.
pub(crate) fn bytes_of_mut<T: Plain>(value: &mut T) -> &mut [u8] {
    // SAFETY: as in `bytes_of`; and any bytes written make a valid `T`, whose fields are all
    // integers (`T: Plain`).
    unsafe {
        std::slice::from_raw_parts_mut((value as *mut T).cast::<u8>(), std::mem::size_of::<T>())
    }
}

/// The bytes of a slice of `T`, writable.
pub(crate) fn slice_bytes_mut<T: Plain>(values: &mut [T]) -> &mut [u8] {
    // SAFETY: as in `bytes_of_mut`, for `values.len()` consecutive values without padding
    // between them (the size of a `T` is a multiple of its alignment).
    unsafe {
        std::slice::from_raw_parts_mut(
            values.as_mut_ptr().cast::<u8>(),
            std::mem::size_of_val(values),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_span_adjacent_regions_and_fault_outside() {
        let m = HeapUserMemory::new();
        m.map(0x1000, 4);
        m.map(0x1004, 4);
        m.write(0x1002, b"abcd").unwrap();
        assert_eq!(m.bytes(0x1000, 8).unwrap(), b"\0\0abcd\0\0");
        assert_eq!(m.bytes(0xfff, 1), Err(Errno::EFAULT));
        assert_eq!(m.bytes(u64::MAX, 2), Err(Errno::EFAULT));
    }

    #[test]
    fn a_write_that_faults_part_way_leaves_the_prefix_and_a_put_writes_nothing() {
        let m = HeapUserMemory::new();
        m.map(0x1000, 8);
        // copy_to_user: the bytes before the fault are written.
        assert_eq!(m.write(0x1006, b"xyz"), Err(Errno::EFAULT));
        assert_eq!(m.bytes(0x1000, 8).unwrap(), b"\0\0\0\0\0\0xy");
        // put_user: one store, nothing written.
        assert_eq!(m.put(0x1004, &[7; 8]), Err(Errno::EFAULT));
        assert_eq!(m.bytes(0x1000, 8).unwrap(), b"\0\0\0\0\0\0xy");
        assert_eq!(m.put(0x1000, &[7; 8]), Ok(()));
        assert_eq!(m.bytes(0x1000, 8).unwrap(), [7; 8]);
    }

    #[test]
    fn read_only_regions_refuse_writes() {
        let m = HeapUserMemory::new();
        m.map_bytes(0x2000, b"ro", false);
        assert_eq!(m.write(0x2000, b"x"), Err(Errno::EFAULT));
        assert_eq!(m.bytes(0x2000, 2).unwrap(), b"ro");
    }

    #[test]
    fn plain_structures_round_trip_through_their_bytes() {
        let ds = abi::Sembuf {
            sem_num: 1,
            sem_op: -2,
            sem_flg: 0x1000,
        };
        let mut back = abi::Sembuf::default();
        bytes_of_mut(&mut back).copy_from_slice(bytes_of(&ds));
        assert_eq!(back, ds);
        assert_eq!(bytes_of(&ds), [1, 0, 0xfe, 0xff, 0, 0x10]);
    }
}
