//! The emulation backend: `sysvipc-syscalls` over an [`IpcNamespace`] on a manual clock, with
//! [`HeapUserMemory`] buffers and one address space ([`AttachTable`]) shared by every caller.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sysvipc::{
    AttachTable, Blocker, Caller, Capabilities, Clock, Credentials, IpcNamespace, ManualClock,
    Protection, SemUndo, Wakeup,
};
use sysvipc_abi::Errno;
use sysvipc_syscalls::{Arch, HeapUserMemory, Task, UserMemory};

use crate::backend::{Backend, RunError, SysResult, pointer_args};
use crate::scenario::{CallerSpec, Sys};

/// The process id of the scenario's process on the emulation.
pub const EMU_PID: i32 = 4242;
/// The first forked process's id (spawned calls' thread ids follow [`EMU_PID`]).
const FIRST_CHILD_PID: i32 = 100_000;
/// Where the emulation's wall clock starts (it advances one second before every call).
pub const T0: i64 = 1_700_000_000;
/// Where buffers are mapped, one every [`BUFFER_STRIDE`] bytes.
const BUFFER_BASE: u64 = 0x1000_0000;
const BUFFER_STRIDE: u64 = 0x100_0000;
/// `BAD`: nothing is ever mapped there.
const BAD: u64 = 0xdead_0000;

/// A blocker that is interrupted as soon as it sleeps: a call that would block returns at
/// once, as the host backend's interrupted thread does.
struct InterruptAtOnce;

impl Blocker for InterruptAtOnce {
    fn block(&self, _deadline: Option<Duration>) -> Wakeup {
        Wakeup::Interrupted
    }

    fn wake(&self) {}
}

/// How long a spawned call may take to sleep or return.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct TaskState {
    sleeping: bool,
    woken: bool,
    interrupted: bool,
    /// The deadline of the current sleep (monotonic), if it has one.
    deadline: Option<Duration>,
    /// The manual clock has passed `deadline` (`expire`).
    expired: bool,
}

/// The blocker of a spawned call: it tells when the call sleeps with no wake-up pending,
/// and the runner interrupts it (a signal with a handler) when it is joined asleep.
#[derive(Debug, Default)]
struct TaskBlocker {
    state: Mutex<TaskState>,
    changed: Condvar,
    /// Counts the wake-ups of every spawned call of the emulation (shared): the runner
    /// knows that everything has settled when a pass finds every call asleep or returned
    /// and no wake-up happened meanwhile.
    wakes: Arc<AtomicU64>,
}

impl TaskBlocker {
    fn lock(&self) -> std::sync::MutexGuard<'_, TaskState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asleep with no wake-up or interruption pending.
    fn asleep(&self) -> bool {
        let s = self.lock();
        s.sleeping && !s.woken && !s.interrupted && !s.expired
    }

    /// The deadline of the sleep under way, if it has one.
    fn deadline(&self) -> Option<Duration> {
        let s = self.lock();
        if s.sleeping { s.deadline } else { None }
    }

    /// The clock has passed the deadline: the sleep ends with a timeout.
    fn expire(&self) {
        self.lock().expired = true;
        self.changed.notify_all();
    }

    fn interrupt(&self) {
        self.lock().interrupted = true;
        self.changed.notify_all();
    }
}

impl Blocker for TaskBlocker {
    fn block(&self, deadline: Option<Duration>) -> Wakeup {
        let mut s = self.lock();
        let why = loop {
            if s.woken {
                break Wakeup::Woken;
            }
            if s.interrupted {
                break Wakeup::Interrupted;
            }
            if s.expired {
                break Wakeup::TimedOut;
            }
            s.sleeping = true;
            s.deadline = deadline;
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        };
        *s = TaskState::default();
        why
    }

    fn wake(&self) {
        self.lock().woken = true;
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_all();
    }
}

/// A spawned call.
struct Spawned {
    handle: Option<JoinHandle<SysResult>>,
    blocker: Arc<TaskBlocker>,
    tid: i32,
}

