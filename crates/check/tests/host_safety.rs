//! The host backend refuses, rather than runs, a line whose pointers could make the kernel
//! write into (or unmap) memory of this process that the scenario does not own; the refusal
//! is reported with its line. Skips where no private IPC namespace can be made.
#![cfg(target_os = "linux")]

use sysvipc_check::diff::{DiffError, diff};
use sysvipc_check::{Problem, parse};

#[test]
fn harmful_pointers_are_refused_on_the_host_and_reported() {
    let text = "\
buffer b 64
q = msgget(IPC_PRIVATE, 0600)
m = shmget(IPC_PRIVATE, 4096, 0600)
a = shmat(m, 0, 0) = ok
msgctl(q, IPC_STAT, 0x7f0000000000)
shmat(m, 0x7f0000000000, 0)
shmat(m, a, SHM_REMAP)
shmdt(0x7f0000001000)
msgrcv(q, a+4090, 100, 0, IPC_NOWAIT)
msgctl(q, IPC_STAT, b+64) = EFAULT
msgctl(q, IPC_STAT, 4096) = EFAULT
shmat(m, a, 0) = EINVAL
shmdt(a) = 0
";
    let scenario = parse("safety.scn", text).expect("parses");
    let report = match diff(&scenario) {
        Ok(r) => r,
        Err(DiffError::Unsupported(why)) => {
            println!("skipping: {why}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let refused: Vec<usize> = report
        .findings
        .iter()
        .filter(|f| matches!(f.problem, Problem::Refused { side: "host", .. }))
        .map(|f| f.line)
        .collect();
    assert_eq!(refused, vec![5, 6, 7, 8, 9], "{:#?}", report.findings);
    assert_eq!(report.findings.len(), 5, "{:#?}", report.findings);
}

#[test]
fn memory_calls_reaching_past_the_scenarios_attachments_are_refused_on_the_host() {
    let text = "\
buffer b 8192
m = shmget(IPC_PRIVATE, 8192, 0600)
a = shmat(m, 0, 0) = ok
munmap(b, 4096)
mprotect(b, 4096, PROT_READ)
munmap(a+4096, 4096) = 0
mprotect(a, 8192, PROT_READ)
fork p2
p2: munmap(b, 4096)
p2: munmap(a, 4096) = 0
p2: mprotect(a, 4096, PROT_READ)
mprotect(a, 4096, PROT_READ) = 0
munmap(a, 12288)
";
    let scenario = parse("memory.scn", text).expect("parses");
    let report = match diff(&scenario) {
        Ok(r) => r,
        Err(DiffError::Unsupported(why)) => {
            println!("skipping: {why}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let refused: Vec<usize> = report
        .findings
        .iter()
        .filter(|f| matches!(f.problem, Problem::Refused { side: "host", .. }))
        .map(|f| f.line)
        .collect();
    // munmap(a, 12288) reaches past the attachment on the host; the emulation runs it.
    assert_eq!(refused, vec![4, 5, 7, 9, 11, 13], "{:#?}", report.findings);
    assert_eq!(report.findings.len(), 6, "{:#?}", report.findings);
}
