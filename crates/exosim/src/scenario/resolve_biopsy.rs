//! Resolution of the `[biopsy]` section into a [`BiopsyStudy`].

use std::sync::Arc;

use super::biopsy_spec::*;
use super::error::{KeyPath, Locator, StudyError, did_you_mean};
use super::model::Study;
use crate::biopsy::blood_modes::BloodModes;
use crate::biopsy::burden::Extrapolation;
use crate::biopsy::growth::{self, BranchingProcess, BranchingStart, GrowthLaw};
use crate::biopsy::kinetics::{BloodKinetics, Shedding};
use crate::biopsy::measurement::{
    Assay, BloodDraw, Isolation, LIPOPROTEINS_PER_M3, Protocol, Sampling,
};
use crate::biopsy::screening::{BurdenState, ScreeningModel, ThresholdRule, Tumour, Variability};
use crate::biopsy::study::{BiopsyStudy, BiopsyTest, BodyKineticsReport, TissueBurdenSource};
use crate::coupling::blood_modes;
use crate::units::{Concentration, Count, Length, Rate, Time, Volume};
use crate::units::{DAY, MILLILITRE, YEAR};

/// Largest cohort a study may ask for (the screening loop streams, but the
/// threshold and ROC keep scores in memory).
pub const MAX_COHORT: u64 = 10_000_000;
/// Most points on a detection curve.
pub const MAX_CURVE_POINTS: u32 = 1000;
/// Most tests compared in one study.
pub const MAX_TESTS: usize = 100;

const ISOLATIONS: [&str; 5] = [
    "none",
    "ultracentrifugation",
    "precipitation",
    "size_exclusion",
    "immunocapture",
];
const ASSAYS: [&str; 5] = ["elisa", "nta", "digital_plasmonic", "spr", "spr_nanohole"];
const GROWTHS: [&str; 5] = ["exponential", "logistic", "gompertz", "branching", "tissue"];
/// Largest share of Km that the background load of a macrophage site may
/// reach for the body engine's kinetics to be used in their linear limit
/// (the Michaelis–Menten flux is then within 1 % of Vmax·C/Km).
pub const MAX_SATURATION: f64 = 0.01;
/// Plasma share of blood used for the default plasma volume of a body.
pub const PLASMA_SHARE_OF_BLOOD: f64 = 0.55;
/// Largest switch size of a branching start: the stochastic phase takes
/// about switch · (b + d)/(b − d) events per individual.
pub const MAX_SWITCH_CELLS: u64 = 1_000_000;

type Res<T> = Result<T, StudyError>;

fn err<T>(loc: &Locator, p: &KeyPath, msg: String, hint: Option<String>) -> Res<T> {
    Err(loc.error(p, msg, hint))
}

