//! The page of a campaign folder: what was run (design, runs, failures),
//! a virtual trial's results ([`crate::trial_page`]), the spread of each
//! observable, the sensitivity indices of Saltelli and Morris designs as
//! tornado charts, and each observable against each parameter (as lines
//! for a grid, or a list of one parameter such as a dose–response) —
//! from the files [`CampaignDir::load`] read, never a model.
//!
//! Observables are shown in a reader's unit ([`format::scale`]: seconds as
//! min or h, metres as mm, shares as %), one unit per observable so that
//! its rows, bins and axes compare; parameters in the unit the campaign
//! file gave them. Scatter plots draw at most [`MAX_SCATTER_POINTS`] runs
//! each, the same fixed sample in every figure, and say so.

use std::path::Path;

use crate::campaign::{CampaignDir, Spread};
use crate::chart::{self, Axes, Bars, Series, colour};
use crate::error::ReportError;
use crate::format::{self, Scale, num};
use crate::page::{self, Section};
use crate::paper::{self, Curve, Figure, HBarFigure, HBarSeries, HistogramFigure, LineFigure};

pub use crate::campaign_plot::{
    MAX_PAGE_POINTS, MAX_SCATTER_POINTS, MIN_SCATTER_POINTS, bins, observable_scale,
    parameter_scale, sample_rows, scatter_cap,
};

/// Whether an axis reads better logarithmic: positive values over more
/// than a decade, most of them crowded at the low end on a linear axis
/// (the median in the lowest quarter of the range), as a log-uniform
/// parameter, a detection limit or a skewed share are; a uniform
/// parameter that merely starts near zero stays linear.
pub fn wants_log(values: &[f64]) -> bool {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return false;
    }
    v.sort_by(f64::total_cmp);
    let (lo, hi, median) = (v[0], v[v.len() - 1], v[v.len() / 2]);
    lo > 0.0 && hi / lo >= 20.0 && (median - lo) < 0.25 * (hi - lo)
}

/// One observable's sensitivity chart: parameters ranked (most influential
/// first), and per index its values and intervals in the parameters' order.
#[derive(Debug, Clone)]
pub struct Tornado {
    /// Parameters, most influential first (by ST, or by μ*).
    pub parameters: Vec<String>,
    /// One per index drawn.
    pub bars: Vec<IndexBars>,
    /// The unit of the values (Sobol indices have none; Morris measures
    /// have the observable's).
    pub scale: Scale,
}

/// The bars of one index in a [`Tornado`].
#[derive(Debug, Clone)]
pub struct IndexBars {
    /// Legend entry: `S1`, `ST`, `μ*`, `σ`.
    pub label: String,
    /// One value per parameter, in the tornado's order.
    pub values: Vec<f64>,
    /// (low, high) per parameter; NaN ends where no interval is known.
    pub intervals: Vec<(f64, f64)>,
}

/// The tornado of observable `o`, when the campaign has indices for it:
/// S1 and ST with their bootstrap percentile intervals, ranked by ST; or
/// μ* ± its bootstrap half-width and σ, ranked by μ*.
pub fn tornado(c: &CampaignDir, o: &Spread) -> Option<Tornado> {
    let name = &o.info.name;
    let (shown, rank, scale): (&[(&str, &str)], &str, Scale) = match c.design.method.as_str() {
        "saltelli" => (
            &[("S1", "S1"), ("ST", "ST")],
            "ST",
            format::scale("1", false, 1.0),
        ),
        "morris" => (
            &[("mu_star", "μ*"), ("sigma", "σ")],
            "mu_star",
            observable_scale(o),
        ),
        _ => return None,
    };
    let value = |p: &str, index: &str| c.index_of(name, index, p).map_or(f64::NAN, |x| x.value);
    let mut parameters: Vec<String> = (c.parameters.iter())
        .filter(|p| c.index_of(name, rank, &p.name).is_some())
        .map(|p| p.name.clone())
        .collect();
    if parameters.is_empty() {
        return None;
    }
    parameters.sort_by(|a, b| value(b, rank).total_cmp(&value(a, rank)));
    let bars = shown
        .iter()
        .map(|&(index, label)| {
            let found = parameters.iter().map(|p| c.index_of(name, index, p));
            let (values, intervals) = found
                .map(|x| {
                    let Some(x) = x else {
                        return (f64::NAN, (f64::NAN, f64::NAN));
                    };
                    let (lo, hi) = if x.low.is_finite() && x.high.is_finite() {
                        (x.low, x.high)
                    } else {
                        (x.value - x.conf, x.value + x.conf)
                    };
                    (scale.apply(x.value), (scale.apply(lo), scale.apply(hi)))
                })
                .unzip();
            IndexBars {
                label: label.to_string(),
                values,
                intervals,
            }
        })
        .collect();
    Some(Tornado {
        parameters,
        bars,
        scale,
    })
}

