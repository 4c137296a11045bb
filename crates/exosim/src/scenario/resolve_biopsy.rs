//! Resolution of the `[biopsy]` section into a [`BiopsyStudy`]: one step per
//! sub-table (tumour, marker, variability, screening, tests, decision,
//! curve), then the section as resolved, every default written out.

use std::sync::Arc;

use super::biopsy_spec::*;
use super::check::{Check, Res};
use super::error::{KeyPath, Locator, did_you_mean};
use super::model::{LONG_RUN_S, Study};
use crate::biopsy::blood_modes::BloodModes;
use crate::biopsy::burden::Extrapolation;
use crate::biopsy::growth::{self, BranchingProcess, BranchingStart, GrowthLaw};
use crate::biopsy::kinetics::{BloodKinetics, Shedding};
use crate::biopsy::measurement::{
    Assay, BloodDraw, Isolation, LIPOPROTEINS_PER_M3, Protocol, Sampling,
};
use crate::biopsy::screening::{
    BurdenState, DetectionRule, Imaging, ScreeningModel, ThresholdRule, Tumour, Variability,
};
use crate::biopsy::sequencing::{MAX_PANEL_MUTATIONS, MAX_PANEL_SIZE, SequencingAssay};
use crate::biopsy::study::{BiopsyStudy, BiopsyTest, BodyKineticsReport, TissueBurdenSource};
use crate::coupling::blood_modes;
use crate::units::{Concentration, Count, Length, Rate, Time, Volume};
use crate::units::{DAY, Dimension, MILLILITRE, YEAR, format_human};

/// Largest cohort a study may ask for (the screening loop streams, but the
/// threshold and ROC keep scores in memory).
pub const MAX_COHORT: u64 = 10_000_000;
/// Most points on a detection curve.
pub const MAX_CURVE_POINTS: u32 = 1000;
/// Most tests compared in one study.
pub const MAX_TESTS: usize = 100;
/// Most scores (individuals × tests, healthy and with a tumour) a study
/// keeps in memory for its thresholds and ROC: 8 bytes each, 2 GB.
pub const MAX_SCORES: u64 = 250_000_000;
/// Most integration steps of a screening programme (individuals × tests ×
/// steps per individual): about SCREENING_STEPS_PER_S × 4 h.
pub const MAX_SCREENING_STEPS: f64 = 1e12;
/// Measured screening speed, steps per second on one thread.
const SCREENING_STEPS_PER_S: f64 = 7e7;
/// Most events of the stochastic phase of one branching lineage (kept in
/// memory, 16 bytes each: 320 MB).
pub const MAX_LINEAGE_EVENTS: f64 = 2e7;
/// Most events of the stochastic phase over a cohort of branching tumours.
pub const MAX_BRANCHING_EVENTS: f64 = 1e11;
/// Most replicate measurements of one sample.
pub const MAX_REPLICATES: u64 = 1000;

