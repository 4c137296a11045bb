//! Merging the parts of a campaign into its result: the whole table
//! (`campaign.parquet`, and `campaign.csv` while small), the spread of each
//! observable, the sensitivity indices when the design was made for them
//! (`sensitivity.csv`), and `summary.json`. The result depends only on the
//! rows, so any split into shards gives the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::design;
use super::dose_response;
use super::sensitivity;
use super::spec::Method;
use super::table::{ColumnInfo, DesignRecord, Failure, MAX_LISTED_FAILURES, PartRecord};
use super::trial;
use crate::output::{self, OutputError, Table};

/// The whole table is also written as CSV up to this many rows.
pub const MAX_CSV_ROWS: usize = 100_000;

/// The files a merge writes, relative to its directory.
pub const MERGED_FILES: [&str; 8] = [
    "campaign.parquet",
    "campaign.csv",
    "sensitivity.csv",
    "summary.json",
    "trials.csv",
    "power.csv",
    "kaplan_meier.csv",
    "trajectories.parquet",
];

/// The parts found in `dirs`, checked to be every part of one campaign,
/// once, in shard order.
pub fn find_parts(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, PartRecord)>, OutputError> {
    let mut parts = Vec::new();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| OutputError::Io {
            path: dir.clone(),
            source: e,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("part-") && n.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let text = std::fs::read_to_string(&path).map_err(|e| OutputError::Io {
                path: path.clone(),
                source: e,
            })?;
            let record: PartRecord = serde_json::from_str(&text)
                .map_err(|e| mismatch(&path, format!("not a part record: {e}")))?;
            parts.push((path.with_extension("parquet"), record));
        }
    }
    check_parts(dirs, &mut parts)?;
    Ok(parts)
}

fn mismatch(path: &Path, message: String) -> OutputError {
    OutputError::Mismatch {
        path: path.to_path_buf(),
        message,
    }
}

/// Refuses parts of different campaigns, repeated parts and missing ones,
/// saying which.
fn check_parts(dirs: &[PathBuf], parts: &mut [(PathBuf, PartRecord)]) -> Result<(), OutputError> {
    let where_ = dirs.first().cloned().unwrap_or_default();
    let Some((first_path, first)) = parts.first().cloned() else {
        return Err(mismatch(&where_, "no part (part-I-of-N.json) found".into()));
    };
    for (path, p) in parts.iter() {
        if p.fingerprint != first.fingerprint || p.shards != first.shards {
            return Err(mismatch(
                path,
                format!(
                    "part {}/{} of campaign `{}` (fingerprint {}) does not belong with {} \
                     (part {}/{} of `{}`, fingerprint {})",
                    p.shard,
                    p.shards,
                    p.campaign,
                    p.fingerprint,
                    first_path.display(),
                    first.shard,
                    first.shards,
                    first.campaign,
                    first.fingerprint
                ),
            ));
        }
    }
    parts.sort_by_key(|(_, p)| p.shard);
    let mut missing = Vec::new();
    let mut repeated = Vec::new();
    for shard in 1..=first.shards {
        match parts.iter().filter(|(_, p)| p.shard == shard).count() {
            0 => missing.push(shard.to_string()),
            1 => {}
            _ => repeated.push(shard.to_string()),
        }
    }
    if !missing.is_empty() || !repeated.is_empty() {
        let mut what = Vec::new();
        if !missing.is_empty() {
            what.push(format!(
                "missing parts: {} of {}",
                missing.join(", "),
                first.shards
            ));
        }
        if !repeated.is_empty() {
            what.push(format!(
                "parts given more than once: {}",
                repeated.join(", ")
            ));
        }
        return Err(mismatch(&where_, what.join("; ")));
    }
    Ok(())
}

/// The whole table of the checked `parts`, in point order.
pub fn read_rows(parts: &[(PathBuf, PartRecord)]) -> Result<Table, OutputError> {
    let mut whole: Option<Table> = None;
    for (path, record) in parts {
        let part = output::read_parquet(path)?;
        if part.n_rows() as u64 != record.end - record.first {
            return Err(mismatch(
                path,
                format!(
                    "{} rows, the record says {}",
                    part.n_rows(),
                    record.end - record.first
                ),
            ));
        }
        match whole.as_mut() {
            None => whole = Some(part),
            Some(t) => {
                for (c, p) in t.columns.iter_mut().zip(part.columns) {
                    c.values.extend(p.values);
                }
            }
        }
    }
    Ok(whole.unwrap_or_default())
}

