//! Observables: the named scalars a campaign records for every point.
//!
//! A campaign runs one study many times; keeping every run's files would
//! bury the question under gigabytes, so each point is reduced to a few
//! numbers named in the campaign file (`[[observables]]`, schema in
//! docs/observables.md). A spec ([`ObservableSpec`]) is the table as
//! written, quantities with their units; [`resolve`] checks it once against
//! the resolved study (names exist, the time is an output time, the study
//! has the section the kind reads) so that a typo fails before hours of
//! runs, not after; [`Observable::evaluate`] then reads the value from each
//! run's [`RunResult`], in SI units, through the same functions the run's
//! summary uses, so that an observable and `summary.json` never disagree.
//!
//! The kinds read four engines: the body ([`body`]: PK figures, shares of
//! the dose, uptake, peaks), the tissue ([`tissue`]: cells, states, kills,
//! uptakes, vesicle fates, over replicates), the liquid biopsy and the
//! signatures ([`biopsy`]), and the effects of the exposure ([`effect`]).

// A study error carries its location and hint; it is built once per
// observable, at the edge, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod biopsy;
pub mod body;
pub mod effect;
mod kinds;
pub mod tissue;

use kinds::Domain;
pub use kinds::{About, Kind, Statistic};

use serde::{Deserialize, Serialize};

use crate::run::RunResult;
use crate::scenario::error::{KeyPath, Locator, did_you_mean};
use crate::scenario::{Study, StudyError};
use crate::units::{self, Dimension, Length, Time};

/// One `[[observables]]` table of a campaign file, as written.
///
/// `kind` says what is measured; the other keys say where, and each kind
/// takes only the keys it reads (see [`Kind::keys`]): a key a kind does not
/// read is refused rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObservableSpec {
    /// Column name of the value in the campaign's results.
    pub name: String,
    /// What is measured.
    pub kind: Kind,
    /// Body arm (may be omitted when the study has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// Vesicle class: a body class, or a tissue class for `tissue_vesicles`
    /// (may be omitted when there is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vesicles: Option<String>,
    /// Body place (`blood`, an organ, `lymph`, …) or tissue fate (`free`,
    /// `taken_up`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// An output time of the engine read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// A tumour diameter of the biopsy's detection curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diameter: Option<Length>,
    /// A detection probability, above 0 and at most 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Blood test of the `[biopsy]` section (may be omitted when it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// Disease of the `[signature]` section (may be omitted when it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Tissue variant (may be omitted when the tissue has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Tissue cell type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_type: Option<String>,
    /// State variable of the cell type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Cargo molecule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub molecule: Option<String>,
    /// How the tissue's replicates are combined (default `mean`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<Statistic>,
    /// Effect of the `[[effects]]` section (may be omitted when it has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

impl ObservableSpec {
    /// A spec with its name and kind and no other key, to be filled.
    pub fn new(name: String, kind: Kind) -> ObservableSpec {
        ObservableSpec {
            name,
            kind,
            arm: None,
            vesicles: None,
            place: None,
            time: None,
            diameter: None,
            probability: None,
            test: None,
            condition: None,
            variant: None,
            cell_type: None,
            state: None,
            molecule: None,
            statistic: None,
            effect: None,
        }
    }
}

/// A checked observable, ready to read any run of its study.
#[derive(Debug, Clone)]
pub struct Observable {
    /// Column name.
    pub name: String,
    /// Unit of the value.
    pub unit: String,
    /// What the value is, in words, with its arm, class, place and time.
    pub description: String,
    target: Target,
}

/// Where the value is read, resolved against the study.
#[derive(Debug, Clone)]
enum Target {
    Body(body::Target),
    Tissue(tissue::Target),
    Biopsy(biopsy::Target),
    Signature(biopsy::SignatureTarget),
    Effect(effect::Target),
}

