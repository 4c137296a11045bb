//! Release inhibitors with their own pharmacokinetics (`[[drugs]]`): the
//! drug's course in the body against the closed forms of pharmacokinetics
//! textbooks, the source's release scaled by `1 − I(C)`, the mass balance,
//! the washout, the tissue's time-varying factor, and the located errors.

use exosim::body::{self, ArmCourse};
use exosim::scenario::{Study, parse_study};

use super::study_errors::{error, line_of};

/// Avogadro's number, 1/mol.
const NA: f64 = 6.022_140_76e23;

/// A mouse whose blood receives `tumour_ev` from a source named
/// `tumour_release` and `healthy_ev` from an unnamed source, two arms
/// (`control`, `treated`), the treated arm given `DRUG` (a `[[arms.drugs]]`
/// body, spliced in), integrated at tight tolerances.
fn study(duration: &str, drug: &str) -> String {
    format!(
        r#"
[study]
name = "inhibitor"
duration = "{duration}"
output_interval = "10 min"

[solver]
rtol = 1e-10

[body]
species = "mouse"

[[vesicles]]
name = "tumour_ev"

[[vesicles]]
name = "healthy_ev"

[[sources]]
name = "tumour_release"
vesicles = "tumour_ev"
rate = "1e8 /h"

[[sources]]
vesicles = "healthy_ev"
rate = "1e9 /h"

[[arms]]
name = "control"

[[arms]]
name = "treated"

[[arms.drugs]]
name = "pddc"
{drug}
"#
    )
}

/// The two arms' courses.
fn run(text: &str) -> (Study, ArmCourse, ArmCourse) {
    let study = parse_study(text, "inhibitor.toml").unwrap_or_else(|e| panic!("{e}"));
    let plan = study.plan();
    let control = body::simulate_arm(&plan, &study.arms[0], |_| {}).unwrap();
    let treated = body::simulate_arm(&plan, &study.arms[1], |_| {}).unwrap();
    (study, control, treated)
}

/// Largest relative error of the treated arm's drug concentration against
/// `exact` (molecules per m³), over the outputs where `exact` is above
/// `floor` times its peak.
fn worst_error(course: &ArmCourse, exact: impl Fn(f64) -> f64, floor: f64) -> f64 {
    let c = &course.drugs[0].concentration;
    let peak = course.times.iter().map(|&t| exact(t)).fold(0.0, f64::max);
    course
        .times
        .iter()
        .zip(c)
        .filter(|&(&t, _)| exact(t) > floor * peak)
        .map(|(&t, &x)| ((x - exact(t)) / exact(t)).abs())
        .fold(0.0, f64::max)
}

const ONE_COMPARTMENT_BOLUS: &str = r#"
clearance = "10 mL/h"
volume = "30 mL"
ec50 = "3 uM"
sources = ["tumour_release"]
[[arms.drugs.doses]]
route = "iv_bolus"
amount = "0.5 umol"
at = "1 h"
"#;

/// One compartment, IV bolus: `C = (D/V)·e^(−k(t − t0))`, `k = CL/V`.
#[test]
fn one_compartment_iv_bolus_decays_as_c0_exp_minus_kt() {
    let (_, _, treated) = run(&study("24 h", ONE_COMPARTMENT_BOLUS));
    let (d, v, cl) = (0.5e-6 * NA, 30e-6, 10e-6 / 3600.0);
    let k = cl / v;
    let exact = |t: f64| {
        if t < 3600.0 {
            0.0
        } else {
            d / v * (-k * (t - 3600.0)).exp()
        }
    };
    let worst = worst_error(&treated, exact, 1e-3);
    println!("one compartment, IV bolus: worst relative error {worst:e}");
    assert!(worst < 1e-6, "relative error {worst:e}");
    assert_eq!(treated.drugs[0].concentration[0], 0.0);
}

