//! Address spaces: where segments are attached, and what each mapping holds.
//!
//! An [`AttachTable`] is one process's view of its attachments, as its `mm` is Linux's: a set
//! of non-overlapping [`Mapping`]s ordered by address. Each mapping is one VMA of a shm file
//! and holds one count of its segment's `shm_nattch`, exactly as Linux counts: `shmat` makes
//! one, a fork copies each ([`AttachTable::fork`]), splitting one in two (a partial
//! [`unmap`](AttachTable::unmap) or [`protect`](AttachTable::protect)) makes one more, and
//! dropping one (`shmdt`, unmap, exit) runs the close hook that may destroy the segment.
//!
//! The table is bookkeeping only: an embedder with a real address space maps what a mapping
//! describes (memory, offset, length, protection); others access the bytes through
//! [`AttachTable::read`] and [`AttachTable::write`], which honour the protection as a fault
//! would (`EFAULT`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::ShmIds;
use super::memory::Memory;
use super::segment::Segment;
use crate::Errno;
use crate::abi;

bitflags::bitflags! {
    /// A mapping's protection (`PROT_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Protection: u32 {
        /// `PROT_READ`.
        const READ = 1;
        /// `PROT_WRITE`: not on a `SHM_RDONLY` attachment.
        const WRITE = 2;
        /// `PROT_EXEC`.
        const EXEC = 4;
    }
}

const PAGE: usize = abi::PAGE_SIZE as usize;

/// x86-64's `TASK_SIZE`: the end of a process's address space (47-bit, minus a guard page).
pub const TASK_SIZE: usize = 0x7fff_ffff_f000;

/// x86-64's default `mmap_min_addr`: the lowest address a free placement chooses.
pub const MMAP_MIN_ADDR: usize = 0x1_0000;

/// One mapping of a segment: an attachment, a fork's copy of one, or a fragment of one.
/// Dropping it is the close hook (`shm_close`): `shm_lpid`, `shm_dtime`, one count fewer, and
/// the segment's destruction if it is removed (or `shm_rmid_forced`) and this was the last.
pub struct Mapping {
    ids: Arc<ShmIds>,
    segment: Arc<Segment>,
    memory: Arc<dyn Memory>,
    start: usize,
    len: usize,
    offset: u64,
    prot: Protection,
    /// The most `protect` may grant: write only if attached read-write.
    max_prot: Protection,
    /// Which `shmat` this mapping comes from.
    attach: u64,
    /// The process whose address space holds it: recorded by its close.
    owner: i32,
}

impl Mapping {
    pub(super) fn new(
        ids: Arc<ShmIds>,
        segment: Arc<Segment>,
        memory: Arc<dyn Memory>,
        start: usize,
        prot: Protection,
        attach: u64,
        owner: i32,
    ) -> Self {
        let len = segment.map_len() as usize;
        let max_prot = if prot.contains(Protection::WRITE) {
            Protection::all()
        } else {
            Protection::READ | Protection::EXEC
        };
        Self {
            ids,
            segment,
            memory,
            start,
            len,
            offset: 0,
            prot,
            max_prot,
            attach,
            owner,
        }
    }

    /// The first address.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The length in bytes (a multiple of the page size).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One past the last address.
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    /// Where in the segment's memory the mapping begins.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The protection to map it with.
    pub fn protection(&self) -> Protection {
        self.prot
    }

    /// The segment's memory: what to map (or read and write).
    pub fn memory(&self) -> &Arc<dyn Memory> {
        &self.memory
    }

    /// The segment.
    pub fn segment(&self) -> &Arc<Segment> {
        &self.segment
    }

    /// A copy of this mapping for `owner`'s address space, opened by process `pid`
    /// (`shm_open`: a count more, `shm_atime` and `shm_lpid` stamped).
    fn duplicate(&self, pid: i32, owner: i32) -> Self {
        self.segment.open(pid, self.ids.ns.clock.realtime());
        Self {
            ids: Arc::clone(&self.ids),
            segment: Arc::clone(&self.segment),
            memory: Arc::clone(&self.memory),
            start: self.start,
            len: self.len,
            offset: self.offset,
            prot: self.prot,
            max_prot: self.max_prot,
            attach: self.attach,
            owner,
        }
    }

