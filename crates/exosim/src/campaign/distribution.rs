//! The laws of uncertain parameters: what a value drawn for a run follows.
//!
//! A design ([`super::design`]) chooses points in the unit cube; a
//! distribution turns a coordinate `u` into a parameter value through its
//! quantile function (inverse CDF), so that stratified designs (Latin
//! hypercube, Sobol) stay stratified in the parameter's own law and a
//! correlated population only needs correlated uniforms
//! ([`super::design::gaussian_copula`]).

use libm::erfc;
use statrs::function::erf::erfc_inv;
use std::f64::consts::SQRT_2;

/// Windows of a truncated law that hold less than this probability are
/// refused: all draws would pile up at one edge, which is never what the
/// author of the window meant.
pub const MIN_TRUNCATED_MASS: f64 = 1e-9;

/// The law of one uncertain parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// Every value of `[low, high]` equally likely.
    Uniform {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
    },
    /// The logarithm uniform on `[ln low, ln high]`: every decade equally
    /// likely, for rates and sizes known only to an order of magnitude.
    LogUniform {
        /// Lowest value (positive).
        low: f64,
        /// Highest value.
        high: f64,
    },
    /// The normal law.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (positive).
        sd: f64,
    },
    /// The log-normal law given by its arithmetic mean and coefficient of
    /// variation (sd/mean), as pharmacometricians report between-subject
    /// variability: σ² = ln(1 + cv²), μ = ln(mean) − σ²/2 for the normal
    /// law of ln x. The median is mean/√(1 + cv²).
    LogNormal {
        /// Arithmetic mean (positive).
        mean: f64,
        /// Coefficient of variation (positive).
        cv: f64,
    },
    /// `inner` (a [`Normal`](Self::Normal) or
    /// [`LogNormal`](Self::LogNormal)) conditioned on `[low, high]`, for a
    /// physiological parameter that cannot leave a range. Either bound may
    /// be infinite (one-sided truncation).
    Truncated {
        /// The law before truncation.
        inner: Box<Distribution>,
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
    },
}

/// Φ, the standard normal CDF (through erfc, accurate in the lower tail;
/// libm's erfc, as statrs 0.19's is off by ~1e-10 relative in places).
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / SQRT_2)
}

/// 1 − Φ(z), accurate in the upper tail.
fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / SQRT_2)
}

/// Φ⁻¹, the standard normal quantile (−∞ at 0, +∞ at 1).
pub fn normal_quantile(p: f64) -> f64 {
    -SQRT_2 * erfc_inv(2.0 * p)
}

/// The standard normal density φ.
fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The location and scale (μ, σ) of the normal law of the value (normal)
/// or of its logarithm (log-normal), and whether it is the log.
fn normal_parameters(inner: &Distribution) -> Option<(f64, f64, bool)> {
    match *inner {
        Distribution::Normal { mean, sd } => Some((mean, sd, false)),
        Distribution::LogNormal { mean, cv } => {
            let s2 = cv.mul_add(cv, 1.0).ln();
            Some((mean.ln() - s2 / 2.0, s2.sqrt(), true))
        }
        _ => None,
    }
}

/// μ, σ, whether logarithmic, and the standard window of a truncated law
/// whose inner law [`Distribution::check`] has accepted.
fn truncation(inner: &Distribution, low: f64, high: f64) -> (f64, f64, bool, Window) {
    let (mu, sigma, log) =
        normal_parameters(inner).expect("checked: a normal or log-normal inner law");
    (mu, sigma, log, Window::new(mu, sigma, log, low, high))
}

/// A truncated normal in standard units: the window (α, β) and its mass.
struct Window {
    alpha: f64,
    beta: f64,
    /// Whether the window lies above the mean (then the survival function
    /// carries the precision).
    upper: bool,
    mass: f64,
}

impl Window {
    fn new(mu: f64, sigma: f64, log: bool, low: f64, high: f64) -> Window {
        let (low, high) = if log {
            (low.ln(), high.ln())
        } else {
            (low, high)
        };
        let (alpha, beta) = ((low - mu) / sigma, (high - mu) / sigma);
        let upper = alpha > 0.0;
        let mass = if upper {
            normal_sf(alpha) - normal_sf(beta)
        } else {
            normal_cdf(beta) - normal_cdf(alpha)
        };
        Window {
            alpha,
            beta,
            upper,
            mass,
        }
    }

