//! The kinds of observables, with the unit, keys and definition of each
//! in one table ([`TABLE`]): the resolver refuses keys from it, and
//! docs/observables.md is checked against it.

use serde::{Deserialize, Serialize};

/// What an observable measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Apparent initial half-life of blood (s).
    InitialHalfLife,
    /// Terminal half-life of blood, ln 2 / λz (s).
    TerminalHalfLife,
    /// Blood AUC to the last positive sample (s/m³).
    AucLast,
    /// Blood AUC extrapolated to infinity (s/m³).
    AucInf,
    /// Mean residence time (s).
    Mrt,
    /// Peak blood concentration (1/m³).
    CMax,
    /// Time of the peak blood concentration after the dose (s).
    TMax,
    /// Total clearance, dose / AUC∞ (m³/s).
    Clearance,
    /// Vesicles in a place at a time.
    Count,
    /// Share of what entered that is in a place at a time.
    FractionOfDose,
    /// Vesicles per volume of plasma at a time (1/m³).
    PlasmaConcentration,
    /// Share of what entered taken up by an organ by a time.
    FractionDelivered,
    /// Largest count of a place.
    Peak,
    /// Time of the largest count of a place (s).
    PeakTime,
    /// Cells of a type.
    Cells,
    /// Cells of a type over cells at the start.
    FoldChange,
    /// Cells of a type killed by contact, so far.
    Kills,
    /// Vesicles taken up by cells of a type, so far.
    Uptakes,
    /// Cells of a type that died, so far.
    Deaths,
    /// Divisions of cells of a type, so far.
    Divisions,
    /// Mean of a state variable over the cells of a type.
    StateMean,
    /// Mean copies of a cargo molecule held per cell of a type.
    CargoHeld,
    /// Tissue vesicles of a class in a fate.
    TissueVesicles,
    /// Smallest tumour diameter detected with a given probability (m).
    DetectableDiameter,
    /// Probability that one test detects a tumour of a diameter.
    DetectionProbability,
    /// ROC AUC of a test at the study's ROC diameter.
    RocAuc,
    /// Held-out AUC of a signature.
    SignatureAuc,
    /// An effect's response at a time, in the effect's unit.
    Effect,
    /// An effect's response at a time over its start.
    EffectChange,
    /// An effect's lowest response after time 0 over its start, minus 1.
    BestResponse,
    /// When an effect's response first progressed from its lowest (s).
    TimeToProgression,
    /// Whether an effect's response progressed by the end (1 or 0).
    Progressed,
}

/// Unit, keys and definition of a kind, for resolving and for the docs.
#[derive(Debug, Clone, Copy)]
pub struct About {
    /// The name written in a campaign file.
    pub name: &'static str,
    /// Unit of the value (SI, as in the run's tables).
    pub unit: &'static str,
    /// Keys the kind takes besides `name` and `kind`.
    pub keys: &'static [&'static str],
    /// One-line definition.
    pub definition: &'static str,
}

/// How the replicates of a tissue variant are combined into one number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Mean over replicates.
    #[default]
    Mean,
    /// Sample standard deviation over replicates (0 for one replicate).
    Sd,
    /// Smallest replicate.
    Min,
    /// Largest replicate.
    Max,
}

impl Statistic {
    /// The name written in a campaign file.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Mean => "mean",
            Statistic::Sd => "sd",
            Statistic::Min => "min",
            Statistic::Max => "max",
        }
    }
}

pub(super) const PK: &[&str] = &["arm", "vesicles"];
pub(super) const AT_PLACE: &[&str] = &["arm", "vesicles", "place", "time"];
pub(super) const OF_PLACE: &[&str] = &["arm", "vesicles", "place"];
pub(super) const AT_TIME: &[&str] = &["arm", "vesicles", "time"];
pub(super) const CELLS: &[&str] = &["variant", "arm", "statistic", "cell_type", "time"];
pub(super) const STATE: &[&str] = &["variant", "arm", "statistic", "cell_type", "state", "time"];
pub(super) const HELD: &[&str] = &[
    "variant",
    "arm",
    "statistic",
    "cell_type",
    "molecule",
    "time",
];
pub(super) const FATE: &[&str] = &["variant", "arm", "statistic", "vesicles", "place", "time"];
pub(super) const EFFECT: &[&str] = &["arm", "effect", "time"];
pub(super) const COURSE: &[&str] = &["arm", "effect"];

