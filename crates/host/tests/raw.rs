//! The raw entry points: NULL and short buffers, odd sizes and commands reach the kernel as is.
#![cfg(target_os = "linux")]

mod common;

use common::namespace;
use sysvipc_abi::{
    Errno, IPC_NOWAIT, IPC_RMID, IPC_STAT, MSG_COPY, MSG_EXCEPT, MSG_STAT, Msqid64Ds,
};
use sysvipc_host::HostCaller;

fn msgbuf(mtype: i64, text: &[u8]) -> Vec<u8> {
    let mut buf = mtype.to_ne_bytes().to_vec();
    buf.extend_from_slice(text);
    buf
}

#[test]
fn msgsnd_raw_faults_exactly_past_the_given_bytes() {
    let Some(ns) = namespace("msgsnd_raw_faults_exactly_past_the_given_bytes") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let buf = msgbuf(3, b"abc");
    // EFAULT on reading mtype comes first, even before the id check.
    assert_eq!(ns.msgsnd_raw(&root, -1, None, 1, 0), Err(Errno::EFAULT));
    assert_eq!(
        ns.msgsnd_raw(&root, id, Some(&buf[..4]), 0, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        ns.msgsnd_raw(&root, id, Some(&buf), 4, 0),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        ns.msgsnd_raw(&root, id, Some(&buf), -1, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ns.msgsnd_raw(&root, id, Some(&buf), 8193, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ns.msgsnd_raw(&root, id, Some(&msgbuf(0, b"")), 0, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(ns.msgsnd_raw(&root, id, Some(&buf), 3, 0), Ok(()));
    assert_eq!(
        ns.msgrcv(&root, id, 10, 0, IPC_NOWAIT),
        Ok((3, b"abc".to_vec()))
    );
}

#[test]
fn msgrcv_raw_null_buffer_loses_the_message() {
    let Some(ns) = namespace("msgrcv_raw_null_buffer_loses_the_message") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    assert_eq!(
        ns.msgrcv_raw(&root, id, false, -1, 0, IPC_NOWAIT),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ns.msgrcv_raw(&root, id, true, 8, 0, IPC_NOWAIT),
        Err(Errno::ENOMSG)
    );
    ns.msgsnd(&root, id, 1, b"lost", 0).unwrap();
    // The copy-out fails after the message was unlinked.
    assert_eq!(
        ns.msgrcv_raw(&root, id, true, 8, 0, IPC_NOWAIT),
        Err(Errno::EFAULT)
    );
    assert_eq!(ns.msgctl_stat(&root, id, IPC_STAT).unwrap().1.msg_qnum, 0);
    ns.msgsnd(&root, id, 1, b"kept", 0).unwrap();
    assert_eq!(ns.msgrcv_raw(&root, id, false, 8, 0, IPC_NOWAIT), Ok(4));
}

#[test]
fn msg_copy_reads_by_index_without_removing() {
    let Some(ns) = namespace("msg_copy_reads_by_index_without_removing") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    ns.msgsnd(&root, id, 5, b"first", 0).unwrap();
    ns.msgsnd(&root, id, 6, b"second", 0).unwrap();
    assert_eq!(
        ns.msgrcv(&root, id, 16, 1, IPC_NOWAIT | MSG_COPY),
        Ok((6, b"second".to_vec()))
    );
    assert_eq!(
        ns.msgrcv(&root, id, 16, 2, IPC_NOWAIT | MSG_COPY),
        Err(Errno::ENOMSG)
    );
    assert_eq!(ns.msgrcv(&root, id, 16, 0, MSG_COPY), Err(Errno::EINVAL));
    assert_eq!(
        ns.msgrcv(&root, id, 16, 0, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT),
        Err(Errno::EINVAL)
    );
    // MSG_COPY reads the user buffer first: a NULL one faults.
    assert_eq!(
        ns.msgrcv_raw(&root, id, true, 16, 0, IPC_NOWAIT | MSG_COPY),
        Err(Errno::EFAULT)
    );
    assert_eq!(ns.msgctl_stat(&root, id, IPC_STAT).unwrap().1.msg_qnum, 2);
}

#[test]
fn msgctl_raw_passes_buffers_and_commands_unchanged() {
    let Some(ns) = namespace("msgctl_raw_passes_buffers_and_commands_unchanged") else {
        return;
    };
    let root = HostCaller::root();
    let id = ns
        .msgget(&root, 0x99, sysvipc_abi::IPC_CREAT | 0o600)
        .unwrap();
    assert_eq!(ns.msgctl_raw(&root, id, IPC_STAT, None), Err(Errno::EFAULT));
    let mut short = [0xAAu8; 16];
    assert_eq!(
        ns.msgctl_raw(&root, id, IPC_STAT, Some(&mut short)),
        Err(Errno::EFAULT)
    );
    let mut full = [0xAAu8; std::mem::size_of::<Msqid64Ds>()];
    assert_eq!(ns.msgctl_raw(&root, id, IPC_STAT, Some(&mut full)), Ok(0));
    assert_eq!(full[..4], 0x99i32.to_ne_bytes());
    assert!(
        full[104..].iter().all(|&b| b == 0),
        "unused words are zeroed by the kernel"
    );
    // The direct syscall does not parse IPC_64, and unknown commands are EINVAL.
    assert_eq!(
        ns.msgctl_raw(&root, id, IPC_STAT | 0x100, Some(&mut full)),
        Err(Errno::EINVAL)
    );
    assert_eq!(ns.msgctl_raw(&root, id, 99, None), Err(Errno::EINVAL));
    assert_eq!(ns.msgctl_stat(&root, 0, MSG_STAT).map(|r| r.0), Ok(id));
    assert_eq!(ns.msgctl_raw(&root, id, IPC_RMID, None), Ok(0));
    assert_eq!(ns.msgctl_rmid(&root, id), Err(Errno::EINVAL));
}

#[test]
fn huge_receive_buffers_cost_only_what_the_kernel_writes() {
    let Some(ns) = namespace("huge_receive_buffers_cost_only_what_the_kernel_writes") else {
        return;
    };
    let root = HostCaller::root();
    ns.set_sysctl("msgmax", "1048576").unwrap();
    ns.set_sysctl("msgmnb", "4194304").unwrap();
    let id = ns.msgget(&root, 0, 0o600).unwrap();
    let text: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    ns.msgsnd(&root, id, 2, &text, 0).unwrap();
    ns.msgsnd(&root, id, 3, &text, 0).unwrap();
    // Buffers of 1 TiB and of LONG_MAX bytes: the kernel only writes the 300 000.
    assert_eq!(
        ns.msgrcv(&root, id, 1 << 40, 0, IPC_NOWAIT),
        Ok((2, text.clone()))
    );
    assert_eq!(
        ns.msgrcv_raw(&root, id, false, i64::MAX, 0, IPC_NOWAIT),
        Ok(300_000)
    );
    // Above LONG_MAX the size is negative for the kernel.
    assert_eq!(
        ns.msgrcv(&root, id, usize::MAX, 0, IPC_NOWAIT),
        Err(Errno::EINVAL)
    );
}
