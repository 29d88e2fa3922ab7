//! The emulation beside the host kernel and beside a plain baseline, in one run (DESIGN.md §7,
//! issue 8). Each benchmark of a group does the same work up to three ways:
//!
//! - `emulation`: [`IpcNamespace`] calls with root [`Caller`]s;
//! - `host`: the raw syscalls, looped *inside* the [`sysvipc_host::HostNamespace`] thread (one
//!   `HostNamespace::run` per criterion sample, timed there with `Instant`), so the round trip
//!   to that thread is not measured; skipped when no private IPC namespace can be created;
//! - `baseline`: the same work on plain data structures — a `parking_lot::Mutex<VecDeque<Vec<u8>>>`
//!   for queues (with a `Condvar` where threads wait), a `parking_lot::Mutex<i32>` for
//!   semaphores (with a `Condvar` where threads wait), a `Mutex<HashMap>` for lookups.
//!
//! After criterion's own report it prints a table of the per-operation medians (over
//! criterion's measurement samples) and the ratios emulation/baseline and host/emulation, then
//! the memory the emulation uses (counted by a global allocator that tallies live bytes).
//!
//! `cargo bench -p sysvipc --bench compare` (or `just bench`); criterion's `-- --quick` for a
//! short run, `-- <filter>` for some groups only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Barrier, Mutex as StdMutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::Criterion;
use parking_lot::{Condvar, Mutex};
use sysvipc::abi::{self, Sembuf};
use sysvipc::{AttachTable, Caller, Credentials, IpcNamespace, Message, ThreadBlocker};

/// Measurement samples per benchmark; the report uses the last `SAMPLES` records of each.
const SAMPLES: usize = 20;

// ---------------------------------------------------------------------------------------------
// Allocation accounting (for the memory figures)

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

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

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// Recording

/// Per benchmark id, every `(iters, elapsed)` that an `iter_custom` routine returned; the last
/// [`SAMPLES`] are criterion's measurement phase (the earlier ones are its warm-up).
static RECORDS: StdMutex<BTreeMap<String, Vec<(u64, Duration)>>> = StdMutex::new(BTreeMap::new());

/// The groups in the order they ran, for the report.
static GROUPS: StdMutex<Vec<String>> = StdMutex::new(Vec::new());

fn record(id: &str, iters: u64, elapsed: Duration) -> Duration {
    RECORDS
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_default()
        .push((iters, elapsed));
    elapsed
}

/// The time of `iters` runs of `f`.
fn time_loop(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

/// Median nanoseconds per iteration over the measurement samples of `id`.
fn median_ns(id: &str) -> Option<f64> {
    let records = RECORDS.lock().unwrap();
    let all = records.get(id)?;
    let mut per: Vec<f64> = all[all.len().saturating_sub(SAMPLES)..]
        .iter()
        .filter(|(iters, _)| *iters > 0)
        .map(|(iters, d)| d.as_nanos() as f64 / *iters as f64)
        .collect();
    if per.is_empty() {
        return None;
    }
    per.sort_by(f64::total_cmp);
    Some(per[per.len() / 2])
}

/// One benchmark group: up to three routines doing the same work, each returning the time of
/// `iters` iterations.
struct Group<'c> {
    name: String,
    group: criterion::BenchmarkGroup<'c, criterion::measurement::WallTime>,
}

impl<'c> Group<'c> {
    fn new(c: &'c mut Criterion, name: &str) -> Self {
        GROUPS.lock().unwrap().push(name.to_owned());
        Self {
            name: name.to_owned(),
            group: c.benchmark_group(name),
        }
    }

    /// Benchmarks `run(iters) -> elapsed` as `column` (emulation, host or baseline).
    fn bench(&mut self, column: &str, mut run: impl FnMut(u64) -> Duration) {
        let key = format!("{}/{column}", self.name);
        self.group.bench_function(column, |b| {
            b.iter_custom(|iters| record(&key, iters, run(iters)))
        });
    }

