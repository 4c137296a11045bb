//! The raw study file, exactly as a user writes it.
//!
//! Every table rejects unknown keys, so a misspelled key is an error rather
//! than a silently ignored value. Quantities keep the unit the user wrote
//! until [`super::resolve`] turns the spec into a validated model. Optional
//! fields mean "take the preset or default"; merging of arm overrides happens
//! on this raw form so that an arm may change any single value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::units::{Concentration, Count, Flow, Length, Mass, Rate, Time, Volume};

/// A whole study file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// Name, duration, output grid, seed.
    pub study: StudyHeader,
    /// Numerical settings of the ODE solver.
    #[serde(default)]
    pub solver: SolverSpec,
    /// The body: species preset and overrides.
    #[serde(default)]
    pub body: BodySpec,
    /// Vesicle classes: size and surface.
    #[serde(default)]
    pub vesicles: Vec<VesicleSpec>,
    /// Doses given in every arm.
    #[serde(default)]
    pub doses: Vec<DoseSpec>,
    /// Endogenous release into blood in every arm.
    #[serde(default)]
    pub sources: Vec<SourceSpec>,
    /// Release-inhibiting drugs given in every arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drugs: Vec<super::drug_spec::DrugSpec>,
    /// Arms: individuals that differ in body or doses. Without arms, the
    /// study is one arm named `main`.
    #[serde(default)]
    pub arms: Vec<ArmSpec>,
    /// Liquid biopsy: tumour, marker, blood tests, decisions.
    #[serde(default)]
    pub biopsy: Option<super::biopsy_spec::BiopsySpec>,
    /// Multi-marker signatures: markers, diseases, cross-validated classifier.
    #[serde(default)]
    pub signature: Option<super::signature_spec::SignatureSpec>,
    /// Tissue: cells that send, address and receive vesicles.
    #[serde(default)]
    pub tissue: Option<super::tissue_spec::TissueSpec>,
    /// Effects of the exposure: tumour growth inhibition, turnover and
    /// direct responses, computed in every arm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<super::effect_spec::EffectSpec>,
    /// Production in culture: cells, platform, harvests, isolation, and
    /// the doses a run makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<super::production_spec::ProductionSpec>,
    /// Instruments that measure a sample of an engine's output: NTA, flow
    /// cytometry, bulk and digital assays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instruments: Vec<super::instrument_spec::InstrumentSpec>,
}

/// `[study]`: what the study is and when it is observed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StudyHeader {
    /// Short identifier, used in file names and reports.
    pub name: String,
    /// Free text for the reader.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed of every random stream of the run.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Simulated time span, from 0.
    pub duration: Time,
    /// Spacing of the regular output grid (0, Δ, 2Δ, …, duration).
    #[serde(default)]
    pub output_interval: Option<Time>,
    /// Extra output times, added to the grid.
    #[serde(default)]
    pub output_times: Vec<Time>,
    /// Times at which organ shares are reported in the summary.
    #[serde(default)]
    pub report_times: Vec<Time>,
}

/// `[solver]`: tolerances of the stiff integrator.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSpec {
    /// Relative tolerance of the BDF integrator.
    #[serde(default)]
    pub rtol: Option<f64>,
    /// Absolute tolerance, as a fraction of the largest dose or release of the arm.
    #[serde(default)]
    pub atol_fraction: Option<f64>,
}

/// `[body]`: a species preset and any value changed from it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BodySpec {
    /// `mouse` or `human`.
    #[serde(default)]
    pub species: Option<String>,
    /// Body weight (the preset's 25 g or 70 kg), by which doses written per
    /// kg are given. It does not rescale organs or flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Mass>,
    /// Blood pumped by the heart. Changing it scales the preset's organ
    /// flows (their shares stay); flows set in the study are kept as given.
    #[serde(default)]
    pub cardiac_output: Option<Flow>,
    /// Total blood volume (arterial, venous and organ vascular beds).
    #[serde(default)]
    pub blood_volume: Option<Volume>,
    /// Share of blood volume that is cells; plasma is the rest.
    #[serde(default)]
    pub haematocrit: Option<f64>,
    /// Volume of the lymph compartment (nodes and vessels).
    #[serde(default)]
    pub lymph_volume: Option<Volume>,
    /// Lymph returned to venous blood per unit time.
    #[serde(default)]
    pub lymph_flow: Option<Flow>,
    /// Mononuclear phagocyte system of liver and spleen.
    #[serde(default)]
    pub mps: MpsSpec,
    /// Organ overrides, keyed by organ name.
    #[serde(default)]
    pub organs: BTreeMap<String, OrganSpec>,
    /// An optional tumour, an organ fed from arterial blood.
    #[serde(default)]
    pub tumour: Option<OrganSpec>,
    /// Injection depots for extravascular routes.
    #[serde(default)]
    pub routes: RoutesSpec,
    /// Retention of large vesicles in lung capillaries.
    #[serde(default)]
    pub lung_trapping: LungTrappingSpec,
    /// Filtering of large vesicles by the splenic red pulp.
    #[serde(default)]
    pub spleen_filtering: SpleenFilteringSpec,
    /// Sinusoidal fenestrae between blood and hepatocytes.
    #[serde(default)]
    pub liver_fenestrae: LiverFenestraeSpec,
    /// Between the gut lumen and the gut's blood.
    #[serde(default)]
    pub gut_barrier: GutBarrierSpec,
    /// Ligand → organ → fold increase of uptake per unit ligand density.
    #[serde(default)]
    pub affinity: BTreeMap<String, BTreeMap<String, f64>>,
}

