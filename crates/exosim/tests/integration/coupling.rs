//! The tissue engine coupled with the body engine (`[tissue.coupling]`):
//! vesicles conserved across both engines at every exchange, a coupling
//! that exchanges nothing changes nothing, drained vesicles reach the body
//! exactly, arrivals follow ∫ P·A·C dt, determinism across thread counts,
//! and located errors for bad names.

use exosim::body::pbpk::Place;
use exosim::run::{self, RunResult};
use exosim::scenario::{Study, parse_study};

/// A mouse dosed with engineered vesicles; a tumour tissue whose lower face
/// is a vessel wall and whose upper face drains; tumour cells that take the
/// engineered vesicles up and release their own. Tissue and body classes
/// have different names, so the mapping is exercised.
const COUPLED: &str = r#"
[study]
name = "coupled_small"
seed = 5
duration = "2 h"
output_interval = "10 min"

[body]
species = "mouse"

[[vesicles]]
name = "eng"
diameter = "100 nm"
cd47 = 0.8

[[vesicles]]
name = "tev"
diameter = "110 nm"

[[doses]]
vesicles = "eng"
route = "iv_bolus"
amount = 1e11

[tissue]
size = ["150 um", "150 um", "80 um"]
boundary = "periodic"
faces = { z_lower = "reflective", z_upper = "draining" }
time_step = "10 s"
cell_time_step = "1 min"
replicates = 2

[tissue.coupling]
exchange_interval = "1 min"
drain_to = "lymph"
vascular_faces = ["z_lower"]
permeability = "1e-7 cm/s"
classes = [{ tissue = "eng_t", body = "eng" }, { tissue = "tev_t", body = "tev" }]

[[tissue.binding]]
ligand = "b"
receptor = "r"
strength = 2.0

[[tissue.vesicles]]
name = "eng_t"
diameter = "100 nm"
half_life = "6 h"
ligands = { b = 1.0 }
cargo = { tox = { mean = 5.0 } }

[[tissue.vesicles]]
name = "tev_t"
diameter = "110 nm"
weight = 5
half_life = "3 h"

[[tissue.cell_types]]
name = "tumour"
radius = "6 um"
receptors = { r = 1.0 }
nonspecific_uptake = 0.02
secretion = [{ class = "tev_t", rate = "120 /h" }]

[[tissue.placements]]
shape = "random"
cell_type = "tumour"
count = 60
"#;

/// The body is solved to rtol 1e-8: coupled and uncoupled courses, whose
/// integrations are segmented differently, agree to this share of the dose.
const ODE_TOLERANCE: f64 = 1e-6;

/// The network conserves vesicles by construction (every flux leaves one
/// state and enters another) and the solver keeps that linear invariant, so
/// balances that include the body close to rounding, not to the tolerance.
const ROUNDING: f64 = 1e-12;

