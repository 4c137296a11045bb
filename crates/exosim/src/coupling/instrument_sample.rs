//! The sample an instrument reads, taken from an engine's output, and the
//! readings of a study's `[[instruments]]` (docs/instruments.md).
//!
//! A body sample is a place of an arm (blood, lymph, an organ's tissue) at
//! one output time: each chosen class's count over the place's volume
//! (blood: the plasma volume, `blood_volume × (1 − haematocrit)`, since
//! vesicles circulate in plasma and plasma is what is measured). A tissue
//! sample is the free vesicles of one variant and replicate over the
//! domain's volume. Each class keeps its log-normal size (median diameter,
//! `diameter_cv`). Blood samples carry the plasma's lipoproteins at the
//! biopsy's level ([`crate::coupling::lipoproteins`]) unless the study says
//! not. A biopsy sample is the plasma of a `[biopsy]` test's blood draw
//! ([`crate::coupling::biopsy_draw`]), fixed when the study is resolved.

use std::path::Path;

use crate::body::ArmCourse;
use crate::body::pbpk::Place;
use crate::coupling::biopsy_draw::Draw;
use crate::coupling::tissue_section::ReplicateRun;
use crate::instrument::bulk::{DigitalAssay, DigitalReading, Immunoassay, ImmunoassayReading};
use crate::instrument::flow::{FlowCytometer, FlowReading};
use crate::instrument::nta::{Nta, NtaReading};
use crate::instrument::{Component, Sample};
use crate::output::{self, OutputError, Table};
use crate::random::stream;

/// Random domain of the instruments' readings (one stream per instrument).
pub const INSTRUMENT_DOMAIN: u64 = u64::from_be_bytes(*b"instrmnt");

/// Where a sample is taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A place of a body arm.
    Body {
        /// Arm index.
        arm: usize,
        /// The place.
        place: Place,
        /// The place's volume, m³.
        volume: f64,
    },
    /// The tissue's free vesicles.
    Tissue {
        /// The coupled arm whose copy is sampled, when several arms hold
        /// the tissue.
        arm: Option<String>,
        /// Variant name.
        variant: String,
        /// Replicate, from 0.
        replicate: usize,
        /// The domain's volume, m³.
        volume: f64,
    },
    /// The plasma of a biopsy test's blood draw.
    Biopsy(Draw),
}

/// A vesicle class in a sample: its index in its engine and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleClass {
    /// Class index in the body's or the tissue's classes.
    pub index: usize,
    /// Class name.
    pub name: String,
    /// Median diameter, m.
    pub median: f64,
    /// σ of ln d.
    pub sigma: f64,
}

/// A sample, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleModel {
    /// Where.
    pub source: Source,
    /// When, s (an output time of its engine).
    pub time: f64,
    /// The classes in it.
    pub classes: Vec<SampleClass>,
    /// Whether the plasma's lipoproteins are in it
    /// ([`super::lipoproteins::in_plasma`]; a biopsy draw carries its own).
    pub lipoproteins: bool,
}

/// An instrument's model, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Reader {
    /// Nanoparticle tracking analysis.
    Nta(Nta),
    /// Flow cytometry.
    Flow(FlowCytometer),
    /// Bulk immunoassay.
    Immunoassay(Immunoassay),
    /// Digital single-vesicle assay.
    Digital(DigitalAssay),
}

/// One `[[instruments]]` entry, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentModel {
    /// Name.
    pub name: String,
    /// The model and its settings.
    pub reader: Reader,
    /// What it reads.
    pub sample: SampleModel,
}

/// A reading of any instrument.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Reading {
    /// NTA.
    Nta(NtaReading),
    /// Flow cytometry.
    Flow(FlowReading),
    /// Bulk immunoassay.
    Immunoassay(ImmunoassayReading),
    /// Digital assay.
    Digital(DigitalReading),
}

/// One instrument's sample and reading.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentRun {
    /// Instrument name.
    pub name: String,
    /// The sample as read.
    pub sample: Sample,
    /// What the instrument reported.
    pub reading: Reading,
    /// The blood draw read, for a biopsy sample.
    pub draw: Option<Draw>,
}

