//! ABC-SMC, the population Monte Carlo sampler of Beaumont et al. 2009
//! (docs/references.md#beaumont-2009) with Toni et al. 2009's sequence of
//! tolerances (docs/references.md#toni-2009), each the `quantile` of the
//! previous generation's distances (Del Moral et al. 2012's adaptive
//! schedule).
//!
//! Generation 0 is `population` draws from the prior, every one kept.
//! Generation t proposes by drawing a particle of generation t − 1 by its
//! weight and moving it by a normal kernel of twice the population's
//! weighted covariance (on the working scale), runs the model at it with
//! a seed of its own, and keeps it when the distance to the data is at
//! most εₜ, until `population` are kept. A kept particle's weight is
//! π(θ) / Σⱼ Wⱼ K(θ | θⱼ), which makes the population a weighted sample
//! of the ABC posterior at εₜ.
//!
//! Proposal k of generation t draws everything from its own stream
//! (seed, t, k), and proposals are kept in index order: proposals run in
//! parallel batches, and the population never depends on the thread
//! count, the batch sizes or a resume between generations.

use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::distance::{self, Distance};
use super::prior::AbcPrior;
use crate::campaign::calibration::likelihood::ErrorModel;
use crate::random::{Stream, stream};

/// Random stream domain of the proposals; generation t uses this plus t.
pub const ABC_DOMAIN: u64 = u64::from_be_bytes(*b"abc_smc\0");

/// Seeds of runs stay exact in JSON and in a `f64` column.
const SEED_MASK: u64 = (1 << 53) - 1;

/// How the sampler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Particles kept in each generation.
    pub population: usize,
    /// Generations after the prior's (generation 0).
    pub generations: usize,
    /// εₜ₊₁ is this quantile of generation t's distances.
    pub quantile: f64,
    /// A generation that keeps fewer of its proposals stops the sampler;
    /// a generation is abandoned after `population / min_acceptance`
    /// proposals.
    pub min_acceptance: f64,
    /// Stop once ε is at most this.
    pub tolerance: Option<f64>,
    /// The seed of every stream.
    pub seed: u64,
}

/// One kept particle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Particle {
    /// Parameter values, in their units.
    pub values: Vec<f64>,
    /// Normalised weight.
    pub weight: f64,
    /// Distance of its run to the data.
    pub distance: f64,
    /// Its run's value of every data row.
    pub summaries: Vec<f64>,
    /// The seed its run used.
    pub seed: u64,
}

/// One finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The tolerance its particles met (none for generation 0, the prior).
    pub epsilon: Option<f64>,
    /// Proposals up to its last kept particle.
    pub proposals: u64,
    /// Runs of the model (proposals inside the prior's support, including
    /// those of the last batch after the population was full).
    pub runs: u64,
    /// The kept particles, in proposal order.
    pub particles: Vec<Particle>,
}

impl Generation {
    /// Kept over proposed.
    pub fn acceptance(&self) -> f64 {
        self.particles.len() as f64 / self.proposals.max(1) as f64
    }

    /// Kish's effective sample size, 1 / Σ W².
    pub fn ess(&self) -> f64 {
        1.0 / self
            .particles
            .iter()
            .map(|p| p.weight * p.weight)
            .sum::<f64>()
    }
}

/// Why the sampler stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// It ran every generation asked for.
    Generations,
    /// ε reached `tolerance`.
    Tolerance,
    /// A generation kept fewer than `min_acceptance` of its proposals.
    Acceptance,
}

/// A run of the model at parameter values with a seed: one summary per
/// data row, or `None` when it refuses the values.
pub type Simulate<'a> = dyn Fn(&[f64], u64) -> Option<Vec<f64>> + Sync + 'a;

