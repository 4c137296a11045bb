//! The `[biopsy]` section of a study file, as written: a tumour, the marker
//! it sheds, one or more blood tests, the decision rule and the outputs
//! wanted (detection curve, ROC, screening); or, instead of the tumour,
//! conditions that body arms set (`[[biopsy.conditions]]`), each told from
//! health by the marker's plasma level.

use serde::{Deserialize, Serialize};

use crate::units::{Concentration, Count, Length, Rate, Time, Volume};

/// `[biopsy]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BiopsySpec {
    /// Virtual individuals with a tumour, per curve point and for screening.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub cohort: Option<u64>,
    /// Virtual healthy individuals that fix the threshold.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub healthy_cohort: Option<u64>,
    /// No variability and no measurement noise: exact crossing times.
    #[serde(default)]
    pub deterministic: Option<bool>,
    /// Tumour growth (required without `conditions`, refused with them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tumour: Option<TumourSpec>,
    /// Conditions told from health, each a body arm (instead of a tumour).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionSpec>,
    /// The marker and its blood kinetics.
    pub marker: MarkerSpec,
    /// Inter-individual variability.
    #[serde(default)]
    pub variability: VariabilitySpec,
    /// Blood tests compared (draw, isolation, assay).
    pub tests: Vec<TestSpec>,
    /// How a test result becomes positive.
    #[serde(default)]
    pub decision: DecisionSpec,
    /// Detection probability against tumour size.
    #[serde(default)]
    pub curve: CurveSpec,
    /// Repeated testing from tumour initiation.
    #[serde(default)]
    pub screening: Option<ScreeningSpec>,
}

/// `[[biopsy.conditions]]`: a condition whose people live at the
/// marker's steady plasma level in a body arm.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// The arm whose body has the condition.
    pub arm: String,
}

/// `[biopsy.tumour]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TumourSpec {
    /// `exponential`, `logistic`, `gompertz`, `branching` or `tissue`.
    pub growth: String,
    /// Volume doubling time at initiation (deterministic laws).
    #[serde(default)]
    pub doubling_time: Option<Time>,
    /// Division rate of a tumour cell (`branching`).
    #[serde(default)]
    pub birth_rate: Option<Rate>,
    /// Death rate of a tumour cell (`branching`).
    #[serde(default)]
    pub death_rate: Option<Rate>,
    /// Size (cells) from which a branching tumour grows deterministically
    /// (`branching`, default 10⁴).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub switch_cells: Option<u64>,
    /// Plateau size (logistic and Gompertz), as a diameter.
    #[serde(default)]
    pub capacity_diameter: Option<Length>,
    /// Size at initiation (t = 0), as a diameter.
    #[serde(default)]
    pub initial_diameter: Option<Length>,
    /// Cells per tumour volume (default 1e9 /mL, docs/references.md#fiala-2018).
    #[serde(default)]
    pub cells_per_volume: Option<Concentration>,
    /// Cell type of the study's `[tissue]` counted as the tumour (`tissue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_type: Option<String>,
    /// Tissue variant followed (`tissue`; optional with one variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Real tumour cells per simulated cell (`tissue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells_per_simulated_cell: Option<f64>,
    /// Past the tissue's span: `none` (default) or `exponential` (`tissue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extrapolate: Option<String>,
}

/// `[biopsy.marker]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkerSpec {
    /// Name, for outputs.
    pub name: String,
    /// `counts` (vesicles, molecules: Poisson sampling) or `continuous`
    /// (an analyte in arbitrary units).
    #[serde(default)]
    pub sampling: Option<String>,
    /// Marker released per living tumour cell per unit time (tumour only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_live_cell: Option<Rate>,
    /// Marker released by each dying tumour cell.
    #[serde(default)]
    pub per_dying_cell: Option<Count>,
    /// Tumour cell death rate.
    #[serde(default)]
    pub death_rate: Option<Rate>,
    /// Share of the released marker that reaches blood (tumour only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction_to_blood: Option<f64>,
    /// Plasma level of a healthy individual (sets the background release;
    /// tumour only: with conditions the healthy arm sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_concentration: Option<Concentration>,
    /// Plasma half-life of the marker (first-order elimination); or
    /// `body_vesicles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life: Option<Time>,
    /// Vesicle class of the study's body whose blood kinetics the marker follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_vesicles: Option<String>,
    /// Arm whose body is used (optional with one arm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_arm: Option<String>,
    /// Plasma volume.
    #[serde(default)]
    pub plasma_volume: Option<Volume>,
}

