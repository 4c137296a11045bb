//! A multi-marker signature study as resolved from a study file's
//! `[signature]` section, and its run: virtual cohorts of healthy people and
//! of each disease, the cross-validated AUC of an L2-regularised logistic
//! signature against healthy people (on training and on held-out folds), and
//! the AUC of each marker alone for comparison.
//!
//! Random streams: the healthy cohort is drawn from domain
//! [`DOMAIN_HEALTHY`], condition `i` (in study order) from
//! `DOMAIN_HEALTHY + 1 + i`; fold assignment uses the study seed (see
//! [`signature::cross_validated_auc`]). Results are bit-identical for a seed.

use serde::Serialize;

use super::roc::{self, AucEstimate};
use super::signature::{self, ConditionSpec, Correlation, CvResult, MarkerSpec, SignatureError};

/// Stream domain of the healthy reference cohort; condition `i` uses
/// `DOMAIN_HEALTHY + 1 + i`.
pub const DOMAIN_HEALTHY: u64 = 0x5167_0000;

/// Confidence level of the single-marker AUC intervals.
pub const CI_LEVEL: f64 = 0.95;

/// The resolved `[signature]` section.
#[derive(Debug, Clone)]
pub struct SignatureStudy {
    /// Every marker: the study's, then the noise markers (named `noise_1`, …).
    pub markers: Vec<MarkerSpec>,
    /// How many of [`SignatureStudy::markers`] the study file lists (the
    /// rest are noise).
    pub informative_markers: usize,
    /// Correlation of all markers (noise markers independent of everything).
    pub correlation: Correlation,
    /// Diseases, each with one fold change per marker (1 for noise).
    pub conditions: Vec<ConditionSpec>,
    /// Individuals per condition (healthy included).
    pub cohort: usize,
    /// Cross-validation folds.
    pub folds: usize,
    /// L2 penalty.
    pub lambda: f64,
}

/// One marker alone against healthy people.
#[derive(Debug, Clone, Serialize)]
pub struct MarkerAuc {
    /// Marker name.
    pub marker: String,
    /// Fold change in the condition.
    pub fold_change: f64,
    /// Empirical AUC on the whole cohorts, with DeLong's 95 % interval. A
    /// marker lowered by the disease (fold change < 1) is read the other way
    /// round, so that its AUC is above ½ too.
    pub auc: AucEstimate,
    /// The binormal closed form Φ(|ln fc| / √(σ_case² + σ_healthy²)) of
    /// the log-normal marker: what an infinite cohort would show.
    pub closed_form_auc: f64,
}

/// What the run found for one condition.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionResult {
    /// Condition name.
    pub condition: String,
    /// Mean over folds of the signature's AUC on its training data
    /// (optimistic).
    pub train_auc: f64,
    /// Mean over folds of the signature's AUC on held-out data (the estimate
    /// of its performance in new people).
    pub test_auc: f64,
    /// `train_auc − test_auc`: the optimism of reporting the training AUC.
    pub optimism: f64,
    /// Per fold, training AUC.
    pub train_auc_per_fold: Vec<f64>,
    /// Per fold, held-out AUC.
    pub test_auc_per_fold: Vec<f64>,
    /// The marker with the largest single-marker AUC.
    pub best_marker: String,
    /// Its AUC with DeLong's 95 % interval.
    pub best_marker_auc: AucEstimate,
    /// Every marker alone, in study order (noise markers included).
    pub markers: Vec<MarkerAuc>,
}

/// Runs every condition against one healthy cohort drawn with `seed`.
pub fn run(
    study: &SignatureStudy,
    seed: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Vec<ConditionResult>, SignatureError> {
    let k = study.markers.len();
    let healthy = signature::generate_cohort(
        &study.markers,
        &ConditionSpec::healthy(k),
        &study.correlation,
        study.cohort,
        seed,
        DOMAIN_HEALTHY,
    )?;
    study
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            progress(i as f64 / study.conditions.len() as f64);
            run_condition(study, c, &healthy, seed, DOMAIN_HEALTHY + 1 + i as u64)
        })
        .collect()
}

fn run_condition(
    study: &SignatureStudy,
    condition: &ConditionSpec,
    healthy: &[Vec<f64>],
    seed: u64,
    domain: u64,
) -> Result<ConditionResult, SignatureError> {
    let cases = signature::generate_cohort(
        &study.markers,
        condition,
        &study.correlation,
        study.cohort,
        seed,
        domain,
    )?;
    let CvResult {
        train_auc,
        test_auc,
        per_fold,
    } = signature::cross_validated_auc(&cases, healthy, study.folds, study.lambda, seed)?;
    let markers: Vec<MarkerAuc> = study
        .markers
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let fc = condition.fold_change[j];
            // Orientation from the stated direction of change, not from the
            // data, so that noise markers are not flipped to look useful.
            let sign = if fc < 1.0 { -1.0 } else { 1.0 };
            let column =
                |rows: &[Vec<f64>]| -> Vec<f64> { rows.iter().map(|r| sign * r[j].ln()).collect() };
            let auc =
                roc::auc_with_ci(&column(&cases), &column(healthy), CI_LEVEL).ok_or_else(|| {
                    SignatureError::TooFewIndividuals("an AUC needs cases and controls".into())
                })?;
            let closed_form_auc = roc::binormal_auc(
                fc.ln().abs(),
                signature::log_sd(m.cv * condition.cv_scale),
                0.0,
                signature::log_sd(m.cv),
            );
            Ok(MarkerAuc {
                marker: m.name.clone(),
                fold_change: fc,
                auc,
                closed_form_auc,
            })
        })
        .collect::<Result<_, SignatureError>>()?;
    // The first of equals wins, so the choice is deterministic.
    let (best_marker, best_marker_auc) = markers
        .iter()
        .reduce(|a, b| if b.auc.auc > a.auc.auc { b } else { a })
        .map(|b| (b.marker.clone(), b.auc))
        .ok_or_else(|| SignatureError::InvalidValue {
            what: "number of markers (must be >= 1)".into(),
            value: 0.0,
        })?;
    Ok(ConditionResult {
        condition: condition.name.clone(),
        train_auc,
        test_auc,
        optimism: train_auc - test_auc,
        train_auc_per_fold: per_fold.iter().map(|p| p.0).collect(),
        test_auc_per_fold: per_fold.iter().map(|p| p.1).collect(),
        best_marker,
        best_marker_auc,
        markers,
    })
}
