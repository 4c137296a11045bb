//! Speed of the body engine: simulated individuals per second for the mouse
//! IV bolus study over 48 h on one core, integrated by exosim's own BDF
//! (`body::bdf`: variable-order NDF, Jacobian assembled from the network's
//! fluxes, small dense LU), against the same network solved in the same
//! invocation by
//!
//! - diffsol's BDF (diffsol 0.18, nalgebra backend, its dense LU
//!   `NalgebraLU`, the Jacobian built from the network's Jacobian-vector
//!   products), with the same tolerances, the same step-growth bounds as
//!   exosim's BDF (1.1 to 3), the same segments between dosing events and
//!   the same output times, read from diffsol's own interpolant: the
//!   measurement behind exosim having its own solver;
//! - SciPy's `solve_ivp` (LSODA) through `benches/body_scipy.py`.
//!
//! The ratio own BDF / diffsol is the median of [`PAIRS`] back-to-back pairs
//! (one batch of each, the order alternating from pair to pair): the
//! machine's speed drifts over minutes, so figures taken a minute apart do
//! not make a fair ratio. Each batch solves the study at least 20 times and
//! for at least 100 ms. The load average is printed with the figures.
//!
//! Run with `cargo bench -p exosim --bench body --features diffsol`. Needs `python3` with NumPy
//! and SciPy for the SciPy comparison (`pip install numpy scipy`); without
//! them that line is skipped.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use diffsol::{NalgebraLU, NalgebraMat, OdeBuilder, OdeSolverMethod, OdeSolverStopReason, Vector};
use exosim::body::network::{Event, EventKind, Network, Tolerances};
use exosim::body::{network, pbpk, tolerances};
use exosim::scenario::load_study;

/// Back-to-back pairs (own BDF, diffsol) whose median ratio is reported.
const PAIRS: usize = 9;

/// The states at the output times and the solver's work.
struct DiffsolRun {
    states: Vec<Vec<f64>>,
    steps: usize,
    rhs_evaluations: usize,
    jac_mul_evaluations: usize,
    linear_solver_setups: usize,
    newton_iterations: usize,
}

