//! Resolution of `[tissue.coupling]`: which arms' bodies hold the tissue,
//! which faces are vascular, and which tissue class is which body class.

use super::check::{Check, Res};
use super::error::{KeyPath, Locator};
use super::resolve_tissue::whole_steps;
use super::tissue_spec::CouplingSpec;
use crate::body::model::Arm;
use crate::tissue::model::*;
use crate::units::{Time, Velocity};

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
    body_arms: &[Arm],
) -> Res<(Coupling, CouplingSpec)> {
    let r = Check::new(loc);
    let arms: Vec<String> = body_arms.iter().map(|a| a.name.clone()).collect();
    let arms = &arms[..];
    let mut filled = spec.clone();
    let held = holding_arms(&r, path, spec, arms)?;
    if let [one] = held[..] {
        filled.arm = Some(arms[one].clone());
        filled.arms = Vec::new();
    } else {
        filled.arm = None;
        filled.arms = held.iter().map(|&i| arms[i].clone()).collect();
    }
    if model.domain.dim != 3 {
        return r.err(
            path,
            "coupling needs a 3-D tissue",
            Some("vascular faces need an area and blood a volume; set `dimensions = 3`".into()),
        );
    }
    let dt = model.dt;
    let interval = match spec.exchange_interval {
        Some(i) => i.si(),
        None => (60.0 / dt).round().max(1.0) * dt,
    };
    let steps = whole_steps(
        &r,
        &path.key("exchange_interval"),
        interval,
        dt,
        model.duration,
    )?;
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
    let links = class_links(&r, path, spec, model, body_classes)?;
    for &arm in &held {
        entry_per_exchange(
            &r,
            path,
            model,
            &body_arms[arm],
            &links,
            permeability,
            &vascular_faces,
            interval,
        )?;
    }
    let coupling = Coupling {
        arms: held
            .into_iter()
            .map(|arm| CoupledArm {
                arm,
                inhibitors: Vec::new(),
            })
            .collect(),
        interval,
        interval_steps: steps,
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

/// The arms whose bodies hold copies of the tissue, in study order: those
/// listed in `arms`, every arm for `arm = "all"` (unless an arm is named
/// so), the one named, or the only one.
fn holding_arms(
    r: &Check,
    path: &KeyPath,
    spec: &CouplingSpec,
    arms: &[String],
) -> Res<Vec<usize>> {
    if spec.arms.is_empty() {
        if spec.arm.as_deref() == Some("all") && !arms.iter().any(|a| a == "all") {
            if arms.is_empty() {
                return holding_arm(r, path, &CouplingSpec::default(), arms).map(|a| vec![a]);
            }
            return Ok((0..arms.len()).collect());
        }
        return holding_arm(r, path, spec, arms).map(|a| vec![a]);
    }
    if spec.arm.is_some() {
        return r.err(
            &path.key("arm"),
            "`arm` and `arms` are both given",
            Some("list every arm that holds the tissue in `arms`, and remove `arm`".into()),
        );
    }
    let mut held: Vec<usize> = Vec::new();
    for (i, a) in spec.arms.iter().enumerate() {
        let p = path.key("arms").index(i);
        let k = r.name_in(&p, a, arms, "arm")?;
        if held.contains(&k) {
            return r.err(
                &p,
                format!("arm `{a}` is listed twice"),
                Some("each arm holds its own copies of the tissue once".into()),
            );
        }
        held.push(k);
    }
    held.sort_unstable();
    Ok(held)
}

/// The arm whose body holds the tissue: named, or the only one.
fn holding_arm(r: &Check, path: &KeyPath, spec: &CouplingSpec, arms: &[String]) -> Res<usize> {
    Ok(match &spec.arm {
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
                Some(format!(
                    "add `arm = \"…\"`, one of: {}; or `arms = [\"…\", …]` (or `arm = \"all\"`) for a copy in each",
                    arms.join(", ")
                )),
            );
        }
    })
}

/// The pairs of a tissue class and the body class it is in the blood.
fn class_links(
    r: &Check,
    path: &KeyPath,
    spec: &CouplingSpec,
    model: &TissueModel,
    body_classes: &[String],
) -> Res<Vec<ClassLink>> {
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
    Ok(links)
}

/// Refuses a coupling whose vascular faces could let more than
/// `max_particles` particles into the tissue at one exchange: at most the
/// whole class in the blood crosses, the share P·A·Δt/V_blood of it, and
/// the blood holds at most every vesicle of the class given to the arm.
#[allow(clippy::too_many_arguments)]
fn entry_per_exchange(
    r: &Check,
    path: &KeyPath,
    model: &TissueModel,
    arm: &Arm,
    links: &[ClassLink],
    permeability: f64,
    faces: &[(usize, usize)],
    interval: f64,
) -> Res<()> {
    let d = &model.domain;
    let area: f64 = faces
        .iter()
        .map(|&(axis, _)| {
            (0..3)
                .filter(|&a| a != axis)
                .map(|a| d.upper[a] - d.lower[a])
                .product::<f64>()
        })
        .sum();
    let share = (permeability * area * interval / arm.body.blood_volume).min(1.0);
    for l in links {
        let (dosed, released) = arm.input_by(l.body, model.duration);
        let particles = share * (dosed + released) / model.vesicles[l.tissue].weight;
        if particles > model.max_particles as f64 {
            return r.err(
                &path.key("permeability"),
                format!(
                    "up to {particles:.3e} particles of `{}` could enter the tissue at one exchange (a share {share:.3e} of the {:.3e} vesicles given), more than max_particles = {}",
                    model.vesicles[l.tissue].name,
                    dosed + released,
                    model.max_particles
                ),
                Some("lower the permeability, or raise the tissue class's weight (vesicles per particle)".into()),
            );
        }
    }
    Ok(())
}
