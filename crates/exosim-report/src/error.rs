//! Why a report could not be made.
//!
//! Every variant names the file concerned: a report is usually made from a
//! directory someone else produced, and "invalid number" is useless without
//! knowing where.

use std::path::PathBuf;

use exosim::output::OutputError;

/// A report could not be made; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The directory does not exist or is not a directory.
    #[error("`{}` is not a directory", .dir.display())]
    NotADirectory {
        /// The path given.
        dir: PathBuf,
    },
    /// `summary.json` is missing. A run writes it last, so its absence means
    /// the run did not finish or this is not a run directory.
    #[error(
        "`{}` is missing: `{}` is not a finished exosim run (a run writes its summary last)",
        .path.display(),
        .path.parent().map(|p| p.display().to_string()).unwrap_or_default()
    )]
    NoSummary {
        /// Where the summary was looked for.
        path: PathBuf,
    },
    /// A file that the summary announces is missing.
    #[error("`{}` is missing: {why}", .path.display())]
    MissingFile {
        /// The missing file.
        path: PathBuf,
        /// Which part of the run needs it.
        why: String,
    },
    /// `summary.json` (or another JSON file) is not valid JSON.
    #[error("`{}` is not valid JSON (truncated?): {source}", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// Parser error, with line and column.
        source: serde_json::Error,
    },
    /// A file parses but does not hold what an exosim run writes there.
    #[error("`{}`{}: {message}", .path.display(), location(*.row, .column.as_deref()))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (header = 1), when known.
        row: Option<usize>,
        /// Column or JSON key concerned, when known.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A table could not be read, or the report could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A static figure could not be drawn.
    #[error("figure `{}`: {message}", .path.display())]
    Figure {
        /// The figure file.
        path: PathBuf,
        /// Drawing or encoding error.
        message: String,
    },
}

fn location(row: Option<usize>, column: Option<&str>) -> String {
    match (row, column) {
        (Some(r), Some(c)) => format!(", row {r}, column `{c}`"),
        (Some(r), None) => format!(", row {r}"),
        (None, Some(c)) => format!(", `{c}`"),
        (None, None) => String::new(),
    }
}

impl ReportError {
    /// A file-level complaint without row or column.
    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ReportError::Invalid {
            path: path.into(),
            row: None,
            column: None,
            message: message.into(),
        }
    }
}
