//! `struct ipc64_perm`: the owner and mode record embedded in every `*id64_ds`.
//!
//! Mirrors `include/uapi/asm-generic/ipcbuf.h`, which x86-64 (`arch/x86/include/uapi/asm/
//! ipcbuf.h`) and aarch64 both use. glibc's `struct ipc_perm` has the same layout.

/// `struct ipc64_perm` (48 bytes).
///
/// `__kernel_mode_t` is 32 bits on x86-64 and aarch64, so the kernel's `__pad1` is empty and
/// has no field here. The C compiler inserts 4 bytes after `__pad2` to align `__unused1`;
/// they are `pad3`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipc64Perm {
    /// `key`: the key the object was created with (`IPC_PRIVATE` once removed).
    pub key: i32,
    /// `uid`: owner's user id.
    pub uid: u32,
    /// `gid`: owner's group id.
    pub gid: u32,
    /// `cuid`: creator's user id.
    pub cuid: u32,
    /// `cgid`: creator's group id.
    pub cgid: u32,
    /// `mode`: permission bits (low 9) and mechanism flags such as `SHM_DEST`.
    pub mode: u32,
    /// `seq`: the slot's sequence number (`id / SEQ_MULTIPLIER`).
    pub seq: u16,
    /// `__pad2`.
    pub pad2: u16,
    /// Implicit C padding before `__unused1`.
    pub pad3: u32,
    /// `__unused1`.
    pub unused1: u64,
    /// `__unused2`.
    pub unused2: u64,
}

assert_layout!(Ipc64Perm, size = 48, align = 8, {
    key @ 0,
    uid @ 4,
    gid @ 8,
    cuid @ 12,
    cgid @ 16,
    mode @ 20,
    seq @ 24,
    pad2 @ 26,
    pad3 @ 28,
    unused1 @ 32,
    unused2 @ 40,
});
