//! Body-scale engine: organs and blood as well-mixed compartments.
//!
//! [`pbpk`] assembles each arm's physiology and vesicle classes into a
//! [`network::Network`], [`network::simulate`] integrates it through the
//! dosing schedule, and this module turns the trajectory into per-place
//! counts, the mass balance and the pharmacokinetic figures ([`pk`]).

mod bdf;
mod dense_lu;
pub mod model;
pub mod network;
pub mod pbpk;
pub mod pk;

use std::collections::BTreeMap;

use serde::Serialize;

use model::{Arm, Plan};
use network::{SolveError, Tolerances, Trajectory};
use pbpk::{ArmModel, Place};

/// Counts of one class in one place over the output times.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlaceSeries {
    /// Where.
    pub place: Place,
    /// Vesicles at each output time.
    pub counts: Vec<f64>,
}

/// The observed course of one class in one arm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassCourse {
    /// Index into the study's classes.
    pub class: usize,
    /// One series per place, in report order.
    pub places: Vec<PlaceSeries>,
    /// Vesicles dosed by each output time.
    pub dosed: Vec<f64>,
    /// Vesicles released by sources by each output time.
    pub released: Vec<f64>,
    /// Vesicles drained in from a coupled tissue by each output time.
    pub drained_in: Vec<f64>,
    /// Vesicles that left blood into a coupled tissue by each output time.
    pub extravasated: Vec<f64>,
}

impl ClassCourse {
    /// The series of `place`.
    pub fn series(&self, place: Place) -> Option<&[f64]> {
        self.places
            .iter()
            .find(|p| p.place == place)
            .map(|p| p.counts.as_slice())
    }

    /// Relative mass-balance error at each output time:
    /// |dosed + released + drained in − (present + cleared + degraded +
    /// extravasated)| / (dosed + released + drained in).
    pub fn balance_errors(&self) -> Vec<f64> {
        (0..self.dosed.len())
            .map(|k| {
                let input = self.dosed[k] + self.released[k] + self.drained_in[k];
                let accounted: f64 =
                    self.places.iter().map(|p| p.counts[k]).sum::<f64>() + self.extravasated[k];
                if input > 0.0 {
                    (input - accounted).abs() / input
                } else {
                    accounted.abs()
                }
            })
            .collect()
    }
}

/// The simulated course of one arm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArmCourse {
    /// Arm name.
    pub arm: String,
    /// Output times, s.
    pub times: Vec<f64>,
    /// Per class.
    pub classes: Vec<ClassCourse>,
    /// Solver work: accepted steps.
    pub steps: usize,
}

/// Integrates one arm of a study.
pub fn simulate_arm(
    plan: &Plan,
    arm: &Arm,
    progress: impl FnMut(f64),
) -> Result<ArmCourse, SolveError> {
    let model = pbpk::build(plan, arm);
    let tol = tolerances(plan, arm, &model);
    let traj = network::simulate(
        &model.network,
        &model.events,
        &plan.output_times,
        plan.duration,
        &tol,
        progress,
    )?;
    Ok(observe(arm, &model, traj, |_, _| (0.0, 0.0)))
}

/// Tolerances of an arm: the study's relative tolerance, and an absolute
/// tolerance per state scaled to the input of the state's own class, so that
/// a dose of 1e10 and one of 1e3 are solved to the same relative accuracy,
/// in one arm or in two.
pub fn tolerances(plan: &Plan, arm: &Arm, model: &ArmModel) -> Tolerances {
    let mut atol = vec![plan.solver.atol_fraction; model.network.len()];
    for cs in &model.classes {
        let (dosed, released) = arm.input_by(cs.class, plan.duration);
        let scale = (dosed + released).max(1.0);
        for (_, states) in cs.places(&arm.body) {
            for i in states {
                atol[i] = plan.solver.atol_fraction * scale;
            }
        }
    }
    Tolerances {
        rtol: plan.solver.rtol,
        atol,
    }
}

/// Turns a trajectory into per-place counts and the ledger; `exchanged`
/// gives, per class and time, the vesicles (drained in from a tissue,
/// extravasated into it) by then, (0, 0) for an arm without a tissue.
pub fn observe(
    arm: &Arm,
    model: &ArmModel,
    traj: Trajectory,
    exchanged: impl Fn(usize, f64) -> (f64, f64),
) -> ArmCourse {
    let classes = model
        .classes
        .iter()
        .map(|cs| {
            let places = cs
                .places(&arm.body)
                .into_iter()
                .map(|(place, states)| PlaceSeries {
                    place,
                    counts: traj
                        .states()
                        .map(|y| states.iter().map(|&i| y[i]).sum())
                        .collect(),
                })
                .collect();
            let ledger: Vec<(f64, f64)> = traj
                .times
                .iter()
                .map(|&t| arm.input_by(cs.class, t))
                .collect();
            let exchange: Vec<(f64, f64)> =
                traj.times.iter().map(|&t| exchanged(cs.class, t)).collect();
            ClassCourse {
                class: cs.class,
                places,
                dosed: ledger.iter().map(|l| l.0).collect(),
                released: ledger.iter().map(|l| l.1).collect(),
                drained_in: exchange.iter().map(|l| l.0).collect(),
                extravasated: exchange.iter().map(|l| l.1).collect(),
            }
        })
        .collect();
    ArmCourse {
        arm: arm.name.clone(),
        times: traj.times,
        classes,
        steps: traj.steps,
    }
}