/// Checks `spec` against `study` and resolves its names, so that every
/// point of a campaign can be read without a failure. `loc` and `at` (the
/// table's key path, e.g. `observables[2]`) locate errors in the campaign
/// file; each names the key at fault, with the valid names as a hint.
pub fn resolve(
    spec: &ObservableSpec,
    study: &Study,
    loc: &Locator,
    at: &KeyPath,
) -> Result<Observable, StudyError> {
    let p = Table { loc, at };
    check_name(&p, &spec.name)?;
    check_keys(&p, spec)?;
    let unit = || spec.kind.about().unit.to_string();
    let (target, description, unit) = match spec.kind.domain() {
        Domain::Body => {
            body::resolve(spec, study, &p).map(|(t, d)| (Target::Body(t), d, unit()))?
        }
        Domain::Tissue => {
            tissue::resolve(spec, study, &p).map(|(t, d)| (Target::Tissue(t), d, unit()))?
        }
        Domain::Biopsy => {
            biopsy::resolve(spec, study, &p).map(|(t, d)| (Target::Biopsy(t), d, unit()))?
        }
        Domain::Signature => biopsy::resolve_signature(spec, study, &p)
            .map(|(t, d)| (Target::Signature(t), d, unit()))?,
        Domain::Effect => {
            effect::resolve(spec, study, &p).map(|(t, d, u)| (Target::Effect(t), d, u))?
        }
    };
    Ok(Observable {
        name: spec.name.clone(),
        unit,
        description,
        target,
    })
}

impl Observable {
    /// The same observable read at output time `t` instead of its own (what
    /// a calibration draws as a fitted curve): a body observable read at a
    /// time, any tissue observable, an effect's value or change at an
    /// output time; None for the others.
    pub fn at_time(&self, t: f64) -> Option<Observable> {
        let target = match &self.target {
            Target::Body(b) => Target::Body(b.at_time(t)?),
            Target::Tissue(x) => Target::Tissue(x.at_time(t)),
            Target::Effect(e) => Target::Effect(e.at_time(t)?),
            _ => return None,
        };
        Some(Observable {
            target,
            ..self.clone()
        })
    }

    /// The times a fitted curve of this observable is read at: the study's
    /// output times for the body and the effects, the tissue's own output
    /// rows in `result` for the tissue; none for an observable without a
    /// course (a biopsy test's figure, a signature).
    pub fn curve_times(&self, study: &Study, result: &RunResult) -> Vec<f64> {
        match &self.target {
            Target::Body(_) | Target::Effect(_) if self.at_time(0.0).is_some() => {
                study.output_times.clone()
            }
            Target::Tissue(x) => x.times(result),
            _ => Vec::new(),
        }
    }

    /// The value in `result`, a run of the study this observable was
    /// resolved against. NaN only where the quantity is undefined for that
    /// run (each kind's definition in docs/observables.md says when, e.g. a
    /// blood curve without a terminal phase, a tissue type with no cell at
    /// the start of a fold change); never a panic, even for a result of
    /// another study (NaN then too).
    pub fn evaluate(&self, result: &RunResult) -> f64 {
        match &self.target {
            Target::Body(t) => t.evaluate(result),
            Target::Tissue(t) => t.evaluate(result),
            Target::Biopsy(t) => t.evaluate(result),
            Target::Signature(t) => t.evaluate(result),
            Target::Effect(t) => t.evaluate(result),
        }
    }
}

/// The campaign file being resolved, and the table of the observable in it.
pub(crate) struct Table<'a, 't> {
    loc: &'a Locator<'t>,
    at: &'a KeyPath,
}

impl Table<'_, '_> {
    /// An error at `key` of the table (the table itself when `key` is empty).
    fn error(&self, key: &str, message: impl Into<String>, hint: Option<String>) -> StudyError {
        let path = if key.is_empty() {
            self.at.clone()
        } else {
            self.at.key(key)
        };
        self.loc.error(&path, message, hint)
    }
}

/// A column name: the characters a study allows in its names, and `.`.
fn check_name(p: &Table, name: &str) -> Result<(), StudyError> {
    let ok = !name.is_empty()
        && name.len() <= crate::scenario::check::MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        return Ok(());
    }
    Err(p.error(
        "name",
        format!("`{name}` is not a valid observable name"),
        Some("use 1 to 64 letters, digits, `_`, `-` or `.`".into()),
    ))
}

