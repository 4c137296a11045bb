//! `exosim report` on damaged run directories: good runs (the embedded
//! demo, shipped biopsy and signature studies run through the library, and
//! the hand-made tissue fixture) are copied and damaged one way at a time —
//! a file removed, cut at a line boundary, a value replaced by NaN, an
//! infinity or an impossible number, a part of `summary.json` removed — and
//! each copy must be refused with the file and the field (or column) named,
//! writing nothing. The undamaged copy must give a page, so that every
//! refusal is the damage's doing.

use std::fs;
use std::path::{Path, PathBuf};

use exosim_report::REPORT_FILE;
use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn run_into(study: &exosim::scenario::Study, dir: &Path) {
    let result = exosim::run::run(study, |_| {}).expect("study runs");
    exosim::output::prepare_dir(dir, false).unwrap();
    exosim::run::write(dir, study, &result).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A good run directory and a place for damaged copies of it.
struct Good {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    copies: usize,
}

impl Good {
    fn new(make: impl FnOnce(&Path)) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("good");
        make(&dir);
        let good = Good {
            _tmp: tmp,
            dir,
            copies: 0,
        };
        // The control: the undamaged run gives a page.
        let copy = good.dir.parent().unwrap().join("control");
        copy_tree(&good.dir, &copy);
        exosim_report::write(&copy).unwrap_or_else(|e| panic!("undamaged run refused: {e}"));
        good
    }

    /// Copies the run, damages the copy with `damage`, and returns the
    /// refusal's message; fails when the report is made or writes anything.
    fn refused(&mut self, what: &str, damage: impl FnOnce(&Path)) -> String {
        self.copies += 1;
        let copy = self
            .dir
            .parent()
            .unwrap()
            .join(format!("damaged_{}", self.copies));
        copy_tree(&self.dir, &copy);
        damage(&copy);
        let err = match exosim_report::write(&copy) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e.to_string(),
        };
        assert!(!copy.join(REPORT_FILE).exists(), "{what}: page written");
        assert!(!copy.join("figures").exists(), "{what}: figures written");
        err
    }
}

/// Asserts that `message` names every one of `parts`.
fn names(what: &str, message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "{what}: `{p}` not named in: {message}");
    }
}

/// Sets the field of data line `line` (1 = header) under `column`.
fn set_cell(path: &Path, line: usize, column: &str, value: &str) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let col = lines[0]
        .split(',')
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("{column} not in {}", path.display()));
    let mut fields: Vec<String> = lines[line - 1].split(',').map(str::to_string).collect();
    fields[col] = value.to_string();
    lines[line - 1] = fields.join(",");
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Drops the last `n` lines of a file, whole.
fn drop_lines(path: &Path, n: usize) {
    let text = fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    fs::write(path, lines[..lines.len() - n].join("\n") + "\n").unwrap();
}

/// Edits `summary.json`.
fn edit_summary(dir: &Path, f: impl FnOnce(&mut Value)) {
    let path = dir.join("summary.json");
    let mut v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut v);
    fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let p = v.pointer_mut(parent).unwrap_or_else(|| panic!("{parent}"));
    match p {
        Value::Object(m) => {
            m.remove(key).unwrap_or_else(|| panic!("{pointer}"));
        }
        _ => panic!("{parent} is not an object"),
    }
}

fn set(v: &mut Value, pointer: &str, x: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = x;
}

