//! [`exp_core`] on eight lanes with AVX-512F: the same operations, so
//! the same results lane by lane.

#[cfg(test)]
use super::exp_core;
use super::{INV_LN2_N, LN2_N_HI, LN2_N_LO, SHIFT, TABLE};

/// [`exp_core`] on eight lanes with AVX-512 (the same operations, so the
/// same results lane by lane).
///
/// # Safety
/// The processor must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
pub(crate) unsafe fn exp_core_x8(x: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let shift = _mm512_set1_pd(SHIFT);
    let shifted = _mm512_add_pd(_mm512_mul_pd(x, _mm512_set1_pd(INV_LN2_N)), shift);
    let n = _mm512_sub_epi64(
        _mm512_castpd_si512(shifted),
        _mm512_set1_epi64(SHIFT.to_bits() as i64),
    );
    let kd = _mm512_sub_pd(shifted, shift);
    let r = _mm512_sub_pd(
        _mm512_sub_pd(x, _mm512_mul_pd(kd, _mm512_set1_pd(LN2_N_HI))),
        _mm512_mul_pd(kd, _mm512_set1_pd(LN2_N_LO)),
    );
    let c = |v: f64| _mm512_set1_pd(v);
    let inner = _mm512_add_pd(c(1.0 / 24.0), _mm512_mul_pd(r, c(1.0 / 120.0)));
    let inner = _mm512_add_pd(c(1.0 / 6.0), _mm512_mul_pd(r, inner));
    let inner = _mm512_add_pd(c(0.5), _mm512_mul_pd(r, inner));
    let p = _mm512_add_pd(r, _mm512_mul_pd(_mm512_mul_pd(r, r), inner));
    let index = _mm512_and_si512(n, _mm512_set1_epi64(127));
    // SAFETY: the indices are below 128, the table's length.
    let t = unsafe { _mm512_i64gather_epi64::<8>(index, TABLE.as_ptr().cast()) };
    let s = _mm512_castsi512_pd(_mm512_add_epi64(
        t,
        _mm512_slli_epi64::<52>(_mm512_srai_epi64::<7>(n)),
    ));
    _mm512_add_pd(s, _mm512_mul_pd(s, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{SimdPath, paths_to_compare};
    use rand::{RngExt, SeedableRng};

    /// The eight-lane copy gives exp_core's bits, over 8·10⁵ arguments
    /// across the range, where the processor has AVX-512 (printed;
    /// `EXOSIM_REQUIRE_SIMD=avx512` makes its absence fail the test).
    #[test]
    fn eight_lanes_match_exp_core() {
        let paths = paths_to_compare(
            "eight_lanes_match_exp_core",
            &[SimdPath::Scalar, SimdPath::Avx512],
        );
        if !paths.contains(&SimdPath::Avx512) {
            return;
        }
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(12);
        for _ in 0..100_000 {
            let x: [f64; 8] = std::array::from_fn(|_| rng.random_range(-699.0..699.0));
            let mut y = [0.0; 8];
            // SAFETY: the processor has AVX-512 (`paths_to_compare`).
            unsafe {
                use std::arch::x86_64::*;
                _mm512_storeu_pd(y.as_mut_ptr(), exp_core_x8(_mm512_loadu_pd(x.as_ptr())));
            }
            for l in 0..8 {
                assert_eq!(y[l].to_bits(), exp_core(x[l]).to_bits(), "{}", x[l]);
            }
        }
    }
}