/// The network through its events with diffsol's BDF, as
/// `network::simulate` does with exosim's: segments between event times,
/// events applied at a segment's end, outputs strictly inside a segment
/// interpolated and outputs at its end taken after its events.
fn diffsol_simulate(
    net: &Network,
    events: &[Event],
    output_times: &[f64],
    end: f64,
    tol: &Tolerances,
) -> DiffsolRun {
    let n = net.len();
    let mut events: Vec<Event> = events.to_vec();
    events.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut y = vec![0.0; n];
    let mut inputs = vec![0.0; n];
    let mut rate_scale = vec![0.0_f64; n];
    let mut run = DiffsolRun {
        states: Vec::with_capacity(output_times.len()),
        steps: 0,
        rhs_evaluations: 0,
        jac_mul_evaluations: 0,
        linear_solver_setups: 0,
        newton_iterations: 0,
    };
    let mut apply = |y: &mut [f64], inputs: &mut [f64], e: &Event| match e.kind {
        EventKind::Bolus { state, amount } => y[state] += amount,
        EventKind::Input { state, delta } => {
            rate_scale[state] = rate_scale[state].max(delta.abs());
            inputs[state] += delta;
            if inputs[state].abs() <= 1e-12 * rate_scale[state] {
                inputs[state] = 0.0;
            }
        }
    };
    let (mut next_event, mut next_out, mut t) = (0, 0, 0.0);
    while next_event < events.len() && events[next_event].time <= 0.0 {
        apply(&mut y, &mut inputs, &events[next_event]);
        next_event += 1;
    }
    while next_out < output_times.len() && output_times[next_out] <= 0.0 {
        run.states.push(y.clone());
        next_out += 1;
    }
    let mut boundaries: Vec<f64> = events
        .iter()
        .map(|e| e.time)
        .filter(|&s| s > 0.0 && s < end)
        .collect();
    boundaries.push(end);
    boundaries.dedup();
    for &stop in &boundaries {
        let rhs_calls = Cell::new(0usize);
        let jac_calls = Cell::new(0usize);
        let seg_inputs = inputs.clone();
        let y0 = y.clone();
        let mut problem = OdeBuilder::<NalgebraMat<f64>>::new()
            .t0(t)
            .rtol(tol.rtol)
            .atol(tol.atol.iter().copied())
            .rhs_implicit(
                |x: &[f64], _p: &[f64], _t: f64, dy: &mut [f64]| {
                    rhs_calls.set(rhs_calls.get() + 1);
                    net.rhs(x, &seg_inputs, dy)
                },
                |x: &[f64], _p: &[f64], _t: f64, v: &[f64], jv: &mut [f64]| {
                    jac_calls.set(jac_calls.get() + 1);
                    net.jac_mul(x, v, jv)
                },
            )
            .init(
                |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&y0),
                n,
            )
            .build()
            .expect("diffsol builds the problem");
        // exosim's BDF keeps its step unless it may grow by 10 %, and grows
        // it at most 3-fold; diffsol gets the same bounds.
        problem.ode_options.min_timestep_growth = Some(1.1);
        problem.ode_options.max_timestep_growth = Some(3.0);
        let mut solver = problem
            .bdf::<NalgebraLU<f64>>()
            .expect("diffsol starts its BDF");
        solver.set_stop_time(stop).expect("a stop time ahead");
        loop {
            let reason = solver.step().expect("diffsol steps");
            let now = solver.state().t;
            while next_out < output_times.len()
                && output_times[next_out] < stop
                && output_times[next_out] <= now
            {
                let v = solver
                    .interpolate(output_times[next_out])
                    .expect("an output inside the last step");
                run.states.push(v.clone_as_vec());
                next_out += 1;
            }
            if let OdeSolverStopReason::TstopReached = reason {
                break;
            }
        }
        let stats = solver.get_statistics();
        run.steps += stats.number_of_steps;
        run.linear_solver_setups += stats.number_of_linear_solver_setups;
        run.newton_iterations += stats.number_of_nonlinear_solver_iterations;
        y = solver.state().y.clone_as_vec();
        drop(solver);
        drop(problem);
        run.rhs_evaluations += rhs_calls.get();
        run.jac_mul_evaluations += jac_calls.get();
        t = stop;
        while next_event < events.len() && events[next_event].time <= t {
            apply(&mut y, &mut inputs, &events[next_event]);
            next_event += 1;
        }
        while next_out < output_times.len() && output_times[next_out] <= t {
            run.states.push(y.clone());
            next_out += 1;
        }
    }
    run
}

/// Seconds per call of `f`, from one batch of at least 20 calls and 100 ms.
fn batch(f: &mut dyn FnMut()) -> (f64, usize) {
    let start = Instant::now();
    let mut calls = 0usize;
    while calls < 20 || start.elapsed().as_secs_f64() < 0.1 {
        f();
        calls += 1;
    }
    (start.elapsed().as_secs_f64() / calls as f64, calls)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |load| {
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
}

/// The reference arm, built once: its network, events and tolerances.
struct Reference {
    root: PathBuf,
    study_path: PathBuf,
    study: exosim::scenario::Study,
    model: pbpk::ArmModel,
    tol: Tolerances,
}

impl Reference {
    fn load() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let study_path = root.join("studies/mouse_iv_bolus.toml");
        let study = load_study(&study_path).unwrap_or_else(|e| panic!("{e}"));
        let model = pbpk::build(&study.plan(), &study.arms[0]);
        let tol = tolerances(&study.plan(), &study.arms[0], &model);
        Reference {
            root,
            study_path,
            study,
            model,
            tol,
        }
    }

    fn solve(&self) -> network::Trajectory {
        network::simulate(
            &self.model.network,
            &self.model.events,
            &self.study.output_times,
            self.study.duration,
            &self.tol,
            |_| {},
        )
        .expect("the reference study solves")
    }

    fn solve_diffsol(&self) -> DiffsolRun {
        diffsol_simulate(
            &self.model.network,
            &self.model.events,
            &self.study.output_times,
            self.study.duration,
            &self.tol,
        )
    }

    /// The state indices of blood (venous, arterial, organ beds).
    fn blood(&self) -> Vec<usize> {
        let c = &self.model.classes[0];
        let mut v = vec![c.venous, c.arterial];
        v.extend(&c.vascular);
        v
    }
}

