//! Priors: a `normal` or `log_normal` parameter of a calibration makes it
//! maximum a posteriori. The prior's −log density is added to −log L, and
//! the search box is the prior's central 99.9 % (within its truncation),
//! on the log scale for a log-normal.
//!
//! Truncation changes only the prior's normalising constant, a constant
//! inside the box, so the untruncated density serves for the estimate and
//! the profile (whose intervals are then profile-posterior intervals).

use super::scale::Scale;
use crate::campaign::distribution::Distribution;

/// Mass of the prior left outside the search box, half on each side.
pub const OUTSIDE_MASS: f64 = 1e-3;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A parameter's prior, as a normal law of x or of ln x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// Mean of x (or of ln x).
    pub mu: f64,
    /// Sd of x (or of ln x).
    pub sigma: f64,
    /// Whether the normal law is of ln x (a log-normal prior).
    pub log: bool,
}

impl Prior {
    /// The prior of a law, and its search box; `None` for a law without a
    /// density to add (uniform, log-uniform: bounds only).
    pub fn of(law: &Distribution) -> Option<(Prior, Scale)> {
        let inner = match law {
            Distribution::Truncated { inner, .. } => inner.as_ref(),
            other => other,
        };
        let prior = match *inner {
            Distribution::Normal { mean, sd } => Prior {
                mu: mean,
                sigma: sd,
                log: false,
            },
            Distribution::LogNormal { mean, cv } => {
                let s2 = cv.mul_add(cv, 1.0).ln();
                Prior {
                    mu: mean.ln() - s2 / 2.0,
                    sigma: s2.sqrt(),
                    log: true,
                }
            }
            _ => return None,
        };
        let scale = Scale {
            low: law.quantile(OUTSIDE_MASS / 2.0),
            high: law.quantile(1.0 - OUTSIDE_MASS / 2.0),
            log: prior.log,
        };
        Some((prior, scale))
    }

    /// −ln of the prior density at `x` (in x's unit; the log-normal's
    /// Jacobian 1/x included).
    pub fn neg_log_density(&self, x: f64) -> f64 {
        let (z, jacobian) = if self.log {
            ((x.ln() - self.mu) / self.sigma, x.ln())
        } else {
            ((x - self.mu) / self.sigma, 0.0)
        };
        0.5 * z * z + 0.5 * LN_2PI + self.sigma.ln() + jacobian
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_are_the_normal_and_log_normal_laws() {
        let (p, s) = Prior::of(&Distribution::Normal { mean: 2.0, sd: 0.5 }).unwrap();
        // φ(1)/0.5 at x = 2.5.
        let expect = -((-0.5f64).exp() / (2.0 * std::f64::consts::PI).sqrt() / 0.5).ln();
        assert!((p.neg_log_density(2.5) - expect).abs() < 1e-12);
        // The box is the central 99.9 %: 2 ± 3.2905 sd.
        assert!((s.low - (2.0 - 3.290_527 * 0.5)).abs() < 1e-5, "{s:?}");
        assert!(!s.log);
        let law = Distribution::LogNormal { mean: 1.0, cv: 0.5 };
        let (p, s) = Prior::of(&law).unwrap();
        assert!(s.log && s.low > 0.0);
        // Density of ln x normal(μ, σ) at x = 1: φ(−μ/σ)/(σ·1).
        let expect = 0.5 * (p.mu / p.sigma).powi(2) + 0.5 * LN_2PI + p.sigma.ln();
        assert!((p.neg_log_density(1.0) - expect).abs() < 1e-12);
        assert!(
            Prior::of(&Distribution::Uniform {
                low: 0.0,
                high: 1.0
            })
            .is_none()
        );
    }

    #[test]
    fn a_truncated_prior_searches_inside_its_truncation() {
        let law = Distribution::Truncated {
            inner: Box::new(Distribution::Normal { mean: 0.0, sd: 1.0 }),
            low: 0.5,
            high: f64::INFINITY,
        };
        let (_, s) = Prior::of(&law).unwrap();
        assert!(s.low >= 0.5 && s.high.is_finite(), "{s:?}");
    }
}
