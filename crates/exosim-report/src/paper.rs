//! Static figures for papers and slides, as SVG and PNG, drawn with
//! plotters: the curves a reader looks for first, without the interaction.
//!
//! Log axes are drawn by plotting log10 of the values, with ticks at whole
//! decades (or 1–2–5 steps) labelled as plain numbers or powers of ten
//! ([`chart::log_ticks`]), so that one drawing routine serves every figure.
//! The axes cover every point drawn; on a log axis, values below
//! [`chart::LOG_FLOOR`] × the largest are left out, and the figure says so.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::chart::{self, Dash};
use crate::error::ReportError;
use crate::snapshot::encode_png;

/// Size of every static figure in pixels (SVG user units for SVG).
const SIZE: (u32, u32) = (960, 600);

/// The font of every label, embedded (DejaVu Sans, cut to the scripts a
/// figure uses; `fonts/LICENSE-DejaVu.txt`): drawn by `ab_glyph`, so a PNG
/// does not depend on the fonts a machine has installed.
const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");

/// Registers [`FONT`] as the `sans-serif` family, once.
fn register_font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the embedded font could not be read".into())
    }
}

/// One curve of a static figure.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend entry.
    pub name: String,
    /// CSS colour `#rrggbb`.
    pub colour: String,
    /// Points (non-finite and, on log axes, non-positive ones are skipped).
    pub points: Vec<(f64, f64)>,
    /// Line pattern.
    pub dash: Dash,
}

impl Curve {
    /// Curve number `i` of a figure: colour and pattern from [`chart::style`].
    pub fn styled(name: impl Into<String>, points: Vec<(f64, f64)>, i: usize) -> Self {
        let (colour, dash) = chart::style(i);
        Curve {
            name: name.into(),
            colour: colour.into(),
            points,
            dash,
        }
    }
}

/// A figure of curves.
#[derive(Debug, Clone)]
pub struct LineFigure {
    /// File name without extension.
    pub stem: String,
    /// Title above the plot.
    pub title: String,
    /// x axis title.
    pub x_label: String,
    /// y axis title.
    pub y_label: String,
    /// Logarithmic x.
    pub log_x: bool,
    /// Logarithmic y.
    pub log_y: bool,
    /// The curves.
    pub curves: Vec<Curve>,
}

fn rgb(css: &str) -> RGBColor {
    let h = |i: usize| {
        css.get(i..i + 2)
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .unwrap_or(0)
    };
    RGBColor(h(1), h(3), h(5))
}

/// What a line figure draws: the points in axis units (log10 on a log
/// axis), the axis ranges that cover every one of them, the ticks, and the
/// log-axis floor when values fell below it.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Per curve, the points drawn (axis units).
    pub points: Vec<Vec<(f64, f64)>>,
    /// x range (axis units), covering every point drawn.
    pub x: (f64, f64),
    /// y range (axis units), covering every point drawn.
    pub y: (f64, f64),
    /// x ticks (axis units) with their labels.
    pub x_ticks: Vec<(f64, String)>,
    /// y ticks (axis units) with their labels.
    pub y_ticks: Vec<(f64, String)>,
    /// [`chart::LOG_FLOOR`] × the largest y, when values below it were left out.
    pub y_clamped: Option<f64>,
}

/// A linear axis with the ticks of a [`Layout`] (log axes are linear in log10).
#[derive(Clone)]
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new((lo, hi): (f64, f64), ticks: &[(f64, String)]) -> Self {
        Ticked {
            inner: (lo..hi).into(),
            ticks: ticks.iter().map(|t| t.0).collect(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // The ticks carry labels and bold grid lines; no light lines between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Round ticks (1, 2 or 5 × 10^k apart) over a linear range.
fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    if hi <= lo || !(hi - lo).is_finite() {
        return vec![(lo, crate::format::num(lo))];
    }
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            // Exact zero rather than -0 or 1e-17 from the product.
            let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
            (v, crate::format::num(v))
        })
        .collect()
}