    /// The standard-normal quantile of the conditioned law at `u`.
    fn quantile(&self, u: f64) -> f64 {
        let z = if self.upper {
            -normal_quantile(normal_sf(self.alpha) - u * self.mass)
        } else {
            normal_quantile(normal_cdf(self.alpha) + u * self.mass)
        };
        z.clamp(self.alpha, self.beta)
    }

    /// φ(α) − φ(β) and αφ(α) − βφ(β), the terms of the truncated moments
    /// (zero at an infinite bound).
    fn density_terms(&self) -> (f64, f64) {
        let f = |z: f64| if z.is_finite() { normal_pdf(z) } else { 0.0 };
        let zf = |z: f64| {
            if z.is_finite() {
                z * normal_pdf(z)
            } else {
                0.0
            }
        };
        (f(self.alpha) - f(self.beta), zf(self.alpha) - zf(self.beta))
    }

    /// E[exp(k·σ·Z)] ratio for the truncated log-normal moments:
    /// (Φ(β − kσ) − Φ(α − kσ)) / mass.
    fn shifted_mass(&self, shift: f64) -> f64 {
        let w = Window {
            alpha: self.alpha - shift,
            beta: self.beta - shift,
            upper: self.alpha - shift > 0.0,
            mass: 0.0,
        };
        let m = if w.upper {
            normal_sf(w.alpha) - normal_sf(w.beta)
        } else {
            normal_cdf(w.beta) - normal_cdf(w.alpha)
        };
        m / self.mass
    }
}

impl Distribution {
    /// The value whose CDF is `u` (the inverse CDF). `u` in (0, 1) gives a
    /// finite value; 0 and 1 give the bounds, infinite for the unbounded
    /// laws (so a design with points on the cube's faces, Morris's grid,
    /// wants bounded laws).
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Distribution::Uniform { low, high } => u.mul_add(high - low, low),
            Distribution::LogUniform { low, high } => u
                .mul_add(high.ln() - low.ln(), low.ln())
                .exp()
                .clamp(low, high),
            Distribution::Normal { mean, sd } => sd.mul_add(normal_quantile(u), mean),
            Distribution::LogNormal { .. } => {
                let (mu, sigma, _) = normal_parameters(self).expect("a log-normal");
                sigma.mul_add(normal_quantile(u), mu).exp()
            }
            Distribution::Truncated {
                ref inner,
                low,
                high,
            } => {
                let (mu, sigma, log, w) = truncation(inner, low, high);
                let z = w.quantile(u);
                let x = sigma.mul_add(z, mu);
                if log { x.exp() } else { x }.clamp(low, high)
            }
        }
    }

    /// Whether the law's numbers make sense, with a message naming what is
    /// wrong and what would be right.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Distribution::Uniform { low, high } => check_bounds("uniform", low, high),
            Distribution::LogUniform { low, high } => {
                check_bounds("log-uniform", low, high)?;
                if low <= 0.0 {
                    return Err(format!(
                        "log-uniform: low must be positive (its logarithm is drawn), got {low}"
                    ));
                }
                Ok(())
            }
            Distribution::Normal { mean, sd } => {
                finite("normal", "mean", mean)?;
                positive("normal", "sd", sd)
            }
            Distribution::LogNormal { mean, cv } => {
                positive("log-normal", "mean", mean)?;
                positive("log-normal", "cv", cv)
            }
            Distribution::Truncated {
                ref inner,
                low,
                high,
            } => check_truncated(inner, low, high),
        }
    }

    /// The mean of the law (closed forms; for the truncated laws those of
    /// Johnson, Kotz & Balakrishnan 1994, docs/references.md#johnson-kotz-1994).
    pub fn mean(&self) -> f64 {
        self.moments().0
    }

    /// The standard deviation of the law (closed forms, as [`mean`](Self::mean)).
    pub fn sd(&self) -> f64 {
        self.moments().1
    }

    /// (mean, sd).
    fn moments(&self) -> (f64, f64) {
        match *self {
            Distribution::Uniform { low, high } => {
                ((low + high) / 2.0, (high - low) / 12f64.sqrt())
            }
            Distribution::LogUniform { low, high } => {
                let l = (high / low).ln();
                let m = (high - low) / l;
                let m2 = (high * high - low * low) / (2.0 * l);
                (m, (m2 - m * m).max(0.0).sqrt())
            }
            Distribution::Normal { mean, sd } => (mean, sd),
            Distribution::LogNormal { mean, cv } => (mean, mean * cv),
            Distribution::Truncated {
                ref inner,
                low,
                high,
            } => {
                let (mu, sigma, log, w) = truncation(inner, low, high);
                if log {
                    let m = (mu + sigma * sigma / 2.0).exp() * w.shifted_mass(sigma);
                    let m2 = (2.0 * mu + 2.0 * sigma * sigma).exp() * w.shifted_mass(2.0 * sigma);
                    (m, (m2 - m * m).max(0.0).sqrt())
                } else {
                    let (d, zd) = w.density_terms();
                    let shift = d / w.mass;
                    let var = sigma * sigma * (1.0 + zd / w.mass - shift * shift);
                    (mu + sigma * shift, var.max(0.0).sqrt())
                }
            }
        }
    }
}