/// Two compartments, IV bolus: `C = (D/V1)·(A·e^(−αt) + B·e^(−βt))` with
/// α, β the roots of `λ² − (k10 + k12 + k21)λ + k10·k21`,
/// `A = (α − k21)/(α − β)`, `B = (k21 − β)/(α − β)` (Gibaldi & Perrier).
#[test]
fn two_compartment_iv_bolus_follows_the_bi_exponential() {
    let drug = r#"
compartments = 2
clearance = "10 mL/h"
volume = "30 mL"
intercompartmental_clearance = "40 mL/h"
peripheral_volume = "90 mL"
ec50 = "3 uM"
sources = ["tumour_release"]
[[arms.drugs.doses]]
route = "iv_bolus"
amount = "0.5 umol"
"#;
    let (_, _, treated) = run(&study("48 h", drug));
    let (d, v1) = (0.5e-6 * NA, 30e-6);
    let (k10, k12, k21): (f64, f64, f64) = (
        10.0 / 30.0 / 3600.0,
        40.0 / 30.0 / 3600.0,
        40.0 / 90.0 / 3600.0,
    );
    let s = k10 + k12 + k21;
    let alpha = (s + (s * s - 4.0 * k10 * k21).sqrt()) / 2.0;
    let beta = (s - (s * s - 4.0 * k10 * k21).sqrt()) / 2.0;
    let (a, b) = (
        (alpha - k21) / (alpha - beta),
        (k21 - beta) / (alpha - beta),
    );
    let exact = |t: f64| d / v1 * (a * (-alpha * t).exp() + b * (-beta * t).exp());
    let worst = worst_error(&treated, exact, 1e-3);
    println!("two compartments, IV bolus: worst relative error {worst:e}");
    assert!(worst < 1e-6, "relative error {worst:e}");
}

/// Oral dose, one compartment: the Bateman function
/// `C = F·D·ka / (V·(ka − k)) · (e^(−kt) − e^(−ka·t))`.
#[test]
fn oral_dose_follows_the_bateman_function() {
    let drug = r#"
clearance = "10 mL/h"
volume = "30 mL"
ka = "2 /h"
bioavailability = 0.88
ec50 = "3 uM"
sources = ["tumour_release"]
[[arms.drugs.doses]]
route = "oral"
amount = "0.5 umol"
"#;
    let (_, _, treated) = run(&study("24 h", drug));
    let (d, v, f, ka) = (0.5e-6 * NA, 30e-6, 0.88, 2.0 / 3600.0);
    let k = 10e-6 / 3600.0 / v;
    let exact = |t: f64| f * d * ka / (v * (ka - k)) * ((-k * t).exp() - (-ka * t).exp());
    let worst = worst_error(&treated, exact, 1e-3);
    println!("oral (Bateman): worst relative error {worst:e}");
    assert!(worst < 1e-6, "relative error {worst:e}");
}

/// A drug held at Css = 3 µM (its EC50) for 24 h: a loading bolus of
/// Css·V = 3 µM · 30 mL = 90 nmol and an infusion at CL·Css = 10 mL/h ·
/// 3 µM = 30 nmol/h; Emax 0.8, Hill 2, on the tumour's source.
const CONSTANT_3_UM: &str = r#"
clearance = "10 mL/h"
volume = "30 mL"
emax = 0.8
ec50 = "3 uM"
hill = 2
sources = ["tumour_release"]
[[arms.drugs.doses]]
route = "iv_bolus"
amount = "90 nmol"
[[arms.drugs.doses]]
route = "iv_infusion"
amount = "720 nmol"
duration = "24 h"
"#;

