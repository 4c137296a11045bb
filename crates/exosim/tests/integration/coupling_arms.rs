//! Every arm coupled to its own tissue (`[tissue.coupling] arms = [...]`)
//! and drugs given in one arm acting on that arm's tissue: arm copies are
//! independent and do not depend on the thread count, an arm without the
//! drug equals the same arm coupled alone, the treated tissue releases the
//! closed-form integral of the drug's inhibition, each arm's copies
//! conserve vesicles across both engines, and bad arm lists and arm drugs
//! get located errors.

use exosim::run::{self, RunResult};
use exosim::scenario::{Study, parse_study};

/// Two arms of mice, each holding a tumour tissue whose cells release
/// vesicles (no division, no death: the released count is a Poisson count
/// of known mean) draining to lymph. The treated arm is given an iv bolus
/// of a one-compartment drug at t = 0 (C₀ = D/V = 3 µM = 3·EC50, half-life
/// 30 min, emax 0.9, Hill 1) that acts on the tumour cells of its own
/// tissue only.
const ARMS: &str = r#"
[study]
name = "arms_small"
seed = 9
duration = "1 h"
output_interval = "10 min"

[body]
species = "mouse"

[[vesicles]]
name = "tev"
diameter = "110 nm"

[[vesicles]]
name = "hev"
diameter = "100 nm"

[[sources]]
name = "healthy"
vesicles = "hev"
rate = "1e9 /h"

[[arms]]
name = "control"

[[arms]]
name = "treated"

[[arms.drugs]]
name = "blocker"
clearance = "41.588830833596716 mL/h"
volume = "30 mL"
emax = 0.9
ec50 = "1 uM"
cell_types = ["tumour"]

[[arms.drugs.doses]]
route = "iv_bolus"
amount = "90 nmol"
at = "0 h"

[tissue]
size = ["100 um", "100 um", "60 um"]
boundary = "periodic"
faces = { z_lower = "reflective", z_upper = "draining" }
time_step = "10 s"
cell_time_step = "1 min"
replicates = 2

[tissue.coupling]
arms = ["control", "treated"]
exchange_interval = "1 min"
classes = [{ tissue = "tev_t", body = "tev" }]

[[tissue.vesicles]]
name = "tev_t"
diameter = "110 nm"
half_life = "3 h"
weight = 10

[[tissue.cell_types]]
name = "tumour"
radius = "6 um"
nonspecific_uptake = 0.02
secretion = [{ class = "tev_t", rate = "600 /h" }]

[[tissue.placements]]
shape = "random"
cell_type = "tumour"
count = 50
"#;

/// The same study with only the control arm holding the tissue, the drug
/// acting on nothing but the healthy source (an arm drug with `cell_types`
/// needs its arm to hold the tissue).
fn control_alone() -> String {
    ARMS.replace("arms = [\"control\", \"treated\"]", "arm = \"control\"")
        .replace("cell_types = [\"tumour\"]", "sources = [\"healthy\"]")
}

