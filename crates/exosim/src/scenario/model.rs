//! The resolved, validated study: plain numbers in internal SI units.
//!
//! Engines receive these values and trust them: every range and cross-field
//! check has been done by [`super::resolve`].

use super::spec::StudySpec;
use crate::body::model::{Arm, Plan, SolverSettings, VesicleClass};

/// A study ready to run.
#[derive(Debug, Clone)]
pub struct Study {
    /// Identifier.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Seed of every random stream.
    pub seed: u64,
    /// End time, s.
    pub duration: f64,
    /// Sorted, unique output times, s, from 0 to `duration`.
    pub output_times: Vec<f64>,
    /// Times at which organ shares are reported, s.
    pub report_times: Vec<f64>,
    /// Integrator settings.
    pub solver: SolverSettings,
    /// Vesicle classes, indexed by doses and sources.
    pub vesicles: Vec<VesicleClass>,
    /// Simulated individuals of the body engine (none in a biopsy-only study).
    pub arms: Vec<Arm>,
    /// The liquid-biopsy part, if the study has one.
    pub biopsy: Option<crate::biopsy::study::BiopsyStudy>,
    /// The `[biopsy]` section's test of conditions (body arms), when it has
    /// `[[biopsy.conditions]]` instead of a tumour.
    pub condition_test: Option<crate::biopsy::condition_test::ConditionTestStudy>,
    /// The multi-marker signature part, if the study has one.
    pub signature: Option<crate::biopsy::panel::SignatureStudy>,
    /// The tissue part, if the study has one.
    pub tissue: Option<crate::tissue::model::TissueModel>,
    /// Effect models, computed in every arm from its body course.
    pub effects: Vec<crate::coupling::exposure::EffectModel>,
    /// The production plan, if the study has one.
    pub production: Option<crate::production::ProductionModel>,
    /// Instruments and the samples they read.
    pub instruments: Vec<crate::coupling::instrument_sample::InstrumentModel>,
    /// The study as resolved: the user's file with every default filled in.
    pub resolved: StudySpec,
    /// What validation tells a valid study, located as errors are: a run
    /// estimated to take more than [`LONG_RUN_S`] on one thread. The
    /// command line prints them as `note:` lines.
    pub notices: Vec<super::error::StudyError>,
}

/// A run estimated to take longer than this on one thread, s, is told so
/// at validation (a notice), with the estimate: a study inside every limit
/// may still run for hours.
pub const LONG_RUN_S: f64 = 600.0;

impl Study {
    /// The body engine's view of the study.
    pub fn plan(&self) -> Plan<'_> {
        Plan {
            duration: self.duration,
            output_times: &self.output_times,
            report_times: &self.report_times,
            solver: self.solver,
            vesicles: &self.vesicles,
            arms: &self.arms,
        }
    }
}
