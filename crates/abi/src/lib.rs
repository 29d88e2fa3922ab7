//! Linux System V IPC ABI: constants, errno numbers and `#[repr(C)]` structures.
//!
//! Everything here is a value or a layout defined by the Linux kernel's UAPI headers (and, for
//! the few kernel-internal values an emulation must reproduce, by the kernel's own headers);
//! each module names the header it mirrors. The kernel is the authority: the tests compare
//! every constant and every field offset with the system's kernel headers, glibc and the
//! `libc` crate.
//!
//! The structures are the 64-bit ABI served to x86-64 and aarch64 guests. They are identical
//! on both architectures except `semid64_ds`, which [`arch`] provides for each; the crate root
//! re-exports the compile target's as [`Semid64Ds`]. Every structure spells out its padding as
//! named fields, so it has no implicit padding bytes and can be copied to a guest byte for
//! byte (`IPC_STAT` must write zeros into the unused words: [`Default`] gives all zeros).
//!
//! - [`Errno`]: Linux error numbers.
//! - [`consts`] (re-exported at the root): flags, commands, id layout, limits, capabilities.
//! - [`ipc_call`]: call numbers of the ipc(2) multiplexer.
//! - [`arch`]: per-architecture `semid64_ds` and syscall numbers.
//! - [`compat`]: the structures and syscall numbers of 32-bit tasks (i386 on x86-64), the
//!   pre-2.4 (`IPC_OLD`) structures among them.
#![no_std]
#![forbid(unsafe_code)]

/// Asserts at compile time, on every target, a structure's size and alignment, the offset
/// of each of its fields, and that the listed fields cover the whole structure (no implicit
/// padding). The field list must name every field.
macro_rules! assert_layout {
    ($ty:ty, size = $size:expr, align = $align:expr, { $($field:ident @ $off:expr),+ $(,)? }) => {
        const _: () = {
            assert!(core::mem::size_of::<$ty>() == $size, "size");
            assert!(core::mem::align_of::<$ty>() == $align, "alignment");
            $(assert!(core::mem::offset_of!($ty, $field) == $off, stringify!($field));)+
            assert!(
                0 $(+ $crate::field_size::<$ty, _>(|s| &s.$field))+ == $size,
                "implicit padding",
            );
        };
    };
}

/// The size of the field that `project` borrows; used by `assert_layout!` in const context.
// Compilers before 1.86 do not count uses in `const _` items and call it unused.
#[allow(dead_code)]
const fn field_size<T, F>(_project: fn(&T) -> &F) -> usize {
    core::mem::size_of::<F>()
}

pub mod arch;
pub mod compat;
pub mod consts;
mod errno;
mod ipc;
pub mod ipc_call;
mod msg;
mod sem;
mod shm;

pub use consts::*;
pub use errno::Errno;
pub use ipc::Ipc64Perm;
pub use msg::{Msginfo, Msqid64Ds};
pub use sem::{Sembuf, Seminfo};
pub use shm::{ShmInfo, Shmid64Ds, Shminfo64};

/// `struct semid64_ds` of the compile target: [`arch::x86_64::Semid64Ds`] on x86-64,
/// [`arch::generic::Semid64Ds`] (asm-generic, as on aarch64) elsewhere.
#[cfg(not(target_arch = "x86_64"))]
pub use arch::generic::Semid64Ds;
/// `struct semid64_ds` of the compile target: [`arch::x86_64::Semid64Ds`] on x86-64,
/// [`arch::generic::Semid64Ds`] (asm-generic, as on aarch64) elsewhere.
#[cfg(target_arch = "x86_64")]
pub use arch::x86_64::Semid64Ds;
