//! Decisions and outputs: thresholds, detection curves, screening.
//!
//! A [`ScreeningModel`] holds everything resolved from a study (SI units):
//! the tumour, its shedding, the blood kinetics, the inter-individual
//! variability, the test protocol, the decision threshold and the screening
//! schedule. From it:
//!
//! - [`healthy_scores`] / [`resolve_threshold`]: a threshold at a target
//!   specificity on a simulated healthy cohort, or a fixed one;
//! - [`detection_curve`] and [`minimal_detectable_diameter`]: the
//!   probability that one test is positive, by tumour diameter;
//! - [`ScreeningModel::simulate_chunk`], [`ScreeningAggregate::merge`] and
//!   [`screen_cohort`]: repeated testing of a cohort from tumour
//!   initiation, streamed in chunks with memory independent of the cohort
//!   size; [`screen_cohort_parallel`] runs the chunks on the rayon pool.
//!
//! **Determinism.** Individual `i` draws every random number (its
//! parameters, its test phase, its tests) from its own stream
//! `random::stream(seed, DOMAIN_*, i)` (`random::cohort_stream` for the
//! screening cohort, whose individuals are many and short), and aggregates
//! hold only integers (counts, fixed bins, sums in fixed point) and exact
//! minima/maxima, so a cohort gives bit-identical results whatever the
//! chunk size, the order of chunks or the thread that ran them.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use rand::{Rng, RngExt};
use rand_distr::{Distribution, LogNormal};

use super::cohort::CohortKernel;
use super::growth::{self, GrowthLaw, LnCells, ParameterError, check};
use super::kinetics::{BloodKinetics, MarkerKinetics, Shedding};
use super::measurement::{Assay, Isolation, Protocol, TestSampler};
use super::sequencing::{BackgroundLaw, SequencingAssay};
use crate::fast_exp::exp;
use crate::random::{Stream, cohort_stream, stream};
use crate::units::{DAY, LITRE, MILLILITRE};

pub use super::screening_model::{
    DOMAIN_CURVE, DOMAIN_HEALTHY, DOMAIN_HEALTHY_SCREENING, DOMAIN_SCREENING, DetectionRule,
    Imaging, Individual, QUANTILES, ScreeningModel, Tumour, Variability, YEAR,
};

/// A threshold crossing of the true blood concentration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Crossing {
    /// Time after initiation (s).
    pub time: f64,
    /// Tumour cells then.
    pub cells: f64,
    /// Tumour diameter then (m).
    pub diameter: f64,
    /// Blood concentration then (amount/m³).
    pub concentration: f64,
}

/// The first positive test of one individual.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Time after initiation (s).
    pub time: f64,
    /// Tumour cells then.
    pub cells: f64,
    /// Tumour diameter then (m).
    pub diameter: f64,
}

/// The result of one screening test of a tumour-bearing individual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestOutcome {
    /// Not positive.
    Negative,
    /// Positive, but the same test without the tumour's share would be too.
    FalsePositive,
    /// Positive because of the tumour.
    Detection,
}

/// What screening one tumour-bearing individual gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The first positive test attributable to the tumour, if any.
    pub detection: Option<Detection>,
    /// Tests taken (up to and including the detection).
    pub tests: u32,
    /// Positive tests that the individual's background alone would give.
    pub false_positives: u32,
    /// Lineages started to get one that survives (branching start; 0 otherwise).
    pub lineages: u32,
    /// With imaging: the first finding exam's time minus the detection's
    /// (s; negative when imaging found the tumour first), when both fall
    /// within the duration.
    pub lead_time: Option<f64>,
}

/// False positives of a healthy cohort screened on the programme's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FalsePositiveCounts {
    /// Healthy individuals screened.
    pub individuals: u64,
    /// Tests taken.
    pub tests: u64,
    /// Positive tests (all false).
    pub false_positives: u64,
    /// Individuals with at least one false positive.
    pub with_false_positive: u64,
}

impl FalsePositiveCounts {
    /// Adds another chunk's counts.
    pub fn merge(&mut self, other: &FalsePositiveCounts) {
        self.individuals += other.individuals;
        self.tests += other.tests;
        self.false_positives += other.false_positives;
        self.with_false_positive += other.with_false_positive;
    }

    /// Rates with Wilson 95 % intervals.
    pub fn summary(&self) -> FalsePositiveSummary {
        let share = |k: u64, n: u64| if n > 0 { k as f64 / n as f64 } else { f64::NAN };
        FalsePositiveSummary {
            individuals: self.individuals,
            tests: self.tests,
            false_positives: self.false_positives,
            rate_per_screen: share(self.false_positives, self.tests),
            rate_per_screen_interval: wilson(self.false_positives, self.tests),
            with_false_positive: self.with_false_positive,
            share_with_false_positive: share(self.with_false_positive, self.individuals),
            share_with_false_positive_interval: wilson(self.with_false_positive, self.individuals),
        }
    }
}

/// False positives of a healthy cohort over the whole programme.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FalsePositiveSummary {
    /// Healthy individuals screened.
    pub individuals: u64,
    /// Tests taken.
    pub tests: u64,
    /// Positive tests.
    pub false_positives: u64,
    /// False positives per test.
    pub rate_per_screen: f64,
    /// Wilson 95 % interval of that rate.
    pub rate_per_screen_interval: (f64, f64),
    /// Individuals with at least one false positive.
    pub with_false_positive: u64,
    /// Their share of the cohort.
    pub share_with_false_positive: f64,
    /// Wilson 95 % interval of that share.
    pub share_with_false_positive_interval: (f64, f64),
}

/// Screens `n` healthy individuals of cohort `seed` on `model`'s schedule,
/// in parallel chunks (the result does not depend on the thread count).
pub fn screen_healthy_cohort(
    model: &ScreeningModel,
    n: u64,
    seed: u64,
    chunk: u64,
) -> FalsePositiveSummary {
    use rayon::prelude::*;
    let chunk = chunk.max(1);
    (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let start = c * chunk;
            model.simulate_healthy_chunk(seed, start..(start + chunk).min(n))
        })
        .reduce(FalsePositiveCounts::default, |mut a, b| {
            a.merge(&b);
            a
        })
        .summary()
}

/// How the blood level is set for a point of a [`detection_curve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurdenState {
    /// The tumour is held at that size long enough for the blood level to be
    /// steady: C = (B + s·N)/(k V). With k ≫ growth rate (minutes against
    /// weeks) this equals the growing case to within γ/k.
    Steady,
    /// The blood level along the growth trajectory from initiation (and the
    /// tumour-free steady state) at the moment the tumour reaches that size.
    /// Sizes below `initial_cells` are evaluated at t = 0; sizes never
    /// reached get no tests (probability NaN).
    Growing,
}

/// How a threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdRule {
    /// The empirical quantile of a simulated healthy cohort at this specificity (0–1).
    Specificity(f64),
    /// A fixed clinical cut-off (amount/m³).
    Fixed(f64),
    /// The assay's limit of detection: every detected test is positive.
    Lod,
    /// A false-positive rate over a year of tests on the screening's
    /// schedule: the per-test rate 1 − (1 − a)^{interval/year}, exact for a
    /// sequencing panel ([`super::sequencing::SequencingAssay::threshold_for_rate`]),
    /// the healthy cohort's quantile at that specificity otherwise.
    AnnualFalsePositiveRate(f64),
}

