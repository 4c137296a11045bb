//! Counts of vesicles, cells and molecules drawn over the whole range of
//! `f64`: exact samplers ([`super::samplers`]) where a count fits them, a
//! normal approximation (relative error about 1/√n, below 10⁻⁹) beyond.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::samplers;

/// A Poisson draw of mean `lambda` as `f64` (0 for λ ≤ 0; a normal
/// approximation, exact to ~1/√λ ≤ 1e-9 in relative terms, above 10¹⁸).
/// Exact below: inversion or PTRS ([`samplers::poisson`]).
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        0.0
    } else if lambda < 1e18 {
        samplers::poisson(rng, lambda)
    } else {
        let z: f64 = rng.sample(StandardNormal);
        (lambda + lambda.sqrt() * z).round().max(0.0)
    }
}

/// Binomial thinning: each of `n` items kept with probability `p`
/// (exact, [`samplers::binomial`], below 1.8·10¹⁹ items; a normal
/// approximation above).
pub fn thin<R: Rng + ?Sized>(rng: &mut R, n: f64, p: f64) -> f64 {
    if n <= 0.0 || p <= 0.0 {
        0.0
    } else if p >= 1.0 {
        n
    } else if n < 1.8e19 {
        samplers::binomial(rng, n.floor(), p)
    } else {
        let z: f64 = rng.sample(StandardNormal);
        (n * p + (n * p * (1.0 - p)).sqrt() * z).round().max(0.0)
    }
}
