//! `Study`: a study file, values set over it by path, validation and runs.

use std::path::PathBuf;
use std::sync::Arc;

use exosim::scenario::{Override, ParamPath, Study, StudyError, StudySource, overrides};
use pyo3::prelude::*;

use crate::errors::{self, Kind};
use crate::interrupt;
use crate::run::NativeRun;

/// A study file read once, with the values set over it since (in order):
/// what `exosim run FILE --set PATH=VALUE …` would run.
#[pyclass(module = "exosim._exosim")]
pub struct NativeStudy {
    source: Arc<StudySource>,
    overrides: Vec<Override>,
    /// The file's TOML tree with the overrides applied, for reading paths
    /// and writing the study back out.
    tree: toml::Value,
}

#[pymethods]
impl NativeStudy {
    /// Reads a study file; its relative paths start from its folder, as
    /// for `exosim run`.
    #[staticmethod]
    fn from_path(path: PathBuf) -> PyResult<Self> {
        let source = StudySource::load(&path).map_err(|e| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            study_error(&e, &text)
        })?;
        Self::new(source)
    }

    /// Study text, named `file` in errors; its relative paths start from
    /// the folder of `file` (the working directory for `<string>`).
    #[staticmethod]
    #[pyo3(signature = (text, file = "<string>"))]
    fn from_text(text: String, file: &str) -> PyResult<Self> {
        let source = StudySource::new(text.clone(), file).map_err(|e| study_error(&e, &text))?;
        Self::new(source)
    }

    /// Study text made from a JSON object (what `Study.from_dict` hands
    /// over): written out as TOML, then read as a file is.
    #[staticmethod]
    #[pyo3(signature = (json, file = "<dict>"))]
    fn from_json(json: &str, file: &str) -> PyResult<Self> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(errors::other)?;
        let tree = toml::Value::try_from(value).map_err(|e| {
            errors::StudyError::new_err(format!("{file}: not a study: {e} (TOML has no null)"))
        })?;
        let text = toml::to_string(&tree).map_err(errors::other)?;
        Self::from_text(text, file)
    }

    /// The value at `path` as written, in JSON (text with its unit stays
    /// text); a `StudyError` when the file does not set it.
    fn get(&self, path: &str) -> PyResult<String> {
        let at: ParamPath = path.parse().map_err(|m| self.path_error(path, m, None))?;
        let value = overrides::get(&self.tree, &at)
            .map_err(|e| self.path_error(path, e.message, e.hint))?;
        serde_json::to_string(value).map_err(errors::other)
    }

    /// Sets the value at `path` (given in JSON), as `--set PATH=VALUE`
    /// would; a path that names nothing is refused now, a value that does
    /// not fit at validation, both with a hint.
    fn set(&mut self, path: &str, json: &str) -> PyResult<()> {
        let at: ParamPath = path.parse().map_err(|m| self.path_error(path, m, None))?;
        let value: serde_json::Value = serde_json::from_str(json).map_err(errors::other)?;
        let value = toml::Value::try_from(value).map_err(|e| {
            self.path_error(
                path,
                format!("not a study value: {e}"),
                Some("TOML has no null".into()),
            )
        })?;
        let over = Override::new(at, value);
        let mut tree = self.tree.clone();
        overrides::apply(&mut tree, &over).map_err(|e| {
            let err = StudyError {
                file: format!("--set {over}"),
                line: 0,
                column: 0,
                key: path.to_string(),
                message: e.message,
                hint: e.hint,
                span: None,
            };
            study_error(&err, "")
        })?;
        self.tree = tree;
        self.overrides.push(over);
        Ok(())
    }

    /// The study as TOML: the file's own text while nothing was set, else
    /// the tree with the values set (comments are not kept).
    fn to_toml(&self) -> PyResult<String> {
        if self.overrides.is_empty() {
            return Ok(self.source.text().to_string());
        }
        toml::to_string(&self.tree).map_err(errors::other)
    }

    /// The study as JSON (for `Study.to_dict`).
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.tree).map_err(errors::other)
    }

    /// The name errors give the study (its path, or `<string>`).
    #[getter]
    fn file(&self) -> String {
        self.source.file().to_string()
    }

    /// Checks the study as `exosim validate` does; returns its name.
    fn validate(&self) -> PyResult<String> {
        Ok(self.resolve()?.name)
    }

    /// What validation tells the valid study (a run estimated to take
    /// long), each as the command line prints it (`note: FILE:LINE:COL: …`).
    fn notices(&self) -> PyResult<Vec<String>> {
        let study = self.resolve()?;
        let text = self.source.text();
        Ok(study
            .notices
            .iter()
            .map(|n| n.render_as(text, "note"))
            .collect())
    }

    /// Runs the study (seed: instead of the study's) on `threads` workers,
    /// the GIL released, telling `progress` the fraction done; Ctrl-C
    /// abandons the run.
    #[pyo3(signature = (seed = None, threads = None, progress = None))]
    fn run(
        &self,
        py: Python<'_>,
        seed: Option<u64>,
        threads: Option<usize>,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<NativeRun> {
        let mut study = self.resolve()?;
        if let Some(seed) = seed {
            // As `exosim run --seed`: the summary records the seed used.
            study.seed = seed;
            study.resolved.study.seed = Some(seed);
        }
        interrupt::run(py, threads, progress, move |cancel| {
            NativeRun::compute(study, cancel)
        })
    }
}

impl NativeStudy {
    fn new(source: StudySource) -> PyResult<Self> {
        let tree = toml::from_str::<toml::Table>(source.text())
            .map(toml::Value::Table)
            .map_err(errors::other)?;
        Ok(NativeStudy {
            source: Arc::new(source),
            overrides: Vec::new(),
            tree,
        })
    }

    /// The study resolved with every value set, or its located error.
    fn resolve(&self) -> PyResult<Study> {
        self.source
            .study(&self.overrides)
            .map_err(|e| study_error(&e, self.source.text()))
    }

    /// A path that names nothing in this study.
    fn path_error(&self, path: &str, message: String, hint: Option<String>) -> PyErr {
        let err = StudyError {
            file: self.source.file().to_string(),
            line: 0,
            column: 0,
            key: path.to_string(),
            message,
            hint,
            span: None,
        };
        study_error(&err, "")
    }
}

/// A study's error as `exosim.StudyError`; `text` is the file's, quoted.
pub fn study_error(e: &StudyError, text: &str) -> PyErr {
    errors::located(Kind::Study, e, text)
}
