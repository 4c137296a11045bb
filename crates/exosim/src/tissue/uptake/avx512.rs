//! [`FreeMoves::passes`] written with AVX-512 for sixteen particles per
//! instruction, giving bit-identical results.
//!
//! Why: compiled for AVX2, the generic passes spend most of their time on
//! what eight-lane code does badly: listing the particles short of room
//! one by one, zeroing the block's scratch arrays, and blending. Here the
//! list is built with compress instructions (sixteen particles at once,
//! into a register, then stored whole), a block's scratch is never zeroed
//! (only what was written is read: masked loads), results come back to
//! their lanes by expansion, and the moved positions and bounds are
//! written with masked stores. Every floating-point operation is the one
//! of the generic code, in the same order and without fusion (no FMA), so
//! the outputs are the same bit for bit (tested in the parent module).

use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::grid::BLOCK;
use super::grid::MapView;
use super::passes::FreeMoves;

/// Particles per vector.
const LANES: usize = 16;
/// Room of the compacted lists: a whole vector is stored at their end.
const ROOM: usize = BLOCK + LANES;

/// Groups of sixteen particles in a block.
const GROUPS: usize = BLOCK / LANES;

/// What the first pass leaves the last one of each group of sixteen
/// particles.
struct Groups {
    /// The particles short of room (a bit per lane).
    short_of: [u16; GROUPS],
    /// The living, valid and inside lanes.
    masks: [[u16; 3]; GROUPS],
    /// The bound, path and end (x, y, z) of every lane.
    kept: [[MaybeUninit<f32>; BLOCK]; 5],
}

/// The particles of the block short of room, listed by the first pass:
/// start (x, y, z), end (x, y, z), path, padding; the list's length is
/// what the first pass returns.
struct Listed {
    at: [[MaybeUninit<f32>; ROOM]; 8],
}

/// The listed particles' voxels: each voxel's word, and the way from the
/// particle to the voxel's centre.
struct Located {
    words: [MaybeUninit<i32>; ROOM],
    ways: [MaybeUninit<f32>; ROOM],
}

/// What the distance map gives the listed particles: their bound, and
/// whether their step surely touches no cell (1 or 0).
struct Mapped {
    bound: [MaybeUninit<f32>; ROOM],
    spared: [MaybeUninit<i32>; ROOM],
}

impl Groups {
    #[inline(always)]
    fn new() -> Groups {
        Groups {
            short_of: [0; GROUPS],
            masks: [[0; 3]; GROUPS],
            kept: [[MaybeUninit::uninit(); BLOCK]; 5],
        }
    }
}

impl Listed {
    #[inline(always)]
    fn new() -> Listed {
        Listed {
            at: [[MaybeUninit::uninit(); ROOM]; 8],
        }
    }
}

impl Located {
    #[inline(always)]
    fn new() -> Located {
        Located {
            words: [MaybeUninit::uninit(); ROOM],
            ways: [MaybeUninit::uninit(); ROOM],
        }
    }
}

impl Mapped {
    #[inline(always)]
    fn new() -> Mapped {
        Mapped {
            bound: [MaybeUninit::uninit(); ROOM],
            spared: [MaybeUninit::uninit(); ROOM],
        }
    }
}

/// What the first and the last pass both compute for sixteen particles.
struct Lanes {
    /// The particles of the block in these lanes.
    valid: __mmask16,
    /// The living ones.
    alive: __mmask16,
    /// Own distance bound (−∞ when dead).
    clear: __m512,
    start: [__m512; 3],
    end: [__m512; 3],
    path: __m512,
    pad: __m512,
}

