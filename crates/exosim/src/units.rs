//! Quantities with units.
//!
//! # Internal unit system
//!
//! Inside exosim every quantity is a plain `f64` in **SI units**:
//!
//! | dimension     | internal unit | notes                                   |
//! |---------------|---------------|-----------------------------------------|
//! | time          | s             |                                         |
//! | length        | m             |                                         |
//! | volume        | m³            |                                         |
//! | flow          | m³/s          | volume per time                         |
//! | rate          | 1/s           | per time; counts are dimensionless      |
//! | concentration | 1/m³          | count per volume                        |
//! | temperature   | K             |                                         |
//! | count         | 1             | vesicles, particles: dimensionless      |
//! | diffusivity   | m²/s          | diffusion coefficients, cell motility   |
//! | velocity      | m/s           | interstitial flow                       |
//! | mass          | kg            | a drug's dose                           |
//! | mass per mass | kg/kg         | a dose per body weight (mg/kg)          |
//! | mass conc.    | kg/m³         | a drug's plasma level (ng/mL)           |
//! | molar mass    | kg/molecule   | g/mol or Da over Avogadro's number      |
//!
//! This is the single place where the unit system is stated. Study files are
//! written by people in whatever unit is convenient ("7 min", "2.5 mL",
//! "1e10 /mL", "37 degC"); such text is converted **once**, at the edge, by
//! [`parse`] or by deserializing one of the typed newtypes ([`Time`],
//! [`Volume`], ...). Everything past that edge works in SI and never converts
//! again. For output, [`format_si`] writes text that [`parse`] reads back
//! bit-exactly (for resolved studies written to disk), and [`format_human`]
//! writes text meant for people.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds in a minute, so code can write `5.0 * MINUTE` instead of a bare 300.
pub const MINUTE: f64 = 60.0;
/// Seconds in an hour.
pub const HOUR: f64 = 3600.0;
/// Seconds in a day.
pub const DAY: f64 = 86_400.0;
/// Seconds in a week.
pub const WEEK: f64 = 604_800.0;
/// One Julian year (365.25 days), s: screening intervals and tumour histories.
pub const YEAR: f64 = 31_557_600.0;
/// Cubic metres in a millilitre, the volume unit of most lab protocols.
pub const MILLILITRE: f64 = 1e-6;
/// Cubic metres in a microlitre.
pub const MICROLITRE: f64 = 1e-9;
/// Cubic metres in a litre.
pub const LITRE: f64 = 1e-3;
/// Metres in a nanometre, the natural unit of vesicle diameters.
pub const NANOMETRE: f64 = 1e-9;
/// Metres in a micrometre, the natural unit of cells and tissue distances.
pub const MICROMETRE: f64 = 1e-6;
/// Boltzmann constant in J/K (exact since the 2019 SI), for diffusion coefficients.
pub const BOLTZMANN: f64 = 1.380649e-23;
/// Avogadro's number in 1/mol (exact since the 2019 SI), for molar concentrations.
pub const AVOGADRO: f64 = 6.022_140_76e23;
/// Kelvin at 0 °C, the offset between the Celsius scale people use and the kelvin used inside.
pub const ZERO_CELSIUS: f64 = 273.15;

/// The physical kind of a quantity, so that text can be checked against what a field expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Durations and points in time (internal unit: s).
    Time,
    /// Sizes and distances (internal unit: m).
    Length,
    /// Volumes of fluid or compartments (internal unit: m³).
    Volume,
    /// Volume per time, e.g. blood or lymph flow (internal unit: m³/s).
    Flow,
    /// Events per time, e.g. release or clearance rates (internal unit: 1/s).
    Rate,
    /// Count per volume, e.g. vesicles per mL (internal unit: 1/m³).
    Concentration,
    /// Absolute temperature (internal unit: K).
    Temperature,
    /// Dimensionless numbers of things, e.g. vesicles (internal unit: 1).
    Count,
    /// Area per time, e.g. a diffusion coefficient (internal unit: m²/s).
    Diffusivity,
    /// Length per time, e.g. interstitial flow (internal unit: m/s).
    Velocity,
    /// Mass of a drug, e.g. a dose in mg (internal unit: kg).
    Mass,
    /// Mass per mass, e.g. a dose per body weight in mg/kg (internal unit: kg/kg).
    MassPerMass,
    /// Mass per volume, e.g. a plasma level in ng/mL (internal unit: kg/m³).
    MassConcentration,
    /// Mass of one molecule, written as a molar mass in g/mol or Da
    /// (internal unit: kg per molecule, so that a mass over it is a count).
    MolarMass,
}

impl Dimension {
    /// Every dimension, for code that must treat them all (tests, documentation).
    pub const ALL: [Dimension; 14] = [
        Dimension::Time,
        Dimension::Length,
        Dimension::Volume,
        Dimension::Flow,
        Dimension::Rate,
        Dimension::Concentration,
        Dimension::Temperature,
        Dimension::Count,
        Dimension::Diffusivity,
        Dimension::Velocity,
        Dimension::Mass,
        Dimension::MassPerMass,
        Dimension::MassConcentration,
        Dimension::MolarMass,
    ];

    /// Lower-case word used in messages to people ("expected a time").
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Time => "time",
            Dimension::Length => "length",
            Dimension::Volume => "volume",
            Dimension::Flow => "flow",
            Dimension::Rate => "rate",
            Dimension::Concentration => "concentration",
            Dimension::Temperature => "temperature",
            Dimension::Count => "count",
            Dimension::Diffusivity => "diffusivity",
            Dimension::Velocity => "velocity",
            Dimension::Mass => "mass",
            Dimension::MassPerMass => "mass per mass",
            Dimension::MassConcentration => "mass concentration",
            Dimension::MolarMass => "molar mass",
        }
    }

    /// Human list of accepted units, shown in every error so the user can fix the text.
    pub fn accepted(self) -> &'static str {
        match self {
            Dimension::Time => "ms, s, min, h, day, week, year",
            Dimension::Length => "nm, µm (or um), mm, cm, m",
            Dimension::Volume => "nL, µL (or uL), mL, dL, L, mm3, cm3, m3",
            Dimension::Flow => {
                "a volume per time, such as mL/min, µL/min, L/h, m3/s, or a potency per molar concentration per time, such as /nM/day"
            }
            Dimension::Rate => {
                "per time, such as /s, /min, /h, /day, 1/min, per min, min^-1, vesicles/min"
            }
            Dimension::Concentration => {
                "per volume, such as /mL, /µL, /L, per mL, mL^-1, EVs/mL, /m3, or molar: pM, nM, µM"
            }
            Dimension::Temperature => "K, degC (or °C, C)",
            Dimension::Count => {
                "a bare number, or a number followed by EVs, vesicles, particles or counts, or a molar amount: pmol, nmol, µmol, mmol, mol"
            }
            Dimension::Diffusivity => "an area per time, such as um^2/s, µm²/min, cm2/s, m2/s",
            Dimension::Velocity => "a length per time, such as um/s, µm/min, mm/h, m/s",
            Dimension::Mass => "pg, ng, µg (or ug), mg, g, kg",
            Dimension::MassPerMass => "a mass per body mass, such as mg/kg, µg/kg, ug/g",
            Dimension::MassConcentration => "a mass per volume, such as ng/mL, µg/mL, mg/L",
            Dimension::MolarMass => "g/mol, kg/mol, Da, kDa",
        }
    }

    /// The internal (SI) unit as written by [`format_si`]; empty for counts.
    pub fn si_unit(self) -> &'static str {
        match self {
            Dimension::Time => "s",
            Dimension::Length => "m",
            Dimension::Volume => "m3",
            Dimension::Flow => "m3/s",
            Dimension::Rate => "/s",
            Dimension::Concentration => "/m3",
            Dimension::Temperature => "K",
            Dimension::Count => "",
            Dimension::Diffusivity => "m2/s",
            Dimension::Velocity => "m/s",
            Dimension::Mass => "kg",
            Dimension::MassPerMass => "kg/kg",
            Dimension::MassConcentration => "kg/m3",
            Dimension::MolarMass => "kg/molecule",
        }
    }

    /// A typical value, shown in messages as a model of correct text.
    fn example(self) -> &'static str {
        match self {
            Dimension::Time => "7 min",
            Dimension::Length => "100 nm",
            Dimension::Volume => "2.5 mL",
            Dimension::Flow => "20 mL/min",
            Dimension::Rate => "0.11 /day",
            Dimension::Concentration => "1e10 /mL",
            Dimension::Temperature => "37 degC",
            Dimension::Count => "1e10 EVs",
            Dimension::Diffusivity => "4 um^2/s",
            Dimension::Velocity => "0.1 um/s",
            Dimension::Mass => "5 mg",
            Dimension::MassPerMass => "10 mg/kg",
            Dimension::MassConcentration => "50 ng/mL",
            Dimension::MolarMass => "355.4 g/mol",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a quantity could not be read; each message is a full sentence listing the accepted units.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    /// The text was empty or only blanks.
    #[error(
        "No {dim} was given. Write a number followed by a unit, for example \"{}\"; accepted units: {}.",
        .dim.example(),
        .dim.accepted()
    )]
    Empty {
        /// What the field expected.
        dim: Dimension,
    },
    /// The text does not start with a number, or the number is malformed.
    #[error(
        "\"{text}\" is not a number followed by a unit. Write a {dim} such as \"{}\"; accepted units: {}.",
        .dim.example(),
        .dim.accepted()
    )]
    NotANumber {
        /// The text as given.
        text: String,
        /// What the field expected.
        dim: Dimension,
    },
    /// A bare number where a unit is required (every dimension but count).
    #[error(
        "\"{text}\" has no unit. A {dim} needs one, for example \"{}\"; accepted units: {}.",
        .dim.example(),
        .dim.accepted()
    )]
    MissingUnit {
        /// The text as given.
        text: String,
        /// What the field expected.
        dim: Dimension,
    },
    /// The unit is not one exosim knows.
    #[error(
        "\"{unit}\" (in \"{text}\") is not a unit of {dim} that exosim knows.{} Accepted units: {}.",
        did_you_mean(.suggestion),
        .dim.accepted()
    )]
    UnknownUnit {
        /// The text as given.
        text: String,
        /// The unit part of the text.
        unit: String,
        /// What the field expected.
        dim: Dimension,
        /// A close spelling of an accepted unit, if there is one.
        suggestion: Option<String>,
    },
    /// A month, whose length varies (28 to 31 days), where a time is expected.
    #[error(
        "\"{unit}\" (in \"{text}\"): months are not accepted, since a month is 28 to 31 days long. Use day, week or year instead (1 month is about 30.4 day, 4.35 week or 0.0833 year); accepted units: {}.",
        .dim.accepted()
    )]
    Month {
        /// The text as given.
        text: String,
        /// The unit part of the text.
        unit: String,
        /// What the field expected (a time, or a rate per month).
        dim: Dimension,
    },
    /// The unit is valid but measures something else (e.g. a volume where a time is expected).
    #[error(
        "\"{text}\" is a {found}, expected a {expected}. Accepted units for a {expected}: {}.",
        .expected.accepted()
    )]
    WrongDimension {
        /// The text as given.
        text: String,
        /// What the unit measures.
        found: Dimension,
        /// What the field expected.
        expected: Dimension,
    },
    /// Infinity, NaN, or a value too large to represent after conversion.
    #[error(
        "\"{text}\" is not a finite number. A {dim} must be an ordinary number such as \"{}\"; accepted units: {}.",
        .dim.example(),
        .dim.accepted()
    )]
    NonFinite {
        /// The text as given.
        text: String,
        /// What the field expected.
        dim: Dimension,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" Did you mean \"{s}\"?"),
        None => String::new(),
    }
}

