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
//! no result. The vector passes that do all this have a scalar reference
//! and vector copies (AVX2, AVX-512), chosen at run time by
//! [`crate::simd::SimdPath`], with bit-identical results.
//!
//! Parallel and reproducible: particles are processed in fixed chunks of
//! [`CHUNK`](super::motion::CHUNK), chunk `k` of step `s` drawing from its own generators
//! ([`chunk_generators`](super::motion::chunk_generators) keyed by `(seed, UPTAKE_DOMAIN, s·2^20 + k)`). A chunk
//! decides contacts and affinity draws on its own and lists the uptakes it
//! wants; capacity, which couples vesicles, is then settled in particle
//! index order: a cell grants uptakes in that order while its capacity
//! lasts, and the vesicles it refuses in this step bounce (stay where they
//! were, alive). Results are therefore bit-identical whatever the number of
//! threads, and a cell of unlimited capacity costs nothing more than a
//! comparison per uptake.
//!
//! Files: `grid` (the cells and their cell list), `distance_map` (the
//! grid's distance map and the view the passes read), `passes` (the
//! common moves of a block: the scalar reference and the dispatch), `avx2`
//! and `avx512` (its vector copies), `careful` (the careful path), `step`
//! (the step driver: chunks, blocks, capacity).

mod careful;
mod gather;
mod grid;
mod passes;
mod step;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

#[cfg(test)]
mod tests;

pub use grid::{Affinity, CellBodies, CellGrid};
pub use step::{StepSettings, UptakeCounts, step_with_uptake};

pub use grid::{REACH_SIGMAS, UPTAKE_DOMAIN};
