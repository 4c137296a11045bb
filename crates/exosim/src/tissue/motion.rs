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
//! parallel; chunk `k` of step `s` draws from its own generators
//! ([`chunk_generators`], seeded from `random::stream(seed, MOTION_DOMAIN,
//! s·2^20 + k)`) and sums its own boundary losses, and the chunk sums are
//! added in chunk order. Results are therefore bit-identical whatever the
//! number of threads.
//!
//! Storage is compact, because a tissue may hold millions of particles:
//! positions and birth times are `f32`, the rest as in the engine (30 bytes
//! per particle without cargo, one of them a distance bound that lets uptake
//! steps skip the cell search, see [`super::uptake`]). Arithmetic is done in
//! `f64` and only the stored result is rounded. An `f32` coordinate has a relative
//! precision of 6·10⁻⁸: 0.015 nm at 200 µm from the origin and 0.6 nm at
//! 1 cm, against a vesicle diameter of 30–150 nm and a step of hundreds of
//! nanometres, and rounding errors are unbiased, so they add up like a
//! random walk (15 nm after 10⁶ steps at 200 µm). An `f32` birth time is
//! within 0.06 s at 10⁶ s (11.6 days) of simulated time.

use rand::{Rng, RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use super::domain::{Boundary, Domain, Fate};
use crate::random;
use crate::units::BOLTZMANN;

/// Particles per chunk: the unit of parallel work and of random streams.
pub const CHUNK: usize = 4096;

/// Stream domain of Brownian motion (see [`crate::random::stream`]).
pub const MOTION_DOMAIN: u64 = u64::from_be_bytes(*b"tisbrown");

/// Chunks per step in the stream entity `step·2^20 + chunk`.
pub(crate) const CHUNKS_PER_STEP: u64 = 1 << 20;

/// The generator of one chunk of one step.
///
/// Particle steps need three normal variates each, so the generator sets the
/// pace (`benches/transport.rs`: PCG-64 MCG gives about twice the steps per
/// second of ChaCha8). Its 128-bit state is drawn from the keyed ChaCha8
/// stream of the chunk ([`crate::random::stream`]), so chunks stay
/// reproducible and independent; a chunk uses a few 10⁴ numbers of a period
/// of 2¹²⁶.
pub fn chunk_rng(seed: u64, domain: u64, entity: u64) -> Pcg64Mcg {
    Pcg64Mcg::from_rng(&mut random::stream(seed, domain, entity))
}

/// The generators of one chunk of one step: one for the normal variates of
/// the moves and one for every other draw, both seeded from the chunk's
/// keyed stream ([`crate::random::stream`]) like [`chunk_rng`].
pub fn chunk_generators(seed: u64, domain: u64, entity: u64) -> (Pcg64Mcg, Pcg64Mcg) {
    let mut keyed = random::stream(seed, domain, entity);
    let normals = Pcg64Mcg::from_rng(&mut keyed);
    let uniforms = Pcg64Mcg::from_rng(&mut keyed);
    (normals, uniforms)
}

/// Stokes–Einstein diffusion coefficient `D = k_B·T / (3·π·η·d)` (m²/s;
/// docs/references.md#stokes-einstein) of a
/// sphere of `diameter` (m) in a fluid of `viscosity` (Pa·s) at
/// `temperature` (K).
pub fn stokes_einstein(diameter: f64, temperature: f64, viscosity: f64) -> f64 {
    BOLTZMANN * temperature / (3.0 * std::f64::consts::PI * viscosity * diameter)
}

/// Vesicle particles as a structure of arrays; every array has one entry
/// per particle. Use [`VesicleParticles::push`] to keep them the same length.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct VesicleParticles {
    /// x coordinates (m), stored as `f32` (see the module doc); read them
    /// with [`VesicleParticles::x`] or [`VesicleParticles::position`], move
    /// a particle with [`VesicleParticles::set_position`].
    pub(crate) x: Vec<f32>,
    /// y coordinates (m).
    pub(crate) y: Vec<f32>,
    /// z coordinates (m); unused in 2-D.
    pub(crate) z: Vec<f32>,
    /// Number of vesicles the particle stands for.
    pub weight: Vec<f64>,
    /// Vesicle class (index into per-class tables such as `d_per_class`).
    pub class: Vec<u32>,
    /// Time of release (s), stored as `f32` (see the module doc); read it
    /// with [`VesicleParticles::birth`].
    pub birth: Vec<f32>,
    /// Whether the particle is still in the tissue.
    pub alive: Vec<bool>,
    /// Cargo copies carried, `cargo_len` molecules per particle (summed over
    /// the vesicles the particle stands for); empty when no cargo is tracked.
    pub cargo: Vec<f32>,
    /// Molecules tracked per particle.
    pub cargo_len: usize,
    /// Per particle, a lower bound on its distance to the nearest cell
    /// surface, in quanta of the cell grid it was measured with
    /// (`free_grid`); 0 when unknown. Uptake steps skip the cell search
    /// while the step cannot reach that far, which is why positions change
    /// only through methods that reset it.
    pub(crate) free: Vec<u8>,
    /// The cell grid (its generation number) that `free` refers to; 0 for none.
    /// Not saved: a resumed run builds new grids, so its bounds start unknown.
    #[serde(skip)]
    pub(crate) free_grid: u64,
    /// Per-chunk boundary-loss sums, reused between steps.
    #[serde(skip)]
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
            free: Vec::with_capacity(n),
            free_grid: 0,
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
        self.x.push(pos[0] as f32);
        self.y.push(pos[1] as f32);
        self.z.push(pos[2] as f32);
        self.weight.push(weight);
        self.class.push(class);
        self.birth.push(birth as f32);
        self.alive.push(true);
        self.free.push(0);
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
        [self.x[i] as f64, self.y[i] as f64, self.z[i] as f64]
    }

    /// Moves particle `i` to `pos` (stored as `f32`).
    pub fn set_position(&mut self, i: usize, pos: [f64; 3]) {
        self.x[i] = pos[0] as f32;
        self.y[i] = pos[1] as f32;
        self.z[i] = pos[2] as f32;
        self.free[i] = 0;
    }

    /// The x coordinates of all particles (m).
    pub fn x(&self) -> &[f32] {
        &self.x
    }

    /// The y coordinates of all particles (m).
    pub fn y(&self) -> &[f32] {
        &self.y
    }

    /// The z coordinates of all particles (m).
    pub fn z(&self) -> &[f32] {
        &self.z
    }

    /// Time of release of particle `i` (s).
    pub fn birth(&self, i: usize) -> f64 {
        self.birth[i] as f64
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

    /// Bytes held by the particle arrays (their capacities, cargo included).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        (self.x.capacity() + self.y.capacity() + self.z.capacity() + self.birth.capacity())
            * size_of::<f32>()
            + self.weight.capacity() * size_of::<f64>()
            + self.class.capacity() * size_of::<u32>()
            + self.alive.capacity() * size_of::<bool>()
            + self.free.capacity() * size_of::<u8>()
            + self.cargo.capacity() * size_of::<f32>()
            + self.scratch.capacity() * size_of::<f64>()
    }

    /// Drops the dead particles and orders the alive ones along a space-filling
    /// (Morton) curve over their bounding box, moving cargo along.
    ///
    /// Indices change, so call it between steps, never with uptake events
    /// still to be read. Particles close in space then lie close in memory,
    /// which keeps the cell-list look-ups of a step in cache; the order is a
    /// function of the positions alone (ties keep index order), so a run
    /// stays reproducible. Needs 8 bytes per particle for the keys, plus one
    /// array at a time while the fields are permuted.
    pub fn compact(&mut self) {
        let n = self.len();
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for i in (0..n).filter(|&i| self.alive[i]) {
            for (a, v) in [self.x[i], self.y[i], self.z[i]].into_iter().enumerate() {
                lo[a] = lo[a].min(v);
                hi[a] = hi[a].max(v);
            }
        }
        // 10 bits per axis: a 1024³ lattice over the bounding box.
        let scale: [f64; 3] = std::array::from_fn(|a| {
            let span = hi[a] as f64 - lo[a] as f64;
            if span > 0.0 && span.is_finite() {
                1023.0 / span
            } else {
                0.0
            }
        });
        let mut keys: Vec<(u32, u32)> = (0..n)
            .filter(|&i| self.alive[i])
            .map(|i| {
                let q = |a: usize, v: f32| ((v as f64 - lo[a] as f64) * scale[a]) as u32;
                let key = spread_bits(q(0, self.x[i]))
                    | spread_bits(q(1, self.y[i])) << 1
                    | spread_bits(q(2, self.z[i])) << 2;
                (key, i as u32)
            })
            .collect();
        keys.sort_unstable();
        fn gather<T: Copy>(v: &mut Vec<T>, keys: &[(u32, u32)]) {
            let out: Vec<T> = keys.iter().map(|&(_, i)| v[i as usize]).collect();
            *v = out;
        }
        gather(&mut self.x, &keys);
        gather(&mut self.y, &keys);
        gather(&mut self.z, &keys);
        gather(&mut self.weight, &keys);
        gather(&mut self.class, &keys);
        gather(&mut self.birth, &keys);
        gather(&mut self.alive, &keys);
        gather(&mut self.free, &keys);
        if self.cargo_len > 0 {
            let m = self.cargo_len;
            let mut cargo = Vec::with_capacity(keys.len() * m);
            for &(_, i) in &keys {
                let i = i as usize;
                cargo.extend_from_slice(&self.cargo[i * m..(i + 1) * m]);
            }
            self.cargo = cargo;
        }
    }
}

