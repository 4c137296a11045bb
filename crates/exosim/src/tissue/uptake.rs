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
//! that also knows, per bin, how far the nearest cell surface is, so that a
//! vesicle far from every cell skips the search.
//!
//! Parallel and reproducible: particles are processed in fixed chunks of
//! [`CHUNK`], chunk `k` of step `s` drawing from its own generator
//! ([`chunk_rng`] keyed by `(seed, UPTAKE_DOMAIN, s·2^20 + k)`). A chunk
//! decides contacts and affinity draws on its own and lists the uptakes it
//! wants; capacity, which couples vesicles, is then settled in particle
//! index order: a cell grants uptakes in that order while its capacity
//! lasts, and the vesicles it refuses in this step bounce (stay where they
//! were, alive). Results are therefore bit-identical whatever the number of
//! threads, and a cell of unlimited capacity costs nothing more than a
//! comparison per uptake.

use rand::RngExt;
use rayon::prelude::*;

use super::contact::{Sphere, bridge_crossing_probability};
use super::domain::{Domain, Fate};
use super::motion::{
    BoundaryCounts, CHUNK, CHUNKS_PER_STEP, StoredBox, VesicleParticles, chunk_rng, displace,
};

/// Stream domain of uptake steps.
pub const UPTAKE_DOMAIN: u64 = u64::from_be_bytes(*b"tisuptak");

/// How far beyond a cell's surface a path is checked, in units of the step's
/// diffusion length σ = √(2DΔt), on top of the step's own length. A cell
/// farther than that from the start is farther than 3σ from both ends, so
/// its bridge probability exp(−2·g₀·g₁/σ²) is below e⁻¹⁸ ≈ 1.5e-8: far
/// below any accuracy the contact rule claims, while the cells checked (and
/// grid bins visited) grow with the cube of this reach.
const REACH_SIGMAS: f64 = 3.0;

