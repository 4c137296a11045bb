//! Nanoparticle tracking analysis (NTA).
//!
//! The camera sees a particle when the light it scatters clears the camera
//! level. For particles much smaller than the wavelength the scattered
//! intensity follows Rayleigh's law, ∝ d⁶, so the probability of detection
//! is written `1 / (1 + (d_min/d)⁶)`: one half at the lower size limit
//! `d_min`, where the scatter equals the level, rising steeply above it.
//! Particles beyond the upper limit `d_max` are not sized (they barely move
//! and saturate the camera). Each detected particle is followed over
//! `N` steps; its diffusion coefficient is estimated from the mean squared
//! step, which for Brownian motion in the image plane is `D·χ²₂ₙ/(2N)`,
//! i.e. `D·G` with `G ~ Gamma(N, 1/N)`. Stokes–Einstein turns that into a
//! reported diameter `d/G`: the sizing error is derived from the track
//! length, not set. In logarithms it is a shift `ln N − ψ(N)` (≈ 1/(2N),
//! slight oversizing) and a standard deviation `√ψ₁(N)` (≈ 1/√N); the
//! reported distribution of a log-normal sample is the input convolved with
//! it. Localisation noise and drift are not modelled.
//!
//! Concentration: the imaged volume holds `c/dilution · V` particles, of
//! which the detected ones are counted frame after frame; a particle is
//! one track of `N` frames, so the tracks of a measurement are Poisson with
//! mean `c/dilution · V · E[p(d)] · frames / N`, and the reported
//! concentration is `tracks · N / (frames · V) · dilution`. Fewer detected
//! particles per frame than the counting range's lower end flag the
//! reading `too_dilute`, more than its upper end `too_concentrated` (tracks
//! cross and are lost in a real instrument; the model only flags it).

use rand::RngExt;
use rand_distr::{Distribution, Gamma};

use super::{Histogram, Sample, SizeGrid, SizeStatistics, size_statistics};

/// Most tracks sized per component (module docs).
const MAX_SIZED: f64 = 1e6;

/// An NTA instrument and the way it is run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Nta {
    /// Diameter detected with probability one half, m.
    pub min_diameter: f64,
    /// Largest diameter sized, m.
    pub max_diameter: f64,
    /// Steps per track.
    pub track_steps: u32,
    /// Camera frames per second.
    pub frame_rate: f64,
    /// Length of one video, s.
    pub video_length: f64,
    /// Videos recorded.
    pub videos: u32,
    /// Volume of sample the camera images, m³.
    pub view_volume: f64,
    /// Detected particles per frame below which the sample is too dilute.
    pub min_per_frame: f64,
    /// Detected particles per frame above which it is too concentrated.
    pub max_per_frame: f64,
    /// Dilution of the sample before measurement (≥ 1).
    pub dilution: f64,
    /// Width of the reported histogram's bins, m.
    pub bin_width: f64,
}

/// Where the particles per frame lie against the counting range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountingRange {
    /// Fewer than the lower end: few tracks, a noisy count.
    TooDilute,
    /// Within the range.
    InRange,
    /// More than the upper end: overlapping tracks.
    TooConcentrated,
}

/// What the NTA reports, with the truth beside it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NtaReading {
    /// Tracks counted, all videos.
    pub tracks: f64,
    /// Tracks per component, in the sample's order.
    pub tracks_per_component: Vec<f64>,
    /// Expected detected particles per frame (diluted sample).
    pub particles_per_frame: f64,
    /// The particles per frame against the counting range.
    pub range: CountingRange,
    /// Reported particles per m³ of the undiluted sample.
    pub concentration: f64,
    /// Particles per m³ of the sample, every size.
    pub true_concentration: f64,
    /// Expected reading: Σ c·E[p(d)], per m³ of the sample.
    pub detectable_concentration: f64,
    /// Stated sizing error: σ of ln(reported/true diameter), √ψ₁(N).
    pub sizing_sigma: f64,
    /// Stated sizing bias: mean of ln(reported/true diameter), ln N − ψ(N).
    pub sizing_bias: f64,
    /// D10, D50, D90 and mode of the reported sizes.
    pub statistics: Option<SizeStatistics>,
    /// Reported particles per m³ of the sample per size bin.
    pub reported: Histogram,
    /// The sample's particles per m³ per size bin, exact.
    pub truth: Histogram,
    /// The reported size of every track, m, in draw order.
    pub sizes: Vec<f64>,
}

