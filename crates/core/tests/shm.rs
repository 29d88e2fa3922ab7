//! Shared-memory segments, one test per rule of Linux's behaviour (`ipc/shm.c`,
//! `man 2 shmget`, `man 2 shmop`, `man 2 shmctl`). Times come from a `ManualClock`.

use std::sync::Arc;
use std::thread;

use sysvipc::abi::{self, Ipc64Perm, Shmid64Ds};
use sysvipc::{
    AttachTable, Caller, Capabilities, Credentials, Errno, IpcNamespace, ManualClock, Protection,
    ShmCtlCmd, ThreadBlocker,
};

const T0: i64 = 1_700_000_000;
const PAGE: usize = abi::PAGE_SIZE as usize;
const RW: i32 = abi::IPC_CREAT | 0o600;

struct World {
    clock: Arc<ManualClock>,
    ns: IpcNamespace,
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(T0));
        let ns = IpcNamespace::with_clock(clock.clone());
        Self { clock, ns }
    }

    fn caller(&self, cred: Credentials, pid: i32) -> Caller {
        Caller::new(cred, pid, Arc::new(ThreadBlocker::new()))
    }

    fn root(&self) -> Caller {
        self.caller(Credentials::root(), 100)
    }

    fn user(&self, uid: u32, gid: u32) -> Caller {
        self.caller(Credentials::user(uid, gid), 200 + uid as i32)
    }

    fn stat(&self, id: i32) -> Result<Shmid64Ds, Errno> {
        self.ns
            .shmctl_stat(&self.root(), id, ShmCtlCmd::Stat)
            .map(|(_, ds)| ds)
    }

    fn nattch(&self, id: i32) -> u64 {
        self.stat(id).unwrap().shm_nattch
    }

    /// A new private segment of `size` bytes, mode 0600, owned by root.
    fn segment(&self, size: u64) -> i32 {
        self.ns.shmget(&self.root(), 0, size, RW).unwrap()
    }
}

fn set_perm(uid: u32, gid: u32, mode: u32) -> Shmid64Ds {
    Shmid64Ds {
        shm_perm: Ipc64Perm {
            uid,
            gid,
            mode,
            ..Ipc64Perm::default()
        },
        ..Shmid64Ds::default()
    }
}

// ---- shmget ----

#[test]
fn shmget_ids_in_a_fresh_namespace_are_0_1_2() {
    let w = World::new();
    let ids: Vec<i32> = (0..3).map(|_| w.segment(1)).collect();
    assert_eq!(ids, [0, 1, 2]);
}

#[test]
fn shmget_new_segment_stat_fields() {
    let w = World::new();
    let me = w.caller(Credentials::user(1000, 50), 4242);
    let id =
        w.ns.shmget(&me, 0x77, 5000, abi::IPC_CREAT | 0o1640)
            .unwrap();
    let ds = w.stat(id).unwrap();
    assert_eq!(ds.shm_perm.key, 0x77);
    assert_eq!((ds.shm_perm.uid, ds.shm_perm.gid), (1000, 50));
    assert_eq!((ds.shm_perm.cuid, ds.shm_perm.cgid), (1000, 50));
    assert_eq!(ds.shm_perm.mode, 0o640, "only the low nine bits are kept");
    assert_eq!(ds.shm_segsz, 5000, "the size is reported unrounded");
    assert_eq!((ds.shm_atime, ds.shm_dtime, ds.shm_ctime), (0, 0, T0));
    assert_eq!((ds.shm_cpid, ds.shm_lpid, ds.shm_nattch), (4242, 0, 0));
}

#[test]
fn shmget_size_zero_or_above_shmmax_is_einval_on_create() {
    let w = World::new();
    let r = w.root();
    assert_eq!(w.ns.shmget(&r, 0, 0, RW), Err(Errno::EINVAL));
    w.ns.limits().set_shmmax(10_000);
    assert_eq!(w.ns.shmget(&r, 0, 10_001, RW), Err(Errno::EINVAL));
    assert!(w.ns.shmget(&r, 0, 10_000, RW).is_ok());
}

#[test]
fn shmget_existing_segment_smaller_than_asked_is_einval_before_eacces() {
    let w = World::new();
    w.ns.shmget(&w.root(), 5, 2048, abi::IPC_CREAT).unwrap();
    let nobody = w.user(65534, 65534);
    assert_eq!(w.ns.shmget(&nobody, 5, 4096, 0o400), Err(Errno::EINVAL));
    assert_eq!(w.ns.shmget(&nobody, 5, 2048, 0o400), Err(Errno::EACCES));
    assert_eq!(
        w.ns.shmget(&w.root(), 5, 0, 0),
        Ok(0),
        "size 0 finds any segment"
    );
}

#[test]
fn shmget_excl_on_an_existing_key_is_eexist_and_a_missing_key_enoent() {
    let w = World::new();
    let r = w.root();
    assert_eq!(w.ns.shmget(&r, 9, 10, abi::IPC_EXCL), Err(Errno::ENOENT));
    let id = w.ns.shmget(&r, 9, 10, RW).unwrap();
    assert_eq!(
        w.ns.shmget(&r, 9, 10, RW | abi::IPC_EXCL),
        Err(Errno::EEXIST)
    );
    assert_eq!(w.ns.shmget(&r, 9, 10, RW), Ok(id));
}

