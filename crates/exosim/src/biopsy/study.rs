//! A liquid-biopsy study as resolved from a study file, and its run: the
//! threshold of each test on a healthy cohort, the detection curve against
//! tumour size, the ROC curve at one size, and screening from initiation.

use std::sync::Arc;

use serde::Serialize;

use super::burden::{Extrapolation, TabulatedBurden, TissueBurdenReport};
use super::roc;
use super::screening::{
    self, BurdenState, CurvePoint, FalsePositiveSummary, ScreeningModel, ScreeningSummary,
    ThresholdRule, YEAR,
};
use super::sequencing::SequencingAssay;
use crate::random::stream;

/// Stream domain of the tumour-bearing individuals of the ROC curve.
pub const DOMAIN_ROC: u64 = 0xB105_0004;

/// Individuals screened per chunk: bounds memory whatever the cohort size.
const CHUNK: u64 = 4096;

/// One blood test compared by a study.
#[derive(Debug, Clone)]
pub struct BiopsyTest {
    /// Name, for outputs.
    pub name: String,
    /// Tumour, marker, kinetics, protocol; its threshold is fixed by the run.
    pub model: ScreeningModel,
}

/// The resolved `[biopsy]` section.
#[derive(Debug, Clone)]
pub struct BiopsyStudy {
    /// Marker name.
    pub marker: String,
    /// Tumour-bearing individuals per curve point, for the ROC and screening.
    pub cohort: u64,
    /// Healthy individuals fixing the threshold (and the ROC controls).
    pub healthy_cohort: u64,
    /// Tests compared.
    pub tests: Vec<BiopsyTest>,
    /// How the threshold is chosen.
    pub rule: ThresholdRule,
    /// Prevalence for predictive values.
    pub prevalence: Option<f64>,
    /// Diameters of the detection curve, m.
    pub diameters: Vec<f64>,
    /// How the blood level is set at each diameter.
    pub burden: BurdenState,
    /// Diameter of the ROC curve, m.
    pub roc_diameter: Option<f64>,
    /// When a held tumour's tests are drawn on the drugs' clock (s), with
    /// a drug on the marker's shedding (`crate::biopsy::release`).
    pub draw_time: Option<f64>,
    /// Whether to run the screening programme.
    pub screening: bool,
    /// The body engine's blood kinetics the marker follows, if any (the
    /// pools themselves are in each test's model).
    pub blood_kinetics: Option<BodyKineticsReport>,
    /// The tissue cell count the tumour follows, if any: [`run`] simulates
    /// the tissue and attaches the burden to every test's model.
    pub tissue_burden: Option<TissueBurdenSource>,
}

/// What the marker's blood kinetics were taken from, for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodyKineticsReport {
    /// Body vesicle class.
    pub vesicles: String,
    /// Arm whose body was used.
    pub arm: String,
    /// States of the class that the venous input reaches and that return to blood.
    pub states: usize,
    /// Pools (a complex-conjugate pair counts once).
    pub modes: usize,
    /// ln 2 × ∫h (s): the half-life of first-order elimination with the same steady level.
    pub effective_half_life_s: f64,
    /// Half-life of the slowest real mode carrying at least half of h(0) (s).
    pub dominant_half_life_s: Option<f64>,
    /// Plasma volume used (m³).
    pub plasma_volume_m3: f64,
    /// Load of the busiest macrophage site over its Km at the background level.
    pub saturation_at_background: f64,
}

/// A tumour burden to take from the study's `[tissue]` section: which
/// count to follow and how (the tissue itself is run by
/// `crate::coupling::tumour_burden`).
#[derive(Debug, Clone, PartialEq)]
pub struct TissueBurdenSource {
    /// Variant followed.
    pub variant: String,
    /// Cell type counted.
    pub cell_type: String,
    /// Real cells per simulated cell.
    pub cells_per_simulated_cell: f64,
    /// Past the simulated span.
    pub extrapolate: Extrapolation,
}

/// Why a biopsy run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum BiopsyRunError {
    /// The tissue engine failed.
    #[error("the tumour's tissue simulation failed: {0}")]
    Tissue(Box<dyn std::error::Error + Send + Sync>),
    /// The tissue's count cannot make a burden.
    #[error("the tumour burden from the tissue: {0}")]
    Burden(String),
}

