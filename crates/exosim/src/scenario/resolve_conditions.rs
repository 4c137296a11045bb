//! Resolution of a `[biopsy]` section that tells conditions from health
//! (`[[biopsy.conditions]]`) into a [`ConditionTestStudy`]: the marker is a
//! body vesicle class, healthy people live at its steady plasma level in
//! the `body_arm`, each condition's people at its level in its own arm
//! (`crate::coupling::condition_levels`). The tests, the decision and the
//! variability keep the keys of a tumour's biopsy; the tumour's own keys
//! (and the curve and screening, which follow a tumour) are refused.

use super::biopsy_spec::*;
use super::check::{Check, Res};
use super::error::{KeyPath, Locator};
use super::model::Study;
use super::resolve_biopsy::{MAX_COHORT, MAX_SCORES, MAX_TESTS, decision, protocol};
use crate::biopsy::condition_test::{ConditionTest, ConditionTestStudy, Group, PersonVariability};
use crate::biopsy::measurement::Sampling;
use crate::biopsy::screening::ThresholdRule;
use crate::coupling::condition_levels::{self, LevelError};
use crate::units::Concentration;

/// Most conditions told from health in one study.
pub const MAX_CONDITIONS: usize = 20;

/// Validates a `[biopsy]` section with `[[biopsy.conditions]]` (at `path`)
/// against the resolved body of `study`, with the section as resolved.
pub fn resolve_conditions(
    spec: &BiopsySpec,
    loc: &Locator,
    path: &KeyPath,
    study: &Study,
) -> Res<(ConditionTestStudy, BiopsySpec)> {
    let c = Check::new(loc);
    refuse_tumour_keys(&c, spec, path)?;
    let cohort = c.count_in(
        &path.key("cohort"),
        spec.cohort.unwrap_or(10_000),
        10,
        MAX_COHORT,
        "individuals",
    )?;
    let healthy_cohort = c.count_in(
        &path.key("healthy_cohort"),
        spec.healthy_cohort.unwrap_or(10_000),
        10,
        MAX_COHORT,
        "individuals",
    )?;
    let mp = path.key("marker");
    let m = &spec.marker;
    let sampling = match m.sampling.as_deref().unwrap_or("counts") {
        "counts" => Sampling::Counts,
        other => {
            c.choice(&mp.key("sampling"), other, &["counts", "continuous"])?;
            Sampling::Continuous
        }
    };
    let (healthy, conditions, saturation) = groups(&c, spec, path, study)?;
    let vp = path.key("variability");
    let variability = PersonVariability {
        release_cv: c.cv(&vp.key("background_cv"), spec.variability.background_cv)?,
        permeability_cv: c.cv(&vp.key("permeability_cv"), spec.variability.permeability_cv)?,
        elimination_cv: c.cv(&vp.key("elimination_cv"), spec.variability.elimination_cv)?,
    };
    let fixed = std::iter::once(&healthy)
        .chain(&conditions)
        .find(|g| g.crossing.is_none());
    if let (true, Some(g)) = (variability.permeability_cv > 0.0, fixed) {
        return c.err(
            &vp.key("permeability_cv"),
            format!(
                "arm `{}` releases `{}` elsewhere than into the gut lumen: no barrier to vary",
                g.name,
                m.body_vesicles.as_deref().unwrap_or_default()
            ),
            Some("release the class with `site = \"gut_lumen\"` in every arm tested, or set `permeability_cv = 0`".into()),
        );
    }
    let (tests, filled_tests) = tests(&c, spec, path, sampling, cohort, healthy_cohort)?;
    let rule = decision(&c, spec, path)?;
    if saturation > MAX_LINEAR_SATURATION && variability != PersonVariability::default() {
        c.notice(
            &mp.key("body_vesicles"),
            format!(
                "the macrophage sites are {:.1} % of the way to half-saturation at a steady level: people's levels are scaled as if the body were linear",
                100.0 * saturation
            ),
            None,
        );
    }
    let filled = filled(spec, &healthy.name, &variability, filled_tests, &rule);
    let study = ConditionTestStudy {
        marker: m.name.clone(),
        vesicles: m.body_vesicles.clone().unwrap_or_default(),
        healthy,
        conditions,
        cohort,
        healthy_cohort,
        variability,
        tests,
        rule: rule.rule,
        prevalence: rule.prevalence,
    };
    Ok((study, filled))
}

/// Largest macrophage load (over Km) at which people's levels, scaled from
/// the median's, are told without a notice.
const MAX_LINEAR_SATURATION: f64 = 0.01;

