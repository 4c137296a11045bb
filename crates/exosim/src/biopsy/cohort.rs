//! The screening cohort's kernel: [`ScreeningModel::screen_individual`]'s
//! model for the common case, with fewer and cheaper draws of the same
//! laws, run on lanes of individuals.
//!
//! Why: a screened individual cost ~0.75 µs, most of it in samplers and
//! exponentials whose results the decision barely uses. The kernel serves
//! every model with first-order elimination, exponential or Gompertz
//! growth (no branching start, no tissue burden, no body-engine pools),
//! counted vesicles, a non-negative assay offset and one replicate (or no
//! reading noise); other models take the general path. Each identity
//! below gives the same law of every outcome (detections, their times and
//! sizes, false positives, tests), so only the draws change, not the
//! model:
//!
//! 1. **One count.** The isolated marker Poisson(C·V·r) and the seen
//!    non-vesicle particles Poisson(ν) enter the reading only through their
//!    sum, and a sum of independent Poisson variates is Poisson(C·V·r + ν):
//!    one draw. Given that total T, its parts are multinomial: each of the
//!    T particles is independently a background vesicle with probability
//!    C_b·V·r/(C·V·r + ν), a tumour vesicle with probability
//!    (C − C_b)·V·r/(C·V·r + ν), a non-vesicle otherwise. The count the
//!    same test would give without the tumour's share (the isolated
//!    background vesicles plus the same non-vesicles) is therefore
//!    Binomial(T, (C_b·V·r + ν)/(C·V·r + ν)), drawn only for positive tests
//!    (the general path thins the isolated count with the same result in
//!    law). Conversely, tests with a large mean are drawn as their two
//!    independent parts, the tumour's T_t ~ Poisson((C − C_b)·V·r) and the
//!    rest T_b ~ Poisson(C_b·V·r + ν), T = T_t + T_b, T_b being the count
//!    without the tumour (no thinning); then the test is negative with
//!    probability 1 − E q(T), a false positive with E q(T_b), a detection
//!    otherwise (q of identity 2; tested against these sums).
//! 2. **The reading noise as a probability.** With one replicate the
//!    estimate is ((g·T + o)·ε − o)/(g·V·r̄) with ε log-normal of mean 1,
//!    so for a count T the test is positive exactly when ε exceeds a level
//!    x/(g·T + o), with probability q(T) = P(ε > x/(g·T + o)) =
//!    ½ erfc(z/√2), z = (ln(x/(g·T + o)) − μ)/σ. The kernel tabulates q
//!    over the counts where it is neither 0 nor 1 and draws the test as
//!    U < q(T), U uniform: the same Bernoulli law without a normal and an
//!    exponential. The test without the tumour (same ε) is positive when
//!    U < q(T_b): ε ↦ U is monotone, so both events come from the same
//!    noise, as in the general path. U is drawn only when q(T) or q(T_b) is
//!    strictly between 0 and 1 (conditioned on a positive test, U is
//!    uniform below q(T)). Probabilities below 2⁻⁵³ are taken as 0 and
//!    above 1 − 2⁻⁵³ as 1, the resolution of a uniform of 53 bits.
//! 3. **Counts that need no value.** Below the decision's first possibly
//!    positive count n (q = 0 below n) a count's value is not needed, nor
//!    above the count from which every test is positive: [`PoissonFloor`]
//!    and [`PoissonCeiling`] prove most counts below or above with one
//!    uniform and a table look-up (the count being the inversion of that
//!    uniform whenever its value is needed after all). The recovery's cell
//!    ([`BetaCells`]) suffices for the proofs: the cell's ends bound the
//!    recovery, hence the means, and the bounds are monotone in the mean.
//!    A test is proven negative when its total count is below n at the
//!    largest mean the cell allows; it is proven a detection when, drawn in
//!    two parts, the tumour's count is at or above the ceiling at the
//!    smallest tumour mean (positive whatever the rest) and the
//!    background's below n at the largest background mean (not positive
//!    without the tumour). Two tests in three end there, with four words
//!    and no recovery drawn. Moderate means take [`PoissonTable`]: the
//!    tumour's below `split_from`, the mean from which the ceiling leaves
//!    at most 2 % of counts open, and then always the background's after
//!    it; below the ceiling the background's count is likewise drawn by
//!    the table, not by inverting its uniform U₃. U₃ entered no decision in
//!    either case (the detection proof needs the tumour's count proven at
//!    or above the ceiling, which implies a tumour mean of at least
//!    `split_from` and U₂ at or above the ceiling's bound at the actual
//!    mean), so it is a fresh uniform there, left unused.
//! 4. **The recovery** is drawn by [`BetaCells`] (shapes ≥ 1, as every
//!    preset), an exact table sampler, instead of a ratio of two gamma
//!    variates.
//! 5. **The blood level.** Between yearly tests the blood forgets its
//!    past (e^{−k·h} underflows for a half-life of minutes and steps of
//!    days), and the level is the quasi-steady B/k + S₁/(γ + k)
//!    ([`MarkerKinetics::advance`]'s own closed form), with S₁ = s·N(t)
//!    and γ the last step's growth rate. For Gompertz growth,
//!    ln N(t) = ln K + ln(N₀/K)·e^{−rt}: e^{−rt} at the tests follows by
//!    multiplying by e^{−r·interval}, and γ = (ln N(t) − ln N(t − h))/h =
//!    −ln(N₀/K)·e^{−rt}·expm1(r·h)/h exactly (with no cancellation);
//!    s·N(t) = exp(ln s + ln N(t)). The individual's log-normal factors
//!    enter as logarithms: k = k₀·e^{ℓ_k}, B/k = (B₀/k₀)·e^{ℓ_B − ℓ_k}, so
//!    two exponentials per individual and one per test remain. Steps that
//!    do not forget (a first test within days of initiation, a very slow
//!    elimination) take the general integrator.
//! 6. **The diameter at detection** comes from ln N: d = exp((ln N +
//!    ln(6/(π ρ)))/3), and its log-binned histogram takes ln d directly.
//!
//! **Lanes.** Individuals run [`LANES`] at a time, one test per round
//! for every lane, a lane taking the next individual of the range as soon
//! as its own is done. Individuals are set up eight at a time (stream,
//! factors, phase, first step), and each round computes every lane's
//! blood level and draws its test's first four words (the recovery's cell
//! and three uniforms) before the proofs of identity 3, then the tests the
//! proofs leave open. Where the processor has AVX-512 (F and DQ), the
//! set-up, the blood level, the proofs, the open tests, the lanes' refill
//! and the diameters at detection run as vector instructions on the eight
//! lanes; elsewhere the same stages run lane by lane. Both do the same IEEE
//! operations in the same order (no fused multiply–add; the rare cases,
//! such as a normal's second candidate, an exponential beyond ±700, a
//! recovery candidate the squeeze does not accept, a test within the
//! floor's range, a count that needs an inversion or PTRS, lane by lane in
//! both), so their results are identical bit for bit (tested). The open
//! tests' stage computes each word where the lane's stream would give it
//! (a SplitMix64 word depends only on the state, k words on being
//! `word_x8(s + k·γ)`), so the tumour's and the background's table
//! look-ups and the decision's uniform do not wait for one another; each
//! lane's state then moves past the words its test took.
//!
//! Every random number still comes from the individual's own stream
//! ([`cohort_stream`], kept as the lane's word of state), so results do
//! not depend on lanes, chunks or threads.
//!
//! [`MarkerKinetics::advance`]: super::kinetics::MarkerKinetics::advance

use std::ops::Range;

use rand::Rng;

use super::growth::{GrowthLaw, LnCells};
use super::kinetics::{FORGETFUL_KH, ceil_steps};
use super::measurement::Sampling;
use super::screening::{DOMAIN_SCREENING, Individual, ScreeningModel};
#[cfg(target_arch = "x86_64")]
use crate::fast_exp::exp_core_x8;
use crate::fast_exp::{LIMIT, exp, exp_core};
use crate::random::counts::{poisson, thin};
use crate::random::samplers::{
    BETA_CELLS, Beta, BetaCells, POISSON_FLOOR_MAX, PoissonCeiling, PoissonFloor, PoissonTable,
    Ziggurat, poisson_inversion_of,
};
use crate::random::{CohortStream, cohort_key, cohort_start};
#[cfg(target_arch = "x86_64")]
use crate::random::{GOLDEN, cohort_start_x8, next_of_x8, word_x8};

/// Individuals screened side by side.
pub const LANES: usize = 8;

/// Counts of the decision table at most (beyond: computed on the fly).
const DECISION_TABLE_MAX: usize = 4096;

/// The share of tests at the smallest mean drawn by the ceiling whose
/// count the ceiling leaves open (an inversion of up to the ceiling's
/// count, lane by lane): below that mean, the table draws the tumour.
const CEILING_OPEN: f64 = 0.02;

/// Means of the table at least (background counts above the floor's
/// range; PTRS beyond).
const TABLE_MEANS: f64 = 128.0;

/// 2⁻⁵³: the resolution of a uniform variate.
const EPS53: f64 = 1.0 / (1u64 << 53) as f64;

/// The recovery's law.
#[derive(Debug, Clone)]
enum Recovery {
    /// A fixed recovery (CV 0).
    Fixed(f64),
    /// Beta with shapes ≥ 1: the cell sampler.
    Cells(Box<BetaCells>),
    /// Beta with a shape below 1: the ratio of gammas.
    Gamma(Beta),
}

/// The probability q(T) that a test of total count T is positive, over
/// the reading noise (identity 2 of the module).
#[derive(Debug, Clone)]
struct Decision {
    gain: f64,
    offset: f64,
    calibration: f64,
    lod: f64,
    threshold: f64,
    /// (μ, σ) of ln ε; `None` without reading noise.
    noise: Option<(f64, f64)>,
    /// The level x of the signal g·T + o for a positive test (noise case).
    level: f64,
    /// Counts below are negative whatever the noise (q = 0).
    lo: f64,
    /// Counts from here are positive whatever the noise (q = 1).
    hi: f64,
    /// q(lo + i).
    table: Box<[f64]>,
}