fn study(text: &str) -> Study {
    parse_study(text, "arms.toml").unwrap_or_else(|e| panic!("{e}"))
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

fn bits(rows: &[Vec<f64>]) -> Vec<u64> {
    rows.iter().flatten().map(|x| x.to_bits()).collect()
}

/// A run's last value of tissue column `name`.
fn last(r: &exosim::coupling::tissue_section::ReplicateRun, name: &str) -> f64 {
    *r.record.series(name).unwrap().last().unwrap()
}

/// Determinism: 1 or 2 threads give the same runs bit for bit, arm by arm;
/// each arm's runs sit in their own body copy (the arm's name on each),
/// and the reported body of each arm is its own copy.
#[test]
fn arm_copies_are_their_own_and_do_not_depend_on_the_thread_count() {
    let s = study(ARMS);
    let one = in_pool(1, || run_study(&s));
    let two = in_pool(2, || run_study(&s));
    assert_eq!(one.tissue.len(), 4, "2 arms × 1 variant × 2 replicates");
    let arms: Vec<Option<&str>> = one.tissue.iter().map(|r| r.arm()).collect();
    assert_eq!(
        arms,
        [
            Some("control"),
            Some("control"),
            Some("treated"),
            Some("treated")
        ]
    );
    for (a, b) in one.tissue.iter().zip(&two.tissue) {
        assert_eq!(bits(&a.record.rows), bits(&b.record.rows));
        assert_eq!(a.body, b.body);
    }
    assert_eq!(one.arms, two.arms);
    for (i, arm) in one.arms.iter().enumerate() {
        let first = one.tissue.iter().find(|r| r.arm() == Some(&arm.arm));
        assert_eq!(
            Some(arm),
            first.and_then(|r| r.body.as_ref()).map(|b| &b.course)
        );
        assert_eq!(arm.arm, s.arms[i].name);
    }
    // The drug lowered the treated tissue's release below the control's.
    let released = |k: usize| last(&one.tissue[k], "vesicles_tev_t_released");
    assert!(
        released(2) < 0.8 * released(0),
        "{} vs {}",
        released(2),
        released(0)
    );
}

/// Common random numbers and independence: the control arm's copies are
/// the same, bit for bit (tissue rows, exchanges, body course), whether the
/// treated arm holds its own tissue beside them or the control arm is
/// coupled alone.
#[test]
fn an_untreated_arm_equals_the_same_arm_coupled_alone() {
    let both = run_study(&study(ARMS));
    let alone = run_study(&study(&control_alone()));
    let of = |r: &RunResult| -> Vec<exosim::coupling::tissue_section::ReplicateRun> {
        r.tissue
            .iter()
            .filter(|x| x.arm() == Some("control"))
            .cloned()
            .collect()
    };
    let (both_c, alone_c) = (of(&both), of(&alone));
    assert_eq!(alone_c.len(), 2);
    assert_eq!(
        alone.tissue.len(),
        2,
        "only the control arm holds the tissue"
    );
    for (a, b) in both_c.iter().zip(&alone_c) {
        assert_eq!(bits(&a.record.rows), bits(&b.record.rows));
        assert_eq!(a.body, b.body);
    }
    assert_eq!(both.arms[0], alone.arms[0]);
}

/// Release under the drug: each living cell releases a Poisson number of
/// mean `R·(1 − I(C(t)))·Δt` per step, so a tissue of N cells that neither
/// divide nor die releases, by T, a Poisson count of mean
/// `N·R·∫₀ᵀ (1 − I(C(t))) dt` with `C(t) = C₀·e^(−kt)` and
/// `I = emax·C/(EC50 + C)` (one-compartment bolus, Emax model). The
/// integral is taken here by the midpoint rule from the formula itself;
/// the engine's step sum differs from it by at most `N·R·Δt` (f is
/// monotone in [0, 1]). Particles carry w = 10 vesicles, so the released
/// vesicles have variance w × mean; each replicate is within 5 σ of the
/// mean, and the untreated arm within 5 σ of `N·R·T`.
#[test]
fn the_treated_tissue_releases_the_closed_form_integral_of_the_inhibition() {
    let s = study(ARMS);
    let result = run_study(&s);
    let (n, rate, t_end, dt, w) = (50.0, 600.0 / 3600.0, 3600.0, 10.0, 10.0);
    let (c0, ec50, emax, k) = (3.0, 1.0, 0.9, std::f64::consts::LN_2 / 1800.0);
    let f = |t: f64| {
        let c = c0 * (-k * t).exp();
        1.0 - emax * c / (ec50 + c)
    };
    let m = 100_000;
    let h = t_end / m as f64;
    let integral: f64 = (0..m).map(|i| f((i as f64 + 0.5) * h) * h).sum();
    let treated_mean = n * rate * integral;
    let control_mean = n * rate * t_end;
    let step_bound = n * rate * dt;
    for r in &result.tissue {
        assert_eq!(last(r, "cells_tumour"), n, "no division, no death");
        let released = last(r, "vesicles_tev_t_released");
        let mean = match r.arm() {
            Some("treated") => treated_mean,
            _ => control_mean,
        };
        assert!(
            (released - mean).abs() <= 5.0 * (w * mean).sqrt() + step_bound,
            "{:?}: released {released}, expected {mean}",
            r.arm()
        );
    }
    // The drug's course is the closed form the tissue read.
    let drug = &s.tissue.as_ref().unwrap().coupling.as_ref().unwrap().arms[1].inhibitors[0];
    assert!((drug.factor_at(1800.0) - f(1800.0)).abs() < 1e-12);
}

/// Mass balance per arm: at every exchange of every run of each arm, the
/// body's states and the tissue's vesicles account for everything that
/// entered, to rounding; summary.json has one `tissue.coupling` entry per
/// arm and one `tissue.variants` entry per arm and variant.
#[test]
fn each_arms_copies_conserve_vesicles_across_both_engines() {
    let s = study(ARMS);
    let result = run_study(&s);
    for r in &result.tissue {
        let b = r.body.as_ref().unwrap();
        assert!(
            b.balance_error() <= 1e-12,
            "{:?}: {}",
            r.arm(),
            b.balance_error()
        );
        assert_eq!(r.record.final_mass_balance, 0.0);
    }
    let summary = run::summary(&s, &result);
    assert!(summary.mass_balance.relative_error <= 1e-12);
    let tissue = summary.tissue.as_ref().unwrap();
    let coupling = tissue.coupling.as_ref().unwrap();
    let names: Vec<&str> = coupling.arms().iter().map(|c| c.arm.as_str()).collect();
    assert_eq!(names, ["control", "treated"]);
    let drained = |arm: &str| coupling.arm(arm).unwrap().drained_to_body["tev_t->tev"].mean;
    assert!(drained("treated") < drained("control"));
    let variants: Vec<(Option<&str>, &str)> = tissue
        .variants
        .iter()
        .map(|v| (v.arm.as_deref(), v.name.as_str()))
        .collect();
    assert_eq!(
        variants,
        [(Some("control"), "main"), (Some("treated"), "main")]
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert!(json["tissue"]["coupling"].is_array());
}

/// `arm = "all"` couples every arm, as listing them does.
#[test]
fn arm_all_holds_the_tissue_in_every_arm() {
    let listed = study(ARMS);
    let all = study(&ARMS.replace("arms = [\"control\", \"treated\"]", "arm = \"all\""));
    assert_eq!(listed.tissue, all.tissue);
}

/// Located errors: an unknown arm in `arms` (with "did you mean"), an arm
/// listed twice, `arm` beside `arms`, an arm drug with `cell_types` whose
/// arm does not hold the tissue, and an unknown cell type of an arm drug.
#[test]
fn bad_arm_lists_and_arm_drugs_get_located_errors() {
    let check = crate::study_errors::assert_located;
    check(
        &ARMS.replace("\"control\", \"treated\"]", "\"control\", \"treatd\"]"),
        "tissue.coupling.arms[1]",
        "`treated`",
        "\"treatd\"",
    );
    check(
        &ARMS.replace("\"control\", \"treated\"]", "\"treated\", \"treated\"]"),
        "tissue.coupling.arms[1]",
        "listed twice",
        "[\"treated\", \"treated\"]",
    );
    check(
        &ARMS.replace(
            "arms = [\"control\"",
            "arm = \"control\"\narms = [\"control\"",
        ),
        "tissue.coupling.arm",
        "both",
        "arm = \"control\"",
    );
    check(
        &ARMS.replace("arms = [\"control\", \"treated\"]", "arm = \"control\""),
        "arms[1].drugs[0].cell_types",
        "add `treated` to `[tissue.coupling] arms`",
        "cell_types = [\"tumour\"]",
    );
    check(
        &ARMS.replace("cell_types = [\"tumour\"]", "cell_types = [\"tumor\"]"),
        "arms[1].drugs[0].cell_types[0]",
        "`tumour`",
        "cell_types = [\"tumor\"]",
    );
}

/// A campaign's tissue observable reads one arm's replicates: `arm` is
/// needed when several arms hold the tissue, and `tissue_vesicles` of the
/// released fate in an arm is the mean over that arm's runs.
#[test]
fn a_tissue_observable_reads_the_arm_it_names() {
    use exosim::campaign::observable::{ObservableSpec, resolve};
    use exosim::scenario::error::{KeyPath, Locator};
    #[derive(serde::Deserialize)]
    struct File {
        observables: Vec<ObservableSpec>,
    }
    let campaign = r#"
[[observables]]
name = "released_treated"
kind = "tissue_vesicles"
arm = "treated"
place = "released"

[[observables]]
name = "released_any"
kind = "tissue_vesicles"
place = "released"
"#;
    let s = study(ARMS);
    let result = run_study(&s);
    let loc = Locator::new("campaign.toml", campaign);
    let file: File = toml::from_str(campaign).unwrap();
    let at = KeyPath::root().key("observables");
    let treated = resolve(&file.observables[0], &s, &loc, &at.index(0)).unwrap();
    let mean = (last(&result.tissue[2], "vesicles_tev_t_released")
        + last(&result.tissue[3], "vesicles_tev_t_released"))
        / 2.0;
    assert_eq!(treated.evaluate(&result), mean);
    let e = resolve(&file.observables[1], &s, &loc, &at.index(1)).unwrap_err();
    assert!(e.message.contains("`arm` is needed"), "{e}");
    assert!(
        e.hint.as_deref().unwrap_or("").contains("control, treated"),
        "{e}"
    );
}

/// An instrument sampling a tissue that several arms hold names the arm,
/// and reads that arm's copy: the NTA sample's concentration is the arm's
/// free tissue vesicles at that time over the domain's volume. Without
/// `arm` (or with an arm that does not hold the tissue) the study gets a
/// located error.
#[test]
fn an_instrument_samples_the_tissue_copy_of_the_arm_it_names() {
    let with = |sample: &str| {
        format!("{ARMS}\n[[instruments]]\nname = \"nta_t\"\nkind = \"nta\"\nsample = {sample}\n")
    };
    let at_arm = |arm: &str| {
        format!("{{ from = \"tissue\", arm = \"{arm}\", replicate = 1, time = \"30 min\" }}")
    };
    let volume = 100e-6 * 100e-6 * 60e-6;
    for (arm, first) in [("control", 0), ("treated", 2)] {
        let s = study(&with(&at_arm(arm)));
        let result = run_study(&s);
        let copy = &result.tissue[first];
        assert_eq!(copy.arm(), Some(arm));
        let k = copy
            .record
            .rows
            .iter()
            .position(|r| r[0] == 1800.0)
            .unwrap();
        let free = copy.record.series("vesicles_tev_t_free").unwrap()[k];
        assert!(free > 0.0);
        let c = &result.instruments[0].sample.components;
        assert!(
            (c[0].concentration * volume / free - 1.0).abs() < 1e-12,
            "{arm}: {} vs {free}",
            c[0].concentration * volume
        );
    }
    let text = with("{ from = \"tissue\", replicate = 1, time = \"30 min\" }");
    let e = parse_study(&text, "arms.toml").unwrap_err();
    assert_eq!(e.key, "instruments[0].sample", "{e}");
    assert!(
        e.hint.as_deref().unwrap_or("").contains("control, treated"),
        "{e}"
    );
    let e = parse_study(&with(&at_arm("treatd")), "arms.toml").unwrap_err();
    assert_eq!(e.key, "instruments[0].sample.arm", "{e}");
    let alone = control_alone() + "\n[[instruments]]\nname = \"nta_t\"\nkind = \"nta\"\n";
    let e = parse_study(
        &(alone + &format!("sample = {}\n", at_arm("control"))),
        "arms.toml",
    )
    .unwrap_err();
    assert_eq!(e.key, "instruments[0].sample.arm", "{e}");
    assert!(e.message.contains("one copy"), "{e}");
}

/// A coupled tissue replicate reports its progress as it goes, not only
/// when it ends, so that a hook that unwinds (Python's Ctrl-C) stops it
/// there: on one thread, each of the four replicates (two arms × two)
/// reports at least four times before its end, in order, and a
/// hook that panics at the first report inside the tissue ends the run
/// with that panic.
#[test]
fn a_coupled_replicate_reports_its_progress_and_a_hook_can_stop_it() {
    use std::sync::Mutex;
    let s = study(ARMS);
    let heard = Mutex::new(Vec::new());
    in_pool(1, || run::run(&s, |f| heard.lock().unwrap().push(f))).unwrap();
    let heard = heard.into_inner().unwrap();
    // Four replicates share the way: their ends sit at k/4.
    let within = (heard.iter())
        .filter(|&&f| ((4.0 * f).round() - 4.0 * f).abs() > 1e-9)
        .count();
    assert!(
        within >= 16,
        "{within} reports within replicates: {heard:?}"
    );
    assert!(heard.windows(2).all(|w| w[0] <= w[1]), "{heard:?}");
    assert_eq!(heard.last(), Some(&1.0));
    let stopped = std::panic::catch_unwind(|| {
        in_pool(1, || {
            run::run(&s, |f| {
                if f > 0.0 && f < 1.0 {
                    std::panic::panic_any("stopped");
                }
            })
        })
    });
    let payload = stopped.expect_err("the hook's panic ends the run");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"stopped"));
}
