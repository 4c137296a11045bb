//! Resolution of `[[effects]]`: model parameters checked and in SI units,
//! places and classes found, defaults filled in.

use super::check::{Check, Res};
use super::effect_spec::{EffectSpec, ExposureSpec};
use super::error::{KeyPath, Locator};
use crate::body::model::{Arm, Organ, VesicleClass};
use crate::body::pbpk::Place;
use crate::coupling::exposure::{EffectModel, Measure};
use crate::effect::{DrugAction, Response, TumourGrowth, Turnover};
use crate::units::{Concentration, Dimension, Flow, Rate, Volume};

const MODELS: [&str; 3] = ["tumour_growth", "turnover", "direct"];
const MEASURES: [&str; 2] = ["concentration", "delivered"];
const ACTIONS: [&str; 4] = [
    "inhibit_production",
    "inhibit_loss",
    "stimulate_production",
    "stimulate_loss",
];
/// Keys of each model, for refusing a key that the chosen model ignores.
const TUMOUR_KEYS: [&str; 6] = ["initial_volume", "lambda0", "lambda1", "psi", "k1", "k2"];
const TURNOVER_KEYS: [&str; 6] = ["action", "baseline", "kout", "emax", "ec50", "hill"];
const DIRECT_KEYS: [&str; 4] = ["baseline", "emax", "ec50", "hill"];

/// Resolves every `[[effects]]` entry against the study's classes and arms;
/// returns the models and the entries with defaults filled in.
pub fn resolve_effects(
    specs: &[EffectSpec],
    loc: &Locator,
    vesicles: &[VesicleClass],
    arms: &[Arm],
) -> Res<(Vec<EffectModel>, Vec<EffectSpec>)> {
    let c = Check::new(loc);
    let mut models: Vec<EffectModel> = Vec::new();
    let mut filled = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let p = KeyPath::root().key("effects").index(i);
        c.identifier(&p.key("name"), &spec.name, "effect")?;
        if models.iter().any(|m| m.name == spec.name) {
            return c.err(
                &p.key("name"),
                format!("effect `{}` is defined twice", spec.name),
                None,
            );
        }
        if arms.is_empty() {
            return c.err(
                &p,
                "an effect needs the body engine",
                Some("add `[[vesicles]]` with `[[doses]]` or `[[sources]]`".into()),
            );
        }
        let (model, spec) = resolve_one(&c, &p, spec, vesicles, arms)?;
        models.push(model);
        filled.push(spec);
    }
    Ok((models, filled))
}

fn resolve_one(
    c: &Check,
    p: &KeyPath,
    spec: &EffectSpec,
    vesicles: &[VesicleClass],
    arms: &[Arm],
) -> Res<(EffectModel, EffectSpec)> {
    c.choice(&p.key("model"), &spec.model, &MODELS)?;
    refuse_foreign_keys(c, p, spec)?;
    let mut filled = spec.clone();
    let ep = p.key("exposure");
    let place = place(c, &ep, &spec.exposure, arms)?;
    let classes = classes(c, &ep, &spec.exposure, vesicles)?;
    let measure = measure(c, &ep, &spec.exposure, place)?;
    filled.exposure.vesicles = classes.iter().map(|&k| vesicles[k].name.clone()).collect();
    let response = match spec.model.as_str() {
        "tumour_growth" => tumour_growth(c, p, spec, &mut filled)?,
        "turnover" => turnover(c, p, spec, &mut filled)?,
        _ => direct(c, p, spec, &mut filled)?,
    };
    let unit = match (&spec.unit, &response) {
        (Some(u), Response::TumourGrowth(_)) if u != "mm3" => {
            return c.err(
                &p.key("unit"),
                format!("a tumour's volume is reported in mm3, not `{u}`"),
                Some("leave `unit` out".into()),
            );
        }
        (Some(u), _) => u.clone(),
        (None, Response::TumourGrowth(_)) => "mm3".into(),
        (None, _) => "score".into(),
    };
    filled.unit = Some(unit.clone());
    let model = EffectModel {
        name: spec.name.clone(),
        unit,
        place,
        classes,
        measure,
        response,
    };
    Ok((model, filled))
}

