//! Running a study end to end: engines, then recorders.
//!
//! [`run`] advances every arm and collects what was observed; [`write()`]
//! records it as the files users read (`timeseries.csv`, `timeseries.parquet`,
//! `summary.json`; `biopsy_*.csv` for a `[biopsy]` section (a test of
//! conditions in [`conditions`]); for a
//! `[signature]` section the long-format `signature.csv` (condition, fold,
//! train and held-out AUC) and `signature_markers.csv` (each marker alone);
//! for a `[production]` section `production.csv` and `.parquet`, a row per
//! harvest; for `[[instruments]]` an `instrument_<name>.csv` per NTA, its
//! reported size histogram beside the sample's),
//! each written atomically.

pub mod conditions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::biopsy::panel::{self, ConditionResult};
use crate::biopsy::signature::SignatureError;
use crate::biopsy::study::TestResult;
use crate::body::network::SolveError;
use crate::body::{self, ArmCourse, ClassSummary};
use crate::coupling::exposure::{self, EffectRun};
use crate::coupling::instrument_sample::{self, InstrumentRun, InstrumentSummary};
use crate::coupling::tumour_burden;
use crate::output::{self, Column, OutputError, Table};
use crate::production::{self, ProductionRun};
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
    /// Per blood test of the `[biopsy]` section.
    pub biopsy: Vec<TestResult>,
    /// Per blood test of the `[biopsy]` section's test of conditions.
    pub condition_tests: Vec<crate::biopsy::condition_test::TestResult>,
    /// Per disease of the `[signature]` section.
    pub signature: Vec<ConditionResult>,
    /// Per variant and replicate of the `[tissue]` section.
    pub tissue: Vec<crate::coupling::tissue_section::ReplicateRun>,
    /// Per arm and `[[effects]]` entry, arm by arm.
    pub effects: Vec<EffectRun>,
    /// The `[production]` run: harvests and accounts.
    pub production: Option<ProductionRun>,
    /// Per `[[instruments]]` entry: the sample and the reading.
    pub instruments: Vec<InstrumentRun>,
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
    /// The `[signature]` section could not be run (a cohort could not be
    /// generated or the classifier not fitted).
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    /// The `[tissue]` section stopped early.
    #[error("tissue: {0}")]
    Tissue(#[from] crate::tissue::engine::TissueError),
    /// The biopsy's tumour could not be taken from the tissue engine.
    #[error("biopsy: {0}")]
    Biopsy(#[from] crate::biopsy::study::BiopsyRunError),
    /// An effect could not be computed.
    #[error("effects in arm `{arm}`: {source}")]
    Effect {
        /// Arm name.
        arm: String,
        /// Cause.
        source: exposure::EffectError,
    },
}

/// Simulates every arm; `progress` receives the completed fraction (0–1).
///
/// In a coupled study the tissue runs first, each of its replicates with
/// its own copy of each coupled arm; an arm reported (time series, summary)
/// is its copy of the first replicate of the first variant.
pub fn run(study: &Study, progress: impl Fn(f64) + Sync) -> Result<RunResult, RunError> {
    run_saving(study, None, progress)
}

/// [`run`], keeping the tissue's progress in `saving` (and taking up what
/// it already holds), so that an interrupted long run can resume with
/// identical results. The other engines take seconds and simply rerun.
///
/// `progress` may be called from several threads at once (the tissue's
/// replicates run in parallel); the tissue counts for 90 % of the way when
/// body arms follow it.
pub fn run_saving(
    study: &Study,
    saving: Option<&crate::coupling::tissue_section::Saving<'_>>,
    progress: impl Fn(f64) + Sync,
) -> Result<RunResult, RunError> {
    let body_arms = (0..study.arms.len())
        .filter(|&i| !holds_tissue(study, i))
        .count();
    // The biopsy's and the signature's cohorts, when present, take the
    // last half of the way; the tissue and body arms share the rest.
    let cohorts =
        study.biopsy.is_some() || study.condition_test.is_some() || study.signature.is_some();
    let before = if cohorts { 0.5 } else { 1.0 };
    let progress = |f: f64| progress(f.min(1.0));
    let early = |f: f64| progress(before * f);
    let tissue_share = match (&study.tissue, body_arms) {
        (None, _) => 0.0,
        (Some(_), 0) => 1.0,
        (Some(_), _) => 0.9,
    };
    let tissue = match &study.tissue {
        Some(t) => crate::coupling::tissue_section::run_reporting(
            &study.plan(),
            study.seed,
            t,
            saving,
            &|f| early(tissue_share * f),
        )?,
        None => Vec::new(),
    };
    let n = body_arms.max(1) as f64;
    let mut arms = Vec::new();
    let mut summaries = Vec::new();
    let mut done = 0.0;
    for (i, arm) in study.arms.iter().enumerate() {
        // The copy of the first variant's replicate 0 in this arm.
        let coupled = tissue
            .iter()
            .find(|r| r.arm() == Some(arm.name.as_str()))
            .and_then(|r| r.body.as_ref())
            .filter(|_| holds_tissue(study, i));
        let course = match coupled {
            Some(body) => body.course.clone(),
            None => {
                let course = body::simulate_arm(&study.plan(), arm, |f| {
                    early(tissue_share + (1.0 - tissue_share) * (done + f) / n)
                })
                .map_err(|source| RunError::Solve {
                    arm: arm.name.clone(),
                    source,
                })?;
                done += 1.0;
                course
            }
        };
        summaries.extend(body::summarise(&study.plan(), arm, &course));
        arms.push(course);
    }
    let effects = run_effects(study, &arms)?;
    let late_share = match (
        study.biopsy.is_some() || study.condition_test.is_some(),
        &study.signature,
    ) {
        (true, Some(_)) => 0.25,
        _ => 0.5,
    };
    let biopsy = match &study.biopsy {
        Some(b) => {
            let tell = |f: f64| progress(before + late_share * f);
            tumour_burden::run_biopsy(b, study.tissue.as_ref(), study.seed, &tell)?
        }
        None => Vec::new(),
    };
    let condition_tests = match &study.condition_test {
        Some(t) => {
            let tell = |f: f64| progress(before + late_share * f);
            crate::biopsy::condition_test::run(t, study.seed, &tell)
        }
        None => Vec::new(),
    };
    let signature = match &study.signature {
        Some(s) => {
            let tell = |f: f64| progress(1.0 - late_share + late_share * f);
            panel::run(s, study.seed, &tell)?
        }
        None => Vec::new(),
    };
    let production = study.production.as_ref().map(production::simulate);
    let instruments = instrument_sample::run_all(&study.instruments, study.seed, &arms, &tissue);
    progress(1.0);
    Ok(RunResult {
        arms,
        summaries,
        biopsy,
        condition_tests,
        signature,
        tissue,
        effects,
        production,
        instruments,
    })
}

/// Whether arm `i` holds copies of the study's tissue (`[tissue.coupling]`).
fn holds_tissue(study: &Study, i: usize) -> bool {
    study
        .tissue
        .as_ref()
        .and_then(|t| t.coupling.as_ref())
        .is_some_and(|c| c.holds(i))
}

/// Every effect model in every arm, from the arm's body course.
fn run_effects(study: &Study, arms: &[ArmCourse]) -> Result<Vec<EffectRun>, RunError> {
    if study.effects.is_empty() {
        return Ok(Vec::new());
    }
    let mut runs = Vec::new();
    for (i, (arm, course)) in study.arms.iter().zip(arms).enumerate() {
        let coupled = holds_tissue(study, i).then_some(course);
        let courses = exposure::effects_of_arm(&study.plan(), arm, coupled, &study.effects)
            .map_err(|source| RunError::Effect {
                arm: arm.name.clone(),
                source,
            })?;
        for (model, course) in study.effects.iter().zip(courses) {
            runs.push(EffectRun {
                arm: arm.name.clone(),
                effect: model.name.clone(),
                unit: model.unit.clone(),
                course,
            });
        }
    }
    Ok(runs)
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
    let coupling = study.tissue.as_ref().and_then(|t| t.coupling.as_ref());
    for (i, arm) in result.arms.iter().enumerate() {
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
            let linked =
                coupling.is_some_and(|c| c.holds(i) && c.links.iter().any(|l| l.body == cc.class));
            if linked {
                table.push_column(Column {
                    name: format!("{}/drained_in_from_tissue/{}", arm.arm, class),
                    unit: "vesicles".into(),
                    description: format!(
                        "{class} vesicles drained in from the tissue so far (arm {})",
                        arm.arm
                    ),
                    values: cc.drained_in.clone(),
                });
                table.push_column(Column {
                    name: format!("{}/extravasated_into_tissue/{}", arm.arm, class),
                    unit: "vesicles".into(),
                    description: format!(
                        "{class} vesicles that left blood into the tissue so far (arm {})",
                        arm.arm
                    ),
                    values: cc.extravasated.clone(),
                });
            }
        }
    }
    for arm in &result.arms {
        drug_columns(&mut table, arm);
    }
    for run in &result.effects {
        effect_columns(&mut table, run);
    }
    table
}

