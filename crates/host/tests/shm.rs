//! Shared-memory calls on the host kernel: shmget sizes and lookups, attachments in this
//! process (aliasing, zero fill, read-only), the shmid64_ds bookkeeping of attach and detach,
//! IPC_RMID of an attached segment, SHM_LOCK, IPC_INFO/SHM_INFO, fixed addresses, credentials,
//! and forked children that inherit attachments.
//!
//! Every test detaches what it attaches: an attachment left behind would keep its segment and
//! namespace alive after the `HostNamespace` is dropped.
#![cfg(target_os = "linux")]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{BLOCK_TIMEOUT, namespace};
use sysvipc_abi::{
    Errno, IPC_64, IPC_CREAT, IPC_EXCL, IPC_INFO, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT,
    SHM_DEST, SHM_LOCK, SHM_LOCKED, SHM_RDONLY, SHM_REMAP, SHM_RND, SHM_STAT, SHM_STAT_ANY,
    SHM_UNLOCK, SHMALL, SHMMAX, SHMMIN, SHMMNI, SHMSEG, Shmid64Ds, Shminfo64,
};
use sysvipc_host::{ChildStep, HostCaller, HostNamespace, read_mem, write_mem};

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).expect("page size")
}

fn pid() -> i32 {
    std::process::id() as i32
}

/// The permissions column of the `/proc/self/maps` line of the mapping that starts at `addr`.
fn maps_perms(addr: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines().find_map(|line| {
        let (range, rest) = line.split_once(' ')?;
        let start = usize::from_str_radix(range.split_once('-')?.0, 16).ok()?;
        (start == addr).then(|| rest.split(' ').next().unwrap_or("").to_owned())
    })
}

fn stat(ns: &HostNamespace, id: i32) -> Result<Shmid64Ds, Errno> {
    ns.shmctl_stat(&HostCaller::root(), id, IPC_STAT)
        .map(|(ret, ds)| {
            assert_eq!(ret, 0, "IPC_STAT returns 0");
            ds
        })
}

/// `(nattch, lpid)` of segment `id`.
fn nattch_lpid(ns: &HostNamespace, id: i32) -> (u64, i32) {
    let ds = stat(ns, id).expect("IPC_STAT");
    (ds.shm_nattch, ds.shm_lpid)
}

/// An inaccessible private mapping of `len` bytes that the test owns: a place where a fixed
/// shmat overlaps something, and that SHM_REMAP may replace.
fn reserve(len: usize) -> usize {
    // SAFETY: a fresh private anonymous mapping at an address of the kernel's choosing aliases
    // no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap");
    p as usize
}

#[test]
fn shmget_creates_in_index_order_finds_by_key_and_checks_sizes() {
    let Some(ns) = namespace("shmget_creates_in_index_order_finds_by_key_and_checks_sizes") else {
        return;
    };
    let root = HostCaller::root();
    let key = common::unusual_key(1);
    assert_eq!(ns.shmget(&root, IPC_PRIVATE, 100, 0o600), Ok(0));
    assert_eq!(ns.shmget(&root, IPC_PRIVATE, 1, 0o600), Ok(1));
    assert_eq!(
        ns.shmget(&root, key, 5000, IPC_CREAT | IPC_EXCL | 0o640),
        Ok(2)
    );
    // Lookups: any size up to shm_segsz (0 included); EEXIST is checked before the size.
    assert_eq!(ns.shmget(&root, key, 0, 0), Ok(2));
    assert_eq!(ns.shmget(&root, key, 5000, IPC_CREAT), Ok(2));
    assert_eq!(ns.shmget(&root, key, 5001, 0), Err(Errno::EINVAL));
    assert_eq!(
        ns.shmget(&root, key, 5001, IPC_CREAT | IPC_EXCL),
        Err(Errno::EEXIST)
    );
    assert_eq!(ns.shmget(&root, key + 1, 100, 0), Err(Errno::ENOENT));
    // Creation: SHMMIN <= size <= shmmax.
    assert_eq!(ns.shmget(&root, IPC_PRIVATE, 0, 0o600), Err(Errno::EINVAL));
    assert_eq!(
        ns.shmget(&root, key + 1, SHMMIN - 1, IPC_CREAT | 0o600),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ns.shmget(&root, IPC_PRIVATE, SHMMAX + 1, 0o600),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ns.shmget(&root, IPC_PRIVATE, u64::MAX, 0o600),
        Err(Errno::EINVAL)
    );
    // The size is kept as asked, not rounded to pages.
    let ds = stat(&ns, 2).unwrap();
    assert_eq!(ds.shm_segsz, 5000);
    assert_eq!(ds.shm_perm.key, key);
    assert_eq!(ds.shm_perm.mode, 0o640);
    assert_eq!((ds.shm_cpid, ds.shm_lpid, ds.shm_nattch), (pid(), 0, 0));
    assert_eq!((ds.shm_atime, ds.shm_dtime), (0, 0));
    assert_ne!(ds.shm_ctime, 0);
    // A failed create used no index: the next one is 3.
    assert_eq!(ns.shmget(&root, IPC_PRIVATE, 1, 0o600), Ok(3));
}

