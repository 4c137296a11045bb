//! Running a campaign's points, or one shard of them, into a part.
//!
//! Points run in parallel in chunks; each finished chunk is appended, in
//! point order, to the part's journal (`part-I-of-N.jsonl`, one JSON line
//! per point, flushed), so that a killed run loses at most one chunk and
//! the same command resumes after the last whole line. When every point
//! of the shard is in the journal, the part's table is written
//! (`part-I-of-N.parquet`) with its record (`part-I-of-N.json`), and the
//! journal is removed. A point's row depends only on the campaign and its
//! index, never on the thread, chunk or shard that ran it.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::resolve::Campaign;
use super::table::{PartRecord, part_table};
use crate::output::{self, OutputError};

/// One N-th of a campaign's points: shard `index` (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1 to `count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// The whole campaign as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// The points of this shard among `runs`: consecutive indices, the
    /// shards' sizes differing by at most one.
    pub fn range(&self, runs: u64) -> Range<u64> {
        let at = |k: u64| ((runs as u128 * k as u128) / self.count as u128) as u64;
        at(self.index - 1)..at(self.index)
    }

    /// `part-I-of-N` with a file extension.
    pub fn file(&self, extension: &str) -> String {
        format!("part-{}-of-{}.{extension}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N`, 1 ≤ I ≤ N.
    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = text.split_once('/').and_then(|(i, n)| {
            Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "`{text}` is not a shard I/N with 1 ≤ I ≤ N (e.g. 3/16)"
            )),
        }
    }
}

/// What one point recorded: its observables, or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Index of the point.
    pub point: u64,
    /// One value per observable (`null` in JSON for NaN).
    pub observed: Vec<Option<f64>>,
    /// The study or run error of a failed point.
    pub error: Option<String>,
}

/// Runs the point at `index` and evaluates every observable.
pub fn run_point(campaign: &Campaign, index: u64) -> Outcome {
    let point = campaign.point(index);
    let result = campaign
        .study(&point)
        .map_err(|e| e.to_string())
        .and_then(|study| crate::run::run(&study, |_| {}).map_err(|e| e.to_string()));
    match result {
        Ok(result) => Outcome {
            point: index,
            observed: campaign
                .observables
                .iter()
                .map(|o| Some(o.evaluate(&result)).filter(|x| !x.is_nan()))
                .collect(),
            error: None,
        },
        Err(error) => Outcome {
            point: index,
            observed: vec![None; campaign.observables.len()],
            error: Some(error),
        },
    }
}

/// The first line of a journal: which campaign and shard it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct JournalHead {
    fingerprint: String,
    shard: u64,
    shards: u64,
}

/// Runs `shard` of `campaign` into `dir`, resuming its journal there;
/// `progress` receives (points done, points of the shard). Returns the
/// part's record. Points run `chunk` at a time across the thread pool.
pub fn run_shard(
    campaign: &Campaign,
    shard: Shard,
    dir: &Path,
    progress: impl Fn(u64, u64),
) -> Result<PartRecord, OutputError> {
    let range = shard.range(campaign.len());
    let journal_path = dir.join(shard.file("jsonl"));
    let head = JournalHead {
        fingerprint: campaign.fingerprint.clone(),
        shard: shard.index,
        shards: shard.count,
    };
    let mut outcomes = read_journal(&journal_path, &head, &range)?;
    let mut journal = open_journal(&journal_path, &head, outcomes.len())?;
    let total = range.end - range.start;
    let chunk = (rayon::current_num_threads() as u64 * 4).max(8);
    let mut next = range.start + outcomes.len() as u64;
    progress(next - range.start, total);
    while next < range.end {
        let end = (next + chunk).min(range.end);
        let done: Vec<Outcome> = (next..end)
            .into_par_iter()
            .map(|i| run_point(campaign, i))
            .collect();
        append(&mut journal, &journal_path, &done)?;
        outcomes.extend(done);
        next = end;
        progress(next - range.start, total);
    }
    drop(journal);
    let record = PartRecord::new(campaign, shard, &outcomes);
    let table = part_table(campaign, range, &outcomes);
    output::write_parquet(&dir.join(shard.file("parquet")), &table)?;
    output::write_json(&dir.join(shard.file("json")), &record)?;
    fs::remove_file(&journal_path).map_err(|e| io_error(&journal_path, e))?;
    Ok(record)
}

fn io_error(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The outcomes a journal already holds: its whole lines, in order, from
/// the shard's first point. A journal of another campaign or shard is an
/// error; a last line cut by a kill is dropped (and later overwritten).
fn read_journal(
    path: &Path,
    head: &JournalHead,
    range: &Range<u64>,
) -> Result<Vec<Outcome>, OutputError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path, e)),
    };
    let mut lines = BufReader::new(file).lines();
    let first: Option<JournalHead> = lines
        .next()
        .and_then(Result::ok)
        .and_then(|l| serde_json::from_str(&l).ok());
    if first.as_ref() != Some(head) {
        return Err(OutputError::Mismatch {
            path: path.to_path_buf(),
            message: "this journal belongs to another campaign or shard; \
                      remove it or choose another output directory"
                .into(),
        });
    }
    let mut outcomes = Vec::new();
    for line in lines {
        let Ok(line) = line else { break };
        let Ok(o) = serde_json::from_str::<Outcome>(&line) else {
            break;
        };
        if o.point != range.start + outcomes.len() as u64 || o.point >= range.end {
            break;
        }
        outcomes.push(o);
    }
    Ok(outcomes)
}

/// The journal, rewritten to its head and `keep` whole lines (dropping a
/// line cut by a kill), open for appending.
fn open_journal(path: &Path, head: &JournalHead, keep: usize) -> Result<File, OutputError> {
    let mut kept = serde_json::to_string(head).expect("a journal head serialises");
    kept.push('\n');
    if keep > 0 {
        let text = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        for line in text.lines().skip(1).take(keep) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    output::write_atomic(path, |w| w.write_all(kept.as_bytes()))?;
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, e))
}

/// Appends whole lines and flushes them to disk.
fn append(journal: &mut File, path: &Path, outcomes: &[Outcome]) -> Result<(), OutputError> {
    let mut text = String::new();
    for o in outcomes {
        text.push_str(&serde_json::to_string(o).expect("an outcome serialises"));
        text.push('\n');
    }
    journal
        .write_all(text.as_bytes())
        .and_then(|()| journal.sync_data())
        .map_err(|e| io_error(path, e))
}
