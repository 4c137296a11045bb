//! Resolution of `[production]`: the platform's preset filled in, every
//! value checked and in SI units, the dose taken from the arms when the
//! section gives none (docs/production.md).

use super::check::{Check, Res};
use super::error::{KeyPath, Locator};
use super::production_spec::ProductionSpec;
use crate::body::model::Arm;
use crate::production::{Culture, Demand, Isolation, MAX_STEPS, ProductionModel, Schedule};
use crate::units::{Count, DAY, Dimension, MILLILITRE, Rate, Time, Volume, YEAR, format_human};

/// Producer whose platform yields are published (mesenchymal stromal cells).
pub const DEFAULT_PRODUCER: &str = "msc";
/// Longest run: ten years.
pub const MAX_RUN_TIME: f64 = 10.0 * YEAR;
/// Most harvests in one run.
pub const MAX_HARVESTS: u64 = 10_000;
/// Most units run side by side.
pub const MAX_UNITS: u64 = 1_000_000;

/// A culture platform's preset for MSC (docs/references.md#production-platforms).
#[derive(Debug, Clone, Copy)]
pub struct PlatformPreset {
    /// Name in study files.
    pub name: &'static str,
    /// Cells seeded per unit.
    pub seeded: f64,
    /// Largest number of cells per unit.
    pub max_cells: f64,
    /// Doubling time while sparse, days.
    pub doubling_days: f64,
    /// Vesicles per cell per day.
    pub release_per_day: f64,
    /// Medium per unit, mL.
    pub medium_ml: f64,
    /// Expansion before conditioning, days.
    pub expansion_days: f64,
    /// Days between harvests.
    pub interval_days: f64,
    /// Harvests per run.
    pub harvests: u64,
}

/// The platform presets: T-175 flask, 10-layer cell factory, hollow-fibre
/// cartridge, microcarriers in a stirred spinner, Vertical-Wheel vessel.
pub const PLATFORMS: [PlatformPreset; 5] = [
    PlatformPreset {
        name: "flask",
        seeded: 5.25e5,
        max_cells: 3.5e6,
        doubling_days: 2.0,
        release_per_day: 1e4,
        medium_ml: 30.0,
        expansion_days: 8.0,
        interval_days: 2.0,
        harvests: 3,
    },
    PlatformPreset {
        name: "multilayer",
        seeded: 1.9e7,
        max_cells: 1.26e8,
        doubling_days: 2.0,
        release_per_day: 1e4,
        medium_ml: 1000.0,
        expansion_days: 8.0,
        interval_days: 2.0,
        harvests: 3,
    },
    PlatformPreset {
        name: "hollow_fibre",
        seeded: 1e7,
        max_cells: 6e7,
        doubling_days: 2.0,
        release_per_day: 1e4,
        medium_ml: 20.0,
        expansion_days: 8.0,
        interval_days: 1.0,
        harvests: 25,
    },
    PlatformPreset {
        name: "stirred_microcarrier",
        seeded: 1.2e7,
        max_cells: 1.2e8,
        doubling_days: 2.0,
        release_per_day: 6e4,
        medium_ml: 100.0,
        expansion_days: 10.0,
        interval_days: 2.0,
        harvests: 3,
    },
    PlatformPreset {
        name: "vertical_wheel",
        seeded: 6.2e6,
        max_cells: 6.2e7,
        doubling_days: 2.0,
        release_per_day: 2.4e5,
        medium_ml: 80.0,
        expansion_days: 10.0,
        interval_days: 2.0,
        harvests: 3,
    },
];

/// Isolation methods and their recovery (docs/references.md#isolation-recovery).
pub const ISOLATIONS: [(&str, f64); 5] = [
    ("ultracentrifugation", 0.125),
    ("ultrafiltration", 0.30),
    ("sec", 0.60),
    ("tff", 0.90),
    ("precipitation", 0.90),
];