#[test]
fn attachments_are_page_aligned_zero_filled_and_alias_one_another() {
    let Some(ns) = namespace("attachments_are_page_aligned_zero_filled_and_alias_one_another")
    else {
        return;
    };
    let root = HostCaller::root();
    let page = page();
    let size = 3 * page + 5;
    let mapped = 4 * page;
    let id = ns.shmget(&root, IPC_PRIVATE, size as u64, 0o600).unwrap();
    let a = ns.shmat(&root, id, 0, 0).unwrap();
    let b = ns.shmat(&root, id, 0, 0).unwrap();
    assert_eq!(a % page, 0);
    assert_eq!(b % page, 0);
    assert_ne!(a, b);
    assert_eq!(maps_perms(a).as_deref(), Some("rw-s"));
    // SAFETY: a and b are live attachments of `mapped` bytes (PAGE_ALIGN(size)) that only
    // this test uses, detached below.
    unsafe {
        assert_eq!(
            read_mem(a, mapped),
            vec![0; mapped],
            "a new segment reads as zeros"
        );
        write_mem(a + 10, b"hello");
        assert_eq!(read_mem(b + 10, 5), b"hello");
        // The tail of the last page, past shm_segsz, is part of the segment too.
        write_mem(b + mapped - 1, &[7]);
        assert_eq!(read_mem(a + mapped - 1, 1), [7]);
    }
    assert_eq!(nattch_lpid(&ns, id), (2, pid()));
    ns.shmdt(&root, a).unwrap();
    ns.shmdt(&root, b).unwrap();
    // The bytes live as long as the segment: a new attachment sees them.
    let c = ns.shmat(&root, id, 0, 0).unwrap();
    // SAFETY: c is a live attachment of `mapped` bytes, detached below.
    assert_eq!(unsafe { read_mem(c + 10, 5) }, b"hello");
    ns.shmdt(&root, c).unwrap();
}

#[test]
fn attach_and_detach_update_nattch_lpid_atime_and_dtime() {
    let Some(ns) = namespace("attach_and_detach_update_nattch_lpid_atime_and_dtime") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 5000, 0o600).unwrap();
    let created = stat(&ns, id).unwrap();
    let a = ns.shmat(&root, id, 0, 0).unwrap();
    let attached = stat(&ns, id).unwrap();
    assert_eq!(attached.shm_nattch, 1);
    assert_eq!(
        attached.shm_lpid,
        pid(),
        "the process id (tgid), not the thread's"
    );
    assert!(attached.shm_atime >= created.shm_ctime && attached.shm_atime != 0);
    assert_eq!(attached.shm_dtime, 0);
    assert_eq!(attached.shm_ctime, created.shm_ctime, "attach leaves ctime");
    ns.shmdt(&root, a).unwrap();
    let detached = stat(&ns, id).unwrap();
    assert_eq!((detached.shm_nattch, detached.shm_lpid), (0, pid()));
    assert!(detached.shm_dtime >= attached.shm_atime && detached.shm_dtime != 0);
    assert_eq!(detached.shm_atime, attached.shm_atime);
    // Without shm_rmid_forced the unattached segment stays.
    assert_eq!(detached.shm_perm.mode, 0o600);
}

