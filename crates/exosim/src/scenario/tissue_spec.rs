//! The `[tissue]` section of a study file, as written, and its resolution
//! into a [`TissueModel`].
//!
//! Cell types, vesicle classes, cargo molecules, receptors, ligands and
//! rules are all named by the user; the resolver checks that every name used
//! is defined (with a "did you mean"), that quantities are in range, and
//! fills every default so that the resolved study documents the run.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::error::{KeyPath, Locator, StudyError, did_you_mean};
use crate::tissue::domain::{Boundary, Domain};
use crate::tissue::model::*;
use crate::tissue::motion::stokes_einstein;
use crate::units::{
    Count, Diffusivity, Dimension, Length, Rate, Temperature, Time, Velocity, ZERO_CELSIUS,
    format_si,
};

/// Most transport steps in a run.
pub const MAX_STEPS: f64 = 1e7;
/// Most particles a study may allow.
pub const MAX_PARTICLES: u64 = 50_000_000;
/// Most cells a study may allow.
pub const MAX_CELLS: u64 = 1_000_000;
/// Most replicates per variant.
pub const MAX_REPLICATES: u64 = 1000;
/// Most snapshots.
pub const MAX_SNAPSHOTS: usize = 1000;
/// Most size bins per vesicle class.
pub const MAX_SIZE_BINS: u64 = 32;

const BOUNDARIES: [&str; 4] = ["reflective", "absorbing", "periodic", "draining"];
const SHAPES: [&str; 4] = ["random", "spheroid", "monolayer", "csv"];
const TRIGGERS: [&str; 2] = ["received", "held"];

/// `[tissue]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TissueSpec {
    /// 2 or 3 (default 3).
    #[serde(default)]
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
    #[serde(default)]
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
    #[serde(default)]
    pub max_particles: Option<u64>,
    /// Most cells (default 1e5).
    #[serde(default)]
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
    /// Body arm the tissue sits in (default: the only arm).
    #[serde(default)]
    pub arm: Option<String>,
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
    #[serde(default)]
    pub size_bins: Option<u64>,
    /// Diffusion coefficient at the median size, replacing Stokes–Einstein × hindrance.
    #[serde(default)]
    pub diffusion: Option<Diffusivity>,
    /// Degradation half-life (default: stable).
    #[serde(default)]
    pub half_life: Option<Time>,
    /// Vesicles per particle (default 1: exact single-vesicle mode).
    #[serde(default)]
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
    /// Contact inhibition: no division when touching this many cells (default 12).
    #[serde(default)]
    pub max_neighbours: Option<u64>,
    /// Death hazard (default 0).
    #[serde(default)]
    pub death_rate: Option<Rate>,
    /// State variable whose lower bound means death (e.g. viability).
    #[serde(default)]
    pub death_state: Option<String>,
    /// Random-walk diffusion coefficient of the cell (default 0).
    #[serde(default)]
    pub motility: Option<Diffusivity>,
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

/// `max(0, 1 + gain·(state − reference))`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MultiplierSpec {
    /// State variable of the cell.
    pub state: String,
    /// Slope.
    pub gain: f64,
    /// State value where the factor is 1 (default: the initial value).
    #[serde(default)]
    pub reference: Option<f64>,
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
    #[serde(default)]
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

type Res<T> = Result<T, StudyError>;

struct R<'a, 't> {
    loc: &'a Locator<'t>,
}

impl R<'_, '_> {
    fn err<T>(&self, p: &KeyPath, msg: impl Into<String>, hint: Option<String>) -> Res<T> {
        Err(self.loc.error(p, msg, hint))
    }

