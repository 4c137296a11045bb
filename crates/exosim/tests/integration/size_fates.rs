//! Size-dependent fates in the body: lung capillary trapping and release,
//! splenic filtering, the liver's fenestrae and macrophages' preference for
//! large particles. The laws are checked on the assembled network; the
//! calibrated defaults against the published organ pattern of small and
//! large EVs (docs/references.md#kang-2021).

use std::path::Path;

use exosim::body::ClassSummary;
use exosim::body::model::{Organ, SMALL_EV_DIAMETER};
use exosim::body::pbpk::{self, Place};

use exosim::run::{RunResult, run};
use exosim::scenario::{Study, load_study, parse_study};

const HOUR: f64 = 3600.0;

fn shipped() -> (Study, RunResult) {
    let study = load_study(Path::new("../../studies/mouse_small_vs_large.toml")).unwrap();
    let result = run(&study, |_| {}).unwrap();
    (study, result)
}

fn class<'a>(r: &'a RunResult, name: &str) -> &'a ClassSummary {
    r.summaries
        .iter()
        .find(|s| s.vesicles == name)
        .unwrap_or_else(|| panic!("no class {name}"))
}

/// Share of the dose in `organ` at `hours`.
fn share(c: &ClassSummary, organ: &str, hours: f64) -> f64 {
    c.fraction_of_dose[&format!("{}", hours * HOUR)][organ]
}

const ORGANS: [&str; 8] = [
    "liver", "spleen", "lungs", "kidneys", "heart", "brain", "gut", "rest",
];

/// The organ holding the most at `hours`.
fn first(c: &ClassSummary, hours: f64) -> &'static str {
    ORGANS
        .into_iter()
        .max_by(|a, b| share(c, a, hours).total_cmp(&share(c, b, hours)))
        .unwrap()
}

/// Kang et al. 2021 (systematic review, docs/references.md#kang-2021): small
/// EVs are most abundant in the liver; large EVs most abundant in the lungs,
/// peaking in the first hour and falling between 2 and 12 h while the liver
/// rises; spleen typically low, kidneys moderate to low.
#[test]
fn kang_2021_small_evs_liver_first_large_evs_lungs_first() {
    let (_, r) = shipped();
    let (small, large) = (class(&r, "small"), class(&r, "large"));
    for h in [10.0 / 60.0, 1.0, 2.0, 6.0, 12.0, 24.0] {
        assert_eq!(first(small, h), "liver", "small EVs at {h} h");
    }
    for h in [10.0 / 60.0, 1.0, 2.0, 6.0, 12.0] {
        assert_eq!(first(large, h), "lungs", "large EVs at {h} h");
    }
    assert!(large.peak_time_s["lungs"] <= 1.0 * HOUR);
    assert!(share(large, "lungs", 12.0) < 0.75 * share(large, "lungs", 2.0));
    assert!(share(large, "liver", 12.0) > 1.5 * share(large, "liver", 1.0));
    for h in [1.0, 6.0, 24.0] {
        assert!(share(large, "spleen", h) < 0.1, "spleen low at {h} h");
        assert!(share(large, "kidneys", h) < share(large, "liver", h));
    }
    assert!(share(large, "lungs", 1.0) > 0.5 && share(small, "lungs", 1.0) < 0.1);
}

/// The lungs' share at 1 h rises with diameter from 100 to 500 nm, where
/// trapping saturates, and the liver's falls from 300 nm; past 500 nm the
/// lungs keep more than 80 % (macrophages' liking for large particles then
/// takes slightly more of what the lungs release).
#[test]
fn lung_share_rises_with_diameter() {
    let mut last = (0.0, f64::INFINITY);
    for d in [100, 200, 300, 400, 500, 700, 1000] {
        let text = format!(
            "[study]\nname = \"d\"\nduration = \"1 h\"\noutput_interval = \"10 min\"\n\
             report_times = [\"1 h\"]\n[[vesicles]]\nname = \"ev\"\ndiameter = \"{d} nm\"\n\
             [[doses]]\nvesicles = \"ev\"\nroute = \"iv_bolus\"\namount = 1e10\n"
        );
        let r = run(&parse_study(&text, "d.toml").unwrap(), |_| {}).unwrap();
        let c = &r.summaries[0];
        let (lungs, liver) = (share(c, "lungs", 1.0), share(c, "liver", 1.0));
        if d <= 500 {
            assert!(lungs >= last.0, "{d} nm: lungs {lungs} < {}", last.0);
        } else {
            assert!(lungs > 0.8, "{d} nm: lungs {lungs}");
        }
        if (300..=500).contains(&d) {
            assert!(liver <= last.1, "{d} nm: liver {liver} > {}", last.1);
        }
        last = (lungs, liver);
    }
}

fn network_of(text: &str) -> (Study, pbpk::ArmModel) {
    let study = parse_study(text, "laws.toml").unwrap();
    let model = pbpk::build(&study.plan(), &study.arms[0]);
    (study, model)
}

/// The rate constant of the transfer `from → to`, 0 when absent.
fn rate(model: &pbpk::ArmModel, from: usize, to: usize) -> f64 {
    model
        .network
        .transfers
        .iter()
        .filter(|t| t.from == from && t.to == to)
        .map(|t| t.rate)
        .sum()
}

/// Clearance that extracts `e` of `q` per passage: `Q·E/(1−E)`.
fn clearance(q: f64, e: f64) -> f64 {
    q * e / (1.0 - e)
}

fn logistic(d: f64, d50: f64, w: f64) -> f64 {
    1.0 / (1.0 + (-(d - d50) / w).exp())
}

