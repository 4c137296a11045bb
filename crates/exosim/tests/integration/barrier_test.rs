//! A blood test for gut barrier dysfunction (`[biopsy]` with
//! `[[biopsy.conditions]]`): the body engine's steady state that sets each
//! condition's level, the test's statistics against their laws (a perfect
//! separation, equal groups, the binormal closed form, the threshold as the
//! healthy quantile), the shipped study's order (Tulkens et al. 2020,
//! docs/references.md#tulkens-2020) and located errors.

use std::path::Path;

use exosim::biopsy::condition_test::{self, DOMAIN, PersonVariability};
use exosim::biopsy::roc;
use exosim::body::{pbpk, steady};
use exosim::run::{RunResult, run};
use exosim::scenario::{Study, load_study, parse_study};

/// A human body with gut-lumen release, arms `healthy` and `ibd` (and a
/// second healthy arm `same`), then `biopsy`.
fn study_text(biopsy: &str, duration: &str) -> String {
    format!(
        "[study]\nname = \"barrier\"\nduration = \"{duration}\"\noutput_interval = \"1 day\"\n\
         report_times = [\"{duration}\"]\n[body]\nspecies = \"human\"\n\
         [[vesicles]]\nname = \"omv\"\ndiameter = \"80 nm\"\nps_exposure = 0.0\n\
         [[vesicles]]\nname = \"other\"\ndiameter = \"100 nm\"\n\
         [[doses]]\nvesicles = \"other\"\namount = 1e9\nroute = \"iv_bolus\"\n\
         [[sources]]\nvesicles = \"omv\"\nsite = \"gut_lumen\"\nrate = \"1e11 /min\"\n\
         [[arms]]\nname = \"healthy\"\nbody = {{ gut_barrier = {{ condition = \"healthy\" }} }}\n\
         [[arms]]\nname = \"ibd\"\nbody = {{ gut_barrier = {{ condition = \"ibd\" }} }}\n\
         [[arms]]\nname = \"same\"\nbody = {{ gut_barrier = {{ condition = \"healthy\" }} }}\n\
         {biopsy}"
    )
}

/// A noise-free test (plasma read directly, exact amounts) of `conditions`.
fn exact_test(conditions: &str, variability: &str, assay_cv: f64) -> String {
    format!(
        "[biopsy]\ncohort = 20000\nhealthy_cohort = 20000\n\
         [biopsy.marker]\nname = \"LPS+\"\nbody_vesicles = \"omv\"\nbody_arm = \"healthy\"\n\
         sampling = \"continuous\"\n[biopsy.variability]\n{variability}\n{conditions}\n\
         [[biopsy.tests]]\nname = \"t\"\nisolation = \"none\"\nassay = \"elisa\"\n\
         cv = {assay_cv}\nreplicates = 1\nlod = \"0 /mL\"\n"
    )
}

fn parse(text: &str) -> Study {
    parse_study(text, "barrier.toml").unwrap()
}

fn run_study(study: &Study) -> RunResult {
    run(study, |_| {}).unwrap()
}

/// The steady state solved by Newton's method is where the simulated
/// course goes: after 40 days (the lumen's slowest time constant is under
/// a day) the BDF course's plasma level of every arm equals it to 10⁻⁵,
/// and the lumen holds R/κ, κ = p·k + T (the lumen's first-order law).
#[test]
fn steady_state_is_where_the_course_goes() {
    let study = parse(&study_text("", "40 day"));
    let r = run_study(&study);
    let plan = study.plan();
    for (arm, course) in study.arms.iter().zip(&r.summaries) {
        let model = pbpk::build(&plan, arm);
        let y = steady::steady_state(arm, &model).unwrap();
        let level = steady::plasma_level(arm, &model, &y, 0).unwrap();
        let simulated = r
            .summaries
            .iter()
            .find(|s| s.arm == arm.name && s.vesicles == "omv")
            .unwrap()
            .plasma_per_ml["3456000"]
            * 1e6;
        assert!(
            (simulated / level - 1.0).abs() < 1e-5,
            "{}: {simulated} vs {level}",
            course.arm
        );
        let b = &arm.body.gut_barrier;
        let lumen = y[model
            .classes
            .iter()
            .find(|c| c.class == 0)
            .unwrap()
            .gut_lumen];
        let exact = 1e11 / 60.0 / (b.permeability * b.translocation + b.transit);
        assert!((lumen / exact - 1.0).abs() < 1e-9, "{lumen} vs {exact}");
    }
}

