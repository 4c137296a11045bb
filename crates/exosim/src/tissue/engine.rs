//! The tissue engine: one replicate of one variant of a tissue study,
//! advanced step by step.
//!
//! Each step of length `dt`, in this order:
//! 1. vesicles added by the study at this time enter the box;
//! 2. every living cell releases vesicles (Poisson numbers of particles from
//!    its secretion programme, scaled by its state and by active
//!    inhibitors), each with cargo drawn from its class's copy-number
//!    distributions, scaled per molecule by the sender's state;
//! 3. vesicles move (Brownian motion + drift), reach cells (Brownian-bridge
//!    contact) and are taken up by the ligand–receptor match, or leave
//!    through faces ([`super::uptake::step_with_uptake`]);
//! 4. taken-up vesicles unload their cargo; `received` rules act at once;
//! 5. vesicles degrade (first order);
//! 6. cells respond (`held` rules, linear, Hill or threshold in the copies
//!    held; return towards baseline; cargo turnover), kill by contact, die,
//!    divide, move (death, division and motility scaled by their state);
//!    overlaps are relaxed.
//!
//! Every vesicle is counted: released + added = free + taken up + degraded
//! + drained + absorbed, exactly (weights are whole numbers).
//!
//! Randomness: each process draws from its own stream keyed by the
//! replicate's seed and the step number, and work that couples cells is done
//! in cell order, so results do not depend on the number of threads.

use rand::RngExt;
use rand_distr::{Distribution, Gamma};

use super::cells::{CellPopulation, largest_radius, random_direction};
use super::domain::Fate;
use super::model::{TissueModel, Trigger, Variant, product};
use super::motion::{BoundaryCounts, VesicleParticles};
use super::observe::{Frame, Recorder};
use super::tally::{ClassTally, TypeTally};
use super::uptake::{Affinity, CellBodies, CellGrid, StepSettings, UptakeCounts, step_with_uptake};
use crate::random::counts::poisson;
use crate::random::{Stream, stream};

const SECRETION_DOMAIN: u64 = u64::from_be_bytes(*b"tissecrt");
const CELL_DOMAIN: u64 = u64::from_be_bytes(*b"tiscells");
const DEGRADE_DOMAIN: u64 = u64::from_be_bytes(*b"tisdegrd");
const PLACE_DOMAIN: u64 = u64::from_be_bytes(*b"tisplace");
const ADD_DOMAIN: u64 = u64::from_be_bytes(*b"tisaddvs");

/// Why a tissue run stopped early.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TissueError {
    /// More particles than the study allows.
    #[error(
        "variant `{variant}`: {particles} vesicle particles at t = {time_s} s, more than max_particles = {max}"
    )]
    TooManyParticles {
        /// Variant.
        variant: String,
        /// Particles alive.
        particles: usize,
        /// Time, s.
        time_s: f64,
        /// The bound.
        max: usize,
    },
    /// The run's state could not be saved for resumption.
    #[error("variant `{variant}`: saving the run's state: {message}")]
    Save {
        /// Variant.
        variant: String,
        /// What went wrong.
        message: String,
    },
    /// A saved state does not fit the study (it was written for another one).
    #[error("variant `{variant}`: the saved state does not fit the study: {message}")]
    Restore {
        /// Variant.
        variant: String,
        /// What differs.
        message: String,
    },
    /// The engine the tissue exchanges vesicles with (a coupled body arm)
    /// could not be advanced.
    #[error("{partner}: {message}")]
    Exchange {
        /// Who failed, e.g. "coupled body arm `mouse`".
        partner: String,
        /// Why.
        message: String,
    },
}

/// Everything of a replicate that changes as it runs, borrowed for saving
/// at a step boundary. The rest (tables derived from the study, the cell
/// list) is rebuilt on restore, and randomness is keyed by (seed, step), so
/// a restored run continues exactly as the saved one would have.
#[derive(serde::Serialize)]
pub struct SavedRunRef<'a> {
    step: u64,
    cells: &'a CellPopulation,
    particles: &'a VesicleParticles,
    classes: &'a [ClassTally],
    types: &'a [TypeTally],
    record: &'a Recorder,
}

