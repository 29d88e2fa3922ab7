//! Reading and writing the memory of an attachment made by shmat(2) in this process.
//!
//! The namespace thread, the threads it spawns and the test share one address space, so the
//! address [`HostNamespace::shmat`](crate::HostNamespace::shmat) returns is usable anywhere in
//! the process. The accesses are volatile, byte by byte: the same bytes may be reached through
//! another attachment of the segment, or changed by a child process, at any time.

/// Copies `len` bytes starting at `addr` out of this process's memory, e.g. out of an
/// attachment returned by [`HostNamespace::shmat`](crate::HostNamespace::shmat). A `len` of 0
/// reads nothing (`addr` is not used).
///
/// # Safety
///
/// `[addr, addr + len)` must be mapped readable in this process for the whole call, e.g. lie
/// within an attachment (`PAGE_ALIGN(shm_segsz)` bytes from its address) that no thread
/// detaches meanwhile. Reading past the mapping, or from one that is gone, crashes the process
/// (SIGSEGV) or reads unrelated memory.
pub unsafe fn read_mem(addr: usize, len: usize) -> Vec<u8> {
    let src = std::ptr::with_exposed_provenance::<u8>(addr);
    (0..len)
        // SAFETY: the caller guarantees that every byte of the range is mapped readable;
        // volatile, because other mappings or processes may change it meanwhile.
        .map(|i| unsafe { src.add(i).read_volatile() })
        .collect()
}

/// Copies `bytes` into this process's memory starting at `addr`, e.g. into an attachment
/// returned by [`HostNamespace::shmat`](crate::HostNamespace::shmat) (without SHM_RDONLY).
/// Empty `bytes` write nothing.
///
/// # Safety
///
/// `[addr, addr + bytes.len())` must be mapped writable in this process for the whole call
/// (an attachment made without SHM_RDONLY, not detached meanwhile) and must not hold memory
/// that anything else in the process uses as its own (Rust values, the allocator's memory):
/// only shared-memory attachments, whose bytes nothing in this crate reads except through
/// these functions. Writing to a read-only attachment crashes the process (SIGSEGV).
pub unsafe fn write_mem(addr: usize, bytes: &[u8]) {
    let dst = std::ptr::with_exposed_provenance_mut::<u8>(addr);
    for (i, &b) in bytes.iter().enumerate() {
        // SAFETY: the caller guarantees that the range is mapped writable and that no one
        // else owns it; volatile, because other mappings or processes may read it meanwhile.
        unsafe { dst.add(i).write_volatile(b) };
    }
}
