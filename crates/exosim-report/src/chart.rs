//! Interactive figures as plotly descriptions: lines with an optional log
//! scale toggle, grouped bars with error bars, and the thinning that keeps a
//! page light.

use plotly::common::{ErrorData, ErrorType, Fill, Line, LineShape, Marker, Mode, Title};
use plotly::configuration::{Configuration, ImageButtonFormats, ToImageButtonOptions};
use plotly::layout::update_menu::{
    Button, ButtonMethod, UpdateMenu, UpdateMenuDirection, UpdateMenuType,
};
use plotly::layout::{Axis, AxisType, BarMode, HoverMode, Legend, Margin};
use plotly::{Bar, Layout, Plot, Scatter};
use serde_json::json;

/// Most points a curve keeps on the page; the files keep every point.
pub const MAX_POINTS: usize = 1000;

/// A qualitative colour cycle that stays distinguishable for ten series.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Colour number `i` of the cycle.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A line pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dash {
    /// Solid.
    Solid,
    /// Dashed: kept for cumulative amounts and references (never in [`style`]'s cycle).
    Dash,
    /// Dotted.
    Dot,
    /// Dash-dot.
    DashDot,
    /// Long dashes.
    LongDash,
}

/// The patterns [`style`] gives after each round of the ten colours.
const CYCLE: [Dash; 4] = [Dash::Solid, Dash::Dot, Dash::DashDot, Dash::LongDash];

/// Number of distinct (colour, pattern) pairs [`style`] gives before repeating.
pub const DISTINCT_STYLES: usize = PALETTE.len() * CYCLE.len();

/// Style number `i`: colour `i mod 10`, then the next line pattern for each
/// further round of the colours, so that the first [`DISTINCT_STYLES`]
/// curves of a figure all look different (a body has about 20 places).
pub fn style(i: usize) -> (&'static str, Dash) {
    (colour(i), CYCLE[(i / PALETTE.len()) % CYCLE.len()])
}

impl Dash {
    fn plotly(self) -> plotly::common::DashType {
        use plotly::common::DashType as D;
        match self {
            Dash::Solid => D::Solid,
            Dash::Dash => D::Dash,
            Dash::Dot => D::Dot,
            Dash::DashDot => D::DashDot,
            Dash::LongDash => D::LongDash,
        }
    }
}

/// On a log axis, values below this fraction of the figure's largest value
/// are left below the axis: a solver leaves rounding residues near zero
/// (−3.6·10⁻¹³ vesicles in an empty depot, or 10⁻¹⁶ after clearance) that
/// would otherwise stretch the axis over tens of decades and squash the
/// curves a reader looks at. Nine decades keep every real tail.
pub const LOG_FLOOR: f64 = 1e-9;

/// The extent of a log axis over some data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRange {
    /// log10 of the smallest value shown (at least the floor).
    pub lo: f64,
    /// log10 of the largest value.
    pub hi: f64,
    /// `LOG_FLOOR` × the largest value, when some non-zero values lie below
    /// it (they are left below the axis); `None` when everything is shown.
    pub clamped: Option<f64>,
}

/// The log axis for `values`: from the smallest value above
/// [`LOG_FLOOR`] × the largest to the largest. `None` without a positive
/// finite value. Zeros are not counted as clamped (a log axis never shows
/// them, and they are not residues).
pub fn log_range(values: impl IntoIterator<Item = f64> + Clone) -> Option<LogRange> {
    let top = values
        .clone()
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return None;
    }
    let floor = top * LOG_FLOOR;
    let mut bottom = top;
    let mut clamped = false;
    for v in values.into_iter().filter(|v| v.is_finite() && *v != 0.0) {
        if v >= floor {
            bottom = bottom.min(v);
        } else {
            clamped = true;
        }
    }
    Some(LogRange {
        lo: bottom.log10(),
        hi: top.log10(),
        clamped: clamped.then_some(floor),
    })
}

impl LogRange {
    /// The range with a margin, in log10 units (plotly's log-axis range).
    pub fn padded(&self) -> (f64, f64) {
        let pad = if self.hi > self.lo {
            0.04 * (self.hi - self.lo)
        } else {
            0.5
        };
        (self.lo - pad, self.hi + pad)
    }

    /// Tick positions (data units) and their labels over the padded range:
    /// see [`log_ticks`].
    pub fn ticks(&self) -> Vec<(f64, String)> {
        let (lo, hi) = self.padded();
        log_ticks(lo, hi)
    }
}