/// A loading bolus `Css·V` with an infusion at `CL·Css` holds a
/// one-compartment concentration at `Css` from the first instant, so the
/// targeted source releases exactly `rate·(1 − I(Css))`: its ledger, and
/// its blood count against a control whose source is written at that rate.
#[test]
fn at_a_constant_concentration_the_source_is_scaled_by_one_minus_i() {
    let text = study("24 h", CONSTANT_3_UM);
    let (study_model, _, treated) = run(&text);
    // I(EC50) = emax/2 whatever the Hill coefficient.
    let factor = 1.0 - 0.8 / 2.0;
    let rf = &treated.drugs[0].release_factor;
    let worst_factor = rf.iter().map(|x| (x - factor).abs()).fold(0.0, f64::max);
    assert!(
        worst_factor < 1e-7,
        "release factor off by {worst_factor:e}"
    );
    let tumour = treated.classes.iter().find(|c| c.class == 0).unwrap();
    let last = treated.times.len() - 1;
    let expected = 1e8 / 3600.0 * treated.times[last] * factor;
    let ledger = (tumour.released[last] - expected).abs() / expected;
    println!("constant C: factor off by {worst_factor:e}, released off by {ledger:e}");
    assert!(ledger < 1e-6, "released off by {ledger:e}");

    // The same arm without the drug but with the source at rate·factor.
    let scaled = text.replace("rate = \"1e8 /h\"", "rate = \"6e7 /h\"");
    let (_, control, _) = run(&scaled);
    let blood = |c: &ArmCourse| {
        c.classes
            .iter()
            .find(|c| c.class == 0)
            .unwrap()
            .series(exosim::body::pbpk::Place::Blood)
            .unwrap()
            .to_vec()
    };
    let (ours, theirs) = (blood(&treated), blood(&control));
    let worst = ours
        .iter()
        .zip(&theirs)
        .skip(1)
        .map(|(a, b)| ((a - b) / b).abs())
        .fold(0.0, f64::max);
    println!("constant C: blood against the scaled source off by {worst:e}");
    assert!(worst < 1e-6, "blood off by {worst:e}");
    assert_eq!(study_model.arms[1].drugs[0].sources, vec![0]);
}

/// Two drugs on one source act independently (Bliss): at constant 3 µM,
/// one with Emax 0.8 lets 0.6 through, one with Emax 0.5 lets 0.75
/// through, together 0.45 of the nominal release; each keeps its own
/// release-factor column.
#[test]
fn two_drugs_on_one_source_multiply_their_release_factors() {
    let second = format!(
        "{}\n[[arms.drugs]]\nname = \"gw4869\"\n{}",
        CONSTANT_3_UM,
        CONSTANT_3_UM.replace("emax = 0.8", "emax = 0.5")
    );
    let text = study("24 h", &second);
    let (study_model, _, treated) = run(&text);
    assert_eq!(study_model.arms[1].drugs.len(), 2);
    for (d, factor) in treated.drugs.iter().zip([0.6, 0.75]) {
        let worst = (d.release_factor.iter())
            .map(|x| (x - factor).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-7, "{}: factor off by {worst:e}", d.drug);
    }
    let tumour = treated.classes.iter().find(|c| c.class == 0).unwrap();
    let last = treated.times.len() - 1;
    let expected = 1e8 / 3600.0 * treated.times[last] * 0.6 * 0.75;
    let ledger = (tumour.released[last] - expected).abs() / expected;
    println!("two drugs: released off by {ledger:e}");
    assert!(ledger < 1e-6, "released off by {ledger:e}");
}

/// Daily oral doses: what entered (the sources' nominal release) equals
/// what is in the body, cleared, degraded, plus what the drug held back,
/// at every output time, and `released` is the nominal release less it.
#[test]
fn mass_balance_holds_with_the_drug() {
    let drug = r#"
clearance = "10 mL/h"
volume = "30 mL"
ka = "2 /h"
bioavailability = 0.88
ec50 = "3 uM"
sources = ["tumour_release", "healthy_ev"]
[[arms.drugs.doses]]
route = "oral"
amount = "0.5 umol"
every = "24 h"
count = 3
"#;
    let (study, _, treated) = run(&study("4 day", drug));
    let mut worst: f64 = 0.0;
    for cc in &treated.classes {
        worst = worst.max(cc.balance_errors().into_iter().fold(0.0, f64::max));
        let last = treated.times.len() - 1;
        let (_, nominal) = study.arms[1].input_by(cc.class, treated.times[last]);
        assert!(
            cc.released[last] < 0.9 * nominal,
            "the drug held back little: {} of {nominal}",
            cc.released[last]
        );
    }
    println!("mass balance with the drug: worst relative error {worst:e}");
    assert!(worst < 1e-9, "mass balance error {worst:e}");
}

