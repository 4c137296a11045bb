//! One arm's network ([`crate::body::pbpk::build`]) as the parts of an SBML
//! model: compartments, species, parameters, reactions and events.
//!
//! The rates are read from the very network exosim integrates, so the
//! exported model cannot drift from the engine; each is given back its
//! physical form where it has one (a flow or a clearance in m³/s divided by
//! the volume it drains, a first-order rate in 1/s otherwise), so that a
//! reader sees cardiac output and organ flows rather than bare constants.

use std::collections::BTreeMap;

use super::xml::Math;
use crate::body::model::{Arm, Body, Organ, Plan};
use crate::body::network::{EventKind, InhibitedRelease, SaturableSite};
use crate::body::pbpk::{self, ArmModel};

/// What a state is for the rate laws that leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Blood or lymph: vesicles leave with a flow (m³/s) out of a volume.
    Blood,
    /// An organ's tissue.
    Tissue,
    /// An injection depot.
    Depot,
    /// Degraded or excreted: vesicles never leave.
    Sink,
    /// A drug's central or peripheral compartment (its volume V1 or V2).
    Drug,
}

/// A compartment: a place of the body, with its volume (m³) when it has one.
#[derive(Debug, Clone)]
pub struct Compartment {
    pub id: String,
    pub name: String,
    pub volume: Option<f64>,
    pub role: Role,
}

/// A species: one vesicle class in one compartment, an amount of vesicles.
#[derive(Debug, Clone)]
pub struct Species {
    pub id: String,
    pub name: String,
    pub compartment: usize,
    pub initial: f64,
}

/// A global parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    pub id: String,
    pub name: String,
    pub value: f64,
    pub units: &'static str,
    pub constant: bool,
}

/// A reaction: vesicles moved from one species (or from outside) to another.
#[derive(Debug, Clone)]
pub struct Reaction {
    pub id: String,
    pub name: String,
    pub reactant: Option<usize>,
    pub product: usize,
    /// Species the rate depends on besides the reactant: the classes
    /// competing for the same macrophages.
    pub modifiers: Vec<usize>,
    pub law: Math,
}

/// Changes at one time: boluses added to species, input rates set.
#[derive(Debug, Clone)]
pub struct Change {
    pub time: f64,
    pub assignments: Vec<(String, Math)>,
}

/// The parts of one arm's SBML model; `species[i]` is network state `i`.
#[derive(Debug, Clone)]
pub struct Parts {
    pub compartments: Vec<Compartment>,
    pub species: Vec<Species>,
    pub parameters: Vec<Parameter>,
    pub reactions: Vec<Reaction>,
    pub changes: Vec<Change>,
}

/// An SBML identifier (`[A-Za-z_][A-Za-z0-9_]*`) made from a name: other
/// characters become `_`, a leading digit gets a `_` before it.
pub fn sid(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    s
}

/// Builds the parts of `arm`'s model.
pub fn parts(plan: &Plan, arm: &Arm) -> Parts {
    let model = pbpk::build(plan, arm);
    let mut compartments = compartments(&arm.body);
    let species = species(plan, arm, &model, &mut compartments);
    let mut params = Params::default();
    let mut laws = Vec::new();
    transfers(&model, &compartments, &species, &mut params, &mut laws);
    for site in &model.network.sites {
        saturable(site, &compartments, &species, &mut params, &mut laws);
    }
    let (initial, changes, inputs) = schedule(&model);
    let mut species = species;
    for (s, amount) in initial {
        species[s].initial = amount;
    }
    let input_params = inputs_as_reactions(&inputs, &species, &mut params, &mut laws);
    for release in &model.network.releases {
        inhibited(release, &species, &input_params, &mut params, &mut laws);
    }
    let (ids, parameters) = params.resolve();
    let changes = changes
        .into_iter()
        .map(|(time, bolus, rates)| Change {
            time,
            assignments: assignments(bolus, rates, &species, &ids, &input_params),
        })
        .collect();
    let reactions = laws
        .into_iter()
        .map(|(id, name, reactant, product, law)| Reaction {
            id,
            name,
            reactant,
            product,
            modifiers: law.modifiers(reactant),
            law: law.math(&ids, &species, &compartments),
        })
        .collect();
    Parts {
        compartments,
        species,
        parameters,
        reactions,
        changes,
    }
}

