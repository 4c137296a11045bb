//! Species presets: organ volumes and blood flows, and default vesicle
//! disposition per organ.
//!
//! Physiology (tissue volumes as a share of body weight, blood flows as a
//! share of cardiac output) comes from the standard PBPK tables
//! (docs/references.md#brown-1997, docs/references.md#williams-leggett-1989):
//!
//! * Brown RP, Delp MD, Lindstedt SL, Rhomberg LR, Beliles RP (1997).
//!   Physiological parameter values for physiologically based pharmacokinetic
//!   models. *Toxicol Ind Health* 13:407–484. Organ weights (Table 4, mouse;
//!   Table 7, human), blood volume, mouse cardiac output (Table 22) and mouse
//!   regional flows (Table 24); residual blood (vascular) fractions (Table 30,
//!   rat values, used for mouse and human where no other value is given).
//! * Williams LR, Leggett RW (1989). Reference values for resting blood flow
//!   to organs of man. *Clin Phys Physiol Meas* 10:187–217: human cardiac
//!   output and regional flows.
//!
//! Values marked *assumed* are not in those tables; they are honest defaults,
//! overridable like every other value. Vesicle disposition defaults (uptake
//! per passage, degradation, efflux) are calibrated so that the default mouse
//! reproduces the published circulation and organ pattern of small EVs (see
//! the `DISPOSITION` table and the tests in `tests/reference_mouse.rs`).

use crate::body::model::{Fenestrae, Organ, SMALL_EV_DIAMETER};
use crate::units::{Concentration, Flow, Length, Mass, Rate, Volume};

use super::spec::{
    BodySpec, DepotSpec, GutBarrierSpec, LiverFenestraeSpec, LungTrappingSpec, MpsSpec, OrganSpec,
    RoutesSpec, SpleenFilteringSpec,
};

/// Species with a preset.
pub const SPECIES: [&str; 2] = ["mouse", "human"];

/// One organ row of a species preset: physiology only.
struct Row {
    organ: Organ,
    /// Tissue volume, % of body weight (density 1 g/mL).
    percent_body_weight: f64,
    /// Arterial inflow, % of cardiac output (lungs: ignored, they get all of it).
    percent_cardiac_output: f64,
    /// Share of the organ's volume that is blood.
    vascular_fraction: f64,
}

/// Mouse, 25 g (Brown et al. 1997, docs/references.md#brown-1997). Flows: liver is the hepatic artery only;
/// Brown's portal share (14.1 %) is split into gut 13.0 % and spleen 1.1 %
/// (*assumed* split: the spleen is not tabulated separately for the mouse).
/// Vascular fractions: Brown Table 30 (rat) for liver 0.21, spleen 0.22, lungs
/// 0.36, kidneys 0.16, heart 0.26, brain 0.03; gut 0.05 and rest 0.02 *assumed*.
const MOUSE: [Row; 8] = [
    row(Organ::Liver, 5.49, 2.0, 0.21),
    row(Organ::Spleen, 0.35, 1.1, 0.22),
    row(Organ::Lungs, 0.73, 0.0, 0.36),
    row(Organ::Kidneys, 1.67, 9.1, 0.16),
    row(Organ::Heart, 0.50, 6.6, 0.26),
    row(Organ::Brain, 1.65, 3.3, 0.03),
    row(Organ::Gut, 4.22, 13.0, 0.05),
    row(Organ::Rest, 0.0, 0.0, 0.02),
];

/// Human, 70 kg. Volumes: Brown et al. 1997 (% body weight). Flows: Williams
/// & Leggett 1989 (docs/references.md#williams-leggett-1989; hepatic artery 6.5 %, gut 16 % incl. pancreas, spleen 3 %,
/// kidneys 19 %, heart 4 %, brain 12 %). Vascular fractions as for the mouse.
const HUMAN: [Row; 8] = [
    row(Organ::Liver, 2.57, 6.5, 0.21),
    row(Organ::Spleen, 0.26, 3.0, 0.22),
    row(Organ::Lungs, 0.76, 0.0, 0.36),
    row(Organ::Kidneys, 0.44, 19.0, 0.16),
    row(Organ::Heart, 0.47, 4.0, 0.26),
    row(Organ::Brain, 2.00, 12.0, 0.03),
    row(Organ::Gut, 1.71, 16.0, 0.05),
    row(Organ::Rest, 0.0, 0.0, 0.02),
];

const fn row(
    organ: Organ,
    percent_body_weight: f64,
    percent_cardiac_output: f64,
    vascular_fraction: f64,
) -> Row {
    Row {
        organ,
        percent_body_weight,
        percent_cardiac_output,
        vascular_fraction,
    }
}