/// A sequencing test's panel and its threshold's exact false-positive
/// rates (over the healthy individuals' backgrounds and depths).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SequencingReport {
    /// The panel, its efficiency and error rate.
    pub assay: SequencingAssay,
    /// Mean depth (unmutated copies read per position) of the nominal healthy individual.
    pub nominal_depth: f64,
    /// The p-value below which a position's mutant reads make the test
    /// positive: 10^−threshold.
    pub p_value_threshold: f64,
    /// Exact probability that one test of a tumour-free individual is positive.
    pub false_positive_rate: f64,
    /// Over a year of tests on the screening's schedule: 1 − (1 − rate)^{year/interval}.
    pub annual_false_positive_rate: f64,
}

/// A point of an ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocRow {
    /// Threshold on the estimated plasma concentration, 1/m³.
    pub threshold: f64,
    /// True-positive rate.
    pub sensitivity: f64,
    /// True-negative rate.
    pub specificity: f64,
}

/// What the run found for one test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// Test name.
    pub test: String,
    /// Decision threshold on the estimated plasma concentration, 1/m³.
    pub threshold: f64,
    /// Specificity on an independent healthy cohort, with its Wilson 95 % interval.
    pub specificity: (f64, (f64, f64)),
    /// Detection probability against diameter.
    pub curve: Vec<CurvePoint>,
    /// Smallest diameter detected with 50 % probability, m.
    pub minimal_diameter_50: Option<f64>,
    /// Smallest diameter detected with 90 % probability, m.
    pub minimal_diameter_90: Option<f64>,
    /// AUC at the ROC diameter, with its DeLong 95 % interval.
    pub auc: Option<roc::AucEstimate>,
    /// Sensitivity at the ROC diameter, at the study's threshold.
    pub sensitivity_at_roc_diameter: Option<f64>,
    /// Positive predictive value at the study's prevalence and the ROC diameter.
    pub ppv: Option<f64>,
    /// ROC curve at the ROC diameter.
    #[serde(skip)]
    pub roc: Vec<RocRow>,
    /// Screening from tumour initiation.
    pub screening: Option<ScreeningSummary>,
    /// The healthy cohort screened on the same schedule: false positives
    /// per test and per individual over the programme.
    pub healthy_screening: Option<FalsePositiveSummary>,
    /// The body engine's blood kinetics, when the marker follows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blood_kinetics: Option<BodyKineticsReport>,
    /// A sequencing panel's exact false-positive rates at the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequencing: Option<SequencingReport>,
    /// The tissue engine's burden, when the tumour follows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tissue_burden: Option<TissueBurdenReport>,
    /// Drugs on the marker's shedding, and the same test untreated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_inhibition: Option<ReleaseReport>,
}

/// What drugs on the marker's shedding did to one test
/// (`crate::biopsy::release`).
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    /// The drugs.
    pub drugs: Vec<String>,
    /// Share of a cell's input into blood they inhibit (live release).
    pub inhibited_share: f64,
    /// Knots of the factor's table.
    pub knots: usize,
    /// Where the table ends, s: the factor is 1 from there on.
    pub course_end_s: f64,
    /// The smallest factor on the tumour's input.
    pub lowest_release_factor: f64,
    /// When a held tumour's tests are drawn, s.
    pub draw_time_s: Option<f64>,
    /// The factor on the tumour's input at the draw.
    pub release_factor_at_draw: Option<f64>,
    /// The share of the held tumour's untreated input in the nominal
    /// individual's blood at the draw (the factor through the blood's
    /// memory).
    pub held_release_factor_at_draw: Option<f64>,
    /// The same test on the same individuals without the drugs.
    pub untreated: UntreatedResult,
}

/// A test's detection without the drugs: the same seed, individuals and
/// threshold, so the difference is the drugs' alone.
#[derive(Debug, Clone, Serialize)]
pub struct UntreatedResult {
    /// Smallest diameter detected with 50 % probability, m.
    pub minimal_diameter_50: Option<f64>,
    /// Smallest diameter detected with 90 % probability, m.
    pub minimal_diameter_90: Option<f64>,
    /// Sensitivity at the ROC diameter, at the study's threshold.
    pub sensitivity_at_roc_diameter: Option<f64>,
    /// AUC at the ROC diameter (against the same controls).
    pub auc: Option<f64>,
}

