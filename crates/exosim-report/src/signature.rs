//! Multi-marker signatures: cross-validated AUCs per disease
//! (`signature.csv`) and each marker alone (`signature_markers.csv`).

use std::path::Path;

use plotly::Plot;
use serde_json::Value;

use crate::chart::{self, Axes, Bars, colour};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::{f, num, s};
use crate::page::Section;
use crate::table::LongTable;

/// One marker of one condition.
#[derive(Debug, Clone)]
pub struct MarkerAuc {
    /// Marker.
    pub marker: String,
    /// Empirical AUC with DeLong 95 % bounds.
    pub auc: (f64, f64, f64),
    /// Binormal closed form.
    pub closed_form: f64,
}

/// One condition against healthy people.
#[derive(Debug, Clone)]
pub struct ConditionView {
    /// Disease.
    pub condition: String,
    /// (fold, train AUC, held-out AUC), folds then the `mean` row.
    pub folds: Vec<(String, f64, f64)>,
    /// Each marker alone.
    pub markers: Vec<MarkerAuc>,
    /// The condition's summary object.
    pub json: Value,
}

/// What the signature pipeline wrote.
#[derive(Debug, Clone)]
pub struct SignatureOutputs {
    /// Per condition, in file order.
    pub conditions: Vec<ConditionView>,
}

fn required(dir: &Path, name: &str, n: usize) -> Result<LongTable, ReportError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(ReportError::MissingFile {
            path,
            why: format!("summary.json lists {n} signature condition(s)"),
        });
    }
    LongTable::read(&path)
}