/// A conversion from a written unit to SI: `si = value * num / den + offset`.
///
/// Factors are kept as a ratio of exactly representable numbers (1 mL is
/// `1 / 1e6`, not `1e-6`) so that one rounding step gives the correctly
/// rounded SI value, and constructors agree bit-for-bit with [`parse`].
#[derive(Debug, Clone, Copy, PartialEq)]
struct Conv {
    dim: Dimension,
    num: f64,
    den: f64,
    offset: f64,
}

impl Conv {
    const fn new(dim: Dimension, num: f64, den: f64) -> Conv {
        Conv {
            dim,
            num,
            den,
            offset: 0.0,
        }
    }

    fn to_si(self, value: f64) -> f64 {
        let scaled = value * self.num / self.den;
        // Adding 0.0 would turn -0.0 into +0.0 and break the exact round trip.
        if self.offset == 0.0 {
            scaled
        } else {
            scaled + self.offset
        }
    }

    fn in_unit(self, si: f64) -> f64 {
        let shifted = if self.offset == 0.0 {
            si
        } else {
            si - self.offset
        };
        shifted * self.den / self.num
    }
}

use Dimension as D;

/// Simple (non-compound) unit spellings. Case-sensitive; see [`simple_unit`] for the fallback.
const SIMPLE_UNITS: &[(&str, Conv)] = &[
    // time
    ("s", Conv::new(D::Time, 1.0, 1.0)),
    ("sec", Conv::new(D::Time, 1.0, 1.0)),
    ("secs", Conv::new(D::Time, 1.0, 1.0)),
    ("second", Conv::new(D::Time, 1.0, 1.0)),
    ("seconds", Conv::new(D::Time, 1.0, 1.0)),
    ("ms", Conv::new(D::Time, 1.0, 1e3)),
    ("min", Conv::new(D::Time, MINUTE, 1.0)),
    ("mins", Conv::new(D::Time, MINUTE, 1.0)),
    ("minute", Conv::new(D::Time, MINUTE, 1.0)),
    ("minutes", Conv::new(D::Time, MINUTE, 1.0)),
    ("h", Conv::new(D::Time, HOUR, 1.0)),
    ("hr", Conv::new(D::Time, HOUR, 1.0)),
    ("hrs", Conv::new(D::Time, HOUR, 1.0)),
    ("hour", Conv::new(D::Time, HOUR, 1.0)),
    ("hours", Conv::new(D::Time, HOUR, 1.0)),
    ("d", Conv::new(D::Time, DAY, 1.0)),
    ("day", Conv::new(D::Time, DAY, 1.0)),
    ("days", Conv::new(D::Time, DAY, 1.0)),
    ("wk", Conv::new(D::Time, WEEK, 1.0)),
    ("wks", Conv::new(D::Time, WEEK, 1.0)),
    ("week", Conv::new(D::Time, WEEK, 1.0)),
    ("weeks", Conv::new(D::Time, WEEK, 1.0)),
    ("y", Conv::new(D::Time, YEAR, 1.0)),
    ("yr", Conv::new(D::Time, YEAR, 1.0)),
    ("yrs", Conv::new(D::Time, YEAR, 1.0)),
    ("year", Conv::new(D::Time, YEAR, 1.0)),
    ("years", Conv::new(D::Time, YEAR, 1.0)),
    // length
    ("nm", Conv::new(D::Length, 1.0, 1e9)),
    ("um", Conv::new(D::Length, 1.0, 1e6)),
    ("\u{b5}m", Conv::new(D::Length, 1.0, 1e6)),
    ("\u{3bc}m", Conv::new(D::Length, 1.0, 1e6)),
    ("mm", Conv::new(D::Length, 1.0, 1e3)),
    ("cm", Conv::new(D::Length, 1.0, 1e2)),
    ("m", Conv::new(D::Length, 1.0, 1.0)),
    // volume
    ("nL", Conv::new(D::Volume, 1.0, 1e12)),
    ("nl", Conv::new(D::Volume, 1.0, 1e12)),
    ("uL", Conv::new(D::Volume, 1.0, 1e9)),
    ("ul", Conv::new(D::Volume, 1.0, 1e9)),
    ("\u{b5}L", Conv::new(D::Volume, 1.0, 1e9)),
    ("\u{b5}l", Conv::new(D::Volume, 1.0, 1e9)),
    ("\u{3bc}L", Conv::new(D::Volume, 1.0, 1e9)),
    ("\u{3bc}l", Conv::new(D::Volume, 1.0, 1e9)),
    ("mL", Conv::new(D::Volume, 1.0, 1e6)),
    ("ml", Conv::new(D::Volume, 1.0, 1e6)),
    ("dL", Conv::new(D::Volume, 1.0, 1e4)),
    ("dl", Conv::new(D::Volume, 1.0, 1e4)),
    ("L", Conv::new(D::Volume, 1.0, 1e3)),
    ("l", Conv::new(D::Volume, 1.0, 1e3)),
    ("mm3", Conv::new(D::Volume, 1.0, 1e9)),
    ("mm^3", Conv::new(D::Volume, 1.0, 1e9)),
    ("mm\u{b3}", Conv::new(D::Volume, 1.0, 1e9)),
    ("cm3", Conv::new(D::Volume, 1.0, 1e6)),
    ("cm^3", Conv::new(D::Volume, 1.0, 1e6)),
    ("cm\u{b3}", Conv::new(D::Volume, 1.0, 1e6)),
    ("m3", Conv::new(D::Volume, 1.0, 1.0)),
    ("m^3", Conv::new(D::Volume, 1.0, 1.0)),
    ("m\u{b3}", Conv::new(D::Volume, 1.0, 1.0)),
    // molar concentration: copies of a molecule per volume (Avogadro's
    // number, exact since the 2019 SI, times mol/L in 1/m³)
    (
        "pM",
        Conv::new(D::Concentration, AVOGADRO * 1e-12 * 1e3, 1.0),
    ),
    (
        "nM",
        Conv::new(D::Concentration, AVOGADRO * 1e-9 * 1e3, 1.0),
    ),
    (
        "uM",
        Conv::new(D::Concentration, AVOGADRO * 1e-6 * 1e3, 1.0),
    ),
    (
        "\u{b5}M",
        Conv::new(D::Concentration, AVOGADRO * 1e-6 * 1e3, 1.0),
    ),
    // temperature
    ("K", Conv::new(D::Temperature, 1.0, 1.0)),
    ("kelvin", Conv::new(D::Temperature, 1.0, 1.0)),
    ("degC", CELSIUS),
    ("deg C", CELSIUS),
    ("\u{b0}C", CELSIUS),
    ("\u{2103}", CELSIUS),
    ("C", CELSIUS),
    ("celsius", CELSIUS),
    // count words (dimensionless)
    ("EVs", Conv::new(D::Count, 1.0, 1.0)),
    ("EV", Conv::new(D::Count, 1.0, 1.0)),
    ("vesicles", Conv::new(D::Count, 1.0, 1.0)),
    ("vesicle", Conv::new(D::Count, 1.0, 1.0)),
    ("exosomes", Conv::new(D::Count, 1.0, 1.0)),
    ("exosome", Conv::new(D::Count, 1.0, 1.0)),
    ("particles", Conv::new(D::Count, 1.0, 1.0)),
    ("particle", Conv::new(D::Count, 1.0, 1.0)),
    ("counts", Conv::new(D::Count, 1.0, 1.0)),
    ("molecules", Conv::new(D::Count, 1.0, 1.0)),
    ("molecule", Conv::new(D::Count, 1.0, 1.0)),
    // amounts of a molecule: copies, through Avogadro's number (a drug's
    // dose, to meet its EC50 written in molar units)
    ("pmol", Conv::new(D::Count, AVOGADRO * 1e-12, 1.0)),
    ("nmol", Conv::new(D::Count, AVOGADRO * 1e-9, 1.0)),
    ("umol", Conv::new(D::Count, AVOGADRO * 1e-6, 1.0)),
    ("\u{b5}mol", Conv::new(D::Count, AVOGADRO * 1e-6, 1.0)),
    ("mmol", Conv::new(D::Count, AVOGADRO * 1e-3, 1.0)),
    ("mol", Conv::new(D::Count, AVOGADRO, 1.0)),
    // mass (a drug's dose)
    ("pg", Conv::new(D::Mass, 1.0, 1e15)),
    ("ng", Conv::new(D::Mass, 1.0, 1e12)),
    ("ug", Conv::new(D::Mass, 1.0, 1e9)),
    ("\u{b5}g", Conv::new(D::Mass, 1.0, 1e9)),
    ("\u{3bc}g", Conv::new(D::Mass, 1.0, 1e9)),
    ("mg", Conv::new(D::Mass, 1.0, 1e6)),
    ("g", Conv::new(D::Mass, 1.0, 1e3)),
    ("kg", Conv::new(D::Mass, 1.0, 1.0)),
    // molar mass, as the mass of one molecule: 1 Da is 1 g/mol over Avogadro's number
    ("Da", Conv::new(D::MolarMass, 1.0, 1e3 * AVOGADRO)),
    ("kDa", Conv::new(D::MolarMass, 1.0, AVOGADRO)),
];