/// Refuses what belongs to a tumour's biopsy.
fn refuse_tumour_keys(c: &Check, spec: &BiopsySpec, path: &KeyPath) -> Res<()> {
    let m = &spec.marker;
    let curve = &spec.curve;
    let keys = [
        (path.key("tumour"), spec.tumour.is_some()),
        (path.key("deterministic"), spec.deterministic.is_some()),
        (path.key("screening"), spec.screening.is_some()),
        (
            path.key("curve"),
            curve.from.is_some()
                || curve.to.is_some()
                || curve.points.is_some()
                || curve.burden.is_some()
                || curve.roc_diameter.is_some(),
        ),
        (
            path.key("variability").key("shedding_cv"),
            spec.variability.shedding_cv.is_some(),
        ),
        (
            path.key("variability").key("background_test_cv"),
            spec.variability.background_test_cv.is_some(),
        ),
        (
            path.key("decision").key("annual_false_positive_rate"),
            spec.decision.annual_false_positive_rate.is_some(),
        ),
    ];
    let mp = path.key("marker");
    let marker_keys = [
        ("per_live_cell", m.per_live_cell.is_some()),
        ("per_dying_cell", m.per_dying_cell.is_some()),
        ("death_rate", m.death_rate.is_some()),
        ("fraction_to_blood", m.fraction_to_blood.is_some()),
        (
            "background_concentration",
            m.background_concentration.is_some(),
        ),
        ("half_life", m.half_life.is_some()),
        ("plasma_volume", m.plasma_volume.is_some()),
    ];
    let given = keys
        .into_iter()
        .find(|(_, g)| *g)
        .map(|(k, _)| k)
        .or(marker_keys
            .into_iter()
            .find(|(_, g)| *g)
            .map(|(k, _)| mp.key(k)));
    match given {
        Some(key) => c.err(
            &key,
            "this key belongs to a tumour's biopsy, not to a test of `[[biopsy.conditions]]`",
            Some("remove it: each condition's level comes from its body arm at steady state (docs/biopsy.md, *Tests of conditions*)".into()),
        ),
        None => Ok(()),
    }
}

/// The healthy group, the conditions' groups and the largest macrophage
/// load among them.
fn groups(
    c: &Check,
    spec: &BiopsySpec,
    path: &KeyPath,
    study: &Study,
) -> Res<(Group, Vec<Group>, f64)> {
    let mp = path.key("marker");
    let m = &spec.marker;
    let names: Vec<String> = study.vesicles.iter().map(|v| v.name.clone()).collect();
    let Some(class_name) = &m.body_vesicles else {
        return c.err(
            &mp,
            "a test of conditions needs the marker's vesicle class",
            Some("add `body_vesicles`, naming a `[[vesicles]]` class the arms release".into()),
        );
    };
    let class = c.name_in(
        &mp.key("body_vesicles"),
        class_name,
        &names,
        "vesicle class",
    )?;
    let released =
        |a: &crate::body::model::Arm| a.sources.iter().any(|s| s.class == class && s.rate > 0.0);
    if !study.arms.iter().any(released) {
        return c.err(
            &mp.key("body_vesicles"),
            format!("no arm releases `{class_name}`: the test would read a level of 0 in everyone"),
            Some(format!("add a `[[sources]]` entry of `{class_name}`, e.g. with `site = \"gut_lumen\"` for gut bacteria")),
        );
    }
    let arms: Vec<String> = study.arms.iter().map(|a| a.name.clone()).collect();
    let Some(reference) = &m.body_arm else {
        return c.err(
            &mp,
            "a test of conditions needs the healthy people's arm",
            Some(format!("add `body_arm`, one of: {}", arms.join(", "))),
        );
    };
    let healthy = c.name_in(&mp.key("body_arm"), reference, &arms, "arm")?;
    let cp = path.key("conditions");
    if spec.conditions.len() > MAX_CONDITIONS {
        return c.err(
            &cp,
            format!("{} conditions", spec.conditions.len()),
            Some(format!("give 1 to {MAX_CONDITIONS}")),
        );
    }
    let listed: Vec<String> = spec.conditions.iter().map(|x| x.arm.clone()).collect();
    c.unique(&cp, &listed, "condition arm")?;
    let plan = study.plan();
    let level = |arm: usize, key: &KeyPath| {
        condition_levels::arm_level(&plan, arm, class).or_else(|e| match e {
            LevelError::NotReleased => c.err(
                key,
                format!(
                    "arm `{}` releases no `{class_name}`: its steady level would be 0",
                    arms[arm]
                ),
                Some(format!(
                    "add a `[[sources]]` entry of `{class_name}` (study-wide or in the arm)"
                )),
            ),
            LevelError::Steady(why) => c.err(key, format!("arm `{}`: {why}", arms[arm]), None),
        })
    };
    let reference_level = level(healthy, &mp.key("body_arm"))?;
    let mut saturation = reference_level.saturation;
    let mut conditions = Vec::new();
    for (i, x) in spec.conditions.iter().enumerate() {
        let key = cp.index(i).key("arm");
        let arm = c.name_in(&key, &x.arm, &arms, "arm")?;
        if arm == healthy {
            return c.err(
                &key,
                format!(
                    "`{}` is the healthy people's arm (`marker.body_arm`)",
                    x.arm
                ),
                Some("list the arms of the conditions only".into()),
            );
        }
        let l = level(arm, &key)?;
        saturation = saturation.max(l.saturation);
        conditions.push(l.group);
    }
    Ok((reference_level.group, conditions, saturation))
}

