//! Speed and memory of the liquid-biopsy screening cohort: yearly screening
//! over 10 years of 10⁶ virtual individuals (growth, shedding, blood
//! kinetics, draw, isolation, assay) with [`ScreeningModel::example`], its
//! threshold set at 95 % specificity on 20 000 healthy individuals.
//! Reports individuals per second on 1 and 2 threads (rayon pools), the peak
//! memory (VmHWM) of runs of 10⁵ and 10⁶ individuals, the 1-thread time on
//! each vector path the processor has (`EXOSIM_SIMD` = scalar, avx2,
//! avx512 in the children, as ratios to the scalar path's, the summaries
//! identical), and compares with the
//! same model vectorised with NumPy by `benches/biopsy_numpy.py`, run in the
//! same invocation (speed, and agreement of the detected share and of the
//! median time and diameter at detection).
//!
//! Every cohort runs in a child process (this binary again, with
//! `EXOSIM_BENCH_N` set), so that each VmHWM is that of one run alone.
//! A run of 10⁶ individuals lasts about a tenth of a second and this
//! machine's speed drifts over minutes, so the ratio to NumPy is the median
//! over [`PAIRS`] pairs of runs, exosim then NumPy back to back, each pair
//! sharing its moment; the 1- and 2-thread rates are the fastest of
//! [`REPEATS`] runs (interference only ever slows a run down).
//!
//! Run with `cargo bench -p exosim --bench biopsy`. Needs `python3` with NumPy
//! for the comparison (`pip install numpy`); without it the Rust figures are
//! printed alone.

use std::process::Command;
use std::time::Instant;

use exosim::biopsy::growth::GrowthLaw;
use exosim::biopsy::measurement::Sampling;
use exosim::biopsy::screening::{
    ScreeningModel, ThresholdRule, resolve_threshold, screen_cohort_parallel,
};
use exosim::simd::SimdPath;
use serde_json::{Value, json};

/// Cohort seed (Rust); NumPy uses its own generator seeded with it.
const SEED: u64 = 20_250_601;
/// Individuals per chunk of the parallel cohort.
const CHUNK: u64 = 4096;
/// The benchmark cohort.
const N_LARGE: u64 = 1_000_000;
/// The smaller cohort of the memory comparison.
const N_SMALL: u64 = 100_000;
/// NumPy cohort: enough for a stable rate and a Monte Carlo error of the
/// detected share of ≤ 0.16 % (it holds the whole cohort in arrays).
const N_NUMPY: u64 = 100_000;
/// Timed runs of the memory and thread runs; the fastest counts.
const REPEATS: usize = 5;
/// Exosim and NumPy runs back to back for the ratio.
const PAIRS: usize = 9;

/// CPU time (user + system, s) of this process so far, from /proc/self/stat
/// (clock ticks of 10 ms): unlike wall time, it does not count the time the
/// machine's other jobs held the cores.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (in parentheses): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The peak resident memory of this process (KiB), from /proc/self/status.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn model_with_threshold(threshold: f64) -> ScreeningModel {
    let mut model = ScreeningModel::example();
    model.threshold = threshold;
    model
}