impl FreeMoves<'_> {
    /// The passes of [`FreeMoves::passes`] for processors with AVX-512
    /// (F, BW, VL, DQ): the same outputs, bit for bit.
    ///
    /// Each pass is a function of its own, inlined here (the compiled
    /// function calls none of them, and its loops are those of the single
    /// function it replaced), and the scratch they share lies on this
    /// function's stack, in [`Groups`], [`Listed`], [`Located`] and
    /// [`Mapped`]: its vectors are never zeroed, only what was written is
    /// read.
    ///
    /// # Safety
    ///
    /// The processor must have AVX-512F, BW, VL and DQ.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    pub(super) unsafe fn passes_avx512(mut self) {
        let m = self.x.len();
        assert!(m <= BLOCK && self.careful.len() == BLOCK / 64);
        assert!(
            [
                self.y.len(),
                self.z.len(),
                self.alive.len(),
                self.free.len(),
                self.g[0].len(),
                self.g[1].len(),
                self.g[2].len(),
                self.sigma.len(),
                self.pad.len(),
            ]
            .iter()
            .all(|&n| n == m)
        );
        self.careful.fill(0);
        let (mut groups, mut listed) = (Groups::new(), Listed::new());
        let (mut located, mut mapped) = (Located::new(), Mapped::new());
        // SAFETY: the lengths are those checked above; each pass reads only
        // what the passes before it wrote (the first `k` listed particles).
        unsafe {
            let k = self.list_short_of_room(&mut groups, &mut listed);
            self.locate_listed(k, &listed, &mut located);
            self.bound_listed(k, &listed, &located, &mut mapped);
            self.move_common(&groups, &mapped);
        }
    }

    /// The first pass: for each group of sixteen particles, those short of
    /// room and those whose step ends inside the box, and what the last
    /// pass needs of every lane (into `groups`); the particles short of
    /// room listed for the distance map (into `listed`, sixteen at once by
    /// compression). Returns the number listed.
    ///
    /// # Safety
    ///
    /// The slices must have the lengths that [`FreeMoves::passes_avx512`]
    /// checks, and the processor must have AVX-512F, BW, VL and DQ.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    unsafe fn list_short_of_room(&self, groups: &mut Groups, listed: &mut Listed) -> usize {
        let (lo, hi) = (
            self.lo.map(|v| _mm512_set1_ps(v)),
            self.hi.map(|v| _mm512_set1_ps(v)),
        );
        let mut k = 0;
        for q in 0..self.x.len().div_ceil(LANES) {
            let j0 = q * LANES;
            // SAFETY: `j0` is a particle of the block (q < the group count).
            let lanes = unsafe { self.lanes(j0) };
            let short = lanes.alive
                & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(
                    lanes.clear,
                    _mm512_add_ps(lanes.path, lanes.pad),
                );
            groups.short_of[q] = short;
            let [x0, y0, z0] = lanes.start;
            let [x1, y1, z1] = lanes.end;
            let inside = inside(lanes.end, lo, hi);
            groups.masks[q] = [lanes.alive, lanes.valid, inside];
            // SAFETY: k + 16 ≤ 16·(q + 1) ≤ ROOM and j0 + 16 ≤ BLOCK: every
            // store lies in its array.
            unsafe {
                for (a, v) in listed
                    .at
                    .iter_mut()
                    .zip([x0, y0, z0, x1, y1, z1, lanes.path, lanes.pad])
                {
                    let to = a.as_mut_ptr().add(k) as *mut f32;
                    _mm512_storeu_ps(to, _mm512_maskz_compress_ps(short, v));
                }
                for (a, v) in groups
                    .kept
                    .iter_mut()
                    .zip([lanes.clear, lanes.path, x1, y1, z1])
                {
                    _mm512_storeu_ps(a.as_mut_ptr().add(j0) as *mut f32, v);
                }
            }
            k += short.count_ones() as usize;
        }
        k
    }

    /// The voxels of the `k` listed particles and the way to their centres
    /// (into `located`): first every voxel's word, independent reads which
    /// the processor overlaps; the cells they name are read in
    /// [`FreeMoves::bound_listed`].
    ///
    /// # Safety
    ///
    /// The first pass must have listed `k` particles in `listed`, and the
    /// processor must have AVX-512F, BW, VL and DQ.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    unsafe fn locate_listed(&self, k: usize, listed: &Listed, located: &mut Located) {
        let (at, map) = (&listed.at, &self.map);
        for t0 in (0..k).step_by(LANES) {
            let live = tail(k - t0);
            // SAFETY: the lanes read (below k) were written by the first
            // pass; `locate` keeps every index below the voxel count;
            // t0 + 16 ≤ ROOM.
            unsafe {
                let [px, py, pz] = [0, 1, 2]
                    .map(|a| _mm512_maskz_loadu_ps(live, at[a].as_ptr().add(t0) as *const f32));
                let (voxel, way) = locate(map, [px, py, pz]);
                let word = _mm512_mask_i32gather_epi32::<4>(
                    _mm512_setzero_si512(),
                    live,
                    voxel,
                    map.voxels.as_ptr() as *const i32,
                );
                let words = located.words.as_mut_ptr().add(t0);
                _mm512_storeu_si512(words as *mut __m512i, word);
                _mm512_storeu_ps(located.ways.as_mut_ptr().add(t0) as *mut f32, way);
            }
        }
    }

    /// The `k` listed particles' bound from the distance map, and whether
    /// their step surely touches no cell (into `mapped`), from the cells
    /// their voxels name.
    ///
    /// # Safety
    ///
    /// The first pass must have listed `k` particles in `listed`, and
    /// [`FreeMoves::locate_listed`] located them; the processor must have
    /// AVX-512F, BW, VL and DQ.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    unsafe fn bound_listed(
        &self,
        k: usize,
        listed: &Listed,
        located: &Located,
        mapped: &mut Mapped,
    ) {
        let map = &self.map;
        for t0 in (0..k).step_by(LANES) {
            let live = tail(k - t0);
            // SAFETY: the lanes read (below k) were written by the first pass.
            let [px, py, pz, ex, ey, ez, path, pad] = listed
                .at
                .each_ref()
                .map(|a| unsafe { _mm512_maskz_loadu_ps(live, a.as_ptr().add(t0) as *const f32) });
            // SAFETY: the lanes read (below k) were written by
            // `locate_listed`.
            let (word, way) = unsafe {
                (
                    _mm512_maskz_loadu_epi32(live, located.words.as_ptr().add(t0) as *const i32),
                    _mm512_maskz_loadu_ps(live, located.ways.as_ptr().add(t0) as *const f32),
                )
            };
            // SAFETY: each voxel names a cell of the table or the spare entry.
            let read = unsafe { gather(map, live, word) };
            let (b, s) = bound_and_spares(
                map,
                self.quantum,
                [px, py, pz],
                [ex, ey, ez],
                way,
                path,
                pad,
                read,
            );
            // SAFETY: t0 + 16 ≤ ROOM.
            unsafe {
                _mm512_storeu_ps(mapped.bound.as_mut_ptr().add(t0) as *mut f32, b);
                let s = _mm512_maskz_set1_epi32(s, 1);
                _mm512_storeu_si512(mapped.spared.as_mut_ptr().add(t0) as *mut __m512i, s);
            }
        }
    }

    /// The last pass: the moves, with each listed particle's bound and
    /// spare back in its lane (by expansion); the moved positions and
    /// bounds written with masked stores, the others marked careful.
    ///
    /// # Safety
    ///
    /// The first pass must have filled `groups`, and the map passes
    /// `mapped` for every particle it listed; the processor must have
    /// AVX-512F, BW, VL and DQ.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    unsafe fn move_common(&mut self, groups: &Groups, mapped: &Mapped) {
        // A word per 64 particles of the block (as checked by the caller):
        // a constant bound for the index below.
        let marks: &mut [u64; BLOCK / 64] = (&mut *self.careful)
            .try_into()
            .expect("a careful word per 64 particles");
        let per_quantum = _mm512_set1_ps(self.per_quantum);
        let (zero, top) = (_mm512_set1_ps(0.0), _mm512_set1_ps(255.0));
        let mut t = 0;
        for q in 0..self.x.len().div_ceil(LANES) {
            let (j0, short, [alive, valid, inside]) =
                (q * LANES, groups.short_of[q], groups.masks[q]);
            let n = short.count_ones() as usize;
            // SAFETY: the lanes read were written by the first pass (j0..j0
            // + 16) and by the map pass (t..t + n); masked loads read only
            // particles of the block.
            let (b, s, [c, path, x1, y1, z1], pad) = unsafe {
                let live = tail(n);
                let b = _mm512_maskz_loadu_ps(live, mapped.bound.as_ptr().add(t) as *const f32);
                let s = _mm512_maskz_loadu_epi32(live, mapped.spared.as_ptr().add(t) as *const i32);
                let s = _mm512_maskz_expand_epi32(short, s);
                let kept = groups
                    .kept
                    .each_ref()
                    .map(|a| _mm512_loadu_ps(a.as_ptr().add(j0) as *const f32));
                let pad = _mm512_maskz_loadu_ps(valid, self.pad.as_ptr().add(j0));
                (
                    _mm512_maskz_expand_ps(short, b),
                    _mm512_test_epi32_mask(s, s),
                    kept,
                    pad,
                )
            };
            t += n;
            let c = _mm512_mask_mov_ps(c, short & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(b, c), b);
            let need = _mm512_add_ps(path, pad);
            let common = valid & (_mm512_cmp_ps_mask::<_CMP_GE_OQ>(c, need) | (short & s)) & inside;
            // The bound left in quanta, clamped to [0, 255] as in the
            // generic code (in range whenever the particle moves).
            let l = _mm512_mul_ps(_mm512_sub_ps(c, path), per_quantum);
            let l = clamp(l, zero, top);
            let bytes = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(l));
            let careful = alive & !common;
            marks[j0 / 64] |= u64::from(careful) << (j0 % 64);
            // SAFETY: the lanes written are particles of the block (common
            // lies in `valid`; the byte stores are masked by it).
            unsafe {
                _mm512_mask_storeu_ps(self.x.as_mut_ptr().add(j0), common, x1);
                _mm512_mask_storeu_ps(self.y.as_mut_ptr().add(j0), common, y1);
                _mm512_mask_storeu_ps(self.z.as_mut_ptr().add(j0), common, z1);
                _mm_mask_storeu_epi8(self.free.as_mut_ptr().add(j0) as *mut i8, common, bytes);
            }
        }
    }

    /// The bound, step and padding of the particles `j0..j0 + 16` of the
    /// block (those that exist), as in the generic first pass.
    ///
    /// # Safety
    ///
    /// `j0` must be below the block's length, and the processor must have
    /// AVX-512F, BW and VL.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    unsafe fn lanes(&self, j0: usize) -> Lanes {
        let valid = tail(self.x.len() - j0);
        // SAFETY: masked loads read only lanes j0..len of each slice (all
        // of the block's length).
        unsafe {
            let ps = |s: &[f32]| _mm512_maskz_loadu_ps(valid, s.as_ptr().add(j0));
            let bytes = |p: *const u8| _mm_maskz_loadu_epi8(valid, p.add(j0) as *const i8);
            let alive = bytes(self.alive.as_ptr() as *const u8);
            let alive = _mm_test_epi8_mask(alive, alive);
            let free = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes(self.free.as_ptr())));
            let clear = _mm512_sub_ps(
                _mm512_mul_ps(free, _mm512_set1_ps(self.quantum)),
                _mm512_set1_ps(self.margin),
            );
            let clear = _mm512_mask_mov_ps(_mm512_set1_ps(f32::NEG_INFINITY), alive, clear);
            let sigma = ps(self.sigma);
            let g = self.g.map(ps);
            let start = [ps(self.x), ps(self.y), ps(self.z)];
            let step: [__m512; 3] = std::array::from_fn(|a| {
                _mm512_add_ps(_mm512_set1_ps(self.shift[a]), _mm512_mul_ps(sigma, g[a]))
            });
            let end = std::array::from_fn(|a| _mm512_add_ps(start[a], step[a]));
            let [dx, dy, dz] = step;
            let path = _mm512_sqrt_ps(_mm512_add_ps(
                _mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy)),
                _mm512_mul_ps(dz, dz),
            ));
            Lanes {
                valid,
                alive,
                clear,
                start,
                end,
                path,
                pad: ps(self.pad),
            }
        }
    }
}

