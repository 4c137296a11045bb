//! Running a calibration: the study run at each trial point, the search
//! from every start (finished starts saved, so that a rerun skips them),
//! the intervals, and the files.
//!
//! Every evaluation runs the campaign's study with the parameters set and
//! the campaign's seed: the body engine is deterministic, and a study with
//! random engines (tissue, cohorts) sees the same random numbers at every
//! trial point (common random numbers), so that −log L is a smooth
//! function of the parameters rather than noise.

use std::path::Path;
use std::sync::Mutex;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::bootstrap;
use super::fit::{self, End, Minimum, Objective, Start};
use super::likelihood::{ErrorModel, Likelihood, Sigma};
use super::scale::Scale;
use super::{Calibration, Intervals};
use crate::campaign::design;
use crate::campaign::resolve::Campaign;
use crate::output::{self, OutputError};
use crate::run::RunResult;
use crate::scenario::{Override, Study};

/// The files a calibration writes, relative to its directory.
pub const FILES: [&str; 5] = [
    "calibration.json",
    "calibration_fit.csv",
    "calibration_timeseries.csv",
    "summary.json",
    "calibration_curves.csv",
];
/// The saved starts of a calibration under way.
pub const STATE_FILE: &str = "calibration_state.json";
/// Every refitted resample of a bootstrap.
pub const BOOTSTRAP_FILE: &str = "calibration_bootstrap.csv";

/// The files `cal` writes: [`FILES`], and with bootstrap intervals
/// [`BOOTSTRAP_FILE`].
pub fn files(cal: &Calibration) -> Vec<String> {
    let mut f: Vec<String> = FILES.map(String::from).to_vec();
    if matches!(cal.intervals, Intervals::Bootstrap { .. }) {
        f.push(BOOTSTRAP_FILE.into());
    }
    f
}

/// The model's value of every data row with the parameters at `theta`
/// (their values in their units); `None` when the study refuses the
/// values or the run fails.
pub fn predict(campaign: &Campaign, cal: &Calibration, theta: &[f64]) -> Option<Vec<f64>> {
    let (_, result) = run_at(campaign, theta)?;
    Some(
        cal.data
            .rows
            .iter()
            .map(|r| r.observable.evaluate(&result))
            .collect(),
    )
}

/// The campaign's study (its fixed values, then the parameters at
/// `theta`) with the campaign's seed, and its run.
pub fn run_at(campaign: &Campaign, theta: &[f64]) -> Option<(Study, RunResult)> {
    run_with_seed(campaign, theta, campaign.seed)
}

/// The campaign's study (its fixed values, then the parameters at
/// `theta`) with `seed`, and its run.
pub fn run_with_seed(campaign: &Campaign, theta: &[f64], seed: u64) -> Option<(Study, RunResult)> {
    let sets: Vec<Override> = (campaign.sets.iter().cloned())
        .chain(
            campaign
                .parameters
                .iter()
                .zip(theta)
                .map(|(p, &x)| p.set(x)),
        )
        .collect();
    let mut study = campaign.source.study(&sets).ok()?;
    study.seed = seed;
    let result = crate::run::run(&study, |_| {}).ok()?;
    Some((study, result))
}

/// Box coordinates to parameter values.
pub fn values(scales: &[Scale], u: &[f64]) -> Vec<f64> {
    scales.iter().zip(u).map(|(s, &x)| s.value(x)).collect()
}

/// −log L at a point of the box, plus the priors' −log density when the
/// calibration has priors (−log posterior, up to a constant).
pub fn cost(campaign: &Campaign, cal: &Calibration, u: &[f64]) -> f64 {
    cost_with(campaign, cal, &cal.likelihood, u)
}

/// [`cost`] with the data and error model of `l` (a bootstrap's
/// resample) in place of the calibration's.
fn cost_with(campaign: &Campaign, cal: &Calibration, l: &Likelihood, u: &[f64]) -> f64 {
    let theta = values(&cal.scales, u);
    match predict(campaign, cal, &theta) {
        Some(fitted) => l.nll(&fitted) + prior_cost(cal, &theta),
        None => f64::INFINITY,
    }
}