/// Which engine's result a kind reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Domain {
    Body,
    Tissue,
    Biopsy,
    Signature,
    Effect,
}

/// (kind, name, unit, keys, definition), in the order of docs/observables.md.
const TABLE: [(Kind, &str, &str, &[&str], &str); 32] = [
    (
        Kind::InitialHalfLife,
        "initial_half_life",
        "s",
        PK,
        "time from the blood peak after the first dose to half that peak, interpolated log-linearly",
    ),
    (
        Kind::TerminalHalfLife,
        "terminal_half_life",
        "s",
        PK,
        "ln 2 / λz, λz from the log-linear fit of the blood curve's terminal phase after the first dose",
    ),
    (
        Kind::AucLast,
        "auc_last",
        "s/m3",
        PK,
        "area under the blood concentration curve of the first dose to its last positive sample (linear up, log down)",
    ),
    (
        Kind::AucInf,
        "auc_inf",
        "s/m3",
        PK,
        "auc_last extrapolated to infinity with the terminal phase, + C_last / λz",
    ),
    (
        Kind::Mrt,
        "mrt",
        "s",
        PK,
        "mean residence time in blood of the first dose, AUMC∞ / AUC∞",
    ),
    (
        Kind::CMax,
        "c_max",
        "/m3",
        PK,
        "peak blood concentration after the first dose",
    ),
    (
        Kind::TMax,
        "t_max",
        "s",
        PK,
        "time of the peak blood concentration, from the first dose",
    ),
    (
        Kind::Clearance,
        "clearance",
        "m3/s",
        PK,
        "total blood clearance of the first dose, dose / AUC∞",
    ),
    (
        Kind::Count,
        "count",
        "vesicles",
        AT_PLACE,
        "vesicles of the class in the place at the time",
    ),
    (
        Kind::FractionOfDose,
        "fraction_of_dose",
        "1",
        AT_PLACE,
        "vesicles in the place at the time over all that entered by then (dosed, released, drained in)",
    ),
    (
        Kind::PlasmaConcentration,
        "plasma_concentration",
        "/m3",
        AT_TIME,
        "vesicles of the class in blood over the plasma volume (blood volume × (1 − haematocrit)) at the time",
    ),
    (
        Kind::FractionDelivered,
        "fraction_delivered",
        "1",
        AT_PLACE,
        "vesicles taken up by the organ's tissue from its blood by the time, cumulatively, over all that entered by then",
    ),
    (
        Kind::Peak,
        "peak",
        "vesicles",
        OF_PLACE,
        "largest count of the class in the place over the output times",
    ),
    (
        Kind::PeakTime,
        "peak_time",
        "s",
        OF_PLACE,
        "first output time at which the place holds its largest count",
    ),
    (
        Kind::Cells,
        "cells",
        "cells",
        CELLS,
        "cells of the type at the time (default: the end)",
    ),
    (
        Kind::FoldChange,
        "fold_change",
        "1",
        CELLS,
        "cells of the type at the time over cells at the start",
    ),
    (
        Kind::Kills,
        "kills",
        "cells",
        CELLS,
        "cells of the type killed by contact by the time",
    ),
    (
        Kind::Uptakes,
        "uptakes",
        "vesicles",
        CELLS,
        "vesicles taken up by cells of the type by the time",
    ),
    (
        Kind::Deaths,
        "deaths",
        "cells",
        CELLS,
        "cells of the type that died by the time",
    ),
    (
        Kind::Divisions,
        "divisions",
        "cells",
        CELLS,
        "divisions of cells of the type by the time",
    ),
    (
        Kind::StateMean,
        "state_mean",
        "1",
        STATE,
        "mean of the state variable over the cells of the type at the time",
    ),
    (
        Kind::CargoHeld,
        "cargo_held",
        "copies",
        HELD,
        "mean copies of the cargo molecule held per cell of the type at the time",
    ),
    (
        Kind::TissueVesicles,
        "tissue_vesicles",
        "vesicles",
        FATE,
        "tissue vesicles of the class in the fate (free, taken_up, …) at the time",
    ),
    (
        Kind::DetectableDiameter,
        "detectable_diameter",
        "m",
        &["test", "probability"],
        "smallest tumour diameter the test detects with the probability, interpolated along its detection curve",
    ),
    (
        Kind::DetectionProbability,
        "detection_probability",
        "1",
        &["test", "diameter"],
        "probability that one test is positive for a tumour of the diameter (a point of the detection curve)",
    ),
    (
        Kind::RocAuc,
        "roc_auc",
        "1",
        &["test"],
        "area under the test's ROC curve at the study's ROC diameter (Mann–Whitney)",
    ),
    (
        Kind::SignatureAuc,
        "signature_auc",
        "1",
        &["condition"],
        "the signature's AUC against healthy people on held-out folds, mean over folds",
    ),
    (
        Kind::Effect,
        "effect",
        "the effect's",
        EFFECT,
        "the effect's response in the arm at the time, in the effect's unit (a tumour in mm3)",
    ),
    (
        Kind::EffectChange,
        "effect_change",
        "1",
        EFFECT,
        "the effect's response in the arm at the time over its response at time 0",
    ),
    (
        Kind::BestResponse,
        "best_response",
        "1",
        COURSE,
        "the lowest response at an output time after 0 over the response at time 0, minus 1 (-0.5: halved), as RECIST's best overall response",
    ),
    (
        Kind::TimeToProgression,
        "time_to_progression",
        "s",
        COURSE,
        "the first output time at which the response is at least 1.728 times its lowest value so far (RECIST's +20 % in diameter, as a volume); the study's end when it never is (see `progressed`)",
    ),
    (
        Kind::Progressed,
        "progressed",
        "1",
        COURSE,
        "1 when the response progressed (as `time_to_progression`) by the study's end, else 0",
    ),
];