/// The keys of `spec` that are written, by name.
fn written(spec: &ObservableSpec) -> Vec<&'static str> {
    let s = spec;
    [
        ("arm", s.arm.is_some()),
        ("vesicles", s.vesicles.is_some()),
        ("place", s.place.is_some()),
        ("time", s.time.is_some()),
        ("diameter", s.diameter.is_some()),
        ("probability", s.probability.is_some()),
        ("test", s.test.is_some()),
        ("condition", s.condition.is_some()),
        ("variant", s.variant.is_some()),
        ("cell_type", s.cell_type.is_some()),
        ("state", s.state.is_some()),
        ("molecule", s.molecule.is_some()),
        ("statistic", s.statistic.is_some()),
        ("effect", s.effect.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, on)| on.then_some(k))
    .collect()
}

/// Refuses a key the kind does not read: it would change nothing, and the
/// user who wrote it expected it to.
fn check_keys(p: &Table, spec: &ObservableSpec) -> Result<(), StudyError> {
    let about = spec.kind.about();
    match written(spec).into_iter().find(|k| !about.keys.contains(k)) {
        None => Ok(()),
        Some(k) => Err(p.error(
            k,
            format!("kind `{}` does not take `{k}`", about.name),
            Some(format!("`{}` takes: {}", about.name, about.keys.join(", "))),
        )),
    }
}

/// Index of the name `wanted` among `names`, the `key` of `what`: when
/// omitted, the only one there is.
fn pick(
    p: &Table,
    key: &str,
    what: &str,
    wanted: Option<&str>,
    names: &[&str],
) -> Result<usize, StudyError> {
    let listed = || format!("{what}s of the study: {}", names.join(", "));
    if names.is_empty() {
        return Err(p.error(key, format!("the study has no {what}"), None));
    }
    let Some(wanted) = wanted else {
        return match names {
            [_] => Ok(0),
            _ => Err(p.error(
                "",
                format!("`{key}` is needed: the study has {} {what}s", names.len()),
                Some(listed()),
            )),
        };
    };
    names.iter().position(|n| *n == wanted).ok_or_else(|| {
        let hint = match did_you_mean(wanted, names.iter().copied()) {
            Some(best) => format!("did you mean `{best}`? {}", listed()),
            None => listed(),
        };
        p.error(
            key,
            format!("no {what} `{wanted}` in the study"),
            Some(hint),
        )
    })
}

/// A required key's value.
fn need<'v, T>(
    p: &Table,
    key: &str,
    value: &'v Option<T>,
    kind: Kind,
) -> Result<&'v T, StudyError> {
    value.as_ref().ok_or_else(|| {
        p.error(
            "",
            format!("kind `{}` needs `{key}`", kind.about().name),
            Some(format!(
                "`{}` takes: {}",
                kind.about().name,
                kind.keys().join(", ")
            )),
        )
    })
}

/// `value` as one of `grid` (sorted), within rounding: a value written
/// as `"0.1 h"` matches the grid's 360 s. Returns the grid's own value, so
/// that the run's results are found by equality.
fn on_grid(
    p: &Table,
    key: &str,
    value: f64,
    grid: &[f64],
    dim: Dimension,
    what: &str,
) -> Result<f64, StudyError> {
    let close = |g: f64| (g - value).abs() <= 1e-9 * g.abs().max(value.abs());
    if let Some(&g) = grid.iter().find(|&&g| close(g)) {
        return Ok(g);
    }
    let human = |x: f64| units::format_human(x, dim);
    let after = grid.partition_point(|&g| g < value);
    let near: Vec<String> = grid[after.saturating_sub(1)..(after + 1).min(grid.len())]
        .iter()
        .map(|&g| human(g))
        .collect();
    Err(p.error(
        key,
        format!("{} is not one of the {what}", human(value)),
        Some(format!("the nearest: {}", near.join(", "))),
    ))
}

#[cfg(test)]
mod tests;
