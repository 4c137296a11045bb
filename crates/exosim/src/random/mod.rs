//! Reproducible randomness: one stream per (seed, entity).
//!
//! A run draws every random number from a ChaCha8 stream keyed by the study
//! seed and the entity that uses it (a virtual individual, a cell, a
//! bootstrap replicate), never from a generator shared between threads. The
//! same study and seed therefore give bit-identical results whatever the
//! thread count and the order in which entities are processed. ChaCha is
//! specified, so the numbers do not change with library versions.

pub mod counts;
pub mod samplers;

use std::sync::LazyLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator type of every stream.
pub type Stream = ChaCha8Rng;

/// The stream of `entity` under `seed`; `domain` separates uses (e.g. a
/// cohort's individuals and a bootstrap's replicates) that share indices.
pub fn stream(seed: u64, domain: u64, entity: u64) -> Stream {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ domain.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(entity);
    rng
}

/// The generator of [`cohort_stream`]: SplitMix64 (Steele, Lea & Flood
/// 2014, "Fast splittable pseudorandom number generators", OOPSLA; the
/// generator of Java's `SplittableRandom`), whose n-th word is the
/// bijective mix of `start + n·γ`, γ the odd golden-ratio constant. It
/// passes BigCrush; its words cost an addition and the mix (two
/// multiplications), with no dependency between words but the addition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortStream {
    state: u64,
}

impl CohortStream {
    /// The stream whose next word is the mix of `state + γ`.
    #[inline(always)]
    pub(crate) fn from_state(state: u64) -> CohortStream {
        CohortStream { state }
    }

    /// The stream's state (see [`from_state`](Self::from_state)).
    #[inline(always)]
    pub(crate) fn state(&self) -> u64 {
        self.state
    }

    /// The next word of the stream whose state is `state` (for streams
    /// kept as plain words, e.g. in lanes of a vectorised loop).
    #[inline(always)]
    pub(crate) fn next_of(state: &mut u64) -> u64 {
        *state = state.wrapping_add(GOLDEN);
        splitmix64(*state)
    }
}

/// [`CohortStream::next_of`] on eight streams with AVX-512 (the same
/// words).
///
/// # Safety
/// The processor must have AVX-512F and AVX-512DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
pub(crate) unsafe fn next_of_x8(
    state: &mut std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    *state = _mm512_add_epi64(*state, _mm512_set1_epi64(GOLDEN as i64));
    splitmix64_x8(*state)
}

