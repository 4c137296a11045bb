//! Sensitivity analysis: which uncertain parameters move an output, read
//! from the outputs of a [`saltelli`](super::design::saltelli) or
//! [`morris`](super::design::morris) design (docs/sensitivity.md).
//!
//! The estimators are those of SALib 1.6 (docs/references.md#salib;
//! `SALib.analyze.sobol.analyze`
//! with `calc_second_order=False`, `SALib.analyze.morris.analyze`), so that
//! the point estimates agree with it to rounding: the test
//! `campaign_sensitivity::salib_agrees_or_skip` feeds the same matrix to both.
//! Their confidence half-widths are SALib's statistic, z·(sd of bootstrap
//! estimates), from exosim's own streams, so they agree only in law.

use super::design::{Morris, below};
use super::distribution::normal_quantile;
use crate::random::stream;

/// Stream domain of the bootstrap of [`sobol_indices`] (entity: the resample).
pub const SOBOL_BOOTSTRAP_DOMAIN: u64 = u64::from_be_bytes(*b"campsobb");
/// Stream domain of the bootstrap of [`morris_effects`] (entity: the parameter).
pub const MORRIS_BOOTSTRAP_DOMAIN: u64 = u64::from_be_bytes(*b"campmorb");

/// An estimate with its bootstrap uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The point estimate from all the runs.
    pub value: f64,
    /// SALib's half-width: z_(1+level)/2 · sd (ddof 1) of the bootstrap
    /// estimates; NaN with fewer than 2 resamples.
    pub conf: f64,
    /// The percentile interval of the bootstrap estimates (Efron &
    /// Tibshirani 1993, docs/references.md#efron-tibshirani-1993; linear
    /// interpolation between order statistics, numpy's default).
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

/// The first- and total-order Sobol indices of one parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SobolIndex {
    /// S1: the share of the output's variance that the parameter explains
    /// alone (Saltelli et al. 2010's estimator).
    pub first: Estimate,
    /// ST: the share that would remain unexplained if all other parameters
    /// were known (Jansen 1999's estimator).
    pub total: Estimate,
}

/// Morris's screening measures of one parameter (Morris 1991; μ* after
/// Campolongo et al. 2007, docs/references.md#campolongo-2007), in output
/// units per unit-cube length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MorrisEffect {
    /// Mean elementary effect (effects of opposite signs cancel).
    pub mu: f64,
    /// Mean absolute elementary effect: the ranking measure.
    pub mu_star: f64,
    /// Standard deviation (ddof 1) of the elementary effects: non-linearity
    /// or interactions.
    pub sigma: f64,
    /// SALib's bootstrap half-width of μ*.
    pub mu_star_conf: f64,
}

/// Mean of `f(k)` over `idx`, with Neumaier's compensated sum, so that an
/// index near zero is not lost in the rounding of a sum of O(1) terms.
fn mean_over(idx: &[usize], f: impl Fn(usize) -> f64) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for &k in idx {
        let x = f(k);
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    (s + c) / idx.len() as f64
}

/// The outputs of a Saltelli design split by role.
struct Saltelli<'a> {
    y: &'a [f64],
    d: usize,
}

impl Saltelli<'_> {
    fn a(&self, i: usize) -> f64 {
        self.y[i * (self.d + 2)]
    }
    fn b(&self, i: usize) -> f64 {
        self.y[i * (self.d + 2) + self.d + 1]
    }
    fn ab(&self, i: usize, j: usize) -> f64 {
        self.y[i * (self.d + 2) + 1 + j]
    }

    /// (S1_j, ST_j) for j = 0..d over the base rows `idx` (repeated in a
    /// bootstrap resample), normalised by the variance (ddof 0) of f(A) and
    /// f(B) over those rows, as SALib's `first_order` and `total_order`.
    fn indices(&self, idx: &[usize]) -> Vec<(f64, f64)> {
        let m = (mean_over(idx, |i| self.a(i)) + mean_over(idx, |i| self.b(i))) / 2.0;
        let var = (mean_over(idx, |i| (self.a(i) - m).powi(2))
            + mean_over(idx, |i| (self.b(i) - m).powi(2)))
            / 2.0;
        (0..self.d)
            .map(|j| {
                if var <= f64::EPSILON {
                    return (0.0, 0.0);
                }
                let s1 = mean_over(idx, |i| self.b(i) * (self.ab(i, j) - self.a(i)));
                let st = mean_over(idx, |i| (self.a(i) - self.ab(i, j)).powi(2)) / 2.0;
                (s1 / var, st / var)
            })
            .collect()
    }
}

