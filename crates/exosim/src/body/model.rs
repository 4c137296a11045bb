//! The body engine's model: vesicle classes as the body sees them, the
//! bodies of the arms (organs, macrophages, depots, affinities), their doses
//! and sources, and what every arm of a study shares ([`Plan`]). Values are
//! plain numbers in internal SI units, checked before they get here.

use std::collections::BTreeMap;

/// What every arm of a study shares: the clock, the integrator, the
/// vesicle classes and the arms themselves.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// End time, s.
    pub duration: f64,
    /// Sorted, unique output times, s, from 0 to `duration`.
    pub output_times: &'a [f64],
    /// Times at which organ shares are reported, s.
    pub report_times: &'a [f64],
    /// Integrator settings.
    pub solver: SolverSettings,
    /// Vesicle classes, indexed by doses and sources.
    pub vesicles: &'a [VesicleClass],
    /// The simulated individuals.
    pub arms: &'a [Arm],
}

/// Organs of the body engine, besides blood, lymph and the optional tumour.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Organ {
    /// Liver: hepatic artery plus portal blood from gut and spleen; Kupffer cells.
    Liver,
    /// Spleen: red-pulp macrophages; drains into the portal vein.
    Spleen,
    /// Lungs: receive the whole cardiac output (pulmonary circulation).
    Lungs,
    /// Kidneys.
    Kidneys,
    /// Heart (myocardium).
    Heart,
    /// Brain, behind the blood–brain barrier.
    Brain,
    /// Gastrointestinal tract; drains into the portal vein.
    Gut,
    /// All remaining tissue: muscle, skin, fat, bone.
    Rest,
    /// An optional tumour fed from arterial blood.
    Tumour,
}

impl Organ {
    /// The organs every body has, in output order.
    pub const STANDARD: [Organ; 8] = [
        Organ::Liver,
        Organ::Spleen,
        Organ::Lungs,
        Organ::Kidneys,
        Organ::Heart,
        Organ::Brain,
        Organ::Gut,
        Organ::Rest,
    ];

    /// Name used in study files and output columns.
    pub fn name(self) -> &'static str {
        match self {
            Organ::Liver => "liver",
            Organ::Spleen => "spleen",
            Organ::Lungs => "lungs",
            Organ::Kidneys => "kidneys",
            Organ::Heart => "heart",
            Organ::Brain => "brain",
            Organ::Gut => "gut",
            Organ::Rest => "rest",
            Organ::Tumour => "tumour",
        }
    }

    /// Parses a name as written in a study file.
    pub fn from_name(name: &str) -> Option<Organ> {
        Organ::STANDARD
            .iter()
            .chain(std::iter::once(&Organ::Tumour))
            .copied()
            .find(|o| o.name() == name)
    }

    /// Every name a study may use, for "did you mean" hints.
    pub fn all_names() -> Vec<&'static str> {
        Organ::STANDARD
            .iter()
            .chain(std::iter::once(&Organ::Tumour))
            .map(|o| o.name())
            .collect()
    }
}

/// Tolerances of the stiff integrator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverSettings {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance as a fraction of the arm's largest input.
    pub atol_fraction: f64,
}

/// A vesicle class: what its surface tells the body.
#[derive(Debug, Clone, PartialEq)]
pub struct VesicleClass {
    /// Identifier.
    pub name: String,
    /// Mean diameter, m (the median of the size distribution).
    pub diameter: f64,
    /// Coefficient of variation of the log-normal diameter (0: all alike);
    /// the body's transport uses `diameter`, the instruments the spread.
    pub diameter_cv: f64,
    /// Phosphatidylserine exposure relative to natural small EVs.
    pub ps_exposure: f64,
    /// CD47 coat coverage, 0–1.
    pub cd47: f64,
    /// Targeting ligands: name and relative surface density.
    pub ligands: Vec<(String, f64)>,
    /// Breakdown in blood and lymph, 1/s.
    pub blood_degradation: f64,
    /// Marker copies per vesicle, by marker name.
    pub markers: BTreeMap<String, f64>,
}

/// One simulated individual: a body, the doses it gets and its sources.
#[derive(Debug, Clone)]
pub struct Arm {
    /// Identifier.
    pub name: String,
    /// Physiology and vesicle handling.
    pub body: Body,
    /// Administrations.
    pub doses: Vec<Dose>,
    /// Endogenous releases.
    pub sources: Vec<Source>,
    /// Release inhibitors given to this individual.
    pub drugs: Vec<ArmDrug>,
}

/// A release-inhibiting drug in an arm and the sources it acts on: each
/// targeted source releases at `rate·(1 − I(C(t)))`, with `C` the drug's
/// central concentration and `I` its Emax/Hill action.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmDrug {
    /// Kinetics, doses and action.
    pub drug: crate::drug::Drug,
    /// Indices into [`Arm::sources`].
    pub sources: Vec<usize>,
}

