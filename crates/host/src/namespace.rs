//! [`HostNamespace`]: a thread living in a private, empty IPC namespace that makes System V
//! message-queue, semaphore and shared-memory calls on request.
//!
//! Invariants:
//! - the namespace thread is the only task that entered the namespace by itself (unshare(2)
//!   `CLONE_NEWIPC` changes the *calling thread's* namespace only, not the process's); every
//!   other task in it is a thread it created ([`HostNamespace::spawn`]), which inherits the
//!   namespace of its creator (`copy_namespaces()` shares the creator's nsproxy);
//! - between requests the namespace thread runs with its base credentials (root); a request
//!   switches them with per-thread syscalls and restores them before the next one. If restoring
//!   ever fails the thread stops serving (it is "poisoned") rather than run a later request
//!   with the wrong credentials;
//! - nothing here is process-wide except one no-op handler for a real-time signal (and, in
//!   [`crate::child`], the lock that keeps forks and attachments apart).

use std::any::Any;
use std::os::unix::fs::MetadataExt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use crate::abi::{
    Errno, MSG_INFO, Msginfo, Msqid64Ds, Sembuf, Semid64Ds, Seminfo, ShmInfo, Shmid64Ds, Shminfo64,
};
use crate::child::{self, Attachments, CHILD_TIMEOUT, ChildStep, HostProcess};
use crate::creds::{self, ThreadCreds};
use crate::thread::{HostJoin, HostThread};
use crate::{HostCaller, HostError, sys, sysctl};

/// What a request learns before it runs: `Err` if the credentials could not be switched.
type Ready = Result<(), String>;

/// One unit of work for the namespace thread.
struct Request {
    /// Credentials to run under; `None` = the base credentials, no switch at all.
    caller: Option<HostCaller>,
    job: Box<dyn FnOnce(Ready) + Send>,
}

/// Why a request produced no value.
enum Failure {
    /// The closure panicked; the payload is re-raised on the requesting thread.
    Panic(Box<dyn Any + Send>),
    /// The credentials could not be switched; the closure did not run.
    Creds(String),
}

/// State shared by the handle, the namespace thread and the threads it spawns.
struct Shared {
    /// The namespace thread's credentials at start (root), restored after every request.
    base: ThreadCreds,
    /// Inode of the namespace (`/proc/thread-self/ns/ipc`), if /proc could tell.
    ns_inode: Option<u64>,
    /// Set when the namespace thread stopped serving; says why.
    poisoned: Mutex<Option<String>>,
    /// The attachments made through this namespace (and its threads): what a forked child
    /// inherits.
    attachments: Arc<Attachments>,
}

/// A private, initially empty System V IPC namespace of the host kernel (`unshare(2)`
/// `CLONE_NEWIPC`, namespaces(7), ipc_namespaces(7)), served by a dedicated OS thread.
///
/// Every call runs on that thread, inside the namespace, under the [`HostCaller`] credentials
/// it is given, and returns the host kernel's answer unchanged. The test process's own IPC
/// namespace is never touched. Independent `HostNamespace`s (in parallel tests) never see each
/// other's objects, limits or ids.
///
/// Calls that would block (msgrcv(2) without `IPC_NOWAIT` and no message, msgsnd(2) to a full
/// queue, semop(2) that cannot proceed) block the namespace thread and with it every later
/// call: run those in a thread made by [`HostNamespace::spawn`].
///
/// SEM_UNDO: the namespace thread and every thread it spawns share one undo list (unshare(2)
/// `CLONE_NEWIPC` gave the namespace thread its own; threads inherit it, `CLONE_SYSVSEM`), so
/// their adjustments accumulate in one list that is never applied while the namespace lives
/// (like the threads of one process that does not exit). Two ways to see adjustments applied:
/// [`HostNamespace::fork_semops`] runs calls in a forked child process that then exits, and
/// [`HostThread::unshare_sysvsem`] gives a spawned thread a list of its own and applies it
/// when called again.
///
/// Shared memory: an attachment made by [`shmat`](Self::shmat) is a mapping of this process
/// (the namespace thread shares the test's address space), at the address returned; read and
/// write it with [`read_mem`](crate::read_mem)/[`write_mem`](crate::write_mem), detach it with
/// [`shmdt`](Self::shmdt). Its `shm_lpid` is this process's id, whichever thread attached.
/// Each attachment also holds a reference to the namespace (`shm_file_data.ns`), so one left
/// attached keeps the segment and the namespace alive after the `HostNamespace` is gone.
/// [`fork`](Self::fork) makes a child process that inherits this namespace's attachments and
/// stays alive until told to exit.
///
/// Each call is a round trip to the namespace thread (two thread wake-ups, tens of µs); the
/// syscall itself costs about a µs. To measure the kernel, loop inside [`run`](Self::run) or
/// in a [`spawn`](Self::spawn)ed thread.
///
/// Dropping it removes every message queue, semaphore set and segment in the namespace (so
/// threads blocked in them wake with EIDRM; a segment still attached lives until its last
/// detach), stops the namespace thread and joins it (a [`HostProcess`] still alive is killed
/// then). The kernel frees the namespace, with anything left in it, once its last task has
/// exited and its last attachment is detached (`exit_task_namespaces()` →
/// `put_ipc_ns()`, then from a workqueue after an RCU grace period `free_ipc()` →
/// `free_ipc_ns()` → `free_ipcs()`).
/// That is slightly after the join returns: the kernel wakes the joiner (clearing the thread's
/// tid word in `mm_release()`) before the exiting thread drops its namespaces.
pub struct HostNamespace {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<thread::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HostNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostNamespace")
            .field("ns_inode", &self.shared.ns_inode)
            .finish_non_exhaustive()
    }
}