/// The word that [`next_of_x8`] returns once the states have become
/// `state` (k words past a state s: `word_x8(s + k·γ)`), so that words
/// further on in eight streams can be computed without advancing them.
///
/// # Safety
/// The processor must have AVX-512F and AVX-512DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
pub(crate) unsafe fn word_x8(state: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i {
    splitmix64_x8(state)
}

/// [`CohortStream::next_of`] on four streams with AVX2 (the same words).
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn next_of_x4(
    state: &mut std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    *state = _mm256_add_epi64(*state, _mm256_set1_epi64x(GOLDEN as i64));
    splitmix64_x4(*state)
}

/// The word that [`next_of_x4`] returns once the states have become
/// `state` (as [`word_x8`], on four streams with AVX2).
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn word_x4(state: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256i {
    splitmix64_x4(state)
}

impl rand::TryRng for CohortStream {
    type Error = core::convert::Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.try_next_u64().map(|w| (w >> 32) as u32)
    }

    #[inline(always)]
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(CohortStream::next_of(&mut self.state))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dest.chunks_mut(8) {
            let w = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

/// The golden-ratio increment of SplitMix64 (odd, so the sequence of
/// states has period 2⁶⁴).
pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A keyed stream like [`stream`], for loops that give every virtual
/// individual of a large cohort its own short stream (a screening cohort:
/// ~20 words per individual).
///
/// Why not [`stream`]: seeding ChaCha8 and generating its first 256-byte
/// block costs as much as a fifth of such an individual. Here the key
/// (seed, domain, entity) is hashed by SplitMix64's finaliser (a bijection
/// of 64-bit words, so distinct entities of one seed and domain get
/// distinct starts) into the start of a SplitMix64 sequence
/// ([`CohortStream`]). Two entities' words would coincide only if their
/// starts differed by a multiple n·γ with n below the words they use (a
/// chance of ~10⁻¹⁸ per pair): streams of a few dozen words started at
/// hashed points do not overlap in practice. The rule is unchanged: same
/// seed, same numbers, whatever the thread count.
#[inline]
pub fn cohort_stream(seed: u64, domain: u64, entity: u64) -> CohortStream {
    CohortStream {
        state: cohort_start(cohort_key(seed, domain), entity),
    }
}

/// The key of the streams of `seed` and `domain` ([`cohort_stream`]).
#[inline]
pub(crate) fn cohort_key(seed: u64, domain: u64) -> u64 {
    splitmix64(splitmix64(seed.wrapping_add(GOLDEN)) ^ domain).wrapping_add(GOLDEN)
}

/// The state of the stream of `entity` under `key` ([`cohort_stream`]).
#[inline(always)]
pub(crate) fn cohort_start(key: u64, entity: u64) -> u64 {
    splitmix64(key ^ entity)
}

/// [`cohort_start`] of eight entities with AVX-512.
///
/// # Safety
/// The processor must have AVX-512F and AVX-512DQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
pub(crate) unsafe fn cohort_start_x8(
    key: u64,
    entity: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    splitmix64_x8(_mm512_xor_si512(entity, _mm512_set1_epi64(key as i64)))
}

/// [`cohort_start`] of four entities with AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn cohort_start_x4(
    key: u64,
    entity: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    splitmix64_x4(_mm256_xor_si256(entity, _mm256_set1_epi64x(key as i64)))
}

/// The low 64 bits of the products of four words by the constant `c`
/// (`wrapping_mul`) with AVX2, which multiplies only 32-bit halves:
/// a·c = a_lo·c_lo + 2³²·(a_hi·c_lo + a_lo·c_hi) mod 2⁶⁴.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn mullo_x4(a: std::arch::x86_64::__m256i, c: u64) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let c_lo = _mm256_set1_epi64x(c as i64);
    let c_hi = _mm256_set1_epi64x((c >> 32) as i64);
    let low = _mm256_mul_epu32(a, c_lo);
    let cross = _mm256_add_epi64(
        _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), c_lo),
        _mm256_mul_epu32(a, c_hi),
    );
    _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross))
}

/// [`splitmix64`] on four words with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn splitmix64_x4(mut z: std::arch::x86_64::__m256i) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    z = mullo_x4(
        _mm256_xor_si256(z, _mm256_srli_epi64::<30>(z)),
        0xBF58_476D_1CE4_E5B9,
    );
    z = mullo_x4(
        _mm256_xor_si256(z, _mm256_srli_epi64::<27>(z)),
        0x94D0_49BB_1331_11EB,
    );
    _mm256_xor_si256(z, _mm256_srli_epi64::<31>(z))
}

/// [`splitmix64`] on eight words.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
#[inline]
fn splitmix64_x8(mut z: std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    z = _mm512_mullo_epi64(
        _mm512_xor_si512(z, _mm512_srli_epi64::<30>(z)),
        _mm512_set1_epi64(0xBF58_476D_1CE4_E5B9u64 as i64),
    );
    z = _mm512_mullo_epi64(
        _mm512_xor_si512(z, _mm512_srli_epi64::<27>(z)),
        _mm512_set1_epi64(0x94D0_49BB_1331_11EBu64 as i64),
    );
    _mm512_xor_si512(z, _mm512_srli_epi64::<31>(z))
}

/// SplitMix64's output function (Steele, Lea & Flood 2014,
/// docs/references.md#random-methods): a bijective mix.
#[inline(always)]
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `out` with independent standard normal variates, as `f32`, drawn
/// from `rng` by the ziggurat method (Marsaglia & Tsang 2000,
/// docs/references.md#random-methods, with 256 layers and the exact tail of their §3).
///
/// Why: Brownian moves need three variates per particle and step, and the
/// generic `f64` sampler sets the pace of the whole transport kernel. Each
/// 64-bit word gives two candidates of 32 bits (8 bits pick the layer, 24
/// independent bits the abscissa), and 99 % of candidates are accepted by
/// one integer comparison. The result is exact up to the 2⁻²⁴ resolution of
/// the abscissa within its layer, far below what an `f32` position keeps of
/// a step. The numbers depend only on `rng`'s output, so a keyed generator
/// gives reproducible variates.
pub fn fill_standard_normal_f32<R: Rng + ?Sized>(rng: &mut R, out: &mut [f32]) {
    let z = &*ZIGGURAT;
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        let bits = rng.next_u64();
        pair[0] = z.sample(bits as u32, rng);
        pair[1] = z.sample((bits >> 32) as u32, rng);
    }
    if let [last] = pairs.into_remainder() {
        *last = z.sample(rng.next_u64() as u32, rng);
    }
}