    /// Splits the mapping at `at` (strictly inside it): `self` keeps the lower part and the
    /// upper part is returned as a new mapping (`__split_vma` opens it).
    fn split_off(&mut self, at: usize) -> Self {
        let mut upper = self.duplicate(self.owner, self.owner);
        let lower_len = at - self.start;
        upper.start = at;
        upper.len = self.len - lower_len;
        upper.offset = self.offset + lower_len as u64;
        self.len = lower_len;
        upper
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let now = self.ids.ns.clock.realtime();
        if let Some(memory) = self.segment.close(Some((self.owner, now))) {
            self.ids.destroy(&self.segment, memory);
        }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("start", &format_args!("{:#x}", self.start))
            .field("len", &self.len)
            .field("offset", &self.offset)
            .field("prot", &self.prot)
            .field("segment", &self.segment.id())
            .finish()
    }
}

/// The rest of an address space: what an embedder's process maps besides its attachments.
///
/// `shmat` at a fixed address fails with `EINVAL` when the range overlaps any mapping
/// (`find_vma_intersection` in `do_shmat`) unless `SHM_REMAP` is given; the attach table
/// knows its own attachments and asks this for everything else. Free placements stay inside
/// the table's window, which the embedder keeps for attachments.
pub trait AddressSpace: Send + Sync {
    /// Whether anything other than an attachment is mapped in `addr..addr + len`.
    fn is_mapped(&self, addr: usize, len: usize) -> bool;
}

/// The shm mappings of one address space (a process), by address.
///
/// Free placements (`shmat` with a null address) go top-down from the end of the placement
/// window, as Linux's `mmap` does; fixed ones anywhere below the task size ([`TASK_SIZE`]
/// unless [`with_task_size`](Self::with_task_size) says less). Dropping the
/// table (or [`clear`](Self::clear)ing it) is the process's exit: every mapping closes.
pub struct AttachTable {
    pid: i32,
    low: usize,
    high: usize,
    /// The end of the address space: no mapping reaches past it.
    task_size: usize,
    mappings: BTreeMap<usize, Mapping>,
    /// The process's other mappings, if the embedder tells them.
    space: Option<Arc<dyn AddressSpace>>,
}

impl AttachTable {
    /// An empty address space of process `pid`, placing free attachments in
    /// `MMAP_MIN_ADDR..TASK_SIZE`.
    pub fn new(pid: i32) -> Self {
        Self::with_window(pid, MMAP_MIN_ADDR, TASK_SIZE)
    }

    /// An empty address space of process `pid` that places free attachments in
    /// `low..high` (both rounded to pages): for an embedder that reserved that range.
    pub fn with_window(pid: i32, low: usize, high: usize) -> Self {
        Self {
            pid,
            low: low.next_multiple_of(PAGE),
            high: high.min(TASK_SIZE) & !(PAGE - 1),
            task_size: TASK_SIZE,
            mappings: BTreeMap::new(),
            space: None,
        }
    }

    /// This table, consulting `space` for the mappings that are not attachments (a fixed
    /// attach over one is `EINVAL` without `SHM_REMAP`).
    pub fn with_address_space(mut self, space: Arc<dyn AddressSpace>) -> Self {
        self.space = Some(space);
        self
    }

    /// This table for a smaller address space, ending at `size` (rounded down to pages):
    /// a fixed attachment past it is `ENOMEM`, and the placement window is cut to it. A
    /// 32-bit task under x86-64 ends at `0xffff_e000` (`IA32_PAGE_OFFSET`).
    pub fn with_task_size(mut self, size: usize) -> Self {
        self.task_size = size.min(TASK_SIZE) & !(PAGE - 1);
        self.high = self.high.min(self.task_size);
        self
    }

    /// Replaces what the table consults for the other mappings (`None`: nothing else is
    /// mapped), as after a fork gives the child an address space of its own.
    pub fn set_address_space(&mut self, space: Option<Arc<dyn AddressSpace>>) {
        self.space = space;
    }

    /// The process whose address space this is.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How many mappings there are (each holds one `shm_nattch` count).
    pub fn len(&self) -> usize {
        self.mappings.len()
    }

    /// Whether nothing is attached.
    pub fn is_empty(&self) -> bool {
        self.mappings.is_empty()
    }

