//! One blood test of one individual: draw, isolation, assay.
//!
//! Given the true plasma concentration C of the marker (amount/m³), a test
//!
//! 1. **draws** blood ([`BloodDraw`]; 10 mL by default, plasma 55 %) and
//!    takes the plasma volume V the assay analyses (all of it, or e.g. 10 µL
//!    for a digital assay: [`Assay::input_volume`]);
//! 2. **samples** vesicles: n ~ Poisson(C · V) (for counts; an analyte in
//!    arbitrary units is taken as the deterministic amount C · V, see
//!    [`Sampling`]);
//! 3. **isolates** them ([`Isolation`]): recovery r ~ Beta with the given
//!    mean and CV, and the isolated count is the binomial thinning
//!    Binomial(n, r), drawn directly as its law Poisson(C·V·r) (amount
//!    r·C·V for [`Sampling::Continuous`]); non-vesicle
//!    particles (lipoproteins, ~10⁶ per EV in plasma, docs/references.md#lipoproteins-2018) are
//!    co-isolated with the method's carry-over fraction, and seen by
//!    particle-counting assays with [`Assay::nonvesicle_weight`];
//! 4. **assays** them ([`Assay`]): signal = (gain · (isolated + seen
//!    non-vesicles) + offset) · ε with ε log-normal of mean 1 and the assay
//!    CV, averaged over technical replicates (the same isolate measured
//!    again: only ε is redrawn);
//! 5. **reports** the plasma concentration the lab would compute from the
//!    calibration, estimate = (signal − offset) / (gain · V · mean recovery),
//!    and whether it is at or above the limit of detection [`Assay::lod`]
//!    (a plasma concentration, like the published LODs).
//!
//! Every random number comes from the caller's stream, so one individual's
//! tests are reproducible whatever else runs.

use rand::Rng;
use rand_distr::{Distribution, LogNormal};

use super::growth::{ParameterError, check};
use super::sequencing::{SequencingAssay, SequencingReading};
use crate::random::Stream;
use crate::random::counts::{poisson, thin};
use crate::random::samplers::Beta;
use crate::units::{MICROLITRE, MILLILITRE};

/// Lipoprotein particles per m³ of plasma, the default of
/// [`Protocol::lipoprotein_concentration`]: ~10⁶ lipoproteins per EV
/// (docs/references.md#lipoproteins-2018) times ~10¹⁰ EVs/mL (docs/references.md#johnsen-2019) =
/// 10¹⁶ /mL. Derived, not measured directly.
pub const LIPOPROTEINS_PER_M3: f64 = 1e16 / MILLILITRE;

/// Blood collection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BloodDraw {
    /// Whole blood drawn (m³); 10 mL by default (tubes of 10–15 mL are typical, up to 30 mL).
    pub blood_volume: f64,
    /// Plasma fraction of blood (hematocrit complement), ≈ 0.55.
    pub plasma_fraction: f64,
}

impl Default for BloodDraw {
    fn default() -> Self {
        BloodDraw {
            blood_volume: 10.0 * MILLILITRE,
            plasma_fraction: 0.55,
        }
    }
}

impl BloodDraw {
    /// Plasma obtained (m³).
    pub fn plasma_volume(&self) -> f64 {
        self.blood_volume * self.plasma_fraction
    }
}

/// How the marker is sampled from the plasma.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Discrete vesicles or molecules: Poisson sampling and binomial thinning.
    Counts,
    /// An analyte in arbitrary units: the sampled amount is exactly C · V and
    /// isolation multiplies it by the recovery (no counting noise).
    Continuous,
}

/// An isolation method. The presets follow the qualitative ranking of
/// Membranes 2021 and Diagnostics 2020 (docs/references.md#isolation-reviews; ultracentrifugation: low
/// recovery, high purity; precipitation: high yield, low purity; SEC in
/// between with lipoprotein carry-over; immunocapture most specific).
/// **Recovery and carry-over were not found as numbers**: the
/// preset values are illustrative defaults that respect that ranking, to be
/// replaced by a lab's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Isolation {
    /// Mean fraction of the sampled vesicles recovered (0–1].
    pub recovery_mean: f64,
    /// Coefficient of variation of the recovery between isolations (Beta distributed); 0 = fixed.
    pub recovery_cv: f64,
    /// Fraction of the plasma's non-vesicle particles (lipoproteins) that ends up in the isolate (0–1).
    pub nonvesicle_carry_over: f64,
}

