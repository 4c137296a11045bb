//! Tissue contact detection against the time-dependent Smoluchowski law.
//!
//! Law: a perfectly absorbing sphere of radius R, placed at t = 0 in an
//! initially uniform concentration c of particles with diffusion coefficient
//! D, absorbs at the rate c·k(t), k(t) = 4πDR(1 + R/√(πDt)). The cumulative
//! number absorbed by time T is therefore
//!
//!   N(T) = c∫₀ᵀ k(t) dt = 4πDRcT + 4πDR²c·2√T/√(πD) = 4πDRcT + 8R²c√(πDT).
//!
//! Set-up: the particles start uniform in the shell R < r < R_out and move
//! freely (no outer wall). Instead of refilling, T is kept short and R_out
//! large, R_out = R + 6√(DT): a particle starting at r touches the sphere by
//! T with probability (R/r)·erfc((r − R)/(2√(DT))), so the particles missing
//! beyond R_out (computed below, well under 0.1 %) would have contributed
//! almost nothing, and the depletion zone never reaches R_out. The expected
//! count of this truncated set-up (the law minus that tail) is the theory.
//!
//! The time step is large, √(DΔt) = 0.4 R. The end-of-step check then
//! misses the excursions into the sphere during a step and undercounts by
//! well over 10 %; the Brownian-bridge correction (docs/references.md#andrews-bray-2004)
//! must bring the count within 3 %. Both are asserted, so the test shows
//! that the correction matters. Each particle follows one free path, and
//! both rules are applied to that same path (absorption does not change the
//! path before it happens), so the two counts come from one simulation.
//! Randomness: one stream per chunk of particles of fixed size, so the
//! result does not depend on the thread count.

use exosim::random;
use exosim::tissue::contact::{
    Sphere, crossed_during_step, naive_contact, smoluchowski_absorbed, smoluchowski_rate_t,
};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use statrs::function::erf::erfc;
use std::f64::consts::PI;

const D: f64 = 1.0;
const R: f64 = 1.0;
/// √(DΔt) = 0.4 R.
const DT: f64 = 0.16;
const STEPS: usize = 10;
const PARTICLES: usize = 4_000_000;
const CHUNK: usize = 8192;
const SEED: u64 = 2004;
const DOMAIN: u64 = 0x7155_u64;

/// Per-step histograms of the absorption step: index k counts particles
/// absorbed during step k (ending at (k+1)Δt).
struct Counts {
    bridge: Vec<u64>,
    naive: Vec<u64>,
}

fn simulate(r_out: f64) -> Counts {
    let sphere = Sphere::new([0.0; 3], R);
    let sigma = (2.0 * D * DT).sqrt();
    let chunks = PARTICLES.div_ceil(CHUNK);
    let (r3, o3) = (R.powi(3), r_out.powi(3));
    (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut rng = random::stream(SEED, DOMAIN, chunk as u64);
            let mut bridge = vec![0u64; STEPS];
            let mut naive = vec![0u64; STEPS];
            let n = CHUNK.min(PARTICLES - chunk * CHUNK);
            for _ in 0..n {
                // Uniform in the shell: r³ uniform, direction uniform.
                let u: f64 = rng.random();
                let r = (r3 + u * (o3 - r3)).cbrt();
                let cos: f64 = 2.0 * rng.random::<f64>() - 1.0;
                let phi: f64 = 2.0 * PI * rng.random::<f64>();
                let sin = (1.0 - cos * cos).sqrt();
                let mut x = [r * sin * phi.cos(), r * sin * phi.sin(), r * cos];
                let (mut hit_bridge, mut hit_naive) = (false, false);
                for step in 0..STEPS {
                    let mut y = x;
                    for yi in &mut y {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        *yi += sigma * z;
                    }
                    let u: f64 = rng.random();
                    if !hit_bridge && crossed_during_step(x, y, &sphere, D, DT, u) {
                        hit_bridge = true;
                        bridge[step] += 1;
                    }
                    if !hit_naive && naive_contact(y, &sphere) {
                        hit_naive = true;
                        naive[step] += 1;
                    }
                    if hit_bridge && hit_naive {
                        break;
                    }
                    x = y;
                }
            }
            Counts { bridge, naive }
        })
        .reduce(
            || Counts {
                bridge: vec![0; STEPS],
                naive: vec![0; STEPS],
            },
            |mut a, b| {
                for k in 0..STEPS {
                    a.bridge[k] += b.bridge[k];
                    a.naive[k] += b.naive[k];
                }
                a
            },
        )
}