/// One nM in molecules per m³.
const NANOMOLAR: f64 = crate::units::AVOGADRO * 1e-9 * 1e3;

/// A release-inhibiting drug's figures in one arm (`summary.json`
/// `drugs`), read on the output times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrugSummary {
    /// The arm.
    pub arm: String,
    /// The drug.
    pub drug: String,
    /// Highest central concentration, nM.
    pub cmax_nm: f64,
    /// When it is reached, s.
    pub tmax_s: f64,
    /// Area under the central concentration over the study (trapezoids
    /// on the output times), nM·h.
    pub auc_nm_h: f64,
    /// Lowest share of the nominal release it leaves, `1 − I(C)`.
    pub lowest_release_factor: f64,
    /// That share at the study's end.
    pub final_release_factor: f64,
}

/// Every drug of every arm.
fn drug_summaries(result: &RunResult) -> Vec<DrugSummary> {
    let mut out = Vec::new();
    for arm in &result.arms {
        for d in &arm.drugs {
            let nm: Vec<f64> = d.concentration.iter().map(|c| c / NANOMOLAR).collect();
            let (at, cmax) = nm
                .iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &c)| {
                    if c > best.1 { (i, c) } else { best }
                });
            out.push(DrugSummary {
                arm: arm.arm.clone(),
                drug: d.drug.clone(),
                cmax_nm: cmax,
                tmax_s: arm.times.get(at).copied().unwrap_or(0.0),
                auc_nm_h: body::pk::auc_trapezoid(&arm.times, &nm) / 3600.0,
                lowest_release_factor: d.release_factor.iter().copied().fold(1.0, f64::min),
                final_release_factor: d.release_factor.last().copied().unwrap_or(1.0),
            });
        }
    }
    out
}

