//! Differential tests of shared memory: every call runs twice, on the host kernel (in a private
//! IPC namespace, through `sysvipc-host`) and on the emulation (`sysvipc::IpcNamespace` with one
//! `AttachTable`), and the two answers must agree — ids, return values, errno, `shmid64_ds`,
//! `shminfo64` and `shm_info` fields, and the bytes read through attachments. The host is the
//! oracle (DESIGN.md §2.2, §6.3); each test also pins what Linux answers, so a test name reads
//! as a rule of the ABI. The harness shared with `differential_msg.rs` and
//! `differential_sem.rs` is in `common/mod.rs`.
//!
//! What legitimately differs is normalised, never ignored:
//!
//! - **Pids.** Linux records the caller's process id (tgid) in `shm_cpid` and `shm_lpid`.
//!   Every host caller is a thread of this test process, so both are this process's pid,
//!   except for the children forked by `HostNamespace::fork`. The emulated callers all belong
//!   to one process (`EMU_PID`) with one address space (one `AttachTable`, as the host's
//!   threads share one `mm`); each forked child gets its own pid and table. Both sides map to
//!   [`Pid`].
//! - **Times.** `shm_atime`, `shm_dtime` and `shm_ctime` are compared as [`Stamp`]s (zero,
//!   unchanged or advanced since the previous stat of the same segment on the same side), as
//!   in the other differential tests.
//! - **Addresses.** The host maps attachments into this process; the emulation places them in
//!   its table. A free placement (null address) is compared by its page alignment only; a
//!   fixed address is used as given on both sides and must come back identical. Fixed
//!   addresses lie in a `PROT_NONE` reservation the pair makes for itself ([`Region`]) far below
//!   where the kernel places mappings, and a range is unmapped from it before a fixed attach
//!   without `SHM_REMAP` (`SHM_REMAP` there goes through `shmat_unchecked`).
//! - **Resident pages.** `shm_rss` is compared, on both sides, with the pages read or written
//!   through a mapping so far.
//! - **Limits.** The emulation's `shmmax`, `shmall`, `shmmni`, commit limit (RAM + swap pages),
//!   `hugetlb_shm_group` and its callers' `RLIMIT_MEMLOCK` are set to the host's at the start.
//!
//! Shared-memory calls never block, so nothing here waits for a sleeper; the only waits are for
//! a host thread to be gone from `/proc` (its `exit_shm` has run) and for a forked child to
//! exit, both polled, never slept on. Every test detaches on the host what it attached (the
//! pair's drop detaches what a failing test left, and unmaps the reservation). A test skips
//! (saying why) only where no private IPC namespace can be made.
#![cfg(target_os = "linux")]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{EMU_PID, Harness, Pid, Stamp, Who, XorShift, host_second, wait_for};
use sysvipc::abi::{
    self, IPC_64, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_PRIVATE, IPC_STAT, SHM_DEST, SHM_EXEC,
    SHM_HUGE_SHIFT, SHM_HUGETLB, SHM_INFO, SHM_LOCK, SHM_LOCKED, SHM_NORESERVE, SHM_RDONLY,
    SHM_REMAP, SHM_RND, SHM_STAT, SHM_STAT_ANY, SHM_UNLOCK, ShmInfo, Shmid64Ds, Shminfo64,
};
use sysvipc::{AttachTable, Caller, Errno, Id, Protection, ShmCtlCmd};
use sysvipc_host::{ChildStep, HostProcess, read_mem, write_mem};

/// SHM_LOCK charges on the host go to the callers' real uid, 0, whose account is shared by
/// every process of root on the machine: the tests that lock take turns, so that none of
/// them sees another's charge.
static LOCK_ACCOUNT: std::sync::Mutex<()> = std::sync::Mutex::new(());

const PAGE: usize = abi::PAGE_SIZE as usize;
const P: u64 = abi::PAGE_SIZE;
const RW: i32 = IPC_CREAT | 0o600;

// ---------------------------------------------------------------------------------------------
// Host facts read once per pair

/// `RLIMIT_MEMLOCK` of this process (`u64::MAX` = `RLIM_INFINITY`): what `SHM_LOCK` may lock
/// without CAP_IPC_LOCK on the host.
fn memlock_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit(2) to write.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) };
    assert_eq!(rc, 0, "getrlimit(RLIMIT_MEMLOCK)");
    limit.rlim_cur
}

/// RAM plus swap in pages: the most one segment may reserve under `vm.overcommit_memory = 0`
/// (`__vm_enough_memory`: `pages > totalram_pages() + total_swap_pages` → ENOMEM).
fn ram_and_swap_pages() -> u64 {
    let mut info = std::mem::MaybeUninit::<libc::sysinfo>::zeroed();
    // SAFETY: `info` points to writable memory of the size of `struct sysinfo`.
    let rc = unsafe { libc::sysinfo(info.as_mut_ptr()) };
    assert_eq!(rc, 0, "sysinfo");
    // SAFETY: sysinfo(2) succeeded and filled the structure (which started zeroed anyway).
    let info = unsafe { info.assume_init() };
    // `c_ulong` is narrower than u64 on 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let total = u64::from(info.totalram) + u64::from(info.totalswap);
    let unit = u64::from(info.mem_unit.max(1));
    total * unit / P
}

fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .trim()
        .to_owned()
}

/// `vm.overcommit_memory`: 0 (heuristic), 1 (always), 2 (strict).
fn overcommit_memory() -> String {
    read_proc("/proc/sys/vm/overcommit_memory")
}

/// Free huge pages of the default size that a new reservation could take.
fn free_huge_pages() -> u64 {
    let meminfo = read_proc("/proc/meminfo");
    let field = |name: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    field("HugePages_Free:").saturating_sub(field("HugePages_Rsvd:"))
}

/// The permissions column of the `/proc/self/maps` line of the mapping that starts at `addr`.
fn host_perms(addr: usize) -> Option<String> {
    let maps = read_proc("/proc/self/maps");
    maps.lines().find_map(|line| {
        let (range, rest) = line.split_once(' ')?;
        let start = usize::from_str_radix(range.split_once('-')?.0, 16).ok()?;
        (start == addr).then(|| rest.split(' ').next().unwrap_or("").to_owned())
    })
}

/// What `/proc/self/maps` shows for a shared mapping with protection `prot`.
fn perms_of(prot: Protection) -> String {
    let bit = |p: Protection, c: char| if prot.contains(p) { c } else { '-' };
    format!(
        "{}{}{}s",
        bit(Protection::READ, 'r'),
        bit(Protection::WRITE, 'w'),
        bit(Protection::EXEC, 'x')
    )
}

fn page_align(n: u64) -> usize {
    n.next_multiple_of(P) as usize
}

// ---------------------------------------------------------------------------------------------
// The reservation for fixed addresses

/// Where reservations go: 16 TiB, far below this process's executable, heap and mmap area
/// (x86-64 places them above 0x5500_0000_0000, and `mmap` searches top-down from below the
/// stack), so that no other thread's `mmap` or free-placed `shmat` ever lands in a hole
/// punched into a reservation.
const REGION_BASE: usize = 0x1000_0000_0000;
/// The distance between the reservations of two pairs.
const REGION_STRIDE: usize = 1 << 30;
/// Pages per reservation.
const REGION_PAGES: usize = 64;

static NEXT_REGION: AtomicUsize = AtomicUsize::new(0);

/// A `PROT_NONE` private mapping this pair owns: fixed-address attachments go into holes
/// unmapped from it ([`Pair::hole`]), or over it with `SHM_REMAP`. Nothing in the process uses
/// it otherwise, and no other pair gets the same addresses.
struct Region {
    start: usize,
    len: usize,
}

impl Region {
    fn new() -> Region {
        let len = REGION_PAGES * PAGE;
        for _ in 0..64 {
            let n = NEXT_REGION.fetch_add(1, Ordering::Relaxed);
            let want = REGION_BASE + n * REGION_STRIDE;
            // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping (EEXIST instead),
            // so this only creates a new inaccessible mapping that aliases nothing.
            let got = unsafe {
                libc::mmap(
                    std::ptr::with_exposed_provenance_mut(want),
                    len,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE
                        | libc::MAP_ANONYMOUS
                        | libc::MAP_NORESERVE
                        | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if got == libc::MAP_FAILED {
                continue;
            }
            if got.addr() == want {
                return Region { start: want, len };
            }
            // A kernel before 4.17 took the flag as a hint: give the mapping back.
            // SAFETY: `got` is the mapping just made, used by nothing.
            unsafe { libc::munmap(got, len) };
        }
        panic!("cannot reserve {len} bytes at a fixed address below the mmap area");
    }

    fn contains(&self, addr: usize, len: usize) -> bool {
        addr >= self.start
            && addr
                .checked_add(len)
                .is_some_and(|end| end <= self.start + self.len)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the range is this reservation: its own pages and whatever the pair attached
        // into it, which the pair has detached (or, after a failure, gives up with it).
        unsafe { libc::munmap(std::ptr::with_exposed_provenance_mut(self.start), self.len) };
    }
}

// ---------------------------------------------------------------------------------------------
// The harness

/// A successful IPC_STAT/SHM_STAT/SHM_STAT_ANY, after both sides were compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    /// The return value: 0, or the full id for the `SHM_STAT*` index commands.
    ret: i32,
    /// The host's structure (equal to the emulation's except for times and pids).
    ds: Shmid64Ds,
    /// `shm_atime`, `shm_dtime`, `shm_ctime`.
    times: [Stamp; 3],
    cpid: Pid,
    lpid: Pid,
}

impl Stat {
    fn nattch(&self) -> u64 {
        self.ds.shm_nattch
    }

    fn mode(&self) -> u32 {
        self.ds.shm_perm.mode
    }
}

/// The time fields of the previous stat of a segment, on both sides.
#[derive(Clone, Copy)]
struct Seen {
    host: [i64; 3],
    emu: [i64; 3],
    /// The host's second just before that stat.
    since: i64,
}

fn times(ds: &Shmid64Ds) -> [i64; 3] {
    [ds.shm_atime, ds.shm_dtime, ds.shm_ctime]
}

/// `ds` without the fields compared normalised (times and pids).
fn without_times_and_pids(ds: &Shmid64Ds) -> Shmid64Ds {
    Shmid64Ds {
        shm_atime: 0,
        shm_dtime: 0,
        shm_ctime: 0,
        shm_cpid: 0,
        shm_lpid: 0,
        ..*ds
    }
}

/// One attachment made by the same call on both sides: the host's in this process, the
/// emulation's in the pair's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Att {
    host: usize,
    emu: usize,
    /// The mapping's length: the segment's size rounded up to pages.
    len: usize,
    writable: bool,
}

/// A successful SHM_INFO, compared on both sides except `shm_rss` (see the module docs).
#[derive(Clone, Copy, Debug)]
struct Usage {
    max: i32,
    /// The host's `shm_info`.
    info: ShmInfo,
    /// `shm_rss` on the host and on the emulation.
    rss: (u64, u64),
}

/// The host kernel and the emulation side by side (the shared [`Harness`]), with the
/// emulated process's address space, the attachments made, and the previous stat of each
/// segment.
struct Pair {
    base: Harness,
    seen: RefCell<HashMap<i32, Seen>>,
    /// The address space of the emulated process every party belongs to.
    table: RefCell<AttachTable>,
    /// Attachments alive on both sides.
    live: RefCell<Vec<Att>>,
    /// Host addresses where an attachment may still start after it was partly replaced by
    /// `SHM_REMAP`, split or partly unmapped: detached, if still there, when the pair is
    /// dropped.
    stale: RefCell<Vec<usize>>,
    /// Segments created with SHM_HUGETLB (their mappings are not page-sized: never attached).
    hugetlb: RefCell<BTreeSet<i32>>,
    region: Region,
    /// `RLIMIT_MEMLOCK`, given to every emulated caller.
    memlock: u64,
}

impl std::ops::Deref for Pair {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.base
    }
}

impl Drop for Pair {
    /// Detaches on the host whatever a failing test left attached (an attachment would keep
    /// its segment and the namespace alive); the reservation is unmapped after this.
    fn drop(&mut self) {
        let root = self.base.party(Who::Root).host.clone();
        let live: Vec<usize> = self.live.borrow().iter().map(|a| a.host).collect();
        for addr in live.into_iter().chain(self.stale.borrow().iter().copied()) {
            // Caught: a harness panic here, while a failed test unwinds, would abort the run.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.base.host.shmdt(&root, addr)
            }));
        }
    }
}

impl Pair {
    /// See [`Harness::new`]; the emulation's limits and callers are set to the host's.
    fn new(test: &str) -> Option<Pair> {
        let mut base = Harness::new(test)?;
        let memlock = memlock_limit();
        for p in &mut base.parties {
            p.emu.memlock_limit = memlock;
        }
        let limits = base.emu.limits();
        limits.set_commit_limit(match overcommit_memory().as_str() {
            "1" => u64::MAX,
            _ => ram_and_swap_pages(),
        });
        limits.set_hugetlb_shm_group(
            read_proc("/proc/sys/vm/hugetlb_shm_group")
                .parse()
                .expect("vm.hugetlb_shm_group is a number"),
        );
        limits.set_nr_hugepages(0);
        let p = Pair {
            base,
            seen: RefCell::new(HashMap::new()),
            table: RefCell::new(AttachTable::new(EMU_PID)),
            live: RefCell::new(Vec::new()),
            stale: RefCell::new(Vec::new()),
            hugetlb: RefCell::new(BTreeSet::new()),
            region: Region::new(),
            memlock,
        };
        let host_u64 = |name: &str| -> u64 {
            p.host
                .sysctl(name)
                .unwrap_or_else(|e| panic!("reading {name}: {e}"))
                .parse()
                .expect("a number")
        };
        let limits = p.emu.limits();
        limits.set_shmmax(host_u64("shmmax"));
        limits.set_shmall(host_u64("shmall"));
        limits
            .set_shmmni(host_u64("shmmni") as i64)
            .expect("the host's shmmni is in range");
        p.read_sysctls();
        Some(p)
    }

    // --- shmget -------------------------------------------------------------------------