/// Ticks of a log axis from 10^`lo` to 10^`hi`, labelled in plain numbers
/// (`1`, `10`, `100`, `0.01`) up to a thousand and down to a thousandth,
/// and as powers of ten beyond (`10⁹`, `2·10⁹`): whole decades (every
/// second or third one over a wide range), or 1–2–5 within a range of
/// under two decades. Never the bare mantissas (`2 3 4 5`) of plotly's
/// minor ticks.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return Vec::new();
    }
    let (first, last) = (lo.ceil() as i32, hi.floor() as i32);
    let decades = last - first + 1;
    if decades >= 2 {
        let step = ((decades + 7) / 8).max(1);
        return (first..=last)
            .filter(|e| (e - first) % step == 0)
            .map(|e| (10f64.powi(e), power_label(1, e)))
            .collect();
    }
    let mut out = Vec::new();
    for e in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in [1, 2, 5] {
            let v = f64::from(m) * 10f64.powi(e);
            let l = v.log10();
            if l >= lo - 1e-9 && l <= hi + 1e-9 {
                out.push((v, power_label(m, e)));
            }
        }
    }
    out
}

/// `m`·10^`e` as a person writes it: plain from 0.001 to 5000, else with a
/// superscript power (`10⁹`, `2·10⁻⁵`).
pub fn power_label(m: i32, e: i32) -> String {
    if (-3..=3).contains(&e) {
        let v = f64::from(m) * 10f64.powi(e);
        let decimals = (-e).max(0) as usize;
        return format!("{v:.decimals$}");
    }
    let sup: String = e
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect();
    if m == 1 {
        format!("10{sup}")
    } else {
        format!("{m}·10{sup}")
    }
}

/// The sentence a caption adds when a log figure leaves values out (see
/// [`LOG_FLOOR`]); empty otherwise.
pub fn log_note(range: Option<LogRange>) -> String {
    match range.and_then(|r| r.clamped) {
        Some(floor) => format!(
            " On the log axis, values below {} (a billionth of the largest: solver rounding near zero, including tiny negative values) are left out; the files hold them.",
            crate::format::num(floor)
        ),
        None => String::new(),
    }
}

/// The log axis of a set of curves.
pub fn series_log_range(series: &[Series]) -> Option<LogRange> {
    log_range(series.iter().flat_map(|s| s.y.iter().copied()))
}

/// Thins a curve to at most about `max_points` points by keeping, in each
/// of `max_points / 2` equal slices, the smallest and the largest value in
/// their order, so that peaks and troughs survive (the first and last
/// points are always kept). Returns the input unchanged when already short.
pub fn thin(x: &[f64], y: &[f64], max_points: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len().min(y.len());
    if n <= max_points || max_points < 4 {
        return (x[..n].to_vec(), y[..n].to_vec());
    }
    let buckets = (max_points - 2) / 2;
    let mut xs = vec![x[0]];
    let mut ys = vec![y[0]];
    let inner = n - 2;
    for b in 0..buckets {
        let lo = 1 + b * inner / buckets;
        let hi = 1 + (b + 1) * inner / buckets;
        if lo >= hi {
            continue;
        }
        let (mut imin, mut imax) = (lo, lo);
        for i in lo..hi {
            // NaN never wins a comparison, so a gap is kept only if the whole slice is NaN.
            if y[i] < y[imin] || y[imin].is_nan() {
                imin = i;
            }
            if y[i] > y[imax] || y[imax].is_nan() {
                imax = i;
            }
        }
        let (a, b) = if imin <= imax {
            (imin, imax)
        } else {
            (imax, imin)
        };
        xs.push(x[a]);
        ys.push(y[a]);
        if b != a {
            xs.push(x[b]);
            ys.push(y[b]);
        }
    }
    xs.push(x[n - 1]);
    ys.push(y[n - 1]);
    (xs, ys)
}

/// The unit in which a time axis reads best, from the largest time shown.
pub fn time_unit(max_seconds: f64) -> (&'static str, f64) {
    use exosim::units::{DAY, HOUR, MINUTE, YEAR};
    if max_seconds >= 3.0 * YEAR {
        ("years", YEAR)
    } else if max_seconds >= 3.0 * DAY {
        ("days", DAY)
    } else if max_seconds >= 3.0 * HOUR {
        ("h", HOUR)
    } else if max_seconds >= 3.0 * MINUTE {
        ("min", MINUTE)
    } else {
        ("s", 1.0)
    }
}