/// Validates `[biopsy]` (at `path`) into a runnable study, with the section
/// as resolved: every default written out, for the resolved study. `study`
/// is the rest of the resolved study: its body (arms, vesicle classes) and
/// its `[tissue]`, which the marker and the tumour may take their kinetics
/// and burden from.
pub fn resolve_biopsy(
    spec: &BiopsySpec,
    loc: &Locator,
    path: &KeyPath,
    study: &Study,
) -> Res<(BiopsyStudy, BiopsySpec)> {
    let choice = |p: &KeyPath, value: &str, options: &[&str]| -> Res<()> {
        if options.contains(&value) {
            return Ok(());
        }
        let hint = did_you_mean(value, options.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("choose one of: {}", options.join(", "))));
        err(loc, p, format!("unknown value `{value}`"), hint)
    };
    let fraction = |p: &KeyPath, v: f64| -> Res<f64> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            err(
                loc,
                p,
                format!("{v} is not a fraction"),
                Some("expected a number from 0 to 1".into()),
            )
        }
    };
    let positive = |p: &KeyPath, v: f64| -> Res<f64> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            err(loc, p, format!("{v} must be greater than zero"), None)
        }
    };
    let non_negative = |p: &KeyPath, v: f64| -> Res<f64> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            err(loc, p, format!("{v} must not be negative"), None)
        }
    };
    let cv = |p: &KeyPath, v: Option<f64>| -> Res<f64> {
        match v {
            Some(x) if !(x.is_finite() && (0.0..=10.0).contains(&x)) => err(
                loc,
                p,
                format!("CV {x} is out of range"),
                Some("a coefficient of variation from 0 to 10 (0.5 = 50 %)".into()),
            ),
            Some(x) => Ok(x),
            None => Ok(0.0),
        }
    };

    let cohort = spec.cohort.unwrap_or(10_000);
    let healthy_cohort = spec.healthy_cohort.unwrap_or(10_000);
    for (key, n) in [("cohort", cohort), ("healthy_cohort", healthy_cohort)] {
        if !(10..=MAX_COHORT).contains(&n) {
            return err(
                loc,
                &path.key(key),
                format!("{n} individuals"),
                Some(format!("use 10 to {MAX_COHORT}")),
            );
        }
    }
    let deterministic = spec.deterministic.unwrap_or(false);

    // Tumour.
    let tp = path.key("tumour");
    let t = &spec.tumour;
    choice(&tp.key("growth"), &t.growth, &GROWTHS)?;
    let cells_per_m3 = match t.cells_per_volume {
        Some(c) => positive(&tp.key("cells_per_volume"), c.si())?,
        None => growth::CELLS_PER_M3,
    };
    let branching = t.growth == "branching";
    let from_tissue = t.growth == "tissue";
    // Keys that belong to another kind of growth.
    let law_keys = [
        ("doubling_time", t.doubling_time.is_some()),
        ("initial_diameter", t.initial_diameter.is_some()),
        ("capacity_diameter", t.capacity_diameter.is_some()),
    ];
    let branching_keys = [
        ("birth_rate", t.birth_rate.is_some()),
        ("death_rate", t.death_rate.is_some()),
        ("switch_cells", t.switch_cells.is_some()),
    ];
    let tissue_keys = [
        ("cell_type", t.cell_type.is_some()),
        ("variant", t.variant.is_some()),
        (
            "cells_per_simulated_cell",
            t.cells_per_simulated_cell.is_some(),
        ),
        ("extrapolate", t.extrapolate.is_some()),
    ];
    let foreign: Vec<(&str, bool)> = if branching {
        [&law_keys[..], &tissue_keys[..]].concat()
    } else if from_tissue {
        [&law_keys[..], &branching_keys[..]].concat()
    } else {
        [&branching_keys[..], &tissue_keys[..]].concat()
    };
    if let Some((key, _)) = foreign.iter().find(|(_, given)| *given) {
        let hint = if branching {
            "a branching tumour starts from one cell and grows at birth_rate − death_rate; remove it"
        } else if from_tissue {
            "a tumour from the tissue engine takes its size from the tissue's cell count; remove it"
        } else if tissue_keys.iter().any(|(k, _)| k == key) {
            "cell_type, variant, cells_per_simulated_cell and extrapolate belong to growth = \"tissue\"; remove it"
        } else {
            "birth_rate, death_rate and switch_cells belong to growth = \"branching\"; remove it"
        };
        return err(
            loc,
            &tp.key(key),
            format!("`{key}` does not apply to `{}` growth", t.growth),
            Some(hint.into()),
        );
    }
    let mut tissue_source = None;
    let (law, initial_cells, initial_diameter, start) = if from_tissue {
        tissue_source = Some(tissue_burden_source(
            t,
            loc,
            &tp,
            &spec.screening,
            path,
            study,
        )?);
        // The size comes from the burden attached at run time
        // (`biopsy::study::run`); this law is never evaluated.
        (GrowthLaw::Exponential { rate: 0.0 }, 1.0, None, None)
    } else if branching {
        let needed = |key: &str, v: Option<Rate>| -> Res<f64> {
            match v {
                Some(r) => non_negative(&tp.key(key), r.si()),
                None => err(
                    loc,
                    &tp.key("growth"),
                    format!("`branching` growth needs `{key}`"),
                    Some(
                        "add `birth_rate` and `death_rate`, e.g. \"0.02 /day\" and \"0.01 /day\""
                            .into(),
                    ),
                ),
            }
        };
        let birth = needed("birth_rate", t.birth_rate)?;
        let death = needed("death_rate", t.death_rate)?;
        if birth <= death {
            return err(
                loc,
                &tp.key("birth_rate"),
                "every lineage dies out when the birth rate does not exceed the death rate".into(),
                Some("a growing tumour needs birth_rate > death_rate".into()),
            );
        }
        let switch_cells = t.switch_cells.unwrap_or(growth::SWITCH_CELLS);
        if !(1..=MAX_SWITCH_CELLS).contains(&switch_cells) {
            return err(
                loc,
                &tp.key("switch_cells"),
                format!("{switch_cells} cells"),
                Some(format!("use 1 to {MAX_SWITCH_CELLS}")),
            );
        }
        if spec.deterministic == Some(true) {
            return err(
                loc,
                &path.key("deterministic"),
                "a branching tumour is stochastic".into(),
                Some(
                    "use an exponential, logistic or Gompertz tumour in a deterministic study"
                        .into(),
                ),
            );
        }
        let start = BranchingStart {
            process: BranchingProcess { birth, death },
            switch_cells,
        };
        (
            GrowthLaw::Exponential {
                rate: birth - death,
            },
            1.0,
            None,
            Some(start),
        )
    } else {
        let Some(doubling) = t.doubling_time else {
            return err(
                loc,
                &tp.key("growth"),
                format!("`{}` growth needs `doubling_time`", t.growth),
                Some("add `doubling_time`, e.g. \"120 day\"".into()),
            );
        };
        let doubling = positive(&tp.key("doubling_time"), doubling.si())?;
        let rate = growth::rate_from_doubling_time(doubling);
        let initial_diameter = match t.initial_diameter {
            Some(d) => positive(&tp.key("initial_diameter"), d.si())?,
            None => 1e-3,
        };
        let initial_cells = growth::cells_for_diameter(initial_diameter, cells_per_m3).max(1.0);
        let capacity = |cap: Option<f64>| -> Res<f64> {
            let Some(d) = cap else {
                return err(
                    loc,
                    &tp.key("growth"),
                    format!("`{}` growth needs a plateau", t.growth),
                    Some("add `capacity_diameter`, e.g. \"15 cm\"".into()),
                );
            };
            let c = growth::cells_for_diameter(
                positive(&tp.key("capacity_diameter"), d)?,
                cells_per_m3,
            );
            if c <= initial_cells {
                return err(
                    loc,
                    &tp.key("capacity_diameter"),
                    "the plateau is not larger than the initial tumour".into(),
                    None,
                );
            }
            Ok(c)
        };
        let law = match t.growth.as_str() {
            "exponential" => GrowthLaw::Exponential { rate },
            "logistic" => GrowthLaw::Logistic {
                rate,
                capacity: capacity(t.capacity_diameter.map(|d| d.si()))?,
            },
            _ => {
                // Gompertz: the initial doubling time sets the initial specific
                // growth rate r·ln(K/N0).
                let k = capacity(t.capacity_diameter.map(|d| d.si()))?;
                GrowthLaw::Gompertz {
                    rate: rate / (k / initial_cells).ln(),
                    capacity: k,
                }
            }
        };
        (law, initial_cells, Some(initial_diameter), None)
    };

    // Marker.
    let mp = path.key("marker");
    let m = &spec.marker;
    let sampling = match m.sampling.as_deref().unwrap_or("counts") {
        "counts" => Sampling::Counts,
        "continuous" => Sampling::Continuous,
        other => {
            choice(&mp.key("sampling"), other, &["counts", "continuous"])?;
            unreachable!("choice rejects unknown values")
        }
    };
    let shedding = Shedding {
        per_live_cell: non_negative(&mp.key("per_live_cell"), m.per_live_cell.si())?,
        per_dying_cell: non_negative(
            &mp.key("per_dying_cell"),
            m.per_dying_cell.map(|c| c.si()).unwrap_or(0.0),
        )?,
        // A branching tumour's cells die at its death rate unless told otherwise.
        death_rate: non_negative(
            &mp.key("death_rate"),
            m.death_rate
                .map(|r| r.si())
                .or(start.map(|b| b.process.death))
                .unwrap_or(0.0),
        )?,
        fraction_to_blood: fraction(&mp.key("fraction_to_blood"), m.fraction_to_blood)?,
    };
    let background_conc = non_negative(
        &mp.key("background_concentration"),
        m.background_concentration.si(),
    )?;
    let (plasma_volume, elimination_rate, blood_modes, blood_kinetics) = match (
        &m.half_life,
        &m.body_vesicles,
    ) {
        (Some(h), None) => {
            if m.body_arm.is_some() {
                return err(
                    loc,
                    &mp.key("body_arm"),
                    "`body_arm` goes with `body_vesicles`".into(),
                    Some("remove it, or replace `half_life` by `body_vesicles`".into()),
                );
            }
            let plasma_volume = positive(
                &mp.key("plasma_volume"),
                m.plasma_volume
                    .map(|v| v.si())
                    .unwrap_or(3000.0 * MILLILITRE),
            )?;
            let k = BloodKinetics::rate_from_half_life(positive(&mp.key("half_life"), h.si())?);
            (plasma_volume, k, None, None)
        }
        (None, Some(class)) => {
            let (modes, plasma, report) =
                body_kinetics(m, class, background_conc, loc, &mp, study)?;
            (
                plasma,
                modes.effective_rate,
                Some(Arc::new(modes)),
                Some(report),
            )
        }
        (Some(_), Some(_)) => {
            return err(
                    loc,
                    &mp.key("body_vesicles"),
                    "give either `half_life` or `body_vesicles`, not both".into(),
                    Some(
                        "`half_life` is first-order elimination; `body_vesicles` takes the body engine's blood kinetics"
                            .into(),
                    ),
                );
        }
        (None, None) => {
            return err(
                    loc,
                    &mp,
                    "the marker needs its blood elimination".into(),
                    Some(
                        "add `half_life`, e.g. \"7 min\", or `body_vesicles` naming a `[[vesicles]]` class of the study"
                            .into(),
                    ),
                );
        }
    };
    let blood = BloodKinetics {
        background: elimination_rate * background_conc * plasma_volume,
        elimination_rate,
        plasma_volume,
    };

    let vp = path.key("variability");
    let variability = Variability {
        background_cv: cv(&vp.key("background_cv"), spec.variability.background_cv)?,
        shedding_cv: cv(&vp.key("shedding_cv"), spec.variability.shedding_cv)?,
        elimination_cv: cv(&vp.key("elimination_cv"), spec.variability.elimination_cv)?,
    };

    // Screening schedule (also needed by the curve's growing mode).
    let (interval, duration, max_step, screening) = match &spec.screening {
        Some(s) => {
            let sp = path.key("screening");
            let interval = positive(&sp.key("interval"), s.interval.si())?;
            let duration = positive(&sp.key("duration"), s.duration.si())?;
            if duration > 200.0 * YEAR || duration / interval > 10_000.0 {
                return err(
                    loc,
                    &sp.key("duration"),
                    "too long a programme".into(),
                    Some("at most 200 years and 10,000 tests".into()),
                );
            }
            let max_step = positive(
                &sp.key("max_step"),
                s.max_step.map(|t| t.si()).unwrap_or(7.0 * DAY),
            )?;
            (interval, duration, max_step, true)
        }
        None => (YEAR, 10.0 * YEAR, 7.0 * DAY, false),
    };

    // Tests.
    if spec.tests.is_empty() || spec.tests.len() > MAX_TESTS {
        return err(
            loc,
            &path.key("tests"),
            format!("{} tests", spec.tests.len()),
            Some(format!("give 1 to {MAX_TESTS} `[[biopsy.tests]]` entries")),
        );
    }
    let mut tests = Vec::new();
    let mut filled_tests = Vec::new();
    for (i, ts) in spec.tests.iter().enumerate() {
        let p = path.key("tests").index(i);
        let valid = !ts.name.is_empty()
            && ts.name.len() <= 64
            && ts
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return err(
                loc,
                &p.key("name"),
                format!("`{}` is not a valid test name", ts.name),
                Some("use 1 to 64 letters, digits, `_` or `-` (it names output files)".into()),
            );
        }
        if tests.iter().any(|t: &BiopsyTest| t.name == ts.name) {
            return err(
                loc,
                &p.key("name"),
                format!("test `{}` is defined twice", ts.name),
                None,
            );
        }
        choice(&p.key("isolation"), &ts.isolation, &ISOLATIONS)?;
        choice(&p.key("assay"), &ts.assay, &ASSAYS)?;
        let mut isolation = match ts.isolation.as_str() {
            "none" => Isolation::none(),
            "ultracentrifugation" => Isolation::ultracentrifugation(),
            "precipitation" => Isolation::precipitation(),
            "size_exclusion" => Isolation::size_exclusion(),
            _ => Isolation::immunocapture(),
        };
        if let Some(v) = ts.recovery_mean {
            isolation.recovery_mean = positive(&p.key("recovery_mean"), v)
                .and_then(|v| fraction(&p.key("recovery_mean"), v))?;
        }
        if let Some(v) = ts.recovery_cv {
            isolation.recovery_cv = cv(&p.key("recovery_cv"), Some(v))?;
        }
        if let Some(v) = ts.nonvesicle_carry_over {
            isolation.nonvesicle_carry_over = fraction(&p.key("nonvesicle_carry_over"), v)?;
        }
        let mut assay = match ts.assay.as_str() {
            "elisa" => Assay::elisa(),
            "nta" => Assay::nta(),
            "digital_plasmonic" => Assay::digital_plasmonic(),
            "spr" => Assay::spr(),
            _ => Assay::spr_nanohole(),
        };
        if let Some(v) = ts.input_volume {
            assay.input_volume = Some(positive(&p.key("input_volume"), v.si())?);
        }
        if let Some(v) = ts.cv {
            assay.cv = cv(&p.key("cv"), Some(v))?;
        }
        if let Some(v) = ts.lod {
            assay.lod = non_negative(&p.key("lod"), v.si())?;
        }
        if let Some(v) = ts.replicates {
            if !(1..=1000).contains(&v) {
                return err(
                    loc,
                    &p.key("replicates"),
                    format!("{v} replicates"),
                    Some("use 1 to 1000".into()),
                );
            }
            assay.replicates = v;
        }
        if let Some(v) = ts.nonvesicle_weight {
            assay.nonvesicle_weight = non_negative(&p.key("nonvesicle_weight"), v)?;
        }
        let draw = BloodDraw {
            blood_volume: positive(
                &p.key("blood_volume"),
                ts.blood_volume.map(|v| v.si()).unwrap_or(10.0 * MILLILITRE),
            )?,
            plasma_fraction: fraction(
                &p.key("plasma_fraction"),
                ts.plasma_fraction.unwrap_or(0.55),
            )?,
        };
        let protocol = Protocol {
            draw,
            isolation,
            assay,
            sampling,
            lipoprotein_concentration: LIPOPROTEINS_PER_M3,
        };
        let model = ScreeningModel {
            tumour: Tumour {
                growth: law,
                initial_cells,
                cells_per_m3,
                branching: start,
                burden: None,
            },
            shedding,
            blood,
            blood_modes: blood_modes.clone(),
            variability,
            protocol,
            threshold: 0.0,
            interval,
            duration,
            max_step,
            deterministic,
        };
        if let Err(e) = model.validate() {
            return err(loc, &p, format!("invalid test: {e}"), None);
        }
        filled_tests.push(TestSpec {
            name: ts.name.clone(),
            blood_volume: Some(Volume::from_si(draw.blood_volume)),
            plasma_fraction: Some(draw.plasma_fraction),
            isolation: ts.isolation.clone(),
            recovery_mean: Some(isolation.recovery_mean),
            recovery_cv: Some(isolation.recovery_cv),
            nonvesicle_carry_over: Some(isolation.nonvesicle_carry_over),
            assay: ts.assay.clone(),
            input_volume: Some(Volume::from_si(protocol.analysed_volume())),
            cv: Some(assay.cv),
            lod: Some(Concentration::from_si(assay.lod)),
            replicates: Some(assay.replicates),
            nonvesicle_weight: Some(assay.nonvesicle_weight),
        });
        tests.push(BiopsyTest {
            name: ts.name.clone(),
            model,
        });
    }

    // Decision.
    let dp = path.key("decision");
    let d = &spec.decision;
    let rule = match (d.specificity, d.threshold, d.rule.as_deref()) {
        (Some(s), None, None) => ThresholdRule::Specificity(fraction(&dp.key("specificity"), s)?),
        (None, Some(t), None) => ThresholdRule::Fixed(non_negative(&dp.key("threshold"), t.si())?),
        (None, None, Some("lod")) => ThresholdRule::Lod,
        (None, None, Some(other)) => {
            choice(&dp.key("rule"), other, &["lod"])?;
            unreachable!("choice rejects unknown values")
        }
        (None, None, None) => ThresholdRule::Specificity(0.95),
        _ => {
            return err(
                loc,
                &dp,
                "give one of `specificity`, `threshold` or `rule`".into(),
                None,
            );
        }
    };
    let prevalence = match d.prevalence {
        Some(p) => Some(fraction(&dp.key("prevalence"), p)?),
        None => None,
    };
    if prevalence.is_some() && spec.curve.roc_diameter.is_none() {
        return err(
            loc,
            &dp.key("prevalence"),
            "the predictive value needs the sensitivity at one tumour size".into(),
            Some("add `roc_diameter` to `[biopsy.curve]`, e.g. \"1 cm\"".into()),
        );
    }

    // Curve.
    let cp = path.key("curve");
    let c = &spec.curve;
    let from = positive(&cp.key("from"), c.from.map(|l| l.si()).unwrap_or(1e-3))?;
    let to = positive(&cp.key("to"), c.to.map(|l| l.si()).unwrap_or(5e-2))?;
    if to <= from {
        return err(
            loc,
            &cp.key("to"),
            "the curve ends before it starts".into(),
            Some("`to` must be larger than `from`".into()),
        );
    }
    let points = c.points.unwrap_or(40);
    if !(2..=MAX_CURVE_POINTS).contains(&points) {
        return err(
            loc,
            &cp.key("points"),
            format!("{points} points"),
            Some(format!("use 2 to {MAX_CURVE_POINTS}")),
        );
    }
    let diameters = (0..points)
        .map(|i| from * (to / from).powf(i as f64 / (points - 1) as f64))
        .collect();
    let burden = match c.burden.as_deref().unwrap_or("steady") {
        "steady" => BurdenState::Steady,
        "growing" => BurdenState::Growing,
        other => {
            choice(&cp.key("burden"), other, &["steady", "growing"])?;
            unreachable!("choice rejects unknown values")
        }
    };
    let roc_diameter = match c.roc_diameter {
        Some(l) => Some(positive(&cp.key("roc_diameter"), l.si())?),
        None => None,
    };
    let filled = BiopsySpec {
        cohort: Some(cohort),
        healthy_cohort: Some(healthy_cohort),
        deterministic: Some(deterministic),
        tumour: TumourSpec {
            growth: t.growth.clone(),
            doubling_time: t.doubling_time,
            birth_rate: start.map(|b| Rate::from_si(b.process.birth)),
            death_rate: start.map(|b| Rate::from_si(b.process.death)),
            switch_cells: start.map(|b| b.switch_cells),
            capacity_diameter: t.capacity_diameter,
            initial_diameter: initial_diameter.map(Length::from_si),
            cells_per_volume: Some(Concentration::from_si(cells_per_m3)),
            cell_type: tissue_source.as_ref().map(|s| s.cell_type.clone()),
            variant: tissue_source.as_ref().map(|s| s.variant.clone()),
            cells_per_simulated_cell: tissue_source.as_ref().map(|s| s.cells_per_simulated_cell),
            extrapolate: tissue_source.as_ref().map(|s| {
                match s.extrapolate {
                    Extrapolation::None => "none",
                    Extrapolation::Exponential => "exponential",
                }
                .into()
            }),
        },
        marker: MarkerSpec {
            name: m.name.clone(),
            sampling: Some(
                match sampling {
                    Sampling::Counts => "counts",
                    Sampling::Continuous => "continuous",
                }
                .into(),
            ),
            per_live_cell: m.per_live_cell,
            per_dying_cell: Some(Count::from_si(shedding.per_dying_cell)),
            death_rate: Some(Rate::from_si(shedding.death_rate)),
            fraction_to_blood: shedding.fraction_to_blood,
            background_concentration: m.background_concentration,
            half_life: m.half_life,
            body_vesicles: m.body_vesicles.clone(),
            body_arm: blood_kinetics.as_ref().map(|r| r.arm.clone()),
            plasma_volume: Some(Volume::from_si(plasma_volume)),
        },
        variability: VariabilitySpec {
            background_cv: Some(variability.background_cv),
            shedding_cv: Some(variability.shedding_cv),
            elimination_cv: Some(variability.elimination_cv),
        },
        tests: filled_tests,
        decision: DecisionSpec {
            specificity: match rule {
                ThresholdRule::Specificity(s) => Some(s),
                _ => None,
            },
            threshold: match rule {
                ThresholdRule::Fixed(t) => Some(Concentration::from_si(t)),
                _ => None,
            },
            rule: matches!(rule, ThresholdRule::Lod).then(|| "lod".into()),
            prevalence,
        },
        curve: CurveSpec {
            from: Some(Length::from_si(from)),
            to: Some(Length::from_si(to)),
            points: Some(points),
            burden: Some(
                match burden {
                    BurdenState::Steady => "steady",
                    BurdenState::Growing => "growing",
                }
                .into(),
            ),
            roc_diameter: roc_diameter.map(Length::from_si),
        },
        screening: spec.screening.as_ref().map(|s| ScreeningSpec {
            interval: s.interval,
            duration: s.duration,
            max_step: Some(Time::from_si(max_step)),
        }),
    };
    let study = BiopsyStudy {
        marker: m.name.clone(),
        cohort,
        healthy_cohort,
        tests,
        rule,
        prevalence,
        diameters,
        burden,
        roc_diameter,
        screening,
        blood_kinetics,
        tissue_burden: tissue_source,
    };
    Ok((study, filled))
}

