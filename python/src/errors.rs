//! exosim's Python exceptions, and the library's errors turned into them.
//!
//! A study or campaign error keeps what the command line prints (the same
//! text, from `StudyError::render`) and its parts as attributes, so that a
//! notebook can point at the line as a terminal does.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    exosim,
    Error,
    PyException,
    "Any exosim failure: a study or campaign that is not valid, a run that failed, files that could not be written."
);
create_exception!(
    exosim,
    StudyError,
    Error,
    "A study that is not valid: `file`, `line`, `column`, `key`, `message` and `hint` say where and why."
);
create_exception!(
    exosim,
    CampaignError,
    Error,
    "A campaign that is not valid or could not run; located like a StudyError when in its file."
);

/// Which exception a located error becomes.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `exosim.StudyError`.
    Study,
    /// `exosim.CampaignError`.
    Campaign,
}

/// A located error as `kind`, its text the command line's (without its
/// leading `error: `), with `file`, `line`, `column`, `key`, `message` and
/// `hint` as attributes. `source` is the text of the file, for the quote.
pub fn located(kind: Kind, e: &exosim::scenario::StudyError, source: &str) -> PyErr {
    let text = e.render(source);
    let text = text.strip_prefix("error: ").unwrap_or(&text).to_string();
    let err = match kind {
        Kind::Study => StudyError::new_err(text),
        Kind::Campaign => CampaignError::new_err(text),
    };
    Python::attach(|py| {
        let value = err.value(py);
        let attrs = [
            ("file", e.file.clone().into_pyobject(py)?.into_any()),
            ("line", e.line.into_pyobject(py)?.into_any()),
            ("column", e.column.into_pyobject(py)?.into_any()),
            ("key", e.key.clone().into_pyobject(py)?.into_any()),
            ("message", e.message.clone().into_pyobject(py)?.into_any()),
            ("hint", e.hint.clone().into_pyobject(py)?.into_any()),
        ];
        for (name, v) in attrs {
            value.setattr(name, v)?;
        }
        Ok::<(), PyErr>(())
    })
    .err()
    .unwrap_or(err)
}

/// Any other failure (a run, a file) as `exosim.Error`.
pub fn other(e: impl std::fmt::Display) -> PyErr {
    Error::new_err(e.to_string())
}

/// Any other failure of a campaign as `exosim.CampaignError`.
pub fn campaign(e: impl std::fmt::Display) -> PyErr {
    CampaignError::new_err(e.to_string())
}

/// Runs `f`, turning a panic (a bug of exosim, never a user's input) into
/// an `exosim.Error` rather than pyo3's `PanicException`, which `except
/// Exception` would not catch.
pub fn no_panic<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(other(format!("internal error: {}", panic_text(&*payload)))))
}

/// The text of a panic's payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}
