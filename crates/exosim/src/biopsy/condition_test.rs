//! A blood test that tells a condition from health by a marker's plasma
//! level, where no tumour sheds it: each condition (a gut barrier's
//! permeability, say) sets the level a person lives at, people differ
//! around it, and the assay reads it with its own noise.
//!
//! The groups' median levels are given (the run takes them from body arms'
//! steady states, `crate::coupling::condition_levels`); this module draws
//! the people and their tests and judges the test: the threshold on the
//! healthy group, the specificity on a fresh healthy group, and for each
//! condition its readings, sensitivity, ROC curve and AUC (with
//! [`super::roc`]).
//!
//! Person `i` of group `g` draws from `stream(seed', DOMAIN + g, i)`, in
//! order: the release factor, the permeability factor, the elimination
//! factor, then the test ([`super::measurement`]). Group 0 is the healthy
//! group (seed' = seed fixes the threshold, seed + 1 measures the
//! specificity and is the ROC's controls); condition `j` is group `j + 1`
//! with seed' = seed. Results are bit-identical for a seed.

use serde::Serialize;

use super::measurement::{Protocol, TestSampler};
use super::roc::{self, AucEstimate};
use super::screening::{self, ThresholdRule};
use super::study::RocRow;
use crate::random::{Stream, stream};

/// Stream domain of the groups: the healthy group is `DOMAIN`, condition
/// `j` is `DOMAIN + 1 + j`.
pub const DOMAIN: u64 = 0xB105_0100;

/// Quantiles of the readings reported per group.
pub const READING_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// How a condition's plasma level depends on the gut barrier: a lumen
/// that receives R and loses p·k + T, so that the share p·k/(p·k + T)
/// crosses into blood. With it, a person's permeability can differ from
/// the condition's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Crossing {
    /// The condition's permeability p (0 to 1).
    pub permeability: f64,
    /// k, 1/s.
    pub translocation_rate: f64,
    /// T, 1/s.
    pub transit_rate: f64,
}

impl Crossing {
    /// The share of what the lumen receives that crosses at permeability `p`.
    pub fn share(&self, p: f64) -> f64 {
        let through = p * self.translocation_rate;
        if through <= 0.0 {
            0.0
        } else {
            through / (through + self.transit_rate)
        }
    }
}

/// A group of people: healthy or one condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Name (the body arm it comes from).
    pub name: String,
    /// Plasma level of the group's median person, per m³.
    pub level: f64,
    /// The barrier every vesicle of the marker crosses, when it does
    /// (needed for a permeability that differs between people).
    pub crossing: Option<Crossing>,
}

/// Coefficients of variation between people, each of a log-normal factor
/// of mean 1.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct PersonVariability {
    /// Of the release (the level scales with it).
    pub release_cv: f64,
    /// Of the barrier's permeability (the level scales with the share
    /// that crosses; a permeability above 1 is taken as 1).
    pub permeability_cv: f64,
    /// Of the body's clearance (the level scales with its inverse).
    pub elimination_cv: f64,
}

/// One blood test compared.
#[derive(Debug, Clone)]
pub struct ConditionTest {
    /// Name, for outputs.
    pub name: String,
    /// Draw, isolation and assay.
    pub protocol: Protocol,
}

/// The resolved study: who is tested and with what.
#[derive(Debug, Clone)]
pub struct ConditionTestStudy {
    /// Marker name.
    pub marker: String,
    /// Body vesicle class the marker is.
    pub vesicles: String,
    /// Healthy people.
    pub healthy: Group,
    /// Each condition, in study order.
    pub conditions: Vec<Group>,
    /// People per condition.
    pub cohort: u64,
    /// Healthy people per healthy group (threshold; specificity and controls).
    pub healthy_cohort: u64,
    /// Between people.
    pub variability: PersonVariability,
    /// Tests compared.
    pub tests: Vec<ConditionTest>,
    /// How the threshold is set.
    pub rule: ThresholdRule,
    /// Prevalence for the positive predictive value.
    pub prevalence: Option<f64>,
}