#[test]
fn damaged_body_runs_are_refused_naming_file_and_field() {
    let mut good = Good::new(|dir| {
        let study = exosim::scenario::parse_study(exosim::DEMO_STUDY, "<demo>").unwrap();
        run_into(&study, dir);
    });
    let ts = |d: &Path| d.join("timeseries.csv");
    // A file missing.
    let m = good.refused("timeseries.csv removed", |d| {
        fs::remove_file(ts(d)).unwrap()
    });
    names("timeseries removed", &m, &["timeseries.csv", "missing"]);
    // Cut at a line boundary: the series stops before the study's end.
    let m = good.refused("timeseries.csv cut", |d| drop_lines(&ts(d), 5));
    names(
        "timeseries cut",
        &m,
        &["timeseries.csv", "time_s", "cut short"],
    );
    // NaN, infinite, negative and backwards values, with row and column.
    for (what, value, column, why) in [
        ("NaN", "NaN", "natural/liver/sEV", "NaN"),
        ("infinity", "inf", "natural/blood/sEV", "finite"),
        (
            "negative count",
            "-5e8",
            "cd47_coat/spleen/sEV_CD47",
            "negative",
        ),
        ("negative time", "-60", "time_s", "negative"),
    ] {
        let m = good.refused(what, |d| set_cell(&ts(d), 4, column, value));
        names(what, &m, &["timeseries.csv", "row 4", column, why]);
    }
    let m = good.refused("time backwards", |d| set_cell(&ts(d), 10, "time_s", "1"));
    names(
        "time backwards",
        &m,
        &["timeseries.csv", "row 10", "time_s", "decrease"],
    );
    // Whole parts of summary.json removed.
    for part in ["mass_balance", "vesicles", "solver_steps", "resolved_study"] {
        let m = good.refused(part, |d| {
            edit_summary(d, |v| remove(v, &format!("/{part}")))
        });
        names(part, &m, &["summary.json", part]);
    }
    let m = good.refused("vesicles emptied", |d| {
        edit_summary(d, |v| set(v, "/vesicles", Value::Array(Vec::new())))
    });
    names(
        "vesicles emptied",
        &m,
        &["summary.json", "vesicles", "timeseries.csv"],
    );
    let m = good.refused("pk removed", |d| {
        edit_summary(d, |v| remove(v, "/vesicles/1/pk"))
    });
    names(
        "pk removed",
        &m,
        &["summary.json", "vesicles[1].pk", "missing"],
    );
    let m = good.refused("shares removed", |d| {
        edit_summary(d, |v| remove(v, "/vesicles/0/fraction_of_dose"))
    });
    names(
        "shares removed",
        &m,
        &["summary.json", "vesicles[0].fraction_of_dose"],
    );
    // Impossible or non-numeric values in summary.json.
    for (pointer, value, field) in [
        (
            "/vesicles/0/dosed",
            serde_json::json!(-1e10),
            "vesicles[0].dosed",
        ),
        ("/vesicles/2/dosed", Value::Null, "vesicles[2].dosed"),
        (
            "/vesicles/0/fraction_of_dose/3600/liver",
            serde_json::json!(1.7),
            "vesicles[0].fraction_of_dose.3600.liver",
        ),
        (
            "/vesicles/1/pk/terminal_half_life_s",
            serde_json::json!(-3600.0),
            "vesicles[1].pk.terminal_half_life_s",
        ),
        (
            "/mass_balance/cleared",
            serde_json::json!("many"),
            "mass_balance.cleared",
        ),
    ] {
        let m = good.refused(field, |d| edit_summary(d, |v| set(v, pointer, value)));
        names(field, &m, &["summary.json", field]);
    }
    // A column of the summary's arm and class gone from the table.
    let m = good.refused("blood column dropped", |d| {
        let text = fs::read_to_string(ts(d)).unwrap();
        fs::write(
            ts(d),
            text.replace("natural/blood/sEV", "natural/bloood/sEV"),
        )
        .unwrap();
    });
    names("blood column", &m, &["timeseries.csv", "natural/blood/sEV"]);
}

