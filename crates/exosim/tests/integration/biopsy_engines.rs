//! The biopsy fed by the other engines: blood kinetics from the body
//! engine's compartments (its linear limit, as first-order pools), and the
//! tumour burden from the tissue engine's cell count.

use exosim::biopsy::blood_modes::{BloodModes, C64, pool_hold};
use exosim::biopsy::burden::TabulatedBurden;
use exosim::biopsy::growth::{BranchingProcess, GrowthLaw, Lineage};
use exosim::biopsy::kinetics::{BloodKinetics, MarkerKinetics};
use exosim::body::network::{Network, Transfer};
use exosim::body::pbpk::{self, ClassStates, Place};
use exosim::body::simulate_arm;
use exosim::coupling::blood_modes::from_network;
use exosim::coupling::tumour_burden;
use exosim::scenario::{Study, parse_study};

const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86400.0;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// A body study: one small-EV class entering venous blood by `entry`.
fn body_study(species: &str, entry: &str) -> Study {
    let text = format!(
        r#"
[study]
name = "body_modes"
duration = "24 h"
output_interval = "10 min"

[solver]
rtol = 1e-11
atol_fraction = 1e-14

[body]
species = "{species}"

[[vesicles]]
name = "sEV"
diameter = "100 nm"
ps_exposure = 1.0
cd47 = 0.0

{entry}
"#
    );
    parse_study(&text, "body_modes.toml").unwrap()
}

/// One vesicle per second into venous blood from 0 on: the linear regime
/// (the macrophage sites are ~1e-8 of the way to Km).
const CONSTANT_SOURCE: &str = r#"
[[sources]]
vesicles = "sEV"
rate = "3600 /h"
"#;

/// 7200 vesicles over 2 h, then nothing.
const INFUSION: &str = r#"
[[doses]]
vesicles = "sEV"
route = "iv_infusion"
amount = 7200
duration = "2 h"
at = "0 h"
"#;

fn modes_of(study: &Study) -> BloodModes {
    let model = pbpk::build(&study.plan(), &study.arms[0]);
    from_network(&model.network, &model.classes[0]).unwrap()
}

/// Blood amount of the pools from the zero state with input `rate` on
/// during [0, `off`), at `t`.
fn pooled_blood(modes: &BloodModes, rate: f64, off: f64, t: f64) -> f64 {
    let k = modes.effective_rate;
    modes
        .modes
        .iter()
        .map(|m| {
            let lambda = m.rate * k;
            let x = pool_hold(C64::new(0.0, 0.0), rate, lambda, t.min(off));
            let x = if t > off {
                pool_hold(x, 0.0, lambda, t - off)
            } else {
                x
            };
            (m.weight * x).re
        })
        .sum()
}

#[test]
fn pools_reproduce_simulate_arm_on_the_mouse_and_human_presets() {
    // Linear superposition of the impulse response Σ c_i e^{-λ_i t} must give
    // the body engine's own (BDF, rtol 1e-11) blood course.
    for species in ["mouse", "human"] {
        for (entry, rate, off) in [
            (CONSTANT_SOURCE, 1.0, f64::INFINITY),
            (INFUSION, 1.0, 2.0 * HOUR),
        ] {
            let study = body_study(species, entry);
            let modes = modes_of(&study);
            let course = simulate_arm(&study.plan(), &study.arms[0], |_| {}).unwrap();
            let blood = course.classes[0].series(Place::Blood).unwrap();
            let mut worst: f64 = 0.0;
            for (&t, &b) in course.times.iter().zip(blood) {
                if t < 10.0 * MIN {
                    continue;
                }
                worst = worst.max(rel(pooled_blood(&modes, rate, off, t), b));
            }
            assert!(worst < 1e-6, "{species}: worst relative gap {worst}");
        }
    }
}

