//! A tour of the message queues: every selector, truncation, copying, a receiver blocked in
//! another thread and woken by a send, statistics, and removal under a sleeping receiver;
//! then a shared-memory segment seen through two attachments, a fork, and its removal.
//!
//! Run with `cargo run --release --example tour`.

use std::sync::Arc;
use std::thread;

use sysvipc::abi::{self, IPC_CREAT, IPC_NOWAIT, MSG_COPY, MSG_EXCEPT, MSG_NOERROR};
use sysvipc::{
    AttachTable, Caller, Credentials, Errno, IpcNamespace, Message, MsgCtlCmd, ShmCtlCmd,
    ThreadBlocker,
};

/// Prints a call and its result the way strace would: the value, or -1 and the errno.
fn show<T: Shown>(call: &str, result: Result<T, Errno>) -> Option<T> {
    match result {
        Ok(v) => {
            println!("{call:<58} = {}", v.shown());
            Some(v)
        }
        Err(e) => {
            println!("{call:<58} = -1 {e}");
            None
        }
    }
}

/// How a successful result reads.
trait Shown {
    fn shown(&self) -> String;
}

impl Shown for () {
    fn shown(&self) -> String {
        "0".into()
    }
}

impl Shown for i32 {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for usize {
    fn shown(&self) -> String {
        format!("{self:#x}")
    }
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

fn received(r: Result<Message, Errno>) -> Result<String, Errno> {
    r.map(|m| {
        format!(
            "{} (type {}, {:?})",
            m.text.len(),
            m.mtype,
            String::from_utf8_lossy(&m.text)
        )
    })
}

fn main() {
    let ns = IpcNamespace::new();
    let blocker = Arc::new(ThreadBlocker::new());
    let me = Caller::new(Credentials::root(), 1000, blocker.clone());
    let guest = Caller::new(Credentials::user(1001, 1001), 1001, blocker);

    println!("# a keyed queue and a private one");
    let id = show(
        "msgget(0x5eed, IPC_CREAT|0600)",
        ns.msgget(&me, 0x5eed, IPC_CREAT | 0o600),
    )
    .unwrap();
    show("msgget(0x5eed, 0)", ns.msgget(&me, 0x5eed, 0));
    show(
        "msgget(0x5eed, IPC_CREAT|IPC_EXCL)",
        ns.msgget(&me, 0x5eed, IPC_CREAT | abi::IPC_EXCL),
    );
    show(
        "msgget(0x5eed, 0600) as uid 1001",
        ns.msgget(&guest, 0x5eed, 0o600),
    );
    show(
        "msgget(IPC_PRIVATE, 0600)",
        ns.msgget(&me, abi::IPC_PRIVATE, 0o600),
    );

    println!("\n# five messages of types 3, 1, 2, 1, 5");
    for (t, text) in [
        (3, "three"),
        (1, "one"),
        (2, "two"),
        (1, "one again"),
        (5, "five"),
    ] {
        let call = format!("msgsnd({id}, type {t}, {text:?}, 0)");
        show(&call, ns.msgsnd(&me, id, Message::new(t, text), 0));
    }
    show(
        "msgsnd(type 0)",
        ns.msgsnd(&me, id, Message::new(0, "bad"), 0),
    );
    show(
        "msgsnd as uid 1001 (no write permission)",
        ns.msgsnd(&guest, id, Message::new(1, "x"), 0),
    );

    println!("\n# every selector");
    let rcv = |size, msgtyp, flags| received(ns.msgrcv(&me, id, size, msgtyp, flags | IPC_NOWAIT));
    show("msgrcv(COPY index 4)", rcv(64, 4, MSG_COPY));
    show("msgrcv(type 0: oldest of any type)", rcv(64, 0, 0));
    show("msgrcv(type 1: oldest of type 1)", rcv(64, 1, 0));
    show(
        "msgrcv(type 1|EXCEPT: oldest of another type)",
        rcv(64, 1, MSG_EXCEPT),
    );
    show("msgrcv(type -5: lowest type <= 5)", rcv(64, -5, 0));
    show("msgrcv(size 2, type 0): too long", rcv(2, 0, 0));
    show(
        "msgrcv(size 2, type 0|NOERROR): truncated",
        rcv(2, 0, MSG_NOERROR),
    );
    show("msgrcv(type 0): empty queue", rcv(64, 0, 0));

    println!("\n# a receiver blocked in another thread, woken by a send");
    let sleeper = Arc::new(ThreadBlocker::new());
    let waiting = Caller::new(Credentials::root(), 2000, sleeper.clone()).with_tid(2001);
    thread::scope(|s| {
        let t = s.spawn(|| received(ns.msgrcv(&waiting, id, 64, -10, 0)));
        sleeper.wait_until_sleeping();
        println!("(thread 2001 is asleep in msgrcv(type -10))");
        show(
            "msgsnd(type 7, \"wake up\")",
            ns.msgsnd(&me, id, Message::new(7, "wake up"), 0),
        );
        show("thread 2001: msgrcv", t.join().unwrap());
    });
    let (_, ds) = ns.msgctl_stat(&me, id, MsgCtlCmd::Stat).unwrap();
    println!(
        "msgctl(IPC_STAT): qnum {} cbytes {} lspid {} lrpid {} (the receiving thread: handed over, never queued)",
        ds.msg_qnum, ds.msg_cbytes, ds.msg_lspid, ds.msg_lrpid
    );

    println!("\n# statistics");
    ns.msgsnd(&me, id, Message::new(1, "left behind"), 0)
        .unwrap();
    let (max, i) = ns.msgctl_info(0, MsgCtlCmd::MsgInfo).unwrap();
    println!(
        "msgctl(0, MSG_INFO): highest index {max}, {} queues, {} messages, {} bytes",
        i.msgpool, i.msgmap, i.msgtql
    );
    show(
        "msgctl(index 0, MSG_STAT) returns the full id",
        ns.msgctl_stat(&me, 0, MsgCtlCmd::MsgStat).map(|r| r.0),
    );

    println!("\n# removal wakes a sleeping receiver with EIDRM");
    thread::scope(|s| {
        let t = s.spawn(|| received(ns.msgrcv(&waiting, id, 64, 99, 0)));
        sleeper.wait_until_sleeping();
        show("msgctl(IPC_RMID) as uid 1001", ns.msgctl_rmid(&guest, id));
        show("msgctl(IPC_RMID)", ns.msgctl_rmid(&me, id));
        show("thread 2001: msgrcv", t.join().unwrap());
    });
    show("msgctl(IPC_RMID) again", ns.msgctl_rmid(&me, id));

    shared_memory(&ns, &me);
}

/// A segment seen through two attachments, a fork, and removal while attached.
fn shared_memory(ns: &IpcNamespace, me: &Caller) {
    let nattch = |id| {
        ns.shmctl_stat(me, id, ShmCtlCmd::Stat)
            .map(|(_, ds)| format!("nattch {}, mode {:o}", ds.shm_nattch, ds.shm_perm.mode))
    };
    println!("\n# a segment, two attachments, one of them read-only");
    let Some(id) = show(
        "shmget(0x5a, 10000, IPC_CREAT|0600)",
        ns.shmget(me, 0x5a, 10_000, IPC_CREAT | 0o600),
    ) else {
        return;
    };
    let mut space = AttachTable::new(me.pid);
    let a = show("shmat(id, NULL, 0)", ns.shmat(me, &mut space, id, 0, 0)).unwrap_or(0);
    let b = show(
        "shmat(id, NULL, SHM_RDONLY)",
        ns.shmat(me, &mut space, id, 0, abi::SHM_RDONLY),
    )
    .unwrap_or(0);
    show(
        "write \"hello\" at a + 4090",
        space.write(a + 4090, b"hello"),
    );
    let mut buf = [0; 5];
    show(
        "read 5 bytes at b + 4090",
        space
            .read(b + 4090, &mut buf)
            .map(|()| format!("{:?}", String::from_utf8_lossy(&buf))),
    );
    show(
        "write through the read-only attachment",
        space.write(b, b"x"),
    );
    show("shmctl(IPC_STAT)", nattch(id));

    println!("\n# fork, removal while attached, and the last detach");
    let mut child = space.fork(me.pid + 1);
    show("after fork: shmctl(IPC_STAT)", nattch(id));
    show("shmctl(IPC_RMID)", ns.shmctl_rmid(me, id));
    show("shmctl(IPC_STAT)", nattch(id));
    show(
        "shmget(0x5a, 0, 0): the key is gone",
        ns.shmget(me, 0x5a, 0, 0),
    );
    child.clear();
    show("child exits; shmdt(a)", ns.shmdt(&mut space, a));
    show("shmctl(IPC_STAT)", nattch(id));
    show("shmdt(b)", ns.shmdt(&mut space, b));
    show("shmctl(IPC_STAT): destroyed", nattch(id));
}