/// Resolves `[production]` at `p` against the study's arms; returns the
/// model and the section with every default written out.
pub fn resolve_production(
    spec: &ProductionSpec,
    loc: &Locator,
    p: &KeyPath,
    arms: &[Arm],
) -> Res<(ProductionModel, ProductionSpec)> {
    let c = Check::new(loc);
    let producer = spec.producer.as_deref().unwrap_or(DEFAULT_PRODUCER);
    c.identifier(&p.key("producer"), producer, "producer")?;
    let mut names: Vec<&str> = PLATFORMS.iter().map(|x| x.name).collect();
    names.push("custom");
    c.choice(&p.key("platform"), &spec.platform, &names)?;
    let preset = PLATFORMS
        .iter()
        .find(|x| x.name == spec.platform && producer == DEFAULT_PRODUCER);
    let mut filled = spec.clone();
    filled.producer = Some(producer.to_string());
    let culture = culture(&c, p, spec, preset, &mut filled)?;
    let schedule = schedule(&c, p, spec, preset, &mut filled)?;
    let isolation = isolation(&c, p, spec, &mut filled)?;
    let demand = demand(&c, p, spec, arms, &mut filled)?;
    let model = ProductionModel {
        producer: producer.to_string(),
        platform: spec.platform.clone(),
        culture,
        schedule,
        isolation,
        demand,
    };
    if model.run_time() > MAX_RUN_TIME {
        return c.err(
            &p.key("harvests"),
            "one run lasts longer than ten years",
            Some("fewer harvests, or a shorter interval".into()),
        );
    }
    too_fast(&c, p, spec, &model)?;
    Ok((model, filled))
}

/// A medium turned over, or cells doubling, so fast that the run would need
/// more than [`MAX_STEPS`] integration steps: refused at the key that sets
/// the fastest rate.
fn too_fast(c: &Check, p: &KeyPath, spec: &ProductionSpec, model: &ProductionModel) -> Res<()> {
    let steps = model.integration_steps();
    if steps <= MAX_STEPS {
        return Ok(());
    }
    let (culture, schedule) = (&model.culture, &model.schedule);
    let turnover = culture.decay_rate + schedule.perfusion;
    let (key, what, rate) = if culture.growth_rate >= turnover {
        ("doubling_time", "the cells grow by e", culture.growth_rate)
    } else if schedule.perfusion >= culture.decay_rate {
        ("perfusion_rate", "the medium turns over", turnover)
    } else {
        (
            "medium_half_life",
            "the medium's vesicles decay by e",
            turnover,
        )
    };
    let key = if spec_has(spec, key) { key } else { "platform" };
    c.err(
        &p.key(key),
        format!(
            "{what} every {}: the run of {} would take {steps:.3e} integration steps, more than {MAX_STEPS:e}",
            format_human(1.0 / rate, Dimension::Time),
            format_human(model.run_time(), Dimension::Time),
        ),
        Some("check the value's unit (per hour, not per second; hours, not seconds)".into()),
    )
}

/// Whether the study itself gives `key` (else it came from the preset).
fn spec_has(spec: &ProductionSpec, key: &str) -> bool {
    match key {
        "doubling_time" => spec.doubling_time.is_some(),
        "perfusion_rate" => spec.perfusion_rate.is_some(),
        "medium_half_life" => spec.medium_half_life.is_some(),
        _ => false,
    }
}

/// A culture value: the user's, else the preset's, else an error saying
/// that this platform has no published yield to take it from.
fn given<T>(
    c: &Check,
    p: &KeyPath,
    spec: &ProductionSpec,
    key: &str,
    v: Option<T>,
    example: &str,
) -> Res<T> {
    match v {
        Some(v) => Ok(v),
        None if spec.platform == "custom" => c.err(
            &p.key("platform"),
            format!("platform `custom` has no preset and needs `{key}`"),
            Some(format!(
                "e.g. {key} = {example}, or choose a platform with a preset"
            )),
        ),
        None => c.err(
            &p.key("producer"),
            format!(
                "no published yield for `{}` cells on platform `{}`: `{key}` is needed",
                spec.producer.as_deref().unwrap_or(DEFAULT_PRODUCER),
                spec.platform
            ),
            Some(format!(
                "e.g. {key} = {example}; the platform presets are for `{DEFAULT_PRODUCER}`"
            )),
        ),
    }
}

