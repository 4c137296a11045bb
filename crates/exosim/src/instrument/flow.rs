//! Flow cytometry triggered on scatter, with swarm detection.
//!
//! The sample stream carries particles through the laser's illuminated
//! (measurement) volume `V`; a new volume of sample passes every `V/Q`
//! seconds at sample flow rate `Q`, so the instrument looks at `Q/V`
//! volumes per second. The detector sums the light of everything in the
//! volume at once. A particle's side scatter is written relative to the
//! trigger threshold, `s(d) = (d/d_T)⁶` (Rayleigh, d ≪ λ), where `d_T` is
//! the diameter of a vesicle whose scatter equals the threshold; an event
//! is recorded when the summed scatter of the volume reaches 1.
//!
//! The number of particles in a volume is Poisson with mean `c·V` (c after
//! dilution). A volume holding any particle larger than `d_T` triggers:
//! a *single* event (coincidences of two large ones are one event, as in a
//! real instrument). A volume with only smaller particles triggers when
//! their summed scatter reaches the threshold: a *swarm* event, the
//! mechanism van der Pol et al. (2012, J Thromb Haemost 10:919) showed:
//! vesicles each below the trigger, illuminated together, counted as one
//! event. For a monodisperse population of sub-threshold vesicles this is
//! the Poisson tail of [`swarm_events_per_second`]: `Q/V · P(N ≥ n*)` with
//! `N ~ Poisson(c·V)` and `n* = ⌈1/s(d)⌉` vesicles needed at once; the
//! count becomes appreciable where the mean occupancy `c·V` approaches
//! `n*`, the onset concentration `n*/V` ([`swarm_onset_concentration`]).
//!
//! The chance of a swarm is estimated by drawing `windows` volumes of
//! sub-threshold particles (sizes from their distributions), so it is
//! resolved to about 1/`windows`; where a volume
//! holds on average more than [`CLT_COUNT`] of them, their summed scatter
//! is drawn from its normal limit instead. The events of the acquisition
//! are Poisson with the expected count; the reported concentration is
//! `events / (Q·t) · dilution`, whatever caused them.

use rand::RngExt;
use rand_distr::StandardNormal;
use statrs::distribution::{DiscreteCDF, Poisson};

use super::{Sample, SizeGrid};

/// Mean sub-threshold particles per volume above which their summed
/// scatter is drawn from its normal limit (module docs).
pub const CLT_COUNT: f64 = 1000.0;

/// A flow cytometer triggered on side scatter.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlowCytometer {
    /// Diameter of a vesicle whose scatter equals the trigger threshold, m.
    pub threshold_diameter: f64,
    /// Illuminated volume of the sample stream, m³.
    pub measurement_volume: f64,
    /// Sample flow rate, m³/s.
    pub flow_rate: f64,
    /// Acquisition time, s.
    pub duration: f64,
    /// Dilution of the sample before measurement (≥ 1).
    pub dilution: f64,
    /// Volumes drawn to estimate the chance of a swarm event.
    pub windows: u32,
    /// Share of swarm events above which the reading is flagged.
    pub swarm_flag_share: f64,
}

/// What the cytometer reports, with the truth beside it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlowReading {
    /// Events recorded in the acquisition.
    pub events: f64,
    /// Of which triggered by a particle above the threshold.
    pub single_events: f64,
    /// Of which triggered by sub-threshold particles together.
    pub swarm_events: f64,
    /// Events per second.
    pub events_per_second: f64,
    /// Mean particles in the measurement volume (diluted sample).
    pub occupancy: f64,
    /// Reported particles per m³ of the undiluted sample.
    pub concentration: f64,
    /// Particles per m³ of the sample larger than the threshold diameter.
    pub true_above_threshold: f64,
    /// Of them, per component in the sample's order.
    pub above_per_component: Vec<f64>,
    /// Particles per m³ of the sample, every size.
    pub true_concentration: f64,
    /// Whether swarm events exceed the flagged share of all events.
    pub swarm: bool,
}

impl FlowCytometer {
    /// Side scatter of a particle of diameter `d` relative to the trigger.
    pub fn scatter(&self, d: f64) -> f64 {
        (d / self.threshold_diameter).powi(6)
    }

    /// Volumes of sample illuminated per second.
    pub fn volumes_per_second(&self) -> f64 {
        self.flow_rate / self.measurement_volume
    }

