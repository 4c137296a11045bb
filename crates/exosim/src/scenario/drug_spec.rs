//! `[[drugs]]` as written: a release-inhibiting drug, its kinetics, doses,
//! action and targets (docs/effects.md, *Release inhibitors*). Resolved in
//! `resolve_drug`.

use serde::{Deserialize, Serialize};

use crate::units::{Concentration, Count, Flow, Rate, Time, Volume};

/// `[[drugs]]`, `[[arms.drugs]]`: one drug.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DrugSpec {
    /// Identifier, used in column names.
    pub name: String,
    /// 1 (default) or 2 compartments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compartments: Option<u32>,
    /// Clearance CL from the central compartment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearance: Option<Flow>,
    /// Central volume V (V1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Volume>,
    /// Two compartments: inter-compartmental clearance Q.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercompartmental_clearance: Option<Flow>,
    /// Two compartments: peripheral volume V2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peripheral_volume: Option<Volume>,
    /// Oral doses: absorption rate constant ka.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ka: Option<Rate>,
    /// Oral doses: fraction absorbed F (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bioavailability: Option<f64>,
    /// Largest inhibition of release, 0 to 1 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emax: Option<f64>,
    /// Central concentration of half the largest inhibition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec50: Option<Concentration>,
    /// Hill coefficient (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hill: Option<f64>,
    /// Body sources it acts on, by their `name` (a source's name defaults
    /// to its vesicle class).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Tissue cell types whose secretion it inhibits (study-wide drugs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cell_types: Vec<String>,
    /// The `[biopsy.marker]` whose shedding by live tumour cells it
    /// inhibits, by its name (study-wide drugs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markers: Vec<String>,
    /// Administrations.
    #[serde(default)]
    pub doses: Vec<DrugDoseSpec>,
}

/// `[[drugs.doses]]`: one administration, or a repeated schedule of it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DrugDoseSpec {
    /// `iv_bolus`, `iv_infusion` or `oral`.
    pub route: String,
    /// Amount per administration: `"20 nmol"`.
    pub amount: Count,
    /// Time of the first administration (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// Infusion length (`iv_infusion` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Time>,
    /// Interval between repeated administrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Time>,
    /// Number of administrations (default 1).
    #[serde(
        default,
        deserialize_with = "crate::units::whole::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub count: Option<u32>,
}
