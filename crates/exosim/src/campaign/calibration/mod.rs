//! Calibration: the campaign's parameters fitted to measured data by
//! maximum likelihood (docs/calibration.md).
//!
//! The data file ([`data`]) says what was measured, each row an
//! observable of the study; [`likelihood`] scores the model's values
//! against the measurements under an error model; [`fit`] minimises
//! −log L over the parameters' bounds from several starts and draws
//! profile-likelihood intervals; [`run`] runs it all for a campaign,
//! saving each finished start so that an interrupted calibration resumes,
//! and writes `calibration.json`, `calibration_fit.csv` and `summary.json`.

// A study error carries its location and hint; it is built once, at the
// edge, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod bootstrap;
pub mod check;
pub mod data;
pub mod fit;
pub mod likelihood;
pub mod prior;
pub mod run;
pub mod scale;

use std::path::Path;

use super::distribution::Distribution;
use super::spec::{CalibrationSpec, CampaignSpec};
use crate::scenario::Study;
use crate::scenario::check::{Check, Res};
use crate::scenario::error::KeyPath;
use data::Data;
use likelihood::{ErrorModel, Likelihood, Sigma};
use prior::Prior;
pub use scale::Scale;

/// Starts of the search unless `[calibration] starts` says otherwise.
pub const DEFAULT_STARTS: u64 = 8;
/// Runs per start unless `[calibration] max_evaluations` says otherwise.
pub const DEFAULT_MAX_EVALUATIONS: u64 = 400;

/// A calibration ready to run.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The measurements.
    pub data: Data,
    /// How they scatter.
    pub likelihood: Likelihood,
    /// Each parameter's bounds, in the campaign's order.
    pub scales: Vec<Scale>,
    /// Each parameter's prior (`normal`, `log_normal`); with any, the fit
    /// is maximum a posteriori.
    pub priors: Vec<Option<Prior>>,
    /// Starts of the search.
    pub starts: u64,
    /// Runs allowed to each start (and to each step of a profile, and to
    /// each refit of a bootstrap).
    pub max_evaluations: u64,
    /// How the intervals are found.
    pub intervals: Intervals,
}

/// How a calibration's intervals are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intervals {
    /// Profile likelihood (asymptotic).
    Profile,
    /// Parametric bootstrap: `resamples` data sets drawn from the fitted
    /// model and refitted; the percentile interval.
    Bootstrap {
        /// Data sets drawn.
        resamples: u64,
    },
}

/// Checks `[calibration]` and reads its data file against `base`; `laws`
/// are the parameters' laws, in order.
pub fn resolve(
    c: &Check,
    spec: &CampaignSpec,
    base: &Study,
    laws: &[Option<&Distribution>],
) -> Res<Calibration> {
    let at = KeyPath::root().key("calibration");
    let Some(cal) = &spec.calibration else {
        return c.err(
            &KeyPath::root().key("design").key("method"),
            "a calibration needs a [calibration] table",
            Some("e.g. [calibration] data = \"data/blood.csv\" (docs/calibration.md)".into()),
        );
    };
    let (scales, priors) = scales(c, laws)?;
    let data = data_file(c, cal, base)?;
    let likelihood = likelihood(c, cal, &data)?;
    let starts = cal.starts.unwrap_or(DEFAULT_STARTS);
    c.count_in(&at.key("starts"), starts, 1, 10_000, "starts")?;
    let max_evaluations = cal.max_evaluations.unwrap_or(DEFAULT_MAX_EVALUATIONS);
    c.count_in(
        &at.key("max_evaluations"),
        max_evaluations,
        10,
        1_000_000,
        "evaluations",
    )?;
    let intervals = intervals(c, cal)?;
    Ok(Calibration {
        data,
        likelihood,
        scales,
        priors,
        starts,
        max_evaluations,
        intervals,
    })
}

/// `[calibration] data` read and checked against `base` (its path
/// relative to the campaign file).
pub fn data_file(c: &Check, cal: &CalibrationSpec, base: &Study) -> Res<Data> {
    let dir = Path::new(c.loc.file()).parent().unwrap_or(Path::new("."));
    let path = dir.join(&cal.data);
    if !path.is_file() {
        return c.err(
            &KeyPath::root().key("calibration").key("data"),
            format!("no data file at {}", path.display()),
            Some("the path is relative to the campaign file".into()),
        );
    }
    data::read(&path, &path.display().to_string(), base)
}

/// `intervals` and `resamples`: a bootstrap's size is given only to a
/// bootstrap.
fn intervals(c: &Check, cal: &CalibrationSpec) -> Res<Intervals> {
    let at = KeyPath::root().key("calibration");
    let how = cal.intervals.as_deref().unwrap_or("profile");
    c.choice(&at.key("intervals"), how, &["profile", "bootstrap"])?;
    match (how, cal.resamples) {
        ("profile", Some(_)) => c.err(
            &at.key("resamples"),
            "`resamples` sizes a bootstrap, and the intervals are profiles",
            Some("add intervals = \"bootstrap\", or drop resamples".into()),
        ),
        ("profile", None) => Ok(Intervals::Profile),
        _ => {
            let resamples = cal.resamples.unwrap_or(bootstrap::DEFAULT_RESAMPLES);
            c.count_in(&at.key("resamples"), resamples, 20, 100_000, "resamples")?;
            Ok(Intervals::Bootstrap { resamples })
        }
    }
}

