//! i386 calls with `int $0x80`: the probe, the low buffers, and a call that lands in the
//! private namespace.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use common::namespace;
use sysvipc_abi::Errno;
use sysvipc_host::HostCaller;
use sysvipc_host::int80::{self, LowMemory};

#[test]
fn low_memory_lies_below_4_gib_and_reads_back_what_was_written() {
    let m = LowMemory::new(8192).unwrap();
    assert!(u64::from(m.at(8192)) < 1 << 32);
    assert_eq!(m.read(100, 3), [0, 0, 0]);
    m.write(100, b"abc");
    assert_eq!(m.read(99, 5), b"\0abc\0");
}

#[test]
fn int80_msgget_acts_in_the_namespace_thread_and_errors_come_back_as_errno() {
    let Some(ns) = namespace("int80_msgget_acts_in_the_namespace_thread") else {
        return;
    };
    if let Err(why) = int80::available() {
        eprintln!("SKIP int80_msgget_acts_in_the_namespace_thread: {why}");
        return;
    }
    let root = HostCaller::root();
    // i386 msgget (399) with IPC_PRIVATE: the first id of a fresh namespace.
    // SAFETY: msgget takes no pointers.
    let id = ns.run(&root, || unsafe {
        int80::syscall(399, [0, 0o600, 0, 0, 0, 0])
    });
    assert_eq!(int80::result(id), Ok(0));
    // The 64-bit side sees the same queue: its IPC_RMID works, then the i386 one fails.
    ns.msgctl_rmid(&root, id).unwrap();
    // SAFETY: IPC_RMID takes no pointer.
    let again = ns.run(&root, move || unsafe {
        int80::syscall(402, [id as u32, 0, 0, 0, 0, 0])
    });
    assert_eq!(int80::result(again), Err(Errno::EINVAL));
}
