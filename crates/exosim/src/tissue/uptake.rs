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
//! Andrews & Bray 2004, docs/references.md#andrews-bray-2004). Cells are found through a uniform grid (cell list)
//! that also knows, per bin, how far the nearest cell surface is.
//!
//! Most vesicles are far from every cell, and a step is short, so the search
//! is skipped whenever it cannot find anything: each particle keeps a lower
//! bound on its distance to the nearest cell surface (one byte, measured
//! when it was last searched, or taken from its bin), lowered at each step
//! by the step's length (triangle inequality). While the bound exceeds the
//! step's length plus [`REACH_SIGMAS`] diffusion lengths, no contact is
//! possible (the bridge probability is below e⁻¹⁸ there). The bounds refer
//! to one grid; a new grid (cells moved, divided or died) resets them. A
//! bound that runs out is renewed, inside the same vectorised loop, from the
//! grid's distance map when it has one ([`CellGrid::with_distance_map`]):
//! the exact distance to the cell that the particle's voxel names, or the
//! distance from the voxel's centre to every other cell less the way to
//! that centre, whichever is smaller. A particle still short of room moves
//! anyway when the gaps of its step, to the named cell (measured at both
//! ends) and to the others, prove its bridge probability below e⁻¹⁸
//! (`MapView::spares`), where the careful path would draw nothing. The
//! others take the careful path, which checks the named cell alone when
//! the map puts the others out of reach. Bounds decide which particles
//! skip the contact search, never an outcome or a draw, so the map changes
//! no result. The vector passes that do all this run with AVX-512 where
//! the processor has it (module `avx512`), with bit-identical results.
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

#[cfg(target_arch = "x86_64")]
mod avx512;

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
    /// Axes of the domain in use.
    dim: usize,
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
    /// Distances to the nearest cell surface on a finer lattice, when built
    /// ([`CellGrid::with_distance_map`]).
    map: Option<DistanceMap>,
}

/// Voxels per bin side in a [`CellGrid`]'s distance map.
const MAP_PER_BIN: usize = 2;
/// Most voxels a distance map holds; a finer one falls back to one voxel per bin.
const MAX_MAP_VOXELS: usize = 1 << 24;
/// Most cells a distance map can name (24-bit indices, one kept for "none").
const MAX_MAP_CELLS: usize = (1 << 24) - 1;

/// Per voxel (a bin cut in [`MAP_PER_BIN`]³), the cell whose surface is
/// nearest to the voxel's centre, and the distance from that centre to the
/// surface of every other cell, in quanta, rounded down.
///
/// Why: a particle whose distance bound has run out needs a new one. The
/// bin's own clearance is often 0 (most bins have a cell near some corner),
/// and measuring the distance to every cell listed for the bin costs a
/// dozen square roots and as many scattered reads. The distance to a union
/// of spheres changes no faster than the point moves, so for the voxel
/// centre `c`, every cell but the named one is at least `d₂(c) − |p − c|`
/// from `p`, and the named one is measured exactly (its sphere read from a
/// small table): the bound `min(|p − C| − R, d₂(c) − |p − c|)` is exact
/// next to a single cell, where the particles that take the careful path
/// are, and loses up to a voxel diagonal only where two cells are both
/// near. One word per voxel and a few vector gathers, cheap enough to take
/// inside the vectorised move loop, on every particle at every step.
#[derive(Debug, Clone)]
struct DistanceMap {
    /// Axes in use (those beyond do not count in distances).
    dim: usize,
    side: f64,
    inv_side: f64,
    dims: [usize; 3],
    /// `cell << 8 | d₂`: the named cell (an index into `spheres`) and the
    /// distance to the others in quanta (at most a bin, 127.5 quanta).
    voxels: Vec<u32>,
    /// Centre and radius of each cell in `f32` (radius rounded up), then a
    /// far-away point for voxels that name no cell.
    spheres: Vec<[f32; 4]>,
}

/// A point so far away that its distance is infinite in `f32`, for voxels
/// that name no cell (finite, so that `0·(p − c)` stays 0 on unused axes).
const NOWHERE: [f32; 4] = [1e30, 1e30, 1e30, 0.0];

impl DistanceMap {
    /// The map of `grid` (whose bins list `cells`) with
    /// [`CellGrid::map_per_bin`] voxels per bin side, measured in parallel
    /// (each voxel on its own, so the result does not depend on the threads).
    fn measure(grid: &CellGrid, cells: &CellBodies) -> Self {
        let (dim, per_bin) = (grid.dim, grid.map_per_bin());
        let side = grid.bin / per_bin as f64;
        let dims: [usize; 3] =
            std::array::from_fn(|a| if a < dim { grid.dims[a] * per_bin } else { 1 });
        let none = cells.len() as u32;
        let mut map = vec![0u32; grid.map_voxels(per_bin)];
        let row = dims[0];
        map.par_chunks_mut(row).enumerate().for_each(|(r, out)| {
            let (ky, kz) = (r % dims[1], r / dims[1]);
            for (kx, v) in out.iter_mut().enumerate() {
                let k = [kx, ky, kz];
                let centre: [f64; 3] =
                    std::array::from_fn(|a| grid.lower[a] + (k[a] as f64 + 0.5) * side);
                let bin = grid.index(std::array::from_fn(|a| {
                    (k[a] / per_bin).min(grid.dims[a] - 1)
                }));
                let (s, e) = (grid.near_start[bin], grid.near_start[bin + 1]);
                // The nearest listed cell, and the next: the cells not
                // listed are more than a bin away.
                let (mut first, mut named, mut second) = (f64::INFINITY, none, grid.bin);
                for &c in &grid.near_cells[s as usize..e as usize] {
                    let sphere = &cells.spheres[c as usize];
                    let d = distance_in(dim, centre, sphere.centre) - sphere.radius;
                    if d < first {
                        second = second.min(first);
                        (first, named) = (d, c);
                    } else {
                        second = second.min(d);
                    }
                }
                // At most a bin, 127.5 quanta.
                let d2 = (second.max(0.0) / grid.quantum).floor().min(255.0) as u32;
                *v = named << 8 | d2;
            }
        });
        let mut spheres: Vec<[f32; 4]> = cells
            .spheres
            .iter()
            .map(|s| {
                let c = s.centre.map(|v| v as f32);
                let r = s.radius as f32;
                [
                    c[0],
                    c[1],
                    c[2],
                    if (r as f64) < s.radius {
                        r.next_up()
                    } else {
                        r
                    },
                ]
            })
            .collect();
        spheres.push(NOWHERE);
        DistanceMap {
            dim,
            side,
            inv_side: 1.0 / side,
            dims,
            voxels: map,
            spheres,
        }
    }
}

