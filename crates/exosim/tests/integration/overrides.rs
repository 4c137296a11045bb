//! Values set over a study file (`--set PATH=VALUE`) are the same as the
//! value written in the file, and are checked like it.

use std::path::Path;

use exosim::scenario::{Override, StudySource, parse_study};

fn shipped(name: &str) -> (String, StudySource) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../studies")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let source = StudySource::load(&path).unwrap();
    (text, source)
}

fn resolved_json(study: &exosim::scenario::Study) -> String {
    serde_json::to_string(&study.resolved).unwrap()
}

fn set(list: &[&str]) -> Vec<Override> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn an_override_resolves_to_the_study_with_the_value_written_in_the_file() {
    let (text, source) = shipped("mouse_iv_bolus.toml");
    let edited = text.replacen("diameter = \"100 nm\"", "diameter = \"150 nm\"", 1);
    assert_ne!(
        edited, text,
        "the shipped study should hold the 100 nm line"
    );
    let by_file = parse_study(&edited, "edited.toml").unwrap();
    let by_set = source
        .study(&set(&["vesicles.sEV.diameter=150 nm"]))
        .unwrap();
    assert_eq!(resolved_json(&by_set), resolved_json(&by_file));
    assert_eq!(by_set.vesicles[0].diameter, by_file.vesicles[0].diameter);
    // Without overrides, the source gives the file's own study.
    let plain = source.study(&[]).unwrap();
    assert_eq!(
        resolved_json(&plain),
        resolved_json(&parse_study(&text, "s").unwrap())
    );
}

#[test]
fn overrides_apply_in_order_and_reach_arms_and_tissue_entries_by_name() {
    let (_, source) = shipped("tumour_ev_dose.toml");
    let study = source
        .study(&set(&[
            "tissue.cell_types.tumour.secretion.tumour_ev.rate=5 /h",
            "tissue.cell_types.tumour.secretion.tumour_ev.rate=30 /h",
        ]))
        .unwrap();
    let rate = &study.resolved.tissue.as_ref().unwrap().cell_types[0].secretion[0].rate;
    assert_eq!(
        format!("{rate:?}"),
        format!("{:?}", exosim::units::Rate::per_hour(30.0))
    );

    let demo = StudySource::new(exosim::DEMO_STUDY.to_string(), "demo.toml").unwrap();
    let study = demo
        .study(&set(&["arms.cd47_coat.body.mps.capacity=0.25"]))
        .unwrap();
    let arm = study.arms.iter().find(|a| a.name == "cd47_coat").unwrap();
    let other = study.arms.iter().find(|a| a.name == "natural").unwrap();
    assert_eq!(arm.body.mps.capacity, 0.25);
    assert_ne!(other.body.mps.capacity, 0.25);
}

#[test]
fn a_bad_override_names_itself_not_a_line_of_the_file() {
    let (_, source) = shipped("mouse_iv_bolus.toml");
    let e = source.study(&set(&["body.mps.capacity=-1"])).unwrap_err();
    assert_eq!(e.file, "--set body.mps.capacity=-1");
    assert_eq!((e.line, e.column), (0, 0));
    assert_eq!(e.key, "body.mps.capacity");
    assert!(
        e.to_string()
            .starts_with("--set body.mps.capacity=-1: `body.mps.capacity`: ")
    );
    let e = source.study(&set(&["body.mpss.capacity=0.5"])).unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("did you mean `body.mps.capacity`?"));
    let e = source.study(&set(&["body.blood_volume=5"])).unwrap_err();
    assert!(e.message.contains("no unit"), "{}", e.message);
    // A later good override does not hide an earlier bad one.
    let e = source
        .study(&set(&["body.mpss.capacity=0.5", "body.mps.capacity=0.5"]))
        .unwrap_err();
    assert_eq!(e.file, "--set body.mpss.capacity=0.5");
}