/// Each drug's central concentration (nM, the unit its EC50 is usually
/// written in) and the release factor `1 − I(C)` it leaves the sources it
/// acts on.
fn drug_columns(table: &mut Table, arm: &body::ArmCourse) {
    for d in &arm.drugs {
        table.push_column(Column {
            name: format!("{}/drug_concentration/{}", arm.arm, d.drug),
            unit: "nM".into(),
            description: format!("central concentration of drug {} (arm {})", d.drug, arm.arm),
            values: d.concentration.iter().map(|c| c / NANOMOLAR).collect(),
        });
        table.push_column(Column {
            name: format!("{}/release_factor/{}", arm.arm, d.drug),
            unit: "1".into(),
            description: format!(
                "share of the nominal release left by drug {} to the sources it acts on (arm {})",
                d.drug, arm.arm
            ),
            values: d.release_factor.clone(),
        });
    }
}

/// The response of one effect in one arm, and the concentration that
/// drove it.
fn effect_columns(table: &mut Table, run: &EffectRun) {
    table.push_column(Column {
        name: format!("{}/effect/{}", run.arm, run.effect),
        unit: run.unit.clone(),
        description: format!("effect {} (arm {})", run.effect, run.arm),
        values: run.reported(),
    });
    table.push_column(Column {
        name: format!("{}/exposure/{}", run.arm, run.effect),
        unit: "/mL".into(),
        description: format!(
            "concentration driving effect {} (arm {})",
            run.effect, run.arm
        ),
        values: run.course.concentration.iter().map(|c| c * 1e-6).collect(),
    });
}