    fn shmget(&self, who: Who, key: i32, size: u64, flags: i32) -> Result<i32, Errno> {
        let p = self.party(who);
        let emu = self.emu(|ns| ns.shmget(&p.emu, key, size, flags));
        let host = self.host.shmget(&p.host, key, size, flags);
        let id = self.same(
            &format!("shmget({who:?}, {key:#x}, {size:#x}, {flags:#o})"),
            host,
            emu,
        );
        if let Ok(id) = id {
            if flags & SHM_HUGETLB != 0 {
                self.hugetlb.borrow_mut().insert(id);
            }
        }
        id
    }

    /// A new private segment of `size` bytes with mode `mode`, created by `who`.
    fn seg(&self, who: Who, size: u64, mode: i32) -> i32 {
        self.shmget(who, IPC_PRIVATE, size, IPC_CREAT | mode)
            .expect("creating a private segment")
    }

    // --- shmat / shmdt ------------------------------------------------------------------

    /// shmat(2) at a null address (the kernel, or the table, chooses).
    fn attach(&self, who: Who, id: i32, flags: i32) -> Result<Att, Errno> {
        self.shmat_at(who, id, (0, 0), flags)
    }

    /// shmat(2) at the same fixed address on both sides.
    fn attach_at(&self, who: Who, id: i32, addr: usize, flags: i32) -> Result<Att, Errno> {
        self.shmat_at(who, id, (addr, addr), flags)
    }

    /// The length the host maps for segment `id` (`PAGE_ALIGN(shm_segsz)`), read as root; `None`
    /// if there is no such segment (a shmat(2) of it fails at the lookup, mapping nothing).
    fn host_map_len(&self, id: i32) -> Option<usize> {
        let root = &self.party(Who::Root).host;
        let (_, ds) = self.host.shmctl_stat(root, id, IPC_STAT).ok()?;
        assert!(
            !self.hugetlb.borrow().contains(&id),
            "SHM_HUGETLB segments are mapped in huge pages: not attached here"
        );
        Some(page_align(ds.shm_segsz))
    }

    /// shmat(2) asking for `host_addr` on the host and `emu_addr` on the emulation: both null,
    /// or equal (a fixed address in the reservation), or the same offset from two
    /// attachments. A success must land at the same offset from what was asked on both sides
    /// (for a null address: anywhere page-aligned).
    fn shmat_at(
        &self,
        who: Who,
        id: i32,
        (host_addr, emu_addr): (usize, usize),
        flags: i32,
    ) -> Result<Att, Errno> {
        let call = format!("shmat({who:?}, {id}, {host_addr:#x} / {emu_addr:#x}, {flags:#o})");
        let p = self.party(who);
        let emu =
            self.emu(|ns| ns.shmat(&p.emu, &mut self.table.borrow_mut(), id, emu_addr, flags));
        let wanted = if flags & SHM_RND != 0 {
            host_addr & !(PAGE - 1)
        } else {
            host_addr
        };
        let replaces = flags & SHM_REMAP != 0 && wanted != 0 && wanted % PAGE == 0;
        let host = if replaces {
            let len = self.host_map_len(id);
            if let Some(len) = len {
                assert!(
                    self.region.contains(wanted, len),
                    "{call}: SHM_REMAP at a fixed address only inside the pair's reservation"
                );
            }
            // SAFETY: with SHM_REMAP the kernel replaces [wanted, wanted + len), which lies
            // inside this pair's reservation (checked above): only its PROT_NONE pages and
            // attachments the pair made there, accessed only through `read`/`write` of live
            // `Att`s — those the new mapping overlaps are dropped from `live` below. Without a
            // segment (`len` None) the lookup fails before anything is mapped.
            unsafe { self.host.shmat_unchecked(&p.host, id, host_addr, flags) }
        } else {
            self.host.shmat(&p.host, id, host_addr, flags)
        };
        if let (Ok(h), Ok(e)) = (host, emu) {
            let placed = if host_addr == 0 && emu_addr == 0 {
                h % PAGE == 0 && e % PAGE == 0
            } else {
                h.wrapping_sub(host_addr) == e.wrapping_sub(emu_addr)
            };
            assert!(
                placed,
                "{}{call}: placed at {h:#x} on the host and {e:#x} on the emulation",
                self.context.borrow()
            );
        }
        self.same(&call, host.map(drop), emu.map(drop))?;
        let (h, e) = (host.unwrap(), emu.unwrap());
        let len = self.host_map_len(id).expect("an attached segment exists");
        let emu_len = self.table.borrow().find(e).map(|m| m.len());
        self.same(&format!("{call}: mapping length"), Some(len), emu_len);
        let att = Att {
            host: h,
            emu: e,
            len,
            writable: flags & SHM_RDONLY == 0,
        };
        let mut live = self.live.borrow_mut();
        let overlapped: Vec<Att> = live
            .iter()
            .filter(|a| a.host < h + len && h < a.host + a.len)
            .copied()
            .collect();
        for old in overlapped {
            assert!(replaces, "{call}: a new mapping overlaps {old:?}");
            live.retain(|a| *a != old);
            if old.host != h {
                self.stale.borrow_mut().push(old.host);
            }
        }
        live.push(att);
        Ok(att)
    }

    /// shmdt(2) at `host_addr` on the host and `emu_addr` on the emulation.
    fn shmdt_at(&self, host_addr: usize, emu_addr: usize) -> Result<(), Errno> {
        let emu = self.emu(|ns| ns.shmdt(&mut self.table.borrow_mut(), emu_addr));
        let host = self.host.shmdt(&self.party(Who::Root).host, host_addr);
        let done = self.same(&format!("shmdt({host_addr:#x} / {emu_addr:#x})"), host, emu);
        if done.is_ok() {
            self.live.borrow_mut().retain(|a| a.host != host_addr);
            self.stale.borrow_mut().retain(|a| *a != host_addr);
        }
        done
    }

    fn detach(&self, att: Att) -> Result<(), Errno> {
        self.shmdt_at(att.host, att.emu)
    }

    /// Unmaps `pages` pages at page `first` of the reservation, so that a fixed attach without
    /// SHM_REMAP can go there; returns the address.
    fn hole(&self, first: usize, pages: usize) -> usize {
        let (addr, len) = (self.region.start + first * PAGE, pages * PAGE);
        assert!(self.region.contains(addr, len));
        assert!(
            self.live
                .borrow()
                .iter()
                .all(|a| a.host + a.len <= addr || addr + len <= a.host),
            "a hole over a live attachment"
        );
        // SAFETY: the range lies in this pair's reservation and holds no live attachment
        // (checked above): only PROT_NONE reservation pages, which nothing uses.
        let rc = unsafe { libc::munmap(std::ptr::with_exposed_provenance_mut(addr), len) };
        assert_eq!(rc, 0, "munmap of a hole in the reservation");
        addr
    }

    /// Writes `data` at `offset` into a read-write attachment, on both sides.
    fn write(&self, att: Att, offset: usize, data: &[u8]) {
        assert!(att.writable, "{att:?} is read-only");
        assert!(offset + data.len() <= att.len, "past {att:?}");
        assert!(self.live.borrow().contains(&att), "{att:?} is not attached");
        // SAFETY: `att` is a live read-write attachment of `att.len` bytes in this process
        // (checked above), which nothing but `read`/`write` accesses; the range lies in it.
        unsafe { write_mem(att.host + offset, data) };
        let emu = self.table.borrow().write(att.emu + offset, data);
        let call = format!("write of {} bytes at {offset} into {att:?}", data.len());
        self.same(&call, Ok(()), emu).expect("written");
    }