/// How an organ handles small EVs: extraction per passage (non-macrophage
/// and macrophage), then first-order degradation, efflux back to blood and
/// excretion, per hour.
struct Disposition {
    organ: Organ,
    uptake_extraction: f64,
    mps_extraction: f64,
    degradation_per_hour: f64,
    efflux_per_hour: f64,
    excretion_per_hour: f64,
}

/// Small-EV disposition, calibrated in the mouse to the published pattern
/// (blood half-life about 7 min, docs/references.md#matsumoto-2020; terminal phase of
/// hours, docs/references.md#kim-2019; liver the largest share, liver and kidney peaking
/// within 1 h, lung and spleen at 2–12 h, docs/references.md#kang-2021).
/// Extraction ratios, not clearances, carry over between species, so the
/// human preset uses the same table with human flows (an *assumption*),
/// except the liver's macrophage extraction, fitted to human plasma
/// numbers (`HUMAN_LIVER_MPS_EXTRACTION`).
const DISPOSITION: [Disposition; 8] = [
    disposition(Organ::Liver, 0.004, 0.028, 0.045, 0.03, 0.002),
    disposition(Organ::Spleen, 0.0, 0.059, 0.015, 0.0, 0.0),
    disposition(Organ::Lungs, 0.00043, 0.0, 0.015, 0.0, 0.0),
    disposition(Organ::Kidneys, 0.0067, 0.0, 0.4, 0.0, 0.1),
    disposition(Organ::Heart, 0.0013, 0.0, 0.1, 0.0, 0.0),
    disposition(Organ::Brain, 0.0002, 0.0, 0.1, 0.0, 0.0),
    disposition(Organ::Gut, 0.0026, 0.0, 0.15, 0.0, 0.05),
    disposition(Organ::Rest, 0.00123, 0.0, 0.05, 0.1, 0.0),
];

const fn disposition(
    organ: Organ,
    uptake_extraction: f64,
    mps_extraction: f64,
    degradation_per_hour: f64,
    efflux_per_hour: f64,
    excretion_per_hour: f64,
) -> Disposition {
    Disposition {
        organ,
        uptake_extraction,
        mps_extraction,
        degradation_per_hour,
        efflux_per_hour,
        excretion_per_hour,
    }
}

/// Whole-body values of a preset.
struct Whole {
    body_weight_g: f64,
    /// Blood volume, % of body weight (docs/references.md#brown-1997: mouse 4.9, human 7.9).
    blood_percent: f64,
    cardiac_output_ml_per_min: f64,
    /// Lymph nodes and vessels (*assumed*).
    lymph_volume_ml: f64,
    /// Lymph return to blood (*assumed*: about 0.2 % of plasma flow).
    lymph_flow_ml_per_min: f64,
}

const MOUSE_WHOLE: Whole = Whole {
    body_weight_g: 25.0,
    blood_percent: 4.9,
    cardiac_output_ml_per_min: 13.98,
    lymph_volume_ml: 0.15,
    lymph_flow_ml_per_min: 0.02,
};

const HUMAN_WHOLE: Whole = Whole {
    body_weight_g: 70_000.0,
    blood_percent: 7.9,
    cardiac_output_ml_per_min: 6500.0,
    lymph_volume_ml: 350.0,
    lymph_flow_ml_per_min: 2.0,
};