/// One curve of a line figure.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// Colour (CSS).
    pub colour: String,
    /// Line width in px.
    pub width: f64,
    /// 0–1.
    pub opacity: f64,
    /// Curves sharing a group toggle together from the legend.
    pub group: Option<String>,
    /// Whether the curve has its own legend entry.
    pub legend: bool,
    /// Line pattern (dashed: cumulative amounts, references).
    pub dash: Dash,
    /// Steps rather than straight segments (ROC curves).
    pub steps: bool,
    /// Fill down to the previous curve (with a transparent line: a band).
    pub band_to_previous: bool,
}

impl Series {
    /// A curve in style number `i` of [`style`]: distinct colour and pattern
    /// pairs for the first [`DISTINCT_STYLES`] curves.
    pub fn styled(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>, i: usize) -> Self {
        let (c, dash) = style(i);
        let mut s = Series::new(name, x, y, c);
        s.dash = dash;
        s
    }

    /// A plain solid curve.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>, colour: &str) -> Self {
        Series {
            name: name.into(),
            x,
            y,
            colour: colour.to_string(),
            width: 2.0,
            opacity: 1.0,
            group: None,
            legend: true,
            dash: Dash::Solid,
            steps: false,
            band_to_previous: false,
        }
    }
}

/// Axis settings of a figure.
#[derive(Debug, Clone)]
pub struct Axes {
    /// Title of the x axis, with unit.
    pub x: String,
    /// Title of the y axis, with unit.
    pub y: String,
    /// Start with a logarithmic x axis.
    pub log_x: bool,
    /// Start with a logarithmic y axis.
    pub log_y: bool,
    /// Offer buttons that switch the y axis between linear and log.
    pub y_toggle: bool,
    /// Fixed y range, e.g. [0, 1] for probabilities.
    pub y_range: Option<(f64, f64)>,
}

impl Axes {
    /// Linear axes, no toggle.
    pub fn linear(x: impl Into<String>, y: impl Into<String>) -> Self {
        Axes {
            x: x.into(),
            y: y.into(),
            log_x: false,
            log_y: false,
            y_toggle: false,
            y_range: None,
        }
    }

    /// A log y axis that the reader may switch to linear.
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self.y_toggle = true;
        self
    }

    /// A linear y axis that the reader may switch to log.
    pub fn toggle_y(mut self) -> Self {
        self.y_toggle = true;
        self
    }
}

/// A log axis over `range`: its padded extent and plain tick labels.
fn log_axis(axis: Axis, range: Option<LogRange>) -> Axis {
    let axis = axis.type_(AxisType::Log);
    let Some(r) = range else { return axis };
    let (lo, hi) = r.padded();
    let (values, text): (Vec<f64>, Vec<String>) = r.ticks().into_iter().unzip();
    axis.range(vec![lo, hi])
        .tick_mode(plotly::common::TickMode::Array)
        .tick_values(values)
        .tick_text(text)
}

/// The relayout arguments that switch the y axis to log over `range`
/// (range and plain ticks included), or back to linear.
fn y_switch(log: bool, range: Option<LogRange>) -> serde_json::Value {
    match (log, range) {
        (true, Some(r)) => {
            let (lo, hi) = r.padded();
            let (values, text): (Vec<f64>, Vec<String>) = r.ticks().into_iter().unzip();
            json!([{ "yaxis.type": "log", "yaxis.range": [lo, hi], "yaxis.tickmode": "array",
                     "yaxis.tickvals": values, "yaxis.ticktext": text }])
        }
        (true, None) => json!([{ "yaxis.type": "log" }]),
        (false, _) => json!([{ "yaxis.type": "linear", "yaxis.autorange": true,
                               "yaxis.tickmode": "auto" }]),
    }
}

