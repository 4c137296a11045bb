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
//! proofs leave open. The stages that have a vector copy go through one
//! door, the `Stages` trait: the scalar stages here run lane by lane and
//! are the reference; on the AVX-512 path (F and DQ; module `avx512`,
//! chosen by [`crate::simd::SimdPath`], `EXOSIM_SIMD` forcing it) the
//! set-up, the blood level, the proofs, the open tests, the lanes' refill
//! and the diameters at detection run as vector instructions on the eight
//! lanes; on the AVX2 path (module `avx2`, the eight lanes as two
//! registers of four) the same stages do, but for the refill's moves of
//! set-up individuals into the lanes, which AVX2 cannot do with fewer
//! instructions than the scalar loop (it has no expand-load). Every copy
//! does the same IEEE
//! operations in the same order (no fused multiply–add; the rare cases,
//! such as a normal's second candidate, an exponential beyond ±700, a
//! recovery candidate the squeeze does not accept, a test within the
//! floor's range, a count that needs an inversion or PTRS, lane by lane in
//! all), so their results are identical bit for bit (tested). The open
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
use super::screening_model::{DOMAIN_SCREENING, DetectionRule, Individual, ScreeningModel};
#[cfg(target_arch = "x86_64")]
use crate::fast_exp::{LIMIT, exp, exp_core};
use crate::random::counts::{poisson, thin};
use crate::random::samplers::{
    BETA_CELLS, Beta, BetaCells, POISSON_FLOOR_MAX, PoissonCeiling, PoissonFloor, PoissonTable,
    Ziggurat, poisson_inversion_of,
};
use crate::random::{CohortStream, cohort_key, cohort_start};
use crate::simd::SimdPath;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

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

/// The stages of a round that have a vector copy: [`Scalar`] runs them
/// lane by lane, as the model reads (the reference), `avx2::Avx2` and
/// `avx512::Avx512` on the eight lanes at once with the same operations.
trait Stages {
    /// Lanes past the screening's end hand their outcome to `sink` and
    /// leave; empty lanes take the next individuals of `next..end`.
    #[allow(clippy::too_many_arguments)]
    fn refill<F: FnMut(KernelOutcome)>(
        kernel: &CohortKernel,
        lanes: &mut Lanes,
        pending: &mut Pending,
        key: u64,
        next: &mut u64,
        end: u64,
        sink: &mut F,
    );
    /// Sets up individuals `first..first + count` in `pending` for the
    /// refill ([`CohortKernel::refill`]): lane by lane unless a copy has its
    /// own.
    #[inline(always)]
    fn setup(kernel: &CohortKernel, key: u64, first: u64, count: usize, pending: &mut Pending) {
        kernel.setup_plain(key, first, count, pending);
    }
    /// Every lane's blood amount at its test, by the closed form where it
    /// holds (`round.closed`).
    fn blood(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round);
    /// Every lane's test's first words and the proofs of identity 3.
    fn prove(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round);
    /// The tests of lanes `open`: the false positives and the detections.
    fn open(kernel: &CohortKernel, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8);
    /// ln d and d of the tumours of lanes `detections` (identity 6).
    fn diameters(
        kernel: &CohortKernel,
        round: &Round,
        detections: u8,
        ln_d: &mut [f64; LANES],
        d: &mut [f64; LANES],
    );
}

/// The stages lane by lane, in plain Rust.
struct Scalar;

impl Stages for Scalar {
    #[inline(always)]
    fn refill<F: FnMut(KernelOutcome)>(
        kernel: &CohortKernel,
        lanes: &mut Lanes,
        pending: &mut Pending,
        key: u64,
        next: &mut u64,
        end: u64,
        sink: &mut F,
    ) {
        kernel.refill::<Scalar, F>(lanes, pending, key, next, end, sink);
    }

    #[inline(always)]
    fn blood(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round) {
        for l in 0..LANES {
            kernel.blood_lane(lanes, l, round);
        }
    }