    /// The mappings in address order.
    pub fn mappings(&self) -> impl Iterator<Item = &Mapping> {
        self.mappings.values()
    }

    /// The mapping that contains `addr`.
    pub fn find(&self, addr: usize) -> Option<&Mapping> {
        let (_, m) = self.mappings.range(..=addr).next_back()?;
        (addr < m.end()).then_some(m)
    }

    /// The address space of a child forked by this process (`dup_mmap`): a copy of every
    /// mapping, each opened by this process (`shm_lpid` is the parent's), closed by the
    /// child. It consults the same [`AddressSpace`] until given its own.
    pub fn fork(&self, child_pid: i32) -> AttachTable {
        AttachTable {
            pid: child_pid,
            low: self.low,
            high: self.high,
            task_size: self.task_size,
            space: self.space.clone(),
            mappings: self
                .mappings
                .iter()
                .map(|(a, m)| (*a, m.duplicate(self.pid, child_pid)))
                .collect(),
        }
    }

    /// Closes every mapping, as the process's exit or `execve` does.
    pub fn clear(&mut self) {
        while let Some((_, m)) = self.mappings.pop_first() {
            drop(m);
        }
    }

    /// `munmap(addr, len)` over the shm mappings: the mappings wholly inside the range close,
    /// and those it cuts are split first (each split opens one more). `EINVAL` for an address
    /// not page-aligned, an empty range or one that wraps around.
    pub fn unmap(&mut self, addr: usize, len: usize) -> Result<(), Errno> {
        let end = checked_range(addr, len)?;
        self.split_at(addr);
        self.split_at(end);
        let inside: Vec<usize> = self.mappings.range(addr..end).map(|(a, _)| *a).collect();
        for a in inside {
            self.mappings.remove(&a);
        }
        Ok(())
    }