/// Euclidean distance over the first `dim` axes.
#[inline(always)]
fn distance_in(dim: usize, p: [f64; 3], q: [f64; 3]) -> f64 {
    (0..dim)
        .map(|a| (p[a] - q[a]) * (p[a] - q[a]))
        .sum::<f64>()
        .sqrt()
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
            dim,
            cells: cells.len(),
            largest: cells.largest_radius(),
            centre_start: Vec::new(),
            centre_cells: Vec::new(),
            near_start: Vec::new(),
            near_cells: Vec::new(),
            clearance: vec![round_down(2.0 * bin); n_bins],
            quantum: 2.0 * bin / 255.0,
            generation: GRID_GENERATION.fetch_add(1, Ordering::Relaxed),
            map: None,
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
            + self
                .map
                .as_ref()
                .map_or(0, |m| 4 * m.voxels.capacity() + 16 * m.spheres.capacity())
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

    /// Voxels (four bytes each) of this grid's distance map, built or not.
    pub fn distance_map_voxels(&self) -> usize {
        self.map_voxels(self.map_per_bin())
    }

    /// Voxels of a distance map with `per` voxels per bin side.
    fn map_voxels(&self, per: usize) -> usize {
        (0..3)
            .map(|a| if a < self.dim { self.dims[a] * per } else { 1 })
            .product()
    }

    /// Voxels per bin side of this grid's distance map: [`MAP_PER_BIN`],
    /// or 1 where that would pass 2²⁴ voxels in all or 2²² along an axis
    /// (so that indices fit the `u32` of the move loop, and its rounding
    /// through an `f32` mantissa; bins are at most 2²² per axis).
    fn map_per_bin(&self) -> usize {
        let fits = self.map_voxels(MAP_PER_BIN) <= MAX_MAP_VOXELS
            && self.dims.iter().all(|&n| n * MAP_PER_BIN <= 1 << 22);
        if fits { MAP_PER_BIN } else { 1 }
    }

    /// This grid with a distance map, which makes renewing the particles'
    /// distance bounds cheap (see [`DistanceMap`]). Worth its cost (a few
    /// distances per voxel, [`MAP_PER_BIN`]³ voxels per bin) when the grid
    /// serves many particle-steps. Beyond 2²⁴ − 1 cells (more than a map
    /// word can name) the grid stays without one.
    pub fn with_distance_map(mut self, cells: &CellBodies) -> Self {
        if cells.len() <= MAX_MAP_CELLS {
            self.map = Some(DistanceMap::measure(&self, cells));
        }
        self
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
    /// `2·REACH_SIGMAS²·Δt·(1 + 10⁻⁶)`: paths whose gaps at both ends
    /// multiply to more than this times D have a bridge probability surely
    /// below `negligible`.
    sure_miss: f64,
    /// Taken off every distance bound at each step, for the rounding of
    /// stored positions and of the bound itself (far below a quantum).
    margin: f64,
    map: MapView<'a>,
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
            if self.touches(c, gap, end, d, rng) {
                return (Some(c as usize), 0.0);
            }
        }
        (None, nearest)
    }

    /// Whether a path ending at `end` touched cell `c`, whose surface is
    /// `gap` from its start: the end inside, or the Brownian bridge
    /// crossing (drawn when not negligible).
    #[inline(always)]
    fn touches<R: rand::Rng>(&self, c: u32, gap: f64, end: [f64; 3], d: f64, rng: &mut R) -> bool {
        let sphere = &self.cells.spheres[c as usize];
        let r1 = sphere.distance(end);
        if r1 <= sphere.radius {
            return true;
        }
        // Most paths checked pass far enough for the bridge probability
        // exp(−g₀g₁/(DΔt)) to be surely below the negligible one: a
        // product of gaps 10⁻⁶ (relatively) beyond the threshold leaves
        // room for every rounding of the exponent and of `exp`, so the
        // exponential is skipped with the same outcome and no draw.
        let g1 = r1 - sphere.radius;
        if gap > 0.0 && gap * g1 >= self.sure_miss * d {
            return false;
        }
        let p = bridge_crossing_probability(gap + sphere.radius, r1, sphere.radius, d, self.dt);
        p >= 1.0 || (p > self.negligible && rng.random::<f64>() < p)
    }

    /// [`Kernel::contact`] when the distance map shows that every cell but
    /// the one its voxel names lies beyond `reach`: only that cell can be
    /// touched, which spares the search of the bin's list. The same cells
    /// are checked in the same order, so the outcome and the draws are
    /// those of the search. `None` when the map cannot tell.
    #[inline(always)]
    fn contact_alone<R: rand::Rng>(
        &self,
        start: [f64; 3],
        end: [f64; 3],
        reach: f64,
        d: f64,
        rng: &mut R,
    ) -> Option<(Option<usize>, f64)> {
        let map = &self.map;
        let p = start.map(|v| v as f32);
        let (voxel, way) = map.locate(p);
        let word = map.voxels[voxel as usize];
        // What the move loop computes, for the other cells.
        let others = f64::from((word & 0xff) as f32 * self.grid.quantum as f32 - way - map.margin);
        // Strictly beyond: the search lists cells up to `reach` inclusive.
        if others <= reach {
            return None;
        }
        let c = word >> 8;
        if c as usize >= self.cells.len() {
            // No cell named: none in reach.
            return Some((None, others));
        }
        let sphere = &self.cells.spheres[c as usize];
        let gap = sphere.distance(start) - sphere.radius;
        if gap <= reach && self.touches(c, gap, end, d, rng) {
            return Some((Some(c as usize), 0.0));
        }
        Some((None, gap.min(others)))
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
        let reach = path + pad;
        let hit = if clear >= reach {
            None
        } else {
            // The distance map first: it usually names the only cell in
            // reach. The bin's clearance and list only where it cannot
            // tell (the bin is found only then: its index and clearance
            // cost a conversion per axis and a scattered read).
            let d = self.d_per_class[class];
            let (hit, nearest) = match self.contact_alone(start, end, reach, d, rng) {
                Some(found) => found,
                None => {
                    let bin = grid.index(grid.coords(start));
                    let room = grid.clearance[bin] as f64;
                    if room >= reach {
                        (None, room)
                    } else {
                        let (hit, nearest) =
                            self.contact(start, end, bin, reach, d, rng, near, wide);
                        (hit, nearest.max(room))
                    }
                }
            };
            // All are lower bounds on the distance to every cell.
            clear = nearest.max(clear);
            hit
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

/// The common moves of one block of particles: every particle whose step
/// can neither reach a cell nor leave the box moves and has its distance
/// bound lowered; the others are marked `careful`. All slices have the
/// block's length.
struct FreeMoves<'a> {
    x: &'a mut [f32],
    y: &'a mut [f32],
    z: &'a mut [f32],
    alive: &'a [bool],
    free: &'a mut [u8],
    /// Normal variates per axis.
    g: [&'a [f32]; 3],
    sigma: &'a [f32],
    pad: &'a [f32],
    /// The particles that take the careful path: bit `j % 64` of word
    /// `j / 64` for particle `j` (a word per 64 particles of the block).
    careful: &'a mut [u64],
    /// Scratch: the distance bound of each particle, then what is left of it.
    clear: &'a mut [f32],
    left: &'a mut [f32],
    shift: [f32; 3],
    lo: [f32; 3],
    hi: [f32; 3],
    quantum: f32,
    per_quantum: f32,
    margin: f32,
    map: MapView<'a>,
}

/// A [`CellGrid`]'s distance map as the move loop reads it, in `f32`.
#[derive(Clone, Copy)]
struct MapView<'a> {
    voxels: &'a [u32],
    spheres: &'a [[f32; 4]],
    lower: [f32; 3],
    side: f32,
    inv_side: f32,
    /// Highest voxel index per axis.
    top: [f32; 3],
    dims: [u32; 3],
    /// The highest voxel index.
    last: u32,
    /// 1 for the axes in use, 0 for the others.
    used: [f32; 3],
    /// Taken off each bound for the `f32` rounding of the voxel centre, of
    /// the named cell's centre, and of the distances to them.
    margin: f32,
}

/// The view of a grid without a distance map: one voxel that names no cell
/// and puts the others at distance 0, which never gives a usable bound.
static NO_VOXELS: [u32; 1] = [0];
static NO_SPHERES: [[f32; 4]; 1] = [NOWHERE];

/// What [`MapView::gather`] reads for each particle.
struct Gathered<'s> {
    /// Distance to every cell but the named one, from the voxel centre, in quanta.
    others: &'s mut [f32],
    /// Centre and radius of the named cell.
    cx: &'s mut [f32],
    cy: &'s mut [f32],
    cz: &'s mut [f32],
    radius: &'s mut [f32],
}

