//! Running an ABC-SMC calibration for a campaign: each proposal is one run
//! of the study with the parameters set and a seed of its own (the noise
//! of a random engine is part of what ABC compares, unlike the common
//! random numbers of a maximum-likelihood fit); each finished generation
//! is saved, so that a rerun resumes after the last one; the files.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Abc;
use super::smc::{self, Generation, Model, Sampled, Stop};
use crate::campaign::calibration::run::{foreign_state, run_with_seed};
use crate::campaign::resolve::Campaign;
use crate::output::{self, OutputError};

/// The files an ABC-SMC calibration writes, relative to its directory.
pub const FILES: [&str; 5] = [
    "abc.json",
    "abc_posterior.csv",
    "abc_generations.csv",
    "abc_fit.csv",
    "summary.json",
];
/// The finished generations of a calibration under way.
pub const STATE_FILE: &str = "abc_state.json";

/// What `abc_state.json` holds: the generations, and whose they are.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    fingerprint: String,
    sampled: Sampled,
}

/// The value of every data row in a run of the campaign's study at
/// `values` with `seed`; `None` when the study refuses the values.
pub fn summaries(campaign: &Campaign, abc: &Abc, values: &[f64], seed: u64) -> Option<Vec<f64>> {
    let (_, result) = run_with_seed(campaign, values, seed)?;
    Some(
        abc.data
            .rows
            .iter()
            .map(|r| r.observable.evaluate(&result))
            .collect(),
    )
}

/// Runs `campaign`'s ABC-SMC into `dir`, resuming after its saved
/// generations; `progress` receives (generations done, generations).
/// Writes [`FILES`], then removes the state file.
pub fn calibrate(
    campaign: &Campaign,
    dir: &Path,
    progress: impl Fn(u64, u64) + Sync,
) -> Result<Report, OutputError> {
    let Some(abc) = campaign.abc.as_ref() else {
        return Err(OutputError::Mismatch {
            path: dir.to_path_buf(),
            message: "the campaign is not an ABC-SMC calibration".into(),
        });
    };
    let state_path = dir.join(STATE_FILE);
    let done = read_state(&state_path, &campaign.fingerprint)?;
    let total = abc.settings.generations as u64 + 1;
    progress(
        done.as_ref().map_or(0, |d| d.generations.len() as u64),
        total,
    );
    let simulate = |values: &[f64], seed: u64| summaries(campaign, abc, values, seed);
    let data: Vec<f64> = abc.data.rows.iter().map(|r| r.value).collect();
    let model = Model {
        priors: &abc.priors,
        data: &data,
        error_model: abc.error_model,
        sds: abc.sds.clone(),
        simulate: &simulate,
    };
    let mut save_error = None;
    let mut saved = |s: &Sampled| {
        let state = State {
            fingerprint: campaign.fingerprint.clone(),
            sampled: s.clone(),
        };
        if let Err(e) = output::write_json(&state_path, &state) {
            save_error.get_or_insert(e);
        }
        let finished = if s.stop.is_some() {
            total
        } else {
            s.generations.len() as u64
        };
        progress(finished, total);
    };
    let sampled = smc::sample(&model, &abc.settings, done, &mut saved).map_err(|message| {
        OutputError::Mismatch {
            path: dir.to_path_buf(),
            message: format!(
                "ABC-SMC cannot start: {message}; widen the priors to values the study accepts"
            ),
        }
    })?;
    if let Some(e) = save_error {
        return Err(e);
    }
    let report = Report::new(campaign, abc, &sampled);
    write_posterior_csv(&dir.join(FILES[1]), campaign, &sampled)?;
    write_generations_csv(&dir.join(FILES[2]), &sampled)?;
    write_fit_csv(&dir.join(FILES[3]), abc, &sampled, campaign.confidence)?;
    output::write_json(&dir.join(FILES[0]), &report)?;
    output::write_json(&dir.join(FILES[4]), &report.summary())?;
    std::fs::remove_file(&state_path).map_err(|source| OutputError::Io {
        path: state_path.clone(),
        source,
    })?;
    Ok(report)
}