/// The 10 low bits of `v` spread to every third bit (Morton code of one axis).
fn spread_bits(v: u32) -> u32 {
    let mut x = v & 0x3ff;
    x = (x | x << 16) & 0x0300_00ff;
    x = (x | x << 8) & 0x0300_f00f;
    x = (x | x << 4) & 0x030c_30c3;
    x = (x | x << 2) & 0x0924_9249;
    x
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

/// The domain's box as stored positions see it: positions inside the box
/// are rounded to `f32` and then clamped to the `f32` values inside it, so a
/// stored position never lies outside by a rounding (and never on the upper
/// face of a periodic axis, which wraps to `[lower, upper)`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredBox {
    lo: [f32; 3],
    hi: [f32; 3],
}

impl StoredBox {
    pub(crate) fn new(domain: &Domain) -> Self {
        let mut lo = [f32::NEG_INFINITY; 3];
        let mut hi = [f32::INFINITY; 3];
        for a in 0..domain.dim {
            let (l, h) = (domain.lower[a], domain.upper[a]);
            let mut l32 = l as f32;
            if (l32 as f64) < l {
                l32 = l32.next_up();
            }
            let mut h32 = h as f32;
            let periodic = domain.faces[a][1] == Boundary::Periodic;
            if (h32 as f64) > h || (periodic && h32 as f64 >= h) {
                h32 = h32.next_down();
            }
            lo[a] = l32;
            hi[a] = h32.max(l32);
        }
        StoredBox { lo, hi }
    }

