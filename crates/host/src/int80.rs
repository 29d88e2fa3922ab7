//! i386 system calls made by this 64-bit process: `int $0x80` enters the kernel's IA32
//! emulation, which runs the 32-bit (compat) version of each call, with the i386 numbers and
//! argument registers (`eax` = number, `ebx`, `ecx`, `edx`, `esi`, `edi`, `ebp`). This is
//! the oracle for a 32-bit task's System V IPC.
//!
//! A compat call sees only 32-bit pointers, so every buffer handed to it must lie below
//! 4 GiB: [`LowMemory`] maps one there (`MAP_32BIT`). Like the calls of `sys.rs`, these act
//! in the IPC namespace of the calling thread: run them inside
//! [`HostNamespace::run`](crate::HostNamespace::run).
//!
//! A kernel built without `CONFIG_IA32_EMULATION`, or booted with `ia32_emulation=0`, kills
//! the process on `int $0x80` (SIGSEGV); [`available`] asks a forked child first.

use crate::abi::Errno;

/// Makes i386 syscall `nr` with six 32-bit arguments on the calling thread and returns what
/// the kernel left in `eax`, sign-extended: a value, or `-errno`.
///
/// # Safety
///
/// The arguments must be valid for the call as a 32-bit task's kernel reads them: every
/// pointer must name memory below 4 GiB that the call may read or write (e.g. inside a
/// [`LowMemory`] the caller keeps alive), and the call must not unmap or overwrite memory
/// this process uses (an `ipc(SHMAT)`/`shmat` at a fixed address with `SHM_REMAP`, say). The
/// kernel must have IA32 emulation ([`available`]).
pub unsafe fn syscall(nr: u32, args: [u32; 6]) -> i32 {
    let [a1, a2, a3, a4, a5, a6] = args;
    let ret: u32;
    // SAFETY: the caller vouches for the arguments. `rbx` and `rbp` cannot be named as
    // operands, so they are saved on the stack (this block may use the stack: no `nostack`)
    // and loaded from two scratch registers; the kernel preserves every other register
    // except `eax` (and, before Linux 4.17, `r8`-`r11`, declared clobbered).
    unsafe {
        core::arch::asm!(
            "push rbx",
            "push rbp",
            "mov ebx, {a1:e}",
            "mov ebp, {a6:e}",
            "int 0x80",
            "pop rbp",
            "pop rbx",
            a1 = in(reg) a1,
            a6 = in(reg) a6,
            inout("eax") nr => ret,
            in("ecx") a2,
            in("edx") a3,
            in("esi") a4,
            in("edi") a5,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
        );
    }
    ret as i32
}

/// `syscall`'s result as the kernel's value or its errno.
pub fn result(ret: i32) -> Result<i32, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw(-ret))
    } else {
        Ok(ret)
    }
}

/// Whether `int $0x80` works on this kernel: a forked child makes i386 `getpid` (20) and
/// compares it with its pid. `Err` says why not. Attachments made by raw calls (this
/// module's `shmat`s among them) are not known to the crate and are copied into the child:
/// ask before making any.
pub fn available() -> Result<(), String> {
    fn probe() -> i32 {
        // SAFETY: getpid takes no arguments; if int 0x80 is not served the kernel kills
        // this child, which the parent sees.
        let got = unsafe { syscall(20, [0; 6]) };
        // SAFETY: getpid has no preconditions.
        if got == unsafe { libc::getpid() } {
            0
        } else {
            1
        }
    }
    // The attachments this crate knows of are hidden from the child (`fork_probe`).
    let pid = crate::child::fork_probe(probe).map_err(|e| format!("fork: {e}"))?;
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFSIGNALED(status) {
        Err(format!(
            "int $0x80 killed the probe with signal {} (no IA32 emulation)",
            libc::WTERMSIG(status)
        ))
    } else {
        Err("int $0x80 getpid did not return the pid".to_owned())
    }
}

/// Anonymous read-write memory mapped below 2 GiB (`MAP_32BIT`), where an i386 call's
/// pointers can reach it; unmapped on drop. Accesses are volatile: the kernel writes it.
#[derive(Debug)]
pub struct LowMemory {
    addr: usize,
    len: usize,
}

impl LowMemory {
    /// Maps `len` zero bytes (rounded up to pages by the kernel).
    pub fn new(len: usize) -> Result<LowMemory, Errno> {
        // SAFETY: an anonymous private mapping at an address the kernel picks: it touches no
        // existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::from_raw(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ));
        }
        Ok(LowMemory {
            addr: p as usize,
            len,
        })
    }

    /// The address of byte `offset`, as an i386 pointer argument.
    pub fn at(&self, offset: usize) -> u32 {
        assert!(offset <= self.len, "offset {offset} past {}", self.len);
        (self.addr + offset) as u32
    }

    /// Copies `len` bytes at `offset`.
    pub fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset + len <= self.len, "read past the mapping");
        // SAFETY: in bounds of our live mapping, checked above.
        unsafe { crate::read_mem(self.addr + offset, len) }
    }

    /// Writes `bytes` at `offset`.
    pub fn write(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len, "write past the mapping");
        // SAFETY: in bounds of our live, writable mapping, which nothing else in the process
        // uses as its own.
        unsafe { crate::write_mem(self.addr + offset, bytes) }
    }
}

impl Drop for LowMemory {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once; nothing borrows it past `self`.
        unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
    }
}