/// The readings of a group: the estimates' quantiles and the detected share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readings {
    /// `[[q, estimate per m³], …]` at [`READING_QUANTILES`], detected or not.
    pub quantiles: Vec<(f64, f64)>,
    /// Share of the tests at or above the LOD.
    pub detected: f64,
}

/// One condition against healthy people, for one test.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionResult {
    /// Condition (arm) name.
    pub condition: String,
    /// Median person's plasma level, per m³.
    pub plasma_level: f64,
    /// Over the healthy median level.
    pub fold_change: f64,
    /// The condition's readings.
    pub readings: Readings,
    /// Share positive at the threshold, with its Wilson 95 % interval.
    pub sensitivity: (f64, (f64, f64)),
    /// Against the fresh healthy group, with DeLong's 95 % interval.
    pub auc: AucEstimate,
    /// Positive predictive value at the study's prevalence.
    pub ppv: Option<f64>,
    /// The ROC curve (its own file).
    #[serde(skip)]
    pub roc: Vec<RocRow>,
}

/// What one test gave.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// Test name.
    pub test: String,
    /// Positive above it (estimate per m³).
    pub threshold: f64,
    /// Share of a fresh healthy group negative, with its Wilson 95 % interval.
    pub specificity: (f64, (f64, f64)),
    /// Healthy median person's plasma level, per m³.
    pub healthy_plasma_level: f64,
    /// The fresh healthy group's readings.
    pub healthy_readings: Readings,
    /// Per condition, in study order.
    pub conditions: Vec<ConditionResult>,
}

/// Runs every test; `progress` hears the share done after each test.
pub fn run(
    study: &ConditionTestStudy,
    seed: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Vec<TestResult> {
    let n = study.tests.len().max(1) as f64;
    study
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let r = run_test(study, t, seed);
            progress((i + 1) as f64 / n);
            r
        })
        .collect()
}

fn run_test(study: &ConditionTestStudy, test: &ConditionTest, seed: u64) -> TestResult {
    let sampler = test.protocol.sampler();
    let lod = test.protocol.assay.lod;
    let draw = |g: &Group, domain: u64, n: u64, seed: u64| {
        readings(g, &study.variability, &sampler, n, seed, domain)
    };
    let threshold = match study.rule {
        ThresholdRule::Fixed(t) => t,
        // One test a year: the annual rate is the per-test rate.
        ThresholdRule::Specificity(_) | ThresholdRule::AnnualFalsePositiveRate(_) => {
            let s = match study.rule {
                ThresholdRule::AnnualFalsePositiveRate(a) => 1.0 - a,
                ThresholdRule::Specificity(s) => s,
                _ => unreachable!("matched above"),
            };
            let mut scores = scores(&draw(&study.healthy, DOMAIN, study.healthy_cohort, seed));
            let t = screening::threshold_at_specificity(&mut scores, s);
            if t.is_finite() { t } else { lod.next_down() }
        }
        ThresholdRule::Lod => lod.next_down(),
    };
    let fresh = draw(
        &study.healthy,
        DOMAIN,
        study.healthy_cohort,
        seed.wrapping_add(1),
    );
    let controls = scores(&fresh);
    let negatives = controls.iter().filter(|&&s| s <= threshold).count() as u64;
    let specificity = proportion(negatives, controls.len() as u64);
    let conditions = (study.conditions.iter().enumerate())
        .map(|(j, g)| {
            let tests = draw(g, DOMAIN + 1 + j as u64, study.cohort, seed);
            let cases = scores(&tests);
            let positives = cases.iter().filter(|&&s| s > threshold).count() as u64;
            let sensitivity = proportion(positives, cases.len() as u64);
            ConditionResult {
                condition: g.name.clone(),
                plasma_level: g.level,
                fold_change: g.level / study.healthy.level,
                readings: summarise(&tests),
                sensitivity,
                auc: roc::auc_with_ci(&cases, &controls, 0.95)
                    .expect("both groups hold at least 10 people"),
                ppv: study
                    .prevalence
                    .map(|p| roc::ppv(sensitivity.0, specificity.0, p)),
                roc: roc_rows(&cases, &controls),
            }
        })
        .collect();
    TestResult {
        test: test.name.clone(),
        threshold,
        specificity,
        healthy_plasma_level: study.healthy.level,
        healthy_readings: summarise(&fresh),
        conditions,
    }
}