/// Bridge probabilities below this are treated as no contact, without a draw.
const NEGLIGIBLE: f64 = 1e-30;

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
    /// `bin` and rounded down.
    clearance: Vec<f32>,
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
            clearance: vec![bin as f32; n_bins],
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

        // Cells whose surface comes within `bin` of each bin's box.
        let mut pairs = Vec::new();
        for (i, s) in cells.spheres.iter().enumerate() {
            let reach = s.radius + bin;
            let lo = grid.coords(std::array::from_fn(|a| s.centre[a] - reach));
            let hi = grid.coords(std::array::from_fn(|a| s.centre[a] + reach));
            for z in lo[2]..=hi[2] {
                for y in lo[1]..=hi[1] {
                    for x in lo[0]..=hi[0] {
                        let c = [x, y, z];
                        // Distance from the centre to the bin's box; axes
                        // beyond the domain's dimension do not count.
                        let mut d2 = 0.0;
                        for a in 0..dim {
                            let b0 = grid.lower[a] + c[a] as f64 * bin;
                            let gap = (b0 - s.centre[a]).max(s.centre[a] - (b0 + bin)).max(0.0);
                            d2 += gap * gap;
                        }
                        let gap = d2.sqrt() - s.radius;
                        if gap <= bin {
                            let b = grid.index(c);
                            pairs.push((b, i as u32));
                            let g = round_down(gap.max(0.0));
                            if g < grid.clearance[b] {
                                grid.clearance[b] = g;
                            }
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
    d_per_class: &'a [f64],
    dt: f64,
}

impl Kernel<'_> {
    /// The first cell (nearest surface first) that the path `start → end`
    /// touched, for a step whose path plus padding spans `reach`.
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
    ) -> Option<usize> {
        let grid = self.grid;
        let spheres = &self.cells.spheres;
        near.clear();
        let mut consider = |c: u32| {
            let gap = spheres[c as usize].distance(start) - spheres[c as usize].radius;
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
        }
        if near.len() > 1 {
            near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        for &(gap, c) in near.iter() {
            let sphere = &spheres[c as usize];
            let r1 = sphere.distance(end);
            if r1 <= sphere.radius {
                return Some(c as usize);
            }
            let p = bridge_crossing_probability(gap + sphere.radius, r1, sphere.radius, d, self.dt);
            if p >= 1.0 || (p > NEGLIGIBLE && rng.random::<f64>() < p) {
                return Some(c as usize);
            }
        }
        None
    }

    /// Moves the particles of chunk `k` of the step (see the module doc).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        rng_key: (u64, u64),
        first: usize,
        xs: &mut [f32],
        ys: &mut [f32],
        zs: &mut [f32],
        alive: &mut [bool],
        ws: &[f64],
        cs: &[u32],
    ) -> ChunkOutcome {
        let classes = self.sigma.len();
        let mut out = ChunkOutcome {
            lost: vec![0.0; 2 * classes],
            bounced: vec![0; classes],
            wanted: Vec::new(),
        };
        let mut rng = chunk_rng(rng_key.0, UPTAKE_DOMAIN, rng_key.1);
        let (mut near, mut wide) = (Vec::new(), Vec::new());
        let grid = self.grid;
        let dim = self.domain.dim;
        for i in 0..xs.len() {
            if !alive[i] {
                continue;
            }
            let class = cs[i] as usize;
            let start = [xs[i] as f64, ys[i] as f64, zs[i] as f64];
            let mut end = start;
            displace(&mut end, dim, self.shift, self.sigma[class], &mut rng);
            let moved2 = (end[0] - start[0]).powi(2)
                + (end[1] - start[1]).powi(2)
                + (end[2] - start[2]).powi(2);
            let pad = self.pad[class];
            let bin = grid.index(grid.coords(start));
            // Far from every cell: no contact can happen on this path.
            let free = grid.clearance[bin] as f64 - pad;
            let hit = if free >= 0.0 && moved2 <= free * free {
                None
            } else {
                let d = self.d_per_class[class];
                let reach = moved2.sqrt() + pad;
                self.contact(start, end, bin, reach, d, &mut rng, &mut near, &mut wide)
            };
            if let Some(c) = hit {
                let p = self.affinity.get(class, self.cells.kind[c] as usize);
                if p >= 1.0 || (p > 0.0 && rng.random::<f64>() < p) {
                    out.wanted.push(((first + i) as u32, c as u32));
                } else {
                    out.bounced[class] += 1;
                }
                // Taken up or bounced, the vesicle does not move this step.
                continue;
            }
            match self.domain.apply(&mut end) {
                Fate::Inside => {
                    xs[i] = self.stored.store(0, end[0]);
                    ys[i] = self.stored.store(1, end[1]);
                    zs[i] = self.stored.store(2, end[2]);
                }
                fate => {
                    xs[i] = end[0] as f32;
                    ys[i] = end[1] as f32;
                    zs[i] = end[2] as f32;
                    alive[i] = false;
                    let slot = if matches!(fate, Fate::Absorbed { .. }) {
                        class
                    } else {
                        classes + class
                    };
                    out.lost[slot] += ws[i];
                }
            }
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
        sigma,
        d_per_class,
        dt,
    };
    let entity0 = step.wrapping_mul(CHUNKS_PER_STEP);
    let outcomes: Vec<ChunkOutcome> = (
        particles.x.par_chunks_mut(CHUNK),
        particles.y.par_chunks_mut(CHUNK),
        particles.z.par_chunks_mut(CHUNK),
        particles.alive.par_chunks_mut(CHUNK),
        particles.weight.par_chunks(CHUNK),
        particles.class.par_chunks(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .map(|(k, (xs, ys, zs, alive, ws, cs))| {
            let key = (seed, entity0.wrapping_add(k as u64));
            kernel.run(key, k * CHUNK, xs, ys, zs, alive, ws, cs)
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