/// The inode number of the calling thread's IPC namespace, which identifies it.
fn current_ns_inode() -> Option<u64> {
    std::fs::metadata("/proc/thread-self/ns/ipc")
        .ok()
        .map(|m| m.ino())
}

/// `EPERM (Operation not permitted)`.
fn describe(e: Errno) -> String {
    e.to_string()
}

/// Runs on the new namespace thread: unshare, check that SysV IPC works and the namespace is
/// empty, check that credentials can be switched and switched back.
fn enter_private_namespace() -> Result<Shared, HostError> {
    let unsupported = |s: String| HostError::Unsupported(s);
    let setup = |s: String| HostError::Setup(s);
    let before = current_ns_inode();
    if let Err(e) = sys::unshare_ipc() {
        let why = format!("unshare(CLONE_NEWIPC) failed: {}", describe(e));
        return Err(match e {
            Errno::EPERM => unsupported(format!(
                "{why}; creating an IPC namespace needs CAP_SYS_ADMIN (run as root)"
            )),
            Errno::EINVAL => unsupported(format!(
                "{why}; the kernel lacks IPC namespaces (CONFIG_IPC_NS)"
            )),
            Errno::ENOSYS => unsupported(format!("{why}; unshare(2) is unavailable (seccomp?)")),
            // ENOSPC (max_ipc_namespaces), ENOMEM…: a real failure, not a reason to skip.
            _ => setup(why),
        });
    }
    let ns_inode = current_ns_inode();
    if before.is_some() && before == ns_inode {
        return Err(setup(
            "unshare(CLONE_NEWIPC) succeeded but /proc/thread-self/ns/ipc did not change".into(),
        ));
    }
    match sys::msgctl_info(0, MSG_INFO) {
        Err(Errno::ENOSYS) => {
            return Err(unsupported(
                "msgctl(MSG_INFO) = ENOSYS: the kernel has no System V IPC (CONFIG_SYSVIPC) or \
                 seccomp blocks it"
                    .into(),
            ));
        }
        Err(e) => {
            return Err(setup(format!("msgctl(MSG_INFO) failed: {}", describe(e))));
        }
        Ok((_, Msginfo { msgpool: 0, .. })) => {}
        Ok((_, info)) => {
            return Err(setup(format!(
                "the new IPC namespace is not empty: MSG_INFO reports {} queues",
                info.msgpool
            )));
        }
    }
    let base = ThreadCreds::current().map_err(unsupported)?;
    if let Some(why) = base.unsuitable_as_base() {
        return Err(unsupported(why));
    }
    // Probe one full switch and restore (seccomp or an LSM could refuse either).
    let nobody = HostCaller::user(65534, 65534)
        .with_groups(&[65534])
        .with_caps(0);
    let done = creds::switch_to(&base, &nobody).map_err(|e| {
        unsupported(format!(
            "cannot switch thread credentials to uid/gid 65534: {e} (EINVAL: ids not mapped \
                 in this user namespace)"
        ))
    })?;
    creds::restore(&base, done)
        .map_err(|e| unsupported(format!("cannot restore thread credentials: {e}")))?;
    let after = ThreadCreds::current().map_err(unsupported)?;
    if after != base {
        return Err(setup(format!(
            "credentials differ after a switch and restore: {base:?} became {after:?}"
        )));
    }
    Ok(Shared {
        base,
        ns_inode,
        poisoned: Mutex::new(None),
        attachments: Arc::default(),
    })
}