    fn finish(self) {
        self.group.finish();
    }
}

fn root(pid: i32) -> Caller {
    Caller::new(Credentials::root(), pid, Arc::new(ThreadBlocker::new()))
}

fn op(num: u16, op: i16) -> Sembuf {
    Sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: 0,
    }
}

const NOWAIT: i32 = abi::IPC_NOWAIT;

/// The baseline of a queue threads wait on: a `Mutex<VecDeque>` and a `Condvar`.
#[derive(Default)]
struct Channel {
    queue: Mutex<VecDeque<Vec<u8>>>,
    ready: Condvar,
}

impl Channel {
    fn send(&self, v: Vec<u8>) {
        self.queue.lock().push_back(v);
        self.ready.notify_one();
    }

    fn recv(&self) -> Vec<u8> {
        let mut q = self.queue.lock();
        loop {
            if let Some(v) = q.pop_front() {
                return v;
            }
            self.ready.wait(&mut q);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The host kernel

/// The host kernel's side, or `None` (with the reason printed) when no private IPC namespace
/// can be created here.
#[cfg(target_os = "linux")]
mod host {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use sysvipc_host::{HostCaller, HostNamespace};

    pub struct Host {
        pub ns: HostNamespace,
    }

    pub fn open() -> Option<Host> {
        match HostNamespace::new() {
            Ok(ns) => {
                // Deep queues for the typed-receive benchmarks.
                ns.set_sysctl("msgmnb", &i32::MAX.to_string())
                    .expect("host msgmnb");
                Some(Host { ns })
            }
            Err(e) => {
                eprintln!("host column skipped: HostNamespace::new() failed: {e}");
                None
            }
        }
    }

    #[repr(C)]
    struct MsgBuf {
        mtype: libc::c_long,
        mtext: [u8; 8192],
    }

    fn buf(mtype: libc::c_long) -> Box<MsgBuf> {
        Box::new(MsgBuf {
            mtype,
            mtext: [0xa5; 8192],
        })
    }

    fn snd(id: i32, b: &MsgBuf, size: usize, flags: i32) {
        // SAFETY: `b` is a `struct msgbuf` with at least `size` (≤ 8192) bytes of text; the
        // kernel only reads it.
        let r = unsafe { libc::msgsnd(id, (&raw const *b).cast(), size, flags) };
        assert_eq!(r, 0, "host msgsnd: {}", std::io::Error::last_os_error());
    }

    fn rcv(id: i32, b: &mut MsgBuf, typ: libc::c_long, flags: i32) -> isize {
        // SAFETY: `b` is a `struct msgbuf` with room for 8192 bytes of text, the most the
        // kernel writes for this msgsz.
        let n = unsafe { libc::msgrcv(id, (&raw mut *b).cast(), 8192, typ, flags) };
        assert!(n >= 0, "host msgrcv: {}", std::io::Error::last_os_error());
        n
    }

    fn semop(id: i32, ops: &mut [libc::sembuf]) {
        // SAFETY: `ops` is a valid array of `ops.len()` sembufs.
        let r = unsafe { libc::semop(id, ops.as_mut_ptr(), ops.len()) };
        assert_eq!(r, 0, "host semop: {}", std::io::Error::last_os_error());
    }

    fn sembuf(num: u16, op: i16) -> libc::sembuf {
        libc::sembuf {
            sem_num: num,
            sem_op: op,
            sem_flg: 0,
        }
    }

    impl Host {
        fn root(&self) -> HostCaller {
            HostCaller::root()
        }

        pub fn queue(&self) -> i32 {
            self.ns
                .msgget(&self.root(), libc::IPC_PRIVATE, 0o600)
                .expect("host msgget")
        }

        pub fn rmid(&self, id: i32) {
            let _ = self.ns.msgctl_rmid(&self.root(), id);
        }

        /// `iters` msgsnd+msgrcv pairs of `size` bytes with IPC_NOWAIT.
        pub fn msg_pairs(&self, id: i32, size: usize, iters: u64) -> Duration {
            self.ns.run(&self.root(), move || {
                let s = buf(1);
                let mut r = buf(0);
                let start = Instant::now();
                for _ in 0..iters {
                    snd(id, &s, size, libc::IPC_NOWAIT);
                    rcv(id, &mut r, 0, libc::IPC_NOWAIT);
                }
                start.elapsed()
            })
        }

        /// Fills queue `id` with `n` one-byte messages of type 2.
        pub fn fill(&self, id: i32, n: usize) {
            self.ns.run(&self.root(), move || {
                let s = buf(2);
                for _ in 0..n {
                    snd(id, &s, 1, libc::IPC_NOWAIT);
                }
            })
        }

        /// `iters` times: a type-1 message sent to the back of queue `id`, then received with
        /// `msgtyp` and `flags`.
        pub fn typed(&self, id: i32, msgtyp: i64, flags: i32, iters: u64) -> Duration {
            self.ns.run(&self.root(), move || {
                let s = buf(1);
                let mut r = buf(0);
                let start = Instant::now();
                for _ in 0..iters {
                    snd(id, &s, 1, libc::IPC_NOWAIT);
                    rcv(id, &mut r, msgtyp, flags | libc::IPC_NOWAIT);
                    assert_eq!(r.mtype, 1);
                }
                start.elapsed()
            })
        }

        /// `iters` round trips: this thread sends type 1 and waits for type 2; a second thread
        /// echoes.
        pub fn ping_pong(&self, id: i32, iters: u64) -> Duration {
            let echo = self.ns.spawn(&self.root(), move |_| {
                let s = buf(2);
                let mut r = buf(0);
                for _ in 0..iters {
                    rcv(id, &mut r, 1, 0);
                    snd(id, &s, 8, 0);
                }
            });
            let elapsed = self.ns.run(&self.root(), move || {
                let s = buf(1);
                let mut r = buf(0);
                let start = Instant::now();
                for _ in 0..iters {
                    snd(id, &s, 8, 0);
                    rcv(id, &mut r, 2, 0);
                }
                start.elapsed()
            });
            echo.join();
            elapsed
        }

        pub fn sem_set(&self, nsems: i32) -> i32 {
            self.ns
                .semget(&self.root(), libc::IPC_PRIVATE, nsems, 0o600)
                .expect("host semget")
        }

        /// `iters` V+P pairs on semaphores `0..n` (one semop of `n` operations each way).
        pub fn sem_pairs(&self, id: i32, n: u16, iters: u64) -> Duration {
            self.ns.run(&self.root(), move || {
                let mut v: Vec<_> = (0..n).map(|i| sembuf(i, 1)).collect();
                let mut p: Vec<_> = (0..n).map(|i| sembuf(i, -1)).collect();
                let start = Instant::now();
                for _ in 0..iters {
                    semop(id, &mut v);
                    semop(id, &mut p);
                }
                start.elapsed()
            })
        }

        /// Two threads, `iters` P+V pairs each, on a binary semaphore (value 1).
        pub fn sem_contended(&self, id: i32, iters: u64) -> Duration {
            let ready = Arc::new(AtomicBool::new(false));
            let go = Arc::clone(&ready);
            let other = self.ns.spawn(&self.root(), move |_| {
                while !go.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                let (mut p, mut v) = ([sembuf(0, -1)], [sembuf(0, 1)]);
                for _ in 0..iters {
                    semop(id, &mut p);
                    semop(id, &mut v);
                }
            });
            let elapsed = self.ns.run(&self.root(), move || {
                let (mut p, mut v) = ([sembuf(0, -1)], [sembuf(0, 1)]);
                let start = Instant::now();
                ready.store(true, Ordering::Release);
                for _ in 0..iters {
                    semop(id, &mut p);
                    semop(id, &mut v);
                }
                start.elapsed()
            });
            other.join();
            elapsed
        }

        /// `iters` shmget + shmat + shmdt + IPC_RMID cycles of a 4 KiB segment.
        pub fn shm_cycles(&self, iters: u64) -> Duration {
            self.ns.run(&self.root(), move || {
                let start = Instant::now();
                for _ in 0..iters {
                    // SAFETY: plain syscalls; the attachment is at an address the kernel
                    // chose, and is detached before anything else happens.
                    unsafe {
                        let id = libc::shmget(libc::IPC_PRIVATE, 4096, 0o600);
                        assert!(id >= 0, "host shmget");
                        let at = libc::shmat(id, std::ptr::null(), 0);
                        assert_ne!(at as isize, -1, "host shmat");
                        libc::shmdt(at);
                        libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
                    }
                }
                start.elapsed()
            })
        }

        /// Creates `n` queues with keys `1..=n`.
        pub fn many_queues(&self, n: i32) {
            self.ns.run(&self.root(), move || {
                for key in 1..=n {
                    // SAFETY: a plain syscall.
                    let id = unsafe { libc::msgget(key, libc::IPC_CREAT | 0o600) };
                    assert!(id >= 0, "host msgget");
                }
            })
        }

        /// `iters` msgget lookups of keys spread over `1..=n`.
        pub fn lookups(&self, n: i32, iters: u64) -> Duration {
            self.ns.run(&self.root(), move || {
                let start = Instant::now();
                for i in 0..iters {
                    let key = (i * 7919 % n as u64) as i32 + 1;
                    // SAFETY: a plain syscall.
                    let id = unsafe { libc::msgget(key, 0) };
                    assert!(id >= 0);
                }
                start.elapsed()
            })
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod host {
    pub struct Host;

    pub fn open() -> Option<Host> {
        eprintln!("host column skipped: not Linux");
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

const SIZES: [(usize, &str); 4] = [(16, "16B"), (64, "64B"), (1024, "1KiB"), (8192, "8KiB")];

fn msg_pairs(c: &mut Criterion, host: Option<&host::Host>) {
    let ns = IpcNamespace::new();
    let me = root(1);
    let id = ns.msgget(&me, 0, abi::IPC_CREAT | 0o600).unwrap();
    let baseline = Mutex::new(VecDeque::<Vec<u8>>::new());
    #[cfg(target_os = "linux")]
    let hq = host.map(|h| h.queue());
    for (size, label) in SIZES {
        let text = vec![0xa5u8; size];
        let mut g = Group::new(c, &format!("msg_pair/{label}"));
        g.bench("emulation", |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                ns.msgsnd(&me, id, Message::new(1, text.as_slice()), NOWAIT)
                    .unwrap();
                black_box(ns.msgrcv(&me, id, 8192, 0, NOWAIT).unwrap());
            }
            start.elapsed()
        });
        #[cfg(target_os = "linux")]
        if let (Some(h), Some(hq)) = (host, hq) {
            g.bench("host", |iters| h.msg_pairs(hq, size, iters));
        }
        g.bench("baseline", |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                baseline.lock().push_back(text.as_slice().to_vec());
                black_box(baseline.lock().pop_front().unwrap());
            }
            start.elapsed()
        });
        g.finish();
    }
    let _ = host;
}

/// The typed receives: (label, msgtyp, flags). Each takes the type-1 message just sent to the
/// back of a queue of type-2 messages.
const SELECTORS: [(&str, i64, i32); 3] = [
    ("exact", 1, 0),
    ("negative", -1, 0),
    ("except", 2, abi::MSG_EXCEPT),
];

fn typed_receive(c: &mut Criterion, host: Option<&host::Host>) {
    for depth in [10usize, 1_000, 100_000] {
        let ns = IpcNamespace::new();
        ns.limits().set_msgmnb(i64::from(i32::MAX)).unwrap();
        let me = root(1);
        let id = ns.msgget(&me, 0, abi::IPC_CREAT | 0o600).unwrap();
        for _ in 0..depth {
            ns.msgsnd(&me, id, Message::new(2, vec![0]), NOWAIT)
                .unwrap();
        }
        // The baseline is a plain list searched front to back, as a queue without an index
        // (Linux's) is.
        let baseline = Mutex::new(
            (0..depth)
                .map(|_| (2i64, vec![0u8]))
                .collect::<VecDeque<_>>(),
        );
        #[cfg(target_os = "linux")]
        let hq = host.map(|h| {
            let q = h.queue();
            h.fill(q, depth);
            q
        });
        for (label, msgtyp, flags) in SELECTORS {
            let mut g = Group::new(c, &format!("typed_recv/{label}/{depth}"));
            g.bench("emulation", |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    ns.msgsnd(&me, id, Message::new(1, vec![1]), NOWAIT)
                        .unwrap();
                    let got = ns.msgrcv(&me, id, 8, msgtyp, flags | NOWAIT).unwrap();
                    debug_assert_eq!(got.mtype, 1);
                    black_box(got);
                }
                start.elapsed()
            });
            #[cfg(target_os = "linux")]
            if let (Some(h), Some(hq)) = (host, hq) {
                g.bench("host", |iters| h.typed(hq, msgtyp, flags, iters));
            }
            g.bench("baseline", |iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    baseline.lock().push_back((1, vec![1]));
                    let mut q = baseline.lock();
                    let at = q.iter().position(|(t, _)| *t == 1).unwrap();
                    black_box(q.remove(at));
                }
                start.elapsed()
            });
            g.finish();
        }
        #[cfg(target_os = "linux")]
        if let (Some(h), Some(hq)) = (host, hq) {
            h.rmid(hq);
        }
    }
    let _ = host;
}

