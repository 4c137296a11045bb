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

use std::time::{Duration, Instant};

use rand::RngExt;
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::tissue_body::{CoupledBody, run_coupled};
use crate::body::model::Plan;
use crate::output::{CheckpointError, Checkpoints, OutputError};
use crate::random::stream;
use crate::tissue::engine::{Resume, SavedRun, SavedRunRef, TissueError, TissueRun};
use crate::tissue::model::TissueModel;
use crate::tissue::observe::{Recorder, write_snapshots, write_timeseries};

const REPLICATE_DOMAIN: u64 = u64::from_be_bytes(*b"tisrepli");

/// One replicate of one variant.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReplicateRun {
    /// Variant name.
    pub variant: String,
    /// Replicate number (0-based).
    pub replicate: usize,
    /// What it observed.
    pub record: Recorder,
    /// Its own copy of the body arm, in a coupled study.
    pub body: Option<CoupledBody>,
}

/// Seed of replicate `r` under the study seed.
pub fn replicate_seed(seed: u64, r: usize) -> u64 {
    stream(seed, REPLICATE_DOMAIN, r as u64).random()
}

/// Runs every variant and replicate; snapshots are kept for replicate 0.
/// A coupled tissue is run inside its body arm ([`run_in`]); here it runs
/// alone.
pub fn run(model: &TissueModel, seed: u64) -> Result<Vec<ReplicateRun>, TissueError> {
    jobs(model)
        .par_iter()
        .map(|&(v, r)| replicate(None, model, seed, v, r, None, &|_| {}))
        .collect()
}

/// Runs the tissue of a study whose body is `plan`, with `seed`: each
/// replicate of a coupled tissue with its own coupled copy of the body arm,
/// an uncoupled one as [`run`] does.
pub fn run_in(
    plan: &Plan,
    seed: u64,
    model: &TissueModel,
) -> Result<Vec<ReplicateRun>, TissueError> {
    run_saving(plan, seed, model, None)
}

/// Where and how often a tissue run keeps its progress, so that an
/// interrupted run can resume.
#[derive(Debug, Clone)]
pub struct Saving<'a> {
    /// The run's store of saved states.
    pub store: &'a Checkpoints,
    /// Wall-clock time between two saves of a running replicate.
    pub every: Duration,
}