impl Isolation {
    /// No isolation: the assay reads plasma directly (recovery 1, all lipoproteins present).
    pub fn none() -> Isolation {
        Isolation {
            recovery_mean: 1.0,
            recovery_cv: 0.0,
            nonvesicle_carry_over: 1.0,
        }
    }

    /// Ultracentrifugation: low recovery (illustrative 20 %, CV 30 %), high
    /// purity (illustrative carry-over 1 %).
    pub fn ultracentrifugation() -> Isolation {
        Isolation {
            recovery_mean: 0.2,
            recovery_cv: 0.3,
            nonvesicle_carry_over: 0.01,
        }
    }

    /// Polymer precipitation: high yield (illustrative 80 %, CV 15 %), low
    /// purity (illustrative carry-over 50 %).
    pub fn precipitation() -> Isolation {
        Isolation {
            recovery_mean: 0.8,
            recovery_cv: 0.15,
            nonvesicle_carry_over: 0.5,
        }
    }

    /// Size-exclusion chromatography: in between (illustrative recovery 50 %,
    /// CV 20 %; lipoprotein carry-over 10 %).
    pub fn size_exclusion() -> Isolation {
        Isolation {
            recovery_mean: 0.5,
            recovery_cv: 0.2,
            nonvesicle_carry_over: 0.1,
        }
    }

    /// Immunocapture of marker-positive vesicles: most specific
    /// (illustrative recovery 30 %, CV 30 %; carry-over 0.1 %).
    pub fn immunocapture() -> Isolation {
        Isolation {
            recovery_mean: 0.3,
            recovery_cv: 0.3,
            nonvesicle_carry_over: 0.001,
        }
    }

    /// Beta(α, β) parameters of the recovery, or `None` when it is fixed (CV 0).
    pub fn beta_parameters(&self) -> Option<(f64, f64)> {
        if self.recovery_cv == 0.0 || self.recovery_mean >= 1.0 {
            return None;
        }
        let m = self.recovery_mean;
        let var = (self.recovery_cv * m).powi(2);
        let nu = m * (1.0 - m) / var - 1.0;
        Some((m * nu, (1.0 - m) * nu))
    }

    /// Checks ranges; a Beta with the given mean and CV needs CV² < (1 − mean)/mean.
    pub fn validate(&self) -> Result<(), ParameterError> {
        let m = self.recovery_mean;
        check(
            m > 0.0 && m <= 1.0,
            "isolation.recovery_mean",
            m,
            "a fraction in (0, 1]",
        )?;
        check(
            self.recovery_cv >= 0.0
                && (self.recovery_cv == 0.0 || self.recovery_cv.powi(2) < (1.0 - m) / m),
            "isolation.recovery_cv",
            self.recovery_cv,
            "≥ 0 with cv² < (1 − mean)/mean (a Beta distribution), or 0 when the mean is 1",
        )?;
        check(
            (0.0..=1.0).contains(&self.nonvesicle_carry_over),
            "isolation.nonvesicle_carry_over",
            self.nonvesicle_carry_over,
            "a fraction in [0, 1]",
        )
    }
}

/// An assay: calibration, noise, limit of detection. Presets exist where
/// docs/references.md#isolation-reviews and the entries after it give numbers; the other fields are marked as assumptions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assay {
    /// Plasma volume (m³) whose vesicles are analysed; `None` = all the plasma drawn.
    pub input_volume: Option<f64>,
    /// Calibration gain: signal per isolated vesicle (or amount unit).
    pub gain: f64,
    /// Calibration offset: blank signal (signal units).
    pub offset: f64,
    /// CV of the multiplicative log-normal noise of one reading.
    pub cv: f64,
    /// Limit of detection, as a plasma concentration (amount/m³): estimates below it are "not detected".
    pub lod: f64,
    /// Signal of one co-isolated non-vesicle particle relative to one vesicle:
    /// 0 for marker-specific assays, the visible fraction for particle counters.
    pub nonvesicle_weight: f64,
    /// Technical replicates averaged (≥ 1).
    pub replicates: u32,
}

impl Assay {
    /// The assay part of a sequencing panel ([`super::sequencing`]): all
    /// the plasma drawn, no reading noise, no limit of detection (its
    /// estimate is the evidence score, ≥ 0), lipoproteins invisible. Its
    /// counting noise is the panel's own (sampling, depth, errors).
    pub fn sequencing() -> Assay {
        Assay {
            input_volume: None,
            gain: 1.0,
            offset: 0.0,
            cv: 0.0,
            lod: 0.0,
            nonvesicle_weight: 0.0,
            replicates: 1,
        }
    }

