//! The step driver: chunks of particles in parallel, each moved in blocks
//! (the vector passes, then the careful path), then capacity settled in
//! particle order.

use rayon::prelude::*;

use super::super::domain::Domain;
use super::super::motion::{
    BoundaryCounts, CHUNK, CHUNKS_PER_STEP, StoredBox, VesicleParticles, chunk_generators,
};
use super::careful::{ChunkOutcome, ChunkSlices, Kernel, Step};
use super::grid::MapView;
use super::grid::{Affinity, CellBodies, CellGrid, rounding_margin};
use super::grid::{BLOCK, REACH_SIGMAS, UPTAKE_DOMAIN};
use super::passes::FreeMoves;
use crate::random::fill_standard_normal_f32;

/// Vesicle weight taken up, per class and cell type.
#[derive(Debug, Clone, PartialEq)]
pub struct UptakeCounts {
    pub(super) kinds: usize,
    /// Weight taken up, `class * kinds + kind`.
    pub weight: Vec<f64>,
    /// Contacts that bounced (not taken up), per class.
    pub bounced: Vec<u64>,
    /// Each uptake as `(particle, cell)` in the order it happened; the
    /// caller drains it to unload cargo into the receiving cells.
    pub events: Vec<(u32, u32)>,
}

impl UptakeCounts {
    /// Zero counts.
    pub fn new(classes: usize, kinds: usize) -> Self {
        UptakeCounts {
            kinds,
            weight: vec![0.0; classes * kinds],
            bounced: vec![0; classes],
            events: Vec::new(),
        }
    }

    /// Weight of `class` taken up by cells of `kind`.
    pub fn get(&self, class: usize, kind: usize) -> f64 {
        self.weight[class * self.kinds + kind]
    }

    /// Weight of `class` taken up by all cells.
    pub fn class_total(&self, class: usize) -> f64 {
        self.weight[class * self.kinds..(class + 1) * self.kinds]
            .iter()
            .sum()
    }
}

/// Everything one step needs besides the particles and the counters.
#[derive(Debug, Clone, Copy)]
pub struct StepSettings<'a> {
    /// The tissue box.
    pub domain: &'a Domain,
    /// Diffusion coefficient per class, m²/s (matrix hindrance included).
    pub d_per_class: &'a [f64],
    /// Interstitial flow, m/s.
    pub drift: [f64; 3],
    /// Time step, s.
    pub dt: f64,
    /// Study seed.
    pub seed: u64,
    /// Step number (keys the random stream).
    pub step: u64,
}

