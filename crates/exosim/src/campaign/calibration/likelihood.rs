//! The likelihood of the data given the model's values: one error model
//! for every row, its σ known per row (the data's `sd` column), fixed by
//! the campaign, or estimated, once for all rows or once per group of
//! rows.
//!
//! An estimated σ is profiled out in closed form (σ̂² is the mean squared
//! scaled residual, of the group's rows for a σ per group), so the
//! optimiser searches the study's parameters only and every interval is a
//! profile over σ too. The densities are written
//! whole, constants included, so that −log L, AIC and BIC compare across
//! error models of the same data (the log-normal's Jacobian Σ ln y
//! included).

use serde::{Deserialize, Serialize};

/// How a measured value scatters around the model's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorModel {
    /// y = f + ε, ε ~ N(0, σ²): σ in the value's unit.
    Additive,
    /// y = f·(1 + ε), ε ~ N(0, σ²): σ is a coefficient of variation.
    Proportional,
    /// ln y = ln f + ε, ε ~ N(0, σ²): σ is the sd of the log.
    LogNormal,
}

impl ErrorModel {
    /// The names written in a campaign file.
    pub const NAMES: [&'static str; 3] = ["additive", "proportional", "log_normal"];

    /// The model named `name`, one of [`ErrorModel::NAMES`].
    pub fn from_name(name: &str) -> Option<ErrorModel> {
        match name {
            "additive" => Some(ErrorModel::Additive),
            "proportional" => Some(ErrorModel::Proportional),
            "log_normal" => Some(ErrorModel::LogNormal),
            _ => None,
        }
    }
}

/// Where σ comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sigma {
    /// Each row's own: the data's `sd` column (for the log-normal model,
    /// converted to the sd of the log: √ln(1 + (sd/y)²)).
    PerRow(Vec<f64>),
    /// Given in the campaign file.
    Fixed(f64),
    /// Estimated with the parameters (maximum likelihood).
    Estimated,
    /// Estimated with the parameters, one σ per group of rows.
    PerGroup {
        /// Each row's group.
        group: Vec<usize>,
        /// The groups' names (the values of the data column grouped by).
        names: Vec<String>,
    },
}

/// The data's side of the likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct Likelihood {
    /// The error model.
    pub model: ErrorModel,
    /// Its σ.
    pub sigma: Sigma,
    /// The measured values.
    pub values: Vec<f64>,
}

/// The fit of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Residual {
    /// Measured minus fitted, on the model's scale (logs for log-normal).
    pub raw: f64,
    /// `raw` over the row's standard deviation.
    pub standardised: f64,
}

const LN_2PI: f64 = 1.837_877_066_409_345_5;

impl Likelihood {
    /// A likelihood with σ per row from the data's `sd` column.
    pub fn with_sds(model: ErrorModel, values: Vec<f64>, sds: &[f64]) -> Likelihood {
        let per_row = match model {
            ErrorModel::LogNormal => values
                .iter()
                .zip(sds)
                .map(|(y, s)| (1.0 + (s / y).powi(2)).ln().sqrt())
                .collect(),
            _ => sds.to_vec(),
        };
        Likelihood {
            model,
            sigma: Sigma::PerRow(per_row),
            values,
        }
    }

    /// How many σ are estimated (parameters more for AIC and BIC).
    pub fn estimated_sigmas(&self) -> usize {
        match &self.sigma {
            Sigma::Estimated => 1,
            Sigma::PerGroup { names, .. } => names.len(),
            _ => 0,
        }
    }

    /// The group of row `i` (0 unless σ is estimated per group).
    fn group_of(&self, i: usize) -> usize {
        match &self.sigma {
            Sigma::PerGroup { group, .. } => group[i],
            _ => 0,
        }
    }

    /// Residual on the model's scale and the factor g that scales σ into
    /// the row's sd (|f| for proportional, 1 otherwise); `None` where the
    /// model gives the value no density (f ≤ 0 for log-normal, f = 0 for
    /// proportional, or not finite).
    fn scaled(&self, i: usize, f: f64) -> Option<(f64, f64)> {
        let y = self.values[i];
        let ok = f.is_finite()
            && match self.model {
                ErrorModel::Additive => true,
                ErrorModel::Proportional => f != 0.0,
                ErrorModel::LogNormal => f > 0.0,
            };
        ok.then(|| match self.model {
            ErrorModel::Additive => (y - f, 1.0),
            ErrorModel::Proportional => (y - f, f.abs()),
            ErrorModel::LogNormal => (y.ln() - f.ln(), 1.0),
        })
    }