const CELSIUS: Conv = Conv {
    dim: D::Temperature,
    num: 1.0,
    den: 1.0,
    offset: ZERO_CELSIUS,
};

const COUNT_ONE: Conv = Conv::new(D::Count, 1.0, 1.0);

/// Looks up a simple unit: exact spelling first, then, for spellings of three
/// or more characters, ignoring case ("Min", "HOURS", "degc"). Short symbols
/// stay case-sensitive because there the case carries meaning (m vs M, mL vs ML).
fn simple_unit(s: &str) -> Option<Conv> {
    if let Some((_, c)) = SIMPLE_UNITS.iter().find(|(name, _)| *name == s) {
        return Some(*c);
    }
    if s.chars().count() >= 3 {
        let lower = s.to_lowercase();
        if let Some((_, c)) = SIMPLE_UNITS
            .iter()
            .find(|(name, _)| name.chars().count() >= 3 && name.to_lowercase() == lower)
        {
            return Some(*c);
        }
    }
    None
}

/// `numerator / denominator`, where the numerator is empty, "1", a count word
/// or a volume. Only the combinations that exist in the model are accepted.
fn divide(numerator: &str, den: Conv) -> Option<Conv> {
    if let (Some(area), D::Time) = (area_unit(numerator), den.dim) {
        return Some(Conv::new(
            D::Diffusivity,
            area.num * den.den,
            area.den * den.num,
        ));
    }
    let top = if numerator.is_empty() || numerator == "1" {
        COUNT_ONE
    } else {
        simple_unit(numerator)?
    };
    let dim = match (top.dim, den.dim) {
        (D::Count, D::Time) => D::Rate,
        (D::Count, D::Volume) => D::Concentration,
        (D::Volume, D::Time) => D::Flow,
        (D::Length, D::Time) => D::Velocity,
        (D::Mass, D::Mass) => D::MassPerMass,
        (D::Mass, D::Volume) => D::MassConcentration,
        (D::Mass, D::Count) => D::MolarMass,
        _ => return None,
    };
    if top.offset != 0.0 || den.offset != 0.0 {
        return None;
    }
    Some(Conv::new(dim, top.num * den.den, top.den * den.num))
}

/// An area spelled as a squared length ("um^2", "µm²", "cm2"), as a
/// conversion to m² (carried in a length-dimension [`Conv`]).
fn area_unit(s: &str) -> Option<Conv> {
    let base = ["^2", "\u{b2}", "2"]
        .iter()
        .find_map(|suffix| s.strip_suffix(suffix))?;
    let length = simple_unit(base).filter(|c| c.dim == D::Length)?;
    Some(Conv::new(
        D::Length,
        length.num * length.num,
        length.den * length.den,
    ))
}

/// "/nM/day": a rate per concentration, as the kill potency of a drug is
/// written (Simeoni's k2). Dimensionally a flow (m³/s: per copy per m³ per
/// second), and read as one.
fn per_concentration_per_time(unit: &str) -> Option<Conv> {
    let (conc, time) = unit.strip_prefix('/')?.split_once('/')?;
    let c = simple_unit(conc).filter(|c| c.dim == D::Concentration)?;
    let t = simple_unit(time).filter(|t| t.dim == D::Time)?;
    Some(Conv::new(D::Flow, c.den * t.den, c.num * t.num))
}

/// Strips a trailing inverse marker ("^-1", "-1", "⁻¹").
fn strip_inverse(s: &str) -> Option<&str> {
    ["^-1", "\u{207b}\u{b9}", "-1"]
        .iter()
        .find_map(|suffix| s.strip_suffix(suffix))
        .map(str::trim_end)
        .filter(|base| !base.is_empty())
}

/// Parses the unit part of a quantity (already trimmed, non-empty).
fn parse_unit(unit: &str) -> Option<Conv> {
    // "per mL" -> "/mL", "EVs per mL" -> "EVs/mL", "1e10 / mL" -> "/mL".
    let unit = match unit.strip_prefix("per ") {
        Some(rest) => format!("/{rest}"),
        None => unit.to_string(),
    };
    let unit = unit.replace(" per ", "/");
    let unit = unit.split('/').map(str::trim).collect::<Vec<_>>().join("/");

    if let Some(potency) = per_concentration_per_time(&unit) {
        return Some(potency);
    }
    if let Some((top, bottom)) = unit.split_once('/') {
        if bottom.contains('/') || bottom.is_empty() {
            return None;
        }
        return divide(top, simple_unit(bottom)?);
    }
    if let Some(base) = strip_inverse(&unit) {
        // "min^-1", or a product such as "mL min^-1" / "EVs mL^-1".
        return match base.rsplit_once(char::is_whitespace) {
            Some((top, bottom)) => divide(top.trim(), simple_unit(bottom)?),
            None => divide("", simple_unit(base)?),
        };
    }
    simple_unit(&unit)
}

