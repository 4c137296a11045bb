//! One page a person can look at and share: `exosim report DIR` turns a
//! finished run directory into `DIR/report.html` and `DIR/figures/`.
//!
//! The page is self-contained (scripts, styles and images inlined; nothing
//! is fetched from the network), so it opens offline and can be mailed to
//! a colleague who has no exosim. It starts with the study's key figures,
//! then one section per output the run produced — [`body`] time series and
//! shares of the dose, [`biopsy`] detection and ROC curves, [`signature`]
//! AUCs, [`deconvolution`] estimates, [`tissue`] series and snapshots — and
//! ends with how the run was made (version, seed, resolved study). A
//! campaign's folder gets its own page ([`campaign_page`]): the design,
//! the spread of each observable, sensitivity indices and each observable
//! against each parameter (as lines for a grid or a one-parameter list),
//! and for a virtual trial ([`trial`], [`trial_page`]) its power curves,
//! sample-size verdicts, Kaplan–Meier curves or waterfall; a calibration's
//! folder ([`calibration_page`]) its estimates, its fit to the data and,
//! for bootstrap intervals, the refitted parameters.
//!
//! The report reads only the files of the run directory ([`RunDir::load`]),
//! so it works on any finished run, old or new. Interactive figures are
//! plotly.js descriptions built with the `plotly` crate ([`chart`]), the
//! library inlined once per page ([`page`]); static figures for papers are
//! drawn with plotters ([`paper`]). Everything is built in memory and
//! written atomically, `report.html` last: a failure leaves no half-written
//! report, and a [`ReportError`] names the file that is wrong.
#![warn(missing_docs)]

pub mod abc_page;
pub mod biopsy;
pub mod body;
pub mod calibration_page;
pub mod campaign;
pub mod campaign_page;
pub mod campaign_plot;
pub mod chart;
pub mod check;
pub mod conditions;
pub mod deconvolution;
pub mod error;
pub mod format;
pub mod instruments;
pub mod page;
pub mod paper;
pub mod production;
pub mod signature;
pub mod snapshot;
pub mod table;
pub mod tissue;
pub mod trial;
pub mod trial_page;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use error::ReportError;

use crate::chart::colour;
use crate::format::{num, s};
use crate::page::Section;
use crate::paper::{BarFigure, Curve, Figure, LineFigure};

/// Name of the page inside the run directory.
pub const REPORT_FILE: &str = "report.html";
/// Folder of the static figures inside the run directory.
pub const FIGURES_DIR: &str = "figures";

/// Everything a finished run directory holds, read and checked.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The directory.
    pub dir: PathBuf,
    /// `summary.json` as written.
    pub summary: Value,
    /// Body outputs, when the study had arms.
    pub body: Option<body::BodyOutputs>,
    /// Biopsy outputs, when the study had a `[biopsy]` section.
    pub biopsy: Option<biopsy::BiopsyOutputs>,
    /// Blood tests of conditions (`[[biopsy.conditions]]`).
    pub conditions: Option<Vec<conditions::TestOfConditions>>,
    /// Signature outputs, when the study had a `[signature]` section.
    pub signature: Option<signature::SignatureOutputs>,
    /// `deconvolution*.csv` files.
    pub deconvolution: Vec<deconvolution::Estimates>,
    /// Tissue outputs, when present.
    pub tissue: Option<tissue::TissueOutputs>,
    /// `[[instruments]]` readings, when the study had any.
    pub instruments: Option<Vec<instruments::InstrumentView>>,
    /// The `[production]` plan, when the study had one.
    pub production: Option<production::ProductionView>,
}

