//! The resolved tissue study: cell types, vesicle classes, response rules,
//! drugs and placements as plain numbers in SI units.
//!
//! Nothing here names a cell type, a cargo or a rule: everything comes from
//! the study file (see `docs/study-format.md`, section `[tissue]`), and the
//! engine ([`super::engine`]) only knows these generic shapes.

use super::domain::Domain;

/// A state variable of a cell type (e.g. viability, cytotoxicity).
#[derive(Debug, Clone, PartialEq)]
pub struct StateVar {
    /// Name, unique within the cell type.
    pub name: String,
    /// Value of a new cell.
    pub initial: f64,
    /// Lower bound (the value is clamped to it).
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// First-order return towards `initial`, 1/s (0: no return).
    pub relax: f64,
}

/// A factor of a cell's state variable `s`: how its state scales its
/// secretion, cargo, killing, division, death or motility.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Multiplier {
    /// Index of the state variable in the cell type.
    pub state: usize,
    /// How the factor follows the state.
    pub law: FactorLaw,
}

/// The shape of a [`Multiplier`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FactorLaw {
    /// `max(0, 1 + gain·(s − reference))`: proportional control around a
    /// reference state.
    Linear {
        /// Change of the factor per unit of the state variable.
        gain: f64,
        /// State value at which the factor is 1.
        reference: f64,
    },
    /// `base + (saturation − base)·s⁺ⁿ/(Kⁿ + s⁺ⁿ)` with `s⁺ = max(s, 0)`: a
    /// switch between two levels, as PhysiCell's rules write a behaviour
    /// against a signal (`saturation < base` switches off, e.g. a cell
    /// that stops dividing once a state passes `K`).
    Hill {
        /// State at which the factor is halfway, K (> 0).
        half_max: f64,
        /// Hill coefficient n (> 0).
        hill: f64,
        /// Factor at state 0 (≥ 0).
        base: f64,
        /// Factor as the state grows without bound (≥ 0).
        saturation: f64,
    },
}

impl Multiplier {
    /// The factor for the state values `state` of one cell.
    pub fn factor(&self, state: &[f64]) -> f64 {
        let s = state[self.state];
        match self.law {
            FactorLaw::Linear { gain, reference } => (1.0 + gain * (s - reference)).max(0.0),
            FactorLaw::Hill {
                half_max,
                hill,
                base,
                saturation,
            } => base + (saturation - base) * hill_fraction(s.max(0.0), half_max, hill),
        }
    }
}

/// `xⁿ/(Kⁿ + xⁿ)` for `x ≥ 0`: 0 at 0, ½ at `K`, 1 as `x` grows. Written
/// as `r/(1 + r)` with `r = (x/K)ⁿ`, which neither overflows nor divides
/// 0 by 0 for steep switches (large n).
pub fn hill_fraction(x: f64, half_max: f64, hill: f64) -> f64 {
    let r = (x / half_max).powf(hill);
    if r.is_infinite() { 1.0 } else { r / (1.0 + r) }
}

/// Product of several multipliers (1 for none).
pub fn product(multipliers: &[Multiplier], state: &[f64]) -> f64 {
    multipliers.iter().map(|m| m.factor(state)).product()
}

/// A factor on the cargo load of released vesicles: of one molecule of the
/// class, or of all of them (a sender's state can change what its vesicles
/// carry, not only how much).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CargoMultiplier {
    /// Molecule scaled (index into [`TissueModel::molecules`]); `None`: all.
    pub molecule: Option<usize>,
    /// The factor.
    pub factor: Multiplier,
}

impl CargoMultiplier {
    /// Whether this factor applies to `molecule`.
    pub fn applies_to(&self, molecule: usize) -> bool {
        self.molecule.is_none_or(|m| m == molecule)
    }
}

/// One line of a secretion programme: a cell releases vesicles of `class`.
#[derive(Debug, Clone, PartialEq)]
pub struct Secretion {
    /// Vesicle class released.
    pub class: usize,
    /// Vesicles per living cell per second at reference state.
    pub rate: f64,
    /// State dependence of the rate.
    pub scale: Vec<Multiplier>,
    /// State dependence of the cargo load, per molecule or for all.
    pub cargo_scale: Vec<CargoMultiplier>,
}

