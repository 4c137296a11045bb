//! A calibration's page: what was fitted to what, the estimates with their
//! intervals, the fit against the data (measured against fitted values,
//! standardised residuals), every start of the search, and for bootstrap
//! intervals the spread of the refitted parameters.
//!
//! It reads `calibration.json` as exosim writes it (the same type, so a
//! field that is missing or of the wrong kind is refused with the file's
//! line and column), `calibration_fit.csv`, and `calibration_bootstrap.csv`
//! when the intervals are a bootstrap's. Each table is checked against the
//! report before anything is drawn: a row count that disagrees, a measured
//! value that is not a number, a resample outside its parameter's bounds.

use std::path::{Path, PathBuf};

use exosim::campaign::calibration::run::{BOOTSTRAP_FILE, FILES, Report};
use serde_json::Value;

use crate::chart::{self, Axes, Series, colour};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::num;
use crate::page::{self, Section};
use crate::table::LongTable;

/// Whether `dir` holds a calibration (its summary says so).
pub fn is_calibration(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|s| s.get("method").and_then(Value::as_str) == Some("calibration"))
}

/// One data row and its fit (a row of `calibration_fit.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct FitRow {
    /// The row's line in the data file.
    pub line: usize,
    /// Its label.
    pub name: String,
    /// What was measured, in words.
    pub observable: String,
    /// The unit of the value.
    pub unit: String,
    /// The measured value.
    pub value: f64,
    /// The model's value at the estimate (NaN where the run failed).
    pub fitted: f64,
    /// Residual over the row's sd (NaN where undefined).
    pub standardised: f64,
    /// When it was measured, s (NaN for a value without a time).
    pub time: f64,
    /// The fitted curve it lies on (`calibration_curves.csv`), if any.
    pub curve: String,
}

/// A fitted curve: the model's value of a time course at every output
/// time (a `curve` of `calibration_curves.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct FittedCurve {
    /// Its label: kind, place, class and arm.
    pub label: String,
    /// Times, s.
    pub times: Vec<f64>,
    /// Values at the estimates.
    pub values: Vec<f64>,
}

/// A calibration folder, read and checked.
#[derive(Debug, Clone)]
pub struct CalibrationDir {
    /// The folder.
    pub dir: PathBuf,
    /// `calibration.json`.
    pub report: Report,
    /// `calibration_fit.csv`.
    pub fit: Vec<FitRow>,
    /// `calibration_bootstrap.csv`: each parameter's refitted values, in
    /// the report's order (empty for profile intervals).
    pub resamples: Vec<Vec<f64>>,
    /// `calibration_curves.csv` (none in a folder written before it).
    pub curves: Vec<FittedCurve>,
}

impl CalibrationDir {
    /// Reads and checks the calibration in `dir`.
    pub fn load(dir: &Path) -> Result<CalibrationDir, ReportError> {
        let path = dir.join(FILES[0]);
        let text = std::fs::read_to_string(&path).map_err(|_| ReportError::MissingFile {
            path: path.clone(),
            why: "a calibration writes its estimates there".into(),
        })?;
        let report: Report =
            serde_json::from_str(&text).map_err(|source| ReportError::Json { path, source })?;
        let fit = read_fit(&dir.join(FILES[1]), &report)?;
        let resamples = match &report.resamples {
            Some(_) => read_resamples(&dir.join(BOOTSTRAP_FILE), &report)?,
            None => Vec::new(),
        };
        let curves = read_curves(&dir.join(FILES[4]))?;
        Ok(CalibrationDir {
            dir: dir.to_path_buf(),
            report,
            fit,
            resamples,
            curves,
        })
    }
}

/// A cell that a calibration writes empty where a value is undefined.
fn maybe_number(t: &LongTable, row: usize, col: usize) -> Result<f64, ReportError> {
    match t.text(row, col) {
        "" => Ok(f64::NAN),
        _ => t.number(row, col),
    }
}

