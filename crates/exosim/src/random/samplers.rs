//! Exact samplers for the cohort's hot loop: Poisson, binomial, gamma and Beta.
//!
//! Why: a screened individual costs about a microsecond, and the general
//! samplers of `rand_distr` set much of it. A screening test draws a
//! Poisson of a new mean each time (so no set-up can be amortised), a Beta
//! recovery, and for positive tests a binomial thinning of a new size and
//! probability. The algorithms here are exact rejection or inversion
//! methods whose set-up is a few arithmetic operations and whose common
//! path needs no logarithm:
//!
//! (Sources: docs/references.md#random-methods.)
//!
//! - Poisson: inversion by sequential search for λ < 15, PTRS (Hörmann
//!   1993, "The transformed rejection method for generating Poisson random
//!   variables", Insurance: Math. Econ. 12:39–45) for λ ≥ 15 (NumPy: 10);
//! - binomial: inversion for n·min(p, 1−p) < 30, BTRS (Hörmann 1993, "The
//!   generation of binomial random variates", J. Stat. Comput. Simul.
//!   46:101–110) otherwise;
//! - gamma: Marsaglia & Tsang (2000, ACM TOMS 26:363–372), with
//!   G(α) = G(α+1)·U^{1/α} for α < 1;
//! - Beta(α, β) = G_α/(G_α + G_β);
//!
//! and for the screening cohort's kernel (`biopsy/cohort.rs`), exact table
//! samplers built once per cohort: [`PoissonFloor`] and [`PoissonCeiling`]
//! (inversion with table bounds that prove a count below or above a level
//! from its uniform alone), [`PoissonTable`] (alias tables of integer
//! means plus a Poisson of the fraction), [`BetaCells`] (the Beta law as a
//! cell of exact probability, then the variate within it) and
//! [`Ziggurat`] (normal variates, 53-bit abscissae).
//!
//! Every variate depends only on the words drawn from the caller's
//! generator, so keyed streams keep results reproducible.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{ziggurat_edges, ziggurat_tail};
use crate::fast_exp::exp;

/// ½ ln 2π.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// A uniform in [0, 1) from the top 53 bits of one word.
#[inline(always)]
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// ⌊x⌋ for 0 ≤ x < 2⁶⁴ by truncation: `f64::floor` is a library call on
/// the baseline x86-64 target, and it sat on every candidate.
#[inline(always)]
fn floor_nonnegative(x: f64) -> f64 {
    (x as u64) as f64
}

/// Stirling's remainder fc(k) = ln k! − [(k + ½) ln(k + 1) − (k + 1) + ½ ln 2π]
/// for an integer k ≥ 0: tabulated below 10, the asymptotic series above
/// (its first omitted term is below 10⁻¹⁴ there).
pub fn stirling_tail(k: f64) -> f64 {
    /// fc(0)…fc(9) from the exact factorials.
    const TAIL: [f64; 10] = [
        0.081_061_466_795_327_26,
        0.041_340_695_955_409_3,
        0.027_677_925_684_998_34,
        0.020_790_672_103_765_093,
        0.016_644_691_189_821_193,
        0.013_876_128_823_070_748,
        0.011_896_709_945_891_77,
        0.010_411_265_261_972_096,
        0.009_255_462_182_712_733,
        0.008_330_563_433_362_87,
    ];
    if k < 10.0 {
        return TAIL[k as usize];
    }
    let x = k + 1.0;
    let r = 1.0 / (x * x);
    (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (1.0 / 1680.0 - r / 1188.0)))) / x
}

/// ln k! for an integer k ≥ 0.
pub fn ln_factorial(k: f64) -> f64 {
    (k + 0.5) * (k + 1.0).ln() - (k + 1.0) + HALF_LN_2PI + stirling_tail(k)
}

/// Means below which [`poisson`] inverts (PTRS above): on this code's
/// timings inversion (≈ λ steps of a multiply-add) and PTRS (whose cheap
/// acceptance region holds only ~45 % of candidates at λ ≈ 12) cost the
/// same near λ = 15.
pub const POISSON_INVERSION_BELOW: f64 = 15.0;

/// n·min(p, 1 − p) below which [`binomial`] inverts (BTRS above), as NumPy.
pub const BINOMIAL_INVERSION_BELOW: f64 = 30.0;

/// A Poisson variate of mean `lambda` (finite, > 0), as `f64`.
#[inline]
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    if lambda < POISSON_INVERSION_BELOW {
        poisson_inversion(rng, lambda)
    } else {
        poisson_ptrs(rng, lambda)
    }
}

/// Inversion by sequential search from 0 (λ + 1 steps on average; one exponential; λ < 15).
fn poisson_inversion<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    let mut p = (-lambda).exp();
    let mut u = uniform(rng);
    let mut k = 0.0;
    // Subtracting the masses from u instead of accumulating the CDF; the
    // cap guards against the rounding of u past the last mass.
    while u >= p && k < 1000.0 {
        u -= p;
        k += 1.0;
        p *= lambda / k;
    }
    k
}

/// The Poisson(λ) variate F⁻¹(u) of the uniform `u` ∈ [0, 1), by
/// sequential search from 0 (λ + 1 steps on average; one exponential),
/// for 0 < λ ≤ [`POISSON_FLOOR_MAX`] (e^{−λ} stays a normal number; it
/// comes from the cohort kernel's inlined exponential, `crate::fast_exp`).
#[inline]
pub fn poisson_inversion_of(mut u: f64, lambda: f64) -> f64 {
    let mut p = exp(-lambda);
    let mut k = 0.0;
    // Subtracting the masses from u instead of accumulating the CDF; the
    // cap guards against the rounding of u past the last mass (it is far
    // beyond the mass of every allowed λ).
    while u >= p && k < 4000.0 {
        u -= p;
        k += 1.0;
        p *= lambda / k;
    }
    k
}

/// Hörmann's PTRS: transformed rejection with a squeeze that accepts ~90 %
/// of candidates without a logarithm (λ ≥ 10).
fn poisson_ptrs<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    let slam = lambda.sqrt();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = uniform(rng) - 0.5;
        let v = uniform(rng);
        let us = 0.5 - u.abs();
        let x = (2.0 * a / us + b) * u + lambda + 0.43;
        // k < 0 (never in the box below, where x > 4 for λ ≥ 10).
        if x < 0.0 || x.is_nan() {
            continue;
        }
        let k = floor_nonnegative(x);
        if us >= 0.07 && v <= vr {
            return k;
        }
        if us < 0.013 && v > us {
            continue;
        }
        if (v * inv_alpha / (a / (us * us) + b)).ln() <= k * lambda.ln() - lambda - ln_factorial(k)
        {
            return k;
        }
    }
}

/// A binomial variate: successes among `n` trials (an integer ≥ 0 as
/// `f64`) of probability `p` in (0, 1).
#[inline]
pub fn binomial<R: Rng + ?Sized>(rng: &mut R, n: f64, p: f64) -> f64 {
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    if n * p < BINOMIAL_INVERSION_BELOW {
        binomial_inversion(rng, n, p)
    } else {
        binomial_btrs(rng, n, p)
    }
}

/// Inversion by sequential search from 0 (p ≤ ½, n·p < 30: n·p + 1 steps
/// on average; one power).
fn binomial_inversion<R: Rng + ?Sized>(rng: &mut R, n: f64, p: f64) -> f64 {
    let q = 1.0 - p;
    let s = p / q;
    let a = (n + 1.0) * s;
    // q^n: by repeated squaring for small n (error ~log₂ n ulps), through
    // ln(1 − p) for large n, where 1 − p would lose p's precision.
    let mut r = if n <= 1024.0 {
        q.powi(n as i32)
    } else {
        (n * (-p).ln_1p()).exp()
    };
    let mut u = uniform(rng);
    let mut k = 0.0;
    while u >= r && k < n {
        u -= r;
        k += 1.0;
        r *= a / k - s;
    }
    k
}

