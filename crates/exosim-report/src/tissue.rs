//! The tissue scale: cell counts, state summaries, vesicle fates and mass
//! balance over time (`tissue_timeseries.csv`, long format: `variant`,
//! `replicate`, `time_s`, then numeric series), snapshots of cells and
//! vesicles (`tissue_snapshots/<variant>/cells_<NNNN>.csv` and
//! `vesicles_<NNNN>.csv`) and the scalar figures of `summary.json`'s
//! `tissue` object. When several body arms hold copies of the tissue, the
//! time series has an `arm` column first and the snapshots are under
//! `tissue_snapshots/<arm>/<variant>/`: each (arm, variant) is shown as
//! `arm/variant`, and the exchanges with each arm's body get a table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotly::Plot;
use serde_json::Value;

use crate::chart::{self, Axes, Series};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::{flatten, num};
use crate::page::{Section, esc};
use crate::snapshot::{self, Frame};
use crate::table::LongTable;

/// One replicate of one variant.
#[derive(Debug, Clone)]
pub struct Replicate {
    /// Variant (scenario arm of the tissue study); `arm/variant` when
    /// several body arms hold the tissue.
    pub variant: String,
    /// Replicate number.
    pub replicate: i64,
    /// Times (s).
    pub times: Vec<f64>,
    /// Per numeric column (same order as [`TissueSeries::columns`]).
    pub values: Vec<Vec<f64>>,
}

/// `tissue_timeseries.csv`.
#[derive(Debug, Clone)]
pub struct TissueSeries {
    /// Numeric series after `time_s`.
    pub columns: Vec<String>,
    /// Every (variant, replicate), in file order.
    pub replicates: Vec<Replicate>,
}

/// The figure groups, by column prefix; unknown columns go to "other".
const GROUPS: [(&str, &str, &str); 6] = [
    ("cells", "Cell counts", "cells"),
    ("state", "State summaries (means per cell type)", "value"),
    ("vesicles", "Vesicles by place", "vesicles"),
    ("events", "Uptakes and kills", "events"),
    ("balance", "Mass balance error", "relative error"),
    ("other", "Other series", "value"),
];

fn group_of(column: &str) -> &'static str {
    if column.starts_with("cells_") {
        "cells"
    } else if column.starts_with("state_") && column.ends_with("_mean") {
        "state"
    } else if column.starts_with("vesicles_") {
        "vesicles"
    } else if column.starts_with("uptakes_") || column.starts_with("kills_") {
        "events"
    } else if column == "mass_balance_error" {
        "balance"
    } else {
        "other"
    }
}

