//! The `[biopsy]` section end to end: a branching tumour chosen in the study
//! file, the resolved study with every default written out (and read back),
//! and false positives kept apart from detections.

use exosim::run;
use exosim::scenario::{Study, StudySpec, parse_study};

/// A small screening study; `tumour` is the `[biopsy.tumour]` table's body.
fn study_text(tumour: &str, extra: &str) -> String {
    format!(
        r#"
[study]
name = "branching_screen"
seed = 11
duration = "1 day"

[biopsy]
cohort = 2000
healthy_cohort = 2000
{extra}

[biopsy.tumour]
{tumour}

[biopsy.marker]
name = "tumour EVs"
per_live_cell = "60 /h"
fraction_to_blood = 0.01
background_concentration = "1e4 /mL"
half_life = "7 min"

[biopsy.variability]
background_cv = 0.5
shedding_cv = 0.5

[[biopsy.tests]]
name = "digital"
isolation = "immunocapture"
assay = "digital_plasmonic"

[biopsy.curve]
points = 5

[biopsy.screening]
interval = "1 year"
duration = "20 year"
"#
    )
}

const BRANCHING: &str = r#"
growth = "branching"
birth_rate = "0.03 /day"
death_rate = "0.02 /day"
switch_cells = 2000
"#;

// As in `scenario`: a study error is built once, at the edge.
#[allow(clippy::result_large_err)]
fn parse(text: &str) -> Study {
    parse_study(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn summary_json(study: &Study) -> serde_json::Value {
    let result = run::run(study, |_| {}).expect("the study runs");
    serde_json::to_value(run::summary(study, &result)).unwrap()
}

/// A study selects the birth–death branching process from one cell; every
/// screened tumour follows its own surviving lineage, and the share of
/// lineages that survive estimates 1 − d/b (docs/references.md#kendall-1948: the extinction
/// probability of a linear birth–death process from one cell is d/b), which
/// must lie in the run's own 95 % interval.
#[test]
fn branching_tumour_runs_and_survives_with_probability_one_minus_d_over_b() {
    let study = parse(&study_text(BRANCHING, ""));
    let s = summary_json(&study);
    let screening = &s["biopsy"]["tests"][0]["screening"];
    assert_eq!(screening["n"], 2000);
    assert!(screening["detected"].as_u64().unwrap() > 0, "{screening}");
    let survival = &screening["lineage_survival"];
    let share = survival["share"].as_f64().unwrap();
    let (lo, hi) = (
        survival["interval"][0].as_f64().unwrap(),
        survival["interval"][1].as_f64().unwrap(),
    );
    let expected = 1.0 - 0.02 / 0.03;
    assert!(
        lo <= expected && expected <= hi,
        "survival {share} ({lo}–{hi}), expected {expected}"
    );
    // The marker's dying cells default to the tumour's death rate.
    let marker = &s["resolved_study"]["biopsy"]["marker"];
    assert_eq!(
        marker["death_rate"],
        s["resolved_study"]["biopsy"]["tumour"]["death_rate"]
    );
}

/// Misplaced or missing keys of a branching tumour are located errors with a hint.
#[test]
fn branching_errors_name_the_key() {
    let e = |tumour: &str| {
        parse_study(&study_text(tumour, ""), "t.toml")
            .expect_err("an error")
            .to_string()
    };
    let msg = e("growth = \"branchng\"\nbirth_rate = \"1 /day\"\ndeath_rate = \"0.5 /day\"");
    assert!(msg.contains("did you mean `branching`"), "{msg}");
    let msg = e("growth = \"branching\"\nbirth_rate = \"1 /day\"");
    assert!(msg.contains("death_rate"), "{msg}");
    let msg = e("growth = \"branching\"\nbirth_rate = \"0.5 /day\"\ndeath_rate = \"0.5 /day\"");
    assert!(msg.contains("dies out"), "{msg}");
    let msg = e(
        "growth = \"branching\"\nbirth_rate = \"1 /day\"\ndeath_rate = \"0.5 /day\"\ndoubling_time = \"2 day\"",
    );
    assert!(
        msg.contains("doubling_time") && msg.contains("does not apply"),
        "{msg}"
    );
    let msg = e("growth = \"exponential\"\ndoubling_time = \"60 day\"\nbirth_rate = \"1 /day\"");
    assert!(
        msg.contains("birth_rate") && msg.contains("does not apply"),
        "{msg}"
    );
    let msg = e("growth = \"exponential\"");
    assert!(msg.contains("doubling_time"), "{msg}");
    let msg = parse_study(&study_text(BRANCHING, "deterministic = true"), "t.toml")
        .expect_err("an error")
        .to_string();
    assert!(msg.contains("stochastic"), "{msg}");
}

/// The resolved study writes out every default of `[biopsy]` and
/// `[signature]`, reads back as a valid study, and resolving it again
/// changes nothing (a fixed point).
#[test]
fn resolved_biopsy_and_signature_sections_are_complete_and_read_back() {
    let gompertz = r#"
growth = "gompertz"
doubling_time = "120 day"
capacity_diameter = "15 cm"
"#;
    let signature = r#"
[signature]
cohort = 100
markers = [
  { name = "CD41+ EVs", healthy_median = "1e8 /mL", cv = 0.5 },
]

[[signature.conditions]]
name = "lupus"
fold_change = [1.6]
"#;
    for tumour in [gompertz, BRANCHING] {
        let text = study_text(tumour, "") + signature;
        let study = parse(&text);
        let resolved = &study.resolved;
        let b = resolved.biopsy.as_ref().expect("biopsy section");
        assert!(b.cohort.is_some() && b.healthy_cohort.is_some() && b.deterministic.is_some());
        let tumour_spec = b.tumour.as_ref().expect("a tumour");
        assert!(tumour_spec.cells_per_volume.is_some());
        assert!(b.marker.sampling.is_some() && b.marker.plasma_volume.is_some());
        assert!(b.marker.per_dying_cell.is_some() && b.marker.death_rate.is_some());
        assert!(b.variability.elimination_cv.is_some());
        let t = &b.tests[0];
        assert!(
            t.blood_volume.is_some()
                && t.plasma_fraction.is_some()
                && t.recovery_mean.is_some()
                && t.recovery_cv.is_some()
                && t.nonvesicle_carry_over.is_some()
                && t.input_volume.is_some()
                && t.cv.is_some()
                && t.lod.is_some()
                && t.replicates.is_some()
                && t.nonvesicle_weight.is_some()
        );
        assert_eq!(b.decision.specificity, Some(0.95));
        assert!(b.curve.from.is_some() && b.curve.to.is_some() && b.curve.burden.is_some());
        assert!(b.screening.as_ref().unwrap().max_step.is_some());
        if tumour == BRANCHING {
            assert!(tumour_spec.switch_cells.is_some() && tumour_spec.doubling_time.is_none());
        } else {
            assert!(tumour_spec.initial_diameter.is_some() && tumour_spec.birth_rate.is_none());
        }
        assert!(resolved.signature.is_some());

        // Written as TOML and read back: a valid study, and a fixed point.
        let written = toml::to_string(resolved).expect("the resolved study is TOML");
        let again = parse_study(&written, "resolved.toml")
            .unwrap_or_else(|e| panic!("the resolved study does not read back: {e}\n{written}"));
        let first: StudySpec = resolved.clone();
        assert_eq!(
            serde_json::to_value(&again.resolved).unwrap(),
            serde_json::to_value(&first).unwrap(),
            "resolving the resolved study changes it"
        );
    }
}

/// Screening counts false positives apart: among tumour-bearing
/// individuals, positives that the same test without the tumour's share of
/// the sample would also give; and a healthy cohort screened on the same
/// schedule, whose per-test false-positive rate is 1 − specificity of one
/// test (the threshold is set at 95 % specificity, so about 5 %). The
/// detection times then hold no background positives: with a tumour that
/// adds ~2·10⁻⁴ of the background's vesicles, false positives are counted by
/// the thousand and detections are rare (a single tumour vesicle can still
/// tip a test at the threshold: that positive is the tumour's).
#[test]
fn false_positives_are_counted_apart_from_detections() {
    // A tumour of 1 mm that never grows: ~5e5 cells shed far below the
    // background, so every positive is the background's.
    let still = "growth = \"exponential\"\ndoubling_time = \"1e9 year\"";
    let study = parse(&study_text(still, ""));
    let s = summary_json(&study);
    let test = &s["biopsy"]["tests"][0];
    let screening = &test["screening"];
    let fp = screening["false_positives"].as_u64().unwrap();
    let detected = screening["detected"].as_u64().unwrap();
    assert!(detected * 100 < fp, "{screening}");
    let tests = screening["tests"].as_u64().unwrap();
    assert!(fp > 0 && tests >= 20 * 2000 - 2000, "{fp} of {tests}");
    let rate = screening["false_positive_rate_per_screen"]
        .as_f64()
        .unwrap();
    let healthy = &test["healthy_screening"];
    let healthy_rate = healthy["rate_per_screen"].as_f64().unwrap();
    let spec = test["specificity"][0].as_f64().unwrap();
    for r in [rate, healthy_rate] {
        assert!(
            (r - (1.0 - spec)).abs() < 0.02,
            "rate {r} vs 1 − specificity {}",
            1.0 - spec
        );
    }
    assert!(healthy["with_false_positive"].as_u64().unwrap() > 0);

    // A growing tumour: detections, and the false positives still apart.
    let study = parse(&study_text(
        "growth = \"exponential\"\ndoubling_time = \"100 day\"",
        "",
    ));
    let s = summary_json(&study);
    let screening = &s["biopsy"]["tests"][0]["screening"];
    assert!(
        screening["detected"].as_u64().unwrap() > 1900,
        "{screening}"
    );
    assert!(
        screening["false_positives"].as_u64().unwrap() > 0,
        "{screening}"
    );
}

/// The biopsy reports its progress while its cohorts run (after each
/// phase of a test and around each chunk of a screening), not only when
/// it ends, so that a hook that unwinds (as the Python package's Ctrl-C
/// does) stops it there: the shipped ovarian screening (no body arm; the
/// biopsy's share of the way is 0.5 to 1, its one test's six phases a
/// twelfth each) reports every phase and, between phases 4 and 5, the
/// chunks of its screening; a hook that panics at the first report inside
/// the biopsy ends the run with that panic.
#[test]
fn a_biopsy_reports_its_progress_and_a_hook_can_stop_it() {
    use std::sync::Mutex;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../studies/screening_ovarian.toml");
    let study = parse(&std::fs::read_to_string(path).unwrap());
    let heard = Mutex::new(Vec::new());
    run::run(&study, |f| heard.lock().unwrap().push(f)).unwrap();
    let heard = heard.into_inner().unwrap();
    let phase = |k: f64| 0.5 + 0.5 * k / 6.0;
    for k in 1..6 {
        let seen = heard.iter().any(|&f| (f - phase(k as f64)).abs() < 1e-12);
        assert!(seen, "phase {k} reported: {heard:?}");
    }
    let chunks = (heard.iter())
        .filter(|&&f| f > phase(4.0) + 1e-12 && f < phase(5.0) - 1e-12)
        .count();
    assert!(chunks >= 2, "the screening's chunks reported: {heard:?}");
    assert!(heard.iter().all(|f| (0.0..=1.0).contains(f)));
    assert_eq!(heard.last(), Some(&1.0));
    let stopped = std::panic::catch_unwind(|| {
        run::run(&study, |f| {
            if f > 0.5 && f < 1.0 {
                std::panic::panic_any("stopped");
            }
        })
    });
    let payload = stopped.expect_err("the hook's panic ends the run");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"stopped"));
}