/// Cells, growth, release and medium of one unit.
fn culture(
    c: &Check,
    p: &KeyPath,
    spec: &ProductionSpec,
    preset: Option<&PlatformPreset>,
    f: &mut ProductionSpec,
) -> Res<Culture> {
    let geometry = PLATFORMS.iter().find(|x| x.name == spec.platform);
    let release = spec
        .release_rate
        .or(preset.map(|x| Rate::from_si(x.release_per_day / DAY)));
    let release = given(c, p, spec, "release_rate", release, "\"1e4 particles/day\"")?;
    let seeded = spec
        .seeded_cells
        .or(geometry.map(|x| Count::from_si(x.seeded)));
    let seeded = given(c, p, spec, "seeded_cells", seeded, "1e6")?;
    let max_cells = spec
        .max_cells
        .or(geometry.map(|x| Count::from_si(x.max_cells)));
    let max_cells = given(c, p, spec, "max_cells", max_cells, "1e7")?;
    let doubling = spec
        .doubling_time
        .or(geometry.map(|x| Time::from_si(x.doubling_days * DAY)));
    let doubling = given(c, p, spec, "doubling_time", doubling, "\"2 day\"")?;
    let medium = spec
        .medium_volume
        .or(geometry.map(|x| Volume::from_si(x.medium_ml * MILLILITRE)));
    let medium = given(c, p, spec, "medium_volume", medium, "\"30 mL\"")?;
    let units = c.count_in(
        &p.key("units"),
        spec.units.unwrap_or(1),
        1,
        MAX_UNITS,
        "units",
    )?;
    let culture = Culture {
        units: units as f64,
        seeded: c.positive_quantity(&p.key("seeded_cells"), seeded.si(), Dimension::Count)?,
        max_cells: c.positive_quantity(&p.key("max_cells"), max_cells.si(), Dimension::Count)?,
        growth_rate: std::f64::consts::LN_2
            / c.positive_quantity(&p.key("doubling_time"), doubling.si(), Dimension::Time)?,
        release_rate: c.positive_quantity(&p.key("release_rate"), release.si(), Dimension::Rate)?,
        medium_volume: c.positive_quantity(
            &p.key("medium_volume"),
            medium.si(),
            Dimension::Volume,
        )?,
        decay_rate: match spec.medium_half_life {
            Some(h) => {
                std::f64::consts::LN_2
                    / c.positive_quantity(&p.key("medium_half_life"), h.si(), Dimension::Time)?
            }
            None => 0.0,
        },
    };
    if culture.seeded > culture.max_cells {
        return c.err(
            &p.key("seeded_cells"),
            format!(
                "{} cells seeded, more than the {} a unit holds",
                culture.seeded, culture.max_cells
            ),
            Some("seed fewer cells, or raise `max_cells`".into()),
        );
    }
    f.units = Some(units);
    f.release_rate = Some(release);
    f.seeded_cells = Some(seeded);
    f.max_cells = Some(max_cells);
    f.doubling_time = Some(doubling);
    f.medium_volume = Some(medium);
    Ok(culture)
}

