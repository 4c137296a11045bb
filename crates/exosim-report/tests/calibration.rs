//! The report of a calibration: the calibration test fixture (a 2 h mouse
//! study, blood and liver shares at 7 times, the MPS capacity and the
//! liver's degradation rate estimated) fitted with profile and with
//! bootstrap intervals. The page must show the estimates and intervals of
//! `calibration.json`, the measured and fitted values of
//! `calibration_fit.csv`, and for a bootstrap one histogram per parameter
//! holding every refitted resample; a damaged calibration file is refused
//! with the file named, writing nothing.

use std::fs;
use std::path::{Path, PathBuf};

use exosim::campaign::calibration::run::{self, BOOTSTRAP_FILE};
use exosim_report::REPORT_FILE;
use exosim_report::format::num;
use serde_json::Value;

mod common;
use common::{figure_spec, numbers};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../exosim/tests/fixtures/calibration")
}

/// The fixture's calibration with `extra` lines in `[calibration]`, run
/// into `dir/out`; returns the output folder.
fn calibrate(dir: &Path, extra: &str) -> PathBuf {
    for f in ["study.toml", "data.csv"] {
        fs::copy(fixture().join(f), dir.join(f)).unwrap();
    }
    let text = fs::read_to_string(fixture().join("campaign.toml"))
        .unwrap()
        .replace(
            "max_evaluations = 150",
            &format!("max_evaluations = 150\n{extra}"),
        );
    fs::write(dir.join("campaign.toml"), text).unwrap();
    let campaign = exosim::campaign::Campaign::load(&dir.join("campaign.toml")).unwrap();
    let out = dir.join("out");
    fs::create_dir_all(&out).unwrap();
    run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    out
}

/// The column `name` of a CSV file, as numbers.
fn csv_column(path: &Path, name: &str) -> Vec<f64> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let c = (reader.headers().unwrap().iter())
        .position(|h| h == name)
        .unwrap();
    (reader.records())
        .map(|r| r.unwrap()[c].parse().unwrap())
        .collect()
}

#[test]
fn a_calibration_page_shows_the_estimates_and_the_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = calibrate(tmp.path(), "");
    let written = exosim_report::write(&out).unwrap_or_else(|e| panic!("report: {e}"));
    let html = fs::read_to_string(written.html).unwrap();
    let report: Value =
        serde_json::from_str(&fs::read_to_string(out.join("calibration.json")).unwrap()).unwrap();
    for e in report["estimates"].as_array().unwrap() {
        assert!(html.contains(e["path"].as_str().unwrap()));
        for key in ["estimate", "low", "high"] {
            let shown = num(e[key].as_f64().unwrap());
            assert!(html.contains(&shown), "{key} {shown} on the page");
        }
    }
    assert!(html.contains("profile likelihood, 95 %"));
    let spec = figure_spec(&html, "Measured against fitted");
    let rows = &spec["data"][0];
    let fit = out.join("calibration_fit.csv");
    // The scatter carries single precision.
    let close = |a: Vec<f64>, b: Vec<f64>| {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-6 * y.abs(), "{x} vs {y}");
        }
    };
    close(numbers(&rows["x"]), csv_column(&fit, "fitted"));
    close(numbers(&rows["y"]), csv_column(&fit, "value"));
    assert!(!html.contains("bootstrap's refitted"));
    // The fitted curves pass through each row's fitted value at its time,
    // and carry the measurements as markers.
    let fitted = csv_column(&fit, "fitted");
    let times = csv_column(&fit, "time_s");
    let places = ["blood", "liver"];
    for place in places {
        let label = format!("fraction_of_dose {place}");
        let spec = figure_spec(&html, &format!("Fitted curve: {label}"));
        let (x, y) = (
            numbers(&spec["data"][0]["x"]),
            numbers(&spec["data"][0]["y"]),
        );
        let marks = numbers(&spec["data"][1]["x"]);
        let mut reader = csv::Reader::from_path(&fit).unwrap();
        let c = (reader.headers().unwrap().iter())
            .position(|h| h == "curve")
            .unwrap();
        let rows: Vec<usize> = (reader.records().enumerate())
            .filter(|(_, r)| r.as_ref().unwrap()[c] == label)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(marks.len(), rows.len(), "{label}: a marker per row");
        for i in rows {
            let at = x
                .iter()
                .position(|&h| (h - times[i] / 3600.0).abs() < 1e-5)
                .unwrap();
            assert!(
                (y[at] - fitted[i]).abs() <= 1e-6 * fitted[i].abs(),
                "{label} at {}",
                times[i]
            );
        }
    }
}

#[test]
fn a_bootstrap_page_draws_every_refitted_resample() {
    let tmp = tempfile::tempdir().unwrap();
    let out = calibrate(tmp.path(), "intervals = \"bootstrap\"\nresamples = 30");
    let written = exosim_report::write(&out).unwrap_or_else(|e| panic!("report: {e}"));
    let html = fs::read_to_string(written.html).unwrap();
    let report: Value =
        serde_json::from_str(&fs::read_to_string(out.join("calibration.json")).unwrap()).unwrap();
    let refitted = report["resamples"]["fitted"].as_u64().unwrap();
    assert!(html.contains(&format!("({refitted} of 30 resamples refitted)")));
    for e in report["estimates"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        let spec = figure_spec(&html, path);
        let counts: f64 = numbers(&spec["data"][0]["y"]).iter().sum();
        assert_eq!(
            counts, refitted as f64,
            "{path}: every refitted resample once"
        );
    }
}

#[test]
fn a_damaged_calibration_is_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = calibrate(tmp.path(), "intervals = \"bootstrap\"\nresamples = 20");
    let damage = |file: &str, edit: &dyn Fn(String) -> String, says: &str| {
        let path = out.join(file);
        let good = fs::read_to_string(&path).unwrap();
        fs::write(&path, edit(good.clone())).unwrap();
        let e = exosim_report::write(&out).expect_err(file).to_string();
        assert!(e.contains(file) && e.contains(says), "{file}: {e}");
        assert!(!out.join(REPORT_FILE).exists(), "nothing written");
        fs::write(&path, good).unwrap();
    };
    let drop_last = |t: String| {
        let mut lines: Vec<&str> = t.lines().collect();
        lines.pop();
        lines.join("\n") + "\n"
    };
    damage("calibration_fit.csv", &drop_last, "truncated");
    damage(BOOTSTRAP_FILE, &drop_last, "20 resamples drawn");
    damage(
        "calibration_fit.csv",
        &|t: String| t.replacen(",fitted,", ",fited,", 1),
        "fitted",
    );
    damage(
        "calibration_curves.csv",
        &|t: String| t.replacen(",0,", ",1e9,", 1),
        "must not decrease",
    );
    damage(
        "calibration.json",
        &|t: String| t.replacen("\"rows\"", "\"row_count\"", 1),
        "rows",
    );
}
