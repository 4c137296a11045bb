//! End to end: a small tissue study and a small screening cohort run by
//! the `exosim` binary on every vector path this processor has
//! (`EXOSIM_SIMD=scalar|avx2|avx512`) write the same files, byte for byte.
//!
//! The kernels' own tests compare their vector copies with the scalar
//! reference on chosen inputs; this one checks that whole studies, through
//! every stage that dispatches (the tissue's uptake passes, the cohort's
//! lanes and their vector exponential), give identical results whichever
//! path runs. The paths compared are printed; `EXOSIM_REQUIRE_SIMD` (e.g.
//! `avx2,avx512`) makes a path the processor lacks fail the test.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use exosim::simd::{SimdPath, paths_to_compare};

use super::common::{repo_root, snapshot};

/// Runs `study` with `EXOSIM_SIMD=path` into `dir`; the files it wrote.
fn run_on(path: SimdPath, study: &Path, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let out = Command::new(env!("CARGO_BIN_EXE_exosim"))
        .arg("run")
        .arg(study)
        .arg("-o")
        .arg(dir)
        .arg("--quiet")
        .env("EXOSIM_SIMD", path.name())
        .output()
        .expect("the exosim binary starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{path}: {stderr}");
    // A path the processor lacks would fall back with a message: the
    // paths compared are ones it has, so there is none.
    assert!(!stderr.contains("EXOSIM_SIMD"), "{path}: {stderr}");
    snapshot(dir)
}

/// Runs `study` on every path in `paths` and compares each run's files
/// with the scalar run's.
fn same_files_on_every_path(label: &str, study: &Path, paths: &[SimdPath]) {
    let scratch = tempfile::tempdir().unwrap();
    let reference = run_on(SimdPath::Scalar, study, &scratch.path().join("scalar"));
    assert!(
        reference.contains_key("summary.json"),
        "{label}: {reference:?}"
    );
    for &path in &paths[1..] {
        let files = run_on(path, study, &scratch.path().join(path.name()));
        assert_eq!(
            reference.keys().collect::<Vec<_>>(),
            files.keys().collect::<Vec<_>>(),
            "{label}: the files written on {path}"
        );
        for (name, bytes) in &reference {
            assert!(
                files[name] == *bytes,
                "{label}: {name} differs between the scalar and the {path} paths"
            );
        }
        eprintln!(
            "{label}: {} files identical on scalar and {path}",
            reference.len()
        );
    }
}

/// A 2-hour tissue study with two replicates, secreting, dividing and
/// killing cells and uptake by receptors (the uptake passes on every path).
#[test]
fn a_tissue_study_writes_the_same_bytes_on_every_path() {
    let paths = paths_to_compare(
        "a_tissue_study_writes_the_same_bytes_on_every_path",
        &SimdPath::ALL,
    );
    let study = repo_root().join("crates/exosim/tests/fixtures/small_tissue.toml");
    same_files_on_every_path("small_tissue", &study, &paths);
}

/// The shipped ovarian screening study with cohorts of 3000, its tumour's
/// growth law replaced by `law` (the study's own Gompertz law when `None`):
/// the path of the study written in `dir`.
fn small_screening(dir: &Path, law: Option<&str>) -> std::path::PathBuf {
    let text = fs::read_to_string(repo_root().join("studies/screening_ovarian.toml")).unwrap();
    let mut small = text
        .replacen("\ncohort = 20000", "\ncohort = 3000", 1)
        .replacen("healthy_cohort = 20000", "healthy_cohort = 3000", 1);
    assert_ne!(
        small, text,
        "the cohort sizes are where the test expects them"
    );
    if let Some(law) = law {
        let gompertz = "growth = \"gompertz\"";
        assert!(
            small.contains(gompertz),
            "the growth law is where the test expects it"
        );
        small = small.replacen(gompertz, &format!("growth = \"{law}\""), 1);
        if law == "exponential" {
            // No plateau.
            let line = small
                .lines()
                .find(|l| l.starts_with("capacity_diameter"))
                .expect("the plateau's line")
                .to_string();
            small = small.replacen(&format!("{line}\n"), "", 1);
        }
    }
    let study = dir.join(format!(
        "screening_small_{}.toml",
        law.unwrap_or("gompertz")
    ));
    fs::write(&study, small).unwrap();
    study
}

/// The shipped ovarian screening study with cohorts of 3000 (the cohort
/// kernel's lanes: scalar, AVX2 and AVX-512 where the processor has them;
/// Gompertz growth, several integrator steps to the first test).
#[test]
fn a_screening_cohort_writes_the_same_bytes_on_every_path() {
    let paths = paths_to_compare(
        "a_screening_cohort_writes_the_same_bytes_on_every_path",
        &SimdPath::ALL,
    );
    let dir = tempfile::tempdir().unwrap();
    let study = small_screening(dir.path(), None);
    same_files_on_every_path("screening_ovarian (3000)", &study, &paths);
}

/// The same study with exponential growth (one step to the first test, the
/// closed form without Gompertz's decay) and with logistic growth (the
/// blood level lane by lane on every path, the other stages on the lanes).
#[test]
fn screenings_of_the_other_growth_laws_write_the_same_bytes_on_every_path() {
    let paths = paths_to_compare(
        "screenings_of_the_other_growth_laws_write_the_same_bytes_on_every_path",
        &SimdPath::ALL,
    );
    let dir = tempfile::tempdir().unwrap();
    for law in ["exponential", "logistic"] {
        let study = small_screening(dir.path(), Some(law));
        same_files_on_every_path(&format!("screening_ovarian (3000, {law})"), &study, &paths);
    }
}