    /// Reads `len` bytes at `offset` through an attachment on both sides; they must agree.
    fn read(&self, att: Att, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset + len <= att.len, "past {att:?}");
        assert!(self.live.borrow().contains(&att), "{att:?} is not attached");
        // SAFETY: `att` is a live attachment of `att.len` bytes in this process (checked
        // above), readable (every attachment is); the range lies in it.
        let host = unsafe { read_mem(att.host + offset, len) };
        let mut emu = vec![0; len];
        let done = self.table.borrow().read(att.emu + offset, &mut emu);
        let call = format!("read of {len} bytes at {offset} from {att:?}");
        self.same(&call, Ok(()), done).expect("read");
        self.same(&call, host, emu)
    }

    /// `mprotect(2)` of `len` bytes at `offset` into `att` on both sides
    /// (`AttachTable::protect` on the emulation). The attachment is retired: it is not read or
    /// written through again, and its start is detached when the pair is dropped unless a
    /// `shmdt_at` of it succeeds first.
    fn protect(&self, att: Att, offset: usize, len: usize, prot: Protection) -> Result<(), Errno> {
        assert!(offset + len <= att.len, "past {att:?}");
        self.retire(att);
        let addr = std::ptr::with_exposed_provenance_mut(att.host + offset);
        // SAFETY: the range lies inside `att`, an attachment of this pair in this process that
        // is live or retired but not detached yet (checked by `retire`), so every page of it
        // is still this attachment's or unmapped (then mprotect fails with ENOMEM); nothing
        // accesses those bytes but `read`/`write` of a live `Att`, and `att` is retired.
        let rc = unsafe { libc::mprotect(addr, len, prot.bits() as i32) };
        let host = if rc == 0 {
            Ok(())
        } else {
            Err(Errno::from_raw(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ))
        };
        let emu = self.emu(|_| self.table.borrow_mut().protect(att.emu + offset, len, prot));
        self.same(
            &format!("mprotect({att:?} + {offset:#x}, {len:#x}, {prot:?})"),
            host,
            emu,
        )
    }

    /// `munmap(2)` of `len` bytes at `offset` into `att` on both sides (`AttachTable::unmap` on
    /// the emulation); `att` must lie in the reservation. The attachment is retired as by
    /// [`protect`](Self::protect).
    fn unmap(&self, att: Att, offset: usize, len: usize) -> Result<(), Errno> {
        assert!(offset + len <= att.len, "past {att:?}");
        assert!(
            self.region.contains(att.host, att.len),
            "only attachments in the reservation are unmapped in part"
        );
        self.retire(att);
        let addr = std::ptr::with_exposed_provenance_mut(att.host + offset);
        // SAFETY: the range lies inside `att`, an attachment of this pair that is live or
        // retired but not detached yet (checked by `retire`: nothing accesses it any more),
        // in the pair's reservation, where no other thread's mmap lands (see `REGION_BASE`):
        // every page of it is this attachment's, or unmapped and unused.
        let rc = unsafe { libc::munmap(addr, len) };
        let host = if rc == 0 {
            Ok(())
        } else {
            Err(Errno::from_raw(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ))
        };
        let emu = self.emu(|_| self.table.borrow_mut().unmap(att.emu + offset, len));
        self.same(
            &format!("munmap({att:?} + {offset:#x}, {len:#x})"),
            host,
            emu,
        )
    }

    /// Takes `att` out of `live` (no more reads or writes) and keeps its start for cleanup;
    /// it must be live, or retired and not detached since.
    fn retire(&self, att: Att) {
        let was_live = self.live.borrow().contains(&att);
        let retired = self.stale.borrow().contains(&att.host);
        assert!(was_live || retired, "{att:?} is not attached");
        self.live.borrow_mut().retain(|a| *a != att);
        if !retired {
            self.stale.borrow_mut().push(att.host);
        }
    }

    // --- shmctl -------------------------------------------------------------------------

    /// IPC_STAT, SHM_STAT or SHM_STAT_ANY: return value, structure, normalised times and pids.
    fn stat(&self, who: Who, id: i32, cmd: i32) -> Result<Stat, Errno> {
        let call = format!("shmctl({who:?}, {id}, cmd {cmd})");
        let p = self.party(who);
        let emu =
            self.emu(|ns| ShmCtlCmd::try_from(cmd).and_then(|cmd| ns.shmctl_stat(&p.emu, id, cmd)));
        let since = host_second();
        let host = self.host.shmctl_stat(&p.host, id, cmd);
        let until = host_second();
        let ((ret, h), (emu_ret, e)) = match (host, emu) {
            (Ok(h), Ok(e)) => (h, e),
            (host, emu) => {
                let err = self.same(&call, host.map(|r| r.0), emu.map(|r| r.0));
                return Err(err.expect_err("one side failed"));
            }
        };
        self.same(&format!("{call} return value"), ret, emu_ret);
        self.same(
            &format!("{call} shmid64_ds without times and pids"),
            without_times_and_pids(&h),
            without_times_and_pids(&e),
        );
        let cpid = self.same(
            &format!(
                "{call} shm_cpid (host {}, emulation {})",
                h.shm_cpid, e.shm_cpid
            ),
            self.pid(h.shm_cpid, true),
            self.pid(e.shm_cpid, false),
        );
        let lpid = self.same(
            &format!(
                "{call} shm_lpid (host {}, emulation {})",
                h.shm_lpid, e.shm_lpid
            ),
            self.pid(h.shm_lpid, true),
            self.pid(e.shm_lpid, false),
        );
        let key = if cmd == IPC_STAT { id } else { ret };
        let prev = self.seen.borrow().get(&key).copied().unwrap_or(Seen {
            host: [0; 3],
            emu: [0; 3],
            since: self.start,
        });
        let (now_h, now_e) = (times(&h), times(&e));
        let mut stamps = [Stamp::Zero; 3];
        for (i, field) in ["shm_atime", "shm_dtime", "shm_ctime"].iter().enumerate() {
            stamps[i] = self.compare_time(
                &format!("{call} {field}"),
                (prev.host[i], now_h[i]),
                (prev.emu[i], now_e[i]),
                (prev.since, until),
            );
        }
        self.seen.borrow_mut().insert(
            key,
            Seen {
                host: now_h,
                emu: now_e,
                since,
            },
        );
        Ok(Stat {
            ret,
            ds: h,
            times: stamps,
            cpid,
            lpid,
        })
    }

    /// IPC_STAT as Root.
    fn st(&self, id: i32) -> Result<Stat, Errno> {
        self.stat(Who::Root, id, IPC_STAT)
    }

    /// IPC_SET with the segment's current `shmid64_ds` (read on the host as root, or zeroes)
    /// edited by `edit`.
    fn ipc_set(&self, who: Who, id: i32, edit: impl FnOnce(&mut Shmid64Ds)) -> Result<(), Errno> {
        let root = &self.party(Who::Root).host;
        let mut ds = self
            .host
            .shmctl_stat(root, id, IPC_STAT)
            .map(|r| r.1)
            .unwrap_or_default();
        edit(&mut ds);
        let p = self.party(who);
        let emu = self.emu(|ns| ns.shmctl_set(&p.emu, id, &ds));
        let host = self.host.shmctl_set(&p.host, id, &ds);
        let call = format!(
            "IPC_SET({who:?}, {id}, uid {} gid {} mode {:#o})",
            ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.mode
        );
        self.same(&call, host, emu)
    }

    fn set_mode(&self, who: Who, id: i32, mode: u32) -> Result<(), Errno> {
        self.ipc_set(who, id, |ds| ds.shm_perm.mode = mode)
    }

    fn rmid(&self, who: Who, id: i32) -> Result<(), Errno> {
        let p = self.party(who);
        let emu = self.emu(|ns| ns.shmctl_rmid(&p.emu, id));
        let host = self.host.shmctl_rmid(&p.host, id);
        self.same(&format!("IPC_RMID({who:?}, {id})"), host, emu)
    }

    /// SHM_LOCK or SHM_UNLOCK.
    fn lock(&self, who: Who, id: i32, cmd: i32) -> Result<(), Errno> {
        let p = self.party(who);
        let emu =
            self.emu(|ns| ShmCtlCmd::try_from(cmd).and_then(|cmd| ns.shmctl_lock(&p.emu, id, cmd)));
        let host = self.host.shmctl_lock(&p.host, id, cmd);
        self.same(&format!("shmctl({who:?}, {id}, lock cmd {cmd})"), host, emu)
    }

    /// IPC_INFO: the highest used index and the limits.
    fn ipc_info(&self, id: i32) -> Result<(i32, Shminfo64), Errno> {
        let emu = self.emu(|ns| ns.shmctl_ipc_info(id));
        let host = self
            .host
            .shmctl_info(&self.party(Who::Root).host, id, IPC_INFO);
        self.same(&format!("IPC_INFO({id})"), host, emu)
    }

    /// SHM_INFO: everything compared but `shm_rss`, which is returned per side.
    fn shm_info(&self, id: i32) -> Result<Usage, Errno> {
        let emu = self.emu(|ns| ns.shmctl_shm_info(id));
        let host = self.host.shmctl_shm_info(&self.party(Who::Root).host, id);
        let call = format!("SHM_INFO({id})");
        let without_rss = |r: Result<(i32, ShmInfo), Errno>| {
            r.map(|(max, info)| (max, ShmInfo { shm_rss: 0, ..info }))
        };
        self.same(&call, without_rss(host), without_rss(emu))?;
        let ((max, info), (_, e)) = (host.unwrap(), emu.unwrap());
        Ok(Usage {
            max,
            info,
            rss: (info.shm_rss, e.shm_rss),
        })
    }

    /// SHM_INFO(0), which must succeed.
    fn usage(&self) -> Usage {
        self.shm_info(0).expect("SHM_INFO")
    }

    /// shmctl with a command the emulation does not decode (the host gets a NULL buffer).
    fn ctl_undecodable(&self, id: i32, cmd: i32) -> Result<i32, Errno> {
        let host = self
            .host
            .shmctl_raw(&self.party(Who::Root).host, id, cmd, None);
        let emu = self.emu(|_| -> Result<i32, Errno> {
            let cmd = ShmCtlCmd::try_from(cmd)?;
            panic!("{cmd:?} is decodable: use its own method")
        });
        self.same(&format!("shmctl({id}, cmd {cmd:#x})"), host, emu)
    }

    // --- sysctls ------------------------------------------------------------------------

    /// Writes sysctl `name` (`shmmax`, `shmall`, `shmmni`, `shm_rmid_forced`, `shm_next_id`)
    /// on both sides; compares the verdict and every value read back.
    fn sysctl(&self, name: &str, value: &str) -> Result<(), Errno> {
        let host = self.host.set_sysctl(name, value);
        let l = self.emu.limits();
        let int = || -> i64 { value.parse().expect("an integer the emulation can take") };
        let ulong = || -> u64 { value.parse().expect("an unsigned long") };
        let emu = match name {
            "shmmax" => {
                l.set_shmmax(ulong());
                Ok(())
            }
            "shmall" => {
                l.set_shmall(ulong());
                Ok(())
            }
            "shmmni" => l.set_shmmni(int()),
            "shm_rmid_forced" => self.emu.set_shm_rmid_forced(int()),
            "shm_next_id" => self.emu.set_shm_next_id(int()),
            _ => panic!("not a shm sysctl: {name}"),
        };
        let verdict = self.same(&format!("sysctl {name} = {value}"), host, emu);
        self.read_sysctls();
        verdict
    }

    /// The shm sysctls, read on both sides (they must agree): shmmax, shmall, shmmni,
    /// shm_rmid_forced, shm_next_id.
    fn read_sysctls(&self) -> [String; 5] {
        let names = [
            "shmmax",
            "shmall",
            "shmmni",
            "shm_rmid_forced",
            "shm_next_id",
        ];
        let host = names.map(|n| {
            self.host
                .sysctl(n)
                .unwrap_or_else(|e| panic!("reading {n}: {e}"))
        });
        let l = self.emu.limits();
        let emu = [
            l.shmmax().to_string(),
            l.shmall().to_string(),
            l.shmmni().to_string(),
            i32::from(l.shm_rmid_forced()).to_string(),
            self.emu.shm_next_id().to_string(),
        ];
        self.same(
            "shm sysctls (shmmax, shmall, shmmni, shm_rmid_forced, shm_next_id)",
            host,
            emu,
        )
    }

    // --- processes and threads ----------------------------------------------------------

    /// Forks a child process `name` of `who` that makes `calls` and then waits, alive, until
    /// [`Child::exit`]: on the host `HostNamespace::fork`, on the emulation `AttachTable::fork`
    /// and a caller with the child's own pid. Returns the child and each call's result.
    fn fork(
        &self,
        who: Who,
        name: &'static str,
        calls: &[ChildCall],
    ) -> (Child<'_>, Vec<Result<(), Errno>>) {
        let steps: Vec<ChildStep> = calls
            .iter()
            .map(|c| match *c {
                ChildCall::Attach { id, flags } => ChildStep::Shmat { id, addr: 0, flags },
                ChildCall::Detach(att) => ChildStep::Shmdt { addr: att.host },
            })
            .collect();
        let host = self.host.fork(&self.party(who).host, &steps);
        let pid = self.register(name, host.pid());
        let mut table = self.emu(|_| self.table.borrow().fork(pid));
        let caller = Caller {
            pid,
            tid: pid,
            ..self.party(who).emu.clone()
        };
        let mut results = Vec::new();
        for (call, h) in calls.iter().zip(host.results()) {
            let (h, e) = match *call {
                ChildCall::Attach { id, flags } => {
                    let e = self.emu(|ns| ns.shmat(&caller, &mut table, id, 0, flags));
                    (
                        h.map(|a| assert_eq!(a % PAGE, 0, "{name}: attached at {a:#x}")),
                        e.map(|a| assert_eq!(a % PAGE, 0, "{name}: attached at {a:#x}")),
                    )
                }
                ChildCall::Detach(att) => {
                    let e = self.emu(|ns| ns.shmdt(&mut table, att.emu));
                    (h.map(|r| assert_eq!(r, 0)), e)
                }
            };
            results.push(self.same(&format!("{name}: {call:?}"), h, e));
        }
        let child = Child {
            pair: self,
            host: Some(host),
            table,
        };
        (child, results)
    }

    /// A thread `name` of `who` that creates a segment per `(key, size, flags)` of `gets`,
    /// attaches the first one if `attach_first`, and exits: on the host a spawned thread,
    /// waited for until it is gone from `/proc` (its `exit_shm` has run); on the emulation a
    /// caller with its own tid, then `shm_exit_thread`. Returns the results of the shmget
    /// calls and the attachment.
    fn thread_creating(
        &self,
        who: Who,
        name: &'static str,
        gets: &[(i32, u64, i32)],
        attach_first: bool,
    ) -> (Vec<Result<i32, Errno>>, Option<Att>) {
        let host_gets = gets.to_vec();
        let host = self.host.spawn(&self.party(who).host, move |t| {
            let ids: Vec<Result<i32, Errno>> = host_gets
                .iter()
                .map(|&(key, size, flags)| t.shmget(key, size, flags))
                .collect();
            let att = match ids.first() {
                Some(Ok(id)) if attach_first => Some(t.shmat(*id, 0, 0)),
                _ => None,
            };
            (ids, att)
        });
        let tid = host.tid();
        let (host_ids, host_att) = host.join();
        // Its exit_shm runs after the joiner was woken (mm_release) and before the task is
        // unhashed (release_task), which removes /proc/self/task/TID.
        let task = format!("/proc/self/task/{tid}");
        wait_for(&format!("thread {name} gone"), || {
            !std::path::Path::new(&task).exists()
        });
        let (caller, _) = self.thread_caller(who, name, tid);
        let emu_ids: Vec<Result<i32, Errno>> = gets
            .iter()
            .map(|&(key, size, flags)| self.emu(|ns| ns.shmget(&caller, key, size, flags)))
            .collect();
        let emu_att = match emu_ids.first() {
            Some(Ok(id)) if attach_first => {
                Some(self.emu(|ns| ns.shmat(&caller, &mut self.table.borrow_mut(), *id, 0, 0)))
            }
            _ => None,
        };
        self.emu(|ns| ns.shm_exit_thread(&caller));
        let ids = self.same(&format!("{name}: shmget {gets:?}"), host_ids, emu_ids);
        let att = match (host_att, emu_att) {
            (Some(Ok(h)), Some(Ok(e))) => {
                let id = *ids[0].as_ref().expect("attached");
                let len = self.host_map_len(id).expect("attached");
                let att = Att {
                    host: h,
                    emu: e,
                    len,
                    writable: true,
                };
                self.live.borrow_mut().push(att);
                Some(att)
            }
            (h, e) => {
                self.same(&format!("{name}: shmat"), h, e);
                None
            }
        };
        (ids, att)
    }
}

/// A call made by a forked child ([`Pair::fork`]).
#[derive(Clone, Copy, Debug)]
enum ChildCall {
    /// shmat(2) at a null address.
    Attach { id: i32, flags: i32 },
    /// shmdt(2) of an attachment the child inherited.
    Detach(Att),
}

/// A forked child process, alive until [`Child::exit`].
struct Child<'p> {
    pair: &'p Pair,
    host: Option<HostProcess>,
    table: AttachTable,
}

impl Child<'_> {
    /// The child exits: its mappings close in its name.
    fn exit(mut self) {
        self.host.take().expect("exits once").exit();
        let table = &mut self.table;
        self.pair.emu(|_| table.clear());
    }
}

// ---------------------------------------------------------------------------------------------
// shmget

#[test]
fn segment_ids_follow_cyclic_allocation_and_a_failed_creation_uses_no_index() {
    let Some(p) =
        Pair::new("segment_ids_follow_cyclic_allocation_and_a_failed_creation_uses_no_index")
    else {
        return;
    };
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 0, RW), Err(Errno::EINVAL));
    let kept: Vec<i32> = (0..3).map(|_| p.seg(Who::Root, 1, 0o600)).collect();
    assert_eq!(kept, [0, 1, 2]);
    let mut last = 0;
    for _ in 0..70 {
        last = p.seg(Who::Root, 100, 0o600);
        p.rmid(Who::Root, last).unwrap();
    }
    // Indices 3..=63, then seq 1 from index 3 (0..=2 are busy).
    assert_eq!(last, (1 << 15) | 11);
    p.rmid(Who::Root, kept[1]).unwrap();
    assert_eq!(
        p.seg(Who::Root, 1, 0o600),
        (1 << 15) | 12,
        "index 1 not reused yet"
    );
    assert_eq!(p.usage().max, 12);
    assert_eq!(p.ipc_info(0).unwrap().0, 12);
}

#[test]
fn shmget_missing_key_without_ipc_creat_is_enoent_whatever_the_size() {
    let Some(p) = Pair::new("shmget_missing_key_without_ipc_creat_is_enoent_whatever_the_size")
    else {
        return;
    };
    for size in [0, 1, 100, 1 << 63, u64::MAX] {
        for flags in [0, IPC_EXCL, 0o600, IPC_EXCL | 0o666] {
            assert_eq!(p.shmget(Who::User, 0x51, size, flags), Err(Errno::ENOENT));
        }
    }
}

#[test]
fn shmget_existing_key_is_eexist_then_einval_if_smaller_than_asked_then_eacces() {
    let Some(p) =
        Pair::new("shmget_existing_key_is_eexist_then_einval_if_smaller_than_asked_then_eacces")
    else {
        return;
    };
    let id = p.shmget(Who::User, 0x51, 2048, IPC_CREAT | 0o640).unwrap();
    let excl = IPC_CREAT | IPC_EXCL | 0o600;
    assert_eq!(p.shmget(Who::Root, 0x51, 4096, excl), Err(Errno::EEXIST));
    assert_eq!(p.shmget(Who::Root, 0x51, 0, excl), Err(Errno::EEXIST));
    // Too big for the segment: EINVAL, even for a caller the mode would refuse.
    assert_eq!(
        p.shmget(Who::FsGroup, 0x51, 2049, 0o666),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.shmget(Who::FsGroup, 0x51, 2048, 0o666),
        Err(Errno::EACCES)
    );
    assert_eq!(p.shmget(Who::FsGroup, 0x51, 2048, 0o440), Ok(id));
    assert_eq!(p.shmget(Who::Member, 0x51, 1, 0o040), Ok(id));
    assert_eq!(p.shmget(Who::Member, 0x51, 1, 0o020), Err(Errno::EACCES));
    assert_eq!(
        p.shmget(Who::RootNoIpcOwner, 0x51, 2048, 0o004),
        Err(Errno::EACCES)
    );
    assert_eq!(
        p.shmget(Who::RootNoIpcOwner, 0x51, 0, 0),
        Ok(id),
        "nothing asked"
    );
    assert_eq!(
        p.shmget(Who::User, 0x51, 0, IPC_CREAT | 0o600),
        Ok(id),
        "size 0 finds it"
    );
    assert_eq!(p.shmget(Who::User, 0x51, 2048, 0o700), Err(Errno::EACCES));
    assert_eq!(
        p.shmget(Who::Root, 0x51, 2048, 0o777),
        Ok(id),
        "CAP_IPC_OWNER"
    );
    assert_eq!(p.shmget(Who::Root, 0x52, 2048, 0o600), Err(Errno::ENOENT));
}