/// A key that belongs to another model is a mistake, not a no-op.
fn refuse_foreign_keys(c: &Check, p: &KeyPath, spec: &EffectSpec) -> Res<()> {
    let given = [
        ("initial_volume", spec.initial_volume.is_some()),
        ("lambda0", spec.lambda0.is_some()),
        ("lambda1", spec.lambda1.is_some()),
        ("psi", spec.psi.is_some()),
        ("k1", spec.k1.is_some()),
        ("k2", spec.k2.is_some()),
        ("action", spec.action.is_some()),
        ("baseline", spec.baseline.is_some()),
        ("kout", spec.kout.is_some()),
        ("emax", spec.emax.is_some()),
        ("ec50", spec.ec50.is_some()),
        ("hill", spec.hill.is_some()),
    ];
    let own: &[&str] = match spec.model.as_str() {
        "tumour_growth" => &TUMOUR_KEYS,
        "turnover" => &TURNOVER_KEYS,
        _ => &DIRECT_KEYS,
    };
    match given.iter().find(|(k, set)| *set && !own.contains(k)) {
        Some((k, _)) => c.err(
            &p.key(k),
            format!("`{k}` is not a parameter of a `{}` effect", spec.model),
            Some(format!("its parameters: {}", own.join(", "))),
        ),
        None => Ok(()),
    }
}

/// The exposure's place, present in every arm's body.
fn place(c: &Check, p: &KeyPath, e: &ExposureSpec, arms: &[Arm]) -> Res<Place> {
    let place = place_with_volume(c, p, &e.place)?;
    if let Place::Tissue(o) = place
        && let Some(arm) = arms
            .iter()
            .find(|a| !a.body.organs.iter().any(|x| x.organ == o))
    {
        return c.err(
            &p.key("place"),
            format!("arm `{}` has no {}", arm.name, o.name()),
            Some("give every arm's body that organ (a tumour: `[body.tumour]`)".into()),
        );
    }
    Ok(place)
}

/// A body place that has a volume (blood, lymph or an organ), named at
/// `p.place`: where an exposure or an instrument's sample is a
/// concentration.
pub(super) fn place_with_volume(c: &Check, p: &KeyPath, name: &str) -> Res<Place> {
    match name {
        "blood" => Ok(Place::Blood),
        "lymph" => Ok(Place::Lymph),
        name => match Organ::from_name(name) {
            Some(o) => Ok(Place::Tissue(o)),
            None => c.err(
                &p.key("place"),
                format!("`{name}` is not a place with a volume"),
                Some(format!(
                    "use `blood`, `lymph` or an organ: {}",
                    Organ::all_names().join(", ")
                )),
            ),
        },
    }
}

