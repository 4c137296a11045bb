//! A tumour burden taken from the tissue engine's tumour cell count.
//!
//! The tissue engine simulates a small piece of tumour
//! cell by cell for hours or days. Its recorded count of one cell type,
//! averaged over the replicates of one variant and multiplied by a number
//! of real cells per simulated cell (`crate::coupling::tumour_burden`),
//! becomes the biopsy's N(t):
//!
//! * within the simulated span, N(t) is interpolated between recorded
//!   frames linearly in ln N (exponential within each interval, which is
//!   what the blood integrator assumes, so each interval is solved
//!   exactly), or linearly when one end is 0 (an eradicated tumour);
//! * beyond it, either nothing (the screening must end within the span) or
//!   an exponential continuation from the last frame at the rate fitted by
//!   least squares to ln N over the second half of the span, reported.
//!
//! The replicate mean is used, not one replicate per individual: the tissue
//! replicates estimate the expected growth of the tumour piece, and the
//! differences between individuals come from the biopsy's own variability.

use serde::Serialize;

/// How the burden continues past the tissue engine's simulated span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Extrapolation {
    /// Not at all: the biopsy must not ask for times past the span.
    None,
    /// Exponential from the last frame at the rate fitted to the second half.
    Exponential,
}

/// N(t) interpolated through the tissue engine's frames.
#[derive(Debug, Clone, PartialEq)]
pub struct TabulatedBurden {
    /// Frame times (s), increasing, the first 0.
    pub times: Vec<f64>,
    /// Real tumour cells at each frame.
    pub cells: Vec<f64>,
    /// Exponential rate (1/s) past the last frame; `None`: the last count is
    /// held (only reached when the caller ignores [`TabulatedBurden::span`]).
    pub tail_rate: Option<f64>,
}

/// What the biopsy took from the tissue engine, for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TissueBurdenReport {
    /// Tissue cell type counted.
    pub cell_type: String,
    /// Tissue variant.
    pub variant: String,
    /// Replicates averaged.
    pub replicates: usize,
    /// Real cells per simulated cell.
    pub cells_per_simulated_cell: f64,
    /// Simulated span (s).
    pub span_s: f64,
    /// Real cells at 0 and at the end of the span (replicate means, scaled).
    pub initial_cells: f64,
    /// Real cells at the end of the span.
    pub final_cells: f64,
    /// Past the span: `none` or `exponential`.
    pub extrapolate: Extrapolation,
    /// Rate fitted to ln N over the second half of the span (1/s), when extrapolating.
    pub extrapolation_rate_per_s: Option<f64>,
    /// ln 2 over that rate (s), when it is > 0.
    pub extrapolation_doubling_time_s: Option<f64>,
}

impl TabulatedBurden {
    /// N(t) through `cells` (real cells) at frame `times`, continued past
    /// the last frame as `extrapolate` says. Errors in words when the frames
    /// do not start at t = 0, or when an exponential tail cannot be fitted
    /// (fewer than two positive counts in the second half of the span).
    pub fn from_frames(
        times: Vec<f64>,
        cells: Vec<f64>,
        extrapolate: Extrapolation,
    ) -> Result<TabulatedBurden, String> {
        if times.len() < 2 || times[0] != 0.0 {
            return Err("the tissue record needs frames from t = 0 on".into());
        }
        let tail_rate = match extrapolate {
            Extrapolation::None => None,
            Extrapolation::Exponential => Some(fit_tail_rate(&times, &cells).ok_or(
                "fewer than two positive counts in the second half of the tissue span: no growth rate to extrapolate with",
            )?),
        };
        Ok(TabulatedBurden {
            times,
            cells,
            tail_rate,
        })
    }

    /// The last frame time (s).
    pub fn span(&self) -> f64 {
        *self.times.last().expect("frames")
    }

    /// Cells at t = 0.
    pub fn initial_cells(&self) -> f64 {
        self.cells[0]
    }