/// Mass balance over the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MassBalance {
    /// Largest relative error over arms, classes and output times, the
    /// tissue's runs, and (coupled studies) the balance across both engines
    /// at every exchange.
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
    /// Vesicles drained into the body from a coupled tissue, at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drained_in_from_tissue: Option<f64>,
    /// Vesicles that left blood into a coupled tissue, at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extravasated_into_tissue: Option<f64>,
}

/// What a saved run state belongs to: the resolved study (every default
/// filled in), its seed and the exosim version. A resumed run must match it
/// byte for byte.
pub fn fingerprint(study: &Study) -> String {
    serde_json::json!({
        "exosim_version": VERSION,
        "seed": study.seed,
        "resolved_study": &study.resolved,
    })
    .to_string()
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
    /// Liquid biopsy, per blood test: threshold, specificity, detection
    /// curve, minimal detectable diameters, AUC, PPV, screening.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biopsy: Option<BiopsyPart<'a>>,
    /// Multi-marker signatures, per disease against healthy people:
    /// cross-validated training and held-out AUC (means and per fold), the
    /// best single marker with its AUC and DeLong 95 % interval, and every
    /// marker's AUC next to its binormal closed form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureSummary<'a>>,
    /// Tissue, per variant over replicates: final cells, fold change,
    /// kills, uptakes, final states, vesicle fates; the tissue mass balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tissue: Option<crate::coupling::tissue_section::TissueSummary>,
    /// Effects, per arm: start, end, lowest and highest response, the
    /// peak concentration that drove it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<exposure::EffectSummary>,
    /// Release-inhibiting drugs, per arm: Cmax, Tmax, AUC, the lowest and
    /// the final release factor.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drugs: Vec<DrugSummary>,
    /// Production: vesicles per harvest and per run, the medium's
    /// concentration, the mass balance of the culture, doses per batch,
    /// batches and time for the study's need.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<production::ProductionSummary>,
    /// Instruments: per `[[instruments]]` entry, the true and reported
    /// concentrations per mL; NTA sizes (mode, D10/D50/D90 in nm), tracks,
    /// particles per frame and counting range; flow events per second,
    /// single and swarm events and the swarm flag; digital positives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instruments: Vec<InstrumentSummary>,
}

/// The `signature` part of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureSummary<'a> {
    /// Individuals per condition (healthy included).
    pub cohort: usize,
    /// Cross-validation folds.
    pub folds: usize,
    /// L2 penalty.
    pub lambda: f64,
    /// Markers from the study file.
    pub informative_markers: usize,
    /// Uninformative markers added.
    pub noise_markers: usize,
    /// Per disease.
    pub conditions: &'a [ConditionResult],
}

/// The `biopsy` part of `summary.json`: a tumour's tests, or a test of
/// conditions.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum BiopsyPart<'a> {
    /// A tumour's blood tests.
    Tumour(BiopsySummary<'a>),
    /// Conditions told from health.
    Conditions(conditions::ConditionTestSummary<'a>),
}

/// The `biopsy` part of `summary.json` for a tumour.
#[derive(Debug, Clone, Serialize)]
pub struct BiopsySummary<'a> {
    /// Marker name.
    pub marker: &'a str,
    /// Per blood test.
    pub tests: &'a [TestResult],
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
        drained_in_from_tissue: None,
        extravasated_into_tissue: None,
    };
    for (i, arm) in result.arms.iter().enumerate() {
        let last = arm.times.len() - 1;
        if holds_tissue(study, i) {
            let (d, e) = arm.classes.iter().fold((0.0, 0.0), |(d, e), cc| {
                (d + cc.drained_in[last], e + cc.extravasated[last])
            });
            *mb.drained_in_from_tissue.get_or_insert(0.0) += d;
            *mb.extravasated_into_tissue.get_or_insert(0.0) += e;
        }
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
    let tissue = study
        .tissue
        .as_ref()
        .map(|t| crate::coupling::tissue_section::summarise(t, &result.tissue));
    if let Some(t) = &tissue {
        mb.relative_error = mb.relative_error.max(t.mass_balance_relative_error);
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
        biopsy: match (&study.biopsy, &study.condition_test) {
            (Some(b), _) => Some(BiopsyPart::Tumour(BiopsySummary {
                marker: &b.marker,
                tests: &result.biopsy,
            })),
            (None, Some(t)) => Some(BiopsyPart::Conditions(conditions::summary(
                t,
                &result.condition_tests,
            ))),
            (None, None) => None,
        },
        signature: study.signature.as_ref().map(|s| SignatureSummary {
            cohort: s.cohort,
            folds: s.folds,
            lambda: s.lambda,
            informative_markers: s.informative_markers,
            noise_markers: s.markers.len() - s.informative_markers,
            conditions: &result.signature,
        }),
        tissue,
        effects: exposure::summarise(&study.output_times, &result.effects),
        drugs: drug_summaries(result),
        production: study
            .production
            .as_ref()
            .zip(result.production.as_ref())
            .map(|(m, r)| production::summarise(m, r)),
        instruments: instrument_sample::summarise(&result.instruments),
    }
}

