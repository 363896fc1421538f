//! Medians, spreads and the one table the suite prints.

use std::time::Duration;

/// Paired runs of a figure and its floor (run alternately, so a noisy moment hits both).
#[derive(Default)]
pub struct Paired {
    pub core: Vec<Duration>,
    pub floor: Vec<Duration>,
}

impl Paired {
    pub fn push(&mut self, core: Duration, floor: Duration) {
        self.core.push(core);
        self.floor.push(floor);
    }

    /// The median of the per-run ratios core / floor, and their lowest and highest.
    pub fn ratio(&self) -> (f64, f64, f64) {
        let mut r: Vec<f64> = self
            .core
            .iter()
            .zip(&self.floor)
            .map(|(c, f)| c.as_secs_f64() / f.as_secs_f64().max(1e-12))
            .collect();
        spread(&mut r)
    }
}

/// Median, lowest and highest of `v` (sorted in place; zeros when empty).
pub fn spread(v: &mut [f64]) -> (f64, f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// Median and spread of durations as "m ms (lo–hi)".
pub fn ms_spread(v: &[Duration]) -> String {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let (m, lo, hi) = spread(&mut ms);
    format!("{} ms ({}–{})", fig(m), fig(lo), fig(hi))
}

/// A number with about three significant digits.
pub fn fig(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// One row of the table.
pub struct Row {
    pub what: String,
    pub measured: String,
    pub floor: String,
    pub ratio: String,
    pub budget: String,
    pub met: Option<bool>,
}

/// The table, as Markdown (BENCHMARKS.md takes it as printed).
pub fn print(rows: &[Row]) {
    println!();
    println!(
        "| benchmark | measured: median (spread) | floor in the same run | ratio: median (spread) | budget | met |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.what, r.measured, r.floor, r.ratio, r.budget, met
        );
    }
}
