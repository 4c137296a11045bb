//! `[production]`: the platforms' yields inside their published ranges,
//! the release integral against the logistic's closed form, every vesicle
//! accounted for, the plan's direction (more harvests, more vesicles; lower
//! recovery, fewer doses), overrides by path, and located errors.

use std::path::Path;

use exosim::production::{ProductionSummary, logistic_integral};
use exosim::run;
use exosim::scenario::{Override, StudyError, StudySource, parse_study};

const DAY: f64 = 86_400.0;

/// A production-only study of `platform` with the extra `keys`.
fn plan(platform: &str, keys: &str) -> String {
    format!(
        "[study]\nname = \"plan\"\nduration = \"1 day\"\n\n[production]\nplatform = \"{platform}\"\n{keys}"
    )
}

fn summary_of(study: &exosim::scenario::Study) -> ProductionSummary {
    let result = run::run(study, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    run::summary(study, &result)
        .production
        .expect("a production summary")
}

fn produce(text: &str) -> ProductionSummary {
    summary_of(&parse_study(text, "plan.toml").unwrap_or_else(|e| panic!("{e}")))
}

fn error(text: &str) -> StudyError {
    match parse_study(text, "plan.toml") {
        Ok(_) => panic!("the study was accepted:\n{text}"),
        Err(e) => e,
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` is not in the study"))
}

/// Published MSC-EV concentrations in conditioned medium, particles per mL
/// (docs/references.md#production-platforms): Cell Biosci 2022 12:51
/// (doi:10.1186/s13578-022-00786-7), Table 3: a 10-layer cell factory
/// 1.36·10⁹ to 5.96·10⁹ (48 h harvests over 6 days); hollow fibre 1.04·10¹⁰
/// (Quantum, 48 h over 12 days) to 5.5·10¹⁰ (FiberCell, 24 h over 25
/// days); microcarriers in a spinner flask 1·10¹¹ (48 h over 7 days) up to
/// the Vertical-Wheel's 4.1·10¹¹; Vertical-Wheel 2.8·10¹¹ (BM-MSC) to
/// 4.1·10¹¹ (UC-MSC), de Almeida Fuzeta et al. 2020.
#[test]
fn each_platform_yields_within_its_published_range() {
    let published = [
        ("multilayer", 1.36e9, 5.96e9),
        ("hollow_fibre", 1.04e10, 5.5e10),
        ("stirred_microcarrier", 1e11, 4.1e11),
        ("vertical_wheel", 2.8e11, 4.1e11),
    ];
    for (platform, low, high) in published {
        let s = produce(&plan(platform, ""));
        let c = s.concentration_per_ml;
        assert!(
            (low..=high).contains(&c),
            "{platform}: {c:.3e} /mL outside {low:e}–{high:e}"
        );
    }
}

/// Law: vesicles released over a run = units × q × ∫N dt, the closed form
/// of the logistic from the seeded cells.
#[test]
fn released_vesicles_follow_the_logistic_closed_form() {
    let keys = "units = 3\nseeded_cells = 2e5\nmax_cells = 5e6\ndoubling_time = \"1.5 day\"\nrelease_rate = \"5000 particles/day\"\nmedium_volume = \"40 mL\"\nexpansion = \"4 day\"\nharvest_interval = \"3 day\"\nharvests = 5\n";
    let s = produce(&plan("custom", keys));
    let r = std::f64::consts::LN_2 / (1.5 * DAY);
    let exact = 3.0 * 5000.0 / DAY * logistic_integral(2e5, 5e6, r, 19.0 * DAY);
    let released = s.mass_balance.released;
    assert!(
        (released - exact).abs() <= 1e-8 * exact,
        "{released:e} vs {exact:e}"
    );
}

/// Law: released = recovered + lost in isolation + discarded growth medium
/// + left in the medium, in every shipped plan and every platform.
#[test]
fn every_vesicle_released_is_accounted_for() {
    let mut summaries: Vec<ProductionSummary> = ["flask", "multilayer", "hollow_fibre"]
        .iter()
        .map(|p| produce(&plan(p, "harvest_fraction = 0.7\nisolation = \"sec\"\n")))
        .collect();
    assert!(summaries.iter().all(|s| s.mass_balance.in_medium > 0.0));
    for name in ["mouse_ev_production", "human_phase1_production"] {
        summaries.push(summary_of(&shipped(name)));
    }
    for s in summaries {
        let b = s.mass_balance;
        let out = b.recovered + b.lost_in_isolation + b.discarded + b.in_medium;
        assert!(
            (b.released - out).abs() <= 1e-14 * b.released,
            "{}: {b:?}",
            s.platform
        );
        assert!(b.discarded > 0.0 && b.lost_in_isolation > 0.0, "{b:?}");
    }
}

fn shipped(name: &str) -> exosim::scenario::Study {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../studies/{name}.toml"));
    exosim::scenario::load_study(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn source(name: &str) -> StudySource {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../studies/{name}.toml"));
    StudySource::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn with(source: &StudySource, sets: &[&str]) -> ProductionSummary {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    summary_of(&source.study(&overrides).unwrap_or_else(|e| panic!("{e}")))
}

/// More harvests make more vesicles; a lower recovery fewer doses; set by
/// parameter path as a campaign sets them.
#[test]
fn more_harvests_more_vesicles_and_lower_recovery_fewer_doses() {
    let src = source("mouse_ev_production");
    let per_run = |h: u32| with(&src, &[&format!("production.harvests={h}")]).particles_per_run;
    assert!(per_run(2) < per_run(3) && per_run(3) < per_run(6));
    let doses = |r: f64| {
        with(&src, &[&format!("production.recovery={r}")])
            .doses
            .unwrap()
            .doses_per_batch
    };
    assert!(doses(0.05) < doses(0.125) && doses(0.125) < doses(0.6));
    let tff = with(&src, &["production.isolation=\"tff\""]);
    let uc = with(&src, &["production.isolation=\"ultracentrifugation\""]);
    assert!(tff.particles_per_run > 7.0 * uc.particles_per_run);
}

/// The mouse plan's dose is its largest arm's total, its need every arm's
/// doses for every mouse; the trial's comes from `dose` and `subjects`.
#[test]
fn shipped_plans_take_their_doses_from_the_study() {
    let mouse = shipped("mouse_ev_production");
    let largest = mouse
        .arms
        .iter()
        .map(|a| {
            a.doses
                .iter()
                .map(|d| d.amount * d.times.len() as f64)
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    let s = summary_of(&mouse);
    let d = s.doses.unwrap();
    assert_eq!(d.dose, largest);
    assert!(d.doses_per_batch >= 1.0 && d.batches_needed >= 1.0);
    assert_eq!(d.time_for_study, d.batches_needed * s.run_time);
    let human = summary_of(&shipped("human_phase1_production"));
    let d = human.doses.unwrap();
    assert!(d.need > d.dose && d.protein_per_dose_ug.is_some());
}

fn located(text: &str, key: &str, needle: &str, says: &str) {
    let e = error(text);
    assert_eq!(e.key, key, "{e}");
    assert_eq!(e.file, "plan.toml");
    assert_eq!(e.line, line_of(text, needle), "{e}");
    assert!(e.message.contains(says), "{e}");
    assert!(e.hint.is_some(), "{e}: no hint");
}

/// Bad input is refused at the key that holds it, with a hint.
#[test]
fn bad_plans_are_located_errors() {
    located(
        &plan("custom", "seeded_cells = 1e6\n"),
        "production.platform",
        "platform =",
        "needs `release_rate`",
    );
    located(
        &plan("flask", "producer = \"hek293\"\n"),
        "production.producer",
        "producer =",
        "no published yield for `hek293`",
    );
    located(
        &plan("flask", "recovery = -0.2\n"),
        "production.recovery",
        "recovery",
        "not a fraction",
    );
    located(
        &plan("flask", "recovery = 1.5\n"),
        "production.recovery",
        "recovery",
        "not a fraction",
    );
    located(
        &plan("flask", "recovery = 0\n"),
        "production.recovery",
        "recovery",
        "recovers nothing",
    );
    located(
        &plan("flask", "isolation = \"custom\"\n"),
        "production.isolation",
        "isolation",
        "needs `recovery`",
    );
    located(
        &plan("flask", "isolation = \"ultracentrifuge\"\n"),
        "production.isolation",
        "isolation",
        "unknown value",
    );
    located(
        &plan("flsk", ""),
        "production.platform",
        "platform =",
        "unknown value",
    );
    located(
        &plan("flask", "seeded_cells = 1e9\n"),
        "production.seeded_cells",
        "seeded_cells",
        "more than",
    );
    located(
        &plan("flask", "harvest_fraction = 0\n"),
        "production.harvest_fraction",
        "harvest_fraction",
        "collects nothing",
    );
    located(
        &plan("flask", "harvests = 0\n"),
        "production.harvests",
        "harvests",
        "0 harvests",
    );
    located(
        &plan(
            "hollow_fibre",
            "perfusion_rate = \"1 /day\"\nharvest_fraction = 0.5\n",
        ),
        "production.harvest_fraction",
        "harvest_fraction",
        "collection vessel",
    );
    for (key, value) in [
        ("perfusion_rate", "\"0 /day\""),
        ("medium_half_life", "\"0 h\""),
    ] {
        let e = error(&plan("flask", &format!("{key} = {value}\n")));
        assert_eq!(e.key, format!("production.{key}"), "{e}");
        assert!(e.message.contains("greater than zero"), "{e}");
    }
    // A rate whose integration would need more than 10⁷ steps (the reader
    // once accepted these and the run ran for hours): refused at its key.
    for (key, value) in [
        ("perfusion_rate", "\"1e30 /h\""),
        ("medium_half_life", "\"1 ms\""),
        ("doubling_time", "\"1 s\""),
    ] {
        located(
            &plan("flask", &format!("{key} = {value}\n")),
            &format!("production.{key}"),
            key,
            "integration steps",
        );
    }
    // A doubling time of minutes is integrated in steps of its own scale:
    // the cells still never pass the unit's largest number.
    let fast = produce(&plan("flask", "doubling_time = \"10 min\"\n"));
    assert!(fast.relative_error < 1e-12, "{:?}", fast.mass_balance);
    let full = fast.units * 3.5e6; // the flask preset's largest number
    assert!(
        (fast.final_cells / full - 1.0).abs() < 1e-9,
        "{} of {full}",
        fast.final_cells
    );
    let zero = error(&plan("flask", "medium_volume = \"0 mL\"\n"));
    assert_eq!(zero.key, "production.medium_volume");
    assert!(zero.message.contains("greater than zero"), "{zero}");
    let unknown = error(&plan("flask", "medium = \"30 mL\"\n"));
    assert!(
        unknown.message.contains("unknown field `medium`"),
        "{unknown}"
    );
}

/// Vesicles that decay in the medium (`medium_half_life`) are lost to the
/// product and counted in the mass balance; perfusion (`perfusion_rate`)
/// takes them out of the warm medium sooner, so faster perfusion rescues
/// more of them, and without decay a unit perfused at φ collects what its
/// cells release less what is left in its medium.
#[test]
fn decay_costs_vesicles_and_faster_perfusion_rescues_them() {
    let run = |keys: &str| produce(&plan("hollow_fibre", keys));
    let stable = run("perfusion_rate = \"1 /day\"\n");
    let slow = run("perfusion_rate = \"1 /day\"\nmedium_half_life = \"2 day\"\n");
    let fast = run("perfusion_rate = \"4 /day\"\nmedium_half_life = \"2 day\"\n");
    for s in [&stable, &slow, &fast] {
        assert!(s.relative_error < 1e-12, "{:?}", s.mass_balance);
    }
    assert_eq!(stable.mass_balance.decayed, 0.0);
    assert!(slow.mass_balance.decayed > 0.0);
    assert!(
        slow.particles_per_run < fast.particles_per_run
            && fast.particles_per_run < stable.particles_per_run,
        "{} < {} < {}",
        slow.particles_per_run,
        fast.particles_per_run,
        stable.particles_per_run
    );
    let b = &stable.mass_balance;
    let collected = b.recovered + b.lost_in_isolation;
    let expected = b.released - b.discarded - b.in_medium;
    assert!((collected - expected).abs() <= 1e-12 * expected);
    // Four volumes a day collect the release in four times the medium.
    let fast_stable = run("perfusion_rate = \"4 /day\"\n");
    let ratio = fast_stable.medium_collected_ml / stable.medium_collected_ml;
    assert!((ratio - 4.0).abs() < 1e-12, "{ratio}");
}
