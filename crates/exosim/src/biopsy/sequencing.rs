//! Sequencing tests: a panel of DNA positions read in a plasma sample,
//! where the tumour's mutations stand against a wild-type background and
//! sequencing errors.
//!
//! The marker counts genome equivalents (GE) of DNA: shed by the tumour
//! (its source) or by healthy tissues (its background), free in plasma or
//! carried by vesicles. A sequencing test of a sample whose tumour share is
//! C_t GE/m³ and whose background is C_b GE/m³ (the model of Avanzini et al.
//! 2020, Sci Adv 6:eabc4308, docs/references.md#avanzini-2020):
//!
//! 1. the analysed plasma V (the draw's, [`super::measurement::Protocol::analysed_volume`])
//!    holds Poisson counts of copies of every panel position; a share
//!    `capture` of them is read: the isolation's mean recovery times the
//!    sequencing efficiency;
//! 2. **depth**: the copies without the mutation read at each position,
//!    h ~ Poisson((2 C_b + C_t) · V · capture): two copies per background
//!    genome (diploid) and the tumour's unmutated allele (its mutations
//!    are clonal and heterozygous). The same h serves every position, as in
//!    the published model;
//! 3. **mutant reads** at each of the `panel_mutations` positions the
//!    tumour carries: its mutant copies, Poisson(C_t · V · capture), plus
//!    sequencing errors on the depth, Binomial(h, e); at each of the other
//!    `panel_size − panel_mutations` positions only the errors;
//! 4. **evidence**: the largest mutant-read count k over the panel and its
//!    p-value under the error model at the observed depth,
//!    p = P(Binomial(h, e) ≥ k) (1 when k = 0). The test's score is
//!    −log₁₀ p; it is positive when the score is strictly above the
//!    threshold, i.e. when some position's mutant reads are too many for
//!    the errors of its depth at the chosen p-value.
//!
//! The threshold comes from a false-positive rate
//! ([`SequencingAssay::threshold_for_rate`]): the exact probability that a
//! tumour-free individual's test is positive, averaged over the
//! individuals' background levels (a log-normal, [`BackgroundLaw`]) and the
//! depth's Poisson law, by bisection on the score. An annual rate over
//! n tests a year is the per-test rate 1 − (1 − rate)^{1/n}
//! ([`per_test_rate`]).

use rand::{Rng, RngExt};
use statrs::distribution::{ContinuousCDF, Normal};

use super::growth::{ParameterError, check};
use crate::random::counts::{poisson, thin};
use crate::random::samplers::ln_factorial;

/// Most positions a panel may read (a whole human genome is 3.1·10⁹ bases).
pub const MAX_PANEL_SIZE: u64 = 10_000_000_000;
/// Most tumour mutations a panel may cover (each is drawn in every test).
pub const MAX_PANEL_MUTATIONS: u64 = 100_000;
/// Quantile nodes of the background law in the exact false-positive rate.
pub const BACKGROUND_NODES: usize = 1000;
/// Standard deviations of a Poisson law summed on each side of its mean
/// (the mass left out is below 10⁻³⁰).
const POISSON_WINDOW_SD: f64 = 12.0;

/// A sequencing assay: what the panel reads and how well.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SequencingAssay {
    /// Positions (bases) the panel reads.
    pub panel_size: u64,
    /// Of them, the positions where the tumour carries a clonal
    /// heterozygous mutation.
    pub panel_mutations: u64,
    /// Share of the copies in the analysed sample that are read (library
    /// preparation, capture, deduplication).
    pub efficiency: f64,
    /// Probability that a read of an unmutated copy shows the mutation
    /// (per base per read family).
    pub error_rate: f64,
}

/// One sequencing test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequencingReading {
    /// Unmutated copies read at each position.
    pub depth: f64,
    /// Largest mutant-read count over the panel.
    pub max_reads: u64,
    /// Largest count of error reads alone (the same test without the tumour's copies).
    pub max_error_reads: u64,
    /// −log₁₀ of the p-value of `max_reads` at `depth`.
    pub score: f64,
    /// The score without the tumour's mutant copies.
    pub background_score: f64,
}