    fn name_in(&self, p: &KeyPath, name: &str, names: &[String], what: &str) -> Res<usize> {
        if let Some(i) = names.iter().position(|n| n == name) {
            return Ok(i);
        }
        let hint = did_you_mean(name, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                Some(if names.is_empty() {
                    format!("no {what} is defined")
                } else {
                    format!("defined: {}", names.join(", "))
                })
            });
        self.err(p, format!("unknown {what} `{name}`"), hint)
    }

    fn choice(&self, p: &KeyPath, value: &str, options: &[&str]) -> Res<()> {
        if options.contains(&value) {
            return Ok(());
        }
        let hint = did_you_mean(value, options.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("choose one of: {}", options.join(", "))));
        self.err(p, format!("unknown value `{value}`"), hint)
    }

    fn positive(&self, p: &KeyPath, v: f64) -> Res<f64> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            self.err(p, format!("{v} must be greater than zero"), None)
        }
    }

    fn non_negative(&self, p: &KeyPath, v: f64) -> Res<f64> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            self.err(p, format!("{v} must not be negative"), None)
        }
    }

    fn finite(&self, p: &KeyPath, v: f64) -> Res<f64> {
        if v.is_finite() {
            Ok(v)
        } else {
            self.err(p, format!("{v} is not a finite number"), None)
        }
    }

    fn fraction(&self, p: &KeyPath, v: f64) -> Res<f64> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            self.err(
                p,
                format!("{v} is not a fraction"),
                Some("expected a number from 0 to 1".into()),
            )
        }
    }

    fn unique(&self, p: &KeyPath, names: &[String], what: &str) -> Res<()> {
        for (i, n) in names.iter().enumerate() {
            let ok = !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return self.err(
                    &p.index(i).key("name"),
                    format!("`{n}` is not a valid {what} name"),
                    Some("use 1 to 64 letters, digits, `_` or `-`".into()),
                );
            }
            if names[..i].contains(n) {
                return self.err(
                    &p.index(i).key("name"),
                    format!("{what} `{n}` is defined twice"),
                    None,
                );
            }
        }
        Ok(())
    }

    /// A point given as `dim` lengths, inside the box.
    fn point(&self, p: &KeyPath, v: &[Length], domain: &Domain) -> Res<[f64; 3]> {
        let dim = domain.dim;
        if v.len() != dim {
            return self.err(
                p,
                format!("{} coordinates for a {dim}-D tissue", v.len()),
                Some(format!("give {dim} lengths, such as [\"50 um\", ...]")),
            );
        }
        let mut out = [0.0; 3];
        for a in 0..dim {
            let x = v[a].si();
            if !(x.is_finite() && x >= domain.lower[a] && x <= domain.upper[a]) {
                return self.err(
                    &p.index(a),
                    format!("{} lies outside the box", format_si(x, Dimension::Length)),
                    Some(format!(
                        "the box spans 0 to {} on this axis",
                        format_si(domain.upper[a], Dimension::Length)
                    )),
                );
            }
            out[a] = x;
        }
        Ok(out)
    }

    fn corners(
        &self,
        p: &KeyPath,
        lower: &Option<Vec<Length>>,
        upper: &Option<Vec<Length>>,
        domain: &Domain,
    ) -> Res<([f64; 3], [f64; 3])> {
        let lo = match lower {
            Some(v) => self.point(&p.key("lower"), v, domain)?,
            None => domain.lower,
        };
        let hi = match upper {
            Some(v) => self.point(&p.key("upper"), v, domain)?,
            None => domain.upper,
        };
        for a in 0..domain.dim {
            if lo[a] > hi[a] {
                return self.err(
                    &p.key("upper"),
                    "the upper corner lies below the lower corner",
                    None,
                );
            }
        }
        Ok((lo, hi))
    }

    fn multipliers(
        &self,
        p: &KeyPath,
        specs: &[MultiplierSpec],
        state: &[StateVar],
    ) -> Res<Vec<Multiplier>> {
        let names: Vec<String> = state.iter().map(|s| s.name.clone()).collect();
        specs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let q = p.index(i);
                let s = self.name_in(&q.key("state"), &m.state, &names, "state variable")?;
                Ok(Multiplier {
                    state: s,
                    gain: self.finite(&q.key("gain"), m.gain)?,
                    reference: match m.reference {
                        Some(r) => self.finite(&q.key("reference"), r)?,
                        None => state[s].initial,
                    },
                })
            })
            .collect()
    }
}

