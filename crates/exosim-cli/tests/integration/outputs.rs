//! What a run may do to a folder that already holds files, and how a run
//! talks: the demo replaces only its own output; `--force` removes exactly
//! what a previous exosim run wrote (its manifest) and the temporary files
//! of a killed write, and nothing else; `exosim report` replaces only its
//! own page and figures; `--seed` and `--threads` (results independent of
//! the thread count); progress lines on a stderr that is not a terminal;
//! the result table of every engine.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::common::{exosim, repo_root, stderr, stdout};

fn study(name: &str) -> PathBuf {
    repo_root().join("studies").join(name)
}

fn ok(out: &Output) -> &Output {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    out
}

/// `exosim run STUDY -o DIR --quiet EXTRA…`.
fn run(study: &Path, dir: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "run".into(),
        study.into(),
        "-o".into(),
        dir.into(),
        "--quiet".into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    exosim(&args)
}

/// Every file under `dir`, hidden ones included, by relative path, with
/// its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_keys().collect()
}

const MANIFEST: &str = ".exosim-manifest.json";

// ---------------------------------------------------------------------------
// The demo replaces only what the demo wrote.

#[test]
fn demo_refuses_a_finished_run_of_another_study() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mouse");
    ok(&run(&study("mouse_iv_bolus.toml"), &dir, &[]));
    let before = files(&dir);
    let out = exosim(["demo".as_ref(), "-o".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: output directory `{}` is not empty (use --force to overwrite)\n",
            dir.display()
        )
    );
    assert_eq!(files(&dir), before, "the run's files are untouched");
}

#[test]
fn demo_replaces_its_own_output_and_marks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let demo = || {
        exosim([
            "demo".as_ref(),
            "-o".as_ref(),
            dir.as_os_str(),
            "-q".as_ref(),
        ])
    };
    ok(&demo());
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(manifest["written_by"], "demo");
    assert_eq!(
        manifest["files"],
        serde_json::json!(["timeseries.csv", "timeseries.parquet", "summary.json"])
    );
    assert_eq!(manifest["report"][0], "report.html");
    let before = files(&dir);
    ok(&demo());
    assert_eq!(files(&dir), before, "the demo replaced its own output");
}

// ---------------------------------------------------------------------------
// --force leaves no stale file.

#[test]
fn force_leaves_no_file_of_the_previous_run_and_keeps_the_users() {
    let tmp = tempfile::tempdir().unwrap();
    // What a body run writes into an empty folder, with its report.
    let fresh = tmp.path().join("fresh");
    ok(&run(&study("mouse_iv_bolus.toml"), &fresh, &["--report"]));

    // A biopsy run with its report, then the body run forced over it.
    let dir = tmp.path().join("reused");
    ok(&run(&study("assay_comparison.toml"), &dir, &["--report"]));
    let biopsy = names(&dir);
    assert!(
        biopsy.contains(&"biopsy_curve.csv".to_string()),
        "{biopsy:?}"
    );
    assert!(biopsy.iter().any(|n| n.starts_with("biopsy_roc_")));
    assert!(biopsy.iter().any(|n| n.starts_with("figures/")));
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    ok(&run(
        &study("mouse_iv_bolus.toml"),
        &dir,
        &["--force", "--report"],
    ));

    let mut expected = files(&fresh);
    expected.insert("notes.txt".into(), b"mine".to_vec());
    let got = files(&dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "exactly the body run's files and the user's note"
    );
    for (name, bytes) in &expected {
        if name != "report.html" {
            assert!(&got[name] == bytes, "{name} differs from a fresh run's");
        }
    }
    let page = String::from_utf8_lossy(&got["report.html"]).into_owned();
    assert!(
        !page.contains("biopsy_curve.csv"),
        "the report lists a stale file"
    );
}

/// A folder written before runs kept a manifest is a run's folder with
/// no `.exosim-manifest.json`: `--force` cleans it by the layout of that
/// time, because its `summary.json` names the exosim that wrote it.
#[test]
fn force_cleans_a_folder_written_before_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh");
    ok(&run(&study("mouse_iv_bolus.toml"), &fresh, &["--report"]));

    let dir = tmp.path().join("old");
    ok(&run(&study("assay_comparison.toml"), &dir, &["--report"]));
    fs::remove_file(dir.join(MANIFEST)).unwrap();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    ok(&run(
        &study("mouse_iv_bolus.toml"),
        &dir,
        &["--force", "--report"],
    ));

    let mut expected = names(&fresh);
    expected.push("notes.txt".into());
    expected.sort();
    assert_eq!(
        names(&dir),
        expected,
        "no biopsy file of the old run is left"
    );
}

