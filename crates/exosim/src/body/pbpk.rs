//! The physiologically based model of one arm, assembled as a [`Network`].
//!
//! Per vesicle class: venous and arterial blood; for each organ a vascular
//! bed and a tissue; lymph; the peritoneal and subcutaneous depots; and two
//! sinks, `degraded` and `cleared` (excreted from the body). Blood goes
//! venous → lungs → arterial → organs → venous, with gut and spleen draining
//! into the liver through the portal vein.
//!
//! Uptake from an organ's vascular bed into its tissue is set by an
//! extraction ratio `E` per passage: the intrinsic clearance is
//! `CL = Q·E/(1−E)`, so that a well-mixed bed perfused at `Q` extracts the
//! fraction `E` of what flows through it. The class's surface changes it
//! through documented relations only:
//!
//! * targeting ligands multiply the non-macrophage uptake of an organ by
//!   `1 + Σ_l density_l · affinity_l,organ` (the study's affinity table);
//! * macrophages of liver and spleen take vesicles up by competitive
//!   Michaelis–Menten kinetics: `Vmax = capacity · CL_mps · Km`, with the
//!   class's affinity scaled by its recognition
//!   `(1 − w + w·PS)(1 − p·CD47)` (phosphatidylserine is the "eat me"
//!   signal, CD47 the "don't eat me" one);
//! * size sets three filters (logistic functions of diameter): lung
//!   capillaries trap large vesicles, which are released into blood over
//!   hours; the splenic red pulp filters them; the liver's fenestrae keep
//!   them from hepatocytes (Kupffer cells, in the sinusoids, see all sizes).
//!
//! From a tissue, vesicles are degraded, excreted, or return intact to venous
//! blood (from the rest of the body, through lymph).

use super::model::{
    Administration, Arm, ArmDrug, Body, Organ, OrganParams, Plan, Source, SourceSite, VesicleClass,
};
use super::network::{
    Event, EventKind, InhibitedRelease, Network, ReleaseDrug, SaturableMember, SaturableSite,
};
use crate::drug::DrugRoute;

/// Share of the blood outside organ vascular beds that is arterial.
pub const ARTERIAL_SHARE: f64 = 1.0 / 3.0;

/// Where vesicles are, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Place {
    /// Circulating blood: venous, arterial and every vascular bed.
    Blood,
    /// An organ's tissue (extravascular, cells included).
    Tissue(Organ),
    /// Lymph nodes and vessels.
    Lymph,
    /// Peritoneal depot.
    PeritonealDepot,
    /// Subcutaneous depot.
    SubcutaneousDepot,
    /// The gut lumen: outside the body proper, where gut bacteria release
    /// their vesicles.
    GutLumen,
    /// Excreted from the body.
    Cleared,
    /// Broken down.
    Degraded,
}

impl Place {
    /// Column name part.
    pub fn name(self) -> &'static str {
        match self {
            Place::Blood => "blood",
            Place::Tissue(o) => o.name(),
            Place::Lymph => "lymph",
            Place::PeritonealDepot => "peritoneal_depot",
            Place::SubcutaneousDepot => "subcutaneous_depot",
            Place::GutLumen => "gut_lumen",
            Place::Cleared => "cleared",
            Place::Degraded => "degraded",
        }
    }

    /// True for places where vesicles are present (not sinks).
    pub fn is_present(self) -> bool {
        !matches!(self, Place::Cleared | Place::Degraded)
    }
}

/// State indices of one class in the arm network.
#[derive(Debug, Clone)]
pub struct ClassStates {
    /// Index into the study's vesicle classes.
    pub class: usize,
    /// Venous blood.
    pub venous: usize,
    /// Arterial blood.
    pub arterial: usize,
    /// Vascular bed per organ, in `Body::organs` order.
    pub vascular: Vec<usize>,
    /// Tissue per organ, in `Body::organs` order.
    pub tissue: Vec<usize>,
    /// Lodged in lung capillaries (reported with the lungs).
    pub lung_trapped: usize,
    /// Lymph.
    pub lymph: usize,
    /// Peritoneal depot.
    pub peritoneal: usize,
    /// Subcutaneous depot.
    pub subcutaneous: usize,
    /// Gut lumen.
    pub gut_lumen: usize,
    /// Sink: broken down.
    pub degraded: usize,
    /// Sink: excreted.
    pub cleared: usize,
}

