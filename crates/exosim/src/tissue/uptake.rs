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
//! Andrews & Bray 2004). Cells are found through a uniform grid (cell list).
//! Capacity couples vesicles, so a step visits them in index order with one
//! random stream per step: the result is the same on any machine.

use rand::RngExt;
use rand_distr::StandardNormal;

use super::contact::{Sphere, crossed_during_step};
use super::domain::{Domain, Fate};
use super::motion::{BoundaryCounts, VesicleParticles};
use crate::random::stream;

/// Stream domain of uptake steps.
pub const UPTAKE_DOMAIN: u64 = u64::from_be_bytes(*b"tisuptak");

/// How far beyond a cell's surface a path is checked, in units of the step's
/// diffusion length √(2DΔt): the bridge probability there is below e⁻¹⁸.
const REACH_SIGMAS: f64 = 6.0;

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

    fn largest_radius(&self) -> f64 {
        self.spheres.iter().map(|s| s.radius).fold(0.0, f64::max)
    }
}

/// Uptake probability per contact for each (vesicle class, cell type): the
/// ligand–receptor match of a study, resolved to numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinity {
    kinds: usize,
    probability: Vec<f64>,
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

/// A uniform grid over the domain listing, per bin, the cells whose centre
/// lies in it: neighbour search in constant time per vesicle.
#[derive(Debug, Clone)]
pub struct CellGrid {
    lower: [f64; 3],
    bin: f64,
    dims: [usize; 3],
    bins: Vec<Vec<u32>>,
}

impl CellGrid {
    /// Bins of side `bin` (at least the largest cell diameter is a good
    /// choice) over `domain`, filled with `cells`.
    pub fn build(cells: &CellBodies, domain: &Domain, bin: f64) -> Self {
        let mut dims = [1usize; 3];
        for (a, d) in dims.iter_mut().enumerate().take(domain.dim) {
            *d = ((domain.length(a) / bin).ceil() as usize).clamp(1, 1 << 10);
        }
        let mut grid = CellGrid {
            lower: domain.lower,
            bin,
            dims,
            bins: vec![Vec::new(); dims[0] * dims[1] * dims[2]],
        };
        for (i, s) in cells.spheres.iter().enumerate() {
            let b = grid.index(grid.coords(s.centre));
            grid.bins[b].push(i as u32);
        }
        grid
    }

    fn coords(&self, p: [f64; 3]) -> [usize; 3] {
        let mut c = [0usize; 3];
        for a in 0..3 {
            let x = ((p[a] - self.lower[a]) / self.bin).floor();
            c[a] = if x.is_finite() && x > 0.0 {
                (x as usize).min(self.dims[a] - 1)
            } else {
                0
            };
        }
        c
    }

    fn index(&self, c: [usize; 3]) -> usize {
        (c[2] * self.dims[1] + c[1]) * self.dims[0] + c[0]
    }

    /// Cells whose centre lies within `reach` (per axis) of `p`, appended to `out`.
    pub fn candidates(&self, p: [f64; 3], reach: f64, out: &mut Vec<u32>) {
        let lo = self.coords([p[0] - reach, p[1] - reach, p[2] - reach]);
        let hi = self.coords([p[0] + reach, p[1] + reach, p[2] + reach]);
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                for x in lo[0]..=hi[0] {
                    out.extend_from_slice(&self.bins[self.index([x, y, z])]);
                }
            }
        }
    }
}

/// Vesicle weight taken up, per class and cell type.
#[derive(Debug, Clone, PartialEq)]
pub struct UptakeCounts {
    kinds: usize,
    /// Weight taken up, `class * kinds + kind`.
    pub weight: Vec<f64>,
    /// Contacts that bounced (not taken up), per class.
    pub bounced: Vec<u64>,
    /// Each uptake as `(particle, cell)` in the order it happened; the
    /// caller drains it to unload cargo into the receiving cells.
    pub events: Vec<(u32, u32)>,
}

impl UptakeCounts {
    /// Zero counts.
    pub fn new(classes: usize, kinds: usize) -> Self {
        UptakeCounts {
            kinds,
            weight: vec![0.0; classes * kinds],
            bounced: vec![0; classes],
            events: Vec::new(),
        }
    }

