//! The cohort kernel's stages on eight lanes with AVX2: lanes 0–3 and 4–7
//! in two 256-bit registers, masks as bytes (a bit per lane, from compares
//! and `movemask`), as the AVX-512 copy's mask registers.
//!
//! Every stage does the IEEE operations of its scalar copy in the parent
//! module, in the same order and without fused multiply–add; the rare
//! cases (a normal's second candidate, an exponential beyond ±700, a
//! recovery candidate the squeeze does not accept, a test within the
//! floor's range, a count that needs an inversion or PTRS) run lane by
//! lane with the scalar code. The outcomes are therefore the scalar
//! lanes' bit for bit (`vector_and_plain_lanes_agree_bit_for_bit`).
//!
//! What AVX2 lacks, and how the same values come out without it:
//!
//! - **64-bit products** (SplitMix64's mix): from 32-bit halves
//!   (`crate::random`'s `_x4` words).
//! - **u64 → f64 conversions** (uniforms from the top 53 bits of a word,
//!   cells, counts): the two-magic-number conversion of [`F8::from_u64`],
//!   exact for every value below 2⁵³ (rounded once above), so the value of
//!   `x as f64`. The ziggurat's signed abscissa u = 2m + 1 − 2⁵³ (|u| <
//!   2⁵³) is 2·(m as f64) + (1 − 2⁵³), exact at each step.
//! - **f64 → integer conversions** (table indices): clamped to the table
//!   in `f64` first (a NaN to 0, as Rust's saturating `as usize`), then
//!   truncated to 32 bits ([`index`]); ⌈x⌉ of the steps by rounding up.
//! - **Unsigned 64-bit compares**: every compared word is below 2⁶³
//!   (53- and 54-bit coins and thresholds), so the signed compare serves.
//! - **Expand-loads** (the AVX-512 refill's moves of set-up individuals
//!   into the empty lanes): the refill runs the scalar stage's lane loop,
//!   only its set-up on the lanes (see [`Avx2::refill`]).
//! - **Two-register permutations** (the AVX-512 decision's 32-value
//!   table): the decision's probabilities are gathered.

use std::arch::x86_64::*;
use std::ops::Range;

use super::*;
use crate::fast_exp::avx2::exp_core_x4;
use crate::random::{GOLDEN, cohort_start_x4, next_of_x4, word_x4};

/// The stages on the eight lanes at once. Used only as the stages of
/// [`CohortKernel::run_avx2`], whose caller promises AVX2: the type is
/// private to this module, so no other code can run them.
struct Avx2;

impl Stages for Avx2 {
    /// The scalar stage's loop over the lanes, with the set-up of eight
    /// individuals at a time on the lanes ([`Avx2::setup`]). The loop only
    /// moves values (the set-up individuals into the empty lanes, in the
    /// order of the lanes), which AVX-512 does with its expand-loads and
    /// AVX2 cannot do with fewer instructions than the plain copies; it
    /// serves screenings shorter than an interval too.
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
        kernel.refill::<Avx2, F>(lanes, pending, key, next, end, sink);
    }

    /// With AVX2: the stream's start, the factors' normals (the rare second
    /// candidates lane by lane), the phase, the exponentials and the first
    /// step.
    #[inline(always)]
    fn setup(kernel: &CohortKernel, key: u64, first: u64, count: usize, pending: &mut Pending) {
        // SAFETY: `Avx2` runs only under `run_avx2` (see the type).
        unsafe { kernel.setup_avx2(key, first, count, pending) };
    }

    /// With AVX2 for exponential and Gompertz growth (the closed form);
    /// lane by lane otherwise (the logistic law's ln N is a table look-up
    /// with a search per lane, [`LnCells`]).
    #[inline(always)]
    fn blood(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round) {
        if matches!(kernel.law, Law::Closed { .. }) {
            // SAFETY: as above.
            unsafe { kernel.blood_avx2(lanes, round) };
        } else {
            Scalar::blood(kernel, lanes, round);
        }
    }

    #[inline(always)]
    fn prove(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round) {
        // SAFETY: as above.
        unsafe { kernel.prove_avx2(lanes, round) };
    }

    /// With AVX2 where the kernel's samplers allow (`vector_open`); lane by
    /// lane otherwise.
    #[inline(always)]
    fn open(kernel: &CohortKernel, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        if kernel.vector_open {
            // SAFETY: as above.
            unsafe { kernel.open_avx2(lanes, round, open) }
        } else {
            Scalar::open(kernel, lanes, round, open)
        }
    }

    /// Every lane's (the lanes without a detection are not read).
    #[inline(always)]
    fn diameters(
        kernel: &CohortKernel,
        round: &Round,
        _detections: u8,
        ln_d: &mut [f64; LANES],
        d: &mut [f64; LANES],
    ) {
        // SAFETY: as above.
        unsafe { kernel.diameters_avx2(round, ln_d, d) };
    }
}

/// Eight `f64` lanes: lanes 0–3 and 4–7 in two AVX registers.
#[derive(Clone, Copy)]
struct F8(__m256d, __m256d);

/// Eight `u64` lanes, as [`F8`].
#[derive(Clone, Copy)]
struct W8(__m256i, __m256i);

