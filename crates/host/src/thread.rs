//! Threads spawned inside a [`HostNamespace`](crate::HostNamespace): [`HostThread`] makes
//! (possibly blocking) calls on such a thread, [`HostJoin`] observes, interrupts and joins it.

use std::marker::PhantomData;
use std::panic::resume_unwind;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::abi::{
    Errno, Msginfo, Msqid64Ds, Sembuf, Semid64Ds, Seminfo, ShmInfo, Shmid64Ds, Shminfo64,
};
use crate::child::Attachments;
use crate::{HostError, sys};

/// The calling side of a thread started by [`HostNamespace::spawn`](crate::HostNamespace::spawn):
/// the same message-queue, semaphore and shared-memory calls as
/// [`HostNamespace`](crate::HostNamespace), made directly by this thread (inside the private
/// namespace, with the credentials given to `spawn`), so they may block. Not `Send`: the calls
/// act on the current thread, so the handle stays on it.
#[derive(Debug)]
pub struct HostThread {
    tid: i32,
    /// The namespace's record of its attachments (what its forked children inherit).
    attachments: Arc<Attachments>,
    _on_this_thread: PhantomData<*const ()>,
}

impl HostThread {
    /// The handle for the calling thread; only created on threads spawned in a namespace.
    pub(crate) fn current(attachments: Arc<Attachments>) -> HostThread {
        HostThread {
            tid: sys::gettid(),
            attachments,
            _on_this_thread: PhantomData,
        }
    }

    /// This thread's kernel thread id (gettid(2)).
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// msgget(2): `ksys_msgget()` → `ipcget()`; returns the queue id.
    pub fn msgget(&self, key: i32, flags: i32) -> Result<i32, Errno> {
        sys::msgget(key, flags)
    }

    /// msgsnd(2) of a `struct msgbuf` built from `mtype` and `text`: `do_msgsnd()`. Blocks
    /// while the queue is full unless `IPC_NOWAIT`; EINTR when interrupted by a signal whose
    /// handler runs, EIDRM when the queue is removed meanwhile.
    pub fn msgsnd(&self, id: i32, mtype: i64, text: &[u8], flags: i32) -> Result<(), Errno> {
        sys::msgsnd(id, mtype, text, flags)
    }

    /// msgsnd(2) with raw arguments; see
    /// [`HostNamespace::msgsnd_raw`](crate::HostNamespace::msgsnd_raw).
    pub fn msgsnd_raw(
        &self,
        id: i32,
        msgp: Option<&[u8]>,
        msgsz: i64,
        flags: i32,
    ) -> Result<(), Errno> {
        sys::msgsnd_raw(id, msgp, msgsz, flags)
    }

    /// msgrcv(2) into a buffer of 8 + `size` bytes: `do_msgrcv()`; returns mtype and text.
    /// Blocks until a message matches unless `IPC_NOWAIT`; EINTR when interrupted by a signal
    /// whose handler runs (even with SA_RESTART), EIDRM when the queue is removed meanwhile.
    pub fn msgrcv(
        &self,
        id: i32,
        size: usize,
        msgtyp: i64,
        flags: i32,
    ) -> Result<(i64, Vec<u8>), Errno> {
        sys::msgrcv(id, size, msgtyp, flags)
    }

    /// msgrcv(2) with raw arguments; see
    /// [`HostNamespace::msgrcv_raw`](crate::HostNamespace::msgrcv_raw).
    pub fn msgrcv_raw(
        &self,
        id: i32,
        null_buffer: bool,
        msgsz: i64,
        msgtyp: i64,
        flags: i32,
    ) -> Result<i64, Errno> {
        sys::msgrcv_raw(id, null_buffer, msgsz, msgtyp, flags)
    }

    /// msgctl(2) `IPC_STAT`/`MSG_STAT`/`MSG_STAT_ANY`: return value and `msqid64_ds`.
    pub fn msgctl_stat(&self, id: i32, cmd: i32) -> Result<(i32, Msqid64Ds), Errno> {
        sys::msgctl_stat(id, cmd)
    }

