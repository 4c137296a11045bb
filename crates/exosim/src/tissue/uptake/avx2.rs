//! The move passes compiled for AVX2: the same operations as the scalar
//! passes, so the same bits (the map's AVX2 gather is in `gather`).

use super::passes::FreeMoves;

impl FreeMoves<'_> {
    /// [`FreeMoves::passes`] compiled for AVX2 (the compiler turns its
    /// loops into eight-lane code; Rust neither fuses nor reorders float
    /// operations, so the results are those of the scalar passes).
    ///
    /// # Safety
    ///
    /// The processor must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn passes_avx2(self) {
        self.passes::<true>();
    }
}