/// Runs every test of `study` with the study seed. A tumour that follows
/// the tissue engine's count (`study.tissue_burden`) takes `burden`, the
/// count tabulated from the same seed's tissue runs, attached to every test.
/// `progress` hears the share done after each phase of a test (threshold,
/// specificity, curve, ROC, screenings) and each chunk of a screening, from
/// any thread: a hook that unwinds stops the run there.
pub fn run(
    study: &BiopsyStudy,
    seed: u64,
    burden: Option<(TabulatedBurden, TissueBurdenReport)>,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Vec<TestResult>, BiopsyRunError> {
    if study.tissue_burden.is_some() != burden.is_some() {
        return Err(BiopsyRunError::Burden(
            "a tumour that follows the tissue's count needs that count, and only it".into(),
        ));
    }
    let burden = match burden {
        Some((b, report)) => {
            let end = study
                .tests
                .iter()
                .map(|t| t.model.duration)
                .fold(0.0, f64::max);
            if !b.cells(end).is_finite() {
                return Err(BiopsyRunError::Burden(format!(
                    "extrapolated at {:.3e} /s, the tumour outgrows any number before the screening ends ({end} s)",
                    report.extrapolation_rate_per_s.unwrap_or(0.0)
                )));
            }
            Some((Arc::new(b), report))
        }
        None => None,
    };
    let tests = study.tests.len().max(1) as f64;
    Ok(study
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut test = t.clone();
            if let Some((b, _)) = &burden {
                test.model.tumour.initial_cells = b.initial_cells();
                test.model.tumour.burden = Some(Arc::clone(b));
            }
            let tell = |f: f64| progress((i as f64 + f) / tests);
            let mut result = run_test(study, &test, seed, &tell);
            result.blood_kinetics = study.blood_kinetics.clone();
            result.tissue_burden = burden.as_ref().map(|(_, r)| r.clone());
            result
        })
        .collect())
}

/// Phases of a test, for its progress: threshold, specificity, curve,
/// ROC, the cases' screening and the healthy screening.
const PHASES: f64 = 6.0;