impl RunDir {
    /// Reads `dir`. Fails, naming the file, when `summary.json` is missing
    /// or broken, when a file it announces is missing, or when a table is
    /// truncated or malformed.
    pub fn load(dir: &Path) -> Result<Self, ReportError> {
        if !dir.is_dir() {
            return Err(ReportError::NotADirectory {
                dir: dir.to_path_buf(),
            });
        }
        let path = dir.join("summary.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReportError::NoSummary { path });
            }
            Err(source) => {
                return Err(exosim::output::OutputError::Io { path, source }.into());
            }
        };
        let summary: Value = serde_json::from_str(&text).map_err(|source| ReportError::Json {
            path: path.clone(),
            source,
        })?;
        for (key, ok) in [
            (
                "exosim_version",
                summary.get("exosim_version").is_some_and(Value::is_string),
            ),
            ("study", summary.get("study").is_some_and(Value::is_string)),
            ("seed", summary.get("seed").is_some_and(Value::is_u64)),
        ] {
            if !ok {
                return Err(ReportError::Invalid {
                    path: path.clone(),
                    row: None,
                    column: Some(key.into()),
                    message: "missing or of the wrong type: not an exosim summary".into(),
                });
            }
        }
        check::summary(dir, &summary)?;
        Ok(RunDir {
            body: body::BodyOutputs::load(dir, &summary)?,
            biopsy: biopsy::BiopsyOutputs::load(dir, &summary)?,
            conditions: conditions::load(dir, &summary)?,
            signature: signature::SignatureOutputs::load(dir, &summary)?,
            deconvolution: deconvolution::load(dir)?,
            tissue: tissue::TissueOutputs::load(dir, &summary)?,
            instruments: instruments::load(dir, &summary)?,
            production: production::load(dir, &summary)?,
            dir: dir.to_path_buf(),
            summary,
        })
    }

    fn study(&self) -> &Value {
        self.summary
            .get("resolved_study")
            .and_then(|r| r.get("study"))
            .unwrap_or(&Value::Null)
    }

    /// The first section: what was run and the figures a reader looks for first.
    fn overview(&self) -> Section {
        let mut sec = Section::new("summary", "Summary");
        let study = self.study();
        let seed = self.summary["seed"]
            .as_u64()
            .map(|x| x.to_string())
            .unwrap_or_default();
        let mut rows = vec![
            ("study", s(&self.summary, "study").to_string()),
            ("exosim", s(&self.summary, "exosim_version").to_string()),
            ("seed", seed),
        ];
        if let Some(d) = study.get("duration").and_then(Value::as_str) {
            // The resolved study writes SI values with their unit ("172800 s").
            let shown = d
                .strip_suffix(" s")
                .and_then(|x| x.parse::<f64>().ok())
                .map(|x| format::human(x, exosim::units::Dimension::Time))
                .unwrap_or_else(|| d.to_string());
            rows.push(("duration", shown));
        }
        let mut parts = Vec::new();
        if let Some(b) = &self.body {
            parts.push(format!("body ({} arm/class results)", b.classes.len()));
        }
        if let Some(b) = &self.biopsy {
            parts.push(format!("liquid biopsy ({} tests)", b.tests.len()));
        }
        if let Some(sig) = &self.signature {
            parts.push(format!("signatures ({} conditions)", sig.conditions.len()));
        }
        if !self.deconvolution.is_empty() {
            parts.push("deconvolution".into());
        }
        if self.tissue.is_some() {
            parts.push("tissue".into());
        }
        if let Some(i) = &self.instruments {
            parts.push(format!("instruments ({})", i.len()));
        }
        rows.push(("outputs", parts.join(", ")));
        if let Some(d) = study.get("description").and_then(Value::as_str) {
            sec.para(d);
        }
        sec.pairs(&rows);
        if let Some(b) = &self.body {
            let (h, r) = b.key_table();
            sec.heading("Circulation");
            sec.table(&h, &r);
            if !b.report_times.is_empty() {
                let resolved = self.summary.get("resolved_study").unwrap_or(&Value::Null);
                let (h, r) = b.destination_table(resolved);
                let h: Vec<&str> = h.iter().map(String::as_str).collect();
                sec.heading("Where the vesicles go");
                sec.table(&h, &r);
                sec.para(&format!(
                    "Per class, the {} places holding or having taken up the largest share of the dose at any report time, and every organ a targeting ligand of the class acts on. Present: share of the vesicles dosed and released that is in the place at that time (cleared and degraded: cumulative). Delivered: share taken up by the organ's tissue from its blood by that time, including what it has since degraded, excreted or returned to blood.",
                    body::TOP_PLACES
                ));
            }
        }
        if let Some(b) = &self.biopsy {
            let (h, r) = b.key_table();
            sec.heading("Blood tests");
            sec.table(&h, &r);
        }
        if let Some(sig) = &self.signature {
            let (h, r) = sig.key_table();
            sec.heading("Signatures");
            sec.table(&h, &r);
        }
        sec.begin_row();
        if let Some(b) = &self.body {
            let (plot, range) = b.blood_figure();
            sec.plot(
                "Vesicles in blood",
                &format!(
                    "Circulating vesicles for every arm and class (log scale; switch with the buttons, zoom by dragging, double-click to reset).{}",
                    chart::log_note(range)
                ),
                &plot,
            );
        }
        if let Some(b) = &self.biopsy {
            sec.plot(
                "Detection probability",
                "Probability that one blood test detects a tumour of this diameter, Wilson 95 % bands.",
                &b.detection_figure(),
            );
        }
        if let Some(sig) = &self.signature {
            sec.plot(
                "Signature AUC",
                "Cross-validated AUC of each disease's signature: training and held-out (error bar: range over folds).",
                &sig.auc_figure(),
            );
        }
        let tissue_series = self.tissue.as_ref().and_then(|t| t.series.as_ref());
        if let Some((series, variant)) =
            tissue_series.and_then(|s| Some((s, s.variants().first()?.clone())))
            && let Some(plot) = series.figure(&variant, "cells")
        {
            sec.plot(
                &format!("Tissue cells: {variant}"),
                "Cell counts over time in the first variant; every variant and series in the Tissue section.",
                &plot,
            );
        }
        sec.end_row();
        if let Some(t) = self.tissue.as_ref().filter(|t| !t.figures.is_empty()) {
            sec.heading("Tissue");
            t.comparison_table(&mut sec);
        }
        sec
    }

    /// The closing section: how this page was made.
    fn provenance(&self) -> Section {
        let mut sec = Section::new("about", "How this run was made");
        let seed = self.summary["seed"]
            .as_u64()
            .map(|x| x.to_string())
            .unwrap_or_default();
        sec.pairs(&[
            ("exosim version", s(&self.summary, "exosim_version").into()),
            ("seed", seed),
            ("study", s(&self.summary, "study").into()),
            ("run directory", self.dir.display().to_string()),
            (
                "report made by",
                format!(
                    "exosim-report {} (`exosim report DIR`)",
                    exosim::run::VERSION
                ),
            ),
        ]);
        if let Some(steps) = self.summary.get("solver_steps").and_then(Value::as_array) {
            let rows: Vec<Vec<String>> = steps
                .iter()
                .filter_map(|p| {
                    let p = p.as_array()?;
                    Some(vec![
                        p.first()?.as_str()?.to_string(),
                        num(p.get(1)?.as_f64()?),
                    ])
                })
                .collect();
            if !rows.is_empty() {
                sec.heading("Solver work");
                sec.table(&["arm", "accepted steps"], &rows);
            }
        }
        let files = files_table(&self.dir);
        sec.heading("Files of the run");
        sec.table(&["file", "size"], &files);
        if let Some(resolved) = self.summary.get("resolved_study") {
            let text = serde_json::to_string_pretty(resolved).unwrap_or_default();
            sec.details(
                "The resolved study (every default filled in), as recorded in summary.json",
                &text,
            );
        }
        sec
    }

    /// The page as HTML text.
    pub fn render(&self) -> Result<String, ReportError> {
        let mut sections = vec![self.overview()];
        if let Some(b) = &self.body {
            sections.push(b.section(&self.summary));
        }
        if let Some(t) = &self.tissue {
            sections.push(t.section()?);
        }
        if let Some(b) = &self.biopsy {
            sections.push(b.section());
        }
        if let Some(c) = &self.conditions {
            sections.push(conditions::section(c));
        }
        if let Some(i) = &self.instruments {
            sections.push(instruments::section(i));
        }
        if let Some(p) = &self.production {
            sections.push(production::section(p));
        }
        if let Some(sig) = &self.signature {
            sections.push(sig.section());
        }
        if !self.deconvolution.is_empty() {
            sections.push(deconvolution::section(&self.deconvolution));
        }
        sections.push(self.provenance());
        let title = format!("exosim report: {}", s(&self.summary, "study"));
        let subtitle = self
            .study()
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Ok(page::render(&title, &subtitle, &sections))
    }

    /// The static figures: blood curves, shares of the dose, detection and
    /// ROC curves, tissue cell counts.
    pub fn paper_figures(&self) -> Vec<Figure> {
        let mut out = Vec::new();
        if let Some(b) = &self.body {
            blood_figure(b, &mut out);
            dose_share_figures(b, &mut out);
        }
        if let Some(b) = &self.biopsy {
            biopsy_figures(b, &mut out);
        }
        if let Some(series) = self.tissue.as_ref().and_then(|t| t.series.as_ref()) {
            tissue_figures(series, &mut out);
        }
        out
    }
}