/// Spellings offered as "did you mean" suggestions for a dimension.
fn candidates(dim: Dimension) -> Vec<String> {
    let of = |d: Dimension| {
        SIMPLE_UNITS
            .iter()
            .filter(move |(_, c)| c.dim == d)
            .map(|(name, _)| name.to_string())
    };
    match dim {
        D::Time | D::Length | D::Volume | D::Temperature | D::Count => of(dim).collect(),
        D::Rate => of(D::Time).map(|t| format!("/{t}")).collect(),
        D::Concentration => of(D::Volume).map(|v| format!("/{v}")).collect(),
        D::Flow => ["nL", "uL", "\u{b5}L", "mL", "L", "m3"]
            .iter()
            .flat_map(|v| ["s", "min", "h", "day"].map(|t| format!("{v}/{t}")))
            .collect(),
        D::Diffusivity => ["um^2", "\u{b5}m\u{b2}", "cm2", "m2"]
            .iter()
            .flat_map(|a| ["s", "min", "h"].map(|t| format!("{a}/{t}")))
            .collect(),
        D::Velocity => ["nm", "um", "\u{b5}m", "mm", "m"]
            .iter()
            .flat_map(|l| ["s", "min", "h", "day"].map(|t| format!("{l}/{t}")))
            .collect(),
        D::Mass => of(D::Mass).collect(),
        D::MassPerMass => ["ng", "ug", "\u{b5}g", "mg", "g"]
            .iter()
            .flat_map(|m| ["g", "kg"].map(|w| format!("{m}/{w}")))
            .collect(),
        D::MassConcentration => ["pg", "ng", "ug", "\u{b5}g", "mg", "g"]
            .iter()
            .flat_map(|m| ["mL", "L"].map(|v| format!("{m}/{v}")))
            .collect(),
        D::MolarMass => ["g/mol", "kg/mol", "Da", "kDa"].map(String::from).to_vec(),
    }
}

/// Whether `unit` is a month ("month", "months", "mo", "mon", "mth"), alone or
/// as the denominator of a rate ("/month", "per month").
fn is_month(unit: &str) -> bool {
    let last = unit
        .rsplit(['/', ' '])
        .next()
        .unwrap_or(unit)
        .trim()
        .to_lowercase();
    let last = last
        .strip_suffix("^-1")
        .or_else(|| last.strip_suffix("-1"))
        .unwrap_or(&last);
    matches!(
        last,
        "month" | "months" | "mo" | "mos" | "mon" | "mons" | "mth" | "mths"
    )
}

/// A close spelling of an accepted unit of `dim`. Suggestions are only
/// spellings of the same size as the unit meant could be: a month is not
/// offered "minute" (see [`is_month`]).
fn suggest(unit: &str, dim: Dimension) -> Option<String> {
    if unit.chars().count() < 2 {
        return None;
    }
    let mut best: Option<(f64, String)> = None;
    for cand in candidates(dim) {
        let score = strsim::normalized_damerau_levenshtein(unit, &cand);
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, cand));
        }
    }
    best.filter(|(score, _)| *score >= 0.5).map(|(_, c)| c)
}

/// Splits off the leading number: the longest prefix that Rust reads as an `f64`.
pub fn split_number(text: &str) -> Option<(f64, &str)> {
    let run = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        .count();
    (1..=run)
        .rev()
        .find_map(|end| text[..end].parse::<f64>().ok().map(|v| (v, &text[end..])))
}

/// Reads a quantity written by a person and returns its value in SI units.
///
/// This is the one conversion point from user text to internal units (see the
/// module documentation). A bare number is accepted only for [`Dimension::Count`];
/// every other dimension needs an explicit unit, since a missing unit is the
/// classic source of silent thousand-fold errors.
pub fn parse(text: &str, dim: Dimension) -> Result<f64, UnitError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(UnitError::Empty { dim });
    }
    let unsigned = t.trim_start_matches(['+', '-']).to_lowercase();
    if unsigned.starts_with("inf") || unsigned.starts_with("nan") {
        return Err(UnitError::NonFinite {
            text: t.to_string(),
            dim,
        });
    }
    let not_a_number = || UnitError::NotANumber {
        text: t.to_string(),
        dim,
    };
    let (value, rest) = split_number(t).ok_or_else(not_a_number)?;
    let unit = rest.trim();
    if !value.is_finite() {
        return Err(UnitError::NonFinite {
            text: t.to_string(),
            dim,
        });
    }
    let conv = if unit.is_empty() {
        if dim != D::Count {
            return Err(UnitError::MissingUnit {
                text: t.to_string(),
                dim,
            });
        }
        COUNT_ONE
    } else {
        parse_unit(unit).ok_or_else(|| {
            // "1,5 min", "1 000 s", "1.2.3 s": the number itself is malformed.
            if unit.starts_with(|c: char| c.is_ascii_digit() || matches!(c, ',' | '.' | '_')) {
                not_a_number()
            } else if is_month(unit)
                && matches!(
                    dim,
                    D::Time | D::Rate | D::Flow | D::Velocity | D::Diffusivity
                )
            {
                UnitError::Month {
                    text: t.to_string(),
                    unit: unit.to_string(),
                    dim,
                }
            } else {
                UnitError::UnknownUnit {
                    text: t.to_string(),
                    unit: unit.to_string(),
                    dim,
                    suggestion: suggest(unit, dim),
                }
            }
        })?
    };
    if conv.dim != dim {
        return Err(UnitError::WrongDimension {
            text: t.to_string(),
            found: conv.dim,
            expected: dim,
        });
    }
    let si = conv.to_si(value);
    if !si.is_finite() {
        return Err(UnitError::NonFinite {
            text: t.to_string(),
            dim,
        });
    }
    Ok(si)
}

/// Reads a quantity that may be written in any of `dims` (a drug dose in
/// molecules, in mg or in mg/kg): the first of them its unit fits, and the
/// SI value. On failure, the error of the first dimension.
pub fn parse_either(text: &str, dims: &[Dimension]) -> Result<(Dimension, f64), UnitError> {
    let mut first = None;
    for &dim in dims {
        match parse(text, dim) {
            Ok(v) => return Ok((dim, v)),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or(UnitError::Empty { dim: D::Count }))
}

/// Shortest decimal text that reads back as exactly `value`, in plain or
/// exponent notation depending on magnitude.
pub fn exact_number(value: f64) -> String {
    let a = value.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// SI text that [`parse`] reads back bit-exactly, so resolved studies can be
/// written out and reloaded without drift (e.g. "420 s", "2.5e-6 m3", "1e16 /m3").
///
/// Non-finite values are written as "NaN"/"inf" and are not readable back.
pub fn format_si(value: f64, dim: Dimension) -> String {
    let number = exact_number(value);
    let unit = dim.si_unit();
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

/// A number rounded to six significant digits, without trailing zeros, for people.
fn human_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (1e-3..1e6).contains(&a) {
        // Safe: a is in [1e-3, 1e6), so the exponent is in -3..=5.
        let magnitude = a.log10().floor() as i32;
        let decimals = (5 - magnitude).max(0) as usize;
        strip(format!("{x:.decimals$}"))
    } else {
        let s = format!("{x:.5e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", strip(mantissa.to_string())),
            None => s,
        }
    }
}

/// Display units per dimension for [`format_human`], smallest first.
fn human_units(dim: Dimension) -> &'static [(&'static str, Conv)] {
    const TIME: &[(&str, Conv)] = &[
        ("ms", Conv::new(D::Time, 1.0, 1e3)),
        ("s", Conv::new(D::Time, 1.0, 1.0)),
        ("min", Conv::new(D::Time, MINUTE, 1.0)),
        ("h", Conv::new(D::Time, HOUR, 1.0)),
        ("day", Conv::new(D::Time, DAY, 1.0)),
    ];
    const LENGTH: &[(&str, Conv)] = &[
        ("nm", Conv::new(D::Length, 1.0, 1e9)),
        ("\u{b5}m", Conv::new(D::Length, 1.0, 1e6)),
        ("mm", Conv::new(D::Length, 1.0, 1e3)),
        ("m", Conv::new(D::Length, 1.0, 1.0)),
    ];
    const VOLUME: &[(&str, Conv)] = &[
        ("nL", Conv::new(D::Volume, 1.0, 1e12)),
        ("\u{b5}L", Conv::new(D::Volume, 1.0, 1e9)),
        ("mL", Conv::new(D::Volume, 1.0, 1e6)),
        ("L", Conv::new(D::Volume, 1.0, 1e3)),
    ];
    const FLOW: &[(&str, Conv)] = &[
        ("nL/min", Conv::new(D::Flow, 1.0, 6e13)),
        ("\u{b5}L/min", Conv::new(D::Flow, 1.0, 6e10)),
        ("mL/min", Conv::new(D::Flow, 1.0, 6e7)),
        ("L/min", Conv::new(D::Flow, 1.0, 6e4)),
    ];
    const CONCENTRATION: &[(&str, Conv)] = &[("/mL", Conv::new(D::Concentration, 1e6, 1.0))];
    const TEMPERATURE: &[(&str, Conv)] = &[("degC", CELSIUS)];
    const COUNT: &[(&str, Conv)] = &[("", COUNT_ONE)];
    const DIFFUSIVITY: &[(&str, Conv)] =
        &[("\u{b5}m\u{b2}/s", Conv::new(D::Diffusivity, 1.0, 1e12))];
    const VELOCITY: &[(&str, Conv)] = &[
        ("nm/s", Conv::new(D::Velocity, 1.0, 1e9)),
        ("\u{b5}m/s", Conv::new(D::Velocity, 1.0, 1e6)),
        ("mm/s", Conv::new(D::Velocity, 1.0, 1e3)),
        ("m/s", Conv::new(D::Velocity, 1.0, 1.0)),
    ];
    const MASS: &[(&str, Conv)] = &[
        ("ng", Conv::new(D::Mass, 1.0, 1e12)),
        ("\u{b5}g", Conv::new(D::Mass, 1.0, 1e9)),
        ("mg", Conv::new(D::Mass, 1.0, 1e6)),
        ("g", Conv::new(D::Mass, 1.0, 1e3)),
        ("kg", Conv::new(D::Mass, 1.0, 1.0)),
    ];
    const MASS_PER_MASS: &[(&str, Conv)] = &[("mg/kg", Conv::new(D::MassPerMass, 1.0, 1e6))];
    const MASS_CONCENTRATION: &[(&str, Conv)] = &[
        ("ng/mL", Conv::new(D::MassConcentration, 1.0, 1e6)),
        ("\u{b5}g/mL", Conv::new(D::MassConcentration, 1.0, 1e3)),
        ("mg/mL", Conv::new(D::MassConcentration, 1.0, 1.0)),
    ];
    const MOLAR_MASS: &[(&str, Conv)] = &[("g/mol", Conv::new(D::MolarMass, 1.0, 1e3 * AVOGADRO))];
    match dim {
        D::Mass => MASS,
        D::MassPerMass => MASS_PER_MASS,
        D::MassConcentration => MASS_CONCENTRATION,
        D::MolarMass => MOLAR_MASS,
        D::Time => TIME,
        D::Length => LENGTH,
        D::Volume => VOLUME,
        D::Flow => FLOW,
        D::Concentration => CONCENTRATION,
        D::Temperature => TEMPERATURE,
        D::Count => COUNT,
        D::Diffusivity => DIFFUSIVITY,
        D::Velocity => VELOCITY,
        D::Rate => &[], // handled separately: see format_human
    }
}

