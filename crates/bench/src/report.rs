//! The comparison table.

use std::fmt::Write;

/// One line of the table: a case and its per-iteration times (nanoseconds) by column.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// The case's name.
    pub name: String,
    /// Emulation, ns per iteration.
    pub emulation: Option<f64>,
    /// Host kernel, ns per iteration.
    pub host: Option<f64>,
    /// Baseline, ns per iteration.
    pub baseline: Option<f64>,
}

/// Nanoseconds as ns, µs or ms; `—` for none.
pub fn format_duration(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns >= 1_000_000.0 => format!("{:.2} ms", ns / 1_000_000.0),
        Some(ns) if ns >= 1000.0 => format!("{:.2} µs", ns / 1000.0),
        Some(ns) => format!("{ns:.1} ns"),
        None => "—".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

/// The Markdown table: each row's three times and the ratios emulation/baseline and
/// host/emulation. Rows with no time at all are left out.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| benchmark | emulation | host kernel | baseline | emulation/baseline | host/emulation |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    for r in rows {
        if r.emulation.is_none() && r.host.is_none() && r.baseline.is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            format_duration(r.emulation),
            format_duration(r.host),
            format_duration(r.baseline),
            ratio(r.emulation, r.baseline),
            ratio(r.host, r.emulation),
        );
    }
    out
}