fn finite(law: &str, name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{law}: {name} must be a finite number, got {v}"))
    }
}

fn positive(law: &str, name: &str, v: f64) -> Result<(), String> {
    finite(law, name, v)?;
    if v > 0.0 {
        Ok(())
    } else {
        Err(format!("{law}: {name} must be positive, got {v}"))
    }
}

fn check_bounds(law: &str, low: f64, high: f64) -> Result<(), String> {
    finite(law, "low", low)?;
    finite(law, "high", high)?;
    if low < high {
        Ok(())
    } else {
        Err(format!(
            "{law}: low ({low}) must be below high ({high}); swap them if they were written in reverse"
        ))
    }
}

/// The checks of a truncated law: a normal or log-normal inner law,
/// ordered bounds (positive or zero for a log-normal), and a window that
/// holds at least [`MIN_TRUNCATED_MASS`] of the inner law.
fn check_truncated(inner: &Distribution, low: f64, high: f64) -> Result<(), String> {
    let Some((mu, sigma, log)) = normal_parameters(inner) else {
        return Err(format!(
            "truncated: only a normal or log-normal law can be truncated, got {inner:?} \
             (a uniform or log-uniform law already has bounds: narrow them instead)"
        ));
    };
    inner.check().map_err(|e| format!("truncated {e}"))?;
    if low.is_nan() || high.is_nan() || low >= high {
        return Err(format!(
            "truncated: low ({low}) must be below high ({high}); swap them if they were written in reverse"
        ));
    }
    if log && low < 0.0 {
        return Err(format!(
            "truncated log-normal: low must be 0 or more (a log-normal value is positive), got {low}"
        ));
    }
    let mass = Window::new(mu, sigma, log, low, high).mass;
    if mass.is_nan() || mass < MIN_TRUNCATED_MASS {
        return Err(format!(
            "truncated: the window [{low}, {high}] holds only {mass:.3e} of the {} law \
             (mean {}, sd {}): every draw would sit at its edge; widen the window or move the mean",
            if log { "log-normal" } else { "normal" },
            inner.mean(),
            inner.sd()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunc(inner: Distribution, low: f64, high: f64) -> Distribution {
        Distribution::Truncated {
            inner: Box::new(inner),
            low,
            high,
        }
    }

    /// Uniform and log-uniform quantiles are exact affine (log-affine) maps.
    #[test]
    fn uniform_quantiles_are_exact() {
        let u = Distribution::Uniform {
            low: 2.0,
            high: 6.0,
        };
        assert_eq!(u.quantile(0.25), 3.0);
        assert_eq!(u.quantile(0.0), 2.0);
        assert_eq!(u.quantile(1.0), 6.0);
        let l = Distribution::LogUniform {
            low: 1e-3,
            high: 1e1,
        };
        assert!((l.quantile(0.5) - 0.1).abs() < 1e-15);
        assert!((l.quantile(0.75) - 1.0).abs() < 1e-14);
        assert_eq!((u.mean(), u.sd()), (4.0, 4.0 / 12f64.sqrt()));
    }

    /// Normal quantiles at the tabulated z: Φ⁻¹(0.975) = 1.959963984540054,
    /// Φ⁻¹(0.8413447460685429) = 1 (Abramowitz & Stegun 26.2).
    #[test]
    fn normal_quantiles_at_known_z() {
        let n = Distribution::Normal {
            mean: 10.0,
            sd: 2.0,
        };
        assert!((n.quantile(0.975) - (10.0 + 2.0 * 1.959_963_984_540_054)).abs() < 1e-12);
        assert!((n.quantile(0.841_344_746_068_542_9) - 12.0).abs() < 1e-12);
        assert_eq!(n.quantile(0.5), 10.0);
        assert!((n.quantile(0.025) - (10.0 - 2.0 * 1.959_963_984_540_054)).abs() < 1e-12);
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 2e-16);
        // Φ round-trips Φ⁻¹ to rounding (statrs 0.19's erfc did not: 1e-10).
        for k in 1..1000 {
            let u = k as f64 / 1000.0;
            assert!(
                (normal_cdf(normal_quantile(u)) - u).abs() < 1e-14 * u,
                "{u}"
            );
        }
    }

    /// A log-normal given by mean and cv has that mean and cv: the mean of
    /// exp(μ + σZ) by quadrature of its quantile over (0, 1), and the
    /// median exp(μ) = mean/√(1 + cv²).
    #[test]
    fn lognormal_mean_cv_round_trip() {
        let d = Distribution::LogNormal { mean: 3.0, cv: 0.4 };
        assert!((d.quantile(0.5) - 3.0 / (1.0f64 + 0.16).sqrt()).abs() < 1e-12);
        let k = 400_000;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..k {
            let x = d.quantile((i as f64 + 0.5) / k as f64);
            s += x;
            s2 += x * x;
        }
        let mean = s / k as f64;
        let sd = (s2 / k as f64 - mean * mean).sqrt();
        assert!((mean - 3.0).abs() < 1e-4, "{mean}");
        assert!((sd / mean - 0.4).abs() < 2e-3, "{sd}");
    }

    /// Truncated draws stay in their window, its edges are its 0 and 1
    /// quantiles, and the moments of the closed forms match quadrature,
    /// also far in the upper tail.
    #[test]
    fn truncated_stays_in_bounds_and_moments_agree() {
        let laws = [
            trunc(Distribution::Normal { mean: 0.0, sd: 1.0 }, -0.5, 2.0),
            trunc(Distribution::Normal { mean: 0.0, sd: 1.0 }, 4.0, 6.0),
            trunc(
                Distribution::Normal { mean: 1.0, sd: 1.0 },
                0.0,
                f64::INFINITY,
            ),
            trunc(Distribution::LogNormal { mean: 2.0, cv: 0.8 }, 0.5, 4.0),
        ];
        for d in &laws {
            d.check().unwrap();
            let Distribution::Truncated { low, high, .. } = *d else {
                unreachable!()
            };
            let k = 200_000;
            let (mut s, mut s2) = (0.0, 0.0);
            for i in 0..k {
                let x = d.quantile((i as f64 + 0.5) / k as f64);
                assert!((low..=high).contains(&x), "{d:?}: {x}");
                s += x;
                s2 += x * x;
            }
            let mean = s / k as f64;
            let sd = (s2 / k as f64 - mean * mean).sqrt();
            assert!(
                (mean - d.mean()).abs() < 1e-4 * d.sd(),
                "{d:?}: {mean} vs {}",
                d.mean()
            );
            assert!(
                (sd - d.sd()).abs() < 1e-3 * d.sd(),
                "{d:?}: {sd} vs {}",
                d.sd()
            );
            assert!(
                (d.quantile(0.0) - low).abs() <= 1e-9 * low.abs().max(1.0),
                "{d:?}"
            );
            if high.is_finite() {
                assert!((d.quantile(1.0) - high).abs() <= 1e-9 * high.abs(), "{d:?}");
            }
        }
    }

    /// Reversed bounds, non-positive spreads and log bounds, an empty
    /// truncation window and a truncated uniform are refused with words a
    /// user understands.
    #[test]
    fn check_refuses_bad_numbers() {
        use Distribution::{LogNormal as Ln, LogUniform as Lu, Normal as N, Uniform as U};
        let std = || N { mean: 0.0, sd: 1.0 };
        let bad = [
            (
                U {
                    low: 3.0,
                    high: 1.0,
                },
                "must be below high",
            ),
            (
                Lu {
                    low: 0.0,
                    high: 1.0,
                },
                "low must be positive",
            ),
            (
                N {
                    mean: 1.0,
                    sd: -1.0,
                },
                "sd must be positive",
            ),
            (
                Ln {
                    mean: -1.0,
                    cv: 0.3,
                },
                "mean must be positive",
            ),
            (
                Ln {
                    mean: 1.0,
                    cv: f64::NAN,
                },
                "cv must be a finite",
            ),
            (trunc(std(), 40.0, 50.0), "holds only"),
            (trunc(std(), 1.0, -1.0), "must be below high"),
            (
                trunc(
                    U {
                        low: 0.0,
                        high: 1.0,
                    },
                    0.2,
                    0.5,
                ),
                "only a normal or log-normal",
            ),
            (
                trunc(Ln { mean: 1.0, cv: 0.1 }, -1.0, 2.0),
                "low must be 0 or more",
            ),
        ];
        for (d, words) in bad {
            let e = d.check().unwrap_err();
            assert!(e.contains(words), "{d:?}: {e}");
        }
    }
}