/// Σ −ln prior(θⱼ) over the parameters with a prior.
pub fn prior_cost(cal: &Calibration, theta: &[f64]) -> f64 {
    cal.priors
        .iter()
        .zip(theta)
        .filter_map(|(p, &x)| p.map(|p| p.neg_log_density(x)))
        .sum()
}

/// A parameter's estimate and interval, in its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Path of the parameter in the study.
    pub path: String,
    /// Unit of the values, empty for numbers.
    pub unit: String,
    /// Maximum-likelihood estimate.
    pub estimate: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// The profile stays under the cut down to the lower bound: the data
    /// do not bound the parameter from below.
    pub low_at_bound: bool,
    /// As `low_at_bound`, above.
    pub high_at_bound: bool,
    /// Searched on the log scale.
    pub log_scale: bool,
}

/// The result of the search and the intervals, before any file.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Every start, in index order.
    pub starts: Vec<Start>,
    /// The best point.
    pub best: Minimum,
    /// Each parameter's interval ends (box coordinates).
    pub intervals: Vec<(End, End)>,
    /// Runs of the study for the profiles.
    pub profile_evaluations: u64,
    /// A bootstrap's refitted resamples, in index order (none for
    /// profile intervals).
    pub resamples: Vec<Start>,
}

/// What a calibration under way has finished: its starts, then the
/// resamples of a bootstrap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// Starts of the search.
    pub starts: Vec<Start>,
    /// Refitted resamples.
    #[serde(default)]
    pub resamples: Vec<Start>,
}

/// Half the χ²₁ quantile at `confidence`: the rise of −log L that bounds
/// a profile-likelihood interval (1.92 at 95 %).
pub fn cut(confidence: f64) -> f64 {
    ChiSquared::new(1.0)
        .map(|c| 0.5 * c.inverse_cdf(confidence))
        .unwrap_or(1.920_729_4)
}

/// Minimises `f` over the box from `starts` Latin-hypercube starts
/// (seeded by `seed`), skipping those in `done`, calling `saved` with
/// every start finished so far after each; then the profile intervals at
/// `confidence`. Starts and profiles run in parallel; the result does
/// not depend on their order.
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    f: &(dyn Fn(&[f64]) -> f64 + Sync),
    d: usize,
    starts: u64,
    seed: u64,
    max_evaluations: u64,
    confidence: f64,
    done: Vec<Start>,
    saved: &(dyn Fn(&[Start]) + Sync),
) -> Fit {
    let (starts, best) = search(f, d, starts, seed, max_evaluations, done, saved);
    let (intervals, profile_evaluations) = profiles(f, &best, d, confidence, max_evaluations);
    Fit {
        starts,
        best,
        intervals,
        profile_evaluations,
        resamples: Vec::new(),
    }
}

/// The multi-start search of [`estimate`]: every start, and the best.
fn search(
    f: &(dyn Fn(&[f64]) -> f64 + Sync),
    d: usize,
    starts: u64,
    seed: u64,
    max_evaluations: u64,
    done: Vec<Start>,
    saved: &(dyn Fn(&[Start]) + Sync),
) -> (Vec<Start>, Minimum) {
    let points = design::latin_hypercube(starts as usize, d, seed);
    let finished = Mutex::new(done);
    let todo: Vec<u64> = (0..starts)
        .filter(|i| {
            !finished
                .lock()
                .expect("no panic")
                .iter()
                .any(|s| s.index == *i)
        })
        .collect();
    todo.par_iter().for_each(|&i| {
        let s = fit::run_start(f, i, points.row(i as usize), max_evaluations);
        let mut all = finished.lock().expect("no panic while held");
        all.push(s);
        all.sort_by_key(|s| s.index);
        saved(&all);
    });
    let starts = finished.into_inner().expect("no panic while held");
    let top = fit::best(&starts).expect("at least one start");
    let best = Minimum {
        u: top.to.clone(),
        cost: top.cost,
    };
    (starts, best)
}

