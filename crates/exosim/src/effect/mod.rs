//! Effect engine: what exposure does to the body.
//!
//! Pharmacodynamic models driven by an exposure course that the body engine
//! produced first (sequential PK/PD: the effect does not act back on where
//! vesicles go). Three families, as pharmacometricians write them:
//!
//! * tumour growth inhibition (Simeoni et al. 2004): exponential then linear
//!   growth, a kill rate proportional to the drug, and three transit
//!   compartments of dying cells;
//! * turnover, or indirect response (Dayneka, Garg & Jusko 1993): a response
//!   made at `kin` and lost at `kout·R`, one of the two inhibited or
//!   stimulated by the drug through an Emax/Hill function;
//! * direct response: `E = E0 + Emax·Cʰ/(EC50ʰ + Cʰ)`.
//!
//! The exposure is either a concentration given at the output times (linear
//! between them) or cargo delivered into a tissue at a rate constant over
//! each output interval, eliminated there at first order
//! ([`Exposure::Delivered`]); `coupling::exposure` makes both from a body
//! arm's course.

pub mod ode;

use ode::{Control, OdeError, Tolerance};

pub use crate::drug::DrugAction;

/// Which rate of a turnover model the drug changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Turnover {
    /// Model I: `kin·(1 − I(C))`.
    InhibitProduction,
    /// Model II: `kout·(1 − I(C))·R`.
    InhibitLoss,
    /// Model III: `kin·(1 + S(C))`.
    StimulateProduction,
    /// Model IV: `kout·(1 + S(C))·R`.
    StimulateLoss,
}

/// The tumour growth inhibition model of Simeoni et al. (2004).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TumourGrowth {
    /// Tumour volume at time 0, m³ (all proliferating).
    pub initial: f64,
    /// Exponential growth rate λ0, 1/s.
    pub lambda0: f64,
    /// Linear growth rate λ1, m³/s.
    pub lambda1: f64,
    /// Sharpness of the switch from exponential to linear growth (20 in
    /// the original model).
    pub psi: f64,
    /// Transit rate of dying cells k1, 1/s.
    pub k1: f64,
    /// Kill potency k2: kill rate per concentration, m³/s.
    pub k2: f64,
}

/// What the exposure does.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Response {
    /// Tumour volume (m³) under a cytotoxic drug.
    TumourGrowth(TumourGrowth),
    /// A response made and lost (a score, a marker) in its own unit.
    Turnover {
        /// Which rate the drug changes.
        kind: Turnover,
        /// Production rate, response unit per s.
        kin: f64,
        /// Loss rate constant, 1/s.
        kout: f64,
        /// The drug's action.
        action: DrugAction,
    },
    /// A response that follows the concentration at once.
    Direct {
        /// Response without drug.
        baseline: f64,
        /// The drug's action, added to the baseline (negative `emax`
        /// lowers it).
        action: DrugAction,
    },
}

impl Response {
    /// The response before any drug: the initial tumour volume, the
    /// turnover's steady state `kin/kout`, the direct model's baseline.
    pub fn baseline(&self) -> f64 {
        match self {
            Response::TumourGrowth(g) => g.initial,
            Response::Turnover { kin, kout, .. } => kin / kout,
            Response::Direct { baseline, .. } => *baseline,
        }
    }

    /// The model's own states at time 0.
    fn initial_states(&self) -> Vec<f64> {
        match self {
            Response::TumourGrowth(g) => vec![g.initial, 0.0, 0.0, 0.0],
            Response::Turnover { .. } => vec![self.baseline()],
            Response::Direct { .. } => Vec::new(),
        }
    }

    /// The reported response from the model's states and the concentration.
    fn value(&self, states: &[f64], c: f64) -> f64 {
        match self {
            Response::TumourGrowth(_) => states.iter().sum(),
            Response::Turnover { .. } => states[0],
            Response::Direct { baseline, action } => baseline + action.at(c),
        }
    }

    /// The time derivative of the model's states at concentration `c`.
    fn rates(&self, s: &[f64], c: f64, d: &mut [f64]) {
        match self {
            Response::TumourGrowth(g) => tumour_rates(g, s, c, d),
            Response::Turnover {
                kind,
                kin,
                kout,
                action,
            } => {
                let a = action.at(c);
                d[0] = match kind {
                    Turnover::InhibitProduction => kin * (1.0 - a) - kout * s[0],
                    Turnover::InhibitLoss => kin - kout * (1.0 - a) * s[0],
                    Turnover::StimulateProduction => kin * (1.0 + a) - kout * s[0],
                    Turnover::StimulateLoss => kin - kout * (1.0 + a) * s[0],
                };
            }
            Response::Direct { .. } => {}
        }
    }
}

