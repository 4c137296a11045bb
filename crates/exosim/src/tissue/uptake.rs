//! Addressed uptake: a vesicle that reaches a cell is taken up with a
//! probability set by the match between its surface and the cell's
//! receptors, until the cell's capacity is used up.
//!
//! Each step moves a vesicle by Brownian motion and drift, then checks the
//! cells near its path for contact with the Brownian-bridge rule of
//! [`super::contact`] (accurate for large steps). On contact with a cell it
//! draws against the class–cell-type uptake probability: taken up (the
//! vesicle's weight goes to the cell, the particle dies) or bounced (the move
//! is rejected and the vesicle stays where it was, the reflective rule of
//! Andrews & Bray 2004). Cells are found through a uniform grid (cell list)
//! that also knows, per bin, how far the nearest cell surface is.
//!
//! Most vesicles are far from every cell, and a step is short, so the search
//! is skipped whenever it cannot find anything: each particle keeps a lower
//! bound on its distance to the nearest cell surface (one byte, measured
//! when it was last searched, or taken from its bin), lowered at each step
//! by the step's length (triangle inequality). While the bound exceeds the
//! step's length plus [`REACH_SIGMAS`] diffusion lengths, no contact is
//! possible (the bridge probability is below e⁻¹⁸ there). The bounds refer
//! to one grid; a new grid (cells moved, divided or died) resets them.
//!
//! Parallel and reproducible: particles are processed in fixed chunks of
//! [`CHUNK`], chunk `k` of step `s` drawing from its own generators
//! ([`chunk_generators`] keyed by `(seed, UPTAKE_DOMAIN, s·2^20 + k)`). A chunk
//! decides contacts and affinity draws on its own and lists the uptakes it
//! wants; capacity, which couples vesicles, is then settled in particle
//! index order: a cell grants uptakes in that order while its capacity
//! lasts, and the vesicles it refuses in this step bounce (stay where they
//! were, alive). Results are therefore bit-identical whatever the number of
//! threads, and a cell of unlimited capacity costs nothing more than a
//! comparison per uptake.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngExt;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use super::contact::{Sphere, bridge_crossing_probability};
use super::domain::{Domain, Fate};
use super::motion::{
    BoundaryCounts, CHUNK, CHUNKS_PER_STEP, StoredBox, VesicleParticles, chunk_generators,
};
use crate::random::fill_standard_normal_f32;

/// Particles moved together within a chunk (see [`Kernel::run`]).
const BLOCK: usize = 256;

/// Stream domain of uptake steps.
pub const UPTAKE_DOMAIN: u64 = u64::from_be_bytes(*b"tisuptak");

/// How far beyond a cell's surface a path is checked, in units of the step's
/// diffusion length σ = √(2DΔt), on top of the step's own length. With both
/// ends of the step beyond it, the bridge probability exp(−g₀g₁/(DΔt)) is
/// below e^(−2·3²) = e⁻¹⁸ ≈ 1.5·10⁻⁸: far below any accuracy the contact
/// rule claims, so such contacts are treated as not happening (no draw),
/// while the cells checked (and grid bins visited) grow with the cube of
/// this reach.
pub const REACH_SIGMAS: f64 = 3.0;

/// Generation numbers of cell grids, so that particles know which grid their
/// distance bounds refer to.
static GRID_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Most bins a [`CellGrid`] holds; a finer request is coarsened to fit.
const MAX_BINS: usize = 1 << 22;

/// Cells as the vesicles see them: spheres of a type, with an uptake capacity.
#[derive(Debug, Clone, Default)]
pub struct CellBodies {
    /// Position and radius of each cell.
    pub spheres: Vec<Sphere>,
    /// Cell type of each cell (index into the affinity table).
    pub kind: Vec<u32>,
    /// Most vesicle weight each cell can take up (saturation).
    pub capacity: Vec<f64>,
    /// Vesicle weight taken up so far by each cell.
    pub taken: Vec<f64>,
}

