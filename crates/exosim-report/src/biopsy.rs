//! The liquid biopsy: detection probability against tumour size
//! (`biopsy_curve.csv`), ROC curves (`biopsy_roc_<test>.csv`) and each
//! test's key figures (`summary.json`).

use std::path::Path;

use exosim::output::Table;
use exosim::units::{Dimension, YEAR};
use plotly::Plot;
use serde_json::Value;

use crate::chart::{self, Axes, Dash, Series, colour};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::{f, human, mm, num, pct, s};
use crate::page::Section;
use crate::table::read_numeric;

/// One blood test.
#[derive(Debug, Clone)]
pub struct TestView {
    /// Test name.
    pub name: String,
    /// The test's summary object.
    pub json: Value,
    /// (1 − specificity, sensitivity) points, when a ROC file exists.
    pub roc: Option<(Vec<f64>, Vec<f64>)>,
}

/// What the biopsy pipeline wrote.
#[derive(Debug, Clone)]
pub struct BiopsyOutputs {
    /// Marker measured.
    pub marker: String,
    /// Per test.
    pub tests: Vec<TestView>,
    /// `biopsy_curve.csv`.
    pub curve: Table,
    /// Tumour diameter (m) of the ROC curves and AUCs, from the resolved
    /// study's `biopsy.curve.roc_diameter`.
    pub roc_diameter: Option<f64>,
}

/// A length of the resolved study: SI text with its unit (`"0.01 m"`) or a number.
fn si_length(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str()?.trim().strip_suffix('m')?.trim().parse().ok())
}

