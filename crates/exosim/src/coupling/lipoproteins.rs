//! Plasma lipoproteins as particles, one definition for every engine that
//! sees them (docs/instruments.md#doubts): their number per volume of
//! plasma (the biopsy's [`LIPOPROTEINS_PER_M3`]), their size distribution,
//! and the share of them a nanoparticle tracker sees. An instrument's
//! sample of plasma carries [`component`]; the biopsy's NTA assay weighs a
//! co-isolated lipoprotein, relative to a vesicle, by
//! [`nta_visible_fraction`] of the same distribution under the same
//! detection law, so the two models cannot drift apart.

use crate::biopsy::measurement::LIPOPROTEINS_PER_M3;
use crate::instrument::nta::Nta;
use crate::instrument::{Component, SizeGrid, sigma_of_cv};
use crate::units::NANOMETRE;

/// Median diameter of plasma lipoproteins: 25 nm, **assumed**. No number
/// size distribution of all plasma lipoproteins was found; 25 nm is the
/// upper end of LDL (18–25 nm), between HDL (8–12 nm) and VLDL
/// (30–80 nm) (docs/references.md#lipoprotein-sizes).
pub const LIPOPROTEIN_DIAMETER: f64 = 25.0 * NANOMETRE;
/// Coefficient of variation of their diameter: 0.3, **assumed**.
pub const LIPOPROTEIN_DIAMETER_CV: f64 = 0.3;

/// The plasma's lipoproteins as a sample component, at `concentration`
/// particles per m³ (plasma: [`LIPOPROTEINS_PER_M3`]), log-normal with
/// median [`LIPOPROTEIN_DIAMETER`] and CV [`LIPOPROTEIN_DIAMETER_CV`].
pub fn component(concentration: f64) -> Component {
    Component {
        name: "lipoproteins".into(),
        concentration,
        median: LIPOPROTEIN_DIAMETER,
        sigma: sigma_of_cv(LIPOPROTEIN_DIAMETER_CV),
        vesicle: false,
        marker: false,
    }
}

/// Plasma's lipoproteins: [`component`] at [`LIPOPROTEINS_PER_M3`].
pub fn in_plasma() -> Component {
    component(LIPOPROTEINS_PER_M3)
}

/// The share of lipoproteins `nta` detects, `E[p(d)]` over their size
/// distribution with `p(d) = 1/(1 + (d_min/d)⁶)` below `max_diameter`
/// ([`Nta::detection`]): the expected tracks of a lipoprotein-only sample
/// per particle, as [`Nta::measure`] computes them.
pub fn nta_visible_fraction(nta: &Nta) -> f64 {
    SizeGrid::of(&component(1.0))
        .weighted(|d| nta.detection(d))
        .total()
}
