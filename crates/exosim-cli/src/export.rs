//! `exosim export sbml FILE -o DIR`: a study's body arms as SBML files.

use std::path::Path;
use std::process::ExitCode;

use exosim::output::write_atomic;
use exosim::sbml;
use exosim::scenario::Override;

/// Writes one SBML file per arm of the study `file` into `dir` (created if
/// missing); existing files of the same names are replaced only with
/// `force`. Exit 2 when the study is invalid or cannot be exported, 1 when
/// writing fails.
pub fn sbml(file: &Path, dir: &Path, set: &[Override], force: bool) -> ExitCode {
    let study = match crate::load(file, set) {
        Ok(study) => study,
        Err(code) => return code,
    };
    let models = match sbml::export(&study) {
        Ok(models) => models,
        Err(e) => {
            eprintln!(
                "error: {}: cannot export as SBML: {e}\n  hint: {}",
                file.display(),
                e.hint()
            );
            return ExitCode::from(2);
        }
    };
    let fail = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(1)
    };
    if !force {
        let existing: Vec<String> = models
            .iter()
            .map(|m| dir.join(&m.file_name))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            eprintln!(
                "error: {} already exist(s); move it away, or use --force to replace it",
                existing.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(format!("cannot create {}: {e}", dir.display()));
    }
    for m in &models {
        let path = dir.join(&m.file_name);
        if let Err(e) = write_atomic(&path, |w| w.write_all(m.xml.as_bytes())) {
            return fail(e.to_string());
        }
        println!("wrote {} (arm `{}`)", path.display(), m.arm);
    }
    for (present, section) in [
        (study.tissue.is_some(), "[tissue]"),
        (
            study.biopsy.is_some() || study.condition_test.is_some(),
            "[biopsy]",
        ),
        (study.signature.is_some(), "[signature]"),
        (!study.effects.is_empty(), "[[effects]]"),
    ] {
        if present {
            eprintln!("note: {section} is not part of the body model and was not exported");
        }
    }
    ExitCode::SUCCESS
}