impl Tornado {
    /// The interactive chart: bars from the bottom up, so the most
    /// influential parameter is on top; error bars where an interval is known.
    pub fn plot(&self, x_label: &str, stem: &str) -> plotly::Plot {
        let groups = (self.bars.iter().enumerate())
            .map(|(k, b)| {
                let (values, intervals) = (&b.values, &b.intervals);
                let rev = |v: Vec<f64>| v.into_iter().rev().collect::<Vec<f64>>();
                let known = intervals
                    .iter()
                    .any(|(a, b)| a.is_finite() && b.is_finite());
                let minus = values
                    .iter()
                    .zip(intervals)
                    .map(|(v, i)| (v - i.0).max(0.0));
                let plus = values
                    .iter()
                    .zip(intervals)
                    .map(|(v, i)| (i.1 - v).max(0.0));
                Bars {
                    name: b.label.clone(),
                    x: self.parameters.iter().rev().cloned().collect(),
                    y: rev(values.clone()),
                    error: known.then(|| (rev(minus.collect()), rev(plus.collect()))),
                    colour: colour(k).to_string(),
                }
            })
            .collect();
        chart::hbars(&Axes::linear(x_label, ""), groups, stem)
    }

    /// The static figure of the same bars.
    pub fn figure(&self, title: &str, x_label: &str, stem: &str) -> Figure {
        let series = (self.bars.iter().enumerate())
            .map(|(k, b)| HBarSeries {
                name: b.label.clone(),
                colour: colour(k).to_string(),
                values: b.values.clone(),
                intervals: b.intervals.clone(),
            })
            .collect();
        Figure::HBars(HBarFigure {
            stem: stem.to_string(),
            title: title.to_string(),
            x_label: x_label.to_string(),
            categories: self.parameters.clone(),
            series,
        })
    }
}

/// The x-axis title of an observable's tornado.
fn tornado_axis(c: &CampaignDir, t: &Tornado) -> String {
    match c.design.method.as_str() {
        "morris" => t.scale.label("elementary effect"),
        _ => "Sobol index (share of the variance)".to_string(),
    }
}

/// The campaign's header: what was run, how, and what failed.
fn overview(c: &CampaignDir) -> Section {
    let mut sec = Section::new("summary", "Summary");
    let d = &c.design;
    let mut method = format!(
        "{} ({} design rows × {} replicate(s))",
        d.method, d.rows, d.replicates
    );
    if !d.index_names().is_empty() {
        let get = |k: &str| d.record.get(k).map(|v| v.to_string()).unwrap_or_default();
        method.push_str(&format!(
            "; indices with {} bootstrap resamples, {} intervals",
            get("bootstrap"),
            format::pct(
                d.record
                    .get("confidence")
                    .and_then(|v| v.as_f64())
                    .unwrap_or(f64::NAN)
            )
        ));
    }
    let file = c
        .table_file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    sec.pairs(&[
        ("campaign", c.name.clone()),
        ("design", method),
        ("runs", c.runs.to_string()),
        ("failed runs", format!("{} of {}", c.failed, c.runs)),
        ("fingerprint", c.fingerprint.clone()),
        ("exosim", c.version.clone()),
        ("rows read from", file.into_owned()),
    ]);
    failures(c, &mut sec);
    sec.heading("Parameters");
    sec.table(
        &[
            "parameter",
            "unit",
            "lowest",
            "highest",
            "distinct values",
            "what",
        ],
        &parameter_rows(c),
    );
    sec.heading("Observables: spread over the runs");
    let mut headers = vec!["observable", "unit", "runs defined"];
    headers.extend(["mean", "sd", "min", "5 %", "median", "95 %", "max"]);
    sec.table(&headers, &spread_rows(c));
    sec.para("Statistics over the runs where the observable is defined (failed runs and undefined values left out), as summary.json records them: sd with n − 1, percentiles interpolated linearly.");
    for (name, why) in &c.skipped {
        sec.para(&format!("No sensitivity indices for {name}: {why}."));
    }
    sec
}

