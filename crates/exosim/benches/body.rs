//! Speed of the body engine: simulated individuals per second for the mouse
//! IV bolus study over 48 h on one core, integrated by exosim's own BDF
//! (`body::bdf`: variable-order NDF, Jacobian assembled from the network's
//! fluxes, small dense LU), against the same ODE system solved with SciPy's
//! `solve_ivp` (LSODA) by `benches/body_scipy.py`, measured in the same
//! invocation.
//!
//! Each side is timed as the fastest of several batches, since load from
//! other processes only slows a batch down.
//!
//! Run with `cargo bench -p exosim --bench body`. Needs `python3` with NumPy
//! and SciPy for the comparison (`pip install numpy scipy`); without them the
//! Rust figure is printed alone.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use exosim::body::{network, pbpk, tolerances};
use exosim::scenario::load_study;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let study_path = root.join("studies/mouse_iv_bolus.toml");
    let study = load_study(&study_path).unwrap_or_else(|e| panic!("{e}"));
    let arm = &study.arms[0];
    let model = pbpk::build(&study.plan(), arm);
    let tol = tolerances(&study.plan(), arm, &model);
    let solve = || {
        network::simulate(
            &model.network,
            &model.events,
            &study.output_times,
            study.duration,
            &tol,
            |_| {},
        )
        .expect("the reference study solves")
    };

    // Warm up, then time 60 batches of about 50 ms and keep the fastest
    // batch's mean: on a shared machine, other processes only ever slow a
    // batch down, so the fastest is the closest to the engine's own speed.
    // The SciPy side is timed the same way: the fastest of its repeats, each
    // about as long as a batch here.
    let reference = solve();
    let mut runs = 0usize;
    let mut rust_s = f64::INFINITY;
    for _ in 0..60 {
        let start = Instant::now();
        let mut batch = 0usize;
        while batch < 20 || start.elapsed().as_secs_f64() < 0.05 {
            std::hint::black_box(solve());
            batch += 1;
        }
        rust_s = rust_s.min(start.elapsed().as_secs_f64() / batch as f64);
        runs += batch;
    }
    println!(
        "body engine benchmark: {} (arm `{}`)",
        study_path.display(),
        arm.name
    );
    println!(
        "  {} states, {} output times, 48 h simulated, {} BDF steps, {} LU factorisations, {} Newton iterations",
        model.network.len(),
        study.output_times.len(),
        reference.steps,
        reference.factorisations,
        reference.newton_iterations
    );
    println!(
        "  exosim (own BDF, 1 thread):     {:>10.1} individuals/s ({:.3} ms each, fastest of 60 batches, {runs} runs)",
        1.0 / rust_s,
        rust_s * 1e3
    );

    let spec = serde_json::json!({
        "network": model.network,
        "events": model.events,
        "output_times": study.output_times,
        "end": study.duration,
        "rtol": tol.rtol,
        "atol": tol.atol,
        "repeats": 10,
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json_path = dir.path().join("network.json");
    std::fs::write(&json_path, serde_json::to_vec(&spec).expect("serialisable"))
        .expect("writable temp dir");
    let script = root.join("benches/body_scipy.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&json_path)
        .env("OMP_NUM_THREADS", "1")
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "  SciPy comparison skipped: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            println!("  (install with `pip install numpy scipy`)");
            return;
        }
        Err(e) => {
            println!("  SciPy comparison skipped: cannot run python3: {e}");
            return;
        }
    };
    let scipy: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    let scipy_s = scipy["seconds_per_individual"].as_f64().expect("a number");
    println!(
        "  SciPy solve_ivp (LSODA, NumPy):  {:>10.1} individuals/s ({:.3} ms each, fastest of 10 repeats)",
        1.0 / scipy_s,
        scipy_s * 1e3
    );
    println!(
        "  ratio: exosim is {:.0}x SciPy per individual (target: at least 100x)",
        scipy_s / rust_s
    );
    // Timings on a shared machine mean little without its load.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "  load average (1, 5, 15 min): {} on {} cores",
            load.join(", "),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
    println!(
        "  (both sides: the same network, rtol {:e} and per-state atol, segments between events, \
         output times; SciPy gets NumPy fluxes and the analytic Jacobian)",
        tol.rtol
    );

    // The two solutions must agree, or the comparison means nothing.
    let states = scipy["states"].as_array().expect("states");
    let blood: Vec<usize> = {
        let c = &model.classes[0];
        let mut v = vec![c.venous, c.arterial];
        v.extend(&c.vascular);
        v
    };
    let mut worst: f64 = 0.0;
    for (row, ours) in states.iter().zip(reference.states()) {
        let theirs: Vec<f64> = row
            .as_array()
            .expect("row")
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect();
        let (a, b): (f64, f64) = (
            blood.iter().map(|&i| ours[i]).sum(),
            blood.iter().map(|&i| theirs[i]).sum(),
        );
        let total: f64 = ours.iter().sum();
        worst = worst.max((a - b).abs() / total.max(1.0));
    }
    println!("  agreement: blood counts differ by at most {worst:.1e} of the dose");
}