/// Human-friendly text in a convenient unit ("7 min", "2.5 mL", "1e10 /mL",
/// "20 mL/min", "37 degC"), for printing to people. Rounded to six significant
/// digits, so use [`format_si`] where the value must be read back exactly.
pub fn format_human(value: f64, dim: Dimension) -> String {
    if dim == D::Rate {
        // A rate reads best per the shortest period in which about one event happens.
        const PER: &[(&str, f64)] = &[("/s", 1.0), ("/min", MINUTE), ("/h", HOUR), ("/day", DAY)];
        let (unit, period) = PER
            .iter()
            .find(|(_, p)| (value * p).abs() >= 1.0)
            .unwrap_or(&PER[PER.len() - 1]);
        let (unit, period) = if value == 0.0 || !value.is_finite() {
            ("/s", 1.0)
        } else {
            (*unit, *period)
        };
        return format!("{} {unit}", human_number(value * period));
    }
    let units = human_units(dim);
    let a = value.abs();
    let (unit, conv) = if value == 0.0 || !value.is_finite() {
        // Zero and non-finite values: the unit most used for the dimension.
        let usual = match dim {
            D::Time => "s",
            D::Length => "nm",
            D::Volume => "mL",
            D::Flow => "mL/min",
            _ => units[0].0,
        };
        units.iter().find(|(u, _)| *u == usual).unwrap_or(&units[0])
    } else {
        units
            .iter()
            .rev()
            .find(|(_, c)| a >= c.to_si(1.0) - c.offset)
            .unwrap_or(&units[0])
    };
    let number = human_number(conv.in_unit(value));
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

/// Defines one typed quantity: a newtype over its SI value with parsing,
/// serde and display wired to this module's conversions.
macro_rules! quantity {
    ($(#[$doc:meta])* $name:ident, $dim:expr, $expecting:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
        pub struct $name(pub f64);

        impl $name {
            /// The dimension this type carries, for messages and generic code.
            pub const DIM: Dimension = $dim;

            /// Wraps a value already in SI units.
            pub const fn from_si(value: f64) -> Self {
                Self(value)
            }

            /// The value in SI units (see the module documentation).
            pub const fn si(self) -> f64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = UnitError;

            fn from_str(text: &str) -> Result<Self, UnitError> {
                parse(text, Self::DIM).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&format_human(self.0, Self::DIM))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&format_si(self.0, Self::DIM))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
                struct QuantityVisitor;

                impl Visitor<'_> for QuantityVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$name, E> {
                        parse(text, $name::DIM).map($name).map_err(invalid::<E>($name::DIM))
                    }

                    fn visit_f64<E: de::Error>(self, value: f64) -> Result<$name, E> {
                        bare_number(value, $name::DIM).map($name).map_err(invalid::<E>($name::DIM))
                    }

                    fn visit_i64<E: de::Error>(self, value: i64) -> Result<$name, E> {
                        // Counts beyond 2^53 lose precision, as any f64 quantity does.
                        self.visit_f64(value as f64)
                    }

                    fn visit_u64<E: de::Error>(self, value: u64) -> Result<$name, E> {
                        self.visit_f64(value as f64)
                    }
                }

                deserializer.deserialize_any(QuantityVisitor)
            }
        }
    };
}

/// Turns a [`UnitError`] into a serde error naming the expected dimension.
fn invalid<E: de::Error>(dim: Dimension) -> impl Fn(UnitError) -> E {
    move |err| E::custom(format!("invalid {}: {err}", dim.name()))
}

/// A bare (TOML/JSON) number: only counts may omit the unit.
fn bare_number(value: f64, dim: Dimension) -> Result<f64, UnitError> {
    let text = value.to_string();
    if !value.is_finite() {
        Err(UnitError::NonFinite { text, dim })
    } else if dim == D::Count {
        Ok(value)
    } else {
        Err(UnitError::MissingUnit { text, dim })
    }
}

quantity!(
    /// A duration or point in time, in seconds.
    Time,
    Dimension::Time,
    "a time with a unit, such as \"7 min\""
);
quantity!(
    /// A length (e.g. a vesicle diameter), in metres.
    Length,
    Dimension::Length,
    "a length with a unit, such as \"100 nm\""
);
quantity!(
    /// A volume (e.g. a compartment or a dose), in cubic metres.
    Volume,
    Dimension::Volume,
    "a volume with a unit, such as \"2.5 mL\""
);
quantity!(
    /// A volumetric flow (e.g. plasma or lymph flow), in m³/s.
    Flow,
    Dimension::Flow,
    "a flow with a unit, such as \"20 mL/min\""
);
quantity!(
    /// A rate (events per time, e.g. release or clearance), in 1/s.
    Rate,
    Dimension::Rate,
    "a rate with a unit, such as \"0.11 /day\""
);
quantity!(
    /// A number concentration (e.g. vesicles per volume), in 1/m³.
    Concentration,
    Dimension::Concentration,
    "a concentration with a unit, such as \"1e10 /mL\""
);
quantity!(
    /// An absolute temperature, in kelvin.
    Temperature,
    Dimension::Temperature,
    "a temperature with a unit, such as \"37 degC\""
);
quantity!(
    /// A dimensionless number of things (e.g. vesicles).
    Count,
    Dimension::Count,
    "a count, such as 1e10 or \"1e10 EVs\""
);

quantity!(
    /// A diffusion coefficient (area per time), in m²/s.
    Diffusivity,
    Dimension::Diffusivity,
    "a diffusion coefficient with a unit, such as \"4 um^2/s\""
);
quantity!(
    /// A speed (e.g. interstitial flow), in m/s.
    Velocity,
    Dimension::Velocity,
    "a velocity with a unit, such as \"0.1 um/s\""
);
quantity!(
    /// A mass (e.g. a drug's dose), in kg.
    Mass,
    Dimension::Mass,
    "a mass with a unit, such as \"5 mg\""
);
quantity!(
    /// A mass per mass (e.g. a dose per body weight), in kg/kg.
    MassPerMass,
    Dimension::MassPerMass,
    "a mass per mass with a unit, such as \"10 mg/kg\""
);
quantity!(
    /// A mass concentration (e.g. a drug's plasma level), in kg/m³.
    MassConcentration,
    Dimension::MassConcentration,
    "a mass concentration with a unit, such as \"50 ng/mL\""
);
quantity!(
    /// A molar mass, held as the mass of one molecule, in kg.
    MolarMass,
    Dimension::MolarMass,
    "a molar mass with a unit, such as \"355.4 g/mol\""
);

// Constructors divide by exact powers of ten (rather than multiplying by
// inexact constants such as 1e-6) so they agree bit-for-bit with `parse`.