/// Validates `[tissue]` (at `path`) against the study's `duration` and
/// output grid; returns the model and the section with defaults filled in.
pub fn resolve_tissue(
    spec: &TissueSpec,
    loc: &Locator,
    path: &KeyPath,
    duration: f64,
    study_output_times: &[f64],
) -> Res<(TissueModel, TissueSpec)> {
    let r = R { loc };
    let mut filled = spec.clone();

    // Domain.
    let dim = spec.dimensions.unwrap_or(3);
    if dim != 2 && dim != 3 {
        return r.err(
            &path.key("dimensions"),
            format!("{dim} dimensions"),
            Some("use 2 or 3".into()),
        );
    }
    let dim = dim as usize;
    filled.dimensions = Some(dim as u64);
    if spec.size.len() != dim {
        return r.err(
            &path.key("size"),
            format!("{} lengths for a {dim}-D tissue", spec.size.len()),
            Some(format!("give {dim} lengths, such as [\"200 um\", ...]")),
        );
    }
    let mut upper = [0.0; 3];
    for (a, l) in spec.size.iter().enumerate() {
        upper[a] = r.positive(&path.key("size").index(a), l.si())?;
        if upper[a] > 0.1 {
            return r.err(
                &path.key("size").index(a),
                "a tissue box larger than 10 cm",
                Some(
                    "the tissue engine models a piece of tissue; use the body engine for organs"
                        .into(),
                ),
            );
        }
    }
    if dim == 2 {
        upper[2] = 1.0;
    }
    let all = spec.boundary.clone().unwrap_or_else(|| "reflective".into());
    r.choice(&path.key("boundary"), &all, &BOUNDARIES)?;
    filled.boundary = Some(all.clone());
    let parse_boundary = |s: &str| match s {
        "absorbing" => Boundary::Absorbing,
        "periodic" => Boundary::Periodic,
        "draining" => Boundary::Draining,
        _ => Boundary::Reflective,
    };
    let mut faces = [[parse_boundary(&all); 2]; 3];
    let f = &spec.faces;
    for (a, side, v, key) in [
        (0, 0, &f.x_lower, "x_lower"),
        (0, 1, &f.x_upper, "x_upper"),
        (1, 0, &f.y_lower, "y_lower"),
        (1, 1, &f.y_upper, "y_upper"),
        (2, 0, &f.z_lower, "z_lower"),
        (2, 1, &f.z_upper, "z_upper"),
    ] {
        if let Some(b) = v {
            let p = path.key("faces").key(key);
            r.choice(&p, b, &BOUNDARIES)?;
            if a >= dim {
                return r.err(&p, "a z face in a 2-D tissue", None);
            }
            faces[a][side] = parse_boundary(b);
        }
    }
    let domain = Domain {
        dim,
        lower: [0.0; 3],
        upper,
        faces,
    };
    if let Err(e) = domain.validate() {
        return r.err(&path.key("faces"), e.to_string(), None);
    }

    // Time.
    let dt = r.positive(&path.key("time_step"), spec.time_step.si())?;
    if dt > duration || duration / dt > MAX_STEPS {
        return r.err(
            &path.key("time_step"),
            format!("{} steps over the study", (duration / dt).ceil()),
            Some(format!("use a step that gives 1 to {MAX_STEPS} steps")),
        );
    }
    let cell_every = match spec.cell_time_step {
        Some(c) => {
            let c = r.positive(&path.key("cell_time_step"), c.si())?;
            let k = (c / dt).round();
            if k < 1.0 || (k * dt - c).abs() > 1e-9 * c || c > duration {
                return r.err(
                    &path.key("cell_time_step"),
                    format!(
                        "{} is not a whole multiple of time_step",
                        format_si(c, Dimension::Time)
                    ),
                    Some(format!(
                        "use k × {} with k ≥ 1",
                        format_si(dt, Dimension::Time)
                    )),
                );
            }
            k as u64
        }
        None => 1,
    };
    filled.cell_time_step = Some(Time(cell_every as f64 * dt));
    let on_grid = |t: f64| ((t / dt).round() * dt).min(duration);
    let mut output_times: Vec<f64> = match spec.output_interval {
        Some(i) => {
            let i = r.positive(&path.key("output_interval"), i.si())?;
            let n = (duration / i).ceil();
            if n > 1e5 {
                return r.err(
                    &path.key("output_interval"),
                    format!("{n} output rows"),
                    Some("choose a longer interval".into()),
                );
            }
            (0..=n as usize)
                .map(|k| (k as f64 * i).min(duration))
                .collect()
        }
        None => study_output_times.to_vec(),
    };
    output_times = output_times.into_iter().map(on_grid).collect();
    output_times.sort_by(f64::total_cmp);
    output_times.dedup();
    if spec.snapshot_times.len() > MAX_SNAPSHOTS {
        return r.err(
            &path.key("snapshot_times"),
            format!("{} snapshots", spec.snapshot_times.len()),
            Some(format!("at most {MAX_SNAPSHOTS}")),
        );
    }
    let mut snapshot_times = vec![0.0];
    for (i, t) in spec.snapshot_times.iter().enumerate() {
        let t = t.si();
        if !(t.is_finite() && (0.0..=duration).contains(&t)) {
            return r.err(
                &path.key("snapshot_times").index(i),
                "outside the study",
                Some(format!(
                    "use a time from 0 to {}",
                    format_si(duration, Dimension::Time)
                )),
            );
        }
        snapshot_times.push(on_grid(t));
    }
    snapshot_times.sort_by(f64::total_cmp);
    snapshot_times.dedup();
    let replicates = spec.replicates.unwrap_or(1);
    if !(1..=MAX_REPLICATES).contains(&replicates) {
        return r.err(
            &path.key("replicates"),
            format!("{replicates} replicates"),
            Some(format!("use 1 to {MAX_REPLICATES}")),
        );
    }
    filled.replicates = Some(replicates);

    // Medium.
    let temperature = spec
        .temperature
        .map(|t| t.si())
        .unwrap_or(ZERO_CELSIUS + 37.0);
    r.positive(&path.key("temperature"), temperature)?;
    filled.temperature = Some(Temperature(temperature));
    let viscosity = r.positive(
        &path.key("viscosity_mpa_s"),
        spec.viscosity_mpa_s.unwrap_or(0.69),
    )?;
    filled.viscosity_mpa_s = Some(viscosity);
    let hindrance = spec.hindrance.unwrap_or(1.0);
    if !(hindrance > 0.0 && hindrance <= 1.0) {
        return r.err(
            &path.key("hindrance"),
            format!("{hindrance}"),
            Some("a factor in (0, 1]: 1 is free fluid, 0.3 a dense matrix".into()),
        );
    }
    filled.hindrance = Some(hindrance);
    let mut drift = [0.0; 3];
    if let Some(v) = &spec.drift {
        if v.len() != dim {
            return r.err(
                &path.key("drift"),
                format!("{} components for a {dim}-D tissue", v.len()),
                None,
            );
        }
        for (a, x) in v.iter().enumerate() {
            drift[a] = r.finite(&path.key("drift").index(a), x.si())?;
        }
    }
    filled.drift = Some((0..dim).map(|a| Velocity(drift[a])).collect());
    let contact_gap = match spec.contact_gap {
        Some(g) => r.non_negative(&path.key("contact_gap"), g.si())?,
        None => 1e-6,
    };
    filled.contact_gap = Some(Length(contact_gap));
    let overlap_tolerance = spec.overlap_tolerance.unwrap_or(0.1);
    r.fraction(&path.key("overlap_tolerance"), overlap_tolerance)?;
    filled.overlap_tolerance = Some(overlap_tolerance);
    let max_particles = spec.max_particles.unwrap_or(2_000_000);
    if !(1..=MAX_PARTICLES).contains(&max_particles) {
        return r.err(
            &path.key("max_particles"),
            format!("{max_particles}"),
            Some(format!(
                "use 1 to {MAX_PARTICLES}; raise the vesicle weight to need fewer particles"
            )),
        );
    }
    filled.max_particles = Some(max_particles);
    let max_cells = spec.max_cells.unwrap_or(100_000);
    if !(1..=MAX_CELLS).contains(&max_cells) {
        return r.err(
            &path.key("max_cells"),
            format!("{max_cells}"),
            Some(format!("use 1 to {MAX_CELLS}")),
        );
    }
    filled.max_cells = Some(max_cells);

    // Names: ligands, receptors, molecules.
    let mut ligands: Vec<String> = Vec::new();
    let mut molecules: Vec<String> = Vec::new();
    for v in &spec.vesicles {
        for l in v.ligands.keys() {
            if !ligands.contains(l) {
                ligands.push(l.clone());
            }
        }
        for m in v.cargo.keys() {
            if !molecules.contains(m) {
                molecules.push(m.clone());
            }
        }
    }
    let mut receptors: Vec<String> = Vec::new();
    for c in &spec.cell_types {
        for k in c.receptors.keys() {
            if !receptors.contains(k) {
                receptors.push(k.clone());
            }
        }
    }
    let mut binding = vec![0.0; ligands.len() * receptors.len()];
    for (i, b) in spec.binding.iter().enumerate() {
        let p = path.key("binding").index(i);
        let l = r.name_in(&p.key("ligand"), &b.ligand, &ligands, "ligand")?;
        let k = r.name_in(&p.key("receptor"), &b.receptor, &receptors, "receptor")?;
        binding[l * receptors.len() + k] = r.non_negative(&p.key("strength"), b.strength)?;
    }

    // Vesicle classes.
    let vp = path.key("vesicles");
    let class_names: Vec<String> = spec.vesicles.iter().map(|v| v.name.clone()).collect();
    r.unique(&vp, &class_names, "vesicle class")?;
    let mut vesicles = Vec::new();
    for (i, v) in spec.vesicles.iter().enumerate() {
        let p = vp.index(i);
        let diameter = r.positive(&p.key("diameter"), v.diameter.si())?;
        if diameter > 10e-6 {
            return r.err(&p.key("diameter"), "a vesicle larger than 10 µm", None);
        }
        let cv = v.diameter_cv.unwrap_or(0.0);
        if !(0.0..=3.0).contains(&cv) {
            return r.err(
                &p.key("diameter_cv"),
                format!("{cv}"),
                Some("a coefficient of variation from 0 to 3".into()),
            );
        }
        let bins = v.size_bins.unwrap_or(if cv > 0.0 { 5 } else { 1 });
        if !(1..=MAX_SIZE_BINS).contains(&bins) {
            return r.err(
                &p.key("size_bins"),
                format!("{bins} bins"),
                Some(format!("use 1 to {MAX_SIZE_BINS}")),
            );
        }
        // Equal-probability bins of the log-normal size distribution, each
        // carried at the diameter of its median quantile.
        let sigma = (1.0 + cv * cv).ln().sqrt();
        let normal = Normal::standard();
        let free_at = |d: f64| stokes_einstein(d, temperature, viscosity * 1e-3) * hindrance;
        let scale = match v.diffusion {
            Some(d) => r.positive(&p.key("diffusion"), d.si())? / free_at(diameter),
            None => 1.0,
        };
        let bin_diffusion: Vec<f64> = (0..bins)
            .map(|k| {
                let q = (k as f64 + 0.5) / bins as f64;
                let z = if bins == 1 {
                    0.0
                } else {
                    normal.inverse_cdf(q)
                };
                free_at(diameter * (sigma * z).exp()) * scale
            })
            .collect();
        let degradation = match v.half_life {
            Some(h) => std::f64::consts::LN_2 / r.positive(&p.key("half_life"), h.si())?,
            None => 0.0,
        };
        let weight = v.weight.unwrap_or(1);
        if !(1..=1_000_000_000).contains(&weight) {
            return r.err(
                &p.key("weight"),
                format!("{weight} vesicles per particle"),
                Some("a whole number from 1 (exact single vesicles) to 1e9".into()),
            );
        }
        let mut lig = vec![0.0; ligands.len()];
        for (name, &d) in &v.ligands {
            let j = ligands.iter().position(|l| l == name).unwrap_or(0);
            lig[j] = r.non_negative(&p.key("ligands").key(name), d)?;
        }
        let mut cargo = Vec::new();
        for (name, c) in &v.cargo {
            let q = p.key("cargo").key(name);
            cargo.push(CargoLoad {
                molecule: molecules.iter().position(|m| m == name).unwrap_or(0),
                mean: r.non_negative(&q.key("mean"), c.mean)?,
                dispersion: r.non_negative(&q.key("dispersion"), c.dispersion.unwrap_or(0.0))?,
            });
        }
        let f = &mut filled.vesicles[i];
        f.diameter_cv = Some(cv);
        f.size_bins = Some(bins);
        f.weight = Some(weight);
        f.diffusion = Some(Diffusivity(free_at(diameter) * scale));
        vesicles.push(TissueVesicle {
            name: v.name.clone(),
            diameter,
            bin_diffusion,
            ligands: lig,
            cargo,
            degradation,
            weight: weight as f64,
        });
    }

    // Cell types (two passes: names first, for kill targets).
    let cp = path.key("cell_types");
    let type_names: Vec<String> = spec.cell_types.iter().map(|c| c.name.clone()).collect();
    if type_names.is_empty() {
        return r.err(
            &cp,
            "a tissue needs at least one cell type",
            Some("add [[tissue.cell_types]] with a name and a radius".into()),
        );
    }
    r.unique(&cp, &type_names, "cell type")?;
    let mut cell_types = Vec::new();
    for (i, c) in spec.cell_types.iter().enumerate() {
        let p = cp.index(i);
        let radius = r.positive(&p.key("radius"), c.radius.si())?;
        if radius > 1e-3 {
            return r.err(&p.key("radius"), "a cell larger than 1 mm", None);
        }
        let mut state = Vec::new();
        for (name, s) in &c.state {
            let q = p.key("state").key(name);
            let initial = r.finite(&q.key("initial"), s.initial)?;
            let min = r.finite(&q.key("min"), s.min.unwrap_or(0.0))?;
            let max = r.finite(&q.key("max"), s.max.unwrap_or(initial.max(1.0)))?;
            if !(min <= initial && initial <= max) {
                return r.err(
                    &q,
                    format!("initial {initial} is not within [{min}, {max}]"),
                    None,
                );
            }
            let relax = match s.relax {
                Some(x) => r.non_negative(&q.key("relax"), x.si())?,
                None => 0.0,
            };
            state.push(StateVar {
                name: name.clone(),
                initial,
                min,
                max,
                relax,
            });
        }
        let mut rec = vec![0.0; receptors.len()];
        for (name, &d) in &c.receptors {
            let j = receptors.iter().position(|x| x == name).unwrap_or(0);
            rec[j] = r.non_negative(&p.key("receptors").key(name), d)?;
        }
        let mut secretion = Vec::new();
        for (j, s) in c.secretion.iter().enumerate() {
            let q = p.key("secretion").index(j);
            secretion.push(Secretion {
                class: r.name_in(&q.key("class"), &s.class, &class_names, "vesicle class")?,
                rate: r.non_negative(&q.key("rate"), s.rate.si())?,
                scale: r.multipliers(&q.key("scale"), &s.scale, &state)?,
                cargo_scale: r.multipliers(&q.key("cargo_scale"), &s.cargo_scale, &state)?,
            });
        }
        let mut kills = Vec::new();
        for (j, k) in c.kills.iter().enumerate() {
            let q = p.key("kills").index(j);
            kills.push(Killing {
                target: r.name_in(&q.key("target"), &k.target, &type_names, "cell type")?,
                rate: r.non_negative(&q.key("rate"), k.rate.si())?,
                scale: r.multipliers(&q.key("scale"), &k.scale, &state)?,
            });
        }
        let state_names: Vec<String> = state.iter().map(|s| s.name.clone()).collect();
        let death_state = match &c.death_state {
            Some(s) => Some(r.name_in(&p.key("death_state"), s, &state_names, "state variable")?),
            None => None,
        };
        let division_rate = match c.division_time {
            Some(t) => std::f64::consts::LN_2 / r.positive(&p.key("division_time"), t.si())?,
            None => 0.0,
        };
        let nonspecific = r.fraction(
            &p.key("nonspecific_uptake"),
            c.nonspecific_uptake.unwrap_or(0.0),
        )?;
        let capacity = match c.uptake_capacity {
            Some(x) => r.positive(&p.key("uptake_capacity"), x.si())?,
            None => f64::INFINITY,
        };
        let max_neighbours = c.max_neighbours.unwrap_or(12);
        let f = &mut filled.cell_types[i];
        f.nonspecific_uptake = Some(nonspecific);
        f.max_neighbours = Some(max_neighbours);
        f.death_rate = Some(c.death_rate.unwrap_or(Rate(0.0)));
        f.motility = Some(c.motility.unwrap_or(Diffusivity(0.0)));
        cell_types.push(CellType {
            name: c.name.clone(),
            radius,
            receptors: rec,
            nonspecific_uptake: nonspecific,
            uptake_capacity: capacity,
            state,
            secretion,
            division_rate,
            max_neighbours: max_neighbours.min(1000) as usize,
            death_rate: r
                .non_negative(&p.key("death_rate"), c.death_rate.map_or(0.0, |x| x.si()))?,
            death_state,
            motility: r.non_negative(&p.key("motility"), c.motility.map_or(0.0, |x| x.si()))?,
            cargo_decay: match c.cargo_half_life {
                Some(h) => {
                    std::f64::consts::LN_2 / r.positive(&p.key("cargo_half_life"), h.si())?
                }
                None => 0.0,
            },
            kills,
        });
    }

    // Placements.
    let pp = path.key("placements");
    let mut placements = Vec::new();
    let mut total_cells: u64 = 0;
    for (i, pl) in spec.placements.iter().enumerate() {
        let p = pp.index(i);
        r.choice(&p.key("shape"), &pl.shape, &SHAPES)?;
        let kind = |r: &R| -> Res<usize> {
            match &pl.cell_type {
                Some(t) => r.name_in(&p.key("cell_type"), t, &type_names, "cell type"),
                None => r.err(
                    &p,
                    format!("a `{}` placement needs a cell_type", pl.shape),
                    Some(format!("defined: {}", type_names.join(", "))),
                ),
            }
        };
        let count = |r: &R| -> Res<usize> {
            match pl.count {
                Some(n) if n <= max_cells => Ok(n as usize),
                Some(n) => r.err(
                    &p.key("count"),
                    format!("{n} cells, more than max_cells = {max_cells}"),
                    None,
                ),
                None => r.err(
                    &p,
                    format!("a `{}` placement needs a count", pl.shape),
                    None,
                ),
            }
        };
        let placement = match pl.shape.as_str() {
            "random" => {
                let (lower, upper) = r.corners(&p, &pl.lower, &pl.upper, &domain)?;
                Placement::Random {
                    cell_type: kind(&r)?,
                    count: count(&r)?,
                    lower,
                    upper,
                }
            }
            "spheroid" => {
                let centre = match &pl.centre {
                    Some(c) => r.point(&p.key("centre"), c, &domain)?,
                    None => {
                        let mut c = [0.0; 3];
                        for (a, x) in c.iter_mut().enumerate().take(dim) {
                            *x = 0.5 * domain.upper[a];
                        }
                        c
                    }
                };
                let Some(radius) = pl.radius else {
                    return r.err(&p, "a `spheroid` placement needs a radius", None);
                };
                Placement::Spheroid {
                    cell_type: kind(&r)?,
                    count: count(&r)?,
                    centre,
                    radius: r.positive(&p.key("radius"), radius.si())?,
                }
            }
            "monolayer" => {
                let (lower, upper) = r.corners(&p, &pl.lower, &pl.upper, &domain)?;
                let t = kind(&r)?;
                let height = match pl.height {
                    Some(h) => r.non_negative(&p.key("height"), h.si())?,
                    None => cell_types[t].radius,
                };
                let pitch = 2.0 * cell_types[t].radius;
                let n = ((upper[0] - lower[0]) / pitch).floor().max(1.0)
                    * ((upper[1] - lower[1]) / pitch).floor().max(1.0);
                if n > max_cells as f64 {
                    return r.err(&p, format!("{n} cells, more than max_cells"), None);
                }
                Placement::Monolayer {
                    cell_type: t,
                    lower: [lower[0], lower[1]],
                    upper: [upper[0], upper[1]],
                    height,
                }
            }
            _ => {
                let Some(file) = &pl.file else {
                    return r.err(&p, "a `csv` placement needs a file", None);
                };
                let base = Path::new(loc.file()).parent().unwrap_or(Path::new("."));
                let cells = read_cells_csv(
                    &r,
                    &p.key("file"),
                    &base.join(file),
                    &type_names,
                    &domain,
                    max_cells,
                )?;
                Placement::Listed { cells }
            }
        };
        total_cells += match &placement {
            Placement::Random { count, .. } | Placement::Spheroid { count, .. } => *count as u64,
            Placement::Listed { cells } => cells.len() as u64,
            Placement::Monolayer { .. } => 0,
        };
        placements.push(placement);
    }
    if total_cells > max_cells {
        return r.err(
            &pp,
            format!("{total_cells} cells placed, more than max_cells = {max_cells}"),
            None,
        );
    }

    // Rules.
    let rp = path.key("rules");
    let rule_names: Vec<String> = spec.rules.iter().map(|x| x.name.clone()).collect();
    r.unique(&rp, &rule_names, "rule")?;
    let mut rules = Vec::new();
    for (i, x) in spec.rules.iter().enumerate() {
        let p = rp.index(i);
        let t = r.name_in(&p.key("cell_type"), &x.cell_type, &type_names, "cell type")?;
        let m = r.name_in(&p.key("cargo"), &x.cargo, &molecules, "cargo molecule")?;
        let names: Vec<String> = cell_types[t].state.iter().map(|s| s.name.clone()).collect();
        let s = r.name_in(&p.key("state"), &x.state, &names, "state variable")?;
        let on = x.on.clone().unwrap_or_else(|| "received".into());
        r.choice(&p.key("on"), &on, &TRIGGERS)?;
        let (trigger, change) = if on == "held" {
            let Some(rate) = x.rate_per_copy else {
                return r.err(
                    &p,
                    "a `held` rule needs rate_per_copy",
                    Some("e.g. rate_per_copy = \"-0.01 /h\"".into()),
                );
            };
            (Trigger::Held, r.finite(&p.key("rate_per_copy"), rate.si())?)
        } else {
            let Some(c) = x.change_per_copy else {
                return r.err(
                    &p,
                    "a `received` rule needs change_per_copy",
                    Some("e.g. change_per_copy = -0.002".into()),
                );
            };
            (Trigger::Received, r.finite(&p.key("change_per_copy"), c)?)
        };
        filled.rules[i].on = Some(on);
        rules.push(Rule {
            name: x.name.clone(),
            cell_type: t,
            molecule: m,
            state: s,
            trigger,
            change,
        });
    }

    // Inhibitors.
    let ip = path.key("inhibitors");
    let inhibitor_names: Vec<String> = spec.inhibitors.iter().map(|x| x.name.clone()).collect();
    r.unique(&ip, &inhibitor_names, "inhibitor")?;
    let mut inhibitors = Vec::new();
    for (i, x) in spec.inhibitors.iter().enumerate() {
        let p = ip.index(i);
        let types = x
            .cell_types
            .iter()
            .enumerate()
            .map(|(j, t)| r.name_in(&p.key("cell_types").index(j), t, &type_names, "cell type"))
            .collect::<Res<Vec<_>>>()?;
        let c = r.non_negative(&p.key("concentration"), x.concentration)?;
        let ec50 = r.positive(&p.key("ec50"), x.ec50)?;
        let emax = r.fraction(&p.key("emax"), x.emax.unwrap_or(1.0))?;
        let hill = r.positive(&p.key("hill"), x.hill.unwrap_or(1.0))?;
        let start = x.start.map_or(0.0, |t| t.si());
        r.non_negative(&p.key("start"), start)?;
        let effect = emax * c.powf(hill) / (c.powf(hill) + ec50.powf(hill));
        let f = &mut filled.inhibitors[i];
        f.emax = Some(emax);
        f.hill = Some(hill);
        f.start = Some(Time(start));
        inhibitors.push(Inhibitor {
            name: x.name.clone(),
            cell_types: types,
            start,
            factor: 1.0 - effect,
        });
    }

    // Additions.
    let ap = path.key("additions");
    let mut additions = Vec::new();
    for (i, x) in spec.additions.iter().enumerate() {
        let p = ap.index(i);
        let class = r.name_in(&p.key("class"), &x.class, &class_names, "vesicle class")?;
        let time = x.time.map_or(0.0, |t| t.si());
        if !(0.0..duration).contains(&time) {
            return r.err(&p.key("time"), "outside the study", None);
        }
        let count = r.non_negative(&p.key("count"), x.count.si())?;
        if count / vesicles[class].weight > max_particles as f64 {
            return r.err(
                &p.key("count"),
                format!(
                    "{count} vesicles need more than max_particles = {max_particles} particles"
                ),
                Some("raise the class's weight (vesicles per particle)".into()),
            );
        }
        let (lower, upper) = r.corners(&p, &x.lower, &x.upper, &domain)?;
        filled.additions[i].time = Some(Time(time));
        additions.push(Addition {
            class,
            time,
            count,
            lower,
            upper,
        });
    }

    // Variants.
    let vp = path.key("variants");
    let mut variants = Vec::new();
    if spec.variants.is_empty() {
        variants.push(Variant {
            name: "main".into(),
            rules_off: Vec::new(),
            inhibitors_off: Vec::new(),
            dose_scale: 1.0,
        });
    }
    let variant_names: Vec<String> = spec.variants.iter().map(|x| x.name.clone()).collect();
    r.unique(&vp, &variant_names, "variant")?;
    for (i, x) in spec.variants.iter().enumerate() {
        let p = vp.index(i);
        for (j, n) in x.without_rules.iter().enumerate() {
            r.name_in(&p.key("without_rules").index(j), n, &rule_names, "rule")?;
        }
        for (j, n) in x.without_inhibitors.iter().enumerate() {
            r.name_in(
                &p.key("without_inhibitors").index(j),
                n,
                &inhibitor_names,
                "inhibitor",
            )?;
        }
        let dose_scale = r.non_negative(&p.key("dose_scale"), x.dose_scale.unwrap_or(1.0))?;
        filled.variants[i].dose_scale = Some(dose_scale);
        variants.push(Variant {
            name: x.name.clone(),
            rules_off: x.without_rules.clone(),
            inhibitors_off: x.without_inhibitors.clone(),
            dose_scale,
        });
    }

    let model = TissueModel {
        domain,
        dt,
        cell_every,
        drift,
        contact_gap,
        overlap_tolerance,
        ligands,
        receptors,
        binding,
        molecules,
        cell_types,
        vesicles,
        rules,
        inhibitors,
        placements,
        additions,
        variants,
        replicates: replicates as usize,
        output_times,
        snapshot_times,
        duration,
        max_particles: max_particles as usize,
        max_cells: max_cells as usize,
        coupling: None,
    };
    Ok((model, filled))
}