/// The body engine's blood kinetics of vesicle class `class` for the marker
/// at `mp`: the pools of its blood compartment, the plasma volume (given,
/// or the body's blood volume × [`PLASMA_SHARE_OF_BLOOD`]) and the report.
fn body_kinetics(
    m: &MarkerSpec,
    class: &str,
    background_conc: f64,
    loc: &Locator,
    mp: &KeyPath,
    study: &Study,
) -> Res<(BloodModes, f64, BodyKineticsReport)> {
    let names: Vec<&str> = study.vesicles.iter().map(|v| v.name.as_str()).collect();
    let Some(ci) = names.iter().position(|&n| n == class) else {
        let hint = did_you_mean(class, names.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                Some(if names.is_empty() {
                    "the study has no `[[vesicles]]` class: add one, with a `[[sources]]` entry, for the body".into()
                } else {
                    format!("the study's classes: {}", names.join(", "))
                })
            });
        return err(
            loc,
            &mp.key("body_vesicles"),
            format!("no vesicle class `{class}`"),
            hint,
        );
    };
    let arm_names: Vec<&str> = study.arms.iter().map(|a| a.name.as_str()).collect();
    let arm = match &m.body_arm {
        Some(name) => match study.arms.iter().find(|a| &a.name == name) {
            Some(a) => a,
            None => {
                let hint = did_you_mean(name, arm_names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("the study's arms: {}", arm_names.join(", "))));
                return err(loc, &mp.key("body_arm"), format!("no arm `{name}`"), hint);
            }
        },
        None if study.arms.len() == 1 => &study.arms[0],
        None if study.arms.is_empty() => {
            return err(
                loc,
                &mp.key("body_vesicles"),
                "the study has no body to take the blood kinetics from".into(),
                Some("add `[body]` and a `[[sources]]` (or `[[doses]]`) entry of the class".into()),
            );
        }
        None => {
            return err(
                loc,
                &mp.key("body_vesicles"),
                "the study has several arms".into(),
                Some(format!("add `body_arm`, one of: {}", arm_names.join(", "))),
            );
        }
    };
    let model = crate::body::pbpk::build(&study.plan(), arm);
    let Some(states) = model.classes.iter().find(|c| c.class == ci) else {
        return err(
            loc,
            &mp.key("body_vesicles"),
            format!(
                "class `{class}` does not enter the body in arm `{}`",
                arm.name
            ),
            Some(format!(
                "add a `[[sources]]` or `[[doses]]` entry of `{class}` to that arm"
            )),
        );
    };
    let modes = blood_modes::from_network(&model.network, states).map_err(|e| {
        loc.error(
            &mp.key("body_vesicles"),
            e,
            Some("use `half_life` (first-order elimination) instead".into()),
        )
    })?;
    let plasma_volume = match m.plasma_volume {
        Some(v) => v.si(),
        None => PLASMA_SHARE_OF_BLOOD * arm.body.blood_volume,
    };
    if !(plasma_volume.is_finite() && plasma_volume > 0.0) {
        return err(
            loc,
            &mp.key("plasma_volume"),
            format!("{plasma_volume} must be greater than zero"),
            None,
        );
    }
    let background = modes.effective_rate * background_conc * plasma_volume;
    let saturation = background * modes.saturation_per_input;
    if saturation > MAX_SATURATION {
        return err(
            loc,
            &mp.key("background_concentration"),
            format!(
                "at this background the macrophage sites of `{class}` are {:.1} % of the way to half-saturation: the body engine's kinetics are not linear there",
                100.0 * saturation
            ),
            Some(format!(
                "the coupling needs the background load below {} % of Km; lower the background, or use `half_life`",
                100.0 * MAX_SATURATION
            )),
        );
    }
    let k = modes.effective_rate;
    let report = BodyKineticsReport {
        vesicles: class.into(),
        arm: arm.name.clone(),
        states: modes.states,
        modes: modes.modes.len(),
        effective_half_life_s: std::f64::consts::LN_2 / k,
        dominant_half_life_s: modes.dominant_half_life(k, 0.5),
        plasma_volume_m3: plasma_volume,
        saturation_at_background: saturation,
    };
    Ok((modes, plasma_volume, report))
}

