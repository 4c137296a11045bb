//! The campaign file as written: which study, which parameters vary and
//! how, what to record for every point.
//!
//! A campaign is its own file that names a study, rather than a section of
//! the study: one study (the mouse body study, say) serves a sensitivity
//! analysis, a virtual population and a calibration without being copied,
//! each campaign file stays small, and the study still runs alone.

use serde::{Deserialize, Serialize};

use super::observable::ObservableSpec;

/// A whole campaign file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Name, study, seed, replicates.
    pub campaign: CampaignHeader,
    /// How the points are chosen.
    pub design: DesignSpec,
    /// The parameters that vary, each a path into the study.
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    /// Rank correlations between sampled parameters (Gaussian copula).
    #[serde(default)]
    pub correlations: Vec<CorrelationSpec>,
    /// What each point records.
    #[serde(default)]
    pub observables: Vec<ObservableSpec>,
    /// `method = "calibration"`: the data and how they are fitted.
    #[serde(default)]
    pub calibration: Option<CalibrationSpec>,
    /// `method = "abc_smc"`: the sampler's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abc: Option<AbcSpec>,
    /// A Hill curve of observables against a varied dose (docs/effects.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose_response: Option<super::dose_response::DoseResponseSpec>,
    /// A virtual trial on the points, its subjects (docs/trials.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<super::trial::TrialSpec>,
}

/// `[campaign]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignHeader {
    /// Identifier, used in file names.
    pub name: String,
    /// Free text for the reader.
    #[serde(default)]
    pub description: Option<String>,
    /// The study file, relative to the campaign file.
    pub study: String,
    /// Seed of the design and of every point's seed; the study's seed by
    /// default.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Runs of each design point, each with its own seed (for the tissue
    /// engine and the biopsy's cohorts, which draw random numbers).
    #[serde(default)]
    pub replicates: Option<u64>,
}

/// The methods of `[design] method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Every combination of the parameters' `values`.
    Grid,
    /// Point i takes the i-th of each parameter's `values`.
    List,
    /// Independent random draws.
    Random,
    /// Latin hypercube: one draw in each of `points` strata of each parameter.
    LatinHypercube,
    /// Scrambled Sobol points (low discrepancy).
    Sobol,
    /// Saltelli's design for first- and total-order Sobol indices.
    Saltelli,
    /// Morris's trajectories for elementary effects.
    Morris,
    /// The parameters fitted to data by maximum likelihood (`[calibration]`).
    Calibration,
    /// The parameters' posterior given the data by approximate Bayesian
    /// computation (`[calibration]` data, `[abc]` settings), for studies
    /// whose observables are random.
    AbcSmc,
}

/// `[design]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DesignSpec {
    /// How points are chosen.
    pub method: Method,
    /// Sampled designs: the number of points; `saltelli`: the base rows N
    /// (N·(d + 2) runs); `morris`: the trajectories r (r·(d + 1) runs).
    #[serde(default)]
    pub points: Option<u64>,
    /// `morris`: grid levels p (even; 4 by default).
    #[serde(default)]
    pub levels: Option<u64>,
    /// `saltelli`, `morris`: bootstrap resamples of the intervals (1000).
    #[serde(default)]
    pub bootstrap: Option<u64>,
    /// `saltelli`, `morris`: confidence level of the intervals (0.95).
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// One `[[parameters]]` entry. Quantities are written as in the study
/// (`"50 nm"`), or as plain numbers for unitless values; every quantity of
/// one parameter in the same unit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    /// Path of the value in the study (`vesicles.sEV.diameter`).
    pub path: String,
    /// `grid` and `list`: the values taken.
    #[serde(default)]
    pub values: Option<Vec<toml::Value>>,
    /// Sampled designs: `uniform`, `log_uniform`, `normal`, `log_normal`.
    #[serde(default)]
    pub distribution: Option<String>,
    /// Lowest value (`uniform`, `log_uniform`), or truncation of a
    /// `normal` or `log_normal`.
    #[serde(default)]
    pub low: Option<toml::Value>,
    /// Highest value, as `low`.
    #[serde(default)]
    pub high: Option<toml::Value>,
    /// `normal`, `log_normal`: the (arithmetic) mean.
    #[serde(default)]
    pub mean: Option<toml::Value>,
    /// `normal`: the standard deviation.
    #[serde(default)]
    pub sd: Option<toml::Value>,
    /// `log_normal`: the coefficient of variation (sd/mean).
    #[serde(default)]
    pub cv: Option<f64>,
}

/// One `[[correlations]]` entry: the rank correlation of two sampled
/// parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationSpec {
    /// The two parameters' paths.
    pub between: [String; 2],
    /// Correlation of their normal scores, in (−1, 1).
    pub r: f64,
}

/// `[calibration]`: the data to fit and how (docs/calibration.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSpec {
    /// The data file (CSV), relative to the campaign file.
    pub data: String,
    /// `additive`, `proportional` or `log_normal`; by default the data's
    /// `sd` column gives each value's standard deviation.
    #[serde(default)]
    pub error_model: Option<String>,
    /// The error model's σ (an sd, a CV, or the sd of the log), fixed
    /// rather than estimated.
    #[serde(default)]
    pub sigma: Option<f64>,
    /// A column of the data file (`group`, or a key column such as `kind`
    /// or `place`): one σ is estimated for each of its values, for data
    /// of different precision without an `sd` column.
    #[serde(default)]
    pub sigma_per: Option<String>,
    /// Starts of the local search, spread by a Latin hypercube (8).
    #[serde(default)]
    pub starts: Option<u64>,
    /// Runs of the study allowed to each start (400).
    #[serde(default)]
    pub max_evaluations: Option<u64>,
    /// How intervals are found: `profile` (profile likelihood, the
    /// default) or `bootstrap` (parametric bootstrap, percentile).
    #[serde(default)]
    pub intervals: Option<String>,
    /// Data sets drawn and refitted by a parametric bootstrap (200).
    #[serde(default)]
    pub resamples: Option<u64>,
}

/// `[abc]`: how the ABC-SMC sampler runs (docs/calibration.md#abc-smc).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AbcSpec {
    /// Particles kept in each generation (500).
    #[serde(default)]
    pub population: Option<u64>,
    /// Generations after the prior's (8).
    #[serde(default)]
    pub generations: Option<u64>,
    /// Each tolerance is this quantile of the last generation's
    /// distances (0.5).
    #[serde(default)]
    pub quantile: Option<f64>,
    /// The sampler stops when a generation keeps fewer of its proposals
    /// (0.02).
    #[serde(default)]
    pub min_acceptance: Option<f64>,
    /// The sampler stops once the tolerance is at most this distance.
    #[serde(default)]
    pub tolerance: Option<f64>,
}
