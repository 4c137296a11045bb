//! Running a study end to end: engines, then recorders.
//!
//! [`run`] advances every arm and collects what was observed; [`write()`]
//! records it as the files users read (`timeseries.csv`, `timeseries.parquet`,
//! `summary.json`), each written atomically.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::body::network::SolveError;
use crate::body::{self, ArmCourse, ClassSummary};
use crate::output::{self, Column, OutputError, Table};
use crate::scenario::Study;
use crate::scenario::spec::StudySpec;

/// Version of exosim that made a result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything a run observed.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Per arm, in study order.
    pub arms: Vec<ArmCourse>,
    /// Per arm and class.
    pub summaries: Vec<ClassSummary>,
}

/// A run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The solver could not advance an arm.
    #[error("arm `{arm}`: {source}")]
    Solve {
        /// Arm name.
        arm: String,
        /// Cause.
        source: SolveError,
    },
    /// A result could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Simulates every arm; `progress` receives the completed fraction (0–1).
pub fn run(study: &Study, mut progress: impl FnMut(f64)) -> Result<RunResult, RunError> {
    let n = study.arms.len() as f64;
    let mut arms = Vec::new();
    let mut summaries = Vec::new();
    for (i, arm) in study.arms.iter().enumerate() {
        let course =
            body::simulate_arm(study, arm, |f| progress((i as f64 + f) / n)).map_err(|source| {
                RunError::Solve {
                    arm: arm.name.clone(),
                    source,
                }
            })?;
        summaries.extend(body::summarise(study, arm, &course));
        arms.push(course);
    }
    Ok(RunResult { arms, summaries })
}

/// The wide table: `time_s`, then `{arm}/{place}/{class}` vesicle counts.
pub fn timeseries(study: &Study, result: &RunResult) -> Table {
    let mut table = Table::new();
    let times = result
        .arms
        .first()
        .map(|a| a.times.clone())
        .unwrap_or_default();
    table.push_column(Column {
        name: "time_s".into(),
        unit: "s".into(),
        description: "time since the start of the study".into(),
        values: times,
    });
    for arm in &result.arms {
        for cc in &arm.classes {
            let class = &study.vesicles[cc.class].name;
            for p in &cc.places {
                table.push_column(Column {
                    name: format!("{}/{}/{}", arm.arm, p.place.name(), class),
                    unit: "vesicles".into(),
                    description: format!(
                        "{class} vesicles in {} (arm {})",
                        p.place.name(),
                        arm.arm
                    ),
                    values: p.counts.clone(),
                });
            }
        }
    }
    table
}

/// Mass balance over the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MassBalance {
    /// Largest relative error over arms, classes and output times.
    pub relative_error: f64,
    /// Vesicles dosed, all arms and classes, at the end.
    pub dosed: f64,
    /// Vesicles released by sources, at the end.
    pub released: f64,
    /// Vesicles present in compartments at the end.
    pub present: f64,
    /// Vesicles excreted, at the end.
    pub cleared: f64,
    /// Vesicles broken down, at the end.
    pub degraded: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary<'a> {
    /// exosim version.
    pub exosim_version: &'static str,
    /// Study name.
    pub study: &'a str,
    /// Seed of every random stream.
    pub seed: u64,
    /// The study with every default filled in.
    pub resolved_study: &'a StudySpec,
    /// Vesicle accounting.
    pub mass_balance: MassBalance,
    /// Per arm and class: doses, PK figures, organ shares, peaks.
    pub vesicles: &'a [ClassSummary],
    /// Solver work per arm (accepted BDF steps).
    pub solver_steps: Vec<(String, usize)>,
}

/// Builds the summary of a run.
pub fn summary<'a>(study: &'a Study, result: &'a RunResult) -> Summary<'a> {
    use crate::body::pbpk::Place;
    let mut mb = MassBalance {
        relative_error: 0.0,
        dosed: 0.0,
        released: 0.0,
        present: 0.0,
        cleared: 0.0,
        degraded: 0.0,
    };
    for arm in &result.arms {
        let last = arm.times.len() - 1;
        for cc in &arm.classes {
            mb.relative_error = cc
                .balance_errors()
                .into_iter()
                .fold(mb.relative_error, f64::max);
            mb.dosed += cc.dosed[last];
            mb.released += cc.released[last];
            for p in &cc.places {
                match p.place {
                    Place::Cleared => mb.cleared += p.counts[last],
                    Place::Degraded => mb.degraded += p.counts[last],
                    _ => mb.present += p.counts[last],
                }
            }
        }
    }
    Summary {
        exosim_version: VERSION,
        study: &study.name,
        seed: study.seed,
        resolved_study: &study.resolved,
        mass_balance: mb,
        vesicles: &result.summaries,
        solver_steps: result
            .arms
            .iter()
            .map(|a| (a.arm.clone(), a.steps))
            .collect(),
    }
}

/// Writes the run's files into `dir` (which [`output::prepare_dir`] has
/// checked); returns their paths.
pub fn write(dir: &Path, study: &Study, result: &RunResult) -> Result<Vec<PathBuf>, OutputError> {
    let table = timeseries(study, result);
    let files = [
        dir.join("timeseries.csv"),
        dir.join("timeseries.parquet"),
        dir.join("summary.json"),
    ];
    output::write_csv(&files[0], &table)?;
    output::write_parquet(&files[1], &table)?;
    // The summary goes last: its presence marks a complete result.
    output::write_json(&files[2], &summary(study, result))?;
    Ok(files.to_vec())
}