/// `calibration_fit.csv`: one row per data row, measured values finite.
fn read_fit(path: &Path, report: &Report) -> Result<Vec<FitRow>, ReportError> {
    if !path.is_file() {
        let why = "a calibration writes each data row's fit there".to_string();
        return Err(ReportError::MissingFile {
            path: path.to_path_buf(),
            why,
        });
    }
    let t = LongTable::read(path)?;
    let col = |name: &str| t.require(name);
    let (line, name, observable, unit) =
        (col("line")?, col("name")?, col("observable")?, col("unit")?);
    let (value, fitted, standardised) =
        (col("value")?, col("fitted")?, col("standardised_residual")?);
    let time = col("time_s")?;
    // A folder written before the curves has no `curve` column.
    let curve = t.headers.iter().position(|h| h == "curve");
    if t.len() != report.rows {
        let why = format!(
            "{} rows, but calibration.json says {} data rows (file truncated?)",
            t.len(),
            report.rows
        );
        return Err(check::invalid(path, None, "line", why));
    }
    (0..t.len())
        .map(|r| {
            let v = t.number(r, value)?;
            if let Some(why) = Rule::Finite.broken(v) {
                return Err(check::invalid(path, Some(t.line(r)), "value", why));
            }
            Ok(FitRow {
                line: t.number(r, line)? as usize,
                name: t.text(r, name).to_string(),
                observable: t.text(r, observable).to_string(),
                unit: t.text(r, unit).to_string(),
                value: v,
                fitted: maybe_number(&t, r, fitted)?,
                standardised: maybe_number(&t, r, standardised)?,
                time: maybe_number(&t, r, time)?,
                curve: curve.map_or(String::new(), |c| t.text(r, c).to_string()),
            })
        })
        .collect()
}

/// `calibration_curves.csv`: rows of (curve, time, value), each curve's
/// times ascending; none when the file is absent (an older folder).
fn read_curves(path: &Path) -> Result<Vec<FittedCurve>, ReportError> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let t = LongTable::read_maybe_empty(path)?;
    let (c, time, value) = (
        t.require("curve")?,
        t.require("time_s")?,
        t.require("fitted")?,
    );
    let mut curves: Vec<FittedCurve> = Vec::new();
    for r in 0..t.len() {
        let label = t.text(r, c);
        let (x, y) = (t.number(r, time)?, t.number(r, value)?);
        if let Some(why) = Rule::AtLeast(0.0).broken(x) {
            return Err(check::invalid(path, Some(t.line(r)), "time_s", why));
        }
        let curve = match curves.iter_mut().find(|k| k.label == label) {
            Some(k) => k,
            None => {
                curves.push(FittedCurve {
                    label: label.to_string(),
                    times: Vec::new(),
                    values: Vec::new(),
                });
                curves.last_mut().expect("just pushed")
            }
        };
        if curve.times.last().is_some_and(|&last| x < last) {
            let why = format!(
                "{x} after {}: a curve's times must not decrease",
                curve.times[curve.times.len() - 1]
            );
            return Err(check::invalid(path, Some(t.line(r)), "time_s", why));
        }
        curve.times.push(x);
        curve.values.push(y);
    }
    Ok(curves)
}

/// `calibration_bootstrap.csv`: a column per parameter of the report, as
/// many rows as resamples drawn; a refitted value (of a resample whose
/// refit succeeded) within its parameter's search bounds is not checked
/// here, only that it is a number.
fn read_resamples(path: &Path, report: &Report) -> Result<Vec<Vec<f64>>, ReportError> {
    if !path.is_file() {
        let why = "calibration.json has bootstrap intervals, whose resamples are written there";
        return Err(ReportError::MissingFile {
            path: path.to_path_buf(),
            why: why.into(),
        });
    }
    let t = LongTable::read_maybe_empty(path)?;
    let drawn = report.resamples.as_ref().map_or(0, |r| r.drawn) as usize;
    if t.len() != drawn {
        let why = format!(
            "{} rows, but calibration.json says {drawn} resamples drawn",
            t.len()
        );
        return Err(check::invalid(path, None, "resample", why));
    }
    let cost = t.require("neg_log_likelihood")?;
    report
        .estimates
        .iter()
        .map(|e| {
            let c = t.require(&e.path)?;
            let mut values = Vec::with_capacity(t.len());
            for r in 0..t.len() {
                let v = t.number(r, c)?;
                if let Some(why) = Rule::NotNan.broken(v) {
                    return Err(check::invalid(path, Some(t.line(r)), &e.path, why));
                }
                if t.number(r, cost)?.is_finite() {
                    values.push(v);
                }
            }
            Ok(values)
        })
        .collect()
}