/// Hörmann's BTRS: transformed rejection with a squeeze (p ≤ ½, n·p ≥ 10);
/// the exact test compares with the ratio of the probabilities of k and
/// the mode m, ln f(k)/f(m), from [`ln_factorial`] (for n ≥ 2²⁴ through
/// logarithms of ratios, which keep their precision for huge counts).
fn binomial_btrs<R: Rng + ?Sized>(rng: &mut R, n: f64, p: f64) -> f64 {
    let q = 1.0 - p;
    let spq = (n * p * q).sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = n * p + 0.5;
    let vr = 0.92 - 4.2 / b;
    // The exact test's constants, once a candidate needs them.
    let mut exact: Option<(f64, f64, f64, f64)> = None;
    loop {
        let u = uniform(rng) - 0.5;
        let v = uniform(rng);
        let us = 0.5 - u.abs();
        let x = (2.0 * a / us + b) * u + c;
        // k < 0 (never in the box below, where x > 5 for n·p ≥ 10).
        if x < 0.0 || x.is_nan() {
            continue;
        }
        let k = floor_nonnegative(x);
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k > n {
            continue;
        }
        let (alpha, lpq, m, ln_fm) = *exact.get_or_insert_with(|| {
            let m = floor_nonnegative((n + 1.0) * p);
            (
                (2.83 + 5.1 / b) * spq,
                (p / q).ln(),
                m,
                ln_factorial(m) + ln_factorial(n - m),
            )
        });
        let h = if n < 16_777_216.0 {
            ln_fm - ln_factorial(k) - ln_factorial(n - k) + (k - m) * lpq
        } else {
            ln_factorial_ratio(m, k) + ln_factorial_ratio(n - m, n - k) + (k - m) * lpq
        };
        if (v * alpha / (a / (us * us) + b)).ln() <= h {
            return k;
        }
    }
}

/// ln(x! / y!) for integers x, y ≥ 0, with the large terms written as
/// logarithms of ratios so that counts far beyond 2⁵³ keep their precision.
fn ln_factorial_ratio(x: f64, y: f64) -> f64 {
    // (x + ½) ln(x + 1) − (y + ½) ln(y + 1) − (x − y) + fc(x) − fc(y)
    // = (x + ½) ln((x + 1)/(y + 1)) + (x − y) ln(y + 1) − (x − y) + fc(x) − fc(y).
    let d = x - y;
    (x + 0.5) * (d / (y + 1.0)).ln_1p() + d * ((y + 1.0).ln() - 1.0) + stirling_tail(x)
        - stirling_tail(y)
}

/// The largest floor of [`PoissonFloor`] (and its inversion's largest mean).
pub const POISSON_FLOOR_MAX: u64 = 600;

/// Cells of the mean grid of [`PoissonFloor`].
const POISSON_FLOOR_CELLS: usize = 1024;

/// Poisson variates whose value matters only at or above a floor `n`
/// (a screening test whose count is below the decision's first possibly
/// positive count is negative, whatever that count is).
///
/// Why: most screening tests are far below the decision level, and a
/// Poisson variate costs tens of nanoseconds however little of it is used.
/// **Identity.** Draw X = F⁻¹(U; λ) by inversion of the Poisson CDF F with
/// one uniform U: X < n exactly when U < F(n − 1; λ). F(n − 1; λ)
/// decreases in λ, so on a grid λᵢ = i·Δ the value Lᵢ = F(n − 1; λᵢ₊₁) is a
/// lower bound of F(n − 1; λ) for every λ in [λᵢ, λᵢ₊₁). Hence U < Lᵢ
/// proves X < n without computing X (one uniform, one table look-up), and
/// otherwise the same U is inverted by sequential search
/// ([`poisson_inversion_of`]): every variate is F⁻¹(U; λ), exactly the
/// Poisson law; only the values below n may be left undrawn. The bounds
/// are computed once by summing the probabilities, and shrunk by 10⁻¹²
/// relative so that their rounding never turns a bound into an
/// overestimate. The grid covers the means up to [`limit`](Self::limit),
/// where F(n − 1; λ) falls to ½ (beyond it the inversion's λ steps cost
/// more than the early exits save): larger means go to [`poisson`].
#[derive(Debug, Clone)]
pub struct PoissonFloor {
    floor: f64,
    inv_spacing: f64,
    limit: f64,
    bound: Box<[f64]>,
}

/// P(X < n) for X ~ Poisson(λ), λ ≤ [`POISSON_FLOOR_MAX`], by summing the masses.
fn poisson_cdf_below(n: u64, lambda: f64) -> f64 {
    let mut p = (-lambda).exp();
    let mut sum = 0.0;
    for k in 0..n {
        sum += p;
        p *= lambda / (k + 1) as f64;
    }
    sum.min(1.0)
}

impl PoissonFloor {
    /// The sampler for floor `n` (1 ≤ n ≤ [`POISSON_FLOOR_MAX`]).
    pub fn new(n: u64) -> PoissonFloor {
        assert!(
            (1..=POISSON_FLOOR_MAX).contains(&n),
            "Poisson floor {n} outside 1..={POISSON_FLOOR_MAX}"
        );
        // The mean where P(X < n) = ½, by bisection (it lies below n).
        let (mut lo, mut hi) = (0.0, n as f64);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if poisson_cdf_below(n, mid) >= 0.5 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let limit = lo;
        let spacing = limit / POISSON_FLOOR_CELLS as f64;
        let bound = (0..POISSON_FLOOR_CELLS)
            .map(|i| poisson_cdf_below(n, (i + 1) as f64 * spacing) * (1.0 - 1e-12))
            .collect();
        PoissonFloor {
            floor: n as f64,
            inv_spacing: 1.0 / spacing,
            limit,
            bound,
        }
    }

    /// The floor n.
    pub fn floor(&self) -> f64 {
        self.floor
    }

    /// Means below this are drawn by [`sample`](Self::sample); larger ones need [`poisson`].
    pub fn limit(&self) -> f64 {
        self.limit
    }

    /// The lower bound of P(X < floor) for X ~ Poisson(λ), 0 ≤ λ < [`limit`](Self::limit).
    #[inline(always)]
    pub fn bound(&self, lambda: f64) -> f64 {
        self.bound[((lambda * self.inv_spacing) as usize).min(POISSON_FLOOR_CELLS - 1)]
    }

    /// A Poisson(λ) variate for 0 ≤ λ < [`limit`](Self::limit): `None`
    /// when it is proven below the floor (its value undrawn), otherwise
    /// the variate (which may still be below the floor). One uniform.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, lambda: f64) -> Option<f64> {
        self.sample_or_uniform(uniform(rng), lambda).ok()
    }

    /// [`sample`](Self::sample) with its uniform `u` given, that keeps the
    /// uniform of a variate proven below the floor: `Err(u)`, whose variate
    /// is [`poisson_inversion_of`]`(u, λ)` should its value be needed after all.
    #[inline]
    pub fn sample_or_uniform(&self, u: f64, lambda: f64) -> Result<f64, f64> {
        debug_assert!((0.0..self.limit).contains(&lambda));
        if u < self.bound(lambda) {
            return Err(u);
        }
        Ok(if lambda > 0.0 {
            poisson_inversion_of(u, lambda)
        } else {
            0.0
        })
    }

    /// The bounds' table (over cells of 1/[`inv_spacing`](Self::inv_spacing)).
    pub fn bounds(&self) -> &[f64] {
        &self.bound
    }

    /// Cells per unit mean of [`bounds`](Self::bounds).
    pub fn inv_spacing(&self) -> f64 {
        self.inv_spacing
    }
}