impl Nta {
    /// Probability that a particle of diameter `d` is detected and sized.
    pub fn detection(&self, d: f64) -> f64 {
        if d > self.max_diameter {
            0.0
        } else {
            1.0 / (1.0 + (self.min_diameter / d).powi(6))
        }
    }

    /// Frames recorded, all videos.
    pub fn frames(&self) -> f64 {
        self.frame_rate * self.video_length * f64::from(self.videos)
    }

    /// Measures `sample`, drawing from `rng`.
    pub fn measure<R: rand::Rng + ?Sized>(&self, sample: &Sample, rng: &mut R) -> NtaReading {
        let per_track = f64::from(self.track_steps);
        let visits = self.view_volume / self.dilution * self.frames() / per_track;
        let sizing = Gamma::new(per_track, 1.0 / per_track).expect("track_steps ≥ 1");
        let mut sizes = Vec::new();
        let mut weights = Vec::new();
        let mut tracks_per_component = Vec::new();
        let mut detectable = 0.0;
        for c in &sample.components {
            let seen = SizeGrid::of(c).weighted(|d| self.detection(d));
            detectable += c.concentration * seen.total();
            let tracks =
                crate::random::counts::poisson(rng, c.concentration * seen.total() * visits);
            tracks_per_component.push(tracks);
            // Beyond MAX_SIZED tracks (far past any counting range) a
            // subsample is sized, each standing for tracks/sized tracks.
            let sized = tracks.min(MAX_SIZED);
            for _ in 0..sized as u64 {
                let d = seen.draw(rng.random::<f64>(), rng.random::<f64>());
                sizes.push(d / sizing.sample(rng));
                weights.push(tracks / sized);
            }
        }
        let tracks: f64 = tracks_per_component.iter().sum();
        let scale = self.dilution * per_track / (self.frames() * self.view_volume);
        let top = self.max_diameter * 1.5;
        let truth = sample.histogram(self.bin_width, top);
        let mut reported = Histogram {
            bin_width: self.bin_width,
            per_m3: vec![0.0; truth.per_m3.len()],
        };
        for (&d, &w) in sizes.iter().zip(&weights) {
            if let Some(i) = reported.bin_of(d) {
                reported.per_m3[i] += w * scale;
            }
        }
        let per_frame = detectable / self.dilution * self.view_volume;
        let mut sorted: Vec<(f64, f64)> = sizes.iter().copied().zip(weights).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        NtaReading {
            tracks,
            tracks_per_component,
            particles_per_frame: per_frame,
            range: if per_frame < self.min_per_frame {
                CountingRange::TooDilute
            } else if per_frame > self.max_per_frame {
                CountingRange::TooConcentrated
            } else {
                CountingRange::InRange
            },
            concentration: tracks * scale,
            true_concentration: sample.total(),
            detectable_concentration: detectable,
            sizing_sigma: trigamma(per_track).sqrt(),
            sizing_bias: per_track.ln() - statrs::function::gamma::digamma(per_track),
            statistics: size_statistics(&sorted, &reported),
            reported,
            truth,
            sizes,
        }
    }
}

/// ψ₁(x), the trigamma function (x > 0): the recurrence ψ₁(x) = ψ₁(x+1) +
/// 1/x² up to x ≥ 12, then the asymptotic series to 1/x⁹ (its next term,
/// 5/(66x¹¹), is below 10⁻¹³ there).
pub fn trigamma(mut x: f64) -> f64 {
    let mut sum = 0.0;
    while x < 12.0 {
        sum += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    sum + 1.0 / x + r / 2.0 + r / x * (1.0 / 6.0 - r * (1.0 / 30.0 - r * (1.0 / 42.0 - r / 30.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ψ₁(1) = π²/6 and ψ₁(1/2) = π²/2 (Abramowitz & Stegun 6.4.2, 6.4.4).
    #[test]
    fn trigamma_known_values() {
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-12);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-12);
    }
}