/// Right edge of the base layer of the 256-layer normal ziggurat.
pub(crate) const ZIG_R: f64 = 3.654_152_885_361_009;
/// Area of each layer (under the unnormalised density exp(−x²/2)).
const ZIG_V: f64 = 0.004_928_673_233_99;

/// The layer edges x₀ … x₂₅₆ of the 256-layer normal ziggurat (x₀ the base
/// layer's equivalent width, x₂₅₆ = 0), by Marsaglia & Tsang's recurrence;
/// shared by the `f32` sampler here and the `f64` one of the biopsy cohort.
pub(crate) fn ziggurat_edges() -> [f64; 257] {
    let density = |x: f64| (-0.5 * x * x).exp();
    let mut x = [0.0; 257];
    x[0] = ZIG_V / density(ZIG_R);
    x[1] = ZIG_R;
    for i in 2..256 {
        // The layer above has the same area: x[i]·(f(x[i]) − f(x[i−1])) = V.
        let y = (ZIG_V / x[i - 1] + density(x[i - 1])).min(1.0);
        x[i] = (-2.0 * y.ln()).sqrt();
    }
    x[256] = 0.0;
    x
}

/// A draw of |z| beyond the ziggurat's base edge R, from uniforms in
/// [0, 1) given by `unit` (Marsaglia 1964, docs/references.md#random-methods): R + a with a = e₁/R, kept when
/// 2·e₂ ≥ a² (e₁, e₂ standard exponential). Shared by the `f32` and `f64`
/// samplers.
pub(crate) fn ziggurat_tail(mut unit: impl FnMut() -> f64) -> f64 {
    loop {
        let a = -(1.0 - unit()).ln() / ZIG_R;
        let b = -(1.0 - unit()).ln();
        if 2.0 * b >= a * a {
            return ZIG_R + a;
        }
    }
}

/// 2²⁴: the abscissa's resolution within a layer.
const ZIG_SCALE: f64 = 16_777_216.0;

/// Tables of the ziggurat, computed once (Marsaglia & Tsang's recurrence).
struct Ziggurat32 {
    /// Right edges: `x[0] = V/f(R)` (the base strip with its tail), `x[1] = R`,
    /// decreasing to `x[256] = 0`.
    x: [f64; 257],
    /// Density `exp(−x²/2)` at each edge.
    f: [f64; 257],
    /// Integer thresholds `ceil(2²⁴·x[i+1]/x[i])`: a candidate of layer `i`
    /// with `|u| <` threshold lies inside the rectangle under the density.
    accept: [u32; 256],
    /// `x[i]/2²⁴`, turning the integer abscissa into the variate.
    width: [f32; 256],
}

static ZIGGURAT: LazyLock<Ziggurat32> = LazyLock::new(Ziggurat32::new);

impl Ziggurat32 {
    fn new() -> Self {
        let density = |x: f64| (-0.5 * x * x).exp();
        let x = ziggurat_edges();
        let f = x.map(density);
        let accept = std::array::from_fn(|i| (ZIG_SCALE * x[i + 1] / x[i]).ceil() as u32);
        let width = std::array::from_fn(|i| (x[i] / ZIG_SCALE) as f32);
        Ziggurat32 {
            x,
            f,
            accept,
            width,
        }
    }

    /// One variate from the candidate `bits` (more words from `rng` only
    /// when the candidate is rejected).
    #[inline(always)]
    fn sample<R: Rng + ?Sized>(&self, bits: u32, rng: &mut R) -> f32 {
        let layer = (bits & 0xff) as usize;
        // An odd integer in (−2²⁴, 2²⁴): symmetric, never 0.
        let u = 2 * (bits >> 8) as i32 + 1 - (1 << 24);
        if u.unsigned_abs() < self.accept[layer] {
            return u as f32 * self.width[layer];
        }
        self.outside(layer, u, rng)
    }