#[test]
fn shmget_creates_with_the_low_nine_mode_bits_the_unrounded_size_and_the_caller_as_owner() {
    let Some(p) = Pair::new(
        "shmget_creates_with_the_low_nine_mode_bits_the_unrounded_size_and_the_caller_as_owner",
    ) else {
        return;
    };
    // IPC_CREAT and IPC_EXCL share their bits with SHM_DEST and SHM_LOCKED: not kept.
    let id = p
        .shmget(Who::Member, 0x7eed, 5000, IPC_CREAT | IPC_EXCL | 0o777)
        .unwrap();
    let st = p.stat(Who::Member, id, IPC_STAT).unwrap();
    let perm = st.ds.shm_perm;
    assert_eq!(
        (
            perm.key, perm.uid, perm.gid, perm.cuid, perm.cgid, perm.mode
        ),
        (0x7eed, 2000, 2000, 2000, 2000, 0o777)
    );
    assert_eq!((st.ds.shm_segsz, st.nattch()), (5000, 0));
    assert_eq!(st.times, [Stamp::Zero, Stamp::Zero, Stamp::Advanced]);
    assert_eq!((st.cpid, st.lpid), (Pid::Process, Pid::Zero));
    assert_eq!(st.ret, 0);
    // FsGroup creates with its egid, not its fsgid.
    let id = p.seg(Who::FsGroup, 1, 0o600);
    let perm = p.st(id).unwrap().ds.shm_perm;
    assert_eq!((perm.key, perm.gid, perm.cgid), (0, 3000, 3000));
}

#[test]
fn shmget_size_zero_or_above_shmmax_is_einval_on_create_only() {
    let Some(p) = Pair::new("shmget_size_zero_or_above_shmmax_is_einval_on_create_only") else {
        return;
    };
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 0, RW), Err(Errno::EINVAL));
    assert_eq!(p.shmget(Who::Root, 0x51, 0, RW), Err(Errno::EINVAL));
    assert_eq!(
        p.shmget(Who::Root, IPC_PRIVATE, abi::SHMMAX + 1, RW),
        Err(Errno::EINVAL)
    );
    let big = p.shmget(Who::Root, 0x52, 20_000, RW).unwrap();
    p.sysctl("shmmax", "10000").unwrap();
    assert_eq!(
        p.shmget(Who::Root, IPC_PRIVATE, 10_001, RW),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.shmget(Who::Root, 0x53, 10_001, RW), Err(Errno::EINVAL));
    p.seg(Who::Root, 10_000, 0o600);
    // A lookup is not a creation: shmmax does not apply.
    assert_eq!(p.shmget(Who::Root, 0x52, 20_000, RW), Ok(big));
    p.sysctl("shmmax", "0").unwrap();
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 1, RW), Err(Errno::EINVAL));
}

#[test]
fn shmget_shmall_counts_pages_after_rounding_and_is_enospc_on_create_only() {
    let Some(p) =
        Pair::new("shmget_shmall_counts_pages_after_rounding_and_is_enospc_on_create_only")
    else {
        return;
    };
    p.sysctl("shmall", "5").unwrap();
    let keyed = p.shmget(Who::Root, 0x51, 4 * P - 100, RW).unwrap();
    assert_eq!(
        p.shmget(Who::Root, IPC_PRIVATE, P + 1, RW),
        Err(Errno::ENOSPC)
    );
    p.seg(Who::Root, P, 0o600);
    assert_eq!(p.usage().info.shm_tot, 5);
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 1, RW), Err(Errno::ENOSPC));
    // Size checks come first; lookups are not creations.
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 0, RW), Err(Errno::EINVAL));
    assert_eq!(p.shmget(Who::Root, 0x51, 1, RW), Ok(keyed));
    p.rmid(Who::Root, keyed).unwrap();
    p.seg(Who::Root, 4 * P, 0o600);
    p.sysctl("shmall", "0").unwrap();
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 1, RW), Err(Errno::ENOSPC));
}

#[test]
fn shmget_shmmni_is_enospc_on_create_only_after_the_size_checks() {
    let Some(p) = Pair::new("shmget_shmmni_is_enospc_on_create_only_after_the_size_checks") else {
        return;
    };
    p.sysctl("shmmni", "2").unwrap();
    let keyed = p.shmget(Who::Root, 0x51, 10, RW).unwrap();
    let other = p.seg(Who::Root, 10, 0o600);
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 10, RW), Err(Errno::ENOSPC));
    assert_eq!(p.shmget(Who::Root, 0x52, 10, RW), Err(Errno::ENOSPC));
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 0, RW), Err(Errno::EINVAL));
    assert_eq!(p.shmget(Who::Root, 0x51, 10, RW), Ok(keyed));
    p.rmid(Who::Root, other).unwrap();
    p.seg(Who::Root, 10, 0o600);
    p.sysctl("shmmni", "0").unwrap();
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 10, RW), Err(Errno::ENOSPC));
    assert_eq!(p.shmget(Who::Root, 0x51, 0, 0), Ok(keyed));
}

#[test]
fn shmget_page_count_overflow_is_enospc_and_past_max_lfs_filesize_einval() {
    let Some(p) =
        Pair::new("shmget_page_count_overflow_is_enospc_and_past_max_lfs_filesize_einval")
    else {
        return;
    };
    let nores = RW | SHM_NORESERVE;
    // Default shmmax (ULONG_MAX - 2^24): these are above it.
    assert_eq!(
        p.shmget(Who::Root, IPC_PRIVATE, 0xFFFF_FFFF_FFFF_F001, nores),
        Err(Errno::EINVAL)
    );
    p.sysctl("shmmax", &u64::MAX.to_string()).unwrap();
    for size in [0xFFFF_FFFF_FFFF_F001, u64::MAX] {
        assert_eq!(
            p.shmget(Who::Root, IPC_PRIVATE, size, nores),
            Err(Errno::ENOSPC)
        );
    }
    // Past MAX_LFS_FILESIZE (2^63 - 1): the shmem file refuses it.
    for size in [0xFFFF_FFFF_FFFF_F000, 1 << 63] {
        assert_eq!(
            p.shmget(Who::Root, IPC_PRIVATE, size, nores),
            Err(Errno::EINVAL)
        );
    }
    let largest = p
        .shmget(Who::Root, IPC_PRIVATE, i64::MAX as u64, nores)
        .unwrap();
    assert_eq!(p.usage().info.shm_tot, 1 << 51);
    assert_eq!(p.st(largest).unwrap().ds.shm_segsz, i64::MAX as u64);
    p.rmid(Who::Root, largest).unwrap();
    assert_eq!(p.usage().info.shm_tot, 0);
}

#[test]
fn shmget_beyond_ram_and_swap_is_enomem_unless_shm_noreserve() {
    let Some(p) = Pair::new("shmget_beyond_ram_and_swap_is_enomem_unless_shm_noreserve") else {
        return;
    };
    let policy = overcommit_memory();
    if policy != "0" {
        // docs/conformance.md: `vm.overcommit_memory = 2` is not implemented, and with 1 the
        // host refuses nothing.
        eprintln!("skipping the ENOMEM part: vm.overcommit_memory is {policy}, not 0");
        return;
    }
    let huge = 1 << 50;
    assert_eq!(
        p.shmget(Who::Root, IPC_PRIVATE, huge, RW),
        Err(Errno::ENOMEM)
    );
    assert_eq!(p.shmget(Who::User, 0x51, huge, RW), Err(Errno::ENOMEM));
    assert_eq!(p.usage().info.used_ids, 0);
    let twice = 2 * ram_and_swap_pages() * P;
    assert_eq!(
        p.shmget(Who::Root, IPC_PRIVATE, twice, RW),
        Err(Errno::ENOMEM)
    );
    let id = p
        .shmget(Who::Root, IPC_PRIVATE, huge, RW | SHM_NORESERVE)
        .unwrap();
    let u = p.usage();
    assert_eq!(
        (u.info.used_ids, u.info.shm_tot, u.rss),
        (1, 1 << 38, (0, 0))
    );
    p.rmid(Who::Root, id).unwrap();
}

#[test]
fn shmget_hugetlb_is_einval_for_a_bad_size_then_eperm_for_a_user_then_enomem_without_pages() {
    let Some(p) = Pair::new(
        "shmget_hugetlb_is_einval_for_a_bad_size_then_eperm_for_a_user_then_enomem_without_pages",
    ) else {
        return;
    };
    let huge = RW | SHM_HUGETLB;
    let log = |n: i32| n << SHM_HUGE_SHIFT;
    // An unknown huge page size is EINVAL before the permission check.
    for bad in [5, 12, 22, 63] {
        assert_eq!(
            p.shmget(Who::User, IPC_PRIVATE, 4096, huge | log(bad)),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            p.shmget(
                Who::Root,
                IPC_PRIVATE,
                4096,
                huge | log(bad) | SHM_NORESERVE
            ),
            Err(Errno::EINVAL)
        );
    }
    // Without CAP_IPC_LOCK or the hugetlb_shm_group: EPERM, with SHM_NORESERVE too.
    for who in [Who::User, Who::Member, Who::FsGroup] {
        assert_eq!(p.shmget(who, IPC_PRIVATE, 4096, huge), Err(Errno::EPERM));
        assert_eq!(
            p.shmget(who, IPC_PRIVATE, 4096, huge | SHM_NORESERVE),
            Err(Errno::EPERM)
        );
    }
    if free_huge_pages() == 0 {
        assert_eq!(
            p.shmget(Who::Root, IPC_PRIVATE, 4096, huge),
            Err(Errno::ENOMEM)
        );
    } else {
        // The host's pool is shared with every other process: not compared.
        eprintln!("skipping the ENOMEM case: the host has free huge pages");
    }
    let id = p
        .shmget(Who::Root, IPC_PRIVATE, 4096, huge | SHM_NORESERVE)
        .unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.ds.shm_segsz, st.mode()), (4096, 0o600));
    assert_eq!(p.usage().info.shm_tot, 1, "shm_tot counts small pages");
    // SHM_LOCK of a hugetlb segment succeeds and changes nothing.
    p.lock(Who::Root, id, SHM_LOCK).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), 0o600);
    p.shmget(Who::Root, IPC_PRIVATE, 1, huge | log(21) | SHM_NORESERVE)
        .unwrap();
    if std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-1048576kB").exists() {
        p.shmget(Who::Root, IPC_PRIVATE, 1, huge | log(30) | SHM_NORESERVE)
            .unwrap();
    } else {
        eprintln!("skipping the 1 GiB case: the host has no 1 GiB huge pages");
    }
    // The size bits mean nothing without SHM_HUGETLB.
    p.shmget(Who::User, IPC_PRIVATE, 1, RW | log(5)).unwrap();
}

#[test]
fn shm_next_id_sets_the_next_id_once_and_a_failed_creation_keeps_it() {
    let Some(p) = Pair::new("shm_next_id_sets_the_next_id_once_and_a_failed_creation_keeps_it")
    else {
        return;
    };
    assert_eq!(p.sysctl("shm_next_id", "-2"), Err(Errno::EINVAL));
    p.sysctl("shm_next_id", "300").unwrap();
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 0, RW), Err(Errno::EINVAL));
    assert_eq!(p.read_sysctls()[4], "300", "kept by a failed creation");
    assert_eq!(p.seg(Who::Root, 1, 0o600), 300);
    assert_eq!(p.read_sysctls()[4], "-1");
    assert_eq!(p.seg(Who::Root, 1, 0o600), 0);
    p.sysctl("shm_next_id", "300").unwrap();
    assert_eq!(p.seg(Who::Root, 1, 0o600), 301, "index 300 is busy");
    p.sysctl("shm_next_id", &((3 << 15) | 7).to_string())
        .unwrap();
    assert_eq!(p.seg(Who::Root, 1, 0o600), (3 << 15) | 7);
    p.sysctl("shmmni", "4").unwrap();
    p.sysctl("shm_next_id", "400").unwrap();
    assert_eq!(p.shmget(Who::Root, IPC_PRIVATE, 1, RW), Err(Errno::ENOSPC));
    assert_eq!(p.read_sysctls()[4], "400", "kept by ENOSPC");
}

#[test]
fn shm_sysctls_accept_and_reject_the_same_values() {
    let Some(p) = Pair::new("shm_sysctls_accept_and_reject_the_same_values") else {
        return;
    };
    assert_eq!(p.sysctl("shmmni", "32769"), Err(Errno::EINVAL));
    assert_eq!(p.sysctl("shmmni", "-1"), Err(Errno::EINVAL));
    p.sysctl("shmmni", "32768").unwrap();
    p.sysctl("shmmni", "0").unwrap();
    assert_eq!(p.sysctl("shm_rmid_forced", "2"), Err(Errno::EINVAL));
    assert_eq!(p.sysctl("shm_rmid_forced", "-1"), Err(Errno::EINVAL));
    p.sysctl("shm_rmid_forced", "1").unwrap();
    p.sysctl("shm_rmid_forced", "0").unwrap();
    for name in ["shmmax", "shmall"] {
        p.sysctl(name, &u64::MAX.to_string()).unwrap();
        p.sysctl(name, "0").unwrap();
        p.sysctl(name, "4096").unwrap();
        // The emulation's setter takes an unsigned long: a negative value cannot be asked of
        // it; the host refuses one (proc_doulongvec_minmax).
        assert_eq!(p.host.set_sysctl(name, "-1"), Err(Errno::EINVAL));
        p.read_sysctls();
    }
    assert_eq!(p.sysctl("shm_next_id", "2147483648"), Err(Errno::EINVAL));
    p.sysctl("shm_next_id", "2147483647").unwrap();
}

// ---------------------------------------------------------------------------------------------
// shmat / shmdt

#[test]
fn shmat_address_errors_come_before_the_lookup_and_the_permission_check() {
    let Some(p) = Pair::new("shmat_address_errors_come_before_the_lookup_and_the_permission_check")
    else {
        return;
    };
    let id = p.seg(Who::Root, 100, 0o600);
    let unaligned = p.region.start + 1;
    for who in [Who::Root, Who::User] {
        assert_eq!(p.attach(who, -1, 0), Err(Errno::EINVAL));
        for target in [id, 99999, -1] {
            assert_eq!(p.attach_at(who, target, unaligned, 0), Err(Errno::EINVAL));
            assert_eq!(p.attach(who, target, SHM_REMAP), Err(Errno::EINVAL));
            // SHM_RND rounds 100 down to 0, which SHM_REMAP cannot take.
            assert_eq!(
                p.attach_at(who, target, 100, SHM_RND | SHM_REMAP),
                Err(Errno::EINVAL)
            );
        }
        assert_eq!(p.attach(who, 99999, 0), Err(Errno::EINVAL));
        assert_eq!(p.attach(who, id + (1 << 15), 0), Err(Errno::EINVAL));
    }
    assert_eq!(p.attach(Who::User, id, 0), Err(Errno::EACCES));
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.times, st.lpid),
        (0, [Stamp::Zero, Stamp::Zero, Stamp::Advanced], Pid::Zero)
    );
}