impl TissueSeries {
    /// Reads `tissue_timeseries.csv`.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let t = LongTable::read(path)?;
        let variant = t.require("variant")?;
        let replicate = t.require("replicate")?;
        let time = t.require("time_s")?;
        let arm = t.headers.iter().position(|h| h == "arm");
        let numeric: Vec<usize> = (0..t.headers.len())
            .filter(|&c| c != variant && c != replicate && c != time && Some(c) != arm)
            .collect();
        // Cell types, from the `cells_<type>` columns, longest first so that
        // `state_<type>_…` finds its own type when names share a prefix.
        let mut types: Vec<(String, usize)> = t
            .headers
            .iter()
            .enumerate()
            .filter_map(|(c, h)| Some((h.strip_prefix("cells_")?.to_string(), c)))
            .collect();
        types.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        let rules: Vec<(Rule, Option<usize>)> = numeric
            .iter()
            .map(|&c| {
                let h = &t.headers[c];
                // A mean over the cells of a type is NaN when none is left.
                let of_type = types
                    .iter()
                    .find(|(ty, _)| {
                        h.ends_with("_mean")
                            && (h.starts_with(&format!("state_{ty}_"))
                                || h.starts_with(&format!("held_{ty}_")))
                    })
                    .map(|(_, col)| *col);
                let rule = match group_of(h) {
                    "cells" | "vesicles" | "events" | "balance" => Rule::AtLeast(0.0),
                    _ if h == "particles"
                        || h.starts_with("deaths_")
                        || h.starts_with("divisions_") =>
                    {
                        Rule::AtLeast(0.0)
                    }
                    _ => Rule::Finite,
                };
                (rule, of_type)
            })
            .collect();
        let mut replicates: Vec<Replicate> = Vec::new();
        for r in 0..t.len() {
            let v = match arm {
                Some(a) => format!("{}/{}", t.text(r, a), t.text(r, variant)),
                None => t.text(r, variant).to_string(),
            };
            let rep_f = t.number(r, replicate)?;
            if rep_f.fract() != 0.0 || !rep_f.is_finite() {
                return Err(ReportError::Invalid {
                    path: path.to_path_buf(),
                    row: None,
                    column: Some("replicate".into()),
                    message: format!("replicate {rep_f} is not an integer (data row {})", r + 1),
                });
            }
            let rep = rep_f as i64;
            let i = match replicates
                .iter()
                .position(|x| x.variant == v && x.replicate == rep)
            {
                Some(i) => i,
                None => {
                    replicates.push(Replicate {
                        variant: v.clone(),
                        replicate: rep,
                        times: Vec::new(),
                        values: vec![Vec::new(); numeric.len()],
                    });
                    replicates.len() - 1
                }
            };
            let t_s = t.number(r, time)?;
            if let Some(why) = Rule::AtLeast(0.0).broken(t_s) {
                return Err(check::invalid(path, Some(t.line(r)), "time_s", why));
            }
            if replicates[i].times.last().is_some_and(|&prev| t_s < prev) {
                return Err(check::invalid(
                    path,
                    Some(t.line(r)),
                    "time_s",
                    format!("{t_s} s comes after a later time of the same replicate"),
                ));
            }
            replicates[i].times.push(t_s);
            for (k, &c) in numeric.iter().enumerate() {
                let x = t.number(r, c)?;
                let (rule, of_type) = rules[k];
                let empty_type =
                    x.is_nan() && of_type.is_some_and(|tc| t.number(r, tc).is_ok_and(|n| n == 0.0));
                if !empty_type && let Some(why) = rule.broken(x) {
                    return Err(check::invalid(path, Some(t.line(r)), &t.headers[c], why));
                }
                replicates[i].values[k].push(x);
            }
        }
        // A cut file loses the end of its last replicate: every replicate
        // runs to the same time, over the same number of rows.
        if let (Some(first), Some(last)) = (replicates.first(), replicates.last())
            && (first.times.len() != last.times.len() || first.times.last() != last.times.last())
        {
            return Err(check::invalid(
                path,
                Some(t.len() + 1),
                "time_s",
                format!(
                    "{} {} ends at {} s after {} rows, but {} {} at {} s after {}: the file is cut short",
                    last.variant,
                    last.replicate,
                    last.times.last().copied().unwrap_or(0.0),
                    last.times.len(),
                    first.variant,
                    first.replicate,
                    first.times.last().copied().unwrap_or(0.0),
                    first.times.len()
                ),
            ));
        }
        Ok(TissueSeries {
            columns: numeric.iter().map(|&c| t.headers[c].clone()).collect(),
            replicates,
        })
    }

    /// Variants in file order.
    pub fn variants(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.replicates {
            if !out.contains(&r.variant) {
                out.push(r.variant.clone());
            }
        }
        out
    }

    /// One figure of `group`'s columns for `variant`; `None` if it has none.
    pub fn figure(&self, variant: &str, group: &str) -> Option<Plot> {
        let (_, _, y_title) = GROUPS.iter().find(|g| g.0 == group)?;
        let columns: Vec<(usize, &String)> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| group_of(c) == group)
            .collect();
        if columns.is_empty() {
            return None;
        }
        let reps: Vec<&Replicate> = self
            .replicates
            .iter()
            .filter(|r| r.variant == variant)
            .collect();
        let max_t = reps
            .iter()
            .flat_map(|r| r.times.iter().copied())
            .fold(0.0, f64::max);
        let (unit, scale) = chart::time_unit(max_t);
        let aligned = reps.windows(2).all(|w| w[0].times == w[1].times);
        let mut series = Vec::new();
        for (n, (k, name)) in columns.iter().enumerate() {
            let short = name
                .strip_prefix(&format!("{group}_"))
                .unwrap_or(name)
                .to_string();
            let label = if group == "events" || group == "other" || group == "balance" {
                name.to_string()
            } else {
                short
            };
            for (j, r) in reps.iter().enumerate() {
                let mut s = Series::styled(
                    format!("{label} (replicate {})", r.replicate),
                    r.times.iter().map(|t| t / scale).collect(),
                    r.values[*k].clone(),
                    n,
                );
                s.group = Some(name.to_string());
                if reps.len() > 1 {
                    s.width = 1.0;
                    s.opacity = 0.45;
                    s.legend = j == 0 && !aligned;
                } else {
                    s.name = label.clone();
                }
                series.push(s);
            }
            if reps.len() > 1 && aligned {
                let len = reps[0].times.len();
                let mean: Vec<f64> = (0..len)
                    .map(|i| reps.iter().map(|r| r.values[*k][i]).sum::<f64>() / reps.len() as f64)
                    .collect();
                let mut s = Series::styled(
                    format!("{label} (mean of {})", reps.len()),
                    reps[0].times.iter().map(|t| t / scale).collect(),
                    mean,
                    n,
                );
                s.width = 2.5;
                s.group = Some(name.to_string());
                series.push(s);
            }
        }
        let mut axes = Axes::linear(format!("time ({unit})"), *y_title).toggle_y();
        if group == "vesicles" || group == "cells" {
            axes.log_y = false;
        }
        Some(chart::lines(
            &axes,
            series,
            &format!("tissue_{group}_{variant}"),
        ))
    }
}