impl SequencingAssay {
    /// Checks the panel and the rates.
    pub fn validate(&self) -> Result<(), ParameterError> {
        check(
            self.panel_mutations >= 1 && self.panel_mutations <= MAX_PANEL_MUTATIONS,
            "sequencing.panel_mutations",
            self.panel_mutations as f64,
            "1 to 100,000 mutations",
        )?;
        check(
            self.panel_size >= self.panel_mutations && self.panel_size <= MAX_PANEL_SIZE,
            "sequencing.panel_size",
            self.panel_size as f64,
            "at least panel_mutations, at most 10¹⁰ bases",
        )?;
        check(
            self.efficiency > 0.0 && self.efficiency <= 1.0,
            "sequencing.efficiency",
            self.efficiency,
            "a share in (0, 1]",
        )?;
        check(
            (0.0..1.0).contains(&self.error_rate),
            "sequencing.error_rate",
            self.error_rate,
            "a probability in [0, 1)",
        )
    }

    /// Positions read that the tumour does not carry.
    fn other_positions(&self) -> f64 {
        (self.panel_size - self.panel_mutations) as f64
    }

    /// −log₁₀ P(Binomial(depth, e) ≥ k): the evidence of k mutant reads at
    /// one position (0 for k = 0; +∞ when the p-value underflows).
    pub fn score(&self, depth: f64, k: u64) -> f64 {
        -binomial_tail(depth, self.error_rate, k).log10()
    }

    /// The smallest mutant-read count whose score is strictly above
    /// `threshold` at `depth`, searched upward from `from` (the count is
    /// non-decreasing in the depth, so a scan over depths starts each
    /// search at the previous answer). `None` when no count can reach it.
    fn reads_needed(&self, depth: f64, threshold: f64, from: u64) -> Option<u64> {
        let mut k = from.max(1);
        while self.score(depth, k) <= threshold {
            if k as f64 > depth {
                return None;
            }
            k += 1;
        }
        Some(k)
    }

    /// One test: `mutant_mean` mutant copies read on average at each
    /// position the tumour carries, `depth_mean` unmutated copies read at
    /// each position (see the module's steps 2–4).
    pub fn read<R: Rng + ?Sized>(
        &self,
        mutant_mean: f64,
        depth_mean: f64,
        rng: &mut R,
    ) -> SequencingReading {
        let depth = poisson(rng, depth_mean);
        let (mut max_reads, mut max_error_reads) = (0u64, 0u64);
        for _ in 0..self.panel_mutations {
            let errors = thin(rng, depth, self.error_rate) as u64;
            let reads = errors + poisson(rng, mutant_mean) as u64;
            max_reads = max_reads.max(reads);
            max_error_reads = max_error_reads.max(errors);
        }
        let u: f64 = rng.random();
        let others = self.largest_error_count(depth, u);
        max_reads = max_reads.max(others);
        max_error_reads = max_error_reads.max(others);
        SequencingReading {
            depth,
            max_reads,
            max_error_reads,
            score: self.score(depth, max_reads),
            background_score: self.score(depth, max_error_reads),
        }
    }

    /// The largest error count over the positions the tumour does not
    /// carry, by inversion of its law from the uniform `u`: with F the
    /// distribution function of Binomial(depth, e) at one position, the
    /// largest of n independent counts is ≤ k with probability F(k)ⁿ.
    fn largest_error_count(&self, depth: f64, u: f64) -> u64 {
        let n = self.other_positions();
        if n == 0.0 || self.error_rate == 0.0 {
            return 0;
        }
        let ln_u = u.ln();
        let mut k = 0u64;
        while n * (-binomial_tail(depth, self.error_rate, k + 1)).ln_1p() < ln_u {
            k += 1;
        }
        k
    }

    /// The exact probability that one test is positive at `threshold`
    /// (score strictly above) with the depth Poisson(`depth_mean`) and
    /// `mutant_mean` mutant copies read per position the tumour carries.
    pub fn positive_probability(&self, mutant_mean: f64, depth_mean: f64, threshold: f64) -> f64 {
        let table = DepthTable::new(self, &[depth_mean], mutant_mean, threshold);
        table.expected(depth_mean)
    }

