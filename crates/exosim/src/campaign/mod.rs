//! Campaigns: many runs of one study, its parameters set by a design.
//!
//! A campaign file names a study ([`spec`]); [`resolve`] checks it and
//! turns it into points, each a design row and a replicate whose values
//! and seed come from the campaign and the point's index alone. The
//! designs and laws are in [`design`] and [`distribution`]; what each run
//! records, in [`observable`]. [`runner`] runs a shard of the points into a
//! part (resumable), [`merge`] joins parts into the whole table and its
//! analysis ([`sensitivity`], or the simulated trials of a virtual
//! population: [`trial`]). A campaign run without shards is one shard
//! merged, so both give the same files.

pub mod abc;
pub mod calibration;
pub mod design;
pub mod distribution;
pub mod dose_response;
pub mod merge;
pub mod observable;
pub mod resolve;
pub mod runner;
pub mod sensitivity;
pub mod shard;
pub mod spec;
pub mod table;
pub mod trial;

use std::path::Path;

pub use resolve::Campaign;
pub use shard::Shard;

use crate::output::OutputError;

/// Runs every point of `campaign` into `dir` and merges them there: the
/// same files as running each shard and merging. The part's own files are
/// removed once merged; a killed run resumes from its journal.
pub fn run_whole(
    campaign: &Campaign,
    dir: &Path,
    progress: impl Fn(u64, u64),
) -> Result<merge::Summary, OutputError> {
    runner::run_shard(campaign, Shard::WHOLE, dir, progress)?;
    let summary = merge::merge(&[dir.to_path_buf()], dir)?;
    for ext in ["parquet", "json"] {
        let path = dir.join(Shard::WHOLE.file(ext));
        std::fs::remove_file(&path).map_err(|source| OutputError::Io { path, source })?;
    }
    Ok(summary)
}