/// The Poisson(λ) variate F⁻¹(u) of the uniform `u` if it is below `n`,
/// `None` if it is at least `n` (sequential search from 0, at most n steps).
#[inline]
pub fn poisson_inversion_below(mut u: f64, lambda: f64, n: f64) -> Option<f64> {
    let mut p = exp(-lambda);
    let mut k = 0.0;
    while u >= p {
        u -= p;
        k += 1.0;
        if k >= n {
            return None;
        }
        p *= lambda / k;
    }
    Some(k)
}

/// Poisson variates whose value matters only below a ceiling `n` (a
/// count at or above it makes a screening test positive whatever else).
///
/// **Identity.** As [`PoissonFloor`] from the other side: with X = F⁻¹(U; λ),
/// X ≥ n exactly when U ≥ F(n − 1; λ), and on a grid λᵢ = i·Δ the value
/// Hᵢ = F(n − 1; λᵢ) bounds F(n − 1; λ) from above for λ in [λᵢ, λᵢ₊₁)
/// (F decreases in λ). U ≥ Hᵢ proves X ≥ n with one uniform; otherwise the
/// same U is inverted ([`poisson_inversion_below`], at most n steps, which
/// may still find X ≥ n). The bounds are widened by 10⁻¹² relative against
/// their rounding; means beyond the grid, where F(n − 1; λ) < 2⁻⁶⁰, use
/// the last bound.
#[derive(Debug, Clone)]
pub struct PoissonCeiling {
    ceiling: f64,
    inv_spacing: f64,
    bound: Box<[f64]>,
}

impl PoissonCeiling {
    /// The sampler for ceiling `n` (1 ≤ n ≤ [`POISSON_FLOOR_MAX`]).
    pub fn new(n: u64) -> PoissonCeiling {
        assert!(
            (1..=POISSON_FLOOR_MAX).contains(&n),
            "Poisson ceiling {n} outside 1..={POISSON_FLOOR_MAX}"
        );
        // The grid's end: F(n − 1; λ) < 2⁻⁶⁰ (beyond the mean n, so F decreases fast).
        let mut end = n as f64 + 1.0;
        while poisson_cdf_below(n, end) >= 2f64.powi(-60) {
            end *= 1.25;
        }
        let spacing = end / POISSON_FLOOR_CELLS as f64;
        let bound = (0..=POISSON_FLOOR_CELLS)
            .map(|i| (poisson_cdf_below(n, i as f64 * spacing) * (1.0 + 1e-12)).min(1.0))
            .collect();
        PoissonCeiling {
            ceiling: n as f64,
            inv_spacing: 1.0 / spacing,
            bound,
        }
    }

    /// The ceiling n.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// The smallest mean of the grid from which P(X < ceiling) ≤ `p` (the
    /// grid's end if none).
    pub fn mean_from(&self, p: f64) -> f64 {
        let i = self.bound.partition_point(|&b| b > p);
        i as f64 / self.inv_spacing
    }

    /// A Poisson(λ) variate (λ ≥ 0, finite or not): `None` when it is at
    /// least the ceiling (its value undrawn), otherwise the variate. One
    /// uniform, and at most n steps of inversion.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, lambda: f64) -> Option<f64> {
        if lambda.is_nan() || lambda <= 0.0 {
            return Some(0.0);
        }
        self.sample_with(uniform(rng), lambda)
    }

    /// [`sample`](Self::sample) with its uniform `u` given (λ > 0).
    #[inline]
    pub fn sample_with(&self, u: f64, lambda: f64) -> Option<f64> {
        if lambda.is_nan() || lambda <= 0.0 {
            return Some(0.0);
        }
        if u >= self.bound(lambda) {
            return None;
        }
        poisson_inversion_below(u, lambda, self.ceiling)
    }

    /// The upper bound of P(X < ceiling) for X ~ Poisson(λ), λ ≥ 0.
    #[inline(always)]
    pub fn bound(&self, lambda: f64) -> f64 {
        self.bound[((lambda * self.inv_spacing) as usize).min(POISSON_FLOOR_CELLS)]
    }

    /// The bounds' table (over cells of 1/[`inv_spacing`](Self::inv_spacing), the last one for all beyond).
    pub fn bounds(&self) -> &[f64] {
        &self.bound
    }

    /// Cells per unit mean of [`bounds`](Self::bounds).
    pub fn inv_spacing(&self) -> f64 {
        self.inv_spacing
    }
}

/// Walker's alias table over `masses` (at most 1024, positive total), by
/// Vose's method: entry j is a threshold of 53 bits shifted left by 10, or'd
/// with the column's alias; column j keeps itself when its 53-bit coin is
/// below the threshold. Rounding leftovers keep themselves always.
///
/// Why one function: [`PoissonTable`]'s rows and [`BetaCells`] draw by the
/// same packed entries.
fn alias_entries(masses: &[f64]) -> Vec<u64> {
    let len = masses.len();
    assert!(len <= 1 << 10, "alias table of {len} columns");
    let total: f64 = masses.iter().sum();
    let mut scaled: Vec<f64> = masses.iter().map(|&m| m * len as f64 / total).collect();
    let mut keep = vec![1u64 << 53; len];
    let mut alias: Vec<u64> = (0..len as u64).collect();
    let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..len).partition(|&j| scaled[j] < 1.0);
    let one = (1u64 << 53) as f64;
    while let (Some(&sm), Some(&lg)) = (small.last(), large.last()) {
        small.pop();
        keep[sm] = (scaled[sm] * one) as u64;
        alias[sm] = lg as u64;
        scaled[lg] -= 1.0 - scaled[sm];
        if scaled[lg] < 1.0 {
            large.pop();
            small.push(lg);
        }
    }
    // Rounding leftovers keep themselves: never a column of mass 0.
    assert!(small.iter().chain(&large).all(|&j| scaled[j] > 0.5));
    keep.iter()
        .zip(&alias)
        .map(|(&k, &a)| k << 10 | a)
        .collect()
}

/// Exact Poisson variates for means in [0, M) by tables: Poisson(μ) is the
/// sum of independent Poisson(⌊μ⌋) and Poisson(δ), δ = μ − ⌊μ⌋ ∈ [0, 1)
/// (superposition).
///
/// Why: a screening test near the decision level needs its count, whose
/// mean changes every test; PTRS then costs several uniforms, a division
/// and often a logarithm, and mispredicted branches.
/// **Method.** Poisson(⌊μ⌋) by Walker's alias method over the counts whose
/// cumulative masses lie within 2⁻⁶⁰ of neither end (the tails beyond, below
/// 2⁻⁵⁹ together, are left out: far below the 2⁻⁵³ resolution of the alias
/// coins), each row padded with counts of mass 0 to 2ᵇ columns (b ≤ 10), so
/// that one word gives the column exactly (its top b bits) and a coin of 53
/// bits (the next ones): shifts only, the same on eight lanes
/// (`cohort.rs`). When every row fits in [`FIXED_COLUMNS`] counts from 0
/// (means up to about 140), every row takes exactly those columns, so a
/// row's place follows from its mean without a look-up. Poisson(δ) by inversion of a uniform V with the masses
/// e^{−δ}, δe^{−δ}, δ²e^{−δ}/2 compared without branches, the search going
/// on past 2 (probability below 8 %; [`fraction`](Self::fraction)).
#[derive(Debug, Clone)]
pub struct PoissonTable {
    /// Per integer mean: the offset of its entries (high 32 bits), its first
    /// tabulated count k₀ (bits 16–31) and b (low 8 bits).
    rows: Box<[u64]>,
    /// Per column: the alias coin threshold of 53 bits (high 54 bits, 2⁵³
    /// to keep always) and the other entry of the pair (low 10 bits).
    entries: Box<[u64]>,
    /// Whether every row has [`FIXED_COLUMNS`] columns from count 0.
    fixed: bool,
}

