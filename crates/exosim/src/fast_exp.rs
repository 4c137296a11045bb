//! An inlinable exponential for the cohort kernel's hot loops.
//!
//! Why: a screened individual takes about ten exponentials (its log-normal
//! factors, the tumour's source at each test, the diameter at detection,
//! the Poisson inversions' e^{−λ}), and the C library's `exp`, a call
//! through the PLT with its special-case checks, cost a fifth of the
//! kernel. This one is the table method of Tang (1989,
//! docs/references.md#tang-1989) as in ARM's optimized-routines: x = (128·k + j)·ln2/128 + r
//! with |r| ≤ ln2/256, e^x = 2^k · 2^{j/128} · e^r, 2^{j/128} from a table of
//! correctly rounded doubles and e^r − 1 from its Taylor polynomial of
//! degree 5 (truncation below 10⁻¹⁸ relative). The result is within about
//! one unit in the last place of e^x (checked against the C library over
//! the whole range in the tests); arguments beyond ±700 (overflow,
//! underflow, subnormals), infinities and NaN go to the C library.

/// 2^{j/128}, j = 0..127, correctly rounded (computed with 60 digits).
const TABLE: [u64; 128] = [
    0x3ff0000000000000,
    0x3ff0163da9fb3335,
    0x3ff02c9a3e778061,
    0x3ff04315e86e7f85,
    0x3ff059b0d3158574,
    0x3ff0706b29ddf6de,
    0x3ff0874518759bc8,
    0x3ff09e3ecac6f383,
    0x3ff0b5586cf9890f,
    0x3ff0cc922b7247f7,
    0x3ff0e3ec32d3d1a2,
    0x3ff0fb66affed31b,
    0x3ff11301d0125b51,
    0x3ff12abdc06c31cc,
    0x3ff1429aaea92de0,
    0x3ff15a98c8a58e51,
    0x3ff172b83c7d517b,
    0x3ff18af9388c8dea,
    0x3ff1a35beb6fcb75,
    0x3ff1bbe084045cd4,
    0x3ff1d4873168b9aa,
    0x3ff1ed5022fcd91d,
    0x3ff2063b88628cd6,
    0x3ff21f49917ddc96,
    0x3ff2387a6e756238,
    0x3ff251ce4fb2a63f,
    0x3ff26b4565e27cdd,
    0x3ff284dfe1f56381,
    0x3ff29e9df51fdee1,
    0x3ff2b87fd0dad990,
    0x3ff2d285a6e4030b,
    0x3ff2ecafa93e2f56,
    0x3ff306fe0a31b715,
    0x3ff32170fc4cd831,
    0x3ff33c08b26416ff,
    0x3ff356c55f929ff1,
    0x3ff371a7373aa9cb,
    0x3ff38cae6d05d866,
    0x3ff3a7db34e59ff7,
    0x3ff3c32dc313a8e5,
    0x3ff3dea64c123422,
    0x3ff3fa4504ac801c,
    0x3ff4160a21f72e2a,
    0x3ff431f5d950a897,
    0x3ff44e086061892d,
    0x3ff46a41ed1d0057,
    0x3ff486a2b5c13cd0,
    0x3ff4a32af0d7d3de,
    0x3ff4bfdad5362a27,
    0x3ff4dcb299fddd0d,
    0x3ff4f9b2769d2ca7,
    0x3ff516daa2cf6642,
    0x3ff5342b569d4f82,
    0x3ff551a4ca5d920f,
    0x3ff56f4736b527da,
    0x3ff58d12d497c7fd,
    0x3ff5ab07dd485429,
    0x3ff5c9268a5946b7,
    0x3ff5e76f15ad2148,
    0x3ff605e1b976dc09,
    0x3ff6247eb03a5585,
    0x3ff6434634ccc320,
    0x3ff6623882552225,
    0x3ff68155d44ca973,
    0x3ff6a09e667f3bcd,
    0x3ff6c012750bdabf,
    0x3ff6dfb23c651a2f,
    0x3ff6ff7df9519484,
    0x3ff71f75e8ec5f74,
    0x3ff73f9a48a58174,
    0x3ff75feb564267c9,
    0x3ff780694fde5d3f,
    0x3ff7a11473eb0187,
    0x3ff7c1ed0130c132,
    0x3ff7e2f336cf4e62,
    0x3ff80427543e1a12,
    0x3ff82589994cce13,
    0x3ff8471a4623c7ad,
    0x3ff868d99b4492ed,
    0x3ff88ac7d98a6699,
    0x3ff8ace5422aa0db,
    0x3ff8cf3216b5448c,
    0x3ff8f1ae99157736,
    0x3ff9145b0b91ffc6,
    0x3ff93737b0cdc5e5,
    0x3ff95a44cbc8520f,
    0x3ff97d829fde4e50,
    0x3ff9a0f170ca07ba,
    0x3ff9c49182a3f090,
    0x3ff9e86319e32323,
    0x3ffa0c667b5de565,
    0x3ffa309bec4a2d33,
    0x3ffa5503b23e255d,
    0x3ffa799e1330b358,
    0x3ffa9e6b5579fdbf,
    0x3ffac36bbfd3f37a,
    0x3ffae89f995ad3ad,
    0x3ffb0e07298db666,
    0x3ffb33a2b84f15fb,
    0x3ffb59728de5593a,
    0x3ffb7f76f2fb5e47,
    0x3ffba5b030a1064a,
    0x3ffbcc1e904bc1d2,
    0x3ffbf2c25bd71e09,
    0x3ffc199bdd85529c,
    0x3ffc40ab5fffd07a,
    0x3ffc67f12e57d14b,
    0x3ffc8f6d9406e7b5,
    0x3ffcb720dcef9069,
    0x3ffcdf0b555dc3fa,
    0x3ffd072d4a07897c,
    0x3ffd2f87080d89f2,
    0x3ffd5818dcfba487,
    0x3ffd80e316c98398,
    0x3ffda9e603db3285,
    0x3ffdd321f301b460,
    0x3ffdfc97337b9b5f,
    0x3ffe264614f5a129,
    0x3ffe502ee78b3ff6,
    0x3ffe7a51fbc74c83,
    0x3ffea4afa2a490da,
    0x3ffecf482d8e67f1,
    0x3ffefa1bee615a27,
    0x3fff252b376bba97,
    0x3fff50765b6e4540,
    0x3fff7bfdad9cbe14,
    0x3fffa7c1819e90d8,
    0x3fffd3c22b8f71f1,
];

