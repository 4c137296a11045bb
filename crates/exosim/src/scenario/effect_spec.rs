//! `[[effects]]` as written: what the exposure of a body place does
//! (docs/effects.md). Resolved in `resolve_effect`.

use serde::{Deserialize, Serialize};

use crate::units::{Concentration, Flow, Rate, Time, Volume};

/// `[[effects]]`: one effect model, computed in every arm.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EffectSpec {
    /// Identifier, used in columns and reports.
    pub name: String,
    /// `tumour_growth` (Simeoni et al. 2004), `turnover` (indirect
    /// response) or `direct`.
    pub model: String,
    /// What of the body drives it.
    pub exposure: ExposureSpec,
    /// Unit of the response, as reported (`tumour_growth`: mm3).
    #[serde(default)]
    pub unit: Option<String>,
    /// `tumour_growth`: tumour volume at time 0.
    #[serde(default)]
    pub initial_volume: Option<Volume>,
    /// `tumour_growth`: exponential growth rate λ0.
    #[serde(default)]
    pub lambda0: Option<Rate>,
    /// `tumour_growth`: linear growth rate λ1 (a volume per time).
    #[serde(default)]
    pub lambda1: Option<Flow>,
    /// `tumour_growth`: sharpness of the switch from exponential to linear
    /// growth (default 20, as Simeoni et al.).
    #[serde(default)]
    pub psi: Option<f64>,
    /// `tumour_growth`: transit rate of dying cells k1.
    #[serde(default)]
    pub k1: Option<Rate>,
    /// `tumour_growth`: kill potency k2, per concentration per time
    /// ("6e-4 /nM/day").
    #[serde(default)]
    pub k2: Option<Flow>,
    /// `turnover`: which rate the drug changes: `inhibit_production`,
    /// `inhibit_loss`, `stimulate_production`, `stimulate_loss`.
    #[serde(default)]
    pub action: Option<String>,
    /// `turnover`: the response without drug (steady state, `kin/kout`);
    /// `direct`: the response without drug.
    #[serde(default)]
    pub baseline: Option<f64>,
    /// `turnover`: loss rate constant kout.
    #[serde(default)]
    pub kout: Option<Rate>,
    /// `turnover`, `direct`: largest drug action (inhibition: at most 1).
    #[serde(default)]
    pub emax: Option<f64>,
    /// `turnover`, `direct`: concentration of half the largest action.
    #[serde(default)]
    pub ec50: Option<Concentration>,
    /// `turnover`, `direct`: Hill coefficient (default 1).
    #[serde(default)]
    pub hill: Option<f64>,
}

/// `exposure = { … }` of an effect.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureSpec {
    /// `concentration` (vesicles in the place per volume) or `delivered`
    /// (cargo taken up by the place's tissue).
    pub measure: String,
    /// `blood`, `lymph` or an organ (`tumour`, `liver`, …).
    pub place: String,
    /// Vesicle classes counted (default: every class).
    #[serde(default)]
    pub vesicles: Vec<String>,
    /// `delivered`: copies of cargo per vesicle.
    #[serde(default)]
    pub copies_per_vesicle: Option<f64>,
    /// `delivered`: half-life of the cargo in the tissue (default: it
    /// stays).
    #[serde(default)]
    pub cargo_half_life: Option<Time>,
}