    /// msgctl(2) `IPC_SET` with `ds` (`msgctl_down()`).
    pub fn msgctl_set(&self, id: i32, ds: &Msqid64Ds) -> Result<(), Errno> {
        sys::msgctl_set(id, ds)
    }

    /// msgctl(2) `IPC_RMID` (`freeque()`).
    pub fn msgctl_rmid(&self, id: i32) -> Result<(), Errno> {
        sys::msgctl_rmid(id)
    }

    /// msgctl(2) `IPC_INFO`/`MSG_INFO` (`msgctl_info()`): highest used index and `msginfo`.
    pub fn msgctl_info(&self, id: i32, cmd: i32) -> Result<(i32, Msginfo), Errno> {
        sys::msgctl_info(id, cmd)
    }

    /// msgctl(2) with any `cmd` and a NULL or guarded buffer; see
    /// [`HostNamespace::msgctl_raw`](crate::HostNamespace::msgctl_raw).
    pub fn msgctl_raw(&self, id: i32, cmd: i32, buf: Option<&mut [u8]>) -> Result<i32, Errno> {
        sys::msgctl_raw(id, cmd, buf)
    }
}

/// Semaphores, made directly by this thread: any call may block.
impl HostThread {
    /// semget(2): `ksys_semget()`; returns the set's id.
    pub fn semget(&self, key: i32, nsems: i32, flags: i32) -> Result<i32, Errno> {
        sys::semget(key, nsems, flags)
    }

    /// semop(2) of `sops`: `do_semtimedop()`. Sleeps while the first operation that cannot
    /// proceed has no `IPC_NOWAIT`; EINTR when interrupted by a signal (never restarted),
    /// EIDRM when the set is removed meanwhile.
    pub fn semop(&self, id: i32, sops: &[Sembuf]) -> Result<(), Errno> {
        sys::semop(id, sops)
    }

    /// semtimedop(2) of `sops` with a relative timeout `(tv_sec, tv_nsec)` (or NULL for
    /// `None`); EAGAIN when it expires.
    pub fn semtimedop(
        &self,
        id: i32,
        sops: &[Sembuf],
        timeout: Option<(i64, i64)>,
    ) -> Result<(), Errno> {
        sys::semtimedop(id, sops, timeout)
    }

    /// semop(2)/semtimedop(2) with an explicit `nsops`; see
    /// [`HostNamespace::semop_raw`](crate::HostNamespace::semop_raw).
    pub fn semop_raw(
        &self,
        id: i32,
        sops: &[Sembuf],
        nsops: usize,
        timeout: Option<Option<(i64, i64)>>,
    ) -> Result<(), Errno> {
        sys::semop_raw(id, sops, nsops, timeout)
    }

    /// semctl(2) `GETVAL`/`GETPID`/`GETNCNT`/`GETZCNT` (any `cmd`, 4th argument 0).
    pub fn semctl_val(&self, id: i32, semnum: i32, cmd: i32) -> Result<i32, Errno> {
        sys::semctl_val(id, semnum, cmd)
    }

    /// semctl(2) `SETVAL`.
    pub fn semctl_setval(&self, id: i32, semnum: i32, val: i32) -> Result<(), Errno> {
        sys::semctl_setval(id, semnum, val)
    }

    /// semctl(2) `GETALL` into a guarded array of `nsems` values.
    pub fn semctl_getall(&self, id: i32, nsems: usize) -> Result<Vec<u16>, Errno> {
        sys::semctl_getall(id, nsems)
    }

    /// semctl(2) `SETALL` from a guarded copy of `values`.
    pub fn semctl_setall(&self, id: i32, values: &[u16]) -> Result<(), Errno> {
        sys::semctl_setall(id, values)
    }

    /// semctl(2) `IPC_STAT`/`SEM_STAT`/`SEM_STAT_ANY`: return value and `semid64_ds`.
    pub fn semctl_stat(&self, id: i32, cmd: i32) -> Result<(i32, Semid64Ds), Errno> {
        sys::semctl_stat(id, cmd)
    }