#[test]
fn damaged_biopsy_runs_are_refused_naming_file_and_field() {
    let mut good = Good::new(|dir| {
        let study = exosim::scenario::load_study(&repo("studies/screening_ovarian.toml")).unwrap();
        run_into(&study, dir);
    });
    let roc = "biopsy_roc_immunocapture_digital.csv";
    let m = good.refused("ROC removed", |d| fs::remove_file(d.join(roc)).unwrap());
    names("ROC removed", &m, &[roc, "missing", "AUC"]);
    let m = good.refused("ROC cut", |d| drop_lines(&d.join(roc), 3));
    names("ROC cut", &m, &[roc, "cut short"]);
    let m = good.refused("curve cut", |d| drop_lines(&d.join("biopsy_curve.csv"), 2));
    names(
        "curve cut",
        &m,
        &["biopsy_curve.csv", "diameter_m", "cut short"],
    );
    for (file, column, value, why) in [
        (roc, "specificity", "NaN", "NaN"),
        (roc, "sensitivity", "1.5", "outside"),
        (
            "biopsy_curve.csv",
            "immunocapture_digital/probability",
            "-0.2",
            "outside",
        ),
        ("biopsy_curve.csv", "diameter_m", "inf", "finite"),
        (
            "biopsy_curve.csv",
            "immunocapture_digital/high",
            "0.0001",
            "interval",
        ),
    ] {
        let m = good.refused(column, |d| set_cell(&d.join(file), 3, column, value));
        names(column, &m, &[file, "row 3", column, why]);
    }
    let m = good.refused("biopsy removed", |d| {
        edit_summary(d, |v| remove(v, "/biopsy"))
    });
    names("biopsy removed", &m, &["summary.json", "biopsy"]);
    for (pointer, value, field) in [
        (
            "/biopsy/tests/0/specificity/0",
            serde_json::json!(1.2),
            "biopsy.tests[0].specificity[0]",
        ),
        (
            "/biopsy/tests/0/auc/auc",
            serde_json::json!(-0.5),
            "biopsy.tests[0].auc.auc",
        ),
        (
            "/biopsy/tests/0/threshold",
            Value::Null,
            "biopsy.tests[0].threshold",
        ),
    ] {
        let m = good.refused(field, |d| edit_summary(d, |v| set(v, pointer, value)));
        names(field, &m, &["summary.json", field]);
    }
}

#[test]
fn damaged_signature_runs_are_refused_naming_file_and_field() {
    let mut good = Good::new(|dir| {
        let study = exosim::scenario::load_study(&repo("studies/autoimmune_panel.toml")).unwrap();
        run_into(&study, dir);
    });
    let m = good.refused("markers removed", |d| {
        fs::remove_file(d.join("signature_markers.csv")).unwrap()
    });
    names("markers removed", &m, &["signature_markers.csv", "missing"]);
    let m = good.refused("folds cut", |d| drop_lines(&d.join("signature.csv"), 1));
    names("folds cut", &m, &["signature.csv", "fold", "cut short"]);
    let m = good.refused("markers cut", |d| {
        drop_lines(&d.join("signature_markers.csv"), 1)
    });
    names(
        "markers cut",
        &m,
        &["signature_markers.csv", "marker", "cut short"],
    );
    let m = good.refused("test AUC", |d| {
        set_cell(&d.join("signature.csv"), 2, "test_auc", "NaN")
    });
    names(
        "test AUC",
        &m,
        &["signature.csv", "row 2", "test_auc", "NaN"],
    );
    let m = good.refused("marker AUC", |d| {
        set_cell(&d.join("signature_markers.csv"), 3, "auc_high", "1.3")
    });
    names(
        "marker AUC",
        &m,
        &["signature_markers.csv", "row 3", "auc_high", "outside"],
    );
    let m = good.refused("signature removed", |d| {
        edit_summary(d, |v| remove(v, "/signature"))
    });
    names("signature removed", &m, &["summary.json", "signature"]);
}

