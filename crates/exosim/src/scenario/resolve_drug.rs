//! `[[drugs]]` and `[[arms.drugs]]`: a release-inhibiting drug resolved
//! into the [`Drug`] the engines read and the body sources it acts on
//! (docs/effects.md, *Release inhibitors*).

use super::check::{Check, Res};
use super::drug_spec::DrugQuantity;
use super::drug_spec::{DrugDoseSpec, DrugSpec};
use super::error::KeyPath;
use crate::body::model::ArmDrug;
use crate::drug::{Absorption, Disposition, Drug, DrugAction, DrugDose, DrugRoute};
use crate::units::{self, Dimension, Flow, Rate, Time, Volume};

/// Routes of a drug dose, as written.
const ROUTES: [&str; 3] = ["iv_bolus", "iv_infusion", "oral"];

/// The drug at `p` with its defaults written out (for the resolved study).
/// `weight` is the body weight (kg) of the subject a dose per kg is given
/// to; `None` where the study describes no body.
pub(super) fn resolve_drug(
    c: &Check,
    p: &KeyPath,
    spec: &DrugSpec,
    duration: f64,
    weight: Option<f64>,
) -> Res<(Drug, DrugSpec)> {
    c.identifier(&p.key("name"), &spec.name, "drug")?;
    let mut filled = spec.clone();
    let disposition = disposition(c, p, spec, &mut filled)?;
    let per = Molecules {
        molar_mass: molar_mass(c, p, spec)?,
        weight,
    };
    let doses = spec
        .doses
        .iter()
        .enumerate()
        .map(|(i, d)| dose(c, &p.key("doses").index(i), d, duration, &per))
        .collect::<Res<Vec<_>>>()?;
    let oral = doses.iter().any(|d| d.route == DrugRoute::Oral);
    let absorption = absorption(c, p, spec, oral, &mut filled)?;
    let action = action(c, p, spec, &per, &mut filled)?;
    if spec.sources.is_empty() && spec.cell_types.is_empty() && spec.markers.is_empty() {
        return c.err(
            p,
            format!("drug `{}` acts on nothing", spec.name),
            Some("name the body sources it inhibits, e.g. `sources = [\"tumour_ev\"]`, tissue `cell_types`, or the biopsy's `markers`".into()),
        );
    }
    let drug = Drug {
        name: spec.name.clone(),
        disposition,
        absorption,
        doses,
        action,
    };
    Ok((drug, filled))
}

/// The drug in an arm whose sources are named `source_names` (index =
/// the arm's source): every source whose name it lists, each name matching
/// at least one.
pub(super) fn arm_drug(
    c: &Check,
    p: &KeyPath,
    spec: &DrugSpec,
    drug: &Drug,
    source_names: &[String],
) -> Res<ArmDrug> {
    let mut sources = Vec::new();
    for (j, name) in spec.sources.iter().enumerate() {
        let matching: Vec<usize> = (0..source_names.len())
            .filter(|&i| &source_names[i] == name)
            .collect();
        if matching.is_empty() {
            c.name_in(&p.key("sources").index(j), name, source_names, "source")?;
        }
        sources.extend(matching);
    }
    sources.sort_unstable();
    sources.dedup();
    Ok(ArmDrug {
        drug: drug.clone(),
        sources,
    })
}

fn required<T>(c: &Check, p: &KeyPath, key: &str, v: Option<T>, example: &str) -> Res<T> {
    match v {
        Some(v) => Ok(v),
        None => c.err(
            p,
            format!("this drug needs `{key}`"),
            Some(format!("e.g. {key} = {example}")),
        ),
    }
}