#[test]
fn shmget_shmall_counts_pages_after_rounding() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_shmall(5);
    w.segment(4 * PAGE as u64 - 100);
    assert_eq!(w.ns.shmget(&r, 0, PAGE as u64 + 1, RW), Err(Errno::ENOSPC));
    w.segment(PAGE as u64);
    assert_eq!(w.ns.shm().total_pages(), 5);
    assert_eq!(w.ns.shmget(&r, 0, 1, RW), Err(Errno::ENOSPC));
}

#[test]
fn shmget_shmmni_is_enospc_on_create_only() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_shmmni(2).unwrap();
    let a = w.ns.shmget(&r, 1, 10, RW).unwrap();
    w.segment(10);
    assert_eq!(w.ns.shmget(&r, 0, 10, RW), Err(Errno::ENOSPC));
    assert_eq!(w.ns.shmget(&r, 1, 10, RW), Ok(a));
}

#[test]
fn shmget_size_whose_page_count_overflows_is_enospc() {
    let w = World::new();
    w.ns.limits().set_shmmax(u64::MAX);
    let r = w.root();
    assert_eq!(w.ns.shmget(&r, 0, u64::MAX - 4094, RW), Err(Errno::ENOSPC));
    assert_eq!(
        w.ns.shmget(&r, 0, 0xFFFF_FFFF_FFFF_F000, RW),
        Err(Errno::EINVAL),
        "past MAX_LFS_FILESIZE"
    );
    assert_eq!(w.ns.shmget(&r, 0, 1 << 63, RW), Err(Errno::EINVAL));
}

#[test]
fn shmget_past_the_commit_limit_is_enomem_unless_noreserve() {
    let w = World::new();
    let r = w.root();
    w.ns.limits().set_commit_limit(10);
    assert_eq!(
        w.ns.shmget(&r, 0, 10 * PAGE as u64 + 1, RW),
        Err(Errno::ENOMEM)
    );
    let id =
        w.ns.shmget(&r, 0, 10 * PAGE as u64 + 1, RW | abi::SHM_NORESERVE)
            .unwrap();
    assert_eq!(w.stat(id).unwrap().shm_segsz, 10 * PAGE as u64 + 1);
}

#[test]
fn shmget_enormous_noreserve_segment_allocates_nothing() {
    let w = World::new();
    let id =
        w.ns.shmget(&w.root(), 0, 1 << 50, RW | abi::SHM_NORESERVE)
            .unwrap();
    let (_, info) = w.ns.shmctl_shm_info(0).unwrap();
    assert_eq!((info.shm_tot, info.shm_rss), (1 << 38, 0));
    w.ns.shmctl_rmid(&w.root(), id).unwrap();
}

#[test]
fn shmget_hugetlb_needs_cap_ipc_lock_or_the_hugetlb_group() {
    let w = World::new();
    let huge = RW | abi::SHM_HUGETLB | abi::SHM_NORESERVE;
    let user = w.user(1000, 1000);
    assert_eq!(w.ns.shmget(&user, 0, 4096, huge), Err(Errno::EPERM));
    w.ns.limits().set_hugetlb_shm_group(1000);
    let id = w.ns.shmget(&user, 0, 4096, huge).unwrap();
    let seg = w.ns.shm().find_by_id(sysvipc::Id::from_raw(id)).unwrap();
    assert_eq!((seg.size(), seg.map_len()), (4096, 2 << 20));
    assert_eq!(w.ns.shm().total_pages(), 1, "shm_tot counts small pages");
}

#[test]
fn shmget_hugetlb_reserves_from_the_pool_unless_noreserve() {
    let w = World::new();
    let r = w.root();
    let huge = RW | abi::SHM_HUGETLB;
    assert_eq!(
        w.ns.shmget(&r, 0, 4096, huge),
        Err(Errno::ENOMEM),
        "empty pool"
    );
    w.ns.limits().set_nr_hugepages(2);
    let a = w.ns.shmget(&r, 0, (2 << 20) + 1, huge).unwrap();
    assert_eq!(w.ns.limits().nr_hugepages(), 0);
    assert_eq!(w.ns.shmget(&r, 0, 1, huge), Err(Errno::ENOMEM));
    w.ns.shmctl_rmid(&r, a).unwrap();
    assert_eq!(
        w.ns.limits().nr_hugepages(),
        2,
        "destruction returns the pages"
    );
    let one_gib = huge | (30 << abi::SHM_HUGE_SHIFT);
    assert_eq!(w.ns.shmget(&r, 0, 1, one_gib), Err(Errno::ENOMEM));
    assert!(w.ns.shmget(&r, 0, 1, one_gib | abi::SHM_NORESERVE).is_ok());
}