/// Child mode: screens `EXOSIM_BENCH_N` individuals on a pool of
/// `EXOSIM_BENCH_THREADS` threads, `EXOSIM_BENCH_REPEATS` times, and prints
/// one JSON line (the fastest run's seconds, VmHWM, summary).
fn child(n: u64) {
    let threads: usize = std::env::var("EXOSIM_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let bits = std::env::var("EXOSIM_BENCH_THRESHOLD").expect("threshold bits");
    let threshold = f64::from_bits(u64::from_str_radix(&bits, 16).expect("hex bits"));
    let model = model_with_threshold(threshold);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool");
    let (seconds, cpu_seconds, summary) = pool.install(|| {
        // Warm-up (caches, pool threads), on other individuals' seed.
        std::hint::black_box(screen_cohort_parallel(&model, 10_000, SEED + 1, CHUNK));
        let repeats: usize = std::env::var("EXOSIM_BENCH_REPEATS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let mut best: Option<(f64, Option<f64>, _)> = None;
        for _ in 0..repeats.max(1) {
            let cpu0 = cpu_seconds();
            let start = Instant::now();
            let summary = screen_cohort_parallel(&model, n, SEED, CHUNK);
            let wall = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
            if let Some((_, _, first)) = &best {
                assert_eq!(&summary, first, "the same cohort twice");
            }
            if best.as_ref().is_none_or(|(w, _, _)| wall < *w) {
                best = Some((wall, cpu, summary));
            }
        }
        best.expect("at least one run")
    });
    let out = json!({
        "n": n,
        "threads": threads,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "vm_hwm_kib": vm_hwm_kib(),
        "summary": summary,
    });
    println!("{out}");
}

/// Runs this binary as a child on `n` individuals and `threads` threads,
/// the fastest of `repeats` runs counting.
fn run_child(
    n: u64,
    threads: usize,
    repeats: usize,
    threshold: f64,
) -> (f64, Option<f64>, u64, ScreeningSummaryView) {
    run_child_on(None, n, threads, repeats, threshold)
}

/// [`run_child`] on the vector path `simd` (`EXOSIM_SIMD`; the parent's
/// environment if `None`).
fn run_child_on(
    simd: Option<SimdPath>,
    n: u64,
    threads: usize,
    repeats: usize,
    threshold: f64,
) -> (f64, Option<f64>, u64, ScreeningSummaryView) {
    let exe = std::env::current_exe().expect("the bench binary");
    let mut command = Command::new(exe);
    if let Some(path) = simd {
        command.env("EXOSIM_SIMD", path.name());
    }
    let output = command
        .env("EXOSIM_BENCH_N", n.to_string())
        .env("EXOSIM_BENCH_THREADS", threads.to_string())
        .env("EXOSIM_BENCH_REPEATS", repeats.to_string())
        .env(
            "EXOSIM_BENCH_THRESHOLD",
            format!("{:x}", threshold.to_bits()),
        )
        .output()
        .expect("the bench binary runs");
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8_lossy(&output.stdout);
    let v: Value = serde_json::from_str(line.lines().last().expect("a line")).expect("JSON");
    (
        v["seconds"].as_f64().expect("seconds"),
        v["cpu_seconds"].as_f64(),
        v["vm_hwm_kib"].as_u64().expect("VmHWM"),
        ScreeningSummaryView::from_json(&v["summary"]),
    )
}

/// What the parent reads back of a child's
/// [`ScreeningSummary`](exosim::biopsy::screening::ScreeningSummary).
#[derive(Debug, Clone, PartialEq)]
struct ScreeningSummaryView {
    n: u64,
    detected: u64,
    median_time: Option<f64>,
    median_diameter: Option<f64>,
    mean_time: Option<f64>,
    mean_diameter: Option<f64>,
    tests: u64,
    false_positives: u64,
    json: String,
}

impl ScreeningSummaryView {
    fn from_json(v: &Value) -> ScreeningSummaryView {
        let median = |key: &str| {
            v[key].as_array().and_then(|qs| {
                qs.iter()
                    .find(|q| q[0].as_f64() == Some(0.5))
                    .and_then(|q| q[1].as_f64())
            })
        };
        ScreeningSummaryView {
            n: v["n"].as_u64().expect("n"),
            detected: v["detected"].as_u64().expect("detected"),
            median_time: median("time_quantiles"),
            median_diameter: median("diameter_quantiles"),
            mean_time: v["mean_time"].as_f64(),
            mean_diameter: v["mean_diameter"].as_f64(),
            tests: v["tests"].as_u64().expect("tests"),
            false_positives: v["false_positives"].as_u64().expect("false_positives"),
            json: v.to_string(),
        }
    }
}

/// The model as the NumPy script reads it (SI units, threshold resolved).
fn model_json(m: &ScreeningModel) -> Value {
    let growth = match m.tumour.growth {
        GrowthLaw::Exponential { rate } => json!({"law": "exponential", "rate": rate}),
        GrowthLaw::Logistic { rate, capacity } => {
            json!({"law": "logistic", "rate": rate, "capacity": capacity})
        }
        GrowthLaw::Gompertz { rate, capacity } => {
            json!({"law": "gompertz", "rate": rate, "capacity": capacity})
        }
    };
    let p = &m.protocol;
    json!({
        "seed": SEED,
        "growth": growth,
        "initial_cells": m.tumour.initial_cells,
        "cells_per_m3": m.tumour.cells_per_m3,
        "shedding": {
            "per_live_cell": m.shedding.per_live_cell,
            "per_dying_cell": m.shedding.per_dying_cell,
            "death_rate": m.shedding.death_rate,
            "fraction_to_blood": m.shedding.fraction_to_blood,
        },
        "blood": {
            "background": m.blood.background,
            "elimination_rate": m.blood.elimination_rate,
            "plasma_volume": m.blood.plasma_volume,
        },
        "variability": {
            "background_cv": m.variability.background_cv,
            "shedding_cv": m.variability.shedding_cv,
            "elimination_cv": m.variability.elimination_cv,
        },
        "protocol": {
            "draw": {
                "blood_volume": p.draw.blood_volume,
                "plasma_fraction": p.draw.plasma_fraction,
            },
            "isolation": {
                "recovery_mean": p.isolation.recovery_mean,
                "recovery_cv": p.isolation.recovery_cv,
                "nonvesicle_carry_over": p.isolation.nonvesicle_carry_over,
            },
            "assay": {
                "input_volume": p.assay.input_volume,
                "gain": p.assay.gain,
                "offset": p.assay.offset,
                "cv": p.assay.cv,
                "lod": p.assay.lod,
                "nonvesicle_weight": p.assay.nonvesicle_weight,
                "replicates": p.assay.replicates,
            },
            "sampling": match p.sampling {
                Sampling::Counts => "counts",
                Sampling::Continuous => "continuous",
            },
            "lipoprotein_concentration": p.lipoprotein_concentration,
        },
        "threshold": m.threshold,
        "interval": m.interval,
        "duration": m.duration,
        "max_step": m.max_step,
        "deterministic": m.deterministic,
    })
}

/// The cohort (1 thread, [`N_LARGE`] individuals) on each vector path this
/// processor has, as times and ratios to the scalar path's: [`REPEATS`]
/// rounds, each path once per round in turn (so the machine's drift falls
/// on every path alike), the fastest run of each path counting. Every run's
/// summary must be `reference`'s (the paths give the same bits).
fn vector_paths(model: &ScreeningModel, reference: &ScreeningSummaryView) {
    let paths = SimdPath::available();
    let mut best = vec![f64::INFINITY; paths.len()];
    for _ in 0..REPEATS {
        for (b, &path) in best.iter_mut().zip(&paths) {
            let (s, _, _, summary) = run_child_on(Some(path), N_LARGE, 1, 1, model.threshold);
            assert_eq!(summary.json, reference.json, "the same summary on {path}");
            *b = b.min(s);
        }
    }
    println!(
        "  per vector path (EXOSIM_SIMD; 1 thread, {N_LARGE} individuals, fastest of {REPEATS} \
         rounds of the paths in turn; summary identical; the default here: {}):",
        SimdPath::current()
    );
    for (&s, path) in best.iter().zip(&paths) {
        println!(
            "    {:<7} {s:.3} s ({:>10.0} individuals/s): {:.2} of the scalar path's time, \
             {:.2}x its speed",
            path.name(),
            N_LARGE as f64 / s,
            s / best[0],
            best[0] / s
        );
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The example model with its threshold, and the benchmark's header.
fn model_and_header() -> ScreeningModel {
    let mut model = ScreeningModel::example();
    model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 20_000, SEED);
    let per_ml = 1e6;
    println!(
        "liquid-biopsy cohort benchmark: ScreeningModel::example(), yearly tests for 10 years"
    );
    println!(
        "  threshold {:.4e} /mL (95 % specificity on 20 000 healthy; LOD {:.4e} /mL), chunks of {CHUNK}",
        model.threshold / per_ml,
        model.protocol.assay.lod / per_ml
    );

    println!(
        "  binary: {}",
        std::env::current_exe().map_or_else(|e| e.to_string(), |p| p.display().to_string())
    );
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "  machine: {cpus} CPUs available, load average {} before the runs",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    model
}

/// The cohort on 1 and 2 threads and on each vector path, each in a
/// child process; returns the 1-thread summary.
fn exosim_runs(model: &ScreeningModel) -> ScreeningSummaryView {
    let year = exosim::biopsy::screening::YEAR;
    // Each cohort in a child process: its own VmHWM and timing.
    let (s_small, _, hwm_small, _) = run_child(N_SMALL, 1, 1, model.threshold);
    let (s1, _, hwm1, sum1) = run_child(N_LARGE, 1, REPEATS, model.threshold);
    let (s2, _, hwm2, sum2) = run_child(N_LARGE, 2, REPEATS, model.threshold);
    assert_eq!(
        sum1.json, sum2.json,
        "the summary must not depend on the thread count"
    );
    let rate1 = N_LARGE as f64 / s1;
    let rate2 = N_LARGE as f64 / s2;
    println!(
        "  exosim, 1 thread : {rate1:>10.0} individuals/s ({:.3} s for {N_LARGE} individuals, fastest of {REPEATS})",
        s1
    );
    println!(
        "  exosim, 2 threads: {rate2:>10.0} individuals/s ({:.2} s; speed-up {:.2}x; summary identical)",
        s2,
        s1 / s2
    );
    println!(
        "  peak memory (VmHWM of the whole process): {:.1} MiB for {N_SMALL} individuals \
         ({:.0} individuals/s), {:.1} MiB for {N_LARGE} (1 thread), {:.1} MiB for {N_LARGE} (2 threads)",
        mib(hwm_small),
        N_SMALL as f64 / s_small,
        mib(hwm1),
        mib(hwm2)
    );
    vector_paths(model, &sum1);
    println!(
        "  exosim: detected {:.4} ({} of {}), median time {:.3} y, median diameter {:.2} mm",
        sum1.detected as f64 / sum1.n as f64,
        sum1.detected,
        sum1.n,
        sum1.median_time.unwrap_or(f64::NAN) / year,
        sum1.median_diameter.unwrap_or(f64::NAN) * 1e3
    );

    sum1
}

/// exosim and NumPy back to back, [`PAIRS`] times, with the ratios;
/// NumPy's last run, or `None` when NumPy cannot run (said).
fn numpy_pairs(model: &ScreeningModel, sum1: &ScreeningSummaryView) -> Option<Value> {
    // The same model in NumPy.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json_path = dir.path().join("params.json");
    std::fs::write(
        &json_path,
        serde_json::to_vec_pretty(&model_json(model)).expect("serialisable"),
    )
    .expect("writable temp dir");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("benches/biopsy_numpy.py");
    let numpy = || -> Result<Value, String> {
        let output = Command::new("python3")
            .arg(&script)
            .arg(&json_path)
            .arg(N_NUMPY.to_string())
            .env("OMP_NUM_THREADS", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .env("MKL_NUM_THREADS", "1")
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string());
        }
        serde_json::from_slice(&output.stdout).map_err(|e| format!("the script's JSON: {e}"))
    };
    // Exosim and NumPy back to back, PAIRS times: the machine's speed
    // drifts over minutes, and each pair shares its moment.
    let mut ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    let mut np_rates = Vec::new();
    let mut rs_rates = Vec::new();
    let mut np: Option<Value> = None;
    for _ in 0..PAIRS {
        let (s, cpu, _, summary) = run_child(N_LARGE, 1, 1, model.threshold);
        assert_eq!(summary.json, sum1.json, "the same cohort twice");
        let run = match numpy() {
            Ok(v) => v,
            Err(e) => {
                println!("  NumPy comparison skipped: {e}");
                println!("  (install with `pip install numpy`)");
                return None;
            }
        };
        let np_rate = run["individuals_per_second"].as_f64().expect("a rate");
        ratios.push(N_LARGE as f64 / s / np_rate);
        rs_rates.push(N_LARGE as f64 / s);
        np_rates.push(np_rate);
        if let (Some(c), Some(c_np)) = (cpu, run["cpu_seconds"].as_f64()) {
            let n_np = run["n"].as_f64().unwrap_or(f64::NAN);
            cpu_ratios.push((N_LARGE as f64 / c) / (n_np / c_np));
        }
        np = Some(run);
    }
    let np = np.expect("at least one pair");
    let spread = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let (np_lo, np_mid, np_hi) = spread(&np_rates);
    let (rs_lo, rs_mid, rs_hi) = spread(&rs_rates);
    let (r_lo, r_mid, r_hi) = spread(&ratios);
    println!(
        "  {PAIRS} pairs back to back, exosim (1 thread, {N_LARGE} individuals) then NumPy (vectorised, 1 thread, \
         {N_NUMPY} individuals, enough for a rate; peak RSS {:.1} MiB):",
        np["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0
    );
    println!(
        "    exosim {rs_mid:.0} individuals/s (range {rs_lo:.0}–{rs_hi:.0}); NumPy {np_mid:.0} (range {np_lo:.0}–{np_hi:.0})"
    );
    println!(
        "  ratio: exosim (1 thread) is {r_mid:.1}x NumPy per individual, the median of the pairs' ratios \
         (range {r_lo:.1}–{r_hi:.1}x; target: at least 10x)"
    );
    // On a loaded machine wall time counts other jobs; CPU time does not.
    if cpu_ratios.len() == PAIRS {
        let (c_lo, c_mid, c_hi) = spread(&cpu_ratios);
        println!(
            "  per CPU second (1 thread, 10 ms ticks): median ratio {c_mid:.1}x (range {c_lo:.1}–{c_hi:.1}x)"
        );
    }

    Some(np)
}

/// The two implementations must agree within Monte Carlo error.
fn cross_check(model: &ScreeningModel, sum1: &ScreeningSummaryView, np: &Value) {
    let year = exosim::biopsy::screening::YEAR;
    let n_np = np["n"].as_f64().expect("n");
    let p_np = np["detected_share"].as_f64().expect("share");
    let p_rs = sum1.detected as f64 / sum1.n as f64;
    let se = (p_rs * (1.0 - p_rs) / sum1.n as f64 + p_np * (1.0 - p_np) / n_np).sqrt();
    let share_ok = (p_rs - p_np).abs() <= 3.0 * se.max(0.5 / n_np);
    println!(
        "  cross-check, detected share: exosim {p_rs:.4}, NumPy {p_np:.4} (difference {:+.4}, 3 s.e. {:.4}): {}",
        p_rs - p_np,
        3.0 * se,
        if share_ok { "agree" } else { "MISMATCH" }
    );
    // Medians: NumPy's exact median with its 95 % order-statistic interval;
    // exosim's comes from a histogram (bins of duration/1000 in time, 60 per
    // decade in diameter), so one bin is added to the tolerance.
    let scale_n = (n_np / sum1.n as f64).sqrt();
    let check = |name: &str, unit: &str, factor: f64, ours: Option<f64>, key: &str, bin: f64| {
        let theirs = np[key].as_f64();
        let interval = &np[format!("{key}_interval")];
        let (lo, hi) = (
            interval[0].as_f64().unwrap_or(f64::NAN),
            interval[1].as_f64().unwrap_or(f64::NAN),
        );
        let (Some(a), Some(b)) = (ours, theirs) else {
            println!(
                "  cross-check, {name}: exosim {ours:?}, NumPy {theirs:?}: nothing to compare"
            );
            return true;
        };
        let se_np = (hi - lo) / (2.0 * 1.96);
        let se_rs = se_np * scale_n;
        let tol = 3.0 * (se_np * se_np + se_rs * se_rs).sqrt() + bin;
        let ok = (a - b).abs() <= tol;
        println!(
            "  cross-check, {name}: exosim {:.4} {unit}, NumPy {:.4} {unit} (95 % interval {:.4}–{:.4}; tolerance ±{:.4}): {}",
            a * factor,
            b * factor,
            lo * factor,
            hi * factor,
            tol * factor,
            if ok { "agree" } else { "MISMATCH" }
        );
        ok
    };
    let time_ok = check(
        "median time at detection",
        "y",
        1.0 / year,
        sum1.median_time,
        "median_time",
        model.duration / 1000.0,
    );
    let diameter_ok = check(
        "median diameter at detection",
        "mm",
        1e3,
        sum1.median_diameter,
        "median_diameter",
        sum1.median_diameter.unwrap_or(0.0) * (10f64.powf(1.0 / 60.0) - 1.0),
    );
    // Means: exosim's are exact (sums in fixed point); standard errors from NumPy's spread.
    let check_mean = |name: &str, unit: &str, factor: f64, ours: Option<f64>, key: &str| {
        let (Some(a), Some(b), Some(sd)) = (
            ours,
            np[format!("mean_{key}")].as_f64(),
            np[format!("std_{key}")].as_f64(),
        ) else {
            println!("  cross-check, {name}: nothing to compare");
            return true;
        };
        let se = sd * (1.0 / n_np + 1.0 / sum1.detected.max(1) as f64).sqrt();
        let ok = (a - b).abs() <= 3.0 * se;
        println!(
            "  cross-check, {name}: exosim {:.4} {unit}, NumPy {:.4} {unit} (difference {:+.4}, 3 s.e. {:.4}): {}",
            a * factor,
            b * factor,
            (a - b) * factor,
            3.0 * se * factor,
            if ok { "agree" } else { "MISMATCH" }
        );
        ok
    };
    let mean_time_ok = check_mean(
        "mean time at detection",
        "y",
        1.0 / year,
        sum1.mean_time,
        "time",
    );
    let mean_diameter_ok = check_mean(
        "mean diameter at detection",
        "mm",
        1e3,
        sum1.mean_diameter,
        "diameter",
    );
    // False positives per test (positives the background alone would give).
    let fp_rs = sum1.false_positives as f64 / sum1.tests as f64;
    let np_tests = np["tests"].as_f64().expect("tests");
    let fp_np = np["false_positives"].as_f64().expect("false positives") / np_tests;
    let se = (fp_rs * (1.0 - fp_rs) / sum1.tests as f64 + fp_np * (1.0 - fp_np) / np_tests).sqrt();
    let fp_ok = (fp_rs - fp_np).abs() <= 3.0 * se.max(0.5 / np_tests);
    println!(
        "  cross-check, false positives per test: exosim {fp_rs:.4}, NumPy {fp_np:.4} (difference {:+.4}, 3 s.e. {:.4}): {}",
        fp_rs - fp_np,
        3.0 * se,
        if fp_ok { "agree" } else { "MISMATCH" }
    );
    if !(share_ok && time_ok && diameter_ok && mean_time_ok && mean_diameter_ok && fp_ok) {
        println!("  WARNING: the two implementations disagree beyond Monte Carlo error");
    }
}

fn main() {
    if let Some(n) = std::env::var("EXOSIM_BENCH_N")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        child(n as u64);
        return;
    }

    let model = model_and_header();
    let sum1 = exosim_runs(&model);
    if let Some(np) = numpy_pairs(&model, &sum1) {
        cross_check(&model, &sum1, &np);
    }
}