/// One or two compartments from clearances and volumes.
fn disposition(c: &Check, p: &KeyPath, s: &DrugSpec, f: &mut DrugSpec) -> Res<Disposition> {
    let compartments = s.compartments.unwrap_or(1);
    f.compartments = Some(compartments);
    let cl: Flow = required(c, p, "clearance", s.clearance, "\"0.5 L/h\"")?;
    let clearance = c.positive_quantity(&p.key("clearance"), cl.si(), Dimension::Flow)?;
    let v: Volume = required(c, p, "volume", s.volume, "\"3 L\"")?;
    let volume = c.positive_quantity(&p.key("volume"), v.si(), Dimension::Volume)?;
    match compartments {
        1 => {
            for (key, set) in [
                (
                    "intercompartmental_clearance",
                    s.intercompartmental_clearance.is_some(),
                ),
                ("peripheral_volume", s.peripheral_volume.is_some()),
            ] {
                if set {
                    return c.err(
                        &p.key(key),
                        "a one-compartment drug has no peripheral compartment",
                        Some("set `compartments = 2`, or remove this key".into()),
                    );
                }
            }
            Ok(Disposition::OneCompartment { clearance, volume })
        }
        2 => {
            let q: Flow = required(
                c,
                p,
                "intercompartmental_clearance",
                s.intercompartmental_clearance,
                "\"1 L/h\"",
            )?;
            let v2: Volume = required(c, p, "peripheral_volume", s.peripheral_volume, "\"10 L\"")?;
            Ok(Disposition::TwoCompartment {
                clearance,
                volume,
                intercompartmental: c.positive_quantity(
                    &p.key("intercompartmental_clearance"),
                    q.si(),
                    Dimension::Flow,
                )?,
                peripheral_volume: c.positive_quantity(
                    &p.key("peripheral_volume"),
                    v2.si(),
                    Dimension::Volume,
                )?,
            })
        }
        n => c.err(
            &p.key("compartments"),
            format!("{n} compartments"),
            Some("use 1 or 2".into()),
        ),
    }
}

/// Oral absorption: required with an oral dose, refused without one.
fn absorption(
    c: &Check,
    p: &KeyPath,
    s: &DrugSpec,
    oral: bool,
    f: &mut DrugSpec,
) -> Res<Option<Absorption>> {
    if !oral {
        for (key, set) in [
            ("ka", s.ka.is_some()),
            ("bioavailability", s.bioavailability.is_some()),
        ] {
            if set {
                return c.err(
                    &p.key(key),
                    "only oral doses are absorbed",
                    Some("add an `oral` dose, or remove this key".into()),
                );
            }
        }
        return Ok(None);
    }
    let ka: Rate = required(c, p, "ka", s.ka, "\"1.2 /h\"")?;
    let bioavailability = s.bioavailability.unwrap_or(1.0);
    f.bioavailability = Some(bioavailability);
    Ok(Some(Absorption {
        ka: c.positive_quantity(&p.key("ka"), ka.si(), Dimension::Rate)?,
        bioavailability: {
            let fb = c.fraction(&p.key("bioavailability"), bioavailability)?;
            c.positive(&p.key("bioavailability"), fb)?
        },
    }))
}

/// Emax (a fraction: the release cannot go below zero), EC50, Hill.
fn action(
    c: &Check,
    p: &KeyPath,
    s: &DrugSpec,
    per: &Molecules,
    f: &mut DrugSpec,
) -> Res<DrugAction> {
    let emax = s.emax.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&emax) {
        return c.err(
            &p.key("emax"),
            format!("a release inhibitor's emax is a fraction from 0 to 1, not {emax}"),
            Some("1 stops the release entirely at high concentration".into()),
        );
    }
    let ec50 = required(c, p, "ec50", s.ec50, "\"50 nM\"")?;
    let hill = s.hill.unwrap_or(1.0);
    if !(hill.is_finite() && hill > 0.0) {
        return c.err(
            &p.key("hill"),
            format!("the Hill coefficient must be greater than zero, not {hill}"),
            Some("1 is a plain Emax model; steeper curves have 2 to 4".into()),
        );
    }
    f.emax = Some(emax);
    f.hill = Some(hill);
    Ok(DrugAction {
        emax,
        ec50: per.level(c, &p.key("ec50"), ec50)?,
        hill,
    })
}

/// What turns a drug quantity written as a mass into molecules: the
/// drug's molar mass (kg per molecule) and the subject's weight (kg).
struct Molecules {
    molar_mass: Option<f64>,
    weight: Option<f64>,
}

