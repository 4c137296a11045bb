//! The careful path: the step of a particle that may touch a cell or
//! leave the box (cell search, Brownian-bridge contact, the domain's faces).

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::super::contact::bridge_crossing_probability;
use super::super::domain::{Domain, Fate};
use super::super::motion::StoredBox;
use super::grid::MapView;
use super::grid::{Affinity, CellBodies, CellGrid};

/// What the chunk kernel reads besides the particles.
pub(super) struct Kernel<'a> {
    pub(super) cells: &'a CellBodies,
    pub(super) grid: &'a CellGrid,
    pub(super) affinity: &'a Affinity,
    pub(super) domain: &'a Domain,
    pub(super) stored: StoredBox,
    pub(super) shift: [f64; 3],
    pub(super) sigma: Vec<f64>,
    /// `REACH_SIGMAS·sigma`, per class.
    pub(super) pad: Vec<f64>,
    /// Bridge probabilities below this count as no contact, without a draw.
    pub(super) negligible: f64,
    /// `2·REACH_SIGMAS²·Δt·(1 + 10⁻⁶)`: paths whose gaps at both ends
    /// multiply to more than this times D have a bridge probability surely
    /// below `negligible`.
    pub(super) sure_miss: f64,
    /// Taken off every distance bound at each step, for the rounding of
    /// stored positions and of the bound itself (far below a quantum).
    pub(super) margin: f64,
    pub(super) map: MapView<'a>,
    pub(super) d_per_class: &'a [f64],
    pub(super) dt: f64,
}

impl Kernel<'_> {
    /// The first cell (nearest surface first) that the path `start → end`
    /// touched, for a step whose path plus padding spans `reach`, and a
    /// lower bound on the distance from `start` to every cell surface.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    pub(super) fn contact<R: rand::Rng>(
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
    pub(super) fn touches<R: rand::Rng>(
        &self,
        c: u32,
        gap: f64,
        end: [f64; 3],
        d: f64,
        rng: &mut R,
    ) -> bool {
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
    pub(super) fn contact_alone<R: rand::Rng>(
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
    pub(super) fn careful_step(
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
}

/// One particle's move, as the careful path needs it.
pub(super) struct Step {
    pub(super) start: [f64; 3],
    pub(super) end: [f64; 3],
    pub(super) path: f64,
    pub(super) pad: f64,
    pub(super) clear: f64,
    pub(super) class: usize,
}

/// What one chunk of particles hands back to be merged in chunk order.
pub(super) struct ChunkOutcome {
    /// Weight absorbed (`class`) and drained (`classes + class`).
    pub(super) lost: Vec<f64>,
    /// Contacts refused by the affinity draw, per class.
    pub(super) bounced: Vec<u64>,
    /// Uptakes accepted by the affinity draw, `(particle, cell)` in particle
    /// order, waiting for the capacity check.
    pub(super) wanted: Vec<(u32, u32)>,
}

/// The per-particle arrays of one chunk.
pub(super) struct ChunkSlices<'a> {
    pub(super) xs: &'a mut [f32],
    pub(super) ys: &'a mut [f32],
    pub(super) zs: &'a mut [f32],
    pub(super) alive: &'a mut [bool],
    pub(super) free: &'a mut [u8],
    pub(super) ws: &'a [f64],
    pub(super) cs: &'a [u32],
}