impl<'a> MapView<'a> {
    /// The view of `grid`'s map; without one, see [`NO_VOXELS`].
    fn new(grid: &'a CellGrid, margin: f64) -> Self {
        match &grid.map {
            Some(map) => MapView {
                voxels: &map.voxels,
                spheres: &map.spheres,
                lower: grid.lower.map(|v| v as f32),
                side: map.side as f32,
                inv_side: map.inv_side as f32,
                top: map.dims.map(|n| (n - 1) as f32),
                dims: map.dims.map(|n| n as u32),
                last: (map.dims.iter().product::<usize>() - 1) as u32,
                used: std::array::from_fn(|a| if a < map.dim { 1.0 } else { 0.0 }),
                margin: (2.0 * margin) as f32,
            },
            None => MapView {
                voxels: &NO_VOXELS,
                spheres: &NO_SPHERES,
                lower: [0.0; 3],
                side: 0.0,
                inv_side: 0.0,
                top: [0.0; 3],
                dims: [1; 3],
                last: 0,
                used: [0.0; 3],
                margin: (2.0 * margin) as f32,
            },
        }
    }

    /// The voxel holding `p` and the distance from `p` to its centre (see
    /// [`DistanceMap`]).
    #[inline(always)]
    fn locate(&self, p: [f32; 3]) -> (u32, f32) {
        // The voxel whose centre is nearest, by rounding k − ½ through the
        // mantissa of k − ½ + 2²³ (cheaper in SIMD than a checked
        // conversion). Any voxel would give a valid bound, since its value
        // and centre go together; the last `min` keeps even a NaN in range.
        let ki: [u32; 3] = std::array::from_fn(|a| {
            let k = ((p[a] - self.lower[a]) * self.inv_side - 0.5).clamp(0.0, self.top[a]);
            (k + 8_388_608.0).to_bits() & 0x7f_ffff
        });
        let index = ((ki[2] * self.dims[1] + ki[1]) * self.dims[0] + ki[0]).min(self.last);
        let mut d2 = 0.0;
        for a in 0..3 {
            let centre = self.lower[a] + (ki[a] as f32 + 0.5) * self.side;
            let g = (p[a] - centre) * self.used[a];
            d2 += g * g;
        }
        (index, d2.sqrt())
    }

