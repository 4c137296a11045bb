//! Running a `[tissue]` section: every variant × replicate, in parallel,
//! and the summary a user reads first (final cell counts with their spread
//! over replicates, growth, kills, uptakes, vesicle fates, mass balance).
//!
//! Replicate `r` uses the same seed in every variant (common random
//! numbers), so differences between variants are not blurred by different
//! draws of the initial placement. Each run is independent and
//! deterministic, so the parallel loop gives the same results on any number
//! of threads.

use std::borrow::Cow;
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
use crate::tissue::observe::{
    Recorder, write_snapshots, write_timeseries, write_timeseries_per_arm,
};

const REPLICATE_DOMAIN: u64 = u64::from_be_bytes(*b"tisrepli");

/// One replicate of one variant (in one arm, in a coupled study).
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

impl ReplicateRun {
    /// The body arm it ran in, in a coupled study.
    pub fn arm(&self) -> Option<&str> {
        self.body.as_ref().map(|b| b.course.arm.as_str())
    }
}

/// Seed of replicate `r` under the study seed.
pub fn replicate_seed(seed: u64, r: usize) -> u64 {
    stream(seed, REPLICATE_DOMAIN, r as u64).random()
}

/// Runs every variant and replicate; snapshots are kept for replicate 0.
/// A coupled tissue is run inside its body arm ([`run_in`]); here it runs
/// alone.
pub fn run(model: &TissueModel, seed: u64) -> Result<Vec<ReplicateRun>, TissueError> {
    let models = [Cow::Borrowed(model)];
    jobs(model, false)
        .par_iter()
        .map(|&job| replicate(None, &models, seed, job, None, &|_| {}))
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
    let jobs = jobs(model, true);
    // The tissue as each coupled arm's copies run it (its drugs added).
    let models: Vec<Cow<'_, TissueModel>> = match &model.coupling {
        Some(c) => (0..c.arms.len())
            .map(|k| c.model_in_arm(model, k))
            .collect(),
        None => vec![Cow::Borrowed(model)],
    };
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
        .map(|(i, &job)| {
            let run = replicate(Some(plan), &models, seed, job, saving, &|f| tell(i, f));
            tell(i, 1.0);
            run
        })
        .collect()
}

/// One run of the section: replicate `replicate` of variant `variant`,
/// in coupled arm `arm` (an index into the coupling's arms) when the
/// tissue sits in a body.
#[derive(Debug, Clone, Copy)]
struct Job {
    arm: Option<usize>,
    variant: usize,
    replicate: usize,
}