    /// The exact probability that a tumour-free individual's test is
    /// positive at `threshold`, averaged over the background law.
    pub fn false_positive_rate(&self, law: &BackgroundLaw, threshold: f64) -> f64 {
        let table = DepthTable::new(self, &law.depth_means, 0.0, threshold);
        law.depth_means
            .iter()
            .map(|&l| table.expected(l))
            .sum::<f64>()
            / law.depth_means.len() as f64
    }

    /// The smallest threshold (score) whose false-positive rate over `law`
    /// is at most `rate`, with that rate: bisection on the score, whose
    /// rate is non-increasing (positives are strictly above). The
    /// threshold returned is within 10⁻¹⁰ of the attained score where the
    /// rate steps down.
    pub fn threshold_for_rate(&self, law: &BackgroundLaw, rate: f64) -> (f64, f64) {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        while self.false_positive_rate(law, hi) > rate && hi < 1e3 {
            lo = hi;
            hi *= 2.0;
        }
        if self.false_positive_rate(law, lo) <= rate {
            hi = lo;
        }
        while hi - lo > 1e-10 * hi.max(1.0) {
            let mid = 0.5 * (lo + hi);
            if self.false_positive_rate(law, mid) > rate {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (hi, self.false_positive_rate(law, hi))
    }
}

/// The individuals' mean depths: a log-normal law of the healthy plasma
/// level (the background's and the elimination's log-normal factors of
/// [`super::screening::Variability`]) at [`BACKGROUND_NODES`] midpoint
/// quantiles of equal weight.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundLaw {
    /// Mean depth of each node.
    pub depth_means: Vec<f64>,
}

impl BackgroundLaw {
    /// Depth means `nominal` · factor, where ln factor is normal with the
    /// variance and the mean of the ratio of two independent log-normal
    /// factors of mean 1 with CVs `background_cv` (numerator) and
    /// `elimination_cv` (denominator).
    pub fn new(nominal: f64, background_cv: f64, elimination_cv: f64) -> BackgroundLaw {
        let (sb2, se2) = (
            background_cv.powi(2).ln_1p(),
            elimination_cv.powi(2).ln_1p(),
        );
        let (mu, sigma) = (-0.5 * sb2 + 0.5 * se2, (sb2 + se2).sqrt());
        if sigma == 0.0 {
            return BackgroundLaw {
                depth_means: vec![nominal],
            };
        }
        let normal = Normal::new(0.0, 1.0).expect("standard normal");
        let n = BACKGROUND_NODES;
        BackgroundLaw {
            depth_means: (0..n)
                .map(|i| {
                    let z = normal.inverse_cdf((i as f64 + 0.5) / n as f64);
                    nominal * (mu + sigma * z).exp()
                })
                .collect(),
        }
    }
}

/// P(positive | depth h) for every depth that the Poisson laws of a set of
/// means can reach, at one threshold and one tumour level.
struct DepthTable {
    first: u64,
    positive: Vec<f64>,
}

impl DepthTable {
    fn new(assay: &SequencingAssay, means: &[f64], mutant_mean: f64, threshold: f64) -> DepthTable {
        let lo = means.iter().fold(f64::INFINITY, |a, &l| a.min(window(l).0));
        let hi = means.iter().fold(0.0f64, |a, &l| a.max(window(l).1));
        let first = lo as u64;
        let mut k = 1;
        let positive = (first..=hi as u64)
            .map(|h| {
                let depth = h as f64;
                match assay.reads_needed(depth, threshold, k) {
                    Some(needed) => {
                        k = needed;
                        positive_given_depth(assay, depth, needed, mutant_mean)
                    }
                    None => 0.0,
                }
            })
            .collect();
        DepthTable { first, positive }
    }