/// The spread of one observable over the points where it is defined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// Observable.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// What it is.
    pub description: String,
    /// Points where it is defined.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (n − 1).
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// 5th, 50th and 95th percentiles (linear interpolation).
    pub p5: f64,
    /// Median.
    pub median: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest value.
    pub max: f64,
}

fn spread(info: &ColumnInfo, values: &[f64]) -> Spread {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    let q = |p: f64| {
        if n == 0 {
            return f64::NAN;
        }
        let h = p * (n - 1) as f64;
        let (lo, frac) = (h.floor() as usize, h.fract());
        v[lo] + frac * (v[(lo + 1).min(n - 1)] - v[lo])
    };
    Spread {
        name: info.name.clone(),
        unit: info.unit.clone(),
        description: info.description.clone(),
        n: n as u64,
        mean,
        sd: var.sqrt(),
        min: q(0.0),
        p5: q(0.05),
        median: q(0.5),
        p95: q(0.95),
        max: q(1.0),
    }
}

/// One index of one parameter for one observable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexRow {
    /// Observable.
    pub observable: String,
    /// Parameter path.
    pub parameter: String,
    /// `S1`, `ST` (Sobol) or `mu`, `mu_star`, `sigma` (Morris).
    pub index: String,
    /// Estimate.
    pub value: f64,
    /// Bootstrap half-width (SALib's `conf`).
    pub conf: f64,
    /// Bootstrap percentile interval.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

/// The merged campaign's `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// exosim version that merged.
    pub exosim_version: String,
    /// Campaign name.
    pub campaign: String,
    /// Digest of the study and campaign.
    pub fingerprint: String,
    /// Runs.
    pub runs: u64,
    /// The design.
    pub design: DesignRecord,
    /// Parameters.
    pub parameters: Vec<ColumnInfo>,
    /// Observables and their spread over the runs.
    pub observables: Vec<Spread>,
    /// Failed runs.
    pub failed: u64,
    /// The first of them.
    pub failures: Vec<Failure>,
    /// Sensitivity indices, when the design was made for them.
    pub sensitivity: Vec<IndexRow>,
    /// Why an observable has no indices (undefined at some points).
    pub sensitivity_skipped: BTreeMap<String, String>,
    /// Hill curves of observables against the dose (`[dose_response]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dose_response: Vec<dose_response::HillFit>,
    /// The simulated trials, when the points are a trial's subjects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<trial::analysis::TrialSummary>,
    /// Values fixed over the study for every point (`PATH=VALUE`, as
    /// `--set` gave them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
}

/// Merges the parts in `dirs` into `out`; returns the summary written.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary, OutputError> {
    let parts = find_parts(dirs)?;
    let table = read_rows(&parts)?;
    let first = &parts[0].1;
    let (sensitivity, sensitivity_skipped) = analyse(first, &table);
    let trial = first.trial.as_ref().map(|t| {
        let d = &first.design;
        (t, trial::analysis::analyse(t, &table, d.seed, d.confidence))
    });
    let failures: Vec<Failure> = parts
        .iter()
        .flat_map(|(_, p)| p.failures.clone())
        .take(MAX_LISTED_FAILURES)
        .collect();
    let summary = Summary {
        exosim_version: crate::run::VERSION.to_string(),
        campaign: first.campaign.clone(),
        fingerprint: first.fingerprint.clone(),
        runs: first.runs,
        design: first.design.clone(),
        parameters: first.parameters.clone(),
        // A trial's trajectory columns have their own file.
        observables: first
            .observables
            .iter()
            .filter(|o| {
                !first
                    .trial
                    .as_ref()
                    .is_some_and(|t| t.is_trajectory(&o.name))
            })
            .map(|o| spread(o, &column(&table, &o.name)))
            .collect(),
        failed: parts.iter().map(|(_, p)| p.failed).sum(),
        failures,
        sensitivity,
        sensitivity_skipped,
        dose_response: first.dose_response.as_ref().map_or(Vec::new(), |d| {
            dose_response::analyse(d, |name| column(&table, name), first.design.confidence)
        }),
        trial: trial.as_ref().map(|(_, a)| a.summary.clone()),
        sets: first.sets.clone(),
    };
    write_merged(out, &table, &summary)?;
    if let Some((t, a)) = &trial {
        trial::analysis::write(out, t, &table, a)?;
    }
    Ok(summary)
}