fn study(text: &str) -> Study {
    parse_study(text, "coupled.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run_study(study: &Study) -> RunResult {
    run::run(study, |_| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Conservation across engines: at every exchange of every replicate,
/// body states + tissue (free, taken up, degraded, absorbed) = dosed +
/// released + released by cells; the tissue's own balance is exact at
/// every output, the body's (with drained-in and extravasated) closes to
/// rounding at every output (the exchange at an output time is in both the
/// state and the ledger), and summary.json's figure covers all of it.
#[test]
fn vesicles_are_conserved_across_both_engines_at_every_exchange() {
    let s = study(COUPLED);
    let result = run_study(&s);
    assert_eq!(result.tissue.len(), 2);
    for r in &result.tissue {
        let body = r.body.as_ref().expect("a coupled run carries its body");
        assert_eq!(
            body.exchanges.len(),
            121,
            "every minute over 2 h, ends included"
        );
        for e in &body.exchanges {
            assert!(
                e.balance_error <= ROUNDING,
                "t = {}: {}",
                e.time,
                e.balance_error
            );
        }
        let mb = r.record.series("mass_balance_error").unwrap();
        assert!(mb.iter().all(|&x| x == 0.0), "{mb:?}");
        for cc in &body.course.classes {
            let worst = cc.balance_errors().into_iter().fold(0.0, f64::max);
            assert!(worst <= ROUNDING, "{worst}");
        }
        // Something did cross both ways, or the test proves nothing.
        let drained: f64 = body.exchanges.iter().map(|e| e.drained[1]).sum();
        let arrived: f64 = body.exchanges.iter().map(|e| e.arrived[0]).sum();
        assert!(drained > 100.0 && arrived > 100.0, "{drained} {arrived}");
    }
    let summary = run::summary(&s, &result);
    assert!(summary.mass_balance.relative_error <= ROUNDING);
    assert!(summary.mass_balance.drained_in_from_tissue.unwrap() > 0.0);
    assert!(summary.mass_balance.extravasated_into_tissue.unwrap() > 0.0);
    // The coupled fluxes are time-series columns.
    let table = run::timeseries(&s, &result);
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    for col in [
        "main/drained_in_from_tissue/tev",
        "main/extravasated_into_tissue/eng",
    ] {
        assert!(names.contains(&col), "{col} missing from {names:?}");
    }
}

/// A coupling that exchanges nothing (permeability 0, no draining face)
/// leaves both engines as they run alone: the tissue bit for bit, the body
/// to ODE tolerance (its integration restarts at each exchange).
#[test]
fn a_coupling_that_exchanges_nothing_equals_the_uncoupled_runs() {
    let closed = COUPLED
        .replace(
            "faces = { z_lower = \"reflective\", z_upper = \"draining\" }",
            "faces = { z_lower = \"reflective\", z_upper = \"reflective\" }",
        )
        .replace("permeability = \"1e-7 cm/s\"", "permeability = \"0 cm/s\"");
    let start = closed.find("[tissue.coupling]").unwrap();
    let end = closed.find("[[tissue.binding]]").unwrap();
    let alone = format!("{}{}", &closed[..start], &closed[end..]);
    let coupled = run_study(&study(&closed));
    let uncoupled = run_study(&study(&alone));
    assert!(uncoupled.tissue.iter().all(|r| r.body.is_none()));
    for (a, b) in coupled.tissue.iter().zip(&uncoupled.tissue) {
        assert_eq!(a.record.header, b.record.header);
        assert_eq!(a.record.rows, b.record.rows, "tissue differs");
    }
    let dose = 1e11;
    let (a, b) = (&coupled.arms[0], &uncoupled.arms[0]);
    assert_eq!(a.times, b.times);
    for cc in &a.classes {
        match b.classes.iter().find(|x| x.class == cc.class) {
            Some(other) => {
                for (p, q) in cc.places.iter().zip(&other.places) {
                    for (x, y) in p.counts.iter().zip(&q.counts) {
                        assert!(
                            (x - y).abs() <= ODE_TOLERANCE * dose,
                            "{}: {x} vs {y}",
                            p.place.name()
                        );
                    }
                }
            }
            // A linked class that nothing gives stays empty.
            None => assert!(cc.places.iter().all(|p| p.counts.iter().all(|&x| x == 0.0))),
        }
    }
}

/// Drained only (no vascular face, into blood): the body receives exactly
/// the weight the tissue drained, output time by output time, and holds it
/// (minus nothing) at ODE tolerance.
#[test]
fn the_body_receives_exactly_what_the_tissue_drained() {
    let text = COUPLED
        .replace("vascular_faces = [\"z_lower\"]\n", "")
        .replace("permeability = \"1e-7 cm/s\"\n", "")
        .replace("drain_to = \"lymph\"", "drain_to = \"blood\"");
    let s = study(&text);
    let result = run_study(&s);
    for r in &result.tissue {
        let body = r.body.as_ref().unwrap();
        let tissue_drained = r.record.series("vesicles_tev_t_drained").unwrap();
        let tev = body.course.classes.iter().find(|c| c.class == 1).unwrap();
        // Tissue and body share the 10-min output grid, on exchange times.
        assert_eq!(tev.drained_in, tissue_drained);
        let last = *tissue_drained.last().unwrap();
        assert!(last > 100.0, "{last}");
        let handed: f64 = body.exchanges.iter().map(|e| e.drained[1]).sum();
        assert_eq!(handed, last);
        assert!(
            body.exchanges
                .iter()
                .all(|e| e.arrived.iter().all(|&a| a == 0.0))
        );
        let k = tev.dosed.len() - 1;
        let in_body: f64 = tev.places.iter().map(|p| p.counts[k]).sum();
        assert!(
            (in_body - last).abs() <= ODE_TOLERANCE * last,
            "{in_body} vs {last}"
        );
        assert!(tev.series(Place::Blood).unwrap()[k] > 0.0);
    }
}

/// Arrivals follow the flux P·A·C: over a 2 h run the vesicles arrived
/// match the drawn means Σ λ_k (a sum of Poisson draws: within 5 standard
/// deviations), and Σ λ_k matches ∫ P·A·C dt of the reported blood course
/// (trapezoid on the exchange grid) within the left-Riemann discretisation,
/// which telescopes to P·A·Δ·|C(0) − C(T)| / 2.
#[test]
fn arrivals_follow_the_integral_of_permeability_area_and_blood_concentration() {
    let text = COUPLED
        .replace(
            "output_interval = \"10 min\"",
            "output_interval = \"1 min\"",
        )
        .replace("amount = 1e11", "amount = 1e12")
        .replace("count = 60", "count = 0")
        .replace("replicates = 2", "replicates = 1");
    let s = study(&text);
    let result = run_study(&s);
    let body = result.tissue[0].body.as_ref().unwrap();
    let p = 1e-9; // 1e-7 cm/s
    let area = 150e-6 * 150e-6;
    let dt = 60.0;
    let lambda: f64 = body.exchanges.iter().map(|e| e.expected[0]).sum();
    let arrived: f64 = body.exchanges.iter().map(|e| e.arrived[0]).sum();
    // Weight 1: vesicles are particles, the sum of Poisson draws has variance Λ.
    assert!(
        (arrived - lambda).abs() <= 5.0 * lambda.sqrt(),
        "arrived {arrived}, expected {lambda}"
    );
    assert!(lambda > 1e3, "{lambda}");
    let volume = s.arms[0].body.blood_volume;
    let eng = body.course.classes.iter().find(|c| c.class == 0).unwrap();
    let c: Vec<f64> = eng
        .series(Place::Blood)
        .unwrap()
        .iter()
        .map(|n| n / volume)
        .collect();
    assert_eq!(body.course.times.len(), 121);
    let integral: f64 = c
        .windows(2)
        .map(|w| p * area * 0.5 * (w[0] + w[1]) * dt)
        .sum();
    let discretisation = p * area * dt * (c[0] - c[c.len() - 1]).abs() / 2.0;
    // Reported outputs show blood after each exchange's removal; the means
    // used the blood before it: a relative 1e-6 covers that.
    assert!(
        (lambda - integral).abs() <= discretisation + 1e-6 * lambda,
        "Σλ {lambda}, ∫PAC {integral}, allowance {discretisation}"
    );
    assert!(
        (arrived - integral).abs() <= 5.0 * integral.sqrt() + discretisation,
        "arrived {arrived}, ∫PAC {integral}"
    );
}

/// Same seed, 1 or 2 threads: identical tissue rows, exchanges and body.
#[test]
fn coupled_runs_do_not_depend_on_the_thread_count() {
    let s = study(COUPLED);
    let one = in_pool(1, || run_study(&s));
    let two = in_pool(2, || run_study(&s));
    assert_eq!(one.arms, two.arms);
    for (a, b) in one.tissue.iter().zip(&two.tissue) {
        let bits = |rows: &Vec<Vec<f64>>| -> Vec<u64> {
            rows.iter().flatten().map(|x| x.to_bits()).collect()
        };
        assert_eq!(bits(&a.record.rows), bits(&b.record.rows));
        assert_eq!(a.body, b.body);
    }
    // Replicates differ from each other (their own seeds).
    assert_ne!(one.tissue[0].record.rows, one.tissue[1].record.rows);
}

/// Bad names in `[tissue.coupling]` get an error at their line and key with
/// a "did you mean"; so do an unknown arm, a missing arm choice, an interval
/// off the step grid and a 2-D tissue.
#[test]
fn bad_couplings_get_located_errors() {
    let check = crate::study_errors::assert_located;
    check(
        &COUPLED.replace("body = \"eng\"", "body = \"engg\""),
        "tissue.coupling.classes[0].body",
        "`eng`",
        "\"engg\"",
    );
    check(
        &COUPLED.replace("tissue = \"tev_t\"", "tissue = \"tev_tt\""),
        "tissue.coupling.classes[1].tissue",
        "`tev_t`",
        "\"tev_tt\"",
    );
    check(
        &COUPLED.replace("[tissue.coupling]\n", "[tissue.coupling]\narm = \"mian\"\n"),
        "tissue.coupling.arm",
        "`main`",
        "\"mian\"",
    );
    check(
        &COUPLED.replace(
            "exchange_interval = \"1 min\"",
            "exchange_interval = \"15 s\"",
        ),
        "tissue.coupling.exchange_interval",
        "whole multiple",
        "\"15 s\"",
    );
    check(
        &COUPLED.replace(
            "vascular_faces = [\"z_lower\"]",
            "vascular_faces = [\"z_lowr\"]",
        ),
        "tissue.coupling.vascular_faces[0]",
        "`z_lower`",
        "\"z_lowr\"",
    );
    let two_arms = format!("{COUPLED}\n[[arms]]\nname = \"a\"\n\n[[arms]]\nname = \"b\"\n");
    check(&two_arms, "tissue.coupling", "arm = ", "[tissue.coupling]");
    let flat = COUPLED
        .replace(
            "size = [\"150 um\", \"150 um\", \"80 um\"]",
            "dimensions = 2\nsize = [\"150 um\", \"150 um\"]",
        )
        .replace(
            "faces = { z_lower = \"reflective\", z_upper = \"draining\" }",
            "faces = { y_lower = \"reflective\", y_upper = \"draining\" }",
        );
    check(&flat, "tissue.coupling", "3-D", "[tissue.coupling]");
}

/// The shipped study runs, exchanges vesicles both ways and balances.
#[test]
fn shipped_tumour_ev_dose_runs_and_balances() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/tumour_ev_dose.toml");
    let s = exosim::scenario::load_study(&path).unwrap_or_else(|e| panic!("{e}"));
    let result = run_study(&s);
    let summary = run::summary(&s, &result);
    assert!(summary.mass_balance.relative_error <= ROUNDING);
    let c = &summary
        .tissue
        .as_ref()
        .unwrap()
        .coupling
        .as_ref()
        .unwrap()
        .arms()[0];
    assert!(c.arrived_from_blood["eng_ev->eng_ev"].mean > 100.0);
    assert!(c.drained_to_body["tumour_ev->tumour_ev"].mean > 100.0);
}

/// The resumable stepper: stopping at t = 5 s and adding vesicles there is
/// the same as a bolus event at 5 s, and both follow the closed form of a
/// first-order transfer a → b (a(t) = A·e^{−k(t − 5)} after the bolus), with
/// outputs at the stop time showing the state after the change.
#[test]
fn a_stepper_stopped_and_changed_equals_a_bolus_event() {
    use exosim::body::network::{Event, EventKind, Network, Stepper, Tolerances, simulate};
    let mut net = Network::default();
    let a = net.add_state("a");
    let b = net.add_state("b");
    let k = 0.3;
    net.transfer(a, b, k);
    let tol = Tolerances::uniform(1e-10, 1e-6, 2);
    let times: Vec<f64> = (0..=20).map(|i| i as f64).collect();
    let bolus = [Event {
        time: 5.0,
        kind: EventKind::Bolus {
            state: a,
            amount: 1e6,
        },
    }];
    let by_event = simulate(&net, &bolus, &times, 20.0, &tol, |_| {}).unwrap();
    let mut stepper = Stepper::new(&net, &[], &times, 20.0, &tol);
    stepper.advance_to(5.0, &mut |_| {}).unwrap();
    assert_eq!(stepper.time(), 5.0);
    assert_eq!(stepper.state(), &[0.0, 0.0]);
    stepper.add(a, 1e6);
    stepper.advance_to(20.0, &mut |_| {}).unwrap();
    let by_stop = stepper.finish();
    assert_eq!(by_stop.times, times);
    for (i, &t) in times.iter().enumerate() {
        let exact = if t < 5.0 {
            0.0
        } else {
            1e6 * (-k * (t - 5.0)).exp()
        };
        for traj in [&by_event, &by_stop] {
            let y = traj.state(i);
            assert!(
                (y[a] - exact).abs() <= 1e-6 * 1e6,
                "t = {t}: {} vs {exact}",
                y[a]
            );
            // Conservation: a + b is the bolus, to rounding.
            let total = if t < 5.0 { 0.0 } else { 1e6 };
            assert!((y[a] + y[b] - total).abs() <= 1e-6, "t = {t}");
        }
        assert!((by_event.state(i)[a] - by_stop.state(i)[a]).abs() <= 1e-6 * 1e6);
    }
}