/// The `[[biopsy.tests]]` entries: protocols only (no sequencing panel:
/// its score is about a tumour's mutations).
fn tests(
    c: &Check,
    spec: &BiopsySpec,
    path: &KeyPath,
    sampling: Sampling,
    cohort: u64,
    healthy_cohort: u64,
) -> Res<(Vec<ConditionTest>, Vec<TestSpec>)> {
    let tp = path.key("tests");
    if spec.tests.is_empty() || spec.tests.len() > MAX_TESTS {
        return c.err(
            &tp,
            format!("{} tests", spec.tests.len()),
            Some(format!("give 1 to {MAX_TESTS} `[[biopsy.tests]]` entries")),
        );
    }
    let people = cohort * spec.conditions.len() as u64 + 2 * healthy_cohort;
    let scores = people.saturating_mul(spec.tests.len() as u64);
    if scores > MAX_SCORES {
        return c.err(
            &path.key("cohort"),
            format!(
                "{people} people × {} tests are {scores} scores, more than {MAX_SCORES}",
                spec.tests.len()
            ),
            Some("use smaller cohorts or fewer tests".into()),
        );
    }
    let names: Vec<String> = spec.tests.iter().map(|t| t.name.clone()).collect();
    c.unique(&tp, &names, "test")?;
    let mut tests = Vec::new();
    let mut filled = Vec::new();
    for (i, ts) in spec.tests.iter().enumerate() {
        let p = tp.index(i);
        c.identifier(&p.key("name"), &ts.name, "test")?;
        if ts.assay == "sequencing" {
            return c.err(
                &p.key("assay"),
                "a sequencing panel reads a tumour's mutations, not a level of conditions",
                Some(
                    "use a vesicle assay: elisa, nta, digital_plasmonic, spr or spr_nanohole"
                        .into(),
                ),
            );
        }
        let (protocol, f) = protocol(c, &p, ts, sampling, false)?;
        if let Err(e) = protocol.validate() {
            return c.err(&p, format!("invalid test: {e}"), None);
        }
        tests.push(ConditionTest {
            name: ts.name.clone(),
            protocol,
        });
        filled.push(f);
    }
    Ok((tests, filled))
}

/// The section as resolved: every default written out.
fn filled(
    spec: &BiopsySpec,
    healthy: &str,
    v: &PersonVariability,
    tests: Vec<TestSpec>,
    rule: &super::resolve_biopsy::Decision,
) -> BiopsySpec {
    let m = &spec.marker;
    BiopsySpec {
        cohort: Some(spec.cohort.unwrap_or(10_000)),
        healthy_cohort: Some(spec.healthy_cohort.unwrap_or(10_000)),
        conditions: spec.conditions.clone(),
        marker: MarkerSpec {
            name: m.name.clone(),
            sampling: Some(m.sampling.clone().unwrap_or_else(|| "counts".into())),
            body_vesicles: m.body_vesicles.clone(),
            body_arm: Some(healthy.to_string()),
            ..MarkerSpec::default()
        },
        variability: VariabilitySpec {
            background_cv: Some(v.release_cv),
            shedding_cv: None,
            elimination_cv: Some(v.elimination_cv),
            permeability_cv: Some(v.permeability_cv),
            background_test_cv: None,
        },
        tests,
        decision: DecisionSpec {
            specificity: match rule.rule {
                ThresholdRule::Specificity(s) => Some(s),
                _ => None,
            },
            threshold: match rule.rule {
                ThresholdRule::Fixed(t) => Some(Concentration::from_si(t)),
                _ => None,
            },
            rule: matches!(rule.rule, ThresholdRule::Lod).then(|| "lod".into()),
            annual_false_positive_rate: None,
            prevalence: rule.prevalence,
        },
        ..BiopsySpec::default()
    }
}