    /// `mprotect(addr, len, prot)` over the shm mappings: `ENOMEM` unless the range is
    /// wholly mapped, `EACCES` for write access to a read-only attachment; otherwise the
    /// mappings it cuts are split (each split opens one more) and take `prot`.
    pub fn protect(&mut self, addr: usize, len: usize, prot: Protection) -> Result<(), Errno> {
        let end = checked_range(addr, len)?;
        let mut at = addr;
        while at < end {
            let m = self.find(at).ok_or(Errno::ENOMEM)?;
            if !m.max_prot.contains(prot) {
                return Err(Errno::EACCES);
            }
            at = m.end();
        }
        self.split_at(addr);
        self.split_at(end);
        for m in self.mappings.range_mut(addr..end).map(|(_, m)| m) {
            m.prot = prot;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes at `addr` through readable mappings (`EFAULT` if any byte is
    /// not mapped readable).
    pub fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), Errno> {
        let len = buf.len();
        self.each_piece(addr, len, Protection::READ, |m, offset, done, n| {
            m.memory.read_at(offset, &mut buf[done..done + n])
        })
    }

    /// Writes `data` at `addr` through writable mappings (`EFAULT` if any byte is not mapped
    /// writable; nothing is written then).
    pub fn write(&self, addr: usize, data: &[u8]) -> Result<(), Errno> {
        self.each_piece(addr, data.len(), Protection::WRITE, |_, _, _, _| Ok(()))?;
        self.each_piece(addr, data.len(), Protection::WRITE, |m, offset, done, n| {
            m.memory.write_at(offset, &data[done..done + n])
        })
    }

    /// Runs `f(mapping, offset in memory, offset in buffer, length)` over the mappings that
    /// cover `addr..addr + len`, all of which must allow `need`.
    fn each_piece(
        &self,
        addr: usize,
        len: usize,
        need: Protection,
        mut f: impl FnMut(&Mapping, u64, usize, usize) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len).ok_or(Errno::EFAULT)?;
        let mut at = addr;
        while at < end {
            let m = self.find(at).ok_or(Errno::EFAULT)?;
            if !m.prot.contains(need) {
                return Err(Errno::EFAULT);
            }
            let n = m.end().min(end) - at;
            f(m, m.offset + (at - m.start) as u64, at - addr, n)?;
            at += n;
        }
        Ok(())
    }

    /// `ksys_shmdt`: finds the first mapping at or after `addr` that starts where its
    /// attachment would have been mapped at `addr`, unmaps it, then every later fragment of
    /// the same attachment that ends within the segment's size of `addr`.
    pub(super) fn detach(&mut self, addr: usize) -> Result<(), Errno> {
        if addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let first = self
            .mappings
            .range(addr..)
            .find(|(start, m)| (*start - addr) as u64 == m.offset)
            .map(|(start, m)| (*start, m.attach, m.segment.map_len()));
        let Some((start, attach, size)) = first else {
            return Err(Errno::EINVAL);
        };
        self.mappings.remove(&start);
        let fragments: Vec<usize> = self
            .mappings
            .range(start..)
            .take_while(|(_, m)| (m.end() - addr) as u64 <= size)
            .filter(|(s, m)| m.attach == attach && (**s - addr) as u64 == m.offset)
            .map(|(s, _)| *s)
            .collect();
        for s in fragments {
            self.mappings.remove(&s);
        }
        Ok(())
    }

    /// Where a fixed attachment of `len` bytes at `addr` goes: `EINVAL` if `addr` is not a
    /// multiple of `align` (a huge page), if the range wraps around or (without `replace`)
    /// overlaps a mapping, `ENOMEM` past the task size, `EPERM` below `lowest` (`mmap_min_addr`
    /// for a caller without `CAP_SYS_RAWIO`, `security_mmap_addr`); with `replace` the
    /// mappings in the way are unmapped first, as `MAP_FIXED` does.
    pub(super) fn place_fixed(
        &mut self,
        addr: usize,
        len: usize,
        align: usize,
        replace: bool,
        lowest: usize,
    ) -> Result<usize, Errno> {
        if addr % align != 0 {
            return Err(Errno::EINVAL);
        }
        if !replace {
            let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
            let elsewhere = self.space.as_ref().is_some_and(|s| s.is_mapped(addr, len));
            if self.overlaps(addr, end) || elsewhere {
                return Err(Errno::EINVAL);
            }
        }
        if len > self.task_size || addr > self.task_size - len {
            return Err(Errno::ENOMEM);
        }
        if addr < lowest {
            return Err(Errno::EPERM);
        }
        self.unmap(addr, len)?;
        Ok(addr)
    }

    /// The highest free, `align`-aligned range of `len` bytes in the placement window
    /// (`ENOMEM` if none).
    pub(super) fn place_free(&self, len: usize, align: usize) -> Result<usize, Errno> {
        // Gaps from the top down: below `top`, above the next mapping (or the window's floor).
        let floors = self
            .mappings
            .range(..self.high)
            .rev()
            .map(|(_, m)| (m.end(), m.start))
            .chain(std::iter::once((self.low, self.low)));
        let mut top = self.high;
        for (floor, next_top) in floors {
            let fits = top
                .checked_sub(len)
                .map(|start| start & !(align - 1))
                .filter(|start| *start >= floor.max(self.low));
            if let Some(start) = fits {
                return Ok(start);
            }
            top = top.min(next_top);
        }
        Err(Errno::ENOMEM)
    }

    /// Records a new mapping (its range is free).
    pub(super) fn insert(&mut self, mapping: Mapping) {
        self.mappings.insert(mapping.start, mapping);
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.mappings
            .range(..end)
            .next_back()
            .is_some_and(|(_, m)| m.end() > start)
    }

    /// Splits the mapping that strictly contains `at`, if any.
    fn split_at(&mut self, at: usize) {
        let Some((_, m)) = self.mappings.range_mut(..at).next_back() else {
            return;
        };
        if m.end() > at {
            let upper = m.split_off(at);
            self.mappings.insert(upper.start, upper);
        }
    }
}

/// `addr + len` for `munmap`/`mprotect`: `EINVAL` unless `addr` is page-aligned and the
/// range non-empty and below the end of the address space. The length is rounded up.
fn checked_range(addr: usize, len: usize) -> Result<usize, Errno> {
    if addr % PAGE != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_next_multiple_of(PAGE).ok_or(Errno::EINVAL)?;
    addr.checked_add(len).ok_or(Errno::EINVAL)
}

impl fmt::Debug for AttachTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachTable")
            .field("pid", &self.pid)
            .field("mappings", &self.mappings.values().collect::<Vec<_>>())
            .finish()
    }
}