/// A replicate saved by [`SavedRunRef`], read back (same field order, so
/// the same bytes).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SavedRun {
    step: u64,
    cells: CellPopulation,
    particles: VesicleParticles,
    classes: Vec<ClassTally>,
    types: Vec<TypeTally>,
    record: Recorder,
}

impl SavedRun {
    /// Step the replicate had reached.
    pub fn step(&self) -> u64 {
        self.step
    }
}

/// How a replicate keeps its progress: where it continues from, and when
/// and how it saves its state.
pub struct Resume<'a> {
    /// A state saved by an earlier, interrupted run of this replicate.
    pub from: Option<SavedRun>,
    /// Asked at every step boundary: save now?
    pub due: &'a mut dyn FnMut() -> bool,
    /// Keeps a state (replacing the previous one).
    pub save: &'a mut dyn FnMut(&SavedRunRef<'_>) -> Result<(), String>,
}

/// One replicate of one variant in progress.
pub struct TissueRun<'m> {
    model: &'m TissueModel,
    rules_on: Vec<bool>,
    inhibitors_on: Vec<bool>,
    dose_scale: f64,
    seed: u64,
    /// The cells.
    pub cells: CellPopulation,
    /// The vesicle particles (class = transport bin).
    pub particles: VesicleParticles,
    /// Class of each transport bin.
    bin_class: Vec<usize>,
    /// First bin and number of bins of each class.
    class_bins: Vec<(usize, usize)>,
    bin_diffusion: Vec<f64>,
    /// Probability that a vesicle of each bin degrades in one step.
    degrade_by_bin: Vec<f64>,
    affinity: Affinity,
    /// Accounting per class.
    pub classes: Vec<ClassTally>,
    /// Events per cell type.
    pub types: Vec<TypeTally>,
    /// Face losses and uptakes of the current step, per bin (folded into
    /// `classes` and `types`, then zeroed, after each step).
    boundary: BoundaryCounts,
    uptake: UptakeCounts,
    step: u64,
    cargo_buf: Vec<f32>,
    /// Factor on each molecule's load of the vesicles being released.
    cargo_factors: Vec<f64>,
    /// Cells as vesicles see them, and their cell list: rebuilt only when
    /// cells change (each cell step), not every transport step.
    bodies: CellBodies,
    grid: CellGrid,
}

impl<'m> TissueRun<'m> {
    /// The tissue at t = 0: cells placed, no vesicles yet.
    pub fn new(model: &'m TissueModel, variant: &Variant, seed: u64) -> Self {
        let mut bin_class = Vec::new();
        let mut class_bins = Vec::new();
        let mut bin_diffusion = Vec::new();
        for (c, v) in model.vesicles.iter().enumerate() {
            class_bins.push((bin_class.len(), v.bin_diffusion.len()));
            for &d in &v.bin_diffusion {
                bin_class.push(c);
                bin_diffusion.push(d);
            }
        }
        let kinds = model.cell_types.len();
        let mut affinity = Affinity::uniform(bin_class.len(), kinds, 0.0);
        for (b, &c) in bin_class.iter().enumerate() {
            for k in 0..kinds {
                affinity.set(b, k, model.uptake_probability(c, k));
            }
        }
        let degrade_by_bin = bin_class
            .iter()
            .map(|&c| -(-model.vesicles[c].degradation * model.dt).exp_m1())
            .collect();
        let mut cells = CellPopulation::new(model);
        let mut rng = stream(seed, PLACE_DOMAIN, 0);
        cells.place(model, &mut rng);
        cells.relax_overlaps(model);
        let bins = bin_class.len();
        let mut run = TissueRun {
            model,
            rules_on: model
                .rules
                .iter()
                .map(|r| !variant.rules_off.contains(&r.name))
                .collect(),
            inhibitors_on: model
                .inhibitors
                .iter()
                .map(|i| !variant.inhibitors_off.contains(&i.name))
                .collect(),
            dose_scale: variant.dose_scale,
            seed,
            cells,
            particles: VesicleParticles::with_cargo(model.molecules.len()),
            bin_class,
            class_bins,
            bin_diffusion,
            degrade_by_bin,
            affinity,
            classes: vec![ClassTally::default(); model.vesicles.len()],
            types: vec![TypeTally::default(); kinds],
            boundary: BoundaryCounts::new(bins),
            uptake: UptakeCounts::new(bins, kinds),
            step: 0,
            cargo_buf: vec![0.0; model.molecules.len()],
            cargo_factors: vec![1.0; model.molecules.len()],
            bodies: CellBodies::default(),
            grid: CellGrid::build(&CellBodies::default(), &model.domain, 1.0),
        };
        run.rebuild_cell_list();
        run
    }