    /// σ as used at these fitted values: the estimate (√ of the mean
    /// squared scaled residual) when estimated; NaN for per-row σ, and for
    /// σ per group (see [`Likelihood::group_sigmas`]).
    pub fn sigma_at(&self, fitted: &[f64]) -> f64 {
        match &self.sigma {
            Sigma::PerRow(_) | Sigma::PerGroup { .. } => f64::NAN,
            _ => self.group_sigmas(fitted)[0],
        }
    }

    /// σ of each group at these fitted values (one group unless σ is
    /// estimated per group; empty for per-row σ). An estimate is √ of the
    /// mean squared scaled residual of the group's rows; NaN where a row
    /// has no density.
    pub fn group_sigmas(&self, fitted: &[f64]) -> Vec<f64> {
        let groups = match &self.sigma {
            Sigma::PerRow(_) => return Vec::new(),
            Sigma::Fixed(s) => return vec![*s],
            Sigma::Estimated => 1,
            Sigma::PerGroup { names, .. } => names.len(),
        };
        let (mut sum, mut rows) = (vec![0.0; groups], vec![0usize; groups]);
        for (i, &f) in fitted.iter().enumerate() {
            let g = self.group_of(i);
            match self.scaled(i, f) {
                Some((r, scale)) => sum[g] += (r / scale).powi(2),
                None => sum[g] = f64::NAN,
            }
            rows[g] += 1;
        }
        sum.iter()
            .zip(&rows)
            .map(|(s, &n)| (s / n as f64).sqrt())
            .collect()
    }

    /// The row's standard deviation on the model's scale, given the
    /// groups' σ.
    fn sd(&self, i: usize, g: f64, sigmas: &[f64]) -> f64 {
        match &self.sigma {
            Sigma::PerRow(s) => s[i],
            _ => sigmas[self.group_of(i)] * g,
        }
    }