/// The profile-likelihood interval of every coordinate, and the runs
/// they took.
fn profiles(
    f: &(dyn Fn(&[f64]) -> f64 + Sync),
    best: &Minimum,
    d: usize,
    confidence: f64,
    max_evaluations: u64,
) -> (Vec<(End, End)>, u64) {
    let objective = Objective::new(f);
    let cut = cut(confidence);
    let intervals = (0..d)
        .into_par_iter()
        .map(|j| fit::profile(&objective, best, j, cut, max_evaluations))
        .collect();
    (intervals, objective.evaluations())
}

/// The search and the intervals with −log L from runs of `campaign`'s
/// study against `cal` (the campaign's calibration, or a variant with
/// other data): profiles, or a bootstrap. `done` is skipped; `saved`
/// receives everything finished after each start and each chunk of
/// resamples.
pub fn fit_runs(
    campaign: &Campaign,
    cal: &Calibration,
    done: Finished,
    saved: &(dyn Fn(&Finished) + Sync),
) -> Fit {
    let f = |u: &[f64]| cost(campaign, cal, u);
    let d = cal.scales.len();
    let save_starts = |starts: &[Start]| {
        saved(&Finished {
            starts: starts.to_vec(),
            resamples: Vec::new(),
        })
    };
    let Intervals::Bootstrap { resamples } = cal.intervals else {
        return estimate(
            &f,
            d,
            cal.starts,
            campaign.seed,
            cal.max_evaluations,
            campaign.confidence,
            done.starts,
            &save_starts,
        );
    };
    let (starts, best) = search(
        &f,
        d,
        cal.starts,
        campaign.seed,
        cal.max_evaluations,
        done.starts,
        &save_starts,
    );
    let all = resample(
        campaign,
        cal,
        &starts,
        &best,
        resamples,
        done.resamples,
        saved,
    );
    Fit {
        intervals: bootstrap::percentile_intervals(&all, d, campaign.confidence),
        starts,
        best,
        profile_evaluations: 0,
        resamples: all,
    }
}

/// A bootstrap's `count` resamples around the model at `best`, those in
/// `done` kept, the rest refitted a chunk at a time (each chunk saved).
fn resample(
    campaign: &Campaign,
    cal: &Calibration,
    starts: &[Start],
    best: &Minimum,
    count: u64,
    mut done: Vec<Start>,
    saved: &(dyn Fn(&Finished) + Sync),
) -> Vec<Start> {
    let Some(fitted) = predict(campaign, cal, &values(&cal.scales, &best.u)) else {
        return Vec::new();
    };
    let todo: Vec<u64> = (0..count)
        .filter(|b| !done.iter().any(|s| s.index == *b))
        .collect();
    let chunk = (rayon::current_num_threads() * 2).max(4);
    let with = |l: &Likelihood, u: &[f64]| cost_with(campaign, cal, l, u);
    for indices in todo.chunks(chunk) {
        done.extend(bootstrap::refit(
            &with,
            &cal.likelihood,
            &fitted,
            &best.u,
            indices,
            campaign.seed,
            cal.max_evaluations,
        ));
        done.sort_by_key(|s| s.index);
        saved(&Finished {
            starts: starts.to_vec(),
            resamples: done.clone(),
        });
    }
    done
}

/// The saved starts of a calibration, keyed by its fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    fingerprint: String,
    #[serde(flatten)]
    finished: Finished,
}

/// The starts saved in `dir` for this calibration; none without a state
/// file; an error for another calibration's.
fn read_state(dir: &Path, fingerprint: &str) -> Result<Finished, OutputError> {
    let path = dir.join(STATE_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Finished::default());
    };
    match serde_json::from_str::<State>(&text) {
        Ok(s) if s.fingerprint == fingerprint => Ok(s.finished),
        _ => Err(foreign_state(&path)),
    }
}

/// The error of a saved state that is not this calibration's.
pub fn foreign_state(path: &Path) -> OutputError {
    OutputError::Mismatch {
        path: path.to_path_buf(),
        message: "this state belongs to another calibration (study, campaign or data \
                  changed); remove it or choose another output directory"
            .into(),
    }
}