/// The model as the sampler sees it.
pub struct Model<'a> {
    /// Each parameter's prior.
    pub priors: &'a [AbcPrior],
    /// The data, one value per row.
    pub data: &'a [f64],
    /// The scale of the comparison.
    pub error_model: ErrorModel,
    /// Each row's sd, when the data give them (on the model's scale).
    pub sds: Option<Vec<f64>>,
    /// Runs the model at the values with the seed: one summary per data
    /// row, or `None` when it refuses the values.
    pub simulate: &'a Simulate<'a>,
}

/// The sampler's state: the distance and every finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampled {
    /// How runs were compared with the data (fixed by generation 0).
    pub distance: Distance,
    /// Generation 0 (the prior) first.
    pub generations: Vec<Generation>,
    /// Why it stopped; `None` while under way.
    pub stop: Option<Stop>,
}

/// Runs the sampler from `done` (the finished generations of an
/// interrupted run, or none), calling `saved` after each generation. An
/// error when too few of the prior's draws run.
pub fn sample(
    m: &Model,
    s: &Settings,
    done: Option<Sampled>,
    saved: &mut dyn FnMut(&Sampled),
) -> Result<Sampled, String> {
    let mut state = match done {
        Some(d) => d,
        None => {
            let first = prior_generation(m, s)?;
            saved(&first);
            first
        }
    };
    while state.stop.is_none() {
        state.stop = next(m, s, &mut state);
        saved(&state);
    }
    Ok(state)
}

/// Generation 0: the first `population` prior draws whose runs give a
/// value on the error model's scale for every row (a draw the study
/// refuses is not part of the prior it can run); the distance's scales
/// from their summaries.
fn prior_generation(m: &Model, s: &Settings) -> Result<Sampled, String> {
    let make = |k: u64| {
        let mut rng = stream(s.seed, ABC_DOMAIN, k);
        let values: Vec<f64> = m.priors.iter().map(|p| p.draw(open(&mut rng))).collect();
        let seed = rng.random::<u64>() & SEED_MASK;
        let summaries = (m.simulate)(&values, seed);
        let z = m
            .priors
            .iter()
            .zip(&values)
            .map(|(p, &x)| p.to_z(x))
            .collect();
        Proposal::new(k, values, z, summaries, seed, true)
    };
    let usable = |p: &Proposal| {
        p.summaries.as_ref().is_some_and(|x| {
            x.iter()
                .zip(m.data)
                .all(|(&v, &y)| distance::transform(m.error_model, v, y).is_finite())
        })
    };
    let (kept, used, runs) = fill(s, 1.0, &make, &usable);
    if kept.len() < s.population {
        return Err(format!(
            "{} of the prior's first {used} draws ran and gave a value for every data row; {} are needed",
            kept.len(),
            s.population
        ));
    }
    let summaries: Vec<Vec<f64>> = kept
        .iter()
        .map(|p| p.summaries.clone().unwrap_or_default())
        .collect();
    let observed = m
        .data
        .iter()
        .map(|&y| distance::transform(m.error_model, y, y))
        .collect();
    let scales = match &m.sds {
        Some(sds) => sds.clone(),
        None => distance::scales_of(m.error_model, m.data, &summaries),
    };
    let distance = Distance {
        model: m.error_model,
        observed,
        scales,
    };
    let w = 1.0 / s.population as f64;
    let particles = kept
        .into_iter()
        .map(|p| {
            let summaries = p.summaries.unwrap_or_default();
            Particle {
                distance: distance.of(&summaries, m.data),
                values: p.values,
                weight: w,
                summaries,
                seed: p.seed,
            }
        })
        .collect();
    Ok(Sampled {
        distance,
        generations: vec![Generation {
            epsilon: None,
            proposals: used,
            runs,
            particles,
        }],
        stop: None,
    })
}