impl Kernel<'_> {
    /// Moves the particles of one chunk (see the module doc); `first` is the
    /// index of its first particle.
    ///
    /// Works in blocks of [`BLOCK`] particles: the block's normal variates
    /// are drawn together (one buffer per axis, dead particles included, so
    /// that particle `i` always gets the variates of its slot), then one
    /// loop without branches moves every particle whose step cannot reach a
    /// cell nor leave the box, and marks the others, which then take
    /// [`Kernel::careful_step`] in particle order.
    pub(super) fn run(
        &self,
        rng_key: (u64, u64),
        first: usize,
        chunk: ChunkSlices,
    ) -> ChunkOutcome {
        let ChunkSlices {
            xs,
            ys,
            zs,
            alive,
            free,
            ws,
            cs,
        } = chunk;
        let classes = self.sigma.len();
        let mut out = ChunkOutcome {
            lost: vec![0.0; 2 * classes],
            bounced: vec![0; classes],
            wanted: Vec::new(),
        };
        let (mut normals, mut rng) = chunk_generators(rng_key.0, UPTAKE_DOMAIN, rng_key.1);
        let (mut near, mut wide) = (Vec::new(), Vec::new());
        let grid = self.grid;
        let (quantum, per_quantum) = (grid.quantum, 1.0 / grid.quantum);
        let three = self.domain.dim == 3;
        let axes = if three { 3 } else { 2 };
        let [sx, sy, sz] = self.shift;
        let sz = if three { sz } else { 0.0 };
        // Variates per axis (z stays 0 in 2-D), and per particle its
        // diffusion length, padding and whether it takes the careful path.
        let mut g = [[0.0f32; BLOCK]; 3];
        let mut sigma32 = [0.0f32; BLOCK];
        let mut pad32 = [0.0f32; BLOCK];
        let mut careful = [0u64; BLOCK / 64];
        let mut clear32 = [0.0f32; BLOCK];
        let mut left32 = [0.0f32; BLOCK];
        // The common moves in `f32`: a stored position strictly inside the
        // stored box comes from an exact sum inside the domain (rounding to
        // nearest moves it by less than the gap to a neighbouring `f32`),
        // and the margin covers every rounding of the distance bound.
        let (slo, shi) = self.stored.bounds();
        let (sx32, sy32, sz32) = (sx as f32, sy as f32, sz as f32);
        let (quantum32, per_quantum32) = (quantum as f32, per_quantum as f32);
        let margin32 = self.margin as f32;
        let map = self.map;
        let mut filled = None;
        let n = xs.len();
        let mut b0 = 0;
        while b0 < n {
            let m = BLOCK.min(n - b0);
            let block = b0..b0 + m;
            for ga in g.iter_mut().take(axes) {
                fill_standard_normal_f32(&mut normals, &mut ga[..m]);
            }
            // Per-particle diffusion lengths; a block of one class (the
            // usual case) is filled at once, and not again while the class
            // stays the same.
            let class0 = cs[b0];
            // Without a short cut, so that the test runs in SIMD.
            let mixed = cs[block.clone()]
                .iter()
                .fold(0, |any, &c| any | (c ^ class0));
            if mixed == 0 {
                if filled != Some(class0) {
                    sigma32.fill(self.sigma[class0 as usize] as f32);
                    pad32.fill(self.pad[class0 as usize] as f32);
                    filled = Some(class0);
                }
            } else {
                for (j, &c) in cs[block.clone()].iter().enumerate() {
                    sigma32[j] = self.sigma[c as usize] as f32;
                    pad32[j] = self.pad[c as usize] as f32;
                }
                filled = None;
            }
            FreeMoves {
                x: &mut xs[block.clone()],
                y: &mut ys[block.clone()],
                z: &mut zs[block.clone()],
                alive: &alive[block.clone()],
                free: &mut free[block.clone()],
                g: [&g[0][..m], &g[1][..m], &g[2][..m]],
                sigma: &sigma32[..m],
                pad: &pad32[..m],
                careful: &mut careful,
                clear: &mut clear32[..m],
                left: &mut left32[..m],
                shift: [sx32, sy32, sz32],
                lo: slo,
                hi: shi,
                quantum: quantum32,
                per_quantum: per_quantum32,
                margin: margin32,
                map,
            }
            .run();
            // The marked particles, in order, 64 marks at a time.
            let marked = careful.iter().enumerate().flat_map(|(w, &word)| {
                let mut word = word;
                std::iter::from_fn(move || {
                    let at = word.trailing_zeros() as usize;
                    word &= word.wrapping_sub(1);
                    (at < 64).then_some(64 * w + at)
                })
            });
            for j in marked {
                let i = b0 + j;
                // The same move in the same arithmetic as the common case,
                // so that a bound never changes a result.
                let dx = sx32 + sigma32[j] * g[0][j];
                let dy = sy32 + sigma32[j] * g[1][j];
                let dz = sz32 + sigma32[j] * g[2][j];
                let (x1, y1, z1) = (xs[i] + dx, ys[i] + dy, zs[i] + dz);
                let path = (dx * dx + dy * dy + dz * dz).sqrt() as f64;
                let (x0, y0, z0) = (xs[i] as f64, ys[i] as f64, zs[i] as f64);
                let (x1, y1, z1) = (x1 as f64, y1 as f64, z1 as f64);
                // The bound fell short even with the distance map: the
                // careful path measures the distance to the bin's cells
                // once, moves the particle if none is in reach, and checks
                // contact with those that are.
                let step = Step {
                    start: [x0, y0, z0],
                    end: [x1, y1, z1],
                    path,
                    pad: self.pad[cs[i] as usize],
                    clear: free[i] as f64 * quantum,
                    class: cs[i] as usize,
                };
                let slices = ChunkSlices {
                    xs: &mut *xs,
                    ys: &mut *ys,
                    zs: &mut *zs,
                    alive: &mut *alive,
                    free: &mut *free,
                    ws,
                    cs,
                };
                let scratch = (&mut near, &mut wide);
                self.careful_step(i, first, step, slices, &mut out, &mut rng, scratch);
            }
            b0 += m;
        }
        out
    }
}