/// A reaction feeding each state that has an input (infusions, sources)
/// at a rate parameter that the events set; returns each state's parameter.
fn inputs_as_reactions(
    inputs: &BTreeMap<usize, f64>,
    species: &[Species],
    params: &mut Params,
    laws: &mut Vec<Pending>,
) -> BTreeMap<usize, usize> {
    let mut input_params = BTreeMap::new();
    for (&s, &rate) in inputs {
        let sp = &species[s];
        let p = params.add(
            &format!("input_rate_{}", sp.id),
            class_of(sp),
            rate,
            "item_per_second",
            format!("input of {} (doses by infusion, sources)", sp.name),
        );
        params.uses[p].constant = false;
        input_params.insert(s, p);
        laws.push((
            format!("{}__input", sp.id),
            format!("input into {}", sp.name),
            None,
            s,
            Law::Constant { rate: p },
        ));
    }
    input_params
}

/// The event assignments of one time: each bolus added to its species,
/// each input rate set to its new value.
fn assignments(
    bolus: Vec<(usize, f64)>,
    rates: Vec<(usize, f64)>,
    species: &[Species],
    ids: &[String],
    input_params: &BTreeMap<usize, usize>,
) -> Vec<(String, Math)> {
    let added = bolus.into_iter().map(|(s, a)| {
        let id = species[s].id.clone();
        let value = Math::plus(vec![Math::ci(&id), Math::cn(a, "item")]);
        (id, value)
    });
    let set = rates.into_iter().map(|(s, r)| {
        (
            ids[input_params[&s]].clone(),
            Math::cn(r, "item_per_second"),
        )
    });
    added.chain(set).collect()
}

/// The class part of a species' name (`sEV/liver` → `sEV`).
fn class_of(s: &Species) -> &str {
    s.name.split('/').next().unwrap_or("")
}

/// The places of a body, in the order of a class's states.
fn compartments(body: &Body) -> Vec<Compartment> {
    let (venous, arterial) = pbpk::central_blood(body);
    let c = |id: String, name: String, volume, role| Compartment {
        id,
        name,
        volume,
        role,
    };
    let mut v = vec![
        c(
            "venous_blood".into(),
            "venous blood".into(),
            Some(venous),
            Role::Blood,
        ),
        c(
            "arterial_blood".into(),
            "arterial blood".into(),
            Some(arterial),
            Role::Blood,
        ),
    ];
    for o in &body.organs {
        let n = o.organ.name();
        v.push(c(
            format!("{n}_vascular"),
            format!("{n}, vascular bed"),
            Some(o.vascular_volume),
            Role::Blood,
        ));
    }
    for o in &body.organs {
        let n = o.organ.name();
        v.push(c(
            n.into(),
            format!("{n}, tissue"),
            Some(o.volume),
            Role::Tissue,
        ));
    }
    let lungs = body
        .organ(Organ::Lungs)
        .expect("the lungs are a standard organ");
    v.push(c(
        "lungs_trapped".into(),
        "lungs, lodged in capillaries".into(),
        Some(lungs.vascular_volume),
        Role::Tissue,
    ));
    v.push(c(
        "lymph".into(),
        "lymph".into(),
        Some(body.lymph_volume),
        Role::Blood,
    ));
    for (id, name) in [
        ("peritoneal_depot", "peritoneal depot"),
        ("subcutaneous_depot", "subcutaneous depot"),
        ("gut_lumen", "gut lumen"),
    ] {
        v.push(c(id.into(), name.into(), None, Role::Depot));
    }
    v.push(c("degraded".into(), "broken down".into(), None, Role::Sink));
    v.push(c("cleared".into(), "excreted".into(), None, Role::Sink));
    v
}

