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
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::resolve::Campaign;
use super::shard::Shard;
use super::table::{Failure, MAX_LISTED_FAILURES, Outcome, PartRecord, part_table};
use crate::output::{self, OutputError};

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

/// Longest time between two syncs of the journal to disk.
const SYNC_EVERY: Duration = Duration::from_secs(2);

/// Rows of a part written to Parquet at a time: the journal is streamed
/// into the part, so memory does not grow with the number of points.
const PART_CHUNK: usize = 4096;

/// Runs `shard` of `campaign` into `dir`, resuming its journal there;
/// `progress` receives (points done, points of the shard). Returns the
/// part's record. Points run a chunk at a time across the thread pool;
/// only the chunk running is held in memory.
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
    let mut tally = Tally::default();
    let mut journal = open_journal(&journal_path, &head, &range, &mut tally)?;
    let total = range.end - range.start;
    let chunk = (rayon::current_num_threads() as u64 * 4).max(8);
    let mut next = range.start + tally.done;
    let mut synced = Instant::now();
    progress(next - range.start, total);
    while next < range.end {
        let end = (next + chunk).min(range.end);
        let done: Vec<Outcome> = (next..end)
            .into_par_iter()
            .map(|i| run_point(campaign, i))
            .collect();
        append(&mut journal, &journal_path, &done, &mut synced)?;
        done.iter().for_each(|o| tally.count(o));
        next = end;
        progress(next - range.start, total);
    }
    journal
        .sync_data()
        .map_err(|e| io_error(&journal_path, e))?;
    drop(journal);
    let record = PartRecord::new(campaign, shard, tally.failed, tally.failures);
    write_part(
        campaign,
        &range,
        &journal_path,
        &dir.join(shard.file("parquet")),
    )?;
    output::write_json(&dir.join(shard.file("json")), &record)?;
    fs::remove_file(&journal_path).map_err(|e| io_error(&journal_path, e))?;
    Ok(record)
}

/// What the journal holds so far: points done, and the failures.
#[derive(Debug, Default)]
struct Tally {
    done: u64,
    failed: u64,
    failures: Vec<Failure>,
}

impl Tally {
    fn count(&mut self, o: &Outcome) {
        self.done += 1;
        if let Some(message) = &o.error {
            self.failed += 1;
            if self.failures.len() < MAX_LISTED_FAILURES {
                self.failures.push(Failure {
                    point: o.point,
                    message: message.clone(),
                });
            }
        }
    }
}

fn io_error(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The journal's whole lines, in order from the shard's first point, one
/// at a time: the line and its byte offset just past it.
fn journal_lines(path: &Path) -> Result<impl Iterator<Item = (String, u64)>, OutputError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = BufReader::new(file);
    let mut offset = 0u64;
    Ok(std::iter::from_fn(move || {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(n) if n > 0 && line.ends_with('\n') => {
                offset += n as u64;
                line.pop();
                Some((line, offset))
            }
            _ => None,
        }
    }))
}

/// The journal open for appending after its last whole line of this
/// shard, counted into `tally`; created with its head when missing. A
/// journal of another campaign or shard is an error; a line cut by a kill
/// is cut off.
fn open_journal(
    path: &Path,
    head: &JournalHead,
    range: &Range<u64>,
    tally: &mut Tally,
) -> Result<File, OutputError> {
    if !path.exists() {
        let mut text = serde_json::to_string(head).expect("a journal head serialises");
        text.push('\n');
        output::write_atomic(path, |w| w.write_all(text.as_bytes()))?;
    }
    let mut lines = journal_lines(path)?;
    let first = lines.next();
    let Some(mut keep) = first
        .as_ref()
        .filter(|(l, _)| serde_json::from_str::<JournalHead>(l).ok().as_ref() == Some(head))
        .map(|(_, end)| *end)
    else {
        return Err(OutputError::Mismatch {
            path: path.to_path_buf(),
            message: "this journal belongs to another campaign or shard; \
                      remove it or choose another output directory"
                .into(),
        });
    };
    for (line, end) in lines {
        match serde_json::from_str::<Outcome>(&line) {
            Ok(o) if o.point == range.start + tally.done && o.point < range.end => {
                tally.count(&o);
                keep = end;
            }
            _ => break,
        }
    }
    let file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.set_len(keep).map_err(|e| io_error(path, e))?;
    Ok(file)
}

/// Appends whole lines. They reach the operating system at once, so a
/// killed process loses nothing written; they are forced to the disk (which
/// a power cut needs) at most every [`SYNC_EVERY`], since a sync per chunk
/// of short runs cost more than the runs.
fn append(
    journal: &mut File,
    path: &Path,
    outcomes: &[Outcome],
    synced: &mut Instant,
) -> Result<(), OutputError> {
    let mut text = String::new();
    for o in outcomes {
        text.push_str(&serde_json::to_string(o).expect("an outcome serialises"));
        text.push('\n');
    }
    journal
        .write_all(text.as_bytes())
        .map_err(|e| io_error(path, e))?;
    if synced.elapsed() >= SYNC_EVERY {
        journal.sync_data().map_err(|e| io_error(path, e))?;
        *synced = Instant::now();
    }
    Ok(())
}

/// The part's table, streamed from the complete journal [`PART_CHUNK`]
/// rows at a time.
fn write_part(
    campaign: &Campaign,
    range: &Range<u64>,
    journal: &Path,
    part: &Path,
) -> Result<(), OutputError> {
    let mut outcomes = journal_lines(journal)?.skip(1).map(|(line, _)| {
        serde_json::from_str::<Outcome>(&line).map_err(|e| OutputError::Mismatch {
            path: journal.to_path_buf(),
            message: format!("a line changed while the part was written: {e}"),
        })
    });
    let mut next = range.start;
    let chunks = std::iter::from_fn(|| {
        if next >= range.end && next > range.start {
            return None;
        }
        let end = (next + PART_CHUNK as u64).min(range.end);
        let chunk: Result<Vec<Outcome>, OutputError> = (next..end)
            .map(|_| outcomes.next().unwrap_or_else(|| Err(short(journal))))
            .collect();
        let start = next;
        next = end.max(next + 1);
        Some(chunk.map(|c| part_table(campaign, start..end, &c)))
    });
    output::write_parquet_chunks(part, chunks)
}

fn short(journal: &Path) -> OutputError {
    OutputError::Mismatch {
        path: journal.to_path_buf(),
        message: "the journal ends before the shard's last point".into(),
    }
}