/// Contact killing: a cell of this type kills touching cells of `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct Killing {
    /// Target cell type.
    pub target: usize,
    /// Hazard per touching pair, 1/s, at reference state.
    pub rate: f64,
    /// State dependence of the hazard (e.g. cytotoxicity).
    pub scale: Vec<Multiplier>,
}

/// A cell type as defined in the study.
#[derive(Debug, Clone, PartialEq)]
pub struct CellType {
    /// Name.
    pub name: String,
    /// Radius, m.
    pub radius: f64,
    /// Receptor densities (relative units), indexed like [`TissueModel::receptors`].
    pub receptors: Vec<f64>,
    /// Uptake probability per contact when no ligand matches.
    pub nonspecific_uptake: f64,
    /// Most vesicles one cell takes up (saturation); infinite when unlimited.
    pub uptake_capacity: f64,
    /// State variables.
    pub state: Vec<StateVar>,
    /// Secretion programme.
    pub secretion: Vec<Secretion>,
    /// Division rate ln 2 / division time, 1/s, at reference state (0: no division).
    pub division_rate: f64,
    /// State dependence of the division rate.
    pub division_scale: Vec<Multiplier>,
    /// A cell touching this many cells or more does not divide (contact inhibition).
    pub max_neighbours: usize,
    /// Death hazard, 1/s, at reference state.
    pub death_rate: f64,
    /// State dependence of the death hazard.
    pub death_scale: Vec<Multiplier>,
    /// State variable whose reaching its lower bound kills the cell.
    pub death_state: Option<usize>,
    /// Random-walk diffusion coefficient of the cell, m²/s, at reference
    /// state (0: immobile).
    pub motility: f64,
    /// State dependence of the motility.
    pub motility_scale: Vec<Multiplier>,
    /// First-order loss of held cargo inside the cell, 1/s.
    pub cargo_decay: f64,
    /// Contact killing of other cells.
    pub kills: Vec<Killing>,
}

/// Copy-number distribution of one cargo molecule per vesicle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CargoLoad {
    /// Index into [`TissueModel::molecules`].
    pub molecule: usize,
    /// Mean copies per vesicle (may be far below 1).
    pub mean: f64,
    /// Gamma–Poisson dispersion: variance = mean + dispersion·mean²
    /// (0: Poisson).
    pub dispersion: f64,
}

/// A vesicle class of the tissue. A class with a size distribution is
/// carried by several transport bins (one diffusion coefficient each).
#[derive(Debug, Clone, PartialEq)]
pub struct TissueVesicle {
    /// Name.
    pub name: String,
    /// Median diameter, m.
    pub diameter: f64,
    /// Diffusion coefficient of each size bin, m²/s (matrix hindrance included).
    pub bin_diffusion: Vec<f64>,
    /// Ligand densities (relative units), indexed like [`TissueModel::ligands`].
    pub ligands: Vec<f64>,
    /// Cargo copy numbers per vesicle.
    pub cargo: Vec<CargoLoad>,
    /// Degradation rate ln 2 / half-life, 1/s (0: stable).
    pub degradation: f64,
    /// Vesicles per particle.
    pub weight: f64,
}

/// What a rule reacts to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Each copy received changes the state by `change` at once.
    Received,
    /// Each copy held changes the state at `change` per second.
    Held,
}

/// How a rule's effect follows the copies of its molecule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Response {
    /// Proportional to the copies.
    Linear,
    /// `hⁿ/(Kⁿ + hⁿ)` of the copies held `h`: saturating (n = 1) or
    /// switch-like (n > 1), as receptor occupancy and signalling cascades are.
    Hill {
        /// Copies at half effect, K (> 0).
        half_max: f64,
        /// Hill coefficient n (> 0).
        hill: f64,
    },
    /// 1 when the copies held reach `threshold`, else 0 (the Hill form's
    /// limit of large n).
    Threshold {
        /// Copies, ≥ 0.
        threshold: f64,
    },
}

