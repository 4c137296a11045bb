//! `Result`'s compiled half: a finished run, its summary, its time series
//! as Arrow and its run directory.

use std::path::PathBuf;

use exosim::output::{self, Reuse, Writer};
use exosim::run::{self, RunResult};
use exosim::scenario::Study;
use pyo3::prelude::*;

use crate::arrow::ArrowTable;
use crate::errors;
use crate::interrupt::Cancel;

/// A study as run and what the run observed.
#[pyclass(module = "exosim._exosim", frozen)]
pub struct NativeRun {
    study: Study,
    result: RunResult,
}

impl NativeRun {
    /// Runs `study` (on the calling thread), stopping where `cancel` says.
    pub fn compute(study: Study, cancel: &Cancel) -> PyResult<NativeRun> {
        let result = run::run(&study, |f| cancel.tell(f)).map_err(errors::other)?;
        Ok(NativeRun { study, result })
    }
}

#[pymethods]
impl NativeRun {
    /// `summary.json`, as the command line writes it, in JSON.
    fn summary_json(&self) -> PyResult<String> {
        serde_json::to_string(&run::summary(&self.study, &self.result)).map_err(errors::other)
    }

    /// The study's name.
    #[getter]
    fn name(&self) -> String {
        self.study.name.clone()
    }

    /// The tables of the run directory, by file name without extension,
    /// in the order they are written.
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for file in run::planned_files(&self.study, &self.result) {
            let stem = file
                .strip_suffix(".csv")
                .or_else(|| file.strip_suffix(".parquet"));
            if let Some(stem) = stem
                && !names.iter().any(|n| n == stem)
            {
                names.push(stem.to_string());
            }
        }
        names
    }

    /// The wide time series (`timeseries.parquet`'s table: the same
    /// columns, units and descriptions), or `None` for a study without
    /// body arms.
    fn timeseries(&self) -> PyResult<Option<ArrowTable>> {
        if self.result.arms.is_empty() {
            return Ok(None);
        }
        ArrowTable::new(&run::timeseries(&self.study, &self.result)).map(Some)
    }

    /// Writes the run directory as `exosim run` does: refused when `dir`
    /// holds files, unless `force` (which removes what an earlier exosim run
    /// wrote there, and nothing else). Returns the paths written.
    #[pyo3(signature = (dir, force = false))]
    fn save(&self, py: Python<'_>, dir: PathBuf, force: bool) -> PyResult<Vec<PathBuf>> {
        let reuse = if force { Reuse::Replace } else { Reuse::Refuse };
        py.detach(|| {
            errors::no_panic(|| {
                output::prepare_output(&dir, reuse).map_err(errors::other)?;
                run::write_as(&dir, &self.study, &self.result, Writer::Run).map_err(errors::other)
            })
        })
    }
}
