//! The cases, by family. Each family's builder sets up its objects and returns runners that
//! own what they use.

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use sysvipc::abi::{self, Sembuf};
use sysvipc::{AttachTable, Caller, Credentials, IpcNamespace, Message, ThreadBlocker};

use crate::{Case, Column, Host, Suite};

const NOWAIT: i32 = abi::IPC_NOWAIT;

/// Every family, in the order they run.
pub fn suites() -> Vec<Suite> {
    vec![
        Suite {
            name: "msg_pair",
            quick: true,
            build: msg_pairs,
        },
        Suite {
            name: "typed_recv",
            quick: true,
            build: typed_receive,
        },
        Suite {
            name: "ping_pong",
            quick: true,
            build: ping_pong,
        },
        Suite {
            name: "producers_consumers",
            quick: false,
            build: producers_consumers,
        },
        Suite {
            name: "own_queue_pairs",
            quick: false,
            build: scaling,
        },
        Suite {
            name: "semop",
            quick: true,
            build: semops,
        },
        Suite {
            name: "shm_cycle",
            quick: true,
            build: shm_cycles,
        },
        Suite {
            name: "msgget_lookup",
            quick: false,
            build: lookups,
        },
    ]
}

/// A root caller of process `pid`, on its own thread blocker.
pub(crate) fn root(pid: i32) -> Caller {
    Caller::new(Credentials::root(), pid, Arc::new(ThreadBlocker::new()))
}

fn op(num: u16, op: i16) -> Sembuf {
    Sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: 0,
    }
}

