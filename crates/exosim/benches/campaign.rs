//! What a campaign costs on top of its runs, and how it scales.
//!
//! The campaign: `studies/mouse_iv_bolus.toml` (48 h, one IV bolus in a
//! mouse) with the macrophage capacity and the vesicle diameter drawn at
//! random, recording the liver's share at 1 h and the initial blood
//! half-life. Printed, in one invocation:
//!
//! 1. **Overhead**: per point, a campaign on one thread (set the values
//!    over the study, resolve it, run it, evaluate the observables, journal
//!    and part files) against `run::run` of the resolved study alone on one
//!    thread, measured in the same process. Target: ≤ 10 %.
//! 2. **Shards**: the same points as one process on one thread, and as two
//!    processes of one thread each running one shard at the same time.
//!    Target: ≥ 1.9× on 2 cores.
//! 3. **Memory**: the peak resident memory (VmHWM) of one process running
//!    10³ and 10⁵ points, which should stay flat: rows are streamed to the
//!    journal and the part, not held.
//!
//! Each process run is this binary again (`EXOSIM_BENCH_CHILD` set), so
//! each VmHWM is that of one shard alone. Run with
//! `cargo bench -p exosim --bench campaign`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use exosim::campaign::{Campaign, Shard, runner};

/// Points of the overhead and shard measurements.
const POINTS: u64 = 10_000;
/// The two sizes of the memory measurement.
const MEMORY_POINTS: [u64; 2] = [1_000, 100_000];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The benchmark campaign of `points` random points, written in `dir`.
fn campaign(dir: &Path, points: u64) -> Campaign {
    let text = format!(
        r#"[campaign]
name = "bench"
study = "{study}"
seed = 1

[design]
method = "random"
points = {points}

[[parameters]]
path = "body.mps.capacity"
distribution = "uniform"
low = 0.2
high = 1.0

[[parameters]]
path = "vesicles.sEV.diameter"
distribution = "uniform"
low = "50 nm"
high = "200 nm"

[[observables]]
name = "liver_1h"
kind = "fraction_of_dose"
place = "liver"
time = "1 h"

[[observables]]
name = "half_life"
kind = "initial_half_life"
"#,
        study = repo().join("studies/mouse_iv_bolus.toml").display()
    );
    let path = dir.join(format!("bench-{points}.toml"));
    std::fs::write(&path, text).unwrap();
    Campaign::load(&path).unwrap()
}

/// Peak resident memory of this process, kB.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A child process: one shard of a campaign of `points` on one thread;
/// prints its seconds and peak memory.
fn child(spec: &str) {
    let f: Vec<u64> = spec.split(',').map(|x| x.parse().unwrap()).collect();
    let (points, index, count) = (f[0], f[1], f[2]);
    let dir = tempfile::tempdir().unwrap();
    let c = campaign(dir.path(), points);
    let start = Instant::now();
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| runner::run_shard(&c, Shard { index, count }, dir.path(), |_, _| {}))
        .unwrap();
    println!("{} {}", start.elapsed().as_secs_f64(), peak_kb());
}

/// Runs children at once, one per spec; their (seconds, peak kB).
fn children(specs: &[String]) -> Vec<(f64, u64)> {
    let exe = std::env::current_exe().unwrap();
    let running: Vec<_> = specs
        .iter()
        .map(|s| {
            Command::new(&exe)
                .env("EXOSIM_BENCH_CHILD", s)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    running
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8(out.stdout).unwrap();
            let mut f = text.split_whitespace();
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// Per-point seconds of the engine alone and of the campaign, one thread.
fn overhead() -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let c = campaign(dir.path(), POINTS);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let start = Instant::now();
    let studies: Vec<_> = (0..POINTS).map(|i| c.study(&c.point(i)).unwrap()).collect();
    println!(
        "  making a point's study (values set, resolved): {:.3} ms",
        start.elapsed().as_secs_f64() * 1e3 / POINTS as f64
    );
    let start = Instant::now();
    pool.install(|| {
        for s in &studies {
            std::hint::black_box(exosim::run::run(s, |_| {}).unwrap());
        }
    });
    let engine = start.elapsed().as_secs_f64() / POINTS as f64;
    let start = Instant::now();
    pool.install(|| runner::run_shard(&c, Shard::WHOLE, dir.path(), |_, _| {}))
        .unwrap();
    let whole = start.elapsed().as_secs_f64() / POINTS as f64;
    (engine, whole)
}

fn main() {
    if let Ok(spec) = std::env::var("EXOSIM_BENCH_CHILD") {
        return child(&spec);
    }
    let (engine, whole) = overhead();
    println!("campaign of {POINTS} points of studies/mouse_iv_bolus.toml, 1 thread:");
    println!(
        "  engine alone {:.3} ms/run, campaign {:.3} ms/point: overhead {:+.1} % (target ≤ 10 %)",
        engine * 1e3,
        whole * 1e3,
        100.0 * (whole / engine - 1.0)
    );
    let one = children(&[format!("{POINTS},1,1")]);
    let two = children(&[format!("{POINTS},1,2"), format!("{POINTS},2,2")]);
    let slowest = two.iter().map(|t| t.0).fold(0.0, f64::max);
    println!(
        "  1 process: {:.2} s ({:.0} points/s); 2 processes, 1 shard each: {:.2} s: {:.2}× (target ≥ 1.9×)",
        one[0].0,
        POINTS as f64 / one[0].0,
        slowest,
        one[0].0 / slowest
    );
    let memory: Vec<(u64, u64)> = MEMORY_POINTS
        .iter()
        .map(|&n| (n, children(&[format!("{n},1,1")])[0].1))
        .collect();
    for (n, kb) in &memory {
        println!(
            "  peak memory, {n} points in one process: {:.1} MB",
            *kb as f64 / 1024.0
        );
    }
    println!(
        "  memory ratio {}/{} points: {:.2}",
        memory[1].0,
        memory[0].0,
        memory[1].1 as f64 / memory[0].1 as f64
    );
}
