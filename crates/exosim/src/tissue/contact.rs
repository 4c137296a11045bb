//! Contact of diffusing vesicles with absorbing spheres (cells).
//!
//! A vesicle moved by discrete Brownian steps of length Δt can touch a cell
//! and leave it again within one step. Checking only the end of each step
//! ([`naive_contact`]) therefore misses contacts, and the miss grows with
//! the rms step √(2DΔt) relative to the cell radius: the uptake rate comes
//! out too low unless Δt is tiny. [`crossed_during_step`] adds the
//! probability that the Brownian bridge between the two end points touched
//! the sphere (Andrews & Bray 2004,
//! docs/references.md#andrews-bray-2004), so that absorption
//! stays close to the continuous-time Smoluchowski rate 4πDR
//! ([`smoluchowski_rate`], [`smoluchowski_rate_t`]) for large steps.
//!
//! The functions take the uniform random draw from the caller, so the caller
//! decides which per-entity stream ([`crate::random::stream`]) it comes
//! from and results do not depend on thread count.

use std::f64::consts::PI;

/// An absorbing sphere: a cell, or any target that removes vesicles on contact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sphere {
    /// Centre position (same length unit as the particle positions).
    pub centre: [f64; 3],
    /// Radius (> 0).
    pub radius: f64,
}

impl Sphere {
    /// A sphere with the given centre and radius.
    pub fn new(centre: [f64; 3], radius: f64) -> Self {
        Sphere { centre, radius }
    }

    /// Distance from the centre to `p`.
    pub fn distance(&self, p: [f64; 3]) -> f64 {
        let dx = p[0] - self.centre[0];
        let dy = p[1] - self.centre[1];
        let dz = p[2] - self.centre[2];
        (dx * dx + dy * dy + dz * dz).sqrt()
    }

    /// Whether `p` lies inside the sphere or on its surface.
    pub fn contains(&self, p: [f64; 3]) -> bool {
        self.distance(p) <= self.radius
    }
}

/// Probability that a Brownian bridge of duration `dt` with diffusion
/// coefficient `d`, going from distance `r0` to distance `r1` from the
/// centre of a sphere of radius `radius`, touched the sphere.
///
/// Planar approximation (Andrews & Bray 2004, docs/references.md#andrews-bray-2004): the surface is treated as
/// the tangent plane, and the signed distances to it are r₀ − R and r₁ − R;
/// for a one-dimensional bridge with variance 2DΔt the probability of
/// reaching the plane is P = exp(−(r₀ − R)(r₁ − R)/(DΔt)). It is exact for
/// a plane. For a sphere it slightly overestimates the true probability
/// (the surface curves away from the path, and tangential motion is
/// ignored); the error is of order √(DΔt)/R, small while the rms step is
/// below the radius (√(DΔt) ≲ 0.5 R keeps the Smoluchowski uptake within
/// a few per cent — see `tests/tissue_absorption.rs`). Returns 1 when
/// either end point is inside the sphere or on its surface, and 0 when
/// `d·dt` is not positive and both ends are outside.
pub fn bridge_crossing_probability(r0: f64, r1: f64, radius: f64, d: f64, dt: f64) -> f64 {
    let g0 = r0 - radius;
    let g1 = r1 - radius;
    if g0 <= 0.0 || g1 <= 0.0 {
        return 1.0;
    }
    let s = d * dt;
    if s <= 0.0 {
        return 0.0;
    }
    (-g0 * g1 / s).exp()
}

/// Whether a particle that moved from `start` to `end` during one Brownian
/// step of duration `dt` (diffusion coefficient `d`) touched `sphere`.
///
/// True when the end point is inside the sphere (or on it). When both ends
/// are outside, true with the Brownian-bridge probability
/// [`bridge_crossing_probability`] (planar approximation, see there), decided
/// by comparing `u`, a uniform draw on [0, 1) supplied by the caller: the
/// contact happened if `u` < P. A start point inside the sphere also counts
/// as contact.
pub fn crossed_during_step(
    start: [f64; 3],
    end: [f64; 3],
    sphere: &Sphere,
    d: f64,
    dt: f64,
    u: f64,
) -> bool {
    let r1 = sphere.distance(end);
    if r1 <= sphere.radius {
        return true;
    }
    let r0 = sphere.distance(start);
    u < bridge_crossing_probability(r0, r1, sphere.radius, d, dt)
}

/// End-of-step contact check only: whether `end` is inside `sphere`.
///
/// Misses excursions into the sphere during the step; kept as the reference
/// against which the bridge correction is measured.
pub fn naive_contact(end: [f64; 3], sphere: &Sphere) -> bool {
    sphere.contains(end)
}