/// Snapshots of one variant: its first and last frames.
#[derive(Debug, Clone)]
pub struct VariantSnapshots {
    /// Variant (the folder name).
    pub variant: String,
    /// Frames shown (first and last; one if only one).
    pub frames: Vec<Frame>,
    /// Frames on disk.
    pub available: usize,
}

/// What the tissue engine wrote.
#[derive(Debug, Clone)]
pub struct TissueOutputs {
    /// `tissue_timeseries.csv`, when present.
    pub series: Option<TissueSeries>,
    /// Per variant, when `tissue_snapshots/` is present.
    pub snapshots: Vec<VariantSnapshots>,
    /// Scalars of `summary.json`'s `tissue` object, flattened.
    pub figures: Vec<(String, String)>,
    /// One row per variant comparing them (header first), from
    /// `summary.json`'s `tissue.variants`; empty when absent.
    pub comparison: Vec<Vec<String>>,
    /// One row per coupled body arm and class pair (no header), from
    /// `summary.json`'s `tissue.coupling` (one object, or one per arm);
    /// empty when the tissue sits in no body.
    pub exchanges: Vec<Vec<String>>,
}

/// Per variant: final cells and fold change per type, contact kills, final
/// mean states, each as `mean ± sd` over replicates — the table a reader
/// compares variants with.
fn comparison(tissue: &Value) -> Vec<Vec<String>> {
    let Some(variants) = tissue.get("variants").and_then(Value::as_array) else {
        return Vec::new();
    };
    let spread = |v: &Value| match (
        v.get("mean").and_then(Value::as_f64),
        v.get("sd").and_then(Value::as_f64),
    ) {
        (Some(m), Some(sd)) => format!("{} ± {}", num(m), num(sd)),
        _ => String::new(),
    };
    let groups = [
        ("final_cells", "cells"),
        ("fold_change", "fold"),
        ("kills", "killed"),
        ("final_state", ""),
    ];
    let mut header = vec!["variant".to_string()];
    let mut keys: Vec<(&str, String)> = Vec::new();
    if let Some(first) = variants.first() {
        for (group, label) in groups {
            if let Some(obj) = first.get(group).and_then(Value::as_object) {
                for k in obj.keys() {
                    header.push(if label.is_empty() {
                        k.clone()
                    } else {
                        format!("{label} {k}")
                    });
                    keys.push((group, k.clone()));
                }
            }
        }
    }
    let mut rows = vec![header];
    for v in variants {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        let mut row = vec![match v.get("arm").and_then(Value::as_str) {
            Some(arm) => format!("{arm}/{name}"),
            None => name.to_string(),
        }];
        for (group, k) in &keys {
            row.push(
                v.get(*group)
                    .and_then(|g| g.get(k))
                    .map(spread)
                    .unwrap_or_default(),
            );
        }
        rows.push(row);
    }
    rows
}

/// The folders of snapshots under `snap_dir` with their labels: each
/// variant's folder, or, when several body arms hold the tissue, each
/// arm's variants' folders, labelled `arm/variant`.
fn snapshot_dirs(snap_dir: &Path) -> Result<Vec<(String, PathBuf)>, ReportError> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for dir in list(snap_dir)?.into_iter().filter(|p| p.is_dir()) {
        let inner: Vec<PathBuf> = list(&dir)?.into_iter().filter(|p| p.is_dir()).collect();
        let has_frames = list(&dir)?
            .iter()
            .any(|p| p.is_file() && frame_number(&name(p), "cells_").is_some());
        if has_frames || inner.is_empty() {
            out.push((name(&dir), dir));
        } else {
            for v in inner {
                out.push((format!("{}/{}", name(&dir), name(&v)), v));
            }
        }
    }
    Ok(out)
}