fn base_layout(axes: &Axes, y_log: Option<LogRange>, x_log: Option<LogRange>) -> Layout {
    let mut y_axis = Axis::new()
        .title(Title::with_text(&axes.y))
        .exponent_format(plotly::common::ExponentFormat::Power)
        .auto_margin(true);
    y_axis = if axes.log_y {
        log_axis(y_axis, y_log)
    } else {
        y_axis.type_(AxisType::Linear)
    };
    if let Some((lo, hi)) = axes.y_range {
        y_axis = y_axis.range(vec![lo, hi]);
    }
    let x_axis = Axis::new()
        .title(Title::with_text(&axes.x))
        .exponent_format(plotly::common::ExponentFormat::Power)
        .auto_margin(true);
    let x_axis = if axes.log_x {
        log_axis(x_axis, x_log)
    } else {
        x_axis.type_(AxisType::Linear)
    };
    let mut layout = Layout::new()
        .x_axis(x_axis)
        .y_axis(y_axis)
        .hover_mode(HoverMode::Closest)
        .margin(Margin::new().top(40).bottom(50).left(70).right(20))
        .legend(Legend::new());
    if axes.y_toggle {
        let button = |label: &str, log: bool| {
            Button::new()
                .label(label)
                .method(ButtonMethod::Relayout)
                .args(y_switch(log, y_log))
        };
        layout = layout.update_menus(vec![
            UpdateMenu::new()
                .ty(UpdateMenuType::Buttons)
                .direction(UpdateMenuDirection::Left)
                .active(if axes.log_y { 1 } else { 0 })
                .x(0.0)
                .y(1.12)
                .x_anchor(plotly::common::Anchor::Left)
                .buttons(vec![button("linear", false), button("log", true)]),
        ]);
    }
    layout
}

fn new_plot(layout: Layout, file_stem: &str) -> Plot {
    let mut plot = Plot::new();
    plot.set_layout(layout);
    // The camera button saves SVG: a vector copy of what is on screen.
    plot.set_configuration(
        Configuration::new()
            .display_logo(false)
            .responsive(true)
            .typeset_math(false)
            .to_image_button_options(
                ToImageButtonOptions::new()
                    .format(ImageButtonFormats::Svg)
                    .filename(file_stem),
            ),
    );
    plot
}

/// A figure of curves.
pub fn lines(axes: &Axes, series: Vec<Series>, file_stem: &str) -> Plot {
    let x_log = log_range(series.iter().flat_map(|s| s.x.iter().copied()));
    let mut plot = new_plot(
        base_layout(axes, series_log_range(&series), x_log),
        file_stem,
    );
    for s in series {
        let (x, y) = thin(&s.x, &s.y, MAX_POINTS);
        // Single precision (7 digits) is far finer than a screen and halves the page.
        let (x, y): (Vec<f32>, Vec<f32>) = (
            x.iter().map(|&v| v as f32).collect(),
            y.iter().map(|&v| v as f32).collect(),
        );
        let mut line = Line::new().color(s.colour.clone()).width(s.width);
        if s.dash != Dash::Solid {
            line = line.dash(s.dash.plotly());
        }
        if s.steps {
            line = line.shape(LineShape::Hv);
        }
        let mut trace = Scatter::new(x, y)
            .name(&s.name)
            .mode(Mode::Lines)
            .opacity(s.opacity)
            .show_legend(s.legend);
        if s.band_to_previous {
            line = line.width(0.0);
            trace = trace
                .fill(Fill::ToNextY)
                .fill_color(format!("{}33", s.colour))
                .hover_info(plotly::common::HoverInfo::Skip);
        }
        trace = trace.line(line);
        if let Some(g) = &s.group {
            trace = trace.legend_group(g);
        }
        plot.add_trace(trace);
    }
    plot
}

/// One group of bars (one colour), optionally with asymmetric error bars.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Legend entry.
    pub name: String,
    /// Category of each bar.
    pub x: Vec<String>,
    /// Height of each bar.
    pub y: Vec<f64>,
    /// Distance from the top of the bar down to the lower bound, and up to
    /// the upper bound.
    pub error: Option<(Vec<f64>, Vec<f64>)>,
    /// Colour (CSS).
    pub colour: String,
}

/// The log axis of a set of bar groups.
pub fn bars_log_range(groups: &[Bars]) -> Option<LogRange> {
    log_range(groups.iter().flat_map(|g| g.y.iter().copied()))
}