/// The files of a run or campaign folder and their sizes, sorted; the
/// report's own page and figures, and hidden files, are not the run's.
pub(crate) fn files_table(dir: &Path) -> Vec<Vec<String>> {
    let mut files: Vec<Vec<String>> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let meta = e.metadata().ok()?;
                    let size = if meta.is_dir() {
                        "folder".to_string()
                    } else {
                        format!("{} bytes", meta.len())
                    };
                    (!name.starts_with('.') && name != REPORT_FILE && name != FIGURES_DIR)
                        .then(|| vec![name, size])
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Vesicles in blood, every arm and class.
fn blood_figure(b: &body::BodyOutputs, out: &mut Vec<Figure>) {
    let (unit, scale) = chart::time_unit(b.times.last().copied().unwrap_or(1.0));
    let mut curves = Vec::new();
    for c in b.curves.iter().filter(|c| c.place == "blood") {
        let points = b
            .times
            .iter()
            .map(|t| t / scale)
            .zip(c.counts.iter().copied())
            .collect();
        let i = curves.len();
        curves.push(Curve::styled(format!("{} · {}", c.arm, c.class), points, i));
    }
    if !curves.is_empty() {
        out.push(Figure::Lines(LineFigure {
            stem: "blood".into(),
            title: "Vesicles in blood".into(),
            x_label: format!("time ({unit})"),
            y_label: "vesicles".into(),
            log_x: false,
            log_y: true,
            curves,
        }));
    }
}

/// The share of the dose per place at each report time.
fn dose_share_figures(b: &body::BodyOutputs, out: &mut Vec<Figure>) {
    for &t in &b.report_times {
        let key = format!("{t}");
        let shares: Vec<(String, &Value)> = b
            .classes
            .iter()
            .filter_map(|c| {
                let m = c.json.get("fraction_of_dose")?.get(&key)?;
                Some((format!("{} · {}", c.arm, c.class), m))
            })
            .collect();
        // Places that hold at least 0.5 % of some dose, in the order of the first arm.
        let mut categories: Vec<String> = Vec::new();
        for (_, m) in &shares {
            for (place, v) in m.as_object().into_iter().flatten() {
                if v.as_f64().is_some_and(|x| x >= 0.005) && !categories.contains(place) {
                    categories.push(place.clone());
                }
            }
        }
        if categories.is_empty() {
            continue;
        }
        let series = shares
            .iter()
            .enumerate()
            .map(|(i, (name, m))| {
                let values = categories
                    .iter()
                    .map(|p| 100.0 * m.get(p).and_then(Value::as_f64).unwrap_or(f64::NAN))
                    .collect();
                (name.clone(), colour(i).to_string(), values)
            })
            .collect();
        out.push(Figure::Bars(BarFigure {
            stem: format!("fraction_of_dose_{t}s"),
            title: format!(
                "Share of the dose at {}",
                exosim::units::format_human(t, exosim::units::Dimension::Time)
            ),
            y_label: "% of dose".into(),
            categories,
            series,
        }));
    }
}

/// Detection probability against diameter, and the ROC curves.
fn biopsy_figures(b: &biopsy::BiopsyOutputs, out: &mut Vec<Figure>) {
    let d: Vec<f64> = b
        .curve
        .column("diameter_m")
        .map(|c| c.values.iter().map(|x| x * 1e3).collect())
        .unwrap_or_default();
    let curves: Vec<Curve> = b
        .tests
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let p = b.curve.column(&format!("{}/probability", t.name))?;
            let points = d.iter().copied().zip(p.values.iter().copied()).collect();
            Some(Curve::styled(t.name.clone(), points, i))
        })
        .collect();
    let spread = d.first().zip(d.last()).map_or(1.0, |(a, z)| z / a);
    out.push(Figure::Lines(LineFigure {
        stem: "detection_probability".into(),
        title: "Detection probability of one blood test".into(),
        x_label: "tumour diameter (mm)".into(),
        y_label: "probability".into(),
        log_x: spread > 20.0,
        log_y: false,
        curves,
    }));
    let mut roc: Vec<Curve> = b
        .tests
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let (x, y) = t.roc.as_ref()?;
            let points = x.iter().copied().zip(y.iter().copied()).collect();
            Some(Curve::styled(t.name.clone(), points, i))
        })
        .collect();
    if !roc.is_empty() {
        roc.push(Curve {
            name: "chance".into(),
            colour: "#999999".into(),
            points: vec![(0.0, 0.0), (1.0, 1.0)],
            dash: chart::Dash::Dash,
        });
        out.push(Figure::Lines(LineFigure {
            stem: "roc".into(),
            title: format!("ROC curves{}", b.roc_at()),
            x_label: "1 − specificity".into(),
            y_label: "sensitivity".into(),
            log_x: false,
            log_y: false,
            curves: roc,
        }));
    }
}

