//! The sample an instrument reads: components with a log-normal diameter
//! distribution, and the grid on which the models integrate over it.
//!
//! A component's diameter is log-normal with median `median` and σ of
//! ln d `sigma`; a vesicle class gives its coefficient of variation of the
//! diameter `cv`, and σ = √ln(1 + cv²) (the same law as the tissue's
//! `diameter_cv`). σ = 0 is a monodisperse component.

use statrs::distribution::{ContinuousCDF, Normal};

/// Grid points per component: fine enough that a histogram of 1 nm bins
/// of a 100 nm median with cv 0.05 has several points per bin.
const GRID_POINTS: usize = 2401;
/// The grid spans ±`GRID_SPAN` standard deviations of ln d.
const GRID_SPAN: f64 = 7.0;

/// σ of ln d of a log-normal whose diameter has coefficient of variation `cv`.
pub fn sigma_of_cv(cv: f64) -> f64 {
    (1.0 + cv * cv).ln().sqrt()
}

/// One kind of particle in a sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Component {
    /// Name: the vesicle class, or `lipoproteins`.
    pub name: String,
    /// Particles per m³ of the sample as drawn (before any dilution).
    pub concentration: f64,
    /// Median diameter, m.
    pub median: f64,
    /// σ of ln d (0: monodisperse).
    pub sigma: f64,
    /// Whether the particles are vesicles; lipoproteins and other
    /// non-vesicle particles are not.
    pub vesicle: bool,
    /// Whether they carry the marker a marker-specific assay (bulk
    /// immunoassay, digital) captures: every vesicle class of a body or
    /// tissue sample; of a biopsy draw, the tumour's vesicles and the
    /// marker's healthy background, not the rest of the plasma's vesicles.
    pub marker: bool,
}

impl Component {
    /// Share of the component's particles with diameter below `d`.
    pub fn cdf(&self, d: f64) -> f64 {
        if d <= 0.0 {
            return 0.0;
        }
        if self.sigma == 0.0 {
            return if d >= self.median { 1.0 } else { 0.0 };
        }
        let z = (d / self.median).ln() / self.sigma;
        Normal::standard().cdf(z)
    }
}

/// What an instrument is given: particles per m³ of each component.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Components, in order.
    pub components: Vec<Component>,
}

impl Sample {
    /// Particles per m³, all components.
    pub fn total(&self) -> f64 {
        self.components.iter().map(|c| c.concentration).sum()
    }

    /// Particles per m³ in equal bins of `width` from 0 up to `top`, exact
    /// from each log-normal's distribution function.
    pub fn histogram(&self, width: f64, top: f64) -> Histogram {
        let bins = (top / width).ceil().max(1.0) as usize;
        let mut per_m3 = vec![0.0; bins];
        for c in &self.components {
            for (i, v) in per_m3.iter_mut().enumerate() {
                let (lo, hi) = (i as f64 * width, (i + 1) as f64 * width);
                *v += c.concentration * (c.cdf(hi) - c.cdf(lo));
            }
        }
        Histogram {
            bin_width: width,
            per_m3,
        }
    }
}

/// A component's diameter distribution on a grid of ln d: points and the
/// probability each stands for (summing to 1). A monodisperse component is
/// one point.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeGrid {
    /// Diameters of the points, m.
    pub diameters: Vec<f64>,
    /// Probability of each point.
    pub weights: Vec<f64>,
    /// Width of a cell in ln d (0 for one point): a draw is spread
    /// uniformly over its cell so that sizes are continuous.
    pub step: f64,
}

impl SizeGrid {
    /// The grid of `c`: cells of equal width in ln d over ±7 σ, each
    /// weighted by the normal probability of its cell.
    pub fn of(c: &Component) -> SizeGrid {
        if c.sigma == 0.0 {
            return SizeGrid {
                diameters: vec![c.median],
                weights: vec![1.0],
                step: 0.0,
            };
        }
        let normal = Normal::standard();
        let step = 2.0 * GRID_SPAN / GRID_POINTS as f64;
        let mut diameters = Vec::with_capacity(GRID_POINTS);
        let mut weights = Vec::with_capacity(GRID_POINTS);
        for k in 0..GRID_POINTS {
            let lo = -GRID_SPAN + k as f64 * step;
            diameters.push(c.median * ((lo + 0.5 * step) * c.sigma).exp());
            weights.push(normal.cdf(lo + step) - normal.cdf(lo));
        }
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        SizeGrid {
            diameters,
            weights,
            step: step * c.sigma,
        }
    }

    /// E[f(d)] over the distribution.
    pub fn mean_of(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.diameters
            .iter()
            .zip(&self.weights)
            .map(|(&d, &w)| w * f(d))
            .sum()
    }

    /// A sampler of diameters with density ∝ pdf(d)·`weight(d)` (e.g. the
    /// sizes of the particles an instrument detects).
    pub fn weighted(&self, weight: impl Fn(f64) -> f64) -> Weighted {
        let mut cumulative = Vec::with_capacity(self.weights.len());
        let mut sum = 0.0;
        for (&d, &w) in self.diameters.iter().zip(&self.weights) {
            sum += w * weight(d);
            cumulative.push(sum);
        }
        Weighted {
            diameters: self.diameters.clone(),
            cumulative,
            step: self.step,
        }
    }
}