/// A figure of grouped bars, with optional extra marker series (e.g. a
/// closed-form value per category) drawn as points.
pub fn bars(axes: &Axes, groups: Vec<Bars>, points: Vec<Bars>, file_stem: &str) -> Plot {
    let y_log = bars_log_range(&groups);
    let layout = base_layout(axes, y_log, None)
        .bar_mode(BarMode::Group)
        .x_axis(
            Axis::new()
                .title(Title::with_text(&axes.x))
                .auto_margin(true),
        );
    let mut plot = new_plot(layout, file_stem);
    for g in groups {
        let mut bar = Bar::new(g.x, g.y)
            .name(&g.name)
            .marker(Marker::new().color(g.colour.clone()));
        if let Some((minus, plus)) = g.error {
            bar = bar.error_y(
                ErrorData::new(ErrorType::Data)
                    .array(plus)
                    .array_minus(minus)
                    .symmetric(false)
                    .color("#333333"),
            );
        }
        plot.add_trace(bar);
    }
    for p in points {
        plot.add_trace(
            Scatter::new(p.x, p.y)
                .name(&p.name)
                .mode(Mode::Markers)
                .marker(
                    Marker::new()
                        .color(p.colour.clone())
                        .size(9)
                        .symbol(plotly::common::MarkerSymbol::DiamondOpen),
                ),
        );
    }
    plot
}

/// Points, one colour per series, drawn as markers only: campaign runs
/// against a parameter. Not thinned: the caller draws at most what a page
/// can carry (a sample of the runs) and says so.
pub fn scatter(axes: &Axes, series: Vec<Series>, file_stem: &str) -> Plot {
    let x_log = log_range(series.iter().flat_map(|s| s.x.iter().copied()));
    let layout = base_layout(axes, series_log_range(&series), x_log);
    let mut plot = new_plot(layout, file_stem);
    for s in series {
        let (x, y): (Vec<f32>, Vec<f32>) =
            s.x.iter()
                .zip(&s.y)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(&x, &y)| (x as f32, y as f32))
                .unzip();
        plot.add_trace(
            Scatter::new(x, y)
                .name(&s.name)
                .mode(Mode::Markers)
                .opacity(s.opacity)
                .show_legend(s.legend)
                .marker(Marker::new().color(s.colour.clone()).size(5)),
        );
    }
    plot
}

/// Horizontal bars, one colour per group, categories listed bottom to top
/// (plotly's order on a category axis), error bars along x: a tornado
/// chart of sensitivity indices. Within a category the first group is on
/// top, as it is first in the legend (plotly stacks a band's traces
/// upwards, so they are added in reverse and the legend reversed back).
/// Values stay in double precision, so the page shows exactly the file's
/// numbers.
pub fn hbars(axes: &Axes, groups: Vec<Bars>, file_stem: &str) -> Plot {
    let layout = base_layout(axes, None, None)
        .bar_mode(BarMode::Group)
        .legend(Legend::new().trace_order(plotly::layout::TraceOrder::Reversed))
        // The category names say what they are; a title would sit on them.
        .y_axis(Axis::new().type_(AxisType::Category).auto_margin(true));
    let mut plot = new_plot(layout, file_stem);
    for g in groups.into_iter().rev() {
        let mut bar = Bar::new(g.y, g.x)
            .name(&g.name)
            .orientation(plotly::common::Orientation::Horizontal)
            .marker(Marker::new().color(g.colour.clone()));
        if let Some((minus, plus)) = g.error {
            bar = bar.error_x(
                ErrorData::new(ErrorType::Data)
                    .array(plus)
                    .array_minus(minus)
                    .symmetric(false)
                    .color("#333333"),
            );
        }
        plot.add_trace(bar);
    }
    plot
}

/// Bars on a numeric x axis, one trace (colour, legend entry) per series,
/// with reference lines drawn over them: a waterfall of subjects, each
/// arm's bars side by side, with the response thresholds across. Values
/// stay in double precision, so the page shows the table's numbers.
pub fn columns(axes: &Axes, bars: Vec<Series>, lines: Vec<Series>, file_stem: &str) -> Plot {
    let layout = base_layout(axes, None, None).bar_gap(0.1);
    let mut plot = new_plot(layout, file_stem);
    for s in bars {
        plot.add_trace(
            Bar::new(s.x, s.y)
                .name(&s.name)
                .show_legend(s.legend)
                .marker(Marker::new().color(s.colour.clone())),
        );
    }
    for s in lines {
        let mut line = Line::new().color(s.colour.clone()).width(s.width);
        if s.dash != Dash::Solid {
            line = line.dash(s.dash.plotly());
        }
        plot.add_trace(
            Scatter::new(s.x, s.y)
                .name(&s.name)
                .mode(Mode::Lines)
                .show_legend(s.legend)
                .line(line),
        );
    }
    plot
}

/// Counts as bar heights.
pub fn heights(counts: &[u64]) -> Vec<f64> {
    counts.iter().map(|&c| c as f64).collect()
}

