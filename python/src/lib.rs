//! `exosim._exosim`: the compiled half of the `exosim` Python package.
//!
//! The Python half (`python/exosim/__init__.py`) gives users the API they
//! expect from tellurium or pcdl (`Study`, `Result`, `Campaign`, pyarrow
//! tables); this half holds the Rust objects and does every step the
//! command line does, with the same library calls, so that a study run from
//! Python gives the same numbers and files as `exosim run`. Nothing here
//! panics on user input: every failure becomes an `exosim.Error`.

use pyo3::prelude::*;

mod arrow;
mod bench;
mod campaign;
mod errors;
mod interrupt;
mod run;
mod study;

/// The module: classes, functions and exceptions.
#[pymodule]
fn _exosim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", exosim::run::VERSION)?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("StudyError", py.get_type::<errors::StudyError>())?;
    m.add("CampaignError", py.get_type::<errors::CampaignError>())?;
    m.add_class::<study::NativeStudy>()?;
    m.add_class::<run::NativeRun>()?;
    m.add_class::<arrow::ArrowTable>()?;
    m.add_class::<campaign::NativeCampaign>()?;
    m.add_function(wrap_pyfunction!(campaign::merge, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::csv_columns, m)?)?;
    m.add_function(wrap_pyfunction!(bench::rust_timings, m)?)?;
    Ok(())
}
