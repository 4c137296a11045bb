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

/// A colour cycle that stays distinguishable for the first ten series.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Colour number `i` of the cycle.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
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
    /// Dashed line (references, bounds).
    pub dashed: bool,
    /// Steps rather than straight segments (ROC curves).
    pub steps: bool,
    /// Fill down to the previous curve (with a transparent line: a band).
    pub band_to_previous: bool,
}

impl Series {
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
            dashed: false,
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

fn base_layout(axes: &Axes) -> Layout {
    let kind = |log: bool| if log { AxisType::Log } else { AxisType::Linear };
    let mut y_axis = Axis::new()
        .title(Title::with_text(&axes.y))
        .type_(kind(axes.log_y))
        .exponent_format(plotly::common::ExponentFormat::Power)
        .auto_margin(true);
    if let Some((lo, hi)) = axes.y_range {
        y_axis = y_axis.range(vec![lo, hi]);
    }
    let mut layout = Layout::new()
        .x_axis(
            Axis::new()
                .title(Title::with_text(&axes.x))
                .type_(kind(axes.log_x))
                .auto_margin(true),
        )
        .y_axis(y_axis)
        .hover_mode(HoverMode::Closest)
        .margin(Margin::new().top(40).bottom(50).left(70).right(20))
        .legend(Legend::new());
    if axes.y_toggle {
        let button = |label: &str, kind: &str| {
            Button::new()
                .label(label)
                .method(ButtonMethod::Relayout)
                .args(json!([{ "yaxis.type": kind }]))
        };
        layout = layout.update_menus(vec![
            UpdateMenu::new()
                .ty(UpdateMenuType::Buttons)
                .direction(UpdateMenuDirection::Left)
                .active(if axes.log_y { 1 } else { 0 })
                .x(0.0)
                .y(1.12)
                .x_anchor(plotly::common::Anchor::Left)
                .buttons(vec![button("linear", "linear"), button("log", "log")]),
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
    let mut plot = new_plot(base_layout(axes), file_stem);
    for s in series {
        let (x, y) = thin(&s.x, &s.y, MAX_POINTS);
        // Single precision (7 digits) is far finer than a screen and halves the page.
        let (x, y): (Vec<f32>, Vec<f32>) = (
            x.iter().map(|&v| v as f32).collect(),
            y.iter().map(|&v| v as f32).collect(),
        );
        let mut line = Line::new().color(s.colour.clone()).width(s.width);
        if s.dashed {
            line = line.dash(plotly::common::DashType::Dash);
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

/// A figure of grouped bars, with optional extra marker series (e.g. a
/// closed-form value per category) drawn as points.
pub fn bars(axes: &Axes, groups: Vec<Bars>, points: Vec<Bars>, file_stem: &str) -> Plot {
    let layout = base_layout(axes).bar_mode(BarMode::Group).x_axis(
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
    fn short_curves_are_untouched() {
        let (x, y) = thin(&[1.0, 2.0], &[3.0, 4.0], 500);
        assert_eq!((x, y), (vec![1.0, 2.0], vec![3.0, 4.0]));
    }
}