/// The `[tissue]` cell count that a `growth = "tissue"` tumour follows.
fn tissue_burden_source(
    t: &TumourSpec,
    loc: &Locator,
    tp: &KeyPath,
    screening: &Option<ScreeningSpec>,
    path: &KeyPath,
    study: &Study,
) -> Res<TissueBurdenSource> {
    let Some(model) = &study.tissue else {
        return err(
            loc,
            &tp.key("growth"),
            "`tissue` growth needs the study's `[tissue]` section".into(),
            Some("add a `[tissue]` section with the tumour's cell type, or choose another growth law".into()),
        );
    };
    let Some(cell_type) = &t.cell_type else {
        return err(
            loc,
            &tp.key("growth"),
            "`tissue` growth needs `cell_type`".into(),
            Some("add `cell_type`, the `[[tissue.cell_types]]` name of the tumour cells".into()),
        );
    };
    let types: Vec<&str> = model.cell_types.iter().map(|c| c.name.as_str()).collect();
    if model.cell_type(cell_type).is_none() {
        let hint = did_you_mean(cell_type, types.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("the tissue's cell types: {}", types.join(", "))));
        return err(
            loc,
            &tp.key("cell_type"),
            format!("no tissue cell type `{cell_type}`"),
            hint,
        );
    }
    let variants: Vec<&str> = model.variants.iter().map(|v| v.name.as_str()).collect();
    let variant = match &t.variant {
        Some(v) if variants.contains(&v.as_str()) => v.clone(),
        Some(v) => {
            let hint = did_you_mean(v, variants.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("the tissue's variants: {}", variants.join(", "))));
            return err(
                loc,
                &tp.key("variant"),
                format!("no tissue variant `{v}`"),
                hint,
            );
        }
        None if variants.len() == 1 => variants[0].to_string(),
        None => {
            return err(
                loc,
                &tp.key("growth"),
                "the tissue has several variants".into(),
                Some(format!("add `variant`, one of: {}", variants.join(", "))),
            );
        }
    };
    let Some(scale) = t.cells_per_simulated_cell else {
        return err(
            loc,
            &tp.key("growth"),
            "`tissue` growth needs `cells_per_simulated_cell`".into(),
            Some("add `cells_per_simulated_cell`: how many tumour cells one simulated cell stands for, e.g. 1e6".into()),
        );
    };
    if !(scale.is_finite() && scale > 0.0) {
        return err(
            loc,
            &tp.key("cells_per_simulated_cell"),
            format!("{scale} must be greater than zero"),
            None,
        );
    }
    let extrapolate = match t.extrapolate.as_deref().unwrap_or("none") {
        "none" => Extrapolation::None,
        "exponential" => Extrapolation::Exponential,
        other => {
            let hint = did_you_mean(other, ["none", "exponential"])
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some("choose one of: none, exponential".into()));
            return err(
                loc,
                &tp.key("extrapolate"),
                format!("unknown value `{other}`"),
                hint,
            );
        }
    };
    if extrapolate == Extrapolation::None
        && let Some(s) = screening
        && s.duration.si() > model.duration
    {
        return err(
            loc,
            &path.key("screening").key("duration"),
            format!(
                "the screening lasts {} s, beyond the {} s the tissue engine simulates",
                s.duration.si(),
                model.duration
            ),
            Some("shorten the screening, or set `extrapolate = \"exponential\"` in `[biopsy.tumour]`".into()),
        );
    }
    Ok(TissueBurdenSource {
        variant,
        cell_type: cell_type.clone(),
        cells_per_simulated_cell: scale,
        extrapolate,
    })
}
