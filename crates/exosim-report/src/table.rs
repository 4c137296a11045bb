//! Reading the run's CSV files with errors that name file, line and column.
//!
//! Numeric wide tables go through [`exosim::output::read_csv`], the reader
//! that matches the library's writer; long tables with text columns
//! (`signature.csv`, `tissue_timeseries.csv`, ...) through [`LongTable`].

use std::path::{Path, PathBuf};

use exosim::output::{self, Table};

use crate::error::ReportError;

/// Reads a numeric table written by the library and refuses one without rows
/// (a file cut after its header is as broken as a missing one).
pub fn read_numeric(path: &Path) -> Result<Table, ReportError> {
    let table = output::read_csv(path)?;
    if table.columns.is_empty() || table.n_rows() == 0 {
        return Err(ReportError::invalid(
            path,
            "no data rows (file truncated after its header?)",
        ));
    }
    Ok(table)
}

/// A CSV table with text and numeric columns, kept as text until asked.
#[derive(Debug, Clone)]
pub struct LongTable {
    /// The file, for error messages.
    pub path: PathBuf,
    /// Column names in file order.
    pub headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl LongTable {
    /// Reads `path`; every row must have as many fields as the header, and
    /// there must be at least one row.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        Self::read_inner(path, false)
    }

    /// Like [`LongTable::read`], for tables that may rightly hold no rows: a
    /// tissue snapshot before any vesicle is released, or after every cell
    /// of a type died. The header must still be there and complete.
    pub fn read_maybe_empty(path: &Path) -> Result<Self, ReportError> {
        Self::read_inner(path, true)
    }

    fn read_inner(path: &Path, allow_empty: bool) -> Result<Self, ReportError> {
        let file = std::fs::File::open(path).map_err(|source| {
            ReportError::Output(output::OutputError::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        let csv_err = |e: csv::Error| ReportError::Invalid {
            path: path.to_path_buf(),
            row: e.position().map(|p| p.line() as usize),
            column: None,
            message: e.to_string(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.len() != headers.len() {
                return Err(ReportError::Invalid {
                    path: path.to_path_buf(),
                    row: Some(line),
                    column: headers.get(record.len()).cloned(),
                    message: format!(
                        "expected {} fields, found {} (file truncated?)",
                        headers.len(),
                        record.len()
                    ),
                });
            }
            rows.push((line, record.iter().map(str::to_string).collect()));
        }
        if rows.is_empty() && !allow_empty {
            return Err(ReportError::invalid(
                path,
                "no data rows (file truncated after its header?)",
            ));
        }
        Ok(LongTable {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows (never from [`LongTable::read`]).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Index of a column that must be there.
    pub fn require(&self, name: &str) -> Result<usize, ReportError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ReportError::Invalid {
                path: self.path.clone(),
                row: Some(1),
                column: Some(name.to_string()),
                message: format!(
                    "required column missing (header has: {})",
                    self.headers.join(", ")
                ),
            })
    }

    /// The line of data row `row` in the file (the header is line 1).
    pub fn line(&self, row: usize) -> usize {
        self.rows[row].0
    }

    /// The text of row `row`, column `col`.
    pub fn text(&self, row: usize, col: usize) -> &str {
        &self.rows[row].1[col]
    }

    /// The number in row `row`, column `col` (`inf`, `NaN` accepted, as the
    /// library writes them).
    pub fn number(&self, row: usize, col: usize) -> Result<f64, ReportError> {
        let field = self.text(row, col);
        field.parse().map_err(|_| ReportError::Invalid {
            path: self.path.clone(),
            row: Some(self.rows[row].0),
            column: Some(self.headers[col].clone()),
            message: format!("cannot parse {field:?} as a number"),
        })
    }
}