/// Writes the run's files into `dir` (which [`output::prepare_dir`] has
/// checked), recorded as written by `exosim run`; returns their paths.
pub fn write(dir: &Path, study: &Study, result: &RunResult) -> Result<Vec<PathBuf>, OutputError> {
    write_as(dir, study, result, output::Writer::Run)
}

/// The names, relative to the output directory, of the files and folders
/// [`write`] makes for `result`, in the order it writes them.
pub fn planned_files(study: &Study, result: &RunResult) -> Vec<String> {
    let mut files = Vec::new();
    if !result.arms.is_empty() {
        files.push("timeseries.csv".to_string());
        files.push("timeseries.parquet".to_string());
    }
    if !result.biopsy.is_empty() {
        files.push("biopsy_curve.csv".to_string());
        for t in result.biopsy.iter().filter(|t| !t.roc.is_empty()) {
            files.push(format!("biopsy_roc_{}.csv", file_safe(&t.test)));
        }
    }
    files.extend(conditions::planned_files(&result.condition_tests));
    if !result.signature.is_empty() {
        files.push("signature.csv".to_string());
        files.push("signature_markers.csv".to_string());
    }
    if study.tissue.is_some() {
        files.push("tissue_timeseries.csv".to_string());
        files.push("tissue_snapshots".to_string());
    }
    if has_blood_profile(study, result) {
        files.push("blood_profile.csv".to_string());
    }
    if result.production.is_some() {
        files.push("production.csv".to_string());
        files.push("production.parquet".to_string());
    }
    files.extend(instrument_sample::planned_files(&study.instruments));
    // The summary goes last: its presence marks a complete result.
    files.push("summary.json".to_string());
    files
}

/// [`write`], recording `by` as the command that wrote the folder. The
/// manifest ([`output::Manifest`]) that lists every file is written before
/// any of them, so that a run killed while writing is still known for what
/// it wrote (and `--force` can remove it).
pub fn write_as(
    dir: &Path,
    study: &Study,
    result: &RunResult,
    by: output::Writer,
) -> Result<Vec<PathBuf>, OutputError> {
    let planned = planned_files(study, result);
    output::Manifest::new(by, planned.clone()).write(dir)?;
    if !result.arms.is_empty() {
        let table = timeseries(study, result);
        output::write_csv(&dir.join("timeseries.csv"), &table)?;
        output::write_parquet(&dir.join("timeseries.parquet"), &table)?;
    }
    if !result.biopsy.is_empty() {
        output::write_csv(&dir.join("biopsy_curve.csv"), &biopsy_curve(&result.biopsy))?;
        for t in result.biopsy.iter().filter(|t| !t.roc.is_empty()) {
            let path = dir.join(format!("biopsy_roc_{}.csv", file_safe(&t.test)));
            output::write_csv(&path, &biopsy_roc(t))?;
        }
    }
    if let Some(t) = &study.condition_test {
        conditions::write(dir, t, &result.condition_tests)?;
    }
    if !result.signature.is_empty() {
        write_signature_folds(&dir.join("signature.csv"), &result.signature)?;
        write_signature_markers(&dir.join("signature_markers.csv"), &result.signature)?;
    }
    if let Some(model) = &study.tissue {
        crate::coupling::tissue_section::write(dir, model, &result.tissue)?;
    }
    if has_blood_profile(study, result) {
        write_blood_profile(&dir.join("blood_profile.csv"), study, result)?;
    }
    if let Some(run) = &result.production {
        let table = production_table(run);
        output::write_csv(&dir.join("production.csv"), &table)?;
        output::write_parquet(&dir.join("production.parquet"), &table)?;
    }
    instrument_sample::write(dir, &result.instruments)?;
    output::write_json(&dir.join("summary.json"), &summary(study, result))?;
    Ok(planned.iter().map(|f| dir.join(f)).collect())
}

