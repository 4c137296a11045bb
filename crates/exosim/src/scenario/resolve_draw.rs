//! Resolution of an instrument's biopsy sample, `sample = { from =
//! "biopsy", ... }`: the `[biopsy]` test whose blood draw is read, the
//! tumour's diameter, the marker vesicles' size, which populations are in
//! the tube (docs/instruments.md#the-sample). The draw itself is computed
//! here, once: it depends on the resolved biopsy model only.

use super::check::{Check, Res};
use super::error::KeyPath;
use super::instrument_spec::SampleSpec;
use super::model::Study;
use crate::biopsy::measurement::Sampling;
use crate::coupling::biopsy_draw::{
    Draw, DrawSettings, VESICLE_DIAMETER, VESICLE_DIAMETER_CV, draw as draw_of,
};
use crate::instrument::sigma_of_cv;
use crate::units::{Dimension, Length};

/// The draw of a biopsy sample and its time on the drugs' clock (the
/// curve's `draw_time`, else 0); `f` gets every default written out.
pub(super) fn draw(
    c: &Check,
    p: &KeyPath,
    s: &SampleSpec,
    study: &Study,
    f: &mut SampleSpec,
) -> Res<(Draw, f64)> {
    let Some(biopsy) = &study.biopsy else {
        let (message, hint) = if study.condition_test.is_some() {
            (
                "a biopsy sample reads a tumour's blood draw; this `[biopsy]` tests conditions",
                "sample a condition's blood with `from = \"body\"` and the condition's `arm`",
            )
        } else {
            (
                "the study has no `[biopsy]` to sample",
                "add a `[biopsy]` tumour study, or sample `from = \"body\"` or `\"tissue\"`",
            )
        };
        return c.err(&p.key("from"), message, Some(hint.into()));
    };
    let names: Vec<String> = biopsy.tests.iter().map(|t| t.name.clone()).collect();
    let name = s.test.clone().unwrap_or_else(|| names[0].clone());
    let test = &biopsy.tests[c.name_in(&p.key("test"), &name, &names, "test")?];
    let model = &test.model;
    if model.protocol.sequencing.is_some() {
        return c.err(
            &p.key("test"),
            format!("test `{name}` reads DNA, not vesicles"),
            Some("name a test with a vesicle assay (`elisa`, `nta`, `digital_plasmonic`, `spr`, `spr_nanohole`)".into()),
        );
    }
    if model.protocol.sampling == Sampling::Continuous {
        return c.err(
            &p.key("from"),
            "the marker is an analyte in arbitrary units, not particles an instrument can count",
            Some("a biopsy sample needs `[biopsy.marker] sampling = \"counts\"`".into()),
        );
    }
    let diameter = match (s.diameter, biopsy.roc_diameter) {
        (Some(d), _) => c.positive_quantity(&p.key("diameter"), d.si(), Dimension::Length)?,
        (None, Some(d)) => d,
        (None, None) => {
            return c.err(
                &p.key("diameter"),
                "a biopsy sample needs the tumour's `diameter`",
                Some("e.g. `diameter = \"1 cm\"`, or set `[biopsy.curve] roc_diameter`".into()),
            );
        }
    };
    let (median, cv) = marker_size(c, p, s, study)?;
    let settings = DrawSettings {
        diameter,
        isolated: s.isolated.unwrap_or(false),
        marker_median: median,
        marker_sigma: sigma_of_cv(cv),
        plasma_vesicles: s.plasma_vesicles.unwrap_or(true),
        lipoproteins: s.lipoproteins.unwrap_or(true),
    };
    f.test = Some(name.clone());
    f.diameter = Some(Length::from_si(diameter));
    f.isolated = Some(settings.isolated);
    f.marker_diameter = Some(Length::from_si(median));
    f.marker_diameter_cv = Some(cv);
    f.plasma_vesicles = Some(settings.plasma_vesicles);
    f.lipoproteins = Some(settings.lipoproteins);
    Ok((
        draw_of(&name, model, &settings),
        biopsy.draw_time.unwrap_or(0.0),
    ))
}

/// The marker vesicles' median diameter and CV: as given, else the body
/// class the marker follows (`body_vesicles`), else plasma vesicles'.
fn marker_size(c: &Check, p: &KeyPath, s: &SampleSpec, study: &Study) -> Res<(f64, f64)> {
    let class = study
        .biopsy
        .as_ref()
        .and_then(|b| b.blood_kinetics.as_ref())
        .and_then(|k| study.vesicles.iter().find(|v| v.name == k.vesicles));
    let (median, cv) = class.map_or((VESICLE_DIAMETER, VESICLE_DIAMETER_CV), |v| {
        (v.diameter, v.diameter_cv)
    });
    let median = match s.marker_diameter {
        Some(d) => c.positive_quantity(&p.key("marker_diameter"), d.si(), Dimension::Length)?,
        None => median,
    };
    let cv = match s.marker_diameter_cv {
        Some(x) => c.cv(&p.key("marker_diameter_cv"), Some(x))?,
        None => cv,
    };
    Ok((median, cv))
}
