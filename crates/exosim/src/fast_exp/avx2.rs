//! [`exp_core`] on four lanes with AVX2: the same operations, so the same
//! results lane by lane.

#[cfg(test)]
use super::exp_core;
use super::{INV_LN2_N, LN2_N_HI, LN2_N_LO, SHIFT, TABLE};

/// [`exp_core`] on four lanes with AVX2 (the same operations, so the same
/// results lane by lane).
///
/// # Safety
/// The processor must have AVX2.
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn exp_core_x4(x: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use std::arch::x86_64::*;
    let shift = _mm256_set1_pd(SHIFT);
    let shifted = _mm256_add_pd(_mm256_mul_pd(x, _mm256_set1_pd(INV_LN2_N)), shift);
    let n = _mm256_sub_epi64(
        _mm256_castpd_si256(shifted),
        _mm256_set1_epi64x(SHIFT.to_bits() as i64),
    );
    let kd = _mm256_sub_pd(shifted, shift);
    let r = _mm256_sub_pd(
        _mm256_sub_pd(x, _mm256_mul_pd(kd, _mm256_set1_pd(LN2_N_HI))),
        _mm256_mul_pd(kd, _mm256_set1_pd(LN2_N_LO)),
    );
    let c = |v: f64| _mm256_set1_pd(v);
    let inner = _mm256_add_pd(c(1.0 / 24.0), _mm256_mul_pd(r, c(1.0 / 120.0)));
    let inner = _mm256_add_pd(c(1.0 / 6.0), _mm256_mul_pd(r, inner));
    let inner = _mm256_add_pd(c(0.5), _mm256_mul_pd(r, inner));
    let p = _mm256_add_pd(r, _mm256_mul_pd(_mm256_mul_pd(r, r), inner));
    let index = _mm256_and_si256(n, _mm256_set1_epi64x(127));
    // SAFETY: the indices are below 128, the table's length.
    let t = unsafe { _mm256_i64gather_epi64::<8>(TABLE.as_ptr().cast(), index) };
    // The scalar `((n as i64 >> 7) as u64) << 52`: the shift by 52 drops the
    // bits where an arithmetic and a logical shift by 7 differ (AVX2 has no
    // arithmetic shift of 64-bit lanes).
    let s = _mm256_castsi256_pd(_mm256_add_epi64(
        t,
        _mm256_slli_epi64::<52>(_mm256_srli_epi64::<7>(n)),
    ));
    _mm256_add_pd(s, _mm256_mul_pd(s, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{SimdPath, paths_to_compare};
    use rand::{RngExt, SeedableRng};

    /// The four-lane copy gives exp_core's bits, over 8·10⁵ arguments
    /// across the range (negative k included, where the arithmetic and
    /// logical shifts differ before the shift by 52), where the processor
    /// has AVX2 (printed; `EXOSIM_REQUIRE_SIMD=avx2` makes its absence
    /// fail the test).
    #[test]
    fn four_lanes_match_exp_core() {
        let paths = paths_to_compare(
            "four_lanes_match_exp_core",
            &[SimdPath::Scalar, SimdPath::Avx2],
        );
        if !paths.contains(&SimdPath::Avx2) {
            return;
        }
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(13);
        for i in 0..200_000 {
            let x: [f64; 4] = std::array::from_fn(|_| match i % 2 {
                0 => rng.random_range(-699.0..699.0),
                _ => rng.random_range(-1.0..1.0),
            });
            let mut y = [0.0; 4];
            // SAFETY: the processor has AVX2 (`paths_to_compare`).
            unsafe {
                use std::arch::x86_64::*;
                _mm256_storeu_pd(y.as_mut_ptr(), exp_core_x4(_mm256_loadu_pd(x.as_ptr())));
            }
            for l in 0..4 {
                assert_eq!(y[l].to_bits(), exp_core(x[l]).to_bits(), "{}", x[l]);
            }
        }
    }
}