/// The failed runs the summary lists, with their errors.
fn failures(c: &CampaignDir, sec: &mut Section) {
    if c.failed == 0 {
        return;
    }
    sec.heading("Failed runs");
    let rows: Vec<Vec<String>> = (c.failures.iter())
        .map(|(point, message)| vec![point.to_string(), message.clone()])
        .collect();
    sec.table(&["point", "error"], &rows);
    if (c.failures.len() as u64) < c.failed {
        sec.para(&format!(
            "The first {} of {} failed runs; every failed run has failed = 1 in the table.",
            c.failures.len(),
            c.failed
        ));
    }
}

/// One row per parameter: its unit and the values the runs took.
fn parameter_rows(c: &CampaignDir) -> Vec<Vec<String>> {
    c.parameters
        .iter()
        .map(|p| {
            let v = c.values(&p.name);
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut distinct = v.to_vec();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            vec![
                p.name.clone(),
                parameter_scale(p).unit,
                num(lo),
                num(hi),
                distinct.len().to_string(),
                p.description.clone(),
            ]
        })
        .collect()
}

/// One row per observable: the summary's spread in the reader's unit.
fn spread_rows(c: &CampaignDir) -> Vec<Vec<String>> {
    c.observables
        .iter()
        .map(|o| {
            let scale = observable_scale(o);
            let mut row = vec![o.info.name.clone(), scale.unit.clone(), o.n.to_string()];
            row.extend(
                o.stats
                    .iter()
                    .map(|s| s.map_or("—".into(), |x| num(scale.apply(x)))),
            );
            row
        })
        .collect()
}

/// The histogram of each observable.
fn spread_section(c: &CampaignDir) -> Section {
    let mut sec = Section::new("spread", "Spread of each observable");
    sec.begin_row();
    for (i, o) in c.observables.iter().enumerate() {
        let scale = observable_scale(o);
        let shown: Vec<f64> = c
            .values(&o.info.name)
            .iter()
            .map(|&x| scale.apply(x))
            .collect();
        let Some((edges, counts)) = bins(&shown) else {
            sec.para(&format!("{}: no run defined a value.", o.info.name));
            continue;
        };
        let caption = format!(
            "Runs per bin of {} ({} runs with a value, {} equal bins). {}",
            o.info.name,
            counts.iter().sum::<u64>(),
            counts.len(),
            o.info.description
        );
        let axes = Axes::linear(scale.label(&o.info.name), "runs");
        let stem = format!("histogram_{}", o.info.name);
        let plot = chart::histogram(&axes, &edges, &chart::heights(&counts), colour(i), &stem);
        sec.plot(&o.info.name, &caption, &plot);
    }
    sec.end_row();
    sec
}

/// Per observable, its tornado chart and the table of its indices.
fn sensitivity_section(c: &CampaignDir) -> Option<Section> {
    if c.indices.is_empty() {
        return None;
    }
    let mut sec = Section::new("sensitivity", "Sensitivity");
    sec.para(match c.design.method.as_str() {
        "morris" => "Morris screening: μ* is the mean absolute elementary effect of moving a parameter across its range (error bar: ± its bootstrap half-width), σ the spread of the effects (non-linearity or interactions); parameters ranked by μ*. Values from sensitivity.csv.",
        _ => "Sobol indices: S1, the share of the observable's variance a parameter explains alone; ST, the share it explains with all its interactions (error bars: bootstrap percentile intervals); parameters ranked by ST. Values from sensitivity.csv.",
    });
    for o in &c.observables {
        let Some(t) = tornado(c, o) else { continue };
        let name = &o.info.name;
        sec.heading(name);
        let plot = t.plot(&tornado_axis(c, &t), &format!("sensitivity_{name}"));
        sec.plot(
            &format!("Sensitivity of {name}"),
            &o.info.description,
            &plot,
        );
        sec.table(&index_headers(&t), &index_rows(&t));
    }
    Some(sec)
}

fn index_headers(t: &Tornado) -> Vec<&str> {
    let mut h = vec!["parameter"];
    for b in &t.bars {
        h.push(b.label.as_str());
        h.push("interval");
    }
    h
}

