//! A tissue snapshot as an image: the x–y projection of cells (discs at
//! their true radius, coloured by type) and vesicle particles (dots,
//! coloured by class), drawn into a bitmap and encoded as PNG. No text is
//! drawn into the image (legend and scale go in the HTML), so no font is needed.

use std::path::Path;

use plotters::prelude::*;

use crate::chart::PALETTE;
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::table::LongTable;

/// Largest side of a snapshot image in pixels.
const SIDE: u32 = 560;

/// A cell: type, position, radius (m).
#[derive(Debug, Clone)]
pub struct Cell {
    /// Cell type.
    pub kind: String,
    /// x, y (m).
    pub xy: (f64, f64),
    /// Radius (m).
    pub radius: f64,
}

/// A vesicle particle: class and position (m).
#[derive(Debug, Clone)]
pub struct Vesicle {
    /// Vesicle class.
    pub class: String,
    /// x, y (m).
    pub xy: (f64, f64),
}

/// One frame on disk.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Frame number (`NNNN` of the file name).
    pub number: u64,
    /// Time of the frame (s).
    pub time_s: f64,
    /// Cells.
    pub cells: Vec<Cell>,
    /// Vesicle particles.
    pub vesicles: Vec<Vesicle>,
}

impl Frame {
    /// Lower-left and upper-right corners (m) of everything drawn.
    pub fn extent(&self) -> ((f64, f64), (f64, f64)) {
        let mut lo = (f64::INFINITY, f64::INFINITY);
        let mut hi = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut grow = |x: f64, y: f64, r: f64| {
            lo = (lo.0.min(x - r), lo.1.min(y - r));
            hi = (hi.0.max(x + r), hi.1.max(y + r));
        };
        for c in &self.cells {
            grow(c.xy.0, c.xy.1, c.radius);
        }
        for v in &self.vesicles {
            grow(v.xy.0, v.xy.1, 0.0);
        }
        if !lo.0.is_finite() {
            return ((0.0, 0.0), (1e-6, 1e-6));
        }
        // A frame with a single point still needs an area.
        let pad = ((hi.0 - lo.0).max(hi.1 - lo.1) * 0.02).max(1e-9);
        ((lo.0 - pad, lo.1 - pad), (hi.0 + pad, hi.1 + pad))
    }
}

/// Reads a cells file and, when present, its vesicles file.
pub fn read_frame(
    cells: &Path,
    vesicles: Option<&Path>,
    number: u64,
) -> Result<Frame, ReportError> {
    // A frame may rightly hold no cells (all died) or no vesicles (none
    // released yet); the headers must still be complete.
    let t = LongTable::read_maybe_empty(cells)?;
    let [time, kind, x, y, r] = ["time_s", "type", "x_m", "y_m", "radius_m"].map(|c| t.require(c));
    let (time, kind, x, y, r) = (time?, kind?, x?, y?, r?);
    let mut frame = Frame {
        number,
        time_s: if t.is_empty() {
            f64::NAN
        } else {
            t.number(0, time)?
        },
        cells: Vec::with_capacity(t.len()),
        vesicles: Vec::new(),
    };
    // Located checks: positions finite, radii positive, times not negative.
    let value = |tab: &LongTable, i: usize, c: usize, rule: Rule| -> Result<f64, ReportError> {
        let v = tab.number(i, c)?;
        match rule.broken(v) {
            Some(why) => Err(check::invalid(
                &tab.path,
                Some(tab.line(i)),
                &tab.headers[c],
                why,
            )),
            None => Ok(v),
        }
    };
    for i in 0..t.len() {
        value(&t, i, time, Rule::AtLeast(0.0))?;
        let radius = value(&t, i, r, Rule::Finite)?;
        if radius <= 0.0 {
            return Err(check::invalid(
                cells,
                Some(t.line(i)),
                "radius_m",
                format!("{radius}: a cell's radius is positive"),
            ));
        }
        frame.cells.push(Cell {
            kind: t.text(i, kind).to_string(),
            xy: (
                value(&t, i, x, Rule::Finite)?,
                value(&t, i, y, Rule::Finite)?,
            ),
            radius,
        });
    }
    if let Some(path) = vesicles {
        let v = LongTable::read_maybe_empty(path)?;
        let [class, x, y] = ["class", "x_m", "y_m"].map(|c| v.require(c));
        let (class, x, y) = (class?, x?, y?);
        if frame.time_s.is_nan() && !v.is_empty() {
            frame.time_s = v.number(0, v.require("time_s")?)?;
        }
        for i in 0..v.len() {
            frame.vesicles.push(Vesicle {
                class: v.text(i, class).to_string(),
                xy: (
                    value(&v, i, x, Rule::Finite)?,
                    value(&v, i, y, Rule::Finite)?,
                ),
            });
        }
    }
    Ok(frame)
}