/// The classes counted: those named, or every class.
fn classes(c: &Check, p: &KeyPath, e: &ExposureSpec, v: &[VesicleClass]) -> Res<Vec<usize>> {
    let names: Vec<String> = v.iter().map(|x| x.name.clone()).collect();
    if e.vesicles.is_empty() {
        return Ok((0..v.len()).collect());
    }
    let mut out = Vec::new();
    for (i, name) in e.vesicles.iter().enumerate() {
        let k = c.name_in(&p.key("vesicles").index(i), name, &names, "vesicle class")?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// `concentration` or `delivered`, with the cargo's load and half-life.
fn measure(c: &Check, p: &KeyPath, e: &ExposureSpec, place: Place) -> Res<Measure> {
    c.choice(&p.key("measure"), &e.measure, &MEASURES)?;
    if e.measure == "concentration" {
        for (key, set) in [
            ("copies_per_vesicle", e.copies_per_vesicle.is_some()),
            ("cargo_half_life", e.cargo_half_life.is_some()),
        ] {
            if set {
                return c.err(
                    &p.key(key),
                    format!("`{key}` belongs to a `delivered` exposure"),
                    Some("use `measure = \"delivered\"`, or leave it out".into()),
                );
            }
        }
        return Ok(Measure::Concentration);
    }
    if !matches!(place, Place::Tissue(_)) {
        return c.err(
            &p.key("place"),
            "cargo is delivered into an organ's tissue",
            Some("name an organ, such as `tumour`".into()),
        );
    }
    let Some(copies) = e.copies_per_vesicle else {
        return c.err(
            p,
            "a `delivered` exposure needs `copies_per_vesicle`",
            Some("the copies of drug each vesicle carries, e.g. copies_per_vesicle = 5000".into()),
        );
    };
    let copies = c.positive(&p.key("copies_per_vesicle"), copies)?;
    let elimination = match e.cargo_half_life {
        Some(h) => {
            let h = c.positive_quantity(&p.key("cargo_half_life"), h.si(), Dimension::Time)?;
            std::f64::consts::LN_2 / h
        }
        None => 0.0,
    };
    Ok(Measure::Delivered {
        copies,
        elimination,
    })
}

/// A required quantity of the model.
fn required<T>(c: &Check, p: &KeyPath, key: &str, v: Option<T>, example: &str) -> Res<T> {
    match v {
        Some(v) => Ok(v),
        None => c.err(
            p,
            format!("this effect needs `{key}`"),
            Some(format!("e.g. {key} = {example}")),
        ),
    }
}

fn tumour_growth(c: &Check, p: &KeyPath, s: &EffectSpec, f: &mut EffectSpec) -> Res<Response> {
    let initial = required(c, p, "initial_volume", s.initial_volume, "\"100 mm3\"")?;
    let lambda0 = required(c, p, "lambda0", s.lambda0, "\"0.3 /day\"")?;
    let lambda1 = required(c, p, "lambda1", s.lambda1, "\"700 mm3/day\"")?;
    let k1 = required(c, p, "k1", s.k1, "\"1 /day\"")?;
    let k2 = required(c, p, "k2", s.k2, "\"6e-4 /nM/day\"")?;
    let psi = s.psi.unwrap_or(20.0);
    let g = TumourGrowth {
        initial: c.positive_quantity(&p.key("initial_volume"), initial.si(), Volume::DIM)?,
        lambda0: c.positive_quantity(&p.key("lambda0"), lambda0.si(), Rate::DIM)?,
        lambda1: c.positive_quantity(&p.key("lambda1"), lambda1.si(), Flow::DIM)?,
        psi: c.positive(&p.key("psi"), psi)?,
        k1: c.positive_quantity(&p.key("k1"), k1.si(), Rate::DIM)?,
        k2: c.non_negative_quantity(&p.key("k2"), k2.si(), Flow::DIM)?,
    };
    f.psi = Some(psi);
    Ok(Response::TumourGrowth(g))
}

/// Emax, EC50 and Hill of a drug action; inhibition keeps Emax within 0–1.
fn action(
    c: &Check,
    p: &KeyPath,
    s: &EffectSpec,
    f: &mut EffectSpec,
    inhibits: bool,
) -> Res<DrugAction> {
    let emax = required(c, p, "emax", s.emax, "0.8")?;
    let emax = c.finite(&p.key("emax"), emax)?;
    if inhibits && !(0.0..=1.0).contains(&emax) {
        return c.err(
            &p.key("emax"),
            format!("an inhibition's emax is a fraction from 0 to 1, not {emax}"),
            Some("1 stops the rate entirely".into()),
        );
    }
    let ec50: Concentration = required(c, p, "ec50", s.ec50, "\"1 nM\"")?;
    let hill = s.hill.unwrap_or(1.0);
    f.hill = Some(hill);
    Ok(DrugAction {
        emax,
        ec50: c.positive_quantity(&p.key("ec50"), ec50.si(), Concentration::DIM)?,
        hill: c.positive(&p.key("hill"), hill)?,
    })
}

fn turnover(c: &Check, p: &KeyPath, s: &EffectSpec, f: &mut EffectSpec) -> Res<Response> {
    let word = required(c, p, "action", s.action.clone(), "\"inhibit_production\"")?;
    c.choice(&p.key("action"), &word, &ACTIONS)?;
    let kind = match word.as_str() {
        "inhibit_production" => Turnover::InhibitProduction,
        "inhibit_loss" => Turnover::InhibitLoss,
        "stimulate_production" => Turnover::StimulateProduction,
        _ => Turnover::StimulateLoss,
    };
    let baseline = required(c, p, "baseline", s.baseline, "100")?;
    let baseline = c.positive(&p.key("baseline"), baseline)?;
    let kout: Rate = required(c, p, "kout", s.kout, "\"0.5 /day\"")?;
    let kout = c.positive_quantity(&p.key("kout"), kout.si(), Rate::DIM)?;
    let inhibits = matches!(kind, Turnover::InhibitProduction | Turnover::InhibitLoss);
    let action = action(c, p, s, f, inhibits)?;
    Ok(Response::Turnover {
        kind,
        kin: baseline * kout,
        kout,
        action,
    })
}

fn direct(c: &Check, p: &KeyPath, s: &EffectSpec, f: &mut EffectSpec) -> Res<Response> {
    let baseline = required(c, p, "baseline", s.baseline, "100")?;
    let baseline = c.finite(&p.key("baseline"), baseline)?;
    let action = action(c, p, s, f, false)?;
    Ok(Response::Direct { baseline, action })
}