/// One step of motion with uptake by `cells` (see the module doc). Vesicles
/// leaving through absorbing or draining faces are counted in `boundary`,
/// those taken up in `uptake` (events in particle order) and in
/// `cells.taken`. Particles are neither reordered nor removed.
///
/// # Panics
///
/// If the particle arrays differ in length, a class has no entry in
/// `d_per_class` or in the counters, `grid` was built for a different number
/// of cells, or a step holds more than 2^20 chunks.
pub fn step_with_uptake(
    particles: &mut VesicleParticles,
    cells: &mut CellBodies,
    grid: &CellGrid,
    affinity: &Affinity,
    settings: StepSettings,
    boundary: &mut BoundaryCounts,
    uptake: &mut UptakeCounts,
) {
    let StepSettings {
        domain,
        d_per_class,
        drift,
        dt,
        seed,
        step,
    } = settings;
    particles.check_lengths();
    assert_eq!(grid.cells, cells.len(), "grid built for other cells");
    let classes = d_per_class.len();
    assert!(
        boundary.absorbed.len() >= classes
            && boundary.drained.len() >= classes
            && uptake.bounced.len() >= classes,
        "counters have fewer classes than d_per_class"
    );
    let n = particles.len();
    if n == 0 || classes == 0 {
        return;
    }
    assert!(
        n.div_ceil(CHUNK) as u64 <= CHUNKS_PER_STEP,
        "too many particles for one step"
    );
    let sigma: Vec<f64> = d_per_class.iter().map(|d| (2.0 * d * dt).sqrt()).collect();
    let kernel = Kernel {
        cells,
        grid,
        affinity,
        domain,
        stored: StoredBox::new(domain),
        shift: std::array::from_fn(|a| drift[a] * dt),
        pad: sigma.iter().map(|s| REACH_SIGMAS * s).collect(),
        negligible: (-2.0 * REACH_SIGMAS * REACH_SIGMAS).exp(),
        sure_miss: 2.0 * REACH_SIGMAS * REACH_SIGMAS * dt * (1.0 + 1e-6),
        margin: rounding_margin(domain, grid),
        map: MapView::new(grid, rounding_margin(domain, grid)),
        sigma,
        d_per_class,
        dt,
    };
    let entity0 = step.wrapping_mul(CHUNKS_PER_STEP);
    if particles.free_grid != grid.generation {
        particles.free.fill(0);
        particles.free_grid = grid.generation;
    }
    let outcomes: Vec<ChunkOutcome> = (
        particles.x.par_chunks_mut(CHUNK),
        particles.y.par_chunks_mut(CHUNK),
        particles.z.par_chunks_mut(CHUNK),
        particles.alive.par_chunks_mut(CHUNK),
        particles.free.par_chunks_mut(CHUNK),
        particles.weight.par_chunks(CHUNK),
        particles.class.par_chunks(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .map(|(k, (xs, ys, zs, alive, free, ws, cs))| {
            let key = (seed, entity0.wrapping_add(k as u64));
            let chunk = ChunkSlices {
                xs,
                ys,
                zs,
                alive,
                free,
                ws,
                cs,
            };
            kernel.run(key, k * CHUNK, chunk)
        })
        .collect();

    // Merge in chunk order; capacity is settled in particle order.
    for out in &outcomes {
        for c in 0..classes {
            boundary.absorbed[c] += out.lost[c];
            boundary.drained[c] += out.lost[classes + c];
            uptake.bounced[c] += out.bounced[c];
        }
        for &(i, c) in &out.wanted {
            let (i, c) = (i as usize, c as usize);
            let class = particles.class[i] as usize;
            let kind = cells.kind[c] as usize;
            let w = particles.weight[i];
            if cells.taken[c] + w <= cells.capacity[c] {
                cells.taken[c] += w;
                uptake.weight[class * uptake.kinds + kind] += w;
                uptake.events.push((i as u32, c as u32));
                particles.alive[i] = false;
            } else {
                uptake.bounced[class] += 1;
            }
        }
    }
}