/// The first `population` proposals that `keep` accepts, in index order,
/// made in parallel batches by `make`; at most `population /
/// min_acceptance` proposals. Also the proposals up to the last kept one,
/// and the runs made. `guess` is the acceptance expected at first.
fn fill(
    s: &Settings,
    guess: f64,
    make: &(dyn Fn(u64) -> Proposal + Sync),
    keep: &dyn Fn(&Proposal) -> bool,
) -> (Vec<Proposal>, u64, u64) {
    let max_proposals = (s.population as f64 / s.min_acceptance).ceil() as u64;
    let mut kept: Vec<Proposal> = Vec::with_capacity(s.population);
    let (mut proposed, mut runs, mut used) = (0u64, 0u64, 0u64);
    while kept.len() < s.population && proposed < max_proposals {
        let batch = batch_size(s, kept.len(), proposed, guess).min(max_proposals - proposed);
        let results: Vec<Proposal> = (proposed..proposed + batch)
            .into_par_iter()
            .map(make)
            .collect();
        proposed += batch;
        for p in results {
            runs += u64::from(p.ran);
            if kept.len() < s.population && keep(&p) {
                used = p.index + 1;
                kept.push(p);
            }
        }
    }
    (kept, used, runs)
}

/// A uniform draw in (0, 1).
fn open(rng: &mut Stream) -> f64 {
    loop {
        let u: f64 = rng.random();
        if u > 0.0 {
            return u;
        }
    }
}

/// Runs the next generation onto `state`; the reason to stop, if any.
fn next(m: &Model, s: &Settings, state: &mut Sampled) -> Option<Stop> {
    let t = state.generations.len() as u64;
    let last = state.generations.last().expect("generation 0");
    let epsilon = tolerance_after(last, s.quantile);
    let kernel = Kernel::of(m.priors, last);
    let make = |k| propose(m, s, &state.distance, &kernel, t, k);
    let keep = |p: &Proposal| p.distance <= epsilon;
    // The first tolerance keeps about `quantile` of the prior's runs;
    // later ones about what the last generation kept.
    let guess = if t == 1 {
        s.quantile
    } else {
        last.acceptance()
    };
    let (kept, used, runs) = fill(s, guess, &make, &keep);
    if kept.len() < s.population {
        return Some(Stop::Acceptance);
    }
    let particles = weigh(m.priors, &kernel, last, kept);
    let generation = Generation {
        epsilon: Some(epsilon),
        proposals: used,
        runs,
        particles,
    };
    let acceptance = generation.acceptance();
    state.generations.push(generation);
    if s.tolerance.is_some_and(|tol| epsilon <= tol) {
        Some(Stop::Tolerance)
    } else if acceptance < s.min_acceptance {
        Some(Stop::Acceptance)
    } else if state.generations.len() > s.generations {
        Some(Stop::Generations)
    } else {
        None
    }
}

/// εₜ₊₁: the `quantile` of generation t's distances.
fn tolerance_after(g: &Generation, quantile: f64) -> f64 {
    let mut d: Vec<f64> = g.particles.iter().map(|p| p.distance).collect();
    d.sort_by(f64::total_cmp);
    let k = ((quantile * d.len() as f64).ceil() as usize).clamp(1, d.len());
    d[k - 1]
}

/// Proposals of the next batch: enough for the particles still needed at
/// the acceptance seen so far (this generation's, or `guess`), at least
/// 8. Depends on counts alone, never on the thread count.
fn batch_size(s: &Settings, kept: usize, proposed: u64, guess: f64) -> u64 {
    let rate = if proposed > 0 && kept > 0 {
        kept as f64 / proposed as f64
    } else {
        guess
    };
    let needed = (s.population - kept) as f64;
    ((1.1 * needed / rate.max(s.min_acceptance)).ceil() as u64).clamp(8, 1 << 20)
}

/// One proposal: its values, its run, how far the run came.
struct Proposal {
    index: u64,
    values: Vec<f64>,
    z: Vec<f64>,
    distance: f64,
    summaries: Option<Vec<f64>>,
    seed: u64,
    ran: bool,
}

impl Proposal {
    fn new(
        index: u64,
        values: Vec<f64>,
        z: Vec<f64>,
        summaries: Option<Vec<f64>>,
        seed: u64,
        ran: bool,
    ) -> Proposal {
        Proposal {
            index,
            values,
            z,
            distance: f64::INFINITY,
            summaries,
            seed,
            ran,
        }
    }
}

