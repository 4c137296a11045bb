//! What exosim wrote into an output directory, and the rules for reusing it.
//!
//! Every run records the files it is about to write in a hidden manifest,
//! `DIR/.exosim-manifest.json`, before writing any of them; `exosim report`
//! adds the page and figures it writes. The manifest is what makes reuse
//! safe:
//!
//! - `--force` removes exactly the files the manifest lists (and the
//!   temporary files of a write that was killed), then writes afresh, so no
//!   file of a previous run survives next to the new ones; files the user
//!   put there are kept.
//! - the demo replaces a folder only when the manifest says that the demo
//!   wrote it.
//! - `--resume` keeps the finished files and removes the temporary ones.
//!
//! A folder that an exosim from before the manifest wrote has none; its
//! `summary.json` names the exosim version that wrote it, and `--force`
//! then removes the files of that version's fixed layout
//! ([`Manifest::before_manifests`]).
//!
//! A write that was killed leaves hidden `.NAME.PID-N.tmp` files (see
//! [`write_atomic`](super::write_atomic)); [`is_temporary`] recognises them.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{io_err, write_json};
use super::checkpoint::RESUME_DIR;
use super::error::OutputError;

/// Name of the manifest inside an output directory.
pub const MANIFEST: &str = ".exosim-manifest.json";

/// Which command wrote a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Writer {
    /// `exosim run`.
    Run,
    /// `exosim demo`: the only folders the demo replaces without `--force`.
    Demo,
    /// `exosim report` on a folder that had no manifest.
    Report,
    /// `exosim run` of a campaign (or of one shard of it).
    Campaign,
    /// `exosim merge`.
    Merge,
}

/// The files exosim wrote into one output directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// exosim version that wrote the folder.
    pub exosim_version: String,
    /// The command that wrote the run's files.
    pub written_by: Writer,
    /// The run's files and folders, relative to the directory (`/`-separated).
    pub files: Vec<String>,
    /// The report's page and figures, relative to the directory.
    #[serde(default)]
    pub report: Vec<String>,
}

impl Manifest {
    /// A manifest of `files`, written by `by`.
    pub fn new(by: Writer, files: Vec<String>) -> Self {
        Manifest {
            exosim_version: env!("CARGO_PKG_VERSION").to_string(),
            written_by: by,
            files,
            report: Vec::new(),
        }
    }

    /// The manifest of `dir`, if it has a readable one. A manifest that
    /// cannot be parsed is taken as absent: nothing is then removed on its
    /// word.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, OutputError> {
        let path = dir.join(MANIFEST);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    /// What an exosim from before the manifest wrote into `dir`, when its
    /// `summary.json` says an exosim wrote it (it has `exosim_version`):
    /// the files of that version's fixed layout that are there, and the
    /// report's page and figures. `None` for any other folder, so that
    /// nothing is removed on a guess.
    pub fn before_manifests(dir: &Path) -> Result<Option<Manifest>, OutputError> {
        let path = dir.join("summary.json");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let by_exosim = serde_json::from_str::<serde_json::Value>(&text)
            .is_ok_and(|v| v.get("exosim_version").is_some_and(|v| v.is_string()));
        if !by_exosim {
            return Ok(None);
        }
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
            let name = entry
                .map_err(|e| io_err(dir, e))?
                .file_name()
                .to_string_lossy()
                .into_owned();
            let roc = name.starts_with("biopsy_roc_") && name.ends_with(".csv");
            if roc || BEFORE_MANIFESTS.contains(&name.as_str()) {
                files.push(name);
            }
        }
        files.sort();
        let mut m = Manifest::new(Writer::Run, files);
        m.report = vec!["report.html".into(), "figures".into()];
        Ok(Some(m))
    }

    /// Writes the manifest into `dir`, atomically.
    pub fn write(&self, dir: &Path) -> Result<(), OutputError> {
        write_json(&dir.join(MANIFEST), self)
    }

    /// Whether `name` (a top-level entry of the directory) is something
    /// this manifest lists, or the folder of something it lists.
    pub fn owns(&self, name: &str) -> bool {
        self.files
            .iter()
            .chain(&self.report)
            .any(|f| top_level(f) == Some(name))
    }

    /// Whether the report lists `name` (a top-level entry).
    pub fn owns_report(&self, name: &str) -> bool {
        self.report.iter().any(|f| top_level(f) == Some(name))
    }
}

