//! Seeded random scenarios run on the host kernel beside the emulation: no divergence in
//! 10,000 calls. Skips, saying why, where the host cannot make a private IPC namespace.
#![cfg(target_os = "linux")]

use sysvipc_check::diff::{DiffError, new_differ};
use sysvipc_check::{parse, random};

fn run(seed: u64, calls: usize) {
    let text = random::generate(seed, calls);
    let scenario =
        parse(&format!("random(seed={seed})"), &text).expect("generated scenarios parse");
    let mut differ = match new_differ() {
        Ok(d) => d,
        Err(DiffError::Unsupported(why)) => {
            println!("skipping the random differential run: {why}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    differ.run(&scenario);
    let report = differ.into_report();
    let mut allowed: Vec<&str> = report.allowed.iter().map(|a| a.0).collect();
    allowed.sort_unstable();
    allowed.dedup();
    for name in allowed {
        let n = report.allowed.iter().filter(|a| a.0 == name).count();
        println!("allowed divergence {name}: {n} times");
    }
    let shown: Vec<String> = report
        .findings
        .iter()
        .take(20)
        .map(ToString::to_string)
        .collect();
    assert!(
        report.findings.is_empty(),
        "{} findings in {} lines; the first:\n{}",
        report.findings.len(),
        report.lines,
        shown.join("\n")
    );
}

#[test]
fn ten_thousand_random_calls_agree_with_the_host() {
    run(1, 10_000);
}

#[test]
fn other_seeds_agree_with_the_host() {
    for seed in 2..6 {
        run(seed, 2_000);
    }
}
