//! The benchmark's Rust side (`python/bench/overhead.py`): the same steps
//! as the package's read, run and save, timed inside Rust, so that the
//! Python layer's own cost is the difference.

use std::path::PathBuf;
use std::time::Instant;

use exosim::output::{self, Reuse, Writer};
use exosim::run;
use exosim::scenario::StudySource;
use pyo3::prelude::*;

use crate::errors;

/// Seconds of each of `repeat` reads, runs and (with `save`) saves of the
/// study file at `path` into `dir`, all in Rust (the GIL released).
#[pyfunction]
#[pyo3(signature = (path, dir, repeat, save = true))]
pub fn rust_timings(
    py: Python<'_>,
    path: PathBuf,
    dir: PathBuf,
    repeat: usize,
    save: bool,
) -> PyResult<Vec<f64>> {
    py.detach(|| {
        (0..repeat)
            .map(|_| {
                let start = Instant::now();
                let source = StudySource::load(&path).map_err(errors::other)?;
                let study = source.study(&[]).map_err(errors::other)?;
                let result = run::run(&study, |_| {}).map_err(errors::other)?;
                if save {
                    output::prepare_output(&dir, Reuse::Replace).map_err(errors::other)?;
                    run::write_as(&dir, &study, &result, Writer::Run).map_err(errors::other)?;
                }
                Ok(start.elapsed().as_secs_f64())
            })
            .collect()
    })
}