    /// Bulk ELISA-like assay of the whole isolate. Marker-specific
    /// (lipoproteins invisible), duplicate wells. CV 10 % and LOD 10⁸ /mL are
    /// **assumptions** (not published): typical orders of magnitude for
    /// bulk EV immunoassays, to be replaced by the lab's values.
    pub fn elisa() -> Assay {
        Assay {
            input_volume: None,
            gain: 1.0,
            offset: 0.0,
            cv: 0.10,
            lod: 1e8 / MILLILITRE,
            nonvesicle_weight: 0.0,
            replicates: 2,
        }
    }

    /// Nanoparticle tracking analysis: counts every particle in its size
    /// range, so co-isolated lipoproteins add to the count, each weighing
    /// `lipoprotein_visible_fraction` of a vesicle (the share of
    /// lipoproteins the tracker sees; a vesicle is taken as always seen).
    /// The study resolver derives it from the instrument NTA's detection
    /// law and the lipoproteins' size distribution
    /// (`coupling::lipoproteins::nta_visible_fraction`), so that this
    /// assay and the `[[instruments]]` NTA see the same lipoproteins. The
    /// CV is the inter-laboratory CV of EV concentration, 52.5 %
    /// (docs/references.md#vogel-2016; within one lab it is lower). LOD
    /// 10⁷ /mL is an **assumption** (not found). Three videos.
    pub fn nta(lipoprotein_visible_fraction: f64) -> Assay {
        Assay {
            input_volume: None,
            gain: 1.0,
            offset: 0.0,
            cv: 0.525,
            lod: 1e7 / MILLILITRE,
            nonvesicle_weight: lipoprotein_visible_fraction,
            replicates: 3,
        }
    }

    /// Digital plasmonic single-vesicle assay (PlasDroplex, Jung et al.,
    /// docs/references.md#jung-plasdroplex):
    /// 10 µL of plasma, LOD 2.5–6.7·10³ EVs/mL (the conservative 6.7·10³ is
    /// used), CV < 3 % (3 % used). Marker-specific.
    pub fn digital_plasmonic() -> Assay {
        Assay {
            input_volume: Some(10.0 * MICROLITRE),
            gain: 1.0,
            offset: 0.0,
            cv: 0.03,
            lod: 6.7e3 / MILLILITRE,
            nonvesicle_weight: 0.0,
            replicates: 1,
        }
    }

    /// Enhanced SPR: LOD 10⁴ /mL (docs/references.md#hu-2025). Input 10 µL and
    /// CV 10 % are **assumptions** (not found).
    pub fn spr() -> Assay {
        Assay {
            input_volume: Some(10.0 * MICROLITRE),
            gain: 1.0,
            offset: 0.0,
            cv: 0.10,
            lod: 1e4 / MILLILITRE,
            nonvesicle_weight: 0.0,
            replicates: 1,
        }
    }

    /// Nanohole SPR: LOD 6·10⁵ /mL (docs/references.md#hu-2025); otherwise as [`Assay::spr`].
    pub fn spr_nanohole() -> Assay {
        Assay {
            lod: 6e5 / MILLILITRE,
            ..Assay::spr()
        }
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ParameterError> {
        if let Some(v) = self.input_volume {
            check(
                v.is_finite() && v > 0.0,
                "assay.input_volume",
                v,
                "a finite volume > 0",
            )?;
        }
        check(
            self.gain.is_finite() && self.gain > 0.0,
            "assay.gain",
            self.gain,
            "a finite gain > 0",
        )?;
        check(
            self.offset.is_finite(),
            "assay.offset",
            self.offset,
            "a finite signal",
        )?;
        check(
            self.cv.is_finite() && self.cv >= 0.0,
            "assay.cv",
            self.cv,
            "a finite CV ≥ 0",
        )?;
        check(
            self.lod.is_finite() && self.lod >= 0.0,
            "assay.lod",
            self.lod,
            "a finite concentration ≥ 0",
        )?;
        check(
            self.nonvesicle_weight.is_finite() && self.nonvesicle_weight >= 0.0,
            "assay.nonvesicle_weight",
            self.nonvesicle_weight,
            "a finite weight ≥ 0",
        )?;
        check(
            self.replicates >= 1,
            "assay.replicates",
            self.replicates as f64,
            "at least 1",
        )
    }
}

/// The whole test: draw, isolation, assay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    /// Blood collection.
    pub draw: BloodDraw,
    /// Isolation method.
    pub isolation: Isolation,
    /// Assay.
    pub assay: Assay,
    /// Counting (vesicles, molecules) or continuous (arbitrary units) sampling.
    pub sampling: Sampling,
    /// Non-vesicle particles (lipoproteins) per m³ of plasma; default [`LIPOPROTEINS_PER_M3`].
    pub lipoprotein_concentration: f64,
    /// A sequencing panel read instead of the assay's signal
    /// ([`super::sequencing`]): the estimate is then the evidence score
    /// −log₁₀ p of the panel's most mutated position, and the marker
    /// counts genome equivalents. `None`: the assay's reading.
    pub sequencing: Option<SequencingAssay>,
}

