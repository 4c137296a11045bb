//! Resolving observables against studies (the errors a user meets first)
//! and reading them from runs.

use super::*;
use crate::scenario::parse_study;

/// Two mouse arms, a class dosed in one of them only, a 5 min grid.
const TWO_ARMS: &str = r#"
[study]
name = "two_arms"
duration = "6 h"
output_interval = "5 min"
output_times = ["6 min"]
report_times = ["1 h"]

[body]
species = "mouse"

[[vesicles]]
name = "sEV"
diameter = "100 nm"

[[vesicles]]
name = "sEV_CD47"
diameter = "100 nm"
cd47 = 1.0

[[arms]]
name = "natural"
[[arms.doses]]
vesicles = "sEV"
route = "iv_bolus"
amount = 1e10

[[arms]]
name = "cd47_coat"
[[arms.doses]]
vesicles = "sEV_CD47"
route = "iv_bolus"
amount = 1e10
"#;

#[derive(Deserialize)]
struct File {
    observables: Vec<ObservableSpec>,
}

/// Resolves every `[[observables]]` of `campaign` against `study`.
fn resolve_all(study: &Study, campaign: &str) -> Result<Vec<Observable>, StudyError> {
    let loc = Locator::new("c.toml", campaign);
    let file: File = toml::from_str(campaign).map_err(|e| loc.from_toml(&e))?;
    let root = KeyPath::root().key("observables");
    file.observables
        .iter()
        .enumerate()
        .map(|(i, s)| resolve(s, study, &loc, &root.index(i)))
        .collect()
}

fn two_arms() -> Study {
    parse_study(TWO_ARMS, "two_arms.toml").unwrap()
}

fn error(study: &Study, campaign: &str) -> StudyError {
    resolve_all(study, campaign).expect_err("an invalid observable")
}

#[test]
fn an_unknown_arm_is_located_and_the_hint_names_the_nearest() {
    let campaign = "[[observables]]\nname = \"liver\"\nkind = \"fraction_of_dose\"\narm = \"natrual\"\nplace = \"liver\"\ntime = \"1 h\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!((e.file.as_str(), e.line), ("c.toml", 4));
    assert_eq!(e.key, "observables[0].arm");
    assert!(e.message.contains("no arm `natrual`"), "{}", e.message);
    let hint = e.hint.unwrap();
    assert!(hint.starts_with("did you mean `natural`?"), "{hint}");
    assert!(hint.contains("natural, cd47_coat"), "{hint}");
}

#[test]
fn an_arm_must_be_named_when_the_study_has_several() {
    let campaign = "[[observables]]\nname = \"t\"\nkind = \"terminal_half_life\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.key, "observables[0]");
    assert!(e.message.contains("`arm` is needed"), "{}", e.message);
}

#[test]
fn a_time_off_the_output_grid_is_refused_with_its_neighbours() {
    let campaign = "[[observables]]\nname = \"b\"\nkind = \"count\"\narm = \"natural\"\nplace = \"blood\"\ntime = \"7 min\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.key, "observables[0].time");
    assert!(e.message.contains("7 min"), "{}", e.message);
    assert_eq!(e.hint.as_deref(), Some("the nearest: 6 min, 10 min"));
    // The same instant written in another unit is on the grid.
    let hours = resolve_all(&two_arms(), &campaign.replace("7 min", "0.1 h")).unwrap();
    let minutes = resolve_all(&two_arms(), &campaign.replace("7 min", "6 min")).unwrap();
    assert_eq!(hours[0].description, minutes[0].description);
    assert!(
        hours[0].description.contains("at 6 min"),
        "{}",
        hours[0].description
    );
}

#[test]
fn a_biopsy_observable_without_a_biopsy_section_is_refused() {
    let campaign =
        "[[observables]]\nname = \"d50\"\nkind = \"detectable_diameter\"\nprobability = 0.5\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.key, "observables[0].kind");
    assert!(e.message.contains("`[biopsy]`"), "{}", e.message);
    let campaign = "[[observables]]\nname = \"a\"\nkind = \"signature_auc\"\n";
    assert!(
        error(&two_arms(), campaign)
            .message
            .contains("`[signature]`")
    );
    let campaign = "[[observables]]\nname = \"n\"\nkind = \"cells\"\ncell_type = \"tumour\"\n";
    assert!(error(&two_arms(), campaign).message.contains("`[tissue]`"));
}

#[test]
fn a_key_the_kind_does_not_read_is_refused() {
    let campaign =
        "[[observables]]\nname = \"t\"\nkind = \"mrt\"\narm = \"natural\"\ntime = \"1 h\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.key, "observables[0].time");
    assert_eq!(e.hint.as_deref(), Some("`mrt` takes: arm, vesicles"));
}

#[test]
fn pk_figures_need_a_class_dosed_in_the_arm() {
    let campaign = "[[observables]]\nname = \"t\"\nkind = \"mrt\"\narm = \"natural\"\nvesicles = \"sEV_CD47\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.key, "observables[0].vesicles");
    assert_eq!(e.hint.as_deref(), Some("classes dosed there: sEV"));
}

#[test]
fn an_unknown_kind_gets_a_did_you_mean_from_the_toml_reader() {
    let campaign = "[[observables]]\nname = \"t\"\nkind = \"terminal_halflife\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.line, 3);
    assert_eq!(
        e.hint.as_deref(),
        Some("did you mean `terminal_half_life`?")
    );
}