fn column(table: &Table, name: &str) -> Vec<f64> {
    table
        .column(name)
        .map(|c| c.values.clone())
        .unwrap_or_default()
}

fn write_merged(out: &Path, table: &Table, summary: &Summary) -> Result<(), OutputError> {
    output::write_parquet(&out.join("campaign.parquet"), table)?;
    if table.n_rows() <= MAX_CSV_ROWS {
        output::write_csv(&out.join("campaign.csv"), table)?;
    }
    if !summary.sensitivity.is_empty() {
        write_indices(&out.join("sensitivity.csv"), &summary.sensitivity)?;
    }
    output::write_json(&out.join("summary.json"), summary)
}

fn write_indices(path: &Path, rows: &[IndexRow]) -> Result<(), OutputError> {
    let mut text = String::from("observable,parameter,index,value,conf,low,high\n");
    for r in rows {
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.observable, r.parameter, r.index, r.value, r.conf, r.low, r.high
        ));
    }
    output::write_atomic(path, |w| w.write_all(text.as_bytes()))
}

/// The indices of every observable, for Saltelli and Morris designs; the
/// replicates of a row are averaged first.
fn analyse(record: &PartRecord, table: &Table) -> (Vec<IndexRow>, BTreeMap<String, String>) {
    let mut rows = Vec::new();
    let mut skipped = BTreeMap::new();
    let d = &record.design;
    if !matches!(d.method, Method::Saltelli | Method::Morris) {
        return (rows, skipped);
    }
    for o in &record.observables {
        let y = row_means(&column(table, &o.name), d.replicates as usize);
        if let Some(bad) = y.iter().position(|x| !x.is_finite()) {
            skipped.insert(
                o.name.clone(),
                format!("undefined at design row {bad} (and maybe others)"),
            );
            continue;
        }
        match indices(d, &y) {
            Ok(found) => rows.extend(found.into_iter().map(|(p, index, e)| IndexRow {
                observable: o.name.clone(),
                parameter: record.parameters[p].name.clone(),
                index: index.to_string(),
                value: e.value,
                conf: e.conf,
                low: e.low,
                high: e.high,
            })),
            Err(m) => {
                skipped.insert(o.name.clone(), m);
            }
        }
    }
    (rows, skipped)
}

fn row_means(values: &[f64], replicates: usize) -> Vec<f64> {
    values
        .chunks(replicates.max(1))
        .map(|c| c.iter().sum::<f64>() / c.len() as f64)
        .collect()
}

/// (parameter, index name, estimate) of one observable's design outputs.
fn indices(
    d: &DesignRecord,
    y: &[f64],
) -> Result<Vec<(usize, &'static str, sensitivity::Estimate)>, String> {
    let k = d.parameters as usize;
    let seed = d.seed;
    let (b, level) = (d.bootstrap as usize, d.confidence);
    if d.method == Method::Saltelli {
        let found = sensitivity::sobol_indices(y, k, b, level, seed)?;
        return Ok(found
            .into_iter()
            .enumerate()
            .flat_map(|(j, s)| [(j, "S1", s.first), (j, "ST", s.total)])
            .collect());
    }
    let r = d.points.unwrap_or(0) as usize;
    let m = design::morris(r, k, d.levels.unwrap_or(4) as usize, seed)?;
    let found = sensitivity::morris_effects(&m, y, b, level, seed)?;
    let plain = |x: f64| sensitivity::Estimate {
        value: x,
        conf: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
    };
    Ok(found
        .into_iter()
        .enumerate()
        .flat_map(|(j, e)| {
            [
                (j, "mu", plain(e.mu)),
                (
                    j,
                    "mu_star",
                    sensitivity::Estimate {
                        value: e.mu_star,
                        conf: e.mu_star_conf,
                        low: f64::NAN,
                        high: f64::NAN,
                    },
                ),
                (j, "sigma", plain(e.sigma)),
            ]
        })
        .collect())
}
