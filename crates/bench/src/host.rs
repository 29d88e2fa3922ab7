//! The host kernel's side of every workload: the raw syscalls, looped *inside* a
//! [`HostNamespace`] thread (one `HostNamespace::run` per measurement), so the round trip to
//! that thread is not measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sysvipc_host::{HostCaller, HostNamespace};

/// A private IPC namespace of the host kernel, with `msgmnb` raised for deep queues.
pub struct Host {
    /// The namespace.
    pub ns: HostNamespace,
}

/// A new private namespace, or `None` (with the reason printed) where none can be made.
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

    /// A new private queue.
    pub fn queue(&self) -> i32 {
        self.ns
            .msgget(&self.root(), libc::IPC_PRIVATE, 0o600)
            .expect("host msgget")
    }

    /// Removes queue `id`.
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

    /// A new private set of `nsems` semaphores.
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
