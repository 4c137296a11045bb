//! `exosim run CAMPAIGN` for a calibration: the shipped campaign fits the
//! mouse preset to a published organ distribution, prints its estimates
//! and writes its files (and with `--report` its page); a wrong data file
//! gets a located message.

use std::fs;

use crate::common::{exosim, repo_root, stderr, stdout};

#[test]
fn the_shipped_calibration_prints_estimates_and_writes_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fit");
    let campaign = repo_root().join("campaigns/b16bl6_organs_calibration.toml");
    let run = exosim([
        "run".as_ref(),
        campaign.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Calibration `b16bl6_organs_calibration`"));
    let text = stdout(&run);
    assert!(
        text.contains(
            "calibration `b16bl6_organs_calibration` (maximum likelihood): 3 data row(s)"
        ),
        "{text}"
    );
    for path in [
        "body.organs.liver.degradation_rate",
        "body.organs.spleen.mps_extraction",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(path)),
            "{path} in\n{text}"
        );
    }
    for f in [
        "calibration.json",
        "calibration_fit.csv",
        "calibration_timeseries.csv",
        "calibration_curves.csv",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(!out.join("calibration_state.json").exists());
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["method"], "calibration");
    for e in summary["estimates"].as_array().unwrap() {
        let (lo, est, hi) = (
            e["low"].as_f64().unwrap(),
            e["estimate"].as_f64().unwrap(),
            e["high"].as_f64().unwrap(),
        );
        assert!(lo < est && est < hi, "{e}");
    }
    let validate = exosim(["validate".as_ref(), campaign.as_os_str()]);
    assert!(
        stdout(&validate).contains("valid calibration"),
        "{}",
        stdout(&validate)
    );
}

#[test]
fn a_negative_sd_in_the_data_is_located_at_its_row_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let study = repo_root().join("studies/mouse_iv_bolus.toml");
    fs::write(
        tmp.path().join("d.csv"),
        "kind,place,time,value,sd\nfraction_of_dose,liver,4 h,0.28,0.05\nfraction_of_dose,spleen,4 h,0.016,-0.01\n",
    )
    .unwrap();
    let campaign = tmp.path().join("c.toml");
    fs::write(
        &campaign,
        format!(
            "[campaign]\nname = \"c\"\nstudy = \"{}\"\n[design]\nmethod = \"calibration\"\n\
             [calibration]\ndata = \"d.csv\"\n[[parameters]]\npath = \"body.mps.capacity\"\n\
             distribution = \"uniform\"\nlow = 0.1\nhigh = 1.0\n",
            study.display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = exosim([
        "run".as_ref(),
        campaign.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("d.csv:3:5"), "file, line and column: {err}");
    assert!(err.contains("row 3, column `sd`"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "nothing is written for a refused campaign");
}