impl Response {
    /// What `change` is multiplied by for `copies` copies: the copies
    /// themselves (linear) or a fraction in [0, 1].
    pub fn drive(&self, copies: f64) -> f64 {
        match *self {
            Response::Linear => copies,
            Response::Hill { half_max, hill } => hill_fraction(copies.max(0.0), half_max, hill),
            Response::Threshold { threshold } => {
                if copies >= threshold {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// A response rule: cargo in a cell of `cell_type` changes a state variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Name (variants switch rules off by name).
    pub name: String,
    /// Cell type that responds.
    pub cell_type: usize,
    /// Molecule that triggers the response.
    pub molecule: usize,
    /// State variable changed.
    pub state: usize,
    /// Received or held.
    pub trigger: Trigger,
    /// Change per copy (received, linear), per copy per second (held,
    /// linear), or per second at full effect (held, Hill or threshold).
    pub change: f64,
    /// How the effect follows the copies (only `Linear` for received).
    pub response: Response,
}

/// A release inhibitor: from `start`, the secretion of `cell_types` is
/// multiplied by `1 − emax·C^h / (C^h + EC50^h)`, at a constant
/// concentration (`factor`) or at the concentration of a dosed drug's
/// course (`drug`, from a study's `[[drugs]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Inhibitor {
    /// Name (variants switch inhibitors off by name).
    pub name: String,
    /// Cell types whose secretion is scaled.
    pub cell_types: Vec<usize>,
    /// Start time, s.
    pub start: f64,
    /// Secretion factor once started, without a drug.
    pub factor: f64,
    /// A dosed drug whose concentration course sets the factor over time.
    pub drug: Option<crate::drug::Drug>,
}

impl Inhibitor {
    /// Secretion factor at `t`, s (after `start`).
    pub fn factor_at(&self, t: f64) -> f64 {
        match &self.drug {
            Some(d) => d.release_factor(t),
            None => self.factor,
        }
    }
}

/// Where cells start.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// `count` cells uniformly in a box.
    Random {
        /// Cell type.
        cell_type: usize,
        /// Number of cells.
        count: usize,
        /// Lower corner, m.
        lower: [f64; 3],
        /// Upper corner, m.
        upper: [f64; 3],
    },
    /// `count` cells uniformly in a ball (a 2-D disc in 2-D).
    Spheroid {
        /// Cell type.
        cell_type: usize,
        /// Number of cells.
        count: usize,
        /// Centre, m.
        centre: [f64; 3],
        /// Radius, m.
        radius: f64,
    },
    /// A square lattice of touching cells on the plane `z = height` over a
    /// rectangle (the bottom of a dish).
    Monolayer {
        /// Cell type.
        cell_type: usize,
        /// Lower corner of the rectangle (x, y), m.
        lower: [f64; 2],
        /// Upper corner, m.
        upper: [f64; 2],
        /// Height of the cell centres, m.
        height: f64,
    },
    /// Explicit positions (from a CSV file).
    Listed {
        /// (cell type, position in m) per cell.
        cells: Vec<(usize, [f64; 3])>,
    },
}

/// Vesicles put into the tissue at a time (e.g. added to a dish).
#[derive(Debug, Clone, PartialEq)]
pub struct Addition {
    /// Vesicle class.
    pub class: usize,
    /// Time, s.
    pub time: f64,
    /// Number of vesicles.
    pub count: f64,
    /// Lower corner of the region they are spread in, m.
    pub lower: [f64; 3],
    /// Upper corner, m.
    pub upper: [f64; 3],
}

/// A variant: the study with some rules or inhibitors switched off and the
/// additions scaled.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Name.
    pub name: String,
    /// Rules that are off.
    pub rules_off: Vec<String>,
    /// Inhibitors that are off.
    pub inhibitors_off: Vec<String>,
    /// Factor on every addition's count.
    pub dose_scale: f64,
}

/// Where vesicles drained from a coupled tissue enter the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainTo {
    /// Lymph (they reach venous blood through the lymph flow).
    Lymph,
    /// Venous blood.
    Blood,
}

/// A tissue vesicle class and the body vesicle class it is, in a coupled study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLink {
    /// Index into [`TissueModel::vesicles`].
    pub tissue: usize,
    /// Index into the study's body vesicle classes.
    pub body: usize,
}