/// The lanes of mask `m` (bit l for lane l) as all-ones 64-bit lanes.
#[target_feature(enable = "avx2")]
#[inline]
fn lanes_of(m: u8) -> (__m256i, __m256i) {
    let bit = _mm256_set_epi64x(8, 4, 2, 1);
    let lo = _mm256_and_si256(_mm256_set1_epi64x(i64::from(m & 0xf)), bit);
    let hi = _mm256_and_si256(_mm256_set1_epi64x(i64::from(m >> 4)), bit);
    (_mm256_cmpeq_epi64(lo, bit), _mm256_cmpeq_epi64(hi, bit))
}

/// `x as f64` for four words: the high and low 32-bit halves as the
/// mantissas of 2⁸⁴ + hi·2³² and 2⁵² + lo, then (2⁸⁴ + hi·2³² − (2⁸⁴ +
/// 2⁵²)) + (2⁵² + lo). The subtraction is exact, so the sum is the one
/// rounding of hi·2³² + lo: exact below 2⁵³, as `as f64` everywhere.
#[target_feature(enable = "avx2")]
#[inline]
fn u64_to_f64_x4(x: __m256i) -> __m256d {
    const P84: i64 = 0x4530_0000_0000_0000;
    const P52: i64 = 0x4330_0000_0000_0000;
    const P84_52: u64 = 0x4530_0000_0010_0000;
    let hi = _mm256_or_si256(_mm256_srli_epi64::<32>(x), _mm256_set1_epi64x(P84));
    let lo = _mm256_blend_epi32::<0b1010_1010>(x, _mm256_set1_epi64x(P52));
    let hi = _mm256_sub_pd(
        _mm256_castsi256_pd(hi),
        _mm256_set1_pd(f64::from_bits(P84_52)),
    );
    _mm256_add_pd(hi, _mm256_castsi256_pd(lo))
}