    /// semctl(2) `IPC_SET` with `ds`.
    pub fn semctl_set(&self, id: i32, ds: &Semid64Ds) -> Result<(), Errno> {
        sys::semctl_set(id, ds)
    }

    /// semctl(2) `IPC_RMID`.
    pub fn semctl_rmid(&self, id: i32) -> Result<(), Errno> {
        sys::semctl_rmid(id)
    }

    /// semctl(2) `IPC_INFO`/`SEM_INFO`: highest used index and `seminfo`.
    pub fn semctl_info(&self, id: i32, cmd: i32) -> Result<(i32, Seminfo), Errno> {
        sys::semctl_info(id, cmd)
    }

    /// unshare(2) `CLONE_SYSVSEM` for this thread only: it drops its reference to the undo
    /// list it shares with the namespace thread (and the other spawned threads) and starts with
    /// none; its next SEM_UNDO operation creates a list of its own. Calling it again drops
    /// that list, and as its only holder the kernel applies it right away (`exit_sem()`, the
    /// same code as at process exit: values clamped to `0..=32767`, this process's pid as
    /// `sempid`, sleepers served). A thread that simply returns applies it too, but only
    /// after the joiner has been woken (`exit_sem()` runs after `exit_mm()`), so call this
    /// to know when it has happened.
    pub fn unshare_sysvsem(&self) -> Result<(), Errno> {
        sys::unshare_sysvsem()
    }
}

/// Shared memory, made directly by this thread (none of these calls blocks).
impl HostThread {
    /// shmget(2): `ksys_shmget()`; returns the segment's id.
    pub fn shmget(&self, key: i32, size: u64, flags: i32) -> Result<i32, Errno> {
        sys::shmget(key, size, flags)
    }

    /// shmat(2): `do_shmat()`; returns the attachment's address (in this process, shared with
    /// every thread). Panics on SHM_REMAP at a fixed address; see
    /// [`HostNamespace::shmat`](crate::HostNamespace::shmat).
    pub fn shmat(&self, id: i32, addr: usize, flags: i32) -> Result<usize, Errno> {
        self.attachments.attach(|| sys::shmat(id, addr, flags))
    }

    /// shmat(2) that passes SHM_REMAP at a fixed address to the kernel too; see
    /// [`HostNamespace::shmat_unchecked`](crate::HostNamespace::shmat_unchecked).
    ///
    /// # Safety
    ///
    /// As for [`HostNamespace::shmat_unchecked`](crate::HostNamespace::shmat_unchecked):
    /// with SHM_REMAP and a non-NULL address, nothing in this process may use the memory in
    /// the range except as an attachment.
    #[allow(unsafe_code)]
    pub unsafe fn shmat_unchecked(&self, id: i32, addr: usize, flags: i32) -> Result<usize, Errno> {
        // SAFETY: the caller's guarantee, passed on unchanged.
        self.attachments
            .attach(|| unsafe { sys::shmat_unchecked(id, addr, flags) })
    }

    /// shmdt(2): `ksys_shmdt()`; unmaps only a System V attachment starting at `addr`.
    pub fn shmdt(&self, addr: usize) -> Result<(), Errno> {
        self.attachments.detach(addr, || sys::shmdt(addr))
    }

    /// shmctl(2) `IPC_STAT`/`SHM_STAT`/`SHM_STAT_ANY`: return value and `shmid64_ds`.
    pub fn shmctl_stat(&self, id: i32, cmd: i32) -> Result<(i32, Shmid64Ds), Errno> {
        sys::shmctl_stat(id, cmd)
    }

    /// shmctl(2) `IPC_SET` with `ds` (`shmctl_down()`).
    pub fn shmctl_set(&self, id: i32, ds: &Shmid64Ds) -> Result<(), Errno> {
        sys::shmctl_set(id, ds)
    }

    /// shmctl(2) `IPC_RMID` (`do_shm_rmid()`).
    pub fn shmctl_rmid(&self, id: i32) -> Result<(), Errno> {
        sys::shmctl_rmid(id)
    }

    /// shmctl(2) `SHM_LOCK`/`SHM_UNLOCK` (`shmctl_do_lock()`).
    pub fn shmctl_lock(&self, id: i32, cmd: i32) -> Result<(), Errno> {
        sys::shmctl_lock(id, cmd)
    }