fn run_test(
    study: &BiopsyStudy,
    test: &BiopsyTest,
    seed: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> TestResult {
    let phase = |k: f64| progress(k / PHASES);
    let mut model = test.model.clone();
    model.threshold = screening::resolve_threshold(&model, study.rule, study.healthy_cohort, seed);
    phase(1.0);
    // A fresh cohort (another seed) estimates the specificity honestly.
    let (negatives, total, interval) = screening::specificity(
        &model,
        model.threshold,
        study.healthy_cohort,
        seed.wrapping_add(1),
    );
    let specificity = (negatives as f64 / total.max(1) as f64, interval);
    phase(2.0);
    let curve =
        screening::detection_curve(&model, &study.diameters, study.burden, study.cohort, seed);
    phase(3.0);
    let minimal_diameter_50 = screening::minimal_detectable_diameter(&curve, 0.5);
    let minimal_diameter_90 = screening::minimal_detectable_diameter(&curve, 0.9);
    let (mut auc, mut sensitivity, mut ppv, mut roc_rows) = (None, None, None, Vec::new());
    if let Some(d) = study.roc_diameter {
        let controls =
            screening::healthy_scores(&model, study.healthy_cohort, seed.wrapping_add(2));
        let cases = case_scores(&model, d, study.cohort, seed);
        auc = roc::auc_with_ci(&cases, &controls, 0.95);
        sensitivity = roc::sensitivity_at(&cases, next_up(model.threshold));
        ppv = sensitivity
            .zip(study.prevalence)
            .map(|(s, p)| roc::ppv(s, specificity.0, p));
        roc_rows = roc::roc_curve(&cases, &controls)
            .into_iter()
            .map(|p| RocRow {
                threshold: p.threshold,
                sensitivity: p.sensitivity,
                specificity: p.specificity,
            })
            .collect();
    }
    phase(4.0);
    let screening = study.screening.then(|| {
        let tell = |f: f64| progress((4.0 + f) / PHASES);
        screening::screen_cohort_reporting(&model, study.cohort, seed, CHUNK, &tell)
    });
    // Another seed: the healthy cohort that fixed the threshold is not reused.
    let healthy_screening = study.screening.then(|| {
        screening::screen_healthy_cohort(&model, study.healthy_cohort, seed.wrapping_add(3), CHUNK)
    });
    phase(6.0);
    TestResult {
        test: test.name.clone(),
        threshold: model.threshold,
        specificity,
        curve,
        minimal_diameter_50,
        minimal_diameter_90,
        auc,
        sensitivity_at_roc_diameter: sensitivity,
        ppv,
        roc: roc_rows,
        screening,
        healthy_screening,
        blood_kinetics: None,
        sequencing: sequencing_report(&model),
        tissue_burden: None,
        release_inhibition: release_report(study, &model, seed),
    }
}

/// The drugs' course at a glance and the test untreated: the detection
/// curve and the ROC's cases again on the same streams without the drugs
/// (the healthy controls do not depend on them); `None` without a drug.
fn release_report(study: &BiopsyStudy, model: &ScreeningModel, seed: u64) -> Option<ReleaseReport> {
    let r = model.release.as_deref()?;
    let mut bare = model.clone();
    bare.release = None;
    let curve =
        screening::detection_curve(&bare, &study.diameters, study.burden, study.cohort, seed);
    let (mut sensitivity, mut auc) = (None, None);
    if let Some(d) = study.roc_diameter {
        let controls = screening::healthy_scores(&bare, study.healthy_cohort, seed.wrapping_add(2));
        let cases = case_scores(&bare, d, study.cohort, seed);
        sensitivity = roc::sensitivity_at(&cases, next_up(model.threshold));
        auc = roc::auc_with_ci(&cases, &controls, 0.95).map(|a| a.auc);
    }
    let nominal = model.kinetics(&model.nominal_individual());
    Some(ReleaseReport {
        drugs: r.drugs.clone(),
        inhibited_share: r.inhibited_share,
        knots: r.knots(),
        course_end_s: r.end(),
        lowest_release_factor: r.lowest(),
        draw_time_s: r.draw_time,
        release_factor_at_draw: r.draw_time.map(|t| r.factor(t)),
        held_release_factor_at_draw: r.draw_time.map(|t| nominal.held_release_factor(t)),
        untreated: UntreatedResult {
            minimal_diameter_50: screening::minimal_detectable_diameter(&curve, 0.5),
            minimal_diameter_90: screening::minimal_detectable_diameter(&curve, 0.9),
            sensitivity_at_roc_diameter: sensitivity,
            auc,
        },
    })
}

/// The exact false-positive rates of a sequencing test at its threshold.
fn sequencing_report(model: &ScreeningModel) -> Option<SequencingReport> {
    let (assay, law) = model.background_law()?;
    let rate = assay.false_positive_rate(&law, model.threshold);
    let nominal = model.blood.baseline_amount() / model.blood.plasma_volume;
    Some(SequencingReport {
        assay,
        nominal_depth: model.protocol.sequencing_means(&assay, 0.0, nominal).1,
        p_value_threshold: 10f64.powf(-model.threshold),
        false_positive_rate: rate,
        annual_false_positive_rate: -((-rate).ln_1p() * (YEAR / model.interval)).exp_m1(),
    })
}

/// The test scores of `n` individuals bearing a tumour of diameter `d` at
/// steady shedding (non-detected tests score −∞).
fn case_scores(model: &ScreeningModel, d: f64, n: u64, seed: u64) -> Vec<f64> {
    let cells = super::growth::cells_for_diameter(d, model.tumour.cells_per_m3);
    (0..n)
        .map(|i| {
            let mut rng = stream(seed, DOMAIN_ROC, i);
            let ind = if model.deterministic {
                model.nominal_individual()
            } else {
                model.sample_individual(&mut rng)
            };
            let kin = model.kinetics(&ind);
            let c = kin.held_concentration(cells, model.held_release_factor(&kin));
            let background = kin.blood.baseline_amount() / model.blood.plasma_volume;
            let (c, background) = model.on_test_day(c, background, &mut rng);
            model
                .protocol
                .measure_parts(c, background, &mut rng)
                .score()
        })
        .collect()
}

/// A test is positive when its estimate is strictly above the threshold; the
/// ROC module counts values at or above a threshold, hence the next float.
fn next_up(x: f64) -> f64 {
    if x.is_finite() {
        f64::from_bits(if x >= 0.0 {
            x.to_bits() + 1
        } else {
            x.to_bits() - 1
        })
    } else {
        x
    }
}
