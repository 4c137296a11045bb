//! Release inhibitors on the liquid biopsy's shedding (`[[drugs]]`
//! `markers`): the blood level against the first-order closed forms under
//! a drug held at a constant concentration (the steady level scaled by
//! `1 − I(C)`, the approach `e^{−kt}` to it), against a quadrature of the
//! drug's own closed form after it stops, the return to the untreated
//! level after washout, the detection curve's shift by `F̄^{−1/3}`, the
//! screening's threshold crossing, thread independence and the located
//! errors.

use std::sync::Arc;

use exosim::biopsy::growth::GrowthLaw;
use exosim::biopsy::kinetics::{BloodKinetics, MarkerKinetics};
use exosim::biopsy::release::{ReleaseInhibition, TABLE_TOLERANCE};
use exosim::biopsy::screening::{ScreeningModel, screen_cohort, screen_cohort_parallel};
use exosim::drug::{Disposition, Drug, DrugAction, DrugDose, DrugRoute};
use exosim::scenario::parse_study;
use serde_json::Value;

use super::study_errors::{error, line_of};

/// Blood: 7 min half-life, background 10 /s, 1 m³ of plasma (amounts).
fn blood() -> BloodKinetics {
    BloodKinetics {
        background: 10.0,
        elimination_rate: 2f64.ln() / 420.0,
        plasma_volume: 1.0,
    }
}

/// One compartment (V = 1, CL = 1e-4 m³/s: k10 = 1e-4 /s) held at
/// `css` = EC50 from `on` to `off` (s) by a loading bolus `Css·V` and an
/// infusion at `CL·Css` (one-compartment pharmacokinetics: exactly
/// constant), Emax 0.8, Hill 2.
fn constant_drug(on: f64, off: f64) -> Drug {
    let css = 1e20;
    Drug {
        name: "held".into(),
        disposition: Disposition::OneCompartment {
            clearance: 1e-4,
            volume: 1.0,
        },
        absorption: None,
        doses: vec![
            DrugDose {
                route: DrugRoute::IvBolus,
                amount: css,
                times: vec![on],
            },
            DrugDose {
                route: DrugRoute::IvInfusion { duration: off - on },
                amount: 1e-4 * css * (off - on),
                times: vec![on],
            },
        ],
        action: DrugAction {
            emax: 0.8,
            ec50: css,
            hill: 2.0,
        },
    }
}

/// A tumour held at `cells` (exponential growth at rate 0) shedding 1e-3
/// per cell per second under `release`.
fn held<'a>(cells: f64, release: Option<&'a ReleaseInhibition>) -> MarkerKinetics<'a> {
    MarkerKinetics {
        growth: GrowthLaw::Exponential { rate: 0.0 },
        initial_cells: cells,
        source_per_cell: 1e-3,
        blood: blood(),
        modes: None,
        burden: None,
        release,
    }
}

/// Under a drug held at EC50 (I = emax/2 = 0.4 for any Hill coefficient,
/// F = 0.6), the level of a held tumour approaches the steady level
/// (B + s·N·F)/k as the first-order solution
/// `M(t) = M* + (M(on) − M*)·e^{−k(t − on)}`, M* = (B + sNF)/k, and holds it: the
/// steady level is exactly F times the untreated tumour part; relative
/// error below 10⁻⁶ at every test time.
#[test]
fn a_drug_at_constant_concentration_scales_the_steady_level_with_first_order_approach() {
    let (on, off) = (3_600.0, 30_000.0);
    let drug = constant_drug(on, off);
    let r = ReleaseInhibition::new(std::slice::from_ref(&drug), 1.0, None).expect("table");
    let n = 1e6;
    let kin = held(n, Some(&r));
    let (b, k, s) = (10.0, blood().elimination_rate, 1e-3 * n);
    let f = 0.6;
    let mut state = kin.baseline_state();
    // From tumour-free steady state: first let the tumour's level settle.
    kin.advance_state(&mut state, 0.0, 1_000.0, 1e9);
    let mut t = 1_000.0;
    let mut worst: f64 = 0.0;
    for at in [
        2_000.0,
        on,
        on + 60.0,
        on + 420.0,
        on + 1_800.0,
        20_000.0,
        off,
    ] {
        let m = kin.advance_state(&mut state, t, at, 1e9);
        t = at;
        let untreated = |t: f64| (b + s) / k - s / k * (-k * t).exp();
        let exact = if at < on {
            untreated(at)
        } else {
            let steady = (b + s * f) / k;
            steady + (untreated(on) - steady) * (-k * (at - on)).exp()
        };
        worst = worst.max(((m - exact) / (s / k)).abs());
    }
    println!("constant drug: worst {worst:e} of the tumour's part");
    assert!(worst < 1e-6, "worst {worst:e}");
    // The held factor is F to the same tolerance deep in the constant phase.
    let held_f = kin.held_release_factor(20_000.0);
    assert!((held_f - f).abs() < 1e-6, "{held_f}");
}