/// One row per parameter, most influential first: each index and its interval.
fn index_rows(t: &Tornado) -> Vec<Vec<String>> {
    (t.parameters.iter().enumerate())
        .map(|(i, p)| {
            let mut row = vec![p.clone()];
            for b in &t.bars {
                let (lo, hi) = b.intervals[i];
                row.push(num(b.values[i]));
                row.push(if lo.is_finite() && hi.is_finite() {
                    format!("{} to {}", num(lo), num(hi))
                } else {
                    "—".into()
                });
            }
            row
        })
        .collect()
}

/// Each observable against each parameter, on a fixed sample of the runs.
fn scatter_section(c: &CampaignDir) -> Section {
    let mut sec = Section::new("scatter", "Observables against parameters");
    let plots = c.observables.len() * c.parameters.len();
    let rows = sample_rows(c.table.n_rows(), scatter_cap(plots));
    let note = if rows.len() < c.table.n_rows() {
        format!(
            "Each point is one run: {} of the {} runs are drawn, the same in every figure (chosen by a fixed hash of the row number, so that every kind of design row is represented; at most {MAX_SCATTER_POINTS} per figure and {MAX_PAGE_POINTS} per page); {} holds them all.",
            rows.len(),
            c.table.n_rows(),
            c.table_file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        )
    } else {
        format!("Each point is one run; all {} runs are drawn.", rows.len())
    };
    sec.para(&note);
    for (i, o) in c.observables.iter().enumerate() {
        let scale = observable_scale(o);
        let y_all = c.values(&o.info.name);
        let y: Vec<f64> = rows.iter().map(|&r| scale.apply(y_all[r])).collect();
        sec.heading(&o.info.name);
        sec.begin_row();
        for p in &c.parameters {
            let x_all = c.values(&p.name);
            let x: Vec<f64> = rows.iter().map(|&r| x_all[r]).collect();
            let mut axes =
                Axes::linear(parameter_scale(p).label(&p.name), scale.label(&o.info.name));
            (axes.log_x, axes.log_y) = (wants_log(&x), wants_log(&y));
            let mut runs = Series::new("runs", x, y.clone(), colour(i));
            runs.legend = false;
            let stem = format!("scatter_{}_{}", o.info.name, p.name);
            let plot = chart::scatter(&axes, vec![runs], &stem);
            let title = format!("{} against {}", o.info.name, p.name);
            sec.plot(&title, &note_axes(&axes), &plot);
        }
        sec.end_row();
    }
    sec
}

/// Which axes of a figure are logarithmic.
fn note_axes(axes: &Axes) -> String {
    match (axes.log_x, axes.log_y) {
        (true, true) => "Both axes logarithmic.".into(),
        (true, false) => "Logarithmic x axis.".into(),
        (false, true) => "Logarithmic y axis.".into(),
        (false, false) => String::new(),
    }
}

/// Whether the design is drawn as lines: a grid of one or two parameters,
/// or a list of one (a dose–response, say).
pub fn line_design(c: &CampaignDir) -> bool {
    match c.design.method.as_str() {
        "grid" => (1..=2).contains(&c.parameters.len()),
        "list" => c.parameters.len() == 1,
        _ => false,
    }
}

/// Whether the lines hold every run already (one parameter, one run per
/// value), so that a scatter of the same points would only repeat them.
fn lines_replace_scatter(c: &CampaignDir) -> bool {
    line_design(c) && c.parameters.len() == 1 && c.design.replicates == 1
}

/// The title and file stem of observable `o`'s line chart.
fn line_names(c: &CampaignDir, o: &str) -> (String, String) {
    let p = &c.parameters[0].name;
    match (c.parameters.len(), c.design.method.as_str()) {
        (2, _) => (format!("{o} over the grid"), format!("grid_{o}")),
        _ if c.design.replicates > 1 => (
            format!("{o} against {p}, replicates averaged"),
            format!("line_{o}"),
        ),
        _ => (format!("{o} against {p}"), format!("line_{o}")),
    }
}