impl Spawned {
    fn finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }
}

/// The errno a program sees: an interrupted msgsnd/msgrcv reports the kernel-internal
/// restart code, which becomes EINTR for a signal with a handler (as the host backend's).
fn as_seen(result: SysResult) -> SysResult {
    result.map_err(|e| {
        if e == Errno::ERESTARTNOHAND {
            Errno::EINTR
        } else {
            e
        }
    })
}

#[cfg(target_arch = "x86_64")]
const ARCH: Arch = Arch::X86_64;
#[cfg(not(target_arch = "x86_64"))]
const ARCH: Arch = Arch::Generic;

/// A process forked by a scenario.
struct Process {
    pid: i32,
    /// Its own list (fork(2) without CLONE_SYSVSEM), the only holder: applied at its exit.
    undo: SemUndo,
    /// Its address space: copies of the parent's attachments, then its own.
    attach: AttachTable,
}

/// The emulation, as a scenario sees it.
pub struct Emulation {
    ns: Arc<IpcNamespace>,
    clock: Arc<ManualClock>,
    memory: Arc<HeapUserMemory>,
    tasks: HashMap<String, Spawned>,
    /// Joined calls' thread ids (still named in `msg_lrpid`).
    joined: HashMap<i32, String>,
    /// How many calls were spawned (the next one's thread id follows).
    spawned: i32,
    /// Wake-ups of spawned calls so far.
    wakes: Arc<AtomicU64>,
    attach: AttachTable,
    base: Caller,
    callers: HashMap<String, Caller>,
    buffers: u64,
    /// Forked processes that have not exited.
    processes: HashMap<String, Process>,
    /// Every forked process's pid, also after its exit.
    pids: HashMap<i32, String>,
}

impl std::fmt::Debug for Emulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulation").finish_non_exhaustive()
    }
}

impl Default for Emulation {
    fn default() -> Self {
        Self::new()
    }
}

fn credentials(spec: &CallerSpec) -> Credentials {
    // The host backend switches only effective ids: every caller's real uid stays root's,
    // and SHM_LOCK charges the real uid. The emulated callers mirror that.
    Credentials {
        ruid: 0,
        euid: spec.uid,
        egid: spec.gid,
        fsgid: spec.fsgid,
        groups: spec.groups.clone(),
        caps: Capabilities::from_bits_truncate(spec.caps),
    }
}

impl Emulation {
    /// A fresh namespace with the predefined caller `root`.
    pub fn new() -> Emulation {
        let clock = Arc::new(ManualClock::new(T0));
        let ns = Arc::new(IpcNamespace::with_clock(clock.clone()));
        let base = Caller::new(
            credentials(&CallerSpec::root()),
            EMU_PID,
            Arc::new(InterruptAtOnce),
        );
        let mut callers = HashMap::new();
        callers.insert("root".to_owned(), base.clone());
        Emulation {
            ns,
            clock,
            memory: Arc::new(HeapUserMemory::new()),
            tasks: HashMap::new(),
            joined: HashMap::new(),
            spawned: 0,
            wakes: Arc::default(),
            attach: AttachTable::new(EMU_PID),
            base,
            callers,
            buffers: 0,
            processes: HashMap::new(),
            pids: HashMap::new(),
        }
    }

    /// The namespace, e.g. to list its objects.
    pub fn namespace(&self) -> &IpcNamespace {
        &self.ns
    }

    /// Sets every caller's `RLIMIT_MEMLOCK` (what `SHM_LOCK` may lock without CAP_IPC_LOCK),
    /// e.g. to the host process's.
    pub fn set_memlock_limit(&mut self, bytes: u64) {
        self.base.memlock_limit = bytes;
        for c in self.callers.values_mut() {
            c.memlock_limit = bytes;
        }
    }