impl CellBodies {
    /// Adds a cell and returns its index.
    pub fn push(&mut self, sphere: Sphere, kind: u32, capacity: f64) -> usize {
        self.spheres.push(sphere);
        self.kind.push(kind);
        self.capacity.push(capacity);
        self.taken.push(0.0);
        self.spheres.len() - 1
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.spheres.len()
    }

    /// True when there is no cell.
    pub fn is_empty(&self) -> bool {
        self.spheres.is_empty()
    }

    fn largest_radius(&self) -> f64 {
        self.spheres.iter().map(|s| s.radius).fold(0.0, f64::max)
    }
}

/// Uptake probability per contact for each (vesicle class, cell type): the
/// ligand–receptor match of a study, resolved to numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinity {
    kinds: usize,
    probability: Vec<f64>,
}

impl Affinity {
    /// A table of `classes` × `kinds` probabilities, all `p`.
    pub fn uniform(classes: usize, kinds: usize, p: f64) -> Self {
        Affinity {
            kinds,
            probability: vec![p.clamp(0.0, 1.0); classes * kinds],
        }
    }

    /// Sets the probability for one pair (clamped to [0, 1]).
    pub fn set(&mut self, class: usize, kind: usize, p: f64) {
        self.probability[class * self.kinds + kind] = p.clamp(0.0, 1.0);
    }

    /// Uptake probability of `class` by a cell of `kind`.
    pub fn get(&self, class: usize, kind: usize) -> f64 {
        self.probability[class * self.kinds + kind]
    }
}

/// A uniform grid over the domain, in flat (CSR) arrays: per bin, the cells
/// whose centre lies in it (for long steps), the cells whose surface comes
/// within one bin side of the bin (the usual candidates), and the distance
/// from the bin to the nearest cell surface (to skip the search).
///
/// Build it again whenever cells move, grow, divide or die.
#[derive(Debug, Clone)]
pub struct CellGrid {
    lower: [f64; 3],
    bin: f64,
    inv_bin: f64,
    dims: [usize; 3],
    cells: usize,
    largest: f64,
    centre_start: Vec<u32>,
    centre_cells: Vec<u32>,
    near_start: Vec<u32>,
    near_cells: Vec<u32>,
    /// Distance from each bin's box to the nearest cell surface, capped at
    /// two bins and rounded down.
    clearance: Vec<f32>,
    /// Unit of the particles' one-byte distance bounds: two bins / 255.
    quantum: f64,
    generation: u64,
}

