//! `exosim run --resume`: a tissue run killed (SIGKILL, as by a crash or an
//! out-of-memory kill) after it saved its state is continued by `--resume`
//! and writes the same files, byte for byte, as an uninterrupted run; the
//! saved states are removed once the results are written. A directory
//! holding an interrupted run is not silently overwritten, and `--resume`
//! refuses a changed study. The temporary files of a write that was
//! killed are removed by the resumed run.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::common::exosim;

/// The small tissue of the library's tests, made one long replicate.
fn long_study() -> String {
    include_str!("../../../exosim/tests/fixtures/small_tissue.toml")
        .replace("duration = \"2 h\"", "duration = \"36 h\"")
        .replace("replicates = 2", "replicates = 1")
        .replace("[[tissue.variants]]\nname = \"blocked\"\n", "")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir` (relative path, bytes), sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_killed_run_resumes_to_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("long_tissue.toml");
    fs::write(&study, long_study()).unwrap();
    let study = study.to_str().unwrap();
    let whole = tmp.path().join("whole");
    ok(&exosim([
        "run",
        study,
        "-o",
        whole.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(
        !whole.join(".exosim-resume").exists(),
        "no saved state is left"
    );

    // Saves as often as it can; killed once a state is on disk.
    let cut = tmp.path().join("cut");
    let mut child = Command::new(env!("CARGO_BIN_EXE_exosim"))
        .args(["run", study, "-o", cut.to_str().unwrap(), "--quiet"])
        .arg("--checkpoint-every=0.001")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let state = cut.join(".exosim-resume/tissue-0-0.state");
    let start = Instant::now();
    while !state.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no state saved");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before a state was saved"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cut.join("summary.json").exists(),
        "killed before writing results"
    );

    // Not overwritten by accident; the message says how to continue.
    let refused = exosim(["run", study, "-o", cut.to_str().unwrap(), "--quiet"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    // A changed study is not resumed.
    let changed = tmp.path().join("changed.toml");
    fs::write(&changed, long_study().replace("seed = 3", "seed = 4")).unwrap();
    let refused = exosim([
        "run",
        changed.to_str().unwrap(),
        "-o",
        cut.to_str().unwrap(),
        "--resume",
        "--quiet",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("different study"));

    // What a kill during the final writes leaves next to the saved state:
    // temporary files, which the resumed run removes.
    fs::write(cut.join(".tissue_timeseries.csv.4242-0.tmp"), "half").unwrap();
    ok(&exosim([
        "run",
        study,
        "-o",
        cut.to_str().unwrap(),
        "--resume",
        "--quiet",
    ]));
    assert!(!cut.join(".exosim-resume").exists(), "saved states removed");
    let (a, b) = (files(&whole), files(&cut));
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs after resuming");
    }
}

#[test]
fn resume_without_an_interrupted_run_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tmp.path().join("long_tissue.toml");
    fs::write(&study, long_study()).unwrap();
    let out = tmp.path().join("out");
    let run = exosim([
        "run",
        study.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--resume",
        "--quiet",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no interrupted run"));
}
