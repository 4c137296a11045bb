//! The screening model: the tumour, the individuals and their
//! variability, the blood kinetics and the test, in SI units; everything a
//! cohort simulation needs. Its runs are in [`super::screening`] (and, for
//! the common case, the vectorised cohort kernel, `super::cohort`).

use std::sync::Arc;

use super::blood_modes::BloodModes;
use super::burden::TabulatedBurden;
use super::growth::{BranchingStart, GrowthLaw};
use super::kinetics::{BloodKinetics, Shedding};
use super::measurement::Protocol;
use super::release::ReleaseInhibition;
use crate::units::DAY;

/// A year of 365.25 days (s).
pub const YEAR: f64 = 365.25 * DAY;

/// Stream domain of healthy cohorts (thresholds, specificity).
pub const DOMAIN_HEALTHY: u64 = 0xB105_0001;
/// Stream domain of detection-curve cohorts.
pub const DOMAIN_CURVE: u64 = 0xB105_0002;
/// Stream domain of screening cohorts.
pub const DOMAIN_SCREENING: u64 = 0xB105_0003;
/// Stream domain of the healthy cohort screened for false positives.
pub const DOMAIN_HEALTHY_SCREENING: u64 = 0xB105_0005;

/// The quantiles reported by [`ScreeningSummary`].
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// The tumour of a screening model.
#[derive(Debug, Clone, PartialEq)]
pub struct Tumour {
    /// Growth law.
    pub growth: GrowthLaw,
    /// Cells at initiation (t = 0).
    pub initial_cells: f64,
    /// Cell density (cells/m³), default [`growth::CELLS_PER_M3`].
    pub cells_per_m3: f64,
    /// A stochastic start from one cell: each screened individual's tumour
    /// follows its own surviving lineage of this branching process, and
    /// `growth` (then exponential at b − d from `initial_cells` = 1) is the
    /// mean-field path used where one path serves all (detection curve in
    /// growing mode). `None`: every tumour follows `growth`.
    pub branching: Option<BranchingStart>,
    /// A burden taken from the tissue engine: it replaces `growth` and
    /// `initial_cells` wherever the tumour's size is asked for.
    pub burden: Option<Arc<TabulatedBurden>>,
}

impl Tumour {
    /// Cells at initiation.
    pub fn initial_cells(&self) -> f64 {
        self.burden
            .as_ref()
            .map_or(self.initial_cells, |b| b.initial_cells())
    }

    /// The first time (s) the (mean-field) tumour reaches `cells`; `None` if never.
    pub fn time_to(&self, cells: f64) -> Option<f64> {
        match &self.burden {
            Some(b) => b.time_to(cells),
            None => self.growth.time_to(self.initial_cells, cells),
        }
    }
}

/// Inter-individual variability: each individual's background release,
/// shedding rate and elimination rate are the nominal ones times a
/// log-normal factor of mean 1 and the given CV (0 = none). The CVs are
/// free parameters: no population values were found.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Variability {
    /// CV of the background release B.
    pub background_cv: f64,
    /// CV of the tumour's input into blood per cell.
    pub shedding_cv: f64,
    /// CV of the elimination rate constant k.
    pub elimination_cv: f64,
    /// CV of the background from one test to the next within an
    /// individual (a log-normal factor of mean 1 drawn at each test on
    /// the background's share of the sample; 0: fixed per individual).
    pub background_test_cv: f64,
}

/// One individual's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Individual {
    /// Background release B (amount/s).
    pub background: f64,
    /// Tumour input into blood per cell (amount/(cell·s)).
    pub source_per_cell: f64,
    /// Elimination rate constant k (1/s).
    pub elimination_rate: f64,
}

/// Imaging exams beside the blood tests (relapse monitoring): an exam
/// finds the tumour once its diameter is at least `diameter`. Each
/// individual's exams are at its own phase ψ, uniform in [0, interval)
/// (0 in deterministic mode), then every `interval`; the lead time of the
/// blood test is the first finding exam's time minus the detection's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Imaging {
    /// Smallest diameter an exam finds (m).
    pub diameter: f64,
    /// Time between exams (s).
    pub interval: f64,
}

/// Which positive test of a tumour-bearing individual is its detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionRule {
    /// The first positive test that the tumour made: a test that the
    /// individual's background alone would make positive is counted as a
    /// false positive and screening goes on.
    #[default]
    Tumour,
    /// The first positive test, whatever made it (the published ctDNA
    /// model's count, Avanzini et al. 2020): a false positive ends the
    /// screening as a detection at the tumour's size then.
    FirstPositive,
}

/// Everything a cohort simulation needs, resolved and in SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningModel {
    /// The tumour.
    pub tumour: Tumour,
    /// Tumour release of the marker.
    pub shedding: Shedding,
    /// Background, elimination and plasma volume (nominal individual).
    pub blood: BloodKinetics,
    /// The body engine's blood compartment as pools, whose effective rate
    /// is `blood.elimination_rate`; `None`: first-order elimination.
    pub blood_modes: Option<Arc<BloodModes>>,
    /// Drugs inhibiting the tumour's shedding, on the study's clock (the
    /// screening's t = 0 and the drugs' doses share it), and when a held
    /// tumour's tests are drawn; `None`: untreated.
    pub release: Option<Arc<ReleaseInhibition>>,
    /// Inter-individual variability.
    pub variability: Variability,
    /// Draw, isolation and assay.
    pub protocol: Protocol,
    /// Decision threshold on the estimated plasma concentration
    /// (amount/m³): a test is positive when detected (≥ LOD) and its
    /// estimate is strictly above it. See [`resolve_threshold`](super::screening::resolve_threshold).
    pub threshold: f64,
    /// Time between tests (s); each individual's first test is at a random
    /// phase in [0, interval) (0 in deterministic mode).
    pub interval: f64,
    /// Length of the screening (s) from tumour initiation.
    pub duration: f64,
    /// Largest step (s) of the blood-kinetics integrator for non-exponential
    /// growth (see [`crate::biopsy::kinetics::exponential_integrator_step`]).
    pub max_step: f64,
    /// Imaging on its own schedule, for the lead time of the blood test
    /// over it; `None`: no imaging.
    pub imaging: Option<Imaging>,
    /// Which positive test is the detection.
    pub detection: DetectionRule,
    /// Deterministic mode: nominal individual, tests at 0, interval, 2·interval…,
    /// noise-free tests ([`Protocol::expected_estimate`]); the summary then
    /// carries the exact crossing (`ScreeningModel::deterministic_crossing`).
    pub deterministic: bool,
}