impl CellGrid {
    /// Bins of side `bin` over `domain`, filled with `cells`.
    ///
    /// A step checks only the cells listed for its start bin while the path
    /// plus six diffusion lengths stays within `bin`; a good choice is
    /// therefore a few times the step's diffusion length √(2DΔt) and about
    /// a cell radius. Longer steps fall back to a search over neighbouring
    /// bins. A non-positive `bin`, or one so small that the grid would hold
    /// more than 2²² bins, is enlarged.
    pub fn build(cells: &CellBodies, domain: &Domain, bin: f64) -> Self {
        let dim = domain.dim.clamp(1, 3);
        let longest = (0..dim).map(|a| domain.length(a)).fold(0.0, f64::max);
        let mut bin = if bin > 0.0 && bin.is_finite() {
            bin
        } else {
            longest
        };
        let count = |bin: f64| {
            let mut dims = [1usize; 3];
            for (a, d) in dims.iter_mut().enumerate().take(dim) {
                let k = (domain.length(a) / bin).ceil();
                *d = if k.is_finite() && k >= 1.0 {
                    (k as usize).min(MAX_BINS)
                } else {
                    1
                };
            }
            dims
        };
        let mut dims = count(bin);
        while dims.iter().product::<usize>() > MAX_BINS {
            bin *= 1.25;
            dims = count(bin);
        }
        let n_bins = dims.iter().product::<usize>();
        let mut grid = CellGrid {
            lower: domain.lower,
            bin,
            inv_bin: 1.0 / bin,
            dims,
            cells: cells.len(),
            largest: cells.largest_radius(),
            centre_start: Vec::new(),
            centre_cells: Vec::new(),
            near_start: Vec::new(),
            near_cells: Vec::new(),
            clearance: vec![round_down(2.0 * bin); n_bins],
            quantum: 2.0 * bin / 255.0,
            generation: GRID_GENERATION.fetch_add(1, Ordering::Relaxed),
        };

        // Cells by the bin of their centre.
        let home: Vec<usize> = cells
            .spheres
            .iter()
            .map(|s| grid.index(grid.coords(s.centre)))
            .collect();
        let (start, list) = csr(n_bins, home.iter().enumerate().map(|(i, &b)| (b, i as u32)));
        grid.centre_start = start;
        grid.centre_cells = list;

        // Cells whose surface comes within `bin` of each bin's box, and the
        // nearest surface within two bins.
        let mut pairs = Vec::new();
        for (i, s) in cells.spheres.iter().enumerate() {
            let reach = s.radius + 2.0 * bin;
            let lo = grid.coords(std::array::from_fn(|a| s.centre[a] - reach));
            let hi = grid.coords(std::array::from_fn(|a| s.centre[a] + reach));
            for z in lo[2]..=hi[2] {
                for y in lo[1]..=hi[1] {
                    for x in lo[0]..=hi[0] {
                        let c = [x, y, z];
                        // Distance from the centre to the bin's box; axes
                        // beyond the domain's dimension do not count.
                        let mut d2 = 0.0;
                        for (a, &k) in c.iter().enumerate().take(dim) {
                            let b0 = grid.lower[a] + k as f64 * bin;
                            let gap = (b0 - s.centre[a]).max(s.centre[a] - (b0 + bin)).max(0.0);
                            d2 += gap * gap;
                        }
                        let gap = d2.sqrt() - s.radius;
                        let b = grid.index(c);
                        if gap <= bin {
                            pairs.push((b, i as u32));
                        }
                        let g = round_down(gap.max(0.0));
                        if g < grid.clearance[b] {
                            grid.clearance[b] = g;
                        }
                    }
                }
            }
        }
        let (start, list) = csr(n_bins, pairs.into_iter());
        grid.near_start = start;
        grid.near_cells = list;
        grid
    }

    /// The side of the bins actually used (m).
    pub fn bin(&self) -> f64 {
        self.bin
    }

    /// Bytes held by the grid's arrays.
    pub fn heap_bytes(&self) -> usize {
        4 * (self.centre_start.capacity()
            + self.centre_cells.capacity()
            + self.near_start.capacity()
            + self.near_cells.capacity()
            + self.clearance.capacity())
    }

    #[inline(always)]
    fn coords(&self, p: [f64; 3]) -> [usize; 3] {
        // `as usize` sends negative and NaN values to 0.
        std::array::from_fn(|a| {
            (((p[a] - self.lower[a]) * self.inv_bin) as usize).min(self.dims[a] - 1)
        })
    }

    #[inline(always)]
    fn index(&self, c: [usize; 3]) -> usize {
        (c[2] * self.dims[1] + c[1]) * self.dims[0] + c[0]
    }

    /// Cells whose centre lies within `reach` (per axis) of `p`, appended to `out`.
    pub fn candidates(&self, p: [f64; 3], reach: f64, out: &mut Vec<u32>) {
        let lo = self.coords([p[0] - reach, p[1] - reach, p[2] - reach]);
        let hi = self.coords([p[0] + reach, p[1] + reach, p[2] + reach]);
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                for x in lo[0]..=hi[0] {
                    let b = self.index([x, y, z]);
                    let (s, e) = (self.centre_start[b], self.centre_start[b + 1]);
                    out.extend_from_slice(&self.centre_cells[s as usize..e as usize]);
                }
            }
        }
    }
}

/// What a distance bound loses to rounding in one step, at most: half an
/// `f32` spacing of the largest coordinate for the stored position, plus the
/// rounding of the bound's `f32` arithmetic, with room to spare: 10⁻³ of a
/// quantum or 4 spacings, whichever is larger.
fn rounding_margin(domain: &Domain, grid: &CellGrid) -> f64 {
    let extent = (0..domain.dim)
        .map(|a| domain.lower[a].abs().max(domain.upper[a].abs()))
        .fold(0.0, f64::max);
    let spacing = extent * f32::EPSILON as f64;
    (1e-3 * grid.quantum).max(4.0 * spacing)
}