/// Draws diameters from a grid reweighted by [`SizeGrid::weighted`].
#[derive(Debug, Clone)]
pub struct Weighted {
    diameters: Vec<f64>,
    cumulative: Vec<f64>,
    step: f64,
}

impl Weighted {
    /// Total weight: E[weight(d)] over the distribution.
    pub fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// Σ weight·f(d) over the grid's points (the sampler's weights, not
    /// normalised).
    pub fn sum_of(&self, f: impl Fn(f64) -> f64) -> f64 {
        let mut previous = 0.0;
        let mut sum = 0.0;
        for (&d, &c) in self.diameters.iter().zip(&self.cumulative) {
            sum += (c - previous) * f(d);
            previous = c;
        }
        sum
    }

    /// A diameter from two uniforms on [0, 1): one picks the cell, the
    /// other places the draw in it.
    pub fn draw(&self, u: f64, v: f64) -> f64 {
        let target = u * self.total();
        let i = self
            .cumulative
            .partition_point(|&c| c <= target)
            .min(self.diameters.len() - 1);
        self.diameters[i] * ((v - 0.5) * self.step).exp()
    }
}

/// Quantiles of reported sizes: D10, D50, D90 (m), and the mode (m, the
/// centre of the fullest histogram bin), as NTA software reports them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SizeStatistics {
    /// Diameter below which 10 % of the reported sizes lie, m.
    pub d10: f64,
    /// Median reported diameter, m.
    pub d50: f64,
    /// Diameter below which 90 % of the reported sizes lie, m.
    pub d90: f64,
    /// Centre of the fullest bin of the reported histogram, m.
    pub mode: f64,
}

/// A histogram of diameters: equal bins from 0, their upper edges and the
/// particles per m³ of the undiluted sample in each.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// Width of every bin, m.
    pub bin_width: f64,
    /// Particles per m³ in each bin (bin `i` covers `[i·w, (i+1)·w)`).
    pub per_m3: Vec<f64>,
}

impl Histogram {
    /// Centre of bin `i`, m.
    pub fn centre(&self, i: usize) -> f64 {
        (i as f64 + 0.5) * self.bin_width
    }

    /// The bin that holds diameter `d`, or `None` beyond the last.
    pub fn bin_of(&self, d: f64) -> Option<usize> {
        let i = (d / self.bin_width).floor();
        (i >= 0.0 && (i as usize) < self.per_m3.len()).then_some(i as usize)
    }
}

/// D10, D50, D90 and mode of sizes (m) with weights, sorted by size (the
/// quantiles are the smallest sizes whose cumulative weight reaches 10, 50,
/// 90 %), the mode from `histogram`; `None` without any size.
pub fn size_statistics(sorted: &[(f64, f64)], histogram: &Histogram) -> Option<SizeStatistics> {
    let total: f64 = sorted.iter().map(|s| s.1).sum();
    if sorted.is_empty() || total <= 0.0 {
        return None;
    }
    let q = |p: f64| {
        let mut sum = 0.0;
        for &(d, w) in sorted {
            sum += w;
            if sum >= p * total {
                return d;
            }
        }
        sorted[sorted.len() - 1].0
    };
    let fullest = histogram
        .per_m3
        .iter()
        .enumerate()
        .fold(
            (0, f64::MIN),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        );
    Some(SizeStatistics {
        d10: q(0.1),
        d50: q(0.5),
        d90: q(0.9),
        mode: histogram.centre(fullest.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lognormal(median: f64, cv: f64) -> Component {
        Component {
            name: "x".into(),
            concentration: 1.0,
            median,
            sigma: sigma_of_cv(cv),
            vesicle: true,
            marker: true,
        }
    }

    /// The grid's moments are those of the log-normal: E[d] = m·exp(σ²/2),
    /// E[d⁶] = m⁶·exp(18σ²), to the midpoint rule's relative error
    /// (kσh)²/24 ≈ 10⁻⁵ for k = 6, σ = 0.39, h = 14/2401.
    #[test]
    fn grid_moments_match_the_log_normal() {
        let c = lognormal(100e-9, 0.4);
        let g = SizeGrid::of(&c);
        let s2 = c.sigma * c.sigma;
        let mean = g.mean_of(|d| d);
        assert!(
            (mean / (100e-9 * (s2 / 2.0).exp()) - 1.0).abs() < 1e-6,
            "{mean}"
        );
        let sixth = g.mean_of(|d| (d / 100e-9).powi(6));
        assert!((sixth / (18.0 * s2).exp() - 1.0).abs() < 2e-5, "{sixth}");
    }

    /// The exact histogram of a sample holds all its particles.
    #[test]
    fn histogram_holds_every_particle() {
        let s = Sample {
            components: vec![lognormal(100e-9, 0.3)],
        };
        let h = s.histogram(1e-9, 2e-6);
        let total: f64 = h.per_m3.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }
}