/// After the infusion stops, C falls as e^{−k10·u} and the level follows
/// `M(t) = M(off)e^{−kΔ} + sN∫e^{−k(t−u)}(1 − I(C(u)))du`: the table's
/// stepping against composite Simpson quadrature of the drug's own closed
/// form (10⁵ panels), within 10·TABLE_TOLERANCE of the tumour's part; long
/// after (the table's end) the level is the untreated one to 10⁻⁹.
#[test]
fn after_the_drug_stops_the_level_follows_its_washout_and_returns_to_untreated() {
    let (on, off) = (0.0, 20_000.0);
    let drug = constant_drug(on, off);
    let r = ReleaseInhibition::new(std::slice::from_ref(&drug), 1.0, None).expect("table");
    let n = 1e6;
    let kin = held(n, Some(&r));
    let (b, k, s) = (10.0, blood().elimination_rate, 1e-3 * n);
    let start = (b + s * 0.6) / k;
    let quadrature = |t: f64| {
        let panels = 100_000;
        let h = (t - off) / panels as f64;
        let g = |u: f64| (-k * (t - u)).exp() * (1.0 - drug.action.at(drug.concentration(u)));
        let mut sum = g(off) + g(t);
        for i in 1..panels {
            sum += g(off + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        start * (-k * (t - off)).exp() + b * (1.0 - (-k * (t - off)).exp()) / k + s * sum * h / 3.0
    };
    let held_from = |t: f64| {
        // The held level at t from the untreated steady state at 0.
        (b + s * kin.held_release_factor(t)) / k
    };
    let mut worst: f64 = 0.0;
    for t in [off + 600.0, off + 3_600.0, off + 10_000.0, off + 40_000.0] {
        worst = worst.max(((held_from(t) - quadrature(t)) / (s / k)).abs());
    }
    println!("after the drug: worst {worst:e} of the tumour's part against quadrature");
    assert!(worst < 10.0 * TABLE_TOLERANCE, "worst {worst:e}");
    let washed = held_from(r.end() + 3_600.0);
    let untreated = (b + s) / k;
    assert!(
        ((washed - untreated) / untreated).abs() < 1e-9,
        "{washed} vs {untreated}"
    );
}

/// The screening's exact crossing (deterministic mode, exponential growth)
/// under a drug held at EC50 for the whole programme equals the crossing of
/// the untreated tumour shedding `F·s` per cell: the closed form
/// `ExponentialSource::crossing_time`, to 10⁻⁶ of the time.
#[test]
fn a_constant_drug_delays_the_crossing_as_a_tumour_shedding_f_times_less() {
    let mut model = ScreeningModel::example();
    model.tumour.growth = GrowthLaw::Exponential {
        rate: 2f64.ln() / (60.0 * 86_400.0),
    };
    model.deterministic = true;
    model.variability = Default::default();
    model.duration = 5.0 * 365.25 * 86_400.0;
    let drug = constant_drug(0.0, model.duration + 1.0);
    let r = ReleaseInhibition::new(std::slice::from_ref(&drug), 1.0, None).expect("table");
    let mut treated = model.clone();
    treated.release = Some(Arc::new(r));
    let mut scaled = model.clone();
    scaled.shedding.per_live_cell *= 0.6;
    let a = treated.deterministic_crossing().expect("crossed");
    let b = scaled.deterministic_crossing().expect("crossed");
    let untreated = model.deterministic_crossing().expect("crossed");
    println!(
        "crossing: treated {} d, scaled {} d, untreated {} d",
        a.time / 86_400.0,
        b.time / 86_400.0,
        untreated.time / 86_400.0
    );
    assert!(
        ((a.time - b.time) / b.time).abs() < 1e-6,
        "{} vs {}",
        a.time,
        b.time
    );
    assert!(a.time > untreated.time);
}

/// A screening cohort under a drug takes the general path; its summary is
/// the same whatever the thread count and chunk size (each individual has
/// its own stream).
#[test]
fn a_treated_cohort_is_independent_of_threads_and_chunks() {
    let mut model = ScreeningModel::example();
    model.duration = 2.0 * 365.25 * 86_400.0;
    model.interval = 30.0 * 86_400.0;
    let drug = constant_drug(86_400.0, 200.0 * 86_400.0);
    model.release = Some(Arc::new(
        ReleaseInhibition::new(&[drug], 1.0, None).expect("table"),
    ));
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    };
    let one = pool(1).install(|| screen_cohort_parallel(&model, 300, 5, 16));
    let two = pool(2).install(|| screen_cohort_parallel(&model, 300, 5, 7));
    assert_eq!(one, two);
    assert_eq!(one, screen_cohort(&model, 300, 5, 1_000));
}

fn shipped() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../studies/biopsy_release_inhibitor.toml"),
    )
    .unwrap()
}

fn run_summary(text: &str) -> Value {
    let study = parse_study(text, "s.toml").unwrap();
    let result = exosim::run::run(&study, |_| {}).unwrap();
    serde_json::to_value(exosim::run::summary(&study, &result)).unwrap()
}