/// Seconds per individual of both solvers: medians of back-to-back batches.
struct Timing {
    own_s: f64,
    diffsol_s: f64,
    own_runs: usize,
    diffsol_runs: usize,
    ratios: Vec<f64>,
    load_before: String,
    load_after: String,
}

/// Pairs of batches back to back, the order alternating, so that both
/// sides of a pair see the same machine (both warmed up first).
fn time_pairs(r: &Reference) -> Timing {
    let load_before = load_average();
    let (mut own_runs, mut diffsol_runs) = (0usize, 0usize);
    let (mut own_times, mut diffsol_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let own_batch = || batch(&mut || drop(std::hint::black_box(r.solve())));
    let diffsol_batch = || batch(&mut || drop(std::hint::black_box(r.solve_diffsol())));
    for pair in 0..PAIRS {
        let ((own, a), (other, b)) = if pair % 2 == 0 {
            let own = own_batch();
            (own, diffsol_batch())
        } else {
            let other = diffsol_batch();
            (own_batch(), other)
        };
        own_runs += a;
        diffsol_runs += b;
        own_times.push(own);
        diffsol_times.push(other);
        ratios.push(other / own);
    }
    Timing {
        own_s: median(own_times),
        diffsol_s: median(diffsol_times),
        own_runs,
        diffsol_runs,
        ratios,
        load_before,
        load_after: load_average(),
    }
}

fn print_timing(r: &Reference, t: &Timing, reference: &network::Trajectory, theirs: &DiffsolRun) {
    let (model, tol) = (&r.model, &r.tol);
    println!(
        "body engine benchmark: {} (arm `{}`)",
        r.study_path.display(),
        r.study.arms[0].name
    );
    println!(
        "  {} states, {} output times, 48 h simulated, rtol {:e} and per-state atol, {} segments",
        model.network.len(),
        r.study.output_times.len(),
        tol.rtol,
        model.events.iter().filter(|e| e.time > 0.0).count() + 1
    );
    println!(
        "  exosim (own BDF, 1 thread):  {:>9.1} individuals/s ({:.3} ms each, median of {PAIRS} batches, {} runs); \
         {} steps, {} RHS evaluations, {} Jacobian evaluations, {} LU factorisations, {} Newton iterations",
        1.0 / t.own_s,
        t.own_s * 1e3,
        t.own_runs,
        reference.steps,
        reference.rhs_evaluations,
        reference.jacobians,
        reference.factorisations,
        reference.newton_iterations
    );
    println!(
        "  diffsol 0.18 BDF (NalgebraLU): {:>7.1} individuals/s ({:.3} ms each, median of {PAIRS} batches, {} runs); \
         {} steps, {} RHS evaluations, {} Jacobian-vector products ({:.1} Jacobians of {} columns), {} LU setups, {} Newton iterations",
        1.0 / t.diffsol_s,
        t.diffsol_s * 1e3,
        t.diffsol_runs,
        theirs.steps,
        theirs.rhs_evaluations,
        theirs.jac_mul_evaluations,
        theirs.jac_mul_evaluations as f64 / model.network.len() as f64,
        model.network.len(),
        theirs.linear_solver_setups,
        theirs.newton_iterations
    );
    let ratio = median(t.ratios.clone());
    let (lo, hi) = t
        .ratios
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &r| {
            (lo.min(r), hi.max(r))
        });
    println!(
        "  ratio diffsol / own BDF time per individual: {ratio:.2}x (median of {PAIRS} back-to-back pairs, range {lo:.2}-{hi:.2}; \
         the own BDF is kept where this is at least 1.5x)"
    );
    println!(
        "  load average (1, 5, 15 min): {} before, {} after, on {} cores",
        t.load_before,
        t.load_after,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

/// The two solutions must agree, or the comparison means nothing.
fn print_diffsol_agreement(r: &Reference, reference: &network::Trajectory, theirs: &DiffsolRun) {
    let blood = r.blood();
    let (mut worst_rel, mut worst_dose): (f64, f64) = (0.0, 0.0);
    assert_eq!(theirs.states.len(), reference.times.len(), "same outputs");
    for (ours, other) in reference.states().zip(&theirs.states) {
        // Vesicles are conserved (cleared ones included): the state's total
        // is the dose given so far.
        let dose: f64 = ours.iter().sum();
        let a: f64 = blood.iter().map(|&i| ours[i]).sum();
        let b: f64 = blood.iter().map(|&i| other[i]).sum();
        worst_dose = worst_dose.max((a - b).abs() / dose.max(1.0));
        if a.abs() > 1e-6 * dose {
            worst_rel = worst_rel.max((a - b).abs() / a.abs());
        }
    }
    println!(
        "  agreement with diffsol: blood differs by at most {worst_rel:.1e} of its value (outputs where blood holds \
         more than 1e-6 of the dose) and {worst_dose:.1e} of the dose"
    );
}

/// SciPy's answer for the same network (`benches/body_scipy.py`), or why
/// there is none.
fn run_scipy(r: &Reference) -> Result<serde_json::Value, String> {
    let spec = serde_json::json!({
        "network": r.model.network,
        "events": r.model.events,
        "output_times": r.study.output_times,
        "end": r.study.duration,
        "rtol": r.tol.rtol,
        "atol": r.tol.atol,
        "repeats": 10,
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json_path = dir.path().join("network.json");
    std::fs::write(&json_path, serde_json::to_vec(&spec).expect("serialisable"))
        .expect("writable temp dir");
    let output = Command::new("python3")
        .arg(r.root.join("benches/body_scipy.py"))
        .arg(&json_path)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{}\n  (install with `pip install numpy scipy`)",
            stderr.lines().last().unwrap_or("")
        ));
    }
    Ok(serde_json::from_slice(&output.stdout).expect("the script prints JSON"))
}

fn print_scipy(
    r: &Reference,
    scipy: &serde_json::Value,
    own_s: f64,
    reference: &network::Trajectory,
) {
    let scipy_s = scipy["seconds_per_individual"].as_f64().expect("a number");
    println!(
        "  SciPy solve_ivp (LSODA, NumPy):  {:>10.1} individuals/s ({:.3} ms each, fastest of 10 repeats)",
        1.0 / scipy_s,
        scipy_s * 1e3
    );
    println!(
        "  ratio: exosim is {:.0}x SciPy per individual (target: at least 100x)",
        scipy_s / own_s
    );
    println!(
        "  (both sides: the same network, rtol {:e} and per-state atol, segments between events, \
         output times; SciPy gets NumPy fluxes and the analytic Jacobian)",
        r.tol.rtol
    );
    // The two solutions must agree, or the comparison means nothing.
    let blood = r.blood();
    let states = scipy["states"].as_array().expect("states");
    let mut worst: f64 = 0.0;
    for (row, ours) in states.iter().zip(reference.states()) {
        let theirs: Vec<f64> = row
            .as_array()
            .expect("row")
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect();
        let a: f64 = blood.iter().map(|&i| ours[i]).sum();
        let b: f64 = blood.iter().map(|&i| theirs[i]).sum();
        let total: f64 = ours.iter().sum();
        worst = worst.max((a - b).abs() / total.max(1.0));
    }
    println!("  agreement: blood counts differ by at most {worst:.1e} of the dose");
}

fn main() {
    let r = Reference::load();
    let reference = r.solve();
    let theirs = r.solve_diffsol();
    let timing = time_pairs(&r);
    print_timing(&r, &timing, &reference, &theirs);
    print_diffsol_agreement(&r, &reference, &theirs);
    match run_scipy(&r) {
        Ok(scipy) => print_scipy(&r, &scipy, timing.own_s, &reference),
        Err(why) => println!("  SciPy comparison skipped: {why}"),
    }
}
