//! Approximate Bayesian computation for studies whose observables are
//! random (a tissue's cell counts, a cohort's detection): `[design]
//! method = "abc_smc"` (docs/calibration.md#abc-smc).
//!
//! A likelihood cannot be written for a tissue run, and a maximum
//! likelihood search on its noisy values would chase the noise. ABC-SMC
//! needs only runs: parameters drawn from their priors are kept when
//! their run's summaries come within ε of the data, and a sequence of
//! shrinking ε ([`smc`]) turns the kept particles into a weighted sample
//! of the posterior. [`distance`] compares runs with the data; [`prior`]
//! gives each parameter's prior on its working scale; [`run`] runs it
//! for a campaign, saving each generation so that an interrupted
//! calibration resumes.

// A study error carries its location and hint; it is built once, at the
// edge, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod distance;
pub mod prior;
pub mod run;
pub mod smc;

use super::calibration::likelihood::ErrorModel;
use super::calibration::{self, data::Data};
use super::distribution::Distribution;
use super::spec::{AbcSpec, CalibrationSpec, CampaignSpec};
use crate::scenario::Study;
use crate::scenario::check::{Check, Res};
use crate::scenario::error::KeyPath;
use prior::AbcPrior;
use smc::Settings;

/// Particles per generation unless `[abc] population` says otherwise.
pub const DEFAULT_POPULATION: u64 = 500;
/// Generations after the prior's unless `[abc] generations` says otherwise.
pub const DEFAULT_GENERATIONS: u64 = 8;
/// The tolerance quantile unless `[abc] quantile` says otherwise.
pub const DEFAULT_QUANTILE: f64 = 0.5;
/// The acceptance that stops the sampler unless `[abc] min_acceptance`
/// says otherwise.
pub const DEFAULT_MIN_ACCEPTANCE: f64 = 0.02;

/// An ABC-SMC calibration ready to run.
#[derive(Debug, Clone)]
pub struct Abc {
    /// The measurements (summary statistics of the data).
    pub data: Data,
    /// The scale runs are compared with the data on.
    pub error_model: ErrorModel,
    /// Each row's sd on that scale, when the data give them; otherwise
    /// the rows are scaled by the prior's runs.
    pub sds: Option<Vec<f64>>,
    /// Each parameter's prior, in the campaign's order.
    pub priors: Vec<AbcPrior>,
    /// The sampler's settings (its seed is the campaign's).
    pub settings: Settings,
}

/// The `[calibration]` keys of a maximum-likelihood fit, which ABC-SMC
/// does not take.
const FIT_KEYS: [&str; 6] = [
    "sigma",
    "sigma_per",
    "starts",
    "max_evaluations",
    "intervals",
    "resamples",
];

/// Checks `[calibration]` and `[abc]` and reads the data against `base`;
/// `laws` are the parameters' priors, in order.
pub fn resolve(
    c: &Check,
    spec: &CampaignSpec,
    base: &Study,
    laws: &[Option<&Distribution>],
    seed: u64,
) -> Res<Abc> {
    let at = KeyPath::root().key("calibration");
    let Some(cal) = &spec.calibration else {
        return c.err(
            &KeyPath::root().key("design").key("method"),
            "ABC-SMC needs a [calibration] table naming its data",
            Some(
                "e.g. [calibration] data = \"data/cells.csv\" (docs/calibration.md#abc-smc)".into(),
            ),
        );
    };
    refuse_fit_keys(c, cal)?;
    let priors = priors(c, laws)?;
    let data = calibration::data_file(c, cal, base)?;
    let error_model = match &cal.error_model {
        None => ErrorModel::Additive,
        Some(name) => {
            c.choice(&at.key("error_model"), name, &ErrorModel::NAMES)?;
            ErrorModel::from_name(name).expect("a checked name")
        }
    };
    if error_model != ErrorModel::Additive {
        data.check_positive(
            "log-normal and proportional distances divide by the data: values above 0",
        )?;
    }
    let sds = data.has_sd.then(|| row_sds(&data, error_model));
    let settings = settings(c, spec.abc.clone().unwrap_or_default(), seed)?;
    Ok(Abc {
        data,
        error_model,
        sds,
        priors,
        settings,
    })
}

