//! Vesicle particles and their Brownian motion with drift.
//!
//! Particles are stored as a structure of arrays ([`VesicleParticles`]); a
//! particle may stand for several vesicles (its weight). One step
//! ([`brownian_step`]) moves every alive particle by
//! `drift·dt + sqrt(2·D·dt)·N(0,1)` on each used axis, where `D` is the
//! diffusion coefficient of its class ([`stokes_einstein`] in free fluid,
//! times a hindrance factor in tissue matrix), then applies the domain's
//! boundaries.
//!
//! Work is split into fixed chunks of [`CHUNK`] particles processed in
//! parallel; chunk `k` of step `s` draws from
//! `random::stream(seed, MOTION_DOMAIN, s·2^20 + k)` and sums its own
//! boundary losses, and the chunk sums are added in chunk order. Results are
//! therefore bit-identical whatever the number of threads.

use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::domain::{Domain, Fate};
use crate::random;
use crate::units::BOLTZMANN;

/// Particles per chunk: the unit of parallel work and of random streams.
pub const CHUNK: usize = 4096;

/// Stream domain of Brownian motion (see [`crate::random::stream`]).
pub const MOTION_DOMAIN: u64 = u64::from_be_bytes(*b"tisbrown");

/// Chunks per step in the stream entity `step·2^20 + chunk`.
const CHUNKS_PER_STEP: u64 = 1 << 20;

/// Stokes–Einstein diffusion coefficient `D = k_B·T / (3·π·η·d)` (m²/s) of a
/// sphere of `diameter` (m) in a fluid of `viscosity` (Pa·s) at
/// `temperature` (K).
pub fn stokes_einstein(diameter: f64, temperature: f64, viscosity: f64) -> f64 {
    BOLTZMANN * temperature / (3.0 * std::f64::consts::PI * viscosity * diameter)
}

/// Vesicle particles as a structure of arrays; every array has one entry
/// per particle. Use [`VesicleParticles::push`] to keep them the same length.
#[derive(Debug, Clone, Default)]
pub struct VesicleParticles {
    /// x coordinate (m).
    pub x: Vec<f64>,
    /// y coordinate (m).
    pub y: Vec<f64>,
    /// z coordinate (m); unused in 2-D.
    pub z: Vec<f64>,
    /// Number of vesicles the particle stands for.
    pub weight: Vec<f64>,
    /// Vesicle class (index into per-class tables such as `d_per_class`).
    pub class: Vec<u32>,
    /// Time of release (s).
    pub birth: Vec<f64>,
    /// Whether the particle is still in the tissue.
    pub alive: Vec<bool>,
    /// Cargo copies carried, `cargo_len` molecules per particle (summed over
    /// the vesicles the particle stands for); empty when no cargo is tracked.
    pub cargo: Vec<f32>,
    /// Molecules tracked per particle.
    pub cargo_len: usize,
    /// Per-chunk boundary-loss sums, reused between steps.
    scratch: Vec<f64>,
}

impl VesicleParticles {
    /// No particles.
    pub fn new() -> Self {
        Self::default()
    }

    /// No particles, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        VesicleParticles {
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
            weight: Vec::with_capacity(n),
            class: Vec::with_capacity(n),
            birth: Vec::with_capacity(n),
            alive: Vec::with_capacity(n),
            cargo: Vec::new(),
            cargo_len: 0,
            scratch: Vec::new(),
        }
    }

    /// No particles; each will carry `molecules` cargo counters.
    pub fn with_cargo(molecules: usize) -> Self {
        VesicleParticles {
            cargo_len: molecules,
            ..Self::default()
        }
    }

    /// Like [`VesicleParticles::push`], with the particle's cargo
    /// (`cargo_len` entries).
    ///
    /// # Panics
    ///
    /// If `cargo` does not have `cargo_len` entries.
    pub fn push_with_cargo(
        &mut self,
        pos: [f64; 3],
        weight: f64,
        class: u32,
        birth: f64,
        cargo: &[f32],
    ) {
        assert_eq!(cargo.len(), self.cargo_len, "cargo length");
        self.push(pos, weight, class, birth);
        let start = self.cargo.len() - self.cargo_len;
        self.cargo[start..].copy_from_slice(cargo);
    }

    /// Cargo carried by particle `i` (empty when no cargo is tracked).
    pub fn cargo(&self, i: usize) -> &[f32] {
        &self.cargo[i * self.cargo_len..(i + 1) * self.cargo_len]
    }

    /// Adds an alive particle at `pos` standing for `weight` vesicles of
    /// `class`, released at time `birth`.
    pub fn push(&mut self, pos: [f64; 3], weight: f64, class: u32, birth: f64) {
        self.x.push(pos[0]);
        self.y.push(pos[1]);
        self.z.push(pos[2]);
        self.weight.push(weight);
        self.class.push(class);
        self.birth.push(birth);
        self.alive.push(true);
        self.cargo.resize(self.cargo.len() + self.cargo_len, 0.0);
    }

    /// Number of particles, alive or not.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are no particles.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Position of particle `i`.
    pub fn position(&self, i: usize) -> [f64; 3] {
        [self.x[i], self.y[i], self.z[i]]
    }

    /// Total weight of the alive particles of each class (`n_classes`
    /// entries), summed in particle order.
    pub fn alive_weight(&self, n_classes: usize) -> Vec<f64> {
        let mut out = vec![0.0; n_classes];
        for i in 0..self.len() {
            if self.alive[i] {
                out[self.class[i] as usize] += self.weight[i];
            }
        }
        out
    }
}