/// Columns of every [`PoissonTable`] row when all fit (means up to about 130).
pub const FIXED_COLUMNS: usize = 256;

/// Columns of a [`PoissonTable`] row at most (2¹⁰: the entries' alias field).
const POISSON_TABLE_COLUMNS: usize = 1 << 10;

impl PoissonTable {
    /// Tables for the means below `limit` (≤ [`POISSON_FLOOR_MAX`]).
    pub fn new(limit: u64) -> PoissonTable {
        assert!(
            limit <= POISSON_FLOOR_MAX,
            "Poisson table limit {limit} above {POISSON_FLOOR_MAX}"
        );
        let tiny = 2f64.powi(-60);
        // Each row's first count and masses.
        let mut tabulated = Vec::new();
        for i in 0..limit.max(1) {
            let mu = i as f64;
            let mut p = (-mu).exp();
            let (mut k, mut below) = (0u32, 0.0);
            while below + p < tiny && mu > 0.0 {
                below += p;
                k += 1;
                p *= mu / k as f64;
            }
            let first = k;
            let mut masses = Vec::new();
            loop {
                masses.push(p);
                // Past the mean, the masses beyond k sum to less than p.
                if ((k as f64) > mu + 1.0 && p < tiny) || mu == 0.0 {
                    break;
                }
                k += 1;
                p *= mu / k as f64;
            }
            tabulated.push((first, masses));
        }
        // Rows of FIXED_COLUMNS counts from 0 when every row fits: a row's
        // place is then i·FIXED_COLUMNS and its first count 0 (no look-up).
        let fixed = tabulated
            .iter()
            .all(|(first, m)| *first as usize + m.len() <= FIXED_COLUMNS);
        let mut rows = Vec::new();
        let mut entries = Vec::new();
        for (mut first, mut masses) in tabulated {
            if fixed {
                masses.splice(0..0, std::iter::repeat_n(0.0, first as usize));
                first = 0;
                masses.resize(FIXED_COLUMNS, 0.0);
            }
            let len = masses.len().next_power_of_two();
            assert!(len <= POISSON_TABLE_COLUMNS, "Poisson table row of {len}");
            masses.resize(len, 0.0);
            let bits = len.trailing_zeros() as u64;
            let offset = entries.len() as u64;
            entries.extend(alias_entries(&masses));
            rows.push(offset << 32 | u64::from(first) << 16 | bits);
        }
        PoissonTable {
            rows: rows.into(),
            entries: entries.into(),
            fixed,
        }
    }

    /// Means below this are drawn by [`sample`](Self::sample).
    pub fn limit(&self) -> f64 {
        self.rows.len() as f64
    }

    /// A Poisson(λ) variate for 0 ≤ λ < [`limit`](Self::limit): two words.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, lambda: f64) -> f64 {
        debug_assert!((0.0..self.limit()).contains(&lambda));
        let i = lambda as usize;
        let row = self.rows[i];
        let w = rng.next_u64();
        let bits = (row & 0xff) as u32;
        // The top `bits` bits (none for a row of one column), then 53 more.
        let column = (w >> 32) >> (32 - bits);
        let coin = (w << bits) >> 11;
        let entry = self.entries[(row >> 32) as usize + column as usize];
        let j = if coin < entry >> 10 {
            column
        } else {
            entry & 0x3ff
        };
        let whole = ((row >> 16) & 0xffff) as f64 + j as f64;
        let delta = lambda - i as f64;
        whole + Self::fraction(delta, uniform(rng))
    }

    /// The Poisson(δ) variate F⁻¹(v; δ) of the uniform `v`, δ ∈ [0, 1).
    #[inline]
    pub fn fraction(delta: f64, v: f64) -> f64 {
        let p0 = exp(-delta);
        let p1 = delta * p0;
        let c1 = p0 + p1;
        let c2 = c1 + 0.5 * delta * p1;
        let extra = f64::from(u8::from(v >= p0)) + f64::from(u8::from(v >= c1));
        if v < c2 {
            extra
        } else {
            // Three or more: the search goes on from the mass of 2.
            let (mut k, mut p, mut c) = (2.0, 0.5 * delta * p1, c2);
            while v >= c && k < 100.0 {
                k += 1.0;
                // 1/k then a product (no division on the lanes' constants).
                p *= delta * (1.0 / k);
                c += p;
            }
            k
        }
    }

    /// The rows (see the struct) and entries, for the lanes' copy.
    pub fn tables(&self) -> (&[u64], &[u64]) {
        (&self.rows, &self.entries)
    }

    /// Whether row i holds [`FIXED_COLUMNS`] columns from count 0 at
    /// i·[`FIXED_COLUMNS`] (then its row word needs no look-up).
    pub fn fixed(&self) -> bool {
        self.fixed
    }
}

/// Cells of [`BetaCells`].
pub const BETA_CELLS: usize = 1024;

