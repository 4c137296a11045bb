//! Effect observables: an `[[effects]]` entry's response in one arm at an
//! output time, as it is or over its start, read from the run's
//! effect runs in the unit the run reports (a tumour in mm³).

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
    /// Index of `time` among the study's output times.
    k: usize,
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
    let t = need(p, "time", &spec.time, spec.kind)?.si();
    let grid = &study.output_times;
    let time = on_grid(p, "time", t, grid, Dimension::Time, "output times")?;
    let k = grid.iter().position(|&g| g == time).unwrap_or(0);
    let model = &study.effects[e];
    let unit = match spec.kind {
        Kind::EffectChange => "1".to_string(),
        _ => model.unit.clone(),
    };
    let target = Target {
        kind: spec.kind,
        arm,
        effect: model.name.clone(),
        k,
    };
    let when = units::format_human(time, Dimension::Time);
    let description = match spec.kind {
        Kind::EffectChange => format!(
            "effect {} at {when} over its start (arm {})",
            target.effect, target.arm
        ),
        _ => format!("effect {} at {when} (arm {})", target.effect, target.arm),
    };
    Ok((target, description, unit))
}

impl Target {
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
        let Some(&at) = v.get(self.k) else {
            return f64::NAN;
        };
        match self.kind {
            Kind::EffectChange => at / v[0],
            _ => at,
        }
    }
}