impl LineFigure {
    /// The figure's points, ranges and ticks. On a log axis, values below
    /// [`chart::LOG_FLOOR`] × the largest (and non-positive ones) are left
    /// out, and the axis covers everything else; a linear axis covers every
    /// finite point.
    pub fn layout(&self) -> Option<Layout> {
        let all_x = || {
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.0))
        };
        let all_y = || {
            self.curves
                .iter()
                .flat_map(|c| c.points.iter().map(|p| p.1))
        };
        let xr = if self.log_x {
            chart::log_range(all_x())
        } else {
            None
        };
        let yr = if self.log_y {
            chart::log_range(all_y())
        } else {
            None
        };
        let keep = |v: f64, log: bool, r: Option<chart::LogRange>| {
            if !v.is_finite() {
                return None;
            }
            if !log {
                return Some(v);
            }
            let r = r?;
            let l = v.log10();
            (v > 0.0 && l >= r.lo).then_some(l)
        };
        let points: Vec<Vec<(f64, f64)>> = self
            .curves
            .iter()
            .map(|c| {
                c.points
                    .iter()
                    .filter_map(|&(x, y)| {
                        Some((keep(x, self.log_x, xr)?, keep(y, self.log_y, yr)?))
                    })
                    .collect()
            })
            .collect();
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in points.iter().flatten() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            return None;
        }
        let pad = |a: f64, b: f64| if b > a { (b - a) * 0.04 } else { 0.5 };
        let (px, py) = (pad(x0, x1), pad(y0, y1));
        let (x, y) = ((x0 - px, x1 + px), (y0 - py, y1 + py));
        let ticks = |(lo, hi): (f64, f64), log: bool| {
            if log {
                chart::log_ticks(lo, hi)
                    .into_iter()
                    .map(|(v, l)| (v.log10(), l))
                    .collect()
            } else {
                linear_ticks(lo, hi)
            }
        };
        Some(Layout {
            x_ticks: ticks(x, self.log_x),
            y_ticks: ticks(y, self.log_y),
            points,
            x,
            y,
            y_clamped: yr.and_then(|r| r.clamped),
        })
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let layout = self.layout().ok_or("no finite points to draw")?;
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let area = match layout.y_clamped {
            Some(floor) => {
                // Say on the figure itself what the log axis leaves out.
                let (w, h) = area.dim_in_pixel();
                area.draw(&Text::new(
                    format!(
                        "Values below {} (10⁻⁹ of the largest: solver rounding near zero) are not shown.",
                        crate::format::num(floor)
                    ),
                    (16, h as i32 - 22),
                    ("sans-serif", 14).into_font().color(&RGBColor(90, 90, 90)),
                ))
                .map_err(|e| e.to_string())?;
                area.clone().shrink((0, 0), (w, h - 26))
            }
            None => area.clone(),
        };
        let label_of = |ticks: &[(f64, String)], v: f64| {
            ticks
                .iter()
                .find(|(t, _)| (t - v).abs() <= 1e-9 * t.abs().max(1.0))
                .map(|(_, l)| l.clone())
                .unwrap_or_default()
        };
        let mut chart = ChartBuilder::on(&area)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(
                Ticked::new(layout.x, &layout.x_ticks),
                Ticked::new(layout.y, &layout.y_ticks),
            )
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| label_of(&layout.x_ticks, *v))
            .y_label_formatter(&|v| label_of(&layout.y_ticks, *v))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (c, points) in self.curves.iter().zip(layout.points.clone()) {
            let colour = rgb(&c.colour);
            let style = colour.stroke_width(if c.dash == Dash::Dash { 1 } else { 2 });
            let pattern = match c.dash {
                Dash::Solid => None,
                Dash::Dash => Some((6, 4)),
                Dash::Dot => Some((2, 4)),
                Dash::DashDot => Some((10, 3)),
                Dash::LongDash => Some((16, 6)),
            };
            let series = match pattern {
                Some((size, gap)) => {
                    chart.draw_series(DashedLineSeries::new(points, size, gap, style))
                }
                None => chart.draw_series(LineSeries::new(points, style)),
            }
            .map_err(|e| e.to_string())?;
            series.label(c.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 15))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
        area.present().map_err(|e| e.to_string())
    }
}

