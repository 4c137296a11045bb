//! A blood test of conditions (`[[biopsy.conditions]]`, docs/biopsy.md
//! "Tests of conditions"): for each test, each condition's level against
//! the healthy people's, the sensitivity at the test's threshold and the
//! AUC, and the ROC curves of every condition against healthy people.
//!
//! It reads `summary.json`'s `biopsy.condition_tests` and the
//! `biopsy_roc_<test>_<condition>.csv` files, each checked before
//! anything is drawn (a share outside [0, 1], a curve cut short).

use std::path::Path;

use plotly::Plot;
use serde_json::Value;

use crate::biopsy::{read_roc, roc_file, roc_plot};
use crate::chart::{Series, colour};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::num;
use crate::page::Section;

/// One condition of one test.
#[derive(Debug, Clone)]
pub struct ConditionView {
    /// The condition (a body arm).
    pub condition: String,
    /// Its plasma level over the healthy people's.
    pub fold_change: f64,
    /// Sensitivity at the test's threshold, and its interval.
    pub sensitivity: (f64, f64, f64),
    /// AUC against healthy people, and its interval.
    pub auc: (f64, f64, f64),
    /// The ROC curve: (1 − specificity, sensitivity).
    pub roc: (Vec<f64>, Vec<f64>),
}

/// One test of the conditions.
#[derive(Debug, Clone)]
pub struct TestOfConditions {
    /// The test's name.
    pub test: String,
    /// Its threshold, /m³.
    pub threshold: f64,
    /// Specificity measured on the healthy cohort.
    pub specificity: f64,
    /// Every condition.
    pub conditions: Vec<ConditionView>,
}

/// Every test of `summary.json`'s `biopsy.condition_tests`, or `None`
/// when the run has none.
pub fn load(dir: &Path, summary: &Value) -> Result<Option<Vec<TestOfConditions>>, ReportError> {
    let Some(tests) = summary
        .pointer("/biopsy/condition_tests")
        .and_then(Value::as_array)
    else {
        return Ok(None);
    };
    let path = dir.join("summary.json");
    let j = check::Json::new(&path);
    let mut out = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let at = |k: &str| format!("biopsy.condition_tests[{i}].{k}");
        let test = t
            .get("test")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let threshold = j.number(t.get("threshold"), &at("threshold"), Rule::NotNan)?;
        let specificity = j.number(
            t.pointer("/specificity/0"),
            &at("specificity"),
            Rule::Within(0.0, 1.0),
        )?;
        let conditions = j.array(t.get("conditions"), &at("conditions"))?;
        let conditions = conditions
            .iter()
            .map(|c| condition(dir, &j, &test, c, &at("conditions")))
            .collect::<Result<_, _>>()?;
        out.push(TestOfConditions {
            test,
            threshold,
            specificity,
            conditions,
        });
    }
    Ok(Some(out))
}

/// One condition's figures, checked, and its ROC curve.
fn condition(
    dir: &Path,
    j: &check::Json,
    test: &str,
    c: &Value,
    at: &str,
) -> Result<ConditionView, ReportError> {
    let name = c.get("condition").and_then(Value::as_str).unwrap_or("");
    let share = |p: &str| {
        j.number(
            c.pointer(p),
            &format!("{at}.{name}{p}"),
            Rule::Within(0.0, 1.0),
        )
    };
    let sensitivity = (
        share("/sensitivity/0")?,
        share("/sensitivity/1/0")?,
        share("/sensitivity/1/1")?,
    );
    let auc = (
        share("/auc/auc")?,
        share("/auc/lower")?,
        share("/auc/upper")?,
    );
    let fold_change = j.number(
        c.get("fold_change"),
        &format!("{at}.{name}.fold_change"),
        Rule::AtLeast(0.0),
    )?;
    let roc_path = dir.join(roc_file(&format!("{test}_{name}")));
    if !roc_path.is_file() {
        return Err(ReportError::MissingFile {
            path: roc_path,
            why: format!("summary.json has an AUC for `{name}` in test `{test}`"),
        });
    }
    Ok(ConditionView {
        condition: name.to_string(),
        fold_change,
        sensitivity,
        auc,
        roc: read_roc(&roc_path)?,
    })
}

/// Each condition's ROC curve against healthy people, for one test.
fn roc_figure(t: &TestOfConditions) -> Plot {
    let series: Vec<Series> = t
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = format!("{} (AUC {})", c.condition, num(c.auc.0));
            let mut s = Series::new(name, c.roc.0.clone(), c.roc.1.clone(), colour(i));
            s.steps = true;
            s
        })
        .collect();
    roc_plot(series, &format!("roc_{}", t.test))
}

/// The section: per test, a table of conditions and their ROC curves.
pub fn section(tests: &[TestOfConditions]) -> Section {
    let mut sec = Section::new("conditions", "Blood tests of conditions");
    sec.para(
        "Each condition's people against healthy people: the plasma level of the marker from the body arm at steady state, person-to-person variability and the assay's noise (docs/biopsy.md, Tests of conditions). The threshold is fixed on the healthy cohort; intervals are 95 %.",
    );
    for t in tests {
        sec.heading(&format!(
            "Test `{}`: threshold {} /mL, specificity {}",
            t.test,
            num(t.threshold * 1e-6),
            num(t.specificity)
        ));
        let rows: Vec<Vec<String>> = t
            .conditions
            .iter()
            .map(|c| {
                vec![
                    c.condition.clone(),
                    format!("×{}", num(c.fold_change)),
                    format!(
                        "{} [{}, {}]",
                        num(c.sensitivity.0),
                        num(c.sensitivity.1),
                        num(c.sensitivity.2)
                    ),
                    format!("{} [{}, {}]", num(c.auc.0), num(c.auc.1), num(c.auc.2)),
                ]
            })
            .collect();
        sec.table(
            &["condition", "level vs healthy", "sensitivity", "AUC"],
            &rows,
        );
        sec.plot(
            &format!("ROC curves of `{}`", t.test),
            "Sensitivity against false-positive rate as the threshold moves, each condition against healthy people; AUC in the legend.",
            &roc_figure(t),
        );
    }
    sec
}