/// The sample of `model` from the body courses (`arms`, study order) and
/// the tissue's runs.
pub fn sample_of(model: &SampleModel, arms: &[ArmCourse], tissue: &[ReplicateRun]) -> Sample {
    if let Source::Biopsy(draw) = &model.source {
        return Sample {
            components: draw.components.clone(),
        };
    }
    let mut components: Vec<Component> = model
        .classes
        .iter()
        .map(|c| Component {
            name: c.name.clone(),
            concentration: count_of(model, c, arms, tissue).max(0.0) / volume_of(&model.source),
            median: c.median,
            sigma: c.sigma,
            vesicle: true,
            marker: true,
        })
        .collect();
    if model.lipoproteins {
        components.push(super::lipoproteins::in_plasma());
    }
    Sample { components }
}

fn volume_of(source: &Source) -> f64 {
    match source {
        Source::Body { volume, .. } | Source::Tissue { volume, .. } => *volume,
        Source::Biopsy(d) => d.plasma_volume,
    }
}

/// Vesicles of class `c` in the sample's place at its time.
fn count_of(
    model: &SampleModel,
    c: &SampleClass,
    arms: &[ArmCourse],
    tissue: &[ReplicateRun],
) -> f64 {
    match &model.source {
        Source::Body { arm, place, .. } => {
            let course = &arms[*arm];
            let k = nearest(&course.times, model.time);
            course
                .classes
                .iter()
                .find(|cc| cc.class == c.index)
                .and_then(|cc| cc.series(*place))
                .map_or(0.0, |s| s[k])
        }
        Source::Tissue {
            arm,
            variant,
            replicate,
            ..
        } => tissue
            .iter()
            .find(|r| {
                &r.variant == variant
                    && r.replicate == *replicate
                    && (arm.is_none() || r.arm() == arm.as_deref())
            })
            .and_then(|r| {
                let times: Vec<f64> = r.record.rows.iter().map(|row| row[0]).collect();
                let k = nearest(&times, model.time);
                r.record
                    .series(&format!("vesicles_{}_free", c.name))
                    .map(|s| s[k])
            })
            .unwrap_or(0.0),
        Source::Biopsy(_) => 0.0,
    }
}

/// Index of the time nearest `t` (the resolver put `t` on the grid).
fn nearest(times: &[f64], t: f64) -> usize {
    times
        .iter()
        .enumerate()
        .fold((0, f64::INFINITY), |best, (i, &x)| {
            let gap = (x - t).abs();
            if gap < best.1 { (i, gap) } else { best }
        })
        .0
}

/// Every instrument of the study, each with its own random stream.
pub fn run_all(
    models: &[InstrumentModel],
    seed: u64,
    arms: &[ArmCourse],
    tissue: &[ReplicateRun],
) -> Vec<InstrumentRun> {
    models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let sample = sample_of(&m.sample, arms, tissue);
            let mut rng = stream(seed, INSTRUMENT_DOMAIN, i as u64);
            let reading = match &m.reader {
                Reader::Nta(x) => Reading::Nta(x.measure(&sample, &mut rng)),
                Reader::Flow(x) => Reading::Flow(x.measure(&sample, &mut rng)),
                Reader::Immunoassay(x) => Reading::Immunoassay(x.measure(&sample, &mut rng)),
                Reader::Digital(x) => Reading::Digital(x.measure(&sample, &mut rng)),
            };
            InstrumentRun {
                name: m.name.clone(),
                sample,
                reading,
                draw: match &m.sample.source {
                    Source::Biopsy(d) => Some(d.clone()),
                    _ => None,
                },
            }
        })
        .collect()
}