/// A figure of grouped bars: one group per category, one bar per series.
#[derive(Debug, Clone)]
pub struct BarFigure {
    /// File name without extension.
    pub stem: String,
    /// Title above the plot.
    pub title: String,
    /// y axis title.
    pub y_label: String,
    /// Category names along x.
    pub categories: Vec<String>,
    /// (legend entry, CSS colour, one height per category).
    pub series: Vec<(String, String, Vec<f64>)>,
}

impl BarFigure {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n = self.categories.len();
        if n == 0 || self.series.is_empty() {
            return Err("no bars to draw".into());
        }
        let top = self
            .series
            .iter()
            .flat_map(|s| s.2.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        // One segment per bar plus an empty one between categories.
        let m = self.series.len();
        let slots = (n * (m + 1)) as u32;
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((0..slots).into_segmented(), 0.0..(top * 1.08).max(1e-12))
            .map_err(|e| e.to_string())?;
        let names = self.categories.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(slots as usize)
            .x_label_formatter(&move |v| match v {
                // The name goes under the middle bar of its group.
                SegmentValue::CenterOf(j) if *j as usize % (m + 1) == m / 2 => names
                    .get(*j as usize / (m + 1))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(&self.y_label)
            .y_label_formatter(&|v| crate::format::num(*v))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (k, (name, css, values)) in self.series.iter().enumerate() {
            let colour = rgb(css);
            let bars = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| {
                    let slot = (i * (m + 1) + k) as u32;
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(slot), 0.0),
                            (SegmentValue::Exact(slot + 1), v),
                        ],
                        colour.filled(),
                    )
                });
            chart
                .draw_series(bars)
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 15))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
        area.present().map_err(|e| e.to_string())
    }
}

/// One colour of a [`HBarFigure`]: a value per category and, where
/// known, its interval (drawn as an error bar).
#[derive(Debug, Clone)]
pub struct HBarSeries {
    /// Legend entry.
    pub name: String,
    /// CSS colour `#rrggbb`.
    pub colour: String,
    /// One value per category (non-finite: no bar).
    pub values: Vec<f64>,
    /// (low, high) per category; non-finite ends: no error bar.
    pub intervals: Vec<(f64, f64)>,
}

/// Horizontal bars with error bars, categories top to bottom: a tornado
/// chart of sensitivity indices, the most influential parameter on top.
#[derive(Debug, Clone)]
pub struct HBarFigure {
    /// File name without extension.
    pub stem: String,
    /// Title above the plot.
    pub title: String,
    /// x axis title.
    pub x_label: String,
    /// Category names, top to bottom.
    pub categories: Vec<String>,
    /// The bars of each colour.
    pub series: Vec<HBarSeries>,
}

impl HBarFigure {
    /// The x range covering every bar, interval and zero.
    fn extent(&self) -> (f64, f64) {
        let all = self.series.iter().flat_map(|s| {
            s.values
                .iter()
                .copied()
                .chain(s.intervals.iter().flat_map(|&(a, b)| [a, b]))
        });
        let (lo, hi) = all
            .filter(|v| v.is_finite())
            .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let pad = ((hi - lo) * 0.05).max(1e-12);
        (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad)
    }

