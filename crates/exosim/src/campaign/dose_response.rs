//! Dose–response: a Hill curve fitted to an observable against a varied
//! dose (or any positive parameter: a schedule's amount, a concentration),
//! with the dose of half effect (ED50, or EC50 for a concentration) and its
//! profile-likelihood interval.
//!
//! The model is the four-parameter logistic of pharmacology,
//! y = bottom + (top − bottom) / (1 + (x/ED50)^h) (Hill 1910; Ritz et al.
//! 2015, docs/references.md#dose-response). Given ED50 and h it is linear in
//! bottom and top, so only (ln ED50, ln h) are searched (variable
//! projection), by the calibration's Nelder–Mead in a box (ED50 a decade
//! beyond the doses on each side, h in [0.2, 10]); the error is normal with
//! σ estimated, so −log L = (n/2)·ln(SSR/n), and the interval of ED50 is
//! where the profile rises χ²₁(level)/2 above its minimum. A deterministic
//! model gives residuals only where the curve is not a Hill curve; the
//! interval then says how well one describes it, and replicates of a
//! stochastic study give it its usual meaning.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::calibration::fit::{self, Minimum, Objective};

/// Lowest and highest Hill coefficient searched.
const HILL_RANGE: (f64, f64) = (0.2, 10.0);
/// Nelder–Mead evaluations per local search (each is microseconds).
const EVALUATIONS: u64 = 4000;

/// `[dose_response]` as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DoseResponseSpec {
    /// The varied parameter that is the dose (its path); the only one by
    /// default.
    #[serde(default)]
    pub parameter: Option<String>,
    /// Observables fitted; every one by default.
    #[serde(default)]
    pub observables: Option<Vec<String>>,
}

/// A checked `[dose_response]`, as the merge needs it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct DoseResponse {
    /// The dose's column (the parameter's path).
    pub parameter: String,
    /// The observables fitted.
    pub observables: Vec<String>,
}

/// A Hill curve fitted to points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// Response at no dose (the curve's left asymptote).
    pub top: f64,
    /// Response at an infinite dose.
    pub bottom: f64,
    /// Dose of half effect, in the dose's unit.
    pub ed50: f64,
    /// Lower end of its interval; the searched bound when `low_open`.
    pub ed50_low: f64,
    /// Upper end of its interval; the searched bound when `high_open`.
    pub ed50_high: f64,
    /// The data do not bound ED50 from below within the search.
    pub low_open: bool,
    /// The data do not bound ED50 from above within the search.
    pub high_open: bool,
    /// Confidence level of the interval.
    pub level: f64,
    /// Hill coefficient.
    pub hill: f64,
    /// Root mean square residual.
    pub residual_sd: f64,
    /// Points fitted (positive dose, finite response).
    pub points: u64,
}

/// One observable's curve against the dose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HillFit {
    /// The observable.
    pub observable: String,
    /// The dose's column.
    pub parameter: String,
    /// The curve.
    #[serde(flatten)]
    pub curve: Curve,
}

/// The search box of (ln ED50, ln h) for doses `x`.
struct Box2 {
    ln_ed50: (f64, f64),
    ln_hill: (f64, f64),
}

impl Box2 {
    fn new(x: &[f64]) -> Box2 {
        let lo = x.iter().copied().fold(f64::INFINITY, f64::min).ln();
        let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max).ln();
        let decade = std::f64::consts::LN_10;
        Box2 {
            ln_ed50: (lo - decade, hi + decade),
            ln_hill: (HILL_RANGE.0.ln(), HILL_RANGE.1.ln()),
        }
    }

    fn ed50(&self, u: f64) -> f64 {
        (self.ln_ed50.0 + u * (self.ln_ed50.1 - self.ln_ed50.0)).exp()
    }

    fn hill(&self, u: f64) -> f64 {
        (self.ln_hill.0 + u * (self.ln_hill.1 - self.ln_hill.0)).exp()
    }
}