#[test]
fn a_spawned_thread_attaches_in_the_same_process() {
    let Some(ns) = namespace("a_spawned_thread_attaches_in_the_same_process") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 64, 0o600).unwrap();
    let (addr, tid) = ns
        .spawn(&root, move |t| (t.shmat(id, 0, 0), t.tid()))
        .join();
    let addr = addr.unwrap();
    assert_ne!(tid, pid());
    assert_eq!(nattch_lpid(&ns, id), (1, pid()), "lpid is the tgid");
    // SAFETY: addr is a live attachment of at least 64 bytes, detached below.
    unsafe { write_mem(addr, b"from the test") };
    let seen = ns
        .spawn(&root, move |t| {
            let (_, ds) = t.shmctl_stat(id, IPC_STAT)?;
            // SAFETY: as above; the test does not detach before this thread is joined.
            let bytes = unsafe { read_mem(addr, 13) };
            t.shmdt(addr)?;
            Ok::<_, Errno>((ds.shm_nattch, bytes))
        })
        .join();
    assert_eq!(seen, Ok((1, b"from the test".to_vec())));
    assert_eq!(nattch_lpid(&ns, id), (0, pid()));
}

#[test]
fn rmid_of_an_attached_segment_marks_it_dest_and_the_last_detach_destroys_it() {
    let Some(ns) =
        namespace("rmid_of_an_attached_segment_marks_it_dest_and_the_last_detach_destroys_it")
    else {
        return;
    };
    let root = HostCaller::root();
    let key = common::unusual_key(2);
    let id = ns.shmget(&root, key, 100, IPC_CREAT | 0o600).unwrap();
    let a = ns.shmat(&root, id, 0, 0).unwrap();
    ns.shmctl_rmid(&root, id).unwrap();
    let ds = stat(&ns, id).unwrap();
    assert_eq!(ds.shm_perm.mode, SHM_DEST as u32 | 0o600);
    assert_eq!(ds.shm_perm.key, IPC_PRIVATE, "the key is hidden");
    assert_eq!(ds.shm_nattch, 1);
    assert_eq!(ns.shmget(&root, key, 0, 0), Err(Errno::ENOENT));
    // The key is free for a new segment; the old id still works for everything.
    let fresh = ns.shmget(&root, key, 100, IPC_CREAT | 0o600).unwrap();
    assert_ne!(fresh, id);
    let b = ns.shmat(&root, id, 0, 0).unwrap();
    assert_eq!(stat(&ns, id).unwrap().shm_nattch, 2);
    assert_eq!(
        ns.shmctl_rmid(&root, id),
        Ok(()),
        "a second IPC_RMID is 0 again"
    );
    let (_, info) = ns.shmctl_shm_info(&root, 0).unwrap();
    assert_eq!(info.used_ids, 2, "SHM_INFO counts the SHM_DEST segment");
    ns.shmdt(&root, a).unwrap();
    assert_eq!(stat(&ns, id).unwrap().shm_nattch, 1);
    ns.shmdt(&root, b).unwrap();
    assert_eq!(
        stat(&ns, id),
        Err(Errno::EINVAL),
        "destroyed at the last detach"
    );
    assert_eq!(ns.shmctl_rmid(&root, id), Err(Errno::EINVAL));
    assert_eq!(ns.shmat(&root, id, 0, 0), Err(Errno::EINVAL));
    assert_eq!(ns.shmctl_shm_info(&root, 0).unwrap().1.used_ids, 1);
    // Not attached: IPC_RMID destroys at once.
    ns.shmctl_rmid(&root, fresh).unwrap();
    assert_eq!(stat(&ns, fresh), Err(Errno::EINVAL));
}

#[test]
fn shm_lock_and_unlock_toggle_shm_locked_and_ipc_set_keeps_it() {
    let Some(ns) = namespace("shm_lock_and_unlock_toggle_shm_locked_and_ipc_set_keeps_it") else {
        return;
    };
    let root = HostCaller::root();
    let user = HostCaller::user(1000, 1000);
    let id = ns
        .shmget(&root, IPC_PRIVATE, 2 * page() as u64, 0o600)
        .unwrap();
    ns.shmctl_lock(&root, id, SHM_LOCK).unwrap();
    let ds = stat(&ns, id).unwrap();
    assert_eq!(ds.shm_perm.mode, SHM_LOCKED as u32 | 0o600);
    ns.shmctl_lock(&root, id, SHM_LOCK).unwrap();
    // Neither owner nor creator: EPERM, for SHM_UNLOCK too.
    assert_eq!(ns.shmctl_lock(&user, id, SHM_LOCK), Err(Errno::EPERM));
    assert_eq!(ns.shmctl_lock(&user, id, SHM_UNLOCK), Err(Errno::EPERM));
    // IPC_SET replaces only the low 9 bits and sets ctime.
    let mut set = ds;
    set.shm_perm.mode = 0o7777;
    ns.shmctl_set(&root, id, &set).unwrap();
    let after = stat(&ns, id).unwrap();
    assert_eq!(after.shm_perm.mode, SHM_LOCKED as u32 | 0o777);
    assert!(after.shm_ctime >= ds.shm_ctime);
    ns.shmctl_lock(&root, id, SHM_UNLOCK).unwrap();
    assert_eq!(stat(&ns, id).unwrap().shm_perm.mode, 0o777);
    ns.shmctl_lock(&root, id, SHM_UNLOCK).unwrap();
    assert_eq!(ns.shmctl_lock(&root, id + 1, SHM_LOCK), Err(Errno::EINVAL));
}