/// Steady-state Smoluchowski absorption rate constant of a perfectly
/// absorbing sphere of radius `r` in a medium of diffusion coefficient `d`:
/// k = 4πDR (volume per time; the flux is k·c for a far-field concentration c).
pub fn smoluchowski_rate(d: f64, r: f64) -> f64 {
    4.0 * PI * d * r
}

/// Time-dependent Smoluchowski rate constant at time `t` after a perfectly
/// absorbing sphere of radius `r` is placed in an initially uniform
/// concentration: k(t) = 4πDR(1 + R/√(πDt)). Tends to
/// [`smoluchowski_rate`] for t ≫ R²/D and diverges (integrably) as t → 0.
pub fn smoluchowski_rate_t(d: f64, r: f64, t: f64) -> f64 {
    smoluchowski_rate(d, r) * (1.0 + r / (PI * d * t).sqrt())
}

/// Expected number absorbed by time `t` from an initially uniform
/// concentration `c` around the sphere: c∫₀ᵗ k(s) ds = 4πDRct + 8R²c√(πDt),
/// the integral of [`smoluchowski_rate_t`].
pub fn smoluchowski_absorbed(d: f64, r: f64, c: f64, t: f64) -> f64 {
    c * (4.0 * PI * d * r * t + 8.0 * r * r * (PI * d * t).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_probability_limits() {
        let (r, d, dt) = (1.0, 1.0, 0.1);
        // Far from the surface: vanishes.
        assert!(bridge_crossing_probability(5.0, 5.0, r, d, dt) < 1e-50);
        assert!(bridge_crossing_probability(1.0 + 1e-12, 3.0, r, d, dt) > 1.0 - 1e-10);
        // At or inside the surface: certain.
        assert_eq!(bridge_crossing_probability(1.0, 3.0, r, d, dt), 1.0);
        assert_eq!(bridge_crossing_probability(3.0, 0.5, r, d, dt), 1.0);
        // Monotone: decreasing with distance, increasing with D·Δt.
        let p1 = bridge_crossing_probability(1.2, 1.3, r, d, dt);
        let p2 = bridge_crossing_probability(1.2, 1.5, r, d, dt);
        let p3 = bridge_crossing_probability(1.2, 1.5, r, d, 2.0 * dt);
        assert!(p1 > p2 && p3 > p2 && p1 < 1.0);
        assert!((p1 - (-0.2f64 * 0.3 / 0.1).exp()).abs() < 1e-15);
        // No time, no excursion.
        assert_eq!(bridge_crossing_probability(1.2, 1.3, r, d, 0.0), 0.0);
    }

    #[test]
    fn end_inside_is_contact_whatever_the_draw() {
        let s = Sphere::new([1.0, 2.0, 3.0], 0.5);
        let start = [5.0, 2.0, 3.0];
        let end = [1.2, 2.1, 3.0];
        for u in [0.0, 0.5, 0.999_999] {
            assert!(crossed_during_step(start, end, &s, 1.0, 0.01, u));
        }
        assert!(naive_contact(end, &s));
        // Far end points, tiny step: no contact, for naive and bridge alike.
        let end = [5.0, 2.1, 3.0];
        assert!(!naive_contact(end, &s));
        assert!(!crossed_during_step(start, end, &s, 1.0, 0.01, 0.0));
        // Both ends close outside: contact exactly when u < P.
        let (a, b) = ([1.6, 2.0, 3.0], [1.0, 2.7, 3.0]);
        let p = bridge_crossing_probability(0.6, 0.7, 0.5, 1.0, 0.05);
        assert!(crossed_during_step(a, b, &s, 1.0, 0.05, 0.99 * p));
        assert!(!crossed_during_step(a, b, &s, 1.0, 0.05, 1.01 * p));
        assert!(!naive_contact(b, &s));
    }

    #[test]
    fn smoluchowski_rates() {
        let (d, r) = (2.0, 0.5);
        assert!((smoluchowski_rate(d, r) - 4.0 * PI).abs() < 1e-12);
        assert!((smoluchowski_rate_t(d, r, 1e12) / smoluchowski_rate(d, r) - 1.0).abs() < 1e-6);
        assert!(smoluchowski_rate_t(d, r, 0.01) > smoluchowski_rate(d, r));
        // The cumulative count is the integral of the time-dependent rate.
        let (c, t, n) = (3.0, 0.7f64, 200_000);
        // Midpoint rule on s = √t to remove the 1/√t singularity.
        let h = t.sqrt() / n as f64;
        let integral: f64 = (0..n)
            .map(|i| {
                let s = (i as f64 + 0.5) * h;
                c * smoluchowski_rate_t(d, r, s * s) * 2.0 * s * h
            })
            .sum();
        assert!((integral / smoluchowski_absorbed(d, r, c, t) - 1.0).abs() < 1e-8);
    }
}