    /// shmctl(2) `IPC_INFO` (`shmctl_ipc_info()`): highest used index and `shminfo64`.
    pub fn shmctl_info(&self, id: i32, cmd: i32) -> Result<(i32, Shminfo64), Errno> {
        sys::shmctl_info(id, cmd)
    }

    /// shmctl(2) `SHM_INFO` (`shmctl_shm_info()`): highest used index and `shm_info`.
    pub fn shmctl_shm_info(&self, id: i32) -> Result<(i32, ShmInfo), Errno> {
        sys::shmctl_shm_info(id)
    }

    /// shmctl(2) with any `cmd` and a NULL or guarded buffer; see
    /// [`HostNamespace::shmctl_raw`](crate::HostNamespace::shmctl_raw).
    pub fn shmctl_raw(&self, id: i32, cmd: i32, buf: Option<&mut [u8]>) -> Result<i32, Errno> {
        sys::shmctl_raw(id, cmd, buf)
    }
}

/// Syscalls a thread sleeps in while waiting for a System V IPC object.
const BLOCKING_SYSCALLS: [libc::c_long; 4] = [
    libc::SYS_msgsnd,
    libc::SYS_msgrcv,
    libc::SYS_semop,
    libc::SYS_semtimedop,
];

/// Field 3 (state) of a `/proc/…/stat` line. It follows the command name, which is in
/// parentheses and may itself contain spaces and parentheses: the first field after the last
/// `)`.
fn state_of(stat: &str) -> Option<char> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().next()?.chars().next()
}

/// What `/proc/self/task/TID/{stat,syscall}` say about a thread.
#[derive(Debug)]
struct Observed {
    /// Field 3 of `stat` (proc(5)): `R`, `S`, `D`…; `None` if unreadable (thread gone).
    state: Option<char>,
    /// First line of `syscall`: the syscall number and arguments if blocked in one,
    /// `running`, or `-1 …` when blocked outside a syscall.
    syscall: String,
}

/// Whether process `pid` (a single-threaded child in the middle of a call it was sent) is
/// asleep in msgsnd, msgrcv, semop or semtimedop, as [`HostJoin::wait_until_blocked`] tells
/// of a thread. Where its `syscall` file cannot be read (it needs ptrace access, and the
/// child of a process that switched credentials is not dumpable), interruptible sleep alone
/// tells: the caller knows the child is inside the call (past reading it), where it sleeps
/// nowhere else.
pub(crate) fn process_asleep_in_ipc(pid: i32) -> bool {
    let seen = Observed::at(&format!("/proc/{pid}/task/{pid}"));
    seen.blocked_in_ipc() || (seen.state == Some('S') && seen.syscall.starts_with('<'))
}

impl Observed {
    fn of(tid: i32) -> Observed {
        Observed::at(&format!("/proc/self/task/{tid}"))
    }

    fn at(dir: &str) -> Observed {
        // The state follows the command name, which is in parentheses and may contain both
        // spaces and parentheses: it is the first field after the last ')'.
        let state = std::fs::read_to_string(format!("{dir}/stat"))
            .ok()
            .and_then(|stat| state_of(&stat));
        let syscall = std::fs::read_to_string(format!("{dir}/syscall"))
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_else(|e| format!("<{e}>"));
        Observed { state, syscall }
    }

    fn syscall_nr(&self) -> Option<libc::c_long> {
        self.syscall.split_whitespace().next()?.parse().ok()
    }

    /// Asleep (interruptibly) inside one of the System V IPC waits.
    fn blocked_in_ipc(&self) -> bool {
        self.state == Some('S')
            && self
                .syscall_nr()
                .is_some_and(|nr| BLOCKING_SYSCALLS.contains(&nr))
    }
}

/// A thread started by [`HostNamespace::spawn`](crate::HostNamespace::spawn). Dropping it
/// without [`join`](HostJoin::join) detaches the thread (dropping the `HostNamespace` removes
/// every IPC object, so a thread blocked in one wakes with EIDRM).
#[derive(Debug)]
pub struct HostJoin<R> {
    handle: thread::JoinHandle<R>,
    tid: i32,
}