/// A maximum-likelihood key in `[calibration]` is an error that says so.
fn refuse_fit_keys(c: &Check, cal: &CalibrationSpec) -> Res<()> {
    let given = [
        cal.sigma.is_some(),
        cal.sigma_per.is_some(),
        cal.starts.is_some(),
        cal.max_evaluations.is_some(),
        cal.intervals.is_some(),
        cal.resamples.is_some(),
    ];
    match FIT_KEYS.iter().zip(given).find(|(_, g)| *g) {
        Some((key, _)) => c.err(
            &KeyPath::root().key("calibration").key(key),
            format!("`{key}` belongs to a maximum-likelihood calibration, not to ABC-SMC"),
            Some("drop it; ABC-SMC's settings are in [abc] (population, generations, quantile, min_acceptance, tolerance)".into()),
        ),
        None => Ok(()),
    }
}

/// Each row's sd on the error model's scale: as given (additive), over
/// the datum (proportional), or the sd of the log, √ln(1 + (sd/y)²).
fn row_sds(data: &Data, model: ErrorModel) -> Vec<f64> {
    data.rows
        .iter()
        .map(|r| {
            let sd = r.sd.unwrap_or(f64::NAN);
            match model {
                ErrorModel::Additive => sd,
                ErrorModel::Proportional => sd / r.value,
                ErrorModel::LogNormal => (sd / r.value).powi(2).ln_1p().sqrt(),
            }
        })
        .collect()
}

/// Every parameter's prior: the law it is given.
fn priors(c: &Check, laws: &[Option<&Distribution>]) -> Res<Vec<AbcPrior>> {
    laws.iter()
        .enumerate()
        .map(|(j, law)| match law {
            Some(law) => Ok(AbcPrior::of(law)),
            None => c.err(
                &KeyPath::root()
                    .key("parameters")
                    .index(j)
                    .key("distribution"),
                "an ABC-SMC parameter needs a prior",
                Some(
                    "uniform, log_uniform, normal or log_normal (truncated by low and high or not)"
                        .into(),
                ),
            ),
        })
        .collect()
}

/// `[abc]` checked, with the defaults.
fn settings(c: &Check, a: AbcSpec, seed: u64) -> Res<Settings> {
    let at = KeyPath::root().key("abc");
    let population = a.population.unwrap_or(DEFAULT_POPULATION);
    c.count_in(
        &at.key("population"),
        population,
        10,
        1_000_000,
        "particles",
    )?;
    let generations = a.generations.unwrap_or(DEFAULT_GENERATIONS);
    c.count_in(&at.key("generations"), generations, 1, 1000, "generations")?;
    let quantile = a.quantile.unwrap_or(DEFAULT_QUANTILE);
    if !(quantile > 0.0 && quantile < 1.0) {
        return c.err(
            &at.key("quantile"),
            format!("{quantile} is not inside (0, 1)"),
            Some("0.5 halves the kept distances each generation; 0.3 shrinks faster at a lower acceptance".into()),
        );
    }
    let min_acceptance = a.min_acceptance.unwrap_or(DEFAULT_MIN_ACCEPTANCE);
    if !(min_acceptance > 0.0 && min_acceptance <= 1.0) {
        return c.err(
            &at.key("min_acceptance"),
            format!("{min_acceptance} is not inside (0, 1]"),
            Some("e.g. 0.02: stop when fewer than 2 % of proposals are kept".into()),
        );
    }
    let tolerance = match a.tolerance {
        Some(t) => Some(c.positive(&at.key("tolerance"), t)?),
        None => None,
    };
    Ok(Settings {
        population: population as usize,
        generations: generations as usize,
        quantile,
        min_acceptance,
        tolerance,
        seed,
    })
}