    /// Rebuilds the cells' spheres and cell list after cells changed.
    ///
    /// Bins are at least five diffusion lengths of the fastest vesicles
    /// wide: a bin then records how far its nearest cell is (up to a bin),
    /// and a vesicle farther than its step's reach from any cell skips the
    /// contact search altogether.
    fn rebuild_cell_list(&mut self) {
        self.bodies = self.cells.bodies(self.model);
        let d_max = self.bin_diffusion.iter().copied().fold(0.0, f64::max);
        let sigma = (2.0 * d_max * self.model.dt).sqrt();
        let bin = (2.0 * largest_radius(self.model))
            .max(5.0 * sigma)
            .max(1e-9);
        let grid = CellGrid::build(&self.bodies, &self.model.domain, bin);
        // The distance map costs a few distances per voxel and saves far more
        // when the grid serves more particle-steps than it has voxels; it
        // changes no result, only how fast bounds are renewed.
        let served = self.particles.len() as u64 * self.model.cell_every;
        self.grid = if served >= grid.distance_map_voxels() as u64 {
            grid.with_distance_map(&self.bodies)
        } else {
            grid
        };
    }

    /// The study this run belongs to.
    pub fn model(&self) -> &'m TissueModel {
        self.model
    }

    /// Current time, s.
    pub fn time(&self) -> f64 {
        self.step as f64 * self.model.dt
    }

    /// Vesicles of each class still in the tissue.
    pub fn free(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.model.vesicles.len()];
        for i in 0..self.particles.len() {
            if self.particles.alive[i] {
                out[self.bin_class[self.particles.class[i] as usize]] += self.particles.weight[i];
            }
        }
        out
    }

    /// Cargo copies of each molecule carried by the vesicles still in the
    /// tissue (the sum of the snapshots' `cargo_<molecule>` columns).
    pub fn free_cargo(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.model.molecules.len()];
        for i in 0..self.particles.len() {
            if self.particles.alive[i] {
                for (o, &c) in out.iter_mut().zip(self.particles.cargo(i)) {
                    *o += c as f64;
                }
            }
        }
        out
    }

    /// Alive particles.
    pub fn alive_particles(&self) -> usize {
        self.particles.alive.iter().filter(|&&a| a).count()
    }

    /// Largest mass-balance error over classes, relative to what entered
    /// (0 when nothing entered). Counts are whole numbers, so this is exactly 0.
    pub fn mass_balance_error(&self) -> f64 {
        let free = self.free();
        let mut worst: f64 = 0.0;
        for (c, t) in self.classes.iter().enumerate() {
            let entered = t.released + t.added + t.arrived;
            let accounted = free[c] + t.taken_up + t.degraded + t.drained + t.absorbed;
            if entered > 0.0 {
                worst = worst.max((entered - accounted).abs() / entered);
            } else if accounted != 0.0 {
                worst = f64::INFINITY;
            }
        }
        worst
    }

    /// Secretion factor of active inhibitors for cells of `kind` now.
    fn inhibition(&self, kind: usize) -> f64 {
        let t = self.time();
        self.model
            .inhibitors
            .iter()
            .zip(&self.inhibitors_on)
            .filter(|(i, on)| **on && t >= i.start && i.cell_types.contains(&kind))
            .map(|(i, _)| i.factor_at(t))
            .product()
    }

    /// `particles` particles of `class` arrive from blood, at uniformly
    /// random points of the vascular `faces` (as (axis, side); a face is
    /// chosen with probability proportional to its area), with sizes and
    /// cargo drawn as for any vesicle of the class. Returns the vesicles
    /// that arrived.
    pub fn arrive(
        &mut self,
        class: usize,
        particles: u64,
        faces: &[(usize, usize)],
        rng: &mut Stream,
    ) -> f64 {
        let domain = &self.model.domain;
        let areas: Vec<f64> = faces
            .iter()
            .map(|&(axis, _)| super::model::face_area(domain, axis))
            .collect();
        let total: f64 = areas.iter().sum();
        if faces.is_empty() || total <= 0.0 {
            return 0.0;
        }
        let (lower, upper) = (domain.lower, domain.upper);
        let w = self.model.vesicles[class].weight;
        for _ in 0..particles {
            let mut u = rng.random::<f64>() * total;
            let mut f = 0;
            while f + 1 < faces.len() && u >= areas[f] {
                u -= areas[f];
                f += 1;
            }
            let (axis, side) = faces[f];
            let mut pos = [0.0; 3];
            for (a, p) in pos.iter_mut().enumerate() {
                *p = if a == axis {
                    if side == 0 { lower[a] } else { upper[a] }
                } else {
                    lower[a] + (upper[a] - lower[a]) * rng.random::<f64>()
                };
            }
            self.classes[class].arrived += w;
            self.release_at_reference(class, pos, rng);
        }
        particles as f64 * w
    }

    /// Releases one particle of `class` at `pos` with the class's cargo at
    /// reference load (vesicles added or arriving from blood).
    fn release_at_reference(&mut self, class: usize, pos: [f64; 3], rng: &mut Stream) {
        self.cargo_factors.fill(1.0);
        self.release(class, pos, rng);
    }

    /// Releases one particle of `class` at `pos`, each molecule's load
    /// scaled by its entry of `cargo_factors`.
    fn release(&mut self, class: usize, mut pos: [f64; 3], rng: &mut Stream) {
        let v = &self.model.vesicles[class];
        let w = v.weight;
        self.cargo_buf.iter_mut().for_each(|c| *c = 0.0);
        for load in &v.cargo {
            let cargo_factor = self.cargo_factors[load.molecule];
            let mean = w * load.mean * cargo_factor;
            let lambda = if load.dispersion > 0.0 && mean > 0.0 {
                // Sum of w gamma–Poisson copy numbers: gamma shape w/k, scale mean·k.
                Gamma::new(
                    w / load.dispersion,
                    load.mean * cargo_factor * load.dispersion,
                )
                .map(|g| g.sample(rng))
                .unwrap_or(mean)
            } else {
                mean
            };
            self.cargo_buf[load.molecule] = poisson(rng, lambda) as f32;
        }
        let (first, n) = self.class_bins[class];
        let bin = first + if n > 1 { rng.random_range(0..n) } else { 0 };
        match self.model.domain.apply(&mut pos) {
            Fate::Inside => {
                self.particles
                    .push_with_cargo(pos, w, bin as u32, self.time(), &self.cargo_buf);
            }
            Fate::Drained { .. } => self.classes[class].drained += w,
            Fate::Absorbed { .. } => self.classes[class].absorbed += w,
        }
    }

    fn add_vesicles(&mut self) {
        let (t0, t1) = (self.time(), self.time() + self.model.dt);
        let dim = self.model.domain.dim;
        for (k, a) in self.model.additions.iter().enumerate() {
            if !(a.time >= t0 && a.time < t1) {
                continue;
            }
            let w = self.model.vesicles[a.class].weight;
            let particles = (a.count * self.dose_scale / w).round() as u64;
            let mut rng = stream(self.seed, ADD_DOMAIN, k as u64);
            for _ in 0..particles {
                let mut pos = [0.0; 3];
                for (ax, p) in pos.iter_mut().enumerate().take(dim) {
                    *p = a.lower[ax] + (a.upper[ax] - a.lower[ax]) * rng.random::<f64>();
                }
                // Added vesicles carry the class's cargo at reference load.
                self.classes[a.class].added += w;
                self.release_at_reference(a.class, pos, &mut rng);
            }
        }
    }

    fn secrete(&mut self) {
        let model = self.model;
        let mut rng = stream(self.seed, SECRETION_DOMAIN, self.step);
        let dim = model.domain.dim;
        for i in 0..self.cells.len() {
            let kind = self.cells.kind[i] as usize;
            let ct = &model.cell_types[kind];
            if ct.secretion.is_empty() {
                continue;
            }
            let inhibition = self.inhibition(kind);
            for s in &ct.secretion {
                let state = self.cells.state_of(i);
                let factor = product(&s.scale, state) * inhibition;
                for (m, f) in self.cargo_factors.iter_mut().enumerate() {
                    *f = s
                        .cargo_scale
                        .iter()
                        .filter(|c| c.applies_to(m))
                        .map(|c| c.factor.factor(state))
                        .product();
                }
                let w = model.vesicles[s.class].weight;
                let n = poisson(&mut rng, s.rate * factor * model.dt / w) as u64;
                for _ in 0..n {
                    let e = random_direction(&mut rng, dim);
                    let r = ct.radius * 1.001;
                    let c = self.cells.pos[i];
                    let pos = [c[0] + r * e[0], c[1] + r * e[1], c[2] + r * e[2]];
                    self.classes[s.class].released += w;
                    self.release(s.class, pos, &mut rng);
                }
            }
        }
    }

    fn transport(&mut self) {
        let model = self.model;
        self.uptake.events.clear();
        step_with_uptake(
            &mut self.particles,
            &mut self.bodies,
            &self.grid,
            &self.affinity,
            StepSettings {
                domain: &model.domain,
                d_per_class: &self.bin_diffusion,
                drift: model.drift,
                dt: model.dt,
                seed: self.seed,
                step: self.step,
            },
            &mut self.boundary,
            &mut self.uptake,
        );
        let kinds = model.cell_types.len();
        for (b, &c) in self.bin_class.iter().enumerate() {
            self.classes[c].drained += self.boundary.drained[b];
            self.classes[c].absorbed += self.boundary.absorbed[b];
            for k in 0..kinds {
                let dw = self.uptake.weight[b * kinds + k];
                self.classes[c].taken_up += dw;
                self.types[k].uptakes += dw;
            }
        }
        self.boundary.drained.fill(0.0);
        self.boundary.absorbed.fill(0.0);
        self.uptake.weight.fill(0.0);
        self.cells.taken.copy_from_slice(&self.bodies.taken);
        // Unload cargo; `received` rules act now.
        let events = std::mem::take(&mut self.uptake.events);
        for &(p, c) in &events {
            let (p, c) = (p as usize, c as usize);
            let kind = self.cells.kind[c] as usize;
            let cargo = self.particles.cargo(p);
            for (h, &copies) in self.cells.held_of_mut(c).iter_mut().zip(cargo) {
                *h += copies as f64;
            }
            for (rule, on) in model.rules.iter().zip(&self.rules_on) {
                if *on && rule.trigger == Trigger::Received && rule.cell_type == kind {
                    let s = &mut self.cells.state_of_mut(c)[rule.state];
                    *s += rule.change * rule.response.drive(cargo[rule.molecule] as f64);
                }
            }
            self.clamp_state(c);
        }
        self.uptake.events = events;
    }

    fn clamp_state(&mut self, i: usize) {
        let kind = self.cells.kind[i] as usize;
        let vars = &self.model.cell_types[kind].state;
        let s = self.cells.state_of_mut(i);
        for (j, v) in vars.iter().enumerate() {
            s[j] = s[j].clamp(v.min, v.max);
        }
    }

    fn degrade(&mut self) {
        if self.degrade_by_bin.iter().all(|&p| p == 0.0) {
            return;
        }
        let mut rng = stream(self.seed, DEGRADE_DOMAIN, self.step);
        for i in 0..self.particles.len() {
            if !self.particles.alive[i] {
                continue;
            }
            let b = self.particles.class[i] as usize;
            if rng.random::<f64>() < self.degrade_by_bin[b] {
                self.particles.alive[i] = false;
                self.classes[self.bin_class[b]].degraded += self.particles.weight[i];
            }
        }
    }

    fn respond(&mut self) {
        let model = self.model;
        let dt = model.dt * model.cell_every as f64;
        for i in 0..self.cells.len() {
            let kind = self.cells.kind[i] as usize;
            let ct = &model.cell_types[kind];
            for (rule, on) in model.rules.iter().zip(&self.rules_on) {
                if *on && rule.trigger == Trigger::Held && rule.cell_type == kind {
                    let held = self.cells.held_of(i)[rule.molecule];
                    let drive = rule.response.drive(held);
                    self.cells.state_of_mut(i)[rule.state] += rule.change * drive * dt;
                }
            }
            for (j, v) in ct.state.iter().enumerate() {
                if v.relax > 0.0 {
                    let s = &mut self.cells.state_of_mut(i)[j];
                    *s += (v.initial - *s) * -(-v.relax * dt).exp_m1();
                }
            }
            if ct.cargo_decay > 0.0 {
                let keep = (-ct.cargo_decay * dt).exp();
                self.cells
                    .held_of_mut(i)
                    .iter_mut()
                    .for_each(|h| *h *= keep);
            }
            self.clamp_state(i);
        }
    }

    fn life_and_death(&mut self) {
        let model = self.model;
        let dt = model.dt * model.cell_every as f64;
        let n = self.cells.len();
        let mut rng = stream(self.seed, CELL_DOMAIN, self.step);
        let grid = &self.grid;
        let mut dead = vec![false; n];
        let (mut scratch, mut touching) = (Vec::new(), Vec::new());
        // Contact killing, killers in cell order.
        for i in 0..n {
            let ct = &model.cell_types[self.cells.kind[i] as usize];
            if ct.kills.is_empty() || dead[i] {
                continue;
            }
            touching.clear();
            self.cells.touching(
                model,
                grid,
                i,
                model.contact_gap,
                &mut scratch,
                &mut touching,
            );
            for k in &ct.kills {
                let hazard = k.rate * product(&k.scale, self.cells.state_of(i));
                let p = -(-hazard * dt).exp_m1();
                for &j in &touching {
                    if dead[j] || self.cells.kind[j] as usize != k.target {
                        continue;
                    }
                    if rng.random::<f64>() < p {
                        dead[j] = true;
                        self.types[k.target].kills += 1.0;
                    }
                }
            }
        }
        // Death by hazard or by a state at its lower bound; division.
        let mut births = Vec::new();
        for i in 0..n {
            let kind = self.cells.kind[i] as usize;
            let ct = &model.cell_types[kind];
            let state = self.cells.state_of(i);
            if !dead[i] {
                let by_state = ct.death_state.is_some_and(|s| state[s] <= ct.state[s].min);
                let hazard = ct.death_rate * product(&ct.death_scale, state);
                let by_hazard =
                    ct.death_rate > 0.0 && rng.random::<f64>() < -(-hazard * dt).exp_m1();
                if by_state || by_hazard {
                    dead[i] = true;
                }
            }
            if dead[i] || ct.division_rate <= 0.0 {
                continue;
            }
            let rate = ct.division_rate * product(&ct.division_scale, state);
            if rng.random::<f64>() >= -(-rate * dt).exp_m1() {
                continue;
            }
            touching.clear();
            self.cells.touching(
                model,
                grid,
                i,
                model.contact_gap,
                &mut scratch,
                &mut touching,
            );
            let crowded = touching.iter().filter(|&&j| !dead[j]).count() >= ct.max_neighbours;
            if crowded || n + births.len() >= model.max_cells {
                continue;
            }
            let e = random_direction(&mut rng, model.domain.dim);
            births.push((i, e));
        }
        for (i, &d) in dead.iter().enumerate() {
            if d {
                self.types[self.cells.kind[i] as usize].deaths += 1.0;
            }
        }
        for (i, e) in births {
            let r = 0.5 * model.cell_types[self.cells.kind[i] as usize].radius;
            let c = self.cells.pos[i];
            let mother = [c[0] - r * e[0], c[1] - r * e[1], c[2] - r * e[2]];
            let daughter = [c[0] + r * e[0], c[1] + r * e[1], c[2] + r * e[2]];
            let kind = self.cells.kind[i] as usize;
            self.cells.divide(i, mother, daughter);
            self.types[kind].divisions += 1.0;
        }
        dead.resize(self.cells.len(), false);
        self.cells.remove(&dead);
        self.cells.wander(model, dt, &mut rng);
        self.cells.relax_overlaps(model);
        self.rebuild_cell_list();
    }

    /// Drops dead particles (and sorts the rest for locality) when they
    /// are most of the store.
    fn compact(&mut self) {
        let alive = self.alive_particles();
        if self.particles.len() >= 1024 && alive * 2 <= self.particles.len() {
            self.particles.compact();
        }
    }

    /// Advances one step.
    pub fn advance(&mut self, variant: &str) -> Result<(), TissueError> {
        self.add_vesicles();
        self.secrete();
        self.transport();
        self.degrade();
        if (self.step + 1).is_multiple_of(self.model.cell_every) {
            self.respond();
            self.life_and_death();
        }
        self.compact();
        self.step += 1;
        let alive = self.particles.len();
        if alive > self.model.max_particles {
            let alive = self.alive_particles();
            if alive > self.model.max_particles {
                return Err(TissueError::TooManyParticles {
                    variant: variant.into(),
                    particles: alive,
                    time_s: self.time(),
                    max: self.model.max_particles,
                });
            }
        }
        Ok(())
    }

    /// The record's row for the present state (time first, then the
    /// columns of [`Recorder::new`]).
    pub fn observation(&self) -> Vec<f64> {
        let run = self;
        let model = run.model();
        let cells = &run.cells;
        let kinds = model.cell_types.len();
        let mut row = vec![run.time()];
        let mut count = vec![0.0; kinds];
        for &k in &cells.kind {
            count[k as usize] += 1.0;
        }
        row.extend_from_slice(&count);
        for (k, t) in model.cell_types.iter().enumerate() {
            let of_kind: Vec<usize> = (0..cells.len())
                .filter(|&i| cells.kind[i] as usize == k)
                .collect();
            let mean = |f: &dyn Fn(usize) -> f64| {
                if of_kind.is_empty() {
                    f64::NAN
                } else {
                    of_kind.iter().map(|&i| f(i)).sum::<f64>() / of_kind.len() as f64
                }
            };
            for j in 0..t.state.len() {
                row.push(mean(&|i| cells.state_of(i)[j]));
            }
            for m in 0..model.molecules.len() {
                row.push(mean(&|i| cells.held_of(i)[m]));
            }
        }
        let free = run.free();
        for (c, t) in run.classes.iter().enumerate() {
            row.extend_from_slice(&[
                t.released, t.added, free[c], t.taken_up, t.degraded, t.drained, t.absorbed,
                t.arrived,
            ]);
        }
        for f in [
            |t: &TypeTally| t.uptakes,
            |t: &TypeTally| t.kills,
            |t: &TypeTally| t.deaths,
            |t: &TypeTally| t.divisions,
        ] {
            row.extend(run.types.iter().map(f));
        }
        row.push(run.alive_particles() as f64);
        row.push(run.mass_balance_error());
        row
    }

    /// A snapshot of cells and vesicles now.
    pub fn frame(&self) -> Frame {
        let mut f = Frame {
            time: self.time(),
            ..Default::default()
        };
        for i in 0..self.cells.len() {
            f.cell_kind.push(self.cells.kind[i]);
            f.cell_pos.push(self.cells.pos[i]);
            f.cell_id.push(self.cells.id[i]);
            f.cell_state.extend_from_slice(self.cells.state_of(i));
        }
        f.state_stride = self.cells.state_stride;
        for i in 0..self.particles.len() {
            if self.particles.alive[i] {
                f.vesicle_class
                    .push(self.bin_class[self.particles.class[i] as usize] as u32);
                f.vesicle_pos.push(self.particles.position(i));
                f.vesicle_weight.push(self.particles.weight[i]);
                f.vesicle_cargo.extend_from_slice(self.particles.cargo(i));
            }
        }
        f.cargo_stride = self.particles.cargo_len;
        f
    }

    /// Runs to the end of the study, recording at the model's output and
    /// snapshot times (snapshots only when `snapshots` is true).
    pub fn run(
        self,
        variant: &Variant,
        snapshots: bool,
        progress: impl FnMut(f64),
    ) -> Result<Recorder, TissueError> {
        self.drive(variant, snapshots, progress, u64::MAX, |_| Ok(()), None)
    }

    /// [`TissueRun::run`], continuing from `resume.from` when given and
    /// saving its state whenever `resume.due()` says so.
    pub fn run_resumable(
        self,
        variant: &Variant,
        snapshots: bool,
        progress: impl FnMut(f64),
        resume: Resume<'_>,
    ) -> Result<Recorder, TissueError> {
        self.drive(
            variant,
            snapshots,
            progress,
            u64::MAX,
            |_| Ok(()),
            Some(resume),
        )
    }

    /// [`TissueRun::run`], calling `exchange` every `every` steps (at step
    /// 0 and at the last step included), before the outputs of that time
    /// are recorded: a coupled body exchanges vesicles there.
    pub fn run_exchanging(
        self,
        variant: &Variant,
        snapshots: bool,
        progress: impl FnMut(f64),
        every: u64,
        exchange: impl FnMut(&mut Self) -> Result<(), TissueError>,
    ) -> Result<Recorder, TissueError> {
        self.drive(variant, snapshots, progress, every, exchange, None)
    }

    /// Puts a saved replicate's state in place of this fresh one's; returns
    /// its record so far.
    fn restore(&mut self, variant: &str, saved: SavedRun) -> Result<Recorder, TissueError> {
        let misfit = |message: String| TissueError::Restore {
            variant: variant.into(),
            message,
        };
        if saved.classes.len() != self.classes.len() || saved.types.len() != self.types.len() {
            return Err(misfit(format!(
                "{} vesicle classes and {} cell types saved, {} and {} in the study",
                saved.classes.len(),
                saved.types.len(),
                self.classes.len(),
                self.types.len()
            )));
        }
        if saved.cells.state_stride != self.cells.state_stride
            || saved.cells.molecules != self.cells.molecules
            || saved.particles.cargo_len != self.particles.cargo_len
        {
            return Err(misfit("state variables or cargo molecules differ".into()));
        }
        self.step = saved.step;
        self.cells = saved.cells;
        self.particles = saved.particles;
        self.classes = saved.classes;
        self.types = saved.types;
        self.rebuild_cell_list();
        Ok(saved.record)
    }

    /// The run loop behind [`TissueRun::run`], [`TissueRun::run_exchanging`]
    /// and [`TissueRun::run_resumable`].
    fn drive(
        mut self,
        variant: &Variant,
        snapshots: bool,
        mut progress: impl FnMut(f64),
        every: u64,
        mut exchange: impl FnMut(&mut Self) -> Result<(), TissueError>,
        mut resume: Option<Resume<'_>>,
    ) -> Result<Recorder, TissueError> {
        let model = self.model;
        let mut rec = match resume.as_mut().and_then(|r| r.from.take()) {
            Some(saved) => self.restore(&variant.name, saved)?,
            None => Recorder::new(model),
        };
        let steps = (model.duration / model.dt).round() as u64;
        let at_step = |t: f64| (t / model.dt).round() as u64;
        let start = self.step;
        let mut outputs = model
            .output_times
            .iter()
            .map(|&t| at_step(t))
            .filter(|&s| s >= start)
            .peekable();
        let mut frames = model
            .snapshot_times
            .iter()
            .map(|&t| at_step(t))
            .filter(|&s| s >= start)
            .peekable();
        loop {
            if every != u64::MAX && (self.step.is_multiple_of(every) || self.step == steps) {
                exchange(&mut self)?;
            }
            while outputs.peek() == Some(&self.step) {
                outputs.next();
                rec.rows.push(self.observation());
            }
            while frames.peek() == Some(&self.step) {
                frames.next();
                if snapshots {
                    rec.frames.push(self.frame());
                }
            }
            if self.step >= steps {
                break;
            }
            self.advance(&variant.name)?;
            if self.step.is_multiple_of(64) {
                progress(self.step as f64 / steps as f64);
            }
            if let Some(r) = resume.as_mut()
                && self.step < steps
                && (r.due)()
            {
                let state = SavedRunRef {
                    step: self.step,
                    cells: &self.cells,
                    particles: &self.particles,
                    classes: &self.classes,
                    types: &self.types,
                    record: &rec,
                };
                (r.save)(&state).map_err(|message| TissueError::Save {
                    variant: variant.name.clone(),
                    message,
                })?;
            }
        }
        rec.final_mass_balance = self.mass_balance_error();
        rec.final_classes = self.classes.clone();
        rec.final_types = self.types.clone();
        Ok(rec)
    }
}