fn ping_pong(c: &mut Criterion, host: Option<&host::Host>) {
    let mut g = Group::new(c, "ping_pong/2_threads");
    let ns = Arc::new(IpcNamespace::new());
    let id = ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap();
    g.bench("emulation", |iters| {
        let echo = {
            let ns = Arc::clone(&ns);
            thread::spawn(move || {
                let me = root(2);
                for _ in 0..iters {
                    ns.msgrcv(&me, id, 8, 1, 0).unwrap();
                    ns.msgsnd(&me, id, Message::new(2, vec![0; 8]), 0).unwrap();
                }
            })
        };
        let me = root(1);
        let start = Instant::now();
        for _ in 0..iters {
            ns.msgsnd(&me, id, Message::new(1, vec![0; 8]), 0).unwrap();
            ns.msgrcv(&me, id, 8, 2, 0).unwrap();
        }
        let elapsed = start.elapsed();
        echo.join().unwrap();
        elapsed
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        let hq = h.queue();
        g.bench("host", |iters| h.ping_pong(hq, iters));
    }
    g.bench("baseline", |iters| {
        let chan: Arc<[Channel; 2]> = Arc::default();
        let echo = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || {
                for _ in 0..iters {
                    let v = chan[0].recv();
                    chan[1].send(v);
                }
            })
        };
        let start = Instant::now();
        for _ in 0..iters {
            chan[0].send(vec![0; 8]);
            black_box(chan[1].recv());
        }
        let elapsed = start.elapsed();
        echo.join().unwrap();
        elapsed
    });
    g.finish();
    let _ = host;
}