impl F8 {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn splat(v: f64) -> F8 {
        F8(_mm256_set1_pd(v), _mm256_set1_pd(v))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn load(x: &[f64; LANES]) -> F8 {
        // SAFETY: the array holds eight values.
        unsafe {
            F8(
                _mm256_loadu_pd(x.as_ptr()),
                _mm256_loadu_pd(x.as_ptr().add(4)),
            )
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn store(self, x: &mut [f64; LANES]) {
        // SAFETY: the array holds eight values.
        unsafe {
            _mm256_storeu_pd(x.as_mut_ptr(), self.0);
            _mm256_storeu_pd(x.as_mut_ptr().add(4), self.1);
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn array(self) -> [f64; LANES] {
        let mut x = [0.0; LANES];
        self.store(&mut x);
        x
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn add(self, b: F8) -> F8 {
        F8(_mm256_add_pd(self.0, b.0), _mm256_add_pd(self.1, b.1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn sub(self, b: F8) -> F8 {
        F8(_mm256_sub_pd(self.0, b.0), _mm256_sub_pd(self.1, b.1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn mul(self, b: F8) -> F8 {
        F8(_mm256_mul_pd(self.0, b.0), _mm256_mul_pd(self.1, b.1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn div(self, b: F8) -> F8 {
        F8(_mm256_div_pd(self.0, b.0), _mm256_div_pd(self.1, b.1))
    }

    /// `vmaxpd`: `b` where either is NaN (so a NaN `self` gives `b`, as
    /// Rust's `f64::max`).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn max(self, b: F8) -> F8 {
        F8(_mm256_max_pd(self.0, b.0), _mm256_max_pd(self.1, b.1))
    }

    /// `vminpd`: `b` where either is NaN.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn min(self, b: F8) -> F8 {
        F8(_mm256_min_pd(self.0, b.0), _mm256_min_pd(self.1, b.1))
    }

    /// The bits of `self` exclusive-or those of `b` (a sign flip with −0).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn xor(self, b: F8) -> F8 {
        F8(_mm256_xor_pd(self.0, b.0), _mm256_xor_pd(self.1, b.1))
    }

    /// |x|: the sign bit cleared.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn abs(self) -> F8 {
        let sign = _mm256_set1_pd(-0.0);
        F8(
            _mm256_andnot_pd(sign, self.0),
            _mm256_andnot_pd(sign, self.1),
        )
    }

    /// The lanes where `self P b` holds (`P` one of the `_CMP_*` predicates).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn cmp<const P: i32>(self, b: F8) -> u8 {
        let lo = _mm256_movemask_pd(_mm256_cmp_pd::<P>(self.0, b.0));
        let hi = _mm256_movemask_pd(_mm256_cmp_pd::<P>(self.1, b.1));
        (lo | hi << 4) as u8
    }

    /// 1 where `self P b` holds, +0 elsewhere.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn one_where<const P: i32>(self, b: F8) -> F8 {
        let one = _mm256_set1_pd(1.0);
        F8(
            _mm256_and_pd(_mm256_cmp_pd::<P>(self.0, b.0), one),
            _mm256_and_pd(_mm256_cmp_pd::<P>(self.1, b.1), one),
        )
    }

    /// `b` on the lanes of `m`, `a` elsewhere.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn blend(m: u8, a: F8, b: F8) -> F8 {
        let (lo, hi) = lanes_of(m);
        F8(
            _mm256_blendv_pd(a.0, b.0, _mm256_castsi256_pd(lo)),
            _mm256_blendv_pd(a.1, b.1, _mm256_castsi256_pd(hi)),
        )
    }

    /// Rounded to an integer as `R` says (`_MM_FROUND_*`).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn round<const R: i32>(self) -> F8 {
        F8(_mm256_round_pd::<R>(self.0), _mm256_round_pd::<R>(self.1))
    }

    /// `x as f64` of each word (see [`u64_to_f64_x4`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn from_u64(x: W8) -> F8 {
        F8(u64_to_f64_x4(x.0), u64_to_f64_x4(x.1))
    }

    /// `table[i]` on the lanes of `m`, 0 elsewhere.
    ///
    /// # Safety
    /// The indices on the lanes of `m` must be within `table`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn gather(m: u8, i: W8, table: &[f64]) -> F8 {
        let (lo, hi) = lanes_of(m);
        let zero = _mm256_setzero_pd();
        let p = table.as_ptr();
        // SAFETY: the caller's.
        unsafe {
            F8(
                _mm256_mask_i64gather_pd::<8>(zero, p, i.0, _mm256_castsi256_pd(lo)),
                _mm256_mask_i64gather_pd::<8>(zero, p, i.1, _mm256_castsi256_pd(hi)),
            )
        }
    }

    /// `table[i]` on every lane.
    ///
    /// # Safety
    /// Every index must be within `table`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn gather_all(i: W8, table: &[f64]) -> F8 {
        let p = table.as_ptr();
        // SAFETY: the caller's.
        unsafe {
            F8(
                _mm256_i64gather_pd::<8>(p, i.0),
                _mm256_i64gather_pd::<8>(p, i.1),
            )
        }
    }
}

impl W8 {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn splat(v: u64) -> W8 {
        W8(_mm256_set1_epi64x(v as i64), _mm256_set1_epi64x(v as i64))
    }

    /// Lane l holds l.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn lane_numbers() -> W8 {
        W8(_mm256_set_epi64x(3, 2, 1, 0), _mm256_set_epi64x(7, 6, 5, 4))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn load(x: &[u64; LANES]) -> W8 {
        let p: *const __m256i = x.as_ptr().cast();
        // SAFETY: the array holds eight words.
        unsafe { W8(_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1))) }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn store(self, x: &mut [u64; LANES]) {
        let p: *mut __m256i = x.as_mut_ptr().cast();
        // SAFETY: the array holds eight words.
        unsafe {
            _mm256_storeu_si256(p, self.0);
            _mm256_storeu_si256(p.add(1), self.1);
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn array(self) -> [u64; LANES] {
        let mut x = [0; LANES];
        self.store(&mut x);
        x
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn add(self, b: W8) -> W8 {
        W8(_mm256_add_epi64(self.0, b.0), _mm256_add_epi64(self.1, b.1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn sub(self, b: W8) -> W8 {
        W8(_mm256_sub_epi64(self.0, b.0), _mm256_sub_epi64(self.1, b.1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn and(self, b: W8) -> W8 {
        W8(_mm256_and_si256(self.0, b.0), _mm256_and_si256(self.1, b.1))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn or(self, b: W8) -> W8 {
        W8(_mm256_or_si256(self.0, b.0), _mm256_or_si256(self.1, b.1))
    }

    /// Shifted right by `N` bits (logical).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn srl<const N: i32>(self) -> W8 {
        W8(
            _mm256_srli_epi64::<N>(self.0),
            _mm256_srli_epi64::<N>(self.1),
        )
    }

    /// Shifted left by `N` bits.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn sll<const N: i32>(self) -> W8 {
        W8(
            _mm256_slli_epi64::<N>(self.0),
            _mm256_slli_epi64::<N>(self.1),
        )
    }

    /// Shifted right by each lane's `n` bits (0 for a shift of 64 or more).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn srlv(self, n: W8) -> W8 {
        W8(
            _mm256_srlv_epi64(self.0, n.0),
            _mm256_srlv_epi64(self.1, n.1),
        )
    }

    /// Shifted left by each lane's `n` bits (0 for a shift of 64 or more).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn sllv(self, n: W8) -> W8 {
        W8(
            _mm256_sllv_epi64(self.0, n.0),
            _mm256_sllv_epi64(self.1, n.1),
        )
    }

    /// |x| of the words read as signed integers (none −2⁶³ here).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn abs_signed(self) -> W8 {
        let half = |x: __m256i| {
            let negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
            _mm256_sub_epi64(_mm256_xor_si256(x, negative), negative)
        };
        W8(half(self.0), half(self.1))
    }

    /// The lanes where `self < b`, both below 2⁶³ (a signed compare).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn lt(self, b: W8) -> u8 {
        let lo = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(b.0, self.0)));
        let hi = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(b.1, self.1)));
        (lo | hi << 4) as u8
    }

    /// `b` on the lanes of `m`, `a` elsewhere.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn blend(m: u8, a: W8, b: W8) -> W8 {
        let (lo, hi) = lanes_of(m);
        W8(
            _mm256_blendv_epi8(a.0, b.0, lo),
            _mm256_blendv_epi8(a.1, b.1, hi),
        )
    }

    /// `table[i]` on the lanes of `m`, 0 elsewhere.
    ///
    /// # Safety
    /// The indices on the lanes of `m` must be within `table`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn gather(m: u8, i: W8, table: &[u64]) -> W8 {
        let (lo, hi) = lanes_of(m);
        let zero = _mm256_setzero_si256();
        let p: *const i64 = table.as_ptr().cast();
        // SAFETY: the caller's.
        unsafe {
            W8(
                _mm256_mask_i64gather_epi64::<8>(zero, p, i.0, lo),
                _mm256_mask_i64gather_epi64::<8>(zero, p, i.1, hi),
            )
        }
    }