/// A histogram: the counts (or weights) of equal bins between `edges`,
/// drawn as touching bars at the bins' centres.
pub fn histogram(
    axes: &Axes,
    edges: &[f64],
    counts: &[f64],
    colour: &str,
    file_stem: &str,
) -> Plot {
    let layout = base_layout(axes, None, None).bar_gap(0.0);
    let mut plot = new_plot(layout, file_stem);
    let width = edges.get(1).zip(edges.first()).map_or(1.0, |(b, a)| b - a);
    let centres: Vec<f64> = edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    plot.add_trace(
        Bar::new(centres, counts.to_vec())
            .name("runs")
            .width(width)
            .marker(Marker::new().color(colour.to_string()))
            .show_legend(false),
    );
    plot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_ends_and_extremes() {
        let x: Vec<f64> = (0..10_000).map(f64::from).collect();
        let mut y: Vec<f64> = x.iter().map(|t| (t / 500.0).sin()).collect();
        y[4321] = 50.0; // a spike must survive
        let (tx, ty) = thin(&x, &y, 500);
        assert!(tx.len() <= 500, "{}", tx.len());
        assert_eq!((tx[0], *tx.last().unwrap()), (0.0, 9999.0));
        assert!(ty.contains(&50.0));
        assert!(tx.windows(2).all(|w| w[0] < w[1]), "abscissae stay ordered");
    }

    #[test]
    fn log_ticks_read_as_plain_numbers_or_powers_of_ten() {
        let labels =
            |lo, hi| -> Vec<String> { log_ticks(lo, hi).into_iter().map(|t| t.1).collect() };
        assert_eq!(labels(-0.2, 3.1), ["1", "10", "100", "1000"]);
        assert_eq!(labels(8.2, 11.9), ["10⁹", "10¹⁰", "10¹¹"]);
        assert_eq!(labels(-2.5, -1.2), ["0.005", "0.01", "0.02", "0.05"]);
        // Under two decades: 1–2–5 steps, never bare mantissas.
        assert_eq!(labels(0.1, 0.9), ["2", "5"]);
        assert_eq!(labels(9.1, 9.9), ["2·10⁹", "5·10⁹"]);
        assert_eq!(labels(-5.9, -5.1), ["2·10⁻⁶", "5·10⁻⁶"]);
        // Twenty decades: every third one, at most eight labels.
        let wide = labels(-4.0, 16.0);
        assert_eq!(wide, ["10⁻⁴", "0.1", "100", "10⁵", "10⁸", "10¹¹", "10¹⁴"]);
        for (v, l) in log_ticks(-4.0, 16.0) {
            assert!((v.log10() - v.log10().round()).abs() < 1e-12, "{v} {l}");
        }
    }

    #[test]
    fn log_range_leaves_residues_below_a_billionth_of_the_top() {
        let r = log_range([1e10, 3e4, 20.0, 3.6e-13, -3.6e-13, 0.0]).unwrap();
        assert_eq!((r.lo, r.hi), (20f64.log10(), 10.0));
        let floor = r.clamped.unwrap();
        assert!((floor - 10.0).abs() < 1e-9, "{floor}");
        // Nothing below the floor: everything shown, nothing said.
        let r = log_range([1e10, 1e3, 0.0]).unwrap();
        assert_eq!((r.lo, r.clamped), (3.0, None));
        assert!(log_range([0.0, -1.0, f64::NAN]).is_none());
        assert!(log_note(log_range([1e10, 1e-16])).contains("left out"));
        assert!(log_note(log_range([1e10, 1e2])).is_empty());
    }

    #[test]
    fn styles_are_distinct_for_forty_curves() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..DISTINCT_STYLES {
            let s = style(i);
            assert_ne!(s.1, Dash::Dash, "dashed lines stay for cumulative amounts");
            assert!(seen.insert(s), "style {i} repeats {s:?}");
        }
        assert_eq!(DISTINCT_STYLES, 40);
        // The pairs the report once drew alike: blood and the peritoneal
        // depot (places 0 and 10), spleen and cleared (2 and 12).
        assert_ne!(style(0), style(10));
        assert_ne!(style(2), style(12));
    }

    #[test]
    fn short_curves_are_untouched() {
        let (x, y) = thin(&[1.0, 2.0], &[3.0, 4.0], 500);
        assert_eq!((x, y), (vec![1.0, 2.0], vec![3.0, 4.0]));
    }
}