/// With the drug slow against the blood, every individual's held factor is
/// near the nominal F̄, so the tumour's input at diameter d under the drug is
/// the untreated one at d·F̄^{1/3} (N ∝ d³): the 50 % and 90 % detectable
/// diameters grow by F̄^{−1/3} within 1 % (the Monte Carlo noise of the
/// two curves, drawn at the same diameters, and their interpolation on 400
/// points); the sensitivity at 1 cm falls.
#[test]
fn an_inhibitor_shifts_the_detectable_diameter_by_the_cube_root_of_its_factor() {
    let text = shipped().replace("burden = \"steady\"", "burden = \"steady\"\npoints = 400");
    let s = run_summary(&text);
    let t = &s["biopsy"]["tests"][0];
    let r = &t["release_inhibition"];
    let held = r["held_release_factor_at_draw"].as_f64().unwrap();
    assert!(held > 0.4 && held < 0.6, "{held}");
    for key in ["minimal_diameter_50", "minimal_diameter_90"] {
        let treated = t[key].as_f64().unwrap();
        let untreated = r["untreated"][key].as_f64().unwrap();
        let ratio = treated / untreated / held.powf(-1.0 / 3.0);
        println!("{key}: {treated} vs {untreated} untreated, ratio/F̄^(-1/3) = {ratio}");
        assert!((ratio - 1.0).abs() < 0.01, "{key}: {ratio}");
    }
    let sens = t["sensitivity_at_roc_diameter"].as_f64().unwrap();
    let untreated = r["untreated"]["sensitivity_at_roc_diameter"]
        .as_f64()
        .unwrap();
    assert!(sens < untreated, "{sens} vs {untreated}");
}

#[test]
fn an_unknown_marker_gets_a_did_you_mean() {
    let text = shipped().replace("markers = [\"EpCAM+ EVs\"]", "markers = [\"EpCAM EVs\"]");
    let e = error(&text);
    assert_eq!(e.key, "drugs[0].markers[0]");
    assert_eq!(e.line, line_of(&text, "markers = [\"EpCAM EVs\"]"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `EpCAM+ EVs`?"));
}

#[test]
fn a_marker_drug_without_a_biopsy_is_refused() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../studies/mouse_release_inhibitor.toml"),
    )
    .unwrap()
        + "\n[[drugs]]\nname = \"d\"\nclearance = \"7 mL/h\"\nvolume = \"30 mL\"\nec50 = \"3 uM\"\nmarkers = [\"m\"]\n";
    let e = error(&text);
    assert_eq!(e.key, "drugs[0].markers[0]");
    assert!(e.message.contains("no `[biopsy]`"), "{}", e.message);
}

#[test]
fn a_held_tumour_under_a_drug_needs_a_draw_time() {
    let text = shipped().replace("draw_time = \"99 h\"", "");
    let e = error(&text);
    assert_eq!(e.key, "biopsy.curve");
    assert!(e.message.contains("pddc"), "{}", e.message);
    assert!(e.hint.unwrap().contains("draw_time"));
}

#[test]
fn a_draw_time_without_a_drug_on_the_marker_is_refused() {
    let text = shipped().replace("markers = [\"EpCAM+ EVs\"]", "cell_types = []");
    let text = text.replace("[[drugs]]", "[[unused]]");
    let text = text[..text.find("[[unused]]").unwrap()].to_string()
        + &text[text.find("[biopsy]").unwrap()..];
    let e = error(&text);
    assert_eq!(e.key, "biopsy.curve.draw_time");
    assert_eq!(e.line, line_of(&text, "draw_time = \"99 h\""));
}

#[test]
fn a_marker_with_no_live_release_is_refused() {
    let text = shipped().replace(
        "per_live_cell = \"60 /h\"",
        "per_live_cell = \"0 /h\"\nper_dying_cell = 100\ndeath_rate = \"0.01 /day\"",
    );
    let e = error(&text);
    assert_eq!(e.key, "drugs[0].markers[0]");
    assert!(e.message.contains("live"), "{}", e.message);
}

#[test]
fn an_arm_drug_cannot_act_on_the_marker() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../studies/mouse_release_inhibitor.toml"),
    )
    .unwrap()
    .replace(
        "sources = [\"tumour\", \"healthy\"]",
        "sources = [\"tumour\", \"healthy\"]\nmarkers = [\"m\"]",
    );
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0].markers");
    assert_eq!(e.line, line_of(&text, "markers = [\"m\"]"));
}

/// A drug absorbed within 10⁻²⁶ s but dosed every 12 h would need 10³⁰
/// knots in its shedding table: the study is refused at the drug (the
/// reader once tried to allocate them; the fuzz test found it).
#[test]
fn a_course_too_fine_to_tabulate_is_refused_at_the_drug() {
    let text = shipped().replace("ka = \"1 /h\"", "ka = \"1e30 /h\"");
    let e = error(&text);
    assert_eq!(e.key, "drugs[0]");
    assert!(e.message.contains("knots"), "{}", e.message);
    assert!(e.hint.unwrap().contains("`ka`"));
    // A fast drug within the bound still tabulates.
    let fast = shipped().replace("ka = \"1 /h\"", "ka = \"100 /h\"");
    assert!(parse_study(&fast, "s.toml").is_ok());
}