    /// `table[i]` on every lane.
    ///
    /// # Safety
    /// Every index must be within `table`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn gather_all(i: W8, table: &[u64]) -> W8 {
        let p: *const i64 = table.as_ptr().cast();
        // SAFETY: the caller's.
        unsafe {
            W8(
                _mm256_i64gather_epi64::<8>(p, i.0),
                _mm256_i64gather_epi64::<8>(p, i.1),
            )
        }
    }
}

/// `(x as usize).min(last)` on every lane, as a table index: x clamped
/// to [0, last] in `f64` (`vmaxpd` turns a NaN into 0, as `as usize`),
/// then truncated (`last` below 2³¹).
#[target_feature(enable = "avx2")]
#[inline]
fn index(x: F8, last: usize) -> W8 {
    debug_assert!(last < 1 << 31);
    let c = x.max(F8::splat(0.0)).min(F8::splat(last as f64));
    W8(
        _mm256_cvtepi32_epi64(_mm256_cvttpd_epi32(c.0)),
        _mm256_cvtepi32_epi64(_mm256_cvttpd_epi32(c.1)),
    )
}

/// [`exp_core`] on eight lanes (|x| < [`LIMIT`]).
#[target_feature(enable = "avx2")]
#[inline]
fn exp_core8(x: F8) -> F8 {
    // SAFETY: AVX2 is enabled here.
    unsafe { F8(exp_core_x4(x.0), exp_core_x4(x.1)) }
}

/// [`exp`] on eight lanes (the C library for the rare arguments beyond
/// ±700, lane by lane).
#[target_feature(enable = "avx2")]
#[inline]
fn exp8(x: F8) -> F8 {
    let inside = x.abs().cmp::<_CMP_LT_OQ>(F8::splat(LIMIT));
    let clamped = F8::blend(inside, F8::splat(0.0), x);
    let y = exp_core8(clamped);
    if inside == 0xff {
        return y;
    }
    by_lane_outside(inside, x, y, f64::exp)
}

/// [`expm1`] on eight lanes (the same series; the C library beyond it,
/// lane by lane).
#[target_feature(enable = "avx2")]
#[inline]
fn expm1_8(x: F8) -> F8 {
    let inside = x.abs().cmp::<_CMP_LT_OQ>(F8::splat(1.0 / 64.0));
    let mut term = x;
    let mut sum = x;
    for n in 2..=9 {
        term = term.mul(x.mul(F8::splat(1.0 / n as f64)));
        sum = sum.add(term);
    }
    if inside == 0xff {
        return sum;
    }
    by_lane_outside(inside, x, sum, f64::exp_m1)
}

/// `y` with the lanes outside `inside` replaced by `f` of `x`'s, lane by
/// lane: the C library for the vector functions' rare arguments.
#[target_feature(enable = "avx2")]
#[inline]
fn by_lane_outside(inside: u8, x: F8, y: F8, f: fn(f64) -> f64) -> F8 {
    let xs = x.array();
    let mut ys = y.array();
    for l in bits(!inside) {
        ys[l] = f(xs[l]);
    }
    F8::load(&ys)
}

/// [`CohortStream::next_of`] on the eight lanes' streams.
#[target_feature(enable = "avx2")]
#[inline]
fn next8(state: &mut W8) -> W8 {
    // SAFETY: AVX2 is enabled here.
    unsafe { W8(next_of_x4(&mut state.0), next_of_x4(&mut state.1)) }
}

/// The word of the lanes' streams at state `state` (k words past s:
/// `word8(s + k·γ)`).
#[target_feature(enable = "avx2")]
#[inline]
fn word8(state: W8) -> W8 {
    // SAFETY: AVX2 is enabled here.
    unsafe { W8(word_x4(state.0), word_x4(state.1)) }
}

/// The uniform in [0, 1) of each word's top 53 bits ([`uniform`]).
#[target_feature(enable = "avx2")]
#[inline]
fn uniform8(w: W8) -> F8 {
    F8::from_u64(w.srl::<11>()).mul(F8::splat(EPS53))
}

/// k·γ on every lane: the state k words further on is the state plus it.
#[target_feature(enable = "avx2")]
#[inline]
fn golden(k: u64) -> W8 {
    W8::splat(k.wrapping_mul(GOLDEN))
}

