//! A parameter's prior as ABC-SMC uses it: drawn by its law's inverse
//! CDF, perturbed and weighed on its working scale (the log for the
//! log-uniform and log-normal laws, where a rate's uncertainty is
//! relative), its density known up to a constant.

use crate::campaign::calibration::prior::Prior;
use crate::campaign::distribution::Distribution;

/// One parameter's prior.
#[derive(Debug, Clone, PartialEq)]
pub struct AbcPrior {
    /// The law as the campaign wrote it.
    pub law: Distribution,
    /// Whether the working scale is ln x.
    pub log: bool,
    /// Lowest value of the support (in x).
    pub low: f64,
    /// Highest value of the support.
    pub high: f64,
    /// The normal law of x (or ln x), for `normal` and `log_normal`.
    normal: Option<Prior>,
}

impl AbcPrior {
    /// The prior of `law`.
    pub fn of(law: &Distribution) -> AbcPrior {
        let (low, high) = (law.quantile(0.0), law.quantile(1.0));
        let normal = Prior::of(law).map(|(p, _)| p);
        let log = match law {
            Distribution::LogUniform { .. } => true,
            _ => normal.is_some_and(|p| p.log),
        };
        let (low, high) = match law {
            Distribution::Truncated { low, high, .. } => (*low, *high),
            Distribution::Uniform { .. } | Distribution::LogUniform { .. } => (low, high),
            _ if log => (0.0, f64::INFINITY),
            _ => (f64::NEG_INFINITY, f64::INFINITY),
        };
        AbcPrior {
            law: law.clone(),
            log,
            low,
            high,
            normal,
        }
    }

    /// The value whose CDF is `u`.
    pub fn draw(&self, u: f64) -> f64 {
        self.law.quantile(u)
    }

    /// Working coordinate of `x`.
    pub fn to_z(&self, x: f64) -> f64 {
        if self.log { x.ln() } else { x }
    }

    /// Value at working coordinate `z`.
    pub fn to_x(&self, z: f64) -> f64 {
        if self.log { z.exp() } else { z }
    }

    /// ln of the prior density of the working coordinate `z`, up to a
    /// constant the same for every z; −∞ outside the support. On the log
    /// scale a log-uniform law is flat and a log-normal one normal, so no
    /// Jacobian enters.
    pub fn ln_density(&self, z: f64) -> f64 {
        let x = self.to_x(z);
        if !(x >= self.low && x <= self.high && z.is_finite()) {
            return f64::NEG_INFINITY;
        }
        match self.normal {
            Some(p) => {
                let s = (z - p.mu) / p.sigma;
                -0.5 * s * s
            }
            None => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_uniform_is_flat_in_ln_x_and_zero_outside() {
        let p = AbcPrior::of(&Distribution::LogUniform {
            low: 0.1,
            high: 10.0,
        });
        assert!(p.log);
        assert_eq!(p.ln_density(p.to_z(0.5)), p.ln_density(p.to_z(5.0)));
        assert_eq!(p.ln_density(p.to_z(11.0)), f64::NEG_INFINITY);
        assert!((p.to_x(p.to_z(3.0)) - 3.0).abs() < 1e-15);
    }

    #[test]
    fn log_normal_is_normal_in_ln_x() {
        let law = Distribution::LogNormal { mean: 2.0, cv: 0.5 };
        let p = AbcPrior::of(&law);
        let (mu, sigma) = {
            let s2 = 1.25f64.ln();
            (2f64.ln() - s2 / 2.0, s2.sqrt())
        };
        // One σ above the mean of ln x is e^(−1/2) of the peak.
        let ratio = (p.ln_density(mu + sigma) - p.ln_density(mu)).exp();
        assert!((ratio - (-0.5f64).exp()).abs() < 1e-12);
        assert_eq!(p.ln_density(f64::NEG_INFINITY), f64::NEG_INFINITY);
    }

    #[test]
    fn a_truncated_normal_has_its_window_as_support() {
        let law = Distribution::Truncated {
            inner: Box::new(Distribution::Normal { mean: 0.0, sd: 1.0 }),
            low: -1.0,
            high: 2.0,
        };
        let p = AbcPrior::of(&law);
        assert!(!p.log && p.low == -1.0 && p.high == 2.0);
        assert_eq!(p.ln_density(-1.5), f64::NEG_INFINITY);
        assert!((p.ln_density(1.0) + 0.5).abs() < 1e-15);
    }
}