impl Time {
    /// From minutes, the usual unit of incubation and sampling protocols.
    pub fn minutes(x: f64) -> Self {
        Self(x * MINUTE)
    }
    /// From hours.
    pub fn hours(x: f64) -> Self {
        Self(x * HOUR)
    }
    /// From days, the usual unit of in vivo time courses.
    pub fn days(x: f64) -> Self {
        Self(x * DAY)
    }
}

impl Volume {
    /// From millilitres, the usual unit of samples and body fluids.
    pub fn millilitres(x: f64) -> Self {
        Self(x / 1e6)
    }
    /// From microlitres, the usual unit of injections and small samples.
    pub fn microlitres(x: f64) -> Self {
        Self(x / 1e9)
    }
}

impl Length {
    /// From nanometres, the usual unit of vesicle diameters.
    pub fn nanometres(x: f64) -> Self {
        Self(x / 1e9)
    }
    /// From micrometres, the usual unit of cells and tissue distances.
    pub fn micrometres(x: f64) -> Self {
        Self(x / 1e6)
    }
}

impl Flow {
    /// From mL/min, the usual unit of organ blood flow.
    pub fn ml_per_min(x: f64) -> Self {
        Self(x / 6e7)
    }
}

impl Rate {
    /// From events per hour.
    pub fn per_hour(x: f64) -> Self {
        Self(x / HOUR)
    }
    /// From events per minute.
    pub fn per_minute(x: f64) -> Self {
        Self(x / MINUTE)
    }
}

impl Concentration {
    /// From particles per mL, the unit of nanoparticle tracking analysis.
    pub fn per_ml(x: f64) -> Self {
        Self(x * 1e6)
    }
}

impl Temperature {
    /// From degrees Celsius, the scale lab protocols use.
    pub fn celsius(x: f64) -> Self {
        Self(x + ZERO_CELSIUS)
    }
}

impl Count {
    /// From a plain number of things.
    pub const fn new(x: f64) -> Self {
        Self(x)
    }
}

/// Whole numbers of things (cells, particles, individuals, bins) in study
/// files, written as TOML integers (`2000000`), as numbers in exponent form
/// (`2e6`, which TOML reads as a float) or as count text (`"2e6"`). Used with
/// `#[serde(deserialize_with = "crate::units::whole::option")]`; written
/// back as plain integers.
pub mod whole {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::Deserializer;
    use serde::de::{self, Visitor};

    /// Largest whole number read exactly from a float (2^53).
    const EXACT: f64 = 9_007_199_254_740_992.0;

    struct WholeVisitor<T>(PhantomData<T>);

    impl<T: TryFrom<u64>> WholeVisitor<T> {
        fn fit<E: de::Error>(v: u64) -> Result<T, E> {
            T::try_from(v).map_err(|_| E::custom(format!("{v} is too large for this count")))
        }
    }