    /// The lower edge of the bar of category `i`, series `k`: each
    /// category a band of one bar per series and a gap, the first category
    /// and the first series on top.
    fn bar_y(&self, i: usize, k: usize) -> f64 {
        let (n, m) = (self.categories.len(), self.series.len());
        ((n - 1 - i) * (m + 1) + m - k) as f64
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (n, m) = (self.categories.len(), self.series.len());
        if n == 0 || m == 0 {
            return Err("no bars to draw".into());
        }
        // A name at the middle of its band, one tick per category.
        let ticks: Vec<(f64, String)> = (self.categories.iter().enumerate())
            .map(|(i, c)| (self.bar_y(i, m - 1) + m as f64 / 2.0, c.clone()))
            .collect();
        let longest = self.categories.iter().map(|c| c.chars().count()).max();
        let label_area = (longest.unwrap_or(0) as u32 * 9 + 24).min(420);
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let (lo, hi) = self.extent();
        let y = Ticked::new((0.5, (n * (m + 1)) as f64 + 0.5), &ticks);
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(label_area)
            .build_cartesian_2d(lo..hi, y)
            .map_err(|e| e.to_string())?;
        let label_of = |v: &f64| {
            let found = ticks.iter().find(|(t, _)| (t - v).abs() < 1e-9);
            found.map(|(_, l)| l.clone()).unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_label_formatter(&label_of)
            .x_desc(&self.x_label)
            .x_label_formatter(&|v| crate::format::num(*v))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(|e| e.to_string())?;
        for k in 0..m {
            self.draw_series(&mut chart, k)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 15))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| e.to_string())?;
        area.present().map_err(|e| e.to_string())
    }

    /// The bars of series `k` and their error bars (capped whiskers, the
    /// caps a fixed size in pixels).
    fn draw_series<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Ticked>>,
        k: usize,
    ) -> Result<(), String> {
        let s = &self.series[k];
        let colour = rgb(&s.colour);
        let bars = (s.values.iter().enumerate())
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| {
                let y = self.bar_y(i, k);
                // A thin gap between neighbouring bars of a band.
                Rectangle::new([(0.0, y + 0.06), (v, y + 0.94)], colour.filled())
            });
        chart
            .draw_series(bars)
            .map_err(|e| e.to_string())?
            .label(s.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled()));
        let intervals: Vec<(f64, f64, f64)> = (s.intervals.iter().enumerate())
            .filter(|(_, (a, b))| a.is_finite() && b.is_finite())
            .map(|(i, &(a, b))| (self.bar_y(i, k) + 0.5, a, b))
            .collect();
        let ink = BLACK.stroke_width(2);
        let lines =
            (intervals.iter()).map(|&(y, a, b)| PathElement::new(vec![(a, y), (b, y)], ink));
        chart.draw_series(lines).map_err(|e| e.to_string())?;
        let caps = (intervals.iter()).flat_map(|&(y, a, b)| {
            [a, b].map(|x| EmptyElement::at((x, y)) + PathElement::new(vec![(0, -6), (0, 6)], ink))
        });
        chart.draw_series(caps).map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// A histogram: equal bins between `edges`, one count each.
#[derive(Debug, Clone)]
pub struct HistogramFigure {
    /// File name without extension.
    pub stem: String,
    /// Title above the plot.
    pub title: String,
    /// x axis title.
    pub x_label: String,
    /// Bin edges, ascending (one more than the counts).
    pub edges: Vec<f64>,
    /// Values in each bin.
    pub counts: Vec<u64>,
    /// CSS colour `#rrggbb`.
    pub colour: String,
}

impl HistogramFigure {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (Some(&x0), Some(&x1)) = (self.edges.first(), self.edges.last()) else {
            return Err("no bins to draw".into());
        };
        let ascending = matches!(x1.partial_cmp(&x0), Some(std::cmp::Ordering::Greater));
        if !ascending || self.counts.len() + 1 != self.edges.len() {
            return Err("the bins are empty or do not match their counts".into());
        }
        let top = self.counts.iter().copied().max().unwrap_or(0) as f64;
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, 0.0..(top * 1.08).max(1.0))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(&self.x_label)
            .y_desc("runs")
            .x_label_formatter(&|v| crate::format::num(*v))
            .y_label_formatter(&|v| crate::format::num(*v))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(|e| e.to_string())?;
        let colour = rgb(&self.colour);
        let bins = || self.edges.windows(2).zip(&self.counts);
        let fill =
            bins().map(|(w, &c)| Rectangle::new([(w[0], 0.0), (w[1], c as f64)], colour.filled()));
        chart.draw_series(fill).map_err(|e| e.to_string())?;
        // A white outline keeps neighbouring bins apart.
        let outline = bins()
            .map(|(w, &c)| Rectangle::new([(w[0], 0.0), (w[1], c as f64)], WHITE.stroke_width(1)));
        chart.draw_series(outline).map_err(|e| e.to_string())?;
        area.present().map_err(|e| e.to_string())
    }
}