/// Runs (or resumes, or reads back) one job; `models[k]` is the tissue as
/// coupled arm `k` runs it (`models[0]` the tissue itself when uncoupled).
fn replicate(
    plan: Option<&Plan>,
    models: &[Cow<'_, TissueModel>],
    seed: u64,
    job: Job,
    saving: Option<&Saving<'_>>,
    progress: &dyn Fn(f64),
) -> Result<ReplicateRun, TissueError> {
    let model: &TissueModel = &models[job.arm.unwrap_or(0)];
    let (v, r) = (job.variant, job.replicate);
    let variant = &model.variants[v];
    let key = match job.arm {
        Some(k) if model.coupling.as_ref().is_some_and(|c| c.per_arm()) => {
            format!("tissue-a{k}-{v}-{r}")
        }
        _ => format!("tissue-{v}-{r}"),
    };
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
    // Common random numbers: replicate r draws from the same streams in
    // every variant and every arm.
    let replicate_seed = replicate_seed(seed, r);
    let done = match (plan, &model.coupling, job.arm) {
        (Some(plan), Some(coupling), Some(k)) => {
            let arm = coupling.arms[k].arm;
            let (record, body) = run_coupled(
                plan,
                model,
                coupling,
                arm,
                variant,
                replicate_seed,
                r == 0,
                progress,
            )?;
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

/// Every run: per coupled arm (when `coupled` and the tissue sits in a
/// body), variants, then replicates.
fn jobs(model: &TissueModel, coupled: bool) -> Vec<Job> {
    let arms: Vec<Option<usize>> = match (&model.coupling, coupled) {
        (Some(c), true) => (0..c.arms.len()).map(Some).collect(),
        _ => vec![None],
    };
    let mut out = Vec::new();
    for arm in arms {
        for variant in 0..model.variants.len() {
            for replicate in 0..model.replicates {
                out.push(Job {
                    arm,
                    variant,
                    replicate,
                });
            }
        }
    }
    out
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

/// Per variant (and arm, when several arms hold the tissue), over
/// replicates.
#[derive(Debug, Clone, Serialize)]
pub struct VariantSummary {
    /// The body arm, when several arms hold copies of the tissue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
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
    /// Per variant (per arm and variant when several arms hold the tissue).
    pub variants: Vec<VariantSummary>,
    /// Largest relative mass-balance error over every run and output time
    /// (0 for exact counts); in a coupled study also over each replicate's
    /// body copy and the balance across both engines at every exchange.
    pub mass_balance_relative_error: f64,
    /// Exchanges with the body, in a coupled study.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupling: Option<CouplingPart>,
}

/// The `tissue.coupling` part of `summary.json`: one object when one arm
/// holds the tissue, a list of them (one per arm, in study order) when
/// several do.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CouplingPart {
    /// The one coupled arm.
    One(CouplingSummary),
    /// Every coupled arm.
    PerArm(Vec<CouplingSummary>),
}

impl CouplingPart {
    /// Every coupled arm's summary, in study order.
    pub fn arms(&self) -> &[CouplingSummary] {
        match self {
            CouplingPart::One(c) => std::slice::from_ref(c),
            CouplingPart::PerArm(v) => v,
        }
    }

    /// The summary of arm `name`, if it holds the tissue.
    pub fn arm(&self, name: &str) -> Option<&CouplingSummary> {
        self.arms().iter().find(|c| c.arm == name)
    }
}

/// The exchanges of one coupled arm (`summary.json` `tissue.coupling`).
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

/// The runs of each group the outputs tell apart: per coupled arm when
/// several arms hold the tissue (named, in run order), else all together.
fn by_arm<'r>(
    model: &TissueModel,
    runs: &'r [ReplicateRun],
) -> Vec<(Option<String>, Vec<&'r ReplicateRun>)> {
    if !model.coupling.as_ref().is_some_and(|c| c.per_arm()) {
        return vec![(None, runs.iter().collect())];
    }
    let mut groups: Vec<(Option<String>, Vec<&ReplicateRun>)> = Vec::new();
    for r in runs {
        match groups.iter_mut().find(|(a, _)| a.as_deref() == r.arm()) {
            Some((_, g)) => g.push(r),
            None => groups.push((r.arm().map(str::to_string), vec![r])),
        }
    }
    groups
}

/// Summarises the runs of `model`.
pub fn summarise(model: &TissueModel, runs: &[ReplicateRun]) -> TissueSummary {
    let mut worst: f64 = 0.0;
    for r in runs {
        if let Some(mb) = r.record.series("mass_balance_error") {
            worst = mb.iter().copied().fold(worst, f64::max);
        }
        worst = worst.max(r.record.final_mass_balance);
    }
    let groups = by_arm(model, runs);
    let mut variants = Vec::new();
    for (arm, group) in &groups {
        for v in &model.variants {
            let of: Vec<&Recorder> = group
                .iter()
                .filter(|r| r.variant == v.name)
                .map(|r| &r.record)
                .collect();
            if !of.is_empty() {
                variants.push(variant_summary(model, arm.clone(), &v.name, &of));
            }
        }
    }
    let coupling = model.coupling.as_ref().and_then(|c| {
        let per_arm: Vec<CouplingSummary> = groups
            .iter()
            .filter_map(|(_, group)| coupling_summary(model, c, group))
            .collect();
        if c.per_arm() {
            Some(CouplingPart::PerArm(per_arm))
        } else {
            per_arm.into_iter().next().map(CouplingPart::One)
        }
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

/// One variant's figures over the replicates `of`.
fn variant_summary(
    model: &TissueModel,
    arm: Option<String>,
    name: &str,
    of: &[&Recorder],
) -> VariantSummary {
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
        arm,
        name: name.to_string(),
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
    s
}

/// The exchanges of one arm's runs (`group`, its first run the one whose
/// body is reported); `None` without a coupled run.
fn coupling_summary(
    model: &TissueModel,
    c: &crate::tissue::model::Coupling,
    group: &[&ReplicateRun],
) -> Option<CouplingSummary> {
    let first = group.first()?;
    let bodies: Vec<&CoupledBody> = group.iter().filter_map(|r| r.body.as_ref()).collect();
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
}

/// Writes `tissue_timeseries.csv` and the snapshots of replicate 0 of each
/// variant under `dir/tissue_snapshots/<variant>/`; when several body arms
/// hold the tissue, the time series gains an `arm` column and the
/// snapshots are under `dir/tissue_snapshots/<arm>/<variant>/`.
pub fn write(dir: &Path, model: &TissueModel, runs: &[ReplicateRun]) -> Result<(), OutputError> {
    let path = dir.join("tissue_timeseries.csv");
    let per_arm = model.coupling.as_ref().is_some_and(|c| c.per_arm());
    if per_arm {
        let rows: Vec<(String, String, usize, &Recorder)> = runs
            .iter()
            .map(|r| {
                let arm = r.arm().unwrap_or_default().to_string();
                (arm, r.variant.clone(), r.replicate, &r.record)
            })
            .collect();
        write_timeseries_per_arm(&path, &rows)?;
    } else {
        let rows: Vec<(String, usize, &Recorder)> = runs
            .iter()
            .map(|r| (r.variant.clone(), r.replicate, &r.record))
            .collect();
        write_timeseries(&path, &rows)?;
    }
    for r in runs.iter().filter(|r| r.replicate == 0) {
        let mut folder = dir.join("tissue_snapshots");
        if let (true, Some(arm)) = (per_arm, r.arm()) {
            folder = folder.join(arm);
        }
        write_snapshots(&folder.join(&r.variant), model, &r.record.frames)?;
    }
    Ok(())
}