/// `v` as an `f32` no larger than `v`.
fn round_down(v: f64) -> f32 {
    let r = v as f32;
    if r as f64 > v { r.next_down() } else { r }
}

/// Compressed rows of `(row, value)` pairs over `rows` rows, values of a row
/// in the order given: row `r` holds `list[start[r]..start[r + 1]]`.
fn csr(rows: usize, pairs: impl Iterator<Item = (usize, u32)> + Clone) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; rows + 1];
    for (r, _) in pairs.clone() {
        start[r + 1] += 1;
    }
    for r in 0..rows {
        start[r + 1] += start[r];
    }
    let mut fill = start.clone();
    let mut list = vec![0u32; start[rows] as usize];
    for (r, v) in pairs {
        list[fill[r] as usize] = v;
        fill[r] += 1;
    }
    (start, list)
}

/// Vesicle weight taken up, per class and cell type.
#[derive(Debug, Clone, PartialEq)]
pub struct UptakeCounts {
    kinds: usize,
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

/// What one chunk of particles hands back to be merged in chunk order.
struct ChunkOutcome {
    /// Weight absorbed (`class`) and drained (`classes + class`).
    lost: Vec<f64>,
    /// Contacts refused by the affinity draw, per class.
    bounced: Vec<u64>,
    /// Uptakes accepted by the affinity draw, `(particle, cell)` in particle
    /// order, waiting for the capacity check.
    wanted: Vec<(u32, u32)>,
}

/// What the chunk kernel reads besides the particles.
struct Kernel<'a> {
    cells: &'a CellBodies,
    grid: &'a CellGrid,
    affinity: &'a Affinity,
    domain: &'a Domain,
    stored: StoredBox,
    shift: [f64; 3],
    sigma: Vec<f64>,
    /// `REACH_SIGMAS·sigma`, per class.
    pad: Vec<f64>,
    /// Bridge probabilities below this count as no contact, without a draw.
    negligible: f64,
    /// Taken off every distance bound at each step, for the rounding of
    /// stored positions and of the bound itself (far below a quantum).
    margin: f64,
    d_per_class: &'a [f64],
    dt: f64,
}

