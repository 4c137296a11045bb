//! Writers for run outputs.
//!
//! A run's results are only useful if they can be trusted: a file that exists
//! is complete, and a previous run's results are never clobbered by accident.
//! Hence every writer here goes through [`write_atomic`] (temporary file in the
//! same directory, flush, fsync, rename), [`prepare_output`] refuses to reuse a
//! non-empty directory unless forced (and then removes exactly what the
//! previous run's [`Manifest`] lists), and every [`OutputError`] names the path
//! concerned so that the user knows which file to look at.

mod atomic;
mod checkpoint;
pub mod columns;
mod error;
mod manifest;
mod table;

pub use atomic::{write_atomic, write_json};
pub use checkpoint::{CheckpointError, Checkpoints, RESUME_DIR};
pub use error::OutputError;
pub use manifest::{
    MANIFEST, Manifest, Reuse, Writer, is_temporary, prepare_dir, prepare_output, remove_report,
};
pub use table::{
    Column, Table, read_csv, read_parquet, write_csv, write_parquet, write_parquet_chunks,
};