#[test]
fn shm_lock_without_cap_ipc_lock_is_bounded_by_rlimit_memlock() {
    let Some(ns) = namespace("shm_lock_without_cap_ipc_lock_is_bounded_by_rlimit_memlock") else {
        return;
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit to write.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) };
    assert_eq!(rc, 0);
    if limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur == 0 {
        eprintln!("skipping: RLIMIT_MEMLOCK is {}", limit.rlim_cur);
        return;
    }
    // The owner, without CAP_IPC_LOCK: what it may lock is counted against RLIMIT_MEMLOCK.
    let user = HostCaller::user(1000, 1000);
    let small = ns.shmget(&user, IPC_PRIVATE, page() as u64, 0o600).unwrap();
    ns.shmctl_lock(&user, small, SHM_LOCK).unwrap();
    assert_eq!(
        stat(&ns, small).unwrap().shm_perm.mode,
        SHM_LOCKED as u32 | 0o600
    );
    let big = ns
        .shmget(&user, IPC_PRIVATE, limit.rlim_cur + page() as u64, 0o600)
        .unwrap();
    assert_eq!(ns.shmctl_lock(&user, big, SHM_LOCK), Err(Errno::ENOMEM));
    assert_eq!(stat(&ns, big).unwrap().shm_perm.mode, 0o600);
    ns.shmctl_lock(&user, small, SHM_UNLOCK).unwrap();
}

#[test]
fn ipc_info_reports_the_limits_and_shm_info_the_usage_in_pages() {
    let Some(ns) = namespace("ipc_info_reports_the_limits_and_shm_info_the_usage_in_pages") else {
        return;
    };
    let root = HostCaller::root();
    let page = page();
    let limits = Shminfo64 {
        shmmax: SHMMAX,
        shmmin: SHMMIN,
        shmmni: SHMMNI as u64,
        shmseg: SHMSEG as u64,
        shmall: SHMALL,
        ..Shminfo64::default()
    };
    assert_eq!(ns.shmctl_info(&root, 0, IPC_INFO), Ok((0, limits)));
    let (max, empty) = ns.shmctl_shm_info(&root, 0).unwrap();
    assert_eq!(
        (max, empty.used_ids, empty.shm_tot, empty.shm_rss),
        (0, 0, 0, 0)
    );
    assert_eq!(ns.shmctl_info(&root, -1, IPC_INFO), Err(Errno::EINVAL));
    assert_eq!(ns.shmctl_shm_info(&root, -1), Err(Errno::EINVAL));

    let a = ns
        .shmget(&root, IPC_PRIVATE, page as u64 + 1, 0o600)
        .unwrap();
    ns.shmget(&root, IPC_PRIVATE, 1, 0o600).unwrap();
    let (max, info) = ns.shmctl_shm_info(&root, 12345).unwrap();
    assert_eq!(max, 1, "the highest index in use");
    assert_eq!(info.used_ids, 2);
    assert_eq!(info.shm_tot, 3, "ceil(size / PAGE_SIZE) summed: 2 + 1");
    assert_eq!((info.shm_rss, info.shm_swp), (0, 0), "no page touched yet");
    assert_eq!((info.swap_attempts, info.swap_successes), (0, 0));
    assert_eq!(ns.shmctl_info(&root, 0, IPC_INFO).unwrap().0, 1);

    let addr = ns.shmat(&root, a, 0, 0).unwrap();
    // SAFETY: addr is a live attachment of two pages, detached below.
    unsafe {
        write_mem(addr, &[1]);
        write_mem(addr + page, &[1]);
    }
    assert_eq!(ns.shmctl_shm_info(&root, 0).unwrap().1.shm_rss, 2);
    ns.shmdt(&root, addr).unwrap();
    assert_eq!(
        ns.shmctl_shm_info(&root, 0).unwrap().1.shm_rss,
        2,
        "the pages stay resident after the detach"
    );
}

