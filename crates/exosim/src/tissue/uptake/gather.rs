//! What a gather of the distance map hands back, and the gather with AVX2
//! (the scalar one is `MapView::gather` in `grid`).

/// What [`MapView::gather`](super::grid::MapView::gather) reads for each particle.
pub(super) struct Gathered<'s> {
    /// Distance to every cell but the named one, from the voxel centre, in quanta.
    pub(super) others: &'s mut [f32],
    /// Centre and radius of the named cell.
    pub(super) cx: &'s mut [f32],
    pub(super) cy: &'s mut [f32],
    pub(super) cz: &'s mut [f32],
    pub(super) radius: &'s mut [f32],
}

/// [`MapView::gather`](super::grid::MapView::gather) with AVX2 gathers: the voxels' words, then the
/// centre and radius of the cells they name.
///
/// # Safety
///
/// The processor must have AVX2, every index must be below `voxels.len()`,
/// and every voxel's cell (`word >> 8`) below `spheres.len()`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gather_avx2(
    voxels: &[u32],
    spheres: &[[f32; 4]],
    index: &[u32],
    out: Gathered,
) {
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