/// The body of one arm.
#[derive(Debug, Clone)]
pub struct Body {
    /// Preset the body started from.
    pub species: String,
    /// m³/s.
    pub cardiac_output: f64,
    /// Total blood, m³.
    pub blood_volume: f64,
    /// Share of blood volume that is cells: vesicles are in the plasma,
    /// the rest.
    pub haematocrit: f64,
    /// m³.
    pub lymph_volume: f64,
    /// Lymph returned to venous blood, m³/s.
    pub lymph_flow: f64,
    /// Macrophage clearance.
    pub mps: Mps,
    /// Standard organs in [`Organ::STANDARD`] order, then the tumour if any.
    pub organs: Vec<OrganParams>,
    /// Size-dependent retention in lung capillaries.
    pub lung_trapping: LungTrapping,
    /// Size-dependent filtering by the splenic red pulp.
    pub spleen_filtering: SizeFilter,
    /// Size-dependent access to hepatocytes.
    pub liver_fenestrae: Fenestrae,
    /// Between the gut lumen and the gut's blood.
    pub gut_barrier: GutBarrier,
    /// Injection depots.
    pub intraperitoneal: Depot,
    /// Injection depots.
    pub subcutaneous: Depot,
    /// Ligand → organ → fold increase of uptake per unit ligand density.
    pub affinity: BTreeMap<String, BTreeMap<Organ, f64>>,
}

impl Body {
    /// Plasma, m³: where the blood's vesicles are, so that a plasma
    /// concentration is the blood's count over it.
    pub fn plasma_volume(&self) -> f64 {
        self.blood_volume * (1.0 - self.haematocrit)
    }

    /// Parameters of `organ`, if the body has it.
    pub fn organ(&self, organ: Organ) -> Option<&OrganParams> {
        self.organs.iter().find(|o| o.organ == organ)
    }
}

/// Diameter of the natural small EVs that macrophage recognition and the
/// preset's organ handling are expressed against, m.
pub const SMALL_EV_DIAMETER: f64 = 100e-9;

/// Saturable macrophage clearance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mps {
    /// Fraction of macrophages present.
    pub capacity: f64,
    /// Half-saturating concentration, 1/m³.
    pub km: f64,
    /// Share of recognition through phosphatidylserine.
    pub ps_weight: f64,
    /// Share of recognition removed by a full CD47 coat.
    pub cd47_protection: f64,
    /// Phagocytosis rises with particle size: the largest vesicles are
    /// recognised `1 + size_gain` times as well as the smallest ...
    pub size_gain: f64,
    /// ... with half that gain at this diameter, m ...
    pub size_d50: f64,
    /// ... and this steepness, m.
    pub size_width: f64,
}

impl Mps {
    /// Macrophage recognition of a class relative to natural small EVs
    /// (100 nm): `(1 − w + w·PS) · (1 − p·CD47) · s(d) / s(100 nm)`, with
    /// `s(d) = 1 + size_gain / (1 + exp(−(d − size_d50) / size_width))`.
    /// It scales the class's affinity for macrophages (its Km is divided
    /// by it), not their capacity.
    pub fn recognition(&self, class: &VesicleClass) -> f64 {
        (1.0 - self.ps_weight + self.ps_weight * class.ps_exposure)
            * (1.0 - self.cd47_protection * class.cd47)
            * self.size_preference(class.diameter)
            / self.size_preference(SMALL_EV_DIAMETER)
    }

    fn size_preference(&self, d: f64) -> f64 {
        1.0 + self.size_gain / (1.0 + (-(d - self.size_d50) / self.size_width).exp())
    }
}

/// One organ of one body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrganParams {
    /// Which organ.
    pub organ: Organ,
    /// Tissue volume, m³.
    pub volume: f64,
    /// Arterial inflow, m³/s (lungs: the cardiac output).
    pub blood_flow: f64,
    /// Volume of its vascular bed, m³.
    pub vascular_volume: f64,
    /// Fraction taken up per passage by non-macrophage cells.
    pub uptake_extraction: f64,
    /// Fraction taken up per passage by macrophages at low dose.
    pub mps_extraction: f64,
    /// 1/s.
    pub degradation: f64,
    /// Return to venous blood, 1/s.
    pub efflux: f64,
    /// Excretion out of the body, 1/s.
    pub excretion: f64,
}

/// Retention that rises with vesicle diameter: lung capillaries and the
/// splenic red pulp hold back large vesicles while small ones pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeFilter {
    /// Diameter at half-maximal retention, m.
    pub d50: f64,
    /// Steepness, m.
    pub width: f64,
    /// Retention of the largest vesicles per passage.
    pub max_extraction: f64,
}

