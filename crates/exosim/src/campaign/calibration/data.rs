//! The data file of a calibration: one measurement a row, what was
//! measured in the columns of an observable (docs/observables.md), then
//! `value` and optionally `sd`.
//!
//! Each row becomes an observable resolved against the study, so a row
//! that names an arm, place, time or test the study does not have is
//! refused before any run, as an `[[observables]]` table would be. Every
//! error names the file, the row's line, the column and a hint; nothing in
//! a data file can make exosim panic.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::super::observable::{self, Observable, ObservableSpec};
use crate::scenario::error::{KeyPath, Locator, StudyError, did_you_mean};
use crate::scenario::{Study, check::MAX_FILE_BYTES};

/// The columns that say what was measured, as in `[[observables]]`.
pub const KEY_COLUMNS: [&str; 15] = [
    "kind",
    "arm",
    "vesicles",
    "place",
    "time",
    "diameter",
    "probability",
    "test",
    "condition",
    "variant",
    "cell_type",
    "state",
    "molecule",
    "statistic",
    "effect",
];

/// One measurement.
#[derive(Debug, Clone)]
pub struct Datum {
    /// Line of the row in the file, from 1.
    pub line: usize,
    /// What was measured, as written.
    pub spec: ObservableSpec,
    /// What was measured, resolved against the study.
    pub observable: Observable,
    /// The measured value, in the observable's SI unit.
    pub value: f64,
    /// Its standard deviation, when the file has an `sd` column.
    pub sd: Option<f64>,
    /// The row's cells as written, in the header's order (what a σ per
    /// group is grouped by).
    pub cells: Vec<String>,
}

/// A data file read and checked.
#[derive(Debug, Clone)]
pub struct Data {
    /// The file as named in messages.
    pub file: String,
    /// The rows, in file order.
    pub rows: Vec<Datum>,
    /// Whether the file has an `sd` column.
    pub has_sd: bool,
    /// The file's text, for the campaign's fingerprint.
    pub text: String,
    /// The header's columns, in order.
    pub columns: Vec<String>,
}

impl Data {
    /// Each row's group by the values of `column` (first seen, first
    /// numbered) and the groups' values; None when the file has no such
    /// column.
    pub fn groups_by(&self, column: &str) -> Option<(Vec<usize>, Vec<String>)> {
        let c = self.columns.iter().position(|h| h == column)?;
        let mut names: Vec<String> = Vec::new();
        let groups = self
            .rows
            .iter()
            .map(|r| {
                let cell = &r.cells[c];
                names.iter().position(|n| n == cell).unwrap_or_else(|| {
                    names.push(cell.clone());
                    names.len() - 1
                })
            })
            .collect();
        Some((groups, names))
    }

    /// Refuses a value at or below 0 (or NaN), located at its row's
    /// `value` cell, with `hint`.
    pub fn check_positive(&self, hint: &str) -> Result<(), StudyError> {
        let Some(row) = self
            .rows
            .iter()
            .find(|r| r.value <= 0.0 || r.value.is_nan())
        else {
            return Ok(());
        };
        let at = Row {
            file: &self.file,
            line: row.line,
            header: &self.columns,
        };
        Err(at.error(
            "value",
            format!("{} is not positive", row.value),
            Some(hint.into()),
        ))
    }
}

/// Where a row's cells are: its line and the header.
struct Row<'h> {
    file: &'h str,
    line: usize,
    header: &'h [String],
}

impl Row<'_> {
    /// An error at `column` (by name) of this row.
    fn error(&self, column: &str, message: impl Into<String>, hint: Option<String>) -> StudyError {
        let index = self.header.iter().position(|h| h == column);
        StudyError {
            file: self.file.to_string(),
            line: self.line,
            column: index.map_or(1, |i| i + 1),
            key: column.to_string(),
            message: format!("row {}, column `{column}`: {}", self.line, message.into()),
            hint,
            span: None,
        }
    }
}