impl ClassStates {
    /// Every state of the class, sinks included, in the order of the SBML
    /// compartments: blood, vascular beds, tissues, trapped, lymph,
    /// depots, sinks.
    pub fn all(&self) -> Vec<usize> {
        let mut v = vec![self.venous, self.arterial];
        v.extend(&self.vascular);
        v.extend(&self.tissue);
        v.extend([
            self.lung_trapped,
            self.lymph,
            self.peritoneal,
            self.subcutaneous,
            self.gut_lumen,
            self.degraded,
            self.cleared,
        ]);
        v
    }

    /// The reported places of this class with the states summed into each.
    pub fn places(&self, body: &Body) -> Vec<(Place, Vec<usize>)> {
        let mut blood = vec![self.venous, self.arterial];
        blood.extend(&self.vascular);
        let mut v = vec![(Place::Blood, blood)];
        for (i, o) in body.organs.iter().enumerate() {
            let mut states = vec![self.tissue[i]];
            if o.organ == Organ::Lungs {
                states.push(self.lung_trapped);
            }
            v.push((Place::Tissue(o.organ), states));
        }
        v.push((Place::Lymph, vec![self.lymph]));
        v.push((Place::PeritonealDepot, vec![self.peritoneal]));
        v.push((Place::SubcutaneousDepot, vec![self.subcutaneous]));
        v.push((Place::GutLumen, vec![self.gut_lumen]));
        v.push((Place::Cleared, vec![self.cleared]));
        v.push((Place::Degraded, vec![self.degraded]));
        v
    }
}

/// An arm's network, its schedule and the map from classes to states.
#[derive(Debug, Clone)]
pub struct ArmModel {
    /// The compartment network.
    pub network: Network,
    /// Doses and sources as events.
    pub events: Vec<Event>,
    /// States of each class present in the arm.
    pub classes: Vec<ClassStates>,
    /// States of each drug of the arm, in [`Arm::drugs`] order.
    pub drugs: Vec<DrugStates>,
    /// Sources a drug holds back, with their withheld states.
    pub inhibited: Vec<InhibitedSource>,
}

/// State indices of a drug's kinetics, amounts in molecules: a gut depot
/// (oral doses), the central and peripheral compartments, and the sink of
/// what was eliminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrugStates {
    /// Gut depot, when the drug has an absorption.
    pub depot: Option<usize>,
    /// Central compartment: its amount over the central volume is the
    /// concentration that acts.
    pub central: usize,
    /// Peripheral compartment, with two compartments.
    pub peripheral: Option<usize>,
    /// Sink: eliminated.
    pub eliminated: usize,
}

/// A source held back by drugs: its nominal release enters `withheld`
/// and only `Πₖ(1 − Iₖ(Cₖ))` of it leaves for the body, so what is in
/// `withheld` by a time is what the drugs kept back by then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InhibitedSource {
    /// Index into [`Arm::sources`].
    pub source: usize,
    /// Indices into [`Arm::drugs`] of the drugs acting on it.
    pub drugs: Vec<usize>,
    /// The vesicle class released.
    pub class: usize,
    /// The state of what is kept back.
    pub withheld: usize,
}

/// Volume of venous and arterial blood (outside organ vascular beds).
pub fn central_blood(body: &Body) -> (f64, f64) {
    let vascular: f64 = body.organs.iter().map(|o| o.vascular_volume).sum();
    let central = body.blood_volume - vascular;
    (central * (1.0 - ARTERIAL_SHARE), central * ARTERIAL_SHARE)
}

/// Blood flowing through an organ's vascular bed: its own arterial inflow,
/// plus portal blood for the liver.
fn perfusion(body: &Body, o: &OrganParams) -> f64 {
    match o.organ {
        Organ::Liver => body
            .organs
            .iter()
            .filter(|p| matches!(p.organ, Organ::Liver | Organ::Gut | Organ::Spleen))
            .map(|p| p.blood_flow)
            .sum(),
        _ => o.blood_flow,
    }
}

/// Intrinsic clearance that extracts `e` of the flow `q` per passage.
fn clearance(q: f64, e: f64) -> f64 {
    if e <= 0.0 { 0.0 } else { q * e / (1.0 - e) }
}

