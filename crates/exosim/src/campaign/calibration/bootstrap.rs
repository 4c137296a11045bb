//! Parametric-bootstrap intervals (Efron & Tibshirani 1993, ch. 6 and 13,
//! docs/references.md#efron-tibshirani-1993): data sets drawn from the
//! fitted model under its error model and σ, each refitted by one local
//! search from the estimate; the interval of a parameter is the
//! percentile interval of its refitted values.
//!
//! Unlike the profile likelihood, the bootstrap does not lean on the
//! asymptotic χ² law: with few rows or a parameter the data bound poorly
//! it shows the estimator's real spread (and its skew). It costs a fit per
//! resample. Resample `b` draws its noise from its own stream (the
//! campaign's seed, [`BOOTSTRAP_DOMAIN`], `b`), so the intervals depend on
//! the seed alone, never on the thread count or on a resume.

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::fit::{self, End, Start};
use super::likelihood::Likelihood;
use crate::random::stream;

/// Data sets drawn unless `[calibration] resamples` says otherwise.
pub const DEFAULT_RESAMPLES: u64 = 200;

/// Random stream domain of the bootstrap's data sets.
pub const BOOTSTRAP_DOMAIN: u64 = 0xB007_5742;

/// Resample `index`'s data set: the model's values `fitted` plus noise
/// under `l`.
pub fn data_set(l: &Likelihood, fitted: &[f64], seed: u64, index: u64) -> Vec<f64> {
    let mut rng = stream(seed, BOOTSTRAP_DOMAIN, index);
    l.simulate(fitted, || StandardNormal.sample(&mut rng))
}

/// Refits resamples `indices`: each data set drawn around `fitted` under
/// `l`, then one local search from `best` (box coordinates) of
/// `cost_with(l*, u)`, the objective with the resample's data `l*`.
/// Returned in the order of `indices`.
pub fn refit(
    cost_with: &(dyn Fn(&Likelihood, &[f64]) -> f64 + Sync),
    l: &Likelihood,
    fitted: &[f64],
    best: &[f64],
    indices: &[u64],
    seed: u64,
    max_evaluations: u64,
) -> Vec<Start> {
    indices
        .par_iter()
        .map(|&b| {
            let resample = Likelihood {
                values: data_set(l, fitted, seed, b),
                ..l.clone()
            };
            let f = |u: &[f64]| cost_with(&resample, u);
            fit::run_start(&f, b, best, max_evaluations)
        })
        .collect()
}

/// Each coordinate's percentile interval at `confidence` over the
/// resamples that fitted (finite cost), taken on the search scale (box
/// coordinates: the log scale for a log-uniform parameter); an end is
/// `open` where it lies on the box's bound, as a profile's would. With
/// fewer than two fits the resamples bound nothing: each interval is the
/// whole box, both ends open (said as "at bound" in every file, never a
/// number the data did not give).
pub fn percentile_intervals(resamples: &[Start], d: usize, confidence: f64) -> Vec<(End, End)> {
    let fitted: Vec<&Start> = resamples.iter().filter(|s| s.cost.is_finite()).collect();
    if fitted.len() < 2 {
        let whole = (End { u: 0.0, open: true }, End { u: 1.0, open: true });
        return vec![whole; d];
    }
    (0..d)
        .map(|j| {
            let mut u: Vec<f64> = fitted.iter().map(|s| s.to[j]).collect();
            u.sort_by(f64::total_cmp);
            let end = |q: f64| {
                let at = percentile(&u, q);
                End {
                    u: at,
                    open: at <= 1e-9 || at >= 1.0 - 1e-9,
                }
            };
            (end((1.0 - confidence) / 2.0), end((1.0 + confidence) / 2.0))
        })
        .collect()
}

/// The `q` quantile of sorted `x` (at least two values), linear between
/// order statistics (as NumPy's default).
fn percentile(x: &[f64], q: f64) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let h = q * (x.len() - 1) as f64;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    x[lo] + frac * (x[(lo + 1).min(x.len() - 1)] - x[lo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::calibration::likelihood::{ErrorModel, Sigma};

    /// Fewer than two refits that ended: no end is a number, each interval
    /// is the whole box with both ends open (not NaN, which the files
    /// would write as null).
    #[test]
    fn too_few_fits_bound_nothing() {
        let start = |cost: f64| Start {
            index: 0,
            from: vec![0.5, 0.5],
            to: vec![0.4, 0.6],
            cost,
            evaluations: 1,
        };
        for resamples in [vec![], vec![start(f64::NAN), start(1.0)]] {
            let ends = percentile_intervals(&resamples, 2, 0.95);
            assert_eq!(ends.len(), 2);
            for (lo, hi) in ends {
                assert_eq!((lo.u, lo.open, hi.u, hi.open), (0.0, true, 1.0, true));
            }
        }
        let ends = percentile_intervals(&[start(1.0), start(2.0)], 2, 0.95);
        assert!(
            ends.iter()
                .all(|(lo, hi)| lo.u.is_finite() && hi.u.is_finite())
        );
    }

    /// A log-normal data set around f has ln(y/f) ~ N(0, σ²): over many
    /// rows the mean and sd of ln(y/f) are 0 and σ within 4 standard
    /// errors; an additive one with per-row sds scales each row's noise.
    #[test]
    fn data_sets_follow_the_error_model() {
        let n = 20_000;
        let fitted = vec![3.0; n];
        let l = Likelihood {
            model: ErrorModel::LogNormal,
            sigma: Sigma::Fixed(0.2),
            values: vec![1.0; n],
        };
        let y = data_set(&l, &fitted, 4, 0);
        let z: Vec<f64> = y.iter().map(|y| (y / 3.0).ln()).collect();
        let mean = z.iter().sum::<f64>() / n as f64;
        let sd = (z.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        assert!(mean.abs() < 4.0 * 0.2 / (n as f64).sqrt(), "{mean}");
        assert!(
            (sd - 0.2).abs() < 4.0 * 0.2 / (2.0 * n as f64).sqrt(),
            "{sd}"
        );
        let per_row = Likelihood {
            model: ErrorModel::Additive,
            sigma: Sigma::PerRow(vec![0.0, 1.0]),
            values: vec![0.0, 0.0],
        };
        let y = data_set(&per_row, &[5.0, 5.0], 4, 1);
        assert_eq!(y[0], 5.0);
        assert_ne!(y[1], 5.0);
        assert_eq!(
            y,
            data_set(&per_row, &[5.0, 5.0], 4, 1),
            "one stream per resample"
        );
    }

    #[test]
    fn percentiles_interpolate_as_numpy() {
        let starts: Vec<Start> = [0.1, 0.4, 0.2, 0.3, 0.5, 0.0]
            .iter()
            .enumerate()
            .map(|(i, &u)| Start {
                index: i as u64,
                from: vec![0.5],
                to: vec![u],
                cost: if i == 5 { f64::INFINITY } else { 1.0 },
                evaluations: 1,
            })
            .collect();
        // np.percentile([0.1, 0.2, 0.3, 0.4, 0.5], [25, 75]) = 0.2, 0.4;
        // the failed resample (cost ∞) is left out.
        let (lo, hi) = percentile_intervals(&starts, 1, 0.5)[0];
        assert!((lo.u - 0.2).abs() < 1e-12 && (hi.u - 0.4).abs() < 1e-12);
        assert!(!lo.open && !hi.open);
    }
}