/// Cell counts over time, one figure per variant.
fn tissue_figures(series: &tissue::TissueSeries, out: &mut Vec<Figure>) {
    for variant in series.variants() {
        let Some(rep) = series.replicates.iter().find(|r| r.variant == variant) else {
            continue;
        };
        let (unit, scale) = chart::time_unit(rep.times.last().copied().unwrap_or(1.0));
        let curves: Vec<Curve> = series
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.starts_with("cells_"))
            .enumerate()
            .map(|(n, (k, c))| {
                let points = rep
                    .times
                    .iter()
                    .map(|t| t / scale)
                    .zip(rep.values[k].iter().copied())
                    .collect();
                Curve::styled(c.trim_start_matches("cells_"), points, n)
            })
            .collect();
        if !curves.is_empty() {
            let safe: String = variant
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            out.push(Figure::Lines(LineFigure {
                stem: format!("tissue_cells_{safe}"),
                title: format!("Cells: {variant} (replicate {})", rep.replicate),
                x_label: format!("time ({unit})"),
                y_label: "cells".into(),
                log_x: false,
                log_y: false,
                curves,
            }));
        }
    }
}

/// What [`write()`] produced.
#[derive(Debug, Clone)]
pub struct Written {
    /// `DIR/report.html`.
    pub html: PathBuf,
    /// `DIR/figures/*.svg` and `*.png`.
    pub figures: Vec<PathBuf>,
}

/// Reads the run (or campaign, [`campaign_page`]) in `dir` and writes
/// `DIR/report.html` and `DIR/figures/`.
///
/// Everything is built in memory first; files are written atomically, the
/// page last, so a failure never leaves a half-written report (an older
/// report stays as it was).
pub fn write(dir: &Path) -> Result<Written, ReportError> {
    if calibration_page::is_calibration(dir) {
        return calibration_page::write(dir);
    }
    if abc_page::is_abc(dir) {
        return abc_page::write(dir);
    }
    if campaign::is_campaign(dir) {
        return campaign_page::write(dir);
    }
    let run = RunDir::load(dir)?;
    let html = run.render()?;
    let mut rendered = Vec::new();
    for fig in run.paper_figures() {
        let (svg, png) = fig.render()?;
        rendered.push((fig.stem().to_string(), svg, png));
    }
    let figures = paper::write_all(&dir.join(FIGURES_DIR), &rendered)?;
    let path = dir.join(REPORT_FILE);
    exosim::output::write_atomic(&path, |w| w.write_all(html.as_bytes()))?;
    Ok(Written {
        html: path,
        figures,
    })
}
