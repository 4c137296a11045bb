//! An ABC-SMC calibration's page: the data and settings, each parameter's
//! posterior (a weighted histogram of the last generation, its credible
//! interval), the tolerance of each generation, and each data row beside
//! the posterior predictive of its runs.
//!
//! It reads `abc.json` as exosim writes it (the same type, so a field
//! that is missing or of the wrong kind is refused with the file's line
//! and column), `abc_posterior.csv` and `abc_fit.csv`, each checked
//! against the report before anything is drawn: a particle count that
//! disagrees, a weight that is negative or not a number, weights that do
//! not sum to 1.

use std::path::{Path, PathBuf};

use exosim::campaign::abc::run::{FILES, Report};
use serde_json::Value;

use crate::chart::{self, Axes, Series, colour};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::num;
use crate::page::{self, Section};
use crate::table::LongTable;

/// Whether `dir` holds an ABC-SMC calibration (its summary says so).
pub fn is_abc(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|s| s.get("method").and_then(Value::as_str) == Some("abc_smc"))
}

/// An ABC-SMC folder read and checked.
#[derive(Debug, Clone)]
pub struct AbcDir {
    /// The folder.
    pub dir: PathBuf,
    /// `abc.json`.
    pub report: Report,
    /// `abc_posterior.csv`: each particle's weight.
    pub weights: Vec<f64>,
    /// Each parameter's values, in the report's order.
    pub values: Vec<Vec<f64>>,
    /// `abc_fit.csv`: each data row and its posterior predictive.
    pub fit: Vec<Predicted>,
}

/// A data row beside its posterior predictive (a row of `abc_fit.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicted {
    /// The observable's kind.
    pub observable: String,
    /// Its unit.
    pub unit: String,
    /// The measurement.
    pub value: f64,
    /// The weighted median of the last generation's values.
    pub median: f64,
    /// The band's lower end.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

impl AbcDir {
    /// Reads and checks the calibration in `dir`.
    pub fn load(dir: &Path) -> Result<AbcDir, ReportError> {
        let path = dir.join(FILES[0]);
        let text = std::fs::read_to_string(&path).map_err(|_| ReportError::MissingFile {
            path: path.clone(),
            why: "an ABC-SMC calibration writes its posteriors there".into(),
        })?;
        let report: Report =
            serde_json::from_str(&text).map_err(|source| ReportError::Json { path, source })?;
        let (weights, values) = read_posterior(&dir.join(FILES[1]), &report)?;
        let fit = read_fit(&dir.join(FILES[3]), &report)?;
        Ok(AbcDir {
            dir: dir.to_path_buf(),
            report,
            weights,
            values,
            fit,
        })
    }
}

/// `abc_posterior.csv`: `population` particles, weights ≥ 0 summing to 1,
/// a column per parameter.
fn read_posterior(path: &Path, r: &Report) -> Result<(Vec<f64>, Vec<Vec<f64>>), ReportError> {
    let t = LongTable::read(path)?;
    if t.len() != r.population {
        let why = format!(
            "{} particles, but abc.json says {} (file truncated?)",
            t.len(),
            r.population
        );
        return Err(check::invalid(path, None, "particle", why));
    }
    let w = t.require("weight")?;
    let mut weights = Vec::with_capacity(t.len());
    for row in 0..t.len() {
        let x = t.number(row, w)?;
        if let Some(why) = Rule::AtLeast(0.0).broken(x) {
            return Err(check::invalid(path, Some(t.line(row)), "weight", why));
        }
        weights.push(x);
    }
    let total: f64 = weights.iter().sum();
    if (total - 1.0).abs() > 1e-9 {
        let why = format!("the weights sum to {total}, not 1");
        return Err(check::invalid(path, None, "weight", why));
    }
    let first = t.headers.len() - r.posteriors.len();
    let values = (first..t.headers.len())
        .map(|c| (0..t.len()).map(|row| t.number(row, c)).collect())
        .collect::<Result<_, _>>()?;
    Ok((weights, values))
}

/// `abc_fit.csv`: one row per data row, measured values finite.
fn read_fit(path: &Path, r: &Report) -> Result<Vec<Predicted>, ReportError> {
    let t = LongTable::read(path)?;
    if t.len() != r.rows {
        let why = format!("{} rows, but abc.json says {} data rows", t.len(), r.rows);
        return Err(check::invalid(path, None, "line", why));
    }
    let col = |name: &str| t.require(name);
    let (obs, unit, value) = (col("observable")?, col("unit")?, col("value")?);
    let (median, low, high) = (
        col("predicted_median")?,
        col("predicted_low")?,
        col("predicted_high")?,
    );
    let maybe = |row, c| match t.text(row, c) {
        "" => Ok(f64::NAN),
        _ => t.number(row, c),
    };
    (0..t.len())
        .map(|row| {
            let v = t.number(row, value)?;
            if let Some(why) = Rule::Finite.broken(v) {
                return Err(check::invalid(path, Some(t.line(row)), "value", why));
            }
            let name = t.text(row, obs).split(':').next().unwrap_or("").to_string();
            Ok(Predicted {
                observable: name,
                unit: t.text(row, unit).to_string(),
                value: v,
                median: maybe(row, median)?,
                low: maybe(row, low)?,
                high: maybe(row, high)?,
            })
        })
        .collect()
}