#[test]
fn one_compartment_network_is_first_order_elimination() {
    // A venous pool cleared at k, nothing else: one pool of weight 1 at k.
    let k = std::f64::consts::LN_2 / (7.0 * MIN);
    let mut net = Network::default();
    let names = [
        "venous", "arterial", "lymph", "ip", "sc", "degraded", "cleared", "trapped", "lumen",
    ];
    for n in names {
        net.add_state(n);
    }
    net.transfers.push(Transfer {
        from: 0,
        to: 5,
        rate: k,
    });
    let class = ClassStates {
        class: 0,
        venous: 0,
        arterial: 1,
        vascular: vec![],
        tissue: vec![],
        lung_trapped: 7,
        lymph: 2,
        peritoneal: 3,
        subcutaneous: 4,
        gut_lumen: 8,
        degraded: 5,
        cleared: 6,
    };
    let modes = from_network(&net, &class).unwrap();
    assert_eq!(modes.modes.len(), 1);
    assert!(rel(modes.effective_rate, k) < 1e-12);
    let blood = BloodKinetics {
        background: 2.0,
        elimination_rate: k,
        plasma_volume: 3e-3,
    };
    let first_order = MarkerKinetics {
        growth: GrowthLaw::Gompertz {
            rate: 1e-7,
            capacity: 1e12,
        },
        initial_cells: 1e6,
        source_per_cell: 1e-4,
        blood,
        modes: None,
        burden: None,
        release: None,
    };
    let pooled = MarkerKinetics {
        modes: Some(&modes),
        ..first_order
    };
    let mut state = pooled.baseline_state();
    let mut t = 0.0;
    for at in [30.0 * DAY, 400.0 * DAY, 3.0 * 365.0 * DAY] {
        let want = first_order.advance(first_order.blood.baseline_amount(), 0.0, at, 7.0 * DAY);
        let got = pooled.advance_state(&mut state, t, at, 7.0 * DAY);
        t = at;
        assert!(rel(got, want) < 1e-6, "t = {at}: {got} vs {want}");
    }
    let threshold = 3.0 * blood.background / k / blood.plasma_volume;
    let (t1, _) = first_order
        .crossing(threshold, 20.0 * 365.0 * DAY, 7.0 * DAY)
        .unwrap();
    let (t2, _) = pooled
        .crossing(threshold, 20.0 * 365.0 * DAY, 7.0 * DAY)
        .unwrap();
    assert!(rel(t2, t1) < 1e-6, "{t2} vs {t1}");
    // A branching lineage: the piecewise-constant source through one pool.
    let mut rng = exosim::random::stream(4, 5, 6);
    let lineage: Lineage = BranchingProcess {
        birth: 1.0 / DAY,
        death: 0.3 / DAY,
    }
    .surviving_lineage(&mut rng, 500)
    .unwrap();
    for at in [0.5 * lineage.switch_time, lineage.switch_time + 20.0 * DAY] {
        let a = first_order.lineage_amount(&lineage, at);
        let b = pooled.lineage_amount(&lineage, at);
        assert!(rel(b, a) < 1e-6, "lineage at {at}: {b} vs {a}");
    }
}

#[test]
fn steady_level_is_input_times_the_area_under_the_impulse_response() {
    // Steady amount = input × ∫h; ∫h by quadrature of Σ c_i e^{-λ_i t}.
    let study = body_study("mouse", CONSTANT_SOURCE);
    let modes = modes_of(&study);
    let k = modes.effective_rate;
    // Trapezoid on a log grid from 1 ms to 100 days, plus the first 1 ms.
    let n = 200_000;
    let (a, b) = (1e-3_f64, 100.0 * DAY);
    let grid: Vec<f64> = (0..=n)
        .map(|i| a * (b / a).powf(i as f64 / n as f64))
        .collect();
    let mut auc = a * modes.impulse_response(k, 0.0);
    for w in grid.windows(2) {
        auc += 0.5
            * (w[1] - w[0])
            * (modes.impulse_response(k, w[0]) + modes.impulse_response(k, w[1]));
    }
    assert!(rel(auc, 1.0 / k) < 1e-6, "∫h = {auc} vs 1/k = {}", 1.0 / k);
    let input = 123.0;
    let kin = MarkerKinetics {
        growth: GrowthLaw::Exponential { rate: 0.0 },
        initial_cells: 1.0,
        source_per_cell: 0.0,
        blood: BloodKinetics {
            background: input,
            elimination_rate: k,
            plasma_volume: 1e-6,
        },
        modes: Some(&modes),
        burden: None,
        release: None,
    };
    let steady = kin.amount_of(&kin.baseline_state());
    assert!(rel(steady, input * auc) < 1e-6);
    assert!(
        rel(
            pooled_blood(&modes, input, f64::INFINITY, 200.0 * DAY),
            input / k
        ) < 1e-9
    );
}