    /// The distance bound at `p` (m) from its voxel `voxel` at distance
    /// `way` from its centre, given what [`MapView::gather`] read for it:
    /// the exact distance to the named cell, or the distance to the others
    /// less the way, whichever is smaller, less the rounding margin.
    #[inline(always)]
    fn bound(&self, p: [f32; 3], way: f32, quantum: f32, read: [f32; 5]) -> f32 {
        let [others, cx, cy, cz, radius] = read;
        let gx = (p[0] - cx) * self.used[0];
        let gy = (p[1] - cy) * self.used[1];
        let gz = (p[2] - cz) * self.used[2];
        let named = (gx * gx + gy * gy + gz * gz).sqrt() - radius;
        let rest = others * quantum - way;
        // Not `f32::min`, whose NaN rule costs a blend per lane; a NaN
        // bound (from a NaN position) fails every test that would use it.
        (if named < rest { named } else { rest }) - self.margin
    }

    /// Whether a step from `p` to `e` (of length `path`, padding `pad` =
    /// [`REACH_SIGMAS`] diffusion lengths) surely touches no cell and
    /// draws nothing, given what [`MapView::gather`] read for `p`'s voxel
    /// (`way` from its centre).
    ///
    /// Why: the distance bound alone asks for `path + pad` of room, which
    /// about a third of the particles near a cell lack although their
    /// path passes it far enough. The careful path draws a bridge crossing
    /// only when exp(−g₀g₁/(DΔt)) exceeds e^(−2·REACH_SIGMAS²), that is
    /// when g₀g₁ < 2·REACH_SIGMAS²·DΔt = pad²: with lower bounds
    /// on both gaps, of the named cell (measured at both ends) and of the
    /// others (from the map, less the path at the end), and 2⁻¹⁰ of room
    /// for `f32` rounding, a product above pad² proves that it would draw
    /// nothing and find no contact, so the step is a common move.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn spares(
        &self,
        p: [f32; 3],
        e: [f32; 3],
        way: f32,
        path: f32,
        pad: f32,
        quantum: f32,
        read: [f32; 5],
    ) -> bool {
        let [others, cx, cy, cz, radius] = read;
        let gap = |q: [f32; 3]| {
            let gx = (q[0] - cx) * self.used[0];
            let gy = (q[1] - cy) * self.used[1];
            let gz = (q[2] - cz) * self.used[2];
            (gx * gx + gy * gy + gz * gz).sqrt() - radius - self.margin
        };
        let (named0, named1) = (gap(p), gap(e));
        let rest0 = others * quantum - way - self.margin;
        let rest1 = rest0 - path - self.margin;
        let room = pad * pad * (1.0 + 1.0 / 1024.0);
        (named0 > 0.0)
            & (named1 > 0.0)
            & (named0 * named1 >= room)
            & (rest0 > 0.0)
            & (rest1 > 0.0)
            & (rest0 * rest1 >= room)
    }

    /// For each particle `j`, what voxel `index[j]` holds: the distance to
    /// the other cells and the named cell's sphere.
    #[inline(always)]
    fn gather<const AVX2: bool>(&self, index: &[u32], out: Gathered) {
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            // SAFETY: `AVX2` is set only on processors that have it, every
            // index comes from `locate`, below the voxel count, and every
            // voxel names a cell of the table or the spare entry after them.
            unsafe { gather_avx2(self.voxels, self.spheres, index, out) };
            return;
        }
        for (j, &i) in index.iter().enumerate() {
            let word = self.voxels[i as usize];
            let s = self.spheres[(word >> 8) as usize];
            out.others[j] = (word & 0xff) as f32;
            (out.cx[j], out.cy[j], out.cz[j], out.radius[j]) = (s[0], s[1], s[2], s[3]);
        }
    }
}