/// Gauss–Legendre nodes and weights on [0, 1] with `n` points (Newton on
/// the Legendre polynomial from Tricomi's initial guesses).
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    (1..=n)
        .map(|i| {
            let mut x = (std::f64::consts::PI * (i as f64 - 0.25) / (n as f64 + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                // P_n(x) and its derivative by the three-term recurrence.
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=n {
                    let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-16 {
                    break;
                }
            }
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            (0.5 * (1.0 - x), 0.5 * w)
        })
        .collect()
}

/// An exact Beta(α, β) sampler for α, β ≥ 1 in two steps: the cell of
/// [0, 1] (one of [`BETA_CELLS`] of equal width) that holds the variate,
/// then the variate within its cell.
///
/// Why: a screening test draws a recovery, and two gamma variates
/// ([`Beta`]) cost a normal, a uniform, a cube and often a logarithm each;
/// and most screening tests are decided by the cell alone (its upper end
/// bounds the recovery, hence the mean count), so the position within the
/// cell is drawn only when a test needs it.
/// **Method.** The cell is drawn with its exact probability
/// Pⱼ = ∫_cell Beta density (alias table, Walker 1977 and Vose 1991,
/// docs/references.md#random-methods: one
/// word gives the cell and the coin). Pⱼ comes from 16-point Gauss–Legendre
/// quadrature of g(x) = x^{α−1}(1 − x)^{β−1} on each cell (g is analytic
/// inside [0, 1]: the quadrature is exact to rounding), with the end
/// cells integrated in y = x^α and y = (1 − x)^β, where g's singular factor
/// becomes constant. Within cell j, x is uniform and accepted when
/// V·Mⱼ < g(x) (V uniform, Mⱼ ≥ g on the cell), else drawn again in the same
/// cell: the accepted x has density ∝ g on the cell. Together, the Beta law.
/// On a unimodal g (α, β ≥ 1) the maximum over a cell is at an end or at
/// the mode, the minimum at an end, which gives Mⱼ and the squeeze mⱼ
/// (V < mⱼ/Mⱼ accepts without evaluating g: ~99 % of candidates); both are
/// widened by 10⁻¹² relative against the rounding of g.
#[derive(Debug, Clone)]
pub struct BetaCells {
    /// Per column j of the alias table: the coin threshold of 53 bits below
    /// which cell j keeps itself (high 54 bits, 2⁵³ to keep always) and the
    /// other cell of its pair (low 10 bits): one look-up per variate.
    cells: Box<[u64; BETA_CELLS]>,
    /// The upper end of each cell, (j + 1)/K.
    upper_end: Box<[f64; BETA_CELLS]>,
    /// Mⱼ (the density scaled to 1 at the mode).
    upper: Box<[f64; BETA_CELLS]>,
    /// mⱼ / Mⱼ.
    squeeze: Box<[f64; BETA_CELLS]>,
    alpha_m1: f64,
    beta_m1: f64,
    ln_peak: f64,
}

impl BetaCells {
    /// The sampler of Beta(α, β), or `None` unless α, β ≥ 1 (finite).
    pub fn new(alpha: f64, beta: f64) -> Option<BetaCells> {
        if !(alpha.is_finite() && beta.is_finite() && alpha >= 1.0 && beta >= 1.0) {
            return None;
        }
        let k = BETA_CELLS;
        let (alpha_m1, beta_m1) = (alpha - 1.0, beta - 1.0);
        let ln_g = |x: f64| -> f64 {
            let mut l = 0.0;
            if alpha_m1 > 0.0 {
                l += alpha_m1 * x.ln();
            }
            if beta_m1 > 0.0 {
                l += beta_m1 * (-x).ln_1p();
            }
            l
        };
        let mode = if alpha_m1 + beta_m1 > 0.0 {
            alpha_m1 / (alpha_m1 + beta_m1)
        } else {
            0.5
        };
        let ln_peak = ln_g(mode);
        let mut t = BetaCells {
            cells: Box::new([0; BETA_CELLS]),
            upper_end: Box::new(std::array::from_fn(|j| (j + 1) as f64 / k as f64)),
            upper: Box::new([0.0; BETA_CELLS]),
            squeeze: Box::new([0.0; BETA_CELLS]),
            alpha_m1,
            beta_m1,
            ln_peak,
        };
        let width = 1.0 / k as f64;
        let g = |x: f64| (ln_g(x) - ln_peak).exp();
        let mut ends: Vec<f64> = (0..=k).map(|j| g(j as f64 * width)).collect();
        ends[0] = if alpha_m1 > 0.0 { 0.0 } else { ends[0] };
        ends[k] = if beta_m1 > 0.0 { 0.0 } else { ends[k] };
        // Cell masses (unnormalised).
        let nodes = gauss_legendre(16);
        let mut mass = vec![0.0; k];
        for (j, m) in mass.iter_mut().enumerate() {
            let a = j as f64 * width;
            *m = if j == 0 && alpha_m1 > 0.0 {
                // x = (y)^{1/α}, y ∈ [0, w^α]: ∫ x^{α−1} h(x) dx = ∫ h(y^{1/α}) dy/α.
                let top = width.powf(alpha);
                let h = |x: f64| {
                    let mut l = -ln_peak;
                    if beta_m1 > 0.0 {
                        l += beta_m1 * (-x).ln_1p();
                    }
                    l.exp()
                };
                nodes
                    .iter()
                    .map(|&(s, w)| w * h((s * top).powf(1.0 / alpha)))
                    .sum::<f64>()
                    * top
                    / alpha
            } else if j == k - 1 && beta_m1 > 0.0 {
                // 1 − x = y^{1/β}: ∫ (1 − x)^{β−1} h(x) dx = ∫ h(1 − y^{1/β}) dy/β.
                let top = width.powf(beta);
                let h = |x: f64| {
                    let mut l = -ln_peak;
                    if alpha_m1 > 0.0 {
                        l += alpha_m1 * x.ln();
                    }
                    l.exp()
                };
                nodes
                    .iter()
                    .map(|&(s, w)| w * h(1.0 - (s * top).powf(1.0 / beta)))
                    .sum::<f64>()
                    * top
                    / beta
            } else {
                nodes
                    .iter()
                    .map(|&(s, w)| w * g(a + s * width))
                    .sum::<f64>()
                    * width
            };
        }
        for j in 0..k {
            let (a, b) = (j as f64 * width, (j + 1) as f64 * width);
            let (ga, gb) = (ends[j], ends[j + 1]);
            let top = if (a..=b).contains(&mode) {
                1.0f64.max(ga).max(gb)
            } else {
                ga.max(gb)
            };
            let upper = top * (1.0 + 1e-12);
            t.upper[j] = upper;
            t.squeeze[j] = if upper > 0.0 {
                ga.min(gb) * (1.0 - 1e-12) / upper
            } else {
                0.0
            };
        }
        // Walker's alias table on the probabilities Pⱼ.
        t.cells.copy_from_slice(&alias_entries(&mass[..k]));
        Some(t)
    }

    /// The cell of a variate, from one word: the top 10 bits pick a
    /// column of the alias table, the next 53 bits its coin.
    #[inline(always)]
    pub fn cell(&self, w: u64) -> usize {
        let j = (w >> 54) as usize;
        let entry = self.cells[j];
        if (w >> 1) & ((1u64 << 53) - 1) < entry >> 10 {
            j
        } else {
            (entry & 0x3ff) as usize
        }
    }

    /// The alias table (see the `cells` field: threshold and other cell per column).
    pub fn alias_table(&self) -> &[u64; BETA_CELLS] {
        &self.cells
    }

    /// The upper end of cell `j`: a bound of its variates.
    #[inline(always)]
    pub fn upper_end(&self, j: usize) -> f64 {
        self.upper_end[j]
    }

    /// g(x), scaled to 1 at the mode.
    #[inline]
    fn density(&self, x: f64) -> f64 {
        let mut l = -self.ln_peak;
        if self.alpha_m1 > 0.0 {
            l += self.alpha_m1 * x.ln();
        }
        if self.beta_m1 > 0.0 {
            l += self.beta_m1 * (-x).ln_1p();
        }
        exp(l)
    }

    /// The variate within cell `j` (two words per candidate).
    #[inline]
    pub fn within<R: Rng + ?Sized>(&self, j: usize, rng: &mut R) -> f64 {
        const WIDTH: f64 = 1.0 / BETA_CELLS as f64;
        loop {
            let x = (j as f64 + uniform(rng)) * WIDTH;
            let v = uniform(rng);
            if v < self.squeeze[j] || v * self.upper[j] < self.density(x) {
                return x;
            }
        }
    }

    /// [`within`](Self::within) after its first candidate `x` and its
    /// uniform `v` (drawn elsewhere, e.g. on eight lanes), which the
    /// squeeze did not accept: the same variate as `within` from the same
    /// words.
    #[inline]
    pub fn within_after<R: Rng + ?Sized>(&self, j: usize, x: f64, v: f64, rng: &mut R) -> f64 {
        if v < self.squeeze[j] || v * self.upper[j] < self.density(x) {
            x
        } else {
            self.within(j, rng)
        }
    }

    /// The squeeze mⱼ/Mⱼ of each cell (a candidate whose uniform is below it is accepted).
    pub fn squeezes(&self) -> &[f64; BETA_CELLS] {
        &self.squeeze
    }

    /// One variate in [0, 1].
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let j = self.cell(rng.next_u64());
        self.within(j, rng)
    }
}

/// 2⁵³: the abscissa's resolution within a layer.
const ZIG_SCALE: f64 = 9_007_199_254_740_992.0;