/// The namespace thread's loop: one request at a time until every sender is gone.
fn serve(shared: &Shared, rx: mpsc::Receiver<Request>) {
    for req in rx {
        let Some(caller) = req.caller else {
            (req.job)(Ok(()));
            continue;
        };
        let (ready, done) = match creds::switch_to(&shared.base, &caller) {
            Ok(done) => (Ok(()), Some(done)),
            Err(e) => (Err(e), None),
        };
        (req.job)(ready);
        let Some(done) = done.filter(|d| d.any()) else {
            continue;
        };
        let restored = creds::restore(&shared.base, done).and_then(|()| {
            let now = ThreadCreds::current()?;
            if now == shared.base {
                Ok(())
            } else {
                Err(format!(
                    "credentials are {now:?}, expected {:?}",
                    shared.base
                ))
            }
        });
        if let Err(e) = restored {
            let mut poisoned = shared.poisoned.lock().unwrap_or_else(|p| p.into_inner());
            *poisoned = Some(format!(
                "restoring root credentials after {caller:?} failed: {e}"
            ));
            return;
        }
    }
}

impl HostNamespace {
    /// Starts a namespace thread and moves it into a new, empty IPC namespace
    /// (`unshare(CLONE_NEWIPC)`, which acts on the calling thread only and, unlike
    /// `CLONE_NEWUSER`, is allowed in a multi-threaded process).
    ///
    /// Fails with [`HostError::Unsupported`] when the host cannot do this (no CAP_SYS_ADMIN:
    /// EPERM; no IPC namespaces; no SysV IPC: ENOSYS; not root, so credentials cannot be
    /// switched per call), saying why, so that tests can skip; with [`HostError::Setup`] or
    /// [`HostError::Spawn`] when it could but failed this time (tests should fail then).
    pub fn new() -> Result<HostNamespace, HostError> {
        sys::install_interrupt_handler().map_err(|e| {
            HostError::Unsupported(format!(
                "cannot install the interrupt signal handler: {}",
                describe(e)
            ))
        })?;
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<Arc<Shared>, HostError>>(1);
        let thread = thread::Builder::new()
            .name("sysvipc-host-ns".into())
            .spawn(move || match enter_private_namespace() {
                Ok(shared) => {
                    let shared = Arc::new(shared);
                    let _ = ready_tx.send(Ok(Arc::clone(&shared)));
                    drop(ready_tx);
                    serve(&shared, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(HostError::Spawn)?;
        match ready_rx.recv() {
            Ok(Ok(shared)) => Ok(HostNamespace {
                tx: Some(tx),
                thread: Some(thread),
                shared,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(mpsc::RecvError) => match thread.join() {
                Err(panic) => resume_unwind(panic),
                Ok(()) => Err(HostError::Setup(
                    "the namespace thread ended during setup".into(),
                )),
            },
        }
    }

    /// The inode number of the private IPC namespace (`stat /proc/thread-self/ns/ipc` on the
    /// namespace thread; namespaces(7)), which identifies it; `None` if /proc could not say.
    pub fn ns_inode(&self) -> Option<u64> {
        self.shared.ns_inode
    }

    /// The capabilities the namespace thread is permitted to make effective (bit `n` =
    /// capability `n`): the ceiling for [`HostCaller::caps`]. On a host whose root lacks
    /// CAP_SYS_RESOURCE that bit is clear here.
    pub fn permitted_caps(&self) -> u64 {
        self.shared.base.permitted
    }

    /// Sends `job` to the namespace thread and waits for its result.
    fn request<R: Send + 'static>(
        &self,
        caller: Option<&HostCaller>,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        let (rtx, rrx) = mpsc::sync_channel::<Result<R, Failure>>(1);
        let job = Box::new(move |ready: Ready| {
            let out = match ready {
                Ok(()) => catch_unwind(AssertUnwindSafe(f)).map_err(Failure::Panic),
                Err(e) => Err(Failure::Creds(e)),
            };
            let _ = rtx.send(out);
        });
        let req = Request {
            caller: caller.cloned(),
            job,
        };
        // A failed send drops the request, and with it `rtx`, so `recv` cannot hang.
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(req).is_ok());
        let reply = if sent {
            rrx.recv()
        } else {
            Err(mpsc::RecvError)
        };
        match reply {
            Ok(Ok(value)) => value,
            Ok(Err(Failure::Panic(payload))) => resume_unwind(payload),
            Ok(Err(Failure::Creds(e))) => {
                panic!("sysvipc-host: cannot switch the namespace thread to {caller:?}: {e}")
            }
            Err(mpsc::RecvError) => {
                let why = self
                    .shared
                    .poisoned
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
                    .unwrap_or_else(|| "it exited".into());
                panic!("sysvipc-host: the namespace thread no longer serves requests: {why}")
            }
        }
    }

    /// Runs `f` on the namespace thread, inside the private IPC namespace, with the credentials
    /// of `caller`, and returns its result (a panic in `f` is re-raised here). The escape hatch
    /// for calls this type does not wrap (semget(2), shmget(2), raw `libc::syscall`s…); `f`
    /// must not block forever, or every later call waits behind it.
    pub fn run<R: Send + 'static>(
        &self,
        caller: &HostCaller,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        self.request(Some(caller), f)
    }

    /// Starts a new OS thread *from the namespace thread*, so that it is in the private IPC
    /// namespace too, switches it to `caller`'s credentials and runs `f` there. `f` gets a
    /// [`HostThread`] for making calls on that thread, which may block; the returned
    /// [`HostJoin`] can watch it block, interrupt it with a signal, and join it.
    ///
    /// Panics if the thread cannot be started or switched to `caller`.
    pub fn spawn<R, F>(&self, caller: &HostCaller, f: F) -> HostJoin<R>
    where
        R: Send + 'static,
        F: FnOnce(&HostThread) -> R + Send + 'static,
    {
        let caller = caller.clone();
        let shared = Arc::clone(&self.shared);
        let attachments = Arc::clone(&self.shared.attachments);
        let (tid_tx, tid_rx) = mpsc::sync_channel::<i32>(1);
        let body = move || {
            sys::unblock_interrupt_signal();
            // The new thread starts with the namespace thread's base credentials.
            if let Err(e) = creds::switch_to(&shared.base, &caller) {
                panic!("sysvipc-host: cannot switch a spawned thread to {caller:?}: {e}");
            }
            let host_thread = HostThread::current(attachments);
            let _ = tid_tx.send(host_thread.tid());
            f(&host_thread)
        };
        // Created between requests, i.e. with the base credentials and inside the namespace.
        let spawned = self.request(None, move || {
            thread::Builder::new()
                .name("sysvipc-host-task".into())
                .spawn(body)
        });
        let handle = spawned.unwrap_or_else(|e| {
            panic!("sysvipc-host: cannot start a thread in the namespace: {e}")
        });
        match tid_rx.recv() {
            Ok(tid) => HostJoin::new(handle, tid),
            Err(mpsc::RecvError) => match handle.join() {
                Err(panic) => resume_unwind(panic),
                Ok(_) => panic!("sysvipc-host: the spawned thread ended without starting"),
            },
        }
    }

    /// Reads `/proc/sys/kernel/NAME` of the private namespace (the per-namespace IPC sysctls
    /// `msgmax`, `msgmnb`, `msgmni`, `sem`, `shmmax`, `shmall`, `shmmni`, `shm_rmid_forced`,
    /// `msg_next_id`, `sem_next_id`, `shm_next_id`, `auto_msgmni`; proc(5),
    /// `ipc/ipc_sysctl.c`), without the trailing newline.
    /// Opened by the namespace thread, so it resolves to the private namespace's value.
    /// EINVAL for names that are not plain identifiers; ENOENT for unknown ones.
    pub fn sysctl(&self, name: &str) -> Result<String, Errno> {
        let name = name.to_owned();
        self.request(None, move || sysctl::read(&name))
    }

    /// Writes `value` to `/proc/sys/kernel/NAME` of the private namespace, as root, and returns
    /// the kernel's verdict (EINVAL when out of range, see `ipc/ipc_sysctl.c`). The host's own
    /// value is unaffected; nothing is restored, the namespace dies with this handle.
    pub fn set_sysctl(&self, name: &str, value: &str) -> Result<(), Errno> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.request(None, move || sysctl::write(&name, &value))
    }

    /// msgget(2): `ksys_msgget()` → `ipcget()`; returns the queue id.
    pub fn msgget(&self, caller: &HostCaller, key: i32, flags: i32) -> Result<i32, Errno> {
        self.run(caller, move || sys::msgget(key, flags))
    }

    /// msgsnd(2) of a `struct msgbuf` built from `mtype` and `text` (msgsz = `text.len()`):
    /// `do_msgsnd()`. Must not block (see the type's docs): pass `IPC_NOWAIT` or make sure the
    /// message fits.
    pub fn msgsnd(
        &self,
        caller: &HostCaller,
        id: i32,
        mtype: i64,
        text: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        let text = text.to_vec();
        self.run(caller, move || sys::msgsnd(id, mtype, &text, flags))
    }

    /// msgsnd(2) with raw arguments, for EFAULT and bad-size cases: `msgp` `None` passes NULL;
    /// `Some(bytes)` passes a copy of `bytes` (a native-endian `long` mtype, then text) placed
    /// right before an inaccessible page, so the kernel faults (EFAULT) on any byte past them.
    pub fn msgsnd_raw(
        &self,
        caller: &HostCaller,
        id: i32,
        msgp: Option<&[u8]>,
        msgsz: i64,
        flags: i32,
    ) -> Result<(), Errno> {
        let msgp = msgp.map(<[u8]>::to_vec);
        self.run(caller, move || {
            sys::msgsnd_raw(id, msgp.as_deref(), msgsz, flags)
        })
    }

    /// msgrcv(2) into a buffer of 8 + `size` bytes: `do_msgrcv()`. Returns the message's
    /// mtype and its text as copied (the return value's length; truncated with MSG_NOERROR).
    /// With MSG_COPY, `msgtyp` is the index. Must not block: pass `IPC_NOWAIT` or make sure a
    /// message matches.
    pub fn msgrcv(
        &self,
        caller: &HostCaller,
        id: i32,
        size: usize,
        msgtyp: i64,
        flags: i32,
    ) -> Result<(i64, Vec<u8>), Errno> {
        self.run(caller, move || sys::msgrcv(id, size, msgtyp, flags))
    }

    /// msgrcv(2) with raw arguments: a NULL buffer if `null_buffer`, else one of 8 + `msgsz`
    /// bytes (capped at 8 + INT_MAX, the most Linux can copy). Returns the raw result, the
    /// number of text bytes.
    pub fn msgrcv_raw(
        &self,
        caller: &HostCaller,
        id: i32,
        null_buffer: bool,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    ) -> Result<i64, Errno> {
        self.run(caller, move || {
            sys::msgrcv_raw(id, null_buffer, msgsz, msgtyp, flags)
        })
    }

    /// msgctl(2) `IPC_STAT`, `MSG_STAT` or `MSG_STAT_ANY` (`msgctl_stat()` in `ipc/msg.c`):
    /// the return value (0, or the full id for the `*_STAT` index commands) and the
    /// `msqid64_ds` the kernel filled.
    pub fn msgctl_stat(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
    ) -> Result<(i32, Msqid64Ds), Errno> {
        self.run(caller, move || sys::msgctl_stat(id, cmd))
    }

    /// msgctl(2) `IPC_SET` with `ds` (`msgctl_down()`): uid, gid, mode and msg_qbytes are used.
    pub fn msgctl_set(&self, caller: &HostCaller, id: i32, ds: &Msqid64Ds) -> Result<(), Errno> {
        let ds = *ds;
        self.run(caller, move || sys::msgctl_set(id, &ds))
    }

    /// msgctl(2) `IPC_RMID` (`msgctl_down()` → `freeque()`): blocked senders and receivers
    /// wake with EIDRM.
    pub fn msgctl_rmid(&self, caller: &HostCaller, id: i32) -> Result<(), Errno> {
        self.run(caller, move || sys::msgctl_rmid(id))
    }

    /// msgctl(2) `IPC_INFO` or `MSG_INFO` (`msgctl_info()`): the return value (highest used
    /// index, 0 if none) and the `msginfo` (whose fields mean different things for the two
    /// commands).
    pub fn msgctl_info(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
    ) -> Result<(i32, Msginfo), Errno> {
        self.run(caller, move || sys::msgctl_info(id, cmd))
    }

    /// msgctl(2) with any `cmd` and `buf` NULL (`None`) or a copy of the given bytes placed
    /// right before an inaccessible page (the kernel faults, EFAULT, past them); what the
    /// kernel wrote is copied back into `buf`.
    pub fn msgctl_raw(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
        buf: Option<&mut [u8]>,
    ) -> Result<i32, Errno> {
        let copy = buf.as_deref().map(<[u8]>::to_vec);
        let (ret, copy) = self.run(caller, move || {
            let mut copy = copy;
            let ret = sys::msgctl_raw(id, cmd, copy.as_deref_mut());
            (ret, copy)
        });
        if let (Some(buf), Some(copy)) = (buf, copy) {
            buf.copy_from_slice(&copy);
        }
        ret
    }
}

/// What a child process made by [`HostNamespace::fork_semops`] did before it exited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostChild {
    /// Its process id (what `sempid` records for its calls and for its exit's adjustments).
    pub pid: i32,
    /// The result of each semop(2) call, in order.
    pub results: Vec<Result<(), Errno>>,
}

/// Semaphores: semget(2), semop(2), semtimedop(2), semctl(2), and a process that exits.
impl HostNamespace {
    /// semget(2): `ksys_semget()` → `ipcget()`; returns the set's id.
    pub fn semget(
        &self,
        caller: &HostCaller,
        key: i32,
        nsems: i32,
        flags: i32,
    ) -> Result<i32, Errno> {
        self.run(caller, move || sys::semget(key, nsems, flags))
    }