const FACES: [&str; 6] = [
    "x_lower", "x_upper", "y_lower", "y_upper", "z_lower", "z_upper",
];
const DRAIN_TO: [&str; 2] = ["lymph", "blood"];

/// Validates `[tissue.coupling]` (at `path`) against the resolved tissue,
/// the body's vesicle classes and its arms; returns the coupling and the
/// section with defaults filled in.
pub fn resolve_coupling(
    spec: &CouplingSpec,
    loc: &Locator,
    path: &KeyPath,
    model: &TissueModel,
    body_classes: &[String],
    arms: &[String],
) -> Res<(Coupling, CouplingSpec)> {
    let r = R { loc };
    let mut filled = spec.clone();
    let arm = match &spec.arm {
        Some(a) => r.name_in(&path.key("arm"), a, arms, "arm")?,
        None if arms.len() == 1 => 0,
        None if arms.is_empty() => {
            return r.err(
                path,
                "a coupled tissue needs a body, and the study has none",
                Some(
                    "add `[[vesicles]]` and `[[doses]]` for the body, or remove [tissue.coupling]"
                        .into(),
                ),
            );
        }
        None => {
            return r.err(
                path,
                format!(
                    "the study has {} arms: which one holds the tissue?",
                    arms.len()
                ),
                Some(format!("add `arm = \"…\"`, one of: {}", arms.join(", "))),
            );
        }
    };
    filled.arm = Some(arms[arm].clone());
    if model.domain.dim != 3 {
        return r.err(
            path,
            "coupling needs a 3-D tissue",
            Some("vascular faces need an area and blood a volume; set `dimensions = 3`".into()),
        );
    }
    let dt = model.dt;
    let interval = match spec.exchange_interval {
        Some(i) => r.positive(&path.key("exchange_interval"), i.si())?,
        None => (60.0 / dt).round().max(1.0) * dt,
    };
    let steps = (interval / dt).round();
    if steps < 1.0 || (steps * dt - interval).abs() > 1e-9 * interval || interval > model.duration {
        return r.err(
            &path.key("exchange_interval"),
            format!(
                "{} is not a whole multiple of time_step within the study",
                format_si(interval, Dimension::Time)
            ),
            Some(format!(
                "use k × {} with k ≥ 1",
                format_si(dt, Dimension::Time)
            )),
        );
    }
    filled.exchange_interval = Some(Time(interval));
    let drain = spec.drain_to.clone().unwrap_or_else(|| "lymph".into());
    r.choice(&path.key("drain_to"), &drain, &DRAIN_TO)?;
    filled.drain_to = Some(drain.clone());
    let mut vascular_faces = Vec::new();
    for (i, f) in spec.vascular_faces.iter().enumerate() {
        let p = path.key("vascular_faces").index(i);
        r.choice(&p, f, &FACES)?;
        let k = FACES.iter().position(|x| x == f).unwrap_or(0);
        let face = (k / 2, k % 2);
        if vascular_faces.contains(&face) {
            return r.err(&p, format!("face `{f}` is listed twice"), None);
        }
        vascular_faces.push(face);
    }
    let permeability = match spec.permeability {
        Some(v) => r.non_negative(&path.key("permeability"), v.si())?,
        None if vascular_faces.is_empty() => 0.0,
        None => {
            return r.err(
                path,
                "vascular faces need a permeability",
                Some("e.g. permeability = \"1e-7 cm/s\" (tumour microvessels to ~100 nm particles: 1e-8 to 1e-7 cm/s)".into()),
            );
        }
    };
    filled.permeability = Some(Velocity(permeability));
    let tissue_names: Vec<String> = model.vesicles.iter().map(|v| v.name.clone()).collect();
    let cp = path.key("classes");
    if spec.classes.is_empty() {
        return r.err(
            &cp,
            "a coupling exchanges no vesicle class",
            Some("add classes = [{ tissue = \"…\", body = \"…\" }]".into()),
        );
    }
    let mut links: Vec<ClassLink> = Vec::new();
    for (i, c) in spec.classes.iter().enumerate() {
        let p = cp.index(i);
        let tissue = r.name_in(
            &p.key("tissue"),
            &c.tissue,
            &tissue_names,
            "tissue vesicle class",
        )?;
        let body = r.name_in(&p.key("body"), &c.body, body_classes, "body vesicle class")?;
        if links.iter().any(|l| l.tissue == tissue) {
            return r.err(
                &p.key("tissue"),
                format!("tissue class `{}` is paired twice", c.tissue),
                None,
            );
        }
        if links.iter().any(|l| l.body == body) {
            return r.err(
                &p.key("body"),
                format!("body class `{}` is paired twice", c.body),
                None,
            );
        }
        links.push(ClassLink { tissue, body });
    }
    let coupling = Coupling {
        arm,
        interval,
        interval_steps: steps as u64,
        drain_to: if drain == "blood" {
            DrainTo::Blood
        } else {
            DrainTo::Lymph
        },
        vascular_faces,
        permeability,
        body_names: links.iter().map(|l| body_classes[l.body].clone()).collect(),
        links,
    };
    Ok((coupling, filled))
}