#[test]
fn shm_stat_takes_an_index_and_returns_the_full_id() {
    let Some(ns) = namespace("shm_stat_takes_an_index_and_returns_the_full_id") else {
        return;
    };
    let root = HostCaller::root();
    let user = HostCaller::user(1000, 1000);
    let wanted = 2 * 32768 + 5;
    ns.set_sysctl("shm_next_id", &wanted.to_string()).unwrap();
    let id = ns.shmget(&root, IPC_PRIVATE, 10, 0o600).unwrap();
    assert_eq!(id, wanted);
    assert_eq!(ns.sysctl("shm_next_id").as_deref(), Ok("-1"), "used once");
    assert_eq!(ns.shmctl_stat(&root, 5, SHM_STAT).map(|r| r.0), Ok(id));
    assert_eq!(ns.shmctl_stat(&root, id, SHM_STAT).map(|r| r.0), Ok(id));
    assert_eq!(
        ns.shmctl_stat(&root, 6, SHM_STAT).map(|r| r.0),
        Err(Errno::EINVAL)
    );
    // IPC_STAT checks the sequence number.
    assert_eq!(
        ns.shmctl_stat(&root, 5, IPC_STAT).map(|r| r.0),
        Err(Errno::EINVAL)
    );
    // Read permission: SHM_STAT needs it, SHM_STAT_ANY does not.
    assert_eq!(
        ns.shmctl_stat(&user, 5, SHM_STAT).map(|r| r.0),
        Err(Errno::EACCES)
    );
    let (ret, ds) = ns.shmctl_stat(&user, 5, SHM_STAT_ANY).unwrap();
    assert_eq!((ret, ds.shm_segsz), (id, 10));
    assert_eq!(ns.shmctl_shm_info(&root, 0).unwrap().0, 5);
}

#[test]
fn a_caller_without_permission_gets_eacces_and_eperm() {
    let Some(ns) = namespace("a_caller_without_permission_gets_eacces_and_eperm") else {
        return;
    };
    let root = HostCaller::root();
    let user = HostCaller::user(1000, 1000);
    let key = common::unusual_key(3);
    let id = ns.shmget(&root, key, 100, IPC_CREAT | 0o600).unwrap();
    // shmget checks only the access its flags ask for: none at all is granted.
    assert_eq!(ns.shmget(&user, key, 0, 0), Ok(id));
    assert_eq!(ns.shmget(&user, key, 0, 0o400), Err(Errno::EACCES));
    assert_eq!(ns.shmat(&user, id, 0, 0), Err(Errno::EACCES));
    assert_eq!(ns.shmat(&user, id, 0, SHM_RDONLY), Err(Errno::EACCES));
    assert_eq!(
        ns.shmctl_stat(&user, id, IPC_STAT).map(|r| r.0),
        Err(Errno::EACCES)
    );
    assert_eq!(ns.shmctl_rmid(&user, id), Err(Errno::EPERM));
    let ds = stat(&ns, id).unwrap();
    assert_eq!(ns.shmctl_set(&user, id, &ds), Err(Errno::EPERM));
    assert_eq!(stat(&ns, id).unwrap().shm_nattch, 0);
    // Other-read only: a read-only attachment is allowed, a read-write one is not.
    let mut set = ds;
    set.shm_perm.mode = 0o604;
    ns.shmctl_set(&root, id, &set).unwrap();
    assert_eq!(ns.shmat(&user, id, 0, 0), Err(Errno::EACCES));
    let ro = ns.shmat(&user, id, 0, SHM_RDONLY).unwrap();
    assert_eq!(nattch_lpid(&ns, id), (1, pid()));
    ns.shmdt(&user, ro).unwrap();
}