/// Bounds of each parameter, and its prior: `uniform` and `log_uniform`
/// give bounds alone; `normal` and `log_normal` (truncated or not) give a
/// prior and its central 99.9 % as bounds.
fn scales(c: &Check, laws: &[Option<&Distribution>]) -> Res<(Vec<Scale>, Vec<Option<Prior>>)> {
    let mut out = (Vec::new(), Vec::new());
    for (j, law) in laws.iter().enumerate() {
        let (scale, prior) = match *law {
            Some(&Distribution::Uniform { low, high }) => (
                Scale {
                    low,
                    high,
                    log: false,
                },
                None,
            ),
            Some(&Distribution::LogUniform { low, high }) => (
                Scale {
                    low,
                    high,
                    log: true,
                },
                None,
            ),
            Some(law) => match Prior::of(law) {
                Some((prior, scale)) => (scale, Some(prior)),
                None => unreachable_law(c, j)?,
            },
            None => unreachable_law(c, j)?,
        };
        out.0.push(scale);
        out.1.push(prior);
    }
    Ok(out)
}

/// A parameter without a law a calibration can take (a sampled design
/// always gives one of the four; kept as an error, never a panic).
fn unreachable_law<T>(c: &Check, j: usize) -> Res<T> {
    c.err(
        &KeyPath::root()
            .key("parameters")
            .index(j)
            .key("distribution"),
        "a calibrated parameter needs bounds or a prior",
        Some("uniform or log_uniform with low and high, or normal or log_normal".into()),
    )
}

/// The error model and its σ: the data's `sd` column unless an error
/// model is named; σ fixed by `sigma`, else estimated.
fn likelihood(c: &Check, cal: &CalibrationSpec, data: &Data) -> Res<Likelihood> {
    let at = KeyPath::root().key("calibration");
    let values: Vec<f64> = data.rows.iter().map(|r| r.value).collect();
    let model = match &cal.error_model {
        None => ErrorModel::Additive,
        Some(name) => {
            c.choice(&at.key("error_model"), name, &ErrorModel::NAMES)?;
            ErrorModel::from_name(name).expect("a checked name")
        }
    };
    if model == ErrorModel::LogNormal {
        data.check_positive("a log-normal error model needs values above 0")?;
    }
    if cal.sigma_per.is_some() && (data.has_sd || cal.sigma.is_some()) {
        return c.err(
            &at.key("sigma_per"),
            "a σ per group is estimated, but this calibration's σ is given (the sd column or sigma)",
            Some("drop sigma_per, or the sd column or sigma, to estimate σ per group".into()),
        );
    }
    let sigma = match (data.has_sd, cal.sigma, model) {
        (true, Some(_), _) => {
            return c.err(
                &at.key("sigma"),
                "the data file has an `sd` column and `sigma` is given",
                Some("keep one: the sd column, or sigma for every row".into()),
            );
        }
        (true, None, ErrorModel::Proportional) => {
            return c.err(
                &at.key("error_model"),
                "a proportional model scales σ with the fitted value; the `sd` column gives it per row",
                Some("drop the sd column, or use additive or log_normal".into()),
            );
        }
        (true, None, _) => {
            let sds: Vec<f64> = data.rows.iter().map(|r| r.sd.unwrap_or(f64::NAN)).collect();
            return Ok(Likelihood::with_sds(model, values, &sds));
        }
        (false, Some(s), _) => Sigma::Fixed(c.positive(&at.key("sigma"), s)?),
        (false, None, _) if cal.error_model.is_none() => {
            return c.err(
                &at,
                "no `sd` column in the data and no `error_model`",
                Some("add an sd column, or error_model = \"additive\", \"proportional\" or \"log_normal\"".into()),
            );
        }
        (false, None, _) => match &cal.sigma_per {
            None => Sigma::Estimated,
            Some(column) => sigma_per_group(c, data, column)?,
        },
    };
    Ok(Likelihood {
        model,
        sigma,
        values,
    })
}

/// One estimated σ for each value of the data's column `column`; each
/// group needs two rows (with one, σ̂ = |r| and the likelihood grows
/// without bound as that row is fitted exactly).
fn sigma_per_group(c: &Check, data: &Data, column: &str) -> Res<Sigma> {
    let at = KeyPath::root().key("calibration").key("sigma_per");
    let Some((group, names)) = data.groups_by(column) else {
        return c.err(
            &at,
            format!("the data file has no column `{column}`"),
            Some(format!(
                "a column of {}: e.g. add a `group` column, or group by `kind` or `place`",
                data.columns.join(", ")
            )),
        );
    };
    for (g, name) in names.iter().enumerate() {
        let rows = group.iter().filter(|&&x| x == g).count();
        if rows < 2 {
            return c.err(
                &at,
                format!("the group `{name}` of column `{column}` has {rows} row: a σ needs two"),
                Some("merge it with another group, or give its rows an sd column".into()),
            );
        }
    }
    Ok(Sigma::PerGroup { group, names })
}