impl ScreeningModel {
    /// An illustrative model (not calibrated to any cancer): Gompertz growth
    /// from 10⁶ cells to a plateau of 10¹² cells with a doubling time of 60 d
    /// at initiation and ~120 d at 10⁹ cells (ovarian ~120 d,
    /// docs/references.md#tumour-doubling); 60 vesicles/cell/h (docs/references.md#chiu-2016) of
    /// which 1 % reach blood (free parameter); plasma 3 L; half-life 7 min
    /// (mouse, docs/references.md#matsumoto-2020; no human value found); background 5·10³ /mL;
    /// CVs 0.5 / 1.0 / 0.3 (free parameters); immunocapture and the digital
    /// plasmonic assay; threshold at the LOD; yearly tests for 10 years.
    pub fn example() -> ScreeningModel {
        let capacity: f64 = 1e12;
        let initial_cells = 1e6;
        // Specific rate r ln(K/N₀) = ln 2 / 60 d.
        let rate = growth::rate_from_doubling_time(60.0 * DAY) / (capacity / initial_cells).ln();
        let mut blood = BloodKinetics {
            background: 0.0,
            elimination_rate: BloodKinetics::rate_from_half_life(7.0 * 60.0),
            plasma_volume: 3.0 * LITRE,
        };
        blood.background = blood.background_for_concentration(5e3 / MILLILITRE);
        let protocol = Protocol::new(Isolation::immunocapture(), Assay::digital_plasmonic());
        ScreeningModel {
            tumour: Tumour {
                growth: GrowthLaw::Gompertz { rate, capacity },
                initial_cells,
                cells_per_m3: growth::CELLS_PER_M3,
                branching: None,
                burden: None,
            },
            shedding: Shedding {
                per_live_cell: 60.0 / 3600.0,
                per_dying_cell: 0.0,
                death_rate: 0.0,
                fraction_to_blood: 0.01,
            },
            blood,
            blood_modes: None,
            release: None,
            variability: Variability {
                background_cv: 0.5,
                shedding_cv: 1.0,
                elimination_cv: 0.3,
                background_test_cv: 0.0,
            },
            protocol,
            threshold: protocol.assay.lod,
            interval: YEAR,
            duration: 10.0 * YEAR,
            max_step: 14.0 * DAY,
            imaging: None,
            detection: DetectionRule::Tumour,
            deterministic: false,
        }
    }

    /// Checks every part of the model.
    pub fn validate(&self) -> Result<(), ParameterError> {
        self.tumour.growth.validate()?;
        check(
            self.tumour.initial_cells.is_finite() && self.tumour.initial_cells > 0.0,
            "tumour.initial_cells",
            self.tumour.initial_cells,
            "a finite number of cells > 0",
        )?;
        check(
            self.tumour.cells_per_m3.is_finite() && self.tumour.cells_per_m3 > 0.0,
            "tumour.cells_per_m3",
            self.tumour.cells_per_m3,
            "a finite density > 0",
        )?;
        if let Some(b) = &self.tumour.branching {
            b.validate()?;
            check(
                !self.deterministic,
                "tumour.branching",
                b.process.birth,
                "a deterministic growth law in deterministic mode",
            )?;
        }
        self.shedding.validate()?;
        self.blood.validate()?;
        for (name, cv) in [
            ("variability.background_cv", self.variability.background_cv),
            ("variability.shedding_cv", self.variability.shedding_cv),
            (
                "variability.elimination_cv",
                self.variability.elimination_cv,
            ),
        ] {
            check(cv.is_finite() && cv >= 0.0, name, cv, "a finite CV ≥ 0")?;
        }
        self.protocol.validate()?;
        check(
            !(self.deterministic && self.protocol.sequencing.is_some()),
            "deterministic",
            1.0,
            "noisy tests for a sequencing panel (its reading is counts)",
        )?;
        if let Some(im) = &self.imaging {
            check(
                im.diameter.is_finite() && im.diameter > 0.0,
                "imaging.diameter",
                im.diameter,
                "a finite diameter > 0",
            )?;
            check(
                im.interval.is_finite() && im.interval > 0.0,
                "imaging.interval",
                im.interval,
                "a finite time > 0",
            )?;
        }
        check(
            !self.threshold.is_nan(),
            "threshold",
            self.threshold,
            "a concentration",
        )?;
        check(
            self.interval.is_finite() && self.interval > 0.0,
            "interval",
            self.interval,
            "a finite time > 0",
        )?;
        check(
            self.duration.is_finite() && self.duration >= 0.0,
            "duration",
            self.duration,
            "a finite time ≥ 0",
        )?;
        check(
            self.max_step.is_finite() && self.max_step > 0.0,
            "max_step",
            self.max_step,
            "a finite time > 0",
        )
    }

    /// The share of a held tumour's input that reaches the blood at the
    /// drugs' draw time ([`MarkerKinetics::held_release_factor`]) for the
    /// individual of `kin`; 1 without a drug on the shedding.
    pub fn held_release_factor(&self, kin: &MarkerKinetics<'_>) -> f64 {
        match self.release.as_deref().and_then(|r| r.draw_time) {
            Some(at) => kin.held_release_factor(at),
            None => 1.0,
        }
    }

    /// The nominal individual (no variability).
    pub fn nominal_individual(&self) -> Individual {
        Individual {
            background: self.blood.background,
            source_per_cell: self.shedding.rate_per_cell(),
            elimination_rate: self.blood.elimination_rate,
        }
    }

    /// Draws one individual: three log-normal factors of mean 1, in the
    /// order background, shedding, elimination.
    pub fn sample_individual(&self, rng: &mut Stream) -> Individual {
        self.prepare().draw_individual(rng)
    }

    /// The model's distributions, built once for many individuals (and,
    /// where the model allows it, at their first use, the cohort kernel's
    /// tables: see [`screen_prepared`](Self::screen_prepared)).
    pub fn prepare(&self) -> PreparedModel {
        let v = &self.variability;
        PreparedModel {
            nominal: self.nominal_individual(),
            factors: [v.background_cv, v.shedding_cv, v.elimination_cv].map(lognormal_of_cv),
            sampler: self.protocol.sampler(),
            ln_cells: self.tumour.growth.ln_cells_from(self.tumour.initial_cells),
            kernel: OnceLock::new(),
        }
    }