/// An error of the whole file (no row).
fn file_error(file: &str, line: usize, message: String, hint: Option<String>) -> StudyError {
    StudyError {
        file: file.to_string(),
        line,
        column: 1,
        key: "data".into(),
        message,
        hint,
        span: None,
    }
}

/// Reads `path` (shown as `file`) and checks each row against `study`.
pub fn read(path: &Path, file: &str, study: &Study) -> Result<Data, StudyError> {
    let too_big = std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE_BYTES * 16);
    if too_big {
        return Err(file_error(
            file,
            0,
            "the data file is too large".into(),
            None,
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        file_error(
            file,
            0,
            format!("cannot read the data file: {e}"),
            Some("`data` is relative to the campaign file".into()),
        )
    })?;
    let (columns, rows) = parse(&text, file, study)?;
    let has_sd = columns.iter().any(|c| c == "sd");
    Ok(Data {
        file: file.to_string(),
        rows,
        has_sd,
        text,
        columns,
    })
}

/// The header and the rows of a data file's text.
pub fn parse(
    text: &str,
    file: &str,
    study: &Study,
) -> Result<(Vec<String>, Vec<Datum>), StudyError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line() as usize);
        file_error(file, line, format!("not a CSV table: {e}"), None)
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_string)
        .collect();
    check_header(file, &header)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let at = Row {
            file,
            line,
            header: &header,
        };
        rows.push(datum(&at, &record, study)?);
    }
    if rows.is_empty() {
        return Err(file_error(
            file,
            1,
            "the data file has no row".into(),
            Some("one measurement a row under the header".into()),
        ));
    }
    Ok((header, rows))
}

/// The header: known columns, each once, with `kind` and `value`.
fn check_header(file: &str, header: &[String]) -> Result<(), StudyError> {
    let known = |h: &str| {
        KEY_COLUMNS.contains(&h)
            || matches!(h, "value" | "sd" | "name" | "group")
            || unit_column(h).is_some()
    };
    let all = || {
        let mut names: Vec<&str> = KEY_COLUMNS.to_vec();
        names.extend([
            "value",
            "sd",
            "name",
            "group",
            "time_<unit>",
            "diameter_<unit>",
        ]);
        names.join(", ")
    };
    for (i, h) in header.iter().enumerate() {
        if !known(h) {
            let hint = match did_you_mean(h, KEY_COLUMNS.iter().copied().chain(["value", "sd"])) {
                Some(best) => format!("did you mean `{best}`? columns: {}", all()),
                None => format!("columns: {}", all()),
            };
            return Err(StudyError {
                column: i + 1,
                ..file_error(file, 1, format!("unknown column `{h}`"), Some(hint))
            });
        }
        if header[..i].contains(h) {
            let message = format!("column `{h}` appears twice");
            return Err(StudyError {
                column: i + 1,
                ..file_error(file, 1, message, None)
            });
        }
    }
    for needed in ["kind", "value"] {
        if !header.iter().any(|h| h == needed) {
            return Err(file_error(
                file,
                1,
                format!("the header has no `{needed}` column"),
                Some("e.g. kind,place,time,value,sd (docs/calibration.md)".into()),
            ));
        }
    }
    Ok(())
}

/// `time_min` → (`time`, `min`): a column whose cells are numbers in the
/// unit of its name.
fn unit_column(h: &str) -> Option<(&'static str, &str)> {
    ["time", "diameter"].into_iter().find_map(|key| {
        h.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('_'))
            .filter(|u| !u.is_empty())
            .map(|u| (key, u))
    })
}

/// A row's number in `column`: finite.
fn number(at: &Row, column: &str, cell: &str) -> Result<f64, StudyError> {
    match cell.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ if cell.is_empty() => Err(at.error(column, "empty cell", Some("write a number".into()))),
        _ => Err(at.error(
            column,
            format!("`{cell}` is not a number"),
            Some("write a plain number such as 0.28 or 1.5e9 (SI units)".into()),
        )),
    }
}

