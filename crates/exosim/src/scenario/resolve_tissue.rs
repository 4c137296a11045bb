//! Resolution of the `[tissue]` section into a [`TissueModel`]: one step per
//! part of the section (box, time grid, medium, limits, vesicle classes,
//! cell types, placements, rules, inhibitors, additions, variants).
//!
//! Cell types, vesicle classes, cargo molecules, receptors, ligands and
//! rules are all named by the user; the resolver checks that every name used
//! is defined (with a "did you mean"), that quantities are in range, and
//! fills every default so that the resolved study documents the run.

use std::path::Path;

use statrs::distribution::{ContinuousCDF, Normal};

use super::cells_csv::read_cells_csv;
use super::check::{Check, Res};
use super::error::{KeyPath, Locator};
use super::tissue_spec::*;
use crate::tissue::domain::{Boundary, Domain};
use crate::tissue::model::*;
use crate::tissue::motion::stokes_einstein;
use crate::units::{
    Diffusivity, Dimension, Length, Temperature, Time, Velocity, ZERO_CELSIUS, format_si,
};

const BOUNDARIES: [&str; 4] = ["reflective", "absorbing", "periodic", "draining"];
const SHAPES: [&str; 4] = ["random", "spheroid", "monolayer", "csv"];
const TRIGGERS: [&str; 2] = ["received", "held"];
const RESPONSES: [&str; 3] = ["linear", "hill", "threshold"];
const FACTOR_LAWS: [&str; 2] = ["linear", "hill"];

/// Validates `[tissue]` (at `path`) against the study's `duration` and
/// output grid; returns the model and the section with defaults filled in.
pub fn resolve_tissue(
    spec: &TissueSpec,
    loc: &Locator,
    path: &KeyPath,
    duration: f64,
    study_output_times: &[f64],
) -> Res<(TissueModel, TissueSpec)> {
    let c = Check::new(loc);
    let mut filled = spec.clone();
    let domain = domain(&c, spec, path, &mut filled)?;
    let grid = time_grid(&c, spec, path, duration, study_output_times, &mut filled)?;
    let medium = medium(&c, spec, path, domain.dim, &mut filled)?;
    let limits = limits(&c, spec, path, &mut filled)?;
    let names = Names::of(spec);
    let binding = binding(&c, spec, path, &names)?;

    let vp = path.key("vesicles");
    let class_names: Vec<String> = spec.vesicles.iter().map(|v| v.name.clone()).collect();
    c.unique(&vp, &class_names, "vesicle class")?;
    let vesicles = spec
        .vesicles
        .iter()
        .zip(filled.vesicles.iter_mut())
        .enumerate()
        .map(|(i, (v, f))| vesicle_class(&c, &vp.index(i), v, &names, &medium, f))
        .collect::<Res<Vec<_>>>()?;

    // Cell types (names first, for kill targets).
    let cp = path.key("cell_types");
    let type_names: Vec<String> = spec.cell_types.iter().map(|t| t.name.clone()).collect();
    if type_names.is_empty() {
        return c.err(
            &cp,
            "a tissue needs at least one cell type",
            Some("add [[tissue.cell_types]] with a name and a radius".into()),
        );
    }
    c.unique(&cp, &type_names, "cell type")?;
    let known = Known {
        classes: &class_names,
        vesicles: &vesicles,
        types: &type_names,
        names: &names,
    };
    let cell_types = spec
        .cell_types
        .iter()
        .zip(filled.cell_types.iter_mut())
        .enumerate()
        .map(|(i, (t, f))| cell_type(&c, &cp.index(i), t, &known, f))
        .collect::<Res<Vec<_>>>()?;

    let placements = placements(&c, spec, path, &type_names, &cell_types, &domain, &limits)?;

    let rp = path.key("rules");
    let rule_names: Vec<String> = spec.rules.iter().map(|x| x.name.clone()).collect();
    c.unique(&rp, &rule_names, "rule")?;
    let rules = spec
        .rules
        .iter()
        .zip(filled.rules.iter_mut())
        .enumerate()
        .map(|(i, (x, f))| rule(&c, &rp.index(i), x, &known, &cell_types, f))
        .collect::<Res<Vec<_>>>()?;

    let ip = path.key("inhibitors");
    let inhibitor_names: Vec<String> = spec.inhibitors.iter().map(|x| x.name.clone()).collect();
    c.unique(&ip, &inhibitor_names, "inhibitor")?;
    let inhibitors = spec
        .inhibitors
        .iter()
        .zip(filled.inhibitors.iter_mut())
        .enumerate()
        .map(|(i, (x, f))| inhibitor(&c, &ip.index(i), x, &type_names, f))
        .collect::<Res<Vec<_>>>()?;

    let ap = path.key("additions");
    let additions = spec
        .additions
        .iter()
        .zip(filled.additions.iter_mut())
        .enumerate()
        .map(|(i, (x, f))| {
            addition(
                &c,
                &ap.index(i),
                x,
                &class_names,
                &vesicles,
                &domain,
                duration,
                &limits,
                f,
            )
        })
        .collect::<Res<Vec<_>>>()?;

    let variants = variants(&c, spec, path, &rule_names, &inhibitor_names, &mut filled)?;

    let model = TissueModel {
        domain,
        dt: grid.dt,
        cell_every: grid.cell_every,
        drift: medium.drift,
        contact_gap: medium.contact_gap,
        overlap_tolerance: medium.overlap_tolerance,
        ligands: names.ligands,
        receptors: names.receptors,
        binding,
        molecules: names.molecules,
        cell_types,
        vesicles,
        rules,
        inhibitors,
        placements,
        additions,
        variants,
        replicates: grid.replicates as usize,
        output_times: grid.output_times,
        snapshot_times: grid.snapshot_times,
        duration,
        max_particles: limits.max_particles as usize,
        max_cells: limits.max_cells as usize,
        coupling: None,
    };
    super::tissue_limits::check_work(&c, path, &model)?;
    Ok((model, filled))
}