/// The complete preset of a species as a fully populated spec, so that user
/// overrides merge over it field by field. `None` for an unknown species.
pub fn preset(species: &str) -> Option<BodySpec> {
    let (rows, whole, fenestrae_nm, transit_h) = match species {
        "mouse" => (
            &MOUSE,
            &MOUSE_WHOLE,
            MOUSE_FENESTRAE_NM,
            MOUSE_GUT_TRANSIT_H,
        ),
        "human" => (
            &HUMAN,
            &HUMAN_WHOLE,
            HUMAN_FENESTRAE_NM,
            HUMAN_GUT_TRANSIT_H,
        ),
        _ => return None,
    };
    let fenestrae = Fenestrae {
        diameter: fenestrae_nm * 1e-9,
        width: FENESTRAE_WIDTH_NM * 1e-9,
    };
    let bw = whole.body_weight_g;
    let co = whole.cardiac_output_ml_per_min;
    let listed_percent: f64 = rows.iter().map(|r| r.percent_body_weight).sum();
    let listed_flow: f64 = rows.iter().map(|r| r.percent_cardiac_output).sum();
    let organs = rows
        .iter()
        .zip(DISPOSITION.iter())
        .map(|(r, d)| {
            debug_assert_eq!(r.organ, d.organ);
            // "Rest" is what the table does not list: body weight less organs
            // and blood; cardiac output less the listed organ flows.
            let (percent_bw, percent_co) = match r.organ {
                Organ::Rest => (
                    100.0 - listed_percent - whole.blood_percent,
                    100.0 - listed_flow,
                ),
                _ => (r.percent_body_weight, r.percent_cardiac_output),
            };
            let blood_flow = match r.organ {
                Organ::Lungs => None,
                _ => Some(Flow::ml_per_min(co * percent_co / 100.0)),
            };
            // The table holds what 100 nm vesicles see; the liver's value
            // is the free one, before the fenestrae filter it.
            let mps_extraction = match (species, r.organ) {
                ("human", Organ::Liver) => HUMAN_LIVER_MPS_EXTRACTION,
                _ => d.mps_extraction,
            };
            let uptake_extraction = match r.organ {
                Organ::Liver => d.uptake_extraction / fenestrae.passage(CALIBRATION_DIAMETER),
                _ => d.uptake_extraction,
            };
            let spec = OrganSpec {
                volume: Some(Volume::millilitres(bw * percent_bw / 100.0)),
                blood_flow,
                vascular_fraction: Some(r.vascular_fraction),
                uptake_extraction: Some(uptake_extraction),
                mps_extraction: Some(mps_extraction),
                degradation_rate: Some(Rate::per_hour(d.degradation_per_hour)),
                efflux_rate: Some(Rate::per_hour(d.efflux_per_hour)),
                excretion_rate: Some(Rate::per_hour(d.excretion_per_hour)),
            };
            (r.organ.name().to_string(), spec)
        })
        .collect();
    Some(BodySpec {
        species: Some(species.to_string()),
        weight: Some(Mass::from_si(bw / 1e3)),
        cardiac_output: Some(Flow::ml_per_min(co)),
        blood_volume: Some(Volume::millilitres(bw * whole.blood_percent / 100.0)),
        haematocrit: Some(HAEMATOCRIT),
        lymph_volume: Some(Volume::millilitres(whole.lymph_volume_ml)),
        lymph_flow: Some(Flow::ml_per_min(whole.lymph_flow_ml_per_min)),
        mps: default_mps(),
        organs,
        tumour: None,
        routes: default_routes(),
        lung_trapping: default_lung_trapping(),
        spleen_filtering: default_spleen_filtering(),
        liver_fenestrae: LiverFenestraeSpec {
            diameter: Some(Length::nanometres(fenestrae_nm)),
            width: Some(Length::nanometres(FENESTRAE_WIDTH_NM)),
        },
        gut_barrier: GutBarrierSpec {
            condition: Some("healthy".into()),
            permeability: None,
            translocation_rate: Some(Rate::per_hour(GUT_TRANSLOCATION_PER_HOUR)),
            transit_rate: Some(Rate::per_hour(1.0 / transit_h)),
        },
        affinity: Default::default(),
    })
}

/// Macrophage recognition defaults. All *assumed* (free parameters): the
/// share of recognition through phosphatidylserine (docs/references.md#matsumoto-2020:
/// blocking PS slows clearance) and the protection by CD47
/// (docs/references.md#kamerkar-2017: longer circulation, factor not published). Km is set so that 1e10
/// vesicles in a mouse stay in the linear range and 1e12 saturate.
fn default_mps() -> MpsSpec {
    MpsSpec {
        capacity: Some(1.0),
        km: Some(Concentration::per_ml(2e11)),
        ps_weight: Some(0.7),
        cd47_protection: Some(0.6),
        size_gain: Some(MPS_SIZE_GAIN),
        size_d50: Some(Length::nanometres(400.0)),
        size_width: Some(Length::nanometres(50.0)),
    }
}

/// Kupffer cells' extraction per passage in the human liver, fitted by
/// `campaigns/human_plasma_calibration.toml` so that the published release
/// of EVs into human plasma (1.5·10¹² /min, docs/references.md#auber-2022)
/// holds the published plasma level (~10¹⁰ /mL,
/// docs/references.md#johnsen-2019): 0.239, 95 % profile interval
/// 0.077–0.644. The mouse's 0.028 left the human plasma level five times
/// too high.
const HUMAN_LIVER_MPS_EXTRACTION: f64 = 0.239;

/// Share of blood that is cells: plasma is about 55 % of blood
/// (docs/references.md#haematocrit); the same value is *assumed* for the
/// mouse.
const HAEMATOCRIT: f64 = 0.45;

