//! Cells as agents: where they are, what state they are in, what cargo they
//! hold; placement at the start, and the overlap relaxation that keeps
//! dividing cells from interpenetrating.
//!
//! Cells are stored as a structure of arrays like vesicles. State variables
//! and held cargo use a fixed stride (the most state variables of any type,
//! the number of molecules), so one cell's values are one slice.

use rand::RngExt;
use rand_distr::StandardNormal;

use super::contact::Sphere;
use super::domain::{Boundary, Domain};
use super::model::{Placement, TissueModel, product};
use super::uptake::{CellBodies, CellGrid};
use crate::random::Stream;

/// Relaxation sweeps at most per call of [`CellPopulation::relax_overlaps`].
const RELAX_SWEEPS: usize = 50;

/// The living cells of a tissue.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CellPopulation {
    /// Cell type of each cell.
    pub kind: Vec<u32>,
    /// Centre of each cell, m.
    pub pos: Vec<[f64; 3]>,
    /// State variables, `state_stride` per cell.
    pub state: Vec<f64>,
    /// Cargo copies held, `molecules` per cell.
    pub held: Vec<f64>,
    /// Vesicles taken up so far (against the type's capacity).
    pub taken: Vec<f64>,
    /// Stable identifier (for snapshots): never reused within a run.
    pub id: Vec<u64>,
    /// Entries per cell in `state`.
    pub state_stride: usize,
    /// Entries per cell in `held`.
    pub molecules: usize,
    next_id: u64,
}

impl CellPopulation {
    /// No cells, laid out for `model`.
    pub fn new(model: &TissueModel) -> Self {
        CellPopulation {
            state_stride: model
                .cell_types
                .iter()
                .map(|c| c.state.len())
                .max()
                .unwrap_or(0),
            molecules: model.molecules.len(),
            ..Default::default()
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    /// Whether there is no cell.
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }

    /// A new cell of `kind` at `pos` with the type's initial state.
    pub fn push_new(&mut self, model: &TissueModel, kind: usize, pos: [f64; 3]) {
        self.kind.push(kind as u32);
        self.pos.push(pos);
        let start = self.state.len();
        self.state.resize(start + self.state_stride, 0.0);
        for (j, v) in model.cell_types[kind].state.iter().enumerate() {
            self.state[start + j] = v.initial;
        }
        self.held.resize(self.held.len() + self.molecules, 0.0);
        self.taken.push(0.0);
        self.id.push(self.next_id);
        self.next_id += 1;
    }

    /// State variables of cell `i`.
    pub fn state_of(&self, i: usize) -> &[f64] {
        &self.state[i * self.state_stride..(i + 1) * self.state_stride]
    }

    /// State variables of cell `i`, to change.
    pub fn state_of_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.state[i * self.state_stride..(i + 1) * self.state_stride]
    }