/// The saved generations in `path`, if any, when they are this
/// campaign's; another campaign's state is refused.
fn read_state(path: &Path, fingerprint: &str) -> Result<Option<Sampled>, OutputError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    match serde_json::from_str::<State>(&text) {
        Ok(s) if s.fingerprint == fingerprint => Ok(Some(s.sampled)),
        _ => Err(foreign_state(path)),
    }
}

/// A parameter's posterior, in its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posterior {
    /// Path of the parameter in the study.
    pub path: String,
    /// Unit of the values, empty for numbers.
    pub unit: String,
    /// Weighted mean of the last generation.
    pub mean: f64,
    /// Weighted median.
    pub median: f64,
    /// Weighted sd.
    pub sd: f64,
    /// Lower end of the equal-tailed credible interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Perturbed on the log scale.
    pub log_scale: bool,
}

/// One generation's line in `abc.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationSummary {
    /// From 0 (the prior).
    pub generation: u64,
    /// Its tolerance (none for the prior).
    pub epsilon: Option<f64>,
    /// Proposals up to its last kept particle.
    pub proposals: u64,
    /// Runs of the study.
    pub runs: u64,
    /// Kept over proposed.
    pub acceptance: f64,
    /// Effective sample size of its weights.
    pub ess: f64,
}

/// `abc.json`: the posterior and how the sampler got there.
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
    /// Rows of data.
    pub rows: usize,
    /// The scale of the comparison: `additive`, `proportional`, `log_normal`.
    pub error_model: crate::campaign::calibration::likelihood::ErrorModel,
    /// Each row's scale, and where it came from (`sd` or `prior_runs`).
    pub row_scales: Vec<f64>,
    /// `sd` (the data's sd column) or `prior_runs` (1.4826 × MAD of
    /// generation 0's runs).
    pub scales_from: String,
    /// Particles per generation.
    pub population: usize,
    /// Level of the credible intervals.
    pub confidence: f64,
    /// Why the sampler stopped.
    pub stop: Stop,
    /// Runs of the study, all generations.
    pub runs: u64,
    /// Each parameter's posterior (the last generation).
    pub posteriors: Vec<Posterior>,
    /// Every generation.
    pub generations: Vec<GenerationSummary>,
}

impl Report {
    fn new(campaign: &Campaign, abc: &Abc, s: &Sampled) -> Report {
        let last = s.generations.last().expect("generation 0");
        let tail = (1.0 - campaign.confidence) / 2.0;
        let posteriors = campaign
            .parameters
            .iter()
            .zip(&abc.priors)
            .enumerate()
            .map(|(j, (p, prior))| {
                let (mean, sd) = smc::weighted_moments(last, j);
                Posterior {
                    path: p.path.to_string(),
                    unit: p.unit.clone(),
                    mean,
                    median: smc::weighted_quantile(last, j, 0.5),
                    sd,
                    low: smc::weighted_quantile(last, j, tail),
                    high: smc::weighted_quantile(last, j, 1.0 - tail),
                    log_scale: prior.log,
                }
            })
            .collect();
        Report {
            exosim_version: env!("CARGO_PKG_VERSION").into(),
            campaign: campaign.name.clone(),
            fingerprint: campaign.fingerprint.clone(),
            sets: campaign.sets.iter().map(ToString::to_string).collect(),
            data: abc.data.file.clone(),
            rows: abc.data.rows.len(),
            error_model: abc.error_model,
            row_scales: s.distance.scales.clone(),
            scales_from: if abc.sds.is_some() {
                "sd"
            } else {
                "prior_runs"
            }
            .into(),
            population: abc.settings.population,
            confidence: campaign.confidence,
            stop: s.stop.unwrap_or(Stop::Generations),
            runs: s.generations.iter().map(|g| g.runs).sum(),
            posteriors,
            generations: s.generations.iter().enumerate().map(summarise).collect(),
        }
    }

    /// `summary.json`: what a folder of runs is, and the posteriors.
    pub fn summary(&self) -> Summary {
        Summary {
            exosim_version: self.exosim_version.clone(),
            campaign: self.campaign.clone(),
            method: "abc_smc".into(),
            posteriors: self.posteriors.clone(),
            stop: self.stop,
            runs: self.runs,
            files: FILES.iter().map(|f| f.to_string()).collect(),
        }
    }
}

