//! Campaign observables read from real runs of shipped (shortened) and
//! inline studies, each against an independent computation: the time
//! series' columns, closed-form one-compartment kinetics, the area rule
//! applied by hand, the ROC curve's own area, the detection curve table,
//! the tissue's time-series file.

use exosim::campaign::observable::{Observable, ObservableSpec, resolve};
use exosim::run::{self, RunResult};
use exosim::scenario::error::{KeyPath, Locator};
use exosim::scenario::{Study, parse_study};

#[derive(serde::Deserialize)]
struct File {
    observables: Vec<ObservableSpec>,
}

/// The observables of `campaign` resolved against `study`, by name.
fn observables(study: &Study, campaign: &str) -> Vec<Observable> {
    let loc = Locator::new("campaign.toml", campaign);
    let file: File = toml::from_str(campaign).unwrap();
    let root = KeyPath::root().key("observables");
    file.observables
        .iter()
        .enumerate()
        .map(|(i, s)| resolve(s, study, &loc, &root.index(i)).unwrap())
        .collect()
}

fn value(obs: &[Observable], name: &str, result: &RunResult) -> f64 {
    obs.iter()
        .find(|o| o.name == name)
        .unwrap()
        .evaluate(result)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// mouse_iv_bolus over 6 h instead of 48 h.
fn mouse() -> (Study, RunResult) {
    let text = include_str!("../../../../studies/mouse_iv_bolus.toml")
        .replace("duration = \"48 h\"", "duration = \"6 h\"")
        .replace("\"24 h\"]", "\"6 h\"]");
    let study = parse_study(&text, "mouse.toml").unwrap();
    let result = run::run(&study, |_| {}).unwrap();
    (study, result)
}

/// The column `name` of the run's time series (timeseries.csv).
fn column(study: &Study, result: &RunResult, name: &str) -> Vec<f64> {
    let table = run::timeseries(study, result);
    let j = table.columns.iter().position(|c| c.name == name).unwrap();
    table.columns[j].values.clone()
}

const MOUSE: &str = r#"
[[observables]]
name = "liver_1h"
kind = "fraction_of_dose"
place = "liver"
time = "1 h"
[[observables]]
name = "spleen_count_2h"
kind = "count"
vesicles = "sEV"
place = "spleen"
time = "2 h"
[[observables]]
name = "liver_peak"
kind = "peak"
place = "liver"
[[observables]]
name = "liver_peak_time"
kind = "peak_time"
place = "liver"
[[observables]]
name = "auc"
kind = "auc_last"
[[observables]]
name = "cmax"
kind = "c_max"
[[observables]]
name = "delivered_liver_1h"
kind = "fraction_delivered"
place = "liver"
time = "1 h"
[[observables]]
name = "delivered_liver_2h"
kind = "fraction_delivered"
place = "liver"
time = "2 h"
"#;

/// Shares, counts and peaks equal what the user computes from
/// timeseries.csv: column / dose, the column's value, its maximum.
#[test]
fn place_observables_equal_the_timeseries_columns() {
    let (study, result) = mouse();
    let obs = observables(&study, MOUSE);
    let times = column(&study, &result, "time_s");
    let liver = column(&study, &result, "main/liver/sEV");
    let spleen = column(&study, &result, "main/spleen/sEV");
    let at = |t: f64| times.iter().position(|&x| x == t).unwrap();
    assert_eq!(value(&obs, "liver_1h", &result), liver[at(3600.0)] / 1e10);
    assert_eq!(value(&obs, "spleen_count_2h", &result), spleen[at(7200.0)]);
    let (k, max) = liver
        .iter()
        .enumerate()
        .fold((0, f64::MIN), |b, (k, &c)| if c > b.1 { (k, c) } else { b });
    assert_eq!(value(&obs, "liver_peak", &result), max);
    assert_eq!(value(&obs, "liver_peak_time", &result), times[k]);
}

/// auc_last against the linear-up / log-down trapezoid of the blood column
/// over the blood volume, computed here; c_max against the column's first
/// sample (the bolus is at 0, when blood holds the whole dose).
#[test]
fn blood_auc_is_the_log_down_trapezoid_of_the_blood_column() {
    let (study, result) = mouse();
    let obs = observables(&study, MOUSE);
    let volume = study.arms[0].body.blood_volume;
    let times = column(&study, &result, "time_s");
    let c: Vec<f64> = column(&study, &result, "main/blood/sEV")
        .iter()
        .map(|n| n / volume)
        .collect();
    let mut auc = 0.0;
    for k in 1..c.len() {
        let (dt, a, b) = (times[k] - times[k - 1], c[k - 1], c[k]);
        auc += if b < a && b > 0.0 && (a - b) / a > 1e-6 {
            dt * (a - b) / (a / b).ln()
        } else {
            dt * (a + b) / 2.0
        };
    }
    let got = value(&obs, "auc", &result);
    assert!(rel(got, auc) < 1e-9, "auc_last {got} vs {auc}");
    assert_eq!(value(&obs, "cmax", &result), c[0]);
    assert!(rel(c[0], 1e10 / volume) < 1e-9);
}

/// fraction_delivered at a report time is the summary's figure; at any
/// output time it is at least what the organ holds then, and it never
/// falls (uptake is cumulative).
#[test]
fn fraction_delivered_agrees_with_the_summary_and_bounds_the_share_present() {
    let (study, result) = mouse();
    let obs = observables(&study, MOUSE);
    let summary = &result.summaries[0];
    let d1 = value(&obs, "delivered_liver_1h", &result);
    assert_eq!(d1, summary.fraction_delivered["3600"]["liver"]);
    let d2 = value(&obs, "delivered_liver_2h", &result);
    let liver = column(&study, &result, "main/liver/sEV");
    let times = column(&study, &result, "time_s");
    let present = liver[times.iter().position(|&t| t == 7200.0).unwrap()] / 1e10;
    assert!(
        d2 >= present && d2 >= d1 && d2 <= 1.0,
        "{d1} {d2} {present}"
    );
}

/// Organ uptake off: the body is one compartment, blood holds D e^{−kt}
/// with k the blood degradation rate, so the half-lives are ln 2 / k, the
/// MRT 1/k, AUC∞ D/(Vk) and the clearance Vk.
#[test]
fn one_compartment_pk_observables_match_closed_forms() {
    let organs = [
        "liver", "spleen", "lungs", "kidneys", "heart", "brain", "gut", "rest",
    ]
    .map(|o| format!("{o} = {{ uptake_extraction = 0.0 }}\n"))
    .concat();
    let text = format!(
        "[study]\nname = \"one\"\nduration = \"12 h\"\noutput_interval = \"10 min\"\n\
         [solver]\nrtol = 1e-11\natol_fraction = 1e-16\n\
         [body]\nspecies = \"mouse\"\nmps = {{ capacity = 0.0 }}\n\
         lung_trapping = {{ max_extraction = 0.0 }}\nspleen_filtering = {{ max_extraction = 0.0 }}\n[body.organs]\n{organs}\
         [[vesicles]]\nname = \"ev\"\nblood_degradation_rate = \"0.5 /h\"\n\
         [[doses]]\nvesicles = \"ev\"\nroute = \"iv_bolus\"\namount = 1e10\n"
    );
    let study = parse_study(&text, "one.toml").unwrap();
    let result = run::run(&study, |_| {}).unwrap();
    let kinds = [
        "initial_half_life",
        "terminal_half_life",
        "mrt",
        "auc_inf",
        "clearance",
    ];
    let campaign: String = kinds
        .iter()
        .map(|k| format!("[[observables]]\nname = \"{k}\"\nkind = \"{k}\"\n"))
        .collect();
    let obs = observables(&study, &campaign);
    let k = 0.5 / 3600.0;
    let v = study.arms[0].body.blood_volume;
    let expected = [2f64.ln() / k, 2f64.ln() / k, 1.0 / k, 1e10 / (v * k), v * k];
    for (name, want) in kinds.iter().zip(expected) {
        let got = value(&obs, name, &result);
        assert!(rel(got, want) < 1e-5, "{name}: {got} vs {want}");
    }
}

/// screening_ovarian with small cohorts, a coarse curve and no screening.
fn ovarian() -> (Study, RunResult) {
    let text = include_str!("../../../../studies/screening_ovarian.toml");
    let text = text[..text.find("[biopsy.screening]").unwrap()]
        .replace("cohort = 20000", "cohort = 400")
        .replace("points = 40", "points = 12");
    let study = parse_study(&text, "ovarian.toml").unwrap();
    let result = run::run(&study, |_| {}).unwrap();
    (study, result)
}

/// The detection probability at a curve diameter is that row of
/// biopsy_curve.csv; the detectable diameters are where the curve,
/// interpolated linearly between its rows, crosses 50 % and 90 %; the ROC
/// AUC is the trapezoidal area under the test's ROC rows.
#[test]
fn biopsy_observables_match_the_curve_and_roc_tables() {
    let (study, result) = ovarian();
    let b = study.biopsy.as_ref().unwrap();
    let d = b.diameters[5];
    let campaign = format!(
        "[[observables]]\nname = \"p\"\nkind = \"detection_probability\"\ndiameter = \"{} um\"\n\
         [[observables]]\nname = \"d50\"\nkind = \"detectable_diameter\"\nprobability = 0.5\n\
         [[observables]]\nname = \"d90\"\nkind = \"detectable_diameter\"\nprobability = 0.9\n\
         [[observables]]\nname = \"auc\"\nkind = \"roc_auc\"\ntest = \"immunocapture_digital\"\n",
        d * 1e6
    );
    let obs = observables(&study, &campaign);
    let table = run::biopsy_curve(&result.biopsy);
    let col = |n: &str| &table.columns.iter().find(|c| c.name == n).unwrap().values;
    let (diam, prob) = (col("diameter_m"), col("immunocapture_digital/probability"));
    assert_eq!(value(&obs, "p", &result), prob[5]);
    for (name, q) in [("d50", 0.5), ("d90", 0.9)] {
        let x = value(&obs, name, &result);
        let i = prob.iter().position(|&p| p >= q).unwrap();
        assert!(i > 0 && diam[i - 1] <= x && x <= diam[i], "{name} = {x}");
        let f = (x - diam[i - 1]) / (diam[i] - diam[i - 1]);
        let at_x = prob[i - 1] + f * (prob[i] - prob[i - 1]);
        assert!((at_x - q).abs() < 1e-9, "{name}: curve at {x} is {at_x}");
    }
    let roc = run::biopsy_roc(&result.biopsy[0]);
    let rc = |n: &str| &roc.columns.iter().find(|c| c.name == n).unwrap().values;
    let (sens, spec) = (rc("sensitivity"), rc("specificity"));
    let mut pts: Vec<(f64, f64)> = spec.iter().zip(sens).map(|(s, t)| (1.0 - s, *t)).collect();
    pts.extend([(0.0, 0.0), (1.0, 1.0)]);
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let area: f64 = pts
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    let auc = value(&obs, "auc", &result);
    assert!(
        (auc - area).abs() < 1e-9,
        "roc_auc {auc} vs trapezoid {area}"
    );
}

/// The signature's held-out AUC is the mean of its per-fold held-out AUCs
/// (the `mean` row of signature.csv).
#[test]
fn signature_auc_is_the_mean_of_the_held_out_folds() {
    let text = include_str!("../../../../studies/autoimmune_panel.toml")
        .replace("cohort = 1000", "cohort = 120");
    let study = parse_study(&text, "panel.toml").unwrap();
    let result = run::run(&study, |_| {}).unwrap();
    for c in &result.signature {
        let campaign = format!(
            "[[observables]]\nname = \"a\"\nkind = \"signature_auc\"\ncondition = \"{}\"\n",
            c.condition
        );
        let obs = observables(&study, &campaign);
        let folds = &c.test_auc_per_fold;
        let mean = folds.iter().sum::<f64>() / folds.len() as f64;
        assert!(
            rel(value(&obs, "a", &result), mean) < 1e-12,
            "{}",
            c.condition
        );
    }
}

const TISSUE: &str = r#"
[[observables]]
name = "tumour_1h"
kind = "cells"
variant = "blocked"
cell_type = "tumour"
time = "1 h"
[[observables]]
name = "tumour_1h_max"
kind = "cells"
variant = "blocked"
cell_type = "tumour"
time = "60 min"
statistic = "max"
[[observables]]
name = "fold"
kind = "fold_change"
variant = "base"
cell_type = "tumour"
[[observables]]
name = "kills"
kind = "kills"
variant = "base"
cell_type = "tumour"
[[observables]]
name = "cytotoxicity"
kind = "state_mean"
variant = "base"
cell_type = "killer"
state = "cytotoxicity"
[[observables]]
name = "free"
kind = "tissue_vesicles"
variant = "base"
vesicles = "t_ev"
place = "free"
"#;

/// Cell counts at 1 h against tissue_timeseries.csv as written (mean and
/// max over replicates of the rows at 3600 s); the end-of-run figures
/// against the tissue part of summary.json.
#[test]
fn tissue_observables_match_the_tissue_table_and_summary() {
    let text = include_str!("../fixtures/small_tissue.toml");
    let study = parse_study(text, "small.toml").unwrap();
    let result = run::run(&study, |_| {}).unwrap();
    let obs = observables(&study, TISSUE);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tissue_timeseries.csv");
    let rows: Vec<_> = result
        .tissue
        .iter()
        .map(|r| (r.variant.clone(), r.replicate, &r.record))
        .collect();
    exosim::tissue::observe::write_timeseries(&path, &rows).unwrap();
    let mut csv = csv::Reader::from_path(&path).unwrap();
    let header = csv.headers().unwrap().clone();
    let j = header.iter().position(|h| h == "cells_tumour").unwrap();
    let at_1h: Vec<f64> = csv
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "blocked" && r[2].parse::<f64>().unwrap() == 3600.0)
        .map(|r| r[j].parse().unwrap())
        .collect();
    assert_eq!(at_1h.len(), 2, "two replicates");
    assert_eq!(
        value(&obs, "tumour_1h", &result),
        (at_1h[0] + at_1h[1]) / 2.0
    );
    assert_eq!(
        value(&obs, "tumour_1h_max", &result),
        at_1h[0].max(at_1h[1])
    );
    let model = study.tissue.as_ref().unwrap();
    let summary = exosim::coupling::tissue_section::summarise(model, &result.tissue);
    let base = summary.variants.iter().find(|v| v.name == "base").unwrap();
    assert_eq!(
        value(&obs, "fold", &result),
        base.fold_change["tumour"].mean
    );
    assert_eq!(value(&obs, "kills", &result), base.kills["tumour"].mean);
    let cyto = base.final_state["killer.cytotoxicity"].mean;
    assert_eq!(value(&obs, "cytotoxicity", &result), cyto);
    assert_eq!(
        value(&obs, "free", &result),
        base.vesicles["t_ev.free"].mean
    );
}