    fn task_read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        Self::read_through(&self.attach, &self.memory, addr, buf)
    }

    /// Reads through `attach` where it covers the address, plain memory elsewhere.
    fn read_through(
        attach: &AttachTable,
        memory: &HeapUserMemory,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), Errno> {
        for (attached, from, to) in Self::pieces(attach, addr, buf.len())? {
            let range = (from - addr) as usize..(to - addr) as usize;
            let part = buf.get_mut(range).ok_or(Errno::EFAULT)?;
            if attached {
                attach.read(from as usize, part)?;
            } else {
                memory.read(from, part)?;
            }
        }
        Ok(())
    }

    /// `addr..addr + len` split where the attachments of `attach` begin and end: `(inside an
    /// attachment, start, end)`.
    fn pieces(attach: &AttachTable, addr: u64, len: usize) -> Result<Vec<(bool, u64, u64)>, Errno> {
        let mut pieces = Vec::new();
        let mut at = addr;
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        while at < end {
            let hit = usize::try_from(at).ok().and_then(|a| attach.find(a));
            let (attached, until) = match hit {
                Some(m) => (true, (m.end() as u64).min(end)),
                None => {
                    let next = attach
                        .mappings()
                        .map(|m| m.start() as u64)
                        .find(|s| *s > at)
                        .unwrap_or(u64::MAX);
                    (false, next.min(end))
                }
            };
            pieces.push((attached, at, until));
            at = until;
        }
        Ok(pieces)
    }
}

impl Emulation {
    /// `Ok` if the attachments of `attach` that `addr..addr + len` meets are all writable
    /// (a `put` writes all or nothing, as on the host).
    fn writable(attach: &AttachTable, addr: u64, len: usize) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let meets = |m: &sysvipc::Mapping| (m.start() as u64) < end && (m.end() as u64) > addr;
        if attach
            .mappings()
            .filter(|m| meets(m))
            .all(|m| m.protection().contains(Protection::WRITE))
        {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// `Ok` if `addr..addr + len` lies in mappings of `attach` (`EFAULT` otherwise).
    fn covered(attach: &AttachTable, addr: u64, len: usize) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut at = addr;
        while at < end {
            let m = usize::try_from(at)
                .ok()
                .and_then(|a| attach.find(a))
                .ok_or(Errno::EFAULT)?;
            at = m.end() as u64;
        }
        Ok(())
    }
}