/// Washout: days after the last dose the drug is gone and the source
/// releases at its nominal rate again; blood is back to within 0.1 % of
/// the untreated arm's (what is left is the smaller return from organs,
/// which hold fewer of the vesicles released under the drug).
#[test]
fn release_returns_to_baseline_after_washout() {
    let drug = r#"
clearance = "10 mL/h"
volume = "30 mL"
ec50 = "3 uM"
sources = ["tumour_release"]
[[arms.drugs.doses]]
route = "iv_bolus"
amount = "0.5 umol"
every = "24 h"
count = 2
"#;
    let (_, control, treated) = run(&study("6 day", drug));
    let last = treated.times.len() - 1;
    let rf = treated.drugs[0].release_factor[last];
    assert!(rf > 1.0 - 1e-9, "release factor {rf}");
    let blood = |c: &ArmCourse| {
        c.classes[0]
            .series(exosim::body::pbpk::Place::Blood)
            .unwrap()[last]
    };
    let released = &treated.classes[0].released;
    let dt = treated.times[last] - treated.times[last - 1];
    let rate = (released[last] - released[last - 1]) / dt;
    let nominal = 1e8 / 3600.0;
    println!(
        "washout: release rate / nominal − 1 = {:e}",
        rate / nominal - 1.0
    );
    assert!((rate / nominal - 1.0).abs() < 1e-6, "{rate} vs {nominal}");
    let (ours, theirs) = (blood(&treated), blood(&control));
    println!("washout: blood / control − 1 = {:e}", ours / theirs - 1.0);
    assert!(
        ((ours - theirs) / theirs).abs() < 1e-3,
        "{ours} vs {theirs}"
    );
    // And during the dosing it was lower.
    let k = treated.times.iter().position(|&t| t >= 7200.0).unwrap();
    let during = treated.classes[0]
        .series(exosim::body::pbpk::Place::Blood)
        .unwrap()[k];
    let base = control.classes[0]
        .series(exosim::body::pbpk::Place::Blood)
        .unwrap()[k];
    assert!(during < 0.7 * base, "{during} vs {base}");
}

/// The shipped tumour study with a study-wide drug acting on the tumour
/// cells: the tissue's inhibitor named after the drug follows its course.
#[test]
fn a_tissue_inhibitor_follows_the_drugs_course() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/tumour_nk.toml"),
    )
    .unwrap();
    let text = format!(
        "{text}\n[[drugs]]\nname = \"pddc\"\nclearance = \"10 mL/h\"\nvolume = \"30 mL\"\nec50 = \"3 uM\"\ncell_types = [\"tumour\"]\n[[drugs.doses]]\nroute = \"iv_bolus\"\namount = \"0.5 umol\"\nat = \"2 h\"\n"
    );
    let study = parse_study(&text, "tumour_nk.toml").unwrap_or_else(|e| panic!("{e}"));
    let tissue = study.tissue.expect("a tissue");
    let inhibitor = tissue.inhibitors.iter().find(|i| i.name == "pddc").unwrap();
    assert_eq!(inhibitor.factor_at(3600.0), 1.0, "before the dose");
    let (d, v, k): (f64, f64, f64) = (0.5e-6 * NA, 30e-6, 1.0 / 3.0 / 3600.0);
    for t in [2.0 * 3600.0, 5.0 * 3600.0, 20.0 * 3600.0] {
        let c = d / v * (-k * (t - 7200.0)).exp();
        let exact = 1.0 - c / (c + 3e-6 * 1e3 * NA);
        assert!(
            (inhibitor.factor_at(t) - exact).abs() < 1e-12,
            "at {t} s: {} vs {exact}",
            inhibitor.factor_at(t)
        );
    }
}

/// SBML export refuses an arm with a drug rather than write a model that
/// releases at the nominal rate.
/// The SBML export writes the drug: its central amount a species in a
/// compartment of volume V1, its elimination a reaction, and the tumour's
/// release held back by the Emax/Hill law (sbml:: checks the courses).
#[test]
fn sbml_export_writes_the_drug_and_its_hold_on_the_source() {
    let study = parse_study(&study("24 h", ONE_COMPARTMENT_BOLUS), "s.toml").unwrap();
    let models = exosim::sbml::export(&study).unwrap();
    let treated = &models[1];
    assert!(treated.species.iter().any(|s| s == "pddc__central"));
    for needle in [
        "id=\"pddc_central\"",
        "k_elimination_pddc_central",
        "EC50_pddc",
        "__release\"",
        "<csymbol", // the bolus at 1 h is an event on time
    ] {
        assert!(treated.xml.contains(needle), "`{needle}` not in the model");
    }
    assert!(
        !models[0].xml.contains("pddc"),
        "the control arm has no drug"
    );
}

