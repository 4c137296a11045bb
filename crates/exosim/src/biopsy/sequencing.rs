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
use crate::random::samplers::{ln_factorial, stirling_tail};

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
/// Σ_{t<k} P(T = t) P(E ≥ k − t) + P(T ≥ k) (positive terms only), the
/// t-sum over T's Poisson [`window`] (what lies outside weighs < 10⁻³⁰;
/// summing every t < k cost k binomial tails per depth, minutes for a
/// tumour shedding far more than the published rates).
fn positive_given_depth(assay: &SequencingAssay, depth: f64, k: u64, mutant_mean: f64) -> f64 {
    let e = assay.error_rate;
    let q = binomial_tail(depth, e, k);
    let p_mut = if mutant_mean > 0.0 {
        let (lo, hi) = window(mutant_mean);
        (lo as u64..k.min(hi as u64 + 1))
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

/// P(X = k) for X ~ Binomial(n, p), 0 < p < 1, n a whole number, in
/// Loader's saddle-point form (Loader 2000, "Fast and accurate computation
/// of binomial probabilities"; R's `dbinom`): Stirling remainders and the
/// deviance term [`bd0`], with no cancellation between large
/// ln-factorials and a cost that does not grow with k (the tails sum many
/// of these for every depth of a sequencing test).
pub fn binomial_pmf(n: f64, p: f64, k: u64) -> f64 {
    let x = k as f64;
    if x > n {
        return 0.0;
    }
    let q = 1.0 - p;
    if k == 0 {
        let lc = if p < 0.1 {
            -bd0(n, n * q) - n * p
        } else {
            n * (-p).ln_1p()
        };
        return lc.exp();
    }
    if x == n {
        let lc = if q < 0.1 {
            -bd0(n, n * p) - n * q
        } else {
            n * p.ln()
        };
        return lc.exp();
    }
    // ln n! − [(n + ½) ln n − n + ½ ln 2π] is `stirling_tail(n − 1)`.
    let stirlerr = |m: f64| stirling_tail(m - 1.0);
    let lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
    let lf = std::f64::consts::TAU.ln() + x.ln() + (-x / n).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// The deviance term x ln(x/m) + m − x, by its series in v = (x − m)/(x + m)
/// when x is near m (where the direct form cancels).
fn bd0(x: f64, m: f64) -> f64 {
    if (x - m).abs() >= 0.1 * (x + m) {
        return x * (x / m).ln() + m - x;
    }
    let mut v = (x - m) / (x + m);
    let mut s = (x - m) * v;
    let mut ej = 2.0 * x * v;
    v *= v;
    for j in 1..1000 {
        ej *= v;
        let next = s + ej / f64::from(2 * j + 1);
        if next == s {
            break;
        }
        s = next;
    }
    s
}

/// The per-test false-positive rate that gives `annual` over a year of
/// `tests_per_year` independent tests: 1 − (1 − annual)^{1/n}.
pub fn per_test_rate(annual: f64, tests_per_year: f64) -> f64 {
    -((-annual).ln_1p() / tests_per_year).exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ln C(n, k) summed term by term: slow, but free of cancellation.
    fn pmf_by_terms(n: f64, p: f64, k: u64) -> f64 {
        let ln_choose: f64 = (0..k)
            .map(|i| ((n - i as f64) / (i as f64 + 1.0)).ln())
            .sum();
        let x = k as f64;
        (ln_choose + x * p.ln() + (n - x) * (-p).ln_1p()).exp()
    }

    /// Loader's form against the term-by-term sum, over sequencing depths
    /// (1 to 10⁹), error rates and read counts from the mode to far into
    /// the tail: within 10⁻¹⁰ relative wherever the probability is a
    /// normal number, or 10⁻¹³·k for k above 10³ (the sum's own rounding
    /// grows with its k terms). And against exact arithmetic at one point
    /// where the sum is 2.4·10⁻¹⁰ off: C(10⁵, 3·10⁴)·p^k·(1 − p)^(n−k) with
    /// p the double nearest 0.3, 0.0027529546483974279546…, and one where it
    /// is 5·10⁻¹⁰ off: n = 10⁶, k = 5·10⁴, p ≈ 0.05, 0.0018304696617921011…
    /// (Python's `math.comb` and 50-digit `decimal`).
    #[test]
    fn binomial_pmf_agrees_with_the_term_by_term_sum() {
        let mut checked = 0;
        for n in [1.0f64, 2.0, 10.0, 37.0, 1000.0, 7860.0, 1e5, 1e6, 1e9] {
            for p in [1e-7, 1e-5, 1e-3, 0.05, 0.3, 0.9] {
                let mode = (n * p).floor() as u64;
                let ks = [
                    0,
                    1,
                    2,
                    3,
                    5,
                    mode,
                    mode + 1,
                    mode + 7,
                    2 * mode + 3,
                    40,
                    300,
                    5000,
                ];
                // The sum is no reference beyond 10⁵ terms.
                for k in ks.into_iter().filter(|&k| (k as f64) <= n && k <= 100_000) {
                    let (ours, exact) = (binomial_pmf(n, p, k), pmf_by_terms(n, p, k));
                    if exact < f64::MIN_POSITIVE {
                        continue;
                    }
                    let tolerance = 1e-10f64.max(1e-13 * k as f64);
                    assert!(
                        (ours / exact - 1.0).abs() < tolerance,
                        "n {n} p {p} k {k}: {ours} vs {exact}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 250, "{checked}");
        let exact = 0.002_752_954_648_397_428;
        assert!((binomial_pmf(1e5, 0.3, 30_000) / exact - 1.0).abs() < 1e-14);
        let exact = 0.001_830_469_661_792_101;
        assert!((binomial_pmf(1e6, 0.05, 50_000) / exact - 1.0).abs() < 1e-14);
    }
}