/// One colour of a [`ColumnFigure`]: (legend entry, CSS colour, (x,
/// height) of each bar).
pub type ColumnGroup = (String, String, Vec<(f64, f64)>);

/// Bars on a numeric x axis, one colour per group, with dashed reference
/// lines across: a waterfall of subjects by arm.
#[derive(Debug, Clone)]
pub struct ColumnFigure {
    /// File name without extension.
    pub stem: String,
    /// Title above the plot.
    pub title: String,
    /// x axis title.
    pub x_label: String,
    /// y axis title.
    pub y_label: String,
    /// The bars, one colour each.
    pub groups: Vec<ColumnGroup>,
    /// Horizontal lines: (legend entry, height).
    pub lines: Vec<(String, f64)>,
}

impl ColumnFigure {
    /// The x and y ranges covering every bar (from 0) and line.
    fn ranges(&self) -> Option<((f64, f64), (f64, f64))> {
        let bars = self.groups.iter().flat_map(|g| g.2.iter().copied());
        let finite: Vec<(f64, f64)> = bars
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        let ys = finite
            .iter()
            .map(|p| p.1)
            .chain(self.lines.iter().map(|l| l.1))
            .chain([0.0]);
        let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        let (x0, x1) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.0), b.max(p.0))
            });
        let pad = 0.05 * (y1 - y0).max(1e-12);
        x0.is_finite()
            .then_some(((x0 - 1.0, x1 + 1.0), (y0 - pad, y1 + pad)))
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let ((x0, x1), (y0, y1)) = self.ranges().ok_or("no bars to draw")?;
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .y_label_formatter(&|v| crate::format::num(*v))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, css, bars) in &self.groups {
            let colour = rgb(css);
            let rects = (bars.iter().filter(|p| p.1.is_finite()))
                .map(|&(x, y)| Rectangle::new([(x - 0.45, 0.0), (x + 0.45, y)], colour.filled()));
            chart
                .draw_series(rects)
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                });
        }
        let grey = RGBColor(80, 80, 80);
        for (name, y) in &self.lines {
            let pts = vec![(x0, *y), (x1, *y)];
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, grey.stroke_width(1)))
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 15))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(|e| e.to_string())?;
        area.present().map_err(|e| e.to_string())
    }
}

/// A static figure of either kind.
#[derive(Debug, Clone)]
pub enum Figure {
    /// Curves.
    Lines(LineFigure),
    /// Grouped bars.
    Bars(BarFigure),
    /// Horizontal bars with error bars.
    HBars(HBarFigure),
    /// A histogram.
    Histogram(HistogramFigure),
    /// Bars on a numeric axis with reference lines (a waterfall).
    Columns(ColumnFigure),
}

impl Figure {
    /// File name without extension.
    pub fn stem(&self) -> &str {
        match self {
            Figure::Lines(f) => &f.stem,
            Figure::Bars(f) => &f.stem,
            Figure::HBars(f) => &f.stem,
            Figure::Histogram(f) => &f.stem,
            Figure::Columns(f) => &f.stem,
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        match self {
            Figure::Lines(f) => f.draw(area),
            Figure::Bars(f) => f.draw(area),
            Figure::HBars(f) => f.draw(area),
            Figure::Histogram(f) => f.draw(area),
            Figure::Columns(f) => f.draw(area),
        }
    }

    /// Draws the figure as SVG text and PNG bytes, in memory.
    pub fn render(&self) -> Result<(String, Vec<u8>), ReportError> {
        let fail = |ext: &str, message: String| ReportError::Figure {
            path: format!("{}/{}.{ext}", crate::FIGURES_DIR, self.stem()).into(),
            message,
        };
        register_font().map_err(|m| fail("png", m))?;
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.draw(&area).map_err(|m| fail("svg", m))?;
        }
        let mut buf = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let area = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
            self.draw(&area).map_err(|m| fail("png", m))?;
        }
        let png = encode_png(&buf, SIZE.0, SIZE.1).map_err(|m| fail("png", m))?;
        Ok((svg, png))
    }
}