impl Protocol {
    /// A counting protocol with the default draw and lipoprotein level.
    pub fn new(isolation: Isolation, assay: Assay) -> Protocol {
        Protocol {
            draw: BloodDraw::default(),
            isolation,
            assay,
            sampling: Sampling::Counts,
            lipoprotein_concentration: LIPOPROTEINS_PER_M3,
            sequencing: None,
        }
    }

    /// The mean mutant copies read at each position the tumour carries and
    /// the mean unmutated copies read at each position (the depth), for a
    /// sample whose tumour share is `tumour` and background `background`
    /// genome equivalents per m³ (diploid background, heterozygous clonal
    /// mutations; [`super::sequencing`]).
    pub fn sequencing_means(
        &self,
        seq: &SequencingAssay,
        tumour: f64,
        background: f64,
    ) -> (f64, f64) {
        let read = self.analysed_volume() * self.isolation.recovery_mean * seq.efficiency;
        let (t, b) = (tumour.max(0.0), background.max(0.0));
        (t * read, (2.0 * b + t) * read)
    }

    /// One sequencing test of a sample whose tumour share is `tumour` and
    /// background `background` (genome equivalents per m³); `None` for an
    /// assay that is not a sequencing panel.
    pub fn sequence<R: Rng + ?Sized>(
        &self,
        tumour: f64,
        background: f64,
        rng: &mut R,
    ) -> Option<SequencingReading> {
        let seq = self.sequencing.as_ref()?;
        let (mutant, depth) = self.sequencing_means(seq, tumour, background);
        Some(seq.read(mutant, depth, rng))
    }

    /// One test of plasma at true `concentration` (amount/m³), of which
    /// `background` comes from healthy tissues. A sequencing panel tells
    /// the two apart (its estimate is the evidence score); any other assay
    /// reads the concentration.
    pub fn measure_parts(
        &self,
        concentration: f64,
        background: f64,
        rng: &mut Stream,
    ) -> Measurement {
        match self.sequence(concentration - background, background, rng) {
            Some(r) => Measurement {
                in_sample: Some(r.depth),
                isolated: r.max_reads as f64,
                nonvesicle: 0.0,
                noise: 1.0,
                signal: r.max_reads as f64,
                estimate: r.score,
                detected: true,
            },
            None => self.measure(concentration, rng),
        }
    }

    /// Plasma volume analysed (m³): the assay's input, at most the plasma drawn.
    pub fn analysed_volume(&self) -> f64 {
        let drawn = self.draw.plasma_volume();
        self.assay.input_volume.map_or(drawn, |v| v.min(drawn))
    }

    /// Mean estimate of a noise-free test of plasma at `concentration`: the
    /// concentration plus the bias of the seen non-vesicle particles.
    pub fn expected_estimate(&self, concentration: f64) -> f64 {
        concentration + self.nonvesicle_bias()
    }

    /// Bias of the estimate (amount/m³) from co-isolated particles seen by the assay.
    pub fn nonvesicle_bias(&self) -> f64 {
        self.lipoprotein_concentration
            * self.isolation.nonvesicle_carry_over
            * self.assay.nonvesicle_weight
            / self.isolation.recovery_mean
    }