/// Per coupled arm and class pair: vesicles drained to the body and
/// arrived from blood (mean ± sd over runs), the cross-engine balance.
fn exchanges(tissue: &Value) -> Vec<Vec<String>> {
    let arms: Vec<&Value> = match tissue.get("coupling") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Vec::new(),
    };
    let spread = |v: Option<&Value>| match v.map(|v| (v.get("mean"), v.get("sd"))) {
        Some((Some(m), Some(sd))) => format!(
            "{} ± {}",
            num(m.as_f64().unwrap_or(f64::NAN)),
            num(sd.as_f64().unwrap_or(f64::NAN))
        ),
        _ => String::new(),
    };
    let mut rows = Vec::new();
    for c in arms {
        let arm = c.get("arm").and_then(Value::as_str).unwrap_or("");
        let balance = c
            .get("balance_relative_error")
            .and_then(Value::as_f64)
            .map(num)
            .unwrap_or_default();
        let Some(drained) = c.get("drained_to_body").and_then(Value::as_object) else {
            continue;
        };
        for (pair, d) in drained {
            let arrived = c.get("arrived_from_blood").and_then(|a| a.get(pair));
            rows.push(vec![
                arm.to_string(),
                pair.clone(),
                spread(Some(d)),
                spread(arrived),
                balance.clone(),
            ]);
        }
    }
    rows
}