impl Decision {
    fn new(model: &ScreeningModel, volume: f64) -> Decision {
        let p = &model.protocol;
        let a = &p.assay;
        let cv = a.cv;
        let noise = (cv > 0.0).then(|| {
            let s2 = (1.0 + cv * cv).ln();
            (-0.5 * s2, s2.sqrt())
        });
        // As TestSampler: 1/(g·V·r̄).
        let calibration = 1.0 / (a.gain * volume * p.isolation.recovery_mean);
        let mut d = Decision {
            gain: a.gain,
            offset: a.offset,
            calibration,
            lod: a.lod,
            threshold: model.threshold,
            noise,
            level: (a.lod / calibration + a.offset).max(model.threshold / calibration + a.offset),
            lo: 0.0,
            hi: 0.0,
            table: Box::new([]),
        };
        // q is non-decreasing in T (up to rounding): bisect for the first
        // count with q > 0 and the first with q = 1, with a margin of two.
        let first = |pred: &dyn Fn(f64) -> bool| -> f64 {
            let top = (1u64 << 53) as f64;
            if !pred(top) {
                return f64::INFINITY;
            }
            let (mut lo, mut hi) = (0.0f64, top);
            if pred(lo) {
                return 0.0;
            }
            while hi - lo > 1.0 {
                let mid = (0.5 * (lo + hi)).floor();
                if pred(mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            hi
        };
        let lo = first(&|n| d.exact(n) > 0.0);
        let hi = first(&|n| d.exact(n) >= 1.0);
        d.lo = (lo - 2.0).max(0.0);
        d.hi = hi + 2.0;
        if d.lo.is_finite() {
            let len = if d.hi.is_finite() {
                ((d.hi - d.lo) as usize).min(DECISION_TABLE_MAX)
            } else {
                DECISION_TABLE_MAX
            };
            d.table = (0..len).map(|i| d.exact(d.lo + i as f64)).collect();
        }
        d
    }

    /// q(n) computed directly.
    fn exact(&self, n: f64) -> f64 {
        let signal = self.gain * n + self.offset;
        let positive = |signal: f64| {
            // TestSampler::read and Measurement::positive.
            let estimate = (signal - self.offset) * self.calibration;
            estimate >= self.lod && estimate > self.threshold
        };
        match self.noise {
            None => f64::from(u8::from(positive(signal))),
            Some(_) if signal <= 0.0 => f64::from(u8::from(positive(0.0))),
            Some((mu, sigma)) => {
                if self.level <= 0.0 {
                    return 1.0;
                }
                let z = ((self.level / signal).ln() - mu) / sigma;
                let q = 0.5 * statrs::function::erf::erfc(z * std::f64::consts::FRAC_1_SQRT_2);
                if q < EPS53 {
                    0.0
                } else if q > 1.0 - EPS53 {
                    1.0
                } else {
                    q
                }
            }
        }
    }

    /// q(n) for a count n ≥ 0.
    #[inline]
    fn q(&self, n: f64) -> f64 {
        if n < self.lo {
            0.0
        } else if n >= self.hi {
            1.0
        } else {
            match self.table.get((n - self.lo) as usize) {
                Some(&q) => q,
                None => self.exact(n),
            }
        }
    }
}

/// The growth law as the lanes step it: ln N(t) = a + b·e^{−rt} + c·t and
/// the last step's growth rate γ = b·e^{−rt}·g_h + d, with g_h =
/// −expm1(r·h)/h for a step of length h.
#[derive(Debug, Clone, Copy)]
enum Law {
    /// Exponential (a = ln N₀, b = 0, c = d = r) or Gompertz (a = ln K,
    /// b = ln(N₀/K), c = d = 0).
    Closed {
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        rate: f64,
    },
    /// Logistic: ln N from [`LnCells`], lane by lane.
    Other,
}

/// What screening one individual gives, before the aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct KernelOutcome {
    /// Tests taken.
    pub tests: u32,
    /// False positives.
    pub false_positives: u32,
    /// (time, ln N, diameter, ln diameter) of the detection.
    pub detection: Option<(f64, f64, f64, f64)>,
}

/// A test's result.
enum Test {
    Negative,
    FalsePositive,
    Detection,
}

/// The lanes' individuals, one array per quantity.
#[derive(Debug, Clone)]
struct Lanes {
    /// The lanes holding an individual (a bit per lane).
    live: u8,
    rng: [u64; LANES],
    k: [f64; LANES],
    bk: [f64; LANES],
    ln_s: [f64; LANES],
    phase: [f64; LANES],
    /// The test's index.
    j: [f64; LANES],
    /// e^{−r·t} at the last test (Gompertz), multiplied by `decay_step` first.
    decay: [f64; LANES],
    decay_step: [f64; LANES],
    /// The last integrator step's length before the next test, and g_h.
    h: [f64; LANES],
    gfac: [f64; LANES],
    /// Time since the last test (or initiation).
    span: [f64; LANES],
    t_prev: [f64; LANES],
    m: [f64; LANES],
    tests: [u32; LANES],
    fps: [u32; LANES],
}

impl Lanes {
    fn empty() -> Lanes {
        Lanes {
            live: 0,
            rng: [0; LANES],
            k: [1.0; LANES],
            bk: [0.0; LANES],
            ln_s: [0.0; LANES],
            phase: [0.0; LANES],
            j: [0.0; LANES],
            decay: [0.0; LANES],
            decay_step: [1.0; LANES],
            h: [1.0; LANES],
            gfac: [0.0; LANES],
            span: [0.0; LANES],
            t_prev: [0.0; LANES],
            m: [0.0; LANES],
            tests: [0; LANES],
            fps: [0; LANES],
        }
    }
}

/// Individuals set up ahead of the lanes (eight at a time).
#[derive(Debug, Clone, Default)]
struct Pending {
    len: usize,
    pos: usize,
    rng: [u64; LANES],
    k: [f64; LANES],
    bk: [f64; LANES],
    ln_s: [f64; LANES],
    phase: [f64; LANES],
    decay: [f64; LANES],
    h: [f64; LANES],
    gfac: [f64; LANES],
}

/// [`exp`] on eight lanes with AVX-512 (the C library for the rare
/// arguments beyond ±700, lane by lane).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp_x8(x: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let inside = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), _mm512_set1_pd(LIMIT));
    let clamped = _mm512_mask_blend_pd(inside, _mm512_set1_pd(0.0), x);
    // SAFETY: AVX-512F is enabled here.
    let y = unsafe { exp_core_x8(clamped) };
    if inside == 0xff {
        return y;
    }
    // SAFETY: as above.
    unsafe { by_lane_outside(inside, x, y, f64::exp) }
}

/// [`expm1`] on eight lanes with AVX-512 (the same series; the C library
/// beyond it, lane by lane).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn expm1_x8(x: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let inside = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), _mm512_set1_pd(1.0 / 64.0));
    let mut term = x;
    let mut sum = x;
    for n in 2..=9 {
        term = _mm512_mul_pd(term, _mm512_mul_pd(x, _mm512_set1_pd(1.0 / n as f64)));
        sum = _mm512_add_pd(sum, term);
    }
    if inside == 0xff {
        return sum;
    }
    // SAFETY: AVX-512F is enabled here.
    unsafe { by_lane_outside(inside, x, sum, f64::exp_m1) }
}

/// `y` with the lanes outside `inside` replaced by `f` of `x`'s, lane by
/// lane: the C library for the vector functions' rare arguments.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn by_lane_outside(
    inside: u8,
    x: std::arch::x86_64::__m512d,
    y: std::arch::x86_64::__m512d,
    f: fn(f64) -> f64,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let (mut xs, mut ys) = ([0.0; LANES], [0.0; LANES]);
    // SAFETY: the arrays hold eight f64 each.
    unsafe {
        _mm512_storeu_pd(xs.as_mut_ptr(), x);
        _mm512_storeu_pd(ys.as_mut_ptr(), y);
    }
    for l in bits(!inside) {
        ys[l] = f(xs[l]);
    }
    unsafe { _mm512_loadu_pd(ys.as_ptr()) }
}

/// What a round's vector stages give each lane.
#[derive(Debug, Clone, Default)]
struct Round {
    /// The test's time, ln N then, and the blood amount.
    at: [f64; LANES],
    ln_n: [f64; LANES],
    m_new: [f64; LANES],
    /// Lanes whose amount the closed form gave (a bit per lane).
    closed: u8,
    /// The recovery's cell and the test's three uniforms.
    cell: [u64; LANES],
    u: [f64; LANES],
    u2: [f64; LANES],
    u3: [f64; LANES],
    /// The isolated marker's mean count per unit recovery (C·V) and the
    /// background's share of the concentration (from the proofs' stage).
    lambda: [f64; LANES],
    share: [f64; LANES],
    /// Lanes whose test is proven negative, and proven a detection.
    negative: u8,
    detected: u8,
}

/// The lanes of a mask, lowest first.
#[inline(always)]
fn bits(mut mask: u8) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let l = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            l
        })
    })
}

/// The width of the recovery's cells.
const CELL_WIDTH: f64 = 1.0 / BETA_CELLS as f64;

/// Arguments of the closed form's exponential (beyond: the general step).
const EXP_RANGE: f64 = LIMIT - 1.0;

/// Whether the processor has the AVX-512 subsets the vector stages use.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
}

/// A [`ScreeningModel`] prepared for the kernel (see the module).
#[derive(Debug, Clone)]
pub(crate) struct CohortKernel {
    /// (μ, σ) of the logarithms of the background, shedding and elimination factors.
    factors: [Option<(f64, f64)>; 3],
    /// k₀.
    elimination: f64,
    /// B₀/k₀.
    background_amount: f64,
    /// ln s₀ (−∞ without shedding).
    ln_source: f64,
    law: Law,
    ln_cells: LnCells,
    interval: f64,
    duration: f64,
    max_step: f64,
    /// Exponential growth: one integrator step per interval.
    one_step: bool,
    /// The length of the integrator steps of a whole interval.
    interval_h: f64,
    /// Gompertz: e^{−r·interval} and g_h for the interval's steps.
    interval_decay: f64,
    interval_gamma: f64,
    /// 1/plasma volume (concentrations by a product).
    inv_plasma_volume: f64,
    /// Analysed plasma volume.
    volume: f64,
    recovery: Recovery,
    /// Seen non-vesicle particles per test (mean).
    seen: f64,
    decision: Decision,
    floor: Option<PoissonFloor>,
    ceiling: Option<PoissonCeiling>,
    /// Tumour means from which a test is drawn with the ceiling (see `split_test`).
    split_from: f64,
    table: Option<PoissonTable>,
    /// The decision's table padded to 32 values (`q_x8` for short tables).
    q32: [f64; 32],
    /// Whether `open_x8` serves the open tests: the floor, the ceiling and
    /// the table exist, the table reaches `split_from`, the decision's table
    /// covers every count between 0 < q < 1, and the recovery is fixed or
    /// drawn by cells.
    vector_open: bool,
    /// ln(6/(π ρ)).
    ln_diameter_factor: f64,
    normal: Ziggurat,
}