impl Molecules {
    /// A dose's amount in molecules: as written, a mass over the molar
    /// mass, or a mass per kg times the body weight first.
    fn amount(&self, c: &Check, p: &KeyPath, q: DrugQuantity) -> Res<f64> {
        let value = c.positive_quantity(p, q.si, q.dim)?;
        match q.dim {
            Dimension::Count => Ok(value),
            Dimension::Mass => self.over_molar_mass(c, p, value, "a dose in mass"),
            Dimension::MassPerMass => {
                let Some(weight) = self.weight else {
                    return c.err(
                        p,
                        "a dose per body weight needs the body's weight, and this study describes no body",
                        Some("add `[body]` with its `species` (25 g mouse, 70 kg human) or `weight = \"70 kg\"`, or give the dose in mg".into()),
                    );
                };
                self.over_molar_mass(c, p, value * weight, "a dose per body weight")
            }
            other => c.err(
                p,
                format!("a dose is an amount, not a {}", other.name()),
                Some("molecules (\"20 nmol\"), a mass (\"5 mg\") or a mass per body weight (\"10 mg/kg\")".into()),
            ),
        }
    }

    /// An EC50 in molecules per m³: molar as written, or a mass
    /// concentration over the molar mass.
    fn level(&self, c: &Check, p: &KeyPath, q: DrugQuantity) -> Res<f64> {
        let value = c.positive_quantity(p, q.si, q.dim)?;
        match q.dim {
            Dimension::Concentration => Ok(value),
            Dimension::MassConcentration => {
                self.over_molar_mass(c, p, value, "a concentration in mass")
            }
            other => c.err(
                p,
                format!("an EC50 is a concentration, not a {}", other.name()),
                Some("molar (\"3 uM\") or a mass per volume (\"1 ug/mL\")".into()),
            ),
        }
    }

    fn over_molar_mass(&self, c: &Check, p: &KeyPath, mass: f64, what: &str) -> Res<f64> {
        match self.molar_mass {
            Some(m) => Ok(mass / m),
            None => c.err(
                p,
                format!("{what} needs the drug's `molar_mass`"),
                Some("add e.g. `molar_mass = \"355.4 g/mol\"` to the drug, or write the amount in moles".into()),
            ),
        }
    }
}

/// The drug's `molar_mass`, when written: positive.
fn molar_mass(c: &Check, p: &KeyPath, s: &DrugSpec) -> Res<Option<f64>> {
    s.molar_mass
        .map(|m| c.positive_quantity(&p.key("molar_mass"), m.si(), units::MolarMass::DIM))
        .transpose()
}

/// One dose entry: route, amount, schedule (the vesicle doses' schedule
/// rules, [`super::check::dose_times`]).
fn dose(c: &Check, p: &KeyPath, d: &DrugDoseSpec, duration: f64, per: &Molecules) -> Res<DrugDose> {
    c.choice(&p.key("route"), &d.route, &ROUTES)?;
    let amount = per.amount(c, &p.key("amount"), d.amount)?;
    let route = match d.route.as_str() {
        "iv_infusion" => {
            let len: Time = match d.duration {
                Some(t) => t,
                None => {
                    return c.err(
                        &p.key("route"),
                        "an infusion needs a `duration`",
                        Some("add e.g. `duration = \"1 h\"`".into()),
                    );
                }
            };
            DrugRoute::IvInfusion {
                duration: c.positive_quantity(&p.key("duration"), len.si(), Dimension::Time)?,
            }
        }
        _ if d.duration.is_some() => {
            return c.err(
                &p.key("duration"),
                "only an `iv_infusion` takes a `duration`",
                None,
            );
        }
        "oral" => DrugRoute::Oral,
        _ => DrugRoute::IvBolus,
    };
    let infusion = match route {
        DrugRoute::IvInfusion { duration } => Some(duration),
        _ => None,
    };
    let times = super::check::dose_times(c, p, d.at, d.every, d.count, infusion, duration)?;
    Ok(DrugDose {
        route,
        amount,
        times,
    })
}