/// A grid of one or two parameters, or a list of one: each observable
/// against the first, one line per value of the second, replicates
/// averaged; a log x axis where the values span decades.
fn grid_section(c: &CampaignDir) -> Option<Section> {
    if !line_design(c) {
        return None;
    }
    let title = if c.design.method == "grid" {
        "Grid"
    } else {
        "Observables along the list"
    };
    let mut sec = Section::new("grid", title);
    let first = &c.parameters[0];
    let second = c.parameters.get(1);
    sec.para(&match second {
        Some(s) => format!("Each observable against {}, one line per value of {}; a point is the mean of its replicates' defined values.", first.name, s.name),
        None => format!("Each observable against {} (a dose–response when it is a dose); a point is the mean of its replicates' defined values. The buttons switch the y axis between linear and log.", first.name),
    });
    sec.begin_row();
    for o in &c.observables {
        let scale = observable_scale(o);
        let series = grid_lines(c, &o.info.name, &scale);
        let mut axes = Axes::linear(
            parameter_scale(first).label(&first.name),
            scale.label(&o.info.name),
        )
        .toggle_y();
        axes.log_x = wants_log(c.values(&first.name));
        let (title, stem) = line_names(c, &o.info.name);
        sec.plot(
            &title,
            &note_axes(&axes),
            &chart::lines(&axes, series, &stem),
        );
    }
    sec.end_row();
    Some(sec)
}

/// The lines of [`grid_section`]: per value of the second parameter (or
/// one line), the mean observable at each value of the first, ascending.
pub fn grid_lines(c: &CampaignDir, observable: &str, scale: &Scale) -> Vec<Series> {
    let x = c.values(&c.parameters[0].name);
    let second = c.parameters.get(1);
    let level = |r: usize| second.map_or(0.0, |p| c.values(&p.name)[r]);
    let y = c.values(observable);
    let mut levels: Vec<f64> = (0..x.len()).map(level).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    let mut out = Vec::new();
    for (i, &l) in levels.iter().enumerate() {
        let mut xs: Vec<f64> = (0..x.len())
            .filter(|&r| level(r) == l)
            .map(|r| x[r])
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let mean = |xv: f64| {
            let ys: Vec<f64> = (0..x.len())
                .filter(|&r| level(r) == l && x[r] == xv && y[r].is_finite())
                .map(|r| y[r])
                .collect();
            scale.apply(ys.iter().sum::<f64>() / ys.len() as f64)
        };
        let ys = xs.iter().map(|&xv| mean(xv)).collect();
        let name = match second {
            Some(p) => format!("{} = {}", p.name, parameter_scale(p).show(l)),
            None => observable.to_string(),
        };
        out.push(Series::styled(name, xs, ys, i));
    }
    out
}

/// The closing section: the folder and the design as recorded.
fn provenance(c: &CampaignDir) -> Section {
    let mut sec = Section::new("about", "How this campaign was made");
    sec.pairs(&[
        ("exosim version", c.version.clone()),
        ("fingerprint", c.fingerprint.clone()),
        ("campaign folder", c.dir.display().to_string()),
        (
            "report made by",
            format!(
                "exosim-report {} (`exosim report DIR`)",
                exosim::run::VERSION
            ),
        ),
    ]);
    sec.heading("Files of the campaign");
    sec.table(&["file", "size"], &crate::files_table(&c.dir));
    let design = serde_json::to_string_pretty(&c.design.record).unwrap_or_default();
    sec.details("The design, as recorded in summary.json", &design);
    sec
}

/// The page as HTML text.
pub fn render(c: &CampaignDir) -> String {
    let mut sections = vec![overview(c)];
    sections.extend(crate::trial_page::section(c));
    sections.push(spread_section(c));
    sections.extend(sensitivity_section(c));
    if !lines_replace_scatter(c) {
        sections.push(scatter_section(c));
    }
    sections.extend(grid_section(c));
    sections.push(provenance(c));
    let title = format!("exosim campaign: {}", c.name);
    let subtitle = format!("{} runs, {} design", c.runs, c.design.method);
    page::render(&title, &subtitle, &sections)
}

/// The line charts of a grid or list as static figures (see
/// [`grid_section`]); a log y axis where the means span decades.
fn grid_figures(c: &CampaignDir, out: &mut Vec<Figure>) {
    if !line_design(c) {
        return;
    }
    let first = &c.parameters[0];
    for o in &c.observables {
        let scale = observable_scale(o);
        let curves = (grid_lines(c, &o.info.name, &scale).into_iter().enumerate())
            .map(|(i, s)| Curve::styled(s.name, s.x.into_iter().zip(s.y).collect(), i))
            .collect();
        let (title, stem) = line_names(c, &o.info.name);
        out.push(Figure::Lines(LineFigure {
            stem,
            title,
            x_label: parameter_scale(first).label(&first.name),
            y_label: scale.label(&o.info.name),
            log_x: wants_log(c.values(&first.name)),
            log_y: false,
            curves,
        }));
    }
}