#[test]
fn shmget_hugetlb_with_an_unknown_page_size_is_einval() {
    let w = World::new();
    let flags = RW | abi::SHM_HUGETLB | (5 << abi::SHM_HUGE_SHIFT);
    assert_eq!(w.ns.shmget(&w.root(), 0, 1, flags), Err(Errno::EINVAL));
    // The size bits mean nothing without SHM_HUGETLB.
    assert!(
        w.ns.shmget(&w.root(), 0, 1, RW | (5 << abi::SHM_HUGE_SHIFT))
            .is_ok()
    );
}

#[test]
fn shmget_honours_and_consumes_shm_next_id() {
    let w = World::new();
    w.ns.set_shm_next_id(4242).unwrap();
    assert_eq!(w.segment(1), 4242);
    assert_eq!(w.ns.shm_next_id(), -1);
}

// ---- shmat / shmdt ----

#[test]
fn shmat_address_rules() {
    let w = World::new();
    let r = w.root();
    let id = w.segment(100);
    let mut t = AttachTable::new(100);
    assert_eq!(w.ns.shmat(&r, &mut t, -1, 0, 0), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0x1000_0001, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0, abi::SHM_REMAP),
        Err(Errno::EINVAL)
    );
    let rnd = abi::SHM_RND | abi::SHM_REMAP;
    assert_eq!(w.ns.shmat(&r, &mut t, id, 100, rnd), Err(Errno::EINVAL));
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0x1000_0000 + PAGE - 1, abi::SHM_RND),
        Ok(0x1000_0000)
    );
    assert_eq!(w.ns.shmat(&r, &mut t, id, 0x2000_0000, 0), Ok(0x2000_0000));
    assert_eq!(w.nattch(id), 2);
}

#[test]
fn shmat_permission_read_write_and_exec() {
    let w = World::new();
    let id =
        w.ns.shmget(&w.root(), 0, 10, abi::IPC_CREAT | 0o644)
            .unwrap();
    let user = w.user(1000, 1000);
    let mut t = AttachTable::new(1200);
    assert_eq!(w.ns.shmat(&user, &mut t, id, 0, 0), Err(Errno::EACCES));
    assert!(w.ns.shmat(&user, &mut t, id, 0, abi::SHM_RDONLY).is_ok());
    let flags = abi::SHM_RDONLY | abi::SHM_EXEC;
    assert_eq!(w.ns.shmat(&user, &mut t, id, 0, flags), Err(Errno::EACCES));
    assert_eq!(w.nattch(id), 1, "a refused attach leaves no count behind");
}

#[test]
fn shmat_and_shmdt_keep_nattch_atime_dtime_and_lpid() {
    let w = World::new();
    let id = w.segment(100);
    let me = w.caller(Credentials::root(), 777);
    let mut t = AttachTable::new(777);
    w.clock.advance(std::time::Duration::from_secs(5));
    let addr = w.ns.shmat(&me, &mut t, id, 0, 0).unwrap();
    let ds = w.stat(id).unwrap();
    assert_eq!(
        (ds.shm_nattch, ds.shm_atime, ds.shm_dtime, ds.shm_lpid),
        (1, T0 + 5, 0, 777)
    );
    w.clock.advance(std::time::Duration::from_secs(5));
    w.ns.shmdt(&mut t, addr).unwrap();
    let ds = w.stat(id).unwrap();
    assert_eq!(
        (ds.shm_nattch, ds.shm_atime, ds.shm_dtime, ds.shm_lpid),
        (0, T0 + 5, T0 + 10, 777)
    );
    assert_eq!(ds.shm_ctime, T0, "attach and detach leave ctime alone");
}

#[test]
fn shmat_null_places_page_aligned_attachments_that_do_not_overlap() {
    let w = World::new();
    let id = w.segment(3 * PAGE as u64 + 1);
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    let b = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    assert_eq!((a % PAGE, b % PAGE), (0, 0));
    assert!(
        b + 4 * PAGE <= a,
        "top-down, a mapping is 4 pages: {a:#x} {b:#x}"
    );
}

#[test]
fn two_attachments_alias_the_same_bytes_and_a_new_segment_reads_zeros() {
    let w = World::new();
    let id = w.segment(8192);
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    let b =
        w.ns.shmat(&w.root(), &mut t, id, 0, abi::SHM_RDONLY)
            .unwrap();
    let mut buf = [0xffu8; 16];
    t.read(b + 4090, &mut buf).unwrap();
    assert_eq!(buf, [0; 16]);
    t.write(a + 4090, b"across the page").unwrap();
    t.read(b + 4090, &mut buf[..15]).unwrap();
    assert_eq!(&buf[..15], b"across the page");
}

#[test]
fn writing_through_a_read_only_attachment_faults() {
    let w = World::new();
    let id = w.segment(100);
    let mut t = AttachTable::new(100);
    let a =
        w.ns.shmat(&w.root(), &mut t, id, 0, abi::SHM_RDONLY)
            .unwrap();
    assert_eq!(t.write(a, b"x"), Err(Errno::EFAULT));
    assert_eq!(
        t.read(a + PAGE, &mut [0]),
        Err(Errno::EFAULT),
        "past the mapping"
    );
    assert_eq!(
        t.protect(a, PAGE, Protection::READ | Protection::WRITE),
        Err(Errno::EACCES)
    );
}

