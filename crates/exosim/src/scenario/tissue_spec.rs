//! The `[tissue]` section of a study file, as written. Its resolution into
//! a [`crate::tissue::model::TissueModel`] is in [`super::resolve_tissue`]
//! and [`super::resolve_coupling`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::{Count, Diffusivity, Length, Rate, Temperature, Time, Velocity};

/// Most transport steps in a run.
pub const MAX_STEPS: f64 = 1e7;
/// Most particles a study may allow.
pub const MAX_PARTICLES: u64 = 50_000_000;
/// Particles a study allows when it does not say.
pub const DEFAULT_MAX_PARTICLES: u64 = 2_000_000;
/// Most cells a study may allow.
pub const MAX_CELLS: u64 = 1_000_000;
/// Cells a study allows when it does not say.
pub const DEFAULT_MAX_CELLS: u64 = 100_000;
/// Most replicates per variant.
pub const MAX_REPLICATES: u64 = 1000;
/// Most snapshots.
pub const MAX_SNAPSHOTS: usize = 1000;
/// Most size bins per vesicle class.
pub const MAX_SIZE_BINS: u64 = 32;
/// Most vesicles one particle stands for.
pub const MAX_WEIGHT: u64 = 1_000_000_000;
/// Most rows of the tissue's own output grid (`output_interval`).
pub const MAX_TISSUE_OUTPUT_ROWS: u64 = 100_000;

/// `[tissue]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TissueSpec {
    /// 2 or 3 (default 3).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub dimensions: Option<u64>,
    /// Extent of the box per axis (2 or 3 lengths), from the origin.
    pub size: Vec<Length>,
    /// Boundary of every face unless `faces` says otherwise (default reflective).
    #[serde(default)]
    pub boundary: Option<String>,
    /// Per-face boundaries.
    #[serde(default)]
    pub faces: FacesSpec,
    /// Transport step of vesicles.
    pub time_step: Time,
    /// Step of cell processes (responses, killing, division, death,
    /// motility); a whole multiple of `time_step` (default: `time_step`).
    #[serde(default)]
    pub cell_time_step: Option<Time>,
    /// Spacing of the tissue time series (default: the study's output grid).
    #[serde(default)]
    pub output_interval: Option<Time>,
    /// Snapshot times (t = 0 is always included).
    #[serde(default)]
    pub snapshot_times: Vec<Time>,
    /// Independent replicates per variant (default 1).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub replicates: Option<u64>,
    /// Temperature of the medium (default 37 degC), for Stokes–Einstein.
    #[serde(default)]
    pub temperature: Option<Temperature>,
    /// Viscosity of the interstitial fluid in mPa·s (default 0.69, water at 37 °C).
    #[serde(default)]
    pub viscosity_mpa_s: Option<f64>,
    /// Matrix hindrance factor on free diffusion, in (0, 1] (default 1).
    #[serde(default)]
    pub hindrance: Option<f64>,
    /// Interstitial flow per axis (default 0).
    #[serde(default)]
    pub drift: Option<Vec<Velocity>>,
    /// Surface gap within which two cells touch (default 1 µm).
    #[serde(default)]
    pub contact_gap: Option<Length>,
    /// Overlap left by relaxation, fraction of the smaller radius (default 0.1).
    #[serde(default)]
    pub overlap_tolerance: Option<f64>,
    /// Most particles alive at once (default 2e6).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub max_particles: Option<u64>,
    /// Most cells (default 1e5).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub max_cells: Option<u64>,
    /// Ligand–receptor binding strengths.
    #[serde(default)]
    pub binding: Vec<BindingSpec>,
    /// Vesicle classes of the tissue.
    #[serde(default)]
    pub vesicles: Vec<TissueVesicleSpec>,
    /// Cell types.
    pub cell_types: Vec<CellTypeSpec>,
    /// Initial cells.
    #[serde(default)]
    pub placements: Vec<PlacementSpec>,
    /// Response rules.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Release inhibitors.
    #[serde(default)]
    pub inhibitors: Vec<InhibitorSpec>,
    /// Vesicles added by the experimenter.
    #[serde(default)]
    pub additions: Vec<AdditionSpec>,
    /// Variants (default: one, `main`).
    #[serde(default)]
    pub variants: Vec<VariantSpec>,
    /// Exchange of vesicles with a body arm.
    #[serde(default)]
    pub coupling: Option<CouplingSpec>,
}

/// `[tissue.coupling]`: the tissue sits in a body arm and exchanges vesicles
/// with it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CouplingSpec {
    /// Body arm the tissue sits in (default: the only arm); `"all"` for
    /// every arm (unless an arm is named `all`).
    #[serde(default)]
    pub arm: Option<String>,
    /// Body arms that each hold their own copies of the tissue (instead of
    /// `arm`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arms: Vec<String>,
    /// Time between exchanges, a whole multiple of `time_step` (default 1 min).
    #[serde(default)]
    pub exchange_interval: Option<Time>,
    /// Where drained vesicles go: `lymph` (default) or `blood`.
    #[serde(default)]
    pub drain_to: Option<String>,
    /// Faces through which blood vesicles arrive (`x_lower` … `z_upper`).
    #[serde(default)]
    pub vascular_faces: Vec<String>,
    /// Vascular permeability to the vesicles (required with vascular faces).
    #[serde(default)]
    pub permeability: Option<Velocity>,
    /// Tissue class ↔ body class pairs.
    #[serde(default)]
    pub classes: Vec<ClassLinkSpec>,
}

