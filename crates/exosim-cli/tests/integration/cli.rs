//! End-to-end tests of the `exosim` binary: what a user sees on the command
//! line (exit codes, located error messages) and the files a run leaves.
//!
//! Exit codes under test (see `src/main.rs`): 0 success; 1 the run or the
//! writing of results failed; 2 the command line or the study file is invalid.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::common::{exosim, repo_root, snapshot, stderr, stdout};

/// The example study every invalid file below is derived from.
fn example_study() -> PathBuf {
    repo_root().join("studies/mouse_iv_bolus.toml")
}

fn example_text() -> String {
    fs::read_to_string(example_study()).expect("studies/mouse_iv_bolus.toml is readable")
}

/// `text` with the single occurrence of `from` replaced by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "the example study should contain `{from}` exactly once"
    );
    text.replacen(from, to, 1)
}

/// 1-based line and column (in characters) of the first `needle` in `text`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// An invalid study written to a temporary file and validated.
struct Rejected {
    _dir: tempfile::TempDir,
    path: PathBuf,
    stderr: String,
}

impl Rejected {
    /// Asserts that stderr locates the error at `line:column` of the file.
    fn at(&self, line: usize, column: usize) -> &Self {
        let expected = format!("{}:{line}:{column}:", self.path.display());
        assert!(
            self.stderr.contains(&expected),
            "expected `{expected}` in stderr:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that stderr names `key` (written in backticks).
    fn key(&self, key: &str) -> &Self {
        let expected = format!("`{key}`");
        assert!(
            self.stderr.contains(&expected),
            "expected key {expected} in stderr:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that stderr contains `text`.
    fn says(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "expected `{text}` in stderr:\n{}",
            self.stderr
        );
        self
    }
}

/// Writes `contents` as a study file and validates it; it must be rejected
/// with exit code 2 and a first line naming the file.
fn rejected(contents: impl AsRef<[u8]>) -> Rejected {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.toml");
    fs::write(&path, contents).unwrap();
    let out = exosim(["validate".as_ref(), path.as_os_str()]);
    let stderr = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an invalid study exits with code 2; stdout:\n{}\nstderr:\n{stderr}",
        stdout(&out)
    );
    assert!(
        stderr.starts_with(&format!("error: {}:", path.display())),
        "the first line names the file:\n{stderr}"
    );
    Rejected {
        _dir: dir,
        path,
        stderr,
    }
}

/// Accepted units of a time, as listed in every unit error.
const TIME_UNITS: &str = "ms, s, min, h, day, week";

// ---------------------------------------------------------------------------
// validate: valid files

#[test]
fn validate_accepts_the_example_study() {
    let out = exosim(["validate".as_ref(), example_study().as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("valid study `mouse_iv_bolus`"),
        "stdout:\n{text}"
    );
}

#[test]
fn validate_accepts_every_study_in_the_studies_directory() {
    let mut studies: Vec<PathBuf> = fs::read_dir(repo_root().join("studies"))
        .expect("studies/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    studies.sort();
    assert!(!studies.is_empty(), "studies/ holds at least one study");
    for study in &studies {
        let out = exosim(["validate".as_ref(), study.as_os_str()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} does not validate:\n{}",
            study.display(),
            stderr(&out)
        );
    }
}

/// A valid study estimated to run long is accepted, and told so once,
/// located at the key that sets the work.
#[test]
fn validate_notes_a_long_run_once_at_its_line() {
    let text = fs::read_to_string(repo_root().join("studies/dish_uptake.toml")).unwrap();
    let text = replace_once(&text, "weight = 500", "weight = 2");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("long.toml");
    fs::write(&path, &text).unwrap();
    let out = exosim(["validate".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    let (line, _) = position_of(&text, "time_step = \"20 s\"");
    let head = format!("note: {}:{line}:", path.display());
    assert!(err.starts_with(&head), "stderr:\n{err}");
    assert!(
        err.contains("`tissue.time_step`: the run is valid but long: about 5.18e10 particle-steps")
            && err.contains("about 14 min on one thread"),
        "stderr:\n{err}"
    );
    assert_eq!(err.matches("valid but long").count(), 1, "stderr:\n{err}");
}

#[test]
fn validate_accepts_hrs_as_a_spelling_of_hours() {
    // "hrs" is a listed alias of "h" in units.rs, so "48 hrs" is not an error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("study.toml");
    let text = replace_once(
        &example_text(),
        "duration = \"48 h\"",
        "duration = \"48 hrs\"",
    );
    fs::write(&path, text).unwrap();
    let out = exosim(["validate".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
}

// ---------------------------------------------------------------------------
// validate: invalid files

#[test]
fn misspelled_key_is_located_with_a_suggestion() {
    let text = replace_once(&example_text(), "duration = \"48 h\"", "duraton = \"48 h\"");
    let (line, column) = position_of(&text, "duraton");
    rejected(&text)
        .at(line, column)
        .key("study.duraton")
        .says("unknown field `duraton`")
        .says("did you mean `duration`");
    assert_eq!((line, column), (17, 1), "the example study has moved");
}

#[test]
fn value_of_the_wrong_dimension_lists_the_accepted_units() {
    let text = replace_once(
        &example_text(),
        "duration = \"48 h\"",
        "duration = \"48 mL\"",
    );
    let (line, column) = position_of(&text, "\"48 mL\"");
    rejected(&text)
        .at(line, column)
        .key("study.duration")
        .says("\"48 mL\" is a volume, expected a time")
        .says(TIME_UNITS);
    assert_eq!((line, column), (17, 12), "the example study has moved");
}

#[test]
fn unknown_unit_lists_the_accepted_units() {
    let text = replace_once(
        &example_text(),
        "duration = \"48 h\"",
        "duration = \"48 hrz\"",
    );
    let (line, column) = position_of(&text, "\"48 hrz\"");
    rejected(&text)
        .at(line, column)
        .key("study.duration")
        .says("\"hrz\"")
        .says(TIME_UNITS);
}

#[test]
fn missing_unit_is_located_and_explained() {
    let text = replace_once(&example_text(), "duration = \"48 h\"", "duration = 48");
    let (line, column) = position_of(&text, "= 48 ");
    let column = column + 2;
    rejected(&text)
        .at(line, column)
        .key("study.duration")
        .says("has no unit")
        .says(TIME_UNITS);
}

#[test]
fn unknown_organ_table_suggests_the_closest_organ() {
    let text = replace_once(
        &example_text(),
        "# [body.organs.liver]\n# volume = \"1.5 mL\"",
        "[body.organs.livr]\nvolume = \"1.5 mL\"",
    );
    let (line, column) = position_of(&text, "[body.organs.livr]");
    rejected(&text)
        .at(line, column)
        .key("body.organs.livr")
        .says("unknown organ `livr`")
        .says("did you mean `liver`");
    assert_eq!((line, column), (26, 1), "the example study has moved");
}

#[test]
fn unknown_vesicle_class_in_a_dose_suggests_the_defined_class() {
    let text = replace_once(&example_text(), "vesicles = \"sEV\"", "vesicles = \"sEVs\"");
    let (line, column) = position_of(&text, "\"sEVs\"");
    rejected(&text)
        .at(line, column)
        .key("doses[0].vesicles")
        .says("unknown vesicle class `sEVs`")
        .says("did you mean `sEV`");
}

#[test]
fn unknown_local_site_suggests_the_closest_organ() {
    let text = replace_once(
        &example_text(),
        "route = \"iv_bolus\"",
        "route = \"local\"\nsite = \"livr\"",
    );
    let (line, column) = position_of(&text, "\"livr\"");
    rejected(&text)
        .at(line, column)
        .key("doses[0].site")
        .says("unknown organ `livr`")
        .says("did you mean `liver`");
}

#[test]
fn unknown_route_suggests_the_closest_route() {
    let text = replace_once(
        &example_text(),
        "route = \"iv_bolus\"",
        "route = \"iv_bolos\"",
    );
    let (line, column) = position_of(&text, "\"iv_bolos\"");
    rejected(&text)
        .at(line, column)
        .key("doses[0].route")
        .says("unknown variant `iv_bolos`")
        .says("did you mean `iv_bolus`");
}

#[test]
fn dose_after_the_end_of_the_study_is_located() {
    let text = replace_once(&example_text(), "at = \"0 min\"", "at = \"100 h\"");
    let (line, column) = position_of(&text, "\"100 h\"");
    rejected(&text)
        .at(line, column)
        .key("doses[0].at")
        .says("outside the study")
        .says("study.duration");
}

#[test]
fn report_time_after_the_end_of_the_study_is_located() {
    let text = replace_once(&example_text(), "\"24 h\"]", "\"72 h\"]");
    let (line, column) = position_of(&text, "\"72 h\"");
    rejected(&text)
        .at(line, column)
        .key("study.report_times[3]")
        .says("outside the study");
}

#[test]
fn organ_flows_that_do_not_add_up_are_located_at_the_rest_flow() {
    let text = replace_once(
        &example_text(),
        "[[vesicles]]",
        "[body.organs.rest]\nblood_flow = \"100 mL/min\"\n\n[[vesicles]]",
    );
    let (line, column) = position_of(&text, "\"100 mL/min\"");
    rejected(&text)
        .at(line, column)
        .key("body.organs.rest.blood_flow")
        .says("organ blood flows add up to")
        .says("cardiac output");
}

#[test]
fn study_without_doses_or_sources_is_rejected() {
    let text = example_text();
    let cut = text.find("[[doses]]").expect("the example has a dose");
    rejected(&text[..cut])
        .at(1, 1)
        .says("nothing enters the body")
        .says("[[doses]]");
}

#[test]
fn missing_file_is_reported_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_such_study.toml");
    let out = exosim(["validate".as_ref(), path.as_os_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{err}");
    assert!(
        err.contains(&format!("{}:1:1:", path.display())),
        "stderr:\n{err}"
    );
    assert!(err.contains("cannot read the file"), "stderr:\n{err}");
}

#[test]
fn directory_instead_of_a_file_is_reported_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = exosim(["validate".as_ref(), dir.path().as_os_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{err}");
    assert!(err.contains("cannot read the file"), "stderr:\n{err}");
}

#[test]
fn non_utf8_file_is_rejected_with_a_hint() {
    let mut bytes = b"[study]\nname = \"x\"\n".to_vec();
    bytes.extend((0..=255u8).rev().cycle().take(2000));
    rejected(&bytes)
        .at(1, 1)
        .says("not UTF-8")
        .says("save it as UTF-8");
}

#[test]
fn binary_file_that_happens_to_be_utf8_is_rejected() {
    // NUL and control bytes are valid UTF-8 but not TOML.
    let bytes: Vec<u8> = (0..4000u32).map(|i| (i % 32) as u8).collect();
    let r = rejected(&bytes);
    assert!(
        r.stderr.lines().next().unwrap_or("").len() < 2000,
        "the error line does not echo the whole file"
    );
}

#[test]
fn oversized_file_is_rejected_without_reading_it() {
    let mut text = example_text();
    let filler = format!("# {}\n", "x".repeat(1000));
    while text.len() <= 4 * 1024 * 1024 {
        text.push_str(&filler);
    }
    rejected(&text)
        .at(1, 1)
        .says("more than a study file may be");
}

#[test]
fn invalid_study_given_to_run_creates_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study.toml");
    fs::write(
        &study,
        replace_once(&example_text(), "duration = \"48 h\"", "duraton = \"48 h\""),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = exosim([
        "run".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
    assert!(stderr(&out).contains("did you mean `duration`"));
    assert!(
        !out_dir.exists(),
        "no output directory for an invalid study"
    );
}

// ---------------------------------------------------------------------------
// run

/// Runs the example study into `dir`, with `extra` arguments; returns the output.
fn run_example(dir: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "run".into(),
        example_study().into(),
        "-o".into(),
        dir.into(),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    exosim(args)
}

fn read_summary(dir: &Path) -> Value {
    let text = fs::read_to_string(dir.join("summary.json")).expect("summary.json written");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

const RESULT_FILES: [&str; 3] = ["timeseries.csv", "timeseries.parquet", "summary.json"];
/// The hidden list of the files a run wrote.
const MANIFEST: &str = ".exosim-manifest.json";

fn assert_result_files(dir: &Path) {
    for f in RESULT_FILES {
        let path = dir.join(f);
        assert!(path.is_file(), "{} was not written", path.display());
        assert!(fs::metadata(&path).unwrap().len() > 0, "{f} is empty");
    }
    let leftovers: Vec<String> = snapshot(dir)
        .into_keys()
        .filter(|n| n.ends_with(".tmp") || (n.starts_with('.') && n != MANIFEST))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn run_writes_timeseries_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("results/nested"); // created if missing
    let out = run_example(&dir, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert_result_files(&dir);
    assert_eq!(
        snapshot(&dir).into_keys().collect::<Vec<_>>(),
        [
            MANIFEST,
            "summary.json",
            "timeseries.csv",
            "timeseries.parquet"
        ],
        "exactly the three result files and their manifest"
    );

    // timeseries.csv: a header, then one numeric row per output time.
    let csv = fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "time_s");
    for col in ["main/blood/sEV", "main/liver/sEV", "main/degraded/sEV"] {
        assert!(header.contains(&col), "no column {col} in {header:?}");
    }
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().expect("numeric cell"))
                .collect()
        })
        .collect();
    assert!(rows.iter().all(|r| r.len() == header.len()), "ragged rows");
    let times: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(times.first(), Some(&0.0));
    assert_eq!(times.last(), Some(&(48.0 * 3600.0)));
    assert!(times.windows(2).all(|w| w[0] < w[1]), "times increase");
    for t in [120.0, 600.0, 3600.0, 14400.0, 86400.0] {
        assert!(times.contains(&t), "output_times/report_times row {t} s");
    }
    assert_eq!(rows[0][1], 1e10, "the bolus is in blood at t = 0");

    // The row count is what `validate` announces.
    let v = stdout(&exosim(["validate".as_ref(), example_study().as_os_str()]));
    assert!(
        v.contains(&format!("{} output times", rows.len())),
        "validate says: {v}"
    );

    // timeseries.parquet: a Parquet file (magic at both ends).
    let pq = fs::read(dir.join("timeseries.parquet")).unwrap();
    assert!(pq.len() > 8 && pq.starts_with(b"PAR1") && pq.ends_with(b"PAR1"));

    // summary.json.
    let s = read_summary(&dir);
    assert_eq!(s["exosim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["study"], "mouse_iv_bolus");
    assert_eq!(s["seed"], 1);
    assert_eq!(s["resolved_study"]["study"]["name"], "mouse_iv_bolus");
    assert_eq!(s["resolved_study"]["body"]["species"], "mouse");
    let err = s["mass_balance"]["relative_error"]
        .as_f64()
        .expect("mass_balance.relative_error is a number");
    assert!((0.0..1e-9).contains(&err), "mass balance error {err}");
    assert_eq!(s["mass_balance"]["dosed"], 1e10);
    let classes = s["vesicles"].as_array().expect("vesicles is an array");
    assert_eq!(classes.len(), 1);
    for c in classes {
        assert_eq!(c["arm"], "main");
        assert_eq!(c["vesicles"], "sEV");
        let t_half = c["pk"]["initial_half_life_s"]
            .as_f64()
            .expect("pk.initial_half_life_s is a number");
        assert!(t_half > 0.0 && t_half < 48.0 * 3600.0, "t½ {t_half} s");
        assert!(c["mass_balance_relative_error"].as_f64().unwrap() < 1e-9);
    }
}

#[test]
fn run_refuses_a_non_empty_directory_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let first = run_example(&dir, &[]);
    assert_eq!(first.status.code(), Some(0), "stderr:\n{}", stderr(&first));
    let before = snapshot(&dir);

    let second = run_example(&dir, &[]);
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "stderr:\n{err}");
    assert!(
        err.contains("--force"),
        "the message mentions --force:\n{err}"
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "a refused run leaves the files as they were"
    );

    let forced = run_example(&dir, &["--force"]);
    assert_eq!(
        forced.status.code(),
        Some(0),
        "stderr:\n{}",
        stderr(&forced)
    );
    assert_result_files(&dir);
    assert_eq!(
        snapshot(&dir),
        before,
        "the same study gives the same files"
    );
}

#[test]
fn run_refuses_a_directory_holding_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.txt");
    fs::write(&notes, "mine").unwrap();
    let out = run_example(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    assert!(stderr(&out).contains("--force"));
    assert_eq!(snapshot(tmp.path()).len(), 1, "nothing written");
    assert_eq!(fs::read_to_string(&notes).unwrap(), "mine");
}

#[test]
fn run_into_a_path_that_is_a_file_fails_with_exit_code_1() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not_a_dir");
    fs::write(&file, "x").unwrap();
    let out = run_example(&file, &["--force"]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn runs_are_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let out = run_example(dir, &[]);
        assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    }
    for f in ["timeseries.csv", "summary.json"] {
        assert!(
            fs::read(a.join(f)).unwrap() == fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs of the same study"
        );
    }
}

// ---------------------------------------------------------------------------
// demo

fn demo(dir: &Path) -> Output {
    exosim([
        "demo".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
        "--quiet".as_ref(),
    ])
}

#[test]
fn demo_runs_and_may_replace_its_own_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = demo(&dir);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let text = stdout(&out);
    for arm in ["natural", "cd47_coat", "macrophage_depleted"] {
        assert!(text.contains(arm), "arm {arm} not printed:\n{text}");
    }
    assert_result_files(&dir);
    let s = read_summary(&dir);
    assert_eq!(s["study"], "demo");
    assert!(s["mass_balance"]["relative_error"].as_f64().unwrap() < 1e-9);
    let before = snapshot(&dir);

    let again = demo(&dir);
    assert_eq!(again.status.code(), Some(0), "stderr:\n{}", stderr(&again));
    assert_result_files(&dir);
    assert_eq!(snapshot(&dir), before, "the demo is deterministic");
}

#[test]
fn demo_refuses_a_directory_that_is_not_its_own_output() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.txt");
    fs::write(&notes, "mine").unwrap();
    let out = demo(tmp.path());
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    assert!(stderr(&out).contains("--force"));
    assert_eq!(snapshot(tmp.path()).len(), 1, "nothing written");
}

// ---------------------------------------------------------------------------
// round trip of the resolved study

/// TOML text of a JSON value, with tables and arrays written inline (the
/// `toml` crate is not a dependency of exosim-cli). JSON nulls (unset
/// options) are left out, as TOML has no null.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Null => unreachable!("nulls are filtered by the caller"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            let s = n.to_string();
            if n.is_f64() && !s.contains(['.', 'e', 'E']) {
                format!("{s}.0")
            } else {
                s
            }
        }
        // JSON string escapes are valid TOML basic-string escapes.
        Value::String(s) => serde_json::to_string(s).unwrap(),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .filter(|v| !v.is_null())
                .map(toml_value)
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => format!("{{ {} }}", toml_entries(map).join(", ")),
    }
}

fn toml_entries(map: &serde_json::Map<String, Value>) -> Vec<String> {
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| format!("{} = {}", serde_json::to_string(k).unwrap(), toml_value(v)))
        .collect()
}

#[test]
fn resolved_study_is_itself_a_valid_study_with_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let out = run_example(&first, &[]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    let summary = read_summary(&first);
    let resolved = summary["resolved_study"]
        .as_object()
        .expect("resolved_study is a table");

    let study = tmp.path().join("resolved.toml");
    fs::write(&study, toml_entries(resolved).join("\n") + "\n").unwrap();
    let v = exosim(["validate".as_ref(), study.as_os_str()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "the resolved study does not validate:\n{}\n{}",
        stderr(&v),
        fs::read_to_string(&study).unwrap()
    );

    let second = tmp.path().join("second");
    let out = exosim([
        "run".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        second.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert_eq!(
        read_summary(&second)["resolved_study"],
        summary["resolved_study"],
        "resolving a resolved study changes nothing"
    );
    assert!(
        fs::read(first.join("timeseries.csv")).unwrap()
            == fs::read(second.join("timeseries.csv")).unwrap(),
        "the resolved study gives the same time series"
    );
}

// ---------------------------------------------------------------------------
// How an error is printed

/// Every study error is printed once: the located line, the source line
/// with the value underlined, and a hint only when there is one (no empty
/// `help:`).
#[test]
fn an_error_is_printed_once_with_its_source_line_and_no_empty_hint() {
    let text = replace_once(
        &example_text(),
        "# blood_volume = \"1.7 mL\"",
        "blood_volume = \"-5 L\"",
    );
    let r = rejected(&text);
    let (line, column) = position_of(&text, "\"-5 L\"");
    assert_eq!(
        r.stderr,
        format!(
            "error: {}:{line}:{column}: `body.blood_volume`: -5 L must be greater than zero\n   |\n{line} | blood_volume = \"-5 L\"\n   |                ^^^^^^\n",
            r.path.display()
        )
    );

    let text = replace_once(&example_text(), "duration = \"48 h\"", "duraton = \"48 h\"");
    let r = rejected(&text);
    let (line, _) = position_of(&text, "duraton");
    assert!(
        r.stderr.ends_with(&format!(
            "\n   |\n{line} | duraton = \"48 h\"            # simulated time, starting at 0\n   | ^^^^^^^\n  hint: did you mean `duration`?\n"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("unknown field `duraton`").count(), 1);
}

/// A study error on a very long line (350 000 output times on one line)
/// used to panic inside the renderer; it is printed in the one-line form.
#[test]
fn an_error_on_a_very_long_line_is_printed_on_one_line() {
    let times = vec!["\"1 s\""; 350_000].join(", ");
    let text = replace_once(
        &example_text(),
        "output_times = [\"2 min\"]",
        &format!("output_times = [{times}, \"2 parsec\"]"),
    );
    let r = rejected(&text);
    let (line, column) = position_of(&text, "\"2 parsec\"");
    // One line, located at the value; the unit's own message (which
    // lists the accepted units) follows the key.
    let head = format!(
        "error: {}:{line}:{column}: `study.output_times[350000]`: invalid time: \"parsec\" (in \"2 parsec\")",
        r.path.display()
    );
    assert!(
        r.stderr.starts_with(&head),
        "{}",
        &r.stderr[..r.stderr.len().min(400)]
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}
