//! A namespace's objects listed like util-linux `ipcs` (its default, "status" layout), read
//! through the backend's own calls: `*_INFO` for the highest index, then `*_STAT_ANY` for
//! each index up to it.

use std::fmt::Write;

use sysvipc_abi as abi;

use crate::backend::{Backend, RunError};
use crate::observe::{StructKind, decode};
use crate::scenario::Sys;

/// One object as `ipcs` shows it.
struct Row {
    key: i32,
    id: i64,
    uid: u32,
    mode: u32,
    /// Queues: used bytes, messages. Segments: bytes, nattch. Sets: nsems.
    a: i64,
    b: i64,
}

fn owner(uid: u32, passwd: &str) -> String {
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse::<u32>().ok()?;
            (id == uid).then(|| name.chars().take(10).collect::<String>())
        })
        .next()
        .unwrap_or_else(|| uid.to_string())
}

fn rows<B: Backend>(
    backend: &mut B,
    buf: u64,
    sys: Sys,
    info: i32,
    stat_any: i32,
) -> Result<Vec<Row>, RunError> {
    let call = |b: &mut B, first: u64, cmd: i32| {
        let args = match sys {
            Sys::SemCtl => [first, 0, cmd as u64, buf, 0, 0],
            _ => [first, cmd as u64, buf, 0, 0, 0],
        };
        b.call("root", None, sys, args, false)
    };
    let Ok(max) = call(backend, 0, info)? else {
        return Ok(Vec::new());
    };
    let kind = match sys {
        Sys::MsgCtl => StructKind::Msqid,
        Sys::SemCtl => StructKind::Semid,
        _ => StructKind::Shmid,
    };
    let mut out = Vec::new();
    for index in 0..=max.max(0) as u64 {
        let Ok(id) = call(backend, index, stat_any)? else {
            continue;
        };
        let Ok(bytes) = backend.read(buf, kind.size()) else {
            continue;
        };
        let d = decode(kind, &bytes);
        let p = |name: &str| {
            d.fields
                .iter()
                .find(|f| f.name.ends_with(name))
                .map_or(0, |f| f.value)
        };
        let (a, b) = match kind {
            StructKind::Msqid => (p("msg_cbytes"), p("msg_qnum")),
            StructKind::Semid => (p("sem_nsems"), 0),
            _ => (p("shm_segsz"), p("shm_nattch")),
        };
        out.push(Row {
            key: p(".key") as i32,
            id,
            uid: p(".uid") as u32,
            mode: p(".mode") as u32,
            a,
            b,
        });
    }
    Ok(out)
}

/// The objects of the backend's namespace in `ipcs` layout; `passwd` (the text of
/// `/etc/passwd`) names the owners.
pub fn ipcs<B: Backend>(backend: &mut B, passwd: &str) -> Result<String, RunError> {
    let buf = backend.add_buffer(256)?;
    let mut out = String::new();
    let msgs = rows(backend, buf, Sys::MsgCtl, abi::MSG_INFO, abi::MSG_STAT_ANY)?;
    out.push_str("\n------ Message Queues --------\n");
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<10} {:<12} {:<12}",
        "key", "msqid", "owner", "perms", "used-bytes", "messages"
    );
    for r in msgs {
        let _ = writeln!(
            out,
            "0x{:08x} {:<10} {:<10} {:<10o} {:<12} {:<12}",
            r.key,
            r.id,
            owner(r.uid, passwd),
            r.mode & 0o777,
            r.a,
            r.b
        );
    }
    let shms = rows(backend, buf, Sys::ShmCtl, abi::SHM_INFO, abi::SHM_STAT_ANY)?;
    out.push_str("\n------ Shared Memory Segments --------\n");
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<12}",
        "key", "shmid", "owner", "perms", "bytes", "nattch", "status"
    );
    for r in shms {
        let dest = if r.mode & abi::SHM_DEST as u32 != 0 {
            "dest"
        } else {
            " "
        };
        let locked = if r.mode & abi::SHM_LOCKED as u32 != 0 {
            "locked"
        } else {
            " "
        };
        let _ = writeln!(
            out,
            "0x{:08x} {:<10} {:<10} {:<10o} {:<10} {:<10} {:<6} {:<6}",
            r.key,
            r.id,
            owner(r.uid, passwd),
            r.mode & 0o777,
            r.a,
            r.b,
            dest,
            locked
        );
    }
    let sems = rows(backend, buf, Sys::SemCtl, abi::SEM_INFO, abi::SEM_STAT_ANY)?;
    out.push_str("\n------ Semaphore Arrays --------\n");
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<10} {:<10}",
        "key", "semid", "owner", "perms", "nsems"
    );
    for r in sems {
        let _ = writeln!(
            out,
            "0x{:08x} {:<10} {:<10} {:<10o} {:<10}",
            r.key,
            r.id,
            owner(r.uid, passwd),
            r.mode & 0o777,
            r.a
        );
    }
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Emulation, Session, parse};

    #[test]
    fn lists_each_kind_in_util_linux_layout() {
        let s = parse(
            "t",
            "q = msgget(0x1234, IPC_CREAT|0644)\nm = shmget(0, 200, 0600)\nshmctl(m, SHM_LOCK, 0)\n\
             s = semget(IPC_PRIVATE, 2, 0600)\n",
        )
        .expect("parses");
        let mut session = Session::new(Emulation::new());
        for line in &s.lines {
            session.exec(line);
        }
        let text = ipcs(session.backend_mut(), "root:x:0:0::/root:/bin/sh\n").expect("lists");
        let want = "
------ Message Queues --------
key        msqid      owner      perms      used-bytes   messages    
0x00001234 0          root       644        0            0           

------ Shared Memory Segments --------
key        shmid      owner      perms      bytes      nattch     status      
0x00000000 0          root       600        200        0                 locked

------ Semaphore Arrays --------
key        semid      owner      perms      nsems     
0x00000000 0          root       600        2         

";
        assert_eq!(text, want);
    }
}