/// One pair of `[tissue.coupling] classes`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassLinkSpec {
    /// A `[[tissue.vesicles]]` name.
    pub tissue: String,
    /// A `[[vesicles]]` name of the body.
    pub body: String,
}

/// `[tissue.faces]`: boundary per face.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FacesSpec {
    /// Face x = 0.
    #[serde(default)]
    pub x_lower: Option<String>,
    /// Face x = size.
    #[serde(default)]
    pub x_upper: Option<String>,
    /// Face y = 0.
    #[serde(default)]
    pub y_lower: Option<String>,
    /// Face y = size.
    #[serde(default)]
    pub y_upper: Option<String>,
    /// Face z = 0.
    #[serde(default)]
    pub z_lower: Option<String>,
    /// Face z = size.
    #[serde(default)]
    pub z_upper: Option<String>,
}

/// `[[tissue.binding]]`: how strongly a ligand binds a receptor.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    /// Ligand name (as used by vesicle classes).
    pub ligand: String,
    /// Receptor name (as used by cell types).
    pub receptor: String,
    /// Strength K: uptake probability `1 − (1 − p₀)·exp(−Σ ligand·K·receptor)`.
    pub strength: f64,
}

/// `[[tissue.vesicles]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TissueVesicleSpec {
    /// Name.
    pub name: String,
    /// Median diameter.
    pub diameter: Length,
    /// Coefficient of variation of the (log-normal) diameter (default 0).
    #[serde(default)]
    pub diameter_cv: Option<f64>,
    /// Transport bins of the size distribution (default 1 without spread, 5 with).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub size_bins: Option<u64>,
    /// Diffusion coefficient at the median size, replacing Stokes–Einstein × hindrance.
    #[serde(default)]
    pub diffusion: Option<Diffusivity>,
    /// Degradation half-life (default: stable).
    #[serde(default)]
    pub half_life: Option<Time>,
    /// Vesicles per particle (default 1: exact single-vesicle mode).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub weight: Option<u64>,
    /// Ligand densities.
    #[serde(default)]
    pub ligands: BTreeMap<String, f64>,
    /// Cargo copy numbers per vesicle.
    #[serde(default)]
    pub cargo: BTreeMap<String, CargoSpec>,
}

/// Copy numbers of one molecule per vesicle.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CargoSpec {
    /// Mean copies per vesicle (may be far below 1).
    pub mean: f64,
    /// Gamma–Poisson dispersion (variance = mean + dispersion·mean²; default 0, Poisson).
    #[serde(default)]
    pub dispersion: Option<f64>,
}

/// `[[tissue.cell_types]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CellTypeSpec {
    /// Name.
    pub name: String,
    /// Radius.
    pub radius: Length,
    /// Receptor densities.
    #[serde(default)]
    pub receptors: BTreeMap<String, f64>,
    /// Uptake probability per contact without a ligand match (default 0).
    #[serde(default)]
    pub nonspecific_uptake: Option<f64>,
    /// Most vesicles a cell takes up (default unlimited).
    #[serde(default)]
    pub uptake_capacity: Option<Count>,
    /// State variables.
    #[serde(default)]
    pub state: BTreeMap<String, StateSpec>,
    /// Secretion programme.
    #[serde(default)]
    pub secretion: Vec<SecretionSpec>,
    /// Mean time between divisions (default: no division).
    #[serde(default)]
    pub division_time: Option<Time>,
    /// State dependence of the division rate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub division_scale: Vec<MultiplierSpec>,
    /// Contact inhibition: no division when touching this many cells (default 12).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub max_neighbours: Option<u64>,
    /// Death hazard (default 0).
    #[serde(default)]
    pub death_rate: Option<Rate>,
    /// State dependence of the death hazard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub death_scale: Vec<MultiplierSpec>,
    /// State variable whose lower bound means death (e.g. viability).
    #[serde(default)]
    pub death_state: Option<String>,
    /// Random-walk diffusion coefficient of the cell (default 0).
    #[serde(default)]
    pub motility: Option<Diffusivity>,
    /// State dependence of the motility.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub motility_scale: Vec<MultiplierSpec>,
    /// Half-life of cargo held in the cell (default: kept).
    #[serde(default)]
    pub cargo_half_life: Option<Time>,
    /// Contact killing.
    #[serde(default)]
    pub kills: Vec<KillSpec>,
}

/// A state variable.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    /// Value of a new cell.
    pub initial: f64,
    /// Lower bound (default 0).
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper bound (default: the larger of 1 and the initial value).
    #[serde(default)]
    pub max: Option<f64>,
    /// Rate of return towards `initial` (default 0).
    #[serde(default)]
    pub relax: Option<Rate>,
}