    /// Cells at time `t` ≥ 0 (s).
    pub fn cells(&self, t: f64) -> f64 {
        let last = self.times.len() - 1;
        if t >= self.times[last] {
            let n = self.cells[last];
            return match self.tail_rate {
                Some(r) => n * (r * (t - self.times[last])).exp(),
                None => n,
            };
        }
        let i = self.times.partition_point(|&x| x <= t).clamp(1, last) - 1;
        let (t0, t1) = (self.times[i], self.times[i + 1]);
        let (a, b) = (self.cells[i], self.cells[i + 1]);
        let u = (t - t0) / (t1 - t0);
        if a > 0.0 && b > 0.0 {
            a * ((b / a).ln() * u).exp()
        } else {
            a + (b - a) * u
        }
    }

    /// Frame times strictly inside (`t0`, `t1`): the ends of the exact pieces.
    pub fn knots_within(&self, t0: f64, t1: f64) -> &[f64] {
        let lo = self.times.partition_point(|&x| x <= t0);
        let hi = self.times.partition_point(|&x| x < t1);
        &self.times[lo..hi.max(lo)]
    }

    /// The first time t ≥ 0 (s) at which the burden reaches `n` cells:
    /// `Some(0.0)` when it starts there, `None` when it never does (within
    /// the span without extrapolation, or with a tail that does not grow).
    pub fn time_to(&self, n: f64) -> Option<f64> {
        if self.cells[0] >= n {
            return Some(0.0);
        }
        for i in 0..self.times.len() - 1 {
            let (a, b) = (self.cells[i], self.cells[i + 1]);
            if b >= n {
                let (t0, t1) = (self.times[i], self.times[i + 1]);
                let u = if a > 0.0 {
                    (n / a).ln() / (b / a).ln()
                } else {
                    (n - a) / (b - a)
                };
                return Some(t0 + u * (t1 - t0));
            }
        }
        let last = self.times.len() - 1;
        let n_last = self.cells[last];
        match self.tail_rate {
            Some(r) if r > 0.0 && n_last > 0.0 => Some(self.times[last] + (n / n_last).ln() / r),
            _ => None,
        }
    }
}

/// Least-squares slope of ln N against t over the frames of the second
/// half of the span with N > 0; `None` with fewer than two such frames.
pub fn fit_tail_rate(times: &[f64], cells: &[f64]) -> Option<f64> {
    let half = 0.5 * times.last()?;
    let points: Vec<(f64, f64)> = times
        .iter()
        .zip(cells)
        .filter(|&(&t, &n)| t >= half && n > 0.0)
        .map(|(&t, &n)| (t, n.ln()))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let m = points.len() as f64;
    let tm = points.iter().map(|p| p.0).sum::<f64>() / m;
    let ym = points.iter().map(|p| p.1).sum::<f64>() / m;
    let sxy: f64 = points.iter().map(|p| (p.0 - tm) * (p.1 - ym)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - tm).powi(2)).sum();
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TabulatedBurden {
        TabulatedBurden {
            times: vec![0.0, 10.0, 20.0],
            cells: vec![100.0, 200.0, 800.0],
            tail_rate: Some(0.1),
        }
    }

    #[test]
    fn log_linear_between_frames_and_exponential_after() {
        let b = table();
        assert!((b.cells(5.0) - 100.0 * 2f64.sqrt()).abs() < 1e-9);
        assert!((b.cells(15.0) - 400.0).abs() < 1e-9);
        assert!((b.cells(30.0) - 800.0 * 1f64.exp()).abs() < 1e-9);
        for n in [150.0, 400.0, 2000.0] {
            let t = b.time_to(n).unwrap();
            assert!((b.cells(t) - n).abs() / n < 1e-12, "{n}: {t}");
        }
        assert_eq!(b.knots_within(0.0, 20.0), &[10.0]);
        assert_eq!(b.knots_within(10.0, 30.0), &[20.0]);
    }

    #[test]
    fn fitted_rate_of_an_exact_exponential() {
        let times: Vec<f64> = (0..11).map(|i| i as f64).collect();
        let cells: Vec<f64> = times.iter().map(|t| 5.0 * (0.3 * t).exp()).collect();
        assert!((fit_tail_rate(&times, &cells).unwrap() - 0.3).abs() < 1e-12);
    }
}