/// With no assay noise and no variability, everyone of a group reads the
/// group's level: a condition with a higher level is told apart perfectly
/// (AUC 1, sensitivity 1, specificity 1) and a condition at the healthy
/// level not at all (AUC ½: every pair ties).
#[test]
fn without_noise_auc_is_one_for_different_levels_and_half_for_equal_ones() {
    let conditions = "[[biopsy.conditions]]\narm = \"ibd\"\n[[biopsy.conditions]]\narm = \"same\"";
    let study = parse(&study_text(&exact_test(conditions, "", 0.0), "1 day"));
    let t = &run_study(&study).condition_tests[0];
    let (ibd, same) = (&t.conditions[0], &t.conditions[1]);
    assert!(ibd.fold_change > 1.5, "{}", ibd.fold_change);
    assert_eq!(ibd.auc.auc, 1.0);
    assert_eq!(ibd.sensitivity.0, 1.0);
    assert_eq!(t.specificity.0, 1.0);
    assert!((same.fold_change - 1.0).abs() < 1e-12);
    assert_eq!(same.auc.auc, 0.5);
}

/// Log-normal readings: release (CV 0.6) and assay (CV 0.3) factors give
/// ln reading ~ N(ln L − σ²/2, σ²) in both groups with σ² = ln(1.36) +
/// ln(1.09), so AUC = Φ(ln(L₁/L₀)/√(2σ²)) (binormal closed form); the
/// simulated AUC of 20,000 + 20,000 people is within 4 DeLong standard
/// errors of it.
#[test]
fn auc_matches_the_binormal_closed_form() {
    let conditions = "[[biopsy.conditions]]\narm = \"ibd\"";
    let text = exact_test(conditions, "background_cv = 0.6", 0.3);
    let study = parse(&study_text(&text, "1 day"));
    let t = &run_study(&study).condition_tests[0];
    let c = &t.conditions[0];
    let sd = (1.36f64.ln() + 1.09f64.ln()).sqrt();
    let closed = roc::binormal_auc(c.fold_change.ln(), sd, 0.0, sd);
    let se = (c.auc.upper - c.auc.lower) / (2.0 * 1.959964);
    assert!(
        (c.auc.auc - closed).abs() < 4.0 * se,
        "AUC {} vs closed form {closed} (se {se})",
        c.auc.auc
    );
    assert!(closed > 0.6 && closed < 0.95, "{closed}");
}

/// The threshold at specificity s is the ⌈s·n⌉-th smallest healthy reading
/// of the cohort drawn with the study seed (an empirical s-quantile), and
/// the specificity measured on a fresh cohort is within 4 binomial
/// standard errors of s.
#[test]
fn threshold_is_the_healthy_quantile() {
    let conditions = "[[biopsy.conditions]]\narm = \"ibd\"";
    let text = exact_test(conditions, "background_cv = 0.4\nelimination_cv = 0.2", 0.1).replace(
        "[[biopsy.tests]]",
        "[biopsy.decision]\nspecificity = 0.9\n[[biopsy.tests]]",
    );
    let study = parse(&study_text(&text, "1 day"));
    let t = &run_study(&study).condition_tests[0];
    let ct = study.condition_test.as_ref().unwrap();
    let sampler = ct.tests[0].protocol.sampler();
    let mut healthy: Vec<f64> = condition_test::readings(
        &ct.healthy,
        &ct.variability,
        &sampler,
        20000,
        study.seed,
        DOMAIN,
    )
    .into_iter()
    .map(|r| r.0)
    .collect();
    healthy.sort_by(f64::total_cmp);
    assert_eq!(t.threshold, healthy[18000 - 1]);
    let se = (0.9f64 * 0.1 / 20000.0).sqrt();
    assert!(
        (t.specificity.0 - 0.9).abs() < 4.0 * se,
        "{}",
        t.specificity.0
    );
}