    /// The lowest and highest stored coordinates per axis (±∞ on unused axes).
    pub(crate) fn bounds(&self) -> ([f32; 3], [f32; 3]) {
        (self.lo, self.hi)
    }

    /// `v` (on `axis`, inside the domain) as stored.
    #[inline(always)]
    pub(crate) fn store(&self, axis: usize, v: f64) -> f32 {
        (v as f32).max(self.lo[axis]).min(self.hi[axis])
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
    particles.check_lengths();
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
    let sigma: Vec<f64> = d_per_class.iter().map(|d| (2.0 * d * dt).sqrt()).collect();
    let shift: [f64; 3] = std::array::from_fn(|a| drift[a] * dt);
    let stored = StoredBox::new(domain);
    let entity0 = step.wrapping_mul(CHUNKS_PER_STEP);
    // Distances to cells are not followed here.
    particles.free_grid = 0;

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
            let (mut normals, _) =
                chunk_generators(seed, MOTION_DOMAIN, entity0.wrapping_add(k as u64));
            for i in 0..xs.len() {
                if !alive[i] {
                    continue;
                }
                let c = cs[i] as usize;
                let mut pos = [xs[i] as f64, ys[i] as f64, zs[i] as f64];
                displace(&mut pos, domain.dim, shift, sigma[c], &mut normals);
                match domain.apply(&mut pos) {
                    Fate::Inside => {
                        xs[i] = stored.store(0, pos[0]);
                        ys[i] = stored.store(1, pos[1]);
                        zs[i] = stored.store(2, pos[2]);
                    }
                    fate => {
                        xs[i] = pos[0] as f32;
                        ys[i] = pos[1] as f32;
                        zs[i] = pos[2] as f32;
                        alive[i] = false;
                        let slot = if matches!(fate, Fate::Absorbed { .. }) {
                            c
                        } else {
                            n_classes + c
                        };
                        lost[slot] += ws[i];
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

/// Adds `shift[a] + sigma·N(0,1)` to each axis below `dim` (one normal
/// variate per axis, in axis order).
#[inline(always)]
pub(crate) fn displace<R: Rng>(
    pos: &mut [f64; 3],
    dim: usize,
    shift: [f64; 3],
    sigma: f64,
    normals: &mut R,
) {
    // One call site for the variates, so that the ziggurat is inlined.
    for (a, p) in pos.iter_mut().enumerate().take(dim) {
        let g: f64 = normals.sample(StandardNormal);
        *p += shift[a] + sigma * g;
    }
}

impl VesicleParticles {
    /// Panics unless every per-particle array has one entry per particle.
    pub(crate) fn check_lengths(&self) {
        let n = self.len();
        assert!(
            [
                self.y.len(),
                self.z.len(),
                self.weight.len(),
                self.class.len(),
                self.birth.len(),
                self.alive.len(),
                self.free.len(),
            ]
            .iter()
            .all(|&l| l == n)
                && self.cargo.len() == n * self.cargo_len,
            "particle arrays differ in length"
        );
    }
}
