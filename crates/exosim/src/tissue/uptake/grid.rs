//! The cells as vesicles see them, and the uniform grid (cell list) that
//! finds the cells near a point, with its distance map (per voxel, the
//! nearest cell and a bound on the distance to all others) and the view of
//! it that the move loop reads.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::super::contact::Sphere;
use super::super::domain::Domain;
use super::gather::Gathered;

/// Particles moved together within a chunk (see `Kernel::run` in `step.rs`).
pub(super) const BLOCK: usize = 256;

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
pub(super) static GRID_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Most bins a [`CellGrid`] holds; a finer request is coarsened to fit.
pub(super) const MAX_BINS: usize = 1 << 22;

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

    pub(super) fn largest_radius(&self) -> f64 {
        self.spheres.iter().map(|s| s.radius).fold(0.0, f64::max)
    }
}

/// Uptake probability per contact for each (vesicle class, cell type): the
/// ligand–receptor match of a study, resolved to numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinity {
    pub(super) kinds: usize,
    pub(super) probability: Vec<f64>,
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
    pub(super) lower: [f64; 3],
    pub(super) bin: f64,
    pub(super) inv_bin: f64,
    pub(super) dims: [usize; 3],
    /// Axes of the domain in use.
    pub(super) dim: usize,
    pub(super) cells: usize,
    pub(super) largest: f64,
    pub(super) centre_start: Vec<u32>,
    pub(super) centre_cells: Vec<u32>,
    pub(super) near_start: Vec<u32>,
    pub(super) near_cells: Vec<u32>,
    /// Distance from each bin's box to the nearest cell surface, capped at
    /// two bins and rounded down.
    pub(super) clearance: Vec<f32>,
    /// Unit of the particles' one-byte distance bounds: two bins / 255.
    pub(super) quantum: f64,
    pub(super) generation: u64,
    /// Distances to the nearest cell surface on a finer lattice, when built
    /// ([`CellGrid::with_distance_map`]).
    pub(super) map: Option<DistanceMap>,
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
    pub(super) fn coords(&self, p: [f64; 3]) -> [usize; 3] {
        // `as usize` sends negative and NaN values to 0.
        std::array::from_fn(|a| {
            (((p[a] - self.lower[a]) * self.inv_bin) as usize).min(self.dims[a] - 1)
        })
    }

    #[inline(always)]
    pub(super) fn index(&self, c: [usize; 3]) -> usize {
        (c[2] * self.dims[1] + c[1]) * self.dims[0] + c[0]
    }

    /// Voxels (four bytes each) of this grid's distance map, built or not.
    pub fn distance_map_voxels(&self) -> usize {
        self.map_voxels(self.map_per_bin())
    }

    /// Voxels of a distance map with `per` voxels per bin side.
    pub(super) fn map_voxels(&self, per: usize) -> usize {
        (0..3)
            .map(|a| if a < self.dim { self.dims[a] * per } else { 1 })
            .product()
    }

    /// Voxels per bin side of this grid's distance map: [`MAP_PER_BIN`],
    /// or 1 where that would pass 2²⁴ voxels in all or 2²² along an axis
    /// (so that indices fit the `u32` of the move loop, and its rounding
    /// through an `f32` mantissa; bins are at most 2²² per axis).
    pub(super) fn map_per_bin(&self) -> usize {
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
pub(super) fn rounding_margin(domain: &Domain, grid: &CellGrid) -> f64 {
    let extent = (0..domain.dim)
        .map(|a| domain.lower[a].abs().max(domain.upper[a].abs()))
        .fold(0.0, f64::max);
    let spacing = extent * f32::EPSILON as f64;
    (1e-3 * grid.quantum).max(4.0 * spacing)
}

/// `v` as an `f32` no larger than `v`.
pub(super) fn round_down(v: f64) -> f32 {
    let r = v as f32;
    if r as f64 > v { r.next_down() } else { r }
}

/// Compressed rows of `(row, value)` pairs over `rows` rows, values of a row
/// in the order given: row `r` holds `list[start[r]..start[r + 1]]`.
pub(super) fn csr(
    rows: usize,
    pairs: impl Iterator<Item = (usize, u32)> + Clone,
) -> (Vec<u32>, Vec<u32>) {
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

// The distance map: per voxel, the nearest cell and a bound on the others.

/// Voxels per bin side in a [`CellGrid`]'s distance map.
pub(super) const MAP_PER_BIN: usize = 2;
/// Most voxels a distance map holds; a finer one falls back to one voxel per bin.
pub(super) const MAX_MAP_VOXELS: usize = 1 << 24;
/// Most cells a distance map can name (24-bit indices, one kept for "none").
pub(super) const MAX_MAP_CELLS: usize = (1 << 24) - 1;

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
pub(super) struct DistanceMap {
    /// Axes in use (those beyond do not count in distances).
    pub(super) dim: usize,
    pub(super) side: f64,
    pub(super) inv_side: f64,
    pub(super) dims: [usize; 3],
    /// `cell << 8 | d₂`: the named cell (an index into `spheres`) and the
    /// distance to the others in quanta (at most a bin, 127.5 quanta).
    pub(super) voxels: Vec<u32>,
    /// Centre and radius of each cell in `f32` (radius rounded up), then a
    /// far-away point for voxels that name no cell.
    pub(super) spheres: Vec<[f32; 4]>,
}

/// A point so far away that its distance is infinite in `f32`, for voxels
/// that name no cell (finite, so that `0·(p − c)` stays 0 on unused axes).
pub(super) const NOWHERE: [f32; 4] = [1e30, 1e30, 1e30, 0.0];

impl DistanceMap {
    /// The map of `grid` (whose bins list `cells`) with
    /// [`CellGrid::map_per_bin`] voxels per bin side, measured in parallel
    /// (each voxel on its own, so the result does not depend on the threads).
    pub(super) fn measure(grid: &CellGrid, cells: &CellBodies) -> Self {
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
pub(super) fn distance_in(dim: usize, p: [f64; 3], q: [f64; 3]) -> f64 {
    (0..dim)
        .map(|a| (p[a] - q[a]) * (p[a] - q[a]))
        .sum::<f64>()
        .sqrt()
}

/// A [`CellGrid`]'s distance map as the move loop reads it, in `f32`.
#[derive(Clone, Copy)]
pub(super) struct MapView<'a> {
    pub(super) voxels: &'a [u32],
    pub(super) spheres: &'a [[f32; 4]],
    pub(super) lower: [f32; 3],
    pub(super) side: f32,
    pub(super) inv_side: f32,
    /// Highest voxel index per axis.
    pub(super) top: [f32; 3],
    pub(super) dims: [u32; 3],
    /// The highest voxel index.
    pub(super) last: u32,
    /// 1 for the axes in use, 0 for the others.
    pub(super) used: [f32; 3],
    /// Taken off each bound for the `f32` rounding of the voxel centre, of
    /// the named cell's centre, and of the distances to them.
    pub(super) margin: f32,
}

/// The view of a grid without a distance map: one voxel that names no cell
/// and puts the others at distance 0, which never gives a usable bound.
pub(super) static NO_VOXELS: [u32; 1] = [0];
pub(super) static NO_SPHERES: [[f32; 4]; 1] = [NOWHERE];

impl<'a> MapView<'a> {
    /// The view of `grid`'s map; without one, see [`NO_VOXELS`].
    pub(super) fn new(grid: &'a CellGrid, margin: f64) -> Self {
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
    pub(super) fn locate(&self, p: [f32; 3]) -> (u32, f32) {
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
    pub(super) fn bound(&self, p: [f32; 3], way: f32, quantum: f32, read: [f32; 5]) -> f32 {
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
    pub(super) fn spares(
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
    pub(super) fn gather<const AVX2: bool>(&self, index: &[u32], out: Gathered) {
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            // SAFETY: `AVX2` is set only on processors that have it, every
            // index comes from `locate`, below the voxel count, and every
            // voxel names a cell of the table or the spare entry after them.
            unsafe { super::gather::gather_avx2(self.voxels, self.spheres, index, out) };
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