/// A person's permeability p·f (f log-normal, mean 1, CV c) changes their
/// level by s(p·f)/s(p), s(p) = p·k/(p·k + T): without other variability or
/// noise the healthy median reading is L·s(p·e^{−σ²/2})/s(p), σ² = ln(1 + c²)
/// (the median of f), to 1 % with 20,000 people.
#[test]
fn permeability_variability_follows_the_crossing_share() {
    let conditions = "[[biopsy.conditions]]\narm = \"ibd\"";
    let text = exact_test(conditions, "permeability_cv = 0.8", 0.0);
    let study = parse(&study_text(&text, "1 day"));
    let t = &run_study(&study).condition_tests[0];
    let ct = study.condition_test.as_ref().unwrap();
    let g = &ct.healthy;
    let c = g.crossing.unwrap();
    let median_factor = (-0.5 * 1.64f64.ln()).exp();
    let expected = g.level * c.share(c.permeability * median_factor) / c.share(c.permeability);
    let median = t.healthy_readings.quantiles[2].1;
    assert!(
        (median / expected - 1.0).abs() < 0.01,
        "{median} vs {expected}"
    );
    assert_eq!(
        condition_test::person_level(g, 1.0, 1.0, 1.0),
        g.level,
        "the median person"
    );
    let _ = PersonVariability::default();
}

/// Tulkens et al. 2020: LPS-positive bacterial EVs are higher with barrier
/// dysfunction; the shipped test tells each condition from health better
/// than chance, in the order of the presets' permeabilities (mucositis >
/// IBD > HIV), and is bit-identical under its seed.
#[test]
fn the_shipped_test_orders_the_conditions() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/gut_barrier_blood_test.toml");
    let study = load_study(&path).unwrap();
    let r = run_study(&study);
    let t = &r.condition_tests[0];
    let auc = |name: &str| {
        t.conditions
            .iter()
            .find(|c| c.condition == name)
            .unwrap()
            .auc
            .auc
    };
    assert!(auc("hiv") > 0.5);
    assert!(auc("ibd") > auc("hiv"));
    assert!(auc("mucositis") > auc("ibd"));
    let again = run_study(&study);
    assert_eq!(
        format!("{:?}", again.condition_tests),
        format!("{:?}", r.condition_tests)
    );
}

/// Bad input is refused where it is written, with a hint.
#[test]
fn bad_condition_input_is_located() {
    let good = exact_test("[[biopsy.conditions]]\narm = \"ibd\"", "", 0.1);
    let cases = [
        (good.replace("arm = \"ibd\"", "arm = \"ibdd\""), "biopsy.conditions[0].arm", "did you mean `ibd`"),
        (good.replace("body_vesicles = \"omv\"", "body_vesicles = \"omvs\""), "biopsy.marker.body_vesicles", "did you mean `omv`"),
        (good.replace("body_vesicles = \"omv\"", "body_vesicles = \"other\""), "biopsy.marker.body_vesicles", "no arm releases"),
        (good.replace("arm = \"ibd\"", "arm = \"healthy\""), "biopsy.conditions[0].arm", "healthy people's arm"),
        (good.replace("[biopsy.variability]", "[biopsy.tumour]\ngrowth = \"exponential\"\ndoubling_time = \"60 day\"\n[biopsy.variability]"), "biopsy.tumour", "tumour's biopsy"),
        (good.replace("[biopsy.variability]", "[biopsy.variability]\nshedding_cv = 0.3"), "biopsy.variability.shedding_cv", "tumour's biopsy"),
        (good.replace("assay = \"elisa\"", "assay = \"sequencing\"\npanel_size = 100\npanel_mutations = 2"), "biopsy.tests[0].assay", "sequencing"),
        (good.replace("body_arm = \"healthy\"\n", ""), "biopsy.marker", "healthy people's arm"),
        (good.replace("[biopsy.variability]", "[biopsy.variability]\nbackground_cv = -1"), "biopsy.variability.background_cv", "out of range"),
    ];
    for (biopsy, key, says) in cases {
        let e = parse_study(&study_text(&biopsy, "1 day"), "barrier.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(key) && e.contains("barrier.toml:") && e.contains(says),
            "{key}: {e}"
        );
    }
    // A permeability that varies needs every release in the gut lumen.
    let blood = study_text(
        &exact_test(
            "[[biopsy.conditions]]\narm = \"ibd\"",
            "permeability_cv = 0.3",
            0.1,
        ),
        "1 day",
    )
    .replace("site = \"gut_lumen\"\n", "");
    let e = parse_study(&blood, "barrier.toml").unwrap_err().to_string();
    assert!(
        e.contains("biopsy.variability.permeability_cv") && e.contains("gut lumen"),
        "{e}"
    );
}
