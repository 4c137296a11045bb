//! The plasma of a `[biopsy]` study's blood draw as the particles an
//! instrument reads (docs/instruments.md#the-sample).
//!
//! The draw is one test's tube (`blood_volume × plasma_fraction` of
//! plasma) from the nominal individual, the one `deterministic = true`
//! follows and whose healthy level is exactly `background_concentration`,
//! carrying a tumour held at one diameter at its steady blood level (the
//! `[biopsy.curve]`'s `steady` burden; with a drug on the shedding, at its
//! `draw_time`). The plasma holds four populations, each log-normal in
//! diameter:
//!
//! - `tumour`: the tumour's marker vesicles, `s·N·F̄/(k·V)`;
//! - `marker_background`: the marker's vesicles from healthy tissues,
//!   `B/(k·V)`;
//! - `plasma_vesicles`: every other vesicle of plasma,
//!   [`PLASMA_VESICLES_PER_M3`] (docs/references.md#johnsen-2019), carrying
//!   no marker;
//! - `lipoproteins`: [`crate::coupling::lipoproteins::in_plasma`].
//!
//! Concentrations are per m³ of the plasma drawn; after the test's
//! isolation (`isolated`), the isolate is taken up in the same volume: the
//! vesicles times the method's mean recovery, the lipoproteins times its
//! carry-over.

use crate::biopsy::growth::cells_for_diameter;
use crate::biopsy::kinetics::BloodKinetics;
use crate::biopsy::screening::ScreeningModel;
use crate::instrument::Component;
use crate::units::{MILLILITRE, NANOMETRE};

/// Vesicles per m³ of human plasma: about 10¹⁰ per mL, method-dependent
/// (docs/references.md#johnsen-2019), the figure the biopsy's lipoprotein
/// level is derived from.
pub const PLASMA_VESICLES_PER_M3: f64 = 1e10 / MILLILITRE;
/// Median diameter of plasma vesicles and, by default, of the marker's:
/// 100 nm, **assumed**; with [`VESICLE_DIAMETER_CV`] 96 % are below
/// 200 nm, as most plasma vesicles are (docs/references.md#lipoproteins-2018).
pub const VESICLE_DIAMETER: f64 = 100.0 * NANOMETRE;
/// Coefficient of variation of their diameter: 0.4, **assumed**.
pub const VESICLE_DIAMETER_CV: f64 = 0.4;

/// What is in the tube and how it is read, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawSettings {
    /// Tumour diameter, m.
    pub diameter: f64,
    /// Whether the test's isolation is applied.
    pub isolated: bool,
    /// Median diameter of the marker's vesicles (tumour and background), m.
    pub marker_median: f64,
    /// σ of ln d of the marker's vesicles.
    pub marker_sigma: f64,
    /// Whether the other plasma vesicles are in the sample.
    pub plasma_vesicles: bool,
    /// Whether the lipoproteins are in the sample.
    pub lipoproteins: bool,
}

/// A blood draw as a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// Name of the test whose draw it is.
    pub test: String,
    /// Tumour diameter, m.
    pub diameter: f64,
    /// Tumour cells at that diameter.
    pub cells: f64,
    /// Plasma drawn, m³.
    pub plasma_volume: f64,
    /// Whether the test's isolation was applied.
    pub isolated: bool,
    /// The populations, per m³ of the plasma drawn (of the isolate taken
    /// up in that volume when isolated).
    pub components: Vec<Component>,
}

/// The plasma levels (per m³) of the tumour's and the background's marker
/// vesicles for the nominal individual of `model` with a tumour held at
/// `cells`: `(s·N·F̄/(k·V), B/(k·V))`, the two parts of the level
/// `held_concentration` gives the detection curve.
pub fn marker_levels(model: &ScreeningModel, cells: f64) -> (f64, f64) {
    let kin = model.kinetics(&model.nominal_individual());
    let held = model.held_release_factor(&kin);
    let tumour_only = crate::biopsy::kinetics::MarkerKinetics {
        blood: BloodKinetics {
            background: 0.0,
            ..kin.blood
        },
        ..kin
    };
    (
        tumour_only.held_concentration(cells, held),
        kin.blood.baseline_amount() / kin.blood.plasma_volume,
    )
}

/// The draw of `model` (the test named `test`) under `s`.
pub fn draw(test: &str, model: &ScreeningModel, s: &DrawSettings) -> Draw {
    let cells = cells_for_diameter(s.diameter, model.tumour.cells_per_m3);
    let (tumour, background) = marker_levels(model, cells);
    let (recovery, carry_over) = if s.isolated {
        let i = &model.protocol.isolation;
        (i.recovery_mean, i.nonvesicle_carry_over)
    } else {
        (1.0, 1.0)
    };
    let vesicles = |name: &str, level: f64, median: f64, sigma: f64, marker: bool| Component {
        name: name.into(),
        concentration: level * recovery,
        median,
        sigma,
        vesicle: true,
        marker,
    };
    let mut components = vec![
        vesicles("tumour", tumour, s.marker_median, s.marker_sigma, true),
        vesicles(
            "marker_background",
            background,
            s.marker_median,
            s.marker_sigma,
            true,
        ),
    ];
    if s.plasma_vesicles {
        components.push(vesicles(
            "plasma_vesicles",
            PLASMA_VESICLES_PER_M3,
            VESICLE_DIAMETER,
            crate::instrument::sigma_of_cv(VESICLE_DIAMETER_CV),
            false,
        ));
    }
    if s.lipoproteins {
        components.push(super::lipoproteins::component(
            model.protocol.lipoprotein_concentration * carry_over,
        ));
    }
    Draw {
        test: test.to_string(),
        diameter: s.diameter,
        cells,
        plasma_volume: model.protocol.draw.plasma_volume(),
        isolated: s.isolated,
        components,
    }
}
