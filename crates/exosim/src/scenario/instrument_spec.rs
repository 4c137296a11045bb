//! `[[instruments]]` as written: an instrument, its settings (a preset and
//! any value changed from it) and the sample it reads (docs/instruments.md).
//! Resolved in `resolve_instrument`.

use serde::{Deserialize, Serialize};

use crate::units::{Concentration, Count, Flow, Length, Rate, Time, Volume};

/// `[[instruments]]`: one measurement of one sample.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSpec {
    /// Identifier, used in file names and the summary.
    pub name: String,
    /// `nta`, `flow_cytometry`, `immunoassay` or `digital`.
    pub kind: String,
    /// A preset of the kind (default: the kind's first).
    #[serde(default)]
    pub preset: Option<String>,
    /// What is measured.
    pub sample: SampleSpec,
    /// Dilution of the sample before measurement (≥ 1; default 1).
    #[serde(default)]
    pub dilution: Option<f64>,
    /// NTA: diameter detected half the time (the lower size limit).
    #[serde(default)]
    pub min_diameter: Option<Length>,
    /// NTA: largest diameter sized (the upper size limit).
    #[serde(default)]
    pub max_diameter: Option<Length>,
    /// NTA: steps per track.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub track_steps: Option<u64>,
    /// NTA: camera frames per time ("30 /s").
    #[serde(default)]
    pub frame_rate: Option<Rate>,
    /// NTA: length of one video.
    #[serde(default)]
    pub video_length: Option<Time>,
    /// NTA: videos recorded.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub videos: Option<u64>,
    /// NTA: volume of sample the camera images.
    #[serde(default)]
    pub view_volume: Option<Volume>,
    /// NTA: detected particles per frame below which the sample is too dilute.
    #[serde(default)]
    pub min_per_frame: Option<f64>,
    /// NTA: detected particles per frame above which it is too concentrated.
    #[serde(default)]
    pub max_per_frame: Option<f64>,
    /// NTA: width of the histogram's bins.
    #[serde(default)]
    pub bin_width: Option<Length>,
    /// Flow cytometry: diameter of a vesicle whose scatter equals the trigger.
    #[serde(default)]
    pub threshold_diameter: Option<Length>,
    /// Flow cytometry: illuminated volume of the sample stream.
    #[serde(default)]
    pub measurement_volume: Option<Volume>,
    /// Flow cytometry: sample flow rate.
    #[serde(default)]
    pub flow_rate: Option<Flow>,
    /// Flow cytometry: acquisition time.
    #[serde(default)]
    pub acquisition_time: Option<Time>,
    /// Flow cytometry: volumes drawn to estimate the chance of a swarm.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub windows: Option<u64>,
    /// Flow cytometry: share of swarm events above which the reading is flagged.
    #[serde(default)]
    pub swarm_flag_share: Option<f64>,
    /// Immunoassay: diameter of one vesicle equivalent.
    #[serde(default)]
    pub reference_diameter: Option<Length>,
    /// Immunoassay: coefficient of variation of the reading.
    #[serde(default)]
    pub cv: Option<f64>,
    /// Immunoassay: limit of detection ("1e8 /mL").
    #[serde(default)]
    pub lod: Option<Concentration>,
    /// Digital assay: sample volume read.
    #[serde(default)]
    pub sample_volume: Option<Volume>,
    /// Digital assay: partitions read.
    #[serde(default)]
    pub partitions: Option<Count>,
    /// Digital assay: share of the vesicles in the volume captured and read.
    #[serde(default)]
    pub capture_efficiency: Option<f64>,
}

/// `[instruments.sample]`: which engine output is measured, where and when.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    /// `body` (a place of a body arm), `tissue` (the tissue's free
    /// vesicles) or `biopsy` (the plasma of a `[biopsy]` test's blood draw).
    pub from: String,
    /// Body: the arm (default: the first).
    #[serde(default)]
    pub arm: Option<String>,
    /// Body: `blood` (default), `lymph` or an organ.
    #[serde(default)]
    pub place: Option<String>,
    /// Tissue: the variant (default: the first).
    #[serde(default)]
    pub variant: Option<String>,
    /// Tissue: the replicate, from 1 (default 1).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub replicate: Option<u64>,
    /// Body and tissue: when the sample is taken, one of the engine's
    /// output times.
    #[serde(default)]
    pub time: Option<Time>,
    /// Body and tissue: vesicle classes in the sample (default: every class).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Whether plasma lipoproteins are in the sample (default: true for
    /// blood and a biopsy draw, false elsewhere).
    #[serde(default)]
    pub lipoproteins: Option<bool>,
    /// Biopsy: the tumour's diameter (default: `[biopsy.curve]
    /// roc_diameter`).
    #[serde(default)]
    pub diameter: Option<Length>,
    /// Biopsy: the `[[biopsy.tests]]` whose draw is read (default: the first).
    #[serde(default)]
    pub test: Option<String>,
    /// Biopsy: read the test's isolate instead of the plasma (default false).
    #[serde(default)]
    pub isolated: Option<bool>,
    /// Biopsy: median diameter of the marker's vesicles (default: the
    /// `body_vesicles` class's, else 100 nm).
    #[serde(default)]
    pub marker_diameter: Option<Length>,
    /// Biopsy: coefficient of variation of their diameter (default: the
    /// `body_vesicles` class's, else 0.4).
    #[serde(default)]
    pub marker_diameter_cv: Option<f64>,
    /// Biopsy: whether the plasma's other vesicles are in the sample
    /// (default true).
    #[serde(default)]
    pub plasma_vesicles: Option<bool>,
}
