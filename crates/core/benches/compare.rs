//! The emulation beside the host kernel and beside a plain baseline, in one run (DESIGN.md §7,
//! issue 8). Each benchmark of a group does the same work three ways:
//!
//! - `emulation`: [`IpcNamespace`] calls with a root [`Caller`];
//! - `host`: the raw syscalls, looped *inside* a [`sysvipc_host::HostNamespace`] thread (one
//!   `HostNamespace::run` per criterion sample, timed there with `Instant`), so the round trip
//!   to that thread is not measured; skipped when no private IPC namespace can be created;
//! - `baseline`: a `parking_lot::Mutex<VecDeque<Vec<u8>>>` push+pop with a fresh `Vec` per
//!   message, or a `parking_lot::Mutex<i32>` increment+decrement.
//!
//! After criterion's own report, a table of the per-operation medians (over criterion's
//! measurement samples) and the ratios emulation/baseline and host/emulation is printed.
//!
//! `cargo bench -p sysvipc --bench compare`

use std::collections::{BTreeMap, VecDeque};
use std::hint::black_box;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use criterion::Criterion;
use sysvipc::abi::{self, Sembuf};
use sysvipc::{Caller, Credentials, IpcNamespace, Message, ThreadBlocker};

/// Measurement samples per benchmark; the report uses the last `SAMPLES` records of each.
const SAMPLES: usize = 50;

/// Per benchmark id, every `(iters, elapsed)` that an `iter_custom` routine returned; the last
/// [`SAMPLES`] are criterion's measurement phase (the earlier ones are its warm-up).
static RECORDS: StdMutex<BTreeMap<String, Vec<(u64, Duration)>>> = StdMutex::new(BTreeMap::new());

fn record(id: &str, iters: u64, elapsed: Duration) -> Duration {
    RECORDS
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_default()
        .push((iters, elapsed));
    elapsed
}