/// The files a run wrote before runs kept a manifest (besides
/// `biopsy_roc_TEST.csv`, one per test).
const BEFORE_MANIFESTS: [&str; 8] = [
    "timeseries.csv",
    "timeseries.parquet",
    "biopsy_curve.csv",
    "signature.csv",
    "signature_markers.csv",
    "tissue_timeseries.csv",
    "tissue_snapshots",
    "summary.json",
];

/// The first component of a relative path as the manifest writes it.
fn top_level(rel: &str) -> Option<&str> {
    rel.split('/').next().filter(|s| !s.is_empty())
}

/// Whether a file name is one of [`write_atomic`](super::write_atomic)'s
/// temporary files, `.NAME.PID-N.tmp`: what a killed write leaves behind.
pub fn is_temporary(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((file, id)) = inner.rsplit_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !file.is_empty()
        && id
            .split_once('-')
            .is_some_and(|(p, n)| digits(p) && digits(n))
}

/// How a command may use an output directory that already holds files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Only a missing or empty directory is used.
    Refuse,
    /// `--force`: what the manifest lists and the temporary files of a
    /// killed write are removed first; other files are kept (a namesake of
    /// an output is replaced by it).
    Replace,
    /// The demo: [`Reuse::Replace`] when the demo wrote the folder,
    /// [`Reuse::Refuse`] otherwise.
    ReplaceDemo,
    /// `--resume`: the finished files stay, temporary files go.
    Resume,
}

/// Makes `dir` ready to receive a run's outputs.
///
/// Creates `dir` (and its parents) if missing. An existing non-empty directory
/// is refused with [`OutputError::NotEmpty`] unless `force` is set, so that a
/// previous run's results are never lost by accident. With `force`, the files
/// a previous exosim run wrote there (as its manifest lists them) and the
/// temporary files of a killed write are removed; other files are left in
/// place, and an output replaces its namesake atomically. A folder an
/// exosim from before the manifest wrote is cleaned by the layout of that
/// time ([`Manifest::before_manifests`]). See
/// [`prepare_output`] for the demo's and `--resume`'s
/// rules.
pub fn prepare_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    prepare_output(dir, if force { Reuse::Replace } else { Reuse::Refuse })
}

/// Makes `dir` ready to receive a run's outputs under the rules of `reuse`
/// (see the [module](self) documentation). Creates `dir` if missing.
pub fn prepare_output(dir: &Path, reuse: Reuse) -> Result<(), OutputError> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(OutputError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return fs::create_dir_all(dir).map_err(|e| io_err(dir, e));
        }
        Err(e) => return Err(io_err(dir, e)),
    }
    let manifest = Manifest::read(dir)?;
    let mut leftovers = Vec::new();
    let mut others = Vec::new();
    let mut interrupted = false;
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let name = entry
            .map_err(|e| io_err(dir, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if is_temporary(&name) {
            leftovers.push(name);
        } else if name == RESUME_DIR {
            interrupted = true;
        } else if name != MANIFEST {
            others.push(name);
        }
    }
    let reuse = match reuse {
        Reuse::ReplaceDemo
            if manifest
                .as_ref()
                .is_some_and(|m| m.written_by == Writer::Demo) =>
        {
            Reuse::Replace
        }
        Reuse::ReplaceDemo => Reuse::Refuse,
        r => r,
    };
    match reuse {
        Reuse::Refuse | Reuse::ReplaceDemo => {
            if !others.is_empty() || interrupted {
                Err(OutputError::NotEmpty {
                    dir: dir.to_path_buf(),
                })
            } else if !leftovers.is_empty() {
                leftovers.sort();
                Err(OutputError::Leftovers {
                    dir: dir.to_path_buf(),
                    names: leftovers,
                })
            } else {
                Ok(())
            }
        }
        Reuse::Replace => {
            let manifest = match manifest {
                Some(m) => Some(m),
                None => Manifest::before_manifests(dir)?,
            };
            if let Some(m) = &manifest {
                remove_listed(dir, m.files.iter().chain(&m.report))?;
            }
            remove_leftovers(dir, manifest.as_ref())?;
            remove_entry(&dir.join(RESUME_DIR))?;
            remove_entry(&dir.join(MANIFEST))
        }
        Reuse::Resume => remove_leftovers(dir, manifest.as_ref()),
    }
}

