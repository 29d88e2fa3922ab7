//! The bytes the emulation holds, counted by a global allocator that tallies live heap bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use sysvipc::abi;
use sysvipc::{IpcNamespace, Message};

use crate::workloads::root;

/// Bytes currently allocated through [`Counting`].
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live bytes. Install it in a binary with
/// `#[global_allocator] static A: Counting = Counting;` for [`memory`] to measure anything.
pub struct Counting;

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above, for `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above, for `alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above, for `realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// What the emulation holds, as (what, bytes) rows: an empty namespace, an empty queue, a
/// queued message beyond its text, the first object of a kind, a semaphore set, an untouched
/// segment. All zero unless [`Counting`] is the global allocator.
pub fn memory() -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let before = live();
    let ns = IpcNamespace::new();
    rows.push(("empty namespace".into(), format!("{} B", live() - before)));
    let me = root(1);
    const QUEUES: usize = 1_000;
    let before = live();
    for _ in 0..QUEUES {
        ns.msgget(&me, 0, abi::IPC_CREAT | 0o600).unwrap();
    }
    rows.push((
        format!("per empty queue (mean of {QUEUES})"),
        format!("{} B", (live() - before) / QUEUES as isize),
    ));
    ns.limits().set_msgmnb(i64::from(i32::MAX)).unwrap();
    let id = ns.msgget(&me, 0, abi::IPC_CREAT | 0o600).unwrap();
    const MESSAGES: usize = 100_000;
    const TEXT: usize = 16;
    let texts: Vec<Vec<u8>> = (0..MESSAGES).map(|_| vec![0; TEXT]).collect();
    let before = live();
    for (i, t) in texts.into_iter().enumerate() {
        // A few types, as real queues carry.
        let msg = Message::new(1 + (i % 4) as i64, t);
        ns.msgsnd(&me, id, msg, abi::IPC_NOWAIT).unwrap();
    }
    // The texts were allocated before `before`: what rises is the emulation's own overhead.
    rows.push((
        format!("per queued message beyond its text ({MESSAGES} of {TEXT} B, 4 types)"),
        format!("{:.1} B", (live() - before) as f64 / MESSAGES as f64),
    ));
    let before = live();
    ns.semget(&me, 0, 1, abi::IPC_CREAT | 0o600).unwrap();
    rows.push((
        "first object of a kind (its lookup index's first chunk of 64 slots)".into(),
        format!("{} B", live() - before),
    ));
    let before = live();
    ns.semget(&me, 0, 1, abi::IPC_CREAT | 0o600).unwrap();
    rows.push((
        "per set of one semaphore".into(),
        format!("{} B", live() - before),
    ));
    ns.shmget(&me, 0, 1, abi::IPC_CREAT | 0o600).unwrap();
    let before = live();
    ns.shmget(&me, 0, 1 << 20, abi::IPC_CREAT | 0o600).unwrap();
    rows.push((
        "per 1 MiB segment, untouched".into(),
        format!("{} B", live() - before),
    ));
    rows
}