#[test]
fn shmat_fixed_overlap_is_einval_and_shm_remap_replaces() {
    let w = World::new();
    let (a, b) = (w.segment(2 * PAGE as u64), w.segment(100));
    let r = w.root();
    let mut t = AttachTable::new(100);
    w.ns.shmat(&r, &mut t, a, 0x4000_0000, 0).unwrap();
    assert_eq!(
        w.ns.shmat(&r, &mut t, b, 0x4000_1000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.nattch(b), 0);
    assert_eq!(
        w.ns.shmat(&r, &mut t, b, 0x4000_1000, abi::SHM_REMAP),
        Ok(0x4000_1000)
    );
    // The first page of `a` stays mapped, the second was replaced.
    assert_eq!((w.nattch(a), w.nattch(b)), (1, 1));
    assert_eq!(t.find(0x4000_1000).unwrap().segment().id().raw(), b);
    assert_eq!(t.find(0x4000_0000).unwrap().len(), PAGE);
}

#[test]
fn shmat_hugetlb_segment_needs_a_huge_page_aligned_address() {
    let w = World::new();
    let r = w.root();
    let huge = RW | abi::SHM_HUGETLB | abi::SHM_NORESERVE;
    let id = w.ns.shmget(&r, 0, 4096, huge).unwrap();
    let mut t = AttachTable::new(100);
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0x4000_0000_1000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.nattch(id), 0);
    let a = w.ns.shmat(&r, &mut t, id, 0, 0).unwrap();
    assert_eq!((a % (2 << 20), t.find(a).unwrap().len()), (0, 2 << 20));
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0x4000_0020_0000, 0),
        Ok(0x4000_0020_0000)
    );
}

#[test]
fn shmat_null_placement_takes_the_highest_hole_that_fits() {
    let w = World::new();
    let r = w.root();
    let (one, two) = (w.segment(PAGE as u64), w.segment(2 * PAGE as u64));
    let mut t = AttachTable::with_window(100, 0x10_0000, 0x10_0000 + 8 * PAGE);
    let a = w.ns.shmat(&r, &mut t, one, 0, 0).unwrap();
    let b = w.ns.shmat(&r, &mut t, one, 0, 0).unwrap();
    let c = w.ns.shmat(&r, &mut t, one, 0, 0).unwrap();
    assert_eq!(
        (a, b, c),
        (
            0x10_0000 + 7 * PAGE,
            0x10_0000 + 6 * PAGE,
            0x10_0000 + 5 * PAGE
        )
    );
    w.ns.shmdt(&mut t, b).unwrap();
    assert_eq!(
        w.ns.shmat(&r, &mut t, two, 0, 0),
        Ok(0x10_0000 + 3 * PAGE),
        "the hole is too small"
    );
    assert_eq!(w.ns.shmat(&r, &mut t, one, 0, 0), Ok(b));
    assert_eq!(w.ns.shmat(&r, &mut t, two, 0, 0), Ok(0x10_0000 + PAGE));
    assert_eq!(w.ns.shmat(&r, &mut t, one, 0, 0), Ok(0x10_0000));
    assert_eq!(w.ns.shmat(&r, &mut t, one, 0, 0), Err(Errno::ENOMEM));
    assert_eq!(w.nattch(one), 4, "a failed placement leaves no count");
}

#[test]
fn shmat_below_mmap_min_addr_is_eperm_without_cap_sys_rawio() {
    let w = World::new();
    w.ns.limits().set_mmap_min_addr(0x10000);
    let id =
        w.ns.shmget(&w.root(), 0, 100, abi::IPC_CREAT | 0o666)
            .unwrap();
    let user = w.user(1000, 1000);
    let mut t = AttachTable::new(1200);
    assert_eq!(w.ns.shmat(&user, &mut t, id, 0x1000, 0), Err(Errno::EPERM));
    assert_eq!(
        w.ns.shmat(&user, &mut t, id, 100, abi::SHM_RND),
        Err(Errno::EPERM),
        "to 0"
    );
    assert_eq!(w.ns.shmat(&user, &mut t, id, 0x10000, 0), Ok(0x10000));
    assert_eq!(w.nattch(id), 1, "the refusals left no count");
    let root = w.root();
    let mut r = AttachTable::new(100);
    assert_eq!(
        w.ns.shmat(&root, &mut r, id, 0x1000, 0),
        Ok(0x1000),
        "CAP_SYS_RAWIO"
    );
    assert_eq!(w.ns.shmat(&root, &mut r, id, 100, abi::SHM_RND), Ok(0));
}