/// Proposal `k` of generation `t`: an ancestor drawn by weight, moved by
/// the kernel, run unless the prior excludes it.
fn propose(m: &Model, s: &Settings, d: &Distance, kernel: &Kernel, t: u64, k: u64) -> Proposal {
    let mut rng = stream(s.seed, ABC_DOMAIN.wrapping_add(t), k);
    let z = kernel.perturb(&mut rng);
    let seed = rng.random::<u64>() & SEED_MASK;
    let values: Vec<f64> = m.priors.iter().zip(&z).map(|(p, &z)| p.to_x(z)).collect();
    let inside = m
        .priors
        .iter()
        .zip(&z)
        .all(|(p, &z)| p.ln_density(z) > f64::NEG_INFINITY);
    let summaries = if inside {
        (m.simulate)(&values, seed)
    } else {
        None
    };
    let distance = summaries
        .as_ref()
        .map_or(f64::INFINITY, |x| d.of(x, m.data));
    Proposal {
        distance,
        ..Proposal::new(k, values, z, summaries, seed, inside)
    }
}

/// The perturbation kernel: N(zⱼ, 2Σ) around an ancestor drawn by
/// weight, Σ the weighted covariance of the last generation on the
/// working scale (Beaumont et al. 2009).
struct Kernel {
    /// Ancestors' working coordinates.
    z: Vec<Vec<f64>>,
    /// Their cumulative weights.
    cumulative: Vec<f64>,
    /// Lower Cholesky factor of 2Σ.
    l: DMatrix<f64>,
    /// ln of the normal density's constant: −½ ln det(2πΣ₂).
    ln_norm: f64,
}

impl Kernel {
    fn of(priors: &[AbcPrior], g: &Generation) -> Kernel {
        let z: Vec<Vec<f64>> = g
            .particles
            .iter()
            .map(|p| {
                priors
                    .iter()
                    .zip(&p.values)
                    .map(|(q, &x)| q.to_z(x))
                    .collect()
            })
            .collect();
        let w: Vec<f64> = g.particles.iter().map(|p| p.weight).collect();
        let cov = 2.0 * weighted_covariance(&z, &w);
        let l = cholesky_or_diagonal(cov);
        let d = priors.len() as f64;
        let ln_det: f64 = 2.0 * l.diagonal().iter().map(|x| x.ln()).sum::<f64>();
        let mut acc = 0.0;
        let cumulative = w
            .iter()
            .map(|x| {
                acc += x;
                acc
            })
            .collect();
        Kernel {
            z,
            cumulative,
            l,
            ln_norm: -0.5 * (d * (2.0 * std::f64::consts::PI).ln() + ln_det),
        }
    }

    /// An ancestor drawn by weight, moved by N(0, 2Σ).
    fn perturb(&self, rng: &mut Stream) -> Vec<f64> {
        let total = *self.cumulative.last().expect("a population");
        let u = rng.random::<f64>() * total;
        let j = self
            .cumulative
            .partition_point(|&c| c <= u)
            .min(self.z.len() - 1);
        let n = DVector::from_iterator(
            self.z[j].len(),
            (0..self.z[j].len()).map(|_| rng.sample::<f64, _>(StandardNormal)),
        );
        let step = &self.l * n;
        self.z[j]
            .iter()
            .zip(step.iter())
            .map(|(a, b)| a + b)
            .collect()
    }

    /// ln K(z | ancestor j).
    fn ln_density(&self, z: &[f64], j: usize) -> f64 {
        let diff = DVector::from_iterator(z.len(), z.iter().zip(&self.z[j]).map(|(a, b)| a - b));
        let y = self
            .l
            .solve_lower_triangular(&diff)
            .expect("a Cholesky factor with a positive diagonal");
        self.ln_norm - 0.5 * y.norm_squared()
    }
}