/// [`MapView::gather`] with AVX2 gathers: the voxels' words, then the
/// centre and radius of the cells they name.
///
/// # Safety
///
/// The processor must have AVX2, every index must be below `voxels.len()`,
/// and every voxel's cell (`word >> 8`) below `spheres.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather_avx2(voxels: &[u32], spheres: &[[f32; 4]], index: &[u32], out: Gathered) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cvtepi32_ps, _mm256_i32gather_epi32, _mm256_i32gather_ps,
        _mm256_loadu_si256, _mm256_set1_epi32, _mm256_slli_epi32, _mm256_srli_epi32,
        _mm256_storeu_ps,
    };
    let n = index.len();
    assert!(
        [&out.others, &out.cx, &out.cy, &out.cz, &out.radius]
            .iter()
            .all(|o| o.len() >= n)
    );
    let byte = _mm256_set1_epi32(0xff);
    let table = spheres.as_ptr() as *const f32;
    let mut j = 0;
    while j + 8 <= n {
        // SAFETY: lanes j..j + 8 are in every slice (asserted above); each
        // gathered read lies inside `voxels` or `spheres` by the caller's promise.
        unsafe {
            let i = _mm256_loadu_si256(index.as_ptr().add(j) as *const __m256i);
            let words = _mm256_i32gather_epi32::<4>(voxels.as_ptr() as *const i32, i);
            let others = _mm256_cvtepi32_ps(_mm256_and_si256(words, byte));
            _mm256_storeu_ps(out.others.as_mut_ptr().add(j), others);
            // Four floats per cell: element `cell·4` is its x.
            let at = _mm256_slli_epi32::<2>(_mm256_srli_epi32::<8>(words));
            let cx = _mm256_i32gather_ps::<4>(table, at);
            let cy = _mm256_i32gather_ps::<4>(table.add(1), at);
            let cz = _mm256_i32gather_ps::<4>(table.add(2), at);
            let r = _mm256_i32gather_ps::<4>(table.add(3), at);
            _mm256_storeu_ps(out.cx.as_mut_ptr().add(j), cx);
            _mm256_storeu_ps(out.cy.as_mut_ptr().add(j), cy);
            _mm256_storeu_ps(out.cz.as_mut_ptr().add(j), cz);
            _mm256_storeu_ps(out.radius.as_mut_ptr().add(j), r);
        }
        j += 8;
    }
    for k in j..n {
        let word = voxels[index[k] as usize];
        let s = spheres[(word >> 8) as usize];
        out.others[k] = (word & 0xff) as f32;
        (out.cx[k], out.cy[k], out.cz[k], out.radius[k]) = (s[0], s[1], s[2], s[3]);
    }
}

