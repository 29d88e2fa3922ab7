//! The emulation beside the host kernel and beside a plain baseline, in one run (DESIGN.md §7):
//! every case of `sysvipc_bench::suites()` as a criterion group with up to three functions
//! (`emulation`, `host`, `baseline`). After criterion's report it prints the table of
//! per-iteration medians (over criterion's measurement samples) with the ratios, then the
//! memory the emulation holds.
//!
//! `cargo bench -p sysvipc-bench --bench compare` (or `just bench`); criterion's
//! `-- --quick` for a short run, `-- <filter>` for some cases only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::Criterion;
use sysvipc_bench::{Column, Counting, Row, memory, open_host, suites, table};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Measurement samples per benchmark; the table uses the last `SAMPLES` records of each.
const SAMPLES: usize = 20;

/// Every (iters, elapsed) per case and column; the last [`SAMPLES`] are the measurement (the
/// earlier ones are criterion's warm-up).
type Records = BTreeMap<(String, Column), Vec<(u64, Duration)>>;

fn main() {
    let memory = memory();
    let mut c = Criterion::default()
        .sample_size(SAMPLES)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300))
        .without_plots()
        .configure_from_args();
    let host = open_host().map(Arc::new);
    let records: Arc<Mutex<Records>> = Arc::default();
    let mut names = Vec::new();
    for suite in suites() {
        for case in (suite.build)(host.as_ref()) {
            names.push(case.name.clone());
            let mut group = c.benchmark_group(&case.name);
            for (column, mut run) in case.runners {
                let records = Arc::clone(&records);
                let key = (case.name.clone(), column);
                group.bench_function(column.name(), move |b| {
                    b.iter_custom(|iters| {
                        let elapsed = run(iters);
                        records
                            .lock()
                            .unwrap()
                            .entry(key.clone())
                            .or_default()
                            .push((iters, elapsed));
                        elapsed
                    })
                });
            }
            group.finish();
        }
    }
    c.final_summary();

    let records = records.lock().unwrap();
    let median = |name: &str, column| {
        let all = records.get(&(name.to_owned(), column))?;
        let mut per: Vec<f64> = all[all.len().saturating_sub(SAMPLES)..]
            .iter()
            .filter(|(iters, _)| *iters > 0)
            .map(|(iters, d)| d.as_nanos() as f64 / *iters as f64)
            .collect();
        per.sort_by(f64::total_cmp);
        per.get(per.len() / 2).copied()
    };
    let rows: Vec<Row> = names
        .iter()
        .map(|name| Row {
            name: name.clone(),
            emulation: median(name, Column::Emulation),
            host: median(name, Column::Host),
            baseline: median(name, Column::Baseline),
        })
        .collect();
    println!("\nPer iteration (median of criterion's measurement samples):\n");
    print!("{}", table(&rows));
    if host.is_none() {
        println!("\n(host column skipped: no private IPC namespace could be created)");
    }
    println!("\nMemory held by the emulation (live heap bytes, counting allocator):\n");
    println!("| what | bytes |\n|---|---|");
    for (what, bytes) in memory {
        println!("| {what} | {bytes} |");
    }
}