#[test]
fn shmat_rounded_down_to_page_zero_is_eperm_without_cap_sys_rawio() {
    let Some(p) = Pair::new("shmat_rounded_down_to_page_zero_is_eperm_without_cap_sys_rawio")
    else {
        return;
    };
    // Page 0 lies below vm.mmap_min_addr; only CAP_SYS_RAWIO may map there, and User has no
    // capability. (Root, which has it, is not tried: the host would map page 0 of this process.)
    let id = p.seg(Who::Root, 100, 0o666);
    assert_eq!(p.attach_at(Who::User, id, 100, SHM_RND), Err(Errno::EPERM));
    assert_eq!(p.st(id).unwrap().nattch(), 0, "the refusal left no count");
}

#[test]
fn shmat_needs_read_write_and_exec_permission_as_asked_and_maps_with_that_protection() {
    let Some(p) = Pair::new(
        "shmat_needs_read_write_and_exec_permission_as_asked_and_maps_with_that_protection",
    ) else {
        return;
    };
    // Owner User (uid 1000, gid 1000): Member is in group 1000 by its supplementary groups,
    // FsGroup by its fsgid.
    let id = p.seg(Who::User, 100, 0o640);
    let attach = |who: Who, flags: i32| -> Result<Att, Errno> {
        let att = p.attach(who, id, flags)?;
        let emu = p
            .table
            .borrow()
            .find(att.emu)
            .map(|m| perms_of(m.protection()));
        p.same(&format!("protection of {att:?}"), host_perms(att.host), emu);
        Ok(att)
    };
    let mut made = Vec::new();
    made.push(attach(Who::User, 0).unwrap());
    assert_eq!(attach(Who::User, SHM_EXEC).unwrap_err(), Errno::EACCES);
    for who in [Who::Member, Who::FsGroup] {
        assert_eq!(attach(who, 0).unwrap_err(), Errno::EACCES);
        made.push(attach(who, SHM_RDONLY).unwrap());
        assert_eq!(
            attach(who, SHM_RDONLY | SHM_EXEC).unwrap_err(),
            Errno::EACCES
        );
    }
    for who in [Who::RootNoIpcOwner, Who::RootNoAdmin] {
        assert_eq!(attach(who, SHM_RDONLY).unwrap_err(), Errno::EACCES);
    }
    made.push(attach(Who::Root, SHM_EXEC).unwrap());
    assert_eq!(
        p.st(id).unwrap().nattch(),
        4,
        "refused attaches leave no count"
    );
    p.set_mode(Who::User, id, 0o754).unwrap();
    made.push(attach(Who::User, SHM_EXEC).unwrap());
    made.push(attach(Who::Member, SHM_RDONLY | SHM_EXEC).unwrap());
    made.push(attach(Who::RootNoIpcOwner, SHM_RDONLY).unwrap());
    assert_eq!(
        attach(Who::RootNoIpcOwner, SHM_RDONLY | SHM_EXEC).unwrap_err(),
        Errno::EACCES
    );
    assert_eq!(p.st(id).unwrap().nattch(), 7);
    for att in made {
        p.detach(att).unwrap();
    }
    assert_eq!(p.st(id).unwrap().nattch(), 0);
}

#[test]
fn shmat_and_shmdt_update_nattch_atime_dtime_and_lpid_but_not_ctime() {
    let Some(p) = Pair::new("shmat_and_shmdt_update_nattch_atime_dtime_and_lpid_but_not_ctime")
    else {
        return;
    };
    let id = p.seg(Who::Root, 5000, 0o666);
    let created = p.st(id).unwrap();
    assert_eq!(created.times, [Stamp::Zero, Stamp::Zero, Stamp::Advanced]);
    let a = p.attach(Who::User, id, 0).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.lpid, st.cpid),
        (1, Pid::Process, Pid::Process)
    );
    assert_eq!(st.times, [Stamp::Advanced, Stamp::Zero, Stamp::Unchanged]);
    let b = p.attach(Who::Member, id, SHM_RDONLY).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.times),
        (2, [Stamp::Advanced, Stamp::Zero, Stamp::Unchanged])
    );
    p.detach(a).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (1, Pid::Process));
    assert_eq!(
        st.times,
        [Stamp::Unchanged, Stamp::Advanced, Stamp::Unchanged]
    );
    p.detach(b).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.times),
        (0, [Stamp::Unchanged, Stamp::Advanced, Stamp::Unchanged])
    );
    assert_eq!(
        st.mode(),
        0o666,
        "without shm_rmid_forced an unattached segment stays"
    );
}

#[test]
fn attachments_share_the_same_bytes_and_a_new_segment_reads_zeros() {
    let Some(p) = Pair::new("attachments_share_the_same_bytes_and_a_new_segment_reads_zeros")
    else {
        return;
    };
    let size = 3 * P + 5;
    let mapped = 4 * PAGE;
    let id = p.seg(Who::Root, size, 0o600);
    let a = p.attach(Who::Root, id, 0).unwrap();
    let b = p.attach(Who::Root, id, 0).unwrap();
    let ro = p.attach(Who::Root, id, SHM_RDONLY).unwrap();
    assert_eq!(a.len, mapped);
    assert_eq!(
        p.read(a, 0, mapped),
        vec![0; mapped],
        "a new segment reads zeros"
    );
    p.write(a, 10, b"hello");
    assert_eq!(p.read(b, 10, 5), b"hello");
    assert_eq!(p.read(ro, 10, 5), b"hello");
    // The tail of the last page, past shm_segsz, is part of the segment too.
    p.write(b, mapped - 1, &[7]);
    assert_eq!(p.read(a, mapped - 1, 1), [7]);
    p.write(b, PAGE - 3, b"across");
    assert_eq!(p.read(ro, PAGE - 3, 6), b"across");
    for att in [a, b, ro] {
        p.detach(att).unwrap();
    }
    // The bytes live as long as the segment: a new attachment sees them.
    let c = p.attach(Who::Root, id, SHM_RDONLY).unwrap();
    assert_eq!(p.read(c, 10, 5), b"hello");
    assert_eq!(p.read(c, PAGE - 3, 6), b"across");
    p.detach(c).unwrap();
    // Another segment's memory is its own.
    let other = p.seg(Who::Root, size, 0o600);
    let d = p.attach(Who::Root, other, 0).unwrap();
    assert_eq!(p.read(d, 0, 16), [0; 16]);
    p.detach(d).unwrap();
}

#[test]
fn a_read_only_attachment_is_mapped_read_only_and_writing_through_it_faults() {
    let Some(p) =
        Pair::new("a_read_only_attachment_is_mapped_read_only_and_writing_through_it_faults")
    else {
        return;
    };
    let id = p.seg(Who::Root, 100, 0o600);
    let rw = p.attach(Who::Root, id, 0).unwrap();
    let ro = p.attach(Who::Root, id, SHM_RDONLY).unwrap();
    p.write(rw, 99, b"z");
    assert_eq!(p.read(ro, 99, 1), b"z");
    // docs/conformance.md, "SHM_RDONLY writes fault (EFAULT through AttachTable::write)": the
    // host maps it without PROT_WRITE (a write would be SIGSEGV, so none is made there); the
    // emulation's table refuses the write with EFAULT and changes nothing.
    assert_eq!(host_perms(ro.host).as_deref(), Some("r--s"));
    let table = p.table.borrow();
    assert_eq!(
        table.find(ro.emu).map(|m| m.protection()),
        Some(Protection::READ)
    );
    assert_eq!(table.write(ro.emu + 99, b"w"), Err(Errno::EFAULT));
    drop(table);
    assert_eq!(p.read(rw, 99, 1), b"z");
    p.detach(ro).unwrap();
    p.detach(rw).unwrap();
}

#[test]
fn shmat_fixed_address_is_used_as_given_and_shm_rnd_rounds_it_down() {
    let Some(p) = Pair::new("shmat_fixed_address_is_used_as_given_and_shm_rnd_rounds_it_down")
    else {
        return;
    };
    let id = p.seg(Who::Root, 2 * P, 0o600);
    let x = p.hole(0, 4);
    let a = p.attach_at(Who::Root, id, x, 0).unwrap();
    assert_eq!(a.host, x);
    p.write(a, 0, b"fixed");
    p.detach(a).unwrap();
    for offset in [1, 123, PAGE - 1] {
        let a = p.attach_at(Who::Root, id, x + offset, SHM_RND).unwrap();
        assert_eq!(a.host, x, "SHM_RND rounds down to SHMLBA");
        assert_eq!(p.read(a, 0, 5), b"fixed");
        p.detach(a).unwrap();
    }
    let a = p
        .attach_at(Who::Root, id, x + PAGE + 7, SHM_RND | SHM_RDONLY)
        .unwrap();
    assert_eq!(a.host, x + PAGE);
    let b = p.attach_at(Who::Root, id, x + 3 * PAGE - 1, SHM_RND);
    assert_eq!(b, Err(Errno::EINVAL), "rounded to x + 2 pages: overlaps a");
    p.detach(a).unwrap();
    // No exact-address attach may straddle the end of the hole (the reservation is there).
    assert_eq!(p.st(id).unwrap().nattch(), 0);
}

#[test]
fn shmat_fixed_address_overlapping_an_attachment_is_einval() {
    let Some(p) = Pair::new("shmat_fixed_address_overlapping_an_attachment_is_einval") else {
        return;
    };
    let a = p.seg(Who::Root, 2 * P, 0o600);
    let b = p.seg(Who::Root, 2 * P, 0o600);
    let x = p.hole(0, 6);
    let at = p.attach_at(Who::Root, a, x + 2 * PAGE, 0).unwrap();
    for addr in [x + PAGE, x + 2 * PAGE, x + 3 * PAGE] {
        assert_eq!(p.attach_at(Who::Root, b, addr, 0), Err(Errno::EINVAL));
    }
    assert_eq!(p.st(b).unwrap().nattch(), 0);
    let below = p.attach_at(Who::Root, b, x, 0).unwrap();
    let above = p.attach_at(Who::Root, b, x + 4 * PAGE, SHM_RDONLY).unwrap();
    assert_eq!(
        (p.st(a).unwrap().nattch(), p.st(b).unwrap().nattch()),
        (1, 2)
    );
    // docs/conformance.md, "other mappings of the process (the table knows only shm)": the
    // host refuses a fixed address over memory the process maps otherwise (here the pair's
    // PROT_NONE reservation); the emulation's table sees nothing there and attaches.
    let reserved = p.region.start + 10 * PAGE;
    let host = p.host.shmat(&p.party(Who::Root).host, b, reserved, 0);
    assert_eq!(host, Err(Errno::EINVAL));
    let emu = p.emu(|ns| {
        ns.shmat(
            &p.party(Who::Root).emu,
            &mut p.table.borrow_mut(),
            b,
            reserved,
            0,
        )
    });
    assert_eq!(emu, Ok(reserved));
    p.emu(|ns| ns.shmdt(&mut p.table.borrow_mut(), reserved))
        .unwrap();
    for att in [at, below, above] {
        p.detach(att).unwrap();
    }
    let st = p.st(b).unwrap();
    assert_eq!((st.nattch(), st.lpid), (0, Pid::Process));
}

#[test]
fn shm_remap_replaces_what_it_overlaps_and_that_counts_as_a_detach() {
    let Some(p) = Pair::new("shm_remap_replaces_what_it_overlaps_and_that_counts_as_a_detach")
    else {
        return;
    };
    let a = p.seg(Who::Root, 2 * P, 0o600);
    let b = p.seg(Who::Root, 2 * P, 0o600);
    let c = p.seg(Who::Root, 1, 0o600);
    let x = p.hole(0, 2);
    let first = p.attach_at(Who::Root, a, x, 0).unwrap();
    p.write(first, 0, b"a's");
    p.st(a).unwrap();
    // Wholly replaced: a loses its only attachment.
    let second = p.attach_at(Who::Root, b, x, SHM_REMAP).unwrap();
    assert_eq!(second.host, x);
    let st = p.st(a).unwrap();
    assert_eq!((st.nattch(), st.lpid), (0, Pid::Process));
    assert_eq!(
        st.times,
        [Stamp::Unchanged, Stamp::Advanced, Stamp::Unchanged]
    );
    assert_eq!(p.st(b).unwrap().nattch(), 1);
    assert_eq!(p.read(second, 0, 3), [0; 3], "b's bytes, not a's");
    p.write(second, PAGE, b"b's second page");
    // Partly replaced: the page of b that stays is one mapping (a split, then a close).
    let third = p.attach_at(Who::Root, c, x + PAGE, SHM_REMAP).unwrap();
    let st = p.st(b).unwrap();
    assert_eq!(st.nattch(), 1);
    assert_eq!(
        st.times,
        [Stamp::Advanced, Stamp::Advanced, Stamp::Unchanged]
    );
    assert_eq!(p.st(c).unwrap().nattch(), 1);
    assert_eq!(p.read(third, 0, 15), [0; 15]);
    // shmdt(x) detaches what is left of b at x, not c next to it.
    p.shmdt_at(x, x).unwrap();
    assert_eq!(
        (p.st(b).unwrap().nattch(), p.st(c).unwrap().nattch()),
        (0, 1)
    );
    p.detach(third).unwrap();
    assert_eq!(p.st(c).unwrap().nattch(), 0);
    // SHM_REMAP over the reservation itself (the host replaces its PROT_NONE pages).
    let over = p.attach_at(
        Who::Root,
        a,
        p.region.start + 8 * PAGE + 5,
        SHM_RND | SHM_REMAP,
    );
    let over = over.unwrap();
    assert_eq!(over.host, p.region.start + 8 * PAGE);
    assert_eq!(p.read(over, 0, 3), b"a's");
    p.detach(over).unwrap();
}

