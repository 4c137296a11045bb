//! The `[[instruments]]` readings (docs/instruments.md): per instrument,
//! what it reported beside the truth of its sample, and for a biopsy draw
//! the populations in the tube, so that a reader sees which particles a
//! counter counted and which a marker-specific assay read.
//!
//! It reads `summary.json`'s `instruments`, each figure checked before
//! anything is drawn (a negative concentration, a share outside [0, 1]).

use std::path::Path;

use serde_json::Value;

use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::num;
use crate::page::Section;

/// One population of a biopsy draw.
#[derive(Debug, Clone)]
pub struct Population {
    /// `tumour`, `marker_background`, `plasma_vesicles`, `lipoproteins`.
    pub name: String,
    /// Per mL of plasma (of the isolate).
    pub per_ml: f64,
    /// In the tube.
    pub in_draw: f64,
    /// Median diameter, nm.
    pub median_nm: f64,
    /// Whether it carries the marker.
    pub marker: bool,
}

/// The blood draw an instrument read.
#[derive(Debug, Clone)]
pub struct DrawView {
    /// The `[biopsy]` test whose tube it is.
    pub test: String,
    /// Tumour diameter, m.
    pub diameter_m: f64,
    /// Plasma drawn, mL.
    pub plasma_ml: f64,
    /// Whether the test's isolate was read.
    pub isolated: bool,
    /// Marker vesicles per mL.
    pub true_marker_per_ml: f64,
    /// The populations.
    pub populations: Vec<Population>,
}

/// One instrument's reading.
#[derive(Debug, Clone)]
pub struct InstrumentView {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Particles per mL of the sample.
    pub true_per_ml: f64,
    /// Vesicles per mL of the sample.
    pub true_vesicles_per_ml: f64,
    /// Reported per mL (none below an LOD or saturated).
    pub reported_per_ml: Option<f64>,
    /// Share of tracks (NTA) or of particles above the trigger (flow)
    /// that are lipoproteins.
    pub lipoprotein_share: Option<f64>,
    /// Flags: counting range, swarm, saturation.
    pub flags: String,
    /// A biopsy sample's draw.
    pub draw: Option<DrawView>,
}