#[test]
fn damaged_tissue_runs_are_refused_naming_file_and_field() {
    let mut good = Good::new(|dir| {
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tissue_run"),
            dir,
        );
    });
    let series = |d: &Path| d.join("tissue_timeseries.csv");
    let m = good.refused("series removed", |d| fs::remove_file(series(d)).unwrap());
    names(
        "series removed",
        &m,
        &["tissue_timeseries.csv", "missing", "tissue"],
    );
    let m = good.refused("series cut", |d| drop_lines(&series(d), 1));
    names(
        "series cut",
        &m,
        &["tissue_timeseries.csv", "time_s", "cut short"],
    );
    for (column, value, why) in [
        ("cells_tumour", "-1", "negative"),
        ("vesicles_sEV_free", "NaN", "NaN"),
        ("mass_balance_error", "inf", "finite"),
        ("time_s", "-3600", "negative"),
        // A mean over cells is NaN only when none of the type is left.
        ("state_macrophage_suppression_mean", "NaN", "NaN"),
    ] {
        let m = good.refused(column, |d| set_cell(&series(d), 3, column, value));
        names(column, &m, &["tissue_timeseries.csv", "row 3", column, why]);
    }
    let m = good.refused("radius", |d| {
        set_cell(
            &d.join("tissue_snapshots/control/cells_0004.csv"),
            2,
            "radius_m",
            "-8e-6",
        )
    });
    names(
        "radius",
        &m,
        &["cells_0004.csv", "row 2", "radius_m", "positive"],
    );
    let m = good.refused("position", |d| {
        set_cell(
            &d.join("tissue_snapshots/control/vesicles_0004.csv"),
            2,
            "x_m",
            "NaN",
        )
    });
    names(
        "position",
        &m,
        &["vesicles_0004.csv", "row 2", "x_m", "NaN"],
    );
    let m = good.refused("tissue removed", |d| {
        edit_summary(d, |v| remove(v, "/tissue"))
    });
    names(
        "tissue removed",
        &m,
        &["summary.json", "tissue", "tissue_timeseries.csv"],
    );
    let m = good.refused("deconvolution", |d| {
        fs::write(
            d.join("deconvolution.csv"),
            "sample,source,fraction,lower,upper\np1,platelet,1.6,0.5,0.7\n",
        )
        .unwrap()
    });
    names(
        "deconvolution",
        &m,
        &["deconvolution.csv", "row 2", "fraction", "outside"],
    );
}

#[test]
fn a_mean_over_no_cells_may_be_nan() {
    // The library writes NaN for the mean state of a type with no cells
    // left: that is a value of a finished run, not damage.
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tissue_run"),
        tmp.path(),
    );
    let path = tmp.path().join("tissue_timeseries.csv");
    set_cell(&path, 3, "cells_macrophage", "0");
    set_cell(&path, 3, "state_macrophage_suppression_mean", "NaN");
    exosim_report::write(tmp.path()).unwrap();
}

/// A production plan's damage: `production.csv` missing or with a
/// negative count, the mass balance removed, or a balance that does not
/// close, each refused with the file and the field named.
#[test]
fn damaged_production_runs_are_refused_naming_file_and_field() {
    let mut good = Good::new(|dir| {
        let path = repo("studies/mouse_ev_production.toml");
        run_into(&exosim::scenario::load_study(&path).unwrap(), dir);
    });
    let csv = |d: &Path| d.join("production.csv");
    let m = good.refused("production.csv removed", |d| {
        fs::remove_file(csv(d)).unwrap()
    });
    names("production.csv removed", &m, &["production.csv", "missing"]);
    let m = good.refused("negative product", |d| {
        set_cell(&csv(d), 3, "recovered", "-1e9")
    });
    names(
        "negative product",
        &m,
        &["production.csv", "row 3", "negative"],
    );
    let m = good.refused("mass balance removed", |d| {
        edit_summary(d, |v| remove(v, "/production/mass_balance"))
    });
    names(
        "mass balance removed",
        &m,
        &["summary.json", "production.mass_balance"],
    );
    let m = good.refused("balance open", |d| {
        edit_summary(d, |v| {
            set(v, "/production/relative_error", Value::from(0.2))
        })
    });
    names(
        "balance open",
        &m,
        &["summary.json", "production.relative_error"],
    );
}