/// Simeoni's four states: proliferating cells `x1` and the transit chain
/// `x2 → x3 → x4` of cells hit by the drug.
fn tumour_rates(g: &TumourGrowth, x: &[f64], c: f64, d: &mut [f64]) {
    let w: f64 = x.iter().sum();
    let kill = g.k2 * c.max(0.0) * x[0];
    d[0] = growth(g, w, x[0]) - kill;
    d[1] = kill - g.k1 * x[1];
    d[2] = g.k1 * (x[1] - x[2]);
    d[3] = g.k1 * (x[2] - x[3]);
}

/// `λ0·x1 / (1 + (λ0·w/λ1)^ψ)^(1/ψ)`: λ0·x1 while the tumour is small,
/// λ1·x1/w once it is large. Written so that `(λ0·w/λ1)^ψ` cannot overflow.
fn growth(g: &TumourGrowth, w: f64, x1: f64) -> f64 {
    let r = (g.lambda0 * w / g.lambda1).max(0.0);
    let z = if r <= 1.0 {
        (1.0 + r.powf(g.psi)).powf(1.0 / g.psi)
    } else {
        r * (1.0 + r.powf(-g.psi)).powf(1.0 / g.psi)
    };
    g.lambda0 * x1 / z
}

/// The drive of an effect model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Exposure {
    /// A concentration at each output time (1/m³), linear between them.
    Concentration(Vec<f64>),
    /// Cargo delivered into a volume: copies entering per second over each
    /// output interval (one fewer than the output times), eliminated at
    /// first order; the concentration is the amount over the volume.
    Delivered {
        /// Copies per second entering over each interval.
        inflow: Vec<f64>,
        /// Volume the cargo spreads in, m³.
        volume: f64,
        /// First-order elimination rate of the cargo there, 1/s.
        elimination: f64,
    },
}

/// An effect model's course at the output times.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EffectCourse {
    /// The concentration that drove it, 1/m³.
    pub concentration: Vec<f64>,
    /// The response (tumour volume in m³, or the response's own unit).
    pub response: Vec<f64>,
    /// Tumour growth only: the proliferating part of the volume, m³.
    pub proliferating: Option<Vec<f64>>,
    /// Accepted integration steps.
    pub steps: usize,
}

/// Integrates `response` under `exposure` over `times` (sorted, from 0).
pub fn simulate(
    times: &[f64],
    exposure: &Exposure,
    response: &Response,
    tol: Tolerance,
) -> Result<EffectCourse, OdeError> {
    let delivered = matches!(exposure, Exposure::Delivered { .. });
    let offset = usize::from(delivered);
    let mut y = vec![0.0; offset];
    y.extend(response.initial_states());
    let concentration_of = |k: usize, t: f64, y: &[f64]| match exposure {
        Exposure::Concentration(c) => {
            let (t0, t1) = (times[k], times[(k + 1).min(times.len() - 1)]);
            let f = if t1 > t0 { (t - t0) / (t1 - t0) } else { 0.0 };
            c[k] + f * (c[(k + 1).min(c.len() - 1)] - c[k])
        }
        Exposure::Delivered { volume, .. } => y[0] / volume,
    };
    let mut course = EffectCourse {
        concentration: Vec::with_capacity(times.len()),
        response: Vec::with_capacity(times.len()),
        proliferating: matches!(response, Response::TumourGrowth(_)).then(Vec::new),
        steps: 0,
    };
    let mut ctl = Control {
        tol,
        scale: typical_sizes(exposure, response),
        h: 0.0,
    };
    for (k, &t) in times.iter().enumerate() {
        if k > 0 && !y.is_empty() {
            let rhs = |t: f64, y: &[f64], d: &mut [f64]| {
                if let Exposure::Delivered {
                    inflow,
                    elimination,
                    ..
                } = exposure
                {
                    d[0] = inflow[k - 1] - elimination * y[0];
                }
                let c = concentration_of(k - 1, t, y);
                response.rates(&y[offset..], c, &mut d[offset..]);
            };
            course.steps += ode::integrate(rhs, times[k - 1], t, &mut y, &mut ctl)?;
        }
        let c = concentration_of(k.min(times.len().saturating_sub(2)), t, &y);
        course.concentration.push(c);
        course.response.push(response.value(&y[offset..], c));
        if let Some(p) = course.proliferating.as_mut() {
            p.push(y[offset]);
        }
    }
    Ok(course)
}

/// Typical size of each state, for the absolute tolerance: the cargo's
/// largest steady amount, then the response's baseline.
fn typical_sizes(exposure: &Exposure, response: &Response) -> Vec<f64> {
    let mut scale = Vec::new();
    if let Exposure::Delivered {
        inflow,
        elimination,
        ..
    } = exposure
    {
        let most = inflow.iter().fold(0.0, |m: f64, q| m.max(*q));
        let amount = if *elimination > 0.0 {
            most / elimination
        } else {
            most * 86_400.0
        };
        scale.push(if amount > 0.0 { amount } else { 1.0 });
    }
    let base = response.baseline().abs();
    let base = if base > 0.0 { base } else { 1.0 };
    scale.extend(response.initial_states().iter().map(|_| base));
    scale
}

#[cfg(test)]
mod tests;