/// A body arm holding the tissue: each of its runs is a copy of the
/// tissue inside a copy of the arm.
#[derive(Debug, Clone, PartialEq)]
pub struct CoupledArm {
    /// Index of the body arm.
    pub arm: usize,
    /// Release inhibitors of the drugs given in this arm alone
    /// (`[[arms.drugs]]` with `cell_types`): they act on this arm's copies
    /// of the tissue, beside the model's own inhibitors.
    pub inhibitors: Vec<Inhibitor>,
}

/// The exchange of vesicles between the tissue and its body arms.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupling {
    /// The body arms the tissue sits in, in study order (at least one);
    /// each runs its own copies of the tissue.
    pub arms: Vec<CoupledArm>,
    /// Exchange interval, s (a whole number of transport steps).
    pub interval: f64,
    /// The interval in transport steps.
    pub interval_steps: u64,
    /// Where drained vesicles go.
    pub drain_to: DrainTo,
    /// Faces through which blood vesicles arrive, as (axis, side).
    pub vascular_faces: Vec<(usize, usize)>,
    /// Vascular permeability, m/s: the flux into the tissue is
    /// permeability × face area × blood concentration.
    pub permeability: f64,
    /// Class pairs exchanged (one-to-one).
    pub links: Vec<ClassLink>,
    /// Name of each link's body class, for reports.
    pub body_names: Vec<String>,
}

impl Coupling {
    /// Whether body arm `arm` holds a copy of the tissue.
    pub fn holds(&self, arm: usize) -> bool {
        self.arms.iter().any(|a| a.arm == arm)
    }

    /// Whether several arms hold copies (outputs then name the arm).
    pub fn per_arm(&self) -> bool {
        self.arms.len() > 1
    }

    /// The model as the copies in coupled arm `k` (an index into
    /// [`Coupling::arms`]) run it: `model` with that arm's own inhibitors
    /// added; `model` itself when the arm has none.
    pub fn model_in_arm<'m>(
        &self,
        model: &'m TissueModel,
        k: usize,
    ) -> std::borrow::Cow<'m, TissueModel> {
        let own = &self.arms[k].inhibitors;
        if own.is_empty() {
            return std::borrow::Cow::Borrowed(model);
        }
        let mut m = model.clone();
        m.inhibitors.extend(own.iter().cloned());
        std::borrow::Cow::Owned(m)
    }

    /// Total area of the vascular faces of `domain`, m² (3-D only).
    pub fn vascular_area(&self, domain: &Domain) -> f64 {
        self.vascular_faces
            .iter()
            .map(|&(axis, _)| face_area(domain, axis))
            .sum()
    }
}

/// Area of a face normal to `axis` of a 3-D box, m².
pub fn face_area(domain: &Domain, axis: usize) -> f64 {
    (0..3)
        .filter(|&a| a != axis)
        .map(|a| domain.length(a))
        .product()
}

/// A tissue study ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TissueModel {
    /// The box and its faces.
    pub domain: Domain,
    /// Transport step, s.
    pub dt: f64,
    /// Cell processes run every this many transport steps.
    pub cell_every: u64,
    /// Interstitial flow, m/s.
    pub drift: [f64; 3],
    /// Surface gap within which two cells touch (killing, contact inhibition), m.
    pub contact_gap: f64,
    /// Largest overlap of two cells left by relaxation, as a fraction of the smaller radius.
    pub overlap_tolerance: f64,
    /// Ligand names.
    pub ligands: Vec<String>,
    /// Receptor names.
    pub receptors: Vec<String>,
    /// Binding strength per (ligand, receptor): `ligand * receptors.len() + receptor`.
    pub binding: Vec<f64>,
    /// Cargo molecule names.
    pub molecules: Vec<String>,
    /// Cell types.
    pub cell_types: Vec<CellType>,
    /// Vesicle classes.
    pub vesicles: Vec<TissueVesicle>,
    /// Response rules.
    pub rules: Vec<Rule>,
    /// Release inhibitors.
    pub inhibitors: Vec<Inhibitor>,
    /// Initial cells.
    pub placements: Vec<Placement>,
    /// Vesicles added.
    pub additions: Vec<Addition>,
    /// Variants run (at least one).
    pub variants: Vec<Variant>,
    /// Independent replicates (seeds) per variant.
    pub replicates: usize,
    /// Times of the tissue time series, s (from 0).
    pub output_times: Vec<f64>,
    /// Times of snapshots, s (0 included).
    pub snapshot_times: Vec<f64>,
    /// End time, s.
    pub duration: f64,
    /// Most particles alive at once (bounds memory).
    pub max_particles: usize,
    /// Most cells alive at once.
    pub max_cells: usize,
    /// Exchange with a body arm, when the study couples the two engines.
    pub coupling: Option<Coupling>,
}