/// One row per harvest of the `[production]` run, all units together:
/// `harvest`, `time_s`, `cells`, `medium_ml`, `collected`,
/// `concentration_per_ml`, `recovered`.
pub fn production_table(run: &ProductionRun) -> Table {
    let h = &run.harvests;
    let columns: [(&str, &str, &str, Vec<f64>); 7] = [
        (
            "harvest",
            "1",
            "harvest number, from 1",
            h.iter().map(|x| f64::from(x.index)).collect(),
        ),
        (
            "time_s",
            "s",
            "time since seeding",
            h.iter().map(|x| x.time).collect(),
        ),
        (
            "cells",
            "cells",
            "cells in all units at the harvest",
            h.iter().map(|x| x.cells).collect(),
        ),
        (
            "medium_ml",
            "mL",
            "conditioned medium collected",
            h.iter().map(|x| x.volume * 1e6).collect(),
        ),
        (
            "collected",
            "vesicles",
            "vesicles collected with the medium",
            h.iter().map(|x| x.collected).collect(),
        ),
        (
            "concentration_per_ml",
            "/mL",
            "vesicles per mL of the collected medium",
            h.iter().map(|x| x.concentration * 1e-6).collect(),
        ),
        (
            "recovered",
            "vesicles",
            "vesicles kept by the isolation",
            h.iter().map(|x| x.recovered).collect(),
        ),
    ];
    Table::from_columns(columns)
}

/// Detection probability against diameter: `diameter_m`, then per test its
/// probability and Wilson 95 % bounds.
pub fn biopsy_curve(tests: &[TestResult]) -> Table {
    let mut table = Table::new();
    let column = |name: String, unit: &str, description: String, values: Vec<f64>| Column {
        name,
        unit: unit.into(),
        description,
        values,
    };
    let diameters = tests
        .first()
        .map(|t| t.curve.iter().map(|p| p.diameter).collect())
        .unwrap_or_default();
    table.push_column(column(
        "diameter_m".into(),
        "m",
        "tumour diameter".into(),
        diameters,
    ));
    for t in tests {
        let series =
            |f: fn(&crate::biopsy::screening::CurvePoint) -> f64| t.curve.iter().map(f).collect();
        table.push_column(column(
            format!("{}/probability", t.test),
            "1",
            format!("detection probability of one {} test", t.test),
            series(|p| p.probability),
        ));
        table.push_column(column(
            format!("{}/low", t.test),
            "1",
            "Wilson 95 % lower bound".into(),
            series(|p| p.low),
        ));
        table.push_column(column(
            format!("{}/high", t.test),
            "1",
            "Wilson 95 % upper bound".into(),
            series(|p| p.high),
        ));
    }
    table
}

/// The ROC curve of one test at the study's ROC diameter.
pub fn biopsy_roc(test: &TestResult) -> Table {
    roc_table(&test.roc)
}

/// A ROC curve as a table: threshold, sensitivity, specificity.
pub fn roc_table(rows: &[crate::biopsy::study::RocRow]) -> Table {
    Table::from_columns([
        (
            "threshold",
            "/m3",
            "threshold on the estimated plasma concentration",
            rows.iter().map(|r| r.threshold).collect::<Vec<_>>(),
        ),
        (
            "sensitivity",
            "1",
            "true-positive rate",
            rows.iter().map(|r| r.sensitivity).collect(),
        ),
        (
            "specificity",
            "1",
            "true-negative rate",
            rows.iter().map(|r| r.specificity).collect(),
        ),
    ])
}

/// A test name made safe for a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether the run has a blood profile to write: body arms, report times
/// to take it at, and a class that carries markers.
fn has_blood_profile(study: &Study, result: &RunResult) -> bool {
    !result.summaries.is_empty()
        && !study.report_times.is_empty()
        && study.vesicles.iter().any(|v| !v.markers.is_empty())
}