    /// The deterministic marker model of one individual.
    pub fn kinetics(&self, individual: &Individual) -> MarkerKinetics<'_> {
        MarkerKinetics {
            growth: self.tumour.growth,
            initial_cells: self.tumour.initial_cells,
            source_per_cell: individual.source_per_cell,
            blood: BloodKinetics {
                background: individual.background,
                elimination_rate: individual.elimination_rate,
                plasma_volume: self.blood.plasma_volume,
            },
            modes: self.blood_modes.as_deref(),
            burden: self.tumour.burden.as_deref(),
            release: self.release.as_deref(),
        }
    }

    /// Whether a test at true concentration `c`, of which `background`
    /// comes from healthy tissues, is positive; noise-free in deterministic mode.
    fn test(&self, c: f64, background: f64, rng: &mut Stream) -> bool {
        if self.deterministic {
            self.noise_free_positive(c)
        } else {
            let (c, background) = self.on_test_day(c, background, rng);
            self.protocol
                .measure_parts(c, background, rng)
                .positive(self.threshold)
        }
    }

    /// The sample's concentration and background at one test: the
    /// background's share times the within-individual factor of that test
    /// (`background_test_cv`; no draw when it is 0, so that the streams of
    /// models without it are unchanged).
    pub fn on_test_day<R: Rng + ?Sized>(&self, c: f64, background: f64, rng: &mut R) -> (f64, f64) {
        let cv = self.variability.background_test_cv;
        if cv <= 0.0 || self.deterministic {
            return (c, background);
        }
        let s2 = cv.mul_add(cv, 1.0).ln();
        let z: f64 = rand_distr::StandardNormal.sample(rng);
        let b = background * (s2.sqrt() * z - 0.5 * s2).exp();
        (c - background + b, b)
    }

    fn noise_free_positive(&self, c: f64) -> bool {
        let e = self.protocol.expected_estimate(c);
        e >= self.protocol.assay.lod && e > self.threshold
    }

    /// One screening test of a tumour-bearing individual at true
    /// concentration `c`, of which `background` comes from healthy tissues.
    /// A positive test is a detection only when the same test without the
    /// tumour's share of the sample (same recovery, non-vesicle particles and
    /// reading noise; [`Protocol::without_tumour`]) would be negative;
    /// otherwise the individual's background alone made it positive and it
    /// is a false positive.
    fn screening_test<R: Rng + ?Sized>(
        &self,
        sampler: &TestSampler,
        c: f64,
        background: f64,
        rng: &mut R,
    ) -> TestOutcome {
        if self.deterministic {
            return match (
                self.noise_free_positive(c),
                self.noise_free_positive(background),
            ) {
                (false, _) => TestOutcome::Negative,
                (true, true) => TestOutcome::FalsePositive,
                (true, false) => TestOutcome::Detection,
            };
        }
        let (c, background) = self.on_test_day(c, background, rng);
        // A sequencing panel's errors alone are the test without the tumour.
        if let Some(r) = self.protocol.sequence(c - background, background, rng) {
            return match (
                r.score > self.threshold,
                r.background_score > self.threshold,
            ) {
                (false, _) => TestOutcome::Negative,
                (true, true) => TestOutcome::FalsePositive,
                (true, false) => TestOutcome::Detection,
            };
        }
        let m = sampler.measure(c, rng, false);
        if !m.positive(self.threshold) {
            return TestOutcome::Negative;
        }
        let share = if c > 0.0 {
            (background / c).min(1.0)
        } else {
            1.0
        };
        if sampler
            .without_tumour(&m, share, rng)
            .positive(self.threshold)
        {
            TestOutcome::FalsePositive
        } else {
            TestOutcome::Detection
        }
    }

    /// The per-test false-positive rate that gives `annual` over a year of
    /// tests every `interval`.
    pub fn per_test_false_positive_rate(&self, annual: f64) -> f64 {
        super::sequencing::per_test_rate(annual, YEAR / self.interval)
    }

    /// A sequencing panel and the law of its depth over tumour-free
    /// individuals (their steady background with its variability); `None`
    /// for other assays.
    pub fn background_law(&self) -> Option<(SequencingAssay, BackgroundLaw)> {
        let seq = self.protocol.sequencing?;
        let nominal = self.blood.baseline_amount() / self.blood.plasma_volume;
        let (_, depth) = self.protocol.sequencing_means(&seq, 0.0, nominal);
        let v = &self.variability;
        // A test's background factor is the individual's times the test's:
        // log-normal, their log-variances add.
        let per_test =
            ((1.0 + v.background_cv.powi(2)) * (1.0 + v.background_test_cv.powi(2)) - 1.0).sqrt();
        Some((seq, BackgroundLaw::new(depth, per_test, v.elimination_cv)))
    }

    /// The true plasma concentration (amount/m³) at which a noise-free test
    /// turns positive: max(LOD, threshold) minus the non-vesicle bias.
    pub fn decision_concentration(&self) -> f64 {
        self.protocol.assay.lod.max(self.threshold) - self.protocol.nonvesicle_bias()
    }

    /// The exact moment the nominal individual's blood concentration reaches
    /// [`decision_concentration`](Self::decision_concentration) within the
    /// screening duration (closed form and root finding for exponential
    /// growth; the exponential integrator with root finding within the step
    /// otherwise). `None` if it is never reached.
    pub fn deterministic_crossing(&self) -> Option<Crossing> {
        let kin = self.kinetics(&self.nominal_individual());
        let (time, amount) =
            kin.crossing(self.decision_concentration(), self.duration, self.max_step)?;
        let cells = kin.cells(time);
        Some(Crossing {
            time,
            cells,
            diameter: growth::diameter(cells, self.tumour.cells_per_m3),
            concentration: amount / self.blood.plasma_volume,
        })
    }

    /// Screens individual `i` of the cohort `seed`: tests from its phase
    /// every `interval` up to `duration`, until its first detection. Every
    /// individual carries a tumour from t = 0; a positive test that the
    /// individual's background alone would give (see `screening_test`) is
    /// counted as a false positive and screening goes on, so that the time to
    /// detection holds only positives the tumour made; under
    /// [`DetectionRule::FirstPositive`] it is counted and ends the screening
    /// as the detection.
    ///
    /// This builds the model's tables (a millisecond or so): to screen many
    /// individuals, [`prepare`](Self::prepare) once and call
    /// [`screen_prepared`](Self::screen_prepared).
    pub fn screen_individual(&self, seed: u64, i: u64) -> Outcome {
        self.screen_prepared(&self.prepare(), seed, i)
    }

    /// [`screen_individual`](Self::screen_individual) with the distributions built once.
    ///
    /// Models with first-order elimination, a growth law, counted vesicles,
    /// a non-negative assay offset and one replicate (or no reading noise)
    /// are screened by the cohort kernel (`biopsy/cohort.rs`): the same
    /// model and laws with fewer and cheaper draws (one Poisson count for
    /// the isolate and the co-isolated particles, the reading noise as a
    /// tabulated probability, counts far below the decision level left
    /// undrawn, a table sampler for the recovery, the blood level's closed
    /// form from ln N). Other models take the general path below.
    pub fn screen_prepared(&self, prepared: &PreparedModel, seed: u64, i: u64) -> Outcome {
        if let Some(kernel) = prepared.kernel(self) {
            let mut outcome = None;
            kernel.run(self, seed, i..i + 1, &mut |o| outcome = Some(o));
            let o = outcome.expect("one individual screened");
            return Outcome {
                detection: o.detection.map(|(time, ln_cells, diameter, _)| Detection {
                    time,
                    cells: exp(ln_cells),
                    diameter,
                }),
                tests: o.tests,
                false_positives: o.false_positives,
                lineages: 0,
                lead_time: None,
            };
        }
        self.screen_general(prepared, seed, i)
    }

    /// The general path of [`screen_prepared`](Self::screen_prepared): every
    /// draw of the model as written (the cohort kernel's reference).
    fn screen_general(&self, prepared: &PreparedModel, seed: u64, i: u64) -> Outcome {
        let mut rng = cohort_stream(seed, DOMAIN_SCREENING, i);
        let individual = if self.deterministic {
            self.nominal_individual()
        } else {
            prepared.draw_individual(&mut rng)
        };
        let kin = self.kinetics(&individual);
        let phase = if self.deterministic {
            0.0
        } else {
            rng.random::<f64>() * self.interval
        };
        let imaging_phase = self.imaging.map(|im| {
            if self.deterministic {
                0.0
            } else {
                rng.random::<f64>() * im.interval
            }
        });
        let lineage = self
            .tumour
            .branching
            .and_then(|b| b.process.surviving_lineage(&mut rng, b.switch_cells));
        let volume = self.blood.plasma_volume;
        let background = kin.blood.baseline_amount() / volume;
        let mut outcome = Outcome {
            detection: None,
            tests: 0,
            false_positives: 0,
            lineages: lineage.as_ref().map_or(0, |l| l.attempts),
            lead_time: None,
        };
        let mut t = 0.0;
        let mut state = kin.baseline_state();
        let mut j = 0u64;
        loop {
            let at = phase + j as f64 * self.interval;
            if at > self.duration {
                return outcome;
            }
            let m = match &lineage {
                Some(l) => kin.lineage_amount(l, at),
                None => {
                    kin.advance_state_with(&prepared.ln_cells, &mut state, t, at, self.max_step)
                }
            };
            t = at;
            outcome.tests += 1;
            let test = self.screening_test(&prepared.sampler, m / volume, background, &mut rng);
            if test == TestOutcome::FalsePositive {
                outcome.false_positives += 1;
            }
            let detected = match self.detection {
                DetectionRule::Tumour => test == TestOutcome::Detection,
                DetectionRule::FirstPositive => test != TestOutcome::Negative,
            };
            if detected {
                let cells = match &lineage {
                    Some(l) => l.cells_at(at),
                    None => kin.cells(at),
                };
                outcome.detection = Some(Detection {
                    time: at,
                    cells,
                    diameter: growth::diameter(cells, self.tumour.cells_per_m3),
                });
                outcome.lead_time = self
                    .imaging
                    .zip(imaging_phase)
                    .and_then(|(im, psi)| self.imaging_time(&im, psi, lineage.as_ref()))
                    .map(|exam| exam - at);
                return outcome;
            }
            j += 1;
        }
    }

    /// The first imaging exam (phase `psi`, then every `im.interval`) at
    /// which the tumour is at least `im.diameter` across, if within the
    /// duration; the tumour's size at an exam is its growth law's (or its
    /// lineage's).
    fn imaging_time(
        &self,
        im: &Imaging,
        psi: f64,
        lineage: Option<&growth::Lineage>,
    ) -> Option<f64> {
        let cells = growth::cells_for_diameter(im.diameter, self.tumour.cells_per_m3);
        let reached = match lineage {
            Some(l) => l.time_to(cells),
            None => self.tumour.time_to(cells)?,
        };
        let exams = ((reached - psi) / im.interval).ceil().max(0.0);
        let exam = psi + exams * im.interval;
        (exam <= self.duration).then_some(exam)
    }

    /// Screens healthy individual `i` of the cohort `seed` on the same
    /// schedule (a random phase, then every `interval` up to `duration`) at
    /// its steady background level: (tests, positive tests). Every positive
    /// here is a false positive.
    pub fn screen_healthy_individual(&self, seed: u64, i: u64) -> (u32, u32) {
        let mut rng = stream(seed, DOMAIN_HEALTHY_SCREENING, i);
        let individual = if self.deterministic {
            self.nominal_individual()
        } else {
            self.sample_individual(&mut rng)
        };
        let phase = if self.deterministic {
            0.0
        } else {
            rng.random::<f64>() * self.interval
        };
        let c = individual.background / individual.elimination_rate / self.blood.plasma_volume;
        let (mut tests, mut positives) = (0u32, 0u32);
        let mut at = phase;
        while at <= self.duration {
            tests += 1;
            positives += u32::from(self.test(c, c, &mut rng));
            at = phase + tests as f64 * self.interval;
        }
        (tests, positives)
    }

    /// An empty aggregate sized for this model (time bins over the duration).
    pub fn empty_aggregate(&self) -> ScreeningAggregate {
        ScreeningAggregate::new(self.duration)
    }

    /// Screens individuals `range` of the cohort `seed` into one aggregate;
    /// chunks can run anywhere and be [`merge`](ScreeningAggregate::merge)d.
    pub fn simulate_chunk(&self, seed: u64, range: Range<u64>) -> ScreeningAggregate {
        self.simulate_chunk_prepared(&self.prepare(), seed, range)
    }

    /// [`simulate_chunk`](Self::simulate_chunk) with the distributions and
    /// tables built once ([`prepare`](Self::prepare)) for many chunks.
    pub fn simulate_chunk_prepared(
        &self,
        prepared: &PreparedModel,
        seed: u64,
        range: Range<u64>,
    ) -> ScreeningAggregate {
        let mut agg = self.empty_aggregate();
        if let Some(kernel) = prepared.kernel(self) {
            let diameter = DiameterBins::of(&agg.diameter);
            // The time's (linear) bins by a product (no division per detection).
            debug_assert!(!agg.time.log);
            let (time_lo, time_scale) = (agg.time.lo, 1.0 / (agg.time.hi - agg.time.lo));
            kernel.run(self, seed, range, &mut |o| {
                agg.n += 1;
                agg.tests += u64::from(o.tests);
                agg.false_positives += u64::from(o.false_positives);
                agg.with_false_positive += u64::from(o.false_positives > 0);
                if let Some((time, _, d, ln_d)) = o.detection {
                    agg.detected += 1;
                    agg.time.add_at((time - time_lo) * time_scale, time);
                    agg.diameter
                        .add_at((ln_d - diameter.ln_lo) * diameter.inv_span, d);
                    agg.sum_time_us += round_nonnegative(time * 1e6);
                    agg.sum_diameter_nm += round_nonnegative(d * 1e9);
                }
            });
            return agg;
        }
        for i in range {
            agg.add(self.screen_prepared(prepared, seed, i));
        }
        agg
    }

    /// Screens healthy individuals `range` of the cohort `seed`
    /// ([`screen_healthy_individual`](Self::screen_healthy_individual)).
    pub fn simulate_healthy_chunk(&self, seed: u64, range: Range<u64>) -> FalsePositiveCounts {
        let mut counts = FalsePositiveCounts::default();
        for i in range {
            let (tests, positives) = self.screen_healthy_individual(seed, i);
            counts.individuals += 1;
            counts.tests += u64::from(tests);
            counts.false_positives += u64::from(positives);
            counts.with_false_positive += u64::from(positives > 0);
        }
        counts
    }
}