/// One instrument in `summary.json`, in the units a lab reports: sizes in
/// nm, concentrations per mL.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstrumentSummary {
    /// Instrument name.
    pub name: String,
    /// `nta`, `flow_cytometry`, `immunoassay` or `digital`.
    pub kind: &'static str,
    /// Particles per mL of the sample, every component, as simulated.
    pub true_per_ml: f64,
    /// Vesicles per mL of the sample, as simulated.
    pub true_vesicles_per_ml: f64,
    /// Reported concentration, per mL of the undiluted sample (null when
    /// nothing could be reported: below the LOD, saturated).
    pub reported_per_ml: Option<f64>,
    /// NTA: D10, D50, D90 and mode of the reported sizes, nm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sizes_nm: Option<SizesNm>,
    /// NTA: tracks counted; flow: events; digital: positive partitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted: Option<f64>,
    /// NTA: detected particles per frame; whether in the counting range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub particles_per_frame: Option<f64>,
    /// NTA: `too_dilute`, `in_range` or `too_concentrated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counting_range: Option<crate::instrument::nta::CountingRange>,
    /// NTA: stated sizing error, σ of ln(reported/true diameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sizing_sigma: Option<f64>,
    /// NTA: share of the tracks that were lipoproteins; flow: share of
    /// the particles above the trigger (single events) that are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lipoprotein_share: Option<f64>,
    /// Flow: events per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_per_second: Option<f64>,
    /// Flow: events triggered by single particles and by swarms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_events: Option<f64>,
    /// Flow: events triggered by swarms of sub-threshold particles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm_events: Option<f64>,
    /// Flow: swarm events above the flagged share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<bool>,
    /// Digital: every partition positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturated: Option<bool>,
    /// A biopsy sample: the draw and each population in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draw: Option<DrawSummary>,
}

/// A biopsy draw in `summary.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DrawSummary {
    /// The test whose draw was read.
    pub test: String,
    /// Tumour diameter, m.
    pub diameter_m: f64,
    /// Tumour cells.
    pub tumour_cells: f64,
    /// Plasma drawn, mL.
    pub plasma_ml: f64,
    /// Whether the test's isolation was applied.
    pub isolated: bool,
    /// Marker-bearing vesicles per mL (tumour and background): what a
    /// marker-specific assay should report.
    pub true_marker_per_ml: f64,
    /// Each population: per mL and in the tube.
    pub populations: Vec<PopulationSummary>,
}

/// One population of a draw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PopulationSummary {
    /// `tumour`, `marker_background`, `plasma_vesicles` or `lipoproteins`.
    pub name: String,
    /// Particles per mL of the plasma drawn (of the isolate, if isolated).
    pub per_ml: f64,
    /// Particles in the tube: per mL × the plasma drawn.
    pub in_draw: f64,
    /// Median diameter, nm.
    pub median_nm: f64,
    /// Coefficient of variation of the diameter.
    pub diameter_cv: f64,
    /// Whether it carries the marker.
    pub marker: bool,
}

fn draw_summary(d: &Draw) -> DrawSummary {
    DrawSummary {
        test: d.test.clone(),
        diameter_m: d.diameter,
        tumour_cells: d.cells,
        plasma_ml: d.plasma_volume / crate::units::MILLILITRE,
        isolated: d.isolated,
        true_marker_per_ml: d
            .components
            .iter()
            .filter(|c| c.marker)
            .map(|c| c.concentration)
            .sum::<f64>()
            * PER_ML,
        populations: d
            .components
            .iter()
            .map(|c| PopulationSummary {
                name: c.name.clone(),
                per_ml: c.concentration * PER_ML,
                in_draw: c.concentration * d.plasma_volume,
                median_nm: c.median * NM,
                diameter_cv: (c.sigma * c.sigma).exp_m1().sqrt(),
                marker: c.marker,
            })
            .collect(),
    }
}

/// NTA sizes in nm.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SizesNm {
    /// Mode.
    pub mode: f64,
    /// D10.
    pub d10: f64,
    /// D50.
    pub d50: f64,
    /// D90.
    pub d90: f64,
}

const PER_ML: f64 = 1e-6;
const NM: f64 = 1e9;

/// The `instruments` part of `summary.json`.
pub fn summarise(runs: &[InstrumentRun]) -> Vec<InstrumentSummary> {
    runs.iter().map(summary_of).collect()
}