impl Kernel<'_> {
    /// The first cell (nearest surface first) that the path `start → end`
    /// touched, for a step whose path plus padding spans `reach`, and a
    /// lower bound on the distance from `start` to every cell surface.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn contact<R: rand::Rng>(
        &self,
        start: [f64; 3],
        end: [f64; 3],
        bin: usize,
        reach: f64,
        d: f64,
        rng: &mut R,
        near: &mut Vec<(f64, u32)>,
        wide: &mut Vec<u32>,
    ) -> (Option<usize>, f64) {
        let grid = self.grid;
        let spheres = &self.cells.spheres;
        near.clear();
        // Cells not listed for the bin are more than a bin away.
        let mut nearest = grid.bin;
        let mut consider = |c: u32| {
            let gap = spheres[c as usize].distance(start) - spheres[c as usize].radius;
            nearest = nearest.min(gap);
            if gap <= reach {
                near.push((gap, c));
            }
        };
        if reach <= grid.bin {
            let (s, e) = (grid.near_start[bin], grid.near_start[bin + 1]);
            for &c in &grid.near_cells[s as usize..e as usize] {
                consider(c);
            }
        } else {
            wide.clear();
            grid.candidates(start, grid.largest + reach, wide);
            for &c in wide.iter() {
                consider(c);
            }
            nearest = 0.0;
        }
        if near.len() > 1 {
            near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        for &(gap, c) in near.iter() {
            let sphere = &spheres[c as usize];
            let r1 = sphere.distance(end);
            if r1 <= sphere.radius {
                return (Some(c as usize), 0.0);
            }
            let p = bridge_crossing_probability(gap + sphere.radius, r1, sphere.radius, d, self.dt);
            if p >= 1.0 || (p > self.negligible && rng.random::<f64>() < p) {
                return (Some(c as usize), 0.0);
            }
        }
        (None, nearest)
    }

    /// A lower bound on the distance from `start` to every cell surface,
    /// when it is at least `reach`: the bin's clearance, or else the nearest
    /// of the cells listed for the bin (those not listed are more than a bin
    /// away). `None` when a cell may lie within `reach`, or `reach` exceeds
    /// a bin.
    #[inline]
    fn clearance(&self, start: [f64; 3], reach: f64) -> Option<f64> {
        let grid = self.grid;
        let bin = grid.index(grid.coords(start));
        let clear = grid.clearance[bin] as f64;
        if clear >= reach {
            return Some(clear);
        }
        if reach > grid.bin {
            return None;
        }
        let spheres = &self.cells.spheres;
        let (s, e) = (grid.near_start[bin], grid.near_start[bin + 1]);
        let mut nearest = grid.bin;
        for &c in &grid.near_cells[s as usize..e as usize] {
            let sphere = &spheres[c as usize];
            nearest = nearest.min(sphere.distance(start) - sphere.radius);
        }
        let clear = nearest.max(clear);
        (clear >= reach).then_some(clear)
    }

    /// The step of particle `i` of a chunk when it may come near a cell or
    /// leave the box: the cell search, contact, and the domain's faces.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    fn careful_step(
        &self,
        i: usize,
        first: usize,
        step: Step,
        chunk: ChunkSlices,
        out: &mut ChunkOutcome,
        rng: &mut Pcg64Mcg,
        (near, wide): (&mut Vec<(f64, u32)>, &mut Vec<u32>),
    ) {
        let ChunkSlices {
            xs,
            ys,
            zs,
            alive,
            free,
            ws,
            ..
        } = chunk;
        let Step {
            start,
            end,
            path,
            pad,
            mut clear,
            class,
        } = step;
        let classes = self.sigma.len();
        let grid = self.grid;
        let hit = if clear >= path + pad {
            None
        } else {
            let bin = grid.index(grid.coords(start));
            clear = grid.clearance[bin] as f64;
            if clear >= path + pad {
                None
            } else {
                let d = self.d_per_class[class];
                let (hit, nearest) = self.contact(start, end, bin, path + pad, d, rng, near, wide);
                // Both are lower bounds on the distance to every cell.
                clear = nearest.max(clear);
                hit
            }
        };
        if let Some(c) = hit {
            let p = self.affinity.get(class, self.cells.kind[c] as usize);
            if p >= 1.0 || (p > 0.0 && rng.random::<f64>() < p) {
                out.wanted.push(((first + i) as u32, c as u32));
            } else {
                out.bounced[class] += 1;
            }
            // Taken up or bounced, the vesicle does not move this step.
            free[i] = 0;
            return;
        }
        let mut pos = end;
        match self.domain.apply(&mut pos) {
            Fate::Inside => {
                xs[i] = self.stored.store(0, pos[0]);
                ys[i] = self.stored.store(1, pos[1]);
                zs[i] = self.stored.store(2, pos[2]);
                // A mirrored position is no farther from the start, but a
                // wrapped one may be: keep the bound only for plain moves.
                free[i] = if pos == end {
                    ((clear - path - self.margin) / grid.quantum) as u8
                } else {
                    0
                };
            }
            fate => {
                xs[i] = pos[0] as f32;
                ys[i] = pos[1] as f32;
                zs[i] = pos[2] as f32;
                alive[i] = false;
                free[i] = 0;
                let slot = if matches!(fate, Fate::Absorbed { .. }) {
                    class
                } else {
                    classes + class
                };
                out.lost[slot] += ws[i];
            }
        }
    }

    /// Moves the particles of one chunk (see the module doc); `first` is the
    /// index of its first particle.
    ///
    /// Works in blocks of [`BLOCK`] particles: the block's normal variates
    /// are drawn together (one buffer per axis, dead particles included, so
    /// that particle `i` always gets the variates of its slot), then one
    /// loop without branches moves every particle whose step cannot reach a
    /// cell nor leave the box, and marks the others, which then take
    /// [`Kernel::careful_step`] in particle order.
    fn run(&self, rng_key: (u64, u64), first: usize, chunk: ChunkSlices) -> ChunkOutcome {
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
        let (mut lo, mut hi) = (self.domain.lower, self.domain.upper);
        if !three {
            // z is not used in 2-D: it never leaves the box.
            (lo[2], hi[2]) = (f64::NEG_INFINITY, f64::INFINITY);
        }
        // Variates per axis (z stays 0 in 2-D), and per particle its
        // diffusion length, padding and whether it takes the careful path.
        let mut g = [[0.0f32; BLOCK]; 3];
        let mut pad = [0.0f64; BLOCK];
        let mut sigma32 = [0.0f32; BLOCK];
        let mut pad32 = [0.0f32; BLOCK];
        let mut careful = [false; BLOCK];
        // The common moves in `f32`: a stored position strictly inside the
        // stored box comes from an exact sum inside the domain (rounding to
        // nearest moves it by less than the gap to a neighbouring `f32`),
        // and the margin covers every rounding of the distance bound.
        let (slo, shi) = self.stored.bounds();
        let (sx32, sy32, sz32) = (sx as f32, sy as f32, sz as f32);
        let (quantum32, per_quantum32) = (quantum as f32, per_quantum as f32);
        let margin32 = self.margin as f32;
        let n = xs.len();
        let mut b0 = 0;
        while b0 < n {
            let m = BLOCK.min(n - b0);
            let block = b0..b0 + m;
            for ga in g.iter_mut().take(axes) {
                fill_standard_normal_f32(&mut normals, &mut ga[..m]);
            }
            for (j, &c) in cs[block.clone()].iter().enumerate() {
                pad[j] = self.pad[c as usize];
                sigma32[j] = self.sigma[c as usize] as f32;
                pad32[j] = pad[j] as f32;
            }
            let (bx, by, bz) = (
                &mut xs[block.clone()],
                &mut ys[block.clone()],
                &mut zs[block.clone()],
            );
            let (ba, bf) = (&alive[block.clone()], &mut free[block.clone()]);
            // Every slice of length `m`, so that no index needs a check.
            let (gx, gy, gz) = (&g[0][..m], &g[1][..m], &g[2][..m]);
            let (sig, pad32, mark) = (&sigma32[..m], &pad32[..m], &mut careful[..m]);
            for j in 0..m {
                // The move, as in `displace`.
                let dx = sx32 + sig[j] * gx[j];
                let dy = sy32 + sig[j] * gy[j];
                let dz = sz32 + sig[j] * gz[j];
                let (x1, y1, z1) = (bx[j] + dx, by[j] + dy, bz[j] + dz);
                let path = (dx * dx + dy * dy + dz * dz).sqrt();
                let clear = bf[j] as f32 * quantum32 - margin32;
                // The common case: far from every cell and inside the box.
                let common = ba[j]
                    & (clear >= path + pad32[j])
                    & (x1 > slo[0])
                    & (x1 < shi[0])
                    & (y1 > slo[1])
                    & (y1 < shi[1])
                    & (z1 > slo[2])
                    & (z1 < shi[2]);
                mark[j] = ba[j] & !common;
                // Selects rather than branches, so that the loop vectorises.
                bx[j] = if common { x1 } else { bx[j] };
                by[j] = if common { y1 } else { by[j] };
                bz[j] = if common { z1 } else { bz[j] };
                // `as u8` saturates: negative bounds become 0.
                let left = ((clear - path) * per_quantum32) as u8;
                bf[j] = if common { left } else { bf[j] };
            }
            for j in (0..m).filter(|&j| careful[j]) {
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
                let inside = (x1 >= lo[0])
                    & (x1 <= hi[0])
                    & (y1 >= lo[1])
                    & (y1 <= hi[1])
                    & (z1 >= lo[2])
                    & (z1 <= hi[2]);
                // Most of these only ran out of distance bound: measure it
                // again from the grid, and move them if no cell is in reach.
                if inside && let Some(clear) = self.clearance([x0, y0, z0], path + pad[j]) {
                    xs[i] = self.stored.store(0, x1);
                    ys[i] = self.stored.store(1, y1);
                    zs[i] = self.stored.store(2, z1);
                    free[i] = ((clear - path - self.margin) * per_quantum) as u8;
                    continue;
                }
                let step = Step {
                    start: [x0, y0, z0],
                    end: [x1, y1, z1],
                    path,
                    pad: pad[j],
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

/// One particle's move, as the careful path needs it.
struct Step {
    start: [f64; 3],
    end: [f64; 3],
    path: f64,
    pad: f64,
    clear: f64,
    class: usize,
}

/// The per-particle arrays of one chunk.
struct ChunkSlices<'a> {
    xs: &'a mut [f32],
    ys: &'a mut [f32],
    zs: &'a mut [f32],
    alive: &'a mut [bool],
    free: &'a mut [u8],
    ws: &'a [f64],
    cs: &'a [u32],
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
        margin: rounding_margin(domain, grid),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tissue::domain::Boundary;

    /// Free diffusion through the uptake kernel (no cell, faces out of
    /// reach): each axis's displacement after time t is N(v·t, 2·D·t), so
    /// the mean is v·t, the variance 2·D·t and the kurtosis 3; each is
    /// checked within 5 standard errors over N = 4·10⁴ particles, in 2-D and
    /// 3-D, which tests the normal variates the kernel draws.
    #[test]
    fn free_moves_follow_the_einstein_law() {
        let (d, dt, steps, n) = (4e-12, 0.01, 25u64, 40_000usize);
        let v = [2e-6, -1e-6, 5e-7];
        for dim in [2, 3] {
            let domain = Domain::uniform(dim, [-1.0; 3], [1.0; 3], Boundary::Reflective)
                .expect("a valid box");
            let mut cells = CellBodies::default();
            let grid = CellGrid::build(&cells, &domain, 1e-5);
            let mut p = VesicleParticles::with_capacity(n);
            for _ in 0..n {
                p.push([0.0; 3], 1.0, 0, 0.0);
            }
            let (mut boundary, mut uptake) = (BoundaryCounts::new(1), UptakeCounts::new(1, 1));
            for step in 0..steps {
                let settings = StepSettings {
                    domain: &domain,
                    d_per_class: &[d],
                    drift: v,
                    dt,
                    seed: 3,
                    step,
                };
                let affinity = Affinity::uniform(1, 1, 1.0);
                step_with_uptake(
                    &mut p,
                    &mut cells,
                    &grid,
                    &affinity,
                    settings,
                    &mut boundary,
                    &mut uptake,
                );
            }
            let t = steps as f64 * dt;
            let var = 2.0 * d * t;
            let nf = n as f64;
            for (axis, &va) in v.iter().enumerate().take(dim) {
                let u: Vec<f64> = (0..n).map(|i| p.position(i)[axis] - va * t).collect();
                let m = |k: i32| u.iter().map(|x| x.powi(k)).sum::<f64>() / nf;
                let (m1, m2, m4) = (m(1), m(2), m(4));
                assert!(
                    m1.abs() < 5.0 * (var / nf).sqrt(),
                    "{dim}-D axis {axis}: mean {m1}"
                );
                assert!(
                    (m2 / var - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(),
                    "{dim}-D axis {axis}: variance {m2} against {var}"
                );
                let kurtosis = m4 / (m2 * m2);
                assert!(
                    (kurtosis - 3.0).abs() < 5.0 * (24.0 / nf).sqrt(),
                    "{dim}-D axis {axis}: kurtosis {kurtosis}"
                );
            }
            if dim == 2 {
                assert!((0..n).all(|i| p.position(i)[2] == 0.0), "z moved in 2-D");
            }
        }
    }
}