/// A log-normal factor of mean 1 and coefficient of variation `cv` (1 when cv = 0).
pub fn lognormal_factor(rng: &mut Stream, cv: f64) -> f64 {
    lognormal_of_cv(cv).map_or(1.0, |d| d.sample(rng))
}

/// The log-normal of mean 1 and coefficient of variation `cv`; `None` when cv ≤ 0.
fn lognormal_of_cv(cv: f64) -> Option<LogNormal<f64>> {
    (cv > 0.0).then(|| {
        let s2 = (1.0 + cv * cv).ln();
        LogNormal::new(-0.5 * s2, s2.sqrt()).expect("finite log-normal")
    })
}

/// A [`ScreeningModel`]'s distributions built once for a cohort:
/// the nominal individual, the three log-normal factors, the test's
/// [`TestSampler`], the tumour's ln N(t) and, where the model allows it,
/// the cohort kernel's tables.
#[derive(Debug, Clone)]
pub struct PreparedModel {
    nominal: Individual,
    factors: [Option<LogNormal<f64>>; 3],
    sampler: TestSampler,
    ln_cells: LnCells,
    /// The cohort kernel's tables, built at its first use (a millisecond or
    /// so: not for [`ScreeningModel::sample_individual`]'s draws).
    kernel: OnceLock<Option<Arc<CohortKernel>>>,
}