/// A factor of a state variable: `max(0, 1 + gain·(state − reference))`
/// (`linear`) or `base + (saturation − base)·sⁿ/(Kⁿ + sⁿ)` (`hill`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MultiplierSpec {
    /// State variable of the cell.
    pub state: String,
    /// `linear` (default) or `hill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Slope (`linear`).
    #[serde(default)]
    pub gain: Option<f64>,
    /// State value where the factor is 1 (`linear`; default: the initial value).
    #[serde(default)]
    pub reference: Option<f64>,
    /// State at half effect, K (`hill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_max: Option<f64>,
    /// Hill coefficient n (`hill`; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hill: Option<f64>,
    /// Factor at state 0 (`hill`; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<f64>,
    /// Factor as the state grows without bound (`hill`; required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation: Option<f64>,
    /// The one cargo molecule scaled (`cargo_scale` only; default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub molecule: Option<String>,
}

/// One line of a secretion programme.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretionSpec {
    /// Vesicle class.
    pub class: String,
    /// Vesicles per cell per time.
    pub rate: Rate,
    /// State dependence of the rate.
    #[serde(default)]
    pub scale: Vec<MultiplierSpec>,
    /// State dependence of the cargo load.
    #[serde(default)]
    pub cargo_scale: Vec<MultiplierSpec>,
}

/// Contact killing.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KillSpec {
    /// Target cell type.
    pub target: String,
    /// Hazard per touching pair.
    pub rate: Rate,
    /// State dependence (e.g. cytotoxicity).
    #[serde(default)]
    pub scale: Vec<MultiplierSpec>,
}

/// `[[tissue.placements]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementSpec {
    /// `random`, `spheroid`, `monolayer` or `csv`.
    pub shape: String,
    /// Cell type (all shapes but `csv`).
    #[serde(default)]
    pub cell_type: Option<String>,
    /// Number of cells (`random`, `spheroid`).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub count: Option<u64>,
    /// Centre (`spheroid`; default the box centre).
    #[serde(default)]
    pub centre: Option<Vec<Length>>,
    /// Radius (`spheroid`).
    #[serde(default)]
    pub radius: Option<Length>,
    /// Lower corner (`random`, `monolayer`; default the box corner).
    #[serde(default)]
    pub lower: Option<Vec<Length>>,
    /// Upper corner (`random`, `monolayer`; default the box corner).
    #[serde(default)]
    pub upper: Option<Vec<Length>>,
    /// Height of cell centres (`monolayer`; default the cell radius).
    #[serde(default)]
    pub height: Option<Length>,
    /// CSV file (`csv`), relative to the study file: header `type,x,y,z`
    /// where each coordinate name ends in its unit (`x_um`, `y_um`, `z_um`).
    #[serde(default)]
    pub file: Option<String>,
}

/// `[[tissue.rules]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name.
    pub name: String,
    /// Cell type that responds.
    pub cell_type: String,
    /// Cargo molecule.
    pub cargo: String,
    /// State variable changed.
    pub state: String,
    /// `received` (default) or `held`.
    #[serde(default)]
    pub on: Option<String>,
    /// Change of the state per copy received (`received`).
    #[serde(default)]
    pub change_per_copy: Option<f64>,
    /// Change of the state per copy held per time (`held`), e.g. "-0.01 /h".
    #[serde(default)]
    pub rate_per_copy: Option<Rate>,
    /// `linear` (default), `hill` or `threshold` (the last two `held` only).
    #[serde(default)]
    pub response: Option<String>,
    /// Change of the state per time at full effect (`hill`, `threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Copies held at half effect, K (`hill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_max: Option<f64>,
    /// Hill coefficient n (`hill`; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hill: Option<f64>,
    /// Copies held from which the rule acts (`threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// `[[tissue.inhibitors]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitorSpec {
    /// Name.
    pub name: String,
    /// Cell types whose secretion is inhibited.
    pub cell_types: Vec<String>,
    /// Start time (default 0).
    #[serde(default)]
    pub start: Option<Time>,
    /// Concentration, in the same unit as `ec50`.
    pub concentration: f64,
    /// Half-maximal effective concentration.
    pub ec50: f64,
    /// Largest fractional inhibition (default 1).
    #[serde(default)]
    pub emax: Option<f64>,
    /// Hill coefficient (default 1).
    #[serde(default)]
    pub hill: Option<f64>,
}

/// `[[tissue.additions]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdditionSpec {
    /// Vesicle class.
    pub class: String,
    /// Time (default 0).
    #[serde(default)]
    pub time: Option<Time>,
    /// Number of vesicles.
    pub count: Count,
    /// Lower corner of the region (default the box).
    #[serde(default)]
    pub lower: Option<Vec<Length>>,
    /// Upper corner of the region (default the box).
    #[serde(default)]
    pub upper: Option<Vec<Length>>,
}

/// `[[tissue.variants]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Name.
    pub name: String,
    /// Rules switched off.
    #[serde(default)]
    pub without_rules: Vec<String>,
    /// Inhibitors switched off.
    #[serde(default)]
    pub without_inhibitors: Vec<String>,
    /// Factor on every addition (default 1).
    #[serde(default)]
    pub dose_scale: Option<f64>,
}
