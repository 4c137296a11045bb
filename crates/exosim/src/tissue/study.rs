//! Running a `[tissue]` section: every variant × replicate, in parallel,
//! and the summary a user reads first (final cell counts with their spread
//! over replicates, growth, kills, uptakes, vesicle fates, mass balance).
//!
//! Replicate `r` uses the same seed in every variant (common random
//! numbers), so differences between variants are not blurred by different
//! draws of the initial placement. Each run is independent and
//! deterministic, so the parallel loop gives the same results on any number
//! of threads.

use std::collections::BTreeMap;
use std::path::Path;

use rand::RngExt;
use rayon::prelude::*;
use serde::Serialize;

use super::engine::{TissueError, TissueRun};
use super::model::TissueModel;
use super::observe::{Recorder, write_snapshots, write_timeseries};
use crate::output::OutputError;
use crate::random::stream;

const REPLICATE_DOMAIN: u64 = u64::from_be_bytes(*b"tisrepli");

/// One replicate of one variant.
#[derive(Debug, Clone)]
pub struct ReplicateRun {
    /// Variant name.
    pub variant: String,
    /// Replicate number (0-based).
    pub replicate: usize,
    /// What it observed.
    pub record: Recorder,
}

/// Seed of replicate `r` under the study seed.
pub fn replicate_seed(seed: u64, r: usize) -> u64 {
    stream(seed, REPLICATE_DOMAIN, r as u64).random()
}

/// Runs every variant and replicate; snapshots are kept for replicate 0.
pub fn run(model: &TissueModel, seed: u64) -> Result<Vec<ReplicateRun>, TissueError> {
    let jobs: Vec<(usize, usize)> = (0..model.variants.len())
        .flat_map(|v| (0..model.replicates).map(move |r| (v, r)))
        .collect();
    jobs.par_iter()
        .map(|&(v, r)| {
            let variant = &model.variants[v];
            let run = TissueRun::new(model, variant, replicate_seed(seed, r));
            let record = run.run(variant, r == 0, |_| {})?;
            Ok(ReplicateRun {
                variant: variant.name.clone(),
                replicate: r,
                record,
            })
        })
        .collect()
}

/// Mean, standard deviation and range over replicates.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one replicate).
    pub sd: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Every replicate's value.
    pub values: Vec<f64>,
}

impl Spread {
    /// The spread of `values` (not empty).
    pub fn of(values: Vec<f64>) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Spread {
            mean,
            sd,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            values,
        }
    }
}

/// Per variant, over replicates.
#[derive(Debug, Clone, Serialize)]
pub struct VariantSummary {
    /// Variant name.
    pub name: String,
    /// Cells per type at the end.
    pub final_cells: BTreeMap<String, Spread>,
    /// Cells per type at the end over cells at the start.
    pub fold_change: BTreeMap<String, Spread>,
    /// Cells per type killed by contact.
    pub kills: BTreeMap<String, Spread>,
    /// Vesicles taken up per cell type.
    pub uptakes: BTreeMap<String, Spread>,
    /// Mean of each state variable at the end, per `type.var`.
    pub final_state: BTreeMap<String, Spread>,
    /// Vesicles per class and fate at the end, per `class.place`.
    pub vesicles: BTreeMap<String, Spread>,
}

/// The `tissue` part of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TissueSummary {
    /// Replicates per variant.
    pub replicates: usize,
    /// Transport step, s.
    pub time_step_s: f64,
    /// Per variant.
    pub variants: Vec<VariantSummary>,
    /// Largest relative mass-balance error over every run and output time
    /// (0 for exact counts).
    pub mass_balance_relative_error: f64,
}

/// Summarises the runs of `model`.
pub fn summarise(model: &TissueModel, runs: &[ReplicateRun]) -> TissueSummary {
    let mut variants = Vec::new();
    let mut worst: f64 = 0.0;
    for r in runs {
        if let Some(mb) = r.record.series("mass_balance_error") {
            worst = mb.iter().copied().fold(worst, f64::max);
        }
        worst = worst.max(r.record.final_mass_balance);
    }
    for v in &model.variants {
        let of: Vec<&Recorder> = runs
            .iter()
            .filter(|r| r.variant == v.name)
            .map(|r| &r.record)
            .collect();
        if of.is_empty() {
            continue;
        }
        let last = |rec: &Recorder, col: &str| -> f64 {
            rec.series(col)
                .and_then(|s| s.last().copied())
                .unwrap_or(f64::NAN)
        };
        let first = |rec: &Recorder, col: &str| -> f64 {
            rec.series(col)
                .and_then(|s| s.first().copied())
                .unwrap_or(f64::NAN)
        };
        let spread = |f: &dyn Fn(&Recorder) -> f64| Spread::of(of.iter().map(|r| f(r)).collect());
        let mut s = VariantSummary {
            name: v.name.clone(),
            final_cells: BTreeMap::new(),
            fold_change: BTreeMap::new(),
            kills: BTreeMap::new(),
            uptakes: BTreeMap::new(),
            final_state: BTreeMap::new(),
            vesicles: BTreeMap::new(),
        };
        for t in &model.cell_types {
            let col = format!("cells_{}", t.name);
            s.final_cells
                .insert(t.name.clone(), spread(&|r| last(r, &col)));
            s.fold_change
                .insert(t.name.clone(), spread(&|r| last(r, &col) / first(r, &col)));
            let kc = format!("kills_{}", t.name);
            s.kills.insert(t.name.clone(), spread(&|r| last(r, &kc)));
            let uc = format!("uptakes_{}", t.name);
            s.uptakes.insert(t.name.clone(), spread(&|r| last(r, &uc)));
            for var in &t.state {
                let sc = format!("state_{}_{}_mean", t.name, var.name);
                s.final_state.insert(
                    format!("{}.{}", t.name, var.name),
                    spread(&|r| last(r, &sc)),
                );
            }
        }
        for c in &model.vesicles {
            for p in super::observe::PLACES {
                let vc = format!("vesicles_{}_{p}", c.name);
                s.vesicles
                    .insert(format!("{}.{p}", c.name), spread(&|r| last(r, &vc)));
            }
        }
        variants.push(s);
    }
    TissueSummary {
        replicates: model.replicates,
        time_step_s: model.dt,
        variants,
        mass_balance_relative_error: worst,
    }
}

/// Writes `tissue_timeseries.csv` and the snapshots of replicate 0 of each
/// variant under `dir/tissue_snapshots/<variant>/`.
pub fn write(dir: &Path, model: &TissueModel, runs: &[ReplicateRun]) -> Result<(), OutputError> {
    let rows: Vec<(String, usize, &Recorder)> = runs
        .iter()
        .map(|r| (r.variant.clone(), r.replicate, &r.record))
        .collect();
    write_timeseries(&dir.join("tissue_timeseries.csv"), &rows)?;
    for r in runs.iter().filter(|r| r.replicate == 0) {
        write_snapshots(
            &dir.join("tissue_snapshots").join(&r.variant),
            model,
            &r.record.frames,
        )?;
    }
    Ok(())
}
