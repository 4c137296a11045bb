//! Study-wide `[[drugs]]` naming the biopsy's marker in `markers`: their
//! courses become the factor on the tumour's shedding of every test's
//! model (docs/biopsy.md, *Release inhibitors on the shedding*), and
//! `[biopsy.curve] draw_time` says when a held tumour's tests are drawn.

use std::sync::Arc;

use super::check::{Check, Res};
use super::error::KeyPath;
use super::spec::StudySpec;
use crate::biopsy::release::{MAX_KNOTS, ReleaseInhibition};
use crate::biopsy::screening::BurdenState;
use crate::biopsy::study::BiopsyStudy;
use crate::drug::Drug;
use crate::units::{Dimension, format_human};

/// Attaches the drugs whose `markers` name the biopsy's marker to every
/// test of `biopsy` (`drugs`: the study-wide drugs, in `spec.drugs`'
/// order), with the curve's draw time; checks that every named marker is
/// the biopsy's, that the marker has a live release to inhibit, and that
/// `draw_time` is given exactly when a held tumour is tested under a drug.
pub(super) fn drugs_on_marker(
    c: &Check,
    spec: &StudySpec,
    drugs: &[Drug],
    biopsy: Option<&mut BiopsyStudy>,
) -> Res<()> {
    let root = KeyPath::root();
    let mut acting = Vec::new();
    let mut first_acting = None;
    for (i, d) in spec.drugs.iter().enumerate() {
        let p = root.key("drugs").index(i);
        for (j, name) in d.markers.iter().enumerate() {
            let mp = p.key("markers").index(j);
            let Some(b) = biopsy.as_deref() else {
                return c.err(
                    &mp,
                    format!("marker `{name}`: the study has no `[biopsy]`"),
                    Some("add a `[biopsy]` section whose `[biopsy.marker]` has this name, or remove `markers`".into()),
                );
            };
            c.name_in(&mp, name, std::slice::from_ref(&b.marker), "biopsy marker")?;
            let shedding = &b.tests[0].model.shedding;
            if shedding.per_live_cell * shedding.fraction_to_blood == 0.0 {
                return c.err(
                    &mp,
                    format!("marker `{name}` reaches blood from no live cell's release, the only release a drug inhibits"),
                    Some("give `[biopsy.marker] per_live_cell` and `fraction_to_blood` above 0, or remove the marker from `markers`".into()),
                );
            }
        }
        if !d.markers.is_empty() && !acting.iter().any(|x: &Drug| x.name == drugs[i].name) {
            first_acting.get_or_insert(p);
            acting.push(drugs[i].clone());
        }
    }
    let Some(b) = biopsy else { return Ok(()) };
    let cp = root.key("biopsy").key("curve");
    let held = b.burden == BurdenState::Steady || b.roc_diameter.is_some();
    match (acting.is_empty(), b.draw_time, held) {
        (true, Some(_), _) => {
            return c.err(
                &cp.key("draw_time"),
                "no drug inhibits the marker's shedding: a held tumour's level does not depend on when it is drawn",
                Some("name the marker in a study-wide drug's `markers`, or remove `draw_time`".into()),
            );
        }
        (false, None, true) => {
            return c.err(
                &cp,
                format!(
                    "`{}` inhibits the marker's shedding, so a tumour held at its size (the steady curve, the ROC's cases) reads a level that depends on when it is drawn",
                    acting[0].name
                ),
                Some("give `draw_time`, the time on the drug's clock (its doses' `at`) of the draw, e.g. `draw_time = \"99 h\"`".into()),
            );
        }
        (false, Some(_), false) => {
            return c.err(
                &cp.key("draw_time"),
                "only a held tumour's tests are drawn at `draw_time`, and this study has none",
                Some("the growing curve and the screening test along the drug's clock: set `burden = \"steady\"` or `roc_diameter`, or remove `draw_time`".into()),
            );
        }
        (true, None, _) => return Ok(()),
        _ => {}
    }
    let shedding = b.tests[0].model.shedding;
    let per_cell = shedding.per_live_cell + shedding.per_dying_cell * shedding.death_rate;
    let release = match ReleaseInhibition::new(
        &acting,
        shedding.per_live_cell / per_cell,
        b.draw_time,
    ) {
        Ok(table) => Arc::new(table),
        Err(too) => {
            let p = first_acting.expect("a drug acts");
            return c.err(
                &p,
                format!(
                    "the course of the drugs on the marker's shedding would need {:.3e} knots to tabulate (doses over {} against a fastest time constant of {}); at most {MAX_KNOTS}",
                    too.knots,
                    format_human(too.span, Dimension::Time),
                    format_human(too.time_constant, Dimension::Time),
                ),
                Some("check the units of `ka`, `clearance` and `volume` (a rate per second where per hour was meant), or dose over a shorter schedule".into()),
            );
        }
    };
    for t in &mut b.tests {
        t.model.release = Some(Arc::clone(&release));
    }
    Ok(())
}