/// The box: dimensions, size and the boundary of each face.
fn domain(c: &Check, spec: &TissueSpec, path: &KeyPath, filled: &mut TissueSpec) -> Res<Domain> {
    let dim = spec.dimensions.unwrap_or(3);
    if dim != 2 && dim != 3 {
        return c.err(
            &path.key("dimensions"),
            format!("{dim} dimensions"),
            Some("use 2 or 3".into()),
        );
    }
    let dim = dim as usize;
    filled.dimensions = Some(dim as u64);
    if spec.size.len() != dim {
        return c.err(
            &path.key("size"),
            format!("{} lengths for a {dim}-D tissue", spec.size.len()),
            Some(format!("give {dim} lengths, such as [\"200 um\", ...]")),
        );
    }
    let mut upper = [0.0; 3];
    for (a, l) in spec.size.iter().enumerate() {
        upper[a] = c.positive(&path.key("size").index(a), l.si())?;
        if upper[a] > 0.1 {
            return c.err(
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
    c.choice(&path.key("boundary"), &all, &BOUNDARIES)?;
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
            c.choice(&p, b, &BOUNDARIES)?;
            if a >= dim {
                return c.err(&p, "a z face in a 2-D tissue", None);
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
        return c.err(&path.key("faces"), e.to_string(), None);
    }
    Ok(domain)
}

/// The steps, output rows, snapshots and replicates.
struct Grid {
    dt: f64,
    cell_every: u64,
    output_times: Vec<f64>,
    snapshot_times: Vec<f64>,
    replicates: u64,
}

fn time_grid(
    c: &Check,
    spec: &TissueSpec,
    path: &KeyPath,
    duration: f64,
    study_output_times: &[f64],
    filled: &mut TissueSpec,
) -> Res<Grid> {
    let dt = c.positive(&path.key("time_step"), spec.time_step.si())?;
    if dt > duration || duration / dt > MAX_STEPS {
        return c.err(
            &path.key("time_step"),
            format!("{} steps over the study", (duration / dt).ceil()),
            Some(format!("use a step that gives 1 to {MAX_STEPS} steps")),
        );
    }
    let cell_every = match spec.cell_time_step {
        Some(t) => whole_steps(c, &path.key("cell_time_step"), t.si(), dt, duration)?,
        None => 1,
    };
    filled.cell_time_step = Some(Time(cell_every as f64 * dt));
    let on_grid = |t: f64| ((t / dt).round() * dt).min(duration);
    let mut output_times: Vec<f64> = match spec.output_interval {
        Some(i) => {
            let i = c.positive(&path.key("output_interval"), i.si())?;
            let n = (duration / i).ceil();
            if n > MAX_TISSUE_OUTPUT_ROWS as f64 {
                return c.err(
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
        return c.err(
            &path.key("snapshot_times"),
            format!("{} snapshots", spec.snapshot_times.len()),
            Some(format!("at most {MAX_SNAPSHOTS}")),
        );
    }
    let mut snapshot_times = vec![0.0];
    for (i, t) in spec.snapshot_times.iter().enumerate() {
        let t = t.si();
        if !(t.is_finite() && (0.0..=duration).contains(&t)) {
            return c.err(
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
    let replicates = c.count_in(
        &path.key("replicates"),
        spec.replicates.unwrap_or(1),
        1,
        MAX_REPLICATES,
        "replicates",
    )?;
    filled.replicates = Some(replicates);
    Ok(Grid {
        dt,
        cell_every,
        output_times,
        snapshot_times,
        replicates,
    })
}

/// `interval` (at `p`) as a whole number (≥ 1) of steps `dt`, within the study.
pub(super) fn whole_steps(
    c: &Check,
    p: &KeyPath,
    interval: f64,
    dt: f64,
    duration: f64,
) -> Res<u64> {
    let interval = c.positive(p, interval)?;
    let k = (interval / dt).round();
    if k < 1.0 || (k * dt - interval).abs() > 1e-9 * interval || interval > duration {
        return c.err(
            p,
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
    Ok(k as u64)
}

/// The fluid the vesicles move in.
struct Medium {
    temperature: f64,
    viscosity: f64,
    hindrance: f64,
    drift: [f64; 3],
    contact_gap: f64,
    overlap_tolerance: f64,
}

impl Medium {
    /// Free diffusion coefficient of a vesicle of diameter `d`, m²/s.
    fn free_at(&self, d: f64) -> f64 {
        stokes_einstein(d, self.temperature, self.viscosity * 1e-3) * self.hindrance
    }
}

fn medium(
    c: &Check,
    spec: &TissueSpec,
    path: &KeyPath,
    dim: usize,
    filled: &mut TissueSpec,
) -> Res<Medium> {
    let temperature = spec
        .temperature
        .map(|t| t.si())
        .unwrap_or(ZERO_CELSIUS + 37.0);
    c.positive(&path.key("temperature"), temperature)?;
    filled.temperature = Some(Temperature(temperature));
    let viscosity = c.positive(
        &path.key("viscosity_mpa_s"),
        spec.viscosity_mpa_s.unwrap_or(0.69),
    )?;
    filled.viscosity_mpa_s = Some(viscosity);
    let hindrance = spec.hindrance.unwrap_or(1.0);
    if !(hindrance > 0.0 && hindrance <= 1.0) {
        return c.err(
            &path.key("hindrance"),
            format!("{hindrance}"),
            Some("a factor in (0, 1]: 1 is free fluid, 0.3 a dense matrix".into()),
        );
    }
    filled.hindrance = Some(hindrance);
    let mut drift = [0.0; 3];
    if let Some(v) = &spec.drift {
        if v.len() != dim {
            return c.err(
                &path.key("drift"),
                format!("{} components for a {dim}-D tissue", v.len()),
                None,
            );
        }
        for (a, x) in v.iter().enumerate() {
            drift[a] = c.finite(&path.key("drift").index(a), x.si())?;
        }
    }
    filled.drift = Some((0..dim).map(|a| Velocity(drift[a])).collect());
    let contact_gap = match spec.contact_gap {
        Some(g) => c.non_negative(&path.key("contact_gap"), g.si())?,
        None => 1e-6,
    };
    filled.contact_gap = Some(Length(contact_gap));
    let overlap_tolerance = spec.overlap_tolerance.unwrap_or(0.1);
    c.fraction(&path.key("overlap_tolerance"), overlap_tolerance)?;
    filled.overlap_tolerance = Some(overlap_tolerance);
    Ok(Medium {
        temperature,
        viscosity,
        hindrance,
        drift,
        contact_gap,
        overlap_tolerance,
    })
}

/// Most particles and cells the run may hold.
pub(super) struct Limits {
    pub max_particles: u64,
    pub max_cells: u64,
}

fn limits(c: &Check, spec: &TissueSpec, path: &KeyPath, filled: &mut TissueSpec) -> Res<Limits> {
    let max_particles = spec.max_particles.unwrap_or(DEFAULT_MAX_PARTICLES);
    if !(1..=MAX_PARTICLES).contains(&max_particles) {
        return c.err(
            &path.key("max_particles"),
            format!("{max_particles}"),
            Some(format!(
                "use 1 to {MAX_PARTICLES}; raise the vesicle weight to need fewer particles"
            )),
        );
    }
    filled.max_particles = Some(max_particles);
    let max_cells = spec.max_cells.unwrap_or(DEFAULT_MAX_CELLS);
    if !(1..=MAX_CELLS).contains(&max_cells) {
        return c.err(
            &path.key("max_cells"),
            format!("{max_cells}"),
            Some(format!("use 1 to {MAX_CELLS}")),
        );
    }
    filled.max_cells = Some(max_cells);
    Ok(Limits {
        max_particles,
        max_cells,
    })
}

/// Ligands and cargo molecules (named by the vesicle classes) and receptors
/// (named by the cell types), in order of first mention.
struct Names {
    ligands: Vec<String>,
    molecules: Vec<String>,
    receptors: Vec<String>,
}

impl Names {
    fn of(spec: &TissueSpec) -> Self {
        let mut ligands: Vec<String> = Vec::new();
        let mut molecules: Vec<String> = Vec::new();
        let mut receptors: Vec<String> = Vec::new();
        let add = |list: &mut Vec<String>, name: &String| {
            if !list.contains(name) {
                list.push(name.clone());
            }
        };
        for v in &spec.vesicles {
            for l in v.ligands.keys() {
                add(&mut ligands, l);
            }
            for m in v.cargo.keys() {
                add(&mut molecules, m);
            }
        }
        for t in &spec.cell_types {
            for k in t.receptors.keys() {
                add(&mut receptors, k);
            }
        }
        Names {
            ligands,
            molecules,
            receptors,
        }
    }
}

/// Ligand × receptor binding strengths, row-major by ligand.
fn binding(c: &Check, spec: &TissueSpec, path: &KeyPath, names: &Names) -> Res<Vec<f64>> {
    let (ligands, receptors) = (&names.ligands, &names.receptors);
    let mut binding = vec![0.0; ligands.len() * receptors.len()];
    for (i, b) in spec.binding.iter().enumerate() {
        let p = path.key("binding").index(i);
        let l = c.name_in(&p.key("ligand"), &b.ligand, ligands, "ligand")?;
        let k = c.name_in(&p.key("receptor"), &b.receptor, receptors, "receptor")?;
        binding[l * receptors.len() + k] = c.non_negative(&p.key("strength"), b.strength)?;
    }
    Ok(binding)
}

fn vesicle_class(
    c: &Check,
    p: &KeyPath,
    v: &TissueVesicleSpec,
    names: &Names,
    medium: &Medium,
    filled: &mut TissueVesicleSpec,
) -> Res<TissueVesicle> {
    let diameter = c.positive(&p.key("diameter"), v.diameter.si())?;
    if diameter > 10e-6 {
        return c.err(&p.key("diameter"), "a vesicle larger than 10 µm", None);
    }
    let cv = v.diameter_cv.unwrap_or(0.0);
    if !(0.0..=3.0).contains(&cv) {
        return c.err(
            &p.key("diameter_cv"),
            format!("{cv}"),
            Some("a coefficient of variation from 0 to 3".into()),
        );
    }
    let bins = c.count_in(
        &p.key("size_bins"),
        v.size_bins.unwrap_or(if cv > 0.0 { 5 } else { 1 }),
        1,
        MAX_SIZE_BINS,
        "bins",
    )?;
    // Equal-probability bins of the log-normal size distribution, each
    // carried at the diameter of its median quantile.
    let sigma = (1.0 + cv * cv).ln().sqrt();
    let normal = Normal::standard();
    let scale = match v.diffusion {
        Some(d) => c.positive(&p.key("diffusion"), d.si())? / medium.free_at(diameter),
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
            medium.free_at(diameter * (sigma * z).exp()) * scale
        })
        .collect();
    let degradation = match v.half_life {
        Some(h) => std::f64::consts::LN_2 / c.positive(&p.key("half_life"), h.si())?,
        None => 0.0,
    };
    let weight = v.weight.unwrap_or(1);
    if !(1..=MAX_WEIGHT).contains(&weight) {
        return c.err(
            &p.key("weight"),
            format!("{weight} vesicles per particle"),
            Some("a whole number from 1 (exact single vesicles) to 1e9".into()),
        );
    }
    let mut lig = vec![0.0; names.ligands.len()];
    for (name, &d) in &v.ligands {
        let j = names.ligands.iter().position(|l| l == name).unwrap_or(0);
        lig[j] = c.non_negative(&p.key("ligands").key(name), d)?;
    }
    let mut cargo = Vec::new();
    for (name, load) in &v.cargo {
        let q = p.key("cargo").key(name);
        cargo.push(CargoLoad {
            molecule: names.molecules.iter().position(|m| m == name).unwrap_or(0),
            mean: c.non_negative(&q.key("mean"), load.mean)?,
            dispersion: c.non_negative(&q.key("dispersion"), load.dispersion.unwrap_or(0.0))?,
        });
    }
    filled.diameter_cv = Some(cv);
    filled.size_bins = Some(bins);
    filled.weight = Some(weight);
    filled.diffusion = Some(Diffusivity(medium.free_at(diameter) * scale));
    Ok(TissueVesicle {
        name: v.name.clone(),
        diameter,
        bin_diffusion,
        ligands: lig,
        cargo,
        degradation,
        weight: weight as f64,
    })
}

/// The names a cell type, rule or addition may refer to.
struct Known<'n> {
    classes: &'n [String],
    vesicles: &'n [TissueVesicle],
    types: &'n [String],
    names: &'n Names,
}

fn cell_type(
    c: &Check,
    p: &KeyPath,
    t: &CellTypeSpec,
    known: &Known,
    filled: &mut CellTypeSpec,
) -> Res<CellType> {
    let radius = c.positive(&p.key("radius"), t.radius.si())?;
    if radius > 1e-3 {
        return c.err(&p.key("radius"), "a cell larger than 1 mm", None);
    }
    let state = state_vars(c, &p.key("state"), t)?;
    let receptors = &known.names.receptors;
    let mut rec = vec![0.0; receptors.len()];
    for (name, &d) in &t.receptors {
        let j = receptors.iter().position(|x| x == name).unwrap_or(0);
        rec[j] = c.non_negative(&p.key("receptors").key(name), d)?;
    }
    let mut secretion = Vec::new();
    for (j, s) in t.secretion.iter().enumerate() {
        let q = p.key("secretion").index(j);
        let class = c.name_in(&q.key("class"), &s.class, known.classes, "vesicle class")?;
        secretion.push(Secretion {
            class,
            rate: c.non_negative_quantity(&q.key("rate"), s.rate.si(), Dimension::Rate)?,
            scale: multipliers(c, &q.key("scale"), &s.scale, &state)?,
            cargo_scale: cargo_multipliers(
                c,
                &q.key("cargo_scale"),
                &s.cargo_scale,
                &state,
                known,
                class,
            )?,
        });
    }
    let mut kills = Vec::new();
    for (j, k) in t.kills.iter().enumerate() {
        let q = p.key("kills").index(j);
        kills.push(Killing {
            target: c.name_in(&q.key("target"), &k.target, known.types, "cell type")?,
            rate: c.non_negative_quantity(&q.key("rate"), k.rate.si(), Dimension::Rate)?,
            scale: multipliers(c, &q.key("scale"), &k.scale, &state)?,
        });
    }
    let state_names: Vec<String> = state.iter().map(|s| s.name.clone()).collect();
    let death_state = match &t.death_state {
        Some(s) => Some(c.name_in(&p.key("death_state"), s, &state_names, "state variable")?),
        None => None,
    };
    let division_rate = match t.division_time {
        Some(d) => std::f64::consts::LN_2 / c.positive(&p.key("division_time"), d.si())?,
        None => 0.0,
    };
    let nonspecific = c.fraction(
        &p.key("nonspecific_uptake"),
        t.nonspecific_uptake.unwrap_or(0.0),
    )?;
    let capacity = match t.uptake_capacity {
        Some(x) => c.positive(&p.key("uptake_capacity"), x.si())?,
        None => f64::INFINITY,
    };
    let max_neighbours = t.max_neighbours.unwrap_or(12);
    let division_scale = multipliers(c, &p.key("division_scale"), &t.division_scale, &state)?;
    let death_scale = multipliers(c, &p.key("death_scale"), &t.death_scale, &state)?;
    let motility_scale = multipliers(c, &p.key("motility_scale"), &t.motility_scale, &state)?;
    filled.nonspecific_uptake = Some(nonspecific);
    filled.max_neighbours = Some(max_neighbours);
    filled.death_rate = Some(t.death_rate.unwrap_or(crate::units::Rate(0.0)));
    filled.motility = Some(t.motility.unwrap_or(Diffusivity(0.0)));
    Ok(CellType {
        name: t.name.clone(),
        radius,
        receptors: rec,
        nonspecific_uptake: nonspecific,
        uptake_capacity: capacity,
        state,
        secretion,
        division_rate,
        division_scale,
        max_neighbours: max_neighbours.min(1000) as usize,
        death_rate: c.non_negative_quantity(
            &p.key("death_rate"),
            t.death_rate.map_or(0.0, |x| x.si()),
            Dimension::Rate,
        )?,
        death_scale,
        death_state,
        motility_scale,
        motility: c.non_negative_quantity(
            &p.key("motility"),
            t.motility.map_or(0.0, |x| x.si()),
            Dimension::Diffusivity,
        )?,
        cargo_decay: match t.cargo_half_life {
            Some(h) => std::f64::consts::LN_2 / c.positive(&p.key("cargo_half_life"), h.si())?,
            None => 0.0,
        },
        kills,
    })
}

/// The state variables of a cell type (at `p`, its `state` table).
fn state_vars(c: &Check, p: &KeyPath, t: &CellTypeSpec) -> Res<Vec<StateVar>> {
    let mut state = Vec::new();
    for (name, s) in &t.state {
        let q = p.key(name);
        let initial = c.finite(&q.key("initial"), s.initial)?;
        let min = c.finite(&q.key("min"), s.min.unwrap_or(0.0))?;
        let max = c.finite(&q.key("max"), s.max.unwrap_or(initial.max(1.0)))?;
        if !(min <= initial && initial <= max) {
            return c.err(
                &q,
                format!("initial {initial} is not within [{min}, {max}]"),
                None,
            );
        }
        let relax = match s.relax {
            Some(x) => c.non_negative_quantity(&q.key("relax"), x.si(), Dimension::Rate)?,
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
    Ok(state)
}

/// Factors of a rate on a cell's state variables (no `molecule`: that
/// belongs to `cargo_scale` alone).
fn multipliers(
    c: &Check,
    p: &KeyPath,
    specs: &[MultiplierSpec],
    state: &[StateVar],
) -> Res<Vec<Multiplier>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let q = p.index(i);
            if m.molecule.is_some() {
                return c.err(
                    &q.key("molecule"),
                    "only a cargo_scale entry scales one molecule",
                    Some(
                        "remove `molecule`, or move the entry to the secretion's cargo_scale"
                            .into(),
                    ),
                );
            }
            multiplier(c, &q, m, state)
        })
        .collect()
}

/// Factors on the cargo of a secretion of `class`: each of one molecule the
/// class carries, or of all of them.
fn cargo_multipliers(
    c: &Check,
    p: &KeyPath,
    specs: &[MultiplierSpec],
    state: &[StateVar],
    known: &Known,
    class: usize,
) -> Res<Vec<CargoMultiplier>> {
    let molecules = &known.names.molecules;
    let carried: Vec<String> = known.vesicles[class]
        .cargo
        .iter()
        .map(|l| molecules[l.molecule].clone())
        .collect();
    let class = &known.classes[class];
    specs
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let q = p.index(i);
            let molecule = match &m.molecule {
                None => None,
                Some(name) => {
                    let j = c.name_in(&q.key("molecule"), name, molecules, "cargo molecule")?;
                    if !carried.contains(name) {
                        return c.err(
                            &q.key("molecule"),
                            format!("vesicle class `{class}` carries no `{name}`"),
                            Some(format!("`{class}` carries: {}", carried.join(", "))),
                        );
                    }
                    Some(j)
                }
            };
            Ok(CargoMultiplier {
                molecule,
                factor: multiplier(c, &q, m, state)?,
            })
        })
        .collect()
}

/// One factor of a state variable (at `q`), linear or Hill.
fn multiplier(c: &Check, q: &KeyPath, m: &MultiplierSpec, state: &[StateVar]) -> Res<Multiplier> {
    let names: Vec<String> = state.iter().map(|s| s.name.clone()).collect();
    let s = c.name_in(&q.key("state"), &m.state, &names, "state variable")?;
    let form = m.response.as_deref().unwrap_or("linear");
    c.choice(&q.key("response"), form, &FACTOR_LAWS)?;
    let law = if form == "hill" {
        let Some(saturation) = m.saturation else {
            return c.err(
                q,
                "a `hill` factor needs saturation",
                Some("the factor at high state, e.g. saturation = 0 to switch off".into()),
            );
        };
        let (half_max, hill) = hill_shape(c, q, m.half_max, m.hill, "state")?;
        FactorLaw::Hill {
            half_max,
            hill,
            base: c.non_negative(&q.key("base"), m.base.unwrap_or(1.0))?,
            saturation: c.non_negative(&q.key("saturation"), saturation)?,
        }
    } else {
        let Some(gain) = m.gain else {
            return c.err(
                q,
                "a `linear` factor needs gain",
                Some(
                    "e.g. gain = 1.0 (factor proportional to the state around its initial value)"
                        .into(),
                ),
            );
        };
        FactorLaw::Linear {
            gain: c.finite(&q.key("gain"), gain)?,
            reference: match m.reference {
                Some(r) => c.finite(&q.key("reference"), r)?,
                None => state[s].initial,
            },
        }
    };
    Ok(Multiplier { state: s, law })
}

/// The half-effect point K (> 0, required) and Hill coefficient n (> 0,
/// default 1) of a Hill form at `q`; `of` names what K is measured in.
fn hill_shape(
    c: &Check,
    q: &KeyPath,
    half_max: Option<f64>,
    hill: Option<f64>,
    of: &str,
) -> Res<(f64, f64)> {
    let Some(k) = half_max else {
        return c.err(
            q,
            "a `hill` form needs half_max",
            Some(format!("the {of} at half effect, e.g. half_max = 50")),
        );
    };
    if !(k.is_finite() && k > 0.0) {
        return c.err(
            &q.key("half_max"),
            format!("half_max {k} must be greater than zero"),
            Some(format!("the {of} at half effect, a positive number")),
        );
    }
    let n = hill.unwrap_or(1.0);
    if !(n.is_finite() && n > 0.0) {
        return c.err(
            &q.key("hill"),
            format!("Hill coefficient {n} must be greater than zero"),
            Some("1 saturates like binding; 2 to 4 make a switch".into()),
        );
    }
    Ok((k, n))
}

/// A point given as `dim` lengths, inside the box.
fn point(c: &Check, p: &KeyPath, v: &[Length], domain: &Domain) -> Res<[f64; 3]> {
    let dim = domain.dim;
    if v.len() != dim {
        return c.err(
            p,
            format!("{} coordinates for a {dim}-D tissue", v.len()),
            Some(format!("give {dim} lengths, such as [\"50 um\", ...]")),
        );
    }
    let mut out = [0.0; 3];
    for a in 0..dim {
        let x = v[a].si();
        if !(x.is_finite() && x >= domain.lower[a] && x <= domain.upper[a]) {
            return c.err(
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

/// The corners of a region (the whole box by default).
fn corners(
    c: &Check,
    p: &KeyPath,
    lower: &Option<Vec<Length>>,
    upper: &Option<Vec<Length>>,
    domain: &Domain,
) -> Res<([f64; 3], [f64; 3])> {
    let lo = match lower {
        Some(v) => point(c, &p.key("lower"), v, domain)?,
        None => domain.lower,
    };
    let hi = match upper {
        Some(v) => point(c, &p.key("upper"), v, domain)?,
        None => domain.upper,
    };
    for a in 0..domain.dim {
        if lo[a] > hi[a] {
            return c.err(
                &p.key("upper"),
                "the upper corner lies below the lower corner",
                None,
            );
        }
    }
    Ok((lo, hi))
}

fn placements(
    c: &Check,
    spec: &TissueSpec,
    path: &KeyPath,
    type_names: &[String],
    cell_types: &[CellType],
    domain: &Domain,
    limits: &Limits,
) -> Res<Vec<Placement>> {
    let pp = path.key("placements");
    let mut placements = Vec::new();
    let mut total_cells: u64 = 0;
    for (i, pl) in spec.placements.iter().enumerate() {
        let placement = placement(
            c,
            &pp.index(i),
            pl,
            type_names,
            cell_types,
            domain,
            limits.max_cells,
        )?;
        total_cells += match &placement {
            Placement::Random { count, .. } | Placement::Spheroid { count, .. } => *count as u64,
            Placement::Listed { cells } => cells.len() as u64,
            Placement::Monolayer { .. } => 0,
        };
        placements.push(placement);
    }
    if total_cells > limits.max_cells {
        return c.err(
            &pp,
            format!(
                "{total_cells} cells placed, more than max_cells = {}",
                limits.max_cells
            ),
            None,
        );
    }
    Ok(placements)
}

fn placement(
    c: &Check,
    p: &KeyPath,
    pl: &PlacementSpec,
    type_names: &[String],
    cell_types: &[CellType],
    domain: &Domain,
    max_cells: u64,
) -> Res<Placement> {
    c.choice(&p.key("shape"), &pl.shape, &SHAPES)?;
    let kind = || -> Res<usize> {
        match &pl.cell_type {
            Some(t) => c.name_in(&p.key("cell_type"), t, type_names, "cell type"),
            None => c.err(
                p,
                format!("a `{}` placement needs a cell_type", pl.shape),
                Some(format!("defined: {}", type_names.join(", "))),
            ),
        }
    };
    let count = || -> Res<usize> {
        match pl.count {
            Some(n) if n <= max_cells => Ok(n as usize),
            Some(n) => c.err(
                &p.key("count"),
                format!("{n} cells, more than max_cells = {max_cells}"),
                None,
            ),
            None => c.err(p, format!("a `{}` placement needs a count", pl.shape), None),
        }
    };
    Ok(match pl.shape.as_str() {
        "random" => {
            let (lower, upper) = corners(c, p, &pl.lower, &pl.upper, domain)?;
            Placement::Random {
                cell_type: kind()?,
                count: count()?,
                lower,
                upper,
            }
        }
        "spheroid" => {
            let centre = match &pl.centre {
                Some(x) => point(c, &p.key("centre"), x, domain)?,
                None => {
                    let mut x = [0.0; 3];
                    for (a, x) in x.iter_mut().enumerate().take(domain.dim) {
                        *x = 0.5 * domain.upper[a];
                    }
                    x
                }
            };
            let Some(radius) = pl.radius else {
                return c.err(p, "a `spheroid` placement needs a radius", None);
            };
            Placement::Spheroid {
                cell_type: kind()?,
                count: count()?,
                centre,
                radius: c.positive(&p.key("radius"), radius.si())?,
            }
        }
        "monolayer" => {
            let (lower, upper) = corners(c, p, &pl.lower, &pl.upper, domain)?;
            let t = kind()?;
            let height = match pl.height {
                Some(h) => c.non_negative(&p.key("height"), h.si())?,
                None => cell_types[t].radius,
            };
            let pitch = 2.0 * cell_types[t].radius;
            let n = ((upper[0] - lower[0]) / pitch).floor().max(1.0)
                * ((upper[1] - lower[1]) / pitch).floor().max(1.0);
            if n > max_cells as f64 {
                return c.err(p, format!("{n} cells, more than max_cells"), None);
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
                return c.err(p, "a `csv` placement needs a file", None);
            };
            let base = Path::new(c.loc.file()).parent().unwrap_or(Path::new("."));
            let cells = read_cells_csv(
                c,
                &p.key("file"),
                &base.join(file),
                type_names,
                domain,
                max_cells,
            )?;
            Placement::Listed { cells }
        }
    })
}

fn rule(
    c: &Check,
    p: &KeyPath,
    x: &RuleSpec,
    known: &Known,
    cell_types: &[CellType],
    filled: &mut RuleSpec,
) -> Res<Rule> {
    let t = c.name_in(&p.key("cell_type"), &x.cell_type, known.types, "cell type")?;
    let m = c.name_in(
        &p.key("cargo"),
        &x.cargo,
        &known.names.molecules,
        "cargo molecule",
    )?;
    let names: Vec<String> = cell_types[t].state.iter().map(|s| s.name.clone()).collect();
    let s = c.name_in(&p.key("state"), &x.state, &names, "state variable")?;
    let on = x.on.clone().unwrap_or_else(|| "received".into());
    c.choice(&p.key("on"), &on, &TRIGGERS)?;
    let form = x.response.clone().unwrap_or_else(|| "linear".into());
    c.choice(&p.key("response"), &form, &RESPONSES)?;
    let (trigger, change, response) = if form == "linear" {
        let (trigger, change) = linear_rule(c, p, x, &on)?;
        (trigger, change, Response::Linear)
    } else {
        let (change, response) = shaped_rule(c, p, x, &on, &form)?;
        (Trigger::Held, change, response)
    };
    filled.on = Some(on);
    filled.response = Some(form);
    if matches!(response, Response::Hill { .. }) {
        filled.hill = x.hill.or(Some(1.0));
    }
    Ok(Rule {
        name: x.name.clone(),
        cell_type: t,
        molecule: m,
        state: s,
        trigger,
        change,
        response,
    })
}

/// A linear rule: a change per copy received, or per copy held per time.
fn linear_rule(c: &Check, p: &KeyPath, x: &RuleSpec, on: &str) -> Res<(Trigger, f64)> {
    for (key, given) in [
        ("rate", x.rate.is_some()),
        ("half_max", x.half_max.is_some()),
        ("hill", x.hill.is_some()),
        ("threshold", x.threshold.is_some()),
    ] {
        if given {
            return c.err(
                &p.key(key),
                format!("`{key}` belongs to a hill or threshold rule, and this one is linear"),
                Some(
                    "set response = \"hill\" or \"threshold\" (with on = \"held\"), or remove it"
                        .into(),
                ),
            );
        }
    }
    if on == "held" {
        let Some(rate) = x.rate_per_copy else {
            return c.err(
                p,
                "a `held` rule needs rate_per_copy",
                Some("e.g. rate_per_copy = \"-0.01 /h\"".into()),
            );
        };
        Ok((Trigger::Held, c.finite(&p.key("rate_per_copy"), rate.si())?))
    } else {
        let Some(change) = x.change_per_copy else {
            return c.err(
                p,
                "a `received` rule needs change_per_copy",
                Some("e.g. change_per_copy = -0.002".into()),
            );
        };
        Ok((
            Trigger::Received,
            c.finite(&p.key("change_per_copy"), change)?,
        ))
    }
}

/// A Hill or threshold rule: a change per time at full effect, driven by
/// the copies held. A cell's held copies are a level it senses; the copies
/// of one uptake are a lump whose size depends on the particle `weight`,
/// so a saturating function of them would depend on how the study lumps
/// vesicles: these forms are for `held` rules only.
fn shaped_rule(c: &Check, p: &KeyPath, x: &RuleSpec, on: &str, form: &str) -> Res<(f64, Response)> {
    if on != "held" {
        return c.err(
            &p.key("response"),
            format!("a `{form}` response acts on the copies a cell holds, not on each uptake"),
            Some("set on = \"held\" and give rate, the change per time at full effect".into()),
        );
    }
    for (key, given) in [
        ("rate_per_copy", x.rate_per_copy.is_some()),
        ("change_per_copy", x.change_per_copy.is_some()),
    ] {
        if given {
            return c.err(
                &p.key(key),
                format!("a `{form}` rule has no change per copy"),
                Some(
                    "give rate, the change per time at full effect, e.g. rate = \"0.5 /h\"".into(),
                ),
            );
        }
    }
    let Some(rate) = x.rate else {
        return c.err(
            p,
            format!("a `{form}` rule needs rate"),
            Some("the change per time at full effect, e.g. rate = \"0.5 /h\"".into()),
        );
    };
    let change = c.finite(&p.key("rate"), rate.si())?;
    let response = if form == "hill" {
        let (half_max, hill) = hill_shape(c, p, x.half_max, x.hill, "copies held")?;
        Response::Hill { half_max, hill }
    } else {
        let Some(threshold) = x.threshold else {
            return c.err(
                p,
                "a `threshold` rule needs threshold",
                Some("the copies held from which the rule acts, e.g. threshold = 100".into()),
            );
        };
        if !(threshold.is_finite() && threshold >= 0.0) {
            return c.err(
                &p.key("threshold"),
                format!("threshold {threshold} must not be negative"),
                Some("copies held, 0 or more".into()),
            );
        }
        Response::Threshold { threshold }
    };
    Ok((change, response))
}

fn inhibitor(
    c: &Check,
    p: &KeyPath,
    x: &InhibitorSpec,
    type_names: &[String],
    filled: &mut InhibitorSpec,
) -> Res<Inhibitor> {
    let types = x
        .cell_types
        .iter()
        .enumerate()
        .map(|(j, t)| c.name_in(&p.key("cell_types").index(j), t, type_names, "cell type"))
        .collect::<Res<Vec<_>>>()?;
    let conc = c.non_negative(&p.key("concentration"), x.concentration)?;
    let ec50 = c.positive(&p.key("ec50"), x.ec50)?;
    let emax = c.fraction(&p.key("emax"), x.emax.unwrap_or(1.0))?;
    let hill = c.positive(&p.key("hill"), x.hill.unwrap_or(1.0))?;
    let start = x.start.map_or(0.0, |t| t.si());
    c.non_negative(&p.key("start"), start)?;
    let effect = emax * conc.powf(hill) / (conc.powf(hill) + ec50.powf(hill));
    filled.emax = Some(emax);
    filled.hill = Some(hill);
    filled.start = Some(Time(start));
    Ok(Inhibitor {
        name: x.name.clone(),
        cell_types: types,
        start,
        factor: 1.0 - effect,
        drug: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn addition(
    c: &Check,
    p: &KeyPath,
    x: &AdditionSpec,
    class_names: &[String],
    vesicles: &[TissueVesicle],
    domain: &Domain,
    duration: f64,
    limits: &Limits,
    filled: &mut AdditionSpec,
) -> Res<Addition> {
    let class = c.name_in(&p.key("class"), &x.class, class_names, "vesicle class")?;
    let time = x.time.map_or(0.0, |t| t.si());
    if !(0.0..duration).contains(&time) {
        return c.err(&p.key("time"), "outside the study", None);
    }
    let count = c.non_negative(&p.key("count"), x.count.si())?;
    let max_particles = limits.max_particles;
    if count / vesicles[class].weight > max_particles as f64 {
        return c.err(
            &p.key("count"),
            format!("{count} vesicles need more than max_particles = {max_particles} particles"),
            Some("raise the class's weight (vesicles per particle)".into()),
        );
    }
    let (lower, upper) = corners(c, p, &x.lower, &x.upper, domain)?;
    filled.time = Some(Time(time));
    Ok(Addition {
        class,
        time,
        count,
        lower,
        upper,
    })
}

fn variants(
    c: &Check,
    spec: &TissueSpec,
    path: &KeyPath,
    rule_names: &[String],
    inhibitor_names: &[String],
    filled: &mut TissueSpec,
) -> Res<Vec<Variant>> {
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
    c.unique(&vp, &variant_names, "variant")?;
    for (i, x) in spec.variants.iter().enumerate() {
        let p = vp.index(i);
        for (j, n) in x.without_rules.iter().enumerate() {
            c.name_in(&p.key("without_rules").index(j), n, rule_names, "rule")?;
        }
        for (j, n) in x.without_inhibitors.iter().enumerate() {
            c.name_in(
                &p.key("without_inhibitors").index(j),
                n,
                inhibitor_names,
                "inhibitor",
            )?;
        }
        let dose_scale = c.non_negative(&p.key("dose_scale"), x.dose_scale.unwrap_or(1.0))?;
        filled.variants[i].dose_scale = Some(dose_scale);
        variants.push(Variant {
            name: x.name.clone(),
            rules_off: x.without_rules.clone(),
            inhibitors_off: x.without_inhibitors.clone(),
            dose_scale,
        });
    }
    Ok(variants)
}