/// Standard normal variates by the ziggurat method (Marsaglia & Tsang
/// 2000, J. Stat. Softw. 5(8): 256 layers, the exact tail of their §3),
/// in `f64` with 53 bits of abscissa (the `f32` sibling of
/// `random::fill_standard_normal_f32`).
///
/// Why: a screened individual draws three log-normal factors, and
/// `rand_distr`'s normal is a call that sets up its tables' look-ups each
/// time. Here the tables are built once and the common path is inlined:
/// one word gives the layer (8 low bits) and a symmetric odd integer
/// abscissa (53 high bits), and 99 % of candidates are accepted by one
/// integer comparison. Exact up to the 2⁻⁵³ resolution of the abscissa
/// within its layer.
#[derive(Debug, Clone)]
pub struct Ziggurat {
    /// Right edges: `x[0] = V/f(R)` (the base strip with its tail), `x[1] = R`,
    /// decreasing to `x[256] = 0`.
    x: Box<[f64; 257]>,
    /// Density exp(−x²/2) at each edge.
    f: Box<[f64; 257]>,
    /// ⌈2⁵³·x[i+1]/x[i]⌉: a candidate of layer i with |u| below lies
    /// inside the rectangle under the density.
    accept: Box<[u64; 256]>,
    /// x[i]/2⁵³.
    width: Box<[f64; 256]>,
}

impl Default for Ziggurat {
    fn default() -> Self {
        Ziggurat::new()
    }
}

impl Ziggurat {
    /// The tables (Marsaglia & Tsang's recurrence).
    pub fn new() -> Ziggurat {
        let density = |x: f64| (-0.5 * x * x).exp();
        let x = ziggurat_edges();
        let f = x.map(density);
        let accept = std::array::from_fn(|i| (ZIG_SCALE * x[i + 1] / x[i]).ceil() as u64);
        let width = std::array::from_fn(|i| x[i] / ZIG_SCALE);
        Ziggurat {
            x: Box::new(x),
            f: Box::new(f),
            accept: Box::new(accept),
            width: Box::new(width),
        }
    }

    /// One standard normal variate (more words only when the first
    /// candidate falls outside its layer's rectangle, 1 % of the time).
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let bits = rng.next_u64();
        self.finish(bits, rng)
    }

    /// The variate whose first word was `bits` (more words from `rng` only
    /// for the 1 % of candidates outside their rectangle).
    #[inline(always)]
    pub fn finish<R: Rng + ?Sized>(&self, bits: u64, rng: &mut R) -> f64 {
        let layer = (bits & 0xff) as usize;
        // An odd integer in (−2⁵³, 2⁵³): symmetric, never 0.
        let u = 2 * (bits >> 11) as i64 + 1 - (1i64 << 53);
        if u.unsigned_abs() < self.accept[layer] {
            return u as f64 * self.width[layer];
        }
        self.outside(layer, u, rng)
    }

    /// The layers' acceptance thresholds (of |u|) and widths.
    pub fn tables(&self) -> (&[u64; 256], &[f64; 256]) {
        (&self.accept, &self.width)
    }

    /// A candidate outside its layer's rectangle: the wedge test, the tail,
    /// or a fresh candidate.
    #[cold]
    #[inline(never)]
    fn outside<R: Rng + ?Sized>(&self, mut layer: usize, mut u: i64, rng: &mut R) -> f64 {
        loop {
            let x = u as f64 / ZIG_SCALE * self.x[layer];
            if x.abs() < self.x[layer + 1] {
                return x;
            }
            if layer == 0 {
                let t = ziggurat_tail(|| uniform(rng));
                return if u < 0 { -t } else { t };
            }
            let (f0, f1) = (self.f[layer], self.f[layer + 1]);
            if f1 + (f0 - f1) * uniform(rng) < (-0.5 * x * x).exp() {
                return x;
            }
            let bits = rng.next_u64();
            layer = (bits & 0xff) as usize;
            u = 2 * (bits >> 11) as i64 + 1 - (1i64 << 53);
        }
    }
}

/// Marsaglia & Tsang's gamma sampler of a fixed shape (scale 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gamma {
    /// d = α' − ⅓ with α' = α, or α + 1 when α < 1.
    d: f64,
    /// 1/√(9d).
    c: f64,
    /// 1/α when α < 1 (the boost U^{1/α}); 0 otherwise.
    inv_shape: f64,
}

impl Gamma {
    /// The gamma law of `shape` α > 0 (finite).
    pub fn new(shape: f64) -> Gamma {
        assert!(shape.is_finite() && shape > 0.0, "gamma shape {shape}");
        let (boosted, inv_shape) = if shape < 1.0 {
            (shape + 1.0, 1.0 / shape)
        } else {
            (shape, 0.0)
        };
        let d = boosted - 1.0 / 3.0;
        Gamma {
            d,
            c: 1.0 / (9.0 * d).sqrt(),
            inv_shape,
        }
    }

    /// One variate: a normal and a uniform per candidate; the squeeze
    /// accepts most candidates without a logarithm.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let g = loop {
            let x: f64 = StandardNormal.sample(rng);
            let t = 1.0 + self.c * x;
            if t <= 0.0 {
                continue;
            }
            let v = t * t * t;
            let u = uniform(rng);
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 {
                break self.d * v;
            }
            if u.ln() < 0.5 * x2 + self.d * (1.0 - v + v.ln()) {
                break self.d * v;
            }
        };
        if self.inv_shape > 0.0 {
            // U in (0, 1]: a zero would give a gamma of exactly 0.
            let u = 1.0 - uniform(rng);
            g * (u.ln() * self.inv_shape).exp()
        } else {
            g
        }
    }
}

/// Beta(α, β) as G_α/(G_α + G_β).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beta {
    a: Gamma,
    b: Gamma,
}

impl Beta {
    /// The Beta law of shapes `alpha`, `beta` > 0 (finite).
    pub fn new(alpha: f64, beta: f64) -> Beta {
        Beta {
            a: Gamma::new(alpha),
            b: Gamma::new(beta),
        }
    }

