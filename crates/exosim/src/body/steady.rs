//! The steady state of an arm under its sources held on: what a person
//! whose vesicles are released at a constant rate carries in every place
//! once the release and the losses balance.
//!
//! A blood test of a condition (a gut barrier's permeability, say) reads
//! the plasma level such a person lives at, not the level at one moment of
//! a simulated course that started from an empty body; the course
//! approaches this state, and the test of this module checks that it does.
//!
//! The network is solved in full, its saturable macrophage sites included
//! (no linear limit), by Newton's method on dx/dt = 0 over the states that
//! lose what they hold. States that only receive (the sinks `degraded` and
//! `cleared`, a drug's eliminated amount, a source's withheld share, an
//! organ without efflux) grow without bound under a constant input and are
//! left out: nothing they hold acts on another state. Doses, of vesicles or
//! of drugs, are transient and leave nothing in a steady state.

use nalgebra::{DMatrix, DVector};

use super::model::Arm;
use super::pbpk::{self, ArmModel, Place};

/// Newton iterations before the solve gives up.
const MAX_ITERATIONS: usize = 100;
/// Relative size of the last Newton step at which the solve has converged.
const STEP_TOLERANCE: f64 = 1e-13;
/// Largest residual accepted, relative to the total input rate.
const RESIDUAL_TOLERANCE: f64 = 1e-9;

/// Amounts of every state of an arm at steady state (the receiving-only
/// states at 0), or why there is none (in words).
pub fn steady_state(arm: &Arm, model: &ArmModel) -> Result<Vec<f64>, String> {
    let inputs = pbpk::constant_inputs(arm, model);
    let net = &model.network;
    let n = net.len();
    let mut losing = vec![false; n];
    for t in &net.transfers {
        losing[t.from] = true;
    }
    for m in net.sites.iter().flat_map(|s| &s.members) {
        losing[m.from] = true;
    }
    let keep: Vec<usize> = (0..n).filter(|&i| losing[i]).collect();
    let total_input: f64 = inputs.iter().sum();
    let mut y = vec![0.0; n];
    let residual = |y: &[f64]| {
        let mut dy = vec![0.0; n];
        net.rhs(y, &inputs, &mut dy);
        DVector::from_iterator(keep.len(), keep.iter().map(|&i| dy[i]))
    };
    let mut f = residual(&y);
    for _ in 0..MAX_ITERATIONS {
        let step = jacobian(model, &y, &inputs, &keep)
            .lu()
            .solve(&(-&f))
            .ok_or("the steady state is singular: some vesicles are never lost")?;
        // Halve the step until the residual falls (the Michaelis–Menten
        // sites bend the flux; a full step from far away can overshoot).
        let mut scale = 1.0;
        let (mut trial, mut f_trial);
        loop {
            trial = y.clone();
            for (k, &i) in keep.iter().enumerate() {
                trial[i] = (y[i] + scale * step[k]).max(0.0);
            }
            f_trial = residual(&trial);
            if f_trial.amax() <= f.amax() || scale < 1e-6 {
                break;
            }
            scale *= 0.5;
        }
        y = trial;
        f = f_trial;
        let size = keep.iter().map(|&i| y[i].abs()).fold(0.0, f64::max);
        if scale * step.amax() <= STEP_TOLERANCE * size.max(f64::MIN_POSITIVE) {
            if f.amax() > RESIDUAL_TOLERANCE * total_input.max(f64::MIN_POSITIVE) {
                return Err(format!(
                    "the steady state left a residual of {:.3e} /s for an input of {total_input:.3e} /s",
                    f.amax()
                ));
            }
            return Ok(y);
        }
    }
    Err(format!(
        "no steady state within {MAX_ITERATIONS} Newton iterations"
    ))
}

/// The Jacobian of the fluxes at `y` over the states `keep`.
fn jacobian(model: &ArmModel, y: &[f64], inputs: &[f64], keep: &[usize]) -> DMatrix<f64> {
    let net = &model.network;
    let n = net.len();
    let mut full = vec![0.0; n * n];
    let mut unit = vec![0.0; n];
    for &j in keep {
        unit[j] = 1.0;
        net.jac_mul(y, &unit, &mut full[j * n..(j + 1) * n]);
        unit[j] = 0.0;
    }
    net.release_jacobian(y, inputs, &mut full);
    DMatrix::from_fn(keep.len(), keep.len(), |r, c| full[keep[c] * n + keep[r]])
}

/// Vesicles of the study's class `class` per m³ of plasma in `arm` at
/// steady state (the blood place over the body's plasma volume, as
/// `plasma_per_ml`), or `None` when the arm does not give the class.
pub fn plasma_level(arm: &Arm, model: &ArmModel, y: &[f64], class: usize) -> Option<f64> {
    let states = model.classes.iter().find(|c| c.class == class)?;
    let blood: f64 = states
        .places(&arm.body)
        .into_iter()
        .filter(|(p, _)| *p == Place::Blood)
        .flat_map(|(_, s)| s)
        .map(|s| y[s])
        .sum();
    Some(blood / arm.body.plasma_volume())
}
