//! The `[production]` plan (docs/production.md): the culture and its
//! product, where every vesicle released went, the doses a batch makes,
//! and the harvests one by one, so that a bioprocess engineer reads the
//! plan without opening `summary.json`.
//!
//! It reads `summary.json`'s `production` and `production.csv`, each
//! figure checked before anything is drawn (a negative count, a share of
//! the mass balance that does not close).

use std::path::Path;

use serde_json::Value;

use crate::chart::{Axes, Series, lines};
use crate::check::{self, Rule};
use crate::error::ReportError;
use crate::format::num;
use crate::page::Section;
use crate::table::LongTable;

/// Where the vesicles released went, in `summary.json`'s order.
const LEDGER: [(&str, &str); 6] = [
    ("released", "released by the cells"),
    ("recovered", "recovered (the product)"),
    ("lost_in_isolation", "lost in the isolation"),
    ("discarded", "discarded with the growth medium"),
    ("decayed", "decayed in the medium"),
    ("in_medium", "left in the medium after the last harvest"),
];

/// The doses a run makes for the study's need.
#[derive(Debug, Clone)]
pub struct DoseView {
    /// Vesicles per subject.
    pub dose: f64,
    /// Vesicles the study needs.
    pub need: f64,
    /// Whole doses per batch.
    pub doses_per_batch: f64,
    /// Batches needed; `None` when a run makes nothing.
    pub batches_needed: Option<f64>,
    /// Production time per dose, s.
    pub time_per_dose: Option<f64>,
    /// Protein per dose, µg, when the purity is known.
    pub protein_per_dose_ug: Option<f64>,
}

/// A production plan's outputs, read and checked.
#[derive(Debug, Clone)]
pub struct ProductionView {
    /// Producer, platform and isolation.
    pub producer: String,
    /// Culture platform.
    pub platform: String,
    /// Isolation method.
    pub isolation: String,
    /// Units run side by side.
    pub units: f64,
    /// One run, s.
    pub run_time: f64,
    /// Vesicles per mL of conditioned medium.
    pub concentration_per_ml: f64,
    /// Vesicles isolated per run.
    pub particles_per_run: f64,
    /// The mass balance, in [`LEDGER`]'s order.
    pub ledger: Vec<f64>,
    /// Its relative error.
    pub relative_error: f64,
    /// Doses, when the study gives them.
    pub doses: Option<DoseView>,
    /// Per harvest: day, concentration per mL, recovered.
    pub harvests: Vec<(f64, f64, f64)>,
}

/// The plan of `summary.json`, or `None` when the run has none.
pub fn load(dir: &Path, summary: &Value) -> Result<Option<ProductionView>, ReportError> {
    let Some(p) = summary.get("production").filter(|v| v.is_object()) else {
        return Ok(None);
    };
    let path = dir.join("summary.json");
    let j = check::Json::new(&path);
    let f = |k: &str| format!("production.{k}");
    let count = Rule::AtLeast(0.0);
    let balance = j.object(p.get("mass_balance"), &f("mass_balance"))?;
    // `decayed` is absent from runs before vesicles could decay: 0 there.
    let ledger = LEDGER
        .iter()
        .map(|(k, _)| {
            let at = f(&format!("mass_balance.{k}"));
            match (*k, balance.get(*k)) {
                ("decayed", None) => Ok(0.0),
                (_, v) => j.number(v, &at, count),
            }
        })
        .collect::<Result<Vec<f64>, _>>()?;
    let doses = match p.get("doses") {
        None | Some(Value::Null) => None,
        Some(d) => Some(DoseView {
            dose: j.number(d.get("dose"), &f("doses.dose"), count)?,
            need: j.number(d.get("need"), &f("doses.need"), count)?,
            doses_per_batch: j.number(
                d.get("doses_per_batch"),
                &f("doses.doses_per_batch"),
                count,
            )?,
            batches_needed: j.optional(
                d.get("batches_needed"),
                &f("doses.batches_needed"),
                count,
            )?,
            time_per_dose: j.optional(d.get("time_per_dose"), &f("doses.time_per_dose"), count)?,
            protein_per_dose_ug: j.optional(
                d.get("protein_per_dose_ug"),
                &f("doses.protein_per_dose_ug"),
                count,
            )?,
        }),
    };
    Ok(Some(ProductionView {
        producer: j.string(p.get("producer"), &f("producer"))?.to_string(),
        platform: j.string(p.get("platform"), &f("platform"))?.to_string(),
        isolation: j.string(p.get("isolation"), &f("isolation"))?.to_string(),
        units: j.number(p.get("units"), &f("units"), Rule::AtLeast(1.0))?,
        run_time: j.number(p.get("run_time"), &f("run_time"), count)?,
        concentration_per_ml: j.number(
            p.get("concentration_per_ml"),
            &f("concentration_per_ml"),
            count,
        )?,
        particles_per_run: j.number(p.get("particles_per_run"), &f("particles_per_run"), count)?,
        ledger,
        relative_error: j.number(
            p.get("relative_error"),
            &f("relative_error"),
            Rule::Within(0.0, 1e-6),
        )?,
        doses,
        harvests: harvests(&dir.join("production.csv"))?,
    }))
}