#[test]
fn shmat_fixed_over_another_mapping_of_the_address_space_is_einval_unless_shm_remap() {
    struct Mapped(std::ops::Range<usize>);
    impl sysvipc::AddressSpace for Mapped {
        fn is_mapped(&self, addr: usize, len: usize) -> bool {
            addr < self.0.end && self.0.start < addr + len
        }
    }
    let w = World::new();
    let r = w.root();
    let id = w.segment(2 * PAGE as u64);
    let space = Arc::new(Mapped(0x7000_0000..0x7000_1000));
    let mut t = AttachTable::new(100).with_address_space(space);
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0x6fff_f000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.nattch(id), 0);
    assert_eq!(w.ns.shmat(&r, &mut t, id, 0x7000_1000, 0), Ok(0x7000_1000));
    let mut child = t.fork(101);
    assert_eq!(
        w.ns.shmat(&r, &mut child, id, 0x7000_0000, 0),
        Err(Errno::EINVAL)
    );
    child.set_address_space(None);
    assert_eq!(
        w.ns.shmat(&r, &mut child, id, 0x6000_0000, 0),
        Ok(0x6000_0000)
    );
    assert_eq!(
        w.ns.shmat(&r, &mut t, id, 0x6fff_f000, abi::SHM_REMAP),
        Ok(0x6fff_f000),
        "SHM_REMAP replaces whatever is there"
    );
}

#[test]
fn shmdt_address_rules() {
    let w = World::new();
    let id = w.segment(2 * PAGE as u64);
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    assert_eq!(w.ns.shmdt(&mut t, a + 1), Err(Errno::EINVAL), "unaligned");
    assert_eq!(
        w.ns.shmdt(&mut t, a + PAGE),
        Err(Errno::EINVAL),
        "inside, not its start"
    );
    assert_eq!(
        w.ns.shmdt(&mut t, 0x1000_0000),
        Err(Errno::EINVAL),
        "nothing there"
    );
    w.ns.shmdt(&mut t, a).unwrap();
    assert_eq!(
        w.ns.shmdt(&mut t, a),
        Err(Errno::EINVAL),
        "already detached"
    );
    assert_eq!(t.read(a, &mut [0]), Err(Errno::EFAULT));
}

#[test]
fn protecting_the_middle_page_splits_the_mapping_and_shmdt_detaches_every_fragment() {
    // LTP shmat04: 3 pages, mprotect of the middle one → 3 mappings; shmdt → nattch 0.
    let w = World::new();
    let id = w.segment(3 * PAGE as u64);
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    t.protect(a + PAGE, PAGE, Protection::empty()).unwrap();
    assert_eq!((w.nattch(id), t.len()), (3, 3));
    assert_eq!(t.read(a + PAGE, &mut [0]), Err(Errno::EFAULT));
    t.write(a + 2 * PAGE, b"z").unwrap();
    w.ns.shmdt(&mut t, a).unwrap();
    assert_eq!((w.nattch(id), t.len()), (0, 0));
}

#[test]
fn unmapping_the_first_page_leaves_a_fragment_that_shmdt_of_the_old_address_detaches() {
    let w = World::new();
    let id = w.segment(3 * PAGE as u64);
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    t.unmap(a, PAGE).unwrap();
    assert_eq!(w.nattch(id), 1, "split (+1) then close (-1)");
    assert_eq!(t.find(a + PAGE).unwrap().offset(), PAGE as u64);
    assert_eq!(
        w.ns.shmdt(&mut t, a + PAGE),
        Err(Errno::EINVAL),
        "offset does not match"
    );
    w.ns.shmdt(&mut t, a).unwrap();
    assert_eq!(w.nattch(id), 0);
}

#[test]
fn fork_raises_nattch_with_the_parent_as_lpid_and_the_child_exit_lowers_it() {
    let w = World::new();
    let id = w.segment(100);
    let parent = w.caller(Credentials::root(), 10);
    let mut t = AttachTable::new(10);
    w.ns.shmat(&parent, &mut t, id, 0, 0).unwrap();
    let mut child = t.fork(11);
    let ds = w.stat(id).unwrap();
    assert_eq!((ds.shm_nattch, ds.shm_lpid), (2, 10));
    child.clear();
    let ds = w.stat(id).unwrap();
    assert_eq!((ds.shm_nattch, ds.shm_lpid), (1, 11));
    drop(t);
    let ds = w.stat(id).unwrap();
    assert_eq!((ds.shm_nattch, ds.shm_lpid), (0, 10));
}

// ---- IPC_RMID ----

#[test]
fn rmid_of_an_unattached_segment_destroys_it_at_once() {
    let w = World::new();
    let id = w.ns.shmget(&w.root(), 3, 100, RW).unwrap();
    w.ns.shmctl_rmid(&w.root(), id).unwrap();
    assert_eq!(w.stat(id), Err(Errno::EINVAL));
    assert_eq!(w.ns.shmctl_rmid(&w.root(), id), Err(Errno::EINVAL));
    assert_eq!((w.ns.shm().len(), w.ns.shm().total_pages()), (0, 0));
}