/// Runs `campaign`'s calibration into `dir`, resuming its saved starts;
/// `progress` receives (starts done, starts). Writes [`FILES`]: the report,
/// each data row with its fit, the fitted run's whole time series (the
/// curves over the data) and the summary; then removes the state file.
pub fn calibrate(
    campaign: &Campaign,
    dir: &Path,
    progress: impl Fn(u64, u64) + Sync,
) -> Result<Report, OutputError> {
    let Some(cal) = campaign.calibration.as_ref() else {
        return Err(OutputError::Mismatch {
            path: dir.to_path_buf(),
            message: "the campaign is not a calibration".into(),
        });
    };
    let done = read_state(dir, &campaign.fingerprint)?;
    let state_path = dir.join(STATE_FILE);
    let save_error = Mutex::new(None);
    let total = cal.starts
        + match cal.intervals {
            Intervals::Bootstrap { resamples } => resamples,
            Intervals::Profile => 0,
        };
    let saved = |finished: &Finished| {
        let state = State {
            fingerprint: campaign.fingerprint.clone(),
            finished: finished.clone(),
        };
        if let Err(e) = output::write_json(&state_path, &state) {
            *save_error.lock().expect("no panic while held") = Some(e);
        }
        progress(
            (finished.starts.len() + finished.resamples.len()) as u64,
            total,
        );
    };
    progress((done.starts.len() + done.resamples.len()) as u64, total);
    let fitted = fit_runs(campaign, cal, done, &saved);
    if let Some(e) = save_error.into_inner().expect("no panic while held") {
        return Err(e);
    }
    let report = Report::new(campaign, cal, &fitted);
    let fitted_run = run_at(campaign, &report.values());
    let fitted_values: Vec<f64> = match &fitted_run {
        Some((_, result)) => cal
            .data
            .rows
            .iter()
            .map(|r| r.observable.evaluate(result))
            .collect(),
        None => Vec::new(),
    };
    let labels = curve_labels(cal);
    write_fit_csv(&dir.join(FILES[1]), cal, &fitted_values, &labels)?;
    if let Some((study, result)) = &fitted_run {
        output::write_csv(&dir.join(FILES[2]), &crate::run::timeseries(study, result))?;
        write_curves_csv(&dir.join(FILES[4]), cal, &labels, study, result)?;
    }
    if !fitted.resamples.is_empty() {
        write_bootstrap_csv(&dir.join(BOOTSTRAP_FILE), campaign, cal, &fitted.resamples)?;
    }
    output::write_json(&dir.join(FILES[0]), &report)?;
    output::write_json(&dir.join(FILES[3]), &report.summary())?;
    std::fs::remove_file(&state_path).map_err(|source| OutputError::Io {
        path: state_path.clone(),
        source,
    })?;
    Ok(report)
}

/// `calibration.json`: the estimates, intervals, fit and every start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// exosim version.
    pub exosim_version: String,
    /// Campaign name.
    pub campaign: String,
    /// Digest of the study, the campaign and the data.
    pub fingerprint: String,
    /// Values fixed over the study for every run (`PATH=VALUE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
    /// The data file.
    pub data: String,
    /// Rows of data (n).
    pub rows: usize,
    /// The error model.
    pub error_model: ErrorModel,
    /// Where σ came from: `per_row` (the sd column), `fixed`,
    /// `estimated`, `estimated_per_group`.
    pub sigma_source: String,
    /// σ at the estimate (fixed or estimated; `null` per row or per group).
    pub sigma: Option<f64>,
    /// Each group's σ at the estimate, with a σ per group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sigma_groups: Vec<GroupSigma>,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// `maximum_likelihood`, or `maximum_a_posteriori` when a parameter
    /// has a prior (its intervals are then profile-posterior intervals).
    pub objective: String,
    /// −log posterior at the estimate (−log L plus the priors' −log
    /// density); `null` without priors.
    pub neg_log_posterior: Option<f64>,
    /// How intervals were found: `profile` or `bootstrap`.
    pub intervals: String,
    /// A bootstrap's resamples: drawn, and refitted with a finite −log L
    /// (those the intervals come from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resamples: Option<Resamples>,
    /// One per parameter.
    pub estimates: Vec<Estimate>,
    /// −log L at the estimate.
    pub neg_log_likelihood: f64,
    /// Parameters estimated, σ included when estimated (k).
    pub estimated: usize,
    /// Akaike: 2k + 2(−log L).
    pub aic: f64,
    /// Bayesian: k ln n + 2(−log L).
    pub bic: f64,
    /// Goodness of fit.
    pub goodness: Goodness,
    /// Every start (values in the parameters' units).
    pub starts: Vec<StartRecord>,
    /// Runs of the study, starts and profiles together.
    pub evaluations: u64,
}