impl PreparedModel {
    /// The cohort kernel of `model` (the model this was prepared from),
    /// or `None` when the model needs the general path.
    fn kernel(&self, model: &ScreeningModel) -> Option<&CohortKernel> {
        self.kernel
            .get_or_init(|| CohortKernel::new(model).map(Arc::new))
            .as_deref()
    }
}

/// ln of the lower edge and 1/ln(hi/lo) of a log-binned histogram.
struct DiameterBins {
    ln_lo: f64,
    inv_span: f64,
}

impl DiameterBins {
    fn of(h: &Histogram) -> DiameterBins {
        DiameterBins {
            ln_lo: h.lo.ln(),
            inv_span: 1.0 / (h.hi.ln() - h.lo.ln()),
        }
    }
}

/// x.round() for x ≥ 0, as an integer: `f64::round` is a library call on
/// the baseline x86-64 target. Exact: below 2⁵² the fraction x − ⌊x⌋ is
/// computed without rounding; above, x is an integer.
#[inline]
fn round_nonnegative(x: f64) -> u128 {
    if x < 4_503_599_627_370_496.0 {
        let t = x as u64;
        u128::from(t + u64::from(x - t as f64 >= 0.5))
    } else {
        x as u128
    }
}

impl PreparedModel {
    /// Draws one individual: the background, shedding and elimination
    /// factors, in that order ([`ScreeningModel::sample_individual`]).
    pub fn draw_individual<R: Rng + ?Sized>(&self, rng: &mut R) -> Individual {
        let mut f = [1.0; 3];
        for (x, d) in f.iter_mut().zip(&self.factors) {
            if let Some(d) = d {
                *x = d.sample(rng);
            }
        }
        Individual {
            background: self.nominal.background * f[0],
            source_per_cell: self.nominal.source_per_cell * f[1],
            elimination_rate: self.nominal.elimination_rate * f[2],
        }
    }
}

/// Scores ([`crate::biopsy::measurement::Measurement::score`]: the estimate,
/// −∞ when not detected) of one test of each of `n` tumour-free
/// individuals of the healthy cohort `seed`, at their steady background
/// level. Memory O(n): a threshold needs the sorted sample.
pub fn healthy_scores(model: &ScreeningModel, n: u64, seed: u64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let mut rng = stream(seed, DOMAIN_HEALTHY, i);
            let ind = model.sample_individual(&mut rng);
            let c = ind.background / ind.elimination_rate / model.blood.plasma_volume;
            let (c, _) = model.on_test_day(c, c, &mut rng);
            model.protocol.measure(c, &mut rng).score()
        })
        .collect()
}

/// The threshold whose specificity on `scores` is the smallest ≥
/// `specificity`: the ⌈specificity·n⌉-th smallest score (positives are
/// strictly above it). Sorts `scores` in place.
pub fn threshold_at_specificity(scores: &mut [f64], specificity: f64) -> f64 {
    assert!(!scores.is_empty(), "no scores");
    scores.sort_by(f64::total_cmp);
    let n = scores.len();
    let k = ((specificity * n as f64).ceil() as usize).clamp(1, n);
    scores[k - 1]
}

/// Resolves a [`ThresholdRule`] into a threshold (amount/m³); a
/// specificity rule simulates `n_healthy` healthy individuals of cohort
/// `seed`. When the quantile falls among undetected tests the threshold is
/// the LOD. The LOD rule gives the largest number below the LOD, so that
/// every detected test is positive.
pub fn resolve_threshold(
    model: &ScreeningModel,
    rule: ThresholdRule,
    n_healthy: u64,
    seed: u64,
) -> f64 {
    let lod = model.protocol.assay.lod;
    match rule {
        ThresholdRule::Fixed(t) => t,
        ThresholdRule::Lod => lod.next_down(),
        ThresholdRule::Specificity(s) => {
            let mut scores = healthy_scores(model, n_healthy, seed);
            let t = threshold_at_specificity(&mut scores, s);
            if t.is_finite() { t } else { lod.next_down() }
        }
        ThresholdRule::AnnualFalsePositiveRate(a) => {
            let rate = model.per_test_false_positive_rate(a);
            match model.background_law() {
                Some((seq, law)) => seq.threshold_for_rate(&law, rate).0,
                None => resolve_threshold(
                    model,
                    ThresholdRule::Specificity(1.0 - rate),
                    n_healthy,
                    seed,
                ),
            }
        }
    }
}

/// Specificity of `threshold` on a healthy cohort: (negatives, n, Wilson 95 % interval).
pub fn specificity(
    model: &ScreeningModel,
    threshold: f64,
    n: u64,
    seed: u64,
) -> (u64, u64, (f64, f64)) {
    let negatives = healthy_scores(model, n, seed)
        .into_iter()
        .filter(|&s| s <= threshold)
        .count() as u64;
    (negatives, n, wilson(negatives, n))
}

/// Wilson score 95 % interval for `successes` out of `n` ((0, 1) when n = 0).
pub fn wilson(successes: u64, n: u64) -> (f64, f64) {
    super::roc::wilson_interval(successes, n, 0.95)
}

/// One point of a detection curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    /// Tumour diameter (m).
    pub diameter: f64,
    /// Tumour cells at that diameter.
    pub cells: f64,
    /// Individuals tested.
    pub tested: u64,
    /// Positive tests.
    pub positive: u64,
    /// positive / tested (NaN when none tested).
    pub probability: f64,
    /// Wilson 95 % interval, lower bound.
    pub low: f64,
    /// Wilson 95 % interval, upper bound.
    pub high: f64,
}