#[test]
fn rmid_of_an_attached_segment_marks_it_dest_hides_the_key_and_keeps_the_id() {
    let w = World::new();
    let r = w.root();
    let id = w.ns.shmget(&r, 3, 100, RW).unwrap();
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&r, &mut t, id, 0, 0).unwrap();
    w.ns.shmctl_rmid(&r, id).unwrap();
    let ds = w.stat(id).unwrap();
    assert_eq!((ds.shm_perm.mode, ds.shm_perm.key), (0o600 | 0o1000, 0));
    assert_eq!(w.ns.shmget(&r, 3, 0, 0), Err(Errno::ENOENT));
    w.ns.shmctl_rmid(&r, id).unwrap();
    let b = w.ns.shmat(&r, &mut t, id, 0, 0).unwrap();
    assert_eq!(w.nattch(id), 2);
    let other = w.ns.shmget(&r, 3, 100, RW).unwrap();
    assert_ne!(other, id);
    assert_eq!(w.ns.shm().len(), 2);
    w.ns.shmdt(&mut t, a).unwrap();
    let memory = Arc::downgrade(t.find(b).unwrap().memory());
    w.ns.shmdt(&mut t, b).unwrap();
    assert_eq!(w.stat(id), Err(Errno::EINVAL));
    assert!(
        memory.upgrade().is_none(),
        "the last detach freed the memory"
    );
    assert_eq!(w.ns.shm().len(), 1);
}

#[test]
fn rmid_and_set_need_ownership() {
    let w = World::new();
    let id =
        w.ns.shmget(&w.root(), 0, 100, abi::IPC_CREAT | 0o666)
            .unwrap();
    let user = w.user(1000, 1000);
    assert_eq!(w.ns.shmctl_rmid(&user, id), Err(Errno::EPERM));
    assert_eq!(
        w.ns.shmctl_set(&user, id, &set_perm(1000, 1000, 0o600)),
        Err(Errno::EPERM)
    );
}

// ---- shmctl ----

#[test]
fn ipc_set_changes_owner_and_mode_keeps_state_bits_and_stamps_ctime() {
    let w = World::new();
    let r = w.root();
    let id = w.segment(100);
    let mut t = AttachTable::new(100);
    w.ns.shmat(&r, &mut t, id, 0, 0).unwrap();
    w.ns.shmctl_rmid(&r, id).unwrap();
    w.clock.advance(std::time::Duration::from_secs(3));
    w.ns.shmctl_set(&r, id, &set_perm(5, 6, 0o7644)).unwrap();
    let ds = w.stat(id).unwrap();
    assert_eq!(
        (ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.mode),
        (5, 6, 0o1644)
    );
    assert_eq!(ds.shm_ctime, T0 + 3);
    assert_eq!(
        w.ns.shmctl_set(&r, id, &set_perm(u32::MAX, 6, 0o600)),
        Err(Errno::EINVAL)
    );
}

#[test]
fn ipc_stat_needs_read_permission_and_stat_any_does_not() {
    let w = World::new();
    let id = w.ns.shmget(&w.root(), 0, 100, abi::IPC_CREAT).unwrap();
    let user = w.user(1000, 1000);
    assert_eq!(
        w.ns.shmctl_stat(&user, id, ShmCtlCmd::Stat),
        Err(Errno::EACCES)
    );
    assert_eq!(
        w.ns.shmctl_stat(&user, 0, ShmCtlCmd::ShmStat),
        Err(Errno::EACCES)
    );
    assert_eq!(
        w.ns.shmctl_stat(&user, 0, ShmCtlCmd::ShmStatAny).unwrap().0,
        id
    );
    assert_eq!(
        w.ns.shmctl_stat(&user, -1, ShmCtlCmd::Stat),
        Err(Errno::EINVAL)
    );
}

#[test]
fn shm_stat_takes_an_index_and_returns_the_full_id() {
    let w = World::new();
    let r = w.root();
    for _ in 0..70 {
        let id = w.segment(1);
        w.ns.shmctl_rmid(&r, id).unwrap();
    }
    let id = w.segment(1);
    assert!(id > abi::IPCMNI, "the sequence number is in the id: {id}");
    let index = id & (abi::IPCMNI - 1);
    assert_eq!(
        w.ns.shmctl_stat(&r, index, ShmCtlCmd::ShmStat).unwrap().0,
        id
    );
    assert_eq!(
        w.ns.shmctl_stat(&r, index + 1, ShmCtlCmd::ShmStat),
        Err(Errno::EINVAL)
    );
}

#[test]
fn ipc_info_reports_the_limits_and_the_highest_index() {
    let w = World::new();
    w.ns.limits().set_shmmax(123_456);
    w.ns.limits().set_shmmni(77).unwrap();
    w.segment(1);
    w.segment(1);
    let (max, info) = w.ns.shmctl_ipc_info(0).unwrap();
    assert_eq!(max, 1);
    assert_eq!(
        (info.shmmax, info.shmmin, info.shmmni, info.shmseg),
        (123_456, 1, 77, 77)
    );
    assert_eq!(info.shmall, abi::SHMALL);
    assert_eq!(w.ns.shmctl_ipc_info(-1), Err(Errno::EINVAL));
}