impl SizeFilter {
    /// Fraction retained per passage for vesicles of diameter `d` (m).
    pub fn extraction(&self, d: f64) -> f64 {
        self.max_extraction / (1.0 + (-(d - self.d50) / self.width).exp())
    }
}

/// Lung capillary trapping: large vesicles lodge on their first passages
/// and are released back into blood over hours, so that the lungs hold
/// them first and the liver later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LungTrapping {
    /// Retention per passage as a function of diameter.
    pub filter: SizeFilter,
    /// Trapped vesicles released into (arterial) blood, 1/s.
    pub release: f64,
}

/// The liver's sinusoidal fenestrae: vesicles reach hepatocytes only
/// through them, so non-macrophage liver uptake falls with diameter while
/// Kupffer cells, inside the sinusoids, see every size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fenestrae {
    /// Diameter passing at half the free rate, m.
    pub diameter: f64,
    /// Steepness, m.
    pub width: f64,
}

impl Fenestrae {
    /// Share of the free hepatocyte uptake left to vesicles of diameter `d`.
    pub fn passage(&self, d: f64) -> f64 {
        1.0 / (1.0 + ((d - self.diameter) / self.width).exp())
    }
}

/// The gut barrier: vesicles in the gut lumen cross into the gut's blood
/// at `permeability · translocation` and leave with the faeces at
/// `transit`, so that the share that reaches blood is
/// `p·k / (p·k + transit)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GutBarrier {
    /// 0 (sealed) to 1 (fully open).
    pub permeability: f64,
    /// Crossing rate of a fully open barrier, 1/s.
    pub translocation: f64,
    /// Loss from the lumen with the faeces, 1/s.
    pub transit: f64,
}

/// An injection depot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Depot {
    /// Absorption into lymph, 1/s.
    pub absorption: f64,
    /// Loss at the site, 1/s.
    pub degradation: f64,
}

/// Where a dose goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Administration {
    /// Into venous blood at once.
    IvBolus,
    /// Into venous blood at a constant rate for this long, s.
    IvInfusion {
        /// Length of each infusion, s.
        duration: f64,
    },
    /// Into the peritoneal depot.
    Intraperitoneal,
    /// Into the subcutaneous depot.
    Subcutaneous,
    /// Into an organ's tissue.
    Local(Organ),
}

/// A dose schedule of one class.
#[derive(Debug, Clone, PartialEq)]
pub struct Dose {
    /// Index into [`Plan::vesicles`].
    pub class: usize,
    /// Route.
    pub administration: Administration,
    /// Vesicles per administration.
    pub amount: f64,
    /// Start of each administration, s, ascending.
    pub times: Vec<f64>,
}

/// Where a source releases its vesicles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceSite {
    /// Venous blood: cells of the body.
    Blood,
    /// The gut lumen: gut bacteria, whose vesicles reach blood only
    /// through the gut barrier.
    GutLumen,
}

/// Constant release of a class into venous blood or the gut lumen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    /// Index into [`Plan::vesicles`].
    pub class: usize,
    /// Vesicles per s.
    pub rate: f64,
    /// s.
    pub start: f64,
    /// s.
    pub end: f64,
    /// Where the vesicles are released.
    pub site: SourceSite,
}

impl Arm {
    /// Classes given or released in this arm, ascending.
    pub fn classes(&self) -> Vec<usize> {
        let mut c: Vec<usize> = self
            .doses
            .iter()
            .map(|d| d.class)
            .chain(self.sources.iter().map(|s| s.class))
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// Vesicles of `class` that entered the body by time `t`, as (dosed,
    /// released by sources at their nominal rates): infusions and sources
    /// integrated exactly. Their sum is the left side of the mass balance;
    /// a drug's inhibition of a source keeps part of it back, counted in
    /// that source's withheld state ([`super::pbpk::InhibitedSource`]).
    pub fn input_by(&self, class: usize, t: f64) -> (f64, f64) {
        let dosed: f64 = self
            .doses
            .iter()
            .filter(|d| d.class == class)
            .flat_map(|d| d.times.iter().map(move |&t0| (d, t0)))
            .map(|(d, t0)| match d.administration {
                Administration::IvInfusion { duration } => {
                    d.amount * ((t - t0).clamp(0.0, duration) / duration)
                }
                _ if t >= t0 => d.amount,
                _ => 0.0,
            })
            .sum();
        let released: f64 = self
            .sources
            .iter()
            .filter(|s| s.class == class)
            .map(|s| s.rate * (t.min(s.end) - s.start).max(0.0))
            .sum();
        (dosed, released)
    }
}
