//! `[production]` as written: the cells, platform, harvests and isolation
//! that make a study's vesicles (docs/production.md). Resolved in
//! `resolve_production`.

use serde::{Deserialize, Serialize};

use crate::units::{Count, Rate, Time, Volume};

/// `[production]`: a plan to make the study's doses in culture.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionSpec {
    /// Cells that make the vesicles (default `msc`, the producer whose
    /// platform yields are published).
    #[serde(default)]
    pub producer: Option<String>,
    /// `flask`, `multilayer`, `hollow_fibre`, `stirred_microcarrier`,
    /// `vertical_wheel`, or `custom` (every culture key given).
    pub platform: String,
    /// Units run side by side (default 1).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub units: Option<u64>,
    /// Cells seeded in one unit.
    #[serde(default)]
    pub seeded_cells: Option<Count>,
    /// Largest number of cells one unit holds.
    #[serde(default)]
    pub max_cells: Option<Count>,
    /// Population doubling time while cells are sparse.
    #[serde(default)]
    pub doubling_time: Option<Time>,
    /// Vesicles released per cell per time ("1e4 particles/day").
    #[serde(default)]
    pub release_rate: Option<Rate>,
    /// Medium in one unit.
    #[serde(default)]
    pub medium_volume: Option<Volume>,
    /// Growth before the first conditioning period; its medium is discarded.
    #[serde(default)]
    pub expansion: Option<Time>,
    /// Time between harvests of conditioned medium.
    #[serde(default)]
    pub harvest_interval: Option<Time>,
    /// Harvests in one run.
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub harvests: Option<u64>,
    /// Share of the medium collected at each harvest (default 1; batch
    /// harvests only).
    #[serde(default)]
    pub harvest_fraction: Option<f64>,
    /// Perfusion: medium volumes per time leaving each unit continuously
    /// into a cooled collection vessel emptied at each harvest
    /// ("1 /day"; default none: batch harvests).
    #[serde(default)]
    pub perfusion_rate: Option<Rate>,
    /// Half-life of vesicles in the medium at culture temperature
    /// (default none: stable).
    #[serde(default)]
    pub medium_half_life: Option<Time>,
    /// `ultracentrifugation`, `ultrafiltration`, `sec`, `tff`,
    /// `precipitation` or `custom` (with `recovery`).
    #[serde(default)]
    pub isolation: Option<String>,
    /// Share of the collected vesicles the isolation keeps (default: the
    /// method's).
    #[serde(default)]
    pub recovery: Option<f64>,
    /// Particles per µg of protein in the product.
    #[serde(default)]
    pub purity: Option<f64>,
    /// Vesicles one subject receives (default: the largest arm's doses).
    #[serde(default)]
    pub dose: Option<Count>,
    /// Subjects per arm, or in all when `dose` is given (default 1).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub subjects: Option<u64>,
}