    /// semop(2) (`SYS_semop`) of `sops`, nsops = `sops.len()`: `do_semtimedop()`. Must not
    /// block (see the type's docs): set `IPC_NOWAIT` on operations that could wait.
    pub fn semop(&self, caller: &HostCaller, id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
        let sops = sops.to_vec();
        self.run(caller, move || sys::semop(id, &sops))
    }

    /// semtimedop(2) (`SYS_semtimedop`) of `sops` with a relative timeout `(tv_sec, tv_nsec)`,
    /// passed as given (an invalid one is EINVAL), or a NULL timeout for `None`. Must not
    /// block for long: every later call waits behind it.
    pub fn semtimedop(
        &self,
        caller: &HostCaller,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<(i64, i64)>,
    ) -> Result<(), Errno> {
        let sops = sops.to_vec();
        self.run(caller, move || sys::semtimedop(id, &sops, timeout))
    }

    /// semop(2) (`timeout` `None`) or semtimedop(2) (`Some(t)`; `t` `None` passes NULL) with an
    /// explicit `nsops` (truncated to the kernel's `unsigned int`): a copy of `sops` is placed
    /// right before an inaccessible page, so an `nsops` beyond the slice faults (EFAULT) once
    /// the kernel reads the array, and one above `semopm` shows E2BIG coming first.
    pub fn semop_raw(
        &self,
        caller: &HostCaller,
        id: i32,
        sops: &[Sembuf],
        nsops: usize,
        timeout: Option<Option<(i64, i64)>>,
    ) -> Result<(), Errno> {
        let sops = sops.to_vec();
        self.run(caller, move || sys::semop_raw(id, &sops, nsops, timeout))
    }