fn summary_of(run: &InstrumentRun) -> InstrumentSummary {
    let vesicles: f64 = run
        .sample
        .components
        .iter()
        .filter(|c| c.vesicle)
        .map(|c| c.concentration)
        .sum();
    let mut s = InstrumentSummary {
        name: run.name.clone(),
        kind: kind_of(&run.reading),
        true_per_ml: run.sample.total() * PER_ML,
        true_vesicles_per_ml: vesicles * PER_ML,
        reported_per_ml: None,
        sizes_nm: None,
        counted: None,
        particles_per_frame: None,
        counting_range: None,
        sizing_sigma: None,
        lipoprotein_share: None,
        events_per_second: None,
        single_events: None,
        swarm_events: None,
        swarm: None,
        saturated: None,
        draw: run.draw.as_ref().map(draw_summary),
    };
    match &run.reading {
        Reading::Nta(r) => {
            s.reported_per_ml = Some(r.concentration * PER_ML);
            s.sizes_nm = r.statistics.map(|x| SizesNm {
                mode: x.mode * NM,
                d10: x.d10 * NM,
                d50: x.d50 * NM,
                d90: x.d90 * NM,
            });
            s.counted = Some(r.tracks);
            s.particles_per_frame = Some(r.particles_per_frame);
            s.counting_range = Some(r.range);
            s.sizing_sigma = Some(r.sizing_sigma);
            let lipo: f64 = run
                .sample
                .components
                .iter()
                .zip(&r.tracks_per_component)
                .filter(|(c, _)| !c.vesicle)
                .map(|(_, t)| t)
                .sum();
            s.lipoprotein_share = (r.tracks > 0.0).then(|| lipo / r.tracks);
        }
        Reading::Flow(r) => {
            s.reported_per_ml = Some(r.concentration * PER_ML);
            s.counted = Some(r.events);
            s.events_per_second = Some(r.events_per_second);
            s.single_events = Some(r.single_events);
            s.swarm_events = Some(r.swarm_events);
            s.swarm = Some(r.swarm);
            let lipo: f64 = run
                .sample
                .components
                .iter()
                .zip(&r.above_per_component)
                .filter(|(c, _)| !c.vesicle)
                .map(|(_, a)| a)
                .sum();
            s.lipoprotein_share =
                (r.true_above_threshold > 0.0).then(|| lipo / r.true_above_threshold);
        }
        Reading::Immunoassay(r) => s.reported_per_ml = r.reported.map(|x| x * PER_ML),
        Reading::Digital(r) => {
            s.reported_per_ml = r.concentration.map(|x| x * PER_ML);
            s.counted = Some(r.positives);
            s.saturated = Some(r.saturated);
        }
    }
    s
}

/// The kind's name in study files.
pub fn kind_of(reading: &Reading) -> &'static str {
    match reading {
        Reading::Nta(_) => "nta",
        Reading::Flow(_) => "flow_cytometry",
        Reading::Immunoassay(_) => "immunoassay",
        Reading::Digital(_) => "digital",
    }
}

/// The file of an NTA reading: `instrument_<name>.csv`.
pub fn file_name(name: &str) -> String {
    format!("instrument_{name}.csv")
}

/// The files [`write`] makes: one per NTA, in study order.
pub fn planned_files(models: &[InstrumentModel]) -> Vec<String> {
    models
        .iter()
        .filter(|m| matches!(m.reader, Reader::Nta(_)))
        .map(|m| file_name(&m.name))
        .collect()
}

/// Writes each NTA's reported size histogram next to the sample's true one.
pub fn write(dir: &Path, runs: &[InstrumentRun]) -> Result<(), OutputError> {
    for run in runs {
        if let Reading::Nta(r) = &run.reading {
            output::write_csv(&dir.join(file_name(&run.name)), &histogram_table(r))?;
        }
    }
    Ok(())
}

/// An NTA's histogram: bin edges (nm), then per bin the particles per mL
/// of the sample that the NTA reported and that the sample held.
pub fn histogram_table(r: &NtaReading) -> Table {
    // The width in nm, rounded to 1e-6 nm so that edges read 10, 20, 30.
    let w = (r.reported.bin_width * NM * 1e6).round() / 1e6;
    let bins = r.reported.per_m3.len();
    let columns: [(&str, &str, &str, Vec<f64>); 4] = [
        (
            "diameter_low_nm",
            "nm",
            "lower edge of the size bin",
            (0..bins).map(|i| i as f64 * w).collect(),
        ),
        (
            "diameter_high_nm",
            "nm",
            "upper edge of the size bin",
            (0..bins).map(|i| (i + 1) as f64 * w).collect(),
        ),
        (
            "reported_per_ml",
            "/mL",
            "particles per mL of the undiluted sample reported in the bin",
            r.reported.per_m3.iter().map(|x| x * PER_ML).collect(),
        ),
        (
            "true_per_ml",
            "/mL",
            "particles per mL of the sample in the bin, as simulated",
            r.truth.per_m3.iter().map(|x| x * PER_ML).collect(),
        ),
    ];
    Table::from_columns(columns)
}