/// Expansion, harvest interval, number and share.
fn schedule(
    c: &Check,
    p: &KeyPath,
    spec: &ProductionSpec,
    preset: Option<&PlatformPreset>,
    f: &mut ProductionSpec,
) -> Res<Schedule> {
    let geometry = PLATFORMS
        .iter()
        .find(|x| x.name == spec.platform)
        .or(preset);
    let interval = spec
        .harvest_interval
        .or(geometry.map(|x| Time::from_si(x.interval_days * DAY)));
    let interval = given(c, p, spec, "harvest_interval", interval, "\"2 day\"")?;
    let harvests = spec.harvests.or(geometry.map(|x| x.harvests));
    let harvests = given(c, p, spec, "harvests", harvests, "3")?;
    let expansion = spec
        .expansion
        .or(geometry.map(|x| Time::from_si(x.expansion_days * DAY)))
        .unwrap_or(Time::from_si(0.0));
    let fraction = spec.harvest_fraction.unwrap_or(1.0);
    let schedule = Schedule {
        expansion: c.non_negative_quantity(&p.key("expansion"), expansion.si(), Dimension::Time)?,
        interval: c.positive_quantity(
            &p.key("harvest_interval"),
            interval.si(),
            Dimension::Time,
        )?,
        harvests: c.count_in(&p.key("harvests"), harvests, 1, MAX_HARVESTS, "harvests")? as u32,
        fraction: c.fraction(&p.key("harvest_fraction"), fraction)?,
        perfusion: match spec.perfusion_rate {
            Some(rate) => {
                c.positive_quantity(&p.key("perfusion_rate"), rate.si(), Dimension::Rate)?
            }
            None => 0.0,
        },
    };
    if schedule.perfusion > 0.0 && spec.harvest_fraction.is_some() {
        return c.err(
            &p.key("harvest_fraction"),
            "under perfusion the harvests empty the collection vessel, not the unit's medium",
            Some("remove `harvest_fraction`, or `perfusion_rate` for batch harvests".into()),
        );
    }
    if schedule.fraction == 0.0 {
        return c.err(
            &p.key("harvest_fraction"),
            "a harvest that collects no medium collects nothing",
            Some("a share greater than 0, up to 1 (all the medium)".into()),
        );
    }
    f.harvest_interval = Some(interval);
    f.harvests = Some(harvests);
    f.expansion = Some(expansion);
    if schedule.perfusion == 0.0 {
        f.harvest_fraction = Some(fraction);
    }
    Ok(schedule)
}

/// The isolation method, its recovery and the product's purity.
fn isolation(
    c: &Check,
    p: &KeyPath,
    spec: &ProductionSpec,
    f: &mut ProductionSpec,
) -> Res<Isolation> {
    let method = spec.isolation.as_deref().unwrap_or("tff");
    let mut names: Vec<&str> = ISOLATIONS.iter().map(|x| x.0).collect();
    names.push("custom");
    c.choice(&p.key("isolation"), method, &names)?;
    let preset = ISOLATIONS.iter().find(|x| x.0 == method).map(|x| x.1);
    let recovery = match spec.recovery.or(preset) {
        Some(r) => r,
        None => {
            return c.err(
                &p.key("isolation"),
                "isolation `custom` needs `recovery`",
                Some("the share of collected vesicles kept, e.g. recovery = 0.5".into()),
            );
        }
    };
    let recovery = c.fraction(&p.key("recovery"), recovery)?;
    if recovery == 0.0 {
        return c.err(
            &p.key("recovery"),
            "an isolation that recovers nothing makes no product",
            Some("a share greater than 0, up to 1".into()),
        );
    }
    let purity = match spec.purity {
        Some(x) => Some(c.positive(&p.key("purity"), x)?),
        None => None,
    };
    f.isolation = Some(method.to_string());
    f.recovery = Some(recovery);
    Ok(Isolation {
        method: method.to_string(),
        recovery,
        purity,
    })
}

/// Vesicles one subject receives over the study, every arm's doses added.
fn arm_total(arm: &Arm) -> f64 {
    arm.doses
        .iter()
        .map(|d| d.amount * d.times.len() as f64)
        .sum()
}

/// The dose per subject and the study's need: from `dose` and `subjects`,
/// else from the arms' doses (the largest arm's dose per subject, every
/// arm's doses times `subjects` for the need); none without either.
fn demand(
    c: &Check,
    p: &KeyPath,
    spec: &ProductionSpec,
    arms: &[Arm],
    f: &mut ProductionSpec,
) -> Res<Option<Demand>> {
    let subjects = c.count_in(
        &p.key("subjects"),
        spec.subjects.unwrap_or(1),
        1,
        1_000_000_000,
        "subjects",
    )? as f64;
    f.subjects = Some(subjects as u64);
    if let Some(dose) = spec.dose {
        let dose = c.positive_quantity(&p.key("dose"), dose.si(), Dimension::Count)?;
        return Ok(Some(Demand {
            dose,
            need: subjects * dose,
        }));
    }
    let totals: Vec<f64> = arms.iter().map(arm_total).collect();
    let largest = totals.iter().copied().fold(0.0, f64::max);
    if largest > 0.0 {
        return Ok(Some(Demand {
            dose: largest,
            need: subjects * totals.iter().sum::<f64>(),
        }));
    }
    Ok(None)
}