/// The markers carried by blood at each report time, per mL of plasma:
/// `(sample name, marker → level)`, one sample `{arm}@{t}s` per arm and
/// report time, each level `Σ_class copies × plasma_per_ml`. It is the
/// sample a cell-of-origin deconvolution reads.
pub fn blood_profile(study: &Study, result: &RunResult) -> Vec<(String, BTreeMap<String, f64>)> {
    let mut samples = Vec::new();
    for arm in &study.arms {
        for &t in &study.report_times {
            let key = format!("{t}");
            let mut levels = BTreeMap::new();
            for v in &study.vesicles {
                for marker in v.markers.keys() {
                    levels.entry(marker.clone()).or_insert(0.0);
                }
            }
            for s in result.summaries.iter().filter(|s| s.arm == arm.name) {
                let class = study.vesicles.iter().find(|v| v.name == s.vesicles);
                let (Some(class), Some(plasma)) = (class, s.plasma_per_ml.get(&key)) else {
                    continue;
                };
                for (marker, copies) in &class.markers {
                    *levels.get_mut(marker).expect("listed above") += copies * plasma;
                }
            }
            samples.push((format!("{}@{t}s", arm.name), levels));
        }
    }
    samples
}

/// `blood_profile.csv`: `marker`, then one column per [`blood_profile`]
/// sample, in the layout of `exosim deconvolve`'s sample file.
fn write_blood_profile(path: &Path, study: &Study, result: &RunResult) -> Result<(), OutputError> {
    let samples = blood_profile(study, result);
    let mut header = vec!["marker"];
    header.extend(samples.iter().map(|(name, _)| name.as_str()));
    let markers: Vec<&String> = samples
        .first()
        .map(|s| s.1.keys().collect())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = markers
        .iter()
        .map(|m| {
            let mut row = vec![m.to_string()];
            row.extend(samples.iter().map(|(_, levels)| format!("{}", levels[*m])));
            row
        })
        .collect();
    write_long_csv(path, &header, &rows)
}

/// Writes a long-format CSV (text and numeric columns) atomically; numbers in
/// their shortest round-trip form.
fn write_long_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), OutputError> {
    output::write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        let io = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => std::io::Error::other(format!("{other:?}")),
        };
        csv.write_record(header).map_err(io)?;
        for row in rows {
            csv.write_record(row).map_err(io)?;
        }
        csv.flush()
    })
}

/// `signature.csv`, one row per disease and fold, then a `mean` row per
/// disease: `condition,fold,train_auc,test_auc`.
pub fn write_signature_folds(path: &Path, results: &[ConditionResult]) -> Result<(), OutputError> {
    let mut rows = Vec::new();
    for r in results {
        for (f, (train, test)) in r
            .train_auc_per_fold
            .iter()
            .zip(&r.test_auc_per_fold)
            .enumerate()
        {
            rows.push(vec![
                r.condition.clone(),
                (f + 1).to_string(),
                train.to_string(),
                test.to_string(),
            ]);
        }
        rows.push(vec![
            r.condition.clone(),
            "mean".into(),
            r.train_auc.to_string(),
            r.test_auc.to_string(),
        ]);
    }
    write_long_csv(path, &["condition", "fold", "train_auc", "test_auc"], &rows)
}

/// `signature_markers.csv`, one row per disease and marker:
/// `condition,marker,fold_change,auc,auc_low,auc_high,closed_form_auc`
/// (the interval is DeLong's 95 %).
pub fn write_signature_markers(
    path: &Path,
    results: &[ConditionResult],
) -> Result<(), OutputError> {
    let rows: Vec<Vec<String>> = results
        .iter()
        .flat_map(|r| {
            r.markers.iter().map(|m| {
                vec![
                    r.condition.clone(),
                    m.marker.clone(),
                    m.fold_change.to_string(),
                    m.auc.auc.to_string(),
                    m.auc.lower.to_string(),
                    m.auc.upper.to_string(),
                    m.closed_form_auc.to_string(),
                ]
            })
        })
        .collect();
    write_long_csv(
        path,
        &[
            "condition",
            "marker",
            "fold_change",
            "auc",
            "auc_low",
            "auc_high",
            "closed_form_auc",
        ],
        &rows,
    )
}
