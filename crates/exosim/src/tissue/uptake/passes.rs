//! The common moves of a block of particles in vector-friendly passes:
//! the scalar reference, and the dispatch to its vector copies
//! ([`super::avx2`], [`super::avx512`]).

use super::gather::Gathered;
use super::grid::BLOCK;
use super::grid::MapView;
use crate::simd::SimdPath;

/// The common moves of one block of particles: every particle whose step
/// can neither reach a cell nor leave the box moves and has its distance
/// bound lowered; the others are marked `careful`. All slices have the
/// block's length.
pub(super) struct FreeMoves<'a> {
    pub(super) x: &'a mut [f32],
    pub(super) y: &'a mut [f32],
    pub(super) z: &'a mut [f32],
    pub(super) alive: &'a [bool],
    pub(super) free: &'a mut [u8],
    /// Normal variates per axis.
    pub(super) g: [&'a [f32]; 3],
    pub(super) sigma: &'a [f32],
    pub(super) pad: &'a [f32],
    /// The particles that take the careful path: bit `j % 64` of word
    /// `j / 64` for particle `j` (a word per 64 particles of the block).
    pub(super) careful: &'a mut [u64],
    /// Scratch: the distance bound of each particle, then what is left of it.
    pub(super) clear: &'a mut [f32],
    pub(super) left: &'a mut [f32],
    pub(super) shift: [f32; 3],
    pub(super) lo: [f32; 3],
    pub(super) hi: [f32; 3],
    pub(super) quantum: f32,
    pub(super) per_quantum: f32,
    pub(super) margin: f32,
    pub(super) map: MapView<'a>,
}

impl FreeMoves<'_> {
    /// Runs the passes on the path the process uses
    /// ([`SimdPath::current`]).
    pub(super) fn run(self) {
        self.run_on(SimdPath::current());
    }

    /// Runs the passes on `path`, or the widest path below it that the
    /// processor has: [`FreeMoves::passes`] (the scalar reference), the
    /// same passes compiled for AVX2 ([`super::avx2`]), or their AVX-512
    /// copy ([`super::avx512`]).
    ///
    /// Why: on baseline x86-64 (SSE2) the compiler's cost model keeps the
    /// move loop scalar; compiled for AVX2 it runs eight particles at once,
    /// which more than doubles the common path, and AVX-512 runs sixteen.
    /// Rust never fuses or reorders floating-point operations, and the
    /// AVX-512 copy does the scalar passes' operations in their order, so
    /// every path gives bit-identical results.
    pub(super) fn run_on(self, path: SimdPath) {
        match path.or_below() {
            // SAFETY: `or_below` returns only paths the processor has.
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx512 => unsafe { self.passes_avx512() },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx2 => unsafe { self.passes_avx2() },
            _ => self.passes::<false>(),
        }
    }

    /// Passes of plain `f32` arithmetic, each of which the compiler can
    /// turn into SIMD: bytes to distances, the distance map for the
    /// particles short of room, the moves, and distances back to bytes.
    #[inline(always)]
    pub(super) fn passes<const AVX2: bool>(self) {
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