/// Every instrument of `summary.json`, or `None` when the run has none.
pub fn load(dir: &Path, summary: &Value) -> Result<Option<Vec<InstrumentView>>, ReportError> {
    let Some(list) = summary.get("instruments").and_then(Value::as_array) else {
        return Ok(None);
    };
    if list.is_empty() {
        return Ok(None);
    }
    let path = dir.join("summary.json");
    let j = check::Json::new(&path);
    list.iter()
        .enumerate()
        .map(|(i, v)| instrument(&j, v, &format!("instruments[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn instrument(j: &check::Json, v: &Value, at: &str) -> Result<InstrumentView, ReportError> {
    let field = |k: &str| format!("{at}.{k}");
    let positive = Rule::AtLeast(0.0);
    let mut flags = Vec::new();
    if let Some(r) = v.get("counting_range").and_then(Value::as_str) {
        flags.push(r.replace('_', " "));
    }
    if v.get("swarm").and_then(Value::as_bool) == Some(true) {
        flags.push("swarm".into());
    }
    if v.get("saturated").and_then(Value::as_bool) == Some(true) {
        flags.push("saturated".into());
    }
    let draw = match v.get("draw") {
        None | Some(Value::Null) => None,
        Some(d) => Some(draw(j, d, &field("draw"))?),
    };
    Ok(InstrumentView {
        name: j.string(v.get("name"), &field("name"))?.to_string(),
        kind: j.string(v.get("kind"), &field("kind"))?.to_string(),
        true_per_ml: j.number(v.get("true_per_ml"), &field("true_per_ml"), positive)?,
        true_vesicles_per_ml: j.number(
            v.get("true_vesicles_per_ml"),
            &field("true_vesicles_per_ml"),
            positive,
        )?,
        reported_per_ml: j.optional(
            v.get("reported_per_ml"),
            &field("reported_per_ml"),
            positive,
        )?,
        lipoprotein_share: j.optional(
            v.get("lipoprotein_share"),
            &field("lipoprotein_share"),
            Rule::Within(0.0, 1.0),
        )?,
        flags: flags.join(", "),
        draw,
    })
}

fn draw(j: &check::Json, d: &Value, at: &str) -> Result<DrawView, ReportError> {
    let field = |k: &str| format!("{at}.{k}");
    let positive = Rule::AtLeast(0.0);
    let populations = j
        .array(d.get("populations"), &field("populations"))?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = |k: &str| format!("{at}.populations[{i}].{k}");
            Ok(Population {
                name: j.string(p.get("name"), &f("name"))?.to_string(),
                per_ml: j.number(p.get("per_ml"), &f("per_ml"), positive)?,
                in_draw: j.number(p.get("in_draw"), &f("in_draw"), positive)?,
                median_nm: j.number(p.get("median_nm"), &f("median_nm"), positive)?,
                marker: p.get("marker").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect::<Result<_, ReportError>>()?;
    Ok(DrawView {
        test: j.string(d.get("test"), &field("test"))?.to_string(),
        diameter_m: j.number(d.get("diameter_m"), &field("diameter_m"), positive)?,
        plasma_ml: j.number(d.get("plasma_ml"), &field("plasma_ml"), positive)?,
        isolated: d.get("isolated").and_then(Value::as_bool).unwrap_or(false),
        true_marker_per_ml: j.number(
            d.get("true_marker_per_ml"),
            &field("true_marker_per_ml"),
            positive,
        )?,
        populations,
    })
}

/// The section: every reading beside its truth, then each draw's tube.
pub fn section(list: &[InstrumentView]) -> Section {
    let mut sec = Section::new("instruments", "Instruments");
    sec.para(
        "What each instrument reported of its sample, per mL of the undiluted sample, beside what the sample held (docs/instruments.md). Lipoproteins: the share of NTA tracks, or of the particles above a cytometer's trigger, that are lipoproteins. A marker-specific assay (immunoassay, digital) should report the marker's vesicles, given with each biopsy draw below.",
    );
    let opt = |x: Option<f64>| x.map_or_else(|| "—".into(), num);
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.kind.replace('_', " "),
                num(i.true_per_ml),
                num(i.true_vesicles_per_ml),
                i.draw
                    .as_ref()
                    .map_or_else(|| "—".into(), |d| num(d.true_marker_per_ml)),
                opt(i.reported_per_ml),
                opt(i.lipoprotein_share),
                i.flags.clone(),
            ]
        })
        .collect();
    sec.table(
        &[
            "instrument",
            "kind",
            "particles /mL",
            "vesicles /mL",
            "marker vesicles /mL",
            "reported /mL",
            "lipoproteins",
            "flags",
        ],
        &rows,
    );
    // One table per tube: instruments reading the same draw share it.
    let mut tubes: Vec<(&DrawView, Vec<&str>)> = Vec::new();
    for i in list {
        let Some(d) = &i.draw else { continue };
        let same = |t: &&DrawView| {
            t.test == d.test && t.diameter_m == d.diameter_m && t.isolated == d.isolated
        };
        match tubes.iter_mut().find(|(t, _)| same(t)) {
            Some((_, names)) => names.push(&i.name),
            None => tubes.push((d, vec![&i.name])),
        }
    }
    for (d, names) in tubes {
        tube(&mut sec, d, &names);
    }
    sec
}

/// One tube's populations.
fn tube(sec: &mut Section, d: &DrawView, names: &[&str]) {
    sec.heading(&format!(
        "The tube of test `{}`: a {} mm tumour, {} mL of plasma{}; read by {}",
        d.test,
        num(d.diameter_m * 1e3),
        num(d.plasma_ml),
        if d.isolated { ", isolated" } else { "" },
        names.join(", ")
    ));
    let rows: Vec<Vec<String>> = d
        .populations
        .iter()
        .map(|p| {
            vec![
                p.name.replace('_', " "),
                num(p.per_ml),
                num(p.in_draw),
                num(p.median_nm),
                if p.marker { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    sec.table(
        &["population", "per mL", "in the tube", "median nm", "marker"],
        &rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(share: f64) -> Value {
        serde_json::json!({"instruments": [{
            "name": "digital", "kind": "digital", "true_per_ml": 1e16,
            "true_vesicles_per_ml": 1e10, "reported_per_ml": 2.97e4,
            "lipoprotein_share": share, "saturated": false,
            "draw": {"test": "t", "diameter_m": 0.01, "plasma_ml": 5.5,
                     "isolated": false, "true_marker_per_ml": 3.1e4,
                     "populations": [{"name": "tumour", "per_ml": 2.1e4,
                                      "in_draw": 1.16e5, "median_nm": 100.0,
                                      "marker": true}]}}]})
    }

    /// A biopsy draw's reading becomes a row and its tube a table; a share
    /// outside [0, 1] is refused with its field named.
    #[test]
    fn a_draw_is_shown_and_a_bad_share_refused() {
        let dir = Path::new("run");
        let list = load(dir, &summary(0.5)).unwrap().unwrap();
        assert_eq!(list[0].draw.as_ref().unwrap().populations[0].name, "tumour");
        let html = crate::page::render("t", "", &[section(&list)]);
        assert!(html.contains("marker vesicles /mL") && html.contains("in the tube"));
        let e = load(dir, &summary(1.5)).unwrap_err().to_string();
        assert!(e.contains("instruments[0].lipoprotein_share"), "{e}");
        assert!(load(dir, &serde_json::json!({})).unwrap().is_none());
    }
}
