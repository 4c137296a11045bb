//! The files of a `[biopsy]` test of conditions: `biopsy_conditions.csv`
//! (one row per test and group: the median person's plasma level, the
//! readings' quantiles, the detected and positive shares, the AUC against
//! healthy people) and `biopsy_roc_<test>_<condition>.csv` (each
//! condition's ROC curve, in the columns of a tumour's ROC file).

use std::path::Path;

use serde::Serialize;

use super::{file_safe, write_long_csv};
use crate::biopsy::condition_test::{ConditionResult, ConditionTestStudy, Readings, TestResult};
use crate::output::{self, OutputError};

/// The file of the conditions' table.
pub const TABLE: &str = "biopsy_conditions.csv";

/// The `biopsy` part of `summary.json` for a test of conditions.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionTestSummary<'a> {
    /// Marker name.
    pub marker: &'a str,
    /// Body vesicle class the marker is.
    pub vesicles: &'a str,
    /// The healthy people's arm.
    pub healthy_arm: &'a str,
    /// Condition arms, in study order.
    pub conditions: Vec<&'a str>,
    /// People per condition.
    pub cohort: u64,
    /// People per healthy group.
    pub healthy_cohort: u64,
    /// Per blood test.
    pub condition_tests: &'a [TestResult],
}

/// The summary part of `study`'s results.
pub fn summary<'a>(
    study: &'a ConditionTestStudy,
    results: &'a [TestResult],
) -> ConditionTestSummary<'a> {
    ConditionTestSummary {
        marker: &study.marker,
        vesicles: &study.vesicles,
        healthy_arm: &study.healthy.name,
        conditions: study.conditions.iter().map(|g| g.name.as_str()).collect(),
        cohort: study.cohort,
        healthy_cohort: study.healthy_cohort,
        condition_tests: results,
    }
}

/// The names of the files [`write`] makes, in its order.
pub fn planned_files(results: &[TestResult]) -> Vec<String> {
    if results.is_empty() {
        return Vec::new();
    }
    let mut files = vec![TABLE.to_string()];
    for t in results {
        files.extend(t.conditions.iter().map(|c| roc_file(t, c)));
    }
    files
}

fn roc_file(t: &TestResult, c: &ConditionResult) -> String {
    format!(
        "biopsy_roc_{}_{}.csv",
        file_safe(&t.test),
        file_safe(&c.condition)
    )
}

/// Writes the table and the ROC files into `dir`.
pub fn write(
    dir: &Path,
    study: &ConditionTestStudy,
    results: &[TestResult],
) -> Result<(), OutputError> {
    if results.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::new();
    for t in results {
        rows.push(row(
            t,
            &study.healthy.name,
            t.healthy_plasma_level,
            &t.healthy_readings,
            1.0 - t.specificity.0,
            None,
        ));
        for c in &t.conditions {
            rows.push(row(
                t,
                &c.condition,
                c.plasma_level,
                &c.readings,
                c.sensitivity.0,
                Some(c),
            ));
        }
    }
    let mut header = vec!["test", "group", "healthy", "plasma_level_per_ml"];
    header.extend([
        "reading_q05_per_ml",
        "reading_q25_per_ml",
        "reading_q50_per_ml",
    ]);
    header.extend([
        "reading_q75_per_ml",
        "reading_q95_per_ml",
        "detected",
        "positive",
    ]);
    header.extend(["threshold_per_ml", "auc", "auc_low", "auc_high"]);
    write_long_csv(&dir.join(TABLE), &header, &rows)?;
    for t in results {
        for c in &t.conditions {
            output::write_csv(&dir.join(roc_file(t, c)), &super::roc_table(&c.roc))?;
        }
    }
    Ok(())
}

/// One row: a group's level, readings (per mL), positive share and, for a
/// condition, its AUC (empty for the healthy group).
fn row(
    t: &TestResult,
    group: &str,
    level: f64,
    readings: &Readings,
    positive: f64,
    condition: Option<&ConditionResult>,
) -> Vec<String> {
    let per_ml = |x: f64| (x * 1e-6).to_string();
    let mut r = vec![
        t.test.clone(),
        group.to_string(),
        u8::from(condition.is_none()).to_string(),
        per_ml(level),
    ];
    r.extend(readings.quantiles.iter().map(|&(_, v)| per_ml(v)));
    r.push(readings.detected.to_string());
    r.push(positive.to_string());
    r.push(per_ml(t.threshold));
    match condition {
        Some(c) => r.extend([c.auc.auc, c.auc.lower, c.auc.upper].map(|x| x.to_string())),
        None => r.extend([String::new(), String::new(), String::new()]),
    }
    r
}