/// The SALib half-width and the percentile interval of bootstrap
/// estimates, or NaNs with fewer than 2.
fn spread(mut est: Vec<f64>, level: f64) -> (f64, f64, f64) {
    let k = est.len();
    if k < 2 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = est.iter().sum::<f64>() / k as f64;
    let sd = (est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (k - 1) as f64).sqrt();
    est.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let h = q * (k - 1) as f64;
        let (lo, frac) = (h.floor() as usize, h - h.floor());
        est[lo] + frac * (est[(lo + 1).min(k - 1)] - est[lo])
    };
    let z = normal_quantile(0.5 + level / 2.0);
    (z * sd, at((1.0 - level) / 2.0), at((1.0 + level) / 2.0))
}

/// The first- and total-order Sobol indices of each of `d` parameters from
/// `y`, the outputs of [`saltelli`](super::design::saltelli)'s rows in its
/// order (n·(d + 2) values). As SALib: y standardised by its mean and sd
/// (ddof 0) over all rows; V the variance of f(A) and f(B) together;
/// S1_j = mean(f(B)·(f(AB_j) − f(A)))/V (Saltelli et al. 2010,
/// docs/references.md#saltelli-2010), ST_j = mean((f(A) − f(AB_j))²)/(2V)
/// (Jansen 1999, docs/references.md#jansen-1999). Intervals from
/// `bootstrap` resamples of the n base rows, with replacement, resample k
/// drawn from `random::stream(seed, SOBOL_BOOTSTRAP_DOMAIN, k)`; `level`
/// the confidence level (0.95).
pub fn sobol_indices(
    y: &[f64],
    d: usize,
    bootstrap: usize,
    level: f64,
    seed: u64,
) -> Result<Vec<SobolIndex>, String> {
    if d == 0 || !y.len().is_multiple_of(d + 2) || y.len() < 2 * (d + 2) {
        return Err(format!(
            "{} outputs do not come from a Saltelli design of {d} parameters: \
             it has n·(d + 2) = n·{} rows, n ≥ 2",
            y.len(),
            d + 2
        ));
    }
    check_level(level)?;
    check_finite(y)?;
    let n = y.len() / (d + 2);
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / y.len() as f64).sqrt();
    let z: Vec<f64> = if sd > 0.0 {
        y.iter().map(|v| (v - mean) / sd).collect()
    } else {
        vec![0.0; y.len()]
    };
    let s = Saltelli { y: &z, d };
    let all: Vec<usize> = (0..n).collect();
    let point = s.indices(&all);
    let resampled: Vec<Vec<(f64, f64)>> = (0..bootstrap)
        .map(|k| {
            let mut rng = stream(seed, SOBOL_BOOTSTRAP_DOMAIN, k as u64);
            let idx: Vec<usize> = (0..n).map(|_| below(&mut rng, n)).collect();
            s.indices(&idx)
        })
        .collect();
    let estimate = |j: usize, pick: fn((f64, f64)) -> f64| {
        let (conf, low, high) = spread(resampled.iter().map(|r| pick(r[j])).collect(), level);
        Estimate {
            value: pick(point[j]),
            conf,
            low,
            high,
        }
    };
    Ok((0..d)
        .map(|j| SobolIndex {
            first: estimate(j, |p| p.0),
            total: estimate(j, |p| p.1),
        })
        .collect())
}

fn check_level(level: f64) -> Result<(), String> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(format!(
            "the confidence level must lie between 0 and 1 (0.95 for 95 %), got {level}"
        ))
    }
}

fn check_finite(y: &[f64]) -> Result<(), String> {
    match y.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(k) => Err(format!(
            "output {k} is {}: a run that failed or diverged must be rerun or left out \
             with its whole block of the design",
            y[k]
        )),
    }
}