/// `[body.mps]`: saturable clearance by macrophages.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MpsSpec {
    /// Fraction of macrophages present (1 = intact, 0.1 = depleted by 90 %).
    #[serde(default)]
    pub capacity: Option<f64>,
    /// Sinusoidal vesicle concentration at which uptake is half-maximal.
    #[serde(default)]
    pub km: Option<Concentration>,
    /// Share of macrophage recognition that depends on phosphatidylserine.
    #[serde(default)]
    pub ps_weight: Option<f64>,
    /// Fraction of recognition removed by a complete CD47 coat.
    #[serde(default)]
    pub cd47_protection: Option<f64>,
    /// Extra recognition of the largest vesicles (phagocytosis rises with
    /// particle size), relative to the smallest.
    #[serde(default)]
    pub size_gain: Option<f64>,
    /// Diameter at half that extra recognition.
    #[serde(default)]
    pub size_d50: Option<Length>,
    /// Steepness of the size dependence.
    #[serde(default)]
    pub size_width: Option<Length>,
}

/// An organ's physiology and its handling of vesicles.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganSpec {
    /// Tissue volume.
    #[serde(default)]
    pub volume: Option<Volume>,
    /// Arterial blood flow into the organ (for the liver: the hepatic artery only).
    #[serde(default)]
    pub blood_flow: Option<Flow>,
    /// Share of the organ's volume that is blood (its vascular bed).
    #[serde(default)]
    pub vascular_fraction: Option<f64>,
    /// Fraction of vesicles taken up per passage by non-macrophage cells.
    #[serde(default)]
    pub uptake_extraction: Option<f64>,
    /// Fraction taken up per passage by macrophages at low dose (saturable).
    #[serde(default)]
    pub mps_extraction: Option<f64>,
    /// First-order breakdown of vesicles taken up by the organ.
    #[serde(default)]
    pub degradation_rate: Option<Rate>,
    /// First-order return of intact vesicles from the organ to venous blood.
    #[serde(default)]
    pub efflux_rate: Option<Rate>,
    /// First-order excretion out of the body (urine, bile).
    #[serde(default)]
    pub excretion_rate: Option<Rate>,
}

/// `[body.lung_trapping]`: large vesicles lodge in lung capillaries.
///
/// Extraction per passage through the lungs rises with diameter `d` as
/// `max_extraction / (1 + exp(-(d - d50) / width))`, on top of ordinary lung
/// uptake; small EVs pass, large EVs go to the lungs first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LungTrappingSpec {
    /// Diameter trapped at half the maximal extraction.
    #[serde(default)]
    pub d50: Option<Length>,
    /// Steepness of the size dependence.
    #[serde(default)]
    pub width: Option<Length>,
    /// Extraction of the largest vesicles per passage.
    #[serde(default)]
    pub max_extraction: Option<f64>,
    /// Trapped vesicles released back into blood per unit time.
    #[serde(default)]
    pub release_rate: Option<Rate>,
}

/// `[body.spleen_filtering]`: the red pulp's slits hold back large vesicles.
///
/// Extraction per passage through the spleen rises with diameter as
/// `max_extraction / (1 + exp(-(d - d50) / width))`, combined with the
/// spleen's ordinary (non-macrophage) uptake.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpleenFilteringSpec {
    /// Diameter filtered at half the maximal extraction.
    #[serde(default)]
    pub d50: Option<Length>,
    /// Steepness of the size dependence.
    #[serde(default)]
    pub width: Option<Length>,
    /// Extraction of the largest vesicles per passage.
    #[serde(default)]
    pub max_extraction: Option<f64>,
}