const LAWS: &str = r#"
[study]
name = "laws"
duration = "1 h"
output_interval = "10 min"
[body]
species = "mouse"
lung_trapping = { d50 = "350 nm", width = "40 nm", max_extraction = 0.3, release_rate = "0.5 /h" }
spleen_filtering = { d50 = "250 nm", width = "30 nm", max_extraction = 0.4 }
liver_fenestrae = { diameter = "140 nm", width = "20 nm" }
[body.organs]
liver = { uptake_extraction = 0.01 }
spleen = { uptake_extraction = 0.02 }
[[vesicles]]
name = "ev"
diameter = "300 nm"
[[doses]]
vesicles = "ev"
route = "iv_bolus"
amount = 1e10
"#;

/// Each size filter's rate is the closed form of its law at 300 nm: lung
/// trapping `CL(Q_co, E_max·σ((d−d50)/w))` into the trapped pool and its
/// release to arterial blood; splenic filtering combined with ordinary uptake
/// as `1 − (1−E)(1−F(d))`; hepatocyte uptake `E·1/(1+exp((d−d_f)/w))`.
#[test]
fn size_filter_rates_follow_their_laws() {
    let (study, model) = network_of(LAWS);
    let body = &study.arms[0].body;
    let cs = &model.classes[0];
    let d = 300e-9;
    let idx = |o: Organ| body.organs.iter().position(|p| p.organ == o).unwrap();
    let (lungs, spleen, liver) = (idx(Organ::Lungs), idx(Organ::Spleen), idx(Organ::Liver));
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();

    let co = body.cardiac_output;
    let vv = body.organs[lungs].vascular_volume;
    let trap = clearance(co, 0.3 * logistic(d, 350e-9, 40e-9)) / vv;
    assert!(rel(rate(&model, cs.vascular[lungs], cs.lung_trapped), trap) < 1e-12);
    assert!(rel(rate(&model, cs.lung_trapped, cs.arterial), 0.5 / HOUR) < 1e-12);

    let sp = &body.organs[spleen];
    let e = 1.0 - (1.0 - 0.02) * (1.0 - 0.4 * logistic(d, 250e-9, 30e-9));
    let want = clearance(sp.blood_flow, e) / sp.vascular_volume;
    assert!(rel(rate(&model, cs.vascular[spleen], cs.tissue[spleen]), want) < 1e-12);

    let lv = &body.organs[liver];
    let q_liver: f64 = body
        .organs
        .iter()
        .filter(|p| matches!(p.organ, Organ::Liver | Organ::Gut | Organ::Spleen))
        .map(|p| p.blood_flow)
        .sum();
    let passage = 1.0 - logistic(d, 140e-9, 20e-9);
    let want = clearance(q_liver, 0.01 * passage) / lv.vascular_volume;
    assert!(rel(rate(&model, cs.vascular[liver], cs.tissue[liver]), want) < 1e-12);
}

/// Macrophage recognition relative to 100 nm small EVs:
/// `s(d)/s(100 nm)` with `s(d) = 1 + gain·σ((d − d50)/w)`; exactly 1 at
/// 100 nm, so the small-EV calibration is untouched.
#[test]
fn macrophage_size_preference_is_relative_to_small_evs() {
    let (study, _) = network_of(LAWS);
    let body = &study.arms[0].body;
    let mps = body.mps;
    let mut vc = study.vesicles[0].clone();
    let s = |d: f64| 1.0 + mps.size_gain * logistic(d, mps.size_d50, mps.size_width);
    vc.diameter = SMALL_EV_DIAMETER;
    assert_eq!(mps.recognition(&vc), 1.0);
    vc.diameter = 300e-9;
    let want = s(300e-9) / s(SMALL_EV_DIAMETER);
    assert!((mps.recognition(&vc) - want).abs() < 1e-12 * want);
}

/// Trapped vesicles are reported with the lungs (most of a 500 nm dose lodges
/// there), and every vesicle stays accounted for: the balance closes to 1e-9.
#[test]
fn trapped_vesicles_count_in_the_lungs_and_balance_closes() {
    let (_, r) = shipped();
    for s in &r.summaries {
        assert!(s.mass_balance_relative_error < 1e-9, "{}", s.vesicles);
    }
    let course = &r.arms[0];
    let large = &course.classes[1];
    let lungs = large.series(Place::Tissue(Organ::Lungs)).unwrap();
    assert!(lungs.iter().cloned().fold(0.0, f64::max) > 0.8e10);
}

/// A filter's bad values are refused where they are written.
#[test]
fn bad_size_filters_are_located() {
    for (body, key) in [
        (
            "lung_trapping = { release_rate = \"-1 /h\" }",
            "body.lung_trapping.release_rate",
        ),
        (
            "spleen_filtering = { max_extraction = 1.0 }",
            "body.spleen_filtering.max_extraction",
        ),
        (
            "spleen_filtering = { d50 = \"0 nm\" }",
            "body.spleen_filtering.d50",
        ),
        (
            "liver_fenestrae = { width = \"0 nm\" }",
            "body.liver_fenestrae.width",
        ),
        (
            "liver_fenestrae = { diameter = \"-5 nm\" }",
            "body.liver_fenestrae.diameter",
        ),
        ("mps = { size_gain = -1 }", "body.mps.size_gain"),
    ] {
        let text = format!(
            "[study]\nname = \"bad\"\nduration = \"1 h\"\noutput_interval = \"10 min\"\n\
             [body]\nspecies = \"mouse\"\n{body}\n[[vesicles]]\nname = \"ev\"\n\
             [[doses]]\nvesicles = \"ev\"\nroute = \"iv_bolus\"\namount = 1e10\n"
        );
        let e = parse_study(&text, "bad.toml").unwrap_err().to_string();
        assert!(e.contains(key), "{body}: {e}");
        assert!(e.contains("bad.toml:"), "{body}: no line in {e}");
    }
}