impl CohortKernel {
    /// The kernel of `model`, or `None` when the model needs the general path.
    pub(crate) fn new(model: &ScreeningModel) -> Option<CohortKernel> {
        let p = &model.protocol;
        let a = &p.assay;
        if model.deterministic
            || model.tumour.branching.is_some()
            || model.tumour.burden.is_some()
            || model.blood_modes.is_some()
            || p.sampling != Sampling::Counts
            || a.offset.is_nan()
            || a.offset < 0.0
            || (a.cv > 0.0 && a.replicates != 1)
        {
            return None;
        }
        let v = &model.variability;
        let factor = |cv: f64| {
            (cv > 0.0).then(|| {
                let s2 = (1.0 + cv * cv).ln();
                (-0.5 * s2, s2.sqrt())
            })
        };
        let nominal = model.nominal_individual();
        let n0 = model.tumour.initial_cells;
        let law = match model.tumour.growth {
            GrowthLaw::Exponential { rate } => Law::Closed {
                a: n0.ln(),
                b: 0.0,
                c: rate,
                d: rate,
                rate: 0.0,
            },
            GrowthLaw::Gompertz { rate, capacity } => Law::Closed {
                a: capacity.ln(),
                b: (n0 / capacity).ln(),
                c: 0.0,
                d: 0.0,
                rate,
            },
            GrowthLaw::Logistic { .. } => Law::Other,
        };
        let one_step = matches!(model.tumour.growth, GrowthLaw::Exponential { .. });
        let interval_steps = if one_step {
            1
        } else {
            ceil_steps(model.interval / model.max_step)
        };
        let interval_h = model.interval / interval_steps as f64;
        let (interval_decay, interval_gamma) = match law {
            Law::Closed { rate, .. } if rate > 0.0 => (
                (-rate * model.interval).exp(),
                -expm1(rate * interval_h) / interval_h,
            ),
            _ => (1.0, 0.0),
        };
        let volume = p.analysed_volume();
        let recovery = match p.isolation.beta_parameters() {
            None => Recovery::Fixed(p.isolation.recovery_mean),
            Some((alpha, beta)) => match BetaCells::new(alpha, beta) {
                Some(t) => Recovery::Cells(Box::new(t)),
                None => Recovery::Gamma(Beta::new(alpha, beta)),
            },
        };
        let decision = Decision::new(model, volume);
        let floor = (decision.lo >= 1.0 && decision.lo <= POISSON_FLOOR_MAX as f64)
            .then(|| PoissonFloor::new(decision.lo as u64));
        let ceiling = (floor.is_some() && decision.hi <= POISSON_FLOOR_MAX as f64)
            .then(|| PoissonCeiling::new(decision.hi as u64));
        // Where the ceiling proves nearly every count (CEILING_OPEN fail,
        // and search); the table draws the smaller means.
        let split_from = ceiling
            .as_ref()
            .map_or(f64::INFINITY, |c| c.mean_from(CEILING_OPEN));
        // The tumour's means below `split_from` and the background's above
        // the floor's range (PTRS beyond: rare).
        let table_limit = if split_from.is_finite() {
            (split_from.ceil() + 16.0).max(TABLE_MEANS)
        } else {
            TABLE_MEANS
        }
        .min(POISSON_FLOOR_MAX as f64) as u64;
        let table = Some(PoissonTable::new(table_limit));
        let q32 = std::array::from_fn(|i| decision.table.get(i).copied().unwrap_or(0.0));
        let vector_open = floor.is_some()
            && ceiling.is_some()
            && table.as_ref().is_some_and(|t| t.limit() >= split_from)
            && decision.hi.is_finite()
            && decision.table.len() as f64 >= decision.hi - decision.lo
            && matches!(recovery, Recovery::Fixed(_) | Recovery::Cells(_));
        Some(CohortKernel {
            factors: [v.background_cv, v.shedding_cv, v.elimination_cv].map(factor),
            elimination: nominal.elimination_rate,
            background_amount: nominal.background / nominal.elimination_rate,
            ln_source: nominal.source_per_cell.ln(),
            law,
            ln_cells: model.tumour.growth.ln_cells_from(n0),
            interval: model.interval,
            duration: model.duration,
            max_step: model.max_step,
            one_step,
            interval_h,
            interval_decay,
            interval_gamma,
            inv_plasma_volume: 1.0 / model.blood.plasma_volume,
            volume,
            recovery,
            seen: p.lipoprotein_concentration
                * volume
                * p.isolation.nonvesicle_carry_over
                * a.nonvesicle_weight,
            decision,
            floor,
            ceiling,
            split_from,
            table,
            q32,
            vector_open,
            ln_diameter_factor: (6.0 / (std::f64::consts::PI * model.tumour.cells_per_m3)).ln(),
            normal: Ziggurat::new(),
        })
    }