impl SignatureOutputs {
    /// Reads the signature outputs when `summary.json` has a `signature` part.
    pub fn load(dir: &Path, summary: &Value) -> Result<Option<Self>, ReportError> {
        let Some(list) = summary
            .get("signature")
            .and_then(|s| s.get("conditions"))
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
        else {
            return Ok(None);
        };
        let folds = required(dir, "signature.csv", list.len())?;
        let markers = required(dir, "signature_markers.csv", list.len())?;
        let mut conditions: Vec<ConditionView> = list
            .iter()
            .map(|c| ConditionView {
                condition: s(c, "condition").to_string(),
                folds: Vec::new(),
                markers: Vec::new(),
                json: c.clone(),
            })
            .collect();
        let find = |conditions: &mut Vec<ConditionView>, name: &str| {
            if let Some(i) = conditions.iter().position(|c| c.condition == name) {
                i
            } else {
                conditions.push(ConditionView {
                    condition: name.to_string(),
                    folds: Vec::new(),
                    markers: Vec::new(),
                    json: Value::Null,
                });
                conditions.len() - 1
            }
        };
        let (c, fold, train, test) = (
            folds.require("condition")?,
            folds.require("fold")?,
            folds.require("train_auc")?,
            folds.require("test_auc")?,
        );
        for r in 0..folds.len() {
            let i = find(&mut conditions, folds.text(r, c));
            let auc = |c: usize| -> Result<f64, ReportError> {
                let v = folds.number(r, c)?;
                match Rule::Within(0.0, 1.0).broken(v) {
                    Some(why) => Err(check::invalid(
                        &folds.path,
                        Some(folds.line(r)),
                        &folds.headers[c],
                        why,
                    )),
                    None => Ok(v),
                }
            };
            let row = (folds.text(r, fold).to_string(), auc(train)?, auc(test)?);
            conditions[i].folds.push(row);
        }
        let cols = [
            "condition",
            "marker",
            "auc",
            "auc_low",
            "auc_high",
            "closed_form_auc",
        ]
        .map(|n| markers.require(n));
        let [c, m, auc, lo, hi, cf] = match cols {
            [Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f)] => [a, b, c, d, e, f],
            other => {
                return Err(other
                    .into_iter()
                    .find_map(Result::err)
                    .unwrap_or_else(|| ReportError::invalid(&markers.path, "bad header")));
            }
        };
        for r in 0..markers.len() {
            let i = find(&mut conditions, markers.text(r, c));
            let value = |col: usize| -> Result<f64, ReportError> {
                let v = markers.number(r, col)?;
                match Rule::Within(0.0, 1.0).broken(v) {
                    Some(why) => Err(check::invalid(
                        &markers.path,
                        Some(markers.line(r)),
                        &markers.headers[col],
                        why,
                    )),
                    None => Ok(v),
                }
            };
            let row = MarkerAuc {
                marker: markers.text(r, m).to_string(),
                auc: (value(auc)?, value(lo)?, value(hi)?),
                closed_form: value(cf)?,
            };
            conditions[i].markers.push(row);
        }
        // Every condition of the summary with its folds and its mean: a
        // file cut short loses the last condition's rows.
        let folds_n = summary
            .pointer("/signature/folds")
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        for cv in &conditions {
            let expected = folds_n.map(|n| n + 1);
            let has_mean = cv.folds.iter().any(|f| f.0 == "mean");
            if !has_mean || expected.is_some_and(|e| cv.folds.len() != e) {
                return Err(check::invalid(
                    &folds.path,
                    None,
                    "fold",
                    format!(
                        "condition `{}` has {} rows{}: the file is cut short",
                        cv.condition,
                        cv.folds.len(),
                        expected
                            .map(|e| format!(", not its {} folds and their mean ({e})", e - 1))
                            .unwrap_or_else(|| " and no `mean` row".into())
                    ),
                ));
            }
            let listed = cv
                .json
                .get("markers")
                .and_then(Value::as_array)
                .map(Vec::len);
            if listed.is_some_and(|n| n != cv.markers.len()) {
                return Err(check::invalid(
                    &markers.path,
                    None,
                    "marker",
                    format!(
                        "condition `{}` has {} marker rows, but summary.json lists {}: the file is cut short",
                        cv.condition,
                        cv.markers.len(),
                        listed.unwrap_or(0)
                    ),
                ));
            }
        }
        Ok(Some(SignatureOutputs { conditions }))
    }

    /// One row per condition: signature AUCs and the best single marker.
    pub fn key_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .conditions
            .iter()
            .map(|c| {
                let mean = c.folds.iter().find(|f| f.0 == "mean");
                let b = c
                    .json
                    .get("best_marker_auc")
                    .cloned()
                    .unwrap_or(Value::Null);
                vec![
                    c.condition.clone(),
                    mean.map(|m| num(m.1)).unwrap_or_else(|| "—".into()),
                    mean.map(|m| num(m.2)).unwrap_or_else(|| "—".into()),
                    s(&c.json, "best_marker").to_string(),
                    if b.is_null() {
                        "—".into()
                    } else {
                        format!(
                            "{} ({}–{})",
                            num(f(&b, "auc")),
                            num(f(&b, "lower")),
                            num(f(&b, "upper"))
                        )
                    },
                ]
            })
            .collect();
        (
            vec![
                "condition",
                "train AUC",
                "held-out AUC",
                "best single marker",
                "its AUC (95 % CI)",
            ],
            rows,
        )
    }

    /// Signature AUC per condition, training against held-out folds.
    pub fn auc_figure(&self) -> Plot {
        let names: Vec<String> = self
            .conditions
            .iter()
            .map(|c| c.condition.clone())
            .collect();
        let pick = |train: bool| -> Vec<f64> {
            self.conditions
                .iter()
                .map(|c| {
                    c.folds
                        .iter()
                        .find(|f| f.0 == "mean")
                        .map_or(f64::NAN, |f| if train { f.1 } else { f.2 })
                })
                .collect()
        };
        // Fold-to-fold spread as the error bar: the range of held-out AUCs.
        let spread: (Vec<f64>, Vec<f64>) = self
            .conditions
            .iter()
            .map(|c| {
                let mean = c
                    .folds
                    .iter()
                    .find(|f| f.0 == "mean")
                    .map_or(f64::NAN, |f| f.2);
                let tests = c.folds.iter().filter(|f| f.0 != "mean").map(|f| f.2);
                let lo = tests.clone().fold(f64::INFINITY, f64::min);
                let hi = tests.fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() {
                    (mean - lo, hi - mean)
                } else {
                    (0.0, 0.0)
                }
            })
            .unzip();
        let mut axes = Axes::linear("condition", "AUC");
        axes.y_range = Some((0.0, 1.0));
        chart::bars(
            &axes,
            vec![
                Bars {
                    name: "training (mean of folds)".into(),
                    x: names.clone(),
                    y: pick(true),
                    error: None,
                    colour: colour(0).into(),
                },
                Bars {
                    name: "held out (mean, fold range)".into(),
                    x: names,
                    y: pick(false),
                    error: Some(spread),
                    colour: colour(1).into(),
                },
            ],
            Vec::new(),
            "signature_auc",
        )
    }

    /// The signature section: per-condition marker AUCs.
    pub fn section(&self) -> Section {
        let mut sec = Section::new("signature", "Multi-marker signatures");
        sec.para("Cross-validated logistic-regression signatures against healthy people; each marker alone with its DeLong 95 % interval next to the binormal closed form.");
        sec.begin_row();
        for c in &self.conditions {
            if c.markers.is_empty() {
                continue;
            }
            let x: Vec<String> = c.markers.iter().map(|m| m.marker.clone()).collect();
            let y: Vec<f64> = c.markers.iter().map(|m| m.auc.0).collect();
            let minus = c.markers.iter().map(|m| m.auc.0 - m.auc.1).collect();
            let plus = c.markers.iter().map(|m| m.auc.2 - m.auc.0).collect();
            let mut axes = Axes::linear("marker", "AUC");
            axes.y_range = Some((0.0, 1.0));
            sec.plot(
                &format!("Markers alone: {}", c.condition),
                "Empirical AUC of each marker (bars, DeLong 95 % interval) and the binormal closed form (diamonds).",
                &chart::bars(
                    &axes,
                    vec![Bars {
                        name: "empirical AUC".into(),
                        x: x.clone(),
                        y,
                        error: Some((minus, plus)),
                        colour: colour(0).into(),
                    }],
                    vec![Bars {
                        name: "closed form".into(),
                        x,
                        y: c.markers.iter().map(|m| m.closed_form).collect(),
                        error: None,
                        colour: colour(1).into(),
                    }],
                    &format!("markers_{}", c.condition),
                ),
            );
        }
        sec.end_row();
        let rows: Vec<Vec<String>> = self
            .conditions
            .iter()
            .flat_map(|c| {
                c.folds.iter().map(|(fold, tr, te)| {
                    vec![c.condition.clone(), fold.clone(), num(*tr), num(*te)]
                })
            })
            .collect();
        sec.heading("Per fold");
        sec.table(&["condition", "fold", "train AUC", "held-out AUC"], &rows);
        sec
    }
}
