//! Every scenario of `scenarios/` (at the repository root), run on the host kernel beside the
//! emulation: no divergence, no unmet expectation, no line refused. Skips, saying why, where
//! the host cannot make a private IPC namespace.
#![cfg(target_os = "linux")]

use std::path::PathBuf;

use sysvipc_check::diff::{DiffError, diff};
use sysvipc_check::parse;

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the scenarios directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_parses() {
    let files = corpus();
    assert!(files.len() >= 3, "the corpus is missing: {files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable scenario");
        if let Err(e) = parse(&path.display().to_string(), &text) {
            panic!("{e}");
        }
    }
}

#[test]
fn every_scenario_runs_identically_on_the_host_and_the_emulation() {
    let mut failures = Vec::new();
    let mut allowed_seen = Vec::new();
    for path in corpus() {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(&path).expect("readable scenario");
        let scenario = parse(&name, &text).expect("parses (checked above)");
        match diff(&scenario) {
            Ok(report) => {
                for (allowance, f) in &report.allowed {
                    println!("allowed ({allowance}): {f}");
                    allowed_seen.push(*allowance);
                }
                failures.extend(report.findings.iter().map(ToString::to_string));
            }
            Err(DiffError::Unsupported(why)) => {
                println!("skipping the differential corpus: {why}");
                return;
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every allowance (none today) must be shown by a scenario, so none is stale.
    for a in sysvipc_check::diff::ALLOWED {
        assert!(
            allowed_seen.contains(&a.name),
            "no scenario exercises the allowance {}",
            a.name
        );
    }
}