#[test]
fn force_and_resume_remove_the_temporary_files_of_a_killed_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    ok(&run(&study("mouse_iv_bolus.toml"), &dir, &[]));
    let clean = files(&dir);
    // What a kill during the writes leaves: the hidden temporary files.
    for leftover in [".summary.json.4242-0.tmp", ".timeseries.parquet.4242-1.tmp"] {
        fs::write(dir.join(leftover), "half").unwrap();
    }
    ok(&run(&study("mouse_iv_bolus.toml"), &dir, &["--force"]));
    assert_eq!(files(&dir), clean, "--force removed the leftovers");

    fs::write(dir.join(".timeseries.csv.77-3.tmp"), "half").unwrap();
    // --resume of a body run: nothing saved to resume, but the leftovers go.
    let out = run(&study("mouse_iv_bolus.toml"), &dir, &["--resume"]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    assert!(!dir.join(".timeseries.csv.77-3.tmp").exists());
}

#[test]
fn a_folder_of_leftovers_alone_is_refused_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join(".summary.json.4242-0.tmp"), "half").unwrap();
    fs::write(dir.join(".timeseries.csv.4242-1.tmp"), "half").unwrap();
    let out = run(&study("mouse_iv_bolus.toml"), dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: output directory `{}` holds only temporary files of a write that was \
             killed (`.summary.json.4242-0.tmp`, `.timeseries.csv.4242-1.tmp`); run again \
             with --force to remove them (or --resume to continue an interrupted run)\n",
            dir.display()
        )
    );
    ok(&run(&study("mouse_iv_bolus.toml"), dir, &["--force"]));
    assert!(names(dir).iter().all(|n| !n.ends_with(".tmp")));
}

// ---------------------------------------------------------------------------
// exosim report: the same rules.

#[test]
fn report_replaces_its_own_page_and_refuses_another() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    ok(&run(&study("mouse_iv_bolus.toml"), &dir, &[]));
    let report = |force: bool| {
        let mut args = vec!["report".as_ref(), dir.as_os_str()];
        if force {
            args.push("--force".as_ref());
        }
        exosim(&args)
    };
    ok(&report(false));
    let first = files(&dir);

    // A figure of an older report, recorded in the manifest, is removed.
    let path = dir.join(MANIFEST);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    m["report"]
        .as_array_mut()
        .unwrap()
        .push("figures/old_figure.png".into());
    fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    fs::write(dir.join("figures/old_figure.png"), "old").unwrap();
    ok(&report(false));
    assert_eq!(
        files(&dir),
        first,
        "the old report is replaced, nothing stale"
    );

    // A page the user wrote is not replaced without --force.
    let other = tmp.path().join("other");
    ok(&run(&study("mouse_iv_bolus.toml"), &other, &[]));
    fs::write(other.join("report.html"), "my notes").unwrap();
    let out = exosim(["report".as_ref(), other.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: report: `{}` was not written by an exosim report; move it away, or use \
             --force to replace it\n",
            other.join("report.html").display()
        )
    );
    assert_eq!(fs::read(other.join("report.html")).unwrap(), b"my notes");
    ok(&exosim([
        "report".as_ref(),
        other.as_os_str(),
        "--force".as_ref(),
    ]));
    assert!(fs::read(other.join("report.html")).unwrap().len() > 1000);
}

// ---------------------------------------------------------------------------
// --seed, --threads.

/// The small tissue of the library's tests: two variants, two replicates,
/// run in parallel.
fn small_tissue(tmp: &Path) -> PathBuf {
    let path = tmp.join("small_tissue.toml");
    fs::write(
        &path,
        include_str!("../../../exosim/tests/fixtures/small_tissue.toml"),
    )
    .unwrap();
    path
}

