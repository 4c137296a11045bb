//! A body arm's course as the exposure of an effect model: the vesicles of
//! chosen classes in a place, per volume, or the cargo they delivered into
//! an organ's tissue.
//!
//! Delivered cargo is what entered the tissue (from its vascular bed, or
//! injected there), times the copies each vesicle carries. The body records
//! counts, not fluxes, so the uptake over an output interval is read from
//! the tissue's balance: `ΔN + k_out·∫N dt`, with `k_out` the tissue's
//! first-order losses (degradation, excretion, return to blood) and the
//! integral by the trapezoid rule, on a grid of at most [`EXPOSURE_STEP`]
//! (the arm's body is solved again on it): vesicles reach a tissue within
//! minutes of a bolus, far faster than a study's output interval.

use crate::body::model::{Arm, Plan};
use crate::body::network::SolveError;
use crate::body::pbpk::{self, Place};
use crate::body::{self, ArmCourse};
use crate::effect::{self, EffectCourse, Exposure, Response, ode::OdeError, ode::Tolerance};

/// What of the body drives an effect.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Measure {
    /// Vesicles present in the place per volume of it (blood: per blood
    /// volume).
    Concentration,
    /// Cargo delivered into the place's tissue.
    Delivered {
        /// Copies of cargo per vesicle.
        copies: f64,
        /// First-order elimination of the cargo in the tissue, 1/s.
        elimination: f64,
    },
}

/// An effect model of a study and where its exposure comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EffectModel {
    /// Identifier, used in columns and reports.
    pub name: String,
    /// Unit of the response as reported ("mm3" for a tumour, else the
    /// study's word).
    pub unit: String,
    /// Place whose vesicles drive it.
    pub place: Place,
    /// Indices of the vesicle classes counted.
    pub classes: Vec<usize>,
    /// What is measured there.
    pub measure: Measure,
    /// The pharmacodynamic model.
    pub response: Response,
}

/// Relative and absolute tolerance of every effect model: far tighter
/// than the body's own, so that the effect adds no error of its own.
pub const TOLERANCE: Tolerance = Tolerance {
    rtol: 1e-8,
    atol: 1e-10,
};

/// Longest interval, s, on which an arm's exposure is read. The error of
/// the tissue's balance falls with its square; at 5 min the tumour of
/// `studies/ev_drug_xenograft.toml` is within 2e-4 of a 1 min grid
/// (tests/integration/effects.rs).
pub const EXPOSURE_STEP: f64 = 300.0;

/// An effect could not be computed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EffectError {
    /// The arm's body could not be solved on the exposure grid.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// The effect model could not be integrated.
    #[error(transparent)]
    Ode(#[from] OdeError),
}

/// Every effect of `models` in one arm, at the study's output times. An
/// arm whose body ran alone (`coupled` is `None`) is solved again on the
/// exposure grid; a tissue-coupled arm's course is used as it is.
pub fn effects_of_arm(
    plan: &Plan,
    arm: &Arm,
    coupled: Option<&ArmCourse>,
    models: &[EffectModel],
) -> Result<Vec<EffectCourse>, EffectError> {
    if let Some(course) = coupled {
        return models
            .iter()
            .map(|m| run_effect(plan, arm, course, m).map_err(EffectError::from))
            .collect();
    }
    let (fine, at) = exposure_grid(plan.output_times);
    let fine_plan = Plan {
        output_times: &fine,
        ..*plan
    };
    let course = body::simulate_arm(&fine_plan, arm, |_| {})?;
    models
        .iter()
        .map(|m| {
            let c = run_effect(&fine_plan, arm, &course, m)?;
            Ok(sampled(&c, &at))
        })
        .collect()
}

/// The output grid with each interval cut into pieces of at most
/// [`EXPOSURE_STEP`]; and where each output time is in it.
fn exposure_grid(times: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut fine = Vec::new();
    let mut at = Vec::with_capacity(times.len());
    for (k, &t) in times.iter().enumerate() {
        if k > 0 {
            let t0 = times[k - 1];
            let n = ((t - t0) / EXPOSURE_STEP).ceil().max(1.0) as usize;
            fine.extend((1..n).map(|j| t0 + (t - t0) * j as f64 / n as f64));
        }
        at.push(fine.len());
        fine.push(t);
    }
    (fine, at)
}

/// `course` at the grid indices `at`.
fn sampled(course: &EffectCourse, at: &[usize]) -> EffectCourse {
    let pick = |v: &[f64]| at.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    EffectCourse {
        concentration: pick(&course.concentration),
        response: pick(&course.response),
        proliferating: course.proliferating.as_deref().map(pick),
        steps: course.steps,
    }
}

/// The effect of `model` in one arm whose body course is `course`.
pub fn run_effect(
    plan: &Plan,
    arm: &Arm,
    course: &ArmCourse,
    model: &EffectModel,
) -> Result<EffectCourse, OdeError> {
    let exposure = exposure(plan, arm, course, model);
    effect::simulate(&course.times, &exposure, &model.response, TOLERANCE)
}