    /// One variate in [0, 1].
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let x = self.a.sample(rng);
        let y = self.b.sample(rng);
        x / (x + y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use statrs::distribution::{ChiSquared, ContinuousCDF, Discrete};

    fn rng(seed: u64) -> rand_pcg::Pcg64Mcg {
        rand_pcg::Pcg64Mcg::seed_from_u64(seed)
    }

    /// Pearson's χ² over (observed, expected) bins taken in order, pooled
    /// until each expects ≥ 20 (a short remainder is its own bin):
    /// (statistic, degrees of freedom = bins − 1).
    fn pooled_chi_square(bins: impl IntoIterator<Item = (f64, f64)>) -> (f64, f64) {
        let (mut stat, mut dof) = (0.0, -1.0);
        let (mut obs, mut exp) = (0.0, 0.0);
        for (o, e) in bins {
            obs += o;
            exp += e;
            if exp >= 20.0 {
                stat += (obs - exp) * (obs - exp) / exp;
                dof += 1.0;
                (obs, exp) = (0.0, 0.0);
            }
        }
        if exp > 0.0 {
            stat += (obs - exp) * (obs - exp) / exp;
            dof += 1.0;
        }
        (stat, dof)
    }

    /// Pearson's χ² of integer draws against a probability mass function,
    /// bins pooled until each expects ≥ 20; asserts p > 10⁻⁴. Also the mean
    /// and variance within 5 standard errors.
    fn chi_square(name: &str, draws: &[f64], pmf: impl Fn(u64) -> f64, mean: f64, var: f64) {
        let n = draws.len() as f64;
        let m = draws.iter().sum::<f64>() / n;
        let v = draws.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(
            (m - mean).abs() < 5.0 * (var / n).sqrt(),
            "{name}: mean {m} vs {mean}"
        );
        // The variance of the sample variance ≈ (μ₄ − σ⁴)/n; 3σ⁴ bounds μ₄ − σ⁴ loosely here.
        assert!(
            (v - var).abs() < 5.0 * (3.0 * var * var / n).sqrt() + 1e-12,
            "{name}: variance {v} vs {var}"
        );
        let max = draws.iter().fold(0.0f64, |a, &b| a.max(b)) as u64;
        let mut counts = vec![0.0; max as usize + 1];
        for &x in draws {
            assert!(x >= 0.0 && x.fract() == 0.0, "{name}: {x}");
            counts[x as usize] += 1.0;
        }
        let (mut stat, mut dof) = (0.0, -1.0);
        let (mut obs, mut exp, mut below) = (0.0, 0.0, 0.0);
        for (k, &c) in counts.iter().enumerate() {
            let p = pmf(k as u64);
            obs += c;
            exp += n * p;
            below += p;
            if exp >= 20.0 && n * (1.0 - below) >= 20.0 {
                stat += (obs - exp).powi(2) / exp;
                dof += 1.0;
                (obs, exp) = (0.0, 0.0);
            }
        }
        // The last bin takes everything above.
        exp += n * (1.0 - below).max(0.0);
        stat += (obs - exp).powi(2) / exp;
        dof += 1.0;
        let p = 1.0 - ChiSquared::new(dof).unwrap().cdf(stat);
        assert!(p > 1e-4, "{name}: chi2 {stat} on {dof} dof, p = {p}");
    }

    /// Kolmogorov–Smirnov distance below the 0.1 % critical value 1.95/√n.
    fn kolmogorov_smirnov(name: &str, mut draws: Vec<f64>, cdf: impl Fn(f64) -> f64) {
        draws.sort_by(f64::total_cmp);
        let n = draws.len() as f64;
        let d = draws
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = cdf(x);
                (c - i as f64 / n).max((i + 1) as f64 / n - c)
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / n.sqrt(), "{name}: KS distance {d}");
    }

    /// The f64 ziggurat: moments of N(0, 1) within 5 standard errors on
    /// 2·10⁶ draws, the fractions beyond 1, 2, 3 and 3.9 (the tail
    /// algorithm) against erfc, and KS on 2·10⁵ draws.
    #[test]
    fn ziggurat_variates_are_standard_normal() {
        let z = Ziggurat::new();
        let mut r = rng(500);
        let n = 2_000_000;
        let v: Vec<f64> = (0..n).map(|_| z.sample(&mut r)).collect();
        super::super::assert_standard_normal_moments(&v);
        let law = statrs::distribution::Normal::new(0.0, 1.0).unwrap();
        kolmogorov_smirnov("ziggurat", v[..200_000].to_vec(), |x| law.cdf(x));
    }

    #[test]
    fn stirling_tail_matches_exact_factorials() {
        let mut ln_fact = 0.0f64;
        for k in 0..200u32 {
            if k > 0 {
                ln_fact += (k as f64).ln();
            }
            let got = ln_factorial(k as f64);
            assert!(
                (got - ln_fact).abs() <= 1e-13 * ln_fact.max(1.0),
                "ln {k}! = {ln_fact}, got {got}"
            );
        }
        // Large counts through the ratio form: ln((x+1)!/x!) = ln(x + 1).
        for x in [1e6, 1e12, 1e15] {
            let r = ln_factorial_ratio(x + 1.0, x);
            assert!((r - (x + 1.0).ln()).abs() < 1e-9, "{x}: {r}");
        }
    }

    /// Poisson law (inversion below 15, PTRS from 15): χ² of 2·10⁵ draws,
    /// mean and variance λ, on both sides of the switch and far above it.
    #[test]
    fn poisson_inversion_and_ptrs_follow_the_poisson_law() {
        for (i, lambda) in [0.05, 1.0, 4.5, 9.99, 12.0, 14.99, 15.0, 15.3, 40.0, 1234.5]
            .into_iter()
            .enumerate()
        {
            let mut r = rng(100 + i as u64);
            let draws: Vec<f64> = (0..200_000).map(|_| poisson(&mut r, lambda)).collect();
            let law = statrs::distribution::Poisson::new(lambda).unwrap();
            chi_square(
                &format!("Poisson({lambda})"),
                &draws,
                |k| law.pmf(k),
                lambda,
                lambda,
            );
        }
    }

    /// Pearson's χ² of a Poisson(λ) sampler whose values below `floor`
    /// (or at and above `ceiling`) may be left undrawn: those values are
    /// pooled into one bin, each other count is its own bin (pooled until
    /// each expects ≥ 20).
    fn chi_square_pooled(name: &str, draws: &[Option<f64>], lambda: f64, floor: u64, ceiling: u64) {
        let law = statrs::distribution::Poisson::new(lambda).unwrap();
        let n = draws.len() as f64;
        let top = ceiling.min(floor + 400);
        // Bins: [0, floor) pooled, then floor..top one by one, then [top, ∞) pooled.
        let mut counts = vec![0.0; (top - floor) as usize + 2];
        for d in draws {
            let bin = match d {
                None => {
                    if ceiling < u64::MAX {
                        counts.len() - 1
                    } else {
                        0
                    }
                }
                Some(k) if (*k as u64) < floor => 0,
                Some(k) if (*k as u64) >= top => counts.len() - 1,
                Some(k) => (*k as u64 - floor) as usize + 1,
            };
            counts[bin] += 1.0;
        }
        let below: f64 = (0..floor).map(|k| law.pmf(k)).sum();
        let mut probs = vec![below];
        probs.extend((floor..top).map(|k| law.pmf(k)));
        let sum: f64 = probs.iter().sum();
        probs.push((1.0 - sum).max(0.0));
        let (stat, dof) = pooled_chi_square(counts.iter().zip(&probs).map(|(&c, p)| (c, n * p)));
        let p = 1.0 - ChiSquared::new(dof.max(1.0)).unwrap().cdf(stat);
        assert!(p > 1e-4, "{name}: chi2 {stat} on {dof} dof, p = {p}");
    }

    /// The floor (values below it may stay undrawn) and the floor's
    /// inversion: χ² of 2·10⁵ draws, with the undrawn values pooled with the
    /// drawn ones below the floor, over means across the grid (at cell
    /// edges, between them, near its limit) and floors of 1, 5, 29 and 200.
    #[test]
    fn poisson_floor_follows_the_poisson_law() {
        for (i, n) in [1u64, 5, 29, 200].into_iter().enumerate() {
            let f = PoissonFloor::new(n);
            let limit = f.limit();
            for (j, frac) in [0.0, 0.13, 0.5, 0.777, 0.9999].into_iter().enumerate() {
                let lambda = limit * frac;
                let mut r = rng(700 + 10 * i as u64 + j as u64);
                let draws: Vec<Option<f64>> =
                    (0..200_000).map(|_| f.sample(&mut r, lambda)).collect();
                if lambda == 0.0 {
                    assert!(draws.iter().all(|d| d.is_none() || *d == Some(0.0)));
                    continue;
                }
                chi_square_pooled(
                    &format!("floor {n}, Poisson({lambda})"),
                    &draws,
                    lambda,
                    n,
                    u64::MAX,
                );
            }
        }
    }