/// One test of each of `n` people of group `g`: (estimate, detected).
pub fn readings(
    g: &Group,
    v: &PersonVariability,
    sampler: &TestSampler,
    n: u64,
    seed: u64,
    domain: u64,
) -> Vec<(f64, bool)> {
    let factor = |cv: f64, rng: &mut Stream| screening::lognormal_factor(rng, cv);
    (0..n)
        .map(|i| {
            let mut rng = stream(seed, domain, i);
            let release = factor(v.release_cv, &mut rng);
            let permeability = factor(v.permeability_cv, &mut rng);
            let elimination = factor(v.elimination_cv, &mut rng);
            let m = sampler.measure(
                person_level(g, release, permeability, elimination),
                &mut rng,
                false,
            );
            (m.estimate, m.detected)
        })
        .collect()
}

/// A person's plasma level: the group's median scaled by the release
/// factor, by the change of the share that crosses the barrier with the
/// person's permeability (p × factor, at most 1), and by the inverse of
/// the clearance factor. Exact where the body beyond the barrier is linear
/// in what enters it (the body engine's macrophage sites far below Km).
pub fn person_level(g: &Group, release: f64, permeability: f64, elimination: f64) -> f64 {
    let crossing = match g.crossing {
        Some(c) if permeability != 1.0 => {
            let nominal = c.share(c.permeability);
            let own = c.share((c.permeability * permeability).min(1.0));
            if nominal > 0.0 { own / nominal } else { 1.0 }
        }
        _ => 1.0,
    };
    g.level * release * crossing / elimination
}

/// The scores of readings: the estimate, −∞ when not detected.
fn scores(readings: &[(f64, bool)]) -> Vec<f64> {
    readings
        .iter()
        .map(|&(e, d)| if d { e } else { f64::NEG_INFINITY })
        .collect()
}

/// Quantiles (the ⌈q·n⌉-th smallest estimate) and the detected share.
fn summarise(readings: &[(f64, bool)]) -> Readings {
    let mut e: Vec<f64> = readings.iter().map(|r| r.0).collect();
    e.sort_by(f64::total_cmp);
    let n = e.len();
    let quantiles = READING_QUANTILES
        .iter()
        .map(|&q| (q, e[((q * n as f64).ceil() as usize).clamp(1, n) - 1]))
        .collect();
    let detected = readings.iter().filter(|r| r.1).count() as f64 / n as f64;
    Readings {
        quantiles,
        detected,
    }
}

fn proportion(k: u64, n: u64) -> (f64, (f64, f64)) {
    (k as f64 / n.max(1) as f64, screening::wilson(k, n))
}

fn roc_rows(cases: &[f64], controls: &[f64]) -> Vec<RocRow> {
    roc::roc_curve(cases, controls)
        .into_iter()
        .map(|p| RocRow {
            threshold: p.threshold,
            sensitivity: p.sensitivity,
            specificity: p.specificity,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The share that crosses is p·k/(p·k + T), and a person whose
    /// permeability is the condition's has the condition's level.
    #[test]
    fn crossing_share_and_nominal_person() {
        let c = Crossing {
            permeability: 0.1,
            translocation_rate: 2.0,
            transit_rate: 0.3,
        };
        assert!((c.share(0.1) - 0.2 / 0.5).abs() < 1e-15);
        let g = Group {
            name: "g".into(),
            level: 7.0,
            crossing: Some(c),
        };
        assert_eq!(person_level(&g, 1.0, 1.0, 1.0), 7.0);
        let doubled = person_level(&g, 1.0, 2.0, 1.0);
        assert!((doubled - 7.0 * (0.4 / 0.7) / 0.4).abs() < 1e-12);
        assert!((person_level(&g, 2.0, 1.0, 4.0) - 3.5).abs() < 1e-15);
    }
}