/// `[biopsy.variability]`: log-normal CVs between individuals.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VariabilitySpec {
    /// Of the background release.
    #[serde(default)]
    pub background_cv: Option<f64>,
    /// Of the tumour's release per cell.
    #[serde(default)]
    pub shedding_cv: Option<f64>,
    /// Of the elimination rate.
    #[serde(default)]
    pub elimination_cv: Option<f64>,
    /// Of the background from one test to the next within an individual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_test_cv: Option<f64>,
    /// Of the gut barrier's permeability (conditions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permeability_cv: Option<f64>,
}

/// `[[biopsy.tests]]`: one blood test.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// Name, for outputs.
    pub name: String,
    /// Whole blood drawn.
    #[serde(default)]
    pub blood_volume: Option<Volume>,
    /// Plasma share of blood.
    #[serde(default)]
    pub plasma_fraction: Option<f64>,
    /// `none`, `ultracentrifugation`, `precipitation`, `size_exclusion` or `immunocapture`.
    pub isolation: String,
    /// Override: mean recovery.
    #[serde(default)]
    pub recovery_mean: Option<f64>,
    /// Override: CV of the recovery.
    #[serde(default)]
    pub recovery_cv: Option<f64>,
    /// Override: share of lipoproteins carried into the isolate.
    #[serde(default)]
    pub nonvesicle_carry_over: Option<f64>,
    /// `elisa`, `nta`, `digital_plasmonic`, `spr` or `spr_nanohole`.
    pub assay: String,
    /// Override: plasma volume analysed.
    #[serde(default)]
    pub input_volume: Option<Volume>,
    /// Override: reading CV.
    #[serde(default)]
    pub cv: Option<f64>,
    /// Override: limit of detection, as a plasma concentration.
    #[serde(default)]
    pub lod: Option<Concentration>,
    /// Override: technical replicates averaged.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub replicates: Option<u32>,
    /// Override: signal of a lipoprotein relative to a vesicle.
    #[serde(default)]
    pub nonvesicle_weight: Option<f64>,
    /// `sequencing`: positions (bases) the panel reads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::units::whole::option"
    )]
    pub panel_size: Option<u64>,
    /// `sequencing`: of them, positions where the tumour carries a clonal mutation.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::units::whole::option"
    )]
    pub panel_mutations: Option<u64>,
    /// `sequencing`: share of the sample's copies that are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
    /// `sequencing`: error rate per base per read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
}

/// `[biopsy.decision]`: one of `specificity`, `threshold` or `rule = "lod"`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionSpec {
    /// Threshold at this specificity on the healthy cohort (default 0.95).
    #[serde(default)]
    pub specificity: Option<f64>,
    /// A fixed cut-off on the estimated plasma concentration.
    #[serde(default)]
    pub threshold: Option<Concentration>,
    /// `lod`: every detected test is positive.
    #[serde(default)]
    pub rule: Option<String>,
    /// A false-positive rate over a year of tests on the screening's schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_false_positive_rate: Option<f64>,
    /// Prevalence for the positive predictive value.
    #[serde(default)]
    pub prevalence: Option<f64>,
}

/// `[biopsy.curve]`: diameters at which detection is estimated.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CurveSpec {
    /// Smallest diameter.
    #[serde(default)]
    pub from: Option<Length>,
    /// Largest diameter.
    #[serde(default)]
    pub to: Option<Length>,
    /// Points, spaced logarithmically.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub points: Option<u32>,
    /// `steady` (tumour held at each size) or `growing` (along the growth path).
    #[serde(default)]
    pub burden: Option<String>,
    /// Diameter at which the ROC curve of each test is reported.
    #[serde(default)]
    pub roc_diameter: Option<Length>,
    /// When a held tumour's tests (the steady curve, the ROC's cases) are
    /// drawn on the drugs' clock, with a drug on the marker's shedding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw_time: Option<Time>,
}

/// `[biopsy.screening]`: tests every `interval` from tumour initiation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningSpec {
    /// Time between tests.
    pub interval: Time,
    /// Length of the screening programme.
    pub duration: Time,
    /// Largest step of the blood-kinetics integrator.
    #[serde(default)]
    pub max_step: Option<Time>,
    /// Smallest tumour diameter an imaging exam finds (lead time over imaging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imaging_diameter: Option<Length>,
    /// Time between imaging exams (default: the tests' interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imaging_interval: Option<Time>,
    /// Which positive test is the detection: `tumour` (default: the first
    /// one the tumour made; false positives are counted and screening goes
    /// on) or `first_positive` (the first one, whatever made it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<String>,
}