    impl<T: TryFrom<u64>> Visitor<'_> for WholeVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number, such as 2000000 or 2e6")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            Self::fit(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            match u64::try_from(v) {
                Ok(v) => Self::fit(v),
                Err(_) => Err(E::custom(format!(
                    "{v} is negative; a count is a whole number, 0 or more"
                ))),
            }
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            if !v.is_finite() || v < 0.0 || v.fract() != 0.0 {
                return Err(E::custom(format!(
                    "{v} is not a whole number, 0 or more; a count is written such as 2000000 or 2e6"
                )));
            }
            if v > EXACT {
                return Err(E::custom(format!(
                    "{v:e} is too large for a count (at most 2^53 = {EXACT:e})"
                )));
            }
            Self::fit(v as u64)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
            let v = super::parse(text, super::Dimension::Count)
                .map_err(|e| E::custom(format!("invalid count: {e}")))?;
            self.visit_f64(v)
        }
    }

    /// An optional whole number (see the module documentation).
    pub fn option<'de, D: Deserializer<'de>, T: TryFrom<u64>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        deserializer
            .deserialize_any(WholeVisitor(PhantomData))
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(text: &str, dim: Dimension) -> f64 {
        parse(text, dim).unwrap_or_else(|e| panic!("{text:?} as {dim}: {e}"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    fn check(text: &str, dim: Dimension, expected: f64) {
        let got = ok(text, dim);
        assert!(
            close(got, expected),
            "{text:?}: got {got:e}, expected {expected:e}"
        );
    }

    #[test]
    fn numbers() {
        check("7 s", D::Time, 7.0);
        check("1e10 s", D::Time, 1e10);
        check("1.5E-3 s", D::Time, 1.5e-3);
        check("2.5 s", D::Time, 2.5);
        check("+2.5 s", D::Time, 2.5);
        check("-2.5 s", D::Time, -2.5);
        check("0 s", D::Time, 0.0);
        check(".5 s", D::Time, 0.5);
        check("  7   min  ", D::Time, 420.0);
        check("100nm", D::Length, 1e-7);
        check("1e10/mL", D::Concentration, 1e16);
        check("1e10EVs", D::Count, 1e10);
        check("1e-3s", D::Time, 1e-3);
    }

    #[test]
    fn time_spellings() {
        for (u, f) in [
            ("s", 1.0),
            ("sec", 1.0),
            ("second", 1.0),
            ("seconds", 1.0),
            ("ms", 1e-3),
            ("min", 60.0),
            ("minute", 60.0),
            ("minutes", 60.0),
            ("mins", 60.0),
            ("h", 3600.0),
            ("hr", 3600.0),
            ("hour", 3600.0),
            ("hours", 3600.0),
            ("d", 86400.0),
            ("day", 86400.0),
            ("days", 86400.0),
            ("week", 604800.0),
            ("weeks", 604800.0),
            ("wk", 604800.0),
            ("year", 31557600.0),
            ("years", 31557600.0),
            ("yr", 31557600.0),
            ("Min", 60.0),
            ("HOURS", 3600.0),
        ] {
            check(&format!("2 {u}"), D::Time, 2.0 * f);
        }
        assert_eq!(ok("7 min", D::Time), 420.0);
    }

    #[test]
    fn length_spellings() {
        for (u, f) in [
            ("nm", 1e-9),
            ("um", 1e-6),
            ("\u{b5}m", 1e-6),
            ("\u{3bc}m", 1e-6),
            ("mm", 1e-3),
            ("cm", 1e-2),
            ("m", 1.0),
        ] {
            check(&format!("3 {u}"), D::Length, 3.0 * f);
        }
        assert_eq!(ok("100 nm", D::Length), Length::nanometres(100.0).si());
    }

    #[test]
    fn volume_spellings() {
        for (u, f) in [
            ("nL", 1e-12),
            ("uL", 1e-9),
            ("\u{b5}L", 1e-9),
            ("\u{3bc}L", 1e-9),
            ("mL", 1e-6),
            ("ml", 1e-6),
            ("dL", 1e-4),
            ("L", 1e-3),
            ("l", 1e-3),
            ("cm3", 1e-6),
            ("mm3", 1e-9),
            ("m3", 1.0),
        ] {
            check(&format!("2.5 {u}"), D::Volume, 2.5 * f);
        }
        assert_eq!(ok("2.5 mL", D::Volume), Volume::millilitres(2.5).si());
        assert_eq!(ok("4 uL", D::Volume), Volume::microlitres(4.0).si());
    }

    #[test]
    fn flow_spellings() {
        check("20 mL/min", D::Flow, 20e-6 / 60.0);
        check("1.2 L/h", D::Flow, 1.2e-3 / 3600.0);
        check("3 uL/s", D::Flow, 3e-9);
        check("3 \u{b5}L/min", D::Flow, 3e-9 / 60.0);
        check("1 m3/s", D::Flow, 1.0);
        check("20 mL / min", D::Flow, 20e-6 / 60.0);
        check("20 mL per min", D::Flow, 20e-6 / 60.0);
        check("20 mL min^-1", D::Flow, 20e-6 / 60.0);
        check("4 um^2/s", D::Diffusivity, 4e-12);
        check("4 \u{b5}m\u{b2}/s", D::Diffusivity, 4e-12);
        check("60 um2/min", D::Diffusivity, 1e-12);
        check("1e-5 cm2/s", D::Diffusivity, 1e-9);
        check("0.1 um/s", D::Velocity, 1e-7);
        check("3.6 mm/h", D::Velocity, 1e-6);
        assert_eq!(ok("20 mL/min", D::Flow), Flow::ml_per_min(20.0).si());
    }

    #[test]
    fn rate_spellings() {
        for u in [
            "/min",
            "1/min",
            "per min",
            "min^-1",
            "min-1",
            "min\u{207b}\u{b9}",
            "vesicles/min",
            "vesicle/min",
            "EVs/min",
            "EV/min",
            "particles/min",
            "particle/min",
            "counts/min",
            "EVs per min",
            "/ min",
        ] {
            check(&format!("6 {u}"), D::Rate, 0.1);
        }
        check("0.11 /day", D::Rate, 0.11 / 86400.0);
        check("1e8 vesicles/min", D::Rate, 1e8 / 60.0);
        assert_eq!(ok("3 /h", D::Rate), Rate::per_hour(3.0).si());
        assert_eq!(ok("3 /min", D::Rate), Rate::per_minute(3.0).si());
    }

    #[test]
    fn concentration_spellings() {
        for (u, f) in [
            ("/mL", 1e6),
            ("/uL", 1e9),
            ("/\u{b5}L", 1e9),
            ("/L", 1e3),
            ("per mL", 1e6),
            ("mL^-1", 1e6),
            ("mL-1", 1e6),
            ("EVs/mL", 1e6),
            ("vesicles/mL", 1e6),
            ("particles/mL", 1e6),
            ("/m3", 1.0),
        ] {
            check(&format!("1e10 {u}"), D::Concentration, 1e10 * f);
        }
        assert_eq!(
            ok("1e10 /mL", D::Concentration),
            Concentration::per_ml(1e10).si()
        );
    }

    /// Molar amounts through Avogadro's number: 1 nmol is 6.02214076e14
    /// copies.
    #[test]
    fn molar_amounts_are_copies() {
        check("20 nmol", D::Count, 20.0 * 6.022_140_76e14);
        check("1.5 \u{b5}mol", D::Count, 1.5 * 6.022_140_76e17);
        check("1 mol", D::Count, 6.022_140_76e23);
    }

    /// Masses for doses given by weight: mg/kg is 1e-6 kg/kg, ng/mL 1e-6
    /// kg/m³; a molar mass is the mass of one molecule, so that a mass over
    /// it is the number of molecules (1 mg of a 1000 g/mol drug is 1 µmol).
    #[test]
    fn masses_molar_masses_and_doses_per_weight() {
        check("5 mg", D::Mass, 5e-6);
        check("250 \u{b5}g", D::Mass, 2.5e-4 * 1e-3);
        check("25 g", D::Mass, 0.025);
        check("10 mg/kg", D::MassPerMass, 1e-5);
        check("10 ug/g", D::MassPerMass, 1e-5);
        check("50 ng/mL", D::MassConcentration, 5e-5);
        check("2 mg/L", D::MassConcentration, 2e-3);
        let m = ok("1000 g/mol", D::MolarMass);
        assert!((ok("1 kDa", D::MolarMass) / m - 1.0).abs() < 1e-15);
        assert!((ok("1000 Da", D::MolarMass) / m - 1.0).abs() < 1e-15);
        let copies = ok("1 mg", D::Mass) / m;
        assert!((copies / ok("1 umol", D::Count) - 1.0).abs() < 1e-15);
        assert!(parse("10 mg/kg", D::Mass).is_err());
        assert!(parse("10 mg", D::Count).is_err());
    }

    /// Molar concentrations through Avogadro's number: 1 nM is
    /// 6.02214076e14 copies per litre.
    #[test]
    fn molar_concentrations() {
        check("1 nM", D::Concentration, 6.022_140_76e17);
        check("2 pM", D::Concentration, 2.0 * 6.022_140_76e14);
        check("1 \u{b5}M", D::Concentration, 6.022_140_76e20);
        assert_eq!(
            ok("1 uM", D::Concentration),
            ok("1 \u{b5}M", D::Concentration)
        );
        assert!(parse("1 nm", D::Concentration).is_err(), "nm is a length");
    }

    /// A kill potency written per molar concentration per time is a flow:
    /// 1 /nM/day = 1 / (6.02214076e17 /m³ · 86400 s).
    #[test]
    fn potency_per_concentration_per_time() {
        check("1 /nM/day", D::Flow, 1.0 / (6.022_140_76e17 * 86_400.0));
        check("6.3e-4 /uM/h", D::Flow, 6.3e-4 / (6.022_140_76e20 * 3600.0));
        assert!(parse("1 /nM/day", D::Rate).is_err());
    }

    #[test]
    fn temperature_spellings() {
        check("310 K", D::Temperature, 310.0);
        for u in ["degC", "\u{b0}C", "C", "\u{2103}", " degC", "degc"] {
            check(&format!("37{u}"), D::Temperature, 310.15);
        }
        check("-20 degC", D::Temperature, 253.15);
        assert_eq!(
            ok("37 degC", D::Temperature),
            Temperature::celsius(37.0).si()
        );
    }

    #[test]
    fn count_spellings() {
        for u in [
            "",
            "EVs",
            "EV",
            "vesicles",
            "vesicle",
            "particles",
            "particle",
            "counts",
        ] {
            check(&format!("1e10 {u}"), D::Count, 1e10);
        }
        assert_eq!(Count::new(5.0).si(), 5.0);
    }

    #[test]
    fn constants_agree_with_parse() {
        assert_eq!(Time::minutes(7.0).si(), ok("7 min", D::Time));
        assert_eq!(Time::hours(2.0).si(), ok("2 h", D::Time));
        assert_eq!(Time::days(3.0).si(), ok("3 day", D::Time));
        assert_eq!(Length::micrometres(5.0).si(), ok("5 um", D::Length));
        assert!(close(MILLILITRE, Volume::millilitres(1.0).si()));
        assert!(close(MICROLITRE, Volume::microlitres(1.0).si()));
        assert!(close(LITRE, ok("1 L", D::Volume)));
        assert!(close(NANOMETRE, ok("1 nm", D::Length)));
        assert!(close(MICROMETRE, ok("1 um", D::Length)));
        assert_eq!(Time::from_si(4.0), Time(4.0));
    }

    fn err(text: &str, dim: Dimension) -> UnitError {
        match parse(text, dim) {
            Ok(v) => panic!("{text:?} as {dim} parsed as {v}"),
            Err(e) => e,
        }
    }

    #[test]
    fn missing_unit() {
        let e = err("7", D::Time);
        assert_eq!(
            e,
            UnitError::MissingUnit {
                text: "7".into(),
                dim: D::Time
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("no unit"), "{msg}");
        assert!(msg.contains(D::Time.accepted()), "{msg}");
        for dim in Dimension::ALL {
            if dim != D::Count {
                assert!(matches!(err("5", dim), UnitError::MissingUnit { .. }));
            }
        }
    }

    #[test]
    fn unknown_unit() {
        let e = err("7 minits", D::Time);
        let UnitError::UnknownUnit {
            unit, suggestion, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(unit, "minits");
        assert!(suggestion.as_deref().is_some_and(|s| s.starts_with("min")));
        let msg = e.to_string();
        assert!(msg.contains("minits"), "{msg}");
        assert!(msg.contains(D::Time.accepted()), "{msg}");
        assert!(matches!(
            err("5 M", D::Length),
            UnitError::UnknownUnit { .. }
        ));
        assert!(matches!(
            err("5 ML", D::Volume),
            UnitError::UnknownUnit { .. }
        ));
        assert!(matches!(
            err("5 nm/mL", D::Flow),
            UnitError::UnknownUnit { .. }
        ));
        assert!(matches!(
            err("5 /K", D::Rate),
            UnitError::UnknownUnit { .. }
        ));
        assert!(matches!(
            err("5 mL/min/s", D::Flow),
            UnitError::UnknownUnit { .. }
        ));
        assert!(matches!(
            err("5 xyz", D::Count),
            UnitError::UnknownUnit { .. }
        ));
    }

    #[test]
    fn wrong_dimension() {
        let e = err("5 mL", D::Time);
        assert_eq!(
            e,
            UnitError::WrongDimension {
                text: "5 mL".into(),
                found: D::Volume,
                expected: D::Time
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("is a volume, expected a time"), "{msg}");
        assert!(msg.contains(D::Time.accepted()), "{msg}");
        let found = |t: &str, d: Dimension| match err(t, d) {
            UnitError::WrongDimension { found, .. } => found,
            e => panic!("{e:?}"),
        };
        assert_eq!(found("7 m", D::Time), D::Length);
        assert_eq!(found("7 min", D::Length), D::Time);
        assert_eq!(found("1e10 /mL", D::Rate), D::Concentration);
        assert_eq!(found("1e10 /min", D::Concentration), D::Rate);
        assert_eq!(found("1e10 /mL", D::Count), D::Concentration);
        assert_eq!(found("5 EVs", D::Time), D::Count);
        assert_eq!(found("20 mL/min", D::Volume), D::Flow);
        assert_eq!(found("37 degC", D::Count), D::Temperature);
    }

    #[test]
    fn other_errors() {
        assert_eq!(err("", D::Time), UnitError::Empty { dim: D::Time });
        assert_eq!(err("   ", D::Count), UnitError::Empty { dim: D::Count });
        assert!(matches!(
            err("abc min", D::Time),
            UnitError::NotANumber { .. }
        ));
        assert!(matches!(err("min", D::Time), UnitError::NotANumber { .. }));
        assert!(matches!(
            err("1,5 min", D::Time),
            UnitError::NotANumber { .. }
        ));
        assert!(matches!(
            err("1 000 s", D::Time),
            UnitError::NotANumber { .. }
        ));
        assert!(matches!(err("-", D::Time), UnitError::NotANumber { .. }));
        for t in [
            "inf s",
            "-inf s",
            "NaN s",
            "infinity s",
            "1e400 s",
            "1e308 week",
            "inf",
        ] {
            let dim = if t == "inf" { D::Count } else { D::Time };
            assert!(matches!(err(t, dim), UnitError::NonFinite { .. }), "{t}");
        }
        for e in [
            err("", D::Time),
            err("abc min", D::Time),
            err("inf s", D::Time),
        ] {
            let msg = e.to_string();
            assert!(msg.contains(D::Time.accepted()), "{msg}");
            assert!(msg.ends_with('.'), "{msg}");
        }
    }

    #[test]
    fn every_message_lists_accepted_units() {
        for dim in Dimension::ALL {
            for text in ["", "abc", "5 zzz", "inf", "5 K", "5 EVs"] {
                if let Err(e) = parse(text, dim) {
                    let msg = e.to_string();
                    assert!(msg.contains(dim.accepted()), "{dim}: {msg}");
                    assert!(msg.starts_with(|c: char| c.is_uppercase() || c == '"'));
                }
            }
        }
    }

    #[test]
    fn format_si_examples() {
        assert_eq!(format_si(420.0, D::Time), "420 s");
        assert_eq!(format_si(2.5e-6, D::Volume), "2.5e-6 m3");
        assert_eq!(format_si(1e16, D::Concentration), "1e16 /m3");
        assert_eq!(format_si(1e10, D::Count), "1e10");
        assert_eq!(format_si(310.15, D::Temperature), "310.15 K");
        assert_eq!(format_si(-0.0, D::Time), "-0 s");
    }

    #[test]
    fn format_human_examples() {
        assert_eq!(format_human(420.0, D::Time), "7 min");
        assert_eq!(format_human(7200.0, D::Time), "2 h");
        assert_eq!(format_human(3.0 * DAY, D::Time), "3 day");
        assert_eq!(format_human(0.5, D::Time), "500 ms");
        assert_eq!(format_human(0.0, D::Time), "0 s");
        assert_eq!(
            format_human(Volume::millilitres(2.5).si(), D::Volume),
            "2.5 mL"
        );
        assert_eq!(
            format_human(Length::nanometres(100.0).si(), D::Length),
            "100 nm"
        );
        assert_eq!(
            format_human(Concentration::per_ml(1e10).si(), D::Concentration),
            "1e10 /mL"
        );
        assert_eq!(
            format_human(Flow::ml_per_min(20.0).si(), D::Flow),
            "20 mL/min"
        );
        assert_eq!(format_human(ok("0.11 /day", D::Rate), D::Rate), "0.11 /day");
        assert_eq!(format_human(Rate::per_minute(3.0).si(), D::Rate), "3 /min");
        assert_eq!(
            format_human(Temperature::celsius(37.0).si(), D::Temperature),
            "37 degC"
        );
        assert_eq!(format_human(1e10, D::Count), "1e10");
        assert_eq!(format_human(1.0 / 3.0, D::Count), "0.333333");
        assert_eq!(Time::minutes(7.0).to_string(), "7 min");
        assert_eq!(Volume::millilitres(-2.5).to_string(), "-2.5 mL");
    }

    #[test]
    fn format_human_reads_back() {
        for dim in Dimension::ALL {
            for x in [1e-9, 3.7e-4, 0.02, 1.0, 42.0, 1234.5, 7e8, 3e15, -5.0] {
                let text = format_human(x, dim);
                let back = ok(&text, dim);
                // Celsius display is rounded in absolute terms, so compare against ~300 K.
                let scale = if dim == D::Temperature {
                    x.abs().max(300.0)
                } else {
                    x.abs()
                };
                let rel = (back - x).abs() / scale;
                assert!(rel < 1e-5, "{dim}: {x:e} -> {text:?} -> {back:e}");
            }
        }
    }

    #[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
    struct Study {
        time: Time,
        length: Length,
        volume: Volume,
        flow: Flow,
        rate: Rate,
        concentration: Concentration,
        temperature: Temperature,
        count: Count,
    }

    const STUDY: &str = r#"
        time = "7 min"
        length = "100 nm"
        volume = "2.5 mL"
        flow = "20 mL/min"
        rate = "0.11 /day"
        concentration = "1e10 /mL"
        temperature = "37 degC"
        count = 1e10
    "#;

    #[test]
    fn deserialize_toml() {
        let s: Study = toml::from_str(STUDY).unwrap();
        assert_eq!(s.time, Time::minutes(7.0));
        assert_eq!(s.length, Length::nanometres(100.0));
        assert_eq!(s.volume, Volume::millilitres(2.5));
        assert_eq!(s.flow, Flow::ml_per_min(20.0));
        assert_eq!(s.rate.si(), ok("0.11 /day", D::Rate));
        assert_eq!(s.concentration, Concentration::per_ml(1e10));
        assert_eq!(s.temperature, Temperature::celsius(37.0));
        assert_eq!(s.count, Count::new(1e10));

        // Integer and string counts, negative values.
        let s: Study = toml::from_str(
            &STUDY
                .replace("count = 1e10", "count = 12")
                .replace("\"7 min\"", "\"-7 min\""),
        )
        .unwrap();
        assert_eq!(s.count, Count::new(12.0));
        assert_eq!(s.time, Time::minutes(-7.0));
        let s: Study =
            toml::from_str(&STUDY.replace("count = 1e10", "count = \"1e10 EVs\"")).unwrap();
        assert_eq!(s.count, Count::new(1e10));
    }

    #[test]
    fn deserialize_toml_errors() {
        let bad = |from: &str, to: &str| -> String {
            toml::from_str::<Study>(&STUDY.replace(from, to))
                .unwrap_err()
                .to_string()
        };
        let msg = bad("\"7 min\"", "7");
        assert!(msg.contains("invalid time"), "{msg}");
        assert!(msg.contains("no unit"), "{msg}");
        let msg = bad("\"7 min\"", "7.5");
        assert!(msg.contains("invalid time"), "{msg}");
        let msg = bad("\"7 min\"", "\"5 mL\"");
        assert!(msg.contains("is a volume, expected a time"), "{msg}");
        let msg = bad("\"2.5 mL\"", "\"2.5 mLs\"");
        assert!(msg.contains("invalid volume"), "{msg}");
        let msg = bad("count = 1e10", "count = inf");
        assert!(msg.contains("invalid count"), "{msg}");
        let msg = bad("count = 1e10", "count = nan");
        assert!(msg.contains("not a finite number"), "{msg}");
        let msg = bad("count = 1e10", "count = true");
        assert!(msg.contains("a count"), "{msg}");
    }

    #[test]
    fn serialize_round_trip_json() {
        let s: Study = toml::from_str(STUDY).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"time\":\"420 s\""), "{json}");
        let back: Study = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let text = toml::to_string(&s).unwrap();
        let back: Study = toml::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn from_str() {
        assert_eq!("7 min".parse::<Time>(), Ok(Time(420.0)));
        assert!("7".parse::<Time>().is_err());
    }

    fn finite() -> impl Strategy<Value = f64> {
        any::<f64>().prop_filter("finite", |x| x.is_finite())
    }

    fn dimension() -> impl Strategy<Value = Dimension> {
        prop::sample::select(Dimension::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn si_round_trip_is_exact(x in finite(), dim in dimension()) {
            let text = format_si(x, dim);
            let back = parse(&text, dim).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back.to_bits(), x.to_bits(), "{} -> {:?} -> {}", x, text, back);
        }

        #[test]
        fn serde_round_trip_is_exact(x in finite()) {
            let t = Time(x);
            let json = serde_json::to_string(&t).unwrap();
            let back: Time = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.0.to_bits(), x.to_bits());
        }

        #[test]
        fn parse_never_panics(text in any::<String>(), dim in dimension()) {
            let _ = parse(&text, dim);
        }

        #[test]
        fn parse_never_panics_on_unit_like_text(
            text in r"[-+0-9.eE ]{0,8}[ a-zA-Z/^\-1µμ°³⁻¹]{0,12}",
            dim in dimension(),
        ) {
            if let Ok(v) = parse(&text, dim) {
                prop_assert!(v.is_finite());
            }
        }

        #[test]
        fn format_human_never_panics(x in any::<f64>(), dim in dimension()) {
            let _ = format_human(x, dim);
        }
    }
}