#[test]
fn the_same_seed_gives_the_same_bytes_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let s = small_tissue(tmp.path());
    let out = |name: &str| tmp.path().join(name);
    ok(&run(
        &s,
        &out("seed7_t1"),
        &["--seed", "7", "--threads", "1"],
    ));
    ok(&run(
        &s,
        &out("seed7_t2"),
        &["--seed", "7", "--threads", "2"],
    ));
    ok(&run(
        &s,
        &out("seed7_t3"),
        &["--seed", "7", "--threads", "3"],
    ));
    ok(&run(
        &s,
        &out("seed8_t2"),
        &["--seed", "8", "--threads", "2"],
    ));
    let a = files(&out("seed7_t1"));
    assert!(a.contains_key("tissue_timeseries.csv"), "{:?}", a.keys());
    assert!(a == files(&out("seed7_t2")), "1 and 2 threads differ");
    assert!(a == files(&out("seed7_t3")), "1 and 3 threads differ");
    let b = files(&out("seed8_t2"));
    assert!(
        a["tissue_timeseries.csv"] != b["tissue_timeseries.csv"],
        "another seed, other draws"
    );
    let summary: serde_json::Value = serde_json::from_slice(&a["summary.json"]).unwrap();
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["resolved_study"]["study"]["seed"], 7);
}

#[test]
fn threads_is_a_bounded_count() {
    let tmp = tempfile::tempdir().unwrap();
    for (value, message) in [
        ("0", "0 threads: the limit is 1 to 1024"),
        ("5000", "5000 threads: the limit is 1 to 1024"),
        (
            "two",
            "`two` is not a whole number of threads (1 to 1024, e.g. 1000 or 1e3)",
        ),
    ] {
        let out = run(
            &study("mouse_iv_bolus.toml"),
            &tmp.path().join("x"),
            &["--threads", value],
        );
        assert_eq!(out.status.code(), Some(2), "{value}");
        assert!(stderr(&out).contains(message), "{value}: {}", stderr(&out));
    }
    ok(&run(
        &study("mouse_iv_bolus.toml"),
        &tmp.path().join("x"),
        &["--threads", "2e0"],
    ));
}

// ---------------------------------------------------------------------------
// Runs that talk.

#[test]
fn progress_lines_on_a_stderr_that_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let s = small_tissue(tmp.path());
    let dir = tmp.path().join("out");
    let out = exosim([
        "run".as_ref(),
        s.as_os_str(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    ok(&out);
    let err = stderr(&out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("exosim: small_tissue: "))
        .collect();
    // "exosim: small_tissue: 35 % after 2 s, about 4 s left"
    let percents: Vec<u32> = lines
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("exosim: small_tissue: ")?;
            let (pct, tail) = rest.split_once(" % after ")?;
            assert!(tail.contains(", about ") && tail.ends_with(" left"), "{l}");
            pct.parse().ok()
        })
        .collect();
    assert!(percents.len() >= 5, "a line per few percent:\n{err}");
    assert!(percents.windows(2).all(|w| w[0] < w[1]), "{percents:?}");
    assert!(
        percents.iter().all(|&p| (1..100).contains(&p)),
        "{percents:?}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("exosim: small_tissue: done in "),
        "{err}"
    );
    // --quiet: silence.
    let quiet = run(&s, &tmp.path().join("quiet"), &[]);
    ok(&quiet);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn every_engine_prints_its_result_table() {
    let tmp = tempfile::tempdir().unwrap();
    let body = run(&study("mouse_iv_bolus.toml"), &tmp.path().join("b"), &[]);
    let text = stdout(ok(&body));
    assert!(
        text.starts_with(
            "arm                      t½ initial    t½ terminal        MRT         CL\nmain "
        ),
        "{text}"
    );
    assert!(text.contains("% of dose at 1 h"), "{text}");
    assert!(text.ends_with(&format!("results in {}\n", tmp.path().join("b").display())));

    let biopsy = run(&study("assay_comparison.toml"), &tmp.path().join("p"), &[]);
    let text = stdout(ok(&biopsy));
    assert!(text.starts_with("test "), "{text}");
    assert!(
        text.contains("specificity") && text.contains("AUC (95 % CI)"),
        "{text}"
    );

    let tissue = run(&small_tissue(tmp.path()), &tmp.path().join("t"), &[]);
    let text = stdout(ok(&tissue));
    assert!(
        text.starts_with("tissue: final cells per type, mean ± sd over 2 replicate(s)"),
        "{text}"
    );
}