/// Morris's measures of each parameter from `y`, the outputs of the rows of
/// `design` in order. The elementary effect of a step is
/// (y(x with the coordinate at its higher level) − y(x at its lower))/Δ, Δ
/// in unit-cube coordinates, as SALib (so for a parameter mapped linearly
/// onto [a, b], an effect is a slope times b − a); σ with ddof 1 (NaN for a
/// single trajectory). μ*'s half-width from `bootstrap` resamples of the
/// parameter's r effects, parameter j's from
/// `random::stream(seed, MORRIS_BOOTSTRAP_DOMAIN, j)`.
pub fn morris_effects(
    design: &Morris,
    y: &[f64],
    bootstrap: usize,
    level: f64,
    seed: u64,
) -> Result<Vec<MorrisEffect>, String> {
    let d = design.points.d;
    if y.len() != design.points.n || d == 0 {
        return Err(format!(
            "{} outputs for a Morris design of {} points",
            y.len(),
            design.points.n
        ));
    }
    check_level(level)?;
    check_finite(y)?;
    let mut effects = vec![Vec::new(); d];
    for (s, step) in design.steps.iter().enumerate() {
        let from = (s / d) * (d + 1) + s % d;
        let rise = y[from + 1] - y[from];
        effects[step.parameter].push(if step.up { rise } else { -rise } / design.delta);
    }
    Ok(effects
        .iter()
        .enumerate()
        .map(|(j, ee)| {
            let r = ee.len();
            let all: Vec<usize> = (0..r).collect();
            let mu = mean_over(&all, |k| ee[k]);
            let mu_star = mean_over(&all, |k| ee[k].abs());
            let ss = ee.iter().map(|e| (e - mu).powi(2)).sum::<f64>();
            let mut rng = stream(seed, MORRIS_BOOTSTRAP_DOMAIN, j as u64);
            let resampled = (0..bootstrap)
                .map(|_| {
                    let idx: Vec<usize> = (0..r).map(|_| below(&mut rng, r)).collect();
                    mean_over(&idx, |k| ee[k].abs())
                })
                .collect();
            MorrisEffect {
                mu,
                mu_star,
                sigma: (ss / (r as f64 - 1.0)).sqrt(),
                mu_star_conf: spread(resampled, level).0,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::design::morris;

    /// The bootstrap summary: SALib's z·sd half-width and numpy's linear
    /// percentile interval of 1..5 at level 0.5 (quartiles 2 and 4).
    #[test]
    fn spread_is_salib_half_width_and_numpy_percentiles() {
        let (conf, low, high) = spread(vec![5.0, 1.0, 4.0, 2.0, 3.0], 0.5);
        let z75 = 0.674_489_750_196_081_7;
        assert!((conf - z75 * 2.5f64.sqrt()).abs() < 1e-14, "{conf}");
        assert_eq!((low, high), (2.0, 4.0));
        assert!(spread(vec![1.0], 0.9).0.is_nan());
    }

    /// Outputs that no Saltelli or Morris design could give, failed runs
    /// and a confidence level outside (0, 1) are refused with the reason;
    /// a constant output has all indices 0, as in SALib.
    #[test]
    fn bad_outputs_are_refused() {
        let e = sobol_indices(&[1.0; 7], 3, 0, 0.95, 0).unwrap_err();
        assert!(e.contains("n·(d + 2)"), "{e}");
        let mut y = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        assert!(
            sobol_indices(&y, 2, 0, 1.5, 0)
                .unwrap_err()
                .contains("between 0 and 1")
        );
        y[3] = f64::NAN;
        assert!(
            sobol_indices(&y, 2, 0, 0.9, 0)
                .unwrap_err()
                .contains("output 3 is NaN")
        );
        let flat = sobol_indices(&[2.5; 8], 2, 10, 0.9, 0).unwrap();
        assert!(
            flat.iter()
                .all(|s| s.first.value == 0.0 && s.total.value == 0.0)
        );
        let m = morris(3, 2, 4, 0).unwrap();
        assert!(
            morris_effects(&m, &[0.0; 8], 0, 0.9, 0)
                .unwrap_err()
                .contains("9 points")
        );
    }
}