/// The weighted covariance of the rows of `z` (weights summing to 1).
fn weighted_covariance(z: &[Vec<f64>], w: &[f64]) -> DMatrix<f64> {
    let d = z[0].len();
    let mut mean = vec![0.0; d];
    for (row, &wi) in z.iter().zip(w) {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += wi * x;
        }
    }
    let mut cov = DMatrix::zeros(d, d);
    for (row, &wi) in z.iter().zip(w) {
        for a in 0..d {
            for b in 0..d {
                cov[(a, b)] += wi * (row[a] - mean[a]) * (row[b] - mean[b]);
            }
        }
    }
    let unbias = 1.0 - w.iter().map(|x| x * x).sum::<f64>();
    if unbias > 0.0 { cov / unbias } else { cov }
}

/// The Cholesky factor of `cov`; when the population has collapsed on a
/// line (Σ singular), that of its diagonal, each variance kept above a
/// floor so that the kernel still moves.
fn cholesky_or_diagonal(cov: DMatrix<f64>) -> DMatrix<f64> {
    if let Some(c) = cov.clone().cholesky()
        && c.l().diagonal().iter().all(|x| *x > 0.0)
    {
        return c.l();
    }
    let floor = 1e-12 * cov.diagonal().max().max(1e-300);
    DMatrix::from_diagonal(&cov.diagonal().map(|v| v.max(floor).sqrt()))
}

/// The kept proposals weighed: π(z) / Σⱼ Wⱼ K(z | zⱼ), normalised (in
/// logs, so that far tails do not underflow).
fn weigh(
    priors: &[AbcPrior],
    kernel: &Kernel,
    last: &Generation,
    kept: Vec<Proposal>,
) -> Vec<Particle> {
    let ln_w: Vec<f64> = kept
        .par_iter()
        .map(|p| {
            let prior: f64 = priors.iter().zip(&p.z).map(|(q, &z)| q.ln_density(z)).sum();
            let terms = last
                .particles
                .iter()
                .enumerate()
                .map(|(j, a)| a.weight.ln() + kernel.ln_density(&p.z, j));
            prior - log_sum_exp(terms)
        })
        .collect();
    let top = ln_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let raw: Vec<f64> = ln_w.iter().map(|x| (x - top).exp()).collect();
    let total: f64 = raw.iter().sum();
    kept.into_iter()
        .zip(raw)
        .map(|(p, r)| Particle {
            values: p.values,
            weight: r / total,
            distance: p.distance,
            summaries: p.summaries.unwrap_or_default(),
            seed: p.seed,
        })
        .collect()
}

/// ln Σ exp(xᵢ), stable.
fn log_sum_exp(x: impl Iterator<Item = f64> + Clone) -> f64 {
    let top = x.clone().fold(f64::NEG_INFINITY, f64::max);
    if top == f64::NEG_INFINITY {
        return top;
    }
    top + x.map(|v| (v - top).exp()).sum::<f64>().ln()
}

/// The weighted `q`-quantile of parameter `j` over a generation.
pub fn weighted_quantile(g: &Generation, j: usize, q: f64) -> f64 {
    quantile_of(
        g.particles
            .iter()
            .map(|p| (p.values[j], p.weight))
            .collect(),
        q,
    )
}

/// The weighted `q`-quantile of (value, weight) pairs: the smallest value
/// whose cumulative weight reaches q.
pub fn quantile_of(mut pairs: Vec<(f64, f64)>, q: f64) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut acc = 0.0;
    for &(x, w) in &pairs {
        acc += w;
        if acc >= q {
            return x;
        }
    }
    pairs.last().map_or(f64::NAN, |p| p.0)
}

/// The weighted mean and sd of parameter `j` over a generation.
pub fn weighted_moments(g: &Generation, j: usize) -> (f64, f64) {
    let mean: f64 = g.particles.iter().map(|p| p.weight * p.values[j]).sum();
    let var: f64 = g
        .particles
        .iter()
        .map(|p| p.weight * (p.values[j] - mean).powi(2))
        .sum();
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests;