/// Writes rendered figures as `<stem>.svg` and `<stem>.png` into `dir`,
/// each atomically; returns the paths.
pub fn write_all(
    dir: &Path,
    rendered: &[(String, String, Vec<u8>)],
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| exosim::output::OutputError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (stem, svg, png) in rendered {
        let svg_path = dir.join(format!("{stem}.svg"));
        let png_path = dir.join(format!("{stem}.png"));
        exosim::output::write_atomic(&svg_path, |w| w.write_all(svg.as_bytes()))?;
        exosim::output::write_atomic(&png_path, |w| w.write_all(png))?;
        out.extend([svg_path, png_path]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blood curve falling from 7·10¹¹ to 10³ over eight and a half
    /// decades, with a solver residue in its tail.
    fn blood() -> LineFigure {
        let mut points: Vec<(f64, f64)> = (0..=48)
            .map(|h| (f64::from(h), 7e11 * 10f64.powf(-f64::from(h) * 8.85 / 48.0)))
            .collect();
        points.push((49.0, 1e-16));
        LineFigure {
            stem: "blood".into(),
            title: "Vesicles in blood".into(),
            x_label: "time (h)".into(),
            y_label: "vesicles".into(),
            log_x: false,
            log_y: true,
            curves: vec![Curve::styled("natural · sEV", points, 0)],
        }
    }

    #[test]
    fn axes_cover_every_value_drawn() {
        let fig = blood();
        let l = fig.layout().unwrap();
        // Every value above a billionth of the top is drawn and inside the axes
        // (the old six-decade cut stopped the curve at 7·10⁵).
        let kept = fig.curves[0].points.iter().filter(|p| p.1 >= 7e2).count();
        assert_eq!(l.points[0].len(), kept);
        for &(x, y) in &l.points[0] {
            assert!(
                x >= l.x.0 && x <= l.x.1 && y >= l.y.0 && y <= l.y.1,
                "({x}, {y})"
            );
        }
        assert!(l.y.0 < 3.0, "down to 10³: {:?}", l.y);
        // The residue is left out, and the figure says so.
        let floor = l.y_clamped.unwrap();
        assert!((floor - 700.0).abs() < 1e-6, "{floor}");
        // Whole decades (every second one over nine), plainly labelled.
        let labels: Vec<&str> = l.y_ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["1000", "10⁵", "10⁷", "10⁹", "10¹¹"]);
        let (svg, _) = Figure::Lines(fig).render().unwrap();
        assert!(
            svg.contains("10⁹") && svg.contains("are not shown"),
            "labels and note drawn"
        );
    }

    /// FNV-1a, to pin the bytes of a PNG in a test.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
    }

    #[test]
    fn png_labels_come_from_the_embedded_font() {
        let (_, a) = Figure::Lines(blood()).render().unwrap();
        let (_, b) = Figure::Lines(blood()).render().unwrap();
        assert_eq!(a, b, "same figure, same bytes");
        // Text is drawn: another title gives other pixels.
        let mut other = blood();
        other.title = "Vesicles in plasma".into();
        let (_, c) = Figure::Lines(other).render().unwrap();
        assert_ne!(a, c);
        // The bytes do not depend on the machine's fonts: this checksum holds
        // wherever the test runs (it changes only with the drawing code, the
        // embedded font or the plotters, ab_glyph and png versions).
        assert_eq!(fnv(&a), PNG_CHECKSUM, "checksum {:#x}", fnv(&a));
    }

    const PNG_CHECKSUM: u64 = 0xabdb_f146_9fb8_6a7e;
}
