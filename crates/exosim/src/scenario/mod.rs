//! Study files: parsing, validation and the resolved model.
//!
//! Two phases, as in every well-behaved configuration reader: [`spec`] is the
//! file as written (unknown keys rejected, units kept), [`resolve`] turns it
//! into a [`model::Study`] in internal units after every cross-field check.
//! Each section has its spec and its resolver: the body sections in [`spec`]
//! and [`resolve`], `[tissue]` in [`tissue_spec`], [`resolve_tissue`] and
//! [`resolve_coupling`] (with the estimates of [`tissue_limits`]), `[biopsy]`
//! in [`biopsy_spec`] and [`resolve_biopsy`] (a test of conditions in
//! [`resolve_conditions`]), `[signature]` in
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
pub mod drug_spec;
pub mod effect_spec;
pub mod error;
pub mod instrument_spec;
pub mod model;
pub mod overrides;
pub mod production_spec;
pub mod resolve;
pub mod resolve_biopsy;
pub mod resolve_conditions;
pub mod resolve_coupling;
mod resolve_draw;
mod resolve_drug;
pub mod resolve_effect;
pub mod resolve_instrument;
mod resolve_marker_drug;
pub mod resolve_production;
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
pub use overrides::{Override, ParamPath};

/// Parses and validates study text; `file` names it in errors.
pub fn parse_study(text: &str, file: &str) -> Result<Study, StudyError> {
    StudySource::new(text.to_string(), file)?.study(&[])
}

/// Reads, parses and validates a study file.
pub fn load_study(path: &Path) -> Result<Study, StudyError> {
    StudySource::load(path)?.study(&[])
}

/// A study file read and checked once, from which studies with values set
/// over it ([`Override`]s) are made: a campaign makes one per point.
#[derive(Debug, Clone)]
pub struct StudySource {
    file: String,
    text: String,
    /// The file as a TOML tree, which overrides change.
    tree: toml::Value,
}

impl StudySource {
    /// Study text named `file` in errors; fails when the text is not a
    /// study file (unknown keys, wrong types), located in it. The checks of
    /// resolution wait for [`StudySource::study`].
    pub fn new(text: String, file: &str) -> Result<Self, StudyError> {
        let loc = Locator::new(file, &text);
        let _: StudySpec = toml::from_str(&text).map_err(|e| loc.from_toml(&e))?;
        let tree = toml::Value::Table(toml::from_str(&text).map_err(|e| loc.from_toml(&e))?);
        Ok(StudySource {
            file: file.to_string(),
            text,
            tree,
        })
    }

    /// Reads a study file (at most [`MAX_FILE_BYTES`], UTF-8).
    pub fn load(path: &Path) -> Result<Self, StudyError> {
        let file = path.display().to_string();
        StudySource::new(read_study_text(path, &file)?, &file)
    }

    /// The file name given at construction.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The study text as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The study with `overrides` applied in order to the raw file, then
    /// resolved and checked as a file is. An error in a value an override
    /// set names the override (`--set PATH=VALUE`) instead of a line.
    pub fn study(&self, overrides: &[Override]) -> Result<Study, StudyError> {
        let base = Locator::new(&self.file, &self.text);
        if overrides.is_empty() {
            let spec: StudySpec = toml::from_str(&self.text).map_err(|e| base.from_toml(&e))?;
            return resolve::resolve(&spec, &base);
        }
        let mut tree = self.tree.clone();
        let mut placed = Vec::with_capacity(overrides.len());
        for over in overrides {
            let at = overrides::apply(&mut tree, over).map_err(|e| override_error(over, e))?;
            placed.push((at, over.to_string()));
        }
        let spec = match tree.try_into::<StudySpec>() {
            Ok(spec) => spec,
            Err(_) => return Err(self.first_misfit(overrides)),
        };
        resolve::resolve(&spec, &base.with_overrides(placed))
    }

    /// The error of the first override after which the tree is no longer
    /// a study file (the file alone is one).
    fn first_misfit(&self, overrides: &[Override]) -> StudyError {
        let mut tree = self.tree.clone();
        for over in overrides {
            if let Err(e) = overrides::apply(&mut tree, over) {
                return override_error(over, e);
            }
            if let Err(e) = tree.clone().try_into::<StudySpec>() {
                let message = e.message().trim().to_string();
                let hint = overrides::nearest_path(&over.path, &message);
                return override_error(over, overrides::PathError { message, hint });
            }
        }
        override_error(
            &overrides[0],
            overrides::PathError {
                message: "the overrides together do not make a study file".into(),
                hint: None,
            },
        )
    }
}

/// An error of one override, named by it.
fn override_error(over: &Override, e: overrides::PathError) -> StudyError {
    StudyError {
        file: format!("--set {over}"),
        line: 0,
        column: 0,
        key: over.path.to_string(),
        message: e.message,
        hint: e.hint,
        span: None,
    }
}

/// The text of a study file, refused when too large or not UTF-8.
fn read_study_text(path: &Path, file: &str) -> Result<String, StudyError> {
    let whole_file = |message: String, hint: Option<String>| StudyError {
        file: file.to_string(),
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
    String::from_utf8(bytes).map_err(|e| {
        whole_file(
            format!("the file is not UTF-8 text: {e}"),
            Some("save it as UTF-8".into()),
        )
    })
}