#[test]
fn shmdt_needs_the_page_aligned_start_of_an_attachment() {
    let Some(p) = Pair::new("shmdt_needs_the_page_aligned_start_of_an_attachment") else {
        return;
    };
    let id = p.seg(Who::Root, 2 * P, 0o600);
    let a = p.attach(Who::Root, id, 0).unwrap();
    assert_eq!(
        p.shmdt_at(a.host + 1, a.emu + 1),
        Err(Errno::EINVAL),
        "unaligned"
    );
    assert_eq!(
        p.shmdt_at(a.host + PAGE, a.emu + PAGE),
        Err(Errno::EINVAL),
        "inside"
    );
    let reserved = p.region.start + 3 * PAGE;
    assert_eq!(
        p.shmdt_at(reserved, reserved),
        Err(Errno::EINVAL),
        "no attachment there"
    );
    assert_eq!(p.st(id).unwrap().nattch(), 1);
    p.detach(a).unwrap();
    assert_eq!(
        p.shmdt_at(a.host, a.emu),
        Err(Errno::EINVAL),
        "already detached"
    );
    let x = p.hole(0, 2);
    let fixed = p.attach_at(Who::Root, id, x, 0).unwrap();
    assert_eq!(p.shmdt_at(x + PAGE, x + PAGE), Err(Errno::EINVAL));
    p.detach(fixed).unwrap();
    assert_eq!(p.shmdt_at(x, x), Err(Errno::EINVAL));
    assert_eq!(p.st(id).unwrap().nattch(), 0);
}

#[test]
fn a_fork_copies_attachments_with_the_parent_as_lpid_and_the_childs_exit_detaches_them() {
    let Some(p) = Pair::new(
        "a_fork_copies_attachments_with_the_parent_as_lpid_and_the_childs_exit_detaches_them",
    ) else {
        return;
    };
    let id = p.seg(Who::Root, 100, 0o600);
    let a = p.attach(Who::Root, id, 0).unwrap();
    let b = p.attach(Who::Root, id, SHM_RDONLY).unwrap();
    p.st(id).unwrap();
    let (child, results) = p.fork(Who::Root, "child", &[]);
    assert!(results.is_empty());
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.lpid),
        (4, Pid::Process),
        "copies opened by the parent"
    );
    assert_eq!(st.times, [Stamp::Advanced, Stamp::Zero, Stamp::Unchanged]);
    child.exit();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (2, Pid::Thread("child")));
    assert_eq!(
        st.times,
        [Stamp::Unchanged, Stamp::Advanced, Stamp::Unchanged]
    );
    p.write(a, 0, b"parent");
    assert_eq!(p.read(b, 0, 6), b"parent");
    p.detach(a).unwrap();
    p.detach(b).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (0, Pid::Process));
}

#[test]
fn a_forked_child_attaching_and_detaching_records_its_own_pid() {
    let Some(p) = Pair::new("a_forked_child_attaching_and_detaching_records_its_own_pid") else {
        return;
    };
    let id = p.seg(Who::Root, 100, 0o644);
    let a = p.attach(Who::Root, id, 0).unwrap();
    let (child, results) = p.fork(
        Who::User,
        "child",
        &[
            ChildCall::Attach { id, flags: 0 },
            ChildCall::Attach {
                id,
                flags: SHM_RDONLY,
            },
            ChildCall::Detach(a),
            ChildCall::Detach(a),
            ChildCall::Attach {
                id: id + 1,
                flags: 0,
            },
        ],
    );
    assert_eq!(
        results,
        [
            Err(Errno::EACCES),
            Ok(()),
            Ok(()),
            Err(Errno::EINVAL),
            Err(Errno::EINVAL)
        ]
    );
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.lpid),
        (2, Pid::Thread("child")),
        "a + the child's own"
    );
    child.exit();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (1, Pid::Thread("child")));
    p.write(a, 0, b"still mine");
    assert_eq!(p.read(a, 0, 10), b"still mine");
    p.detach(a).unwrap();
    assert_eq!(p.st(id).unwrap().lpid, Pid::Process);
}

#[test]
fn splitting_an_attachment_counts_each_piece_and_shmdt_detaches_every_fragment() {
    let Some(p) =
        Pair::new("splitting_an_attachment_counts_each_piece_and_shmdt_detaches_every_fragment")
    else {
        return;
    };
    // LTP shmat04: the middle page made inaccessible, then the first two writable again.
    let id = p.seg(Who::Root, 3 * P, 0o600);
    let a = p.attach(Who::Root, id, 0).unwrap();
    p.st(id).unwrap();
    p.protect(a, PAGE, PAGE, Protection::empty()).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.nattch(), st.lpid),
        (3, Pid::Process),
        "a split opens two more"
    );
    assert_eq!(st.times, [Stamp::Advanced, Stamp::Zero, Stamp::Unchanged]);
    p.protect(a, 0, 2 * PAGE, Protection::READ | Protection::WRITE)
        .unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(st.nattch(), 3);
    p.shmdt_at(a.host, a.emu).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (0, Pid::Process));
    assert_eq!(st.times[1], Stamp::Advanced);
    // Write access cannot be added to a read-only attachment.
    let ro = p.attach(Who::Root, id, SHM_RDONLY).unwrap();
    assert_eq!(
        p.protect(ro, 0, PAGE, Protection::READ | Protection::WRITE),
        Err(Errno::EACCES)
    );
    assert_eq!(p.st(id).unwrap().nattch(), 1);
    p.shmdt_at(ro.host, ro.emu).unwrap();
}

#[test]
fn unmapping_part_of_an_attachment_leaves_fragments_that_shmdt_of_its_start_detaches() {
    let Some(p) = Pair::new(
        "unmapping_part_of_an_attachment_leaves_fragments_that_shmdt_of_its_start_detaches",
    ) else {
        return;
    };
    let id = p.seg(Who::Root, 3 * P, 0o600);
    let x = p.hole(0, 3);
    // The first page: split (+1), then that piece closes (-1).
    let a = p.attach_at(Who::Root, id, x, 0).unwrap();
    p.st(id).unwrap();
    p.unmap(a, 0, PAGE).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (1, Pid::Process));
    assert_eq!(
        st.times,
        [Stamp::Advanced, Stamp::Advanced, Stamp::Unchanged]
    );
    assert_eq!(
        p.shmdt_at(x + PAGE, x + PAGE),
        Err(Errno::EINVAL),
        "not where it starts"
    );
    p.shmdt_at(x, x).unwrap();
    assert_eq!(p.st(id).unwrap().nattch(), 0);
    // The middle page: two fragments are left, both detached by shmdt of the start.
    let x = p.hole(4, 3);
    let b = p.attach_at(Who::Root, id, x, 0).unwrap();
    p.unmap(b, PAGE, PAGE).unwrap();
    assert_eq!(p.st(id).unwrap().nattch(), 2);
    p.shmdt_at(x, x).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (0, Pid::Process));
}

// ---------------------------------------------------------------------------------------------
// IPC_RMID

#[test]
fn ipc_rmid_of_an_unattached_segment_destroys_it_at_once() {
    let Some(p) = Pair::new("ipc_rmid_of_an_unattached_segment_destroys_it_at_once") else {
        return;
    };
    let id = p.shmget(Who::Root, 0x51, 100, RW).unwrap();
    p.rmid(Who::Root, id).unwrap();
    assert_eq!(p.st(id), Err(Errno::EINVAL));
    assert_eq!(p.rmid(Who::Root, id), Err(Errno::EINVAL));
    assert_eq!(p.attach(Who::Root, id, 0), Err(Errno::EINVAL));
    assert_eq!(p.shmget(Who::Root, 0x51, 0, 0), Err(Errno::ENOENT));
    let u = p.usage();
    assert_eq!((u.max, u.info.used_ids, u.info.shm_tot), (0, 0, 0));
}

#[test]
fn ipc_rmid_of_an_attached_segment_marks_it_dest_hides_its_key_and_keeps_the_id_working() {
    let Some(p) = Pair::new(
        "ipc_rmid_of_an_attached_segment_marks_it_dest_hides_its_key_and_keeps_the_id_working",
    ) else {
        return;
    };
    let id = p.shmget(Who::User, 0x51, 100, IPC_CREAT | 0o640).unwrap();
    let a = p.attach(Who::User, id, 0).unwrap();
    p.write(a, 0, b"before");
    p.st(id).unwrap();
    p.rmid(Who::User, id).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(
        (st.mode(), st.ds.shm_perm.key),
        (SHM_DEST as u32 | 0o640, IPC_PRIVATE)
    );
    assert_eq!(st.nattch(), 1);
    assert_eq!(st.times[2], Stamp::Unchanged, "IPC_RMID leaves ctime");
    assert_eq!(p.shmget(Who::User, 0x51, 0, 0), Err(Errno::ENOENT));
    // The key is free for a new segment; the old id still works for everything.
    let fresh = p.shmget(Who::User, 0x51, 100, RW).unwrap();
    assert_ne!(fresh, id);
    let b = p.attach(Who::Member, id, SHM_RDONLY).unwrap();
    assert_eq!(p.read(b, 0, 6), b"before");
    assert_eq!(p.st(id).unwrap().nattch(), 2);
    assert_eq!(p.stat(Who::Member, 0, SHM_STAT).map(|s| s.ret), Ok(id));
    p.set_mode(Who::User, id, 0o600).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), SHM_DEST as u32 | 0o600);
    assert_eq!(p.rmid(Who::Member, id), Err(Errno::EPERM));
    assert_eq!(
        p.rmid(Who::User, id),
        Ok(()),
        "a second IPC_RMID is 0 again"
    );
    let u = p.usage();
    assert_eq!(
        (u.max, u.info.used_ids, u.info.shm_tot),
        (1, 2, 2),
        "SHM_DEST still counts"
    );
    p.detach(a).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!((st.nattch(), st.lpid), (1, Pid::Process));
    p.detach(b).unwrap();
    assert_eq!(p.st(id), Err(Errno::EINVAL), "destroyed at the last detach");
    assert_eq!(p.rmid(Who::User, id), Err(Errno::EINVAL));
    assert_eq!(p.attach(Who::User, id, 0), Err(Errno::EINVAL));
    let u = p.usage();
    assert_eq!((u.max, u.info.used_ids, u.info.shm_tot), (1, 1, 1));
    assert_eq!(p.shmget(Who::User, 0x51, 0, 0), Ok(fresh));
}

#[test]
fn ipc_rmid_and_ipc_set_need_the_owner_the_creator_or_cap_sys_admin() {
    let Some(p) = Pair::new("ipc_rmid_and_ipc_set_need_the_owner_the_creator_or_cap_sys_admin")
    else {
        return;
    };
    let id = p.seg(Who::User, 100, 0o666);
    for who in [Who::Member, Who::FsGroup, Who::RootNoAdmin] {
        assert_eq!(p.rmid(who, id), Err(Errno::EPERM), "{who:?}");
        assert_eq!(p.set_mode(who, id, 0o600), Err(Errno::EPERM), "{who:?}");
    }
    // The new owner may, and so may the creator.
    p.ipc_set(Who::User, id, |ds| ds.shm_perm.uid = 2000)
        .unwrap();
    p.set_mode(Who::Member, id, 0o640).unwrap();
    p.set_mode(Who::User, id, 0o660).unwrap();
    assert_eq!(p.set_mode(Who::FsGroup, id, 0o600), Err(Errno::EPERM));
    p.set_mode(Who::RootNoIpcOwner, id, 0o644).unwrap();
    let perm = p.st(id).unwrap().ds.shm_perm;
    assert_eq!((perm.uid, perm.cuid, perm.mode), (2000, 1000, 0o644));
    let other = p.seg(Who::User, 100, 0o666);
    p.rmid(Who::Member, id).unwrap();
    p.rmid(Who::RootNoIpcOwner, other).unwrap();
    assert_eq!(p.usage().info.used_ids, 0);
}

// ---------------------------------------------------------------------------------------------
// IPC_SET

#[test]
fn ipc_set_changes_owner_and_low_mode_bits_keeps_shm_dest_and_shm_locked_and_stamps_ctime() {
    let Some(p) = Pair::new(
        "ipc_set_changes_owner_and_low_mode_bits_keeps_shm_dest_and_shm_locked_and_stamps_ctime",
    ) else {
        return;
    };
    let id = p.seg(Who::User, 100, 0o640);
    let a = p.attach(Who::User, id, 0).unwrap();
    p.lock(Who::Root, id, SHM_LOCK).unwrap();
    p.rmid(Who::User, id).unwrap();
    let before = p.st(id).unwrap();
    assert_eq!(before.mode(), (SHM_DEST | SHM_LOCKED) as u32 | 0o640);
    p.ipc_set(Who::User, id, |ds| {
        ds.shm_perm.uid = 2000;
        ds.shm_perm.gid = 3000;
        ds.shm_perm.mode = 0o7604;
        ds.shm_perm.cuid = 7;
        ds.shm_segsz = 1;
        ds.shm_nattch = 9;
    })
    .unwrap();
    let st = p.st(id).unwrap();
    let perm = st.ds.shm_perm;
    assert_eq!(
        (perm.uid, perm.gid, perm.cuid, perm.cgid),
        (2000, 3000, 1000, 1000),
        "only uid and gid change; the creator stays"
    );
    assert_eq!(st.mode(), (SHM_DEST | SHM_LOCKED) as u32 | 0o604);
    assert_eq!((st.ds.shm_segsz, st.nattch()), (100, 1));
    assert_eq!(st.times, [Stamp::Unchanged, Stamp::Zero, Stamp::Advanced]);
    // Clearing every bit cannot clear the state bits either.
    p.set_mode(Who::Member, id, 0).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), (SHM_DEST | SHM_LOCKED) as u32);
    p.lock(Who::Root, id, SHM_UNLOCK).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), SHM_DEST as u32);
    p.detach(a).unwrap();
    assert_eq!(p.st(id), Err(Errno::EINVAL));
}