#[test]
fn shm_rdonly_maps_read_only_and_sees_other_attachments_writes() {
    let Some(ns) = namespace("shm_rdonly_maps_read_only_and_sees_other_attachments_writes") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let rw = ns.shmat(&root, id, 0, 0).unwrap();
    let ro = ns.shmat(&root, id, 0, SHM_RDONLY).unwrap();
    assert_eq!(maps_perms(rw).as_deref(), Some("rw-s"));
    assert_eq!(maps_perms(ro).as_deref(), Some("r--s"));
    // SAFETY: both are live attachments of at least 100 bytes; only `rw` is written.
    unsafe {
        write_mem(rw + 99, b"z");
        assert_eq!(read_mem(ro + 99, 1), b"z");
    }
    ns.shmdt(&root, ro).unwrap();
    ns.shmdt(&root, rw).unwrap();
}

#[test]
fn fixed_addresses_shm_rnd_shm_remap_and_shmdt_errors() {
    let Some(ns) = namespace("fixed_addresses_shm_rnd_shm_remap_and_shmdt_errors") else {
        return;
    };
    let root = HostCaller::root();
    let page = page();
    let id = ns
        .shmget(&root, IPC_PRIVATE, 2 * page as u64, 0o600)
        .unwrap();
    let other = ns
        .shmget(&root, IPC_PRIVATE, 2 * page as u64, 0o600)
        .unwrap();
    let held = reserve(2 * page);
    // A fixed address must be page aligned (or SHM_RND given) and free.
    assert_eq!(ns.shmat(&root, id, held, 0), Err(Errno::EINVAL));
    assert_eq!(ns.shmat(&root, id, held + 1, 0), Err(Errno::EINVAL));
    assert_eq!(ns.shmat(&root, id, held + 1, SHM_RND), Err(Errno::EINVAL));
    // SHM_REMAP needs an address, also after SHM_RND rounds it down.
    assert_eq!(ns.shmat(&root, id, 0, SHM_REMAP), Err(Errno::EINVAL));
    assert_eq!(
        ns.shmat(&root, id, 100, SHM_RND | SHM_REMAP),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        stat(&ns, id).unwrap().shm_nattch,
        0,
        "failed attaches leave no trace"
    );
    // The checked shmat refuses to replace memory; the reservation is still there.
    let refused = catch_unwind(AssertUnwindSafe(|| ns.shmat(&root, id, held, SHM_REMAP)));
    assert!(refused.is_err());
    assert_eq!(maps_perms(held).as_deref(), Some("---p"));
    // SAFETY: `held` is this test's own inaccessible reservation of 2 pages, which nothing
    // uses; the segment (2 pages) replaces exactly it.
    let at = unsafe { ns.shmat_unchecked(&root, id, held + 123, SHM_RND | SHM_REMAP) };
    assert_eq!(at, Ok(held), "SHM_RND rounds down to SHMLBA");
    assert_eq!(maps_perms(held).as_deref(), Some("rw-s"));
    // Remapping over an attachment detaches the one it replaces.
    // SAFETY: [held, held + 2 pages) is now this test's attachment of `id`, not read again.
    let over = unsafe { ns.shmat_unchecked(&root, other, held, SHM_REMAP) };
    assert_eq!(over, Ok(held));
    let replaced = stat(&ns, id).unwrap();
    assert_eq!((replaced.shm_nattch, replaced.shm_lpid), (0, pid()));
    assert_ne!(replaced.shm_dtime, 0);
    assert_eq!(stat(&ns, other).unwrap().shm_nattch, 1);
    // shmdt wants the start of an attachment.
    assert_eq!(ns.shmdt(&root, held + 1), Err(Errno::EINVAL));
    assert_eq!(ns.shmdt(&root, held + page), Err(Errno::EINVAL));
    assert_eq!(ns.shmdt(&root, 0), Err(Errno::EINVAL));
    ns.shmdt(&root, held).unwrap();
    assert_eq!(ns.shmdt(&root, held), Err(Errno::EINVAL));
    assert_eq!(stat(&ns, other).unwrap().shm_nattch, 0);
}

