//! Liquid-biopsy observables (per blood test of `[biopsy]`: detectable
//! diameter, detection probability, ROC AUC) and signature observables (per
//! disease of `[signature]`: held-out AUC), read from the run's
//! [`TestResult`](crate::biopsy::study::TestResult)s and
//! [`ConditionResult`](crate::biopsy::panel::ConditionResult)s.

use super::{Kind, ObservableSpec, Table, need, on_grid, pick};
use crate::biopsy::screening::minimal_detectable_diameter;
use crate::run::RunResult;
use crate::scenario::{Study, StudyError};
use crate::units::{Dimension, format_human};

/// A biopsy observable resolved against its study.
#[derive(Debug, Clone)]
pub struct Target {
    kind: Kind,
    test: String,
    /// Detection probability of `detectable_diameter`.
    probability: f64,
    /// Diameter of `detection_probability`, m, one of the curve's.
    diameter: f64,
}

/// A signature observable resolved against its study.
#[derive(Debug, Clone)]
pub struct SignatureTarget {
    condition: String,
}

/// The error of an observable whose study lacks the section it reads.
fn no_section(p: &Table, kind: Kind, section: &str) -> StudyError {
    p.error(
        "kind",
        format!(
            "kind `{}` reads the `[{section}]` section, and the study has none",
            kind.about().name
        ),
        Some(format!(
            "choose a study with `[{section}]`, or another kind"
        )),
    )
}

/// Resolves a biopsy observable: the test, and the probability, the
/// diameter on the detection curve, or the ROC diameter its kind needs.
pub(super) fn resolve(
    spec: &ObservableSpec,
    study: &Study,
    p: &Table,
) -> Result<(Target, String), StudyError> {
    let kind = spec.kind;
    let Some(b) = study.biopsy.as_ref() else {
        return Err(no_section(p, kind, "biopsy"));
    };
    let names: Vec<&str> = b.tests.iter().map(|t| t.name.as_str()).collect();
    let t = pick(p, "test", "blood test", spec.test.as_deref(), &names)?;
    let mut target = Target {
        kind,
        test: names[t].to_string(),
        probability: f64::NAN,
        diameter: f64::NAN,
    };
    let detail = match kind {
        Kind::DetectableDiameter => {
            let q = *need(p, "probability", &spec.probability, kind)?;
            if !(q > 0.0 && q <= 1.0) {
                return Err(p.error(
                    "probability",
                    format!("{q} is not a probability above 0 and at most 1"),
                    Some("e.g. 0.5 or 0.9".into()),
                ));
            }
            target.probability = q;
            format!("detected with probability {q}")
        }
        Kind::DetectionProbability => {
            let d = need(p, "diameter", &spec.diameter, kind)?.si();
            let what = "diameters of the detection curve (`[biopsy.curve]`)";
            target.diameter = on_grid(p, "diameter", d, &b.diameters, Dimension::Length, what)?;
            format!("at {}", format_human(target.diameter, Dimension::Length))
        }
        _ => match b.roc_diameter {
            Some(d) => format!("at {}", format_human(d, Dimension::Length)),
            None => {
                return Err(p.error(
                    "kind",
                    "the study's `[biopsy]` has no ROC curve",
                    Some("set `roc_diameter` in `[biopsy.curve]`".into()),
                ));
            }
        },
    };
    let about = kind.about();
    let description = format!(
        "{}: {}; {detail}; test {}",
        about.name, about.definition, target.test
    );
    Ok((target, description))
}

impl Target {
    /// The value in `result`; NaN when the run lacks the test, when the
    /// curve never reaches the probability within the study's diameters,
    /// when no one was tested at the diameter, or when the AUC could not
    /// be estimated.
    pub(super) fn evaluate(&self, result: &RunResult) -> f64 {
        let Some(t) = result.biopsy.iter().find(|t| t.test == self.test) else {
            return f64::NAN;
        };
        let value = match self.kind {
            Kind::DetectableDiameter => minimal_detectable_diameter(&t.curve, self.probability),
            Kind::DetectionProbability => t
                .curve
                .iter()
                .find(|c| c.diameter == self.diameter)
                .map(|c| c.probability),
            Kind::RocAuc => t.auc.as_ref().map(|a| a.auc),
            _ => None,
        };
        value.unwrap_or(f64::NAN)
    }
}

/// Resolves a signature observable: the disease.
pub(super) fn resolve_signature(
    spec: &ObservableSpec,
    study: &Study,
    p: &Table,
) -> Result<(SignatureTarget, String), StudyError> {
    let Some(s) = study.signature.as_ref() else {
        return Err(no_section(p, spec.kind, "signature"));
    };
    let names: Vec<&str> = s.conditions.iter().map(|c| c.name.as_str()).collect();
    let c = pick(
        p,
        "condition",
        "condition",
        spec.condition.as_deref(),
        &names,
    )?;
    let about = spec.kind.about();
    let description = format!(
        "{}: {}; condition {}",
        about.name, about.definition, names[c]
    );
    Ok((
        SignatureTarget {
            condition: names[c].to_string(),
        },
        description,
    ))
}

impl SignatureTarget {
    /// The held-out AUC of the condition; NaN when the run lacks it.
    pub(super) fn evaluate(&self, result: &RunResult) -> f64 {
        result
            .signature
            .iter()
            .find(|c| c.condition == self.condition)
            .map_or(f64::NAN, |c| c.test_auc)
    }
}