/// Probability that one test is positive for each tumour diameter (m) of
/// `diameters`, over `n` individuals of cohort `seed` with inter-individual
/// variability (each individual is tested once at every diameter, from its
/// own stream: common random numbers make the curve smooth in diameter).
/// Deterministic mode gives probabilities of 0 or 1.
pub fn detection_curve(
    model: &ScreeningModel,
    diameters: &[f64],
    state: BurdenState,
    n: u64,
    seed: u64,
) -> Vec<CurvePoint> {
    let cells: Vec<f64> = diameters
        .iter()
        .map(|&d| growth::cells_for_diameter(d, model.tumour.cells_per_m3))
        .collect();
    let times: Vec<Option<f64>> = cells.iter().map(|&c| model.tumour.time_to(c)).collect();
    let mut tested = vec![0u64; diameters.len()];
    let mut positive = vec![0u64; diameters.len()];
    for i in 0..n {
        let mut rng = stream(seed, DOMAIN_CURVE, i);
        let ind = if model.deterministic {
            model.nominal_individual()
        } else {
            model.sample_individual(&mut rng)
        };
        let kin = model.kinetics(&ind);
        let background = kin.blood.baseline_amount() / model.blood.plasma_volume;
        let held = model.held_release_factor(&kin);
        let mut t = 0.0;
        let mut blood = kin.baseline_state();
        for (j, &c) in cells.iter().enumerate() {
            let conc = match state {
                BurdenState::Steady => kin.held_concentration(c, held),
                BurdenState::Growing => {
                    let Some(at) = times[j] else { continue };
                    if at < t {
                        t = 0.0;
                        blood = kin.baseline_state();
                    }
                    let m = kin.advance_state(&mut blood, t, at, model.max_step);
                    t = at;
                    m / model.blood.plasma_volume
                }
            };
            tested[j] += 1;
            positive[j] += u64::from(model.test(conc, background, &mut rng));
        }
    }
    diameters
        .iter()
        .enumerate()
        .map(|(j, &d)| {
            let (low, high) = wilson(positive[j], tested[j]);
            CurvePoint {
                diameter: d,
                cells: cells[j],
                tested: tested[j],
                positive: positive[j],
                probability: positive[j] as f64 / tested[j] as f64,
                low,
                high,
            }
        })
        .collect()
}

/// Smallest diameter (m) at which the curve reaches `sensitivity`,
/// interpolated linearly in diameter between the last point below and the
/// first point at or above it; `None` if never reached. The first point
/// already at or above gives its own diameter.
pub fn minimal_detectable_diameter(curve: &[CurvePoint], sensitivity: f64) -> Option<f64> {
    let mut previous: Option<&CurvePoint> = None;
    for p in curve.iter().filter(|p| p.tested > 0) {
        if p.probability >= sensitivity {
            return Some(match previous {
                None => p.diameter,
                Some(q) => {
                    let f = (sensitivity - q.probability) / (p.probability - q.probability);
                    q.diameter + f * (p.diameter - q.diameter)
                }
            });
        }
        previous = Some(p);
    }
    None
}

/// A histogram with fixed bins (linear or logarithmic) and exact extremes.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// Logarithmic bins when true.
    pub log: bool,
    /// Counts per bin; values outside [lo, hi] go to the edge bins.
    pub counts: Vec<u64>,
    /// Smallest value added (+∞ when empty).
    pub min: f64,
    /// Largest value added (−∞ when empty).
    pub max: f64,
}