    /// Cargo held by cell `i`, to change.
    pub fn held_of_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.held[i * self.molecules..(i + 1) * self.molecules]
    }

    /// Cargo held by cell `i`.
    pub fn held_of(&self, i: usize) -> &[f64] {
        &self.held[i * self.molecules..(i + 1) * self.molecules]
    }

    /// Splits cell `i`: a daughter is placed at `pos_daughter`, the mother
    /// moves to `pos_mother`; state is inherited, held cargo and taken
    /// vesicles are shared equally.
    pub fn divide(&mut self, i: usize, pos_mother: [f64; 3], pos_daughter: [f64; 3]) {
        self.pos[i] = pos_mother;
        for v in self.held_of_mut(i) {
            *v *= 0.5;
        }
        self.taken[i] *= 0.5;
        self.kind.push(self.kind[i]);
        self.pos.push(pos_daughter);
        let s = i * self.state_stride;
        self.state.extend_from_within(s..s + self.state_stride);
        let h = i * self.molecules;
        self.held.extend_from_within(h..h + self.molecules);
        self.taken.push(self.taken[i]);
        self.id.push(self.next_id);
        self.next_id += 1;
    }

    /// Removes the cells for which `dead` is true, keeping the order of the rest.
    pub fn remove(&mut self, dead: &[bool]) {
        let mut w = 0;
        for (r, &gone) in dead.iter().enumerate().take(self.len()) {
            if gone {
                continue;
            }
            if w != r {
                self.kind[w] = self.kind[r];
                self.pos[w] = self.pos[r];
                self.taken[w] = self.taken[r];
                self.id[w] = self.id[r];
                let (s, m) = (self.state_stride, self.molecules);
                self.state.copy_within(r * s..(r + 1) * s, w * s);
                self.held.copy_within(r * m..(r + 1) * m, w * m);
            }
            w += 1;
        }
        self.kind.truncate(w);
        self.pos.truncate(w);
        self.taken.truncate(w);
        self.id.truncate(w);
        self.state.truncate(w * self.state_stride);
        self.held.truncate(w * self.molecules);
    }

    /// The cells as the vesicles see them (spheres with a capacity).
    pub fn bodies(&self, model: &TissueModel) -> CellBodies {
        let mut b = CellBodies::default();
        for i in 0..self.len() {
            let t = &model.cell_types[self.kind[i] as usize];
            let idx = b.push(
                Sphere::new(self.pos[i], t.radius),
                self.kind[i],
                t.uptake_capacity,
            );
            b.taken[idx] = self.taken[i];
        }
        b
    }

    /// Places the initial cells of `model`.
    pub fn place(&mut self, model: &TissueModel, rng: &mut Stream) {
        let dim = model.domain.dim;
        for p in &model.placements {
            match p {
                Placement::Random {
                    cell_type,
                    count,
                    lower,
                    upper,
                } => {
                    for _ in 0..*count {
                        let mut pos = [0.0; 3];
                        for a in 0..dim {
                            pos[a] = lower[a] + (upper[a] - lower[a]) * rng.random::<f64>();
                        }
                        self.push_new(model, *cell_type, pos);
                    }
                }
                Placement::Spheroid {
                    cell_type,
                    count,
                    centre,
                    radius,
                } => {
                    for _ in 0..*count {
                        let pos = point_in_ball(rng, dim, *centre, *radius);
                        self.push_new(model, *cell_type, pos);
                    }
                }
                Placement::Monolayer {
                    cell_type,
                    lower,
                    upper,
                    height,
                } => {
                    let pitch = 2.0 * model.cell_types[*cell_type].radius;
                    let nx = ((upper[0] - lower[0]) / pitch).floor().max(1.0) as usize;
                    let ny = ((upper[1] - lower[1]) / pitch).floor().max(1.0) as usize;
                    for j in 0..ny {
                        for i in 0..nx {
                            let mut pos = [
                                lower[0] + (i as f64 + 0.5) * pitch,
                                lower[1] + (j as f64 + 0.5) * pitch,
                                0.0,
                            ];
                            if dim == 3 {
                                pos[2] = *height;
                            }
                            self.push_new(model, *cell_type, pos);
                        }
                    }
                }
                Placement::Listed { cells } => {
                    for (t, pos) in cells {
                        self.push_new(model, *t, *pos);
                    }
                }
            }
        }
    }

    /// Indices of cells touching cell `i` (surface gap below `gap`), found
    /// through `grid` (built over the same cells); appended to `out`.
    pub fn touching(
        &self,
        model: &TissueModel,
        grid: &CellGrid,
        i: usize,
        gap: f64,
        scratch: &mut Vec<u32>,
        out: &mut Vec<usize>,
    ) {
        let ri = model.cell_types[self.kind[i] as usize].radius;
        let reach = ri + largest_radius(model) + gap;
        scratch.clear();
        grid.candidates(self.pos[i], reach, scratch);
        for &j in scratch.iter() {
            let j = j as usize;
            if j == i {
                continue;
            }
            let rj = model.cell_types[self.kind[j] as usize].radius;
            if distance(self.pos[i], self.pos[j]) < ri + rj + gap {
                out.push(j);
            }
        }
        out.sort_unstable();
    }

    /// Pushes overlapping cells apart until no pair overlaps by more than
    /// `model.overlap_tolerance` of the smaller radius (or a sweep limit is
    /// reached), and keeps centres inside the box.
    ///
    /// Each sweep visits pairs in index order and moves both cells of an
    /// overlapping pair apart along their axis by half the overlap each (a
    /// Gauss–Seidel projection, as in simple centre-based tissue models).
    /// Returns the largest relative overlap left.
    pub fn relax_overlaps(&mut self, model: &TissueModel) -> f64 {
        let n = self.len();
        if n < 2 {
            return 0.0;
        }
        let bin = 2.0 * largest_radius(model);
        let mut scratch = Vec::new();
        let mut worst = 0.0;
        // The cell list is rebuilt only once cells have moved by a quarter
        // bin since it was built; the search reaches that far beyond.
        let margin = 0.25 * bin;
        let mut grid = CellGrid::build(&self.bodies(model), &model.domain, bin);
        let mut anchor = self.pos.clone();
        for _ in 0..RELAX_SWEEPS {
            let moved = anchor
                .iter()
                .zip(&self.pos)
                .map(|(a, b)| distance(*a, *b))
                .fold(0.0, f64::max);
            if moved > 0.5 * margin {
                grid = CellGrid::build(&self.bodies(model), &model.domain, bin);
                anchor.clone_from(&self.pos);
            }
            worst = 0.0f64;
            for i in 0..n {
                let ri = model.cell_types[self.kind[i] as usize].radius;
                scratch.clear();
                grid.candidates(self.pos[i], bin + ri + margin, &mut scratch);
                scratch.sort_unstable();
                for &j in &scratch {
                    let j = j as usize;
                    if j <= i {
                        continue;
                    }
                    let rj = model.cell_types[self.kind[j] as usize].radius;
                    let (a, b) = (self.pos[i], self.pos[j]);
                    let d = distance(a, b);
                    let overlap = ri + rj - d;
                    if overlap <= 0.0 {
                        continue;
                    }
                    worst = worst.max(overlap / ri.min(rj));
                    let axis = if d > 1e-12 * (ri + rj) {
                        [(b[0] - a[0]) / d, (b[1] - a[1]) / d, (b[2] - a[2]) / d]
                    } else {
                        // Coincident centres: separate along a fixed axis, by index order.
                        [1.0, 0.0, 0.0]
                    };
                    for (k, ax) in axis.iter().enumerate() {
                        self.pos[i][k] -= 0.5 * overlap * ax;
                        self.pos[j][k] += 0.5 * overlap * ax;
                    }
                }
            }
            for i in 0..n {
                confine(&model.domain, &mut self.pos[i]);
            }
            if worst <= model.overlap_tolerance {
                break;
            }
        }
        worst
    }

    /// Random walk of motile cells over `dt`, kept inside the box; each
    /// cell's diffusion coefficient is its type's motility scaled by its state.
    pub fn wander(&mut self, model: &TissueModel, dt: f64, rng: &mut Stream) {
        for i in 0..self.len() {
            let t = &model.cell_types[self.kind[i] as usize];
            let d = t.motility * product(&t.motility_scale, self.state_of(i));
            if d <= 0.0 {
                continue;
            }
            let sigma = (2.0 * d * dt).sqrt();
            for a in 0..model.domain.dim {
                let g: f64 = rng.sample(StandardNormal);
                self.pos[i][a] += sigma * g;
            }
            confine(&model.domain, &mut self.pos[i]);
        }
    }
}