/// One species per network state, named `class__compartment`; class
/// identifiers made unique when two names give the same one. The states of
/// drugs and of the sources they hold back get compartments of their own,
/// added to `comps`.
fn species(plan: &Plan, arm: &Arm, model: &ArmModel, comps: &mut Vec<Compartment>) -> Vec<Species> {
    let mut out: Vec<Option<Species>> = vec![None; model.network.len()];
    let mut taken = Vec::<String>::new();
    for cs in &model.classes {
        let name = &plan.vesicles[cs.class].name;
        let mut id = sid(name);
        if taken.contains(&id) {
            id = format!("{id}_{}", cs.class);
        }
        taken.push(id.clone());
        let states = cs.all();
        debug_assert_eq!(states.len(), comps.len(), "a state per compartment");
        for (c, (&state, comp)) in states.iter().zip(comps.iter()).enumerate() {
            out[state] = Some(Species {
                id: format!("{id}__{}", comp.id),
                name: format!("{name}/{}", comp.id),
                compartment: c,
                initial: 0.0,
            });
        }
    }
    drug_species(arm, model, comps, &mut out);
    out.into_iter()
        .map(|s| s.expect("every state belongs to a class"))
        .collect()
}

/// A drug's states in compartments named after it (`pddc_central` of
/// volume V1, `pddc_peripheral` of V2, `pddc_gut_depot`,
/// `pddc_eliminated`), its amounts in molecules; the states of held-back
/// sources in one compartment `withheld`, named after their network state.
fn drug_species(
    arm: &Arm,
    model: &ArmModel,
    comps: &mut Vec<Compartment>,
    out: &mut [Option<Species>],
) {
    let mut place = |comps: &mut Vec<Compartment>, state: usize, id: String, volume, role| {
        if !comps.iter().any(|c| c.id == id) {
            comps.push(Compartment {
                id: id.clone(),
                name: model.network.names[state].replace('/', ", "),
                volume,
                role,
            });
        }
        let compartment = comps.iter().position(|c| c.id == id).expect("just added");
        let (owner, part) = model.network.names[state]
            .split_once('/')
            .expect("drug and withheld states are named OWNER/PART");
        out[state] = Some(Species {
            id: format!("{}__{}", sid(owner), sid(part)),
            name: model.network.names[state].clone(),
            compartment,
            initial: 0.0,
        });
    };
    for (d, st) in arm.drugs.iter().zip(&model.drugs) {
        let name = sid(&d.drug.name);
        let v1 = d.drug.disposition.central_volume();
        let v2 = d.drug.disposition.peripheral_volume();
        if let Some(depot) = st.depot {
            place(comps, depot, format!("{name}_gut_depot"), None, Role::Depot);
        }
        place(
            comps,
            st.central,
            format!("{name}_central"),
            Some(v1),
            Role::Drug,
        );
        if let Some(p) = st.peripheral {
            place(comps, p, format!("{name}_peripheral"), v2, Role::Drug);
        }
        place(
            comps,
            st.eliminated,
            format!("{name}_eliminated"),
            None,
            Role::Sink,
        );
    }
    for h in &model.inhibited {
        place(comps, h.withheld, "withheld".into(), None, Role::Sink);
    }
}

/// A source held back by drugs: the flux from its `withheld` state to
/// where it releases, the nominal rate (the state's input) times what
/// every drug lets through, `1 − Emax·rʰ/(1 + rʰ)` with `r = A/(V1·EC50)`.
fn inhibited(
    release: &InhibitedRelease,
    species: &[Species],
    input_params: &BTreeMap<usize, usize>,
    params: &mut Params,
    laws: &mut Vec<Pending>,
) {
    let (from, to) = (&species[release.withheld], &species[release.to]);
    let drugs = release
        .drugs
        .iter()
        .map(|d| {
            let drug = class_of(&species[d.drug]).to_string();
            let mut add = |base: &str, value, units, what: &str| {
                params.add(
                    &format!("{base}_{}", sid(&drug)),
                    "",
                    value,
                    units,
                    format!("{what} of {drug} on release"),
                )
            };
            Hold {
                central: d.drug,
                emax: add("Emax", d.action.emax, "dimensionless", "largest inhibition"),
                ec50: add(
                    "EC50",
                    d.action.ec50,
                    "item_per_cubic_metre",
                    "half-inhibiting central concentration",
                ),
                hill: add("hill", d.action.hill, "dimensionless", "Hill coefficient"),
            }
        })
        .collect();
    laws.push((
        format!("{}__release", from.id),
        format!("release held back by drugs: {} to {}", from.name, to.name),
        Some(release.withheld),
        release.to,
        Law::Inhibited {
            rate: input_params[&release.withheld],
            drugs,
        },
    ));
}