#[test]
fn shm_info_counts_segments_pages_and_resident_pages() {
    let w = World::new();
    let r = w.root();
    let a = w.segment(5000);
    let b = w.segment(3 * PAGE as u64);
    let mut t = AttachTable::new(100);
    let addr = w.ns.shmat(&r, &mut t, b, 0, 0).unwrap();
    t.write(addr, &[1]).unwrap();
    t.write(addr + 2 * PAGE, &[1]).unwrap();
    w.ns.shmctl_rmid(&r, b).unwrap();
    let (max, info) = w.ns.shmctl_shm_info(0).unwrap();
    assert_eq!(max, 1);
    assert_eq!(
        (info.used_ids, info.shm_tot, info.shm_rss, info.shm_swp),
        (2, 5, 2, 0)
    );
    w.ns.shmctl_rmid(&r, a).unwrap();
    drop(t);
    let (max, info) = w.ns.shmctl_shm_info(0).unwrap();
    assert_eq!(
        (max, info.used_ids, info.shm_tot, info.shm_rss),
        (0, 0, 0, 0)
    );
}

#[test]
fn shm_lock_sets_and_unlock_clears_the_locked_bit() {
    let w = World::new();
    let r = w.root();
    let id = w.segment(100);
    w.ns.shmctl_lock(&r, id, ShmCtlCmd::Lock).unwrap();
    w.ns.shmctl_lock(&r, id, ShmCtlCmd::Lock).unwrap();
    assert_eq!(w.stat(id).unwrap().shm_perm.mode, 0o2600);
    w.ns.shmctl_lock(&r, id, ShmCtlCmd::Unlock).unwrap();
    w.ns.shmctl_lock(&r, id, ShmCtlCmd::Unlock).unwrap();
    assert_eq!(w.stat(id).unwrap().shm_perm.mode, 0o600);
}

#[test]
fn shm_lock_needs_owner_or_creator_or_cap_ipc_lock_and_a_memlock_limit() {
    let w = World::new();
    let id =
        w.ns.shmget(&w.root(), 0, 100, abi::IPC_CREAT | 0o666)
            .unwrap();
    let user = w.user(1000, 1000);
    assert_eq!(
        w.ns.shmctl_lock(&user, id, ShmCtlCmd::Lock),
        Err(Errno::EPERM)
    );
    assert_eq!(
        w.ns.shmctl_lock(&user, id, ShmCtlCmd::Unlock),
        Err(Errno::EPERM)
    );
    let locker = w.caller(
        Credentials::user(1000, 1000).with_caps(Capabilities::IPC_LOCK),
        5,
    );
    w.ns.shmctl_lock(&locker, id, ShmCtlCmd::Lock).unwrap();
    let own = w.ns.shmget(&user, 0, 100, RW).unwrap();
    let no_limit = user.clone().with_memlock_limit(0);
    assert_eq!(
        w.ns.shmctl_lock(&no_limit, own, ShmCtlCmd::Lock),
        Err(Errno::EPERM)
    );
    assert_eq!(w.ns.shmctl_lock(&no_limit, own, ShmCtlCmd::Unlock), Ok(()));
}

#[test]
fn shm_lock_charges_the_user_up_to_the_memlock_limit() {
    let w = World::new();
    let user = w.user(1000, 1000).with_memlock_limit(3 * PAGE as u64);
    let a = w.ns.shmget(&user, 0, 2 * PAGE as u64, RW).unwrap();
    let b = w.ns.shmget(&user, 0, 2 * PAGE as u64, RW).unwrap();
    w.ns.shmctl_lock(&user, a, ShmCtlCmd::Lock).unwrap();
    assert_eq!(
        w.ns.shmctl_lock(&user, b, ShmCtlCmd::Lock),
        Err(Errno::ENOMEM)
    );
    w.ns.shmctl_lock(&user, a, ShmCtlCmd::Unlock).unwrap();
    w.ns.shmctl_lock(&user, b, ShmCtlCmd::Lock).unwrap();
    w.ns.shmctl_rmid(&user, b).unwrap();
    w.ns.shmctl_lock(&user, a, ShmCtlCmd::Lock).unwrap();
}

#[test]
fn shm_lock_of_a_hugetlb_segment_does_nothing() {
    let w = World::new();
    let r = w.root();
    let id =
        w.ns.shmget(&r, 0, 1, RW | abi::SHM_HUGETLB | abi::SHM_NORESERVE)
            .unwrap();
    w.ns.shmctl_lock(&r, id, ShmCtlCmd::Lock).unwrap();
    assert_eq!(w.stat(id).unwrap().shm_perm.mode, 0o600);
}

#[test]
fn shmctl_commands_decode_like_linux() {
    assert_eq!(
        ShmCtlCmd::try_from(abi::SHM_STAT_ANY),
        Ok(ShmCtlCmd::ShmStatAny)
    );
    assert_eq!(ShmCtlCmd::try_from(-1), Err(Errno::EINVAL));
    assert_eq!(
        ShmCtlCmd::try_from(abi::IPC_STAT | abi::IPC_64),
        Err(Errno::EINVAL)
    );
    assert_eq!(ShmCtlCmd::try_from(16), Err(Errno::EINVAL));
}

// ---- shm_rmid_forced ----

#[test]
fn rmid_forced_destroys_a_segment_at_its_last_detach() {
    let w = World::new();
    w.ns.set_shm_rmid_forced(1).unwrap();
    let id = w.segment(100);
    let mut t = AttachTable::new(100);
    let a = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
    w.ns.shmdt(&mut t, a).unwrap();
    assert_eq!(w.stat(id), Err(Errno::EINVAL));
}