#[test]
fn mouse_small_ev_blood_half_life_is_within_the_published_range() {
    // Small-EV plasma half-life after IV injection ~2 to ~20 min
    // (docs/references.md#takahashi-2013, Morishita 2015, Lai 2014; ~7 min,
    // docs/references.md#matsumoto-2020).
    let study = body_study("mouse", CONSTANT_SOURCE);
    let modes = modes_of(&study);
    let k = modes.effective_rate;
    let dominant = modes.dominant_half_life(k, 0.5).unwrap();
    let effective = std::f64::consts::LN_2 / k;
    for (what, h) in [("dominant mode", dominant), ("effective", effective)] {
        assert!(
            (2.0 * MIN..=20.0 * MIN).contains(&h),
            "{what} half-life {} min",
            h / MIN
        );
    }
    assert!(modes.saturation_per_input > 0.0);
}

#[test]
fn a_tabulated_exponential_burden_gives_the_exponential_law() {
    // Frames of N0 e^{rt}: every piece is exact, so the blood level and the
    // detection time equal those of the law given directly.
    let r = std::f64::consts::LN_2 / (60.0 * DAY);
    let n0 = 5e5;
    let times: Vec<f64> = (0..=20).map(|i| i as f64 * 30.0 * DAY).collect();
    let cells = times.iter().map(|t| n0 * (r * t).exp()).collect();
    let burden = TabulatedBurden {
        times,
        cells,
        tail_rate: Some(r),
    };
    let law = MarkerKinetics {
        growth: GrowthLaw::Exponential { rate: r },
        initial_cells: n0,
        source_per_cell: 1e-4,
        blood: BloodKinetics {
            background: 0.5,
            elimination_rate: std::f64::consts::LN_2 / (7.0 * MIN),
            plasma_volume: 3e-3,
        },
        modes: None,
        burden: None,
        release: None,
    };
    let tabulated = MarkerKinetics {
        burden: Some(&burden),
        release: None,
        ..law
    };
    let level = 20.0 * law.blood.background / law.blood.elimination_rate / law.blood.plasma_volume;
    for t_max in [400.0 * DAY, 900.0 * DAY] {
        // Within the frames, then on the exponential tail.
        let (t1, _) = law.crossing(level, t_max, 7.0 * DAY).unwrap();
        let (t2, _) = tabulated.crossing(level, t_max, 7.0 * DAY).unwrap();
        assert!(rel(t2, t1) < 1e-9, "{t2} vs {t1}");
    }
    let a = law.advance(law.blood.baseline_amount(), 0.0, 700.0 * DAY, 7.0 * DAY);
    let b = tabulated.advance(law.blood.baseline_amount(), 0.0, 700.0 * DAY, 7.0 * DAY);
    assert!(rel(b, a) < 1e-9);
}

/// Pure division: every tumour cell divides at ln 2 / 10 h, no death, no
/// contact inhibition (`max_neighbours` above any possible count); the
/// biopsy's tumour follows its count, 1000 real cells per simulated cell.
fn tissue_study(tumour_extra: &str, screening_duration: &str) -> String {
    format!(
        r#"
[study]
name = "tissue_burden"
seed = 11
duration = "20 h"
output_interval = "2 h"

[tissue]
dimensions = 2
size = ["600 um", "600 um"]
time_step = "1 min"
cell_time_step = "2 min"
replicates = 8
max_cells = 100000

[[tissue.cell_types]]
name = "tumour"
radius = "5 um"
division_time = "10 h"
max_neighbours = 1000

[[tissue.placements]]
shape = "random"
cell_type = "tumour"
count = {N0}

[biopsy]
cohort = 10
healthy_cohort = 10
deterministic = true

[biopsy.tumour]
growth = "tissue"
{tumour_extra}

[biopsy.marker]
name = "tumour_ev"
per_live_cell = "60 /h"
fraction_to_blood = 0.01
background_concentration = "0 /mL"
half_life = "7 min"
plasma_volume = "1 mL"       # a mouse: the level is above the assay's LOD

[[biopsy.tests]]
name = "digital"
isolation = "immunocapture"
assay = "digital_plasmonic"

[biopsy.decision]
rule = "lod"

[biopsy.screening]
interval = "1 h"
duration = "{screening_duration}"
"#
    )
}