    /// semctl(2) `GETVAL`, `GETPID`, `GETNCNT` or `GETZCNT` (or any `cmd`, with a 4th argument
    /// of 0, i.e. NULL for commands that take a buffer): the return value.
    pub fn semctl_val(
        &self,
        caller: &HostCaller,
        id: i32,
        semnum: i32,
        cmd: i32,
    ) -> Result<i32, Errno> {
        self.run(caller, move || sys::semctl_val(id, semnum, cmd))
    }

    /// semctl(2) `SETVAL` (`semctl_setval()`) with `val` in the low 32 bits of the argument.
    pub fn semctl_setval(
        &self,
        caller: &HostCaller,
        id: i32,
        semnum: i32,
        val: i32,
    ) -> Result<(), Errno> {
        self.run(caller, move || sys::semctl_setval(id, semnum, val))
    }

    /// semctl(2) `GETALL` into an array of `nsems` values placed right before an inaccessible
    /// page (a set with more semaphores: EFAULT).
    pub fn semctl_getall(
        &self,
        caller: &HostCaller,
        id: i32,
        nsems: usize,
    ) -> Result<Vec<u16>, Errno> {
        self.run(caller, move || sys::semctl_getall(id, nsems))
    }

    /// semctl(2) `SETALL` from a copy of `values` placed right before an inaccessible page (a
    /// set with more semaphores: EFAULT).
    pub fn semctl_setall(&self, caller: &HostCaller, id: i32, values: &[u16]) -> Result<(), Errno> {
        let values = values.to_vec();
        self.run(caller, move || sys::semctl_setall(id, &values))
    }

