//! Study files: parsing, validation and the resolved model.
//!
//! Two phases, as in every well-behaved configuration reader: [`spec`] is the
//! file as written (unknown keys rejected, units kept), [`resolve`] turns it
//! into a [`model::Study`] in internal units after every cross-field check.
//! Each section has its spec and its resolver: the body sections in [`spec`]
//! and [`resolve`], `[tissue]` in [`tissue_spec`], [`resolve_tissue`] and
//! [`resolve_coupling`] (with the estimates of [`tissue_limits`]), `[biopsy]`
//! in [`biopsy_spec`] and [`resolve_biopsy`], `[signature]` in
//! [`signature_spec`]. Every check is written once, in [`check`]. Errors in
//! either phase are [`StudyError`]s that name the file, line, column and key,
//! with a hint.

// A study error carries everything a user needs to fix the file (location,
// key, message, hint). It is built once, at the edge, never in a hot path, so
// its size does not matter.
#![allow(clippy::result_large_err)]

pub mod biopsy_spec;
mod cells_csv;
pub mod check;
pub mod error;
pub mod model;
pub mod resolve;
pub mod resolve_biopsy;
pub mod resolve_coupling;
pub mod resolve_tissue;
pub mod signature_spec;
pub mod spec;
pub mod species;
pub mod tissue_limits;
pub mod tissue_spec;

use std::path::Path;

pub use check::MAX_FILE_BYTES;
pub use error::StudyError;
pub use model::Study;
pub use spec::StudySpec;

use error::{KeyPath, Locator};

/// Parses and validates study text; `file` names it in errors.
pub fn parse_study(text: &str, file: &str) -> Result<Study, StudyError> {
    let loc = Locator::new(file, text);
    let spec: StudySpec = toml::from_str(text).map_err(|e| loc.from_toml(&e))?;
    resolve::resolve(&spec, &loc)
}

/// Reads, parses and validates a study file.
pub fn load_study(path: &Path) -> Result<Study, StudyError> {
    let file = path.display().to_string();
    let whole_file = |message: String, hint: Option<String>| StudyError {
        file: file.clone(),
        line: 1,
        column: 1,
        key: KeyPath::root().to_string(),
        message,
        hint,
        span: None,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| whole_file(format!("cannot read the file: {e}"), None))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(whole_file(
            format!(
                "the file is {} bytes, more than a study file may be ({MAX_FILE_BYTES})",
                meta.len()
            ),
            Some("is this the right file?".into()),
        ));
    }
    let bytes =
        std::fs::read(path).map_err(|e| whole_file(format!("cannot read the file: {e}"), None))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        whole_file(
            format!("the file is not UTF-8 text: {e}"),
            Some("save it as UTF-8".into()),
        )
    })?;
    parse_study(&text, &file)
}