    /// Checks every part.
    pub fn validate(&self) -> Result<(), ParameterError> {
        check(
            self.draw.blood_volume.is_finite() && self.draw.blood_volume > 0.0,
            "draw.blood_volume",
            self.draw.blood_volume,
            "a finite volume > 0",
        )?;
        check(
            self.draw.plasma_fraction > 0.0 && self.draw.plasma_fraction <= 1.0,
            "draw.plasma_fraction",
            self.draw.plasma_fraction,
            "a fraction in (0, 1]",
        )?;
        check(
            self.lipoprotein_concentration.is_finite() && self.lipoprotein_concentration >= 0.0,
            "lipoprotein_concentration",
            self.lipoprotein_concentration,
            "a finite concentration ≥ 0",
        )?;
        self.isolation.validate()?;
        if let Some(seq) = &self.sequencing {
            seq.validate()?;
            check(
                self.sampling == Sampling::Counts,
                "sampling",
                0.0,
                "counted molecules (`counts`) for a sequencing panel",
            )?;
            check(
                self.isolation.recovery_cv == 0.0,
                "isolation.recovery_cv",
                self.isolation.recovery_cv,
                "0 for a sequencing panel (its threshold is exact for a fixed recovery)",
            )?;
        }
        self.assay.validate()
    }

    /// One test of plasma at true `concentration` (amount/m³), drawing
    /// from `rng`. A sequencing panel reads it as background alone (a
    /// tumour-free sample): use [`measure_parts`](Self::measure_parts) for a tumour's.
    pub fn measure(&self, concentration: f64, rng: &mut Stream) -> Measurement {
        if self.sequencing.is_some() {
            return self.measure_parts(concentration, concentration, rng);
        }
        self.sampler().measure(concentration, rng, true)
    }

    /// The same test without the tumour's share of the marker; see
    /// [`TestSampler::without_tumour`].
    pub fn without_tumour(
        &self,
        m: &Measurement,
        background_share: f64,
        rng: &mut Stream,
    ) -> Measurement {
        self.sampler().without_tumour(m, background_share, rng)
    }

    /// The protocol's distributions, built once for many tests.
    pub fn sampler(&self) -> TestSampler {
        let volume = self.analysed_volume();
        let a = &self.assay;
        let noise = (a.cv > 0.0).then(|| {
            let s2 = (1.0 + a.cv * a.cv).ln();
            LogNormal::new(-0.5 * s2, s2.sqrt()).expect("finite log-normal")
        });
        TestSampler {
            protocol: *self,
            volume,
            recovery: self
                .isolation
                .beta_parameters()
                .map(|(a, b)| Beta::new(a, b)),
            noise,
            seen_mean: self.lipoprotein_concentration
                * volume
                * self.isolation.nonvesicle_carry_over
                * a.nonvesicle_weight,
            calibration: 1.0 / (a.gain * volume * self.isolation.recovery_mean),
        }
    }
}

/// A [`Protocol`] with its distributions and constants built once (the
/// recovery's Beta, the reading noise's log-normal, the analysed volume),
/// so that a cohort's tests only draw.
#[derive(Debug, Clone, Copy)]
pub struct TestSampler {
    protocol: Protocol,
    volume: f64,
    recovery: Option<Beta>,
    noise: Option<LogNormal<f64>>,
    seen_mean: f64,
    calibration: f64,
}

impl TestSampler {
    /// One test of plasma at true `concentration` (amount/m³). For counts the
    /// isolated marker is drawn directly as Poisson(C·V·r): the binomial
    /// thinning (recovery r) of a Poisson(C·V) sample is Poisson(C·V·r) in
    /// law, and the vesicles left behind are an independent Poisson(C·V·(1 − r)),
    /// drawn only when `with_in_sample` asks for the sample's total
    /// ([`Measurement::in_sample`]; a decision does not need it).
    pub fn measure<R: Rng + ?Sized>(
        &self,
        concentration: f64,
        rng: &mut R,
        with_in_sample: bool,
    ) -> Measurement {
        let p = &self.protocol;
        let expected = concentration.max(0.0) * self.volume;
        let recovery = match &self.recovery {
            Some(beta) => beta.sample(rng),
            None => p.isolation.recovery_mean,
        };
        let (in_sample, isolated) = match p.sampling {
            Sampling::Counts => {
                let isolated = poisson(rng, expected * recovery);
                let left = with_in_sample.then(|| poisson(rng, expected * (1.0 - recovery)));
                (left.map(|l| isolated + l), isolated)
            }
            Sampling::Continuous => (Some(expected), expected * recovery),
        };
        let nonvesicle = match p.sampling {
            Sampling::Counts => poisson(rng, self.seen_mean),
            Sampling::Continuous => self.seen_mean,
        };
        let noise = match &self.noise {
            Some(d) => {
                let mut sum = 0.0;
                for _ in 0..p.assay.replicates {
                    sum += d.sample(rng);
                }
                sum / p.assay.replicates as f64
            }
            None => 1.0,
        };
        self.read(in_sample, isolated, nonvesicle, noise)
    }