    /// Σ_h Poisson(h; mean) · P(positive | h).
    fn expected(&self, mean: f64) -> f64 {
        let (lo, hi) = window(mean);
        (lo as u64..=hi as u64)
            .map(|h| poisson_pmf(h as f64, mean) * self.positive[(h - self.first) as usize])
            .sum()
    }
}

/// The depths summed for a Poisson law of mean `mean`.
fn window(mean: f64) -> (f64, f64) {
    let w = POISSON_WINDOW_SD * mean.sqrt() + 10.0;
    ((mean - w).max(0.0).floor(), (mean + w).ceil())
}

/// P(positive | depth, reads needed k): 1 − (1 − p_mut)^m (1 − q)^(P − m),
/// with q = P(Binomial(depth, e) ≥ k) at a position the tumour does not
/// carry and p_mut = P(T + E ≥ k) with T ~ Poisson(mutant_mean) and
/// E ~ Binomial(depth, e) at one it carries, summed as
/// Σ_{t<k} P(T = t) P(E ≥ k − t) + P(T ≥ k) (positive terms only).
fn positive_given_depth(assay: &SequencingAssay, depth: f64, k: u64, mutant_mean: f64) -> f64 {
    let e = assay.error_rate;
    let q = binomial_tail(depth, e, k);
    let p_mut = if mutant_mean > 0.0 {
        (0..k)
            .map(|t| poisson_pmf(t as f64, mutant_mean) * binomial_tail(depth, e, k - t))
            .sum::<f64>()
            + poisson_tail(mutant_mean, k)
    } else {
        q
    };
    let m = assay.panel_mutations as f64;
    -(m * (-p_mut.min(1.0)).ln_1p() + assay.other_positions() * (-q).ln_1p()).exp_m1()
}

/// P(X = k) for X ~ Poisson(mean).
pub fn poisson_pmf(k: f64, mean: f64) -> f64 {
    if mean <= 0.0 {
        return if k == 0.0 { 1.0 } else { 0.0 };
    }
    (k * mean.ln() - mean - ln_factorial(k)).exp()
}

/// P(X ≥ k) for X ~ Poisson(mean): 1 − the lower sum when k is at most
/// the mean, else the upper sum from k (no cancellation where it is small).
pub fn poisson_tail(mean: f64, k: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    let kf = k as f64;
    if kf <= mean {
        let below: f64 = (0..k).map(|j| poisson_pmf(j as f64, mean)).sum();
        return (1.0 - below).max(0.0);
    }
    let mut term = poisson_pmf(kf, mean);
    let (mut sum, mut j) = (term, kf);
    while term > sum * 1e-17 {
        j += 1.0;
        term *= mean / j;
        sum += term;
    }
    sum.min(1.0)
}

/// P(X ≥ k) for X ~ Binomial(n, p): 1 − the lower sum when k is at most
/// the mean, else the upper sum from k, both by the pmf's recurrence.
pub fn binomial_tail(n: f64, p: f64, k: u64) -> f64 {
    let kf = k as f64;
    if k == 0 {
        return 1.0;
    }
    if kf > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let ratio = p / (1.0 - p);
    if kf <= n * p {
        // P(X ≤ k − 1), summed downward from k − 1.
        let mut term = binomial_pmf(n, p, k - 1);
        let (mut below, mut j) = (term, kf - 1.0);
        while j > 0.0 && term > below * 1e-17 {
            term *= j / ((n - j + 1.0) * ratio);
            below += term;
            j -= 1.0;
        }
        return (1.0 - below).max(0.0);
    }
    let mut term = binomial_pmf(n, p, k);
    let (mut sum, mut j) = (term, kf);
    while j < n && term > sum * 1e-17 {
        term *= (n - j) / (j + 1.0) * ratio;
        sum += term;
        j += 1.0;
    }
    sum.min(1.0)
}

/// P(X = k) for X ~ Binomial(n, p), 0 < p < 1, with ln C(n, k) summed
/// term by term (no cancellation between large ln-factorials) up to
/// k = 10⁵, from ln-factorials beyond.
pub fn binomial_pmf(n: f64, p: f64, k: u64) -> f64 {
    let kf = k as f64;
    if kf > n {
        return 0.0;
    }
    let ln_choose = if k <= 100_000 {
        (0..k)
            .map(|i| ((n - i as f64) / (i as f64 + 1.0)).ln())
            .sum::<f64>()
    } else {
        ln_factorial(n) - ln_factorial(kf) - ln_factorial(n - kf)
    };
    (ln_choose + kf * p.ln() + (n - kf) * (-p).ln_1p()).exp()
}

/// The per-test false-positive rate that gives `annual` over a year of
/// `tests_per_year` independent tests: 1 − (1 − annual)^{1/n}.
pub fn per_test_rate(annual: f64, tests_per_year: f64) -> f64 {
    -((-annual).ln_1p() / tests_per_year).exp_m1()
}