impl<R> HostJoin<R> {
    pub(crate) fn new(handle: thread::JoinHandle<R>, tid: i32) -> HostJoin<R> {
        HostJoin { handle, tid }
    }

    /// Waits for the thread to finish and returns what its closure returned; a panic in the
    /// closure is re-raised here.
    pub fn join(self) -> R {
        match self.handle.join() {
            Ok(value) => value,
            Err(panic) => resume_unwind(panic),
        }
    }

    /// The thread's kernel thread id (gettid(2)).
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Whether the thread's closure has returned (or panicked).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Polls `/proc/self/task/TID/stat` and `/proc/self/task/TID/syscall` (proc(5)) until the
    /// thread is in interruptible sleep (`S`) inside msgsnd, msgrcv, semop or semtimedop,
    /// i.e. queued on the object and waiting; the kernel registers a waiter before it sets
    /// that state (`do_msgrcv()`, `do_msgsnd()`, `do_semtimedop()`), so a call that should
    /// wake it can be made as soon as this returns. Replaces sleeping as synchronisation.
    ///
    /// Fails with [`HostError::NotBlocked`], naming the last state seen, when `timeout` passes
    /// first or the thread finishes.
    pub fn wait_until_blocked(&self, timeout: Duration) -> Result<(), HostError> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(20);
        loop {
            if self.handle.is_finished() {
                return Err(HostError::NotBlocked(format!(
                    "thread {} finished without blocking",
                    self.tid
                )));
            }
            let seen = Observed::of(self.tid);
            if seen.blocked_in_ipc() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(HostError::NotBlocked(format!(
                    "thread {} not asleep in msgsnd/msgrcv/semop/semtimedop after {timeout:?}: \
                     state {:?}, syscall {:?}",
                    self.tid, seen.state, seen.syscall
                )));
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }

    /// Sends the crate's interrupt signal (a real-time signal, `SIGRTMIN + 3`, whose no-op
    /// handler is installed without SA_RESTART) to the thread with tgkill(2). A thread asleep in
    /// msgsnd/msgrcv returns EINTR (Linux's ERESTARTNOHAND becomes EINTR because a handler
    /// runs, whatever SA_RESTART says); in semop/semtimedop, EINTR too. A thread not (yet)
    /// asleep just runs the handler: call [`wait_until_blocked`](HostJoin::wait_until_blocked)
    /// first. ESRCH once the thread has finished.
    pub fn interrupt(&self) -> Result<(), Errno> {
        if self.handle.is_finished() {
            // Its tid may already belong to another thread.
            return Err(Errno::ESRCH);
        }
        sys::interrupt(self.tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_read_after_the_last_parenthesis_of_the_command() {
        assert_eq!(state_of("42 (a) b) S 1 2 3"), Some('S'));
        assert_eq!(state_of("42 (sysvipc-host-ta) R 1"), Some('R'));
        assert_eq!(state_of("garbage"), None);
        assert_eq!(state_of("42 (x)"), None);
    }

    #[test]
    fn blocked_means_asleep_in_an_ipc_syscall() {
        let seen = |state, syscall: &str| Observed {
            state,
            syscall: syscall.to_owned(),
        };
        let msgrcv = format!(
            "{} 0x3 0x7ffc 0x40 0x0 0x0 0x0 0x7ffc 0x7f00",
            libc::SYS_msgrcv
        );
        assert!(seen(Some('S'), &msgrcv).blocked_in_ipc());
        assert!(!seen(Some('R'), &msgrcv).blocked_in_ipc());
        assert!(!seen(Some('S'), "running").blocked_in_ipc());
        assert!(!seen(Some('S'), "-1 0x7ffc 0x7f00").blocked_in_ipc());
        let futex = format!("{} 0x1 0x80 0x0 0x0 0x0 0x0 0x7ffc 0x7f00", libc::SYS_futex);
        assert!(!seen(Some('S'), &futex).blocked_in_ipc());
    }
}