/// Weights that left the domain, per class, accumulated over steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoundaryCounts {
    /// Weight absorbed at absorbing faces, per class.
    pub absorbed: Vec<f64>,
    /// Weight drained (to lymph or blood) at draining faces, per class.
    pub drained: Vec<f64>,
}

impl BoundaryCounts {
    /// Zero counts for `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        BoundaryCounts {
            absorbed: vec![0.0; n_classes],
            drained: vec![0.0; n_classes],
        }
    }
}

/// One Brownian step of every alive particle.
///
/// Each alive particle of class `c` moves by
/// `drift[a]·dt + sqrt(2·d_per_class[c]·dt)·N(0,1)` on each axis `a` below
/// `domain.dim` (m/s, m²/s, s); then [`Domain::apply`] is applied. Particles
/// absorbed or drained are marked dead and their weights are added to
/// `counters` (per class). `step` must differ between the steps of a run so
/// that they draw fresh numbers; the result depends only on the inputs, not
/// on the thread count.
///
/// # Panics
///
/// If the particle arrays differ in length, a class has no entry in
/// `d_per_class`, `counters` has fewer classes than `d_per_class`, or a step
/// holds more than 2^20 chunks.
#[allow(clippy::too_many_arguments)]
pub fn brownian_step(
    particles: &mut VesicleParticles,
    domain: &Domain,
    d_per_class: &[f64],
    drift: [f64; 3],
    dt: f64,
    seed: u64,
    step: u64,
    counters: &mut BoundaryCounts,
) {
    let n = particles.len();
    let n_classes = d_per_class.len();
    assert!(
        [
            particles.y.len(),
            particles.z.len(),
            particles.weight.len(),
            particles.class.len(),
            particles.birth.len(),
            particles.alive.len(),
        ]
        .iter()
        .all(|&l| l == n),
        "particle arrays differ in length"
    );
    assert!(
        counters.absorbed.len() >= n_classes && counters.drained.len() >= n_classes,
        "counters have fewer classes than d_per_class"
    );
    if n == 0 || n_classes == 0 {
        return;
    }
    let n_chunks = n.div_ceil(CHUNK);
    assert!(
        n_chunks as u64 <= CHUNKS_PER_STEP,
        "too many particles for one step"
    );
    let row = 2 * n_classes;
    let scratch = &mut particles.scratch;
    scratch.clear();
    scratch.resize(n_chunks * row, 0.0);
    let dim = domain.dim;
    let entity0 = step.wrapping_mul(CHUNKS_PER_STEP);

    (
        particles.x.par_chunks_mut(CHUNK),
        particles.y.par_chunks_mut(CHUNK),
        particles.z.par_chunks_mut(CHUNK),
        particles.alive.par_chunks_mut(CHUNK),
        particles.weight.par_chunks(CHUNK),
        particles.class.par_chunks(CHUNK),
        scratch.par_chunks_mut(row),
    )
        .into_par_iter()
        .enumerate()
        .for_each(|(k, (xs, ys, zs, alive, ws, cs, lost))| {
            let mut rng = random::stream(seed, MOTION_DOMAIN, entity0.wrapping_add(k as u64));
            for i in 0..xs.len() {
                if !alive[i] {
                    continue;
                }
                let c = cs[i] as usize;
                let sigma = (2.0 * d_per_class[c] * dt).sqrt();
                let mut pos = [xs[i], ys[i], zs[i]];
                for (a, p) in pos.iter_mut().enumerate().take(dim) {
                    let g: f64 = rng.sample(StandardNormal);
                    *p += drift[a] * dt + sigma * g;
                }
                let fate = domain.apply(&mut pos);
                xs[i] = pos[0];
                ys[i] = pos[1];
                zs[i] = pos[2];
                match fate {
                    Fate::Inside => {}
                    Fate::Absorbed { .. } => {
                        alive[i] = false;
                        lost[c] += ws[i];
                    }
                    Fate::Drained { .. } => {
                        alive[i] = false;
                        lost[n_classes + c] += ws[i];
                    }
                }
            }
        });

    for lost in particles.scratch.chunks_exact(row) {
        for c in 0..n_classes {
            counters.absorbed[c] += lost[c];
            counters.drained[c] += lost[n_classes + c];
        }
    }
}
