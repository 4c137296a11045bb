//! The grid's distance map, and the view of it that the move loop reads.

use rayon::prelude::*;

use super::grid::{CellBodies, CellGrid};

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

/// What [`MapView::gather`] reads for each particle.
pub(super) struct Gathered<'s> {
    /// Distance to every cell but the named one, from the voxel centre, in quanta.
    pub(super) others: &'s mut [f32],
    /// Centre and radius of the named cell.
    pub(super) cx: &'s mut [f32],
    pub(super) cy: &'s mut [f32],
    pub(super) cz: &'s mut [f32],
    pub(super) radius: &'s mut [f32],
}

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
            unsafe { super::avx2::gather_avx2(self.voxels, self.spheres, index, out) };
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