/// `[body.liver_fenestrae]`: vesicles reach hepatocytes through the
/// sinusoids' fenestrae, so the liver's non-macrophage uptake is scaled by
/// `1 / (1 + exp((d - diameter) / width))`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LiverFenestraeSpec {
    /// Vesicle diameter passing at half the free rate.
    #[serde(default)]
    pub diameter: Option<Length>,
    /// Steepness of the size dependence.
    #[serde(default)]
    pub width: Option<Length>,
}

/// `[body.gut_barrier]`: how easily vesicles of gut bacteria cross into
/// the gut's blood (then portal blood and the liver).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GutBarrierSpec {
    /// `healthy`, `ibd`, `mucositis` or `hiv`: the permeability preset.
    #[serde(default)]
    pub condition: Option<String>,
    /// 0 (sealed) to 1 (fully open); replaces the condition's value.
    #[serde(default)]
    pub permeability: Option<f64>,
    /// Crossing rate of a fully open barrier.
    #[serde(default)]
    pub translocation_rate: Option<Rate>,
    /// Loss from the lumen with the faeces.
    #[serde(default)]
    pub transit_rate: Option<Rate>,
}

/// `[body.routes]`: absorption from injection depots.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesSpec {
    /// Intraperitoneal depot.
    #[serde(default)]
    pub intraperitoneal: DepotSpec,
    /// Subcutaneous depot.
    #[serde(default)]
    pub subcutaneous: DepotSpec,
}

/// Kinetics of one injection depot.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DepotSpec {
    /// First-order absorption from the depot into lymph.
    #[serde(default)]
    pub absorption_rate: Option<Rate>,
    /// First-order loss at the injection site (local macrophages).
    #[serde(default)]
    pub degradation_rate: Option<Rate>,
}

/// `[[vesicles]]`: one vesicle class.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VesicleSpec {
    /// Identifier, used in doses and column names.
    pub name: String,
    /// Mean diameter (the median of the size distribution).
    #[serde(default)]
    pub diameter: Option<Length>,
    /// Coefficient of variation of the (log-normal) diameter, read by the
    /// instruments (default 0: every vesicle of the class has `diameter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diameter_cv: Option<f64>,
    /// Phosphatidylserine exposure relative to natural small EVs (1 = natural, 0 = masked).
    #[serde(default)]
    pub ps_exposure: Option<f64>,
    /// CD47 "don't eat me" coat coverage, 0 to 1.
    #[serde(default)]
    pub cd47: Option<f64>,
    /// Targeting ligands: name → relative surface density.
    #[serde(default)]
    pub ligands: BTreeMap<String, f64>,
    /// First-order breakdown in blood and lymph (complement, lysis).
    #[serde(default)]
    pub blood_degradation_rate: Option<Rate>,
    /// Marker copies per vesicle (its cell of origin's fingerprint), for
    /// the blood profile a deconvolution reads.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub markers: BTreeMap<String, f64>,
}

/// Route of a dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// All at once into venous blood.
    IvBolus,
    /// At a constant rate into venous blood over `duration`.
    IvInfusion,
    /// Into the peritoneal depot.
    Intraperitoneal,
    /// Into the subcutaneous depot.
    Subcutaneous,
    /// Directly into an organ's tissue (`site`), e.g. intratumoural.
    Local,
}

/// `[[doses]]`: one dose, or a repeated schedule of it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DoseSpec {
    /// Vesicle class given.
    pub vesicles: String,
    /// How it is given.
    pub route: Route,
    /// Vesicles per administration.
    pub amount: Count,
    /// Time of the first administration.
    #[serde(default)]
    pub at: Option<Time>,
    /// Infusion length (`iv_infusion` only).
    #[serde(default)]
    pub duration: Option<Time>,
    /// Organ receiving a `local` dose.
    #[serde(default)]
    pub site: Option<String>,
    /// Interval between repeated administrations.
    #[serde(default)]
    pub every: Option<Time>,
    /// Number of administrations (default 1).
    #[serde(default, deserialize_with = "crate::units::whole::option")]
    pub count: Option<u32>,
}

/// `[[sources]]`: constant release of vesicles into venous blood.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Name by which a drug targets it (default: the vesicle class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Vesicle class released.
    pub vesicles: String,
    /// Vesicles released per unit time.
    pub rate: Rate,
    /// Start of release (default 0).
    #[serde(default)]
    pub start: Option<Time>,
    /// End of release (default: end of study).
    #[serde(default)]
    pub end: Option<Time>,
    /// `blood` (default) or `gut_lumen` (gut bacteria).
    #[serde(default)]
    pub site: Option<String>,
}