#[test]
fn rmid_forced_destroys_an_unattached_segment_whose_shmat_fails_after_the_lookup() {
    let w = World::new();
    let (a, b) = (w.segment(100), w.segment(100));
    let mut t = AttachTable::new(100);
    w.ns.shmat(&w.root(), &mut t, a, 0x5000_0000, 0).unwrap();
    w.ns.set_shm_rmid_forced(1).unwrap();
    assert_eq!(
        w.ns.shmat(&w.root(), &mut t, b, 0x5000_0000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(w.stat(b), Err(Errno::EINVAL));
    assert_eq!(w.nattch(a), 1);
}

#[test]
fn rmid_forced_destroys_the_unattached_segments_of_an_exiting_creator_thread() {
    let w = World::new();
    w.ns.set_shm_rmid_forced(1).unwrap();
    let thread = w.root().with_tid(101);
    let kept = w.ns.shmget(&thread, 0, 100, RW).unwrap();
    let gone = w.ns.shmget(&thread, 0, 100, RW).unwrap();
    let other = w.segment(100);
    let mut t = AttachTable::new(100);
    w.ns.shmat(&w.root(), &mut t, kept, 0, 0).unwrap();
    w.ns.shm_exit_thread(&thread);
    assert_eq!(w.stat(gone), Err(Errno::EINVAL));
    assert!(w.stat(kept).is_ok() && w.stat(other).is_ok());
    drop(t);
    assert_eq!(
        w.stat(kept),
        Err(Errno::EINVAL),
        "an orphan dies at its last detach"
    );
}

#[test]
fn turning_rmid_forced_on_destroys_orphans_only() {
    let w = World::new();
    let thread = w.root().with_tid(101);
    let orphan = w.ns.shmget(&thread, 0, 100, RW).unwrap();
    let alive = w.segment(100);
    w.ns.shm_exit_thread(&thread);
    assert!(
        w.stat(orphan).is_ok(),
        "without the knob an exit only orphans"
    );
    assert_eq!(w.ns.set_shm_rmid_forced(2), Err(Errno::EINVAL));
    w.ns.set_shm_rmid_forced(1).unwrap();
    assert_eq!(w.stat(orphan), Err(Errno::EINVAL));
    assert!(w.stat(alive).is_ok());
}

// ---- lifetime and threads ----

#[test]
fn dropping_the_namespace_frees_unattached_memory_and_spares_attached_memory() {
    let w = World::new();
    let (a, b) = (w.segment(100), w.segment(100));
    let mut t = AttachTable::new(100);
    let addr = w.ns.shmat(&w.root(), &mut t, a, 0, 0).unwrap();
    let mut t2 = AttachTable::new(100);
    let addr_b = w.ns.shmat(&w.root(), &mut t2, b, 0, 0).unwrap();
    let b_memory = Arc::downgrade(t2.find(addr_b).unwrap().memory());
    drop(t2);
    drop(w);
    assert!(b_memory.upgrade().is_none());
    t.write(addr, b"still here").unwrap();
    let mut buf = [0; 10];
    t.read(addr, &mut buf).unwrap();
    assert_eq!(&buf, b"still here");
}

#[test]
fn writes_in_one_thread_are_read_in_another_through_another_attachment() {
    let w = Arc::new(World::new());
    let id = w.segment(PAGE as u64);
    let mut reader = AttachTable::new(2);
    let raddr =
        w.ns.shmat(&w.root(), &mut reader, id, 0, abi::SHM_RDONLY)
            .unwrap();
    let writer = {
        let w = Arc::clone(&w);
        thread::spawn(move || {
            let mut t = AttachTable::new(1);
            let addr = w.ns.shmat(&w.root(), &mut t, id, 0, 0).unwrap();
            for i in 0..=255u8 {
                t.write(addr + i as usize, &[i]).unwrap();
            }
        })
    };
    writer.join().unwrap();
    let mut buf = [0u8; 256];
    reader.read(raddr, &mut buf).unwrap();
    assert!(buf.iter().enumerate().all(|(i, b)| *b == i as u8));
    assert_eq!(w.nattch(id), 1, "the writer's exit detached it");
}

#[cfg(target_os = "linux")]
#[test]
fn memfd_segments_expose_a_file_to_map() {
    let clock = Arc::new(ManualClock::new(T0));
    let ns = IpcNamespace::with_clock_and_memory(clock, Arc::new(sysvipc::shm::MemfdSource));
    let r = Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()));
    let id = ns.shmget(&r, 0x1234, 10, RW).unwrap();
    let mut t = AttachTable::new(1);
    let a = ns.shmat(&r, &mut t, id, 0, 0).unwrap();
    let m = t.find(a).unwrap();
    assert!(m.memory().as_fd().is_some());
    assert_eq!(m.memory().len(), PAGE as u64);
    t.write(a + 5, b"fd").unwrap();
    let mut buf = [0; 2];
    m.memory().read_at(5, &mut buf).unwrap();
    assert_eq!(&buf, b"fd");
}