#[test]
fn ipc_set_unmappable_uid_or_gid_is_einval_after_the_eperm_check() {
    let Some(p) = Pair::new("ipc_set_unmappable_uid_or_gid_is_einval_after_the_eperm_check") else {
        return;
    };
    let id = p.seg(Who::User, 100, 0o600);
    p.st(id).unwrap();
    assert_eq!(
        p.ipc_set(Who::Member, id, |ds| ds.shm_perm.uid = u32::MAX),
        Err(Errno::EPERM)
    );
    assert_eq!(
        p.ipc_set(Who::User, id, |ds| ds.shm_perm.uid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        p.ipc_set(Who::User, id, |ds| ds.shm_perm.gid = u32::MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(p.ipc_set(Who::User, 99999, |_| ()), Err(Errno::EINVAL));
    let st = p.st(id).unwrap();
    assert_eq!((st.ds.shm_perm.uid, st.mode()), (1000, 0o600));
    assert_eq!(
        st.times[2],
        Stamp::Unchanged,
        "a failed IPC_SET changes nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// IPC_STAT, SHM_STAT, SHM_STAT_ANY

#[test]
fn ipc_stat_and_shm_stat_need_read_permission_and_shm_stat_any_does_not() {
    let Some(p) = Pair::new("ipc_stat_and_shm_stat_need_read_permission_and_shm_stat_any_does_not")
    else {
        return;
    };
    let id = p.seg(Who::User, 100, 0o600);
    for who in [Who::Member, Who::FsGroup, Who::RootNoIpcOwner] {
        assert_eq!(p.stat(who, id, IPC_STAT), Err(Errno::EACCES), "{who:?}");
        assert_eq!(p.stat(who, 0, SHM_STAT), Err(Errno::EACCES), "{who:?}");
        assert_eq!(
            p.stat(who, 0, SHM_STAT_ANY).map(|s| s.ret),
            Ok(id),
            "{who:?}"
        );
    }
    assert_eq!(p.stat(Who::User, id, IPC_STAT).map(|s| s.ret), Ok(0));
    assert_eq!(p.stat(Who::Root, 0, SHM_STAT).map(|s| s.ret), Ok(id));
    p.set_mode(Who::User, id, 0o640).unwrap();
    assert_eq!(p.stat(Who::Member, id, IPC_STAT).map(|s| s.ret), Ok(0));
    assert_eq!(p.stat(Who::FsGroup, 0, SHM_STAT).map(|s| s.ret), Ok(id));
    assert_eq!(
        p.stat(Who::RootNoIpcOwner, id, IPC_STAT),
        Err(Errno::EACCES)
    );
    p.set_mode(Who::User, id, 0).unwrap();
    assert_eq!(
        p.stat(Who::User, id, IPC_STAT),
        Err(Errno::EACCES),
        "owner with mode 0"
    );
    assert_eq!(p.stat(Who::User, 0, SHM_STAT_ANY).map(|s| s.ret), Ok(id));
}

#[test]
fn shm_stat_takes_an_index_and_returns_the_full_id() {
    let Some(p) = Pair::new("shm_stat_takes_an_index_and_returns_the_full_id") else {
        return;
    };
    let wanted = (2 << 15) | 5;
    p.sysctl("shm_next_id", &wanted.to_string()).unwrap();
    let id = p.seg(Who::Root, 10, 0o600);
    assert_eq!(id, wanted);
    for index in [5, id, (1 << 15) | 5, (7 << 15) | 5] {
        for cmd in [SHM_STAT, SHM_STAT_ANY] {
            assert_eq!(p.stat(Who::Root, index, cmd).map(|s| s.ret), Ok(id));
        }
    }
    for index in [0, 4, 6, 32767, -1] {
        assert_eq!(p.stat(Who::Root, index, SHM_STAT), Err(Errno::EINVAL));
    }
    // IPC_STAT checks the sequence number.
    assert_eq!(p.st(5), Err(Errno::EINVAL));
    assert_eq!(p.st(id + (1 << 15)), Err(Errno::EINVAL));
    assert_eq!(p.usage().max, 5);
}

#[test]
fn shmctl_negative_ids_unknown_commands_and_ipc_64_are_einval() {
    let Some(p) = Pair::new("shmctl_negative_ids_unknown_commands_and_ipc_64_are_einval") else {
        return;
    };
    let id = p.seg(Who::Root, 100, 0o600);
    for cmd in [-1, 16, 99, IPC_STAT | IPC_64, SHM_INFO | IPC_64, i32::MIN] {
        assert_eq!(
            p.ctl_undecodable(id, cmd),
            Err(Errno::EINVAL),
            "cmd {cmd:#x}"
        );
    }
    for bad in [-1, i32::MIN] {
        for cmd in [IPC_STAT, SHM_STAT, SHM_STAT_ANY] {
            assert_eq!(p.stat(Who::Root, bad, cmd), Err(Errno::EINVAL));
        }
        assert_eq!(p.set_mode(Who::Root, bad, 0o600), Err(Errno::EINVAL));
        assert_eq!(p.rmid(Who::Root, bad), Err(Errno::EINVAL));
        assert_eq!(p.lock(Who::Root, bad, SHM_LOCK), Err(Errno::EINVAL));
        assert_eq!(p.lock(Who::Root, bad, SHM_UNLOCK), Err(Errno::EINVAL));
        assert_eq!(p.ipc_info(bad), Err(Errno::EINVAL));
        assert_eq!(p.shm_info(bad).map(|u| u.max), Err(Errno::EINVAL));
    }
}

// ---------------------------------------------------------------------------------------------
// IPC_INFO, SHM_INFO

#[test]
fn ipc_info_reports_the_namespace_limits_and_the_highest_index() {
    let Some(p) = Pair::new("ipc_info_reports_the_namespace_limits_and_the_highest_index") else {
        return;
    };
    let (max, info) = p.ipc_info(0).unwrap();
    assert_eq!(max, 0);
    assert_eq!(
        (
            info.shmmax,
            info.shmmin,
            info.shmmni,
            info.shmseg,
            info.shmall
        ),
        (abi::SHMMAX, 1, 4096, 4096, abi::SHMALL)
    );
    p.sysctl("shmmax", "123456").unwrap();
    p.sysctl("shmmni", "77").unwrap();
    p.sysctl("shmall", "99").unwrap();
    p.seg(Who::Root, 1, 0o600);
    p.seg(Who::Root, 1, 0o600);
    let (max, info) = p.ipc_info(12345).unwrap();
    assert_eq!(max, 1);
    assert_eq!(
        (
            info.shmmax,
            info.shmmin,
            info.shmmni,
            info.shmseg,
            info.shmall
        ),
        (123_456, 1, 77, 77, 99),
        "shmseg is shmmni"
    );
}

#[test]
fn shm_info_counts_segments_including_removed_attached_ones_and_their_pages() {
    let Some(p) =
        Pair::new("shm_info_counts_segments_including_removed_attached_ones_and_their_pages")
    else {
        return;
    };
    let u = p.usage();
    assert_eq!((u.max, u.info, u.rss), (0, ShmInfo::default(), (0, 0)));
    let a = p.seg(Who::Root, 5000, 0o600);
    let b = p.seg(Who::User, 3 * P, 0o600);
    let att = p.attach(Who::User, b, 0).unwrap();
    let u = p.usage();
    assert_eq!(
        (u.max, u.info.used_ids, u.info.shm_tot, u.rss),
        (1, 2, 5, (0, 0))
    );
    p.write(att, 0, &[1]);
    p.write(att, 2 * PAGE + 100, &[1; 10]);
    p.rmid(Who::User, b).unwrap();
    let u = p.usage();
    assert_eq!((u.max, u.info.used_ids, u.info.shm_tot), (1, 2, 5));
    assert_eq!(u.rss, (2, 2), "the pages written");
    assert_eq!(
        (u.info.shm_swp, u.info.swap_attempts, u.info.swap_successes),
        (0, 0, 0)
    );
    p.rmid(Who::Root, a).unwrap();
    let u = p.usage();
    assert_eq!(
        (u.max, u.info.used_ids, u.info.shm_tot, u.rss),
        (1, 1, 3, (2, 2))
    );
    p.detach(att).unwrap();
    let u = p.usage();
    assert_eq!((u.max, u.info, u.rss), (0, ShmInfo::default(), (0, 0)));
}

#[test]
fn shm_rss_counts_pages_read_or_written_through_a_mapping() {
    let Some(p) = Pair::new("shm_rss_counts_pages_read_or_written_through_a_mapping") else {
        return;
    };
    let id = p.seg(Who::Root, 3 * P, 0o600);
    let a = p.attach(Who::Root, id, 0).unwrap();
    p.write(a, PAGE, b"written");
    assert_eq!(p.usage().rss, (1, 1));
    // Reading a page never written faults one in (shmem allocates on a read fault).
    assert_eq!(p.read(a, 2 * PAGE, 1), [0]);
    assert_eq!(p.usage().rss, (2, 2));
    p.write(a, 2 * PAGE, b"now written");
    assert_eq!(p.usage().rss, (2, 2));
    p.detach(a).unwrap();
    assert_eq!(p.usage().rss, (2, 2), "the pages stay after the detach");
}

// ---------------------------------------------------------------------------------------------
// SHM_LOCK, SHM_UNLOCK

#[test]
fn shm_lock_and_unlock_toggle_shm_locked_for_the_owner_the_creator_or_cap_ipc_lock() {
    let _account = LOCK_ACCOUNT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(p) = Pair::new(
        "shm_lock_and_unlock_toggle_shm_locked_for_the_owner_the_creator_or_cap_ipc_lock",
    ) else {
        return;
    };
    let id = p.seg(Who::User, 2 * P, 0o666);
    p.st(id).unwrap();
    p.lock(Who::RootNoAdmin, id, SHM_LOCK).unwrap();
    let st = p.st(id).unwrap();
    assert_eq!(st.mode(), SHM_LOCKED as u32 | 0o666);
    assert_eq!(st.times[2], Stamp::Unchanged, "SHM_LOCK leaves ctime");
    p.lock(Who::Root, id, SHM_LOCK).unwrap();
    // Neither owner nor creator, without CAP_IPC_LOCK: EPERM, for SHM_UNLOCK too, whatever
    // the mode grants.
    for who in [Who::Member, Who::FsGroup] {
        assert_eq!(p.lock(who, id, SHM_LOCK), Err(Errno::EPERM));
        assert_eq!(p.lock(who, id, SHM_UNLOCK), Err(Errno::EPERM));
    }
    p.lock(Who::User, id, SHM_UNLOCK).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), 0o666);
    p.lock(Who::User, id, SHM_UNLOCK).unwrap();
    // The owner after IPC_SET may; the creator still may.
    p.ipc_set(Who::User, id, |ds| ds.shm_perm.uid = 2000)
        .unwrap();
    p.lock(Who::Member, id, SHM_LOCK).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), SHM_LOCKED as u32 | 0o666);
    p.lock(Who::User, id, SHM_UNLOCK).unwrap();
    assert_eq!(p.st(id).unwrap().mode(), 0o666);
    assert_eq!(p.lock(Who::Root, 99999, SHM_LOCK), Err(Errno::EINVAL));
    p.rmid(Who::User, id).unwrap();
    assert_eq!(p.lock(Who::Root, id, SHM_UNLOCK), Err(Errno::EINVAL));
}

#[test]
fn shm_lock_without_cap_ipc_lock_is_bounded_by_rlimit_memlock() {
    let _account = LOCK_ACCOUNT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(p) = Pair::new("shm_lock_without_cap_ipc_lock_is_bounded_by_rlimit_memlock") else {
        return;
    };
    let limit = p.memlock;
    let small = p.seg(Who::User, P, 0o600);
    if limit == 0 {
        assert_eq!(p.lock(Who::User, small, SHM_LOCK), Err(Errno::EPERM));
        assert_eq!(p.lock(Who::User, small, SHM_UNLOCK), Ok(()));
        eprintln!("RLIMIT_MEMLOCK is 0: only the EPERM case is shown");
        return;
    }
    p.lock(Who::User, small, SHM_LOCK).unwrap();
    if limit == u64::MAX {
        p.lock(Who::User, small, SHM_UNLOCK).unwrap();
        eprintln!("RLIMIT_MEMLOCK is unlimited: no ENOMEM case to show");
        return;
    }
    // (On the host the charge goes to the real uid of the namespace thread, root, and is
    // shared with every root lock of the machine; the sizes leave half the limit as margin.)
    let big = p.seg(Who::User, limit + P, 0o600);
    assert_eq!(p.lock(Who::User, big, SHM_LOCK), Err(Errno::ENOMEM));
    assert_eq!(p.st(big).unwrap().mode(), 0o600);
    let half = p.seg(Who::User, limit / 2 + P, 0o600);
    let rest = p.seg(Who::User, limit / 2, 0o600);
    p.lock(Who::User, half, SHM_LOCK).unwrap();
    assert_eq!(
        p.lock(Who::User, rest, SHM_LOCK),
        Err(Errno::ENOMEM),
        "charges add up"
    );
    p.lock(Who::User, half, SHM_UNLOCK).unwrap();
    p.lock(Who::User, rest, SHM_LOCK).unwrap();
    // CAP_IPC_LOCK is not bounded.
    p.lock(Who::Root, big, SHM_LOCK).unwrap();
    for id in [small, rest, big] {
        p.lock(Who::Root, id, SHM_UNLOCK).unwrap();
    }
}

#[test]
fn shm_lock_charges_go_to_the_real_uid_shared_by_callers_with_other_euids() {
    let _account = LOCK_ACCOUNT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(p) =
        Pair::new("shm_lock_charges_go_to_the_real_uid_shared_by_callers_with_other_euids")
    else {
        return;
    };
    let limit = p.memlock;
    if limit == 0 || limit == u64::MAX {
        eprintln!("RLIMIT_MEMLOCK is {limit}: no budget to share");
        return;
    }
    // Every host caller switches only its effective ids: its real uid stays 0, and
    // `user_shm_lock` charges `current_ucounts()`, the real uid's. User and Member therefore
    // draw on one budget, on Linux and here (their emulated credentials have real uid 0 too).
    let a = p.seg(Who::User, limit / 2 + P, 0o600);
    let b = p.seg(Who::Member, limit / 2 + P, 0o600);
    p.lock(Who::User, a, SHM_LOCK).unwrap();
    assert_eq!(p.lock(Who::Member, b, SHM_LOCK), Err(Errno::ENOMEM));
    p.lock(Who::User, a, SHM_UNLOCK).unwrap();
}

// ---------------------------------------------------------------------------------------------
// shm_rmid_forced

#[test]
fn shm_rmid_forced_destroys_a_segment_at_its_last_detach() {
    let Some(p) = Pair::new("shm_rmid_forced_destroys_a_segment_at_its_last_detach") else {
        return;
    };
    let id = p.seg(Who::Root, 100, 0o600);
    let kept = p.seg(Who::Root, 100, 0o600);
    p.sysctl("shm_rmid_forced", "1").unwrap();
    let a = p.attach(Who::Root, id, 0).unwrap();
    let b = p.attach(Who::Root, id, 0).unwrap();
    p.detach(a).unwrap();
    assert_eq!(p.st(id).unwrap().nattch(), 1);
    p.detach(b).unwrap();
    assert_eq!(p.st(id), Err(Errno::EINVAL));
    assert_eq!(p.st(kept).unwrap().nattch(), 0, "never attached: kept");
    // A forked child's exit is a detach too.
    let c = p.attach(Who::Root, kept, 0).unwrap();
    let (child, _) = p.fork(Who::Root, "child", &[ChildCall::Detach(c)]);
    child.exit();
    assert_eq!(p.st(kept).unwrap().nattch(), 1);
    p.detach(c).unwrap();
    assert_eq!(p.st(kept), Err(Errno::EINVAL));
}

#[test]
fn shm_rmid_forced_destroys_an_unattached_segment_whose_shmat_fails_after_the_lookup() {
    let Some(p) = Pair::new(
        "shm_rmid_forced_destroys_an_unattached_segment_whose_shmat_fails_after_the_lookup",
    ) else {
        return;
    };
    let a = p.seg(Who::Root, 100, 0o600);
    let b = p.seg(Who::Root, 100, 0o600);
    let c = p.seg(Who::Root, 100, 0o600);
    let x = p.hole(0, 1);
    let at = p.attach_at(Who::Root, a, x, 0).unwrap();
    p.sysctl("shm_rmid_forced", "1").unwrap();
    // Refused before the lookup or by the permission check: no attach was counted.
    assert_eq!(p.attach_at(Who::Root, b, x + 1, 0), Err(Errno::EINVAL));
    assert_eq!(p.attach(Who::User, b, 0), Err(Errno::EACCES));
    assert_eq!(p.st(b).unwrap().nattch(), 0);
    // Refused when mapping, after the count was taken: its drop destroys b.
    assert_eq!(p.attach_at(Who::Root, b, x, 0), Err(Errno::EINVAL));
    assert_eq!(p.st(b), Err(Errno::EINVAL));
    // An attached segment survives its own failed attach.
    assert_eq!(p.attach_at(Who::Root, a, x, 0), Err(Errno::EINVAL));
    assert_eq!(p.st(a).unwrap().nattch(), 1);
    assert_eq!(p.st(c).unwrap().nattch(), 0);
    p.detach(at).unwrap();
    assert_eq!(p.st(a), Err(Errno::EINVAL));
}

#[test]
fn turning_shm_rmid_forced_on_destroys_orphans_and_spares_segments_whose_creator_lives() {
    let Some(p) = Pair::new(
        "turning_shm_rmid_forced_on_destroys_orphans_and_spares_segments_whose_creator_lives",
    ) else {
        return;
    };
    let alive = p.seg(Who::Root, 100, 0o600);
    let (ids, att) = p.thread_creating(
        Who::User,
        "creator",
        &[(IPC_PRIVATE, 100, RW), (IPC_PRIVATE, 100, RW)],
        true,
    );
    let (attached, orphan) = (ids[0].unwrap(), ids[1].unwrap());
    let att = att.expect("the thread attached its first segment");
    // Without the knob the thread's exit only orphans them.
    for id in [alive, attached, orphan] {
        assert_eq!(p.st(id).unwrap().cpid, Pid::Process);
    }
    p.sysctl("shm_rmid_forced", "1").unwrap();
    assert_eq!(
        p.st(orphan),
        Err(Errno::EINVAL),
        "an orphan with nothing attached"
    );
    assert_eq!(p.st(attached).unwrap().nattch(), 1);
    assert_eq!(p.st(alive).unwrap().nattch(), 0, "its creator is alive");
    p.sysctl("shm_rmid_forced", "1").unwrap();
    assert!(p.st(alive).is_ok() && p.st(attached).is_ok());
    p.sysctl("shm_rmid_forced", "0").unwrap();
    p.detach(att).unwrap();
    assert_eq!(p.st(attached).unwrap().nattch(), 0, "the knob is off again");
    p.sysctl("shm_rmid_forced", "1").unwrap();
    assert_eq!(p.st(attached), Err(Errno::EINVAL));
    assert!(p.st(alive).is_ok());
}

#[test]
fn shm_rmid_forced_destroys_the_unattached_segments_of_an_exiting_creator_thread() {
    let Some(p) =
        Pair::new("shm_rmid_forced_destroys_the_unattached_segments_of_an_exiting_creator_thread")
    else {
        return;
    };
    let other = p.seg(Who::Root, 100, 0o600);
    p.sysctl("shm_rmid_forced", "1").unwrap();
    let (ids, att) = p.thread_creating(
        Who::Root,
        "creator",
        &[
            (IPC_PRIVATE, 100, RW),
            (0x51, 100, RW),
            (IPC_PRIVATE, 0, RW),
        ],
        true,
    );
    assert_eq!(ids[2], Err(Errno::EINVAL));
    let (kept, gone) = (ids[0].unwrap(), ids[1].unwrap());
    let att = att.expect("the thread attached its first segment");
    assert_eq!(p.st(gone), Err(Errno::EINVAL));
    assert_eq!(p.shmget(Who::Root, 0x51, 0, 0), Err(Errno::ENOENT));
    let st = p.st(kept).unwrap();
    assert_eq!(
        (st.nattch(), st.cpid, st.lpid),
        (1, Pid::Process, Pid::Process)
    );
    assert_eq!(
        p.st(other).unwrap().nattch(),
        0,
        "created by a thread still alive"
    );
    p.detach(att).unwrap();
    assert_eq!(
        p.st(kept),
        Err(Errno::EINVAL),
        "an orphan dies at its last detach"
    );
    assert!(p.st(other).is_ok());
}

// ---------------------------------------------------------------------------------------------
// A seeded random sequence

/// The callers of the random sequences.
const RANDOM_CALLERS: [Who; 3] = [Who::Root, Who::User, Who::Member];

#[derive(Debug)]
enum Step {
    Get {
        who: Who,
        key: i32,
        size: u64,
        flags: i32,
    },
    At {
        who: Who,
        id: i32,
        flags: i32,
    },
    /// Detach attachment `n` (or, with `skew`, an address that is not its start).
    Dt {
        n: usize,
        skew: usize,
    },
    Write {
        n: usize,
        offset: usize,
        data: Vec<u8>,
    },
    Read {
        n: usize,
        offset: usize,
        len: usize,
    },
    Stat {
        who: Who,
        id: i32,
        cmd: i32,
    },
    Set {
        who: Who,
        id: i32,
        uid: u32,
        mode: u32,
    },
    Rmid {
        who: Who,
        id: i32,
    },
    Info {
        cmd: i32,
    },
}

/// The pages of one segment made resident: those read or written through a mapping.
#[derive(Default)]
struct Resident {
    touched: BTreeSet<usize>,
}

/// Runs `steps` random calls from `seed` on a fresh pair; every call is compared as it
/// happens, and a failure names the seed, the step and the call.
fn random_sequence(test: &str, seed: u64, steps: usize) {
    let Some(p) = Pair::new(test) else {
        return;
    };
    let mut rng = XorShift(seed);
    let mut ids: Vec<i32> = vec![
        p.seg(Who::Root, P + 1, 0o666),
        p.seg(Who::User, 3 * P, 0o640),
    ];
    let mut resident: HashMap<i32, Resident> =
        ids.iter().map(|&id| (id, Resident::default())).collect();
    // Live attachments and their segments.
    let mut atts: Vec<(Att, i32)> = Vec::new();
    // Successful calls by kind: created, attached, detached, written, read, removed.
    let mut done = [0usize; 6];
    for step in 0..steps {
        let who = rng.pick(&RANDOM_CALLERS);
        let id = if rng.chance(5) {
            rng.pick(&[-1, 99999, ids[0] + (1 << 15)])
        } else {
            rng.pick(&ids)
        };
        let mut kind = rng.below(100);
        if atts.is_empty() && (14..60).contains(&kind) {
            kind = 10;
        }
        let step_op = match kind {
            0..10 => Step::Get {
                who,
                key: if p.emu.shm().len() < 6 {
                    rng.pick(&[IPC_PRIVATE, 0x61, 0x62, 0x63])
                } else {
                    rng.pick(&[0x61, 0x62, 0x63])
                },
                size: rng.pick(&[0, 1, 100, P, P + 1, 2 * P, 3 * P + 7]),
                flags: rng.pick(&[0, IPC_CREAT, IPC_CREAT, IPC_CREAT | IPC_EXCL])
                    | rng.pick(&[0o600, 0o640, 0o604, 0o666, 0o644, 0o400, 0o660, 0]),
            },
            10..24 if atts.len() < 10 => Step::At {
                who,
                id,
                flags: rng.pick(&[
                    0,
                    0,
                    SHM_RDONLY,
                    SHM_RDONLY,
                    SHM_EXEC,
                    SHM_RDONLY | SHM_EXEC,
                ]),
            },
            10..34 => {
                let n = rng.below(atts.len() as u64) as usize;
                // Only addresses inside the attachment compare: past it the two address
                // spaces differ (the table packs its attachments, the kernel need not).
                let skew = match rng.pick(&[0, 0, 0, 0, 0, 0, 1, PAGE, 2 * PAGE]) {
                    s if s < atts[n].0.len => s,
                    _ => 0,
                };
                Step::Dt { n, skew }
            }
            34..47 => {
                let n = rng.below(atts.len() as u64) as usize;
                let len = atts[n].0.len;
                let count = 1 + rng.below(40) as usize;
                let offset = rng.below((len - count) as u64) as usize;
                Step::Write {
                    n,
                    offset,
                    data: (0..count).map(|_| rng.next() as u8).collect(),
                }
            }
            47..60 => {
                let n = rng.below(atts.len() as u64) as usize;
                let len = atts[n].0.len;
                let count = 1 + rng.below(64) as usize;
                Step::Read {
                    n,
                    offset: rng.below((len - count) as u64) as usize,
                    len: count,
                }
            }
            60..75 => {
                let cmd = rng.pick(&[IPC_STAT, IPC_STAT, SHM_STAT, SHM_STAT_ANY]);
                let id = if cmd != IPC_STAT {
                    rng.below(8) as i32
                } else {
                    id
                };
                Step::Stat { who, id, cmd }
            }
            75..82 => Step::Set {
                who,
                id,
                uid: rng.pick(&[0, 1000, 1000, 2000]),
                mode: rng.pick(&[0o600, 0o640, 0o604, 0o666, 0o666, 0o644, 0o400, 0]),
            },
            82..90 => Step::Rmid { who, id },
            _ => Step::Info {
                cmd: rng.pick(&[SHM_INFO, SHM_INFO, IPC_INFO]),
            },
        };
        p.set_context(format!("seed {seed:#x}, step {step}: {step_op:?}: "));
        match step_op {
            Step::Get {
                who,
                key,
                size,
                flags,
            } => {
                if let Ok(id) = p.shmget(who, key, size, flags) {
                    if !ids.contains(&id) {
                        done[0] += 1;
                        ids.push(id);
                        resident.insert(id, Resident::default());
                    }
                }
            }
            Step::At { who, id, flags } => {
                if let Ok(att) = p.attach(who, id, flags) {
                    done[1] += 1;
                    atts.push((att, id));
                }
            }
            Step::Dt { n, skew } => {
                let (att, _) = atts[n];
                if p.shmdt_at(att.host + skew, att.emu + skew).is_ok() {
                    assert_eq!(skew, 0);
                    done[2] += 1;
                    atts.remove(n);
                }
            }
            Step::Write { n, offset, data } => {
                let (att, id) = atts[n];
                if att.writable {
                    p.write(att, offset, &data);
                    done[3] += 1;
                    let r = resident.get_mut(&id).expect("tracked");
                    r.touched
                        .extend(offset / PAGE..=(offset + data.len() - 1) / PAGE);
                }
            }
            Step::Read { n, offset, len } => {
                let (att, id) = atts[n];
                p.read(att, offset, len);
                done[4] += 1;
                let r = resident.get_mut(&id).expect("tracked");
                r.touched.extend(offset / PAGE..=(offset + len - 1) / PAGE);
            }
            Step::Stat { who, id, cmd } => {
                let _ = p.stat(who, id, cmd);
            }
            Step::Set { who, id, uid, mode } => {
                let _ = p.ipc_set(who, id, |ds| {
                    ds.shm_perm.uid = uid;
                    ds.shm_perm.mode = mode;
                });
            }
            Step::Rmid { who, id } => {
                if p.rmid(who, id).is_ok() {
                    done[5] += 1;
                }
            }
            Step::Info { cmd } => {
                if cmd == IPC_INFO {
                    p.ipc_info(0).unwrap();
                } else {
                    let u = p.usage();
                    // Resident pages, over the segments that still exist.
                    let mut pages = 0;
                    for (id, r) in &resident {
                        if p.emu.shm().find_by_id(Id::from_raw(*id)).is_ok() {
                            pages += r.touched.len() as u64;
                        }
                    }
                    assert_eq!(
                        u.rss,
                        (pages, pages),
                        "seed {seed:#x}, step {step}: shm_rss"
                    );
                }
            }
        }
    }
    p.set_context(format!("seed {seed:#x}, after {steps} steps: "));
    for (att, _) in atts {
        p.detach(att).unwrap();
    }
    for &id in &ids {
        let _ = p.st(id);
    }
    p.usage();
    p.ipc_info(0).unwrap();
    assert!(
        done.iter().all(|&n| n > 0),
        "seed {seed:#x}: created, attached, detached, written, read, removed: {done:?}"
    );
    eprintln!("seed {seed:#x}: created, attached, detached, written, read, removed: {done:?}");
}

#[test]
fn seeded_random_sequences_match_step_by_step() {
    for seed in [
        0x5EED_0F15_7E3F_C0DE,
        0x0DDB_A11C_AFE0_1234,
        0x9E37_79B9_7F4A_7C15,
        0x0123_4567_89AB_CDEF,
        0xD1CE_F00D_0BAD_CAFE,
    ] {
        random_sequence("seeded_random_sequences_match_step_by_step", seed, 600);
    }
}