#[test]
fn raw_shmctl_buffers_and_commands_reach_the_kernel_as_given() {
    let Some(ns) = namespace("raw_shmctl_buffers_and_commands_reach_the_kernel_as_given") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 4321, 0o600).unwrap();
    let mut buf = vec![0xAAu8; 112];
    assert_eq!(ns.shmctl_raw(&root, id, IPC_STAT, Some(&mut buf)), Ok(0));
    assert_eq!(u64::from_ne_bytes(buf[48..56].try_into().unwrap()), 4321);
    assert_eq!(buf[96..112], [0; 16], "the unused words are zeroed");
    let mut short = vec![0u8; 100];
    assert_eq!(
        ns.shmctl_raw(&root, id, IPC_STAT, Some(&mut short)),
        Err(Errno::EFAULT)
    );
    assert_eq!(ns.shmctl_raw(&root, id, IPC_STAT, None), Err(Errno::EFAULT));
    // IPC_SET copies its buffer in before the lookup.
    assert_eq!(ns.shmctl_raw(&root, -1, IPC_SET, None), Err(Errno::EINVAL));
    assert_eq!(
        ns.shmctl_raw(&root, 99999, IPC_SET, None),
        Err(Errno::EFAULT)
    );
    assert_eq!(ns.shmctl_raw(&root, 0, IPC_INFO, None), Err(Errno::EFAULT));
    assert_eq!(
        ns.shmctl_raw(&root, id, IPC_STAT | IPC_64, Some(&mut buf)),
        Err(Errno::EINVAL),
        "the shmctl syscall takes no IPC_64"
    );
    assert_eq!(ns.shmctl_raw(&root, id, -1, None), Err(Errno::EINVAL));
    assert_eq!(ns.shmctl_raw(&root, id, 99, None), Err(Errno::EINVAL));
    assert_eq!(ns.shmctl_raw(&root, id, IPC_RMID, None), Ok(0));
}

#[test]
fn a_forked_child_inherits_attachments_until_it_exits() {
    let Some(ns) = namespace("a_forked_child_inherits_attachments_until_it_exits") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let a = ns.shmat(&root, id, 0, 0).unwrap();
    let before = stat(&ns, id).unwrap();

    let child = ns.fork(&root, &[]);
    assert_eq!(child.results(), []);
    assert_ne!(child.pid(), pid());
    // The copy counts as an attach by the parent.
    assert_eq!(nattch_lpid(&ns, id), (2, pid()));
    let child_pid = child.pid();
    child.exit();
    // Its exit detaches the copy in its own name.
    let after = stat(&ns, id).unwrap();
    assert_eq!((after.shm_nattch, after.shm_lpid), (1, child_pid));
    assert!(after.shm_dtime >= before.shm_atime && after.shm_dtime != 0);

    // A child that attaches by id and detaches the inherited attachment.
    let child = ns.fork(
        &root,
        &[
            ChildStep::Shmat {
                id,
                addr: 0,
                flags: SHM_RDONLY,
            },
            ChildStep::Shmdt { addr: a },
            ChildStep::Shmdt { addr: a },
            ChildStep::Shmat {
                id: id + 1,
                addr: 0,
                flags: 0,
            },
        ],
    );
    let results = child.results().to_vec();
    let child_addr = results[0].expect("the child's shmat");
    assert_eq!(child_addr % page(), 0);
    assert_eq!(
        &results[1..],
        [Ok(0), Err(Errno::EINVAL), Err(Errno::EINVAL)]
    );
    assert_eq!(
        nattch_lpid(&ns, id),
        (2, child.pid()),
        "parent's a + child's new one"
    );
    let child_pid = child.pid();
    drop(child);
    assert_eq!(
        nattch_lpid(&ns, id),
        (1, child_pid),
        "drop makes it exit too"
    );

    // The parent's attachment was never affected.
    // SAFETY: a is a live attachment of at least 100 bytes, detached below.
    unsafe {
        write_mem(a, b"still mine");
        assert_eq!(read_mem(a, 10), b"still mine");
    }
    ns.shmdt(&root, a).unwrap();
    assert_eq!(nattch_lpid(&ns, id), (0, pid()));
}

#[test]
fn a_forked_child_runs_with_the_callers_credentials() {
    let Some(ns) = namespace("a_forked_child_runs_with_the_callers_credentials") else {
        return;
    };
    let root = HostCaller::root();
    let user = HostCaller::user(1000, 1000);
    let id = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let shared = ns.shmget(&root, IPC_PRIVATE, 100, 0o606).unwrap();
    let attach = |id| ChildStep::Shmat {
        id,
        addr: 0,
        flags: 0,
    };
    let child = ns.fork(&user, &[attach(id), attach(shared)]);
    assert_eq!(child.results()[0], Err(Errno::EACCES));
    assert!(child.results()[1].is_ok());
    assert_eq!(nattch_lpid(&ns, shared), (1, child.pid()));
    child.exit();
    assert_eq!(stat(&ns, shared).unwrap().shm_nattch, 0);
}