impl Kind {
    /// Every kind, in the order of docs/observables.md.
    pub const ALL: [Kind; 32] = {
        let mut all = [Kind::Count; 32];
        let mut i = 0;
        while i < 32 {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    /// The keys a kind takes: what it is measured in and on.
    pub fn keys(self) -> &'static [&'static str] {
        self.about().keys
    }

    /// Whether the kind is a PK figure of the blood curve of a first dose.
    pub(super) fn is_pk(self) -> bool {
        self.keys() == PK
    }

    pub(super) fn domain(self) -> Domain {
        use Kind::*;
        match self {
            InitialHalfLife | TerminalHalfLife | AucLast | AucInf | Mrt | CMax | TMax
            | Clearance | Count | FractionOfDose | PlasmaConcentration | FractionDelivered
            | Peak | PeakTime => Domain::Body,
            Cells | FoldChange | Kills | Uptakes | Deaths | Divisions | StateMean | CargoHeld
            | TissueVesicles => Domain::Tissue,
            DetectableDiameter | DetectionProbability | RocAuc => Domain::Biopsy,
            SignatureAuc => Domain::Signature,
            Effect | EffectChange | BestResponse | TimeToProgression | Progressed => Domain::Effect,
        }
    }

    /// Name, unit, keys and definition.
    pub fn about(self) -> About {
        let (_, name, unit, keys, definition) = TABLE
            .iter()
            .copied()
            .find(|row| row.0 == self)
            .expect("every kind has a row in TABLE");
        About {
            name,
            unit,
            keys,
            definition,
        }
    }
}
