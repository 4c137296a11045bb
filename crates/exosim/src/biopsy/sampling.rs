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
//! - Poisson: inversion by sequential search for λ < 15, PTRS (Hörmann
//!   1993, "The transformed rejection method for generating Poisson random
//!   variables", Insurance: Math. Econ. 12:39–45) for λ ≥ 15 (NumPy: 10);
//! - binomial: inversion for n·min(p, 1−p) < 30, BTRS (Hörmann 1993, "The
//!   generation of binomial random variates", J. Stat. Comput. Simul.
//!   46:101–110) otherwise;
//! - gamma: Marsaglia & Tsang (2000, ACM TOMS 26:363–372), with
//!   G(α) = G(α+1)·U^{1/α} for α < 1;
//! - Beta(α, β) = G_α/(G_α + G_β).
//!
//! Every variate depends only on the words drawn from the caller's
//! generator, so keyed streams keep results reproducible.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

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