/// What the summary reports for one class in one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassSummary {
    /// Arm name.
    pub arm: String,
    /// Class name.
    pub vesicles: String,
    /// Vesicles dosed over the study.
    pub dosed: f64,
    /// Vesicles released by sources over the study.
    pub released: f64,
    /// Vesicles drained in from a coupled tissue over the study.
    #[serde(skip_serializing_if = "is_zero")]
    pub drained_in_from_tissue: f64,
    /// Vesicles that left blood into a coupled tissue over the study.
    #[serde(skip_serializing_if = "is_zero")]
    pub extravasated_into_tissue: f64,
    /// Non-compartmental figures of blood concentration (blood amount over
    /// blood volume) after the first dose, up to the next administration of
    /// the class, when the class was dosed. An infusion's figures are those of
    /// its whole course (peak at its end).
    pub pk: Option<pk::PkFigures>,
    /// Share of everything that entered (dosed + released + drained in from
    /// a coupled tissue) in each place at
    /// each report time: `{"3600": {"liver": 0.6, …}}`, keys in seconds.
    pub fraction_of_dose: BTreeMap<String, BTreeMap<String, f64>>,
    /// Time (s) at which each tissue holds the most vesicles.
    pub peak_time_s: BTreeMap<String, f64>,
    /// Largest relative mass-balance error over output times.
    pub mass_balance_relative_error: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Summarises a simulated arm.
pub fn summarise(plan: &Plan, arm: &Arm, course: &ArmCourse) -> Vec<ClassSummary> {
    course
        .classes
        .iter()
        .map(|cc| {
            let last = course.times.len() - 1;
            let dosed = cc.dosed[last];
            let blood = cc.series(Place::Blood).unwrap_or(&[]);
            // Figures of the first dose: from it up to (not including) the
            // next administration of the class, where counts jump.
            let mut dose_times: Vec<f64> = arm
                .doses
                .iter()
                .filter(|d| d.class == cc.class)
                .flat_map(|d| d.times.iter().copied())
                .collect();
            dose_times.sort_by(f64::total_cmp);
            let pk = dose_times.first().map(|&first| {
                let next = dose_times
                    .iter()
                    .copied()
                    .find(|&t| t > first)
                    .unwrap_or(f64::INFINITY);
                let within = course.times.iter().take_while(|&&t| t < next).count();
                let first_dose = arm
                    .doses
                    .iter()
                    .filter(|d| d.class == cc.class && d.times.contains(&first))
                    .map(|d| d.amount)
                    .sum();
                let conc: Vec<f64> = blood[..within]
                    .iter()
                    .map(|n| n / arm.body.blood_volume)
                    .collect();
                pk::non_compartmental(&course.times[..within], &conc, first, first_dose)
            });
            let mut fraction_of_dose = BTreeMap::new();
            for &t in plan.report_times {
                let Some(k) = course.times.iter().position(|&x| x == t) else {
                    continue;
                };
                let input = cc.dosed[k] + cc.released[k] + cc.drained_in[k];
                let shares = cc
                    .places
                    .iter()
                    .map(|p| {
                        (
                            p.place.name().to_string(),
                            if input > 0.0 {
                                p.counts[k] / input
                            } else {
                                0.0
                            },
                        )
                    })
                    .collect();
                fraction_of_dose.insert(format!("{t}"), shares);
            }
            // First time of the largest count; organs never reached have no peak.
            let peak_time_s = cc
                .places
                .iter()
                .filter(|p| matches!(p.place, Place::Tissue(_)))
                .filter_map(|p| {
                    let (k, max) = p.counts.iter().enumerate().fold((0, 0.0), |best, (k, &c)| {
                        if c > best.1 { (k, c) } else { best }
                    });
                    (max > 0.0).then(|| (p.place.name().to_string(), course.times[k]))
                })
                .collect();
            ClassSummary {
                arm: arm.name.clone(),
                vesicles: plan.vesicles[cc.class].name.clone(),
                dosed,
                released: cc.released[last],
                drained_in_from_tissue: cc.drained_in[last],
                extravasated_into_tissue: cc.extravasated[last],
                pk,
                fraction_of_dose,
                peak_time_s,
                mass_balance_relative_error: cc.balance_errors().into_iter().fold(0.0, f64::max),
            }
        })
        .collect()
}