/// Reads cell positions: header `type,x_<unit>,y_<unit>[,z_<unit>]`.
fn read_cells_csv(
    r: &R,
    key: &KeyPath,
    path: &Path,
    types: &[String],
    domain: &Domain,
    max_cells: u64,
) -> Res<Vec<(usize, [f64; 3])>> {
    let shown = path.display().to_string();
    let fail = |msg: String, hint: Option<String>| r.err(key, format!("{shown}: {msg}"), hint);
    let text = match std::fs::metadata(path) {
        Ok(m) if m.len() > super::MAX_FILE_BYTES * 16 => {
            return fail("the file is too large".into(), None);
        }
        Ok(_) => std::fs::read_to_string(path)
            .map_err(|e| r.loc.error(key, format!("{shown}: {e}"), None))?,
        Err(e) => {
            return fail(
                format!("cannot read the file: {e}"),
                Some("the path is relative to the study file".into()),
            );
        }
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return fail("the file is empty".into(), None);
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let dim = domain.dim;
    let want = ["x", "y", "z"];
    if cols.len() != dim + 1 || cols[0] != "type" {
        return fail(
            format!("header `{header}`"),
            Some(format!(
                "expected `type,{}` with units in the names, e.g. x_um",
                want[..dim]
                    .iter()
                    .map(|a| format!("{a}_um"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        );
    }
    let mut scale = [0.0; 3];
    for a in 0..dim {
        let unit = cols[a + 1]
            .strip_prefix(&format!("{}_", want[a]))
            .and_then(|u| crate::units::parse(&format!("1 {u}"), Dimension::Length).ok());
        match unit {
            Some(s) => scale[a] = s,
            None => {
                return fail(
                    format!(
                        "line 1, column {}: `{}` is not `{}_<unit>`",
                        a + 2,
                        cols[a + 1],
                        want[a]
                    ),
                    Some("e.g. x_um, y_um, z_um".into()),
                );
            }
        }
    }
    let mut cells = Vec::new();
    for (i, line) in lines {
        let row = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != dim + 1 {
            return fail(
                format!("line {row}: {} fields, expected {}", fields.len(), dim + 1),
                None,
            );
        }
        let Some(t) = types.iter().position(|x| x == fields[0]) else {
            let hint = did_you_mean(fields[0], types.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"));
            return fail(
                format!("line {row}, column 1: unknown cell type `{}`", fields[0]),
                hint,
            );
        };
        let mut pos = [0.0; 3];
        for a in 0..dim {
            let v: f64 = match fields[a + 1].parse() {
                Ok(v) => v,
                Err(_) => {
                    return fail(
                        format!(
                            "line {row}, column {}: `{}` is not a number",
                            a + 2,
                            fields[a + 1]
                        ),
                        None,
                    );
                }
            };
            let x = v * scale[a];
            if !(x.is_finite() && x >= domain.lower[a] && x <= domain.upper[a]) {
                return fail(
                    format!(
                        "line {row}, column {}: the cell lies outside the box",
                        a + 2
                    ),
                    None,
                );
            }
            pos[a] = x;
        }
        cells.push((t, pos));
        if cells.len() as u64 > max_cells {
            return fail(format!("more than max_cells = {max_cells} cells"), None);
        }
    }
    Ok(cells)
}