const ISOLATIONS: [&str; 5] = [
    "none",
    "ultracentrifugation",
    "precipitation",
    "size_exclusion",
    "immunocapture",
];
const ASSAYS: [&str; 6] = [
    "elisa",
    "nta",
    "digital_plasmonic",
    "spr",
    "spr_nanohole",
    "sequencing",
];
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
    let c = Check::new(loc);
    let cohort = c.count_in(
        &path.key("cohort"),
        spec.cohort.unwrap_or(10_000),
        10,
        MAX_COHORT,
        "individuals",
    )?;
    let healthy_cohort = c.count_in(
        &path.key("healthy_cohort"),
        spec.healthy_cohort.unwrap_or(10_000),
        10,
        MAX_COHORT,
        "individuals",
    )?;
    let deterministic = spec.deterministic.unwrap_or(false);
    let tumour = tumour(&c, spec, path, study)?;
    let marker = marker(&c, spec, path, study, &tumour)?;
    let vp = path.key("variability");
    let variability = Variability {
        background_cv: c.cv(&vp.key("background_cv"), spec.variability.background_cv)?,
        shedding_cv: c.cv(&vp.key("shedding_cv"), spec.variability.shedding_cv)?,
        elimination_cv: c.cv(&vp.key("elimination_cv"), spec.variability.elimination_cv)?,
        background_test_cv: c.cv(
            &vp.key("background_test_cv"),
            spec.variability.background_test_cv,
        )?,
    };
    let schedule = schedule(&c, spec, path)?;
    screening_work(
        &c,
        path,
        &schedule,
        &tumour,
        cohort + healthy_cohort,
        spec.tests.len(),
    )?;
    let shared = Shared {
        tumour: &tumour,
        marker: &marker,
        variability,
        schedule: &schedule,
        deterministic,
    };
    if spec.tests.is_empty() || spec.tests.len() > MAX_TESTS {
        return c.err(
            &path.key("tests"),
            format!("{} tests", spec.tests.len()),
            Some(format!("give 1 to {MAX_TESTS} `[[biopsy.tests]]` entries")),
        );
    }
    let scores = (cohort + healthy_cohort).saturating_mul(spec.tests.len() as u64);
    if scores > MAX_SCORES {
        return c.err(
            &path.key("cohort"),
            format!(
                "{cohort} + {healthy_cohort} individuals × {} tests are {scores} scores ({:.1} GB), more than {MAX_SCORES}",
                spec.tests.len(),
                scores as f64 * 8.0 / 1e9
            ),
            Some("use smaller cohorts or fewer tests".into()),
        );
    }
    let tp = path.key("tests");
    let test_names: Vec<String> = spec.tests.iter().map(|t| t.name.clone()).collect();
    c.unique(&tp, &test_names, "test")?;
    let mut tests = Vec::new();
    let mut filled_tests = Vec::new();
    for (i, ts) in spec.tests.iter().enumerate() {
        let (test, filled) = test(&c, &tp.index(i), ts, &shared)?;
        tests.push(test);
        filled_tests.push(filled);
    }
    let rule = decision(&c, spec, path)?;
    let curve = curve(&c, spec, path)?;
    let filled = BiopsySpec {
        cohort: Some(cohort),
        healthy_cohort: Some(healthy_cohort),
        deterministic: Some(deterministic),
        tumour: spec.tumour.as_ref().map(|t| tumour.filled(t)),
        conditions: Vec::new(),
        marker: marker.filled(&spec.marker),
        variability: VariabilitySpec {
            background_cv: Some(variability.background_cv),
            shedding_cv: Some(variability.shedding_cv),
            elimination_cv: Some(variability.elimination_cv),
            permeability_cv: None,
            background_test_cv: spec.variability.background_test_cv,
        },
        tests: filled_tests,
        decision: DecisionSpec {
            specificity: match rule.rule {
                ThresholdRule::Specificity(s) => Some(s),
                _ => None,
            },
            threshold: match rule.rule {
                ThresholdRule::Fixed(t) => Some(Concentration::from_si(t)),
                _ => None,
            },
            rule: matches!(rule.rule, ThresholdRule::Lod).then(|| "lod".into()),
            annual_false_positive_rate: match rule.rule {
                ThresholdRule::AnnualFalsePositiveRate(a) => Some(a),
                _ => None,
            },
            prevalence: rule.prevalence,
        },
        curve: curve.filled(),
        screening: spec.screening.as_ref().map(|s| ScreeningSpec {
            interval: s.interval,
            duration: s.duration,
            max_step: Some(Time::from_si(schedule.max_step)),
            imaging_diameter: schedule.imaging.map(|im| Length::from_si(im.diameter)),
            imaging_interval: schedule.imaging.map(|im| Time::from_si(im.interval)),
            detection: s.detection.clone(),
        }),
    };
    let study = BiopsyStudy {
        marker: spec.marker.name.clone(),
        cohort,
        healthy_cohort,
        tests,
        rule: rule.rule,
        prevalence: rule.prevalence,
        diameters: curve.diameters,
        burden: curve.burden,
        roc_diameter: curve.roc_diameter,
        draw_time: curve.draw_time,
        screening: schedule.screening,
        blood_kinetics: marker.blood_kinetics,
        tissue_burden: tumour.tissue_source,
    };
    Ok((study, filled))
}

/// The resolved tumour: its growth law and where its size comes from.
struct TumourModel {
    growth: String,
    law: GrowthLaw,
    initial_cells: f64,
    initial_diameter: Option<f64>,
    start: Option<BranchingStart>,
    cells_per_m3: f64,
    tissue_source: Option<TissueBurdenSource>,
}

impl TumourModel {
    fn filled(&self, t: &TumourSpec) -> TumourSpec {
        let start = self.start;
        let source = self.tissue_source.as_ref();
        TumourSpec {
            growth: self.growth.clone(),
            doubling_time: t.doubling_time,
            birth_rate: start.map(|b| Rate::from_si(b.process.birth)),
            death_rate: start.map(|b| Rate::from_si(b.process.death)),
            switch_cells: start.map(|b| b.switch_cells),
            capacity_diameter: t.capacity_diameter,
            initial_diameter: self.initial_diameter.map(Length::from_si),
            cells_per_volume: Some(Concentration::from_si(self.cells_per_m3)),
            cell_type: source.map(|s| s.cell_type.clone()),
            variant: source.map(|s| s.variant.clone()),
            cells_per_simulated_cell: source.map(|s| s.cells_per_simulated_cell),
            extrapolate: source.map(|s| {
                match s.extrapolate {
                    Extrapolation::None => "none",
                    Extrapolation::Exponential => "exponential",
                }
                .into()
            }),
        }
    }
}

/// `[biopsy.tumour]`.
fn tumour(c: &Check, spec: &BiopsySpec, path: &KeyPath, study: &Study) -> Res<TumourModel> {
    let tp = path.key("tumour");
    let Some(t) = &spec.tumour else {
        return c.err(
            &tp,
            "missing `[biopsy.tumour]`",
            Some("add `[biopsy.tumour]` with its `growth`, or `[[biopsy.conditions]]` naming body arms for a test of conditions without a tumour".into()),
        );
    };
    if let Some(v) = spec.variability.permeability_cv {
        return c.err(
            &path.key("variability").key("permeability_cv"),
            format!("a permeability CV ({v}) without conditions"),
            Some("a gut barrier's permeability varies between people only in a test of `[[biopsy.conditions]]`".into()),
        );
    }
    c.choice(&tp.key("growth"), &t.growth, &GROWTHS)?;
    let cells_per_m3 = match t.cells_per_volume {
        Some(v) => c.positive(&tp.key("cells_per_volume"), v.si())?,
        None => growth::CELLS_PER_M3,
    };
    foreign_growth_keys(c, &tp, t)?;
    let mut model = TumourModel {
        growth: t.growth.clone(),
        // The size of a tumour from the tissue comes from the burden
        // attached at run time (`biopsy::study::run`); this law is never
        // evaluated.
        law: GrowthLaw::Exponential { rate: 0.0 },
        initial_cells: 1.0,
        initial_diameter: None,
        start: None,
        cells_per_m3,
        tissue_source: None,
    };
    match t.growth.as_str() {
        "tissue" => {
            model.tissue_source = Some(tissue_burden_source(
                t,
                c,
                &tp,
                &spec.screening,
                path,
                study,
            )?);
        }
        "branching" => {
            let start = branching_start(c, spec, path)?;
            model.law = GrowthLaw::Exponential {
                rate: start.process.birth - start.process.death,
            };
            model.start = Some(start);
        }
        _ => growth_law(c, &tp, t, &mut model)?,
    }
    Ok(model)
}