/// How well the estimate fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goodness {
    /// Σ of squared standardised residuals.
    pub chi_square: f64,
    /// n − parameters of the study (σ excluded).
    pub degrees_of_freedom: i64,
    /// P(χ²_dof ≥ chi_square) when σ is known (sd column or fixed);
    /// `null` when σ is estimated (the sum is then n by construction).
    pub p_value: Option<f64>,
    /// Root mean square of the residuals on the model's scale.
    pub rms_residual: f64,
}

/// One start, in the parameters' units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRecord {
    /// Which start.
    pub index: u64,
    /// Values it began from.
    pub from: Vec<f64>,
    /// Values it ended at.
    pub to: Vec<f64>,
    /// −log L there (−log posterior with priors).
    pub neg_log_likelihood: f64,
    /// Runs it took.
    pub evaluations: u64,
}

/// The estimates in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// exosim version.
    pub exosim_version: String,
    /// Campaign name.
    pub campaign: String,
    /// `calibration`.
    pub method: String,
    /// One per parameter.
    pub estimates: Vec<Estimate>,
    /// −log L at the estimate.
    pub neg_log_likelihood: f64,
    /// Akaike's criterion.
    pub aic: f64,
    /// Bayesian criterion.
    pub bic: f64,
    /// The files written.
    pub files: Vec<String>,
}

impl Report {
    /// The report of `fitted`, a fit of `cal`.
    pub fn new(campaign: &Campaign, cal: &Calibration, fitted: &Fit) -> Report {
        let estimates = estimates(campaign, &cal.scales, fitted);
        let theta = values(&cal.scales, &fitted.best.u);
        let prediction = predict(campaign, cal, &theta).unwrap_or_default();
        let n = cal.data.rows.len();
        let k = cal.scales.len() + cal.likelihood.estimated_sigmas();
        let nll = cal.likelihood.nll(&prediction);
        let map = cal.priors.iter().any(Option::is_some);
        let start_evaluations: u64 = fitted.starts.iter().map(|s| s.evaluations).sum();
        Report {
            exosim_version: crate::run::VERSION.to_string(),
            campaign: campaign.name.clone(),
            fingerprint: campaign.fingerprint.clone(),
            sets: campaign.sets.iter().map(|s| s.to_string()).collect(),
            data: cal.data.file.clone(),
            rows: n,
            error_model: cal.likelihood.model,
            sigma_source: match cal.likelihood.sigma {
                Sigma::PerRow(_) => "per_row",
                Sigma::Fixed(_) => "fixed",
                Sigma::Estimated => "estimated",
                Sigma::PerGroup { .. } => "estimated_per_group",
            }
            .into(),
            sigma: Some(cal.likelihood.sigma_at(&prediction)).filter(|s| s.is_finite()),
            sigma_groups: sigma_groups(&cal.likelihood, &prediction),
            confidence: campaign.confidence,
            objective: if map {
                "maximum_a_posteriori"
            } else {
                "maximum_likelihood"
            }
            .into(),
            neg_log_posterior: map.then_some(fitted.best.cost),
            intervals: match cal.intervals {
                Intervals::Profile => "profile",
                Intervals::Bootstrap { .. } => "bootstrap",
            }
            .into(),
            resamples: match cal.intervals {
                Intervals::Profile => None,
                Intervals::Bootstrap { resamples } => Some(Resamples {
                    drawn: resamples,
                    fitted: (fitted.resamples.iter())
                        .filter(|s| s.cost.is_finite())
                        .count() as u64,
                }),
            },
            estimates,
            neg_log_likelihood: nll,
            estimated: k,
            aic: 2.0 * k as f64 + 2.0 * nll,
            bic: k as f64 * (n as f64).ln() + 2.0 * nll,
            goodness: goodness(&cal.likelihood, &prediction, cal.scales.len()),
            starts: fitted
                .starts
                .iter()
                .map(|s| StartRecord {
                    index: s.index,
                    from: values(&cal.scales, &s.from),
                    to: values(&cal.scales, &s.to),
                    neg_log_likelihood: s.cost,
                    evaluations: s.evaluations,
                })
                .collect(),
            evaluations: start_evaluations
                + fitted.profile_evaluations
                + fitted.resamples.iter().map(|s| s.evaluations).sum::<u64>(),
        }
    }