/// The fit's figures in words.
fn fit_pairs(r: &Report) -> Vec<(&'static str, String)> {
    let sigma = match (r.sigma, r.sigma_groups.is_empty()) {
        (Some(s), _) => format!("{} ({})", num(s), r.sigma_source.replace('_', " ")),
        (None, true) => "each row's sd (the data's sd column)".into(),
        (None, false) => r
            .sigma_groups
            .iter()
            .map(|g| format!("{} {} ({} rows)", g.group, num(g.sigma), g.rows))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let g = &r.goodness;
    let chi = format!(
        "{} on {} degrees of freedom{}",
        num(g.chi_square),
        g.degrees_of_freedom,
        g.p_value
            .map_or(String::new(), |p| format!(", p = {}", num(p)))
    );
    let intervals = match &r.resamples {
        Some(b) => format!(
            "parametric bootstrap, {} % percentile ({} of {} resamples refitted)",
            num(100.0 * r.confidence),
            b.fitted,
            b.drawn
        ),
        None => format!("profile likelihood, {} %", num(100.0 * r.confidence)),
    };
    vec![
        ("data", format!("{} ({} rows)", r.data, r.rows)),
        ("objective", r.objective.replace('_', " ")),
        ("error model", format!("{:?}", r.error_model).to_lowercase()),
        ("σ", sigma),
        ("−log L", num(r.neg_log_likelihood)),
        (
            "AIC, BIC",
            format!("{}, {} (k = {})", num(r.aic), num(r.bic), r.estimated),
        ),
        ("χ²", chi),
        ("intervals", intervals),
        ("runs of the study", r.evaluations.to_string()),
    ]
}

fn estimate_rows(r: &Report) -> Vec<Vec<String>> {
    let bound = |v: f64, at: bool| format!("{}{}", num(v), if at { " (bound)" } else { "" });
    r.estimates
        .iter()
        .map(|e| {
            vec![
                e.path.clone(),
                num(e.estimate),
                bound(e.low, e.low_at_bound),
                bound(e.high, e.high_at_bound),
                e.unit.clone(),
                if e.log_scale { "log" } else { "linear" }.into(),
            ]
        })
        .collect()
}

fn start_rows(r: &Report) -> Vec<Vec<String>> {
    let list = |v: &[f64]| v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ");
    r.starts
        .iter()
        .map(|s| {
            vec![
                s.index.to_string(),
                list(&s.from),
                list(&s.to),
                num(s.neg_log_likelihood),
                s.evaluations.to_string(),
            ]
        })
        .collect()
}

/// Measured against fitted, with the line of equality: on log axes when
/// every value is positive.
fn agreement_plot(fit: &[FitRow]) -> plotly::Plot {
    let measured: Vec<f64> = fit.iter().map(|f| f.value).collect();
    let fitted: Vec<f64> = fit.iter().map(|f| f.fitted).collect();
    let all = measured
        .iter()
        .chain(&fitted)
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let mut axes = Axes::linear("fitted value", "measured value");
    if lo > 0.0 {
        axes = axes.log_y();
        axes.log_x = true;
    }
    let mut equal = Series::new("equal", vec![lo, hi], vec![lo, hi], "#888888");
    equal.dash = chart::Dash::Dash;
    let mut plot = chart::scatter(
        &axes,
        vec![Series::new("data rows", fitted, measured, colour(0))],
        "calibration_agreement",
    );
    plot.add_trace(
        plotly::Scatter::new(equal.x, equal.y)
            .name("equal")
            .mode(plotly::common::Mode::Lines)
            .line(
                plotly::common::Line::new()
                    .color(equal.colour)
                    .dash(plotly::common::DashType::Dash),
            ),
    );
    plot
}

/// One fitted curve over its data rows, time in hours.
fn curve_plot(curve: &FittedCurve, fit: &[FitRow], unit: &str) -> plotly::Plot {
    let hours = |t: &[f64]| t.iter().map(|t| t / 3600.0).collect::<Vec<f64>>();
    let rows: Vec<&FitRow> = fit.iter().filter(|f| f.curve == curve.label).collect();
    let axes = Axes::linear("time (h)", format!("{} ({unit})", curve.label)).toggle_y();
    let line = Series::new(
        "fitted",
        hours(&curve.times),
        curve.values.clone(),
        colour(0),
    );
    let mut plot = chart::lines(
        &axes,
        vec![line],
        &format!("curve_{}", curve.label.replace(' ', "_")),
    );
    let (x, y): (Vec<f64>, Vec<f64>) = rows.iter().map(|f| (f.time / 3600.0, f.value)).unzip();
    plot.add_trace(
        plotly::Scatter::new(x, y)
            .name("measured")
            .mode(plotly::common::Mode::Markers)
            .marker(plotly::common::Marker::new().color(colour(1)).size(8)),
    );
    plot
}

fn curves_part(c: &CalibrationDir, sec: &mut Section) {
    for curve in &c.curves {
        let unit = (c.fit.iter())
            .find(|f| f.curve == curve.label)
            .map_or("", |f| f.unit.as_str());
        let caption =
            "the model at the estimates over every output time, and the measurements on it";
        sec.plot(
            &format!("Fitted curve: {}", curve.label),
            caption,
            &curve_plot(curve, &c.fit, unit),
        );
    }
}

/// A value and its unit, a bare number for a ratio (unit `1`).
fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "" | "1" => num(v),
        _ => format!("{} {unit}", num(v)),
    }
}