#[test]
fn a_fork_copies_only_the_forking_namespaces_attachments() {
    let (Some(ns), Some(other)) = (
        namespace("a_fork_copies_only_the_forking_namespaces_attachments"),
        namespace("a_fork_copies_only_the_forking_namespaces_attachments"),
    ) else {
        return;
    };
    let root = HostCaller::root();
    let mine = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let theirs = other.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let my_addr = ns.shmat(&root, mine, 0, 0).unwrap();
    let their_addr = other.shmat(&root, theirs, 0, 0).unwrap();
    let their_before = stat(&other, theirs).unwrap();

    let child = ns.fork(
        &root,
        &[
            ChildStep::Shmdt { addr: their_addr },
            ChildStep::Shmdt { addr: my_addr },
        ],
    );
    assert_eq!(
        child.results(),
        [Err(Errno::EINVAL), Ok(0)],
        "the other namespace's attachment is not in the child"
    );
    assert_eq!(nattch_lpid(&ns, mine), (1, child.pid()));
    assert_eq!(stat(&other, theirs).unwrap(), their_before);
    child.exit();
    assert_eq!(stat(&other, theirs).unwrap(), their_before);

    ns.shmdt(&root, my_addr).unwrap();
    other.shmdt(&root, their_addr).unwrap();
}

#[test]
fn a_child_outliving_its_namespace_is_killed() {
    let Some(ns) = namespace("a_child_outliving_its_namespace_is_killed") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let child = ns.fork(
        &root,
        &[ChildStep::Shmat {
            id,
            addr: 0,
            flags: 0,
        }],
    );
    assert!(child.results()[0].is_ok());
    let pid = child.pid();
    drop(ns);
    // The namespace thread's exit sent the child SIGKILL (PR_SET_PDEATHSIG); dropping the
    // handle reaps it without waiting for the 20 s timeout.
    let started = std::time::Instant::now();
    drop(child);
    assert!(started.elapsed() < BLOCK_TIMEOUT);
    // SAFETY: kill with signal 0 only checks whether the process exists.
    assert_eq!(unsafe { libc::kill(pid, 0) }, -1, "child {pid} reaped");
}

#[test]
fn shm_rmid_forced_destroys_a_segment_at_its_last_detach() {
    let Some(ns) = namespace("shm_rmid_forced_destroys_a_segment_at_its_last_detach") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    let kept = ns.shmget(&root, IPC_PRIVATE, 100, 0o600).unwrap();
    ns.set_sysctl("shm_rmid_forced", "1").unwrap();
    assert_eq!(ns.sysctl("shm_rmid_forced").unwrap(), "1");
    // Its creator (the namespace thread) is alive, so neither is an orphan yet.
    assert!(stat(&ns, id).is_ok());
    let a = ns.shmat(&root, id, 0, 0).unwrap();
    ns.shmdt(&root, a).unwrap();
    assert_eq!(stat(&ns, id), Err(Errno::EINVAL));
    assert!(stat(&ns, kept).is_ok());
}

#[test]
fn a_live_child_reads_and_writes_its_own_attachment_for_the_parent() {
    let Some(ns) = namespace("a_live_child_reads_and_writes_its_own_attachment_for_the_parent")
    else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.shmget(&root, IPC_PRIVATE, 100_000, 0o600).unwrap();
    let a = ns.shmat(&root, id, 0, 0).unwrap();
    let mut child = ns.fork(
        &root,
        &[ChildStep::Shmat {
            id,
            addr: 0,
            flags: 0,
        }],
    );
    let Ok(c) = child.results()[0] else {
        panic!("the child's shmat failed: {:?}", child.results());
    };
    // More than one scratch page's worth, across the segment.
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    // SAFETY: `c` is the child's attachment of 100,000 bytes, writable.
    unsafe { child.write(c + 1000, &data) }.unwrap();
    // SAFETY: `a` is this test's live attachment of the same segment.
    assert_eq!(unsafe { read_mem(a + 1000, data.len()) }, data);
    // SAFETY: as above, readable.
    assert_eq!(unsafe { child.read(c + 1000, 70_000) }.unwrap(), data);
    child.exit();
    ns.shmdt(&root, a).unwrap();
}