impl CohortKernel {
    /// The lanes with the AVX2 stages.
    ///
    /// # Safety
    ///
    /// The processor must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_avx2<F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        self.run_lanes::<Avx2, F>(model, seed, range, sink)
    }

    /// ln d and d of every lane's tumour at its test with AVX2 (the
    /// operations of the plain copy).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn diameters_avx2(&self, round: &Round, ln_d: &mut [f64; LANES], d: &mut [f64; LANES]) {
        let x = F8::load(&round.ln_n)
            .add(F8::splat(self.ln_diameter_factor))
            .div(F8::splat(3.0));
        x.store(ln_d);
        exp8(x).store(d);
    }

    /// [`setup_plain`](Self::setup_plain) for eight individuals with AVX2:
    /// the same words and operations (the normal's rare second candidates
    /// and the exponentials' rare large arguments lane by lane).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn setup_avx2(&self, key: u64, first: u64, count: usize, pending: &mut Pending) {
        let set = F8::splat;
        let entity = W8::splat(first).add(W8::lane_numbers());
        // SAFETY: AVX2 is enabled here.
        let mut state = unsafe {
            W8(
                cohort_start_x4(key, entity.0),
                cohort_start_x4(key, entity.1),
            )
        };
        let mut ln_f = [set(0.0); 3];
        for (x, f) in ln_f.iter_mut().zip(&self.factors) {
            let Some((mu, sigma)) = f else { continue };
            let z = self.normal_avx2(&mut state, count);
            *x = set(*mu).add(set(*sigma).mul(z));
        }
        let phase = uniform8(next8(&mut state)).mul(set(self.interval));
        let k = set(self.elimination).mul(exp8(ln_f[2]));
        let bk = set(self.background_amount).mul(exp8(ln_f[0].sub(ln_f[2])));
        let ln_s = set(self.ln_source).add(ln_f[1]);
        let h = if self.one_step {
            phase
        } else {
            // ceil_steps(phase / max_step) as f64: ⌈x⌉, at least 1 (a NaN
            // too: `vmaxpd` gives its second operand) and at most
            // u64::MAX as f64 = 2⁶⁴ (the saturating conversion).
            let x = phase.div(set(self.max_step));
            let steps = x
                .round::<{ _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC }>()
                .max(set(1.0))
                .min(set(u64::MAX as f64));
            phase.div(steps)
        };
        let (decay, gfac) = match self.law {
            Law::Closed { rate, .. } if rate > 0.0 => {
                let decay = exp8(set(-rate).mul(phase));
                // −expm1(r·h)/h, the negation as a sign flip (as in `setup_plain`).
                let gfac = expm1_8(set(rate).mul(h)).xor(set(-0.0)).div(h);
                (decay, gfac)
            }
            _ => (set(1.0), set(0.0)),
        };
        state.store(&mut pending.rng);
        k.store(&mut pending.k);
        bk.store(&mut pending.bk);
        ln_s.store(&mut pending.ln_s);
        phase.store(&mut pending.phase);
        h.store(&mut pending.h);
        decay.store(&mut pending.decay);
        gfac.store(&mut pending.gfac);
        pending.len = count;
        pending.pos = 0;
    }

    /// A standard normal on each of the first `count` lanes from its stream
    /// `state` ([`Ziggurat::sample`]): the first candidate on the lanes,
    /// accepted by the integer comparison of its layer; the others
    /// ([`Ziggurat::finish`], 1 %) lane by lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn normal_avx2(&self, state: &mut W8, count: usize) -> F8 {
        let (accept, width) = self.normal.tables();
        let w = next8(state);
        let layer = w.and(W8::splat(0xff));
        let m = w.srl::<11>();
        // u = 2m + 1 − 2⁵³, an odd integer in (−2⁵³, 2⁵³), as a word and,
        // exactly at each step, as a double.
        let u = m.sll::<1>().add(W8::splat((1i64 - (1i64 << 53)) as u64));
        let u_f = F8::from_u64(m)
            .mul(F8::splat(2.0))
            .add(F8::splat(1.0 - (1u64 << 53) as f64));
        // SAFETY: layer < 256, the tables' length.
        let (limit, scale) =
            unsafe { (W8::gather_all(layer, accept), F8::gather_all(layer, width)) };
        let inside = u.abs_signed().lt(limit);
        let mut z = u_f.mul(scale).array();
        let all = ((1u16 << count) - 1) as u8;
        if inside & all != all {
            let words = w.array();
            let mut states = state.array();
            for p in bits(all & !inside) {
                let mut rng = CohortStream::from_state(states[p]);
                z[p] = self.normal.finish(words[p], &mut rng);
                states[p] = rng.state();
            }
            *state = W8::load(&states);
        }
        F8::load(&z)
    }

    /// [`blood_lane`](Self::blood_lane) on all lanes with AVX2, for the
    /// closed-form laws: the same operations in the same order.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn blood_avx2(&self, lanes: &mut Lanes, round: &mut Round) {
        let Law::Closed { a, b, c, d, .. } = self.law else {
            unreachable!("closed-form law")
        };
        let set = F8::splat;
        let at = F8::load(&lanes.phase).add(F8::load(&lanes.j).mul(set(self.interval)));
        let decay = F8::load(&lanes.decay).mul(F8::load(&lanes.decay_step));
        let bd = set(b).mul(decay);
        let ln_n = set(a).add(bd).add(set(c).mul(at));
        let gamma = bd.mul(F8::load(&lanes.gfac)).add(set(d));
        let x = F8::load(&lanes.ln_s).add(ln_n);
        // max then min: a NaN becomes −EXP_RANGE, as in `blood_lane`.
        let s1 = exp_core8(x.max(set(-EXP_RANGE)).min(set(EXP_RANGE)));
        let k = F8::load(&lanes.k);
        let h = F8::load(&lanes.h);
        let kg = gamma.add(k);
        let closed = F8::load(&lanes.span).cmp::<_CMP_GT_OQ>(set(0.0))
            & k.mul(h).cmp::<_CMP_GT_OQ>(set(FORGETFUL_KH))
            & x.abs().cmp::<_CMP_LT_OQ>(set(EXP_RANGE))
            & kg.mul(h).cmp::<_CMP_GE_OQ>(set(1.0));
        let m_new = F8::load(&lanes.bk).add(s1.div(kg));
        decay.store(&mut lanes.decay);
        m_new.store(&mut round.m_new);
        at.store(&mut round.at);
        ln_n.store(&mut round.ln_n);
        round.closed = closed;
    }

    /// [`prove_lane`](Self::prove_lane) on all lanes with AVX2: the same
    /// words and the same operations in the same order.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn prove_avx2(&self, lanes: &mut Lanes, round: &mut Round) {
        let set = F8::splat;
        let mut state = W8::load(&lanes.rng);
        let (w1, w2, w3, w4) = (
            next8(&mut state),
            next8(&mut state),
            next8(&mut state),
            next8(&mut state),
        );
        state.store(&mut lanes.rng);
        let (cell, lo, top) = match &self.recovery {
            Recovery::Cells(b) => {
                let j = w1.srl::<54>();
                let coin = w1.srl::<1>().and(W8::splat((1 << 53) - 1));
                // SAFETY: j < 1024, the table's length.
                let entry = unsafe { W8::gather_all(j, b.alias_table()) };
                let kept = coin.lt(entry.srl::<10>());
                let cell = W8::blend(kept, entry.and(W8::splat(0x3ff)), j);
                let lo = F8::from_u64(cell).mul(set(CELL_WIDTH));
                let top = F8::from_u64(cell.add(W8::splat(1))).mul(set(CELL_WIDTH));
                (cell, lo, top)
            }
            Recovery::Fixed(r) => (W8::splat(0), set(*r), set(*r)),
            Recovery::Gamma(_) => (W8::splat(0), set(0.0), set(1.0)),
        };
        let (u, u2, u3) = (uniform8(w2), uniform8(w3), uniform8(w4));
        cell.store(&mut round.cell);
        u.store(&mut round.u);
        u2.store(&mut round.u2);
        u3.store(&mut round.u3);
        let c = F8::load(&round.m_new).mul(set(self.inv_plasma_volume));
        let lambda = c.max(set(0.0)).mul(set(self.volume));
        let background = F8::load(&lanes.bk).mul(set(self.inv_plasma_volume));
        let share = F8::blend(
            c.cmp::<_CMP_GT_OQ>(set(0.0)),
            set(1.0),
            background.div(c).min(set(1.0)),
        );
        lambda.store(&mut round.lambda);
        share.store(&mut round.share);
        let seen = set(self.seen);
        let mean_hi = lambda.mul(top).add(seen);
        let (mut negative, mut detected) = (0u8, 0u8);
        if let Some(f) = &self.floor {
            let limit = set(f.limit());
            let floor_bound = |x: F8| {
                let i = index(x.mul(set(f.inv_spacing())), f.bounds().len() - 1);
                // SAFETY: i is below the table's length.
                unsafe { F8::gather_all(i, f.bounds()) }
            };
            negative = mean_hi.cmp::<_CMP_LT_OQ>(limit) & u.cmp::<_CMP_LT_OQ>(floor_bound(mean_hi));
            if let Some(ceiling) = &self.ceiling {
                let tumour_lo = lambda.mul(lo).mul(set(1.0).sub(share));
                let background_hi = lambda.mul(top).mul(share).add(seen);
                let i = index(
                    tumour_lo.mul(set(ceiling.inv_spacing())),
                    ceiling.bounds().len() - 1,
                );
                // SAFETY: i is below the table's length.
                let ceiling_bound = unsafe { F8::gather_all(i, ceiling.bounds()) };
                detected = !negative
                    & lambda.mul(lo).add(seen).cmp::<_CMP_GE_OQ>(limit)
                    & tumour_lo.cmp::<_CMP_GE_OQ>(set(self.split_from))
                    & u2.cmp::<_CMP_GE_OQ>(ceiling_bound)
                    & background_hi.cmp::<_CMP_LT_OQ>(limit)
                    & u3.cmp::<_CMP_LT_OQ>(floor_bound(background_hi));
            }
        }
        round.negative = negative;
        round.detected = detected;
    }

    /// [`open_lanes`](Self::open_lanes) with AVX2 (when `vector_open`): the
    /// same words and operations per lane, as the AVX-512 copy computes
    /// them (each word at its place in the lane's stream, so the table
    /// look-ups do not wait for one another; each lane's state then moves
    /// past the words its test took). The rare cases (a candidate the
    /// squeeze does not accept, a test within the floor's range, a count
    /// that needs an inversion or PTRS, a fraction's search past 4) take
    /// `open_with` lane by lane from the state after the recovery's words
    /// ([`open_by_lane`](Self::open_by_lane)).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn open_avx2(&self, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        let (Some(floor), Some(ceiling), Some(table)) = (&self.floor, &self.ceiling, &self.table)
        else {
            unreachable!("vector_open needs the floor, the ceiling and the table")
        };
        if open == 0 {
            return (0, 0);
        }
        let set = F8::splat;
        let word = |state: W8, k: u64| word8(state.add(golden(k)));
        let start = W8::load(&lanes.rng);
        let (after, r, v, rejected) = self.recovery_avx2(round, start, open);
        let isolated = F8::load(&round.lambda).mul(r);
        let mean = isolated.add(set(self.seen));
        let share = F8::load(&round.share);
        let mean_t = isolated.mul(set(1.0).sub(share));
        let mean_b = isolated.mul(share).add(set(self.seen));
        // Within the floor's range, or NaN: lane by lane.
        let mut by_lane = rejected
            | (open
                & (mean.cmp::<_CMP_LT_OQ>(set(floor.limit()))
                    | mean_t.cmp::<_CMP_UNORD_Q>(mean_b)));
        let split = open & !by_lane;
        // The tumour's count (`split_test`): the table below `split_from`
        // (two words), the ceiling's bound from there (u₂, no word).
        let by_ceiling = split & mean_t.cmp::<_CMP_GE_OQ>(set(self.split_from));
        let by_table = split & !by_ceiling;
        let (tumour, tumour_far) =
            self.table_avx2(table, by_table, mean_t, word(after, 1), word(after, 2));
        let i = index(
            mean_t.mul(set(ceiling.inv_spacing())),
            ceiling.bounds().len() - 1,
        );
        // SAFETY: i is below the table's length.
        let bound = unsafe { F8::gather(by_ceiling, i, ceiling.bounds()) };
        let over = by_ceiling & F8::load(&round.u2).cmp::<_CMP_GE_OQ>(bound);
        // The background's count: the floor's bound (u₃) over the ceiling
        // within the floor's range, else the table after the tumour's words.
        let by_floor = over & mean_b.cmp::<_CMP_LT_OQ>(set(floor.limit()));
        let i = index(
            mean_b.mul(set(floor.inv_spacing())),
            floor.bounds().len() - 1,
        );
        // SAFETY: i is below the table's length.
        let bound = unsafe { F8::gather(by_floor, i, floor.bounds()) };
        let below_floor = by_floor & F8::load(&round.u3).cmp::<_CMP_LT_OQ>(bound);
        let b_tabled = split
            & !by_floor
            & mean_b.cmp::<_CMP_LT_OQ>(set(table.limit()))
            & mean_b.cmp::<_CMP_GE_OQ>(set(0.0));
        let b_start = W8::blend(by_table, after, after.add(golden(2)));
        let (b, b_far) =
            self.table_avx2(table, b_tabled, mean_b, word(b_start, 1), word(b_start, 2));
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
        let q_total = F8::blend(over, self.q_avx2(vector & !over, tumour.add(b)), set(1.0));
        let q_b = self.q_avx2(vector & !below_floor, b);
        let (zero, one) = (set(0.0), set(1.0));
        let certain = vector & q_total.cmp::<_CMP_GE_OQ>(one);
        let uncertain = vector & q_total.cmp::<_CMP_GT_OQ>(zero) & q_total.cmp::<_CMP_LT_OQ>(one);
        let b_positive = q_b.cmp::<_CMP_NEQ_OQ>(zero);
        let b_certain = q_b.cmp::<_CMP_GE_OQ>(q_total);
        let drawn = uncertain | (certain & b_positive & !b_certain);
        let d_start = W8::blend(b_tabled, b_start, b_start.add(golden(2)));
        let u = uniform8(word(d_start, 1));
        let positive = certain | (uncertain & u.cmp::<_CMP_LT_OQ>(q_total));
        let fp = positive & b_positive & (b_certain | u.cmp::<_CMP_LT_OQ>(q_b));
        // Each lane's state past its words: the vector lanes' and the others'
        // after the recovery.
        let end = W8::blend(drawn, d_start, d_start.add(golden(1)));
        W8::blend(vector, W8::blend(by_lane, start, after), end).store(&mut lanes.rng);
        let (fp_lanes, detected_lanes) = if by_lane != 0 {
            self.open_by_lane(lanes, round, by_lane, r, v, rejected)
        } else {
            (0, 0)
        };
        (fp | fp_lanes, (positive & !fp) | detected_lanes)
    }

    /// The recovery of the open tests `open` with AVX2: the state after its
    /// words, its first candidate x (the recovery itself where the squeeze
    /// accepts it), the candidate's uniform v, and the lanes whose
    /// candidate the squeeze does not accept (`BetaCells::within`'s first
    /// round).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn recovery_avx2(&self, round: &Round, start: W8, open: u8) -> (W8, F8, F8, u8) {
        let set = F8::splat;
        match &self.recovery {
            Recovery::Fixed(r) => (start, set(*r), set(0.0), 0),
            Recovery::Cells(b) => {
                let cell = W8::load(&round.cell);
                let x = F8::from_u64(cell)
                    .add(uniform8(word8(start.add(golden(1)))))
                    .mul(set(CELL_WIDTH));
                let v = uniform8(word8(start.add(golden(2))));
                // SAFETY: the cells are below the table's length.
                let squeeze = unsafe { F8::gather(open, cell, b.squeezes()) };
                let rejected = open & !v.cmp::<_CMP_LT_OQ>(squeeze);
                (start.add(golden(2)), x, v, rejected)
            }
            Recovery::Gamma(_) => unreachable!("vector_open needs cells or a fixed recovery"),
        }
    }

    /// The open tests of lanes `by_lane` with the scalar code, from each
    /// lane's state after the recovery's words: the recovery from its first
    /// candidate `x` and uniform `v` (`BetaCells::within_after` where the
    /// squeeze `rejected` it), then `open_with`. The false positives and
    /// the detections among them.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn open_by_lane(
        &self,
        lanes: &mut Lanes,
        round: &Round,
        by_lane: u8,
        x: F8,
        v: F8,
        rejected: u8,
    ) -> (u8, u8) {
        let (xs, vs) = (x.array(), v.array());
        let (mut false_positive, mut detected) = (0u8, 0u8);
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
        (false_positive, detected)
    }

    /// [`PoissonTable::sample`] on the lanes of `mask` with AVX2 (0 ≤ λ <
    /// the table's limit there), from its two words: the same operations.
    /// Also the lanes whose fraction searches past 4 (their value is not
    /// given).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn table_avx2(
        &self,
        table: &PoissonTable,
        mask: u8,
        lambda: F8,
        w: W8,
        w_fraction: W8,
    ) -> (F8, u8) {
        let set = F8::splat;
        if mask == 0 {
            return (set(0.0), 0);
        }
        let (rows, entries) = table.tables();
        // ⌊λ⌋ (λ < the rows' length on the lanes of `mask`).
        let i = index(lambda, rows.len() - 1);
        let row = if table.fixed() {
            // Row i at i·256, first count 0, 2⁸ columns: the row word computed.
            i.sll::<40>().or(W8::splat(8))
        } else {
            // SAFETY: i is below the rows' length.
            unsafe { W8::gather(mask, i, rows) }
        };
        let width = row.and(W8::splat(0xff));
        // The top `width` bits (a shift by 64 gives 0), then 53 more.
        let column = w.srlv(W8::splat(64).sub(width));
        let coin = w.sllv(width).srl::<11>();
        let at = row.srl::<32>().add(column);
        // SAFETY: the row's columns are within the entries.
        let entry = unsafe { W8::gather(mask, at, entries) };
        let keep = coin.lt(entry.srl::<10>());
        let j = W8::blend(keep, entry.and(W8::splat(0x3ff)), column);
        let first = row.srl::<16>().and(W8::splat(0xffff));
        let whole = F8::from_u64(first).add(F8::from_u64(j));
        let delta = lambda.sub(F8::from_u64(i));
        let v = uniform8(w_fraction);
        // PoissonTable::fraction: −δ as a sign flip, δ in [0, 1).
        let p0 = exp_core8(delta.xor(set(-0.0)));
        let p1 = delta.mul(p0);
        let c1 = p0.add(p1);
        let p2 = set(0.5).mul(delta).mul(p1);
        let c2 = c1.add(p2);
        // The search's next two steps as `fraction` takes them (p ·= δ·(1/k)).
        let p3 = p2.mul(delta.mul(set(1.0 / 3.0)));
        let c3 = c2.add(p3);
        let c4 = c3.add(p3.mul(delta.mul(set(1.0 / 4.0))));
        let step = |c: F8| v.one_where::<_CMP_GE_OQ>(c);
        let extra = step(p0).add(step(c1)).add(step(c2).add(step(c3)));
        let far = mask & !v.cmp::<_CMP_LT_OQ>(c4);
        (whole.add(extra), far)
    }

    /// [`Decision::q`] on the lanes of `mask` with AVX2 (0 elsewhere), for a
    /// decision whose table covers every count between its ends: a gather
    /// (AVX2 has no two-register permutation for the short tables).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn q_avx2(&self, mask: u8, n: F8) -> F8 {
        let d = &self.decision;
        let set = F8::splat;
        let above = mask & !n.cmp::<_CMP_LT_OQ>(set(d.hi));
        let within = mask & !above & !n.cmp::<_CMP_LT_OQ>(set(d.lo));
        let i = index(n.sub(set(d.lo)), d.table.len().max(1) - 1);
        // SAFETY: i is below the table's length (which covers the counts
        // within [lo, hi), `vector_open`).
        let q = unsafe { F8::gather(within, i, &d.table) };
        F8::blend(above, q, set(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::paths_to_compare;

    /// The eight-lane exponentials and conversions give the scalar bits,
    /// the rare arguments included (beyond ±700, infinities, NaN, the
    /// series' edge ±1/64, words above 2⁵³), where the processor has AVX2
    /// (printed; `EXOSIM_REQUIRE_SIMD=avx2` makes its absence fail the
    /// test).
    #[test]
    fn eight_lane_helpers_match_the_scalar_functions() {
        let paths = paths_to_compare(
            "eight_lane_helpers_match_the_scalar_functions",
            &[SimdPath::Scalar, SimdPath::Avx2],
        );
        if !paths.contains(&SimdPath::Avx2) {
            return;
        }
        let xs = [
            0.0,
            -0.0,
            1.0 / 64.0,
            -1.0 / 64.0,
            0.015,
            -3e-5,
            699.5,
            -700.0,
            700.0,
            -745.5,
            710.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-300,
            -2.5,
        ];
        // SAFETY: the processor has AVX2 (`paths_to_compare`).
        unsafe { check_helpers(&xs) };
    }

    /// The checks of `eight_lane_helpers_match_the_scalar_functions`.
    #[target_feature(enable = "avx2")]
    fn check_helpers(xs: &[f64; 16]) {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        for chunk in xs.chunks(8) {
            let x: [f64; LANES] = chunk.try_into().unwrap();
            let (e, m) = (exp8(F8::load(&x)).array(), expm1_8(F8::load(&x)).array());
            for l in 0..LANES {
                assert!(same(e[l], exp(x[l])), "exp({})", x[l]);
                assert!(same(m[l], expm1(x[l])), "expm1({})", x[l]);
            }
        }
        let words = [
            0,
            1,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            u64::MAX,
            0x1234_5678_9abc_def0,
            1 << 63,
        ];
        let f = F8::from_u64(W8::load(&words)).array();
        for l in 0..LANES {
            assert_eq!(f[l].to_bits(), (words[l] as f64).to_bits(), "{}", words[l]);
        }
        let x = [-3.0, f64::NAN, 0.5, 2.0, 1e300, 1023.9, 7.0, -0.0];
        let i = index(F8::load(&x), 1023).array();
        for l in 0..LANES {
            assert_eq!(i[l], ((x[l] as usize).min(1023)) as u64, "{}", x[l]);
        }
    }
}