/// Removes the report's page and figures that `dir`'s manifest lists (and
/// the temporary files of a killed report write), and forgets them.
pub fn remove_report(dir: &Path) -> Result<(), OutputError> {
    let Some(mut m) = Manifest::read(dir)? else {
        return Ok(());
    };
    remove_listed(dir, &m.report)?;
    remove_leftovers(dir, Some(&m))?;
    m.report.clear();
    m.write(dir)
}

/// `rel` as a path inside `dir`, if it is a plain relative path (no root,
/// no `..`): a damaged manifest must not reach outside the directory.
fn inside(dir: &Path, rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !rel.is_empty()).then(|| dir.join(path))
}

fn remove_entry(path: &Path) -> Result<(), OutputError> {
    let result = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Removes every listed file or folder, then the folders that held listed
/// files if they are left empty.
fn remove_listed<'a>(
    dir: &Path,
    listed: impl IntoIterator<Item = &'a String>,
) -> Result<(), OutputError> {
    let mut parents = BTreeSet::new();
    for rel in listed {
        let Some(path) = inside(dir, rel) else {
            continue;
        };
        remove_entry(&path)?;
        let mut p = path.parent();
        while let Some(parent) = p.filter(|p| *p != dir && p.starts_with(dir)) {
            parents.insert(parent.to_path_buf());
            p = parent.parent();
        }
    }
    // Deepest first, so that a folder emptied by its child goes too.
    for parent in parents.iter().rev() {
        remove_leftovers_in(parent)?;
        if fs::read_dir(parent).is_ok_and(|mut d| d.next().is_none()) {
            remove_entry(parent)?;
        }
    }
    Ok(())
}