fn residual_rows(fit: &[FitRow]) -> Vec<Vec<String>> {
    fit.iter()
        .map(|f| {
            vec![
                f.line.to_string(),
                f.name.clone(),
                f.observable.clone(),
                with_unit(f.value, &f.unit),
                with_unit(f.fitted, &f.unit),
                num(f.standardised),
            ]
        })
        .collect()
}

fn bootstrap_part(c: &CalibrationDir, sec: &mut Section) {
    if c.resamples.is_empty() {
        return;
    }
    sec.heading("The bootstrap's refitted parameters");
    for (e, values) in c.report.estimates.iter().zip(&c.resamples) {
        let Some((edges, counts)) = crate::campaign_plot::bins(values) else {
            continue;
        };
        let axes = Axes::linear(format!("{} {}", e.path, e.unit), "resamples");
        let stem = format!("bootstrap_{}", e.path.replace('.', "_"));
        let plot = chart::histogram(&axes, &edges, &chart::heights(&counts), colour(1), &stem);
        let caption = format!(
            "{} refitted values; the estimate {} and the interval [{}, {}]",
            values.len(),
            num(e.estimate),
            num(e.low),
            num(e.high)
        );
        sec.plot(&e.path, &caption, &plot);
    }
}

/// The page's one section.
pub fn section(c: &CalibrationDir) -> Section {
    let r = &c.report;
    let mut sec = Section::new("calibration", "Calibration");
    sec.para(&format!(
        "The parameters below were fitted to the {} rows of `{}` by {} (docs/calibration.md).",
        r.rows,
        page::esc(&r.data),
        r.objective.replace('_', " ")
    ));
    sec.pairs(&fit_pairs(r));
    sec.heading("Estimates");
    sec.table(
        &[
            "parameter",
            "estimate",
            "low",
            "high",
            "unit",
            "searched on",
        ],
        &estimate_rows(r),
    );
    sec.heading("The fit");
    sec.plot(
        "Measured against fitted",
        "each data row at the estimates; on the dashed line the model equals the measurement",
        &agreement_plot(&c.fit),
    );
    curves_part(c, &mut sec);
    sec.table(
        &[
            "line",
            "name",
            "observable",
            "measured",
            "fitted",
            "standardised residual",
        ],
        &residual_rows(&c.fit),
    );
    bootstrap_part(c, &mut sec);
    sec.heading("Starts of the search");
    sec.table(&["start", "from", "to", "−log L", "runs"], &start_rows(r));
    sec
}

/// Reads the calibration in `dir` and writes its page (its figures are
/// interactive; each saves itself as SVG from its camera button).
pub fn write(dir: &Path) -> Result<crate::Written, ReportError> {
    let c = CalibrationDir::load(dir)?;
    let title = format!("Calibration `{}`", c.report.campaign);
    let subtitle = format!("exosim {} · {}", c.report.exosim_version, c.dir.display());
    let html = page::render(&title, &subtitle, &[section(&c)]);
    let path = dir.join(crate::REPORT_FILE);
    exosim::output::write_atomic(&path, |w| w.write_all(html.as_bytes()))?;
    Ok(crate::Written {
        html: path,
        figures: Vec::new(),
    })
}