    /// Screens individuals `range` of the cohort `seed` (as
    /// [`ScreeningModel::screen_individual`]), handing each outcome to
    /// `sink` (in no particular order). Runs the AVX-512 copy of the lanes'
    /// vector stages where the processor has it: the same results.
    pub(crate) fn run<F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            // SAFETY: the features were detected on this processor.
            return unsafe { self.run_avx512(model, seed, range, sink) };
        }
        self.run_plain(model, seed, range, sink)
    }

    /// The lanes with AVX-512 vector stages.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    unsafe fn run_avx512<F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        self.run_lanes::<true, F>(model, seed, range, sink)
    }

    /// The lanes with plain stages, lane by lane.
    pub(crate) fn run_plain<F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        self.run_lanes::<false, F>(model, seed, range, sink)
    }

    #[inline(always)]
    fn run_lanes<const VECTOR: bool, F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        let mut lanes = Lanes::empty();
        let mut next = range.start;
        let mut round = Round::default();
        let mut pending = Pending::default();
        let key = cohort_key(seed, DOMAIN_SCREENING);
        loop {
            // Lanes past the screening's end leave; empty lanes take the next individuals.
            #[cfg(target_arch = "x86_64")]
            if VECTOR && self.interval <= self.duration {
                // SAFETY: VECTOR is set only under run_avx512.
                unsafe {
                    self.refill_x8(&mut lanes, &mut pending, key, &mut next, range.end, sink)
                };
            } else {
                self.refill(&mut lanes, &mut pending, key, &mut next, range.end, sink);
            }
            #[cfg(not(target_arch = "x86_64"))]
            self.refill(&mut lanes, &mut pending, key, &mut next, range.end, sink);
            let live = lanes.live;
            if live == 0 {
                return;
            }
            #[cfg(target_arch = "x86_64")]
            if VECTOR && matches!(self.law, Law::Closed { .. }) {
                // SAFETY: VECTOR is set only under run_avx512.
                unsafe { self.blood_x8(&mut lanes, &mut round) };
            } else {
                for l in 0..LANES {
                    self.blood_lane(&mut lanes, l, &mut round);
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            for l in 0..LANES {
                self.blood_lane(&mut lanes, l, &mut round);
            }
            for l in bits(live & !round.closed) {
                round.m_new[l] = self.general_step(model, &lanes, l, round.at[l]);
            }
            #[cfg(target_arch = "x86_64")]
            if VECTOR {
                // SAFETY: VECTOR is set only under run_avx512.
                unsafe { self.prove_x8(&mut lanes, &mut round) };
            } else {
                for l in 0..LANES {
                    self.prove_lane(&mut lanes, l, &mut round);
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            for l in 0..LANES {
                self.prove_lane(&mut lanes, l, &mut round);
            }
            // Every live lane took its test; the next one is an interval away.
            for l in 0..LANES {
                lanes.t_prev[l] = round.at[l];
                lanes.m[l] = round.m_new[l];
                lanes.tests[l] += u32::from(live >> l & 1);
                lanes.j[l] += 1.0;
                lanes.h[l] = self.interval_h;
                lanes.gfac[l] = self.interval_gamma;
                lanes.decay_step[l] = self.interval_decay;
                lanes.span[l] = self.interval;
            }
            // The tests the proofs left open, and the detections they proved.
            let open = live & !round.negative & !round.detected;
            #[cfg(target_arch = "x86_64")]
            let (false_positive, detected) = if VECTOR && self.vector_open {
                // SAFETY: VECTOR is set only under run_avx512.
                unsafe { self.open_x8(&mut lanes, &round, open) }
            } else {
                self.open_lanes(&mut lanes, &round, open)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let (false_positive, detected) = self.open_lanes(&mut lanes, &round, open);
            for l in 0..LANES {
                lanes.fps[l] += u32::from(false_positive >> l & 1);
            }
            // The diameters at detection (identity 6).
            let detections = live & (round.detected | detected);
            let (mut ln_d, mut d) = ([0.0; LANES], [0.0; LANES]);
            #[cfg(target_arch = "x86_64")]
            if VECTOR {
                // SAFETY: VECTOR is set only under run_avx512.
                unsafe { self.diameters_x8(&round, &mut ln_d, &mut d) };
            } else {
                for l in bits(detections) {
                    ln_d[l] = (round.ln_n[l] + self.ln_diameter_factor) / 3.0;
                    d[l] = exp(ln_d[l]);
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            for l in bits(detections) {
                ln_d[l] = (round.ln_n[l] + self.ln_diameter_factor) / 3.0;
                d[l] = exp(ln_d[l]);
            }
            for l in bits(detections) {
                sink(KernelOutcome {
                    tests: lanes.tests[l],
                    false_positives: lanes.fps[l],
                    detection: Some((round.at[l], round.ln_n[l], d[l], ln_d[l])),
                });
                lanes.live &= !(1 << l);
            }
        }
    }

    /// ln d and d of every lane's tumour at its test with AVX-512 (the
    /// operations of the plain copy).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn diameters_x8(&self, round: &Round, ln_d: &mut [f64; LANES], d: &mut [f64; LANES]) {
        use std::arch::x86_64::*;
        // SAFETY: the arrays hold eight values; AVX-512F is enabled here.
        unsafe {
            let x = _mm512_div_pd(
                _mm512_add_pd(
                    _mm512_loadu_pd(round.ln_n.as_ptr()),
                    _mm512_set1_pd(self.ln_diameter_factor),
                ),
                _mm512_set1_pd(3.0),
            );
            _mm512_storeu_pd(ln_d.as_mut_ptr(), x);
            _mm512_storeu_pd(d.as_mut_ptr(), exp_x8(x));
        }
    }

    /// The open tests of lanes `open`, lane by lane: the lanes whose test
    /// is a false positive, and those whose test is a detection.
    #[inline(always)]
    fn open_lanes(&self, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        let (mut false_positive, mut detected) = (0u8, 0u8);
        for l in bits(open) {
            let mut rng = CohortStream::from_state(lanes.rng[l]);
            let test = self.open_test(l, round, &mut rng);
            lanes.rng[l] = rng.state();
            match test {
                Test::Negative => {}
                Test::FalsePositive => false_positive |= 1 << l,
                Test::Detection => detected |= 1 << l,
            }
        }
        (false_positive, detected)
    }

    /// Lanes past the screening's end hand their outcome to `sink` and
    /// leave; empty lanes take the next individuals of `next..end` (set up
    /// eight at a time), in the order of the lanes.
    #[inline(always)]
    fn refill<F: FnMut(KernelOutcome)>(
        &self,
        lanes: &mut Lanes,
        pending: &mut Pending,
        key: u64,
        next: &mut u64,
        end: u64,
        sink: &mut F,
    ) {
        let mut over = 0u8;
        for l in 0..LANES {
            over |= u8::from(lanes.phase[l] + lanes.j[l] * self.interval > self.duration) << l;
        }
        for l in bits(!lanes.live | (lanes.live & over)) {
            loop {
                if lanes.live & (1 << l) != 0 {
                    if lanes.phase[l] + lanes.j[l] * self.interval <= self.duration {
                        break;
                    }
                    sink(KernelOutcome {
                        tests: lanes.tests[l],
                        false_positives: lanes.fps[l],
                        detection: None,
                    });
                    lanes.live &= !(1 << l);
                }
                if pending.pos == pending.len {
                    if *next >= end {
                        break;
                    }
                    let count = (end - *next).min(LANES as u64) as usize;
                    self.setup_plain(key, *next, count, pending);
                    *next += count as u64;
                }
                self.start(lanes, l, pending);
            }
        }
    }

    /// [`refill`](Self::refill) with AVX-512, for a screening at least an
    /// interval long (so a new individual's first test, within an interval,
    /// is never past the end): the lanes past the end leave in the order of
    /// the lanes, then the empty lanes take the next individuals in that
    /// order, expanded from the set-up ones (the same lanes and values).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn refill_x8<F: FnMut(KernelOutcome)>(
        &self,
        lanes: &mut Lanes,
        pending: &mut Pending,
        key: u64,
        next: &mut u64,
        end: u64,
        sink: &mut F,
    ) {
        use std::arch::x86_64::*;
        let load = |x: &[f64; LANES]| unsafe { _mm512_loadu_pd(x.as_ptr()) };
        let at = _mm512_add_pd(
            load(&lanes.phase),
            _mm512_mul_pd(load(&lanes.j), _mm512_set1_pd(self.interval)),
        );
        let over = lanes.live & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(at, _mm512_set1_pd(self.duration));
        for l in bits(over) {
            sink(KernelOutcome {
                tests: lanes.tests[l],
                false_positives: lanes.fps[l],
                detection: None,
            });
        }
        lanes.live &= !over;
        let mut need = !lanes.live;
        while need != 0 {
            if pending.pos == pending.len {
                if *next >= end {
                    break;
                }
                let count = (end - *next).min(LANES as u64) as usize;
                // SAFETY: AVX-512F and DQ are enabled here.
                unsafe { self.setup_x8(key, *next, count, pending) };
                *next += count as u64;
            }
            // The lowest lanes of `need`, as many as are set up.
            let mut take = need;
            while take.count_ones() as usize > pending.len - pending.pos {
                take &= !(0x80 >> take.leading_zeros());
            }
            let p = pending.pos;
            // SAFETY: slots p.. of `pending` hold at least take.count_ones() individuals.
            unsafe {
                let expand = |to: &mut [f64; LANES], from: &[f64; LANES]| {
                    let v = _mm512_mask_expandloadu_pd(
                        _mm512_loadu_pd(to.as_ptr()),
                        take,
                        from.as_ptr().add(p),
                    );
                    _mm512_storeu_pd(to.as_mut_ptr(), v);
                };
                let set = |to: &mut [f64; LANES], v: f64| {
                    let v =
                        _mm512_mask_mov_pd(_mm512_loadu_pd(to.as_ptr()), take, _mm512_set1_pd(v));
                    _mm512_storeu_pd(to.as_mut_ptr(), v);
                };
                let rng = _mm512_mask_expandloadu_epi64(
                    _mm512_loadu_si512(lanes.rng.as_ptr().cast()),
                    take,
                    pending.rng.as_ptr().add(p).cast(),
                );
                _mm512_storeu_si512(lanes.rng.as_mut_ptr().cast(), rng);
                expand(&mut lanes.k, &pending.k);
                expand(&mut lanes.bk, &pending.bk);
                expand(&mut lanes.ln_s, &pending.ln_s);
                expand(&mut lanes.phase, &pending.phase);
                expand(&mut lanes.decay, &pending.decay);
                expand(&mut lanes.h, &pending.h);
                expand(&mut lanes.gfac, &pending.gfac);
                expand(&mut lanes.span, &pending.phase);
                expand(&mut lanes.m, &pending.bk);
                set(&mut lanes.j, 0.0);
                set(&mut lanes.decay_step, 1.0);
                set(&mut lanes.t_prev, 0.0);
            }
            for l in bits(take) {
                lanes.tests[l] = 0;
                lanes.fps[l] = 0;
            }
            pending.pos += take.count_ones() as usize;
            lanes.live |= take;
            need &= !take;
        }
    }

    /// Sets up individual `first + p` in slot `p` of `pending` for
    /// `p < count`: its factors, its phase, and the first test's step.
    fn setup_plain(&self, key: u64, first: u64, count: usize, pending: &mut Pending) {
        for p in 0..count {
            let mut rng = CohortStream::from_state(cohort_start(key, first + p as u64));
            // The log-normal factors as logarithms, in the order background,
            // shedding, elimination.
            let mut ln_f = [0.0; 3];
            for (x, f) in ln_f.iter_mut().zip(&self.factors) {
                if let Some((mu, sigma)) = f {
                    *x = mu + sigma * self.normal.sample(&mut rng);
                }
            }
            let phase = uniform(&mut rng) * self.interval;
            pending.rng[p] = rng.state();
            pending.k[p] = self.elimination * exp(ln_f[2]);
            pending.bk[p] = self.background_amount * exp(ln_f[0] - ln_f[2]);
            pending.ln_s[p] = self.ln_source + ln_f[1];
            pending.phase[p] = phase;
            let steps = if self.one_step {
                1
            } else {
                ceil_steps(phase / self.max_step)
            };
            let h = phase / steps as f64;
            pending.h[p] = h;
            (pending.decay[p], pending.gfac[p]) = match self.law {
                Law::Closed { rate, .. } if rate > 0.0 => {
                    (exp(-rate * phase), -expm1(rate * h) / h)
                }
                _ => (1.0, 0.0),
            };
        }
        pending.len = count;
        pending.pos = 0;
    }

    /// [`setup_plain`](Self::setup_plain) for eight individuals with
    /// AVX-512: the same words and operations (the normal's rare second
    /// candidates and the exponentials' rare large arguments lane by lane).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn setup_x8(&self, key: u64, first: u64, count: usize, pending: &mut Pending) {
        use std::arch::x86_64::*;
        let set = |v: f64| _mm512_set1_pd(v);
        let entity = _mm512_add_epi64(
            _mm512_set1_epi64(first as i64),
            _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
        );
        // SAFETY: AVX-512F and DQ are enabled here.
        let mut state = unsafe { cohort_start_x8(key, entity) };
        let (accept, width) = self.normal.tables();
        let mut ln_f = [set(0.0); 3];
        for (x, f) in ln_f.iter_mut().zip(&self.factors) {
            let Some((mu, sigma)) = f else { continue };
            // SAFETY: as above.
            let w = unsafe { next_of_x8(&mut state) };
            let layer = _mm512_and_si512(w, _mm512_set1_epi64(0xff));
            let u = _mm512_add_epi64(
                _mm512_slli_epi64::<1>(_mm512_srli_epi64::<11>(w)),
                _mm512_set1_epi64(1 - (1i64 << 53)),
            );
            // SAFETY: layer < 256, the tables' length.
            let (limit, scale) = unsafe {
                (
                    _mm512_i64gather_epi64::<8>(layer, accept.as_ptr().cast()),
                    _mm512_i64gather_pd::<8>(layer, width.as_ptr()),
                )
            };
            let inside = _mm512_cmplt_epu64_mask(_mm512_abs_epi64(u), limit);
            let mut z = [0.0; LANES];
            unsafe {
                _mm512_storeu_pd(z.as_mut_ptr(), _mm512_mul_pd(_mm512_cvtepi64_pd(u), scale))
            };
            if inside & ((1u16 << count) - 1) as u8 != ((1u16 << count) - 1) as u8 {
                let mut words = [0u64; LANES];
                let mut states = [0u64; LANES];
                unsafe {
                    _mm512_storeu_si512(words.as_mut_ptr().cast(), w);
                    _mm512_storeu_si512(states.as_mut_ptr().cast(), state);
                }
                for p in 0..count {
                    if inside & (1 << p) == 0 {
                        let mut rng = CohortStream::from_state(states[p]);
                        z[p] = self.normal.finish(words[p], &mut rng);
                        states[p] = rng.state();
                    }
                }
                state = unsafe { _mm512_loadu_si512(states.as_ptr().cast()) };
            }
            let z = unsafe { _mm512_loadu_pd(z.as_ptr()) };
            *x = _mm512_add_pd(set(*mu), _mm512_mul_pd(set(*sigma), z));
        }
        // SAFETY: as above.
        let w = unsafe { next_of_x8(&mut state) };
        let phase = _mm512_mul_pd(
            _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w)), set(EPS53)),
            set(self.interval),
        );
        // SAFETY: as above.
        let k = _mm512_mul_pd(set(self.elimination), unsafe { exp_x8(ln_f[2]) });
        let bk = _mm512_mul_pd(set(self.background_amount), unsafe {
            exp_x8(_mm512_sub_pd(ln_f[0], ln_f[2]))
        });
        let ln_s = _mm512_add_pd(set(self.ln_source), ln_f[1]);
        let h = if self.one_step {
            phase
        } else {
            // ceil_steps(phase / max_step), then phase / steps.
            let x = _mm512_div_pd(phase, set(self.max_step));
            let s = _mm512_cvttpd_epu64(x);
            let up = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_cvtepu64_pd(s), x)
                & _mm512_cmpneq_epu64_mask(s, _mm512_set1_epi64(-1));
            let s = _mm512_mask_add_epi64(s, up, s, _mm512_set1_epi64(1));
            let s = _mm512_max_epu64(s, _mm512_set1_epi64(1));
            _mm512_div_pd(phase, _mm512_cvtepu64_pd(s))
        };
        let (decay, gfac) = match self.law {
            Law::Closed { rate, .. } if rate > 0.0 => {
                // SAFETY: as above.
                let decay = unsafe { exp_x8(_mm512_mul_pd(set(-rate), phase)) };
                // −expm1(r·h)/h, the negation as a sign flip (as in `setup_plain`).
                let gfac = _mm512_div_pd(
                    _mm512_xor_pd(unsafe { expm1_x8(_mm512_mul_pd(set(rate), h)) }, set(-0.0)),
                    h,
                );
                (decay, gfac)
            }
            _ => (set(1.0), set(0.0)),
        };
        unsafe {
            _mm512_storeu_si512(pending.rng.as_mut_ptr().cast(), state);
            _mm512_storeu_pd(pending.k.as_mut_ptr(), k);
            _mm512_storeu_pd(pending.bk.as_mut_ptr(), bk);
            _mm512_storeu_pd(pending.ln_s.as_mut_ptr(), ln_s);
            _mm512_storeu_pd(pending.phase.as_mut_ptr(), phase);
            _mm512_storeu_pd(pending.h.as_mut_ptr(), h);
            _mm512_storeu_pd(pending.decay.as_mut_ptr(), decay);
            _mm512_storeu_pd(pending.gfac.as_mut_ptr(), gfac);
        }
        pending.len = count;
        pending.pos = 0;
    }

    /// Puts the next pending individual in lane `l`.
    #[inline(always)]
    fn start(&self, lanes: &mut Lanes, l: usize, pending: &mut Pending) {
        let p = pending.pos;
        pending.pos += 1;
        lanes.live |= 1 << l;
        lanes.rng[l] = pending.rng[p];
        lanes.k[l] = pending.k[p];
        lanes.bk[l] = pending.bk[p];
        lanes.ln_s[l] = pending.ln_s[p];
        lanes.phase[l] = pending.phase[p];
        lanes.j[l] = 0.0;
        lanes.decay[l] = pending.decay[p];
        lanes.decay_step[l] = 1.0;
        lanes.h[l] = pending.h[p];
        lanes.gfac[l] = pending.gfac[p];
        lanes.span[l] = pending.phase[p];
        lanes.t_prev[l] = 0.0;
        lanes.m[l] = pending.bk[p];
        lanes.tests[l] = 0;
        lanes.fps[l] = 0;
    }

    /// Lane `l`'s next test: its time, ln N then, and the blood amount by
    /// the closed form, with whether the form holds (`closed`; identity 5).
    #[inline(always)]
    fn blood_lane(&self, lanes: &mut Lanes, l: usize, round: &mut Round) {
        let at = lanes.phase[l] + lanes.j[l] * self.interval;
        let (ln_n, gamma) = match self.law {
            Law::Closed { a, b, c, d, .. } => {
                lanes.decay[l] *= lanes.decay_step[l];
                let decay = lanes.decay[l];
                (a + b * decay + c * at, b * decay * lanes.gfac[l] + d)
            }
            Law::Other => {
                let h = lanes.h[l];
                let ln_n = self.ln_cells.at(at);
                (ln_n, (ln_n - self.ln_cells.at(at - h)) / h)
            }
        };
        let x = lanes.ln_s[l] + ln_n;
        // max then min (not clamp): a NaN becomes −EXP_RANGE, as with the
        // vector max and min of `blood_x8` (the lane is not closed anyway).
        #[allow(clippy::manual_clamp)]
        let s1 = exp_core(x.max(-EXP_RANGE).min(EXP_RANGE));
        let kg = gamma + lanes.k[l];
        let h = lanes.h[l];
        let closed = lanes.span[l] > 0.0
            && lanes.k[l] * h > FORGETFUL_KH
            && x.abs() < EXP_RANGE
            && kg * h >= 1.0;
        round.closed = (round.closed & !(1 << l)) | (u8::from(closed) << l);
        round.m_new[l] = lanes.bk[l] + s1 / kg;
        round.at[l] = at;
        round.ln_n[l] = ln_n;
    }

    /// [`blood_lane`](Self::blood_lane) on all lanes with AVX-512, for the
    /// closed-form laws: the same operations in the same order.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn blood_x8(&self, lanes: &mut Lanes, round: &mut Round) {
        use std::arch::x86_64::*;
        let Law::Closed { a, b, c, d, .. } = self.law else {
            unreachable!("closed-form law")
        };
        let load = |x: &[f64; LANES]| unsafe { _mm512_loadu_pd(x.as_ptr()) };
        let set = |v: f64| _mm512_set1_pd(v);
        let at = _mm512_add_pd(
            load(&lanes.phase),
            _mm512_mul_pd(load(&lanes.j), set(self.interval)),
        );
        let decay = _mm512_mul_pd(load(&lanes.decay), load(&lanes.decay_step));
        let bd = _mm512_mul_pd(set(b), decay);
        let ln_n = _mm512_add_pd(_mm512_add_pd(set(a), bd), _mm512_mul_pd(set(c), at));
        let gamma = _mm512_add_pd(_mm512_mul_pd(bd, load(&lanes.gfac)), set(d));
        let x = _mm512_add_pd(load(&lanes.ln_s), ln_n);
        let clamped = _mm512_min_pd(_mm512_max_pd(x, set(-EXP_RANGE)), set(EXP_RANGE));
        // SAFETY: AVX-512F is enabled here.
        let s1 = unsafe { exp_core_x8(clamped) };
        let k = load(&lanes.k);
        let h = load(&lanes.h);
        let kg = _mm512_add_pd(gamma, k);
        let closed = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(load(&lanes.span), set(0.0))
            & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(_mm512_mul_pd(k, h), set(FORGETFUL_KH))
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), set(EXP_RANGE))
            & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_mul_pd(kg, h), set(1.0));
        let m_new = _mm512_add_pd(load(&lanes.bk), _mm512_div_pd(s1, kg));
        unsafe {
            _mm512_storeu_pd(lanes.decay.as_mut_ptr(), decay);
            _mm512_storeu_pd(round.m_new.as_mut_ptr(), m_new);
            _mm512_storeu_pd(round.at.as_mut_ptr(), at);
            _mm512_storeu_pd(round.ln_n.as_mut_ptr(), ln_n);
        }
        round.closed = closed;
    }

    /// The general integrator from the last test to `at` for lane `l`
    /// (see `MarkerKinetics::advance`): steps that do not forget their
    /// start.
    #[cold]
    #[inline(never)]
    fn general_step(&self, model: &ScreeningModel, lanes: &Lanes, l: usize, at: f64) -> f64 {
        let k = lanes.k[l];
        let individual = Individual {
            background: lanes.bk[l] * k,
            source_per_cell: lanes.ln_s[l].exp(),
            elimination_rate: k,
        };
        model
            .kinetics(&individual)
            .advance(lanes.m[l], lanes.t_prev[l], at, self.max_step)
    }

    /// Lane `l`'s test begins with four words: the recovery's cell and the
    /// uniforms U (the total count's inversion), U₂ (the tumour's count)
    /// and U₃ (the background's), drawn whatever the test needs. Then the
    /// proofs of identity 3 from the cell's ends [lo, top] alone: the test
    /// is negative when U is below the floor's bound at the largest mean
    /// the cell allows (and that mean is in the floor's range, so the
    /// count is the floor's inversion of U whatever the recovery); it is a
    /// detection when the test is certainly drawn in two parts with the
    /// ceiling for the tumour's count (the smallest means the cell allows
    /// are past the floor's range and past `split_from`), U₂ is at or above
    /// the ceiling's bound at the smallest tumour mean (T_t ≥ the ceiling:
    /// positive), and U₃ below the floor's bound at the largest background
    /// mean (T_b below the floor: not positive without the tumour).
    #[inline(always)]
    fn prove_lane(&self, lanes: &mut Lanes, l: usize, round: &mut Round) {
        let w1 = CohortStream::next_of(&mut lanes.rng[l]);
        let w2 = CohortStream::next_of(&mut lanes.rng[l]);
        let w3 = CohortStream::next_of(&mut lanes.rng[l]);
        let w4 = CohortStream::next_of(&mut lanes.rng[l]);
        let (cell, lo, top) = match &self.recovery {
            Recovery::Cells(b) => {
                let j = b.cell(w1);
                (j, j as f64 * CELL_WIDTH, (j + 1) as f64 * CELL_WIDTH)
            }
            Recovery::Fixed(r) => (0, *r, *r),
            Recovery::Gamma(_) => (0, 0.0, 1.0),
        };
        let u = (w2 >> 11) as f64 * EPS53;
        let u2 = (w3 >> 11) as f64 * EPS53;
        let u3 = (w4 >> 11) as f64 * EPS53;
        round.cell[l] = cell as u64;
        round.u[l] = u;
        round.u2[l] = u2;
        round.u3[l] = u3;
        let c = round.m_new[l] * self.inv_plasma_volume;
        let lambda = c.max(0.0) * self.volume;
        let background = lanes.bk[l] * self.inv_plasma_volume;
        let share = if c > 0.0 {
            (background / c).min(1.0)
        } else {
            1.0
        };
        round.lambda[l] = lambda;
        round.share[l] = share;
        let mean_hi = lambda * top + self.seen;
        let bit = 1u8 << l;
        round.negative &= !bit;
        round.detected &= !bit;
        if let Some(f) = &self.floor {
            if mean_hi < f.limit() && u < f.bound(mean_hi) {
                round.negative |= bit;
            } else if let Some(ceiling) = &self.ceiling {
                let tumour_lo = lambda * lo * (1.0 - share);
                let background_hi = lambda * top * share + self.seen;
                if lambda * lo + self.seen >= f.limit()
                    && tumour_lo >= self.split_from
                    && u2 >= ceiling.bound(tumour_lo)
                    && background_hi < f.limit()
                    && u3 < f.bound(background_hi)
                {
                    round.detected |= bit;
                }
            }
        }
    }

    /// [`prove_lane`](Self::prove_lane) on all lanes with AVX-512: the same
    /// words and the same operations in the same order.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn prove_x8(&self, lanes: &mut Lanes, round: &mut Round) {
        use std::arch::x86_64::*;
        let set = |v: f64| _mm512_set1_pd(v);
        let mut state = unsafe { _mm512_loadu_si512(lanes.rng.as_ptr().cast()) };
        // SAFETY: AVX-512F and DQ are enabled here.
        let (w1, w2, w3, w4) = unsafe {
            (
                next_of_x8(&mut state),
                next_of_x8(&mut state),
                next_of_x8(&mut state),
                next_of_x8(&mut state),
            )
        };
        unsafe { _mm512_storeu_si512(lanes.rng.as_mut_ptr().cast(), state) };
        let (cell, lo, top) = match &self.recovery {
            Recovery::Cells(b) => {
                let table = b.alias_table();
                let j = _mm512_srli_epi64::<54>(w1);
                let coin = _mm512_and_si512(
                    _mm512_srli_epi64::<1>(w1),
                    _mm512_set1_epi64(((1u64 << 53) - 1) as i64),
                );
                // SAFETY: j < 1024, the table's length.
                let entry = unsafe { _mm512_i64gather_epi64::<8>(j, table.as_ptr().cast()) };
                let kept = _mm512_cmplt_epu64_mask(coin, _mm512_srli_epi64::<10>(entry));
                let other = _mm512_and_si512(entry, _mm512_set1_epi64(0x3ff));
                let cell = _mm512_mask_blend_epi64(kept, other, j);
                let lo = _mm512_mul_pd(_mm512_cvtepu64_pd(cell), set(CELL_WIDTH));
                let top = _mm512_mul_pd(
                    _mm512_cvtepu64_pd(_mm512_add_epi64(cell, _mm512_set1_epi64(1))),
                    set(CELL_WIDTH),
                );
                (cell, lo, top)
            }
            Recovery::Fixed(r) => (_mm512_setzero_si512(), set(*r), set(*r)),
            Recovery::Gamma(_) => (_mm512_setzero_si512(), set(0.0), set(1.0)),
        };
        let uniform =
            |w: __m512i| _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w)), set(EPS53));
        let (u, u2, u3) = (uniform(w2), uniform(w3), uniform(w4));
        unsafe {
            _mm512_storeu_si512(round.cell.as_mut_ptr().cast(), cell);
            _mm512_storeu_pd(round.u.as_mut_ptr(), u);
            _mm512_storeu_pd(round.u2.as_mut_ptr(), u2);
            _mm512_storeu_pd(round.u3.as_mut_ptr(), u3);
        }
        let c = _mm512_mul_pd(
            unsafe { _mm512_loadu_pd(round.m_new.as_ptr()) },
            set(self.inv_plasma_volume),
        );
        let lambda = _mm512_mul_pd(_mm512_max_pd(c, set(0.0)), set(self.volume));
        let background = _mm512_mul_pd(
            unsafe { _mm512_loadu_pd(lanes.bk.as_ptr()) },
            set(self.inv_plasma_volume),
        );
        let share = _mm512_mask_blend_pd(
            _mm512_cmp_pd_mask::<_CMP_GT_OQ>(c, set(0.0)),
            set(1.0),
            _mm512_min_pd(_mm512_div_pd(background, c), set(1.0)),
        );
        unsafe {
            _mm512_storeu_pd(round.lambda.as_mut_ptr(), lambda);
            _mm512_storeu_pd(round.share.as_mut_ptr(), share);
        }
        let seen = set(self.seen);
        let mean_hi = _mm512_add_pd(_mm512_mul_pd(lambda, top), seen);
        let mut negative: __mmask8 = 0;
        let mut detected: __mmask8 = 0;
        if let Some(f) = &self.floor {
            let limit = set(f.limit());
            let floor_bound = |x: __m512d| {
                let i = _mm512_min_epu64(
                    _mm512_cvttpd_epu64(_mm512_mul_pd(x, set(f.inv_spacing()))),
                    _mm512_set1_epi64(f.bounds().len() as i64 - 1),
                );
                // SAFETY: i is below the table's length.
                unsafe { _mm512_i64gather_pd::<8>(i, f.bounds().as_ptr()) }
            };
            negative = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean_hi, limit)
                & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u, floor_bound(mean_hi));
            if let Some(ceiling) = &self.ceiling {
                let tumour_lo =
                    _mm512_mul_pd(_mm512_mul_pd(lambda, lo), _mm512_sub_pd(set(1.0), share));
                let background_hi =
                    _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(lambda, top), share), seen);
                let i = _mm512_min_epu64(
                    _mm512_cvttpd_epu64(_mm512_mul_pd(tumour_lo, set(ceiling.inv_spacing()))),
                    _mm512_set1_epi64(ceiling.bounds().len() as i64 - 1),
                );
                // SAFETY: i is below the table's length.
                let ceiling_bound =
                    unsafe { _mm512_i64gather_pd::<8>(i, ceiling.bounds().as_ptr()) };
                detected = !negative
                    & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(
                        _mm512_add_pd(_mm512_mul_pd(lambda, lo), seen),
                        limit,
                    )
                    & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(tumour_lo, set(self.split_from))
                    & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(u2, ceiling_bound)
                    & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(background_hi, limit)
                    & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u3, floor_bound(background_hi));
            }
        }
        round.negative = negative;
        round.detected = detected;
    }

    /// [`open_lanes`](Self::open_lanes) with AVX-512 (when `vector_open`):
    /// the same words and operations per lane. Every word of a stream is a
    /// function of the stream's state, so the stage computes the words at
    /// the places each lane's test may take them, all lanes at once and
    /// without waiting for one another's table look-ups: the recovery's
    /// first candidate, the tumour's count by the table (means below
    /// `split_from`) or the ceiling's bound, the background's count by the
    /// table or the floor's bound, and the decision's uniform against
    /// q(T_t + T_b) and q(T_b); each lane's state then moves past the words
    /// its test took. The rare cases (a candidate the squeeze does not
    /// accept, a test within the floor's range, a count that needs an
    /// inversion or PTRS, a fraction's search past 4) take `open_with` lane
    /// by lane from the state after the recovery's words.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn open_x8(&self, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        use std::arch::x86_64::*;
        let (Some(floor), Some(ceiling), Some(table)) = (&self.floor, &self.ceiling, &self.table)
        else {
            unreachable!("vector_open needs the floor, the ceiling and the table")
        };
        if open == 0 {
            return (0, 0);
        }
        let set = |v: f64| _mm512_set1_pd(v);
        let load = |x: &[f64; LANES]| unsafe { _mm512_loadu_pd(x.as_ptr()) };
        let uniform =
            |w: __m512i| _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w)), set(EPS53));
        let golden = |n: i64| _mm512_set1_epi64(n.wrapping_mul(GOLDEN as i64));
        // SAFETY (the words): AVX-512F and DQ are enabled here.
        let word = |state: __m512i, n: i64| unsafe { word_x8(_mm512_add_epi64(state, golden(n))) };
        let start = unsafe { _mm512_loadu_si512(lanes.rng.as_ptr().cast()) };
        // The recovery: the first candidate, if the squeeze accepts it.
        let (after, r, x, v, rejected) = match &self.recovery {
            Recovery::Fixed(r) => (start, set(*r), set(*r), set(0.0), 0),
            Recovery::Cells(b) => {
                let cell = unsafe { _mm512_loadu_si512(round.cell.as_ptr().cast()) };
                let x = _mm512_mul_pd(
                    _mm512_add_pd(_mm512_cvtepu64_pd(cell), uniform(word(start, 1))),
                    set(CELL_WIDTH),
                );
                let v = uniform(word(start, 2));
                // SAFETY: the cells are below the table's length.
                let squeeze = unsafe {
                    _mm512_mask_i64gather_pd::<8>(set(0.0), open, cell, b.squeezes().as_ptr())
                };
                let rejected = open & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(v, squeeze);
                (_mm512_add_epi64(start, golden(2)), x, x, v, rejected)
            }
            Recovery::Gamma(_) => unreachable!("vector_open needs cells or a fixed recovery"),
        };
        let isolated = _mm512_mul_pd(load(&round.lambda), r);
        let mean = _mm512_add_pd(isolated, set(self.seen));
        let share = load(&round.share);
        let mean_t = _mm512_mul_pd(isolated, _mm512_sub_pd(set(1.0), share));
        let mean_b = _mm512_add_pd(_mm512_mul_pd(isolated, share), set(self.seen));
        // Within the floor's range, or NaN: lane by lane.
        let mut by_lane = rejected
            | (open
                & (_mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean, set(floor.limit()))
                    | _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(mean_t, mean_b)));
        let split = open & !by_lane;
        // The tumour's count (`split_test`): the table below `split_from`
        // (two words), the ceiling's bound from there (u₂, no word).
        let by_ceiling = split & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(mean_t, set(self.split_from));
        let by_table = split & !by_ceiling;
        // SAFETY: the table's means are in its range on the lanes of the mask.
        let (tumour, tumour_far) =
            unsafe { self.table_x8(table, by_table, mean_t, word(after, 1), word(after, 2)) };
        let i = _mm512_min_epu64(
            _mm512_cvttpd_epu64(_mm512_mul_pd(mean_t, set(ceiling.inv_spacing()))),
            _mm512_set1_epi64(ceiling.bounds().len() as i64 - 1),
        );
        // SAFETY: i is below the table's length.
        let bound = unsafe {
            _mm512_mask_i64gather_pd::<8>(set(0.0), by_ceiling, i, ceiling.bounds().as_ptr())
        };
        let over = by_ceiling & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(load(&round.u2), bound);
        // The background's count: the floor's bound (u₃) over the ceiling
        // within the floor's range, else the table after the tumour's words.
        let by_floor = over & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean_b, set(floor.limit()));
        let i = _mm512_min_epu64(
            _mm512_cvttpd_epu64(_mm512_mul_pd(mean_b, set(floor.inv_spacing()))),
            _mm512_set1_epi64(floor.bounds().len() as i64 - 1),
        );
        // SAFETY: i is below the table's length.
        let bound = unsafe {
            _mm512_mask_i64gather_pd::<8>(set(0.0), by_floor, i, floor.bounds().as_ptr())
        };
        let below_floor = by_floor & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(load(&round.u3), bound);
        let b_tabled = split
            & !by_floor
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean_b, set(table.limit()))
            & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(mean_b, set(0.0));
        let b_start = _mm512_mask_add_epi64(after, by_table, after, golden(2));
        // SAFETY: as above.
        let (b, b_far) =
            unsafe { self.table_x8(table, b_tabled, mean_b, word(b_start, 1), word(b_start, 2)) };
        // Lane by lane: the tumour's count below the ceiling's bound
        // (inversion), the background's above the floor's (inversion) or
        // beyond the table (PTRS), a fraction's search past 4.
        by_lane |= (by_ceiling & !over)
            | (by_floor & !below_floor)
            | (split & !by_floor & !b_tabled)
            | tumour_far
            | b_far;
        let vector = open & !by_lane;
        // The decision (`positive`, `classify`): q of the total (1 over the
        // ceiling) and of the background's count (0 below the floor), one
        // uniform where either is strictly between 0 and 1.
        // SAFETY: AVX-512F and DQ are enabled here.
        let q_total = _mm512_mask_blend_pd(
            over,
            unsafe { self.q_x8(vector & !over, _mm512_add_pd(tumour, b)) },
            set(1.0),
        );
        let q_b = unsafe { self.q_x8(vector & !below_floor, b) };
        let (zero, one) = (set(0.0), set(1.0));
        let certain = vector & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(q_total, one);
        let uncertain = vector
            & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(q_total, zero)
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(q_total, one);
        let b_positive = _mm512_cmp_pd_mask::<_CMP_NEQ_OQ>(q_b, zero);
        let b_certain = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(q_b, q_total);
        let drawn = uncertain | (certain & b_positive & !b_certain);
        let d_start = _mm512_mask_add_epi64(b_start, b_tabled, b_start, golden(2));
        let u = uniform(word(d_start, 1));
        let positive = certain | (uncertain & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u, q_total));
        let fp = positive & b_positive & (b_certain | _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u, q_b));
        let (mut false_positive, mut detected) = (fp, positive & !fp);
        // Each lane's state past its words: the vector lanes' and the others'
        // after the recovery.
        let end = _mm512_mask_add_epi64(d_start, drawn, d_start, golden(1));
        let end =
            _mm512_mask_blend_epi64(vector, _mm512_mask_blend_epi64(by_lane, start, after), end);
        unsafe { _mm512_storeu_si512(lanes.rng.as_mut_ptr().cast(), end) };
        if by_lane != 0 {
            let (mut xs, mut vs) = ([0.0; LANES], [0.0; LANES]);
            unsafe {
                _mm512_storeu_pd(xs.as_mut_ptr(), x);
                _mm512_storeu_pd(vs.as_mut_ptr(), v);
            }
            for l in bits(by_lane) {
                let mut rng = CohortStream::from_state(lanes.rng[l]);
                let r = match &self.recovery {
                    Recovery::Cells(b) if rejected & (1 << l) != 0 => {
                        b.within_after(round.cell[l] as usize, xs[l], vs[l], &mut rng)
                    }
                    _ => xs[l],
                };
                match self.open_with(l, round, r, &mut rng) {
                    Test::Negative => {}
                    Test::FalsePositive => false_positive |= 1 << l,
                    Test::Detection => detected |= 1 << l,
                }
                lanes.rng[l] = rng.state();
            }
        }
        (false_positive, detected)
    }

    /// [`PoissonTable::sample`] on the lanes of `mask` with AVX-512 (0 ≤ λ
    /// < the table's limit there), from its two words: the same operations.
    /// Also the lanes whose fraction searches past 4 (their value is not
    /// given).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn table_x8(
        &self,
        table: &PoissonTable,
        mask: u8,
        lambda: std::arch::x86_64::__m512d,
        w: std::arch::x86_64::__m512i,
        w_fraction: std::arch::x86_64::__m512i,
    ) -> (std::arch::x86_64::__m512d, u8) {
        use std::arch::x86_64::*;
        let set = |v: f64| _mm512_set1_pd(v);
        let ones = |v: u64| _mm512_set1_epi64(v as i64);
        if mask == 0 {
            return (set(0.0), 0);
        }
        let (rows, entries) = table.tables();
        let i = _mm512_cvttpd_epu64(lambda);
        let row = if table.fixed() {
            // Row i at i·256, first count 0, 2⁸ columns: the row word computed.
            _mm512_or_si512(_mm512_slli_epi64::<40>(i), ones(8))
        } else {
            // SAFETY: i is below the rows' length on the lanes of `mask`.
            unsafe {
                _mm512_mask_i64gather_epi64::<8>(
                    _mm512_setzero_si512(),
                    mask,
                    i,
                    rows.as_ptr().cast(),
                )
            }
        };
        let width = _mm512_and_si512(row, ones(0xff));
        // The top `width` bits (a shift by 64 gives 0), then 53 more.
        let column = _mm512_srlv_epi64(w, _mm512_sub_epi64(ones(64), width));
        let coin = _mm512_srli_epi64::<11>(_mm512_sllv_epi64(w, width));
        let at = _mm512_add_epi64(_mm512_srli_epi64::<32>(row), column);
        // SAFETY: the row's columns are within the entries.
        let entry = unsafe {
            _mm512_mask_i64gather_epi64::<8>(
                _mm512_setzero_si512(),
                mask,
                at,
                entries.as_ptr().cast(),
            )
        };
        let keep = _mm512_cmplt_epu64_mask(coin, _mm512_srli_epi64::<10>(entry));
        let j = _mm512_mask_blend_epi64(keep, _mm512_and_si512(entry, ones(0x3ff)), column);
        let first = _mm512_and_si512(_mm512_srli_epi64::<16>(row), ones(0xffff));
        let whole = _mm512_add_pd(_mm512_cvtepu64_pd(first), _mm512_cvtepu64_pd(j));
        let delta = _mm512_sub_pd(lambda, _mm512_cvtepu64_pd(i));
        let v = _mm512_mul_pd(
            _mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w_fraction)),
            set(EPS53),
        );
        // PoissonTable::fraction: −δ as a sign flip, δ in [0, 1).
        // SAFETY: AVX-512F is enabled here.
        let p0 = unsafe { exp_core_x8(_mm512_xor_pd(delta, set(-0.0))) };
        let p1 = _mm512_mul_pd(delta, p0);
        let c1 = _mm512_add_pd(p0, p1);
        let p2 = _mm512_mul_pd(_mm512_mul_pd(set(0.5), delta), p1);
        let c2 = _mm512_add_pd(c1, p2);
        // The search's next two steps as `fraction` takes them (p ·= δ·(1/k)).
        let p3 = _mm512_mul_pd(p2, _mm512_mul_pd(delta, set(1.0 / 3.0)));
        let c3 = _mm512_add_pd(c2, p3);
        let c4 = _mm512_add_pd(c3, _mm512_mul_pd(p3, _mm512_mul_pd(delta, set(1.0 / 4.0))));
        let step =
            |c: __m512d| _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_GE_OQ>(v, c), set(1.0));
        let extra = _mm512_add_pd(
            _mm512_add_pd(step(p0), step(c1)),
            _mm512_add_pd(step(c2), step(c3)),
        );
        let far = mask & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(v, c4);
        (_mm512_add_pd(whole, extra), far)
    }

    /// [`Decision::q`] on the lanes of `mask` with AVX-512 (0 elsewhere), for
    /// a decision whose table covers every count between its ends.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn q_x8(&self, mask: u8, n: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
        use std::arch::x86_64::*;
        let d = &self.decision;
        let set = |v: f64| _mm512_set1_pd(v);
        let above = mask & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(n, set(d.hi));
        let within = mask & !above & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(n, set(d.lo));
        let i = _mm512_min_epu64(
            _mm512_cvttpd_epu64(_mm512_sub_pd(n, set(d.lo))),
            _mm512_set1_epi64(d.table.len() as i64 - 1),
        );
        let q = if d.table.len() <= 32 {
            // Four registers of the table and two permutations (cheaper
            // than a gather); `q32` holds the table padded to 32 values.
            // SAFETY: q32 holds 32 values.
            let part = |k: usize| unsafe { _mm512_loadu_pd(self.q32[8 * k..].as_ptr()) };
            let low = _mm512_permutex2var_pd(part(0), i, part(1));
            let high = _mm512_permutex2var_pd(part(2), i, part(3));
            let upper = _mm512_test_epi64_mask(i, _mm512_set1_epi64(16));
            _mm512_maskz_mov_pd(within, _mm512_mask_blend_pd(upper, low, high))
        } else {
            // SAFETY: i is below the table's length.
            unsafe { _mm512_mask_i64gather_pd::<8>(set(0.0), within, i, d.table.as_ptr()) }
        };
        _mm512_mask_blend_pd(above, q, set(1.0))
    }

    /// A test the proofs left open: the recovery within its cell, then the
    /// count from the same U (or the test in two parts from U₂ and U₃).
    fn open_test<R: Rng + ?Sized>(&self, l: usize, round: &Round, rng: &mut R) -> Test {
        let r = match &self.recovery {
            Recovery::Fixed(r) => *r,
            Recovery::Cells(b) => b.within(round.cell[l] as usize, rng),
            Recovery::Gamma(b) => b.sample(rng),
        };
        self.open_with(l, round, r, rng)
    }

    /// [`open_test`](Self::open_test) once the recovery `r` is drawn.
    fn open_with<R: Rng + ?Sized>(&self, l: usize, round: &Round, r: f64, rng: &mut R) -> Test {
        let isolated = round.lambda[l] * r;
        let mean = isolated + self.seen;
        let share = round.share[l];
        let u = round.u[l];
        let count = match (&self.floor, &self.ceiling) {
            (Some(f), _) if mean < f.limit() => {
                if u < f.bound(mean) {
                    return Test::Negative;
                }
                if mean > 0.0 {
                    poisson_inversion_of(u, mean)
                } else {
                    0.0
                }
            }
            (Some(f), Some(ceiling)) => {
                return self.split_test(f, ceiling, isolated, share, round.u2[l], round.u3[l], rng);
            }
            _ => self.count(rng, mean),
        };
        let Some((q, u)) = self.positive(count, rng) else {
            return Test::Negative;
        };
        // The count without the tumour's share (identity 1).
        let keep = if self.seen > 0.0 {
            (isolated * share + self.seen) / mean
        } else {
            share
        };
        let count_b = thin(rng, count, keep);
        self.classify(q, u, count_b, rng)
    }

    /// A test whose mean is above the floor's range, drawn as its two
    /// independent parts (identity 1): the tumour's vesicles T_t ~
    /// Poisson(C·V·r·(1 − share)), needed only below the count from which
    /// every test is positive ([`PoissonCeiling`] with the uniform `u2` for
    /// large means, [`PoissonTable`] below), and the
    /// background's T_b ~ Poisson(C_b·V·r + ν). Large tumours then cost two
    /// uniforms: T_t ≥ the ceiling (positive) and T_b below the first
    /// possibly positive count ([`PoissonFloor`] with the uniform `u3`: not
    /// positive without the tumour), a detection. Below the ceiling, T_b is
    /// drawn afresh (the table, not the inversion of `u3`): `u3` entered no
    /// decision then (the detection proof of `prove_lane` needs the
    /// tumour's count at or above the ceiling), so it is simply left
    /// unused. The count without the tumour is T_b itself: no thinning.
    #[allow(clippy::too_many_arguments)]
    fn split_test<R: Rng + ?Sized>(
        &self,
        floor: &PoissonFloor,
        ceiling: &PoissonCeiling,
        isolated: f64,
        share: f64,
        u2: f64,
        u3: f64,
        rng: &mut R,
    ) -> Test {
        let mean_t = isolated * (1.0 - share);
        let mean_b = isolated * share + self.seen;
        let tumour = if mean_t >= self.split_from {
            ceiling.sample_with(u2, mean_t)
        } else {
            // Over the ceiling, q(T_t + T_b) = 1 as below.
            Some(self.count(rng, mean_t))
        };
        match tumour {
            // Positive whatever the background and the noise.
            None => {
                let count_b = if mean_b < floor.limit() {
                    floor.sample_or_uniform(u3, mean_b)
                } else {
                    Ok(self.count(rng, mean_b))
                };
                match count_b {
                    Err(_) => Test::Detection,
                    Ok(b) => self.classify(1.0, None, b, rng),
                }
            }
            Some(t) => {
                let b = self.count(rng, mean_b);
                match self.positive(t + b, rng) {
                    None => Test::Negative,
                    Some((q, u)) => self.classify(q, u, b, rng),
                }
            }
        }
    }

    /// A Poisson(`mean`) count: by [`PoissonTable`] for moderate means, PTRS
    /// (or the normal approximation above 10¹⁸) beyond.
    #[inline]
    fn count<R: Rng + ?Sized>(&self, rng: &mut R, mean: f64) -> f64 {
        match &self.table {
            Some(t) if mean < t.limit() && mean >= 0.0 => t.sample(rng, mean),
            _ => poisson(rng, mean),
        }
    }

    /// Whether a test of total count `count` is positive (identity 2):
    /// `None` if negative, else q(count) and the uniform drawn for it, if
    /// any (below q).
    #[inline]
    fn positive<R: Rng + ?Sized>(&self, count: f64, rng: &mut R) -> Option<(f64, Option<f64>)> {
        let q = self.decision.q(count);
        if q == 0.0 {
            return None;
        }
        if q < 1.0 {
            let x = uniform(rng);
            if x >= q {
                return None;
            }
            return Some((q, Some(x)));
        }
        Some((q, None))
    }

    /// A positive test (probability `q`, uniform `u` below q if drawn)
    /// whose count without the tumour would be `count_b`: a false positive
    /// when that count is positive with the same reading noise.
    #[inline]
    fn classify<R: Rng + ?Sized>(&self, q: f64, u: Option<f64>, count_b: f64, rng: &mut R) -> Test {
        let qb = self.decision.q(count_b);
        let background_positive = if qb == 0.0 {
            false
        } else if qb >= q {
            true
        } else {
            // Conditioned on the positive test, u is uniform below q.
            u.unwrap_or_else(|| uniform(rng)) < qb
        };
        if background_positive {
            Test::FalsePositive
        } else {
            Test::Detection
        }
    }
}