    /// semctl(2) `IPC_STAT`, `SEM_STAT` or `SEM_STAT_ANY` (or any `cmd`, with a guarded buffer
    /// of 128 bytes): the return value (0, or the full id for the index commands) and the
    /// `semid64_ds` the kernel filled.
    pub fn semctl_stat(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
    ) -> Result<(i32, Semid64Ds), Errno> {
        self.run(caller, move || sys::semctl_stat(id, cmd))
    }

    /// semctl(2) `IPC_SET` with `ds` (`semctl_down()`): uid, gid and mode are used.
    pub fn semctl_set(&self, caller: &HostCaller, id: i32, ds: &Semid64Ds) -> Result<(), Errno> {
        let ds = *ds;
        self.run(caller, move || sys::semctl_set(id, &ds))
    }

    /// semctl(2) `IPC_RMID` (`freeary()`): sleepers wake with EIDRM, undo entries are dropped.
    pub fn semctl_rmid(&self, caller: &HostCaller, id: i32) -> Result<(), Errno> {
        self.run(caller, move || sys::semctl_rmid(id))
    }

    /// semctl(2) `IPC_INFO` or `SEM_INFO` (`semctl_info()`): the highest used index (0 if
    /// none) and the `seminfo`.
    pub fn semctl_info(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
    ) -> Result<(i32, Seminfo), Errno> {
        self.run(caller, move || sys::semctl_info(id, cmd))
    }