/// The first `n` lanes (all sixteen from 16 on).
#[inline(always)]
fn tail(n: usize) -> __mmask16 {
    if n >= LANES {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// The lanes whose `end` lies strictly inside the box `lo`..`hi` on every
/// axis, as in the generic last pass.
#[target_feature(enable = "avx512f")]
#[inline]
fn inside(end: [__m512; 3], lo: [__m512; 3], hi: [__m512; 3]) -> __mmask16 {
    let [x1, y1, z1] = end;
    _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x1, lo[0])
        & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x1, hi[0])
        & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(y1, lo[1])
        & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(y1, hi[1])
        & _mm512_cmp_ps_mask::<_CMP_GT_OQ>(z1, lo[2])
        & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(z1, hi[2])
}

/// `v.clamp(lo, hi)` lane by lane as Rust's `f32::clamp` does it (a NaN
/// stays NaN, −0 stays −0): `max` and `min` return their second operand
/// when either is NaN or both are equal.
#[target_feature(enable = "avx512f")]
#[inline]
fn clamp(v: __m512, lo: __m512, hi: __m512) -> __m512 {
    _mm512_min_ps(hi, _mm512_max_ps(lo, v))
}

/// [`MapView::locate`] on sixteen points.
#[target_feature(enable = "avx512f")]
#[inline]
fn locate(map: &MapView, p: [__m512; 3]) -> (__m512i, __m512) {
    let ki: [__m512i; 3] = std::array::from_fn(|a| {
        let k = _mm512_sub_ps(
            _mm512_mul_ps(
                _mm512_sub_ps(p[a], _mm512_set1_ps(map.lower[a])),
                _mm512_set1_ps(map.inv_side),
            ),
            _mm512_set1_ps(0.5),
        );
        let k = clamp(k, _mm512_set1_ps(0.0), _mm512_set1_ps(map.top[a]));
        _mm512_and_si512(
            _mm512_castps_si512(_mm512_add_ps(k, _mm512_set1_ps(8_388_608.0))),
            _mm512_set1_epi32(0x7f_ffff),
        )
    });
    let dims = map.dims.map(|n| _mm512_set1_epi32(n as i32));
    let index = _mm512_add_epi32(
        _mm512_mullo_epi32(
            _mm512_add_epi32(_mm512_mullo_epi32(ki[2], dims[1]), ki[1]),
            dims[0],
        ),
        ki[0],
    );
    let index = _mm512_min_epu32(index, _mm512_set1_epi32(map.last as i32));
    let mut d2 = _mm512_set1_ps(0.0);
    for a in 0..3 {
        let centre = _mm512_add_ps(
            _mm512_set1_ps(map.lower[a]),
            _mm512_mul_ps(
                _mm512_add_ps(_mm512_cvtepu32_ps(ki[a]), _mm512_set1_ps(0.5)),
                _mm512_set1_ps(map.side),
            ),
        );
        let g = _mm512_mul_ps(_mm512_sub_ps(p[a], centre), _mm512_set1_ps(map.used[a]));
        d2 = _mm512_add_ps(d2, _mm512_mul_ps(g, g));
    }
    (index, _mm512_sqrt_ps(d2))
}