    /// The ceiling (values at or above it may stay undrawn): χ² of 2·10⁵
    /// draws with the undrawn values pooled with the drawn ones at or
    /// above the ceiling, for means well below, near and far above
    /// ceilings of 1, 10, 54 and 300 (beyond the grid too).
    #[test]
    fn poisson_ceiling_follows_the_poisson_law() {
        for (i, n) in [1u64, 10, 54, 300].into_iter().enumerate() {
            let c = PoissonCeiling::new(n);
            for (j, lambda) in [
                0.05 * n as f64,
                0.7 * n as f64,
                n as f64,
                1.3 * n as f64 + 3.0,
                4.0 * n as f64 + 50.0,
            ]
            .into_iter()
            .enumerate()
            {
                let mut r = rng(800 + 10 * i as u64 + j as u64);
                let draws: Vec<Option<f64>> =
                    (0..200_000).map(|_| c.sample(&mut r, lambda)).collect();
                chi_square_pooled(
                    &format!("ceiling {n}, Poisson({lambda})"),
                    &draws,
                    lambda,
                    0,
                    n,
                );
            }
        }
    }

    /// The cell sampler of the Beta law: the cells' frequencies against
    /// the masses of the regularised incomplete beta function (χ², cells
    /// pooled to ≥ 20 expected), the within-cell draws by KS on the whole
    /// variate (10⁵ draws), for shapes 1, near 1, near 2 and the presets'.
    #[test]
    fn beta_cells_follow_the_beta_law() {
        for (i, (a, b)) in [
            (1.0, 1.0),
            (1.0, 3.0),
            (1.3, 1.05),
            (2.0, 8.1),
            (7.48, 17.45),
            (8.1, 2.0),
            (30.0, 3.0),
        ]
        .into_iter()
        .enumerate()
        {
            let t = BetaCells::new(a, b).unwrap();
            let mut r = rng(900 + i as u64);
            let n = 200_000;
            let mut cells = vec![0.0; BETA_CELLS];
            let mut draws = Vec::with_capacity(100_000);
            for k in 0..n {
                let j = t.cell(r.next_u64());
                cells[j] += 1.0;
                if k < 100_000 {
                    let x = t.within(j, &mut r);
                    assert!((j as f64 / BETA_CELLS as f64..=t.upper_end(j)).contains(&x));
                    draws.push(x);
                }
            }
            let cdf = |x: f64| statrs::function::beta::beta_reg(a, b, x.clamp(0.0, 1.0));
            let (stat, dof) = pooled_chi_square(cells.iter().enumerate().map(|(j, &c)| {
                let lo = j as f64 / BETA_CELLS as f64;
                (c, n as f64 * (cdf(t.upper_end(j)) - cdf(lo)))
            }));
            let p = 1.0 - ChiSquared::new(dof).unwrap().cdf(stat);
            assert!(
                p > 1e-4,
                "Beta({a}, {b}) cells: chi2 {stat} on {dof} dof, p = {p}"
            );
            kolmogorov_smirnov(&format!("cell Beta({a}, {b})"), draws, cdf);
        }
    }

    /// The table Poisson (alias table of ⌊λ⌋ plus Poisson(δ)), in both row
    /// layouts: χ² of 2·10⁵ draws on both sides of integers, at 0 and near
    /// the tables' ends.
    #[test]
    fn poisson_table_follows_the_poisson_law() {
        // Rows of 256 counts from 0 (means to 64), and rows of 2ᵇ columns
        // from their first count (means to 300).
        for (limit, fixed, means) in [
            (
                64,
                true,
                &[0.0, 0.3, 0.999, 1.0, 2.5, 14.0, 27.61, 45.99, 63.7][..],
            ),
            (300, false, &[0.6, 33.3, 150.25, 299.9][..]),
        ] {
            let table = PoissonTable::new(limit);
            assert_eq!(table.fixed(), fixed);
            for (i, &lambda) in means.iter().enumerate() {
                let mut r = rng(600 + limit + i as u64);
                let draws: Vec<f64> = (0..200_000).map(|_| table.sample(&mut r, lambda)).collect();
                if lambda == 0.0 {
                    assert!(draws.iter().all(|&x| x == 0.0));
                    continue;
                }
                let law = statrs::distribution::Poisson::new(lambda).unwrap();
                chi_square(
                    &format!("table Poisson({lambda})"),
                    &draws,
                    |k| law.pmf(k),
                    lambda,
                    lambda,
                );
            }
        }
    }

    /// Binomial law (inversion for n·min(p, 1−p) < 30, BTRS otherwise,
    /// p > ½ by symmetry): χ² of 2·10⁵ draws, mean n·p, variance n·p·q.
    #[test]
    fn binomial_inversion_and_btrs_follow_the_binomial_law() {
        for (i, (n, p)) in [
            (1u64, 0.3),
            (20, 0.1),
            (40, 0.249),
            (40, 0.25),
            (40, 0.76),
            (100, 0.299),
            (100, 0.3),
            (100, 0.5),
            (57, 0.9),
            (1000, 0.3),
            (1_000_000, 0.00002),
            (1_000_000, 0.2),
            (100_000_000, 0.001),
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = rng(200 + i as u64);
            let draws: Vec<f64> = (0..200_000)
                .map(|_| binomial(&mut r, n as f64, p))
                .collect();
            assert!(draws.iter().all(|&k| k <= n as f64));
            let law = statrs::distribution::Binomial::new(p, n).unwrap();
            let nf = n as f64;
            chi_square(
                &format!("Binomial({n}, {p})"),
                &draws,
                |k| law.pmf(k),
                nf * p,
                nf * p * (1.0 - p),
            );
        }
    }

    /// Gamma law (Marsaglia–Tsang; boosted below shape 1): KS on 10⁵ draws.
    #[test]
    fn marsaglia_tsang_gamma_follows_the_gamma_law() {
        for (i, shape) in [0.3, 0.999, 1.0, 2.5, 7.48, 40.0].into_iter().enumerate() {
            let g = Gamma::new(shape);
            let mut r = rng(300 + i as u64);
            let draws: Vec<f64> = (0..100_000).map(|_| g.sample(&mut r)).collect();
            let law = statrs::distribution::Gamma::new(shape, 1.0).unwrap();
            kolmogorov_smirnov(&format!("Gamma({shape})"), draws, |x| law.cdf(x));
        }
    }

    /// Beta law as a ratio of gammas, shapes below and above 1 (the
    /// immunocapture recovery is Beta(7.48, 17.45)): KS on 10⁵ draws, and
    /// the mean α/(α+β) within 5 standard errors.
    #[test]
    fn gamma_ratio_beta_follows_the_beta_law() {
        for (i, (a, b)) in [
            (0.5, 0.5),
            (0.3, 2.0),
            (2.0, 0.7),
            (7.48, 17.45),
            (30.0, 3.0),
        ]
        .into_iter()
        .enumerate()
        {
            let beta = Beta::new(a, b);
            let mut r = rng(400 + i as u64);
            let draws: Vec<f64> = (0..100_000).map(|_| beta.sample(&mut r)).collect();
            assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
            let n = draws.len() as f64;
            let mean = a / (a + b);
            let var = a * b / ((a + b).powi(2) * (a + b + 1.0));
            let m = draws.iter().sum::<f64>() / n;
            assert!(
                (m - mean).abs() < 5.0 * (var / n).sqrt(),
                "Beta({a}, {b}): mean {m}"
            );
            let law = statrs::distribution::Beta::new(a, b).unwrap();
            kolmogorov_smirnov(&format!("Beta({a}, {b})"), draws, |x| law.cdf(x));
        }
    }
}