    /// The estimates, in the parameters' order.
    pub fn values(&self) -> Vec<f64> {
        self.estimates.iter().map(|e| e.estimate).collect()
    }

    /// What `summary.json` holds.
    pub fn summary(&self) -> Summary {
        Summary {
            exosim_version: self.exosim_version.clone(),
            campaign: self.campaign.clone(),
            method: "calibration".into(),
            estimates: self.estimates.clone(),
            neg_log_likelihood: self.neg_log_likelihood,
            aic: self.aic,
            bic: self.bic,
            files: FILES
                .iter()
                .chain(self.resamples.as_ref().map(|_| &BOOTSTRAP_FILE))
                .map(|f| f.to_string())
                .collect(),
        }
    }
}

/// A bootstrap's count in `calibration.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resamples {
    /// Data sets drawn.
    pub drawn: u64,
    /// Refitted with a finite −log L.
    pub fitted: u64,
}

/// `calibration_bootstrap.csv`: every resample, its refitted parameter
/// values (in their units) and −log L of its own data there.
fn write_bootstrap_csv(
    path: &Path,
    campaign: &Campaign,
    cal: &Calibration,
    resamples: &[Start],
) -> Result<(), OutputError> {
    output::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        let mut header = vec!["resample".to_string()];
        header.extend(campaign.parameters.iter().map(|p| p.path.to_string()));
        header.extend(["neg_log_likelihood".into(), "evaluations".into()]);
        out.write_record(&header).map_err(std::io::Error::other)?;
        for r in resamples {
            let mut row = vec![r.index.to_string()];
            row.extend(values(&cal.scales, &r.to).iter().map(f64::to_string));
            row.extend([r.cost.to_string(), r.evaluations.to_string()]);
            out.write_record(&row).map_err(std::io::Error::other)?;
        }
        out.flush()
    })
}

fn estimates(campaign: &Campaign, scales: &[Scale], fitted: &Fit) -> Vec<Estimate> {
    campaign
        .parameters
        .iter()
        .zip(scales)
        .zip(&fitted.intervals)
        .enumerate()
        .map(|(j, ((p, s), (lo, hi)))| Estimate {
            path: p.path.to_string(),
            unit: p.unit.clone(),
            estimate: s.value(fitted.best.u[j]),
            low: s.value(lo.u),
            high: s.value(hi.u),
            low_at_bound: lo.open,
            high_at_bound: hi.open,
            log_scale: s.log,
        })
        .collect()
}

/// One group's σ in `calibration.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSigma {
    /// The value of the column grouped by.
    pub group: String,
    /// Rows of data in the group.
    pub rows: usize,
    /// σ at the estimate.
    pub sigma: f64,
}

fn sigma_groups(l: &Likelihood, fitted: &[f64]) -> Vec<GroupSigma> {
    let Sigma::PerGroup { group, names } = &l.sigma else {
        return Vec::new();
    };
    names
        .iter()
        .zip(l.group_sigmas(fitted))
        .enumerate()
        .map(|(g, (name, sigma))| GroupSigma {
            group: name.clone(),
            rows: group.iter().filter(|&&x| x == g).count(),
            sigma,
        })
        .collect()
}