fn with(from: &str, to: &str) -> String {
    let text = study("24 h", ONE_COMPARTMENT_BOLUS);
    assert!(text.contains(from), "`{from}` is not in the study");
    text.replacen(from, to, 1)
}

#[test]
fn a_hill_coefficient_of_zero_is_refused_at_its_line() {
    let text = with("ec50 = \"3 uM\"", "ec50 = \"3 uM\"\nhill = 0");
    let e = error(&text);
    assert_eq!(e.file, "s.toml");
    assert_eq!(e.key, "arms[1].drugs[0].hill");
    assert_eq!(e.line, line_of(&text, "hill = 0"));
    assert!(e.message.contains("greater than zero"), "{}", e.message);
    assert!(e.hint.is_some());
}

#[test]
fn an_emax_above_one_is_refused_at_its_line() {
    let text = with("ec50 = \"3 uM\"", "ec50 = \"3 uM\"\nemax = 1.5");
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0].emax");
    assert_eq!(e.line, line_of(&text, "emax = 1.5"));
    assert!(e.message.contains("fraction from 0 to 1"), "{}", e.message);
}

#[test]
fn an_unknown_source_gets_a_did_you_mean() {
    let text = with(
        "sources = [\"tumour_release\"]",
        "sources = [\"tumour_relase\"]",
    );
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0].sources[0]");
    assert_eq!(e.line, line_of(&text, "tumour_relase"));
    assert_eq!(e.message, "unknown source `tumour_relase`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `tumour_release`?"));
}

#[test]
fn an_unknown_cell_type_gets_a_did_you_mean() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/tumour_nk.toml"),
    )
    .unwrap();
    let text = format!(
        "{text}\n[[drugs]]\nname = \"pddc\"\nclearance = \"10 mL/h\"\nvolume = \"30 mL\"\nec50 = \"3 uM\"\ncell_types = [\"tumor\"]\n"
    );
    let e = error(&text);
    assert_eq!(e.key, "drugs[0].cell_types[0]");
    assert_eq!(e.line, line_of(&text, "cell_types = [\"tumor\"]"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `tumour`?"));
}

#[test]
fn a_missing_volume_is_refused_at_the_drug() {
    let text = with("volume = \"30 mL\"\n", "");
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0]");
    assert_eq!(e.message, "this drug needs `volume`");
    assert_eq!(e.hint.as_deref(), Some("e.g. volume = \"3 L\""));
    assert!(e.line > 0);
}

#[test]
fn an_oral_dose_without_ka_is_refused() {
    let text = with("route = \"iv_bolus\"", "route = \"oral\"");
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0]");
    assert_eq!(e.message, "this drug needs `ka`");
}

/// `summary.json` `drugs`: at a constant 3 µM (a loading bolus of
/// Css·V and an infusion at CL·Css over the 24 h), Cmax is 3000 nM, the
/// AUC 3000 nM × 24 h and the release factor 1 − I(EC50) = 0.6 from start
/// to end; the untreated arm has no drug.
#[test]
fn the_summary_gives_each_drugs_exposure_and_release_factor() {
    let study = parse_study(&study("24 h", CONSTANT_3_UM), "inhibitor.toml").unwrap();
    let result = exosim::run::run(&study, |_| {}).unwrap();
    let summary = serde_json::to_value(exosim::run::summary(&study, &result)).unwrap();
    let drugs = summary["drugs"].as_array().unwrap();
    assert_eq!(drugs.len(), 1, "only the treated arm: {drugs:?}");
    let d = &drugs[0];
    assert_eq!(
        (d["arm"].as_str(), d["drug"].as_str()),
        (Some("treated"), Some("pddc"))
    );
    let close = |key: &str, want: f64| {
        let got = d[key].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-6 * want, "{key}: {got} vs {want}");
    };
    close("cmax_nm", 3000.0);
    close("auc_nm_h", 3000.0 * 24.0);
    close("lowest_release_factor", 0.6);
    close("final_release_factor", 0.6);
}

