//! Cell-of-origin estimates written by `exosim deconvolve -o DIR/deconvolution.csv`
//! (any `deconvolution*.csv` in the run directory): per sample and source,
//! the fraction with its bootstrap interval.

use std::path::Path;

use crate::chart::{self, Axes, Bars, colour};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::pct;
use crate::page::Section;
use crate::table::LongTable;

/// One estimates file.
#[derive(Debug, Clone)]
pub struct Estimates {
    /// File name.
    pub file: String,
    /// (sample, source, fraction, lower, upper).
    pub rows: Vec<(String, String, f64, f64, f64)>,
}

/// Reads every `deconvolution*.csv` of `dir`, in name order.
pub fn load(dir: &Path) -> Result<Vec<Estimates>, ReportError> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| exosim::output::OutputError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("deconvolution") && n.ends_with(".csv"))
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let t = LongTable::read(&path)?;
        let cols = ["sample", "source", "fraction", "lower", "upper"].map(|c| t.require(c));
        let [a, b, c, d, e] = match cols {
            [Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)] => [a, b, c, d, e],
            other => {
                return Err(other
                    .into_iter()
                    .find_map(Result::err)
                    .unwrap_or_else(|| ReportError::invalid(&path, "bad header")));
            }
        };
        let mut rows = Vec::with_capacity(t.len());
        for r in 0..t.len() {
            // Shares of a sample's vesicles: within [0, 1], the estimate
            // within its interval.
            let share = |col: usize| -> Result<f64, ReportError> {
                let v = t.number(r, col)?;
                match Rule::Within(0.0, 1.0).broken(v) {
                    Some(why) => Err(check::invalid(&path, Some(t.line(r)), &t.headers[col], why)),
                    None => Ok(v),
                }
            };
            let (x, lo, hi) = (share(c)?, share(d)?, share(e)?);
            if lo > x + 1e-9 || x > hi + 1e-9 {
                return Err(check::invalid(
                    &path,
                    Some(t.line(r)),
                    "fraction",
                    format!("{x} lies outside its own interval [{lo}, {hi}]"),
                ));
            }
            rows.push((
                t.text(r, a).to_string(),
                t.text(r, b).to_string(),
                x,
                lo,
                hi,
            ));
        }
        out.push(Estimates {
            file: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            rows,
        });
    }
    Ok(out)
}

/// The deconvolution section: one bar group per sample.
pub fn section(all: &[Estimates]) -> Section {
    let mut sec = Section::new("deconvolution", "Cell-of-origin deconvolution");
    sec.para("Non-negative least-squares estimates of the share of each source in a sample's vesicles; error bars are bootstrap confidence intervals (markers resampled).");
    for e in all {
        let mut samples: Vec<&str> = Vec::new();
        for r in &e.rows {
            if !samples.contains(&r.0.as_str()) {
                samples.push(&r.0);
            }
        }
        let groups = samples
            .iter()
            .enumerate()
            .map(|(i, sample)| {
                let rows: Vec<_> = e.rows.iter().filter(|r| r.0 == *sample).collect();
                Bars {
                    name: sample.to_string(),
                    x: rows.iter().map(|r| r.1.clone()).collect(),
                    y: rows.iter().map(|r| 100.0 * r.2).collect(),
                    error: Some((
                        rows.iter().map(|r| 100.0 * (r.2 - r.3)).collect(),
                        rows.iter().map(|r| 100.0 * (r.4 - r.2)).collect(),
                    )),
                    colour: colour(i).into(),
                }
            })
            .collect();
        sec.plot(
            &format!("Sources of the vesicles ({})", e.file),
            "Estimated share of each source, per sample.",
            &chart::bars(
                &Axes::linear("source", "share of vesicles (%)"),
                groups,
                Vec::new(),
                "deconvolution",
            ),
        );
        let rows: Vec<Vec<String>> = e
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.0.clone(),
                    r.1.clone(),
                    pct(r.2),
                    format!("{} – {}", pct(r.3), pct(r.4)),
                ]
            })
            .collect();
        sec.table(&["sample", "source", "fraction", "interval"], &rows);
    }
    sec
}
