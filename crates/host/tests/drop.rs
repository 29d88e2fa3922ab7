//! Dropping a HostNamespace leaves nothing behind: no thread, no namespace, no memory.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::{BLOCK_TIMEOUT, namespace};
use sysvipc_abi::Errno;
use sysvipc_host::HostCaller;

/// Tids of this process's threads whose IPC namespace has inode `ns`.
fn threads_in_namespace(ns: u64) -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let ino = std::fs::metadata(entry.path().join("ns/ipc")).ok()?.ino();
            (ino == ns).then(|| entry.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// Polls `done` until it holds or ten seconds pass.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    done()
}

fn shmem_kib() -> i64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = meminfo.lines().find(|l| l.starts_with("Shmem:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn drop_stops_every_task_of_the_namespace() {
    let Some(ns) = namespace("drop_stops_every_task_of_the_namespace") else {
        return;
    };
    let root = HostCaller::root();
    let inode = ns.ns_inode().expect("ns inode");
    let ns_tid = ns.run(&root, || std::fs::read_link("/proc/thread-self").unwrap());
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    // A thread left blocked and never joined.
    let detached = ns.spawn(&root, move |t| t.msgrcv(id, 8, 0, 0));
    detached.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    let detached_tid = detached.tid();
    drop(detached);
    assert_eq!(threads_in_namespace(inode).len(), 2);

    drop(ns);
    // pthread_join returns when the kernel clears the thread's tid word (mm_release), which
    // do_exit() does before exit_task_namespaces() and before the task leaves /proc: wait.
    let ns_task = std::path::Path::new("/proc").join(&ns_tid);
    assert!(eventually(|| !ns_task.exists()), "namespace thread alive");
    // The queue was removed, so the detached receiver woke (EIDRM) and ended.
    assert!(
        eventually(|| threads_in_namespace(inode).is_empty()),
        "threads still in the namespace: {:?} (detached receiver was {detached_tid})",
        threads_in_namespace(inode)
    );
}

#[test]
fn drop_wakes_threads_blocked_in_the_namespace_with_eidrm() {
    let Some(ns) = namespace("drop_wakes_threads_blocked_in_the_namespace_with_eidrm") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns
        .msgget(&root, 0x77, sysvipc_abi::IPC_CREAT | 0o600)
        .unwrap();
    let receiver = ns.spawn(&root, move |t| t.msgrcv(id, 8, 0, 0));
    receiver.wait_until_blocked(BLOCK_TIMEOUT).unwrap();
    drop(ns);
    assert_eq!(receiver.join(), Err(Errno::EIDRM));
}

#[test]
fn drop_frees_the_memory_of_the_namespace_objects() {
    let Some(ns) = namespace("drop_frees_the_memory_of_the_namespace_objects") else {
        return;
    };
    const SIZE: usize = 64 << 20;
    // A shared-memory segment is the one object whose memory the host reports (Shmem in
    // /proc/meminfo): fill one, detach it, and watch the memory go with the namespace.
    let id = ns.run(&HostCaller::root(), || {
        // SAFETY: shmget/shmat/shmdt on a fresh private segment; the mapping is SIZE bytes
        // long and only written within it, then detached.
        unsafe {
            let id = libc::shmget(libc::IPC_PRIVATE, SIZE, 0o600 | libc::IPC_CREAT);
            assert!(id >= 0, "shmget: {}", std::io::Error::last_os_error());
            let p = libc::shmat(id, std::ptr::null(), 0).cast::<u8>();
            assert_ne!(p as isize, -1, "shmat: {}", std::io::Error::last_os_error());
            std::ptr::write_bytes(p, 1, SIZE);
            assert_eq!(libc::shmdt(p.cast()), 0);
            id
        }
    });
    assert!(id >= 0);
    let with_segment = shmem_kib();
    drop(ns);
    let freed_kib = (SIZE as i64 / 1024) * 3 / 4;
    assert!(
        eventually(|| shmem_kib() <= with_segment - freed_kib),
        "Shmem {with_segment} KiB with the segment, still {} KiB after drop",
        shmem_kib()
    );
}