    /// Measures `sample`, drawing from `rng`.
    pub fn measure<R: rand::Rng + ?Sized>(&self, sample: &Sample, rng: &mut R) -> FlowReading {
        let v = self.measurement_volume / self.dilution;
        let dt = self.threshold_diameter;
        let mut above_per_component = Vec::new();
        let mut subs = Vec::new();
        for c in &sample.components {
            let small = SizeGrid::of(c).weighted(|d| if d < dt { 1.0 } else { 0.0 });
            // The share above the threshold from the exact distribution;
            // the grid only supplies the sizes of the smaller ones.
            let below = c.cdf(dt);
            above_per_component.push(c.concentration * (1.0 - below));
            subs.push((c.concentration * v * below, small));
        }
        let above: f64 = above_per_component.iter().sum();
        let p_single = -(-above * v).exp_m1();
        // Where every volume already holds a particle above the threshold
        // (to 1e-12), a swarm cannot add an event: no volume is drawn.
        let p_swarm = if p_single < 1.0 - 1e-12 {
            self.swarm_chance(&subs, rng)
        } else {
            0.0
        };
        let volumes = self.volumes_per_second() * self.duration;
        let single = crate::random::counts::poisson(rng, volumes * p_single);
        let swarm = crate::random::counts::poisson(rng, volumes * (1.0 - p_single) * p_swarm);
        let events = single + swarm;
        FlowReading {
            events,
            single_events: single,
            swarm_events: swarm,
            events_per_second: events / self.duration,
            occupancy: sample.total() * v,
            concentration: events / (self.flow_rate * self.duration) * self.dilution,
            true_above_threshold: above,
            above_per_component,
            true_concentration: sample.total(),
            swarm: events > 0.0 && swarm > self.swarm_flag_share * events,
        }
    }

    /// The chance that the sub-threshold particles of one volume reach the
    /// threshold together: `subs` holds, per component, their mean count
    /// per volume and the sampler of their sizes.
    fn swarm_chance<R: rand::Rng + ?Sized>(
        &self,
        subs: &[(f64, super::size::Weighted)],
        rng: &mut R,
    ) -> f64 {
        let mean_count: f64 = subs.iter().map(|s| s.0).sum();
        if mean_count <= 0.0 {
            return 0.0;
        }
        let mut hits = 0u32;
        for _ in 0..self.windows {
            let mut sum = 0.0;
            for (lambda, sizes) in subs {
                if *lambda > CLT_COUNT {
                    let norm = sizes.total();
                    let m1 = self.moment(sizes, 1) / norm;
                    let m2 = self.moment(sizes, 2) / norm;
                    let z: f64 = rng.sample(StandardNormal);
                    sum += lambda * m1 + (lambda * m2).sqrt() * z;
                } else {
                    let n = crate::random::counts::poisson(rng, *lambda) as u64;
                    for _ in 0..n {
                        sum += self.scatter(sizes.draw(rng.random::<f64>(), rng.random::<f64>()));
                    }
                }
            }
            // Within 1e-9 of the threshold counts: 729 vesicles of scatter
            // 1/729 must reach it despite the rounding of the sum.
            if sum >= 1.0 - 1e-9 {
                hits += 1;
            }
        }
        f64::from(hits) / f64::from(self.windows)
    }

    /// Σ weight·s(d)^k over a sampler's grid.
    fn moment(&self, sizes: &super::size::Weighted, k: i32) -> f64 {
        sizes.sum_of(|d| self.scatter(d).powi(k))
    }
}

/// Vesicles of diameter `d` (below the threshold) needed at once in the
/// measurement volume for a swarm event: ⌈1/s(d)⌉.
pub fn vesicles_per_swarm(cytometer: &FlowCytometer, d: f64) -> u64 {
    // A hair below an integer is that integer: s(d) is a sixth power.
    (1.0 / cytometer.scatter(d) - 1e-9).ceil().max(1.0) as u64
}

/// Swarm events per second of a monodisperse population of vesicles of
/// diameter `d` < `d_T` at concentration `c` (after dilution): `Q/V ·
/// P(Poisson(c·V) ≥ n*)` (module docs, van der Pol et al. 2012).
pub fn swarm_events_per_second(cytometer: &FlowCytometer, c: f64, d: f64) -> f64 {
    let n = vesicles_per_swarm(cytometer, d);
    let mean = c * cytometer.measurement_volume;
    if mean <= 0.0 {
        return 0.0;
    }
    let tail = Poisson::new(mean).map_or(0.0, |p| 1.0 - p.cdf(n - 1));
    cytometer.volumes_per_second() * tail
}

/// The concentration at which the mean occupancy of the measurement volume
/// reaches the vesicles needed for a swarm: `n*/V`.
pub fn swarm_onset_concentration(cytometer: &FlowCytometer, d: f64) -> f64 {
    vesicles_per_swarm(cytometer, d) as f64 / cytometer.measurement_volume
}