/// The exposure of `model` from an arm's course.
pub fn exposure(plan: &Plan, arm: &Arm, course: &ArmCourse, model: &EffectModel) -> Exposure {
    let volume = place_volume(arm, model.place);
    match model.measure {
        Measure::Concentration => {
            let counts = summed_counts(course, &model.classes, model.place);
            Exposure::Concentration(counts.iter().map(|n| n / volume).collect())
        }
        Measure::Delivered {
            copies,
            elimination,
        } => Exposure::Delivered {
            inflow: delivered_rate(plan, arm, course, model)
                .iter()
                .map(|q| q * copies)
                .collect(),
            volume,
            elimination,
        },
    }
}

/// The place's volume: total blood, an organ's tissue, lymph; a depot or a
/// sink has none of its own, and is refused when the study is resolved.
pub fn place_volume(arm: &Arm, place: Place) -> f64 {
    let body = &arm.body;
    match place {
        Place::Blood => body.blood_volume,
        Place::Lymph => body.lymph_volume,
        Place::Tissue(organ) => body
            .organs
            .iter()
            .find(|o| o.organ == organ)
            .map_or(f64::NAN, |o| o.volume),
        _ => f64::NAN,
    }
}

/// Counts of the chosen classes in `place` at each output time.
fn summed_counts(course: &ArmCourse, classes: &[usize], place: Place) -> Vec<f64> {
    let mut total = vec![0.0; course.times.len()];
    for cc in course.classes.iter().filter(|c| classes.contains(&c.class)) {
        if let Some(series) = cc.series(place) {
            total.iter_mut().zip(series).for_each(|(t, n)| *t += n);
        }
    }
    total
}

/// Vesicles of the chosen classes entering the place's tissue per second
/// over each output interval, from the tissue's balance (module docs).
fn delivered_rate(plan: &Plan, arm: &Arm, course: &ArmCourse, model: &EffectModel) -> Vec<f64> {
    let Place::Tissue(organ) = model.place else {
        return vec![0.0; course.times.len().saturating_sub(1)];
    };
    let net = pbpk::build(plan, arm);
    let Some(i) = arm.body.organs.iter().position(|o| o.organ == organ) else {
        return vec![0.0; course.times.len().saturating_sub(1)];
    };
    let mut rate = vec![0.0; course.times.len().saturating_sub(1)];
    for cs in net
        .classes
        .iter()
        .filter(|c| model.classes.contains(&c.class))
    {
        let state = cs.tissue[i];
        let k_out: f64 = net
            .network
            .transfers
            .iter()
            .filter(|t| t.from == state)
            .map(|t| t.rate)
            .sum();
        let Some(n) = course
            .classes
            .iter()
            .find(|c| c.class == cs.class)
            .and_then(|c| c.series(model.place))
        else {
            continue;
        };
        for (k, r) in rate.iter_mut().enumerate() {
            let dt = course.times[k + 1] - course.times[k];
            if dt > 0.0 {
                let uptake = (n[k + 1] - n[k]) + k_out * 0.5 * (n[k] + n[k + 1]) * dt;
                *r += uptake.max(0.0) / dt;
            }
        }
    }
    rate
}

/// One effect in one arm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EffectRun {
    /// Arm name.
    pub arm: String,
    /// Effect name.
    pub effect: String,
    /// Unit of the reported response.
    pub unit: String,
    /// The course, in SI units (a tumour's volume in m³).
    pub course: EffectCourse,
}

impl EffectRun {
    /// The response in its reported unit (a tumour's volume in mm³).
    pub fn reported(&self) -> Vec<f64> {
        let scale = if self.unit == "mm3" { 1e9 } else { 1.0 };
        self.course.response.iter().map(|v| v * scale).collect()
    }
}

/// What `summary.json` says of one effect in one arm.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EffectSummary {
    /// Arm name.
    pub arm: String,
    /// Effect name.
    pub effect: String,
    /// Unit of the values below.
    pub unit: String,
    /// Response at time 0.
    pub start: f64,
    /// Response at the end of the study.
    pub end: f64,
    /// Lowest response and when, s.
    pub minimum: (f64, f64),
    /// Highest response and when, s.
    pub maximum: (f64, f64),
    /// End over start.
    pub end_over_start: f64,
    /// Highest concentration that drove it, per mL.
    pub peak_concentration_per_ml: f64,
}

/// The summary of each effect run.
pub fn summarise(times: &[f64], runs: &[EffectRun]) -> Vec<EffectSummary> {
    runs.iter()
        .map(|r| {
            let v = r.reported();
            let at = |k: usize| (v[k], times[k]);
            let (lo, hi) = (0..v.len()).fold((0, 0), |(lo, hi), k| {
                (
                    if v[k] < v[lo] { k } else { lo },
                    if v[k] > v[hi] { k } else { hi },
                )
            });
            EffectSummary {
                arm: r.arm.clone(),
                effect: r.effect.clone(),
                unit: r.unit.clone(),
                start: v[0],
                end: v[v.len() - 1],
                minimum: at(lo),
                maximum: at(hi),
                end_over_start: v[v.len() - 1] / v[0],
                peak_concentration_per_ml: r
                    .course
                    .concentration
                    .iter()
                    .fold(0.0_f64, |m, c| m.max(*c))
                    * 1e-6,
            }
        })
        .collect()
}
