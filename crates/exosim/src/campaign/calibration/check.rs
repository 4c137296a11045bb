//! Does the calibration recover what made the data? Data sets simulated
//! by exosim itself at known parameter values, with Gaussian noise of a
//! known sd, are fitted one by one; the share of them whose interval
//! holds the true value (the coverage) should be near the confidence
//! level. A test runs a few sets; `examples/calibration_coverage.rs` runs
//! fifty or more and prints the coverage.

use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::Calibration;
use super::likelihood::{ErrorModel, Likelihood};
use super::run::{self, Fit};
use crate::campaign::resolve::Campaign;
use crate::random::stream;

/// Random stream domain of the synthetic noise.
const NOISE_DOMAIN: u64 = 0xCA11_B2A7;

/// The fits of synthetic data sets.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// The parameter values that made the data.
    pub truth: Vec<f64>,
    /// Each set's estimates and interval ends (values in the parameters'
    /// units): `(estimate, low, high)` per parameter.
    pub fits: Vec<Vec<(f64, f64, f64)>>,
}

impl Coverage {
    /// Sets whose interval of parameter `j` holds the true value.
    pub fn covered(&self, j: usize) -> usize {
        let t = self.truth[j];
        self.fits
            .iter()
            .filter(|f| f[j].1 <= t && t <= f[j].2)
            .count()
    }

    /// Share of the sets covering parameter `j`.
    pub fn share(&self, j: usize) -> f64 {
        self.covered(j) as f64 / self.fits.len().max(1) as f64
    }
}

/// One synthetic data set: the model's values at `truth` plus noise of sd
/// `cv`·|value| (given to the fit as the data's sd column), the noise
/// drawn from stream (`seed`, set).
pub fn synthetic(cal: &Calibration, exact: &[f64], cv: f64, seed: u64, set: u64) -> Calibration {
    let mut rng = stream(seed, NOISE_DOMAIN, set);
    let sds: Vec<f64> = exact.iter().map(|f| cv * f.abs()).collect();
    let values: Vec<f64> = exact
        .iter()
        .zip(&sds)
        .map(|(f, s)| f + s * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let mut out = cal.clone();
    for (row, (&v, &s)) in out.data.rows.iter_mut().zip(values.iter().zip(&sds)) {
        row.value = v;
        row.sd = Some(s);
    }
    out.likelihood = Likelihood::with_sds(ErrorModel::Additive, values, &sds);
    out
}

/// Fits `cal` (a variant of the campaign's calibration) without files.
pub fn fit(campaign: &Campaign, cal: &Calibration) -> Fit {
    run::fit_runs(campaign, cal, run::Finished::default(), &|_| {})
}

/// Fits `sets` synthetic data sets made at `truth` with noise `cv` (see
/// [`synthetic`]); `None` when the study does not run at `truth`.
pub fn coverage(
    campaign: &Campaign,
    truth: &[f64],
    cv: f64,
    sets: u64,
    seed: u64,
) -> Option<Coverage> {
    let cal = campaign.calibration.as_ref()?;
    let exact = run::predict(campaign, cal, truth)?;
    let fits = (0..sets)
        .into_par_iter()
        .map(|set| {
            let data = synthetic(cal, &exact, cv, seed, set);
            let fitted = fit(campaign, &data);
            cal.scales
                .iter()
                .zip(&fitted.intervals)
                .enumerate()
                .map(|(j, (s, (lo, hi)))| (s.value(fitted.best.u[j]), s.value(lo.u), s.value(hi.u)))
                .collect()
        })
        .collect();
    Some(Coverage {
        truth: truth.to_vec(),
        fits,
    })
}