/// Largest cell radius of the model (m).
pub fn largest_radius(model: &TissueModel) -> f64 {
    model
        .cell_types
        .iter()
        .map(|c| c.radius)
        .fold(0.0, f64::max)
}

/// Euclidean distance.
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// A uniformly random point in a ball (disc in 2-D).
pub fn point_in_ball(rng: &mut Stream, dim: usize, centre: [f64; 3], radius: f64) -> [f64; 3] {
    loop {
        let mut p = [0.0; 3];
        let mut r2 = 0.0;
        for v in p.iter_mut().take(dim) {
            *v = 2.0 * rng.random::<f64>() - 1.0;
            r2 += *v * *v;
        }
        if r2 <= 1.0 {
            let mut out = centre;
            for a in 0..dim {
                out[a] += radius * p[a];
            }
            return out;
        }
    }
}

/// A uniformly random direction (unit vector in the used dimensions).
pub fn random_direction(rng: &mut Stream, dim: usize) -> [f64; 3] {
    loop {
        let mut p = [0.0f64; 3];
        for v in p.iter_mut().take(dim) {
            *v = rng.sample(StandardNormal);
        }
        let n = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        if n > 1e-12 {
            return [p[0] / n, p[1] / n, p[2] / n];
        }
    }
}

/// Keeps a cell centre inside the box: wrapped on periodic axes, clamped
/// elsewhere (cells do not leave through faces, whatever vesicles do).
pub fn confine(domain: &Domain, p: &mut [f64; 3]) {
    for (a, x) in p.iter_mut().enumerate().take(domain.dim) {
        let (lo, hi) = (domain.lower[a], domain.upper[a]);
        if domain.faces[a][0] == Boundary::Periodic {
            *x = lo + (*x - lo).rem_euclid(hi - lo);
        } else {
            *x = x.clamp(lo, hi);
        }
    }
}