    /// Forks a child *process* from the namespace thread, with `caller`'s credentials, in the
    /// private namespace and without an undo list (fork(2) shares none); it makes the semop(2)
    /// calls `calls` (`(semid, sops)`) in order, whatever each returns, and exits. Returns
    /// once the child has exited, i.e. once the kernel has applied its SEM_UNDO adjustments
    /// (`exit_sem()`: each value clamped to `0..=32767`, its pid as `sempid`, sleepers served).
    ///
    /// The same child as [`HostNamespace::fork`] with [`ChildStep::Semop`] steps, told to exit
    /// at once. No call may block: a child still running after 20 s is killed and this
    /// panics.
    pub fn fork_semops(&self, caller: &HostCaller, calls: &[(i32, Vec<Sembuf>)]) -> HostChild {
        let steps: Vec<ChildStep> = calls
            .iter()
            .map(|(id, sops)| ChildStep::Semop {
                id: *id,
                sops: sops.clone(),
            })
            .collect();
        let child = self.fork(caller, &steps);
        let report = HostChild {
            pid: child.pid(),
            results: child.results().iter().map(|r| r.map(drop)).collect(),
        };
        child.exit();
        report
    }
}

/// Child processes: fork(2) from the namespace thread.
impl HostNamespace {
    /// Forks a child *process* from the namespace thread, with `caller`'s credentials, in the
    /// private namespace; it makes the calls `steps` in order, whatever each returns, and then
    /// waits, alive, until [`HostProcess::exit`] (or drop) tells it to exit. Returns once the
    /// steps have run; [`HostProcess::results`] has their results.
    ///
    /// What the child inherits (fork(2)): no semaphore undo list (its SEM_UNDO adjustments are
    /// its own, applied at its exit); a copy of each shared-memory attachment made through
    /// *this* namespace ([`shmat`](Self::shmat), also by its spawned threads) and not detached
    /// yet. Each copy counts as an attach (`shm_open()`: `shm_nattch` + 1, `shm_atime` = now,
    /// `shm_lpid` = this process, the parent) and, when the child detaches it or exits, as a
    /// detach by the child (`shm_lpid` = its pid, `shm_dtime` = now). Attachments that other
    /// `HostNamespace`s of this process made with their `shmat` are kept out of the child
    /// (`MADV_DONTFORK` around the fork), so parallel tests do not see each other's forks;
    /// attachments made by raw calls inside [`run`](Self::run) are not known to this crate
    /// and are copied into every child, as by a plain fork(2). Detach with
    /// [`shmdt`](Self::shmdt) what [`shmat`](Self::shmat) attached.
    ///
    /// Safe in this multi-threaded process because the child runs only raw syscalls on
    /// memory prepared before the fork and leaves with `_exit(2)`: no allocation, no lock,
    /// no panic (signal-safety(7)). Panics if the steps have not finished after 20 s (the
    /// child is killed then), if the child dies before finishing them, or if a step is a
    /// shmat(2) that [`shmat`](Self::shmat) would refuse.
    pub fn fork(&self, caller: &HostCaller, steps: &[ChildStep]) -> HostProcess {
        let steps = steps.to_vec();
        let ours = Arc::clone(&self.shared.attachments);
        self.run(caller, move || child::fork(&ours, &steps, CHILD_TIMEOUT))
    }
}

/// Shared memory: shmget(2), shmat(2), shmdt(2), shmctl(2).
impl HostNamespace {
    /// shmget(2): `ksys_shmget()` → `ipcget()`; returns the segment's id. `size` is the
    /// `size_t` argument, passed unchanged.
    pub fn shmget(
        &self,
        caller: &HostCaller,
        key: i32,
        size: u64,
        flags: i32,
    ) -> Result<i32, Errno> {
        self.run(caller, move || sys::shmget(key, size, flags))
    }

    /// shmat(2): `do_shmat()`; returns the address of the new attachment, which lives in this
    /// process (the namespace thread shares the test's address space): read and write it with
    /// [`read_mem`](crate::read_mem)/[`write_mem`](crate::write_mem), and detach it with
    /// [`shmdt`](Self::shmdt) (it outlives the `HostNamespace` otherwise, and keeps the
    /// segment and the namespace alive).
    ///
    /// Panics, without calling the kernel, if SHM_REMAP asks to map at a fixed address
    /// (non-NULL, page aligned or rounded down by SHM_RND to a non-NULL one): that would
    /// replace whatever this process has mapped there; see
    /// [`shmat_unchecked`](Self::shmat_unchecked). Every other combination is passed as is; a
    /// fixed address without SHM_REMAP is EINVAL if anything is mapped in the range.
    pub fn shmat(
        &self,
        caller: &HostCaller,
        id: i32,
        addr: usize,
        flags: i32,
    ) -> Result<usize, Errno> {
        let ours = Arc::clone(&self.shared.attachments);
        self.run(caller, move || ours.attach(|| sys::shmat(id, addr, flags)))
    }

    /// shmat(2) like [`shmat`](Self::shmat), but SHM_REMAP at a fixed address is passed to the
    /// kernel too, which then replaces any mapping in the range (`do_mmap()` with MAP_FIXED).
    ///
    /// # Safety
    ///
    /// With SHM_REMAP and a non-NULL address (after SHM_RND rounding), nothing in this process
    /// may use memory in `[addr, addr + PAGE_ALIGN(shm_segsz))` other than as an attachment
    /// read and written through [`read_mem`](crate::read_mem)/[`write_mem`](crate::write_mem)
    /// (typically the range is an earlier attachment the test made itself).
    #[allow(unsafe_code)]
    pub unsafe fn shmat_unchecked(
        &self,
        caller: &HostCaller,
        id: i32,
        addr: usize,
        flags: i32,
    ) -> Result<usize, Errno> {
        let ours = Arc::clone(&self.shared.attachments);
        self.run(caller, move || {
            // SAFETY: the caller's guarantee, passed on unchanged.
            ours.attach(|| unsafe { sys::shmat_unchecked(id, addr, flags) })
        })
    }

