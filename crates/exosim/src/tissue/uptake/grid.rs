//! The cells as vesicles see them, and the uniform grid (cell list) that
//! finds the cells near a point.

use std::sync::atomic::{AtomicU64, Ordering};

use super::super::contact::Sphere;
use super::super::domain::Domain;
use super::distance_map::{DistanceMap, MAP_PER_BIN, MAX_MAP_CELLS, MAX_MAP_VOXELS};

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
