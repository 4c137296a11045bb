//! Effect models driven by the body engine: the biology's direction of
//! each design, the accuracy of delivered cargo read from the tissue's
//! balance, and located errors for effects a study cannot have.

use std::path::Path;

use exosim::coupling::exposure::EffectRun;
use exosim::run;
use exosim::scenario::{Study, load_study, parse_study};

fn shipped() -> Study {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/ev_drug_xenograft.toml");
    load_study(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn effects(study: &Study) -> Vec<EffectRun> {
    run::run(study, |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .effects
}

fn end_of(runs: &[EffectRun], arm: &str) -> f64 {
    let r = runs.iter().find(|r| r.arm == arm).unwrap();
    *r.reported().last().unwrap()
}

/// What the seeds say of engineered vesicles: a ligand that raises
/// delivery to the tumour, or a CD47 coat that keeps macrophages off them,
/// raises the effect; every treated tumour ends smaller than the control.
#[test]
fn targeting_and_cd47_raise_the_effect_of_the_shipped_xenograft() {
    let runs = effects(&shipped());
    let end = |arm| end_of(&runs, arm);
    let (control, plain, cd47, targeted) = (
        end("control"),
        end("untargeted"),
        end("CD47"),
        end("targeted"),
    );
    assert!(
        control > plain && plain > cd47 && cd47 > targeted,
        "control {control}, untargeted {plain}, CD47 {cd47}, targeted {targeted} mm3"
    );
}

/// Depleting liver and spleen macrophages (clodronate: capacity 0.1)
/// leaves more vesicles in blood to reach the tumour: a stronger effect.
#[test]
fn macrophage_depletion_raises_the_effect() {
    let text = include_str!("../../../../studies/ev_drug_xenograft.toml").to_string()
        + "\n[[arms]]\nname = \"depleted\"\nbody = { mps = { capacity = 0.1 } }\n\
           [[arms.doses]]\nvesicles = \"drug_EV\"\nroute = \"iv_bolus\"\namount = 1e11\n\
           every = \"3 day\"\ncount = 4\n";
    let study = parse_study(&text, "xenograft.toml").unwrap_or_else(|e| panic!("{e}"));
    let runs = effects(&study);
    let (intact, depleted) = (end_of(&runs, "untargeted"), end_of(&runs, "depleted"));
    assert!(
        depleted < intact,
        "depleted {depleted} vs intact {intact} mm3"
    );
}

/// The untreated control follows the drug-free Simeoni model: no
/// exposure, and growth that no arm's dose changes.
#[test]
fn the_untreated_control_has_no_exposure() {
    let runs = effects(&shipped());
    let control = runs.iter().find(|r| r.arm == "control").unwrap();
    assert!(control.course.concentration.iter().all(|c| *c == 0.0));
    let v = control.reported();
    assert!(
        v.windows(2).all(|w| w[1] > w[0]),
        "an untreated tumour only grows"
    );
}

/// Delivered cargo is read from the tissue's balance with the trapezoid
/// rule on a grid of at most 5 min, whatever the study's output interval:
/// the tumour at 4 days on 2 h and 1 h output grids is within 2e-4 of the
/// one on a 1 min grid, whose own exposure grid is 1 min.
#[test]
fn delivered_cargo_does_not_depend_on_the_output_interval() {
    let end = |interval: &str| {
        let text = include_str!("../../../../studies/ev_drug_xenograft.toml")
            .replace(
                "output_interval = \"1 h\"",
                &format!("output_interval = \"{interval}\""),
            )
            .replace("duration = \"21 day\"", "duration = \"4 day\"")
            .replace("report_times = [\"1 day\", \"7 day\", \"21 day\"]", "")
            .replace("count = 4", "count = 1");
        let study = parse_study(&text, "xenograft.toml").unwrap_or_else(|e| panic!("{e}"));
        let runs = effects(&study);
        let r = runs.iter().find(|r| r.arm == "targeted").unwrap();
        *r.reported().last().unwrap()
    };
    let reference = end("1 min");
    for interval in ["2 h", "1 h", "5 min"] {
        let err = ((end(interval) - reference) / reference).abs();
        assert!(err < 2e-4, "{interval} grid: {err:e}");
    }
}

fn error_of(effect: &str) -> String {
    let text = format!(
        "[study]\nname = \"e\"\nduration = \"1 day\"\n[body]\nspecies = \"mouse\"\n\
         [body.tumour]\nvolume = \"0.1 mL\"\n[[vesicles]]\nname = \"v\"\n\
         [[doses]]\nvesicles = \"v\"\nroute = \"iv_bolus\"\namount = 1e10\n[[effects]]\n{effect}"
    );
    match parse_study(&text, "effects.toml") {
        Ok(_) => panic!("accepted:\n{effect}"),
        Err(e) => e.to_string(),
    }
}

const TUMOUR: &str = "name = \"t\"\nmodel = \"tumour_growth\"\ninitial_volume = \"100 mm3\"\n\
    lambda0 = \"0.2 /day\"\nlambda1 = \"100 mm3/day\"\nk1 = \"1 /day\"\nk2 = \"0.01 /nM/day\"\n";

/// Each wrong effect gets its own located message and hint, never a panic.
#[test]
fn wrong_effects_are_located_errors() {
    let delivered =
        "exposure = { measure = \"delivered\", place = \"tumour\", copies_per_vesicle = 100 }\n";
    let cases = [
        (
            format!(
                "{TUMOUR}exposure = {{ measure = \"delivered\", place = \"tumor\", copies_per_vesicle = 1 }}\n"
            ),
            "`tumor` is not a place with a volume",
        ),
        (
            format!(
                "{TUMOUR}exposure = {{ measure = \"delivered\", place = \"tumour\", vesicles = [\"w\"], copies_per_vesicle = 1 }}\n"
            ),
            "unknown vesicle class `w`",
        ),
        (
            format!(
                "{TUMOUR}exposure = {{ measure = \"delivered\", place = \"blood\", copies_per_vesicle = 1 }}\n"
            ),
            "cargo is delivered into an organ's tissue",
        ),
        (
            format!("{TUMOUR}exposure = {{ measure = \"delivered\", place = \"tumour\" }}\n"),
            "needs `copies_per_vesicle`",
        ),
        (
            format!("{TUMOUR}{delivered}emax = 0.5\n"),
            "`emax` is not a parameter of a `tumour_growth` effect",
        ),
        (
            format!(
                "name = \"d\"\nmodel = \"direct\"\nbaseline = 1\nemax = 1\nec50 = \"-1 nM\"\n{delivered}"
            ),
            "ec50",
        ),
        (
            format!(
                "name = \"d\"\nmodel = \"direct\"\nbaseline = 1\nemax = 1\nec50 = \"1 nM\"\nhill = 0\n{delivered}"
            ),
            "hill",
        ),
        (
            format!(
                "name = \"r\"\nmodel = \"turnover\"\naction = \"inhibit_production\"\nbaseline = 10\nkout = \"1 /day\"\nemax = 1.5\nec50 = \"1 nM\"\n{delivered}"
            ),
            "an inhibition's emax is a fraction from 0 to 1",
        ),
        (
            format!(
                "name = \"r\"\nmodel = \"turnover\"\naction = \"block\"\nbaseline = 10\nkout = \"1 /day\"\nemax = 0.5\nec50 = \"1 nM\"\n{delivered}"
            ),
            "action",
        ),
        (
            format!("name = \"t\"\nmodel = \"simeoni\"\n{delivered}"),
            "model",
        ),
    ];
    for (effect, expected) in cases {
        let message = error_of(&effect);
        assert!(message.contains(expected), "{effect}\n→ {message}");
        assert!(message.contains("effects.toml:"), "not located: {message}");
    }
}

/// The delivered exposure counts every vesicle that entered the tissue:
/// against an exact ledger of the liver's uptake (with no return to blood,
/// the liver tissue's losses all go to sinks; the same network with them
/// sent to a sink of its own changes no other state, and uptake = liver +
/// that sink), the cargo delivered by the end on a 5 min grid (the
/// exposure grid) is within 2e-4 (measured: 1.2e-4).
#[test]
fn delivered_cargo_matches_an_exact_ledger_of_uptake() {
    use exosim::body::{network, pbpk, simulate_arm, tolerances};
    use exosim::effect::Exposure;
    let text = "[study]\nname = \"ledger\"\nduration = \"2 day\"\noutput_interval = \"5 min\"\n\
        [body]\nspecies = \"mouse\"\n[body.organs.liver]\nefflux_rate = \"0 /h\"\n[[vesicles]]\nname = \"v\"\n[[doses]]\nvesicles = \"v\"\n\
        route = \"iv_bolus\"\namount = 1e10\n[[effects]]\nname = \"liver_dose\"\nmodel = \"direct\"\n\
        baseline = 0\nemax = 1\nec50 = \"1 nM\"\n\
        exposure = { measure = \"delivered\", place = \"liver\", copies_per_vesicle = 1 }\n";
    let study = parse_study(text, "ledger.toml").unwrap_or_else(|e| panic!("{e}"));
    let (plan, arm) = (study.plan(), &study.arms[0]);
    let course = simulate_arm(&plan, arm, |_| {}).unwrap();
    let Exposure::Delivered { inflow, .. } =
        exosim::coupling::exposure::exposure(&plan, arm, &course, &study.effects[0])
    else {
        panic!("a delivered exposure");
    };
    let delivered: f64 = inflow
        .iter()
        .zip(course.times.windows(2))
        .map(|(q, t)| q * (t[1] - t[0]))
        .sum();

    let mut model = pbpk::build(&plan, arm);
    let liver = arm
        .body
        .organs
        .iter()
        .position(|o| o.organ.name() == "liver")
        .unwrap();
    let tissue = model.classes[0].tissue[liver];
    let mut tol = tolerances(&plan, arm, &model);
    let ledger = model.network.add_state("v/liver_ledger");
    tol.atol.push(tol.atol[tissue]);
    let mut redirected = 0;
    for t in &mut model.network.transfers {
        if t.from == tissue {
            t.to = ledger;
            redirected += 1;
        }
    }
    assert_eq!(redirected, 2, "degradation and excretion leave the liver");
    let traj = network::simulate(
        &model.network,
        &model.events,
        plan.output_times,
        plan.duration,
        &tol,
        |_| {},
    )
    .unwrap();
    let end = traj.state(traj.times.len() - 1);
    let exact = end[tissue] + end[ledger];
    let err = (delivered - exact).abs() / exact;
    assert!(
        err < 2e-4,
        "delivered {delivered:e} vs exact {exact:e}: {err:e}"
    );
}

/// The campaign observables `effect` and `effect_change` read the run's
/// effect at an output time: they equal summary.json's `end` and its ratio
/// to `start`, in the effect's unit, and read at any output time along the
/// course; a wrong effect name is a located error.
#[test]
fn effect_observables_read_the_summary_values() {
    use exosim::campaign::observable::{ObservableSpec, resolve};
    use exosim::scenario::error::{KeyPath, Locator};
    #[derive(serde::Deserialize)]
    struct File {
        observables: Vec<ObservableSpec>,
    }
    let study = shipped();
    let result = run::run(&study, |_| {}).unwrap();
    let summary = run::summary(&study, &result);
    let campaign = "[[observables]]\nname = \"v\"\nkind = \"effect\"\narm = \"CD47\"\ntime = \"21 day\"\n\
        [[observables]]\nname = \"r\"\nkind = \"effect_change\"\narm = \"CD47\"\neffect = \"tumour\"\ntime = \"21 day\"\n\
        [[observables]]\nname = \"bad\"\nkind = \"effect\"\narm = \"CD47\"\neffect = \"tumor\"\ntime = \"21 day\"\n";
    let loc = Locator::new("campaign.toml", campaign);
    let file: File = toml::from_str(campaign).unwrap();
    let at = |i: usize| KeyPath::root().key("observables").index(i);
    let v = resolve(&file.observables[0], &study, &loc, &at(0)).unwrap();
    let r = resolve(&file.observables[1], &study, &loc, &at(1)).unwrap();
    let cd47 = summary.effects.iter().find(|e| e.arm == "CD47").unwrap();
    assert_eq!(v.evaluate(&result), cd47.end);
    assert_eq!(v.unit, "mm3");
    assert_eq!(r.evaluate(&result), cd47.end / cd47.start);
    // Read along the course (a calibration's fitted curve): at 0 the start,
    // a change of 1 there; at 21 days the observable itself.
    assert_eq!(v.curve_times(&study, &result), study.output_times);
    assert_eq!(v.at_time(0.0).unwrap().evaluate(&result), cd47.start);
    assert_eq!(r.at_time(0.0).unwrap().evaluate(&result), 1.0);
    let end = *study.output_times.last().unwrap();
    assert_eq!(v.at_time(end).unwrap().evaluate(&result), cd47.end);
    assert!(v.at_time(1.5).is_none(), "a time off the output grid");
    let err = resolve(&file.observables[2], &study, &loc, &at(2))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("campaign.toml:")
            && err.contains("no effect `tumor`")
            && err.contains("did you mean `tumour`"),
        "{err}"
    );
}

/// The shipped MSC study: a larger dose calms the inflammation score more
/// (a lower trough) and for longer (a later trough); the control stays at
/// its steady state, kin/kout = 100.
#[test]
fn a_larger_msc_dose_calms_inflammation_more() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/msc_inflammation_body.toml");
    let study = load_study(&path).unwrap_or_else(|e| panic!("{e}"));
    let result = run::run(&study, |_| {}).unwrap();
    let s = run::summary(&study, &result).effects;
    assert!(
        s[0].minimum.0 == 100.0 && s[0].end == 100.0,
        "control {:?}",
        s[0]
    );
    for w in s[1..].windows(2) {
        assert!(
            w[1].minimum.0 < w[0].minimum.0,
            "{} vs {}",
            w[1].arm,
            w[0].arm
        );
        assert!(
            w[1].minimum.1 > w[0].minimum.1,
            "{} vs {}",
            w[1].arm,
            w[0].arm
        );
    }
}

/// The dose–response campaign's Hill curve: ED50 lies between the two
/// doses whose tumours bracket half the effect (3·10¹⁰ gives more than
/// half the untreated growth, 10¹¹ less), inside its closed interval.
#[test]
fn dose_response_ed50_lies_between_the_doses_that_bracket_half_effect() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../campaigns/xenograft_dose_response.toml");
    let c = exosim::campaign::Campaign::load(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = exosim::campaign::run_whole(&c, dir.path(), |_, _| {}).unwrap();
    assert_eq!(s.dose_response.len(), 2);
    let f = &s.dose_response[0].curve;
    assert!(3e10 < f.ed50 && f.ed50 < 1e11, "{}", f.ed50);
    assert!(!f.low_open && !f.high_open);
    assert!(f.ed50_low < f.ed50 && f.ed50 < f.ed50_high);
    // The ratio is the volume over 100 mm³: the same ED50.
    let g = &s.dose_response[1].curve;
    assert!((g.ed50 / f.ed50 - 1.0).abs() < 1e-3);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "parameter = \"arms.targeted.doses[0].amount\"",
        "parameter = \"arms.targeted.dose\"",
    );
    let e = exosim::campaign::Campaign::parse(&text, &path.display().to_string()).unwrap_err();
    assert_eq!(e.key, "dose_response.parameter", "{e}");
}