    /// shmdt(2): `ksys_shmdt()`. Only ever unmaps a System V attachment starting at `addr`
    /// (EINVAL if there is none, e.g. a second shmdt of the same address), so it cannot take
    /// memory away from anything else; the attachment's address must not be read or written
    /// afterwards.
    pub fn shmdt(&self, caller: &HostCaller, addr: usize) -> Result<(), Errno> {
        let ours = Arc::clone(&self.shared.attachments);
        self.run(caller, move || ours.detach(addr, || sys::shmdt(addr)))
    }

    /// shmctl(2) `IPC_STAT`, `SHM_STAT` or `SHM_STAT_ANY` (`shmctl_stat()` in `ipc/shm.c`):
    /// the return value (0, or the full id for the `*_STAT` index commands) and the
    /// `shmid64_ds` the kernel filled.
    pub fn shmctl_stat(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
    ) -> Result<(i32, Shmid64Ds), Errno> {
        self.run(caller, move || sys::shmctl_stat(id, cmd))
    }

    /// shmctl(2) `IPC_SET` with `ds` (`shmctl_down()`): uid, gid and the low 9 mode bits are
    /// used; `shm_ctime` is set.
    pub fn shmctl_set(&self, caller: &HostCaller, id: i32, ds: &Shmid64Ds) -> Result<(), Errno> {
        let ds = *ds;
        self.run(caller, move || sys::shmctl_set(id, &ds))
    }

    /// shmctl(2) `IPC_RMID` (`shmctl_down()` → `do_shm_rmid()`): destroyed at once if not
    /// attached, else marked `SHM_DEST` with its key set to IPC_PRIVATE and destroyed at the
    /// last detach.
    pub fn shmctl_rmid(&self, caller: &HostCaller, id: i32) -> Result<(), Errno> {
        self.run(caller, move || sys::shmctl_rmid(id))
    }

    /// shmctl(2) `SHM_LOCK` or `SHM_UNLOCK` (or any `cmd`, with a NULL buffer):
    /// `shmctl_do_lock()`, which sets or clears `SHM_LOCKED` in the mode.
    pub fn shmctl_lock(&self, caller: &HostCaller, id: i32, cmd: i32) -> Result<(), Errno> {
        self.run(caller, move || sys::shmctl_lock(id, cmd))
    }

    /// shmctl(2) `IPC_INFO` (`shmctl_ipc_info()`; any other `cmd` is passed as well and what
    /// it wrote read as a `shminfo64`): the return value (highest used index, 0 if none) and
    /// the `shminfo64` of the limits.
    pub fn shmctl_info(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
    ) -> Result<(i32, Shminfo64), Errno> {
        self.run(caller, move || sys::shmctl_info(id, cmd))
    }

    /// shmctl(2) `SHM_INFO` (`shmctl_shm_info()`): the return value (highest used index, 0 if
    /// none) and the `shm_info` of the usage (`used_ids` a count, `shm_tot`/`shm_rss`/
    /// `shm_swp` in pages).
    pub fn shmctl_shm_info(&self, caller: &HostCaller, id: i32) -> Result<(i32, ShmInfo), Errno> {
        self.run(caller, move || sys::shmctl_shm_info(id))
    }

    /// shmctl(2) with any `cmd` and `buf` NULL (`None`) or a copy of the given bytes placed
    /// right before an inaccessible page (the kernel faults, EFAULT, past them); what the
    /// kernel wrote is copied back into `buf`.
    pub fn shmctl_raw(
        &self,
        caller: &HostCaller,
        id: i32,
        cmd: i32,
        buf: Option<&mut [u8]>,
    ) -> Result<i32, Errno> {
        let copy = buf.as_deref().map(<[u8]>::to_vec);
        let (ret, copy) = self.run(caller, move || {
            let mut copy = copy;
            let ret = sys::shmctl_raw(id, cmd, copy.as_deref_mut());
            (ret, copy)
        });
        if let (Some(buf), Some(copy)) = (buf, copy) {
            buf.copy_from_slice(&copy);
        }
        ret
    }
}

impl Drop for HostNamespace {
    /// Removes every object in the namespace (waking blocked threads with EIDRM), stops the
    /// namespace thread and joins it.
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let (done_tx, done_rx) = mpsc::sync_channel::<()>(1);
            let cleanup = Request {
                caller: None,
                job: Box::new(move |_| {
                    sys::remove_all_objects();
                    let _ = done_tx.send(());
                }),
            };
            if tx.send(cleanup).is_ok() {
                let _ = done_rx.recv();
            }
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