/// Expected count that the law attributes to particles starting beyond
/// R_out: c∫_{R_out}^∞ 4πr²·(R/r)·erfc((r − R)/(2√(DT))) dr.
fn tail_beyond(r_out: f64, c: f64, t: f64) -> f64 {
    let n = 20_000;
    let span = 20.0 * (D * t).sqrt();
    let h = span / n as f64;
    (0..n)
        .map(|i| {
            let r = r_out + (i as f64 + 0.5) * h;
            4.0 * PI * r * R * erfc((r - R) / (2.0 * (D * t).sqrt())) * h
        })
        .sum::<f64>()
        * c
}

/// Time-dependent Smoluchowski law N(T) = 4πDRcT + 8R²c√(πDT):
/// the Brownian-bridge correction matches it within 3 % at √(DΔt) = 0.4 R,
/// where the end-of-step check undercounts by more than 10 %.
#[test]
fn smoluchowski_absorption_needs_the_bridge_correction() {
    let t_end = STEPS as f64 * DT;
    let r_out = R + 6.0 * (D * t_end).sqrt();
    let volume = 4.0 / 3.0 * PI * (r_out.powi(3) - R.powi(3));
    let c = PARTICLES as f64 / volume;

    // The closed form is the integral of the rate (checked here by quadrature
    // in s = √t, which removes the 1/√t singularity).
    let m = 100_000;
    let h = t_end.sqrt() / m as f64;
    let quad: f64 = (0..m)
        .map(|i| {
            let s = (i as f64 + 0.5) * h;
            c * smoluchowski_rate_t(D, R, s * s) * 2.0 * s * h
        })
        .sum();
    let law = smoluchowski_absorbed(D, R, c, t_end);
    assert!(
        (quad / law - 1.0).abs() < 1e-8,
        "quadrature {quad} vs {law}"
    );
    assert!(
        (law - (4.0 * PI * D * R * c * t_end + 8.0 * R * R * c * (PI * D * t_end).sqrt())).abs()
            < 1e-9 * law
    );

    let counts = simulate(r_out);
    let mut cum_b = 0u64;
    let mut cum_n = 0u64;
    println!("   t      theory    bridge (rel)      naive (rel)");
    for k in 0..STEPS {
        cum_b += counts.bridge[k];
        cum_n += counts.naive[k];
        let t = (k + 1) as f64 * DT;
        let th = smoluchowski_absorbed(D, R, c, t) - tail_beyond(r_out, c, t);
        println!(
            "{t:5.2} {th:10.0} {cum_b:9} ({:+.4}) {cum_n:9} ({:+.4})",
            cum_b as f64 / th - 1.0,
            cum_n as f64 / th - 1.0
        );
    }
    let tail = tail_beyond(r_out, c, t_end);
    let theory = law - tail;
    let (nb, nn) = (cum_b as f64, cum_n as f64);
    // Poisson error of a count (an upper bound: the count is binomial).
    let err = theory.sqrt() / theory;
    let rel_b = nb / theory - 1.0;
    let rel_n = nn / theory - 1.0;
    println!(
        "T = {t_end}, R_out = {r_out:.3}, c = {c:.2}, particles = {PARTICLES}, \
         tail beyond R_out = {tail:.2} ({:.2e} of the law)",
        tail / law
    );
    println!(
        "theory {theory:.0}; bridge {nb} ({rel_b:+.4}); naive {nn} ({rel_n:+.4}); \
         Poisson rel. error {err:.4}"
    );
    assert!(tail / law < 1e-3, "truncation at R_out must be negligible");
    assert!(err < 0.006, "statistical error must be well below 3 %");
    assert!(
        rel_b.abs() < 0.03,
        "bridge-corrected count {nb} vs {theory:.0}: {rel_b:+.4}"
    );
    assert!(
        rel_n < -0.10,
        "naive count {nn} vs {theory:.0}: {rel_n:+.4} should be > 10 % low"
    );
}