/// The static figures: each observable's tornado (sensitivity designs),
/// histogram and, for a grid of one or two parameters, line chart.
pub fn paper_figures(c: &CampaignDir) -> Vec<Figure> {
    let mut out = Vec::new();
    crate::trial_page::paper_figures(c, &mut out);
    grid_figures(c, &mut out);
    for o in &c.observables {
        let name = &o.info.name;
        if let Some(t) = tornado(c, o) {
            let title = format!("Sensitivity of {name}");
            out.push(t.figure(&title, &tornado_axis(c, &t), &format!("sensitivity_{name}")));
        }
    }
    for (i, o) in c.observables.iter().enumerate() {
        let scale = observable_scale(o);
        let shown: Vec<f64> = c
            .values(&o.info.name)
            .iter()
            .map(|&x| scale.apply(x))
            .collect();
        if let Some((edges, counts)) = bins(&shown) {
            out.push(Figure::Histogram(HistogramFigure {
                stem: format!("histogram_{}", o.info.name),
                title: format!("Spread of {} over the runs", o.info.name),
                x_label: scale.label(&o.info.name),
                edges,
                counts,
                colour: colour(i).to_string(),
            }));
        }
    }
    out
}

/// Reads the campaign in `dir` and writes `DIR/report.html` and
/// `DIR/figures/`: everything built in memory first, the page written last.
pub fn write(dir: &Path) -> Result<crate::Written, ReportError> {
    let c = CampaignDir::load(dir)?;
    let html = render(&c);
    let mut rendered = Vec::new();
    for fig in paper_figures(&c) {
        let (svg, png) = fig.render()?;
        rendered.push((fig.stem().to_string(), svg, png));
    }
    let figures = paper::write_all(&dir.join(crate::FIGURES_DIR), &rendered)?;
    let path = dir.join(crate::REPORT_FILE);
    exosim::output::write_atomic(&path, |w| w.write_all(html.as_bytes()))?;
    Ok(crate::Written {
        html: path,
        figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_value_once() {
        let v: Vec<f64> = (0..1000)
            .map(|i| f64::from(i) * 0.37)
            .chain([f64::NAN])
            .collect();
        let (edges, counts) = bins(&v).unwrap();
        assert_eq!(counts.iter().sum::<u64>(), 1000);
        assert_eq!(counts.len(), 20);
        assert_eq!((edges[0], *edges.last().unwrap()), (0.0, 999.0 * 0.37));
        let (edges, counts) = bins(&[2.0, 2.0]).unwrap();
        assert_eq!((edges, counts), (vec![1.9, 2.1], vec![2]));
        assert!(bins(&[f64::NAN]).is_none());
    }

    #[test]
    fn samples_are_fixed_ordered_and_do_not_alias_a_period() {
        let rows = sample_rows(7168, 1024);
        assert_eq!(rows.len(), 1024);
        assert!(rows.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(rows, sample_rows(7168, 1024), "the same rows every time");
        // Saltelli with 5 parameters: 7 kinds of row, each about a seventh.
        for kind in 0..7 {
            let share = rows.iter().filter(|&&r| r % 7 == kind).count();
            assert!((100..200).contains(&share), "kind {kind}: {share}");
        }
        assert_eq!(sample_rows(10, 5000), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn log_axes_for_values_spread_over_decades_not_for_uniform_ones() {
        let grid = |f: &dyn Fn(f64) -> f64| {
            (0..=100)
                .map(|i| f(f64::from(i) / 100.0))
                .collect::<Vec<_>>()
        };
        assert!(
            wants_log(&grid(&|u| 3.0 * 100f64.powf(u))),
            "log-uniform 3 to 300"
        );
        assert!(wants_log(&[1e2, 1e3, 1e4, 1e5]), "detection limits");
        assert!(!wants_log(&grid(&|u| 4e-5 + u)), "uniform from near zero");
        assert!(!wants_log(&grid(&|u| 1.0 + u)), "one decade");
        assert!(!wants_log(&[0.0, 1.0, 100.0]), "zero");
    }
}