/// e^x − 1: the Taylor series for |x| < 1/64 (nine terms: truncation below
/// 10⁻²⁰ relative), the C library's `expm1` beyond.
#[inline]
fn expm1(x: f64) -> f64 {
    if x.abs() < 1.0 / 64.0 {
        let mut term = x;
        let mut sum = x;
        for n in 2..=9 {
            // x·(1/n): a product, as on the lanes (no division there).
            term *= x * (1.0 / n as f64);
            sum += term;
        }
        sum
    } else {
        x.exp_m1()
    }
}

/// A uniform in [0, 1) from the top 53 bits of one word.
#[inline(always)]
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * EPS53
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biopsy::screening::{ThresholdRule, resolve_threshold};

    fn outcomes(kernel: &CohortKernel, model: &ScreeningModel, vector: bool) -> Vec<KernelOutcome> {
        let mut out = Vec::new();
        let mut sink = |o| out.push(o);
        if vector {
            kernel.run(model, 11, 0..20_000, &mut sink);
        } else {
            kernel.run_plain(model, 11, 0..20_000, &mut sink);
        }
        out
    }

    /// The AVX-512 copy (where the processor has it) gives the plain
    /// copy's outcomes bit for bit, in the same order: on the example, with
    /// exponential growth, a fixed recovery, and an assay that sees
    /// non-vesicle particles.
    #[test]
    fn vector_and_plain_lanes_agree_bit_for_bit() {
        let mut base = ScreeningModel::example();
        base.threshold = resolve_threshold(&base, ThresholdRule::Specificity(0.95), 2000, 3);
        let mut exponential = base.clone();
        exponential.tumour.growth = GrowthLaw::Exponential {
            rate: crate::biopsy::growth::rate_from_doubling_time(90.0 * crate::units::DAY),
        };
        let mut fixed = base.clone();
        fixed.protocol.isolation.recovery_cv = 0.0;
        let mut seen = base.clone();
        seen.protocol.assay.nonvesicle_weight = 5e-11;
        // A screening shorter than its interval: the lanes refilled lane by lane.
        let mut short = base.clone();
        short.duration = 0.5 * short.interval;
        // A threshold four times higher (below: a decision table of more
        // than 32 counts and Poisson table rows of 2ᵇ columns).
        let high = base.clone();
        for (mut model, factor) in [
            (base, 1.0),
            (exponential, 1.0),
            (fixed, 1.0),
            (seen, 1.0),
            (short, 1.0),
            (high, 4.0),
        ] {
            model.threshold =
                factor * resolve_threshold(&model, ThresholdRule::Specificity(0.95), 2000, 3);
            let kernel = CohortKernel::new(&model).expect("a kernel model");
            let plain = outcomes(&kernel, &model, false);
            let vector = outcomes(&kernel, &model, true);
            assert_eq!(plain.len(), 20_000);
            assert!(plain.iter().any(|o| o.detection.is_some()));
            assert_eq!(plain, vector);
        }
    }

    /// A test of mean above the floor's range (`split_test`, identity 1 and
    /// the floor, ceiling and table samplers): the law of its outcome is
    /// that of T_t ~ Poisson(mean_t) and T_b ~ Poisson(mean_b) independent,
    /// T = T_t + T_b, read with one noise: negative with probability
    /// 1 − E q(T), a false positive with E q(T_b) (q is non-decreasing and
    /// T ≥ T_b), a detection with E q(T) − E q(T_b). χ² of the three
    /// outcomes of 2·10⁵ tests against these sums, at tumour means drawn by
    /// the table and by the ceiling, background means within the floor's
    /// range and beyond it.
    #[test]
    fn split_test_follows_the_two_part_poisson_law() {
        use rand::SeedableRng;
        use statrs::distribution::{ChiSquared, ContinuousCDF, Discrete, Poisson};
        let mut model = ScreeningModel::example();
        model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 2000, 3);
        let kernel = CohortKernel::new(&model).expect("a kernel model");
        let (floor, ceiling) = (
            kernel.floor.as_ref().unwrap(),
            kernel.ceiling.as_ref().unwrap(),
        );
        let d = &kernel.decision;
        let below = 0.5 * d.hi;
        let split = kernel.split_from;
        for (i, (mean_t, mean_b)) in [
            (2.0, floor.limit() + 3.0),
            (below, 0.5 * floor.limit()),
            (below, floor.limit() + 10.0),
            (split + 4.0, 0.8 * floor.limit()),
            (split + 4.0, floor.limit() + 20.0),
            (0.3, floor.limit() + 1.0),
        ]
        .into_iter()
        .enumerate()
        {
            let isolated = mean_t + mean_b - kernel.seen;
            let share = (mean_b - kernel.seen) / isolated;
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(900 + i as u64);
            let n = 200_000;
            let mut counts = [0.0f64; 3];
            for _ in 0..n {
                let u2 = uniform(&mut rng);
                let u3 = uniform(&mut rng);
                let test = kernel.split_test(floor, ceiling, isolated, share, u2, u3, &mut rng);
                counts[match test {
                    Test::Negative => 0,
                    Test::FalsePositive => 1,
                    Test::Detection => 2,
                }] += 1.0;
            }
            // The tumour's and background's parts as the test takes them.
            let mean_t = isolated * (1.0 - share);
            let mean_b = isolated * share + kernel.seen;
            let (pt, pb) = (Poisson::new(mean_t).unwrap(), Poisson::new(mean_b).unwrap());
            let top = (mean_t + mean_b + 20.0 * (mean_t + mean_b).sqrt() + 50.0) as u64;
            let q_b: f64 = (0..top).map(|b| pb.pmf(b) * d.exact(b as f64)).sum();
            let q_total: f64 = (0..top)
                .map(|t| {
                    pt.pmf(t)
                        * (0..top)
                            .map(|b| pb.pmf(b) * d.exact((t + b) as f64))
                            .sum::<f64>()
                })
                .sum();
            let expected = [1.0 - q_total, q_b, q_total - q_b].map(|p| p * n as f64);
            let (mut stat, mut dof) = (0.0f64, -1.0f64);
            for (c, e) in counts.iter().zip(expected) {
                if e > 5.0 {
                    stat += (c - e).powi(2) / e;
                    dof += 1.0;
                } else {
                    assert!(*c <= 5.0 + 5.0 * e.max(1.0), "{c} against {e}");
                }
            }
            let p = 1.0 - ChiSquared::new(dof.max(1.0)).unwrap().cdf(stat);
            assert!(
                p > 1e-4,
                "means {mean_t}, {mean_b}: χ² {stat} on {dof} dof (p = {p}), {counts:?} against {expected:?}"
            );
        }
    }
}