    /// A candidate outside its layer's rectangle: the wedge test, the tail,
    /// or a fresh candidate.
    #[cold]
    #[inline(never)]
    fn outside<R: Rng + ?Sized>(&self, mut layer: usize, mut u: i32, rng: &mut R) -> f32 {
        let unit = |rng: &mut R| (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        loop {
            let x = u as f64 / ZIG_SCALE * self.x[layer];
            if x.abs() < self.x[layer + 1] {
                return x as f32;
            }
            if layer == 0 {
                let t = ziggurat_tail(|| unit(rng)) as f32;
                return if u < 0 { -t } else { t };
            }
            let (f0, f1) = (self.f[layer], self.f[layer + 1]);
            if f1 + (f0 - f1) * unit(rng) < (-0.5 * x * x).exp() {
                return x as f32;
            }
            let bits = rng.next_u64() as u32;
            layer = (bits & 0xff) as usize;
            u = 2 * (bits >> 8) as i32 + 1 - (1 << 24);
        }
    }
}

/// Checks draws `v` against N(0, 1) for the samplers' tests: mean 0,
/// variance 1, skewness 0 and kurtosis 3, each within 5 standard errors,
/// and the fractions beyond 1, 2, 3 and 3.9 (a ziggurat's tail algorithm)
/// against erfc within 5 standard deviations.
#[cfg(test)]
pub(crate) fn assert_standard_normal_moments(v: &[f64]) {
    let nf = v.len() as f64;
    let m = |k: i32| v.iter().map(|&g| g.powi(k)).sum::<f64>() / nf;
    let (m1, m2, m3, m4) = (m(1), m(2), m(3), m(4));
    assert!(m1.abs() < 5.0 * (1.0 / nf).sqrt(), "mean {m1}");
    assert!((m2 - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(), "variance {m2}");
    assert!(m3.abs() < 5.0 * (15.0 / nf).sqrt(), "skewness {m3}");
    assert!((m4 - 3.0).abs() < 5.0 * (96.0 / nf).sqrt(), "kurtosis {m4}");
    for t in [1.0, 2.0, 3.0, 3.9] {
        let p = statrs::function::erf::erfc(t / std::f64::consts::SQRT_2);
        let k = v.iter().filter(|&&g| g.abs() > t).count() as f64;
        let sd = (nf * p * (1.0 - p)).sqrt();
        assert!(
            (k - nf * p).abs() < 5.0 * sd + 1.0,
            "beyond {t}: {k} vs {}",
            nf * p
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, 1, 3).random();
        let b: u64 = stream(7, 1, 3).random();
        let c: u64 = stream(7, 1, 4).random();
        let d: u64 = stream(7, 2, 3).random();
        let e: u64 = stream(8, 1, 3).random();
        assert_eq!(a, b);
        assert!(a != c && a != d && a != e);
    }

    #[test]
    fn cohort_streams_are_reproducible_and_distinct() {
        let a: u64 = cohort_stream(7, 1, 3).random();
        let b: u64 = cohort_stream(7, 1, 3).random();
        let c: u64 = cohort_stream(7, 1, 4).random();
        let d: u64 = cohort_stream(7, 2, 3).random();
        let e: u64 = cohort_stream(8, 1, 3).random();
        assert_eq!(a, b);
        assert!(a != c && a != d && a != e);
        // Neighbouring entities: uniforms of 10⁵ first draws, mean ½ and
        // variance 1/12 within 5 standard errors.
        let n = 100_000;
        let u: Vec<f64> = (0..n).map(|i| cohort_stream(1, 2, i).random()).collect();
        let m = u.iter().sum::<f64>() / n as f64;
        let v = u.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
        assert!(
            (m - 0.5).abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt(),
            "{m}"
        );
        assert!(
            (v - 1.0 / 12.0).abs() < 5.0 * (1.0 / 180.0 / n as f64).sqrt(),
            "{v}"
        );
    }

    /// SplitMix64's reference words (Vigna's splitmix64.c, seed 1234567).
    #[test]
    fn cohort_stream_is_splitmix64() {
        use rand::Rng;
        let mut g = CohortStream { state: 1_234_567 };
        assert_eq!(g.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(g.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(g.next_u64(), 9_817_491_932_198_370_423);
    }

    /// The four-lane AVX2 copies give the scalar words: the starts of
    /// entities, the next words and words further on, over 10⁵ random
    /// states and keys (the 64-bit products from 32-bit halves), where the
    /// processor has AVX2 (printed; `EXOSIM_REQUIRE_SIMD=avx2` makes its
    /// absence fail the test).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn four_lane_words_are_the_scalar_words() {
        use crate::simd::{SimdPath, paths_to_compare};
        use std::arch::x86_64::*;
        let paths = paths_to_compare(
            "four_lane_words_are_the_scalar_words",
            &[SimdPath::Scalar, SimdPath::Avx2],
        );
        if !paths.contains(&SimdPath::Avx2) {
            return;
        }
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(14);
        let load = |x: &[u64; 4]| unsafe { _mm256_loadu_si256(x.as_ptr().cast()) };
        let store = |v: __m256i| {
            let mut x = [0u64; 4];
            unsafe { _mm256_storeu_si256(x.as_mut_ptr().cast(), v) };
            x
        };
        for i in 0..100_000u64 {
            let key: u64 = rng.random();
            let mut states: [u64; 4] = std::array::from_fn(|_| rng.random());
            if i == 0 {
                states = [0, u64::MAX, 1 << 63, GOLDEN];
            }
            // SAFETY: the processor has AVX2 (`paths_to_compare`).
            let (start, mut state) =
                unsafe { (cohort_start_x4(key, load(&states)), load(&states)) };
            let start = store(start);
            let next = store(unsafe { next_of_x4(&mut state) });
            let word = store(unsafe { word_x4(load(&states)) });
            let after = store(state);
            for l in 0..4 {
                assert_eq!(start[l], cohort_start(key, states[l]));
                let mut s = states[l];
                assert_eq!(next[l], CohortStream::next_of(&mut s));
                assert_eq!(after[l], s);
                assert_eq!(word[l], splitmix64(states[l]));
            }
        }
    }

    /// Marsaglia & Tsang's 256-layer tables, as published with rand_distr
    /// (`ZIG_NORM_X`): the recurrence must land on the same edges.
    #[test]
    fn ziggurat_edges_match_the_published_table() {
        let z = &*ZIGGURAT;
        assert!((z.x[0] - 3.910_757_959_537_09).abs() < 1e-12);
        assert!((z.x[2] - 3.449_278_298_560_964).abs() < 1e-12);
        assert!(
            (z.x[128] - 1.535_342_571_438_843).abs() < 1e-9,
            "{}",
            z.x[128]
        );
        assert!(
            (z.x[255] - 0.215_241_895_913_273_8).abs() < 1e-9,
            "{}",
            z.x[255]
        );
    }

    /// Moments of N(0,1): mean 0, variance 1, skewness 0, kurtosis 3, each
    /// within 5 standard errors for 2·10⁶ draws; and the fractions beyond
    /// 1, 2, 3 and 3.9 (the tail algorithm) against erfc.
    #[test]
    fn f32_ziggurat_variates_are_standard_normal() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(5);
        let n = 2_000_000;
        let mut v = vec![0.0f32; n];
        fill_standard_normal_f32(&mut rng, &mut v);
        let v: Vec<f64> = v.iter().map(|&g| f64::from(g)).collect();
        assert_standard_normal_moments(&v);
    }

    /// Kolmogorov–Smirnov distance to the normal CDF below the 0.1 %
    /// critical value 1.95/√n, on 10⁵ draws, and the same stream gives the
    /// same numbers.
    #[test]
    fn f32_ziggurat_passes_kolmogorov_smirnov_and_is_reproducible() {
        let n = 100_000;
        let mut v = vec![0.0f32; n];
        fill_standard_normal_f32(&mut rand_pcg::Pcg64Mcg::seed_from_u64(9), &mut v);
        let mut w = vec![0.0f32; n];
        fill_standard_normal_f32(&mut rand_pcg::Pcg64Mcg::seed_from_u64(9), &mut w);
        assert_eq!(v, w);
        v.sort_by(f32::total_cmp);
        let cdf = |x: f64| 0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2);
        let d = v
            .iter()
            .enumerate()
            .map(|(i, &g)| {
                let c = cdf(g as f64);
                (c - i as f64 / n as f64).max((i + 1) as f64 / n as f64 - c)
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS distance {d}");
    }
}