/// One drug's hold on a release: its central amount's species and the
/// parameters of its action.
#[derive(Debug, Clone)]
struct Hold {
    central: usize,
    emax: usize,
    ec50: usize,
    hill: usize,
}

/// A reaction before its parameters have ids: (id, name, reactant,
/// product, law).
type Pending = (String, String, Option<usize>, usize, Law);

/// A rate law whose parameters are indices into [`Params::uses`].
#[derive(Debug, Clone)]
enum Law {
    /// `k · S`.
    FirstOrder { k: usize, s: usize },
    /// `Q · S / V`, V the compartment of S.
    ByVolume { q: usize, s: usize },
    /// A rate, vesicles/s.
    Constant { rate: usize },
    /// `Vmax · a_j S_j/V_j / (Km + Σ a_i S_i/V_i)`.
    Saturable {
        vmax: usize,
        km: usize,
        own: (usize, usize),
        all: Vec<(usize, usize)>,
    },
    /// `rate · Πₖ (1 − Emaxₖ·rₖ^hₖ / (1 + rₖ^hₖ))`, `rₖ = Aₖ / (V1ₖ·EC50ₖ)`.
    Inhibited { rate: usize, drugs: Vec<Hold> },
}

impl Law {
    /// The species of the rate other than `reactant`.
    fn modifiers(&self, reactant: Option<usize>) -> Vec<usize> {
        match self {
            Law::Saturable { all, .. } => all
                .iter()
                .map(|&(_, s)| s)
                .filter(|&s| Some(s) != reactant)
                .collect(),
            Law::Inhibited { drugs, .. } => drugs.iter().map(|d| d.central).collect(),
            _ => Vec::new(),
        }
    }

    fn math(&self, ids: &[String], species: &[Species], comps: &[Compartment]) -> Math {
        let s = |i: usize| Math::ci(&species[i].id);
        let v = |i: usize| Math::ci(&comps[species[i].compartment].id);
        let p = |i: usize| Math::ci(&ids[i]);
        let load = |(a, sp): (usize, usize)| Math::times(vec![p(a), Math::divide(s(sp), v(sp))]);
        match self {
            Law::FirstOrder { k, s: sp } => Math::times(vec![p(*k), s(*sp)]),
            Law::ByVolume { q, s: sp } => Math::divide(Math::times(vec![p(*q), s(*sp)]), v(*sp)),
            Law::Constant { rate } => p(*rate),
            Law::Saturable { vmax, km, own, all } => {
                let mut denominator = vec![p(*km)];
                denominator.extend(all.iter().map(|&m| load(m)));
                Math::divide(
                    Math::times(vec![p(*vmax), load(*own)]),
                    Math::plus(denominator),
                )
            }
            Law::Inhibited { rate, drugs } => {
                let mut factors = vec![p(*rate)];
                for d in drugs {
                    let r = Math::divide(s(d.central), Math::times(vec![v(d.central), p(d.ec50)]));
                    let rh = Math::apply("power", vec![r, p(d.hill)]);
                    let held = Math::divide(
                        Math::times(vec![p(d.emax), rh.clone()]),
                        Math::plus(vec![Math::cn(1.0, "dimensionless"), rh]),
                    );
                    factors.push(Math::apply(
                        "minus",
                        vec![Math::cn(1.0, "dimensionless"), held],
                    ));
                }
                Math::times(factors)
            }
        }
    }
}