/// What [`MapView::gather`] reads, for the lanes `live`, from the voxels'
/// `words`: the distance to the other cells (in quanta), and the named
/// cell's centre and radius.
///
/// # Safety
///
/// Every live word's cell must be below the sphere table's length.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn gather(map: &MapView, live: __mmask16, words: __m512i) -> [__m512; 5] {
    let others = _mm512_cvtepi32_ps(_mm512_and_si512(words, _mm512_set1_epi32(0xff)));
    let at = _mm512_slli_epi32::<2>(_mm512_srli_epi32::<8>(words));
    let table = map.spheres.as_ptr() as *const f32;
    // SAFETY: the caller's promise; lanes outside `live` read nothing.
    let read = |a: usize| unsafe {
        _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), live, at, table.add(a))
    };
    [others, read(0), read(1), read(2), read(3)]
}

/// [`MapView::bound`] and [`MapView::spares`] on sixteen particles.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
#[inline]
fn bound_and_spares(
    map: &MapView,
    quantum: f32,
    p: [__m512; 3],
    e: [__m512; 3],
    way: __m512,
    path: __m512,
    pad: __m512,
    read: [__m512; 5],
) -> (__m512, __mmask16) {
    let [others, cx, cy, cz, radius] = read;
    let centre = [cx, cy, cz];
    let distance = |q: [__m512; 3]| {
        let g: [__m512; 3] = std::array::from_fn(|a| {
            _mm512_mul_ps(_mm512_sub_ps(q[a], centre[a]), _mm512_set1_ps(map.used[a]))
        });
        let d2 = _mm512_add_ps(
            _mm512_add_ps(_mm512_mul_ps(g[0], g[0]), _mm512_mul_ps(g[1], g[1])),
            _mm512_mul_ps(g[2], g[2]),
        );
        _mm512_sub_ps(_mm512_sqrt_ps(d2), radius)
    };
    let margin = _mm512_set1_ps(map.margin);
    let named = distance(p);
    let rest = _mm512_sub_ps(_mm512_mul_ps(others, _mm512_set1_ps(quantum)), way);
    // `if named < rest { named } else { rest }`, less the margin.
    let nearest = _mm512_mask_mov_ps(rest, _mm512_cmp_ps_mask::<_CMP_LT_OQ>(named, rest), named);
    let bound = _mm512_sub_ps(nearest, margin);

    let named0 = _mm512_sub_ps(named, margin);
    let named1 = _mm512_sub_ps(distance(e), margin);
    let rest0 = _mm512_sub_ps(rest, margin);
    let rest1 = _mm512_sub_ps(_mm512_sub_ps(rest0, path), margin);
    let room = _mm512_mul_ps(_mm512_mul_ps(pad, pad), _mm512_set1_ps(1.0 + 1.0 / 1024.0));
    let zero = _mm512_set1_ps(0.0);
    let positive = |v| _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, zero);
    let spares = positive(named0)
        & positive(named1)
        & _mm512_cmp_ps_mask::<_CMP_GE_OQ>(_mm512_mul_ps(named0, named1), room)
        & positive(rest0)
        & positive(rest1)
        & _mm512_cmp_ps_mask::<_CMP_GE_OQ>(_mm512_mul_ps(rest0, rest1), room);
    (bound, spares)
}
