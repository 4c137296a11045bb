//! Resolution of the `[biopsy]` section into a [`BiopsyStudy`].

use super::biopsy_spec::*;
use super::error::{KeyPath, Locator, StudyError, did_you_mean};
use crate::biopsy::growth::{self, GrowthLaw};
use crate::biopsy::kinetics::{BloodKinetics, Shedding};
use crate::biopsy::measurement::{
    Assay, BloodDraw, Isolation, LIPOPROTEINS_PER_M3, Protocol, Sampling,
};
use crate::biopsy::screening::{BurdenState, ScreeningModel, ThresholdRule, Tumour, Variability};
use crate::biopsy::study::{BiopsyStudy, BiopsyTest};
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
const GROWTHS: [&str; 3] = ["exponential", "logistic", "gompertz"];

type Res<T> = Result<T, StudyError>;

fn err<T>(loc: &Locator, p: &KeyPath, msg: String, hint: Option<String>) -> Res<T> {
    Err(loc.error(p, msg, hint))
}

/// Validates `[biopsy]` (at `path`) into a runnable study.
pub fn resolve_biopsy(spec: &BiopsySpec, loc: &Locator, path: &KeyPath) -> Res<BiopsyStudy> {
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
    let doubling = positive(&tp.key("doubling_time"), t.doubling_time.si())?;
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
        let c =
            growth::cells_for_diameter(positive(&tp.key("capacity_diameter"), d)?, cells_per_m3);
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
        death_rate: non_negative(
            &mp.key("death_rate"),
            m.death_rate.map(|r| r.si()).unwrap_or(0.0),
        )?,
        fraction_to_blood: fraction(&mp.key("fraction_to_blood"), m.fraction_to_blood)?,
    };
    let plasma_volume = positive(
        &mp.key("plasma_volume"),
        m.plasma_volume
            .map(|v| v.si())
            .unwrap_or(3000.0 * MILLILITRE),
    )?;
    let elimination_rate =
        BloodKinetics::rate_from_half_life(positive(&mp.key("half_life"), m.half_life.si())?);
    let background_conc = non_negative(
        &mp.key("background_concentration"),
        m.background_concentration.si(),
    )?;
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
            },
            shedding,
            blood,
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
    Ok(BiopsyStudy {
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
    })
}