fn frame_number(name: &str, prefix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?
        .strip_suffix(".csv")?
        .parse()
        .ok()
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| exosim::output::OutputError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

impl TissueOutputs {
    /// Reads whatever tissue outputs exist; `None` when there are none.
    pub fn load(dir: &Path, summary: &Value) -> Result<Option<Self>, ReportError> {
        let path = dir.join("tissue_timeseries.csv");
        let series = if path.is_file() {
            Some(TissueSeries::read(&path)?)
        } else {
            None
        };
        let mut snapshots = Vec::new();
        let snap_dir = dir.join("tissue_snapshots");
        if snap_dir.is_dir() {
            for (label, variant_dir) in snapshot_dirs(&snap_dir)? {
                let mut numbers: Vec<u64> = list(&variant_dir)?
                    .iter()
                    .filter_map(|p| frame_number(p.file_name()?.to_str()?, "cells_"))
                    .collect();
                numbers.sort_unstable();
                let available = numbers.len();
                let mut shown: BTreeSet<u64> = BTreeSet::new();
                shown.extend(numbers.first());
                shown.extend(numbers.last());
                let width = |n: u64| {
                    // Keep the file's own zero padding.
                    list(&variant_dir).ok().and_then(|files| {
                        files.iter().find_map(|p| {
                            let name = p.file_name()?.to_str()?;
                            (frame_number(name, "cells_") == Some(n)).then(|| name.to_string())
                        })
                    })
                };
                let mut frames = Vec::new();
                for n in shown {
                    let Some(cells_name) = width(n) else { continue };
                    let cells = variant_dir.join(&cells_name);
                    let vesicles = variant_dir.join(cells_name.replacen("cells_", "vesicles_", 1));
                    frames.push(snapshot::read_frame(
                        &cells,
                        vesicles.is_file().then_some(vesicles.as_path()),
                        n,
                    )?);
                }
                if !frames.is_empty() {
                    snapshots.push(VariantSnapshots {
                        variant: label,
                        frames,
                        available,
                    });
                }
            }
        }
        if let (Some(s), Some(t)) = (&series, summary.get("tissue")) {
            let variants = t.get("variants").and_then(Value::as_array).map(Vec::len);
            let replicates = t.get("replicates").and_then(Value::as_u64);
            if let (Some(v), Some(r)) = (variants, replicates) {
                let expected = v * r as usize;
                if s.replicates.len() != expected {
                    return Err(check::invalid(
                        &path,
                        None,
                        "variant",
                        format!(
                            "{} runs (variant, replicate), but summary.json has {v} variants × {r} replicates: the file is cut short",
                            s.replicates.len()
                        ),
                    ));
                }
            }
        }
        let mut figures = Vec::new();
        let mut table = Vec::new();
        if let Some(t) = summary.get("tissue") {
            flatten("", t, &mut figures);
            table = comparison(t);
        }
        if series.is_none() && snapshots.is_empty() && figures.is_empty() {
            return Ok(None);
        }
        Ok(Some(TissueOutputs {
            series,
            snapshots,
            figures,
            comparison: table,
            exchanges: summary.get("tissue").map(exchanges).unwrap_or_default(),
        }))
    }

    /// The variant comparison (mean ± sd over replicates), or the first
    /// flattened figures when `summary.json` holds no variants.
    pub fn comparison_table(&self, sec: &mut Section) {
        if let Some((header, rows)) = self.comparison.split_first() {
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            sec.table(&header, rows);
            sec.para("Each value is the mean ± standard deviation over replicates.");
        } else {
            let rows: Vec<Vec<String>> = self
                .figures
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect();
            sec.table(&["figure", "value"], &rows);
        }
    }

    /// The tissue section.
    pub fn section(&self) -> Result<Section, ReportError> {
        let mut sec = Section::new("tissue", "Tissue");
        if !self.figures.is_empty() {
            sec.heading("Key figures");
            self.comparison_table(&mut sec);
            let all: String = self
                .figures
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect();
            sec.details(
                &format!("All {} tissue figures of summary.json", self.figures.len()),
                &all,
            );
        }
        if !self.exchanges.is_empty() {
            sec.heading("Exchanges with the body");
            sec.table(
                &[
                    "arm",
                    "tissue class -> body class",
                    "drained to the body",
                    "arrived from blood",
                    "cross-engine balance error",
                ],
                &self.exchanges,
            );
            sec.para("Vesicles over the whole run, mean ± standard deviation over each arm's runs (every variant and replicate); each arm holds its own copies of the tissue.");
        }
        if let Some(series) = &self.series {
            for variant in series.variants() {
                sec.heading(&format!("Variant `{variant}` over time"));
                sec.begin_row();
                for (group, title, _) in GROUPS {
                    if let Some(plot) = series.figure(&variant, group) {
                        let reps = series
                            .replicates
                            .iter()
                            .filter(|r| r.variant == variant)
                            .count();
                        let caption = if reps > 1 {
                            format!(
                                "{reps} replicates as thin lines, their mean bold (when output times agree). Click a legend entry to hide a series."
                            )
                        } else {
                            "One replicate. Click a legend entry to hide a series.".to_string()
                        };
                        sec.plot(&format!("{title}: {variant}"), &caption, &plot);
                    }
                }
                sec.end_row();
            }
        }
        if !self.snapshots.is_empty() {
            sec.heading("Snapshots (x–y projection)");
            let types = snapshot::Palette::new(self.snapshots.iter().flat_map(|v| v.frames.iter()));
            sec.begin_row();
            for v in &self.snapshots {
                for frame in &v.frames {
                    let png = snapshot::render_png(frame, &types)?;
                    let (lo, hi) = frame.extent();
                    let caption = format!(
                        "Variant {}, t = {} (frame {} of {} on disk): {} cells (discs, by type), {} vesicle particles (dots, by class); x {}–{} µm, y {}–{} µm, z projected.",
                        v.variant,
                        exosim::units::format_human(frame.time_s, exosim::units::Dimension::Time),
                        frame.number,
                        v.available,
                        frame.cells.len(),
                        frame.vesicles.len(),
                        num(lo.0 * 1e6),
                        num(hi.0 * 1e6),
                        num(lo.1 * 1e6),
                        num(hi.1 * 1e6),
                    );
                    sec.image(
                        &format!("{} at frame {}", v.variant, frame.number),
                        &caption,
                        &png,
                        &legend_html(&types, frame),
                    );
                }
            }
            sec.end_row();
        }
        Ok(sec)
    }
}

fn legend_html(p: &snapshot::Palette, frame: &Frame) -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (name, css) in p.cells_in(frame) {
        out.push_str(&format!(
            "<span><i style=\"background:{css}\"></i>{}</span>",
            esc(&name)
        ));
    }
    for (name, css) in p.vesicles_in(frame) {
        out.push_str(&format!(
            "<span><i style=\"background:{css};width:.4em;height:.4em\"></i>{} vesicles</span>",
            esc(&name)
        ));
    }
    out.push_str("</div>\n");
    out
}

#[cfg(test)]
mod comparison_tests {
    use super::*;

    #[test]
    fn one_row_per_variant_with_mean_and_spread() {
        let t: Value = serde_json::json!({
            "variants": [
                {"name": "a", "final_cells": {"tumour": {"mean": 10.0, "sd": 1.5}},
                 "final_state": {"nk.cytotoxicity": {"mean": 0.5, "sd": 0.0}}},
                {"name": "b", "final_cells": {"tumour": {"mean": 20.0, "sd": 2.0}},
                 "final_state": {"nk.cytotoxicity": {"mean": 1.0, "sd": 0.0}}}
            ]
        });
        let rows = comparison(&t);
        assert_eq!(rows[0], ["variant", "cells tumour", "nk.cytotoxicity"]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2][0], "b");
        assert!(
            rows[1][1].contains("10") && rows[1][1].contains("± 1.5"),
            "{:?}",
            rows[1]
        );
        assert!(comparison(&serde_json::json!({"replicates": 3})).is_empty());
    }
}