/// Builds the network and schedule of `arm`.
pub fn build(plan: &Plan, arm: &Arm) -> ArmModel {
    let body = &arm.body;
    let mut net = Network::default();
    let (v_venous, v_arterial) = central_blood(body);
    let mut classes = Vec::new();
    let mut mps_members: Vec<Vec<SaturableMember>> = vec![Vec::new(); body.organs.len()];
    for class in arm.classes() {
        let vc = &plan.vesicles[class];
        let cn = &vc.name;
        let st = ClassStates {
            class,
            venous: net.add_state(format!("{cn}/venous")),
            arterial: net.add_state(format!("{cn}/arterial")),
            vascular: body
                .organs
                .iter()
                .map(|o| net.add_state(format!("{cn}/{}_vascular", o.organ.name())))
                .collect(),
            tissue: body
                .organs
                .iter()
                .map(|o| net.add_state(format!("{cn}/{}", o.organ.name())))
                .collect(),
            lung_trapped: net.add_state(format!("{cn}/lungs_trapped")),
            lymph: net.add_state(format!("{cn}/lymph")),
            peritoneal: net.add_state(format!("{cn}/peritoneal_depot")),
            subcutaneous: net.add_state(format!("{cn}/subcutaneous_depot")),
            gut_lumen: net.add_state(format!("{cn}/gut_lumen")),
            degraded: net.add_state(format!("{cn}/degraded")),
            cleared: net.add_state(format!("{cn}/cleared")),
        };
        add_class(
            &mut net,
            body,
            vc,
            &st,
            v_venous,
            v_arterial,
            &mut mps_members,
        );
        classes.push(st);
    }
    for (i, o) in body.organs.iter().enumerate() {
        let cl = clearance(perfusion(body, o), o.mps_extraction) * body.mps.capacity;
        if cl > 0.0 && !mps_members[i].is_empty() {
            net.sites.push(SaturableSite {
                vmax: cl * body.mps.km,
                km: body.mps.km,
                members: std::mem::take(&mut mps_members[i]),
            });
        }
    }
    let drugs: Vec<DrugStates> = arm.drugs.iter().map(|d| add_drug(&mut net, d)).collect();
    let inhibited = hold_back_sources(&mut net, plan, arm, &classes, &drugs);
    let mut events = schedule(arm, &classes, &inhibited, body);
    for (d, st) in arm.drugs.iter().zip(&drugs) {
        drug_schedule(d, st, &mut events);
    }
    ArmModel {
        network: net,
        events,
        classes,
        drugs,
        inhibited,
    }
}

/// The drug's linear kinetics as states and transfers of the network:
/// depot → central at ka, central ⇄ peripheral at k12 and k21, central →
/// eliminated at k10.
fn add_drug(net: &mut Network, d: &ArmDrug) -> DrugStates {
    let name = &d.drug.name;
    let (k10, k12, k21) = d.drug.disposition.rate_constants();
    let depot = d
        .drug
        .absorption
        .map(|_| net.add_state(format!("{name}/gut_depot")));
    let central = net.add_state(format!("{name}/central"));
    let peripheral = (k12 > 0.0).then(|| net.add_state(format!("{name}/peripheral")));
    let eliminated = net.add_state(format!("{name}/eliminated"));
    if let (Some(depot), Some(a)) = (depot, d.drug.absorption) {
        net.transfer(depot, central, a.ka);
    }
    net.transfer(central, eliminated, k10);
    if let Some(p) = peripheral {
        net.transfer(central, p, k12);
        net.transfer(p, central, k21);
    }
    DrugStates {
        depot,
        central,
        peripheral,
        eliminated,
    }
}

/// A withheld state and an [`InhibitedRelease`] for every source one or
/// more drugs act on (in source order).
fn hold_back_sources(
    net: &mut Network,
    plan: &Plan,
    arm: &Arm,
    classes: &[ClassStates],
    drugs: &[DrugStates],
) -> Vec<InhibitedSource> {
    let mut inhibited = Vec::new();
    for (source, s) in arm.sources.iter().enumerate() {
        let acting: Vec<usize> = (0..arm.drugs.len())
            .filter(|&di| arm.drugs[di].sources.contains(&source))
            .collect();
        if acting.is_empty() {
            continue;
        }
        let st = classes
            .iter()
            .find(|c| c.class == s.class)
            .expect("every released class has states");
        let cn = &plan.vesicles[s.class].name;
        let by: Vec<&str> = acting
            .iter()
            .map(|&di| arm.drugs[di].drug.name.as_str())
            .collect();
        let withheld = net.add_state(format!("{cn}/source{source}_withheld_by_{}", by.join("+")));
        net.releases.push(InhibitedRelease {
            to: match s.site {
                SourceSite::Blood => st.venous,
                SourceSite::GutLumen => st.gut_lumen,
            },
            withheld,
            drugs: (acting.iter())
                .map(|&di| {
                    let d = &arm.drugs[di].drug;
                    ReleaseDrug {
                        drug: drugs[di].central,
                        volume: d.disposition.central_volume(),
                        action: d.action,
                    }
                })
                .collect(),
        });
        inhibited.push(InhibitedSource {
            source,
            drugs: acting,
            class: s.class,
            withheld,
        });
    }
    inhibited
}