/// `producers` producers and as many consumers, each pair on queue `i % queues`: total time
/// per message.
fn producers_consumers(c: &mut Criterion) {
    const N: usize = 2;
    for (label, queues) in [("one_queue", 1usize), ("n_queues", N)] {
        let mut g = Group::new(c, &format!("{N}x{N}/{label}"));
        let ns = Arc::new(IpcNamespace::new());
        let ids: Vec<i32> = (0..queues)
            .map(|_| ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap())
            .collect();
        g.bench("emulation", |iters| {
            let per = iters.div_ceil(N as u64);
            let barrier = Arc::new(Barrier::new(2 * N + 1));
            let handles: Vec<_> = (0..2 * N)
                .map(|t| {
                    let (ns, barrier) = (Arc::clone(&ns), Arc::clone(&barrier));
                    let id = ids[t % N % queues];
                    thread::spawn(move || {
                        let me = root(10 + t as i32);
                        barrier.wait();
                        for _ in 0..per {
                            if t < N {
                                ns.msgsnd(&me, id, Message::new(1, vec![0; 16]), 0).unwrap();
                            } else {
                                black_box(ns.msgrcv(&me, id, 16, 0, 0).unwrap());
                            }
                        }
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed() / N as u32
        });
        g.bench("baseline", |iters| {
            let per = iters.div_ceil(N as u64);
            let chans: Arc<Vec<Channel>> =
                Arc::new((0..queues).map(|_| Channel::default()).collect());
            let barrier = Arc::new(Barrier::new(2 * N + 1));
            let handles: Vec<_> = (0..2 * N)
                .map(|t| {
                    let (chans, barrier) = (Arc::clone(&chans), Arc::clone(&barrier));
                    thread::spawn(move || {
                        let c = &chans[t % N % queues];
                        barrier.wait();
                        for _ in 0..per {
                            if t < N {
                                c.send(vec![0; 16]);
                            } else {
                                black_box(c.recv());
                            }
                        }
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed() / N as u32
        });
        g.finish();
    }
}

/// Independent work on different objects: each of `threads` threads runs 64 B msgsnd+msgrcv
/// pairs on its own queue. Time per pair and thread: flat as threads are added when nothing
/// on the path is shared.
fn scaling(c: &mut Criterion) {
    let ns = Arc::new(IpcNamespace::new());
    for threads in [1usize, 2] {
        let mut g = Group::new(c, &format!("own_queue_pairs/{threads}_threads"));
        let ids: Vec<i32> = (0..threads)
            .map(|_| ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap())
            .collect();
        g.bench("emulation", |iters| {
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = ids
                .iter()
                .map(|&id| {
                    let (ns, barrier) = (Arc::clone(&ns), Arc::clone(&barrier));
                    thread::spawn(move || {
                        let me = root(30);
                        barrier.wait();
                        time_loop(iters, || {
                            ns.msgsnd(&me, id, Message::new(1, vec![0; 64]), NOWAIT)
                                .unwrap();
                            black_box(ns.msgrcv(&me, id, 64, 0, NOWAIT).unwrap());
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap()
        });
        g.bench("baseline", |iters| {
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    thread::spawn(move || {
                        let q = Mutex::new(VecDeque::<Vec<u8>>::new());
                        barrier.wait();
                        time_loop(iters, || {
                            q.lock().push_back(vec![0; 64]);
                            black_box(q.lock().pop_front().unwrap());
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap()
        });
        g.finish();
    }
}

fn semops(c: &mut Criterion, host: Option<&host::Host>) {
    let ns = Arc::new(IpcNamespace::new());
    let me = root(1);
    for (label, n) in [("uncontended", 1u16), ("array_of_10", 10)] {
        let id = ns
            .semget(&me, 0, i32::from(n), abi::IPC_CREAT | 0o600)
            .unwrap();
        let v: Vec<Sembuf> = (0..n).map(|i| op(i, 1)).collect();
        let p: Vec<Sembuf> = (0..n).map(|i| op(i, -1)).collect();
        let mut g = Group::new(c, &format!("semop_VP/{label}"));
        g.bench("emulation", |iters| {
            time_loop(iters, || {
                ns.semop(&me, id, black_box(&v)).unwrap();
                ns.semop(&me, id, black_box(&p)).unwrap();
            })
        });
        #[cfg(target_os = "linux")]
        if let Some(h) = host {
            let hid = h.sem_set(i32::from(n));
            g.bench("host", |iters| h.sem_pairs(hid, n, iters));
        }
        let baseline: Vec<Mutex<i32>> = (0..n).map(|_| Mutex::new(0)).collect();
        let all = Mutex::new(());
        g.bench("baseline", |iters| {
            time_loop(iters, || {
                let _set = all.lock();
                for s in &baseline {
                    *s.lock() += black_box(1);
                }
                drop(_set);
                let _set = all.lock();
                for s in &baseline {
                    *s.lock() -= black_box(1);
                }
            })
        });
        g.finish();
    }

    // Two threads taking and giving back one binary semaphore.
    let mut g = Group::new(c, "semop_PV/contended_2_threads");
    let id = ns.semget(&me, 0, 1, abi::IPC_CREAT | 0o600).unwrap();
    ns.semctl_setval(&me, id, 0, 1).unwrap();
    g.bench("emulation", |iters| {
        let barrier = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let (ns, barrier) = (Arc::clone(&ns), Arc::clone(&barrier));
                thread::spawn(move || {
                    let me = root(20 + t);
                    barrier.wait();
                    for _ in 0..iters.div_ceil(2) {
                        ns.semop(&me, id, &[op(0, -1)]).unwrap();
                        ns.semop(&me, id, &[op(0, 1)]).unwrap();
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().unwrap();
        }
        start.elapsed()
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        let hid = h.sem_set(1);
        h.ns.semctl_setval(&sysvipc_host::HostCaller::root(), hid, 0, 1)
            .unwrap();
        g.bench("host", |iters| h.sem_contended(hid, iters.div_ceil(2)));
    }
    g.bench("baseline", |iters| {
        let sem = Arc::new((Mutex::new(1i32), Condvar::new()));
        let barrier = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (sem, barrier) = (Arc::clone(&sem), Arc::clone(&barrier));
                thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..iters.div_ceil(2) {
                        let mut v = sem.0.lock();
                        while *v == 0 {
                            sem.1.wait(&mut v);
                        }
                        *v -= 1;
                        drop(v);
                        *sem.0.lock() += 1;
                        sem.1.notify_one();
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().unwrap();
        }
        start.elapsed()
    });
    g.finish();
    let _ = host;
}

fn shm_cycles(c: &mut Criterion, host: Option<&host::Host>) {
    let ns = IpcNamespace::new();
    let me = root(1);
    let mut space = AttachTable::new(1);
    let mut g = Group::new(c, "shm_cycle/4KiB");
    g.bench("emulation", |iters| {
        time_loop(iters, || {
            let id = ns.shmget(&me, 0, 4096, abi::IPC_CREAT | 0o600).unwrap();
            let at = ns.shmat(&me, &mut space, id, 0, 0).unwrap();
            ns.shmdt(&mut space, at).unwrap();
            ns.shmctl_rmid(&me, id).unwrap();
        })
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        g.bench("host", |iters| h.shm_cycles(iters));
    }
    let table = Mutex::new(HashMap::<i32, Box<[u8]>>::new());
    g.bench("baseline", |iters| {
        let mut next = 0;
        time_loop(iters, || {
            next += 1;
            table
                .lock()
                .insert(next, vec![0u8; 4096].into_boxed_slice());
            black_box(table.lock().remove(&next));
        })
    });
    g.finish();
    let _ = host;
}

fn lookups(c: &mut Criterion, host: Option<&host::Host>) {
    const QUEUES: i32 = 30_000;
    let ns = IpcNamespace::new();
    let me = root(1);
    for key in 1..=QUEUES {
        ns.msgget(&me, key, abi::IPC_CREAT | 0o600).unwrap();
    }
    let mut g = Group::new(c, "msgget_lookup/30000_queues");
    g.bench("emulation", |iters| {
        let start = Instant::now();
        for i in 0..iters {
            let key = (i * 7919 % QUEUES as u64) as i32 + 1;
            black_box(ns.msgget(&me, key, 0).unwrap());
        }
        start.elapsed()
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        h.many_queues(QUEUES);
        g.bench("host", |iters| h.lookups(QUEUES, iters));
    }
    let map: Mutex<HashMap<i32, i32>> = Mutex::new((1..=QUEUES).map(|k| (k, k)).collect());
    g.bench("baseline", |iters| {
        let start = Instant::now();
        for i in 0..iters {
            let key = (i * 7919 % QUEUES as u64) as i32 + 1;
            black_box(*map.lock().get(&key).unwrap());
        }
        start.elapsed()
    });
    g.finish();
    let _ = host;
}

/// Bytes the emulation holds, measured by the counting allocator.
fn memory() -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let before = live();
    let ns = IpcNamespace::new();
    rows.push(("empty namespace".into(), format!("{} B", live() - before)));
    let me = root(1);
    let before = live();
    const QUEUES: usize = 1_000;
    for _ in 0..QUEUES {
        ns.msgget(&me, 0, abi::IPC_CREAT | 0o600).unwrap();
    }
    rows.push((
        "per empty queue".into(),
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
        ns.msgsnd(&me, id, Message::new(1 + (i % 4) as i64, t), NOWAIT)
            .unwrap();
    }
    // The texts were allocated before `before`: what rises is the emulation's own overhead.
    rows.push((
        format!("per queued message beyond its text ({MESSAGES} messages of {TEXT} B, 4 types)"),
        format!("{:.1} B", (live() - before) as f64 / MESSAGES as f64),
    ));
    let before = live();
    let sem = ns.semget(&me, 0, 1, abi::IPC_CREAT | 0o600).unwrap();
    rows.push((
        "per semaphore set of 1".into(),
        format!("{} B", live() - before),
    ));
    let before = live();
    let seg = ns.shmget(&me, 0, 1 << 20, abi::IPC_CREAT | 0o600).unwrap();
    rows.push((
        "per 1 MiB segment, untouched".into(),
        format!("{} B", live() - before),
    ));
    let _ = (sem, seg);
    rows
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns >= 1_000_000.0 => format!("{:.2} ms", ns / 1_000_000.0),
        Some(ns) if ns >= 1000.0 => format!("{:.2} µs", ns / 1000.0),
        Some(ns) => format!("{ns:.1} ns"),
        None => "—".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

fn report(host_available: bool, memory: &[(String, String)]) {
    println!();
    println!("Per operation (median of criterion's measurement samples):");
    println!();
    println!(
        "| benchmark | emulation | host kernel | baseline | emulation/baseline | host/emulation |"
    );
    println!("|---|---|---|---|---|---|");
    for group in GROUPS.lock().unwrap().iter() {
        let emu = median_ns(&format!("{group}/emulation"));
        let host = median_ns(&format!("{group}/host"));
        let base = median_ns(&format!("{group}/baseline"));
        if emu.is_none() && host.is_none() && base.is_none() {
            continue; // filtered out
        }
        println!(
            "| {group} | {} | {} | {} | {} | {} |",
            fmt_ns(emu),
            fmt_ns(host),
            fmt_ns(base),
            ratio(emu, base),
            ratio(host, emu),
        );
    }
    if !host_available {
        println!();
        println!("(host column skipped: no private IPC namespace could be created)");
    }
    println!();
    println!("Memory held by the emulation (live heap bytes, counting allocator):");
    println!();
    println!("| what | bytes |");
    println!("|---|---|");
    for (what, bytes) in memory {
        println!("| {what} | {bytes} |");
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLES)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300))
        .without_plots()
        .configure_from_args();
    let memory = memory();
    let host = host::open();
    msg_pairs(&mut c, host.as_ref());
    typed_receive(&mut c, host.as_ref());
    ping_pong(&mut c, host.as_ref());
    producers_consumers(&mut c);
    scaling(&mut c);
    semops(&mut c, host.as_ref());
    shm_cycles(&mut c, host.as_ref());
    lookups(&mut c, host.as_ref());
    c.final_summary();
    report(host.is_some(), &memory);
}