/// Generation `t`'s line.
fn summarise((t, g): (usize, &Generation)) -> GenerationSummary {
    GenerationSummary {
        generation: t as u64,
        epsilon: g.epsilon,
        proposals: g.proposals,
        runs: g.runs,
        acceptance: g.acceptance(),
        ess: g.ess(),
    }
}

/// `summary.json` of an ABC-SMC folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// exosim version.
    pub exosim_version: String,
    /// Campaign name.
    pub campaign: String,
    /// `abc_smc`.
    pub method: String,
    /// Each parameter's posterior.
    pub posteriors: Vec<Posterior>,
    /// Why the sampler stopped.
    pub stop: Stop,
    /// Runs of the study.
    pub runs: u64,
    /// The folder's files.
    pub files: Vec<String>,
}

/// A number for a CSV cell; empty when not finite.
fn cell(x: f64) -> String {
    if x.is_finite() {
        x.to_string()
    } else {
        String::new()
    }
}

/// `abc_posterior.csv`: the last generation's particles, their weights,
/// distances and seeds, and the parameters (unit in the column name).
fn write_posterior_csv(path: &Path, campaign: &Campaign, s: &Sampled) -> Result<(), OutputError> {
    let last = s.generations.last().expect("generation 0");
    output::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        let mut header = vec![
            "particle".to_string(),
            "weight".into(),
            "distance".into(),
            "seed".into(),
        ];
        header.extend(campaign.parameters.iter().map(|p| match p.unit.as_str() {
            "" => p.path.to_string(),
            u => format!("{} [{u}]", p.path),
        }));
        out.write_record(&header).map_err(std::io::Error::other)?;
        for (i, p) in last.particles.iter().enumerate() {
            let mut row = vec![
                i.to_string(),
                cell(p.weight),
                cell(p.distance),
                p.seed.to_string(),
            ];
            row.extend(p.values.iter().map(|&x| cell(x)));
            out.write_record(&row).map_err(std::io::Error::other)?;
        }
        out.flush()
    })
}

/// `abc_generations.csv`: one line per generation.
fn write_generations_csv(path: &Path, s: &Sampled) -> Result<(), OutputError> {
    output::write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "generation",
            "epsilon",
            "proposals",
            "runs",
            "acceptance",
            "ess",
        ])
        .map_err(std::io::Error::other)?;
        for (t, g) in s.generations.iter().enumerate() {
            let l = summarise((t, g));
            out.write_record([
                t.to_string(),
                l.epsilon.map_or(String::new(), cell),
                l.proposals.to_string(),
                l.runs.to_string(),
                cell(l.acceptance),
                cell(l.ess),
            ])
            .map_err(std::io::Error::other)?;
        }
        out.flush()
    })
}

/// `abc_fit.csv`: each data row beside the posterior predictive of its
/// runs: the weighted median and central `confidence` band of the last
/// generation's values of that row.
fn write_fit_csv(path: &Path, abc: &Abc, s: &Sampled, confidence: f64) -> Result<(), OutputError> {
    let last = s.generations.last().expect("generation 0");
    let tail = (1.0 - confidence) / 2.0;
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
            "predicted_median",
            "predicted_low",
            "predicted_high",
        ])
        .map_err(std::io::Error::other)?;
        for (i, row) in abc.data.rows.iter().enumerate() {
            let q = |p| weighted_row_quantile(last, i, p);
            out.write_record([
                row.line.to_string(),
                row.spec.name.clone(),
                row.observable.description.clone(),
                row.observable.unit.clone(),
                row.spec.time.map_or(String::new(), |t| cell(t.si())),
                cell(row.value),
                row.sd.map_or(String::new(), cell),
                cell(q(0.5)),
                cell(q(tail)),
                cell(q(1.0 - tail)),
            ])
            .map_err(std::io::Error::other)?;
        }
        out.flush()
    })
}

/// The weighted `q`-quantile of data row `i`'s simulated values.
fn weighted_row_quantile(g: &Generation, i: usize, q: f64) -> f64 {
    smc::quantile_of(
        g.particles
            .iter()
            .map(|p| (p.summaries[i], p.weight))
            .collect(),
        q,
    )
}