/// A cell read as a value of the observable's spec (a kind, a time with
/// its unit, …).
fn typed<T: DeserializeOwned>(at: &Row, column: &str, text: String) -> Result<T, StudyError> {
    toml::Value::String(text.clone())
        .try_into::<T>()
        .map_err(|e| at.error(column, format!("`{text}`: {}", e.message()), None))
}

/// One row: its observable (resolved) and its value and sd.
fn datum(at: &Row, record: &csv::StringRecord, study: &Study) -> Result<Datum, StudyError> {
    let mut spec = ObservableSpec {
        name: format!("row_{}", at.line),
        ..ObservableSpec::new(String::new(), observable::Kind::Count)
    };
    let (mut value, mut sd) = (None, None);
    for (column, cell) in at.header.iter().zip(record.iter()) {
        match column.as_str() {
            "value" => value = Some(number(at, column, cell)?),
            "sd" => sd = Some(number(at, column, cell)?),
            _ if cell.is_empty() => {}
            "name" => spec.name = cell.to_string(),
            "group" => {}
            _ => set_key(at, &mut spec, column, cell)?,
        }
    }
    let value = value.expect("the header has a value column");
    if let Some(s) = sd
        && (s <= 0.0 || s.is_nan())
    {
        return Err(at.error(
            "sd",
            format!("the standard deviation {s} is not positive"),
            Some("an sd is above 0; drop the column to estimate σ with `error_model`".into()),
        ));
    }
    if record.get(at.header.iter().position(|h| h == "kind").unwrap_or(0)) == Some("") {
        return Err(at.error(
            "kind",
            "empty cell",
            Some("what was measured, e.g. fraction_of_dose".into()),
        ));
    }
    let observable = resolve(at, &spec, study)?;
    Ok(Datum {
        line: at.line,
        spec,
        observable,
        value,
        sd,
        cells: record.iter().map(str::to_string).collect(),
    })
}

/// Puts one cell into the spec.
fn set_key(
    at: &Row,
    spec: &mut ObservableSpec,
    column: &str,
    cell: &str,
) -> Result<(), StudyError> {
    let text = || Some(cell.to_string());
    match column {
        "kind" => spec.kind = typed(at, column, cell.to_string())?,
        "arm" => spec.arm = text(),
        "vesicles" => spec.vesicles = text(),
        "place" => spec.place = text(),
        "test" => spec.test = text(),
        "condition" => spec.condition = text(),
        "variant" => spec.variant = text(),
        "cell_type" => spec.cell_type = text(),
        "state" => spec.state = text(),
        "molecule" => spec.molecule = text(),
        "effect" => spec.effect = text(),
        "statistic" => spec.statistic = Some(typed(at, column, cell.to_string())?),
        "probability" => spec.probability = Some(number(at, column, cell)?),
        "time" => spec.time = Some(typed(at, column, cell.to_string())?),
        "diameter" => spec.diameter = Some(typed(at, column, cell.to_string())?),
        _ => {
            let (key, unit) = unit_column(column).expect("the header was checked");
            let x = number(at, column, cell)?;
            let written = format!("{x} {unit}");
            if key == "time" {
                spec.time = Some(typed(at, column, written)?);
            } else {
                spec.diameter = Some(typed(at, column, written)?);
            }
        }
    }
    Ok(())
}

/// The row's observable checked against the study; an error is moved to
/// the row and the column of the key at fault.
fn resolve(at: &Row, spec: &ObservableSpec, study: &Study) -> Result<Observable, StudyError> {
    let loc = Locator::new(at.file, "");
    let table = KeyPath::root().key("data").index(0);
    observable::resolve(spec, study, &loc, &table).map_err(|e| {
        let key = e.key.rsplit('.').next().unwrap_or("");
        let column = at
            .header
            .iter()
            .find(|h| h.as_str() == key || unit_column(h).is_some_and(|(k, _)| k == key))
            .map_or("kind", String::as_str);
        at.error(column, e.message, e.hint)
    })
}

#[cfg(test)]
mod tests;