/// Best (bottom, top) for a given ED50 and h, and the sum of squared
/// residuals: least squares of y on g = 1/(1 + (x/ED50)^h).
fn linear_part(x: &[f64], y: &[f64], ed50: f64, hill: f64) -> (f64, f64, f64) {
    let g: Vec<f64> = x
        .iter()
        .map(|&d| 1.0 / (1.0 + (d / ed50).powf(hill)))
        .collect();
    let n = x.len() as f64;
    let (mg, my) = (g.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sgg: f64 = g.iter().map(|v| (v - mg).powi(2)).sum();
    let sgy: f64 = g.iter().zip(y).map(|(a, b)| (a - mg) * (b - my)).sum();
    let span = if sgg > 0.0 { sgy / sgg } else { 0.0 };
    let bottom = my - span * mg;
    let ssr = g
        .iter()
        .zip(y)
        .map(|(a, b)| (b - bottom - span * a).powi(2))
        .sum();
    (bottom, bottom + span, ssr)
}

/// The Hill curve of `y` against the doses `x` (pairs with x ≤ 0 or a
/// non-finite value left out), with the interval of ED50 at `level`;
/// None with fewer than 5 points (4 parameters and a residual) or
/// fewer than 3 distinct doses.
pub fn fit(x: &[f64], y: &[f64], level: f64) -> Option<Curve> {
    let (x, y): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(a, b)| **a > 0.0 && a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .unzip();
    let mut distinct = x.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if x.len() < 5 || distinct.len() < 3 {
        return None;
    }
    let b = Box2::new(&x);
    let n = x.len() as f64;
    let scale: f64 = y.iter().map(|v| v * v).sum::<f64>() / n;
    // The floor keeps −log L finite for an exact fit.
    let f = |u: &[f64]| {
        let (_, _, ssr) = linear_part(&x, &y, b.ed50(u[0]), b.hill(u[1]));
        0.5 * n * ((ssr / n) + 1e-24 * scale.max(f64::MIN_POSITIVE)).ln()
    };
    let objective = Objective::new(&f);
    let best = best_of_starts(&objective);
    let cut = ChiSquared::new(1.0).ok()?.inverse_cdf(level) / 2.0;
    let ends = fit::profile(&objective, &best, 0, cut, EVALUATIONS);
    let (ed50, hill) = (b.ed50(best.u[0]), b.hill(best.u[1]));
    let (bottom, top, ssr) = linear_part(&x, &y, ed50, hill);
    Some(Curve {
        top,
        bottom,
        ed50,
        ed50_low: b.ed50(ends.0.u),
        ed50_high: b.ed50(ends.1.u),
        low_open: ends.0.open,
        high_open: ends.1.open,
        level,
        hill,
        residual_sd: (ssr / n).sqrt(),
        points: x.len() as u64,
    })
}

/// Nelder–Mead from a 5 × 3 grid of starts; the lowest end.
fn best_of_starts(objective: &Objective) -> Minimum {
    let mut best: Option<Minimum> = None;
    for i in 0..5 {
        for j in 0..3 {
            let start = [0.1 + 0.2 * i as f64, 0.25 + 0.25 * j as f64];
            let m = fit::local(objective, &[None, None], &start, EVALUATIONS);
            if best.as_ref().is_none_or(|b| m.cost < b.cost) {
                best = Some(m);
            }
        }
    }
    best.expect("starts")
}

/// The fits of `dr` on the campaign's columns.
pub fn analyse(dr: &DoseResponse, column: impl Fn(&str) -> Vec<f64>, level: f64) -> Vec<HillFit> {
    let x = column(&dr.parameter);
    dr.observables
        .iter()
        .filter_map(|o| {
            Some(HillFit {
                observable: o.clone(),
                parameter: dr.parameter.clone(),
                curve: fit(&x, &column(o), level)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hill(x: f64) -> f64 {
        200.0 + (1800.0 - 200.0) / (1.0 + (x / 3e10).powf(1.5))
    }

    /// An exact Hill curve gives back its parameters.
    #[test]
    fn an_exact_hill_curve_is_recovered() {
        let x: Vec<f64> = [1e9, 3e9, 1e10, 3e10, 1e11, 3e11, 1e12].to_vec();
        let y: Vec<f64> = x.iter().map(|&d| hill(d)).collect();
        let c = fit(&x, &y, 0.95).unwrap();
        assert_eq!(c.points, 7);
        assert!((c.ed50 / 3e10 - 1.0).abs() < 1e-3, "{}", c.ed50);
        assert!((c.hill - 1.5).abs() < 2e-3, "{}", c.hill);
        assert!((c.bottom - 200.0).abs() < 0.5 && (c.top - 1800.0).abs() < 0.5);
        assert!(c.residual_sd < 1e-2 && c.ed50_low <= c.ed50 && c.ed50 <= c.ed50_high);
    }

    /// The likelihood-ratio interval of ED50 covers the true value about
    /// as often as its level says (Venzon & Moolgavkar 1988): 200 noisy
    /// data sets of 7 doses × 3 replicates (sd 80 on a span of 1600).
    #[test]
    fn the_interval_covers_the_true_ed50_near_its_level() {
        use rand_distr::{Distribution, Normal};
        let doses = [1e9, 3e9, 1e10, 3e10, 1e11, 3e11, 1e12];
        let noise = Normal::new(0.0, 80.0).unwrap();
        let mut covered = 0;
        for k in 0..200 {
            let mut rng = crate::random::stream(k, 7, 0);
            let x: Vec<f64> = doses.iter().flat_map(|&d| [d; 3]).collect();
            let y: Vec<f64> = x
                .iter()
                .map(|&d| hill(d) + noise.sample(&mut rng))
                .collect();
            let c = fit(&x, &y, 0.95).unwrap();
            covered += usize::from(c.ed50_low <= 3e10 && 3e10 <= c.ed50_high);
        }
        println!("covered {covered} of 200");
        assert!((176..=198).contains(&covered), "{covered} of 200");
    }

    /// Too few points or doses: no fit rather than a fit of nothing.
    #[test]
    fn too_few_points_give_no_fit() {
        assert!(fit(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0], 0.95).is_none());
        assert!(fit(&[1.0, 1.0, 2.0, 2.0, 2.0], &[1.0, 1.0, 2.0, 2.0, 2.0], 0.95).is_none());
    }
}