/// Doses by mass (docs/effects.md): `8 mg/kg` of a 400 g/mol drug to the
/// 25 g mouse preset is 0.2 mg, 0.5 µmol, so the course is the closed form
/// `C = (D/V)·e^(−k(t − t0))` of that dose; a 50 g arm (`[arms.body]
/// weight`) gets twice the molecules and follows the closed form of 1 µmol.
#[test]
fn a_dose_per_kg_is_the_arms_weight_times_the_dose_over_the_molar_mass() {
    let per_kg = with("amount = \"0.5 umol\"", "amount = \"8 mg/kg\"").replacen(
        "volume = \"30 mL\"",
        "volume = \"30 mL\"\nmolar_mass = \"400 g/mol\"",
        1,
    );
    let heavy = per_kg.replacen(
        "name = \"treated\"\n",
        "name = \"treated\"\n\n[arms.body]\nweight = \"50 g\"\n",
        1,
    );
    let (v, cl) = (30e-6, 10e-6 / 3600.0);
    let exact = |d: f64| {
        move |t: f64| {
            if t < 3600.0 {
                0.0
            } else {
                d / v * (-cl / v * (t - 3600.0)).exp()
            }
        }
    };
    let (_, _, light) = run(&per_kg);
    let (_, _, heavy) = run(&heavy);
    let light_error = worst_error(&light, exact(0.5e-6 * NA), 1e-3);
    let heavy_error = worst_error(&heavy, exact(1e-6 * NA), 1e-3);
    println!(
        "8 mg/kg: 25 g mouse {light_error:e}, 50 g mouse {heavy_error:e} from the closed form"
    );
    assert!(light_error < 1e-6, "{light_error:e}");
    assert!(heavy_error < 1e-6, "{heavy_error:e}");
}

/// An EC50 written as a mass concentration meets the dose through the
/// molar mass: 1.2 µg/mL of a 400 g/mol drug is 3 µM.
#[test]
fn an_ec50_in_mass_per_volume_is_the_molar_one_through_the_molar_mass() {
    let by_mass = with(
        "ec50 = \"3 uM\"",
        "ec50 = \"1.2 ug/mL\"\nmolar_mass = \"400 g/mol\"",
    );
    let (_, _, molar) = run(&study("24 h", ONE_COMPARTMENT_BOLUS));
    let (_, _, mass) = run(&by_mass);
    assert!(
        relative_gap(
            &molar.drugs[0].release_factor,
            &mass.drugs[0].release_factor
        ) < 1e-9
    );
}

/// Largest relative difference between two series (absolute below 1e-300).
fn relative_gap(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-300))
        .fold(0.0, f64::max)
}

#[test]
fn a_dose_in_mass_without_a_molar_mass_is_refused_at_its_line() {
    let text = with("amount = \"0.5 umol\"", "amount = \"5 mg\"");
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0].doses[0].amount");
    assert_eq!(e.line, line_of(&text, "amount = \"5 mg\""));
    assert_eq!(e.message, "a dose in mass needs the drug's `molar_mass`");
    assert!(e.hint.as_deref().unwrap().contains("molar_mass = "));
}

#[test]
fn a_dose_or_an_ec50_of_the_wrong_kind_is_refused() {
    let text = with("amount = \"0.5 umol\"", "amount = \"5 mL\"");
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0].doses[0].amount");
    assert!(e.message.contains("expected a count"), "{}", e.message);
    let text = with("ec50 = \"3 uM\"", "ec50 = \"3 mg/kg\"");
    let e = error(&text);
    assert_eq!(e.key, "arms[1].drugs[0].ec50");
    assert_eq!(e.message, "an EC50 is a concentration, not a mass per mass");
    let text = with("amount = \"0.5 umol\"", "amount = \"2 ug/mL\"");
    let e = error(&text);
    assert_eq!(e.message, "a dose is an amount, not a mass concentration");
    let text = with(
        "species = \"mouse\"",
        "species = \"mouse\"\nweight = \"0 g\"",
    );
    let e = error(&text);
    assert_eq!(e.key, "body.weight");
    assert_eq!(e.line, line_of(&text, "weight = \"0 g\""));
}
