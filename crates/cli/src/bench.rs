//! `sysvipc bench`: a short run of the comparison `cargo bench -p sysvipc-bench` makes — the
//! emulation beside the host kernel and a plain baseline, with the ratios.

use std::sync::Arc;
use std::time::Duration;

use sysvipc_bench::{Column, Row, Runner, open_host, suites, table};

/// How long one sample of one runner lasts, at least.
const SAMPLE: Duration = Duration::from_millis(20);
/// Samples per runner; the median is reported.
const SAMPLES: usize = 5;

/// Runs the cases whose name contains `filter` (all of them with `all`, else the quick
/// families only) and returns the table.
pub fn run(all: bool, filter: Option<&str>) -> String {
    let host = open_host().map(Arc::new);
    let mut rows = Vec::new();
    for suite in suites().into_iter().filter(|s| all || s.quick) {
        for case in (suite.build)(host.as_ref()) {
            if filter.is_some_and(|f| !case.name.contains(f)) {
                continue;
            }
            let mut row = Row {
                name: case.name.clone(),
                ..Row::default()
            };
            for (column, runner) in case.runners {
                let ns = measure(runner);
                match column {
                    Column::Emulation => row.emulation = Some(ns),
                    Column::Host => row.host = Some(ns),
                    Column::Baseline => row.baseline = Some(ns),
                }
            }
            rows.push(row);
        }
    }
    let mut out = table(&rows);
    if host.is_none() {
        out.push_str("\n(host column skipped: no private IPC namespace could be created here)\n");
    }
    out
}

/// The median time per iteration of `runner`, in nanoseconds, over [`SAMPLES`] samples of at
/// least [`SAMPLE`] each (the iteration count doubles until one sample lasts that long).
fn measure(mut runner: Runner) -> f64 {
    let mut iters = 1u64;
    while runner(iters) < SAMPLE && iters < 1 << 30 {
        iters *= 2;
    }
    let mut per: Vec<f64> = (0..SAMPLES)
        .map(|_| runner(iters).as_nanos() as f64 / iters as f64)
        .collect();
    per.sort_by(f64::total_cmp);
    per[SAMPLES / 2]
}