const N0: f64 = 200.0;
const SCALE: f64 = 1000.0;
const REPLICATES: f64 = 8.0;
const TUMOUR: &str = r#"cell_type = "tumour"
cells_per_simulated_cell = 1000
extrapolate = "exponential""#;

fn parse(text: &str) -> Study {
    parse_study(text, "tissue_burden.toml").unwrap()
}

fn parse_error(text: &str) -> exosim::scenario::StudyError {
    parse_study(text, "tissue_burden.toml").unwrap_err()
}

/// Relative bound on the replicate-mean count of a pure-division tissue at
/// `t` against N0 e^{λt}: Yule process (Kendall 1948, docs/references.md#kendall-1948), CV² = (1 − e^{−λt})/N0
/// per replicate, so 4 standard errors of the mean of R replicates; plus the
/// bias of division drawn once per cell step dt (probability 1 − e^{−λdt}
/// per step: rate ln(2 − e^{−λdt})/dt, off by ≤ λ²dt/2), counted twice.
fn yule_bound(t: f64) -> f64 {
    let lambda = std::f64::consts::LN_2 / (10.0 * HOUR);
    let dt = 2.0 * MIN;
    4.0 * ((-(-lambda * t).exp_m1()) / (N0 * REPLICATES)).sqrt() + lambda * lambda * dt * t
}

#[test]
fn tissue_burden_follows_the_branching_mean() {
    let study = parse(&tissue_study(TUMOUR, "3 day"));
    let biopsy = study.biopsy.as_ref().unwrap();
    let source = biopsy.tissue_burden.as_ref().unwrap();
    let tissue = study.tissue.as_ref().unwrap();
    let (burden, report) = tumour_burden::burden(tissue, source, study.seed).unwrap();
    let lambda = std::f64::consts::LN_2 / (10.0 * HOUR);
    for (&t, &n) in burden.times.iter().zip(&burden.cells) {
        let mean = SCALE * N0 * (lambda * t).exp();
        let bound = yule_bound(t);
        assert!(
            rel(n, mean) <= bound.max(1e-12),
            "t = {t}: {n} vs {mean} (bound {bound})"
        );
    }
    assert_eq!(report.replicates, 8);
    assert_eq!(report.initial_cells, SCALE * N0);
    // The tail rate fitted over the second half of the span (10–20 h).
    let fitted = report.extrapolation_rate_per_s.unwrap();
    assert!(rel(fitted, lambda) < 0.25, "fitted {fitted} vs {lambda}");
}

#[test]
fn detection_with_the_tissue_burden_matches_the_exponential_law() {
    // The crossing of the same decision level by the tissue-driven tumour
    // and by N0 e^{λt} given directly: their sizes differ by at most the
    // bound above in relative terms, so the times by ln(1 + bound)/λ.
    let study = parse(&tissue_study(TUMOUR, "3 day"));
    let biopsy = study.biopsy.as_ref().unwrap();
    let source = biopsy.tissue_burden.as_ref().unwrap();
    let tissue_model = study.tissue.as_ref().unwrap();
    let (burden, _) = tumour_burden::burden(tissue_model, source, study.seed).unwrap();
    let lambda = std::f64::consts::LN_2 / (10.0 * HOUR);
    let mut tissue = biopsy.tests[0].model.clone();
    tissue.tumour.initial_cells = burden.initial_cells();
    tissue.tumour.burden = Some(std::sync::Arc::new(burden));
    let mut law = biopsy.tests[0].model.clone();
    law.tumour.growth = GrowthLaw::Exponential { rate: lambda };
    law.tumour.initial_cells = SCALE * N0;
    // The level reached at 2.5 N0 (about 13 h, within the span).
    let kin = law.kinetics(&law.nominal_individual());
    let level = kin.steady_concentration(2.5 * SCALE * N0);
    assert!(level > law.protocol.assay.lod);
    for m in [&mut tissue, &mut law] {
        m.threshold = level;
    }
    let a = tissue.deterministic_crossing().unwrap();
    let b = law.deterministic_crossing().unwrap();
    let bound = yule_bound(b.time).ln_1p() / lambda;
    assert!(
        (a.time - b.time).abs() <= bound,
        "{} h vs {} h (bound {} h)",
        a.time / HOUR,
        b.time / HOUR,
        bound / HOUR
    );
    // The run attaches the burden and reports it.
    let results =
        tumour_burden::run_biopsy(biopsy, study.tissue.as_ref(), study.seed, &|_| {}).unwrap();
    let r = results[0].tissue_burden.as_ref().unwrap();
    assert_eq!(r.cell_type, "tumour");
    assert_eq!(r.variant, "main");
    assert!(results[0].screening.as_ref().unwrap().crossing.is_some());
}