    /// A data set drawn from the error model around the model's values
    /// `fitted`, with σ as at those values (each row's own sd, the fixed
    /// σ, or the estimate of its group): `normal` gives a standard normal
    /// draw per row, in row order.
    pub fn simulate(&self, fitted: &[f64], mut normal: impl FnMut() -> f64) -> Vec<f64> {
        let sigmas = self.group_sigmas(fitted);
        fitted
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                let g = match self.model {
                    ErrorModel::Proportional => f.abs(),
                    _ => 1.0,
                };
                let e = self.sd(i, g, &sigmas) * normal();
                match self.model {
                    ErrorModel::LogNormal => f * e.exp(),
                    _ => f + e,
                }
            })
            .collect()
    }

    /// −log L of the data at the model's values `fitted` (one per row);
    /// +∞ where a value has no density or an estimated σ is 0.
    pub fn nll(&self, fitted: &[f64]) -> f64 {
        let sigma = self.group_sigmas(fitted);
        let mut total = 0.0;
        for (i, &f) in fitted.iter().enumerate() {
            let Some((r, g)) = self.scaled(i, f) else {
                return f64::INFINITY;
            };
            let sd = self.sd(i, g, &sigma);
            if sd <= 0.0 || sd.is_nan() {
                return f64::INFINITY;
            }
            total += sd.ln() + 0.5 * LN_2PI + 0.5 * (r / sd).powi(2);
            if self.model == ErrorModel::LogNormal {
                total += self.values[i].ln();
            }
        }
        total
    }

    /// Each row's residual at the model's values (NaN where undefined).
    pub fn residuals(&self, fitted: &[f64]) -> Vec<Residual> {
        let sigma = self.group_sigmas(fitted);
        (0..fitted.len())
            .map(|i| match self.scaled(i, fitted[i]) {
                Some((raw, g)) => Residual {
                    raw,
                    standardised: raw / self.sd(i, g, &sigma),
                },
                None => Residual {
                    raw: f64::NAN,
                    standardised: f64::NAN,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Gaussian density written out: −ln φ((y − f)/s)/s summed.
    fn gauss(y: &[f64], f: &[f64], s: &[f64]) -> f64 {
        y.iter()
            .zip(f)
            .zip(s)
            .map(|((y, f), s)| s.ln() + 0.5 * LN_2PI + 0.5 * ((y - f) / s).powi(2))
            .sum()
    }

    #[test]
    fn per_row_additive_is_the_gaussian_density() {
        let l = Likelihood::with_sds(ErrorModel::Additive, vec![1.0, 2.0], &[0.5, 0.1]);
        let got = l.nll(&[1.2, 1.9]);
        assert!((got - gauss(&[1.0, 2.0], &[1.2, 1.9], &[0.5, 0.1])).abs() < 1e-12);
    }

    #[test]
    fn estimated_sigma_is_the_maximum_over_sigma() {
        let values = vec![1.0, 2.5, 2.0, 4.2];
        let fitted = [1.1, 2.0, 2.2, 4.0];
        let est = Likelihood {
            model: ErrorModel::Proportional,
            sigma: Sigma::Estimated,
            values: values.clone(),
        };
        let best = est.nll(&fitted);
        let s_hat = est.sigma_at(&fitted);
        for k in [0.8, 0.95, 1.05, 1.3] {
            let fixed = Likelihood {
                sigma: Sigma::Fixed(s_hat * k),
                ..est.clone()
            };
            assert!(fixed.nll(&fitted) > best, "σ̂ maximises L (k = {k})");
        }
        let at = Likelihood {
            sigma: Sigma::Fixed(s_hat),
            ..est.clone()
        };
        assert!((at.nll(&fitted) - best).abs() < 1e-12);
    }

    /// With a σ per group, −log L is the sum of each group's own profiled
    /// likelihood: the groups' data are independent and share no σ.
    #[test]
    fn sigma_per_group_is_the_sum_of_the_groups_profiles() {
        let values = vec![1.0, 2.5, 2.0, 4.2, 3.0];
        let fitted = [1.1, 2.0, 2.2, 4.0, 3.3];
        let group = vec![0, 1, 0, 1, 1];
        let both = Likelihood {
            model: ErrorModel::Additive,
            sigma: Sigma::PerGroup {
                group: group.clone(),
                names: vec!["a".into(), "b".into()],
            },
            values: values.clone(),
        };
        let alone = |g: usize| {
            let rows: Vec<usize> = (0..5).filter(|&i| group[i] == g).collect();
            let l = Likelihood {
                model: ErrorModel::Additive,
                sigma: Sigma::Estimated,
                values: rows.iter().map(|&i| values[i]).collect(),
            };
            let f: Vec<f64> = rows.iter().map(|&i| fitted[i]).collect();
            (l.nll(&f), l.sigma_at(&f))
        };
        let ((a, sa), (b, sb)) = (alone(0), alone(1));
        assert!((both.nll(&fitted) - (a + b)).abs() < 1e-12);
        assert_eq!(both.group_sigmas(&fitted), vec![sa, sb]);
        assert_eq!(both.estimated_sigmas(), 2);
        assert!(both.sigma_at(&fitted).is_nan());
        let standardised: f64 = both
            .residuals(&fitted)
            .iter()
            .map(|r| r.standardised.powi(2))
            .sum();
        // Each group's Σ(r/σ̂)² is its row count.
        assert!((standardised - 5.0).abs() < 1e-12);
    }

    #[test]
    fn log_normal_includes_the_jacobian_and_refuses_non_positive_values() {
        let l = Likelihood {
            model: ErrorModel::LogNormal,
            sigma: Sigma::Fixed(0.3),
            values: vec![2.0],
        };
        let expect = gauss(&[2f64.ln()], &[1.5f64.ln()], &[0.3]) + 2f64.ln();
        assert!((l.nll(&[1.5]) - expect).abs() < 1e-12);
        assert_eq!(l.nll(&[0.0]), f64::INFINITY);
        assert!(l.residuals(&[-1.0])[0].raw.is_nan());
    }
}