/// Removes the temporary files of killed writes at the top of `dir` and in
/// the folders the manifest lists.
fn remove_leftovers(dir: &Path, manifest: Option<&Manifest>) -> Result<(), OutputError> {
    remove_leftovers_in(dir)?;
    let Some(m) = manifest else {
        return Ok(());
    };
    let mut folders = BTreeSet::new();
    for rel in m.files.iter().chain(&m.report) {
        let Some(path) = inside(dir, rel) else {
            continue;
        };
        if path.is_dir() {
            folders.insert(path.clone());
        }
        let mut p = path.parent();
        while let Some(parent) = p.filter(|p| *p != dir && p.starts_with(dir)) {
            folders.insert(parent.to_path_buf());
            p = parent.parent();
        }
    }
    for folder in folders {
        let mut stack = vec![folder];
        while let Some(d) = stack.pop() {
            remove_leftovers_in(&d)?;
            if let Ok(entries) = fs::read_dir(&d) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Removes the temporary files of killed writes directly inside `dir`.
fn remove_leftovers_in(dir: &Path) -> Result<(), OutputError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && is_temporary(&entry.file_name().to_string_lossy()) {
            remove_entry(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                if p.is_dir() {
                    stack.push(p);
                }
                out.push(rel);
            }
        }
        out.sort();
        out
    }

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x").unwrap();
    }

    #[test]
    fn temporary_names_are_those_write_atomic_makes() {
        for yes in [".summary.json.123-0.tmp", ".a.b.csv.9-17.tmp"] {
            assert!(is_temporary(yes), "{yes}");
        }
        for no in [
            "summary.json",
            ".summary.json.tmp",
            "summary.json.1-2.tmp",
            "..1-2.tmp",
            ".x.12.tmp",
            ".x.a-2.tmp",
            ".x.1-.tmp",
        ] {
            assert!(!is_temporary(no), "{no}");
        }
        // The name write_atomic really uses, seen while it writes.
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.csv");
        let mut seen = Vec::new();
        super::super::write_atomic(&target, |_| {
            seen = fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 1);
        assert!(is_temporary(&seen[0]), "{seen:?}");
    }

    #[test]
    fn force_removes_exactly_what_the_manifest_lists() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for f in [
            "summary.json",
            "biopsy_curve.csv",
            "report.html",
            "figures/a.png",
            "tissue_snapshots/v/frame.csv",
            "notes.txt",
            "mine/keep.csv",
            ".summary.json.77-3.tmp",
            "figures/.a.png.5-1.tmp",
        ] {
            touch(&dir.join(f));
        }
        let mut m = Manifest::new(
            Writer::Run,
            vec![
                "summary.json".into(),
                "biopsy_curve.csv".into(),
                "tissue_snapshots".into(),
            ],
        );
        m.report = vec!["report.html".into(), "figures/a.png".into()];
        m.write(dir).unwrap();
        prepare_output(dir, Reuse::Replace).unwrap();
        assert_eq!(names(dir), ["mine", "mine/keep.csv", "notes.txt"]);
    }

    #[test]
    fn a_damaged_manifest_cannot_reach_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("precious.txt");
        touch(&outside);
        let dir = tmp.path().join("run");
        touch(&dir.join("summary.json"));
        Manifest::new(
            Writer::Run,
            vec!["../precious.txt".into(), "/etc/x".into(), "".into()],
        )
        .write(&dir)
        .unwrap();
        prepare_output(&dir, Reuse::Replace).unwrap();
        assert!(outside.is_file());
        assert_eq!(names(&dir), ["summary.json"]);
    }

    #[test]
    fn the_demo_replaces_only_what_the_demo_wrote() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        touch(&dir.join("summary.json"));
        touch(&dir.join("timeseries.csv"));
        let run = Manifest::new(
            Writer::Run,
            vec!["summary.json".into(), "timeseries.csv".into()],
        );
        run.write(dir).unwrap();
        let err = prepare_output(dir, Reuse::ReplaceDemo).unwrap_err();
        assert!(matches!(err, OutputError::NotEmpty { .. }), "{err}");
        // Without a manifest, as before the manifest existed: refused too.
        fs::remove_file(dir.join(MANIFEST)).unwrap();
        assert!(prepare_output(dir, Reuse::ReplaceDemo).is_err());
        Manifest {
            written_by: Writer::Demo,
            ..run
        }
        .write(dir)
        .unwrap();
        prepare_output(dir, Reuse::ReplaceDemo).unwrap();
        assert!(names(dir).is_empty());
    }

    #[test]
    fn leftovers_alone_are_refused_and_resume_removes_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        touch(&dir.join(".summary.json.4242-7.tmp"));
        let err = prepare_output(dir, Reuse::Refuse).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "output directory `{}` holds only temporary files of a write that was \
                 killed (`.summary.json.4242-7.tmp`); run again with --force to remove \
                 them (or --resume to continue an interrupted run)",
                dir.display()
            )
        );
        touch(&dir.join("timeseries.csv"));
        prepare_output(dir, Reuse::Resume).unwrap();
        assert_eq!(names(dir), ["timeseries.csv"]);
    }

    #[test]
    fn force_cleans_a_folder_from_before_manifests_by_its_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("summary.json"), r#"{"exosim_version":"0.1.0"}"#).unwrap();
        for f in [
            "timeseries.csv",
            "biopsy_roc_digital.csv",
            "report.html",
            "notes.txt",
        ] {
            touch(&dir.join(f));
        }
        touch(&dir.join("figures/blood.png"));
        touch(&dir.join("tissue_snapshots/cells_0000.csv"));
        prepare_dir(dir, false).unwrap_err();
        prepare_dir(dir, true).unwrap();
        assert_eq!(names(dir), ["notes.txt"]);
    }

    #[test]
    fn force_removes_nothing_from_a_folder_no_exosim_wrote() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // A summary.json of the user's own, and one that is not JSON.
        fs::write(dir.join("summary.json"), r#"{"version":"2"}"#).unwrap();
        touch(&dir.join("timeseries.csv"));
        prepare_dir(dir, true).unwrap();
        assert_eq!(names(dir), ["summary.json", "timeseries.csv"]);
        fs::write(dir.join("summary.json"), "exosim_version").unwrap();
        prepare_dir(dir, true).unwrap();
        assert_eq!(names(dir), ["summary.json", "timeseries.csv"]);
    }

    #[test]
    fn remove_report_forgets_the_report_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for f in [
            "summary.json",
            "report.html",
            "figures/a.svg",
            "figures/.a.svg.1-1.tmp",
        ] {
            touch(&dir.join(f));
        }
        let mut m = Manifest::new(Writer::Run, vec!["summary.json".into()]);
        m.report = vec!["report.html".into(), "figures".into()];
        m.write(dir).unwrap();
        remove_report(dir).unwrap();
        assert_eq!(names(dir), [MANIFEST, "summary.json"]);
        let back = Manifest::read(dir).unwrap().unwrap();
        assert!(back.report.is_empty());
        assert_eq!(back.files, ["summary.json"]);
    }
}
