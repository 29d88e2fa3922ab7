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