impl FreeMoves<'_> {
    /// Runs [`FreeMoves::passes`] with the widest SIMD this processor has.
    ///
    /// Why: on baseline x86-64 (SSE2) the compiler's cost model keeps the
    /// move loop scalar; compiled for AVX2 it runs eight particles at once,
    /// which more than doubles the common path. Rust never fuses or
    /// reorders floating-point operations, so both versions give
    /// bit-identical results.
    fn run(self) {
        #[cfg(target_arch = "x86_64")]
        if avx512_passes() {
            // SAFETY: the processor has the features, checked just above.
            unsafe { self.passes_avx512() };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above.
            unsafe { self.passes_avx2() };
            return;
        }
        self.passes::<false>();
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn passes_avx2(self) {
        self.passes::<true>();
    }

    /// Passes of plain `f32` arithmetic, each of which the compiler can
    /// turn into SIMD: bytes to distances, the distance map for the
    /// particles short of room, the moves, and distances back to bytes.
    #[inline(always)]
    fn passes<const AVX2: bool>(self) {
        let m = self.x.len();
        let (x, y, z) = (&mut self.x[..m], &mut self.y[..m], &mut self.z[..m]);
        let (alive, free) = (&self.alive[..m], &mut self.free[..m]);
        let (gx, gy, gz) = (&self.g[0][..m], &self.g[1][..m], &self.g[2][..m]);
        let (sigma, pad) = (&self.sigma[..m], &self.pad[..m]);
        self.careful.fill(0);
        let (careful, clear, left) = (
            &mut *self.careful,
            &mut self.clear[..m],
            &mut self.left[..m],
        );
        let [sx, sy, sz] = self.shift;
        let (lo, hi) = (self.lo, self.hi);
        // Local arrays (not a scratch owned elsewhere): the compiler then
        // knows they alias nothing, and keeps every loop in SIMD.
        let mut moved = [[0.0f32; BLOCK]; 3];
        let (mut voxel, mut way) = ([0u32; BLOCK], [0.0f32; BLOCK]);
        let (mut others, mut cx, mut cy, mut cz, mut radius) = (
            [0.0f32; BLOCK],
            [0.0f32; BLOCK],
            [0.0f32; BLOCK],
            [0.0f32; BLOCK],
            [0.0f32; BLOCK],
        );
        let moved = moved.each_mut().map(|a| &mut a[..m]);
        // Each particle's own bound, and whether it needs more room than
        // that (a dead particle gets −∞: it never takes the common path;
        // bytes rather than `bool` tests keep these loops in SIMD).
        let mut short = [0u8; BLOCK];
        let short = &mut short[..m];
        let mut ends = [[0.0f32; BLOCK]; 3];
        let mut paths = [0.0f32; BLOCK];
        for j in 0..m {
            let c = free[j] as f32 * self.quantum - self.margin;
            let c = if alive[j] as u8 != 0 {
                c
            } else {
                f32::NEG_INFINITY
            };
            clear[j] = c;
            let dx = sx + sigma[j] * gx[j];
            let dy = sy + sigma[j] * gy[j];
            let dz = sz + sigma[j] * gz[j];
            (ends[0][j], ends[1][j], ends[2][j]) = (x[j] + dx, y[j] + dy, z[j] + dz);
            let path = (dx * dx + dy * dy + dz * dz).sqrt();
            paths[j] = path;
            short[j] = u8::from(c < path + pad[j]) & alive[j] as u8;
        }
        // The living particles short of room, listed with the ends of
        // their steps (without branches): only they consult the distance
        // map, most particles having room for several steps after each
        // renewal.
        let mut list = [0u32; BLOCK];
        let mut at = [[0.0f32; BLOCK]; 6];
        let (mut path_at, mut pad_at) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        let mut k = 0;
        for j in 0..m {
            list[k] = j as u32;
            (at[0][k], at[1][k], at[2][k]) = (x[j], y[j], z[j]);
            (at[3][k], at[4][k], at[5][k]) = (ends[0][j], ends[1][j], ends[2][j]);
            (path_at[k], pad_at[k]) = (paths[j], pad[j]);
            k += usize::from(short[j]);
        }
        let list = &list[..k];
        let [px, py, pz, ex, ey, ez] = at.each_ref().map(|a| &a[..k]);
        let (path_at, pad_at) = (&path_at[..k], &pad_at[..k]);
        // Their voxels of the distance map, the way to its centre, what the
        // voxel holds, the bound it gives, and whether the step surely
        // touches no cell (see [`MapView::spares`]).
        let (voxel, way) = (&mut voxel[..k], &mut way[..k]);
        for t in 0..k {
            (voxel[t], way[t]) = self.map.locate([px[t], py[t], pz[t]]);
        }
        let read = Gathered {
            others: &mut others[..k],
            cx: &mut cx[..k],
            cy: &mut cy[..k],
            cz: &mut cz[..k],
            radius: &mut radius[..k],
        };
        self.map.gather::<AVX2>(voxel, read);
        let mapped = &mut others[..k];
        let mut spares = [0u8; BLOCK];
        let spares = &mut spares[..k];
        for t in 0..k {
            let read = [mapped[t], cx[t], cy[t], cz[t], radius[t]];
            let (p, e) = ([px[t], py[t], pz[t]], [ex[t], ey[t], ez[t]]);
            spares[t] =
                u8::from(
                    self.map
                        .spares(p, e, way[t], path_at[t], pad_at[t], self.quantum, read),
                );
            mapped[t] = self.map.bound(p, way[t], self.quantum, read);
        }
        let mut spared = [0u8; BLOCK];
        for ((&j, &b), &f) in list.iter().zip(mapped.iter()).zip(spares.iter()) {
            let c = &mut clear[j as usize];
            if b > *c {
                *c = b;
            }
            spared[j as usize] = f;
        }
        for j in 0..m {
            // The move, as in `displace`.
            let dx = sx + sigma[j] * gx[j];
            let dy = sy + sigma[j] * gy[j];
            let dz = sz + sigma[j] * gz[j];
            let (x1, y1, z1) = (x[j] + dx, y[j] + dy, z[j] + dz);
            let path = (dx * dx + dy * dy + dz * dz).sqrt();
            let need = path + pad[j];
            let c = clear[j];
            // The common case: far from every cell, or surely touching
            // none, and inside the box.
            let common = ((c >= need) | (spared[j] != 0))
                & (x1 > lo[0])
                & (x1 < hi[0])
                & (y1 > lo[1])
                & (y1 < hi[1])
                & (z1 > lo[2])
                & (z1 < hi[2]);
            // Selects rather than branches, so that the loop vectorises;
            // written to scratch and copied back, since selecting in place
            // becomes a masked store, slow on some processors.
            moved[0][j] = if common { x1 } else { x[j] };
            moved[1][j] = if common { y1 } else { y[j] };
            moved[2][j] = if common { z1 } else { z[j] };
            // The bound left in quanta, clamped to a byte (as a saturating
            // `as u8` would); −1 marks a particle not moved.
            let l = ((c - path) * self.per_quantum).clamp(0.0, 255.0);
            left[j] = if common { l } else { -1.0 };
        }
        x.copy_from_slice(&moved[0][..m]);
        y.copy_from_slice(&moved[1][..m]);
        z.copy_from_slice(&moved[2][..m]);
        for j in 0..m {
            let l = left[j];
            let moved = u8::from(l >= 0.0);
            let mark = u64::from(alive[j] as u8 & (moved ^ 1));
            careful[j / 64] |= mark << (j % 64);
            // In [0, 255] when moved: through `i32` it truncates as `as u8`
            // would. Byte masks select the new or the old bound.
            let bound = l.max(0.0) as i32 as u8;
            free[j] = (bound & moved.wrapping_neg()) | (free[j] & moved.wrapping_sub(1));
        }
    }
}