#[test]
fn fraction_delivered_takes_organs_only() {
    let campaign = "[[observables]]\nname = \"f\"\nkind = \"fraction_delivered\"\narm = \"natural\"\nplace = \"blood\"\ntime = \"1 h\"\n";
    let e = error(&two_arms(), campaign);
    assert_eq!(e.key, "observables[0].place");
    assert!(e.message.contains("no organ `blood`"), "{}", e.message);
}

#[test]
fn biopsy_keys_are_checked_against_the_curve() {
    let study = parse_study(
        include_str!("../../../../../studies/screening_ovarian.toml"),
        "s.toml",
    )
    .unwrap();
    let campaign =
        "[[observables]]\nname = \"p\"\nkind = \"detection_probability\"\ndiameter = \"3 mm\"\n";
    let e = error(&study, campaign);
    assert_eq!(e.key, "observables[0].diameter");
    assert!(e.hint.unwrap().starts_with("the nearest: "));
    let campaign =
        "[[observables]]\nname = \"p\"\nkind = \"detectable_diameter\"\nprobability = 1.5\n";
    assert_eq!(error(&study, campaign).key, "observables[0].probability");
    let campaign = "[[observables]]\nname = \"p\"\nkind = \"roc_auc\"\ntest = \"digital\"\n";
    let e = error(&study, campaign);
    assert!(e.hint.unwrap().contains("immunocapture_digital"));
}

#[test]
fn every_kind_has_its_serde_name_in_the_table() {
    for kind in Kind::ALL {
        let serde = serde_json::to_string(&kind).unwrap();
        assert_eq!(serde, format!("\"{}\"", kind.about().name));
        let keys = kind.keys();
        assert!(keys.iter().all(|k| written_keys().contains(k)), "{kind:?}");
    }
}

/// Every optional key of a spec, by name.
fn written_keys() -> Vec<&'static str> {
    let all = ObservableSpec {
        name: "x".into(),
        kind: Kind::Count,
        arm: Some(String::new()),
        vesicles: Some(String::new()),
        place: Some(String::new()),
        time: Some(Time::minutes(1.0)),
        diameter: Some(Length::nanometres(1.0)),
        probability: Some(0.5),
        test: Some(String::new()),
        condition: Some(String::new()),
        variant: Some(String::new()),
        cell_type: Some(String::new()),
        state: Some(String::new()),
        molecule: Some(String::new()),
        statistic: Some(Statistic::Mean),
        effect: Some(String::new()),
    };
    written(&all)
}

/// Body observables of the `natural` arm read from a run: the counts and
/// shares are the course's and the summary's own numbers; the PK figure is
/// the summary's.
#[test]
fn body_observables_read_the_run_and_agree_with_its_summary() {
    let study = two_arms();
    let result = crate::run::run(&study, |_| {}).unwrap();
    let campaign = r#"
[[observables]]
name = "blood_1h"
kind = "count"
arm = "natural"
place = "blood"
time = "1 h"
[[observables]]
name = "liver_1h"
kind = "fraction_of_dose"
arm = "natural"
place = "liver"
time = "60 min"
[[observables]]
name = "liver_peak"
kind = "peak_time"
arm = "natural"
place = "liver"
[[observables]]
name = "t_half"
kind = "terminal_half_life"
arm = "cd47_coat"
"#;
    let obs = resolve_all(&study, campaign).unwrap();
    let values: Vec<f64> = obs.iter().map(|o| o.evaluate(&result)).collect();
    let course = &result.arms[0];
    let k = course.times.iter().position(|&t| t == 3600.0).unwrap();
    let blood = course.classes[0]
        .series(crate::body::pbpk::Place::Blood)
        .unwrap();
    assert_eq!(values[0], blood[k]);
    let summary = &result.summaries[0];
    assert_eq!(values[1], summary.fraction_of_dose["3600"]["liver"]);
    assert_eq!(values[2], summary.peak_time_s["liver"]);
    let coat = result
        .summaries
        .iter()
        .find(|s| s.arm == "cd47_coat")
        .unwrap();
    assert_eq!(
        Some(values[3]),
        coat.pk.as_ref().unwrap().terminal_half_life_s
    );
    assert_eq!(obs[0].unit, "vesicles");
    assert_eq!(obs[1].unit, "1");
}

/// A result that is not the study's (here: empty) gives NaN, not a panic.
#[test]
fn a_result_without_the_target_gives_nan() {
    let study = two_arms();
    let campaign = "[[observables]]\nname = \"a\"\nkind = \"auc_inf\"\narm = \"natural\"\n[[observables]]\nname = \"b\"\nkind = \"fraction_delivered\"\narm = \"natural\"\nplace = \"liver\"\ntime = \"1 h\"\n";
    let empty = RunResult {
        arms: Vec::new(),
        summaries: Vec::new(),
        biopsy: Vec::new(),
        condition_tests: Vec::new(),
        signature: Vec::new(),
        tissue: Vec::new(),
        effects: Vec::new(),
        production: None,
        instruments: Vec::new(),
    };
    for o in resolve_all(&study, campaign).unwrap() {
        assert!(o.evaluate(&empty).is_nan(), "{}", o.name);
    }
}

/// docs/observables.md has a row for every kind, with the kind's unit.
#[test]
fn every_kind_is_documented_with_its_unit() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/observables.md");
    let docs = std::fs::read_to_string(path).unwrap();
    for kind in Kind::ALL {
        let about = kind.about();
        // A kind may share its name with a key (`effect`): any row of that
        // name with the kind's unit.
        let documented = docs
            .lines()
            .filter(|l| l.starts_with(&format!("| `{}` |", about.name)))
            .any(|row| row.contains(&format!("| {} |", about.unit)));
        assert!(
            documented,
            "no row for `{}` with unit {}",
            about.name, about.unit
        );
    }
}
