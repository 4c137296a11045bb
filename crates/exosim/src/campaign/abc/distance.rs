//! The distance between a run's summaries and the data: Euclidean over
//! the data rows, each row's difference taken on the error model's scale
//! and divided by the row's scale.
//!
//! Rows measured in different units (a cell count and a vesicle count)
//! must weigh alike, so each is scaled: by its `sd` when the data give
//! one, otherwise by the spread of the first generation's simulations
//! (1.4826 × the median absolute deviation, robust to the prior's long
//! tails: Prangle 2017, docs/references.md#prangle-2017).

use serde::{Deserialize, Serialize};

use crate::campaign::calibration::likelihood::ErrorModel;

/// 1/Φ⁻¹(3/4): the MAD of a normal law times this is its sd.
pub const MAD_TO_SD: f64 = 1.482_602_218_505_602;

/// How summaries are compared with the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distance {
    /// The scale differences are taken on.
    pub model: ErrorModel,
    /// The data, on that scale.
    pub observed: Vec<f64>,
    /// Each row's scale.
    pub scales: Vec<f64>,
}

/// A value on the error model's scale: itself (additive), its log
/// (log-normal), or its difference relative to the datum (proportional).
pub fn transform(model: ErrorModel, value: f64, datum: f64) -> f64 {
    match model {
        ErrorModel::Additive => value,
        ErrorModel::LogNormal => value.ln(),
        ErrorModel::Proportional => value / datum,
    }
}

impl Distance {
    /// The distance of `summaries` (one per data row) to the data;
    /// infinite when a summary has no value on the scale (a log of 0, a
    /// failed run's NaN).
    pub fn of(&self, summaries: &[f64], data: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (i, (&s, &y)) in summaries.iter().zip(data).enumerate() {
            let r = (transform(self.model, s, y) - self.observed[i]) / self.scales[i];
            if !r.is_finite() {
                return f64::INFINITY;
            }
            sum += r * r;
        }
        sum.sqrt()
    }
}

/// Each row's scale from the simulated summaries `runs` (one vector per
/// run) on the model's scale: 1.4826 × MAD, else the sd when more than
/// half the runs agree, else 1 (a row no parameter moves weighs as a
/// constant).
pub fn scales_of(model: ErrorModel, data: &[f64], runs: &[Vec<f64>]) -> Vec<f64> {
    (0..data.len())
        .map(|i| {
            let mut x: Vec<f64> = runs
                .iter()
                .map(|r| transform(model, r[i], data[i]))
                .filter(|v| v.is_finite())
                .collect();
            row_scale(&mut x)
        })
        .collect()
}

/// The scale of one row's finite values (see [`scales_of`]).
fn row_scale(x: &mut [f64]) -> f64 {
    if x.len() < 2 {
        return 1.0;
    }
    let median = median(x);
    let mut dev: Vec<f64> = x.iter().map(|v| (v - median).abs()).collect();
    let mad = MAD_TO_SD * self::median(&mut dev);
    if mad > 0.0 {
        return mad;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if sd > 0.0 { sd } else { 1.0 }
}

/// The median of `x` (sorted in place).
pub fn median(x: &mut [f64]) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        0.5 * (x[n / 2 - 1] + x[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mad_scale_is_the_sd_of_a_normal_sample() {
        // Φ⁻¹ at the 2k-1 over 2n midpoints: an exactly normal sample.
        let n = 2001;
        let runs: Vec<Vec<f64>> = (0..n)
            .map(|k| {
                let u = (k as f64 + 0.5) / n as f64;
                vec![3.0 * crate::campaign::distribution::normal_quantile(u)]
            })
            .collect();
        let s = scales_of(ErrorModel::Additive, &[0.0], &runs);
        assert!((s[0] - 3.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn rows_weigh_by_their_scales_and_a_log_of_zero_is_infinitely_far() {
        let d = Distance {
            model: ErrorModel::Additive,
            observed: vec![10.0, 1000.0],
            scales: vec![1.0, 100.0],
        };
        // (3/1, 400/100) → 5.
        assert!((d.of(&[13.0, 1400.0], &[10.0, 1000.0]) - 5.0).abs() < 1e-12);
        let l = Distance {
            model: ErrorModel::LogNormal,
            observed: vec![1f64.ln()],
            scales: vec![1.0],
        };
        assert_eq!(l.of(&[0.0], &[1.0]), f64::INFINITY);
        assert!((l.of(&[std::f64::consts::E], &[1.0]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_row_no_run_moves_has_scale_one() {
        let runs = vec![vec![2.0]; 10];
        assert_eq!(scales_of(ErrorModel::Additive, &[2.0], &runs), vec![1.0]);
    }
}