    /// The reading of an isolate: signal (gain · (isolated + non-vesicles) +
    /// offset) · noise, and the estimate from the calibration.
    fn read(
        &self,
        in_sample: Option<f64>,
        isolated: f64,
        nonvesicle: f64,
        noise: f64,
    ) -> Measurement {
        let a = &self.protocol.assay;
        let signal = (a.gain * (isolated + nonvesicle) + a.offset) * noise;
        let estimate = (signal - a.offset) * self.calibration;
        Measurement {
            in_sample,
            isolated,
            nonvesicle,
            noise,
            signal,
            estimate,
            detected: estimate >= a.lod,
        }
    }

    /// The same test without the tumour's share of the marker: of the
    /// sampled and isolated marker of `m`, only the part from healthy tissues
    /// (`background_share` of the plasma concentration) is kept, with the
    /// same recovery, non-vesicle particles and reading noise. For counts,
    /// each vesicle is from the background with probability
    /// `background_share` independently (Poisson superposition, thinned by a
    /// recovery that does not see a vesicle's origin), so the background
    /// parts are binomial thinnings of the isolated and the left-behind
    /// counts; continuous amounts are scaled.
    pub fn without_tumour<R: Rng + ?Sized>(
        &self,
        m: &Measurement,
        background_share: f64,
        rng: &mut R,
    ) -> Measurement {
        let share = background_share.clamp(0.0, 1.0);
        let (in_sample, isolated) = match self.protocol.sampling {
            Sampling::Counts => {
                let isolated = thin(rng, m.isolated, share);
                let in_sample = m
                    .in_sample
                    .map(|n| isolated + thin(rng, n - m.isolated, share));
                (in_sample, isolated)
            }
            Sampling::Continuous => (m.in_sample.map(|n| n * share), m.isolated * share),
        };
        self.read(in_sample, isolated, m.nonvesicle, m.noise)
    }
}

/// The result of one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Marker in the analysed plasma (count, or amount for continuous
    /// sampling); `None` when the test was drawn without it
    /// ([`TestSampler::measure`]).
    pub in_sample: Option<f64>,
    /// Marker after isolation.
    pub isolated: f64,
    /// Non-vesicle particles seen by the assay (weighted).
    pub nonvesicle: f64,
    /// Mean multiplicative reading noise over the replicates (1 without noise).
    pub noise: f64,
    /// Mean signal over the replicates.
    pub signal: f64,
    /// Plasma concentration computed from the calibration (amount/m³).
    pub estimate: f64,
    /// Whether the estimate is at or above the limit of detection.
    pub detected: bool,
}

impl Measurement {
    /// Positive at `threshold` (amount/m³): detected and estimate strictly above the threshold.
    pub fn positive(&self, threshold: f64) -> bool {
        self.detected && self.estimate > threshold
    }

    /// The value compared with thresholds: the estimate, or −∞ when not detected.
    pub fn score(&self) -> f64 {
        if self.detected {
            self.estimate
        } else {
            f64::NEG_INFINITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for iso in [
            Isolation::none(),
            Isolation::ultracentrifugation(),
            Isolation::precipitation(),
            Isolation::size_exclusion(),
            Isolation::immunocapture(),
        ] {
            for assay in [
                Assay::elisa(),
                // The weight a study gets is derived in the couplings
                // (about 0.05); any share in [0, 1] is a valid preset.
                Assay::nta(0.05),
                Assay::digital_plasmonic(),
                Assay::spr(),
                Assay::spr_nanohole(),
            ] {
                Protocol::new(iso, assay).validate().unwrap();
            }
        }
    }

    #[test]
    fn noise_free_test_reads_the_concentration() {
        let mut p = Protocol::new(Isolation::none(), Assay::elisa());
        p.assay.cv = 0.0;
        p.sampling = Sampling::Continuous;
        let mut rng = crate::random::stream(1, 1, 1);
        let m = p.measure(3e14, &mut rng);
        assert!((m.estimate - 3e14).abs() / 3e14 < 1e-12);
        assert!(m.detected);
    }
}