    #[inline(always)]
    fn prove(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round) {
        for l in 0..LANES {
            kernel.prove_lane(lanes, l, round);
        }
    }

    #[inline(always)]
    fn open(kernel: &CohortKernel, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        kernel.open_lanes(lanes, round, open)
    }

    #[inline(always)]
    fn diameters(
        kernel: &CohortKernel,
        round: &Round,
        detections: u8,
        ln_d: &mut [f64; LANES],
        d: &mut [f64; LANES],
    ) {
        for l in bits(detections) {
            ln_d[l] = (round.ln_n[l] + kernel.ln_diameter_factor) / 3.0;
            d[l] = exp(ln_d[l]);
        }
    }
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
            || model.release.is_some()
            || p.sequencing.is_some()
            || model.imaging.is_some()
            || model.detection != DetectionRule::Tumour
            || model.variability.background_test_cv > 0.0
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
    /// `sink` (in no particular order), on the path the process uses
    /// ([`SimdPath::current`]): the same results on every path.
    pub(crate) fn run<F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        self.run_on(SimdPath::current(), model, seed, range, sink)
    }

    /// [`run`](Self::run) on `path`, or the widest path below it that the
    /// processor has: the AVX-512 copy of the stages (F and DQ, module
    /// `avx512`), the AVX2 copy (module `avx2`), or the scalar stages.
    pub(crate) fn run_on<F: FnMut(KernelOutcome)>(
        &self,
        path: SimdPath,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        match path.or_below() {
            // SAFETY: `or_below` returns only paths the processor has.
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx512 => unsafe { self.run_avx512(model, seed, range, sink) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx2 => unsafe { self.run_avx2(model, seed, range, sink) },
            _ => self.run_lanes::<Scalar, F>(model, seed, range, sink),
        }
    }

    /// The kernel's paths: the scalar reference and its AVX2 and AVX-512
    /// copies.
    #[cfg(test)]
    const PATHS: [SimdPath; 3] = [SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512];

    /// The rounds of the lanes (see the module), with stages `S`.
    #[inline(always)]
    fn run_lanes<S: Stages, F: FnMut(KernelOutcome)>(
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
            S::refill(
                self,
                &mut lanes,
                &mut pending,
                key,
                &mut next,
                range.end,
                sink,
            );
            let live = lanes.live;
            if live == 0 {
                return;
            }
            S::blood(self, &mut lanes, &mut round);
            for l in bits(live & !round.closed) {
                round.m_new[l] = self.general_step(model, &lanes, l, round.at[l]);
            }
            S::prove(self, &mut lanes, &mut round);
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
            let (false_positive, detected) = S::open(self, &mut lanes, &round, open);
            for l in 0..LANES {
                lanes.fps[l] += u32::from(false_positive >> l & 1);
            }
            // The diameters at detection (identity 6).
            let detections = live & (round.detected | detected);
            let (mut ln_d, mut d) = ([0.0; LANES], [0.0; LANES]);
            S::diameters(self, &round, detections, &mut ln_d, &mut d);
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
    /// eight at a time by `S::setup`), in the order of the lanes.
    #[inline(always)]
    fn refill<S: Stages, F: FnMut(KernelOutcome)>(
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
                    S::setup(self, key, *next, count, pending);
                    *next += count as u64;
                }
                self.start(lanes, l, pending);
            }
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

    fn outcomes(
        kernel: &CohortKernel,
        model: &ScreeningModel,
        path: SimdPath,
    ) -> Vec<KernelOutcome> {
        let mut out = Vec::new();
        let mut sink = |o| out.push(o);
        assert_eq!(path.or_below(), path, "{path} is on this processor");
        kernel.run_on(path, model, 11, 0..20_000, &mut sink);
        out
    }

    /// The AVX2 and AVX-512 copies give the scalar lanes' outcomes bit for
    /// bit, in the same order, on every path this processor has (printed;
    /// `EXOSIM_REQUIRE_SIMD` makes a missing one fail the test), through
    /// each copy's stages and their lane-by-lane fallbacks: the example
    /// (Gompertz growth, several steps to the first test), exponential
    /// growth (one step), logistic growth (the blood level lane by lane),
    /// a fixed recovery, a recovery of Beta shape below 1 (gamma variates:
    /// the open tests lane by lane), an assay that sees non-vesicle
    /// particles, one without reading noise, a screening shorter than its
    /// interval, a threshold four times higher, and one a hundred times
    /// lower without a limit of detection (no floor: neither proofs nor
    /// vector open tests). Every model
    /// has normals' second candidates, recovery candidates the squeeze
    /// rejects and tests within the floor's range among its 20 000
    /// individuals.
    #[test]
    fn vector_and_plain_lanes_agree_bit_for_bit() {
        let paths = crate::simd::paths_to_compare(
            "vector_and_plain_lanes_agree_bit_for_bit",
            &CohortKernel::PATHS,
        );
        let mut base = ScreeningModel::example();
        base.threshold = resolve_threshold(&base, ThresholdRule::Specificity(0.95), 2000, 3);
        let doubling = crate::biopsy::growth::rate_from_doubling_time(90.0 * crate::units::DAY);
        let mut exponential = base.clone();
        exponential.tumour.growth = GrowthLaw::Exponential { rate: doubling };
        let mut logistic = base.clone();
        logistic.tumour.growth = GrowthLaw::Logistic {
            rate: doubling,
            capacity: 1e12,
        };
        let mut fixed = base.clone();
        fixed.protocol.isolation.recovery_cv = 0.0;
        // Beta(0.28, 0.28): shapes below 1, no cells.
        let mut gamma = base.clone();
        gamma.protocol.isolation.recovery_mean = 0.5;
        gamma.protocol.isolation.recovery_cv = 0.8;
        let mut seen = base.clone();
        seen.protocol.assay.nonvesicle_weight = 5e-11;
        let mut noiseless = base.clone();
        noiseless.protocol.assay.cv = 0.0;
        // A screening shorter than its interval: the lanes refilled lane by lane.
        let mut short = base.clone();
        short.duration = 0.5 * short.interval;
        // A threshold four times higher (below: a decision table of more
        // than 32 counts and Poisson table rows of 2ᵇ columns).
        let high = base.clone();
        // No limit of detection and a threshold a hundred times lower: counts
        // of 1 may read positive, so there is no floor.
        let mut low = base.clone();
        low.protocol.assay.lod = 0.0;
        for (name, mut model, factor) in [
            ("example", base, 1.0),
            ("exponential", exponential, 1.0),
            ("logistic", logistic, 1.0),
            ("fixed", fixed, 1.0),
            ("gamma", gamma, 1.0),
            ("seen", seen, 1.0),
            ("noiseless", noiseless, 1.0),
            ("short", short, 1.0),
            ("high", high, 4.0),
            ("low", low, 0.01),
        ] {
            model.threshold =
                factor * resolve_threshold(&model, ThresholdRule::Specificity(0.95), 2000, 3);
            let kernel = CohortKernel::new(&model).expect("a kernel model");
            match name {
                "logistic" => assert!(matches!(kernel.law, Law::Other)),
                "gamma" => assert!(matches!(kernel.recovery, Recovery::Gamma(_))),
                "low" => assert!(kernel.floor.is_none()),
                _ => assert!(kernel.vector_open, "{name}"),
            }
            let plain = outcomes(&kernel, &model, SimdPath::Scalar);
            assert_eq!(plain.len(), 20_000);
            assert!(plain.iter().any(|o| o.detection.is_some()), "{name}");
            for &path in &paths[1..] {
                assert_eq!(plain, outcomes(&kernel, &model, path), "{name} on {path}");
            }
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