/// Colours by cell type and vesicle class, shared by every frame of a
/// report so that a type keeps its colour from picture to picture.
#[derive(Debug, Clone)]
pub struct Palette {
    types: Vec<String>,
    classes: Vec<String>,
}

/// Vesicle colours: dark, to stand out on the pale cell discs.
const DOTS: [&str; 6] = [
    "#000000", "#b2182b", "#2166ac", "#1b7837", "#762a83", "#e08214",
];

fn rgb(css: &str) -> RGBColor {
    let h = |i: usize| u8::from_str_radix(&css[i..i + 2], 16).unwrap_or(0);
    RGBColor(h(1), h(3), h(5))
}

impl Palette {
    /// Every type and class seen in `frames`, in sorted order.
    pub fn new<'a>(frames: impl Iterator<Item = &'a Frame>) -> Self {
        let mut types = Vec::new();
        let mut classes = Vec::new();
        for f in frames {
            types.extend(f.cells.iter().map(|c| c.kind.clone()));
            classes.extend(f.vesicles.iter().map(|v| v.class.clone()));
        }
        types.sort();
        types.dedup();
        classes.sort();
        classes.dedup();
        Palette { types, classes }
    }

    fn cell_css(&self, kind: &str) -> &'static str {
        PALETTE[self.types.iter().position(|t| t == kind).unwrap_or(0) % PALETTE.len()]
    }

    fn dot_css(&self, class: &str) -> &'static str {
        DOTS[self.classes.iter().position(|t| t == class).unwrap_or(0) % DOTS.len()]
    }

    /// (type, CSS colour) of the cell types present in `frame`.
    pub fn cells_in(&self, frame: &Frame) -> Vec<(String, &'static str)> {
        self.types
            .iter()
            .filter(|t| frame.cells.iter().any(|c| &c.kind == *t))
            .map(|t| (t.clone(), self.cell_css(t)))
            .collect()
    }

    /// (class, CSS colour) of the vesicle classes present in `frame`.
    pub fn vesicles_in(&self, frame: &Frame) -> Vec<(String, &'static str)> {
        self.classes
            .iter()
            .filter(|t| frame.vesicles.iter().any(|v| &v.class == *t))
            .map(|t| (t.clone(), self.dot_css(t)))
            .collect()
    }
}

/// Draws `frame` and returns PNG bytes.
pub fn render_png(frame: &Frame, palette: &Palette) -> Result<Vec<u8>, ReportError> {
    let ((x0, y0), (x1, y1)) = frame.extent();
    let (w_m, h_m) = (x1 - x0, y1 - y0);
    let scale = f64::from(SIDE) / w_m.max(h_m);
    let w = ((w_m * scale).round() as u32).clamp(16, SIDE);
    let h = ((h_m * scale).round() as u32).clamp(16, SIDE);
    let to_px = |(x, y): (f64, f64)| {
        (
            ((x - x0) * scale).round() as i32,
            // Image rows grow downwards; y grows upwards.
            (f64::from(h) - (y - y0) * scale).round() as i32,
        )
    };
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let fail = |e: String| ReportError::Figure {
        path: format!("snapshot frame {}", frame.number).into(),
        message: e,
    };
    {
        let area = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        for c in &frame.cells {
            let colour = rgb(palette.cell_css(&c.kind));
            let r = ((c.radius * scale).round() as i32).max(1);
            let centre = to_px(c.xy);
            area.draw(&Circle::new(centre, r, colour.mix(0.55).filled()))
                .and_then(|_| area.draw(&Circle::new(centre, r, colour.stroke_width(1))))
                .map_err(|e| fail(e.to_string()))?;
        }
        for v in &frame.vesicles {
            let colour = rgb(palette.dot_css(&v.class));
            area.draw(&Circle::new(to_px(v.xy), 1, colour.filled()))
                .map_err(|e| fail(e.to_string()))?;
        }
        area.present().map_err(|e| fail(e.to_string()))?;
    }
    encode_png(&buf, w, h).map_err(fail)
}

/// RGB bytes to PNG.
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
