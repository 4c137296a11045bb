//! Bacterial vesicles from the gut lumen: the lumen's first-order law, the
//! barrier as the only way into blood, the published order of the
//! conditions (docs/references.md#tulkens-2020), and bad barrier input.

use std::path::Path;

use exosim::body::pbpk::Place;
use exosim::run::{RunResult, run};
use exosim::scenario::{load_study, parse_study};

fn study_text(barrier: &str, source: &str) -> String {
    format!(
        "[study]\nname = \"gut\"\nduration = \"3 day\"\noutput_interval = \"2 h\"\n\
         report_times = [\"3 day\"]\n[body]\nspecies = \"human\"\n{barrier}\n\
         [[vesicles]]\nname = \"omv\"\ndiameter = \"80 nm\"\n\
         [[sources]]\nvesicles = \"omv\"\n{source}\n"
    )
}

fn run_text(text: &str) -> RunResult {
    run(&parse_study(text, "gut.toml").unwrap(), |_| {}).unwrap()
}

/// The lumen receives `R` and loses `(p·k + transit)·L`:
/// `L(t) = R/κ · (1 − e^{−κt})`, κ = p·k + transit, to 1e-6 at every output.
#[test]
fn lumen_follows_its_first_order_law() {
    let text = study_text(
        "gut_barrier = { permeability = 0.3, translocation_rate = \"0.4 /h\", transit_rate = \"0.05 /h\" }",
        "site = \"gut_lumen\"\nrate = \"6e10 /h\"",
    );
    let r = run_text(&text);
    let kappa = (0.3 * 0.4 + 0.05) / 3600.0;
    let rate = 6e10 / 3600.0;
    let course = &r.arms[0];
    let lumen = course.classes[0].series(Place::GutLumen).unwrap();
    for (t, l) in course.times.iter().zip(lumen).skip(1) {
        let exact = rate / kappa * (1.0 - (-kappa * t).exp());
        assert!((l / exact - 1.0).abs() < 1e-6, "t {t}: {l} vs {exact}");
    }
    assert!(r.summaries[0].mass_balance_relative_error < 1e-9);
}

/// A sealed barrier keeps every bacterial vesicle out of the body: blood
/// and organs stay at exactly 0; the same source into blood does not.
#[test]
fn a_sealed_barrier_keeps_them_out_of_blood() {
    let sealed = run_text(&study_text(
        "gut_barrier = { permeability = 0.0 }",
        "site = \"gut_lumen\"\nrate = \"1e10 /h\"",
    ));
    let blood = sealed.arms[0].classes[0].series(Place::Blood).unwrap();
    assert!(blood.iter().all(|&b| b == 0.0));
    let into_blood = run_text(&study_text("", "rate = \"1e10 /h\""));
    let blood = into_blood.arms[0].classes[0].series(Place::Blood).unwrap();
    assert!(blood.last().unwrap() > &0.0);
}

/// Tulkens et al. 2020: LPS-positive bacterial EVs are higher in the plasma
/// of patients with IBD, mucositis and HIV than without barrier
/// dysfunction; in `studies/gut_barrier_blood_test.toml` every condition's
/// plasma level at 7 days exceeds the healthy one, in the order of the
/// presets' permeabilities.
#[test]
fn barrier_dysfunction_raises_the_plasma_level() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/gut_barrier_blood_test.toml");
    let r = run(&load_study(&path).unwrap(), |_| {}).unwrap();
    let level = |arm: &str| {
        r.summaries
            .iter()
            .find(|s| s.arm == arm)
            .unwrap()
            .plasma_per_ml["604800"]
    };
    let healthy = level("healthy");
    assert!(healthy > 0.0);
    assert!(level("hiv") > 1.5 * healthy);
    assert!(level("ibd") > level("hiv"));
    assert!(level("mucositis") > level("ibd"));
    for s in &r.summaries {
        assert!(s.mass_balance_relative_error < 1e-9, "{}", s.arm);
    }
}

/// A permeability outside [0, 1], an unknown condition or an unknown
/// release site is refused where it is written.
#[test]
fn bad_barrier_input_is_located() {
    for (barrier, source, key) in [
        (
            "gut_barrier = { permeability = 1.5 }",
            "rate = \"1 /h\"",
            "body.gut_barrier.permeability",
        ),
        (
            "gut_barrier = { permeability = -0.1 }",
            "rate = \"1 /h\"",
            "body.gut_barrier.permeability",
        ),
        (
            "gut_barrier = { condition = \"crohn\" }",
            "rate = \"1 /h\"",
            "body.gut_barrier.condition",
        ),
        (
            "gut_barrier = { transit_rate = \"-1 /h\" }",
            "rate = \"1 /h\"",
            "body.gut_barrier.transit_rate",
        ),
        ("", "rate = \"1 /h\"\nsite = \"colon\"", "sources[0].site"),
    ] {
        let text = study_text(barrier, source);
        let e = parse_study(&text, "gut.toml").unwrap_err().to_string();
        assert!(
            e.contains(key) && e.contains("gut.toml:"),
            "{barrier} {source}: {e}"
        );
    }
}
