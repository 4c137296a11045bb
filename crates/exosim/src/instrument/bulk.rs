//! Bulk and digital readouts of vesicle markers.
//!
//! [`Immunoassay`]: an ELISA-like bulk assay captures vesicles by a surface
//! marker, so the signal of a vesicle grows with its membrane area; the
//! reading is written in vesicle equivalents of a reference diameter:
//! `Σ c·E[(d/d_ref)²]` over the components that carry the marker
//! (lipoproteins carry no vesicle marker), times a log-normal error of
//! mean 1 and the stated CV; below the limit of detection nothing is
//! reported.
//!
//! [`DigitalAssay`]: a single-vesicle (digital) assay spreads a sample
//! volume `V_s` over `n` partitions and reads each as positive or negative.
//! Vesicles carrying the marker are captured with efficiency `e` and fall
//! into partitions at random, so a partition holds Poisson(λ) with `λ = c·V_s·e/n`; the
//! positives are Binomial(n, 1 − e^(−λ)), and the concentration is
//! estimated back by Poisson correction, `ĉ = −n·ln(1 − k/n)/(V_s·e)`. Every
//! partition positive saturates the assay.

use rand_distr::{Distribution, LogNormal};

use super::{Sample, SizeGrid};

/// An ELISA-like bulk immunoassay.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Immunoassay {
    /// Diameter of one vesicle equivalent, m.
    pub reference_diameter: f64,
    /// Coefficient of variation of the reading.
    pub cv: f64,
    /// Limit of detection, vesicle equivalents per m³ of the sample.
    pub lod: f64,
}

/// What the bulk assay reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImmunoassayReading {
    /// Expected reading, vesicle equivalents per m³.
    pub expected: f64,
    /// The reading, vesicle equivalents per m³ (`None` below the LOD).
    pub reported: Option<f64>,
    /// Marker-bearing vesicles per m³ of the sample, every size.
    pub true_vesicles: f64,
}

impl Immunoassay {
    /// Measures `sample`, drawing from `rng`.
    pub fn measure<R: rand::Rng + ?Sized>(
        &self,
        sample: &Sample,
        rng: &mut R,
    ) -> ImmunoassayReading {
        let vesicles = sample.components.iter().filter(|c| c.marker);
        let expected: f64 = vesicles
            .clone()
            .map(|c| {
                c.concentration * SizeGrid::of(c).mean_of(|d| (d / self.reference_diameter).powi(2))
            })
            .sum();
        let sigma = super::sigma_of_cv(self.cv);
        let noise = LogNormal::new(-sigma * sigma / 2.0, sigma).map_or(1.0, |l| l.sample(rng));
        let value = expected * noise;
        ImmunoassayReading {
            expected,
            reported: (value >= self.lod).then_some(value),
            true_vesicles: vesicles.map(|c| c.concentration).sum(),
        }
    }
}

/// A digital single-vesicle assay.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DigitalAssay {
    /// Sample volume read, m³ (of the diluted sample).
    pub sample_volume: f64,
    /// Partitions (droplets, wells, beads) read.
    pub partitions: f64,
    /// Share of the vesicles in the volume that are captured and read.
    pub capture_efficiency: f64,
    /// Dilution of the sample before the assay (≥ 1).
    pub dilution: f64,
}

/// What the digital assay reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DigitalReading {
    /// Positive partitions.
    pub positives: f64,
    /// Mean vesicles per partition.
    pub lambda: f64,
    /// Estimated vesicles per m³ of the undiluted sample (`None` when
    /// every partition is positive).
    pub concentration: Option<f64>,
    /// Marker-bearing vesicles per m³ of the sample, every size.
    pub true_vesicles: f64,
    /// Every partition positive: the sample must be diluted.
    pub saturated: bool,
}

impl DigitalAssay {
    /// Measures `sample`, drawing from `rng`.
    pub fn measure<R: rand::Rng + ?Sized>(&self, sample: &Sample, rng: &mut R) -> DigitalReading {
        let vesicles: f64 = sample
            .components
            .iter()
            .filter(|c| c.marker)
            .map(|c| c.concentration)
            .sum();
        let read = self.sample_volume * self.capture_efficiency;
        let lambda = vesicles / self.dilution * read / self.partitions;
        let p = -(-lambda).exp_m1();
        let positives = crate::random::counts::thin(rng, self.partitions, p);
        let saturated = positives >= self.partitions;
        let estimate = -self.partitions * (-positives / self.partitions).ln_1p() / read;
        DigitalReading {
            positives,
            lambda,
            concentration: (!saturated).then_some(estimate * self.dilution),
            true_vesicles: vesicles,
            saturated,
        }
    }
}