impl Backend for Emulation {
    fn label(&self) -> &'static str {
        "emulation"
    }

    fn add_caller(&mut self, name: &str, spec: &CallerSpec) -> Result<(), RunError> {
        // Another set of credentials of the same process: same pid, undo list, memlock limit.
        let caller = Caller {
            cred: credentials(spec),
            ..self.base.clone()
        };
        self.callers.insert(name.to_owned(), caller);
        Ok(())
    }

    fn add_buffer(&mut self, len: usize) -> Result<u64, RunError> {
        let addr = BUFFER_BASE + self.buffers * BUFFER_STRIDE;
        if len as u64 >= BUFFER_STRIDE {
            return Err(RunError::Unsupported("a buffer is at most 16 MiB".into()));
        }
        self.buffers += 1;
        self.memory.map(addr, len);
        Ok(addr)
    }

    fn bad_address(&self) -> u64 {
        BAD
    }

    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0; len];
        self.task_read(addr, &mut buf)?;
        Ok(buf)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        // Check the whole range first, so that a failed write writes nothing: attachments by
        // their mappings (reading them would make their pages resident, as on Linux), plain
        // memory by reading it.
        Self::writable(&self.attach, addr, data.len())?;
        for (attached, from, to) in Self::pieces(&self.attach, addr, data.len())? {
            if !attached {
                self.memory.read(from, &mut vec![0; (to - from) as usize])?;
            }
        }
        let root = self.base.clone();
        let task = Task::new(&root, &*self.memory, &mut self.attach);
        task.write(addr, data)
    }

    fn read_in(
        &mut self,
        process: &str,
        addr: u64,
        len: usize,
    ) -> Result<Result<Vec<u8>, Errno>, RunError> {
        let p = self
            .processes
            .get(process)
            .ok_or_else(|| RunError::Unsupported(format!("no live process `{process}`")))?;
        let mut buf = vec![0; len];
        // Only attachments: the host reads nothing else of a forked process.
        let whole = Self::covered(&p.attach, addr, len);
        Ok(whole
            .and_then(|()| Self::read_through(&p.attach, &self.memory, addr, &mut buf))
            .map(|()| buf))
    }

    fn write_in(
        &mut self,
        process: &str,
        addr: u64,
        data: &[u8],
    ) -> Result<Result<(), Errno>, RunError> {
        let p = self
            .processes
            .get_mut(process)
            .ok_or_else(|| RunError::Unsupported(format!("no live process `{process}`")))?;
        if let Err(e) = Self::covered(&p.attach, addr, data.len())
            .and_then(|()| Self::writable(&p.attach, addr, data.len()))
        {
            return Ok(Err(e));
        }
        let root = self.base.clone();
        let task = Task::new(&root, &*self.memory, &mut p.attach);
        Ok(task.write(addr, data))
    }

    fn attachment_at(&self, addr: u64) -> Option<(u64, u64)> {
        let m = self.attach.find(usize::try_from(addr).ok()?)?;
        Some((m.start() as u64, m.len() as u64))
    }

    fn call(
        &mut self,
        caller: &str,
        process: Option<&str>,
        sys: Sys,
        args: [u64; 6],
        _may_block: bool,
    ) -> Result<SysResult, RunError> {
        let base = self
            .callers
            .get(caller)
            .ok_or_else(|| RunError::Unsupported(format!("no caller `{caller}`")))?;
        let (caller, attach) = match process {
            None => (base.clone(), &mut self.attach),
            Some(name) => {
                let p = self
                    .processes
                    .get_mut(name)
                    .ok_or_else(|| RunError::Unsupported(format!("no live process `{name}`")))?;
                let caller = Caller {
                    pid: p.pid,
                    tid: p.pid,
                    undo: p.undo.clone(),
                    ..base.clone()
                };
                (caller, &mut p.attach)
            }
        };
        self.clock.advance(Duration::from_secs(1));
        let result = match sys {
            // The memory calls reach only the attach table (what a scenario maps otherwise,
            // its buffers, is not theirs to change).
            Sys::Mprotect => {
                let prot = Protection::from_bits_retain(args[2] as u32);
                match usize::try_from(args[0])
                    .ok()
                    .zip(usize::try_from(args[1]).ok())
                {
                    _ if prot.bits() & !Protection::all().bits() != 0 => Err(Errno::EINVAL),
                    Some((addr, len)) => attach.protect(addr, len, prot).map(|()| 0),
                    None => Err(Errno::ENOMEM),
                }
            }
            // exec lets through CLONE_SYSVSEM in a forked process only.
            Sys::Unshare => match process.and_then(|name| self.processes.get_mut(name)) {
                Some(p) => {
                    drop(caller);
                    // The old list is applied if the process was its last holder.
                    p.undo = SemUndo::new(p.pid);
                    Ok(0)
                }
                None => Err(Errno::EINVAL),
            },
            Sys::Munmap => match usize::try_from(args[0])
                .ok()
                .zip(usize::try_from(args[1]).ok())
            {
                Some((addr, len)) => attach.unmap(addr, len).map(|()| 0),
                None => Err(Errno::EINVAL),
            },
            _ => {
                let mut task = Task::new(&caller, &*self.memory, attach);
                sysvipc_syscalls::syscall(&self.ns, &mut task, ARCH, sys.number(), args)
                    .unwrap_or(Err(Errno::ENOSYS))
            }
        };
        Ok(as_seen(result))
    }

    fn fork(&mut self, name: &str, from: Option<&str>) -> Result<(), RunError> {
        let pid = FIRST_CHILD_PID + self.pids.len() as i32;
        let attach = match from {
            None => self.attach.fork(pid),
            Some(parent) => self
                .processes
                .get(parent)
                .ok_or_else(|| RunError::Unsupported(format!("no live process `{parent}`")))?
                .attach
                .fork(pid),
        };
        self.clock.advance(Duration::from_secs(1));
        let process = Process {
            pid,
            undo: SemUndo::new(pid),
            attach,
        };
        self.pids.insert(pid, name.to_owned());
        self.processes.insert(name.to_owned(), process);
        Ok(())
    }

    fn exit(&mut self, name: &str) -> Result<(), RunError> {
        let mut p = self
            .processes
            .remove(name)
            .ok_or_else(|| RunError::Unsupported(format!("no live process `{name}`")))?;
        self.clock.advance(Duration::from_secs(1));
        // do_exit(): exit_mm() closes the mappings, exit_sem() applies the undo list, then
        // exit_shm() orphans the segments its (only) thread created.
        p.attach.clear();
        let thread = Caller {
            pid: p.pid,
            tid: p.pid,
            ..self.base.clone()
        };
        drop(p.undo);
        self.ns.shm_exit_thread(&thread);
        Ok(())
    }

    fn expire(&mut self, task: &str) -> Result<(), RunError> {
        let t = self
            .tasks
            .get(task)
            .ok_or_else(|| RunError::Unsupported(format!("no spawned call `{task}`")))?;
        if t.finished() {
            return Ok(());
        }
        let deadline = t.blocker.deadline().ok_or_else(|| {
            RunError::Unsupported(format!("`{task}` is not asleep with a timeout"))
        })?;
        let now = self.clock.monotonic();
        if deadline >= now {
            self.clock.advance(deadline - now + Duration::from_nanos(1));
        }
        t.blocker.expire();
        let t = self.tasks.get(task).map(|t| t.blocker.clone());
        let wait = Instant::now() + SETTLE_TIMEOUT;
        while self.tasks.get(task).is_some_and(|t| !t.finished()) {
            if Instant::now() > wait {
                return Err(RunError::Unsupported(format!("`{task}` did not time out")));
            }
            std::thread::yield_now();
        }
        drop(t);
        Ok(())
    }

    fn process_of(&self, pid: i32) -> Option<String> {
        self.pids.get(&pid).cloned()
    }

    fn spawn(
        &mut self,
        task: &str,
        caller: &str,
        sys: Sys,
        args: [u64; 6],
    ) -> Result<(), RunError> {
        if pointer_args(sys, &args)
            .iter()
            .any(|(i, _)| self.attachment_at(args[*i]).is_some())
        {
            return Err(RunError::Unsupported(
                "a spawned call's buffers must lie outside attachments".into(),
            ));
        }
        let base = self
            .callers
            .get(caller)
            .ok_or_else(|| RunError::Unsupported(format!("no caller `{caller}`")))?;
        let blocker = Arc::new(TaskBlocker {
            wakes: Arc::clone(&self.wakes),
            ..TaskBlocker::default()
        });
        self.spawned += 1;
        let tid = EMU_PID + self.spawned;
        let caller = Caller {
            blocker: blocker.clone(),
            ..base.clone()
        }
        .with_tid(tid);
        let (ns, memory) = (Arc::clone(&self.ns), Arc::clone(&self.memory));
        self.clock.advance(Duration::from_secs(1));
        let handle = std::thread::spawn(move || {
            // Its own (empty) attach table: the buffers lie outside attachments.
            let mut table = AttachTable::new(EMU_PID);
            let mut t = Task::new(&caller, &*memory, &mut table);
            as_seen(
                sysvipc_syscalls::syscall(&ns, &mut t, ARCH, sys.number(), args)
                    .unwrap_or(Err(Errno::ENOSYS)),
            )
        });
        self.tasks.insert(
            task.to_owned(),
            Spawned {
                handle: Some(handle),
                blocker,
                tid,
            },
        );
        self.settle()
    }

    fn join(&mut self, task: &str) -> Result<SysResult, RunError> {
        let mut t = self
            .tasks
            .remove(task)
            .ok_or_else(|| RunError::Unsupported(format!("no spawned call `{task}` to join")))?;
        self.joined.insert(t.tid, task.to_owned());
        if !t.finished() {
            t.blocker.interrupt();
        }
        let handle = t
            .handle
            .take()
            .ok_or_else(|| RunError::Unsupported(format!("`{task}` was joined already")))?;
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        while !handle.is_finished() {
            if Instant::now() > deadline {
                return Err(RunError::Unsupported(format!("`{task}` did not return")));
            }
            std::thread::yield_now();
        }
        handle
            .join()
            .map_err(|_| RunError::Unsupported(format!("`{task}` panicked")))
    }

    fn settle(&mut self) -> Result<(), RunError> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            // One pass in which every call is asleep or has returned and nobody was woken:
            // then no call runs, so none can wake another.
            let epoch = self.wakes.load(Ordering::SeqCst);
            let busy = self
                .tasks
                .iter()
                .find(|(_, t)| !t.finished() && !t.blocker.asleep())
                .map(|(n, _)| n.clone());
            match busy {
                None if self.wakes.load(Ordering::SeqCst) == epoch => return Ok(()),
                Some(name) if Instant::now() > deadline => {
                    return Err(RunError::Unsupported(format!(
                        "`{name}` neither slept nor returned"
                    )));
                }
                _ => std::thread::yield_now(),
            }
        }
    }

    fn task_of(&self, tid: i32) -> Option<String> {
        self.joined.get(&tid).cloned().or_else(|| {
            self.tasks
                .iter()
                .find(|(_, t)| t.tid == tid)
                .map(|(n, _)| n.clone())
        })
    }

    fn sysctl(&mut self, name: &str, value: &str) -> Result<(), Errno> {
        if matches!(name, "shmmax" | "shmall") {
            // proc_doulongvec_minmax: one unsigned long, a sign refused.
            let v = match value.split_whitespace().collect::<Vec<_>>().as_slice() {
                [w] if !w.starts_with('-') => w.parse::<u64>().map_err(|_| Errno::EINVAL)?,
                _ => return Err(Errno::EINVAL),
            };
            let limits = self.ns.limits();
            if name == "shmmax" {
                limits.set_shmmax(v);
            } else {
                limits.set_shmall(v);
            }
            return Ok(());
        }
        let nums: Vec<i64> = value
            .split_whitespace()
            .map(|w| w.parse::<i64>().map_err(|_| Errno::EINVAL))
            .collect::<Result<_, _>>()?;
        let one = || match nums.as_slice() {
            [v] => Ok(*v),
            _ => Err(Errno::EINVAL),
        };
        let limits = self.ns.limits();
        match name {
            "msgmax" => limits.set_msgmax(one()?),
            "msgmnb" => limits.set_msgmnb(one()?),
            "msgmni" => limits.set_msgmni(one()?),
            // proc_dointvec stores the values it is given, in order, and leaves the others.
            "sem" if (1..=4).contains(&nums.len()) => {
                let mut sem = [
                    limits.semmsl(),
                    limits.semmns(),
                    limits.semopm(),
                    limits.semmni(),
                ]
                .map(i64::from);
                sem[..nums.len()].copy_from_slice(&nums);
                limits.set_sem(sem)
            }
            "sem" => Err(Errno::EINVAL),
            "shmmni" => limits.set_shmmni(one()?),
            "shm_rmid_forced" => self.ns.set_shm_rmid_forced(one()?),
            "msg_next_id" => self.ns.set_msg_next_id(one()?),
            "sem_next_id" => self.ns.set_sem_next_id(one()?),
            "shm_next_id" => self.ns.set_shm_next_id(one()?),
            _ => Err(Errno::ENOENT),
        }
    }

    fn process_pid(&self) -> i32 {
        EMU_PID
    }

    fn now(&self) -> i64 {
        self.clock.realtime()
    }
}

impl Drop for Emulation {
    /// Interrupts the spawned calls still asleep and waits for them.
    fn drop(&mut self) {
        for t in self.tasks.values_mut() {
            t.blocker.interrupt();
            if let Some(h) = t.handle.take() {
                let _ = h.join();
            }
        }
    }
}