/// `production.csv`: per harvest its day, concentration and product.
fn harvests(path: &Path) -> Result<Vec<(f64, f64, f64)>, ReportError> {
    if !path.is_file() {
        return Err(ReportError::MissingFile {
            path: path.to_path_buf(),
            why: "summary.json has a production plan".into(),
        });
    }
    let t = LongTable::read(path)?;
    let (time, conc, rec) = (
        t.require("time_s")?,
        t.require("concentration_per_ml")?,
        t.require("recovered")?,
    );
    (0..t.len())
        .map(|r| {
            let row = (t.number(r, time)?, t.number(r, conc)?, t.number(r, rec)?);
            if row.0 < 0.0 || row.1 < 0.0 || row.2 < 0.0 {
                return Err(check::invalid(
                    path,
                    Some(t.line(r)),
                    "recovered",
                    "a negative time, concentration or count",
                ));
            }
            Ok((row.0 / 86_400.0, row.1, row.2))
        })
        .collect()
}

/// The section: the plan, the mass balance, the doses, the harvests.
pub fn section(p: &ProductionView) -> Section {
    let mut sec = Section::new("production", "Production");
    sec.para(
        "Vesicles made in culture, harvested with the conditioned medium and isolated (docs/production.md). One unit is simulated and the units multiply it.",
    );
    sec.pairs(&[
        ("producer", p.producer.clone()),
        ("platform", format!("{} × {}", num(p.units), p.platform)),
        ("isolation", p.isolation.clone()),
        ("one run", format!("{} days", num(p.run_time / 86_400.0))),
        (
            "conditioned medium",
            format!("{} vesicles /mL", num(p.concentration_per_ml)),
        ),
        (
            "product per run",
            format!("{} vesicles", num(p.particles_per_run)),
        ),
    ]);
    sec.heading("Where every vesicle released went");
    let released = p.ledger[0];
    let rows: Vec<Vec<String>> = LEDGER
        .iter()
        .zip(&p.ledger)
        .map(|((_, what), &x)| {
            let share = if released > 0.0 { x / released } else { 0.0 };
            vec![(*what).to_string(), num(x), num(share)]
        })
        .collect();
    sec.table(&["", "vesicles", "share of released"], &rows);
    sec.para(&format!(
        "The balance closes to {} of the vesicles released.",
        num(p.relative_error)
    ));
    if let Some(d) = &p.doses {
        sec.heading("Doses");
        let opt = |x: Option<f64>| x.map_or_else(|| "never (a run makes nothing)".into(), num);
        sec.pairs(&[
            ("dose per subject", format!("{} vesicles", num(d.dose))),
            ("the study's need", format!("{} vesicles", num(d.need))),
            ("doses per batch", num(d.doses_per_batch)),
            ("batches needed", opt(d.batches_needed)),
            (
                "production days per dose",
                opt(d.time_per_dose.map(|t| t / 86_400.0)),
            ),
            (
                "protein per dose",
                d.protein_per_dose_ug.map_or_else(
                    || "— (no purity given)".into(),
                    |x| format!("{} µg", num(x)),
                ),
            ),
        ]);
    }
    if !p.harvests.is_empty() {
        let day: Vec<f64> = p.harvests.iter().map(|h| h.0).collect();
        let series = vec![Series::styled(
            "conditioned medium",
            day,
            p.harvests.iter().map(|h| h.1).collect(),
            0,
        )];
        let axes = Axes::linear("day of the run", "vesicles per mL collected");
        sec.plot(
            "Harvests",
            "The concentration of each harvest's conditioned medium, before isolation: it rises as the cells grow and settles once they fill the units.",
            &lines(&axes, series, "production_harvests"),
        );
    }
    sec
}
