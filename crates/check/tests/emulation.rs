//! Random scenarios on the emulation alone (no host needed): nothing panics, and the same
//! scenario gives the same trace twice (spawned calls included), so a divergence found
//! against the host can be replayed.

use sysvipc_check::{Emulation, Session, parse, random, trace};

fn traced(text: &str) -> Vec<String> {
    let scenario = parse("random", text).expect("generated scenarios parse");
    let mut session = Session::new(Emulation::new());
    let mut out = Vec::new();
    for line in &scenario.lines {
        let step = session.exec(line);
        let names: Vec<String> = session.buffer_names().map(str::to_owned).collect();
        out.push(trace::render(line, &step, &names));
    }
    out
}

#[test]
fn random_scenarios_run_deterministically_on_the_emulation() {
    for seed in 100..140 {
        let text = random::generate(seed, 500);
        let first = traced(&text);
        assert_eq!(first, traced(&text), "seed {seed}");
        assert!(
            first.iter().any(|l| l.starts_with("join t")),
            "seed {seed} joins nothing"
        );
    }
}

#[test]
fn an_expired_semtimedop_returns_eagain_at_the_manual_clocks_deadline_without_waiting() {
    // A timeout of an hour: the emulation moves its clock past the deadline instead of
    // sleeping, so this returns at once.
    let text = "\
buffer ops 8
buffer ts 16
buffer st 128
s = semget(IPC_PRIVATE, 1, 0600)
put ts 0 i64:3600 i64:0
put ops 0 sembuf:0,-1,0
spawn t semtimedop(s, ops, 1, ts)
semctl(s, 0, GETNCNT) = 1
expire t
join t = EAGAIN
semctl(s, 0, GETNCNT) = 0
";
    let start = std::time::Instant::now();
    let lines = traced(text);
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(
        lines[9],
        "join t = -1 EAGAIN (Resource temporarily unavailable)"
    );
    assert_eq!(lines[10], "semctl(s, 0, GETNCNT) = 0");
}

#[test]
fn a_forked_process_has_its_own_pid_and_undo_list_applied_at_its_exit() {
    let text = "\
buffer ops 8
s = semget(IPC_PRIVATE, 1, 0600)
fork p2
put ops 0 sembuf:0,2,SEM_UNDO
p2: semop(s, ops, 1) = 0
semctl(s, 0, GETPID)
exit p2
semctl(s, 0, GETVAL)
semop(s, ops, 1) = 0
fork p3
exit p3
semctl(s, 0, GETVAL)
";
    let lines = traced(text);
    let pid = |l: &str| {
        l.rsplit(' ')
            .next()
            .unwrap_or("")
            .parse::<i32>()
            .unwrap_or(0)
    };
    assert_ne!(pid(&lines[5]), sysvipc_check::EMU_PID);
    assert_eq!(lines[7], "semctl(s, 0, GETVAL) = 0");
    // The scenario's own +2 stays: p3 inherited no adjustment.
    assert_eq!(lines[11], "semctl(s, 0, GETVAL) = 2");
}
