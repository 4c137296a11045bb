//! The SBML document of one arm's [`Parts`]: units, compartments, species,
//! parameters, reactions and events, in that order.

use super::SBML_NS;
use super::assemble::{Parts, sid};
use super::xml::{Math, Xml, number};

/// Units every model declares: (id, [(kind, exponent)]). Amounts are
/// vesicle counts (`item`), time in seconds, volumes in m³.
const UNITS: [(&str, &[(&str, i32)]); 5] = [
    ("cubic_metre", &[("metre", 3)]),
    ("per_second", &[("second", -1)]),
    ("cubic_metre_per_second", &[("metre", 3), ("second", -1)]),
    ("item_per_second", &[("item", 1), ("second", -1)]),
    ("item_per_cubic_metre", &[("item", 1), ("metre", -3)]),
];

/// The document of one arm of `study`.
pub fn write(parts: &Parts, study: &str, arm: &str) -> String {
    let mut x = Xml::new();
    x.open(
        "sbml",
        &[
            ("xmlns", Some(SBML_NS)),
            ("level", Some("3")),
            ("version", Some("2")),
        ],
    );
    let id = sid(&format!("{study}__{arm}"));
    let name = format!("{study}, arm {arm}");
    x.open(
        "model",
        &[
            ("id", Some(&id)),
            ("name", Some(&name)),
            ("substanceUnits", Some("item")),
            ("timeUnits", Some("second")),
            ("volumeUnits", Some("cubic_metre")),
            ("extentUnits", Some("item")),
        ],
    );
    notes(&mut x, study, arm);
    units(&mut x);
    compartments(&mut x, parts);
    species(&mut x, parts);
    parameters(&mut x, parts);
    reactions(&mut x, parts);
    events(&mut x, parts);
    x.close("model");
    x.close("sbml");
    x.finish()
}

fn notes(x: &mut Xml, study: &str, arm: &str) {
    x.open("notes", &[]);
    x.open("body", &[("xmlns", Some("http://www.w3.org/1999/xhtml"))]);
    x.leaf(
        "p",
        &format!(
            "Arm `{arm}` of the exosim study `{study}`, exported by exosim {}. Species are \
             amounts of vesicles (item); time in s, volumes in m3.",
            env!("CARGO_PKG_VERSION")
        ),
    );
    x.close("body");
    x.close("notes");
}

fn units(x: &mut Xml) {
    x.open("listOfUnitDefinitions", &[]);
    for (id, parts) in UNITS {
        x.open("unitDefinition", &[("id", Some(id))]);
        x.open("listOfUnits", &[]);
        for (kind, exponent) in parts {
            x.empty(
                "unit",
                &[
                    ("kind", Some(kind)),
                    ("exponent", Some(&exponent.to_string())),
                    ("scale", Some("0")),
                    ("multiplier", Some("1")),
                ],
            );
        }
        x.close("listOfUnits");
        x.close("unitDefinition");
    }
    x.close("listOfUnitDefinitions");
}

/// Places with a volume are 3-D compartments; depots and sinks, which
/// have none in exosim, are points (0-D, dimensionless size unset).
fn compartments(x: &mut Xml, parts: &Parts) {
    x.open("listOfCompartments", &[]);
    for c in &parts.compartments {
        let size = c.volume.map(number);
        let (dims, units) = match c.volume {
            Some(_) => ("3", "cubic_metre"),
            None => ("0", "dimensionless"),
        };
        x.empty(
            "compartment",
            &[
                ("id", Some(&c.id)),
                ("name", Some(&c.name)),
                ("spatialDimensions", Some(dims)),
                ("size", size.as_deref()),
                ("units", Some(units)),
                ("constant", Some("true")),
            ],
        );
    }
    x.close("listOfCompartments");
}

fn species(x: &mut Xml, parts: &Parts) {
    x.open("listOfSpecies", &[]);
    for s in &parts.species {
        x.empty(
            "species",
            &[
                ("id", Some(&s.id)),
                ("name", Some(&s.name)),
                ("compartment", Some(&parts.compartments[s.compartment].id)),
                ("initialAmount", Some(&number(s.initial))),
                ("substanceUnits", Some("item")),
                ("hasOnlySubstanceUnits", Some("true")),
                ("boundaryCondition", Some("false")),
                ("constant", Some("false")),
            ],
        );
    }
    x.close("listOfSpecies");
}

fn parameters(x: &mut Xml, parts: &Parts) {
    x.open("listOfParameters", &[]);
    for p in &parts.parameters {
        x.empty(
            "parameter",
            &[
                ("id", Some(&p.id)),
                ("name", Some(&p.name)),
                ("value", Some(&number(p.value))),
                ("units", Some(p.units)),
                ("constant", Some(if p.constant { "true" } else { "false" })),
            ],
        );
    }
    x.close("listOfParameters");
}

fn reference(x: &mut Xml, list: &str, species: &str) {
    x.open(list, &[]);
    x.empty(
        "speciesReference",
        &[
            ("species", Some(species)),
            ("stoichiometry", Some("1")),
            ("constant", Some("true")),
        ],
    );
    x.close(list);
}

fn reactions(x: &mut Xml, parts: &Parts) {
    x.open("listOfReactions", &[]);
    for r in &parts.reactions {
        x.open(
            "reaction",
            &[
                ("id", Some(&r.id)),
                ("name", Some(&r.name)),
                ("reversible", Some("false")),
            ],
        );
        if let Some(s) = r.reactant {
            reference(x, "listOfReactants", &parts.species[s].id);
        }
        reference(x, "listOfProducts", &parts.species[r.product].id);
        if !r.modifiers.is_empty() {
            x.open("listOfModifiers", &[]);
            for &m in &r.modifiers {
                x.empty(
                    "modifierSpeciesReference",
                    &[("species", Some(&parts.species[m].id))],
                );
            }
            x.close("listOfModifiers");
        }
        x.open("kineticLaw", &[]);
        x.raw(&r.law.element());
        x.close("kineticLaw");
        x.close("reaction");
    }
    x.close("listOfReactions");
}

/// One event per time after 0 at which a dose is given or an input rate
/// changes, triggered when time reaches it.
fn events(x: &mut Xml, parts: &Parts) {
    if parts.changes.is_empty() {
        return;
    }
    x.open("listOfEvents", &[]);
    for (k, c) in parts.changes.iter().enumerate() {
        let id = format!("dose_event_{}", k + 1);
        let name = format!("t = {} s", number(c.time));
        x.open(
            "event",
            &[
                ("id", Some(&id)),
                ("name", Some(&name)),
                ("useValuesFromTriggerTime", Some("true")),
            ],
        );
        x.open(
            "trigger",
            &[
                ("initialValue", Some("false")),
                ("persistent", Some("true")),
            ],
        );
        let at = Math::apply("geq", vec![Math::time(), Math::cn(c.time, "second")]);
        x.raw(&at.element());
        x.close("trigger");
        x.open("listOfEventAssignments", &[]);
        for (variable, value) in &c.assignments {
            x.open("eventAssignment", &[("variable", Some(variable))]);
            x.raw(&value.element());
            x.close("eventAssignment");
        }
        x.close("listOfEventAssignments");
        x.close("event");
    }
    x.close("listOfEvents");
}