/// The time of `iters` runs of `f`.
fn time_loop(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

/// Runs `body(t)` on `threads` threads released together; the time until the last finishes.
fn on_threads(threads: usize, body: impl Fn(usize) + Send + Sync + 'static) -> Duration {
    let body = Arc::new(body);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (body, barrier) = (Arc::clone(&body), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                body(t);
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("a benchmark thread panicked");
    }
    start.elapsed()
}

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

const SIZES: [(usize, &str); 4] = [(16, "16B"), (64, "64B"), (1024, "1KiB"), (8192, "8KiB")];

/// Non-blocking msgsnd+msgrcv pairs at four sizes.
fn msg_pairs(host: Option<&Arc<Host>>) -> Vec<Case> {
    let ns = Arc::new(IpcNamespace::new());
    let id = ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap();
    #[cfg(target_os = "linux")]
    let hq = host.map(|h| h.queue());
    SIZES
        .iter()
        .map(|&(size, label)| {
            let (ns, me, text) = (Arc::clone(&ns), root(1), vec![0xa5u8; size]);
            let mut case =
                Case::new(format!("msg_pair/{label}")).with(Column::Emulation, move |n| {
                    time_loop(n, || {
                        let msg = Message::new(1, text.as_slice());
                        ns.msgsnd(&me, id, msg, NOWAIT).unwrap();
                        black_box(ns.msgrcv(&me, id, 8192, 0, NOWAIT).unwrap());
                    })
                });
            #[cfg(target_os = "linux")]
            if let (Some(h), Some(hq)) = (host, hq) {
                let h = Arc::clone(h);
                case = case.with(Column::Host, move |n| h.msg_pairs(hq, size, n));
            }
            let (q, text) = (Mutex::new(VecDeque::<Vec<u8>>::new()), vec![0xa5u8; size]);
            case.with(Column::Baseline, move |n| {
                time_loop(n, || {
                    q.lock().push_back(text.as_slice().to_vec());
                    black_box(q.lock().pop_front().unwrap());
                })
            })
        })
        .collect()
}

/// The baseline of a typed queue: (type, text) in arrival order, searched front to back.
type TypedList = VecDeque<(i64, Vec<u8>)>;

/// The typed receives: (label, msgtyp, flags). Each takes the type-1 message just sent to the
/// back of a queue of type-2 messages.
const SELECTORS: [(&str, i64, i32); 3] = [
    ("exact", 1, 0),
    ("negative", -1, 0),
    ("except", 2, abi::MSG_EXCEPT),
];

/// Typed receives with 10, 1,000 and 100,000 messages queued in front of the one taken.
fn typed_receive(host: Option<&Arc<Host>>) -> Vec<Case> {
    let mut cases = Vec::new();
    for depth in [10usize, 1_000, 100_000] {
        let ns = Arc::new(IpcNamespace::new());
        ns.limits().set_msgmnb(i64::from(i32::MAX)).unwrap();
        let id = ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap();
        for _ in 0..depth {
            ns.msgsnd(&root(1), id, Message::new(2, vec![0]), NOWAIT)
                .unwrap();
        }
        // A plain list searched front to back, as a queue without an index (Linux's) is.
        let baseline: Arc<Mutex<TypedList>> =
            Arc::new(Mutex::new((0..depth).map(|_| (2, vec![0])).collect()));
        #[cfg(target_os = "linux")]
        let hq = host.map(|h| {
            let q = h.queue();
            h.fill(q, depth);
            q
        });
        for (label, msgtyp, flags) in SELECTORS {
            let (ns, me) = (Arc::clone(&ns), root(1));
            let mut case = Case::new(format!("typed_recv/{label}/{depth}")).with(
                Column::Emulation,
                move |n| {
                    time_loop(n, || {
                        ns.msgsnd(&me, id, Message::new(1, vec![1]), NOWAIT)
                            .unwrap();
                        let got = ns.msgrcv(&me, id, 8, msgtyp, flags | NOWAIT).unwrap();
                        debug_assert_eq!(got.mtype, 1);
                        black_box(got);
                    })
                },
            );
            #[cfg(target_os = "linux")]
            if let (Some(h), Some(hq)) = (host, hq) {
                let h = Arc::clone(h);
                case = case.with(Column::Host, move |n| h.typed(hq, msgtyp, flags, n));
            }
            let q = Arc::clone(&baseline);
            cases.push(case.with(Column::Baseline, move |n| {
                time_loop(n, || {
                    let mut q = q.lock();
                    q.push_back((1, vec![1]));
                    let at = q.iter().position(|(t, _)| *t == 1).unwrap();
                    black_box(q.remove(at));
                })
            }));
        }
    }
    let _ = host;
    cases
}

/// Two threads, each waiting for the other's message in turn: the round trip.
fn ping_pong(host: Option<&Arc<Host>>) -> Vec<Case> {
    let ns = Arc::new(IpcNamespace::new());
    let id = ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap();
    let mut case = Case::new("ping_pong/2_threads").with(Column::Emulation, move |n| {
        let echo = {
            let ns = Arc::clone(&ns);
            thread::spawn(move || {
                let me = root(2);
                for _ in 0..n {
                    ns.msgrcv(&me, id, 8, 1, 0).unwrap();
                    ns.msgsnd(&me, id, Message::new(2, vec![0; 8]), 0).unwrap();
                }
            })
        };
        let me = root(1);
        let elapsed = time_loop(n, || {
            ns.msgsnd(&me, id, Message::new(1, vec![0; 8]), 0).unwrap();
            ns.msgrcv(&me, id, 8, 2, 0).unwrap();
        });
        echo.join().unwrap();
        elapsed
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        let (h, hq) = (Arc::clone(h), h.queue());
        case = case.with(Column::Host, move |n| h.ping_pong(hq, n));
    }
    let _ = host;
    vec![case.with(Column::Baseline, |n| {
        let chan: Arc<[Channel; 2]> = Arc::default();
        let echo = {
            let chan = Arc::clone(&chan);
            thread::spawn(move || {
                for _ in 0..n {
                    let v = chan[0].recv();
                    chan[1].send(v);
                }
            })
        };
        let elapsed = time_loop(n, || {
            chan[0].send(vec![0; 8]);
            black_box(chan[1].recv());
        });
        echo.join().unwrap();
        elapsed
    })]
}

/// Producers and consumers (two of each, blocking), on one queue and on a queue per pair:
/// the time per message.
fn producers_consumers(_host: Option<&Arc<Host>>) -> Vec<Case> {
    const N: usize = 2;
    [("one_queue", 1usize), ("n_queues", N)]
        .into_iter()
        .map(|(label, queues)| {
            let ns = Arc::new(IpcNamespace::new());
            let ids: Arc<Vec<i32>> = Arc::new(
                (0..queues)
                    .map(|_| ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap())
                    .collect(),
            );
            Case::new(format!("{N}x{N}/{label}"))
                .with(Column::Emulation, move |n| {
                    let per = n.div_ceil(N as u64);
                    let (ns, ids) = (Arc::clone(&ns), Arc::clone(&ids));
                    on_threads(2 * N, move |t| {
                        let me = root(10 + t as i32);
                        let id = ids[t % N % queues];
                        for _ in 0..per {
                            if t < N {
                                ns.msgsnd(&me, id, Message::new(1, vec![0; 16]), 0).unwrap();
                            } else {
                                black_box(ns.msgrcv(&me, id, 16, 0, 0).unwrap());
                            }
                        }
                    }) / N as u32
                })
                .with(Column::Baseline, move |n| {
                    let per = n.div_ceil(N as u64);
                    let chans: Arc<Vec<Channel>> =
                        Arc::new((0..queues).map(|_| Channel::default()).collect());
                    on_threads(2 * N, move |t| {
                        let c = &chans[t % N % queues];
                        for _ in 0..per {
                            if t < N {
                                c.send(vec![0; 16]);
                            } else {
                                black_box(c.recv());
                            }
                        }
                    }) / N as u32
                })
        })
        .collect()
}

/// Independent work on different objects: each thread runs 64 B pairs on its own queue. The
/// time per pair stays flat as threads are added when nothing on the path is shared.
fn scaling(_host: Option<&Arc<Host>>) -> Vec<Case> {
    let ns = Arc::new(IpcNamespace::new());
    [1usize, 2]
        .into_iter()
        .map(|threads| {
            let ids: Arc<Vec<i32>> = Arc::new(
                (0..threads)
                    .map(|_| ns.msgget(&root(1), 0, abi::IPC_CREAT | 0o600).unwrap())
                    .collect(),
            );
            let ns = Arc::clone(&ns);
            Case::new(format!("own_queue_pairs/{threads}_threads"))
                .with(Column::Emulation, move |n| {
                    let (ns, ids) = (Arc::clone(&ns), Arc::clone(&ids));
                    on_threads(threads, move |t| {
                        let me = root(30 + t as i32);
                        time_loop(n, || {
                            let msg = Message::new(1, vec![0; 64]);
                            ns.msgsnd(&me, ids[t], msg, NOWAIT).unwrap();
                            black_box(ns.msgrcv(&me, ids[t], 64, 0, NOWAIT).unwrap());
                        });
                    })
                })
                .with(Column::Baseline, move |n| {
                    on_threads(threads, move |_| {
                        let q = Mutex::new(VecDeque::<Vec<u8>>::new());
                        time_loop(n, || {
                            q.lock().push_back(vec![0; 64]);
                            black_box(q.lock().pop_front().unwrap());
                        });
                    })
                })
        })
        .collect()
}

/// semop V+P on one semaphore and on an array of ten, and two threads passing one binary
/// semaphore back and forth.
fn semops(host: Option<&Arc<Host>>) -> Vec<Case> {
    let ns = Arc::new(IpcNamespace::new());
    let mut cases = Vec::new();
    for (label, count) in [("uncontended", 1u16), ("array_of_10", 10)] {
        let me = root(1);
        let id = ns
            .semget(&me, 0, i32::from(count), abi::IPC_CREAT | 0o600)
            .unwrap();
        let v: Vec<Sembuf> = (0..count).map(|i| op(i, 1)).collect();
        let p: Vec<Sembuf> = (0..count).map(|i| op(i, -1)).collect();
        let ns = Arc::clone(&ns);
        let mut case = Case::new(format!("semop_VP/{label}")).with(Column::Emulation, move |n| {
            time_loop(n, || {
                ns.semop(&me, id, black_box(&v)).unwrap();
                ns.semop(&me, id, black_box(&p)).unwrap();
            })
        });
        #[cfg(target_os = "linux")]
        if let Some(h) = host {
            let (h, hid) = (Arc::clone(h), h.sem_set(i32::from(count)));
            case = case.with(Column::Host, move |n| h.sem_pairs(hid, count, n));
        }
        let sems: Vec<Mutex<i32>> = (0..count).map(|_| Mutex::new(0)).collect();
        let all = Mutex::new(());
        cases.push(case.with(Column::Baseline, move |n| {
            time_loop(n, || {
                let set = all.lock();
                for s in &sems {
                    *s.lock() += black_box(1);
                }
                drop(set);
                let _set = all.lock();
                for s in &sems {
                    *s.lock() -= black_box(1);
                }
            })
        }));
    }

    let id = ns.semget(&root(1), 0, 1, abi::IPC_CREAT | 0o600).unwrap();
    ns.semctl_setval(&root(1), id, 0, 1).unwrap();
    let mut case = Case::new("semop_PV/contended_2_threads").with(Column::Emulation, move |n| {
        let ns = Arc::clone(&ns);
        on_threads(2, move |t| {
            let me = root(20 + t as i32);
            for _ in 0..n.div_ceil(2) {
                ns.semop(&me, id, &[op(0, -1)]).unwrap();
                ns.semop(&me, id, &[op(0, 1)]).unwrap();
            }
        })
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        let hid = h.sem_set(1);
        h.ns.semctl_setval(&sysvipc_host::HostCaller::root(), hid, 0, 1)
            .unwrap();
        let h = Arc::clone(h);
        case = case.with(Column::Host, move |n| h.sem_contended(hid, n.div_ceil(2)));
    }
    let _ = host;
    cases.push(case.with(Column::Baseline, |n| {
        let sem = Arc::new((Mutex::new(1i32), Condvar::new()));
        on_threads(2, move |_| {
            for _ in 0..n.div_ceil(2) {
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
    }));
    cases
}

/// shmget + shmat + shmdt + IPC_RMID of a 4 KiB segment.
fn shm_cycles(host: Option<&Arc<Host>>) -> Vec<Case> {
    let ns = IpcNamespace::new();
    let me = root(1);
    let mut space = AttachTable::new(1);
    let mut case = Case::new("shm_cycle/4KiB").with(Column::Emulation, move |n| {
        time_loop(n, || {
            let id = ns.shmget(&me, 0, 4096, abi::IPC_CREAT | 0o600).unwrap();
            let at = ns.shmat(&me, &mut space, id, 0, 0).unwrap();
            ns.shmdt(&mut space, at).unwrap();
            ns.shmctl_rmid(&me, id).unwrap();
        })
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        let h = Arc::clone(h);
        case = case.with(Column::Host, move |n| h.shm_cycles(n));
    }
    let _ = host;
    let table = Mutex::new(HashMap::<u64, Box<[u8]>>::new());
    let mut next = 0;
    vec![case.with(Column::Baseline, move |n| {
        time_loop(n, || {
            next += 1;
            table
                .lock()
                .insert(next, vec![0u8; 4096].into_boxed_slice());
            black_box(table.lock().remove(&next));
        })
    })]
}

/// msgget lookups by key among 30,000 queues.
fn lookups(host: Option<&Arc<Host>>) -> Vec<Case> {
    const QUEUES: i32 = 30_000;
    let ns = IpcNamespace::new();
    let me = root(1);
    for key in 1..=QUEUES {
        ns.msgget(&me, key, abi::IPC_CREAT | 0o600).unwrap();
    }
    let spread = |i: u64| (i * 7919 % QUEUES as u64) as i32 + 1;
    let mut i = 0;
    let mut case = Case::new("msgget_lookup/30000_queues").with(Column::Emulation, move |n| {
        time_loop(n, || {
            i += 1;
            black_box(ns.msgget(&me, spread(i), 0).unwrap());
        })
    });
    #[cfg(target_os = "linux")]
    if let Some(h) = host {
        h.many_queues(QUEUES);
        let h = Arc::clone(h);
        case = case.with(Column::Host, move |n| h.lookups(QUEUES, n));
    }
    let _ = host;
    let map: Mutex<HashMap<i32, i32>> = Mutex::new((1..=QUEUES).map(|k| (k, k)).collect());
    let mut j = 0;
    vec![case.with(Column::Baseline, move |n| {
        time_loop(n, || {
            j += 1;
            black_box(*map.lock().get(&spread(j)).unwrap());
        })
    })]
}
