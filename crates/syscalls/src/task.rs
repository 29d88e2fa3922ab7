//! The calling task: who it is, its memory, and its address space's attachments.

use sysvipc::{AttachTable, Caller, Errno};

use crate::memory::{Plain, UserMemory, bytes_of, bytes_of_mut};

/// Everything a call needs to know about the task making it.
///
/// `caller` carries the credentials, the pid and tid, the blocker (how the task sleeps and is
/// interrupted by signals) and the `SEM_UNDO` list; `attach` is the task's address space
/// (`mm`): the segments attached in it, shared by its threads, copied at fork, cleared at
/// exit. Copies to and from user memory go to the attachments where they cover the address
/// and to `memory` everywhere else, so a guest that passes a buffer inside a segment reads
/// and writes the segment, as on Linux.
pub struct Task<'a> {
    /// The caller's identity, blocker and undo list.
    pub caller: &'a Caller,
    /// The caller's memory outside attached segments.
    pub memory: &'a dyn UserMemory,
    /// The caller's address space: its attached segments.
    pub attach: &'a mut AttachTable,
}

impl<'a> Task<'a> {
    /// A task from its parts.
    pub fn new(
        caller: &'a Caller,
        memory: &'a dyn UserMemory,
        attach: &'a mut AttachTable,
    ) -> Self {
        Self {
            caller,
            memory,
            attach,
        }
    }

    /// `copy_from_user`: `buf.len()` bytes at `addr` (`EFAULT` where not readable).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.pieces(addr, buf.len(), |attached, at, range| {
            let part = &mut buf[range];
            if attached {
                self.attach.read(at as usize, part)
            } else {
                self.memory.read(at, part)
            }
        })
    }

    /// `copy_to_user`: `data` to `addr` (`EFAULT` where not writable; a prefix may have been
    /// written, as in the kernel).
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.store(addr, data, |m, at, part| m.write(at, part))
    }

    /// `put_user`: one scalar (a message type, an address) to `addr`, all or nothing.
    ///
    /// Inside one attachment or outside all of them this is exact; a scalar that straddles
    /// an attachment's edge is stored piece by piece, each piece all or nothing.
    pub fn put(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.store(addr, data, |m, at, part| m.put(at, part))
    }

    /// Stores `data` at `addr`: through the attach table inside attachments (each piece all
    /// or nothing), with `to_memory` elsewhere.
    fn store(
        &self,
        addr: u64,
        data: &[u8],
        to_memory: impl Fn(&dyn UserMemory, u64, &[u8]) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        self.pieces(addr, data.len(), |attached, at, range| {
            let part = &data[range];
            if attached {
                self.attach.write(at as usize, part)
            } else {
                to_memory(self.memory, at, part)
            }
        })
    }

    /// Splits `addr..addr + len` where attachments begin and end, and runs `f(attached,
    /// address, range in the buffer)` on each piece in order.
    fn pieces(
        &self,
        addr: u64,
        len: usize,
        mut f: impl FnMut(bool, u64, std::ops::Range<usize>) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut at = addr;
        while at < end {
            let (attached, until) = match usize::try_from(at).ok().and_then(|a| self.attach.find(a))
            {
                Some(m) => (true, m.end() as u64),
                None => {
                    let next = self
                        .attach
                        .mappings()
                        .map(|m| m.start() as u64)
                        .find(|s| *s > at)
                        .unwrap_or(u64::MAX);
                    (false, next)
                }
            };
            let stop = until.min(end);
            f(attached, at, (at - addr) as usize..(stop - addr) as usize)?;
            at = stop;
        }
        Ok(())
    }

    /// Reads a structure at `addr`.
    pub(crate) fn read_plain<T: Plain>(&self, addr: u64) -> Result<T, Errno> {
        let mut value = T::default();
        self.read(addr, bytes_of_mut(&mut value))?;
        Ok(value)
    }

    /// Writes a structure to `addr`.
    pub(crate) fn write_plain<T: Plain>(&self, addr: u64, value: &T) -> Result<(), Errno> {
        self.write(addr, bytes_of(value))
    }
}

impl std::fmt::Debug for Task<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("caller", self.caller)
            .field("attach", self.attach)
            .finish_non_exhaustive()
    }
}