/// 128/ln 2.
const INV_LN2_N: f64 = 184.664_965_233_787_3;
/// ln 2/128 in two parts: the high part has 24 trailing zero bits, so
/// k·HI is exact for |k| < 2²⁹.
const LN2_N_HI: f64 = f64::from_bits(0x3f76_2e42_fe00_0000);
const LN2_N_LO: f64 = 1.422_371_873_831_364_2e-11;
/// 1.5·2⁵²: adding and subtracting it rounds to the nearest integer.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// e^x, within about one ulp (see the module).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= LIMIT {
        return x.exp();
    }
    exp_core(x)
}

/// Arguments of [`exp_core`]: |x| < 700.
pub const LIMIT: f64 = 700.0;

/// e^x for |x| < [`LIMIT`], without branches (so that loops over lanes of
/// it vectorise); the same arithmetic as [`exp`] there.
#[inline(always)]
pub fn exp_core(x: f64) -> f64 {
    let shifted = x * INV_LN2_N + SHIFT;
    // The integer k = round(x·128/ln 2) sits in the low bits of `shifted`.
    let n = shifted.to_bits().wrapping_sub(SHIFT.to_bits());
    let kd = shifted - SHIFT;
    let r = (x - kd * LN2_N_HI) - kd * LN2_N_LO;
    let p = r + r * r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0))));
    let s = f64::from_bits(TABLE[(n & 127) as usize].wrapping_add(((n as i64 >> 7) as u64) << 52));
    s + s * p
}

/// [`exp_core`] on four lanes with AVX2.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;

/// [`exp_core`] on eight lanes with AVX-512.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn ulps(a: f64, b: f64) -> i64 {
        (a.to_bits() as i64 - b.to_bits() as i64).abs()
    }

    /// Within one ulp of the C library's exp (itself within ~0.5 ulp of
    /// e^x) on 2·10⁶ arguments across the range, near 0 and at the edges;
    /// the C library's own values beyond ±700 and for special values.
    #[test]
    fn matches_the_c_library_within_one_ulp() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        let mut worst = 0;
        for i in 0..2_000_000u32 {
            let x = match i % 4 {
                0 => rng.random_range(-700.0..700.0),
                1 => rng.random_range(-1.0..1.0),
                2 => rng.random_range(-1e-3..1e-3),
                _ => rng.random_range(-40.0..5.0),
            };
            let d = ulps(exp(x), x.exp());
            worst = worst.max(d);
            assert!(d <= 1, "exp({x}): {} vs {}", exp(x), x.exp());
        }
        eprintln!("worst difference: {worst} ulp");
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            699.9,
            -699.9,
            700.0,
            -745.0,
            710.0,
            f64::INFINITY,
        ] {
            assert!(ulps(exp(x), x.exp()) <= 1, "{x}");
        }
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }
}