/// Gut barrier permeability by condition, 0 (sealed) to 1 (open). The
/// order follows the published finding that LPS-positive bacterial EVs are
/// higher in the plasma of patients with inflammatory bowel disease,
/// chemotherapy- or radiation-induced mucositis and untreated HIV than in
/// people without barrier dysfunction (docs/references.md#tulkens-2020);
/// the values themselves are *assumed* (no permeability was published
/// with it).
pub const GUT_CONDITIONS: [(&str, f64); 4] = [
    ("healthy", 0.02),
    ("ibd", 0.10),
    ("mucositis", 0.15),
    ("hiv", 0.08),
];

/// Crossing rate of a fully open gut barrier, per hour (*assumed*).
const GUT_TRANSLOCATION_PER_HOUR: f64 = 0.5;
/// Whole-gut transit, hours (*assumed* typical values: about 6 h in the
/// mouse, 30 h in the human).
const MOUSE_GUT_TRANSIT_H: f64 = 6.0;
const HUMAN_GUT_TRANSIT_H: f64 = 30.0;

/// Diameter at which the `DISPOSITION` table was calibrated (small EVs).
const CALIBRATION_DIAMETER: f64 = SMALL_EV_DIAMETER;

/// Extra macrophage recognition of the largest vesicles, calibrated with
/// lung trapping to the published pattern of large EVs (the liver rises
/// as the lungs release them, docs/references.md#kang-2021); phagocytosis
/// rising with particle size: docs/references.md#champion-2008.
const MPS_SIZE_GAIN: f64 = 30.0;

/// Liver sinusoidal fenestrae, nm: 150–175 nm in general by electron
/// microscopy (the low end for the mouse), and in the human liver mostly
/// 100 nm or less (docs/references.md#fenestrae).
const MOUSE_FENESTRAE_NM: f64 = 150.0;
const HUMAN_FENESTRAE_NM: f64 = 100.0;
/// Spread of passage around the fenestra diameter (*assumed*: fenestrae
/// range from 40 to 600 nm, so passage falls gradually).
const FENESTRAE_WIDTH_NM: f64 = 30.0;

/// Lung trapping defaults, calibrated to the published pattern of large EVs
/// (lungs first, peaking within the first hour, falling over 2–12 h while
/// the liver rises: docs/references.md#kang-2021): vesicles of 500 nm lodge
/// on their first passages, 100 nm ones pass (retention < 10⁻⁵ per passage),
/// and the lodged ones return to blood with a half-life of about 2 h.
fn default_lung_trapping() -> LungTrappingSpec {
    LungTrappingSpec {
        d50: Some(Length::nanometres(400.0)),
        width: Some(Length::nanometres(25.0)),
        max_extraction: Some(0.5),
        release_rate: Some(Rate::per_hour(0.35)),
    }
}

/// Splenic filtering defaults (*assumed* shape; the red pulp filters rigid
/// particles of a few hundred nm and more, docs/references.md#moghimi-1995):
/// 100 nm vesicles are retained less than 10⁻⁴ per passage.
fn default_spleen_filtering() -> SpleenFilteringSpec {
    SpleenFilteringSpec {
        d50: Some(Length::nanometres(300.0)),
        width: Some(Length::nanometres(20.0)),
        max_extraction: Some(0.5),
    }
}

/// Depot defaults (*assumed*): absorption half-lives of about 3 h (ip) and
/// 10 h (sc) into lymph, with a fifth to a third lost at the site.
fn default_routes() -> RoutesSpec {
    RoutesSpec {
        intraperitoneal: DepotSpec {
            absorption_rate: Some(Rate::per_hour(0.23)),
            degradation_rate: Some(Rate::per_hour(0.06)),
        },
        subcutaneous: DepotSpec {
            absorption_rate: Some(Rate::per_hour(0.07)),
            degradation_rate: Some(Rate::per_hour(0.03)),
        },
    }
}

/// Defaults of a tumour organ when a study declares `[body.tumour]`: leaky
/// vessels give a small enhanced permeability and retention (EPR) uptake
/// (*assumed*; synthetic nanoparticles reach a median 0.7 % of dose,
/// docs/references.md#wilhelm-2016).
pub fn tumour_defaults() -> OrganSpec {
    OrganSpec {
        volume: Some(Volume::millilitres(0.1)),
        blood_flow: None,
        vascular_fraction: Some(0.1),
        uptake_extraction: Some(0.01),
        mps_extraction: Some(0.0),
        degradation_rate: Some(Rate::per_hour(0.02)),
        efflux_rate: Some(Rate::per_hour(0.0)),
        excretion_rate: Some(Rate::per_hour(0.0)),
    }
}

/// Tumour blood flow per tissue volume when not given (*assumed*: 0.2 mL/min
/// per mL, a typical value for solid tumours).
pub const TUMOUR_PERFUSION_PER_MIN: f64 = 0.2;