/// Every first-order transfer of the network as a reaction.
fn transfers(
    model: &ArmModel,
    comps: &[Compartment],
    species: &[Species],
    params: &mut Params,
    laws: &mut Vec<Pending>,
) {
    for t in &model.network.transfers {
        let (from, to) = (&species[t.from], &species[t.to]);
        let (cf, ct) = (&comps[from.compartment], &comps[to.compartment]);
        let class = class_of(from);
        let (law, what) = match (cf.role, ct.role) {
            (Role::Blood, Role::Tissue) => {
                let volume = cf.volume.expect("blood has a volume");
                let q = params.add(
                    &format!("CL_uptake_{}", ct.id),
                    class,
                    t.rate * volume,
                    "cubic_metre_per_second",
                    format!("uptake clearance of the {} (extraction per passage)", ct.id),
                );
                (Law::ByVolume { q, s: t.from }, "uptake")
            }
            (Role::Blood, Role::Blood) => {
                let volume = cf.volume.expect("blood has a volume");
                let q = params.add(
                    &format!("Q_{}_to_{}", cf.id, ct.id),
                    class,
                    t.rate * volume,
                    "cubic_metre_per_second",
                    format!("flow from {} to {}", cf.name, ct.name),
                );
                (Law::ByVolume { q, s: t.from }, "flow")
            }
            (from_role, to_role) => {
                let what = match (from_role, ct.id.as_str(), to_role) {
                    (_, "degraded", _) => "degradation",
                    (_, "cleared", _) => "excretion",
                    (Role::Depot, _, _) => "absorption",
                    (Role::Drug, _, Role::Sink) => "elimination",
                    (Role::Drug, _, _) => "distribution",
                    _ => "efflux",
                };
                let k = params.add(
                    &format!("k_{what}_{}", cf.id),
                    class,
                    t.rate,
                    "per_second",
                    format!("{what} rate from {}", cf.name),
                );
                (Law::FirstOrder { k, s: t.from }, what)
            }
        };
        laws.push((
            format!("{}__{what}__to__{}", from.id, ct.id),
            format!("{what}: {} to {}", from.name, ct.name),
            Some(t.from),
            t.to,
            law,
        ));
    }
}

/// A saturable macrophage site: one reaction per member class, competing.
fn saturable(
    site: &SaturableSite,
    comps: &[Compartment],
    species: &[Species],
    params: &mut Params,
    laws: &mut Vec<Pending>,
) {
    // The members are one bed's classes: its compartment names the organ.
    let Some(first) = site.members.first() else {
        return;
    };
    let bed = &comps[species[first.from].compartment].id;
    let organ = bed.strip_suffix("_vascular").unwrap_or(bed);
    let vmax = params.add(
        &format!("Vmax_mps_{organ}"),
        "",
        site.vmax,
        "item_per_second",
        format!("maximal macrophage uptake in the {organ}"),
    );
    let km = params.add(
        &format!("Km_mps_{organ}"),
        "",
        site.km,
        "item_per_cubic_metre",
        format!("half-saturating concentration of the {organ}'s macrophages"),
    );
    let members: Vec<(usize, usize)> = site
        .members
        .iter()
        .map(|m| {
            let class = class_of(&species[m.from]);
            let a = params.add(
                &format!("recognition_{}", sid(class)),
                class,
                m.affinity,
                "dimensionless",
                format!("macrophage recognition of {class}, relative to natural small EVs"),
            );
            (a, m.from)
        })
        .collect();
    for (m, &own) in site.members.iter().zip(&members) {
        let (from, to) = (&species[m.from], &species[m.to]);
        laws.push((
            format!("{}__mps__to__{organ}", from.id),
            format!("macrophage uptake: {} to {}", from.name, to.name),
            Some(m.from),
            m.to,
            Law::Saturable {
                vmax,
                km,
                own,
                all: members.clone(),
            },
        ));
    }
}

/// Boluses at t ≤ 0 as initial amounts.
type Initial = BTreeMap<usize, f64>;
/// Changes at a time after 0: boluses by state, input rates set by state.
type Later = Vec<(f64, Vec<(usize, f64)>, Vec<(usize, f64)>)>;

