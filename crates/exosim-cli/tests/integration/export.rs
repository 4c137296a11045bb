//! `exosim export sbml`: file names per arm, no overwrite without
//! `--force`, `--set`, and the refusals printed once with file and hint.

use crate::common::{exosim, repo_root, stderr, stdout};

fn study(name: &str) -> String {
    repo_root().join("studies").join(name).display().to_string()
}

#[test]
fn one_arm_gives_model_xml_and_several_arms_a_file_each() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("mouse");
    let out = exosim(["export", "sbml", &study("mouse_iv_bolus.toml"), "-o"])
        .status
        .code();
    assert_eq!(out, Some(2), "-o needs a directory");
    let out = exosim([
        "export",
        "sbml",
        &study("mouse_iv_bolus.toml"),
        "-o",
        one.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = std::fs::read_to_string(one.join("model.xml")).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("<sbml xmlns=\"http://www.sbml.org/sbml/level3/version2/core\""));
    let many = dir.path().join("human");
    let out = exosim([
        "export",
        "sbml",
        &study("human_iv_infusion.toml"),
        "-o",
        many.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for arm in ["infusion_1h", "infusion_4h", "bolus"] {
        assert!(many.join(format!("model_{arm}.xml")).is_file(), "{arm}");
        assert!(stdout(&out).contains(&format!("(arm `{arm}`)")));
    }
}

#[test]
fn existing_files_are_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.xml");
    std::fs::write(&target, "mine").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "export".to_string(),
            "sbml".into(),
            study("mouse_iv_bolus.toml"),
            "-o".into(),
            dir.path().display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let out = exosim(args(false));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("already exist") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
    let out = exosim(args(true));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&target).unwrap().contains("<sbml"));
}

#[test]
fn set_changes_the_exported_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = exosim([
        "export",
        "sbml",
        &study("mouse_iv_bolus.toml"),
        "-o",
        dir.path().to_str().unwrap(),
        "--set",
        "doses[0].amount=3e10",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = std::fs::read_to_string(dir.path().join("model.xml")).unwrap();
    assert!(
        xml.contains("initialAmount=\"3e10\""),
        "the bolus at 0 is the initial amount"
    );
}

#[test]
fn a_tissue_coupled_study_is_refused_once_with_file_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = study("tumour_ev_dose.toml");
    let out = exosim(["export", "sbml", &file, "-o", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert!(
        err.contains(&format!("error: {file}: cannot export as SBML")),
        "{err}"
    );
    assert!(
        err.contains("[tissue.coupling]") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
