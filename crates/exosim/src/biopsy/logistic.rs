//! L2-regularised binary logistic regression, fitted by Newton's method.
//!
//! The model is P(y = 1 | x) = σ(x·w + b). The fit minimises the penalised
//! negative log-likelihood, summed (not averaged) over the `n` rows,
//!
//! ```text
//! L(w, b) = Σᵢ [ ln(1 + e^{zᵢ}) − yᵢ zᵢ ] + λ/2 ‖w‖²,   zᵢ = xᵢ·w + b,
//! ```
//!
//! with the intercept `b` not penalised. L is convex; for λ > 0 (or data
//! that are not separable) it has one minimum, where its gradient
//!
//! ```text
//! ∂L/∂w = Σᵢ (pᵢ − yᵢ) xᵢ + λ w,   ∂L/∂b = Σᵢ (pᵢ − yᵢ),   pᵢ = σ(zᵢ)
//! ```
//!
//! vanishes. Its Hessian Σᵢ pᵢ(1 − pᵢ) (xᵢ, 1)(xᵢ, 1)ᵀ + λ diag(1, …, 1, 0)
//! is a (k + 1)-square matrix for `k` features: a signature has a few
//! markers, so each Newton step is one small Cholesky solve, and the
//! quadratic convergence of Newton's method reaches the minimum to rounding
//! in a handful of steps. A backtracking (Armijo) line search keeps every
//! step a descent step far from the minimum.
//!
//! When no finite minimum exists (λ = 0 and groups that a hyperplane
//! separates), the iterates move out along the separating direction until
//! [`MAX_NEWTON_STEPS`]; the result then classifies the training rows
//! perfectly, and [`LogisticFit::converged`] is false.

use nalgebra::{DMatrix, DVector};

/// Newton steps at most. Converging fits take under 10.
pub const MAX_NEWTON_STEPS: usize = 100;

/// A step no larger than this, relative to the parameters, ends the fit.
const STEP_TOLERANCE: f64 = 1e-13;

/// Sufficient decrease of the Armijo line search.
const ARMIJO: f64 = 1e-4;

/// A predicted decrease below this fraction of the loss switches the line
/// search off: the iterate is deep in Newton's quadratic convergence.
const PURE_NEWTON: f64 = 1e-10;

/// The fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// The intercept `b`.
    pub intercept: f64,
    /// Newton steps taken.
    pub steps: usize,
    /// The last step was below the tolerance (false only when no finite
    /// minimum exists, see the module docs).
    pub converged: bool,
}

/// ln(1 + eᶻ) without overflow for large z or loss of digits for small.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// σ(z) = 1 / (1 + e⁻ᶻ), without overflow.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The rows of a design: `x` row-major, `n` rows of `k` features.
struct Design<'a> {
    x: &'a [f64],
    y: &'a [bool],
    k: usize,
    lambda: f64,
}

impl Design<'_> {
    fn rows(&self) -> impl Iterator<Item = (&[f64], bool)> {
        let k = self.k;
        self.y
            .iter()
            .enumerate()
            .map(move |(i, &y)| (&self.x[i * k..(i + 1) * k], y))
    }

    /// The linear predictor of a row under `theta` = (w, b).
    fn z(&self, row: &[f64], theta: &[f64]) -> f64 {
        row.iter().zip(theta).map(|(x, w)| x * w).sum::<f64>() + theta[self.k]
    }

    /// L(θ).
    fn loss(&self, theta: &[f64]) -> f64 {
        let data: f64 = self
            .rows()
            .map(|(row, y)| {
                let z = self.z(row, theta);
                softplus(z) - if y { z } else { 0.0 }
            })
            .sum();
        let w2: f64 = theta[..self.k].iter().map(|w| w * w).sum();
        data + 0.5 * self.lambda * w2
    }

    /// ∇L(θ) and the Hessian at θ.
    fn gradient_and_hessian(&self, theta: &[f64]) -> (DVector<f64>, DMatrix<f64>) {
        let p = self.k + 1;
        let mut g = DVector::zeros(p);
        let mut h = DMatrix::zeros(p, p);
        for (row, y) in self.rows() {
            let prob = sigmoid(self.z(row, theta));
            let r = prob - f64::from(u8::from(y));
            let s = prob * (1.0 - prob);
            for a in 0..p {
                let xa = if a < self.k { row[a] } else { 1.0 };
                g[a] += r * xa;
                // Lower triangle; mirrored below.
                for b in 0..=a {
                    let xb = if b < self.k { row[b] } else { 1.0 };
                    h[(a, b)] += s * xa * xb;
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                h[(b, a)] = h[(a, b)];
            }
        }
        for j in 0..self.k {
            g[j] += self.lambda * theta[j];
            h[(j, j)] += self.lambda;
        }
        (g, h)
    }
}

