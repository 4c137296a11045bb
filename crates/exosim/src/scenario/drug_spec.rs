//! `[[drugs]]` as written: a release-inhibiting drug, its kinetics, doses,
//! action and targets (docs/effects.md, *Release inhibitors*). Resolved in
//! `resolve_drug`.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::units::{self, Dimension, Flow, MolarMass, Rate, Time, Volume};

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
    /// Central concentration of half the largest inhibition: molar
    /// (`"3 uM"`) or, with `molar_mass`, a mass per volume (`"1 ug/mL"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec50: Option<DrugQuantity>,
    /// Molar mass, for doses and an EC50 written as masses (`"355.4 g/mol"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub molar_mass: Option<MolarMass>,
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

impl DrugSpec {
    /// Whether a dose is written per body weight (`"10 mg/kg"`): such a
    /// drug is resolved with the weight of each arm that gets it.
    pub fn per_weight(&self) -> bool {
        self.doses
            .iter()
            .any(|d| d.amount.dim == Dimension::MassPerMass)
    }
}

/// `[[drugs.doses]]`: one administration, or a repeated schedule of it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DrugDoseSpec {
    /// `iv_bolus`, `iv_infusion` or `oral`.
    pub route: String,
    /// Amount per administration: molecules (`"20 nmol"`), a mass
    /// (`"5 mg"`) or a mass per body weight (`"10 mg/kg"`).
    pub amount: DrugQuantity,
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

/// A drug quantity as written, in one of the dimensions its key accepts:
/// an amount is molecules, a mass or a mass per body weight; an EC50 is a
/// molar or a mass concentration. Masses meet molecules through the drug's
/// `molar_mass` when the study is resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrugQuantity {
    /// The dimension the written unit has.
    pub dim: Dimension,
    /// The value in SI units of that dimension.
    pub si: f64,
}

impl DrugQuantity {
    /// Dimensions of a dose's `amount`, the first also that of a bare number.
    pub const AMOUNT: [Dimension; 3] = [Dimension::Count, Dimension::Mass, Dimension::MassPerMass];
    /// Dimensions of an `ec50`.
    pub const LEVEL: [Dimension; 2] = [Dimension::Concentration, Dimension::MassConcentration];

    /// A quantity in molecules (a count or a molar amount).
    pub fn copies(n: f64) -> Self {
        DrugQuantity {
            dim: Dimension::Count,
            si: n,
        }
    }
}

impl Default for DrugQuantity {
    fn default() -> Self {
        DrugQuantity::copies(0.0)
    }
}

impl Serialize for DrugQuantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&units::format_si(self.si, self.dim))
    }
}

impl<'de> Deserialize<'de> for DrugQuantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;

        impl Visitor<'_> for QuantityVisitor {
            type Value = DrugQuantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "molecules (\"20 nmol\", 1e15), a mass (\"5 mg\"), a mass per body weight (\"10 mg/kg\") or a concentration (\"3 uM\", \"1 ug/mL\")",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<DrugQuantity, E> {
                // Which key is read is not known here: every drug dimension
                // is accepted, and the resolver checks the one its key takes.
                let dims = [DrugQuantity::AMOUNT.as_slice(), &DrugQuantity::LEVEL].concat();
                units::parse_either(text, &dims)
                    .map(|(dim, si)| DrugQuantity { dim, si })
                    .map_err(|e| {
                        E::custom(format!(
                            "invalid quantity: {e}; a drug's amount is molecules (\"20 nmol\"), a mass (\"5 mg\") or a mass per body weight (\"10 mg/kg\"), its EC50 a molar or mass concentration (\"3 uM\", \"1 ug/mL\")"
                        ))
                    })
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<DrugQuantity, E> {
                if value.is_finite() {
                    Ok(DrugQuantity::copies(value))
                } else {
                    Err(E::custom(format!(
                        "invalid quantity: {value} is not a finite number"
                    )))
                }
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<DrugQuantity, E> {
                self.visit_f64(value as f64)
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<DrugQuantity, E> {
                self.visit_f64(value as f64)
            }
        }

        deserializer.deserialize_any(QuantityVisitor)
    }
}