/// The drug's administrations as events: boluses into the central
/// compartment, infusions as inputs switched on and off, oral doses (their
/// bioavailable part) into the gut depot.
fn drug_schedule(d: &ArmDrug, st: &DrugStates, events: &mut Vec<Event>) {
    for dose in &d.drug.doses {
        for &time in &dose.times {
            match dose.route {
                DrugRoute::IvBolus => events.push(Event {
                    time,
                    kind: EventKind::Bolus {
                        state: st.central,
                        amount: dose.amount,
                    },
                }),
                DrugRoute::IvInfusion { duration } => {
                    let rate = dose.amount / duration;
                    for (at, delta) in [(time, rate), (time + duration, -rate)] {
                        events.push(Event {
                            time: at,
                            kind: EventKind::Input {
                                state: st.central,
                                delta,
                            },
                        });
                    }
                }
                DrugRoute::Oral => {
                    let a = d
                        .drug
                        .absorption
                        .expect("oral doses come with an absorption");
                    events.push(Event {
                        time,
                        kind: EventKind::Bolus {
                            state: st.depot.expect("an absorption has its depot"),
                            amount: a.bioavailability * dose.amount,
                        },
                    });
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn add_class(
    net: &mut Network,
    body: &Body,
    vc: &VesicleClass,
    st: &ClassStates,
    v_venous: f64,
    v_arterial: f64,
    mps_members: &mut [Vec<SaturableMember>],
) {
    let co = body.cardiac_output;
    let lungs = body
        .organs
        .iter()
        .position(|o| o.organ == Organ::Lungs)
        .expect("the lungs are a standard organ");
    let liver = body
        .organs
        .iter()
        .position(|o| o.organ == Organ::Liver)
        .expect("the liver is a standard organ");
    let recognition = body.mps.recognition(vc);
    // Pulmonary circulation: all venous blood passes the lungs.
    net.transfer(st.venous, st.vascular[lungs], co / v_venous);
    for (i, o) in body.organs.iter().enumerate() {
        let bed = st.vascular[i];
        let vv = o.vascular_volume;
        if o.organ != Organ::Lungs {
            net.transfer(st.arterial, bed, o.blood_flow / v_arterial);
        }
        let outflow_to = match o.organ {
            Organ::Lungs => st.arterial,
            Organ::Gut | Organ::Spleen => st.vascular[liver],
            _ => st.venous,
        };
        let q = perfusion(body, o);
        net.transfer(bed, outflow_to, q / vv);
        // Non-macrophage uptake, enhanced by matching ligands.
        let targeting: f64 = 1.0
            + vc.ligands
                .iter()
                .map(|(l, density)| {
                    density
                        * body
                            .affinity
                            .get(l)
                            .and_then(|row| row.get(&o.organ))
                            .copied()
                            .unwrap_or(0.0)
                })
                .sum::<f64>();
        let extraction = match o.organ {
            Organ::Liver => o.uptake_extraction * body.liver_fenestrae.passage(vc.diameter),
            Organ::Spleen => {
                1.0 - (1.0 - o.uptake_extraction)
                    * (1.0 - body.spleen_filtering.extraction(vc.diameter))
            }
            _ => o.uptake_extraction,
        };
        net.transfer(bed, st.tissue[i], clearance(q, extraction) * targeting / vv);
        if o.organ == Organ::Lungs {
            let trapping = body.lung_trapping.filter.extraction(vc.diameter);
            net.transfer(bed, st.lung_trapped, clearance(q, trapping) / vv);
            net.transfer(st.lung_trapped, st.arterial, body.lung_trapping.release);
            net.transfer(st.lung_trapped, st.degraded, o.degradation);
        }
        if o.mps_extraction > 0.0 && recognition > 0.0 {
            mps_members[i].push(SaturableMember {
                from: bed,
                to: st.tissue[i],
                volume: vv,
                affinity: recognition,
            });
        }
        let tissue = st.tissue[i];
        let efflux_to = if o.organ == Organ::Rest {
            st.lymph
        } else {
            st.venous
        };
        net.transfer(tissue, efflux_to, o.efflux);
        net.transfer(tissue, st.degraded, o.degradation);
        net.transfer(tissue, st.cleared, o.excretion);
        net.transfer(bed, st.degraded, vc.blood_degradation);
    }
    net.transfer(st.venous, st.degraded, vc.blood_degradation);
    net.transfer(st.arterial, st.degraded, vc.blood_degradation);
    net.transfer(st.lymph, st.degraded, vc.blood_degradation);
    net.transfer(st.lymph, st.venous, body.lymph_flow / body.lymph_volume);
    net.transfer(st.peritoneal, st.lymph, body.intraperitoneal.absorption);
    net.transfer(st.peritoneal, st.degraded, body.intraperitoneal.degradation);
    net.transfer(st.subcutaneous, st.lymph, body.subcutaneous.absorption);
    net.transfer(st.subcutaneous, st.degraded, body.subcutaneous.degradation);
    // Through the gut barrier into the gut's blood, hence portal blood and
    // the liver first; or out with the faeces.
    let gut = body
        .organs
        .iter()
        .position(|o| o.organ == Organ::Gut)
        .expect("the gut is a standard organ");
    let barrier = &body.gut_barrier;
    net.transfer(
        st.gut_lumen,
        st.vascular[gut],
        barrier.permeability * barrier.translocation,
    );
    net.transfer(st.gut_lumen, st.cleared, barrier.transit);
}

fn schedule(
    arm: &Arm,
    classes: &[ClassStates],
    inhibited: &[InhibitedSource],
    body: &Body,
) -> Vec<Event> {
    let states = |class: usize| {
        classes
            .iter()
            .find(|c| c.class == class)
            .expect("every dosed class has states")
    };
    let mut events = Vec::new();
    for d in &arm.doses {
        let st = states(d.class);
        for &t in &d.times {
            let bolus = |state| Event {
                time: t,
                kind: EventKind::Bolus {
                    state,
                    amount: d.amount,
                },
            };
            match d.administration {
                Administration::IvBolus => events.push(bolus(st.venous)),
                Administration::Intraperitoneal => events.push(bolus(st.peritoneal)),
                Administration::Subcutaneous => events.push(bolus(st.subcutaneous)),
                Administration::Local(organ) => {
                    let i = body
                        .organs
                        .iter()
                        .position(|o| o.organ == organ)
                        .expect("resolved sites exist");
                    events.push(bolus(st.tissue[i]));
                }
                Administration::IvInfusion { duration } => {
                    let rate = d.amount / duration;
                    events.push(Event {
                        time: t,
                        kind: EventKind::Input {
                            state: st.venous,
                            delta: rate,
                        },
                    });
                    events.push(Event {
                        time: t + duration,
                        kind: EventKind::Input {
                            state: st.venous,
                            delta: -rate,
                        },
                    });
                }
            }
        }
    }
    for (i, s) in arm.sources.iter().enumerate() {
        let state = source_state(classes, inhibited, i, s);
        events.push(Event {
            time: s.start,
            kind: EventKind::Input {
                state,
                delta: s.rate,
            },
        });
        events.push(Event {
            time: s.end,
            kind: EventKind::Input {
                state,
                delta: -s.rate,
            },
        });
    }
    events
}

/// The state source `i` of an arm releases into: its withheld state when
/// a drug acts on it, else venous blood or the gut lumen of its class.
fn source_state(
    classes: &[ClassStates],
    inhibited: &[InhibitedSource],
    i: usize,
    s: &Source,
) -> usize {
    if let Some(h) = inhibited.iter().find(|h| h.source == i) {
        return h.withheld;
    }
    let st = classes
        .iter()
        .find(|c| c.class == s.class)
        .expect("every released class has states");
    match s.site {
        SourceSite::Blood => st.venous,
        SourceSite::GutLumen => st.gut_lumen,
    }
}

/// Every source of `arm` held on at its nominal rate, as the network's
/// constant inputs (vesicles/s per state): what a steady state is reached
/// under ([`super::steady`]), whatever the sources' windows in the
/// simulated course.
pub fn constant_inputs(arm: &Arm, model: &ArmModel) -> Vec<f64> {
    let mut inputs = vec![0.0; model.network.len()];
    for (i, s) in arm.sources.iter().enumerate() {
        inputs[source_state(&model.classes, &model.inhibited, i, s)] += s.rate;
    }
    inputs
}
