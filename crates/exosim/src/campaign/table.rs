//! A campaign's rows as a table: one per point, its parameters and
//! observables as columns (units in the Parquet metadata), and the record
//! of a part (`part-I-of-N.json`) that lets `merge` check that parts belong
//! together and analyse the whole without the campaign file.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::resolve::{Analysis, Campaign};
use super::shard::Shard;
use super::spec::Method;
use crate::output::{Column, Table};

/// Most failures a record lists by point (all are counted).
pub const MAX_LISTED_FAILURES: usize = 100;

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

/// Name and unit of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Column name: a parameter's path or an observable's name.
    pub name: String,
    /// Unit, empty for numbers.
    pub unit: String,
    /// What it is.
    pub description: String,
}

/// A point that failed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Index of the point.
    pub point: u64,
    /// The error.
    pub message: String,
}

/// What the merge needs to analyse the rows: the design, regenerated from
/// these numbers alone (it depends on nothing else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignRecord {
    /// The method.
    pub method: Method,
    /// Design rows.
    pub rows: u64,
    /// `[design] points` as resolved (base rows, trajectories, samples).
    pub points: Option<u64>,
    /// Morris's grid levels.
    pub levels: Option<u64>,
    /// Number of parameters.
    pub parameters: u64,
    /// Seed of the design.
    pub seed: u64,
    /// Runs per row.
    pub replicates: u64,
    /// Bootstrap resamples of the analysis.
    pub bootstrap: u64,
    /// Confidence level of the analysis.
    pub confidence: f64,
}

/// The record of one part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartRecord {
    /// exosim version that ran the part.
    pub exosim_version: String,
    /// Campaign name.
    pub campaign: String,
    /// Digest of the study as resolved and the campaign.
    pub fingerprint: String,
    /// Which shard, from 1.
    pub shard: u64,
    /// How many shards.
    pub shards: u64,
    /// Runs of the whole campaign.
    pub runs: u64,
    /// First point of the part.
    pub first: u64,
    /// One past its last point.
    pub end: u64,
    /// The parameters' columns.
    pub parameters: Vec<ColumnInfo>,
    /// The observables' columns.
    pub observables: Vec<ColumnInfo>,
    /// Points that failed.
    pub failed: u64,
    /// The first of them, with their errors.
    pub failures: Vec<Failure>,
    /// The design, for the analysis.
    pub design: DesignRecord,
    /// The virtual trial the points are subjects of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<super::trial::Trial>,
    /// The Hill curves to fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_response: Option<super::dose_response::DoseResponse>,
    /// Values fixed over the study for every point (`PATH=VALUE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
}

impl PartRecord {
    /// The record of `shard` of `campaign`, `failed` of whose points
    /// failed, the first with these `failures`.
    pub fn new(
        campaign: &Campaign,
        shard: Shard,
        failed: u64,
        failures: Vec<Failure>,
    ) -> PartRecord {
        let range = shard.range(campaign.len());
        PartRecord {
            exosim_version: crate::run::VERSION.to_string(),
            campaign: campaign.name.clone(),
            fingerprint: campaign.fingerprint.clone(),
            shard: shard.index,
            shards: shard.count,
            runs: campaign.len(),
            first: range.start,
            end: range.end,
            parameters: parameter_columns(campaign),
            observables: campaign
                .observables
                .iter()
                .map(|o| ColumnInfo {
                    name: o.name.clone(),
                    unit: o.unit.clone(),
                    description: o.description.clone(),
                })
                .collect(),
            failed,
            failures,
            design: design_record(campaign),
            trial: campaign.trial.clone(),
            dose_response: campaign.dose_response.clone(),
            sets: campaign.sets.iter().map(|s| s.to_string()).collect(),
        }
    }
}

fn parameter_columns(campaign: &Campaign) -> Vec<ColumnInfo> {
    campaign
        .parameters
        .iter()
        .map(|p| ColumnInfo {
            name: p.path.to_string(),
            unit: p.unit.clone(),
            description: format!("value of `{}` in the study", p.path),
        })
        .collect()
}

fn design_record(campaign: &Campaign) -> DesignRecord {
    let d = &campaign.spec.design;
    DesignRecord {
        method: d.method,
        rows: campaign.values.n as u64,
        points: d.points,
        levels: match campaign.analysis {
            Analysis::Morris(ref m) => Some(m.levels as u64),
            _ => None,
        },
        parameters: campaign.parameters.len() as u64,
        seed: campaign.seed,
        replicates: campaign.replicates,
        bootstrap: campaign.bootstrap as u64,
        confidence: campaign.confidence,
    }
}

/// The columns every campaign table starts with.
const INDEX_COLUMNS: [(&str, &str); 4] = [
    ("point", "index of the run in the campaign"),
    ("row", "design row of the run"),
    ("replicate", "replicate of the design row, from 0"),
    ("seed", "seed of the run's random streams"),
];

/// The table of the points `range` of `campaign`, from their outcomes in order.
pub fn part_table(campaign: &Campaign, range: Range<u64>, outcomes: &[Outcome]) -> Table {
    let mut table = Table::new();
    let points: Vec<_> = range.map(|i| campaign.point(i)).collect();
    let index_values: [Vec<f64>; 4] = [
        points.iter().map(|p| p.index as f64).collect(),
        points.iter().map(|p| p.row as f64).collect(),
        points.iter().map(|p| p.replicate as f64).collect(),
        points.iter().map(|p| p.seed as f64).collect(),
    ];
    for ((name, description), values) in INDEX_COLUMNS.iter().zip(index_values) {
        table.push_column(column(name, "", description, values));
    }
    for (j, info) in parameter_columns(campaign).into_iter().enumerate() {
        let values = points
            .iter()
            .map(|p| campaign.values.row(p.row as usize)[j])
            .collect();
        table.push_column(column(&info.name, &info.unit, &info.description, values));
    }
    for (k, o) in campaign.observables.iter().enumerate() {
        let values = outcomes
            .iter()
            .map(|x| x.observed[k].unwrap_or(f64::NAN))
            .collect();
        table.push_column(column(&o.name, &o.unit, &o.description, values));
    }
    let failed = outcomes
        .iter()
        .map(|o| if o.error.is_some() { 1.0 } else { 0.0 })
        .collect();
    table.push_column(column(
        "failed",
        "",
        "1 when the run failed (see summary.json)",
        failed,
    ));
    table
}

fn column(name: &str, unit: &str, description: &str, values: Vec<f64>) -> Column {
    Column {
        name: name.to_string(),
        unit: unit.to_string(),
        description: description.to_string(),
        values,
    }
}