impl TissueModel {
    /// Uptake probability per contact of a vesicle of `class` with a cell of
    /// `cell_type`: `1 − (1 − p₀)·exp(−Σ ligand·K·receptor)`, where `p₀` is
    /// the cell type's nonspecific uptake and `K` the binding table. A
    /// matching label raises uptake smoothly towards 1; no match leaves `p₀`.
    pub fn uptake_probability(&self, class: usize, cell_type: usize) -> f64 {
        let v = &self.vesicles[class];
        let c = &self.cell_types[cell_type];
        let r = self.receptors.len();
        let mut score = 0.0;
        for (l, &ld) in v.ligands.iter().enumerate() {
            for (k, &rd) in c.receptors.iter().enumerate() {
                score += ld * self.binding[l * r + k] * rd;
            }
        }
        1.0 - (1.0 - c.nonspecific_uptake) * (-score).exp()
    }

    /// Index of the cell type called `name`.
    pub fn cell_type(&self, name: &str) -> Option<usize> {
        self.cell_types.iter().position(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hill law: hⁿ/(Kⁿ + hⁿ) is 0 at 0, ½ at K, → 1, and stays finite
    /// for steep switches where Kⁿ and hⁿ overflow or underflow.
    #[test]
    fn hill_fraction_follows_the_closed_form_and_survives_steep_switches() {
        for (h, k, n) in [(3.0, 2.0, 1.0), (10.0, 40.0, 2.5), (0.7, 0.5, 3.0)] {
            let law: f64 = f64::powf(h, n) / (f64::powf(k, n) + f64::powf(h, n));
            assert!((hill_fraction(h, k, n) - law).abs() < 1e-15, "{h} {k} {n}");
        }
        assert_eq!(hill_fraction(0.0, 0.5, 5000.0), 0.0);
        assert_eq!(hill_fraction(2.0, 1.0, 5000.0), 1.0);
        assert_eq!(hill_fraction(0.5, 1.0, 5000.0), 0.0);
        assert_eq!(hill_fraction(1.0, 1.0, 5000.0), 0.5);
    }

    /// Threshold law: 0 below, 1 from the threshold on; linear: the copies.
    #[test]
    fn response_drive_is_linear_hill_or_a_step() {
        let step = Response::Threshold { threshold: 5.0 };
        assert_eq!([4.999, 5.0, 50.0].map(|h| step.drive(h)), [0.0, 1.0, 1.0]);
        assert_eq!(Response::Linear.drive(7.5), 7.5);
        let hill = Response::Hill {
            half_max: 5.0,
            hill: 2.0,
        };
        assert_eq!(hill.drive(5.0), 0.5);
    }

    /// A Hill factor runs from `base` at state 0 to `saturation`, halfway
    /// at K; a linear one is `max(0, 1 + gain·(s − reference))`.
    #[test]
    fn multiplier_factor_laws() {
        let hill = Multiplier {
            state: 0,
            law: FactorLaw::Hill {
                half_max: 2.0,
                hill: 3.0,
                base: 1.0,
                saturation: 0.0,
            },
        };
        assert_eq!(hill.factor(&[0.0]), 1.0);
        assert_eq!(hill.factor(&[-4.0]), 1.0);
        assert_eq!(hill.factor(&[2.0]), 0.5);
        assert!((hill.factor(&[4.0]) - 1.0 / 9.0).abs() < 1e-15);
        let linear = Multiplier {
            state: 0,
            law: FactorLaw::Linear {
                gain: 2.0,
                reference: 1.0,
            },
        };
        assert_eq!(linear.factor(&[3.0]), 5.0);
        assert_eq!(linear.factor(&[0.0]), 0.0);
    }
}