#[test]
fn tissue_burden_errors_are_located() {
    let cases = [
        (
            "cell_type = \"tumor\"\ncells_per_simulated_cell = 1000",
            "10 h",
            "biopsy.tumour.cell_type",
            "did you mean `tumour`?",
        ),
        (
            "cell_type = \"tumour\"\nvariant = \"treated\"\ncells_per_simulated_cell = 1000",
            "10 h",
            "biopsy.tumour.variant",
            "the tissue's variants: main",
        ),
        (
            "cell_type = \"tumour\"",
            "10 h",
            "biopsy.tumour.growth",
            "cells_per_simulated_cell",
        ),
        (
            "cell_type = \"tumour\"\ncells_per_simulated_cell = 1000",
            "3 day",
            "biopsy.screening.duration",
            "extrapolate",
        ),
        (
            "cell_type = \"tumour\"\ncells_per_simulated_cell = 1000\ndoubling_time = \"1 day\"",
            "10 h",
            "biopsy.tumour.doubling_time",
            "remove it",
        ),
    ];
    for (tumour, duration, key, hint) in cases {
        let e = parse_error(&tissue_study(tumour, duration));
        let shown = format!("{e} {}", e.hint.clone().unwrap_or_default());
        assert_eq!(e.key, key, "{shown}");
        assert!(shown.contains(hint), "{shown}");
        assert!(e.line > 1, "{shown}");
    }
    // No `[tissue]` at all.
    let text = tissue_study(TUMOUR, "10 h");
    let cut = text.find("[tissue]").unwrap()..text.find("[biopsy]").unwrap();
    let mut no_tissue = text.clone();
    no_tissue.replace_range(cut, "");
    let e = parse_error(&no_tissue);
    assert_eq!(e.key, "biopsy.tumour.growth");
}

/// A study whose marker follows the mouse's small-EV class.
fn body_biopsy(marker_extra: &str) -> String {
    format!(
        r#"
[study]
name = "body_biopsy"
seed = 5
duration = "1 h"

[body]
species = "mouse"

[[vesicles]]
name = "sEV"
diameter = "100 nm"

[[sources]]
vesicles = "sEV"
rate = "1e3 /h"

[biopsy]
cohort = 200
healthy_cohort = 200
deterministic = true

[biopsy.tumour]
growth = "exponential"
doubling_time = "30 day"
initial_diameter = "0.1 mm"  # 524 cells: below the LOD at first

[biopsy.marker]
name = "sEV"
per_live_cell = "60 /h"
fraction_to_blood = 0.01
{marker_extra}

[[biopsy.tests]]
name = "digital"
isolation = "immunocapture"
assay = "digital_plasmonic"

[biopsy.decision]
rule = "lod"

[biopsy.screening]
interval = "30 day"
duration = "3 year"
"#
    )
}