fn goodness(l: &Likelihood, fitted: &[f64], parameters: usize) -> Goodness {
    let residuals = l.residuals(fitted);
    let n = residuals.len().max(1) as f64;
    let chi_square: f64 = residuals.iter().map(|r| r.standardised.powi(2)).sum();
    let dof = residuals.len() as i64 - parameters as i64;
    let p_value = match (&l.sigma, dof) {
        (Sigma::Estimated | Sigma::PerGroup { .. }, _) | (_, ..=0) => None,
        _ => ChiSquared::new(dof as f64)
            .ok()
            .map(|c| 1.0 - c.cdf(chi_square)),
    };
    Goodness {
        chi_square,
        degrees_of_freedom: dof,
        p_value,
        rms_residual: (residuals.iter().map(|r| r.raw.powi(2)).sum::<f64>() / n).sqrt(),
    }
}

/// `calibration_fit.csv`: each data row with the fitted value and its
/// residuals.
/// Each data row's fitted curve: the row's observable without its time
/// (kind, arm, class, place), for a body observable read at a time; empty
/// for the others. Rows of one curve share a label.
fn curve_labels(cal: &Calibration) -> Vec<String> {
    cal.data
        .rows
        .iter()
        .map(|r| {
            if r.observable.at_time(0.0).is_none() {
                return String::new();
            }
            let s = &r.spec;
            let kind = serde_json::to_value(s.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            [
                Some(kind),
                s.place.clone(),
                s.vesicles.clone(),
                s.arm.clone(),
                s.variant.clone(),
                s.cell_type.clone(),
                s.state.clone(),
                s.molecule.clone(),
                s.effect.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect()
}

/// `calibration_curves.csv`: every fitted curve (see [`curve_labels`]) at
/// every output time of the fitted run (the tissue's own for a tissue
/// observable), the curves over the data.
fn write_curves_csv(
    path: &Path,
    cal: &Calibration,
    labels: &[String],
    study: &Study,
    result: &RunResult,
) -> Result<(), OutputError> {
    let mut text = String::from("curve,time_s,fitted\n");
    let mut drawn: Vec<&str> = Vec::new();
    for (row, label) in cal.data.rows.iter().zip(labels) {
        if label.is_empty() || drawn.contains(&label.as_str()) {
            continue;
        }
        drawn.push(label);
        for t in row.observable.curve_times(study, result) {
            let value = row
                .observable
                .at_time(t)
                .map_or(f64::NAN, |o| o.evaluate(result));
            text.push_str(&format!("{label},{t},{value}\n"));
        }
    }
    output::write_atomic(path, |w| w.write_all(text.as_bytes()))
}

fn write_fit_csv(
    path: &Path,
    cal: &Calibration,
    fitted: &[f64],
    labels: &[String],
) -> Result<(), OutputError> {
    let residuals = cal.likelihood.residuals(fitted);
    let number = |x: f64| {
        if x.is_finite() {
            x.to_string()
        } else {
            String::new()
        }
    };
    output::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "line",
            "name",
            "observable",
            "unit",
            "time_s",
            "value",
            "sd",
            "fitted",
            "residual",
            "standardised_residual",
            "curve",
        ])
        .map_err(std::io::Error::other)?;
        for (i, row) in cal.data.rows.iter().enumerate() {
            let f = fitted.get(i).copied().unwrap_or(f64::NAN);
            out.write_record([
                row.line.to_string(),
                row.spec.name.clone(),
                row.observable.description.clone(),
                row.observable.unit.clone(),
                row.spec.time.map_or(String::new(), |t| number(t.si())),
                number(row.value),
                row.sd.map_or(String::new(), number),
                number(f),
                number(residuals.get(i).map_or(f64::NAN, |r| r.raw)),
                number(residuals.get(i).map_or(f64::NAN, |r| r.standardised)),
                labels[i].clone(),
            ])
            .map_err(std::io::Error::other)?;
        }
        out.flush()
    })
}