/// The settings and the run in words.
fn setting_pairs(r: &Report) -> Vec<(&'static str, String)> {
    let scales = r.row_scales.iter().map(|s| num(*s)).collect::<Vec<_>>();
    vec![
        ("data", format!("{} ({} rows)", r.data, r.rows)),
        (
            "distance",
            format!("{:?} scale", r.error_model).to_lowercase(),
        ),
        (
            "row scales",
            format!(
                "{} (from {})",
                scales.join(", "),
                r.scales_from.replace('_', " ")
            ),
        ),
        ("particles", r.population.to_string()),
        (
            "generations",
            format!(
                "{} after the prior's, stopped on {:?}",
                r.generations.len().saturating_sub(1),
                r.stop
            )
            .to_lowercase(),
        ),
        ("runs of the study", r.runs.to_string()),
    ]
}

fn posterior_rows(r: &Report) -> Vec<Vec<String>> {
    r.posteriors
        .iter()
        .map(|p| {
            vec![
                p.path.clone(),
                num(p.mean),
                num(p.median),
                num(p.sd),
                num(p.low),
                num(p.high),
                p.unit.clone(),
            ]
        })
        .collect()
}

fn generation_rows(r: &Report) -> Vec<Vec<String>> {
    r.generations
        .iter()
        .map(|g| {
            vec![
                g.generation.to_string(),
                g.epsilon.map_or("prior".into(), num),
                g.proposals.to_string(),
                g.runs.to_string(),
                num(g.acceptance),
                num(g.ess),
            ]
        })
        .collect()
}

/// Each parameter's weighted histogram: the weight of the particles in
/// each bin, summing to 1.
fn posterior_part(a: &AbcDir, sec: &mut Section) {
    for (j, p) in a.report.posteriors.iter().enumerate() {
        let Some((edges, _)) = crate::campaign_plot::bins(&a.values[j]) else {
            continue;
        };
        let k = edges.len() - 1;
        let width = edges[1] - edges[0];
        let mut heights = vec![0.0; k];
        for (x, w) in a.values[j].iter().zip(&a.weights) {
            let bin = (((x - edges[0]) / width) as usize).min(k - 1);
            heights[bin] += w;
        }
        let axes = Axes::linear(format!("{} {}", p.path, p.unit), "posterior weight");
        let stem = format!("abc_{}", p.path.replace('.', "_"));
        let plot = chart::histogram(&axes, &edges, &heights, colour(j), &stem);
        let caption = format!(
            "{} particles; median {}, {} % credible interval [{}, {}]",
            a.weights.len(),
            num(p.median),
            num(100.0 * a.report.confidence),
            num(p.low),
            num(p.high)
        );
        sec.plot(&p.path, &caption, &plot);
    }
}

/// ε against the generation, on a log axis.
fn tolerance_plot(r: &Report) -> plotly::Plot {
    let (x, y): (Vec<f64>, Vec<f64>) = r
        .generations
        .iter()
        .filter_map(|g| g.epsilon.map(|e| (g.generation as f64, e)))
        .unzip();
    let axes = Axes::linear("generation", "tolerance ε").log_y();
    chart::lines(&axes, vec![Series::styled("ε", x, y, 0)], "abc_tolerance")
}

fn fit_rows(a: &AbcDir) -> Vec<Vec<String>> {
    a.fit
        .iter()
        .map(|p| {
            vec![
                p.observable.clone(),
                num(p.value),
                num(p.median),
                format!("[{}, {}]", num(p.low), num(p.high)),
                p.unit.clone(),
            ]
        })
        .collect()
}

/// The page's one section.
pub fn section(a: &AbcDir) -> Section {
    let r = &a.report;
    let mut sec = Section::new("abc", "ABC-SMC calibration");
    sec.para(&format!(
        "The posterior of the parameters below given the {} rows of `{}`, by ABC-SMC \
         (docs/calibration.md#abc-smc).",
        r.rows,
        page::esc(&r.data)
    ));
    sec.pairs(&setting_pairs(r));
    sec.heading("Posteriors");
    sec.table(
        &["parameter", "mean", "median", "sd", "low", "high", "unit"],
        &posterior_rows(r),
    );
    posterior_part(a, &mut sec);
    sec.heading("Generations");
    sec.plot(
        "Tolerance",
        "each generation's ε: its particles' runs came within ε of the data",
        &tolerance_plot(r),
    );
    sec.table(
        &["generation", "ε", "proposals", "runs", "acceptance", "ESS"],
        &generation_rows(r),
    );
    sec.heading("The data and the posterior predictive");
    let band = format!("{} % band", num(100.0 * r.confidence));
    sec.table(
        &[
            "observable",
            "measured",
            "predicted median",
            band.as_str(),
            "unit",
        ],
        &fit_rows(a),
    );
    sec
}

/// Reads the calibration in `dir` and writes its page.
pub fn write(dir: &Path) -> Result<crate::Written, ReportError> {
    let a = AbcDir::load(dir)?;
    let title = format!("ABC-SMC calibration `{}`", a.report.campaign);
    let subtitle = format!("exosim {} · {}", a.report.exosim_version, a.dir.display());
    let html = page::render(&title, &subtitle, &[section(&a)]);
    let path = dir.join(crate::REPORT_FILE);
    exosim::output::write_atomic(&path, |w| w.write_all(html.as_bytes()))?;
    Ok(crate::Written {
        html: path,
        figures: Vec::new(),
    })
}