#[test]
fn body_kinetics_resolve_with_the_body_defaults() {
    let text = body_biopsy("background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEV\"");
    let study = parse_study(&text, "body_biopsy.toml").unwrap();
    let biopsy = study.biopsy.as_ref().unwrap();
    let model = &biopsy.tests[0].model;
    let modes = model.blood_modes.as_ref().unwrap();
    assert_eq!(model.blood.elimination_rate, modes.effective_rate);
    // Plasma: 0.55 of the mouse preset's blood volume.
    let blood = study.arms[0].body.blood_volume;
    assert!(rel(model.blood.plasma_volume, 0.55 * blood) < 1e-12);
    // The healthy steady level is the background concentration.
    let c = model.blood.baseline_amount() / model.blood.plasma_volume;
    assert!(rel(c, 5e9) < 1e-12);
    let report = biopsy.blood_kinetics.as_ref().unwrap();
    assert_eq!((report.states, report.arm.as_str()), (14, "main"));
    // The resolved study names the class and leaves out the half-life.
    let resolved = study.resolved.biopsy.as_ref().unwrap();
    assert_eq!(resolved.marker.body_vesicles.as_deref(), Some("sEV"));
    assert!(resolved.marker.half_life.is_none());
}

#[test]
fn body_kinetics_errors_are_located() {
    let cases = [
        (
            "background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEVs\"",
            "biopsy.marker.body_vesicles",
            "did you mean `sEV`?",
        ),
        (
            "background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEV\"\nhalf_life = \"7 min\"",
            "biopsy.marker.body_vesicles",
            "not both",
        ),
        (
            "background_concentration = \"5e3 /mL\"",
            "biopsy.marker",
            "body_vesicles",
        ),
        (
            "background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEV\"\nbody_arm = \"treated\"",
            "biopsy.marker.body_arm",
            "the study's arms: main",
        ),
        (
            "background_concentration = \"5e3 /mL\"\nhalf_life = \"7 min\"\nbody_arm = \"main\"",
            "biopsy.marker.body_arm",
            "body_vesicles",
        ),
        (
            // 1e10 /mL: the macrophage sites would be several % saturated.
            "background_concentration = \"1e10 /mL\"\nbody_vesicles = \"sEV\"",
            "biopsy.marker.background_concentration",
            "Km",
        ),
    ];
    for (marker, key, hint) in cases {
        let e = parse_study(&body_biopsy(marker), "body_biopsy.toml").unwrap_err();
        let shown = format!("{e} {}", e.hint.clone().unwrap_or_default());
        assert_eq!(e.key, key, "{shown}");
        assert!(shown.contains(hint), "{shown}");
        assert!(e.line > 1, "{shown}");
    }
}

#[test]
fn a_growing_tumour_is_seen_with_the_blood_mean_residence_time_as_lag() {
    // A linear system driven by S e^{γt} settles on S e^{γt} H(γ), with
    // H(γ) = Σ c_i/(λ_i + γ) ≈ (1/k)(1 − γ·MRT): against first-order
    // elimination at the same k (MRT = 1/k) the crossing of a level is
    // delayed by MRT − 1/k, to first order in γ·MRT.
    let body = parse_study(
        &body_biopsy("background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEV\""),
        "body_biopsy.toml",
    )
    .unwrap();
    let pooled = body.biopsy.as_ref().unwrap().tests[0].model.clone();
    let modes = pooled.blood_modes.clone().unwrap();
    let k = modes.effective_rate;
    let mut first = pooled.clone();
    first.blood_modes = None;
    let a = first.deterministic_crossing().unwrap().time;
    let b = pooled.deterministic_crossing().unwrap().time;
    let (mut auc, mut aumc) = (0.0, 0.0);
    for m in &modes.modes {
        let lambda = m.rate * k;
        auc += (m.weight / lambda).re;
        aumc += (m.weight / (lambda * lambda)).re;
    }
    let lag = aumc / auc - 1.0 / k;
    assert!(
        lag > 0.0 && a > 30.0 * DAY,
        "lag {lag} s, crossing at {a} s"
    );
    let gamma = std::f64::consts::LN_2 / (30.0 * DAY);
    assert!(
        ((b - a) - lag).abs() <= 0.01 * lag + 10.0 * gamma * lag * lag,
        "delay {} s vs MRT − 1/k = {lag} s",
        b - a
    );
}

