//! What can go wrong writing or reading a run's files, always with the path.

use std::path::PathBuf;

/// Why an output could not be written or read back.
///
/// Every variant carries the path concerned, because "permission denied" is
/// useless without knowing where.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The operating system refused a read, write, rename or directory operation.
    #[error("I/O error on `{}`: {source}", .path.display())]
    Io {
        /// File or directory concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The output directory already holds files; overwriting them must be asked for.
    #[error(
        "output directory `{}` is not empty (use --force to overwrite)",
        .dir.display()
    )]
    NotEmpty {
        /// The non-empty directory.
        dir: PathBuf,
    },
    /// The output directory holds nothing but the temporary files of a
    /// write that was killed.
    #[error(
        "output directory `{}` holds only temporary files of a write that was killed ({}); \
         run again with --force to remove them (or --resume to continue an interrupted run)",
        .dir.display(),
        .names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    )]
    Leftovers {
        /// The directory.
        dir: PathBuf,
        /// The temporary files, sorted.
        names: Vec<String>,
    },
    /// The output location exists but is not a directory.
    #[error("`{}` exists and is not a directory", .path.display())]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },
    /// A CSV table could not be written or parsed.
    ///
    /// `row` is the 1-based line in the file (the header is line 1), so that
    /// it matches what an editor shows.
    #[error(
        "CSV error in `{}`{}: {message}",
        .path.display(),
        csv_location(*.row, .column.as_deref())
    )]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line in the file, when known.
        row: Option<usize>,
        /// Name of the column concerned, when known.
        column: Option<String>,
        /// What went wrong.
        message: String,
    },
    /// A file exosim reads back (a journal, a part of a campaign) does not
    /// belong with the others: another campaign, a missing or repeated part.
    #[error("`{}`: {message}", .path.display())]
    Mismatch {
        /// The file or directory concerned.
        path: PathBuf,
        /// What does not match, and what to do.
        message: String,
    },
    /// A Parquet table could not be written or read back.
    #[error("Parquet error in `{}`: {message}", .path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A value could not be serialized to JSON.
    #[error("JSON error for `{}`: {source}", .path.display())]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// Underlying error.
        source: serde_json::Error,
    },
}

/// Formats the optional row/column part of a CSV error message.
fn csv_location(row: Option<usize>, column: Option<&str>) -> String {
    match (row, column) {
        (Some(r), Some(c)) => format!(", row {r}, column `{c}`"),
        (Some(r), None) => format!(", row {r}"),
        (None, Some(c)) => format!(", column `{c}`"),
        (None, None) => String::new(),
    }
}