/// How far one replicate got, as the store keeps it.
#[derive(Serialize)]
enum ProgressRef<'a, 'b> {
    Running(&'a SavedRunRef<'b>),
    Done(&'a ReplicateRun),
}

/// [`ProgressRef`] read back.
#[derive(Deserialize)]
enum Progress {
    Running(Box<SavedRun>),
    Done(Box<ReplicateRun>),
}

/// [`run_in`], keeping progress in `saving`'s store: a finished replicate
/// is kept whole, a running uncoupled one at its latest step boundary
/// (a coupled one restarts, its body arm being a few seconds of work).
/// Whatever the store already holds is taken up where it stopped, with
/// results identical to an uninterrupted run.
pub fn run_saving(
    plan: &Plan,
    seed: u64,
    model: &TissueModel,
    saving: Option<&Saving<'_>>,
) -> Result<Vec<ReplicateRun>, TissueError> {
    run_reporting(plan, seed, model, saving, &|_| {})
}

/// [`run_saving`], telling `progress` the completed fraction (0–1) of all
/// replicates together as they advance (from any thread; a coupled
/// replicate counts when it ends). The results do not depend on it.
pub fn run_reporting(
    plan: &Plan,
    seed: u64,
    model: &TissueModel,
    saving: Option<&Saving<'_>>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Vec<ReplicateRun>, TissueError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let jobs = jobs(model);
    // Each job's own fraction, as f64 bits; the sum over jobs is reported.
    let done: Vec<AtomicU64> = jobs.iter().map(|_| AtomicU64::new(0)).collect();
    let tell = |job: usize, f: f64| {
        done[job].store(f.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
        let total: f64 = done
            .iter()
            .map(|d| f64::from_bits(d.load(Ordering::Relaxed)))
            .sum();
        progress(total / jobs.len().max(1) as f64);
    };
    jobs.par_iter()
        .enumerate()
        .map(|(job, &(v, r))| {
            let run = replicate(Some(plan), model, seed, v, r, saving, &|f| tell(job, f));
            tell(job, 1.0);
            run
        })
        .collect()
}

/// Runs (or resumes, or reads back) replicate `r` of variant `v`.
fn replicate(
    plan: Option<&Plan>,
    model: &TissueModel,
    seed: u64,
    v: usize,
    r: usize,
    saving: Option<&Saving<'_>>,
    progress: &dyn Fn(f64),
) -> Result<ReplicateRun, TissueError> {
    let variant = &model.variants[v];
    let key = format!("tissue-{v}-{r}");
    let save_error = |e: CheckpointError| TissueError::Save {
        variant: variant.name.clone(),
        message: e.to_string(),
    };
    let mut from = None;
    if let Some(s) = saving {
        match s.store.load::<Progress>(&key).map_err(save_error)? {
            Some(Progress::Done(done)) => return Ok(*done),
            Some(Progress::Running(saved)) => from = Some(*saved),
            None => {}
        }
    }
    let replicate_seed = replicate_seed(seed, r);
    let done = match (plan, &model.coupling) {
        (Some(plan), Some(coupling)) => {
            let (record, body) =
                run_coupled(plan, model, coupling, variant, replicate_seed, r == 0)?;
            ReplicateRun {
                variant: variant.name.clone(),
                replicate: r,
                record,
                body: Some(body),
            }
        }
        _ => {
            let run = TissueRun::new(model, variant, replicate_seed);
            let record = match saving {
                None => run.run(variant, r == 0, progress)?,
                Some(s) => {
                    let mut last = Instant::now();
                    let mut due = || {
                        let now = last.elapsed() >= s.every;
                        if now {
                            last = Instant::now();
                        }
                        now
                    };
                    let mut save = |state: &SavedRunRef<'_>| {
                        s.store
                            .save(&key, &ProgressRef::Running(state))
                            .map_err(|e| e.to_string())
                    };
                    let resume = Resume {
                        from,
                        due: &mut due,
                        save: &mut save,
                    };
                    run.run_resumable(variant, r == 0, progress, resume)?
                }
            };
            ReplicateRun {
                variant: variant.name.clone(),
                replicate: r,
                record,
                body: None,
            }
        }
    };
    if let Some(s) = saving {
        s.store
            .save(&key, &ProgressRef::Done(&done))
            .map_err(save_error)?;
    }
    Ok(done)
}

/// (variant, replicate) of every run, variants first.
fn jobs(model: &TissueModel) -> Vec<(usize, usize)> {
    (0..model.variants.len())
        .flat_map(|v| (0..model.replicates).map(move |r| (v, r)))
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
    /// (0 for exact counts); in a coupled study also over each replicate's
    /// body copy and the balance across both engines at every exchange.
    pub mass_balance_relative_error: f64,
    /// Exchanges with the body, in a coupled study.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupling: Option<CouplingSummary>,
}

/// The `tissue.coupling` part of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct CouplingSummary {
    /// Body arm the tissue sits in.
    pub arm: String,
    /// Exchange interval, s.
    pub exchange_interval_s: f64,
    /// Run whose body copy is reported in the time series and the body
    /// summary (`variant/replicate`).
    pub body_reported_from: String,
    /// Per `tissue_class->body_class`, over every variant and replicate:
    /// vesicles drained into the body and arrived from blood.
    pub drained_to_body: BTreeMap<String, Spread>,
    /// Vesicles arrived from blood through the vascular faces.
    pub arrived_from_blood: BTreeMap<String, Spread>,
    /// Largest cross-engine balance error over runs and exchanges.
    pub balance_relative_error: f64,
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
            for p in crate::tissue::observe::PLACES {
                let vc = format!("vesicles_{}_{p}", c.name);
                s.vesicles
                    .insert(format!("{}.{p}", c.name), spread(&|r| last(r, &vc)));
            }
        }
        variants.push(s);
    }
    let coupling = model.coupling.as_ref().and_then(|c| {
        let first = runs.first()?;
        let bodies: Vec<&CoupledBody> = runs.iter().filter_map(|r| r.body.as_ref()).collect();
        let mut drained = BTreeMap::new();
        let mut arrived = BTreeMap::new();
        for (j, l) in c.links.iter().enumerate() {
            let key = format!("{}->{}", model.vesicles[l.tissue].name, c.body_names[j]);
            let total = |f: &dyn Fn(&super::tissue_body::ExchangeRecord) -> f64| {
                Spread::of(
                    bodies
                        .iter()
                        .map(|b| b.exchanges.iter().map(f).sum())
                        .collect(),
                )
            };
            drained.insert(key.clone(), total(&|e| e.drained[j]));
            arrived.insert(key, total(&|e| e.arrived[j]));
        }
        let across = bodies.iter().map(|b| b.balance_error()).fold(0.0, f64::max);
        Some(CouplingSummary {
            arm: first.body.as_ref()?.course.arm.clone(),
            exchange_interval_s: c.interval,
            body_reported_from: format!("{}/{}", first.variant, first.replicate),
            drained_to_body: drained,
            arrived_from_blood: arrived,
            balance_relative_error: across,
        })
    });
    for b in runs.iter().filter_map(|r| r.body.as_ref()) {
        worst = worst.max(b.balance_error());
        for cc in &b.course.classes {
            worst = cc.balance_errors().into_iter().fold(worst, f64::max);
        }
    }
    TissueSummary {
        replicates: model.replicates,
        time_step_s: model.dt,
        variants,
        mass_balance_relative_error: worst,
        coupling,
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