#[test]
fn body_kinetics_cohort_is_independent_of_threads_and_chunks() {
    // Same seed ⇒ the same screening summary on 1 or 3 threads, in any chunks.
    use exosim::biopsy::screening::{
        ThresholdRule, resolve_threshold, screen_cohort, screen_cohort_parallel,
    };
    let study = parse_study(
        &body_biopsy("background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEV\""),
        "body_biopsy.toml",
    )
    .unwrap();
    let mut model = study.biopsy.as_ref().unwrap().tests[0].model.clone();
    model.deterministic = false;
    model.variability.background_cv = 0.5;
    model.variability.elimination_cv = 0.3;
    let seed = 77;
    model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 1_000, seed);
    let n = 1_501;
    let pool = |threads: usize, chunk: u64| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| screen_cohort_parallel(&model, n, seed, chunk))
    };
    let one = pool(1, 64);
    assert_eq!(one, pool(3, 7));
    assert_eq!(one, screen_cohort(&model, n, seed, 500));
    assert!(one.detected > 0, "{one:?}");
}

#[test]
fn pools_walk_only_their_memory_yet_match_the_full_walk() {
    // Each pool forgets its state after 40/Re λ (e^{-40}): walking only those
    // last steps gives the amount of walking every step for every pool.
    use exosim::biopsy::blood_modes::pool_within;
    let study = body_study("mouse", CONSTANT_SOURCE);
    let modes = modes_of(&study);
    let k = modes.effective_rate;
    let kin = MarkerKinetics {
        growth: GrowthLaw::Gompertz {
            rate: 3e-8,
            capacity: 1e12,
        },
        initial_cells: 1e6,
        source_per_cell: 1e-4,
        blood: BloodKinetics {
            background: 30.0,
            elimination_rate: k,
            plasma_volume: 7e-7,
        },
        modes: Some(&modes),
        burden: None,
        release: None,
    };
    let (h, steps) = (7.0 * DAY, 52);
    let mut x: Vec<C64> = modes
        .modes
        .iter()
        .map(|m| C64::new(30.0, 0.0) / (m.rate * k))
        .collect();
    for j in 0..steps {
        let (a, b) = (j as f64 * h, (j + 1) as f64 * h);
        let (sa, sb) = (kin.source(a), kin.source(b));
        for (x, m) in x.iter_mut().zip(&modes.modes) {
            *x = pool_within(*x, sa, sb, 30.0, m.rate * k, h, h);
        }
    }
    let full: f64 = modes
        .modes
        .iter()
        .zip(&x)
        .map(|(m, x)| (m.weight * x).re)
        .sum();
    let mut state = kin.baseline_state();
    let windowed = kin.advance_state(&mut state, 0.0, steps as f64 * h, h);
    assert!(rel(windowed, full) < 1e-12, "{windowed} vs {full}");
}

#[test]
fn resolved_studies_with_engine_couplings_are_fixed_points() {
    // Written as TOML and read back, the resolved study resolves to itself.
    let body = body_biopsy("background_concentration = \"5e3 /mL\"\nbody_vesicles = \"sEV\"");
    let tissue = tissue_study(TUMOUR, "3 day");
    for text in [body, tissue] {
        let study = parse_study(&text, "coupled.toml").unwrap();
        let written = toml::to_string(&study.resolved).unwrap();
        let again = parse_study(&written, "resolved.toml")
            .unwrap_or_else(|e| panic!("the resolved study does not read back: {e}\n{written}"));
        assert_eq!(
            serde_json::to_value(&again.resolved).unwrap(),
            serde_json::to_value(&study.resolved).unwrap()
        );
    }
}

#[test]
fn an_extrapolation_that_overflows_is_a_run_error() {
    // Doubling every 10 h for 2000 days: 2^4800 cells, beyond any f64. One
    // tissue replicate is enough to show it (the law tests above use eight).
    let text = tissue_study(TUMOUR, "2000 day")
        .replace("interval = \"1 h\"", "interval = \"30 day\"")
        .replace("replicates = 8", "replicates = 1");
    let study = parse(&text);
    let e = tumour_burden::run_biopsy(
        study.biopsy.as_ref().unwrap(),
        study.tissue.as_ref(),
        study.seed,
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("outgrows"), "{e}");
}
