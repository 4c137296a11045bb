//! Static figures for papers and slides, as SVG and PNG, drawn with
//! plotters: the curves a reader looks for first, without the interaction.
//!
//! Log axes are drawn by plotting log10 of the values and labelling ticks
//! as powers of ten, so that one drawing routine serves every figure.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::ReportError;
use crate::snapshot::encode_png;

/// Size of every static figure in pixels (SVG user units for SVG).
const SIZE: (u32, u32) = (960, 600);

/// One curve of a static figure.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend entry.
    pub name: String,
    /// CSS colour `#rrggbb`.
    pub colour: String,
    /// Points (non-finite and, on log axes, non-positive ones are skipped).
    pub points: Vec<(f64, f64)>,
    /// Dashed (references).
    pub dashed: bool,
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

impl LineFigure {
    fn transformed(&self) -> Vec<Vec<(f64, f64)>> {
        let tx = |v: f64| if self.log_x { v.log10() } else { v };
        let ty = |v: f64| if self.log_y { v.log10() } else { v };
        self.curves
            .iter()
            .map(|c| {
                c.points
                    .iter()
                    .filter(|(x, y)| (!self.log_x || *x > 0.0) && (!self.log_y || *y > 0.0))
                    .map(|&(x, y)| (tx(x), ty(y)))
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect()
            })
            .collect()
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let data = self.transformed();
        let all = data.iter().flatten();
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            return Err("no finite points to draw".into());
        }
        if self.log_y {
            // Six decades below the top are plenty; lower values would flatten the rest.
            y0 = y0.max(y1 - 6.0);
        }
        let pad = |a: f64, b: f64| if b > a { (b - a) * 0.03 } else { 0.5 };
        let (px, py) = (pad(x0, x1), pad(y0, y1));
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
            .map_err(|e| e.to_string())?;
        // A decade reads as 1e9; a tick between decades as its value (3.16e9).
        let power = |v: &f64| {
            if (v - v.round()).abs() < 1e-9 {
                format!("1e{}", v.round())
            } else {
                crate::format::num(10f64.powf(*v))
            }
        };
        let plain = |v: &f64| crate::format::num(*v);
        let (lx, ly) = (self.log_x, self.log_y);
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| if lx { power(v) } else { plain(v) })
            .y_label_formatter(&|v| if ly { power(v) } else { plain(v) })
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (c, points) in self.curves.iter().zip(data) {
            let colour = rgb(&c.colour);
            let style = colour.stroke_width(if c.dashed { 1 } else { 2 });
            let series = if c.dashed {
                chart.draw_series(DashedLineSeries::new(points, 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(points, style))
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

/// A static figure of either kind.
#[derive(Debug, Clone)]
pub enum Figure {
    /// Curves.
    Lines(LineFigure),
    /// Grouped bars.
    Bars(BarFigure),
}

impl Figure {
    /// File name without extension.
    pub fn stem(&self) -> &str {
        match self {
            Figure::Lines(f) => &f.stem,
            Figure::Bars(f) => &f.stem,
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        match self {
            Figure::Lines(f) => f.draw(area),
            Figure::Bars(f) => f.draw(area),
        }
    }

    /// Draws the figure as SVG text and PNG bytes, in memory.
    pub fn render(&self) -> Result<(String, Vec<u8>), ReportError> {
        let fail = |ext: &str, message: String| ReportError::Figure {
            path: format!("{}/{}.{ext}", crate::FIGURES_DIR, self.stem()).into(),
            message,
        };
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.draw(&area).map_err(|m| fail("svg", m))?;
        }
        let mut buf = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let area = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
            self.draw(&area).map_err(|m| {
                fail(
                    "png",
                    format!("{m} (PNG labels need a system sans-serif font)"),
                )
            })?;
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