/// The network's events as initial amounts, later changes, and the input
/// rate at t = 0 of every state that ever has one. Input rates follow
/// [`crate::body::network::Stepper`]: events in time order, and a rate
/// switched back to rounding noise is zero; each change sets the rate to
/// its new value rather than adding to it, as exosim does.
fn schedule(model: &ArmModel) -> (Initial, Later, BTreeMap<usize, f64>) {
    let mut events = model.events.clone();
    events.sort_by(|a, b| a.time.total_cmp(&b.time));
    let mut initial = BTreeMap::new();
    let mut later: Later = Vec::new();
    let mut rates: BTreeMap<usize, f64> = BTreeMap::new();
    let mut scale: BTreeMap<usize, f64> = BTreeMap::new();
    let mut at_zero = None;
    for e in &events {
        if e.time > 0.0 && later.last().is_none_or(|c| c.0 != e.time) {
            at_zero.get_or_insert_with(|| rates.clone());
            later.push((e.time, Vec::new(), Vec::new()));
        }
        match (e.kind, later.last_mut()) {
            (EventKind::Bolus { state, amount }, Some(c)) => {
                match c.1.iter_mut().find(|b| b.0 == state) {
                    Some(b) => b.1 += amount,
                    None => c.1.push((state, amount)),
                }
            }
            (EventKind::Bolus { state, amount }, None) => {
                *initial.entry(state).or_insert(0.0) += amount
            }
            (EventKind::Input { state, delta }, c) => {
                let s = scale.entry(state).or_insert(0.0);
                *s = s.max(delta.abs());
                let r = rates.entry(state).or_insert(0.0);
                *r += delta;
                if r.abs() <= 1e-12 * *s {
                    *r = 0.0;
                }
                if let Some(c) = c {
                    c.2.retain(|x| x.0 != state);
                    c.2.push((state, *r));
                }
            }
        }
    }
    let at_zero = at_zero.unwrap_or_else(|| rates.clone());
    let inputs = rates
        .keys()
        .map(|&s| (s, at_zero.get(&s).copied().unwrap_or(0.0)))
        .collect();
    (initial, later, inputs)
}

/// Parameters as they are used, given ids once all are known: a quantity
/// with the same value for every class is one parameter named `base`,
/// otherwise one per class, `base_class`.
#[derive(Debug, Default)]
struct Params {
    uses: Vec<Use>,
}

#[derive(Debug, Clone)]
struct Use {
    base: String,
    class: String,
    value: f64,
    units: &'static str,
    name: String,
    constant: bool,
}

impl Params {
    fn add(
        &mut self,
        base: &str,
        class: &str,
        value: f64,
        units: &'static str,
        name: String,
    ) -> usize {
        self.uses.push(Use {
            base: base.to_string(),
            class: class.to_string(),
            value,
            units,
            name,
            constant: true,
        });
        self.uses.len() - 1
    }

    /// The id of each use, and the parameters, in order of first use.
    fn resolve(&self) -> (Vec<String>, Vec<Parameter>) {
        let mut shared: BTreeMap<&str, bool> = BTreeMap::new();
        for u in &self.uses {
            let first = self.uses.iter().find(|v| v.base == u.base).expect("u");
            let same = first.value.to_bits() == u.value.to_bits();
            *shared.entry(&u.base).or_insert(true) &= same;
        }
        let mut ids = Vec::with_capacity(self.uses.len());
        let mut parameters: Vec<Parameter> = Vec::new();
        for u in &self.uses {
            let mut id = if shared[u.base.as_str()] || u.class.is_empty() {
                sid(&u.base)
            } else {
                sid(&format!("{}_{}", u.base, u.class))
            };
            // The same id for another value (never expected): numbered.
            let base_id = id.clone();
            let mut n = 1;
            while let Some(p) = parameters.iter().find(|p| p.id == id) {
                if p.value.to_bits() == u.value.to_bits() {
                    break;
                }
                n += 1;
                id = format!("{base_id}_{n}");
            }
            if !parameters.iter().any(|p| p.id == id) {
                let name = if shared[u.base.as_str()] {
                    u.name.clone()
                } else {
                    format!("{} ({})", u.name, u.class)
                };
                parameters.push(Parameter {
                    id: id.clone(),
                    name,
                    value: u.value,
                    units: u.units,
                    constant: u.constant,
                });
            }
            ids.push(id);
        }
        (ids, parameters)
    }
}