/// Solves `h d = −g` by Cholesky. A Hessian that is only positive
/// semi-definite (a feature that is zero in every row with λ = 0, or
/// probabilities saturated at 0 and 1) gets the smallest diagonal shift
/// that makes it positive definite, so that directions the data do not
/// determine are left alone.
fn newton_direction(h: &DMatrix<f64>, g: &DVector<f64>) -> Option<DVector<f64>> {
    let scale = h.diagonal().iter().fold(0.0_f64, |m, d| m.max(d.abs()));
    let mut shift = 0.0;
    for _ in 0..40 {
        let mut shifted = h.clone();
        for i in 0..h.nrows() {
            shifted[(i, i)] += shift;
        }
        if let Some(chol) = shifted.cholesky() {
            let d = -chol.solve(g);
            if d.iter().all(|v| v.is_finite()) {
                return Some(d);
            }
        }
        shift = if shift == 0.0 {
            f64::EPSILON * scale.max(f64::MIN_POSITIVE)
        } else {
            shift * 10.0
        };
    }
    None
}

/// Fits P(y = 1 | x) = σ(x·w + b) to `n` rows: `x` holds them row-major
/// (`n · k` values), `y` their labels. `lambda` (≥ 0) weighs ½‖w‖² against
/// the summed log-likelihood. The caller checks that the values are finite
/// and that `x.len() == y.len() · k`.
pub fn fit(x: &[f64], y: &[bool], k: usize, lambda: f64) -> LogisticFit {
    debug_assert_eq!(x.len(), y.len() * k);
    let design = Design { x, y, k, lambda };
    let mut theta = vec![0.0; k + 1];
    let mut loss = design.loss(&theta);
    let mut candidate = vec![0.0; k + 1];
    let mut steps = 0;
    let mut converged = false;
    while steps < MAX_NEWTON_STEPS {
        let (g, h) = design.gradient_and_hessian(&theta);
        if g.iter().all(|&v| v == 0.0) {
            converged = true;
            break;
        }
        let Some(d) = newton_direction(&h, &g) else {
            break;
        };
        let slope = g.dot(&d);
        if slope >= 0.0 {
            // Rounding: no descent direction is left.
            converged = true;
            break;
        }
        // Backtracking from the full Newton step. Once the predicted
        // decrease −g·d is below rounding of the loss itself, the loss can
        // no longer judge a step and the quadratic model is exact enough:
        // the full step is taken (the pure Newton phase).
        let pure_newton = -slope <= PURE_NEWTON * (1.0 + loss.abs());
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            for ((c, th), di) in candidate.iter_mut().zip(&theta).zip(d.iter()) {
                *c = th + t * di;
            }
            let l = design.loss(&candidate);
            if l.is_finite() && (pure_newton || l <= loss + ARMIJO * t * slope) {
                loss = l;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        steps += 1;
        if !accepted {
            break;
        }
        let size = d.amax() * t;
        let norm = theta.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        theta.copy_from_slice(&candidate);
        if size <= STEP_TOLERANCE * (1.0 + norm) {
            converged = true;
            break;
        }
    }
    LogisticFit {
        weights: theta[..k].to_vec(),
        intercept: theta[k],
        steps,
        converged,
    }
}

/// ∇L at (w, b): zero at the fit's optimum (the first-order condition).
#[cfg(test)]
fn gradient(x: &[f64], y: &[bool], k: usize, lambda: f64, w: &[f64], b: f64) -> Vec<f64> {
    let design = Design { x, y, k, lambda };
    let mut theta = w.to_vec();
    theta.push(b);
    design
        .gradient_and_hessian(&theta)
        .0
        .iter()
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// One binary feature x = ±1: with λ = 0 the maximum-likelihood model
    /// reproduces the 2 × 2 table, logit P(y | x = +1) = b + w = ln(a/c) and
    /// logit P(y | x = −1) = b − w = ln(d/e) for a cases and c controls at
    /// x = +1, d cases and e controls at x = −1 (the saturated model).
    #[test]
    fn two_by_two_table_closed_form() {
        let (a, c, d, e) = (30, 10, 5, 20);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (value, label, count) in [
            (1.0, true, a),
            (1.0, false, c),
            (-1.0, true, d),
            (-1.0, false, e),
        ] {
            for _ in 0..count {
                x.push(value);
                y.push(label);
            }
        }
        let fit = fit(&x, &y, 1, 0.0);
        let plus = (a as f64 / c as f64).ln();
        let minus = (d as f64 / e as f64).ln();
        assert!(fit.converged, "{fit:?}");
        assert!(
            (fit.weights[0] - (plus - minus) / 2.0).abs() < 1e-12,
            "{fit:?}"
        );
        assert!(
            (fit.intercept - (plus + minus) / 2.0).abs() < 1e-12,
            "{fit:?}"
        );
    }

    /// With λ > 0 the same table has no closed form; the optimum is found
    /// independently by nested bisection on the two first-order conditions:
    /// for a given w, Σ(pᵢ − yᵢ) = 0 fixes b (monotone in b), and along that
    /// profile Σ(pᵢ − yᵢ)xᵢ + λw is increasing in w.
    #[test]
    fn penalised_table_matches_nested_bisection() {
        let rows = [
            (1.0, true, 30),
            (1.0, false, 10),
            (-1.0, true, 5),
            (-1.0, false, 20),
        ];
        let lambda = 7.5;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (value, label, count) in rows {
            for _ in 0..count {
                x.push(value);
                y.push(label);
            }
        }
        let residual = |w: f64, b: f64| -> (f64, f64) {
            rows.iter().fold((0.0, 0.0), |(gb, gw), &(v, label, n)| {
                let r = n as f64 * (sigmoid(w * v + b) - f64::from(u8::from(label)));
                (gb + r, gw + r * v)
            })
        };
        let bisect = |mut lo: f64, mut hi: f64, f: &dyn Fn(f64) -> f64| {
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if f(mid) > 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            0.5 * (lo + hi)
        };
        let b_of = |w: f64| bisect(-50.0, 50.0, &|b| residual(w, b).0);
        let w = bisect(-50.0, 50.0, &|w| residual(w, b_of(w)).1 + lambda * w);
        let b = b_of(w);
        let fit = fit(&x, &y, 1, lambda);
        assert!((fit.weights[0] - w).abs() < 1e-10, "{fit:?} vs w = {w}");
        assert!((fit.intercept - b).abs() < 1e-10, "{fit:?} vs b = {b}");
        // The penalty shrinks the weight below the unpenalised one.
        let unpenalised = ((30.0_f64 / 10.0).ln() - (5.0_f64 / 20.0).ln()) / 2.0;
        assert!(w > 0.0 && w < unpenalised);
    }

    /// Intercept only (no features): b = ln(cases / controls), whatever λ,
    /// since the intercept is not penalised.
    #[test]
    fn intercept_is_not_penalised() {
        let y: Vec<bool> = (0..40).map(|i| i % 4 == 0).collect();
        let fit = fit(&[], &y, 0, 100.0);
        assert!(
            (fit.intercept - (10.0_f64 / 30.0).ln()).abs() < 1e-12,
            "{fit:?}"
        );
    }

    /// Overlapping groups in 4 correlated features: at the fit the gradient
    /// of the penalised loss is zero (first-order optimality), for several λ.
    #[test]
    fn gradient_vanishes_at_the_fit() {
        let mut rng = crate::random::stream(5, 0x1061_5710, 0);
        let (n, k) = (300, 4);
        let mut x = Vec::with_capacity(n * k);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let case = i % 3 == 0;
            let common: f64 = rng.random::<f64>() - 0.5;
            for j in 0..k {
                let shift = if case { 0.3 * j as f64 } else { 0.0 };
                x.push(shift + common + rng.random::<f64>() - 0.5);
            }
            y.push(case);
        }
        for lambda in [0.0, 1e-3, 1.0, 50.0] {
            let fit = fit(&x, &y, k, lambda);
            assert!(fit.converged && fit.steps < 20, "{fit:?}");
            let g = gradient(&x, &y, k, lambda, &fit.weights, fit.intercept);
            let worst = g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            assert!(worst < 1e-10, "λ = {lambda}: gradient {g:?}");
        }
    }

    /// Separable groups with λ = 0 have no finite optimum: the fit reports
    /// that it did not converge, and still separates the rows.
    #[test]
    fn separable_without_penalty_is_reported() {
        let x = [-2.0, -1.0, 1.0, 2.0];
        let y = [false, false, true, true];
        let fit = fit(&x, &y, 1, 0.0);
        assert!(!fit.converged, "{fit:?}");
        assert!(fit.weights[0] > 0.0 && fit.weights[0].is_finite());
        // With a penalty the optimum exists and is found.
        let fit = super::fit(&x, &y, 1, 1.0);
        assert!(fit.converged, "{fit:?}");
        let g = gradient(&x, &y, 1, 1.0, &fit.weights, fit.intercept);
        assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
    }

    /// A feature that is zero in every row is left at weight 0 (λ = 0 gives
    /// a singular Hessian in that direction).
    #[test]
    fn a_constant_zero_feature_gets_no_weight() {
        let x = [0.0, 1.0, 0.0, -1.0, 0.0, 0.5, 0.0, -0.2, 0.0, 0.3];
        let y = [true, false, false, true, true];
        let fit = fit(&x, &y, 2, 0.0);
        assert!(fit.converged, "{fit:?}");
        assert_eq!(fit.weights[0], 0.0);
        let g = gradient(&x, &y, 2, 0.0, &fit.weights, fit.intercept);
        assert!(g.iter().all(|v| v.abs() < 1e-12), "{g:?}");
    }
}