/// Whether this processor runs [`FreeMoves::passes_avx512`] (AVX-512 F,
/// BW, VL and DQ).
#[cfg(target_arch = "x86_64")]
fn avx512_passes() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512dq")
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
    /// Cells of radius 5 µm at random non-overlapping places in a box of
    /// side `side`, and random points outside them.
    fn scattered(
        dim: usize,
        side: f64,
        cells: usize,
        points: usize,
    ) -> (Domain, CellBodies, Vec<[f64; 3]>) {
        let domain =
            Domain::uniform(dim, [0.0; 3], [side; 3], Boundary::Reflective).expect("a valid box");
        let mut rng = crate::random::stream(11, 0, dim as u64);
        let at = |rng: &mut crate::random::Stream| -> [f64; 3] {
            std::array::from_fn(|a| {
                if a < dim {
                    rng.random::<f64>() * side
                } else {
                    0.0
                }
            })
        };
        let r = 5e-6;
        let mut bodies = CellBodies::default();
        while bodies.len() < cells {
            let c = at(&mut rng);
            if bodies.spheres.iter().all(|o| o.distance(c) >= 2.0 * r) {
                bodies.push(Sphere::new(c, r), 0, f64::INFINITY);
            }
        }
        let mut out = Vec::new();
        while out.len() < points {
            let p = at(&mut rng);
            if bodies.spheres.iter().all(|s| s.distance(p) > s.radius) {
                out.push(p);
            }
        }
        (domain, bodies, out)
    }

    /// The distance to a union of spheres is 1-Lipschitz, so the map's
    /// bound min(|p − C| − R, d₂(c) − |p − c|) (the cell named by the
    /// voxel, and the others from the voxel centre; in the `f32` of the
    /// move loop) never exceeds the true distance to the nearest cell
    /// surface, and falls short of it by at most a voxel diagonal plus
    /// rounding to quanta.
    #[test]
    fn distance_map_bounds_the_distance_to_every_cell() {
        for dim in [2, 3] {
            let (domain, bodies, points) = scattered(dim, 100e-6, 60, 20_000);
            let grid = CellGrid::build(&bodies, &domain, 10e-6).with_distance_map(&bodies);
            let map = grid.map.as_ref().expect("a map");
            let view = MapView::new(&grid, rounding_margin(&domain, &grid));
            let diagonal = (dim as f64).sqrt() * map.side;
            for p in points {
                let p32 = p.map(|v| v as f32);
                let (voxel, way) = view.locate(p32);
                let mut read = [[0.0f32]; 5];
                let [others, cx, cy, cz, radius] = read.each_mut().map(|r| &mut r[..]);
                let out = Gathered {
                    others,
                    cx,
                    cy,
                    cz,
                    radius,
                };
                view.gather::<false>(&[voxel], out);
                let bound32 = view.bound(p32, way, grid.quantum as f32, read.map(|r| r[0]));
                let exact32 = bodies
                    .spheres
                    .iter()
                    .map(|s| s.distance(p32.map(f64::from)) - s.radius)
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    f64::from(bound32) <= exact32,
                    "{dim}-D: f32 bound {bound32} above {exact32}"
                );
                if exact32 < 0.5 * grid.bin {
                    assert!(
                        exact32 - f64::from(bound32) <= diagonal + 2.0 * grid.quantum,
                        "{dim}-D: bound {bound32} too far below {exact32}"
                    );
                }
            }
        }
    }

    /// A step that [`MapView::spares`] lets through touches no cell with a
    /// bridge probability above the negligible one e^(−2·REACH_SIGMAS²)
    /// (checked against every cell in `f64`, as the careful path would),
    /// so sparing it changes no outcome and skips no draw; and of the steps
    /// that start 0–3 µm from a cell and have no such probability, it
    /// spares most (the others' bound from the map is the limit).
    #[test]
    fn spared_steps_touch_no_cell() {
        let (d, dt) = (4e-12f64, 0.01);
        let sigma = (2.0 * d * dt).sqrt();
        let pad = REACH_SIGMAS * sigma;
        let negligible = (-2.0 * REACH_SIGMAS * REACH_SIGMAS).exp();
        for dim in [2, 3] {
            let (domain, bodies, _) = scattered(dim, 100e-6, 60, 0);
            let grid = CellGrid::build(&bodies, &domain, 10e-6).with_distance_map(&bodies);
            let view = MapView::new(&grid, rounding_margin(&domain, &grid));
            let mut rng = crate::random::stream(4, 0, dim as u64);
            let (mut spared, mut near_miss) = (0, 0);
            for i in 0..40_000 {
                // A start 0 to 3 µm from a cell's surface, a normal step.
                let c = bodies.spheres[i % bodies.len()];
                let gap = 3e-6 * rng.random::<f64>();
                let u: [f64; 3] = std::array::from_fn(|a| {
                    if a < dim {
                        rng.random::<f64>() - 0.5
                    } else {
                        0.0
                    }
                });
                let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
                let p32: [f32; 3] =
                    std::array::from_fn(|a| (c.centre[a] + (c.radius + gap) * u[a] / norm) as f32);
                let p = p32.map(f64::from);
                if bodies.spheres.iter().any(|s| s.distance(p) <= s.radius) {
                    continue;
                }
                let mut g = [0.0f32; 3];
                fill_standard_normal_f32(&mut rng, &mut g[..dim]);
                let step = g.map(|v| sigma as f32 * v);
                let e32: [f32; 3] = std::array::from_fn(|a| p32[a] + step[a]);
                let e = e32.map(f64::from);
                let path = step.iter().map(|v| v * v).sum::<f32>().sqrt();
                let (voxel, way) = view.locate(p32);
                let mut read = [[0.0f32]; 5];
                let [others, cx, cy, cz, radius] = read.each_mut().map(|r| &mut r[..]);
                view.gather::<false>(
                    &[voxel],
                    Gathered {
                        others,
                        cx,
                        cy,
                        cz,
                        radius,
                    },
                );
                let read = read.map(|r| r[0]);
                let lets_through =
                    view.spares(p32, e32, way, path, pad as f32, grid.quantum as f32, read);
                let worst = bodies
                    .spheres
                    .iter()
                    .map(|s| {
                        bridge_crossing_probability(s.distance(p), s.distance(e), s.radius, d, dt)
                    })
                    .fold(0.0, f64::max);
                if lets_through {
                    spared += 1;
                    assert!(
                        worst <= negligible,
                        "{dim}-D: spared with probability {worst}"
                    );
                } else if worst <= negligible {
                    near_miss += 1;
                }
            }
            assert!(
                spared > near_miss,
                "{dim}-D: {spared} spared, {near_miss} not"
            );
        }
    }

    /// Bounds decide only which particles skip the contact search, never an
    /// outcome (a skipped contact has a bridge probability below the
    /// negligible one, and draws nothing): the same steps with and without
    /// the distance map give bit-identical particles, uptakes and counts.
    #[test]
    fn distance_map_changes_no_result() {
        let (domain, bodies, points) = scattered(3, 100e-6, 200, 20_000);
        let plain = CellGrid::build(&bodies, &domain, 10e-6);
        let mapped = plain.clone().with_distance_map(&bodies);
        let run = |grid: &CellGrid| {
            let mut cells = bodies.clone();
            let mut p = VesicleParticles::with_capacity(points.len());
            for &x in &points {
                p.push(x, 1.0, 0, 0.0);
            }
            let (mut boundary, mut uptake) = (BoundaryCounts::new(1), UptakeCounts::new(1, 1));
            let mut events = Vec::new();
            for step in 0..40 {
                let settings = StepSettings {
                    domain: &domain,
                    d_per_class: &[4e-12],
                    drift: [0.0; 3],
                    dt: 0.01,
                    seed: 5,
                    step,
                };
                let affinity = Affinity::uniform(1, 1, 0.5);
                step_with_uptake(
                    &mut p,
                    &mut cells,
                    grid,
                    &affinity,
                    settings,
                    &mut boundary,
                    &mut uptake,
                );
                events.append(&mut uptake.events);
            }
            let bits: Vec<[u32; 3]> = (0..p.len())
                .map(|i| [p.x[i].to_bits(), p.y[i].to_bits(), p.z[i].to_bits()])
                .collect();
            (bits, p.alive, events, uptake.bounced, uptake.weight)
        };
        let (a, b) = (run(&plain), run(&mapped));
        assert!(!a.2.is_empty() && a.3[0] > 0, "uptakes and bounces happen");
        assert_eq!(a, b);
    }

    /// The move loop compiled for AVX2, and written with AVX-512, gives
    /// bit-identical results to the baseline build (Rust neither fuses nor
    /// reorders float operations, and the AVX-512 passes do the same
    /// operations in the same order), in 2-D and 3-D, with dead particles,
    /// particles near cells and a block that ends inside a vector.
    #[test]
    fn move_loop_is_the_same_on_every_path() {
        #[cfg(target_arch = "x86_64")]
        for dim in [2, 3] {
            let m = BLOCK - 6;
            let (domain, bodies, mut points) = scattered(dim, 100e-6, 60, m);
            // Every third particle 0.1 to 2 µm from a cell's surface (some
            // take the careful path, some are spared), and a few on a face.
            for (i, p) in points.iter_mut().enumerate() {
                let c = bodies.spheres[i % bodies.len()];
                if i % 3 == 0 {
                    let gap = 1e-7 + 1.9e-6 * (i as f64 / m as f64);
                    let r = c.radius + gap;
                    let angle = i as f64;
                    *p = c.centre;
                    p[0] += r * angle.cos();
                    p[1] += r * angle.sin();
                } else if i % 31 == 1 {
                    p[0] = 1e-7;
                }
            }
            let grid = CellGrid::build(&bodies, &domain, 10e-6).with_distance_map(&bodies);
            let margin = rounding_margin(&domain, &grid);
            let mut rng = crate::random::stream(2, 0, dim as u64);
            let mut g = [[0.0f32; BLOCK]; 3];
            for ga in g.iter_mut().take(dim) {
                fill_standard_normal_f32(&mut rng, &mut ga[..m]);
            }
            let free: Vec<u8> = (0..m).map(|i| (i * 7 % 256) as u8).collect();
            let alive: Vec<bool> = (0..m).map(|i| i % 5 != 0).collect();
            let (lo, hi) = StoredBox::new(&domain).bounds();
            let run = |path: usize| {
                let mut x: Vec<f32> = points.iter().map(|p| p[0] as f32).collect();
                let mut y: Vec<f32> = points.iter().map(|p| p[1] as f32).collect();
                let mut z: Vec<f32> = points.iter().map(|p| p[2] as f32).collect();
                let mut free = free.clone();
                let mut careful = [0u64; BLOCK / 64];
                let (mut clear, mut left) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
                let moves = FreeMoves {
                    x: &mut x,
                    y: &mut y,
                    z: &mut z,
                    alive: &alive,
                    free: &mut free,
                    g: [&g[0][..m], &g[1][..m], &g[2][..m]],
                    sigma: &[2.8e-7; BLOCK][..m],
                    pad: &[8.5e-7; BLOCK][..m],
                    careful: &mut careful,
                    clear: &mut clear[..m],
                    left: &mut left[..m],
                    shift: [1e-8, -2e-8, 0.0],
                    lo,
                    hi,
                    quantum: grid.quantum as f32,
                    per_quantum: (1.0 / grid.quantum) as f32,
                    margin: margin as f32,
                    map: MapView::new(&grid, margin),
                };
                match path {
                    // SAFETY: checked below before asking for these paths.
                    1 => unsafe { moves.passes_avx2() },
                    2 => unsafe { moves.passes_avx512() },
                    _ => moves.passes::<false>(),
                }
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                (bits(&x), bits(&y), bits(&z), free, careful)
            };
            let plain = run(0);
            let careful = plain
                .4
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>();
            assert!(careful > 0 && careful < m / 2, "{careful} careful of {m}");
            if std::arch::is_x86_feature_detected!("avx2") {
                assert_eq!(plain, run(1), "{dim}-D, AVX2");
            }
            if avx512_passes() {
                assert_eq!(plain, run(2), "{dim}-D, AVX-512");
            }
        }
    }
}