/// `biopsy_curve.csv`: ascending positive diameters, as many as the study
/// asked for; probabilities and their bounds within [0, 1], in order.
fn check_curve(path: &Path, summary: &Value, curve: &Table) -> Result<(), ReportError> {
    let Some(d) = curve.column("diameter_m") else {
        return Err(check::invalid(
            path,
            Some(1),
            "diameter_m",
            "required column missing",
        ));
    };
    check::column(path, "diameter_m", &d.values, 2, Rule::AtLeast(0.0))?;
    check::ascending(path, "diameter_m", &d.values, 2)?;
    if let Some(points) = summary
        .pointer("/resolved_study/biopsy/curve/points")
        .and_then(Value::as_u64)
        && d.values.len() as u64 != points
    {
        return Err(check::invalid(
            path,
            Some(d.values.len() + 1),
            "diameter_m",
            format!(
                "{} rows, but the study asks for {points} diameters: the file is cut short",
                d.values.len()
            ),
        ));
    }
    for c in curve.columns.iter().skip(1) {
        check::column(path, &c.name, &c.values, 2, Rule::Within(0.0, 1.0))?;
    }
    for c in curve
        .columns
        .iter()
        .filter(|c| c.name.ends_with("/probability"))
    {
        let test = c.name.trim_end_matches("/probability");
        let (Some(lo), Some(hi)) = (
            curve.column(&format!("{test}/low")),
            curve.column(&format!("{test}/high")),
        ) else {
            continue;
        };
        for (i, ((&p, &l), &h)) in c.values.iter().zip(&lo.values).zip(&hi.values).enumerate() {
            if l > p + 1e-12 || p > h + 1e-12 {
                return Err(check::invalid(
                    path,
                    Some(i + 2),
                    &c.name,
                    format!(
                        "{p} lies outside its own 95 % interval [{l}, {h}] (columns `{test}/low` and `{test}/high`)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// One test of `summary.json`'s `biopsy.tests`: its figures within their ranges.
fn check_test(path: &Path, i: usize, t: &Value) -> Result<(), ReportError> {
    let j = check::Json::new(path);
    let at = |k: &str| format!("biopsy.tests[{i}].{k}");
    j.string(t.get("test"), &at("test"))?;
    j.number(t.get("threshold"), &at("threshold"), Rule::AtLeast(0.0))?;
    let spec = t.get("specificity");
    j.number(
        spec.and_then(|s| s.get(0)),
        &at("specificity[0]"),
        Rule::Within(0.0, 1.0),
    )?;
    for k in 0..2 {
        j.number(
            spec.and_then(|s| s.get(1)).and_then(|b| b.get(k)),
            &at(&format!("specificity[1][{k}]")),
            Rule::Within(0.0, 1.0),
        )?;
    }
    for k in ["minimal_diameter_50", "minimal_diameter_90"] {
        j.optional(t.get(k), &at(k), Rule::AtLeast(0.0))?;
    }
    for k in ["sensitivity_at_roc_diameter", "ppv"] {
        j.optional(t.get(k), &at(k), Rule::Within(0.0, 1.0))?;
    }
    if let Some(a) = t.get("auc").filter(|a| !a.is_null()) {
        for k in ["auc", "lower", "upper"] {
            j.number(a.get(k), &at(&format!("auc.{k}")), Rule::Within(0.0, 1.0))?;
        }
    }
    if let Some(sc) = t.get("screening").filter(|s| !s.is_null()) {
        j.optional(
            sc.get("never_detected_share"),
            &at("screening.never_detected_share"),
            Rule::Within(0.0, 1.0),
        )?;
        for k in ["detected", "n"] {
            j.optional(
                sc.get(k),
                &at(&format!("screening.{k}")),
                Rule::AtLeast(0.0),
            )?;
        }
        for k in ["time_quantiles", "diameter_quantiles"] {
            for (n, q) in sc
                .get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                j.optional(
                    q.get(1),
                    &at(&format!("screening.{k}[{n}][1]")),
                    Rule::AtLeast(0.0),
                )?;
            }
        }
    }
    Ok(())
}

/// A ROC curve file (threshold, sensitivity, specificity, down to the
/// threshold that calls everyone positive), as (1 − specificity,
/// sensitivity) thinned for the page.
pub fn read_roc(roc_path: &Path) -> Result<(Vec<f64>, Vec<f64>), ReportError> {
    let table = read_numeric(roc_path)?;
    let column = |n: &str| {
        table
            .column(n)
            .map(|c| c.values.clone())
            .ok_or_else(|| ReportError::Invalid {
                path: roc_path.to_path_buf(),
                row: Some(1),
                column: Some(n.into()),
                message: "required column missing".into(),
            })
    };
    let sens = column("sensitivity")?;
    let spec = column("specificity")?;
    let threshold = column("threshold")?;
    check::column(roc_path, "threshold", &threshold, 2, Rule::NotNan)?;
    check::column(roc_path, "sensitivity", &sens, 2, Rule::Within(0.0, 1.0))?;
    check::column(roc_path, "specificity", &spec, 2, Rule::Within(0.0, 1.0))?;
    // A run writes the whole curve, down to the threshold that calls everyone positive.
    if sens.last() != Some(&1.0) || spec.last() != Some(&0.0) {
        return Err(check::invalid(
            roc_path,
            Some(sens.len() + 1),
            "sensitivity",
            "the curve does not end at sensitivity 1, specificity 0: the file is cut short",
        ));
    }
    Ok(thin_roc(
        &spec.iter().map(|x| 1.0 - x).collect::<Vec<_>>(),
        &sens,
    ))
}

/// ROC curves with the chance diagonal, sensitivity against 1 − specificity.
pub fn roc_plot(mut series: Vec<Series>, file_stem: &str) -> Plot {
    let mut chance = Series::new("chance", vec![0.0, 1.0], vec![0.0, 1.0], "#999999");
    chance.dash = Dash::Dash;
    chance.width = 1.0;
    series.push(chance);
    let mut axes = Axes::linear("1 − specificity", "sensitivity");
    axes.y_range = Some((0.0, 1.02));
    chart::lines(&axes, series, file_stem)
}

/// The file name a test's ROC curve is written under (as the library names it).
pub fn roc_file(test: &str) -> String {
    let safe: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("biopsy_roc_{safe}.csv")
}

impl BiopsyOutputs {
    /// Reads the biopsy outputs when `summary.json` has a `biopsy` part.
    pub fn load(dir: &Path, summary: &Value) -> Result<Option<Self>, ReportError> {
        let Some(b) = summary.get("biopsy") else {
            return Ok(None);
        };
        let tests_json = b
            .get("tests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if tests_json.is_empty() {
            return Ok(None);
        }
        let path = dir.join("biopsy_curve.csv");
        if !path.is_file() {
            return Err(ReportError::MissingFile {
                path,
                why: format!("summary.json lists {} blood test(s)", tests_json.len()),
            });
        }
        let curve = read_numeric(&path)?;
        check_curve(&path, summary, &curve)?;
        let mut tests = Vec::new();
        for (i, t) in tests_json.into_iter().enumerate() {
            check_test(&dir.join("summary.json"), i, &t)?;
            let name = s(&t, "test").to_string();
            for suffix in ["probability", "low", "high"] {
                let col = format!("{name}/{suffix}");
                if curve.column(&col).is_none() {
                    return Err(ReportError::Invalid {
                        path: path.clone(),
                        row: Some(1),
                        column: Some(col),
                        message: format!("column for test `{name}` of summary.json missing"),
                    });
                }
            }
            let roc_path = dir.join(roc_file(&name));
            let has_auc = t.get("auc").is_some_and(|a| !a.is_null());
            if has_auc && !roc_path.is_file() {
                return Err(ReportError::MissingFile {
                    path: roc_path,
                    why: format!(
                        "summary.json has an AUC for test `{name}`, and a run writes the ROC curve it comes from"
                    ),
                });
            }
            let roc = if roc_path.is_file() {
                Some(read_roc(&roc_path)?)
            } else {
                None
            };
            tests.push(TestView { name, json: t, roc });
        }
        let roc_diameter = summary
            .pointer("/resolved_study/biopsy/curve/roc_diameter")
            .and_then(si_length);
        Ok(Some(BiopsyOutputs {
            marker: s(b, "marker").to_string(),
            tests,
            curve,
            roc_diameter,
        }))
    }

    /// One row per blood test: threshold, specificity, detectable sizes, AUC.
    pub fn key_table(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let rows = self
            .tests
            .iter()
            .map(|t| {
                let j = &t.json;
                let spec = j.get("specificity");
                let specificity = spec
                    .and_then(|v| v.get(0))
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN);
                let auc = j
                    .get("auc")
                    .filter(|a| !a.is_null())
                    .map(|a| {
                        format!(
                            "{} ({}–{})",
                            num(f(a, "auc")),
                            num(f(a, "lower")),
                            num(f(a, "upper"))
                        )
                    })
                    .unwrap_or_else(|| "—".into());
                vec![
                    t.name.clone(),
                    human(f(j, "threshold"), Dimension::Concentration),
                    pct(specificity),
                    mm(j.get("minimal_diameter_50").and_then(Value::as_f64)),
                    mm(j.get("minimal_diameter_90").and_then(Value::as_f64)),
                    auc,
                    pct(f(j, "sensitivity_at_roc_diameter")),
                    j.get("ppv")
                        .and_then(Value::as_f64)
                        .map(pct)
                        .unwrap_or_else(|| "—".into()),
                ]
            })
            .collect();
        (
            vec![
                "test",
                "threshold",
                "specificity",
                "50 % detected at",
                "90 % detected at",
                "AUC (95 % CI)",
                "sensitivity at the ROC diameter",
                "PPV",
            ],
            rows,
        )
    }

    /// " at a tumour diameter of 10 mm", or "" when the diameter is unknown.
    pub fn roc_at(&self) -> String {
        self.roc_diameter
            .map(|d| format!(" at a tumour diameter of {}", mm(Some(d))))
            .unwrap_or_default()
    }

    /// Detection probability against tumour diameter, with Wilson 95 % bands.
    pub fn detection_figure(&self) -> Plot {
        let d: Vec<f64> = self
            .curve
            .column("diameter_m")
            .or_else(|| self.curve.columns.first())
            .map(|c| c.values.iter().map(|x| x * 1e3).collect())
            .unwrap_or_default();
        let mut series = Vec::new();
        for (i, t) in self.tests.iter().enumerate() {
            let col = |suffix: &str| {
                self.curve
                    .column(&format!("{}/{suffix}", t.name))
                    .map(|c| c.values.clone())
                    .unwrap_or_default()
            };
            let mut low = Series::new(
                format!("{} 95 % low", t.name),
                d.clone(),
                col("low"),
                colour(i),
            );
            low.legend = false;
            low.width = 0.0;
            low.group = Some(t.name.clone());
            let mut high = Series::new(
                format!("{} 95 % band", t.name),
                d.clone(),
                col("high"),
                colour(i),
            );
            high.band_to_previous = true;
            high.legend = false;
            high.group = Some(t.name.clone());
            let mut p = Series::new(t.name.clone(), d.clone(), col("probability"), colour(i));
            p.group = Some(t.name.clone());
            series.extend([low, high, p]);
        }
        let spread = d.first().zip(d.last()).map_or(1.0, |(a, b)| b / a);
        let mut axes = Axes::linear("tumour diameter (mm)", "detection probability");
        axes.log_x = spread > 20.0;
        axes.y_range = Some((0.0, 1.02));
        chart::lines(&axes, series, "detection_probability")
    }

    /// ROC curves of every test that has one.
    pub fn roc_figure(&self) -> Option<Plot> {
        let mut series = Vec::new();
        for (i, t) in self.tests.iter().enumerate() {
            if let Some((x, y)) = &t.roc {
                let auc = t
                    .json
                    .get("auc")
                    .map(|a| format!(" (AUC {})", num(f(a, "auc"))))
                    .unwrap_or_default();
                let mut s =
                    Series::new(format!("{}{auc}", t.name), x.clone(), y.clone(), colour(i));
                s.steps = true;
                series.push(s);
            }
        }
        if series.is_empty() {
            return None;
        }
        Some(roc_plot(series, "roc"))
    }

    /// The biopsy section: detection curves, ROC curves, screening.
    pub fn section(&self) -> Section {
        let mut sec = Section::new("biopsy", "Liquid biopsy");
        sec.para(&format!(
            "Marker `{}`. Thresholds are fixed on healthy cohorts at the stated specificity; bands are Wilson 95 % intervals.",
            self.marker
        ));
        sec.begin_row();
        sec.plot(
            "Detection probability against tumour size",
            "Probability that one blood test is positive, per tumour diameter (log x where sizes span decades).",
            &self.detection_figure(),
        );
        if let Some(roc) = self.roc_figure() {
            let at = self.roc_at();
            sec.plot(
                &format!("ROC curves{at}"),
                &format!(
                    "Sensitivity against false-positive rate as the threshold moves{}; AUC in the legend. Curves thinned to steps of 0.2 % for the page.",
                    self.roc_diameter
                        .map(|d| format!(", for tumours {} in diameter", mm(Some(d))))
                        .unwrap_or_default()
                ),
                &roc,
            );
        }
        sec.end_row();
        let screening: Vec<&TestView> = self
            .tests
            .iter()
            .filter(|t| t.json.get("screening").is_some_and(|s| !s.is_null()))
            .collect();
        if !screening.is_empty() {
            sec.heading("Screening");
            let quant = |v: &Value, q: f64| {
                v.as_array().and_then(|a| {
                    a.iter().find_map(|p| {
                        let p = p.as_array()?;
                        (p.first()?.as_f64()? == q).then(|| p.get(1)?.as_f64())?
                    })
                })
            };
            let rows: Vec<Vec<String>> = screening
                .iter()
                .map(|t| {
                    let sc = &t.json["screening"];
                    let tq = |q| {
                        quant(&sc["time_quantiles"], q)
                            .map(|x| format!("{} y", num(x / YEAR)))
                            .unwrap_or_else(|| "—".into())
                    };
                    let dq = |q| mm(quant(&sc["diameter_quantiles"], q));
                    vec![
                        t.name.clone(),
                        format!("{} of {}", num(f(sc, "detected")), num(f(sc, "n"))),
                        pct(f(sc, "never_detected_share")),
                        format!("{} / {} / {}", tq(0.05), tq(0.5), tq(0.95)),
                        format!("{} / {} / {}", dq(0.05), dq(0.5), dq(0.95)),
                    ]
                })
                .collect();
            sec.table(
                &[
                    "test",
                    "detected",
                    "never detected",
                    "time after initiation (5 / 50 / 95 %)",
                    "diameter at detection (5 / 50 / 95 %)",
                ],
                &rows,
            );
        }
        sec
    }
}

/// Drops ROC points closer than 0.002 (in the unit square) to the last one
/// kept: a 10 000-point staircase looks the same with a few hundred.
fn thin_roc(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
        let last = i + 1 == x.len();
        let far = match (xs.last(), ys.last()) {
            (Some(&px), Some(&py)) => (a - px).abs() + (b - py).abs() > 0.002,
            _ => true,
        };
        if far || last {
            xs.push(a);
            ys.push(b);
        }
    }
    (xs, ys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_names_match_the_library() {
        assert_eq!(roc_file("nta sec/v2"), "biopsy_roc_nta_sec_v2.csv");
    }

    #[test]
    fn roc_thinning_keeps_the_corners() {
        let n = 10_001;
        let x: Vec<f64> = (0..n).map(|i| i as f64 / (n - 1) as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| v.sqrt()).collect();
        let (tx, ty) = thin_roc(&x, &y);
        assert!(tx.len() < 1100, "{}", tx.len());
        assert_eq!((tx[0], ty[0]), (0.0, 0.0));
        assert_eq!((*tx.last().unwrap(), *ty.last().unwrap()), (1.0, 1.0));
    }
}