    /// Weight of `class` taken up by cells of `kind`.
    pub fn get(&self, class: usize, kind: usize) -> f64 {
        self.weight[class * self.kinds + kind]
    }

    /// Weight of `class` taken up by all cells.
    pub fn class_total(&self, class: usize) -> f64 {
        self.weight[class * self.kinds..(class + 1) * self.kinds]
            .iter()
            .sum()
    }
}

/// Everything one step needs besides the particles and the counters.
#[derive(Debug, Clone, Copy)]
pub struct StepSettings<'a> {
    /// The tissue box.
    pub domain: &'a Domain,
    /// Diffusion coefficient per class, m²/s (matrix hindrance included).
    pub d_per_class: &'a [f64],
    /// Interstitial flow, m/s.
    pub drift: [f64; 3],
    /// Time step, s.
    pub dt: f64,
    /// Study seed.
    pub seed: u64,
    /// Step number (keys the random stream).
    pub step: u64,
}

/// One step of motion with uptake by `cells` (see the module doc). Vesicles
/// leaving through absorbing or draining faces are counted in `boundary`,
/// those taken up in `uptake` and in `cells.taken`.
pub fn step_with_uptake(
    particles: &mut VesicleParticles,
    cells: &mut CellBodies,
    grid: &CellGrid,
    affinity: &Affinity,
    settings: StepSettings,
    boundary: &mut BoundaryCounts,
    uptake: &mut UptakeCounts,
) {
    let StepSettings {
        domain,
        d_per_class,
        drift,
        dt,
        seed,
        step,
    } = settings;
    let mut rng = stream(seed, UPTAKE_DOMAIN, step);
    let largest = cells.largest_radius();
    let mut near = Vec::new();
    for i in 0..particles.len() {
        if !particles.alive[i] {
            continue;
        }
        let class = particles.class[i] as usize;
        let d = d_per_class[class];
        let sigma = (2.0 * d * dt).sqrt();
        let start = particles.position(i);
        let mut end = start;
        for (a, p) in end.iter_mut().enumerate().take(domain.dim) {
            let g: f64 = rng.sample(StandardNormal);
            *p += drift[a] * dt + sigma * g;
        }
        // Cells checked nearest surface first: the first touched along the path.
        near.clear();
        let step_length = (0..3)
            .map(|a| (end[a] - start[a]).powi(2))
            .sum::<f64>()
            .sqrt();
        grid.candidates(
            start,
            largest + step_length + REACH_SIGMAS * sigma,
            &mut near,
        );
        near.sort_unstable_by(|&a, &b| {
            let da = cells.spheres[a as usize].distance(start) - cells.spheres[a as usize].radius;
            let db = cells.spheres[b as usize].distance(start) - cells.spheres[b as usize].radius;
            da.total_cmp(&db).then(a.cmp(&b))
        });
        let mut contact = None;
        for &c in &near {
            let u: f64 = rng.random();
            if crossed_during_step(start, end, &cells.spheres[c as usize], d, dt, u) {
                contact = Some(c as usize);
                break;
            }
        }
        if let Some(c) = contact {
            let kind = cells.kind[c] as usize;
            let w = particles.weight[i];
            let u: f64 = rng.random();
            if u < affinity.get(class, kind) && cells.taken[c] + w <= cells.capacity[c] {
                cells.taken[c] += w;
                uptake.weight[class * uptake.kinds + kind] += w;
                uptake.events.push((i as u32, c as u32));
                particles.alive[i] = false;
            } else {
                uptake.bounced[class] += 1;
            }
            continue;
        }
        match domain.apply(&mut end) {
            Fate::Inside => {}
            Fate::Absorbed { .. } => {
                boundary.absorbed[class] += particles.weight[i];
                particles.alive[i] = false;
            }
            Fate::Drained { .. } => {
                boundary.drained[class] += particles.weight[i];
                particles.alive[i] = false;
            }
        }
        particles.x[i] = end[0];
        particles.y[i] = end[1];
        particles.z[i] = end[2];
    }
}
