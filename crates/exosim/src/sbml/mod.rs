//! SBML Level 3 Version 2 (core) of a study's body arms, for other tools
//! (libRoadRunner, COPASI, and any SBML reader): one model per arm, the
//! very network exosim integrates ([`crate::body::pbpk::build`]) written
//! as compartments, species, reactions with MathML rate laws, and dose
//! events, every quantity with its units. docs/sbml.md says how each
//! mechanism maps.
//!
//! A release-inhibiting drug (`[[drugs]]`) is written with its kinetics
//! (gut depot, central and peripheral compartments) and its Emax/Hill hold
//! on the sources it acts on. A study whose arm the export cannot express
//! exactly is refused ([`ExportError`]): a tissue coupled to an arm
//! exchanges vesicles with an agent-based engine, which SBML core cannot
//! hold.

mod assemble;
mod document;
mod xml;

pub use assemble::sid;
pub use xml::SBML_NS;

use crate::body::model::Plan;
use crate::scenario::Study;

/// One arm's exported model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmSbml {
    /// Arm name.
    pub arm: String,
    /// File name: `model.xml` for a study of one arm, `model_ARM.xml`
    /// otherwise.
    pub file_name: String,
    /// The SBML document.
    pub xml: String,
    /// The species id of each state of the arm's network, in state order
    /// (as [`crate::body::pbpk::build`] numbers them): what a comparison
    /// with exosim's own trajectory needs.
    pub species: Vec<String>,
}

/// Why a study cannot be exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    /// Nothing to export.
    #[error("study `{study}` has no body arms: there is no body model to export as SBML")]
    NoBody {
        /// Study name.
        study: String,
    },
    /// An arm holds a coupled tissue.
    #[error(
        "arm `{arm}` of study `{study}` holds the [tissue] section's tissue ([tissue.coupling]): \
         its vesicles are exchanged with the agent-based tissue engine, which SBML cannot express"
    )]
    CoupledTissue {
        /// Study name.
        study: String,
        /// Arm name.
        arm: String,
    },
}

impl ExportError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            ExportError::NoBody { .. } => {
                "only the body engine ([body], [[vesicles]], doses, sources, arms) is exported"
            }
            ExportError::CoupledTissue { .. } => {
                "remove [tissue.coupling] (or the [tissue] section) to export the body arms alone"
            }
        }
    }
}

/// Every arm of `study` as an SBML model; refused as a whole when one arm
/// cannot be expressed exactly. Sections of other engines (an uncoupled
/// `[tissue]`, `[biopsy]`, `[signature]`, `[[effects]]`) are not part of
/// the body model and are left out; an untreated arm is a model without
/// species.
pub fn export(study: &Study) -> Result<Vec<ArmSbml>, ExportError> {
    if study.arms.is_empty() {
        return Err(ExportError::NoBody {
            study: study.name.clone(),
        });
    }
    if let Some(c) = study.tissue.as_ref().and_then(|t| t.coupling.as_ref()) {
        return Err(ExportError::CoupledTissue {
            study: study.name.clone(),
            arm: c
                .arms
                .iter()
                .map(|a| {
                    study
                        .arms
                        .get(a.arm)
                        .map_or_else(|| format!("#{}", a.arm), |x| x.name.clone())
                })
                .collect::<Vec<_>>()
                .join("`, `"),
        });
    }
    let plan = study.plan();
    let one = study.arms.len() == 1;
    Ok((0..study.arms.len())
        .map(|i| {
            let mut m = export_arm(&plan, i, &study.name);
            if !one {
                m.file_name = format!("model_{}.xml", m.arm);
            }
            m
        })
        .collect())
}

/// Arm `i` of `plan` as an SBML model, in a file named `model.xml`.
pub fn export_arm(plan: &Plan, i: usize, study: &str) -> ArmSbml {
    let arm = &plan.arms[i];
    let parts = assemble::parts(plan, arm);
    let xml = document::write(&parts, study, &arm.name);
    ArmSbml {
        arm: arm.name.clone(),
        file_name: "model.xml".to_string(),
        xml,
        species: parts.species.iter().map(|s| s.id.clone()).collect(),
    }
}