/// Times `iters` runs of `f` and records the result under `id`.
fn timed(id: &str, iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    record(id, iters, start.elapsed())
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

fn root() -> Caller {
    Caller::new(Credentials::root(), 1, Arc::new(ThreadBlocker::new()))
}

/// The host kernel's side, or `None` (with the reason printed) when no private IPC namespace
/// can be created here.
#[cfg(target_os = "linux")]
mod host {
    use std::time::{Duration, Instant};

    use sysvipc_host::{HostCaller, HostNamespace};

    pub struct Host {
        ns: HostNamespace,
        msqid: i32,
        semid: i32,
    }

    pub fn open() -> Option<Host> {
        let ns = match HostNamespace::new() {
            Ok(ns) => ns,
            Err(e) => {
                eprintln!("host column skipped: HostNamespace::new() failed: {e}");
                return None;
            }
        };
        let msqid = ns
            .msgget(&HostCaller::root(), libc::IPC_PRIVATE, 0o600)
            .expect("host msgget");
        let semid = ns
            .semget(&HostCaller::root(), libc::IPC_PRIVATE, 1, 0o600)
            .expect("host semget");
        Some(Host { ns, msqid, semid })
    }

    #[repr(C)]
    struct MsgBuf {
        mtype: libc::c_long,
        mtext: [u8; 8192],
    }

    impl Host {
        /// `iters` msgsnd+msgrcv pairs of `size` bytes with IPC_NOWAIT, timed on the
        /// namespace thread.
        pub fn msg_pairs(&self, size: usize, iters: u64) -> Duration {
            let id = self.msqid;
            self.ns.run(&HostCaller::root(), move || {
                let mut snd = Box::new(MsgBuf {
                    mtype: 1,
                    mtext: [0xa5; 8192],
                });
                let mut rcv = Box::new(MsgBuf {
                    mtype: 0,
                    mtext: [0; 8192],
                });
                let start = Instant::now();
                for _ in 0..iters {
                    snd.mtype = 1;
                    // SAFETY: `snd` is a `struct msgbuf` whose text holds at least `size`
                    // (≤ 8192) bytes; the kernel only reads it.
                    let r = unsafe {
                        libc::msgsnd(id, (&raw const *snd).cast(), size, libc::IPC_NOWAIT)
                    };
                    assert_eq!(r, 0, "host msgsnd: {}", std::io::Error::last_os_error());
                    // SAFETY: `rcv` is a `struct msgbuf` with room for 8192 bytes of text,
                    // the most the kernel writes for this msgsz.
                    let n = unsafe {
                        libc::msgrcv(id, (&raw mut *rcv).cast(), 8192, 0, libc::IPC_NOWAIT)
                    };
                    assert_eq!(n, size as isize, "host msgrcv");
                    std::hint::black_box(&rcv);
                }
                start.elapsed()
            })
        }

        /// `iters` V+P pairs (two semop calls: +1, then −1) on one semaphore, timed on the
        /// namespace thread.
        pub fn sem_pairs(&self, iters: u64) -> Duration {
            let id = self.semid;
            self.ns.run(&HostCaller::root(), move || {
                let mut v = libc::sembuf {
                    sem_num: 0,
                    sem_op: 1,
                    sem_flg: 0,
                };
                let mut p = libc::sembuf {
                    sem_num: 0,
                    sem_op: -1,
                    sem_flg: 0,
                };
                let start = Instant::now();
                for _ in 0..iters {
                    // SAFETY: one valid `sembuf`, count 1.
                    let r = unsafe { libc::semop(id, &mut v, 1) };
                    assert_eq!(r, 0, "host semop V: {}", std::io::Error::last_os_error());
                    // SAFETY: as above.
                    let r = unsafe { libc::semop(id, &mut p, 1) };
                    assert_eq!(r, 0, "host semop P: {}", std::io::Error::last_os_error());
                }
                start.elapsed()
            })
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod host {
    use std::time::Duration;

    pub struct Host;

    pub fn open() -> Option<Host> {
        eprintln!("host column skipped: not Linux");
        None
    }

    impl Host {
        pub fn msg_pairs(&self, _size: usize, _iters: u64) -> Duration {
            unreachable!()
        }
        pub fn sem_pairs(&self, _iters: u64) -> Duration {
            unreachable!()
        }
    }
}

const SIZES: [(usize, &str); 2] = [(64, "64B"), (8192, "8KiB")];

fn msg_pairs(c: &mut Criterion, host: Option<&host::Host>) {
    let ns = IpcNamespace::new();
    let me = root();
    let id = ns
        .msgget(&me, abi::IPC_PRIVATE, abi::IPC_CREAT | 0o600)
        .unwrap();
    let baseline = parking_lot::Mutex::new(VecDeque::<Vec<u8>>::new());
    for (size, label) in SIZES {
        let text = vec![0xa5u8; size];
        let mut g = c.benchmark_group(format!("msg_pair/{label}"));
        let key = format!("msg_pair/{label}/emulation");
        g.bench_function("emulation", |b| {
            b.iter_custom(|iters| {
                timed(&key, iters, || {
                    ns.msgsnd(&me, id, Message::new(1, text.as_slice()), abi::IPC_NOWAIT)
                        .unwrap();
                    let got = ns.msgrcv(&me, id, 8192, 0, abi::IPC_NOWAIT).unwrap();
                    black_box(got);
                })
            })
        });
        if let Some(h) = host {
            let key = format!("msg_pair/{label}/host");
            g.bench_function("host", |b| {
                b.iter_custom(|iters| record(&key, iters, h.msg_pairs(size, iters)))
            });
        }
        let key = format!("msg_pair/{label}/baseline");
        g.bench_function("baseline", |b| {
            b.iter_custom(|iters| {
                timed(&key, iters, || {
                    baseline.lock().push_back(text.as_slice().to_vec());
                    let got = baseline.lock().pop_front().unwrap();
                    black_box(got);
                })
            })
        });
        g.finish();
    }
}

fn semop_uncontended(c: &mut Criterion, host: Option<&host::Host>) {
    let ns = IpcNamespace::new();
    let me = root();
    let id = ns
        .semget(&me, abi::IPC_PRIVATE, 1, abi::IPC_CREAT | 0o600)
        .unwrap();
    let v = [Sembuf {
        sem_num: 0,
        sem_op: 1,
        sem_flg: 0,
    }];
    let p = [Sembuf {
        sem_num: 0,
        sem_op: -1,
        sem_flg: 0,
    }];
    let baseline = parking_lot::Mutex::new(0i32);
    let mut g = c.benchmark_group("semop_VP/uncontended");
    g.bench_function("emulation", |b| {
        b.iter_custom(|iters| {
            timed("semop_VP/uncontended/emulation", iters, || {
                ns.semop(&me, id, black_box(&v)).unwrap();
                ns.semop(&me, id, black_box(&p)).unwrap();
            })
        })
    });
    if let Some(h) = host {
        g.bench_function("host", |b| {
            b.iter_custom(|iters| record("semop_VP/uncontended/host", iters, h.sem_pairs(iters)))
        });
    }
    g.bench_function("baseline", |b| {
        b.iter_custom(|iters| {
            timed("semop_VP/uncontended/baseline", iters, || {
                *baseline.lock() += black_box(1);
                *baseline.lock() -= black_box(1);
            })
        })
    });
    g.finish();
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
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

fn report(host_available: bool) {
    println!();
    println!("Per operation (median of criterion's measurement samples):");
    println!();
    println!(
        "| benchmark | emulation | host kernel | baseline | emulation/baseline | host/emulation |"
    );
    println!("|---|---|---|---|---|---|");
    let groups = SIZES
        .iter()
        .map(|(_, l)| format!("msg_pair/{l}"))
        .chain(["semop_VP/uncontended".to_owned()]);
    for group in groups {
        let emu = median_ns(&format!("{group}/emulation"));
        let host = median_ns(&format!("{group}/host"));
        let base = median_ns(&format!("{group}/baseline"));
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
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLES)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .without_plots()
        .configure_from_args();
    let host = host::open();
    msg_pairs(&mut c, host.as_ref());
    semop_uncontended(&mut c, host.as_ref());
    c.final_summary();
    report(host.is_some());
}