impl Histogram {
    /// An empty histogram of `bins` bins over [lo, hi].
    pub fn new(lo: f64, hi: f64, bins: usize, log: bool) -> Histogram {
        Histogram {
            lo,
            hi,
            log,
            counts: vec![0; bins],
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn map(&self, x: f64) -> f64 {
        if self.log {
            (x.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (x - self.lo) / (self.hi - self.lo)
        }
    }

    fn unmap(&self, u: f64) -> f64 {
        if self.log {
            (self.lo.ln() + u * (self.hi.ln() - self.lo.ln())).exp()
        } else {
            self.lo + u * (self.hi - self.lo)
        }
    }

    /// Adds one value.
    pub fn add(&mut self, x: f64) {
        self.add_at(self.map(x), x);
    }

    /// Adds `x`, whose position on the bins' scale (0 at `lo`, 1 at `hi`) is `u`.
    fn add_at(&mut self, u: f64, x: f64) {
        let bins = self.counts.len();
        let b = if u.is_nan() || u <= 0.0 {
            0
        } else {
            ((u * bins as f64) as usize).min(bins - 1)
        };
        self.counts[b] += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Adds another histogram of the same bins.
    pub fn merge(&mut self, other: &Histogram) {
        assert!(
            self.lo == other.lo
                && self.hi == other.hi
                && self.log == other.log
                && self.counts.len() == other.counts.len(),
            "histograms with different bins"
        );
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Values added.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q`-quantile, interpolated within its bin (linearly, or
    /// log-linearly for log bins) and clamped to [min, max]; resolution is
    /// one bin. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * total as f64;
        let bins = self.counts.len() as f64;
        let mut cumulative = 0.0;
        for (b, &c) in self.counts.iter().enumerate() {
            let next = cumulative + c as f64;
            if c > 0 && next >= target {
                let frac = ((target - cumulative) / c as f64).clamp(0.0, 1.0);
                let x = self.unmap((b as f64 + frac) / bins);
                return Some(x.clamp(self.min, self.max));
            }
            cumulative = next;
        }
        Some(self.max)
    }
}

/// Streaming aggregate of a screened cohort: integer counts and sums, fixed
/// bins and exact extremes, so merging is exact and order-independent.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreeningAggregate {
    /// Individuals screened.
    pub n: u64,
    /// Individuals with a positive test.
    pub detected: u64,
    /// Time to first detection (s): 1000 linear bins over the duration.
    pub time: Histogram,
    /// Diameter at detection (m): log bins from 10 µm to 1 m, 60 per decade.
    pub diameter: Histogram,
    /// Sum of detection times in microseconds (rounded per individual).
    pub sum_time_us: u128,
    /// Sum of diameters at detection in nanometres (rounded per individual).
    pub sum_diameter_nm: u128,
    /// Tests taken.
    pub tests: u64,
    /// Positive tests the background alone would give (not detections).
    pub false_positives: u64,
    /// Individuals with at least one such false positive.
    pub with_false_positive: u64,
    /// Lineages started (branching start), extinct ones included.
    pub lineages: u64,
    /// Lead time over imaging (s): 2000 linear bins over ± the duration.
    pub lead: Histogram,
    /// Detected individuals with a lead time, and those with a positive one.
    pub lead_n: u64,
    /// Of them, lead time > 0 (the blood test first).
    pub lead_positive: u64,
    /// Sum of lead times in microseconds, rounded per individual (signed).
    pub sum_lead_us: i128,
}

impl ScreeningAggregate {
    /// An empty aggregate for a screening of `duration` (s).
    pub fn new(duration: f64) -> ScreeningAggregate {
        ScreeningAggregate {
            n: 0,
            detected: 0,
            time: Histogram::new(0.0, duration.max(f64::MIN_POSITIVE), 1000, false),
            diameter: Histogram::new(1e-5, 1.0, 300, true),
            sum_time_us: 0,
            sum_diameter_nm: 0,
            tests: 0,
            false_positives: 0,
            with_false_positive: 0,
            lineages: 0,
            lead: Histogram::new(
                -duration.max(f64::MIN_POSITIVE),
                duration.max(f64::MIN_POSITIVE),
                2000,
                false,
            ),
            lead_n: 0,
            lead_positive: 0,
            sum_lead_us: 0,
        }
    }

    /// Adds one individual's outcome.
    pub fn add(&mut self, outcome: Outcome) {
        self.n += 1;
        self.tests += u64::from(outcome.tests);
        self.false_positives += u64::from(outcome.false_positives);
        self.with_false_positive += u64::from(outcome.false_positives > 0);
        self.lineages += u64::from(outcome.lineages);
        if let Some(d) = outcome.detection {
            self.detected += 1;
            self.time.add(d.time);
            self.diameter.add(d.diameter);
            self.sum_time_us += round_nonnegative(d.time * 1e6);
            self.sum_diameter_nm += round_nonnegative(d.diameter * 1e9);
        }
        if let Some(lead) = outcome.lead_time {
            self.lead.add(lead);
            self.lead_n += 1;
            self.lead_positive += u64::from(lead > 0.0);
            self.sum_lead_us += (lead * 1e6).round() as i128;
        }
    }

    /// Adds another chunk's aggregate (exact, order-independent).
    pub fn merge(&mut self, other: &ScreeningAggregate) {
        self.n += other.n;
        self.detected += other.detected;
        self.time.merge(&other.time);
        self.diameter.merge(&other.diameter);
        self.sum_time_us += other.sum_time_us;
        self.sum_diameter_nm += other.sum_diameter_nm;
        self.tests += other.tests;
        self.false_positives += other.false_positives;
        self.with_false_positive += other.with_false_positive;
        self.lineages += other.lineages;
        self.lead.merge(&other.lead);
        self.lead_n += other.lead_n;
        self.lead_positive += other.lead_positive;
        self.sum_lead_us += other.sum_lead_us;
    }

    /// The summary of the cohort (`crossing` is attached by [`screen_cohort`] in deterministic mode).
    pub fn summary(&self) -> ScreeningSummary {
        let never = self.n - self.detected;
        let mean = |sum: u128, scale: f64| {
            (self.detected > 0).then(|| sum as f64 / scale / self.detected as f64)
        };
        ScreeningSummary {
            n: self.n,
            detected: self.detected,
            never_detected_share: if self.n > 0 {
                never as f64 / self.n as f64
            } else {
                f64::NAN
            },
            never_detected_interval: wilson(never, self.n),
            mean_time: mean(self.sum_time_us, 1e6),
            mean_diameter: mean(self.sum_diameter_nm, 1e9),
            time_quantiles: QUANTILES
                .iter()
                .filter_map(|&q| self.time.quantile(q).map(|x| (q, x)))
                .collect(),
            diameter_quantiles: QUANTILES
                .iter()
                .filter_map(|&q| self.diameter.quantile(q).map(|x| (q, x)))
                .collect(),
            tests: self.tests,
            false_positives: self.false_positives,
            false_positive_rate_per_screen: if self.tests > 0 {
                self.false_positives as f64 / self.tests as f64
            } else {
                f64::NAN
            },
            false_positive_rate_interval: wilson(self.false_positives, self.tests),
            with_false_positive: self.with_false_positive,
            lineage_survival: (self.lineages > 0).then(|| {
                let (lo, hi) = wilson(self.n, self.lineages);
                LineageSurvival {
                    lineages: self.lineages,
                    survived: self.n,
                    share: self.n as f64 / self.lineages as f64,
                    interval: (lo, hi),
                }
            }),
            crossing: None,
            lead_time: (self.lead_n > 0).then(|| LeadTime {
                n: self.lead_n,
                mean: self.sum_lead_us as f64 / 1e6 / self.lead_n as f64,
                quantiles: QUANTILES
                    .iter()
                    .filter_map(|&q| self.lead.quantile(q).map(|x| (q, x)))
                    .collect(),
                positive_share: self.lead_positive as f64 / self.lead_n as f64,
            }),
        }
    }
}

/// The blood test's lead time over imaging among the individuals both found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeadTime {
    /// Individuals detected by the blood test and by an exam within the duration.
    pub n: u64,
    /// Mean lead time (s).
    pub mean: f64,
    /// (q, lead time in s) for q in [`QUANTILES`]; 2000 bins over ± the duration.
    pub quantiles: Vec<(f64, f64)>,
    /// Share with a positive lead time (the blood test first).
    pub positive_share: f64,
}

/// Branching start: the share of lineages from one cell that survived
/// (reached the switch size), an estimate of 1 − d/b.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LineageSurvival {
    /// Lineages started.
    pub lineages: u64,
    /// Lineages that survived (one per individual).
    pub survived: u64,
    /// survived / lineages.
    pub share: f64,
    /// Wilson 95 % interval of the share.
    pub interval: (f64, f64),
}

/// What a screened cohort gives.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScreeningSummary {
    /// Individuals screened.
    pub n: u64,
    /// Individuals detected within the duration.
    pub detected: u64,
    /// Share never detected.
    pub never_detected_share: f64,
    /// Wilson 95 % interval of that share.
    pub never_detected_interval: (f64, f64),
    /// Mean time to first detection among the detected (s).
    pub mean_time: Option<f64>,
    /// Mean diameter at detection among the detected (m).
    pub mean_diameter: Option<f64>,
    /// (q, time to detection in s) for q in [`QUANTILES`], among the detected.
    pub time_quantiles: Vec<(f64, f64)>,
    /// (q, diameter at detection in m) for q in [`QUANTILES`], among the detected.
    pub diameter_quantiles: Vec<(f64, f64)>,
    /// Tests taken by the cohort.
    pub tests: u64,
    /// Positive tests that the individual's background alone would give
    /// (the same test without the tumour's share of the sample is positive
    /// too): false positives, kept out of the detection times.
    pub false_positives: u64,
    /// false_positives / tests.
    pub false_positive_rate_per_screen: f64,
    /// Wilson 95 % interval of that rate.
    pub false_positive_rate_interval: (f64, f64),
    /// Individuals with at least one such false positive.
    pub with_false_positive: u64,
    /// Branching start: survival of the lineages from one cell.
    pub lineage_survival: Option<LineageSurvival>,
    /// Deterministic mode: the exact crossing of the decision level by the
    /// true concentration (before the next scheduled test finds it).
    pub crossing: Option<Crossing>,
    /// With imaging: the blood test's lead time over it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_time: Option<LeadTime>,
}

/// Screens `n` individuals of cohort `seed` in chunks of `chunk`
/// (single-threaded; the chunks are independent, so a parallel caller can
/// map [`ScreeningModel::simulate_chunk`] over them and merge). The result
/// does not depend on `chunk`.
pub fn screen_cohort(model: &ScreeningModel, n: u64, seed: u64, chunk: u64) -> ScreeningSummary {
    let chunk = chunk.max(1);
    let mut total = model.empty_aggregate();
    let prepared = model.prepare();
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        total.merge(&model.simulate_chunk_prepared(&prepared, seed, start..end));
        start = end;
    }
    let mut summary = total.summary();
    if model.deterministic {
        summary.crossing = model.deterministic_crossing();
    }
    summary
}

/// [`screen_cohort`] on the current rayon pool: the fixed chunks
/// `[0, chunk)`, `[chunk, 2·chunk)`, … are simulated in parallel with
/// [`ScreeningModel::simulate_chunk`] and reduced with
/// [`ScreeningAggregate::merge`]. Since each individual has its own stream
/// and the merges are exact, the summary is identical to [`screen_cohort`]'s
/// whatever the thread count, the chunk size or the order of the reduction.
/// Memory is O(threads), not O(n): one aggregate per chunk in flight.
pub fn screen_cohort_parallel(
    model: &ScreeningModel,
    n: u64,
    seed: u64,
    chunk: u64,
) -> ScreeningSummary {
    screen_cohort_reporting(model, n, seed, chunk, &|_| {})
}

/// [`screen_cohort_parallel`], telling `report` the share of chunks done
/// after each (from the worker threads): what lets a caller stop a long
/// screening between chunks. The result does not depend on the hook.
pub fn screen_cohort_reporting(
    model: &ScreeningModel,
    n: u64,
    seed: u64,
    chunk: u64,
    report: &(dyn Fn(f64) + Sync),
) -> ScreeningSummary {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    let chunk = chunk.max(1);
    let chunks = n.div_ceil(chunk);
    let done = AtomicU64::new(0);
    let prepared = model.prepare();
    let total = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let start = c * chunk;
            let part =
                model.simulate_chunk_prepared(&prepared, seed, start..(start + chunk).min(n));
            report((done.fetch_add(1, Ordering::Relaxed) + 1) as f64 / chunks as f64);
            part
        })
        .reduce(
            || model.empty_aggregate(),
            |mut a, b| {
                a.merge(&b);
                a
            },
        );
    let mut summary = total.summary();
    if model.deterministic {
        summary.crossing = model.deterministic_crossing();
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_valid() {
        ScreeningModel::example().validate().unwrap();
    }

    #[test]
    fn wilson_known_value() {
        // 8/10: Wilson 95 % = (0.4902, 0.9433).
        let (lo, hi) = wilson(8, 10);
        assert!(
            (lo - 0.4902).abs() < 1e-4 && (hi - 0.9433).abs() < 1e-4,
            "{lo} {hi}"
        );
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::new(0.0, 100.0, 100, false);
        for i in 0..100 {
            h.add(i as f64 + 0.5);
        }
        let med = h.quantile(0.5).unwrap();
        assert!((med - 50.0).abs() <= 1.0, "{med}");
        assert_eq!(h.quantile(0.0).unwrap(), 0.5);
        assert_eq!(h.quantile(1.0).unwrap(), 99.5);
    }

    /// The cohort kernel (`biopsy/cohort.rs`: one Poisson count, the noise
    /// as a probability, proofs from the recovery's cell, the table
    /// samplers, the closed-form blood level) against the general path,
    /// which draws every variable of the model as written: the same law of
    /// the detected share, false positives per test, tests per individual
    /// and the mean time and diameter at detection, within 4.5 standard
    /// errors, on 60 000 individuals of each of seven models (Gompertz,
    /// exponential and logistic growth; a Beta recovery with both shapes
    /// above 2, one near 2, a fixed one; an assay that sees non-vesicle
    /// particles; an assay without noise).
    #[test]
    fn cohort_kernel_follows_the_general_path_in_law() {
        use crate::biopsy::measurement::Isolation;
        let base = ScreeningModel::example();
        let mut models = vec![("example", base.clone())];
        let mut m = base.clone();
        m.tumour.growth = GrowthLaw::Exponential {
            rate: growth::rate_from_doubling_time(120.0 * DAY),
        };
        models.push(("exponential", m));
        let mut m = base.clone();
        m.tumour.growth = GrowthLaw::Logistic {
            rate: growth::rate_from_doubling_time(60.0 * DAY),
            capacity: 1e12,
        };
        models.push(("logistic", m));
        let mut m = base.clone();
        m.protocol.isolation = Isolation::precipitation();
        models.push(("precipitation", m));
        let mut m = base.clone();
        m.protocol.isolation.recovery_cv = 0.0;
        models.push(("fixed recovery", m));
        let mut m = base.clone();
        m.protocol.assay.nonvesicle_weight = 3e-10;
        models.push(("non-vesicles seen", m));
        let mut m = base.clone();
        m.protocol.assay.cv = 0.0;
        models.push(("no reading noise", m));
        let n = 60_000u64;
        for (name, mut model) in models {
            model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 4000, 5);
            let prepared = model.prepare();
            assert!(prepared.kernel(&model).is_some(), "{name}: a kernel model");
            let stats = |general: bool| {
                let (mut det, mut tests, mut fps) = (0u64, 0u64, 0u64);
                let (mut t, mut t2, mut d, mut d2) = (0.0, 0.0, 0.0, 0.0);
                for i in 0..n {
                    let o = if general {
                        model.screen_general(&prepared, 77, i)
                    } else {
                        model.screen_prepared(&prepared, 77, i)
                    };
                    tests += u64::from(o.tests);
                    fps += u64::from(o.false_positives);
                    if let Some(x) = o.detection {
                        det += 1;
                        t += x.time / YEAR;
                        t2 += (x.time / YEAR).powi(2);
                        d += x.diameter * 1e3;
                        d2 += (x.diameter * 1e3).powi(2);
                    }
                }
                (det, tests, fps, t, t2, d, d2)
            };
            let a = stats(false);
            let b = stats(true);
            let nf = n as f64;
            let share = |x: u64, of: f64| x as f64 / of;
            // Detected share.
            let (pa, pb) = (share(a.0, nf), share(b.0, nf));
            let se = ((pa * (1.0 - pa) + pb * (1.0 - pb)) / nf)
                .sqrt()
                .max(1.0 / nf);
            assert!((pa - pb).abs() < 4.5 * se, "{name}: detected {pa} vs {pb}");
            // False positives per test, tests per individual (Poisson-like s.e.).
            let (fa, fb) = (share(a.2, a.1 as f64), share(b.2, b.1 as f64));
            let se = (fa / a.1 as f64 + fb / b.1 as f64).sqrt().max(1.0 / nf);
            assert!(
                (fa - fb).abs() < 4.5 * se,
                "{name}: false positives per test {fa} vs {fb}"
            );
            let (ta, tb) = (share(a.1, nf), share(b.1, nf));
            let se = ((ta + tb) / nf).sqrt();
            assert!((ta - tb).abs() < 4.5 * se, "{name}: tests {ta} vs {tb}");
            // Means at detection.
            for (label, sa, sa2, sb, sb2) in [
                ("time", a.3, a.4, b.3, b.4),
                ("diameter", a.5, a.6, b.5, b.6),
            ] {
                let (na, nb) = (a.0.max(1) as f64, b.0.max(1) as f64);
                let (ma, mb) = (sa / na, sb / nb);
                let va = (sa2 / na - ma * ma).max(0.0);
                let vb = (sb2 / nb - mb * mb).max(0.0);
                let se = (va / na + vb / nb).sqrt();
                assert!(
                    (ma - mb).abs() < 4.5 * se + 1e-12,
                    "{name}: mean {label} {ma} vs {mb}"
                );
            }
            eprintln!(
                "{name}: detected {pa:.4}/{pb:.4}, fp/test {fa:.4}/{fb:.4}, tests {ta:.3}/{tb:.3}"
            );
        }
    }

    #[test]
    fn minimal_diameter_interpolates() {
        let p = |d: f64, k: u64| CurvePoint {
            diameter: d,
            cells: 0.0,
            tested: 10,
            positive: k,
            probability: k as f64 / 10.0,
            low: 0.0,
            high: 1.0,
        };
        let curve = [p(1.0, 0), p(2.0, 4), p(3.0, 8), p(4.0, 10)];
        assert!((minimal_detectable_diameter(&curve, 0.5).unwrap() - 2.25).abs() < 1e-12);
        assert!((minimal_detectable_diameter(&curve, 0.9).unwrap() - 3.5).abs() < 1e-12);
        assert_eq!(minimal_detectable_diameter(&curve[..2], 0.9), None);
    }
}
