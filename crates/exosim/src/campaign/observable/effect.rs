//! Effect observables: an `[[effects]]` entry's response in one arm at an
//! output time, as it is or over its start, or a figure of its whole course
//! (best response, progression), read from the run's effect runs in the
//! unit the run reports (a tumour in mm³).
//!
//! The course figures follow RECIST 1.1 (Eisenhauer et al. 2009,
//! docs/references.md#recist-2009) read on a volume: its thresholds are on
//! a diameter, so +20 % (progression) is ×1.2³ = 1.728 in volume and −30 %
//! (partial response) ×0.7³ = 0.343. RECIST's 5 mm absolute increase is
//! left out: a simulated response has no measurement floor.

use super::{Kind, Table, need, on_grid, pick};
use crate::run::RunResult;
use crate::scenario::{Study, StudyError};
use crate::units::{self, Dimension};

/// An effect observable resolved against its study.
#[derive(Debug, Clone)]
pub struct Target {
    kind: Kind,
    arm: String,
    effect: String,
    /// Index of `time` among the study's output times (0 for the figures
    /// of the whole course).
    k: usize,
    /// The study's output times, s (for the time to progression).
    times: Vec<f64>,
}

/// Growth over the lowest value so far that is a progression: +20 % in
/// diameter, cubed (RECIST 1.1).
pub const PROGRESSION_RATIO: f64 = 1.728;

/// The lowest response after time 0 over the first, minus 1; NaN for a
/// course of one point or one that starts at 0.
pub fn best_response(v: &[f64]) -> f64 {
    match v.split_first() {
        Some((&v0, rest)) if !rest.is_empty() && v0 > 0.0 => {
            rest.iter().copied().fold(f64::INFINITY, f64::min) / v0 - 1.0
        }
        _ => f64::NAN,
    }
}

/// The first of `times` at which `v` is at least [`PROGRESSION_RATIO`]
/// times its lowest value so far (time 0 included), and whether it ever
/// is: (that time, true), or (the last time, false).
pub fn progression(times: &[f64], v: &[f64]) -> (f64, bool) {
    let mut nadir = f64::INFINITY;
    for (&t, &x) in times.iter().zip(v) {
        if x >= PROGRESSION_RATIO * nadir {
            return (t, true);
        }
        nadir = nadir.min(x);
    }
    (times.last().copied().unwrap_or(f64::NAN), false)
}

/// Resolves the arm, the effect and the output time; returns the target,
/// its description and the effect's unit.
pub(super) fn resolve(
    spec: &super::ObservableSpec,
    study: &Study,
    p: &Table,
) -> Result<(Target, String, String), StudyError> {
    let arms: Vec<&str> = study.arms.iter().map(|a| a.name.as_str()).collect();
    let arm = arms[pick(p, "arm", "arm", spec.arm.as_deref(), &arms)?].to_string();
    let names: Vec<&str> = study.effects.iter().map(|e| e.name.as_str()).collect();
    let e = pick(p, "effect", "effect", spec.effect.as_deref(), &names)?;
    let grid = &study.output_times;
    let at_time = matches!(spec.kind, Kind::Effect | Kind::EffectChange);
    let (k, when) = if at_time {
        let t = need(p, "time", &spec.time, spec.kind)?.si();
        let time = on_grid(p, "time", t, grid, Dimension::Time, "output times")?;
        let k = grid.iter().position(|&g| g == time).unwrap_or(0);
        (k, units::format_human(time, Dimension::Time))
    } else {
        (0, String::new())
    };
    let model = &study.effects[e];
    let unit = match spec.kind {
        Kind::Effect => model.unit.clone(),
        other => other.about().unit.to_string(),
    };
    let target = Target {
        kind: spec.kind,
        arm,
        effect: model.name.clone(),
        k,
        times: grid.clone(),
    };
    let (effect, arm) = (&target.effect, &target.arm);
    let description = match spec.kind {
        Kind::EffectChange => format!("effect {effect} at {when} over its start (arm {arm})"),
        Kind::BestResponse => format!("best change of effect {effect} from its start (arm {arm})"),
        Kind::TimeToProgression => {
            format!("time to progression of effect {effect}, or the end (arm {arm})")
        }
        Kind::Progressed => format!("effect {effect} progressed, 1 or 0 (arm {arm})"),
        _ => format!("effect {effect} at {when} (arm {arm})"),
    };
    Ok((target, description, unit))
}

impl Target {
    /// The value or change read at output time `t` instead of its own;
    /// None for the figures of the whole course, or a time off the grid.
    pub(super) fn at_time(&self, t: f64) -> Option<Target> {
        if !matches!(self.kind, Kind::Effect | Kind::EffectChange) {
            return None;
        }
        let k = self.times.iter().position(|&g| g == t)?;
        Some(Target { k, ..self.clone() })
    }

    /// The value in `result`; NaN if the result has no such effect run.
    pub fn evaluate(&self, result: &RunResult) -> f64 {
        let Some(run) = result
            .effects
            .iter()
            .find(|r| r.arm == self.arm && r.effect == self.effect)
        else {
            return f64::NAN;
        };
        let v = run.reported();
        match self.kind {
            Kind::BestResponse => return best_response(&v),
            Kind::TimeToProgression => return progression(&self.times, &v).0,
            Kind::Progressed => return f64::from(u8::from(progression(&self.times, &v).1)),
            _ => {}
        }
        let Some(&at) = v.get(self.k) else {
            return f64::NAN;
        };
        match self.kind {
            Kind::EffectChange => at / v[0],
            _ => at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RECIST on a volume: a tumour that shrinks to 40 % and regrows
    /// progresses when it reaches 1.728 × 40 % of its start, not before.
    #[test]
    fn progression_is_measured_from_the_nadir() {
        let times = [0.0, 1.0, 2.0, 3.0, 4.0];
        let v = [100.0, 40.0, 60.0, 69.2, 80.0];
        assert_eq!(progression(&times, &v), (3.0, true));
        assert!((best_response(&v) + 0.6).abs() < 1e-15);
        assert_eq!(
            progression(&times, &[1.0, 1.1, 1.2, 1.3, 1.7]),
            (4.0, false)
        );
        assert!(best_response(&[0.0, 1.0]).is_nan());
    }
}
