//! Simulated individuals per second for the mouse IV bolus study
//! (`studies/mouse_iv_bolus.toml`, 48 h, 578 output times) by exosim and by
//! libRoadRunner on exosim's SBML export of the same arm, with the same
//! tolerances, on one core, in one invocation.
//!
//! - exosim: `body::simulate_arm` per individual (build the arm's network,
//!   integrate it with exosim's BDF, turn the states into per-place
//!   counts: what `exosim run` does per arm), in this bench binary;
//! - libRoadRunner 2.10 (CVODE): `benches/sbml_roadrunner.py` loads the
//!   exported model once, then `resetAll()` + `simulate(times=…)` per
//!   individual, the absolute tolerance given per species (see
//!   `scripts/sbml_check.py`).
//!
//! Each is timed for at least a second, at the study's own tolerances
//! (rtol 1e-8, absolute 1e-12 of the dose) and at the cross-check's
//! (rtol 1e-10, 1e-14); the largest difference between the two
//! trajectories, relative to each species' peak, is printed with them, as
//! is the load average.
//!
//! - exosim through its Python package: the same script, when the exosim
//!   package is importable, runs `study.run(threads=1)` per individual (the
//!   whole run of the study, time series and summary included, no files).
//!
//! Run with `cargo bench -p exosim --bench sbml`. Needs `python3` with
//! libroadrunner (`python3 -m pip install libroadrunner`); without it the
//! libRoadRunner line says it was skipped. `EXOSIM_BENCH_PYTHON` names
//! another interpreter (a virtual environment with the exosim package:
//! `pip install ./python libroadrunner`); without the package the line of
//! the package says it was skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use exosim::body::{network, pbpk, simulate_arm, tolerances};
use exosim::scenario::{Study, load_study};

/// Individuals per second of `simulate_arm`, over at least a second.
fn exosim_rate(study: &Study) -> (f64, usize) {
    let plan = study.plan();
    let start = Instant::now();
    let mut runs = 0;
    while runs < 20 || start.elapsed().as_secs_f64() < 1.0 {
        let course = simulate_arm(&plan, &plan.arms[0], |_| {}).expect("the study solves");
        std::hint::black_box(course);
        runs += 1;
    }
    (runs as f64 / start.elapsed().as_secs_f64(), runs)
}

/// The arm's states at the output times, by exosim.
fn exosim_states(study: &Study) -> Vec<Vec<f64>> {
    let plan = study.plan();
    let arm = &plan.arms[0];
    let model = pbpk::build(&plan, arm);
    let tol = tolerances(&plan, arm, &model);
    network::simulate(
        &model.network,
        &model.events,
        plan.output_times,
        plan.duration,
        &tol,
        |_| {},
    )
    .expect("the study solves")
    .states()
    .map(<[f64]>::to_vec)
    .collect()
}

/// What `benches/sbml_roadrunner.py` measured.
struct Measured {
    /// libRoadRunner's individuals/s, runs and load (and compile) seconds.
    rate: f64,
    runs: u64,
    load: f64,
    /// The largest difference from exosim relative to each species' peak.
    worst: f64,
    /// exosim through the Python package: individuals/s and runs, when
    /// the interpreter has the package.
    package: Option<(f64, u64)>,
}

/// libRoadRunner on the exported model, and exosim's Python package on
/// the study, with the same tolerances.
fn roadrunner(root: &Path, file: &Path, study: &Study) -> Result<Measured, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let m = &exosim::sbml::export(study).map_err(|e| e.to_string())?[0];
    let sbml = dir.path().join("model.xml");
    std::fs::write(&sbml, &m.xml).map_err(|e| e.to_string())?;
    let out = dir.path().join("roadrunner.csv");
    let dose: f64 = study.arms[0].doses.iter().map(|d| d.amount).sum();
    let job = serde_json::json!({
        "sbml": sbml, "times": study.output_times, "species": m.species,
        "rtol": study.solver.rtol, "atol": study.solver.atol_fraction * dose,
        "min_seconds": 1.0, "out": out,
        "study": file, "atol_fraction": study.solver.atol_fraction,
    });
    let job_file = dir.path().join("job.json");
    std::fs::write(&job_file, job.to_string()).map_err(|e| e.to_string())?;
    let python = std::env::var("EXOSIM_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let o = Command::new(&python)
        .arg(root.join("benches/sbml_roadrunner.py"))
        .arg(&job_file)
        .output()
        .map_err(|e| format!("{python} cannot be run ({e})"))?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    let r: serde_json::Value =
        serde_json::from_slice(&o.stdout).map_err(|e| format!("unreadable output: {e}"))?;
    let theirs: Vec<Vec<f64>> = std::fs::read_to_string(&out)
        .map_err(|e| e.to_string())?
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|x| x.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let ours = exosim_states(study);
    let mut worst: f64 = 0.0;
    for j in 0..ours[0].len() {
        let peak = ours.iter().map(|r| r[j].abs()).fold(0.0, f64::max);
        for (a, b) in ours.iter().zip(&theirs) {
            if peak > 0.0 {
                worst = worst.max((a[j] - b[j]).abs() / peak);
            }
        }
    }
    Ok(Measured {
        rate: r["individuals_per_s"].as_f64().unwrap_or(f64::NAN),
        runs: r["runs"].as_u64().unwrap_or(0),
        load: r["load_s"].as_f64().unwrap_or(f64::NAN),
        worst,
        package: r["package_individuals_per_s"]
            .as_f64()
            .map(|rate| (rate, r["package_runs"].as_u64().unwrap_or(0))),
    })
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join("studies/mouse_iv_bolus.toml");
    let base = load_study(&file).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "mouse_iv_bolus, one arm, {} output times over {} h; load average {}",
        base.output_times.len(),
        base.duration / 3600.0,
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
            .unwrap_or_else(|_| "unknown".into())
    );
    for (rtol, atol_fraction) in [
        (base.solver.rtol, base.solver.atol_fraction),
        (1e-10, 1e-14),
    ] {
        let mut study = base.clone();
        study.solver.rtol = rtol;
        study.solver.atol_fraction = atol_fraction;
        println!("rtol {rtol:e}, absolute tolerance {atol_fraction:e} of the dose:");
        let (rate, runs) = exosim_rate(&study);
        println!(
            "  exosim (body::simulate_arm, own BDF)   {rate:>10.1} individuals/s ({runs} runs)"
        );
        match roadrunner(&root, &file, &study) {
            Ok(m) => {
                let Measured {
                    rate,
                    runs,
                    load,
                    worst,
                    package,
                } = m;
                println!(
                    "  libRoadRunner (resetAll + simulate)    {rate:>10.1} individuals/s ({runs} runs; \
                     load and compile {load:.2} s once); largest difference {worst:.1e} of a species' peak"
                );
                match package {
                    Some((rate, runs)) => println!(
                        "  exosim Python package (study.run)      {rate:>10.1} individuals/s ({runs} runs)"
                    ),
                    None => println!(
                        "  exosim Python package skipped: not importable by the interpreter \
                         (EXOSIM_BENCH_PYTHON names one that has it)"
                    ),
                }
            }
            Err(why) => println!("  libRoadRunner skipped: {why}"),
        }
    }
}