/// `[[arms]]`: one simulated individual.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    /// Identifier, used in column names.
    pub name: String,
    /// Changes to the study-wide body for this arm only.
    #[serde(default)]
    pub body: Option<BodySpec>,
    /// Doses given in this arm, in addition to the study-wide ones.
    #[serde(default)]
    pub doses: Vec<DoseSpec>,
    /// Sources of this arm, in addition to the study-wide ones.
    #[serde(default)]
    pub sources: Vec<SourceSpec>,
    /// Release-inhibiting drugs of this arm, in addition to the
    /// study-wide ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drugs: Vec<super::drug_spec::DrugSpec>,
}

/// Values of `over` replace those of `base` wherever `over` sets them.
pub trait Merge {
    /// Field by field: `over` wins where set.
    fn merge(self, over: Self) -> Self;
}

impl<T> Merge for Option<T> {
    fn merge(self, over: Self) -> Self {
        over.or(self)
    }
}

macro_rules! merge_fields {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl Merge for $ty {
            fn merge(self, over: Self) -> Self {
                $ty { $($field: self.$field.merge(over.$field)),* }
            }
        }
    };
}

merge_fields!(MpsSpec {
    capacity,
    km,
    ps_weight,
    cd47_protection,
    size_gain,
    size_d50,
    size_width
});
merge_fields!(OrganSpec {
    volume,
    blood_flow,
    vascular_fraction,
    uptake_extraction,
    mps_extraction,
    degradation_rate,
    efflux_rate,
    excretion_rate,
});
merge_fields!(LungTrappingSpec {
    d50,
    width,
    max_extraction,
    release_rate
});
merge_fields!(SpleenFilteringSpec {
    d50,
    width,
    max_extraction
});
merge_fields!(LiverFenestraeSpec { diameter, width });
merge_fields!(GutBarrierSpec {
    condition,
    permeability,
    translocation_rate,
    transit_rate
});
merge_fields!(DepotSpec {
    absorption_rate,
    degradation_rate
});

impl Merge for RoutesSpec {
    fn merge(self, over: Self) -> Self {
        RoutesSpec {
            intraperitoneal: self.intraperitoneal.merge(over.intraperitoneal),
            subcutaneous: self.subcutaneous.merge(over.subcutaneous),
        }
    }
}

impl<V: Merge> Merge for BTreeMap<String, V> {
    fn merge(mut self, over: Self) -> Self {
        for (key, value) in over {
            let merged = match self.remove(&key) {
                Some(base) => base.merge(value),
                None => value,
            };
            self.insert(key, merged);
        }
        self
    }
}

impl Merge for f64 {
    fn merge(self, over: Self) -> Self {
        over
    }
}

impl Merge for OrganSpecOpt {
    fn merge(self, over: Self) -> Self {
        match (self.0, over.0) {
            (Some(base), Some(over)) => OrganSpecOpt(Some(base.merge(over))),
            (base, over) => OrganSpecOpt(over.or(base)),
        }
    }
}

/// An optional organ whose overrides merge field by field.
struct OrganSpecOpt(Option<OrganSpec>);

impl Merge for BodySpec {
    fn merge(self, over: Self) -> Self {
        BodySpec {
            species: self.species.merge(over.species),
            weight: self.weight.merge(over.weight),
            cardiac_output: self.cardiac_output.merge(over.cardiac_output),
            blood_volume: self.blood_volume.merge(over.blood_volume),
            haematocrit: self.haematocrit.merge(over.haematocrit),
            lymph_volume: self.lymph_volume.merge(over.lymph_volume),
            lymph_flow: self.lymph_flow.merge(over.lymph_flow),
            mps: self.mps.merge(over.mps),
            organs: self.organs.merge(over.organs),
            tumour: OrganSpecOpt(self.tumour).merge(OrganSpecOpt(over.tumour)).0,
            routes: self.routes.merge(over.routes),
            lung_trapping: self.lung_trapping.merge(over.lung_trapping),
            spleen_filtering: self.spleen_filtering.merge(over.spleen_filtering),
            liver_fenestrae: self.liver_fenestrae.merge(over.liver_fenestrae),
            gut_barrier: self.gut_barrier.merge(over.gut_barrier),
            affinity: self.affinity.merge(over.affinity),
        }
    }
}