/// Refuses the keys of `[biopsy.tumour]` that belong to another kind of growth.
fn foreign_growth_keys(c: &Check, tp: &KeyPath, t: &TumourSpec) -> Res<()> {
    let branching = t.growth == "branching";
    let from_tissue = t.growth == "tissue";
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
        return c.err(
            &tp.key(key),
            format!("`{key}` does not apply to `{}` growth", t.growth),
            Some(hint.into()),
        );
    }
    Ok(())
}

/// The stochastic start of a `branching` tumour.
fn branching_start(c: &Check, spec: &BiopsySpec, path: &KeyPath) -> Res<BranchingStart> {
    let tp = path.key("tumour");
    let t = spec.tumour.clone().unwrap_or_default();
    let needed = |key: &str, v: Option<Rate>| -> Res<f64> {
        match v {
            Some(r) => c.non_negative(&tp.key(key), r.si()),
            None => c.err(
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
        return c.err(
            &tp.key("birth_rate"),
            "every lineage dies out when the birth rate does not exceed the death rate",
            Some("a growing tumour needs birth_rate > death_rate".into()),
        );
    }
    let switch_cells = c.count_in(
        &tp.key("switch_cells"),
        t.switch_cells.unwrap_or(growth::SWITCH_CELLS),
        1,
        MAX_SWITCH_CELLS,
        "cells",
    )?;
    // Expected events of the Gillespie phase of one surviving lineage; each
    // is kept (16 bytes) until the lineage is done.
    let events = switch_cells as f64 * (birth + death) / (birth - death);
    let cohort = spec.cohort.unwrap_or(10_000) as f64;
    if events > MAX_LINEAGE_EVENTS || events * cohort > MAX_BRANCHING_EVENTS {
        return c.err(
            &tp.key("birth_rate"),
            format!(
                "a lineage takes about {events:.3e} branching events to reach {switch_cells} cells (switch_cells × (b + d)/(b − d)), {:.3e} for the cohort: more than {MAX_LINEAGE_EVENTS:e} per lineage ({:.0} MB) or {MAX_BRANCHING_EVENTS:e} in all",
                events * cohort,
                MAX_LINEAGE_EVENTS * 16.0 / 1e6
            ),
            Some("the birth rate is too close to the death rate: widen the gap, or lower switch_cells".into()),
        );
    }
    if spec.deterministic == Some(true) {
        return c.err(
            &path.key("deterministic"),
            "a branching tumour is stochastic",
            Some("use an exponential, logistic or Gompertz tumour in a deterministic study".into()),
        );
    }
    Ok(BranchingStart {
        process: BranchingProcess { birth, death },
        switch_cells,
    })
}

/// An exponential, logistic or Gompertz tumour.
fn growth_law(c: &Check, tp: &KeyPath, t: &TumourSpec, model: &mut TumourModel) -> Res<()> {
    let Some(doubling) = t.doubling_time else {
        return c.err(
            &tp.key("growth"),
            format!("`{}` growth needs `doubling_time`", t.growth),
            Some("add `doubling_time`, e.g. \"120 day\"".into()),
        );
    };
    let doubling = c.positive(&tp.key("doubling_time"), doubling.si())?;
    let rate = growth::rate_from_doubling_time(doubling);
    let initial_diameter = match t.initial_diameter {
        Some(d) => c.positive(&tp.key("initial_diameter"), d.si())?,
        None => 1e-3,
    };
    let cells_per_m3 = model.cells_per_m3;
    let initial_cells = growth::cells_for_diameter(initial_diameter, cells_per_m3).max(1.0);
    let capacity = || -> Res<f64> {
        let Some(d) = t.capacity_diameter.map(|d| d.si()) else {
            return c.err(
                &tp.key("growth"),
                format!("`{}` growth needs a plateau", t.growth),
                Some("add `capacity_diameter`, e.g. \"15 cm\"".into()),
            );
        };
        let k =
            growth::cells_for_diameter(c.positive(&tp.key("capacity_diameter"), d)?, cells_per_m3);
        if k <= initial_cells {
            return c.err(
                &tp.key("capacity_diameter"),
                "the plateau is not larger than the initial tumour",
                None,
            );
        }
        Ok(k)
    };
    model.law = match t.growth.as_str() {
        "exponential" => GrowthLaw::Exponential { rate },
        "logistic" => GrowthLaw::Logistic {
            rate,
            capacity: capacity()?,
        },
        _ => {
            // Gompertz: the initial doubling time sets the initial specific
            // growth rate r·ln(K/N0).
            let k = capacity()?;
            GrowthLaw::Gompertz {
                rate: rate / (k / initial_cells).ln(),
                capacity: k,
            }
        }
    };
    model.initial_cells = initial_cells;
    model.initial_diameter = Some(initial_diameter);
    Ok(())
}

/// The resolved marker: its shedding and its blood kinetics.
struct MarkerModel {
    sampling: Sampling,
    shedding: Shedding,
    blood: BloodKinetics,
    blood_modes: Option<Arc<BloodModes>>,
    blood_kinetics: Option<BodyKineticsReport>,
}

impl MarkerModel {
    fn filled(&self, m: &MarkerSpec) -> MarkerSpec {
        MarkerSpec {
            name: m.name.clone(),
            sampling: Some(
                match self.sampling {
                    Sampling::Counts => "counts",
                    Sampling::Continuous => "continuous",
                }
                .into(),
            ),
            per_live_cell: m.per_live_cell,
            per_dying_cell: Some(Count::from_si(self.shedding.per_dying_cell)),
            death_rate: Some(Rate::from_si(self.shedding.death_rate)),
            fraction_to_blood: Some(self.shedding.fraction_to_blood),
            background_concentration: m.background_concentration,
            half_life: m.half_life,
            body_vesicles: m.body_vesicles.clone(),
            body_arm: self.blood_kinetics.as_ref().map(|r| r.arm.clone()),
            plasma_volume: Some(Volume::from_si(self.blood.plasma_volume)),
        }
    }
}

/// `[biopsy.marker]`.
fn marker(
    c: &Check,
    spec: &BiopsySpec,
    path: &KeyPath,
    study: &Study,
    tumour: &TumourModel,
) -> Res<MarkerModel> {
    let mp = path.key("marker");
    let m = &spec.marker;
    let sampling = match m.sampling.as_deref().unwrap_or("counts") {
        "counts" => Sampling::Counts,
        other => {
            c.choice(&mp.key("sampling"), other, &["counts", "continuous"])?;
            Sampling::Continuous
        }
    };
    let required = |key: &str| {
        c.err(
            &mp.key(key),
            format!("a tumour's marker needs `{key}`"),
            Some(format!("add `{key}` to `[biopsy.marker]`")),
        )
    };
    let Some(per_live_cell) = m.per_live_cell else {
        return required("per_live_cell");
    };
    let Some(fraction_to_blood) = m.fraction_to_blood else {
        return required("fraction_to_blood");
    };
    let Some(background_concentration) = m.background_concentration else {
        return required("background_concentration");
    };
    let shedding = Shedding {
        per_live_cell: c.non_negative(&mp.key("per_live_cell"), per_live_cell.si())?,
        per_dying_cell: c.non_negative(
            &mp.key("per_dying_cell"),
            m.per_dying_cell.map(|v| v.si()).unwrap_or(0.0),
        )?,
        // A branching tumour's cells die at its death rate unless told otherwise.
        death_rate: c.non_negative(
            &mp.key("death_rate"),
            m.death_rate
                .map(|r| r.si())
                .or(tumour.start.map(|b| b.process.death))
                .unwrap_or(0.0),
        )?,
        fraction_to_blood: c.fraction(&mp.key("fraction_to_blood"), fraction_to_blood)?,
    };
    let background_conc = c.non_negative(
        &mp.key("background_concentration"),
        background_concentration.si(),
    )?;
    let (plasma_volume, elimination_rate, blood_modes, blood_kinetics) = match (
        &m.half_life,
        &m.body_vesicles,
    ) {
        (Some(h), None) => {
            if m.body_arm.is_some() {
                return c.err(
                    &mp.key("body_arm"),
                    "`body_arm` goes with `body_vesicles`",
                    Some("remove it, or replace `half_life` by `body_vesicles`".into()),
                );
            }
            let plasma_volume = c.positive(
                &mp.key("plasma_volume"),
                m.plasma_volume
                    .map(|v| v.si())
                    .unwrap_or(3000.0 * MILLILITRE),
            )?;
            let k = BloodKinetics::rate_from_half_life(c.positive(&mp.key("half_life"), h.si())?);
            (plasma_volume, k, None, None)
        }
        (None, Some(class)) => {
            let (modes, plasma, report) = body_kinetics(m, class, background_conc, c, &mp, study)?;
            (
                plasma,
                modes.effective_rate,
                Some(Arc::new(modes)),
                Some(report),
            )
        }
        (Some(_), Some(_)) => {
            return c.err(
                    &mp.key("body_vesicles"),
                    "give either `half_life` or `body_vesicles`, not both",
                    Some(
                        "`half_life` is first-order elimination; `body_vesicles` takes the body engine's blood kinetics"
                            .into(),
                    ),
                );
        }
        (None, None) => {
            return c.err(
                    &mp,
                    "the marker needs its blood elimination",
                    Some(
                        "add `half_life`, e.g. \"7 min\", or `body_vesicles` naming a `[[vesicles]]` class of the study"
                            .into(),
                    ),
                );
        }
    };
    Ok(MarkerModel {
        sampling,
        shedding,
        blood: BloodKinetics {
            background: elimination_rate * background_conc * plasma_volume,
            elimination_rate,
            plasma_volume,
        },
        blood_modes,
        blood_kinetics,
    })
}

/// The screening programme (also needed by the curve's growing mode).
struct Schedule {
    interval: f64,
    duration: f64,
    max_step: f64,
    screening: bool,
    imaging: Option<Imaging>,
    detection: DetectionRule,
}

/// `[biopsy.screening]`.
fn schedule(c: &Check, spec: &BiopsySpec, path: &KeyPath) -> Res<Schedule> {
    let Some(s) = &spec.screening else {
        return Ok(Schedule {
            interval: YEAR,
            duration: 10.0 * YEAR,
            max_step: 7.0 * DAY,
            screening: false,
            imaging: None,
            detection: DetectionRule::Tumour,
        });
    };
    let sp = path.key("screening");
    let interval = c.positive(&sp.key("interval"), s.interval.si())?;
    let duration = c.positive(&sp.key("duration"), s.duration.si())?;
    if duration > 200.0 * YEAR || duration / interval > 10_000.0 {
        return c.err(
            &sp.key("duration"),
            "too long a programme",
            Some("at most 200 years and 10,000 tests".into()),
        );
    }
    let max_step = c.positive(
        &sp.key("max_step"),
        s.max_step.map(|t| t.si()).unwrap_or(7.0 * DAY),
    )?;
    let imaging = match (s.imaging_diameter, s.imaging_interval) {
        (Some(d), every) => Some(Imaging {
            diameter: c.positive(&sp.key("imaging_diameter"), d.si())?,
            interval: c.positive(
                &sp.key("imaging_interval"),
                every.map_or(interval, |t| t.si()),
            )?,
        }),
        (None, Some(_)) => {
            return c.err(
                &sp.key("imaging_interval"),
                "imaging exams without the size they find",
                Some("add `imaging_diameter`, e.g. \"1 cm\"".into()),
            );
        }
        (None, None) => None,
    };
    let detection = match s.detection.as_deref() {
        None => DetectionRule::Tumour,
        Some(rule) => {
            c.choice(&sp.key("detection"), rule, &["tumour", "first_positive"])?;
            if rule == "tumour" {
                DetectionRule::Tumour
            } else {
                DetectionRule::FirstPositive
            }
        }
    };
    Ok(Schedule {
        interval,
        duration,
        max_step,
        screening: true,
        imaging,
        detection,
    })
}

/// Refuses a screening whose integration steps (each individual's tumour
/// and blood, every `max_step` for laws without a closed form) would take
/// more than [`MAX_SCREENING_STEPS`].
fn screening_work(
    c: &Check,
    path: &KeyPath,
    schedule: &Schedule,
    tumour: &TumourModel,
    individuals: u64,
    tests: usize,
) -> Res<()> {
    if !schedule.screening
        || matches!(tumour.law, GrowthLaw::Exponential { .. }) && tumour.tissue_source.is_none()
    {
        return Ok(());
    }
    let per_individual = (schedule.duration / schedule.max_step).ceil();
    let steps = per_individual * individuals as f64 * tests as f64;
    if steps > MAX_SCREENING_STEPS {
        return c.err(
            &path.key("screening").key("max_step"),
            format!(
                "steps of at most {} over {} are {per_individual} steps per individual; for {individuals} individuals and {tests} tests about {steps:.2e} steps, more than {MAX_SCREENING_STEPS:e} (about {:.0} h on one thread)",
                format_human(schedule.max_step, Dimension::Time),
                format_human(schedule.duration, Dimension::Time),
                steps / SCREENING_STEPS_PER_S / 3600.0
            ),
            Some("use a longer max_step (the default is 7 day) or smaller cohorts".into()),
        );
    }
    let seconds = steps / SCREENING_STEPS_PER_S;
    if seconds > LONG_RUN_S {
        c.notice(
            &path.key("screening").key("max_step"),
            format!(
                "the screening is valid but long: about {steps:.2e} steps ({individuals} individuals × {tests} test{} × {per_individual} steps), about {} on one thread",
                if tests == 1 { "" } else { "s" },
                super::tissue_limits::duration_words(seconds)
            ),
            Some("individuals run in parallel on the cores given (--threads); a longer max_step or smaller cohorts make it shorter".into()),
        );
    }
    Ok(())
}

/// What every test shares.
struct Shared<'m> {
    tumour: &'m TumourModel,
    marker: &'m MarkerModel,
    variability: Variability,
    schedule: &'m Schedule,
    deterministic: bool,
}

/// The draw, isolation and assay of one `[[biopsy.tests]]` entry, with the
/// entry as resolved (every preset value written out).
pub(super) fn protocol(
    c: &Check,
    p: &KeyPath,
    ts: &TestSpec,
    sampling: Sampling,
    deterministic: bool,
) -> Res<(Protocol, TestSpec)> {
    c.choice(&p.key("isolation"), &ts.isolation, &ISOLATIONS)?;
    c.choice(&p.key("assay"), &ts.assay, &ASSAYS)?;
    let mut isolation = match ts.isolation.as_str() {
        "none" => Isolation::none(),
        "ultracentrifugation" => Isolation::ultracentrifugation(),
        "precipitation" => Isolation::precipitation(),
        "size_exclusion" => Isolation::size_exclusion(),
        _ => Isolation::immunocapture(),
    };
    if let Some(v) = ts.recovery_mean {
        isolation.recovery_mean = c
            .positive(&p.key("recovery_mean"), v)
            .and_then(|v| c.fraction(&p.key("recovery_mean"), v))?;
    }
    if let Some(v) = ts.recovery_cv {
        isolation.recovery_cv = c.cv(&p.key("recovery_cv"), Some(v))?;
    }
    if let Some(v) = ts.nonvesicle_carry_over {
        isolation.nonvesicle_carry_over = c.fraction(&p.key("nonvesicle_carry_over"), v)?;
    }
    let sequencing = sequencing_panel(c, p, ts, deterministic)?;
    if sequencing.is_some() && isolation.recovery_cv > 0.0 {
        return c.err(
            &p.key("recovery_cv"),
            format!(
                "a sequencing test needs a fixed recovery (its threshold is exact), not a CV of {}",
                isolation.recovery_cv
            ),
            Some("set `recovery_cv = 0`, or `isolation = \"none\"` for DNA free in plasma".into()),
        );
    }
    let mut assay = match ts.assay.as_str() {
        "sequencing" => Assay::sequencing(),
        "elisa" => Assay::elisa(),
        "nta" => Assay::nta(crate::coupling::lipoproteins::nta_visible_fraction(
            &super::resolve_instrument::nta_standard(),
        )),
        "digital_plasmonic" => Assay::digital_plasmonic(),
        "spr" => Assay::spr(),
        _ => Assay::spr_nanohole(),
    };
    if let Some(v) = ts.input_volume {
        assay.input_volume = Some(c.positive(&p.key("input_volume"), v.si())?);
    }
    if let Some(v) = ts.cv {
        assay.cv = c.cv(&p.key("cv"), Some(v))?;
    }
    if let Some(v) = ts.lod {
        assay.lod = c.non_negative(&p.key("lod"), v.si())?;
    }
    if let Some(v) = ts.replicates {
        c.count_in(
            &p.key("replicates"),
            v.into(),
            1,
            MAX_REPLICATES,
            "replicates",
        )?;
        assay.replicates = v;
    }
    if let Some(v) = ts.nonvesicle_weight {
        assay.nonvesicle_weight = c.non_negative(&p.key("nonvesicle_weight"), v)?;
    }
    let draw = BloodDraw {
        blood_volume: c.positive(
            &p.key("blood_volume"),
            ts.blood_volume.map(|v| v.si()).unwrap_or(10.0 * MILLILITRE),
        )?,
        plasma_fraction: c.fraction(
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
        sequencing,
    };
    let filled = TestSpec {
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
        panel_size: sequencing.map(|q| q.panel_size),
        panel_mutations: sequencing.map(|q| q.panel_mutations),
        efficiency: sequencing.map(|q| q.efficiency),
        error_rate: sequencing.map(|q| q.error_rate),
    };
    Ok((protocol, filled))
}

/// One `[[biopsy.tests]]` entry (its name already checked).
fn test(c: &Check, p: &KeyPath, ts: &TestSpec, shared: &Shared) -> Res<(BiopsyTest, TestSpec)> {
    let (protocol, filled) = protocol(c, p, ts, shared.marker.sampling, shared.deterministic)?;
    let (tumour, schedule) = (shared.tumour, shared.schedule);
    let model = ScreeningModel {
        tumour: Tumour {
            growth: tumour.law,
            initial_cells: tumour.initial_cells,
            cells_per_m3: tumour.cells_per_m3,
            branching: tumour.start,
            burden: None,
        },
        shedding: shared.marker.shedding,
        release: None,
        blood: shared.marker.blood,
        blood_modes: shared.marker.blood_modes.clone(),
        variability: shared.variability,
        protocol,
        threshold: 0.0,
        interval: schedule.interval,
        duration: schedule.duration,
        max_step: schedule.max_step,
        imaging: schedule.imaging,
        detection: schedule.detection,
        deterministic: shared.deterministic,
    };
    if let Err(e) = model.validate() {
        return c.err(p, format!("invalid test: {e}"), None);
    }
    Ok((
        BiopsyTest {
            name: ts.name.clone(),
            model,
        },
        filled,
    ))
}

/// The keys of a sequencing test (`assay = "sequencing"`), with their
/// defaults: an efficiency of 0.5 and an error rate of 10⁻⁵ per base, the
/// defaults of the published model (docs/references.md#avanzini-2020).
/// Other assays refuse them, and a sequencing test refuses the reading
/// keys of the other assays.
fn sequencing_panel(
    c: &Check,
    p: &KeyPath,
    ts: &TestSpec,
    deterministic: bool,
) -> Res<Option<SequencingAssay>> {
    let panel_keys = [
        ("panel_size", ts.panel_size.is_some()),
        ("panel_mutations", ts.panel_mutations.is_some()),
        ("efficiency", ts.efficiency.is_some()),
        ("error_rate", ts.error_rate.is_some()),
    ];
    if ts.assay != "sequencing" {
        if let Some((key, _)) = panel_keys.iter().find(|k| k.1) {
            return c.err(
                &p.key(key),
                format!("`{key}` is a key of sequencing tests"),
                Some("set `assay = \"sequencing\"`, or remove it".into()),
            );
        }
        return Ok(None);
    }
    let reading_keys = [
        ("cv", ts.cv.is_some()),
        ("lod", ts.lod.is_some()),
        ("replicates", ts.replicates.is_some()),
        ("nonvesicle_weight", ts.nonvesicle_weight.is_some()),
    ];
    if let Some((key, _)) = reading_keys.iter().find(|k| k.1) {
        return c.err(
            &p.key(key),
            format!("`{key}` does not apply to a sequencing test"),
            Some("its reading is counted reads: set `panel_size`, `panel_mutations`, `efficiency` and `error_rate`".into()),
        );
    }
    if deterministic {
        return c.err(
            &p.key("assay"),
            "a sequencing test reads counts and cannot be noise-free",
            Some("remove `deterministic = true` from `[biopsy]`".into()),
        );
    }
    let Some(size) = ts.panel_size else {
        return c.err(
            &p.key("panel_size"),
            "a sequencing test needs the size of its panel",
            Some("the bases the panel reads, e.g. 2000".into()),
        );
    };
    let size = c.count_in(&p.key("panel_size"), size, 1, MAX_PANEL_SIZE, "bases")?;
    let mutations = match ts.panel_mutations {
        None | Some(0) => {
            return c.err(
                &p.key("panel_mutations"),
                "the panel covers none of the tumour's mutations",
                Some("give how many of the panel's positions carry a mutation of the tumour, at least 1".into()),
            );
        }
        Some(m) => c.count_in(
            &p.key("panel_mutations"),
            m,
            1,
            MAX_PANEL_MUTATIONS.min(size),
            "mutations (at most the panel's size)",
        )?,
    };
    let efficiency = ts.efficiency.unwrap_or(0.5);
    if !(efficiency > 0.0 && efficiency <= 1.0) {
        return c.err(
            &p.key("efficiency"),
            format!("efficiency {efficiency} is outside (0, 1]"),
            Some("the share of the sample's copies that are read, e.g. 0.5".into()),
        );
    }
    let error_rate = ts.error_rate.unwrap_or(1e-5);
    if !(0.0..1.0).contains(&error_rate) {
        return c.err(
            &p.key("error_rate"),
            format!("error rate {error_rate} is outside [0, 1)"),
            Some("errors per base per read, e.g. 1e-5".into()),
        );
    }
    Ok(Some(SequencingAssay {
        panel_size: size,
        panel_mutations: mutations,
        efficiency,
        error_rate,
    }))
}

/// The threshold rule and the prevalence of `[biopsy.decision]`.
pub(super) struct Decision {
    pub(super) rule: ThresholdRule,
    pub(super) prevalence: Option<f64>,
}

pub(super) fn decision(c: &Check, spec: &BiopsySpec, path: &KeyPath) -> Res<Decision> {
    let dp = path.key("decision");
    let d = &spec.decision;
    if let Some(a) = d.annual_false_positive_rate {
        if d.specificity.is_some() || d.threshold.is_some() || d.rule.is_some() {
            return c.err(
                &dp,
                "give one of `specificity`, `threshold`, `rule` or `annual_false_positive_rate`",
                None,
            );
        }
        if !(a > 0.0 && a < 1.0) {
            return c.err(
                &dp.key("annual_false_positive_rate"),
                format!("{a} is not a rate strictly between 0 and 1"),
                Some(
                    "the chance of at least one false positive in a year of tests, e.g. 0.01"
                        .into(),
                ),
            );
        }
    }
    let sequencing = spec.tests.iter().any(|t| t.assay == "sequencing");
    if sequencing && (d.threshold.is_some() || d.rule.is_some()) {
        let key = if d.threshold.is_some() {
            "threshold"
        } else {
            "rule"
        };
        return c.err(
            &dp.key(key),
            "a sequencing test's score is the evidence of its reads, not a concentration",
            Some("use `annual_false_positive_rate` or `specificity`".into()),
        );
    }
    let rule = match (d.specificity, d.threshold, d.rule.as_deref()) {
        _ if d.annual_false_positive_rate.is_some() => {
            ThresholdRule::AnnualFalsePositiveRate(d.annual_false_positive_rate.unwrap_or(0.01))
        }
        (Some(s), None, None) => ThresholdRule::Specificity(c.fraction(&dp.key("specificity"), s)?),
        (None, Some(t), None) => {
            ThresholdRule::Fixed(c.non_negative(&dp.key("threshold"), t.si())?)
        }
        (None, None, Some("lod")) => ThresholdRule::Lod,
        (None, None, Some(other)) => {
            c.choice(&dp.key("rule"), other, &["lod"])?;
            ThresholdRule::Lod
        }
        (None, None, None) => ThresholdRule::Specificity(0.95),
        _ => {
            return c.err(
                &dp,
                "give one of `specificity`, `threshold` or `rule`",
                None,
            );
        }
    };
    let prevalence = match d.prevalence {
        Some(p) => Some(c.fraction(&dp.key("prevalence"), p)?),
        None => None,
    };
    // A test of conditions has its sensitivity per condition.
    if prevalence.is_some() && spec.curve.roc_diameter.is_none() && spec.conditions.is_empty() {
        return c.err(
            &dp.key("prevalence"),
            "the predictive value needs the sensitivity at one tumour size",
            Some("add `roc_diameter` to `[biopsy.curve]`, e.g. \"1 cm\"".into()),
        );
    }
    Ok(Decision { rule, prevalence })
}

/// The detection curve of `[biopsy.curve]`.
struct Curve {
    from: f64,
    to: f64,
    points: u32,
    diameters: Vec<f64>,
    burden: BurdenState,
    roc_diameter: Option<f64>,
    draw_time: Option<f64>,
}

impl Curve {
    fn filled(&self) -> CurveSpec {
        CurveSpec {
            from: Some(Length::from_si(self.from)),
            to: Some(Length::from_si(self.to)),
            points: Some(self.points),
            burden: Some(
                match self.burden {
                    BurdenState::Steady => "steady",
                    BurdenState::Growing => "growing",
                }
                .into(),
            ),
            roc_diameter: self.roc_diameter.map(Length::from_si),
            draw_time: self.draw_time.map(Time::from_si),
        }
    }
}

fn curve(c: &Check, spec: &BiopsySpec, path: &KeyPath) -> Res<Curve> {
    let cp = path.key("curve");
    let cs = &spec.curve;
    let from = c.positive(&cp.key("from"), cs.from.map(|l| l.si()).unwrap_or(1e-3))?;
    let to = c.positive(&cp.key("to"), cs.to.map(|l| l.si()).unwrap_or(5e-2))?;
    if to <= from {
        return c.err(
            &cp.key("to"),
            "the curve ends before it starts",
            Some("`to` must be larger than `from`".into()),
        );
    }
    let points = c.count_in(
        &cp.key("points"),
        cs.points.unwrap_or(40).into(),
        2,
        MAX_CURVE_POINTS.into(),
        "points",
    )? as u32;
    let diameters = (0..points)
        .map(|i| from * (to / from).powf(i as f64 / (points - 1) as f64))
        .collect();
    let burden = match cs.burden.as_deref().unwrap_or("steady") {
        "steady" => BurdenState::Steady,
        other => {
            c.choice(&cp.key("burden"), other, &["steady", "growing"])?;
            BurdenState::Growing
        }
    };
    let roc_diameter = match cs.roc_diameter {
        Some(l) => Some(c.positive(&cp.key("roc_diameter"), l.si())?),
        None => None,
    };
    let draw_time = match cs.draw_time {
        Some(t) => Some(c.non_negative_quantity(&cp.key("draw_time"), t.si(), Dimension::Time)?),
        None => None,
    };
    Ok(Curve {
        from,
        to,
        points,
        diameters,
        burden,
        roc_diameter,
        draw_time,
    })
}

/// The body engine's blood kinetics of vesicle class `class` for the marker
/// at `mp`: the pools of its blood compartment, the plasma volume (given,
/// or the body's blood volume × [`PLASMA_SHARE_OF_BLOOD`]) and the report.
fn body_kinetics(
    m: &MarkerSpec,
    class: &str,
    background_conc: f64,
    c: &Check,
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
        return c.err(
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
                return c.err(&mp.key("body_arm"), format!("no arm `{name}`"), hint);
            }
        },
        None if study.arms.len() == 1 => &study.arms[0],
        None if study.arms.is_empty() => {
            return c.err(
                &mp.key("body_vesicles"),
                "the study has no body to take the blood kinetics from",
                Some("add `[body]` and a `[[sources]]` (or `[[doses]]`) entry of the class".into()),
            );
        }
        None => {
            return c.err(
                &mp.key("body_vesicles"),
                "the study has several arms",
                Some(format!("add `body_arm`, one of: {}", arm_names.join(", "))),
            );
        }
    };
    let model = crate::body::pbpk::build(&study.plan(), arm);
    let Some(states) = model.classes.iter().find(|c| c.class == ci) else {
        return c.err(
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
        c.loc.error(
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
        return c.err(
            &mp.key("plasma_volume"),
            format!("{plasma_volume} must be greater than zero"),
            None,
        );
    }
    let background = modes.effective_rate * background_conc * plasma_volume;
    let saturation = background * modes.saturation_per_input;
    if saturation > MAX_SATURATION {
        return c.err(
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
    c: &Check,
    tp: &KeyPath,
    screening: &Option<ScreeningSpec>,
    path: &KeyPath,
    study: &Study,
) -> Res<TissueBurdenSource> {
    let Some(model) = &study.tissue else {
        return c.err(
            &tp.key("growth"),
            "`tissue` growth needs the study's `[tissue]` section",
            Some("add a `[tissue]` section with the tumour's cell type, or choose another growth law".into()),
        );
    };
    let Some(cell_type) = &t.cell_type else {
        return c.err(
            &tp.key("growth"),
            "`tissue` growth needs `cell_type`",
            Some("add `cell_type`, the `[[tissue.cell_types]]` name of the tumour cells".into()),
        );
    };
    let types: Vec<&str> = model.cell_types.iter().map(|c| c.name.as_str()).collect();
    if model.cell_type(cell_type).is_none() {
        let hint = did_you_mean(cell_type, types.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| Some(format!("the tissue's cell types: {}", types.join(", "))));
        return c.err(
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
            return c.err(&tp.key("variant"), format!("no tissue variant `{v}`"), hint);
        }
        None if variants.len() == 1 => variants[0].to_string(),
        None => {
            return c.err(
                &tp.key("growth"),
                "the tissue has several variants",
                Some(format!("add `variant`, one of: {}", variants.join(", "))),
            );
        }
    };
    let Some(scale) = t.cells_per_simulated_cell else {
        return c.err(
            &tp.key("growth"),
            "`tissue` growth needs `cells_per_simulated_cell`",
            Some("add `cells_per_simulated_cell`: how many tumour cells one simulated cell stands for, e.g. 1e6".into()),
        );
    };
    if !(scale.is_finite() && scale > 0.0) {
        return c.err(
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
            return c.err(
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
        return c.err(
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
